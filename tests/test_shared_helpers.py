"""Issue 17, "no duplicates": the formulas and rules more than one room used to spell its own way, defined once
(whatworks._stats, _periods, _dates, _words), and the rooms' functions agree with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import whatworks as ww
from whatworks._dates import read_dates
from whatworks._periods import FY_START_MONTH, financial_year_label, financial_year_start
from whatworks._stats import exact_rate_ratio_ci
from whatworks._words import FALSE_WORDS, TRUE_WORDS, truthy
from whatworks.errors import WhatworksError
from whatworks.performance._series import coerce_dates
from whatworks.performance.compare import rate_ratio_ci as compare_rr_ci
from whatworks.performance.indicators import period_labels
from whatworks.people._common import parse_dates
from whatworks.people.stopsearch import rate_ratio_ci as stops_rr_ci
from whatworks.place._lattice import to_days
from whatworks.store.engine import period_key


# ---------------------------------------------------------------------------------------------- rate-ratio CI
def test_exact_rate_ratio_ci_is_the_clopper_pearson_interval_mapped_to_the_ratio():
    a, b, ea, eb = 12.0, 30.0, 2.0, 3.0
    p_lo, p_hi = stats.binomtest(12, 42).proportion_ci(0.9, method="exact")   # an independent route to the same CI
    lo, hi = exact_rate_ratio_ci(a, b, ea, eb, conf_level=0.9)
    assert float(lo) == pytest.approx(p_lo / (1 - p_lo) * eb / ea, rel=1e-9)
    assert float(hi) == pytest.approx(p_hi / (1 - p_hi) * eb / ea, rel=1e-9)
    lo0, hi0 = exact_rate_ratio_ci(0.0, 5.0, 1.0, 1.0)                   # no events in a: the interval starts at 0
    assert float(lo0) == 0.0 and np.isfinite(hi0)
    assert np.isinf(exact_rate_ratio_ci(5.0, 0.0, 1.0, 1.0)[1])          # none in b: no upper limit
    one_lo, one_hi = exact_rate_ratio_ci(a, b, ea, eb, alternative="less")
    # one-sided at 95% puts the whole 5% in one tail: the upper limit of the two-sided 90% interval
    two_sided_90 = exact_rate_ratio_ci(a, b, ea, eb, conf_level=0.9)
    assert float(one_lo) == 0.0 and float(one_hi) == pytest.approx(float(two_sided_90[1]))


def test_compare_and_stop_search_give_the_same_exact_interval():
    counts = [(12, 1000.0, 30, 3000.0), (3, 50.0, 40, 900.0), (0, 100.0, 7, 100.0)]
    for a, pop_a, b, pop_b in counts:
        rr, lo, hi = stops_rr_ci(a, pop_a, b, pop_b, method="exact", conf_level=0.9)
        clo, chi = compare_rr_ci(np.array([a], float), np.array([b], float), np.array([pop_a]), np.array([pop_b]),
                                 conf_level=0.9)
        assert (lo, hi) == (float(clo[0]), float(chi[0]))
        r = ww.performance.compare(a, b, pop_a, pop_b, conf_level=0.9, quiet=True)
        assert r.ci == (lo, hi) and r.estimate == pytest.approx(rr)


# ---------------------------------------------------------------------------------------------- financial year
def test_financial_year_runs_april_to_march_in_every_spelling():
    assert FY_START_MONTH == 4
    assert (financial_year_start(2024, 3), financial_year_start(2024, 4), financial_year_start(2024, 12)) == \
        (2023, 2024, 2024)
    assert financial_year_label(2009) == "2009/10" and financial_year_label(1999) == "1999/00"
    months = ["2024-01", "2024-03", "2024-04", "2025-03", "1999-12", "2000-02"]
    expected = ["2023/24", "2023/24", "2024/25", "2024/25", "1999/00", "1999/00"]
    # the store's pandas spelling and the indicators' NumPy spelling give the same labels
    assert period_key(pd.Series(months), "financial_year").tolist() == expected
    assert period_labels(pd.PeriodIndex(months, freq="M"), "financial_year")[0].tolist() == expected


def test_the_store_engine_counts_financial_years_with_the_same_rule():
    ibis = pytest.importorskip("ibis")
    from whatworks.store.engine import counts

    t = ibis.memtable(pd.DataFrame({"month": pd.to_datetime(["2024-03-01", "2024-04-01", "2025-03-01",
                                                             "2009-05-01"])}))
    out = counts(t, ["financial_year"])
    assert dict(zip(out["financial_year"], out["count"])) == {"2009/10": 1, "2023/24": 1, "2024/25": 2}


# ---------------------------------------------------------------------------------------------- dates
def _frame(values) -> pd.DataFrame:
    return pd.DataFrame({"when": values})


def test_read_dates_parses_mixed_text_and_converts_time_zones_to_utc():
    d = read_dates("f", _frame(["2024-06", "2024-06-02 14:30", "2024-06-03T00:30+01:00"]), "when")
    assert d.dtype == "datetime64[ns]"
    assert d.tolist() == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-02 14:30"),
                          pd.Timestamp("2024-06-02 23:30")]
    aware = pd.Series(pd.to_datetime(["2024-03-31 23:30", "2024-07-01 00:30"])).dt.tz_localize("Europe/London")
    assert read_dates("f", _frame(aware), "when").tolist() == [pd.Timestamp("2024-03-31 22:30"),
                                                               pd.Timestamp("2024-06-30 23:30")]
    periods = read_dates("f", _frame(pd.period_range("2024-01", periods=2, freq="M")), "when")
    assert periods.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]


def test_read_dates_reads_slash_dates_day_first_as_uk_dates_are_written():
    # pandas' default reads 05/03/2024 as 3 May but 13/03/2024 as 13 March, in one column: a silent mix-up
    from whatworks._dates import read_dates

    d = pd.DataFrame({"when": ["05/03/2024", "13/03/2024", "2024-03-05", "01/12/2023 09:15"]})
    got = read_dates("f", d, "when").dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert got == ["2024-03-05 00:00", "2024-03-13 00:00", "2024-03-05 00:00", "2023-12-01 09:15"]


def test_read_dates_refuses_missing_unreadable_and_numbers():
    with pytest.raises(WhatworksError, match=r"f\(\): Column 'when' must hold dates; a value is missing.*position 1"):
        read_dates("f", _frame(["2024-01-01", None]), "when")
    with pytest.raises(WhatworksError, match=r"must hold dates\. Got 'soon' instead.*position 0"):
        read_dates("f", _frame(["soon", "2024-01-01"]), "when")
    with pytest.raises(WhatworksError, match="Numbers are not read as dates"):
        read_dates("f", _frame([1, 2]), "when")
    assert read_dates("f", _frame([1, 2]), "when", numbers=True).tolist() == [1.0, 2.0]
    with pytest.raises(WhatworksError, match="a value is missing"):
        read_dates("f", _frame([1.0, np.nan]), "when", numbers=True)


def test_every_room_reads_dates_by_the_one_rule():
    aware = _frame(pd.Series(pd.to_datetime(["2024-04-01 00:30", "2024-04-02 12:00"])).dt.tz_localize("Europe/London"))
    utc = read_dates("f", aware, "when")
    assert parse_dates("f", aware, "when").tolist() == utc.tolist()                       # people
    assert coerce_dates("f", aware, "when").tolist() == utc.to_numpy().tolist()            # performance charts
    days, kind = to_days("f", aware, "when")                                                # place
    assert kind == "datetime"
    assert days.tolist() == ((utc - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400).tolist()
    # indicators: 00:30 on 1 April in London is 23:30 UTC on 31 March, so March (and financial year 2023/24)
    crimes = pd.DataFrame({"month": aware["when"], "crime_type": ["Burglary"] * 2, "last_outcome_category": [None] * 2})
    t = ww.performance.indicators(crimes, period="financial_year", quiet=True).table
    assert dict(zip(t["period"], t["count"])) == {"2023/24": 1, "2024/25": 1}
    for fn in (parse_dates, coerce_dates, to_days):
        with pytest.raises(WhatworksError, match="Column 'when' must hold"):
            fn("f", _frame(["2024-01-01", "never"]), "when")


# ---------------------------------------------------------------------------------------------- yes/no words
def test_truthy_reads_the_one_list_of_yes_words():
    assert set(TRUE_WORDS).isdisjoint(FALSE_WORDS)
    assert truthy(pd.Series(list(TRUE_WORDS) + [w.upper() + " " for w in TRUE_WORDS])).all()
    assert not truthy(pd.Series(list(FALSE_WORDS) + [None, "maybe", ""])).any()
    assert truthy(pd.Series([True, False])).tolist() == [True, False]
    assert truthy(pd.Series([1, 0])).tolist() == [True, False]
    assert truthy(pd.Series([1.0, 0.0, np.nan])).tolist() == [True, False, False]
    assert truthy(pd.Series([True, None], dtype="boolean")).tolist() == [True, False]
