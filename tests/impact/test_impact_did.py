"""Tests for whatworks.impact.did (issue 14, item 2): TWFE, Goodman-Bacon, Callaway–Sant'Anna.

Golden figures come from tests/golden/impact_did_golden.json (made by tests/golden/make_impact_did.py with
statsmodels, Python csdid 0.4.3 and R did's results committed in csdid's repository); a missing file fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from whatworks.errors import WhatworksError
from whatworks.impact import _cs
from whatworks.impact.did import did

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "impact_did_golden.json").read_text())


def _castle():
    import causaldata  # dev dependency: a missing one must fail, not skip
    d = causaldata.castle.load_pandas().data
    first = d[d["post"] > 0].groupby("sid")["year"].min()
    return d.assign(first_treated=d["sid"].map(first))


def _mpdta():
    return pd.DataFrame(GOLDEN["mpdta"]["data"]).rename(columns={"first.treat": "first_treat"})


def _cells(result):
    return result.table.sort_values(["group", "time"]).reset_index(drop=True)


def _ref_cells(ref):
    return pd.DataFrame(ref["cells"]).sort_values(["group", "time"]).reset_index(drop=True)


# ------------------------------------------------------------------ CHECK OUTPUTS: hand-built


def test_two_by_two_by_hand():
    # units a, b treated from t=2; c, d never. Changes: a +5, b +3 (mean 4); c +1, d +2 (mean 1.5) -> DiD 2.5
    panel = pd.DataFrame({"u": list("aabbccdd"), "t": [1, 2] * 4, "y": [10, 15, 20, 23, 5, 6, 7, 9],
                          "g": [2, 2, 2, 2, np.nan, np.nan, np.nan, np.nan]})
    tw = did(panel, "u", "t", "y", "g", quiet=True)
    cs = did(panel, "u", "t", "y", "g", method="callaway_santanna", n_boot=0, quiet=True)
    assert tw.estimate == pytest.approx(2.5, abs=1e-12)
    assert cs.estimate == pytest.approx(2.5, abs=1e-12)
    # analytic SE: sqrt(sum_G (dy-4)^2 / 2^2 + sum_C (dy-1.5)^2 / 2^2) = sqrt((1+1)/4 + (0.25+0.25)/4)
    assert cs.se == pytest.approx(np.sqrt(2 / 4 + 0.5 / 4), abs=1e-12)
    assert list(tw.bacon["comparison"]) == ["treated vs never"]
    assert tw.bacon["weight"].iloc[0] == pytest.approx(1.0, abs=1e-12)


def _dynamic_panel(seed=0):
    """Three cohorts and never-treated units; the effect grows by 1 a period after treatment (truth known)."""
    rng = np.random.default_rng(seed)
    rows = []
    cohorts = {3: 30, 5: 30, 7: 30, np.inf: 30}
    uid = 0
    for g, n in cohorts.items():
        for _ in range(n):
            a = rng.normal()
            for t in range(1, 11):
                eff = (t - g + 1) if t >= g else 0.0
                rows.append((uid, t, a + 0.2 * t + eff + rng.normal(scale=0.1), g))
            uid += 1
    return pd.DataFrame(rows, columns=["unit", "time", "y", "first_treated"])


def test_dynamic_effects_recovered_by_cs_and_missed_by_twfe():
    p = _dynamic_panel()
    cs = did(p, "unit", "time", "y", "first_treated", method="callaway_santanna", n_boot=199, seed=1, quiet=True)
    dyn = cs.aggregations["dynamic"].set_index("event_time")
    for e in range(0, 4):  # truth: effect e + 1 at event time e
        assert dyn.loc[e, "ci_low"] <= e + 1 <= dyn.loc[e, "ci_high"]
    pre = dyn.loc[dyn.index < 0, "estimate"]
    assert np.all(np.abs(pre) < 0.1)
    # truth of the simple aggregate: mean over post cells weighted by cohort size
    post = cs.table[cs.table["post"]]
    truth = float((post["time"] - post["group"] + 1).mean())
    assert cs.ci_low <= truth <= cs.ci_high
    tw = did(p, "unit", "time", "y", "first_treated", quiet=True)
    assert not (tw.ci_low <= truth <= tw.ci_high)  # TWFE misses the truth with growing effects
    assert tw.estimate < truth - 0.5
    later = tw.bacon[tw.bacon["comparison"] == "later vs earlier"]
    assert (later["estimate"] < 0).all()  # the already-treated controls' own growth is subtracted
    assert "band_low" in cs.aggregations["dynamic"]
    assert (dyn["band_high"] - dyn["band_low"] >= dyn["ci_high"] - dyn["ci_low"] - 1e-12).all()


# ------------------------------------------------------------------ golden: castle


def test_castle_twfe_matches_published_and_statsmodels():
    gold = GOLDEN["castle"]["twfe"]
    r = did(_castle(), "sid", "year", "l_homicide", "first_treated", quiet=True)
    assert r.estimate == pytest.approx(0.0694, abs=1e-4)
    assert r.estimate == pytest.approx(gold["estimate"], abs=1e-10)
    assert r.se == pytest.approx(gold["se"], rel=1e-8)  # 0.058592, CR1 counting the fixed effects
    assert r.settings["clusters"].value == 50
    b = r.bacon
    assert b["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert float((b["weight"] * b["estimate"]).sum()) == pytest.approx(r.estimate, abs=1e-10)


@pytest.mark.parametrize("control,key", [("never", "never_dr"), ("not_yet", "not_yet_dr")])
def test_castle_cs_matches_csdid(control, key):
    ref = GOLDEN["castle"]["csdid"][key]
    r = did(_castle(), "sid", "year", "l_homicide", "first_treated", method="callaway_santanna", control=control,
            n_boot=0, quiet=True)
    got, want = _cells(r), _ref_cells(ref)
    np.testing.assert_allclose(got[["group", "time"]], want[["group", "time"]])
    np.testing.assert_allclose(got["estimate"], want["estimate"], atol=1e-6)
    np.testing.assert_allclose(got["se"], want["se"], rtol=0.01)
    assert r.estimate == pytest.approx(ref["aggregations"]["simple"]["overall_estimate"], abs=1e-6)
    assert r.pretrend["p_value"] != r.pretrend["p_value"]  # singular pre-period covariance: no test, as R did


# ------------------------------------------------------------------ golden: mpdta against R did and csdid


R_SCENARIOS = {"mpdta_nev_dr": ("never", "dr", None), "mpdta_nyt_dr": ("not_yet", "dr", None),
               "mpdta_nev_reg_cov": ("never", "reg", ["lpop"]), "mpdta_nev_ipw": ("never", "ipw", None)}


@pytest.mark.parametrize("scenario", sorted(R_SCENARIOS))
def test_mpdta_matches_r_did(scenario):
    control, est, cov = R_SCENARIOS[scenario]
    ref = GOLDEN["mpdta"]["r_did"][scenario]
    r = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", method="callaway_santanna", control=control,
            est=est, covariates=cov, n_boot=0, quiet=True)
    got, want = _cells(r), _ref_cells(ref)
    np.testing.assert_allclose(got["estimate"], want["estimate"], atol=1e-6)
    np.testing.assert_allclose(got["se"], want["se"], rtol=0.01)
    for kind, label in (("dynamic", "event_time"), ("group", "group"), ("calendar", "time")):
        a = r.aggregations[kind]
        np.testing.assert_allclose(a[label], ref["aggregations"][kind]["label"])
        np.testing.assert_allclose(a["estimate"], ref["aggregations"][kind]["estimate"], atol=1e-6)
        np.testing.assert_allclose(a["se"], ref["aggregations"][kind]["se"], rtol=0.01)
    overall = r.aggregations["overall"].set_index("aggregation")
    for kind in ("simple", "dynamic", "group", "calendar"):
        assert overall.loc[kind, "estimate"] == pytest.approx(ref["aggregations"][kind]["overall_estimate"], abs=1e-6)
        assert overall.loc[kind, "se"] == pytest.approx(ref["aggregations"][kind]["overall_se"], rel=0.01)
    assert r.pretrend["statistic"] == pytest.approx(ref["pretrend"]["statistic"], rel=1e-6)
    assert r.pretrend["p_value"] == pytest.approx(ref["pretrend"]["p_value"], abs=1e-4)
    # the headline figure for the never-treated DR scenario: -0.0399513 (SE 0.0120340)
    if scenario == "mpdta_nev_dr":
        assert r.estimate == pytest.approx(-0.0399512751551763, abs=1e-9)
        assert r.se == pytest.approx(0.0120340127701854, rel=1e-6)


@pytest.mark.parametrize("key,est", [("never_reg_lpop", "reg"), ("never_ipw_lpop", "ipw"), ("never_dr_lpop", "dr")])
def test_mpdta_covariates_match_csdid(key, est):
    ref = GOLDEN["mpdta"]["csdid"][key]
    r = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", method="callaway_santanna", est=est,
            covariates=["lpop"], n_boot=0, quiet=True)
    got, want = _cells(r), _ref_cells(ref)
    np.testing.assert_allclose(got["estimate"], want["estimate"], atol=1e-6)
    np.testing.assert_allclose(got["se"], want["se"], rtol=0.01)


def test_without_covariates_all_estimators_are_the_simple_did():
    p = _mpdta()
    W = p.pivot(index="countyreal", columns="year", values="lemp")
    g_unit = p.groupby("countyreal")["first_treat"].first().reindex(W.index).to_numpy(float)
    g_unit[g_unit == 0] = np.inf
    times = W.columns.to_numpy(float)
    plan = _cs.plan_cells(times, np.unique(g_unit[np.isfinite(g_unit)]), g_unit, "never", 0)
    g, t, b, ti, bi, tr, cm = plan
    simple = _cs.att_gt_nocov(W.to_numpy(), ti, bi, tr, cm, g, t, b)
    empty = np.zeros((W.shape[0], W.shape[1], 0))
    for est in ("reg", "ipw", "dr"):
        c = _cs.att_gt_cov(W.to_numpy(), empty, ti, bi, tr, cm, g, t, b, est)
        np.testing.assert_allclose(c.att, simple.att, atol=1e-12)
        np.testing.assert_allclose(c.inf, simple.inf, atol=1e-9)


@pytest.mark.parametrize("control,anticipation", [("never", 0), ("not_yet", 0), ("never", 1), ("not_yet", 1)])
def test_block_engine_equals_the_dense_influence_functions(control, anticipation):
    # issue 14 (speed): without covariates the cells come from cohort mean paths and a BlockInf that never forms
    # the units × cells matrix; every quantity must equal the dense reference att_gt_nocov to rounding
    p = _dynamic_panel(seed=3)
    W = p.pivot(index="unit", columns="time", values="y")
    Y = W.to_numpy()
    g_unit = p.groupby("unit")["first_treated"].first().reindex(W.index).to_numpy(float)
    times = W.columns.to_numpy(float)
    cohorts = np.unique(g_unit[np.isfinite(g_unit)])
    g, t, b, ti, bi, tr, cm = _cs.plan_cells(times, cohorts, g_unit, control, anticipation)
    ref = _cs.att_gt_nocov(Y, ti, bi, tr, cm, g, t, b)
    fast = _cs.att_gt_blocks(Y, times, cohorts, g_unit, control, anticipation)
    np.testing.assert_array_equal(fast.group, ref.group)
    np.testing.assert_array_equal(fast.base, ref.base)
    np.testing.assert_array_equal(fast.n_control, ref.n_control)
    np.testing.assert_allclose(fast.att, ref.att, rtol=0, atol=1e-12)
    A = ref.inf
    np.testing.assert_allclose(fast.inf.dense(), A, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.inf.sumsq(), (A ** 2).sum(0), rtol=1e-11)
    pre = np.flatnonzero(g > t)
    np.testing.assert_allclose(fast.inf.gram(pre), A[:, pre].T @ A[:, pre], rtol=1e-10, atol=1e-9)
    codes = np.arange(Y.shape[0]) % 7
    dense = _cs.DenseInf(A, fast.inf.block)
    np.testing.assert_allclose(fast.inf.cluster_sums(codes), dense.cluster_sums(codes), atol=1e-10)
    np.testing.assert_allclose(fast.inf.boot(50, 3, 20), dense.boot(50, 3, 20), atol=1e-9)
    # a combination with per-cohort terms (the aggregations' weight-estimation term) is the same linear map
    M = np.random.default_rng(0).normal(size=(g.size, 3))
    E = np.random.default_rng(1).normal(size=(fast.inf.nb.size, 3))
    np.testing.assert_allclose(fast.inf.combine(M, E).dense(), dense.combine(M, E).dense(), atol=1e-10)


def test_bootstrap_is_seeded_and_close_to_analytic():
    kw = dict(method="callaway_santanna", n_boot=999, quiet=True)
    r1 = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", seed=7, **kw)
    r2 = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", seed=7, **kw)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    ratio = r1.table["se_boot"] / r1.table["se"]
    assert ratio.between(0.85, 1.15).all()
    assert r1.settings["band_critical_value"].value > 1.96
    assert r1.settings["seed"].value == 7 and r1.settings["seed"].source == "user"
    assert r1.settings["n_boot"].source == "user"


# ------------------------------------------------------------------ hypothesis: Bacon adds up to TWFE


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_cohorts=st.integers(1, 4), never=st.booleans())
def test_bacon_weights_sum_to_one_and_reproduce_twfe(seed, n_cohorts, never):
    rng = np.random.default_rng(seed)
    T = 8
    starts = rng.choice(np.arange(2, T + 1), size=n_cohorts, replace=False)
    groups = list(starts) + ([np.inf] if never or n_cohorts == 1 else [])
    rows = []
    for gi, g in enumerate(groups):
        for k in range(int(rng.integers(2, 6))):
            for t in range(1, T + 1):
                rows.append((f"{gi}-{k}", t, rng.normal() + (t >= g) * rng.normal(1, 1), g))
    p = pd.DataFrame(rows, columns=["unit", "time", "y", "g"])
    r = did(p, "unit", "time", "y", "g", quiet=True)
    assert r.bacon["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (r.bacon["weight"] >= -1e-12).all()
    assert float((r.bacon["weight"] * r.bacon["estimate"]).sum()) == pytest.approx(r.estimate, abs=1e-10)


# ------------------------------------------------------------------ synthetic force: borough policy


def policy_panel(seed: int, crimes: int = 200_000):
    """Ward × month ASB counts of the synthetic force, with each ward's borough adoption month (truth 0.85).

    Outcome ``log_asb`` = log(count + 0.5): the policy multiplies expected ASB by 0.85, so its truth on this scale
    is log(0.85) = -0.1625 (a rate ratio of exp(estimate)).
    """
    import whatworks as ww

    force = ww.synth.generate(seed=seed, crimes=crimes)
    return policy_panel_of(force)


def policy_panel_of(force):
    """:func:`policy_panel` of a synthetic force already made (benchmarks/impact_coverage.py uses it too)."""
    crimes_t, areas = force.tables["crimes"], force.tables["areas"]
    parent = areas.set_index("code")["parent_code"]
    asb = crimes_t[crimes_t["crime_type"] == "Anti-social behaviour"]
    start = crimes_t["month"].min()

    def index(ts):
        return (ts.dt.year - start.year) * 12 + (ts.dt.month - start.month)

    months = int(index(crimes_t["month"]).max()) + 1
    wards = areas.loc[areas["level"] == "ward", "code"]
    counts = pd.crosstab(asb["lsoa_code"].map(parent), index(asb["month"])).reindex(
        index=wards, columns=range(months), fill_value=0)
    panel = counts.stack().rename("asb").reset_index()
    panel.columns = ["ward", "time", "asb"]
    panel["borough"] = panel["ward"].map(parent)
    truth = force.truth["interventions"]["borough_policy"]

    def month_index(label):
        if label is None:
            return np.nan
        p = pd.Period(label, "M")
        return (p.year - start.year) * 12 + p.month - start.month

    panel["first_treated"] = panel["borough"].map({b: month_index(m) for b, m in truth["adoption"].items()})
    panel["log_asb"] = np.log(panel["asb"] + 0.5)
    return panel, truth


def test_synthetic_force_borough_policy_recovered():
    panel, truth = policy_panel(seed=0)
    cs = did(panel, "ward", "time", "log_asb", "first_treated", method="callaway_santanna", cluster="borough",
             n_boot=0, quiet=True)
    assert cs.ci_low <= truth["log_rate_ratio"] <= cs.ci_high  # log(0.85) = -0.1625
    assert cs.estimate == pytest.approx(-0.2102, abs=1e-3)
    tw = did(panel, "ward", "time", "log_asb", "first_treated", cluster="borough", quiet=True)
    # a constant effect (the truth) is the case where TWFE is NOT biased: it also covers, and Bacon says why
    assert tw.ci_low <= truth["log_rate_ratio"] <= tw.ci_high
    assert tw.bacon.loc[tw.bacon["comparison"] == "later vs earlier", "weight"].sum() == pytest.approx(0.1053, abs=1e-3)


def test_few_clusters_df_is_satterthwaite_of_the_clustered_variance():
    """One cohort, two periods: ATT = mean ΔY(treated) − mean ΔY(controls), cluster sums S = A·ΔY with A known, so
    under independent N(0, 1) errors (ΔY ~ N(0, 2)) Σ = 2·A·Aᵀ and the Satterthwaite df (tr Σ)² / tr(Σ²) is exact.
    The estimate's df (from seeded noise replicates) must be within Monte-Carlo error of it, capped at G − 1."""
    rng = np.random.default_rng(5)
    # 6 clusters of unequal size; treated units only in clusters 0 and 1 (few treated clusters)
    sizes = [12, 3, 8, 8, 8, 8]
    cl = np.repeat(np.arange(6), sizes)
    n = cl.size
    treated = np.zeros(n, bool)
    treated[:15] = True
    units = [f"u{i}" for i in range(n)]
    y1, y2 = rng.normal(size=n), rng.normal(size=n) + 0.5 * treated
    panel = pd.DataFrame({"u": units * 2, "t": [1] * n + [2] * n, "y": np.r_[y1, y2],
                          "g": np.r_[np.where(treated, 2.0, 0.0), np.where(treated, 2.0, 0.0)],
                          "c": np.r_[cl, cl]})
    r = did(panel, "u", "t", "y", "g", method="callaway_santanna", cluster="c", n_boot=0, quiet=True)
    n1, n0 = treated.sum(), (~treated).sum()
    A = np.zeros((6, n))
    for i in range(n):  # influence of ΔY_i on each cluster sum, centring included
        e = np.zeros(n)
        e[i] = 1.0
        mu1, mu0 = e[treated].mean(), e[~treated].mean()
        inf = np.where(treated, (e - mu1) * n / n1, -(e - mu0) * n / n0)
        A[:, i] = np.bincount(cl, weights=inf, minlength=6)
    sigma = 2 * A @ A.T
    exact = np.trace(sigma) ** 2 / np.trace(sigma @ sigma)
    assert 1 < exact < 5  # the two treated clusters dominate: far fewer than G − 1 = 5
    got = r.aggregations["overall"].set_index("aggregation").loc["simple", "df"]
    assert got == pytest.approx(exact, rel=0.2)
    assert r.settings["critical_value"].source == "data" and "Satterthwaite" in r.settings["critical_value"].reason
    from scipy import stats
    half = stats.t.ppf(0.975, got) * r.se
    assert r.ci_high - r.estimate == pytest.approx(half, rel=1e-9)
    # the same panel clustered on the unit (47 clusters, each as light as the next): df near G − 1, capped there
    by_unit = did(panel, "u", "t", "y", "g", method="callaway_santanna", cluster="u", n_boot=0, quiet=True)
    df_unit = by_unit.aggregations["overall"].set_index("aggregation").loc["simple", "df"]
    assert 20 < df_unit <= n - 1


