"""Most-similar peer groups: compare an area with the handful of areas most like it.

Method (the idea behind the Home Office / HMICFRS "most similar groups"): describe every area by covariates that drive
crime and demand (deprivation, density, housing, age structure …), put each covariate on a common scale by
z-scoring it across all areas (subtract the mean, divide by the standard deviation), optionally weight the
covariates, and take each area's ``k`` nearest areas by Euclidean distance in that space. Areas themselves are
excluded from their own group.

The published MSG method has changed over time (earlier "families" used cluster analysis) and its covariates and
weights are chosen by the Home Office; whatworks does not reproduce them. Choose covariates that matter for the
indicator being compared, transform skewed ones first (e.g. log density), or pass your own groups with ``groups=``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error

__all__ = ["peers", "PeersResult", "standardise"]
WHERE = "peers"
DEFAULT_K = 7
ON_MISSING = ("error", "drop")


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-scores per column: (x − mean) / sd (sd with n − 1). Returns (z, mean, sd).

    >>> z, m, s = standardise(np.array([[1.0], [2.0], [3.0]]))
    >>> z.ravel().tolist()
    [-1.0, 0.0, 1.0]
    """
    m = x.mean(axis=0)
    s = x.std(axis=0, ddof=1)
    return (x - m) / s, m, s


@dataclass(frozen=True, repr=False)
class PeersResult(Result):
    """Peer groups. ``table``: one row per (area, peer) with ``rank`` (1 = most similar) and ``distance`` (in
    standard-deviation units; NaN for user-supplied groups without features). ``id`` names the area column of
    ``table`` (called ``id_col`` before issue 17)."""

    id: str = "id"
    k: int = DEFAULT_K
    features: tuple = ()
    source: str = "computed"
    dropped: tuple = ()   # areas left out because a feature was missing (on_missing="drop")

    def of(self, area) -> pd.DataFrame:
        """The peers of one area, most similar first."""
        t = self.table[self.table[self.id] == area]
        if t.empty:
            if area in self.dropped:
                raise error("PeersResult.of", f"Area {area!r} has no peer group: it was left out because one of its "
                            f"features ({', '.join(self.features)}) is missing.",
                            hint="Give the area a value for every feature, or compare on features it has.")
            raise error("PeersResult.of", f"Area {area!r} has no peer group.", hint="Check the area code.")
        return t.sort_values("rank").reset_index(drop=True)

    def groups(self) -> dict:
        """{area: [peers, most similar first]}."""
        t = self.table.sort_values([self.id, "rank"])
        return {a: g["peer"].tolist() for a, g in t.groupby(self.id, sort=False)}

    def summary(self) -> str:
        n = self.table[self.id].nunique()
        if self.source == "user":
            return f"{n} areas with user-supplied peer groups."
        d = self.table.groupby(self.id)["distance"].mean()
        worst = d.sort_values(ascending=False).head(3)
        left_out = ""
        if self.dropped:
            shown = ", ".join(map(str, self.dropped[:5])) + (" …" if len(self.dropped) > 5 else "")
            left_out = (f" {len(self.dropped)} area{'s' if len(self.dropped) != 1 else ''} left out for a missing "
                        f"feature ({shown}).")
        return (f"{n} areas, each compared with its {self.k} most similar areas on {', '.join(self.features)} "
                f"(standardised Euclidean distance). Median distance to peers {d.median():.2f} SD; least well matched: "
                + ", ".join(f"{a} ({v:.2f})" for a, v in worst.items()) + "." + left_out)

    def _headline(self) -> str:
        return f"{self.table[self.id].nunique()} areas, k = {self.k}"

    def _draw(self, ax) -> None:
        d = self.table.groupby(self.id)["distance"].mean().sort_values()
        ax.plot(np.arange(len(d)), d.to_numpy(), color=PALETTE["blue"])
        ax.set_xlabel("areas, best matched first")
        ax.set_ylabel("mean distance to peers (SD units)")
        ax.set_title("How similar are the peer groups?")


def _missing_features(areas: pd.DataFrame, features: list[str], id: str, on_missing: str,
                      user_groups: bool) -> tuple[pd.DataFrame, tuple]:
    """Apply the ``on_missing`` policy to areas with a missing (NaN) feature: (areas kept, ids left out)."""
    miss = areas[features].isna().to_numpy()
    rows = miss.any(axis=1)
    if not rows.any():
        return areas, ()
    if on_missing == "error" or user_groups:
        r = int(np.flatnonzero(rows)[0])
        f = features[int(np.flatnonzero(miss[r])[0])]
        raise error(WHERE, f"Feature '{f}' is missing for {int(rows.sum())} area(s); peers need every feature for every "
                           "area.", got=areas[f].iloc[r], row=f"position {r} ({id}={areas[id].iloc[r]!r})",
                    hint="A covariate rolled up from small areas is missing when one of them has no value or no "
                         "population (store.area_covariates(level).attrs['missing'] says which). Fill it, leave the "
                         "feature out, or pass on_missing='drop' to leave those areas out"
                         + (" (not with your own groups)." if user_groups else "."))
    return areas[~rows].reset_index(drop=True), tuple(areas[id][rows].tolist())


