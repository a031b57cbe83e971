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
from whatworks.performance.attribute import ATTRIBUTE_CHARTS, CHARTS, attribute_limits, dispersion_test
from whatworks.performance.seasonal import MIN_SEASONAL_POINTS, SEASONAL_ALPHA, seasonal_test

__all__ = ["spc", "SPCResult", "VERDICTS", "xmr_limits", "rule_outside_limits", "close_to_limits", "rule_trend",
           "rule_two_in_three", "rule_shift", "classify_points", "assurance_type", "POINT_TYPES", "SEASONALITIES",
           "CHARTS"]

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
SEASONALITIES = ("none", "auto", "month_of_year")
DEFAULT_SEASONALITY = "none"                  # plain XmR, identical to NHSRplotthedots
DEFAULT_CHART = "xmr"
DISPERSION_ALPHA = 0.01                       # chart="auto": Pearson χ² over-dispersion test → Laney p′/u′ (or XmR)
MAX_ANNOUNCED_SERIES = 10                     # per-series seasonal decisions announced one by one up to this many


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
VERDICTS = {
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
    date_name: str = "date"

    def expected(self, next: int = 3) -> pd.DataFrame:  # noqa: A002 - the issue's name for it
        """The range each series' next months would fall in with no change in the process.

        For each series, the ``next`` periods after its latest date: ``expected`` (the centre line, times the month's
        seasonal factor for a seasonal series) and the process limits ``lpl``/``upl`` around it (likewise scaled), from
        the latest segment. A figure outside ``lpl``..``upl`` would be a special cause by rule 1, so a meeting can
        agree in advance what would count as a signal. Attribute charts (u, p …) need the next denominators, so
        their limits are given for the latest denominator.

        Examples
        --------
        >>> import pandas as pd
        >>> d = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=12, freq="MS"), "n": [10., 12] * 6})
        >>> r = spc(d, "n", "month", quiet=True)
        >>> r.expected(next=2)[["date", "expected", "lpl", "upl"]].round(2).to_dict("records")[0]["expected"]
        11.0
        """
        from whatworks._validate import check_number

        check_number("SPCResult.expected", "next", next, low=1, integer=True)
        k = int(next)
        t = self.table
        keys = list(self.by)
        if keys:
            grp = t.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
        else:
            grp = np.zeros(len(t), dtype=np.int64)
        last = np.r_[np.flatnonzero(grp[1:] != grp[:-1]), len(t) - 1]
        dates = t["date"]
        if isinstance(dates.dtype, pd.PeriodDtype):
            dates = dates.dt.to_timestamp()
        elif not pd.api.types.is_numeric_dtype(dates):
            dates = pd.to_datetime(dates, format="mixed")   # month strings as given ('2024-06')
        rows = []
        seasonal = "seasonal_factor" in t.columns
        for j in range(k):
            part = t.iloc[last][keys].reset_index(drop=True) if keys else pd.DataFrame(index=range(len(last)))
            d = dates.to_numpy()[last]
            if np.asarray(d).dtype.kind == "M":
                nd = (pd.DatetimeIndex(d).to_period("M") + (j + 1)).to_timestamp()
            else:
                nd = np.asarray(d, dtype=float) + (j + 1)
            part["date"] = nd
            mean = t["mean"].to_numpy()[last]
            lpl = t["lpl"].to_numpy()[last]
            upl = t["upl"].to_numpy()[last]
            fac = np.ones(len(last))
            if seasonal:
                on = t["seasonal"].to_numpy()[last]
                # the factor of that calendar month: the series' own factor in the same month of an earlier year
                moy = pd.DatetimeIndex(nd).month.to_numpy()
                tm = pd.DatetimeIndex(dates).month.to_numpy()
                for i, li in enumerate(last):
                    if on[i]:
                        lo = 0 if i == 0 else last[i - 1] + 1
                        same = np.flatnonzero(tm[lo:li + 1] == moy[i])
                        if len(same):
                            fac[i] = t["seasonal_factor"].to_numpy()[lo + same[-1]]
            part["expected"] = fac * mean
            part["lpl"] = fac * lpl
            part["upl"] = fac * upl
            part["seasonal"] = t["seasonal"].to_numpy()[last] if seasonal else False
            part["months_ahead"] = j + 1
            rows.append(part)
        out = pd.concat(rows, ignore_index=True)
        return out.sort_values([*keys, "months_ahead"], kind="stable").reset_index(drop=True)

    def _label(self, row) -> str:
        if not self.by:
            return "The series"
        return ", ".join(f"{b}={row[b]}" for b in self.by)

    def summary(self) -> str:
        v = self.variation
        lines = []
        if len(v) == 1:
            r = v.iloc[0]
            txt = f"{self._label(r)}: latest point {VERDICTS[r['variation']]}"
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
            f"{int(counts.get(k, 0))} {VERDICTS[k].split(' — ')[0] if k == 'common_cause' else VERDICTS[k]}"
            for k in VERDICTS if counts.get(k, 0)))
        flagged = v[v["variation"] != "common_cause"]
        for _, r in flagged.head(10).iterrows():
            lines.append(f"  {self._label(r)}: {VERDICTS[r['variation']]}")
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
                         assurance=filt(self.assurance), by=self.by, improvement=self.improvement,
                         date_name=self.date_name)

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
        seasonal = "seasonal" in t.columns and bool(t["seasonal"].any())
        if "chart" in t.columns and t["chart"].iloc[0] != "xmr":
            title = title.replace("XmR chart", f"{_chart_name(t['chart'].iloc[0])} chart")
        for _, seg in t.groupby("segment", sort=True):
            if seasonal and bool(seg["seasonal"].iloc[0]):
                ax.fill_between(seg["date"], seg["band_low"], seg["band_high"], color=PALETTE["sky"], alpha=0.25, lw=0,
                                label="seasonal band (process limits × month factor)")
                ax.plot(seg["date"], seg["expected"], color=PALETTE["black"], lw=1, label="expected for the month")
                continue
            ax.plot(seg["date"], seg["mean"], color=PALETTE["black"], lw=1)
            ax.plot(seg["date"], seg["upl"], color=PALETTE["grey"], lw=1, ls="--")
            ax.plot(seg["date"], seg["lpl"], color=PALETTE["grey"], lw=1, ls="--")
        if seasonal:
            title = title.replace("XmR chart", "Seasonal XmR chart")
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



