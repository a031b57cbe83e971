"""Count points in a regular grid of square or hexagonal cells (sfhotspot's ``hotspot_count``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe
from whatworks.errors import error
from whatworks.place._lattice import (Lattice, cells_geojson, check_cells, choose_cell_size, draw_cells, find_strays,
                                      looks_like_lonlat, stray_table)

__all__ = ["grid", "GridResult"]

SHAPES = ("square", "hex")
DEFAULT_SHAPE = "square"
ON_STRAY = ("exclude", "error")


@dataclass(frozen=True, repr=False, kw_only=True)
class GridResult(Result):
    """Counts per cell of a regular grid.

    Attributes
    ----------
    table : DataFrame
        One row per cell: ``cell_id``, ``row``, ``col``, ``x``, ``y`` (cell centre), ``count``.
    lattice : Lattice
        The grid's geometry (shape, cell size, origin, rows, columns).
    excluded : DataFrame
        Points left out, with ``position``, ``index``, ``x``, ``y`` and ``reason``.
    crs : str or None
        Coordinate reference system of the input, when given.
    """

    lattice: Lattice = None
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    crs: str | None = None
    value: str = "count"

    @property
    def cell_size(self) -> float:
        return self.lattice.cell_size

    def _headline(self) -> str:
        return (f"{int(self.table[self.value].sum()):,} points in {len(self.table):,} {self.lattice.shape} cells of "
                f"{self.cell_size:g}; {len(self.excluded)} excluded")

    def summary(self) -> str:
        t = self.table
        total = t[self.value].sum()
        busy = int((t[self.value] > 0).sum())
        text = (f"{total:,.0f} points counted in a grid of {len(t):,} {self.lattice.shape} cells "
                f"(cell size {self.cell_size:g}); {busy:,} cells ({busy / len(t):.1%}) hold at least one point; "
                f"the busiest cell holds {t[self.value].max():,.0f}.")
        if len(self.excluded):
            reasons = self.excluded["reason"].value_counts()
            text += " Excluded: " + "; ".join(f"{n} {r}" for r, n in reasons.items()) + "."
        return text

    def _draw(self, ax) -> None:
        draw_cells(ax, self.lattice, self.table["cell_id"].to_numpy(), self.table[self.value].to_numpy(float),
                   cmap="viridis", label=self.value)
        ax.set_title(f"{self.value} per cell", loc="left", color=PALETTE["black"])

    def to_array(self) -> np.ndarray:
        """The counts as a 2-D array (rows bottom to top), for square grids."""
        if self.lattice.shape != "square":
            raise error("GridResult.to_array", "Only square grids can be returned as an array.", got=self.lattice.shape)
        out = np.zeros(self.lattice.n_cells)
        out[self.table["cell_id"].to_numpy()] = self.table[self.value].to_numpy(float)
        return out.reshape(self.lattice.nrows, self.lattice.ncols)

    def to_geojson(self, *, as_string: bool = False):
        """The cells as a GeoJSON FeatureCollection of polygons in the input CRS (a dict, or a JSON string)."""
        gj = cells_geojson(self.lattice, self.table, self.crs)
        if as_string:
            import json

            return json.dumps(gj)
        return gj


def _resolve_extent(where: str, extent) -> tuple[float, float, float, float] | None:
    if extent is None:
        return None
    try:
        vals = tuple(float(v) for v in extent)
    except (TypeError, ValueError):
        raise error(where, "The 'extent' parameter must be four numbers (xmin, xmax, ymin, ymax).", got=extent) from None
    if len(vals) != 4 or not all(np.isfinite(vals)) or vals[0] >= vals[1] or vals[2] >= vals[3]:
        raise error(where, "The 'extent' parameter must be four finite numbers (xmin, xmax, ymin, ymax) with "
                    "xmin < xmax and ymin < ymax.", got=extent)
    return vals


def prepare_points(where: str, df, x: str, y: str, *, extent, on_stray: str, quiet: bool,
                   settings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, tuple]:
    """Validate the coordinates, find stray points, and return ``(x, y, keep_mask, excluded, bbox)``.

    ``bbox`` is the extent when given, else the bounding box of the kept points.
    """
    require_dataframe(where, "df", df)
    require_columns(where, df, [x, y], arg="df")
    if len(df) == 0:
        raise error(where, "The data has no rows.", hint="Check the filter that produced it.")
    xs, ys = [], []
    for col in (x, y):
        s = df[col]
        v = pd.to_numeric(s, errors="coerce")
        bad = v.isna() & s.notna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise error(where, f"Column '{col}' must be numeric (missing values are allowed and reported).",
                        got=s.iloc[first], row=f"position {first} (index {df.index[first]!r})",
                        hint="Convert coordinates to numbers first.")
        (xs if col == x else ys).append(v.to_numpy(float))
    xv, yv = xs[0], ys[0]
    ext = _resolve_extent(where, extent)
    reason = find_strays(xv, yv, ext)
    keep = reason == ""
    excluded = stray_table(df, xv, yv, reason)
    if len(excluded):
        if on_stray == "error":
            first = excluded.iloc[0]
            raise error(where, f"{len(excluded)} point(s) are strays ({first['reason']}).",
                        row=f"position {first['position']} (index {first['index']!r}) at ({first['x']}, {first['y']})",
                        hint="Fix or drop them, give an extent=, or use on_stray='exclude' to leave them out.")
        counts = excluded["reason"].value_counts()
        announce(f"{len(excluded):,} point(s) excluded: " + "; ".join(f"{n:,} {r}" for r, n in counts.items())
                 + " (listed in .excluded).", quiet=quiet)
    settings["excluded_points"] = Setting(len(excluded), "data", "stray points left out (see .excluded)", "points")
    if not keep.any():
        raise error(where, "No points are left after excluding stray points.", got=f"{len(df)} rows, all excluded",
                    hint="Check the coordinate columns; see the reasons with on_stray='error'.")
    if ext is not None:
        bbox = ext
    else:
        bbox = (float(xv[keep].min()), float(xv[keep].max()), float(yv[keep].min()), float(yv[keep].max()))
        if looks_like_lonlat(xv[keep], yv[keep]):
            announce("coordinates look like longitude/latitude in degrees; distances and cell sizes are then in degrees. "
                     "Project to metres first (for Great Britain, EPSG:27700) for meaningful cell sizes.", quiet=quiet)
    return xv, yv, keep, excluded, bbox


def resolve_cell_size(where: str, cell_size, bbox, *, quiet: bool, settings: dict, unit: str | None = None) -> float:
    if cell_size is not None:
        check_number(where, "cell_size", cell_size, low=0, low_inclusive=False)

    def chooser():
        try:
            return choose_cell_size(*bbox)
        except ValueError:
            raise error(where, "Cannot choose a cell size: every point is at the same location.",
                        hint="Give cell_size= explicitly.") from None

    return float(resolve("cell_size", cell_size, chooser, unit=unit, quiet=quiet, settings=settings))


def count_points(lattice: Lattice, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Points (or summed weights) per cell, in cell-id order; points outside the lattice are dropped by the caller."""
    ids = lattice.locate(x, y)
    inside = ids >= 0
    w = None if weights is None else weights[inside]
    return np.bincount(ids[inside], weights=w, minlength=lattice.n_cells)


