"""whatworks.people.repeats: rules on tiny hand-built tables, CI coverage by simulation, recovery on the synthetic force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.people._common import ratio_ci, top_share, wilson
from whatworks.people.repeats import FlagRule, window_counts

# ------------------------------------------------------------------------------------------------ CHECK INPUTS


def _ev(ids, dates, **extra):
    return pd.DataFrame({"victim_id": ids, "occurred": pd.to_datetime(dates), **extra})


def test_needs_exactly_one_unit():
    df = _ev(["a"], ["2024-01-01"])
    with pytest.raises(WhatworksError, match="exactly one of 'id'"):
        ww.people.repeats(df, quiet=True)
    with pytest.raises(WhatworksError, match="exactly one of 'id'"):
        ww.people.repeats(df, id="victim_id", where="victim_id", quiet=True)


def test_missing_ids_and_dates_are_errors_naming_the_row():
    df = _ev(["a", None], ["2024-01-01", "2024-01-02"])
    with pytest.raises(WhatworksError, match=r"missing identifiers.*position 1"):
        ww.people.repeats(df, id="victim_id", quiet=True)
    df = pd.DataFrame({"victim_id": ["a", "b"], "occurred": ["2024-01-01", "not a date"]})
    with pytest.raises(WhatworksError, match=r"must hold a date.*position 1"):
        ww.people.repeats(df, id="victim_id", quiet=True)


def test_bad_options():
    df = _ev(["a"], ["2024-01-01"])
    with pytest.raises(WhatworksError, match="window_days"):
        ww.people.repeats(df, id="victim_id", window_days=0, quiet=True)
    with pytest.raises(WhatworksError, match="not found"):
        ww.people.repeats(df, id="nope", quiet=True)
    with pytest.raises(WhatworksError, match="rule"):
        ww.people.repeats(df, id="victim_id", rules=["3 in 12 months"], quiet=True)
    with pytest.raises(WhatworksError, match="top"):
        ww.people.repeats(df, id="victim_id", top=[1.5], quiet=True)
    with pytest.raises(WhatworksError, match="key"):
        ww.people.repeats(df, id="victim_id", key="short", quiet=True)

# ------------------------------------------------------------------------------------------------ pure rules


def test_window_counts_inclusive_rolling_count():
    codes = np.array([0, 0, 0, 0, 1, 1])
    days = np.array([0.0, 10.0, 30.0, 41.0, 5.0, 400.0])
    # window 30 days: day 30 counts day 0 (exactly 30 before: inclusive); day 41 counts days 30 and 41 only
    assert window_counts(codes, days, 30.0).tolist() == [1, 2, 3, 2, 1, 1]


def test_hand_example_rates_flags_and_gaps():
    df = _ev(["a", "a", "a", "b", "b", "c"],
             ["2024-01-01", "2024-01-03", "2024-02-01", "2024-01-01", "2025-06-01", "2024-03-01"])
    r = ww.people.repeats(df, id="victim_id", n_boot=20, quiet=True)
    assert r.n_units == 3 and r.n_events == 6
    assert r.repeat_rate == pytest.approx(2 / 3)
    assert r.repeat_share == pytest.approx(5 / 6)
    # repeats within 365 days: a's 2nd and 3rd (b's 2nd is 517 days later)
    assert r.repeat_within_window == pytest.approx(2 / 6)
    t = r.table.set_index("victim_id")
    assert t.loc["a", "events"] == 3 and t.loc["a", "max_in_window"] == 3 and t.loc["a", "flagged"]
    assert t.loc["b", "max_in_window"] == 1 and not t.loc["b", "flagged"]
    assert t.loc["a", "flag_reasons"] == ">= 3 in 365 days"
    assert r.flags["units"].tolist() == [1]
    # gaps: 2 days, 29 days, 517 days -> bins [1,7), [14,30), 365+
    ttr = r.time_to_repeat.set_index("interval")["repeats"]
    assert ttr["[1, 7)"] == 1 and ttr["[14, 30)"] == 1 and ttr["365+"] == 1 and ttr.sum() == 3
    assert r.table["victim_id"].iloc[0] == "a"   # busiest first


def test_marker_rule_flags_vulnerable_units_at_two():
    df = _ev(["a", "a", "b", "b"], ["2024-01-01", "2024-03-01", "2024-01-01", "2024-03-01"],
             vulnerable=["Y", "N", "N", "N"])
    r = ww.people.repeats(df, id="victim_id", markers=["vulnerable"], n_boot=10, quiet=True)
    t = r.table.set_index("victim_id")
    assert t.loc["a", "flagged"] and not t.loc["b", "flagged"]
    assert "marked 'vulnerable'" in t.loc["a", "flag_reasons"]
    custom = ww.people.repeats(df, id="victim_id", rules=[{"min_events": 2, "within_days": 30}], n_boot=10, quiet=True)
    assert not custom.table["flagged"].any()   # 60 days apart
    custom = ww.people.repeats(df, id="victim_id", rules=[FlagRule(2, 61)], n_boot=10, quiet=True)
    assert custom.table["flagged"].all()


def test_month_level_locations_are_detected_and_counted_in_months(capsys):
    df = pd.DataFrame({"location": ["On or near A", "On or near A", "On or near A", "On or near B"],
                       "month": ["2024-01", "2024-01", "2024-03", "2024-02"]})
    r = ww.people.repeats(df, where="location", date="month", n_boot=10)
    assert "month-level" in capsys.readouterr().err
    assert r.resolution == "month" and r.unit == "location"
    ttr = r.time_to_repeat.set_index("interval")["repeats"]
    assert ttr["0"] == 1 and ttr["2"] == 1
    assert r.settings["resolution"].value == "month"


def test_key_pseudonymises_unit_ids_only_in_the_table():
    df = _ev(["a", "a", "b"], ["2024-01-01", "2024-01-03", "2024-02-01"])
    key = "a test key that is long enough"
    r = ww.people.repeats(df, id="victim_id", key=key, n_boot=10, quiet=True)
    assert set(r.table["victim_id"]) == set(ww.privacy.pseudonymise(["a", "b"], key))
    assert key not in repr(r.settings) and key not in r.summary()


def test_summary_and_plot():
    df = _ev(["a", "a", "b"], ["2024-01-01", "2024-01-03", "2024-02-01"])
    r = ww.people.repeats(df, id="victim_id", n_boot=10, quiet=True)
    assert "had two or more" in r.summary()
    assert r.plot() is not None

# ------------------------------------------------------------------------------------------------ CI coverage


def test_interval_coverage_on_negative_binomial_victimisation():
    """Counts per person ~ Poisson(Gamma) (negative binomial); among victims (count >= 1) the population repeat rate
    is P(X>=2)/P(X>=1) and the repeat share (E[X] - P(X=1)) / E[X]. Wilson and ratio-estimator intervals should cover
    them about 95% of the time."""
    shape, mean, n_people, reps = 0.25, 0.3, 20_000, 400
    p = shape / (shape + mean)
    nb = stats.nbinom(shape, p)
    p0, p1 = nb.pmf(0), nb.pmf(1)
    true_rate = (1 - p0 - p1) / (1 - p0)
    true_share = (mean - p1) / mean
    rng = np.random.default_rng(11)
    cover_rate = cover_share = 0
    for _ in range(reps):
        x = rng.negative_binomial(shape, p, n_people)
        x = x[x > 0]
        lo, hi = wilson(int((x >= 2).sum()), x.size)
        cover_rate += lo <= true_rate <= hi
        _, slo, shi = ratio_ci(x * (x >= 2), x)
        cover_share += slo <= true_share <= shi
    assert 0.92 <= cover_rate / reps <= 0.98
    assert 0.92 <= cover_share / reps <= 0.98


def test_top_share_takes_ceiling_of_units():
    assert top_share(np.array([5, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 0.1) == pytest.approx(5 / 14)
    assert top_share(np.array([3, 2, 1]), 0.5) == pytest.approx(5 / 6)   # ceil(1.5) = 2 units

# ------------------------------------------------------------------------------------------------ synthetic force


def test_recovers_the_synthetic_forces_repeat_victimisation_exactly_with_true_ids(force, crimes_truth):
    real = force.truth["realised"]
    v = crimes_truth[crimes_truth["true_victim_id"] >= 0]
    r = ww.people.repeats(v, id="true_victim_id", n_boot=100, quiet=True)
    assert r.n_units == real["victims"]
    assert r.repeat_rate == pytest.approx(real["share_of_victims_repeat"], abs=5e-5)
    assert r.repeat_share == pytest.approx(real["share_of_victim_crimes_against_repeat_victims"], abs=5e-5)


def test_rms_victim_ids_recover_the_truth_within_the_ci(force, crimes_truth):
    """The RMS gives ~3% of people a second id, which splits some repeat victims; the estimate from the RMS ids
    must still cover the true repeat rate and share in its 95% CI."""
    real = force.truth["realised"]
    v = crimes_truth[crimes_truth["victim_id"].notna()]
    r = ww.people.repeats(v, id="victim_id", n_boot=200, quiet=True)
    lo, hi = r.repeat_rate_ci
    assert lo <= real["share_of_victims_repeat"] <= hi
    lo, hi = r.repeat_share_ci
    assert lo <= real["share_of_victim_crimes_against_repeat_victims"] <= hi
    assert r.repeat_rate < real["share_of_victims_repeat"]   # duplicate ids hide repeats, never add them


def test_burglary_repeat_risk_is_highest_soon_after(crimes_truth):
    """Burglary is self-exciting in the synthetic force (same home, mean delay 10 days): repeats per day are
    highest in the first week and fall after it."""
    b = crimes_truth[(crimes_truth["crime_type"] == "Burglary") & (crimes_truth["true_victim_id"] >= 0)]
    r = ww.people.repeats(b, id="true_victim_id", n_boot=10, quiet=True)
    rate = r.time_to_repeat.set_index("interval")["rate_per_day"]
    assert rate["[1, 7)"] > 3 * rate["[90, 180)"]
    assert rate.iloc[:3].max() == rate.max()


def test_police_uk_locations_month_level(force):
    crimes = force.tables["crimes"]
    r = ww.people.repeats(crimes.assign(month=crimes["month"]), where="segment_id", date="month", n_boot=50, quiet=True)
    assert r.resolution == "month"
    # place concentration: the top 5% of places with crime hold far more than 5% of it
    assert r.top_shares.set_index("top").loc[0.05, "share_of_events"] > 0.2


def test_one_unit_gives_the_share_with_no_interval():
    # Review regression: with one unit the share is defined but its CI is not; max(0, nan) used to turn the
    # missing CI into (0, 1).
    r = ww.people.repeats(pd.DataFrame({"v": ["a", "a"], "occurred": ["2024-01-01", "2024-01-05"]}), id="v",
                          n_boot=10, quiet=True)
    assert r.repeat_share == 1.0
    assert np.isnan(r.repeat_share_ci[0]) and np.isnan(r.repeat_share_ci[1])
    assert ratio_ci(np.array([2.0]), np.array([2.0]))[0] == 1.0


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: window_days=365, conf_level=0.95 and n_boot=1000 passed explicitly were recorded as defaults (compared with
    # the default), and an explicit seed=0 did not count at all
    df = _ev(list("aaabbcdddd"), pd.date_range("2024-01-01", periods=10, freq="30D"))
    given = ww.people.repeats(df, id="victim_id", window_days=365, conf_level=0.95, n_boot=1000, seed=0, quiet=True)
    omitted = ww.people.repeats(df, id="victim_id", quiet=True)
    for name, value in (("window_days", 365), ("conf_level", 0.95), ("bootstrap", "1000 replicates, seed 0")):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    pd.testing.assert_frame_equal(given.top_shares, omitted.top_shares)
    pd.testing.assert_frame_equal(given.flags, omitted.flags)
    assert omitted.window_days == 365.0
    assert ww.people.repeats(df, id="victim_id", n_boot=50, quiet=True).settings["bootstrap"].source == "user"


def test_first_and_last_are_the_input_timestamps_exactly():
    # found through `whatworks repeats`: first/last came back as 15:39:59.999999967 for 15:40 (float days round trip)
    from whatworks.people.offenders import offenders
    from whatworks.people.repeats import repeats

    times = pd.to_datetime(["2022-05-01 15:40", "2022-05-03 09:07:13", "2023-11-30 23:59:59.123456", "2022-01-02 00:01"],
                           format="ISO8601")
    df = pd.DataFrame({"victim_id": ["a", "a", "a", "b"], "occurred": times, "crime_type": "Burglary"})
    t = repeats(df, id="victim_id", quiet=True).table.set_index("victim_id")
    assert t.loc["a", "first"] == times[0] and t.loc["a", "last"] == times[2]
    assert t.loc["b", "first"] == times[3] == t.loc["b", "last"]
    o = offenders(df.rename(columns={"victim_id": "offender_id"}), quiet=True).table.set_index("offender_id")
    assert o.loc["a", "first_offence"] == times[0] and o.loc["a", "last_offence"] == times[2]
