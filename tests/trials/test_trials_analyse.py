"""Tests for whatworks.trials.analyse: parity with R estimatr / glm (golden), clubSandwich, recovery, RI, errors."""

import inspect
import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import HessianInversionWarning, PerfectSeparationWarning

from whatworks._announce import Setting
from whatworks.errors import WhatworksError
from whatworks.trials import Protocol, analyse, draw_assignments
from whatworks.trials import _robust
from whatworks.trials.analyse import _model_notes
from whatworks.trials.randomise import Design

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "trials_estimatr.json"
ATOL = 1e-6  # issue 7: ITT and CACE estimates and SEs equal estimatr (HC2) to 1e-6
# whatworks' column names (DESIGN.md vocabulary) -> estimatr's tidy() names in the golden files
ESTIMATR = {"se": "std_error", "ci_low": "conf_low", "ci_high": "conf_high"}


def _golden():
    return json.loads(GOLDEN.read_text())  # a missing golden file fails here


def _list(v):
    return [] if v is None else ([v] if isinstance(v, str) else list(v))


FITS = ["hc2", "lin", "cr2", "lin_cr2", "iv_hc2", "iv_cov_hc2", "iv_cr2"]


def test_golden_fits_present():
    assert set(FITS) == set(_golden()["fits"])


# ---------------------------------------------------------------- CHECK OUTPUTS: estimatr parity
@pytest.mark.parametrize("key", FITS)
def test_matches_estimatr(key):
    g = _golden()
    f = g["fits"][key]
    df = pd.DataFrame(g["data"])
    r = analyse(df, f["outcome"], f["treatment"], covariates=_list(f.get("covariates")) or None,
                cluster=f.get("cluster"), instrument=f.get("instrument"), permutations=0)
    assert r.estimand == ("CACE" if f.get("instrument") else "ITT")
    ours = r.table.set_index("term")
    for t in f["terms"]:
        row = ours.loc[t["term"]]
        for col in ("estimate", "se", "df", "p_value", "ci_low", "ci_high"):
            assert row[col] == pytest.approx(t[ESTIMATR.get(col, col)], abs=ATOL, rel=1e-9), (key, t["term"], col)
    main = next(t for t in f["terms"] if t["term"] == f["treatment"])
    assert r.estimate == pytest.approx(main["estimate"], abs=ATOL)
    assert r.se == pytest.approx(main["std_error"], abs=ATOL)
    assert r.se_type == ("CR2" if f.get("cluster") else "HC2")


def test_cr2_matches_clubsandwich_independently():
    g = _golden()
    club = g["clubsandwich"]
    r = analyse(pd.DataFrame(g["data"]), "yc", "zc", cluster="cl", permutations=0)
    assert r.se == pytest.approx(club["std_error"], abs=ATOL)
    assert r.df == pytest.approx(club["df"], abs=1e-6)


def test_hc2_matches_statsmodels():
    g = _golden()
    df = pd.DataFrame(g["data"])
    r = analyse(df, "y", "z", permutations=0)
    ref = sm.OLS(df["y"], sm.add_constant(df["z"])).fit(cov_type="HC2")
    assert r.se == pytest.approx(ref.bse["z"], abs=1e-10)


@pytest.mark.parametrize("key, family", [("poisson_hc0", "poisson"), ("negbin", "negbin")])
def test_count_models_match_r(key, family):
    g = _golden()
    c = g["counts"][key]
    r = analyse(pd.DataFrame(g["data"]), c["outcome"], c["treatment"], covariates=_list(c["covariates"]),
                family=family, permutations=0)
    assert r.estimate == pytest.approx(c["estimate"], abs=ATOL)
    assert r.se == pytest.approx(c["std_error"], abs=ATOL)
    assert r.rate_ratio == pytest.approx(np.exp(c["estimate"]), abs=ATOL)
    if family == "negbin":
        assert r.settings["theta"].value == pytest.approx(c["theta"], rel=1e-5)


# ---------------------------------------------------------------- recovery
def test_cace_recovers_complier_effect():
    rng = np.random.default_rng(3)
    n = 4000
    z = rng.permutation(np.repeat([0, 1], n // 2))
    complier = rng.random(n) < 0.6
    d = z * complier
    y = 2 + 1.5 * d + rng.normal(size=n) + 0.5 * complier  # compliers differ at baseline: naive comparison biased
    df = pd.DataFrame({"y": y, "z": z, "d": d})
    r = analyse(df, "y", "d", instrument="z", permutations=0)
    assert r.ci[0] < 1.5 < r.ci[1]
    assert r.compliance == pytest.approx(0.6, abs=0.03)
    assert r.itt == pytest.approx(0.9, abs=0.1)
    assert "CACE" in r.summary() and "compliance" in r.summary()


def test_lin_adjustment_tightens_ci_and_recovers():
    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=n)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    y = 1 + 0.4 * z + 2 * x + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "z": z, "x": x})
    plain = analyse(df, "y", "z", permutations=0)
    lin = analyse(df, "y", "z", covariates=["x"], permutations=0)
    assert lin.se < plain.se / 1.8
    assert lin.ci[0] < 0.4 < lin.ci[1]


def test_negbin_recovers_hotspot_rate_ratio():
    rng = np.random.default_rng(5)
    n = 400
    base = rng.gamma(4, 2, n)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    mu = base * np.where(z == 1, 0.8, 1.0)
    y = rng.negative_binomial(3, 3 / (3 + mu))
    df = pd.DataFrame({"crimes": y, "z": z, "log_base": np.log(base)})
    r = analyse(df, "crimes", "z", covariates=["log_base"], family="negbin", permutations=0)
    assert r.rate_ratio_ci[0] < 0.8 < r.rate_ratio_ci[1]
    assert "rate ratio" in r.summary()


# ---------------------------------------------------------------- randomisation inference
def test_ri_p_value_is_calibrated_under_the_null_and_small_under_an_effect():
    rng = np.random.default_rng(6)
    ps = []
    for _ in range(200):
        y = rng.normal(size=40)
        df = pd.DataFrame({"y": y, "z": rng.permutation(np.repeat([0, 1], 20))})
        ps.append(analyse(df, "y", "z", permutations=199, seed=int(rng.integers(1e9))).ri_p_value)
    ps = np.array(ps)
    assert 0.02 <= np.mean(ps <= 0.05) <= 0.10
    df = pd.DataFrame({"y": np.r_[rng.normal(size=30), rng.normal(size=30) + 1.5], "z": np.repeat([0, 1], 30)})
    assert analyse(df, "y", "z", permutations=999).ri_p_value <= 0.002


