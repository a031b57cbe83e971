"""``whatworks spc FILE``: SPC charts of a CSV from the command line (issue 13).

Hooked into the main app by ``whatworks.cli`` with ``register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from whatworks.errors import WhatworksError

EXIT_BAD_INPUT = 2


def spc_command(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A CSV, one row per series × month."),
                value: str = typer.Option(..., "--value", help="Column charted (the numerator for c/u/p charts)."),
                date: str = typer.Option("month", "--date", help="Column of dates or months ('2024-06')."),
                by: Optional[List[str]] = typer.Option(None, "--by", help="Column(s) naming separate series."),
                seasonality: str = typer.Option("none", "--seasonality", metavar="none|auto|month_of_year",
                                                help="Month-of-year adjustment ('auto' tests each series)."),
                chart: str = typer.Option("xmr", "--chart", metavar="xmr|c|u|p|u_prime|p_prime|auto"),
                denominator: Optional[str] = typer.Option(None, "--denominator", help="Denominator column (u/p charts)."),
                improvement: Optional[str] = typer.Option(None, "--improvement", metavar="increase|decrease|neutral"),
                expected: int = typer.Option(0, "--expected", min=0, help="Also print the expected range of the next N months."),
                out: Optional[Path] = typer.Option(None, "--out", help="Write the point table to this CSV."),
                quiet: bool = typer.Option(False, "--quiet", help="Silence announced defaults.")) -> None:
    """SPC charts (XmR, seasonal XmR, c/u/p/p′/u′) of every series in FILE: the verdict on each latest point."""
    import pandas as pd

    from whatworks.performance import spc

    try:
        df = pd.read_csv(file)
        r = spc(df, value, date, by=list(by) if by else None, seasonality=seasonality, chart=chart,
                denominator=denominator, improvement=improvement, quiet=quiet)
    except WhatworksError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(r.summary())
    if expected:
        typer.echo(f"\nExpected range of the next {expected} month(s) with no change:")
        typer.echo(r.expected(next=expected).to_string(index=False))
    if out is not None:
        from whatworks.store.exports import write_text

        write_text(out, r.table.to_csv(index=False))
        typer.echo(f"point table written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``spc`` command to ``app``."""
    app.command("spc")(spc_command)
