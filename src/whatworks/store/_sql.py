"""Run SQL as named steps, so a failure says which step failed and carries its SQL (as Splink's pipeline does)."""

from __future__ import annotations

from typing import Any, Sequence

import duckdb

from whatworks.errors import StoreError


def run(con: duckdb.DuckDBPyConnection, step: str, sql: str, params: Sequence[Any] | None = None):
    """Execute ``sql`` on ``con`` as the named ``step``; re-raise any database error as :class:`StoreError`."""
    try:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    except duckdb.Error as exc:
        raise StoreError(f"The store could not complete a step: {exc}", step=step, sql=sql) from exc


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for DuckDB SQL."""
    return "'" + str(value).replace("'", "''") + "'"