def peers(areas: pd.DataFrame, features=None, *, id: str, k: int | None = None, weights: dict | None = None,
          groups: pd.DataFrame | None = None, on_missing: str | None = None, quiet: bool = False) -> PeersResult:
    """Most-similar areas by standardised distance on area covariates, or user-supplied peer groups.

    Parameters
    ----------
    areas : DataFrame
        One row per area.
    features : list of str
        Numeric covariate columns (no missing values, not constant). Required unless ``groups`` is given.
    id : str
        Column with the area code.
    k : int, optional
        Peers per area. ``None`` (not given) means 7.
    weights : dict, optional
        {feature: weight} multiplying each standardised covariate; a weight of 2 counts that covariate's differences
        twice as much. ``None`` (not given): 1 each. ``k`` and ``weights`` are recorded in ``.settings`` with source
        "user" when you pass them — even ``k=7`` or weights of 1 — and "default" when you leave them out.
    groups : DataFrame, optional
        Your own peer groups: columns ``id`` (the same name as ``id``) and ``peer``. When given, no groups are
        computed; if ``features`` are given too, distances are filled in for reference.
    on_missing : {"error", "drop"}, optional
        What to do with an area whose feature is missing (NaN) — as a covariate rolled up from small areas is when
        one of them has no value or no population (``store.area_covariates(level).attrs["missing"]`` says which).
        ``None`` (not given) means ``"error"``: stop and name the first such area. ``"drop"``: leave those areas out
        (they get no peer group and are no one's peer); they are listed in ``.dropped``, ``.settings`` and
        ``.summary()``.
    quiet : bool, default False
        Silence the notices (areas left out by ``on_missing="drop"``; ``k`` taken from your own groups). They are
        recorded in ``.settings`` either way.

    Returns
    -------
    PeersResult
        ``.table`` (area, peer, rank, distance), ``.of(area)``, ``.groups()``, ``.summary()``, ``.plot()``.

    Notes
    -----
    zᵢⱼ = (xᵢⱼ − x̄ⱼ) / sⱼ; distance(a, b) = √Σⱼ wⱼ² (z_aj − z_bj)². Nearest neighbours by ``scipy.spatial.cKDTree``.

    Areas of any level work the same way: for local authorities whose covariates were loaded for their small areas,
    pass ``store.area_covariates("lad")`` (counts summed, rates and shares population-weighted; see
    :meth:`whatworks.Store.area_covariates`). Transform counts into rates first if size should not drive similarity.

    References
    ----------
    Home Office (2004–) Most Similar Groups methodology; HMICFRS force comparisons.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"code": list("ABCDE"), "imd": [10, 11, 30, 31, 20], "density": [5, 6, 50, 52, 20]})
    >>> peers(a, ["imd", "density"], id="code", k=1).of("A")["peer"].tolist()
    ['B']
    """
    areas = require_dataframe(WHERE, "areas", areas)
    require_columns(WHERE, areas, [id], arg="areas")
    ids = areas[id]
    if ids.isna().any() or ids.duplicated().any():
        bad = ids[ids.isna() | ids.duplicated()].iloc[0]
        raise error(WHERE, f"Column '{id}' must name each area once.", got=bad, hint="Drop duplicate areas first.")
    if features is None and groups is None:
        raise error(WHERE, "Give covariate columns in 'features' (or your own peer groups in 'groups').",
                    hint="e.g. features=['imd_score', 'density', 'pct_social_housing']")
    if isinstance(features, str):
        features = [features]
    settings: dict[str, Setting] = {}
    # None = not given: an explicit k=7 is still recorded as the user's
    k = given_or_default(settings, "k", k, DEFAULT_K, reason="peers per area")
    settings["features"] = Setting(list(features or []), "user", "")

    on_missing = given_or_default(settings, "on_missing", on_missing, "error",
                                  reason="what to do with an area whose feature is missing")
    check_choice(WHERE, "on_missing", on_missing, ON_MISSING)
    dropped: tuple = ()
    dist_fn = None
    if features is not None:
        features = list(features)
        require_columns(WHERE, areas, features, arg="areas")
        areas, dropped = _missing_features(areas, features, id, on_missing, groups is not None)
        ids = areas[id]
        if dropped and len(areas) < 2:
            raise error(WHERE, f"Peers need at least 2 areas with every feature; {len(areas)} "
                        f"{'is' if len(areas) == 1 else 'are'} left after leaving out {len(dropped)} with a missing "
                        "feature.", hint="Compare on features every area has, or fill the missing values.")
        settings["dropped"] = Setting(list(dropped), "data", "areas left out for a missing feature (on_missing='drop')"
                                      if dropped else "no area has a missing feature")
        if dropped:
            shown = ", ".join(map(str, dropped[:5])) + (" …" if len(dropped) > 5 else "")
            announce(f"{len(dropped)} area(s) left out for a missing feature (on_missing='drop'): {shown}.",
                     quiet=quiet)
        x = np.column_stack([require_numeric(WHERE, areas, f) for f in features])
        if not np.isfinite(x).all():
            r, c = (int(v[0]) for v in np.nonzero(~np.isfinite(x)))
            raise error(WHERE, f"Feature '{features[c]}' must hold finite numbers.", got=x[r, c],
                        row=f"position {r} ({id}={ids.iloc[r]!r})",
                        hint="An infinite value usually comes from dividing by zero (e.g. a rate with no population).")
        sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])
        if (sd == 0).any():
            f = features[int(np.flatnonzero(sd == 0)[0])]
            raise error(WHERE, f"Feature '{f}' has the same value in every area, so it cannot tell areas apart.",
                        hint="Remove it from 'features'.")
        z, _, _ = standardise(x)
        w = np.ones(len(features))
        if weights:
            unknown = [f for f in weights if f not in features]
            if unknown:
                raise error(WHERE, f"Weights given for {unknown}, which are not in 'features'.")
            for f, v in weights.items():
                check_number(WHERE, f"weights['{f}']", v, low=0)
                w[features.index(f)] = v
        settings["weights"] = Setting(dict(zip(features, w.tolist())), "user" if weights is not None else "default",
                                      "multiplier of each standardised feature" if weights is not None else
                                      "every feature weighs 1")
        zw = z * w
        pos = {a: i for i, a in enumerate(ids.tolist())}

        def dist_fn(a_list, b_list):
            ia = np.array([pos[a] for a in a_list])
            ib = np.array([pos[b] for b in b_list])
            return np.sqrt(((zw[ia] - zw[ib]) ** 2).sum(axis=1))

    if groups is not None:
        groups = require_dataframe(WHERE, "groups", groups)
        require_columns(WHERE, groups, [id, "peer"], arg="groups")
        known = set(ids.tolist())
        unknown = ~groups[id].isin(known) | ~groups["peer"].isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise error(WHERE, "Peer groups name an area that is not in 'areas'.",
                        got=(groups[id].iloc[i], groups["peer"].iloc[i]), row=f"position {i}")
        if groups.empty:
            raise error(WHERE, "The 'groups' table has no rows.", hint="Give one row per (area, peer) pair.")
        self_peer = groups[id] == groups["peer"]
        if self_peer.any():
            i = int(np.flatnonzero(self_peer.to_numpy())[0])
            raise error(WHERE, "An area is listed as its own peer.", got=groups[id].iloc[i], row=f"position {i}")
        t = groups[[id, "peer"]].reset_index(drop=True).copy()
        t["rank"] = t.groupby(id).cumcount() + 1
        t["distance"] = dist_fn(t[id].tolist(), t["peer"].tolist()) if dist_fn else np.nan
        kk = int(t.groupby(id).size().max())
        settings["k"] = Setting(kk, "data", "largest user-supplied peer group (k is not used with groups)")
        announce(f"k set to {kk} peers (the largest of your groups; k is not used with groups=).", quiet=quiet)
        return PeersResult(table=t, settings=settings, id=id, k=kk, features=tuple(features or ()), source="user",
                           dropped=dropped)

    n = len(areas)
    check_number(WHERE, "k", k, low=1, high=n - 1, integer=True)
    k = int(k)
    tree = cKDTree(zw)
    dist, idx = tree.query(zw, k=k + 1)
    # drop the area itself (it may not come first when another area has identical covariates): stable-sort it last
    is_self = idx == np.arange(n)[:, None]
    order = np.argsort(is_self, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)[:, :k]
    dist = np.take_along_axis(dist, order, axis=1)[:, :k]
    id_arr = ids.to_numpy()
    rows_a, rows_p = np.repeat(id_arr, k), id_arr[idx.ravel()]
    ranks, dists = np.tile(np.arange(1, k + 1), n), dist.ravel()
    t = pd.DataFrame({id: rows_a, "peer": rows_p, "rank": ranks, "distance": dists})
    return PeersResult(table=t, settings=settings, id=id, k=k, features=tuple(features), dropped=dropped)