# ------------------------------------------------------------------ CHECK INPUTS


def _small():
    return pd.DataFrame({"u": np.repeat(list("abcd"), 3), "t": [1, 2, 3] * 4, "y": np.arange(12.0),
                         "g": np.repeat([2, 3, np.nan, 0], 3)})


def test_duplicate_rows_are_an_error_naming_the_row():
    p = pd.concat([_small(), _small().iloc[[4]]])
    with pytest.raises(WhatworksError, match=r"one row per u × t.*u='b', t=2"):
        did(p, "u", "t", "y", "g")


def test_cohort_treated_in_first_period_is_an_error():
    p = _small()
    p.loc[p["u"] == "a", "g"] = 1
    with pytest.raises(WhatworksError, match=r"Cohort\(s\) \[1.0\] are treated in the first period.*u='a'"):
        did(p, "u", "t", "y", "g", method="callaway_santanna")


def test_unit_with_no_pre_period_is_an_error():
    p = _small()
    p = p[~((p["u"] == "b") & (p["t"] < 3))]  # b treated at 3, first seen at 3
    with pytest.raises(WhatworksError, match=r"no observed period before treatment.*u='b'"):
        did(p, "u", "t", "y", "g")


def test_no_valid_comparison_names_the_cohort():
    p = _small()
    p["g"] = np.repeat([2, 3, 3, 3], 3)
    with pytest.raises(WhatworksError, match=r"Cohort\(s\) \['2', '3'\] have no valid comparison units.*cohort 2 in period 3.*not_yet"):
        did(p, "u", "t", "y", "g", method="callaway_santanna", control="not_yet")
    with pytest.raises(WhatworksError, match=r"no valid comparison units"):
        did(p, "u", "t", "y", "g", method="callaway_santanna")


