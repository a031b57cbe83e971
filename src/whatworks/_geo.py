"""Coordinate conversion between WGS84 longitude/latitude and British National Grid (EPSG:27700).

Shared by the store (reading police.uk points) and synth (writing them), so neither imports the other for it;
``whatworks.store.geo`` re-exports these names.

pyproj does the transformation (without the OSTN15 grid file, which cannot be downloaded here, PROJ uses the
7-parameter Helmert transformation: accurate to a few metres, far finer than police.uk's snapped points).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["to_bng", "from_bng", "GB_LON_RANGE", "GB_LAT_RANGE", "BNG_X_RANGE", "BNG_Y_RANGE"]

import numpy as np

# A box around Great Britain and Northern Ireland in WGS84; police.uk points outside it are errors.
GB_LON_RANGE = (-8.75, 1.9)
GB_LAT_RANGE = (49.8, 60.95)
# The same region in British National Grid metres (EPSG:27700 bounds).
BNG_X_RANGE = (-100_000.0, 700_000.0)
BNG_Y_RANGE = (-100_000.0, 1_300_000.0)


@lru_cache(maxsize=4)
def _transformer(src: int, dst: int):
    import pyproj

    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _convert(src: int, dst: int, a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size == 0:
        return a.copy(), b.copy()
    u, v = _transformer(src, dst).transform(a, b)
    return np.asarray(u, dtype=float), np.asarray(v, dtype=float)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat (degrees) to British National Grid easting/northing (metres). NaN in, NaN out."""
    return _convert(4326, 27700, lon, lat)


def from_bng(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid easting/northing (metres) to WGS84 lon/lat (degrees)."""
    return _convert(27700, 4326, x, y)
