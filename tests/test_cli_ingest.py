"""Issue 11 on the terminal: `whatworks unload`, failed files (exit 3, with their hint), --repair-dates and
--on-republished, replaced files with their row differences, report tables that fit 80 columns without cutting
file names, and no store left behind by a failed first ingest."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import EXIT_FILE_FAILED, _print_report, app
from whatworks.store import Store
from whatworks.store.ingest_report import FileOutcome, IngestReport

from test_cli_coverage import street_file

FIX = Path(__file__).parent / "store" / "fixtures" / "policeuk"
runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _spreadsheet_damaged(folder: Path, month: str = "2018-07", n: int = 4) -> Path:
    """A street file opened and saved in Excel: BOM, CRLF, Month written 01/07/2018."""
    good = street_file(folder / "good", month, "Northshire Police", n)
    y, m = month.split("-")
    bad = folder / "excel" / good.name
    bad.parent.mkdir(parents=True)
    lines = [ln.replace(f",{month},", f",01/{m}/{y},") for ln in good.read_text().splitlines()]
    bad.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return bad


def _republished(first: Path, folder: Path) -> Path:
    """The same month in a later download: its first crime removed, the second's outcome changed, one crime added."""
    lines = first.read_text().splitlines()
    header, crimes, asb = lines[0], lines[1:-1], lines[-1]
    added = crimes[0].replace(crimes[0][:64], "z" * 64)
    changed = crimes[1].replace("Under investigation", "Unable to prosecute suspect")
    out = folder / first.name
    folder.mkdir(parents=True)
    out.write_text("\n".join([header, changed, *crimes[2:], added, asb]) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------- unload
def test_unload_prints_rows_removed_per_table(tmp_path):
    db = str(tmp_path / "s.duckdb")
    assert runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", db]).exit_code == 0
    with ww.Store(db, read_only=True) as s:
        b = s.batches()
        first = int(b["batch_id"].iloc[0])
        events_before = int(s.sql(f"SELECT count(*) AS n FROM events WHERE batch_id = {first}")["n"].iloc[0])
        total_before = int(s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0])
    assert events_before > 0
    r = runner.invoke(app, ["unload", str(first), "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert f"Unloaded batch {first}" in r.output and "2024-01-west-yorkshire-street.csv" in r.output
    assert f"events {events_before}" in _flat(r.output.replace("│", " "))
    with ww.Store(db, read_only=True) as s:
        assert int(s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]) == total_before - events_before
        assert first not in set(s.batches()["batch_id"])


def test_unload_unknown_batch_is_a_clear_error(tmp_path):
    db = str(tmp_path / "s.duckdb")
    assert runner.invoke(app, ["ingest", "policeuk", str(FIX), "--store", db]).exit_code == 0
    r = runner.invoke(app, ["unload", "999", "--store", db])
    assert r.exit_code != 0 and isinstance(r.exception, ww.errors.WhatworksError)
    msg = str(r.exception)
    assert "no batch 999" in msg and "Expected one of: 1, 2, 3, 4" in msg and "whatworks status --batches" in msg


def test_unload_of_a_replacing_version_brings_the_earlier_back(tmp_path):
    db = str(tmp_path / "s.duckdb")
    first = street_file(tmp_path / "jul", "2018-07", "Northshire Police", 4)
    assert runner.invoke(app, ["ingest", "policeuk", str(first), "--store", db]).exit_code == 0
    again = _republished(first, tmp_path / "later")
    assert runner.invoke(app, ["ingest", "policeuk", str(again), "--store", db]).exit_code == 0
    r = runner.invoke(app, ["unload", "2", "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "5 row(s) of the earlier version it had replaced are current again" in _flat(r.output)


# ---------------------------------------------------------------- failed files, --repair-dates, --on-republished
def test_spreadsheet_damaged_file_fails_with_exit_3_and_its_hint(tmp_path):
    db = tmp_path / "s.duckdb"
    bad = _spreadsheet_damaged(tmp_path)
    r = runner.invoke(app, ["ingest", "policeuk", str(bad), "--store", str(db)])
    assert r.exit_code == EXIT_FILE_FAILED == 3, (r.output, r.exception)
    out = _flat(r.output)
    assert "FAILED (rolled back, nothing loaded)" in out and "hint:" in out and "'01/07/2018'" in out
    assert "--repair-dates" in out
    # the first ingest loaded nothing: no empty store is left behind
    assert not db.exists() and not Path(str(db) + ".wal").exists()
    assert "No store left behind" in out


def test_repair_dates_loads_the_damaged_file_and_says_so(tmp_path):
    db = str(tmp_path / "s.duckdb")
    bad = _spreadsheet_damaged(tmp_path)
    r = runner.invoke(app, ["ingest", "policeuk", str(bad), "--store", db, "--repair-dates"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "5 read = 5 loaded + 0 quarantined + 0 duplicates skipped" in _flat(r.output)
    assert "repaired: 5 Month value(s)" in _flat(r.output)


def test_republished_month_is_reported_with_its_row_differences(tmp_path):
    db = str(tmp_path / "s.duckdb")
    first = street_file(tmp_path / "jul", "2018-07", "Northshire Police", 4)
    assert runner.invoke(app, ["ingest", "policeuk", str(first), "--store", db]).exit_code == 0
    again = _republished(first, tmp_path / "later")
    r = runner.invoke(app, ["ingest", "policeuk", str(again), "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    out = _flat(r.output)
    assert "2018-07-northshire-street.csv — replaced an earlier version of its month" in out
    assert "row differences: rows 5 before, 5 after: 1 added, 1 removed, 1 outcome(s) changed" in out
    assert "anti-social behaviour rows 1 before, 1 after" in out
    assert "earlier version: batch 1, kept aside (`whatworks unload 2` brings it back)" in out


def test_on_republished_keep_and_error(tmp_path):
    db = str(tmp_path / "s.duckdb")
    first = street_file(tmp_path / "jul", "2018-07", "Northshire Police", 4)
    assert runner.invoke(app, ["ingest", "policeuk", str(first), "--store", db]).exit_code == 0
    again = _republished(first, tmp_path / "later")
    r = runner.invoke(app, ["ingest", "policeuk", str(again), "--store", db, "--on-republished", "keep"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "an earlier version of its month is kept" in _flat(r.output)
    r = runner.invoke(app, ["ingest", "policeuk", str(again), "--store", db, "--on-republished", "error"])
    assert r.exit_code != 0 and isinstance(r.exception, ww.errors.WhatworksError)
    r = runner.invoke(app, ["ingest", "policeuk", str(again), "--store", db, "--on-republished", "maybe"])
    assert r.exit_code == 2 and "replace, keep, error" in r.output


def test_options_are_passed_to_the_store_exactly(tmp_path, monkeypatch):
    seen = []

    def fake(self, path, **kw):
        seen.append(kw)
        return IngestReport((FileOutcome(str(path), "policeuk_street", "loaded", 1, 2, 2),))

    monkeypatch.setattr(Store, "ingest_policeuk", fake)
    db = str(tmp_path / "s.duckdb")
    assert runner.invoke(app, ["ingest", "policeuk", "x.csv", "--store", db]).exit_code == 0
    assert "repair_dates" not in seen[-1] and "on_republished" not in seen[-1]   # the store's own defaults
    assert runner.invoke(app, ["ingest", "policeuk", "x.csv", "--store", db, "--repair-dates",
                               "--on-republished", "keep"]).exit_code == 0
    assert seen[-1]["repair_dates"] is True and seen[-1]["on_republished"] == "keep"
    assert seen[-1]["group_bytes"] == 256 << 20 and seen[-1]["on_unknown"] == "error"


def test_a_failed_file_among_loaded_ones_exits_3_and_keeps_the_store(tmp_path, monkeypatch):
    def fake(self, path, **kw):
        return IngestReport((FileOutcome("a.csv", "policeuk_street", "loaded", 1, 3, 3),
                             FileOutcome("b.csv", "policeuk_street", "failed", None, 7, hint="Month looks like 01/07/2018.")))

    monkeypatch.setattr(Store, "ingest_policeuk", fake)
    db = tmp_path / "s.duckdb"
    r = runner.invoke(app, ["ingest", "policeuk", "x", "--store", str(db)])
    assert r.exit_code == 3
    assert "b.csv — FAILED (rolled back, nothing loaded)" in r.output and "hint: Month looks like 01/07/2018." in r.output
    assert db.exists()   # one file loaded: the new store stays


# ---------------------------------------------------------------- 80 columns, names whole
LONG = "2018-07/2018-07-northshire-police-and-crime-commissioner-street.csv"


def _render(rep, width=80) -> str:
    buf = io.StringIO()
    _print_report(rep, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


def test_report_fits_80_columns_and_never_cuts_a_file_name():
    name = Path(LONG).name
    rep = IngestReport((FileOutcome(f"archive.zip!{LONG}", "policeuk_stop_search", "already_loaded", 1, 31_635, 31_600, 30, 5),
                        FileOutcome("short.csv", "policeuk_outcomes", "loaded", 2, 10, 10)))
    text = _render(rep)
    assert name in text and "short.csv" in text and "…" not in text
    assert max(len(ln) for ln in text.splitlines()) <= 80
    assert " 1  " + name in text      # numbered beneath the table, whole, on its own line
    assert "31,635" in text and "31,600" in text and "stop_search" in text and "already_loaded" in text


def test_report_keeps_the_file_column_when_it_fits():
    rep = IngestReport((FileOutcome("a.csv", "areas", "loaded", 1, 3, 3),))
    text = _render(rep, width=120)
    header = next(ln for ln in text.splitlines() if "format" in ln)
    assert header.split()[0] == "file" and "a.csv" in text


# ---------------------------------------------------------------- no store left behind
def test_failed_first_ingest_that_raises_leaves_no_store(tmp_path):
    db = tmp_path / "new.duckdb"
    r = runner.invoke(app, ["ingest", "policeuk", str(tmp_path / "missing"), "--store", str(db)])
    assert r.exit_code != 0 and "does not exist" in str(r.exception)
    assert not db.exists() and not Path(str(db) + ".wal").exists()


def test_a_store_that_existed_is_never_removed(tmp_path):
    db = tmp_path / "old.duckdb"
    with ww.Store(db):   # an empty store made before the command
        pass
    assert db.exists()
    r = runner.invoke(app, ["ingest", "policeuk", str(tmp_path / "missing"), "--store", str(db)])
    assert r.exit_code != 0 and db.exists()
    bad = _spreadsheet_damaged(tmp_path)
    r = runner.invoke(app, ["ingest", "policeuk", str(bad), "--store", str(db)])
    assert r.exit_code == 3 and db.exists() and "No store left behind" not in r.output


def test_all_refused_first_ingest_leaves_no_store(tmp_path):
    db = tmp_path / "new.duckdb"
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    r = runner.invoke(app, ["ingest", "policeuk", str(odd), "--store", str(db), "--skip-unknown"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "odd.csv — refused (nothing loaded)" in _flat(r.output) and not db.exists()


@pytest.mark.parametrize("cmd", [["ingest", "areas"], ["ingest", "records", "--mapping", "m.toml"]])
def test_other_ingest_commands_leave_no_store_when_they_raise(tmp_path, cmd):
    db = tmp_path / "new.duckdb"
    r = runner.invoke(app, [*cmd, str(tmp_path / "missing"), "--store", str(db)])
    assert r.exit_code != 0 and not db.exists()
