"""whatworks.evidence: the "what works" register, grading, meta-analysis, cost of crime, cost-benefit, fidelity, tasking.

See docs/evidence.md.
"""

from whatworks.evidence.cba import CBAResult, cba, present_value
from whatworks.evidence.costs import check_cost_table, cost_of_crime, uprate
from whatworks.evidence.effects import EffectSizes, effect_size
from whatworks.evidence.fidelity import fidelity, fidelity_by_outcome, likert_summary, per_protocol
from whatworks.evidence.grading import Grade, emmie, grade, sms_level
from whatworks.evidence.meta import MetaResult, meta
from whatworks.evidence.registry import Register, best_evidence, register_result
from whatworks.evidence.tasking import TaskingResult, tasking

__all__ = ["Register", "register_result", "best_evidence", "sms_level", "grade", "emmie", "Grade", "meta",
           "MetaResult", "effect_size", "EffectSizes", "cost_of_crime", "check_cost_table", "uprate", "cba",
           "CBAResult", "present_value", "fidelity", "fidelity_by_outcome", "per_protocol", "likert_summary",
           "tasking", "TaskingResult"]
