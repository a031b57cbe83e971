"""RMS ingest through a mapping (store/records.py): the Northshire fixture export, every quarantine rule, duplicates,
accounting, re-ingest, refusals, readers, atomicity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import whatworks as ww
from whatworks.errors import IngestError, WhatworksError
from whatworks.store import records
from whatworks.store.geo import from_bng, to_bng
from whatworks.store.mapping import Mapping

FIX = Path(__file__).parent / "fixtures" / "records" / "northshire"
MAPPING = FIX / "mapping.toml"


@pytest.fixture
def store():
    s = ww.Store(":memory:")
    yield s
    s.close()


@pytest.fixture(scope="module")
def loaded():
    """The whole fixture export loaded once; tests using it only read (re-ingesting it is a no-op)."""
    with ww.Store(":memory:") as s:
        yield s, s.ingest_records(FIX, MAPPING)


def _quarantine(store, name):
    q = store.quarantine()
    q = q[q["source_file"].str.endswith(name)]
    return {int(r.source_row): (r.category, r.reason) for r in q.itertuples()}


def _outcome(rep, name):
    (f,) = [f for f in rep.files if f.source.endswith(name)]
    return f


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _mini_mapping(tmp_path, extra: str = "", columns: str = "", table: str = "crimes", pattern: str = "*.csv",
                  top: str = "") -> Path:
    cols = columns or 'reference = "Ref"\noccurred = "When"\ncrime_type = "Type"\n'
    text = f'version = 1\nsource_system = "mini"\n{top}\n[[files]]\npattern = "{pattern}"\ntable = "{table}"\n[files.columns]\n{cols}{extra}'
    return _write(tmp_path / "mini.toml", text)


# ---------------------------------------------------------------- CHECK OUTPUTS: every file, every row
EXPECTED = {  # file: (read, loaded, quarantined, duplicates)
    "crimes_2024-01.csv": (14, 5, 8, 1),
    "crimes_2024-02.csv": (4, 2, 1, 1),
    "stops_2024-01.csv": (7, 4, 3, 0),
    "arrests_2024-01.csv": (6, 2, 2, 2),
    "persons.csv": (5, 3, 1, 1),
    "involvement.csv": (7, 4, 1, 2),
    "caseload_probation.csv": (3, 2, 1, 0),
}


def test_each_file_accounts_for_every_row(loaded):
    store, rep = loaded
    got = {Path(f.source).name: (f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_skipped) for f in rep.files}
    assert got == EXPECTED
    assert all(f.status == "loaded" for f in rep.files)
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped == 46
    # the batches table agrees with the report and with the quarantine
    b = store.batches()
    assert (b["rows_read"] == b["rows_loaded"] + b["rows_quarantined"] + b["duplicates_skipped"]).all()
    assert b["format"].tolist() == ["records:crimes", "records:crimes", "records:stops", "records:arrests",
                                    "records:persons", "records:persons", "records:roles"]
    assert int(b["rows_quarantined"].sum() + b["duplicates_skipped"].sum()) == len(store.quarantine())


def test_files_load_crimes_stops_arrests_persons_roles(loaded):
    _, rep = loaded
    assert [Path(f.source).name for f in rep.files] == [
        "crimes_2024-01.csv", "crimes_2024-02.csv", "stops_2024-01.csv", "arrests_2024-01.csv",
        "caseload_probation.csv", "persons.csv", "involvement.csv"]


def test_crime_rows_quarantined_with_every_reason(loaded):
    store, _ = loaded
    q = _quarantine(store, "crimes_2024-01.csv")
    date = "unparseable occurred (column 'Committed'): expected %d/%m/%Y %H:%M or %d/%m/%Y"
    unknown = "unknown crime_type (column 'Offence'): not a police.uk crime type after translation"
    assert q == {
        5: ("invalid", date),
        6: ("invalid", unknown),
        7: ("invalid", "missing reference (column 'CrimeRef')"),
        8: ("invalid", "coordinates at (0, 0)"),
        9: ("invalid", "coordinates outside Great Britain and Northern Ireland (x/y in British National Grid metres)"),
        11: ("duplicate", "reference repeated within the file"),
        12: ("invalid", f"missing occurred (column 'Committed'); {unknown}; only one of x/y (columns 'Easting'/'Northing') given"),
        13: ("invalid", "unparseable x/y (columns 'Easting'/'Northing')"),
        15: ("invalid", "wrong number of fields: expected 8, found 4"),
    }


def test_crimes_loaded_with_translated_codes_times_and_coordinates(loaded):
    store, _ = loaded
    ev = store.sql("""SELECT e.* FROM events e JOIN batches b USING (batch_id)
                      WHERE e.kind IN ('crime', 'asb') AND b.source_file LIKE '%2024-01.csv' ORDER BY source_row""")
    assert ev["source_row"].tolist() == [2, 3, 4, 10, 14]
    assert ev["reference"].tolist() == ["CR/24/0001", "CR/24/0002", "CR/24/0003", "CR/24/0009", "CR/24/0012"]
    assert ev["kind"].tolist() == ["crime", "crime", "asb", "crime", "crime"]
    assert ev["crime_type"].tolist() == ["Burglary", "Violence and sexual offences", "Anti-social behaviour",
                                         "Burglary", "Violence and sexual offences"]
    assert ev["outcome"].tolist()[:2] == ["Investigation complete; no suspect identified", "Awaiting court outcome"]
    # a time when the format has one, else the day
    assert ev["time_precision"].tolist() == ["minute", "day", "minute", "minute", "minute"]
    assert str(ev.loc[0, "occurred"]) == "2024-01-03 14:30:00" and str(ev.loc[1, "occurred"]) == "2024-01-05 00:00:00"
    assert (ev["month"].astype(str) == "2024-01-01").all()
    # quoted commas and doubled quotes survive; top-level force and source system applied
    assert ev.loc[0, "location"] == "12, High Street"
    assert ev.loc[4, "location"] == 'Flat 3, "The Maltings"'
    assert (ev["force"] == "Northshire Police").all() and (ev["source_system"] == "northshire-rms").all()
    # x/y given in BNG metres; lon/lat computed, and they convert back
    assert ev.loc[0, ["x", "y"]].tolist() == [430100.0, 433200.0]
    x, y = to_bng(ev["lon"].to_numpy()[[0, 1, 3, 4]], ev["lat"].to_numpy()[[0, 1, 3, 4]])
    np.testing.assert_allclose(x, [430100, 430200, 430400, 430500], atol=0.01)
    np.testing.assert_allclose(y, [433200, 433300, 433500, 433600], atol=0.01)
    assert ev.loc[0, "lon"] == pytest.approx(-1.5445, abs=1e-3) and ev.loc[0, "lat"] == pytest.approx(53.7942, abs=1e-3)
    # no location: loaded with an empty location, not quarantined
    assert ev.loc[2, ["x", "y", "lon", "lat"]].isna().all()
    # event ids as police.uk: (batch << 32) + row
    batch = int(ev.loc[0, "batch_id"])
    assert ev["event_id"].tolist() == [(batch << 32) + r for r in ev["source_row"]]


def test_bom_crlf_file_and_duplicate_across_files(loaded):
    store, _ = loaded
    raw = (FIX / "crimes_2024-02.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture really has the nasty bytes
    assert _quarantine(store, "crimes_2024-02.csv") == {
        3: ("duplicate", "reference already in the store"),
        5: ("invalid", "unparseable occurred (column 'Committed'): expected %d/%m/%Y %H:%M or %d/%m/%Y"),
    }
    dup = store.quarantine(category="duplicate")
    first = json.loads(dup[dup["source_file"].str.endswith("crimes_2024-02.csv")]["raw"].iloc[0])
    assert first["first_copy"].endswith("crimes_2024-01.csv row 2")
    assert first["row"]["CrimeRef"] == "CR/24/0001"
    feb = store.sql("SELECT crime_id AS reference, occurred FROM crimes WHERE source_file LIKE '%2024-02.csv' ORDER BY source_row")
    assert feb["reference"].tolist() == ["CR/24/0101", "CR/24/0102"]
    assert str(feb.loc[1, "occurred"]) == "2024-02-29 12:00:00"  # leap day parses; 30/02 does not


def test_quarantine_keeps_raw_untrimmed_values_by_header(loaded):
    store, _ = loaded
    q = store.quarantine()
    row = q[q["source_file"].str.endswith("crimes_2024-01.csv") & (q["source_row"] == 6)].iloc[0]
    assert json.loads(row["raw"]) == {"CrimeRef": "CR/24/0005", "Committed": "09/01/2024 10:00", "Offence": "XYZ",
                                      "Easting": "430300", "Northing": "433400", "Address": None, "LSOA": None,
                                      "Status": None}


def test_stops_booleans_codes_coordinates_and_searched_roles(loaded):
    store, _ = loaded
    assert _quarantine(store, "stops_2024-01.csv") == {
        5: ("invalid", "unparseable yes/no in outcome_linked_to_object (column 'Linked')"),
        6: ("invalid", "unparseable occurred (column 'DateTime'): expected %Y-%m-%dT%H:%M:%S"),
        7: ("invalid", "coordinates outside Great Britain and Northern Ireland (lon/lat in degrees)"),
    }
    st = store.sql("SELECT * FROM stops ORDER BY source_row")
    assert st["source_row"].tolist() == [2, 3, 4, 8]
    assert st["gender"].tolist()[:3] == ["Male", "Female", None]  # 'U' translates to blank
    assert st["outcome_linked_to_object"].tolist()[:2] == [False, True]  # 'no', 'YES'
    assert st["part_of_operation"].tolist()[:2] == [False, True]          # 'N', 'y'
    assert st["person_id"].tolist() == ["P1", "P2", None, "P6"]
    assert (st["time_precision"] == "minute").all()
    # lon/lat given; BNG computed
    x, y = to_bng(np.array([-1.5491]), np.array([53.8008]))
    assert st.loc[0, "x"] == pytest.approx(x[0], abs=0.01) and st.loc[0, "y"] == pytest.approx(y[0], abs=0.01)
    roles = store.sql("SELECT reference, person_id FROM event_persons WHERE role = 'searched' ORDER BY reference")
    # the stop with no reference has no key to link its person by, so only stop_searches.person_id holds it
    assert roles.values.tolist() == [["SS/1", "P1"], ["SS/2", "P2"]]


def test_arrests_add_the_arrestee_and_references_are_unique_per_system(loaded):
    store, _ = loaded
    assert _quarantine(store, "arrests_2024-01.csv") == {
        3: ("invalid", "missing person_id (column 'PersonID')"),
        5: ("invalid", "unknown crime_type (column 'Offence'): not a police.uk crime type after translation"),
        6: ("duplicate", "reference repeated within the file"),
        7: ("duplicate", "reference already in the store"),  # CR/24/0002 is a crime of the same system
    }
    ar = store.sql("SELECT reference, crime_type, time_precision FROM events WHERE kind = 'arrest' ORDER BY reference")
    assert ar.values.tolist() == [["AR/1", "Burglary", "day"], ["AR/3", None, "day"]]
    ep = store.sql("SELECT reference, person_id FROM event_persons WHERE role = 'arrestee' ORDER BY reference")
    assert ep.values.tolist() == [["AR/1", "P7"], ["AR/3", "P8"]]


def test_persons_and_a_second_source_system_in_latin_1(loaded):
    store, _ = loaded
    assert _quarantine(store, "persons.csv") == {
        5: ("invalid", "unparseable dob (column 'DOB'): expected %d/%m/%Y"),
        6: ("duplicate", "person_id repeated within the file"),
    }
    assert _quarantine(store, "caseload_probation.csv") == {
        4: ("invalid", "unparseable dob (column 'Date of Birth'): expected %d-%b-%Y or %d/%m/%Y"),
    }
    p = store.sql("SELECT source_system, person_id, first_name, surname, dob::VARCHAR AS dob, postcode FROM persons "
                  "ORDER BY source_system, person_id")
    assert p.values.tolist() == [
        ["northshire-probation", "X100001", "Zoë", "Brontë", "1988-03-03", "LS1 4AP"],
        ["northshire-probation", "X100002", "José", "Müller", "1979-07-12", "LS6 2QT"],
        ["northshire-rms", "P1", "James", "Smith", "1990-02-01", None],
        ["northshire-rms", "P2", "Sarah", "Jones", "1985-12-31", None],
        ["northshire-rms", "P7", "John", "O'Brien", None, None],
    ]


def test_roles_translated_and_duplicates_caught(loaded):
    store, _ = loaded
    assert _quarantine(store, "involvement.csv") == {
        5: ("duplicate", "(reference, person_id, role) repeated within the file"),
        6: ("invalid", "unknown role (column 'Involvement'): not a person role after translation"),
        7: ("duplicate", "(reference, person_id, role) already in the store"),  # the arrestee row from arrests
    }
    ep = store.sql("SELECT reference, person_id, role FROM event_persons WHERE source_file LIKE '%involvement.csv' "
                   "ORDER BY source_row")
    assert ep.values.tolist() == [["CR/24/0001", "P1", "victim"], ["CR/24/0002", "P2", "suspect"],
                                  ["CR/24/0002", "P2", "offender"], ["CR/24/0012", "P2", "victim"]]


def test_reingest_is_a_noop_that_says_so(loaded):
    store, _ = loaded
    before = store.sql("SELECT (SELECT count(*) FROM events) e, (SELECT count(*) FROM persons) p, "
                       "(SELECT count(*) FROM event_persons) r, (SELECT count(*) FROM quarantine) q, "
                       "(SELECT count(*) FROM event_keys) k")
    rep = store.ingest_records(FIX, MAPPING)
    assert rep.files_already_loaded == 7 and rep.files_loaded == 0 and rep.rows_read == 0
    assert all("nothing done" in f.message for f in rep.files)
    after = store.sql("SELECT (SELECT count(*) FROM events) e, (SELECT count(*) FROM persons) p, "
                      "(SELECT count(*) FROM event_persons) r, (SELECT count(*) FROM quarantine) q, "
                      "(SELECT count(*) FROM event_keys) k")
    assert before.equals(after)


def test_same_rows_in_a_new_file_are_all_duplicates(store, tmp_path):
    store.ingest_records(FIX / "crimes_2024-01.csv", MAPPING)
    copy = tmp_path / "crimes_copy.csv"
    copy.write_bytes((FIX / "crimes_2024-01.csv").read_bytes() + b"CR/24/0900,01/03/2024,VAP,,,,,\n")
    rep = store.ingest_records(copy, MAPPING)
    (f,) = rep.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_skipped) == (15, 1, 8, 6)
    assert f.reasons["reference already in the store"] == 6  # row 11 repeats row 2, which is in the store


def test_zip_archive_equals_folder(tmp_path):
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(FIX.glob("*.csv")):
            zf.write(p, f"export/{p.name}")
    with ww.Store(":memory:") as a, ww.Store(":memory:") as b:
        a.ingest_records(FIX, MAPPING)
        rep = b.ingest_records(z, MAPPING)
        assert rep.files_loaded == 7 and rep.files[0].source.endswith("export.zip!export/crimes_2024-01.csv")
        cols = "kind, reference, occurred, crime_type, x, y, source_row"
        q = f"SELECT {cols} FROM events ORDER BY reference, source_row"
        assert a.sql(q).equals(b.sql(q))


def test_mapping_object_accepted(store):
    rep = records.ingest(store.con, FIX / "persons.csv", Mapping.load(MAPPING), version="test")
    assert rep.rows_loaded == 3


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.glob("*.csv")))
def test_fast_and_exact_paths_agree(name):
    results = []
    for exact in (False, True):
        with ww.Store(":memory:") as s:
            records.ingest(s.con, FIX / name, MAPPING, version="test", force_exact=exact)
            results.append([s.sql(f"SELECT * EXCLUDE ({x}) FROM {t} ORDER BY ALL") for t, x in (
                ("events", "batch_id, event_id"), ("stop_searches", "event_id"), ("persons", "batch_id"),
                ("event_persons", "batch_id"))]
                           + [s.sql("SELECT source_row, category, reason, raw FROM quarantine ORDER BY source_row")])
    for a, b in zip(*results):
        assert a.equals(b)


# ---------------------------------------------------------------- single rules on tiny files
def test_utc_offsets_convert_to_uk_local_time(store, tmp_path):
    m = _mini_mapping(tmp_path, '[files.formats]\noccurred = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]\n')
    _write(tmp_path / "c.csv", "Ref,When,Type\nA,2024-07-01T23:30:00+00:00,Drugs\nB,2024-01-31T23:30:00Z,Drugs\n"
                               "C,2024-03-05,Drugs\nD,2024-06-30T23:30:00Z,Drugs\n")
    store.ingest_records(tmp_path / "c.csv", m)
    ev = store.sql("SELECT reference, occurred::VARCHAR AS t, month::VARCHAR AS m, time_precision FROM events ORDER BY reference")
    # 23:30 UTC in July is 00:30 BST the next day (and month); in January UK time is UTC
    assert ev.values.tolist() == [["A", "2024-07-02 00:30:00", "2024-07-01", "minute"],
                                  ["B", "2024-01-31 23:30:00", "2024-01-01", "minute"],
                                  ["C", "2024-03-05 00:00:00", "2024-03-01", "day"],
                                  ["D", "2024-07-01 00:30:00", "2024-07-01", "minute"]]  # a literal Z is UTC too


def test_month_only_dates_and_iso_defaults(store, tmp_path):
    m = _mini_mapping(tmp_path, '[files.formats]\noccurred = "%m/%Y"\n')
    _write(tmp_path / "c.csv", "Ref,When,Type\nA,03/2024,Drugs\nB,2024-03-01,Drugs\n")
    store.ingest_records(tmp_path / "c.csv", m)
    assert store.sql("SELECT time_precision, month::VARCHAR m FROM events").values.tolist() == [["month", "2024-03-01"]]
    with ww.Store(":memory:") as s:  # no [files.formats]: ISO 8601 with or without a time
        m2 = _mini_mapping(tmp_path / ".." / tmp_path.name)
        _write(tmp_path / "d.csv", "Ref,When,Type\nA,2024-03-01 10:11:12,Drugs\nB,2024-03-02T10:11,Drugs\nC,2024-03-03,Drugs\nD,03/03/2024,Drugs\n")
        rep = s.ingest_records(tmp_path / "d.csv", m2)
        assert rep.rows_loaded == 3 and rep.rows_quarantined == 1
        assert s.sql("SELECT time_precision FROM events ORDER BY reference")["time_precision"].tolist() == ["minute", "minute", "day"]


def test_translation_to_blank_makes_a_required_value_missing(store, tmp_path):
    m = _mini_mapping(tmp_path, '[files.codes.crime_type]\n"UNK" = ""\n"D" = "Drugs"\n')
    _write(tmp_path / "c.csv", "Ref,When,Type\nA,2024-03-01,UNK\nB,2024-03-01,D\nC,2024-03-01,d\n")
    store.ingest_records(tmp_path / "c.csv", m)
    q = _quarantine(store, "c.csv")
    # codes match exactly (after trimming): 'd' is not 'D'
    assert q == {2: ("invalid", "missing crime_type (column 'Type')"),
                 4: ("invalid", "unknown crime_type (column 'Type'): not a police.uk crime type after translation")}


def test_kind_column_and_constants(store, tmp_path):
    m = _mini_mapping(tmp_path, 'kind = "K"\n[files.codes.kind]\n"INC" = "incident"\n[files.constants]\nforce = "Other Force"\n'
                      'lsoa_code = "E01000001"\n')
    _write(tmp_path / "c.csv", "Ref,When,Type,K\nA,2024-03-01,Drugs,INC\nB,2024-03-01,Anti-social behaviour,\n"
                               "C,2024-03-01,Drugs,crime\nD,2024-03-01,Drugs,nonsense\n")
    store.ingest_records(tmp_path / "c.csv", m)
    ev = store.sql("SELECT reference, kind, force, lsoa_code FROM events ORDER BY reference")
    assert ev.values.tolist() == [["A", "incident", "Other Force", "E01000001"], ["B", "asb", "Other Force", "E01000001"],
                                  ["C", "crime", "Other Force", "E01000001"]]
    assert _quarantine(store, "c.csv") == {5: ("invalid", "unknown kind (column 'K'): not an event kind after translation")}


def test_values_are_trimmed_before_translation(store, tmp_path):
    m = _mini_mapping(tmp_path, '[files.codes.crime_type]\n"D" = "Drugs"\n')
    _write(tmp_path / "c.csv", 'Ref,When,Type\n  A  , 2024-03-01 ,  D \n')
    rep = store.ingest_records(tmp_path / "c.csv", m)
    assert rep.rows_loaded == 1
    assert store.sql("SELECT reference, crime_type FROM events").values.tolist() == [["A", "Drugs"]]


def test_headers_match_ignoring_case_and_spaces_in_any_order(store, tmp_path):
    m = _mini_mapping(tmp_path)
    _write(tmp_path / "c.csv", " TYPE ,extra,when,REF\nDrugs,x,2024-03-01,A\n")
    rep = store.ingest_records(tmp_path / "c.csv", m)
    assert rep.rows_loaded == 1
    assert store.sql("SELECT reference, crime_type FROM events").values.tolist() == [["A", "Drugs"]]


def test_cp1252_tab_delimited_file(store, tmp_path):
    m = _mini_mapping(tmp_path, top='encoding = "cp1252"\ndelimiter = "\\t"', pattern="*.tsv",
                      columns='reference = "Ref"\noccurred = "When"\ncrime_type = "Type"\nlocation = "Where"\n')
    _write(tmp_path / "c.tsv", "Ref\tWhen\tType\tWhere\nA\t2024-03-01\tDrugs\t\u2018Smart\u2019 Street \u20ac\n", "cp1252")
    rep = store.ingest_records(tmp_path / "c.tsv", m)
    assert rep.rows_loaded == 1 and "exact path" in rep.files[0].message  # DuckDB has no cp1252: Python reads it
    assert store.sql("SELECT location FROM events")["location"].iloc[0] == "\u2018Smart\u2019 Street \u20ac"


def test_bad_bytes_for_the_encoding_are_quarantined(store, tmp_path):
    m = _mini_mapping(tmp_path)
    (tmp_path / "c.csv").write_bytes(b"Ref,When,Type\nA,2024-03-01,Drugs\nB\xe9,2024-03-01,Drugs\nC,2024-03-01,Drugs\n")
    rep = store.ingest_records(tmp_path / "c.csv", m)
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined) == (3, 2, 1)
    assert _quarantine(store, "c.csv") == {3: ("invalid", "invalid text encoding (not UTF-8)")}


def test_row_numbers_right_around_rejected_lines_in_a_longer_file(store, tmp_path):
    m = _mini_mapping(tmp_path)
    lines = ["Ref,When,Type"] + [f"R{i},2024-03-01,Drugs" for i in range(300)]
    lines[100] = "R99,2024-03-01"          # too few fields (file row 101)
    lines[200] = "R199,2024-03-01,Drugs,x"  # too many (row 201)
    lines[250] = "R249,2024-13-01,Drugs"    # bad date (row 251)
    _write(tmp_path / "c.csv", "\n".join(lines) + "\n")
    rep = store.ingest_records(tmp_path / "c.csv", m)
    assert "fast path" in rep.files[0].message
    assert sorted(_quarantine(store, "c.csv")) == [101, 201, 251]
    ev = store.sql("SELECT reference, source_row FROM events")
    assert (ev["source_row"] == ev["reference"].str[1:].astype(int) + 2).all() and len(ev) == 297


def test_header_only_and_blank_lines(store, tmp_path):
    m = _mini_mapping(tmp_path)
    _write(tmp_path / "a.csv", "Ref,When,Type\n")
    _write(tmp_path / "b.csv", "Ref,When,Type\n\nA,2024-03-01,Drugs\n\nB,2024-03-01,Drugs\n")
    rep = store.ingest_records(tmp_path, m)
    assert [(f.rows_read, f.rows_loaded) for f in rep.files] == [(0, 0), (2, 2)]
    assert store.sql("SELECT source_row FROM events ORDER BY 1")["source_row"].tolist() == [3, 5]


def test_person_already_in_the_store_and_in_another_system(store, tmp_path):
    store.ingest_records(FIX / "persons.csv", MAPPING)
    _write(tmp_path / "persons_more.csv", "PersonID,Forename,Surname,DOB,Sex\nP2,Sarah,Jones,31/12/1985,F\nP9,Ann,Lee,,F\n")
    rep = store.ingest_records(tmp_path / "persons_more.csv", MAPPING)
    assert rep.files[0].reasons == {"person_id already in the store": 1} and rep.rows_loaded == 1
    # the same id in another source system is another person
    m = _mini_mapping(tmp_path, table="persons", columns='person_id = "PersonID"\n',
                      pattern="persons_more.csv")
    assert store.ingest_records(tmp_path / "persons_more.csv", m).files[0].status == "already_loaded"
    (tmp_path / "persons_more2.csv").write_bytes((tmp_path / "persons_more.csv").read_bytes())
    m2 = _mini_mapping(tmp_path, table="persons", columns='person_id = "PersonID"\n', pattern="persons_more2.csv")
    _write(tmp_path / "persons_more2.csv", (tmp_path / "persons_more.csv").read_text() + "\n")
    assert store.ingest_records(tmp_path / "persons_more2.csv", m2).rows_loaded == 2


# ---------------------------------------------------------------- CHECK INPUTS: refusals
def test_file_matching_no_pattern_is_refused_listing_patterns(store, tmp_path):
    shutil.copy(FIX / "persons.csv", tmp_path / "persons.csv")
    _write(tmp_path / "readme.txt", "hello\n")
    with pytest.raises(IngestError, match=r"readme.txt matches no \[\[files\]\] pattern .*'crimes_\*.csv', 'stops_\*.csv'"):
        store.ingest_records(tmp_path, MAPPING)
    assert store.batches().empty  # files are all matched before anything loads


def test_unknown_files_skipped_on_request(store, tmp_path):
    shutil.copy(FIX / "persons.csv", tmp_path / "persons.csv")
    _write(tmp_path / "readme.txt", "hello\n")
    rep = records.ingest(store.con, tmp_path, MAPPING, version="test", on_unknown="skip")
    assert rep.files_refused == 1 and rep.files_loaded == 1
    refused = [f for f in rep.files if f.status == "refused"][0]
    assert refused.source.endswith("readme.txt") and "matches no [[files]] pattern" in refused.message


def test_missing_mapped_columns_refuse_the_whole_file(store, tmp_path):
    _write(tmp_path / "crimes_x.csv", "CrimeRef,Committed,Offence,Address\nA,01/01/2024,VAP,x\n")
    with pytest.raises(IngestError, match=r"crimes_x.csv \(table 'crimes', pattern 'crimes_\*.csv'\): its header lacks the "
                                          r"mapped column\(s\) \['Easting', 'Northing', 'LSOA', 'Status'\]"):
        store.ingest_records(tmp_path, MAPPING)
    assert store.batches().empty
    rep = records.ingest(store.con, tmp_path, MAPPING, version="test", on_unknown="skip")
    assert rep.files_refused == 1 and "Nothing from this file was loaded" in rep.files[0].message


def test_wrong_delimiter_hint(store, tmp_path):
    m = _mini_mapping(tmp_path)
    _write(tmp_path / "c.csv", "Ref;When;Type\nA;2024-03-01;Drugs\n")
    with pytest.raises(IngestError, match=r"lacks the mapped column\(s\) \['Ref', 'When', 'Type'\].*the delimiter is comma"):
        store.ingest_records(tmp_path / "c.csv", m)


def test_repeated_mapped_column_refused(store, tmp_path):
    m = _mini_mapping(tmp_path)
    _write(tmp_path / "c.csv", "Ref,When,Type,ref\nA,2024-03-01,Drugs,B\n")
    with pytest.raises(IngestError, match=r"the mapped column\(s\) \['Ref'\] appear more than once"):
        store.ingest_records(tmp_path / "c.csv", m)


def test_ambiguous_patterns_refused(store, tmp_path):
    text = (MAPPING.read_text() + '\n[[files]]\npattern = "crimes_2024*.csv"\ntable = "crimes"\n[files.columns]\n'
            'reference = "CrimeRef"\noccurred = "Committed"\ncrime_type = "Offence"\n')
    m = _write(tmp_path / "m.toml", text)
    with pytest.raises(IngestError, match=r"matches more than one \[\[files\]\] block .*'crimes_\*.csv', 'crimes_2024\*.csv'"):
        store.ingest_records(FIX / "crimes_2024-01.csv", m)


def test_bad_on_unknown_and_bad_mapping(store, tmp_path):
    with pytest.raises(IngestError, match="'on_unknown' parameter must be 'error' or 'skip'"):
        records.ingest(store.con, FIX, MAPPING, version="test", on_unknown="ignore")
    bad = _write(tmp_path / "bad.toml", "version = 1\n")
    with pytest.raises(WhatworksError, match="'source_system' is required"):
        store.ingest_records(FIX, bad)
    with pytest.raises(IngestError, match="does not exist"):
        store.ingest_records(tmp_path / "nowhere", MAPPING)


def test_read_only_store_refuses(tmp_path):
    db = tmp_path / "s.duckdb"
    ww.Store(db).close()
    with ww.Store(db, read_only=True) as s, pytest.raises(WhatworksError, match="read-only"):
        s.ingest_records(FIX, MAPPING)


# ---------------------------------------------------------------- safety
def test_failure_inside_a_file_rolls_back_that_file(store, monkeypatch):
    store.ingest_records(FIX / "crimes_2024-01.csv", MAPPING)
    q = ("SELECT (SELECT count(*) FROM events) e, (SELECT count(*) FROM quarantine) q, (SELECT count(*) FROM batches) b, "
         "(SELECT count(*) FROM event_keys) k")
    before = store.sql(q)

    def boom(con, provided):
        raise RuntimeError("disk full")

    monkeypatch.setattr(records, "_stage_coordinates", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest_records(FIX / "crimes_2024-02.csv", MAPPING)
    assert before.equals(store.sql(q))
    monkeypatch.undo()
    assert store.ingest_records(FIX / "crimes_2024-02.csv", MAPPING).rows_loaded == 2


def test_kill_minus_nine_before_commit_leaves_store_unchanged(tmp_path):
    db = tmp_path / "s.duckdb"
    with ww.Store(db) as s:
        s.ingest_records(FIX / "crimes_2024-01.csv", MAPPING)
        before = s.sql("SELECT (SELECT count(*) FROM events) e, (SELECT count(*) FROM batches) b")
    code = f"import whatworks as ww; ww.Store({str(db)!r}).ingest_records({str(FIX)!r}, {str(MAPPING)!r})"
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "WHATWORKS_FAULT": "before_commit"},
                          capture_output=True)
    assert proc.returncode == -9
    with ww.Store(db) as s:
        assert before.equals(s.sql("SELECT (SELECT count(*) FROM events) e, (SELECT count(*) FROM batches) b"))
        rep = s.ingest_records(FIX, MAPPING)
        assert rep.files_already_loaded == 1 and rep.files_loaded == 6


# ---------------------------------------------------------------- the synthetic force's export (whatworks.synth)
def test_synthetic_force_export_loads_with_nothing_quarantined(tmp_path):
    from whatworks.synth import generate

    force = generate(seed=5, crimes=3000, months=12)
    paths = force.write_records(tmp_path / "records")
    with ww.Store(":memory:") as s:
        rep = s.ingest_records(paths["records"], paths["mapping"])
        assert rep.files_loaded == len(rep.files) and rep.rows_read > 3000
        assert rep.rows_quarantined == 0 and rep.duplicates_skipped == 0, rep.quarantine_reasons
        kinds = set(s.sql("SELECT DISTINCT kind FROM events")["kind"])
        assert {"crime", "stop_search", "arrest"} <= kinds
        assert s.sql("SELECT count(*) AS n FROM event_persons")["n"].iloc[0] > 0


def test_a_header_in_the_wrong_encoding_gets_an_encoding_hint(store, tmp_path):
    # review regression: a cp1252 export read as UTF-8 was blamed on [files.columns]
    m = _mini_mapping(tmp_path, columns='reference = "Réf"\noccurred = "Date"\ncrime_type = "Type"\n')
    _write(tmp_path / "crimes.csv", "Réf,Date,Type\nR1,2024-01-01,Burglary\n", encoding="cp1252")
    with pytest.raises(IngestError, match=r"the header is not utf-8 text: set `encoding`"):
        records.ingest(store.con, tmp_path / "crimes.csv", m, version="test")
    # an ordinary misspelt column still points at [files.columns]
    _write(tmp_path / "crimes.csv", "Ref,Date,Type\nR1,2024-01-01,Burglary\n")
    with pytest.raises(IngestError, match=r"Hint: correct \[files.columns\]"):
        records.ingest(store.con, tmp_path / "crimes.csv", m, version="test")
