"""The UK financial year, defined once (issue 17, "no duplicates") for the store's counts and the analyses.

Rule: a financial year runs April to March (:data:`FY_START_MONTH` = 4, HM Treasury / Home Office crime statistics)
and is labelled by its first and last calendar years, "2024/25" for April 2024 – March 2025.

The two functions take plain integers, NumPy arrays, pandas Series or Ibis integer expressions (the store's engine
counts on DuckDB or Spark), and return the same kind, so the rule is written once whatever computes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FY_START_MONTH", "financial_year_start", "financial_year_label"]
FY_START_MONTH = 4   # April: the UK financial year is April–March


def _is_ibis(x) -> bool:
    return hasattr(x, "cast") and not isinstance(x, (pd.Series, np.ndarray))


def financial_year_start(year, month):
    """The calendar year in which the financial year of (``year``, ``month``) starts: ``year − 1`` for January–March.

    >>> financial_year_start(2024, 3), financial_year_start(2024, 4)
    (2023, 2024)
    >>> financial_year_start(np.array([2024, 2024]), np.array([3, 4])).tolist()
    [2023, 2024]
    """
    before = month < FY_START_MONTH
    if _is_ibis(before):
        return year - before.cast("int32")
    if hasattr(before, "astype"):
        return year - before.astype(int)
    return year - int(before)


def financial_year_label(start):
    """The label "2024/25" of the financial year starting in April of ``start``.

    >>> financial_year_label(2024), financial_year_label(np.array([1999, 2009])).tolist()
    ('2024/25', ['1999/00', '2009/10'])
    """
    if _is_ibis(start):
        return start.cast("string").concat("/", ((start + 1) % 100).cast("string").lpad(2, "0"))
    if isinstance(start, pd.Series):
        return start.astype(str) + "/" + ((start + 1) % 100).astype(str).str.zfill(2)
    if isinstance(start, np.ndarray):
        return np.char.add(np.char.add(start.astype(str), "/"), np.char.zfill(((start + 1) % 100).astype(str), 2))
    return f"{int(start)}/{(int(start) + 1) % 100:02d}"
