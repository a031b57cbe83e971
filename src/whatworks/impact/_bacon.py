"""Goodman-Bacon (2021) decomposition of the two-way fixed effects DiD estimate on a balanced panel.

The TWFE coefficient on a staggered treatment dummy is a weighted average of every 2×2 DiD between timing groups:
each treated cohort against the never treated (``treated vs never``), earlier against later cohorts before the later
ones start (``earlier vs later``, later cohort as comparison) and later against earlier cohorts after the earlier ones
have started (``later vs earlier``, the already-treated cohort as comparison — the "forbidden" comparison that biases
TWFE when effects change over time). Weights (Theorem 1, eqs. 10a–10c) depend on cohort sizes and on the share of
periods each cohort is treated, and sum to one; the weighted sum of the 2×2 estimates equals the TWFE estimate exactly.

Reference: Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
J. Econometrics 225(2), 254–277.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _dd(Y, tr, co, pre, post) -> float:
    """2×2 DiD of unit rows ``tr`` against ``co`` between the period masks ``pre`` and ``post``."""
    a = Y[tr][:, post].mean() - Y[tr][:, pre].mean()
    b = Y[co][:, post].mean() - Y[co][:, pre].mean()
    return float(a - b)


def decompose(Y: np.ndarray, times: np.ndarray, g_unit: np.ndarray) -> pd.DataFrame:
    """The 2×2 comparisons, their weights and estimates.

    ``Y`` is units × periods (balanced), ``g_unit`` the first period each unit is treated (``np.inf`` never).
    Every treated cohort must start after the first period (checked by the caller).
    """
    N, T = Y.shape
    D = (times[None, :] >= g_unit[:, None]).astype(float)
    Dt = D - D.mean(1, keepdims=True) - D.mean(0, keepdims=True) + D.mean()
    VD = float((Dt ** 2).sum() / (N * T))
    cohorts = np.unique(g_unit[np.isfinite(g_unit)])
    share = {c: float((g_unit == c).mean()) for c in cohorts}
    dbar = {c: float((times >= c).mean()) for c in cohorts}
    never = ~np.isfinite(g_unit)
    nU = float(never.mean())
    rows = []
    for k in cohorts:
        trk = g_unit == k
        if nU > 0:
            nk = share[k]
            nkU = nk / (nk + nU)
            w = (nk + nU) ** 2 * nkU * (1 - nkU) * dbar[k] * (1 - dbar[k]) / VD
            est = _dd(Y, trk, never, times < k, times >= k)
            rows.append(("treated vs never", k, np.inf, w, est))
    for i, k in enumerate(cohorts):
        for l in cohorts[i + 1:]:
            nk, nl = share[k], share[l]
            nkl = nk / (nk + nl)
            dk, dl = dbar[k], dbar[l]
            trk, trl = g_unit == k, g_unit == l
            # earlier cohort k treated, later cohort l as comparison, window before l starts
            w_e = ((nk + nl) * (1 - dl)) ** 2 * nkl * (1 - nkl) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl) / VD
            win = times < l
            est_e = _dd(Y, trk, trl, win & (times < k), win & (times >= k))
            rows.append(("earlier vs later", k, l, w_e, est_e))
            # later cohort l treated, earlier cohort k (already treated) as comparison, window from k
            w_l = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * (dk - dl) / dk / VD
            win = times >= k
            est_l = _dd(Y, trl, trk, win & (times < l), win & (times >= l))
            rows.append(("later vs earlier", l, k, w_l, est_l))
    return pd.DataFrame(rows, columns=["comparison", "treated_cohort", "comparison_cohort", "weight", "estimate"])
