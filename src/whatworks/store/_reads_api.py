"""The store's named reads: how records and small summaries leave the store (DESIGN.md, "Data flows one way").

Mixed into :class:`whatworks.store.Store`. Record reads (``crimes``, ``asb``, ``stops``, ``outcomes``) are built on
the Ibis engine (:func:`whatworks.store.engine.select`), so the same selection runs on a Spark table; the people
reads (``involvements``, ``links``) and the summaries are named SQL steps in :mod:`whatworks.store.links` and here.
Every read returns pandas; arguments are checked at the door:

* ``source`` — one ``source_system`` or a list of them (``None``: every source; a store loaded from police.uk and
  from the force's own records holds the same crimes twice, so say which one when counting);
* ``months`` — ``"2024-06"`` (one month) or ``("2024-04", "2025-03")`` (first and last, inclusive);
* ``area`` — an area code at any level the store's areas know (an LSOA, a ward, a local authority, a borough …, or
  a district derived from police.uk LSOA names): the records whose ``lsoa_code`` lies inside it;
* ``crime_types`` — one crime type or a list (``crimes``, ``asb``);
* ``columns`` — the columns to return (default: every column of the view).

>>> import whatworks as ww
>>> ww.Store(":memory:").crimes(months=("2024-01", "2024-03"), columns=["month", "crime_type"]).columns.tolist()
['month', 'crime_type']
"""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

from whatworks.errors import error
from whatworks.store._sql import run
from whatworks.store.engine import month_bounds, select

# The record views each read method serves, and whether it has a crime_type column to filter on.
RECORD_VIEWS = {"crimes": True, "asb": True, "stops": False, "outcomes": False}
SUMMARY_TABLES = ("crimes", "asb", "stops", "outcomes", "events")
QUARANTINE_CATEGORIES = ("invalid", "duplicate")   # Store.quarantine(category=...) and quarantine_count


def _names(where: str, arg: str, value) -> list[str] | None:
    """``None``, one name or a non-empty list of names, as a list of str."""
    if value is None:
        return None
    vals = [value] if isinstance(value, str) else (list(value) if isinstance(value, Iterable) else None)
    if vals is None or not all(isinstance(v, str) and v for v in vals):
        raise error(where, f"The '{arg}' parameter must be a name or a list of names.", got=value,
                    hint=f"e.g. {arg}='police.uk'" if arg == "source" else f"e.g. {arg}=['Burglary', 'Robbery']")
    if not vals:
        raise error(where, f"The '{arg}' parameter is an empty list.", hint=f"Leave {arg} out for all of them.")
    return vals


