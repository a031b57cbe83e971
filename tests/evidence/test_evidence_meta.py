"""whatworks.evidence.meta against R metafor rma() (tests/golden/make_evidence_meta.R), plus hand-built checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from whatworks.errors import WhatworksError
from whatworks.evidence.meta import meta

GOLDEN = Path(__file__).parents[1] / "golden" / "evidence_meta_golden.json"
G = json.loads(GOLDEN.read_text())  # a missing golden file fails the module (it must not skip)
FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "I2", "H2", "Q", "Q_p_value", "pi_low", "pi_high")


def _fit(f):
    d = G["datasets"][f["dataset"]]
    return meta(d["yi"], np.sqrt(d["vi"]), method=f["method"], knha=f["knha"])


# CHECK OUTPUTS: every dataset x method x Knapp-Hartung equals metafor to 1e-6
@pytest.mark.parametrize("f", G["fits"], ids=lambda f: f"{f['dataset']}-{f['method']}-{'knha' if f['knha'] else 'z'}")
def test_meta_equals_metafor_rma(f):
    r = _fit(f)
    for name in FIELDS:
        assert getattr(r, name) == pytest.approx(f[name], abs=1e-6, rel=1e-6), name


def test_golden_covers_three_datasets_four_methods_both_tests():
    assert len(G["fits"]) == 3 * 4 * 2
    assert G["versions"]["metafor"] == "3.8.1"


def test_bcg_reml_headline_figures():
    d = G["datasets"]["bcg"]
    r = meta(d["yi"], np.sqrt(d["vi"]))
    # metafor's documented output for dat.bcg, REML: estimate -0.7145, tau^2 0.3132, I^2 92.22%, Q 152.23
    assert r.estimate == pytest.approx(-0.71453234, abs=1e-7)
    assert r.tau2 == pytest.approx(0.31324326, abs=1e-7)
    assert r.I2 == pytest.approx(92.2213845, abs=1e-6)
    assert r.Q == pytest.approx(152.233008, abs=1e-5)
    assert "13 studies pooled" in r.summary() and "prediction interval" in r.summary()


@pytest.mark.parametrize("name", ["bcg", "normand1999", "hackshaw1998"])
def test_egger_equals_metafor_regtest_lm(name):
    d, eg = G["datasets"][name], G["egger"][name]
    r = meta(d["yi"], np.sqrt(d["vi"]), method="FE")
    assert r.egger["statistic"] == pytest.approx(eg["statistic"], abs=1e-6)
    assert r.egger["p_value"] == pytest.approx(eg["p_value"], abs=1e-6)
    assert r.egger["df"] == eg["df"]
    assert r.egger["limit_estimate"] == pytest.approx(eg["intercept"], abs=1e-6)


def test_hand_worked_fixed_effect():
    # y = (0, 1), se = (1, 1): w = (1, 1), mu = 0.5, se = 1/sqrt(2), Q = 0.5^2 + 0.5^2 = 0.5, I2 = 0 (Q < df)
    r = meta([0.0, 1.0], [1.0, 1.0], method="FE")
    assert r.estimate == pytest.approx(0.5)
    assert r.se == pytest.approx(1 / np.sqrt(2))
    assert r.Q == pytest.approx(0.5)
    assert r.I2 == 0.0
    # DL: Q < df so tau2 = 0 and the random-effects answer equals the fixed-effect one
    assert meta([0.0, 1.0], [1.0, 1.0], method="DL").tau2 == 0.0


def test_plots_draw():
    d = G["datasets"]["bcg"]
    r = meta(d["yi"], np.sqrt(d["vi"]), studies=d["label"])
    assert r.plot().axes and r.funnel().axes
    assert r.table["weight"].sum() == pytest.approx(100)


# CHECK INPUTS
@pytest.mark.parametrize("ses, msg", [([0.1, -0.2, 0.3], "greater than 0"), ([0.1, float("nan"), 0.3], "finite"),
                                      ([0.1, 0.2], "one value per study")])
def test_bad_ses_name_the_study(ses, msg):
    with pytest.raises(WhatworksError, match=msg):
        meta([0.1, 0.2, 0.3], ses)


def test_bad_method():
    with pytest.raises(WhatworksError, match="REML, DL, PM, FE"):
        meta([0.1, 0.2], [0.1, 0.1], method="ML")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.05, 2)), min_size=2, max_size=12),
       st.sampled_from(["REML", "DL", "PM"]))
def test_random_effects_estimate_lies_within_study_range_and_se_at_least_fe(studies, method):
    y, se = zip(*studies)
    r, fe = meta(y, se, method=method), meta(y, se, method="FE")
    assert min(y) - 1e-9 <= r.estimate <= max(y) + 1e-9
    assert r.tau2 >= 0 and r.se >= fe.se - 1e-12
    assert 0 <= r.I2 < 100
