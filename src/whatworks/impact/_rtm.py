"""Regression-to-the-mean guard (issue 14, item 7) and the before/after helper that uses it.

Areas (or people) chosen because their recent count was high tend to fall back with no intervention at all
(REFERENCE.md, "Regression to the mean"). Before any before/after or ITS effect is claimed, the expected fall is
estimated from the units' own history:

* each unit's long-run level μᵢ is the mean of its history before the selection window;
* that history is cut into consecutive windows of the selection window's length, and how much of a window's
  departure from μᵢ carries into the next window is estimated, pooled over units, as
  ρ = Σ(wₖ − μᵢ)(wₖ₊₁ − μᵢ) / Σ(wₖ − μᵢ)², clipped to [0, 1] (ρ = 0: pure noise, full regression to the mean;
  ρ = 1: departures persist, no regression);
* the expected level after selection, with no intervention, is μᵢ + ρ·(sᵢ − μᵢ), sᵢ the selection window mean;
  the expected fall is the selection window mean minus that, averaged over units.

With fewer than :data:`MIN_PAIRS` window pairs ρ cannot be estimated and ρ = 0 is assumed (full regression to the
long-run mean), which is said in the result. The history is assumed to have no trend; for a trending series use
``its(..., selected_on=)``, which models the trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.impact._design import DesignRecord

MIN_PAIRS = 3


@dataclass(frozen=True)
class RTMEstimate:
    """The fall expected with no intervention, per period, for units selected on a high recent count."""

    selection_mean: float
    expected_after: float
    expected_fall: float
    slope: float | None   # ρ, the share of a departure that persists into the next window
    n_pairs: int
    method: str

    def sentence(self) -> str:
        return (f"selected on a recent mean of {self.selection_mean:,.3g} a period; with no intervention it would be "
                f"expected to fall to {self.expected_after:,.3g} ({self.method})")


def expected_fall(history, selected_on: int) -> RTMEstimate:
    """Estimate regression to the mean from the units' own history.

    Parameters
    ----------
    history : array (n_periods,) or (n_units, n_periods)
        Counts up to and including the selection window, oldest first.
    selected_on : int
        Number of final periods of ``history`` on which the units were selected.
    """
    h = np.atleast_2d(np.asarray(history, dtype=float))
    w = int(selected_on)
    n = h.shape[1]
    if w < 1 or w >= n:
        raise error("expected_fall", "The selection window must be shorter than the history.",
                    got=f"selected_on={w}, {n} periods", hint="Give at least one period of history before the selection window.")
    sel = h[:, n - w:].mean(axis=1)
    past = h[:, : n - w]
    mu = past.mean(axis=1)
    m = past.shape[1]
    dx, dy = [], []
    for s in range(0, m - 2 * w + 1):
        dx.append(past[:, s:s + w].mean(axis=1) - mu)
        dy.append(past[:, s + w:s + 2 * w].mean(axis=1) - mu)
    n_pairs = len(dx) * h.shape[0]
    sel_mean = float(sel.mean())
    estimable = len(dx) >= MIN_PAIRS and float(np.sum(np.square(dx))) > 0
    if estimable:
        x, y = np.concatenate(dx), np.concatenate(dy)
        rho = float(np.clip(np.sum(x * y) / np.sum(x * x), 0.0, 1.0))
        method = (f"departures from each unit's long-run mean carry over with ρ = {rho:.2f}, "
                  f"from {n_pairs} earlier window pairs")
    else:
        rho = 0.0
        method = "too little history to estimate persistence: full regression to the long-run mean assumed"
    after = float(np.mean(mu + rho * (sel - mu)))
    return RTMEstimate(sel_mean, after, sel_mean - after, rho if estimable else None, n_pairs, method)


@dataclass(frozen=True, repr=False)
class BeforeAfterResult(Result):
    """Before/after change, with the regression-to-the-mean expected fall netted off when units were selected."""

    before: float = float("nan")
    after: float = float("nan")
    change: float = float("nan")
    rtm: RTMEstimate | None = None
    net_change: float = float("nan")
    design: DesignRecord = field(default_factory=lambda: DesignRecord("before/after", {}))

    def summary(self) -> str:
        txt = f"Before/after: {self.before:,.3g} a period before, {self.after:,.3g} after ({self.change:+,.3g})."
        if self.rtm is not None:
            txt += (f" The units were {self.rtm.sentence()}, so {self.rtm.expected_fall:,.3g} of the fall is expected anyway; "
                    f"net of regression to the mean the change is {self.net_change:+,.3g} a period.")
        else:
            txt += " No comparison group: this is not evidence the intervention caused the change."
        return txt

    def _headline(self) -> str:
        return f"change {self.change:+.4g}, net {self.net_change:+.4g}"

    def _draw(self, ax) -> None:
        labels = ["before", "after"]
        vals = [self.before, self.after]
        ax.bar(labels, vals, color=[PALETTE["grey"], PALETTE["blue"]])
        if self.rtm is not None:
            ax.axhline(self.rtm.expected_after, color=PALETTE["orange"], ls="--", label="expected after (regression to the mean)")
            ax.legend(frameon=False)
        ax.set_ylabel("mean per period")


def before_after(df: pd.DataFrame, date: str, value: str, intervention, *, id: str | None = None,
                 window: int | None = None, selected_on: int | None = None, quiet: bool = False) -> BeforeAfterResult:
    """Mean per period before and after an intervention, net of regression to the mean when units were selected.

    Parameters
    ----------
    df : DataFrame
        One row per period (and unit, with ``id``).
    date, value : str
        Period column and the count or measure.
    intervention : date-like
        First period of the intervention.
    id : str, optional
        Unit column; the per-period mean over units is compared.
    window : int, optional
        Periods on each side compared. None: the selection window when ``selected_on`` is given, else every period.
    selected_on : int, optional
        The units were chosen because of high counts in this many periods just before the intervention; the expected fall
        is estimated from their earlier history (:func:`expected_fall`) and netted off.
    """
    where = "before_after"
    require_dataframe(where, "df", df)
    require_columns(where, df, [date, value, id], arg="df")
    require_numeric(where, df, value)
    d = df.assign(_date=pd.to_datetime(df[date]))
    start = pd.Timestamp(intervention)
    periods = np.sort(d["_date"].unique())
    pre = [p for p in periods if p < start]
    post = [p for p in periods if p >= start]
    if not pre or not post:
        raise error(where, "Need periods both before and after the intervention.", got=f"{len(pre)} before, {len(post)} after",
                    hint="Check the intervention date against the data's dates.")
    settings: dict[str, Setting] = {}
    if window is None:
        window = selected_on
        settings["window"] = Setting(window if window else "all", "default",
                                     "the selection window" if selected_on else "every period on each side", "periods")
    else:
        check_number(where, "window", window, low=1, integer=True)
        settings["window"] = Setting(window, "user", "periods compared on each side", "periods")
    if id is not None:
        wide = d.pivot_table(index=id, columns="_date", values=value, aggfunc="sum")
        if wide.isna().any().any():
            r = wide[wide.isna().any(axis=1)].index[0]
            raise error(where, "Every unit needs a value for every period.", row=f"unit {r!r}" if isinstance(r, str) else f"unit {r}",
                        hint="A missing period is not a zero: fill genuine zeros or restrict to covered periods.")
    else:
        if d["_date"].duplicated().any():
            r = d.loc[d["_date"].duplicated(), date].iloc[0]
            raise error(where, "One row per period expected (or give 'id').", row=f"period {r!r}")
        wide = d.set_index("_date")[[value]].T
    b_cols = pre[-window:] if window else pre
    a_cols = post[:window] if window else post
    before = float(wide[b_cols].to_numpy().mean())
    after = float(wide[a_cols].to_numpy().mean())
    rtm = None
    net = after - before
    if selected_on is not None:
        check_number(where, "selected_on", selected_on, low=1, integer=True)
        rtm = expected_fall(wide[pre].to_numpy(), selected_on)
        net = after - rtm.expected_after
        announce(f"regression to the mean: expected fall {rtm.expected_fall:.3g} a period ({rtm.method}).", quiet=quiet)
        settings["selected_on"] = Setting(selected_on, "user", "periods on which units were selected", "periods")
    table = pd.DataFrame([{"before": before, "after": after, "change": after - before,
                           "expected_fall": rtm.expected_fall if rtm else 0.0, "net_change": net}])
    design = DesignRecord("before/after", {"regression_to_the_mean_netted": rtm is not None} if selected_on else {},
                          ("no comparison group",))
    return BeforeAfterResult(table=table, settings=settings, before=before, after=after, change=after - before,
                             rtm=rtm, net_change=net, design=design)


__all__ = ["expected_fall", "before_after", "RTMEstimate", "BeforeAfterResult"]
