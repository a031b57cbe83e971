"""police.uk files are read and loaded in groups (one DuckDB scan and one transaction per group). A group must give
exactly the answer that loading its files one at a time, in the same order, gives: the same events, the same
quarantine (reasons, row numbers, first copies) and the same batches. Tests mirror store/policeuk.py (groups)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import whatworks as ww
from whatworks.store import policeuk

FIX = Path(__file__).parent / "fixtures" / "policeuk"
H = ",".join(policeuk.STREET.header)
F = "West Yorkshire Police"
TYPES = ["Burglary", "Drugs", "Anti-social behaviour", "Vehicle crime", "Jaywalking"]


def _row(rng: random.Random, ids: list[str], month: str) -> str:
    """A street row that is usually valid; some repeat an id used elsewhere, some are broken."""
    kind = rng.random()
    cid = rng.choice(ids)
    lon, lat = f"{-1.5 - rng.randrange(40) / 1000:.3f}", f"{53.8 + rng.randrange(40) / 1000:.3f}"
    typ = rng.choice(TYPES)
    if typ == "Anti-social behaviour":
        cid = ""
    if kind < 0.05:
        return f"{cid},{month},{F},{F},{lon},{lat}"                           # wrong field count
    if kind < 0.10:
        month = "2024-13"                                                      # bad month
    if kind < 0.13:
        lon, lat = "", ""                                                      # no location: valid
    if kind < 0.15:
        return f' {cid} ,{month},{F},{F},{lon},{lat},"On or near A, B",E01011365,Leeds 111B,{typ},,'  # spaces, quoted comma
    return f"{cid},{month},{F},{F},{lon},{lat},On or near Park Row,E01011365,Leeds 111B,{typ},Under investigation,"


def _files(root: Path, seed: int) -> list[Path]:
    """Four street files sharing a pool of Crime IDs (so keys repeat within and across files), one of them with a
    blank line and one with a quoted line break (both read on the exact path), plus an outcomes file."""
    rng = random.Random(seed)
    ids = [f"{i:064x}" for i in rng.sample(range(1, 10_000), 40)] + ["a" * 64]  # "a"*64 is in the fixture already loaded
    paths = []
    for k, month in enumerate(["2024-01", "2024-02", "2024-03", "2024-04"]):
        rows = [_row(rng, ids, month) for _ in range(rng.randrange(5, 40))]
        if k == 1:
            rows.insert(len(rows) // 2, "")                                   # blank line: exact path
        if k == 2:
            rows.append(f'{ids[0]},{month},{F},{F},-1.5,53.8,"On or near\nTwo Lines",E01011365,Leeds 111B,Drugs,,')
        eol = "\r\n" if k == 3 else "\n"
        p = root / month / f"{month}-west-yorkshire-street.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(eol.join([H, *rows]).encode() + (eol.encode() if rng.random() < 0.5 else b""))
        paths.append(p)
    outcomes = [",".join(policeuk.OUTCOMES.header)] + [
        f"{rng.choice(ids)},2024-0{rng.randrange(1, 5)},{F},{F},-1.5,53.8,On or near Park Row,E01011365,Leeds 111B,"
        f"{rng.choice(['Suspect charged', 'Under investigation'])}" for _ in range(30)]
    p = root / "2024-04" / "2024-04-west-yorkshire-outcomes.csv"
    p.write_text("\n".join(outcomes) + "\n")
    paths.append(p)
    return paths


def _state(s: ww.Store):
    return (s.sql("SELECT * FROM events ORDER BY event_id"),
            s.sql("SELECT * FROM quarantine ORDER BY batch_id, source_row, category, reason"),
            s.sql("SELECT * EXCLUDE (loaded_at) FROM batches ORDER BY batch_id"),
            s.sql("SELECT * FROM event_keys ORDER BY event_id"))


def _one_at_a_time(paths: list[Path]):
    s = ww.Store(":memory:")
    s.ingest_policeuk(FIX / "2024-01")  # something already in the store, so store hits happen too
    for p in paths:
        s.ingest_policeuk(p)
    out = _state(s)
    s.close()
    return out


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("group_bytes", [None, 1, 700])
def test_a_group_gives_the_answer_of_one_file_at_a_time(tmp_path, seed, group_bytes):
    paths = _files(tmp_path, seed)
    expected = _one_at_a_time(paths)
    s = ww.Store(":memory:")
    s.ingest_policeuk(FIX / "2024-01")
    rep = s.ingest_policeuk(tmp_path, group_bytes=group_bytes)
    got = _state(s)
    for e, g in zip(expected, got):
        assert e.equals(g)
    # the blank-line and line-break files were read on the exact path, the others on the fast path
    paths_used = {f.source.split("/")[-1]: f.message for f in rep.files}
    assert "exact" in paths_used["2024-02-west-yorkshire-street.csv"]
    assert "exact" in paths_used["2024-03-west-yorkshire-street.csv"]
    assert "fast" in paths_used["2024-01-west-yorkshire-street.csv"]
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped
    s.close()


def test_cross_file_duplicates_name_the_earlier_file(tmp_path):
    a = "a" * 64
    row = f"{a},{{m}},{F},{F},-1.5,53.8,On or near Park Row,E01011365,Leeds 111B,Burglary,,"
    for m in ("2024-01", "2024-02"):
        (tmp_path / f"{m}-wy-street.csv").write_text(H + "\n" + row.format(m=m) + "\n" + row.format(m=m) + "\n")
    s = ww.Store(":memory:")
    rep = s.ingest_policeuk(tmp_path)
    assert [f.rows_loaded for f in rep.files] == [1, 0]
    q = s.sql("SELECT source_file, source_row, reason, raw FROM quarantine ORDER BY source_file, source_row")
    assert q["reason"].tolist() == ["Crime ID repeated within the file", "Crime ID already in the store",
                                    "Crime ID already in the store"]
    assert '"first copy: row 2"' in q["raw"][0]
    assert f"first copy: {tmp_path / '2024-01-wy-street.csv'} row 2" in q["raw"][1]


def test_the_same_bytes_twice_in_one_load_are_loaded_once(tmp_path):
    src = FIX / "2024-01" / "2024-01-west-yorkshire-street.csv"
    shutil.copy(src, tmp_path / "2024-01-a-street.csv")
    shutil.copy(src, tmp_path / "2024-01-b-street.csv")
    s = ww.Store(":memory:")
    rep = s.ingest_policeuk(tmp_path)
    assert [f.status for f in rep.files] == ["loaded", "already_loaded"]
    assert "loaded in this run" in rep.files[1].message and rep.files[1].batch_id == rep.files[0].batch_id
    assert s.batches().shape[0] == 1


def test_zip_members_load_in_groups_like_files(tmp_path):
    paths = _files(tmp_path / "src", 3)
    z = tmp_path / "archive.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in paths:
            zf.write(p, p.relative_to(tmp_path / "src"))
    a, b = ww.Store(":memory:"), ww.Store(":memory:")
    a.ingest_policeuk(tmp_path / "src")
    b.ingest_policeuk(z)
    cols = "* EXCLUDE (batch_id, event_id, source_file)"
    assert a.sql(f"SELECT {cols} FROM crimes ORDER BY month, source_row").equals(
        b.sql(f"SELECT {cols} FROM crimes ORDER BY month, source_row"))


def test_kill_in_the_second_group_keeps_the_first(tmp_path):
    for m in ("2024-01", "2024-02", "2024-03"):
        rows = [f"{m}{i:057d},{m},{F},{F},-1.5,53.8,On or near Park Row,E01011365,Leeds 111B,Burglary,," for i in range(5)]
        (tmp_path / f"{m}-wy-street.csv").write_text(H + "\n" + "\n".join(rows) + "\n")
    db = tmp_path / "s.duckdb"
    code = (f"from whatworks.store import policeuk; import whatworks as ww; s = ww.Store({str(db)!r}); "
            f"policeuk.ingest(s.con, {str(tmp_path)!r}, version='t', group_bytes=1)")
    env = {**os.environ, "WHATWORKS_FAULT": "before_commit@2"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr
    with ww.Store(db) as s:
        assert s.batches()["source_file"].str.endswith("2024-01-wy-street.csv").tolist() == [True]
        assert s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0] == 5
        rep = s.ingest_policeuk(tmp_path)
        assert [f.status for f in rep.files] == ["already_loaded", "loaded", "loaded"]
        assert s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0] == 15


def test_group_bytes_must_be_positive(store_path=None):
    s = ww.Store(":memory:")
    with pytest.raises(ww.errors.IngestError, match="group_bytes"):
        policeuk.ingest(s.con, FIX, version="t", group_bytes=0)


def test_zip_members_are_extracted_once_each_headers_read_in_place(tmp_path, monkeypatch):
    # a police.uk archive holds thousands of members: sniffing headers must not extract whole files, nor re-read the
    # zip directory for every member's size
    from whatworks.store import _sources

    paths = _files(tmp_path / "src", 5)
    z = tmp_path / "archive.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, p.relative_to(tmp_path / "src"))
    extracted, opened = [], []
    real_local, real_zipfile = _sources.Source.local, _sources.zipfile.ZipFile

    def counting_local(self):
        extracted.append(self.name)
        return real_local(self)

    class CountingZip(real_zipfile):
        def __init__(self, *a, **k):
            opened.append(a[0])
            super().__init__(*a, **k)

    monkeypatch.setattr(_sources.Source, "local", counting_local)
    monkeypatch.setattr(_sources.zipfile, "ZipFile", CountingZip)
    s = ww.Store(":memory:")
    rep = s.ingest_policeuk(z)
    assert rep.files_loaded == len(paths)
    assert sorted(extracted) == sorted(f.source for f in rep.files)   # each member extracted once, to load it
    # listing (find_sources, ignored_files) + one header read + one extraction per member; no size look-ups
    assert len(opened) == 2 + 2 * len(paths)


def test_hidden_files_in_a_folder_are_listed_not_read(tmp_path):
    # a folder copied from a Mac or open in LibreOffice holds ._x.csv / .~lock.x.csv# files that are not data
    shutil.copytree(FIX / "2024-01", tmp_path / "2024-01")
    (tmp_path / "2024-01" / "._2024-01-west-yorkshire-street.csv").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "data.csv").write_text("a,b\n1,2\n")
    s = ww.Store(":memory:")
    rep = s.ingest_policeuk(tmp_path)
    assert rep.files_loaded == 1
    assert sorted(Path(n).name for n in rep.ignored) == ["._2024-01-west-yorkshire-street.csv", "data.csv"]


def test_when_duckdb_refuses_the_group_scan_each_file_is_read_on_its_own(tmp_path, monkeypatch):
    # no byte pattern found makes DuckDB's read_csv (with store_rejects) raise, so the refusal is simulated: the
    # fallback must still give the one-file-at-a-time answer, reading each file on its own scan where it can
    from whatworks.store import _csv

    paths = _files(tmp_path, 2)
    expected = _one_at_a_time(paths)
    real = _csv._fast_part
    sizes = []

    def refusing(con, p, items, *a):
        sizes.append(len(items))
        return None if len(items) > 1 else real(con, p, items, *a)

    monkeypatch.setattr(_csv, "_fast_part", refusing)
    s = ww.Store(":memory:")
    s.ingest_policeuk(FIX / "2024-01")
    rep = s.ingest_policeuk(tmp_path)
    for e, g in zip(expected, _state(s)):
        assert e.equals(g)
    assert 4 in sizes and sizes.count(1) >= 4   # the street group was refused, then each file scanned alone
    assert "fast" in {f.source.split("/")[-1]: f.message for f in rep.files}["2024-01-west-yorkshire-street.csv"]
