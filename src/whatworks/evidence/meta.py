"""Meta-analysis: pool effects from several studies (fixed or random effects), as R metafor's ``rma()`` does.

``meta(effects, ses, method="REML"|"DL"|"PM"|"FE", knha=False)`` returns the pooled estimate with its SE and
interval, the between-study variance τ², the heterogeneity statistics I², H² and Cochran's Q (with its p-value), the
prediction interval for a new study, a forest plot, a funnel plot and Egger's regression test for small-study effects.

Formulas (Viechtbauer 2005, 2010; metafor documentation), with wᵢ = 1/(vᵢ + τ²), vᵢ = seᵢ²:

* estimate μ̂ = Σwᵢyᵢ / Σwᵢ, SE = 1/√Σwᵢ; interval μ̂ ± z·SE.
* Q = Σ(yᵢ − μ̂_FE)²/vᵢ on k − 1 degrees of freedom (always with the fixed-effect weights).
* τ²: DL (DerSimonian–Laird) = max(0, (Q − (k − 1)) / (Σ1/vᵢ − Σ(1/vᵢ)²/Σ1/vᵢ)); PM (Paule–Mandel) solves
  Σwᵢ(yᵢ − μ̂)² = k − 1; REML maximises the restricted likelihood (its score Σwᵢ²(yᵢ − μ̂)² − Σwᵢ + Σwᵢ²/Σwᵢ = 0);
  FE: τ² = 0. The estimators solved iteratively are solved to 1e-12 (metafor stops at 1e-5 by default).
* I² = 100·τ²/(τ² + ṽ), H² = (τ² + ṽ)/ṽ with the "typical" within-study variance
  ṽ = (k − 1)Σ(1/vᵢ) / ((Σ1/vᵢ)² − Σ(1/vᵢ)²); for FE, I² = 100·max(0, (Q − (k − 1))/Q) and H² = Q/(k − 1).
* Knapp–Hartung (``knha=True``): SE × √s², s² = Σwᵢ(yᵢ − μ̂)²/(k − 1) (not truncated at 1, as metafor), and t
  quantiles on k − 1 df for the interval, the p-value and the prediction interval.
* Prediction interval: μ̂ ± crit·√(SE² + τ²) (for FE it equals the confidence interval).
* Egger's test (Egger et al. 1997; metafor ``regtest(model="lm")``): weighted least squares of yᵢ on seᵢ with weights
  1/vᵢ; the slope's t test (k − 2 df) is the test of funnel asymmetry, the intercept the effect of a study with SE 0.

Equal to metafor 3.8.1 ``rma()`` to 1e-6 on dat.bcg, dat.normand1999 and dat.hackshaw1998 for every method with and
without Knapp–Hartung (tests/golden/make_evidence_meta.R).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result, new_axes, plain_text
from whatworks.errors import error

WHERE = "meta"
METHODS = ("REML", "DL", "PM", "FE")
_TOL = 1e-12

__all__ = ["meta", "MetaResult", "METHODS"]


@dataclass(frozen=True, repr=False)
class MetaResult(Result):
    """A pooled effect. ``.table`` holds one row per study: ``study``, ``estimate``, ``se``, ``ci_low``,
    ``ci_high``, ``weight`` (percent of the total, with the model's weights).

    Attributes
    ----------
    method : str
    knha : bool
    estimate, se, ci_low, ci_high, statistic, p_value : float
        The pooled effect on the scale the effects were given (log rate ratio, mean difference …).
    tau2, I2, H2, Q, Q_df, Q_p_value : float
        Between-study variance, heterogeneity (I² in percent) and Cochran's Q test.
    pi_low, pi_high : float
        Prediction interval: where a new study's true effect is expected to lie.
    egger : dict
        ``statistic``, ``df``, ``p_value`` of Egger's test and ``limit_estimate`` (NaN with fewer than 3 studies).
    conf_level : float
    """

    method: str = "REML"
    knha: bool = False
    k: int = 0
    estimate: float = float("nan")
    se: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    statistic: float = float("nan")
    p_value: float = float("nan")
    tau2: float = 0.0
    I2: float = float("nan")
    H2: float = float("nan")
    Q: float = float("nan")
    Q_df: int = 0
    Q_p_value: float = float("nan")
    pi_low: float = float("nan")
    pi_high: float = float("nan")
    egger: dict = field(default_factory=dict)
    conf_level: float = 0.95

    def _headline(self) -> str:
        return (f"{self.method}{' + Knapp-Hartung' if self.knha else ''}, k = {self.k}: estimate {self.estimate:.4g} "
                f"(SE {self.se:.3g}, {self.conf_level:.0%} CI {self.ci_low:.4g} to {self.ci_high:.4g}), "
                f"tau2 = {self.tau2:.4g}, I2 = {self.I2:.1f}%")

    def summary(self) -> str:
        pct = f"{self.conf_level:.0%}"
        model = "fixed-effect" if self.method == "FE" else f"random-effects ({self.method})"
        text = (f"{self.k} studies pooled by a {model} model{' with the Knapp-Hartung adjustment' if self.knha else ''}: "
                f"pooled effect {self.estimate:.4g} ({pct} CI {self.ci_low:.4g} to {self.ci_high:.4g}; "
                f"p = {self.p_value:.3g}). ")
        text += (f"Heterogeneity: I2 = {self.I2:.1f}% of the variation is between studies (Q = {self.Q:.2f} on "
                 f"{self.Q_df} df, p = {self.Q_p_value:.3g}); tau2 = {self.tau2:.4g}. ")
        if self.method != "FE":
            text += (f"A new study's true effect would be expected between {self.pi_low:.4g} and {self.pi_high:.4g} "
                     f"({pct} prediction interval). ")
        eg = self.egger
        if eg and np.isfinite(eg.get("p_value", np.nan)):
            text += (f"Egger's test p = {eg['p_value']:.3g}: "
                     + ("small studies report different effects from large ones (possible publication bias)."
                        if eg["p_value"] < 0.10 else "no evidence of small-study effects."))
        return text.strip()

    def _draw(self, ax) -> None:
        self.forest(ax)

    def forest(self, ax=None):
        """Forest plot: each study's effect and interval, sized by weight, with the pooled diamond."""
        fig, ax = new_axes(ax, figsize=(8, max(3.0, 0.35 * (self.k + 3))))
        t = self.table
        y = np.arange(len(t), 0, -1)
        ax.errorbar(t["estimate"], y, xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                    fmt="none", color=PALETTE["black"], lw=1)
        ax.scatter(t["estimate"], y, s=20 + 3 * t["weight"], marker="s", color=PALETTE["blue"], zorder=3)
        d = np.array([[self.ci_low, 0], [self.estimate, 0.3], [self.ci_high, 0], [self.estimate, -0.3]])
        ax.fill(d[:, 0], d[:, 1], color=PALETTE["vermillion"])
        if self.method != "FE":
            ax.hlines(0, self.pi_low, self.pi_high, color=PALETTE["vermillion"], lw=1, linestyles="dotted")
        ax.axvline(0, color=PALETTE["grey"], lw=0.8)
        ax.set_yticks(list(y) + [0], [str(s) for s in t["study"]] + ["pooled"])
        ax.set_xlabel(f"effect ({self.conf_level:.0%} CI)")
        ax.set_title(self._headline(), fontsize=9)
        return plain_text(fig)

    def funnel(self, ax=None):
        """Funnel plot: effect against standard error (inverted), with the pseudo 95% region around the
        fixed-effect estimate, and Egger's test in the title."""
        fig, ax = new_axes(ax)
        t = self.table
        se_max = float(t["se"].max()) * 1.05
        grid = np.linspace(0, se_max, 50)
        z = stats.norm.ppf(0.975)
        centre = self.estimate
        ax.plot(centre - z * grid, grid, color=PALETTE["grey"], lw=0.8)
        ax.plot(centre + z * grid, grid, color=PALETTE["grey"], lw=0.8)
        ax.axvline(centre, color=PALETTE["vermillion"], lw=1)
        ax.scatter(t["estimate"], t["se"], color=PALETTE["blue"], zorder=3)
        ax.set_ylim(se_max, 0)
        ax.set_xlabel("effect")
        ax.set_ylabel("standard error")
        eg = self.egger
        p = eg.get("p_value", np.nan) if eg else np.nan
        ax.set_title(f"Funnel plot; Egger's test p = {p:.3g}" if np.isfinite(p) else "Funnel plot", fontsize=9)
        return plain_text(fig)


def _as_vector(name: str, values, k: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise error(WHERE, f"'{name}' must be numbers.", got=values,
                    hint="Pass a list, array or DataFrame column of numbers.") from None
    if k is not None and len(arr) != k:
        raise error(WHERE, f"'{name}' must have one value per study.", expected=f"{k} values", got=len(arr))
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"Every value of '{name}' must be a finite number; a study without one cannot be pooled.",
                    got=values[i] if hasattr(values, "__getitem__") else arr[i], row=f"study {i + 1}",
                    hint="Drop the study or find its standard error (from its CI: (high - low) / (2 x 1.96)).")
    return arr


def _fe_weights(y, v, tau2):
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    return w, mu


def _tau2_dl(y, v) -> float:
    w = 1 / v
    _, mu = _fe_weights(y, v, 0.0)
    q = float(np.sum(w * (y - mu) ** 2))
    c = float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / c)


