"""Heavy aggregations as Ibis expressions, so the same code runs on the embedded DuckDB store and on Spark.

Statistics never run here: the engine returns small aggregates (counts by area × period × type) as pandas
DataFrames and the analyses take it from there.
"""

from __future__ import annotations

import re

from typing import Any, Mapping, Sequence

import pandas as pd

from whatworks._periods import financial_year_label, financial_year_start
from whatworks.errors import WhatworksError, error

ENGINES = ("duckdb", "spark")
# The coverage kinds that say a month is held, for each view counts() reads (police.uk file kinds and RMS tables).
COVERAGE_KINDS = {"crimes": ("street", "crimes"), "asb": ("street", "crimes"), "outcomes": ("outcomes",),
                  "stops": ("stop_search", "stops")}
# Period keys derived from `month` (UK conventions: financial year April–March, labelled "2024/25").
DERIVED_KEYS = ("year", "quarter", "financial_year")


def backend(con=None, *, engine: str = "duckdb", session=None):
    """An Ibis backend: over a DuckDB connection (the store's ``con``) or a Spark session."""
    import ibis

    if engine == "duckdb":
        if con is None:
            raise error("backend", "engine='duckdb' needs the store's DuckDB connection.", hint="Use store.ibis().")
        return ibis.duckdb.from_connection(con)
    if engine == "spark":
        if session is None:
            raise error("backend", "engine='spark' needs a SparkSession.", hint="Create one with pyspark.sql.SparkSession.builder.getOrCreate().")
        return ibis.pyspark.connect(session)
    raise error("backend", f"The 'engine' parameter must be one of {list(ENGINES)}.", got=engine)


def _derived(t, key: str):
    m = t["month"]
    if key == "year":
        return m.year()
    if key == "quarter":
        return m.year().cast("string").concat("-Q", m.quarter().cast("string"))
    if key == "financial_year":
        return financial_year_label(financial_year_start(m.year(), m.month()))
    raise AssertionError(key)


