"""Area landscapes: a one-page profile of an area — its crime, its residents, its workforce — against its peers.

After the seed unit's "London landscapes" of crime, citizens and workforce. The area's most similar areas come
from :func:`whatworks.performance.peers` on the area covariates in the store; its crime mix and trend from
:func:`whatworks.performance.indicators` (rates per 1,000 residents) for it and its peers; the year-on-year change
from :func:`whatworks.performance.compare`. Residents' confidence appears once survey data and the survey
capability exist; workforce when a ``workforce`` table is in the store. The landscape only selects, calls and draws.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from whatworks.store.exports import write_text
from whatworks._announce import Setting, announce
from whatworks.errors import error
from whatworks.performance import compare, indicators, peers
from whatworks.performance.indicators import ASB
from whatworks.privacy.disclosure import choose_publishing
from whatworks.report import _public, _render
from whatworks.report import data as _data
from whatworks.report import charts as _charts
from whatworks.report.pack import MAX_PEERS, Indicator, _complete, _future_sections, _window, shift_month, window_indicators

__all__ = ["landscape", "LandscapeResult"]
WHERE = "landscape"
WORKFORCE_KEYS = ("code", "area_code", "borough_code", "lad_code", "ward_code")


@dataclass(frozen=True)
class LandscapeResult:
    """What :func:`landscape` wrote: ``mix`` (rates per 1,000 by crime type for the area and its peers), ``trend``
    (monthly rates), ``change`` (CompareResult, this period against the same period last year), ``peers``
    (PeersResult or None), ``residents`` (the area's and its peers' population and covariates), ``settings``."""

    path: Path | None
    html: str
    area: str
    mix: pd.DataFrame
    trend: pd.DataFrame
    change: Any
    peers: Any
    residents: pd.DataFrame
    workforce: pd.DataFrame | None
    settings: Mapping[str, Setting] = field(default_factory=dict)
    notes: tuple = ()
    confidence: Any = None     # report.sections.ConfidenceSection (the citizen picture), or None

    def summary(self) -> str:
        return (f"Landscape of {self.area}: {len(self.mix['crime_type'].unique())} crime types, "
                f"{0 if self.peers is None else len(self.residents) - 1} peer areas"
                + (f"; written to {self.path}" if self.path else "") + ".")


def _no_peers_note(store, level: str, n_units: int, any_usable: bool) -> str:
    """Why there are no peers, naming the level that has covariates when it is another one."""
    if n_units < 3:
        return (f"No peers: the store has {n_units} {level} area(s); peers need at least 3 areas at the same level "
                "(load an area lookup: `whatworks ingest areas FILE`).")
    have = {k: v for k, v in _data.covariate_levels(store).items() if k != level}
    if have and not any_usable:
        where = ", ".join(f"{lv} ({n} covariate{'s' if n != 1 else ''})" for lv, n in have.items())
        why = _data.roll_up_problem(store, level)
        return (f"No peers: covariates are loaded for {where}; none for {level}"
                + (f" — they could not be rolled up: {why}" if why else "") + f". Load covariates for the {level} "
                f"areas (or fill the small areas' gaps), or build the landscape for a {next(iter(have))} area.")
    return (f"No peers: the {level} areas have no covariates to compare them on (load an area lookup with covariates "
            "such as deprivation and density: `whatworks ingest areas FILE`).")


def landscape(store, area: str, out: str | Path | None = "landscape.html", *, period=None, source: str | None = None,
              k: int | None = None, confidence=None, overwrite: bool = False, public: bool = False,
              disclosure_threshold: int | None = None, marking: str | None = None,
              quiet: bool = False) -> LandscapeResult:
    """Write a one-page HTML profile of an area: crime mix and trend against its most similar areas, residents,
    confidence and workforce (when the store has them).

    Parameters
    ----------
    store : whatworks.Store
    area : str
        An area code (or name) in the store's ``areas`` table, or a local authority named in LSOA names.
    out : path, default "landscape.html"
        ``None`` to only return the HTML.
    period : (str, str) or str, optional
        Months of the crime mix; ``None``: the latest 12 months with data (announced).
    source : str, optional
        Which source's crimes to count (see :func:`whatworks.report.pack`).
    k : int, optional
        Number of peers; ``None``: up to 7, fewer when there are fewer areas at the level (announced).
    confidence : Confidence, str or False, optional
        The survey behind the citizen picture (see :func:`whatworks.report.pack`); ``None``: the only survey in
        the store with the synthetic PAS layout (announced); ``False``: leave it out.
    overwrite : bool, default False
        Replace an existing ``out`` that whatworks did not write (a store, its journal or the store being read are
        never overwritten: :func:`whatworks.store.exports.check_output`).
    public : bool, default False
        Write the public version (docs/report.md, "Publishing"): the crime mix of the area and its peers goes
        through :func:`whatworks.privacy.disclosure.suppress` (cells under ``disclosure_threshold`` hidden as "[c]",
        with secondary suppression), with the rates and peer ranges computed from a hidden count; the year-on-year
        change is hidden when it rests on a small count; a chart whose points include a small count is not drawn;
        the workforce table (people or small teams) is left out. ``False``: the working landscape, marked
        ``marking``.
    disclosure_threshold : int, optional
        Counts from 1 to one under it are suppressed in the public version. ``None``: 5 (announced).
    marking : str, optional
        The security marking of the working landscape. ``None``: "OFFICIAL-SENSITIVE — not for publication".
    quiet : bool, default False

    Returns
    -------
    LandscapeResult

    Examples
    --------
    >>> ww.report.landscape(store, "S09900002", out="eastmere.html")   # doctest: +SKIP
    """
    _check_area(area)
    settings: dict[str, Setting] = {}
    notes: list[str] = []
    frame = _choose_frame(store, area, period, source, public, disclosure_threshold, marking, settings=settings,
                          quiet=quiet)
    group = _peer_group(store, frame.scope, k, settings=settings, notes=notes, quiet=quiet)
    rows, h0 = _fetch_group_rows(store, frame, group)
    cover = _group_coverage(store, frame, rows, h0, settings=settings)
    pops = _populations(group, frame, cover, notes=notes)
    mix, measure, trend, trend_measure = _mix_and_trend(rows, frame, cover, pops, group.names)
    change, change_label = _change(rows, frame, cover, notes=notes, quiet=quiet)
    residents = group.unit_table[group.unit_table["code"].isin(group.members)].copy()
    residents["is_area"] = residents["code"] == frame.scope.code
    residents = residents.sort_values(["is_area", "code"], ascending=[False, True])
    workforce = _workforce(store, frame.scope, notes=notes)
    future, citizen = _citizen(store, confidence, frame, group.names, settings=settings, quiet=quiet)
    public_notes: list[str] = []
    shown = _mix_shown(mix, measure, frame, group, cover.this_label, pops.have_pop, public_notes=public_notes)
    trend_what = "per 1,000 residents" if pops.have_pop else "records"
    trend_svg = None
    if not _public.small_series(frame.pub, trend["count"]):
        trend_svg = _charts.lines(trend, x="period_start", y=trend_measure, group="unit", highlight=frame.scope.code,
                                  title=f"Crime (excluding ASB) by month, {trend_what} (gaps: months not loaded)",
                                  ylabel=trend_what, labels=group.names, height_in=1.9)
    change_shown = _change_shown(frame.pub, change, public_notes=public_notes)
    citizen_shown = _citizen_shown(frame.pub, citizen)
    pub, scope = frame.pub, frame.scope
    workforce_left_out = bool(pub.public and workforce is not None and len(workforce))
    ctx = dict(title=f"Landscape: {scope.name}", scope=scope, source=frame.src, period=(frame.p0, frame.p1),
               last_year=(cover.l0, cover.l1), this_label=cover.this_label, change_label=change_label,
               generated=_dt.date.today().isoformat(), names=group.names, peer_codes=group.peer_codes,
               peer_result=group.peer_result, features=group.usable, mix=mix, measure=measure, what=shown["what"],
               area_mix=shown["area_mix"], peer_mix=shown["peer_mix"], mix_svg=shown["mix_svg"], trend_svg=trend_svg,
               change=change, residents=residents.to_dict("records"),
               covariates=[c for c in group.covs if residents[c].notna().any()],
               workforce=None if pub.public else workforce, future=future,
               settings=_public.settings_shown(pub, settings), notes=notes, citizen=citizen, pub=pub,
               public_notes=public_notes, workforce_left_out=workforce_left_out, person_note=_public.PERSON_LEVEL_NOTE,
               mix_rows=shown["mix_rows"], change_shown=change_shown, citizen_shown=citizen_shown)
    from whatworks.report.pack import _provenance

    ctx["provenance"] = _provenance(store, "landscape", {"area": area, "period": period, "source": frame.src, "k": k,
                                                         "confidence": None if confidence is None else str(confidence)},
                                    ctx["settings"], pub)
    html = _render.render("landscape.html.j2", **ctx)
    path = None
    if out is not None:
        path = write_text(out, html, overwrite=overwrite, inputs=[getattr(store, "path", None)], where=WHERE)
        announce(f"landscape written to {path}.", quiet=quiet)
    return LandscapeResult(path=path, html=html, area=scope.code, mix=mix, trend=trend, change=change,
                           peers=group.peer_result, residents=residents, workforce=workforce, settings=settings,
                           notes=tuple(notes), confidence=citizen)


# ---- the landscape's steps, in the order landscape() runs them ------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Publishing choices, source, period ``p0``..``p1`` and the area (an area with comparable areas)."""

    pub: Any
    src: str
    p0: str
    p1: str
    scope: Any


