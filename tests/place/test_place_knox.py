"""whatworks.place.knox — equals pointpats on burkitt (golden), exact expectation, p-value rule, recovery."""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import knox
from whatworks.place.knox import _band_index, _time_pair_counts, band_labels

GOLDEN = pathlib.Path(__file__).parents[1] / "golden" / "place_knox_golden.json"


def _burkitt():
    assert GOLDEN.exists(), f"missing golden file {GOLDEN}; run tests/golden/make_place_knox.py"
    g = json.loads(GOLDEN.read_text())
    return pd.DataFrame({"x": g["x"], "y": g["y"], "t": g["t"]}), g["cases"]


# REFERENCE: pointpats --------------------------------------------------------------------------------------------------
def test_observed_and_expected_equal_pointpats_on_burkitt():
    df, cases = _burkitt()
    assert cases[0]["delta"] == 20 and cases[0]["tau"] == 5 and cases[0]["observed"] == 13
    for c in cases:
        r = knox(df, date="t", distance_bands=[0, c["delta"]], time_bands=[0, c["tau"]], closed="right",
                 permutations=0, quiet=True)
        row = r.table.iloc[0]
        assert row["observed"] == c["observed"]
        assert row["expected"] == pytest.approx(c["expected"], rel=1e-12)
        assert row["distance_band"] == f"[0, {c['delta']}] m" and row["time_band"] == f"[0, {c['tau']}] days"


def test_left_closed_bands_differ_only_on_boundaries():
    df, _ = _burkitt()
    r = knox(df, date="t", distance_bands=[0, 20], time_bands=[0, 5], permutations=0, quiet=True)
    assert r.table.iloc[0]["observed"] == 12      # one pair sits exactly on a boundary (pointpats counts ≤)
    assert r.table.iloc[0]["distance_band"] == "[0, 20) m"


def test_brute_force_counts_over_many_bands():
    df, _ = _burkitt()
    d_edges, t_edges = [0, 10, 25, 50], [0, 7, 30, 90, 365]
    r = knox(df, date="t", distance_bands=d_edges, time_bands=t_edges, permutations=0, quiet=True)
    x, y, t = df["x"].to_numpy(), df["y"].to_numpy(), df["t"].to_numpy()
    iu = np.triu_indices(len(x), 1)
    d = np.hypot(x[:, None] - x[None], y[:, None] - y[None])[iu]
    dt = np.abs(t[:, None] - t[None])[iu]
    n_pairs = len(d)
    for _, row in r.table.iterrows():
        ind = (d >= row["distance_from"]) & (d < row["distance_to"])
        itb = (dt >= row["time_from"]) & (dt < row["time_to"])
        assert row["observed"] == (ind & itb).sum()
        assert row["expected"] == pytest.approx(ind.sum() * itb.sum() / n_pairs, rel=1e-12)


def test_permutation_mean_matches_exact_expectation_and_p_rule():
    df, _ = _burkitt()
    r = knox(df, date="t", distance_bands=[0, 25, 50], time_bands=[0, 30, 60], permutations=999, seed=3, quiet=True)
    sims = r.simulated
    assert sims.shape == (999, 2, 2)
    exp = r.table["expected"].to_numpy().reshape(2, 2)
    se = sims.std(axis=0) / np.sqrt(999)
    assert np.all(np.abs(sims.mean(axis=0) - exp) < 4 * se + 1e-9)
    obs = r.table["observed"].to_numpy().reshape(2, 2)
    p = ((sims >= obs[None]).sum(axis=0) + 1) / 1000
    np.testing.assert_allclose(r.table["p_value"].to_numpy().reshape(2, 2), p)
    again = knox(df, date="t", distance_bands=[0, 25, 50], time_bands=[0, 30, 60], permutations=999, seed=3,
                 quiet=True)
    assert np.array_equal(again.simulated, sims)   # same seed, same simulations


# RULES ------------------------------------------------------------------------------------------------------------------
def test_band_labels_interval_notation():
    assert band_labels([0, 100, 200], "left", "m") == ["[0, 100) m", "[100, 200) m"]
    assert band_labels([0, 7, 14], "right", "days") == ["[0, 7] days", "(7, 14] days"]


def test_band_index_edges():
    e = np.array([0.0, 100, 200])
    v = np.array([0, 99.9, 100, 199.99, 200, 250])
    assert _band_index(v.copy(), e, "left").tolist() == [0, 0, 1, 1, -1, -1]
    assert _band_index(v.copy(), e, "right").tolist() == [0, 0, 0, 1, 1, -1]


