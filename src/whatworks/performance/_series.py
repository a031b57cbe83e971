"""Shared preparation for time-series charts (SPC and run charts): validate, sort, label series and segments.

Both :func:`whatworks.performance.spc` and :func:`whatworks.performance.runchart` work on many series at once. This
module turns a long DataFrame (one row per series × date) into flat numpy arrays sorted by series then date, with an
integer code per series and per segment (rebase period), so the charts can compute everything with ``np.bincount``
and shifted-array comparisons instead of a Python loop per series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._dates import read_dates
from whatworks._validate import require_columns, require_dataframe, require_numeric
from whatworks.errors import error


@dataclass(frozen=True)
class Prepared:
    """Flat, sorted arrays for many series. ``order`` maps the sorted rows back to ``df`` positions."""

    frame: pd.DataFrame          # the input rows in sorted order (by keys, date, value), index reset
    value: np.ndarray            # float values, sorted
    date: np.ndarray             # dates (datetime64 or numeric), sorted
    series: np.ndarray           # int series code per row (0..n_series-1), non-decreasing
    segment: np.ndarray          # int segment code per row (0..n_segments-1), non-decreasing
    seg_start: np.ndarray        # bool: first row of its segment
    series_keys: pd.DataFrame    # one row per series: the `by` columns (empty columns when by is None)
    by: list[str]


def as_by_list(where: str, by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, (list, tuple)) and all(isinstance(b, str) for b in by):
        return list(by)
    raise error(where, "The 'by' parameter must be a column name or a list of column names.", got=by)


def coerce_dates(where: str, df: pd.DataFrame, date: str) -> np.ndarray:
    """Dates as datetime64[ns] (strings such as '2024-06' or '2024-06-01' are parsed) or numbers (e.g. week index).

    The rule (parsing, time zones: tz-aware → UTC, then naive) is :func:`whatworks._dates.read_dates`'s.
    """
    out = read_dates(where, df, date, numbers=True,
                     expected="dates (or month strings like '2024-06') with no missing values",
                     hint="Convert the column with pandas.to_datetime, or drop rows without a date first; whatworks "
                          "never drops them silently.")
    if out.dtype.kind == "f":
        return out.to_numpy(dtype=float)
    return out.to_numpy(dtype="datetime64[ns]")


MAX_NAMED = 12   # missing dates named in a message


def _refuse_missing(where: str, df: pd.DataFrame, value: str, date: str) -> None:
    """A missing value (e.g. a month the store did not load, NA in ``indicators``) is refused, naming the dates.

    Charting around it would join the months either side as if they were neighbours, and a zero in its place would
    invent a fall: either misleads a meeting. Chart a run of consecutive covered months instead.
    """
    miss = df[value].isna().to_numpy()
    if not miss.any():
        return
    first = int(np.flatnonzero(miss)[0])
    d = df.loc[miss, date]
    try:
        shown = pd.to_datetime(d, format="mixed").dt.strftime("%Y-%m").tolist()
    except (ValueError, TypeError):
        shown = d.astype(str).tolist()
    named = ", ".join(shown[:MAX_NAMED]) + (f" … ({len(shown) - MAX_NAMED} more)" if len(shown) > MAX_NAMED else "")
    raise error(where, f"{int(miss.sum())} missing value(s) in '{value}' ({named}): months not loaded (or otherwise "
                "unknown) cannot be charted as if they were there.", got=df[value].iloc[first],
                row=f"position {first} (index {df.index[first]!r})",
                hint="Load the missing months, or chart a run of consecutive covered months only (e.g. the latest); "
                     "never fill them with 0.")


def prepare(where: str, df, value: str, date: str, by, rebase) -> Prepared:
    """Validate the frame and build sorted arrays with series and segment codes.

    ``rebase`` is ``None``, a list of dates (a new segment starts at the first point on or after each date, in every
    series), or the name of a boolean column that is True on the first point of each new segment.
    """
    df = require_dataframe(where, "df", df)
    by_cols = as_by_list(where, by)
    rebase_col = rebase if isinstance(rebase, str) else None
    require_columns(where, df, [value, date, *by_cols, rebase_col], arg="df")
    if len(df) == 0:
        raise error(where, "The data frame has no rows.", hint="Check the filter that produced it.")
    _refuse_missing(where, df, value, date)
    values = require_numeric(where, df, value)
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise error(where, f"Column '{value}' must hold finite numbers.", got=values[first],
                    row=f"position {first} (index {df.index[first]!r})",
                    hint="An infinite value usually comes from dividing by zero upstream; fix or drop that row first.")
    dates = coerce_dates(where, df, date)
    for b in by_cols:
        if df[b].isna().any():
            first = int(np.flatnonzero(df[b].isna().to_numpy())[0])
            raise error(where, f"Column '{b}' (a 'by' column) has a missing value.", row=f"position {first}",
                        hint="Fill it with a label such as 'unknown' first.")

    if by_cols:
        codes = df.groupby(by_cols, sort=True, observed=True).ngroup().to_numpy()
    else:
        codes = np.zeros(len(df), dtype=np.int64)
    date_key = dates.astype("int64") if dates.dtype.kind == "M" else dates
    order = np.lexsort((date_key, codes))
    series = codes[order]
    d_sorted = dates[order]
    dk = date_key[order]
    same_series = np.empty(len(order), dtype=bool)
    same_series[0] = False
    same_series[1:] = series[1:] == series[:-1]
    dup = same_series & np.r_[False, dk[1:] == dk[:-1]]
    if dup.any():
        first = int(order[np.flatnonzero(dup)[0]])
        raise error(where, f"Column '{date}' repeats a date within one series.", got=df[date].iloc[first],
                    row=f"position {first} (index {df.index[first]!r})",
                    hint="Aggregate to one value per date (and per 'by' group) first, e.g. with whatworks.performance.indicators.")
    series_start = ~same_series

    # Segments: rebase points start a new segment inside a series.
    if rebase is None:
        new_seg = series_start
    elif rebase_col is not None:
        col = df[rebase_col]
        ok = col.isin([True, False, 0, 1]) & col.notna()
        if not ok.all():
            first = int(np.flatnonzero(~ok.to_numpy())[0])
            raise error(where, f"Column '{rebase_col}' (rebase) must be True/False on every row.", got=col.iloc[first],
                        row=f"position {first} (index {df.index[first]!r})",
                        hint="Mark the first point of each new segment True and every other point False.")
        new_seg = series_start | col.to_numpy().astype(bool)[order]
    else:
        try:
            rb = list(rebase) if not isinstance(rebase, (str, bytes)) else [rebase]
        except TypeError:
            rb = [rebase]
        if dates.dtype.kind == "M":
            try:
                rb_arr = np.sort(pd.to_datetime(pd.Series(rb), format="mixed").to_numpy(dtype="datetime64[ns]").astype("int64"))
            except (ValueError, TypeError):
                raise error(where, "The 'rebase' parameter must be a list of dates or the name of a True/False column.",
                            got=rebase) from None
        else:
            rb_arr = np.sort(np.asarray(rb, dtype=float))
        seg_idx = np.searchsorted(rb_arr, dk, side="right")
        changed = np.r_[True, seg_idx[1:] != seg_idx[:-1]]
        new_seg = series_start | changed
    segment = np.cumsum(new_seg) - 1

    frame = df.iloc[order].reset_index(drop=True)
    if by_cols:
        keys = frame.loc[series_start, by_cols].reset_index(drop=True)
    else:
        keys = pd.DataFrame(index=range(1))
    return Prepared(frame=frame, value=values[order], date=d_sorted, series=series, segment=segment,
                    seg_start=new_seg, series_keys=keys, by=by_cols)


def run_flags(cond: np.ndarray, start: np.ndarray, min_len: int) -> np.ndarray:
    """True where ``cond`` is part of a run of at least ``min_len`` consecutive True values.

    A True in ``start`` (a segment or series boundary) ends any run, so runs never cross series or segments.
    """
    n = len(cond)
    if n == 0:
        return np.zeros(0, dtype=bool)
    new_run = start.copy()
    new_run[1:] |= cond[1:] != cond[:-1]
    run_id = np.cumsum(new_run) - 1
    lengths = np.bincount(run_id)
    return cond & (lengths[run_id] >= min_len)


def group_last(codes: np.ndarray) -> np.ndarray:
    """Index of the last row of each group (codes sorted, 0..k-1)."""
    return np.r_[np.flatnonzero(codes[1:] != codes[:-1]), len(codes) - 1]
