"""Input checks declared once and shared by every analysis. Each raises :class:`WhatworksError` in the house template."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks.errors import WhatworksError, error


def require_dataframe(where: str, name: str, df: Any) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise error(where, f"The '{name}' argument must be a pandas DataFrame.", got=type(df).__name__,
                    hint="Load your data with pandas, or query the store with store.sql(...).")
    return df


def require_columns(where: str, df: pd.DataFrame, columns: Iterable[str | None], *, arg: str = "data") -> None:
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise error(where, f"Column(s) {missing} not found in '{arg}'.",
                    expected=f"columns among {list(df.columns)[:20]}", hint="Pass the right column name as a keyword argument.")


def require_numeric(where: str, df: pd.DataFrame, column: str, *, allow_na: bool = False) -> np.ndarray:
    s = df[column]
    values = pd.to_numeric(s, errors="coerce")
    bad = (values.isna() & (s.notna() if allow_na else True)) | np.isinf(values.to_numpy(dtype=float))
    if bad.any():
        first = int(np.flatnonzero(np.asarray(bad))[0])
        raise error(where, f"Column '{column}' must be numeric{'' if allow_na else ' with no missing values'} "
                           f"(it must hold finite numbers: no text, no infinities).",
                    got=s.iloc[first], row=f"position {first} (index {df.index[first]!r})",
                    hint="Clean or drop the offending rows first; whatworks never drops them silently.")
    return values.to_numpy(dtype=float)


def check_choice(where: str, name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise error(where, f"The '{name}' parameter must be one of {list(choices)}.", got=value)
    return value


def check_number(where: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True, integer: bool = False) -> Any:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        lo = "" if low is None else (f"{'>=' if low_inclusive else '>'} {low}")
        hi = "" if high is None else (f"{'<=' if high_inclusive else '<'} {high}")
        rng = " and ".join(t for t in (lo, hi) if t)
        kind = "an integer" if integer else "a finite number"
        raise error(where, f"The '{name}' parameter must be {kind}{' ' + rng if rng else ''}.", got=value)
    return value


def refuse_renamed(where: str, kwargs: Mapping[str, Any], renamed: Mapping[str, str], *,
                   removed: Mapping[str, str] | None = None) -> None:
    """Refuse the keywords a function collected in ``**renamed``: an old name gets a clear error naming the new one.

    ``renamed`` maps an old keyword to its new name (e.g. ``{"level": "conf_level"}``); ``removed`` maps a keyword
    that is gone to a hint saying what to do instead. Any other keyword is a ``TypeError`` worded exactly as Python
    words it (``f() got an unexpected keyword argument 'x'``), so a typo stays a typo.

    >>> refuse_renamed("repeats", {"level": 0.9}, {"level": "conf_level"})  # doctest: +SKIP
    WhatworksError: repeats(): The 'level' parameter was renamed: pass 'conf_level' instead. ...
    """
    removed = removed or {}
    for name in kwargs:
        if name in renamed:
            new = renamed[name]
            new = f"'{new}'" if new.isidentifier() else new
            raise error(where, f"The '{name}' parameter was renamed: pass {new} instead.",
                        hint="See CHANGELOG.md (the vocabulary of every whatworks function).")
        if name in removed:
            raise error(where, f"The '{name}' parameter was removed.", hint=removed[name])
        raise TypeError(f"{where}() got an unexpected keyword argument '{name}'")


__all__ = ["WhatworksError", "require_dataframe", "require_columns", "require_numeric", "check_choice", "check_number",
           "refuse_renamed"]
