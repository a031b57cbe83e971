"""kill -9 at random points during ingest (issue 12, "Corruption and faults"): whatever moment an ingest dies, the
store opened afterwards equals one of the states a file-by-file load commits.

For each reader (police.uk, RMS records through the Northshire mapping, area lookups, survey CSVs through a survey
mapping) three files big enough that their ingest takes about a second are loaded one at a time into a reference
store, and the fingerprint of each committed state is kept (empty, after file 1, after files 1-2, after all). Then,
20 times in all (5 per reader), the ingest of the whole folder (the survey reader takes one file: its three files
one after another) starts in a subprocess and is sent SIGKILL after a delay drawn from a seeded RNG (uniform over the
reference ingest's duration, from the moment the subprocess says it is about to start); the store is opened (DuckDB
replays its write-ahead log) and its fingerprint must be one of the committed ones.

Fingerprint: the batches' checksums (sorted), every table's row count (so a table created by a load that did not
commit shows), and hashes of ``events`` ordered by ``event_id``, of ``areas`` ordered by (batch, code) and of
``survey_responses`` ordered by (batch, row, variable).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import whatworks as ww

MAPPING = Path(__file__).parent / "fixtures" / "records" / "northshire" / "mapping.toml"
TRIALS = {"policeuk": 5, "records": 5, "areas": 5, "survey": 5}   # 20 in all
SURVEY_MAPPING = {"survey": {"name": "pas", "id": "respondent_id", "date": "interview_date", "weight": "weight"}}
SURVEY_HEADER = "respondent_id,interview_date,weight,borough,confident,contact,age_band"
SEED = 12

STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
                 "Last outcome category,Context")
CRIMES_HEADER = "CrimeRef,Committed,Offence,Easting,Northing,Address,LSOA,Status"
AREAS_HEADER = "code,name,level,parent_code,population,imd_score"


def _policeuk_inputs(root: Path, rows: int = 15_000) -> list[Path]:
    out = []
    for m in ("2024-01", "2024-02", "2024-03"):
        lines = [f"{m}{i:057d},{m},West Yorkshire Police,West Yorkshire Police,-1.5{i % 97:02d},53.8{i % 89:02d},"
                 f"On or near Park Row,E0101{i % 1000:04d},Leeds {i % 100:03d}B,Burglary,Under investigation,"
                 for i in range(rows)]
        lines[7] = f",{m},West Yorkshire Police,West Yorkshire Police,,,,,,Jaywalking,,"   # one quarantined row a file
        p = root / f"{m}-west-yorkshire-street.csv"
        p.write_text(STREET_HEADER + "\n" + "\n".join(lines) + "\n")
        out.append(p)
    return out


def _records_inputs(root: Path, rows: int = 20_000) -> list[Path]:
    out = []
    for m in ("01", "02", "03"):
        lines = [f"CR/{m}/{i:06d},03/{m}/2024 14:30,BUR-RES,{430000 + i % 500},{433000 + i % 400},\"{i}, High Street\","
                 f"E0100{i % 1000:04d},NFA" for i in range(rows)]
        lines[3] = f"CR/{m}/bad,32/{m}/2024,BUR-RES,,,,,"                               # a bad date: quarantined
        p = root / f"crimes_2024-{m}.csv"
        p.write_text(CRIMES_HEADER + "\n" + "\n".join(lines) + "\n")
        out.append(p)
    return out


def _areas_inputs(root: Path, rows: int = 4_000) -> list[Path]:
    out = []
    for k in range(3):
        lines = [f"E0{k}{i:07d},Area {k} {i},lsoa,,{1000 + i % 700},{i % 50}.5" for i in range(rows)]
        lines[5] = f"E0{k}bad,Bad,lsoa,,-3,x"                                            # a bad population
        p = root / f"lookup_{k}.csv"
        p.write_text(AREAS_HEADER + "\n" + "\n".join(lines) + "\n")
        out.append(p)
    return out


def _survey_inputs(root: Path, rows: int = 12_000) -> list[Path]:
    out = []
    for k in range(3):
        lines = [f"R{k}{i:06d},2024-0{k + 1}-{1 + i % 28:02d},{0.5 + i % 7 / 4},Borough {i % 32},{i % 2},{i % 3 == 0:d},"
                 f"{18 + i % 60}" for i in range(rows)]
        lines[9] = f"R{k}bad,31/02/2024,1.0,Borough 1,1,0,40"                            # not a date: quarantined
        p = root / f"pas_{k}.csv"
        p.write_text(SURVEY_HEADER + "\n" + "\n".join(lines) + "\n")
        out.append(p)
    return out


INPUTS = {"policeuk": _policeuk_inputs, "records": _records_inputs, "areas": _areas_inputs, "survey": _survey_inputs}


def _call(reader: str, path: Path, group_bytes: int | None = None) -> str:
    """The Python call (on a Store named ``s``) that ingests ``path``."""
    if reader == "policeuk":
        return f"s.ingest_policeuk({str(path)!r}, group_bytes={group_bytes!r})"
    if reader == "records":
        return f"s.ingest_records({str(path)!r}, {str(MAPPING)!r})"
    if reader == "survey":
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        return "\n".join(f"s.ingest_survey({str(f)!r}, mapping={SURVEY_MAPPING!r})" for f in files)
    return f"s.ingest_areas({str(path)!r})"


def fingerprint(store: ww.Store) -> tuple:
    con = store.con
    checksums = tuple(sorted(r[0] for r in con.execute("SELECT checksum FROM batches").fetchall()))
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "AND table_catalog = current_database() ORDER BY 1").fetchall()]
    counts = tuple((t, con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables)
    events = con.execute("SELECT md5(coalesce(string_agg(hash(e)::VARCHAR, ',' ORDER BY event_id), '')) FROM events e").fetchone()[0]
    areas = con.execute("SELECT md5(coalesce(string_agg(hash(a)::VARCHAR, ',' ORDER BY batch_id, code), '')) "
                        "FROM areas a").fetchone()[0]
    survey = con.execute("SELECT md5(coalesce(string_agg(hash(r)::VARCHAR, ',' ORDER BY batch_id, source_row, variable), "
                         "'')) FROM survey_responses r").fetchone()[0] if "survey_responses" in tables else None
    return checksums, counts, events, areas, survey


def _committed_states(reader: str, files: list[Path], db: Path) -> tuple[list[tuple], float]:
    """Fingerprints of the empty store and after each file (loaded one at a time), and the seconds it took."""
    ww.options.quiet = True
    try:
        with ww.Store(db) as s:
            states = [fingerprint(s)]
            seconds = 0.0
            for f in files:
                t0 = time.perf_counter()
                exec(_call(reader, f), {"s": s})
                seconds += time.perf_counter() - t0
                states.append(fingerprint(s))
            return states, seconds
    finally:
        ww.options.quiet = False


CHILD = """
import sys, whatworks as ww
ww.options.quiet = True
s = ww.Store({db!r})
print("READY", flush=True)
{call}
s.close()
print("DONE", flush=True)
"""


def _trial(reader: str, folder: Path, db: Path, delay: float, group_bytes: int | None) -> tuple[str, tuple]:
    """Ingest ``folder`` into a fresh store ``db`` in a subprocess, SIGKILL it ``delay`` s after it is ready; returns
    (how it ended, the fingerprint of the store then)."""
    with ww.Store(db):
        pass                                             # the empty store (schema committed) is state 0
    code = CHILD.format(db=str(db), call=_call(reader, folder, group_bytes))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read()
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    ended = "killed" if proc.returncode == -signal.SIGKILL else f"exit {proc.returncode}"
    if ended != "killed":
        assert proc.returncode == 0, proc.stderr.read()
    with ww.Store(db) as s:
        return ended, fingerprint(s)


@pytest.mark.slow
def test_kill_minus_nine_at_random_points_leaves_a_committed_state(tmp_path):
    rng = random.Random(SEED)
    results = []
    for reader, n in TRIALS.items():
        folder = tmp_path / reader / "in"
        folder.mkdir(parents=True)
        files = INPUTS[reader](folder)
        states, seconds = _committed_states(reader, files, tmp_path / reader / "reference.duckdb")
        assert len(set(states)) == len(files) + 1          # every file changes the store: states are told apart
        for k in range(n):
            delay = rng.uniform(0.0, seconds * 1.1)
            group_bytes = 1 if (reader == "policeuk" and k % 2) else None   # a transaction per file, or per folder
            db = tmp_path / reader / f"trial{k}.duckdb"
            ended, got = _trial(reader, folder, db, delay, group_bytes)
            state = states.index(got) if got in states else None
            results.append((reader, k, round(delay, 2), ended, state))
    print("\nkill -9 trials (reader, trial, delay s, ended, committed state matched: files loaded):")
    for r in results:
        print("  ", r)
    not_committed = [r for r in results if r[4] is None]
    killed = [r for r in results if r[3] == "killed"]
    assert len(results) == 20
    assert not not_committed, f"stores not equal to a committed state: {not_committed}"
    # the delays are drawn over the reference ingest's duration, so most trials are killed rather than finished
    # (a loose bound: the machine's speed varies; the property checked is the one above)
    assert len(killed) >= 10, results
