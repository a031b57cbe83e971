"""Read area boundary files (GeoJSON, GeoPackage) into a table of shapely polygons in British National Grid.

The store is the only part of whatworks that reads files (DESIGN.md). This reader needs only the standard library,
shapely and pyproj — geopandas is not required: GeoJSON is parsed with ``json`` and ``shapely.geometry.shape``;
a GeoPackage is an SQLite file whose geometry blobs are a small "GP" header followed by WKB (OGC 12-128r18, §2.1.3),
read with ``sqlite3`` and ``shapely.wkb``.

>>> from whatworks.store.boundaries import read_boundaries          # doctest: +SKIP
>>> wards = read_boundaries("wards.gpkg", id="WD23CD", name="WD23NM")  # doctest: +SKIP
>>> wards[["id", "name", "geometry"]]                                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from whatworks.errors import error

__all__ = ["read_boundaries", "BNG"]

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
POLYGON_TYPES = ("Polygon", "MultiPolygon")
# GeoPackage geometry header: envelope indicator (flag bits 1-3) -> number of doubles in the envelope.
_GPKG_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}
# Common name / code properties of ONS and OS boundary files (LAD23NM, WD23CD, LSOA21NM, …), then generic names.
_NAME_PATTERN = re.compile(r"^[A-Z]{2,6}\d{2}NM$")
_ID_PATTERN = re.compile(r"^[A-Z]{2,6}\d{2}CD$")
_NAME_FALLBACKS = ("name", "NAME", "Name", "area_name", "label")
_ID_FALLBACKS = ("code", "CODE", "Code", "id", "ID", "area_code")


def _where() -> str:
    return "read_boundaries"


# ------------------------------------------------------------------------------------------------- CRS handling
def _crs_from_text(text: str) -> str | None:
    """'urn:ogc:def:crs:EPSG::27700', 'EPSG:27700', 'urn:ogc:def:crs:OGC:1.3:CRS84' -> 'EPSG:27700' / 'EPSG:4326'."""
    t = str(text).strip()
    if re.search(r"CRS84$", t, re.I):
        return WGS84
    m = re.search(r"EPSG:{1,2}(\d+)$", t, re.I)
    if m:
        return f"EPSG:{m.group(1)}"
    return t or None


def _looks_like_degrees(bounds) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def _resolve_crs(declared: str | None, given: str | None, bounds, path: Path) -> tuple[str, str]:
    """``(crs, how it was decided)``: the caller's, else the file's, else from the coordinates."""
    import pyproj

    if given is not None:
        crs, how = str(given), "given by the caller"
    elif declared is not None:
        crs, how = declared, "declared in the file"
    elif _looks_like_degrees(bounds):
        crs, how = WGS84, "the file declares none and its coordinates look like longitude/latitude degrees"
    elif -100_000 <= bounds[0] <= bounds[2] <= 700_000 and -100_000 <= bounds[1] <= bounds[3] <= 1_300_000:
        crs, how = BNG, "the file declares none and its coordinates look like British National Grid metres"
    else:
        raise error(_where(), f"Cannot tell the coordinate reference system of {str(path)!r}: the file declares none "
                    "and its coordinates are neither degrees nor British National Grid metres.", got=tuple(bounds),
                    hint="Pass crs='EPSG:…' (the CRS the file was written in).")
    try:
        pyproj.CRS.from_user_input(crs)
    except Exception:
        raise error(_where(), f"Unknown coordinate reference system {crs!r} ({how}).", got=crs,
                    hint="Pass crs='EPSG:27700' (British National Grid) or crs='EPSG:4326' (longitude/latitude).") from None
    return crs, how


def _to_bng(geoms: list, crs: str) -> list:
    import pyproj
    import shapely

    if pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_user_input(BNG):
        return geoms
    tr = pyproj.Transformer.from_crs(crs, BNG, always_xy=True)

    def fn(coords):
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return list(shapely.transform(np.array(geoms, dtype=object), fn))


# ------------------------------------------------------------------------------------------------- GeoJSON
def _read_geojson(path: Path) -> tuple[list, list[dict], str | None]:
    from shapely.geometry import shape

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(_where(), f"{str(path)!r} is not valid GeoJSON: {exc}.", hint="Export it again as GeoJSON.") from None
    declared = None
    crs = data.get("crs") if isinstance(data, dict) else None
    if isinstance(crs, dict):
        declared = _crs_from_text((crs.get("properties") or {}).get("name", ""))
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        feats = data.get("features") or []
    elif isinstance(data, dict) and data.get("type") == "Feature":
        feats = [data]
    elif isinstance(data, dict) and "coordinates" in data:
        feats = [{"type": "Feature", "geometry": data, "properties": {}}]
    else:
        raise error(_where(), f"{str(path)!r} is JSON but not a GeoJSON FeatureCollection.",
                    got=(data.get("type") if isinstance(data, dict) else type(data).__name__),
                    hint="Give a GeoJSON file of area polygons.")
    geoms, props = [], []
    for k, f in enumerate(feats):
        g = f.get("geometry")
        try:
            geoms.append(shape(g) if g else None)
        except Exception as exc:
            raise error(_where(), f"Feature {k} of {str(path)!r} has a geometry shapely cannot read: {exc}.",
                        row=f"feature {k}", hint="Repair the file in QGIS (Vector > Geometry Tools).") from None
        p = dict(f.get("properties") or {})
        if "id" in f and "id" not in p:
            p["id"] = f["id"]
        props.append(p)
    return geoms, props, declared


# ------------------------------------------------------------------------------------------------- GeoPackage
def _gpkg_geometry(blob: bytes, k: int, path: Path):
    """A GeoPackage geometry blob -> shapely geometry (None for an empty geometry)."""
    import shapely

    if blob is None:
        return None
    b = bytes(blob)
    if len(b) < 8 or b[:2] != b"GP":
        raise error(_where(), f"Row {k} of {str(path)!r} does not hold a GeoPackage geometry.", got=b[:8],
                    row=f"feature {k}", hint="Is it a GeoPackage written by QGIS, GDAL or geopandas?")
    flags = b[3]
    envelope = (flags >> 1) & 0b111
    if envelope not in _GPKG_ENVELOPE_DOUBLES:
        raise error(_where(), f"Row {k} of {str(path)!r} has an invalid geometry header.", got=envelope,
                    row=f"feature {k}")
    if (flags >> 4) & 1:
        return None       # empty geometry flag
    start = 8 + 8 * _GPKG_ENVELOPE_DOUBLES[envelope]
    return shapely.from_wkb(b[start:])


def _read_gpkg(path: Path, layer: str | None) -> tuple[list, list[dict], str | None]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise error(_where(), f"Cannot open {str(path)!r} as a GeoPackage: {exc}.") from None
    try:
        try:
            layers = con.execute("SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c "
                                 "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
                                 "WHERE c.data_type = 'features' ORDER BY c.table_name").fetchall()
        except sqlite3.Error as exc:
            raise error(_where(), f"{str(path)!r} is not a GeoPackage ({exc}).",
                        hint="Give a .gpkg or .geojson file of area polygons.") from None
        if not layers:
            raise error(_where(), f"{str(path)!r} holds no feature layer.", hint="Give a file of area polygons.")
        names = [r[0] for r in layers]
        if layer is None:
            if len(layers) > 1:
                raise error(_where(), f"{str(path)!r} holds {len(layers)} layers; say which.", got=names,
                            hint=f"Pass layer={names[0]!r} (or another of them).")
            chosen = layers[0]
        else:
            match = [r for r in layers if r[0] == layer]
            if not match:
                raise error(_where(), f"{str(path)!r} has no layer {layer!r}.", got=names, hint="Pass one of those.")
            chosen = match[0]
        table, geom_col, srs_id = chosen
        declared = None
        srs = con.execute("SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
                          [srs_id]).fetchone()
        if srs and srs[0] and str(srs[0]).upper() == "EPSG" and srs[1] and int(srs[1]) > 0:
            declared = f"EPSG:{int(srs[1])}"
        cur = con.execute(f'SELECT * FROM "{table.replace(chr(34), chr(34) * 2)}"')
        cols = [d[0] for d in cur.description]
        gi = cols.index(geom_col)
        geoms, props = [], []
        for k, row in enumerate(cur.fetchall()):
            geoms.append(_gpkg_geometry(row[gi], k, path))
            props.append({c: v for j, (c, v) in enumerate(zip(cols, row)) if j != gi})
    finally:
        con.close()
    return geoms, props, declared


# ------------------------------------------------------------------------------------------------- public
def _pick(columns, wanted: str | None, pattern, fallbacks, what: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise error(_where(), f"The boundary file has no property {wanted!r} for the {what}.", got=list(columns),
                        hint=f"Pass {what}= one of those.")
        return wanted
    for c in columns:
        if pattern.match(str(c)):
            return c
    for c in fallbacks:
        if c in columns:
            return c
    return None


def read_boundaries(path: str | os.PathLike, *, id: str | None = None, name: str | None = None,
                    crs: str | None = None, layer: str | None = None) -> pd.DataFrame:
    """Read area boundaries (GeoJSON or GeoPackage) as a table of shapely polygons in EPSG:27700 metres.

    Parameters
    ----------
    path : path-like
        A ``.geojson`` / ``.json`` or ``.gpkg`` file of polygons (e.g. ONS ward or LSOA boundaries).
    id, name : str, optional
        Properties holding each area's code and name. ``None``: an ONS-style ``…CD`` / ``…NM`` property (e.g.
        ``LAD23CD``, ``LAD23NM``), else ``code``/``id`` and ``name``; the choice is recorded in ``.attrs``.
    crs : str, optional
        The file's coordinate reference system. ``None``: what the file declares (a GeoPackage's SRS, a GeoJSON
        ``crs`` member), else longitude/latitude (WGS84, GeoJSON's standard) when the coordinates look like degrees,
        else British National Grid when they look like it; anything else is refused. Coordinates are converted to
        British National Grid (EPSG:27700) with pyproj.
    layer : str, optional
        The GeoPackage layer, when the file holds several.

    Returns
    -------
    DataFrame
        One row per area: ``id``, ``name`` (None when the file has neither), ``geometry`` (shapely Polygon or
        MultiPolygon in EPSG:27700), then the file's other properties. ``.attrs`` records ``crs`` ("EPSG:27700"),
        ``source_crs``, ``crs_reason``, ``id_column``, ``name_column`` and ``path``.

    Raises
    ------
    WhatworksError
        A missing file, an unknown format, a file with no polygons (or with other geometry types), or a coordinate
        reference system that cannot be told or is unknown.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise error(_where(), f"The boundary file {str(p)!r} does not exist.",
                    hint="Give the path of a GeoJSON (.geojson) or GeoPackage (.gpkg) file of area polygons.")
    if p.is_dir():
        raise error(_where(), f"{str(p)!r} is a folder, not a boundary file.", hint="Give the .geojson or .gpkg file.")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        geoms, props, declared = _read_gpkg(p, layer)
    elif p.suffix.lower() in (".geojson", ".json") or head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{"):
        geoms, props, declared = _read_geojson(p)
    else:
        raise error(_where(), f"{str(p)!r} is neither GeoJSON nor GeoPackage.", got=p.suffix or head[:8],
                    hint="Export the boundaries from QGIS as GeoPackage or GeoJSON (shapefiles are not read).")
    present = [k for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    if not present:
        raise error(_where(), f"{str(p)!r} holds no polygons ({len(geoms)} feature(s), none with a geometry).",
                    hint="Give a file of area polygons.")
    other = [k for k in present if geoms[k].geom_type not in POLYGON_TYPES]
    if len(other) == len(present):
        raise error(_where(), f"{str(p)!r} holds no polygons: its geometries are {geoms[other[0]].geom_type}s.",
                    got=geoms[other[0]].geom_type, row=f"feature {other[0]}",
                    hint="Give the areas' boundary polygons, not points or lines.")
    if other:
        k = other[0]
        raise error(_where(), f"{len(other)} feature(s) of {str(p)!r} are not polygons.", got=geoms[k].geom_type,
                    row=f"feature {k}", hint="Keep only the area polygons (e.g. filter the layer in QGIS).")
    import shapely

    bounds = shapely.total_bounds(np.array([geoms[k] for k in present], dtype=object))
    source_crs, how = _resolve_crs(declared, crs, bounds, p)
    moved = _to_bng([geoms[k] for k in present], source_crs)
    props = [props[k] for k in present]
    pt = pd.DataFrame(props)
    cols = list(pt.columns)
    id_col = _pick(cols, id, _ID_PATTERN, _ID_FALLBACKS, "id")
    name_col = _pick(cols, name, _NAME_PATTERN, _NAME_FALLBACKS, "name")
    out = pd.DataFrame({"id": pt[id_col].to_numpy() if id_col else np.arange(len(present)),
                        "name": pt[name_col].to_numpy() if name_col else None,
                        "geometry": pd.Series(moved, dtype=object)})
    for c in cols:
        if c not in ("id", "name", "geometry") and c not in (id_col, name_col):
            out[c] = pt[c].to_numpy()
    out.attrs.update({"crs": BNG, "source_crs": source_crs, "crs_reason": how, "id_column": id_col,
                      "name_column": name_col, "path": str(p)})
    return out
