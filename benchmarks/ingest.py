"""Benchmark: police.uk ingest, whatworks vs pandas.read_csv + insert, on the same files in the same run.

Generates N police.uk street-level rows (default 5,000,000) as monthly files for several forces (points snapped to a
pool of anonymous map points, as police.uk does; ~3% without location; ~30% ASB with blank Crime ID), then in
separate subprocesses (so peak memory is measured per contender):

* whatworks: ``Store(path).ingest_policeuk(folder)`` — validation, quarantine, duplicates, BNG coordinates, provenance;
* peer 1: for each file ``pandas.read_csv`` then ``INSERT INTO t SELECT * FROM df`` into a DuckDB file — the fastest
  pandas route there is (a bulk copy of the DataFrame; no validation, no quarantine, no coordinates);
* peer 2: for each file ``pandas.read_csv`` then ``DataFrame.to_sql`` into SQLite — pandas' own insert API, what an
  analyst's script usually does;
* floor: DuckDB alone, ``CREATE TABLE t AS SELECT * FROM read_csv([all files])`` — no checks, no row numbers, no
  provenance, no coordinates. No tool that stores these rows in DuckDB can beat it, so ``pandas / floor`` is the largest
  ratio any DuckDB-based ingest could reach on this machine.

Checks: every row accounted for (read == loaded + quarantined + duplicates) and the same row total as pandas.

Usage: python benchmarks/ingest.py [--rows 5000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORCES = ["north-shire", "east-vale", "west-moor", "south-downs", "mid-fen", "high-peak", "low-weald", "river-dale",
          "coast-line", "forest-hill"]
TYPES = ["Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
         "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
         "Vehicle crime", "Violence and sexual offences"]


def generate(root: Path, rows: int, months: int = 12, forces: int = 6) -> int:
    """Monthly street files for ``forces`` forces; 5M rows over 6 forces × 12 months is ~70,000 rows a file, the size of a
    large force's month (the Metropolitan Police publishes ~80,000)."""
    import duckdb

    per_file = rows // (forces * months) + 1
    con = duckdb.connect()
    types = "[" + ", ".join("'" + t + "'" for t in TYPES) + "]"
    total = 0
    for fi, force in enumerate(FORCES[:forces]):
        name = " ".join(w.capitalize() for w in force.split("-")) + " Police"
        for m in range(months):
            month = f"2024-{m + 1:02d}"
            folder = root / month
            folder.mkdir(parents=True, exist_ok=True)
            n = min(per_file, rows - total)
            if n <= 0:
                break
            seed = fi * 100 + m
            con.execute(f"""COPY (
              WITH r AS (SELECT i, hash(i, {seed}) AS h, hash(i, {seed}, 7) AS h2 FROM range({n}) t(i)),
              p AS (SELECT i, h, h2, (h % 50000) AS pt, (h2 % 1000) AS u FROM r)
              SELECT CASE WHEN u < 300 THEN NULL ELSE sha256(i::VARCHAR || '-{seed}') END AS "Crime ID",
                     '{month}' AS "Month", '{name}' AS "Reported by", '{name}' AS "Falls within",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE round(-2.5 + {fi} * 0.1 + (pt % 250) * 0.002, 6) END AS "Longitude",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE round(52.0 + (pt // 250) * 0.002, 6) END AS "Latitude",
                     CASE WHEN u % 33 = 0 THEN 'No Location' ELSE 'On or near Street ' || pt END AS "Location",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE 'E01' || lpad((pt % 30000)::VARCHAR, 6, '0') END AS "LSOA code",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE 'Somewhere ' || lpad((pt % 300)::VARCHAR, 3, '0') || 'A' END AS "LSOA name",
                     CASE WHEN u < 300 THEN 'Anti-social behaviour' ELSE {types}[(2 + (h2 // 1000) % 13)::BIGINT] END AS "Crime type",
                     CASE WHEN u < 300 THEN NULL ELSE 'Investigation complete; no suspect identified' END AS "Last outcome category",
                     NULL AS "Context"
              FROM p ORDER BY i) TO '{folder / f"{month}-{force}-street.csv"}' (HEADER, DELIMITER ',')""")
            total += n
    return total


