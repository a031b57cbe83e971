"""Getis–Ord Gi* hot and cold spots on a grid (or any set of places with coordinates)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.spatial import cKDTree

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.place._lattice import Lattice, cells_geojson, draw_cells
from whatworks.place._maps import MapPlot
from whatworks.place._study_area import (BBOX, StudyArea, build_study_area, fmt_area, fmt_length, length_unit,
                                         parse_study_area, points_in_area)

__all__ = ["gistar", "GiStarResult", "binary_weights", "gistar_z"]

HOT, COLD, NS = "hot spot", "cold spot", "not significant"
CLASS_COLOURS = {HOT: PALETTE["vermillion"], COLD: PALETTE["blue"], NS: "#E5E5E5"}
# Neighbours are those within the distance; 1e-9 relative slack so that diagonal neighbours on a grid
# (exactly cell_size·√2 away in real arithmetic) are not lost to floating-point rounding.
DISTANCE_SLACK = 1e-9
DEFAULT_PERMUTATIONS = 0        # analytic p-values
DEFAULT_FDR = True
DEFAULT_ALPHA = 0.05           # sfhotspot's default
DEFAULT_SEED = 0
# Conditional permutations are processed in blocks of at most this many gathered values (memory bound).
_BLOCK = 4_000_000


@dataclass(frozen=True, repr=False, kw_only=True)
class GiStarResult(MapPlot, Result):
    """Gi* z-scores, p-values and hot/cold classification per cell.

    ``table`` columns: the input's ``cell_id`` (when present), ``x``, ``y``, the value column, ``neighbours``
    (including the cell itself), ``gistar`` (the z-score), ``p_value`` (two-sided; from permutations when they were run),
    ``p_adjusted`` (Benjamini–Hochberg when ``fdr``), ``classification`` ("hot spot", "cold spot", "not significant").
    Only study-area cells are rows; ``study_area`` holds them (None for a plain table of places).
    """

    lattice: Lattice | None = None
    crs: str | None = None
    distance: float = float("nan")
    alpha: float = 0.05
    study_area: StudyArea | None = None

    @property
    def unit(self) -> str:
        return length_unit(self.crs)

    def _counts(self):
        c = self.table["classification"].value_counts()
        return int(c.get(HOT, 0)), int(c.get(COLD, 0))

    def _headline(self) -> str:
        hot, cold = self._counts()
        return f"{hot} hot and {cold} cold spots among {len(self.table):,} cells"

    def summary(self) -> str:
        hot, cold = self._counts()
        how = "permutation" if self.settings.get("permutations") and self.settings["permutations"].value else "analytic"
        fdr = self.settings.get("fdr")
        adj = " after Benjamini–Hochberg false-discovery-rate control" if fdr and fdr.value else ""
        text = (f"Getis–Ord Gi* over {len(self.table):,} cells (neighbours within "
                f"{fmt_length(self.distance, self.unit)}, each cell included): {hot} hot spot(s) and {cold} cold "
                f"spot(s) at p < {self.alpha} ({how} p-values{adj}).")
        if self.study_area is not None:
            text += f" Cells compared across the {self.study_area.description}."
        return text

    def _draw(self, ax) -> None:
        cls = self.table["classification"].to_numpy()
        if self.lattice is not None and "cell_id" in self.table:
            draw_cells(ax, self.lattice, self.table["cell_id"].to_numpy(), None, colors=CLASS_COLOURS, categories=cls)
        else:
            for name, colour in CLASS_COLOURS.items():
                m = cls == name
                ax.scatter(self.table["x"][m], self.table["y"][m], s=8, color=colour, label=name)
            ax.legend(frameon=False, fontsize=8)
            ax.set_aspect("equal")
        ax.set_title("Getis–Ord Gi* hot and cold spots", loc="left")

    def to_geojson(self, *, as_string: bool = False):
        """Cells as GeoJSON polygons (points when the input was not a grid), with all table columns as properties."""
        if self.lattice is not None and "cell_id" in self.table:
            gj = cells_geojson(self.lattice, self.table, self.crs)
        else:
            from whatworks.place._lattice import _jsonable

            gj = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r["x"]), float(r["y"])]},
                 "properties": {k: _jsonable(v) for k, v in r.items()}} for r in self.table.to_dict(orient="records")]}
            if self.crs:
                gj["crs"] = {"type": "name", "properties": {"name": str(self.crs)}}
        if as_string:
            import json

            return json.dumps(gj)
        return gj


def binary_weights(x: np.ndarray, y: np.ndarray, distance: float) -> sparse.csr_matrix:
    """Binary spatial weights: w_ij = 1 when cells i and j are within ``distance`` (inclusive), w_ii = 1 (Gi*)."""
    pts = np.column_stack([x, y])
    pairs = cKDTree(pts).query_pairs(distance * (1 + DISTANCE_SLACK), output_type="ndarray")
    n = len(x)
    i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    return sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))


def gistar_z(values: np.ndarray, w: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Analytic Gi* z-scores (Ord & Getis 1995, eq. 7 with the cell itself included) for binary weights.

    z_i = (Σ_j w_ij x_j − x̄ W_i) / (s √((n W_i − W_i²)/(n − 1))), W_i = Σ_j w_ij, x̄ and s the mean and the
    population standard deviation (divisor n) of all n values. Returns ``(z, W_i)``.
    """
    x = np.asarray(values, float)
    wi = np.asarray(w.sum(axis=1)).ravel()
    return gistar_z_from_lag(x, w @ x, wi), wi


