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
from whatworks.place._maps import MapPlot
from whatworks.place._study_area import (BBOX, AreaSpec, StudyArea, build_study_area, fmt_length, length_unit,
                                         parse_study_area, points_in_area)

__all__ = ["grid", "GridResult"]

SHAPES = ("square", "hex")
DEFAULT_SHAPE = "square"
ON_STRAY = ("exclude", "error")


@dataclass(frozen=True, repr=False, kw_only=True)
class GridResult(MapPlot, Result):
    """Counts per cell of a regular grid.

    Attributes
    ----------
    table : DataFrame
        One row per study-area cell: ``cell_id``, ``row``, ``col``, ``x``, ``y`` (cell centre), ``count``. Cells
        outside the study area are absent (not zero).
    lattice : Lattice
        The grid's geometry (shape, cell size, origin, rows, columns).
    excluded : DataFrame
        Points left out, with ``position``, ``index``, ``x``, ``y`` and ``reason``.
    crs : str or None
        Coordinate reference system of the input, when given.
    study_area : StudyArea
        The cells the grid covers (every cell of the bounding box when no study area was given).
    """

    lattice: Lattice = None
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    crs: str | None = None
    value: str = "count"
    study_area: StudyArea | None = None

    @property
    def unit(self) -> str:
        return length_unit(self.crs)

    @property
    def cell_size(self) -> float:
        return self.lattice.cell_size

    def _headline(self) -> str:
        return (f"{int(self.table[self.value].sum()):,} points in {len(self.table):,} {self.lattice.shape} cells of "
                f"{fmt_length(self.cell_size, self.unit)}; {len(self.excluded)} excluded")

    def summary(self) -> str:
        t = self.table
        total = t[self.value].sum()
        busy = int((t[self.value] > 0).sum())
        text = (f"{total:,.0f} points counted in a grid of {len(t):,} {self.lattice.shape} cells "
                f"(cell size {fmt_length(self.cell_size, self.unit)}); {busy:,} cells ({busy / len(t):.1%}) hold at "
                f"least one point; the busiest cell holds {t[self.value].max():,.0f}.")
        if self.study_area is not None:
            text += f" The grid covers the {self.study_area.description}."
        if len(self.excluded):
            reasons = self.excluded["reason"].value_counts()
            text += " Excluded: " + "; ".join(f"{n} {r}" for r, n in reasons.items()) + "."
        return text

    def _draw(self, ax) -> None:
        draw_cells(ax, self.lattice, self.table["cell_id"].to_numpy(), self.table[self.value].to_numpy(float),
                   cmap="viridis", label=self.value)
        ax.set_title(f"{self.value} per cell", loc="left", color=PALETTE["black"])

    def to_array(self) -> np.ndarray:
        """The counts as a 2-D array (rows bottom to top), for square grids; NaN outside the study area."""
        if self.lattice.shape != "square":
            raise error("GridResult.to_array", "Only square grids can be returned as an array.", got=self.lattice.shape)
        out = np.full(self.lattice.n_cells, np.nan)
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
                   settings: dict, extent_reason: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, tuple]:
    """Validate the coordinates, find stray points, and return ``(x, y, keep_mask, excluded, bbox)``.

    ``bbox`` is the extent when given, else the bounding box of the kept points. ``extent_reason`` replaces the
    reason "outside the given extent" (e.g. "outside the study area" when the extent is the study area's box).
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
    if extent_reason is not None:
        reason[reason == "outside the given extent"] = extent_reason
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


def resolve_cell_size(where: str, cell_size, bbox, *, quiet: bool, settings: dict, unit: str | None = None,
                      basis: str | None = None) -> float:
    """The cell size: the caller's, or sfhotspot's rule on ``bbox`` (announced with its unit). ``basis`` names the
    box in the reason when it is not the data's (e.g. "study area's")."""
    if cell_size is not None:
        check_number(where, "cell_size", cell_size, low=0, low_inclusive=False)

    def chooser():
        try:
            size, reason = choose_cell_size(*bbox)
            if basis:
                reason = reason.replace("data's bounding box", f"{basis} bounding box")
            return size, reason
        except ValueError:
            raise error(where, "Cannot choose a cell size: every point is at the same location.",
                        hint="Give cell_size= explicitly.") from None

    return float(resolve("cell_size", cell_size, chooser, unit=unit, quiet=quiet, settings=settings))


OUTSIDE_AREA = "outside the study area"


def area_extent(spec: AreaSpec, extent):
    """``(extent for prepare_points, reason for points outside it)``: the study area's box when no extent is given."""
    if extent is not None or spec.kind == BBOX:
        return extent, None
    return spec.bbox, OUTSIDE_AREA


