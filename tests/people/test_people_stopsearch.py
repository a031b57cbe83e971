"""whatworks.people.stop_search: intervals against R (golden), hand-built rates, recovery of the synthetic force's
disproportionality ratios and find rates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.people._common import wilson
from whatworks.people.stopsearch import rate_ratio_ci

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "people_stopsearch_golden.json"


@pytest.fixture(scope="module")
def golden():
    # a missing golden file must fail, not skip (regenerate with Rscript tests/golden/make_people_stopsearch.R)
    return json.loads(GOLDEN.read_text())

# ------------------------------------------------------------------------------------------------ reference values


def test_rate_ratio_intervals_match_r(golden):
    for case in golden["rate_ratio"]:
        for lvl in ("95", "90"):
            g = case[f"level_{lvl}"]
            level = int(lvl) / 100
            rr, lo, hi = rate_ratio_ci(case["a"], case["pop_a"], case["b"], case["pop_b"], method="exact", conf_level=level)
            assert rr == pytest.approx(g["estimate"], rel=1e-10)
            assert lo == pytest.approx(g["exact_low"], rel=1e-7, abs=1e-12)
            assert hi == pytest.approx(g["exact_high"], rel=1e-7)
            rr, lo, hi = rate_ratio_ci(case["a"], case["pop_a"], case["b"], case["pop_b"], method="wald-log", conf_level=level)
            if g["waldlog_low"] is None:
                assert np.isnan(lo) and np.isnan(hi)
            else:
                assert lo == pytest.approx(g["waldlog_low"], rel=1e-9)
                assert hi == pytest.approx(g["waldlog_high"], rel=1e-9)


def test_wilson_matches_r_prop_test(golden):
    for case in golden["wilson"]:
        lo, hi = wilson(case["x"], case["n"])
        assert lo == pytest.approx(case["ci_low"], abs=1e-10)
        assert hi == pytest.approx(case["ci_high"], abs=1e-10)

# ------------------------------------------------------------------------------------------------ CHECK INPUTS


def _stops():
    return pd.DataFrame({
        "officer_defined_ethnicity": ["White"] * 10 + ["Black"] * 10 + [None] * 2,
        "outcome_linked_to_object": ["True"] * 3 + [None] * 7 + ["True"] * 2 + ["False"] * 8 + [None] * 2,
        "outcome": ["Arrest"] * 2 + ["A no further action disposal"] * 18 + ["Arrest"] * 2,
        "lsoa_code": ["A"] * 5 + ["B"] * 5 + ["A"] * 10 + ["B"] * 2,
        "month": ["2024-01"] * 11 + ["2024-02"] * 11,
    })


def _pop():
    return pd.DataFrame({"group": ["White", "Black"], "population": [10_000, 2_000]})


def test_input_errors():
    with pytest.raises(WhatworksError, match="reference group 'Asian'"):
        ww.people.stop_search(_stops(), _pop(), reference="Asian", quiet=True)
    with pytest.raises(WhatworksError, match=r"blank for 2 searches"):
        ww.people.stop_search(_stops(), _pop(), on_missing_group="error", quiet=True)
    with pytest.raises(WhatworksError, match=r"\['Other'\].*no population"):
        ww.people.stop_search(_stops().fillna({"officer_defined_ethnicity": "Other"}), _pop(), quiet=True)
    with pytest.raises(WhatworksError, match="must be > 0"):
        ww.people.stop_search(_stops(), _pop().assign(population=[0, 5]), quiet=True)
    with pytest.raises(WhatworksError, match="ci_method"):
        ww.people.stop_search(_stops(), _pop(), ci_method="bayes", quiet=True)
    with pytest.raises(WhatworksError, match="not found"):
        ww.people.stop_search(_stops(), _pop(), by="ward", quiet=True)

# ------------------------------------------------------------------------------------------------ CHECK OUTPUTS


def test_hand_built_rates(capsys):
    r = ww.people.stop_search(_stops(), _pop())
    assert "2 searches with no officer_defined_ethnicity" in capsys.readouterr().err
    o = r.overall.set_index("group")
    assert r.excluded == 2
    assert o.loc["White", "rate_per_1000"] == pytest.approx(1.0)
    assert o.loc["Black", "rate_per_1000"] == pytest.approx(5.0)
    assert o.loc["Black", "rate_ratio"] == pytest.approx(5.0)
    assert o.loc["White", "find_rate"] == pytest.approx(0.3)   # blank counts as not found
    assert o.loc["Black", "find_rate_difference"] == pytest.approx(-0.1)
    assert o.loc["White", "arrest_rate"] == pytest.approx(0.2) and o.loc["Black", "arrests"] == 0
    assert "5.00 times the White rate" in r.summary()
    assert r.plot() is not None


def test_by_area_uses_area_populations_and_by_month_the_whole_population(capsys):
    pop = pd.DataFrame({"lsoa_code": ["A", "A", "B", "B"], "group": ["White", "Black", "White", "Black"],
                        "population": [4_000, 1_000, 6_000, 1_000]})
    r = ww.people.stop_search(_stops(), pop, by="lsoa_code", quiet=True)
    t = r.table.set_index(["lsoa_code", "group"])
    assert t.loc[("A", "White"), "rate_per_1000"] == pytest.approx(5 / 4)
    assert t.loc[("B", "Black"), "searches"] == 0 and t.loc[("B", "Black"), "rate_per_1000"] == 0
    assert t.loc[("A", "Black"), "rate_ratio"] == pytest.approx((10 / 1000) / (5 / 4000))
    m = ww.people.stop_search(_stops(), _pop(), by="month")
    assert "use the whole population" in capsys.readouterr().err
    tm = m.table.set_index(["month", "group"])
    assert tm.loc[("2024-01", "White"), "rate_per_1000"] == pytest.approx(1.0)
    assert tm.loc[("2024-02", "Black"), "rate_per_1000"] == pytest.approx(9 / 2)

# ------------------------------------------------------------------------------------------------ synthetic force


@pytest.fixture(scope="module")
def synth_stops(force):
    st = force.tables["stops"].merge(force.truth_tables["stops"], on="reference")
    pop = pd.DataFrame([{"group": g, "population": n} for g, n in force.truth["stop_search"]["residents_by_group"].items()])
    return st, pop


def test_disproportionality_recovered_within_ci_with_true_group(force, synth_stops):
    """With the true group of each person searched, the CIs cover the injected rate ratios (3 groups against White)
    and find rates (4 groups). Seven intervals are checked at once, so each is a Bonferroni 1 - 0.05/7 interval and
    the family covers all seven truths with probability >= 95% (single 95% intervals would miss one of seven about
    30% of the time by chance alone)."""
    st, pop = synth_stops
    st = st.assign(true_group=np.where(st["officer_defined_ethnicity"].notna(), st["group"], None))
    truth = force.truth["stop_search"]
    level = 1 - 0.05 / 7
    for method in ("wald-log", "exact"):
        r = ww.people.stop_search(st, pop, group="true_group", ci_method=method, conf_level=level, quiet=True)
        o = r.overall.set_index("group")
        for g, rr in truth["rate_ratio_vs_white"].items():
            if g == "White":
                continue
            assert o.loc[g, "rr_ci_low"] <= rr <= o.loc[g, "rr_ci_high"], (method, g)
        for g, fr in truth["find_rate"].items():
            assert o.loc[g, "find_ci_low"] <= fr <= o.loc[g, "find_ci_high"], g


def test_officer_defined_ethnicity_recovers_the_misclassification_adjusted_ratio(force, synth_stops):
    """Officers misrecord a known share of searches as a uniformly random group. The expected observed share of
    group g is (1 - m) p_g + m / G, with p_g proportional to residents_g x RR_g; the CIs from officer-defined
    ethnicity must cover the ratios this implies (three at once: Bonferroni 1 - 0.05/3 intervals)."""
    st, pop = synth_stops
    truth = force.truth["stop_search"]
    groups = list(truth["rate_ratio_vs_white"])
    res = np.array([truth["residents_by_group"][g] for g in groups], float)
    p = res * np.array([truth["rate_ratio_vs_white"][g] for g in groups])
    p /= p.sum()
    m = truth["officer_defined_misclassified_share"]
    q = (1 - m) * p + m / len(groups)
    expected = {g: (q[i] / res[i]) / (q[groups.index("White")] / res[groups.index("White")]) for i, g in enumerate(groups)}
    r = ww.people.stop_search(st, pop, conf_level=1 - 0.05 / 3, quiet=True)
    o = r.overall.set_index("group")
    for g in groups:
        if g != "White":
            assert o.loc[g, "rr_ci_low"] <= expected[g] <= o.loc[g, "rr_ci_high"], g
    assert o.loc["Black", "rate_ratio"] > 3   # the headline disparity shows through the recording noise


def test_by_month_over_time(synth_stops):
    st, pop = synth_stops
    r = ww.people.stop_search(st, pop, by="month", quiet=True)
    assert r.table["month"].nunique() == 24
    assert r.table.groupby("group")["searches"].sum().to_dict() == r.overall.set_index("group")["searches"].to_dict()


def test_searches_outside_population_areas_or_none_at_all_are_errors():
    # Review regression: searches in an area missing from the population table used to drop out of .table silently.
    stops = pd.DataFrame({"officer_defined_ethnicity": ["White"] * 4 + ["Black"] * 4, "lsoa": ["A", "A", "B", "X"] * 2,
                          "outcome_linked_to_object": [True, False] * 4, "outcome": ["Arrest"] * 8})
    pop = pd.DataFrame({"lsoa": ["A", "A", "B", "B"], "group": ["White", "Black"] * 2, "population": [100, 50, 100, 50]})
    with pytest.raises(WhatworksError, match="no population") as e:
        ww.people.stop_search(stops, pop, by="lsoa", quiet=True)
    assert "'X'" in str(e.value) and "position 3" in str(e.value)
    ok = ww.people.stop_search(stops[stops["lsoa"] != "X"], pop, by="lsoa", quiet=True)
    assert ok.table["searches"].sum() == 6
    with pytest.raises(WhatworksError, match="no searches"):
        ww.people.stop_search(stops.iloc[:0], pop, quiet=True)
    with pytest.raises(WhatworksError, match="no searches"):
        ww.people.stop_search(stops.assign(officer_defined_ethnicity=np.nan), pop, quiet=True)


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: reference="White", ci_method="wald-log" and arrest_values=("Arrest",) passed explicitly were recorded as
    # defaults (compared with the default), and level was not recorded
    given = ww.people.stop_search(_stops(), _pop(), reference="White", ci_method="wald-log", conf_level=0.95,
                                  arrest_values=["Arrest"], quiet=True)
    omitted = ww.people.stop_search(_stops(), _pop(), quiet=True)
    for name, value in (("reference", "White"), ("ci_method", "wald-log"), ("conf_level", 0.95),
                        ("arrest_values", ["Arrest"])):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    pd.testing.assert_frame_equal(given.overall, omitted.overall)
    assert (omitted.reference, omitted.ci_method) == ("White", "wald-log")
    exact = ww.people.stop_search(_stops(), _pop(), ci_method="exact", quiet=True)
    assert (exact.settings["ci_method"].source, exact.settings["ci_method"].reason) == ("user", "exact conditional")
