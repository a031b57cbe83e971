"""Tests for whatworks.performance.indicators and whatworks.performance.harm: hand-built counts, financial-year and
quarter labels, rolling totals, solved categories, rates, harm weights, input checks, and agreement with a
row-by-row reference on simulated records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance.harm import harm
from whatworks.performance.indicators import (CHARGED_OUTCOMES, OUT_OF_COURT_OUTCOMES, SOLVED_OUTCOMES, indicators,
                                              period_labels)

REFERENCE_OUTCOMES = [  # every last-outcome category listed in REFERENCE.md
    "Investigation complete; no suspect identified", "Unable to prosecute suspect", "Status update unavailable",
    "Under investigation", "Local resolution", "Court result unavailable", "Offender sent to prison",
    "Offender given a caution", "Offender given community sentence", "Defendant found not guilty",
    "Further investigation is not in the public interest", "Action to be taken by another organisation",
    "Awaiting court outcome", "Court case unable to proceed", "Offender given suspended prison sentence",
    "Offender fined", "Offender given conditional discharge", "Formal action is not in the public interest",
    "Offender otherwise dealt with", "Suspect charged as part of another case", "Offender ordered to pay compensation",
    "Offender deprived of property", "Offender given absolute discharge", "Defendant sent to Crown Court",
    "Offender given penalty notice", "Offender given a drugs possession warning",
]
NOT_SOLVED = {"Investigation complete; no suspect identified", "Unable to prosecute suspect",
              "Status update unavailable", "Under investigation", "Further investigation is not in the public interest",
              "Action to be taken by another organisation", "Formal action is not in the public interest"}


def simulated(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    months = pd.period_range("2022-11", "2024-08", freq="M").astype(str)
    return pd.DataFrame({
        "month": rng.choice(months, n),
        "crime_type": rng.choice(["Burglary", "Robbery", "Drugs", "Anti-social behaviour"], n),
        "last_outcome_category": rng.choice(REFERENCE_OUTCOMES + [None], n),
        "lsoa_code": rng.choice(["E01", "E02", "E03", "E04"], n),
        "force": "Testshire",
    })


def test_solved_lists_cover_every_known_category_once():
    assert CHARGED_OUTCOMES.isdisjoint(OUT_OF_COURT_OUTCOMES)
    assert set(REFERENCE_OUTCOMES) == SOLVED_OUTCOMES | NOT_SOLVED
    assert SOLVED_OUTCOMES.isdisjoint(NOT_SOLVED)


def test_period_labels():
    m = pd.PeriodIndex(["2024-01", "2024-03", "2024-04", "2024-12", "2025-03"], freq="M")
    assert period_labels(m, "financial_year")[0].tolist() == ["2023/24", "2023/24", "2024/25", "2024/25", "2024/25"]
    assert period_labels(m, "quarter")[0].tolist() == ["2024-Q1", "2024-Q1", "2024-Q2", "2024-Q4", "2025-Q1"]
    assert period_labels(pd.PeriodIndex(["1999-05"], freq="M"), "financial_year")[0].tolist() == ["1999/00"]


def test_hand_built_counts_solved_and_zero_months():
    d = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-03", "2024-03"],
                      "crime_type": ["Burglary", "Anti-social behaviour", "Burglary", "Robbery"],
                      "last_outcome_category": ["Offender given a caution", None, "Under investigation",
                                                "Awaiting court outcome"]})
    t = indicators(d).table
    assert t["period"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert t["count"].tolist() == [2, 0, 2]                       # February exists, with zero
    assert t["crimes_for_solved_rate"].tolist() == [1, 0, 2]      # ASB left out of solved rates
    assert t["solved"].tolist() == [1, 0, 1]
    assert t["charged"].tolist() == [0, 0, 1]
    assert t["solved_rate"].iloc[0] == 1.0 and np.isnan(t["solved_rate"].iloc[1])


def test_kind_column_marks_asb():
    d = pd.DataFrame({"month": ["2024-01"] * 2, "crime_type": ["Public order"] * 2, "kind": ["asb", "crime"],
                      "last_outcome_category": [None, "Offender fined"]})
    assert indicators(d).table["crimes_for_solved_rate"].tolist() == [1]


def test_custom_solved_outcomes():
    d = pd.DataFrame({"month": ["2024-01"] * 2, "crime_type": ["Burglary"] * 2,
                      "last_outcome_category": ["Offender fined", "Defendant found not guilty"]})
    t = indicators(d, solved_outcomes=["Offender fined"]).table
    assert t["solved"].tolist() == [1]


def test_financial_year_completeness():
    t = indicators(simulated(), period="financial_year").table
    assert t["period"].tolist() == ["2022/23", "2023/24", "2024/25"]
    assert t["months_covered"].tolist() == [5, 12, 5]
    assert t["complete"].tolist() == [False, True, False]


def test_rolling_12_equals_sum_of_months():
    d = simulated()
    monthly = indicators(d, by="lsoa_code").table
    rolling = indicators(d, by="lsoa_code", period="rolling_12").table
    assert rolling["period"].iloc[0] == "12 months to 2023-10"
    for _, r in rolling.sample(10, random_state=1).iterrows():
        end = pd.Period(r["period"][-7:], freq="M")
        months = [str(end - i) for i in range(12)]
        m = monthly[(monthly.lsoa_code == r["lsoa_code"]) & monthly.period.isin(months)]
        assert len(m) == 12 and m["count"].sum() == r["count"] and m["solved"].sum() == r["solved"]


def test_agrees_with_row_by_row_reference():
    d = simulated(seed=3)
    pop = pd.DataFrame({"lsoa_code": ["E01", "E02", "E03", "E04"], "population": [1500, 1700, 1600, 2100]})
    w = pd.DataFrame({"crime_type": ["Burglary", "Robbery", "Drugs", "Anti-social behaviour"],
                      "weight": [10.0, 30.0, 2.0, 0.5]})
    t = indicators(d, by=["lsoa_code", "crime_type"], period="quarter", population=pop, harm_weights=w).table
    ref = {}
    for _, row in d.iterrows():
        p = pd.Period(row["month"], freq="M")
        key = (row["lsoa_code"], row["crime_type"], f"{p.year}-Q{p.quarter}")
        c = ref.setdefault(key, [0, 0, 0])
        c[0] += 1
        c[1] += row["crime_type"] != "Anti-social behaviour" and row["last_outcome_category"] in SOLVED_OUTCOMES
        c[2] += dict(zip(w.crime_type, w.weight))[row["crime_type"]]
    got = t.set_index(["lsoa_code", "crime_type", "period"])
    for key, (n, solved, h) in ref.items():
        assert got.loc[key, "count"] == n and got.loc[key, "solved"] == solved
        assert got.loc[key, "harm"] == pytest.approx(h)
        assert got.loc[key, "rate_per_1000"] == pytest.approx(n / dict(zip(pop.lsoa_code, pop.population))[key[0]] * 1000)
    assert got["count"].sum() == len(d)
    assert len(t) == 4 * 4 * 8                                      # every group × quarter, zeros included


def test_summary_and_plot():
    r = indicators(simulated(), by="lsoa_code", period="financial_year")
    s = r.summary()
    assert "financial year" in s and "incomplete" in s and "solved so far" in s
    assert r.plot().axes


@pytest.mark.parametrize("kw,msg", [
    (dict(period="week"), "'period' parameter"),
    (dict(by="nope"), "not found"),
    (dict(by="lsoa_code", population=pd.DataFrame({"area": ["E01"], "population": [10]})), "share exactly one column"),
    (dict(by="lsoa_code", population=pd.DataFrame({"lsoa_code": ["E01"], "population": [10]})), "No population"),
    (dict(harm_weights=pd.DataFrame({"crime_type": ["Burglary"], "weight": [1.0]})), "No harm weight"),
])
def test_bad_input(kw, msg):
    with pytest.raises(WhatworksError, match=msg):
        indicators(simulated(200), **kw)


def test_bad_dates():
    d = simulated(20)
    d.loc[3, "month"] = "sometime"
    with pytest.raises(WhatworksError, match="First offending row: position 3"):
        indicators(d)


def test_rolling_needs_12_months():
    d = simulated(50)
    d["month"] = "2024-01"
    with pytest.raises(WhatworksError, match="at least 12 months"):
        indicators(d, period="rolling_12")


# harm
def test_harm_hand_built_and_exclude_policy():
    crimes = pd.DataFrame({"crime_type": ["Burglary", "Burglary", "Robbery", "Drugs"], "lsoa_code": ["A", "B", "A", "B"]})
    w = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "weight": [2.0, 5.0]})
    with pytest.raises(WhatworksError, match=r"No harm weight for crime type\(s\) \['Drugs'\]"):
        harm(crimes, w, by="lsoa_code")
    r = harm(crimes, w, by="lsoa_code", on_missing="exclude")
    assert r.table["harm"].tolist() == [7.0, 2.0]
    assert r.table["unweighted"].tolist() == [0, 1]
    assert "1 crimes had no weight" in r.summary()
    assert r.plot().axes
    total = harm(crimes[crimes.crime_type != "Drugs"], w)
    assert total.table["harm"].tolist() == [9.0] and total.table["harm_per_crime"].iloc[0] == 3.0


def test_harm_weights_checked():
    crimes = pd.DataFrame({"crime_type": ["Burglary"]})
    with pytest.raises(WhatworksError, match="must not be negative"):
        harm(crimes, pd.DataFrame({"crime_type": ["Burglary"], "weight": [-1.0]}))
    with pytest.raises(WhatworksError, match="twice"):
        harm(crimes, pd.DataFrame({"crime_type": ["Burglary", "Burglary"], "weight": [1.0, 2.0]}))
    with pytest.raises(WhatworksError, match="not found"):
        harm(crimes, pd.DataFrame({"type": ["Burglary"], "weight": [1.0]}))


def test_indicators_takes_the_stores_reads_not_the_store(tmp_path):
    """Analyses take DataFrames only (issue 17): a store is refused with the read to use instead, and the
    store's reads (crimes of one source, its coverage) give the counts of the fixture."""
    from pathlib import Path

    import whatworks as ww

    fix = Path(__file__).parents[1] / "store" / "fixtures" / "policeuk"
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(fix)
        with pytest.raises(WhatworksError, match="takes a DataFrame") as exc:
            indicators(s, by="force", period="financial_year")
        assert "store.crimes(source=" in str(exc.value)
        with pytest.raises(WhatworksError, match="'source' parameter is gone"):
            indicators(s.crimes(), source="police.uk")
        t = indicators(s.crimes(source="police.uk"), by="force", period="financial_year", coverage=s.coverage()).table
        # 4 crimes: the crimes view holds crimes only (the fixture's ASB row is in the asb view, issue 11)
        assert t["count"].sum() == 4
        with pytest.raises(WhatworksError, match="borough"):
            indicators(s.crimes(), by="borough")


# settings
def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: period, solved_outcomes and harm's on_missing were always recorded as "user", even when left out
    d = simulated(600)
    given = indicators(d, period="month", solved_outcomes=SOLVED_OUTCOMES)
    omitted = indicators(d)
    for name, value in (("period", "month"), ("solved_outcomes", sorted(SOLVED_OUTCOMES))):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.period == "month"
    crimes = pd.DataFrame({"crime_type": ["Burglary", "Robbery"]})
    w = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "weight": [2.0, 5.0]})
    h_given, h_omitted = harm(crimes, w, on_missing="error"), harm(crimes, w)
    assert (h_given.settings["on_missing"].value, h_given.settings["on_missing"].source) == ("error", "user")
    assert (h_omitted.settings["on_missing"].value, h_omitted.settings["on_missing"].source) == ("error", "default")
    pd.testing.assert_frame_equal(h_given.table, h_omitted.table)
