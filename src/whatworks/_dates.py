"""Reading a column of dates, defined once for every room (issue 17, "no duplicates").

One rule for every analysis that takes dates (performance charts and indicators, people, place):

* datetimes are kept; pandas ``Period`` values become the timestamp of the period's start;
* text is parsed by :func:`pandas.to_datetime` with ``format="mixed"`` and **day first** (UK ``05/03/2024`` is
  5 March; ISO ``2024-03-05`` is unaffected) (``"2024-06"``, ``"2024-06-01"``,
  ``"2024-06-01 14:30"``, ISO 8601 with an offset …), so rows need not share one spelling;
* **time zones**: a time-zone-aware value (a tz-aware column, or text with an offset such as ``+01:00``) is converted
  to UTC and then made naive; naive values are kept as they are (read as UTC, not shifted). This is the store's rule
  too (its exports write tz-aware columns in UTC). Convert to local wall time yourself first
  (``s.dt.tz_convert("Europe/London").dt.tz_localize(None)``) when the local day or hour is what matters;
* numbers are not dates: they are refused unless the caller takes a numeric time axis (``numbers=True``: week
  index, days), in which case they are returned as floats, untouched;
* a missing or unreadable value is an error naming the first offending row — never dropped, never guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks.errors import error

__all__ = ["read_dates"]
DEFAULT_HINT = "Convert the column with pandas.to_datetime, or drop or fix rows without a date first."


def read_dates(where: str, df: pd.DataFrame, column: str, *, expected: str = "dates", numbers: bool = False,
               hint: str = DEFAULT_HINT) -> pd.Series:
    """``df[column]`` as naive ``datetime64[ns]`` (tz-aware values converted to UTC first), index kept.

    Parameters
    ----------
    where : str
        The public function the user called (named in the error).
    df : DataFrame
    column : str
    expected : str, default "dates"
        What the column must hold, as the error words it: "Column 'x' must hold {expected}."
    numbers : bool, default False
        Accept a numeric column (not bool) as a time axis and return it as float, unchanged; missing or infinite
        numbers are refused. ``False``: numbers are refused like any other non-date.
    hint : str
        The error's hint.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` (naive, UTC for tz-aware input), or ``float64`` for a numeric column with ``numbers=True``.

    Examples
    --------
    >>> d = pd.DataFrame({"when": ["2024-06", "2024-06-02 14:30", "2024-06-03T00:30+01:00"]})
    >>> read_dates("f", d, "when").dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2024-06-01 00:00', '2024-06-02 14:30', '2024-06-02 23:30']
    """
    s = df[column]
    if numbers and pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype(float)
        bad = ~np.isfinite(out.to_numpy())
    else:
        if isinstance(s.dtype, pd.PeriodDtype):
            out = s.dt.to_timestamp()
        elif pd.api.types.is_datetime64_any_dtype(s):
            out = s
        elif s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            # day first, as UK dates are written: without it pandas reads 05/03/2024 as 3 May but 13/03/2024 as
            # 13 March, in the same column (ISO dates, year first, are unaffected)
            out = pd.to_datetime(s.astype(object), errors="coerce", format="mixed", dayfirst=True, utc=True)
        else:   # numbers, booleans: not dates
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            hint = ("Numbers are not read as dates here; convert them first, e.g. pandas.to_datetime(s, unit='D', "
                    "origin='1970-01-01') for days since 1970.")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        out = out.astype("datetime64[ns]")
        bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        missing = bool(pd.isna(s.iloc[i]))
        raise error(where, f"Column '{column}' must hold {expected}" + ("; a value is missing." if missing else "."),
                    got=None if missing else s.iloc[i], row=f"position {i} (index {df.index[i]!r})", hint=hint)
    return out
