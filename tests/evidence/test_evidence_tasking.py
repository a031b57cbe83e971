"""whatworks.evidence.tasking: ranked tactics per problem, 'no robust evidence' said plainly, ineffective tactics flagged."""

import numpy as np
import pandas as pd
import pytest

from whatworks.evidence.registry import Register
from whatworks.evidence.tasking import tasking


def _register():
    return Register.from_records(
        interventions=[
            {"intervention_id": "HS1", "name": "Patrols", "tactic": "hot spot patrols", "target_problem": "hot spot",
             "status": "running"},
            {"intervention_id": "SS1", "name": "Scared straight", "tactic": "scared straight",
             "target_problem": "prolific offenders", "status": "running"},
            {"intervention_id": "CV1", "name": "Cocooning", "tactic": "cocooning", "target_problem": "repeat victims",
             "status": "planned"}],
        studies=[
            {"study_id": "A", "tactic": "hot spot patrols", "target_problem": "hot spot", "design": "randomised",
             "sms_level": 5, "measure": "log rate ratio", "estimate": -0.2, "se": 0.05},
            {"study_id": "B", "tactic": "hot spot patrols", "design": "randomised", "sms_level": 5,
             "measure": "log rate ratio", "estimate": -0.2, "se": 0.05},
            {"study_id": "C", "tactic": "problem-oriented policing", "target_problem": "hot spot",
             "design": "before/after", "sms_level": 2, "measure": "log rate ratio", "estimate": -0.5, "se": 0.1},
            {"study_id": "D", "tactic": "scared straight", "target_problem": "prolific offenders",
             "design": "randomised", "sms_level": 5, "measure": "log odds ratio", "estimate": 0.0, "se": 0.03}])


def test_tasking_ranks_and_flags():
    problems = pd.DataFrame({"problem": ["Chapeltown Gi* hot spot", "Top 20 offenders", "Repeat DA victims",
                                         "Confidence gap, Harehills"],
                             "problem_type": ["hot spot", "prolific offenders", "repeat victims", "confidence gap"]})
    r = tasking(problems, _register())
    t = r.table
    hs = t[t["problem"] == "Chapeltown Gi* hot spot"]
    assert hs["tactic"].tolist() == ["hot spot patrols", "problem-oriented policing"]
    top = hs.iloc[0]
    # two identical studies: REML pool = -0.2, tau2 = 0, SE = 0.05/sqrt(2); expected reduction 1 - exp(-0.2) = 18.13%
    assert top["verdict"] == "works" and top["estimate"] == pytest.approx(-0.2)
    assert top["ci_high"] == pytest.approx(-0.2 + 1.959964 * 0.05 / np.sqrt(2), abs=1e-6)
    assert top["expected_reduction"] == pytest.approx(0.181269, abs=1e-6)
    assert hs.iloc[1]["verdict"] == "no robust evidence"
    ss = t[t["tactic"] == "scared straight"].iloc[0]
    assert ss["verdict"] == "no effect" and ss["still_running_despite_no_effect"]
    assert t[t["tactic"] == "cocooning"].iloc[0]["verdict"] == "no robust evidence"
    gap = t[t["problem_type"] == "confidence gap"].iloc[0]
    assert gap["verdict"] == "no tactic in the register" and "no robust evidence" in gap["reading"]
    s = r.summary()
    assert "STILL RUNNING" in s and "Still running despite evidence of no effect: scared straight." in s
    assert r.plot().axes



def test_an_imprecise_null_is_inconclusive_not_no_effect():
    """An interval that spans 0 but also reaches effects bigger than a 10% change is not evidence of no effect, so a
    running tactic is not flagged for stopping on it (absence of evidence is not evidence of absence)."""
    from whatworks.evidence.tasking import EQUIVALENCE_RATIO

    reg = Register.from_records(
        interventions=[{"intervention_id": "P1", "name": "Policy", "tactic": "problem solving", "status": "running",
                        "target_problem": "hot spot"}],
        studies=[{"study_id": "S", "tactic": "problem solving", "target_problem": "hot spot", "design": "randomised",
                  "sms_level": 5, "measure": "log rate ratio", "estimate": -0.21, "se": 0.12}])
    t = tasking(pd.DataFrame({"problem": ["hot spots"], "problem_type": ["hot spot"]}), reg).table.iloc[0]
    assert t["verdict"] == "inconclusive" and not t["still_running_despite_no_effect"]
    assert "inconclusive" in t["reading"] and EQUIVALENCE_RATIO == 1.1
