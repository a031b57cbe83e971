"""Natural experiments: before/after an event (issue 14, item 6) — the seed's survey interviews before and after the
2010 student demonstrations, the 2011 disorder and the 2012 Olympics.

``event_window(df, date, event_date, window_days, outcome)`` compares records dated in the ``window_days`` before the
event (``event − window ≤ date < event``) with those in the ``window_days`` from it (``event ≤ date < event + window``:
the event day counts as after). A 0/1 outcome is compared as proportions, anything else as means, each with a
normal-theory CI, and their difference with a Welch (unequal-variance) SE. ``covariates`` are checked for balance:
the people interviewed before and after should look alike (standardised mean differences, pooled SD; categories
one row per level), or the comparison mixes the event with a change in who was asked.

``rd=True`` adds a regression discontinuity in time: a local linear fit on each side of the event with a triangular
kernel, ``y = a + τ·after + b·days + c·days·after`` within ``bandwidth`` days (default: the window, announced);
τ is the jump at the event, with an HC1 robust SE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._dates import read_dates
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.impact._design import DesignRecord

WHERE = "event_window"
SMD_GOOD = 0.1


def _smd_rows(df: pd.DataFrame, after: np.ndarray, covariates: Sequence[str]) -> pd.DataFrame:
    rows = []
    for c in covariates:
        s = df[c]
        if s.isna().any():
            first = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise error(WHERE, f"Covariate '{c}' has missing values.", row=f"position {first}",
                        hint="Add an explicit 'missing' category or remove those records first.")
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols = {c: s.astype(float).to_numpy()}
        else:
            cols = {f"{c}={lev}": (s.astype(str) == lev).to_numpy(float) for lev in sorted(pd.unique(s.astype(str)))}
        for name, x in cols.items():
            m1, m0 = x[after].mean(), x[~after].mean()
            sd = math.sqrt((x[after].var(ddof=1) + x[~after].var(ddof=1)) / 2)
            rows.append({"covariate": name, "mean_before": m0, "mean_after": m1,
                         "smd": (m1 - m0) / sd if sd > 0 else 0.0})
    return pd.DataFrame(rows, columns=["covariate", "mean_before", "mean_after", "smd"])


def _local_linear(y, r, after, h):
    w = np.clip(1 - np.abs(r) / h, 0, None)
    keep = w > 0
    X = np.column_stack([np.ones(keep.sum()), after[keep], r[keep], r[keep] * after[keep]])
    sw = np.sqrt(w[keep])
    Xw, yw = X * sw[:, None], y[keep] * sw
    bread = np.linalg.pinv(Xw.T @ Xw)
    beta = bread @ Xw.T @ yw
    e = yw - Xw @ beta
    n, k = X.shape
    V = n / (n - k) * bread @ ((Xw * e[:, None]).T @ (Xw * e[:, None])) @ bread
    return float(beta[1]), float(math.sqrt(V[1, 1])), int(keep.sum())


@dataclass(frozen=True, repr=False)
class EventWindowResult(Result):
    """``.table``: before and after rows (n, estimate, se, ci_low, ci_high); ``.difference`` after − before with
    ``se, ci_low, ci_high, p_value``; ``.balance`` (SMD per covariate); ``.rd`` (jump at the event) when asked."""

    outcome: str = ""
    kind: str = "mean"
    difference: dict = field(default_factory=dict)
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    rd: dict | None = None
    design: DesignRecord = field(default_factory=lambda: DesignRecord("event window", {}))

    def summary(self) -> str:
        t = self.table.set_index("group")
        d = self.difference
        lvl = self.settings["conf_level"].value
        fmt = (lambda v: f"{v:.1%}") if self.kind == "proportion" else (lambda v: f"{v:,.3g}")
        txt = (f"{self.outcome}: {fmt(t.loc['before', 'estimate'])} before the event (n = {int(t.loc['before', 'n']):,}), "
               f"{fmt(t.loc['after', 'estimate'])} after (n = {int(t.loc['after', 'n']):,}); difference "
               f"{d['estimate']:+.3g} ({lvl:.0%} CI {d['ci_low']:+.3g} to {d['ci_high']:+.3g}).")
        if len(self.balance):
            worst = self.balance.loc[self.balance["smd"].abs().idxmax()]
            if abs(worst["smd"]) >= SMD_GOOD:
                txt += (f" Caution: the people before and after differ on {worst['covariate']} (SMD {worst['smd']:+.2f}), "
                        f"so part of the difference may be who was asked.")
            else:
                txt += " Those asked before and after look alike on the covariates checked (all SMDs below 0.1)."
        if self.rd is not None:
            txt += (f" Regression discontinuity in time (bandwidth {self.rd['bandwidth']:g} days): jump {self.rd['estimate']:+.3g} "
                    f"({self.rd['ci_low']:+.3g} to {self.rd['ci_high']:+.3g}).")
        return txt

    def _headline(self) -> str:
        return f"difference {self.difference['estimate']:+.4g}"

    def _draw(self, ax) -> None:
        draw_before_after(ax, self.table, ylabel=self.outcome, title="Before and after the event")


def draw_before_after(ax, table: pd.DataFrame, *, ylabel: str, title: str) -> None:
    """The two estimates (``estimate``, ``ci_low``, ``ci_high``: before, then after) with their intervals; shared by
    :func:`event_window` and ``survey.event_effect``."""
    ax.errorbar([0, 1], table["estimate"], yerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
                fmt="o", color=PALETTE["blue"], capsize=4)
    ax.set_xticks([0, 1], ["before", "after"])
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def event_window(df: pd.DataFrame, date: str, event_date, window_days: int, outcome: str,
                 covariates: Sequence[str] | None = None, *, rd: bool = False, bandwidth: float | None = None,
                 conf_level: float | None = None, quiet: bool = False) -> EventWindowResult:
    """Compare an outcome in the days before and after an event.

    Parameters
    ----------
    df : DataFrame
        One row per record (e.g. survey interview).
    date : str
        Date of each record (day resolution).
    event_date : date-like
    window_days : int
        Days on each side.
    outcome : str
        0/1 (compared as proportions) or numeric (means).
    covariates : list of str, optional
        Characteristics checked for balance between the before and after groups.
    rd : bool
        Add a local-linear regression discontinuity in time.
    bandwidth : float, optional
        RD bandwidth in days. None: ``window_days`` (announced).
    conf_level : float, default 0.95
    """
    require_dataframe(WHERE, "df", df)
    check_number(WHERE, "window_days", window_days, low=1, integer=True)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    require_columns(WHERE, df, [date, outcome, *covariates], arg="df")
    settings: dict[str, Setting] = {"window_days": Setting(int(window_days), "user", "days on each side of the event", "days")}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    ev = pd.Timestamp(event_date)
    when = read_dates(WHERE, df, date)   # the house rule: tz-aware to UTC, unreadable or missing an error
    days = ((when - ev).dt.total_seconds() / 86400).to_numpy()
    inside = (days >= -window_days) & (days < window_days)
    sub = df.loc[inside].reset_index(drop=True)
    r = days[inside]
    after = r >= 0
    if after.sum() < 2 or (~after).sum() < 2:
        raise error(WHERE, "Need at least two records on each side of the event inside the window.",
                    got=f"{int((~after).sum())} before, {int(after.sum())} after",
                    hint="Widen window_days or check the event date.")
    y = require_numeric(WHERE, sub, outcome)
    binary = set(np.unique(y)) <= {0.0, 1.0}
    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows = []
    for g, m in (("before", ~after), ("after", after)):
        n = int(m.sum())
        est = float(y[m].mean())
        se = math.sqrt(est * (1 - est) / n) if binary else float(y[m].std(ddof=1) / math.sqrt(n))
        rows.append({"group": g, "n": n, "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se})
    table = pd.DataFrame(rows)
    diff = rows[1]["estimate"] - rows[0]["estimate"]
    se_d = math.sqrt(rows[0]["se"] ** 2 + rows[1]["se"] ** 2)
    difference = {"estimate": diff, "se": se_d, "ci_low": diff - z * se_d, "ci_high": diff + z * se_d,
                  "p_value": float(2 * stats.norm.sf(abs(diff / se_d))) if se_d > 0 else float("nan")}
    balance = _smd_rows(sub, after, covariates)
    rd_out = None
    if rd:
        if bandwidth is None:
            bandwidth = float(window_days)
            announce(f"RD bandwidth set to {bandwidth:g} days (the window: every record inside it, triangular weights).", quiet=quiet)
            settings["bandwidth"] = Setting(bandwidth, "data", "the window, triangular kernel", "days")
        else:
            check_number(WHERE, "bandwidth", bandwidth, low=0, low_inclusive=False)
            settings["bandwidth"] = Setting(float(bandwidth), "user", "triangular kernel", "days")
        tau, se_t, n_used = _local_linear(y, r, after.astype(float), float(bandwidth))
        rd_out = {"estimate": tau, "se": se_t, "ci_low": tau - z * se_t, "ci_high": tau + z * se_t,
                  "p_value": float(2 * stats.norm.sf(abs(tau / se_t))) if se_t > 0 else float("nan"),
                  "bandwidth": float(bandwidth), "n": n_used}
    checks = {"balance_smd_below_0.1": bool((balance["smd"].abs() < SMD_GOOD).all())} if len(balance) else {}
    design = DesignRecord("event window", checks, (f"{window_days} days each side of {ev.date()}",))
    return EventWindowResult(table=table, settings=settings, outcome=outcome, kind="proportion" if binary else "mean",
                             difference=difference, balance=balance, rd=rd_out, design=design)


__all__ = ["event_window", "EventWindowResult"]
