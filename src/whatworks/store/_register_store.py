"""Store methods for the evidence register (interventions, evaluations, studies). Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations


class RegisterStore:
    """Evidence-register read and write methods; ``self.con`` is the store's DuckDB connection."""
