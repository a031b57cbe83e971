"""Shared geometry for the place verbs: regular square / hexagonal lattices, the default cell size, and stray points.

Everything here is a small pure function or a frozen dataclass; the public verbs (``grid``, ``kde``, ``gistar``,
``classify``) orchestrate them. Nothing here reads or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._dates import read_dates
from whatworks.errors import error

# sfhotspot (R/set_cell_size.R): 50 cells on the shorter side of the bounding box; in metres or feet the size is
# floored to a multiple of 100 when that is possible.
CELLS_ON_SHORT_SIDE = 50
ROUND_TO = 100
# sfhotspot warns beyond 100,000 cells; we announce the same and refuse beyond this many (a stray point or a tiny
# cell size would otherwise ask for billions of cells and exhaust memory).
WARN_CELLS = 100_000
MAX_CELLS = 25_000_000
# Stray points: outside the box spanned by the 1st and 99th percentiles of the other points, widened by the full
# width of that box on every side. Legitimate outlying towns sit well inside this; (0, 0) placeholders and
# lon/lat values mixed into projected data sit tens to thousands of widths away.
STRAY_PERCENTILES = (1.0, 99.0)
STRAY_WIDEN = 1.0
SQRT3 = math.sqrt(3.0)


def nice_floor(value: float) -> float:
    """The largest of 1, 2, 2.5, 5 × 10^k that is ≤ ``value`` (a "sensible" round number)."""
    if not value > 0 or not np.isfinite(value):
        raise ValueError("nice_floor needs a positive finite value")
    k = math.floor(math.log10(value))
    for m in (5.0, 2.5, 2.0, 1.0):
        cand = m * 10.0**k
        if cand <= value * (1 + 1e-12):
            break
    return float(f"{cand:.12g}")  # m = 1 always qualifies, since 10^k <= value


def choose_cell_size(xmin: float, xmax: float, ymin: float, ymax: float) -> tuple[float, str]:
    """sfhotspot's rule: 1/50 of the shorter side of the bounding box, floored to a multiple of 100 when that is ≥ 100,
    otherwise floored to a 1-2-2.5-5 round number. Returns ``(cell_size, reason)``."""
    w, h = xmax - xmin, ymax - ymin
    side = min(w, h) if min(w, h) > 0 else max(w, h)
    if not side > 0:
        raise ValueError("all points at one location")
    raw = side / CELLS_ON_SHORT_SIDE
    if raw >= ROUND_TO:
        size = float(math.floor(raw / ROUND_TO) * ROUND_TO)
        how = f"floored to a multiple of {ROUND_TO}"
    else:
        size = nice_floor(raw)
        how = "floored to a round number"
    which = "shorter" if min(w, h) > 0 else "longer (the other is zero)"
    return size, f"1/{CELLS_ON_SHORT_SIDE} of the {which} side of the data's bounding box ({side:,.6g}), {how}"


@dataclass(frozen=True)
class Lattice:
    """A regular lattice of cells covering a rectangle.

    Square cells: cell (row, col) spans ``[x0 + col·s, x0 + (col+1)·s) × [y0 + row·s, y0 + (row+1)·s)``.
    Hexagonal cells (pointy-top): centres at ``x0 + col·s + (row odd)·s/2``, ``y0 + row·s·√3/2``; ``s`` is the distance
    between the centres of adjacent cells (the flat-to-flat width), so a hexagon's area is ``(√3/2)·s²``.
    """

    shape: str
    cell_size: float
    x0: float
    y0: float
    nrows: int
    ncols: int

    @property
    def n_cells(self) -> int:
        return self.nrows * self.ncols

    @property
    def cell_area(self) -> float:
        s = self.cell_size
        return s * s if self.shape == "square" else SQRT3 / 2 * s * s

    @property
    def row_step(self) -> float:
        return self.cell_size if self.shape == "square" else self.cell_size * SQRT3 / 2

    @classmethod
    def covering(cls, shape: str, cell_size: float, xmin: float, xmax: float, ymin: float, ymax: float) -> "Lattice":
        s = float(cell_size)
        if shape == "square":
            ncols = int(math.floor((xmax - xmin) / s)) + 1
            nrows = int(math.floor((ymax - ymin) / s)) + 1
            return cls("square", s, float(xmin), float(ymin), nrows, ncols)
        h = s * SQRT3 / 2
        # one spare row/column on each side (an even number of rows, so the row parity and offsets are kept) so
        # that every point of the box is nearest to a centre inside the lattice
        x0, y0 = xmin - s, ymin - 2 * h
        ncols = int(math.floor((xmax - x0) / s)) + 2
        nrows = int(math.floor((ymax - y0) / h)) + 3
        return cls("hex", s, float(x0), float(y0), nrows, ncols)

    def centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(row, col, x, y)`` for every cell, in cell-id order (``id = row·ncols + col``)."""
        row, col = np.divmod(np.arange(self.n_cells), self.ncols)
        s = self.cell_size
        if self.shape == "square":
            return row, col, self.x0 + (col + 0.5) * s, self.y0 + (row + 0.5) * s
        return row, col, self.x0 + col * s + (row % 2) * s / 2, self.y0 + row * self.row_step

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell id of each point (−1 for points outside the lattice)."""
        s = self.cell_size
        if self.shape == "square":
            col = np.floor((x - self.x0) / s).astype(np.int64)
            row = np.floor((y - self.y0) / s).astype(np.int64)
            # points exactly on the far edge belong to the last cell
            col = np.where(col == self.ncols, self.ncols - 1, col)
            row = np.where(row == self.nrows, self.nrows - 1, row)
        else:
            # The nearest centre of a triangular lattice lies in one of the two rows bracketing the point
            # (a point v above row r is ≤ v + s/2 from a centre of row r but ≥ v + s·√3/2 from row r−1).
            h = self.row_step
            r0 = np.floor((y - self.y0) / h).astype(np.int64)
            best_d = np.full(x.shape, np.inf)
            row = np.zeros(x.shape, np.int64)
            col = np.zeros(x.shape, np.int64)
            for r in (r0, r0 + 1):
                shift = (r % 2) * s / 2
                c = np.rint((x - self.x0 - shift) / s).astype(np.int64)
                d = (x - (self.x0 + c * s + shift)) ** 2 + (y - (self.y0 + r * h)) ** 2
                better = d < best_d
                best_d = np.where(better, d, best_d)
                row = np.where(better, r, row)
                col = np.where(better, c, col)
        inside = (row >= 0) & (row < self.nrows) & (col >= 0) & (col < self.ncols)
        return np.where(inside, row * self.ncols + col, -1)

    def polygons(self, ids: np.ndarray | None = None) -> list[list[tuple[float, float]]]:
        """Closed exterior rings (counter-clockwise) of the given cells (all cells by default)."""
        row, col, cx, cy = self.centres()
        if ids is not None:
            cx, cy = cx[ids], cy[ids]
        s = self.cell_size
        if self.shape == "square":
            offs = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5)]
            offs = [(a * s, b * s) for a, b in offs]
        else:
            r = s / SQRT3  # circumradius
            angles = [math.radians(-90 + 60 * k) for k in range(6)] + [math.radians(-90)]
            offs = [(r * math.cos(a), r * math.sin(a)) for a in angles]
        return [[(float(x + dx), float(y + dy)) for dx, dy in offs] for x, y in zip(cx, cy)]

    def as_dict(self) -> dict:
        return {"shape": self.shape, "cell_size": self.cell_size, "x0": self.x0, "y0": self.y0,
                "nrows": self.nrows, "ncols": self.ncols}


def find_strays(x: np.ndarray, y: np.ndarray, extent: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Reason each point is a stray ("" when it is not).

    Rules, in order: missing or non-finite coordinates; outside ``extent`` when one is given; otherwise exactly (0, 0)
    when (0, 0) is outside the widened robust box of the other points; otherwise outside that box. The box spans the
    1st–99th percentiles of the points that are not at (0, 0), widened by its own width on every side (a dimension
    with zero width is not tested).
    """
    reason = np.full(x.shape, "", dtype=object)
    finite = np.isfinite(x) & np.isfinite(y)
    reason[~finite] = "missing coordinates"
    if extent is not None:
        xmin, xmax, ymin, ymax = extent
        out = finite & ((x < xmin) | (x > xmax) | (y < ymin) | (y > ymax))
        reason[out] = "outside the given extent"
        return reason
    zero = finite & (x == 0) & (y == 0)
    rest = finite & ~zero
    if rest.sum() < 2:
        return reason
    lo_x, hi_x = np.percentile(x[rest], STRAY_PERCENTILES)
    lo_y, hi_y = np.percentile(y[rest], STRAY_PERCENTILES)
    wx, wy = (hi_x - lo_x) * STRAY_WIDEN, (hi_y - lo_y) * STRAY_WIDEN
    far = np.zeros(x.shape, bool)
    if wx > 0:
        far |= (x < lo_x - wx) | (x > hi_x + wx)
    if wy > 0:
        far |= (y < lo_y - wy) | (y > hi_y + wy)
    far &= finite
    reason[far & zero] = "at (0, 0), a common placeholder for a missing location"
    reason[far & ~zero] = "far outside the extent of the other points"
    return reason


