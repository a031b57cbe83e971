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

__all__ = ["suppress", "SuppressionResult", "DEFAULT_THRESHOLD", "TOTAL", "MARKER", "DEFAULT_MARKING", "Publishing",
           "choose_publishing", "rule_text"]

WHERE = "suppress"
DEFAULT_THRESHOLD = 5
TOTAL = "Total"
MARKER = "[c]"                 # ONS's mark for a confidential (suppressed) cell
# The Government Security Classifications marking for a force's working outputs: what every non-public output says.
DEFAULT_MARKING = "OFFICIAL-SENSITIVE — not for publication"


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
             also: pd.DataFrame | None = None, quiet: bool = False) -> SuppressionResult:
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
    also : DataFrame of bool, optional
        Body cells to hide whatever their size (same index and columns as ``table``), e.g. figures hidden in another
        table of the same page; secondary suppression then protects them too.
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
    if also is not None:
        if not isinstance(also, pd.DataFrame) or also.shape != table.shape:
            raise error(WHERE, "The 'also' parameter must be a DataFrame of True/False the shape of the table.",
                        got=getattr(also, "shape", type(also).__name__), expected=table.shape)
        hidden[:n_r, :n_c] |= also.reindex(index=table.index, columns=table.columns).fillna(False).to_numpy(bool)
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


def rule_text(threshold: int) -> str:
    """The disclosure rule as every public output names it."""
    return f"cells under {int(threshold)} suppressed, with secondary suppression"


@dataclass(frozen=True)
class Publishing:
    """Whether an output is the public version, and under which rule (see :func:`choose_publishing`).

    ``public=False``: a working output, marked ``marking`` and otherwise unchanged. ``public=True``: every published
    table of counts goes through :func:`suppress` with ``threshold``; figures computed from a hidden count are hidden.
    """

    public: bool = False
    threshold: int = DEFAULT_THRESHOLD
    marking: str = DEFAULT_MARKING

    @property
    def rule(self) -> str:
        return rule_text(self.threshold)

    @property
    def label(self) -> str:
        """The line an output carries at its top and in its provenance."""
        if self.public:
            return f"PUBLIC VERSION — {self.rule}; no person-level information."
        return self.marking

    def suppress(self, table: pd.DataFrame, also: pd.DataFrame | None = None) -> SuppressionResult:
        """:func:`suppress` under this rule (quietly: the rule is announced once, by :func:`choose_publishing`)."""
        return suppress(table, threshold=self.threshold, also=also, quiet=True)

    def hidden(self, counts, also=()) -> dict:
        """For a single list of counts (a mapping key -> count, e.g. crime type -> crimes): which are hidden, with
        their total treated as published. Missing counts (None/NaN: not loaded) are neither hidden nor counted.
        ``also``: keys to hide whatever their size (hidden in another table of the page)."""
        items = {k: v for k, v in dict(counts).items() if v is not None and not pd.isna(v)}
        if not self.public:
            return {k: False for k in counts}
        if not items:
            return {k: False for k in counts}
        t = pd.DataFrame({"count": [float(v) for v in items.values()]}, index=range(len(items)))
        extra = set(also)
        r = self.suppress(t, also=pd.DataFrame({"count": [k in extra for k in items]}, index=range(len(items)))
                          if extra else None)
        mask = r.suppressed["count"].to_numpy()[:-1]
        out = {k: False for k in counts}
        out.update({k: bool(m) for k, m in zip(items, mask)})
        return out

    def provenance(self) -> dict:
        doc = {"public": self.public, "marking": self.label}
        if self.public:
            doc.update(disclosure_threshold=self.threshold, disclosure_rule=self.rule)
        return doc


def choose_publishing(public: bool, disclosure_threshold: int | None, marking: str | None, *, where: str,
                      settings: dict | None = None, quiet: bool = False) -> Publishing:
    """Check an output's ``public`` / ``disclosure_threshold`` / ``marking`` options and record them in ``settings``.

    The threshold defaults to 5 (announced when the output is public); the marking of a working output defaults to
    :data:`DEFAULT_MARKING` (give the force's own, e.g. ``"OFFICIAL-SENSITIVE [PERSONAL]"``).
    """
    if not isinstance(public, (bool, np.bool_)):
        raise error(where, "The 'public' parameter must be True or False.", got=public)
    if disclosure_threshold is not None and (isinstance(disclosure_threshold, bool) or
                                             not isinstance(disclosure_threshold, (int, np.integer))
                                             or disclosure_threshold < 2):
        raise error(where, "The 'disclosure_threshold' parameter must be a whole number of at least 2.",
                    got=disclosure_threshold, hint="Counts under it are suppressed in a public output; the usual "
                    "UK rule is 5.")
    if marking is not None and (not isinstance(marking, str) or not marking.strip()):
        raise error(where, "The 'marking' parameter must be a non-empty text, e.g. 'OFFICIAL-SENSITIVE'.", got=marking)
    thr = DEFAULT_THRESHOLD if disclosure_threshold is None else int(disclosure_threshold)
    pub = Publishing(bool(public), thr, marking.strip() if marking else DEFAULT_MARKING)
    if settings is not None:
        settings["public"] = Setting(pub.public, "user" if public else "default",
                                     "public version: " + pub.rule if pub.public else "working output: " + pub.marking)
        if pub.public:
            settings["disclosure threshold"] = Setting(
                thr, "user" if disclosure_threshold is not None else "default",
                "counts from 1 to one under it are suppressed, with secondary suppression" +
                ("" if disclosure_threshold is not None else " (the usual UK disclosure rule)"), "count")
    if pub.public and disclosure_threshold is None:
        announce(f"{where}: public version: cells under {DEFAULT_THRESHOLD} are suppressed, with secondary "
                 "suppression (the usual UK rule); pass disclosure_threshold= to change it.", quiet=quiet)
    return pub