def _upper(f, start: float) -> float:
    hi = max(start, 1e-4)
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2
    raise error(WHERE, "The between-study variance could not be bracketed; the estimator did not converge.",
                hint="Try method='DL', which has a closed form.")


def _tau2_pm(y, v) -> float:
    k = len(y)

    def f(t2):
        w, mu = _fe_weights(y, v, t2)
        return float(np.sum(w * (y - mu) ** 2)) - (k - 1)

    if f(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(f, 0.0, _upper(f, np.var(y)), xtol=_TOL, rtol=4 * np.finfo(float).eps, maxiter=500))


def _tau2_reml(y, v) -> float:
    def score(t2):
        w, mu = _fe_weights(y, v, t2)
        sw = np.sum(w)
        return float(np.sum(w ** 2 * (y - mu) ** 2) - sw + np.sum(w ** 2) / sw)

    if score(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(score, 0.0, _upper(score, np.var(y)), xtol=_TOL, rtol=4 * np.finfo(float).eps,
                                 maxiter=500))


def _egger(y, se) -> dict:
    k = len(y)
    # undefined with fewer than 3 studies or when every study has the same SE (no spread to regress on)
    if k < 3 or np.ptp(se) <= 1e-12 * float(np.max(se)):
        return {"statistic": float("nan"), "df": k - 2, "p_value": float("nan"), "limit_estimate": float("nan")}
    X = np.column_stack([np.ones(k), se])
    W = 1 / se ** 2
    XtW = X.T * W
    beta = np.linalg.solve(XtW @ X, XtW @ y)
    resid = y - X @ beta
    sigma2 = float(np.sum(W * resid ** 2) / (k - 2))
    cov = sigma2 * np.linalg.inv(XtW @ X)
    t = float(beta[1] / np.sqrt(cov[1, 1]))
    return {"statistic": t, "df": k - 2, "p_value": float(2 * stats.t.sf(abs(t), k - 2)),
            "limit_estimate": float(beta[0])}


