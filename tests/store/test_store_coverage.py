"""Coverage (issue 11): the store knows which (source_system, force, month, kind) it holds; gaps are listed,
counts say how many months a period holds, and the crimes view holds crimes only (ASB in its own view)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import realshaped
import whatworks as ww
from whatworks.store import quality, schema
from whatworks.store._sql import run

FORCES = ["Northshire Police", "Southshire Police"]


def _scattered(tmp_path):
    """Three July months (2016, 2017, 2018) of two forces, Southshire missing 2017-07."""
    months = ["2016-07", "2017-07", "2018-07"]
    kw = dict(months=months, forces=FORCES, missing={"Southshire Police": ["2017-07"]})
    return realshaped.archive(tmp_path / "a", **kw), realshaped.expected(**kw)


# ---------------------------------------------------------------------------------------------- CHECK OUTPUTS
def test_coverage_lists_each_force_month_kind_and_a_missing_month_is_absent(tmp_path):
    root, truth = _scattered(tmp_path)
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(root)
        cov = s.coverage()
        assert cov.columns.tolist() == ["source_system", "force", "month", "kind", "batch_id", "rows"]
        street = s.coverage("street")
        got = {(r.force, r.month.strftime("%Y-%m")) for r in street.itertuples()}
        assert got == {("Northshire Police", "2016-07"), ("Northshire Police", "2017-07"), ("Northshire Police", "2018-07"),
                       ("Southshire Police", "2016-07"), ("Southshire Police", "2018-07")}
        # rows = the street rows written for that force-month
        want = truth.street.groupby(["force", "month"]).size()
        for r in street.itertuples():
            assert r.rows == want[(r.force, r.month.strftime("%Y-%m"))]
        assert set(cov["kind"]) == {"street", "outcomes", "stop_search"}
        # the coverage view says the same
        assert len(s.sql("SELECT * FROM coverage")) == len(cov)


def test_status_and_quality_list_the_gaps(tmp_path):
    root, _ = _scattered(tmp_path)
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(root)
        summ = s.status()["coverage_summary"]
        north = summ[(summ.force == "Northshire Police") & (summ.kind == "street")].iloc[0]
        assert (north.months, north.months_missing) == (3, 22)
        assert north.missing_months == "2016-08..2017-06, 2017-08..2018-06"
        south = summ[(summ.force == "Southshire Police") & (summ.kind == "street")].iloc[0]
        assert (south.months, south.months_missing) == (2, 23)
        assert south.missing_months == "2016-08..2018-06"
        from whatworks.quality import profile

        q = profile(s.quality_counts())
        gaps = q.table[q.table["area"] == "coverage"]
        assert len(gaps) == len(summ[summ.months_missing > 0])
        assert any("Southshire Police are missing for 23 of the 25 months from 2016-07 to 2018-07: 2016-08..2018-06" in d
                   for d in gaps["detail"])
        assert (gaps["priority"] == 1).all()


def test_month_ranges():
    assert quality.month_ranges([]) == ""
    assert quality.month_ranges(["2020-01-01", "2020-02-01", "2020-04-01"]) == "2020-01..2020-02, 2020-04"


def test_counts_respect_coverage_and_say_how_many_months_a_period_holds(tmp_path):
    root, truth = _scattered(tmp_path)
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(root)
        fy = s.counts(["force", "financial_year"])
        # financial year 2017/18 holds one month (July 2017) for Northshire, none for Southshire
        row = fy[(fy.force == "Northshire Police") & (fy.financial_year == "2017/18")].iloc[0]
        crimes = truth.street[(truth.street["Crime type"] != realshaped.ASB)]
        assert row["count"] == len(crimes[(crimes.force == "Northshire Police") & (crimes.month == "2017-07")])
        assert row["months_covered"] == 1
        assert fy[(fy.force == "Southshire Police") & (fy.financial_year == "2017/18")].empty
        assert set(fy["months_covered"]) == {1}
        # without force in by: months covered by any force
        yr = s.counts(["year"], where={"force": "Southshire Police"})
        assert yr["year"].tolist() == [2016, 2018] and yr["months_covered"].tolist() == [1, 1]
        # month-level counts hold only covered months
        m = s.counts(["force", "month"])
        assert len(m) == 5
        assert "months_covered" not in m.columns


def test_crimes_view_holds_crimes_and_asb_its_own_view(tmp_path):
    root, truth = _scattered(tmp_path)
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(root)
        n_asb = int((truth.street["Crime type"] == realshaped.ASB).sum())
        assert n_asb > 0
        assert s.sql("SELECT DISTINCT kind FROM crimes")["kind"].tolist() == ["crime"]
        assert s.sql("SELECT count(*) AS n FROM asb")["n"].iloc[0] == n_asb
        assert s.sql("SELECT count(*) AS n FROM crimes")["n"].iloc[0] == len(truth.street) - n_asb
        assert s.sql("SELECT * FROM asb LIMIT 0").columns.tolist() == s.sql("SELECT * FROM crimes LIMIT 0").columns.tolist()
        a = s.counts(["year"], table="asb")
        assert a["count"].sum() == n_asb and a["year"].tolist() == [2016, 2017, 2018]
        assert a["months_covered"].tolist() == [1, 1, 1]


def test_records_exports_record_their_coverage():
    fix = Path(__file__).parent / "fixtures" / "records" / "northshire"
    with ww.Store(":memory:") as s:
        s.ingest_records(fix, fix / "mapping.toml")
        cov = s.coverage()
        assert set(cov["kind"]) <= {"crimes", "stops", "arrests"} and "crimes" in set(cov["kind"])
        want = s.sql("""SELECT e.source_system, e.force, e.month, count(*) AS n FROM events e JOIN batches b USING (batch_id)
                        WHERE b.format = 'records:crimes' GROUP BY ALL""")
        crimes = cov[cov["kind"] == "crimes"]
        assert len(crimes) == len(want) and crimes["rows"].sum() == want["n"].sum()


# ---------------------------------------------------------------------------------------------- migration
def test_a_v1_store_is_migrated_and_its_coverage_back_filled(tmp_path):
    root, _ = _scattered(tmp_path)
    db = tmp_path / "v1.duckdb"
    with ww.Store(db) as s:
        s.ingest_policeuk(root)
        want = s.coverage()
        n_events = s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
    # turn it into a v1 store: drop what v2 added, restore the v1 crimes view (crimes and ASB)
    con = duckdb.connect(str(db))
    for view in ("coverage", "asb"):
        con.execute(f"DROP VIEW {view}")
    for table in ("batch_coverage", "superseded", "events_superseded", "batch_notes"):
        con.execute(f"DROP TABLE {table}")
    run(con, "v1 crimes view", dict(schema.DDL_V1)["create crimes view"])
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert con.execute("SELECT count(*) FROM crimes WHERE kind = 'asb'").fetchone()[0] > 0
    con.close()
    with ww.Store(db) as s:
        assert s.opened_version == 1
        got = s.coverage()
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
        assert s.sql("SELECT count(*) AS n FROM crimes WHERE kind = 'asb'")["n"].iloc[0] == 0
        assert s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0] == n_events
        assert s.sql("SELECT value FROM meta WHERE key = 'schema_version'")["value"].iloc[0] == "2"
