"""Store methods for the evidence register (interventions, evaluations, studies). Mixed into :class:`whatworks.store.Store`.

The register lives in four tables (``register_interventions``, ``register_evaluations``, ``register_studies``,
``register_implementation``), created with ``CREATE TABLE IF NOT EXISTS`` on first use, with the columns of
``whatworks.evidence.registry.SCHEMAS``. Every write validates the whole register that would result first and then
runs in one transaction, so a failed import or save writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from whatworks.errors import StoreError, error
from whatworks.store._sql import quote_ident, run

_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE"}


def _registry():
    # the register's schema and rules are the evidence package's; imported here, on use, to keep the store light
    from whatworks.evidence import registry

    return registry


def _table_name(kind: str) -> str:
    return f"register_{kind}"


class RegisterStore:
    """Evidence-register read and write methods; ``self.con`` is the store's DuckDB connection."""

    def _register_tables_exist(self) -> bool:
        reg = _registry()
        have = {r[0] for r in run(self.con, "list register tables",
                                  "SELECT table_name FROM information_schema.tables").fetchall()}
        return all(_table_name(k) in have for k in reg.KINDS)

    def _ensure_register_tables(self) -> None:
        reg = _registry()
        for kind, cols in reg.SCHEMAS.items():
            body = ", ".join(f"{quote_ident(c)} {_SQL_TYPES[t]}" for c, t in cols)
            run(self.con, f"create {_table_name(kind)}", f"CREATE TABLE IF NOT EXISTS {_table_name(kind)} ({body})")

    def register(self):
        """The evidence register held in the store (a :class:`whatworks.evidence.Register`; empty if none yet)."""
        reg = _registry()
        if not self._register_tables_exist():
            if getattr(self, "read_only", False):
                return reg.Register()
            self._ensure_register_tables()
        frames = {}
        for kind in reg.KINDS:
            cols = ", ".join(quote_ident(c) for c, _ in reg.SCHEMAS[kind])
            frames[kind] = run(self.con, f"read {_table_name(kind)}", f"SELECT {cols} FROM {_table_name(kind)}").df()
        return reg.Register(**frames).sorted()

    def save_register(self, records, *, replace: bool = False, where: str = "save_register"):
        """Add ``records`` (a Register) to the store's register — a record whose id is already held is replaced —
        or, with ``replace=True``, make the store's register exactly ``records``. The result is validated whole
        before anything is written, and written in one transaction. Returns the register as saved."""
        reg = _registry()
        if getattr(self, "read_only", False):
            raise error(where, "The store is open read-only, so the register cannot be changed.",
                        hint="Open the store without read_only=True.")
        if not isinstance(records, reg.Register):
            raise error(where, "Expected a whatworks.evidence.Register.", got=type(records).__name__,
                        hint="Build one with Register.from_records(interventions=[...], evaluations=[...]).")
        self._ensure_register_tables()
        new = records if replace else self.register().merged(records)
        new = new.with_suggestions().sorted().validate(where=where)
        self.con.execute("BEGIN TRANSACTION")
        try:
            for kind in reg.KINDS:
                table = _table_name(kind)
                cols = [c for c, _ in reg.SCHEMAS[kind]]
                run(self.con, f"clear {table}", f"DELETE FROM {table}")
                frame = getattr(new, kind)
                if len(frame):
                    rows = [[None if reg._na(v) else (int(v) if t == "int" else v) for v, (_, t) in
                             zip(row, reg.SCHEMAS[kind])] for row in frame.itertuples(index=False)]
                    placeholders = ", ".join("?" for _ in cols)
                    sql = (f"INSERT INTO {table} ({', '.join(quote_ident(c) for c in cols)}) "
                           f"VALUES ({placeholders})")
                    try:
                        self.con.executemany(sql, rows)
                    except Exception as exc:
                        raise StoreError(f"Could not write the register: {exc}", step=f"insert {table}",
                                         sql=sql) from exc
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return self.register()

    def import_register(self, path: str | os.PathLike, *, replace: bool = False):
        """Import a register file (.csv or .json, as :meth:`export_register` writes them) in one transaction:
        a file with any bad record writes nothing. Returns the register as saved."""
        from whatworks.store.evidence_files import read_register_file

        records = read_register_file(path)
        return self.save_register(records, replace=replace, where="import_register")

    def export_register(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the register to ``path`` (.csv: one long table with a ``record`` column, through ``write_table``
        with a provenance file; .json: the four tables, through ``write_text``). Never writes over the store."""
        from whatworks.store.evidence_files import write_register_file

        return write_register_file(self.register(), path, overwrite=overwrite, inputs=[self.path],
                                   provenance={"store": str(self.path), "what": "evidence register"})
