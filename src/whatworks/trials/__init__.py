"""whatworks.trials — run a randomised trial from protocol to CONSORT diagram.

* :class:`Protocol` — a CrimPORT-style protocol, frozen with a content hash and time before any assignment.
* :func:`power` — sample size, power or minimum detectable effect (means, proportions, counts, clusters).
* :func:`randomise` — assign a known list of units (complete, simple, block, cluster, block-cluster).
* :class:`Allocator` — assign cases one by one as they arrive, into a tamper-evident hash-chained log.
* :func:`analyse` — ITT (HC2, Lin, CR2), count models, CACE by 2SLS, randomisation inference.
* :func:`consort` — the CONSORT flow diagram from the trial's log.

See docs/trials.md for a worked example.
"""

from whatworks.trials.allocator import Allocator, LogCheck, MemoryLog, Receipt, verify_log
from whatworks.trials.analyse import TrialResult, analyse
from whatworks.trials.consort import ConsortResult, consort
from whatworks.trials.power import PowerResult, power
from whatworks.trials.protocol import AssignmentPlan, Criterion, Protocol
from whatworks.trials.randomise import RandomisationResult, balance_table, draw_assignments, randomise

__all__ = ["Protocol", "Criterion", "AssignmentPlan", "power", "PowerResult", "randomise", "RandomisationResult",
           "balance_table", "draw_assignments", "Allocator", "MemoryLog", "Receipt", "LogCheck", "verify_log",
           "analyse", "TrialResult", "consort", "ConsortResult"]
