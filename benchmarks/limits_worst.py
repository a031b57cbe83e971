"""Benchmark: the time and memory of the worst input at each of the readers' limits (issue 12, "Numbers").

For each limit in ``whatworks.store.limits.Limits`` (and for the hostile shapes the limits guard against), writes the
worst input a reader can be given at that limit, ingests it in a fresh subprocess (a fresh ``Store(":memory:")``), and
reports what the reader did (refused / quarantined, with the reason's first words), the wall time, and the
subprocess's peak resident memory (``ru_maxrss`` from ``os.wait4``: the whole process, DuckDB included). The floor
for each is a subprocess that only imports whatworks and opens an empty store (its time and memory are shown in the
first row), and, for the big files, reading the bytes once (``wc -c``-like).

Nothing is written outside a temporary folder, which is removed at the end.

Usage: python benchmarks/limits_worst.py [--quick]   (``--quick`` skips the 2 GiB zip and the 1,000,000-field line)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")
F = "West Yorkshire Police"


def row(i: int, location: str = "On or near Park Row") -> str:
    return f"2024-01{i:057d},2024-01,{F},{F},-1.5,53.8,{location},E01011365,Leeds 111B,Burglary,,"


def street(path: Path, lines: list[str]) -> Path:
    with open(path, "w") as fh:
        fh.write(HEADER + "\n")
        for line in lines:
            fh.write(line + "\n")
    return path


CHILD = """
import time, whatworks as ww
from whatworks.store.limits import Limits
ww.options.quiet = True
t0 = time.perf_counter()
s = ww.Store(":memory:")
try:
    rep = {call}
    f = rep.files[0] if rep is not None and rep.files else None
    q = s.sql("SELECT reason FROM quarantine")["reason"].tolist()
    ign = [getattr(i, "reason", str(i)) for i in rep.ignored] if rep is not None else []
    what = (f"{{f.status}}: read {{f.rows_read}}, loaded {{f.rows_loaded}}, quarantined {{f.rows_quarantined}}"
            if f else "no file read") + (f"; quarantine: {{q[0][:90]}}" if q else "") + (f"; ignored: {{ign[0][:90]}}" if ign else "")
except ww.errors.WhatworksError as exc:
    what = "refused: " + str(exc).splitlines()[0][:140]
print("RESULT", round(time.perf_counter() - t0, 3), what, flush=True)
"""


def run_child_rss(call: str, tmp: Path, timeout: float = 600) -> tuple[float, float, str]:
    """As :func:`run_child`, measuring the child's own peak RSS with ``os.wait4``."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    out_path, err_path = tmp / "child.out", tmp / "child.err"
    t0 = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD.format(call=call)], stdout=out, stderr=err, env=env)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                return time.perf_counter() - t0, usage.ru_maxrss / 1024, f"TIMEOUT after {timeout} s"
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    rss = usage.ru_maxrss / 1024
    text = out_path.read_text()
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        e = err_path.read_text().strip()
        return wall, rss, f"CRASH rc {proc.returncode}: {e.splitlines()[-1][:160] if e else ''}"
    return wall, rss, line.split(" ", 2)[2]


def read_floor(path: Path) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass
    return time.perf_counter() - t0


