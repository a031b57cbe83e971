"""Tests for issue 13: seasonal SPC, charts for counts and proportions (c/u/p/p′/u′), expected ranges."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance import spc
from whatworks.performance.attribute import attribute_limits
from whatworks.performance.seasonal import seasonal_test

GOLDEN = Path(__file__).parents[1] / "golden" / "spc_attribute_golden.json"
MONTHS = pd.date_range("2022-01-01", periods=36, freq="MS")


def _seasonal_frame(seed=1, n=20, amp=0.2, lam=200.0, seasonal=True):
    rng = np.random.default_rng(seed)
    m = np.arange(36) % 12
    mu = lam * (1 + (amp if seasonal else 0) * np.cos(2 * np.pi * (m - 6) / 12))
    return pd.concat([pd.DataFrame({"area": f"A{i:02d}", "month": MONTHS, "crimes": rng.poisson(mu).astype(float)})
                      for i in range(n)], ignore_index=True)


# ------------------------------------------------------------------------------------------- CHECK INPUTS
def test_bad_seasonality_and_chart_named():
    d = _seasonal_frame(n=1)
    with pytest.raises(WhatworksError, match="'seasonality' parameter"):
        spc(d, "crimes", "month", seasonality="yes", quiet=True)
    with pytest.raises(WhatworksError, match="'chart' parameter"):
        spc(d, "crimes", "month", chart="x", quiet=True)
    with pytest.raises(WhatworksError, match="needs a denominator"):
        spc(d, "crimes", "month", chart="p", quiet=True)


def test_month_of_year_needs_24_points_names_series():
    d = _seasonal_frame(n=1).head(20)
    with pytest.raises(WhatworksError, match=r"at least 24 baseline months.*area='A00'"):
        spc(d, "crimes", "month", by="area", seasonality="month_of_year", quiet=True)


def test_month_of_year_refuses_gaps_and_negatives_naming_row():
    d = _seasonal_frame(n=1).drop(index=10)
    with pytest.raises(WhatworksError, match=r"consecutive months.*2022-12"):
        spc(d, "crimes", "month", by="area", seasonality="month_of_year", quiet=True)
    d = _seasonal_frame(n=1)
    d.loc[5, "crimes"] = -1
    with pytest.raises(WhatworksError, match=r"values ≥ 0.*2022-06"):
        spc(d, "crimes", "month", by="area", seasonality="month_of_year", quiet=True)


def test_auto_falls_back_to_xmr_with_announcement(capsys):
    d = _seasonal_frame(n=1).head(20)
    r = spc(d, "crimes", "month", seasonality="auto")
    err = capsys.readouterr().err
    assert "not tested (fewer than 24 baseline months); plain XmR" in err
    plain = spc(d, "crimes", "month", quiet=True)
    assert not r.table["seasonal"].any()
    pd.testing.assert_frame_equal(r.table[plain.table.columns], plain.table)


def test_denominator_errors_name_row():
    d = pd.DataFrame({"month": MONTHS[:12], "solved": [5.0] * 12, "crimes": [20.0] * 12})
    d.loc[3, "crimes"] = 0
    with pytest.raises(WhatworksError, match=r"greater than 0.*2022-04"):
        spc(d, "solved", "month", chart="p", denominator="crimes", quiet=True)
    d.loc[3, "crimes"] = 4
    with pytest.raises(WhatworksError, match=r"cannot exceed.*5 of 4.*2022-04"):
        spc(d, "solved", "month", chart="p", denominator="crimes", quiet=True)


# ------------------------------------------------------------------------------------------- CHECK OUTPUTS
def test_default_is_plain_xmr_and_auto_identical_on_non_seasonal():
    d = _seasonal_frame(seed=5, n=1, seasonal=False)
    plain = spc(d, "crimes", "month", quiet=True)
    assert "seasonal" not in plain.table.columns and plain.settings["seasonality"].value == "none"
    auto = spc(d, "crimes", "month", seasonality="auto", quiet=True)
    assert not auto.table["seasonal"].any()
    pd.testing.assert_frame_equal(auto.table[plain.table.columns], plain.table)
    assert (auto.table["expected"] == plain.table["mean"]).all()


def test_auto_rarely_calls_non_seasonal_series_seasonal():
    d = _seasonal_frame(seed=11, n=300, seasonal=False)
    plain = spc(d, "crimes", "month", by="area", quiet=True)
    auto = spc(d, "crimes", "month", by="area", seasonality="auto", quiet=True)
    same = (plain.table["point_type"].to_numpy() == auto.table["point_type"].to_numpy()).mean()
    assert same >= 0.99
    assert auto.variation["seasonal"].mean() <= 0.03


def test_seasonal_series_found_and_false_alarms_fall(capsys):
    d = _seasonal_frame(seed=3, n=50)
    plain = spc(d, "crimes", "month", by="area", quiet=True)
    auto = spc(d, "crimes", "month", by="area", seasonality="auto")
    err = capsys.readouterr().err
    assert "area='A00': seasonal (p = " in err and "and 40 more" in err
    assert auto.variation["seasonal"].mean() >= 0.9
    assert auto.table["special_cause"].mean() < 0.1 < plain.table["special_cause"].mean()
    t = auto.table[auto.table["seasonal"]]
    np.testing.assert_allclose(t["deseasonalised"] * t["seasonal_factor"], t["value"], rtol=1e-12)
    np.testing.assert_allclose(t["band_high"], t["seasonal_factor"] * t["upl"], rtol=1e-12)
    # factors average 1 over the 12 months of each series
    f = t.groupby(["area", t["date"].dt.month])["seasonal_factor"].first().groupby("area").mean()
    np.testing.assert_allclose(f.to_numpy(), 1.0, atol=1e-12)
    assert auto.settings["seasonal_test"].source == "data"


def test_seasonal_factor_recovers_known_swing():
    # noise-free counts with a ±20% swing peaking in July: the fitted factors are the truth (1 + 0.2 cos)/mean
    m = np.arange(36) % 12
    mu = 1000 * np.exp(0.2 * np.cos(2 * np.pi * (m - 6) / 12))
    d = pd.DataFrame({"month": MONTHS, "crimes": mu})
    r = spc(d, "crimes", "month", seasonality="month_of_year", quiet=True)
    truth = np.exp(0.2 * np.cos(2 * np.pi * (m - 6) / 12))
    truth /= np.exp(0.2 * np.cos(2 * np.pi * (np.arange(12) - 6) / 12)).mean()
    np.testing.assert_allclose(r.table["seasonal_factor"], truth, rtol=1e-6)
    np.testing.assert_allclose(r.table["deseasonalised"], r.table["deseasonalised"].iloc[0], rtol=1e-6)


def test_glm_matches_statsmodels():
    import statsmodels.api as sm
    from scipy import stats

    rng = np.random.default_rng(4)
    m = np.arange(30) % 12
    t = (np.arange(30) - 14.5) / 12
    y = rng.poisson(50 * np.exp(0.15 * np.sin(2 * np.pi * m / 12) + 0.05 * t)).astype(float)
    res = seasonal_test(y, m, t, np.zeros(30, int), 1)
    X = np.column_stack([np.ones(30), t, np.cos(2 * np.pi * m / 12), np.sin(2 * np.pi * m / 12)])
    f1 = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    f0 = sm.GLM(y, X[:, :2], family=sm.families.Poisson()).fit()
    phi = f1.pearson_chi2 / 26
    p = stats.f.sf((f0.deviance - f1.deviance) / 2 / phi, 2, 26)
    assert res["p_value"][0] == pytest.approx(p, rel=1e-8)
    assert res["dispersion"][0] == pytest.approx(phi, rel=1e-8)
    np.testing.assert_allclose(res["coef"][0], f1.params[2:], rtol=1e-7)


def test_expected_range_plain_by_hand():
    d = pd.DataFrame({"month": MONTHS[:12], "n": [10.0, 12.0] * 6})
    r = spc(d, "n", "month", quiet=True)
    e = r.expected(next=2)
    # mean 11, mR̄ 2, limits 11 ± 5.32
    assert e["date"].dt.strftime("%Y-%m").tolist() == ["2023-01", "2023-02"]
    np.testing.assert_allclose(e["expected"], [11.0, 11.0])
    np.testing.assert_allclose(e["lpl"], [5.68, 5.68])
    np.testing.assert_allclose(e["upl"], [16.32, 16.32])
    with pytest.raises(WhatworksError, match="'next'"):
        r.expected(next=0)


def test_expected_range_seasonal_uses_the_months_factor():
    d = _seasonal_frame(seed=3, n=2)
    r = spc(d, "crimes", "month", by="area", seasonality="month_of_year", quiet=True)
    e = r.expected(next=3)
    assert len(e) == 6 and e["date"].dt.strftime("%Y-%m").tolist()[:3] == ["2025-01", "2025-02", "2025-03"]
    a = r.table[(r.table["area"] == "A00") & (r.table["date"].dt.year == 2024)]
    a = a.set_index(a["date"].dt.month)
    np.testing.assert_allclose(e["expected"].iloc[:3], a.loc[[1, 2, 3], "expected"], rtol=1e-12)
    np.testing.assert_allclose(e["upl"].iloc[:3], a.loc[[1, 2, 3], "band_high"], rtol=1e-12)


# ------------------------------------------------------------------------------------------- c/u/p/p′/u′
def test_golden_attribute_file_present():
    assert GOLDEN.exists(), f"missing {GOLDEN}: run Rscript tests/golden/make_spc_attribute.R"


@pytest.mark.parametrize("chart", ["c", "u", "p", "u_prime", "p_prime"])
def test_attribute_limits_equal_qicharts2_formulas(chart):
    doc = json.loads(GOLDEN.read_text())
    checked = 0
    for s in doc["series"]:
        if chart not in s["charts"]:
            continue
        g = s["charts"][chart]
        y, n = np.array(s["y"], float), np.array(s["n"], float)
        lim = attribute_limits(chart, y, n, np.zeros(len(y), int), np.ones(len(y), bool))
        for k in ("value", "mean", "lpl", "upl"):
            np.testing.assert_allclose(lim[k], g[k], rtol=0, atol=1e-9)
        d = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=len(y), freq="MS"), "y": y, "n": n})
        r = spc(d, "y", "month", chart=chart, denominator=None if chart == "c" else "n", quiet=True)
        np.testing.assert_allclose(r.table["upl"], g["upl"], rtol=0, atol=1e-9)
        checked += 1
    assert checked >= 3


def test_c_chart_by_hand():
    lim = attribute_limits("c", np.array([4.0, 6, 5, 5]), None, np.zeros(4, int), np.ones(4, bool))
    assert lim["mean"][0] == 5.0
    assert lim["upl"][0] == pytest.approx(5 + 3 * np.sqrt(5))
    assert lim["lpl"][0] == 0.0            # 5 − 3√5 < 0, set to 0


def test_auto_chart_picks_p_then_laney_when_overdispersed(capsys):
    rng = np.random.default_rng(9)
    n = np.full(24, 5000.0)
    binom = rng.binomial(5000, 0.3, 24).astype(float)
    overd = rng.binomial(5000, np.clip(rng.normal(0.3, 0.03, 24), 0, 1)).astype(float)
    d = pd.DataFrame({"g": ["binomial"] * 24 + ["over"] * 24, "month": list(MONTHS[:24]) * 2,
                      "solved": np.r_[binom, overd], "crimes": np.r_[n, n]})
    r = spc(d, "solved", "month", by="g", chart="auto", denominator="crimes")
    assert "chart set to" in capsys.readouterr().err
    assert r.variation.set_index("g")["chart"].to_dict() == {"binomial": "p", "over": "p_prime"}
    assert r.settings["chart"].source == "data"
    counts = pd.DataFrame({"month": MONTHS[:24], "k": rng.poisson(4, 24).astype(float)})
    assert spc(counts, "k", "month", chart="auto", quiet=True).variation["chart"].iloc[0] == "c"
