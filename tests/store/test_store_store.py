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
        assert set(rel.loc[rel["type"] == "view", "name"]) == {"crimes", "outcomes", "stops"}
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
