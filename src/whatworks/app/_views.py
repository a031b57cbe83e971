"""What each page shows, as analysis results: the dashboard's only contact with the store and the analyses.

Nothing is computed here. The filters (area, period, crime type) are resolved with the report's own public helpers
(:mod:`whatworks.report.data`), so the chart counts what the pack counts; the heavy pages are the performance pack's
analyses (:func:`whatworks.report.pack` run with ``out=None``), the landscape is :func:`whatworks.report.landscape`,
and the quick trend chart that follows every filter change is the store's pushed-down ``store.counts`` (Ibis) fed to
:func:`whatworks.performance.spc`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import pandas as pd

from whatworks.errors import WhatworksError, error
from whatworks.performance import spc
from whatworks.performance.indicators import ASB
from whatworks.report import data
from whatworks.report.pack import DEFAULT_HISTORY, HEADLINE, MIN_SPC_MONTHS, Indicator, shift_month

WHERE = "app"
CACHE_SIZE = 32          # filter combinations whose results are kept in memory
PAGES = ("attention", "landscape", "performance", "places", "people", "evidence", "confidence")


@dataclass(frozen=True)
class Filters:
    """The shared filters, as the URL query string holds them: ``?area=CODE&period=2024-04..2025-03&crime_type=X``."""

    area: str | None = None
    period: tuple[str, str] | None = None
    crime_type: str | None = None

    @classmethod
    def from_search(cls, search: str | None) -> "Filters":
        q = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
        one = lambda k: (q.get(k) or [None])[0] or None  # noqa: E731
        period = one("period")
        p = None
        if period:
            try:
                p = data.parse_period(WHERE, period)
            except WhatworksError:
                p = None
        return cls(area=one("area"), period=p, crime_type=one("crime_type"))

    def to_search(self) -> str:
        q = {}
        if self.area:
            q["area"] = self.area
        if self.period:
            q["period"] = f"{self.period[0]}..{self.period[1]}"
        if self.crime_type:
            q["crime_type"] = self.crime_type
        return ("?" + urlencode(q)) if q else ""

    def key(self) -> tuple:
        return (self.area, self.period, self.crime_type)


class _LRU:
    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


class Views:
    """Per-store view data, cached by filter values (a store opened read-only does not change under the app)."""

    def __init__(self, store, disk=None, *, share: "Views | None" = None):
        self.store = store
        self.cache = _LRU(CACHE_SIZE)
        self.disk = disk                 # a diskcache.Cache shared with background workers (pack results), or None
        self.lock = threading.RLock()    # one DuckDB connection: one query at a time
        # facts of the (read-only) store that no filter changes — its relations, coverage, filter options, the
        # period and scope each filter value resolves to — read once; shared with another Views over the same file
        self._fixed: dict = share._fixed if share is not None else {}

    def _once(self, key, read):
        """``read()`` the first time ``key`` is asked for, under the lock; the kept answer after."""
        if key not in self._fixed:
            with self.lock:
                if key not in self._fixed:
                    self._fixed[key] = read()
        return self._fixed[key]

    def relations(self) -> set[str]:
        return self._once(("relations",), lambda: data.relations(self.store))

    def coverage(self, src: str) -> pd.DataFrame:
        return self._once(("coverage", src), lambda: data.coverage(self.store, src))

    # ---------------------------------------------------------------- filter options
    def options(self) -> dict:
        """Areas, months and crime types the filters offer (read once)."""
        return self._once(("options",), self._read_options)

    def _read_options(self) -> dict:
        try:
            src = data.choose_source(self.store, None, where=WHERE, quiet=True, settings={})
        except WhatworksError as exc:
            return {"source": None, "areas": [], "months": [], "crime_types": [], "problem": str(exc)}
        areas = self.store.areas()
        months = sorted({f"{m:%Y-%m}" for m in self.coverage(src)["month"]})
        types = self.store.counts(by=["crime_type"], where={"source_system": src})["crime_type"].dropna()
        asb = self.store.counts(by=["crime_type"], where={"source_system": src}, table="asb")["crime_type"] \
            if "asb" in self.relations() else pd.Series([], dtype=object)
        real = areas[areas["level"] != "lsoa"] if len(areas) else areas
        return {"source": src, "problem": None,
                "areas": [(str(r.code), f"{r.name} ({r.level})" if pd.notna(r.name) else str(r.code))
                          for r in real.itertuples()],
                "months": months,
                "crime_types": sorted(set(types.astype(str)) | set(asb.dropna().astype(str)))}

    def names(self) -> dict:
        """Area code → name, for chart labels (read once)."""
        def read():
            a = self.store.areas()
            return dict(zip(a["code"].astype(str), a["name"].fillna(a["code"]).astype(str))) if len(a) else {}
        return self._once(("names",), read)

    def clean(self, f: Filters) -> tuple[Filters, list[str]]:
        """Drop filter values the store does not hold, saying which (a stale bookmark still opens)."""
        o = self.options()
        notes, area, period, ct = [], f.area, f.period, f.crime_type
        if area and area not in {a for a, _ in o["areas"]}:
            notes.append(f"Area {area!r} is not in the store: showing the whole store.")
            area = None
        if period and o["months"] and (period[0] < o["months"][0] or period[1] > o["months"][-1]):
            notes.append(f"Period {period[0]}..{period[1]} is not all in the data ({o['months'][0]}..{o['months'][-1]}): "
                         "showing the latest 12 months.")
            period = None
        if ct and ct not in o["crime_types"]:
            notes.append(f"Crime type {ct!r} is not in the store: showing all crime.")
            ct = None
        return Filters(area, period, ct), notes

    # ---------------------------------------------------------------- the quick chart (pushed down)
    def trend(self, f: Filters):
        """Monthly counts for the filters from ``store.counts`` (aggregated in DuckDB), with SPC limits
        (:func:`whatworks.performance.spc`). Returns (SPCResult or None, label, note)."""
        hit = self.cache.get(("trend", f.key()))
        if hit is not None:
            return hit
        o = self.options()
        src = o["source"]
        label = f.crime_type or "All crime (excluding ASB)"
        p0, p1 = self._once(("period", f.period), lambda: data.choose_period(
            self.store, src, f.period, where=WHERE, quiet=True, settings={}))
        scope = self._once(("scope", f.area), lambda: data.resolve_scope(self.store, f.area, src, where=WHERE))
        cov = self.coverage(src)
        with self.lock:
            where: dict[str, Any] = {"source_system": src}
            if f.crime_type:
                where["crime_type"] = f.crime_type
            if scope.lsoa_codes is not None:
                where["lsoa_code"] = sorted(scope.lsoa_codes)
            if scope.force is not None:
                where["force"] = scope.force
            table = "asb" if f.crime_type == ASB and "asb" in self.relations() else "crimes"
            h0 = max(o["months"][0], shift_month(p1, -(DEFAULT_HISTORY - 1)))
            counts = self.store.counts(by=["month"], where=where, months=(h0, p1), table=table)
        forces = [scope.force] if scope.force else None
        covered = [m for m in data.covered_months(cov, forces) if pd.Timestamp(h0 + "-01") <= m <= pd.Timestamp(p1 + "-01")]
        # a covered month with no record is a month of zero; a month not covered stays missing (store.counts)
        monthly = pd.DataFrame({"month": covered})
        c = counts.assign(month=pd.to_datetime(counts["month"]))
        monthly = monthly.merge(c, on="month", how="left").fillna({"count": 0})
        title = f"{label}, {scope.name}: monthly, with process limits"
        if len(monthly) < MIN_SPC_MONTHS:
            out = (None, title, f"No SPC chart: {len(monthly)} month(s) loaded in {h0}..{p1} "
                                f"({MIN_SPC_MONTHS} needed). Load more months of data.")
        else:
            improvement = "decrease"
            out = (spc(monthly.astype({"count": float}), "count", "month", improvement=improvement, quiet=True),
                   title, None)
        return self.cache.put(("trend", f.key()), out)

    # ---------------------------------------------------------------- the pack's analyses (slow: background)
    def headline(self, f: Filters):
        if not f.crime_type:
            return HEADLINE
        return (Indicator(f.crime_type, (f.crime_type,),
                          improvement="decrease"), Indicator("Solved rate (all crime)", None, "solved_rate", "increase"))

    def pack(self, f: Filters, *, out=None):
        """:func:`whatworks.report.pack` for the filters (``out=None``: nothing written), cached."""
        from whatworks.report import pack

        key = ("pack", f.key())
        if out is None:
            hit = self.cache.get(key)
            if hit is None and self.disk is not None:
                hit = self.disk.get(repr(key))
            if hit is not None:
                return self.cache.put(key, hit)
        with self.lock:
            r = pack(self.store, area=f.area, period=f.period, out=out, headline=self.headline(f), quiet=True,
                     overwrite=True)
        if out is not None:
            return r
        if self.disk is not None:
            self.disk.set(repr(key), r)   # the other pages (other worker processes) reuse it
        return self.cache.put(key, r)

    def landscape(self, f: Filters):
        """:func:`whatworks.report.landscape` for the filter's area (None without an area)."""
        from whatworks.report import landscape

        if not f.area:
            return None
        hit = self.cache.get(("landscape", f.key()))
        if hit is not None:
            return hit
        with self.lock:
            r = landscape(self.store, f.area, out=None, period=f.period, quiet=True)
        return self.cache.put(("landscape", f.key()), r)

    def boundaries(self, config):
        """Area boundaries from the config's file (``store.boundaries``), or None."""
        if not getattr(config, "boundaries", None):
            return None
        hit = self.cache.get(("boundaries",))
        if hit is not None:
            return hit
        with self.lock:
            b = self.store.boundaries(config.boundaries, id=config.boundary_id)
        return self.cache.put(("boundaries",), b)

    def people_reads(self) -> list[str]:
        """The store's person-level read methods this version has (the People page needs them)."""
        return [m for m in ("involvements", "stops", "outcomes", "links") if callable(getattr(self.store, m, None))]


def check_store(store) -> None:
    if not hasattr(store, "counts") or not hasattr(store, "areas"):
        raise error(WHERE, "create_app needs a whatworks.Store.", got=type(store).__name__,
                    hint="ww.Store('whatworks.duckdb', read_only=True)")
