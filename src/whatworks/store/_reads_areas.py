"""Store read methods for areas and their covariates. Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations


class AreaReads:
    """Read methods over ``areas`` and ``area_covariates``; ``self.con`` is the store's DuckDB connection."""