def stray_table(df: pd.DataFrame, x: np.ndarray, y: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
    """The excluded points: position, original index, coordinates and why."""
    bad = np.flatnonzero(reason != "")
    return pd.DataFrame({"position": bad, "index": df.index[bad], "x": x[bad], "y": y[bad],
                         "reason": reason[bad].astype(str)})


def looks_like_lonlat(x: np.ndarray, y: np.ndarray) -> bool:
    """True when every coordinate fits in longitude/latitude ranges (a hint that the data are not projected)."""
    return bool(len(x)) and bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))


def check_cells(where: str, lattice: Lattice, quiet: bool, announce) -> None:
    """Refuse absurd lattices; announce large ones."""
    if lattice.n_cells > MAX_CELLS:
        raise error(where, f"The grid would have {lattice.n_cells:,} cells ({lattice.nrows:,} rows × {lattice.ncols:,} "
                    f"columns), more than the limit of {MAX_CELLS:,}.", expected="a larger cell_size or a smaller extent",
                    got=lattice.cell_size, hint="Check for stray points or give a larger cell_size.")
    if lattice.n_cells > WARN_CELLS:
        announce(f"the grid has {lattice.n_cells:,} cells (more than {WARN_CELLS:,}); analyses may be slow.", quiet=quiet)


