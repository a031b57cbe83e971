"""Engine: counts as Ibis expressions, derived UK periods (mirrors store/engine.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError

FIX = Path(__file__).parent / "fixtures" / "policeuk"


@pytest.fixture(scope="module")
def store():
    s = ww.Store(":memory:")
    s.ingest_policeuk(FIX)
    yield s
    s.close()


def test_counts_match_plain_sql(store):
    got = store.counts(by=["force", "month", "crime_type"])
    want = store.sql("SELECT force, month, crime_type, count(*) AS count FROM crimes GROUP BY ALL ORDER BY ALL")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_filters_and_month_range(store):
    got = store.counts(by=["crime_type"], where={"kind": "crime"}, months=("2024-02", "2024-02"))
    assert got.to_dict("records") == [{"crime_type": "Burglary", "count": 1}]
    got = store.counts(by=["kind"], where={"crime_type": ["Burglary", "Shoplifting"]})
    assert got["count"].sum() == 3


def test_financial_year_and_quarter_labels(store):
    fy = store.counts(by=["financial_year"], table="events")
    # January-March 2024 are in 2023/24; the June 2024 stop is in 2024/25
    assert fy.set_index("financial_year")["count"].to_dict() == {"2023/24": 8, "2024/25": 1}
    q = store.counts(by=["quarter"], table="events")
    assert set(q["quarter"]) == {"2024-Q1", "2024-Q2"}


def test_sum_of_a_value_column(store):
    got = store.counts(by=[], value="source_row", table="outcomes")
    assert got["total"].iloc[0] == 2 + 3


def test_unknown_columns_are_clear_errors(store):
    with pytest.raises(WhatworksError, match="unknown grouping column"):
        store.counts(by=["borough"])
    with pytest.raises(WhatworksError, match="unknown filter column"):
        store.counts(by=["kind"], where={"colour": "red"})


def test_malformed_months_are_a_clear_error(store):
    with pytest.raises(WhatworksError, match="'months' parameter must be two months"):
        store.counts(by=["kind"], months=("April", "2024-03"))


def test_months_accepts_dates_and_refuses_impossible_ones(store):
    by_month = store.counts(by=["kind"], months=("2024-01", "2024-01"))
    by_date = store.counts(by=["kind"], months=("2024-01-01", "2024-01-31"))
    pd.testing.assert_frame_equal(by_month, by_date)
    with pytest.raises(WhatworksError, match="not real months"):
        store.counts(by=["kind"], months=("2024-13", "2024-14"))
