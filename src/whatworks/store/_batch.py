"""What every file load shares: checksums, batch ids, one transaction per file, the quarantine, fault injection."""

from __future__ import annotations

import datetime as _dt
import os
import signal
from contextlib import contextmanager

import duckdb

from whatworks.store._sql import run

# Tests set WHATWORKS_FAULT=<step> to kill the process (SIGKILL, as `kill -9`) at that point of a load,
# to prove an interrupted ingest leaves the store exactly as it was. Unset in normal use.
FAULT_ENV = "WHATWORKS_FAULT"


_FAULT_HITS: dict[str, int] = {}


def fault_point(step: str) -> None:
    """Kill the process at ``step`` when WHATWORKS_FAULT names it; ``<step>@N`` kills at its N-th time."""
    want = os.environ.get(FAULT_ENV)
    if not want:
        return
    name, _, nth = want.partition("@")
    if name != step:
        return
    _FAULT_HITS[step] = _FAULT_HITS.get(step, 0) + 1
    if _FAULT_HITS[step] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def already_loaded(con: duckdb.DuckDBPyConnection, checksum: str):
    """(batch_id, source_file, loaded_at) of the batch that loaded these exact bytes, or None."""
    return con.execute("SELECT batch_id, source_file, loaded_at FROM batches WHERE checksum = ?", [checksum]).fetchone()


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchone()[0])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One transaction (a file, or a group of files): everything or nothing."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    fault_point("before_commit")
    con.execute("COMMIT")


@contextmanager
def deferred_checkpoint(con: duckdb.DuckDBPyConnection):
    """Checkpoint at the end of a multi-file load (and every ~1 GB of log) instead of after every file.

    Each file still commits on its own (its transaction is durable in the write-ahead log, and a crash replays
    it); only the folding of the log into the database file is deferred. With DuckDB's default 16 MB threshold a
    large police.uk month triggers a full checkpoint at every commit, which cost more than reading the file.
    """
    old = con.execute("SELECT current_setting('wal_autocheckpoint')").fetchone()[0]
    con.execute("SET wal_autocheckpoint = '1GB'")  # bounded: a long load still checkpoints every ~1 GB of log
    try:
        yield
    finally:
        con.execute(f"SET wal_autocheckpoint = '{old}'")
        con.execute("CHECKPOINT")


def quarantine_rejects(con, batch_id: int, source: str) -> None:
    """Rows that could not be split into fields (temp table ``_rejects``) go to the quarantine."""
    run(con, "quarantine unsplittable rows",
        "INSERT INTO quarantine SELECT ?, ?, source_row, 'invalid', reason, raw FROM _rejects", [batch_id, source])


def record_batch(con, batch_id: int, source: str, checksum: str, fmt: str, rows_read: int, loaded: int,
                 version: str) -> tuple[int, int]:
    """Insert the batch row; returns (quarantined, duplicates) as counted in the quarantine table.

    The caller builds a :class:`FileOutcome` from these counts, which checks the accounting identity
    (inside the transaction, so a broken identity rolls the file back).
    """
    quarantined, duplicates = con.execute(
        """SELECT count(*) FILTER (WHERE category = 'invalid'), count(*) FILTER (WHERE category = 'duplicate')
           FROM quarantine WHERE batch_id = ?""", [batch_id]).fetchone()
    run(con, "record batch", "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [batch_id, source, checksum, fmt, rows_read, loaded, quarantined, duplicates,
         _dt.datetime.now().replace(microsecond=0), version])
    return int(quarantined), int(duplicates)


def reasons(con, batch_id: int) -> dict[str, int]:
    return dict(con.execute(
        "SELECT reason, count(*) FROM quarantine WHERE batch_id = ? GROUP BY reason ORDER BY count(*) DESC, reason",
        [batch_id]).fetchall())
