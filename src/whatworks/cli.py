"""The ``whatworks`` command line (Typer + rich). Every command has ``--help``; every error exits non-zero
with a one-line reason (set ``WHATWORKS_DEBUG=1`` for the traceback)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from whatworks.errors import WhatworksError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="whatworks: signal vs noise, place, people, trials and evidence for police Evidence & Performance Units.")
ingest_app = typer.Typer(no_args_is_help=True, help="Load data into the store.")
app.add_typer(ingest_app, name="ingest")

console = Console()
err_console = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb).")


def _open(store: Optional[Path], *, read_only: bool = False):
    from whatworks.store import Store, default_store_path

    path = default_store_path(store)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise WhatworksError(f"No store at {path!r}. Hint: load data first with `whatworks ingest policeuk PATH --store {path}`.")
    return Store(path, read_only=read_only)


def _progress():
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} files"),
                    TimeElapsedColumn(), console=err_console, transient=True)


def _print_report(rep) -> None:
    t = Table(title="Ingest", show_lines=False)
    for col in ("file", "format", "status", "read", "loaded", "quarantined", "duplicates"):
        t.add_column(col, justify="right" if col in ("read", "loaded", "quarantined", "duplicates") else "left")
    for f in rep.files:
        t.add_row(Path(f.source.split("!")[-1]).name, f.format or "-", f.status, f"{f.rows_read:,}", f"{f.rows_loaded:,}",
                  f"{f.rows_quarantined:,}", f"{f.duplicates_skipped:,}")
    console.print(t)
    console.print(rep.summary())


def _run_ingest(fn, paths, **kw):
    with _progress() as prog:
        task = prog.add_task("ingesting", total=None)

        def cb(source, i, n):
            prog.update(task, total=n, completed=i, description=Path(source.split("!")[-1]).name or "done")

        reports = [fn(p, progress=cb, **kw) for p in paths]
    from whatworks.store.ingest_report import IngestReport

    return IngestReport(tuple(f for r in reports for f in r.files))


@ingest_app.command("policeuk")
def ingest_policeuk(paths: List[Path] = typer.Argument(..., help="CSV files, month folders, folders of folders or archive zips."),
                    store: Optional[Path] = StoreOpt,
                    force: Optional[str] = typer.Option(None, help="Force name for stop-and-search files."),
                    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip files that are not police.uk files instead of stopping.")):
    """Load police.uk street, outcomes and stop-and-search files (recognised by their header)."""
    with _open(store) as s:
        rep = _run_ingest(s.ingest_policeuk, paths, force=force, on_unknown="skip" if skip_unknown else "error")
    _print_report(rep)


@ingest_app.command("records")
def ingest_records(paths: List[Path] = typer.Argument(..., help="Export files, folders or zips."),
                   mapping: Path = typer.Option(..., "--mapping", help="TOML mapping file (see docs/records-mapping.md)."),
                   store: Optional[Path] = StoreOpt):
    """Load a force's records-management (RMS) export through a TOML mapping."""
    with _open(store) as s:
        rep = _run_ingest(lambda p, **kw: s.ingest_records(p, mapping, **kw), paths)
    _print_report(rep)


@app.command()
def status(store: Optional[Path] = StoreOpt):
    """What is in the store: tables, row counts, forces, date range, quarantine."""
    with _open(store, read_only=True) as s:
        st = s.status()
    console.print(f"[bold]Store[/bold] {st['path']} (schema v{st['schema_version']}): {st['files_loaded']} file(s) loaded, "
                  f"{st['rows_read']:,} rows read, {st['events']:,} events"
                  + (f" from {st['first_month']:%Y-%m} to {st['last_month']:%Y-%m}" if st["first_month"] else "") + ".")
    t = Table(title="Tables and views")
    t.add_column("name"), t.add_column("type"), t.add_column("rows", justify="right")
    for r in st["relations"].itertuples():
        t.add_row(r.name, r.type, f"{r.rows:,}")
    console.print(t)
    if len(st["by_force"]):
        t = Table(title="Events by force")
        t.add_column("force"), t.add_column("kind"), t.add_column("rows", justify="right")
        for r in st["by_force"].itertuples():
            t.add_row(str(r.force), r.kind, f"{r.rows:,}")
        console.print(t)
    if len(st["quarantine"]):
        t = Table(title="Quarantine (whatworks quarantine --export FILE to see the rows)")
        t.add_column("category"), t.add_column("reason"), t.add_column("rows", justify="right")
        for r in st["quarantine"].head(15).itertuples():
            t.add_row(r.category, r.reason, f"{r.rows:,}")
        console.print(t)
    else:
        console.print("Quarantine: empty.")


@app.command()
def quarantine(export: Optional[Path] = typer.Option(None, "--export", help="Write the quarantined rows to this .csv/.parquet/.json file."),
               category: Optional[str] = typer.Option(None, help="'invalid' or 'duplicate' (default both)."),
               store: Optional[Path] = StoreOpt):
    """Show or export the quarantined rows (with file, row number, reason and raw values)."""
    with _open(store, read_only=True) as s:
        if export:
            n = s.export_quarantine(export, category=category)
            console.print(f"Wrote {n:,} quarantined row(s) to {export}.")
            return
        q = s.quarantine(category=category)
    if q.empty:
        console.print("Quarantine: empty.")
        return
    t = Table(title=f"Quarantine: {len(q):,} row(s) (first 30)")
    for c in ("source_file", "source_row", "category", "reason"):
        t.add_column(c)
    for r in q.head(30).itertuples():
        t.add_row(Path(r.source_file.split("!")[-1]).name, str(r.source_row), r.category, r.reason)
    console.print(t)


@app.command()
def quality(store: Optional[Path] = StoreOpt):
    """Data-quality profile: completeness by source and month, codes that appear or vanish, duplicates, late records."""
    with _open(store, read_only=True) as s:
        prof = s.quality()
    console.print(prof.summary())


def _mount_optional() -> None:
    # Capability CLIs register themselves here when their modules exist.
    try:
        from whatworks._cli_trials import app as trial_app
    except ModuleNotFoundError as exc:
        if exc.name != "whatworks._cli_trials":
            raise
    else:
        app.add_typer(trial_app, name="trial", help="Register, randomise, verify and analyse trials.")


_mount_optional()


def main() -> None:
    """Console entry point: run the app, turning errors into one-line reasons and a non-zero exit."""
    try:
        app(standalone_mode=False)
    except SystemExit:
        raise
    except WhatworksError as exc:
        err_console.print(f"[red]error:[/red] {str(exc).splitlines()[0]}", highlight=False, soft_wrap=True)
        if os.environ.get("WHATWORKS_DEBUG"):
            raise
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the CLI must end with a one-line reason, never a raw traceback
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            err_console.print("aborted")
            sys.exit(130)
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", highlight=False, soft_wrap=True)
        if os.environ.get("WHATWORKS_DEBUG"):
            raise
        sys.exit(2)


if __name__ == "__main__":
    main()