def test_time_pair_counts_by_brute_force():
    t = np.array([0, 0, 1, 3, 7, 7, 8, 14, 30.0])
    iu = np.triu_indices(len(t), 1)
    dt = np.abs(t[:, None] - t[None])[iu]
    e = np.array([0, 1, 7, 14])
    assert _time_pair_counts(t, e, "left").tolist() == [((dt >= a) & (dt < b)).sum() for a, b in zip(e[:-1], e[1:])]
    right = [((dt >= 0) & (dt <= 1)).sum(), ((dt > 1) & (dt <= 7)).sum(), ((dt > 7) & (dt <= 14)).sum()]
    assert _time_pair_counts(t, e, "right").tolist() == right


def test_datetimes_and_default_bands(capsys):
    df, _ = _burkitt()
    df["when"] = pd.Timestamp("1960-01-01") + pd.to_timedelta(df["t"], unit="D")
    r = knox(df, date="when", permutations=19)
    err = capsys.readouterr().err
    assert "distance bands set to" in err
    assert r.settings["time_bands"].value == [0, 7, 14, 21, 28, 35]
    assert len(r.table) == 25
    r2 = knox(df, date="t", distance_bands=r.distance_edges, permutations=0, quiet=True)
    np.testing.assert_array_equal(r.table["observed"], r2.table["observed"])


def test_monthly_times_are_flagged(capsys):
    df = pd.DataFrame({"x": [0.0, 10, 20, 30], "y": [0.0, 5, 10, 15],
                       "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"])})
    knox(df, date="month", distance_bands=[0, 50], time_bands=[0, 31], permutations=0)
    assert "look monthly" in capsys.readouterr().err


def test_bad_inputs():
    df, _ = _burkitt()
    with pytest.raises(WhatworksError, match="at least two increasing"):
        knox(df, date="t", distance_bands=[100, 0], quiet=True)
    with pytest.raises(WhatworksError, match="'closed' parameter"):
        knox(df, date="t", closed="both", quiet=True)
    bad = df.copy()
    bad.loc[4, "x"] = 0.0
    bad.loc[4, "y"] = 0.0
    with pytest.raises(WhatworksError, match=r"stray coordinates.*position 4"):
        knox(bad, date="t", quiet=True)
    bad = df.copy().astype({"t": object})
    bad.loc[2, "t"] = "soon"
    with pytest.raises(WhatworksError, match=r"Column 't' must hold dates.*'soon'.*position 2"):
        knox(bad, date="t", quiet=True)


# RECOVERY -----------------------------------------------------------------------------------------------------------------
def test_contagious_process_shows_near_repeat_excess(nearrepeat_sim):
    ev = nearrepeat_sim(seed=1, contagious=True)
    r = knox(ev, distance_bands=[0, 100, 200, 400, 800], time_bands=[0, 7, 14, 28, 56], permutations=199, quiet=True)
    t = r.table.set_index(["distance_band", "time_band"])
    near = t.loc[("[0, 100) m", "[0, 7) days")]
    assert near["ratio"] > 2 and near["p_value"] <= 0.01
    far = t.loc[("[400, 800) m", "[28, 56) days")]     # beyond the injected ~50 m / 5-day scale: no excess
    assert far["ratio"] < 1.15
    assert "more pairs than chance" in r.summary()


def test_poisson_process_false_positive_rate(nearrepeat_sim):
    # no contagion: the near cell is significant in about 5% of replicates
    hits = 0
    for seed in range(40):
        ev = nearrepeat_sim(seed=100 + seed, n_parents=800, contagious=False)
        r = knox(ev, distance_bands=[0, 200], time_bands=[0, 14], permutations=99, seed=seed, quiet=True)
        hits += r.table["p_value"].iloc[0] <= 0.05
    assert hits <= 6     # binomial(40, 0.05): P(X > 6) ≈ 0.01


def test_heat_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    df, _ = _burkitt()
    r = knox(df, date="t", distance_bands=[0, 20, 40], time_bands=[0, 30, 60, 90], permutations=49, quiet=True)
    h = r.heat()
    assert list(h.index) == ["[0, 20) m", "[20, 40) m"] and list(h.columns)[0] == "[0, 30) days"
    assert r.plot().axes
    assert "events" in repr(r)


