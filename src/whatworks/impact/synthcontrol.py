"""Synthetic control (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010, 2015).

``synthetic_control(panel, unit, time, outcome, treated_unit, treated_from, ...)`` builds the treated unit's
counterfactual as a weighted average of donor units: weights non-negative and summing to one, chosen so the
synthetic unit matches the treated unit on the predictors before treatment. See docs/impact.md.

Method (as R ``Synth``):

- predictors are averaged over ``predictor_times`` (default: all pre-treatment periods); each special predictor
  ``(column, times, "mean")`` over its own times; with neither, the outcome in every pre-treatment period is a
  predictor. Each predictor row is divided by its standard deviation across all units;
- inner problem: for a diagonal predictor weighting ``V`` (non-negative, sums to one), donor weights
  ``W(V) = argmin (X1 − X0 W)' V (X1 − X0 W)`` over the simplex, solved by SLSQP and then polished exactly on
  its support (the KKT system of the active set);
- outer problem (the nested optimisation): ``V`` minimises the pre-treatment outcome MSPE over ``fit_times``
  (default: all pre-treatment periods), searched with Nelder–Mead and L-BFGS-B on a softmax parameterisation from
  two starts (equal weights, and weights from each predictor's univariate fit); the best is kept. When the only
  predictors are the outcome's own pre-treatment values, ``V`` is equal weights (no outer search) and ``W`` is the
  constrained least-squares fit of the pre-treatment outcome path.
- inference: in-space placebos (each donor treated in turn, the rest as donors; the treated unit's post/pre MSPE
  ratio ranked among them, p = rank / (donors + 1)) and an in-time placebo (a fake start ``placebo_time`` inside
  the pre-period, fitted only on periods before it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from whatworks._announce import Setting, announce, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns, require_dataframe
from whatworks.errors import error
from whatworks.impact._design import DesignRecord

__all__ = ["synthetic_control", "SynthResult", "simplex_least_squares"]

WHERE = "synthetic_control"
SMALL_POOL = 10  # fewer donors than this: the placebo p-value cannot go below 1/(donors + 1) > 0.09


@dataclass(frozen=True, repr=False)
class SynthResult(Result):
    """A synthetic control fit.

    Attributes
    ----------
    table : DataFrame
        One row per period: ``time``, ``treated``, ``synthetic``, ``gap`` (treated − synthetic), ``post``.
    weights : DataFrame
        ``unit``, ``weight`` for every donor (non-negative, sum to one).
    predictor_weights : DataFrame
        ``predictor``, ``weight`` (the diagonal of V, sums to one).
    balance : DataFrame
        ``predictor``, ``treated``, ``synthetic``, ``donor_mean``.
    estimate : float
        Mean post-treatment gap.
    pre_rmspe, post_rmspe, mspe_ratio : float
    placebos : DataFrame
        In-space placebos: ``unit``, ``pre_rmspe``, ``post_rmspe``, ``mspe_ratio``, ``rank`` (treated unit included).
    placebo_gaps : DataFrame
        ``unit``, ``time``, ``gap`` for every placebo (for the spaghetti plot).
    p_value : float
        Rank of the treated unit's MSPE ratio among all units / (donors + 1).
    in_time : DataFrame
        The in-time placebo's path (``time``, ``treated``, ``synthetic``, ``gap``) with ``placebo_time`` in settings.
    warnings : tuple of str
    design : DesignRecord
    """

    weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictor_weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimate: float = float("nan")
    pre_rmspe: float = float("nan")
    post_rmspe: float = float("nan")
    mspe_ratio: float = float("nan")
    placebos: pd.DataFrame = field(default_factory=pd.DataFrame)
    placebo_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    p_value: float = float("nan")
    in_time: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = ()
    design: DesignRecord | None = None
    treated_unit: object = None
    outcome: str = ""
    treated_from: float = float("nan")

    def _headline(self) -> str:
        return f"{self.treated_unit}: mean gap {self.estimate:.4g}, pre-period RMSPE {self.pre_rmspe:.3g}"

    def summary(self) -> str:
        top = self.weights.sort_values("weight", ascending=False)
        top = top[top["weight"] >= 0.01].head(4)
        mix = ", ".join(f"{u} {w:.0%}" for u, w in zip(top["unit"], top["weight"]))
        text = (f"Synthetic control for {self.treated_unit} on {self.outcome}: the synthetic unit is {mix}. "
                f"Before {self.treated_from:g} it tracks {self.treated_unit} with RMSPE {self.pre_rmspe:.3g}; "
                f"afterwards the average gap is {self.estimate:.4g}.")
        if np.isfinite(self.p_value):
            text += (f" Placebo test: the post/pre MSPE ratio ranks {int(self.placebos['rank'].iloc[0])} of "
                     f"{len(self.placebos)} (p = {self.p_value:.3g}).")
        for w in self.warnings:
            text += f" Warning: {w}"
        return text

    def _draw(self, ax) -> None:
        if len(self.placebo_gaps):
            for _, g in self.placebo_gaps.groupby("unit"):
                ax.plot(g["time"], g["gap"], color=PALETTE["grey"], lw=0.8, alpha=0.5)
        ax.plot(self.table["time"], self.table["gap"], color=PALETTE["blue"], lw=2, label=str(self.treated_unit))
        ax.axhline(0, color=PALETTE["black"], lw=1)
        ax.axvline(self.treated_from, color=PALETTE["vermillion"], ls="--", lw=1, label="treatment")
        ax.set_xlabel("time")
        ax.set_ylabel(f"gap in {self.outcome} (treated − synthetic)")
        ax.set_title("Synthetic control: gap and in-space placebos (grey)")
        ax.legend(frameon=False)


# ---------------------------------------------------------------- the inner problem


def simplex_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin ||A w − b||²`` subject to ``w ≥ 0`` and ``sum(w) = 1``.

    SLSQP from equal weights, then polished exactly: on the support found, the equality-constrained KKT system is
    solved and accepted if it stays feasible and its multipliers satisfy the KKT conditions off the support.
    """
    J = A.shape[1]
    if J == 1:
        return np.ones(1)
    H = A.T @ A
    c = A.T @ b
    scale = max(float(np.abs(H).max()), 1e-300)

    def f(w):
        r = A @ w - b
        return float(r @ r) / scale

    def jac(w):
        return 2 * (H @ w - c) / scale

    res = optimize.minimize(f, np.full(J, 1 / J), jac=jac, method="SLSQP", bounds=[(0, 1)] * J,
                            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(J)}],
                            options={"ftol": 1e-15, "maxiter": 1000})
    w = np.clip(res.x, 0, None)
    w = w / w.sum()
    for _ in range(J):
        S = w > 1e-9 * w.max()
        k = int(S.sum())
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = H[np.ix_(S, S)]
        K[:k, k] = 1
        K[k, :k] = 1
        rhs = np.concatenate([c[S], [1.0]])
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
        ws, mu = sol[:k], sol[k]
        if np.any(ws < 0):
            # drop the most negative and try again
            cand = np.zeros(J)
            cand[S] = np.clip(ws, 0, None)
            if cand.sum() <= 0:
                break
            w = cand / cand.sum()
            continue
        cand = np.zeros(J)
        cand[S] = ws
        grad = H @ cand - c
        nu = grad + mu
        if np.all(nu[~S] >= -1e-9 * max(1.0, float(np.abs(grad).max()))) and f(cand) <= f(w) + 1e-12:
            return cand
        break
    return w


