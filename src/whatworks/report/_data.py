"""What a report reads from the store: which source, which months, which area, and the records behind them.

Everything here is data access through the Store API (``store.sql``, ``store.relations``, and the area lookup in
:mod:`whatworks.store.areas`); the numbers are made by the analyses in :mod:`whatworks.performance` and
:mod:`whatworks.place`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce
from whatworks.errors import error
from whatworks.store import areas as _areas

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ROW_COLUMNS = ("month", "kind", "crime_type", "last_outcome_category", "lsoa_code", "force", "x", "y")


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
    return set(store.relations()["name"])


def choose_source(store, source: str | None, *, where: str, quiet: bool, settings: dict) -> str:
    """The source system whose crimes the report counts. Counting two systems holding the same crimes (police.uk and
    the force's RMS export) would double-count, so a report reads exactly one."""
    found = store.sql("SELECT source_system, count(*) AS n FROM crimes GROUP BY 1 ORDER BY n DESC, 1")
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
    first, last = store.sql("SELECT min(month) AS a, max(month) AS b FROM crimes WHERE source_system = ?", [source]).iloc[0]
    first, last = pd.Timestamp(first), pd.Timestamp(last)
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
    """Crime and ASB records of one source between two months (inclusive), with the columns the analyses need."""
    cols = ", ".join(ROW_COLUMNS)
    return store.sql(f"SELECT {cols} FROM crimes WHERE source_system = ? AND month BETWEEN ? AND ? ORDER BY month",
                     [source, first.date(), last.date()])


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
    """Find ``area`` among area codes, district names (from LSOA names) and force names; None is the whole store."""
    table = _areas.area_table(store)
    anc = _areas.ancestors(store)
    real = table[table["level"] != _areas.DERIVED_LEVEL]
    forces = store.sql("SELECT DISTINCT force FROM crimes WHERE source_system = ? AND force IS NOT NULL ORDER BY 1",
                       [source])["force"].tolist()
    if area is None:
        name = forces[0] if len(forces) == 1 else "All areas in the store"
        unit = _unit_level_below(real, None) if len(real) else (_areas.DERIVED_LEVEL if len(table) else None)
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
        members = frozenset(anc.loc[anc["code"] == r["code"], "lsoa_code"])
        if r["level"] == _areas.DERIVED_LEVEL:
            match, unit = "district", _areas.DERIVED_LEVEL
        else:
            match = "area"
            is_top = pd.isna(r["parent_code"]) or r["parent_code"] not in set(real["code"])
            unit = _unit_level_below(real, r["code"]) if is_top and len(real) > 1 else r["level"]
        return Scope(r["code"], str(r["name"] if pd.notna(r["name"]) else r["code"]), r["level"], match,
                     _num(r["population"]), r["population_source"], members, None, unit)
    if area in forces:
        unit = _unit_level_below(real, None) if len(real) else (_areas.DERIVED_LEVEL if len(table) else None)
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
    table = _areas.area_table(store, level=level)
    anc = _areas.ancestors(store)
    m = anc[anc["level"] == level][["lsoa_code", "code"]].rename(columns={"code": "unit"})
    return table.reset_index(drop=True), m.drop_duplicates("lsoa_code")
