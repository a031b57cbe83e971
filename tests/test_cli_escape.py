"""Issue 12 item 4: text from data (force, file, area and column names, reasons, hints) never crashes or restyles
the terminal: rich markup in it prints literally, and control and bidi characters are shown as visible escapes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from whatworks.cli import app, cell, safe, visible
from whatworks.store import Store

from test_cli_coverage import street_file

runner = CliRunner()
MARKUP_FORCE = "[/bold] Police"
MARKUP_FILE = "2024-01-[red]-street.csv"


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


# ---------------------------------------------------------------- CHECK OUTPUTS: the pure steps
def test_visible_escapes_controls_and_bidi_but_keeps_newlines():
    assert visible("a\x1b[31mb\u202ec\td\n") == "a\\x1b[31mb\\u202ec\\x09d\n"
    assert visible("x\ny", keep_newlines=False) == "x\\x0ay"
    assert visible("\u200bhidden\ufeff") == "\\u200bhidden\\ufeff"
    assert visible("Leeds 111B – Park Row £5 é") == "Leeds 111B – Park Row £5 é"


def test_safe_prints_markup_literally():
    buf = io.StringIO()
    c = Console(file=buf, width=200, color_system=None)
    c.print(f"[bold]hint[/bold]: {safe('[files.columns]')} {safe(MARKUP_FORCE)} {safe('[red]x[/red]')}")
    c.print(cell("[/x]"))
    assert buf.getvalue().splitlines() == ["hint: [files.columns] [/bold] Police [red]x[/red]", "[/x]"]


@given(st.text())
def test_any_text_prints_without_error_or_raw_control_characters(text):
    buf = io.StringIO()
    c = Console(file=buf, width=80, color_system=None)
    c.print(f"[bold]x[/bold] {safe(text)}")
    c.print(cell(text))
    out = buf.getvalue()
    assert not any((ord(ch) < 0x20 and ch != "\n") or ch in "\u202e\u2066\u200f" for ch in out)


# ---------------------------------------------------------------- the commands
def _hostile_store(tmp_path) -> tuple[str, Path]:
    """A store loaded from a street file whose force is '[/bold] Police' and whose name holds '[red]', with one
    quarantined row (Month 2024-13)."""
    db = str(tmp_path / "s.duckdb")
    folder = tmp_path / "2024-01"
    path = street_file(folder, "2024-01", MARKUP_FORCE, 3, name=MARKUP_FILE)
    lines = path.read_text().splitlines()
    lines.append(lines[1].replace(",2024-01,", ",2024-13,").replace(lines[1][:64], "q" * 64))
    path.write_text("\n".join(lines) + "\n")
    return db, path


def test_markup_in_force_and_file_names_prints_literally(tmp_path):
    db, path = _hostile_store(tmp_path)
    r = runner.invoke(app, ["ingest", "policeuk", str(path), "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert MARKUP_FILE in r.output
    assert "5 read = 4 loaded + 1 quarantined + 0 duplicates skipped" in _flat(r.output)
    for cmd in (["status"], ["quality"], ["quarantine"]):
        r = runner.invoke(app, [*cmd, "--store", db])
        assert r.exit_code == 0, (cmd, r.output, r.exception)
        assert (MARKUP_FORCE in r.output) or cmd == ["quarantine"], cmd
    r = runner.invoke(app, ["status", "--store", db])
    assert f"{MARKUP_FORCE} street: 2024-01 (1 month); no gaps" in _flat(r.output) and MARKUP_FILE in r.output
    r = runner.invoke(app, ["quarantine", "--store", db])
    assert "2024-01-[red]-street" in _flat(r.output)
    out = tmp_path / "q[red].csv"
    r = runner.invoke(app, ["quarantine", "--export", str(out), "--store", db])
    assert r.exit_code == 0 and "Wrote 1 quarantined row(s)" in r.output and "q[red].csv" in _flat(r.output)


def test_control_and_bidi_characters_in_data_are_shown_escaped(tmp_path):
    db = str(tmp_path / "s.duckdb")
    force = "Evil\x1b[31m Police\u202e"
    path = street_file(tmp_path / "2024-01", "2024-01", force, 2, name="2024-01-\u202eevil-street.csv")
    r = runner.invoke(app, ["ingest", "policeuk", str(path), "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "2024-01-\\u202eevil-street.csv" in r.output
    r = runner.invoke(app, ["status", "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "Evil\\x1b[31m Police\\u202e" in r.output
    for text in (r.output,):
        assert "\x1b" not in text and "\u202e" not in text


def test_area_name_with_markup_prints_its_report(tmp_path):
    db = str(tmp_path / "s.duckdb")
    areas = tmp_path / "areas [x].csv"
    areas.write_text("code,name,level,parent_code,population\n"
                     "E08000035,[/x],lad,,\n"
                     "E01011229,Leeds [bold]001A,lsoa,E08000035,1630\n")
    r = runner.invoke(app, ["ingest", "areas", str(areas), "--store", db])
    assert r.exit_code == 0, (r.output, r.exception)
    assert "areas [x].csv" in r.output
    with Store(db, read_only=True) as s:
        assert "[/x]" in set(s.sql("SELECT name FROM areas")["name"])


def test_error_messages_from_data_print_literally(tmp_path):
    missing = tmp_path / "[red]missing[/red] [files.columns]"
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "ingest", "policeuk", str(missing),
                           "--store", str(tmp_path / "s.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "[red]missing[/red] [files.columns]" in lines[0], proc.stderr


def test_trial_commands_show_control_characters_in_unit_ids_escaped(tmp_path):
    import json

    from whatworks._cli_trials import app as trial_app

    protocol = {"trial_id": "t1", "title": "T", "hypotheses": ["h"], "unit": "case", "treatment": "a", "control": "b",
                "primary_outcome": "y", "target_sample": 4, "assignment": {"prob": 0.5, "seed": 1, "block_sizes": [2]},
                "family": "gaussian", "analysis_plan": "ITT"}
    pfile = tmp_path / "p.json"
    pfile.write_text(json.dumps(protocol))
    db = str(tmp_path / "t.duckdb")
    assert runner.invoke(trial_app, ["new", str(pfile), "--store", db]).exit_code == 0
    r = runner.invoke(trial_app, ["assign", "t1", "--unit", "u\x1b[31m1\u202e", "--store", db])
    assert r.exit_code == 0, r.output
    assert "[t1 #1] unit u\\x1b[31m1\\u202e: ASSIGNED to" in r.output
    assert "\x1b" not in r.output and "\u202e" not in r.output
