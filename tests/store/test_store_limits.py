"""The readers' limits (issue 12, item 3): declared in whatworks.store.limits, configurable, each enforced with a
clear reason. Tiny hand-built inputs with asserted figures; the heavy inputs are in test_store_hostile.py."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import whatworks as ww
from whatworks.errors import IngestError
from whatworks.store import _csv, _sources, areas, policeuk, records
from whatworks.store.limits import DEFAULT_LIMITS, Limits

H = ",".join(policeuk.STREET.header)
F = "West Yorkshire Police"
MAPPING = Path(__file__).parent / "fixtures" / "records" / "northshire" / "mapping.toml"


def _row(i: int, location: str = "On or near Park Row", month: str = "2024-01") -> str:
    return f"{month}{i:057d},{month},{F},{F},-1.5,53.8,{location},E01011365,Leeds 111B,Burglary,,"


def _street(path: Path, rows: list[str], eol: str = "\n") -> Path:
    path.write_bytes((H + eol + eol.join(rows) + eol).encode())
    return path


def _ingest(path, **kw):
    s = ww.Store(":memory:")
    rep = policeuk.ingest(s.con, path, version="test", **kw)
    return s, rep


# ------------------------------------------------------------------------ CHECK INPUTS
def test_defaults_are_the_documented_ones():
    d = DEFAULT_LIMITS
    assert (d.max_member_bytes, d.max_compression_ratio, d.ratio_applies_from, d.max_zip_depth) == (4 << 30, 100, 1 << 20, 3)
    assert (d.max_line_bytes, d.max_field_bytes, d.max_fields_per_line, d.max_raw_bytes) == (16 << 20, 1 << 20, 1000, 64 << 10)
    assert _sources.MAX_ZIP_DEPTH == d.max_zip_depth


@pytest.mark.parametrize("bad", [dict(max_field_bytes=0), dict(max_fields_per_line=-1), dict(max_zip_depth=1.5),
                                 dict(max_line_bytes=True), dict(max_field_bytes=2 << 20, max_line_bytes=1 << 20)])
def test_a_limit_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(IngestError, match="Limits()"):
        Limits(**bad)


def test_limits_must_be_a_limits_object(tmp_path):
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1)])
    with pytest.raises(IngestError, match="'limits' parameter must be a whatworks.store.limits.Limits"):
        _ingest(p, limits={"max_field_bytes": 10})


# ------------------------------------------------------------------------ the line scan
def test_file_facts_measure_the_longest_and_widest_line(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n" + b"," * 1500 + b"\n" + b"x" * 2000 + b"\nend")
    f = _csv.file_facts(p)
    assert (f.lines, f.longest_line, f.widest_line) == (4, 2000, 1501)
    assert not _csv.fast_path_allowed(f)                     # 1,501 fields > 1,000: never given to DuckDB
    p.write_bytes(b"a,b\n1,2\n")
    f = _csv.file_facts(p)
    assert f.widest_line == 0 and f.longest_line <= 999 and _csv.fast_path_allowed(f)


# ------------------------------------------------------------------------ per-line limits
def test_a_field_over_max_field_bytes_is_quarantined_with_its_length(tmp_path):
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1), _row(2, location="L" * 300), _row(3)])
    s, rep = _ingest(p, limits=Limits(max_field_bytes=200))
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    reason = s.sql("SELECT reason FROM quarantine")["reason"].iloc[0]
    assert reason == ("field 7 (location) too long: length 300 bytes, over the limit of 200 bytes "
                      "(Limits.max_field_bytes)")
    assert "exact path" in f.message                        # a line longer than a field may be: never to DuckDB


def test_a_line_wider_than_max_fields_per_line_is_quarantined_with_its_real_count(tmp_path):
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1), "," * 40, _row(2)])
    s, rep = _ingest(p, limits=Limits(max_fields_per_line=30))
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    assert s.sql("SELECT reason FROM quarantine")["reason"].iloc[0] == (
        "wrong number of fields: expected 12, found 41 (more than the limit of 30 fields on a line, "
        "Limits.max_fields_per_line)")


def test_the_fast_path_reports_the_real_field_count_of_a_long_line(tmp_path):
    # DuckDB rejects a long line once per extra column; the reason used to say "found 13" whatever the count
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1), _row(2) + ",x,y,z", _row(3)[:40]])
    s, rep = _ingest(p)
    assert "fast path" in rep.files[0].message
    got = s.sql("SELECT source_row, reason FROM quarantine ORDER BY source_row").values.tolist()
    assert got == [[3, "wrong number of fields: expected 12, found 15"], [4, "wrong number of fields: expected 12, found 1"]]


def test_a_line_over_max_line_bytes_is_quarantined_whole_and_its_raw_cut(tmp_path):
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1), "Z" * 500, _row(2)])
    s, rep = _ingest(p, limits=Limits(max_line_bytes=400, max_field_bytes=300, max_raw_bytes=16))
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    q = s.sql("SELECT source_row, reason, raw FROM quarantine").iloc[0]
    assert q["source_row"] == 3
    assert q["reason"] == ("line too long: length 500 bytes, over the limit of 400 bytes (Limits.max_line_bytes); "
                           "not split into fields")
    assert q["raw"] == "Z" * 16 + " [... cut at 16 of the line's 500 bytes (Limits.max_raw_bytes)]"


# ------------------------------------------------------------------------ line shapes
def test_an_unterminated_quote_quarantines_its_line_and_reads_the_rest_row_by_row(tmp_path):
    rows = [_row(1), _row(2), _row(3).replace("On or near", '"On or near'), _row(4), _row(5)]
    s, rep = _ingest(_street(tmp_path / "2024-01-wy-street.csv", rows))
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (5, 4, 1)
    q = s.sql("SELECT source_row, reason FROM quarantine").iloc[0]
    assert q["source_row"] == 4 and q["reason"] == _csv.UNTERMINATED
    assert s.sql("SELECT list(source_row ORDER BY source_row) AS r FROM events")["r"].iloc[0].tolist() == [2, 3, 5, 6]


def test_a_quoted_line_break_is_still_one_record(tmp_path):
    rows = [_row(1), _row(2, location='"On or near\nPark Row"'), _row(3)]
    s, rep = _ingest(_street(tmp_path / "2024-01-wy-street.csv", rows))
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 3, 0)
    assert s.sql("SELECT location FROM events WHERE source_row = 3")["location"].iloc[0] == "On or near\nPark Row"


def test_a_file_with_cr_line_endings_is_read_as_lines(tmp_path):
    p = _street(tmp_path / "2024-01-wy-street.csv", [_row(1), _row(2)], eol="\r")
    s, rep = _ingest(p)
    f = rep.files[0]
    assert (f.status, f.rows_read, f.rows_loaded) == ("loaded", 2, 2) and "exact path" in f.message
    assert _csv.header_from_bytes(p.read_bytes()) == list(policeuk.STREET.header)


def test_latin1_bytes_are_escaped_in_the_raw_and_backslashes_doubled(tmp_path):
    p = tmp_path / "2024-01-wy-street.csv"
    p.write_bytes((H + "\n" + _row(1) + "\n").encode() + _row(2, location="Jos\xe9 \\ Br\xf6n").encode("latin-1") + b"\n")
    s, rep = _ingest(p)
    raw = s.sql("SELECT raw FROM quarantine")["raw"].iloc[0]
    assert "Jos\\xe9 \\\\ Br\\xf6n" in raw
    # the escapes give back the original bytes
    back = raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
    assert back == _row(2, location="Jos\xe9 \\ Br\xf6n").encode("latin-1")


# ------------------------------------------------------------------------ zips
def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_member_over_max_member_bytes_is_refused_before_extraction(tmp_path, monkeypatch):
    big = (H + "\n" + "\n".join(_row(i) for i in range(10)) + "\n").encode()
    small = (H + "\n" + _row(99, month="2024-02") + "\n").encode()
    z = _zip(tmp_path / "a.zip", {"2024-01/2024-01-wy-street.csv": big, "2024-02/2024-02-wy-street.csv": small})
    extracted = []
    real = _sources._copy_member
    monkeypatch.setattr(_sources, "_copy_member", lambda zf, info, *a: (extracted.append(info.filename), real(zf, info, *a)))
    lim = Limits(max_member_bytes=len(small) + 10)
    with pytest.raises(IngestError) as exc:
        _ingest(z, limits=lim)
    msg = str(exc.value)
    assert f"2024-01-wy-street.csv is {len(big):,} bytes uncompressed" in msg and "over the size limit" in msg and "Limits.max_member_bytes" in msg
    assert extracted == []                                   # refused before anything was extracted
    s, rep = _ingest(z, limits=lim, on_unknown="skip")
    assert [(Path(f.source).name, f.status) for f in rep.files] == [("2024-01-wy-street.csv", "refused"),
                                                                    ("2024-02-wy-street.csv", "loaded")]
    assert extracted == ["2024-02/2024-02-wy-street.csv"]


def test_a_zip_member_compressed_too_well_is_refused(tmp_path):
    data = (H + "\n").encode() + b"," * 20_000
    z = _zip(tmp_path / "a.zip", {"2024-01/2024-01-wy-street.csv": data})
    info = zipfile.ZipFile(z).infolist()[0]
    ratio = info.file_size / info.compress_size
    assert ratio > 50
    with pytest.raises(IngestError, match=r"compression ratio of \d+ to 1, over the limit of 50"):
        _ingest(z, limits=Limits(max_compression_ratio=50, ratio_applies_from=10_000))
    s, rep = _ingest(z, limits=Limits(max_compression_ratio=50, ratio_applies_from=30_000))   # small: not checked
    assert rep.files[0].status in ("loaded", "failed")


def test_a_member_yielding_more_than_it_declared_is_stopped(tmp_path):
    import io

    capped = _sources._Capped(io.BytesIO(b"x" * 100), 40, "z.zip!m.csv")
    assert capped.read(30) == b"x" * 30
    with pytest.raises(IngestError, match="yields more than 40 bytes when extracted"):
        capped.read(30)


def test_duplicate_member_names_are_listed_with_the_reason(tmp_path):
    import warnings

    name = "2024-01/2024-01-wy-street.csv"
    z = tmp_path / "a.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr(name, H + "\n" + _row(1) + "\n" + _row(2) + "\n")
            zf.writestr(name, H + "\n" + _row(3) + "\n")
    s, rep = _ingest(z)
    assert [f.rows_loaded for f in rep.files] == [2]           # the first member is read
    assert rep.ignored == (f"{z}!{name}",) and "same name" in rep.ignored[0].reason


def test_stale_temp_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f"whatworks-{pid}-abc"
    mine = tmp_path / f"whatworks-{os.getpid()}-def"
    other = tmp_path / "whatworks-fuzz-xyz"   # not ours by name: left alone
    for d in (stale, mine, other):
        d.mkdir()
        (d / "x.csv").write_text("a\n")
    assert _sources.clean_stale_temp(tmp_path) == [stale]
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_symlink_out_of_the_folder_is_listed_with_the_reason(tmp_path):
    inside = tmp_path / "in"
    inside.mkdir()
    _street(inside / "2024-01-wy-street.csv", [_row(1)])
    os.symlink(_street(tmp_path / "x.csv", [_row(2)]), inside / "2024-02-wy-street.csv")
    os.symlink(tmp_path, inside / "up")                        # a folder link out: not followed either
    s, rep = _ingest(inside)
    assert [Path(f.source).name for f in rep.files] == ["2024-01-wy-street.csv"]
    assert sorted(Path(i).name for i in rep.ignored) == ["2024-02-wy-street.csv", "up"]
    assert all("symbolic link leading out of the folder" in i.reason for i in rep.ignored)


# ------------------------------------------------------------------------ the other readers take limits too
def test_records_and_areas_take_limits(tmp_path):
    crimes = tmp_path / "crimes_2024-01.csv"
    crimes.write_text("CrimeRef,Committed,Offence,Easting,Northing,Address,LSOA,Status\n"
                      "CR/1,03/01/2024 14:30,BUR-RES,430100,433200,High Street,E01000001,NFA\n"
                      f"CR/2,05/01/2024,VAP,430200,433300,{'A' * 100},E01000002,CHG\n")
    s = ww.Store(":memory:")
    f = records.ingest(s.con, crimes, MAPPING, version="t", limits=Limits(max_field_bytes=50)).files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 1, 1)
    assert s.sql("SELECT reason FROM quarantine")["reason"].iloc[0].startswith("field 6 (c5) too long: length 100 bytes")
    lookup = tmp_path / "lookup.csv"
    lookup.write_text("code,name,level,parent_code,population\nE01011229,Leeds 001A,lsoa,,1630\n"
                      f"E01011230,{'N' * 100},lsoa,,1500\n")
    s2 = ww.Store(":memory:")
    f = areas.ingest(s2.con, lookup, version="t", quiet=True, limits=Limits(max_field_bytes=50)).files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 1, 1)


def test_a_refused_rms_header_shows_unknown_fields_by_shape_only(tmp_path):
    p = tmp_path / "persons.csv"
    p.write_text("P1,Jameson,Smithers,01/02/1990,M\n")
    s = ww.Store(":memory:")
    rep = records.ingest(s.con, p, MAPPING, version="t", on_unknown="skip")
    msg = rep.files[0].message
    assert "['A9', 'Aaaaaaa', 'Aaaaaaaa', '99/99/9999', 'A']" in msg and "shown by shape only" in msg
