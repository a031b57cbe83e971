"""Issue 11: a month that was not loaded is missing (NA), never 0 — indicators with a coverage table, and what spc,
runchart and compare do with missing months.

CHECK INPUTS: coverage without a crime-count kind, records in months the coverage does not list, missing values in spc.
CHECK OUTPUTS: NA for uncovered months, 0 for covered months with nothing, months_covered / complete, rates left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatworks.errors import WhatworksError
from whatworks.performance import compare, indicators, runchart, spc

JULYS = ["2016-07", "2017-07", "2018-07"]


def scattered():
    """A force with only July 2016, 2017 and 2018 loaded: 3, 5 and 4 burglaries, 2 robberies in July 2017 only."""
    rows = [("2016-07", "Burglary")] * 3 + [("2017-07", "Burglary")] * 5 + [("2017-07", "Robbery")] * 2 \
        + [("2018-07", "Burglary")] * 4
    d = pd.DataFrame(rows, columns=["month", "crime_type"])
    d["force"] = "Bigshire Police"
    d["last_outcome_category"] = None
    cov = pd.DataFrame({"source_system": "police.uk", "force": "Bigshire Police",
                        "month": pd.to_datetime([m + "-01" for m in JULYS]), "kind": "street",
                        "batch_id": [1, 2, 3], "rows": [3, 7, 4]})
    return d, cov


def test_uncovered_months_are_missing_not_zero():
    d, cov = scattered()
    t = indicators(d, by="force", period="month", coverage=cov, quiet=True).table
    assert len(t) == 25                                   # 2016-07 .. 2018-07
    assert int(t["count"].isna().sum()) == 22
    got = t.dropna(subset=["count"]).set_index("period")["count"].to_dict()
    assert got == {"2016-07": 3, "2017-07": 7, "2018-07": 4}
    assert t.loc[t["period"] == "2017-01", "months_covered"].item() == 0
    assert not t.loc[t["period"] == "2017-01", "complete"].item()
    assert str(t["count"].dtype) == "Int64"
    r = indicators(d[d["month"] != "2018-07"], by="force", period="month", quiet=True,
                   coverage=cov[cov["month"] != "2018-07-01"].assign(month=lambda c: c["month"]))
    assert "Latest period 2017-07: 7 recorded" in r.summary()


def test_financial_year_with_one_covered_month_is_months_covered_1_incomplete():
    d, cov = scattered()
    t = indicators(d, by="force", period="financial_year", coverage=cov, quiet=True).table.set_index("period")
    assert t.loc["2017/18", "months_covered"] == 1 and not t.loc["2017/18", "complete"]
    assert t.loc["2017/18", "count"] == 7 and t.loc["2016/17", "count"] == 3 and t.loc["2018/19", "count"] == 4
    assert t["months_in_period"].tolist() == [12, 12, 12]


def test_covered_month_with_no_crime_of_a_type_is_zero():
    d, cov = scattered()
    t = indicators(d, by=["force", "crime_type"], period="month", coverage=cov, quiet=True).table
    rob = t[t["crime_type"] == "Robbery"].set_index("period")["count"]
    assert rob["2016-07"] == 0 and rob["2017-07"] == 2 and rob["2018-07"] == 0
    assert pd.isna(rob["2017-01"])


def test_rate_left_out_for_an_incomplete_period(capsys):
    d, cov = scattered()
    pop = pd.DataFrame({"force": ["Bigshire Police"], "population": [10_000]})
    r = indicators(d, by="force", period="financial_year", coverage=cov, population=pop)
    assert r.table["rate_per_1000"].isna().all()          # no year is wholly loaded: no year rate from one month
    assert r.settings["partial_rates"].value == 3
    assert "rate_per_1000 left out for 3 period(s)" in capsys.readouterr().err
    m = indicators(d, by="force", period="month", coverage=cov, population=pop, quiet=True).table.set_index("period")
    assert m.loc["2017-07", "rate_per_1000"] == pytest.approx(0.7)   # a whole month: 7 per 10,000 residents
    assert pd.isna(m.loc["2017-06", "rate_per_1000"])


def test_rolling_totals_with_a_missing_month_are_missing():
    months = pd.period_range("2023-01", "2024-12", freq="M").astype(str)
    d = pd.DataFrame({"month": np.repeat(months, 2), "crime_type": "Burglary", "force": "F"})
    covered = [m for m in months if m != "2024-03"]
    d = d[d["month"].isin(covered)]
    cov = pd.DataFrame({"force": "F", "month": covered, "kind": "street"})
    t = indicators(d, by="force", period="rolling_12", coverage=cov, quiet=True).table.set_index("period")
    assert t.loc["12 months to 2024-02", "count"] == 24 and t.loc["12 months to 2024-02", "complete"]
    assert pd.isna(t.loc["12 months to 2024-03", "count"]) and t.loc["12 months to 2024-03", "months_covered"] == 11
    assert pd.isna(t.loc["12 months to 2024-12", "count"])        # every window holding 2024-03


def test_a_total_over_two_forces_needs_both_forces_covered():
    d = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-02"], "force": ["A", "B", "A"], "crime_type": "Drugs"})
    cov = pd.DataFrame({"force": ["A", "B", "A"], "month": ["2024-01", "2024-01", "2024-02"], "kind": "street"})
    whole = indicators(d, period="month", coverage=cov, quiet=True).table.set_index("period")
    assert whole.loc["2024-01", "count"] == 2 and pd.isna(whole.loc["2024-02", "count"])   # B not loaded in Feb
    per_force = indicators(d, by="force", period="month", coverage=cov, quiet=True).table
    assert per_force.set_index(["force", "period"]).loc[("A", "2024-02"), "count"] == 1
    assert pd.isna(per_force.set_index(["force", "period"]).loc[("B", "2024-02"), "count"])


def test_other_file_kinds_do_not_cover_crime_counts():
    d, cov = scattered()
    cov = pd.concat([cov, cov.assign(month=pd.Timestamp("2017-01-01"), kind="stop_search")], ignore_index=True)
    t = indicators(d, by="force", period="month", coverage=cov, quiet=True).table.set_index("period")
    assert pd.isna(t.loc["2017-01", "count"])
    with pytest.raises(WhatworksError, match="no file kind that covers crime counts"):
        indicators(d, by="force", coverage=cov.assign(kind="outcomes"), quiet=True)


def test_records_in_a_month_the_coverage_does_not_list_are_refused():
    d, cov = scattered()
    with pytest.raises(WhatworksError, match=r"7 record\(s\) fall in months the coverage does not list.*2017-07"):
        indicators(d, by="force", coverage=cov[cov["month"] != "2017-07-01"], quiet=True)


def test_without_coverage_zero_filling_is_announced(capsys):
    d, _ = scattered()
    r = indicators(d, by="force", period="month")
    assert "coverage not given: months with no rows are counted as 0" in capsys.readouterr().err
    assert r.settings["coverage"].value == "not given"
    assert int((r.table["count"] == 0).sum()) == 22 and r.table["count"].dtype == np.int64   # today's behaviour
    indicators(d, by="force", quiet=True)
    assert capsys.readouterr().err == ""


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=6, max_size=18), st.integers(0, 2**16))
def test_na_exactly_on_uncovered_months_and_no_record_lost(mask, seed):
    rng = np.random.default_rng(seed)
    months = pd.period_range("2022-01", periods=len(mask), freq="M")
    covered = [m for m, keep in zip(months, mask) if keep]
    if not covered:
        covered = [months[0]]
    n = rng.integers(0, 4, len(covered))
    d = pd.DataFrame({"month": np.repeat([str(m) for m in covered], n), "crime_type": "Robbery", "force": "F"})
    if d.empty:
        d = pd.DataFrame({"month": [str(covered[0])], "crime_type": ["Robbery"], "force": ["F"]})
        n[0] = 1
    cov = pd.DataFrame({"force": "F", "month": [str(m) for m in covered]})
    t = indicators(d, by="force", coverage=cov, quiet=True).table
    assert int(t["count"].sum()) == len(d)
    assert set(t.loc[t["count"].notna(), "period"]) == {str(m) for m in covered}
    assert int(t["count"].isna().sum()) == len(t) - len(covered)


# ------------------------------------------------------------------------------------ spc, runchart, compare


def test_spc_refuses_missing_months_and_names_them():
    d, cov = scattered()
    t = indicators(d, by="force", coverage=cov, quiet=True).table
    with pytest.raises(WhatworksError, match=r"22 missing value\(s\).*2016-08, 2016-09, 2016-10.*not loaded"):
        spc(t, "count", "period_start", quiet=True)
    with pytest.raises(WhatworksError, match="missing value"):
        runchart(t, "count", "period_start")
    # the covered run alone can be charted (here: too short, a separate rule in the pack)
    full = pd.DataFrame({"m": pd.date_range("2023-01-01", periods=14, freq="MS"), "y": [5.0, pd.NA] + [5.0] * 12})
    with pytest.raises(WhatworksError, match=r"1 missing value\(s\) in 'y' \(2023-02\)"):
        spc(full, "y", "m", quiet=True)
    r = spc(full.iloc[2:], "y", "m", quiet=True)
    assert len(r.table) == 12


def test_compare_refuses_missing_counts_and_unequal_coverage():
    with pytest.raises(WhatworksError, match="missing .*not loaded"):
        compare(pd.NA, 10)
    with pytest.raises(WhatworksError, match="unequal coverage: 1 month\\(s\\) against 12"):
        compare(700, 9000, covered_a=1, covered_b=12)
    with pytest.raises(WhatworksError, match="different months of the year"):
        compare(700, 650, covered_a=["2018-07"], covered_b=["2017-06"])
    r = compare(700, 650, covered_a=["2018-07"], covered_b=["2017-07"])   # like with like
    assert r.estimate == pytest.approx(700 / 650)
    assert r.settings["covered"].value == "1 month(s) each, the same months of the year"
