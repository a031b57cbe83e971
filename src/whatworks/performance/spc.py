"""XmR (individuals) charts with the NHS England "Making Data Count" rules, for one series or thousands at once.

The pipeline follows NHSRplotthedots: limits (:func:`xmr_limits`) → point rules (:func:`rule_outside_limits`,
:func:`rule_trend`, :func:`rule_two_in_three`, :func:`rule_shift`) → point types (:func:`classify_points`) →
assurance against a target (:func:`assurance_type`). Every step is a pure function over flat numpy arrays that carry
a segment code, so ``by=`` runs any number of series in one vectorised pass (no Python loop per series).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_numeric
from whatworks.errors import error
from whatworks.performance._series import group_last, prepare, run_flags

__all__ = ["spc", "SPCResult", "xmr_limits", "rule_outside_limits", "close_to_limits", "rule_trend",
           "rule_two_in_three", "rule_shift", "classify_points", "assurance_type", "POINT_TYPES"]

# Constants (Wheeler; NHS England "Making Data Count"; NHSRplotthedots R/ptd_spc_standard.R).
LIMIT_MULTIPLIER = 2.66                       # 3 / d2 with d2 = 1.128 for moving ranges of 2 points
CLOSE_MULTIPLIER = 2 * (LIMIT_MULTIPLIER / 3)  # the "2 sigma" lines, computed as NHSRplotthedots does
SCREEN_MULTIPLIER = 3.267                     # D4 for n = 2: moving ranges at or above 3.267 × mean mR are screened out
RUN_LENGTH = 7                                # trend and shift rules: 7 points
MIN_BASELINE_POINTS = 12                      # fewer baseline points than this → warning (NHSRplotthedots warns below 12)
IMPROVEMENTS = ("increase", "decrease", "neutral")
DEFAULT_IMPROVEMENT = "neutral"
DEFAULT_SCREEN_OUTLIERS = True
POINT_TYPES = ("common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neutral")
WHERE = "spc"


# --------------------------------------------------------------------------------------------------- limits
def xmr_limits(x: np.ndarray, segment: np.ndarray | None = None, in_baseline: np.ndarray | None = None,
               *, screen: bool = True) -> dict[str, np.ndarray]:
    """Centre line, mean moving range and limits for each point, computed per segment.

    Parameters
    ----------
    x : array of float
        Values, sorted by segment then date.
    segment : array of int, optional
        Segment code per point (non-decreasing). ``None`` means one segment.
    in_baseline : array of bool, optional
        Points used to compute the limits (a prefix of each segment). ``None`` means every point.
    screen : bool, default True
        Screen out moving ranges ≥ 3.267 × mean moving range and recompute the mean once.

    Returns
    -------
    dict of arrays, one value per point: ``mean``, ``mr`` (moving range, NaN at a segment's first point),
    ``amr`` (mean moving range used), ``lpl``, ``upl`` (mean ∓ 2.66·amr), ``lower_2sigma``, ``upper_2sigma``
    (mean ∓ 2·(2.66/3)·amr).

    Notes
    -----
    When every baseline moving range is zero (a constant baseline) the mean moving range is 0 and the limits collapse
    onto the mean: any later point that differs from the mean is outside the limits. (NHSRplotthedots gives NaN limits
    there; we prefer a defined answer.)

    Examples
    --------
    >>> lim = xmr_limits(np.array([1., 3., 2., 4.]))
    >>> float(lim["mean"][0]), float(lim["amr"][0])
    (2.5, 1.6666666666666667)
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    segment = np.zeros(n, dtype=np.int64) if segment is None else np.asarray(segment)
    in_baseline = np.ones(n, dtype=bool) if in_baseline is None else np.asarray(in_baseline, dtype=bool)
    start = np.r_[True, segment[1:] != segment[:-1]] if n else np.zeros(0, dtype=bool)
    k = int(segment.max()) + 1 if n else 0

    n_base = np.bincount(segment, weights=in_baseline, minlength=k)
    mean_seg = np.bincount(segment, weights=np.where(in_baseline, x, 0.0), minlength=k) / n_base

    mr = np.full(n, np.nan)
    mr[1:] = np.abs(x[1:] - x[:-1])
    mr[start] = np.nan
    mr_ok = ~start & in_baseline & np.r_[False, in_baseline[:-1]]
    cnt = np.bincount(segment, weights=mr_ok, minlength=k)
    amr0 = np.bincount(segment, weights=np.where(mr_ok, mr, 0.0), minlength=k) / cnt
    if screen:
        keep = mr_ok & (np.where(mr_ok, mr, np.inf) < SCREEN_MULTIPLIER * amr0[segment])
        cnt2 = np.bincount(segment, weights=keep, minlength=k)
        sums2 = np.bincount(segment, weights=np.where(keep, mr, 0.0), minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            amr_seg = np.where(cnt2 > 0, sums2 / np.where(cnt2 > 0, cnt2, 1), 0.0)  # cnt2 == 0 only when amr0 == 0
    else:
        amr_seg = amr0
    mean = mean_seg[segment]
    amr = amr_seg[segment]
    return {
        "mean": mean, "mr": mr, "amr": amr,
        "lpl": mean - LIMIT_MULTIPLIER * amr, "upl": mean + LIMIT_MULTIPLIER * amr,
        "lower_2sigma": mean - CLOSE_MULTIPLIER * amr, "upper_2sigma": mean + CLOSE_MULTIPLIER * amr,
    }


# --------------------------------------------------------------------------------------------------- point rules
def _starts(segment: np.ndarray | None, n: int) -> np.ndarray:
    if segment is None:
        s = np.zeros(n, dtype=bool)
        if n:
            s[0] = True
        return s
    segment = np.asarray(segment)
    return np.r_[True, segment[1:] != segment[:-1]] if n else np.zeros(0, dtype=bool)


def rule_outside_limits(x: np.ndarray, lpl: np.ndarray, upl: np.ndarray) -> np.ndarray:
    """Rule 1: a point strictly above the upper or strictly below the lower process limit.

    >>> rule_outside_limits(np.array([0., 5., 10.]), np.array([0.]*3), np.array([10.]*3)).tolist()
    [False, False, False]
    """
    return (x > upl) | (x < lpl)


def close_to_limits(x, lpl, upl, lower_2sigma, upper_2sigma) -> np.ndarray:
    """Inside the limits (or on one) but strictly beyond a 2σ line."""
    inside = ~rule_outside_limits(x, lpl, upl)
    return inside & ((x > upper_2sigma) | (x < lower_2sigma))


def side_of_mean(x, mean) -> np.ndarray:
    """+1 strictly above the mean, −1 strictly below, 0 on it."""
    return np.sign(np.asarray(x, dtype=float) - mean).astype(np.int8)


def rule_trend(x: np.ndarray, segment: np.ndarray | None = None, *, run: int = RUN_LENGTH):
    """Rule 2: ``run`` points in a row each strictly higher (or each strictly lower) than the one before.

    Every point of the run is flagged. Returns ``(flag, direction)``: direction is +1 for a point in an increasing
    run, −1 in a decreasing run, 0 otherwise. A point shared by an increasing and a decreasing run (a peak or trough
    joining two runs) takes the direction of the run that continues to its right, as NHSRplotthedots 0.2 does.

    >>> f, d = rule_trend(np.array([1., 2, 3, 4, 5, 6, 7, 7]))
    >>> f.tolist(), d.tolist()
    ([True, True, True, True, True, True, True, False], [1, 1, 1, 1, 1, 1, 1, 0])
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    start = _starts(segment, n)
    step = np.zeros(n, dtype=np.int8)
    if n > 1:
        step[1:] = np.sign(x[1:] - x[:-1])
    step[start] = 0
    # step[i] describes the pair (i-1, i); a run of `run` points is run-1 consecutive steps of the same sign.
    up_steps = run_flags(step > 0, start, run - 1)
    down_steps = run_flags(step < 0, start, run - 1)
    up_next = np.r_[up_steps[1:], False]      # this point starts (or continues) an increasing run to its right
    down_next = np.r_[down_steps[1:], False]
    up_pt = up_steps | up_next
    down_pt = down_steps | down_next
    flag = up_pt | down_pt
    direction = np.where(up_next, 1, np.where(down_next, -1, np.where(up_steps, 1, np.where(down_steps, -1, 0))))
    return flag, direction.astype(np.int8)


def rule_two_in_three(close: np.ndarray, side: np.ndarray, segment: np.ndarray | None = None) -> np.ndarray:
    """Rule 3: in 3 consecutive points all strictly on the same side of the mean, at least 2 close to the limits.

    The close points of every such window are flagged.

    >>> rule_two_in_three(np.array([True, False, True]), np.array([1, 1, 1])).tolist()
    [True, False, True]
    """
    close = np.asarray(close, dtype=bool)
    side = np.asarray(side)
    n = len(close)
    start = _starts(segment, n)
    if n < 3:
        return np.zeros(n, dtype=bool)
    # window beginning at i covers i, i+1, i+2 (all in one segment: neither i+1 nor i+2 starts a segment)
    same_seg = ~start[1:-1] & ~start[2:]
    same_side = (side[:-2] != 0) & (side[:-2] == side[1:-1]) & (side[1:-1] == side[2:])
    n_close = close[:-2].astype(np.int8) + close[1:-1] + close[2:]
    window = same_seg & same_side & (n_close >= 2)
    in_window = np.zeros(n, dtype=bool)
    in_window[:-2] |= window
    in_window[1:-1] |= window
    in_window[2:] |= window
    return in_window & close


def rule_shift(side: np.ndarray, segment: np.ndarray | None = None, *, run: int = RUN_LENGTH) -> np.ndarray:
    """Rule 4: ``run`` points in a row strictly on the same side of the mean; a point on the mean breaks the run.

    >>> rule_shift(np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1])).tolist()
    [False, False, False, False, True, True, True, True, True, True, True]
    """
    side = np.asarray(side)
    start = _starts(segment, len(side))
    return run_flags(side > 0, start, run) | run_flags(side < 0, start, run)


def classify_points(outside, trend, trend_direction, two_in_three, shift, side, improvement: str):
    """Point type and signal direction for each point.

    A special-cause point is "improvement" or "concern" by the side of the mean it lies on, except points flagged by
    the trend rule and not outside the limits, which take the direction of their trend (NHSRplotthedots 0.2).
    With ``improvement="neutral"`` every special-cause point is ``special_cause_neutral``.

    Returns
    -------
    (point_type, direction): arrays of str; ``direction`` is "higher", "lower" or "" (common cause).
    """
    special = outside | trend | two_in_three | shift
    d = np.where(trend & ~outside, trend_direction, side)
    d = np.where(special, d, 0)
    if improvement == "neutral":
        codes = np.where(special, 3, 0)
    else:
        good = 1 if improvement == "increase" else -1
        codes = np.where(~special, 0, np.where(d == good, 1, 2))
    point_type = np.asarray(POINT_TYPES, dtype=object)[codes]
    direction = np.asarray(["lower", "", "higher"], dtype=object)[d + 1]
    return point_type, direction


def assurance_type(target: float, lpl: float, upl: float, improvement: str) -> str | None:
    """Will the process meet the target? A target strictly outside the limits is consistently passed or failed.

    >>> assurance_type(5, 10, 20, "increase")
    'consistent_pass'
    """
    if target is None or (isinstance(target, float) and np.isnan(target)):
        return None
    if improvement == "neutral":
        return None
    inc = improvement == "increase"
    if target > upl:
        return "consistent_fail" if inc else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if inc else "consistent_fail"
    return "inconsistent"


# --------------------------------------------------------------------------------------------------- result
_VERDICT = {
    "common_cause": "within normal variation — no action on this figure alone",
    "special_cause_improvement": "special cause — improvement",
    "special_cause_concern": "special cause — concern",
    "special_cause_neutral_high": "special cause — unusually high (no direction set)",
    "special_cause_neutral_low": "special cause — unusually low (no direction set)",
}
_ASSURANCE = {
    "consistent_pass": "will consistently meet the target",
    "consistent_fail": "will consistently miss the target unless the process changes",
    "inconsistent": "will sometimes meet and sometimes miss the target",
}


@dataclass(frozen=True, repr=False)
class SPCResult(Result):
    """XmR chart(s).

    Attributes
    ----------
    table : DataFrame
        One row per point: the ``by`` columns, ``date``, ``value``, ``segment``, ``in_baseline``, ``mean``, ``mr``,
        ``lpl``, ``upl``, ``lower_2sigma``, ``upper_2sigma``, ``outside_limits``, ``close_to_limits``, ``trend``,
        ``two_in_three``, ``shift``, ``special_cause``, ``point_type``, ``direction``, ``short_baseline``.
    variation : DataFrame
        One row per series: latest point, its limits, ``variation`` (the Making Data Count variation icon: the latest
        point's type, with neutral split into high/low) and the number of special-cause points.
    assurance : DataFrame
        One row per series: ``target``, the latest limits and ``assurance`` (consistent_pass, consistent_fail,
        inconsistent, or missing when no target or no direction).
    """

    variation: pd.DataFrame = None
    assurance: pd.DataFrame = None
    by: tuple = ()
    improvement: str = "neutral"

    def _label(self, row) -> str:
        if not self.by:
            return "The series"
        return ", ".join(f"{b}={row[b]}" for b in self.by)

    def summary(self) -> str:
        v = self.variation
        lines = []
        if len(v) == 1:
            r = v.iloc[0]
            txt = f"{self._label(r)}: latest point {_VERDICT[r['variation']]}"
            if r["n_special"]:
                txt += f"; {int(r['n_special'])} of {int(r['n_points'])} points flagged as special cause"
            a = self.assurance.iloc[0]["assurance"]
            if isinstance(a, str):
                txt += f"; the process {_ASSURANCE[a]} ({self.assurance.iloc[0]['target']:g})"
            if r["short_baseline"]:
                txt += f" (limits rest on fewer than {MIN_BASELINE_POINTS} points: treat with caution)"
            return txt + "."
        counts = v["variation"].value_counts()
        lines.append(f"{len(v)} series; latest point: " + "; ".join(
            f"{int(counts.get(k, 0))} {_VERDICT[k].split(' — ')[0] if k == 'common_cause' else _VERDICT[k]}"
            for k in _VERDICT if counts.get(k, 0)))
        flagged = v[v["variation"] != "common_cause"]
        for _, r in flagged.head(10).iterrows():
            lines.append(f"  {self._label(r)}: {_VERDICT[r['variation']]}")
        if len(flagged) > 10:
            lines.append(f"  … and {len(flagged) - 10} more (see .variation)")
        return "\n".join(lines)

    def _headline(self) -> str:
        n_sc = int((self.variation["variation"] != "common_cause").sum())
        return f"{len(self.variation)} series, {len(self.table)} points; {n_sc} series with a special-cause latest point"

    def select(self, **keys) -> "SPCResult":
        """The chart(s) for the series matching ``keys`` (``by`` column = value)."""
        def filt(df):
            m = np.ones(len(df), dtype=bool)
            for k, val in keys.items():
                if k not in self.by:
                    raise error("SPCResult.select", f"'{k}' is not a 'by' column.", expected=f"one of {list(self.by)}")
                m &= (df[k] == val).to_numpy()
            return df[m].reset_index(drop=True)
        return SPCResult(table=filt(self.table), settings=self.settings, variation=filt(self.variation),
                         assurance=filt(self.assurance), by=self.by, improvement=self.improvement)

    def _draw(self, ax) -> None:
        t = self.table
        title = "XmR chart"
        if self.by:
            first = self.variation.iloc[0]
            m = np.ones(len(t), dtype=bool)
            for b in self.by:
                m &= (t[b] == first[b]).to_numpy()
            t = t[m]
            title = f"XmR chart: {self._label(first)}"
            if len(self.variation) > 1:
                title += f" (1 of {len(self.variation)} series; use .select(...) for another)"
        for _, seg in t.groupby("segment", sort=True):
            ax.plot(seg["date"], seg["mean"], color=PALETTE["black"], lw=1)
            ax.plot(seg["date"], seg["upl"], color=PALETTE["grey"], lw=1, ls="--")
            ax.plot(seg["date"], seg["lpl"], color=PALETTE["grey"], lw=1, ls="--")
        ax.plot(t["date"], t["value"], color=PALETTE["grey"], lw=1, marker="o", ms=3, zorder=2)
        colours = {"special_cause_improvement": PALETTE["blue"], "special_cause_concern": PALETTE["orange"],
                   "special_cause_neutral": PALETTE["purple"]}
        for kind, col in colours.items():
            s = t[t["point_type"] == kind]
            if len(s):
                ax.scatter(s["date"], s["value"], color=col, zorder=3, s=25, label=kind.replace("_", " "))
        a = self.assurance
        if len(a) and pd.notna(a.iloc[0]["target"]):
            ax.axhline(a.iloc[0]["target"], color=PALETTE["vermillion"], ls=":", lw=1, label="target")
        ax.set_title(title)
        ax.set_ylabel("value")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=8)


# --------------------------------------------------------------------------------------------------- verb
def spc(df: pd.DataFrame, value: str, date: str, *, improvement: str | None = None, target=None, rebase=None,
        by=None, baseline: int | None = None, screen_outliers: bool | None = None, quiet: bool = False) -> SPCResult:
    """XmR chart with the four Making Data Count special-cause rules, for one series or many (``by=``).

    Parameters
    ----------
    df : DataFrame
        Long table, one row per series × date.
    value, date : str
        Column names. Dates may be datetimes, periods, month strings ('2024-06') or numbers (week index).
    improvement : {"increase", "decrease", "neutral"}, optional
        Which direction is better. With "neutral" special-cause points are reported as unusually high/low. ``None``
        (not given) means "neutral".
    target : float or str, optional
        A target value, or the name of a column holding each series' target (its value on the latest row is used).
        Gives ``.assurance``. Needs a direction (``improvement`` not "neutral").
    rebase : list of dates or str, optional
        Dates at which the process changed (a new segment, with its own mean and moving range, starts at the first
        point on or after each date, in every series), or the name of a True/False column marking the first point of
        each new segment (per series).
    by : str or list of str, optional
        Columns identifying separate series; all are charted at once, vectorised.
    baseline : int, optional
        Number of points at the start of each segment used to compute the limits. ``None`` (default) uses every
        point of each segment (announced). Fewer than 12 baseline points gives a warning.
    screen_outliers : bool, optional
        Screen out moving ranges ≥ 3.267 × mean moving range before computing the limits. ``None`` (not given) means
        True. ``improvement`` and ``screen_outliers`` are recorded in ``.settings`` with source "user" when you pass
        them — even the default value — and "default" when you leave them out.
    quiet : bool, default False
        Silence announcements of defaults chosen from the data (they are still recorded in ``.settings``).

    Returns
    -------
    SPCResult
        ``.table`` one row per point, ``.variation`` and ``.assurance`` one row per series, ``.summary()``, ``.plot()``.

    Notes
    -----
    Per segment: centre = mean of the baseline points; moving ranges mRᵢ = |xᵢ − xᵢ₋₁|; mR̄ = mean mR after screening
    mR ≥ 3.267·mR̄ once; limits = centre ± 2.66·mR̄; 2σ lines = centre ± 2·(2.66/3)·mR̄. Rules (every rule restarts at a
    segment boundary; each flags every point that takes part):
    (1) strictly outside a limit; (2) 7 points each strictly higher, or each strictly lower, than the one before;
    (3) in 3 consecutive points all strictly on one side of the mean, at least 2 close to the limits (inside the
    limits, strictly beyond a 2σ line) — the close points are flagged; (4) 7 points in a row strictly on one side of
    the mean. Improvement/concern is the side of the mean, except trend points not outside the limits, which take the
    trend's direction.

    Each segment's baseline needs at least 2 points (one moving range); otherwise an error is raised.

    References
    ----------
    NHS England, "Making Data Count" (2019); NHSRplotthedots 0.2 (R package, NHS-R Community); Wheeler D.J.,
    "Understanding Variation" (1993).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": pd.date_range("2023-01-01", periods=24, freq="MS"),
    ...                   "crimes": [50, 52, 48, 51, 49, 50, 53, 47, 50, 51, 49, 50,
    ...                              50, 52, 48, 51, 49, 50, 53, 47, 50, 51, 49, 80]})
    >>> r = spc(d, "crimes", "month", improvement="decrease", quiet=True)
    >>> r.table["point_type"].iloc[-1]
    'special_cause_concern'
    """
    if improvement is not None:
        check_choice(WHERE, "improvement", improvement, IMPROVEMENTS)
    if baseline is not None:
        check_number(WHERE, "baseline", baseline, low=2, integer=True)
        baseline = int(baseline)
    if screen_outliers is not None and not isinstance(screen_outliers, bool):
        raise error(WHERE, "The 'screen_outliers' parameter must be True or False.", got=screen_outliers)
    if target is not None and not isinstance(target, str):
        check_number(WHERE, "target", target)
    if target is not None and improvement in (None, "neutral"):
        raise error(WHERE, "A target needs a direction of improvement.", got="improvement='neutral'",
                    hint="Pass improvement='increase' or 'decrease' with the target.")

    p = prepare(WHERE, df, value, date, by, rebase)
    if isinstance(target, str) and target not in p.frame.columns:
        raise error(WHERE, f"Target column '{target}' not found in 'df'.", hint="Pass a number or an existing column name.")

    settings: dict[str, Setting] = {}
    # None = not given: an explicit improvement="neutral" or screen_outliers=True is still recorded as the user's
    improvement = given_or_default(settings, "improvement", improvement, DEFAULT_IMPROVEMENT,
                                   reason="which direction is better", default_reason="no direction given")
    screen_outliers = given_or_default(settings, "screen_outliers", screen_outliers, DEFAULT_SCREEN_OUTLIERS,
                                       reason="screen moving ranges ≥ 3.267 × mean before computing the limits")
    settings["rebase"] = Setting(rebase, "user" if rebase is not None else "default", "")
    settings["target"] = Setting(target, "user" if target is not None else "default", "")
    n = len(p.value)
    seg_start_idx = np.flatnonzero(p.seg_start)
    pos = np.arange(n) - seg_start_idx[p.segment]
    seg_len = np.diff(np.r_[seg_start_idx, n])
    if baseline is None:
        in_base = np.ones(n, dtype=bool)
        settings["baseline"] = Setting("all points", "data", "no baseline given: every point of each segment sets its limits",
                                       "points")
        announce("baseline set to all points of each segment (no baseline given).", quiet=quiet)
    else:
        in_base = pos < baseline
        settings["baseline"] = Setting(baseline, "user", "given by the caller", "points")
    base_n = np.minimum(seg_len, baseline) if baseline is not None else seg_len
    too_short = base_n < 2
    if too_short.any():
        s = int(np.flatnonzero(too_short)[0])
        row = p.frame.iloc[seg_start_idx[s]]
        where_txt = ", ".join(f"{b}={row[b]!r}" for b in p.by) or "the series"
        raise error(WHERE, "A segment has fewer than 2 points, so it has no moving range to set limits from.",
                    got=f"{int(base_n[s])} point(s)", row=f"{where_txt}, segment starting {row[date]}",
                    hint="Remove a rebase date that is too close to another, or give that series more points.")
    short_seg = base_n < MIN_BASELINE_POINTS
    if short_seg.any():
        warnings.warn(f"spc(): {int(short_seg.sum())} of {len(short_seg)} segment(s) have limits based on fewer than "
                      f"{MIN_BASELINE_POINTS} points; treat their signals with caution.", UserWarning, stacklevel=2)

    # limits → point rules → point types
    lim = xmr_limits(p.value, p.segment, in_base, screen=screen_outliers)
    x = p.value
    outside = rule_outside_limits(x, lim["lpl"], lim["upl"])
    close = close_to_limits(x, lim["lpl"], lim["upl"], lim["lower_2sigma"], lim["upper_2sigma"])
    side = side_of_mean(x, lim["mean"])
    trend, trend_dir = rule_trend(x, p.segment)
    two3 = rule_two_in_three(close, side, p.segment)
    shift = rule_shift(side, p.segment)
    point_type, direction = classify_points(outside, trend, trend_dir, two3, shift, side, improvement)

    table = p.frame[p.by].copy() if p.by else pd.DataFrame(index=range(n))
    table["date"] = p.frame[date].to_numpy()
    table["value"] = x
    table["segment"] = p.segment - p.segment[np.flatnonzero(np.r_[True, p.series[1:] != p.series[:-1]])][p.series]
    table["in_baseline"] = in_base
    for k in ("mean", "mr", "lpl", "upl", "lower_2sigma", "upper_2sigma"):
        table[k] = lim[k]
    table["outside_limits"] = outside
    table["close_to_limits"] = close
    table["trend"] = trend
    table["two_in_three"] = two3
    table["shift"] = shift
    special = outside | trend | two3 | shift
    table["special_cause"] = special
    table["point_type"] = pd.Categorical(point_type, categories=POINT_TYPES)
    table["direction"] = direction
    table["short_baseline"] = short_seg[p.segment]

    # per series: variation (latest point) and assurance
    last = group_last(p.series)
    var = p.series_keys.copy()
    var["n_points"] = np.bincount(p.series)
    var["n_segments"] = np.bincount(p.series, weights=p.seg_start).astype(int)
    var["latest_date"] = table["date"].to_numpy()[last]
    var["latest_value"] = x[last]
    var["mean"] = lim["mean"][last]
    var["lpl"] = lim["lpl"][last]
    var["upl"] = lim["upl"][last]
    var["latest_point_type"] = point_type[last]
    latest_var = point_type[last].astype(object).copy()
    neutral = latest_var == "special_cause_neutral"
    latest_var[neutral] = np.where(direction[last][neutral] == "higher", "special_cause_neutral_high",
                                   "special_cause_neutral_low")
    var["variation"] = latest_var
    var["n_special"] = np.bincount(p.series, weights=special).astype(int)
    var["short_baseline"] = short_seg[p.segment[last]]

    ass = p.series_keys.copy()
    if target is None:
        tv = np.full(len(last), np.nan)
    elif isinstance(target, str):
        # a missing target on a series' latest row means "no target" for that series; text is refused, not coerced
        tv = require_numeric(WHERE, p.frame, target, allow_na=True)[last]
    else:
        tv = np.full(len(last), float(target))
    ass["target"] = tv
    ass["lpl"] = var["lpl"].to_numpy()
    ass["upl"] = var["upl"].to_numpy()
    inc = improvement == "increase"
    above = tv > ass["upl"].to_numpy()
    below = tv < ass["lpl"].to_numpy()
    lab = np.where(above, "consistent_fail" if inc else "consistent_pass",
                   np.where(below, "consistent_pass" if inc else "consistent_fail", "inconsistent")).astype(object)
    lab[np.isnan(tv)] = None
    ass["assurance"] = lab

    return SPCResult(table=table, settings=settings, variation=var, assurance=ass, by=tuple(p.by),
                     improvement=improvement)
