"""Small-area estimation: the Fay–Herriot area-level model, EBLUP with REML and the Prasad–Rao MSE (issue 15, item 4).

For areas too small for a trustworthy direct survey figure (wards; boroughs in a single quarter) the EBLUP borrows
strength from a regression on area covariates (deprivation, crime rate …):

    direct_d = x_d'β + u_d + e_d,   u_d ~ N(0, σ²_u),   e_d ~ N(0, ψ_d)  with ψ_d = se_d² known

    EBLUP_d = γ_d·direct_d + (1 − γ_d)·x_d'β̂,   γ_d = σ̂²_u / (σ̂²_u + ψ_d)

σ²_u by REML (Fisher scoring, truncated at 0), β̂ by GLS. MSE (Prasad & Rao 1990; Datta & Lahiri 2000 for REML):
``g1 + g2 + 2·g3`` with ``g1 = γψ``, ``g2 = (1−γ)² x'(X'V⁻¹X)⁻¹x``, ``g3 = (1−γ)²/(σ²_u+ψ) · 2/Σ(σ²_u+ψ)⁻²``.
An area with no direct estimate (NaN) gets the synthetic estimate ``x'β̂`` with MSE ``σ̂²_u + x'(X'V⁻¹X)⁻¹x``.

Benchmarking (optional): the EBLUPs are scaled by one ratio so that their population-weighted mean equals the
force-wide direct estimate — published ward figures then add up to the published force figure (announced).

References: Fay & Herriot (1979) JASA 74: 269–277; Prasad & Rao (1990) JASA 85: 163–171; Datta & Lahiri (2000)
Statistica Sinica 10: 613–627; Rao & Molina (2015) Small Area Estimation, 2nd ed., ch. 6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number
from whatworks.errors import error

WHERE = "small_area"
REML_TOL = 1e-12
REML_MAX_ITER = 200


def _as_series(name, v, index=None) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.astype(float)
    a = np.asarray(v, dtype=float)
    if a.ndim != 1:
        raise error(WHERE, f"'{name}' must be one value per area.", got=a.shape)
    return pd.Series(a, index=index if index is not None else pd.RangeIndex(a.size), name=name)


def _reml(y, X, psi, tol, max_iter):
    s2 = max(float(np.var(y - X @ np.linalg.lstsq(X, y, rcond=None)[0]) - np.mean(psi)), 1e-3 * np.mean(psi))
    for it in range(1, max_iter + 1):
        v = s2 + psi
        A = (X / v[:, None]).T @ X
        Ainv = np.linalg.inv(A)
        beta = Ainv @ (X / v[:, None]).T @ y
        r = y - X @ beta
        B2 = (X / v[:, None] ** 2).T @ X
        B3 = (X / v[:, None] ** 3).T @ X
        tr_p = np.sum(1 / v) - np.trace(Ainv @ B2)
        AB2 = Ainv @ B2
        tr_pp = np.sum(1 / v ** 2) - 2 * np.trace(Ainv @ B3) + np.trace(AB2 @ AB2)
        # y'PPy where Py = r / v (r the GLS residual)
        score = -0.5 * tr_p + 0.5 * np.sum((r / v) ** 2)
        step = score / (0.5 * tr_pp)
        new = max(s2 + step, 0.0)
        if abs(new - s2) <= tol * max(1.0, s2):
            s2 = new
            break
        s2 = new
    else:
        raise error(WHERE, f"REML did not converge in {max_iter} iterations.", got=f"sigma2_u {s2:.6g}",
                    hint="Check for an outlying direct estimate or a near-zero SE.")
    return s2, it


@dataclass(frozen=True, repr=False)
class SmallAreaResult(Result):
    """``.table``: one row per area — ``direct``, ``direct_se``, ``synthetic`` (x'β̂), ``gamma`` (weight on the direct
    figure), ``estimate`` (the EBLUP, benchmarked when asked), ``mse``, ``se`` (√MSE), ``ci_low``, ``ci_high``,
    ``has_direct``. ``.sigma2_u`` the area variance, ``.coefficients`` β̂ with SEs."""

    sigma2_u: float = 0.0
    coefficients: pd.DataFrame | None = None
    benchmark_factor: float | None = None

    def summary(self) -> str:
        t = self.table
        gain = np.nanmedian(t.loc[t["has_direct"], "direct_se"] / t.loc[t["has_direct"], "se"]) if t["has_direct"].any() else np.nan
        txt = (f"Fay–Herriot estimates for {len(t):,} areas ({int((~t['has_direct']).sum())} without a direct figure): "
               f"area variance {self.sigma2_u:.4g}; the median area leans {np.median(t['gamma']):.0%} on its own survey figure, "
               f"and its SE is {gain:.2f} times smaller than the direct SE.")
        if self.benchmark_factor is not None:
            txt += f" Benchmarked to the force-wide direct estimate (factor {self.benchmark_factor:.4f})."
        return txt

    def _headline(self) -> str:
        return f"{len(self.table)} areas, sigma2_u {self.sigma2_u:.4g}"

    def _draw(self, ax) -> None:
        t = self.table[self.table["has_direct"]]
        ax.scatter(t["direct"], t["estimate"], s=12, color=PALETTE["blue"])
        lo, hi = np.nanmin(t[["direct", "estimate"]].to_numpy()), np.nanmax(t[["direct", "estimate"]].to_numpy())
        ax.plot([lo, hi], [lo, hi], color=PALETTE["grey"], lw=1)
        ax.set_xlabel("direct survey estimate")
        ax.set_ylabel("small-area estimate (EBLUP)")
        ax.set_title("Small-area estimates shrink noisy direct figures towards the model")


def small_area(direct, se, covariates=None, *, method: str = "REML", benchmark: float | None = None,
               population=None, intercept: bool = True, conf_level: float | None = None,
               quiet: bool = False) -> SmallAreaResult:
    """Fay–Herriot EBLUPs with Prasad–Rao MSEs.

    Parameters
    ----------
    direct : Series or array
        Direct (design-based) estimate per area; NaN for an area with too few interviews (gets the synthetic estimate).
    se : Series or array
        The direct estimates' design-based SEs (ψ = se²); ignored where ``direct`` is NaN.
    covariates : DataFrame, optional
        Area covariates, one row per area, numeric. None: intercept only (shrinks towards the overall mean).
    method : {"REML"}
        How σ²_u is estimated (REML, as R's ``sae::eblupFH`` and ``samplics`` default).
    benchmark : float, optional
        The force-wide direct estimate to benchmark to (ratio benchmarking; needs ``population``).
    population : Series or array, optional
        Population per area: the weights of the benchmark mean.
    intercept : bool, default True
    conf_level : float, default 0.95
        For ``ci_low``/``ci_high`` = estimate ± z·√MSE.
    """
    check_choice(WHERE, "method", method, ["REML"])
    settings: dict[str, Setting] = {"method": Setting(method, "user" if method != "REML" else "default", "estimator of sigma2_u")}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    y = _as_series("direct", direct)
    s = _as_series("se", se, y.index)
    if len(s) != len(y):
        raise error(WHERE, "'direct' and 'se' must have one value per area.", got=f"{len(y)} and {len(s)}")
    has = y.notna().to_numpy()
    bad = has & ~(np.isfinite(s.to_numpy()) & (s.to_numpy() > 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise error(WHERE, "Every area with a direct estimate needs a positive, finite SE.", got=s.iloc[first],
                    row=f"area {y.index[first]!r}", hint="Set direct to NaN for areas whose SE is zero or unknown.")
    if covariates is None:
        Xdf = pd.DataFrame(index=y.index)
    else:
        Xdf = pd.DataFrame(covariates)
        if len(Xdf) != len(y):
            raise error(WHERE, "covariates must have one row per area.", got=f"{len(Xdf)} rows for {len(y)} areas")
        nonnum = [c for c in Xdf.columns if not pd.api.types.is_numeric_dtype(Xdf[c])]
        if nonnum or Xdf.isna().any().any():
            raise error(WHERE, "covariates must be numeric with no missing values.", got=nonnum or "missing values",
                        hint="Make categorical covariates into 0/1 columns (pandas.get_dummies(drop_first=True)).")
    X = Xdf.to_numpy(dtype=float)
    if intercept:
        X = np.column_stack([np.ones(len(y)), X])
    names = (["(Intercept)"] if intercept else []) + [str(c) for c in Xdf.columns]
    if X.shape[1] == 0:
        raise error(WHERE, "The model has no terms.", hint="Keep intercept=True or give covariates.")
    if has.sum() <= X.shape[1]:
        raise error(WHERE, "Too few areas with a direct estimate for the model.", got=f"{int(has.sum())} areas, {X.shape[1]} terms")
    yd, Xd, psi = y.to_numpy()[has], X[has], s.to_numpy()[has] ** 2
    s2, it = _reml(yd, Xd, psi, REML_TOL, REML_MAX_ITER)
    settings["sigma2_u"] = Setting(s2, "data", f"REML, {it} Fisher-scoring iterations" + (" (truncated at 0)" if s2 == 0 else ""))
    v = s2 + psi
    Ainv = np.linalg.inv((Xd / v[:, None]).T @ Xd)
    beta = Ainv @ (Xd / v[:, None]).T @ yd
    synth = X @ beta
    q = np.einsum("ij,jk,ik->i", X, Ainv, X)  # x'(X'V^-1X)^-1 x for every area
    psi_all = np.where(has, s.to_numpy() ** 2, np.nan)
    gamma = np.where(has, s2 / (s2 + psi_all), 0.0)
    est = np.where(has, gamma * y.to_numpy() + (1 - gamma) * synth, synth)
    g3_scale = 2.0 / np.sum(1 / v ** 2)
    mse = np.where(has, gamma * psi_all + (1 - gamma) ** 2 * q + 2 * (1 - gamma) ** 2 * g3_scale / (s2 + psi_all),
                   s2 + q)
    factor = None
    if benchmark is not None:
        check_number(WHERE, "benchmark", benchmark)
        if population is None:
            raise error(WHERE, "Benchmarking needs each area's population (the weights of the force-wide mean).",
                        hint="Pass population= (a Series or array, one value per area).")
        pop = _as_series("population", population, y.index).to_numpy()
        if len(pop) != len(y) or not np.all(np.isfinite(pop)) or (pop < 0).any() or pop.sum() <= 0:
            raise error(WHERE, "population must be one non-negative number per area.", got=len(pop))
        factor = float(benchmark / np.sum(pop * est) * pop.sum())
        announce(f"small-area estimates benchmarked to the force-wide direct estimate {benchmark:.4g}: "
                 f"every estimate scaled by {factor:.4f}.", quiet=quiet)
        settings["benchmark"] = Setting(float(benchmark), "user", f"ratio benchmarking, factor {factor:.6f}")
        est_b = est * factor
        mse = mse * factor ** 2  # first-order: the factor is treated as fixed
    else:
        est_b = est
    z = stats.norm.ppf(0.5 + conf_level / 2)
    se_out = np.sqrt(mse)
    table = pd.DataFrame({"area": y.index, "direct": y.to_numpy(), "direct_se": np.where(has, s.to_numpy(), np.nan),
                          "synthetic": synth, "gamma": gamma, "eblup": est, "estimate": est_b, "mse": mse, "se": se_out,
                          "ci_low": est_b - z * se_out, "ci_high": est_b + z * se_out, "has_direct": has})
    coef_se = np.sqrt(np.diag(Ainv))
    coefs = pd.DataFrame({"term": names, "estimate": beta, "se": coef_se, "ci_low": beta - z * coef_se,
                          "ci_high": beta + z * coef_se})
    return SmallAreaResult(table=table, settings=settings, sigma2_u=float(s2), coefficients=coefs, benchmark_factor=factor)


__all__ = ["small_area", "SmallAreaResult"]
