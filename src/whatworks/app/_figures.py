"""Plotly figures of analysis results (drawing only: every number is a column of a result's ``.table``).

Colours follow the Making Data Count convention the pack uses: special cause of concern orange, of improvement
blue, common cause grey; the area in focus is marked in the house accent colour, its peers in a lighter shade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

GREY, ORANGE, BLUE, ACCENT, PEER, INK = "#7f7f7f", "#ed8b00", "#41b6e6", "#6f2da8", "#c9a7e8", "#1f2933"
POINT_COLOURS = {"special_cause_concern": ORANGE, "special_cause_improvement": BLUE,
                 "special_cause_neutral": "#490092", "common_cause": GREY}
HOT = {"hot spot": "#b2182b", "cold spot": "#2166ac", "not significant": "#d9d9d9"}
# maps with more points than this are drawn with WebGL (Scattergl); below it as SVG, which every browser draws
# (WebGL is often missing on locked-down or virtual desktops, and in headless browsers without a GPU). Plotly's
# guidance: SVG scatter stays responsive up to a few thousand points.
WEBGL_ABOVE = 5_000


def _layout(fig: go.Figure, title: str, *, height: int = 320, xtitle: str = "", ytitle: str = "") -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=height, margin=dict(l=50, r=20, t=50, b=40),
                      template="plotly_white", xaxis_title=xtitle, yaxis_title=ytitle, legend={"orientation": "h"},
                      font={"family": "system-ui, sans-serif", "color": INK})
    return fig


def empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", height=160)


def spc(result, title: str, ytitle: str = "records per month") -> go.Figure:
    """XmR chart of an :class:`~whatworks.performance.SPCResult`: values, centre line, process limits (and the
    seasonal band when the chart is seasonal), points coloured by their Making Data Count point type."""
    t = result.table
    fig = go.Figure()
    seasonal = "seasonal" in t and bool(t["seasonal"].iloc[-1])
    if seasonal:
        fig.add_trace(go.Scatter(x=t["date"], y=t["band_high"], mode="lines", line=dict(color=GREY, width=0.5, dash="dot"),
                                 name="seasonal band"))
        fig.add_trace(go.Scatter(x=t["date"], y=t["band_low"], mode="lines", line=dict(color=GREY, width=0.5, dash="dot"),
                                 showlegend=False))
    fig.add_trace(go.Scatter(x=t["date"], y=t["upl"], mode="lines", line=dict(color=GREY, dash="dash"), name="process limits"))
    fig.add_trace(go.Scatter(x=t["date"], y=t["lpl"], mode="lines", line=dict(color=GREY, dash="dash"), showlegend=False))
    fig.add_trace(go.Scatter(x=t["date"], y=t["mean"], mode="lines", line=dict(color=INK, width=1), name="mean"))
    colours = [POINT_COLOURS.get(str(p), GREY) for p in t["point_type"]]
    fig.add_trace(go.Scatter(x=t["date"], y=t["value"], mode="lines+markers", line=dict(color="#4d4d4d", width=1),
                             marker=dict(color=colours, size=7), name="value",
                             customdata=t["point_type"], hovertemplate="%{x|%Y-%m}: %{y}<br>%{customdata}<extra></extra>"))
    return _layout(fig, title, ytitle=ytitle)


def funnel(result, title: str, *, highlight=None, peers=(), names=None, xtitle: str = "", ytitle: str = "") -> go.Figure:
    """Funnel plot of a :class:`~whatworks.performance.FunnelResult`: each unit at its denominator, the 95% and
    99.8% control limits (columns ``lower_95`` … ``upper_998``) and the target."""
    t = result.table.sort_values("denominator")
    names = names or {}
    fig = go.Figure()
    for col, dash, nm in (("upper_998", "dash", "99.8% limits"), ("lower_998", "dash", None),
                          ("upper_95", "dot", "95% limits"), ("lower_95", "dot", None)):
        fig.add_trace(go.Scatter(x=t["denominator"], y=t[col], mode="lines", line=dict(color=GREY, dash=dash),
                                 name=nm or col, showlegend=nm is not None))
    unit = t["unit"].astype(str)
    colour = np.where(unit == str(highlight), ACCENT, np.where(unit.isin([str(p) for p in peers]), PEER, GREY))
    fig.add_trace(go.Scatter(x=t["denominator"], y=t["indicator"], mode="markers", name="areas",
                             marker=dict(color=list(colour), size=9, line=dict(color="white", width=0.5)),
                             text=[names.get(u, u) for u in unit], hovertemplate="%{text}: %{y:.3g}<extra></extra>"))
    return _layout(fig, title, xtitle=xtitle, ytitle=ytitle)


def ski_slope(result, title: str, *, highlight=None, peers=(), names=None, ytitle: str = "") -> go.Figure:
    """HMICFRS-style "ski-slope" bars: every unit's indicator sorted, the area in focus marked, its most similar
    areas shaded, the funnel's target as a line."""
    t = result.table.sort_values("indicator", ascending=False)
    names = names or {}
    unit = t["unit"].astype(str)
    colour = np.where(unit == str(highlight), ACCENT, np.where(unit.isin([str(p) for p in peers]), PEER, GREY))
    fig = go.Figure(go.Bar(x=[names.get(u, u) for u in unit], y=t["indicator"], marker_color=list(colour),
                           hovertemplate="%{x}: %{y:.3g}<extra></extra>", name="areas"))
    target = result.settings.get("target") if hasattr(result, "settings") else None
    tv = getattr(target, "value", target)
    if isinstance(tv, (int, float)) and np.isfinite(tv):
        fig.add_hline(y=float(tv), line=dict(color=INK, dash="dash"), annotation_text="average")
    return _layout(fig, title, ytitle=ytitle)


