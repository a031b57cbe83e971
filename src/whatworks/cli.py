"""The ``whatworks`` command line (Typer + rich). Every command has ``--help``; every error exits non-zero
with a one-line reason (set ``WHATWORKS_DEBUG=1`` for the traceback)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# text from data, shown safely: visible / safe / cell live in whatworks._terminal, which every CLI module imports
# (so none imports this module back); re-exported here for callers of whatworks.cli
from whatworks._terminal import cell, safe, visible
from whatworks.errors import WhatworksError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="whatworks: signal vs noise, place, people, trials and evidence for police Evidence & Performance Units.")
ingest_app = typer.Typer(no_args_is_help=True, help="Load data into the store.")
app.add_typer(ingest_app, name="ingest")

console = Console()
err_console = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb).")
EngineOpt = typer.Option("duckdb", "--engine", metavar="duckdb|spark",
                         help="duckdb: --store is a store file; spark: --store is a Parquet store folder "
                              "(`whatworks export parquet`), read on a local Spark session.")

# Exit code of an ingest in which a file failed (all or nearly all of its rows quarantined: rolled back).
EXIT_FILE_FAILED = 3
# Statuses of a file that put rows in the store.
_LOADED_STATUSES = ("loaded", "replaced")

def say(text, *, out: Console | None = None) -> None:
    """Print a message whose text comes from data or from an analysis' summary: literally, never as markup."""
    (out or console).print(cell(text, keep_newlines=True), highlight=False)


def _open(store: Optional[Path], *, read_only: bool = False, engine: str = "duckdb"):
    from whatworks.store import Store, default_store_path

    if engine == "spark":   # a Parquet store folder (`whatworks export parquet`), read on a local Spark session
        if store is None:
            raise WhatworksError("--engine spark needs --store DIR: a Parquet store folder. Hint: write one with "
                                 "`whatworks export parquet DIR --store force.duckdb`.")
        return Store(str(store), engine="spark")
    if engine != "duckdb":
        raise WhatworksError(f"--engine must be duckdb or spark. Got {engine!r} instead.")
    path = default_store_path(store)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise WhatworksError(f"No store at {path!r}. Hint: load data first with `whatworks ingest policeuk PATH --store {path}`.")
    return Store(path, read_only=read_only)


def _progress():
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} files"),
                    TimeElapsedColumn(), console=err_console, transient=True)


def _file_name(source: str) -> str:
    """The file's own name: the last part of a path or of a zip member ('archive.zip!2024-01/x.csv' -> 'x.csv')."""
    return Path(str(source).split("!")[-1]).name


# ------------------------------------------------------------------ the ingest report
_NUMBER_COLUMNS = ("read", "loaded", "quarantined", "duplicates")
# FileOutcome fields the table already shows; any other field with a value is printed under the file (row differences
# of a replaced version, the repair applied, ...), so a field added to FileOutcome is never passed over in silence.
_SHOWN_FIELDS = frozenset({"source", "format", "status", "batch_id", "rows_read", "rows_loaded", "rows_quarantined",
                           "duplicates_skipped", "reasons", "message", "checksum"})


def _format_label(fmt: str | None) -> str:
    """'policeuk_street' -> 'street' (the command already says police.uk); other formats as they are."""
    if not fmt:
        return "-"
    return fmt[len("policeuk_"):] if fmt.startswith("policeuk_") else fmt