def meta(effects, ses, *, method: str = "REML", knha: bool = False, conf_level: float | None = None,
         studies: Sequence[str] | None = None, quiet: bool = False) -> MetaResult:
    """Pool study effects by a fixed- or random-effects meta-analysis (metafor ``rma()``).

    Parameters
    ----------
    effects : sequence of float
        Each study's effect on an additive scale: a log rate ratio, log odds ratio, mean difference … (see
        :func:`whatworks.evidence.effect_size` to compute them from counts).
    ses : sequence of float
        Each effect's standard error (> 0). A study without one cannot be pooled.
    method : {"REML", "DL", "PM", "FE"}, default "REML"
        The τ² estimator (restricted maximum likelihood, DerSimonian–Laird, Paule–Mandel) or a fixed-effect model.
    knha : bool, default False
        Knapp–Hartung adjustment of the SE, with t quantiles on k − 1 df (recommended for random effects with few
        studies).
    conf_level : float, optional
        Level of the confidence and prediction intervals; ``None`` means 0.95.
    studies : sequence of str, optional
        Study labels for the table and the forest plot; ``None`` numbers them 1 … k.
    quiet : bool, default False
        Nothing is announced by this function (no default is chosen from the data); kept for the house signature.

    Returns
    -------
    MetaResult

    Examples
    --------
    >>> r = meta([-0.9, -1.6, -1.4], [0.57, 0.44, 0.64], method="DL")
    >>> round(r.estimate, 3)
    -1.353
    """
    del quiet
    settings: dict[str, Setting] = {}
    if method not in METHODS:
        raise error(WHERE, "The 'method' parameter must be one of " + ", ".join(METHODS) + ".", got=method,
                    hint='"REML" is the usual random-effects choice; "FE" assumes one common true effect.')
    if not isinstance(knha, (bool, np.bool_)):
        raise error(WHERE, "The 'knha' parameter must be True or False.", got=knha)
    level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="level of the confidence intervals")
    if not (0 < float(level) < 1):
        raise error(WHERE, "The 'conf_level' parameter must be between 0 and 1.", got=conf_level, hint="e.g. 0.95")
    y = _as_vector("effects", effects)
    k = len(y)
    if k < 2:
        raise error(WHERE, "A meta-analysis needs at least two studies.", got=k)
    se = _as_vector("ses", ses, k)
    if (se <= 0).any():
        i = int(np.flatnonzero(se <= 0)[0])
        raise error(WHERE, "Every standard error must be greater than 0.", got=float(se[i]), row=f"study {i + 1}",
                    hint="A standard error is never negative or zero; check the study's reported interval.")
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise error(WHERE, "'studies' must have one label per study.", expected=f"{k} labels", got=len(labels))
    settings["method"] = Setting(method, "user" if method != "REML" else "default", "tau-squared estimator")
    settings["knha"] = Setting(bool(knha), "user", "Knapp-Hartung adjustment")
    v = se ** 2
    wf = 1 / v
    _, mu_fe = _fe_weights(y, v, 0.0)
    Q = float(np.sum(wf * (y - mu_fe) ** 2))
    df = k - 1
    tau2 = {"FE": lambda: 0.0, "DL": lambda: _tau2_dl(y, v), "PM": lambda: _tau2_pm(y, v),
            "REML": lambda: _tau2_reml(y, v)}[method]()
    w, mu = _fe_weights(y, v, tau2)
    se_mu = float(1 / np.sqrt(np.sum(w)))
    alpha = 1 - float(level)
    if knha:
        s2 = float(np.sum(w * (y - mu) ** 2) / df)
        se_mu *= np.sqrt(s2)
        crit = float(stats.t.ppf(1 - alpha / 2, df))
        stat = mu / se_mu
        p = float(2 * stats.t.sf(abs(stat), df))
    else:
        crit = float(stats.norm.ppf(1 - alpha / 2))
        stat = mu / se_mu
        p = float(2 * stats.norm.sf(abs(stat)))
    if method == "FE":
        I2 = 100 * max(0.0, (Q - df) / Q) if Q > 0 else 0.0
        H2 = Q / df
    else:
        vt = df * np.sum(wf) / (np.sum(wf) ** 2 - np.sum(wf ** 2))
        I2 = float(100 * tau2 / (tau2 + vt))
        H2 = float((tau2 + vt) / vt)
    half_pi = crit * np.sqrt(se_mu ** 2 + tau2)
    zi = float(stats.norm.ppf(1 - alpha / 2))
    table = pd.DataFrame({"study": labels, "estimate": y, "se": se, "ci_low": y - zi * se, "ci_high": y + zi * se,
                          "weight": 100 * w / np.sum(w)})
    return MetaResult(table=table, settings=settings, method=method, knha=bool(knha), k=k, estimate=float(mu),
                      se=float(se_mu), ci_low=float(mu - crit * se_mu), ci_high=float(mu + crit * se_mu),
                      statistic=float(stat), p_value=p, tau2=float(tau2), I2=float(I2), H2=float(H2), Q=Q, Q_df=df,
                      Q_p_value=float(stats.chi2.sf(Q, df)), pi_low=float(mu - half_pi), pi_high=float(mu + half_pi),
                      egger=_egger(y, se), conf_level=float(level))