def _chart_name(c: str) -> str:
    return {"u_prime": "Laney u′", "p_prime": "Laney p′"}.get(c, c if c == "XmR" else c if c != "xmr" else "XmR")


# --------------------------------------------------------------------------------------------------- seasonality
def _where_txt(p, i: int, date: str) -> str:
    row = p.frame.iloc[i]
    keys = ", ".join(f"{b}={row[b]!r}" for b in p.by) or "the series"
    return f"{keys}, {pd.Timestamp(row[date]):%Y-%m} (sorted position {i})" if p.date.dtype.kind == "M" else \
        f"{keys}, {date}={row[date]!r} (sorted position {i})"


def _seasonal_step(p, x, in_base, mode: str, date: str, quiet: bool, settings: dict) -> dict:
    """Seasonal factor per point, the decision and p-value per segment (see :mod:`whatworks.performance.seasonal`).

    A segment is tested when it has ≥ 24 baseline points, consecutive calendar months and no negative value; with
    ``mode="month_of_year"`` a segment that fails is an error, with ``"auto"`` it falls back to plain XmR (announced).
    """
    n = len(x)
    k = int(p.segment.max()) + 1
    seg_first = np.flatnonzero(p.seg_start)
    factor = np.ones(n)
    seasonal = np.zeros(k, dtype=bool)
    pval = np.full(k, np.nan)
    reason = np.full(k, "", dtype=object)
    if p.date.dtype.kind != "M":
        if mode == "month_of_year":
            raise error(WHERE, "seasonality='month_of_year' needs calendar dates (months).",
                        got=f"numeric dates in '{date}'", hint="Pass month dates (e.g. '2024-06'), or seasonality='none'.")
        announce("seasonality: dates are not calendar months, so no month-of-year test; plain XmR charts.", quiet=quiet)
        settings["seasonal_test"] = Setting("not run", "data", "dates are not calendar months")
        return {"factor": factor, "seasonal": seasonal, "p_value": pval, "reason": reason}
    per = p.date.astype("datetime64[M]").astype(np.int64)      # month ordinal
    moy = per % 12
    start = p.seg_start
    gap = np.r_[False, per[1:] - per[:-1] != 1] & ~start
    neg = x < 0
    nb = np.bincount(p.segment, weights=in_base, minlength=k)
    seg_gap = np.bincount(p.segment, weights=gap, minlength=k) > 0
    seg_neg = np.bincount(p.segment, weights=neg, minlength=k) > 0
    short = nb < MIN_SEASONAL_POINTS
    reason[short] = f"fewer than {MIN_SEASONAL_POINTS} baseline months"
    reason[seg_gap] = "months missing between its first and last month"
    reason[seg_neg] = "negative values (a count model needs values ≥ 0)"
    bad = short | seg_gap | seg_neg
    if bad.any() and mode == "month_of_year":
        sg = int(np.flatnonzero(bad)[0])
        if seg_neg[sg]:
            i = int(np.flatnonzero(neg & (p.segment == sg))[0])
            raise error(WHERE, "seasonality='month_of_year' needs values ≥ 0 (counts or rates).", got=x[i],
                        row=_where_txt(p, i, date), hint="Chart a count or rate, or use seasonality='none'.")
        if seg_gap[sg]:
            i = int(np.flatnonzero(gap & (p.segment == sg))[0])
            raise error(WHERE, "seasonality='month_of_year' needs consecutive months: a month is missing before this one.",
                        row=_where_txt(p, i, date), hint="Load the missing months, or chart a run of consecutive months.")
        raise error(WHERE, f"seasonality='month_of_year' needs at least {MIN_SEASONAL_POINTS} baseline months per "
                    "series (two full years).", got=f"{int(nb[sg])} month(s)", row=_where_txt(p, int(seg_first[sg]), date),
                    hint="Give the series more history, or use seasonality='auto' (falls back to plain XmR).")
    test = ~bad
    if test.any():
        sel = test[p.segment] & in_base
        code = np.cumsum(test) - 1                      # tested segments → 0..m-1
        unit = code[p.segment[sel]]
        m_units = int(test.sum())
        mid = (np.bincount(unit, weights=per[sel], minlength=m_units) / np.bincount(unit, minlength=m_units))
        res = seasonal_test(x[sel].astype(float), moy[sel], (per[sel] - mid[unit]) / 12.0, unit, m_units)
        pval[test] = res["p_value"]
        fitted = res["ok"]
        if mode == "month_of_year":
            dec = fitted
        else:
            dec = fitted & (res["p_value"] < SEASONAL_ALPHA)
        seasonal[test] = dec
        f12 = res["factor12"]
        pts = test[p.segment]
        idx = np.flatnonzero(pts)
        apply = dec[code[p.segment[idx]]]
        idx = idx[apply]
        factor[idx] = f12[code[p.segment[idx]], moy[idx]]
        tested_idx = np.flatnonzero(test)
        reason[tested_idx[~fitted]] = "the seasonal model could not be fitted (e.g. all zeros)"
        if mode == "month_of_year" and (~fitted).any():
            sg = int(tested_idx[~fitted][0])
            raise error(WHERE, "The seasonal model could not be fitted to a series (e.g. every value zero).",
                        row=_where_txt(p, int(seg_first[sg]), date), hint="Use seasonality='none' for that series.")
    # announce: the decision and p-value per series (segment), then a count
    n_seas = int(seasonal.sum())
    test_txt = (f"quasi-Poisson GLM deviance F test of month-of-year terms (annual harmonic, with trend) on the baseline, "
                f"seasonal if p < {SEASONAL_ALPHA}")
    settings["seasonal_test"] = Setting(f"{n_seas} of {k} series seasonal", "data" if mode == "auto" else "user",
                                        test_txt + (f"; {int(bad.sum())} not tested" if bad.any() else ""))
    lines = []
    for sg in range(min(k, MAX_ANNOUNCED_SERIES)):
        who = _where_txt(p, int(seg_first[sg]), date).split(" (sorted")[0].rsplit(", ", 1)[0]
        if bad[sg] or not np.isfinite(pval[sg]):
            lines.append(f"{who}: not tested ({reason[sg]}); plain XmR")
        else:
            lines.append(f"{who}: {'seasonal' if seasonal[sg] else 'not seasonal'} (p = {pval[sg]:.3g})")
    more = f"; … and {k - MAX_ANNOUNCED_SERIES} more (see .variation)" if k > MAX_ANNOUNCED_SERIES else ""
    announce(f"seasonality {mode}: {n_seas} of {k} series charted on deseasonalised values ({test_txt}). "
             + "; ".join(lines) + more + ".", quiet=quiet)
    return {"factor": factor, "seasonal": seasonal, "p_value": pval, "reason": reason}


