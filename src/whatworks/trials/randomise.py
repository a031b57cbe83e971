"""Random assignment of a known list of units, with each unit's exact assignment probability (randomizr semantics).

Methods (Coppock's randomizr, which these follow):

* ``simple`` — each unit independently treated with probability ``prob`` (a coin flip per unit).
* ``complete`` — exactly ``m`` of the N units treated. With ``prob`` given and ``N·prob`` not whole,
  ``m`` is ``floor(N·prob)`` or that plus one, the latter with probability ``N·prob − floor(N·prob)``, so
  every unit's probability is exactly ``prob``.
* ``block`` — complete randomisation separately within each block (``prob`` may differ by block).
* ``cluster`` — complete randomisation of whole clusters; units inherit their cluster's arm.
* ``block_cluster`` — complete randomisation of clusters within blocks; clusters must sit inside one block.

The engine :func:`draw_assignments` is vectorised over replications: it draws thousands of assignments at
once, which is what randomisation inference (:func:`whatworks.trials.analyse`) and the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, refuse_renamed, require_columns, require_dataframe
from whatworks.errors import error

__all__ = ["randomise", "RandomisationResult", "Design", "draw_assignments", "balance_table"]
_RENAMED = {"clusters": "cluster"}   # issue 17, "one vocabulary" (CHANGELOG.md)

_WHERE = "randomise"
METHODS = ("complete", "simple", "block", "cluster", "block_cluster")
# Fixed defaults of the options that take None as "not given" (recorded in .settings by given_or_default).
DEFAULT_METHOD = "complete"
DEFAULT_PROB = 0.5
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Design:
    """A randomisation design over N units, as integer codes (built by :func:`randomise`).

    Attributes
    ----------
    unit_cluster : ndarray of int, shape (N,)
        The randomisation unit (cluster) of each unit, 0..J−1 (``arange(N)`` when units are randomised alone).
    cluster_block : ndarray of int, shape (J,)
        The block of each randomisation unit, 0..B−1.
    block_prob : ndarray of float, shape (B,)
        Probability of treatment in each block.
    block_m : ndarray of int or None, shape (B,)
        Fixed number of randomisation units treated per block (conditional permutation); ``None`` uses
        ``block_prob`` with randomizr's random rounding.
    simple : bool
        Independent coin flips instead of complete randomisation.
    """

    unit_cluster: np.ndarray
    cluster_block: np.ndarray
    block_prob: np.ndarray
    block_m: np.ndarray | None = None
    simple: bool = False

    @property
    def n_units(self) -> int:
        return len(self.unit_cluster)

    def unit_prob(self) -> np.ndarray:
        """Each unit's exact probability of treatment."""
        n_cl = np.bincount(self.cluster_block, minlength=len(self.block_prob))
        if self.block_m is not None:
            p_block = self.block_m / n_cl
        else:
            p_block = self.block_prob
        return p_block[self.cluster_block][self.unit_cluster]