def to_days(where: str, df: pd.DataFrame, column: str) -> tuple[np.ndarray, str]:
    """Times as float days: datetimes become days since 1970-01-01; numbers are taken as days already.

    Dates are read by :func:`whatworks._dates.read_dates` (text parsed, tz-aware values converted to UTC, then
    naive). Returns ``(days, kind)`` with kind "datetime" or "number".
    """
    t = read_dates(where, df, column, numbers=True, expected="dates, date-times or numbers of days",
                   hint="Convert with pandas.to_datetime(..., format=...) first, or drop or fill rows without a "
                        "time; whatworks never drops them silently.")
    if t.dtype.kind == "f":
        return t.to_numpy(float), "number"
    return (t - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(float) / 86400.0, "datetime"


# ---------------------------------------------------------------------------------------------------------------
# Output helpers shared by every grid-backed result: GeoJSON (no I/O) and matplotlib maps (no web tiles).

def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if v is pd.NA or v is None:
        return None
    return v


def cells_geojson(lattice: Lattice, table: pd.DataFrame, crs: str | None) -> dict:
    """A GeoJSON FeatureCollection of the cells in ``table`` (which must hold ``cell_id``), as polygons in the input
    coordinates. When ``crs`` is known it is named in a top-level ``"crs"`` member (the 2008 GeoJSON convention that
    QGIS and GDAL read; RFC 7946 otherwise assumes longitude/latitude)."""
    ids = table["cell_id"].to_numpy(np.int64)
    rings = lattice.polygons(ids)
    cols = list(table.columns)
    records = table.to_dict(orient="records")
    features = []
    for ring, rec in zip(rings, records):
        features.append({"type": "Feature", "id": int(rec["cell_id"]),
                         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
                         "properties": {c: _jsonable(rec[c]) for c in cols}})
    out = {"type": "FeatureCollection", "features": features}
    if crs:
        out["crs"] = {"type": "name", "properties": {"name": str(crs)}}
    return out


def draw_cells(ax, lattice: Lattice, cell_ids: np.ndarray, values: np.ndarray, *, cmap="viridis", label: str = "",
               colors: dict | None = None, categories: np.ndarray | None = None) -> None:
    """Map cells on ``ax``: a continuous ``values`` with a colour bar, or ``categories`` coloured by ``colors``."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    ax.set_aspect("equal")
    if categories is not None:
        colours = np.array([colors.get(c, "#FFFFFF") for c in categories], dtype=object)
    if lattice.shape == "square" and categories is None:
        img = np.full((lattice.nrows, lattice.ncols), np.nan)
        img.ravel()[cell_ids] = values
        ext = (lattice.x0, lattice.x0 + lattice.ncols * lattice.cell_size,
               lattice.y0, lattice.y0 + lattice.nrows * lattice.cell_size)
        im = ax.imshow(img, origin="lower", extent=ext, cmap=cmap, interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, label=label, shrink=0.8)
    else:
        rings = lattice.polygons(cell_ids)
        if categories is None:
            pc = PolyCollection(rings, array=np.asarray(values, float), cmap=cmap, edgecolors="none")
        else:
            pc = PolyCollection(rings, facecolors=list(colours), edgecolors="none")
        ax.add_collection(pc)
        ax.autoscale_view()
        if categories is None:
            ax.figure.colorbar(pc, ax=ax, label=label, shrink=0.8)
        else:
            present = [c for c in colors if c in set(categories)]
            ax.legend(handles=[Patch(facecolor=colors[c], label=c) for c in present], loc="upper left",
                      bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