@dataclass(frozen=True)
class _Group:
    """The areas at the scope's level (``unit_table``, ``unit_map`` from small areas), their names and covariates,
    and the scope's most similar areas; ``members``: the scope then its peers."""

    unit_table: pd.DataFrame
    unit_map: pd.DataFrame
    names: dict
    covs: list
    usable: list
    peer_result: Any
    peer_codes: list
    members: list


@dataclass(frozen=True)
class _Cover:
    """The months the store covers for the group's forces, the period's and last year's matched months, the history's
    first month ``h0`` and last year's period ``l0``..``l1``; ``complete``: every month of the period is loaded."""

    cov: pd.DataFrame
    cov_set: set
    this_months: list
    matched: list
    last_months: list
    this_label: str
    complete: bool
    h0: pd.Timestamp
    l0: str
    l1: str


@dataclass(frozen=True)
class _Populations:
    """The group's populations (``poparg``, when every area has one) and those for the crime mix (``mix_pop``, only
    when the period is wholly loaded)."""

    poparg: pd.DataFrame | None
    have_pop: bool
    mix_pop: pd.DataFrame | None


def _check_area(area) -> None:
    """The area must be a non-empty string (an area code or name)."""
    if not isinstance(area, str) or not area:
        raise error(WHERE, "The 'area' parameter must be an area code.", got=area,
                    hint="e.g. a borough or local authority code from the areas table (`whatworks status` lists tables).")