def test_ri_respects_clusters_and_blocks():
    rng = np.random.default_rng(8)
    cl = np.repeat(np.arange(12), 5)
    block = np.repeat(np.arange(3), 20)
    zc = np.zeros(12, int)
    for b in range(3):
        zc[b * 4 + rng.permutation(4)[:2]] = 1
    df = pd.DataFrame({"y": rng.normal(size=60) + np.repeat(rng.normal(size=12), 5), "z": zc[cl], "cl": cl, "b": block})
    r = analyse(df, "y", "z", cluster="cl", blocks="b", permutations=500)
    # 3 blocks with C(4,2) = 6 assignments each: at most 216 distinct assignments, so p >= 1/217
    assert 0 < r.ri_p_value <= 1 and r.n_clusters == 12
    bad = df.copy()
    bad.loc[0, "z"] = 1 - bad.loc[0, "z"]
    with pytest.raises(WhatworksError, match="varies within a cluster"):
        analyse(bad, "y", "z", cluster="cl", permutations=10)


def _ri_p_by_hand(y, draws, z_obs, log_ratio=True, continuity=0.5, blocks=None):
    """Randomisation p-value computed unit by unit in plain Python (independent of analyse's vectorised code).
    With ``blocks``: each block's statistic, averaged over the blocks holding both arms, weighted by their units."""
    def stat(z):
        if blocks is not None:
            total, weight = 0.0, 0
            for b in sorted(set(blocks)):
                idx = [i for i, v in enumerate(blocks) if v == b]
                zb = [z[i] for i in idx]
                if 0 < sum(zb) < len(zb):
                    total += len(idx) * _stat1([y[i] for i in idx], zb, log_ratio, continuity)
                    weight += len(idx)
            return total / weight
        return _stat1(y, z, log_ratio, continuity)

    observed = abs(stat(z_obs))
    hits = sum(1 for z in draws if abs(stat(z)) >= observed - 1e-12)
    return (hits + 1) / (len(draws) + 1)


def _stat1(y, z, log_ratio, continuity):
    """One arm contrast: difference in means, or the log rate ratio with ``continuity`` events added per arm."""
    s1 = sum(v for v, t in zip(y, z) if t == 1)
    s0 = sum(v for v, t in zip(y, z) if t == 0)
    n1 = sum(1 for t in z if t == 1)
    n0 = len(z) - n1
    if not log_ratio:
        return s1 / n1 - s0 / n0
    if continuity == 0:  # the uncorrected log rate ratio: ±inf when an arm has no events
        return math.inf if s0 == 0 else (-math.inf if s1 == 0 else math.log(s1 / n1) - math.log(s0 / n0))
    return math.log((s1 + continuity) / n1) - math.log((s0 + continuity) / n0)



def _redraw(n_units, m_treated, reps, seed):
    # The same draws analyse makes: complete randomisation of m of n units from default_rng(seed).
    design = Design(unit_cluster=np.arange(n_units), cluster_block=np.zeros(n_units, dtype=np.int64),
                    block_prob=np.array([m_treated / n_units]), block_m=np.array([m_treated]))
    return draw_assignments(design, reps, np.random.default_rng(seed))


# 20 units, 5 treated; 4 events: 3 in the treated arm, 1 in the control arm (rate ratio 9). Re-draws leave
# the treated arm with no events C(16,5)/C(20,5) = 28% of the time.
RARE = pd.DataFrame({"z": np.r_[np.ones(5, int), np.zeros(15, int)],
                     "y": np.r_[[1, 1, 1, 0, 0], [1], np.zeros(14, int)]})


def test_count_ri_with_zero_event_redraws_matches_enumeration():
    y, z = RARE["y"].to_numpy(float), RARE["z"].to_numpy()
    reps = 20000
    r = analyse(RARE, "y", "z", family="poisson", permutations=reps, seed=3)
    draws = _redraw(20, 5, reps, seed=3)
    zero_arm = ((draws @ y) == 0) | (((1 - draws) @ y) == 0)
    assert zero_arm.mean() > 0.25  # the situation under test does occur
    assert np.isfinite(r.ri_p_value) and 0 <= r.ri_p_value <= 1
    # (a) the same draws, statistic computed by hand: identical p
    assert r.ri_p_value == pytest.approx(_ri_p_by_hand(y, draws, z), abs=1e-15)
    # (b) brute force over all C(20,5) = 15504 assignments gives the exact p ...
    exact_hits, total = 0, 0
    obs = abs(math.log(3.5 / 5) - math.log(1.5 / 15))
    for treated in itertools.combinations(range(20), 5):
        s1 = y[list(treated)].sum()
        t = math.log((s1 + 0.5) / 5) - math.log((y.sum() - s1 + 0.5) / 15)
        exact_hits += abs(t) >= obs - 1e-12
        total += 1
    exact = exact_hits / total
    # ... which is the hypergeometric upper tail P(3 or 4 of the 4 events fall in the 5 treated units):
    # an empty treated arm (rate gap 0 vs 4/15) is not as extreme as the observed 3/5 vs 1/15.
    assert exact == pytest.approx(stats.hypergeom.sf(2, 20, 4, 5), abs=1e-12)
    mc_se = math.sqrt(exact * (1 - exact) / reps)
    assert abs(r.ri_p_value - exact) < 4 * mc_se + 1 / reps
    # The uncorrected log ratio counted every empty-arm draw as "more extreme": p >= 0.28 for a 9-fold ratio.
    assert _ri_p_by_hand(y, draws, z, continuity=0) > 0.28 > 5 * r.ri_p_value


def test_count_ri_in_a_blocked_cluster_trial_with_empty_arms_matches_same_draws():
    # 10 clusters of unequal size in 2 blocks, 2 treated clusters per block, rare events.
    size = np.array([1, 2, 3, 4, 5, 2, 3, 1, 6, 2])
    cl = np.repeat(np.arange(10), size)
    block_cl = np.r_[np.zeros(5, int), np.ones(5, int)]
    z_cl = np.array([1, 1, 0, 0, 0, 0, 1, 0, 1, 0])
    rng = np.random.default_rng(11)
    y = rng.poisson(0.15, size=len(cl)).astype(float)
    y[np.flatnonzero(z_cl[cl] == 1)[0]] += 2  # at least two events, some in each arm
    y[np.flatnonzero(z_cl[cl] == 0)[0]] += 1
    df = pd.DataFrame({"y": y, "z": z_cl[cl], "cl": cl, "b": block_cl[cl]})
    reps = 4000
    r = analyse(df, "y", "z", cluster="cl", blocks="b", family="poisson", permutations=reps, seed=5)
    design = Design(unit_cluster=cl, cluster_block=block_cl, block_prob=np.array([0.4, 0.4]),
                    block_m=np.array([2, 2]))
    draws = draw_assignments(design, reps, np.random.default_rng(5))
    assert (((draws @ y) == 0) | (((1 - draws) @ y) == 0)).any()
    assert np.isfinite(r.ri_p_value) and 0 <= r.ri_p_value <= 1
    assert r.ri_p_value == pytest.approx(_ri_p_by_hand(y, draws, z_cl[cl], blocks=list(block_cl[cl])), abs=1e-15)
    assert r.settings["ri_statistic"].value.startswith("blocked log rate ratio (2 blocks")


