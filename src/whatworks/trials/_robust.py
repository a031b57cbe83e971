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

Negative variances. Every diagonal entry of these variances is a sum of squares (``Σᵢ wᵢ (B xᵢ)ⱼ²`` with
``wᵢ = eᵢ²/(1 − hᵢᵢ) ≥ 0`` for HC2, ``Σ_g (B X_g' A_g e_g)ⱼ²`` for CR2), so it is ≥ 0 in exact arithmetic for
whatever residuals, leverages and bread were computed. The products ``B·M·B`` that form it can still round below
0 when the true value is 0 (for example the intercept's variance when every control unit has the same outcome:
−1.5e-33 rather than 0). :attr:`Fit.variances` sets a negative value within the rounding bound of that
computation to 0 and reports anything more negative as not estimable (NaN), so ``np.sqrt`` never sees a negative
number. The bound is the standard one for floating-point matrix products (Higham 2002, §3.5:
``|fl(AB) − AB| ≤ γ_m |A||B|``, ``γ_m = m·u/(1 − m·u)``, unit roundoff ``u = eps/2``), applied to the meat's sum
over m = n units (HC2) or J clusters (CR2) and the two products with the k × k bread:
``|fl(V_jj) − V_jj| ≤ γ_{m+2k} (|B| M⁺ |B|)_jj`` with ``M⁺ = |X|' diag(w) |X|`` (HC2) or ``|H|'|H|`` (CR2, H
the clusters' scores ``e_g' A_g X_g``). We use ``(m + 2k)·eps``, twice that bound. (``B`` is exactly symmetric:
numpy forms ``R⁻¹R⁻ᵀ`` with a symmetric rank-k update.)

References: Higham N (2002) Accuracy and Stability of Numerical Algorithms, 2nd ed., SIAM, §3.5.
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
    var_bound: np.ndarray  # per coefficient: bound on the rounding error of diag(vcov) (see the module notes)

    @property
    def negative(self) -> np.ndarray:
        """Indices of coefficients whose variance is negative beyond rounding (reported as not estimable)."""
        return np.flatnonzero(np.diag(self.vcov) < -self.var_bound)

    @property
    def variances(self) -> np.ndarray:
        """diag(vcov): 0 where it is below 0 only by rounding, NaN where it is negative beyond rounding."""
        v = np.diag(self.vcov).copy()
        v[(v < 0) & (v >= -self.var_bound)] = 0.0
        v[v < -self.var_bound] = np.nan
        return v

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variances)

    def test(self, j: int, conf_level: float = 0.95) -> dict[str, float]:
        est, se, df = float(self.beta[j]), float(self.se[j]), float(self.df[j])
        t = est / se if se > 0 else np.nan
        q = stats.t.ppf(0.5 + conf_level / 2, df)
        return {"estimate": est, "se": se, "statistic": t, "df": df,
                "p_value": float(2 * stats.t.sf(abs(t), df)), "ci_low": est - q * se, "ci_high": est + q * se}


def _inv_xtx(X: np.ndarray) -> np.ndarray:
    # QR keeps the inverse accurate for badly scaled designs; rank deficiency is checked by the caller.
    _, R = np.linalg.qr(X)
    R_inv = np.linalg.solve(R, np.eye(R.shape[0]))
    return R_inv @ R_inv.T


def rank(X: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(X))


def _rounding_bound(B: np.ndarray, meat_abs: np.ndarray, m: int) -> np.ndarray:
    """(m + 2k)·eps · diag(|B| M⁺ |B|): twice the rounding bound on diag(B·M·B) (see the module notes)."""
    absB = np.abs(B)
    return (m + 2 * B.shape[0]) * np.finfo(float).eps * np.einsum("jk,kl,lj->j", absB, meat_abs, absB)


def _hc2(Xb: np.ndarray, e: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.einsum("ij,jk,ik->i", Xb, B, Xb)
    w = e**2 / (1.0 - h)
    meat = (Xb * w[:, None]).T @ Xb
    absX = np.abs(Xb)
    return B @ meat @ B, _rounding_bound(B, (absX * w[:, None]).T @ absX, len(e))


def _cr2(Xb: np.ndarray, e: np.ndarray, B: np.ndarray,
         groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    abs_half = np.abs(half_meat)
    bound = _rounding_bound(B, abs_half.T @ abs_half, J)
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
    return V, df, bound


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
        V, bound = _hc2(Xb, e, B)
        df = np.full(k, float(n - k))
        J = None
    else:
        V, df, bound = _cr2(Xb, e, B, clusters)
        J = int(len(np.unique(clusters)))
    return Fit(beta=beta, vcov=V, df=df, resid=e, n=n, k=k, n_clusters=J, var_bound=bound)