def draw_assignments(design: Design, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``reps`` independent assignments under ``design``: a (reps, N) array of 0/1 (int8).

    Complete randomisation within a block draws uniform keys for its J_b clusters and treats those whose
    key is below the m-th smallest — a uniformly random subset of size m, vectorised over replications.
    """
    n_cl = len(design.cluster_block)
    treated_cl = np.zeros((reps, n_cl), dtype=bool)
    if design.simple:
        p = design.block_prob[design.cluster_block]
        treated_cl = rng.random((reps, n_cl)) < p
    else:
        keys = rng.random((reps, n_cl))
        order = np.argsort(design.cluster_block, kind="stable")
        bounds = np.flatnonzero(np.diff(design.cluster_block[order])) + 1
        for idx in np.split(order, bounds):
            if idx.size == 0:
                continue
            b = design.cluster_block[idx[0]]
            size = idx.size
            if design.block_m is not None:
                m = np.full(reps, int(design.block_m[b]))
            else:
                target = size * design.block_prob[b]
                base = int(np.floor(target + 1e-12))
                frac = target - base
                m = base + (rng.random(reps) < frac) if frac > 1e-12 else np.full(reps, base)
            k = keys[:, idx]
            srt = np.sort(k, axis=1)
            # threshold: the m-th smallest key (m == size → treat all, m == 0 → treat none)
            thr = np.where(m >= size, np.inf, srt[np.arange(reps), np.minimum(m, size - 1)])
            treated_cl[:, idx] = k < thr[:, None]
    return treated_cl[:, design.unit_cluster].astype(np.int8)


def balance_table(df: pd.DataFrame, treatment: str | np.ndarray, covariates: Sequence[str]) -> pd.DataFrame:
    """Covariate balance between arms: means, pooled SD and standardised mean difference per covariate.

    Non-numeric covariates give one row per level (the share in each arm). SMD = (mean₁ − mean₀) /
    √((s₁² + s₀²)/2); |SMD| < 0.1 is conventionally good balance, < 0.25 acceptable.
    """
    t = np.asarray(df[treatment] if isinstance(treatment, str) else treatment).astype(bool)
    rows = []
    for cov in covariates:
        s = df[cov]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols = {cov: s.to_numpy(dtype=float)}
            level = [None]
        else:
            levels = sorted(s.dropna().astype(str).unique())
            cols = {f"{cov}={lv}": (s.astype(str) == lv).to_numpy(dtype=float) for lv in levels}
            level = levels
        for (name, x), lv in zip(cols.items(), level):
            x1, x0 = x[t], x[~t]
            m1 = float(np.nanmean(x1)) if x1.size else np.nan
            m0 = float(np.nanmean(x0)) if x0.size else np.nan
            v1 = float(np.nanvar(x1, ddof=1)) if x1.size > 1 else np.nan
            v0 = float(np.nanvar(x0, ddof=1)) if x0.size > 1 else np.nan
            sd = np.sqrt((v1 + v0) / 2)
            if not np.isfinite(sd):
                smd = np.nan          # an arm with fewer than two units: no SD to standardise by
            elif sd > 0:
                smd = (m1 - m0) / sd
            else:                     # both arms constant: balanced only if the constants agree
                smd = 0.0 if m1 == m0 else float(np.sign(m1 - m0) * np.inf)
            rows.append({"covariate": cov, "level": lv, "mean_treatment": m1, "mean_control": m0,
                         "sd_pooled": sd, "smd": smd})
    return pd.DataFrame(rows, columns=["covariate", "level", "mean_treatment", "mean_control", "sd_pooled", "smd"])


@dataclass(frozen=True, repr=False)
class RandomisationResult(Result):
    """Assignments (``.table``: one row per unit) with exact probabilities and a balance table.

    ``.table`` columns: ``unit``, ``block`` / ``cluster`` (when used), ``treatment`` (1/0), ``arm``,
    ``prob_treatment`` (the unit's probability of treatment) and ``prob_condition`` (its probability of the
    arm it actually got — the inverse-probability weight is 1/prob_condition).
    """

    method: str = ""
    seed: int = 0
    balance: pd.DataFrame | None = None
    design: Design | None = None

    @property
    def n_treated(self) -> int:
        return int(self.table["treatment"].sum())

    def redraw(self, reps: int, *, seed: int = 0) -> np.ndarray:
        """``reps`` fresh assignments under the same design (rows) — the randomisation distribution."""
        return draw_assignments(self.design, reps, np.random.default_rng(seed))

    def _headline(self) -> str:
        return f"{self.method}: {self.n_treated} of {len(self.table)} units treated (seed {self.seed})"

    def summary(self) -> str:
        text = (f"{self.method.replace('_', ' ').capitalize()} randomisation (seed {self.seed}): {self.n_treated} of "
                f"{len(self.table)} units to treatment.")
        if self.balance is not None and self.balance["smd"].notna().any():
            worst = self.balance.loc[self.balance["smd"].abs().idxmax()]
            name = worst["covariate"] if worst["level"] is None else f"{worst['covariate']}={worst['level']}"
            verdict = "good" if abs(worst["smd"]) < 0.1 else ("acceptable" if abs(worst["smd"]) < 0.25 else "poor")
            text += f" Largest imbalance: {name}, SMD {worst['smd']:+.2f} ({verdict})."
        return text

    def _draw(self, ax) -> None:
        if self.balance is None or not len(self.balance):
            counts = self.table.groupby("arm").size()
            ax.bar(counts.index, counts.to_numpy(), color=[PALETTE["blue"], PALETTE["orange"]][: len(counts)])
            ax.set_ylabel("units")
            ax.set_title("Units per arm")
            return
        b = self.balance
        labels = [c if lv is None else f"{c}={lv}" for c, lv in zip(b["covariate"], b["level"])]
        y = np.arange(len(b))
        ax.axvspan(-0.1, 0.1, color=PALETTE["green"], alpha=0.15)
        ax.axvline(0, color=PALETTE["grey"], lw=1)
        ax.plot(b["smd"], y, "o", color=PALETTE["blue"])
        ax.set_yticks(y, labels)
        ax.set_xlabel("standardised mean difference (treatment − control)")
        ax.set_title("Covariate balance")


def _codes(where: str, df: pd.DataFrame, column: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    s = df[column]
    missing = s.isna()
    if missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0])
        raise error(where, f"Column '{column}' ({what}) has missing values.", got=s.iloc[first],
                    row=f"position {first} (index {df.index[first]!r})",
                    hint=f"Every unit needs a {what}; put units with no {what} in a block/cluster of their own.")
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _check_prob(where: str, name: str, p: Any) -> float:
    ok = isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool) and 0 < p < 1
    if not ok:
        raise error(where, f"The '{name}' must be a probability strictly between 0 and 1.", got=p,
                    hint="Use 0.5 for equal arms; probabilities of 0 or 1 are not random assignment.")
    return float(p)


def build_design(units: pd.DataFrame, *, method: str, blocks: str | None, cluster: str | None,
                 prob: float | Mapping[Any, float], m: int | None, where: str = _WHERE) -> Design:
    """Validate a randomisation request and encode it as a :class:`Design`."""
    check_choice(where, "method", method, METHODS)
    needs_blocks = method in ("block", "block_cluster")
    needs_clusters = method in ("cluster", "block_cluster")
    if needs_blocks and blocks is None:
        raise error(where, f"method='{method}' needs the 'blocks' column.", got=None)
    if needs_clusters and cluster is None:
        raise error(where, f"method='{method}' needs the 'cluster' column.", got=None)
    if not needs_blocks and blocks is not None:
        raise error(where, f"'blocks' was given but method='{method}' does not use blocks.", got=blocks,
                    hint="Use method='block' (or 'block_cluster').")
    if not needs_clusters and cluster is not None:
        raise error(where, f"'cluster' was given but method='{method}' does not use clusters.", got=cluster,
                    hint="Use method='cluster' (or 'block_cluster').")
    n = len(units)
    if n < 2:
        raise error(where, "At least two units are needed to randomise.", got=n)
    if cluster is not None:
        unit_cluster, _ = _codes(where, units, cluster, "cluster")
    else:
        unit_cluster = np.arange(n, dtype=np.int64)
    n_cl = int(unit_cluster.max()) + 1
    if blocks is not None:
        unit_block, block_names = _codes(where, units, blocks, "block")
        cluster_block = np.full(n_cl, -1, dtype=np.int64)
        cluster_block[unit_cluster] = unit_block
        spans = unit_block != cluster_block[unit_cluster]
        if spans.any():
            first = int(np.flatnonzero(spans)[0])
            raise error(where, f"Cluster {units[cluster].iloc[first]!r} spans more than one block.",
                        row=f"position {first} (index {units.index[first]!r})",
                        hint="Clusters must be nested in blocks: each cluster's units share one block.")
    else:
        block_names = np.array(["all"], dtype=object)
        cluster_block = np.zeros(n_cl, dtype=np.int64)
    n_blocks = len(block_names)
    if isinstance(prob, Mapping):
        if blocks is None:
            raise error(where, "A per-block 'prob' mapping needs method='block' or 'block_cluster'.", got=dict(prob))
        absent = [b for b in block_names if b not in prob]
        if absent:
            raise error(where, f"'prob' has no probability for block(s) {list(absent)[:5]}.",
                        expected=f"a probability for each of {len(block_names)} blocks")
        block_prob = np.array([_check_prob(where, f"prob[{b!r}]", prob[b]) for b in block_names])
    else:
        block_prob = np.full(n_blocks, _check_prob(where, "prob", prob))
    block_m = None
    if m is not None:
        if method not in ("complete", "cluster"):
            raise error(where, "'m' (the number to treat) applies to method='complete' or 'cluster' only.", got=method)
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 < m < n_cl:
            raise error(where, f"'m' must be a whole number between 1 and {n_cl - 1}.", got=m)
        block_m = np.array([int(m)])
        block_prob = np.array([m / n_cl])
    return Design(unit_cluster=unit_cluster, cluster_block=cluster_block, block_prob=block_prob, block_m=block_m,
                  simple=(method == "simple"))


def _random_rounding(design: Design) -> str:
    """Describe the blocks whose number to treat, J_b·prob, is not whole (randomizr's random rounding), or ""."""
    if design.simple or design.block_m is not None:
        return ""
    sizes = np.bincount(design.cluster_block, minlength=len(design.block_prob))
    target = sizes * design.block_prob
    base = np.floor(target + 1e-12)
    frac = target - base
    odd = np.flatnonzero(frac > 1e-12)
    if odd.size == 0:
        return ""
    b = int(odd[0])
    more = f" (and {odd.size - 1} other block(s))" if odd.size > 1 else ""
    return (f"{int(sizes[b])} × prob {design.block_prob[b]:g} = {target[b]:g} is not whole{more}: "
            f"{int(base[b])} or {int(base[b]) + 1} treated, the latter with probability {frac[b]:.3g}, "
            f"so every unit's probability is exactly prob")


def randomise(units: pd.DataFrame, method: str | None = None, *, id: str | None = None, blocks: str | None = None,
              cluster: str | None = None, prob: float | Mapping[Any, float] | None = None, m: int | None = None,
              balance: Sequence[str] | None = None, seed: int | None = None, quiet: bool = False,
              **renamed) -> RandomisationResult:
    """Randomly assign units to treatment or control and report each unit's exact probability.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit (hotspot cell, offender, case).
    method : {"complete", "simple", "block", "cluster", "block_cluster"}, optional
        ``None`` (not given) means "complete".
    id : str, optional
        Column of unit identifiers; ``None`` uses the index. Identifiers must be unique.
    blocks : str, optional
        Block (stratum) column; required by ``block`` and ``block_cluster``.
    cluster : str, optional
        Cluster column; required by ``cluster`` and ``block_cluster``. (Called ``clusters`` before issue 17; passing
        ``clusters=`` is an error naming ``cluster``.)
    prob : float or mapping, optional
        Probability of treatment, strictly between 0 and 1; a ``{block: prob}`` mapping for block designs.
        ``None`` (not given) means 0.5, unless ``m`` is given.
    m : int, optional
        Exact number of units (``complete``) or clusters (``cluster``) to treat, instead of ``prob`` (give one or
        the other, as randomizr requires).
    balance : list of str, optional
        Covariates for the balance table (``.balance``).
    seed : int, optional
        Seed of the random draw; ``None`` (not given) means 0. Seed 0 is a real seed: the same units, options and
        seed always give the same assignment.
    quiet : bool, default False
        Silence the notices: units identified by the index (no ``id``), and a number to treat that is not whole
        (N·prob, rounded at random so every unit's probability stays exactly ``prob``). They are recorded in
        ``.settings`` either way.

    Returns
    -------
    RandomisationResult
        ``.settings`` records ``method``, ``prob`` and ``seed`` with source "user" when you pass them — even the
        default value — and "default" when you leave them out (with ``m``, ``prob`` is the implied m / J).

    Examples
    --------
    >>> cells = pd.DataFrame({"cell": range(8), "area": list("AAAABBBB")})
    >>> r = randomise(cells, "block", id="cell", blocks="area", seed=1)
    >>> r.table.groupby("block")["treatment"].sum().tolist()
    [2, 2]
    """
    refuse_renamed(_WHERE, renamed, _RENAMED)
    require_dataframe(_WHERE, "units", units)
    require_columns(_WHERE, units, [id, blocks, cluster, *(balance or [])], arg="units")
    ids = units.index.to_series() if id is None else units[id]
    if ids.isna().any():
        first = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise error(_WHERE, "Unit identifiers must not be missing.", row=f"position {first}",
                    hint="Give every unit an id.")
    dup = ids.duplicated(keep="first")
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise error(_WHERE, f"Unit identifiers must be unique; {ids.iloc[first]!r} appears more than once.",
                    got=ids.iloc[first], row=f"position {first} (index {units.index[first]!r})",
                    hint="Remove duplicate rows, or randomise clusters with method='cluster'.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise error(_WHERE, "The 'seed' must be a non-negative integer.", got=seed)
    if m is not None and prob is not None:
        raise error(_WHERE, "Give either 'prob' or 'm' (the number to treat), not both.", got={"prob": prob, "m": m},
                    hint="With 'm' the probability of treatment is m / number of units; leave 'prob' out.")
    # None = not given: an explicit method="complete", prob=0.5 or seed=0 is still recorded as the user's
    settings: dict[str, Setting] = {}
    method = given_or_default(settings, "method", method, DEFAULT_METHOD, reason="randomisation scheme")
    design = build_design(units, method=method, blocks=blocks, cluster=cluster,
                          prob=DEFAULT_PROB if prob is None else prob, m=m)
    if m is not None:
        settings["prob"] = Setting(float(design.block_prob[0]), "user",
                                   f"implied by m = {m} of {len(design.cluster_block)} randomisation units")
    else:
        given_or_default(settings, "prob", dict(prob) if isinstance(prob, Mapping) else prob, DEFAULT_PROB,
                         reason="probability of treatment")
    seed = int(given_or_default(settings, "seed", seed, DEFAULT_SEED, reason="random seed of the assignment"))
    settings["id"] = Setting(id, "user" if id is not None else "default",
                             "unit identifier column" if id is not None else "not given: units are the index")
    if id is None:
        announce("units identified by the index of 'units' (no id= given).", quiet=quiet)
    rounding = _random_rounding(design)
    if rounding:
        settings["rounding"] = Setting(rounding, "data", "number to treat is not whole: rounded at random")
        announce(rounding + ".", quiet=quiet)
    treat = draw_assignments(design, 1, np.random.default_rng(seed))[0]
    p = design.unit_prob()
    table = pd.DataFrame({"unit": ids.to_numpy()})
    if blocks is not None:
        table["block"] = units[blocks].to_numpy()
    if cluster is not None:
        table["cluster"] = units[cluster].to_numpy()
    table["treatment"] = treat.astype(int)
    table["arm"] = np.where(treat == 1, "treatment", "control")
    table["prob_treatment"] = p
    table["prob_condition"] = np.where(treat == 1, p, 1 - p)
    bal = None
    if balance:
        bal = balance_table(units.reset_index(drop=True), treat.astype(bool), list(balance))
    settings["blocks"] = Setting(blocks, "user" if blocks is not None else "default", "block (stratum) column")
    settings["cluster"] = Setting(cluster, "user" if cluster is not None else "default", "cluster column")
    if m is not None:
        settings["m"] = Setting(m, "user")
    return RandomisationResult(table=table, settings=settings, method=method, seed=int(seed), balance=bal, design=design)
