"""whatworks.place.classify — category rules on hand-built flags, periods, and recovery of planted change."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from whatworks.errors import WhatworksError
from whatworks.place import classify
from whatworks.place.classify import categorise


# RULES on tiny hand-built flags (10 periods, last 2 recent) -----------------------------------------------------------
@pytest.mark.parametrize("flags,expected", [
    ("1111111100", "persistent"),     # 8/10 ≥ 0.8
    ("0000000001", "new"),            # only the last period
    ("0000000011", "emerging"),       # none older, recent ≥ 10%
    ("0000000010", "emerging"),
    ("1100000000", "former"),         # older, nothing recent
    ("0010100001", "intermittent"),   # older and recent, < 80%
    ("0000000000", ""),
])
def test_categorise_rules(flags, expected):
    f = np.array([[c == "1" for c in flags]])
    assert categorise(f, 2)[0] == expected


def test_new_beats_emerging_and_persistent_first():
    f = np.array([[True] * 10, [False] * 9 + [True]])
    assert categorise(f, 2).tolist() == ["persistent", "new"]


def _events(seed=0):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    n = 6000
    bg = pd.DataFrame({"x": rng.uniform(0, 3000, n), "y": rng.uniform(0, 3000, n),
                       "occurred": start + pd.to_timedelta(rng.integers(0, 360, n), "D")})
    parts = [bg]

    def spot(cx, cy, day_lo, day_hi, k):
        return pd.DataFrame({"x": rng.normal(cx, 40, k), "y": rng.normal(cy, 40, k),
                             "occurred": start + pd.to_timedelta(rng.integers(day_lo, day_hi, k), "D")})

    parts.append(spot(700, 700, 0, 360, 1200))        # persistent: all year
    parts.append(spot(2300, 2300, 300, 360, 250))     # emerging/new: the last two of 12 periods
    parts.append(spot(700, 2300, 0, 150, 600))        # former: first five periods only
    return pd.concat(parts, ignore_index=True)


def test_recovers_planted_change():
    r = classify(_events(), cell_size=100, periods=12, quiet=True)
    t = r.table

    def category_at(x, y):
        cell = t.loc[(np.hypot(t["x"] - x, t["y"] - y)).idxmin()]
        return cell["category"]

    assert category_at(700, 700) == "persistent hot spot"
    assert category_at(2300, 2300) in ("emerging hot spot", "new hot spot")
    assert category_at(700, 2300) == "former hot spot"
    assert category_at(1500, 1500) == "no pattern"
    assert len(r.periods) == 12 and r.periods["recent"].sum() == 2
    assert set(r.by_period["period"]) == set(r.periods["period"])
    assert "persistent hot spot" in r.summary()


def test_monthly_data_default_periods(capsys):
    ev = _events(1)
    ev["occurred"] = ev["occurred"].dt.to_period("M").dt.to_timestamp()      # police.uk-style months
    r = classify(ev, cell_size=100)
    err = capsys.readouterr().err
    assert "periods set to month (the times are monthly" in err
    assert len(r.periods) == 12 and r.periods["start"].iloc[0] == "2023-01-01"


def test_auto_period_follows_sfhotspot():
    ev = _events(2)
    r = classify(ev, cell_size=100, quiet=True)
    assert r.settings["periods"].value == "28 days"   # span ≤ 2 years


def test_periods_forms_and_errors():
    ev = _events(3)
    r = classify(ev, cell_size=100, periods="13 weeks", quiet=True)
    assert len(r.periods) == 4
    r = classify(ev, cell_size=100, periods=["2023-01-01", "2023-07-01"], quiet=True)
    assert r.periods["start"].tolist() == ["2023-01-01", "2023-07-01"]
    with pytest.raises(WhatworksError, match="'periods' parameter must be"):
        classify(ev, cell_size=100, periods="fortnightly", quiet=True)
    with pytest.raises(WhatworksError, match="at least 2 periods"):
        classify(ev, cell_size=100, periods=1, quiet=True)
    with pytest.raises(WhatworksError, match="'hotspot' parameter"):
        classify(ev, cell_size=100, periods=4, hotspot=1.5, quiet=True)


def test_empty_periods_are_left_out_and_announced(capsys):
    ev = _events(4)
    ev = ev[(ev["occurred"] < "2023-03-01") | (ev["occurred"] >= "2023-05-01")]
    r = classify(ev, cell_size=100, periods="month")
    assert "2 period(s) without events left out" in capsys.readouterr().err
    assert len(r.periods) == 10


def test_hex_and_outputs():
    import matplotlib

    matplotlib.use("Agg")
    r = classify(_events(5), cell_size=150, shape="hex", periods=6, quiet=True)
    assert r.plot().axes
    gj = r.to_geojson()
    assert len(gj["features"]) == len(r.table) and "category" in gj["features"][0]["properties"]


def test_explicit_thresholds_equal_to_defaults_are_recorded_as_given():
    # review: hotspot/persistent/recent/alpha were "user" only when they differed from sfhotspot's defaults, so an
    # explicit 0.05 was recorded as a default
    rng = np.random.default_rng(4)
    ev = pd.DataFrame({"x": rng.uniform(0, 1000, 600), "y": rng.uniform(0, 1000, 600),
                       "occurred": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, 600), "D")})
    given = classify(ev, cell_size=200, periods=4, hotspot=0.1, persistent=0.8, recent=0.2, alpha=0.05, quiet=True)
    omitted = classify(ev, cell_size=200, periods=4, quiet=True)
    for name, value in (("hotspot", 0.1), ("persistent", 0.8), ("recent", 0.2), ("alpha", 0.05)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.settings["recent_periods"].value == 1          # max(1, floor(0.2 × 4))


def test_fdr_and_shape_are_recorded_as_given_or_default():
    # review: classify(fdr=...) was never recorded in .settings, nor was the cell shape
    rng = np.random.default_rng(4)
    ev = pd.DataFrame({"x": rng.uniform(0, 1000, 600), "y": rng.uniform(0, 1000, 600),
                       "occurred": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, 600), "D")})
    given = classify(ev, cell_size=200, periods=4, fdr=True, shape="square", quiet=True)
    omitted = classify(ev, cell_size=200, periods=4, quiet=True)
    for name, value in (("fdr", True), ("shape", "square")):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    pd.testing.assert_frame_equal(given.by_period, omitted.by_period)
    # fdr=False is used and recorded: unadjusted p-values are the two-sided normal p-values of the Gi* z-scores
    raw = classify(ev, cell_size=200, periods=4, fdr=False, quiet=True)
    assert (raw.settings["fdr"].value, raw.settings["fdr"].source) == (False, "user")
    z = raw.by_period["gistar"].to_numpy()
    np.testing.assert_allclose(raw.by_period["p_adjusted"].to_numpy(), 2 * stats.norm.sf(np.abs(z)))
    assert (raw.by_period["p_adjusted"] <= omitted.by_period["p_adjusted"] + 1e-15).all()
