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
- Influence functions are objects, not bare arrays: ``DenseInf`` (units × cells, the covariate path) or, without
  covariates, ``BlockInf``, which never forms that matrix (see its docstring; ``att_gt_nocov`` is the direct
  computation it is tested against). Both offer the same few operations the SEs, aggregations, pre-trend test and
  bootstrap need.

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
    inf: object  # n units × cells: an ndarray (att_gt_nocov, att_gt_cov) or a BlockInf (att_gt_blocks)
    n_treated: np.ndarray
    n_control: np.ndarray


def plan_cells(times: np.ndarray, cohorts: np.ndarray, g_unit: np.ndarray, control: str, anticipation: int):
    """List the (g, t, base) cells and each cell's comparison mask (units × cells).

    ``g_unit`` is each unit's first-treatment time with ``np.inf`` for never treated (or one entry per cohort block:
    the masks depend on a unit only through it, which is how ``did`` calls it). Returns
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


class DenseInf:
    """Influence functions held as a units × cells matrix (the covariate path, and the reference for ``BlockInf``).

    ``block`` is each unit's index among the distinct first-treatment times (``np.unique`` order, never treated
    last), so per-cohort terms ``E`` (blocks × columns) can be added to every unit of a cohort.
    """

    def __init__(self, a: np.ndarray, block: np.ndarray):
        self.a = a
        self.block = block

    @property
    def shape(self):
        return self.a.shape

    def combine(self, M: np.ndarray, E: np.ndarray | None = None) -> "DenseInf":
        """The influence functions of linear combinations ``inf @ M`` plus the per-cohort terms ``E``."""
        out = self.a @ M
        if E is not None:
            out += E[self.block]
        return DenseInf(out, self.block)

    def sumsq(self) -> np.ndarray:
        return np.einsum("ij,ij->j", self.a, self.a)

    def gram(self, cols: np.ndarray) -> np.ndarray:
        a = self.a[:, cols]
        return a.T @ a

    def cluster_sums(self, codes: np.ndarray) -> np.ndarray:
        S = np.zeros((int(codes.max()) + 1, self.a.shape[1]))
        np.add.at(S, codes, self.a)
        return S

    def boot(self, n_boot: int, seed: int, chunk: int) -> np.ndarray:
        """``v @ inf`` for the seeded Rademacher draws ``v`` of ``_rademacher`` (n_boot × cells)."""
        return np.vstack([v @ self.a for v in _rademacher(seed, n_boot, self.a.shape[0], chunk)])

    def dense(self) -> np.ndarray:
        return self.a


class BlockInf:
    """Influence functions without covariates, never formed as a units × cells matrix.

    Without covariates a cell's influence function depends on a unit only through its cohort (which fixes whether
    it is treated, a comparison or neither in that cell) and its outcome. For a unit ``i`` of cohort block ``c`` it
    is ``Yc[i] @ L[c] + r[c]``, where ``Yc[i]`` is the unit's outcome path minus its cohort's mean path
    (T periods), ``L[c]`` (T × cells) carries ``+w`` at the cell's period and ``−w`` at its base period
    (``w = n/n1`` for the treated cohort, ``−n/n0`` for comparison cohorts), and ``r[c]`` is ``w`` times the cohort's
    mean change minus the mean change of its side. Sums of squares, cross-products and cluster sums then need only
    each cohort's centred Gram matrix ``Q[c] = Yc_c' Yc_c`` (T × T) and cluster × cohort sums of ``Yc``: O(units ×
    periods²) instead of O(units × cells) per quantity. Results equal ``DenseInf`` up to rounding (tested).
    """

    def __init__(self, Ycs, order, starts, nb, Q, L, r, block, cache=None):
        self.cache = {} if cache is None else cache  # multiplier draws projected on Ycs, shared by combinations
        self.Ycs = Ycs  # centred outcomes, units sorted by block (n × T)
        self.order = order  # Ycs[j] is unit order[j]
        self.starts = starts  # first row of each block in Ycs, plus n
        self.nb = nb  # units per block
        self.Q = Q  # blocks × T × T
        self.L = L  # blocks × T × cells
        self.r = r  # blocks × cells
        self.block = block  # block of each unit (panel order)

    @property
    def shape(self):
        return (self.Ycs.shape[0], self.L.shape[2])

    def combine(self, M: np.ndarray, E: np.ndarray | None = None) -> "BlockInf":
        L = self.L @ M
        r = self.r @ M
        if E is not None:
            r = r + E
        return BlockInf(self.Ycs, self.order, self.starts, self.nb, self.Q, L, r, self.block, self.cache)

    def sumsq(self) -> np.ndarray:
        QL = self.Q @ self.L
        return np.einsum("btk,btk->k", QL, self.L) + self.nb @ (self.r ** 2)

    def gram(self, cols: np.ndarray) -> np.ndarray:
        L = self.L[:, :, cols]
        r = self.r[:, cols]
        return np.einsum("btk,btl->kl", L, self.Q @ L) + (r * self.nb[:, None]).T @ r

    def cluster_sums(self, codes: np.ndarray) -> np.ndarray:
        B, T = self.Q.shape[0], self.Q.shape[1]
        ncl = int(codes.max()) + 1
        cb = codes[self.order] * B + self.block[self.order]
        Z = np.empty((ncl * B, T))
        for j in range(T):
            Z[:, j] = np.bincount(cb, weights=self.Ycs[:, j], minlength=ncl * B)
        N = np.bincount(cb, minlength=ncl * B).astype(float).reshape(ncl, B)
        return np.einsum("cbt,btk->ck", Z.reshape(ncl, B, T), self.L) + N @ self.r

    def boot(self, n_boot: int, seed: int, chunk: int) -> np.ndarray:
        """``v @ inf`` for the seeded Rademacher draws ``v`` of ``_rademacher`` (n_boot × cells). The draws'
        projections on each cohort's centred outcomes (draws × blocks × T) do not depend on the cells, so they are
        computed once per (seed, n_boot, chunk) and every aggregation's bootstrap reuses them (same draws)."""
        key = (seed, n_boot, chunk)
        if key not in self.cache:
            B, T = self.Q.shape[0], self.Q.shape[1]
            parts = []
            for v in _rademacher(seed, n_boot, self.Ycs.shape[0], chunk):
                vs = v[:, self.order]
                H = np.empty((v.shape[0], B, T))
                vsum = np.empty((v.shape[0], B))
                for b in range(B):
                    s, e = self.starts[b], self.starts[b + 1]
                    H[:, b] = vs[:, s:e] @ self.Ycs[s:e]
                    vsum[:, b] = vs[:, s:e].sum(1)
                parts.append((H, vsum))
            self.cache[key] = parts
        return np.vstack([np.einsum("dbt,btk->dk", H, self.L) + vsum @ self.r for H, vsum in self.cache[key]])

    def dense(self) -> np.ndarray:
        out = np.empty(self.shape)
        for b in range(self.nb.size):
            s, e = self.starts[b], self.starts[b + 1]
            out[self.order[s:e]] = self.Ycs[s:e] @ self.L[b] + self.r[b]
        return out


