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
    for name in rep.ignored:
        console.print(f"not read (not a data file by its name): {name}")
    console.print(rep.summary())


def _run_ingest(fn, paths, **kw):
    with _progress() as prog:
        task = prog.add_task("ingesting", total=None)

        def cb(source, i, n):
            prog.update(task, total=n, completed=i, description=Path(source.split("!")[-1]).name or "done")

        reports = [fn(p, progress=cb, **kw) for p in paths]
    from whatworks.store.ingest_report import IngestReport

    return IngestReport(tuple(f for r in reports for f in r.files),
                        ignored=tuple(n for r in reports for n in r.ignored))


@ingest_app.command("policeuk")
def ingest_policeuk(paths: List[Path] = typer.Argument(..., help="CSV files, month folders, folders of folders or archive zips."),
                    store: Optional[Path] = StoreOpt,
                    force: Optional[str] = typer.Option(None, help="Force name for stop-and-search files."),
                    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip files that are not police.uk files instead of stopping."),
                    group_mb: int = typer.Option(256, "--group-mb", min=1, help="Most MB of CSV read and committed together (memory use is about twice this).")):
    """Load police.uk street, outcomes and stop-and-search files (recognised by their header)."""
    with _open(store) as s:
        rep = _run_ingest(s.ingest_policeuk, paths, force=force, on_unknown="skip" if skip_unknown else "error",
                          group_bytes=group_mb << 20)
    _print_report(rep)


@ingest_app.command("records")
def ingest_records(paths: List[Path] = typer.Argument(..., help="Export files, folders or zips."),
                   mapping: Path = typer.Option(..., "--mapping", help="TOML mapping file (see docs/records-mapping.md)."),
                   store: Optional[Path] = StoreOpt,
                   skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip files that match no [[files]] block instead of stopping.")):
    """Load a force's records-management (RMS) export through a TOML mapping."""
    with _open(store) as s:
        rep = _run_ingest(lambda p, **kw: s.ingest_records(p, mapping, on_unknown="skip" if skip_unknown else "error", **kw), paths)
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


@app.command()
def synth(seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives byte-identical files."),
          crimes: int = typer.Option(200_000, "--crimes", help="Expected crimes and ASB incidents over the period."),
          months: int = typer.Option(36, "--months", help="Number of months (at least 12)."),
          boroughs: int = typer.Option(8, "--boroughs", help="Number of boroughs."),
          start: str = typer.Option("2022-04", "--start", help="First month, YYYY-MM."),
          out: Path = typer.Option(Path("synthetic-force"), "--out", help="Output folder."),
          no_zip: bool = typer.Option(False, "--no-zip", help="Do not zip the police.uk archive.")):
    """Generate a synthetic force with known truth; write its police.uk archive, RMS export, tables and truth."""
    from whatworks.synth import generate

    force = generate(seed=seed, crimes=crimes, months=months, boroughs=boroughs, start=start)
    with err_console.status("writing …"):
        paths = force.write_all(out, archive=not no_zip)
    t = Table(title="Written")
    t.add_column("output")
    t.add_column("path", overflow="fold")
    for key in ("policeuk", "policeuk_zip", "records", "mapping", "tables", "truth_json", "truth"):
        if key in paths:
            t.add_row(key, str(paths[key]))
    console.print(t)
    console.print(force.summary())


@app.command()
def demo(out: Path = typer.Option(Path("whatworks-demo"), "--out", help="Output folder (refreshed if made by an earlier demo)."),
         seed: int = typer.Option(0, "--seed", help="Random seed of the synthetic force."),
         crimes: int = typer.Option(200_000, "--crimes", help="Expected crimes and ASB incidents."),
         months: int = typer.Option(36, "--months", help="Number of months."),
         boroughs: int = typer.Option(8, "--boroughs", help="Number of boroughs.")):
    """Generate a synthetic force, write it as police.uk and RMS files, load them into a store, and show it all."""
    from whatworks.demo import run_demo

    run_demo(out, seed=seed, crimes=crimes, months=months, boroughs=boroughs, console=console)


@ingest_app.command("areas")
def ingest_areas(paths: List[Path] = typer.Argument(..., help="Area lookup CSV files (long or wide form, see docs/report.md)."),
                 store: Optional[Path] = StoreOpt):
    """Load an area lookup: small area → ward → local authority → force, with population and covariates."""
    with _open(store) as s:
        rep = _run_ingest(s.ingest_areas, paths)
    _print_report(rep)
    for f in rep.files:
        if f.message:
            console.print(f"{Path(f.source).name}: {f.message}")


def _read_weights(path: Optional[Path]):
    if path is None:
        return None
    from whatworks.store.exports import read_weights

    return read_weights(path)


@app.command()
def pack(area: Optional[str] = typer.Option(None, "--area", help="Area code or name (default: the whole store)."),
         period: Optional[str] = typer.Option(None, "--period", help="First..last month, e.g. 2024-04..2025-03 (default: latest 12 months)."),
         out: Path = typer.Option(Path("pack.html"), "--out", help="The HTML file to write."),
         source: Optional[str] = typer.Option(None, "--source", help="Source system whose crimes to count (default: police.uk when there are several)."),
         harm_weights: Optional[Path] = typer.Option(None, "--harm-weights", help="CSV with columns crime_type,weight (your own weights)."),
         no_hotspots: bool = typer.Option(False, "--no-hotspots", help="Leave out the hot-spot map."),
         store: Optional[Path] = StoreOpt):
    """Write the performance pack: one self-contained HTML file (SPC charts, verdicts, year on year, funnels, harm)."""
    from whatworks.report import pack as build

    weights = _read_weights(harm_weights)
    with _open(store, read_only=True) as s:
        r = build(s, area=area, period=period, out=out, source=source, harm_weights=weights, hotspots=not no_hotspots)
    console.print(r.summary())


@app.command()
def landscape(area: str = typer.Option(..., "--area", help="Area code or name (a borough, local authority, ward …)."),
              out: Path = typer.Option(Path("landscape.html"), "--out", help="The HTML file to write."),
              period: Optional[str] = typer.Option(None, "--period", help="First..last month (default: latest 12 months)."),
              source: Optional[str] = typer.Option(None, "--source", help="Source system whose crimes to count."),
              store: Optional[Path] = StoreOpt):
    """Write a one-page profile of an area: crime mix and trend against its most similar areas, residents, workforce."""
    from whatworks.report import landscape as build

    with _open(store, read_only=True) as s:
        r = build(s, area, out=out, period=period, source=source)
    console.print(r.summary())


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
