"""A complex survey design: weights, strata, primary sampling units (PSUs) and finite-population corrections, and the
weight adjustments analysts make to them — raking, calibration to totals and post-stratification (issue 15, item 2).

``Design(df, weights=, strata=, psu=, fpc=)`` describes a single-stage (or with-replacement first-stage) design, as
R's ``survey::svydesign(ids=~psu, strata=~strata, weights=~weights, fpc=~fpc)``. Every adjustment returns a **new**
Design; the original is never changed.

Variance (Taylor linearisation). An estimate's linearised score ``x_i`` (e.g. ``w_i (y_i − ȳ) / Σw`` for a mean) is
first made into a calibration residual for every adjustment the design carries, then summed to PSU totals ``t_hi``;
``V = Σ_h (1 − f_h) n_h/(n_h − 1) Σ_i (t_hi − t̄_h)²`` with ``f_h = n_h / N_h`` (``fpc`` as a population count) or
``fpc`` itself (as a sampling fraction, ≤ 1).

**Which linearisation, and why.** Every adjustment (rake, calibrate, poststratify) is linearised the same way — the
generalised-regression (GREG) residual of Deville & Särndal (1992): the score per unit of final weight, ``v = x / w``,
is regressed on *all* the calibration variables jointly by weighted least squares with the weights *before* the
adjustment, and ``x ← w·(v − Xβ̂)``. This is exactly what R's ``calibrate()`` and ``postStratify()`` do, so those SEs
equal R's. R's ``rake()`` instead projects margin by margin, unweighted, for ten rounds: an approximation to the same
joint projection. Raking *is* calibration with the exponential distance, whose linearisation is the GREG residual,
so whatworks uses the exact joint residual for rakes too; it differs from R's ``rake()`` SE by well under 0.5 %
(tested) and equals R's ``calibrate(calfun="raking")`` SE.

References
----------
Deville, J.-C. & Särndal, C.-E. (1992) Calibration estimators in survey sampling. JASA 87: 376–382.
Lumley, T. (2010) Complex Surveys: A Guide to Analysis Using R. Wiley. (R package ``survey``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from whatworks._validate import check_choice, check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error

RAKE_MAX_ITER = 100
RAKE_TOL = 1e-10  # relative: max |achieved − target| / target over every margin cell
CALIBRATE_MAX_ITER = 50
CALIBRATE_TOL = 1e-10


@dataclass(frozen=True)
class _Adjustment:
    """One weight adjustment, kept for the variance: the calibration model matrix (dense for ``calibrate``; sparse
    0/1 dummies for ``rake`` and ``poststratify``) and the weights before and after it."""

    kind: str  # "rake" | "calibrate" | "poststratify"
    X: Any
    w_before: np.ndarray
    w_after: np.ndarray
    iterations: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def normal_pinv(self) -> np.ndarray:
        """The pseudo-inverse of ``X' W_before X`` (the weighted least-squares normal matrix; singular when crossed
        margins share cells, so the minimum-norm solution is used, as ``lstsq`` would), computed once: every
        estimate on the design (and on its domains) projects on the same calibration variables."""
        P = self._cache.get("pinv")
        if P is None:
            X = self.X
            N = (X.T @ X.multiply(self.w_before[:, None])).toarray() if sparse.issparse(X) \
                else (X * self.w_before[:, None]).T @ X
            P = np.linalg.pinv(N, rcond=np.finfo(float).eps * max(N.shape), hermitian=True)
            self._cache["pinv"] = P
        return P


def _key(df: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    if len(cols) == 1:
        return df[cols[0]]
    return pd.Series(list(zip(*(df[c] for c in cols))), index=df.index)


def _as_cols(v: str | Sequence[str]) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(v)


class Design:
    """A survey design over a DataFrame of respondents.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    weights : str, optional
        Column of sampling (design) weights. None: every respondent weighs 1 (a simple random sample).
    strata : str, optional
        Stratum column. None: one stratum.
    psu : str, optional
        Primary sampling unit (cluster) column. None: each respondent is its own PSU.
    fpc : str, optional
        Finite-population correction column, constant within a stratum: the stratum's population count of PSUs
        (> 1) or the sampling fraction (≤ 1). None: sampling with replacement (no correction).

    Examples
    --------
    >>> d = Design(df, weights="design_weight", strata="borough_code")            # doctest: +SKIP
    >>> d.rake({"sex": {"Female": 5100, "Male": 4900}, "age_band": {...}}).proportion("confident", by="borough_code")  # doctest: +SKIP
    """

    WHERE = "Design"

    def __init__(self, df: pd.DataFrame, *, weights: str | None = None, strata: str | None = None,
                 psu: str | None = None, fpc: str | None = None):
        require_dataframe(self.WHERE, "df", df)
        require_columns(self.WHERE, df, [weights, strata, psu, fpc], arg="df")
        if len(df) == 0:
            raise error(self.WHERE, "The survey has no respondents.", got="0 rows", hint="Check the filter that made df.")
        df = df.reset_index(drop=True)
        n = len(df)
        if weights is None:
            w = np.ones(n)
        else:
            w = require_numeric(self.WHERE, df, weights)
            if (w < 0).any():
                first = int(np.flatnonzero(w < 0)[0])
                raise error(self.WHERE, f"Weights in '{weights}' must be zero or positive.", got=w[first], row=f"position {first}",
                            hint="A negative weight is an error in the weighting; fix it at source.")
        for name, col in (("strata", strata), ("psu", psu)):
            if col is not None and df[col].isna().any():
                first = int(np.flatnonzero(df[col].isna().to_numpy())[0])
                raise error(self.WHERE, f"The {name} column '{col}' has missing values.", row=f"position {first}",
                            hint=f"Every respondent needs a {name}.")
        self._df = df
        self._w = w.astype(float)
        self._strata_col, self._psu_col, self._fpc_col, self._weights_col = strata, psu, fpc, weights
        self._strata = pd.factorize(df[strata])[0] if strata is not None else np.zeros(n, dtype=np.int64)
        if psu is not None:
            self._psu = pd.factorize(pd.Series(list(zip(self._strata, df[psu]))))[0]  # PSUs nested in strata
        else:
            self._psu = np.arange(n)
        self._fpc = self._resolve_fpc(df, fpc)
        self._adjustments: tuple[_Adjustment, ...] = ()
        self._check_lonely()

    # ------------------------------------------------------------------ construction helpers
    def _resolve_fpc(self, df, fpc):
        if fpc is None:
            return None
        f = require_numeric(self.WHERE, df, fpc)
        per = pd.DataFrame({"s": self._strata, "f": f}).groupby("s")["f"].nunique()
        if (per > 1).any():
            raise error(self.WHERE, f"The fpc column '{fpc}' must be constant within each stratum.",
                        got=f"{int((per > 1).sum())} strata with more than one value",
                        hint="Give each stratum's population size (or sampling fraction) on every row.")
        n_psu = pd.DataFrame({"s": self._strata, "p": self._psu}).groupby("s")["p"].nunique()
        frac = np.where(f <= 1, f, n_psu.reindex(self._strata).to_numpy() / np.where(f > 1, f, 1))
        if (frac > 1 + 1e-12).any() or (frac < 0).any():
            first = int(np.flatnonzero((frac > 1) | (frac < 0))[0])
            raise error(self.WHERE, "The sampling fraction implied by fpc must lie between 0 and 1.", got=float(f[first]),
                        row=f"position {first}", hint="fpc is the stratum's population count of PSUs, or the fraction sampled.")
        return frac

    def _check_lonely(self):
        k = pd.DataFrame({"s": self._strata, "p": self._psu}).groupby("s")["p"].nunique()
        if (k < 2).any():
            s = int(k.index[int(np.flatnonzero(k.to_numpy() < 2)[0])])
            label = self._df[self._strata_col].iloc[int(np.flatnonzero(self._strata == s)[0])] if self._strata_col else s
            raise error(self.WHERE, "Every stratum needs at least two PSUs for a design-based variance.",
                        got=f"stratum {label!r} has one PSU", hint="Collapse that stratum with a similar one.")

    def _with(self, w: np.ndarray, adj: _Adjustment) -> "Design":
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        new._w = w
        new._adjustments = self._adjustments + (adj,)
        return new

    # ------------------------------------------------------------------ public attributes
    @property
    def data(self) -> pd.DataFrame:
        """The respondents (index reset to 0..n−1)."""
        return self._df

    @property
    def weights(self) -> pd.Series:
        """The current weights, one per respondent."""
        return pd.Series(self._w, index=self._df.index, name="weight")

    @property
    def adjustments(self) -> tuple[str, ...]:
        """The adjustments applied so far, in order ("rake", "calibrate", "poststratify")."""
        return tuple(a.kind for a in self._adjustments)

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs with a non-zero weight minus strata (R's ``degf``)."""
        return self._degf(self._w != 0)

    def _degf(self, inset: np.ndarray) -> int:
        return int(np.unique(self._psu[inset]).size - np.unique(self._strata[inset]).size)

    def _degf_domains(self, codes: np.ndarray, n_dom: int) -> np.ndarray:
        """:meth:`_degf` of every domain at once (``codes``: each respondent's domain, 0..n_dom−1): PSUs minus strata
        among each domain's respondents with a non-zero weight."""
        inset = (self._w != 0) & (codes >= 0)
        c = codes[inset].astype(np.int64)
        n_psu, n_str = int(self._psu.max()) + 1, int(self._strata.max()) + 1
        psu = np.unique(c * n_psu + self._psu[inset])
        st = np.unique(c * n_str + self._strata[inset])
        return np.bincount(psu // n_psu, minlength=n_dom) - np.bincount(st // n_str, minlength=n_dom)

    def __len__(self) -> int:
        return len(self._df)

    def __repr__(self) -> str:
        parts = [f"{len(self):,} respondents", f"{np.unique(self._strata).size} strata", f"{np.unique(self._psu).size:,} PSUs"]
        if self._adjustments:
            parts.append("adjusted by " + ", ".join(self.adjustments))
        return f"<Design: {'; '.join(parts)}>"

    def subset(self, mask) -> "Design":
        """A domain of the design, for estimates on it: respondents outside keep their PSU and stratum but weigh zero
        (R's ``subset.survey.design``), so SEs stay design-based."""
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self),):
            raise error("Design.subset", "The mask must have one value per respondent.", got=m.shape)
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        new._w = np.where(m, self._w, 0.0)
        new._domain = m
        return new

    # ------------------------------------------------------------------ variance engine
    def _calibration_residual(self, x: np.ndarray) -> np.ndarray:
        for a in self._adjustments:
            wa = np.where(a.w_after > 0, a.w_after, 1.0)
            v = x / wa[:, None]
            beta = a.normal_pinv() @ np.asarray(a.X.T @ (a.w_before[:, None] * v))
            x = a.w_after[:, None] * (v - np.asarray(a.X @ beta))
        return x

    def _vcov(self, x: np.ndarray) -> np.ndarray:
        """Design-based covariance of the totals of the columns of the score matrix ``x`` (n × k), vectorised over
        strata: ``V = Σ_h c_h Σ_i (t_hi − t̄_h)(t_hi − t̄_h)'`` with ``c_h = (1 − f_h) n_h / (n_h − 1)``."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        x = self._calibration_residual(x)
        n = x.shape[0]
        n_psu = int(self._psu.max()) + 1
        if self._psu_col is None:  # every respondent its own PSU (psu = 0..n-1 in row order)
            psu_tot = x
        else:
            to_psu = sparse.csr_matrix((np.ones(n), (self._psu, np.arange(n))), shape=(n_psu, n))
            psu_tot = np.asarray(to_psu @ x)
        psu_stratum = np.zeros(n_psu, dtype=np.int64)
        psu_stratum[self._psu] = self._strata
        n_str = int(psu_stratum.max()) + 1
        nh = np.bincount(psu_stratum, minlength=n_str).astype(float)
        to_str = sparse.csr_matrix((np.ones(n_psu), (psu_stratum, np.arange(n_psu))), shape=(n_str, n_psu))
        d = psu_tot - (np.asarray(to_str @ psu_tot) / nh[:, None])[psu_stratum]
        f = np.zeros(n_str)
        if self._fpc is not None:
            f[self._strata] = self._fpc
        c = np.divide((1 - f) * nh, nh - 1, out=np.zeros(n_str), where=nh > 1)
        return (d * c[psu_stratum][:, None]).T @ d

    # ------------------------------------------------------------------ adjustments
    def _margin_cells(self, where: str, margins: Mapping) -> list[tuple[tuple[str, ...], np.ndarray, np.ndarray, list]]:
        if not isinstance(margins, Mapping) or not margins:
            raise error(where, "margins must be a non-empty mapping of column (or tuple of columns) to population totals.",
                        got=type(margins).__name__, hint='e.g. {"sex": {"Female": 5100, "Male": 4900}}.')
        out = []
        for var, totals in margins.items():
            cols = _as_cols(var)
            require_columns(where, self._df, cols, arg="design data")
            tot = pd.Series(totals, dtype=float) if not isinstance(totals, pd.Series) else totals.astype(float)
            if isinstance(tot.index, pd.MultiIndex):
                tot.index = tot.index.to_flat_index()
            if tot.isna().any() or (tot < 0).any():
                bad = tot[tot.isna() | (tot < 0)].index[0]
                raise error(where, f"Margin {var!r}: population totals must be zero or positive numbers.",
                            got=tot.loc[bad], row=f"category {bad!r}", hint="Check the population table.")
            key = _key(self._df, cols)
            codes = pd.Index(list(tot.index), tupleize_cols=False).get_indexer(pd.Index(key.tolist(), tupleize_cols=False))
            if (codes < 0).any():
                first = int(np.flatnonzero(codes < 0)[0])
                raise error(where, f"Margin {var!r} has no population total for a category present in the sample.",
                            got=key.iloc[first], row=f"position {first}",
                            expected=f"categories among {list(tot.index)[:12]}",
                            hint="Add the category to the margin, or recode the sample to the margin's categories.")
            present = np.bincount(codes, minlength=len(tot))
            empty = (present == 0) & (tot.to_numpy() > 0)
            if empty.any():
                cat = tot.index[int(np.flatnonzero(empty)[0])]
                raise error(where, f"Margin {var!r}: category {cat!r} has a population total but no respondents "
                                   "(an empty cell), so no weighting can reach it.",
                            got=f"target {tot.loc[cat]:g}, 0 respondents", hint="Collapse it with a neighbouring category.")
            out.append((cols, codes, tot.to_numpy(), list(tot.index)))
        grand = [t.sum() for _, _, t, _ in out]
        if len(grand) > 1 and (max(grand) - min(grand)) > 1e-6 * max(grand):
            raise error(where, "Impossible margins: the margins do not add up to the same population total.",
                        got={str(v): float(g) for v, g in zip(margins, grand)},
                        hint="Every margin must describe the same population; check for a missing category or year.")
        return out

    @staticmethod
    def _dummies(cells) -> sparse.csr_matrix:
        """The margins' 0/1 indicators side by side (n × cells, sparse: one 1 per margin in each row); one intercept
        across margins: the first level of every margin after the first is dropped."""
        rows, cols, off = [], [], 0
        for i, (_, codes, tot, _) in enumerate(cells):
            keep = codes >= (0 if i == 0 else 1)
            rows.append(np.flatnonzero(keep))
            cols.append(codes[keep] - (0 if i == 0 else 1) + off)
            off += tot.size - (0 if i == 0 else 1)
        r, c = np.concatenate(rows), np.concatenate(cols)
        n = cells[0][1].size
        return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n, off))

    def rake(self, margins: Mapping, *, max_iter: int | None = None, tol: float | None = None,
             trim: tuple[float, float] | None = None) -> "Design":
        """Rake (iterative proportional fitting) the weights to population margins.

        Parameters
        ----------
        margins : mapping
            ``{column: {category: population total}}``; a key may be a tuple of columns for a crossed margin
            (``("borough_code", "sex_age"): {("E09000001", "Male_16-24"): 3120, ...}``).
        max_iter : int, default 100
            Rounds over every margin before giving up.
        tol : float, default 1e-10
            Converged when every margin cell's weighted total is within ``tol`` × its target.
        trim : (low, high), optional
            Bounds on the final weights (in weight units): weights outside are set to the bound and the difference is
            shared among the others, keeping the total (R's ``trimWeights(strict=TRUE)`` after ``rake``). The margins then
            hold only approximately: trimming trades a little bias for less variance.

        Returns a new Design; raises on empty cells, margins with different grand totals, or non-convergence.
        """
        where = "Design.rake"
        max_iter = RAKE_MAX_ITER if max_iter is None else max_iter
        tol = RAKE_TOL if tol is None else tol
        check_number(where, "max_iter", max_iter, low=1, integer=True)
        check_number(where, "tol", tol, low=0, low_inclusive=False)
        cells = self._margin_cells(where, margins)
        w0 = self._w.copy()
        w, it = self._ipf(where, w0, cells, max_iter, tol)
        if trim is not None:
            w = self._trim(where, w, trim, max_iter)
        return self._with(w, _Adjustment("rake", self._dummies(cells), w0, w, it))

    @staticmethod
    def _trim(where, w, trim, max_iter):
        """R's ``trimWeights(strict=TRUE)``: weights outside the bounds go to the bound, the difference is shared among
        the rest in proportion to their weights (so the total is kept), until every weight is inside."""
        lo, hi = trim
        if not (0 <= lo < hi):
            raise error(where, "trim must be (low, high) with 0 <= low < high.", got=trim)
        total = w.sum()
        if not (lo * w.size <= total <= hi * w.size):
            raise error(where, "The trim bounds cannot hold the weighted total.", got=f"total {total:.6g}, bounds {trim}",
                        hint="Widen the bounds.")
        w = w.copy()
        for _ in range(max_iter * 10):
            out = (w < lo) | (w > hi)
            if not out.any():
                return w
            w = np.clip(w, lo, hi)
            free = (w > lo) & (w < hi)
            w[free] *= 1 + (total - w.sum()) / w[free].sum()
        raise error(where, "Trimming did not settle inside the bounds.", got=trim, hint="Widen the trim bounds.")

    @staticmethod
    def _ipf(where, w, cells, max_iter, tol, *, raise_on_fail=True):
        w = w.copy()
        for it in range(1, max_iter + 1):
            for _, codes, tgt, _ in cells:
                cur = np.bincount(codes, weights=w, minlength=tgt.size)
                ratio = np.divide(tgt, cur, out=np.zeros_like(tgt), where=cur > 0)
                w *= ratio[codes]
            worst = 0.0
            for _, codes, tgt, _ in cells:
                cur = np.bincount(codes, weights=w, minlength=tgt.size)
                worst = max(worst, float(np.max(np.abs(cur - tgt) / np.where(tgt > 0, tgt, 1))))
            if worst <= tol:
                return w, it
        if raise_on_fail:
            raise error(where, f"Raking did not converge in {max_iter} rounds.",
                        got=f"worst margin cell off by {worst:.3g} of its target (tol {tol:g})",
                        hint="Raise max_iter, or collapse sparse categories: margins that cannot all be met at once "
                             "(e.g. a crossed margin inconsistent with a marginal one) never converge.")
        return w, max_iter

    def poststratify(self, strata: str | Sequence[str], population: Mapping) -> "Design":
        """Post-stratify: scale the weights in each cell of ``strata`` (a column or tuple of columns) so they sum to
        ``population[cell]``. Equals R's ``postStratify`` (weights and SEs). Returns a new Design."""
        where = "Design.poststratify"
        cells = self._margin_cells(where, {strata if isinstance(strata, str) else tuple(strata): population})
        _, codes, tgt, _ = cells[0]
        cur = np.bincount(codes, weights=self._w, minlength=tgt.size)
        w = self._w * np.divide(tgt, cur, out=np.zeros_like(tgt), where=cur > 0)[codes]
        return self._with(w, _Adjustment("poststratify", self._dummies(cells), self._w.copy(), w))

    def model_matrix(self, terms: Sequence[str], *, intercept: bool = True) -> pd.DataFrame:
        """The calibration model matrix, named as R's ``model.matrix`` names it: ``(Intercept)``, a numeric column by its
        name, a categorical column ``col`` as dummies ``col<level>`` for every level but the first (sorted)."""
        cols = {}
        if intercept:
            cols["(Intercept)"] = np.ones(len(self))
        for t in terms:
            require_columns("Design.calibrate", self._df, [t], arg="design data")
            s = self._df[t]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                cols[t] = require_numeric("Design.calibrate", self._df, t)
            else:
                levels = sorted(pd.unique(s.astype(str)))
                for lev in levels[1:] if intercept else levels:
                    cols[f"{t}{lev}"] = (s.astype(str) == lev).to_numpy(float)
        return pd.DataFrame(cols)

    def calibrate(self, terms: Sequence[str], population: Mapping[str, float], *, calfun: str = "linear",
                  intercept: bool = True, max_iter: int | None = None, tol: float | None = None) -> "Design":
        """Calibrate the weights so the weighted totals of the model matrix of ``terms`` equal ``population``.

        Parameters
        ----------
        terms : list of str
            Columns; numeric ones enter as they are, categorical ones as dummies (see :meth:`model_matrix`).
        population : mapping
            Population total for every model-matrix column, named as :meth:`model_matrix` names them
            (``{"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018}``).
        calfun : {"linear", "raking"}
            Linear (GREG, weights ``w·(1 + xλ)``, may go negative) or raking (``w·exp(xλ)``, always positive).

        Equals R's ``calibrate(design, ~terms, population, calfun=)``. Returns a new Design.
        """
        where = "Design.calibrate"
        check_choice(where, "calfun", calfun, ["linear", "raking"])
        max_iter = CALIBRATE_MAX_ITER if max_iter is None else max_iter
        tol = CALIBRATE_TOL if tol is None else tol
        mm = self.model_matrix(list(terms), intercept=intercept)
        missing = [c for c in mm.columns if c not in population]
        extra = [c for c in population if c not in mm.columns]
        if missing or extra:
            raise error(where, "population must give one total per model-matrix column.",
                        expected=f"keys {list(mm.columns)}", got=f"missing {missing}, unknown {extra}",
                        hint="Name categorical totals as column+level, without the first level, as R does.")
        X = mm.to_numpy()
        T = np.array([float(population[c]) for c in mm.columns])
        w0 = self._w.copy()
        lam = np.zeros(X.shape[1])
        for it in range(1, max_iter + 1):
            eta = X @ lam
            g = 1 + eta if calfun == "linear" else np.exp(eta)
            dg = np.ones_like(eta) if calfun == "linear" else g
            gap = T - X.T @ (w0 * g)
            if np.max(np.abs(gap) / np.maximum(np.abs(T), 1)) <= tol:
                break
            H = (X * (w0 * dg)[:, None]).T @ X
            if np.linalg.matrix_rank(H) < H.shape[0]:
                raise error(where, "The calibration variables are collinear in the sample (or a category is empty).",
                            got=list(mm.columns), hint="Drop a redundant term or collapse categories.")
            lam = lam + np.linalg.solve(H, gap)
        else:
            raise error(where, f"Calibration did not converge in {max_iter} iterations.",
                        got=f"largest relative gap {np.max(np.abs(gap) / np.maximum(np.abs(T), 1)):.3g}",
                        hint="The totals may be impossible for this sample (try calfun='linear', or check the totals).")
        w = w0 * g
        return self._with(w, _Adjustment("calibrate", X, w0, w, it))

    # ------------------------------------------------------------------ estimates (see estimate.py)
    def mean(self, var: str, by: str | Sequence[str] | None = None, *, conf_level: float | None = None, quiet: bool = False):
        """Weighted mean of ``var`` (overall or by domain) with linearised SE, CI, design effect; see :func:`estimate`."""
        from whatworks.survey.estimate import estimate
        return estimate(self, var, "mean", by=by, conf_level=conf_level, quiet=quiet)

    def proportion(self, var: str, by: str | Sequence[str] | None = None, *, level: Any = None,
                   conf_level: float | None = None, quiet: bool = False):
        """Weighted proportion of ``var`` (0/1, boolean, or ``var == level``) with a logit CI; see :func:`estimate`."""
        from whatworks.survey.estimate import estimate
        return estimate(self, var, "proportion", by=by, level=level, conf_level=conf_level, quiet=quiet)

    def total(self, var: str, by: str | Sequence[str] | None = None, *, conf_level: float | None = None, quiet: bool = False):
        """Weighted total of ``var`` with linearised SE; see :func:`estimate`."""
        from whatworks.survey.estimate import estimate
        return estimate(self, var, "total", by=by, conf_level=conf_level, quiet=quiet)


def margins_from_table(table: pd.DataFrame, *, by: str | None = None, variable: str = "variable",
                       category: str = "category", population: str = "population") -> dict:
    """Turn a long population table (``[by,] variable, category, population``, as ``synth``'s ``survey_margins``) into
    the ``margins`` mapping :meth:`Design.rake` takes: one margin per variable, crossed with ``by`` when given."""
    require_dataframe("margins_from_table", "table", table)
    require_columns("margins_from_table", table, [by, variable, category, population], arg="table")
    out = {}
    for var, part in table.groupby(variable, sort=False):
        if by is None:
            out[var] = part.set_index(category)[population].astype(float)
        else:
            idx = pd.MultiIndex.from_arrays([part[by], part[category]]).to_flat_index()
            out[(by, var)] = pd.Series(part[population].astype(float).to_numpy(), index=idx)
    return out


__all__ = ["Design", "margins_from_table"]
