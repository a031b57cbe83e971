"""The performance pack: one self-contained HTML file for a performance meeting.

For each headline indicator the pack shows its SPC (XmR) chart, the Making Data Count variation icon and a
plain-English verdict on the latest month, and the period against the same period last year with the exact
test — so a meeting reads signal, not noise. Then: a funnel against comparable areas, a harm-weighted view (only
from your own weights), hot spots, and the sections later capabilities fill (public confidence, evidence for each
tactic), each shown only when its data exist.

Every number comes from an analysis: :func:`whatworks.performance.indicators` (counts, rates, solved rates, fed
from the store's ``crimes`` view), :func:`~whatworks.performance.spc`, :func:`~whatworks.performance.compare`,
:func:`~whatworks.performance.funnel`, :func:`~whatworks.performance.peers`, :func:`~whatworks.performance.harm`,
:func:`whatworks.place.grid` and :func:`~whatworks.place.gistar`. The pack only selects, calls and draws.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks.store.exports import write_text
from whatworks._announce import Setting, announce
from whatworks.errors import WhatworksError, error
from whatworks.performance import compare, funnel, harm, indicators, peers, spc
from whatworks.performance.indicators import ASB
from whatworks.performance.spc import VERDICTS  # the one wording of SPC verdicts
from whatworks.privacy.disclosure import choose_publishing
from whatworks.report import _public, _render
from whatworks.report import data as _data
from whatworks.report import charts as _charts

__all__ = ["pack", "PackResult", "Indicator", "HEADLINE", "VERDICTS", "shift_month"]
WHERE = "pack"
DEFAULT_HISTORY = 36           # months of history behind each SPC chart (three years: seasonality shows)
MIN_HOTSPOT_POINTS = 50        # fewer located crimes than this: no hot-spot map (Gi* on a handful of points misleads)
MAX_PEERS = 7                  # most similar areas shown (HMICFRS most similar groups use 7 or 8)
# An SPC chart needs this many consecutive months loaded: limits on fewer points are unreliable (NHSRplotthedots
# warns below 12 baseline points; REFERENCE.md: "baselines under 12-13 points get a warning"), the same threshold as
# whatworks.performance.spc.MIN_BASELINE_POINTS.
MIN_SPC_MONTHS = 12
SEASONALITY = "auto"           # the pack tests every chart for month-of-year effects (issue 13)
QUARTER = 3                    # months in "the latest quarter" judged against the time of year
QUARTER_SIGMA = 3              # the latest quarter is unusual for the time of year beyond ±3 standard errors


@dataclass(frozen=True)
class Indicator:
    """A headline indicator of the pack.

    Parameters
    ----------
    label : str
        Its name in the pack.
    crime_types : tuple of str, optional
        police.uk crime types counted. ``None``: every crime except anti-social behaviour.
    measure : {"count", "solved_rate"}, default "count"
        Monthly count of records, or the share of crimes solved (outcome categories as in
        :mod:`whatworks.performance.indicators`).
    improvement : {"decrease", "increase", "neutral"}, default "decrease"
        Which direction is better, for the SPC verdict.
    """

    label: str
    crime_types: tuple | None = None
    measure: str = "count"
    improvement: str = "decrease"

    def select(self, rows: pd.DataFrame) -> pd.DataFrame:
        if self.crime_types is None:
            return rows[(rows["kind"] == "crime").to_numpy() & (rows["crime_type"] != ASB).to_numpy()]
        return rows[rows["crime_type"].isin(list(self.crime_types)).to_numpy()]


HEADLINE: tuple[Indicator, ...] = (
    Indicator("All crime (excluding ASB)"),
    Indicator("Burglary", ("Burglary",)),
    Indicator("Violence and sexual offences", ("Violence and sexual offences",)),
    Indicator("Robbery", ("Robbery",)),
    Indicator("Vehicle crime", ("Vehicle crime",)),
    Indicator("Anti-social behaviour", ("Anti-social behaviour",)),
    Indicator("Solved rate (all crime)", None, "solved_rate", "increase"),
)


@dataclass(frozen=True)
class PackResult:
    """What :func:`pack` wrote, with every analysis result behind it.

    Attributes
    ----------
    path : Path or None
        The HTML file (None when ``out=None``).
    html : str
        The whole document.
    table : DataFrame
        One row per headline indicator: the latest month's value, mean and limits, point type, variation and
        verdict; this period's and last year's figures with the exact test.
    spc, monthly, compare, funnels, peers, harm, hotspots
        The analysis results shown (``spc`` maps indicator → :class:`SPCResult`).
    settings : dict of Setting
        Source, period, area and every default chosen from the data.
    notes : list of str
        Sections not shown, and why.
    """

    path: Path | None
    html: str
    table: pd.DataFrame
    spc: Mapping[str, Any]
    monthly: Any
    compare: Any
    funnels: Mapping[str, Any]
    peers: Any
    harm: Any
    hotspots: Any
    settings: Mapping[str, Setting] = field(default_factory=dict)
    notes: tuple = ()
    attention: Any = None
    confidence: Any = None      # report.sections.ConfidenceSection, or None (placeholder shown)
    evidence: Any = None        # report.sections.EvidenceSection, or None (placeholder shown)

    def summary(self) -> str:
        t = self.table
        lines = [f"Performance pack for {self.settings['area'].value}, {self.settings['period'].value}"
                 + (f": {self.path}" if self.path else "")]
        for r in t.itertuples():
            lines.append(f"  {r.indicator}: {r.verdict}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<PackResult {len(self.table)} indicators{', ' + str(self.path) if self.path else ''}>"


def shift_month(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (before it when ``k`` is negative), both written YYYY-MM: how the pack
    finds the same period last year (``k=-12``) and the start of its SPC history.

    >>> shift_month("2025-03", -12), shift_month("2024-11", 3)
    ('2024-03', '2025-02')
    """
    return (pd.Timestamp(month + "-01") + pd.DateOffset(months=k)).strftime("%Y-%m")




