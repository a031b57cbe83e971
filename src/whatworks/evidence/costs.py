"""Cost of crime: the Home Office unit costs, user-editable, uprated with a price index the user supplies.

:func:`cost_of_crime` returns the Home Office figures (Heeks, Reed, Tafsiri & Prince 2018, *The economic and social
costs of crime*, second edition, Home Office Research Report 99; 2015/16 prices, per offence) that this project has
confirmed (REFERENCE.md, "Cost of crime"). Figures the project has **not** confirmed (domestic burglary, violence
without injury) are listed with no value and ``confirmed=False``: whatworks never ships them as fact, and an analysis
that needs one asks for your own figure. Homicide is given in the reference only as "about £3.2m" and is marked so.

A cost table is a DataFrame with columns ``crime_type``, ``unit_cost`` (£ per offence) and ``price_year`` (e.g.
``"2015/16"``), optionally ``source`` and ``note``; :func:`check_cost_table` checks one at the door. Prices are moved
to another year with :func:`uprate` and **your** deflator table (``price_year``, ``index``; e.g. HM Treasury GDP
deflators) — whatworks never invents an index.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from whatworks.errors import error

HEEKS_2018 = "Heeks et al. (2018), Home Office Research Report 99, Table E1 (2015/16 prices)"
HEEKS_PRICE_YEAR = "2015/16"

# (crime_type, unit_cost £ per offence or None, confirmed, note) — REFERENCE.md "Cost of crime"
_HEEKS_ROWS = (
    ("Homicide", 3_200_000.0, True, "given as about £3.2m in the reference; use the report's exact figure if you have it"),
    ("Rape", 39_360.0, True, ""),
    ("Violence with injury", 14_050.0, True, ""),
    ("Robbery", 11_320.0, True, ""),
    ("Theft of vehicle", 10_290.0, True, ""),
    ("Arson", 8_420.0, True, ""),
    ("Other sexual offences", 6_520.0, True, ""),
    ("Criminal damage (other)", 1_350.0, True, ""),
    ("Theft from vehicle", 870.0, True, ""),
    ("Cyber crime", 550.0, True, ""),
    ("Domestic burglary", None, False, "unconfirmed (about £5,930 reported second-hand): supply your own figure"),
    ("Violence without injury", None, False, "unconfirmed (about £5,930 reported second-hand): supply your own figure"),
)

# police.uk's 14 street-level crime types (REFERENCE.md): a cost table may be keyed by these instead
POLICEUK_CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
)
KNOWN_CRIME_TYPES = tuple(dict.fromkeys([r[0] for r in _HEEKS_ROWS] + list(POLICEUK_CRIME_TYPES)))

__all__ = ["cost_of_crime", "check_cost_table", "uprate", "HEEKS_2018", "KNOWN_CRIME_TYPES", "POLICEUK_CRIME_TYPES"]


def cost_of_crime(*, confirmed_only: bool = False) -> pd.DataFrame:
    """The Home Office cost-of-crime figures (a copy you may edit).

    Parameters
    ----------
    confirmed_only : bool, default False
        Drop the rows with no confirmed figure (which carry ``unit_cost`` NaN and ``confirmed=False``).

    Returns
    -------
    DataFrame
        ``crime_type``, ``unit_cost`` (£ per offence), ``price_year``, ``source``, ``confirmed``, ``note``.

    Examples
    --------
    >>> float(cost_of_crime().set_index("crime_type").loc["Robbery", "unit_cost"])
    11320.0
    """
    rows = [{"crime_type": c, "unit_cost": np.nan if v is None else v, "price_year": HEEKS_PRICE_YEAR,
             "source": HEEKS_2018, "confirmed": ok, "note": note} for c, v, ok, note in _HEEKS_ROWS]
    out = pd.DataFrame(rows)
    return out[out["confirmed"]].reset_index(drop=True) if confirmed_only else out


def check_cost_table(costs: pd.DataFrame, *, where: str = "check_cost_table",
                     known_types: Iterable[str] | None = None, crime_types: Iterable[str] | None = None) -> pd.DataFrame:
    """Check a cost table and return it with one row per crime type.

    Refused, naming the first offending row: a missing column; a crime type not in ``KNOWN_CRIME_TYPES`` (plus
    ``known_types``); a missing or negative ``unit_cost``; a missing ``price_year``; a crime type given twice. When
    ``crime_types`` is given, only those rows are checked for a value, and each must be present.
    """
    if not isinstance(costs, pd.DataFrame):
        raise error(where, "The cost table must be a pandas DataFrame.", got=type(costs).__name__,
                    hint="Start from whatworks.evidence.cost_of_crime() and edit it.")
    missing = [c for c in ("crime_type", "unit_cost", "price_year") if c not in costs.columns]
    if missing:
        raise error(where, f"The cost table lacks column(s) {missing}.", expected="crime_type, unit_cost, price_year",
                    got=list(costs.columns), hint="Every cost needs the price year it is in (e.g. '2015/16').")
    known = set(KNOWN_CRIME_TYPES) | (set(known_types) if known_types is not None else set())
    wanted = None if crime_types is None else list(dict.fromkeys(crime_types))
    seen: set[str] = set()
    for i, row in enumerate(costs.itertuples(index=False), start=1):
        ct = row.crime_type
        if not isinstance(ct, str) or ct not in known:
            raise error(where, "The cost table has a crime type whatworks does not know.", got=ct,
                        row=f"row {i} ({ct!r})", hint="Use a Home Office category or a police.uk crime type, or pass "
                        "known_types=[...] to add your own categories.")
        if ct in seen:
            raise error(where, "The cost table gives a crime type twice.", got=ct, row=f"row {i}")
        seen.add(ct)
        if wanted is not None and ct not in wanted:
            continue
        if pd.isna(row.price_year) or str(row.price_year).strip() == "":
            raise error(where, "A cost has no price year, so it cannot be compared or uprated.", row=f"row {i} ({ct!r})",
                        hint="Add the year the figure is priced in, e.g. '2015/16' for the Home Office figures.")
        v = pd.to_numeric(pd.Series([row.unit_cost]), errors="coerce").iloc[0]
        if pd.isna(v):
            note = getattr(row, "note", "") or ""
            raise error(where, "A crime type has no unit cost.", row=f"row {i} ({ct!r})",
                        hint=(note if note else "Give the £ cost per offence.") + " whatworks never ships an "
                             "unconfirmed figure as fact.")
        if v < 0:
            raise error(where, "A unit cost must be 0 or more.", got=float(v), row=f"row {i} ({ct!r})")
    if wanted is not None:
        absent = [c for c in wanted if c not in seen]
        if absent:
            raise error(where, "The cost table has no cost for some crime types in the counts.", got=absent,
                        hint="Add a row for each (crime_type, unit_cost, price_year).")
    return costs


def uprate(costs: pd.DataFrame, deflators: pd.DataFrame, *, to_year: str) -> pd.DataFrame:
    """Move unit costs to ``to_year`` prices with your deflator table: cost × index[to_year] / index[price_year].

    Parameters
    ----------
    costs : DataFrame
        A cost table (``crime_type``, ``unit_cost``, ``price_year``).
    deflators : DataFrame
        ``price_year`` and ``index`` (any base year; e.g. HM Treasury GDP deflators). Supplied by you: whatworks
        never invents a price index.
    to_year : str
        The target price year, e.g. ``"2024/25"``.

    Returns
    -------
    DataFrame
        The cost table with ``unit_cost`` in ``to_year`` prices, ``price_year`` = ``to_year`` and ``uprated_from``.

    Examples
    --------
    >>> d = pd.DataFrame({"price_year": ["2015/16", "2024/25"], "index": [100.0, 125.0]})
    >>> float(uprate(cost_of_crime(confirmed_only=True), d, to_year="2024/25").loc[3, "unit_cost"])
    14150.0
    """
    where = "uprate"
    rows = costs[costs["unit_cost"].notna()] if "unit_cost" in costs else costs
    check_cost_table(rows, where=where, known_types=rows["crime_type"] if "crime_type" in rows else None)
    if not isinstance(deflators, pd.DataFrame) or not {"price_year", "index"} <= set(deflators.columns):
        raise error(where, "The deflator table must have columns price_year and index.",
                    got=list(getattr(deflators, "columns", [])), hint="e.g. HM Treasury GDP deflators, one row a year.")
    idx = {}
    for i, (year, raw) in enumerate(zip(deflators["price_year"], deflators["index"]), start=1):
        v = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
        if pd.isna(v) or v <= 0:
            raise error(where, "Every deflator index must be a number greater than 0.", got=raw, row=f"row {i}")
        idx[str(year)] = float(v)
    needed = [str(to_year)] + [str(y) for y in rows["price_year"]]
    for y in dict.fromkeys(needed):
        if y not in idx:
            raise error(where, f"The deflator table has no index for price year {y!r}.", got=sorted(idx),
                        hint="Add that year's index; whatworks never invents one.")
    out = rows.copy()
    out["uprated_from"] = out["price_year"].astype(str)
    out["unit_cost"] = [c * idx[str(to_year)] / idx[str(y)] for c, y in zip(out["unit_cost"], out["price_year"])]
    out["price_year"] = str(to_year)
    return out.reset_index(drop=True)