def _report_table(rep, *, with_names: bool) -> Table:
    t = Table(title="Ingest", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("file" if with_names else "#", justify="left" if with_names else "right", no_wrap=True)
    # nothing is cut: a narrow terminal wraps these cells rather than ending them with '…'
    t.add_column("format", overflow="fold")
    t.add_column("status", overflow="fold")
    for col in _NUMBER_COLUMNS:
        t.add_column(col, justify="right", overflow="fold")
    for i, f in enumerate(rep.files, start=1):
        first = cell(_file_name(f.source)) if with_names else Text(str(i))
        t.add_row(first, cell(_format_label(f.format)), cell(f.status), f"{f.rows_read:,}", f"{f.rows_loaded:,}",
                  f"{f.rows_quarantined:,}", f"{f.duplicates_skipped:,}")
    return t


def _natural_width(out: Console, renderable) -> int:
    """The width ``renderable`` takes when nothing has to be wrapped or shrunk."""
    return Measurement.get(out, out.options.update_width(10_000), renderable).maximum


def _count(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _extra_fields(f) -> list[str]:
    """Lines for every FileOutcome field beyond the table's that holds a value: the hint of a failed file, the
    row differences of a replaced version, the repair applied, outcomes without their crime, and any other field."""
    import dataclasses

    out = []
    if not dataclasses.is_dataclass(f):
        return out
    for fld in dataclasses.fields(f):
        name, v = fld.name, getattr(f, fld.name)
        if name in _SHOWN_FIELDS or v is None or v == "" or v == () or v == {} or v is False:
            continue
        if name == "hint":
            out.append(f"hint: {v}")
        elif name == "changes":
            out.append(_changes_text(v))
        elif name == "replaced":
            back = f" (`whatworks unload {f.batch_id}` brings it back)" if f.batch_id is not None else ""
            out.append(f"earlier version: batch {', '.join(str(b) for b in v)}, kept aside{back}")
        elif name == "unmatched_outcomes":
            out.append(f"outcome rows whose Crime ID is not a crime in the store: {_count(v)}")
        elif isinstance(v, dict):
            out.append(f"{name.replace('_', ' ')}: " + ", ".join(f"{k} {_count(n)}" for k, n in v.items()))
        elif isinstance(v, (tuple, list)):
            out.append(f"{name.replace('_', ' ')}: {', '.join(str(x) for x in v)}")
        else:
            out.append(f"{name.replace('_', ' ')}: {_count(v)}")
    return out


def _changes_text(ch: dict) -> str:
    """The row differences of a replaced version, e.g. 'rows 5 before, 5 after: 1 added, 1 removed, 1 outcome changed'."""
    ch = dict(ch)
    parts = []
    if "rows_before" in ch or "rows_after" in ch:
        parts.append(f"rows {_count(ch.pop('rows_before', '?'))} before, {_count(ch.pop('rows_after', '?'))} after")
    keyed = [f"{_count(ch.pop(k))} {label}" for k, label in
             (("rows_added", "added"), ("rows_removed", "removed"), ("outcome_changed", "outcome(s) changed")) if k in ch]
    text = "row differences: " + ", ".join(parts) + (": " + ", ".join(keyed) if keyed else "")
    if "asb_before" in ch or "asb_after" in ch:
        text += (f"; anti-social behaviour rows {_count(ch.pop('asb_before', '?'))} before, "
                 f"{_count(ch.pop('asb_after', '?'))} after (no IDs: counts only)")
    if ch:
        text += "; " + ", ".join(f"{k.replace('_', ' ')} {_count(n)}" for k, n in ch.items())
    return text


_STATUS_HEADS = {"failed": "FAILED (rolled back, nothing loaded)", "refused": "refused (nothing loaded)",
                 "replaced": "replaced an earlier version of its month",
                 "kept": "skipped: an earlier version of its month is kept (--on-republished keep)"}


def _print_report(rep, out: Console | None = None) -> None:
    """The ingest table (file names whole: in the table when it fits the terminal, else numbered beneath it),
    then what became of each file that was not simply loaded, then the totals."""
    out = out or console
    t = _report_table(rep, with_names=True)
    if _natural_width(out, t) > out.width:
        t = _report_table(rep, with_names=False)
        out.print(t)
        for i, f in enumerate(rep.files, start=1):
            out.print(Text(f"{i:>3}  ") + cell(_file_name(f.source)), soft_wrap=True)
    else:
        out.print(t)
    for f in rep.files:
        extra = _extra_fields(f)
        if f.status in _STATUS_HEADS or extra or (f.message and f.status != "loaded"):
            head = _STATUS_HEADS.get(f.status, f.status)
            # a replaced file's message repeats its row differences, shown below from its fields
            message = f.message if f.status != "loaded" and not (f.status == "replaced" and getattr(f, "changes", None)) else ""
            out.print(cell(_file_name(f.source)) + Text(f" — {head}" + (f": {visible(message)}" if message else "")),
                      soft_wrap=True)
            for line in extra:
                out.print(Text("    ") + cell(line), soft_wrap=True)
    for name in rep.ignored:
        why = getattr(name, "reason", None) or "not a data file by its name"
        out.print(Text(f"not read ({visible(why)}): ") + cell(name), soft_wrap=True)
    say(rep.summary(), out=out)


def _run_ingest(fn, paths, **kw):
    with _progress() as prog:
        task = prog.add_task("ingesting", total=None)

        def cb(source, i, n):
            prog.update(task, total=n, completed=i, description=safe(_file_name(source)) or "done")

        reports = [fn(p, progress=cb, **kw) for p in paths]
    from whatworks.store.ingest_report import IngestReport

    return IngestReport(tuple(f for r in reports for f in r.files),
                        ignored=tuple(n for r in reports for n in r.ignored))


def _loaded_nothing(rep) -> bool:
    return not any(f.status in _LOADED_STATUSES for f in rep.files)


def _remove_new_store(path: str) -> None:
    """Remove a store file (and its write-ahead log) that this command created and put nothing into."""
    for p in (Path(path), Path(path + ".wal")):
        if p.exists():
            p.unlink()


def _ingest(store: Optional[Path], load, *, report_messages: bool = False):
    """Open (or create) the store, run ``load(store) -> IngestReport``, print the report and exit 3 when a file failed.

    A store file this command created is removed again when the ingest raised or loaded nothing (every file failed
    or was refused), so a failed first ingest leaves no empty store behind; a store that existed before is never removed.
    """
    from whatworks.store import default_store_path

    path = default_store_path(store)
    new = path != ":memory:" and not Path(path).exists() and not Path(path + ".wal").exists()
    rep = None
    try:
        with _open(store) as s:
            rep = load(s)
    finally:
        removed = new and (rep is None or _loaded_nothing(rep)) and Path(path).exists()
        if removed:
            _remove_new_store(path)
    _print_report(rep)
    if removed:
        console.print(Text(f"No store left behind: {visible(path)} was created by this command and nothing was "
                           "loaded into it."), highlight=False, soft_wrap=True)
    if report_messages:
        for f in rep.files:
            if f.message and f.status == "loaded":
                out = cell(_file_name(f.source)) + Text(": ") + cell(f.message)
                console.print(out, soft_wrap=True)
    failed = [f for f in rep.files if f.status == "failed"]
    if failed:
        err_console.print(Text(f"{len(failed)} file(s) failed: their rows were rolled back. Fix the file(s) named "
                               "above and ingest again (see the hint under each)."), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FILE_FAILED)
    return rep


_ON_REPUBLISHED = ("replace", "keep", "error")


@ingest_app.command("policeuk")
def ingest_policeuk(paths: List[Path] = typer.Argument(..., help="CSV files, month folders, folders of folders or archive zips."),
                    store: Optional[Path] = StoreOpt,
                    force: Optional[str] = typer.Option(None, help="Force name for stop-and-search files."),
                    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip files that are not police.uk files instead of stopping."),
                    group_mb: int = typer.Option(256, "--group-mb", min=1, help="Most MB of CSV read and committed together (memory use is about twice this)."),
                    repair_dates: bool = typer.Option(False, "--repair-dates", help="Repair Month columns damaged by a spreadsheet "
                                                      "(01/07/2018, Jul-18) and record that it was done."),
                    on_republished: Optional[str] = typer.Option(None, "--on-republished", metavar="replace|keep|error",
                                                                 help="A file for a force, month and kind already in the store: "
                                                                      "replace the earlier version (the store's default), keep it, or stop.")):
    """Load police.uk street, outcomes and stop-and-search files (recognised by their header).

    Exits 3 when a file failed (all or nearly all of its rows rejected: it is rolled back and its hint printed)."""
    kw = dict(force=force, on_unknown="skip" if skip_unknown else "error", group_bytes=group_mb << 20)
    if repair_dates:
        kw["repair_dates"] = True
    if on_republished is not None:
        if on_republished not in _ON_REPUBLISHED:
            raise typer.BadParameter(f"must be one of {', '.join(_ON_REPUBLISHED)}; got {on_republished!r}.",
                                     param_hint="--on-republished")
        kw["on_republished"] = on_republished
    _ingest(store, lambda s: _run_ingest(s.ingest_policeuk, paths, **kw))


@ingest_app.command("records")
def ingest_records(paths: List[Path] = typer.Argument(..., help="Export files, folders or zips."),
                   mapping: Path = typer.Option(..., "--mapping", help="TOML mapping file (see docs/records-mapping.md)."),
                   store: Optional[Path] = StoreOpt,
                   skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip files that match no [[files]] block instead of stopping.")):
    """Load a force's records-management (RMS) export through a TOML mapping."""
    on_unknown = "skip" if skip_unknown else "error"
    _ingest(store, lambda s: _run_ingest(lambda p, **kw: s.ingest_records(p, mapping, on_unknown=on_unknown, **kw), paths))


# ------------------------------------------------------------------ coverage: months present and gaps
def _month_label(m) -> str:
    import pandas as pd

    return pd.Timestamp(m).strftime("%Y-%m")


def _month_index(m) -> int:
    import pandas as pd

    m = pd.Timestamp(m)
    return m.year * 12 + m.month - 1


def _from_index(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def month_runs(months) -> list[tuple[str, str, int]]:
    """Runs of consecutive months as ``(first, last, n_months)``, in order (duplicates ignored).

    >>> month_runs(["2016-07-01", "2016-08-01", "2018-07-01"])
    [('2016-07', '2016-08', 2), ('2018-07', '2018-07', 1)]
    """
    idx = sorted({_month_index(m) for m in months})
    runs: list[tuple[str, str, int]] = []
    start = prev = None
    for i in idx:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            runs.append((_from_index(start), _from_index(prev), prev - start + 1))
            start = prev = i
    if start is not None:
        runs.append((_from_index(start), _from_index(prev), prev - start + 1))
    return runs


def month_gaps(months) -> list[tuple[str, str, int]]:
    """Runs of months missing between the first and last month present, as ``(first, last, n_months)``."""
    runs = month_runs(months)
    gaps = []
    for (_, last, _), (first, _, _) in zip(runs, runs[1:]):
        a, b = _month_index(last + "-01") + 1, _month_index(first + "-01") - 1
        gaps.append((_from_index(a), _from_index(b), b - a + 1))
    return gaps


def _runs_text(runs) -> str:
    return ", ".join(a if n == 1 else f"{a}..{b}" for a, b, n in runs)


def _months(n: int) -> str:
    return f"{n} month" + ("" if n == 1 else "s")


def coverage_lines(cov) -> list[str]:
    """Plain-English lines from ``Store.coverage()``: per source, force and kind the months present and the gaps,
    then, per kind, the months one force lacks that another force of the same source has.

    >>> import pandas as pd
    >>> cov = pd.DataFrame({"source_system": "police.uk", "force": "Northshire Police", "kind": "street",
    ...                     "month": pd.to_datetime(["2016-07-01", "2017-07-01", "2018-07-01"])})
    >>> coverage_lines(cov)[0]
    'Northshire Police street: 2016-07, 2017-07, 2018-07 (3 months); missing 2016-08..2017-06, 2017-08..2018-06 (22 months)'
    """
    if cov is None or len(cov) == 0:
        return ["Coverage: no months loaded yet."]
    cov = cov.assign(force=cov["force"].astype(object).where(cov["force"].notna(), "(no force)"))
    several_sources = cov["source_system"].nunique() > 1
    lines = []
    keys = ["source_system", "kind", "force"]
    for (src, kind, force), g in cov.groupby(keys, sort=True, dropna=False):
        label = f"{force} {kind}" + (f" ({src})" if several_sources else "")
        runs, gaps = month_runs(g["month"]), month_gaps(g["month"])
        present = sum(n for *_, n in runs)
        text = f"{label}: {_runs_text(runs)} ({_months(present)})"
        if gaps:
            text += f"; missing {_runs_text(gaps)} ({_months(sum(n for *_, n in gaps))})"
        else:
            text += "; no gaps"
        lines.append(text)
    for (src, kind), g in cov.groupby(["source_system", "kind"], sort=True, dropna=False):
        by_force = {f: {_month_index(m) for m in gf["month"]} for f, gf in g.groupby("force", sort=True)}
        if len(by_force) < 2:
            continue
        for force, have in by_force.items():
            for other, theirs in by_force.items():
                lacking = sorted(theirs - have)
                if other == force or not lacking:
                    continue
                months = _runs_text(month_runs([_from_index(i) + "-01" for i in lacking]))
                lines.append(f"{force} has no {kind} file for {months} ({_months(len(lacking))}), which {other} has"
                             + (f" ({src})" if several_sources else "") + ".")
    return lines


def _print_coverage(s) -> None:
    console.print("[bold]Months in the store[/bold] (a month not listed is not loaded: it is missing, not zero)")
    for line in coverage_lines(s.coverage()):
        say("  " + line)


_BATCHES_SHOWN = 10


@app.command()
def status(store: Optional[Path] = StoreOpt,
           batches: bool = typer.Option(False, "--batches", help=f"List every loaded file (batch), not only the latest {_BATCHES_SHOWN}."),
           engine: str = EngineOpt):
    """What is in the store: tables, row counts, forces, months present and missing, quarantine, loaded files."""
    with _open(store, read_only=True, engine=engine) as s:
        st = s.status()
        if st.get("engine") == "spark":   # a Parquet store: no batches or quarantine (they stay in the DuckDB store)
            _print_spark_status(st)
            _print_coverage(s)
            return
        b = s.batches()
        _print_store_status(st)
        _print_coverage(s)
    _print_batches(b, all_rows=batches)


def _print_spark_status(st) -> None:
    written = st.get("written") or "an unknown time"
    console.print(Text("Parquet store ", style="bold") + cell(st["path"]) + Text(
        f" (read on Spark; written {written} by whatworks {st.get('whatworks_version') or '?'})"
        + (f", {st['first_month']:%Y-%m} to {st['last_month']:%Y-%m}" if st["first_month"] is not None else "") + "."),
        highlight=False)
    _print_relations(st["relations"], "Tables")
    console.print(Text("Loaded files, quarantine and unload live in the DuckDB store this was exported from "
                       f"(source fingerprint {st.get('source_fingerprint') or 'not recorded'}): "
                       "`whatworks status --store FILE.duckdb`."), highlight=False)


def _print_relations(relations, title: str) -> None:
    t = Table(title=title)
    t.add_column("name"), t.add_column("type"), t.add_column("rows", justify="right")
    for r in relations.itertuples():
        t.add_row(cell(r.name), cell(r.type), f"{r.rows:,}")
    console.print(t)


def _print_store_status(st) -> None:
    console.print(Text("Store ", style="bold") + cell(st["path"]) + Text(
        f" (schema v{st['schema_version']}): {st['files_loaded']} file(s) loaded, "
        f"{st['rows_read']:,} rows read, {st['events']:,} events"
        + (f" from {st['first_month']:%Y-%m} to {st['last_month']:%Y-%m}" if st["first_month"] else "") + "."),
        highlight=False)
    _print_relations(st["relations"], "Tables and views")
    if len(st["by_force"]):
        t = Table(title="Events by force")
        t.add_column("force"), t.add_column("kind"), t.add_column("rows", justify="right")
        for r in st["by_force"].itertuples():
            t.add_row(cell(r.force), cell(r.kind), f"{r.rows:,}")
        console.print(t)
    if len(st["quarantine"]):
        t = Table(title="Quarantine (whatworks quarantine --export FILE to see the rows)")
        t.add_column("category"), t.add_column("reason"), t.add_column("rows", justify="right")
        for r in st["quarantine"].head(15).itertuples():
            t.add_row(cell(r.category), cell(r.reason), f"{r.rows:,}")
        console.print(t)
    else:
        console.print("Quarantine: empty.")


def _print_batches(b, *, all_rows: bool) -> None:
    """One line per loaded file, its name last and whole (never cut to fit a table column)."""
    import pandas as pd

    if b is None or len(b) == 0:
        return
    shown = b if all_rows else b.tail(_BATCHES_SHOWN)
    title = "Loaded files (batches)" if len(shown) == len(b) else f"Loaded files (batches): latest {len(shown)} of {len(b)}"
    console.print(f"[bold]{title}[/bold]: batch, format, rows loaded, file")
    versions = "superseded_by" in b.columns and b["superseded_by"].notna().any()
    fmt_w = max(len(_format_label(f)) for f in shown["format"])
    id_w = max(len(str(i)) for i in shown["batch_id"])
    for r in shown.itertuples():
        line = f"  {r.batch_id:>{id_w}}  {_format_label(r.format):<{fmt_w}}  {r.rows_loaded:>9,}  "
        if versions and not pd.isna(r.superseded_by):
            line += f"(replaced by batch {int(r.superseded_by)}) "
        say(line + visible(_file_name(r.source_file)))
    if versions:
        n = int(b["superseded_by"].notna().sum())
        console.print(f"{n} earlier version(s) of republished months are kept aside (not counted); unloading the batch "
                      "that replaced one brings it back.", highlight=False)
    more = "" if len(shown) == len(b) else " `whatworks status --batches` lists them all."
    console.print(Text(f"`whatworks unload BATCH` removes one loaded file (its rows, quarantine and record).{more}"),
                  highlight=False)


@app.command()
def unload(batch: int = typer.Argument(..., help="The batch (one loaded file) to remove; `whatworks status` lists them."),
           store: Optional[Path] = StoreOpt):
    """Remove everything one loaded file (batch) put in the store, in one transaction; prints the rows removed per table."""
    from whatworks.store import default_store_path

    with _open(store, read_only=True) as s:
        b = s.batches()
    path = default_store_path(store)
    if batch not in set(b["batch_id"].astype(int)):
        known = ", ".join(str(i) for i in b["batch_id"].astype(int).tolist()[:20]) or "none"
        raise WhatworksError(f"unload: no batch {batch} in the store {path!r}. Expected one of: {known}. "
                             f"Hint: `whatworks status --batches --store {path}` lists the loaded files and their batch numbers.")
    row = b[b["batch_id"].astype(int) == batch].iloc[0]
    with _open(store) as s:
        removed = s.unload(batch)
    t = Table(title=Text(f"Unloaded batch {batch}: {visible(_file_name(row.source_file))}"))
    t.add_column("table"), t.add_column("rows removed", justify="right")
    gone = {k: int(n) for k, n in removed.items() if n and not k.startswith("restored")}
    back = {k: int(n) for k, n in removed.items() if n and k.startswith("restored")}
    for name, n in gone.items():
        t.add_row(cell(name), f"{n:,}")
    console.print(t)
    console.print(f"{sum(gone.values()):,} row(s) removed from {len(gone)} table(s).", highlight=False)
    for name, n in back.items():
        console.print(Text(f"{n:,} row(s) of the earlier version it had replaced are current again ({visible(name)})."),
                      highlight=False)


@app.command()
def quarantine(export: Optional[Path] = typer.Option(None, "--export", help="Write the quarantined rows to this .csv/.parquet/.json file."),
               category: Optional[str] = typer.Option(None, help="'invalid' or 'duplicate' (default both)."),
               include_personal: bool = typer.Option(
                   False, "--include-personal",
                   help="Export RMS rows' raw values as recorded (default: masked by shape, e.g. 99/99/9999)."),
               overwrite: bool = typer.Option(False, "--overwrite",
                                              help="Replace an existing file that whatworks did not write."),
               store: Optional[Path] = StoreOpt):
    """Show or export the quarantined rows (with file, row number, reason and raw values)."""
    with _open(store, read_only=True) as s:
        if export:
            n = s.export_quarantine(export, category=category, include_personal=include_personal, overwrite=overwrite)
            say(f"Wrote {n:,} quarantined row(s) to {visible(str(export))} (provenance beside it).")
            if include_personal:
                err_console.print(Text("whatworks: --include-personal: personal data from RMS exports is in "
                                       f"{visible(str(export))} as recorded; this is noted in its provenance file. "
                                       "Keep it where personal data may be kept."), highlight=False)
            return
        q = s.quarantine(category=category)
    if q.empty:
        console.print("Quarantine: empty.")
        return
    t = Table(title=f"Quarantine: {len(q):,} row(s) (first 30)")
    for c in ("source_file", "source_row", "category", "reason"):
        t.add_column(c)
    for r in q.head(30).itertuples():
        t.add_row(cell(_file_name(r.source_file)), str(r.source_row), cell(r.category), cell(r.reason))
    console.print(t)


@app.command()
def quality(store: Optional[Path] = StoreOpt):
    """Data-quality profile: months present and missing, completeness by source and month, codes that appear or
    vanish, duplicates, late records."""
    from whatworks.quality import profile

    with _open(store, read_only=True) as s:
        prof = profile(s.quality_counts())
        _print_coverage(s)
    say(prof.summary())


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
            t.add_row(key, cell(paths[key]))
    console.print(t)
    say(force.summary())


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
    _ingest(store, lambda s: _run_ingest(s.ingest_areas, paths), report_messages=True)


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
         overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file that whatworks did not write."),
         public: bool = typer.Option(False, "--public", help="Write the public version: small counts suppressed (with "
                                     "secondary suppression), person-level lists left out (docs/report.md, Publishing)."),
         disclosure_threshold: Optional[int] = typer.Option(
             None, "--disclosure-threshold", help="With --public: counts from 1 to one under N are suppressed (default 5)."),
         marking: Optional[str] = typer.Option(
             None, "--marking", help="Security marking of a working pack (default: OFFICIAL-SENSITIVE — not for publication)."),
         store: Optional[Path] = StoreOpt, engine: str = EngineOpt):
    """Write the performance pack: one self-contained HTML file (SPC charts, verdicts, year on year, funnels, harm)."""
    from whatworks.report import pack as build

    weights = _read_weights(harm_weights)
    with _open(store, read_only=True, engine=engine) as s:
        r = build(s, area=area, period=period, out=out, source=source, harm_weights=weights, hotspots=not no_hotspots,
                  overwrite=overwrite, public=public, disclosure_threshold=disclosure_threshold, marking=marking)
    say(r.summary())


@app.command()
def landscape(area: str = typer.Option(..., "--area", help="Area code or name (a borough, local authority, ward …)."),
              out: Path = typer.Option(Path("landscape.html"), "--out", help="The HTML file to write."),
              period: Optional[str] = typer.Option(None, "--period", help="First..last month (default: latest 12 months)."),
              source: Optional[str] = typer.Option(None, "--source", help="Source system whose crimes to count."),
              overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file that whatworks did not write."),
              public: bool = typer.Option(False, "--public", help="Write the public version: small counts suppressed "
                                          "(with secondary suppression), workforce left out (docs/report.md, Publishing)."),
              disclosure_threshold: Optional[int] = typer.Option(
                  None, "--disclosure-threshold", help="With --public: counts from 1 to one under N are suppressed (default 5)."),
              marking: Optional[str] = typer.Option(
                  None, "--marking", help="Security marking of a working landscape (default: OFFICIAL-SENSITIVE — not for publication)."),
              store: Optional[Path] = StoreOpt, engine: str = EngineOpt):
    """Write a one-page profile of an area: crime mix and trend against its most similar areas, residents, workforce."""
    from whatworks.report import landscape as build

    with _open(store, read_only=True, engine=engine) as s:
        r = build(s, area, out=out, period=period, source=source, overwrite=overwrite, public=public,
                  disclosure_threshold=disclosure_threshold, marking=marking)
    say(r.summary())


def _mount_optional() -> None:
    # Capability CLIs register themselves here when their modules exist.
    try:
        from whatworks._cli_trials import app as trial_app
    except ModuleNotFoundError as exc:
        if exc.name != "whatworks._cli_trials":
            raise
    else:
        app.add_typer(trial_app, name="trial", help="Register, randomise, verify and analyse trials.")
    # the capability CLIs that live in modules of their own: each has register(app), register(ingest_app) when
    # it adds an `ingest` command, or register(ingest_app, app) for both (each parameter gets the app it names)
    import importlib
    import inspect

    for name in _CAPABILITY_CLIS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        params = inspect.signature(mod.register).parameters
        mod.register(*[ingest_app if p == "ingest_app" else app for p in params])


_CAPABILITY_CLIS = ("whatworks._cli_spc", "whatworks._cli_impact", "whatworks._cli_survey", "whatworks._cli_evidence", "whatworks._cli_app",
                    "whatworks._cli_export", "whatworks._cli_place", "whatworks._cli_people")


_mount_optional()


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def main() -> None:
    """Console entry point: run the app, turning errors into one-line reasons and a non-zero exit."""
    try:
        # with standalone_mode=False click hands back typer.Exit's code instead of exiting: pass it to the shell
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except SystemExit:
        raise
    except WhatworksError as exc:
        err_console.print(f"[red]error:[/red] {safe(_first_line(exc))}", highlight=False, soft_wrap=True)
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
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {safe(_first_line(exc))}", highlight=False, soft_wrap=True)
        if os.environ.get("WHATWORKS_DEBUG"):
            raise
        sys.exit(2)


if __name__ == "__main__":
    main()
