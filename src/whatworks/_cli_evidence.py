"""``whatworks evidence ...``: the "what works" register from the command line (docs/evidence.md).

Mounted by ``whatworks.cli`` with :func:`register`. Every command takes ``--store PATH`` (default: the
``WHATWORKS_STORE`` environment variable, else ``./whatworks.duckdb``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from whatworks.errors import WhatworksError

app = typer.Typer(help="The evidence register: interventions, evaluations, external studies, implementation.",
                  no_args_is_help=True)

_STORE_HELP = "DuckDB store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."
_KINDS = {"intervention": "interventions", "evaluation": "evaluations", "study": "studies",
          "implementation": "implementation"}


def register(root: typer.Typer) -> None:
    """Add the ``evidence`` sub-app to the root ``whatworks`` CLI."""
    root.add_typer(app, name="evidence", help="The what-works register: list, add, show, import, export.")


def _store(store: Optional[Path], read_only: bool = False):
    from whatworks.store import Store

    return Store(store or Path(os.environ.get("WHATWORKS_STORE", "whatworks.duckdb")), read_only=read_only)


def _echo(text, *, err: bool = False) -> None:
    from whatworks._terminal import visible

    typer.echo(visible(text), err=err)


def _fail(exc: Exception, code: int = 2):
    _echo(str(exc), err=True)
    raise typer.Exit(code)


@app.command("list")
def list_(kind: str = typer.Argument("intervention", help="intervention | evaluation | study | implementation"),
          store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """List one kind of record in the register."""
    try:
        if kind not in _KINDS:
            raise WhatworksError(f"evidence list: unknown kind {kind!r}; expected one of {list(_KINDS)}.")
        with _store(store, read_only=True) as s:
            t = s.register().table(_KINDS[kind])
    except WhatworksError as exc:
        _fail(exc)
    if not len(t):
        _echo(f"No {_KINDS[kind]} in the register.")
        return
    _echo(t.dropna(axis=1, how="all").to_string(index=False))


@app.command("add")
def add(kind: str = typer.Argument(..., help="intervention | evaluation | study | implementation"),
        field: List[str] = typer.Option([], "--field", "-f", help="field=value (repeat); see docs/evidence.md."),
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Add (or replace, by id) one record; checked against the register's rules before it is written."""
    from whatworks.evidence.registry import Register

    try:
        if kind not in _KINDS:
            raise WhatworksError(f"evidence add: unknown kind {kind!r}; expected one of {list(_KINDS)}.")
        rec = {}
        for f in field:
            if "=" not in f:
                raise WhatworksError(f"evidence add: --field must be field=value; got {f!r}.")
            k, v = f.split("=", 1)
            rec[k.strip()] = v
        with _store(store) as s:
            s.save_register(Register.from_records(**{_KINDS[kind]: [rec]}), where="evidence add")
    except WhatworksError as exc:
        _fail(exc)
    _echo(f"Saved 1 {kind}.")


@app.command("show")
def show(record_id: str = typer.Argument(..., help="An intervention id (with its evaluations), evaluation or study id."),
         store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Show one record; an intervention with its evaluations and implementation records."""
    try:
        with _store(store, read_only=True) as s:
            reg = s.register()
    except WhatworksError as exc:
        _fail(exc)
    shown = False
    for kind, key in (("interventions", "intervention_id"), ("evaluations", "evaluation_id"), ("studies", "study_id"),
                      ("evaluations", "intervention_id"), ("implementation", "intervention_id")):
        t = reg.table(kind)
        hit = t[t[key] == record_id]
        if len(hit):
            _echo(f"-- {kind} --")
            for _, row in hit.iterrows():
                _echo("\n".join(f"{c}: {v}" for c, v in row.dropna().items()))
                _echo("")
            shown = True
    if not shown:
        _fail(WhatworksError(f"evidence show: no record with id {record_id!r} in the register."))


@app.command("import")
def import_(path: Path = typer.Argument(..., help="A register file, .csv or .json."),
            replace: bool = typer.Option(False, "--replace", help="Make the register exactly the file's records."),
            store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Import a register file in one transaction (a file with any bad record writes nothing)."""
    try:
        with _store(store) as s:
            reg = s.import_register(path, replace=replace)
    except WhatworksError as exc:
        _fail(exc)
    _echo(f"Imported {path}: register now holds {reg!r}.")


@app.command("export")
def export(path: Path = typer.Argument(..., help="Output .csv or .json."),
           overwrite: bool = typer.Option(False, "--overwrite", help="Replace a file whatworks did not write."),
           store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Export the register (byte-stable: export, import, export gives the same file)."""
    try:
        with _store(store, read_only=True) as s:
            out = s.export_register(path, overwrite=overwrite)
    except WhatworksError as exc:
        _fail(exc)
    _echo(f"Wrote {out}")
