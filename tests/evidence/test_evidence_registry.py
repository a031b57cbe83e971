"""whatworks.evidence.registry: register_result carries design and checks across; best_evidence ordering."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

import whatworks as ww
from whatworks.evidence.registry import Register, best_evidence, register_result

IV = {"intervention_id": "HS1", "name": "Hot spot patrols", "tactic": "hot spot policing", "target_problem": "hot spot",
      "status": "running"}


def test_impact_result_registers_with_design_and_checks():
    from whatworks.impact._design import DesignRecord

    res = SimpleNamespace(design=DesignRecord("difference-in-differences", {"parallel_pretrends": True}, ("note a",)),
                          estimate=-2.5, se=1.0, ci_low=-4.46, ci_high=-0.54, p_value=0.012, conf_level=0.95,
                          outcome="burglaries", n_units=40)
    reg = register_result(Register(), res, intervention=IV)
    ev = reg.evaluations.iloc[0]
    assert ev["evaluation_id"] == "HS1-eval-1" and ev["design"] == "difference-in-differences"
    assert int(ev["sms_level"]) == 4 and json.loads(ev["checks"]) == {"parallel_pretrends": True}
    assert ev["source"] == "impact:difference-in-differences" and ev["notes"] == "note a"
    assert ev["estimate"] == -2.5 and int(ev["sample_size"]) == 40


def test_trial_result_registers_as_randomised_into_the_store():
    trial = SimpleNamespace(estimand="ITT", estimate=-0.22, se=0.09, ci=(-0.396, -0.044), p_value=0.014, permutations=0,
                            conf_level=0.95, rate_ratio=0.80, exploratory=False, protocol_id="ASB-2024", notes=(), n=120,
                            outcome="asb_calls")
    s = ww.Store(":memory:")
    reg = register_result(s, trial, intervention=IV)
    ev = reg.evaluations.iloc[0]
    assert (ev["design"], int(ev["sms_level"]), ev["measure"], ev["source"]) == (
        "randomised", 5, "log rate ratio", "trial:ASB-2024")
    assert ev["conf_level"] == pytest.approx(0.95)
    assert len(s.register().evaluations) == 1
    # an exploratory (not pre-registered) outcome fails a check: level 4, and the reason says why
    reg2 = register_result(s, SimpleNamespace(**{**vars(trial), "exploratory": True}), intervention="HS1")
    ev2 = reg2.evaluations.set_index("evaluation_id").loc["HS1-eval-2"]
    assert int(ev2["sms_level"]) == 4 and "pre_registered_outcome" in ev2["sms_reason"]


def test_result_without_se_keeps_its_estimate_in_notes():
    from whatworks.impact._design import DesignRecord

    res = SimpleNamespace(design=DesignRecord("synthetic control", {"pre_fit": True}), estimate=-3.0, p_value=0.05)
    ev = register_result(Register(), res, intervention=IV).evaluations.iloc[0]
    assert np.isnan(ev["estimate"]) and "point estimate -3" in ev["notes"]


def test_best_evidence_strongest_first():
    reg = Register.from_records(
        interventions=[IV],
        evaluations=[{"evaluation_id": "E1", "intervention_id": "HS1", "design": "before/after", "sms_level": 2,
                      "estimate": -0.3, "se": 0.2}],
        studies=[{"study_id": "S1", "tactic": "hot spot policing", "design": "randomised", "sms_level": 5,
                  "estimate": -0.15, "se": 0.05},
                 {"study_id": "S2", "tactic": "hot spot policing", "design": "randomised", "sms_level": 5,
                  "estimate": -0.1, "se": 0.02},
                 {"study_id": "S3", "tactic": "other", "design": "randomised", "estimate": 0.1, "se": 0.1}])
    out = best_evidence(reg, "hot spot policing")
    assert out["id"].tolist() == ["S2", "S1", "E1"]
    assert out["evidence"].tolist() == ["external study", "external study", "force evaluation"]
    assert best_evidence(reg, "nothing").empty
