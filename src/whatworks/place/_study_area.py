"""The study area: the ground where crime can be recorded, as a set of cells of a lattice.

A hot-spot grid over a force's *bounding box* counts moorland, sea and neighbouring forces as cells with no crime,
which drags the mean down and turns every ordinary street into a "hot spot". The study area fixes that: cells outside
it are not zero cells, they are absent — Gi* neighbours and means, KDE values and concentration denominators are
computed over the study area only.

``study_area=`` on the place verbs takes

- ``None``: the bounding box of the data (the behaviour before study areas existed), announced as such;
- a DataFrame of points with columns ``x``, ``y`` (e.g. ``store.map_points()``: the anonymous map points police.uk
  snaps every crime to, i.e. the places a crime *can* be placed): the cells holding at least one point;
- a shapely ``Polygon`` / ``MultiPolygon`` in the data's coordinates (EPSG:27700 metres for police.uk data), or a
  boundaries table from ``whatworks.store.boundaries.read_boundaries`` (its polygons are merged): the cells that
  overlap it (cells that only touch its edge are left out);
- a :class:`StudyArea` from an earlier result (``grid(...).study_area``), to put several analyses on the same ground.

Everything here is pure (no files); the store reads boundary files and map points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks.errors import error
from whatworks.place._lattice import Lattice, looks_like_lonlat

__all__ = ["StudyArea", "AreaSpec", "parse_study_area", "build_study_area", "length_unit", "fmt_length", "fmt_area"]

# pandas ``DataFrame.attrs`` key that names what a table of points is (set by ``Store.map_points``), so the
# announcement can say "holding at least one police.uk map point" rather than "holding at least one point".
POINTS_LABEL_ATTR = "whatworks_points"
DEFAULT_POINTS_LABEL = "study-area point"
BBOX, POINTS, POLYGON, CELLS = "bounding box", "points", "polygon", "cells"


# ---------------------------------------------------------------------------------------------------------------
# Units: every message says metres and km² for projected (EPSG:27700) coordinates.

def length_unit(crs) -> str:
    """The unit of the coordinates, for messages: "m" for metre-based CRSs (EPSG:27700) and when no CRS is given
    (whatworks expects projected metres; pass ``crs=`` to say otherwise), "°" for degrees, else the unit's name."""
    if crs is None:
        return "m"
    text = str(crs).upper().replace(" ", "")
    if text in ("EPSG:27700", "27700", "EPSG:3857", "EPSG:32630", "EPSG:29903", "EPSG:2157"):
        return "m"
    if text in ("EPSG:4326", "4326", "OGC:CRS84", "WGS84"):
        return "°"
    try:
        import pyproj

        unit = pyproj.CRS.from_user_input(crs).axis_info[0].unit_name.lower()
    except Exception:  # an unrecognised CRS string: fall back to the documented assumption, metres
        return "m"
    return {"metre": "m", "meter": "m", "degree": "°"}.get(unit, unit)


def fmt_length(value: float, unit: str = "m") -> str:
    """``707 m``, ``1,250 m``, ``2.5 m``: whole units from 10 up, otherwise 3 significant figures."""
    v = float(value)
    num = f"{v:,.0f}" if abs(v) >= 10 else f"{v:.3g}"
    return f"{num}{unit}" if unit == "°" else f"{num} {unit}"


def fmt_area(area: float, unit: str = "m") -> str:
    """An area in square ``unit``s as km² (metres) — ``77.2 km²`` — or in square units otherwise."""
    if unit == "m":
        km2 = float(area) / 1e6
        return f"{km2:,.1f} km²" if km2 >= 10 else f"{km2:.3g} km²"
    return f"{float(area):,.4g} square {unit}"


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AreaSpec:
    """A parsed ``study_area=`` argument, before it meets a lattice."""

    kind: str                          # BBOX | POINTS | POLYGON | CELLS
    bbox: tuple | None = None          # (xmin, xmax, ymin, ymax) of the area itself (None for BBOX)
    xy: np.ndarray | None = None       # POINTS: (n, 2)
    geometry: object = None            # POLYGON: a shapely (Multi)Polygon
    area: "StudyArea | None" = None    # CELLS: an earlier study area
    label: str = DEFAULT_POINTS_LABEL  # POINTS: what the points are