# --------------------------------------------------------------------------------------------------- charts for counts
def _attribute_step(p, y, den, in_base, chart: str, date: str, quiet: bool, settings: dict):
    """Validate numerators/denominators, choose the chart per series for chart="auto", and compute its limits."""
    k = int(p.segment.max()) + 1
    neg = y < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise error(WHERE, f"A {chart} chart needs counts ≥ 0.", got=y[i], row=_where_txt(p, i, date),
                    hint="Chart counts (numerators), or use chart='xmr' for values that can be negative.")
    if den is not None:
        badn = ~(den > 0)
        if badn.any():
            i = int(np.flatnonzero(badn)[0])
            raise error(WHERE, "Denominators must be greater than 0.", got=den[i], row=_where_txt(p, i, date),
                        hint="Leave out periods with no crimes (a solved rate of 0 of 0 is undefined).")
    wants_p = chart in ("p", "p_prime")
    if den is not None and (wants_p or chart == "auto"):
        over = y > den
        if over.any() and wants_p:
            i = int(np.flatnonzero(over)[0])
            raise error(WHERE, "A proportion's numerator cannot exceed its denominator.",
                        got=f"{y[i]:g} of {den[i]:g}", row=_where_txt(p, i, date),
                        hint="Check the columns (numerator first), or use chart='u' for a rate.")
    if chart != "auto":
        chosen = np.full(k, chart, dtype=object)
        settings["chart"] = Setting(chart, "user", "given by the caller")
    else:
        if den is None:
            integer = np.all(np.equal(np.mod(y, 1), 0))
            if not integer:
                chosen = np.full(k, "xmr", dtype=object)
                why = "values are not whole counts and no denominator was given"
            else:
                disp, pv = dispersion_test("c", y, None, p.segment, in_base)
                chosen = np.where(pv < DISPERSION_ALPHA, "xmr", "c").astype(object)
                why = (f"counts with no denominator: c chart, or XmR where over-dispersed (Pearson χ² p < "
                       f"{DISPERSION_ALPHA}; Laney's correction needs denominators)")
        else:
            base = "u" if (y > den).any() else "p"
            disp, pv = dispersion_test(base, y, den, p.segment, in_base)
            chosen = np.where(pv < DISPERSION_ALPHA, f"{base}_prime", base).astype(object)
            why = (("a numerator exceeds its denominator, so rates: u chart" if base == "u" else
                    "numerators never exceed denominators, so proportions: p chart")
                   + f"; Laney {base}′ where over-dispersed (Pearson χ² p < {DISPERSION_ALPHA})")
        counts = pd.Series(chosen).value_counts()
        txt = ", ".join(f"{c} for {int(v)} series" for c, v in counts.items())
        settings["chart"] = Setting(txt, "data", why)
        announce(f"chart set to {txt} ({why}).", quiet=quiet)
    return chosen