def gistar_z_from_lag(x: np.ndarray, lag: np.ndarray, wi: np.ndarray) -> np.ndarray:
    """The Gi* z-score from the neighbour sums ``lag`` and neighbour counts ``wi`` (see :func:`gistar_z`)."""
    n = len(x)
    xbar = x.mean()
    s = math.sqrt(max((x * x).mean() - xbar * xbar, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (lag - xbar * wi) / (s * np.sqrt((n * wi - wi * wi) / (n - 1)))


def square_lattice_lag(lattice: Lattice, values: np.ndarray, distance: float,
                       cell_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(Σ_j w_ij x_j, W_i)`` for a square lattice, by a 2-D correlation with the disc of offsets within
    ``distance`` — the same binary weights as :func:`binary_weights`, without building a matrix.

    ``values`` are in cell-id order for the whole lattice, or — with ``cell_ids`` (distinct ids of the cells present,
    e.g. a study area) — for those cells only: absent cells are neither neighbours nor counted in ``W_i``."""
    from scipy.ndimage import correlate

    reach = int(math.floor(distance * (1 + DISTANCE_SLACK) / lattice.cell_size))
    off = np.arange(-reach, reach + 1) * lattice.cell_size
    kernel = (np.hypot(off[:, None], off[None, :]) <= distance * (1 + DISTANCE_SLACK)).astype(float)
    if cell_ids is None:
        img = np.asarray(values, float).reshape(lattice.nrows, lattice.ncols)
        present = np.ones_like(img)
    else:
        img = np.zeros(lattice.n_cells)
        img[cell_ids] = values
        img = img.reshape(lattice.nrows, lattice.ncols)
        present = np.zeros(lattice.n_cells)
        present[cell_ids] = 1.0
        present = present.reshape(lattice.nrows, lattice.ncols)
    lag = correlate(img, kernel, mode="constant", cval=0.0).ravel()
    wi = np.rint(correlate(present, kernel, mode="constant", cval=0.0).ravel())
    if cell_ids is None:
        return lag, wi
    return lag[cell_ids], wi[cell_ids]


def _distinct_draws(rng: np.random.Generator, high: int, size: tuple[int, int]) -> np.ndarray:
    """``size[0]`` rows of ``size[1]`` distinct integers in [0, high) (rejection of rows with repeats)."""
    p, m = size
    out = rng.integers(0, high, size=size)
    if m < 2:
        return out
    while True:
        srt = np.sort(out, axis=1)
        bad = np.flatnonzero((np.diff(srt, axis=1) == 0).any(axis=1))
        if not len(bad):
            return out
        out[bad] = rng.integers(0, high, size=(len(bad), m))


def conditional_permutation_p(values: np.ndarray, w: sparse.csr_matrix, permutations: int, seed: int) -> np.ndarray:
    """Two-sided conditional-permutation p-values for Gi* (Anselin 1995's conditional randomisation).

    For each cell the value of the cell itself is held fixed and its ``k`` other neighbours' values are replaced by a
    random draw (without replacement) of ``k`` of the other ``n − 1`` values; ``p = 2·(min(#sims ≥ obs, #sims ≤ obs)
    + 1)/(sims + 1)``, capped at 1. As in esda, cells with the same number of neighbours share one set of random draws
    (each cell's p-value is still exact under the null; p-values of different cells are correlated).
    """
    x = np.asarray(values, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    lag = w @ x
    k_other = np.asarray(w.sum(axis=1)).ravel().astype(np.int64) - 1
    p = np.ones(n)
    tol = 1e-9 * max(1.0, float(np.abs(x).max()))
    for m in np.unique(k_other):
        cells = np.flatnonzero(k_other == m)
        if m <= 0:
            continue  # a cell with no other neighbour has nothing to permute: p = 1
        draws = _distinct_draws(rng, n - 1, (permutations, int(m)))
        block = max(1, _BLOCK // (permutations * int(m)))
        for start in range(0, len(cells), block):
            ci = cells[start:start + block]
            # indices into "all cells except i": shift those at or beyond i by one
            idx = draws[None, :, :] + (draws[None, :, :] >= ci[:, None, None])
            sims = x[idx].sum(axis=2) + x[ci][:, None]
            obs = lag[ci][:, None]
            ge = (sims >= obs - tol).sum(axis=1)
            le = (sims <= obs + tol).sum(axis=1)
            p[ci] = np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1) / (permutations + 1))
    return p


def _regular_spacing(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    nn = d[:, 1]
    spacing = float(np.median(nn))
    if not spacing > 0:
        raise ValueError("duplicate locations")
    return spacing * math.sqrt(2), (f"√2 × the median distance to the nearest other cell ({spacing:g}), i.e. the "
                                   "eight surrounding cells on a square grid")


def gistar(cells, x: str = "x", y: str = "y", value: str = "count", *, distance: float | None = None,
           permutations: int | None = None, fdr: bool | None = None, alpha: float | None = None,
           seed: int | None = None, study_area=None, quiet: bool = False) -> GiStarResult:
    """Getis–Ord Gi* statistic for every cell, with hot / cold / not significant classification.

    Parameters
    ----------
    cells : GridResult or DataFrame
        A grid from :func:`whatworks.place.grid` (its zero-count cells matter), or any table of places with
        coordinates and a value.
    x, y, value : str, default "x", "y", "count"
        Columns of ``cells`` holding the place's coordinates and the value to test.
    distance : float, optional
        Neighbour distance: places within it (inclusive) are neighbours, and every place is its own neighbour (Gi*).
        ``None``: for a grid, ``cell_size × √2`` (the eight surrounding squares, or the six surrounding hexagons;
        sfhotspot's default); for a plain table, √2 × the median nearest-neighbour distance. Announced.
    permutations : int, optional
        0 uses the analytic normal p-values; otherwise the number of conditional permutations for pseudo p-values.
        ``None`` (not given) means 0.
    fdr : bool, optional
        Control the false discovery rate across cells with Benjamini–Hochberg before classifying. ``None`` (not
        given) means True.
    alpha : float, optional
        Significance level for the (adjusted) p-values. ``None`` (not given) means 0.05 (sfhotspot's default).
    seed : int, optional
        Seed (an integer ≥ 0) for the permutations. ``None`` (not given) means 0, so results are reproducible either
        way. ``permutations``, ``fdr``, ``alpha`` and ``seed`` are recorded in ``.settings`` with source "user" when
        you pass them — even the default value, e.g. ``seed=0`` — and source "default" when you leave them out.
    study_area : DataFrame, shapely (Multi)Polygon, boundaries table or StudyArea, optional
        Keep only the cells in this study area (see :func:`whatworks.place.grid`): cells outside are not zero cells,
        they are left out, so neighbours, the mean and the standard deviation are over the study area only. A grid
        made with ``study_area=`` already holds only its study-area cells; ``None`` uses the cells given. For a plain
        table of places only a polygon can be used (places outside it are left out).
    quiet : bool, default False
        Silence announcements.

    Returns
    -------
    GiStarResult
        ``.table`` with ``gistar`` (z), ``p_value``, ``p_adjusted``, ``classification``; ``.plot()`` maps it.

    Notes
    -----
    With binary weights w_ij (w_ii = 1) and W_i = Σ_j w_ij, the z-score is (Ord & Getis 1995)

        z_i = (Σ_j w_ij x_j − x̄ W_i) / (s · √((n W_i − W_i²) / (n − 1)))

    with x̄ and s the mean and population standard deviation of all n values. This equals esda's
    ``G_Local(y, w, transform="B", star=True).Zs`` and spdep's ``localG`` with ``include.self``. Two-sided p-values
    are ``2·Φ(−|z|)``. A cell is a hot spot when its (adjusted) p-value is below ``alpha`` and z > 0, a cold spot when
    z < 0.

    References
    ----------
    Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues and an application.
    Geographical Analysis 27(4), 286–306. Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57(1), 289–300.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from whatworks.place import grid, gistar
    >>> rng = np.random.default_rng(1)
    >>> pts = pd.DataFrame(rng.uniform(0, 1000, (500, 2)), columns=["x", "y"])
    >>> hot = pd.DataFrame(rng.normal(500, 30, (200, 2)), columns=["x", "y"])
    >>> g = grid(pd.concat([pts, hot]), cell_size=50, quiet=True)
    >>> r = gistar(g, quiet=True)
    >>> r.table.loc[r.table["classification"] == "hot spot", ["x", "y"]].mean().round(-2).tolist()
    [500.0, 500.0]
    """
    where = "gistar"
    lattice = crs = None
    settings: dict[str, Setting] = {}
    default_distance = None
    if hasattr(cells, "lattice") and hasattr(cells, "table"):
        lattice, crs = cells.lattice, getattr(cells, "crs", None)
        if value == "count" and getattr(cells, "value", "count") != "count":
            value = cells.value
        unit = length_unit(crs)
        default_distance = (lattice.cell_size * math.sqrt(2),
                            f"cell size ({fmt_length(lattice.cell_size, unit)}) × √2: the cells touching each cell")
        table = cells.table
        area = getattr(cells, "study_area", None)
    else:
        table = require_dataframe(where, "cells", cells)
        unit, area = length_unit(None), None
    require_columns(where, table, [x, y, value], arg="cells")
    spec = parse_study_area(where, study_area)
    if spec.kind != BBOX:
        if lattice is not None and "cell_id" in table.columns:
            area = build_study_area(where, spec, lattice, unit=unit)
            inside = np.isin(table["cell_id"].to_numpy(), area.cell_ids)
        elif spec.geometry is not None:
            inside = points_in_area(spec, None, pd.to_numeric(table[x], errors="coerce").to_numpy(float),
                                    pd.to_numeric(table[y], errors="coerce").to_numpy(float))
        else:
            raise error(where, "A study area of points needs a grid to define its cells.", got="a plain table",
                        hint="Make the grid with place.grid(..., study_area=points), or give a polygon.")
        n_out = int((~inside).sum())
        table = table[inside].reset_index(drop=True)
        msg = (f"Gi* over the study area: {len(table):,} cells kept, {n_out:,} outside left out (not counted as "
               "zeros)" if lattice is not None else
               f"Gi* over the study area: {len(table):,} places kept, {n_out:,} outside the polygon left out")
        announce(msg + ".", quiet=quiet)
        settings["study_area"] = Setting(spec.kind, "user", msg)
        if lattice is not None and "cell_id" in table.columns:
            cell_area = lattice.cell_area
            area = StudyArea(kind=area.kind, lattice=lattice, cell_ids=np.sort(table["cell_id"].to_numpy(np.int64)),
                             description=(f"study area: {len(table):,} cells of {fmt_length(lattice.cell_size, unit)} "
                                          f"({fmt_area(len(table) * cell_area, unit)})"), geometry=area.geometry)
    if len(table) < 3:
        raise error(where, "Gi* needs at least 3 cells.", got=len(table))
    xv = require_numeric(where, table, x)
    yv = require_numeric(where, table, y)
    vals = require_numeric(where, table, value)
    for col, arr in ((x, xv), (y, yv), (value, vals)):
        if not np.isfinite(arr).all():
            first = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise error(where, f"Column '{col}' must hold finite numbers.", got=arr[first], row=f"position {first}",
                        hint="Fix or drop that place first.")
    if permutations is not None:
        check_number(where, "permutations", permutations, low=0, integer=True)
    if alpha is not None:
        check_number(where, "alpha", alpha, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if seed is not None:
        check_number(where, "seed", seed, low=0, integer=True)
    if distance is not None:
        check_number(where, "distance", distance, low=0, low_inclusive=False)

    def chooser():
        if default_distance is not None:
            return default_distance
        try:
            return _regular_spacing(xv, yv)
        except ValueError:
            raise error(where, "Cannot choose a neighbour distance: several cells share one location.",
                        hint="Give distance= explicitly.") from None

    dist = float(resolve("distance", distance, chooser, quiet=quiet, settings=settings, unit=unit))
    # None = not given: an explicit value equal to the default (seed=0, alpha=0.05 …) is still recorded as the user's
    permutations = int(given_or_default(settings, "permutations", None if permutations is None else int(permutations),
                                        DEFAULT_PERMUTATIONS, reason="conditional permutations (0: analytic p-values)"))
    fdr = bool(given_or_default(settings, "fdr", None if fdr is None else bool(fdr), DEFAULT_FDR,
                                reason="Benjamini–Hochberg across cells"))
    alpha = given_or_default(settings, "alpha", alpha, DEFAULT_ALPHA, reason="significance level",
                             default_reason="significance level (sfhotspot default)")
    seed = int(given_or_default(settings, "seed", None if seed is None else int(seed), DEFAULT_SEED,
                                reason="random seed for permutations"))

    if np.ptp(vals) == 0:
        raise error(where, f"Every cell has the same '{value}' ({vals[0]:g}); Gi* is undefined.",
                    hint="Use a smaller cell size or more data.")
    on_square = (lattice is not None and lattice.shape == "square" and (x, y) == ("x", "y")
                 and "cell_id" in table.columns)
    ids = table["cell_id"].to_numpy() if on_square else None
    full_square = on_square and len(table) == lattice.n_cells and np.array_equal(ids, np.arange(lattice.n_cells))
    sub_square = (on_square and not full_square and pd.api.types.is_integer_dtype(ids) and len(ids)
                  and ids.min() >= 0 and ids.max() < lattice.n_cells and len(np.unique(ids)) == len(ids))
    w = None
    if (full_square or sub_square) and not permutations:
        # Fast path for a square grid (the whole lattice or its study-area cells): neighbour sums by 2-D correlation
        # (identical binary weights among the cells present, no matrix).
        lag, wi = square_lattice_lag(lattice, vals, dist, None if full_square else ids.astype(np.int64))
        z = gistar_z_from_lag(vals, lag, wi)
    else:
        w = binary_weights(xv, yv, dist)
        z, wi = gistar_z(vals, w)
    if np.all(wi == len(vals)):
        raise error(where, f"With distance {fmt_length(dist, unit)} every cell neighbours every other cell, so Gi* "
                    "is undefined.",
                    got=dist, hint="Use a smaller distance.")
    p = 2 * stats.norm.sf(np.abs(z))
    if permutations:
        p = conditional_permutation_p(vals, w, permutations, seed)
    finite = np.isfinite(p)
    p_adj = np.full(len(p), np.nan)
    if fdr:
        p_adj[finite] = stats.false_discovery_control(p[finite], method="bh")
    else:
        p_adj = p.copy()
    sig = finite & (p_adj < alpha)
    cls = np.where(sig & (z > 0), HOT, np.where(sig & (z < 0), COLD, NS))

    out = pd.DataFrame({"x": xv, "y": yv})
    out[value] = vals
    for k, col in enumerate(c for c in ("cell_id", "row", "col") if c in table.columns):
        out.insert(k, col, table[col].to_numpy())
    out["neighbours"] = wi.astype(np.int64)
    out["gistar"] = z
    out["p_value"] = p
    out["p_adjusted"] = p_adj
    out["classification"] = cls
    return GiStarResult(table=out, settings=settings, lattice=lattice, crs=crs, distance=dist, alpha=alpha,
                        study_area=area)
