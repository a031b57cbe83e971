"""whatworks.impact.its (issue 14, item 3): golden equality with statsmodels HAC on a hand-built design, seasonality
announced, delta-method effects, RTM guard, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.impact.its import choose_maxlags, its

GOLDEN = Path(__file__).parents[1] / "golden" / "impact_its_golden.json"


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


def _df(g):
    return pd.DataFrame({"month": g["dates"], "y": g["y_gaussian"], "c": g["y_count"]})


# ---------------------------------------------------------------------------------------------- CHECK OUTPUTS
def test_gaussian_equals_statsmodels_ols_hac(golden):
    r = its(_df(golden), "month", "y", golden["intervention"], seasonality=True, se="hac", maxlags=3, quiet=True)
    assert list(r.params.index) == golden["columns"]
    np.testing.assert_allclose(r.params.to_numpy(), golden["ols_params"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.bse.to_numpy(), golden["ols_bse"], rtol=0, atol=1e-8)
    e = r.effects.set_index("term")
    assert e.loc["level_change", "estimate"] == pytest.approx(golden["ols_params"][2], abs=1e-8)
    assert e.loc["level_change", "ci_low"] < golden["truth"]["level_change"] < e.loc["level_change", "ci_high"]
    assert e.loc["slope_change", "ci_low"] < golden["truth"]["slope_change"] < e.loc["slope_change", "ci_high"]
    # crimes prevented = Σ over post of (counterfactual − fitted) = −Σ(β_post + β_since·(t−t0))
    b = golden["ols_params"]
    k = np.arange(18)
    assert e.loc["crimes_prevented", "estimate"] == pytest.approx(-(18 * b[2] + b[3] * k.sum()), abs=1e-8)
    assert r.design.design == "interrupted time series" and r.design.sms_hint()[0] == 2
    assert r.plot() is not None


def test_poisson_equals_statsmodels_glm_hac(golden):
    r = its(_df(golden), "month", "c", golden["intervention"], family="poisson", seasonality=True, se="hac", maxlags=3,
            quiet=True)
    np.testing.assert_allclose(r.params.to_numpy(), golden["poisson_params"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.bse.to_numpy(), golden["poisson_bse"], rtol=0, atol=1e-8)
    e = r.effects.set_index("term")
    assert e.loc["rate_ratio", "estimate"] == pytest.approx(np.exp(golden["poisson_params"][2]), rel=1e-10)
    tab = r.table[r.table.post]
    assert e.loc["crimes_prevented", "estimate"] == pytest.approx((tab.counterfactual - tab.fitted).sum(), rel=1e-10)


def test_model_based_equals_statsmodels_ols_and_quasi_poisson(golden):
    g = its(_df(golden), "month", "y", golden["intervention"], seasonality=True, se="model", quiet=True)
    np.testing.assert_allclose(g.bse.to_numpy(), golden["ols_model_bse"], rtol=0, atol=1e-8)
    e = g.effect("level_change")  # Student's t on the residual df, as statsmodels' conf_int
    np.testing.assert_allclose([e.ci_low, e.ci_high], golden["ols_model_level_ci"], rtol=0, atol=1e-8)
    assert g.settings["reference_distribution"].value == "t(33)" and "maxlags" not in g.settings
    # Poisson counts: dispersion under one is not used to narrow the intervals (Poisson's own SEs, normal intervals)
    assert golden["quasi_poisson_scale"] < 1
    q = its(_df(golden), "month", "c", golden["intervention"], family="poisson", seasonality=True, se="model", quiet=True)
    np.testing.assert_allclose(q.bse.to_numpy(), golden["poisson_model_bse"], rtol=0, atol=1e-8)
    assert q.settings["dispersion"].value == pytest.approx(golden["quasi_poisson_scale"], rel=1e-10)
    assert q.settings["reference_distribution"].value == "normal"
    # over-dispersed counts: quasi-Poisson SEs and t intervals
    assert golden["quasi_over_scale"] > 1
    over = _df(golden).assign(c=golden["y_count_over"])
    qo = its(over, "month", "c", golden["intervention"], family="poisson", seasonality=True, se="model", quiet=True)
    # (the dispersion comes from the Poisson fit's Pearson χ², statsmodels' from its own IRLS end point: 1e-7 apart)
    np.testing.assert_allclose(qo.bse.to_numpy(), golden["quasi_over_bse"], rtol=1e-6, atol=0)
    assert qo.settings["reference_distribution"].value == "t(33)"


def _ar1_series(seed, phi, n=48):
    rng = np.random.default_rng(seed)
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal(0, 3)
    dates = pd.date_range("2020-01-01", periods=n, freq="MS")
    return pd.DataFrame({"d": dates, "y": 100 + 0.2 * np.arange(n) + e}), dates[30]


def test_se_auto_picks_newey_west_only_when_residuals_are_autocorrelated(capsys):
    picks = {}
    for phi in (0.0, 0.8):
        chosen = []
        for seed in range(20):
            df, at = _ar1_series(seed, phi)
            chosen.append(its(df, "d", "y", at, seasonality=False, quiet=True).settings["se"].value)
        picks[phi] = chosen.count("hac")
    # independent errors: Newey–West about as often as the test's 5% size; AR(1) with φ = 0.8: nearly always
    assert picks[0.0] <= 3 and picks[0.8] >= 15
    df, at = _ar1_series(0, 0.8)
    r = its(df, "d", "y", at, seasonality=False)
    err = capsys.readouterr().err
    assert "standard errors set to Newey–West (Breusch–Godfrey test" in err
    assert r.settings["se"].source == "data" and r.settings["maxlags"].value == 3
    hac = its(df, "d", "y", at, seasonality=False, se="hac", quiet=True)
    assert r.bse.equals(hac.bse)  # the auto choice is the explicit choice, nothing else


def test_seasonality_auto_is_announced_and_recorded(golden, capsys):
    r = its(_df(golden), "month", "y", golden["intervention"])
    err = capsys.readouterr().err
    assert "seasonality set to True" in err and "F test" in err
    assert "Newey–West lags set to 3 periods" in err
    assert r.settings["seasonality"].source == "data" and r.settings["maxlags"].value == 3
    short = _df(golden).iloc[:20]
    r2 = its(short, "month", "y", golden["dates"][12], quiet=True)
    assert r2.settings["seasonality"].value is False and "fewer than 24" in r2.settings["seasonality"].reason


def test_choose_maxlags():
    assert choose_maxlags(48) == (3, "Newey–West rule floor(4·(n/100)^(2/9)) for n = 48")
    assert choose_maxlags(100)[0] == 4


def test_exposure_offset_rate_ratio():
    dates = pd.date_range("2020-01-01", periods=36, freq="MS")
    pop = np.r_[np.full(18, 1000.0), np.full(18, 2000.0)]
    y = (pop * 0.05).astype(int)  # constant rate: doubling population, no effect
    r = its(pd.DataFrame({"d": dates, "y": y, "pop": pop}), "d", "y", dates[18], family="poisson",
            exposure="pop", seasonality=False, se="model", quiet=True)
    assert r.effect("rate_ratio").estimate == pytest.approx(1.0, abs=1e-6)


def test_rtm_guard_leaves_selection_window_out(golden):
    # a flat series with a spike in the 3 months before the intervention and no effect after
    dates = pd.date_range("2020-01-01", periods=36, freq="MS")
    y = np.full(36, 50.0)
    y[::2] += 2
    y[21:24] = 80.0
    df = pd.DataFrame({"d": dates, "y": y})
    naive = its(df, "d", "y", dates[24], seasonality=False, quiet=True)
    guarded = its(df, "d", "y", dates[24], seasonality=False, selected_on=3, quiet=True)
    assert guarded.table.used_in_fit.sum() == 33
    e = guarded.effects.set_index("term")
    assert e.loc["level_change", "estimate"] == pytest.approx(0.0, abs=0.2)
    assert e.loc["rtm_expected_fall_per_period", "estimate"] == pytest.approx(29.0, abs=0.5)
    assert abs(naive.effect("crimes_prevented").estimate) > abs(guarded.effect("crimes_prevented").estimate)
    assert "net of regression to the mean" in guarded.summary()
    assert guarded.design.checks["regression_to_the_mean_netted"]


# ---------------------------------------------------------------------------------------------- CHECK INPUTS
def test_gap_in_series_is_an_error():
    dates = list(pd.date_range("2020-01-01", periods=24, freq="MS"))
    del dates[10]
    with pytest.raises(WhatworksError, match=r"no gaps.*step of 6[01] days.*position 10"):
        its(pd.DataFrame({"d": dates, "y": 1.0}), "d", "y", dates[15], quiet=True)


def test_duplicate_periods_and_short_segments():
    dates = list(pd.date_range("2020-01-01", periods=12, freq="MS"))
    with pytest.raises(WhatworksError, match="Each period must appear once"):
        its(pd.DataFrame({"d": dates + dates[:1], "y": 1.0}), "d", "y", dates[6])
    with pytest.raises(WhatworksError, match="at least 3 periods before and after"):
        its(pd.DataFrame({"d": dates, "y": 1.0}), "d", "y", dates[10])


def test_count_family_needs_counts_and_gaussian_refuses_exposure():
    dates = pd.date_range("2020-01-01", periods=12, freq="MS")
    df = pd.DataFrame({"d": dates, "y": np.linspace(1, 2, 12), "p": 10.0})
    with pytest.raises(WhatworksError, match="whole non-negative counts"):
        its(df, "d", "y", dates[6], family="poisson")
    with pytest.raises(WhatworksError, match="Exposure offsets apply to counts"):
        its(df, "d", "y", dates[6], exposure="p")
