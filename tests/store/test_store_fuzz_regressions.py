"""Regression tests for the records the fuzz run (benchmarks/fuzz_readers.py, issue 12) miscounted: each holds the
minimal file that showed the cause, and checks rows_read is the true record count and rows_read = loaded +
quarantined."""

from __future__ import annotations

import whatworks as ww

AREAS_HEADER = b"code,name,level,parent_code,population,imd_score"
VALID = b"E01011229,Leeds 001A,lsoa,,1630,12.5"


def _areas(tmp_path, body: bytes):
    p = tmp_path / "areas_2021.csv"
    p.write_bytes(body)
    s = ww.Store(":memory:")
    rep = s.ingest_areas(p)
    return s, rep.files[0]


def test_12_a_quoted_lone_cr_in_the_first_field_is_one_record(tmp_path):
    # fuzz seed 1: '"\r=1"' in the first field. The line after the CR ('=1",Leeds 001A,...') has as many fields as
    # a record, so it was taken for one: the first line was quarantined as an unterminated quote and the
    # continuation read as a second record (rows_read 3 for 2 records).
    body = AREAS_HEADER + b"\n" + b'"\r=1",Leeds 001A,lsoa,,1630,12.5\n' + VALID + b"\n"
    s, f = _areas(tmp_path, body)
    assert f.rows_read == 2
    assert f.rows_read == f.rows_loaded + f.rows_quarantined
    q = s.sql("SELECT source_row, reason FROM quarantine ORDER BY source_row")
    assert "unterminated" not in " ".join(q["reason"])


def test_12_an_unterminated_quote_before_a_whole_record_still_quarantines_one_line(tmp_path):
    # the other side of the rule: a quote that never closes, followed by a clean record, is one bad line
    other = VALID.replace(b"E01011229", b"E01011230")
    body = AREAS_HEADER + b"\n" + b'"E01011229,Leeds 001A,lsoa,"",1630,12.5\n' + VALID + b"\n" + other + b"\n"
    s, f = _areas(tmp_path, body)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    assert f.rows_read == f.rows_loaded + f.rows_quarantined
    q = s.sql("SELECT source_row, reason FROM quarantine")
    assert q["source_row"].tolist() == [2] and "unterminated" in q["reason"].iloc[0]


def test_one_stray_quote_in_a_long_file_costs_one_pass_not_one_per_line(tmp_path):
    """A quote that never closes on row 2 of 200,000: the lines read while looking for its close are pushed back and
    stay decoded; they were pruned from a fixed-size cache on every line after, which took 586 s (quadratic). A
    resource budget (as for the other limits), not a speed test: the linear reader takes a few seconds."""
    import subprocess
    import sys

    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context")
    f = "West Yorkshire Police"
    lines = [f"2024-01{i:057d},2024-01,{f},{f},-1.5,53.8,On or near Park Row,E01011365,Leeds 111B,Burglary,,"
             for i in range(200_000)]
    lines[0] = lines[0].replace("On or near", '"On or near')
    p = tmp_path / "2024-01-wy-street.csv"
    p.write_text(header + "\n" + "\n".join(lines) + "\n")
    code = ("import whatworks as ww\nww.options.quiet = True\nf = ww.Store(':memory:').ingest_policeuk("
            f"{str(p)!r}).files[0]\nprint(f.rows_read, f.rows_loaded, f.rows_quarantined)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split() == ["200000", "199999", "1"]


def test_two_files_of_one_group_for_a_month_already_held_replace_it_once(tmp_path):
    """The fuzz run's crash (ConstraintException on `superseded`): a month already in the store, then a load whose
    group holds two files of that month, one of them with no rows (known only by its name's force-month). The
    empty file did not wait for the next group, so both replaced the same batch in one transaction."""
    from whatworks.store import policeuk

    header = ",".join(policeuk.STOP_SEARCH.header)
    row = ("Person search,2023-12-05T22:10:00+00:00,False,,51.5,-0.1,Male,18-24,"
           "White - English/Welsh/Scottish/Northern Irish/British,White,Misuse of Drugs Act 1971 (section 23),"
           "Controlled drugs,A no further action disposal,False,False")
    first = tmp_path / "first"
    first.mkdir()
    (first / "2023-12-met-stop-and-search.csv").write_text(header + "\n" + row + "\n")
    again = tmp_path / "again"
    (again / "a").mkdir(parents=True)
    (again / "a" / "2023-12-met-stop-and-search.csv").write_text(header + "\n")                  # no rows
    (again / "b").mkdir()
    (again / "b" / "2023-12-met-stop-and-search.csv").write_text(header + "\n" + row + "\n" + row.replace("Male", "Female") + "\n")
    s = ww.Store(":memory:")
    s.ingest_policeuk(first)
    rep = s.ingest_policeuk(again)
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped
    sup = s.sql("SELECT batch_id, count(*) AS n FROM superseded GROUP BY 1")
    assert (sup["n"] == 1).all()
    assert s.sql("SELECT count(*) AS n FROM events WHERE kind = 'stop_search'")["n"][0] == 2   # the latest version