def test_count_ri_with_equal_arms_orders_draws_as_the_plain_log_ratio():
    # Equal arms, no clusters: the corrected and plain log ratios are both monotone in |S1 - S0|, so the
    # +0.5 changes nothing there (including draws with an empty arm, which really are the most extreme).
    y = np.array([0, 2, 1, 0, 3, 1, 0, 0, 1, 0, 0, 0], float)
    z = np.r_[np.ones(6, int), np.zeros(6, int)]
    r = analyse(pd.DataFrame({"y": y, "z": z}), "y", "z", family="poisson", permutations=3000, seed=9)
    draws = _redraw(12, 6, 3000, seed=9)
    assert r.ri_p_value == pytest.approx(_ri_p_by_hand(y, draws, z, continuity=0), abs=1e-15)


# ---------------------------------------------------------------- protocol and exploratory outcomes
def _protocol():
    return Protocol(trial_id="t", title="T", hypotheses=["h"], unit="cell", treatment="patrol", control="none",
                    primary_outcome="y", secondary_outcomes=["y2"], target_sample=100).freeze(now="2025-01-01")


def test_unregistered_outcome_requires_exploratory_and_says_so():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"y": rng.normal(size=20), "arrests": rng.normal(size=20), "z": np.repeat([0, 1], 10)})
    p = _protocol()
    assert not analyse(df, "y", "z", protocol=p, permutations=0).exploratory
    with pytest.raises(WhatworksError, match="'arrests' is not in protocol 't'"):
        analyse(df, "arrests", "z", protocol=p, permutations=0)
    r = analyse(df, "arrests", "z", protocol=p, exploratory=True, permutations=0)
    assert r.exploratory and r.summary().startswith("EXPLORATORY ANALYSIS")
    assert "[EXPLORATORY]" in repr(r)


# ---------------------------------------------------------------- CHECK INPUTS
def _df():
    return pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "z": [0, 1, 0, 1, 0, 1], "c": list("aabbcc")})


def test_outcome_column_with_text():
    df = _df().astype({"y": object})
    df.loc[3, "y"] = "four"
    with pytest.raises(WhatworksError, match=r"Column 'y' must be numeric.*'four'.*position 3"):
        analyse(df, "y", "z")


def test_bad_treatment_and_other_inputs():
    df = _df()
    df.loc[2, "z"] = 2
    with pytest.raises(WhatworksError, match="must hold 0/1"):
        analyse(df, "y", "z")
    with pytest.raises(WhatworksError, match="one arm"):
        analyse(_df().assign(z=1), "y", "z")
    with pytest.raises(WhatworksError, match="not found"):
        analyse(_df(), "y", "treat")
    with pytest.raises(WhatworksError, match="family"):
        analyse(_df(), "y", "z", family="binomial")
    with pytest.raises(WhatworksError, match="non-negative whole-number counts"):
        analyse(_df().assign(y=[1, 2.5, 3, 4, 5, 6]), "y", "z", family="poisson")
    with pytest.raises(WhatworksError, match="two-stage least squares for family='gaussian' only"):
        analyse(_df(), "y", "z", instrument="z", family="poisson")
    with pytest.raises(WhatworksError, match="missing values"):
        analyse(_df().assign(c=["a", None, "b", "b", "c", "c"]), "y", "z", cluster="c")
    with pytest.raises(WhatworksError, match="at least 3 clusters"):
        analyse(_df().assign(c=list("aaabbb"), z=[0, 0, 0, 1, 1, 1]), "y", "z", cluster="c")
    with pytest.raises(WhatworksError, match="collinear"):
        analyse(_df().assign(k=1.0), "y", "z", covariates=["k"])


def test_result_plot_and_table():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.normal(size=50), "z": np.repeat([0, 1], 25)})
    r = analyse(df, "y", "z", permutations=99)
    assert list(r.arms["arm"]) == ["control", "treatment"]
    assert r.plot().axes[0].get_ylabel() == "mean y"
    assert {"term", "estimate", "se", "df", "p_value", "ci_low", "ci_high"} <= set(r.table.columns)


def test_recovers_the_synthetic_force_hotspot_rct():
    # The synthetic force's own pair-randomised hotspot-patrol trial (whatworks.synth), rate ratio in its truth.
    from whatworks import synth

    force = synth.generate(seed=0, crimes=20_000, months=12, boroughs=2)
    cells, crimes = force.tables["hotspot_trial"], force.tables["crimes"]
    month = pd.to_datetime(crimes["month"]).dt.strftime("%Y-%m")
    start, end = cells["trial_start"].iloc[0], cells["trial_end"].iloc[0]
    seg = cells["segment_id"].to_numpy()
    count = lambda rows: rows.groupby("segment_id").size().reindex(seg, fill_value=0).to_numpy()  # noqa: E731
    df = pd.DataFrame({"crimes": count(crimes[(month >= start) & (month <= end)]),
                       "log_before": np.log1p(count(crimes[month < start])),
                       "treatment": (cells["arm"] == "treatment").astype(int).to_numpy(), "pair": cells["pair"]})
    truth = force.truth["interventions"]["hotspot_rct"]["rate_ratio"]
    r = analyse(df, "crimes", "treatment", covariates=["log_before"], family="negbin", blocks="pair", permutations=500)
    assert r.rate_ratio_ci[0] < truth < r.rate_ratio_ci[1]
    assert abs(np.log(r.rate_ratio / truth)) < 0.15
    assert r.ri_p_value < 0.05


