"""Charts for the HTML reports: matplotlib figures turned into inline SVG with no external reference of any kind.

matplotlib's SVG carries an XML declaration, a DOCTYPE and namespace declarations that are URLs, and an RDF
metadata block with more URLs. Inline SVG inside HTML needs none of them (the HTML parser puts ``<svg>`` in the
SVG namespace and understands ``xlink:href``), so :func:`to_svg` removes them: the pack then holds no URL at all.
Text stays text (``svg.fonttype = "none"``), so charts are small, sharp when printed, and searchable.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

from markupsafe import Markup  # noqa: E402

from whatworks._result import PALETTE  # noqa: E402
from whatworks._validate import refuse_renamed  # noqa: E402
from whatworks.errors import error  # noqa: E402

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "whatworks",   # stable element ids: the same data gives the same bytes
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_RENAMED = {"id_col": "id"}   # issue 17, "one vocabulary" (CHANGELOG.md)
MAX_LABELLED_UNITS = 12   # funnels with this many areas or fewer name every area
RASTER_DPI = 150   # maps with thousands of cells are embedded as one image inside the SVG (as data, not a link)
_STRIP = [
    re.compile(r"<\?xml[^>]*\?>\s*", re.S),
    re.compile(r"<!DOCTYPE[^>]*>\s*", re.S),
    re.compile(r"<metadata>.*?</metadata>\s*", re.S),
    re.compile(r'\s+xmlns(:\w+)?="[^"]*"'),
]
_SIZE = re.compile(r'<svg([^>]*?)\s+width="([\d.]+)pt"\s+height="([\d.]+)pt"')

# Making Data Count icon colours (Okabe–Ito equivalents): improvement blue, concern orange, neutral purple.
ICON_COLOURS = {"common_cause": PALETTE["grey"], "special_cause_improvement": PALETTE["blue"],
                "special_cause_concern": PALETTE["orange"], "special_cause_neutral_high": PALETTE["purple"],
                "special_cause_neutral_low": PALETTE["purple"]}


@contextmanager
def style():
    """The house chart style for reports."""
    with plt.rc_context(RC):
        yield


def figure(width_in: float = 6.6, height_in: float = 2.3):
    """A new (fig, ax) sized for an A4 column."""
    fig, ax = plt.subplots(figsize=(width_in, height_in), layout="constrained")
    return fig, ax


def to_svg(fig, *, label: str = "") -> str:
    """The figure as an inline ``<svg>`` element (no URLs, no XML prologue), scaled to its container; closes it."""
    from whatworks._result import plain_text

    plain_text(fig)   # titles and labels come from data (area names): never read as TeX
    buf = io.StringIO()
    try:
        fig.savefig(buf, format="svg", dpi=RASTER_DPI, metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    text = buf.getvalue()
    for pat in _STRIP:
        text = pat.sub("", text)
    aria = f' role="img" aria-label="{_attr(label)}"' if label else ""
    text = _SIZE.sub(lambda m: f'<svg{m.group(1)} class="chart" data-width="{m.group(2)}"{aria}', text, count=1)
    return text.strip()


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def variation_icon(variation: str, direction: str = "", *, size: int = 30) -> str:
    """A small inline SVG icon for an SPC verdict (after NHS England's Making Data Count variation icons).

    Grey with a level line: common-cause variation. Blue: special cause — improvement; orange: special cause —
    concern; purple: special cause with no direction set. The letter says whether the latest point is unusually
    High or Low (``direction`` "higher"/"lower" from the SPC table; neutral variations carry it in their name).
    """
    col = ICON_COLOURS.get(variation, PALETTE["grey"])
    title = {"common_cause": "Common-cause variation", "special_cause_improvement": "Special cause: improvement",
             "special_cause_concern": "Special cause: concern",
             "special_cause_neutral_high": "Special cause: unusually high (no direction set)",
             "special_cause_neutral_low": "Special cause: unusually low (no direction set)"}.get(variation, variation)
    if variation == "common_cause":
        inner = ('<polyline points="7,17 11,13 15,18 19,12 23,16" fill="none" stroke="#fff" stroke-width="2" '
                 'stroke-linejoin="round"/>')
    else:
        letter = "L" if variation.endswith("_low") or direction == "lower" else "H"
        inner = (f'<text x="15" y="20" text-anchor="middle" font-size="14" font-weight="bold" fill="#fff" '
                 f'font-family="sans-serif">{letter}</text>')
    return Markup(f'<svg class="icon" width="{size}" height="{size}" viewBox="0 0 30 30" role="img" '
                  f'aria-label="{_attr(title)}" data-variation="{_attr(variation)}"><title>{_attr(title)}</title>'
                  f'<circle cx="15" cy="15" r="14" fill="{col}"/>{inner}</svg>')


def assurance_icon(assurance: str | None, *, size: int = 30) -> str:
    """Icon for target assurance: green P (consistently passes), red F (consistently fails), grey ? (inconsistent)."""
    if not isinstance(assurance, str):
        return Markup("")
    col, letter, title = {"consistent_pass": (PALETTE["green"], "P", "Target: consistently met"),
                          "consistent_fail": (PALETTE["vermillion"], "F", "Target: consistently missed"),
                          "inconsistent": (PALETTE["grey"], "?", "Target: sometimes met, sometimes missed")}[assurance]
    return Markup(f'<svg class="icon" width="{size}" height="{size}" viewBox="0 0 30 30" role="img" aria-label="{title}" '
                  f'data-assurance="{assurance}"><title>{title}</title><rect x="1" y="1" width="28" height="28" rx="5" '
                  f'fill="{col}"/><text x="15" y="20" text-anchor="middle" font-size="14" font-weight="bold" fill="#fff" '
                  f'font-family="sans-serif">{letter}</text></svg>')


def spc_chart(result, *, title: str, ylabel: str, period: tuple | None = None) -> str:
    """An SPC result drawn by its own ``plot`` and decorated for the pack (period shaded, labels)."""
    import matplotlib.dates as mdates
    import pandas as pd

    with style():
        fig, ax = figure()
        result.plot(ax=ax)
        ax.set_title("")
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        if period is not None:
            lo = pd.Timestamp(period[0] + "-01") - pd.Timedelta(days=15)
            hi = pd.Timestamp(period[1] + "-01") + pd.Timedelta(days=15)
            ax.axvspan(lo, hi, color=PALETTE["sky"], alpha=0.12, lw=0, zorder=0)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, [lab.replace("special cause ", "") for lab in labels], frameon=False, fontsize=7,
                      loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_svg(fig, label=title)


def funnel_chart(result, *, title: str, ylabel: str, xlabel: str, highlight=None, peers=(), id: str | None = None,
                 names: dict | None = None, **renamed) -> str:
    """A funnel result drawn by its own ``plot``, with the chosen area (and its peers) marked and labelled.

    ``id`` is the column of ``result.table`` naming each area; ``None`` (not given) means the funnel's own
    (``result.id``, the ``id=`` it was computed with). Called ``id_col`` before issue 17 ("one vocabulary");
    passing ``id_col=`` is an error naming ``id``.
    """
    refuse_renamed("funnel_chart", renamed, _RENAMED)
    if id is None:
        id = getattr(result, "id", None)
    if id is None and (highlight is not None or len(peers) or names):
        raise error("funnel_chart", "Marking an area, its peers or names needs the column that names each area.",
                    got="a funnel computed without id=", hint="Compute the funnel with id=..., or pass id= here.")
    with style():
        fig, ax = figure(6.6, 3.0)
        result.plot(ax=ax)
        t = result.table          # indicator and limits already on the result's per scale
        if len(peers):
            p = t[t[id].isin(list(peers))]
            ax.scatter(p["denominator"], p["indicator"], s=40, facecolors="none", edgecolors=PALETTE["black"],
                       lw=1, zorder=4, label="most similar areas")
        if names and len(t) <= MAX_LABELLED_UNITS:
            for r in t.itertuples():
                code = getattr(r, id)
                if code != highlight:
                    ax.annotate(str(names.get(code, code)), (r.denominator, r.indicator), xytext=(4, -8),
                                textcoords="offset points", fontsize=6, color=PALETTE["grey"])
        if highlight is not None:
            h = t[t[id] == highlight]
            if len(h):
                ax.scatter(h["denominator"], h["indicator"], s=80, marker="D", color=PALETTE["black"], zorder=5,
                           label="this area")
                ax.annotate(str((names or {}).get(highlight, highlight)), (h["denominator"].iloc[0], h["indicator"].iloc[0]),
                            xytext=(6, 6), textcoords="offset points", fontsize=7)
        ax.set_title("")
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_svg(fig, label=title)


def result_chart(result, *, title: str, width_in: float = 6.6, height_in: float = 3.0, raster: bool = False,
                 boundaries=None) -> str:
    """Any Result drawn by its own ``plot`` with a title. ``raster=True`` embeds the drawn shapes as one image (for
    maps of thousands of cells: a small file that opens fast), keeping text and axes as vectors. ``boundaries`` (a
    table from ``store.boundaries(...)``) is drawn with its names on a map result; without it a map shows its study
    area's outline."""
    with style():
        fig, ax = figure(width_in, height_in)
        if boundaries is not None:
            result.plot(ax=ax, boundaries=boundaries)
        else:
            result.plot(ax=ax)
        ax.set_title("")
        ax.set_title(title, loc="left")
        if raster:
            for c in ax.collections + ax.patches:
                c.set_rasterized(True)
        return to_svg(fig, label=title)


def bars(labels, values, *, title: str, xlabel: str, compare_low=None, compare_high=None, compare_label: str = "",
         width_in: float = 6.6) -> str:
    """Horizontal bars (values already computed by an analysis), optionally with a range per bar (peers)."""
    import numpy as np

    with style():
        n = len(labels)
        fig, ax = figure(width_in, max(1.6, 0.22 * n + 0.6))
        y = np.arange(n)
        ax.barh(y, values, color=PALETTE["blue"], height=0.6, label="this area")
        if compare_low is not None:
            ax.hlines(y, compare_low, compare_high, color=PALETTE["orange"], lw=3, alpha=0.8, label=compare_label)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        if compare_low is not None:
            ax.legend(frameon=False, fontsize=7, loc="lower right")
        return to_svg(fig, label=title)


def lines(frame, *, x: str, y: str, group: str, highlight, title: str, ylabel: str, labels: dict | None = None,
          height_in: float = 2.3) -> str:
    """One line per group (already computed), the highlighted group in colour and the others in grey."""
    import matplotlib.dates as mdates

    with style():
        fig, ax = figure(6.6, height_in)
        for key, g in frame.groupby(group, sort=True):
            if key == highlight:
                continue
            ax.plot(g[x], g[y], color=PALETTE["grey"], lw=0.8, alpha=0.6)
        h = frame[frame[group] == highlight]
        ax.plot(h[x], h[y], color=PALETTE["blue"], lw=2, marker="o", ms=2.5,
                label=(labels or {}).get(highlight, str(highlight)))
        if frame[group].nunique() > 1:
            ax.plot([], [], color=PALETTE["grey"], lw=0.8, label="most similar areas")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_svg(fig, label=title)
