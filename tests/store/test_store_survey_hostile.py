"""The survey reader on hostile and real-shaped files (issue 12: "Fuzzing" and "Nothing dropped"; issue 15 item 1).

A survey CSV goes through the store's one delimited-text reader, so what holds for police.uk, RMS and area files
holds here: a bad line is quarantined with its row number and its bytes, the rest is loaded, a blank line is not a
record, and rows_read = loaded + quarantined + duplicates. Each example test failed before the survey reader was
moved onto that reader (it used pandas.read_csv: one bad line refused the whole file, Latin-1 bytes refused it,
row numbers ignored blank lines and quoted line breaks, a damaged .sav raised pyreadstat's own error, and day-first
dates were read month-first). The property test runs the fuzz benchmark's survey strategy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import whatworks as ww
from whatworks.errors import IngestError, WhatworksError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzz_strategies as fs  # noqa: E402

MAPPING = {"survey": {"name": "pas", "id": "respondent_id", "date": "interview_date", "weight": "weight"}}
HEADER = b"respondent_id,interview_date,weight,borough,confident"


def _ingest(tmp_path, body: bytes, name: str = "pas.csv"):
    p = tmp_path / name
    p.write_bytes(body)
    s = ww.Store(":memory:")
    return s, s.ingest_survey(p, mapping=MAPPING).files[0]


def _quarantine(s):
    return s.sql("SELECT source_row, category, reason, raw FROM quarantine ORDER BY source_row")


def test_a_line_with_too_many_fields_is_quarantined_and_the_rest_loaded(tmp_path):
    body = b"\n".join([HEADER, b"R1,2024-03-05,1.0,Camden,1", b"R2,2024-03-05,1.0,Camden,1,EXTRA,MORE",
                       b"R3,2024-03-06,1.5,Barnet,0"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    q = _quarantine(s)
    assert q["source_row"].tolist() == [3] and "R2" in q["raw"][0]
    assert sorted(s.survey("pas")["respondent_id"]) == ["R1", "R3"]


def test_latin1_bytes_are_quarantined_with_the_bytes_kept(tmp_path):
    body = b"\n".join([HEADER, b"R1,2024-03-05,1.0,Camden,1", b"R2,2024-03-05,1.0,Jos\xe9 Br\xf6n,1"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 1, 1)
    raw = _quarantine(s)["raw"][0]
    assert "\\xe9" in raw and "\\xf6" in raw and "?" not in raw


def test_latin1_file_declared_in_the_mapping_is_read_as_latin1(tmp_path):
    p = tmp_path / "pas.csv"
    p.write_bytes(b"\n".join([HEADER, b"R1,2024-03-05,1.0,Jos\xe9 Br\xf6n,1"]) + b"\n")
    s = ww.Store(":memory:")
    f = s.ingest_survey(p, mapping={"survey": {**MAPPING["survey"], "encoding": "latin-1"}}).files[0]
    assert f.rows_loaded == 1 and s.survey("pas")["borough"][0] == "José Brön"


def test_row_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    # row 2 holds a quoted line break (rows 2-3), row 4 is blank, row 5 has no id
    body = b"\n".join([HEADER, b'R1,2024-03-05,1.0,"Camden\nTown",1', b"", b",2024-03-05,1.0,Barnet,1"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 1, 1)
    assert _quarantine(s)["source_row"].tolist() == [5]
    assert s.survey("pas")["borough"][0] == "Camden\nTown"


def test_an_unterminated_quote_does_not_swallow_the_rest(tmp_path):
    body = b"\n".join([HEADER, b'R1,2024-03-05,1.0,"Camden,1', b"R2,2024-03-05,1.0,Barnet,1",
                       b"R3,2024-03-05,1.0,Brent,0"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    assert "unterminated" in _quarantine(s)["reason"][0]


def test_uk_day_first_dates_are_read_day_first(tmp_path):
    body = b"\n".join([HEADER, b"R1,05/03/2024,1.0,Camden,1", b"R2,2024-03-06,1.0,Camden,1",
                       b"R3,2024-03,1.0,Camden,1"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert (f.rows_loaded, f.rows_quarantined) == (2, 1)          # a month alone is not an interview date
    back = s.survey("pas").set_index("respondent_id")
    assert back.loc["R1", "interview_date"] == pd.Timestamp("2024-03-05")
    assert "not a date" in _quarantine(s)["reason"][0]


def test_a_repeated_or_empty_column_name_is_refused_and_nothing_loaded(tmp_path):
    for header in (b"respondent_id,interview_date,weight,borough,borough", b"respondent_id,interview_date,weight,,x"):
        s = ww.Store(":memory:")
        p = tmp_path / "pas.csv"
        p.write_bytes(header + b"\nR1,2024-03-05,1.0,Camden,1\n")
        with pytest.raises(IngestError, match="header is not usable"):
            s.ingest_survey(p, mapping=MAPPING)
        assert s.sql("SELECT count(*) AS n FROM batches")["n"][0] == 0


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_sav_is_a_clean_error(tmp_path, damage):
    import pyreadstat
    df = pd.DataFrame({"respondent_id": ["R1", "R2"], "interview_date": ["2024-03-05", "2024-03-06"],
                       "weight": [1.0, 2.0], "confident": [1.0, 2.0]})
    p = tmp_path / "pas.sav"
    pyreadstat.write_sav(df, str(p))
    data = p.read_bytes()
    p.write_bytes(data[:200] if damage == "truncated" else data[:64] + b"\xff" * 64 + data[128:])
    s = ww.Store(":memory:")
    try:
        rep = s.ingest_survey(p, mapping=MAPPING)
    except IngestError as exc:
        assert "pas.sav" in str(exc)
        assert s.sql("SELECT count(*) AS n FROM batches")["n"][0] == 0
    else:   # some overwritten bytes leave a readable file: then the rows are all accounted for
        f = rep.files[0]
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.duplicates_skipped


def test_quarantined_survey_rows_keep_every_value(tmp_path):
    body = b"\n".join([HEADER, b"R1,2024-03-05,-1,=HYPERLINK(\"x\"),1"]) + b"\n"
    s, f = _ingest(tmp_path, body)
    assert f.rows_quarantined == 1
    raw = json.loads(_quarantine(s)["raw"][0])
    assert raw == {"respondent_id": "R1", "interview_date": "2024-03-05", "weight": "-1",
                   "borough": '=HYPERLINK("x")', "confident": "1"}


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=fs.a_case("survey"))
def test_any_survey_file_is_loaded_accounted_for_or_refused_cleanly(tmp_path_factory, case):
    root = tmp_path_factory.mktemp("survey-fuzz")
    path, _mapping, _names, records, _links = fs.write_case(case, root)
    s = ww.Store(":memory:")
    try:
        rep = s.ingest_survey(path, mapping=case.options["mapping"])
    except WhatworksError:
        assert s.sql("SELECT count(*) AS n FROM batches")["n"][0] == 0     # refused: nothing written
        return
    f = rep.files[0]
    assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.duplicates_skipped
    gen = records[str(path)][0]
    if gen.records is not None:
        assert f.rows_read == gen.records                                  # every record the generator wrote
    loaded = s.sql(f"SELECT count(DISTINCT respondent_id) AS n FROM survey_responses WHERE batch_id = {f.batch_id}")
    q = s.sql(f"SELECT count(*) AS n FROM quarantine WHERE batch_id = {f.batch_id}")
    assert loaded["n"][0] == f.rows_loaded
    assert q["n"][0] == f.rows_quarantined + f.duplicates_skipped


def test_a_survey_load_killed_before_commit_leaves_the_store_as_it_was(tmp_path):
    """The survey tables are created inside the load's transaction (before, a killed first load left them)."""
    import os
    import subprocess

    p = tmp_path / "pas.csv"
    p.write_bytes(HEADER + b"\nR1,2024-03-05,1.0,Camden,1\n")
    db = tmp_path / "s.duckdb"
    with ww.Store(db) as s:
        before = s.sql("SELECT table_name FROM information_schema.tables ORDER BY 1")["table_name"].tolist()
    code = f"import whatworks as ww\nww.Store({str(db)!r}).ingest_survey({str(p)!r}, mapping={MAPPING!r})"
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "WHATWORKS_FAULT": "before_commit"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr                              # killed at the fault point
    with ww.Store(db) as s:
        after = s.sql("SELECT table_name FROM information_schema.tables ORDER BY 1")["table_name"].tolist()
        assert after == before and "survey_responses" not in after
        assert s.sql("SELECT count(*) AS n FROM batches")["n"][0] == 0