def test_unbalanced_and_missing_rows_are_dropped_and_said(capsys):
    p = _small()
    p = pd.concat([p, pd.DataFrame({"u": ["e", "e"], "t": [1, 2], "y": [1.0, 2.0], "g": [np.nan, np.nan]})])
    p.loc[(p["u"] == "d") & (p["t"] == 2), "y"] = np.nan
    r = did(p, "u", "t", "y", "g", method="callaway_santanna", n_boot=0)
    err = capsys.readouterr().err
    assert "1 row(s) with a missing 'y' were left out" in err
    assert "2 unit(s) not observed in all 3 periods" in err
    assert set(r.dropped["unit"]) == {"d", "e"}
    assert r.n_units == 3
    assert any("left out" in n for n in r.design.notes)
    did(p, "u", "t", "y", "g", method="callaway_santanna", n_boot=0, quiet=True)
    assert capsys.readouterr().err == ""


def test_first_treated_must_be_constant_within_unit():
    p = _small()
    p.loc[0, "g"] = 3
    with pytest.raises(WhatworksError, match=r"same in every row of a unit.*u='a'"):
        did(p, "u", "t", "y", "g")


def test_bad_options_and_constant_covariate():
    with pytest.raises(WhatworksError, match="'method' parameter"):
        did(_small(), "u", "t", "y", "g", method="sdid")
    p = _small().assign(x=1.0)
    with pytest.raises(WhatworksError, match="Covariate 'x' is constant"):
        did(p, "u", "t", "y", "g", covariates=["x"], method="callaway_santanna")