def hotspots(result, title: str, boundaries=None) -> go.Figure:
    """Getis–Ord Gi* cells (a :class:`~whatworks.place.GiStarResult` table: ``x``, ``y`` cell centres in British
    National Grid metres) as a scatter on equal axes, with area boundaries drawn as outlines when given. No tiles.
    Drawn as SVG up to :data:`WEBGL_ABOVE` cells, with WebGL beyond."""
    t = result.table
    fig = go.Figure()
    scatter = go.Scattergl if len(t) > WEBGL_ABOVE else go.Scatter
    if boundaries is not None:
        xs, ys = [], []
        for geom in boundaries["geometry"]:
            polys = getattr(geom, "geoms", [geom])
            for p in polys:
                x, y = p.exterior.coords.xy
                xs += list(x) + [None]
                ys += list(y) + [None]
        fig.add_trace(scatter(x=xs, y=ys, mode="lines", line=dict(color=INK, width=0.7), name="boundaries",
                              hoverinfo="skip"))
    for cls in ("not significant", "cold spot", "hot spot"):
        s = t[t["classification"] == cls]
        if len(s):
            fig.add_trace(scatter(x=s["x"], y=s["y"], mode="markers", name=cls,
                                  marker=dict(color=HOT[cls], size=6, symbol="square"),
                                  customdata=np.stack([s["count"], s["gistar"]], axis=1),
                                  hovertemplate="%{customdata[0]:.0f} crimes, Gi* %{customdata[1]:.2f}<extra></extra>"))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return _layout(fig, title, height=520, xtitle="easting (m, EPSG:27700)", ytitle="northing (m)")


def mix(frame: pd.DataFrame, title: str, *, highlight=None) -> go.Figure:
    """Rates per 1,000 residents by crime type, the area against its peers (landscape ``mix``)."""
    fig = go.Figure()
    for unit, g in frame.groupby("unit", sort=False):
        fig.add_trace(go.Bar(y=g["crime_type"], x=g["rate_per_1000"], orientation="h",
                             name=str(g["name"].iloc[0]) if "name" in g else str(unit),
                             marker_color=ACCENT if str(unit) == str(highlight) else PEER))
    fig.update_layout(barmode="group")
    return _layout(fig, title, height=120 + 28 * frame["crime_type"].nunique(), xtitle="per 1,000 residents")


def lines(frame: pd.DataFrame, title: str, *, x: str, y: str, group: str, highlight=None, ytitle: str = "",
          names=None) -> go.Figure:
    fig = go.Figure()
    names = names or {}
    for unit, g in frame.groupby(group, sort=False):
        focus = str(unit) == str(highlight)
        fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="lines", name=names.get(str(unit), str(unit)),
                                 line=dict(color=ACCENT if focus else PEER, width=2.5 if focus else 1)))
    return _layout(fig, title, ytitle=ytitle)


def estimates(frame: pd.DataFrame, title: str, *, label: str, highlight_col: str | None = None) -> go.Figure:
    """Point estimates with their intervals (``estimate``, ``ci_low``, ``ci_high``), one row per unit."""
    t = frame.sort_values("estimate")
    colour = [ACCENT if (highlight_col and bool(v)) else GREY for v in (t[highlight_col] if highlight_col else [0] * len(t))]
    fig = go.Figure(go.Scatter(x=t["estimate"], y=t[label].astype(str), mode="markers",
                               marker=dict(color=colour, size=9),
                               error_x=dict(type="data", symmetric=False, array=t["ci_high"] - t["estimate"],
                                            arrayminus=t["estimate"] - t["ci_low"], color=GREY)))
    return _layout(fig, title, height=120 + 26 * len(t))
