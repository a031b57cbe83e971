"""whatworks.evidence.effect_size against R metafor escalc() (tests/golden/make_evidence_meta.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from whatworks.errors import WhatworksError
from whatworks.evidence.effects import effect_size

G = json.loads((Path(__file__).parents[1] / "golden" / "evidence_meta_golden.json").read_text())["escalc"]


@pytest.mark.parametrize("measure", ["RR", "OR"])
def test_2x2_equals_escalc(measure):
    t = G["tables"]
    r = effect_size(measure, ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], quiet=True)
    gold = G[measure.lower()]
    np.testing.assert_allclose(r.effects, gold["yi"], atol=1e-10)
    np.testing.assert_allclose(r.table["variance"], gold["vi"], atol=1e-10)
    assert r.table["corrected"].tolist() == [False, True, False]
    assert r.settings["corrected_studies"].value == [2]


def test_rate_ratio_equals_escalc():
    t = G["rates"]
    r = effect_size("IRR", x1=t["x1i"], t1=t["t1i"], x2=t["x2i"], t2=t["t2i"], quiet=True)
    np.testing.assert_allclose(r.effects, G["irr"]["yi"], atol=1e-10)
    np.testing.assert_allclose(r.table["variance"], G["irr"]["vi"], atol=1e-10)


def test_hand_worked_rate_ratio():
    # 30 crimes in 1000 area-months vs 45 in 1100: log((30/1000)/(45/1100)) = log(0.7333..), var = 1/30 + 1/45
    r = effect_size("IRR", x1=[30], t1=[1000], x2=[45], t2=[1100], quiet=True)
    assert r.table["ratio"].iloc[0] == pytest.approx(0.733333333)
    assert r.table["variance"].iloc[0] == pytest.approx(1 / 30 + 1 / 45)


def test_continuity_correction_is_announced(capsys):
    effect_size("OR", ai=[0], bi=[10], ci=[3], di=[7])
    assert "continuity correction of 0.5" in capsys.readouterr().err


def test_zero_count_refused_without_correction():
    with pytest.raises(WhatworksError, match="zero count"):
        effect_size("OR", ai=[0], bi=[10], ci=[3], di=[7], add=0)


def test_negative_count_names_study():
    with pytest.raises(WhatworksError, match="study 2"):
        effect_size("RR", ai=[1, -1], bi=[5, 5], ci=[2, 2], di=[4, 4])
