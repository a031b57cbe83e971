"""Before/after a major event on interview dates, design-based (issue 15, item 6).

The seed's natural experiments — the 2010 student demonstrations, the August 2011 disorder, the 2012 Olympics —
compare people interviewed in the ``window_days`` before an event (``event − window ≤ date < event``) with those
interviewed in the ``window_days`` from it (``event ≤ date < event + window``). Survey interviews are spread over the
year by design, so the two groups are two domains of the same design: each gets a weighted estimate with a
linearised SE, and the difference's SE uses their design covariance (``√(V_a + V_b − 2C_ab)``).

The comparison is only fair if the *people* asked before and after are alike: ``covariates`` are checked with
:func:`whatworks.impact.event_window` (standardised mean differences, < 0.1 good), which also gives the unweighted
comparison and, with ``rd=True``, a regression discontinuity in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._dates import read_dates
from whatworks._result import Result
from whatworks._validate import check_number, require_columns
from whatworks.errors import error
from whatworks.survey.estimate import _compute, _y

WHERE = "event_effect"
SMD_GOOD = 0.1


@dataclass(frozen=True, repr=False)
class EventEffectResult(Result):
    """``.table``: ``before``/``after`` rows (``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``), weighted;
    ``.difference``: after − before (``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``);
    ``.balance``: SMD per covariate; ``.unweighted``: the :func:`whatworks.impact.event_window` result."""

    outcome: str = ""
    kind: str = "proportion"
    difference: dict = field(default_factory=dict)
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    unweighted: object = None

    def summary(self) -> str:
        t = self.table.set_index("group")
        d = self.difference
        lvl = self.settings["conf_level"].value
        f = (lambda v: f"{v:.1%}") if self.kind == "proportion" else (lambda v: f"{v:,.3g}")  # noqa: E731
        pts = 100 if self.kind == "proportion" else 1
        unit = " points" if self.kind == "proportion" else ""
        txt = (f"{self.outcome}: {f(t.loc['before', 'estimate'])} before the event, {f(t.loc['after', 'estimate'])} after "
               f"(weighted); change {d['estimate'] * pts:+.1f}{unit} ({lvl:.0%} CI {d['ci_low'] * pts:+.1f} to {d['ci_high'] * pts:+.1f}).")
        if len(self.balance):
            worst = self.balance.loc[self.balance["smd"].abs().idxmax()]
            txt += (f" Caution: those asked after differ on {worst['covariate']} (SMD {worst['smd']:+.2f})."
                    if abs(worst["smd"]) >= SMD_GOOD else " Those asked before and after look alike (all SMDs below 0.1).")
        return txt

    def _headline(self) -> str:
        return f"change {self.difference['estimate']:+.4g}"

    def _draw(self, ax) -> None:
        from whatworks.impact.events import draw_before_after

        draw_before_after(ax, self.table, ylabel=f"{self.outcome} (weighted)", title="Interviews before and after the event")


def event_effect(design, date: str, event_date, window_days: int, outcome: str, *,
                 covariates: Sequence[str] | None = None, level=None, conf_level: float | None = None,
                 quiet: bool = False) -> EventEffectResult:
    """Weighted before/after comparison of ``outcome`` around ``event_date``, with a balance check.

    Parameters
    ----------
    design : Design
    date : str
        Interview date column.
    event_date : date-like
    window_days : int
        Days on each side (the event day counts as after).
    outcome : str
        0/1 (a proportion; or categorical with ``level=``) or numeric (a mean).
    covariates : list of str, optional
        Who-was-asked characteristics checked for balance (e.g. ``["sex", "age_band", "ethnic_group"]``).
    conf_level : float, default 0.95
    """
    settings: dict[str, Setting] = {"window_days": Setting(int(window_days), "user", "days on each side of the event", "days")}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(WHERE, "window_days", window_days, low=1, integer=True)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    df = design.data
    require_columns(WHERE, df, [date, outcome, *covariates], arg="design data")
    when = read_dates(WHERE, df, date)   # the house rule: day first, tz-aware to UTC, unreadable an error
    ev = pd.Timestamp(event_date)
    days = ((when - ev).dt.total_seconds() / 86400).to_numpy()
    after = (days >= 0) & (days < window_days)
    before = (days < 0) & (days >= -window_days)
    if after.sum() < 2 or before.sum() < 2:
        raise error(WHERE, "Need at least two interviews on each side of the event inside the window.",
                    got=f"{int(before.sum())} before, {int(after.sum())} after", hint="Widen window_days or check the event date.")
    binary = pd.api.types.is_bool_dtype(df[outcome]) or level is not None or set(pd.unique(df[outcome].dropna())) <= {0, 1}
    kind = "proportion" if binary else "mean"
    settings["kind"] = Setting(kind, "data", "0/1 outcome: a proportion" if binary else "numeric outcome: a mean")
    announce(f"event comparison set to a {kind} of {outcome} ({settings['kind'].reason}).", quiet=quiet)
    y, label = _y(design, WHERE, outcome, kind, level)
    codes = np.where(before, 0, np.where(after, 1, 2))
    sub = design.subset(before | after)
    est, se, lo, hi, _, nobs, _, V = _compute(sub, y, kind, np.where(codes == 2, 0, codes), 2, conf_level)
    table = pd.DataFrame({"group": ["before", "after"], "n": nobs.astype(int), "estimate": est, "se": se,
                          "ci_low": lo, "ci_high": hi})
    diff = est[1] - est[0]
    se_d = float(np.sqrt(max(V[0, 0] + V[1, 1] - 2 * V[0, 1], 0.0)))
    z = stats.norm.ppf(0.5 + conf_level / 2)
    difference = {"estimate": float(diff), "se": se_d, "ci_low": float(diff - z * se_d), "ci_high": float(diff + z * se_d),
                  "p_value": float(2 * stats.norm.sf(abs(diff / se_d))) if se_d > 0 else float("nan")}
    unweighted = None
    balance = pd.DataFrame(columns=["covariate", "mean_before", "mean_after", "smd"])
    try:
        from whatworks.impact import event_window
    except ImportError:  # impact is another capability; without it the balance check is ours (same SMD definition)
        event_window = None
    frame = df.assign(_y=y)
    if event_window is not None:
        unweighted = event_window(frame, date, ev, int(window_days), "_y", covariates, conf_level=conf_level, quiet=quiet)
        balance = unweighted.balance
        settings["balance"] = Setting("whatworks.impact.event_window", "default", "SMD, pooled SD, unweighted: who was asked")
    elif covariates:
        raise error(WHERE, "The balance check needs whatworks.impact.event_window, which is not importable.",
                    hint="Install whatworks with the impact capability, or call without covariates.")
    return EventEffectResult(table=table, settings=settings, outcome=label, kind=kind, difference=difference,
                             balance=balance, unweighted=unweighted)


__all__ = ["event_effect", "EventEffectResult"]
