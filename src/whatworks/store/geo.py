"""Coordinate conversion between WGS84 longitude/latitude and British National Grid (EPSG:27700).

The helpers live in :mod:`whatworks._geo` (shared with ``synth``); this module re-exports them for compatibility.
"""

from __future__ import annotations

from whatworks._geo import BNG_X_RANGE, BNG_Y_RANGE, GB_LAT_RANGE, GB_LON_RANGE, from_bng, to_bng

__all__ = ["to_bng", "from_bng", "GB_LON_RANGE", "GB_LAT_RANGE", "BNG_X_RANGE", "BNG_Y_RANGE"]
