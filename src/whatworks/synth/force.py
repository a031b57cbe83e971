"""``generate()`` and :class:`SyntheticForce`: a whole police force with known truth.

Crimes, stops and arrests are generated month by month from per-month random streams, so a force of any
size can be written in bounded memory (``write_*`` stream the months); the default size is kept in memory
(``.tables``) as soon as it is generated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from whatworks._validate import check_number
from whatworks.errors import error
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
        from whatworks.store.writers import write_force

        return write_force(self, policeuk=directory, archive=archive)

    def write_records(self, directory: str | Path) -> dict[str, Path]:
        """Write the RMS export (crimes, stops, arrests, roles, persons per system) and its ``mapping.toml``."""
        from whatworks.store.writers import write_force

        return write_force(self, records=directory)

    def write_tables(self, directory: str | Path) -> dict[str, Path]:
        """Write the analyst tables (areas, segments, survey, margins, workforce, interventions) as CSV."""
        from whatworks.store.writers import write_force

        return write_force(self, tables=directory)

    def write_truth(self, directory: str | Path) -> dict[str, Path]:
        """Write ``truth.json`` and the row-level truth tables as CSV."""
        from whatworks.store.writers import write_force

        return write_force(self, truth=directory)

    def write_all(self, directory: str | Path, *, archive: bool = True) -> dict[str, Path]:
        """Write everything in one pass over the months: ``policeuk/`` (+ ``policeuk.zip``), ``records/``,
        ``tables/`` and ``truth/`` under ``directory``."""
        from whatworks.store.writers import write_force

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