def unit_blocks(g_unit: np.ndarray):
    """Distinct first-treatment times (never treated, ``inf``, last) and each unit's index among them."""
    block_g, block = np.unique(g_unit, return_inverse=True)
    return block_g, block


def att_gt_blocks(Y: np.ndarray, times: np.ndarray, cohorts: np.ndarray, g_unit: np.ndarray, control: str,
                  anticipation: int) -> Cells:
    """All cells without covariates from cohort mean paths, with a ``BlockInf`` influence function.

    Same estimates as ``att_gt_nocov`` (the simple DiD: mean change of the treated cohort minus the mean change of
    the comparison units), computed from each cohort's mean outcome per period instead of per-unit changes.
    """
    n, T = Y.shape
    block_g, block = unit_blocks(g_unit)
    B = block_g.size
    order = np.argsort(block, kind="stable")
    nb = np.bincount(block, minlength=B)
    starts = np.concatenate([[0], np.cumsum(nb)])
    Ys = Y[order]
    means = np.add.reduceat(Ys, starts[:-1], axis=0) / nb[:, None]  # blocks × T
    Ycs = Ys - np.repeat(means, nb, axis=0)
    Q = np.empty((B, T, T))
    for b in range(B):
        seg = Ycs[starts[b]:starts[b + 1]]
        Q[b] = seg.T @ seg
    g, t, base, ti, bi, treated, ctrl = plan_cells(times, cohorts, block_g, control, anticipation)
    K = g.size
    dm = means[:, ti] - means[:, bi]  # blocks × cells: each cohort's mean change
    w1 = treated * nb[:, None]
    w0 = ctrl * nb[:, None]
    n1 = w1.sum(0)
    n0 = w0.sum(0)
    mu1 = (w1 * dm).sum(0) / n1
    mu0 = (w0 * dm).sum(0) / n0
    a1 = n / n1
    a0 = n / n0
    coef = np.where(treated, a1, 0.0) - np.where(ctrl, a0, 0.0)  # blocks × cells
    L = np.zeros((B, T, K))
    cols = np.arange(K)
    L[:, ti, cols] += coef
    L[:, bi, cols] -= coef
    r = np.where(treated, a1 * (dm - mu1), 0.0) - np.where(ctrl, a0 * (dm - mu0), 0.0)
    inf = BlockInf(Ycs, order, starts, nb.astype(float), Q, L, r, block)
    return Cells(g, t, base, mu1 - mu0, inf, n1.astype(int), n0.astype(int))


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


