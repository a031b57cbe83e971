"""Design-based estimates: means, proportions and totals, overall and by domain, with Taylor-linearised SEs, CIs,
design effects and effective sample sizes; quarterly and rolling-12-month trends with an SPC view built on the
sampling error (issue 15, item 3).

Formulas (Lumley 2010, ch. 2). For a domain ``d`` (all respondents when ``by`` is None) with indicator ``m``:

* total  ``t̂ = Σ w m y``; score ``x = w m y``;
* mean   ``ȳ = Σ w m y / Σ w m``; score ``x = w m (y − ȳ) / Σ w m`` (a ratio, linearised);
* proportion: the mean of a 0/1 variable; its CI is computed on the logit scale, ``expit(logit p̂ ± t·se/(p̂(1−p̂)))``
  with ``t`` on the domain's design degrees of freedom (R's ``svyciprop(method="logit")``), so it stays inside 0–1;
  a share of exactly 0 or 1 (se = 0) gets the Clopper–Pearson interval on the domain's respondents (Korn & Graubard
  1998, *Survey Methodology* 24: 193–201), not a point.

``V̂`` is the design variance of the score's total (see :mod:`whatworks.survey.design`). Mean and total CIs are
normal (``ȳ ± z·se``), as R's ``confint(svymean(...))``. The design effect is ``V̂ / V̂_srs`` with
``V̂_srs = s²(N̂ − n)/(N̂ n)`` for a mean (``× N̂²`` for a total), ``s²`` the weighted variance with ``n/(n−1)``, ``n`` the
domain's respondents and ``N̂`` their weight — R's ``deff=TRUE``; the effective sample size is ``n / deff``.

The SPC view of a trend: a survey quarter's estimate moves with its sampling error even when nothing has changed,
so the limits are ``centre ± 3·se`` of *each point* (its own design-based SE), with the centre the estimate over the
whole series — not the moving range of the estimates, which mixes sampling noise with real change and, for small
boroughs, reads noise as news.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._dates import read_dates
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns
from whatworks.errors import error

SPC_SIGMA = 3  # limits at ±3 sampling SEs (Shewhart's three-sigma convention)


def _y(design, where: str, var: str, kind: str, level: Any) -> tuple[np.ndarray, str]:
    df = design.data
    require_columns(where, df, [var], arg="design data")
    s = df[var]
    if s.isna().any():
        first = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise error(where, f"Column '{var}' has missing values (e.g. 'don't know' or not asked).", row=f"position {first}",
                    hint=f"Estimate on the respondents who answered: design.subset(design.data['{var}'].notna()).{kind}(...).")
    if kind == "proportion":
        if level is not None:
            return (s == level).to_numpy(float), f"{var} = {level}"
        if pd.api.types.is_bool_dtype(s):
            return s.to_numpy(float), var
        v = pd.to_numeric(s, errors="coerce")
        if v.isna().any() or not set(np.unique(v)) <= {0.0, 1.0}:
            bad = s[v.isna() | ~v.isin([0, 1])].iloc[0]
            raise error(where, f"A proportion needs a 0/1 or True/False column, or level= for a categorical one.",
                        got=bad, hint=f"e.g. design.proportion('{var}', level='Good').")
        return v.to_numpy(float), var
    v = pd.to_numeric(s, errors="coerce")
    if v.isna().any():
        first = int(np.flatnonzero(v.isna().to_numpy())[0])
        raise error(where, f"Column '{var}' must be numeric for a {kind}.", got=s.iloc[first], row=f"position {first}",
                    hint="Use proportion(var, level=...) for a categorical answer.")
    return v.to_numpy(float), var


def _domains(design, where: str, by) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Domain labels and codes (every respondent in domain -1 when by is None). Respondents with zero weight (outside
    a subset) are not counted in any domain."""
    if by is None:
        return [], pd.DataFrame(index=[0]), np.zeros(len(design), dtype=np.int64)
    cols = [by] if isinstance(by, str) else list(by)
    require_columns(where, design.data, cols, arg="design data")
    keys = design.data[cols]
    if keys.isna().any().any():
        r = int(np.flatnonzero(keys.isna().any(axis=1).to_numpy())[0])
        raise error(where, f"The by column(s) {cols} have missing values.", row=f"position {r}",
                    hint="Give those respondents an explicit category first.")
    labels = keys.drop_duplicates().sort_values(cols).reset_index(drop=True)
    codes = pd.MultiIndex.from_frame(labels).get_indexer(pd.MultiIndex.from_frame(keys))
    return cols, labels, codes