def test_result_face():
    r = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", method="callaway_santanna", n_boot=99,
            quiet=True)
    assert "Callaway–Sant'Anna" in r.summary() and "-0.03995" in r.summary()
    assert r.design.design == "difference-in-differences"
    assert r.design.checks["parallel_pre_trends_not_rejected"] is True  # p = 0.168
    fig = r.plot()
    assert fig.axes[0].get_xlabel() == "periods since treatment"
    tw = did(_mpdta(), "countyreal", "year", "lemp", "first_treat", quiet=True)
    assert tw.plot().axes[0].get_title() == "Goodman-Bacon decomposition"
    assert repr(tw).startswith("<DidResult: twfe")


def test_missing_unit_or_cluster_is_an_error_naming_the_row():
    # before, every row without a unit id was pooled into one unit "nan" (and clusters likewise)
    d = _small()
    d.loc[4, "u"] = None
    with pytest.raises(WhatworksError, match=r"Column 'u' has 1 missing value.*position 4"):
        did(d, "u", "t", "y", "g", quiet=True)
    d = _small().assign(c=["x"] * 6 + [None] * 6)
    with pytest.raises(WhatworksError, match=r"Column 'c' has 6 missing value.*position 6"):
        did(d, "u", "t", "y", "g", cluster="c", method="callaway_santanna", n_boot=0, quiet=True)
