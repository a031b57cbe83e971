"""``whatworks ingest survey FILE --mapping FILE`` (issue 15, item 1). The lead hooks it up in cli.py with
``from whatworks._cli_survey import register; register(ingest_app)``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(ingest_app: typer.Typer) -> None:
    @ingest_app.command("survey")
    def ingest_survey(
        file: Path = typer.Argument(..., help="Survey microdata: an SPSS .sav file or a CSV."),
        mapping: Path = typer.Option(..., "--mapping", help="TOML mapping ([survey] name, id, date, weight; [rename])."),
        store: Path = typer.Option(None, "--store", help="Store file (default $WHATWORKS_STORE or ./whatworks.duckdb)."),
    ) -> None:
        """Load survey microdata into the store, with row accounting and quarantine."""
        import whatworks as ww
        from whatworks.errors import WhatworksError

        try:
            report = ww.Store(store).ingest_survey(file, mapping=mapping) if store else ww.Store().ingest_survey(file, mapping=mapping)
        except WhatworksError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(3)
        typer.echo(str(report))
