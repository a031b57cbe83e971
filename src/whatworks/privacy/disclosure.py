"""Disclosure control for published tables: small cells suppressed, with secondary suppression so totals cannot reveal them.

A count of 1 to 4 crimes against a named person's street, or 2 stop-and-searches of one ethnic group in one ward, can
identify somebody. Before a table is published (the pack, a landscape, a CSV for a partner), cells under a threshold
(default 5, the usual UK statistical-disclosure rule for police and health counts) are **suppressed**. Suppressing them
alone is not enough when the table's totals are published too: a row with one hidden cell gives it away as the total
minus the cells shown. So every row, every column and the totals are treated as sums, and wherever a sum has exactly one
hidden entry, the smallest other entry in it is hidden too (secondary, or complementary, suppression), until no sum has
exactly one hidden entry.

Then the pattern is **audited**: for each cell hidden for being small, two linear programmes (scipy's HiGHS) find the
least and the most it could be given every published figure and that counts are not negative. Where the two agree,
the cell could be worked out from a combination of sums, and one more cell of its row is hidden; the audit runs again
until no small cell can be worked out exactly. (A statistical agency's tau-Argus also enforces a protection *interval*;
whatworks guarantees only that no small cell can be recovered exactly.)

Hand-written: no maintained Python library does cell suppression with complementary suppression on a table with margins
(sdcMicro and tau-Argus are R / Java programs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import Result, new_axes
from whatworks.errors import error

__all__ = ["suppress", "SuppressionResult", "DEFAULT_THRESHOLD", "TOTAL"]

WHERE = "suppress"
DEFAULT_THRESHOLD = 5
TOTAL = "Total"


@dataclass(frozen=True, repr=False)
class SuppressionResult(Result):
    """A table ready to publish: ``.table`` holds the counts with suppressed cells as missing (shown as "[c]"),
    row and column totals (``Total``); ``.suppressed`` is the boolean mask (True = hidden), ``.primary`` the cells
    hidden for being small, ``.secondary`` those hidden to protect them."""

    suppressed: pd.DataFrame = field(default_factory=pd.DataFrame)
    primary: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def secondary(self) -> pd.DataFrame:
        return self.suppressed & ~self.primary

    def published(self, marker: str = "[c]") -> pd.DataFrame:
        """The table as text for publication: suppressed cells replaced by ``marker`` (ONS uses "[c]", confidential)."""
        out = self.table.astype(object).copy()
        out[self.suppressed.to_numpy()] = marker
        return out

    def summary(self) -> str:
        thr = self.settings["threshold"].value
        n_p, n_s = int(self.primary.to_numpy().sum()), int(self.secondary.to_numpy().sum())
        if n_p == 0:
            return f"No cell under {thr}: nothing suppressed."
        return (f"{n_p} cell(s) under {thr} suppressed, and {n_s} more to protect them "
                "(so no row or column total gives a hidden cell away).")

    def __repr__(self) -> str:
        return f"<SuppressionResult {self.summary()}>"

    def _draw(self, ax) -> None:
        mask = self.primary.astype(int) + self.suppressed.astype(int)
        ax.imshow(mask.to_numpy(), cmap="Greys", vmin=0, vmax=2, aspect="auto")
        ax.set_xticks(range(mask.shape[1]), [str(c) for c in mask.columns], rotation=90)
        ax.set_yticks(range(mask.shape[0]), [str(i) for i in mask.index])
        ax.set_title("Suppressed cells (black: under the threshold; grey: protecting them)")


def _check(table: pd.DataFrame, threshold) -> np.ndarray:
    if not isinstance(table, pd.DataFrame):
        raise error(WHERE, "The 'table' parameter must be a pandas DataFrame of counts.", got=type(table).__name__)
    if table.empty:
        raise error(WHERE, "The table is empty.", hint="Pass the counts to publish, one column per category.")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1):
        raise error(WHERE, "The 'threshold' parameter must be a whole number of at least 1.", got=threshold)
    for col in table.columns:
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise error(WHERE, f"Column {col!r} is not numeric.", hint="Pass counts only; move labels to the index.")
    values = table.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise error(WHERE, "Counts must be whole numbers of zero or more.", got=values[r, c],
                    row=f"{table.index[r]!r}, column {table.columns[c]!r}")
    return values


def _line_rule(full: np.ndarray, hidden: np.ndarray, lines, zeros: bool) -> None:
    """Hide more entries until no published sum has exactly one hidden entry (in place)."""
    n_r, n_c = full.shape[0] - 1, full.shape[1] - 1
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden[p] for p in line) != 1:
                continue
            # hide the smallest other entry, preferring body cells over totals and non-zero cells (a hidden zero
            # protects nothing when zeros are known to be published)
            options = [p for p in line if not hidden[p]]
            if not options:
                continue
            best = min(options, key=lambda p: (p[0] == n_r or p[1] == n_c, full[p] == 0 and not zeros, full[p], p))
            hidden[best] = True
            changed = True


def _exposed(full: np.ndarray, hidden: np.ndarray, small: np.ndarray, lines) -> list[tuple[int, int]]:
    """Small hidden cells whose value follows exactly from the published figures (min == max over the LP)."""
    from scipy.optimize import linprog

    cells = [tuple(p) for p in np.argwhere(hidden)]
    pos = {p: k for k, p in enumerate(cells)}
    rows, rhs = [], []
    for line in lines:
        *body, total = line
        coef = np.zeros(len(cells))
        known = 0.0
        for p in body:
            if p in pos:
                coef[pos[p]] += 1
            else:
                known += full[p]
        if total in pos:
            coef[pos[total]] -= 1
            b = -known
        else:
            b = full[total] - known
        if coef.any():
            rows.append(coef)
            rhs.append(b)
    if not rows:
        return []
    a_eq, b_eq = np.array(rows), np.array(rhs)
    out = []
    for p in cells:
        if not small[p]:
            continue
        c = np.zeros(len(cells))
        c[pos[p]] = 1
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if lo.status == 0 and hi.status == 0 and abs(-hi.fun - lo.fun) < 1e-6:
            out.append(p)
    return out


def _audit(full, hidden, small, lines, zeros) -> None:
    """Hide more cells until no small cell can be worked out exactly from all the published sums together."""
    n_c = full.shape[1] - 1
    while True:
        exposed = _exposed(full, hidden, small, lines)
        if not exposed:
            return
        i, _ = exposed[0]
        options = [(i, j) for j in range(n_c) if not hidden[i, j]] or \
                  [(k, j) for k in range(full.shape[0]) for j in range(full.shape[1]) if not hidden[k, j]]
        if not options:
            return  # everything is hidden
        best = min(options, key=lambda p: (full[p] == 0 and not zeros, full[p], p))
        hidden[best] = True
        _line_rule(full, hidden, lines, zeros)


def suppress(table: pd.DataFrame, *, threshold: int | None = None, zeros: bool = False,
             quiet: bool = False) -> SuppressionResult:
    """Suppress small cells of a table of counts, with complementary suppression, and add its totals.

    Parameters
    ----------
    table : DataFrame
        Counts to publish: one row per category (index), one column per category (e.g. areas × crime types). Totals are
        added by this function; do not include them.
    threshold : int, optional
        Cells with ``0 < count < threshold`` are suppressed (default 5, announced).
    zeros : bool, default False
        Suppress zeros as well (a zero can disclose, e.g. "no searches of this group found anything").
    quiet : bool, default False

    Returns
    -------
    SuppressionResult

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"A": [10, 2], "B": [7, 12]}, index=["ward 1", "ward 2"])
    >>> r = suppress(t, quiet=True)
    >>> r.published()["A"].tolist()   # the 2 is hidden, and so is a second cell of its row and its column
    ['[c]', '[c]', 12]
    """
    values = _check(table, threshold)
    settings: dict[str, Setting] = {}
    thr = given_or_default(settings, "threshold", threshold, DEFAULT_THRESHOLD, reason="counts under it are suppressed",
                           default_reason="the usual UK disclosure rule for published counts", unit="count")
    settings["zeros"] = Setting(zeros, "user", "suppress zeros too")
    if threshold is None:
        announce(f"{WHERE}: cells under {DEFAULT_THRESHOLD} are suppressed (the usual UK rule); pass threshold= to "
                 "change it.", quiet=quiet)
    n_r, n_c = values.shape
    full = np.zeros((n_r + 1, n_c + 1))
    full[:n_r, :n_c] = values
    full[:n_r, n_c] = values.sum(axis=1)
    full[n_r, :n_c] = values.sum(axis=0)
    full[n_r, n_c] = values.sum()
    small = (full < thr) & ((full > 0) | zeros)
    hidden = small.copy()
    # every row (cells + its total) and every column (cells + its total) is a published sum
    lines = [[(i, j) for j in range(n_c + 1)] for i in range(n_r + 1)] + \
            [[(i, j) for i in range(n_r + 1)] for j in range(n_c + 1)]
    _line_rule(full, hidden, lines, zeros)
    _audit(full, hidden, small, lines, zeros)
    index = list(table.index) + [TOTAL]
    columns = list(table.columns) + [TOTAL]
    out = pd.DataFrame(full, index=index, columns=columns).round(0).astype("Int64").mask(hidden)
    return SuppressionResult(table=out, settings=settings,
                             suppressed=pd.DataFrame(hidden, index=index, columns=columns),
                             primary=pd.DataFrame(small, index=index, columns=columns))