def test_unloading_a_survey_batch_removes_its_responses_labels_and_missing_codes(tmp_path):
    import pyreadstat
    df = pd.DataFrame({"respondent_id": ["R1", "R2"], "interview_date": ["2024-03-05", "2024-03-06"],
                       "weight": [1.0, 2.0], "confident": [1.0, 98.0]})
    p = tmp_path / "pas.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={"confident": {1.0: "Yes", 98.0: "Don't know"}},
                         missing_ranges={"confident": [98.0]})
    s = ww.Store(":memory:")
    f = s.ingest_survey(p, mapping=MAPPING).files[0]
    assert f.rows_loaded == 2
    removed = s.unload(f.batch_id)
    assert removed["survey_responses"] == 2 * 4 and removed["survey_labels"] == 2 and removed["survey_missing_codes"] == 1
    for t in ("survey_responses", "survey_labels", "survey_missing_codes"):
        assert s.sql(f"SELECT count(*) AS n FROM {t}")["n"][0] == 0
    again = s.ingest_survey(p, mapping=MAPPING).files[0]      # loads again: no respondent is "already in the store"
    assert (again.rows_loaded, again.duplicates_skipped) == (2, 0)


def test_a_sav_that_crashes_pyreadstat_is_a_clean_error_and_whatworks_lives(tmp_path):
    """The 10,000-case fuzz run's segmentation fault: pyreadstat (C) dies on this damaged 960-byte .sav. It is
    parsed in a child process, so the load is refused with the reason and the store is unchanged."""
    fixture = Path(__file__).parent / "fixtures" / "survey" / "crashes_pyreadstat.sav"
    s = ww.Store(tmp_path / "s.duckdb")
    with pytest.raises(IngestError, match="crashed the .sav reader") as exc:
        s.ingest_survey(fixture, mapping=MAPPING)
    assert "SIGSEGV" in str(exc.value) and "crashes_pyreadstat.sav" in str(exc.value)
    assert s.sql("SELECT count(*) AS n FROM batches")["n"][0] == 0
    ok = tmp_path / "pas.csv"
    ok.write_bytes(HEADER + b"\nR1,2024-03-05,1.0,Camden,1\n")
    assert s.ingest_survey(ok, mapping=MAPPING).files[0].rows_loaded == 1     # the process goes on
