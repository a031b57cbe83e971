"""Write grid results (counts, KDE, Gi*, hot-spot classes) to GeoJSON or GeoPackage files.

Analyses return ``.to_geojson()`` dicts without touching the disk; only ``store/`` writes files (DESIGN.md). GeoPackage
needs geopandas (with pyogrio or fiona); GeoJSON needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from whatworks.errors import error

__all__ = ["write_geojson", "write_geopackage"]


def _geojson_of(where: str, result) -> dict:
    to_gj = getattr(result, "to_geojson", None)
    if to_gj is None:
        raise error(where, "The result has no map geometry to export.", got=type(result).__name__,
                    hint="Export the result of place.grid, kde, gistar or classify.")
    return to_gj()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_weights(path: str | os.PathLike):
    """Read a user-supplied weights table (CSV with columns such as ``crime_type,weight``) into a DataFrame.

    The analysis that uses it (e.g. ``performance.harm``) checks its columns; whatworks never invents weights.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise error("read_weights", f"The weights file {str(p)!r} does not exist.",
                    hint="A CSV with columns crime_type,weight (your own weights, e.g. the Cambridge Crime Harm Index).")
    return pd.read_csv(p)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text output (an HTML pack or landscape, an SVG diagram) atomically, creating its folder; return the path.

    Outputs go through here because only ``store/`` touches files (DESIGN.md): a half-written pack never replaces a good one.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, text)
    return p


def write_geojson(result, path: str | os.PathLike) -> Path:
    """Write a grid result's cells as a GeoJSON FeatureCollection (polygons in the input CRS) and return the path.

    When the result knows its CRS (``crs="EPSG:27700"`` given to the analysis) it is named in a top-level ``crs``
    member, which QGIS and GDAL read; without it GeoJSON readers assume longitude/latitude.
    """
    p = Path(path)
    if p.suffix.lower() not in (".geojson", ".json"):
        raise error("write_geojson", "The file name must end in .geojson or .json.", got=str(p))
    gj = _geojson_of("write_geojson", result)
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, json.dumps(gj))
    return p


def write_geopackage(result, path: str | os.PathLike, *, layer: str = "cells") -> Path:
    """Write a grid result's cells as a layer of a GeoPackage (needs geopandas); replaces the layer if it exists."""
    where = "write_geopackage"
    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        raise error(where, "The file name must end in .gpkg.", got=str(p))
    try:
        import geopandas
    except ImportError:
        raise error(where, "Writing GeoPackage files needs geopandas, which is not installed.",
                    hint="pip install geopandas, or use write_geojson instead.") from None
    gj = _geojson_of(where, result)
    crs = (gj.get("crs") or {}).get("properties", {}).get("name")
    gdf = geopandas.GeoDataFrame.from_features(gj["features"], crs=crs)
    p.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(p, layer=layer, driver="GPKG", mode="w")
    return p