# SETTINGS: an explicit value equal to the default is still the caller's -------------------------------------------------
def test_explicit_seed_zero_and_permutations_are_recorded_as_given():
    # review: seed=0 passed explicitly was recorded as a default ("user" if seed else "default"), and
    # permutations=999 likewise ("user" if permutations != 999 else "default")
    df, _ = _burkitt()
    opts = dict(date="t", distance_bands=[0, 25, 50], time_bands=[0, 30, 60], quiet=True)
    given = knox(df, permutations=999, seed=0, **opts)
    omitted = knox(df, **opts)
    for name, value in (("seed", 0), ("permutations", 999)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    # omitting the seed still means seed 0: identical simulations and p-values
    np.testing.assert_array_equal(given.simulated, omitted.simulated)
    pd.testing.assert_frame_equal(given.table, omitted.table)
    # and seed 0 is a real seed, not "no seed": another seed gives other simulations
    other = knox(df, permutations=999, seed=1, **opts)
    assert not np.array_equal(other.simulated, given.simulated)
    with pytest.raises(WhatworksError, match="'seed' parameter must be an integer >= 0"):
        knox(df, seed=1.5, **opts)


def test_explicit_closed_equal_to_default_is_recorded_as_given():
    # review: closed="left" passed explicitly was recorded as a default ("user" if closed != "left")
    df, _ = _burkitt()
    opts = dict(date="t", distance_bands=[0, 25, 50], time_bands=[0, 30, 60], permutations=0, quiet=True)
    given = knox(df, closed="left", **opts)
    omitted = knox(df, **opts)
    assert (given.settings["closed"].value, given.settings["closed"].source) == ("left", "user")
    assert (omitted.settings["closed"].value, omitted.settings["closed"].source) == ("left", "default")
    assert omitted.closed == "left"
    pd.testing.assert_frame_equal(given.table, omitted.table)
    right = knox(df, closed="right", **opts)
    assert (right.settings["closed"].value, right.settings["closed"].source) == ("right", "user")
    with pytest.raises(WhatworksError, match="closed"):
        knox(df, closed="both", **opts)


# ISSUE 11: month-resolution dates and rows without coordinates ------------------------------------------------------------
def _monthly(n=40, seed=5):
    rng = np.random.default_rng(seed)
    months = pd.to_datetime(rng.choice(["2024-01-01", "2024-02-01", "2024-03-01"], n))
    return pd.DataFrame({"x": rng.uniform(0, 2000, n), "y": rng.uniform(0, 2000, n), "month": months})


def test_month_resolution_cannot_be_tested(capsys):
    r = knox(_monthly(), date="month", distance_bands=[0, 200, 400], time_bands=[0, 7, 14])
    assert "cannot be tested at this time resolution" in capsys.readouterr().err
    assert not r.testable and r.permutations == 0 and r.simulated is None
    assert r.table["p_value"].isna().all()
    s = r.summary()
    assert "cannot be tested at this time resolution" in s and "not evidence of no near-repeat pattern" in s
    assert "no near-repeat pattern (p < 0.05)" not in s
    assert "cannot be tested" in repr(r)
    assert r.settings["time_precision"].value == "month" and r.settings["time_precision"].source == "data"


def test_time_precision_column_or_value_marks_month_resolution():
    df = _monthly()
    df["day"] = (df["month"] - pd.Timestamp("2024-01-01")).dt.days + 3      # numbers of days: not detectable
    opts = dict(date="day", distance_bands=[0, 200], time_bands=[0, 14], permutations=9, quiet=True)
    assert knox(df, **opts).testable
    assert not knox(df, time_precision="month", **opts).testable
    df["time_precision"] = "month"                                           # the store's column
    assert not knox(df, **opts).testable
    df.loc[0, "time_precision"] = "day"
    assert knox(df, **opts).testable
    with pytest.raises(WhatworksError, match="'time_precision' parameter"):
        knox(df, time_precision="fortnight", **opts)


def test_rows_without_coordinates_are_dropped_with_a_count(capsys):
    df, _ = _burkitt()
    full = knox(df, date="t", distance_bands=[0, 20], time_bands=[0, 5], permutations=0, quiet=True)
    gappy = pd.concat([df, pd.DataFrame({"x": [np.nan, 10.0, np.nan], "y": [5.0, np.nan, np.nan], "t": [1, 2, 3]})],
                      ignore_index=True)
    r = knox(gappy, date="t", distance_bands=[0, 20], time_bands=[0, 5], permutations=0)
    err = capsys.readouterr().err
    assert f"3 of {len(df) + 3} event(s) left out: 3 missing coordinates" in err
    assert r.n_events == len(df) == full.n_events and r.settings["excluded_points"].value == 3
    assert r.excluded["position"].tolist() == [len(df), len(df) + 1, len(df) + 2]
    pd.testing.assert_frame_equal(r.table, full.table)
    bad = df.copy()
    bad.loc[4, ["x", "y"]] = 0.0
    r2 = knox(bad, date="t", distance_bands=[0, 20], time_bands=[0, 5], permutations=0, on_stray="exclude", quiet=True)
    assert r2.n_events == len(df) - 1 and r2.excluded["reason"].str.startswith("at (0, 0)").all()
