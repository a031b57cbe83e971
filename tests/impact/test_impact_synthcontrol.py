"""Tests for whatworks.impact.synthetic_control (issue 14, item 4).

Golden: tests/golden/impact_synth_golden.json (made by tests/golden/make_impact_synth.py): the Basque panel and
Abadie & Gardeazabal's (2003) published weights. A missing golden file fails.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import nnls

from whatworks.errors import WhatworksError
from whatworks.impact.synthcontrol import simplex_least_squares, synthetic_control

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "impact_synth_golden.json").read_text())


def _independent_simplex_ls(A, b, M=1e5):
    """Reference: scipy nnls on the system augmented with a heavily weighted sum-to-one row."""
    Aa = np.vstack([A, M * np.ones(A.shape[1])])
    ba = np.concatenate([b, [M]])
    return nnls(Aa, ba, maxiter=10_000)[0]


def _factor_panel(seed=0, J=12, T=30, T0=20, effect=-3.0):
    """Factor-model panel: the treated unit is exactly 0.6·d0 + 0.4·d1 plus an effect after T0 (known weights)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(T, 3)).cumsum(0)
    lam = rng.normal(size=(J, 3))
    Y0 = 10 + lam @ f.T + rng.normal(scale=0.2, size=(J, T))
    y1 = 0.6 * Y0[0] + 0.4 * Y0[1]
    y1 = y1 + np.where(np.arange(T) >= T0, effect, 0.0)
    rows = [("treated", t, y1[t]) for t in range(T)]
    rows += [(f"d{j}", t, Y0[j, t]) for j in range(J) for t in range(T)]
    return pd.DataFrame(rows, columns=["area", "time", "crimes"])


# ------------------------------------------------------------------ weights = independent constrained LS


def test_outcome_only_weights_equal_independent_solve():
    p = _factor_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = synthetic_control(p, "area", "time", "crimes", "treated", 20, placebos=False)
    wide = p.pivot(index="area", columns="time", values="crimes")
    donors = list(r.weights["unit"])
    A = wide.loc[donors, list(range(20))].T.to_numpy()
    b = wide.loc["treated", list(range(20))].to_numpy()
    # the predictors are the pre-period outcomes, each scaled by its SD across units (Synth's scaling)
    sd = wide.loc[["treated"] + donors, list(range(20))].std(axis=0, ddof=1).to_numpy()
    ref = _independent_simplex_ls(A / sd[:, None], b / sd)
    np.testing.assert_allclose(r.weights["weight"], ref, atol=1e-6)
    w = r.weights.set_index("unit")["weight"]
    assert w["d0"] == pytest.approx(0.6, abs=0.01) and w["d1"] == pytest.approx(0.4, abs=0.01)
    assert r.weights["weight"].min() >= 0 and r.weights["weight"].sum() == pytest.approx(1, abs=1e-12)
    assert r.estimate == pytest.approx(-3.0, abs=0.15)
    np.testing.assert_allclose(r.predictor_weights["weight"], 1 / 20, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000), J=st.integers(2, 8))
def test_simplex_least_squares_matches_nnls_reference(seed, J):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(J + 6, J))
    b = rng.normal(size=J + 6)
    w = simplex_least_squares(A, b)
    ref = _independent_simplex_ls(A, b)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(w, ref, atol=1e-6)


# ------------------------------------------------------------------ Basque (Abadie & Gardeazabal 2003)


def test_basque_reproduces_published_weights():
    df = pd.DataFrame(GOLDEN["data"])
    s = GOLDEN["spec"]
    with pytest.warns(UserWarning, match="outside the donors' convex hull"):
        r = synthetic_control(df, "regionname", "year", "gdpcap", s["treated_unit"], s["treated_from"],
                              predictors=s["predictors"], predictor_times=s["predictor_times"],
                              special_predictors=[tuple(x) for x in s["special_predictors"]],
                              fit_times=s["fit_times"], placebos=False)
    w = r.weights.set_index("unit")["weight"]
    for region, pub in GOLDEN["published_weights"].items():
        assert w[region] == pytest.approx(pub, abs=5e-4)  # 0.8508 and 0.1492
    assert w.drop(list(GOLDEN["published_weights"])).max() < 1e-6
    assert r.predictor_weights["weight"].sum() == pytest.approx(1, abs=1e-12)
    assert r.pre_rmspe == pytest.approx(0.0906, abs=5e-4)
    assert r.design.checks["inside_donor_convex_hull"] is False


# ------------------------------------------------------------------ placebos


def test_placebos_rank_the_treated_unit_first():
    p = _factor_panel(effect=-8.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = synthetic_control(p, "area", "time", "crimes", "treated", 20, placebo_time=12, quiet=True)
    assert len(r.placebos) == 13
    assert r.placebos["rank"].iloc[0] == 1
    assert r.p_value == pytest.approx(1 / 13)
    assert set(r.placebo_gaps["unit"]) == {f"d{j}" for j in range(12)}
    # in-time placebo: a fake start at 12 finds no effect before the real start
    assert r.settings["placebo_time"].value == 12
    assert np.abs(r.in_time.loc[r.in_time["post"], "gap"]).max() < 1.0
    assert "ranks 1 of 13" in r.summary()
    assert r.plot().axes[0].get_ylabel().startswith("gap in crimes")


def test_small_pool_and_hull_warnings():
    p = _factor_panel(J=7)
    p.loc[p["area"] == "treated", "crimes"] += 100  # far above every donor
    with pytest.warns(UserWarning) as rec:
        r = synthetic_control(p, "area", "time", "crimes", "treated", 20, placebos=False)
    msgs = " ".join(str(w.message) for w in rec)
    assert "donor pool is small (7 units)" in msgs and "1/8 = 0.125" in msgs
    assert "outside the donors' convex hull" in msgs
    assert r.design.checks["donor_pool_at_least_10"] is False


# ------------------------------------------------------------------ CHECK INPUTS


def test_bad_inputs():
    p = _factor_panel()
    with pytest.raises(WhatworksError, match="treated unit is not in column 'area'"):
        synthetic_control(p, "area", "time", "crimes", "nowhere", 20)
    with pytest.raises(WhatworksError, match="At least two periods before treated_from"):
        synthetic_control(p, "area", "time", "crimes", "treated", 1)
    with pytest.raises(WhatworksError, match=r"one row per area × time.*area='treated', time=0"):
        synthetic_control(pd.concat([p, p.iloc[[0]]]), "area", "time", "crimes", "treated", 20)
    q = p.copy()
    q.loc[5, "crimes"] = np.nan
    with pytest.raises(WhatworksError, match="missing for area='treated' at time=5"):
        synthetic_control(q, "area", "time", "crimes", "treated", 20)
    with pytest.raises(WhatworksError, match=r"\(column, times, 'mean'\)"):
        synthetic_control(p, "area", "time", "crimes", "treated", 20, special_predictors=[("crimes", [1])])