def _degenerate_interval(p: float, n: float, conf_level: float) -> tuple[float, float]:
    """A share of exactly 0 or 1 has no sampling variance to linearise (se = 0, so the logit interval is a point, which
    never covers a true share near but not at 0 or 1). It gets the exact Clopper–Pearson interval on the domain's
    ``n`` respondents instead, as Korn & Graubard (1998) do when the design effect is undefined:
    ``[(α/2)^(1/n), 1]`` for 1 and ``[0, 1 − (α/2)^(1/n)]`` for 0."""
    if n < 1:
        return p, p
    bound = (0.5 - conf_level / 2) ** (1 / n)
    return (bound, 1.0) if p >= 1 else (0.0, 1 - bound)


def _compute(design, y: np.ndarray, kind: str, codes: np.ndarray, n_dom: int, conf_level: float):
    w = design._w
    D = np.zeros((len(y), n_dom))
    D[np.arange(len(y)), codes] = 1.0
    D *= (w != 0)[:, None]
    Wd = (w[:, None] * D).sum(axis=0)
    if (Wd <= 0).any():
        raise error("estimate", "A domain has no weight (all its respondents weigh zero).",
                    got=int(np.flatnonzero(Wd <= 0)[0]), hint="Drop the empty domain.")
    tot = (w[:, None] * D * y[:, None]).sum(axis=0)
    nobs = D.sum(axis=0)
    if kind == "total":
        est = tot
        X = w[:, None] * D * y[:, None]
    else:
        est = tot / Wd
        X = w[:, None] * D * (y[:, None] - est[None, :]) / Wd[None, :]
    V = design._vcov(X)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    # SRS variance for the design effect (R's deff=TRUE)
    ss = (w[:, None] * D * (y[:, None] - (tot / Wd)[None, :]) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(nobs > 1, nobs / (nobs - 1) * ss / Wd, np.nan)
    vsrs = s2 * (Wd - nobs) / (Wd * nobs)
    if kind == "total":
        vsrs = vsrs * Wd ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(vsrs > 0, se ** 2 / vsrs, np.nan)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if kind == "proportion":
        dfs = design._degf_domains(codes, n_dom)
        t = np.where(dfs > 0, stats.t.ppf(0.5 + conf_level / 2, np.maximum(dfs, 1)), np.inf)
        inner = (est > 0) & (est < 1)
        p = np.where(inner, est, 0.5)
        with np.errstate(invalid="ignore"):
            half = t * se / (p * (1 - p))
        lg = np.log(p / (1 - p))
        lo = np.where(inner, special.expit(lg - half), np.nan)
        hi = np.where(inner, special.expit(lg + half), np.nan)
        for j in np.flatnonzero(~inner):
            lo[j], hi[j] = _degenerate_interval(est[j], nobs[j], conf_level)
    else:
        lo, hi = est - z * se, est + z * se
    return est, se, lo, hi, deff, nobs, Wd, V


@dataclass(frozen=True, repr=False)
class SurveyEstimate(Result):
    """``.table``: one row per domain (the ``by`` columns, then ``n``, ``weighted_n``, ``estimate``, ``se``, ``ci_low``,
    ``ci_high``, ``deff``, ``n_effective``); ``.vcov``: the domains' design covariance (for differences)."""

    variable: str = ""
    kind: str = "mean"
    by: tuple = ()
    vcov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def _fmt(self, v: float) -> str:
        return f"{v:.1%}" if self.kind == "proportion" else f"{v:,.4g}"

    def summary(self) -> str:
        lvl = self.settings["conf_level"].value
        t = self.table
        if not self.by:
            r = t.iloc[0]
            return (f"{self.kind.capitalize()} of {self.variable}: {self._fmt(r['estimate'])} ({lvl:.0%} CI "
                    f"{self._fmt(r['ci_low'])} to {self._fmt(r['ci_high'])}), from {int(r['n']):,} respondents "
                    f"(design effect {r['deff']:.2f}, effective sample {r['n_effective']:,.0f}).")
        hi, lo = t.loc[t["estimate"].idxmax()], t.loc[t["estimate"].idxmin()]
        lab = lambda r: ", ".join(str(r[c]) for c in self.by)  # noqa: E731
        return (f"{self.kind.capitalize()} of {self.variable} by {', '.join(self.by)} ({len(t)} groups): highest "
                f"{lab(hi)} {self._fmt(hi['estimate'])} ({self._fmt(hi['ci_low'])}–{self._fmt(hi['ci_high'])}), lowest "
                f"{lab(lo)} {self._fmt(lo['estimate'])} ({self._fmt(lo['ci_low'])}–{self._fmt(lo['ci_high'])}); "
                f"median design effect {t['deff'].median():.2f}. Overlapping {lvl:.0%} intervals are not evidence of a difference.")

    def _headline(self) -> str:
        return f"{self.kind} of {self.variable}, {len(self.table)} domain(s)"

    def _draw(self, ax) -> None:
        t = self.table.sort_values("estimate").reset_index(drop=True)
        labels = [", ".join(str(r[c]) for c in self.by) for _, r in t.iterrows()] if self.by else [self.variable]
        yy = np.arange(len(t))
        ax.errorbar(t["estimate"], yy, xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]], fmt="o",
                    color=PALETTE["blue"], ecolor=PALETTE["sky"], capsize=2)
        ax.set_yticks(yy, labels)
        ax.set_xlabel(f"{self.variable} ({self.settings['conf_level'].value:.0%} CI)")
        ax.set_title(f"{self.kind.capitalize()} of {self.variable}")


