"""The Result base class shared by every analysis (see DESIGN.md, "The result convention").

Subclasses are frozen dataclasses that add their own fields (``estimate``, ``ci``, ``p_value`` …) and implement
``summary()`` and ``_draw(ax)``. ``plot()`` returns a matplotlib Figure; printing a result never plots.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from whatworks._announce import Setting

# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#7F7F7F",
    "black": "#000000",
}


def new_axes(ax=None, *, figsize=(8, 4.5)):
    """Return ``(fig, ax)``: the given axes' figure, or a new figure with the house style.

    New figures are made without pyplot, so a library call never opens a window or piles figures up in pyplot's
    registry; notebooks still display the returned Figure.
    """
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def plain_text(fig):
    """Make every text of ``fig`` plain: no mathtext. Labels come from data (area names, crime types, file names), and
    matplotlib reads ``$...$`` in them as TeX — an area named ``$\\frac{$`` would crash the drawing and ``$x$`` would
    be typeset. Called by every ``plot()`` before the figure is returned; returns ``fig``."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)
    return fig


@dataclass(frozen=True, repr=False)
class Result(abc.ABC):
    """Base of every analysis result.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy table, one row per unit.
    settings : Mapping[str, Setting]
        Every setting used, with where it came from (user, data or default) and why.
    """

    table: pd.DataFrame
    settings: Mapping[str, Setting] = field(default_factory=dict)

    @abc.abstractmethod
    def summary(self) -> str:
        """A short plain-English reading a police lead can use."""

    @abc.abstractmethod
    def _draw(self, ax) -> None:
        """Draw the result on ``ax``."""

    def plot(self, ax=None):
        """Draw the result and return the matplotlib Figure."""
        fig, ax = new_axes(ax)
        self._draw(ax)
        return plain_text(fig)

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of ``.table``."""
        return self.table.copy()

    def settings_table(self) -> pd.DataFrame:
        """The settings as a table: name, value, unit, source, reason."""
        rows = []
        for name, s in self.settings.items():
            if isinstance(s, Setting):
                rows.append({"name": name, "value": s.value, "unit": s.unit, "source": s.source, "reason": s.reason})
            else:
                rows.append({"name": name, "value": s, "unit": None, "source": "user", "reason": ""})
        return pd.DataFrame(rows, columns=["name", "value", "unit", "source", "reason"])

    def _headline(self) -> str:
        return f"{len(self.table)} rows"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._headline()}>"

    def _repr_html_(self) -> str:  # notebooks
        return f"<p><b>{type(self).__name__}</b>: {self.summary()}</p>" + self.table.head(20).to_html()


def settings_dict(**items: Any) -> dict[str, Setting]:
    """Wrap plain user-given values as Settings."""
    return {k: v if isinstance(v, Setting) else Setting(v, "user", "given by the caller") for k, v in items.items()}
