"""The pack's "Public confidence" and "Evidence for each tactic" sections, and the landscape's citizen picture.

Every figure comes from an analysis: :class:`whatworks.survey.Design` (``proportion`` by area, ``subset`` for the
period), :func:`whatworks.survey.trend` (quarterly, with the sampling-error SPC view), :func:`whatworks.survey.drivers`
(the driver map), :func:`whatworks.evidence.best_evidence`, :func:`~whatworks.evidence.fidelity`,
:func:`~whatworks.evidence.cba` and :func:`~whatworks.evidence.tasking`. The store is read through its named methods
(``store.surveys()``, ``store.survey(name)``, ``store.register()``) and only when their tables exist, so building a
pack never creates a table.

Public so that other front ends say what the pack says: the dashboard (:mod:`whatworks.app`) shows
:func:`placeholders`' sentence on a page whose survey or register is not in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce
from whatworks.errors import StoreError, error
from whatworks.report import data as _data

__all__ = ["Confidence", "PAS_DRIVERS", "confidence_section", "evidence_section", "placeholders"]

# The synthetic force's Public Attitude Survey layout (docs/synth.md): the items of the MPS confidence model
# (Stanko & Bradford 2009) and the contact control.
PAS_DRIVERS = ("effectiveness", "fair_treatment", "engagement", "visible_presence", "informed")
DEFAULT_DRIVER_BOOT = 100      # bootstrap draws for the driver map's importance intervals (a few seconds on 38,400 interviews)
PERIOD_MONTHS = 12             # no interviews in the pack's period: the latest 12 months of interviews (PAS publishes rolling 12 months)
LOG_MEASURES = ("log rate ratio", "log odds ratio", "log risk ratio")


@dataclass(frozen=True)
class Confidence:
    """Where the pack finds public confidence in a survey held in the store.

    Parameters
    ----------
    survey : str, optional
        The survey's name in the store (``store.surveys()``). ``None``: the only survey, or one named ``"pas"``.
    outcome : str, default "confident"
        0/1 or True/False: says the local police do a good or excellent job.
    by : str, default "borough_code"
        The area column estimates are made for (the pack's unit level).
    weights, strata, psu : str, optional
        The design (:class:`whatworks.survey.Design`); defaults ``weight`` and ``borough_code`` (the PAS is
        stratified by borough).
    date : str, optional, default "interview_date"
        Interview date: picks the pack's period and makes the quarterly trend. ``None``: every interview, no trend.
    drivers : sequence of str
        Items for the driver map; an empty tuple for none.
    controls : sequence of str
        Terms held fixed in the driver model (not ranked).
    n_boot : int, default 100
        Bootstrap draws for the driver map's intervals.
    """

    survey: str | None = None
    outcome: str = "confident"
    by: str = "borough_code"
    weights: str | None = "weight"
    strata: str | None = "borough_code"
    psu: str | None = None
    date: str | None = "interview_date"
    drivers: tuple = PAS_DRIVERS
    controls: tuple = ("recent_contact",)
    n_boot: int = DEFAULT_DRIVER_BOOT


@dataclass
class ConfidenceSection:
    """What the pack shows under "Public confidence" (all analysis results)."""

    survey: str
    spec: Confidence
    period: tuple[str, str] | None
    design: Any                  # the Design on the whole survey
    estimate: Any                # SurveyEstimate: outcome by area, interviews in the period
    overall: Any                 # SurveyEstimate: the whole survey's area, same interviews
    trend: Any                   # SurveyTrend (quarterly) or None
    trend_area: str | None       # the area the trend is for (None: everyone)
    drivers: Any                 # DriversResult or None
    table: pd.DataFrame          # estimate.table with the area's name and a flag for the pack's area
    notes: list = field(default_factory=list)


def _relations(store) -> set[str]:
    return _data.relations(store)


def placeholders(store) -> dict[str, str]:
    """The one-line reason each section is not drawn (used when its data are not in the store)."""
    return {
        "confidence": ("Not yet available: no public attitude survey responses in the store. Load your survey with "
                       "`whatworks ingest survey FILE --mapping pas.toml` (docs/survey.md), with a 0/1 confidence "
                       "question, a weight and the area column; the section then shows confidence by area with its "
                       "uncertainty, its quarterly trend and what drives it."),
        "evidence": ("Not yet available: no evidence register in the store. Add your interventions and evaluations "
                     "with `whatworks evidence add` / `whatworks evidence import register.json`, or "
                     "`whatworks.evidence.register_result(store, result, intervention={...})` (docs/evidence.md); "
                     "the section then shows, for each tactic, its best evidence and a tasking view."),
    }


def _choose_survey(store, spec: Confidence, *, quiet: bool, settings: dict) -> str | None | tuple:
    if "survey_responses" not in _relations(store):
        return None
    try:
        have = store.surveys()["survey"].tolist()
    except StoreError as exc:
        # Store.surveys() runs CREATE TABLE IF NOT EXISTS first, which a read-only store refuses even when the
        # tables exist: say so in the pack (requested store change: skip that step when read_only)
        if getattr(store, "read_only", False) and "read-only" in str(exc):
            return ("note", "Public confidence not shown: the store is open read-only and this version's survey "
                            "reader needs to write to it. Build the pack from Python with ww.Store(path) (not "
                            "read_only), or from `whatworks demo`.")
        raise
    if not have:
        return None
    if spec.survey is not None:
        if spec.survey not in have:
            raise error("pack", f"No survey named {spec.survey!r} in the store.", expected=f"one of {have}",
                        hint="store.surveys() lists them.")
        settings["confidence survey"] = Setting(spec.survey, "user", "survey named in confidence=")
        return spec.survey
    name = have[0] if len(have) == 1 else ("pas" if "pas" in have else None)
    if name is None:
        return ("note", f"Public confidence not shown: the store holds {len(have)} surveys ({', '.join(have)}); name one "
                        "with confidence=Confidence(survey=...).")
    settings["confidence survey"] = Setting(name, "data", "the only survey in the store" if len(have) == 1 else
                                            "the survey named 'pas'")
    announce(f"confidence survey set to {name!r} ({settings['confidence survey'].reason}).", quiet=quiet)
    return name


def confidence_section(store, spec: Confidence | None, *, period: tuple[str, str] | None, area_code: str | None,
                       names: Mapping[str, str], quiet: bool, settings: dict, seed: int = 0,
                       with_trend: bool = True, with_drivers: bool = True):
    """The "Public confidence" section, or a str (why not), for the pack and the landscape (which shows the
    area's figure only: ``with_trend=False, with_drivers=False``)."""
    from whatworks.survey import Design, drivers, trend

    spec = spec or Confidence()
    chosen = _choose_survey(store, spec, quiet=quiet, settings=settings)
    if chosen is None:
        return placeholders(store)["confidence"]
    if isinstance(chosen, tuple):
        return chosen[1]
    name = chosen
    df = store.survey(name)
    need = [c for c in (spec.outcome, spec.by, spec.weights, spec.strata, spec.psu, spec.date) if c]
    missing = [c for c in dict.fromkeys(need) if c not in df.columns]
    if missing:
        return (f"Public confidence not shown: survey {name!r} has no column {', '.join(repr(m) for m in missing)} "
                f"(it has {', '.join(sorted(df.columns)[:20])}). Say which columns to use with "
                "confidence=Confidence(outcome=..., by=..., weights=..., strata=..., date=...).")
    if spec is not None and "confidence variables" not in settings:
        settings["confidence variables"] = Setting(
            f"outcome {spec.outcome}, by {spec.by}, weights {spec.weights}, strata {spec.strata}, date {spec.date}",
            "default" if spec == Confidence(survey=spec.survey) else "user",
            "the synthetic PAS layout (docs/synth.md)" if spec == Confidence(survey=spec.survey) else "confidence=")
        announce(f"confidence variables set to {settings['confidence variables'].value} "
                 f"({settings['confidence variables'].reason}).", quiet=quiet)
    df = df[df[spec.by].notna()].reset_index(drop=True)
    design = Design(df, weights=spec.weights, strata=spec.strata, psu=spec.psu)
    notes: list[str] = []
    mask = np.ones(len(df), bool)
    used = None
    if spec.date:
        when = pd.to_datetime(df[spec.date])
        if period is not None:
            a, b = pd.Timestamp(period[0] + "-01"), pd.Timestamp(period[1] + "-01") + pd.offsets.MonthEnd(0)
            mask = ((when >= a) & (when <= b)).to_numpy()
            used = period
        if period is None or not mask.any():
            last = when.max().to_period("M")
            first = last - (PERIOD_MONTHS - 1)
            mask = (when.dt.to_period("M") >= first).to_numpy()
            used = (str(first), str(last))
            reason = (f"no interviews in {period[0]}..{period[1]}" if period is not None else "no period given")
            settings["confidence period"] = Setting(f"{used[0]}..{used[1]}", "data",
                                                    f"the latest {PERIOD_MONTHS} months of interviews ({reason})", "months")
            announce(f"confidence period set to {used[0]}..{used[1]} ({settings['confidence period'].reason}).", quiet=quiet)
    sub = design.subset(mask) if not mask.all() else design
    est = sub.proportion(spec.outcome, by=spec.by, quiet=True)
    overall = sub.proportion(spec.outcome, quiet=True)
    t = est.table.copy()
    t = t[t["n"] > 0].reset_index(drop=True)
    t.insert(1, "name", t[spec.by].astype(str).map(lambda c: names.get(c, c)))
    t["is_area"] = t[spec.by].astype(str) == str(area_code)
    t["below_overall"] = t["ci_high"] < float(overall.table["estimate"].iloc[0])
    trend_res, trend_area = None, None
    if spec.date and with_trend:
        tdes = design
        if area_code is not None and str(area_code) in set(df[spec.by].astype(str)):
            tdes = design.subset((df[spec.by].astype(str) == str(area_code)).to_numpy())
            trend_area = str(area_code)
        trend_res = trend(tdes, spec.outcome, spec.date, period="quarter", quiet=True)
    drv = None
    items = [c for c in spec.drivers if c in df.columns]
    if not with_drivers:
        pass
    elif len(items) >= 2:
        controls = [c for c in spec.controls if c in df.columns]
        sub_items = df.loc[mask, [spec.outcome, *items, *controls]]
        if sub_items.notna().all().all():
            drv = drivers(sub, spec.outcome, items, controls=controls, n_boot=int(spec.n_boot), seed=seed, quiet=True)
            settings["driver map n_boot"] = Setting(int(spec.n_boot), "default" if spec.n_boot == DEFAULT_DRIVER_BOOT
                                                    else "user", "bootstrap draws for the importance intervals")
        else:
            notes.append("No driver map: some interviews in the period have no answer to a driver item "
                         "(run whatworks.survey.drivers on the respondents who answered).")
    elif spec.drivers and with_drivers:
        notes.append(f"No driver map: the survey has fewer than two of the driver items {', '.join(spec.drivers)}.")
    return ConfidenceSection(survey=name, spec=spec, period=used, design=design, estimate=est, overall=overall,
                             trend=trend_res, trend_area=trend_area, drivers=drv, table=t, notes=notes)


# ------------------------------------------------------------------------------------------------- evidence


@dataclass
class EvidenceSection:
    """What the pack shows under "Evidence for each tactic"."""

    register: Any
    tactics: list                      # one dict per tactic: tactic, evidence (best_evidence table), interventions,
                                       # fidelity (FidelityResult or None), cba (CBAResult or None), cba_note
    problems: pd.DataFrame
    tasking: Any
    notes: list = field(default_factory=list)


def _has_register(store) -> bool:
    rel = _relations(store)
    return all(f"register_{k}" in rel for k in ("interventions", "evaluations", "studies", "implementation"))


def _cba_for(iv: pd.DataFrame, ev: pd.DataFrame, baseline: Mapping[str, float] | None, unit_costs: pd.DataFrame | None):
    """Cost-benefit for a tactic, or (None, why not)."""
    from whatworks.evidence import cba

    costed = iv[iv["cost"].notna()]
    if not len(costed):
        return None, "no cost recorded for its interventions"
    r = costed.iloc[0]
    robust = ev[pd.to_numeric(ev["se"], errors="coerce").notna() & ev["measure"].isin(LOG_MEASURES)]
    if not len(robust):
        return None, "no effect on a ratio scale with a standard error to value"
    best = robust.iloc[0]
    ctype = r.get("crime_type")
    if ctype is None or (isinstance(ctype, float) and np.isnan(ctype)):
        return None, "the intervention records no crime_type to value"
    if unit_costs is None or ctype not in set(unit_costs["crime_type"]) or \
            unit_costs.loc[unit_costs["crime_type"] == ctype, "unit_cost"].isna().all():
        return None, f"no unit cost for {ctype!r} (give unit_costs= with your figure)"
    if not baseline or ctype not in baseline:
        return None, f"no baseline count of {ctype!r} in the pack's period"
    res = cba(float(r["cost"]), float(np.exp(float(best["estimate"]))), {ctype: float(baseline[ctype])}, unit_costs,
              effect_ci=(float(np.exp(float(best["ci_low"]))), float(np.exp(float(best["ci_high"])))))
    return res, None


def evidence_section(store, *, hot=None, confidence=None, baseline: Mapping[str, float] | None = None,
                     unit_costs: pd.DataFrame | None = None, quiet: bool = False):
    """The "Evidence for each tactic" section, or a str (why not)."""
    from whatworks.evidence import best_evidence, fidelity, tasking

    del quiet
    if not _has_register(store):
        return placeholders(store)["evidence"]
    reg = store.register()
    iv, st, impl = reg.interventions, reg.studies, reg.implementation
    tactic_names = list(dict.fromkeys([t for t in list(iv["tactic"]) + list(st["tactic"]) if isinstance(t, str) and t]))
    if not tactic_names:
        return placeholders(store)["evidence"].replace("no evidence register in the store",
                                                       "the evidence register names no tactic")
    tactics = []
    for tac in tactic_names:
        ev = best_evidence(reg, tac)
        ivs = iv[iv["tactic"] == tac]
        fid = None
        rows = impl[impl["intervention_id"].isin(ivs["intervention_id"])]
        if len(rows):
            fid = fidelity(rows, id="unit")
        res, why = _cba_for(ivs, ev, baseline, unit_costs)
        tactics.append({"tactic": tac, "evidence": ev, "interventions": ivs.reset_index(drop=True), "fidelity": fid,
                        "cba": res, "cba_note": why})
    problems = []
    if hot is not None:
        n_hot = int((hot.table["classification"] == "hot spot").sum())
        if n_hot:
            problems.append((f"Crime hot spots ({n_hot} Gi* cells)", "hot spot"))
    if confidence is not None and not isinstance(confidence, str):
        low = confidence.table[confidence.table["below_overall"]]
        if len(low):
            problems.append((f"Confidence below the force average: {', '.join(low['name'].astype(str))}",
                             "confidence gap"))
    seen = {p[1] for p in problems}
    for target in iv.loc[iv["status"] == "running", "target_problem"].dropna().unique():
        if target not in seen:
            names = ", ".join(iv.loc[(iv["status"] == "running") & (iv["target_problem"] == target), "name"]
                              .fillna("").astype(str))
            problems.append((f"{target} (targeted by running work: {names})", target))
            seen.add(target)
    pt = pd.DataFrame(problems, columns=["problem", "problem_type"])
    task = tasking(pt, reg) if len(pt) else None
    notes = [] if len(pt) else ["No tasking view: the pack found no hot spot or confidence gap, and no running "
                                "intervention names a target problem."]
    return EvidenceSection(register=reg, tactics=tactics, problems=pt, tasking=task, notes=notes)