def cell_table(lattice: Lattice) -> pd.DataFrame:
    row, col, cx, cy = lattice.centres()
    return pd.DataFrame({"cell_id": np.arange(lattice.n_cells), "row": row, "col": col, "x": cx, "y": cy})


def grid(df: pd.DataFrame, x: str = "x", y: str = "y", *, cell_size: float | None = None, shape: str | None = None,
         extent=None, weights: str | None = None, crs: str | None = None, on_stray: str = "exclude",
         quiet: bool = False) -> GridResult:
    """Count points in a regular grid of square or hexagonal cells.

    Parameters
    ----------
    df : DataFrame
        One row per event, with projected coordinates (metres, e.g. British National Grid).
    x, y : str, default "x", "y"
        Coordinate columns. Missing coordinates are allowed: they are reported and excluded.
    cell_size : float, optional
        Cell width (square) or distance between neighbouring centres (hex), in the units of ``x``/``y``.
        ``None`` chooses 1/50 of the shorter side of the data's bounding box, floored to a multiple of 100 when that is
        at least 100, else to a 1-2-2.5-5 round number (sfhotspot's rule), and announces it.
    shape : {"square", "hex"}, optional
        Cell shape. Hexagons are pointy-topped; cell area is ``(√3/2)·cell_size²``. ``None`` (not given) means
        "square". Recorded in ``.settings`` with source "user" when you pass it — even ``shape="square"`` — and
        "default" when you leave it out.
    extent : (xmin, xmax, ymin, ymax), optional
        Area to cover. Points outside it are excluded and reported. ``None`` uses the bounding box of the data after
        stray points are removed.
    weights : str, optional
        Column of weights (e.g. harm scores) to sum instead of counting points.
    crs : str, optional
        The coordinate reference system of ``x``/``y`` (e.g. "EPSG:27700"); carried into GeoJSON/GeoPackage exports.
    on_stray : {"exclude", "error"}, default "exclude"
        What to do with stray points: missing coordinates, points outside ``extent``, and — with no extent — points at
        (0, 0) or far outside the others (beyond the 1st–99th percentile box widened by its own width on each side).
        "exclude" leaves them out, announces how many and why, and lists them in ``.excluded``; "error" refuses.
    quiet : bool, default False
        Silence the announcements (they are still recorded in ``.settings``).

    Returns
    -------
    GridResult
        ``.table`` with one row per cell (zero-count cells included): ``cell_id, row, col, x, y, count``.

    Examples
    --------
    >>> import pandas as pd
    >>> from whatworks.place import grid
    >>> pts = pd.DataFrame({"x": [510, 520, 750, 0], "y": [410, 430, 660, 0]})
    >>> g = grid(pts, cell_size=100, quiet=True)   # (0, 0) is far from the rest: excluded and reported
    >>> int(g.table["count"].sum()), list(g.excluded["reason"])
    (3, ['at (0, 0), a common placeholder for a missing location'])
    """
    where = "grid"
    if shape is not None:
        check_choice(where, "shape", shape, SHAPES)
    check_choice(where, "on_stray", on_stray, ON_STRAY)
    settings: dict[str, Setting] = {}
    shape = given_or_default(settings, "shape", shape, DEFAULT_SHAPE, reason="cell shape")
    if weights is not None:
        require_dataframe(where, "df", df)
        require_columns(where, df, [weights], arg="df")
    xv, yv, keep, excluded, bbox = prepare_points(where, df, x, y, extent=extent, on_stray=on_stray, quiet=quiet,
                                                  settings=settings)
    size = resolve_cell_size(where, cell_size, bbox, quiet=quiet, settings=settings)
    lattice = Lattice.covering(shape, size, *bbox)
    check_cells(where, lattice, quiet, announce)
    w = None
    if weights is not None:
        from whatworks._validate import require_numeric

        w = require_numeric(where, df, weights)[keep]
    counts = count_points(lattice, xv[keep], yv[keep], w)
    table = cell_table(lattice)
    table["count"] = counts if weights is not None else counts.astype(np.int64)
    return GridResult(table=table, settings=settings, lattice=lattice, excluded=excluded, crs=crs)