def counts(t, by: Sequence[str], where: Mapping[str, Any] | None = None, *, months: tuple[str, str] | None = None,
           value: str | None = None) -> pd.DataFrame:
    """Count rows of Ibis table ``t`` by the columns ``by`` (plus derived ``year``, ``quarter``, ``financial_year``).

    Parameters
    ----------
    t : ibis.Table
    by : list of str
        Grouping columns of ``t``, or the derived period keys.
    where : dict, optional
        ``{column: value}`` or ``{column: [values]}`` filters (``None`` as a value selects missing).
    months : (str, str), optional
        Inclusive month range ``("2024-04", "2025-03")``.
    value : str, optional
        Sum this numeric column instead of counting rows (e.g. a harm weight).

    Returns
    -------
    pandas.DataFrame with the ``by`` columns and ``count`` (or ``value``'s sum as ``total``), sorted by ``by``.
    """
    import ibis

    cols = set(t.columns)
    unknown = [b for b in by if b not in cols and b not in DERIVED_KEYS]
    if unknown:
        raise WhatworksError(f"counts(): unknown grouping column(s) {unknown}. Expected columns of the table "
                             f"{sorted(cols)} or derived keys {list(DERIVED_KEYS)}.")
    for col, val in (where or {}).items():
        if col not in cols:
            raise WhatworksError(f"counts(): unknown filter column {col!r}. Expected one of {sorted(cols)}.")
        if val is None:
            t = t.filter(t[col].isnull())
        elif isinstance(val, (list, tuple, set)):
            t = t.filter(t[col].isin(list(val)))
        else:
            t = t.filter(t[col] == val)
    if months is not None:
        if (not isinstance(months, (tuple, list)) or len(months) != 2
                or not all(isinstance(m, str) and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", m) for m in months)):
            raise WhatworksError(f"counts(): The 'months' parameter must be two months like ('2024-04', '2025-03') "
                                 f"(or dates like '2024-04-01'). Got {months!r} instead.")
        try:
            lo, hi = (pd.Timestamp(m + "-01" if len(m) == 7 else m).date() for m in months)
        except ValueError as exc:
            raise WhatworksError(f"counts(): {months!r} are not real months or dates ({exc}).") from exc
        t = t.filter((t["month"] >= ibis.literal(lo)) & (t["month"] <= ibis.literal(hi)))
    keys = [(_derived(t, b).name(b) if b in DERIVED_KEYS and b not in cols else t[b]) for b in by]
    metric = t[value].sum().name("total") if value else t.count().name("count")
    expr = t.group_by(keys).aggregate(metric).order_by(list(by)) if by else t.aggregate(metric)
    return expr.to_pandas()


def period_key(month: pd.Series, key: str) -> pd.Series:
    """The derived period key of each month, spelt as :func:`counts` spells it (pandas, for small tables)."""
    m = pd.to_datetime(month)
    if key == "year":
        return m.dt.year
    if key == "quarter":
        return m.dt.year.astype(str) + "-Q" + m.dt.quarter.astype(str)
    if key == "financial_year":
        return financial_year_label(financial_year_start(m.dt.year, m.dt.month))
    raise AssertionError(key)


def months_covered(out: pd.DataFrame, cov: pd.DataFrame, by: Sequence[str], where: Mapping[str, Any] | None = None, *,
                   months: tuple[str, str] | None = None) -> pd.DataFrame:
    """Add ``months_covered`` to a :func:`counts` answer grouped by a derived period: the months of each period
    held in ``cov`` (rows of ``Store.coverage()`` for the table's file kinds), per ``force`` / ``source_system``
    when those are grouping columns, restricted by ``where`` on them and by ``months``."""
    periods = [b for b in by if b in DERIVED_KEYS]
    split = [b for b in ("source_system", "force") if b in by]
    c = cov
    for col in ("source_system", "force"):
        val = (where or {}).get(col, "__any__")
        if isinstance(val, str) and val == "__any__":
            continue
        if val is None:
            c = c[c[col].isna()]
        elif isinstance(val, (list, tuple, set)):
            c = c[c[col].isin(list(val))]
        else:
            c = c[c[col] == val]
    if months is not None:
        lo, hi = (pd.Timestamp(m + "-01" if len(m) == 7 else m) for m in months)
        c = c[(c["month"] >= lo) & (c["month"] <= hi)]
    c = c[["month", *split]].drop_duplicates().copy()
    for p in periods:
        c[p] = period_key(c["month"], p)
    held = c.groupby([*split, *periods], dropna=False)["month"].nunique().rename("months_covered").reset_index()
    if out.empty:
        return out.assign(months_covered=pd.Series(dtype="int64"))
    for p in periods:
        if p == "year":
            held[p] = held[p].astype(out[p].dtype)
    res = out.merge(held, on=[*split, *periods], how="left")
    res["months_covered"] = res["months_covered"].fillna(0).astype("int64")
    return res


_MONTH_TEXT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_bounds(where: str, months) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``months`` as (first, last) month starts: ``"2024-06"`` (one month), ``("2024-04", "2025-03")`` (inclusive), or
    None (every month). Anything else is a :class:`~whatworks.errors.WhatworksError` naming ``where``."""
    if months is None:
        return None
    pair = (months, months) if isinstance(months, str) else months
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(m, str) and _MONTH_TEXT.match(m) for m in pair)):
        raise error(where, "The 'months' parameter must be a month written YYYY-MM or a (first, last) pair of them.",
                    got=months, hint='e.g. months="2024-06" or months=("2024-04", "2025-03")')
    lo, hi = (pd.Timestamp(m + "-01") for m in pair)
    if hi < lo:
        raise error(where, "The 'months' range ends before it starts.", got=months,
                    hint="Give the first month first: (first, last).")
    return lo, hi


def select(t, *, sources: Sequence[str] | None = None, months: tuple[pd.Timestamp, pd.Timestamp] | None = None,
           lsoa_codes: Sequence[str] | None = None, crime_types: Sequence[str] | None = None,
           columns: Sequence[str] | None = None, order_by: Sequence[str] = ("month", "event_id")):
    """Rows of Ibis table ``t`` kept by already-validated filters (``source_system`` in ``sources``, ``month`` in the
    inclusive ``months`` range, ``lsoa_code`` in ``lsoa_codes``, ``crime_type`` in ``crime_types``), with ``columns``
    (all when None), ordered by the ``order_by`` columns ``t`` has. An Ibis expression, so it runs on DuckDB or Spark."""
    import ibis

    if sources is not None:
        t = t.filter(t["source_system"].isin(list(sources)))
    if months is not None:
        lo, hi = months
        t = t.filter((t["month"] >= ibis.literal(lo.date())) & (t["month"] <= ibis.literal(hi.date())))
    if lsoa_codes is not None:
        t = t.filter(t["lsoa_code"].isin(list(lsoa_codes)))
    if crime_types is not None:
        t = t.filter(t["crime_type"].isin(list(crime_types)))
    keys = [k for k in order_by if k in t.columns]
    if keys:
        t = t.order_by(keys)
    if columns is not None:
        t = t.select(list(columns))
    return t


def store_counts(t, table: str, coverage, by: Sequence[str], where: Mapping[str, Any] | None = None, *,
                 months: tuple[str, str] | None = None, value: str | None = None) -> pd.DataFrame:
    """:func:`counts` of a store view, with ``months_covered`` when ``by`` holds a derived period: what
    ``Store.counts`` and ``SparkStore.counts`` both return. ``coverage`` is the store's ``coverage`` method."""
    out = counts(t, by, where, months=months, value=value)
    kinds = COVERAGE_KINDS.get(table)
    if kinds and any(b in DERIVED_KEYS for b in by):
        cov = coverage()
        out = months_covered(out, cov[cov["kind"].isin(kinds)], by, where, months=months)
    return out
