"""Stylised facts the synthetic force must show, each measured the way an analyst would (issue 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from whatworks.synth import _constants as K


# ---------------------------------------------------------------------------------------------- helpers

def _knox(df: pd.DataFrame, *, space_m: float, days: float, sims: int, seed: int) -> tuple[int, float, float]:
    """Knox count of pairs within ``space_m`` and ``days``; (observed, mean of time-shuffled null, p-value)."""
    xy = df[["x", "y"]].to_numpy(float)
    t = (df["occurred"].to_numpy().astype("datetime64[s]").astype(np.int64) / 86400.0)
    pairs = cKDTree(xy).query_pairs(space_m, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    obs = int((np.abs(t[i] - t[j]) <= days).sum())
    rng = np.random.default_rng(seed)
    null = np.empty(sims)
    for k in range(sims):
        tp = rng.permutation(t)
        null[k] = (np.abs(tp[i] - tp[j]) <= days).sum()
    p = (np.sum(null >= obs) + 1) / (sims + 1)
    return obs, float(null.mean()), float(p)


def _share_top(counts: np.ndarray, frac: float) -> float:
    c = np.sort(counts)[::-1]
    return c[: int(np.ceil(frac * c.size))].sum() / c.sum()


# ---------------------------------------------------------------------------------------------- place

def test_about_half_of_crime_on_about_five_percent_of_segments(force):
    crimes = force.tables["crimes"]
    counts = np.bincount(crimes["segment_id"], minlength=len(force.tables["segments"]))
    share = _share_top(counts, 0.05)
    assert 0.42 <= share <= 0.62, share        # Weisburd (2015): ~50% of crime on 2-6% of segments
    assert _share_top(counts, 0.01) > 0.15
    assert share == pytest.approx(force.truth["realised"]["share_on_top_5pct_segments"], abs=1e-3)


def test_crime_follows_deprivation(force):
    crimes = force.tables["crimes"]
    areas = force.tables["areas"].query("level == 'lsoa'").set_index("code")
    rate = crimes.groupby("lsoa_code", observed=False).size().reindex(areas.index, fill_value=0) / areas["population"]
    assert np.corrcoef(np.log1p(rate * 1000), areas["deprivation"])[0, 1] > 0.2


# ---------------------------------------------------------------------------------------------- near repeats

def test_burglary_near_repeat_excess_and_none_for_vehicle_crime(force):
    crimes = force.tables["crimes"]
    nr = force.truth["near_repeat"]
    assert nr["crime_type"] == "Burglary"
    burg = crimes[crimes["crime_type"] == "Burglary"]
    obs, null, p = _knox(burg, space_m=200, days=14, sims=99, seed=1)
    assert obs / null > 1.5 and p <= 0.01, (obs, null, p)
    # the excess fades with distance and time: far and late pairs show none
    far = _knox(burg, space_m=2000, days=14, sims=49, seed=2)
    assert far[0] / far[1] < obs / null
    veh = crimes[crimes["crime_type"] == "Vehicle crime"]
    obs_v, null_v, p_v = _knox(veh, space_m=200, days=14, sims=99, seed=3)
    assert 0.85 < obs_v / null_v < 1.15, (obs_v, null_v, p_v)
    assert p_v > 0.01


def test_near_repeat_parents_recorded_in_truth(force):
    truth = force.truth_tables["crimes"]
    crimes = force.tables["crimes"]
    child = truth["near_repeat_of"].notna().to_numpy()
    # every recorded triggered burglary names its parent; some triggered ones fell after the last month
    assert 0 < child.sum() <= force.truth["realised"]["burglaries_triggered_near_repeat"]
    assert (crimes.loc[child, "crime_type"] == "Burglary").all()
    by_ref = crimes.set_index("reference")
    parents = by_ref.loc[truth.loc[child, "near_repeat_of"].astype(str)]
    kids = crimes.loc[child]
    dt_days = (kids["occurred"].to_numpy() - parents["occurred"].to_numpy()) / np.timedelta64(1, "D")
    assert (dt_days > 0).all()
    assert np.median(dt_days) == pytest.approx(force.truth["near_repeat"]["time_scale_days"] * np.log(2), rel=0.25)
    dist = np.hypot(kids["x"].to_numpy() - parents["x"].to_numpy(), kids["y"].to_numpy() - parents["y"].to_numpy())
    same_home = (dist == 0).mean()
    assert same_home == pytest.approx(force.truth["near_repeat"]["same_home"], abs=0.05)


# ---------------------------------------------------------------------------------------------- people

def test_repeat_victimisation_is_heavy_tailed(force):
    crimes = force.tables["crimes"]
    v = crimes["victim_id"].dropna().value_counts().to_numpy()
    share_crimes_repeat = v[v > 1].sum() / v.sum()
    # null: the same number of victim-crimes spread uniformly over the adult residents (no heavy tail)
    adults = force.truth["geography"]["population"] * 0.85
    lam = v.sum() / adults
    null_share = 1 - np.exp(-lam)      # P(a victim-crime's victim has another one) under Poisson
    assert share_crimes_repeat > 0.2
    assert share_crimes_repeat > 4 * null_share
    # a few victims suffer a large share
    assert _share_top(v, 0.05) > 0.12


def test_power_few_offenders(force):
    crimes = force.tables["crimes"]
    per_offender = crimes["offender_id"].dropna().value_counts().to_numpy()
    assert _share_top(per_offender, 0.10) > 0.5    # "power few": top ~10% commit over half of recorded offences
    assert crimes.loc[crimes["kind"] == "asb", "offender_id"].isna().all()


def test_outcomes_by_type(force):
    crimes = force.tables["crimes"]
    crime = crimes[crimes["kind"] == "crime"]
    solved = crime["offender_id"].notna().groupby(crime["crime_type"], observed=True).mean()
    for t, (p_detect, _) in K.DETECTION.items():
        assert solved[t] == pytest.approx(p_detect, abs=0.06), t
    assert set(crime["outcome"].astype(str)) == set(K.OUTCOME_CATEGORIES)
    assert crimes.loc[crimes["kind"] == "asb", "outcome"].isna().all()
    warn = crime["outcome"] == "Offender given a drugs possession warning"
    assert (crime.loc[warn, "crime_type"] == "Drugs").all()


# ---------------------------------------------------------------------------------------------- time

def test_seasonality(force):
    crimes = force.tables["crimes"]
    m = crimes["occurred"].dt.month
    summer, winter = m.isin([6, 7, 8]), m.isin([12, 1, 2])

    def ratio(t, a, b):
        sel = crimes["crime_type"] == t
        return (sel & a).sum() / (sel & b).sum()

    assert ratio("Violence and sexual offences", summer, winter) > 1.12
    assert ratio("Anti-social behaviour", summer, winter) > 1.2
    assert ratio("Burglary", winter, summer) > 1.12
    assert 0.85 < ratio("Drugs", summer, winter) < 1.15       # no seasonality injected


def test_step_change_in_vehicle_crime(force):
    crimes = force.tables["crimes"]
    step = pd.Timestamp(force.truth["interventions"]["step_change"]["month"] + "-01")
    veh = crimes[crimes["crime_type"] == "Vehicle crime"]
    monthly = veh.groupby("month").size()
    before = monthly[(monthly.index < step) & (monthly.index >= step - pd.DateOffset(months=11))].mean()
    after = monthly[(monthly.index >= step) & (monthly.index < step + pd.DateOffset(months=11))].mean()
    assert after / before == pytest.approx(force.truth["interventions"]["step_change"]["rate_ratio"], abs=0.07)


def test_hotspot_rct_reduction(force):
    crimes = force.tables["crimes"]
    trial = force.tables["hotspot_trial"]
    start = pd.Timestamp(trial["trial_start"].iloc[0] + "-01")
    end = pd.Timestamp(trial["trial_end"].iloc[0] + "-01")
    during = crimes[(crimes["month"] >= start) & (crimes["month"] <= end)]
    counts = during.groupby("segment_id").size()
    cells = trial.set_index("segment_id")
    obs = counts.reindex(cells.index, fill_value=0)
    expected = cells["expected_crimes_per_month"] * ((end.year - start.year) * 12 + end.month - start.month + 1)
    # observed / expected crime by arm (expected ignores season and trend, which hit both arms alike)
    r = (obs / expected).groupby(cells["arm"]).mean()
    assert r["treatment"] / r["control"] == pytest.approx(force.truth["interventions"]["hotspot_rct"]["rate_ratio"], abs=0.08)
    assert (trial.groupby("pair")["arm"].nunique() == 2).all()


def test_borough_policy_effect_did(force):
    crimes = force.tables["crimes"]
    pol = force.tables["policy_adoption"]
    asb = crimes[crimes["crime_type"] == "Anti-social behaviour"].copy()
    seg = force.tables["segments"].set_index("segment_id")["borough_code"]
    asb["borough"] = seg.reindex(asb["segment_id"]).to_numpy()
    panel = asb.groupby(["borough", "month"]).size().rename("n").reset_index()
    adopt = pol.set_index("borough_code")["adoption_month"]
    panel["treated"] = [(isinstance(a, str) and m >= pd.Timestamp(a + "-01"))
                        for a, m in zip(adopt.reindex(panel["borough"]), panel["month"])]
    import statsmodels.formula.api as smf

    fit = smf.poisson("n ~ treated + C(borough) + C(month)", data=panel).fit(disp=0)
    est = float(np.exp(fit.params["treated[T.True]"]))
    assert est == pytest.approx(force.truth["interventions"]["borough_policy"]["rate_ratio"], abs=0.06)
    assert pol["adopted"].sum() >= 1 and (~pol["adopted"]).sum() >= 1


def test_repeat_burglaries_come_soon_after(force):
    """Farrell & Pease: repeats cluster soon after the first incident (here through same-home near repeats)."""
    crimes = force.tables["crimes"]
    burg = crimes[(crimes["crime_type"] == "Burglary") & crimes["victim_id"].notna()].sort_values("occurred")
    t = burg["occurred"].to_numpy().astype("datetime64[s]").astype(np.int64) / 86400.0

    def share_within(times, days=30):
        s = pd.Series(times, index=burg["victim_id"].to_numpy()).sort_values()
        gaps = s.groupby(level=0).diff().dropna()
        return (gaps <= days).mean(), len(gaps)

    obs, n_rep = share_within(t)
    rng = np.random.default_rng(0)
    null = np.mean([share_within(rng.permutation(t))[0] for _ in range(20)])
    assert n_rep > 50
    assert obs > 2 * null, (obs, null)


def test_hotspots_are_stable_over_time(force):
    crimes = force.tables["crimes"]
    first = crimes["month"] < crimes["month"].min() + pd.DateOffset(months=12)
    S = len(force.tables["segments"])
    a = np.bincount(crimes.loc[first, "segment_id"], minlength=S)
    b = np.bincount(crimes.loc[~first, "segment_id"], minlength=S)
    top_a = set(np.argsort(-a)[: S // 20])
    top_b = set(np.argsort(-b)[: S // 20])
    assert len(top_a & top_b) / len(top_a) > 0.6
    assert np.corrcoef(np.log1p(a), np.log1p(b))[0, 1] > 0.7
