"""Store read methods for place analyses (study area, map points, boundaries). Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations


class PlaceReads:
    """Read methods that place analyses and the report use; ``self.con`` is the store's DuckDB connection."""
