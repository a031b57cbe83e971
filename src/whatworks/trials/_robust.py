"""Least squares and two-stage least squares with HC2 and CR2 robust variances (pure numpy).

Hand-written because no maintained Python library has all of them: statsmodels' OLS offers HC2 but not CR2
(its cluster-robust variance is the CR1/Stata form) and has no HC2/CR2 for two-stage least squares. The
formulas follow R estimatr 1.0 (``lm_robust``, ``iv_robust``), which is the reference the tests hold these to:

* HC2 (MacKinnon & White 1985): ``V = (X'X)⁻¹ X' diag(eᵢ² / (1 − hᵢᵢ)) X (X'X)⁻¹``, t with n − k df.
* CR2 (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018): each cluster's residuals are pre-multiplied by
  ``(I − H_gg)^{-1/2}`` (symmetric inverse square root; eigenvalues below 1e-12 are dropped, as in estimatr);
  each coefficient's t test uses the Bell–McCaffrey Satterthwaite degrees of freedom
  ``(tr Ω)² / ‖Ω‖²_F`` with ``Ω = W'W − (X'W)'(X'X)⁻¹(X'W)``, ``W`` holding ``(I − H_gg)^{-1/2} X_g (X'X)⁻¹ c``
  in cluster g's rows (the working model is independence, as estimatr and clubSandwich assume).
* 2SLS (as estimatr): the second stage regresses y on the first-stage fitted values X̂; the bread, leverage
  and CR2 adjustment use X̂ and the residuals use the original X: ``e = y − Xβ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

_EIG_TOL = 1e-12  # estimatr drops eigenvalues of I − H_gg at or below 1e-12


@dataclass(frozen=True)
class Fit:
    """Coefficients with their robust variance and per-coefficient degrees of freedom."""

    beta: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    resid: np.ndarray
    n: int
    k: int
    n_clusters: int | None

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def test(self, j: int, alpha: float = 0.05) -> dict[str, float]:
        est, se, df = float(self.beta[j]), float(self.se[j]), float(self.df[j])
        t = est / se if se > 0 else np.nan
        q = stats.t.ppf(1 - alpha / 2, df)
        return {"estimate": est, "std_error": se, "statistic": t, "df": df,
                "p_value": float(2 * stats.t.sf(abs(t), df)), "conf_low": est - q * se, "conf_high": est + q * se}


def _inv_xtx(X: np.ndarray) -> np.ndarray:
    # QR keeps the inverse accurate for badly scaled designs; rank deficiency is checked by the caller.
    _, R = np.linalg.qr(X)
    R_inv = np.linalg.solve(R, np.eye(R.shape[0]))
    return R_inv @ R_inv.T


def rank(X: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(X))


def _hc2(Xb: np.ndarray, e: np.ndarray, B: np.ndarray) -> np.ndarray:
    h = np.einsum("ij,jk,ik->i", Xb, B, Xb)
    w = e**2 / (1.0 - h)
    meat = (Xb * w[:, None]).T @ Xb
    return B @ meat @ B


def _cr2(Xb: np.ndarray, e: np.ndarray, B: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = Xb.shape
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    bounds = np.flatnonzero(np.diff(g_sorted)) + 1
    members = np.split(order, bounds)
    J = len(members)
    half_meat = np.empty((J, k))
    AXB = np.zeros((n, k))  # row i: ((I − H_gg)^{-1/2} X_g B)_i for the cluster g containing i
    for g, idx in enumerate(members):
        Xg = Xb[idx]
        Hgg = Xg @ B @ Xg.T
        vals, vecs = np.linalg.eigh(np.eye(len(idx)) - Hgg)
        inv_sqrt = np.where(vals > _EIG_TOL, 1.0 / np.sqrt(np.clip(vals, _EIG_TOL, None)), 0.0)
        A = (vecs * inv_sqrt) @ vecs.T
        AXg = A @ Xg
        half_meat[g] = e[idx] @ AXg
        AXB[idx] = AXg @ B
    V = B @ (half_meat.T @ half_meat) @ B
    # Bell–McCaffrey degrees of freedom, one per coefficient j (contrast c = e_j). W has p_g = A_g X_g B c in
    # cluster g's rows and zeros elsewhere, so W'W is diagonal (‖p_g‖²) and X'W has columns X_g' p_g.
    cluster_of = np.empty(n, dtype=np.int64)
    for g, idx in enumerate(members):
        cluster_of[idx] = g
    df = np.empty(k)
    for j in range(k):
        p = AXB[:, j]
        wtw = np.bincount(cluster_of, weights=p**2, minlength=J)
        XtW = np.zeros((k, J))
        np.add.at(XtW.T, cluster_of, Xb * p[:, None])
        Omega = np.diag(wtw) - XtW.T @ B @ XtW
        df[j] = np.trace(Omega) ** 2 / np.sum(Omega**2)
    return V, df


def ols(X: np.ndarray, y: np.ndarray, *, clusters: np.ndarray | None = None) -> Fit:
    """OLS with HC2 (no clusters) or CR2 (clusters) standard errors."""
    B = _inv_xtx(X)
    beta = B @ (X.T @ y)
    e = y - X @ beta
    return _finish(X, e, B, beta, clusters)


def tsls(X: np.ndarray, Z: np.ndarray, y: np.ndarray, *, clusters: np.ndarray | None = None) -> Fit:
    """Two-stage least squares of y on X with instruments Z (exogenous columns appear in both)."""
    Bz = _inv_xtx(Z)
    X_hat = Z @ (Bz @ (Z.T @ X))
    B = _inv_xtx(X_hat)
    beta = B @ (X_hat.T @ y)
    e = y - X @ beta
    return _finish(X_hat, e, B, beta, clusters)


def _finish(Xb, e, B, beta, clusters) -> Fit:
    n, k = Xb.shape
    if clusters is None:
        V = _hc2(Xb, e, B)
        df = np.full(k, float(n - k))
        J = None
    else:
        V, df = _cr2(Xb, e, B, clusters)
        J = int(len(np.unique(clusters)))
    return Fit(beta=beta, vcov=V, df=df, resid=e, n=n, k=k, n_clusters=J)
