"""Hot-spot maps: area boundaries with their names, or the study area's outline (matplotlib only, no web tiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks._result import PALETTE, new_axes, plain_text
from whatworks.errors import error

__all__ = ["MapPlot", "draw_boundaries", "draw_outline"]

BOUNDARY_COLOUR = PALETTE["black"]
OUTLINE_COLOUR = PALETTE["grey"]
LABEL_SIZE = 7


def _rings(geom):
    """Every exterior and interior ring of a (Multi)Polygon, as (x, y) arrays."""
    parts = getattr(geom, "geoms", [geom])
    for poly in parts:
        if getattr(poly, "geom_type", "") != "Polygon" or poly.is_empty:
            continue
        yield np.asarray(poly.exterior.xy)
        for hole in poly.interiors:
            yield np.asarray(hole.xy)


def draw_outline(ax, geom, *, colour: str = OUTLINE_COLOUR, lw: float = 0.8) -> int:
    """Draw the outline of a polygon (or of the polygons of a collection); returns the number of rings drawn."""
    n = 0
    for xy in _rings(geom):
        ax.plot(xy[0], xy[1], color=colour, lw=lw, solid_joinstyle="round")
        n += 1
    return n


def _label_column(b: pd.DataFrame, label: str | None) -> str | None:
    if label is not None:
        if label not in b.columns:
            raise error("plot", f"The boundaries table has no column '{label}' for the labels.", got=list(b.columns),
                        hint="Pass label='name' (or another column), or label=False for no labels.")
        return label
    for c in ("name", "id"):
        if c in b.columns:
            return c
    return None


def draw_boundaries(ax, boundaries: pd.DataFrame, *, label: str | bool | None = None) -> list[str]:
    """Draw each boundary polygon and write its name at a point inside it; returns the labels written.

    ``boundaries`` is a table with a shapely ``geometry`` column in the map's coordinates (as returned by
    ``whatworks.store.boundaries.read_boundaries``). ``label``: the column to label with (default ``name``, else
    ``id``), or ``False`` for none.
    """
    import matplotlib.patheffects as pe

    if not isinstance(boundaries, pd.DataFrame) or "geometry" not in boundaries.columns:
        raise error("plot", "The 'boundaries' parameter must be a table with a geometry column.",
                    got=type(boundaries).__name__, hint="Read it with whatworks.store.boundaries.read_boundaries(path).")
    col = None if label is False else _label_column(boundaries, None if label in (None, True) else str(label))
    written = []
    for k, geom in enumerate(boundaries["geometry"]):
        if geom is None or geom.is_empty:
            continue
        draw_outline(ax, geom, colour=BOUNDARY_COLOUR, lw=0.7)
        if col is not None:
            text = boundaries[col].iloc[k]
            if text is None or (isinstance(text, float) and np.isnan(text)):
                continue
            p = geom.representative_point()
            ax.text(p.x, p.y, str(text), fontsize=LABEL_SIZE, ha="center", va="center", color=BOUNDARY_COLOUR,
                    path_effects=[pe.withStroke(linewidth=2, foreground="white")])
            written.append(str(text))
    return written


class MapPlot:
    """Mixin for map results: ``plot(ax=None, *, boundaries=None, label=None)``.

    With ``boundaries`` (a table with a ``geometry`` column, e.g. from ``read_boundaries``) the areas are drawn and
    labelled with their names; without, the study area's outline is drawn.
    """

    def plot(self, ax=None, *, boundaries: pd.DataFrame | None = None, label: str | bool | None = None):
        """Draw the map and return the matplotlib Figure.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw on these axes; ``None`` makes a new figure.
        boundaries : DataFrame, optional
            Area boundaries (a ``geometry`` column of shapely polygons in the same coordinates, EPSG:27700 for
            police.uk data) to draw over the cells, each labelled with its ``name`` (else ``id``). ``None`` draws the
            study area's outline instead.
        label : str or False, optional
            Column of ``boundaries`` to label the areas with; ``False`` for no labels.
        """
        fig, ax = new_axes(ax)
        self._draw(ax)
        limits = ax.get_xlim(), ax.get_ylim()
        if boundaries is not None:
            draw_boundaries(ax, boundaries, label=label)
        else:
            area = getattr(self, "study_area", None)
            if area is not None:
                draw_outline(ax, area.outline())
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
        crs = getattr(self, "crs", None)
        if crs is not None and "27700" in str(crs):
            ax.set_xlabel("easting (m)")
            ax.set_ylabel("northing (m)")
        return plain_text(fig)
