"""``generate()`` and :class:`SyntheticForce`: a whole police force with known truth.

Crimes, stops and arrests are generated month by month from per-month random streams, so a force of any
size can be written in bounded memory (``write_*`` stream the months); the default size is kept in memory
(``.tables``) as soon as it is generated.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from whatworks._geo import from_bng
from whatworks._validate import check_number
from whatworks.errors import error
from whatworks.store import writers as W
from whatworks.synth import _constants as C
from whatworks.synth import interventions as _iv
from whatworks.synth.crimes import (RMS_COLUMNS, TRUTH_COLUMNS, TYPES, CrimeModel, CrimeStream, build_model,
                                    segment_expectations)
from whatworks.synth.geography import Geography, build_geography
from whatworks.synth.people import People, build_people, person_records
from whatworks.synth.stops import STOP_TRUTH_COLUMNS, StopModel
from whatworks.synth.survey import build_survey
from whatworks.synth.workforce import build_workforce

EAGER_LIMIT = 2_000_000   # forces up to this many crimes are kept in memory on generate()
MAX_SMALL_AREAS = 12_000  # ~21M residents (England has ~34,000 LSOAs); residents are simulated one by one
STOP_COLUMNS = ["reference", "occurred", "utc_offset_minutes", "month", "search_type", "part_of_operation", "operation_name",
                "x", "y", "lon", "lat", "segment_id", "lsoa_code", "located_on_policeuk", "gender", "age_range",
                "self_defined_ethnicity", "officer_defined_ethnicity", "legislation", "object_of_search", "outcome",
                "outcome_linked_to_object", "removal_of_more_than_outer_clothing", "person_id"]
STREAM_TABLES = ("crimes", "outcomes", "stops", "arrests", "roles", "persons", "om_programme")
STREAM_TRUTH = ("crimes", "stops", "person_identity", "om_programme", "segment_risk")   # built on first access


# ---------------------------------------------------------------------------------------------- derived rows


def outcome_rows(crimes: pd.DataFrame) -> pd.DataFrame:
    """police.uk-style outcome events (one row per outcome a crime received within the period)."""
    parts = []
    for col, mcol in (("first_outcome", "first_outcome_month"), ("court_outcome", "court_outcome_month")):
        sel = crimes[mcol].notna().to_numpy() & (crimes["kind"] == "crime").to_numpy()
        sub = crimes.loc[sel, ["reference", "crime_id", "segment_id", "located_on_policeuk", "crime_type"]].copy()
        sub["month"] = crimes.loc[sel, mcol].to_numpy()
        sub["outcome_type"] = crimes.loc[sel, col].astype(str).to_numpy()
        parts.append(sub)
    out = pd.concat(parts, ignore_index=True)
    return out[["reference", "crime_id", "month", "outcome_type", "crime_type", "segment_id", "located_on_policeuk"]]


def arrest_rows(crimes: pd.DataFrame) -> pd.DataFrame:
    """Arrests (custody system) of identified suspects."""
    sel = crimes["arrest_id"].notna().to_numpy()
    sub = crimes.loc[sel]
    charged = sub["charged"].to_numpy()
    outcome = np.where(charged, "Charged",
                       np.where(sub["outcome"].astype(str).isin(["Offender given a caution", "Offender given a drugs possession warning"]),
                                "Cautioned", "Released - no further action"))
    return pd.DataFrame({
        "reference": "AR" + sub["reference"].astype(str).str.slice(2).to_numpy(),
        "crime_reference": sub["reference"].to_numpy(),
        "occurred": sub["arrest_time"].to_numpy(), "person_id": sub["arrest_id"].to_numpy(),
        "crime_type": sub["crime_type"].to_numpy(), "x": sub["x"].to_numpy(), "y": sub["y"].to_numpy(),
        "lsoa_code": sub["lsoa_code"].to_numpy(), "outcome": outcome,
    }).sort_values(["occurred", "reference"], kind="stable").reset_index(drop=True)


def role_rows(crimes: pd.DataFrame) -> pd.DataFrame:
    """Who was involved in which crime (RMS): victims and identified offenders."""
    parts = []
    for col, role in (("victim_id", "victim"), ("offender_id", "offender")):
        sel = crimes[col].notna().to_numpy()
        parts.append(pd.DataFrame({"reference": crimes.loc[sel, "reference"].to_numpy(),
                                   "person_id": crimes.loc[sel, col].to_numpy(), "role": role}))
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------- engine


@dataclass
class MonthBatch:
    """One month of event data: crimes (all columns, truth included) and stop and search."""

    month: int
    label: str
    crimes: pd.DataFrame
    stops: pd.DataFrame


class _Engine:
    """Holds the fixed parts of a force and runs the month stream (once when kept in memory)."""

    def __init__(self, seed: int, geo: Geography, people: People, model: CrimeModel, stop_model: StopModel,
                 keep: bool):
        self.seed, self.geo, self.people, self.model, self.stop_model = seed, geo, people, model, stop_model
        self.keep = keep
        self.batches: list[MonthBatch] | None = None
        self.final: dict | None = None
        self.realised: dict = {}

    def iter_months(self) -> Iterator[MonthBatch]:
        if self.batches is not None:
            yield from self.batches
            return
        stream = CrimeStream(self.model, self.geo, self.people)
        acc = []
        stop_serial = 0
        for m in range(self.model.months):
            cf = stream.month(m)
            sf, pids = self.stop_model.month(m, stop_serial)
            stop_serial += len(sf)
            stream.seen[C.STOPS_SYSTEM][pids] = True
            batch = MonthBatch(m, self.model.month_starts[m].strftime("%Y-%m"), cf, sf)
            if self.keep:
                acc.append(batch)
            yield batch
        if self.final is None:
            self.final = self._finalise(stream)
        if self.keep:
            self.batches = acc

    def ensure_final(self) -> dict:
        if self.final is None:
            for _ in self.iter_months():
                pass
        return self.final

    def _finalise(self, stream: CrimeStream) -> dict:
        people, geo, seed = self.people, self.geo, self.seed
        om, om_truth, om_realised = _iv.om_programme(seed, stream, people, geo)
        recs, idents = [], []
        for system in C.PERSON_SYSTEMS:
            if system == C.PROBATION_SYSTEM:
                true_ids = np.flatnonzero(stream.probation)
                nums = people.system_perm[system][true_ids]
                dup = people.system_dup[system][true_ids]
                numbers = np.concatenate([nums, nums[dup] + people.n])
            else:
                numbers = np.flatnonzero(stream.seen[system])
            r, i = person_records(people, system, numbers, geo, seed)
            r.insert(0, "source_system", system)
            recs.append(r)
            idents.append(i)
        persons = pd.concat(recs, ignore_index=True)
        identity = pd.concat(idents, ignore_index=True)
        sc = np.sort(stream.segment_counts)[::-1]
        S = sc.size
        rec = stream.recorded.sum(axis=0)
        rec = np.sort(rec[rec > 0])[::-1]
        v = stream.victimisations[stream.victimisations > 0]
        realised = {
            "note": "measured on the generated data; victim and offender shares use true identities (RMS ids split "
                    "the ~3% of people with a duplicate id)",
            "crimes": int(stream.serial),
            "by_type": {t: int(n) for t, n in zip(TYPES, stream.type_counts.sum(axis=1))},
            "share_on_top_5pct_segments": round(float(sc[: int(np.ceil(0.05 * S))].sum() / sc.sum()), 4),
            "share_on_top_1pct_segments": round(float(sc[: int(np.ceil(0.01 * S))].sum() / sc.sum()), 4),
            "burglaries_triggered_near_repeat": int(stream.n_triggered),
            "recorded_offenders": int(rec.size),
            "share_of_recorded_offences_by_top_10pct_offenders": round(float(rec[: int(np.ceil(0.1 * rec.size))].sum() / rec.sum()), 4)
            if rec.size else None,
            "victims": int(v.size),
            "share_of_victims_repeat": round(float((v > 1).mean()), 4) if v.size else None,
            "share_of_victim_crimes_against_repeat_victims": round(float(v[v > 1].sum() / v.sum()), 4) if v.size else None,
            "offender_management": om_realised,
            "person_records": {s: int((persons["source_system"] == s).sum()) for s in C.PERSON_SYSTEMS},
        }
        self.realised.update(realised)
        return {"persons": persons, "person_identity": identity, "om_programme": om, "om_truth": om_truth}


class _LazyTables(Mapping):
    """A read-only mapping of DataFrames; stream-derived tables are built on first access and cached."""

    def __init__(self, static: dict[str, pd.DataFrame], names: tuple[str, ...], build: Callable[[str], pd.DataFrame]):
        self._static, self._names, self._build, self._cache = static, names, build, {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key in self._static:
            return self._static[key]
        if key not in self._names:
            raise KeyError(key)
        if key not in self._cache:
            self._cache[key] = self._build(key)
        return self._cache[key]

    def __iter__(self):
        return iter([*self._static, *self._names])

    def __len__(self) -> int:
        return len(self._static) + len(self._names)

    def __repr__(self) -> str:
        return f"<tables: {', '.join(self)}>"


# ---------------------------------------------------------------------------------------------- the force


@dataclass(frozen=True, repr=False)
class SyntheticForce:
    """A synthetic police force: its tables, its files, and the truth of every effect injected.

    Attributes
    ----------
    tables : Mapping[str, pandas.DataFrame]
        ``areas``, ``segments``, ``crimes``, ``outcomes``, ``stops``, ``arrests``, ``roles``, ``persons``, ``survey``,
        ``survey_margins``, ``workforce``, ``hotspot_trial``, ``policy_adoption``, ``om_programme``, ``interventions``.
        What a force itself would hold (RMS ids, not true identities).
    truth : dict
        Every injected parameter (JSON-serialisable; docs/synth.md explains each). ``truth['realised']`` holds the
        measured stylised facts once the crimes have been generated.
    truth_tables : Mapping[str, pandas.DataFrame]
        Row-level truth: ``crimes`` (true victim/offender, near-repeat parent), ``stops`` (true group and person),
        ``person_identity`` (each system record's true person), ``om_programme``, ``survey``, ``segment_risk``
        (expected crimes per street segment over the period, in total and by type: the planted hot spots).
    """

    seed: int
    params: dict
    truth: dict
    tables: Mapping[str, pd.DataFrame]
    truth_tables: Mapping[str, pd.DataFrame]
    _engine: Any = field(default=None, compare=False)

    # -- streaming --------------------------------------------------------------------------------------
    def iter_months(self) -> Iterator[MonthBatch]:
        """Months of event data in order (generated on the fly when the force is not kept in memory)."""
        return self._engine.iter_months()

    @property
    def geography(self) -> Geography:
        return self._engine.geo

    @property
    def month_labels(self) -> list[str]:
        return [d.strftime("%Y-%m") for d in self._engine.model.month_starts[:-1]]

    def finalised(self) -> dict:
        """Tables that need every month (persons, offender-management cohort); generates the months if needed."""
        return self._engine.ensure_final()

    # -- files ------------------------------------------------------------------------------------------
    def write_policeuk(self, directory: str | Path, *, archive: bool = True) -> dict[str, Path]:
        """Write the police.uk archive: ``DIR/YYYY-MM/YYYY-MM-synthshire-{street,outcomes,stop-and-search}.csv``
        and (``archive=True``) the zip of it all as ``DIR.zip`` beside the folder. Returns the paths."""
        return write_force(self, policeuk=directory, archive=archive)

    def write_records(self, directory: str | Path) -> dict[str, Path]:
        """Write the RMS export (crimes, stops, arrests, roles, persons per system) and its ``mapping.toml``."""
        return write_force(self, records=directory)

    def write_tables(self, directory: str | Path) -> dict[str, Path]:
        """Write the analyst tables (areas, segments, survey, margins, workforce, interventions) as CSV."""
        return write_force(self, tables=directory)

    def write_truth(self, directory: str | Path) -> dict[str, Path]:
        """Write ``truth.json`` and the row-level truth tables as CSV."""
        return write_force(self, truth=directory)

    def write_all(self, directory: str | Path, *, archive: bool = True) -> dict[str, Path]:
        """Write everything in one pass over the months: ``policeuk/`` (+ ``policeuk.zip``), ``records/``,
        ``tables/`` and ``truth/`` under ``directory``."""
        d = Path(directory)
        return write_force(self, policeuk=d / "policeuk", records=d / "records", tables=d / "tables", truth=d / "truth",
                           archive=archive)

    def to_store(self, store, *, workdir: str | Path | None = None) -> dict[str, Any]:
        """Write the police.uk archive and the RMS export to ``workdir`` (a temporary folder by default) and load both
        into ``store`` through the real readers. Returns the two ingest reports."""
        import tempfile

        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="whatworks-synth-") as tmp:
                return self.to_store(store, workdir=tmp)
        paths = self.write_all(workdir)
        return {"policeuk": store.ingest_policeuk(paths["policeuk_zip"] if "policeuk_zip" in paths else paths["policeuk"]),
                "records": store.ingest_records(paths["records"], paths["mapping"])}

    # -- reading ----------------------------------------------------------------------------------------
    def summary(self) -> str:
        p = self.params
        t = self.truth
        lines = [f"Synthetic force '{C.FORCE_NAME}' (seed {self.seed}): {p['months']} months from {p['start']}, "
                 f"{t['geography']['boroughs']} boroughs, {t['geography']['lsoas']:,} small areas, "
                 f"{t['geography']['segments']:,} street segments, {t['geography']['population']:,} residents."]
        r = t.get("realised") or {}
        if r.get("crimes") is not None:
            lines.append(f"{r['crimes']:,} crimes and ASB incidents; {r['share_on_top_5pct_segments']:.0%} of them on the top 5% "
                         f"of street segments; the top 10% of recorded offenders committed "
                         f"{r['share_of_recorded_offences_by_top_10pct_offenders']:.0%} of recorded offences; "
                         f"{r['share_of_victim_crimes_against_repeat_victims']:.0%} of crimes with a victim were against repeat victims.")
        else:
            lines.append(f"About {p['crimes']:,} crimes and ASB incidents (generated month by month when written).")
        iv = t["interventions"]
        lines.append(f"Known effects: hotspot patrol RCT rate ratio {iv['hotspot_rct']['rate_ratio']:.2f}; offender management "
                     f"true effect {iv['offender_management']['true_effect']:.0f}; borough policy ({iv['borough_policy']['crime_type']}) "
                     f"rate ratio {iv['borough_policy']['rate_ratio']:.2f}; step change in {iv['step_change']['crime_type']} "
                     f"x{iv['step_change']['rate_ratio']:.2f} from {iv['step_change']['month']}.")
        s = t["stop_search"]["rate_ratio_vs_white"]
        lines.append("Stop and search rate ratios vs White residents: " + ", ".join(f"{g} {v:g}" for g, v in s.items()) + ".")
        sv = t["survey"]
        lines.append(f"Survey: {sv['interviews']:,} interviews; event on {sv['event']['date']} shifts confidence by "
                     f"{sv['event']['logit_shift']:+.2f} on the logit scale for {sv['event']['window_days']} days.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        p = self.params
        return f"<SyntheticForce seed={self.seed} crimes≈{p['crimes']:,} months={p['months']} boroughs={p['boroughs']}>"

    def truth_json(self) -> str:
        """``truth`` as JSON text (stable key order, so the same seed gives the same bytes)."""
        return json.dumps(_jsonable(self.truth), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ---------------------------------------------------------------------------------------------- generate


def generate(seed: int = 0, crimes: int = 200_000, months: int = 36, boroughs: int = 8, *, start: str = "2022-04",
             wards_per_borough: int = 10, lsoas_per_ward: int = 8, segments_per_lsoa: float = 40.0,
             survey_per_year: int = 12_800, keep_in_memory: bool | None = None) -> SyntheticForce:
    """Generate a synthetic police force whose every injected effect is known.

    Parameters
    ----------
    seed : int, default 0
        Everything random derives from it; the same seed gives byte-identical tables and files.
    crimes : int, default 200_000
        Expected number of crimes and ASB incidents over the whole period (the realised count is Poisson around it).
    months : int, default 36
        Length of the period (at least 12; the interventions are placed at fixed fractions of it).
    boroughs : int, default 8
        Number of boroughs (strata of the survey, units of the staggered policy).
    start : str, default "2022-04"
        First month, ``YYYY-MM``.
    wards_per_borough, lsoas_per_ward : int, default 10, 8
        Size of the area hierarchy (small areas have ~700-3,000 residents).
    segments_per_lsoa : float, default 40
        Average number of street segments per small area (more in dense areas).
    survey_per_year : int, default 12_800
        Public attitude survey interviews a year (the Met PAS size).
    keep_in_memory : bool, optional
        Keep the month-by-month crime data in memory. ``None`` keeps it when ``crimes <= 2,000,000``; otherwise the
        months are regenerated (identically) each time the data are written, so memory stays bounded.

    Returns
    -------
    SyntheticForce

    Examples
    --------
    >>> import whatworks as ww
    >>> force = ww.synth.generate(seed=1, crimes=20_000, months=12, boroughs=4)   # doctest: +SKIP
    >>> force.tables["crimes"].crime_type.value_counts().head(3)                      # doctest: +SKIP
    >>> force.truth["near_repeat"]["distance_scale_m"]                                # doctest: +SKIP
    120.0
    """
    where = "synth.generate"
    check_number(where, "seed", seed, low=0, integer=True)
    check_number(where, "crimes", crimes, low=1_000, integer=True)
    check_number(where, "months", months, low=12, high=600, integer=True)
    check_number(where, "boroughs", boroughs, low=2, high=200, integer=True)
    check_number(where, "wards_per_borough", wards_per_borough, low=1, high=100, integer=True)
    check_number(where, "lsoas_per_ward", lsoas_per_ward, low=1, high=100, integer=True)
    check_number(where, "segments_per_lsoa", segments_per_lsoa, low=5, high=500)
    check_number(where, "survey_per_year", survey_per_year, low=0, integer=True)
    if not (isinstance(start, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start)):
        raise error(where, "The 'start' parameter must be a month written YYYY-MM.", got=start, hint='e.g. start="2022-04"')
    start_ts = pd.Timestamp(start + "-01")
    n_areas = int(boroughs) * int(wards_per_borough) * int(lsoas_per_ward)
    if n_areas > MAX_SMALL_AREAS:
        raise error(where, f"boroughs x wards_per_borough x lsoas_per_ward gives {n_areas:,} small areas (about "
                           f"{n_areas * 1_800:,} residents), more than the {MAX_SMALL_AREAS:,} whatworks will simulate.",
                    expected=f"at most {MAX_SMALL_AREAS:,} small areas", got=(boroughs, wards_per_borough, lsoas_per_ward),
                    hint="Use fewer boroughs or wards; crime volume is set by 'crimes', not by the number of areas.")
    seed, crimes, months, boroughs = int(seed), int(crimes), int(months), int(boroughs)
    keep = crimes <= EAGER_LIMIT if keep_in_memory is None else bool(keep_in_memory)

    geo = build_geography(seed, boroughs=boroughs, wards_per_borough=int(wards_per_borough),
                          lsoas_per_ward=int(lsoas_per_ward), segments_per_lsoa=float(segments_per_lsoa))
    people = build_people(seed, geo, start_ts)
    model = build_model(seed, geo, crimes=crimes, months=months, start=start_ts)
    iv_tables, iv_truth = _iv.plan(seed, geo, model)
    stop_model = StopModel(seed, geo, people, model)
    survey_tables, survey_truth_table, survey_truth = build_survey(seed, geo, people, start=start_ts, months=months,
                                                                   per_year=int(survey_per_year))
    seg_expected = (model.weights * model.base.sum(axis=1, keepdims=True)).sum(axis=0)
    bor_codes = geo.areas.loc[geo.areas["level"] == "borough", "code"].to_numpy()
    crimes_by_borough = np.array([seg_expected[geo.segments["borough_code"].to_numpy() == b].sum() for b in bor_codes])
    workforce, wf_truth = build_workforce(seed, geo, crimes_by_borough, start=start_ts, months=months)

    engine = _Engine(seed, geo, people, model, stop_model, keep)
    params = {"seed": seed, "crimes": crimes, "months": months, "boroughs": boroughs, "start": start,
              "wards_per_borough": int(wards_per_borough), "lsoas_per_ward": int(lsoas_per_ward),
              "segments_per_lsoa": float(segments_per_lsoa), "survey_per_year": int(survey_per_year)}
    from whatworks import __version__

    truth = {
        "about": "Every parameter injected into this synthetic force; see docs/synth.md. 'realised' holds measured facts.",
        "whatworks_version": __version__,
        "parameters": params,
        "force": {"name": C.FORCE_NAME, "slug": C.FORCE_SLUG, "systems": list(C.PERSON_SYSTEMS)},
        "period": {"first_month": start, "last_month": model.month_starts[months - 1].strftime("%Y-%m"), "months": months},
        "geography": geo.truth,
        "people": people.truth,
        "crime": model.truth,
        "near_repeat": model.truth["near_repeat"],
        "stop_search": stop_model.truth(),
        "survey": survey_truth,
        "workforce": wf_truth,
        "interventions": iv_truth,
        "realised": engine.realised,
    }
    static = {"areas": geo.areas, "segments": geo.segments, **survey_tables, "workforce": workforce, **iv_tables}

    def build(name: str) -> pd.DataFrame:
        if name == "crimes":
            return pd.concat([b.crimes[RMS_COLUMNS] for b in engine.iter_months()], ignore_index=True)
        if name == "stops":
            return pd.concat([b.stops[STOP_COLUMNS] for b in engine.iter_months()], ignore_index=True)
        if name == "outcomes":
            return pd.concat([outcome_rows(b.crimes) for b in engine.iter_months()], ignore_index=True) \
                .sort_values(["month", "reference"], kind="stable").reset_index(drop=True)
        if name == "arrests":
            return pd.concat([arrest_rows(b.crimes) for b in engine.iter_months()], ignore_index=True) \
                .sort_values(["occurred", "reference"], kind="stable").reset_index(drop=True)
        if name == "roles":
            return pd.concat([role_rows(b.crimes) for b in engine.iter_months()], ignore_index=True)
        if name == "persons":
            return engine.ensure_final()["persons"]
        if name == "om_programme":
            return engine.ensure_final()["om_programme"]
        raise KeyError(name)

    def build_truth(name: str) -> pd.DataFrame:
        if name == "crimes":
            return pd.concat([b.crimes[TRUTH_COLUMNS] for b in engine.iter_months()], ignore_index=True)
        if name == "stops":
            return pd.concat([b.stops[STOP_TRUTH_COLUMNS] for b in engine.iter_months()], ignore_index=True)
        if name == "person_identity":
            return engine.ensure_final()["person_identity"]
        if name == "om_programme":
            return engine.ensure_final()["om_truth"]
        if name == "segment_risk":
            return segment_expectations(model, geo.segments)
        raise KeyError(name)

    force = SyntheticForce(seed=seed, params=params, truth=truth,
                           tables=_LazyTables(static, STREAM_TABLES, build),
                           truth_tables=_LazyTables({"survey": survey_truth_table}, STREAM_TRUTH, build_truth),
                           _engine=engine)
    if keep:
        engine.ensure_final()
    return force


# ================================================================================================ files
# The synthetic force renders its own files' rows here and hands them to the store's generic writers
# (whatworks.store.writers: only the store writes files; it knows no synth). Months are streamed: each month's
# crimes and stops are written as soon as they are generated, and outcome rows wait in a buffer only until their own
# month's file is written, so memory stays bounded whatever the size.
#
# police.uk (``DIR/YYYY-MM/YYYY-MM-synthshire-street.csv``, ``-outcomes.csv``, ``-stop-and-search.csv``, and the zip
# of the whole archive as ``DIR.zip``): the exact police.uk headers (REFERENCE.md), ``Month`` as ``YYYY-MM``, points
# snapped to the street segment's anonymous map point with "On or near <street>", blank Crime ID and outcome for ASB,
# 64-hex Crime IDs, rows published without a location ("No Location", blank coordinates and LSOA), stop-and-search
# ``Date`` as ISO 8601 with the UK offset. RMS export (``DIR/crimes.csv``, ``stops.csv``, ``arrests.csv``,
# ``roles.csv``, ``persons-<system>.csv`` and ``DIR/mapping.toml``): the force's own column names, offence codes and
# date formats, which ``mapping.toml`` translates for :meth:`whatworks.store.Store.ingest_records`.

RMS_DATE = "%d/%m/%Y %H:%M"
# Person files per system: (file name, column headers, dob format, delimiter). Different systems, different habits.
PERSON_FILES = {
    "synthshire-rms": ("persons-rms.csv", ("PersonRef", "Forename", "Surname", "DOB", "Sex", "Ethnicity", "Postcode"),
                       "%d/%m/%Y", ","),
    "synthshire-custody": ("persons-custody.csv", ("CustodyRef", "FirstName", "LastName", "DateOfBirth", "Gender",
                                                   "EthnicGroup", "HomePostcode"), "%Y-%m-%d", ","),
    "synthshire-stopsearch": ("persons-stopsearch.csv", ("SubjectRef", "Forename", "Surname", "DOB", "Sex", "Ethnicity",
                                                         "Postcode"), "%d-%b-%Y", ","),
    "synthshire-probation": ("persons-probation.csv", ("CaseRef", "GivenName", "FamilyName", "BirthDate", "Sex",
                                                       "Ethnicity", "Postcode"), "%d/%m/%Y", ";"),
}
ROLE_CODES = {"victim": "VIC", "offender": "OFF"}
KIND_CODES = {"crime": "CRIME", "asb": "ASB"}



def _check_vocabularies() -> None:
    words = [C.FORCE_NAME, C.NOT_STATED, C.NFA, *C.CRIME_TYPES, *C.OUTCOME_CATEGORIES, *C.SEARCH_TYPES, *C.AGE_RANGES,
             *C.ETHNIC_GROUPS, *C.OBJECTS, *(v[1] for v in C.OBJECTS.values()), *C.FIND_OUTCOMES,
             *(x for v in C.SELF_DEFINED.values() for x in v), *C.RMS_OFFENCE_CODES.values()]
    W.check_text(words, "vocabulary")


class _Segments:
    """Per street segment, the police.uk strings (map point, "On or near", LSOA), built once."""

    def __init__(self, force: "SyntheticForce"):
        geo = force.geography
        seg = geo.segments
        lon, lat = from_bng(seg["x"].to_numpy(), seg["y"].to_numpy())
        self.lon = pa.array([f"{v:.6f}" for v in lon], pa.string())
        self.lat = pa.array([f"{v:.6f}" for v in lat], pa.string())
        self.location = pa.array(["On or near " + s for s in seg["street"]], pa.string())
        self.street = pa.array(list(seg["street"]), pa.string())
        names = dict(zip(geo.lsoas["code"], geo.lsoas["name"]))
        W.check_text(set(seg["street"]) | set(names.values()), "street or area name")
        self.lsoa_code = pa.array(list(seg["lsoa_code"]), pa.string())
        self.lsoa_name = pa.array([names[c] for c in seg["lsoa_code"]], pa.string())

    def take(self, attr: str, seg: np.ndarray) -> pa.Array:
        return pc.take(getattr(self, attr), pa.array(np.asarray(seg, dtype=np.int64)))


class PoliceUKWriter:
    """Writes one month folder per :meth:`month` call (street, outcomes, stop-and-search) and zips as it goes."""

    def __init__(self, force: "SyntheticForce", directory: Path, segments: _Segments, *, archive: bool):
        self.force, self.dir, self.seg, self.archive = force, Path(directory), segments, archive
        self.name, self.slug = C.FORCE_NAME, C.FORCE_SLUG
        self.labels = force.month_labels
        self.pending: dict[int, list[pa.Table]] = {}
        _check_vocabularies()
        self.zipper = None
        if archive:
            last = pd.Timestamp(self.labels[-1] + "-01")
            self.dir.mkdir(parents=True, exist_ok=True)
            self.zipper = W.Zipper(self.dir.with_name(self.dir.name + ".zip"), (max(last.year, 1980), last.month, 1, 0, 0, 0))

    def _path(self, label: str, kind: str) -> Path:
        d = self.dir / label
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{label}-{self.slug}-{kind}.csv"

    def month(self, batch) -> None:
        cf, sf, label = batch.crimes, batch.stops, batch.label
        n = len(cf)
        seg = cf["segment_id"].to_numpy()
        located = cf["located_on_policeuk"].to_numpy()
        cols = {
            "Crime ID": W.text_array(cf["crime_id"]), "Month": W.const_array(label, n), "Reported by": W.const_array(self.name, n),
            "Falls within": W.const_array(self.name, n),
            "Longitude": W.masked(self.seg.take("lon", seg), located), "Latitude": W.masked(self.seg.take("lat", seg), located),
            "Location": W.masked(self.seg.take("location", seg), located, W.NO_LOCATION),
            "LSOA code": W.masked(self.seg.take("lsoa_code", seg), located),
            "LSOA name": W.masked(self.seg.take("lsoa_name", seg), located),
            "Crime type": W.text_array(cf["crime_type"]), "Last outcome category": W.text_array(cf["outcome"]), "Context": W.const_array(None, n),
        }
        path = self._path(label, "street")
        with open(path, "wb") as fh:
            W.write_header(fh, W.STREET_HEADER)
            W.write_columns(fh, cols, W.STREET_HEADER)

        # outcomes: rows wait for their own month's file
        out = outcome_rows(cf)
        if len(out):
            om = out["month"].to_numpy().astype("datetime64[M]")
            first = np.datetime64(self.labels[0], "M")
            idx = (om - first).astype(np.int64)
            seg_o = out["segment_id"].to_numpy()
            loc_o = out["located_on_policeuk"].to_numpy()
            k = len(out)
            labels = pa.array(np.array(self.labels, dtype=object)[idx].tolist(), pa.string())
            table = pa.table({
                "Crime ID": W.text_array(out["crime_id"]), "Month": labels, "Reported by": W.const_array(self.name, k),
                "Falls within": W.const_array(self.name, k),
                "Longitude": W.masked(self.seg.take("lon", seg_o), loc_o), "Latitude": W.masked(self.seg.take("lat", seg_o), loc_o),
                "Location": W.masked(self.seg.take("location", seg_o), loc_o, W.NO_LOCATION),
                "LSOA code": W.masked(self.seg.take("lsoa_code", seg_o), loc_o),
                "LSOA name": W.masked(self.seg.take("lsoa_name", seg_o), loc_o),
                "Outcome type": W.text_array(out["outcome_type"]),
            })
            for i in np.unique(idx):
                self.pending.setdefault(int(i), []).append(table.filter(pa.array(idx == i)))
        parts = self.pending.pop(batch.month, [])
        path = self._path(label, "outcomes")
        with open(path, "wb") as fh:
            W.write_header(fh, W.OUTCOMES_HEADER)
            for t in parts:
                W.write_table(fh, t)

        # stop and search
        k = len(sf)
        seg_s = sf["segment_id"].to_numpy()
        loc_s = sf["located_on_policeuk"].to_numpy()
        offset = np.where(sf["utc_offset_minutes"].to_numpy() == 60, "+01:00", "+00:00")
        date = pc.binary_join_element_wise(W.strftime_array(sf["occurred"].to_numpy(), "%Y-%m-%dT%H:%M:%S"),
                                           pa.array(offset.tolist(), pa.string()), "")
        cols = {
            "Type": W.text_array(sf["search_type"]), "Date": date, "Part of a policing operation": W.text_array(sf["part_of_operation"]),
            "Policing operation": W.text_array(sf["operation_name"]),
            "Latitude": W.masked(self.seg.take("lat", seg_s), loc_s), "Longitude": W.masked(self.seg.take("lon", seg_s), loc_s),
            "Gender": W.text_array(sf["gender"]), "Age range": W.text_array(sf["age_range"]),
            "Self-defined ethnicity": W.text_array(sf["self_defined_ethnicity"]),
            "Officer-defined ethnicity": W.text_array(sf["officer_defined_ethnicity"]), "Legislation": W.text_array(sf["legislation"]),
            "Object of search": W.text_array(sf["object_of_search"]), "Outcome": W.text_array(sf["outcome"]),
            "Outcome linked to object of search": W.text_array(sf["outcome_linked_to_object"]),
            "Removal of more than just outer clothing": W.text_array(sf["removal_of_more_than_outer_clothing"]),
        }
        path = self._path(label, "stop-and-search")
        with open(path, "wb") as fh:
            W.write_header(fh, W.STOP_HEADER)
            W.write_columns(fh, cols, W.STOP_HEADER)
        if self.zipper is not None:
            for kind in ("outcomes", "stop-and-search", "street"):   # sorted order within the month
                self.zipper.add(self._path(label, kind), f"{label}/{label}-{self.slug}-{kind}.csv")

    def finish(self) -> dict[str, Path]:
        paths = {"policeuk": self.dir}
        if self.zipper is not None:
            self.zipper.close()
            paths["policeuk_zip"] = self.zipper.path
        return paths

    def abort(self) -> BaseException | None:
        """Stop the zip thread after a failure elsewhere; returns the zip thread's own error, if any."""
        if self.zipper is None:
            return None
        z = self.zipper
        z.queue.put(None)
        z.thread.join()
        z.zf.close()
        return z.error


class RecordsWriter:
    """Appends each month to the RMS export files; writes the persons files and ``mapping.toml`` at the end."""

    CRIMES = ("CrimeRef", "RecordType", "Committed", "Offence", "Easting", "Northing", "LSOA", "Street", "Outcome")
    STOPS = ("SearchRef", "SearchDateTime", "SubjectRef", "Easting", "Northing", "LSOA", "SearchType", "Gender", "AgeRange",
             "SelfDefinedEthnicity", "OfficerDefinedEthnicity", "Legislation", "ObjectOfSearch", "Outcome",
             "OutcomeLinkedToObject", "MoreThanOuterClothing", "PartOfOperation", "OperationName")
    ARRESTS = ("ArrestRef", "ArrestDateTime", "CustodyRef", "Offence", "Easting", "Northing", "LSOA", "ArrestOutcome")
    ROLES = ("CrimeRef", "PersonRef", "Role")

    def __init__(self, force: "SyntheticForce", directory: Path, segments: _Segments):
        self.force, self.dir, self.seg, self.C = force, Path(directory), segments, C
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fh = {}
        for name, header in (("crimes", self.CRIMES), ("stops", self.STOPS), ("arrests", self.ARRESTS), ("roles", self.ROLES)):
            fh = open(self.dir / f"{name}.csv", "wb")
            W.write_header(fh, header)
            self.fh[name] = fh
        codes = C.RMS_OFFENCE_CODES
        self.offence_codes = pa.array([codes[t] for t in C.CRIME_TYPES], pa.string())

    def _offence(self, s: pd.Series) -> pa.Array:
        codes = s.cat.codes.to_numpy() if isinstance(s.dtype, pd.CategoricalDtype) else \
            pd.Categorical(s, categories=list(self.C.CRIME_TYPES)).codes
        return pc.take(self.offence_codes, pa.array(codes, mask=codes < 0))

    def month(self, batch) -> None:
        cf, sf = batch.crimes, batch.stops
        seg = cf["segment_id"].to_numpy()
        kind = np.where(cf["kind"].to_numpy() == "asb", KIND_CODES["asb"], KIND_CODES["crime"])
        W.write_columns(self.fh["crimes"], {
            "CrimeRef": W.text_array(cf["reference"]), "RecordType": pa.array(kind.tolist(), pa.string()),
            "Committed": W.strftime_array(cf["occurred"].to_numpy(), RMS_DATE), "Offence": self._offence(cf["crime_type"]),
            "Easting": W.int_array(cf["x"]), "Northing": W.int_array(cf["y"]), "LSOA": self.seg.take("lsoa_code", seg),
            "Street": self.seg.take("street", seg), "Outcome": W.text_array(cf["outcome"]),
        }, self.CRIMES)
        yn = {"True": "Y", "False": "N"}
        W.write_columns(self.fh["stops"], {
            "SearchRef": W.text_array(sf["reference"]), "SearchDateTime": W.strftime_array(sf["occurred"].to_numpy(), RMS_DATE),
            "SubjectRef": W.text_array(sf["person_id"]), "Easting": W.int_array(sf["x"]), "Northing": W.int_array(sf["y"]),
            "LSOA": W.text_array(sf["lsoa_code"]), "SearchType": W.text_array(sf["search_type"]), "Gender": W.text_array(sf["gender"]),
            "AgeRange": W.text_array(sf["age_range"]), "SelfDefinedEthnicity": W.text_array(sf["self_defined_ethnicity"]),
            "OfficerDefinedEthnicity": W.text_array(sf["officer_defined_ethnicity"]), "Legislation": W.text_array(sf["legislation"]),
            "ObjectOfSearch": W.text_array(sf["object_of_search"]), "Outcome": W.text_array(sf["outcome"]),
            "OutcomeLinkedToObject": W.text_array(sf["outcome_linked_to_object"].map(yn)),
            "MoreThanOuterClothing": W.text_array(sf["removal_of_more_than_outer_clothing"].map(yn)),
            "PartOfOperation": W.text_array(sf["part_of_operation"].map(yn)), "OperationName": W.text_array(sf["operation_name"]),
        }, self.STOPS)
        ar = arrest_rows(cf)
        W.write_columns(self.fh["arrests"], {
            "ArrestRef": W.text_array(ar["reference"]), "ArrestDateTime": W.strftime_array(ar["occurred"].to_numpy(), RMS_DATE),
            "CustodyRef": W.text_array(ar["person_id"]), "Offence": self._offence(ar["crime_type"]), "Easting": W.int_array(ar["x"]),
            "Northing": W.int_array(ar["y"]), "LSOA": W.text_array(ar["lsoa_code"]), "ArrestOutcome": W.text_array(ar["outcome"]),
        }, self.ARRESTS)
        rr = role_rows(cf)
        W.write_columns(self.fh["roles"], {"CrimeRef": W.text_array(rr["reference"]), "PersonRef": W.text_array(rr["person_id"]),
                                  "Role": W.text_array(rr["role"].map(ROLE_CODES))}, self.ROLES)

    def finish(self, final: dict) -> dict[str, Path]:
        for fh in self.fh.values():
            fh.close()
        persons = final["persons"]
        for system, (fname, header, dob_fmt, delim) in PERSON_FILES.items():
            p = persons[persons["source_system"] == system]
            dob = pd.to_datetime(p["dob"], format="%Y-%m-%d").to_numpy().astype("datetime64[s]")
            dob_txt = pc.strftime(pa.array(dob, pa.timestamp("s"), from_pandas=True), format=dob_fmt)
            cols = dict(zip(header, (W.text_array(p["person_id"]), W.text_array(p["first_name"]), W.text_array(p["surname"]), dob_txt,
                                     W.text_array(p["sex"]), W.text_array(p["ethnicity"]), W.text_array(p["postcode"]))))
            with open(self.dir / fname, "wb") as fh:
                W.write_header(fh, header, delim)
                W.write_table(fh, pa.table({n: cols[n] for n in header}), delim, check=True)
        mapping = self.dir / "mapping.toml"
        mapping.write_text(mapping_toml(), encoding="utf-8")
        return {"records": self.dir, "mapping": mapping}


def mapping_toml() -> str:
    """The mapping file that reads the synthetic RMS export (docs/records-mapping.md, version 1)."""
    out = io.StringIO()
    w = out.write
    w("# Mapping for the synthetic force's RMS export, written by whatworks.synth (docs/synth.md).\n")
    w("# Load with: whatworks ingest records <this folder> --mapping <this folder>/mapping.toml\n")
    w("version = 1\n")
    w(f"source_system = {W.toml_str(C.RMS_SYSTEM)}\n")
    w(f"force = {W.toml_str(C.FORCE_NAME)}\n\n")

    def block(pattern, table, columns, *, formats=None, codes=None, source_system=None, delimiter=None):
        w("[[files]]\n")
        w(f"pattern = {W.toml_str(pattern)}\n")
        w(f"table = {W.toml_str(table)}\n")
        if source_system:
            w(f"source_system = {W.toml_str(source_system)}\n")
        if delimiter:
            w(f"delimiter = {W.toml_str(delimiter)}\n")
        w("\n[files.columns]\n")
        for k, v in columns.items():
            w(f"{k} = {W.toml_str(v)}\n")
        if formats:
            w("\n[files.formats]\n")
            for k, v in formats.items():
                w(f"{k} = [{', '.join(W.toml_str(f) for f in v)}]\n")
        for col, table_codes in (codes or {}).items():
            w(f"\n[files.codes.{col}]\n")
            for k, v in table_codes.items():
                w(f"{W.toml_str(k)} = {W.toml_str(v)}\n")
        w("\n")

    offence = {code: t for t, code in C.RMS_OFFENCE_CODES.items()}
    block("crimes.csv", "crimes", {"reference": "CrimeRef", "kind": "RecordType", "occurred": "Committed",
                                   "crime_type": "Offence", "x": "Easting", "y": "Northing", "lsoa_code": "LSOA",
                                   "location": "Street", "outcome": "Outcome"},
          formats={"occurred": [RMS_DATE]},
          codes={"crime_type": offence, "kind": {v: k for k, v in KIND_CODES.items()}})
    block("stops.csv", "stops", {"reference": "SearchRef", "occurred": "SearchDateTime", "person_id": "SubjectRef",
                                 "x": "Easting", "y": "Northing", "lsoa_code": "LSOA", "search_type": "SearchType",
                                 "gender": "Gender", "age_range": "AgeRange",
                                 "self_defined_ethnicity": "SelfDefinedEthnicity",
                                 "officer_defined_ethnicity": "OfficerDefinedEthnicity", "legislation": "Legislation",
                                 "object_of_search": "ObjectOfSearch", "outcome": "Outcome",
                                 "outcome_linked_to_object": "OutcomeLinkedToObject",
                                 "removal_of_more_than_outer_clothing": "MoreThanOuterClothing",
                                 "part_of_operation": "PartOfOperation", "operation_name": "OperationName"},
          formats={"occurred": [RMS_DATE]}, source_system=C.STOPS_SYSTEM)
    block("arrests.csv", "arrests", {"reference": "ArrestRef", "occurred": "ArrestDateTime", "person_id": "CustodyRef",
                                     "crime_type": "Offence", "x": "Easting", "y": "Northing", "lsoa_code": "LSOA",
                                     "outcome": "ArrestOutcome"},
          formats={"occurred": [RMS_DATE]}, codes={"crime_type": offence}, source_system=C.CUSTODY_SYSTEM)
    block("roles.csv", "roles", {"reference": "CrimeRef", "person_id": "PersonRef", "role": "Role"},
          codes={"role": {v: k for k, v in ROLE_CODES.items()}})
    for system, (fname, header, dob_fmt, delim) in PERSON_FILES.items():
        cols = dict(zip(("person_id", "first_name", "surname", "dob", "sex", "ethnicity", "postcode"), header))
        block(fname, "persons", cols, formats={"dob": [dob_fmt]},
              source_system=None if system == C.RMS_SYSTEM else system, delimiter=None if delim == "," else delim)
    return out.getvalue()


def write_tables(force: "SyntheticForce", directory: Path, final: dict) -> dict[str, Path]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in TABLE_FILES:
        table = final["om_programme"] if name == "om_programme" else force.tables[name]
        paths[f"table_{name}"] = W.write_csv(table, d / f"{name}.csv")
    paths["tables"] = d
    return paths


class TruthWriter:
    """Streams the row-level truth of crimes and stops; writes ``truth.json`` and the other truth tables at the end."""

    def __init__(self, force: "SyntheticForce", directory: Path):
        self.force, self.dir = force, Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.crime_cols, self.stop_cols = TRUTH_COLUMNS, STOP_TRUTH_COLUMNS
        self.crimes = open(self.dir / "crimes_truth.csv", "wb")
        W.write_header(self.crimes, self.crime_cols)
        self.stops = open(self.dir / "stops_truth.csv", "wb")
        W.write_header(self.stops, self.stop_cols)

    def month(self, batch) -> None:
        cf, sf = batch.crimes, batch.stops
        W.write_table(self.crimes, pa.table({c: (W.text_array(cf[c]) if cf[c].dtype == object or isinstance(cf[c].dtype, pd.ArrowDtype)
                                                else pa.array(cf[c].to_numpy())) for c in self.crime_cols}))
        W.write_table(self.stops, pa.table({c: (W.text_array(sf[c]) if sf[c].dtype == object else pa.array(sf[c].to_numpy()))
                                           for c in self.stop_cols}))

    def finish(self, final: dict) -> dict[str, Path]:
        self.crimes.close()
        self.stops.close()
        paths = {"truth": self.dir}
        paths["truth_person_identity"] = W.write_csv(final["person_identity"], self.dir / "person_identity.csv")
        paths["truth_om_programme"] = W.write_csv(final["om_truth"], self.dir / "om_programme_truth.csv")
        paths["truth_survey"] = W.write_csv(self.force.truth_tables["survey"], self.dir / "survey_truth.csv")
        paths["truth_segment_risk"] = W.write_csv(self.force.truth_tables["segment_risk"], self.dir / "segment_risk_truth.csv")
        tj = self.dir / "truth.json"
        tj.write_text(self.force.truth_json(), encoding="utf-8")
        paths["truth_json"] = tj
        paths["truth_crimes"] = self.dir / "crimes_truth.csv"
        paths["truth_stops"] = self.dir / "stops_truth.csv"
        return paths


TABLE_FILES = ("areas", "segments", "survey", "survey_margins", "workforce", "hotspot_trial", "policy_adoption",
               "interventions", "om_programme")
TRUTH_FILES = ("truth.json", "crimes_truth.csv", "stops_truth.csv", "person_identity.csv", "om_programme_truth.csv",
               "survey_truth.csv", "segment_risk_truth.csv")


def write_force(force: "SyntheticForce", *, policeuk: str | Path | None = None, records: str | Path | None = None,
                tables: str | Path | None = None, truth: str | Path | None = None, archive: bool = True) -> dict[str, Path]:
    """Write any of the four outputs of ``force`` in one pass over its months. Returns every path written.

    Parameters
    ----------
    force : SyntheticForce
    policeuk, records, tables, truth : path-like, optional
        Folders for the police.uk archive (its zip goes beside it as ``<folder>.zip`` when ``archive``), the RMS
        export with ``mapping.toml``, the analyst tables and the truth. A folder that exists may only hold files of
        the same names (they are replaced); anything else is refused with a :class:`WhatworksError`.
    archive : bool, default True
        Also zip the police.uk archive.
    """
    W.check_folder(Path(policeuk) if policeuk else None, set(force.month_labels), "police.uk")
    W.check_folder(Path(records) if records else None, {"crimes.csv", "stops.csv", "arrests.csv", "roles.csv", "mapping.toml",
                                                       *(v[0] for v in PERSON_FILES.values())}, "records")
    W.check_folder(Path(tables) if tables else None, {f"{t}.csv" for t in TABLE_FILES}, "tables")
    W.check_folder(Path(truth) if truth else None, set(TRUTH_FILES), "truth")
    if set(PERSON_FILES) != set(C.PERSON_SYSTEMS):
        raise error("write", "Every person system needs a file layout in PERSON_FILES.", got=sorted(PERSON_FILES))
    segs = _Segments(force) if (policeuk or records) else None
    writers = []
    pu = PoliceUKWriter(force, Path(policeuk), segs, archive=archive) if policeuk else None
    rw = RecordsWriter(force, Path(records), segs) if records else None
    tw = TruthWriter(force, Path(truth)) if truth else None
    writers = [w for w in (pu, rw, tw) if w is not None]
    if writers:
        try:
            for batch in force.iter_months():
                for w in writers:
                    w.month(batch)
        except BaseException as exc:
            zip_error = pu.abort() if pu else None
            if zip_error is not None:
                exc.add_note(f"the police.uk zip writer also failed: {zip_error!r}")
            raise
    final = force.finalised()
    paths: dict[str, Path] = {}
    if pu:
        paths.update(pu.finish())
    if rw:
        paths.update(rw.finish(final))
    if tables:
        paths.update(write_tables(force, Path(tables), final))
    if tw:
        paths.update(tw.finish(final))
    return paths
