"""``whatworks export parquet DIR``: the store as a Parquet store folder for Spark (issue 19).

Mounted by ``whatworks.cli`` with ``register(app)``. ``--append`` adds the store's source × force × month partitions
to an existing Parquet store (a republished month replaces its partition whole); ``--include-personal`` also writes
``persons`` and ``person_links`` (names, dates of birth, addresses), and says so on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from whatworks._terminal import visible
from whatworks.errors import WhatworksError

EXIT_BAD_INPUT = 2

export_app = typer.Typer(help="Write the store for other engines and tools (Parquet for Spark).", no_args_is_help=True)


@export_app.command("parquet")
def parquet_command(
        folder: Path = typer.Argument(..., help="The Parquet store folder to write (with --append: to add to)."),
        store: Optional[Path] = typer.Option(None, "--store",
                                             help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."),
        append: bool = typer.Option(False, "--append", help="Add this store's months to an existing Parquet store "
                                                            "(a month already there is replaced whole)."),
        include_personal: bool = typer.Option(False, "--include-personal",
                                              help="Also write persons and person_links (personal data)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing Parquet store whatworks wrote."),
        quiet: bool = typer.Option(False, "--quiet", help="Silence announced defaults.")) -> None:
    """Write the store as Parquet partitioned by source system, force and month, for `--engine spark`."""
    from whatworks.store import Store, default_store_path
    from whatworks.store.parquet import append_parquet, export_parquet

    path = default_store_path(store)
    try:
        if append and (include_personal or overwrite):
            raise WhatworksError("export parquet: --append adds months to a Parquet store as it is; it takes neither "
                                 "--include-personal nor --overwrite. Hint: write a new folder for those.")
        if path == ":memory:" or not Path(path).exists():
            raise WhatworksError(f"export parquet: no store at {str(path)!r}. Hint: load data first with "
                                 f"`whatworks ingest policeuk PATH --store {path}`.")
        with Store(path, read_only=True) as s:
            if append:
                r = append_parquet(s, folder, quiet=quiet)
            else:
                r = export_parquet(s, folder, include_personal=include_personal, overwrite=overwrite, quiet=quiet)
    except WhatworksError as exc:
        typer.echo(visible(str(exc)), err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if include_personal:
        typer.echo(visible(f"personal data written: persons and person_links are in {folder} (--include-personal); "
                           "protect the folder as you protect the store."), err=True)
    typer.echo(visible(r.summary()))


def register(app) -> None:
    app.add_typer(export_app, name="export")


__all__ = ["register", "export_app"]
