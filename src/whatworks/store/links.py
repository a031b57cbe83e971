"""People in the store for record linkage, and linkage results back into ``person_links`` (I/O only; the linking
itself is :func:`whatworks.people.link`).

Raw identifiers stay here: ``person_links`` holds each record's (source_system, person_id) and its cluster id, so
histories can be assembled inside the store; pseudonyms are applied only to outputs that leave it.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import Any, Iterator, Mapping, Sequence

import duckdb
import pandas as pd

from whatworks.errors import StoreError, error
from whatworks.store._sql import quote_literal, run

__all__ = ["persons", "save_links", "links", "involvements", "linkage_connection", "DEFAULT_ROLE_LABELS"]

# event_persons.role -> the kind of involvement shown in histories
DEFAULT_ROLE_LABELS: dict[str, str] = {"arrestee": "arrest", "searched": "stop and search", "offender": "offence",
                                       "suspect": "offence", "victim": "victimisation", "witness": "witness"}


def persons(con: duckdb.DuckDBPyConnection, systems: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (source_system, person_id): the person's latest record (highest batch, then row) with the
    identifying fields, ready for :func:`whatworks.people.link` (``source="source_system", record_id="person_id"``)."""
    where = ""
    params: list[Any] = []
    if systems is not None:
        systems = [str(s) for s in systems]
        if not systems:
            raise error("Store.persons", "The 'systems' parameter is an empty list.", hint="Pass None for every system.")
        where = "WHERE source_system IN (" + ", ".join("?" for _ in systems) + ")"
        params = systems
    sql = f"""
        SELECT source_system, person_id, first_name, surname, dob, sex, ethnicity, postcode
        FROM (SELECT *, row_number() OVER (PARTITION BY source_system, person_id
                                           ORDER BY batch_id DESC, source_row DESC) AS rk
              FROM persons {where})
        WHERE rk = 1
        ORDER BY source_system, person_id"""
    return run(con, "read persons for linkage", sql, params or None).df()


def save_links(con: duckdb.DuckDBPyConnection, result: Any, *, model_version: str | None = None,
               replace: bool = True) -> int:
    """Write a linkage result's clusters into ``person_links`` in one transaction; returns the rows written.

    ``result`` is a :class:`whatworks.people.LinkResult` (or a DataFrame with ``source``, ``record_id``,
    ``cluster_id``). A pseudonymised result is refused: the store keeps raw ids. ``replace=True`` removes the
    links already saved (one current linkage); ``False`` appends (several model versions side by side).
    """
    where = "Store.save_links"
    if hasattr(result, "table") and hasattr(result, "pseudonymised"):
        if result.pseudonymised:
            raise error(where, "This linkage result has pseudonymised record ids, which the store cannot join to its records.",
                        hint="Run link() without key= to save, and pseudonymise the outputs that leave the store.")
        table = result.table
        version = model_version or getattr(result, "model_version", None)
    elif isinstance(result, pd.DataFrame):
        table, version = result, model_version
    else:
        raise error(where, "The 'result' must be a LinkResult or a DataFrame (source, record_id, cluster_id).",
                    got=type(result).__name__)
    missing = [c for c in ("source", "record_id", "cluster_id") if c not in table.columns]
    if missing:
        raise error(where, f"Column(s) {missing} not found in the links.", expected="source, record_id, cluster_id")
    frame = pd.DataFrame({"source_system": table["source"].astype(str).to_numpy(),
                          "person_id": table["record_id"].astype(str).to_numpy(),
                          "cluster_id": table["cluster_id"].astype(str).to_numpy()})
    frame["model_version"] = version
    frame["linked_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    name = "__whatworks_links_in"
    con.register(name, frame)
    try:
        run(con, "begin save links", "BEGIN TRANSACTION")
        try:
            if replace:
                run(con, "clear person_links", "DELETE FROM person_links")
            run(con, "insert person_links", f"""
                INSERT INTO person_links (source_system, person_id, cluster_id, model_version, linked_at)
                SELECT source_system, person_id, cluster_id, model_version, linked_at FROM {name}""")
            run(con, "commit save links", "COMMIT")
        except StoreError:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(name)
    return len(frame)


def links(con: duckdb.DuckDBPyConnection, model_version: str | None = None) -> pd.DataFrame:
    """Saved links: source_system, person_id, cluster_id, model_version, linked_at (one model version if given)."""
    if model_version is None:
        return run(con, "read person_links", "SELECT * FROM person_links ORDER BY cluster_id, source_system, person_id").df()
    return run(con, "read person_links", "SELECT * FROM person_links WHERE model_version = ? "
                                         "ORDER BY cluster_id, source_system, person_id", [model_version]).df()


def involvements(con: duckdb.DuckDBPyConnection, role_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every person's involvement in an event: source_system, person_id, role, what (the role's label), kind,
    reference, occurred — from ``event_persons`` joined to ``events`` of the same source system and reference."""
    labels = dict(DEFAULT_ROLE_LABELS if role_labels is None else role_labels)
    case = " ".join(f"WHEN '{k.replace(chr(39), '')}' THEN '{v.replace(chr(39), '')}'" for k, v in labels.items())
    sql = f"""
        SELECT DISTINCT ep.source_system, ep.person_id, ep.role, CASE ep.role {case} ELSE ep.role END AS what,
               e.kind, ep.reference, e.occurred
        FROM event_persons ep
        JOIN events e ON e.source_system = ep.source_system AND e.reference = ep.reference
        WHERE e.kind <> 'outcome' AND e.occurred IS NOT NULL
        ORDER BY e.occurred, ep.source_system, ep.person_id"""
    return run(con, "read person involvements", sql).df()


@contextlib.contextmanager
def linkage_connection(*, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A scratch in-memory DuckDB connection for Splink's work tables, closed (and its spill folder removed) on exit.

    Splink writes its own tables; they never go into a store file. Settings are set as named steps with quoted
    values: ``temp_directory`` (a private temporary folder), ``enable_progress_bar = false`` and, when given,
    ``memory_limit`` (e.g. ``"2GB"``). :func:`whatworks.people.link` uses this when it is not handed a connection;
    :meth:`whatworks.Store.linkage_connection` gives one with the store's memory limit.
    """
    if memory_limit is not None and (not isinstance(memory_limit, str) or not memory_limit.strip()):
        raise error("linkage_connection", "The 'memory_limit' parameter must be text such as '2GB'.", got=memory_limit)
    with tempfile.TemporaryDirectory(prefix="whatworks-link-") as tmp:
        con = duckdb.connect(":memory:")
        try:
            run(con, "set linkage temp directory", f"SET temp_directory = {quote_literal(tmp)}")
            run(con, "set linkage progress bar", "SET enable_progress_bar = false")
            if memory_limit:
                run(con, "set linkage memory limit", f"SET memory_limit = {quote_literal(memory_limit)}")
            yield con
        finally:
            con.close()