def estimate(design, var: str, kind: str, *, by: str | Sequence[str] | None = None, level: Any = None,
             conf_level: float | None = None, quiet: bool = False) -> SurveyEstimate:
    """A design-based mean, proportion or total (called by ``Design.mean/proportion/total``).

    Parameters
    ----------
    design : Design
    var : str
        Column to estimate.
    kind : {"mean", "proportion", "total"}
    by : str or list of str, optional
        Domain columns: one estimate per combination, each with the full design's variance (domain estimation).
    level : optional
        For a proportion of a categorical column: the answer counted (``level="Good"``).
    conf_level : float, default 0.95

    Returns
    -------
    SurveyEstimate

    Examples
    --------
    >>> design.proportion("confident", by="borough_code").table  # doctest: +SKIP
    """
    where = f"Design.{kind}"
    check_choice(where, "kind", kind, ["mean", "proportion", "total"])
    settings: dict[str, Setting] = {}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(where, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    y, label = _y(design, where, var, kind, level)
    cols, labels, codes = _domains(design, where, by)
    est, se, lo, hi, deff, nobs, Wd, V = _compute(design, y, kind, codes, len(labels), conf_level)
    table = labels.copy() if cols else pd.DataFrame(index=[0])
    table = table.assign(n=nobs.astype(int), weighted_n=Wd, estimate=est, se=se, ci_low=lo, ci_high=hi, deff=deff,
                         n_effective=nobs / deff)
    if design.adjustments:
        lin = f"GREG residual on the calibration variables of {', '.join(design.adjustments)}"
        settings["linearisation"] = Setting(lin, "data", "the design carries weight adjustments (see whatworks.survey.design)")
        announce(f"SEs linearised as the {lin} (the design's weights were adjusted; see docs/survey.md).", quiet=quiet)
    else:
        settings["linearisation"] = Setting("Taylor", "default", "no weight adjustments in the design")
    if kind == "proportion":
        settings["ci_method"] = Setting("logit", "default", "logit-scale interval with t on design df (R svyciprop); "
                                        "a share of exactly 0 or 1: Clopper-Pearson on the domain's respondents")
        dfs = design._degf_domains(codes, len(labels))
        lo_df, hi_df = int(dfs.min()), int(dfs.max())
        df_txt = f"{lo_df}" if lo_df == hi_df else f"{lo_df} to {hi_df}"
        settings["degrees_of_freedom"] = Setting(df_txt, "data", "PSUs minus strata among each domain's respondents")
        announce(f"degrees of freedom of the proportion intervals set to {df_txt} (PSUs minus strata among each "
                 f"domain's respondents, as R's svyciprop).", quiet=quiet)
    return SurveyEstimate(table=table.reset_index(drop=True), settings=settings, variable=label, kind=kind,
                          by=tuple(cols), vcov=V)


# ---------------------------------------------------------------------------------------------- trends


@dataclass(frozen=True, repr=False)
class SurveyTrend(Result):
    """``.table``: one row per period (and domain): ``period``, ``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
    and the SPC view — ``mean`` (the whole-series estimate), ``lpl``, ``upl`` (mean ± 3 sampling SEs of that point),
    ``signal`` (outside the limits)."""

    variable: str = ""
    kind: str = "proportion"
    by: tuple = ()
    baseline: str | None = None

    def summary(self) -> str:
        t = self.table
        sig = t[t["signal"]]
        fmt = (lambda v: f"{v:.1%}") if self.kind == "proportion" else (lambda v: f"{v:,.3g}")  # noqa: E731
        last = t.iloc[-1]
        where = f" in {', '.join(str(last[c]) for c in self.by)}" if self.by else ""
        txt = (f"{self.variable}{where}: {fmt(last['estimate'])} in {last['period']} ({fmt(last['ci_low'])}–{fmt(last['ci_high'])}), "
               f"against {fmt(last['mean'])} over the series. ")
        if len(sig):
            txt += (f"{len(sig)} period(s) outside the sampling-error limits (±{SPC_SIGMA} SE): "
                    + ", ".join(str(p) for p in sig["period"].head(6)) + " — a real change, not sampling noise.")
        else:
            txt += f"Every period is within ±{SPC_SIGMA} sampling SEs of the series estimate: no signal, only sampling noise."
        if self.baseline is not None and "difference" in t:
            pts, unit = (100, " points") if self.kind == "proportion" else (1, "")
            lvl = self.settings["conf_level"].value
            txt += (f" Against {self.baseline}: {last['difference'] * pts:+.1f}{unit} in {last['period']} ({lvl:.0%} CI "
                    f"{last['difference_ci_low'] * pts:+.1f} to {last['difference_ci_high'] * pts:+.1f}"
                    f"{'; p = ' + format(last['difference_p_value'], '.3f') if np.isfinite(last['difference_p_value']) else ''}).")
        return txt

    def _headline(self) -> str:
        return f"{self.variable}: {len(self.table)} periods, {int(self.table['signal'].sum())} signal(s)"

    def _draw(self, ax) -> None:
        t = self.table
        x = np.arange(len(t))
        ax.plot(x, t["estimate"], "o-", color=PALETTE["blue"], label="estimate")
        ax.fill_between(x, t["ci_low"], t["ci_high"], color=PALETTE["sky"], alpha=0.3, label="CI")
        ax.step(x, t["upl"], where="mid", color=PALETTE["grey"], ls="--", label=f"±{SPC_SIGMA} SE limits")
        ax.step(x, t["lpl"], where="mid", color=PALETTE["grey"], ls="--")
        ax.plot(x, t["mean"], color=PALETTE["black"], lw=1)
        s = t["signal"].to_numpy()
        ax.plot(x[s], t["estimate"][s], "o", color=PALETTE["vermillion"], label="signal")
        ax.set_xticks(x, [str(p) for p in t["period"]], rotation=60, fontsize=7)
        ax.set_ylabel(self.variable)
        ax.legend(fontsize=7)
        ax.set_title(f"{self.variable}: trend with sampling-error limits")


def _period_masks(where: str, when: pd.Series, period: str) -> list[tuple[str, np.ndarray]]:
    rows = []
    if period == "quarter":
        q = when.dt.to_period("Q")
        for p in sorted(q.unique()):
            rows.append((str(p), (q == p).to_numpy()))
    else:
        m = when.dt.to_period("M")
        months = pd.period_range(m.min(), m.max(), freq="M")
        if len(months) < 12:
            raise error(where, "A rolling 12-month trend needs at least 12 months of interviews.",
                        got=f"{len(months)} months", hint="Use period='quarter'.")
        for end in months[11:]:
            rows.append((str(end), ((m > end - 12) & (m <= end)).to_numpy()))
    return rows


def _period_vcov(design, y: np.ndarray, masks: Sequence[np.ndarray], kind: str) -> np.ndarray:
    """Design covariance of the period estimates, jointly (periods may overlap, as rolling windows do): one
    linearised score column per period, ``x_j = w m_j (y − ȳ_j) / Σ w m_j``, through the design's variance engine."""
    w = design._w
    X = np.zeros((len(y), len(masks)))
    for j, m in enumerate(masks):
        wm = w * m
        W = wm.sum()
        X[:, j] = wm * (y - np.sum(wm * y) / W) / W
    return design._vcov(X)


def trend(design, var: str, date: str, *, period: str = "quarter", kind: str = "proportion", level: Any = None,
          baseline: str | None = None, conf_level: float | None = None, quiet: bool = False) -> SurveyTrend:
    """Estimates by quarter, or over rolling 12-month windows, with an SPC view on sampling error, and optionally each
    period's change from a baseline period.

    Parameters
    ----------
    design : Design
    var : str
    date : str
        Interview date column.
    period : {"quarter", "rolling_12_months"}
        ``quarter``: calendar quarters (``2024Q2``). ``rolling_12_months``: for each month from the 12th on, the
        interviews in the 12 months ending with it (labelled by that month), as the PAS publishes.
    kind : {"proportion", "mean"}
    level : optional
        For a proportion of a categorical column: the answer counted.
    baseline : str, optional
        A period label (``"2023Q1"``; ``"2024-03"`` for rolling windows). Every period is compared with it:
        ``difference`` = estimate − baseline estimate, with ``difference_se`` from the design covariance of the two
        (periods share strata, and rolling windows share interviews, so the two are not independent), a normal CI and
        a two-sided p-value. None: no comparison columns.
    conf_level : float, default 0.95
    quiet : bool, default False
        Silence the announced defaults (the series centre and the periods found in the data); they are still in
        ``.settings``.

    Returns
    -------
    SurveyTrend
        ``.table``: ``period``, ``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``mean``, ``lpl``, ``upl``,
        ``signal``; with ``baseline``: ``difference``, ``difference_se``, ``difference_ci_low``,
        ``difference_ci_high``, ``difference_p_value``.

    Examples
    --------
    >>> trend(design, "confident", "interview_date", baseline="2023Q1").table  # doctest: +SKIP
    """
    where = "survey.trend"
    check_choice(where, "period", period, ["quarter", "rolling_12_months"])
    check_choice(where, "kind", kind, ["proportion", "mean"])
    settings: dict[str, Setting] = {}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(where, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    require_columns(where, design.data, [date], arg="design data")
    when = read_dates(where, design.data, date)   # the house rule: day first, tz-aware to UTC, unreadable an error
    y, label = _y(design, where, var, kind, level)
    rows = [(lab, m & (design._w != 0)) for lab, m in _period_masks(where, when, period)]
    rows = [(lab, m) for lab, m in rows if m.any()]
    labels = [lab for lab, _ in rows]
    if baseline is not None and str(baseline) not in labels:
        raise error(where, "The baseline must be one of the trend's periods.", got=baseline,
                    expected=f"one of {labels[:8]}{' ...' if len(labels) > 8 else ''}",
                    hint="Quarters are written 2024Q1; rolling windows by their last month, 2024-03.")
    overall = _compute(design, y, kind, np.zeros(len(y), dtype=np.int64), 1, conf_level)[0][0]
    out = []
    for lab, mask in rows:
        sub = design.subset(mask)
        est, se, lo, hi, _, nobs, _, _ = _compute(sub, y, kind, np.zeros(len(y), dtype=np.int64), 1, conf_level)
        out.append({"period": lab, "n": int(nobs[0]), "estimate": est[0], "se": se[0], "ci_low": lo[0], "ci_high": hi[0]})
    t = pd.DataFrame(out)
    t["mean"] = overall
    t["lpl"] = overall - SPC_SIGMA * t["se"]
    t["upl"] = overall + SPC_SIGMA * t["se"]
    t["signal"] = (t["estimate"] < t["lpl"]) | (t["estimate"] > t["upl"])
    unit = "proportion" if kind == "proportion" else None
    settings["period"] = Setting(period, "default" if period == "quarter" else "user", "period of each point")
    settings["periods"] = Setting(f"{labels[0]}..{labels[-1]} ({len(labels)})", "data", "the interview dates", "periods")
    settings["centre"] = Setting(float(overall), "data", "the estimate over the whole series", unit)
    settings["limits"] = Setting(f"mean ± {SPC_SIGMA} SE", "default", "each point's own design-based sampling error, not the moving range")
    fmt = f"{overall:.1%}" if kind == "proportion" else f"{overall:.4g}"
    announce(f"trend periods set to {labels[0]}..{labels[-1]} ({len(labels)} {period.replace('_', ' ')} periods: "
             f"the interview dates).", quiet=quiet)
    announce(f"trend centre set to {fmt} (the {kind} over the whole series, {int((design._w != 0).sum()):,} interviews).",
             quiet=quiet)
    if baseline is not None:
        b = labels.index(str(baseline))
        V = _period_vcov(design, y, [m for _, m in rows], kind)
        est = t["estimate"].to_numpy()
        d = est - est[b]
        var_d = np.clip(np.diag(V) + V[b, b] - 2 * V[:, b], 0, None)
        se_d = np.sqrt(var_d)
        z = stats.norm.ppf(0.5 + conf_level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            pv = np.where(se_d > 0, 2 * stats.norm.sf(np.abs(d) / se_d), np.nan)
        t["difference"] = d
        t["difference_se"] = se_d
        t["difference_ci_low"] = d - z * se_d
        t["difference_ci_high"] = d + z * se_d
        t["difference_p_value"] = pv
        settings["baseline"] = Setting(str(baseline), "user", "each period compared with this one; SE of the difference "
                                       "from the design covariance of the two estimates")
    return SurveyTrend(table=t, settings=settings, variable=label, kind=kind,
                       baseline=None if baseline is None else str(baseline))


__all__ = ["estimate", "trend", "SurveyEstimate", "SurveyTrend"]