def se_from_inf(inf, cluster_codes: np.ndarray | None = None) -> np.ndarray:
    """Analytic SE of each column of an influence function (``DenseInf`` or ``BlockInf``): sqrt(sum IF²)/n, or
    clustered sums with G/(G-1)."""
    n = inf.shape[0]
    if cluster_codes is None:
        se = np.sqrt(np.maximum(inf.sumsq(), 0.0)) / n
    else:
        S = inf.cluster_sums(cluster_codes)
        ncl = S.shape[0]
        se = np.sqrt(ncl / (ncl - 1) * (S ** 2).sum(0)) / n
    se = np.where(se <= np.sqrt(np.finfo(float).eps) * 10, np.nan, se)
    return se


def _wif_times(keepers: np.ndarray, pgg: np.ndarray, unit_group: np.ndarray, cell_group: np.ndarray,
               att: np.ndarray) -> np.ndarray:
    """R did's ``wif`` (the influence of estimating the cohort-size weights) times ``att``, without forming the units × cells matrix (per-cohort sums, indexed by each unit's cohort).

    It depends on a unit only through its cohort, so ``unit_group`` may be one entry per cohort block."""
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


def _weights(cells: Cells, sets, pgg, block_g, *, weight: bool = True):
    """Averages of the cells in each of ``sets``: estimates, the cells × averages weight matrix ``M`` and the
    per-cohort-block term ``E`` for estimating the cohort-share weights (R did's ``wif``; zero when unweighted)."""
    K, J = cells.att.size, len(sets)
    M = np.zeros((K, J))
    E = np.zeros((block_g.size, J))
    ests = np.empty(J)
    for j, keepers in enumerate(sets):
        keepers = np.asarray(keepers)
        if weight:
            w = pgg[keepers] / pgg[keepers].sum()
            E[:, j] = _wif_times(keepers, pgg, block_g, cells.group, cells.att[keepers])
        else:
            w = np.full(keepers.size, 1 / keepers.size)
        M[keepers, j] = w
        ests[j] = float(cells.att[keepers] @ w)
    return ests, M, E


