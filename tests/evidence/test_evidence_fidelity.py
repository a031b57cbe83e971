"""whatworks.evidence.fidelity: hand-worked fidelity scores, fidelity by outcome, per-protocol flag, Likert."""

import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.evidence.fidelity import fidelity, fidelity_by_outcome, likert_summary, per_protocol

IMP = pd.DataFrame({"unit": ["A", "A", "B", "B", "C"], "dose_planned": [10, 10, 10, 10, 20],
                    "dose_delivered": [10, 12, 5, 3, 8], "reach": [1.0, 0.8, 0.6, 0.4, 0.5],
                    "adherence": [0.9, 0.9, 0.5, 0.7, 0.3]})


def test_fidelity_hand_worked():
    # A: dose 22/20 = 1.1 -> capped 1; reach 0.9; adherence 0.9 -> (1 + 0.9 + 0.9)/3 = 0.9333 (high)
    # B: dose 8/20 = 0.4; reach 0.5; adherence 0.6 -> 0.5 (moderate)
    # C: dose 8/20 = 0.4; reach 0.5; adherence 0.3 -> 0.4 (low)
    r = fidelity(IMP)
    t = r.table.set_index("unit")
    assert t.loc["A", "dose_ratio"] == pytest.approx(1.1)
    assert t["fidelity"].tolist() == pytest.approx([0.933333333, 0.5, 0.4])
    assert t["band"].tolist() == ["high", "moderate", "low"]
    assert r.overall == pytest.approx((0.933333333 + 0.5 + 0.4) / 3)
    assert "1 high, 1 moderate, 1 low" in r.summary()


def test_fidelity_by_outcome_and_per_protocol():
    r = fidelity(IMP)
    out = fidelity_by_outcome(r, pd.DataFrame({"unit": ["A", "B", "C"], "crimes": [3, 6, 9]}), outcome="crimes")
    assert out["band"].tolist() == ["high", "moderate", "low"] and out["mean_outcome"].tolist() == [3, 6, 9]
    assert out.attrs["spearman"] == pytest.approx(-1.0)
    pp = per_protocol(pd.DataFrame({"unit": ["A", "B", "C", "D"]}), r)
    assert pp["per_protocol"].tolist() == [True, False, False, False]


def test_likert_summary():
    r = likert_summary(pd.DataFrame({"briefed": [1, 2, 3, 4, 5, 5, None], "useful": [4, 4, 4, 4, 2, 1, 3]}),
                       ["briefed", "useful"])
    t = r.table.set_index("item")
    assert t.loc["briefed", "n"] == 6 and t.loc["briefed", "agree"] == pytest.approx(0.5)
    assert t.loc["useful", "disagree"] == pytest.approx(2 / 7) and t.loc["useful", "mean"] == pytest.approx(22 / 7)
    with pytest.raises(WhatworksError, match="response row 2"):
        likert_summary(pd.DataFrame({"q": [1, 7]}), ["q"])


def test_implementation_out_of_range_is_refused_in_register():
    from whatworks.evidence.registry import Register

    reg = Register.from_records(interventions=[{"intervention_id": "I", "name": "n", "tactic": "t"}],
                                implementation=[{"intervention_id": "I", "unit": "A", "period": "2024-01",
                                                 "reach": 85}])
    with pytest.raises(WhatworksError, match="proportion from 0 to 1"):
        reg.validate()
