"""Callaway & Sant'Anna (2021) group-time average treatment effects on a balanced panel (private engine for ``did``).

Everything here works on a wide outcome matrix ``Y`` (units × periods) and a vector of first-treatment times,
so the (g, t) cells are computed together with numpy: no Python loop over units. The estimators, influence
functions, aggregations and multiplier bootstrap follow R ``did`` 2.x (``att_gt`` with ``base_period="varying"``,
``aggte``, ``mboot``) and ``DRDID`` (``reg_did_panel``, ``std_ipw_did_panel``, ``drdid_panel``):

- ATT(g, t) compares the change in the outcome from a base period to ``t`` in cohort ``g`` with the same change in
  the comparison units (never treated, or not yet treated by ``t`` + anticipation). After treatment the base period
  is the last one before ``g - anticipation``; before treatment it is the period just before ``t`` ("varying").
- Influence functions are scaled to the whole sample (``n / n_subset``); the analytic SE is ``sqrt(sum(IF²)) / n``.
- Aggregations weight cells by cohort size and carry the extra term for estimating those weights (R's ``wif``).
- The multiplier bootstrap uses Rademacher draws, SE from the interquartile range, and a uniform (sup-t) band.

References
----------
Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. J. Econometrics 225(2).
Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences estimators. J. Econometrics 219(1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

TRIM_LEVEL = 0.995  # DRDID's trim.level: comparison units with propensity score above it get no weight


@dataclass(frozen=True)
class Cells:
    """The (g, t) cells and their influence functions (columns of ``inf``)."""

    group: np.ndarray  # cohort g of each cell
    time: np.ndarray  # period t of each cell
    base: np.ndarray  # base period of each cell
    att: np.ndarray
    inf: np.ndarray  # n units × cells
    n_treated: np.ndarray
    n_control: np.ndarray


def plan_cells(times: np.ndarray, cohorts: np.ndarray, g_unit: np.ndarray, control: str, anticipation: int):
    """List the (g, t, base) cells and each cell's comparison mask (units × cells).

    ``g_unit`` is each unit's first-treatment time with ``np.inf`` for never treated. Returns
    ``(g, t, base, ti, bi, treated_mask, control_mask)`` where ``ti``/``bi`` index ``times``.
    """
    gs, ts, bs, tis, bis = [], [], [], [], []
    for g in cohorts:
        pre_idx = np.flatnonzero(times + anticipation < g)
        last_pre = pre_idx[-1]
        for ti in range(1, times.size):
            t = times[ti]
            bi = last_pre if g <= t else ti - 1
            gs.append(g); ts.append(t); bs.append(times[bi]); tis.append(ti); bis.append(bi)
    g = np.asarray(gs, float); t = np.asarray(ts, float); b = np.asarray(bs, float)
    treated = g_unit[:, None] == g[None, :]
    if control == "never":
        ctrl = np.broadcast_to(~np.isfinite(g_unit)[:, None], treated.shape).copy()
    else:
        horizon = np.maximum(t, b) + anticipation
        ctrl = (~np.isfinite(g_unit)[:, None]) | ((g_unit[:, None] > horizon[None, :]) & ~treated)
    return g, t, b, np.asarray(tis), np.asarray(bis), treated, ctrl


def att_gt_nocov(Y: np.ndarray, ti, bi, treated, ctrl, g, t, b) -> Cells:
    """All cells at once without covariates: the simple DiD (reg, IPW and DR all reduce to it).

    Means come from column sums; the influence function is ``n (D (dy − mu1)/n1 − C (dy − mu0)/n0)``.
    """
    n = Y.shape[0]
    DY = Y[:, ti] - Y[:, bi]
    n1 = treated.sum(0)
    n0 = ctrl.sum(0)
    mu1 = np.einsum("ij,ij->j", DY, treated) / n1
    mu0 = np.einsum("ij,ij->j", DY, ctrl) / n0
    a1 = n / n1
    a0 = n / n0
    inf = np.where(treated, (DY - mu1) * a1, 0.0)
    inf -= np.where(ctrl, (DY - mu0) * a0, 0.0)
    return Cells(g, t, b, mu1 - mu0, inf, n1.astype(int), n0.astype(int))


def _logit(X: np.ndarray, d: np.ndarray, *, max_iter: int = 100, tol: float = 1e-12):
    """Logistic regression by Newton–Raphson; returns (fitted probabilities, inverse of X'WX/n)."""
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = X @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        H = (X * w[:, None]).T @ X
        step = np.linalg.solve(H, X.T @ (d - p))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    w = p * (1 - p)
    H = (X * w[:, None]).T @ X / X.shape[0]
    return p, np.linalg.inv(H)


def _ols_rep(X, dy, D):
    """OLS of dy on X among comparison units: fitted values for everyone and the asymptotic linear representation."""
    w = 1.0 - D
    XtX = (X * w[:, None]).T @ X
    beta = np.linalg.solve(XtX, (X * w[:, None]).T @ dy)
    fit = X @ beta
    XpX_inv = np.linalg.inv(XtX / X.shape[0])
    rep = (w * (dy - fit))[:, None] * X @ XpX_inv
    return fit, rep


def drdid_panel(dy: np.ndarray, D: np.ndarray, X: np.ndarray, est: str) -> tuple[float, np.ndarray]:
    """One 2×2 with covariates (DRDID's reg_did_panel, std_ipw_did_panel or drdid_panel): ATT and influence function."""
    n = dy.size
    if est == "reg":
        fit, rep_ols = _ols_rep(X, dy, D)
        w_t = D; w_c = D
        att_t = w_t * dy; att_c = w_c * fit
        eta_t = att_t.mean() / w_t.mean(); eta_c = att_c.mean() / w_c.mean()
        inf_t = (att_t - w_t * eta_t) / w_t.mean()
        inf_c = (att_c - w_c * eta_c + rep_ols @ (w_c[:, None] * X).mean(0)) / w_c.mean()
        return eta_t - eta_c, inf_t - inf_c
    ps, hess = _logit(X, D)
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(D == 1, ps < 1.01, ps < TRIM_LEVEL).astype(float)
    w_t = trim * D
    w_c = trim * ps * (1 - D) / (1 - ps)
    rep_ps = ((D - ps)[:, None] * X) @ hess
    if est == "ipw":
        att_t = w_t * dy; att_c = w_c * dy
        eta_t = att_t.mean() / w_t.mean(); eta_c = att_c.mean() / w_c.mean()
        inf_t = (att_t - w_t * eta_t) / w_t.mean()
        m2 = ((w_c * (dy - eta_c))[:, None] * X).mean(0)
        inf_c = (att_c - w_c * eta_c + rep_ps @ m2) / w_c.mean()
        return eta_t - eta_c, inf_t - inf_c
    fit, rep_ols = _ols_rep(X, dy, D)
    att_t = w_t * (dy - fit); att_c = w_c * (dy - fit)
    eta_t = att_t.mean() / w_t.mean(); eta_c = att_c.mean() / w_c.mean()
    inf_t = (att_t - w_t * eta_t - rep_ols @ (w_t[:, None] * X).mean(0)) / w_t.mean()
    m2 = ((w_c * (dy - fit - eta_c))[:, None] * X).mean(0)
    m3 = (w_c[:, None] * X).mean(0)
    inf_c = (att_c - w_c * eta_c + rep_ps @ m2 - rep_ols @ m3) / w_c.mean()
    del n
    return eta_t - eta_c, inf_t - inf_c


def att_gt_cov(Y, Xb, ti, bi, treated, ctrl, g, t, b, est: str) -> Cells:
    """Cells with covariates: one small regression per (g, t) cell (never a loop over units).

    ``Xb`` is (units × periods × covariates); each cell uses the covariates' base-period values.
    """
    n = Y.shape[0]
    K = g.size
    att = np.empty(K)
    inf = np.zeros((n, K))
    for k in range(K):
        keep = treated[:, k] | ctrl[:, k]
        idx = np.flatnonzero(keep)
        dy = Y[idx, ti[k]] - Y[idx, bi[k]]
        D = treated[idx, k].astype(float)
        X = np.column_stack([np.ones(idx.size), Xb[idx, bi[k], :]])
        a, f = drdid_panel(dy, D, X, est)
        att[k] = a
        inf[idx, k] = (n / idx.size) * f
    return Cells(g, t, b, att, inf, treated.sum(0), ctrl.sum(0))


def se_from_inf(inf: np.ndarray, cluster_codes: np.ndarray | None = None) -> np.ndarray:
    """Analytic SE of each column of an influence-function matrix: sqrt(sum IF²)/n, or clustered sums with G/(G-1)."""
    n = inf.shape[0]
    if cluster_codes is None:
        se = np.sqrt((inf ** 2).sum(0)) / n
    else:
        ncl = int(cluster_codes.max()) + 1
        S = np.zeros((ncl, inf.shape[1]))
        np.add.at(S, cluster_codes, inf)
        se = np.sqrt(ncl / (ncl - 1) * (S ** 2).sum(0)) / n
    se = np.where(se <= np.sqrt(np.finfo(float).eps) * 10, np.nan, se)
    return se


def _wif(keepers: np.ndarray, pgg: np.ndarray, unit_group: np.ndarray, cell_group: np.ndarray) -> np.ndarray:
    """R did's ``wif``: the influence of estimating the cohort-size weights (units × len(keepers))."""
    ind = (unit_group[:, None] == cell_group[keepers][None, :]).astype(float) - pgg[keepers][None, :]
    s = pgg[keepers].sum()
    if1 = ind / s
    if2 = ind.sum(1)[:, None] * (pgg[keepers] / s ** 2)[None, :]
    return if1 - if2


def _wif_times(keepers: np.ndarray, pgg: np.ndarray, unit_group: np.ndarray, cell_group: np.ndarray,
               att: np.ndarray) -> np.ndarray:
    """``_wif(...) @ att`` without forming the units × cells matrix (per-cohort sums, indexed by each unit's cohort)."""
    a = att
    p = pgg[keepers]
    s = p.sum()
    cohorts, inv = np.unique(cell_group[keepers], return_inverse=True)
    sa = np.bincount(inv, weights=a, minlength=cohorts.size)
    nc = np.bincount(inv, minlength=cohorts.size).astype(float)
    pos = np.searchsorted(cohorts, unit_group)
    pos = np.clip(pos, 0, cohorts.size - 1)
    hit = cohorts[pos] == unit_group
    ind_a = np.where(hit, sa[pos], 0.0) - p @ a
    ind_sum = np.where(hit, nc[pos], 0.0) - s
    return ind_a / s - ind_sum * (p @ a) / s ** 2


def _agg(cells: Cells, keepers, pgg, unit_group, *, weight: bool = True):
    """Weighted average of cells ``keepers`` (by cohort share) and its influence function."""
    keepers = np.asarray(keepers)
    if weight:
        w = pgg[keepers] / pgg[keepers].sum()
        est = float(cells.att[keepers] @ w)
        inf = cells.inf[:, keepers] @ w + _wif_times(keepers, pgg, unit_group, cells.group, cells.att[keepers])
    else:
        w = np.full(keepers.size, 1 / keepers.size)
        est = float(cells.att[keepers] @ w)
        inf = cells.inf[:, keepers] @ w
    return est, inf


def aggregate(cells: Cells, unit_group: np.ndarray, cohorts: np.ndarray):
    """Simple, group, dynamic and calendar aggregations (R did ``aggte``), each with its influence functions.

    Returns ``{kind: (labels, estimates, inf matrix, overall estimate, overall inf)}``.
    """
    n = unit_group.size
    pg = np.array([(unit_group == c).sum() / n for c in cohorts])
    pgg = pg[np.searchsorted(cohorts, cells.group)]
    post = cells.group <= cells.time
    out = {}
    # simple
    keep = np.flatnonzero(post)
    est, inf = _agg(cells, keep, pgg, unit_group)
    out["simple"] = (np.array([np.nan]), np.array([est]), inf[:, None], est, inf)
    # group (selective timing)
    ests, infs = [], []
    for c in cohorts:
        k = np.flatnonzero(post & (cells.group == c))
        e, f = _agg(cells, k, pgg, unit_group, weight=False)
        ests.append(e); infs.append(f)
    ests = np.array(ests); infs = np.column_stack(infs)
    w = pg / pg.sum()
    ind = (unit_group[:, None] == cohorts[None, :]).astype(float) - pg[None, :]
    wif = ind / pg.sum() - ind.sum(1)[:, None] * (pg / pg.sum() ** 2)[None, :]
    overall_inf = infs @ w + wif @ ests
    out["group"] = (cohorts.astype(float), ests, infs, float(ests @ w), overall_inf)
    # dynamic (event study)
    e_all = cells.time - cells.group
    eseq = np.unique(e_all)
    ests, infs = [], []
    for e in eseq:
        k = np.flatnonzero(e_all == e)
        a, f = _agg(cells, k, pgg, unit_group)
        ests.append(a); infs.append(f)
    ests = np.array(ests); infs = np.column_stack(infs)
    pos = eseq >= 0
    out["dynamic"] = (eseq, ests, infs, float(ests[pos].mean()), infs[:, pos].mean(1))
    # calendar
    tcal = np.unique(cells.time[cells.time >= cohorts.min()])
    ests, infs = [], []
    for tt in tcal:
        k = np.flatnonzero((cells.time == tt) & post)
        a, f = _agg(cells, k, pgg, unit_group)
        ests.append(a); infs.append(f)
    ests = np.array(ests); infs = np.column_stack(infs)
    out["calendar"] = (tcal, ests, infs, float(ests.mean()), infs.mean(1))
    return out


def multiplier_bootstrap(inf: np.ndarray, n_boot: int, seed: int, conf_level: float,
                         cluster_codes: np.ndarray | None = None, chunk: int = 200):
    """Rademacher multiplier bootstrap (R did ``mboot``): SEs from the IQR and the uniform-band critical value."""
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    if cluster_codes is not None:
        ncl = int(cluster_codes.max()) + 1
        S = np.zeros((ncl, inf.shape[1]))
        np.add.at(S, cluster_codes, inf)
        base, m = S, ncl
    else:
        base, m = inf, n
    draws = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        v = rng.integers(0, 2, size=(size, m)) * 2.0 - 1.0
        draws.append(v @ base / np.sqrt(n))
    bres = np.vstack(draws)
    q75, q25 = np.quantile(bres, [0.75, 0.25], axis=0)
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = sigma > np.sqrt(np.finfo(float).eps) * 10
    se = np.where(ok, sigma / np.sqrt(n), np.nan)
    if ok.any():
        t_max = np.max(np.abs(bres[:, ok] / sigma[ok]), axis=1)
        crit = float(np.quantile(t_max, conf_level))
    else:
        crit = float("nan")
    return se, crit


def pretrend_wald(cells: Cells):
    """Wald test that every pre-treatment ATT(g, t) is zero (R did's ``W``): statistic, df, p-value."""
    pre = np.flatnonzero(cells.group > cells.time)
    if pre.size == 0:
        return float("nan"), 0, float("nan")
    n = cells.inf.shape[0]
    V = cells.inf[:, pre].T @ cells.inf[:, pre] / n
    if 1.0 / np.linalg.cond(V, 1) <= np.finfo(float).eps:  # R did: rcond(pre.V) <= eps -> no test
        return float("nan"), int(pre.size), float("nan")
    a = cells.att[pre]
    W = float(n * a @ np.linalg.solve(V, a))
    return W, int(pre.size), float(stats.chi2.sf(W, pre.size))
