"""Difference-in-differences: two-way fixed effects (with its Goodman-Bacon decomposition) and Callaway–Sant'Anna.

``did(panel, unit, time, outcome, first_treated, method=...)`` takes a long panel (one row per unit × time) and the
first period each unit was treated (never treated: missing, ``0`` or ``inf``). See docs/impact.md,
"Difference-in-differences and synthetic control".

- ``method="twfe"``: OLS of the outcome on a treated-from-``first_treated`` dummy with unit and time fixed effects
  (within transform), cluster-robust (CR1) SEs by unit or ``cluster``; on a balanced panel the Goodman-Bacon
  decomposition shows which 2×2 comparisons the single coefficient averages, with their weights.
- ``method="callaway_santanna"``: ATT(g, t) for each cohort g and period t against never-treated or not-yet-treated
  comparison units, by outcome regression, IPW or doubly robust estimation (identical without covariates), with
  simple, dynamic (event-study), group and calendar aggregations, analytic SEs from influence functions, a seeded
  multiplier bootstrap with uniform bands, and a Wald pre-trend test. Matches R ``did`` (tests/golden).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe
from whatworks.errors import error
from whatworks.impact import _bacon, _cs
from whatworks.impact._design import DesignRecord

__all__ = ["did", "DidResult"]

WHERE = "did"
DEFAULT_N_BOOT = 1000  # R did's biters
DEFAULT_SEED = 0
AGG_KINDS = ("simple", "dynamic", "group", "calendar")


@dataclass(frozen=True, repr=False)
class DidResult(Result):
    """A difference-in-differences estimate.

    Attributes
    ----------
    table : DataFrame
        Callaway–Sant'Anna: one row per (cohort, period) cell — ``group``, ``time``, ``base_time``, ``event_time``,
        ``post``, ``n_treated``, ``n_comparison``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` and, with
        a bootstrap, ``se_boot``, ``band_low``, ``band_high`` (uniform over all cells). TWFE: one row per coefficient.
    method, estimate, se, ci_low, ci_high, p_value, conf_level
        The headline: TWFE's coefficient, or Callaway–Sant'Anna's simple (overall) ATT.
    aggregations : dict of DataFrames
        ``simple``, ``dynamic`` (``event_time``), ``group`` and ``calendar`` (``time``) with the same columns.
    bacon : DataFrame or None
        Goodman-Bacon decomposition (TWFE on a balanced panel): ``comparison``, ``treated_cohort``,
        ``comparison_cohort``, ``weight``, ``estimate``.
    pretrend : dict
        ``statistic``, ``df``, ``p_value`` of the Wald test that all pre-treatment ATT(g, t) are zero.
    dropped : DataFrame
        Every unit or row left out, with the reason (``unit``, ``time``, ``reason``).
    design : DesignRecord
    """

    method: str = ""
    estimate: float = float("nan")
    se: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    p_value: float = float("nan")
    conf_level: float = 0.95
    aggregations: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    bacon: pd.DataFrame | None = None
    pretrend: Mapping[str, float] = field(default_factory=dict)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    design: DesignRecord | None = None
    outcome: str = ""
    n_units: int = 0

    def _headline(self) -> str:
        return (f"{self.method}: estimate {self.estimate:.4g} (SE {self.se:.3g}, "
                f"{self.conf_level:.0%} CI {self.ci_low:.4g} to {self.ci_high:.4g})")

    def summary(self) -> str:
        pct = f"{self.conf_level:.0%}"
        name = "Two-way fixed effects" if self.method == "twfe" else "Callaway–Sant'Anna"
        text = (f"{name} difference-in-differences on {self.outcome} ({self.n_units} units): average effect of the "
                f"treatment on the treated {self.estimate:.4g} ({pct} CI {self.ci_low:.4g} to {self.ci_high:.4g}, "
                f"p = {self.p_value:.3g}).")
        if self.pretrend and np.isfinite(self.pretrend.get("p_value", np.nan)):
            p = self.pretrend["p_value"]
            text += (f" Pre-trend test p = {p:.3g}: "
                     + ("no evidence the groups were already diverging." if p >= 0.05
                        else "the groups were already diverging before treatment; treat the estimate with caution."))
        elif self.method == "callaway_santanna":
            text += (" Pre-trend test not computed: the pre-treatment estimates' covariance is singular (too few "
                     "units in some cohorts); read the event-study plot instead.")
        if self.bacon is not None and len(self.bacon):
            bad = self.bacon.loc[self.bacon["comparison"] == "later vs earlier", "weight"].sum()
            text += (f" {bad:.0%} of the TWFE weight is on comparisons that use already-treated units as controls; "
                     "if effects grow or fade over time, prefer method='callaway_santanna'.")
        if len(self.dropped):
            text += f" {self.dropped['unit'].nunique()} unit(s) left out (see .dropped)."
        return text

    def _draw(self, ax) -> None:
        if self.method == "callaway_santanna":
            dyn = self.aggregations["dynamic"]
            x = dyn["event_time"].to_numpy()
            if "band_low" in dyn:
                ax.fill_between(x, dyn["band_low"], dyn["band_high"], color=PALETTE["sky"], alpha=0.3,
                                label="uniform band")
            ax.errorbar(x, dyn["estimate"], yerr=[dyn["estimate"] - dyn["ci_low"], dyn["ci_high"] - dyn["estimate"]],
                        fmt="o", color=PALETTE["blue"], label=f"ATT by event time ({self.conf_level:.0%} CI)")
            ax.axhline(0, color=PALETTE["grey"], lw=1)
            ax.axvline(-0.5, color=PALETTE["grey"], lw=1, ls=":")
            ax.set_xlabel("periods since treatment")
            ax.set_ylabel(f"effect on {self.outcome}")
            ax.set_title("Event study (Callaway–Sant'Anna)")
            ax.legend(frameon=False)
        elif self.bacon is not None and len(self.bacon):
            colours = {"treated vs never": PALETTE["blue"], "earlier vs later": PALETTE["green"],
                       "later vs earlier": PALETTE["vermillion"]}
            for kind, sub in self.bacon.groupby("comparison"):
                ax.scatter(sub["weight"], sub["estimate"], color=colours[kind], label=kind)
            ax.axhline(self.estimate, color=PALETTE["black"], lw=1, ls="--", label="TWFE estimate")
            ax.set_xlabel("weight in the TWFE estimate")
            ax.set_ylabel("2×2 DiD estimate")
            ax.set_title("Goodman-Bacon decomposition")
            ax.legend(frameon=False)
        else:
            ax.errorbar([0], [self.estimate], yerr=[[self.estimate - self.ci_low], [self.ci_high - self.estimate]],
                        fmt="o", color=PALETTE["blue"])
            ax.axhline(0, color=PALETTE["grey"], lw=1)
            ax.set_xticks([0], ["treated"])
            ax.set_ylabel(f"effect on {self.outcome}")


# ---------------------------------------------------------------- validation


def _never(values: np.ndarray) -> np.ndarray:
    return np.isnan(values) | np.isinf(values) | (values == 0)


def _numeric(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as float, and where a present value is not a number (numeric columns skip pandas' parser)."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        v = col.to_numpy(float, na_value=np.nan)
        return v, np.zeros(v.size, bool)
    v = pd.to_numeric(col, errors="coerce").to_numpy(float, na_value=np.nan)
    return v, np.isnan(v) & col.notna().to_numpy()


def _compact(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes 0..k-1 keeping only those used; returns (new codes, kept old codes)."""
    used = np.bincount(codes, minlength=size) > 0
    new = np.cumsum(used) - 1
    return new[codes], np.flatnonzero(used)


@dataclass
class _Panel:
    """A validated long panel as arrays: unit codes ``ui`` into ``units`` (sorted), period codes ``ti`` into
    ``times`` (sorted), outcome ``y``, first treatment ``g`` (never treated: ``inf``) and covariates ``X``."""

    unit: str
    time: str
    outcome: str
    first_treated: str
    ui: np.ndarray
    units: np.ndarray
    ti: np.ndarray
    times: np.ndarray
    y: np.ndarray
    g: np.ndarray
    X: dict
    cluster: str | None
    cluster_values: np.ndarray | None

    def frame(self) -> pd.DataFrame:
        cols = {self.unit: self.units[self.ui], self.time: self.times[self.ti], self.outcome: self.y,
                self.first_treated: self.g}
        cols.update(self.X)
        if self.cluster and self.cluster not in cols:
            cols[self.cluster] = self.cluster_values
        return pd.DataFrame(cols)

    def keep(self, mask: np.ndarray) -> "_Panel":
        ui, kept_u = _compact(self.ui[mask], self.units.size)
        ti, kept_t = _compact(self.ti[mask], self.times.size)
        return _Panel(self.unit, self.time, self.outcome, self.first_treated, ui, self.units[kept_u], ti,
                      self.times[kept_t], self.y[mask], self.g[mask], {c: v[mask] for c, v in self.X.items()},
                      self.cluster, None if self.cluster_values is None else self.cluster_values[mask])

    def per_unit(self, values: np.ndarray) -> np.ndarray:
        """One value per unit (the last row's; callers check the column is constant within unit)."""
        out = np.empty(self.units.size, dtype=values.dtype)
        out[self.ui] = values
        return out


def _prepare(panel, unit, time, outcome, first_treated, covariates, cluster, anticipation):
    """Validate the long panel (in numpy: one pass per rule); return it as a ``_Panel`` without the rows with a
    missing outcome, and those rows."""
    require_dataframe(WHERE, "panel", panel)
    cols = [unit, time, outcome, first_treated] + list(covariates) + ([cluster] if cluster else [])
    require_columns(WHERE, panel, cols, arg="panel")
    unit_col = panel[unit]
    for c in [unit] + ([cluster] if cluster else []):   # a missing id would otherwise become one unit (or cluster)
        miss = panel[c].isna().to_numpy()
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise error(WHERE, f"Column '{c}' has {int(miss.sum())} missing value(s); every row needs its {c}.",
                        row=f"position {i}", hint=f"Fill or drop the rows without a {c} first.")

    def unit_at(i):
        return unit_col.iloc[i]

    num = {}
    for c in [time, first_treated]:
        v, bad = _numeric(panel[c])
        if c == time:
            bad = bad | np.isnan(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise error(WHERE, f"Column '{c}' must be numeric (a period number such as a year or month index).",
                        got=panel[c].iloc[i], row=f"position {i} (unit {unit_at(i)!r})",
                        hint="Convert dates to period numbers first, e.g. months since the start.")
        num[c] = v
    tv = num[time]
    y, bad = _numeric(panel[outcome])
    bad = bad | np.isinf(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"Column '{outcome}' must be numeric (finite numbers; missing values are allowed and dropped).",
                    got=panel[outcome].iloc[i], row=f"position {i} (unit {unit_at(i)!r}, time {tv[i]})",
                    hint="Clean the outcome column first.")
    ui, units = pd.factorize(unit_col, sort=True, use_na_sentinel=False)
    units = np.asarray(units, dtype=object) if units.dtype == object else np.asarray(units)
    times = np.unique(tv)
    ti = np.searchsorted(times, tv)
    key = ui.astype(np.int64) * times.size + ti
    count = np.bincount(key, minlength=units.size * times.size)
    dup = count[key] > 1
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise error(WHERE, f"The panel must have one row per {unit} × {time}; {int(dup.sum())} rows share a "
                           f"{unit} × {time} with another row.",
                    row=f"position {i} ({unit}={unit_at(i)!r}, {time}={tv[i]})",
                    hint="Aggregate first (e.g. panel.groupby([unit, time], as_index=False).sum()), or drop duplicates.")
    g_raw = num[first_treated]
    g_first = np.empty(units.size)
    g_first[ui] = g_raw
    gf = g_first[ui]
    vary = ~((g_raw == gf) | (np.isnan(g_raw) & np.isnan(gf)))
    if vary.any():
        u = units[int(ui[vary].min())]
        raise error(WHERE, f"Column '{first_treated}' must be the same in every row of a unit (the first period it was "
                           f"treated; missing, 0 or inf for never treated).",
                    got=sorted(panel.loc[(unit_col == u).to_numpy(), first_treated].unique().tolist()),
                    row=f"{unit}={u!r}",
                    hint="Compute it per unit, e.g. the minimum period in which the unit was treated.")
    X = {}
    for c in covariates:
        v = pd.to_numeric(panel[c], errors="coerce")
        bad = v.isna() | np.isinf(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise error(WHERE, f"Covariate '{c}' must be numeric with no missing values.", got=panel[c].iloc[i],
                        row=f"position {i} ({unit}={unit_at(i)!r})",
                        hint="Impute or drop the rows first; whatworks never drops them silently.")
        if v.nunique() < 2:
            raise error(WHERE, f"Covariate '{c}' is constant, so it cannot adjust for anything (and makes the design "
                               "singular).", got=v.iloc[0], hint=f"Leave '{c}' out of covariates.")
        X[c] = v.to_numpy(float)
    miss = np.isnan(y)
    dropped = pd.DataFrame({"unit": units[ui[miss]], "time": tv[miss],
                            "reason": "outcome missing (a period not covered is NA, not 0)"})
    g = np.where(_never(g_raw), np.inf, g_raw)
    P = _Panel(unit, time, outcome, first_treated, ui, units, ti, times, y, g, X, cluster,
               panel[cluster].to_numpy() if cluster else None)
    if miss.any():
        P = P.keep(~miss)
    # cohorts treated in the first period (or within the anticipation window of it): no pre-period at all
    first = P.times[0]
    early = np.isfinite(P.g) & (P.g - anticipation <= first)
    if early.any():
        cohorts = sorted(np.unique(P.g[early]).tolist())
        units_e = pd.unique(P.units[P.ui[early]]).tolist()
        raise error(WHERE, f"Cohort(s) {cohorts} are treated in the first period of the panel ({first:g}"
                           f"{f', allowing {anticipation} period(s) of anticipation' if anticipation else ''}), "
                           "so they have no pre-treatment period to compare against.",
                    row=f"{unit}={units_e[0]!r} ({len(units_e)} unit(s): {units_e[:10]})",
                    hint="Drop these units, or extend the panel back to before they were treated.")
    # a treated unit whose own rows start only after its treatment
    first_obs = np.full(P.units.size, np.inf)
    np.minimum.at(first_obs, P.ui, P.times[P.ti])
    g_u = P.per_unit(P.g)
    nopre = np.flatnonzero(np.isfinite(g_u) & (first_obs >= g_u - anticipation))
    if nopre.size:
        k = nopre[0]
        raise error(WHERE, f"{nopre.size} treated unit(s) have no observed period before treatment.",
                    row=f"{unit}={P.units[k]!r} (first observed {first_obs[k]:g}, first treated {g_u[k]:g})",
                    hint="Drop these units (they cannot contribute a before/after change), or supply their earlier periods.")
    return P, dropped


def _balance(P: _Panel, dropped, quiet):
    """Keep units observed in every period (Callaway–Sant'Anna and the Bacon decomposition need a balanced panel)."""
    count = np.bincount(P.ui, minlength=P.units.size)
    short = np.flatnonzero(count < P.times.size)
    if short.size:
        labels = P.units[short]
        announce(f"{short.size} unit(s) not observed in all {P.times.size} periods were left out to balance the panel "
                 f"(first: {labels[0]!r}); see .dropped.", quiet=quiet)
        extra = pd.DataFrame({"unit": list(labels), "time": np.nan,
                              "reason": f"not observed in all {P.times.size} periods (balanced panel needed)"})
        dropped = pd.concat([dropped, extra], ignore_index=True)
        P = P.keep(count[P.ui] == P.times.size)
    return P, dropped


def _wide(df, unit, time, column):
    return df.pivot(index=unit, columns=time, values=column).sort_index(axis=1)


def _wide_array(P: _Panel, values: np.ndarray) -> np.ndarray:
    """Units × periods array of a balanced panel's column (rows: ``P.units``, columns: ``P.times``)."""
    W = np.empty((P.units.size, P.times.size))
    W[P.ui, P.ti] = values
    return W


def _ci(est, se, z, dof=None):
    """Interval est ± z·se and a two-sided p-value, from the normal, or from t with ``dof`` degrees of freedom (few
    clusters: ``z`` is then the t critical value)."""
    est = np.asarray(est, float); se = np.asarray(se, float)
    with np.errstate(invalid="ignore"):
        p = 2 * (stats.norm.sf(np.abs(est / se)) if dof is None else stats.t.sf(np.abs(est / se), dof))
    return est - z * se, est + z * se, p


# With fewer clusters than this, a cluster-robust SE is too small on average, and normal intervals under-cover (with 8
# borough clusters, 88% for a nominal 95% over 50 synthetic-force seeds): intervals and p-values then use t with
# G - 1 degrees of freedom, as the TWFE estimate does (Cameron & Miller 2015, "A practitioner's guide to
# cluster-robust inference", section VI).
FEW_CLUSTERS = 50


# Satterthwaite degrees of freedom for few clusters (Callaway–Sant'Anna). The clustered variance is
# V = c·Σ_g S_g², S_g the cluster sums of the influence function. When the estimate leans on few clusters (say four
# treated boroughs of eight) V is noisier than G − 1 degrees of freedom suggest, and t(G − 1) intervals under-cover
# (92.5% over 200 synthetic-force seeds). Under a working model of independent, equal-variance errors S = M·ε is
# normal with covariance Σ = M M', and Satterthwaite's df = (tr Σ)² / tr(Σ²) (Bell & McCaffrey 2002; Imbens &
# Kolesár 2016 recommend this df for few clusters). Σ is estimated from the estimator itself run on seeded standard
# normal noise (it is linear in the outcome, so nothing else is needed), with the Wishart bias of the plug-in traces
# removed; the df is capped at G − 1 (never more liberal than before) and floored at 1. Hand-written: neither
# statsmodels nor the did packages offer a few-cluster df for these influence-function estimators.
DOF_REPLICATES = 100


def _satterthwaite(S: np.ndarray, n_cl: int) -> np.ndarray:
    """df per column from replicate cluster sums ``S`` (replicates × clusters × columns)."""
    R = S.shape[0]
    Sig = np.einsum("rgk,rhk->kgh", S, S) / R
    tr = np.trace(Sig, axis1=1, axis2=2)
    tr2 = np.einsum("kgh,khg->k", Sig, Sig)
    # E[tr(Σ̂)²] = (tr Σ)² + 2 tr(Σ²)/R and E[tr(Σ̂²)] = tr(Σ²)(1 + 1/R) + (tr Σ)²/R for Σ̂ = W/R, W ~ Wishart(Σ, R)
    b = (tr2 - tr ** 2 / R) / (1 + 1 / R - 2 / R ** 2)
    a = tr ** 2 - 2 * b / R
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(b > 0, a / b, n_cl - 1)
    return np.clip(np.nan_to_num(df, nan=n_cl - 1), 1.0, n_cl - 1.0)


def _few_cluster_dof(cells_of, shape, ccodes, block_g, nb, cohorts, seed) -> dict:
    """Satterthwaite df of every ATT(g, t), every aggregated estimate and every overall estimate. The aggregations
    are rerun on each replicate: their per-cohort terms (the influence of estimating the cohort shares) carry the
    between-cohort spread, which is all a cohort of one cluster contributes to the clustered variance."""
    rng = np.random.default_rng([int(seed), 20261204])
    n_cl = int(ccodes.max()) + 1
    s_cells, s_agg, s_over = [], {k: [] for k in AGG_KINDS}, {k: [] for k in AGG_KINDS}
    for _ in range(DOF_REPLICATES):
        c, inf = cells_of(rng.standard_normal(shape))
        s_cells.append(inf.cluster_sums(ccodes))
        aggs = _cs.aggregate(c, inf, block_g, nb, cohorts)
        for kind in AGG_KINDS:
            _, _, infs, _, o_inf = aggs[kind]
            s_agg[kind].append(infs.cluster_sums(ccodes))
            s_over[kind].append(o_inf.cluster_sums(ccodes))
    return {"cells": _satterthwaite(np.stack(s_cells), n_cl),
            "aggregations": {k: _satterthwaite(np.stack(v), n_cl) for k, v in s_agg.items()},
            "overall": {k: float(_satterthwaite(np.stack(v), n_cl)[0]) for k, v in s_over.items()}}


# ---------------------------------------------------------------- TWFE


def _demean(M: np.ndarray, ui: np.ndarray, ti: np.ndarray, nu: int, nt: int, tol=1e-13, max_iter=10_000):
    """Remove unit and time means by alternating projections (exact in one pass on a balanced panel)."""
    M = M.astype(float).copy()
    cu = np.bincount(ui, minlength=nu).astype(float)
    ct = np.bincount(ti, minlength=nt).astype(float)
    for _ in range(max_iter):
        change = 0.0
        for idx, cnt, size in ((ui, cu, nu), (ti, ct, nt)):
            means = np.vstack([np.bincount(idx, weights=M[:, j], minlength=size) / cnt for j in range(M.shape[1])]).T
            M -= means[idx]
            change = max(change, float(np.max(np.abs(means))))
        if change < tol * max(1.0, float(np.max(np.abs(M)))):
            break
    return M


def _twfe(df, unit, time, outcome, first_treated, covariates, cluster, anticipation, conf_level):
    """TWFE coefficient table with CR1 cluster-robust SEs, counting the fixed effects as parameters."""
    ui, units = pd.factorize(df[unit], sort=True)
    ti, times = pd.factorize(df[time], sort=True)
    D = (df[time].to_numpy() >= df[first_treated].to_numpy() - anticipation).astype(float)
    names = ["treated"] + list(covariates)
    X = np.column_stack([D] + [df[c].to_numpy() for c in covariates])
    M = _demean(np.column_stack([df[outcome].to_numpy(), X]), ui, ti, units.size, times.size)
    y, Xd = M[:, 0], M[:, 1:]
    XtX_inv = np.linalg.inv(Xd.T @ Xd)
    beta = XtX_inv @ Xd.T @ y
    e = y - Xd @ beta
    cl = pd.factorize(df[cluster] if cluster else df[unit])[0]
    ncl = int(cl.max()) + 1
    S = np.zeros((ncl, Xd.shape[1]))
    np.add.at(S, cl, Xd * e[:, None])
    nobs = y.size
    k = Xd.shape[1] + units.size + times.size - 1  # slopes + unit effects + time effects (intercept absorbed)
    V = XtX_inv @ (S.T @ S) @ XtX_inv * ncl / (ncl - 1) * (nobs - 1) / (nobs - k)
    se = np.sqrt(np.diag(V))
    tcrit = stats.t.ppf(0.5 + conf_level / 2, ncl - 1)
    p = 2 * stats.t.sf(np.abs(beta / se), ncl - 1)
    table = pd.DataFrame({"term": names, "estimate": beta, "se": se, "ci_low": beta - tcrit * se,
                          "ci_high": beta + tcrit * se, "p_value": p})
    return table, ncl


# ---------------------------------------------------------------- the verb


def did(panel: pd.DataFrame, unit: str, time: str, outcome: str, first_treated: str, *, method: str = "twfe",
        control: str = "never", covariates: list[str] | None = None, anticipation: int = 0, est: str = "dr",
        n_boot: int | None = None, seed: int | None = None, conf_level: float = 0.95, cluster: str | None = None,
        quiet: bool = False) -> DidResult:
    """Difference-in-differences on a long panel with staggered (or common) treatment timing.

    Parameters
    ----------
    panel : DataFrame
        One row per unit × time. Rows with a missing outcome are dropped and listed in ``.dropped``.
    unit, time, outcome : str
        Columns: the unit (borough, ward, LSOA …), a numeric period (year, month index) and the outcome.
    first_treated : str
        Column holding the first period the unit was treated: missing, ``0`` or ``inf`` for never treated.
        Constant within a unit.
    method : {"twfe", "callaway_santanna"}, default "twfe"
    control : {"never", "not_yet"}, default "never"
        Callaway–Sant'Anna comparison units: never treated, or also those not yet treated by ``t + anticipation``.
    covariates : list of str, optional
        Callaway–Sant'Anna: conditioning covariates (base-period values); TWFE: extra regressors.
    anticipation : int, default 0
        Periods before ``first_treated`` in which units may already respond.
    est : {"dr", "ipw", "reg"}, default "dr"
        Callaway–Sant'Anna estimator with covariates (doubly robust, inverse probability weighting, outcome
        regression); without covariates all three are the simple DiD.
    n_boot : int, default 1000
        Multiplier-bootstrap draws for bootstrap SEs and uniform bands (Callaway–Sant'Anna); 0 for none.
    seed : int, default 0
    conf_level : float, default 0.95
    cluster : str, optional
        Cluster column for SEs (default: the unit). Must be constant within unit for Callaway–Sant'Anna.
    quiet : bool, default False
        Silence announcements (what was dropped); they are still recorded.

    Returns
    -------
    DidResult
        See :class:`DidResult`. TWFE's CI uses the t distribution with (clusters − 1) df, as Stata's
        ``regress, vce(cluster)``; Callaway–Sant'Anna's pointwise CIs are normal, its bands use the bootstrap
        sup-t critical value.

    Examples
    --------
    >>> r = did(panel, "ward", "month", "log_asb", "first_month", method="callaway_santanna")  # doctest: +SKIP
    >>> r.aggregations["dynamic"]  # doctest: +SKIP
    """
    check_choice(WHERE, "method", method, ["twfe", "callaway_santanna"])
    check_choice(WHERE, "control", control, ["never", "not_yet"])
    check_choice(WHERE, "est", est, ["dr", "ipw", "reg"])
    check_number(WHERE, "anticipation", anticipation, low=0, integer=True)
    check_number(WHERE, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if n_boot is not None:
        check_number(WHERE, "n_boot", n_boot, low=0, integer=True)
    if seed is not None:
        check_number(WHERE, "seed", seed, low=0, integer=True)
    covariates = list(covariates or [])
    settings: dict[str, Setting] = {}
    for name, value in (("method", method), ("control", control), ("est", est), ("anticipation", anticipation),
                        ("conf_level", conf_level), ("covariates", tuple(covariates))):
        settings[name] = Setting(value, "user", "given by the caller")
    given_or_default(settings, "cluster", cluster, unit, reason="clusters for the SEs",
                     default_reason="clustered by unit")
    P, dropped = _prepare(panel, unit, time, outcome, first_treated, covariates, cluster, anticipation)
    if len(dropped):
        announce(f"{len(dropped)} row(s) with a missing '{outcome}' were left out (first: {unit}="
                 f"{dropped['unit'].iloc[0]!r}, {time}={dropped['time'].iloc[0]:g}); see .dropped.", quiet=quiet)
    if not np.isfinite(P.g).any():
        raise error(WHERE, "No unit is ever treated.", got=f"all values of '{first_treated}' mean never treated",
                    hint="first_treated is the first period a unit was treated; missing/0/inf mean never.")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if method == "twfe":
        df = P.frame()
        table, ncl = _twfe(df, unit, time, outcome, first_treated, covariates, cluster, anticipation, conf_level)
        head = table.iloc[0]
        balanced = df.groupby(unit)[time].nunique().eq(df[time].nunique()).all()
        bacon = None
        notes = []
        if balanced and not covariates and anticipation == 0:
            W = _wide(df, unit, time, outcome)
            g_unit = df.groupby(unit)[first_treated].first().reindex(W.index).to_numpy(float)
            bacon = _bacon.decompose(W.to_numpy(), W.columns.to_numpy(float), g_unit)
        else:
            notes.append("Goodman-Bacon decomposition not computed (it needs a balanced panel with no covariates "
                         "and no anticipation).")
        forbidden = 0.0 if bacon is None else float(
            bacon.loc[bacon["comparison"] == "later vs earlier", "weight"].sum())
        settings["clusters"] = Setting(ncl, "data", "number of clusters for the CR1 SEs", "clusters")
        design = DesignRecord("difference-in-differences", {
            "comparison_units": True,
            "no_already_treated_comparisons": forbidden == 0.0 and bacon is not None,
            "clusters_at_least_30": ncl >= 30,
        }, tuple(notes))
        return DidResult(table=table, settings=settings, method="twfe", estimate=float(head["estimate"]),
                         se=float(head["se"]), ci_low=float(head["ci_low"]), ci_high=float(head["ci_high"]),
                         p_value=float(head["p_value"]), conf_level=conf_level, bacon=bacon, dropped=dropped,
                         design=design, outcome=outcome, n_units=int(df[unit].nunique()))

    # ---- Callaway–Sant'Anna
    n_boot = given_or_default(settings, "n_boot", n_boot, DEFAULT_N_BOOT, reason="multiplier-bootstrap draws",
                              unit="draws")
    seed = given_or_default(settings, "seed", seed, DEFAULT_SEED, reason="seed of the multiplier bootstrap")
    if cluster:
        cc = pd.factorize(pd.Series(P.cluster_values), use_na_sentinel=False)[0]
        nvar = cc != P.per_unit(cc)[P.ui]
        if nvar.any():
            raise error(WHERE, f"Cluster column '{cluster}' must be constant within each unit.",
                        row=f"{unit}={P.units[int(P.ui[nvar].min())]!r}",
                        hint="Cluster on a level above the unit (e.g. borough).")
    P, dropped = _balance(P, dropped, quiet)
    if P.units.size == 0:
        raise error(WHERE, "No treated unit is left after balancing the panel.", hint="See .dropped for why.")
    times = P.times.astype(float)
    g_unit = P.per_unit(P.g).astype(float)
    late = np.isfinite(g_unit) & (g_unit > times[-1])
    if late.any():
        announce(f"{int(late.sum())} unit(s) first treated after the last period ({times[-1]:g}) are used as never "
                 "treated.", quiet=quiet)
        g_unit = np.where(late, np.inf, g_unit)
    cohorts = np.unique(g_unit[np.isfinite(g_unit)])
    if cohorts.size == 0:
        raise error(WHERE, "No treated unit is left after balancing the panel.", hint="See .dropped for why.")
    block_g, block = _cs.unit_blocks(g_unit)
    nb = np.bincount(block).astype(float)
    g, t, b, ti, bi, tr_b, cm_b = _cs.plan_cells(times, cohorts, block_g, control, anticipation)
    n_ctrl = nb @ cm_b
    if (n_ctrl == 0).any():
        k = int(np.flatnonzero(n_ctrl == 0)[0])
        bad = sorted({float(x) for x in g[n_ctrl == 0]})
        raise error(WHERE, f"Cohort(s) {[f'{x:g}' for x in bad]} have no valid comparison units "
                           f"(first: cohort {g[k]:g} in period {t[k]:g}, with control='{control}').",
                    hint=("add never-treated units, use control='not_yet', or end the panel before the last cohort "
                          "is treated") if control == "never" else
                         "end the panel before the last cohort is treated, or add never-treated units.")
    Y = _wide_array(P, P.y)
    if covariates:
        Xb = np.stack([_wide_array(P, P.X[c]) for c in covariates], axis=2)
        try:
            cells = _cs.att_gt_cov(Y, Xb, ti, bi, tr_b[block], cm_b[block], g, t, b, est)
        except np.linalg.LinAlgError as exc:
            raise error(WHERE, f"The covariate model is singular in a (cohort, period) cell ({exc}).",
                        got=covariates, hint="Drop collinear covariates or ones constant within a cohort.") from exc
        inf = _cs.DenseInf(cells.inf, block)
    else:
        cells = _cs.att_gt_blocks(Y, times, cohorts, g_unit, control, anticipation)
        inf = cells.inf
    ccodes = None
    if cluster:
        ccodes = pd.factorize(pd.Series(P.per_unit(P.cluster_values)))[0]
    se = _cs.se_from_inf(inf, ccodes)
    dof = None
    dfs: dict = {}
    if ccodes is not None and int(ccodes.max()) + 1 < FEW_CLUSTERS:
        n_cl = int(ccodes.max()) + 1

        def cells_of(Yr):
            if covariates:
                c = _cs.att_gt_cov(Yr, Xb, ti, bi, tr_b[block], cm_b[block], g, t, b, est)
                return c, _cs.DenseInf(c.inf, block)
            c = _cs.att_gt_blocks(Yr, times, cohorts, g_unit, control, anticipation)
            return c, c.inf

        dfs = _few_cluster_dof(cells_of, Y.shape, ccodes, block_g, nb, cohorts, seed)
        dof = dfs["overall"]["simple"]
        z = stats.t.ppf(0.5 + conf_level / 2, dof)
        why = (f"{n_cl} clusters of '{cluster}' (fewer than {FEW_CLUSTERS}): Satterthwaite degrees of freedom of the "
               f"clustered variance under independent errors ({DOF_REPLICATES} seeded noise replicates), at most "
               f"{n_cl} − 1")
        settings["critical_value"] = Setting(f"t with {dof:.3g} degrees of freedom (simple ATT)", "data", why)
        announce(f"{n_cl} clusters of '{cluster}': intervals and p-values use t with {dof:.3g} degrees of freedom "
                 f"for the simple ATT (Satterthwaite, at most {n_cl - 1}; each estimate has its own, in .table's "
                 "'df' column).", quiet=quiet)

    def t_crit(d):
        return z if d is None else stats.t.ppf(0.5 + conf_level / 2, d)

    cell_df = dfs.get("cells")
    lo, hi, p = _ci(cells.att, se, t_crit(cell_df), cell_df)
    table = pd.DataFrame({"group": g, "time": t, "base_time": b, "event_time": t - g, "post": g <= t,
                          "n_treated": cells.n_treated, "n_comparison": cells.n_control, "estimate": cells.att,
                          "se": se, "ci_low": lo, "ci_high": hi, "p_value": p})
    if cell_df is not None:
        table["df"] = cell_df
    aggs = _cs.aggregate(cells, inf, block_g, nb, cohorts)
    aggregations: dict[str, pd.DataFrame] = {}
    label = {"simple": None, "dynamic": "event_time", "group": "group", "calendar": "time"}
    overall = {}
    for kind in AGG_KINDS:
        labels, ests, infs, o_est, o_inf = aggs[kind]
        s = _cs.se_from_inf(infs, ccodes)
        k_df = dfs["aggregations"][kind] if dfs else None
        a_lo, a_hi, a_p = _ci(ests, s, t_crit(k_df), k_df)
        frame = pd.DataFrame({"estimate": ests, "se": s, "ci_low": a_lo, "ci_high": a_hi, "p_value": a_p})
        if k_df is not None:
            frame["df"] = k_df
        if label[kind]:
            frame.insert(0, label[kind], labels)
        o_se = float(_cs.se_from_inf(o_inf, ccodes)[0])
        overall[kind] = (o_est, o_se, o_inf)
        if n_boot:
            bse, crit = _cs.multiplier_bootstrap(infs, n_boot, seed, conf_level, ccodes)
            frame["se_boot"] = bse
            frame["band_low"] = ests - crit * bse
            frame["band_high"] = ests + crit * bse
        aggregations[kind] = frame
    summary_rows = []
    for kind in AGG_KINDS:
        o_est, o_se, _ = overall[kind]
        o_df = dfs["overall"][kind] if dfs else None
        o_lo, o_hi, o_p = _ci(o_est, o_se, t_crit(o_df), o_df)
        summary_rows.append({"aggregation": kind, "estimate": o_est, "se": o_se, "ci_low": float(o_lo),
                             "ci_high": float(o_hi), "p_value": float(o_p), **({"df": o_df} if dfs else {})})
    aggregations["overall"] = pd.DataFrame(summary_rows)
    if n_boot:
        bse, crit = _cs.multiplier_bootstrap(inf, n_boot, seed, conf_level, ccodes)
        table["se_boot"] = bse
        table["band_low"] = cells.att - crit * bse
        table["band_high"] = cells.att + crit * bse
        settings["band_critical_value"] = Setting(round(crit, 4), "data",
                                                  "sup-t critical value of the uniform band over all ATT(g, t)")
    W_stat, dfree, W_p = _cs.pretrend_wald(cells, inf)
    pretrend = {"statistic": W_stat, "df": dfree, "p_value": W_p}
    est_s, se_s, _ = overall["simple"]
    lo_s, hi_s, p_s = _ci(est_s, se_s, z, dof)
    notes = []
    if len(dropped):
        notes.append(f"{dropped['unit'].nunique()} unit(s) / {len(dropped)} row(s) left out: "
                     + "; ".join(sorted(dropped["reason"].unique())))
    design = DesignRecord("difference-in-differences", {
        "comparison_units": True,
        "no_already_treated_comparisons": True,
        "parallel_pre_trends_not_rejected": bool(np.isfinite(W_p) and W_p >= 0.05),
        "balanced_panel": True,
    }, tuple(notes))
    return DidResult(table=table, settings=settings, method="callaway_santanna", estimate=float(est_s),
                     se=float(se_s), ci_low=float(lo_s), ci_high=float(hi_s), p_value=float(p_s),
                     conf_level=conf_level, aggregations=aggregations, pretrend=pretrend, dropped=dropped,
                     design=design, outcome=outcome, n_units=int(Y.shape[0]))
