"""The embedded store: one DuckDB file holding every source in canonical tables (DESIGN.md, "Canonical store").

>>> import whatworks as ww
>>> store = ww.Store(":memory:")
>>> store.sql("SELECT count(*) AS n FROM crimes")["n"].iloc[0]
0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import duckdb
import pandas as pd

from whatworks.errors import StoreError, WhatworksError, error
from whatworks.store import policeuk as _policeuk
from whatworks.store._reads_api import QUARANTINE_CATEGORIES, ApiReads
from whatworks.store._reads_areas import AreaReads
from whatworks.store._reads_place import PlaceReads
from whatworks.store._register_store import RegisterStore
from whatworks.store._schema_ops import ensure_schema
from whatworks.store._survey_store import SurveyStore
from whatworks.store._sql import quote_ident, quote_literal, run
from whatworks.store.ingest_report import FileOutcome, IngestReport
from whatworks.store.schema import SCHEMA_VERSION

DEFAULT_STORE = "whatworks.duckdb"
STORE_ENV = "WHATWORKS_STORE"


def default_store_path(path: str | os.PathLike | None = None) -> str:
    """``path`` if given, else ``$WHATWORKS_STORE``, else ``./whatworks.duckdb``."""
    if path is not None:
        return str(path)
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


class Store(ApiReads, PlaceReads, AreaReads, SurveyStore, RegisterStore):
    """An embedded whatworks store (a DuckDB file).

    Parameters
    ----------
    path : str or path-like, optional
        The store file. ``None`` uses ``$WHATWORKS_STORE`` or ``./whatworks.duckdb``; ``":memory:"`` keeps it in memory.
        A new file is created with the current schema; an older store is migrated; a newer one is refused.
    read_only : bool, default False
        Open without taking the write lock (several readers may share the file).
    memory_limit : str, optional
        DuckDB memory limit for this connection, e.g. ``"3GB"``.
    engine : {"duckdb", "spark"}, default "duckdb"
        ``"spark"``: ``path`` is a Parquet store folder (``whatworks export parquet``) and the result is a
        :class:`whatworks.store.spark.SparkStore` (the same reads and counts on classic PySpark; read-only), on
        ``session`` or the active/local session (docs/scale.md).
    """

    def __new__(cls, path: str | os.PathLike | None = None, *, engine: str = "duckdb", session=None, **kwargs):
        if engine == "spark":
            if kwargs:
                raise error("Store", f"Options {sorted(kwargs)} are for a DuckDB store, not engine='spark'.")
            from whatworks.store.spark import SparkStore

            return SparkStore(default_store_path(path), session=session)
        if engine != "duckdb":
            raise error("Store", "The 'engine' parameter must be 'duckdb' or 'spark'.", got=engine)
        if session is not None:
            raise error("Store", "A Spark 'session' is only for engine='spark'.")
        return super().__new__(cls)

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False, memory_limit: str | None = None,
                 engine: str = "duckdb", session=None):
        self.path = default_store_path(path)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.exists():
                raise StoreError(f"Cannot create the store {self.path!r}: folder {str(parent)!r} does not exist.")
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                # DuckDB allows one process that writes or any number that only read, never both at once, so
                # read_only=True does not help while a writer holds the file
                hint = ("another process has it open for writing (an ingest, a notebook, the dashboard). DuckDB lets "
                        "one process write or several read, not both: close the other process, or wait for its ingest "
                        "to finish, then try again." if read_only else
                        "another process has it open (an ingest, a notebook, the dashboard). Only one process may "
                        "write to a store, and not while others read it: close the other process and try again.")
            else:
                hint = "is it a DuckDB file? Give whatworks a new file name (a store is created on first use)."
            raise StoreError(f"Cannot open the store {self.path!r}: {exc}. Hint: {hint}") from exc
        self.read_only = read_only
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET enable_progress_bar = false")
            if memory_limit:
                run(self.con, "set memory limit", f"SET memory_limit = {quote_literal(str(memory_limit))}")
            self.opened_version = ensure_schema(self.con, read_only=read_only)
        except BaseException:
            self.con.close()
            raise

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<whatworks.Store {self.path!r} schema v{SCHEMA_VERSION}>"

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a SQL query against the store and return a pandas DataFrame.

        >>> Store(":memory:").sql("SELECT 1 AS one")
           one
        0    1
        """
        try:
            rel = self.con.execute(query, params) if params is not None else self.con.execute(query)
            return rel.df() if rel.description else pd.DataFrame()
        except duckdb.Error as exc:
            raise StoreError(f"Query failed: {exc}", step="store.sql", sql=query) from exc

    def table(self, name: str) -> pd.DataFrame:
        """A whole table or view as a DataFrame."""
        self._require_relation(name)
        return self.sql(f"SELECT * FROM {quote_ident(name)}")

    def relations(self) -> pd.DataFrame:
        """Tables and views with their row counts."""
        rows = self.con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY table_type, table_name").fetchall()
        out = []
        for name, kind in rows:
            n = self.con.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone()[0]
            out.append({"name": name, "type": "view" if kind == "VIEW" else "table", "rows": int(n)})
        return pd.DataFrame(out, columns=["name", "type", "rows"])

    def _has_table(self, name: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                                     "AND table_catalog = current_database() AND table_name = ?", [name]).fetchone()[0])

    def relation_names(self) -> list[str]:
        """The names of the store's tables and views, sorted (cheap: unlike :meth:`relations`, no row counts)."""
        return sorted(r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()").fetchall())

    def _require_relation(self, name: str) -> None:
        if not self._has_table(name):   # information_schema lists views too; counting every table's rows cost seconds
            raise WhatworksError(f"Store: no table or view named {name!r}. Expected one of {self.relation_names()}.")

    # ------------------------------------------------------------------ ingest
    def ingest_policeuk(self, path: str | os.PathLike, *, force: str | None = None, on_unknown: str = "error",
                        progress: Callable[[str, int, int], None] | None = None,
                        group_bytes: int | None = None, on_republished: str = "replace",
                        repair_dates: bool = False, limits=None) -> IngestReport:
        """Load police.uk open-data files: a CSV, a month folder, a folder of month folders, or the archive zip.

        Street-level crime, outcomes and stop-and-search files are recognised by their header. Files load in groups
        of consecutive files of one format (up to ``group_bytes``), each group read by one DuckDB scan and written in
        one transaction, with the same result as loading the files one at a time; a file already loaded (same
        SHA-256) is skipped and said so. Bad rows go to the quarantine
        with their reason, file and row number. See :mod:`whatworks.store.policeuk` for the rules.

        Parameters
        ----------
        path : path-like
        force : str, optional
            Force name for stop-and-search files (they have no force column); default: from the same force's street files
            already loaded, else the slug in the file name.
        on_unknown : {"error", "skip"}, default "error"
            What to do with a file whose header is not a police.uk format: stop with an error, or skip it and report it as refused.
        progress : callable(source, i, n), optional
        limits : whatworks.store.limits.Limits, optional
            Sizes, ratios and counts beyond which a file, zip member or line is refused or quarantined
            (default :data:`whatworks.store.limits.DEFAULT_LIMITS`; docs/store.md lists them).
        group_bytes : int, optional
            Most CSV bytes read and committed together (default 256 MB; the work tables take about twice that in
            memory). An interrupted load leaves the store as it was before the group being loaded.
        on_republished : {"replace", "keep", "error"}, default "replace"
            A file for a (force, month, kind) the store already holds (police.uk republishes every month in later
            downloads, with outcomes updated): ``"replace"`` loads it as the new version and sets the earlier one
            aside in the same transaction (status ``"replaced"``, with the row differences in ``changes``;
            ``store.unload(new_batch)`` brings the earlier version back); ``"keep"`` keeps the earlier version and
            skips the file (status ``"kept"``); ``"error"`` stops with an error naming the file, and nothing of its
            group is loaded. A file with the same bytes as one loaded is always ``"already_loaded"``.
        repair_dates : bool, default False
            Read Month values damaged by a spreadsheet (01/07/2018, 7/1/2018, Jul-18, 2018-7 …) as months; the
            file's outcome (``repaired``) and ``batch_notes`` record that it was done. A file whose rows are
            (nearly) all invalid fails whole (status ``"failed"``, nothing loaded, a ``hint``) either way.

        Returns
        -------
        IngestReport
            ``files``, ``rows_read``, ``rows_loaded``, ``rows_quarantined``, ``duplicates_skipped``, ``quarantine_reasons``.
        """
        self._require_writable()
        from whatworks._version import __version__

        from whatworks.store._batch import deferred_checkpoint

        with _disk_full_guard(self, path), deferred_checkpoint(self.con):
            return _policeuk.ingest(self.con, path, force=force, on_unknown=on_unknown, version=__version__,
                                    progress=progress, group_bytes=group_bytes, on_republished=on_republished,
                                    repair_dates=repair_dates, limits=limits)

    def ingest_records(self, path: str | os.PathLike, mapping: str | os.PathLike, *, on_unknown: str = "error",
                       progress: Callable[[str, int, int], None] | None = None, limits=None) -> IngestReport:
        """Load a force's own records-management (RMS) export through a TOML mapping file.

        ``path`` is a file, folder or zip of delimited files; ``mapping`` says which of their columns is which
        canonical column, how dates are written and how codes translate (docs/records-mapping.md). Files are matched
        to the mapping's ``[[files]]`` blocks by name pattern. The same guarantees as police.uk ingest hold: one
        transaction per file, same-checksum files skipped, bad rows quarantined with reason and row number.
        ``on_unknown="skip"`` reports files that match no ``[[files]]`` block as refused instead of stopping.
        """
        self._require_writable()
        from whatworks._version import __version__
        from whatworks.store import records as _records
        from whatworks.store._batch import deferred_checkpoint

        with _disk_full_guard(self, path), deferred_checkpoint(self.con):
            return _records.ingest(self.con, path, mapping, version=__version__, progress=progress, on_unknown=on_unknown,
                                   limits=limits)

    def unload(self, batch_id: int) -> dict[str, int]:
        """Remove everything one batch (one loaded file) put in the store, in one transaction, so a file can be
        loaded again after fixing its mapping. Returns the rows removed per table.

        Besides the batch's own rows (events, stop details, persons, roles, areas, covariates, survey responses with
        their labels and missing codes, quarantine, the
        ``batches`` row), the ``person_links`` rows of persons that only this batch loaded are removed (reported
        under ``'person_links'``), so unloaded people leave their clusters; a person id of the same source system
        that another batch also loaded keeps its links. Run the linkage again to re-cluster the rest.

        An area lookup that **replaced** areas already in the store cannot be unloaded while the batch whose areas it
        replaced is still there: the replaced rows were deleted when it loaded, so removing it would leave those codes
        with no row at all. That unload is refused (a :class:`~whatworks.errors.WhatworksError` naming the earlier
        batch and its file) and nothing is removed; unload the earlier batch first, then this one, and ingest the
        earlier file again.

        Versions of republished police.uk months: unloading the current version brings back the version it
        replaced (its rows return to ``events``, reported under ``'restored events'``); unloading a version that
        was itself replaced removes it from the chain (the later version stays current).

        >>> store.unload(3)   # doctest: +SKIP
        {'person_links': 0, 'events': 80213, 'stop_searches': 0, ..., 'batches': 1}
        """
        self._require_writable()
        from whatworks.store import areas as _areas

        if self.con.execute("SELECT count(*) FROM batches WHERE batch_id = ?", [batch_id]).fetchone()[0] == 0:
            raise WhatworksError(f"unload(): no batch {batch_id!r} in the store. Hint: store.batches() lists them.")
        _areas.check_unload(self.con, batch_id)
        lo, hi = batch_id << 32, (batch_id + 1) << 32
        # versions: the batches this one replaced come back; a batch that was itself replaced hands its place in
        # the chain to the batch that replaced it
        restore = [r[0] for r in self.con.execute(
            "SELECT batch_id FROM superseded WHERE superseded_by = ? ORDER BY batch_id", [batch_id]).fetchall()]
        by = self.con.execute("SELECT superseded_by FROM superseded WHERE batch_id = ?", [batch_id]).fetchone()
        if by is not None:
            version_steps = [
                ("events_superseded", "DELETE FROM events_superseded WHERE batch_id = ?", [batch_id]),
                ("superseded", "DELETE FROM superseded WHERE batch_id = ?", [batch_id]),
                ("superseded (chain)", "UPDATE superseded SET superseded_by = ? WHERE superseded_by = ?", [by[0], batch_id]),
            ]
        else:
            ids = ", ".join(str(int(b)) for b in restore) or "NULL"
            version_steps = [
                ("restored events", f"INSERT INTO events SELECT * FROM events_superseded WHERE batch_id IN ({ids})", []),
                ("events_superseded", f"DELETE FROM events_superseded WHERE batch_id IN ({ids})", []),
                ("superseded", "DELETE FROM superseded WHERE superseded_by = ?", [batch_id]),
            ]
        steps = [
            # links of persons that only this batch loaded (before the persons themselves go)
            ("person_links", """DELETE FROM person_links USING (
                 SELECT source_system, person_id FROM persons WHERE batch_id = ?
                 EXCEPT SELECT source_system, person_id FROM persons WHERE batch_id <> ?) gone
               WHERE person_links.source_system = gone.source_system AND person_links.person_id = gone.person_id""",
             [batch_id, batch_id]),
            ("event_keys", "DELETE FROM event_keys WHERE event_id >= ? AND event_id < ?", [lo, hi]),
            ("stop_searches", "DELETE FROM stop_searches WHERE event_id >= ? AND event_id < ?", [lo, hi]),
            ("events", "DELETE FROM events WHERE batch_id = ?", [batch_id]),
            ("persons", "DELETE FROM persons WHERE batch_id = ?", [batch_id]),
            ("event_persons", "DELETE FROM event_persons WHERE batch_id = ?", [batch_id]),
            ("areas", "DELETE FROM areas WHERE batch_id = ?", [batch_id]),
            ("area_covariates", "DELETE FROM area_covariates WHERE batch_id = ?", [batch_id]),
            *([("area_covariate_kinds", "DELETE FROM area_covariate_kinds WHERE batch_id = ?", [batch_id])]
              if self._has_table("area_covariate_kinds") else []),
            *[(t, f"DELETE FROM {t} WHERE batch_id = ?", [batch_id])
              for t in ("survey_responses", "survey_labels", "survey_missing_codes") if self._has_table(t)],
            ("quarantine", "DELETE FROM quarantine WHERE batch_id = ?", [batch_id]),
            ("batch_coverage", "DELETE FROM batch_coverage WHERE batch_id = ?", [batch_id]),
            ("batch_notes", "DELETE FROM batch_notes WHERE batch_id = ?", [batch_id]),
            *version_steps,
            ("batches", "DELETE FROM batches WHERE batch_id = ?", [batch_id]),
        ]
        removed: dict[str, int] = {}
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table, sql, params in steps:
                removed[table] = int(run(self.con, f"unload batch from {table}", sql, params).fetchone()[0])
            _areas.forget_replaced(self.con, batch_id)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return removed

    def ingest_areas(self, data, *, covariates: Sequence[str] | None = None, name: str | None = None,
                     progress: Callable[[str, int, int], None] | None = None, covariate_kinds: dict | None = None,
                     quiet: bool = False, limits=None) -> IngestReport:
        """Load an area lookup (small area → ward → local authority → force, with population and covariates).

        ``data`` is a CSV file, a folder or zip of them, or a DataFrame, in the long form (``code, name, level,
        parent_code, population, <covariates>``) or the wide form (``lsoa_code, lsoa_name, ward_code, ward_name,
        lad_code, lad_name, population, <covariates>``; ONS headers such as ``LSOA21CD`` work too). Areas go to
        ``areas``, covariates to ``area_covariates``; bad rows (missing code, non-numeric population, unknown
        parent …) are quarantined with their reason. See :mod:`whatworks.store.areas` and docs/report.md.

        Parameters
        ----------
        data : path-like or DataFrame
        covariates : list of str, optional
            Covariate columns to load; default every other column whose values are mostly numbers.
        name : str, optional
            Source name recorded for a DataFrame (default ``"<DataFrame>"``).
        progress : callable(source, i, n), optional
        covariate_kinds : dict, optional
            ``{covariate: "count" | "mean"}``: how each covariate rolls up to larger areas (counts are summed, means
            population-weighted); default from the header (``households [count]``) or the name, announced.
        quiet : bool, default False
            Silence the announcement of covariate kinds chosen by name.
        """
        self._require_writable()
        from whatworks._version import __version__
        from whatworks.store import areas as _areas

        return _areas.ingest(self.con, data, covariates=covariates, name=name, version=__version__, progress=progress,
                             covariate_kinds=covariate_kinds, quiet=quiet, limits=limits)

    def quality_counts(self):
        """The data-quality counts (completeness of each field by source and month, code values over time,
        quarantined and duplicate rows, record lags, coverage) as a :class:`whatworks.store.quality.QualityCounts`,
        for :func:`whatworks.quality.profile`, which makes the profile's statistics."""
        from whatworks.store import quality as _quality

        return _quality.counts(self.con)

    def quality(self, *args, **kwargs):
        """Moved (issue 17: the store counts, analyses make statistics): a clear error naming the new call."""
        from whatworks.errors import error

        raise error("Store.quality", "The data-quality profile moved out of the store.",
                    hint="whatworks.quality.profile(store.quality_counts(), late_months=...)")

    def ibis(self, name: str | None = None):
        """The Ibis backend over this store, or the Ibis table ``name`` (for building engine expressions)."""
        from whatworks.store.engine import backend

        b = backend(self.con)
        return b.table(name) if name else b

    def counts(self, by: Sequence[str], where: dict | None = None, *, table: str = "crimes",
               months: tuple[str, str] | None = None, value: str | None = None) -> pd.DataFrame:
        """Counts by area × period × type (or any columns) computed in the database via Ibis.

        >>> store.counts(by=["force", "financial_year", "crime_type"])  # doctest: +SKIP

        ``by`` may use ``year``, ``quarter`` and ``financial_year`` (April–March, "2024/25") derived from ``month``.

        What it returns, and coverage: one row per group that has at least one row, with ``count`` (or ``total``
        for ``value=``). Events exist only in months the store covers (``store.coverage()``), so every month in the
        answer is a covered month; a group absent from the answer in a covered month is 0, and a month that is not
        covered is simply absent — it is missing, not 0 (check ``store.coverage()`` before filling). Only the
        current version of a republished police.uk month is counted. When ``by`` holds ``year``, ``quarter`` or
        ``financial_year`` and ``table`` is ``crimes``, ``asb``, ``outcomes`` or ``stops``, a ``months_covered``
        column says how many months of that period the store covers for the table's file kind (per force and
        source system when those are in ``by`` or fixed by ``where``; else months covered for any of them, within
        ``months=``), so a caller can tell a one-month "year" (``months_covered`` 1) from a whole one (12).
        """
        from whatworks.store.engine import store_counts

        self._require_relation(table)
        return store_counts(self._count_source(table, by, where, value), table, self.coverage, by, where,
                            months=months, value=value)

    # Columns the ``crimes`` view takes from ``events`` unchanged: a count that uses only these needs neither the
    # view's latest-outcome window nor its join to ``batches``, so it is made on ``events`` of kind 'crime' — the
    # same rows (the view is those events, each with its batch), at a fraction of the cost on a large store.
    _CRIMES_FROM_EVENTS = frozenset({"event_id", "kind", "occurred", "month", "time_precision", "crime_type", "lon",
                                     "lat", "x", "y", "location", "lsoa_code", "lsoa_name", "force", "reported_by",
                                     "context", "source_system", "source_row", "batch_id"})

    def _count_source(self, table: str, by, where, value):
        from whatworks.store.engine import DERIVED_KEYS

        if table in ("crimes", "asb"):   # the views add only the latest outcome to these events
            used = {b for b in (by or []) if b not in DERIVED_KEYS} | set(where or {}) | ({value} if value else set())
            if used <= self._CRIMES_FROM_EVENTS:
                t = self.ibis("events")
                return t.filter(t["kind"] == ("crime" if table == "crimes" else "asb"))
        return self.ibis(table)

    def coverage(self, kind: str | None = None) -> pd.DataFrame:
        """What the store covers: one row per (source_system, force, month, kind) held in its current version.

        Columns ``source_system``, ``force``, ``month`` (Timestamp, first of the month), ``kind`` (``street``,
        ``outcomes``, ``stop_search`` for police.uk; the mapping table, e.g. ``crimes``, for RMS exports),
        ``batch_id`` (the batch holding the current version) and ``rows`` (rows loaded). A (force, month) is
        covered for crime counts when it has a ``street`` or ``crimes`` row: a covered month with no crime of a
        type in an area is 0, a month not covered is missing (NA), never 0. ``kind=`` keeps one kind.

        >>> Store(":memory:").coverage().columns.tolist()
        ['source_system', 'force', 'month', 'kind', 'batch_id', 'rows']
        """
        from whatworks.store import quality as _quality

        return _quality.coverage(self.con, kind)

    # ------------------------------------------------------------------ people (whatworks.store.links)
    def persons(self, systems: Sequence[str] | None = None) -> pd.DataFrame:
        """Person records for linkage, latest per (source_system, person_id); see :func:`whatworks.store.links.persons`."""
        from whatworks.store import links as _links

        return _links.persons(self.con, systems)

    def save_links(self, result, *, model_version: str | None = None, replace: bool = True) -> int:
        """Save a :class:`whatworks.people.LinkResult` into ``person_links``; see :func:`whatworks.store.links.save_links`."""
        self._require_writable()
        from whatworks.store import links as _links

        return _links.save_links(self.con, result, model_version=model_version, replace=replace)

    # ------------------------------------------------------------------ trials (whatworks.store.trial_log)
    def trial_log(self):
        """The store's trial log (protocols and hash-chained assignment logs), created on first use.

        Returns a :class:`whatworks.store.trial_log.TrialLog`; :class:`whatworks.trials.Allocator` calls this
        when given a Store, so ``Allocator(store, protocol)`` keeps its log in this file.
        """
        from whatworks.store.trial_log import TrialLog

        return TrialLog(self)

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError("The store was opened read-only; open it with read_only=False to ingest.")
        if not getattr(self, "_verified", False):
            self.verify()

    def verify(self) -> None:
        """Read every block of every table once, so DuckDB checks each block's checksum; a store that fails is
        refused for writing (raises :class:`~whatworks.errors.StoreError` saying how to recover).

        Runs by itself before the first write through this Store object (an ingest, an unload, saving links):
        writing into a damaged file would mix new rows with unreadable ones. Takes about a second per few million
        events."""
        tables = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
        for name in tables:
            try:
                self.con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {quote_ident(name)}").fetchall()
            except duckdb.Error as exc:
                raise StoreError(
                    f"The store {self.path!r} fails its integrity check: table {name!r} cannot be read ({exc}). "
                    "whatworks will not write into a damaged store. Hint: restore a backup copy of the file if you keep "
                    "one; otherwise open it read-only to export what can still be read, and rebuild a new store from the "
                    "original files (`whatworks status --batches` lists every file that was loaded).",
                    step="verify store") from exc
        self._verified = True

    # ------------------------------------------------------------------ quarantine & batches
    def quarantine(self, *, category: str | None = None) -> pd.DataFrame:
        """Quarantined rows (category 'invalid' or 'duplicate') with source file, row, reason and raw values."""
        _check_category("quarantine", category)
        if category is None:
            return self.sql("SELECT * FROM quarantine ORDER BY batch_id, source_row")
        return self.sql("SELECT * FROM quarantine WHERE category = ? ORDER BY batch_id, source_row", [category])

    def export_quarantine(self, path: str | os.PathLike, *, category: str | None = None, include_personal: bool = False,
                          overwrite: bool = False) -> int:
        """Write the quarantine to ``path`` (.csv, .parquet or .json by extension); returns the number of rows.

        Rows from a force's own records (RMS exports) may hold personal data (names, dates of birth, addresses), so by
        default their ``raw`` values are **masked by shape**: every letter becomes ``A``/``a``, every digit ``9``, other
        characters stay — ``01/07/2018`` → ``99/99/9999``, ``Jane Smith`` → ``Aaaa Aaaaa`` — which still shows what was
        wrong with a value without showing the value. police.uk rows are published open data and are not masked.
        ``include_personal=True`` exports the raw values as they are and says so in the export's provenance file.
        CSV cells are neutralised for spreadsheets, the output never overwrites the store or a file whatworks did not
        write (``overwrite=True`` for the latter), and a ``<file>.provenance.json`` beside it records the whatworks
        version, the store's fingerprint, the query, its parameters and the time (:mod:`whatworks.store.exports`).
        """
        from whatworks.store.exports import write_table

        _check_category("export_quarantine", category)
        where = "" if category is None else "WHERE q.category = ?"
        query = ("SELECT q.*, b.format AS source_format FROM quarantine q LEFT JOIN batches b USING (batch_id) "
                 f"{where} ORDER BY q.batch_id, q.source_row")
        frame = self.sql(query, [category] if category is not None else None)
        personal = frame["source_format"].fillna("").str.startswith("records:") if len(frame) else frame["source_format"]
        if not include_personal and len(frame):
            frame.loc[personal, "raw"] = frame.loc[personal, "raw"].map(_mask_shape)
        prov = {"store": self.path, "store_fingerprint": self.fingerprint(), "query": query,
                "parameters": {"category": category, "include_personal": include_personal},
                "personal_data": ("included as recorded (include_personal=True)" if include_personal else
                                  f"masked by shape in {int(personal.sum())} row(s) from RMS exports")}
        write_table(frame.drop(columns=["source_format"]), path, provenance=prov, overwrite=overwrite,
                    inputs=[self.path], where="export_quarantine")
        return int(len(frame))

    def fingerprint(self) -> str:
        """A SHA-256 over what the store holds: its schema version and every loaded batch (id, file checksum, rows
        loaded, and whether it is current). Two stores loaded from the same files the same way have the same fingerprint;
        any load, unload or replacement changes it. Recorded in every export's and pack's provenance."""
        import hashlib

        rows = self.con.execute(
            "SELECT b.batch_id, b.checksum, b.rows_loaded, s.batch_id IS NULL AS current FROM batches b "
            "LEFT JOIN superseded s USING (batch_id) ORDER BY b.batch_id").fetchall()
        h = hashlib.sha256(f"whatworks store schema {SCHEMA_VERSION}\n".encode())
        for r in rows:
            h.update(("|".join(str(v) for v in r) + "\n").encode())
        return h.hexdigest()

    def status(self) -> dict:
        """What is in the store: tables and row counts, forces, date range, quarantine summary, batches, and what it
        covers: ``coverage`` (``Store.coverage()``) and ``coverage_summary`` (per source system, force and kind:
        ``first_month``, ``last_month``, ``months`` held, ``months_missing`` and ``missing_months`` as readable runs
        such as ``"2016-08..2017-06, 2017-08..2018-06"``); ``superseded_batches`` counts earlier versions of
        republished months kept aside. ``first_month``/``last_month``/``events`` count current versions only."""
        span = self.con.execute("SELECT min(month), max(month), count(*) FROM events").fetchone()
        forces = self.sql("SELECT force, kind, count(*) AS rows FROM events GROUP BY ALL ORDER BY force, kind")
        quarantine = self.sql("SELECT category, reason, count(*) AS rows FROM quarantine GROUP BY ALL ORDER BY rows DESC, reason")
        batches = self.con.execute("SELECT count(*), coalesce(sum(rows_read), 0) FROM batches").fetchone()
        from whatworks.store import quality as _quality

        cov = _quality.coverage(self.con)
        superseded = int(self.con.execute("SELECT count(*) FROM superseded").fetchone()[0])
        return {
            "path": self.path,
            "schema_version": SCHEMA_VERSION,
            "relations": self.relations(),
            "first_month": span[0],
            "last_month": span[1],
            "events": int(span[2]),
            "by_force": forces,
            "quarantine": quarantine,
            "files_loaded": int(batches[0]),
            "rows_read": int(batches[1]),
            "coverage": cov,
            "coverage_summary": _quality.coverage_summary(cov),
            "superseded_batches": superseded,
        }

    def batches(self) -> pd.DataFrame:
        """One row per loaded file: checksum, format, row accounting, time, and ``superseded_by`` (the batch holding
        the newer version of its months, or NA for a current batch)."""
        return self.sql("SELECT b.*, s.superseded_by FROM batches b LEFT JOIN superseded s USING (batch_id) ORDER BY batch_id")


from whatworks.store.engine import COVERAGE_KINDS  # noqa: E402  (re-exported: the kinds that say a month is held)


def _input_bytes(path) -> int:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    return 0


def _is_disk_full(exc: BaseException) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and ("no space left" in text or "disk is full" in text)


class _disk_full_guard:
    """Turn "No space left on device" during an ingest into an error naming the folders involved, what they have
    free and roughly what the load needs (the store grows by about the CSV size; zip members and DuckDB's spill files
    go to the temp folder). The ingest's transactions already left the store as it was before the failed group."""

    def __init__(self, store: "Store", path):
        self.store, self.path = store, path

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is None or not _is_disk_full(exc):
            return False
        import shutil
        import tempfile

        need = _input_bytes(self.path)
        places = []
        folders = [("the temp folder", Path(tempfile.gettempdir()))]
        if self.store.path != ":memory:":
            folders.insert(0, ("the store's folder", Path(self.store.path).expanduser().resolve().parent))
        for label, folder in folders:
            try:
                free = shutil.disk_usage(folder).free
                places.append(f"{label} {str(folder)!r} has {free / 2**20:,.0f} MB free")
            except OSError:
                places.append(f"{label} {str(folder)!r}")
        raise StoreError(
            f"The disk filled up while loading {str(self.path)!r}: {'; '.join(places)}. This load needs roughly "
            f"{2 * need / 2**20:,.0f} MB (twice the {need / 2**20:,.0f} MB of input: the store's copy and the work "
            "files). The store is as it was before the group being loaded. Hint: free space, or point TMPDIR at a "
            "larger folder, and run the same ingest again (files already loaded are skipped).") from exc


def _shape(text: str) -> str:
    return "".join("9" if ch.isdigit() else ("A" if ch.isupper() else "a") if ch.isalpha() else ch for ch in text)


def _mask_shape(raw):
    """A quarantined row's raw values with their shape kept and their content hidden: letters -> A/a, digits -> 9,
    other characters kept. A JSON object keeps its keys (column names) and has its values masked; a raw line that
    could not be split into fields is masked whole. None stays None."""
    import json

    if raw is None or (isinstance(raw, float) and raw != raw):
        return raw

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            return _shape(v)
        return v if v is None or isinstance(v, bool) else _shape(str(v))

    try:
        doc = json.loads(raw)
    except (TypeError, ValueError):
        return _shape(str(raw))
    if not isinstance(doc, dict):
        return _shape(str(raw))
    return json.dumps(walk(doc), ensure_ascii=False)


def _check_category(where: str, category: str | None) -> None:
    """A misspelt category would match no row and read as an empty quarantine, so it is refused."""
    if category is not None and category not in QUARANTINE_CATEGORIES:
        raise error(where, f"The 'category' parameter must be one of {list(QUARANTINE_CATEGORIES)} or None (both).",
                    got=category)


__all__ = ["Store", "IngestReport", "FileOutcome", "default_store_path", "DEFAULT_STORE", "STORE_ENV"]