@dataclass(frozen=True, eq=False)
class StudyArea:
    """The cells of a lattice that make up the study area.

    Attributes
    ----------
    kind : str
        "bounding box" (every cell of the data's bounding box), "points" (cells holding at least one point),
        "polygon" (cells overlapping a polygon) or "cells" (taken from another study area).
    lattice : Lattice
    cell_ids : ndarray
        Sorted ids of the study-area cells in ``lattice``.
    description : str
        The plain-English description that was announced.
    geometry : shapely geometry or None
        The polygon, for kind "polygon".
    """

    kind: str
    lattice: Lattice
    cell_ids: np.ndarray
    description: str
    geometry: object = None

    @property
    def n_cells(self) -> int:
        return int(len(self.cell_ids))

    @property
    def area(self) -> float:
        """Area of the study-area cells, in square units of the coordinates (m² for EPSG:27700)."""
        return self.n_cells * self.lattice.cell_area

    def mask(self) -> np.ndarray:
        """Boolean mask over every cell of the lattice (cell-id order)."""
        m = np.zeros(self.lattice.n_cells, bool)
        m[self.cell_ids] = True
        return m

    def outline(self):
        """The study area's outline as a shapely geometry: the polygon itself, or the union of its cells."""
        import shapely

        if self.geometry is not None:
            return self.geometry
        rings = self.lattice.polygons(self.cell_ids)
        cells = shapely.polygons(rings)
        try:
            return shapely.coverage_union_all(cells)
        except Exception:  # cells that are not an exact coverage (never for a regular lattice): plain union
            return shapely.union_all(cells)

    def __repr__(self) -> str:
        return f"<StudyArea: {self.description}>"


# ---------------------------------------------------------------------------------------------------------------
def _geometry_of_table(where: str, df: pd.DataFrame):
    import shapely

    geoms = [g for g in df["geometry"] if g is not None]
    if not geoms:
        raise error(where, "The boundaries table given as study_area has no geometry.", got=len(df),
                    hint="Read it with whatworks.store.boundaries.read_boundaries(path).")
    return shapely.union_all(np.array(geoms, dtype=object))


def _check_polygon(where: str, geom):
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if not isinstance(geom, (Polygon, MultiPolygon)):
        raise error(where, "The study area must be a Polygon or MultiPolygon.", got=getattr(geom, "geom_type", geom),
                    hint="Give the polygons of the area (e.g. read_boundaries(path)), or a table of points x, y.")
    if geom.is_empty or not geom.area > 0:
        raise error(where, "The study-area polygon is empty.", got=geom.wkt[:80],
                    hint="Check the boundary file and the chosen features.")
    if not geom.is_valid:
        raise error(where, "The study-area polygon is not valid (it crosses itself).",
                    got=shapely.is_valid_reason(geom), hint="Repair it first with shapely.make_valid(polygon).")
    xmin, ymin, xmax, ymax = geom.bounds
    if looks_like_lonlat(np.array([xmin, xmax]), np.array([ymin, ymax])):
        raise error(where, "The study-area polygon looks like longitude/latitude in degrees, but the data are "
                    "analysed in projected metres.", got=geom.bounds,
                    hint="Read boundary files with whatworks.store.boundaries.read_boundaries, which converts them "
                         "to British National Grid (EPSG:27700).")
    return geom


def parse_study_area(where: str, study_area) -> AreaSpec:
    """Check a ``study_area=`` argument at the door and return its :class:`AreaSpec`."""
    if study_area is None:
        return AreaSpec(BBOX)
    if isinstance(study_area, StudyArea):
        lat = study_area.lattice
        row, col, cx, cy = lat.centres()
        ids = study_area.cell_ids
        half = lat.cell_size / 2
        bbox = (float(cx[ids].min() - half), float(cx[ids].max() + half),
                float(cy[ids].min() - half), float(cy[ids].max() + half))
        return AreaSpec(CELLS, bbox=bbox, area=study_area, geometry=study_area.geometry)
    if hasattr(study_area, "study_area") and isinstance(getattr(study_area, "study_area"), StudyArea):
        return parse_study_area(where, study_area.study_area)      # a grid / KDE result
    if isinstance(study_area, pd.DataFrame):
        if "geometry" in study_area.columns:
            geom = _check_polygon(where, _geometry_of_table(where, study_area))
            xmin, ymin, xmax, ymax = geom.bounds
            return AreaSpec(POLYGON, bbox=(xmin, xmax, ymin, ymax), geometry=geom)
        missing = [c for c in ("x", "y") if c not in study_area.columns]
        if missing:
            raise error(where, f"The study-area table must have columns x and y (points) or geometry (boundaries); "
                        f"missing {missing}.", got=list(study_area.columns),
                        hint="Use store.map_points() for the police.uk map points, or read_boundaries(path).")
        xs = pd.to_numeric(study_area["x"], errors="coerce").to_numpy(float)
        ys = pd.to_numeric(study_area["y"], errors="coerce").to_numpy(float)
        ok = np.isfinite(xs) & np.isfinite(ys)
        bad = ~ok & (study_area["x"].notna().to_numpy() & study_area["y"].notna().to_numpy())
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise error(where, "The study-area points must have numeric x and y.", got=study_area.iloc[first].to_dict(),
                        row=f"position {first}", hint="Convert the coordinates to numbers first.")
        if not ok.any():
            raise error(where, "The study-area table has no points with coordinates.", got=f"{len(study_area)} rows",
                        hint="Check that the store holds police.uk data for that force and those months.")
        xy = np.column_stack([xs[ok], ys[ok]])
        if looks_like_lonlat(xy[:, 0], xy[:, 1]):
            raise error(where, "The study-area points look like longitude/latitude in degrees.",
                        got=xy[0].tolist(), row="position 0",
                        hint="Give projected metres (columns x, y of the store are British National Grid).")
        label = str(study_area.attrs.get(POINTS_LABEL_ATTR, DEFAULT_POINTS_LABEL))
        bbox = (float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()), float(xy[:, 1].max()))
        return AreaSpec(POINTS, bbox=bbox, xy=xy, label=label)
    if hasattr(study_area, "geom_type"):
        geom = _check_polygon(where, study_area)
        xmin, ymin, xmax, ymax = geom.bounds
        return AreaSpec(POLYGON, bbox=(xmin, xmax, ymin, ymax), geometry=geom)
    raise error(where, "The 'study_area' parameter must be None, a DataFrame of points (x, y), a shapely "
                "(Multi)Polygon, a boundaries table (geometry) or a StudyArea.", got=type(study_area).__name__,
                hint="For police.uk data use study_area=store.map_points(force=...).")


