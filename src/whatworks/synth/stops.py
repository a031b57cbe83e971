"""Stop and search with a known disproportionality ratio and known find rates.

Each month ``STOP_RATIO`` x the month's expected crime searches are made. Person searches are split between
ethnic groups in proportion to ``residents_g x RATE_RATIO_g`` across the force, so the force-level search rate
per resident of group g, divided by the White rate, is ``RATE_RATIO_g`` in expectation (the disproportionality
ratio relative to the resident population). Within a group, the small area is drawn in proportion to that
group's residents there times ``(crime per resident)^AREA_CRIME_POWER``, the person from that group's
residents of the area (known offenders ``OFFENDER_WEIGHT`` times as likely), and the place from the area's
segments by crime risk. The object is found (``Outcome linked to object of search`` = True) with
probability ``FIND_RATE_g`` of the searched person's true group, independently of everything else (area, person,
age, object, legislation, month), so ``FIND_RATE_g`` is the marginal find rate of group g.

Officer-defined ethnicity is replaced by a uniformly random group (possibly the true one) with probability
``OFFICER_MISCLASSIFIED``, so find rates by officer-defined ethnicity are mixtures of the true groups' rates; their
expected values are in the truth (:meth:`StopModel.officer_defined_find_rate`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks.synth import _constants as C
from whatworks.synth._util import BlockSampler, rng_for
from whatworks.synth.crimes import CrimeModel, _lonlat
from whatworks.synth.geography import Geography
from whatworks.synth.people import People

STOP_RATIO = 0.08
RATE_RATIO = {"White": 1.0, "Black": 3.5, "Asian": 1.4, "Other": 1.2}
FIND_RATE = {"White": 0.30, "Black": 0.22, "Asian": 0.26, "Other": 0.27}
AREA_CRIME_POWER = 0.7
OFFENDER_WEIGHT = 6.0
NO_LOCATION_SHARE = 0.05
NOT_STATED_SHARE = 0.10
OFFICER_MISCLASSIFIED = 0.05


class StopModel:
    def __init__(self, seed: int, geo: Geography, people: People, model: CrimeModel):
        self.seed, self.geo, self.people, self.model = seed, geo, people, model
        n_l = len(geo.lsoas)
        G = len(C.ETHNIC_GROUPS)
        self.residents = np.bincount(people.home_lsoa * G + people.group, minlength=n_l * G).reshape(n_l, G)
        seg_w = model.weights.T @ model.base.sum(axis=1)
        crime_l = np.bincount(geo.lsoa_index, weights=seg_w, minlength=n_l)
        per_res = crime_l / np.maximum(self.residents.sum(axis=1), 1)
        area_p = self.residents * (per_res[:, None] ** AREA_CRIME_POWER)
        self.area_cdf = np.cumsum(area_p, axis=0)  # per group column
        is_off = np.zeros(people.n, bool)
        is_off[people.offenders] = True
        start_days = (model.month_starts[0] - pd.Timestamp("1970-01-01")).days
        age = (start_days - people.dob_days) / 365.25
        w = np.where(age >= 10, 1.0 + (OFFENDER_WEIGHT - 1) * is_off, 0.0)
        self.person_sampler = BlockSampler(people.home_lsoa * G + people.group, w, n_l * G)
        self.segment_sampler = BlockSampler(geo.lsoa_index, seg_w, n_l)
        pop_g = self.residents.sum(axis=0).astype(float)
        rr = np.array([RATE_RATIO[g] for g in C.ETHNIC_GROUPS])
        self.group_p = pop_g * rr / (pop_g * rr).sum()
        self.pop_g = pop_g

    def officer_defined_find_rate(self) -> dict[str, float]:
        """Expected find rate of the searches an officer records as each group.

        With ``p_g`` the share of searches of true group g (``group_p``), ``m`` = ``OFFICER_MISCLASSIFIED`` and
        G groups, P(recorded o | true g) = (1 - m)·[g = o] + m/G, so the rate for recorded group o is
        ``Σ_g p_g P(o|g) FIND_RATE_g / Σ_g p_g P(o|g)``.
        """
        G = len(C.ETHNIC_GROUPS)
        find = np.array([FIND_RATE[g] for g in C.ETHNIC_GROUPS])
        recorded = (1 - OFFICER_MISCLASSIFIED) * np.eye(G) + OFFICER_MISCLASSIFIED / G   # [true g, recorded o]
        joint = self.group_p[:, None] * recorded
        return {o: float(joint[:, j] @ find / joint[:, j].sum()) for j, o in enumerate(C.ETHNIC_GROUPS)}

    def truth(self) -> dict:
        return {
            "searches_per_expected_crime": STOP_RATIO,
            "rate_ratio_vs_white": RATE_RATIO,
            "definition": "person searches per resident of the group / person searches per White resident, force-wide",
            "residents_by_group": {g: int(v) for g, v in zip(C.ETHNIC_GROUPS, self.pop_g)},
            "find_rate": FIND_RATE,
            "find_definition": "share of person searches with 'Outcome linked to object of search' = True, by the "
                               "searched person's true group (truth_tables['stops'].group); the same for every area, "
                               "age, object and month",
            "find_rate_officer_defined": self.officer_defined_find_rate(),
            "find_rate_officer_defined_definition": "expected share found among searches recorded with each "
                                                    "officer-defined ethnicity: the true groups' find rates mixed by "
                                                    "the misclassification (see officer_defined_misclassified_share)",
            "search_type_shares": C.SEARCH_TYPES,
            "object_shares": {k: v[0] for k, v in C.OBJECTS.items()},
            "area_model": f"residents of group in area x (crime per resident)^{AREA_CRIME_POWER}",
            "known_offender_weight": OFFENDER_WEIGHT,
            "self_defined_not_stated_share": NOT_STATED_SHARE,
            "officer_defined_misclassified_share": OFFICER_MISCLASSIFIED,
            "no_location_share_policeuk": NO_LOCATION_SHARE,
            "hour_profile": C.HOUR_PROFILES["Drugs"],
            "outcomes": {"object found": C.FIND_OUTCOMES,
                         "not found": {C.NFA: 0.92, "Arrest": 0.08 * 0.6, "Community resolution": 0.08 * 0.4}},
            "removal_of_more_than_outer_clothing": {"True": 0.03, "False": 0.97 * 0.85, "blank": 0.97 * 0.15},
            "part_of_a_policing_operation": {"False": 0.9, "blank": 0.1},
            "location_jitter_m": "U(-20, 20) on each axis around the segment midpoint",
        }

    def month(self, m: int, serial0: int) -> tuple[pd.DataFrame, np.ndarray]:
        model, people, geo = self.model, self.people, self.geo
        rng = rng_for(self.seed, "stops", m)
        n = rng.poisson(STOP_RATIO * model.base[:, m].sum())
        stype = rng.choice(list(C.SEARCH_TYPES), n, p=np.array(list(C.SEARCH_TYPES.values())))
        person = stype != "Vehicle search"
        G = len(C.ETHNIC_GROUPS)
        group = rng.choice(G, n, p=self.group_p)
        # area for each search, drawn within its group's column
        lsoa = np.empty(n, dtype=np.int64)
        for g in range(G):
            sel = group == g
            cdf = self.area_cdf[:, g]
            lsoa[sel] = np.minimum(np.searchsorted(cdf, rng.random(int(sel.sum())) * cdf[-1], side="right"), cdf.size - 1)
        subject = self.person_sampler.draw(rng, lsoa * G + group)
        person &= subject >= 0
        seg = self.segment_sampler.draw(rng, lsoa)
        x = np.round(model.seg_x[seg] + rng.uniform(-20, 20, n))
        y = np.round(model.seg_y[seg] + rng.uniform(-20, 20, n))
        start = np.datetime64(model.month_starts[m], "s")
        days = (model.month_starts[m + 1] - model.month_starts[m]).days
        hp = np.array(C.HOUR_PROFILES["Drugs"], float)
        secs = rng.integers(0, days, n) * 86400 + rng.choice(24, n, p=hp / hp.sum()) * 3600 + rng.integers(0, 60, n) * 60
        t = start + secs.astype("timedelta64[s]")
        # UK local time: move times in the spring-forward gap on, read the autumn repeated hour as BST
        loc = pd.DatetimeIndex(t).tz_localize("Europe/London", ambiguous=np.ones(n, bool), nonexistent="shift_forward")
        wall = loc.tz_localize(None)
        offset = np.asarray((wall - loc.tz_convert("UTC").tz_localize(None)).total_seconds() // 60, dtype=np.int64)
        t = wall.values.astype("datetime64[s]")

        objs = list(C.OBJECTS)
        obj = rng.choice(len(objs), n, p=np.array([C.OBJECTS[o][0] for o in objs]))
        find_p = np.array([FIND_RATE[g] for g in C.ETHNIC_GROUPS])[group]
        found = rng.random(n) < find_p
        fo = list(C.FIND_OUTCOMES)
        outcome = np.where(found, np.array(fo)[rng.choice(len(fo), n, p=np.array(list(C.FIND_OUTCOMES.values())))],
                           np.where(rng.random(n) < 0.92, C.NFA, np.where(rng.random(n) < 0.6, "Arrest", "Community resolution")))
        drugs = np.array(objs)[obj] == "Controlled drugs"
        outcome = np.where((outcome == "Khat or Cannabis warning") & ~drugs, "Community resolution", outcome)
        linked = np.where(found, "True", np.where(outcome == C.NFA, None, "False")).astype(object)

        start_days = (model.month_starts[m] - pd.Timestamp("1970-01-01")).days
        subj = np.maximum(subject, 0)
        age = (start_days - people.dob_days[subj]) / 365.25
        age_range = np.select([age < 10, age < 18, age < 25, age < 35], list(C.AGE_RANGES[:4]), C.AGE_RANGES[4])
        gender = np.where(people.male[subj], "Male", "Female")
        self_def = np.array([C.SELF_DEFINED[C.ETHNIC_GROUPS[g]][int(u * len(C.SELF_DEFINED[C.ETHNIC_GROUPS[g]]))]
                             for g, u in zip(group, rng.random(n))], dtype=object)
        self_def[rng.random(n) < NOT_STATED_SHARE] = C.NOT_STATED
        officer = np.array(C.ETHNIC_GROUPS, dtype=object)[group]
        mis = rng.random(n) < OFFICER_MISCLASSIFIED
        officer[mis] = np.array(C.ETHNIC_GROUPS, dtype=object)[rng.integers(0, G, int(mis.sum()))]
        removal = np.where(rng.random(n) < 0.03, "True", np.where(rng.random(n) < 0.85, "False", None)).astype(object)
        operation = np.where(rng.random(n) < 0.9, "False", None).astype(object)
        prng = rng_for(self.seed, "people", 5000 + m)
        pid = np.full(n, -1, dtype=np.int64)
        pid[person] = people.system_ids(C.STOPS_SYSTEM, subject[person], prng)
        located = rng.random(n) >= NO_LOCATION_SHARE
        lon, lat = _lonlat(x, y)
        blank = ~person
        frame = pd.DataFrame({
            "reference": [f"SS{v:09d}" for v in serial0 + np.arange(n)],
            "occurred": t, "utc_offset_minutes": offset, "month": np.datetime64(model.month_starts[m], "s"),
            "search_type": stype, "part_of_operation": operation, "operation_name": None,
            "x": x, "y": y, "lon": lon, "lat": lat, "segment_id": seg.astype(np.int32),
            "lsoa_code": geo.lsoas["code"].to_numpy()[lsoa], "located_on_policeuk": located,
            "gender": np.where(blank, None, gender), "age_range": np.where(blank, None, age_range),
            "self_defined_ethnicity": np.where(blank, None, self_def),
            "officer_defined_ethnicity": np.where(blank, None, officer),
            "group": np.array(C.ETHNIC_GROUPS)[group],
            "legislation": np.array([C.OBJECTS[o][1] for o in objs])[obj], "object_of_search": np.array(objs)[obj],
            "outcome": outcome, "outcome_linked_to_object": linked,
            "removal_of_more_than_outer_clothing": np.where(blank, None, removal),
            "person_id": pd.Series(np.where(pid >= 0, people.id_strings(C.STOPS_SYSTEM, np.maximum(pid, 0)).astype(str), None)),
            "true_person_id": np.where(person, subject, -1),
        })
        return frame, pid[pid >= 0]


STOP_TRUTH_COLUMNS = ["reference", "group", "true_person_id"]