def _w_of_v(X0, X1, v):
    s = np.sqrt(v)
    return simplex_least_squares(X0 * s[:, None], X1 * s)


def _fit(X0, X1, Z0, Z1, outcome_only: bool):
    """Nested optimisation: ``(W, V)``."""
    k = X0.shape[0]
    if outcome_only or k == 1:
        v = np.full(k, 1 / k)
        return _w_of_v(X0, X1, v), v

    def loss_theta(theta):
        v = np.exp(theta - theta.max())
        v = v / v.sum()
        w = _w_of_v(X0, X1, v)
        r = Z1 - Z0 @ w
        return float(r @ r) / r.size

    starts = [np.zeros(k)]
    # regression-based start: predictors that explain the pre-period outcome across units get more weight
    Xall = np.column_stack([X0, X1])
    Zall = np.column_stack([Z0, Z1]).mean(0)
    corr = np.array([abs(np.corrcoef(Xall[i], Zall)[0, 1]) if Xall[i].std() > 0 else 0.0 for i in range(k)])
    starts.append(np.log(np.clip(np.nan_to_num(corr), 1e-3, None)))
    best = None
    for th0 in starts:
        for method, opts in (("Nelder-Mead", {"maxiter": 400 * k, "xatol": 1e-6, "fatol": 1e-12}),
                             ("L-BFGS-B", {"maxiter": 200})):
            r = optimize.minimize(loss_theta, th0, method=method, options=opts)
            if best is None or r.fun < best.fun:
                best = r
    theta = best.x
    v = np.exp(theta - theta.max())
    v = v / v.sum()
    return _w_of_v(X0, X1, v), v