def _attribute_limits(p, y, den, in_base, chosen, screen: bool = True):
    """Limits per point for a chart chosen per segment (XmR where ``chosen`` is "xmr")."""
    n = len(y)
    out = {key: np.full(n, np.nan) for key in ("value", "mean", "mr", "amr", "lpl", "upl", "lower_2sigma",
                                               "upper_2sigma", "sigma_z")}
    chart_pt = chosen[p.segment]
    for c in pd.unique(chosen):
        m = chart_pt == c
        if c == "xmr":
            lim = xmr_limits(y, p.segment, in_base, screen=screen)
            lim = dict(lim, value=y, sigma_z=np.full(n, np.nan))
        else:
            lim = attribute_limits(c, y, den, p.segment, in_base)
        for key in out:
            if key in lim:
                out[key][m] = lim[key][m]
    v = out["value"]
    mr = np.full(n, np.nan)
    mr[1:] = np.abs(v[1:] - v[:-1])
    mr[p.seg_start] = np.nan
    out["mr"] = mr
    return out, chart_pt

# --------------------------------------------------------------------------------------------------- verb
def spc(df: pd.DataFrame, value: str, date: str, *, improvement: str | None = None, target=None, rebase=None,
        by=None, baseline: int | None = None, screen_outliers: bool | None = None, seasonality: str | None = None,
        chart: str | None = None, denominator: str | None = None, quiet: bool = False) -> SPCResult:
    """XmR chart with the four Making Data Count special-cause rules, for one series or many (``by=``); optionally
    deseasonalised, or a c, u, p, u′ or p′ chart for counts and proportions.

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
    seasonality : {"none", "auto", "month_of_year"}, optional
        ``None`` (not given) means "none": plain XmR, identical to NHSRplotthedots. "month_of_year" charts every series
        on its deseasonalised values (observed ÷ the month's seasonal factor from a quasi-Poisson GLM with an
        annual harmonic and a trend, fitted to the baseline; :mod:`whatworks.performance.seasonal`); it needs
        ≥ 24 baseline months, consecutive months and values ≥ 0, else an error naming the series and row. "auto"
        tests each series (deviance F test, seasonal if p < 0.01) and deseasonalises only those found seasonal; a
        series that cannot be tested falls back to plain XmR (announced). The rules and limits are computed on the
        deseasonalised values; ``.table`` gains ``seasonal``, ``seasonal_p_value``, ``seasonal_factor``,
        ``deseasonalised``, ``expected`` and the band on the original scale ``band_low``/``band_high``
        (factor × ``lpl``/``upl``). XmR charts only.
    chart : {"xmr", "c", "u", "p", "u_prime", "p_prime", "auto"}, optional
        ``None`` means "xmr". c: ``value`` is a count per period; u/p/u′/p′: ``value`` is the numerator and
        ``denominator`` the subgroup size, and the rate ``value/denominator`` is charted with the qicharts2 limits
        (:mod:`whatworks.performance.attribute`). "auto" chooses per series, announced: with a denominator, p if no
        numerator exceeds its denominator (else u), and Laney's p′/u′ where a Pearson χ² test finds over-dispersion
        (p < 0.01); without one, c for whole counts that are not over-dispersed, else XmR.
    denominator : str, optional
        Column of denominators (crimes recorded for a solved rate, population, …) for u/p charts; every value > 0,
        and for p charts ≥ the numerator.
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

    if seasonality is not None:
        check_choice(WHERE, "seasonality", seasonality, SEASONALITIES)
    if chart is not None:
        check_choice(WHERE, "chart", chart, CHARTS)
    if denominator is not None and not isinstance(denominator, str):
        raise error(WHERE, "The 'denominator' parameter must be a column name.", got=denominator)
    if chart in ("u", "p", "u_prime", "p_prime") and denominator is None:
        raise error(WHERE, f"A {chart} chart needs a denominator column.", hint="Pass denominator='crimes' (e.g.).")
    if seasonality not in (None, "none") and chart not in (None, "xmr", "auto"):
        raise error(WHERE, f"Seasonality is applied to XmR charts only, not to a {chart} chart.",
                    got=f"seasonality={seasonality!r}, chart={chart!r}", hint="Use chart='xmr' with seasonality.")

    p = prepare(WHERE, df, value, date, by, rebase)
    if denominator is not None and denominator not in p.frame.columns:
        raise error(WHERE, f"Denominator column '{denominator}' not found in 'df'.", expected=f"one of {list(df.columns)}")
    if isinstance(target, str) and target not in p.frame.columns:
        raise error(WHERE, f"Target column '{target}' not found in 'df'.", hint="Pass a number or an existing column name.")

    settings: dict[str, Setting] = {}
    # None = not given: an explicit improvement="neutral" or screen_outliers=True is still recorded as the user's
    improvement = given_or_default(settings, "improvement", improvement, DEFAULT_IMPROVEMENT,
                                   reason="which direction is better", default_reason="no direction given")
    screen_outliers = given_or_default(settings, "screen_outliers", screen_outliers, DEFAULT_SCREEN_OUTLIERS,
                                       reason="screen moving ranges ≥ 3.267 × mean before computing the limits")
    seasonality = given_or_default(settings, "seasonality", seasonality, DEFAULT_SEASONALITY,
                                   reason="month-of-year adjustment before the rules",
                                   default_reason="no seasonality given: plain XmR")
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

    # (deseasonalise | attribute chart) → limits → point rules → point types
    chart_pt = None
    season = None
    raw = p.value
    if chart not in (None, "xmr"):
        den = require_numeric(WHERE, p.frame, denominator) if denominator is not None else None
        chosen = _attribute_step(p, raw, den, in_base, chart, date, quiet, settings)
        if (chosen == "xmr").all() and seasonality == "none":
            lim = xmr_limits(raw, p.segment, in_base, screen=screen_outliers)
            chart_pt = np.full(n, "xmr", dtype=object)
        else:
            if seasonality != "none" and (chosen != "xmr").any():
                announce("seasonality: not applied to c/u/p charts (XmR charts only).", quiet=quiet)
                seasonality = "none"
            lim, chart_pt = _attribute_limits(p, raw, den, in_base, chosen, screen_outliers)
        x = lim["value"] if "value" in lim else raw
    else:
        settings["chart"] = Setting("xmr", "user" if chart is not None else "default", "XmR (individuals) chart")
        x = raw
        if seasonality != "none":
            season = _seasonal_step(p, raw, in_base, seasonality, date, quiet, settings)
            x = np.where(season["factor"] != 1.0, raw / season["factor"], raw)
        lim = xmr_limits(x, p.segment, in_base, screen=screen_outliers)
    outside = rule_outside_limits(x, lim["lpl"], lim["upl"])
    close = close_to_limits(x, lim["lpl"], lim["upl"], lim["lower_2sigma"], lim["upper_2sigma"])
    side = side_of_mean(x, lim["mean"])
    trend, trend_dir = rule_trend(x, p.segment)
    two3 = rule_two_in_three(close, side, p.segment)
    shift = rule_shift(side, p.segment)
    point_type, direction = classify_points(outside, trend, trend_dir, two3, shift, side, improvement)

    table = p.frame[p.by].copy() if p.by else pd.DataFrame(index=range(n))
    table["date"] = p.frame[date].to_numpy()
    table["value"] = x if season is None else raw
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
    if chart_pt is not None:
        table["chart"] = chart_pt
        table["numerator"] = raw
        if denominator is not None:
            table["denominator"] = p.frame[denominator].to_numpy(dtype=float)
        table["sigma_z"] = lim["sigma_z"]
    if season is not None:
        f = season["factor"]
        table["seasonal"] = season["seasonal"][p.segment]
        table["seasonal_p_value"] = season["p_value"][p.segment]
        table["seasonal_factor"] = f
        table["deseasonalised"] = x
        table["expected"] = f * lim["mean"]
        table["band_low"] = f * lim["lpl"]
        table["band_high"] = f * lim["upl"]

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
    if chart_pt is not None:
        var["chart"] = chart_pt[last]
    if season is not None:
        for c in ("seasonal", "seasonal_p_value", "expected", "band_low", "band_high"):
            var[c] = table[c].to_numpy()[last]

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
                     improvement=improvement, date_name=date)
