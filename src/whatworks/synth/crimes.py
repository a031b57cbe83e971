"""Crimes and ASB of the synthetic force, generated month by month (so any size streams in bounded memory).

Model (every number is recorded in ``truth['crime']``):

* Expected count of type *t* on street segment *s* in month *m* =
  ``base_t * season_t(m) * trend_t(m) * w_ts * effects(s, m, t)``; counts are Poisson.
* Segment weights ``w_ts`` = ``exp(sigma*Z_s + gamma*deprivation_z) * exp(tau*Z_ts)`` (shared hotspot risk, a
  deprivation gradient, and type-specific noise), shoplifting and night-time types multiplied on commercial
  segments. ``sigma`` is set so that about half of crime falls on about 5% of segments (Weisburd 2015).
* Seasonality ``1 + A_t cos(2 pi (calendar month - peak_t)/12)``; trend ``r_t`` per year; both averaged to 1.
* Burglary is self-exciting (a Hawkes process): each burglary triggers Poisson(``branching``) more, after an
  exponential delay (mean ``time_scale_days``), either at the same home (same victim; share ``same_home``) or
  an exponential distance away (mean ``distance_scale_m``); triggered burglaries keep the offender with
  probability ``same_offender``. Background burglary is scaled by ``1 - branching`` so totals match.
* Victims of burglary, criminal damage and vehicle crime are residents of the segment; victims of violence,
  robbery and thefts are drawn from all residents; both by the residents' gamma propensity (repeat victims).
* Offenders are drawn by their log-normal propensity (the power few), from their home borough with
  probability ``home_borough``. A suspect is identified with a type-specific probability; only identified
  offenders are on the RMS record.
* Outcomes by type: no suspect -> "Investigation complete; no suspect identified" (mostly); suspect not charged
  -> out-of-court outcomes; charged -> "Awaiting court outcome" then a court result months later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.spatial import cKDTree

from whatworks.synth import _constants as C
from whatworks.synth._util import BlockSampler, arrow_strings, draw_weighted, fixed_ids, hex_ids, rng_for
from whatworks.synth.geography import Geography
from whatworks.synth.people import People

TYPES = list(C.CRIME_TYPES)
T_ASB = TYPES.index(C.ASB)
T_BURGLARY = TYPES.index(C.NEAR_REPEAT_TYPE)

# Calibrated so about half of crime falls on about 5% of segments (Weisburd 2015: 50% on 2-6%).
SEGMENT_SIGMA = 1.55          # lognormal hotspot risk of a segment
DEPRIVATION_GAMMA = 0.35      # log-risk per standard deviation of deprivation
TYPE_TAU = 0.45               # type-specific lognormal noise around the shared risk
COMMERCIAL_FACTOR = {"Shoplifting": 25.0, "Theft from the person": 3.0, "Violence and sexual offences": 2.0,
                     "Public order": 2.0, "Other theft": 2.0, "Bicycle theft": 2.0, "Robbery": 1.5}
RESIDENTIAL_FACTOR = {"Shoplifting": 0.02}
# Near repeats: raised risk for a few weeks, mostly within 100-200 m and 1-2 weeks, fading by ~400 m and 1-2 months
# (Townsley, Homel & Chaseling 2003; Johnson & Bowers 2004).
NEAR_REPEAT = {"branching": 0.3, "time_scale_days": 10.0, "distance_scale_m": 120.0, "same_home": 0.25,
               "same_offender": 0.7}
HOME_BOROUGH = 0.6            # probability an offence is committed by an offender living in that borough
NO_LOCATION_SHARE = 0.02      # crimes published by police.uk with no coordinates or LSOA ("No Location")
ARREST_SHARE = 0.7            # share of identified suspects arrested
POSITION_JITTER_M = 8.0       # offset of a crime from the centre line of its segment


def _cal_month(start: pd.Timestamp, m: np.ndarray | int) -> np.ndarray:
    return (start.month - 1 + np.asarray(m)) % 12 + 1


@dataclass
class CrimeModel:
    """Everything fixed before the first month is generated (weights, bases, intervention multipliers)."""

    seed: int
    start: pd.Timestamp
    months: int
    month_starts: pd.DatetimeIndex
    weights: np.ndarray               # (T, S) segment weights, each row sums to 1
    base: np.ndarray                  # (T, months) expected count before place effects (burglary: background only)
    expected_total: float
    seg_x: np.ndarray
    seg_y: np.ndarray
    seg_x0: np.ndarray
    seg_y0: np.ndarray
    seg_x1: np.ndarray
    seg_y1: np.ndarray
    seg_borough: np.ndarray
    bbox: tuple
    effects: list = field(default_factory=list)   # (type index or None, segment mask or None, month mask, multiplier)
    truth: dict = field(default_factory=dict)

    def multipliers(self, m: int) -> np.ndarray:
        """(T, S) multipliers from the interventions active in month ``m``."""
        T, S = self.weights.shape
        mult = np.ones((T, S))
        for t_idx, seg_mask, month_mask, factor in self.effects:
            if not month_mask[m]:
                continue
            rows = slice(None) if t_idx is None else t_idx
            if seg_mask is None:
                mult[rows] *= factor
            else:
                mult[rows, seg_mask] *= factor
        return mult


def build_model(seed: int, geo: Geography, *, crimes: int, months: int, start: pd.Timestamp) -> CrimeModel:
    rng = rng_for(seed, "crimes", 0)
    seg = geo.segments
    S = len(seg)
    dep = geo.lsoas["deprivation"].to_numpy()[geo.lsoa_index]
    dep_z = (dep - dep.mean()) / dep.std()
    shared = SEGMENT_SIGMA * rng.standard_normal(S) + DEPRIVATION_GAMMA * dep_z
    commercial = seg["commercial"].to_numpy()
    W = np.empty((len(TYPES), S))
    for i, t in enumerate(TYPES):
        w = np.exp(shared + TYPE_TAU * rng.standard_normal(S))
        w = np.where(commercial, w * COMMERCIAL_FACTOR.get(t, 1.0), w * RESIDENTIAL_FACTOR.get(t, 1.0))
        W[i] = w / w.sum()

    m = np.arange(months)
    cal = _cal_month(start, m)
    shares = np.array([C.CRIME_TYPES[t] for t in TYPES])
    shares = shares / shares.sum()
    base = np.empty((len(TYPES), months))
    for i, t in enumerate(TYPES):
        amp, peak = C.SEASONALITY.get(t, (0.0, 1))
        season = 1 + amp * np.cos(2 * np.pi * (cal - peak) / 12)
        trend = C.TRENDS.get(t, 1.0) ** (m / 12.0)
        shape = season * trend
        base[i] = crimes * shares[i] * shape / shape.sum()
    base[T_BURGLARY] *= 1 - NEAR_REPEAT["branching"]

    # share of expected crime (all types, before interventions) on the top 5% / 1% of segments
    total_w = (W * base.sum(axis=1, keepdims=True)).sum(axis=0)
    srt = np.sort(total_w)[::-1]
    cum = np.cumsum(srt) / srt.sum()
    truth = {
        "types": TYPES,
        "expected_total": float(crimes),
        "type_shares": {t: float(round(s, 4)) for t, s in zip(TYPES, shares)},
        "seasonality": {t: {"amplitude": C.SEASONALITY.get(t, (0.0, 1))[0], "peak_calendar_month": C.SEASONALITY.get(t, (0.0, 1))[1]}
                        for t in TYPES},
        "trend_per_year": {t: C.TRENDS.get(t, 1.0) for t in TYPES},
        "hour_profiles": {t: C.HOUR_PROFILES[t] for t in TYPES},
        "place": {"segment_risk": f"exp({SEGMENT_SIGMA}*N(0,1) + {DEPRIVATION_GAMMA}*deprivation_z) x exp({TYPE_TAU}*N(0,1) per type)",
                  "segment_sigma": SEGMENT_SIGMA, "deprivation_log_coefficient_per_sd": DEPRIVATION_GAMMA,
                  "type_sigma": TYPE_TAU, "commercial_factor": COMMERCIAL_FACTOR, "residential_factor": RESIDENTIAL_FACTOR,
                  "expected_share_on_top_5pct_segments": round(float(cum[int(np.ceil(0.05 * S)) - 1]), 4),
                  "expected_share_on_top_1pct_segments": round(float(cum[int(np.ceil(0.01 * S)) - 1]), 4)},
        "near_repeat": {"crime_type": C.NEAR_REPEAT_TYPE, **NEAR_REPEAT,
                        "model": "Hawkes: each burglary triggers Poisson(branching) burglaries after Exp(time_scale_days) at "
                                 "the same home (share same_home) or Exp(distance_scale_m) metres away in a uniform direction; "
                                 "background burglary scaled by (1 - branching); triggered events outside the force are dropped"},
        "no_location_share_policeuk": NO_LOCATION_SHARE,
        "offender_home_borough_share": HOME_BOROUGH,
        "detection": {t: {"suspect_identified": d, "charged_if_identified": c} for t, (d, c) in C.DETECTION.items()},
        "arrest_share_of_identified": ARREST_SHARE,
        "outcome_shares": {"no_suspect": C.UNSOLVED_OUTCOMES, "suspect_not_charged": C.SUSPECT_OUTCOMES,
                           "court": C.COURT_OUTCOMES},
        "outcome_lags_months": {"no_suspect": "Geometric(0.6) - 1", "suspect_not_charged": "Geometric(0.4) - 1",
                                "charge (Awaiting court outcome)": "Geometric(0.5) - 1",
                                "court result after charge": "Geometric(0.25)"},
    }
    return CrimeModel(seed=seed, start=start, months=months, month_starts=pd.date_range(start, periods=months + 1, freq="MS"),
                      weights=W, base=base, expected_total=float(crimes),
                      seg_x=seg["x"].to_numpy(), seg_y=seg["y"].to_numpy(), seg_x0=seg["x0"].to_numpy(),
                      seg_y0=seg["y0"].to_numpy(), seg_x1=seg["x1"].to_numpy(), seg_y1=seg["y1"].to_numpy(),
                      seg_borough=pd.factorize(seg["borough_code"], sort=True)[0], bbox=geo.bbox, truth=truth)


def segment_expectations(model: CrimeModel, segments: pd.DataFrame) -> pd.DataFrame:
    """Expected crimes per street segment over the whole period: the noise-free surface the crimes are drawn from.

    One row per segment: ``segment_id``, ``x``, ``y`` (midpoint), ``expected_crimes`` (all types, the interventions'
    effects applied), ``expected_crimes_before_interventions`` (the same without them), then one column per crime type
    (police.uk names, summing to ``expected_crimes``). Each is the sum over months of the Poisson means
    ``base_t(m) * w_ts * effects(s, m, t)``. Burglary includes its expected near-repeat offspring, credited to the
    segment of the background burglary that starts each cascade: background / (1 - branching). Offspring really land
    at the same home (share ``same_home``) or an Exp(``distance_scale_m``) distance away, and a few are lost beyond the
    force's edge or the period's end, so the burglary column is exact in total and approximate within ~100-200 m.
    Values are rounded to 4 decimals (stable file bytes).
    """
    T, S = model.weights.shape
    by_type = np.zeros((T, S))
    for m in range(model.months):
        by_type += model.base[:, m:m + 1] * model.weights * model.multipliers(m)
    before = model.weights * model.base.sum(axis=1, keepdims=True)
    cascade = 1.0 / (1.0 - NEAR_REPEAT["branching"])
    by_type[T_BURGLARY] *= cascade
    before[T_BURGLARY] *= cascade
    out = pd.DataFrame({"segment_id": segments["segment_id"].to_numpy(), "x": segments["x"].to_numpy(),
                        "y": segments["y"].to_numpy(),
                        "expected_crimes": np.round(by_type.sum(axis=0), 4),
                        "expected_crimes_before_interventions": np.round(before.sum(axis=0), 4)})
    for i, t in enumerate(TYPES):
        out[t] = np.round(by_type[i], 4)
    return out


_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


class CrimeStream:
    """Generates months in order, carrying near-repeat burglaries that fall in the next month.

    Also accumulates what later steps and the realised statistics need (recorded offences by offender and
    month, victimisations per person, crimes per segment, persons seen by each system).
    """

    def __init__(self, model: CrimeModel, geo: Geography, people: People):
        self.model, self.geo, self.people = model, geo, people
        S = model.weights.shape[1]
        self.tree = cKDTree(np.column_stack([model.seg_x, model.seg_y]))
        self.victim_sampler = BlockSampler(people.home_segment, people.victim_propensity, S)
        vp = people.victim_propensity
        self.victim_cdf = np.cumsum(vp)
        off_borough = model.seg_borough[people.home_segment[people.offenders]]
        self.n_boroughs = int(model.seg_borough.max()) + 1
        self.offender_sampler = BlockSampler(off_borough, people.offender_propensity, self.n_boroughs)
        self.offender_cdf = np.cumsum(people.offender_propensity)
        self.seg_lsoa = geo.lsoa_index
        self.lsoa_codes = geo.lsoas["code"].to_numpy()
        self.hour_p = np.array([np.array(C.HOUR_PROFILES[t], float) / sum(C.HOUR_PROFILES[t]) for t in TYPES])
        self.hour_cdf = np.cumsum(self.hour_p, axis=1)
        # state
        self.next_month = 0
        self.serial = 0
        self.carry: dict | None = None
        self.recorded = np.zeros((model.months, people.offenders.size), dtype=np.int32)
        self.victimisations = np.zeros(people.n, dtype=np.int32)
        self.segment_counts = np.zeros(S, dtype=np.int64)
        self.seen = {s: np.zeros(2 * people.n + 1, dtype=bool) for s in C.PERSON_SYSTEMS}
        self.probation = np.zeros(people.n, dtype=bool)
        self.n_background = 0
        self.n_triggered = 0
        self.type_counts = np.zeros((len(TYPES), model.months), dtype=np.int64)

    # ---------------------------------------------------------------------------------------------------
    def _positions(self, rng, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        u = rng.random(seg.size)
        j = rng.uniform(-POSITION_JITTER_M, POSITION_JITTER_M, seg.size)
        x0, y0, x1, y1 = m.seg_x0[seg], m.seg_y0[seg], m.seg_x1[seg], m.seg_y1[seg]
        horizontal = y0 == y1
        x = x0 + u * (x1 - x0) + np.where(horizontal, 0, j)
        y = y0 + u * (y1 - y0) + np.where(horizontal, j, 0)
        return np.round(x), np.round(y)

    def _times(self, rng, types: np.ndarray, m: int) -> np.ndarray:
        start = self.model.month_starts[m]
        days = (self.model.month_starts[m + 1] - start).days
        day = rng.integers(0, days, types.size)
        hour = (rng.random(types.size)[:, None] > self.hour_cdf[types]).sum(axis=1).clip(0, 23)
        minute = rng.integers(0, 60, types.size)
        secs = day * 86400 + hour * 3600 + minute * 60
        return np.datetime64(start, "s") + secs.astype("timedelta64[s]")

    def _victims(self, rng, types: np.ndarray, seg: np.ndarray) -> np.ndarray:
        v = np.full(types.size, -1, dtype=np.int64)
        at_home = np.isin(types, [TYPES.index(t) for t in C.VICTIM_AT_HOME])
        v[at_home] = self.victim_sampler.draw(rng, seg[at_home])
        anywhere = np.isin(types, [TYPES.index(t) for t in C.VICTIM_ANYWHERE])
        v[anywhere] = draw_weighted(rng, self.victim_cdf, int(anywhere.sum()))
        return v

    def _offenders(self, rng, types: np.ndarray, seg: np.ndarray) -> np.ndarray:
        o = np.full(types.size, -1, dtype=np.int64)
        has = types != T_ASB
        local = has & (rng.random(types.size) < HOME_BOROUGH)
        o[local] = self.offender_sampler.draw(rng, self.model.seg_borough[seg[local]])
        glob = has & ~local | (local & (o < 0))
        o[glob] = draw_weighted(rng, self.offender_cdf, int(glob.sum()))
        return o

    def _nearest_segment(self, x, y):
        return self.tree.query(np.column_stack([x, y]))[1].astype(np.int64)

    # ---------------------------------------------------------------------------------------------------
    def month(self, m: int) -> pd.DataFrame:
        """Generate month ``m`` (must be called in order 0, 1, 2, …)."""
        if m != self.next_month:
            raise RuntimeError(f"months must be generated in order: expected {self.next_month}, got {m}")
        model, people = self.model, self.people
        rng = rng_for(model.seed, "crimes", 1, m)
        T, S = model.weights.shape
        lam = model.base[:, m:m + 1] * model.weights * model.multipliers(m)
        counts = rng.poisson(lam)
        flat = np.repeat(np.arange(T * S), counts.ravel())
        types = (flat // S).astype(np.int64)
        seg = (flat % S).astype(np.int64)
        x, y = self._positions(rng, seg)
        t = self._times(rng, types, m)
        victim = self._victims(rng, types, seg)
        offender = self._offenders(rng, types, seg)
        parent = np.full(types.size, -1, dtype=np.int64)          # local index of the triggering burglary
        parent_serial = np.full(types.size, -1, dtype=np.int64)   # serial of a triggering burglary in an earlier month
        self.n_background += int(types.size)

        if self.carry is not None and self.carry["t"].size:
            c = self.carry
            types = np.concatenate([types, np.full(c["t"].size, T_BURGLARY)])
            seg, x, y, t = (np.concatenate([seg, c["seg"]]), np.concatenate([x, c["x"]]), np.concatenate([y, c["y"]]),
                            np.concatenate([t, c["t"]]))
            victim, offender = np.concatenate([victim, c["victim"]]), np.concatenate([offender, c["offender"]])
            parent = np.concatenate([parent, np.full(c["t"].size, -1)])
            parent_serial = np.concatenate([parent_serial, c["parent_serial"]])
        self.carry = None

        # --- near-repeat burglary offspring, generation by generation ----------------------------------
        month_end = np.datetime64(model.month_starts[m + 1], "s")
        horizon = np.datetime64(model.month_starts[model.months], "s")
        nr = NEAR_REPEAT
        frontier = np.flatnonzero(types == T_BURGLARY)
        carry_parts = []
        x_lo, y_lo, x_hi, y_hi = model.bbox
        while frontier.size:
            k = rng.poisson(nr["branching"], frontier.size)
            par = np.repeat(frontier, k)
            if par.size == 0:
                break
            dt = np.round(rng.exponential(nr["time_scale_days"] * 86400, par.size) / 60) * 60
            tc = t[par] + np.maximum(dt, 60).astype("timedelta64[s]")
            same = rng.random(par.size) < nr["same_home"]
            dist = rng.exponential(nr["distance_scale_m"], par.size)
            ang = rng.uniform(0, 2 * np.pi, par.size)
            xc = np.where(same, x[par], np.round(x[par] + dist * np.cos(ang)))
            yc = np.where(same, y[par], np.round(y[par] + dist * np.sin(ang)))
            keep = (xc > x_lo) & (xc < x_hi) & (yc > y_lo) & (yc < y_hi) & (tc < horizon)
            par, tc, same, xc, yc = par[keep], tc[keep], same[keep], xc[keep], yc[keep]
            segc = np.where(same, seg[par], self._nearest_segment(xc, yc))
            vic = np.where(same, victim[par], self.victim_sampler.draw(rng, segc))
            keep_off = rng.random(par.size) < nr["same_offender"]
            off_new = self._offenders(rng, np.full(par.size, T_BURGLARY), segc)
            offc = np.where(keep_off, offender[par], off_new)
            self.n_triggered += int(par.size)
            inm = tc < month_end
            if (~inm).any():
                carry_parts.append({"t": tc[~inm], "seg": segc[~inm], "x": xc[~inm], "y": yc[~inm], "victim": vic[~inm],
                                    "offender": offc[~inm], "parent_local": par[~inm]})
            n0 = types.size
            types = np.concatenate([types, np.full(int(inm.sum()), T_BURGLARY)])
            seg, x, y, t = (np.concatenate([seg, segc[inm]]), np.concatenate([x, xc[inm]]), np.concatenate([y, yc[inm]]),
                            np.concatenate([t, tc[inm]]))
            victim, offender = np.concatenate([victim, vic[inm]]), np.concatenate([offender, offc[inm]])
            parent = np.concatenate([parent, par[inm]])
            parent_serial = np.concatenate([parent_serial, np.full(int(inm.sum()), -1)])
            frontier = np.arange(n0, types.size)

        # --- order by time, number the records ---------------------------------------------------------
        order = np.lexsort((seg, types, t))
        inv = np.empty(order.size, dtype=np.int64)
        inv[order] = np.arange(order.size)
        serial0 = self.serial
        self.serial += order.size
        par_serial = np.where(parent >= 0, serial0 + inv[np.maximum(parent, 0)], parent_serial)[order]
        if carry_parts:
            cp = {k: np.concatenate([p[k] for p in carry_parts]) for k in carry_parts[0]}
            cp["parent_serial"] = serial0 + inv[cp.pop("parent_local")]
            self.carry = cp
        types, seg, x, y, t, victim, offender = (a[order] for a in (types, seg, x, y, t, victim, offender))
        frame = self._finish(rng, m, serial0, types, seg, x, y, t, victim, offender, par_serial)
        self.next_month += 1
        return frame

    # ---------------------------------------------------------------------------------------------------
    def _finish(self, rng, m, serial0, types, seg, x, y, t, victim, offender, par_serial) -> pd.DataFrame:
        model, people = self.model, self.people
        n = types.size
        orng = rng_for(model.seed, "outcomes", m)
        asb = types == T_ASB
        det_p = np.array([C.DETECTION.get(tt, (0.0, 0.0))[0] for tt in TYPES])
        chg_p = np.array([C.DETECTION.get(tt, (0.0, 0.0))[1] for tt in TYPES])
        identified = ~asb & (orng.random(n) < det_p[types])
        charged = identified & (orng.random(n) < chg_p[types])

        # outcomes as codes into OUTCOME_CATEGORIES (-1 = none)
        code = {c: i for i, c in enumerate(C.OUTCOME_CATEGORIES)}
        o1 = np.full(n, -1, dtype=np.int64)
        l1 = np.zeros(n, dtype=np.int64)
        o2 = np.full(n, -1, dtype=np.int64)
        l2 = np.zeros(n, dtype=np.int64)
        uns = ~asb & ~identified
        uns_codes = np.array([code[c] for c in C.UNSOLVED_OUTCOMES])
        o1[uns] = uns_codes[orng.choice(uns_codes.size, int(uns.sum()), p=_p(C.UNSOLVED_OUTCOMES))]
        l1[uns] = orng.geometric(0.6, int(uns.sum())) - 1
        sus = identified & ~charged
        sus_codes = np.array([code[c] for c in C.SUSPECT_OUTCOMES])
        cats = sus_codes[orng.choice(sus_codes.size, int(sus.sum()), p=_p(C.SUSPECT_OUTCOMES))]
        drug_warning = cats == code["Offender given a drugs possession warning"]
        cats[drug_warning & (types[sus] != TYPES.index("Drugs"))] = code["Offender given a caution"]
        o1[sus] = cats
        l1[sus] = orng.geometric(0.4, int(sus.sum())) - 1
        o1[charged] = code[C.AWAITING_COURT]
        l1[charged] = orng.geometric(0.5, int(charged.sum())) - 1
        court_codes = np.array([code[c] for c in C.COURT_OUTCOMES])
        o2[charged] = court_codes[orng.choice(court_codes.size, int(charged.sum()), p=_p(C.COURT_OUTCOMES))]
        l2[charged] = l1[charged] + orng.geometric(0.25, int(charged.sum()))
        last_m = model.months - 1
        om1, om2 = m + l1, m + l2
        got1 = (o1 >= 0) & (om1 <= last_m)
        got2 = (o2 >= 0) & (om2 <= last_m)
        last = np.where(got2, o2, np.where(got1, o1, -1))
        last = np.where(~asb & (last < 0), code[C.UNDER_INVESTIGATION], last)
        last_month = np.where(got2, om2, np.where(got1, om1, -1))

        arrested = identified & (orng.random(n) < ARREST_SHARE)
        arrest_t = t + (np.round(orng.exponential(2 * 86400, n) / 60) * 60).astype("timedelta64[s]")
        located = orng.random(n) >= NO_LOCATION_SHARE

        # accumulate statistics and the people each system now holds
        pool_off = offender
        true_off = np.where(pool_off >= 0, people.offenders[np.maximum(pool_off, 0)], -1)
        np.add.at(self.recorded[m], pool_off[identified], 1)
        np.add.at(self.victimisations, victim[victim >= 0], 1)
        self.segment_counts += np.bincount(seg, minlength=self.segment_counts.size)
        self.type_counts[:, m] += np.bincount(types, minlength=len(TYPES))
        prng = rng_for(model.seed, "people", 1000 + m)
        v_ids = np.full(n, -1, dtype=np.int64)
        v_ids[victim >= 0] = people.system_ids(C.RMS_SYSTEM, victim[victim >= 0], prng)
        o_ids = np.full(n, -1, dtype=np.int64)
        o_ids[identified] = people.system_ids(C.RMS_SYSTEM, true_off[identified], prng)
        a_ids = np.full(n, -1, dtype=np.int64)
        a_ids[arrested] = people.system_ids(C.CUSTODY_SYSTEM, true_off[arrested], prng)
        self.seen[C.RMS_SYSTEM][v_ids[v_ids >= 0]] = True
        self.seen[C.RMS_SYSTEM][o_ids[o_ids >= 0]] = True
        self.seen[C.CUSTODY_SYSTEM][a_ids[a_ids >= 0]] = True
        to_prob = got2 & np.isin(o2, [code[c] for c in C.PROBATION_SENTENCES])
        self.probation[true_off[to_prob]] = True

        lon, lat = _lonlat(x, y)
        serial = serial0 + np.arange(n)
        ref = arrow_strings(fixed_ids("SY", serial, 9))
        cid = hex_ids(rng_for(model.seed, "crimes", 2, m), n)
        crime_id = pd.Series(pa.array(cid, type=pa.binary()).cast(pa.string()), dtype=pd.ArrowDtype(pa.string()))
        crime_id = crime_id.where(~asb, None)

        def _ids(system, nums):
            s = pd.Series(pa.array(people.id_strings(system, np.maximum(nums, 0)), type=pa.binary()).cast(pa.string()),
                          dtype=pd.ArrowDtype(pa.string()))
            return s.where(nums >= 0, None)

        month_ts = model.month_starts
        frame = pd.DataFrame({
            "reference": ref,
            "crime_id": crime_id,
            "kind": pd.Categorical(np.where(asb, "asb", "crime"), categories=["crime", "asb"]),
            "occurred": t,
            "month": np.datetime64(month_ts[m], "s"),
            "crime_type": pd.Categorical.from_codes(types, categories=TYPES),
            "x": x, "y": y, "lon": lon, "lat": lat,
            "segment_id": seg.astype(np.int32),
            "lsoa_code": pd.Categorical.from_codes(self.seg_lsoa[seg], categories=self.lsoa_codes),
            "located_on_policeuk": located,
            "victim_id": _ids(C.RMS_SYSTEM, v_ids),
            "offender_id": _ids(C.RMS_SYSTEM, o_ids),
            "outcome": pd.Categorical.from_codes(last, categories=list(C.OUTCOME_CATEGORIES)),
            "outcome_month": pd.Series(_month_or_nat(month_ts, last_month)),
            "first_outcome": pd.Categorical.from_codes(o1, categories=list(C.OUTCOME_CATEGORIES)),
            "first_outcome_month": pd.Series(_month_or_nat(month_ts, np.where(got1, om1, -1))),
            "court_outcome": pd.Categorical.from_codes(o2, categories=list(C.OUTCOME_CATEGORIES)),
            "court_outcome_month": pd.Series(_month_or_nat(month_ts, np.where(got2, om2, -1))),
            "arrest_id": _ids(C.CUSTODY_SYSTEM, a_ids),
            "arrest_time": np.where(arrested, arrest_t, np.datetime64("NaT")).astype("datetime64[s]"),
            "charged": charged,
            # truth columns (exposed through truth_tables['crimes'], not tables['crimes'])
            "true_victim_id": victim,
            "true_offender_id": true_off,
            "near_repeat_of": pd.Series(pa.array(np.where(par_serial >= 0, fixed_ids("SY", np.maximum(par_serial, 0), 9),
                                                          b""), type=pa.binary()).cast(pa.string()),
                                        dtype=pd.ArrowDtype(pa.string())).replace("", None),
        })
        return frame


def _p(d: dict) -> np.ndarray:
    p = np.array(list(d.values()), float)
    return p / p.sum()


def _month_or_nat(month_starts: pd.DatetimeIndex, idx: np.ndarray) -> np.ndarray:
    vals = month_starts.values.astype("datetime64[s]")
    return np.where(idx >= 0, vals[np.clip(idx, 0, len(vals) - 1)], np.datetime64("NaT"))


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from whatworks._geo import from_bng

    lon, lat = from_bng(x, y)
    return np.round(lon, 6), np.round(lat, 6)


RMS_COLUMNS = ["reference", "crime_id", "kind", "occurred", "month", "crime_type", "x", "y", "lon", "lat", "segment_id",
               "lsoa_code", "located_on_policeuk", "victim_id", "offender_id", "outcome", "outcome_month", "first_outcome",
               "first_outcome_month", "court_outcome", "court_outcome_month", "arrest_id", "arrest_time", "charged"]
TRUTH_COLUMNS = ["reference", "true_victim_id", "true_offender_id", "near_repeat_of"]