class ApiReads:
    """Named reads over the canonical tables; ``self.con`` is the store's DuckDB connection, ``self.ibis()`` its
    Ibis backend."""

    # ------------------------------------------------------------------ records
    def crimes(self, source=None, months=None, area=None, crime_types=None, columns=None) -> pd.DataFrame:
        """Crimes (the ``crimes`` view: street-level crimes with their latest outcome), one row per crime, ordered by
        ``month`` then ``event_id``. See the module docstring for the arguments.

        >>> store.crimes(source="police.uk", months=("2024-04", "2025-03"), area="E09000033",
        ...              crime_types="Burglary", columns=["month", "lsoa_code"])   # doctest: +SKIP
        """
        return self._records("crimes", "Store.crimes", source, months, area, crime_types, columns)

    def asb(self, source=None, months=None, area=None, crime_types=None, columns=None) -> pd.DataFrame:
        """Anti-social behaviour incidents (the ``asb`` view), with the same arguments as :meth:`crimes`."""
        return self._records("asb", "Store.asb", source, months, area, crime_types, columns)

    def stops(self, source=None, months=None, area=None, columns=None) -> pd.DataFrame:
        """Stops and searches (the ``stops`` view: events joined to their stop details), as :meth:`crimes`
        without ``crime_types``."""
        return self._records("stops", "Store.stops", source, months, area, None, columns)

    def outcomes(self, source=None, months=None, area=None, columns=None) -> pd.DataFrame:
        """Outcome records (the ``outcomes`` view: one row per published outcome of a crime, ``crime_id`` naming
        it), as :meth:`crimes` without ``crime_types``."""
        return self._records("outcomes", "Store.outcomes", source, months, area, None, columns)

    def _records(self, view: str, where: str, source, months, area, crime_types, columns) -> pd.DataFrame:
        sources = _names(where, "source", source)
        bounds = month_bounds(where, months)
        types = _names(where, "crime_types", crime_types)
        cols = _names(where, "columns", columns)
        if not self._has_relation(view):
            raise error(where, f"This store has no {view!r} view (it was made by an older whatworks).",
                        hint="Open it read-write once with whatworks.Store(path) to migrate it.")
        t = self.ibis(view)
        if cols is not None:
            unknown = [c for c in cols if c not in t.columns]
            if unknown:
                raise error(where, f"Column(s) {unknown} are not in the store's {view!r} view.",
                            expected=f"columns among {list(t.columns)}")
        lsoas = None if area is None else self._lsoas_in(where, area)
        expr = select(t, sources=sources, months=bounds, lsoa_codes=lsoas, crime_types=types, columns=cols)
        return self._frame(expr, f"read {view}")

    def _lsoas_in(self, where: str, area) -> list[str]:
        """The small-area codes inside ``area`` (itself included), from the store's area hierarchy."""
        if not isinstance(area, str) or not area:
            raise error(where, "The 'area' parameter must be an area code.", got=area,
                        hint="e.g. an LSOA, ward or local authority code; store.areas() lists them.")
        anc = self.area_ancestors()
        inside = anc.loc[anc["code"] == area, "lsoa_code"]
        if inside.empty:
            known = sorted(set(anc["code"].dropna().astype(str)))
            raise error(where, f"Area {area!r} is not in the store.",
                        expected=f"an area code the store knows (e.g. {known[:5]})",
                        hint="Load an area lookup with store.ingest_areas(...); store.areas() lists the areas.")
        return sorted(set(inside.astype(str)))

    # ------------------------------------------------------------------ areas
    def area_ancestors(self) -> pd.DataFrame:
        """Every area's place in the hierarchy: one row per (area, area containing it, itself included) with
        ``lsoa_code``, ``code``, ``name``, ``level``, ``depth``, ``leaf``; see :func:`whatworks.store.areas.ancestors`."""
        from whatworks.store import areas as _areas

        return _areas.ancestors(self.con)

    def area_table(self, level: str | None = None, *, roll_up: bool = False) -> pd.DataFrame:
        """Areas with their population and covariates as columns (one row per area, optionally of one ``level``;
        ``roll_up=True`` rolls covariates up from the areas inside); see :func:`whatworks.store.areas.area_table`."""
        from whatworks.store import areas as _areas

        return _areas.area_table(self.con, level=level, roll_up=roll_up)

    # ------------------------------------------------------------------ people
    def involvements(self, role_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Every person's involvement in an event (``source_system``, ``person_id``, ``role``, ``what``, ``kind``,
        ``reference``, ``occurred``), ready for :func:`whatworks.people.histories`; see
        :func:`whatworks.store.links.involvements`."""
        from whatworks.store import links as _links

        if role_labels is not None and not (isinstance(role_labels, Mapping)
                                            and all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in role_labels.items())):
            raise error("Store.involvements", "The 'role_labels' parameter must map roles to labels (text to text).",
                        got=role_labels, hint="e.g. {'arrestee': 'arrest', 'victim': 'victimisation'}")
        return _links.involvements(self.con, role_labels)

    def links(self, model_version: str | None = None) -> pd.DataFrame:
        """Saved person links (``source_system``, ``person_id``, ``cluster_id``, ``model_version``, ``linked_at``),
        of one model version if given; see :func:`whatworks.store.links.links`."""
        from whatworks.store import links as _links

        if model_version is not None and not isinstance(model_version, str):
            raise error("Store.links", "The 'model_version' parameter must be text or None.", got=model_version)
        return _links.links(self.con, model_version)

    def linkage_connection(self, *, memory_limit: str | None = None):
        """A context manager giving a scratch in-memory DuckDB connection for Splink's work tables
        (:func:`whatworks.store.links.linkage_connection`), with this store's memory limit unless ``memory_limit``
        is given. Pass it to :func:`whatworks.people.link` as ``connection=``."""
        from whatworks.store import links as _links

        if memory_limit is None:
            memory_limit = str(run(self.con, "read memory limit",
                                   "SELECT current_setting('memory_limit')").fetchone()[0])
        return _links.linkage_connection(memory_limit=memory_limit)

    # ------------------------------------------------------------------ summaries
    # The summaries are Ibis expressions too (the same on DuckDB and Spark), run through _frame.
    def sources(self, table: str = "crimes") -> pd.DataFrame:
        """The source systems holding rows of ``table`` (``crimes``, ``asb``, ``stops``, ``outcomes``, ``events``):
        ``source_system`` and ``rows``, most rows first (ties by name)."""
        import ibis

        t = self.ibis(self._summary_table("Store.sources", table))
        expr = (t.group_by("source_system").aggregate(rows=t.count())
                .order_by([ibis.desc("rows"), "source_system"]))
        return self._frame(expr, f"sources of {table}")

    def month_span(self, table: str = "crimes", source=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """(first, last) month of ``table``'s rows (from ``source`` if given) as Timestamps; (None, None) when none."""
        t = self._filtered("Store.month_span", table, source)
        row = self._frame(t.aggregate(lo=t["month"].min(), hi=t["month"].max()), f"month span of {table}").iloc[0]
        lo, hi = row["lo"], row["hi"]
        return (None if pd.isna(lo) else pd.Timestamp(lo)), (None if pd.isna(hi) else pd.Timestamp(hi))

    def months_present(self, table: str = "crimes", source=None) -> pd.DataFrame:
        """The months holding rows of ``table``, per source: ``source_system``, ``month`` (Timestamp), ``rows``.
        A month with rows is not the same as a month covered (see :meth:`coverage`)."""
        t = self._filtered("Store.months_present", table, source)
        expr = (t.group_by(["source_system", "month"]).aggregate(rows=t.count())
                .order_by(["source_system", "month"]))
        out = self._frame(expr, f"months of {table}")
        out["month"] = pd.to_datetime(out["month"])
        return out

    def crime_types(self, table: str = "crimes", source=None) -> pd.DataFrame:
        """The crime types of ``table`` (``crimes`` or ``asb``, or ``[crimes, asb]`` for both) with ``rows``, most
        rows first (ties by name), from ``source`` if given."""
        import ibis

        tables = [table] if isinstance(table, str) else list(table) if isinstance(table, (list, tuple)) else [table]
        for t in tables:
            if t not in ("crimes", "asb"):
                raise error("Store.crime_types", "The 'table' parameter must be 'crimes', 'asb' or a list of them.",
                            got=table)
        present = [t for t in dict.fromkeys(tables) if self._has_relation(t)]
        if not present:
            return pd.DataFrame({"crime_type": pd.Series(dtype=object), "rows": pd.Series(dtype="int64")})
        parts = [self._filtered("Store.crime_types", t, source).select("crime_type") for t in present]
        u = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
        expr = u.group_by("crime_type").aggregate(rows=u.count()).order_by([ibis.desc("rows"), "crime_type"])
        return self._frame(expr, "crime types")

    def forces(self, table: str = "crimes", source=None) -> list[str]:
        """The forces named in ``table``'s rows (from ``source`` if given), sorted."""
        t = self._filtered("Store.forces", table, source)
        expr = t.filter(t["force"].notnull()).select("force").distinct().order_by("force")
        return [str(v) for v in self._frame(expr, f"forces of {table}")["force"]]

    def view_columns(self, table: str = "crimes") -> list[str]:
        """The column names of ``table`` (``crimes``, ``asb``, ``stops``, ``outcomes``, ``events``), in order."""
        return list(self.ibis(self._summary_table("Store.view_columns", table)).columns)

    def event_summary(self) -> pd.DataFrame:
        """One row per (source_system, kind) of ``events``: ``rows``, ``first_month``, ``last_month``."""
        return run(self.con, "event summary", "SELECT source_system, kind, count(*) AS rows, min(month) AS first_month, "
                                              "max(month) AS last_month FROM events GROUP BY ALL "
                                              "ORDER BY source_system, kind").df()

    def person_summary(self) -> pd.DataFrame:
        """Person records per source system: ``source_system``, ``rows``."""
        return run(self.con, "person summary", "SELECT source_system, count(*) AS rows FROM persons GROUP BY ALL "
                                               "ORDER BY source_system").df()

    def role_summary(self) -> pd.DataFrame:
        """Person-event roles (victim, offender, searched, arrestee …): ``role``, ``rows``."""
        return run(self.con, "role summary", "SELECT role, count(*) AS rows FROM event_persons GROUP BY ALL "
                                             "ORDER BY role").df()

    def quarantine_count(self, *, category: str | None = None) -> int:
        """How many rows are quarantined (of one ``category``: ``"invalid"`` or ``"duplicate"``)."""
        if category is not None and category not in QUARANTINE_CATEGORIES:
            raise error("Store.quarantine_count", f"The 'category' parameter must be one of "
                        f"{list(QUARANTINE_CATEGORIES)} or None (both).", got=category)
        if category is None:
            return int(run(self.con, "count quarantine", "SELECT count(*) FROM quarantine").fetchone()[0])
        return int(run(self.con, "count quarantine", "SELECT count(*) FROM quarantine WHERE category = ?",
                       [category]).fetchone()[0])

    # ------------------------------------------------------------------ helpers
    def _frame(self, expr, what: str) -> pd.DataFrame:
        """Run an Ibis expression: compiled and run on the store's own connection, so the frame has the types
        ``store.sql`` gives (DuckDB's pandas conversion: nullable booleans, microsecond dates), not Ibis's own
        conversion. (A Spark store runs it on Spark.)"""
        return run(self.con, what, str(self.ibis().compile(expr))).df()

    def _filtered(self, where: str, table: str, source):
        """The Ibis table ``table`` (a summary table), restricted to ``source``."""
        t = self.ibis(self._summary_table(where, table))
        sources = _names(where, "source", source)
        return t if sources is None else t.filter(t["source_system"].isin(sources))

    def _has_relation(self, name: str) -> bool:
        return bool(run(self.con, "find relation", "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name = ?",
                        [name]).fetchone()[0])

    def _summary_table(self, where: str, table) -> str:
        if table not in SUMMARY_TABLES:
            raise error(where, f"The 'table' parameter must be one of {list(SUMMARY_TABLES)}.", got=table)
        if not self._has_relation(table):
            raise error(where, f"This store has no {table!r} view (it was made by an older whatworks).",
                        hint="Open it read-write once with whatworks.Store(path) to migrate it.")
        return table


__all__ = ["ApiReads", "RECORD_VIEWS", "SUMMARY_TABLES", "QUARANTINE_CATEGORIES"]