# ---------------------------------------------------------------- data preparation


def _matrices(wide: Mapping[str, pd.DataFrame], outcome, treated_unit, donors, pre_times, predictors,
              special, predictor_times, fit_times):
    rows, names = [], []
    for col in predictors:
        rows.append(wide[col].loc[:, predictor_times].mean(axis=1))
        names.append(col)
    for i, (col, times, op) in enumerate(special):
        rows.append(wide[col].loc[:, list(times)].mean(axis=1))
        names.append(f"special.{i + 1}.{col}")
    outcome_only = not rows
    if outcome_only:
        for t in pre_times:
            rows.append(wide[outcome][t])
            names.append(f"{outcome}[{t:g}]")
    P = pd.concat(rows, axis=1)
    P.columns = names
    if P.loc[[treated_unit] + donors].isna().any().any():
        bad = P.loc[[treated_unit] + donors].isna().stack()
        u, n = bad[bad].index[0]
        raise error(WHERE, f"Predictor '{n}' has no values for unit {u!r} in the periods used.",
                    hint="Choose predictor periods where every unit has data, or drop the unit from the donors.")
    Xraw = P.loc[[treated_unit] + donors].T.to_numpy(float)  # predictors × units
    sd = Xraw.std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    X = Xraw / sd[:, None]
    Z = wide[outcome].loc[[treated_unit] + donors, fit_times].T.to_numpy(float)
    return X[:, 1:], X[:, 0], Z[:, 1:], Z[:, 0], Xraw, names, outcome_only


def _one(wide, outcome, treated_unit, donors, times, treated_from, predictors, special, predictor_times,
         fit_times):
    pre = [t for t in times if t < treated_from]
    X0, X1, Z0, Z1, Xraw, names, only = _matrices(wide, outcome, treated_unit, donors, pre, predictors, special,
                                                  predictor_times, fit_times)
    w, v = _fit(X0, X1, Z0, Z1, only)
    Y = wide[outcome].loc[[treated_unit] + donors, times].to_numpy(float)
    synth = Y[1:].T @ w
    gap = Y[0] - synth
    post = np.asarray(times) >= treated_from
    pre_mspe = float(np.mean(gap[~post] ** 2))
    post_mspe = float(np.mean(gap[post] ** 2)) if post.any() else float("nan")
    return dict(w=w, v=v, synth=synth, gap=gap, y=Y[0], post=post, pre_mspe=pre_mspe, post_mspe=post_mspe,
                Xraw=Xraw, names=names, only=only)


