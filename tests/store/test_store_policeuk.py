"""police.uk ingest: the nasty-case fixtures, row accounting, duplicates, outcomes, atomicity (tests mirror store/policeuk.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import IngestError

FIX = Path(__file__).parent / "fixtures" / "policeuk"
JAN = FIX / "2024-01" / "2024-01-west-yorkshire-street.csv"
FEB = FIX / "2024-02" / "2024-02-west-yorkshire-street.csv"
OUT = FIX / "2024-02" / "2024-02-west-yorkshire-outcomes.csv"
STOPS = FIX / "2024-02" / "2024-02-west-yorkshire-stop-and-search.csv"


@pytest.fixture
def store():
    s = ww.Store(":memory:")
    yield s
    s.close()


def _quarantine(store, name):
    q = store.quarantine()
    q = q[q["source_file"].str.endswith(name)]
    return {int(r.source_row): (r.category, r.reason) for r in q.itertuples()}


# ---------------------------------------------------------------- CHECK OUTPUTS: one file, every row accounted for
def test_january_rows_each_land_where_expected(store):
    rep = store.ingest_policeuk(JAN)
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined, rep.duplicates_skipped) == (10, 4, 5, 1)
    q = _quarantine(store, JAN.name)
    assert q == {
        5: ("invalid", "unparseable Month (expected YYYY-MM)"),
        6: ("invalid", "coordinates at (0, 0)"),
        7: ("invalid", "coordinates outside Great Britain and Northern Ireland"),
        8: ("invalid", "unknown Crime type"),
        9: ("duplicate", "Crime ID repeated within the file"),
        10: ("invalid", "wrong number of fields: expected 12, found 6"),
    }
    ev = store.sql("SELECT source_row, kind, reference, crime_type, location, lsoa_code, x, y FROM events ORDER BY source_row")
    assert ev["source_row"].tolist() == [2, 3, 4, 11]
    assert ev["kind"].tolist() == ["crime", "asb", "crime", "crime"]
    # blank Crime ID for ASB is NULL, quoted comma kept, no-location crime loaded with empty location
    assert ev["reference"].isna().tolist() == [False, True, False, False]
    assert ev.loc[1, "location"] == "On or near Boar Lane, Leeds"
    assert ev.loc[2, ["x", "y"]].isna().all() and pd.isna(ev.loc[2, "lsoa_code"])
    # British National Grid for Park Row, Leeds: about (429,900, 433,600)
    assert ev.loc[0, "x"] == pytest.approx(429_900, abs=300) and ev.loc[0, "y"] == pytest.approx(433_600, abs=300)


def test_quarantined_rows_keep_their_raw_values(store):
    store.ingest_policeuk(JAN)
    q = store.quarantine()
    bad_month = q[q["source_row"] == 5].iloc[0]
    raw = json.loads(bad_month["raw"])
    assert raw["Month"] == "2024-13" and raw["Crime type"] == "Robbery" and raw["Crime ID"] == "c" * 64
    short = q[q["source_row"] == 10].iloc[0]
    assert short["raw"] == "0" * 64 + ",2024-01,West Yorkshire Police,West Yorkshire Police,-1.5,53.8"


def test_bad_encoding_truncated_line_and_cross_month_duplicate(store):
    store.ingest_policeuk(JAN)
    rep = store.ingest_policeuk(FEB)
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined, rep.duplicates_skipped) == (4, 1, 2, 1)
    q = _quarantine(store, FEB.name)
    assert q[3] == ("duplicate", "Crime ID already in the store")
    assert q[4] == ("invalid", "invalid text encoding (not UTF-8)")
    assert q[5] == ("invalid", "wrong number of fields: expected 12, found 5")
    dup_raw = json.loads(store.quarantine(category="duplicate").iloc[-1]["raw"])
    assert dup_raw["first_copy"].endswith("2024-01-west-yorkshire-street.csv row 2")


def test_outcomes_attach_latest_wins_history_kept(store):
    store.ingest_policeuk(FIX)  # the whole folder: street files load before outcomes
    a = store.sql("SELECT * FROM crimes WHERE crime_id = ?", ["a" * 64])
    assert len(a) == 1
    assert a.loc[0, "last_outcome_category"] == "Suspect charged"
    assert a.loc[0, "published_outcome_category"] == "Under investigation"
    hist = store.sql("SELECT month, outcome_type FROM outcomes WHERE crime_id = ? ORDER BY month", ["a" * 64])
    assert hist["outcome_type"].tolist() == ["Investigation complete; no suspect identified", "Suspect charged"]
    q = _quarantine(store, OUT.name)
    assert q == {4: ("invalid", "missing Crime ID (an outcome must name its crime)"),
                 5: ("duplicate", "(Crime ID, Month, Outcome type) repeated within the file")}


def test_stop_and_search_times_force_and_booleans(store):
    store.ingest_policeuk(FIX)
    st = store.sql("SELECT * FROM stops ORDER BY source_row")
    assert len(st) == 2
    # force comes from the same force's street file; times are UK local clock time (BST in June)
    assert set(st["force"]) == {"West Yorkshire Police"}
    assert str(st.loc[0, "occurred"]) == "2024-02-03 14:05:00"
    assert str(st.loc[1, "occurred"]) == "2024-06-10 23:30:00"
    assert st.loc[1, "part_of_operation"] is True or st.loc[1, "part_of_operation"] == True  # noqa: E712
    assert st.loc[1, "operation_name"] == "Operation Nightfall"
    assert st.loc[1, ["x", "y"]].isna().all()
    reason = _quarantine(store, STOPS.name)[4][1]
    assert "unparseable Date" in reason and "unparseable True/False in 'Outcome linked to object of search'" in reason


def test_accounting_identity_holds_per_file_and_in_batches(store):
    rep = store.ingest_policeuk(FIX)
    assert rep.files_loaded == 4
    for f in rep.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.duplicates_skipped
    b = store.batches()
    assert (b["rows_read"] == b["rows_loaded"] + b["rows_quarantined"] + b["duplicates_skipped"]).all()
    n_events = store.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
    assert n_events == rep.rows_loaded == b["rows_loaded"].sum()
    n_q = store.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0]
    assert n_q == rep.rows_quarantined + rep.duplicates_skipped


# ---------------------------------------------------------------- archive zip and repeated ingest
def test_zip_archive_equals_folder_and_reingest_is_noop(tmp_path, store):
    z = tmp_path / "archive.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(FIX.rglob("*.csv")):
            zf.write(p, p.relative_to(FIX).as_posix())
    rep = store.ingest_policeuk(z)
    assert rep.files_loaded == 4 and rep.rows_loaded == 9
    assert all("archive.zip!" in f.source for f in rep.files)
    before = store.sql("SELECT count(*) AS n FROM events")["n"].iloc[0], store.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0]
    again = store.ingest_policeuk(FIX)  # same bytes from the folder: every file is recognised by checksum
    assert again.files_already_loaded == 4 and again.rows_read == 0
    assert "nothing done" in again.files[0].message
    after = store.sql("SELECT count(*) AS n FROM events")["n"].iloc[0], store.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0]
    assert before == after



def _zip_of_fixtures(z: Path, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(z, "w", compression=compression) as zf:
        for p in sorted(FIX.rglob("*.csv")):
            zf.write(p, p.relative_to(FIX).as_posix())
    return z


def _store_content(s):
    ev = s.sql("SELECT * EXCLUDE (event_id, batch_id) FROM events ORDER BY kind, month, source_row, reference")
    q = s.sql("SELECT * EXCLUDE (batch_id, source_file) FROM quarantine ORDER BY source_row, reason")
    # a first copy in another file is named by its path, which differs only up to the month folder
    q["raw"] = q["raw"].str.replace(r"first copy: \S*[/!](\d{4}-\d{2}/)", r"first copy: \1", regex=True)
    files = s.sql("SELECT regexp_extract(source_file, '[^/!]+$') AS file, format, rows_read, rows_loaded, "
                  "rows_quarantined, duplicates_skipped, checksum FROM batches ORDER BY file")
    return ev, q, files


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_zip_inside_a_zip_loads_the_same_rows_as_the_folder(tmp_path, compression):
    """An analyst re-zips the police.uk download with a note: the inner archive is opened, not listed as unread."""
    inner = _zip_of_fixtures(tmp_path / "policeuk-2024.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w", compression=compression) as zf:
        zf.write(inner, "download/policeuk-2024.zip")
        zf.writestr("download/notes.docx", b"x")
        zf.writestr("__MACOSX/download/._policeuk-2024.zip", b"\x00\x05\x16\x07 resource fork, not a zip")
        zf.writestr("__MACOSX/download/._notes.csv", b"\x00\x05\x16\x07 resource fork, not a csv")
    with ww.Store(":memory:") as s:
        rep = s.ingest_policeuk(outer)
        assert rep.files_loaded == 4 and rep.rows_loaded == 9
        assert [f.source for f in rep.files if f.source.endswith("2024-01-west-yorkshire-street.csv")] == [
            f"{outer}!download/policeuk-2024.zip!2024-01/2024-01-west-yorkshire-street.csv"]
        # hidden members are not read, but listed (a data-named one too), so nothing is passed over in silence
        assert set(rep.ignored) == {f"{outer}!download/notes.docx", f"{outer}!__MACOSX/download/._policeuk-2024.zip",
                                    f"{outer}!__MACOSX/download/._notes.csv"}
        nested = _store_content(s)
        assert s.sql("SELECT count(*) AS n FROM batches WHERE source_file LIKE '%outer.zip!download/policeuk-2024.zip!%'"
                     )["n"].iloc[0] == 4
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(FIX)
        folder = _store_content(s)
    for a, b in zip(nested, folder):
        pd.testing.assert_frame_equal(a, b)


def test_nested_zip_sources_have_sizes_and_local_copies(tmp_path):
    from whatworks.store._sources import find_sources, ignored_files

    inner = _zip_of_fixtures(tmp_path / "in.zip")
    middle = tmp_path / "middle.zip"
    with zipfile.ZipFile(middle, "w") as zf:
        zf.write(inner, "in.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(middle, "middle.zip")
        zf.writestr("readme.pdf", b"%PDF")
    sources = find_sources(outer)
    assert [x.name for x in sources] == [f"{outer}!middle.zip!in.zip!{p.relative_to(FIX).as_posix()}"
                                         for p in sorted(FIX.rglob("*.csv"))]
    for src, p in zip(sources, sorted(FIX.rglob("*.csv"))):
        assert src.size == p.stat().st_size and src.basename == p.name
        with src.local() as local:
            assert local.read_bytes() == p.read_bytes()
        assert not local.exists()          # the extracted copy is removed after use
    assert ignored_files(outer) == [f"{outer}!readme.pdf"]
    # the extracted inner zips live as long as the sources that need them
    tmp_zip = sources[0].nested.path()
    assert tmp_zip.exists()
    del sources, src
    import gc

    gc.collect()
    assert not tmp_zip.exists()


def test_zips_nested_deeper_than_the_limit_are_listed_not_read(tmp_path, monkeypatch):
    from whatworks.store import _sources

    monkeypatch.setattr(_sources, "MAX_ZIP_DEPTH", 1)
    inner = _zip_of_fixtures(tmp_path / "in.zip")
    middle = tmp_path / "middle.zip"
    with zipfile.ZipFile(middle, "w") as zf:
        zf.write(inner, "in.zip")
        zf.write(JAN, "jan.csv")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(middle, "middle.zip")
    assert [x.name for x in _sources.find_sources(outer)] == [f"{outer}!middle.zip!jan.csv"]
    assert _sources.ignored_files(outer) == [f"{outer}!middle.zip!in.zip"]


def test_a_broken_zip_inside_a_zip_is_refused_naming_it(tmp_path, store):
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("inner.zip", b"this is not a zip")
    with pytest.raises(IngestError, match=r"outer.zip!inner.zip' is not a readable zip archive"):
        store.ingest_policeuk(outer)
    assert store.sql("SELECT count(*) AS n FROM batches")["n"].iloc[0] == 0


# ---------------------------------------------------------------- CHECK INPUTS: refused files
def test_unknown_header_is_refused_whole_naming_expected_columns(tmp_path, store):
    bad = tmp_path / "lookup.csv"
    bad.write_text("LSOA11CD,LSOA11NM\nE01011365,Leeds 111B\n")
    with pytest.raises(IngestError, match=r"not a police.uk file.*Crime ID, Month, Reported by"):
        store.ingest_policeuk(bad)
    assert store.sql("SELECT count(*) AS n FROM batches")["n"].iloc[0] == 0


def test_unknown_file_skipped_on_request(tmp_path, store):
    shutil.copy(JAN, tmp_path / JAN.name)
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    rep = store.ingest_policeuk(tmp_path, on_unknown="skip")
    assert rep.files_refused == 1 and rep.files_loaded == 1


def test_missing_path_and_empty_folder(tmp_path, store):
    with pytest.raises(IngestError, match="does not exist"):
        store.ingest_policeuk(tmp_path / "nope")
    with pytest.raises(IngestError, match="no data files"):
        store.ingest_policeuk(tmp_path)


def test_header_only_file_loads_zero_rows(tmp_path, store):
    p = tmp_path / "2024-03-west-yorkshire-street.csv"
    p.write_text(JAN.read_bytes()[3:].decode().split("\r\n")[0] + "\n")
    rep = store.ingest_policeuk(p)
    assert rep.files_loaded == 1 and rep.rows_read == 0


# ---------------------------------------------------------------- fast and exact readers agree
@pytest.mark.parametrize("path", [JAN, FEB, OUT, STOPS])
def test_fast_and_exact_paths_agree(path):
    from whatworks.store import policeuk

    results = []
    for exact in (False, True):
        s = ww.Store(":memory:")
        if path in (OUT, STOPS):
            s.ingest_policeuk(JAN)
        policeuk.ingest(s.con, path, version="test", force_exact=exact)
        results.append((s.sql("SELECT * EXCLUDE (batch_id, event_id) FROM events ORDER BY source_row"),
                        s.sql("SELECT source_row, category, reason FROM quarantine ORDER BY batch_id, source_row")))
        s.close()
    (e1, q1), (e2, q2) = results
    assert e1.equals(e2)
    assert q1.equals(q2)


# ---------------------------------------------------------------- safety: kill -9 leaves the store as it was
def test_kill_minus_nine_before_commit_leaves_store_unchanged(tmp_path):
    db = tmp_path / "s.duckdb"
    with ww.Store(db) as s:
        s.ingest_policeuk(JAN)
        before = s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0], s.batches().shape[0]
    code = f"import whatworks as ww; ww.Store({str(db)!r}).ingest_policeuk({str(FIX)!r})"
    env = {**os.environ, "WHATWORKS_FAULT": "before_commit"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert proc.returncode == -9  # killed by SIGKILL inside the transaction of the first new file
    with ww.Store(db) as s:
        after = s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0], s.batches().shape[0]
        assert after == before
        assert s.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0] == 6
        # and the interrupted files load normally afterwards
        rep = s.ingest_policeuk(FIX)
        assert rep.files_already_loaded == 1 and rep.files_loaded == 3


def test_failure_inside_a_file_rolls_back_that_file(tmp_path, monkeypatch, store):
    from whatworks.store import policeuk

    store.ingest_policeuk(JAN)
    before = store.sql("SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM quarantine) AS q, (SELECT count(*) FROM batches) AS b")

    def boom(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(policeuk, "_stage_coordinates", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest_policeuk(FEB)
    after = store.sql("SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM quarantine) AS q, (SELECT count(*) FROM batches) AS b")
    assert before.equals(after)


def test_the_stop_and_search_force_says_where_it_came_from(store, tmp_path):
    # review regression: the force of a stop-and-search file (which has no force column) was chosen silently
    alone = tmp_path / "2024-02-west-yorkshire-stop-and-search.csv"
    shutil.copy(STOPS, alone)
    rep = store.ingest_policeuk(alone)
    assert "force 'west-yorkshire' (the file name's slug" in rep.files[0].message
    store.ingest_policeuk(FIX)
    msg = [f.message for f in store.ingest_policeuk(STOPS, force="WYP").files]
    assert msg and "nothing done" in msg[0]  # same bytes: already loaded
    other = tmp_path / "copy"
    other.mkdir()
    (other / "2024-02-west-yorkshire-stop-and-search.csv").write_bytes(STOPS.read_bytes() + b"\n")
    rep = store.ingest_policeuk(other)
    assert "force 'West Yorkshire Police' (from the west-yorkshire street files already loaded)" in rep.files[0].message


def test_other_files_in_the_folder_are_listed_not_passed_over(tmp_path, store):
    shutil.copy(JAN, tmp_path / JAN.name)
    (tmp_path / "README.pdf").write_bytes(b"%PDF-1.4")
    z = tmp_path / "extra.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notes.docx", b"x")
    rep = store.ingest_policeuk(tmp_path)
    assert rep.files_loaded == 1 and rep.files_ignored == 2
    assert rep.ignored[0].endswith("README.pdf") and rep.ignored[1].endswith("extra.zip!notes.docx")
    assert "2 other file(s) not read" in rep.summary()
