"""Write grid results (counts, KDE, Gi*, hot-spot classes) to GeoJSON or GeoPackage files.

Analyses return ``.to_geojson()`` dicts without touching the disk; only ``store/`` writes files (DESIGN.md). GeoPackage
needs geopandas (with pyogrio or fiona); GeoJSON needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Sequence

from whatworks.errors import error

__all__ = ["write_geojson", "write_geopackage", "prepare_folder"]


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


def prepare_folder(path: str | os.PathLike, *, clear: Sequence[str] = (), marker: str | None = None,
                   marker_text: str = "", made_by: str = "whatworks", where: str = "prepare_folder") -> Path:
    """Make ``path`` ready for a tool's outputs: create it, or clear the outputs an earlier run left there.

    A folder holding anything else, with no ``marker`` file from an earlier run, is refused rather than overwritten.
    Then the folder is created, each name in ``clear`` (a file or a whole folder inside it) is removed, and the marker
    is (re)written. Used by ``whatworks demo``; outputs go through ``store/`` because only it touches files (DESIGN.md).

    Parameters
    ----------
    path : path-like
        The output folder.
    clear : sequence of str, default ()
        Names inside ``path`` that the tool owns and replaces on every run.
    marker : str, optional
        Name of the file that marks the folder as the tool's own. ``None``: only a new or empty folder is accepted.
    marker_text : str, default ""
        What the marker file says.
    made_by : str, default "whatworks"
        The tool, as named in the refusal (e.g. "`whatworks demo`").
    where : str, default "prepare_folder"
        The function named in errors.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> out = prepare_folder(tempfile.mkdtemp() + "/out", clear=["result.csv"], marker=".mine")
    >>> sorted(p.name for p in out.iterdir())
    ['.mine']
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise error(where, f"The output path {str(out)!r} is a file.", hint="Pass a folder, e.g. --out whatworks-demo")
    if out.exists() and any(out.iterdir()) and (marker is None or not (out / marker).exists()):
        raise error(where, f"The folder {str(out)!r} is not empty and was not made by {made_by}, so whatworks "
                           "will not write into it.", hint="Choose a new or empty folder with --out.")
    out.mkdir(parents=True, exist_ok=True)
    for name in clear:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if marker is not None:
        (out / marker).write_text(marker_text, encoding="utf-8")
    return out


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