def _polygon_cells(lattice: Lattice, geom) -> np.ndarray:
    """Ids of the cells whose interior overlaps ``geom`` (cells that only touch its boundary are left out)."""
    import shapely

    cells = shapely.polygons(lattice.polygons())
    tree = shapely.STRtree(cells)
    cand = np.asarray(tree.query(geom, predicate="intersects"), np.int64)
    if len(cand):
        cand = cand[~shapely.touches(cells[cand], geom)]
    return np.sort(cand)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def build_study_area(where: str, spec: AreaSpec, lattice: Lattice, *, unit: str = "m") -> StudyArea:
    """The study-area cells of ``lattice`` for ``spec``, with the description to announce."""
    size = fmt_length(lattice.cell_size, unit)
    noun = "hexagonal cell" if lattice.shape == "hex" else "cell"
    if spec.kind == BBOX:
        ids = np.arange(lattice.n_cells)
        what = "the bounding box of the data"
    elif spec.kind == POINTS:
        located = lattice.locate(spec.xy[:, 0], spec.xy[:, 1])
        ids = np.unique(located[located >= 0])
        what = f"holding at least one {spec.label}"
    elif spec.kind == POLYGON:
        ids = _polygon_cells(lattice, spec.geometry)
        what = "overlapping the study-area polygon"
    else:
        other = spec.area
        if other.lattice.as_dict() == lattice.as_dict():
            ids = np.asarray(other.cell_ids, np.int64)
        else:
            _, _, cx, cy = lattice.centres()
            there = other.lattice.locate(cx, cy)
            ids = np.flatnonzero(np.isin(there, other.cell_ids) & (there >= 0))
        what = f"of the study area given ({other.description.split(' (')[0]})"
    ids = np.asarray(ids, np.int64)
    if len(ids) == 0:
        raise error(where, "The study area holds no cell of the grid.", got=spec.kind,
                    hint="Check that the study area and the data are in the same coordinates and overlap.")
    area = ids.size * lattice.cell_area
    if spec.kind == BBOX:
        desc = (f"study area: {what}, {_plural(ids.size, noun)} of {size} ({fmt_area(area, unit)}); cells with no "
                "crime there count as zeros even where no crime can be recorded (pass study_area=, e.g. "
                "store.map_points())")
    else:
        desc = f"study area: {_plural(ids.size, noun)} of {size} {what} ({fmt_area(area, unit)})"
    return StudyArea(kind=spec.kind, lattice=lattice, cell_ids=ids, description=desc,
                     geometry=spec.geometry if spec.kind in (POLYGON, CELLS) else None)


def points_in_area(spec: AreaSpec, area: StudyArea, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True for each point inside the study area: inside the polygon (boundary included) for a polygon, in a
    study-area cell otherwise."""
    if spec.kind == BBOX:
        return np.ones(len(x), bool)
    if spec.geometry is not None:
        import shapely

        return np.asarray(shapely.intersects_xy(spec.geometry, x, y), bool)
    ids = area.lattice.locate(x, y)
    return (ids >= 0) & np.isin(ids, area.cell_ids)
