"""Repeat victimisation of people and places: how many come back, how soon, and who to flag.

A small share of victims (and places) suffer a large share of crime, and a repeat is most likely soon after the
first incident (Farrell & Pease 1993; Pease 1998). :func:`repeats` measures both on any event table with a unit
column (a victim id, or a location such as police.uk's snapped "On or near …" point) and a date, and flags units
by transparent, configurable rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, refuse_renamed, require_columns, require_dataframe
from whatworks._words import truthy as _truthy
from whatworks.errors import error
from whatworks.people._common import (DEFAULT_CONF_LEVEL, DEFAULT_TOP, bootstrap_top_share, check_interval_options,
                                      ci_words,
                                      check_key, check_top,
                                      ids_as_text, month_level, parse_dates, pseudonymise_frame, ratio_ci,
                                      resolve_bootstrap, top_share, wilson)

__all__ = ["repeats", "RepeatsResult", "FlagRule"]

DEFAULT_WINDOW_DAYS = 365      # "3 or more in 12 months" is the common repeat-victim definition in force policies
DEFAULT_MIN_EVENTS = 3
DAY_BINS = (0, 1, 7, 14, 30, 60, 90, 180, 365)   # days since the previous event (edges; the last bin is open)
DAYS_PER_MONTH = 365.25 / 12
_RENAMED = {"who": "id", "when": "date", "level": "conf_level"}   # issue 17, "one vocabulary" (CHANGELOG.md)


@dataclass(frozen=True)
class FlagRule:
    """Flag a unit with at least ``min_events`` events within any ``within_days`` days (inclusive).

    ``marker``, when given, names a column of the events table holding a vulnerability marker (True / "Y" / 1):
    the rule then applies only to units with the marker set on at least one of their events.
    """

    min_events: int = DEFAULT_MIN_EVENTS
    within_days: float = DEFAULT_WINDOW_DAYS
    marker: str | None = None

    @property
    def label(self) -> str:
        who = f" and marked '{self.marker}'" if self.marker else ""
        return f">= {self.min_events} in {self.within_days:g} days{who}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FlagRule":
        return cls(**dict(d))


@dataclass(frozen=True, repr=False, kw_only=True)
class RepeatsResult(Result):
    """Repeat victimisation of people or places.

    ``table``: one row per unit (busiest first): the unit id (pseudonymised when a key was given), ``events``,
    ``first``, ``last``, ``repeats_within_window``, ``max_in_window``, ``flagged``, ``flag_reasons``.

    Fields: ``unit`` ("victim" or "location"), ``n_units``, ``n_events``, ``repeat_rate`` (share of units with two
    or more events) and ``repeat_rate_ci`` (Wilson), ``repeat_share`` (share of events suffered by those units) and
    ``repeat_share_ci`` (ratio-estimator delta method), ``repeat_within_window`` (share of events that followed an
    earlier event at the same unit within ``window_days``), ``top_shares`` (share of events at the top x% of units,
    with a bootstrap CI), ``time_to_repeat`` (events by time since the unit's previous event), ``flags`` (units
    flagged per rule), ``resolution`` ("day" or "month").
    """

    unit: str = "victim"
    n_units: int = 0
    n_events: int = 0
    repeat_rate: float = float("nan")
    repeat_rate_ci: tuple[float, float] = (float("nan"), float("nan"))
    repeat_share: float = float("nan")
    repeat_share_ci: tuple[float, float] = (float("nan"), float("nan"))
    repeat_within_window: float = float("nan")
    window_days: float = DEFAULT_WINDOW_DAYS
    top_shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    time_to_repeat: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    resolution: str = "day"

    def _headline(self) -> str:
        return (f"{self.repeat_rate:.1%} of {self.n_units:,} {self.unit}s are repeats and suffer "
                f"{self.repeat_share:.1%} of {self.n_events:,} events")

    def summary(self) -> str:
        u = self.unit
        lo, hi = self.repeat_rate_ci
        slo, shi = self.repeat_share_ci
        ci = ci_words(self.settings)
        lines = [f"{self.n_events:,} events at {self.n_units:,} {u}s: {self.repeat_rate:.1%} of {u}s ({ci} {lo:.1%} to "
                 f"{hi:.1%}) had two or more, and they account for {self.repeat_share:.1%} of events "
                 f"({ci} {slo:.1%} to {shi:.1%})."]
        if len(self.top_shares):
            t = self.top_shares.iloc[min(2, len(self.top_shares) - 1)]
            lines.append(f"The top {t['top']:.0%} of {u}s account for {t['share_of_events']:.1%} of events "
                         f"({ci} {t['ci_low']:.1%} to {t['ci_high']:.1%}).")
        ttr = self.time_to_repeat
        if len(ttr) and ttr["repeats"].sum() > 0:
            first = ttr.iloc[0]
            unit_txt = "month" if self.resolution == "month" else "days"
            lines.append(f"{self.repeat_within_window:.1%} of events came within {self.window_days:g} days of an earlier "
                         f"one at the same {u}. Risk is highest soon after: {first['share_of_repeats']:.1%} of repeats came "
                         f"in the first bin ({first['interval']} {unit_txt}), the highest rate per day of any bin "
                         f"being in '{ttr.loc[ttr['rate_per_day'].idxmax(), 'interval']}'.")
        if self.resolution == "month":
            lines.append("Dates are month-level (police.uk), so time to repeat is measured in whole months and a repeat in "
                         "the same month shows as 0.")
        for r in self.flags.itertuples(index=False):
            lines.append(f"Flagged by rule '{r.rule}': {r.units:,} {u}s.")
        lines.append(f"CIs treat the {u}s as a sample from an ongoing process; {u}s never victimised are not in the data, "
                     "so the repeat rate is among victims, not among the population at risk.")
        return " ".join(lines)

    def _draw(self, ax) -> None:
        t = self.time_to_repeat
        if not len(t):
            ax.text(0.5, 0.5, "no repeats", ha="center", transform=ax.transAxes)
            return
        ax.bar(np.arange(len(t)), t["rate_per_day"], color=PALETTE["vermillion"])
        ax.set_xticks(np.arange(len(t)), t["interval"], rotation=45, ha="right", fontsize=8)
        ax.set_xlabel("time since the previous event at the same " + self.unit
                      + (" (months)" if self.resolution == "month" else " (days)"))
        ax.set_ylabel("repeats per day of the interval")
        ax.set_title(f"Repeat {self.unit}s: risk is highest soon after ({self.repeat_rate:.0%} are repeats)", loc="left")


# ---------------------------------------------------------------------------------------------- pure steps


def window_counts(unit_codes: np.ndarray, days: np.ndarray, window_days: float) -> np.ndarray:
    """For events sorted by (unit, time): events at the same unit in the ``window_days`` ending at each event,
    this one included (a rolling count; the window is inclusive at both ends)."""
    if unit_codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(days.max() - days.min()) + window_days + 1.0
    key = unit_codes.astype(float) * span + (days - days.min())
    start = np.searchsorted(key, key - window_days, side="left")
    return np.arange(key.size) - start + 1


def _gap_bins(gaps_days: np.ndarray, resolution: str, window_days: float) -> pd.DataFrame:
    if resolution == "month":
        months = np.rint(gaps_days / DAYS_PER_MONTH).astype(int)
        top = int(max(1, np.ceil(window_days / DAYS_PER_MONTH)))
        edges = list(range(0, top + 1))
        labels = [str(m) for m in edges[:-1]] + [f"{top}+"]
        idx = np.minimum(months, top)
        counts = np.bincount(idx, minlength=top + 1)
        widths = np.array([DAYS_PER_MONTH] * top + [np.nan])
    else:
        edges = [e for e in DAY_BINS if e < window_days] + [window_days]
        labels = [f"[{a:g}, {b:g})" for a, b in zip(edges[:-1], edges[1:])] + [f"{window_days:g}+"]
        idx = np.searchsorted(np.asarray(edges, float), gaps_days, side="right") - 1
        counts = np.bincount(np.clip(idx, 0, len(edges) - 1), minlength=len(edges))
        widths = np.append(np.diff(edges).astype(float), np.nan)
    total = counts.sum()
    out = pd.DataFrame({"interval": labels, "repeats": counts,
                        "share_of_repeats": counts / total if total else np.zeros(len(counts))})
    out["cumulative_share"] = out["share_of_repeats"].cumsum()
    out["rate_per_day"] = out["repeats"] / widths
    return out


# ---------------------------------------------------------------------------------------------- public


def repeats(df: pd.DataFrame, id: str | None = None, where: str | None = None, date: str = "occurred", *,
            window_days: float | None = None, rules: Sequence[FlagRule | Mapping[str, Any]] | None = None,
            markers: Sequence[str] | None = None, top: Sequence[float] = DEFAULT_TOP, conf_level: float | None = None,
            n_boot: int | None = None, seed: int | None = None, key: str | bytes | None = None,
            quiet: bool = False, **renamed) -> RepeatsResult:
    """Repeat victimisation: repeat rate, concentration, time to repeat and flags, for victims or places.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per event (crime) with a unit column and a date column. Rows with no unit must be removed first.
    id : str, optional
        Column identifying the victim (e.g. ``"victim_id"``). Give exactly one of ``id`` and ``where``.
    where : str, optional
        Column identifying the place (e.g. police.uk ``"location"``, or a snapped point id).
    date : str, default "occurred"
        Date or date-time column. Month-only dates (every value the 1st of a month, as police.uk publishes) are
        detected and announced; time to repeat is then counted in whole months.
    window_days : float, optional
        A *repeat within the window* is an event that follows an earlier event at the same unit within this many days;
        it is also the default window of the flag rule. ``None`` (not given) means 365.
    rules : list of FlagRule or dict, optional
        Flag rules. Default: ``[FlagRule(min_events=3, within_days=window_days)]`` ("3 or more in 12 months"),
        plus, for each column in ``markers``, ``FlagRule(2, window_days, marker=column)``.
    markers : list of str, optional
        Vulnerability marker columns (True/"Y"/1 means vulnerable) that add a lower flag threshold.
    top : list of float, default (0.01, 0.05, 0.10, 0.20)
        Shares of units for the "top x% suffer y% of events" table.
    conf_level : float, optional
        Confidence level of every interval. ``None`` (not given) means 0.95.
    n_boot : int, optional
        Bootstrap replicates for the top-x% shares (units resampled with replacement; percentile interval). ``None``
        (not given) means 1000.
    seed : int, optional
        Seed of the bootstrap. ``None`` (not given) means 0. ``window_days``, ``conf_level`` and ``n_boot``/``seed``
        (together, as "bootstrap") are recorded in ``.settings`` with source "user" when you pass them — even the
        default value — and "default" when you leave them out.
    key : str or bytes, optional
        Pseudonymise the unit column of ``.table`` with this key (HMAC-SHA256, :func:`whatworks.privacy.pseudonymise`).
    quiet : bool, default False
        Silence announcements.
    **renamed
        The names before issue 17 (``who``, ``when``, ``level``) are refused with an error naming the new one.

    Returns
    -------
    RepeatsResult

    Notes
    -----
    repeat rate = #units with ≥ 2 events / #units, with a Wilson interval; repeat share = Σ n_i·1[n_i ≥ 2] / Σ n_i,
    a ratio estimator with its linearisation variance Σ(y_i − R n_i)² / (k(k−1) n̄²) over the k units. Both count
    the whole period of the data; ``window_days`` governs only the within-window measures and the flags. The top
    x% share is the share of events at the ⌈x·k⌉ busiest units.

    References
    ----------
    Farrell, G. & Pease, K. (1993). *Once bitten, twice bitten: repeat victimisation and its implications for crime
    prevention*. Home Office Police Research Group, Crime Prevention Unit Paper 46.
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., §6.3 (variance of the ratio estimator).

    Examples
    --------
    >>> import pandas as pd, whatworks as ww
    >>> crimes = pd.DataFrame({"victim_id": ["a", "a", "a", "b"],
    ...                        "occurred": ["2024-01-01", "2024-01-03", "2024-02-01", "2024-03-01"]})
    >>> r = ww.people.repeats(crimes, id="victim_id", n_boot=10, quiet=True)
    >>> round(r.repeat_rate, 2), round(r.repeat_share, 2)
    (0.5, 0.75)
    """
    fn = "repeats"
    refuse_renamed(fn, renamed, _RENAMED)
    require_dataframe(fn, "df", df)
    if (id is None) == (where is None):
        raise error(fn, "Give exactly one of 'id' (a victim id column) and 'where' (a location column).",
                    got={"id": id, "where": where}, hint='e.g. repeats(crimes, id="victim_id") or repeats(crimes, where="location")')
    unit_col = id if id is not None else where
    markers = list(markers or [])
    require_columns(fn, df, [unit_col, date, *markers], arg="df")
    if window_days is not None:
        check_number(fn, "window_days", window_days, low=0, low_inclusive=False)
    check_interval_options(fn, conf_level, n_boot, seed)
    # None = not given: an explicit value equal to the default (365 days, conf_level 0.95, n_boot=1000, seed=0) is
    # still recorded as the user's
    opts: dict[str, Setting] = {}
    window_days = given_or_default(opts, "window_days", window_days, DEFAULT_WINDOW_DAYS, reason="the repeat window",
                                   unit="days")
    conf_level = given_or_default(opts, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of every interval")
    n_boot, seed = resolve_bootstrap(opts, n_boot, seed)
    top = check_top(fn, top)
    check_key(fn, key)
    if rules is None:
        rule_list = [FlagRule(DEFAULT_MIN_EVENTS, window_days)] + [FlagRule(2, window_days, m) for m in markers]
        rules_source = Setting([r.label for r in rule_list], "default",
                               "3 or more in the window; 2 or more for units with a vulnerability marker")
    else:
        rule_list = []
        for r in rules:
            rr = r if isinstance(r, FlagRule) else FlagRule.from_dict(r) if isinstance(r, Mapping) else None
            if rr is None:
                raise error(fn, "Each rule must be a FlagRule or a dict like {'min_events': 3, 'within_days': 365}.", got=r)
            check_number(fn, "rules.min_events", rr.min_events, low=1, integer=True)
            check_number(fn, "rules.within_days", rr.within_days, low=0, low_inclusive=False)
            if rr.marker is not None:
                require_columns(fn, df, [rr.marker], arg="df")
            rule_list.append(rr)
        rules_source = Setting([r.label for r in rule_list], "user", "given by the caller")
    if len(df) == 0:
        raise error(fn, "The events table is empty.", hint="Check the filter that produced it.")

    ids = ids_as_text(fn, df, unit_col)
    dates = parse_dates(fn, df, date)
    resolution = "month" if month_level(dates) else "day"
    settings: dict[str, Setting] = {
        "unit_column": Setting(unit_col, "user"), "date": Setting(date, "user"),
        "window_days": opts["window_days"], "rules": rules_source, "conf_level": opts["conf_level"],
        "resolution": Setting(resolution, "data", "every date is the 1st of a month" if resolution == "month"
                              else "dates carry the day"),
        "bootstrap": opts["bootstrap"],
        "pseudonymised": Setting(key is not None, "user", "HMAC-SHA256 with the caller's key (not stored)"
                                 if key is not None else "no key given: raw ids in .table"),
    }
    if resolution == "month":
        announce("dates are month-level (every date is the 1st of a month): time to repeat is counted in whole months.",
                 quiet=quiet)

    codes, uniq = pd.factorize(ids, sort=True)
    days = ((dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float)
    order = np.lexsort((days, codes))
    c, d = codes[order], days[order]
    same_prev = np.r_[False, c[1:] == c[:-1]]
    gaps = np.where(same_prev, d - np.r_[d[0], d[:-1]], np.nan)
    k = uniq.size
    n_i = np.bincount(c, minlength=k)

    # rolling counts per rule window (and the main window)
    win_main = window_counts(c, d, float(window_days))
    max_main = np.zeros(k, dtype=np.int64)
    np.maximum.at(max_main, c, win_main)
    flagged = np.zeros(k, dtype=bool)
    reasons = [[] for _ in range(k)]
    flag_rows = []
    for rule in rule_list:
        w = win_main if rule.within_days == window_days else window_counts(c, d, float(rule.within_days))
        mx = np.zeros(k, dtype=np.int64)
        np.maximum.at(mx, c, w)
        hit = mx >= rule.min_events
        if rule.marker is not None:
            mk = np.zeros(k, dtype=bool)
            np.logical_or.at(mk, c, _truthy(df[rule.marker].iloc[order]))
            hit &= mk
        flagged |= hit
        for i in np.flatnonzero(hit):
            reasons[i].append(rule.label)
        flag_rows.append({"rule": rule.label, "units": int(hit.sum())})

    is_rep = n_i >= 2
    rate = float(is_rep.mean())
    rate_ci = wilson(int(is_rep.sum()), k, conf_level)
    share, s_lo, s_hi = ratio_ci(n_i * is_rep, n_i, conf_level)
    within = same_prev & (gaps <= window_days)
    rep_within = float(within.sum() / c.size)

    top_rows = []
    for j, x in enumerate(top):
        lo, hi = bootstrap_top_share(n_i, x, n_boot=int(n_boot), seed=int(seed) + j, conf_level=conf_level)
        top_rows.append({"top": x, "units": int(max(1, np.ceil(x * k - 1e-9))), "share_of_events": top_share(n_i, x),
                         "ci_low": lo, "ci_high": hi})
    ttr = _gap_bins(gaps[same_prev], resolution, float(window_days))

    # first/last from the dates' own nanoseconds: float days round-tripped to 15:39:59.999999967 for 15:40
    ns = dates.to_numpy("datetime64[ns]").astype("int64")
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ns)
    np.maximum.at(last, codes, ns)
    reps_in = np.bincount(c, weights=within.astype(float), minlength=k).astype(int)
    table = pd.DataFrame({
        unit_col: np.asarray(uniq, dtype=object),
        "events": n_i,
        "first": pd.to_datetime(first, unit="ns"),
        "last": pd.to_datetime(last, unit="ns"),
        "repeats_within_window": reps_in,
        "max_in_window": max_main,
        "flagged": flagged,
        "flag_reasons": ["; ".join(r) for r in reasons],
    }).sort_values(["events", unit_col], ascending=[False, True], kind="stable").reset_index(drop=True)
    table = pseudonymise_frame(table, [unit_col], key)

    return RepeatsResult(
        table=table, settings=settings, unit="victim" if id is not None else "location", n_units=int(k),
        n_events=int(c.size), repeat_rate=rate, repeat_rate_ci=rate_ci, repeat_share=share,
        repeat_share_ci=(float(np.clip(s_lo, 0.0, 1.0)), float(np.clip(s_hi, 0.0, 1.0))), repeat_within_window=rep_within, window_days=float(window_days),
        top_shares=pd.DataFrame(top_rows), time_to_repeat=ttr, flags=pd.DataFrame(flag_rows, columns=["rule", "units"]),
        resolution=resolution)
