"""Create, check and migrate the schema of a store file."""

from __future__ import annotations

import duckdb

from whatworks.errors import StoreError
from whatworks.store._sql import run
from whatworks.store.schema import DDL_V1, MIGRATIONS, SCHEMA_VERSION


def ensure_schema(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> int:
    """Bring the store's schema to :data:`SCHEMA_VERSION`; return the version found on opening (0 for a new store)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database()").fetchall()}
    if "meta" not in tables:
        if tables - {"meta"}:
            raise StoreError(
                f"This database is not a whatworks store: it has tables {sorted(tables)[:8]} but no whatworks metadata. "
                "Hint: give whatworks a new file name (a store is created on first use), e.g. --store force.duckdb.")
        if read_only:
            raise StoreError("The store is empty and was opened read-only, so its schema cannot be created.")
        con.execute("BEGIN TRANSACTION")
        try:
            for step, sql in DDL_V1:
                run(con, step, sql)
            for version in range(2, SCHEMA_VERSION + 1):
                for step, sql in MIGRATIONS[version]:
                    run(con, step, sql)
            run(con, "set schema version", "INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"This store has schema version {found}, made by a newer whatworks than this one (which reads up to "
            f"version {SCHEMA_VERSION}). Hint: upgrade whatworks (`pip install -U whatworks`), or open a copy made by this version.")
    if found < SCHEMA_VERSION:
        if read_only:
            raise StoreError(f"This store has schema version {found} and needs migrating to {SCHEMA_VERSION}; "
                             "open it once without read_only to migrate it (take a copy first if others use it).")
        missing = [v for v in range(found + 1, SCHEMA_VERSION + 1) if v not in MIGRATIONS]
        if found < 1 or missing:
            raise StoreError(f"No migration from schema version {found} to {SCHEMA_VERSION}. "
                             "Hint: re-ingest the source files into a new store.")
        con.execute("BEGIN TRANSACTION")
        try:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for step, sql in MIGRATIONS[version]:
                    run(con, f"migrate to v{version}: {step}", sql)
            run(con, "set schema version", "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return found
