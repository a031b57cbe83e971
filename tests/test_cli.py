"""The command line: ingest, status, quarantine export, errors as one-line reasons with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from whatworks.cli import app

FIX = Path(__file__).parent / "store" / "fixtures" / "policeuk"
runner = CliRunner()


def test_ingest_status_quarantine(tmp_path):
    db = str(tmp_path / "s.duckdb")
    r = runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", db])
    assert r.exit_code == 0, r.output
    assert "21 read = 9 loaded + 9 quarantined + 3 duplicates skipped" in " ".join(r.output.split())
    r = runner.invoke(app, ["status", "--store", db])
    assert r.exit_code == 0 and "West Yorkshire Police" in r.output and "events" in r.output
    out = tmp_path / "q.csv"
    r = runner.invoke(app, ["quarantine", "--export", str(out), "--store", db])
    assert r.exit_code == 0 and "12" in r.output
    assert len(out.read_text().splitlines()) >= 13


def test_every_command_has_help():
    for cmd in (["--help"], ["ingest", "--help"], ["ingest", "policeuk", "--help"], ["ingest", "records", "--help"],
                ["status", "--help"], ["quarantine", "--help"], ["quality", "--help"]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 0 and "Usage" in r.output, cmd


def test_errors_exit_non_zero_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "ingest", "policeuk", str(tmp_path / "missing"),
                           "--store", str(tmp_path / "s.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "does not exist" in lines[0]
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "status", "--store", str(tmp_path / "none.duckdb")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "No store at" in proc.stderr


def test_typer_exit_codes_reach_the_shell(tmp_path):
    # commands that end with typer.Exit(2) (bad input) must exit 2 from the console entry point, not 0: click hands
    # the code back as a value under standalone_mode=False (found in session 8: `export parquet` exited 0)
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "export", "parquet", str(tmp_path / "out"),
                           "--store", str(tmp_path / "none.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "no store at" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_ingest_group_size_option(tmp_path):
    import whatworks as ww

    small, default = str(tmp_path / "small.duckdb"), str(tmp_path / "default.duckdb")
    assert runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", small, "--group-mb", "1"]).exit_code == 0
    assert runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", default]).exit_code == 0
    with ww.Store(small) as a, ww.Store(default) as b:
        q = "SELECT * FROM events ORDER BY event_id"
        assert len(a.sql(q)) > 0 and a.sql(q).equals(b.sql(q))
    bad = runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", small, "--group-mb", "0"])
    assert bad.exit_code != 0