# --- review regressions: degenerate arms give a WhatworksError, not a wrong SE or a statsmodels error
def test_single_unit_arm_is_an_error_not_a_zero_variance_se():
    # One treated unit has leverage 1: HC2 would silently count its variance as 0.
    d = pd.DataFrame({"z": [1, 0, 0, 0, 0, 0], "y": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(WhatworksError, match="at least two units"):
        analyse(d, "y", "z", permutations=0)


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_count_arm_with_no_events_is_an_error(family):
    d = pd.DataFrame({"z": [1, 1, 1, 0, 0, 0], "y": [0, 0, 0, 3, 4, 5]})
    with pytest.raises(WhatworksError, match="treatment arm has no events"):
        analyse(d, "y", "z", family=family, permutations=0)
    with pytest.raises(WhatworksError, match="arms have no events"):
        analyse(d.assign(y=0), "y", "z", family=family, permutations=0)


# --- quiet=: the data-driven negative-binomial floor is announced unless quiet, and always recorded
# Under-dispersed counts: the NB2 dispersion MLE sits at the Poisson boundary, so analyse sets it to its floor.
BOUNDARY = pd.DataFrame({"z": np.repeat([0, 1], 10), "y": [3, 3, 3, 3, 4, 3, 3, 3, 3, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1]})


def test_quiet_silences_announcements_but_keeps_the_settings_record(capsys):
    param = inspect.signature(analyse).parameters["quiet"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is False
    loud = analyse(BOUNDARY, "y", "z", family="negbin", permutations=0)
    assert "whatworks: negative-binomial dispersion estimated" in capsys.readouterr().err
    quiet = analyse(BOUNDARY, "y", "z", family="negbin", permutations=0, quiet=True)
    assert capsys.readouterr().err == ""
    assert quiet.settings["dispersion"] == loud.settings["dispersion"]
    assert quiet.settings["dispersion"].source == "data"
    assert "Poisson boundary" in quiet.settings["dispersion"].reason
    assert quiet.estimate == loud.estimate and quiet.se == loud.se
    # the statsmodels warning at the boundary is a plain-English note: announced unless quiet, always recorded
    assert quiet.notes == loud.notes and len(quiet.notes) == 1
    assert quiet.settings["warning_dispersion_hessian"] == loud.settings["warning_dispersion_hessian"]


# --- statsmodels warnings from the count models become plain-English notes (never raw warnings)
# Counts identical within each arm: the model fits every count exactly (statsmodels PerfectSeparationWarning).
CONSTANT = pd.DataFrame({"z": np.repeat([0, 1], 6), "y": [3] * 6 + [1] * 6, "cl": np.repeat(np.arange(6), 2)})
FAMILIES_COUNT = ("poisson", "negbin")


def _no_raw_warnings(fn):
    """Run fn() recording every warning (none filtered out); fail if any escapes, else return fn()'s result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    return out


# --- no variation for a residual-based SE to measure: SE, CI and p are not estimable (NaN), never ~0 and p = 0
NAN_COLUMNS = ["se", "statistic", "p_value", "ci_low", "ci_high"]
RESIDUAL_FITS = [(fam, cl, cov) for fam in ("gaussian", "poisson", "negbin") for cl in (None, "cl")
                 for cov in (None, ["x"]) if not (fam == "negbin" and cl is None)]
CONSTANT_X = CONSTANT.assign(x=np.arange(12.0) ** 1.5)


def _raw_se(df, y, family, cluster, covariates):
    """The treatment SE the fit itself produces (no whatworks policy): what would have been shown before."""
    X = np.column_stack([np.ones(len(df)), df["z"].to_numpy(dtype=float), *[df[c].to_numpy(dtype=float)
                                                                         for c in (covariates or [])]])
    if family == "gaussian":
        if covariates:  # Lin: centred covariates and their interaction with z
            xc = df["x"].to_numpy() - df["x"].mean()
            X = np.column_stack([X[:, :2], xc, X[:, 1] * xc])
        fit = _robust.ols(X, y, clusters=None if cluster is None else df[cluster].to_numpy())
        return float(fit.se[1])
    fam = sm.families.Poisson() if family == "poisson" else sm.families.NegativeBinomial(alpha=1e-8)
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": df[cluster].to_numpy()}} if cluster else {"cov_type": "HC0"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        return float(sm.GLM(y, X, family=fam).fit(**kw).bse[1])


def _assert_not_estimable(r, estimate):
    assert r.estimate == pytest.approx(estimate, abs=1e-9)
    assert math.isnan(r.se) and math.isnan(r.p_value) and all(map(math.isnan, r.ci))
    assert not r.se_estimable
    assert r.table[NAN_COLUMNS].isna().all().all()                       # every term: the whole variance is 0
    assert np.isfinite(r.table["estimate"]).all()
    if r.rate_ratio is not None:
        assert all(map(math.isnan, r.rate_ratio_ci)) and r.rate_ratio == pytest.approx(np.exp(estimate))
    note = r.settings["se_not_estimable"].reason
    assert r.notes[0] == note and r.settings["se_not_estimable"].source == "data"
    assert f"Note: {note}" in r.summary()
    assert "cannot be estimated (see the first note)" in r.summary() and "not estimable" in repr(r)
    assert not any(bad in r.summary() for bad in ("p = nan", "nan to nan", "p = 0 ", "p = 0;"))
    return note


@pytest.mark.parametrize("family, cluster, covariates", RESIDUAL_FITS)
def test_no_variation_within_arms_gives_nan_se_ci_and_p_with_a_note(family, cluster, covariates, capsys):
    # review: constant counts per arm gave a sandwich / cluster-robust SE of ~2e-12 and p = 0 in the headline
    y = CONSTANT_X["y"].to_numpy(dtype=float)
    raw = _raw_se(CONSTANT_X, y, family, cluster, covariates)
    assert raw < 1e-10  # what the fit itself gives: rounding error around an exact 0
    r = _no_raw_warnings(lambda: analyse(CONSTANT_X, "y", "z", family=family, cluster=cluster,
                                         covariates=covariates, permutations=0))
    note = _assert_not_estimable(r, -2.0 if family == "gaussian" else np.log(1 / 3))
    noun = "outcome" if family == "gaussian" else "count"
    assert f"The model-based uncertainty cannot be estimated when every unit in an arm has the same {noun}" in note
    assert f"control: 6 units, each 3; treatment: 6 units, each 1" in note
    assert "re-run with permutations > 0" in note and f"report the {noun}s by arm" in note
    assert note in capsys.readouterr().err
    if family != "gaussian":
        # the statsmodels warning behind it is recorded, explained by the same note (not a second note)
        assert r.settings["warning_perfect_fit"] == Setting("statsmodels PerfectSeparationWarning", "data", note)
        assert sum("reproduces every count" in n for n in r.notes) == 0
    # degrees of freedom are a property of the design and are kept (gaussian: n - k, or Bell-McCaffrey)
    assert (np.isfinite(r.df) and r.df == r.table["df"].iloc[1]) if family == "gaussian" else r.df == np.inf


def test_not_estimable_note_points_to_the_randomisation_p_value():
    r = analyse(CONSTANT, "y", "z", family="poisson", permutations=499, quiet=True)
    note = _assert_not_estimable(r, np.log(1 / 3))
    assert f"randomisation-inference p-value (p = {r.ri_p_value:.3g}, 499 re-randomisations)" in note
    assert f"randomisation p = {r.ri_p_value:.3g}" in repr(r)
    # the randomisation p-value is unaffected: exact, 1 / C(12, 6) = 0.0011 for the most extreme split
    assert r.ri_p_value == pytest.approx(1 / 500, abs=0.01)


def test_negbin_without_clusters_keeps_its_model_based_se_on_constant_counts(capsys):
    # Not degenerate: the model-based SE given the dispersion does not use the residuals. At dispersion 0 it is
    # the Poisson one, var(log rate ratio) = 1/S1 + 1/S0 with S the events per arm: unchanged, with its note.
    r = _no_raw_warnings(lambda: analyse(CONSTANT, "y", "z", family="negbin", permutations=0))
    assert r.se_type == "model-based" and "se_not_estimable" not in r.settings
    assert r.se == pytest.approx(np.sqrt(1 / 6 + 1 / 18), rel=1e-6)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(np.log(3) / np.sqrt(1 / 6 + 1 / 18)), rel=1e-5)
    assert np.isfinite(r.table[NAN_COLUMNS].to_numpy()).all()
    note = r.settings["warning_perfect_fit"].reason
    assert r.notes[0] == note and r.settings["warning_perfect_fit"].value == "statsmodels PerfectSeparationWarning"
    assert "reproduces every count exactly" in note and "too wide" in note and f"Note: {note}" in r.summary()
    assert note in capsys.readouterr().err


# units vary within the arms, but every cluster (of two units) in an arm has the same mean
CLUSTER_FLAT = CONSTANT.assign(y=[2, 4, 3, 3, 1, 5, 1, 1, 0, 2, 2, 0])


@pytest.mark.parametrize("family", ["gaussian", "poisson", "negbin"])
def test_no_variation_between_clusters_of_an_arm_is_not_estimable_with_clusters_only(family):
    y = CLUSTER_FLAT["y"].to_numpy(dtype=float)
    assert _raw_se(CLUSTER_FLAT, y, family, "cl", None) < 1e-9  # the cluster-robust / CR2 SE is an exact 0
    r = _no_raw_warnings(lambda: analyse(CLUSTER_FLAT, "y", "z", family=family, cluster="cl", permutations=0, quiet=True))
    note = _assert_not_estimable(r, -2.0 if family == "gaussian" else np.log(1 / 3))
    assert "Every cluster in an arm has the same mean" in note and "3 clusters" in note
    assert r.settings["se_not_estimable"].value == "no variation between the clusters of an arm"
    # without clusters the units' own variation is measured: a real SE, exactly what the fit gives
    unit = analyse(CLUSTER_FLAT, "y", "z", family=family, permutations=0, quiet=True)
    assert "se_not_estimable" not in unit.settings
    if family == "negbin":
        # the counts are under-dispersed (variance 2 and 0.8 against means 3 and 1), so the dispersion's MLE is at
        # its lower bound: statsmodels 0.15 puts it there (the boundary note, Poisson refit), earlier versions just
        # above it (no note); either is a correct fit, and nothing else may be said
        assert all("lower bound" in n for n in unit.notes), unit.notes
    else:
        assert unit.notes == ()
    if family != "negbin":
        assert unit.se == pytest.approx(_raw_se(CLUSTER_FLAT, y, family, None, None), rel=1e-12)
    assert 0.3 < unit.se < 1
    # with a covariate the cluster means no longer decide it: the fit leaves variation, and the SE is kept
    adj = analyse(CLUSTER_FLAT.assign(x=CONSTANT_X["x"]), "y", "z", family=family, cluster="cl", covariates=["x"],
                  permutations=0, quiet=True)
    assert adj.se_estimable and adj.se > 1e-3


def test_cace_with_no_variation_within_received_groups_is_not_estimable():
    df = CONSTANT.assign(d=CONSTANT["z"])
    df.loc[[0, 11], "d"] = [1, 0]                     # one non-complier in each arm
    df["y"] = 2 + 3 * df["d"]                          # the outcome is the treatment received, exactly
    r = analyse(df, "y", "d", instrument="z", permutations=0, quiet=True)
    note = _assert_not_estimable(r, 3.0)
    assert "Every unit with the same treatment received has the same outcome" in note
    # constant within assigned arms is not degenerate for the CACE: non-compliers leave residuals
    ok = analyse(df.assign(y=2 + 3 * df["z"]), "y", "d", instrument="z", permutations=0, quiet=True)
    assert ok.se_estimable and ok.se > 0.1


def test_counts_reproduced_by_the_covariates_are_not_estimable():
    # counts vary within each arm but y = exp(a + b·z + c·area) exactly: statsmodels' perfect-fit check decides
    df = pd.DataFrame({"z": np.repeat([0, 1], 6), "area": np.tile(["a", "b"], 6)})
    df["y"] = np.where(df["area"] == "a", 2, 4) * np.where(df["z"] == 1, 3, 1)
    for family, cluster in (("poisson", None), ("poisson", "cl"), ("negbin", "cl")):
        r = _no_raw_warnings(lambda: analyse(df.assign(cl=np.repeat(np.arange(6), 2)), "y", "z", family=family,
                                             cluster=cluster, covariates=["area"], permutations=0, quiet=True))
        note = _assert_not_estimable(r, np.log(3))
        assert note.startswith("The model reproduces every count exactly")
        assert r.settings["se_not_estimable"].value == "the model reproduces every count"


def test_one_constant_arm_is_not_degenerate_and_numbers_are_unchanged():
    # only one arm without variation: the other arm's variation is measured, so the SE is the fit's own
    df = CONSTANT.assign(y=[4, 2, 3, 5, 1, 3] + [1] * 6)
    y = df["y"].to_numpy(dtype=float)
    for family, cluster in (("gaussian", None), ("gaussian", "cl"), ("poisson", None), ("poisson", "cl")):
        r = analyse(df, "y", "z", family=family, cluster=cluster, permutations=0, quiet=True)
        assert r.se_estimable and "se_not_estimable" not in r.settings
        assert r.se == pytest.approx(_raw_se(df, y, family, cluster, None), rel=1e-12)
        assert np.isfinite(r.table[NAN_COLUMNS].to_numpy(dtype=float)).all()


def test_negbin_at_the_poisson_boundary_is_a_note_not_a_hessian_warning(capsys):
    r = _no_raw_warnings(lambda: analyse(BOUNDARY, "y", "z", family="negbin", permutations=0))
    note = r.settings["warning_dispersion_hessian"].reason
    assert r.notes == (note,) and r.settings["warning_dispersion_hessian"].value == "statsmodels HessianInversionWarning"
    assert "reduces to the Poisson model" in note and "model-based standard error" in note
    assert f"Note: {note}" in r.summary()
    assert note in capsys.readouterr().err
    # unchanged estimates: at alpha = 1e-8 the model is Poisson, so the rate ratio is the ratio of arm means and
    # the model-based SE is sqrt(1/S1 + 1/S0) (S the events per arm: 11 treated, 31 control)
    assert r.estimate == pytest.approx(np.log(1.1 / 3.1), abs=1e-9)
    assert r.se == pytest.approx(np.sqrt(1 / 11 + 1 / 31), rel=1e-6)
    assert r.settings["dispersion"].value == 1e-8
    # the Poisson fit of the same data has nothing to explain
    assert _no_raw_warnings(lambda: analyse(BOUNDARY, "y", "z", family="poisson", permutations=0)).notes == ()


def test_small_count_trials_raise_no_raw_statsmodels_warnings():
    # Small trials of every dispersion (under, Poisson, over): the statsmodels warnings all become notes.
    rng = np.random.default_rng(11)
    for _ in range(15):
        n = int(rng.integers(6, 16))
        mu, k = rng.uniform(0.5, 6), rng.choice([0.3, 1.0, 100.0])
        y = rng.negative_binomial(k, k / (k + mu), size=n)
        z = np.repeat([0, 1], [n // 2, n - n // 2])
        if y[z == 0].sum() == 0 or y[z == 1].sum() == 0:
            continue
        for family in FAMILIES_COUNT:
            r = _no_raw_warnings(lambda: analyse(pd.DataFrame({"y": y, "z": z}), "y", "z", family=family,
                                                 permutations=0, quiet=True))
            assert all(f"Note: {nt}" in r.summary() for nt in r.notes)


def test_other_warnings_from_the_fit_are_passed_on_unchanged(monkeypatch):
    # Only the two explained statsmodels warnings become notes; anything else reaches the caller as raised.
    from statsmodels.genmod.generalized_linear_model import GLM

    original = GLM.fit

    def noisy_fit(self, *args, **kwargs):
        warnings.warn("an unexpected statsmodels problem", UserWarning)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GLM, "fit", noisy_fit)
    with pytest.warns(UserWarning, match="an unexpected statsmodels problem"):
        r = analyse(BOUNDARY, "y", "z", family="poisson", permutations=0)
    assert r.notes == ()


def test_hessian_note_away_from_the_boundary_says_the_dispersion_is_poorly_determined():
    # The rule on its own (no data found that trigger it in practice): a singular dispersion fit with a
    # dispersion well above 0 is explained without claiming the model is Poisson.
    caught = [warnings.WarningMessage(HessianInversionWarning("Inverting hessian failed"), HessianInversionWarning,
                                      "f.py", 1)]
    notes = _model_notes(caught, "negbin", "model-based", alpha_nb=0.5, max_mean=4.0)
    assert list(notes) == ["warning_dispersion_hessian"]
    assert "pin the dispersion down poorly" in notes["warning_dispersion_hessian"]
    assert "Poisson model" not in notes["warning_dispersion_hessian"]
    # α·max μ < 0.001: effectively Poisson
    assert "reduces to the Poisson model" in _model_notes(caught, "negbin", "model-based", alpha_nb=1e-5,
                                                          max_mean=50.0)["warning_dispersion_hessian"]


# ---------------------------------------------------------------- SETTINGS: an explicit value equal to the default is the caller's
def test_explicit_defaults_are_recorded_as_given_and_results_unchanged():
    # review: family, alpha, permutations, seed, covariates and cluster were always recorded as "user"
    df = CLUSTER_FLAT.assign(x=CONSTANT_X["x"])
    given = analyse(df, "y", "z", family="gaussian", conf_level=0.95, permutations=1000, seed=0, quiet=True)
    omitted = analyse(df, "y", "z", quiet=True)
    for name, value in (("family", "gaussian"), ("conf_level", 0.95), ("permutations", 1000), ("seed", 0)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    # omitting them still means the documented defaults: the same table and the same randomisation p-value
    pd.testing.assert_frame_equal(given.table, omitted.table, check_exact=True)
    assert (omitted.family, omitted.conf_level, omitted.permutations) == ("gaussian", 0.95, 1000)
    assert omitted.ri_p_value == given.ri_p_value
    # no covariates and no clusters are recorded as not given
    assert (omitted.settings["covariates"].value, omitted.settings["covariates"].source) == ([], "default")
    assert (omitted.settings["cluster"].value, omitted.settings["cluster"].source) == (None, "default")
    adj = analyse(df, "y", "z", covariates=["x"], cluster="cl", family="poisson", conf_level=0.9, permutations=0, quiet=True)
    assert (adj.settings["covariates"].value, adj.settings["covariates"].source) == (["x"], "user")
    assert (adj.settings["cluster"].value, adj.settings["cluster"].source) == ("cl", "user")
    assert all(adj.settings[k].source == "user" for k in ("family", "conf_level", "permutations"))
    assert adj.settings["seed"].source == "default"
    # seed 0 is a real seed: another seed gives other re-randomisations
    noisy = pd.DataFrame({"z": np.repeat([0, 1], 20), "y": np.random.default_rng(4).normal(size=40)})
    ri = {seed: analyse(noisy, "y", "z", permutations=500, seed=seed, quiet=True).ri_p_value for seed in (None, 0, 1)}
    assert ri[None] == ri[0] != ri[1] and 0.05 < ri[0] < 0.95


# ---------------------------------------------------------------- only the control arm constant: no raw sqrt warning
CONTROL_GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "trials_constant_control.json"


@pytest.mark.parametrize("key", ["hc2", "cr2"])
def test_constant_control_arm_matches_estimatr_with_no_raw_warning(key):
    # review: the intercept's variance (exactly 0) rounded to about -1e-33, so np.sqrt warned "invalid value
    # encountered in sqrt" and the intercept's SE was NaN; the treatment effect is the treatment arm's own
    g = json.loads(CONTROL_GOLDEN.read_text())  # a missing golden file fails here
    f = g["fits"][key]
    df = pd.DataFrame(g["data"])
    r = _no_raw_warnings(lambda: analyse(df, f["outcome"], f["treatment"], cluster=f["cluster"], permutations=0))
    ours = r.table.set_index("term")
    for t in f["terms"]:
        cols = ("estimate", "se", "df", "ci_low", "ci_high", "p_value")
        for col in cols if t["term"] != "(Intercept)" else cols[:-1]:
            assert ours.loc[t["term"], col] == pytest.approx(t[ESTIMATR.get(col, col)], abs=ATOL, rel=1e-9), (key, t["term"], col)
    assert f["intercept_variance"] == 0 and ours.loc["(Intercept)", "se"] == pytest.approx(0, abs=1e-12)
    main = next(t for t in f["terms"] if t["term"] == "z")
    assert r.se_estimable and r.se == pytest.approx(main["std_error"], abs=ATOL)
    assert r.p_value == pytest.approx(main["p_value"], abs=ATOL) and r.notes == ()
    assert "variance_negative" not in r.settings and "se_not_estimable" not in r.settings
    # estimatr reports the intercept's t = Inf and p = 0; a zero SE is no evidence, so whatworks gives NaN
    if ours.loc["(Intercept)", "se"] == 0:
        assert math.isnan(ours.loc["(Intercept)", "statistic"]) and math.isnan(ours.loc["(Intercept)", "p_value"])


def test_constant_control_arm_never_warns_and_the_effect_se_is_the_treatment_arms():
    # Many small trials with a constant control arm, with and without clusters and a covariate, at several
    # outcome scales (the rounding tolerance is relative, so it must not depend on the units of the outcome).
    rng = np.random.default_rng(3)
    for i in range(24):
        per_arm = int(rng.integers(3, 7))
        z = np.repeat([0, 1], 2 * per_arm)
        scale = [1e-8, 1.0, 1e8][i % 3]
        y = np.where(z == 0, 0.3, rng.integers(0, 60, size=z.size) / 10) * scale
        df = pd.DataFrame({"y": y, "z": z, "cl": np.repeat(np.arange(2 * per_arm), 2), "x": rng.normal(size=z.size)})
        for cluster, covariates in ((None, None), ("cl", None), (None, ["x"])):
            r = _no_raw_warnings(lambda: analyse(df, "y", "z", cluster=cluster, covariates=covariates, permutations=0))
            intercept = r.table.set_index("term").loc["(Intercept)", "se"]
            assert intercept == pytest.approx(0, abs=1e-12 * scale) and r.notes == ()
            if cluster is None and covariates is None:
                # HC2 for a difference in means is Neyman's s1²/n1 + s0²/n0, and s0 = 0 here
                treated = y[z == 1]
                assert r.se == pytest.approx(treated.std(ddof=1) / np.sqrt(treated.size), rel=1e-9)


def test_variances_negative_by_rounding_are_zero_and_beyond_rounding_are_nan():
    fit = _robust.Fit(beta=np.array([1.0, 2.0, 3.0]), vcov=np.diag([-1.5e-33, 0.4, -0.3]), df=np.full(3, 10.0),
                      resid=np.zeros(4), n=4, k=3, n_clusters=None, var_bound=np.array([6e-15, 1e-14, 6e-15]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        variances, se, tests = fit.variances, fit.se, [fit.test(j) for j in range(3)]
    assert variances[0] == 0 and variances[1] == 0.4 and math.isnan(variances[2])
    assert se[0] == 0 and se[1] == pytest.approx(np.sqrt(0.4)) and math.isnan(se[2])
    assert list(fit.negative) == [2]
    assert tests[0]["se"] == 0 and tests[0]["ci_low"] == tests[0]["ci_high"] == 1.0
    assert all(math.isnan(tests[2][c]) for c in ("se", "statistic", "p_value", "ci_low", "ci_high"))
    assert tests[2]["estimate"] == 3.0
    # the bound is a relative one: on real data it is some 1e-15 of the variances, far below any real variance
    y = np.array([0.2] * 6 + [4.8, 4.4, 3.2, 3.9, 0.3, 3.6])
    X = np.column_stack([np.ones(12), np.repeat([0.0, 1.0], 6)])
    for clusters in (None, np.repeat(np.arange(6), 2)):
        real = _robust.ols(X, y, clusters=clusters)
        assert np.all(real.var_bound < 1e-13 * np.max(np.diag(real.vcov)))
        assert np.all(real.var_bound < 1e-13 * np.diag(real.vcov)[1])
        assert real.negative.size == 0


def test_a_negative_variance_beyond_rounding_is_a_note_not_a_warning(monkeypatch, capsys):
    # Cannot happen in exact arithmetic (a robust variance is a sum of squares), so the fit is doctored here
    # to check the reporting: the treatment's variance set to -0.1, far beyond its rounding bound.
    import dataclasses

    real_ols = _robust.ols

    def doctored(X, y, *, clusters=None):
        fit = real_ols(X, y, clusters=clusters)
        vcov = fit.vcov.copy()
        vcov[1, 1] = -0.1
        return dataclasses.replace(fit, vcov=vcov)

    monkeypatch.setattr(_robust, "ols", doctored)
    r = _no_raw_warnings(lambda: analyse(CLUSTER_FLAT, "y", "z", permutations=99))
    assert math.isnan(r.se) and math.isnan(r.p_value) and all(map(math.isnan, r.ci)) and not r.se_estimable
    assert r.estimate == pytest.approx(-2.0)
    table = r.table.set_index("term")
    assert np.isfinite(table.loc["(Intercept)", ["se", "p_value"]].to_numpy(dtype=float)).all()
    note = r.settings["variance_negative"].reason
    assert r.settings["variance_negative"].value == {"z": -0.1} and r.settings["variance_negative"].source == "data"
    assert r.notes == (note,) and "'z' (-0.1) came out negative" in note and "not estimable" in note
    assert "cannot be estimated (see the first note)" in r.summary() and f"Note: {note}" in r.summary()
    assert note in capsys.readouterr().err
    quiet = analyse(CLUSTER_FLAT, "y", "z", permutations=0, quiet=True)
    assert capsys.readouterr().err == "" and quiet.notes == (quiet.settings["variance_negative"].reason,)


def test_count_model_with_a_constant_control_arm_has_no_divide_by_zero_warning():
    # The same situation for a Poisson model: statsmodels' sandwich SE of the intercept comes out exactly 0
    # here, and the z statistic params / bse used to warn "divide by zero" and give p = 0.
    df = pd.DataFrame({"z": np.repeat([0, 1], 12), "cl": np.repeat(np.arange(12), 2),
                       "y": [3] * 12 + [3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 2, 4]})
    y = df["y"].to_numpy(dtype=float)
    for cluster in (None, "cl"):
        r = _no_raw_warnings(lambda: analyse(df, "y", "z", family="poisson", cluster=cluster, permutations=0))
        assert r.se_estimable
        assert r.se == pytest.approx(_raw_se(df, y, "poisson", cluster, None), rel=1e-12)
        assert r.rate_ratio == pytest.approx(y[12:].mean() / 3, rel=1e-9)
        intercept = r.table.iloc[0]
        if intercept["se"] == 0:
            assert math.isnan(intercept["statistic"]) and math.isnan(intercept["p_value"])
        if math.isnan(intercept["se"]):
            # the intercept's true variance is 0 here; statsmodels' rounds negative and comes back NaN: explained
            assert len(r.notes) == 1 and r.notes[0].startswith("statsmodels returned no standard error for "
                                                               "'(Intercept)'")
        else:
            assert r.notes == ()


def test_blocked_ri_uses_the_blocked_statistic_and_matches_exact_enumeration():
    # Two blocks with very different treated shares (3 of 6, 2 of 8) and a large block effect: the pooled
    # difference in means mixes the block effect into the contrast; the blocked statistic (estimatr's
    # difference_in_means(blocks=) weighting) does not. Exact p by enumerating all C(6,3) x C(8,2) = 560 assignments.
    from itertools import combinations
    blocks = np.r_[np.zeros(6, int), np.ones(8, int)]
    y = np.r_[[1.2, 0.3, 0.9, 0.1, -0.2, 0.4], [5.1, 4.0, 3.2, 3.9, 4.4, 2.8, 3.6, 4.1]]
    z = np.r_[[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]]
    df = pd.DataFrame({"y": y, "z": z, "b": blocks})
    r = analyse(df, "y", "z", blocks="b", permutations=20000, seed=1, quiet=True)
    draws = []
    for t0 in combinations(range(6), 3):
        for t1 in combinations(range(6, 14), 2):
            zz = np.zeros(14, int)
            zz[list(t0) + list(t1)] = 1
            draws.append(list(zz))
    exact = (_ri_p_by_hand(list(y), draws, list(z), log_ratio=False, blocks=list(blocks)) * 561 - 1) / 560
    pooled = (_ri_p_by_hand(list(y), draws, list(z), log_ratio=False) * 561 - 1) / 560
    # Monte Carlo error of 20,000 draws: SE <= 0.0036
    assert r.ri_p_value == pytest.approx(exact, abs=0.015)
    assert abs(exact - pooled) > 0.05  # the two statistics really differ here
    blocked_dim = (6 * (np.mean(y[:3]) - np.mean(y[3:6])) + 8 * (np.mean(y[6:8]) - np.mean(y[8:]))) / 14
    from whatworks.trials.analyse import _ri_statistic
    assert _ri_statistic(y, z, False, blocks)[0] == pytest.approx(blocked_dim, rel=1e-12)
    assert r.settings["ri_statistic"].value.startswith("blocked difference in means (2 blocks")


def test_blocked_ri_refuses_blocks_that_never_hold_both_arms():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "z": [1, 1, 1, 0, 0, 0], "b": [0, 0, 0, 1, 1, 1]})
    with pytest.raises(WhatworksError, match="No block holds both arms"):
        analyse(df, "y", "z", blocks="b", permutations=50, quiet=True)


def test_gaussian_outcome_reproduced_by_covariates_is_not_estimable():
    # y = 2 + 3x exactly (plus a treatment effect of 1): the covariate-adjusted fit leaves no residual, so the
    # HC2 SE would be ~1e-15 with p = 0. It must be NaN, with the note, and the estimate kept.
    rng = np.random.default_rng(4)
    x = rng.normal(size=40)
    z = rng.permutation(np.repeat([0, 1], 20))
    df = pd.DataFrame({"y": 2 + 3 * x + z, "z": z, "x": x})
    r = analyse(df, "y", "z", covariates=["x"], permutations=0, quiet=True)
    assert r.estimate == pytest.approx(1.0, abs=1e-10)
    assert np.isnan(r.se) and np.isnan(r.p_value) and np.isnan(r.ci[0])
    assert r.settings["se_not_estimable"].value == "the model reproduces every outcome"
    assert r.notes[0].startswith("The model reproduces every outcome exactly")
    # a tiny amount of real noise is estimable again
    df["y"] = df["y"] + rng.normal(scale=1e-3, size=40)
    r2 = analyse(df, "y", "z", covariates=["x"], permutations=0, quiet=True)
    assert np.isfinite(r2.se) and r2.se > 0


def test_negbin_dispersion_next_to_the_boundary_is_treated_as_poisson():
    # Poisson counts (seed 2): statsmodels' optimiser stops at alpha ~ 5e-6, not below the 1e-8 floor, though the
    # extra variance alpha*mu^2 is ~0.002% of mu: effectively at the boundary. It must be reported as such, and the
    # rate ratio must equal the Poisson model's.
    rng = np.random.default_rng(2)
    z = np.repeat([0, 1], 30)
    df = pd.DataFrame({"z": z, "y": rng.poisson(np.where(z == 1, 3, 4))})
    r = analyse(df, "y", "z", family="negbin", permutations=0, quiet=True)
    assert r.settings["dispersion"].value == pytest.approx(1e-8)
    assert "Poisson boundary" in r.settings["dispersion"].reason
    p = analyse(df, "y", "z", family="poisson", permutations=0, quiet=True)
    assert r.rate_ratio == pytest.approx(p.rate_ratio, rel=1e-8)


def test_a_nan_standard_error_from_statsmodels_is_explained_not_passed_silently(monkeypatch):
    # statsmodels gives NaN for a variance that rounds negative; stand in for that (it is rare to provoke on
    # purpose) by wrapping the real fit so one term's bse is NaN, and check analyse says so.
    import sys
    mod = sys.modules[analyse.__module__]  # the module (whatworks.trials.analyse is also the function's name)
    real = mod._count_fit

    class NanSE:
        def __init__(self, fit, j):
            self._fit, self.bse = fit, np.asarray(fit.bse, float).copy()
            self.bse[j] = np.nan

        def __getattr__(self, name):
            return getattr(self._fit, name)

    rng = np.random.default_rng(7)
    z = np.repeat([0, 1], 25)
    df = pd.DataFrame({"z": z, "y": rng.poisson(np.where(z == 1, 2, 3))})
    for j, term, tail in ((0, "(Intercept)", "."), (1, "z", "randomisation-inference")):
        monkeypatch.setattr(mod, "_count_fit", lambda *a, j=j, **k: (NanSE(real(*a, **k)[0], j), *real(*a, **k)[1:]))
        r = analyse(df, "y", "z", family="poisson", permutations=0, quiet=True)
        note = [n for n in r.notes if n.startswith("statsmodels returned no standard error")]
        assert len(note) == 1 and repr(term) in note[0] and tail in note[0]
        assert r.settings["se_nan"].value == "statsmodels returned a NaN standard error"
        assert np.isnan(r.table.loc[j, "se"]) and np.isnan(r.table.loc[j, "p_value"])


def test_renamed_arguments_get_a_clear_error():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "z": [0, 1, 0, 1, 0, 1]})
    with pytest.raises(WhatworksError, match="'alpha' parameter was renamed.*conf_level"):
        analyse(df, "y", "z", alpha=0.05)
    with pytest.raises(WhatworksError, match="'ri_reps' parameter was renamed.*permutations"):
        analyse(df, "y", "z", ri_reps=10)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        analyse(df, "y", "z", bogus=1)