def aggregate(cells: Cells, inf, block_g: np.ndarray, nb: np.ndarray, cohorts: np.ndarray):
    """Simple, group, dynamic and calendar aggregations (R did ``aggte``), each with its influence functions.

    ``inf`` is the cells' ``DenseInf`` or ``BlockInf``; ``block_g``/``nb`` are the distinct first-treatment times
    and their unit counts. Returns ``{kind: (labels, estimates, inf, overall estimate, overall inf)}``.
    """
    n = nb.sum()
    pg = np.array([nb[block_g == c].sum() / n for c in cohorts])
    pgg = pg[np.searchsorted(cohorts, cells.group)]
    post = cells.group <= cells.time
    out = {}
    # simple
    ests, M, E = _weights(cells, [np.flatnonzero(post)], pgg, block_g)
    o = inf.combine(M, E)
    out["simple"] = (np.array([np.nan]), ests, o, float(ests[0]), o)
    # group (selective timing)
    ests, M, E = _weights(cells, [np.flatnonzero(post & (cells.group == c)) for c in cohorts], pgg, block_g,
                          weight=False)
    w = pg / pg.sum()
    ind = (block_g[:, None] == cohorts[None, :]).astype(float) - pg[None, :]
    wif = ind / pg.sum() - ind.sum(1)[:, None] * (pg / pg.sum() ** 2)[None, :]
    out["group"] = (cohorts.astype(float), ests, inf.combine(M), float(ests @ w),
                    inf.combine((M @ w)[:, None], (wif @ ests)[:, None]))
    # dynamic (event study)
    e_all = cells.time - cells.group
    eseq = np.unique(e_all)
    ests, M, E = _weights(cells, [np.flatnonzero(e_all == e) for e in eseq], pgg, block_g)
    pos = eseq >= 0
    out["dynamic"] = (eseq, ests, inf.combine(M, E), float(ests[pos].mean()),
                      inf.combine(M[:, pos].mean(1)[:, None], E[:, pos].mean(1)[:, None]))
    # calendar
    tcal = np.unique(cells.time[cells.time >= cohorts.min()])
    ests, M, E = _weights(cells, [np.flatnonzero((cells.time == tt) & post) for tt in tcal], pgg, block_g)
    out["calendar"] = (tcal, ests, inf.combine(M, E), float(ests.mean()),
                       inf.combine(M.mean(1)[:, None], E.mean(1)[:, None]))
    return out


def _rademacher(seed: int, n_boot: int, m: int, chunk: int):
    """The multiplier draws (±1 per unit or cluster), ``chunk`` rows at a time from one seeded generator."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        yield rng.integers(0, 2, size=(size, m)) * 2.0 - 1.0


def multiplier_bootstrap(inf, n_boot: int, seed: int, conf_level: float,
                         cluster_codes: np.ndarray | None = None, chunk: int = 200):
    """Rademacher multiplier bootstrap (R did ``mboot``): SEs from the IQR and the uniform-band critical value."""
    n = inf.shape[0]
    if cluster_codes is not None:
        S = inf.cluster_sums(cluster_codes)
        bres = np.vstack([v @ S for v in _rademacher(seed, n_boot, S.shape[0], chunk)]) / np.sqrt(n)
    else:
        bres = inf.boot(n_boot, seed, chunk) / np.sqrt(n)
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


def pretrend_wald(cells: Cells, inf):
    """Wald test that every pre-treatment ATT(g, t) is zero (R did's ``W``): statistic, df, p-value."""
    pre = np.flatnonzero(cells.group > cells.time)
    if pre.size == 0:
        return float("nan"), 0, float("nan")
    n = inf.shape[0]
    V = inf.gram(pre) / n
    if 1.0 / np.linalg.cond(V, 1) <= np.finfo(float).eps:  # R did: rcond(pre.V) <= eps -> no test
        return float("nan"), int(pre.size), float("nan")
    a = cells.att[pre]
    W = float(n * a @ np.linalg.solve(V, a))
    return W, int(pre.size), float(stats.chi2.sf(W, pre.size))
