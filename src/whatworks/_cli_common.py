"""What the command-line modules share: terminal output of data, the one-line refusal, the store path.

``whatworks.cli`` mounts the capability CLIs (``_cli_place``, ``_cli_people``, ``_cli_export`` …); each prints data
through :func:`echo` (control and bidi characters escaped) and ends a refusal with :func:`fail`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from whatworks._terminal import visible

EXIT_BAD_INPUT = 2

__all__ = ["EXIT_BAD_INPUT", "echo", "fail", "store_path"]


def echo(text, *, err: bool = False) -> None:
    """Print text that may hold data (names, ids, file names) with control and bidi characters shown escaped."""
    typer.echo(visible(text), err=err)


def fail(exc: BaseException, code: int = EXIT_BAD_INPUT):
    """The reason's first line on stderr, then exit ``code`` (a SystemExit, which passes through ``cli.main`` and
    CliRunner alike)."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    echo(lines[0] if lines else type(exc).__name__, err=True)
    raise SystemExit(code)


def store_path(store: Optional[Path]) -> str:
    """The store file: ``--store``, else ``$WHATWORKS_STORE``, else ./whatworks.duckdb."""
    from whatworks.store import default_store_path

    return default_store_path(store)
