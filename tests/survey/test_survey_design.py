"""whatworks.survey.design and .estimate against R's survey package (golden: tests/golden/make_survey_golden.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.survey import Design

G = json.loads((Path(__file__).parents[1] / "golden" / "survey_golden.json").read_text())
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


def _df(name):
    return pd.DataFrame(G[name]).assign(yes=lambda d: (d["sch.wide"] == "Yes").astype(float))


def _strat():
    return Design(_df("apistrat"), weights="pw", strata="stype", fpc="fpc")


def _clus1():
    return Design(_df("apiclus1"), weights="pw", psu="dnum", fpc="fpc")


def _se(v):
    return float(np.ravel(v)[0])


def _check(d, ref, se_rtol=1e-6, est_atol=1e-9):
    m = d.mean("api00", quiet=True).table.iloc[0]
    assert m["estimate"] == pytest.approx(ref["mean_api00"]["estimate"], abs=est_atol)
    assert m["se"] == pytest.approx(_se(ref["mean_api00"]["se"]), rel=se_rtol)
    t = d.total("enroll", quiet=True).table.iloc[0]
    assert t["estimate"] == pytest.approx(ref["total_enroll"]["estimate"], rel=1e-10)
    assert t["se"] == pytest.approx(_se(ref["total_enroll"]["se"]), rel=se_rtol)
    by = d.mean("api00", by="stype", quiet=True).table
    assert list(by["stype"]) == ref["mean_api00_by_stype"]["groups"]
    np.testing.assert_allclose(by["estimate"], ref["mean_api00_by_stype"]["estimate"], atol=est_atol, rtol=0)
    np.testing.assert_allclose(by["se"], ref["mean_api00_by_stype"]["se"], rtol=se_rtol)
    tb = d.total("enroll", by="stype", quiet=True).table
    np.testing.assert_allclose(tb["estimate"], ref["total_enroll_by_stype"]["estimate"], rtol=1e-10)
    np.testing.assert_allclose(tb["se"], ref["total_enroll_by_stype"]["se"], rtol=se_rtol)
    two = d.mean("api00", by=["awards", "stype"], quiet=True).table.sort_values(["stype", "awards"])
    np.testing.assert_allclose(two["estimate"], ref["mean_api00_by_awards_stype"]["estimate"], atol=est_atol, rtol=0)
    np.testing.assert_allclose(two["se"], ref["mean_api00_by_awards_stype"]["se"], rtol=se_rtol)
    p = d.proportion("yes", quiet=True).table.iloc[0]
    r = ref["prop_schwide"]
    assert p["estimate"] == pytest.approx(r["estimate"], abs=est_atol)
    assert p["se"] == pytest.approx(r["se"], rel=se_rtol)
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((r["ci_low"], r["ci_high"]), rel=se_rtol)
    pb = d.proportion("sch.wide", by="stype", level="Yes", quiet=True).table
    r = ref["prop_schwide_by_stype"]
    np.testing.assert_allclose(pb["estimate"], r["estimate"], atol=1e-9)  # R's svyglm stops IRLS at ~1e-12
    np.testing.assert_allclose(pb["se"], r["se"], rtol=se_rtol)
    np.testing.assert_allclose(pb["ci_low"], r["ci_low"], rtol=se_rtol)
    np.testing.assert_allclose(pb["ci_high"], r["ci_high"], rtol=se_rtol)
    return m, t, by, tb


# ---------------------------------------------------------------- CHECK OUTPUTS: uncalibrated designs equal R
def test_apistrat_matches_r():
    m, t, by, tb = _check(_strat(), G["strat"])
    assert m["estimate"] == pytest.approx(662.287363159321, abs=1e-9)
    assert m["se"] == pytest.approx(9.40894080278458, rel=1e-6)
    assert m["deff"] == pytest.approx(G["strat"]["mean_api00"]["deff"], rel=1e-6)
    assert t["deff"] == pytest.approx(G["strat"]["total_enroll"]["deff"], rel=1e-6)
    np.testing.assert_allclose(by["deff"], G["strat"]["mean_api00_by_stype"]["deff"], rtol=1e-6)
    np.testing.assert_allclose(tb["deff"], G["strat"]["total_enroll_by_stype"]["deff"], rtol=1e-6)
    assert m["n_effective"] == pytest.approx(200 / m["deff"])
    assert _strat().degf == G["degf_strat"] == 197


def test_apiclus1_matches_r():
    m, t, by, tb = _check(_clus1(), G["clus1"])
    assert m["deff"] == pytest.approx(G["clus1"]["mean_api00"]["deff"], rel=1e-6)
    np.testing.assert_allclose(by["deff"], G["clus1"]["mean_api00_by_stype"]["deff"], rtol=1e-6)
    assert _clus1().degf == G["degf_clus1"] == 14


# ---------------------------------------------------------------- CHECK OUTPUTS: adjusted designs
def test_rake_weights_equal_r_and_ses_within_half_percent():
    d = _clus1().rake({"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    np.testing.assert_allclose(d.weights, G["rake"]["weights"], atol=1e-8, rtol=0)
    # whatworks linearises the rake jointly (GREG); R's rake() projects margin by margin: SEs within 0.5%
    _check(d, G["rake"], se_rtol=5e-3)
    # ... and equal R's calibrate(calfun="raking"), which uses the same joint linearisation, to 1e-6
    np.testing.assert_allclose(d.weights, G["calibrate_raking"]["weights"], atol=1e-8, rtol=0)
    _check(d, G["calibrate_raking"])
    assert d.adjustments == ("rake",)
    assert d.weights.groupby(d.data["stype"]).sum().to_dict() == pytest.approx(POP_TYPES)


def test_calibrate_raking_and_linear_equal_r():
    k = _clus1().calibrate(["stype", "sch.wide"], {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018, "sch.wideYes": 5122},
                           calfun="raking")
    np.testing.assert_allclose(k.weights, G["calibrate_raking"]["weights"], atol=1e-8, rtol=0)
    _check(k, G["calibrate_raking"])
    lin = _clus1().calibrate(["stype", "api99"], {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018, "api99": 3914069})
    np.testing.assert_allclose(lin.weights, G["calibrate_linear"]["weights"], atol=1e-8, rtol=0)
    _check(lin, G["calibrate_linear"])


def test_poststratify_equals_r():
    d = _clus1().poststratify("stype", POP_TYPES)
    np.testing.assert_allclose(d.weights, G["poststratify"]["weights"], atol=1e-8, rtol=0)
    _check(d, G["poststratify"])
    # post-stratified domain totals of the post-strata are the population counts, with zero SE
    t = d.total("pw", quiet=True)
    assert t.table["estimate"].iloc[0] > 0
    one = d.data.assign(one=1.0)
    dd = Design(one, weights="pw", psu="dnum", fpc="fpc").poststratify("stype", POP_TYPES)
    tt = dd.total("one", by="stype", quiet=True).table
    np.testing.assert_allclose(tt["estimate"], [4421, 755, 1018])
    np.testing.assert_allclose(tt["se"], 0, atol=1e-6)


def test_adjustments_return_new_designs():
    d = _clus1()
    before = d.weights.copy()
    d.rake({"stype": POP_TYPES})
    pd.testing.assert_series_equal(d.weights, before)


def test_trim_bounds_weights():
    d = _clus1().rake({"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, trim=(20, 45))
    assert d.weights.min() >= 20 - 1e-9 and d.weights.max() <= 45 + 1e-9
    assert d.weights.sum() == pytest.approx(6194)  # the total is kept
    with pytest.raises(WhatworksError, match="cannot hold"):
        _clus1().rake({"stype": POP_TYPES}, trim=(1, 2))


# ---------------------------------------------------------------- CHECK INPUTS
def test_empty_cell_is_an_error():
    with pytest.raises(WhatworksError, match="empty cell"):
        _clus1().rake({"stype": {**POP_TYPES, "X": 10}})


def test_unknown_category_is_an_error():
    with pytest.raises(WhatworksError, match="no population total"):
        _clus1().rake({"stype": {"E": 4421, "H": 755}})


def test_impossible_margins_are_an_error():
    with pytest.raises(WhatworksError, match="Impossible margins"):
        _clus1().rake({"stype": POP_TYPES, "sch.wide": {"No": 1000, "Yes": 1000}})


def test_non_convergence_is_an_error():
    with pytest.raises(WhatworksError, match="did not converge"):
        _clus1().rake({"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, max_iter=1, tol=1e-14)


def test_lonely_psu_and_missing_values_are_errors():
    df = _df("apiclus1")
    lonely = pd.DataFrame({"s": ["a", "a", "b"], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(WhatworksError, match="at least two PSUs"):
        Design(lonely, strata="s")
    df.loc[3, "api00"] = np.nan
    with pytest.raises(WhatworksError, match="missing values"):
        Design(df, weights="pw", psu="dnum").mean("api00")
    with pytest.raises(WhatworksError, match="0/1"):
        Design(df, weights="pw", psu="dnum").proportion("stype")


# ---------------------------------------------------------------- CHECK OUTPUTS: the vectorised variance engine
def test_crossed_rake_se_equals_a_dense_least_squares_residual_by_hand():
    """Regression (issue 15, speed): the engine's sparse dummies, cached pseudo-inverse and vectorised strata sum give
    the GREG-residual SE of a plain dense calculation, also when crossed margins make the normal matrix singular."""
    rng = np.random.default_rng(11)
    n = 900
    df = pd.DataFrame({"area": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n),
                       "age": rng.choice(["young", "mid", "old"], n, p=[0.2, 0.3, 0.5]),
                       "psu": rng.integers(0, 60, n), "w0": rng.uniform(5, 15, n)})
    df["y"] = (rng.random(n) < 0.3 + 0.2 * (df["age"] == "old")).astype(float)
    cross = df.groupby(["area", "sex"]).size() * 11.0
    margins = {("area", "sex"): dict(cross.items()),                      # crossed ...
               "area": cross.groupby(level=0).sum().to_dict(),            # ... and nested in it: a singular normal matrix
               "age": {k: share * cross.sum() for k, share in (("young", 0.3), ("mid", 0.3), ("old", 0.4))}}
    d = Design(df, weights="w0", strata="area", psu="psu").rake(margins, tol=1e-13)
    got = d.mean("y", by="sex", quiet=True).table
    # by hand: dense dummies of every cell, lstsq residual, PSU totals, strata sums in a loop
    w0, w = df["w0"].to_numpy(), d.weights.to_numpy()
    X = np.column_stack([(df["area"] + df["sex"] == k).to_numpy(float) for k in sorted(set(df["area"] + df["sex"]))]
                        + [(df["area"] == k).to_numpy(float) for k in "abc"]
                        + [(df["age"] == k).to_numpy(float) for k in ("young", "mid", "old")])
    y = df["y"].to_numpy()
    for j, sex in enumerate(["F", "M"]):
        m = (df["sex"] == sex).to_numpy(float)
        est = np.sum(w * m * y) / np.sum(w * m)
        v = m * (y - est) / np.sum(w * m)
        beta = np.linalg.lstsq(X.T @ (X * w0[:, None]), X.T @ (w0 * v), rcond=None)[0]
        z = w * (v - X @ beta)
        var = 0.0
        for h, g in pd.DataFrame({"h": df["area"], "p": df["psu"], "z": z}).groupby("h"):
            t = g.groupby("p")["z"].sum().to_numpy()
            var += t.size / (t.size - 1) * np.sum((t - t.mean()) ** 2)
        assert got["estimate"].iloc[j] == pytest.approx(est, rel=1e-12)
        assert got["se"].iloc[j] == pytest.approx(np.sqrt(var), rel=1e-9)
    assert d._degf_domains(np.zeros(n, dtype=np.int64), 1)[0] == d.degf
