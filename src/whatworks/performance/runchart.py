"""Run charts with the Anhøj rules (the qicharts2 default), for one series or many at once.

Centre line = median. Points exactly on the median are ignored; ``n`` is the number of the rest ("useful" points).
Non-random variation is signalled when the longest run of useful points on one side of the median is longer than
``round(log2(n)) + 3`` (Schilling 2012), or when the number of crossings of the median is smaller than the 5th
percentile of Binomial(n − 1, 0.5) (Chen 2010). These are the thresholds qicharts2 computes.

With a frozen baseline (``baseline=k``, qicharts2's ``freeze``) the centre line is the median of the first k points,
and the runs analysis still covers every point of the series, judged against that frozen median, with n counting the
useful points of the whole series — as qicharts2 does (``qic.run`` and ``runs.analysis`` in its
``R/helper.functions.R``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number
from whatworks.errors import error
from whatworks.performance._series import prepare

__all__ = ["runchart", "RunChartResult", "longest_run_max", "crossings_min", "runs_analysis"]
WHERE = "runchart"
CROSSINGS_QUANTILE = 0.05   # Anhøj: fewer crossings than the 5th percentile of Binomial(n-1, 1/2) is a signal
RUN_LENGTH_OFFSET = 3       # Anhøj: longest run > round(log2 n) + 3 is a signal


def longest_run_max(n_useful) -> np.ndarray:
    """Largest longest-run expected by chance: ``round(log2(n)) + 3`` (R's round: halves to even, as numpy's).

    >>> longest_run_max(np.array([10, 24, 100])).tolist()
    [6.0, 8.0, 10.0]
    """
    n = np.asarray(n_useful, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.round(np.log2(np.where(n > 0, n, np.nan))) + RUN_LENGTH_OFFSET
    return out


def crossings_min(n_useful) -> np.ndarray:
    """Fewest crossings expected by chance: the 5th percentile of Binomial(n − 1, 0.5) (R ``qbinom``).

    >>> crossings_min(np.array([10, 24, 100])).tolist()
    [2.0, 8.0, 41.0]
    """
    n = np.asarray(n_useful, dtype=float)
    trials = np.maximum(n - 1, 0)
    out = stats.binom.ppf(CROSSINGS_QUANTILE, trials, 0.5)
    return np.where(n > 0, out, np.nan)


def runs_analysis(side: np.ndarray, series: np.ndarray, n_series: int) -> pd.DataFrame:
    """Runs analysis per series from the side of the median (+1/−1, 0 = on the median, ignored).

    Returns one row per series: ``n_useful``, ``longest_run``, ``longest_run_max``, ``n_crossings``,
    ``n_crossings_min``, ``long_run_signal``, ``crossings_signal``, ``runs_signal``.
    """
    useful = side != 0
    s = side[useful]
    g = series[useful]
    n_useful = np.bincount(g, minlength=n_series)
    longest = np.zeros(n_series)
    n_runs = np.zeros(n_series)
    if len(s):
        new_run = np.r_[True, (s[1:] != s[:-1]) | (g[1:] != g[:-1])]
        run_id = np.cumsum(new_run) - 1
        run_len = np.bincount(run_id)
        run_series = g[new_run]
        n_runs = np.bincount(run_series, minlength=n_series).astype(float)
        np.maximum.at(longest, run_series, run_len)
    lmax = longest_run_max(n_useful)
    cmin = crossings_min(n_useful)
    n_cross = np.maximum(n_runs - 1, 0)
    has = n_useful > 0
    long_sig = has & (longest > np.nan_to_num(lmax, nan=np.inf))
    cross_sig = has & (n_cross < np.nan_to_num(cmin, nan=-np.inf))
    return pd.DataFrame({"n_useful": n_useful, "longest_run": longest.astype(int), "longest_run_max": lmax,
                         "n_crossings": n_cross.astype(int), "n_crossings_min": cmin,
                         "long_run_signal": long_sig, "crossings_signal": cross_sig, "runs_signal": long_sig | cross_sig})


@dataclass(frozen=True, repr=False)
class RunChartResult(Result):
    """Run chart(s).

    Attributes
    ----------
    table : DataFrame
        One row per point: ``by`` columns, ``date``, ``value``, ``median``, ``in_baseline``, ``on_median``,
        ``side`` (+1 above, −1 below, 0 on the median), ``in_long_run`` (part of a run longer than expected).
    runs : DataFrame
        One row per series: median and the runs analysis (see :func:`runs_analysis`).
    """

    runs: pd.DataFrame = None
    by: tuple = ()

    def _label(self, r) -> str:
        return ", ".join(f"{b}={r[b]}" for b in self.by) if self.by else "The series"

    def _verdict(self, r) -> str:
        if r["n_useful"] == 0:
            return "every point is on the median: no runs analysis possible"
        if not r["runs_signal"]:
            return ("random variation around the median (no unusually long run, no unusually few crossings) — "
                    "no action on this figure alone")
        why = []
        if r["long_run_signal"]:
            why.append(f"a run of {r['longest_run']} points on one side of the median (more than "
                       f"{int(r['longest_run_max'])} is unusual)")
        if r["crossings_signal"]:
            why.append(f"only {r['n_crossings']} crossings of the median (fewer than {int(r['n_crossings_min'])} is unusual)")
        return "non-random variation: " + " and ".join(why)

    def summary(self) -> str:
        if len(self.runs) == 1:
            return f"{self._label(self.runs.iloc[0])}: {self._verdict(self.runs.iloc[0])}."
        sig = self.runs[self.runs["runs_signal"]]
        lines = [f"{len(self.runs)} series; {len(sig)} show non-random variation (Anhøj rules)."]
        for _, r in sig.head(10).iterrows():
            lines.append(f"  {self._label(r)}: {self._verdict(r)}")
        if len(sig) > 10:
            lines.append(f"  … and {len(sig) - 10} more (see .runs)")
        return "\n".join(lines)

    def _headline(self) -> str:
        return f"{len(self.runs)} series, {int(self.runs['runs_signal'].sum())} with a runs signal"

    def _draw(self, ax) -> None:
        t = self.table
        title = "Run chart"
        if self.by:
            first = self.runs.iloc[0]
            m = np.ones(len(t), dtype=bool)
            for b in self.by:
                m &= (t[b] == first[b]).to_numpy()
            t = t[m]
            title += f": {self._label(first)}"
        ax.plot(t["date"], t["value"], color=PALETTE["grey"], marker="o", ms=3, lw=1)
        ax.plot(t["date"], t["median"], color=PALETTE["black"], lw=1, label="median")
        lr = t[t["in_long_run"]]
        if len(lr):
            ax.scatter(lr["date"], lr["value"], color=PALETTE["orange"], zorder=3, s=25, label="unusually long run")
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=8)


def runchart(df: pd.DataFrame, value: str, date: str, *, by=None, baseline: int | None = None,
             quiet: bool = False) -> RunChartResult:
    """Run chart with the Anhøj rules, for one series or many (``by=``), vectorised.

    Parameters
    ----------
    df : DataFrame
        One row per series × date.
    value, date : str
        Column names.
    by : str or list of str, optional
        Columns identifying separate series.
    baseline : int, optional
        Number of leading points of each series whose median is the centre line (qicharts2's ``freeze``); a baseline
        longer than a series uses all its points. ``None`` uses every point (announced). The runs analysis always
        covers every point of the series — baseline and later points together — against this (frozen) median, so
        a run that starts in the baseline and carries on after it counts in full, and ``n`` (and with it both
        thresholds) counts the useful points of the whole series.
    quiet : bool, default False
        Silence announcements.

    Returns
    -------
    RunChartResult
        ``.table`` per point, ``.runs`` per series (n_useful, longest_run, longest_run_max, n_crossings,
        n_crossings_min, runs_signal), ``.summary()``, ``.plot()``.

    Notes
    -----
    Points on the median are dropped before the runs analysis (qicharts2). With ``n`` useful points a signal is raised
    when the longest run > ``round(log2(n)) + 3`` or crossings < ``qbinom(0.05, n − 1, 0.5)``.

    With ``baseline=k`` this is exactly what ``qicharts2::qic(y, freeze = k)`` does: ``qic.run`` sets the centre line
    to the median of the points with ``xx <= freeze``, and ``runs.analysis`` then uses every (included) point of the
    chart against it — not the baseline points alone, and not only the points after the baseline. Example: 20 points
    whose first 12 alternate around their median 10.5 and whose last 8 sit above it (one exactly on it) give
    n = 19, a longest run of 8 (the last baseline point plus 7 later ones) > 7, and 11 crossings ≥ 6: a long-run
    signal. For a before/after comparison where each period gets its own median and its own runs analysis,
    run :func:`runchart` on each period separately (what qicharts2's ``part`` does).

    References
    ----------
    Anhøj J., Olesen A.V. (2014) Run charts revisited: a simulation study of run chart rules for detection of
    non-random variation in health care processes. PLoS ONE 9(11): e113825. qicharts2 (R package, Anhøj).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"week": range(20), "calls": [5, 6, 4, 5, 7, 5, 6, 4, 5, 6, 9, 9, 8, 9, 10, 9, 8, 9, 10, 9]})
    >>> runchart(d, "calls", "week", quiet=True).runs["runs_signal"].iloc[0]
    np.True_
    """
    if baseline is not None:
        check_number(WHERE, "baseline", baseline, low=1, integer=True)
        baseline = int(baseline)
    p = prepare(WHERE, df, value, date, by, None)
    n = len(p.value)
    n_series = len(p.series_keys)
    starts = np.flatnonzero(np.r_[True, p.series[1:] != p.series[:-1]])
    pos = np.arange(n) - starts[p.series]
    settings: dict[str, Setting] = {}
    if baseline is None:
        in_base = np.ones(n, dtype=bool)
        settings["baseline"] = Setting("all points", "data", "no baseline given: the median of every point", "points")
        announce("baseline set to all points (median of the whole series).", quiet=quiet)
    else:
        in_base = pos < baseline
        settings["baseline"] = Setting(baseline, "user", "given by the caller", "points")
    # medians per series over the baseline points (pandas' grouped median is vectorised)
    med = pd.Series(p.value[in_base]).groupby(p.series[in_base]).median().reindex(range(n_series)).to_numpy()
    if np.isnan(med).any():
        raise error(WHERE, "A series has no baseline points.", hint="Use a baseline of at least 1 point.")
    median = med[p.series]
    side = np.sign(p.value - median).astype(np.int8)
    runs = runs_analysis(side, p.series, n_series)

    # mark the points in unusually long runs
    useful = side != 0
    in_long = np.zeros(n, dtype=bool)
    if useful.any():
        idx = np.flatnonzero(useful)
        s, g = side[idx], p.series[idx]
        new_run = np.r_[True, (s[1:] != s[:-1]) | (g[1:] != g[:-1])]
        run_id = np.cumsum(new_run) - 1
        run_len = np.bincount(run_id)[run_id]
        lmax = runs["longest_run_max"].to_numpy()[g]
        in_long[idx] = run_len > lmax

    table = p.frame[p.by].copy() if p.by else pd.DataFrame(index=range(n))
    table["date"] = p.frame[date].to_numpy()
    table["value"] = p.value
    table["median"] = median
    table["in_baseline"] = in_base
    table["on_median"] = side == 0
    table["side"] = side
    table["in_long_run"] = in_long
    per_series = pd.concat([p.series_keys.reset_index(drop=True),
                            pd.DataFrame({"n_points": np.bincount(p.series, minlength=n_series), "median": med}),
                            runs], axis=1)
    return RunChartResult(table=table, settings=settings, runs=per_series, by=tuple(p.by))
