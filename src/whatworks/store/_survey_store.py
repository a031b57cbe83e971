"""Store methods for survey microdata (ingest and reads). Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations


class SurveyStore:
    """Survey ingest and read methods; ``self.con`` is the store's DuckDB connection."""
