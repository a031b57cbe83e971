"""Store read methods for place analyses (study area, map points, boundaries). Mixed into :class:`whatworks.store.Store`."""

from __future__ import annotations

import os
import re
from typing import Iterable

import pandas as pd

from whatworks.errors import error

# Event kinds whose police.uk locations are the anonymous map points a crime can be snapped to.
MAP_POINT_KINDS = ("crime", "asb", "outcome")
MAP_POINT_SOURCE = "police.uk"
# Names what the points are for the place verbs' announcement (whatworks.place._study_area.POINTS_LABEL_ATTR).
POINTS_LABEL_ATTR = "whatworks_points"
POINTS_LABEL = "police.uk map point"
_MONTH_TEXT = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _as_list(value) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, pd.Timestamp)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _months(where: str, months) -> list[pd.Timestamp] | None:
    vals = _as_list(months)
    if vals is None:
        return None
    out = []
    for k, v in enumerate(vals):
        try:
            if isinstance(v, str) and not _MONTH_TEXT.match(v.strip()):
                raise ValueError(v)
            ts = pd.Timestamp(v.strip()[:7] + "-01" if isinstance(v, str) else v)
            if ts is pd.NaT or not 1900 <= ts.year <= 2200:
                raise ValueError(v)
        except (ValueError, TypeError, OverflowError):
            raise error(where, "The 'months' parameter must hold months such as '2024-06' or dates.", got=v,
                        row=f"position {k}", hint="For example months=['2024-05', '2024-06'].") from None
        out.append(ts.to_period("M").to_timestamp())
    return out


class PlaceReads:
    """Read methods that place analyses and the report use, on Ibis expressions (``self.ibis``), so the DuckDB
    store and the Spark store share them."""

    def map_points(self, force=None, months=None) -> pd.DataFrame:
        """The police.uk map points seen in the store: distinct British National Grid locations of crimes, ASB and
        outcomes, with how many events sit on each.

        police.uk snaps every crime to one of a limited set of anonymous map points, so these are the places a crime
        can be placed: pass them as ``study_area=`` to ``place.grid``/``kde``/``gistar`` to analyse the ground where
        crime can be recorded rather than a bounding box.

        Parameters
        ----------
        force : str or list of str, optional
            The force(s) ('Falls within'); ``None``: every force in the store.
        months : month or list of months, optional
            '2024-06', a date or a Timestamp (any day of the month), or a list; ``None``: every month.

        Returns
        -------
        DataFrame
            Columns ``x``, ``y`` (EPSG:27700 metres) and ``n`` (events at the point), sorted by ``x``, ``y``.
            ``.attrs["whatworks_points"]`` is "police.uk map point" (the announcement names them).
        """
        where = "Store.map_points"
        # an Ibis expression (not SQL), so the same read runs on the DuckDB store and on the Spark store
        t = self._map_point_rows()
        keep = [t["source_system"] == MAP_POINT_SOURCE,
                t["x"].notnull(), t["y"].notnull(), ~t["x"].isnan(), ~t["y"].isnan(), ~t["x"].isinf(), ~t["y"].isinf()]
        forces = _as_list(force)
        if forces is not None:
            if not forces:
                raise error(where, "The 'force' parameter is an empty list.", hint="Leave it out for every force.")
            keep.append(t["force"].isin([str(f) for f in forces]))
        ms = _months(where, months)
        if ms is not None:
            if not ms:
                raise error(where, "The 'months' parameter is an empty list.", hint="Leave it out for every month.")
            keep.append(t["month"].isin([m.date() for m in ms]))
        f = t.filter(keep)
        expr = f.group_by(["x", "y"]).aggregate(n=f.count()).order_by(["x", "y"])
        df = self._frame(expr, "map points")
        df = df.astype({"x": float, "y": float, "n": "int64"})
        df.attrs[POINTS_LABEL_ATTR] = POINTS_LABEL
        return df

    def _map_point_rows(self):
        """Located police.uk rows of the map-point kinds (``x, y, month, force, source_system``): from ``events`` on
        the DuckDB store, from the ``crimes``, ``asb`` and ``outcomes`` tables of a Parquet (Spark) store, which has
        no ``events`` table. Both hold the same rows (the views are ``events`` of those kinds)."""
        import ibis

        cols = ["x", "y", "month", "force", "source_system"]
        if self._has_relation("events"):
            t = self.ibis("events")
            return t.filter(t["kind"].isin(list(MAP_POINT_KINDS))).select(cols)
        parts = [self.ibis(v).select(cols) for v in ("crimes", "asb", "outcomes") if self._has_relation(v)]
        return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)

    def boundaries(self, path: str | os.PathLike, *, id: str | None = None, name: str | None = None,
                   crs: str | None = None, layer: str | None = None) -> pd.DataFrame:
        """Area boundaries from a GeoJSON or GeoPackage file, as shapely polygons in EPSG:27700.

        A thin wrapper of :func:`whatworks.store.boundaries.read_boundaries` (see it for the parameters), so the
        report and the app read boundary files through the store.
        """
        from whatworks.store.boundaries import read_boundaries

        return read_boundaries(path, id=id, name=name, crs=crs, layer=layer)
