"""Small statistical formulas that more than one room uses, defined once (issue 17, "no duplicates").

Rooms import these from here rather than from each other, so no room depends on another for a formula (and no
import cycle can form through them).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["exact_rate_ratio_ci"]


def exact_rate_ratio_ci(a, b, exposure_a, exposure_b, *, conf_level: float = 0.95,
                        alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Exact conditional confidence interval for the rate ratio RR = (a/Eₐ) / (b/E_b), vectorised.

    Given n = a + b, a ~ Binomial(n, p) with p = RR·Eₐ / (RR·Eₐ + E_b). The Clopper–Pearson interval for p,
    [p_L, p_U] with p_L = Beta⁻¹(τ; a, n − a + 1) (0 when a = 0) and p_U = Beta⁻¹(1 − τ; a + 1, n − a) (1 when
    a = n), τ = (1 − conf_level)/2 for a two-sided interval and 1 − conf_level for a one-sided one, is mapped to RR by
    RR = p/(1 − p) · E_b/Eₐ (p_U = 1 gives ∞). ``alternative="less"`` gives (0, upper], ``"greater"`` [lower, ∞).
    This is the interval of R's ``poisson.test(c(a, b), c(Eₐ, E_b))``.

    Parameters
    ----------
    a, b : array-like of float
        Whole counts (a + b = 0 gives the uninformative p-interval [0, 1]: the caller decides what to report).
    exposure_a, exposure_b : array-like of float
        Positive exposures (months, residents, patrol hours).
    conf_level : float, default 0.95
    alternative : {"two-sided", "less", "greater"}, default "two-sided"

    Returns
    -------
    (low, high) : tuple of ndarray

    References
    ----------
    Clopper C.J., Pearson E.S. (1934) Biometrika 26; R Core Team, ``stats::poisson.test``.

    Examples
    --------
    >>> lo, hi = exact_rate_ratio_ci(np.array([120.]), np.array([150.]), np.array([1.]), np.array([1.]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.624, 1.0239)
    """
    a, b, exposure_a, exposure_b = (np.asarray(v, dtype=float) for v in (a, b, exposure_a, exposure_b))
    n = a + b
    alpha = 1 - conf_level
    tail = alpha / 2 if alternative == "two-sided" else alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = np.where(a > 0, stats.beta.ppf(tail, a, n - a + 1), 0.0)
        p_hi = np.where(a < n, stats.beta.ppf(1 - tail, a + 1, n - a), 1.0)
        if alternative == "less":
            p_lo = np.zeros_like(p_lo)
        if alternative == "greater":
            p_hi = np.ones_like(p_hi)
        scale = exposure_b / exposure_a
        lo = p_lo / (1 - p_lo) * scale
        hi = np.where(p_hi < 1, p_hi / np.where(p_hi < 1, 1 - p_hi, 1) * scale, np.inf)
    return lo, hi
