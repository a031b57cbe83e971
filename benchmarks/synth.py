"""Benchmark the synthetic force: generate + write at 1M and 10M crimes, with peak memory; and the police.uk
street-file writer against pandas ``to_csv`` (the peer) on the same month, checking both files hold the same rows.

Usage::

    python benchmarks/synth.py                       # 200k (default size), 1M
    python benchmarks/synth.py --sizes 1000000 10000000 --zip

Each size runs in its own process so its peak resident memory (``ru_maxrss``) is its own. Forces above 2M crimes
are not kept in memory: the months are generated while they are written (``keep_in_memory=None`` default).
Outputs go to ``benchmarks/_data/synth-<size>/`` (git-ignored) and are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _one(size: int, out: Path, archive: bool, stream: bool) -> dict:
    import whatworks as ww

    t0 = time.perf_counter()
    force = ww.synth.generate(seed=0, crimes=size, keep_in_memory=False if stream else None)
    t1 = time.perf_counter()
    paths = force.write_all(out, archive=archive)
    t2 = time.perf_counter()
    nbytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"crimes_requested": size, "crimes": force.truth["realised"]["crimes"], "generate_s": round(t1 - t0, 2),
            "write_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2), "zip": archive,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes_written_mb": round(nbytes / 1e6, 1), "kept_in_memory": force._engine.keep,
            "files": len([p for p in out.rglob("*") if p.is_file()]), "zip_path": str(paths.get("policeuk_zip", ""))}


def _peer(tmp: Path) -> dict:
    """One month's police.uk street file: whatworks (pyarrow, streamed) vs pandas to_csv, same rows."""
    import pandas as pd

    import whatworks as ww
    from whatworks.synth import force as W

    force = ww.synth.generate(seed=0, crimes=1_000_000)
    batch = next(iter(force.iter_months()))
    segs = W._Segments(force)
    w = W.PoliceUKWriter(force, tmp / "ww", segs, archive=False)
    t0 = time.perf_counter()
    for _ in range(5):
        w.month(batch)
    t_ww = (time.perf_counter() - t0) / 5
    ours = tmp / "ww" / batch.label / f"{batch.label}-synthshire-street.csv"
    df = pd.read_csv(ours, dtype=str, keep_default_na=False)
    t0 = time.perf_counter()
    for _ in range(5):
        df.to_csv(tmp / "pandas.csv", index=False)
    t_pd = (time.perf_counter() - t0) / 5
    back = pd.read_csv(tmp / "pandas.csv", dtype=str, keep_default_na=False)
    assert back.equals(df), "pandas and whatworks files differ"
    # whatworks writes street + outcomes + stop-and-search in t_ww; pandas only the street file
    return {"rows": len(df), "whatworks_month_all_three_files_s": round(t_ww, 3), "pandas_street_only_s": round(t_pd, 3),
            "ratio_pandas_over_whatworks": round(t_pd / t_ww, 2), "same_rows": True}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[200_000, 1_000_000])
    ap.add_argument("--zip", action="store_true", help="also zip the police.uk archive (as write_all does by default)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--stream", action="store_true", help="never keep the months in memory (the default above 2M crimes)")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer", action="store_true", help="also run the pandas to_csv comparison")
    args = ap.parse_args()
    data = HERE / "_data"
    if args.child is not None:
        out = data / f"synth-{args.child}"
        shutil.rmtree(out, ignore_errors=True)
        res = _one(args.child, out, args.zip, args.stream)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        print(json.dumps(res))
        return
    results = []
    for size in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(size)] + [f"--{o}" for o in ("zip", "keep", "stream") if getattr(args, o)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(proc.returncode)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(res)
        print(f"{res['crimes']:>11,} crimes: generate {res['generate_s']:6.1f} s, write {res['write_s']:6.1f} s, total "
              f"{res['total_s']:6.1f} s, peak RSS {res['peak_rss_mb']:7.0f} MB, {res['bytes_written_mb']:8.0f} MB written "
              f"(zip={res['zip']}, kept in memory={res['kept_in_memory']})")
    if args.peer:
        tmp = data / "synth-peer"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        peer = _peer(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"street file, {peer['rows']:,} rows: pandas to_csv {peer['pandas_street_only_s']} s (street only) vs whatworks "
              f"{peer['whatworks_month_all_three_files_s']} s (street + outcomes + stop-and-search); ratio "
              f"{peer['ratio_pandas_over_whatworks']}x; same rows: {peer['same_rows']}")


if __name__ == "__main__":
    main()