WHATWORKS = """
import json, sys, time, resource
import whatworks as ww
t = time.perf_counter()
s = ww.Store(sys.argv[1])
rep = s.ingest_policeuk(sys.argv[2])
s.con.execute("CHECKPOINT")
dt = time.perf_counter() - t
n = s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
print(json.dumps({"seconds": dt, "read": rep.rows_read, "loaded": rep.rows_loaded, "quarantined": rep.rows_quarantined,
                  "duplicates": rep.duplicates_skipped, "events": int(n),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, sys, time, resource
from pathlib import Path
import duckdb, pandas as pd
t = time.perf_counter()
con = duckdb.connect(sys.argv[1])
first = True
for p in sorted(Path(sys.argv[2]).rglob("*.csv")):
    df = pd.read_csv(p)
    if first:
        con.execute("CREATE TABLE t AS SELECT * FROM df WHERE false")
        first = False
    con.execute("INSERT INTO t SELECT * FROM df")
con.execute("CHECKPOINT")
dt = time.perf_counter() - t
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(json.dumps({"seconds": dt, "rows": int(n), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


FLOOR = """
import json, sys, time, resource
from pathlib import Path
import duckdb
t = time.perf_counter()
con = duckdb.connect(sys.argv[1])
files = [str(p) for p in sorted(Path(sys.argv[2]).rglob("*.csv"))]
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, all_varchar=true)", [files])
con.execute("CHECKPOINT")
dt = time.perf_counter() - t
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(json.dumps({"seconds": dt, "rows": int(n), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SQLITE = """
import json, sys, time, resource, sqlite3
from pathlib import Path
import pandas as pd
t = time.perf_counter()
con = sqlite3.connect(sys.argv[1])
for p in sorted(Path(sys.argv[2]).rglob("*.csv")):
    pd.read_csv(p).to_sql("t", con, if_exists="append", index=False, chunksize=50_000)
con.commit()
dt = time.perf_counter() - t
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(json.dumps({"seconds": dt, "rows": int(n), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--forces", type=int, default=6)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true", help="leave out the pandas.to_sql peer")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ww-bench-ingest-"))
    try:
        t = time.perf_counter()
        rows = generate(work / "data", args.rows, args.months, args.forces)
        size = sum(p.stat().st_size for p in (work / "data").rglob("*.csv")) / 1e6
        print(f"generated {rows:,} rows in {len(list((work / 'data').rglob('*.csv')))} files ({size:,.0f} MB) in {time.perf_counter() - t:.1f} s")
        ww = _run(WHATWORKS, str(work / "ww.duckdb"), str(work / "data"))
        pd_ = _run(PANDAS, str(work / "pd.duckdb"), str(work / "data"))
        sq = _run(SQLITE, str(work / "pd.sqlite"), str(work / "data")) if not args.skip_sqlite else None
        fl = _run(FLOOR, str(work / "floor.duckdb"), str(work / "data"))
        unaccounted = ww["read"] - (ww["loaded"] + ww["quarantined"] + ww["duplicates"])
        assert unaccounted == 0, ww
        assert ww["read"] == rows == pd_["rows"], (ww, pd_, rows)
        assert ww["events"] == ww["loaded"]
        ratio = pd_["seconds"] / ww["seconds"]
        print(f"whatworks: {ww['seconds']:.2f} s, peak {ww['peak_mb']:,.0f} MB; read {ww['read']:,} = loaded {ww['loaded']:,} "
              f"+ quarantined {ww['quarantined']:,} + duplicates {ww['duplicates']:,} (unaccounted {unaccounted})")
        print(f"pandas.read_csv + insert: {pd_['seconds']:.2f} s, peak {pd_['peak_mb']:,.0f} MB; rows {pd_['rows']:,}")
        print(f"ratio (pandas + DuckDB bulk insert / whatworks): {ratio:.2f}x")
        assert fl["rows"] == rows
        print(f"floor, DuckDB read_csv straight into a table (no checks): {fl['seconds']:.2f} s, peak {fl['peak_mb']:,.0f} MB")
        print(f"largest ratio any DuckDB-based ingest could reach here (pandas + DuckDB bulk insert / floor): "
              f"{pd_['seconds'] / fl['seconds']:.2f}x; whatworks takes {ww['seconds'] / fl['seconds']:.2f}x the floor's time")
        if sq:
            assert sq["rows"] == rows
            print(f"pandas.read_csv + DataFrame.to_sql (SQLite): {sq['seconds']:.2f} s, peak {sq['peak_mb']:,.0f} MB; rows {sq['rows']:,}")
            print(f"ratio (pandas + to_sql / whatworks): {sq['seconds'] / ww['seconds']:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    main()
