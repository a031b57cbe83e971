"""The confidence model: what drives public confidence (issue 15, item 5).

``drivers(design, outcome, drivers)`` fits a survey-weighted logistic regression of a 0/1 outcome (confident / not)
on the driver items (and optional ``controls``), with design-based sandwich SEs — R's
``svyglm(outcome ~ ..., family = quasibinomial)``: ``V = A⁻¹ V̂_design(U) A⁻¹`` with ``A = X'diag(w μ(1−μ))X`` and
scores ``U_i = w_i x_i (y_i − μ_i)`` summed over PSUs within strata (and made calibration residuals for a raked design).

Relative importance: **Johnson's relative weights** for logistic regression (Johnson 2000; Tonidandel & LeBreton
2010). The drivers (weighted, standardised) are replaced by their closest orthogonal counterparts
``Z = X R^{−1/2}``; the outcome is regressed on ``Z`` (with the controls); the fully standardised coefficients
``β*_k = b_k · R / s(logit ŷ)`` (``R`` the correlation of ``y`` with ``ŷ``) are carried back through ``Λ = R^{1/2}``:
``ε_j = Σ_k Λ_jk² β*_k²``. Each driver's ``share`` is ``ε_j / Σε`` — its part of what the drivers explain, which,
unlike a coefficient, accounts for drivers being correlated with one another (items share an attitude factor).
Bootstrap CIs resample PSUs with replacement within strata (``n_boot`` draws, ``seed``), re-weighting by the counts.

The driver map (``.plot()``): importance share against current performance (weighted % agreeing, 4 or 5 on a 1–5
item, or the mean for other scales). Top left — important and weak — is where to act.

References: Johnson (2000) Multivariate Behavioral Research 35: 1–19; Tonidandel & LeBreton (2010) J Bus Psychol 25:
1–9; Stanko & Bradford (2009) Policing 3: 322–330 (the MPS confidence model); Lumley (2010) ch. 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, require_columns
from whatworks.errors import error

WHERE = "drivers"
IRLS_TOL = 1e-12
IRLS_MAX_ITER = 100
AGREE_FROM = 4  # on a 1–5 agreement item, 4 (agree) and 5 (strongly agree) count as agreeing


def _outcome(design, outcome):
    s = design.data[outcome]
    if s.isna().any():
        first = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise error(WHERE, f"Outcome '{outcome}' has missing values.", row=f"position {first}",
                    hint="Use design.subset(...) on the respondents who answered.")
    y = pd.to_numeric(s.astype(float) if pd.api.types.is_bool_dtype(s) else s, errors="coerce")
    if y.isna().any() or not set(np.unique(y)) <= {0.0, 1.0}:
        raise error(WHERE, f"Outcome '{outcome}' must be 0/1 or True/False.", got=s[~y.isin([0, 1])].iloc[0],
                    hint="e.g. confident = good_job in ('Excellent', 'Good').")
    return y.to_numpy(float)


def _matrix(design, cols):
    out, names = [], []
    for c in cols:
        s = design.data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            if s.isna().any():
                first = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise error(WHERE, f"Column '{c}' has missing values.", row=f"position {first}",
                            hint="Model the respondents who answered every item (design.subset).")
            out.append(s.to_numpy(float))
            names.append(c)
        else:
            levels = sorted(pd.unique(s.astype(str)))
            for lev in levels[1:]:
                out.append((s.astype(str) == lev).to_numpy(float))
                names.append(f"{c}{lev}")
    return (np.column_stack(out) if out else np.zeros((len(design), 0))), names


def _irls(X, y, w):
    beta = np.zeros(X.shape[1])
    for _ in range(IRLS_MAX_ITER):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        W = w * mu * (1 - mu)
        H = (X * W[:, None]).T @ X
        step = np.linalg.solve(H, X.T @ (w * (y - mu)))
        beta = beta + step
        if np.max(np.abs(step)) < IRLS_TOL * (1 + np.max(np.abs(beta))):
            break
    else:
        raise error(WHERE, "The logistic regression did not converge.", hint="A driver may separate the outcome perfectly.")
    eta = X @ beta
    mu = 1 / (1 + np.exp(-eta))
    return beta, mu, np.linalg.inv((X * (w * mu * (1 - mu))[:, None]).T @ X)


def svyglm_logit(design, y: np.ndarray, X: np.ndarray):
    """Survey-weighted logistic regression: coefficients, design-based covariance (R ``svyglm(quasibinomial)``)."""
    w = design._w
    beta, mu, Ainv = _irls(X, y, w)
    U = X * (w * (y - mu))[:, None]
    V = Ainv @ design._vcov(U) @ Ainv
    return beta, V, mu


def _wstd(X, w):
    m = np.average(X, axis=0, weights=w)
    sd = np.sqrt(np.average((X - m) ** 2, axis=0, weights=w))
    if (sd == 0).any():
        raise error(WHERE, "A driver does not vary in the sample.", hint="Drop it.")
    return (X - m) / sd


def _relative_weights(Xd, C, y, w):
    Zs = _wstd(Xd, w)
    R = (Zs * w[:, None]).T @ Zs / w.sum()
    evals, P = np.linalg.eigh(R)
    if evals.min() <= 1e-10:
        raise error(WHERE, "The drivers are perfectly collinear.", hint="Drop a driver that is a combination of others.")
    Lam = P @ np.diag(np.sqrt(evals)) @ P.T
    Z = Zs @ P @ np.diag(1 / np.sqrt(evals)) @ P.T
    k = Xd.shape[1]
    M = np.column_stack([np.ones(len(y)), Z, C])
    b, mu, _ = _irls(M, y, w)
    eta = M @ b
    sd_eta = np.sqrt(np.average((eta - np.average(eta, weights=w)) ** 2, weights=w))
    ym, mm = np.average(y, weights=w), np.average(mu, weights=w)
    r = np.average((y - ym) * (mu - mm), weights=w) / np.sqrt(np.average((y - ym) ** 2, weights=w) * np.average((mu - mm) ** 2, weights=w))
    beta_star = b[1:1 + k] * r / sd_eta
    eps = (Lam ** 2) @ (beta_star ** 2)
    return eps


def _boot_weights(design, rng):
    """One design bootstrap replicate: resample PSUs with replacement within strata; weights × times drawn."""
    psu, strata = design._psu, design._strata
    psu_stratum = np.zeros(psu.max() + 1, dtype=np.int64)
    psu_stratum[psu] = strata
    count = np.zeros(psu.max() + 1)
    for h in np.unique(psu_stratum):
        ids = np.flatnonzero(psu_stratum == h)
        np.add.at(count, rng.choice(ids, ids.size, replace=True), 1.0)
    return design._w * count[psu]


@dataclass(frozen=True, repr=False)
class DriversResult(Result):
    """``.table``: one row per driver (and ``group`` when split) — ``importance`` (raw relative weight), ``share``
    (of what the drivers explain) with bootstrap ``ci_low``/``ci_high``, ``rank``, ``performance``;
    ``.model``: the logistic regression — ``term``, ``estimate`` (log-odds), ``se``, ``ci_low``, ``ci_high``,
    ``p_value``, ``odds_ratio`` (and ``group``)."""

    outcome: str = ""
    model: pd.DataFrame = field(default_factory=pd.DataFrame)
    split: str | None = None
    performance_label: str = "% agreeing"

    def summary(self) -> str:
        lines = []
        for g, t in (self.table.groupby("group", sort=False) if self.split else [(None, self.table)]):
            t = t.sort_values("rank")
            top = ", ".join(f"{r.driver} ({r.share:.0%})" for r in t.head(3).itertuples())
            act = t[(t["share"] >= t["share"].median()) & (t["performance"] <= t["performance"].median())]
            head = f"{self.split} = {g}: " if self.split else ""
            lines.append(f"{head}{self.outcome} is driven most by {top} of what the drivers explain"
                         + (f"; act first on {', '.join(act['driver'])} (important and weak now)." if len(act) else "."))
        m = self.model
        for term in m["term"]:
            if "contact" in term:
                r = m[m["term"] == term].iloc[0]
                lines.append(f"Holding the drivers fixed, {term} changes the odds of {self.outcome} by ×{r['odds_ratio']:.2f} "
                             f"({r['ci_low']:+.2f} to {r['ci_high']:+.2f} on the log-odds scale).")
                break
        return " ".join(lines)

    def _headline(self) -> str:
        return f"{self.outcome}: {len(self.table)} driver rows"

    def _draw(self, ax) -> None:
        t = self.table
        groups = list(t.groupby("group", sort=False)) if self.split else [(None, t)]
        colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["purple"]]
        for (g, part), col in zip(groups, colours):
            ax.errorbar(part["performance"], part["share"], yerr=[part["share"] - part["ci_low"], part["ci_high"] - part["share"]],
                        fmt="o", color=col, capsize=3, label=f"{self.split} = {g}" if self.split else None)
            for r in part.itertuples():
                ax.annotate(r.driver.replace("_", " "), (r.performance, r.share), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.axhline(t["share"].median(), color=PALETTE["grey"], lw=0.8, ls="--")
        ax.axvline(t["performance"].median(), color=PALETTE["grey"], lw=0.8, ls="--")
        ax.text(0.01, 0.98, "important, weak now: act here", transform=ax.transAxes, va="top", fontsize=8, color=PALETTE["vermillion"])
        ax.text(0.99, 0.98, "important, strong: maintain", transform=ax.transAxes, va="top", ha="right", fontsize=8)
        ax.set_xlabel(f"current performance ({self.performance_label})")
        ax.set_ylabel("importance (share of explained confidence)")
        ax.set_title(f"Driver map: {self.outcome}")
        if self.split:
            ax.legend(fontsize=8)


def _fit(design, y, drivers, controls, n_boot, rng, z, dfree):
    Xd, dnames = _matrix(design, drivers)
    C, cnames = _matrix(design, controls)
    X = np.column_stack([np.ones(len(y)), Xd, C])
    beta, V, _ = svyglm_logit(design, y, X)
    se = np.sqrt(np.diag(V))
    t = stats.t.ppf(0.5 + z / 2, dfree) if dfree > 0 else np.inf
    model = pd.DataFrame({"term": ["(Intercept)", *dnames, *cnames], "estimate": beta, "se": se,
                          "ci_low": beta - t * se, "ci_high": beta + t * se,
                          "p_value": 2 * stats.t.sf(np.abs(beta / se), dfree) if dfree > 0 else np.nan,
                          "odds_ratio": np.exp(beta)})
    inset = design._w > 0
    w = design._w
    eps = _relative_weights(Xd[inset], C[inset], y[inset], w[inset])
    share = eps / eps.sum()
    boots = np.empty((n_boot, len(eps)))
    for b in range(n_boot):
        wb = _boot_weights(design, rng)
        keep = wb > 0
        e = _relative_weights(Xd[keep], C[keep], y[keep], wb[keep])
        boots[b] = e / e.sum()
    a = (1 - z) / 2
    lo, hi = (np.quantile(boots, [a, 1 - a], axis=0) if n_boot else (np.full(len(eps), np.nan),) * 2)
    return model, pd.DataFrame({"driver": dnames, "importance": eps, "share": share, "ci_low": lo, "ci_high": hi})


def drivers(design, outcome: str, drivers: Sequence[str], *, controls: Sequence[str] | None = None,
            split: str | None = None, n_boot: int | None = None, seed: int | None = None,
            conf_level: float | None = None, quiet: bool = False) -> DriversResult:
    """The confidence model: survey-weighted logistic regression plus relative importance and a driver map.

    Parameters
    ----------
    design : Design
    outcome : str
        0/1 or boolean column (e.g. ``confident``).
    drivers : list of str
        Numeric driver items (e.g. 1–5 agreement with "the police are effective"). Categorical columns enter as dummies.
    controls : list of str, optional
        Terms in the model but not ranked (e.g. ``recent_contact``, ``age_band``).
    split : str, optional
        Fit separately for each value (the standard split: ``recent_contact``, contact vs no contact).
    n_boot : int, default 200
        Bootstrap draws (PSUs resampled within strata) for the importance CIs; 0 for none.
    seed : int, default 0
    conf_level : float, default 0.95

    Examples
    --------
    >>> drivers(design, "confident", ["effectiveness", "fair_treatment", "engagement"], controls=["recent_contact"])  # doctest: +SKIP
    """
    settings: dict[str, Setting] = {}
    n_boot = given_or_default(settings, "n_boot", n_boot, 200, reason="bootstrap draws for importance CIs")
    seed = given_or_default(settings, "seed", seed, 0, reason="seed of the bootstrap")
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(WHERE, "n_boot", n_boot, low=0, integer=True)
    drivers = [drivers] if isinstance(drivers, str) else list(drivers)
    controls = [controls] if isinstance(controls, str) else list(controls or [])
    if len(drivers) < 2:
        raise error(WHERE, "Relative importance needs at least two drivers.", got=drivers)
    require_columns(WHERE, design.data, [outcome, *drivers, *controls, split], arg="design data")
    y = _outcome(design, outcome)
    rng = np.random.default_rng(seed)
    settings["importance"] = Setting("Johnson's relative weights", "default", "Tonidandel & LeBreton (2010) for logistic regression")
    settings["se"] = Setting("design-based sandwich (svyglm quasibinomial)", "default", "Taylor linearisation over PSUs within strata")
    scale = _performance_measures(design, drivers)
    agree = [d for d in drivers if scale[d]]
    other = [d for d in drivers if not scale[d]]
    measure = "; ".join(([f"% agreeing ({AGREE_FROM} or 5) for {', '.join(agree)} (1-5 items)"] if agree else [])
                        + ([f"the weighted mean for {', '.join(other)} (not on a 1-5 scale)"] if other else []))
    settings["performance"] = Setting(measure, "data", "current performance on the driver map, from each item's range")
    announce(f"driver performance set to {measure}.", quiet=quiet)
    dfree = design._degf(design._w > 0)
    settings["degrees_of_freedom"] = Setting(dfree, "data", "PSUs minus strata (for the model's t intervals)")
    announce(f"degrees of freedom of the model's intervals set to {dfree} (PSUs minus strata, as R's svyglm).", quiet=quiet)
    tables, models = [], []
    groups = [(None, np.ones(len(y), bool))] if split is None else [
        (g, (design.data[split] == g).to_numpy()) for g in sorted(pd.unique(design.data[split]))]
    for g, m in groups:
        sub = design.subset(m) if split is not None else design
        model, imp = _fit(sub, y, drivers, controls if split not in controls else [c for c in controls if c != split],
                          int(n_boot), rng, conf_level, sub._degf(sub._w > 0))
        perf = []
        for d in drivers:
            x = pd.to_numeric(design.data[d], errors="coerce").to_numpy(float)
            perf.append(np.average(x >= AGREE_FROM if scale[d] else x, weights=sub._w))
        imp["performance"] = perf
        imp["rank"] = imp["share"].rank(ascending=False, method="min").astype(int)
        if split is not None:
            imp.insert(0, "group", g)
            model.insert(0, "group", g)
        tables.append(imp)
        models.append(model)
    return DriversResult(table=pd.concat(tables, ignore_index=True), settings=settings, outcome=outcome,
                         model=pd.concat(models, ignore_index=True), split=split,
                         performance_label="% agreeing" if not other else ("mean" if not agree else "% agreeing or mean"))


def _performance_measures(design, drivers) -> dict[str, bool]:
    """Whether each driver is a 1–5 agreement item (performance = % agreeing) or another scale (performance = mean)."""
    out = {}
    for d in drivers:
        x = pd.to_numeric(design.data[d], errors="coerce").to_numpy(float)
        out[d] = bool(np.nanmin(x) >= 1 and np.nanmax(x) <= 5 and np.all(np.isin(x[~np.isnan(x)], [1, 2, 3, 4, 5])))
    return out


__all__ = ["drivers", "DriversResult", "svyglm_logit"]