def cases(tmp: Path, quick: bool):
    """(limit, input, call) for each worst input; inputs are written when the case is reached."""
    def ing(p: Path, extra: str = "") -> str:
        return f"s.ingest_policeuk({str(p)!r}{extra})"

    def bomb():
        z = tmp / "bomb.zip"
        chunk = bytes(1 << 20)
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            with zf.open("2024-01/2024-01-west-yorkshire-street.csv", "w", force_zip64=True) as fh:
                fh.write((HEADER + "\n").encode())
                for _ in range(2048):
                    fh.write(chunk)
        return ing(z)

    def member_over_size():
        z = tmp / "big.zip"
        lines = [row(i) for i in range(400_000)]          # ≈ 66 MiB of ordinary rows: compresses ≈ 20:1
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr("2024-01-west-yorkshire-street.csv", HEADER + "\n" + "\n".join(lines) + "\n")
        return ing(z, ", limits=Limits(max_member_bytes=64 << 20)")

    def nested():
        inner = b""
        data = (HEADER + "\n" + row(1) + "\n").encode()
        name = "2024-01-west-yorkshire-street.csv"
        for depth in range(5):
            buf = tmp / f"n{depth}.zip"
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr(name, data)
            data, name = buf.read_bytes(), f"inner{depth}.zip"
        z = tmp / "nested.zip"
        z.write_bytes(data)
        return ing(z)

    def long_line():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(1), "A" * ((16 << 20) + 1), row(2)]))

    def long_field():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(1), row(2, "A" * ((1 << 20) + 1)), row(3)]))

    def field_50mb():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(1), row(2, "A" * (50 << 20)), row(3)]))

    def wide(n):
        def make():
            return ing(street(tmp / "2024-01-wy-street.csv", [row(1), "," * (n - 1), row(2)]))
        return make

    def unterminated_first():
        lines = [row(i) for i in range(200_000)]
        lines[0] = lines[0].replace("On or near Park Row", '"On or near Park Row')
        return ing(street(tmp / "2024-01-wy-street.csv", lines))

    def clean_200k():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(i) for i in range(200_000)]))

    def exact_200k():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(i) for i in range(200_000)]), ", force_exact=True") \
            .replace("s.ingest_policeuk(", "__import__('whatworks.store.policeuk', fromlist=['ingest']).ingest(s.con, ") \
            .replace(", force_exact=True)", ", version='bench', force_exact=True)")

    def raw_cut():
        return ing(street(tmp / "2024-01-wy-street.csv", [row(1), "x," * 40_000 + "\xe9" * 40_000, row(2)]))

    out = [
        ("max_member_bytes (at a lowered 64 MiB: a 66 MiB member)", member_over_size),
        ("max_zip_depth 3 (zips nested 5 deep)", nested),
        ("max_line_bytes 16 MiB (a 16 MiB + 1 line)", long_line),
        ("max_field_bytes 1 MiB (a 1 MiB + 1 field)", long_field),
        ("max_field_bytes 1 MiB (a 50 MiB field)", field_50mb),
        ("max_fields_per_line 1,000 (1,001 fields)", wide(1_001)),
        ("max_fields_per_line 1,000 (100,001 fields)", wide(100_001)),
        ("max_raw_bytes 64 KiB (a 120 KiB bad row)", raw_cut),
        ("unterminated quote on row 2 of 200,000", unterminated_first),
        ("(for comparison) the same 200,000 rows, no quote: fast path", clean_200k),
        ("(for comparison) the same 200,000 rows, no quote: exact path", exact_200k),
    ]
    if not quick:
        out.insert(0, ("max_compression_ratio 100 (a 9 MB zip, 2 GiB member)", bomb))
        out.insert(8, ("max_fields_per_line 1,000 (1,000,001 fields)", wide(1_000_001)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="whatworks-limits-"))
    rows = []
    bad = 0
    try:
        base = root / "base"
        base.mkdir()
        wall, rss, _ = run_child_rss("None", base)
        rows.append(("floor: import whatworks, open an empty store", "-", f"{wall:.2f}", f"{rss:,.0f}", "-", "-"))
        for label, make in cases(root, args.quick):
            tmp = root / f"case{len(rows)}"
            tmp.mkdir()
            call = make()          # writes the input under root; the call names it first
            path = Path(call.split("(", 1)[1].split(",")[0].rstrip(")").strip("'\""))
            if "s.con" in call:
                path = Path(call.split("s.con, ", 1)[1].split(",")[0].strip("'\""))
            size = path.stat().st_size
            floor = read_floor(path)
            wall, rss, what = run_child_rss(call, tmp)
            left = [p.name for p in tmp.iterdir() if p.name.startswith("whatworks-")]
            if what.startswith(("CRASH", "TIMEOUT")) or left:
                bad += 1
            rows.append((label, f"{size:,}", f"{wall:.2f}", f"{rss:,.0f}", f"{floor:.3f}",
                         what + (f" [temp left: {left}]" if left else "")))
            for p in root.glob("*.zip"):
                p.unlink()
            for p in root.glob("*.csv"):
                p.unlink()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("| limit (worst input) | input bytes | wall s | peak RSS MiB | read floor s | what the reader did |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
