"""Persistence of frozen trial protocols and their hash-chained assignment logs in the DuckDB store.

Two tables, created on first use:

* ``trial_protocols`` — one row per registered trial: the frozen protocol as JSON, its content hash and
  freezing time, and the log's recorded head (last sequence number and chain hash). The head is updated in
  the same transaction as each append, so deleting the last entries of a log is detectable.
* ``trial_assignments`` — one row per log entry, exactly the fields the entry hash covers (see
  ``whatworks.trials.allocator.ENTRY_FIELDS``) plus the hash. Times and the case record are stored as the
  exact text that was hashed.

The chain logic lives in :mod:`whatworks.trials.allocator`; this module only reads and writes rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from whatworks.errors import StoreError, error

__all__ = ["TrialLog", "read_table_file", "read_protocol_file"]

DDL: list[tuple[str, str]] = [
    ("create trial_protocols", """
        CREATE TABLE IF NOT EXISTS trial_protocols (
          trial_id VARCHAR PRIMARY KEY,
          content_hash VARCHAR NOT NULL,
          frozen_at VARCHAR NOT NULL,
          protocol_json VARCHAR NOT NULL,     -- Protocol.to_json(): every CrimPORT section, as frozen
          head_seq BIGINT NOT NULL,           -- number of log entries the allocator has written
          head_hash VARCHAR NOT NULL          -- chain hash of the last entry (the content hash when empty)
        )"""),
    ("create trial_assignments", """
        CREATE TABLE IF NOT EXISTS trial_assignments (
          trial_id VARCHAR NOT NULL,
          seq BIGINT NOT NULL,
          kind VARCHAR NOT NULL,              -- assigned | excluded | received | not_received | lost_to_follow_up | withdrawn
          unit_id VARCHAR NOT NULL,
          stratum VARCHAR,
          arm VARCHAR,
          prob DOUBLE,
          block_no INTEGER,
          block_size INTEGER,
          block_position INTEGER,
          reason VARCHAR,
          case_json VARCHAR,
          recorded_at VARCHAR NOT NULL,       -- ISO 8601 UTC, the exact text hashed
          prev_hash VARCHAR NOT NULL,
          hash VARCHAR NOT NULL
        )"""),
]

_COLUMNS = ("trial_id", "seq", "kind", "unit_id", "stratum", "arm", "prob", "block_no", "block_size",
            "block_position", "reason", "case_json", "recorded_at", "prev_hash", "hash")


def _connection(store: Any):
    import duckdb

    if isinstance(store, duckdb.DuckDBPyConnection):
        return store
    con = getattr(store, "con", None)
    if con is not None:
        return con
    raise error("TrialLog", "Expected a whatworks Store or a DuckDB connection.", got=type(store).__name__,
                hint="Use TrialLog.open(path) to open a store file by path.")


class TrialLog:
    """The trial log tables of one store (implements the log interface the Allocator uses).

    Parameters
    ----------
    store : whatworks.Store or duckdb.DuckDBPyConnection
    """

    def __init__(self, store: Any):
        self.con = _connection(store)
        for step, sql in DDL:
            self._run(step, sql)

    @classmethod
    def open(cls, path: str | Path) -> "TrialLog":
        """Open (or create) a store file directly by path."""
        import duckdb

        try:
            con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise StoreError(f"Could not open the store {str(path)!r}: {exc}", step="open store") from exc
        return cls(con)

    def _run(self, step: str, sql: str, params: list | None = None):
        import duckdb

        try:
            return self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise StoreError(f"Trial log query failed: {exc}", step=step, sql=sql) from exc

    # ------------------------------------------------------------------ protocols
    def save_protocol(self, protocol: dict) -> None:
        if self.load_protocol(protocol["trial_id"]) is not None:
            raise error("TrialLog", f"Trial {protocol['trial_id']!r} is already registered in this store.",
                        got=protocol["trial_id"], hint="Choose a new trial_id for an amended protocol.")
        self._run("insert protocol",
                  "INSERT INTO trial_protocols VALUES (?, ?, ?, ?, 0, ?)",
                  [protocol["trial_id"], protocol["content_hash"], protocol["frozen_at"],
                   json.dumps(protocol, sort_keys=False), protocol["content_hash"]])

    def load_protocol(self, trial_id: str) -> dict | None:
        row = self._run("load protocol", "SELECT protocol_json FROM trial_protocols WHERE trial_id = ?",
                        [trial_id]).fetchone()
        return json.loads(row[0]) if row else None

    def trials(self) -> pd.DataFrame:
        """Registered trials with their hash, freezing time and number of log entries."""
        rows = self._run("list trials", "SELECT trial_id, content_hash, frozen_at, head_seq FROM trial_protocols "
                                        "ORDER BY frozen_at").fetchall()
        return pd.DataFrame(rows, columns=["trial_id", "content_hash", "frozen_at", "entries"])

    # ------------------------------------------------------------------ log
    def head(self, trial_id: str) -> tuple[int, str] | None:
        row = self._run("read head", "SELECT head_seq, head_hash FROM trial_protocols WHERE trial_id = ?",
                        [trial_id]).fetchone()
        return (int(row[0]), row[1]) if row else None

    def entries(self, trial_id: str) -> list[dict]:
        rows = self._run("read log", f"SELECT {', '.join(_COLUMNS)} FROM trial_assignments WHERE trial_id = ? "
                                     "ORDER BY seq", [trial_id]).fetchall()
        return [dict(zip(_COLUMNS, r)) for r in rows]

    def append(self, trial_id: str, entry: dict) -> None:
        """Append one entry and move the head, in one transaction; refuse if the head moved meanwhile."""
        import duckdb

        try:
            self.con.execute("BEGIN TRANSACTION")
            row = self.con.execute("SELECT head_seq, head_hash FROM trial_protocols WHERE trial_id = ?",
                                   [trial_id]).fetchone()
            if row is None or int(row[0]) + 1 != entry["seq"] or row[1] != entry["prev_hash"]:
                self.con.execute("ROLLBACK")
                raise error("TrialLog", "The log moved on while this entry was prepared (or the trial is unknown).",
                            got={"head": row, "entry_seq": entry["seq"]}, hint="Retry the assignment.")
            self.con.execute(f"INSERT INTO trial_assignments ({', '.join(_COLUMNS)}) VALUES "
                             f"({', '.join('?' for _ in _COLUMNS)})", [entry.get(c) for c in _COLUMNS])
            self.con.execute("UPDATE trial_protocols SET head_seq = ?, head_hash = ? WHERE trial_id = ?",
                             [entry["seq"], entry["hash"], trial_id])
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            self.con.execute("ROLLBACK")
            raise StoreError(f"Could not append to the trial log: {exc}", step="append log entry") from exc


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file of cases or outcomes (used by the ``whatworks trial`` commands)."""
    p = Path(path)
    if not p.exists():
        raise error("trial", f"File {str(p)!r} does not exist.", got=str(p))
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    if p.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(p)
    raise error("trial", "Cases and outcomes must be a .csv or .parquet file.", got=p.suffix)


def read_protocol_file(path: str | Path) -> tuple[str, str]:
    """Return ``(format, text)`` of a protocol file: ``json`` or ``toml`` by extension."""
    p = Path(path)
    if not p.exists():
        raise error("trial new", f"Protocol file {str(p)!r} does not exist.", got=str(p))
    fmt = {".json": "json", ".toml": "toml"}.get(p.suffix.lower())
    if fmt is None:
        raise error("trial new", "The protocol must be a .json or .toml file.", got=p.suffix)
    return fmt, p.read_text(encoding="utf-8")
