"""Benchmark: a synthetic national archive (issue 19) — 43 forces × 10 years of police.uk street files (~70M rows).

Steps, each in its own subprocess so peak memory (ru_maxrss) is its own, on the same files in the same run:

1. **generate** the archive in police.uk shape (DuckDB writes each force-month file: ~13,600 rows a file, 30% ASB with
   blank Crime ID, 3% without location; points snapped to a pool of map points as police.uk does);
2. **ingest** it with whatworks (every check, quarantine, BNG coordinates, provenance), and beside it the floor:
   DuckDB's bare ``CREATE TABLE AS SELECT * FROM read_csv(...)`` of the same files;
3. **aggregate** force × month × crime type on the DuckDB store (``store.counts``; bar < 30 s);
4. **export** the store as Parquet (``export_parquet``) and run the same aggregation on local Spark
   (``SparkStore.counts``, 2 cores), checking the answer equals DuckDB's exactly;
5. **link** person records on DuckDB at the sizes given (``benchmarks/people_link.py --records N``), to find where
   this machine's limit is.

Usage: python benchmarks/national.py [--forces 43] [--years 10] [--rows 70000000] [--link 1000000,3000000]
       [--skip-spark] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ingest as _ingest_bench  # noqa: E402  (benchmarks/ingest.py: the crime types and the ingest/floor steps)

TYPES = _ingest_bench.TYPES
SYLLABLES = ["north", "south", "east", "west", "mid", "high", "low", "river", "coast", "forest", "moor", "vale",
             "dale", "fen", "weald", "downs", "peak", "shire", "wold", "marsh", "heath", "cliff", "brook"]


def force_names(n: int) -> list[str]:
    out = []
    for i in range(n):
        a, b = SYLLABLES[i % len(SYLLABLES)], SYLLABLES[(i * 7 + 3) % len(SYLLABLES)]
        out.append(f"{a}-{b}-{i:02d}")
    return out


def generate(root: Path, rows: int, forces: int, years: int) -> int:
    import duckdb

    months = years * 12
    per_file = rows // (forces * months) + 1
    con = duckdb.connect()
    types = "[" + ", ".join("'" + t + "'" for t in TYPES) + "]"
    total = 0
    for fi, force in enumerate(force_names(forces)):
        name = " ".join(w.capitalize() for w in force.split("-")[:2]) + f" Police {fi:02d}"
        for m in range(months):
            month = f"{2015 + m // 12}-{m % 12 + 1:02d}"
            folder = root / month
            folder.mkdir(parents=True, exist_ok=True)
            n = min(per_file, rows - total)
            if n <= 0:
                return total
            seed = fi * 1000 + m
            con.execute(f"""COPY (
              WITH r AS (SELECT i, hash(i, {seed}) AS h, hash(i, {seed}, 7) AS h2 FROM range({n}) t(i)),
              p AS (SELECT i, h, h2, (h % 50000) AS pt, (h2 % 1000) AS u FROM r)
              SELECT CASE WHEN u < 300 THEN NULL ELSE sha256(i::VARCHAR || '-{seed}') END AS "Crime ID",
                     '{month}' AS "Month", '{name}' AS "Reported by", '{name}' AS "Falls within",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE round(-4.5 + ({fi} % 9) * 0.5 + (pt % 250) * 0.002, 6) END AS "Longitude",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE round(50.5 + ({fi} // 9) * 0.8 + (pt // 250) * 0.002, 6) END AS "Latitude",
                     CASE WHEN u % 33 = 0 THEN 'No Location' ELSE 'On or near Street ' || pt END AS "Location",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE 'E01' || lpad(({fi} * 800 + pt % 800)::VARCHAR, 6, '0') END AS "LSOA code",
                     CASE WHEN u % 33 = 0 THEN NULL ELSE 'Somewhere ' || lpad((pt % 300)::VARCHAR, 3, '0') || 'A' END AS "LSOA name",
                     CASE WHEN u < 300 THEN 'Anti-social behaviour' ELSE {types}[(2 + (h2 // 1000) % 13)::BIGINT] END AS "Crime type",
                     CASE WHEN u < 300 THEN NULL ELSE 'Investigation complete; no suspect identified' END AS "Last outcome category",
                     NULL AS "Context"
              FROM p ORDER BY i) TO '{folder / f"{month}-{force}-street.csv"}' (HEADER, DELIMITER ',')""")
            total += n
    return total


# the same ingest and floor steps as the 5M-row benchmark (benchmarks/ingest.py)
INGEST, FLOOR = _ingest_bench.WHATWORKS, _ingest_bench.FLOOR

AGGREGATE = """
import json, sys, time, resource
import whatworks as ww
s = ww.Store(sys.argv[1], read_only=True)
t = time.perf_counter()
out = s.counts(["force", "month", "crime_type"], table=sys.argv[2])
dt = time.perf_counter() - t
out.to_parquet(sys.argv[3])
print(json.dumps({"seconds": dt, "groups": len(out), "total": int(out["count"].sum()),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

EXPORT = """
import json, sys, time, resource
import whatworks as ww
from whatworks.store.parquet import export_parquet
s = ww.Store(sys.argv[1], read_only=True)
t = time.perf_counter()
r = export_parquet(s, sys.argv[2], quiet=True)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": r.rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SPARK = """
import json, sys, time, resource
import pandas as pd
from whatworks.store.spark import SparkStore, local_session
session = local_session(cores=2, memory=sys.argv[4])
sp = SparkStore(sys.argv[1], session=session, quiet=True)
t = time.perf_counter()
out = sp.counts(["force", "month", "crime_type"], table=sys.argv[2])
dt = time.perf_counter() - t
ref = pd.read_parquet(sys.argv[3])
a, b = ref.reset_index(drop=True), out.reset_index(drop=True)
same = (list(a.columns) == list(b.columns) and len(a) == len(b)
        and all((a[c].astype(str) == b[c].astype(str)).all() for c in a.columns))
print(json.dumps({"seconds": dt, "groups": len(out), "equal_to_duckdb": bool(same),
                  "peak_mb_python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"step failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_children_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", type=int, default=43)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--rows", type=int, default=70_000_000)
    ap.add_argument("--link", default="", help="comma-separated person-record counts to link (e.g. 1000000,3000000)")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--skip-floor", action="store_true")
    ap.add_argument("--spark-memory", default="12g")
    ap.add_argument("--keep", default=None, help="work in this folder and keep it")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ww-bench-national-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"forces": args.forces, "years": args.years}
    try:
        data = work / "data"
        if not data.exists():
            t = time.perf_counter()
            rows = generate(data, args.rows, args.forces, args.years)
            files = list(data.rglob("*.csv"))
            size = sum(p.stat().st_size for p in files) / 1e9
            results["generate"] = {"rows": rows, "files": len(files), "gb": round(size, 2),
                                   "seconds": round(time.perf_counter() - t, 1)}
            print(f"generated {rows:,} rows in {len(files):,} files ({size:,.1f} GB) in {results['generate']['seconds']} s",
                  flush=True)
        else:
            rows = None
        store = work / "national.duckdb"
        if not store.exists():
            ing = _run(INGEST, str(store), str(data))
            unaccounted = ing["read"] - (ing["loaded"] + ing["quarantined"] + ing["duplicates"])
            results["ingest"] = {**ing, "unaccounted": unaccounted}
            print(f"whatworks ingest: {ing['seconds']:.1f} s, peak {ing['peak_mb']:,.0f} MB; read {ing['read']:,}, loaded "
                  f"{ing['loaded']:,}, quarantined {ing['quarantined']:,}, duplicates {ing['duplicates']:,}, "
                  f"unaccounted {unaccounted}", flush=True)
            if not args.skip_floor:
                fl = _run(FLOOR, str(work / "floor.duckdb"), str(data))
                (work / "floor.duckdb").unlink(missing_ok=True)
                results["floor"] = fl
                print(f"floor, DuckDB read_csv into a table: {fl['seconds']:.1f} s, peak {fl['peak_mb']:,.0f} MB; "
                      f"whatworks takes {ing['seconds'] / fl['seconds']:.2f}x the floor's time", flush=True)
        agg = _run(AGGREGATE, str(store), "crimes", str(work / "agg_crimes.parquet"))
        results["aggregate_duckdb"] = agg
        print(f"DuckDB counts force x month x type (crimes): {agg['seconds']:.2f} s, {agg['groups']:,} groups, "
              f"peak {agg['peak_mb']:,.0f} MB (bar < 30 s)", flush=True)
        if not args.skip_spark:
            pq = work / "parquet"
            if not pq.exists():
                ex = _run(EXPORT, str(store), str(pq))
                results["export_parquet"] = ex
                print(f"export_parquet: {ex['seconds']:.1f} s, peak {ex['peak_mb']:,.0f} MB", flush=True)
            t = time.perf_counter()
            sp = _run(SPARK, str(pq), "crimes", str(work / "agg_crimes.parquet"), args.spark_memory)
            sp["wall_seconds_with_jvm_start"] = round(time.perf_counter() - t, 1)
            results["aggregate_spark"] = sp
            print(f"local Spark (2 cores) counts force x month x type: {sp['seconds']:.1f} s "
                  f"({sp['wall_seconds_with_jvm_start']} s with JVM start); equal to DuckDB: {sp['equal_to_duckdb']}",
                  flush=True)
        for n in [int(x) for x in args.link.split(",") if x.strip()]:
            t = time.perf_counter()
            out = subprocess.run([sys.executable, str(Path(__file__).with_name("people_link.py")), "--records", str(n)],
                                 capture_output=True, text=True)
            results[f"link_{n}"] = {"rc": out.returncode, "wall_seconds": round(time.perf_counter() - t, 1),
                                    "tail": out.stdout.strip().splitlines()[-6:] if out.stdout else out.stderr[-800:]}
            print(f"link {n:,} records: rc {out.returncode}, {results[f'link_{n}']['wall_seconds']} s", flush=True)
            print("\n".join(results[f"link_{n}"]["tail"] if isinstance(results[f"link_{n}"]["tail"], list)
                            else [results[f"link_{n}"]["tail"]]), flush=True)
        results["peak_child_mb"] = _peak_children_mb()
        print(json.dumps(results, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
