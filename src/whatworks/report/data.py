"""What a report reads from the store: which source, which months, which area, and the records behind them.

Public so that every front end resolves its filters exactly as the pack and the landscape do (the dashboard,
:mod:`whatworks.app`, draws its quick trend chart with them): :func:`choose_source`, :func:`parse_period`,
:func:`choose_period`, :func:`resolve_scope` (a :class:`Scope`), :func:`coverage` and :func:`covered_months`, and
the reads and labels the pack and landscape build on.

Everything here is data access through the store's named reads (``store.counts``, ``crimes``, ``asb``,
``coverage``, ``area_table``, ``area_ancestors``, ``relation_names``), so a report runs on any store that has them
(DuckDB or Spark) and holds no SQL; the numbers are made by the analyses in :mod:`whatworks.performance` and
:mod:`whatworks.place`. The source systems, month span and forces of the crimes are read as ``store.counts`` groups
(:func:`crime_sources`, :func:`crime_month_span`, :func:`crime_forces`): the same answers as ``store.sources``,
``store.month_span`` and ``store.forces`` on the ``crimes`` view, without computing every crime's latest outcome
(which those reads of the view do, at a cost of seconds on a store of millions of crimes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce
from whatworks.errors import WhatworksError, error
from whatworks.store.areas import DERIVED_LEVEL   # the level of districts derived from LSOA names

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ROW_COLUMNS = ("month", "kind", "crime_type", "last_outcome_category", "lsoa_code", "force", "x", "y")
CRIME_COVERAGE_KINDS = ("street", "crimes")   # file kinds that make a (force, month) covered for crime counts


@dataclass(frozen=True)
class Scope:
    """The area a report is about, and how its records are found.

    ``match`` is ``"area"`` (a code in ``areas``), ``"district"`` (a local authority named in police.uk LSOA
    names), ``"force"`` (a force name in the records) or ``"all"`` (the whole store).
    """

    code: str | None
    name: str
    level: str
    match: str
    population: float | None
    population_source: str | None
    lsoa_codes: frozenset | None      # records in these small areas (None: no small-area filter)
    force: str | None                 # records of this force (None: no force filter)
    unit_level: str | None            # level of the areas it is compared with (funnels, peers)

    def select(self, rows: pd.DataFrame) -> pd.DataFrame:
        m = np.ones(len(rows), dtype=bool)
        if self.lsoa_codes is not None:
            m &= rows["lsoa_code"].isin(self.lsoa_codes).to_numpy()
        if self.force is not None:
            m &= (rows["force"] == self.force).to_numpy()
        return rows[m]


def relations(store) -> set[str]:
    return set(store.relation_names())   # names only: counting every table's rows costs seconds on a large store


def crime_sources(store) -> pd.DataFrame:
    """The source systems holding crimes, as ``store.sources("crimes")``: ``source_system`` and ``rows``, most rows
    first (ties by name). Counted with ``store.counts``, which needs none of the ``crimes`` view's outcome columns."""
    c = store.counts(by=["source_system"])
    out = pd.DataFrame({"source_system": c["source_system"].astype(object), "rows": c["count"].astype("int64")})
    out = out.sort_values(["rows", "source_system"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def crime_month_span(store, source: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(first, last) month of ``source``'s crimes as Timestamps, as ``store.month_span("crimes", source)``;
    (None, None) when it has none. Read as ``store.counts`` by month."""
    c = store.counts(by=["month"], where={"source_system": source})
    m = pd.to_datetime(c["month"]).dropna()
    return (None, None) if m.empty else (pd.Timestamp(m.min()), pd.Timestamp(m.max()))


def crime_forces(store, source: str) -> list[str]:
    """The forces named in ``source``'s crimes, sorted, as ``store.forces("crimes", source)``. Read as
    ``store.counts`` by force."""
    c = store.counts(by=["force"], where={"source_system": source})
    return sorted(str(v) for v in c["force"] if pd.notna(v))


def choose_source(store, source: str | None, *, where: str, quiet: bool, settings: dict) -> str:
    """The source system whose crimes the report counts. Counting two systems holding the same crimes (police.uk and
    the force's RMS export) would double-count, so a report reads exactly one."""
    found = crime_sources(store)                    # source_system, rows: most rows first, ties by name
    if found.empty:
        raise error(where, "The store has no crimes.", hint="Load data first: `whatworks ingest policeuk PATH` "
                    "(or `whatworks demo` for a synthetic force).")
    systems = found["source_system"].tolist()
    if source is not None:
        if source not in systems:
            raise error(where, f"No crimes from source {source!r} in the store.", expected=f"one of {systems}")
        settings["source"] = Setting(source, "user", "given by the caller")
        return source
    if len(systems) == 1:
        chosen, reason = systems[0], "the only source of crimes in the store"
    elif "police.uk" in systems:
        chosen, reason = "police.uk", (f"{len(systems)} sources hold crimes ({', '.join(systems)}); counting more than "
                                       "one would double-count, and police.uk is the published figure")
    else:
        chosen, reason = systems[0], f"the source with the most crimes of {', '.join(systems)}"
    settings["source"] = Setting(chosen, "data", reason)
    announce(f"source set to {chosen!r} ({reason}).", quiet=quiet)
    return chosen


def parse_month(where: str, name: str, value) -> pd.Timestamp:
    if not isinstance(value, str) or not _MONTH.match(value):
        raise error(where, f"The '{name}' parameter must be a month written YYYY-MM.", got=value, hint='e.g. "2024-04"')
    return pd.Timestamp(value + "-01")


def parse_period(where: str, period) -> tuple[str, str] | None:
    """``("2024-04", "2025-03")``, ``"2024-04..2025-03"`` or None."""
    if period is None:
        return None
    if isinstance(period, str):
        parts = period.split("..")
        if len(parts) != 2:
            raise error(where, "The 'period' parameter must be two months, first and last.", got=period,
                        hint='e.g. "2024-04..2025-03" or ("2024-04", "2025-03")')
        period = tuple(p.strip() for p in parts)
    if not isinstance(period, (tuple, list)) or len(period) != 2:
        raise error(where, "The 'period' parameter must be two months, first and last.", got=period,
                    hint='e.g. ("2024-04", "2025-03")')
    a, b = parse_month(where, "period", period[0]), parse_month(where, "period", period[1])
    if b < a:
        raise error(where, "The period ends before it starts.", got=period)
    return period[0], period[1]


def choose_period(store, source: str, period, *, where: str, quiet: bool, settings: dict) -> tuple[str, str]:
    """The months a report covers: given, or the latest 12 months with data (announced)."""
    first, last = crime_month_span(store, source)
    p = parse_period(where, period)
    if p is None:
        start = max(first, last - pd.DateOffset(months=11))
        p = (start.strftime("%Y-%m"), last.strftime("%Y-%m"))
        months = (last.year - start.year) * 12 + last.month - start.month + 1
        reason = f"the latest {months} months with data"
        settings["period"] = Setting(f"{p[0]}..{p[1]}", "data", reason)
        announce(f"period set to {p[0]}..{p[1]} ({reason}).", quiet=quiet)
        return p
    lo, hi = pd.Timestamp(p[0] + "-01"), pd.Timestamp(p[1] + "-01")
    if hi > last or lo < first:
        raise error(where, f"The period {p[0]}..{p[1]} is not all in the data.",
                    expected=f"months between {first:%Y-%m} and {last:%Y-%m} (source {source!r})", got=period,
                    hint="Choose a period inside the data, or leave it out for the latest 12 months.")
    settings["period"] = Setting(f"{p[0]}..{p[1]}", "user", "given by the caller")
    return p


def fetch_rows(store, source: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Crime and ASB records of one source between two months (inclusive), with the columns the analyses need.

    The ``crimes`` view holds crimes only and ``asb`` anti-social behaviour (a store made before the split has ASB in
    ``crimes`` and no ``asb`` view): a report wants both, so it reads both."""
    months = (f"{first:%Y-%m}", f"{last:%Y-%m}")
    parts = [store.crimes(source=source, months=months, columns=list(ROW_COLUMNS))]
    if "asb" in relations(store):
        parts.append(store.asb(source=source, months=months, columns=list(ROW_COLUMNS)))
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return rows.sort_values("month", kind="stable").reset_index(drop=True)


def coverage(store, source: str) -> pd.DataFrame:
    """(force, month) pairs the store covers for crime counts from ``source``: ``store.coverage()`` rows of kind
    "street" (police.uk) or "crimes" (RMS). A month with no such row is not loaded, not a month of no crime."""
    cov = store.coverage()
    cov = cov[(cov["source_system"] == source) & cov["kind"].isin(CRIME_COVERAGE_KINDS)]
    out = cov[["force", "month"]].drop_duplicates().copy()
    out["month"] = pd.to_datetime(out["month"]).dt.to_period("M").dt.to_timestamp()
    return out.sort_values(["force", "month"]).reset_index(drop=True)


def covered_months(cov: pd.DataFrame, forces) -> list[pd.Timestamp]:
    """Months covered by every one of ``forces`` (None: every force in ``cov``)."""
    c = cov if forces is None else cov[cov["force"].isin(list(forces))]
    need = c["force"].nunique() if forces is None else len(set(forces))
    if need == 0:
        return []
    n = c.groupby("month")["force"].nunique()
    return sorted(pd.Timestamp(m) for m in n[n == need].index)


def month_range(first: str, last: str) -> list[pd.Timestamp]:
    return list(pd.date_range(first + "-01", last + "-01", freq="MS"))


def _runs(months: list[pd.Timestamp]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Consecutive runs (first, last) of sorted month starts."""
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for m in months:
        if out and (m.to_period("M") - out[-1][1].to_period("M")).n == 1:
            out[-1] = (out[-1][0], m)
        else:
            out.append((m, m))
    return out


def months_text(months: list[pd.Timestamp]) -> str:
    """'2017-08 to 2018-07', '2016-07, 2017-07, 2018-07' …: exactly the months listed."""
    return ", ".join(f"{a:%Y-%m}" if a == b else f"{a:%Y-%m} to {b:%Y-%m}" for a, b in _runs(sorted(months)))


def _window_name(first: str, last: str) -> str:
    a, b = pd.Timestamp(first + "-01"), pd.Timestamp(last + "-01")
    if a.month == 4 and b == a + pd.DateOffset(months=11):
        return f"{a.year}/{(a.year + 1) % 100:02d}"          # a financial year, April to March
    return f"{first} to {last}"


def period_label(covered: list[pd.Timestamp], first: str, last: str) -> str:
    """The months of ``first``..``last`` a figure covers, said exactly: "2017-08 to 2018-07" when all are loaded,
    "2018-07 only (1 of 12 months of 2017-08 to 2018-07)" when not. One month is never called a year."""
    window = month_range(first, last)
    inside = sorted(m for m in covered if window[0] <= m <= window[-1])
    if len(inside) == len(window):
        return f"{first}" if first == last else f"{first} to {last}"
    if not inside:
        return f"no month of {_window_name(first, last)} loaded"
    return f"{months_text(inside)} only ({len(inside)} of {len(window)} months of {_window_name(first, last)})"


def comparison_label(this: list[pd.Timestamp]) -> str:
    """Like with like: "July 2018 vs July 2017"; "2017-08 to 2018-07 vs 2016-08 to 2017-07"."""
    last = [m - pd.DateOffset(months=12) for m in this]
    if len(this) == 1:
        return f"{this[0]:%B %Y} vs {last[0]:%B %Y}"
    return f"{months_text(this)} vs {months_text(last)}"


def covariate_levels(store) -> dict[str, int]:
    """{level: number of covariates given directly for areas of that level} (the store's read), smallest level first."""
    read = getattr(store, "covariate_levels", None)
    if read is None or "area_covariates" not in relations(store):
        return {}
    return {level: len(covs) for level, covs in read().items() if covs}


def roll_up_problem(store, level: str) -> str | None:
    """Why covariates could not be rolled up to ``level`` (the first reason the store gives), or None."""
    read = getattr(store, "area_covariates", None)
    if read is None:
        return None
    try:
        missing = read(level).attrs.get("missing")
    except WhatworksError:
        return None
    if missing is None or len(missing) == 0 or "detail" not in missing:
        return None
    return str(missing["detail"].iloc[0])


def _unit_level_below(areas: pd.DataFrame, code: str | None) -> str | None:
    """The level of the areas directly inside ``code`` (or of the top areas when ``code`` is None): what a force or
    the whole store is broken down into."""
    if code is None:
        top = areas[areas["parent_code"].isna() | ~areas["parent_code"].isin(areas["code"])]
        if len(top) == 1:
            code = top["code"].iloc[0]
        elif len(top):
            return top["level"].mode().iloc[0]
        else:
            return None
    kids = areas[areas["parent_code"] == code]
    return kids["level"].mode().iloc[0] if len(kids) else None


def resolve_scope(store, area: str | None, source: str, *, where: str) -> Scope:
    """Find ``area`` among area codes, district names (from LSOA names) and force names; None is the whole store.

    Reads the area table, the area hierarchy (only for an area found in it) and the forces of ``source``'s crimes
    (:func:`crime_forces`).

    Examples
    --------
    >>> resolve_scope(store, "E09000033", "police.uk", where="pack").lsoa_codes   # doctest: +SKIP
    """
    table = store.area_table()
    real = table[table["level"] != DERIVED_LEVEL]
    forces = crime_forces(store, source)
    if area is None:
        name = forces[0] if len(forces) == 1 else "All areas in the store"
        unit = _unit_level_below(real, None) if len(real) else (DERIVED_LEVEL if len(table) else None)
        top = real[real["parent_code"].isna() | ~real["parent_code"].isin(real["code"])]
        pop, psrc = (None, None)
        if len(top) == 1:
            pop, psrc = top["population"].iloc[0], top["population_source"].iloc[0]
        return Scope(None, name, "all", "all", _num(pop), psrc, None, None, unit)
    hit = table[table["code"] == area]
    if not len(hit):
        by_name = table[table["name"].astype(str).str.lower() == str(area).lower()]
        if len(by_name) == 1:
            hit = by_name
    if len(hit):
        r = hit.iloc[0]
        anc = store.area_ancestors()
        members = frozenset(anc.loc[anc["code"] == r["code"], "lsoa_code"])
        if r["level"] == DERIVED_LEVEL:
            match, unit = "district", DERIVED_LEVEL
        else:
            match = "area"
            is_top = pd.isna(r["parent_code"]) or r["parent_code"] not in set(real["code"])
            unit = _unit_level_below(real, r["code"]) if is_top and len(real) > 1 else r["level"]
        return Scope(r["code"], str(r["name"] if pd.notna(r["name"]) else r["code"]), r["level"], match,
                     _num(r["population"]), r["population_source"], members, None, unit)
    if area in forces:
        unit = _unit_level_below(real, None) if len(real) else (DERIVED_LEVEL if len(table) else None)
        return Scope(area, area, "force", "force", None, None, None, area, unit)
    known = table["code"].head(8).tolist()
    raise error(where, f"Area {area!r} is not in the store.",
                expected=f"an area code from the areas table (e.g. {known}), a local authority named in the LSOA names, "
                         f"or a force name {forces[:5]}",
                hint="Load an area lookup with `whatworks ingest areas FILE`, or leave --area out for the whole store.")


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def units(store, level: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(areas at ``level`` with population and covariates, small area → unit code map)."""
    if level is None:
        return pd.DataFrame(columns=["code", "name", "population"]), pd.DataFrame(columns=["lsoa_code", "unit"])
    table = store.area_table(level, roll_up=True)   # covariates of small areas, rolled up
    anc = store.area_ancestors()
    m = anc[anc["level"] == level][["lsoa_code", "code"]].rename(columns={"code": "unit"})
    return table.reset_index(drop=True), m.drop_duplicates("lsoa_code")


def provenance(store, what: str, parameters: dict) -> dict:
    """What a published page carries so that every figure can be traced: the whatworks version, the store's
    fingerprint (:meth:`Store.fingerprint`), the call's parameters and the time (UTC)."""
    import datetime as _dt
    import json

    from whatworks._version import __version__

    fp = store.fingerprint() if hasattr(store, "fingerprint") else None
    return {"whatworks_version": __version__, "store_fingerprint": fp, "output": what,
            "parameters": json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in parameters.items()},
                                     default=str, sort_keys=True),
            "written_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
