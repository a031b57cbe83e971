"""Engine on Spark: the same Ibis expressions give the same counts on Spark as on DuckDB (mirrors store/engine.py).

One events table (the store's column types for the columns counted: DATE month, text keys with missing values,
integer and float measures) is built from pandas on both engines; every ``counts`` call must return identical
frames. A plain-pandas recount checks the shared answer itself, so both engines cannot be wrong the same way.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.store.engine import backend, counts

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(5)
    n = 3_000
    months = pd.date_range("2021-11-01", "2025-06-01", freq="MS")   # spans five financial years, all quarters
    return pd.DataFrame({
        "event_id": np.arange(n, dtype=np.int64),
        "kind": rng.choice(["crime", "asb", "stop"], n, p=[0.6, 0.3, 0.1]),
        "month": pd.Series(months[rng.integers(0, len(months), n)]).dt.date,   # Python dates -> DATE on both engines
        "crime_type": pd.Series(rng.choice(["Burglary", "Shoplifting", "Robbery", None], n), dtype=object),
        "force": rng.choice(["Synthshire", "Neighbourshire"], n),
        "lsoa_code": pd.Series(rng.choice(["E01000001", "E01000002", "E01000003", None], n), dtype=object),
        "source_row": rng.integers(1, 500, n).astype(np.int64),
        "harm": np.round(rng.gamma(2.0, 30.0, n), 2),
    })


@pytest.fixture(scope="module")
def tables(events, spark):
    con = duckdb.connect()
    con.register("events", events)
    on_duck = backend(con).table("events")
    spark.createDataFrame(events).createOrReplaceTempView("whatworks_test_events")
    on_spark = backend(engine="spark", session=spark).table("whatworks_test_events")
    assert on_spark.schema() == on_duck.schema()   # same Ibis types, so the same expressions
    yield on_duck, on_spark
    spark.catalog.dropTempView("whatworks_test_events")
    con.close()


CASES = {
    "force x financial year x type, filtered": dict(by=["force", "financial_year", "crime_type"], where={"kind": "crime"},
                                                  months=("2023-04", "2024-03")),
    "quarter and year": dict(by=["quarter", "year"]),
    "financial year x kind over a range": dict(by=["financial_year", "kind"], months=("2022-01", "2025-02")),
    "missing values as a filter": dict(by=["lsoa_code"], where={"crime_type": None}),
    "missing values as a group": dict(by=["crime_type", "lsoa_code"], where={"kind": ["crime", "asb"]}),
    "month range by day": dict(by=["month"], where={"force": "Synthshire"}, months=("2024-02-01", "2024-05-01")),
    "sum of a float": dict(by=["kind", "financial_year"], value="harm"),
    "sum of an integer, no grouping": dict(by=[], value="source_row", where={"lsoa_code": ["E01000001"]}),
    "count, no grouping": dict(by=[], months=("2022-04", "2022-04")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_counts_identical_on_spark_and_duckdb(tables, case):
    on_duck, on_spark = tables
    d = counts(on_duck, **CASES[case])
    s = counts(on_spark, **CASES[case])
    assert len(d) > 0
    pd.testing.assert_frame_equal(s, d, check_exact=False, rtol=1e-12)


def _fy(month: pd.Series) -> pd.Series:
    m = pd.to_datetime(month)
    start = m.dt.year - (m.dt.month < 4)
    return start.astype(str) + "/" + ((start + 1) % 100).astype(str).str.zfill(2)


def test_derived_keys_and_filters_match_a_pandas_recount(events, tables):
    _, on_spark = tables
    got = counts(on_spark, ["force", "financial_year", "crime_type"], {"kind": "crime"}, months=("2023-04", "2024-03"))
    e = events[(events["kind"] == "crime") & (pd.to_datetime(events["month"]).between("2023-04-01", "2024-03-01"))]
    want = (e.assign(financial_year=_fy(e["month"])).groupby(["force", "financial_year", "crime_type"], dropna=False)
            .size().rename("count").reset_index().sort_values(["force", "financial_year", "crime_type"], na_position="last")
            .reset_index(drop=True))
    want["crime_type"] = want["crime_type"].astype(object).where(want["crime_type"].notna(), None)   # SQL NULL -> None
    assert got["crime_type"].isna().any()
    assert set(got["financial_year"]) == {"2023/24"}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    q = counts(on_spark, ["quarter"]).set_index("quarter")["count"]
    m = pd.to_datetime(events["month"])
    want_q = (m.dt.year.astype(str) + "-Q" + m.dt.quarter.astype(str)).value_counts()
    assert q.to_dict() == want_q.to_dict() and len(q) == 15
    harm = counts(on_spark, ["kind"], value="harm").set_index("kind")["total"]
    assert harm.to_dict() == pytest.approx(events.groupby("kind")["harm"].sum().to_dict(), rel=1e-12)


def test_spark_engine_errors(spark, tables):
    _, on_spark = tables
    with pytest.raises(WhatworksError, match="needs a SparkSession"):
        backend(engine="spark")
    with pytest.raises(WhatworksError, match="unknown grouping column"):
        counts(on_spark, ["borough"])