def synthetic_control(panel: pd.DataFrame, unit: str, time: str, outcome: str, treated_unit, treated_from, *,
                      predictors: Sequence[str] | None = None,
                      special_predictors: Sequence[tuple[str, Sequence, str]] | None = None,
                      donors: Sequence | None = None, predictor_times: Sequence | None = None,
                      fit_times: Sequence | None = None, placebos: bool = True, placebo_time=None,
                      quiet: bool = False) -> SynthResult:
    """Synthetic control for one treated unit.

    Parameters
    ----------
    panel : DataFrame
        Long panel, one row per unit × time.
    unit, time, outcome : str
        Columns. ``time`` is numeric (year, month index).
    treated_unit
        The value of ``unit`` that was treated (e.g. the borough).
    treated_from
        First treated period.
    predictors : list of str, optional
        Columns averaged over ``predictor_times`` (default: every pre-treatment period).
    special_predictors : list of (column, times, "mean"), optional
        Columns averaged over their own periods (e.g. ``("asb", [2019, 2020], "mean")``). With neither
        ``predictors`` nor ``special_predictors`` the outcome in each pre-treatment period is a predictor.
    donors : list, optional
        Donor units (default: every other unit).
    predictor_times, fit_times : list, optional
        Periods for averaging ``predictors`` and for the pre-period fit that chooses V (default: all pre-periods).
    placebos : bool, default True
        Run the in-space placebos (each donor in turn) and the in-time placebo.
    placebo_time : optional
        Fake start for the in-time placebo (default: the middle pre-treatment period, announced).
    quiet : bool, default False

    Returns
    -------
    SynthResult

    References
    ----------
    Abadie, A. and Gardeazabal, J. (2003). The economic costs of conflict. AER 93(1). Abadie, A., Diamond, A. and
    Hainmueller, J. (2010). Synthetic control methods for comparative case studies. JASA 105(490).
    """
    require_dataframe(WHERE, "panel", panel)
    predictors = list(predictors or [])
    special = [tuple(s) for s in (special_predictors or [])]
    for s in special:
        if len(s) != 3 or s[2] != "mean":
            raise error(WHERE, "Each special predictor must be a (column, times, 'mean') tuple.", got=s,
                        hint="e.g. ('asb', [10, 11, 12], 'mean').")
    require_columns(WHERE, panel, [unit, time, outcome] + predictors + [s[0] for s in special], arg="panel")
    df = panel.copy()
    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise error(WHERE, f"The panel must have one row per {unit} × {time}.",
                    row=f"position {i} ({unit}={df[unit].iloc[i]!r}, {time}={df[time].iloc[i]})",
                    hint="Aggregate or drop the duplicates first.")
    units = list(pd.unique(df[unit]))
    if treated_unit not in units:
        raise error(WHERE, f"The treated unit is not in column '{unit}'.", got=treated_unit,
                    expected=f"one of {units[:10]}")
    times = sorted(df[time].unique().tolist())
    pre = [t for t in times if t < treated_from]
    if len(pre) < 2:
        raise error(WHERE, f"At least two periods before treated_from are needed; there are {len(pre)}.",
                    got=treated_from, hint="Check treated_from, or supply more pre-treatment data.")
    donors = [u for u in (list(donors) if donors is not None else units) if u != treated_unit]
    if not donors:
        raise error(WHERE, "No donor units.", hint="The panel needs other units to build the synthetic unit from.")
    cols = list(dict.fromkeys([outcome] + predictors + [s[0] for s in special]))
    wide = {c: df.pivot(index=unit, columns=time, values=c) for c in cols}
    Yw = wide[outcome].loc[[treated_unit] + donors, times]
    if Yw.isna().any().any():
        bad = Yw.isna().stack()
        u, t = bad[bad].index[0]
        raise error(WHERE, f"Outcome '{outcome}' is missing for {unit}={u!r} at {time}={t}.",
                    hint="Synthetic control needs every unit in every period: fill the gap or drop the unit.")
    settings: dict[str, Setting] = {"treated_unit": Setting(treated_unit), "treated_from": Setting(treated_from),
                                    "donors": Setting(tuple(donors), "user" if donors else "default")}
    predictor_times = list(predictor_times) if predictor_times is not None else pre
    fit_times = list(fit_times) if fit_times is not None else pre
    settings["predictor_times"] = Setting(tuple(predictor_times), "user" if predictor_times != pre else "default",
                                          "periods the predictors are averaged over")
    settings["fit_times"] = Setting(tuple(fit_times), "user" if fit_times != pre else "default",
                                    "pre-period outcomes V is chosen to fit")
    main = _one(wide, outcome, treated_unit, donors, times, treated_from, predictors, special, predictor_times,
                fit_times)
    notes: list[str] = []
    # plain warnings: outside the donors' range (so outside their convex hull), small pool
    X = main["Xraw"]
    out = [(n, X[i, 0]) for i, n in enumerate(main["names"])
           if X[i, 0] > X[i, 1:].max() + 1e-12 or X[i, 0] < X[i, 1:].min() - 1e-12]
    if out:
        notes.append(f"{treated_unit} lies outside the donors' convex hull: on {len(out)} predictor(s) "
                     f"(first: {out[0][0]}) it is beyond every donor, so no weighted average can match it and the "
                     "gap partly reflects that mismatch.")
    if len(donors) < SMALL_POOL:
        notes.append(f"the donor pool is small ({len(donors)} units): the placebo p-value cannot be below "
                     f"1/{len(donors) + 1} = {1 / (len(donors) + 1):.3f}, and one odd donor can drive the fit.")
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=2)
    table = pd.DataFrame({"time": times, "treated": main["y"], "synthetic": main["synth"], "gap": main["gap"],
                          "post": main["post"]})
    weights = pd.DataFrame({"unit": donors, "weight": main["w"]})
    vtab = pd.DataFrame({"predictor": main["names"], "weight": main["v"]})
    balance = pd.DataFrame({"predictor": main["names"], "treated": X[:, 0], "synthetic": X[:, 1:] @ main["w"],
                            "donor_mean": X[:, 1:].mean(1)})
    est = float(main["gap"][main["post"]].mean()) if main["post"].any() else float("nan")
    ratio = main["post_mspe"] / main["pre_mspe"] if main["pre_mspe"] > 0 else float("inf")
    plac = pd.DataFrame()
    pgaps = pd.DataFrame()
    p_value = float("nan")
    in_time = pd.DataFrame()
    if placebos:
        rows = [{"unit": treated_unit, "pre_rmspe": np.sqrt(main["pre_mspe"]),
                 "post_rmspe": np.sqrt(main["post_mspe"]), "mspe_ratio": ratio}]
        gaps = []
        for d in donors:
            others = [u for u in donors if u != d]
            r = _one(wide, outcome, d, others, times, treated_from, predictors, special, predictor_times, fit_times)
            rows.append({"unit": d, "pre_rmspe": np.sqrt(r["pre_mspe"]), "post_rmspe": np.sqrt(r["post_mspe"]),
                         "mspe_ratio": r["post_mspe"] / r["pre_mspe"] if r["pre_mspe"] > 0 else np.inf})
            gaps.append(pd.DataFrame({"unit": d, "time": times, "gap": r["gap"]}))
        plac = pd.DataFrame(rows)
        plac["rank"] = plac["mspe_ratio"].rank(ascending=False, method="max").astype(int)
        p_value = float(plac["rank"].iloc[0] / len(plac))
        pgaps = pd.concat(gaps, ignore_index=True)
        placebo_time = resolve("placebo_time", placebo_time, lambda: (pre[len(pre) // 2],
                               "the middle pre-treatment period"), unit="(time)", quiet=quiet, settings=settings)
        pre_fake = [t for t in pre if t < placebo_time]
        if len(pre_fake) >= 2:
            ptimes = [t for t in pre_fake if t in predictor_times] or pre_fake
            pfit = [t for t in fit_times if t < placebo_time] or pre_fake
            pspecial = [(c, [t for t in ts if t < placebo_time] or pre_fake, op) for c, ts, op in special]
            r = _one(wide, outcome, treated_unit, donors, pre, placebo_time, predictors, pspecial, ptimes, pfit)
            in_time = pd.DataFrame({"time": pre, "treated": r["y"], "synthetic": r["synth"], "gap": r["gap"],
                                    "post": r["post"]})
            settings["in_time_mspe_ratio"] = Setting(
                round(r["post_mspe"] / r["pre_mspe"], 4) if r["pre_mspe"] > 0 else float("inf"), "data",
                "post/pre MSPE ratio at the fake start (near 1 means no spurious effect)")
        else:
            announce(f"in-time placebo skipped: fewer than two periods before {placebo_time}.", quiet=quiet)
    design = DesignRecord("synthetic control", {
        "pre_period_fit_within_10pct_of_outcome_sd": bool(
            np.sqrt(main["pre_mspe"]) <= 0.1 * max(float(np.std(Yw.to_numpy())), 1e-300)),
        "inside_donor_convex_hull": not out,
        "donor_pool_at_least_10": len(donors) >= SMALL_POOL,
    }, tuple(notes))
    return SynthResult(table=table, settings=settings, weights=weights, predictor_weights=vtab, balance=balance,
                       estimate=est, pre_rmspe=float(np.sqrt(main["pre_mspe"])),
                       post_rmspe=float(np.sqrt(main["post_mspe"])), mspe_ratio=float(ratio), placebos=plac,
                       placebo_gaps=pgaps, p_value=p_value, in_time=in_time, warnings=tuple(notes), design=design,
                       treated_unit=treated_unit, outcome=outcome, treated_from=treated_from)