def _choose_frame(store, area, period, source, public, disclosure_threshold, marking, *, settings, quiet) -> _Frame:
    """Resolve publishing, source, period and the area (recorded and announced); a force is an error."""
    pub = choose_publishing(public, disclosure_threshold, marking, where=WHERE, settings=settings, quiet=quiet)
    src = _data.choose_source(store, source, where=WHERE, quiet=quiet, settings=settings)
    p0, p1 = _data.choose_period(store, src, period, where=WHERE, quiet=quiet, settings=settings)
    scope = _data.resolve_scope(store, area, src, where=WHERE)
    if scope.match not in ("area", "district"):
        raise error(WHERE, f"{area!r} is a force, not an area with comparable areas.",
                    hint="Give a borough, local authority, ward or small-area code.")
    return _Frame(pub=pub, src=src, p0=p0, p1=p1, scope=scope)


def _peer_group(store, scope, k, *, settings, notes, quiet) -> _Group:
    """The areas at the scope's level and its ``k`` most similar on their usable covariates (``k=None``: up to
    :data:`MAX_PEERS`, announced); no peers is noted with the reason."""
    level = scope.level
    unit_table, unit_map = _data.units(store, level)
    names = dict(zip(unit_table["code"], unit_table["name"].fillna(unit_table["code"])))
    covs = [c for c in unit_table.columns if c not in ("code", "name", "level", "parent_code", "population",
                                                        "population_source")]
    usable = [c for c in covs if unit_table[c].notna().all() and unit_table[c].nunique() > 1]
    peer_result, peer_codes = None, []
    if usable and len(unit_table) >= 3:
        kk = min(MAX_PEERS, len(unit_table) - 1) if k is None else k   # a given k is checked by peers()
        if k is None:
            settings["k"] = Setting(kk, "data", f"up to {MAX_PEERS} peers, from {len(unit_table)} {level} areas")
            announce(f"k set to {kk} peers ({len(unit_table)} {level} areas in the store).", quiet=quiet)
        peer_result = peers(unit_table, usable, id="code", k=kk, quiet=quiet)
        peer_codes = peer_result.of(scope.code)["peer"].tolist()
    else:
        notes.append(_no_peers_note(store, level, len(unit_table), bool(usable)))
    return _Group(unit_table=unit_table, unit_map=unit_map, names=names, covs=covs, usable=usable,
                  peer_result=peer_result, peer_codes=peer_codes, members=[scope.code, *peer_codes])


