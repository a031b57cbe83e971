"""The content of each page, built from analysis results (:mod:`whatworks.app._views`) and drawn with
:mod:`whatworks.app._figures`. Every builder returns Dash components; :func:`page_table` gives the table a page
exports as CSV."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from whatworks.app import _figures as F
from whatworks.app._views import Filters, Views
from whatworks.errors import WhatworksError
from whatworks.report import sections
from whatworks.report import charts as _charts

TITLES = {"attention": "What needs attention", "landscape": "Area landscape", "performance": "Performance",
          "places": "Places: hot spots", "people": "People", "evidence": "Evidence", "confidence": "Public confidence"}
INTRO = {
    "attention": "Signals only: special causes in the latest month, changes beyond chance against last year, an "
                 "unusual quarter for the time of year, and funnel outliers. Each links to its chart.",
    "landscape": "The area's crime mix and trend against its most similar areas, its residents and its confidence.",
    "performance": "SPC (XmR) charts with the Making Data Count icons, funnels and ski-slope bars against peers.",
    "places": "Getis–Ord Gi* hot spots of the period's crimes on British National Grid coordinates (no web tiles).",
    "people": "Repeat victims and locations, offenders and stop-and-search fairness (pseudonymised identifiers only).",
    "evidence": "The evidence register: best evidence for each tactic, fidelity, cost-benefit and tasking.",
    "confidence": "Public confidence from the survey in the store: estimates by area with their uncertainty, trend "
                  "and drivers.",
}
PACK_PAGES = ("attention", "performance", "places", "evidence", "confidence")
SLOW_PAGES = PACK_PAGES + ("landscape",)
TABLE_STYLE = "table"


def graph(fig, gid: str, img: str = "png", filename: str = "whatworks") -> dcc.Graph:
    """A Plotly graph: MathJax off, no Plotly logo or cloud buttons, the camera button saves PNG or SVG."""
    return dcc.Graph(id=gid, figure=fig, mathjax=False,
                     config={"displaylogo": False, "showLink": False, "showSendToCloud": False, "showEditInChartStudio": False,
                             "toImageButtonOptions": {"format": img, "filename": filename, "scale": 2}})


def table(frame: pd.DataFrame, tid: str | None = None, max_rows: int = 200) -> html.Table:
    """A plain HTML table (text is escaped by React)."""
    f = frame.head(max_rows)

    def cell(v):
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:,.4g}"
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d}"
        return "" if v is None else str(v)

    return html.Table(className=TABLE_STYLE, id=tid or "", children=[
        html.Thead(html.Tr([html.Th(str(c)) for c in f.columns])),
        html.Tbody([html.Tr([html.Td(cell(v)) for v in row]) for row in f.itertuples(index=False)])])


def note(text: str, cls: str = "note") -> html.P:
    return html.P(text, className=cls)


def missing(text: str) -> html.Div:
    """A page (or section) whose data the store lacks: what is missing and how to load it."""
    return html.Div(className="missing", children=[html.Strong("Not available for this store. "), text])


# ------------------------------------------------------------------------------------------- quick (synchronous)

def quick(views: Views, page: str, f: Filters, img: str) -> list:
    """The part of a page built at once: its title and, on Performance, the trend chart that follows the filters
    (pushed-down counts + SPC, well under a second)."""
    out = [html.H2(TITLES[page]), note(INTRO[page], "intro")]
    if page == "performance":
        r, title, why = views.trend(f)
        fig = F.empty(why) if r is None else F.spc(r, title)
        out += [graph(fig, "trend-graph", img, "trend"),
                note("" if r is None else r.summary().splitlines()[0], "summary")]
    if page == "people":
        have = views.people_reads()
        out.append(missing(
            "The People page reads person-level records through the store's named read methods "
            "(store.involvements, store.stops, store.outcomes, store.links)"
            + (f"; this store has {', '.join(have)} but the page's analyses are not wired in this version."
               if have else ", which this version of the store does not have yet.")
            + " Load RMS exports with persons (`whatworks ingest records FILE --mapping rms.toml`, docs/ingest.md) "
              "and run people analyses from Python meanwhile (docs/people.md)."))
    return out


# ------------------------------------------------------------------------------------------- slow (background)

def slow(views: Views, page: str, f: Filters, img: str, *, config=None, progress=None) -> list:
    """The part of a page that needs the pack's (or the landscape's) analyses."""
    step = progress or (lambda *a: None)
    if page not in SLOW_PAGES:
        return []
    step(1, 3, "reading the store and running the analyses…")
    try:
        if page == "landscape":
            r = views.landscape(f)
            step(2, 3, "drawing…")
            return _landscape(views, r, f, img)
        p = views.pack(f)
    except WhatworksError as exc:
        return [missing(str(exc))]
    step(2, 3, "drawing…")
    return {"attention": _attention, "performance": _performance, "places": _places, "evidence": _evidence,
            "confidence": _confidence}[page](views, p, f, img, config)


def _icon(variation, direction) -> html.Span | str:
    """The Making Data Count verdict as a badge in the pack's icon colours (:data:`whatworks.report.charts.ICON_COLOURS`):
    grey "~" for common cause; H or L for a special cause, on blue (improvement), orange (concern) or purple (no
    direction set). A badge, not the pack's SVG as an ``<img>``: an SVG image needs its XML namespace declared, and
    the package names no web address, not even a namespace."""
    if not isinstance(variation, str):
        return ""
    letter = "~" if variation == "common_cause" else \
        "L" if variation.endswith("_low") or direction == "lower" else "H"
    label = variation.replace("_", " ")
    return html.Span(letter, className="icon", title=label, role="img", **{"aria-label": label},
                     style={"backgroundColor": _charts.ICON_COLOURS.get(variation, F.GREY)})


def _attention(views, p, f, img, config):
    search = f.to_search()
    rows = []
    for a in p.attention.itertuples():
        rows.append(html.Li([dcc.Link(f"{a.indicator}: {a.signal}", href=f"/performance{search}#{a.anchor}"),
                             html.Span(f" — {a.detail}")]))
    t = p.table
    head = html.Table(className=TABLE_STYLE, id="headline-table", children=[
        html.Thead(html.Tr([html.Th(c) for c in ("", "indicator", "latest month", "latest", "verdict",
                                                 "this period", "same period last year", "change")])),
        html.Tbody([html.Tr([html.Td(_icon(r.get("variation"), r.get("direction"))), html.Td(r["indicator"]),
                             html.Td(r.get("latest_month") or ""), html.Td(_fmt(r.get("latest_value"))),
                             html.Td(r.get("verdict") or ""), html.Td(_fmt(r.get("this_period"))),
                             html.Td(_fmt(r.get("last_period"))), html.Td(r.get("change_verdict") or "")])
                    for r in t.to_dict("records")])])
    return [html.H3("Signals"),
            html.Ul(rows, id="attention-list") if rows else note("No signal: every headline indicator shows "
                                                                  "common-cause variation, and no change is beyond chance."),
            html.H3("Headline indicators"), head, *[note(n) for n in p.notes]]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return f"{v:,.3g}" if isinstance(v, float) and abs(v) < 1 else f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


def _performance(views, p, f, img, config):
    out = [html.H3("SPC for each headline indicator")]
    rows = p.table.to_dict("records")
    for i, r in enumerate(rows, start=1):
        res = p.spc.get(r["indicator"])
        box = [html.H4([_icon(r.get("variation"), r.get("direction")), " ", r["indicator"]]), note(r.get("verdict") or "")]
        if res is not None:
            ytitle = "solved share of crimes" if r["measure"] == "solved_rate" else "records per month"
            box.append(graph(F.spc(res, f"{r['indicator']}: monthly, with process limits", ytitle),
                             f"spc-{i}", img, f"spc-{i}"))
        out.append(html.Section(box, id=f"indicator-{i}", className="indicator"))
    names = views.names()
    peers = []
    if p.peers is not None and p.settings.get("area") is not None and f.area:
        try:
            peers = p.peers.of(f.area)["peer"].tolist()
        except WhatworksError:
            peers = []
    out.append(html.H3("Against comparable areas"))
    if not p.funnels:
        out.append(missing("No funnel: the store has no comparable areas with populations. Load an area lookup with "
                           "`whatworks ingest areas FILE`."))
    for key, res in p.funnels.items():
        what = ("Crime rate per 1,000 residents", "residents") if key == "rate" else ("Solved rate", "crimes recorded")
        out += [html.Section(id=f"funnel-{key}", children=[
            graph(F.funnel(res, f"{what[0]}: funnel", highlight=f.area, peers=peers, names=names, xtitle=what[1],
                           ytitle=what[0]), f"funnel-{key}-graph", img, f"funnel-{key}"),
            graph(F.ski_slope(res, f"{what[0]}: every area, sorted (the selected area marked, its peers shaded)",
                              highlight=f.area, peers=peers, names=names, ytitle=what[0]),
                  f"ski-{key}-graph", img, f"ski-{key}")])]
    return out


def _places(views, p, f, img, config):
    if p.hotspots is None:
        return [missing("No hot-spot map: too few located crimes in the period, or the data have no coordinates "
                        "(police.uk street files carry them; RMS exports need x/y or lon/lat mapped).")]
    b = None
    out = []
    try:
        b = views.boundaries(config)
    except WhatworksError as exc:
        out.append(note(f"Boundaries not drawn: {str(exc).splitlines()[0]}"))
    if b is None and not getattr(config, "boundaries", None):
        out.append(note("No area boundaries configured: add [app] boundaries = \"areas.geojson\" to the config to "
                        "draw them under the cells."))
    cell = p.settings.get("hotspots cell size")
    title = "Crime hot spots (Getis–Ord Gi*)" + (f", cells of {cell.value} m" if cell is not None else "")
    out.insert(0, graph(F.hotspots(p.hotspots, title, b), "hotspot-map", img, "hotspots"))
    out.append(note(p.hotspots.summary().splitlines()[0], "summary"))
    return out


def _evidence(views, p, f, img, config):
    ev = p.evidence
    if ev is None:
        return [missing(sections.placeholders(views.store)["evidence"])]
    out = []
    for tac in ev.tactics:
        out += [html.H3(tac["tactic"]), table(tac["evidence"])]
        if tac.get("cba_note"):
            out.append(note(f"No cost-benefit: {tac['cba_note']}."))
    if ev.tasking is not None:
        out += [html.H3("Tasking"), table(ev.tasking.table)]
    out += [note(n) for n in ev.notes]
    return out


def _confidence(views, p, f, img, config):
    c = p.confidence
    if c is None:
        return [missing(sections.placeholders(views.store)["confidence"])]
    out = [graph(F.estimates(c.table, f"Confidence ({c.spec.outcome}) by {c.spec.by}, with 95% CIs", label="name",
                             highlight_col="is_area"), "confidence-graph", img, "confidence"),
           table(c.table[[k for k in ("name", "estimate", "se", "ci_low", "ci_high", "n") if k in c.table]])]
    if c.trend is not None:
        out.append(table(c.trend.table))
    if c.drivers is not None:
        out += [html.H3("What drives confidence"), table(c.drivers.table)]
    out += [note(n) for n in c.notes]
    return out


def _landscape(views, r, f, img):
    if r is None:
        return [missing("Choose an area in the filters above: the landscape is a profile of one area against its "
                        "most similar areas.")]
    names = views.names()
    out = [graph(F.mix(r.mix, "Crime mix: rates per 1,000 residents, against the most similar areas",
                       highlight=r.area), "mix-graph", img, "mix")]
    if len(r.trend):
        out.append(graph(F.lines(r.trend, "Monthly crime rate per 1,000 residents", x="period_start", y="rate_per_1000",
                                 group="unit", highlight=r.area, ytitle="per 1,000 residents", names=names),
                         "landscape-trend", img, "trend"))
    if r.change is not None:
        out.append(note(str(r.change.table["verdict"].iloc[0]), "summary"))
    out += [html.H3("Residents"), table(r.residents)]
    if r.workforce is not None:
        out += [html.H3("Workforce"), table(r.workforce)]
    conf = r.confidence
    if conf is None or isinstance(conf, str):
        out.append(missing(conf if isinstance(conf, str) else sections.placeholders(views.store)["confidence"]))
    else:
        out += [html.H3("Residents' confidence"), table(conf.table)]
    out += [note(n) for n in r.notes]
    return out


# ------------------------------------------------------------------------------------------- CSV export

def page_table(views: Views, page: str, f: Filters) -> pd.DataFrame:
    """The table behind a page, for its CSV download."""
    if page == "people":
        return pd.DataFrame({"note": ["No person-level data in this version of the dashboard."]})
    if page == "landscape":
        r = views.landscape(f)
        return r.mix if r is not None else pd.DataFrame({"note": ["Choose an area."]})
    p = views.pack(f)
    if page == "attention":
        return p.attention
    if page == "performance":
        return p.table
    if page == "places":
        return p.hotspots.table if p.hotspots is not None else pd.DataFrame({"note": ["No hot-spot map."]})
    if page == "evidence":
        if p.evidence is None:
            return pd.DataFrame({"note": [sections.placeholders(views.store)["evidence"]]})
        return pd.concat([t["evidence"].assign(tactic=t["tactic"]) for t in p.evidence.tactics], ignore_index=True) \
            if p.evidence.tactics else pd.DataFrame()
    if page == "confidence":
        if p.confidence is None:
            return pd.DataFrame({"note": [sections.placeholders(views.store)["confidence"]]})
        return p.confidence.table
    raise KeyError(page)
