"""Store read methods for areas and their covariates. Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations

import pandas as pd

AREA_COLUMNS = ["code", "name", "level", "parent_code", "population", "population_source"]


class AreaReads:
    """Read methods over ``areas`` and ``area_covariates``; ``self.con`` is the store's DuckDB connection."""

    def areas(self, level: str | None = None) -> pd.DataFrame:
        """The areas in the store: ``code``, ``name``, ``level``, ``parent_code``, ``population``,
        ``population_source``, one row per area (optionally of one ``level``).

        ``population`` is the area's own figure from the lookup, or the sum over the small areas inside it when every
        one of them has a population (``population_source``: ``"lookup"``, ``"sum of small areas"``, or missing).
        Local authorities named in police.uk LSOA names but not in any lookup appear with level ``"district"``.

        Examples
        --------
        >>> store.areas("lad")[["code", "name", "population"]]   # doctest: +SKIP
        """
        from whatworks.store import areas as _areas

        return _areas.area_table(self.con, level=level)[AREA_COLUMNS].reset_index(drop=True)

    def area_covariates(self, level: str, *, roll_up: bool = True) -> pd.DataFrame:
        """Covariates of the areas of one ``level``: column ``code`` and one column per covariate.

        A value given directly for an area is used as it is. Otherwise (``roll_up=True``, the default) it is rolled up
        from the areas inside it, from the smallest areas up: a **count** covariate is summed; a **mean** (a rate,
        share, density or score) is the population-weighted mean Σ popᵢ·valueᵢ / Σ popᵢ. A roll-up needs every area
        inside to have a value — and, for a mean, a population — or the value is left missing (never an unweighted
        mean, never a partial sum). The kind of each covariate was fixed at ingest (header ``"households [count]"``,
        ``covariate_kinds=``, or its name; see :meth:`covariate_kinds`).

        The frame's ``attrs`` say where the values came from: ``"given"`` and ``"rolled_up"`` (lists of covariates),
        ``"kinds"`` ({covariate: kind}), ``"cells"`` (one row per area × covariate with ``value_source`` —
        ``"given"``, ``"rolled up"``, ``"missing"`` — and ``detail``), and ``"missing"`` (``code``, ``covariate``,
        ``detail`` of each missing value, e.g. "cannot roll up a mean: 1 of the 2 areas inside it have no
        population (first: lsoa E5)").

        Examples
        --------
        >>> lads = store.area_covariates("lad")            # doctest: +SKIP
        >>> ww.performance.peers(lads, ["imd_score", "density"], id="code")   # doctest: +SKIP
        """
        from whatworks.store import areas as _areas

        return _areas.covariate_table(self.con, level, roll_up=roll_up)

    def covariate_levels(self) -> dict[str, list[str]]:
        """{level: [covariates given directly for areas of that level]}, smallest level first.

        A level missing from the dict has no covariates of its own (it may still have rolled-up ones: see
        :meth:`area_covariates`). ``{"lsoa": ["density", "imd_score"]}`` means covariates were loaded for LSOAs only.
        """
        from whatworks.store import areas as _areas

        return _areas.covariate_levels(self.con)

    def covariate_kinds(self) -> pd.DataFrame:
        """How each covariate rolls up: ``covariate``, ``kind`` (``"count"`` summed, ``"mean"`` population-weighted)
        and ``reason`` (declared in the header, given in ``covariate_kinds=``, or set by its name)."""
        from whatworks.store import areas as _areas

        return _areas.covariate_kinds(self.con)
