"""Store: opening, schema versions, sql, status, quarantine export (mirrors store/__init__.py and _schema_ops.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import StoreError, WhatworksError
from whatworks.store import schema

FIX = Path(__file__).parent / "fixtures" / "policeuk"


def test_default_path_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WHATWORKS_STORE", str(tmp_path / "env.duckdb"))
    with ww.Store() as s:
        assert s.path == str(tmp_path / "env.duckdb")
    assert (tmp_path / "env.duckdb").exists()


def test_new_store_has_every_canonical_table_and_view():
    with ww.Store(":memory:") as s:
        rel = s.relations()
        names = set(rel["name"])
        for t in ("events", "persons", "event_persons", "person_links", "areas", "quarantine", "batches", "stop_searches"):
            assert t in names
        for t in ("batch_coverage", "superseded", "events_superseded", "batch_notes"):
            assert t in names
        assert set(rel.loc[rel["type"] == "view", "name"]) == {"crimes", "asb", "outcomes", "stops", "coverage"}
        assert s.sql("SELECT value FROM meta WHERE key = 'schema_version'")["value"].iloc[0] == str(schema.SCHEMA_VERSION)


def test_store_from_newer_whatworks_is_refused(tmp_path):
    db = tmp_path / "new.duckdb"
    with ww.Store(db) as s:
        s.con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(schema.SCHEMA_VERSION + 1)])
    with pytest.raises(StoreError, match="newer whatworks.*upgrade whatworks"):
        ww.Store(db)


def test_older_store_is_migrated(tmp_path, monkeypatch):
    db = tmp_path / "old.duckdb"
    with ww.Store(db):
        pass
    # pretend this release adds version SCHEMA_VERSION + 1 with one migration step
    new = schema.SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "SCHEMA_VERSION", new)
    monkeypatch.setitem(schema.MIGRATIONS, new, [("add a column", "ALTER TABLE areas ADD COLUMN note VARCHAR")])
    from whatworks.store import _schema_ops

    monkeypatch.setattr(_schema_ops, "SCHEMA_VERSION", new)
    with ww.Store(db) as s:
        assert s.opened_version == new - 1
        assert "note" in s.sql("SELECT * FROM areas").columns
        assert s.sql("SELECT value FROM meta WHERE key='schema_version'")["value"].iloc[0] == str(new)


def test_a_database_that_is_not_a_store_is_refused(tmp_path):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE payroll (x INT)")
    con.close()
    with pytest.raises(StoreError, match="not a whatworks store"):
        ww.Store(db)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        ww.Store(tmp_path / "no" / "such" / "store.duckdb")


def test_sql_errors_name_the_query():
    with ww.Store(":memory:") as s:
        with pytest.raises(StoreError, match="no_such_table"):
            s.sql("SELECT * FROM no_such_table")
        with pytest.raises(WhatworksError, match="no table or view named 'nope'"):
            s.table("nope")


def test_read_only_store_refuses_ingest(tmp_path):
    db = tmp_path / "ro.duckdb"
    with ww.Store(db):
        pass
    with ww.Store(db, read_only=True) as s:
        with pytest.raises(StoreError, match="read-only"):
            s.ingest_policeuk(FIX)


def test_status_and_quarantine_export(tmp_path):
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(FIX)
        st = s.status()
        assert st["events"] == 9 and st["files_loaded"] == 4 and st["rows_read"] == 21
        assert str(st["first_month"])[:7] == "2024-01"
        assert st["quarantine"]["rows"].sum() == 12
        out = tmp_path / "q.csv"
        assert s.export_quarantine(out) == 12
        q = pd.read_csv(out)
        assert len(q) == 12 and {"source_file", "source_row", "reason", "raw"} <= set(q.columns)
        assert s.export_quarantine(tmp_path / "d.parquet", category="duplicate") == 3
        with pytest.raises(WhatworksError, match="unsupported file type"):
            s.export_quarantine(tmp_path / "q.xlsx")


def test_unload_removes_one_file_and_it_loads_again(tmp_path):
    jan = FIX / "2024-01" / "2024-01-west-yorkshire-street.csv"
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(FIX)
        before = s.relations().set_index("name")["rows"]
        batch = int(s.batches().query("source_file.str.endswith('2024-01-west-yorkshire-street.csv')")["batch_id"].iloc[0])
        removed = s.unload(batch)
        assert removed["events"] == 4 and removed["quarantine"] == 6 and removed["batches"] == 1
        assert removed["event_keys"] == 3  # the three crimes with a Crime ID (the ASB row has none)
        rep = s.ingest_policeuk(jan)
        assert rep.files_loaded == 1 and rep.rows_loaded == 4
        after = s.relations().set_index("name")["rows"]
        assert (after.drop(["crimes", "outcomes"]) == before.drop(["crimes", "outcomes"])).all()
        with pytest.raises(WhatworksError, match="no batch 999"):
            s.unload(999)



RECORDS = Path(__file__).parent / "fixtures" / "records" / "northshire"


def test_unload_removes_the_links_of_persons_only_that_batch_loaded(tmp_path):
    folder = tmp_path / "northshire"
    shutil.copytree(RECORDS, folder)
    with ww.Store(":memory:") as s:
        s.ingest_records(folder, folder / "mapping.toml")
        first = s.persons(["northshire-rms"])
        assert {"P1", "P2"} <= set(first["person_id"])
        # a second persons file: P1 again (a duplicate of persons.csv's P1, so not loaded) and a new P99
        (folder / "persons_extra.csv").write_text("PersonID,Forename,Surname,DOB,Sex\n"
                                                   "P1,James,Smith,01/02/1990,M\nP99,Ann,Other,03/04/1970,F\n")
        assert s.ingest_records(folder / "persons_extra.csv", folder / "mapping.toml").duplicates_skipped == 1
        people = s.persons()
        links = pd.DataFrame({"source": people["source_system"], "record_id": people["person_id"],
                              "cluster_id": "c-" + people["person_id"]})
        assert s.save_links(links) == len(people)
        extra = int(s.batches().query("source_file.str.endswith('persons_extra.csv')")["batch_id"].iloc[0])
        removed = s.unload(extra)
        assert removed["person_links"] == 1 and removed["persons"] == 1
        kept = s.sql("SELECT source_system, person_id FROM person_links")
        assert "P99" not in set(kept["person_id"]) and "P1" in set(kept["person_id"])
        # the main persons file: its people go, and their links with them
        main = int(s.batches().query("source_file.str.endswith('persons.csv')")["batch_id"].iloc[0])
        rms_ids = set(s.sql("SELECT person_id FROM persons WHERE batch_id = ?", [main])["person_id"])
        removed = s.unload(main)
        assert removed["person_links"] == len(rms_ids)
        left = s.sql("SELECT source_system, person_id FROM person_links")
        assert not (set(left["person_id"]) & rms_ids)
        # the probation caseload's links (another source system, another batch) are untouched
        assert set(left["source_system"]) == {"northshire-probation"}
        assert len(left) == len(s.persons(["northshire-probation"]))


def test_unload_keeps_the_links_of_a_person_another_batch_also_loaded():
    """Only (source_system, person_id) pairs that no other batch holds lose their links: the same id loaded by
    another batch of the same system keeps them, and the same id in another system is a different record."""
    with ww.Store(":memory:") as s:
        s.con.execute("INSERT INTO batches VALUES (1, 'a.csv', 'x1', 'records:persons', 3, 3, 0, 0, now(), 't'),"
                      "(2, 'b.csv', 'x2', 'records:persons', 1, 1, 0, 0, now(), 't')")
        s.con.execute("INSERT INTO persons (source_system, person_id, source_file, source_row, batch_id) VALUES "
                      "('rms', 'P1', 'a.csv', 2, 1), ('rms', 'P2', 'a.csv', 3, 1), ('custody', 'P2', 'a.csv', 4, 1),"
                      "('rms', 'P1', 'b.csv', 2, 2), ('custody', 'P3', 'b.csv', 3, 2)")
        s.save_links(pd.DataFrame({"source": ["rms", "rms", "custody", "custody"], "record_id": ["P1", "P2", "P2", "P3"],
                                   "cluster_id": ["k", "k", "k", "m"]}))
        assert s.unload(1)["person_links"] == 2          # rms P2 and custody P2; rms P1 is also in batch 2
        left = s.sql("SELECT source_system, person_id FROM person_links ORDER BY ALL")
        assert left.values.tolist() == [["custody", "P3"], ["rms", "P1"]]


AREAS_2021 = "code,name,level,parent_code,population\nL1,Leeds,lad,,\nE1,Leeds 001A,lsoa,L1,1500\nE2,Leeds 001B,lsoa,L1,1700\n"
AREAS_2024 = "code,name,level,parent_code,population\nE1,Leeds 001A,lsoa,L1,1550\nE3,Leeds 001C,lsoa,L1,900\n"


def test_unload_of_an_area_file_that_replaced_areas_is_refused_until_the_earlier_one_goes(tmp_path):
    old, new = tmp_path / "areas_2021.csv", tmp_path / "areas_2024.csv"
    old.write_text(AREAS_2021)
    new.write_text(AREAS_2024)
    with ww.Store(":memory:") as s:
        b_old = s.ingest_areas(old).files[0].batch_id
        b_new = s.ingest_areas(new).files[0].batch_id
        before = s.sql("SELECT * FROM areas ORDER BY code")
        with pytest.raises(WhatworksError, match=rf"Batch {b_new} \(.*areas_2024.csv\) replaced 1 area\(s\) loaded by batch "
                                                  rf"{b_old} \(.*areas_2021.csv\).*store.unload\({b_old}\)"):
            s.unload(b_new)
        pd.testing.assert_frame_equal(s.sql("SELECT * FROM areas ORDER BY code"), before)   # nothing removed
        assert len(s.batches()) == 2
        # the way back to the 2021 lookup: unload it, then the newer one, then load the 2021 file again
        assert s.unload(b_old)["areas"] == 2        # L1 and E2 (its E1 was replaced)
        assert s.unload(b_new)["areas"] == 2
        assert s.sql("SELECT count(*) AS n FROM areas")["n"].iloc[0] == 0
        assert s.sql("SELECT count(*) AS n FROM meta WHERE key LIKE 'areas_replaced%'")["n"].iloc[0] == 0
        rep = s.ingest_areas(old)
        assert rep.files[0].status == "loaded"
        back = s.sql("SELECT code, population FROM areas ORDER BY code").set_index("code")["population"]
        assert back.dropna().to_dict() == {"E1": 1500, "E2": 1700}


def test_unload_of_an_area_file_that_replaced_nothing_is_allowed(tmp_path):
    old = tmp_path / "areas_2021.csv"
    old.write_text(AREAS_2021)
    other = tmp_path / "other.csv"
    other.write_text("code,name,level,parent_code,population\nE9,Elsewhere 001A,lsoa,,10\n")
    with ww.Store(":memory:") as s:
        s.ingest_areas(old)
        b = s.ingest_areas(other).files[0].batch_id
        assert s.unload(b)["areas"] == 1
        assert s.sql("SELECT count(*) AS n FROM areas")["n"].iloc[0] == 3


# ---------------------------------------------------------------- regressions found in review
def test_store_path_and_export_path_with_a_quote(tmp_path):
    # paths reach DuckDB SQL as literals (read_csv, COPY ... TO): a quote in a folder or file name must not break them
    folder = tmp_path / "O'Brien's data"
    shutil.copytree(FIX, folder)
    with ww.Store(tmp_path / "o'brien.duckdb") as s:
        rep = s.ingest_policeuk(folder)
        assert rep.files_loaded == 4 and rep.rows_loaded == 9
        assert s.export_quarantine(folder / "q'out.csv") == 12
        assert len(pd.read_csv(folder / "q'out.csv")) == 12


def test_a_misspelt_quarantine_category_is_refused_not_read_as_empty(tmp_path):
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(FIX)
        assert len(s.quarantine(category="duplicate")) == 3
        with pytest.raises(WhatworksError, match="'category' parameter must be one of.*Got 'duplicates'"):
            s.quarantine(category="duplicates")
        with pytest.raises(WhatworksError, match="'category' parameter must be one of"):
            s.export_quarantine(tmp_path / "q.csv", category="invalid'")
        assert not (tmp_path / "q.csv").exists()


def test_memory_limit_is_passed_as_a_literal():
    with ww.Store(":memory:", memory_limit="512MB") as s:
        assert s.sql("SELECT current_setting('memory_limit') AS m")["m"].iloc[0] == "488.2 MiB"  # 512e6 bytes
    with pytest.raises(StoreError, match="set memory limit"):
        ww.Store(":memory:", memory_limit="1GB'; DROP TABLE x; --")


def test_a_file_that_is_not_duckdb_gets_the_right_hint(tmp_path):
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database")
    with pytest.raises(StoreError, match="is it a DuckDB file") as info:
        ww.Store(bad)
    assert "another whatworks process" not in str(info.value)