def _window(rows: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    m = rows["month"]
    return rows[(m >= pd.Timestamp(a + "-01")).to_numpy() & (m <= pd.Timestamp(b + "-01")).to_numpy()]


def window_indicators(rows: pd.DataFrame, first: str, last: str, by: list[str], *, population=None,
                      harm_weights=None, months=None) -> pd.DataFrame:
    """:func:`indicators` over one whole window (``first``..``last``) as a single period: every record is dated at
    the window's first month, so the one row per group holds the window's count, solved rate and rate per 1,000.
    ``months``: only the records of these months (the window's covered months; like with like)."""
    w = _window(rows, first, last)
    if months is not None:
        w = w[w["month"].isin(list(months)).to_numpy()]
    w = w.copy()
    if w.empty:
        return pd.DataFrame(columns=[*by, "count"])
    w["window_start"] = pd.Timestamp(first + "-01")
    # one period, covered months chosen by the caller: the zero-filling announcement does not apply
    return indicators(w, by=by, period="month", date="window_start", population=population,
                      harm_weights=harm_weights, harm_on_missing="exclude", quiet=True).table


def _complete(tbl: pd.DataFrame, key: str, keys: Sequence[str]) -> pd.DataFrame:
    """One row per key: a group with no records in the window has none in ``indicators``' table, and is a zero."""
    t = tbl.copy()
    t[key] = t[key].astype(str)
    t = t.set_index(key).reindex(list(keys))
    absent = t["count"].isna()
    for c in ("count", "solved", "crimes_for_solved_rate", "charged"):
        if c in t:
            t.loc[absent, c] = 0
    if "rate_per_1000" in t:
        t.loc[absent, "rate_per_1000"] = 0.0   # no records: a rate of exactly zero
    return t.reset_index()


def pack(store, area: str | None = None, period=None, out: str | Path | None = "pack.html", *,
         source: str | None = None, headline: Sequence[Indicator] = HEADLINE, harm_weights: pd.DataFrame | None = None,
         targets: Mapping[str, float] | None = None, history: int = DEFAULT_HISTORY, title: str | None = None,
         hotspots: bool = True, confidence=None, unit_costs: pd.DataFrame | None = None, seed: int = 0,
         overwrite: bool = False, public: bool = False, disclosure_threshold: int | None = None,
         marking: str | None = None, quiet: bool = False) -> PackResult:
    """Write the performance pack: one self-contained HTML file (inline SVG, no external URL, A4 print styles).

    Parameters
    ----------
    store : whatworks.Store
    area : str, optional
        An area code in the store's ``areas`` table (force, borough/local authority, ward, small area …), an area
        name, a local authority named in police.uk LSOA names ("Leeds"), or a force name. ``None``: the whole store.
    period : (str, str) or str, optional
        First and last month, ``("2024-04", "2025-03")`` or ``"2024-04..2025-03"``. ``None``: the latest 12 months
        with data (announced).
    out : path, default "pack.html"
        Where to write; ``None`` to only return the HTML.
    source : str, optional
        Which source's crimes to count (``events.source_system``). ``None``: the only one, else police.uk (announced):
        two sources holding the same crimes must not be added together.
    headline : sequence of Indicator, default :data:`HEADLINE`
    harm_weights : DataFrame, optional
        Your own weights, columns ``crime_type`` and ``weight``. Without it the harm section says how to supply one;
        whatworks never invents weights. Crime types without a weight are left out of the harm totals and counted.
    targets : dict, optional
        ``{indicator label: target}`` for the SPC assurance icon (needs a direction of improvement).
    history : int, default 36
        Months of history behind each SPC chart, ending at the period's last month.
    title : str, optional
    hotspots : bool, default True
        Map Getis–Ord Gi* hot spots of the period's crimes (needs coordinates).
    confidence : Confidence, str or False, optional
        Where public confidence is in a survey held in the store (:class:`whatworks.report.Confidence`: survey
        name, 0/1 outcome, area column, weights, strata, interview date, driver items), or just the survey's name.
        ``None``: the only survey in the store (or the one named ``"pas"``) with the synthetic PAS layout
        (announced). ``False``: leave the section out. No survey in the store: the section says what to load.
    unit_costs : DataFrame, optional
        Cost of one crime (``crime_type``, ``unit_cost``, ``price_year``) for the cost-benefit of a tactic whose
        intervention records a cost and a crime type; ``None``: :func:`whatworks.evidence.cost_of_crime` (confirmed
        Home Office figures only).
    seed : int, default 0
        Passed to analyses that draw random numbers.
    overwrite : bool, default False
        Replace an existing ``out`` that whatworks did not write (a store, its journal or the store being read are
        never overwritten: :func:`whatworks.store.exports.check_output`).
    public : bool, default False
        Write the public version (docs/report.md, "Publishing"): every table of counts goes through
        :func:`whatworks.privacy.disclosure.suppress` (cells under ``disclosure_threshold`` hidden as "[c]", with
        secondary suppression so no total gives one away); rates, shares, ratios and intervals computed from a
        hidden count are hidden too; a chart whose points include a count under the threshold is not drawn (the
        pack says so); person-level lists are left out. ``False``: the working pack, marked ``marking``.
    disclosure_threshold : int, optional
        Counts from 1 to one under it are suppressed in the public version. ``None``: 5 (announced).
    marking : str, optional
        The security marking of the working (non-public) pack. ``None``: "OFFICIAL-SENSITIVE — not for publication".
    quiet : bool, default False
        Silence announcements of defaults chosen from the data.

    Returns
    -------
    PackResult

    Notes
    -----
    Same period last year: the exact conditional test of two Poisson counts (:func:`~whatworks.performance.compare`);
    for the solved rate, solved crimes with the crimes recorded as exposure. The SPC limits use every month of the
    history (announced by :func:`~whatworks.performance.spc`); the verdict is on the latest month.

    Examples
    --------
    >>> import whatworks as ww
    >>> r = ww.report.pack(store, area="E08000035", period="2024-04..2025-03", out="pack.html")   # doctest: +SKIP
    >>> print(r.summary())                                                                        # doctest: +SKIP
    """
    labels = _check_pack_options(history, headline, targets)
    settings: dict[str, Setting] = {}
    notes: list[str] = []
    frame = _choose_frame(store, area, period, source, history, public, disclosure_threshold, marking,
                          settings=settings, quiet=quiet)
    rows, area_rows = _fetch_rows(store, frame)
    cover = _coverage(store, frame, area_rows, settings=settings, quiet=quiet)
    hist = _spc_history(area_rows, headline, labels, frame, cover, settings=settings, notes=notes, quiet=quiet)
    spc_results, spc_warnings = _spc_results(headline, hist, targets, settings=settings, notes=notes, quiet=quiet)
    yoy = _year_on_year(hist.long, headline, labels, frame, cover, notes=notes, quiet=quiet)
    table = _headline_table(headline, spc_results, hist, yoy)
    comps = _comparators(store, rows, headline, frame, settings=settings, quiet=quiet)
    notes += comps.funnel_notes
    harm_result, harm_last = _harm_views(area_rows, harm_weights, frame, cover, yoy.cmp_partial, quiet=quiet)
    hot, hot_note = _hot_spots(store, hotspots, headline, area_rows, frame, cover.forces, seed,
                               settings=settings, quiet=quiet)
    future, conf_section, ev_section = _later_sections(store, confidence, unit_costs, frame, comps.unit_table,
                                                       area_rows, cover.this_months, hot, seed,
                                                       settings=settings, quiet=quiet)
    attention = needs_attention(table, headline, comps.funnels, frame.scope.code, harm_result)
    shown = _public_view(frame.pub, table, headline, hist, spc_results, comps, harm_result, harm_last, attention,
                         cover, yoy, frame.scope.unit_level)
    drawn = _draw(headline, spc_results, shown, comps, frame, cover.this_label, hot, harm_result, conf_section)
    call = {"area": area, "period": period, "source": frame.src, "seed": seed, "history": history,
            "hotspots": hotspots, "harm_weights": None if harm_weights is None else harm_weights.to_dict("records"),
            "targets": dict(targets or {}), "headline": labels}
    html = _render_pack(store, call, title=title, headline=headline, frame=frame, cover=cover, yoy=yoy, table=table,
                        spc_results=spc_results, spc_warnings=spc_warnings, comps=comps, harm_result=harm_result,
                        harm_last=harm_last, hot=hot, hot_note=hot_note, future=future, settings=settings,
                        notes=notes, conf_section=conf_section, ev_section=ev_section, shown=shown, drawn=drawn)
    path = None
    if out is not None:
        path = write_text(out, html, overwrite=overwrite, inputs=[getattr(store, "path", None)], where=WHERE)
        announce(f"pack written to {path}.", quiet=quiet)
    return PackResult(path=path, html=html, table=table, spc=spc_results, monthly=hist.monthly,
                      compare=yoy.cmp_table, funnels=comps.funnels, peers=comps.peer_result, harm=harm_result,
                      hotspots=hot[1] if hot else None, settings=settings, notes=tuple(notes),
                      attention=shown.attention,
                      confidence=conf_section if not isinstance(conf_section, str) else None,
                      evidence=ev_section if not isinstance(ev_section, str) else None)


# ---- the pack's steps, in the order pack() runs them ---------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Where and when the pack looks: publishing choices, source, period ``p0``..``p1`` (``n_months`` long), the
    scope, the same period last year ``l0``..``l1`` and the first month of the SPC history ``h0``."""

    pub: Any
    src: str
    p0: str
    p1: str
    scope: Any
    n_months: int
    l0: str
    l1: str
    h0: pd.Timestamp


@dataclass(frozen=True)
class _Cover:
    """What the store covers for the forces in scope: a month not loaded is missing, never zero. ``matched``: the
    period's covered months whose month a year earlier is covered too; ``last_months``: those earlier months."""

    cov: pd.DataFrame
    forces: list
    covered: list
    cov_set: set
    window: list
    this_months: list
    matched: list
    last_months: list
    has_last_year: bool
    this_label: str
    cmp_label: str | None


@dataclass(frozen=True)
class _History:
    """The monthly indicators behind the SPC charts and the run of consecutive covered months they rest on
    (``no_chart``: the note when that run is too short for any chart)."""

    long: pd.DataFrame
    monthly: Any
    mt: pd.DataFrame
    run: tuple | None
    run_len: int
    no_chart: str | None


@dataclass(frozen=True)
class _YearOnYear:
    """This period's figures (``this``), the matched months' (``this_cmp``) and last year's (``last``), and the
    exact tests between them (``cmp_table``)."""

    rate_note: str | None
    this: pd.DataFrame
    this_cmp: pd.DataFrame | None
    last: pd.DataFrame | None
    cmp_partial: bool
    cmp_table: pd.DataFrame | None


@dataclass(frozen=True)
class _Comparators:
    """Comparable areas: the funnels, the most similar areas and the units' table (``funnel_notes``: why a funnel
    is missing)."""

    funnels: dict
    peer_result: Any
    peer_codes: list
    unit_table: pd.DataFrame
    funnel_notes: list


@dataclass(frozen=True)
class _Shown:
    """What the page may show after disclosure control (all of it in the working pack)."""

    rows_shown: list
    public_notes: list
    harm_shown: list
    harm_total: Any
    n_harm_hidden: int
    chart_hidden: set
    funnel_hidden: set
    attention: pd.DataFrame


@dataclass(frozen=True)
class _Drawn:
    """The page's inline charts, and the confidence rows the public version may show."""

    charts: dict
    funnel_svgs: dict
    hot_svg: str | None
    harm_svg: str | None
    conf_shown: dict | None


def _check_pack_options(history, headline, targets) -> list[str]:
    """Check the options that need no data (history, the headline's labels, the targets); the headline's labels."""
    from whatworks._validate import check_number

    check_number(WHERE, "history", history, low=12, integer=True)
    if not headline:
        raise error(WHERE, "The 'headline' parameter needs at least one Indicator.")
    labels = [i.label for i in headline]
    if len(set(labels)) != len(labels):
        raise error(WHERE, "Two headline indicators share a label.", got=labels)
    for t in (targets or {}):
        if t not in labels:
            raise error(WHERE, f"Target given for {t!r}, which is not a headline indicator.", expected=f"one of {labels}")
    return labels


def _choose_frame(store, area, period, source, history, public, disclosure_threshold, marking, *, settings,
                  quiet) -> _Frame:
    """Resolve publishing, source, period, area and the SPC history's first month (the data's first month when they
    start later than ``history`` months before the period's end); each recorded in ``settings`` and announced."""
    pub = choose_publishing(public, disclosure_threshold, marking, where=WHERE, settings=settings, quiet=quiet)
    src = _data.choose_source(store, source, where=WHERE, quiet=quiet, settings=settings)
    p0, p1 = _data.choose_period(store, src, period, where=WHERE, quiet=quiet, settings=settings)
    scope = _data.resolve_scope(store, area, src, where=WHERE)
    settings["area"] = Setting(scope.name if scope.code is None else f"{scope.name} ({scope.code})",
                               "user" if area is not None else "default", scope.match)
    n_months = (pd.Timestamp(p1 + "-01").to_period("M") - pd.Timestamp(p0 + "-01").to_period("M")).n + 1
    l0, l1 = shift_month(p0, -12), shift_month(p1, -12)
    data_first = _data.crime_month_span(store, src)[0]   # the source's first month (choose_period found it has some)
    h0 = max(data_first, pd.Timestamp(shift_month(p1, -(int(history) - 1)) + "-01"))
    settings["history"] = Setting(f"{h0:%Y-%m}..{p1}", "data" if h0 > pd.Timestamp(shift_month(p1, -(int(history) - 1)) + "-01")
                                  else "default", f"up to {int(history)} months ending with the period")
    if settings["history"].source == "data":
        announce(f"history set to {settings['history'].value} (the data start later than {int(history)} months "
                 "before the period's end).", quiet=quiet)
    return _Frame(pub=pub, src=src, p0=p0, p1=p1, scope=scope, n_months=n_months, l0=l0, l1=l1, h0=h0)


def _fetch_rows(store, frame: _Frame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The source's records from the history's start (or last year's period, if earlier) to the period's end, and
    the area's among them; an area without records is an error."""
    fetch_from = min(frame.h0, pd.Timestamp(frame.l0 + "-01"))
    rows = _data.fetch_rows(store, frame.src, fetch_from, pd.Timestamp(frame.p1 + "-01"))
    area_rows = frame.scope.select(rows)
    if area_rows.empty:
        raise error(WHERE, f"No records for {frame.scope.name} from source {frame.src!r} between {fetch_from:%Y-%m} "
                    f"and {frame.p1}.", hint="Check the area code and the period.")
    return rows, area_rows


def _coverage(store, frame: _Frame, area_rows: pd.DataFrame, *, settings, quiet) -> _Cover:
    """The months the store covers for the forces in scope, the period's covered months and those matched a year
    earlier, and the labels of the period and of the comparison; a period not wholly loaded is announced."""
    scope, p0, p1 = frame.scope, frame.p0, frame.p1
    cov = _data.coverage(store, frame.src)
    if scope.force is not None:
        forces = [scope.force]
    elif scope.match == "all":
        forces = sorted(cov["force"].dropna().unique())
    else:
        forces = sorted(area_rows["force"].dropna().unique())
    cov = cov[cov["force"].isin(forces)]
    covered = _data.covered_months(cov, forces)
    cov_set = set(covered)
    window = _data.month_range(p0, p1)
    this_months = [m for m in window if m in cov_set]
    matched = [m for m in this_months if m - pd.DateOffset(months=12) in cov_set]
    last_months = [m - pd.DateOffset(months=12) for m in matched]
    settings["coverage"] = Setting(f"{len(this_months)} of {len(window)} months of {p0}..{p1} loaded",
                                   "data", "months with a police.uk street file (or RMS crimes) for "
                                   + (", ".join(forces) or "no force"), "months")
    if len(this_months) < len(window):
        announce(f"coverage: {settings['coverage'].value} ({_data.months_text(this_months) or 'none'}); "
                 "months not loaded are missing, not zero.", quiet=quiet)
    return _Cover(cov=cov, forces=forces, covered=covered, cov_set=cov_set, window=window, this_months=this_months,
                  matched=matched, last_months=last_months, has_last_year=bool(matched),
                  this_label=_data.period_label(covered, p0, p1),
                  cmp_label=_data.comparison_label(matched) if matched else None)


def _spc_history(area_rows, headline, labels, frame: _Frame, cover: _Cover, *, settings, notes, quiet) -> _History:
    """Monthly indicators over the history (a month not covered is NA, a covered one with no records 0) and the
    latest run of consecutive covered months; a run under :data:`MIN_SPC_MONTHS` means no chart (noted)."""
    h0, p1, cov_set = frame.h0, frame.p1, cover.cov_set
    long = pd.concat([ind.select(area_rows).assign(indicator=ind.label) for ind in headline], ignore_index=True)
    hist = _window(long, f"{h0:%Y-%m}", p1)
    history_months = _data.month_range(f"{h0:%Y-%m}", p1)
    hist_cov = cover.cov[(cover.cov["month"] >= history_months[0]) & (cover.cov["month"] <= history_months[-1])]
    monthly = indicators(hist.assign(indicator=pd.Categorical(hist["indicator"], categories=labels)),
                         by="indicator", period="month", coverage=hist_cov[["force", "month"]], quiet=True)
    settings["spc_min_months"] = Setting(MIN_SPC_MONTHS, "default", "an SPC chart needs at least this many "
                                         "consecutive months loaded (limits on fewer are unreliable)", "months")
    announce(f"SPC charts need at least {MIN_SPC_MONTHS} consecutive months loaded.", quiet=quiet)
    runs = _data._runs([m for m in history_months if m in cov_set])
    run = runs[-1] if runs else None
    run_len = (run[1].to_period("M") - run[0].to_period("M")).n + 1 if run else 0
    no_chart = None
    if run_len < MIN_SPC_MONTHS:
        loaded = _data.months_text([m for m in history_months if m in cov_set]) or "none"
        no_chart = (f"No SPC chart: a chart needs at least {MIN_SPC_MONTHS} consecutive months loaded, and the store "
                    f"holds {run_len} consecutive month(s)" + (f" ending {run[1]:%Y-%m}" if run else "")
                    + f" for {frame.scope.name} (months loaded in {h0:%Y-%m}..{p1}: {loaded}). Load the missing "
                    "months (each month's street file from data.police.uk, or your records export) to see whether "
                    "the latest month is unusual.")
        notes.append(no_chart)
    elif run[0] > history_months[0]:
        notes.append(f"SPC charts start at {run[0]:%Y-%m}: months before it are not all loaded, so the limits rest on "
                     f"the {run_len} consecutive months {run[0]:%Y-%m} to {run[1]:%Y-%m}.")
    return _History(long=long, monthly=monthly, mt=monthly.table, run=run, run_len=run_len, no_chart=no_chart)


def _spc_results(headline, hist: _History, targets, *, settings, notes, quiet) -> tuple[dict[str, Any], list[str]]:
    """An SPC chart per headline indicator on the run of covered months (none when the run is too short), with the
    seasonality decision of each recorded and announced; the warnings the charts raised, labelled."""
    spc_results: dict[str, Any] = {}
    spc_warnings: list[str] = []
    mt, run = hist.mt, hist.run
    for ind in headline if hist.no_chart is None else ():
        s = mt[(mt["indicator"] == ind.label) & (mt["period_start"] >= run[0]) & (mt["period_start"] <= run[1])].copy()
        value = "count" if ind.measure == "count" else "solved_rate"
        if ind.measure == "solved_rate":
            dropped = s["solved_rate"].isna()
            if dropped.any():
                notes.append(f"{ind.label}: {int(dropped.sum())} month(s) with no crimes have no solved rate and are "
                             "left off the chart.")
            s = s[~dropped]
        if len(s) < 2:
            notes.append(f"{ind.label}: fewer than 2 months of data, so no SPC chart.")
            continue
        s[value] = s[value].astype(float)
        if targets and ind.label in targets:
            s["target"] = float(targets[ind.label])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = spc(s, value, "period_start", improvement=ind.improvement,
                    target="target" if "target" in s else None, seasonality=SEASONALITY, quiet=True)
        spc_warnings += [f"{ind.label}: {w.message}" for w in caught]
        spc_results[ind.label] = r
        v0 = r.variation.iloc[0]
        pv = v0["seasonal_p_value"]
        decision = ("seasonal: charted on deseasonalised values, with a seasonal band" if v0["seasonal"] else
                    "not seasonal: plain XmR") + (f" (p = {pv:.3g})" if pd.notna(pv) else " (not tested: fewer than "
                                                                                        "24 consecutive months)")
        settings[f"SPC {ind.label}"] = Setting(decision, "data", "XmR chart; " + r.settings["seasonal_test"].reason)
        announce(f"SPC {ind.label}: {decision}.", quiet=quiet)
    settings["spc_baseline"] = Setting("all months shown", "default",
                                       "limits from every month of the history (Making Data Count default)")
    return spc_results, spc_warnings


def _rate_population(scope, cover: _Cover) -> tuple[pd.DataFrame | None, str | None]:
    """The population behind rates per 1,000 residents, or why there are none (no population, or a period only
    partly loaded)."""
    if scope.population is None:
        return None, (f"Rates per 1,000 residents left out: the store has no population for {scope.name} (load an "
                      "area lookup with populations: `whatworks ingest areas FILE`).")
    if len(cover.this_months) < len(cover.window):
        return None, (f"Rates per 1,000 residents left out: only {len(cover.this_months)} of the {len(cover.window)} "
                      "months of the period are loaded, and a rate from part of a period would read as the whole "
                      "period's.")
    return pd.DataFrame({"area": [scope.code or "all"], "population": [scope.population]}), None


def _year_on_year(long, headline, labels, frame: _Frame, cover: _Cover, *, notes, quiet) -> _YearOnYear:
    """This period's figures per indicator, and against the same months last year (like with like) with the
    exact test; a missing comparison is noted with the months last year that are loaded."""
    p0, p1, l0, l1 = frame.p0, frame.p1, frame.l0, frame.l1
    pop, rate_note = _rate_population(frame.scope, cover)
    if rate_note:
        notes.append(rate_note)
    has_last_year = cover.has_last_year
    scoped = long.assign(area=frame.scope.code or "all", indicator=pd.Categorical(long["indicator"], categories=labels))
    this = _complete(window_indicators(scoped, p0, p1, ["area", "indicator"], population=pop,
                                       months=cover.this_months), "indicator", labels)
    this_cmp = _complete(window_indicators(scoped, p0, p1, ["area", "indicator"], months=cover.matched), "indicator",
                         labels) if has_last_year else None
    last = _complete(window_indicators(scoped, l0, l1, ["area", "indicator"], months=cover.last_months), "indicator",
                     labels) if has_last_year else None
    if not has_last_year:
        loaded = _data.months_text([m for m in _data.month_range(l0, l1) if m in cover.cov_set]) or 'none'
        notes.append(f"No year-on-year comparison: no month of {p0}..{p1} has the same month a year earlier loaded "
                     f"({l0}..{l1}: {loaded}).")
    cmp_partial = has_last_year and len(cover.matched) < len(cover.this_months)
    cmp_table = _compare_periods(headline, this_cmp, last, cover, quiet=quiet) if last is not None else None
    return _YearOnYear(rate_note=rate_note, this=this, this_cmp=this_cmp, last=last, cmp_partial=cmp_partial,
                       cmp_table=cmp_table)


def _compare_periods(headline, this_cmp, last, cover: _Cover, *, quiet) -> pd.DataFrame | None:
    """The exact tests of this period's matched months against last year's: counts as Poisson counts, solved rates
    as solved crimes with the crimes recorded as exposure (only when both periods have crimes)."""
    cmp_counts = cmp_solved = None
    cov_a = [f"{m:%Y-%m}" for m in cover.matched]
    cov_b = [f"{m:%Y-%m}" for m in cover.last_months]
    cnt = [i for i in headline if i.measure == "count"]
    if cnt:
        a = this_cmp.set_index("indicator").loc[[i.label for i in cnt]]
        b = last.set_index("indicator").loc[[i.label for i in cnt]]
        cmp_counts = compare(a["count"].to_numpy(), b["count"].to_numpy(), labels=[i.label for i in cnt],
                             covered_a=cov_a, covered_b=cov_b, quiet=quiet)
    sol = [i for i in headline if i.measure == "solved_rate"]
    if sol:
        a = this_cmp.set_index("indicator").loc[[i.label for i in sol]]
        b = last.set_index("indicator").loc[[i.label for i in sol]]
        ok = (a["crimes_for_solved_rate"].to_numpy() > 0) & (b["crimes_for_solved_rate"].to_numpy() > 0)
        if ok.all():
            cmp_solved = compare(a["solved"].to_numpy(), b["solved"].to_numpy(),
                                 exposure_a=a["crimes_for_solved_rate"].to_numpy(),
                                 exposure_b=b["crimes_for_solved_rate"].to_numpy(), labels=[i.label for i in sol],
                                 covered_a=cov_a, covered_b=cov_b, quiet=quiet)
    return pd.concat([c.table for c in (cmp_counts, cmp_solved) if c is not None], ignore_index=True) \
        if (cmp_counts is not None or cmp_solved is not None) else None


def _headline_table(headline, spc_results, hist: _History, yoy: _YearOnYear) -> pd.DataFrame:
    """One row per headline indicator: its SPC facts (or why there is no chart), then its period figures."""
    rows_out = []
    for ind in headline:
        row: dict[str, Any] = {"indicator": ind.label, "measure": ind.measure, "improvement": ind.improvement}
        row.update(_spc_facts(spc_results.get(ind.label), hist))
        row.setdefault("no_chart", None)
        row["rate_per_1000"] = np.nan
        row.update(_period_facts(ind, yoy))
        rows_out.append(row)
    return pd.DataFrame(rows_out)


def _spc_facts(r, hist: _History) -> dict[str, Any]:
    """The latest month's SPC facts of one indicator's chart ``r``, or the verdict saying why there is none."""
    if r is not None:
        v = r.variation.iloc[0]
        row = _time_of_year(r)
        row.update(latest_month=pd.Timestamp(v["latest_date"]).strftime("%Y-%m"), latest_value=float(v["latest_value"]),
                   mean=float(v["mean"]), lpl=float(v["lpl"]), upl=float(v["upl"]),
                   point_type=str(v["latest_point_type"]), variation=str(v["variation"]),
                   direction=str(r.table["direction"].iloc[-1]),
                   verdict=VERDICTS[str(v["variation"])], n_special=int(v["n_special"]),
                   assurance=r.assurance.iloc[0]["assurance"], target=r.assurance.iloc[0]["target"])
        return row
    if hist.no_chart is not None:
        return dict(variation=None, verdict=f"no SPC verdict: {hist.run_len} consecutive month(s) loaded "
                                            f"({MIN_SPC_MONTHS} needed)", no_chart=hist.no_chart)
    return dict(variation=None, verdict="no chart: too few months")


def _period_facts(ind, yoy: _YearOnYear) -> dict[str, Any]:
    """One indicator's figures for this period, the matched months and last year, and its exact test."""
    row: dict[str, Any] = {}
    this, last, this_cmp, cmp_table = yoy.this, yoy.last, yoy.this_cmp, yoy.cmp_table
    t_row = this[this["indicator"] == ind.label]
    if len(t_row):
        tr = t_row.iloc[0]
        if ind.measure == "count":
            row["this_period"] = float(tr["count"])
            if "rate_per_1000" in tr and pd.notna(tr["rate_per_1000"]):
                row["rate_per_1000"] = float(tr["rate_per_1000"])
        else:
            row["this_period"] = float(tr["solved_rate"]) if pd.notna(tr["solved_rate"]) else np.nan
            row["this_solved"], row["this_crimes"] = int(tr["solved"]), int(tr["crimes_for_solved_rate"])
    if last is not None:
        l_row = last[last["indicator"] == ind.label].iloc[0]
        c_row = this_cmp[this_cmp["indicator"] == ind.label].iloc[0]
        row["cmp_this"] = float(c_row["count"]) if ind.measure == "count" else (
            float(c_row["solved_rate"]) if pd.notna(c_row["solved_rate"]) else np.nan)
        if ind.measure == "count":
            row["last_period"] = float(l_row["count"])
        else:
            row["last_period"] = float(l_row["solved_rate"]) if pd.notna(l_row["solved_rate"]) else np.nan
            row["last_solved"], row["last_crimes"] = int(l_row["solved"]), int(l_row["crimes_for_solved_rate"])
    if cmp_table is not None and ind.label in set(cmp_table["label"]):
        c = cmp_table[cmp_table["label"] == ind.label].iloc[0]
        row.update(rate_ratio=float(c["rate_ratio"]), ci_low=float(c["ci_low"]), ci_high=float(c["ci_high"]),
                   p_value=float(c["p_value"]), significant=bool(c["significant"]), change_verdict=c["verdict"])
    return row


def _comparators(store, rows, headline, frame: _Frame, *, settings, quiet) -> _Comparators:
    """The areas at the scope's unit level: the most similar of them, the crime-rate funnel (needs populations)
    and the solved-rate funnel, each funnel's target recorded and announced; a missing funnel is explained."""
    scope, p0, p1 = frame.scope, frame.p0, frame.p1
    funnels: dict[str, Any] = {}
    peer_result, peer_codes = None, []
    unit_table, unit_map = _data.units(store, scope.unit_level)
    funnel_notes: list[str] = []
    if len(unit_table) >= 2 and len(unit_map):
        urows = _window(rows, p0, p1).merge(unit_map, on="lsoa_code", how="inner")
        crimes_u = headline[0].select(urows) if headline[0].measure == "count" else Indicator("all").select(urows)
        names = dict(zip(unit_table["code"], unit_table["name"].fillna(unit_table["code"])))
        peer_result, peer_codes = _most_similar(scope, unit_table, settings=settings, quiet=quiet)
        with_pop = unit_table[unit_table["population"].notna() & (unit_table["population"] > 0)]
        if len(with_pop) >= 2 and len(crimes_u):
            cu = crimes_u[crimes_u["unit"].isin(with_pop["code"])]
            upop = with_pop[["code", "population"]].rename(columns={"code": "unit"})
            ui = _complete(window_indicators(cu, p0, p1, ["unit"], population=upop), "unit", with_pop["code"].tolist())
            ui["population"] = ui["unit"].map(dict(zip(upop["unit"], upop["population"])))
            ui["label"] = ui["unit"].astype(str).map(names)
            funnels["rate"] = funnel(ui, "count", "population", kind="rate", id="unit", per=1000, quiet=True)
            _adopt(settings, "rate funnel", funnels["rate"].settings, ("target",), quiet)
        else:
            funnel_notes.append(f"No crime-rate funnel: the {scope.unit_level} areas need populations "
                                "(load an area lookup with `whatworks ingest areas FILE`).")
        solved_u = Indicator("all").select(urows)
        if len(solved_u):
            si = window_indicators(solved_u, p0, p1, ["unit"])
            si = si[si["crimes_for_solved_rate"] > 0].copy()
            si["label"] = si["unit"].astype(str).map(names)
            if len(si) >= 2:
                funnels["solved"] = funnel(si, "solved", "crimes_for_solved_rate", kind="proportion", id="unit", quiet=True)
                _adopt(settings, "solved funnel", funnels["solved"].settings, ("target",), quiet)
    else:
        funnel_notes.append("No funnel: the store has no comparable areas. Load an area lookup with "
                            "`whatworks ingest areas FILE` (or police.uk data, whose LSOA names give local authorities).")
    return _Comparators(funnels=funnels, peer_result=peer_result, peer_codes=peer_codes, unit_table=unit_table,
                        funnel_notes=funnel_notes)


def _most_similar(scope, unit_table, *, settings, quiet) -> tuple[Any, list[str]]:
    """The scope's most similar areas (up to :data:`MAX_PEERS`) on the units' usable covariates, recorded and
    announced; none when the scope is not one of the units, or no covariate varies, or there are under 3 units."""
    covs = [c for c in unit_table.columns if c not in ("code", "name", "level", "parent_code", "population",
                                                        "population_source")]
    usable = [c for c in covs if unit_table[c].notna().all() and unit_table[c].nunique() > 1]
    if not (scope.code is not None and scope.code in set(unit_table["code"]) and usable and len(unit_table) >= 3):
        return None, []
    k = min(MAX_PEERS, len(unit_table) - 1)
    peer_result = peers(unit_table, usable, id="code", k=k, quiet=quiet)
    peer_codes = peer_result.of(scope.code)["peer"].tolist()
    settings["peers"] = Setting(k, "data", f"the {k} most similar {scope.unit_level} areas on {', '.join(usable)}")
    announce(f"peers set to {k} ({settings['peers'].reason}).", quiet=quiet)
    return peer_result, peer_codes


def _harm_views(area_rows, harm_weights, frame: _Frame, cover: _Cover, cmp_partial: bool, *, quiet):
    """Harm by crime type this period and (like with like, when every matched month is there) the same months last
    year, from the user's weights; ``(None, None)`` without weights."""
    harm_result = harm_last = None
    if harm_weights is not None:
        hr = _window(area_rows, frame.p0, frame.p1)
        harm_result = harm(hr, harm_weights, by="crime_type", on_missing="exclude", quiet=quiet)
        if cover.has_last_year and not cmp_partial:   # like with like: the same months a year earlier
            lr = _window(area_rows, frame.l0, frame.l1)
            harm_last = harm(lr[lr["month"].isin(cover.last_months).to_numpy()], harm_weights, by="crime_type",
                             on_missing="exclude", quiet=quiet)
    return harm_result, harm_last


def _hot_spots(store, hotspots, headline, area_rows, frame: _Frame, forces, seed, *, settings, quiet):
    """Getis–Ord Gi* hot spots of the period's located crimes, as ``((grid, gistar result), None)``, or ``(None,
    note)`` saying why there is no map; the grid's and Gi*'s data-driven choices are recorded and announced."""
    if not hotspots:
        return None, "Hot-spot map switched off for this pack."
    from whatworks.place import gistar, grid

    hot = None
    hot_note = None
    pts = headline[0].select(_window(area_rows, frame.p0, frame.p1)) if headline[0].measure == "count" else \
        Indicator("all").select(_window(area_rows, frame.p0, frame.p1))
    pts = pts[pts["x"].notna() & pts["y"].notna()]
    if len(pts) < MIN_HOTSPOT_POINTS:
        return None, (f"Not enough located crimes for a hot-spot map ({len(pts)} with coordinates; at least "
                      f"{MIN_HOTSPOT_POINTS} needed).")
    # the ground where crime can be recorded, not the bounding box (issue 11.5): police.uk map points
    area_pts = _study_points(store, frame.scope, forces, area_rows)
    g = grid(pts, "x", "y", crs="EPSG:27700", study_area=area_pts if len(area_pts) else None, quiet=True)
    try:
        hot = (g, gistar(g, seed=seed, quiet=True))
    except WhatworksError as exc:  # data too thin for Gi* (e.g. every cell alike): reported, not hidden
        hot_note = f"Hot spots could not be mapped: {str(exc).splitlines()[0]}"
    if hot is not None:
        # the analyses' own data-driven choices (announced there only when not quiet) go in the pack's table
        _adopt(settings, "hotspots", g.settings, ("cell_size", "excluded_points", "study_area",
                                                  "study_area_cells", "study_area_km2"), quiet)
        _adopt(settings, "hotspots", hot[1].settings, ("distance",), quiet)
    return hot, hot_note


def _later_sections(store, confidence, unit_costs, frame: _Frame, unit_table, area_rows, this_months, hot, seed, *,
                    settings, quiet):
    """The sections drawn from optional data: public confidence (unless ``confidence=False``) and the evidence
    for each tactic; ``future`` holds the placeholder sentence of each one not shown."""
    future = _future_sections(store)
    from whatworks.report import sections as _sections

    conf_section = None
    if confidence is not False:
        spec = _sections.Confidence(survey=confidence) if isinstance(confidence, str) else confidence
        if spec is not None and not isinstance(spec, _sections.Confidence):
            raise error(WHERE, "The 'confidence' parameter must be a Confidence, a survey name or False.",
                        got=type(confidence).__name__, hint="e.g. ww.report.Confidence(survey='pas', outcome='confident').")
        unit_names = dict(zip(unit_table["code"], unit_table["name"].fillna(unit_table["code"]))) if len(unit_table) else {}
        conf_section = _sections.confidence_section(store, spec, period=(frame.p0, frame.p1),
                                                    area_code=frame.scope.code, names=unit_names, quiet=quiet,
                                                    settings=settings, seed=seed)
        if isinstance(conf_section, str):
            future["confidence"] = conf_section
    else:
        future["confidence"] = "Public confidence left out of this pack (confidence=False)."
    if unit_costs is None:
        from whatworks.evidence import cost_of_crime

        unit_costs = cost_of_crime(confirmed_only=True)
    by_type = window_indicators(area_rows, frame.p0, frame.p1, ["crime_type"], months=this_months)
    baseline = dict(zip(by_type["crime_type"], by_type["count"])) if len(by_type) else {}
    ev_section = _sections.evidence_section(store, hot=hot[1] if hot else None, confidence=conf_section,
                                            baseline=baseline, unit_costs=unit_costs, quiet=quiet)
    if isinstance(ev_section, str):
        future["evidence"] = ev_section
    return future, conf_section, ev_section


def _public_view(pub, table, headline, hist: _History, spc_results, comps: _Comparators, harm_result, harm_last,
                 attention, cover: _Cover, yoy: _YearOnYear, unit_level) -> _Shown:
    """Disclosure control on what the page shows (:mod:`report._public`): the headline rows, the harm table, which
    charts and funnels are not drawn, and the attention list without the signals resting on hidden figures."""
    rows_shown = table.to_dict("records")
    public_notes: list[str] = []
    _public.glance(pub, rows_shown, headline, has_last_year=cover.has_last_year, cmp_partial=yoy.cmp_partial)
    harm_shown, harm_total, n_harm_hidden = _public_harm(pub, harm_result, harm_last, rows_shown, headline)
    # a chart is not drawn when one of its months is a small count, or when it would show the months of a figure
    # hidden in the table (the months add up to it)
    chart_hidden = {ind.label for i, ind in enumerate(headline) if spc_results.get(ind.label) is not None
                    and (_public.spc_small(pub, hist.mt, ind.label, ind.measure, hist.run)
                         or any(_public.is_hidden(rows_shown[i].get(k)) for k in
                                ("this_period", "cmp_this", "last_period", "this_solved", "last_solved")))}
    for i, ind in enumerate(headline):
        if ind.label in chart_hidden:
            _public.hide_chart_facts(rows_shown[i])
    if chart_hidden:
        public_notes.append(f"Not drawn in the public version: the chart of {', '.join(sorted(chart_hidden))}, "
                            f"because some of its months hold fewer than {pub.threshold} records or its months "
                            "would add up to a figure suppressed in the tables; the verdict on the latest month "
                            "is still given.")
    funnel_hidden = {k for k, res in comps.funnels.items()
                     if _public.funnel_small(pub, res, denominator_is_count=(k == "solved"))}
    if funnel_hidden:
        public_notes.append(f"Not drawn in the public version: the {' and '.join(sorted(funnel_hidden))} funnel, "
                            f"because some {unit_level} areas have fewer than {pub.threshold} crimes (each "
                            "dot would publish a small count).")
    if pub.public and len(attention):
        attention = _public_attention(attention, rows_shown, funnel_hidden)
    if any(r.get("change_hidden") for r in rows_shown):
        public_notes.append("Year-on-year changes resting on a suppressed count are not shown (the ratio, its interval "
                            "and p-value would reveal it).")
    return _Shown(rows_shown=rows_shown, public_notes=public_notes, harm_shown=harm_shown, harm_total=harm_total,
                  n_harm_hidden=n_harm_hidden, chart_hidden=chart_hidden, funnel_hidden=funnel_hidden,
                  attention=attention)


def _public_harm(pub, harm_result, harm_last, rows_shown, headline):
    """The harm table's rows, total and number of hidden types; a crime type hidden in it (perhaps as a secondary
    cell) is hidden in the headline rows too, or the total minus the types shown would give its small partner away."""
    if harm_result is None:
        return [], None, 0
    harm_shown, harm_total, n_harm_hidden = _public.harm_rows(
        pub, harm_result, harm_last, also=_public.types_hidden(rows_shown, headline, "this_period"),
        also_last=_public.types_hidden(rows_shown, headline, "last_period"))
    gone = _public.hidden_types(harm_shown)
    for i, ind in enumerate(headline):
        if ind.measure == "count" and ind.crime_types is not None and set(ind.crime_types) & gone:
            _public.hide_period(rows_shown[i])
    return harm_shown, harm_total, n_harm_hidden


def _public_attention(attention, rows_shown, funnel_hidden) -> pd.DataFrame:
    """The public attention list: without the changes and time-of-year signals whose figures are hidden, and
    without the outliers of a funnel not drawn."""
    keep = []
    for a in attention.itertuples():
        i = int(a.anchor.split("-")[1]) - 1 if a.anchor.startswith("indicator-") else None
        if i is not None and a.signal.startswith("change") and rows_shown[i].get("change_hidden"):
            keep.append(False)
        elif i is not None and a.signal.startswith("unusual") and rows_shown[i].get("chart_hidden"):
            keep.append(False)
        elif a.anchor.startswith("funnel-") and a.anchor.split("-", 1)[1] in funnel_hidden:
            keep.append(False)
        else:
            keep.append(True)
    return attention[keep].reset_index(drop=True)


def _draw(headline, spc_results, shown: _Shown, comps: _Comparators, frame: _Frame, this_label, hot, harm_result,
          conf_section) -> _Drawn:
    """The page's charts, in page order: SPC per indicator, the funnels, the hot-spot map, harm by crime type, and
    the confidence rows (noting, in the public version, confidence charts too thin to draw)."""
    pub, scope = frame.pub, frame.scope
    charts = {}
    for ind in headline:
        r = spc_results.get(ind.label)
        if r is None or ind.label in shown.chart_hidden:
            continue
        ylabel = "solved share of crimes" if ind.measure == "solved_rate" else "records per month"
        charts[ind.label] = _charts.spc_chart(r, title=f"{ind.label}: monthly, with process limits", ylabel=ylabel,
                                              period=(frame.p0, frame.p1))
    funnel_svgs = _funnel_svgs(headline, comps, shown.funnel_hidden, scope, this_label)
    hot_svg = _charts.result_chart(hot[1], title=f"Crime hot spots (Getis–Ord Gi*), {this_label}",
                                   width_in=4.6, height_in=4.2, raster=True) if hot and not pub.public else None
    harm_svg = None
    if harm_result is not None:
        ht = [h for h in shown.harm_shown if not isinstance(h["harm"], _render.Suppressed) and h["harm"] > 0]
        if ht:
            harm_svg = _charts.bars([h["crime_type"] for h in ht], np.array([h["harm"] for h in ht], dtype=float),
                                    title=f"Harm by crime type, {this_label} (your weights)"
                                          + (", suppressed types left out" if shown.n_harm_hidden else ""),
                                    xlabel="harm (sum of weights)")
    conf_shown = None
    if conf_section is not None and not isinstance(conf_section, str):
        c_rows, c_overall, c_areas, c_trend = _public.confidence_rows(pub, conf_section)
        conf_shown = {"rows": c_rows, "overall": c_overall, "areas_chart": c_areas, "trend_chart": c_trend}
        if not (c_areas and c_trend):
            shown.public_notes.append(f"Confidence charts resting on fewer than {pub.threshold} interviews are not "
                                      "drawn in the public version.")
    return _Drawn(charts=charts, funnel_svgs=funnel_svgs, hot_svg=hot_svg, harm_svg=harm_svg, conf_shown=conf_shown)


def _funnel_svgs(headline, comps: _Comparators, funnel_hidden, scope, this_label) -> dict:
    """The crime-rate and solved-rate funnel charts (those drawn), the scope and its most similar areas marked."""
    funnels, unit_table, peer_codes = comps.funnels, comps.unit_table, comps.peer_codes
    funnel_svgs = {}
    unit_names = dict(zip(unit_table["code"], unit_table["name"].fillna(unit_table["code"]))) if len(unit_table) else {}
    if "rate" in funnels and "rate" not in funnel_hidden:
        funnel_svgs["rate"] = _charts.funnel_chart(
            funnels["rate"], title=f"{headline[0].label if headline[0].measure == 'count' else 'All crime'}: "
                                   f"rate per 1,000 residents, {this_label}",
            ylabel="per 1,000 residents", xlabel="residents", highlight=scope.code, peers=peer_codes, names=unit_names)
    if "solved" in funnels and "solved" not in funnel_hidden:
        funnel_svgs["solved"] = _charts.funnel_chart(funnels["solved"], title=f"Solved rate, {this_label}",
                                                     ylabel="share solved", xlabel="crimes recorded", highlight=scope.code,
                                                     peers=peer_codes, names=unit_names)
    return funnel_svgs


def _render_pack(store, call: dict, *, title, headline, frame: _Frame, cover: _Cover, yoy: _YearOnYear, table,
                 spc_results, spc_warnings, comps: _Comparators, harm_result, harm_last, hot, hot_note, future,
                 settings, notes, conf_section, ev_section, shown: _Shown, drawn: _Drawn) -> str:
    """The page: every step's output in the template's context, with the provenance of the ``call``."""
    scope, pub = frame.scope, frame.pub
    unit_table = comps.unit_table
    ctx = dict(
        title=title or f"Performance pack: {scope.name}", scope=scope, source=frame.src, period=(frame.p0, frame.p1),
        n_months=frame.n_months, last_year=(frame.l0, frame.l1), has_last_year=cover.has_last_year,
        generated=_dt.date.today().isoformat(), this_label=cover.this_label, cmp_label=cover.cmp_label,
        cmp_partial=yoy.cmp_partial, rate_note=yoy.rate_note, n_covered=len(cover.this_months),
        last_label=_data.months_text(cover.last_months), table=table, rows=table.to_dict("records"),
        headline=headline, charts=drawn.charts, spc=spc_results, icons=_charts.variation_icon,
        assurance_icon=_charts.assurance_icon, funnels=comps.funnels, funnel_svgs=drawn.funnel_svgs,
        funnel_notes=comps.funnel_notes, peer_codes=comps.peer_codes,
        peer_names=[(c, dict(zip(unit_table["code"], unit_table["name"])).get(c, c)) for c in comps.peer_codes],
        peer_result=comps.peer_result, unit_level=scope.unit_level, harm=harm_result, harm_last=harm_last,
        harm_svg=drawn.harm_svg, hot=hot[1] if hot and not pub.public else None,
        hot_grid=hot[0] if hot and not pub.public else None,
        hot_svg=drawn.hot_svg, hot_note=("Hot-spot map left out of the public version: its grid cells hold a few crimes "
                                         "each, and a map of them would publish small counts." if hot and pub.public
                                         else hot_note),
        future=future, settings=settings, notes=notes, spc_warnings=spc_warnings, verdicts=VERDICTS,
        cmp=yoy.cmp_table, population=scope.population, population_source=scope.population_source,
        attention=shown.attention, conf=conf_section if not isinstance(conf_section, str) else None,
        evidence=ev_section if not isinstance(ev_section, str) else None,
        **_section_charts(conf_section, ev_section, drawn.conf_shown),
        pub=pub, public_notes=shown.public_notes, person_note=_public.PERSON_LEVEL_NOTE, rows_shown=shown.rows_shown,
        harm_rows=shown.harm_shown, harm_total=shown.harm_total, conf_shown=drawn.conf_shown,
        settings_shown=_public.settings_shown(pub, settings),
    )
    ctx["rows"] = shown.rows_shown
    ctx["provenance"] = _provenance(store, "pack", call, ctx["settings_shown"], pub)
    return _render.render("pack.html.j2", **ctx)



def _provenance(store, what: str, parameters: dict, settings: Mapping[str, Setting], pub) -> dict:
    """The page's provenance (:func:`_data.provenance`) with its resolved settings and whether it is public."""
    import json

    prov = _data.provenance(store, what, {**parameters, "public": pub.public,
                                          "disclosure_threshold": pub.threshold if pub.public else None,
                                          "marking": None if pub.public else pub.marking})
    prov["call"] = f"whatworks.report.{what}(store, " + ", ".join(
        f"{k}={v!r}" for k, v in parameters.items() if k not in ("harm_weights", "headline")) + \
        f", public={pub.public!r})"
    prov["settings"] = json.dumps({k: _render.fmt_setting(s) for k, s in settings.items()}, sort_keys=True,
                                  default=str)
    prov.update(pub.provenance())
    return prov


def _section_charts(conf, ev, shown=None) -> dict:
    """Inline SVGs for the confidence and evidence sections (each drawn by its result's own ``plot``); ``shown``
    (from :func:`report._public.confidence_rows`) says which confidence charts a public version may draw."""
    out = {"conf_svgs": {}, "tasking_svg": None}
    if conf is not None and not isinstance(conf, str):
        lab = f"{conf.spec.outcome} by {conf.spec.by}"
        if shown is not None and not shown["areas_chart"]:
            out["conf_svgs"]["areas"] = None
        else:
            out["conf_svgs"]["areas"] = _charts.result_chart(conf.estimate, title=f"Confidence ({lab}), with 95% CIs",
                                                             height_in=max(1.6, 0.28 * len(conf.table) + 0.8))
        if conf.trend is not None and (shown is None or shown["trend_chart"]):
            out["conf_svgs"]["trend"] = _charts.result_chart(conf.trend, title="Confidence by quarter, with "
                                                             "sampling-error limits (±3 SE)", height_in=2.6)
        if conf.drivers is not None:
            out["conf_svgs"]["drivers"] = _charts.result_chart(conf.drivers, title="Driver map: what moves "
                                                               "confidence", width_in=5.2, height_in=3.4)
    if ev is not None and not isinstance(ev, str) and ev.tasking is not None and ev.tasking.table["tactic"].notna().any():
        out["tasking_svg"] = _charts.result_chart(ev.tasking, title="Tasking: best evidence for each problem's tactics",
                                                  height_in=max(1.6, 0.3 * len(ev.tasking.table) + 0.8))
    return out


def _time_of_year(r) -> dict:
    """For a seasonal chart: is the latest quarter unusual for that time of year? The mean of its deseasonalised
    values against the centre line, with standard error σ̂/√3 (σ̂ = mR̄/1.128, the XmR sigma); unusual beyond ±3 SE.
    ``quarter_ratio`` = observed ÷ expected for those months (1.10: 10% above what the season predicts)."""
    t = r.table
    if "seasonal" not in t or not bool(t["seasonal"].iloc[-1]) or len(t) < QUARTER:
        return {"seasonal": bool(t["seasonal"].iloc[-1]) if "seasonal" in t else False}
    q = t.iloc[-QUARTER:]
    mean = float(q["mean"].iloc[-1])
    sigma = (float(q["upl"].iloc[-1]) - mean) / 3      # upl = mean + 2.66·mR̄ = mean + 3σ̂
    se = sigma / np.sqrt(QUARTER)
    z = (float(q["deseasonalised"].mean()) - mean) / se if se > 0 else 0.0
    return {"seasonal": True, "quarter_months": f"{pd.Timestamp(q['date'].iloc[0]):%Y-%m} to {pd.Timestamp(q['date'].iloc[-1]):%Y-%m}",
            "quarter_ratio": float(q["value"].sum() / q["expected"].sum()), "quarter_z": z,
            "quarter_unusual": bool(abs(z) > QUARTER_SIGMA)}


def _is_true(value) -> bool:
    """True only for a real True: a missing flag in the summary table is NaN, and ``bool(nan)`` is True."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def needs_attention(table: pd.DataFrame, headline, funnels: Mapping[str, Any], area_code, harm_result) -> pd.DataFrame:
    """The signals only, for the pack's first section: special-cause concerns in the latest month, changes beyond
    chance against last year, a latest quarter unusual for its time of year, and funnel outliers (99.8% limits).
    Ordered by harm (your weights, this period) where harm weights are given, then as the headline runs. Each row
    carries the anchor of the chart it points to."""
    rows = []
    harm_by_type = {}
    if harm_result is not None:
        harm_by_type = dict(zip(harm_result.table["crime_type"], harm_result.table["harm"]))
    for i, ind in enumerate(headline):
        r = table.iloc[i]
        anchor = f"indicator-{i + 1}"
        h = np.nan
        if harm_by_type:
            types = ind.crime_types if ind.crime_types is not None else tuple(harm_by_type)
            h = float(sum(harm_by_type.get(t, 0.0) for t in types)) if ind.measure == "count" else np.nan
        pt = r.get("point_type")
        if isinstance(pt, str) and pt in ("special_cause_concern", "special_cause_neutral"):
            rows.append((ind.label, "special cause in the latest month", f"{r['latest_month']}: {r['verdict']}", anchor, h))
        if _is_true(r.get("significant")):
            rr = float(r["rate_ratio"])
            worse = (rr > 1) == (ind.improvement == "decrease") if ind.improvement != "neutral" else True
            if worse or ind.improvement == "neutral":
                rows.append((ind.label, "change beyond chance against last year",
                             f"{rr:.2f} times last year's level (p {r['p_value']:.2g})", anchor, h))
        if _is_true(r.get("quarter_unusual")):
            ratio = float(r["quarter_ratio"])
            worse = (ratio > 1) == (ind.improvement == "decrease") if ind.improvement != "neutral" else True
            if worse:
                rows.append((ind.label, "unusual for the time of year",
                             f"{r['quarter_months']}: {ratio:.2f} times what the season predicts", anchor, h))
    for key, res in funnels.items():
        ft = res.table
        out = ft[ft["flag"].isin(["high_998", "low_998"])]
        if key == "rate":
            out = out[out["flag"] == "high_998"]
        else:
            out = out[out["flag"] == "low_998"]
        for fr in out.itertuples():
            label = getattr(fr, "label", None) or getattr(fr, "unit", "")
            what = "crime rate above the funnel's 99.8% limit" if key == "rate" else "solved rate below the funnel's 99.8% limit"
            rows.append((str(label), f"funnel outlier: {what}", f"{fr.indicator:.3g} against a limit of "
                         f"{(fr.upper_998 if key == 'rate' else fr.lower_998):.3g}", f"funnel-{key}", np.nan))
    out = pd.DataFrame(rows, columns=["indicator", "signal", "detail", "anchor", "harm"])
    if harm_by_type and len(out):
        out = out.sort_values("harm", ascending=False, na_position="last", kind="stable")
    return out.reset_index(drop=True)


def _study_points(store, scope, forces: Sequence[str], area_rows: pd.DataFrame) -> pd.DataFrame:
    """The map points the pack's hot-spot grid is laid on: every police.uk map point the store has seen for the
    force(s) in scope, or, for an area inside a force, the points its own records (all months fetched) sit on.
    An empty table (e.g. RMS data only) means the grid falls back to the bounding box, which it announces."""
    if scope.lsoa_codes is None:
        pts = store.map_points(force=list(forces) or None)
        return pts
    own = area_rows.loc[area_rows["x"].notna() & area_rows["y"].notna(), ["x", "y"]].drop_duplicates()
    own.attrs["whatworks_points"] = "police.uk map point of the area's records"
    return own.reset_index(drop=True)


def _adopt(settings: dict, prefix: str, found: Mapping[str, Setting], names: Sequence[str], quiet: bool) -> None:
    """Copy the named settings an analysis chose from the data into the pack's, as "<prefix> <name>", and announce
    them (the pack runs its analyses quietly, so this is where the user hears of them)."""
    for name in names:
        s = found.get(name)
        if isinstance(s, Setting) and s.source == "data":
            key = f"{prefix} {name.replace('_', ' ')}"
            settings[key] = s
            unit = f" {s.unit}" if s.unit else ""
            announce(f"{key} set to {s.value}{unit} ({s.reason}).", quiet=quiet)


def _future_sections(store) -> dict[str, str | None]:
    """The placeholder sentence of each section drawn from optional data (survey, register): what to load."""
    from whatworks.report.sections import placeholders

    return dict(placeholders(store))