def apply_study_area(where: str, df: pd.DataFrame, spec: AreaSpec, lattice: Lattice, xv: np.ndarray, yv: np.ndarray,
                     keep: np.ndarray, excluded: pd.DataFrame, *, on_stray: str, quiet: bool, settings: dict,
                     unit: str) -> tuple[StudyArea, np.ndarray, pd.DataFrame]:
    """Build the study area on ``lattice``, announce and record it, and exclude the kept points that fall outside it
    (listed in ``excluded`` with the reason "outside the study area"). Returns ``(area, keep, excluded)``."""
    area = build_study_area(where, spec, lattice, unit=unit)
    announce(area.description + ".", quiet=quiet)
    settings["study_area"] = Setting(area.kind, "default" if spec.kind == BBOX else "user", area.description)
    settings["study_area_cells"] = Setting(area.n_cells, "data", "cells in the study area", "cells")
    settings["study_area_km2"] = Setting(round(area.area / 1e6, 6) if unit == "m" else area.area, "data",
                                         "area of the study-area cells", "km²" if unit == "m" else f"square {unit}")
    if spec.kind == BBOX:
        return area, keep, excluded
    pos = np.flatnonzero(keep)
    outside = pos[~points_in_area(spec, area, xv[pos], yv[pos])]
    if len(outside):
        if on_stray == "error":
            k = int(outside[0])
            raise error(where, f"{len(outside)} point(s) lie outside the study area.",
                        row=f"position {k} (index {df.index[k]!r}) at ({xv[k]}, {yv[k]})",
                        hint="Use on_stray='exclude' to leave them out, or a study area that covers them.")
        keep = keep.copy()
        keep[outside] = False
        extra = pd.DataFrame({"position": outside, "index": df.index[outside], "x": xv[outside], "y": yv[outside],
                              "reason": OUTSIDE_AREA})
        excluded = (pd.concat([excluded, extra], ignore_index=True) if len(excluded) else extra)
        excluded = excluded.sort_values("position", kind="stable").reset_index(drop=True)
        announce(f"{len(outside):,} point(s) {OUTSIDE_AREA} excluded (listed in .excluded).", quiet=quiet)
        settings["excluded_points"] = Setting(len(excluded), "data", "stray points and points outside the study "
                                              "area left out (see .excluded)", "points")
    if not keep.any():
        raise error(where, "No points are left inside the study area.", got=f"{len(df)} rows",
                    hint="Check that the data and the study area are in the same coordinates (EPSG:27700 metres).")
    return area, keep, excluded


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
         study_area=None, quiet: bool = False) -> GridResult:
    """Count points in a regular grid of square or hexagonal cells, over the study area.

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
        What to do with stray points: missing coordinates, points outside ``extent`` or the study area, and — with no
        extent or study area — points at (0, 0) or far outside the others (beyond the 1st–99th percentile box widened
        by its own width on each side). "exclude" leaves them out, announces how many and why, and lists them in
        ``.excluded``; "error" refuses.
    study_area : DataFrame, shapely (Multi)Polygon, boundaries table or StudyArea, optional
        The ground where crime can be recorded. A DataFrame of points ``x``, ``y`` (e.g. ``store.map_points()``, the
        police.uk map points) keeps the cells holding at least one point; a polygon (EPSG:27700 metres) keeps the
        cells overlapping it. Cells outside are absent from ``.table`` (not zero cells), the grid covers the study
        area's bounding box (unless ``extent`` is given), the default cell size is chosen from that box, and points
        outside the study area are excluded and listed. ``None``: every cell of the data's bounding box (announced).
    quiet : bool, default False
        Silence the announcements (they are still recorded in ``.settings``).

    Returns
    -------
    GridResult
        ``.table`` with one row per study-area cell (zero-count cells included): ``cell_id, row, col, x, y, count``;
        ``.study_area`` the cells used.

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
    spec = parse_study_area(where, study_area)
    unit = length_unit(crs)
    ext, ext_reason = area_extent(spec, extent)
    xv, yv, keep, excluded, bbox = prepare_points(where, df, x, y, extent=ext, on_stray=on_stray, quiet=quiet,
                                                  settings=settings, extent_reason=ext_reason)
    size = resolve_cell_size(where, cell_size, bbox, quiet=quiet, settings=settings, unit=unit,
                             basis="study area's" if ext_reason else None)
    lattice = Lattice.covering(shape, size, *bbox)
    check_cells(where, lattice, quiet, announce)
    area, keep, excluded = apply_study_area(where, df, spec, lattice, xv, yv, keep, excluded, on_stray=on_stray,
                                            quiet=quiet, settings=settings, unit=unit)
    w = None
    if weights is not None:
        from whatworks._validate import require_numeric

        w = require_numeric(where, df, weights)[keep]
    counts = count_points(lattice, xv[keep], yv[keep], w)
    table = cell_table(lattice)
    table["count"] = counts if weights is not None else counts.astype(np.int64)
    if spec.kind != BBOX:
        table = table.iloc[area.cell_ids].reset_index(drop=True)
    return GridResult(table=table, settings=settings, lattice=lattice, excluded=excluded, crs=crs, study_area=area)