def _fetch_group_rows(store, frame: _Frame, group: _Group) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The group's records from the trend's first month ``h0`` (36 months before the period's end, or the data's
    start; last year's period if earlier) to the period's end, each with its unit, and ``h0``; none is an error."""
    l0 = shift_month(frame.p0, -12)
    data_first = _data.crime_month_span(store, frame.src)[0]   # the source's first month (choose_period found it has some)
    h0 = max(data_first, pd.Timestamp(shift_month(frame.p1, -35) + "-01"))
    rows = _data.fetch_rows(store, frame.src, min(h0, pd.Timestamp(l0 + "-01")), pd.Timestamp(frame.p1 + "-01"))
    rows = rows.merge(group.unit_map, on="lsoa_code", how="inner")
    rows = rows[rows["unit"].isin(group.members)]
    if rows.empty:
        raise error(WHERE, f"No records for {frame.scope.name} or its peers from source {frame.src!r}.")
    return rows, h0


def _group_coverage(store, frame: _Frame, rows, h0, *, settings) -> _Cover:
    """What the store covers for these areas' forces (a month not loaded is missing, never zero), recorded."""
    p0, p1 = frame.p0, frame.p1
    l0, l1 = shift_month(p0, -12), shift_month(p1, -12)
    forces = sorted(rows["force"].dropna().unique())
    cov = _data.coverage(store, frame.src)
    cov = cov[cov["force"].isin(forces)]
    cov_set = set(_data.covered_months(cov, forces))
    this_months = [m for m in _data.month_range(p0, p1) if m in cov_set]
    matched = [m for m in this_months if m - pd.DateOffset(months=12) in cov_set]
    last_months = [m - pd.DateOffset(months=12) for m in matched]
    settings["coverage"] = Setting(f"{len(this_months)} of {len(_data.month_range(p0, p1))} months of {p0}..{p1} "
                                   "loaded", "data", "months with a police.uk street file (or RMS crimes) for "
                                   + (", ".join(forces) or "no force"), "months")
    return _Cover(cov=cov, cov_set=cov_set, this_months=this_months, matched=matched, last_months=last_months,
                  this_label=_data.period_label(sorted(cov_set), p0, p1),
                  complete=len(this_months) == len(_data.month_range(p0, p1)), h0=h0, l0=l0, l1=l1)


def _populations(group: _Group, frame: _Frame, cover: _Cover, *, notes) -> _Populations:
    """Rates per 1,000 residents when every area of the group has a population, and for the crime mix only when the
    period is wholly loaded; otherwise counts, noted."""
    pop = group.unit_table[group.unit_table["code"].isin(group.members)][["code", "population"]].rename(
        columns={"code": "unit"})
    have_pop = bool(len(pop)) and pop["population"].notna().all() and (pop["population"] > 0).all()
    poparg = pop if have_pop else None
    if not have_pop:
        notes.append("Counts, not rates: some of these areas have no population in the store (load an area lookup "
                     "with populations: `whatworks ingest areas FILE`).")
    mix_pop = poparg if cover.complete else None
    if have_pop and not cover.complete:
        notes.append(f"Crime mix in counts, not rates: only {len(cover.this_months)} months of {frame.p0}..{frame.p1} "
                     "are loaded, and a rate from part of a period would read as the whole period's.")
    return _Populations(poparg=poparg, have_pop=have_pop, mix_pop=mix_pop)


def _mix_and_trend(rows, frame: _Frame, cover: _Cover, pops: _Populations, names):
    """The crime mix in the period (counts and rates per 1,000 by crime type, for the area and each peer) and the
    monthly trend of crimes excluding ASB (months not loaded are gaps), each with the measure it is drawn in."""
    p0, p1 = frame.p0, frame.p1
    mix = window_indicators(rows, p0, p1, ["unit", "crime_type"], population=pops.mix_pop, months=cover.this_months)
    mix["name"] = mix["unit"].map(names)
    measure = "rate_per_1000" if pops.mix_pop is not None else "count"
    crimes = Indicator("all").select(_window(rows, f"{cover.h0:%Y-%m}", p1))
    hist_cov = cover.cov[(cover.cov["month"] >= cover.h0) & (cover.cov["month"] <= pd.Timestamp(p1 + "-01"))]
    trend = indicators(crimes, by="unit", period="month", population=pops.poparg,
                       coverage=hist_cov[["force", "month"]], quiet=True).table
    trend_measure = "rate_per_1000" if pops.have_pop else "count"
    return mix, measure, trend, trend_measure


def _change(rows, frame: _Frame, cover: _Cover, *, notes, quiet):
    """This period against the same months last year (all crime excluding ASB), exact test, like with like; with
    its label, or ``(None, None)`` and a note when no month is matched."""
    scope = frame.scope
    if not cover.matched:
        notes.append(f"No year-on-year change: no month of {frame.p0}..{frame.p1} has the same month a year earlier "
                     "loaded.")
        return None, None
    own = Indicator("all").select(rows[rows["unit"] == scope.code]).assign(area=scope.code)
    a = _complete(window_indicators(own, frame.p0, frame.p1, ["area"], months=cover.matched), "area",
                  [scope.code])["count"].iloc[0]
    b = _complete(window_indicators(own, cover.l0, cover.l1, ["area"], months=cover.last_months), "area",
                  [scope.code])["count"].iloc[0]
    change_label = _data.comparison_label(cover.matched)
    change = compare(int(a), int(b), labels=[f"{scope.name}, {change_label}"],
                     covered_a=[f"{m:%Y-%m}" for m in cover.matched],
                     covered_b=[f"{m:%Y-%m}" for m in cover.last_months], quiet=quiet)
    return change, change_label


def _workforce(store, scope, *, notes) -> pd.DataFrame | None:
    """The area's rows of the store's ``workforce`` table (matched on the first of :data:`WORKFORCE_KEYS` it has);
    ``None`` without one, noted when the table has no area column."""
    if "workforce" not in _data.relations(store):
        return None
    wf = store.table("workforce")
    key = next((c for c in WORKFORCE_KEYS if c in wf.columns), None)
    if key is None:
        notes.append(f"A workforce table is in the store but has no area column ({', '.join(WORKFORCE_KEYS)}).")
        return None
    return wf[wf[key] == scope.code].reset_index(drop=True)


def _citizen(store, confidence, frame: _Frame, names, *, settings, quiet):
    """The placeholder sentences of the optional sections, and the citizen picture (a confidence section with a
    figure for the area), or ``None`` with the reason in ``future["confidence"]``."""
    future = _future_sections(store)
    if confidence is False:
        future["confidence"] = "Confidence left out of this landscape (confidence=False)."
        return future, None
    from whatworks.report import sections as _sections

    scope = frame.scope
    spec = _sections.Confidence(survey=confidence) if isinstance(confidence, str) else confidence
    if spec is not None and not isinstance(spec, _sections.Confidence):
        raise error(WHERE, "The 'confidence' parameter must be a Confidence, a survey name or False.",
                    got=type(confidence).__name__)
    found = _sections.confidence_section(store, spec, period=(frame.p0, frame.p1), area_code=scope.code, names=names,
                                         quiet=quiet, settings=settings, with_trend=False, with_drivers=False)
    if isinstance(found, str):
        future["confidence"] = found
        return future, None
    if not found.table["is_area"].any():
        future["confidence"] = (f"No confidence figure for {scope.name}: the survey's {found.spec.by} column has "
                                "no interviews for it in the period (estimates are made for that level).")
        return future, None
    return future, found


def _mix_shown(mix, measure, frame: _Frame, group: _Group, this_label, have_pop, *, public_notes) -> dict:
    """The crime mix of the area against its peers' range, after disclosure control (:mod:`report._public`): the
    table's rows and the chart of the crime types with no figure hidden (noted when some are left out)."""
    pub, scope, peer_codes = frame.pub, frame.scope, group.peer_codes
    area_mix = mix[mix["unit"] == scope.code].set_index("crime_type")[measure]
    area_mix = area_mix[area_mix > 0].sort_values(ascending=False)
    peer_mix = mix[mix["unit"].isin(peer_codes)].pivot_table(index="crime_type", columns="unit", values=measure,
                                                             aggfunc="first").reindex(area_mix.index)
    mix_mask = _public.landscape_mix(pub, mix, group.members, sorted(mix["crime_type"].dropna().unique()), ASB)
    area_hidden = {t: bool(mix_mask.loc[scope.code, t]) for t in area_mix.index}
    peer_hidden = {t: bool(mix_mask.loc[peer_codes, t].any()) if peer_codes else False for t in area_mix.index}
    mix_rows = [{"crime_type": t, "value": _render.SUPPRESSED if area_hidden[t] else float(v),
                 "peer_low": _render.SUPPRESSED if peer_hidden[t] else
                 (float(peer_mix.loc[t].min()) if peer_codes else None),
                 "peer_high": _render.SUPPRESSED if peer_hidden[t] else
                 (float(peer_mix.loc[t].max()) if peer_codes else None)} for t, v in area_mix.items()]
    drawn = [t for t in area_mix.index if not (area_hidden[t] or peer_hidden[t])]
    if len(drawn) < len(area_mix):
        public_notes.append(f"Crime types with a figure suppressed (fewer than {pub.threshold} records for the area "
                            "or one of its most similar areas, or hidden to protect one) are left out of the crime-mix "
                            "chart, and their peer range is not shown.")
    what = "per 1,000 residents" if have_pop else "records"
    mix_svg = None
    if drawn:
        mix_svg = _charts.bars(drawn, area_mix.loc[drawn].to_numpy(),
                               title=f"Crime mix, {this_label} ({what})", xlabel=what,
                               compare_low=peer_mix.loc[drawn].min(axis=1).to_numpy() if peer_codes else None,
                               compare_high=peer_mix.loc[drawn].max(axis=1).to_numpy() if peer_codes else None,
                               compare_label="range of most similar areas", width_in=4.2)
    return {"area_mix": area_mix, "peer_mix": peer_mix, "mix_rows": mix_rows, "what": what, "mix_svg": mix_svg}


def _change_shown(pub, change, *, public_notes) -> dict | None:
    """The year-on-year change as shown: hidden (noted) when it rests on a suppressed count."""
    if change is None:
        return None
    change_shown = {**change.table.iloc[0].to_dict(), "hidden": False}
    hid = pub.hidden({"a": change_shown["count_a"], "b": change_shown["count_b"]})
    if hid["a"] or hid["b"]:
        for key in ("count_a", "count_b", "rate_ratio", "ci_low", "ci_high", "p_value"):
            change_shown[key] = _render.SUPPRESSED
        change_shown["hidden"] = True
        public_notes.append("The year-on-year change is not shown: it rests on a suppressed count.")
    return change_shown


def _citizen_shown(pub, citizen) -> dict | None:
    """The area's and the overall confidence figure as shown: resting on too few interviews, hidden."""
    if citizen is None:
        return None
    a_row = citizen.table[citizen.table["is_area"]].iloc[0].to_dict()
    o_row = citizen.overall.table.iloc[0].to_dict()
    for r_ in (a_row, o_row):
        if _public.is_small(pub, r_.get("n")):
            r_.update(n=_render.SUPPRESSED, estimate=_render.SUPPRESSED, ci_low=_render.SUPPRESSED,
                      ci_high=_render.SUPPRESSED, below_overall=False)
    return {"area": a_row, "overall": o_row}
