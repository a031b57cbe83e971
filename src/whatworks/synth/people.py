"""The synthetic force's residents, and how each source system records them (with realistic errors).

Every resident is a *true person* (``true_person_id`` = row number). Victims are drawn from all residents
with a heavy-tailed (gamma) propensity; offenders are a subset with their own heavy-tailed propensity (the
"power few"). Each source system (RMS, custody, stop and search, probation) gives a person its own id —
a keyed permutation of the true id — and a small share of people get a second (duplicate) id in a system.
The records a system holds copy the true details with errors of the kinds linkage must survive: typos,
nicknames, case and spacing, swapped day/month, wrong year, missing values, an old or mistyped postcode.
The true identity of every record is kept only in ``truth_tables['person_identity']``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks.synth import _constants as C
from whatworks.synth._util import fixed_ids, rng_for
from whatworks.synth.geography import Geography

# Age structure (share of residents by 5-year band 0-4 ... 85-89), loosely a UK urban population.
AGE_BANDS = np.array([6.0, 6.0, 6.0, 5.5, 6.5, 7.5, 7.8, 7.5, 7.0, 6.5, 6.5, 6.3, 5.5, 4.8, 4.2, 3.0, 2.2, 1.5])
ID_PREFIX = {C.RMS_SYSTEM: "R", C.CUSTODY_SYSTEM: "C", C.STOPS_SYSTEM: "S", C.PROBATION_SYSTEM: "P"}

# Error rates per system record (documented in docs/synth.md and truth['people']).
ERRORS = {
    "duplicate_id": 0.03,          # a person gets a second id in the system; each event uses it half the time
    "first_name_typo": 0.04, "first_name_nickname": 0.05, "surname_typo": 0.04, "name_case": 0.05,
    "dob_missing": 0.02, "dob_day_month_swapped": 0.02, "dob_year_off_by_one": 0.015,
    "postcode_missing": 0.06, "postcode_previous_address": 0.05, "postcode_typo": 0.02,
    "sex_missing": 0.01, "ethnicity_missing": 0.08,
}
# Repeat victimisation: a small share of victims suffer a large share of crime (Farrell & Pease 1993).
VICTIM_GAMMA_SHAPE = 0.25      # victim propensity ~ Gamma(k, 1/k): small k = heavy-tailed repeat victimisation
OFFENDER_SHARE = 0.03          # share of residents aged 12-59 who ever offend
# The power few: ~6% of a birth cohort committed ~half of recorded offences (Wolfgang, Figlio & Sellin 1972);
# sigma is set so the top 10% of recorded offenders commit over half of recorded offences.
OFFENDER_LOGNORMAL_SIGMA = 2.0  # offender propensity ~ LogNormal(0, sigma)


@dataclass(frozen=True)
class People:
    n: int
    home_lsoa: np.ndarray
    home_segment: np.ndarray
    male: np.ndarray
    dob_days: np.ndarray        # days since 1970-01-01
    group: np.ndarray           # index into ETHNIC_GROUPS
    first_name: np.ndarray      # index into the sex's first-name list
    surname: np.ndarray
    victim_propensity: np.ndarray
    offenders: np.ndarray       # true ids of offenders
    offender_propensity: np.ndarray  # aligned with offenders
    system_perm: dict           # system -> permutation giving each true person's id number in that system
    system_dup: dict            # system -> bool array: person has a duplicate id in that system
    truth: dict

    def system_ids(self, system: str, true_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The id number each event's person carries in ``system`` (duplicates used half the time)."""
        true_ids = np.asarray(true_ids, dtype=np.int64)
        num = self.system_perm[system][true_ids].astype(np.int64)
        use_dup = self.system_dup[system][true_ids] & (rng.random(true_ids.size) < 0.5)
        return np.where(use_dup, num + self.n, num)

    def id_strings(self, system: str, numbers: np.ndarray) -> np.ndarray:
        return fixed_ids(ID_PREFIX[system], numbers, 8)


def build_people(seed: int, geo: Geography, start: pd.Timestamp) -> People:
    rng = rng_for(seed, "people")
    pop = geo.lsoas["population"].to_numpy()
    n = int(pop.sum())
    home_lsoa = np.repeat(np.arange(pop.size), pop)
    n_seg_l = np.bincount(geo.lsoa_index, minlength=pop.size)
    seg_start = np.concatenate([[0], np.cumsum(n_seg_l)[:-1]])
    # residents spread evenly over their area's segments (every segment has residents), in random order
    rank = np.arange(n) - np.repeat(np.concatenate([[0], np.cumsum(pop)[:-1]]), pop)
    order = np.argsort(home_lsoa + rng.random(n))  # area by area, random order within an area
    home_segment = np.empty(n, dtype=np.int64)
    home_segment[order] = seg_start[home_lsoa] + rank % n_seg_l[home_lsoa]

    male = rng.random(n) < 0.49
    band = rng.choice(AGE_BANDS.size, size=n, p=AGE_BANDS / AGE_BANDS.sum())
    age_years = band * 5 + rng.random(n) * 5
    start_days = (start - pd.Timestamp("1970-01-01")).days
    dob_days = (start_days - age_years * 365.25).astype(np.int64)
    cum = np.cumsum(geo.group_shares, axis=1)
    group = (rng.random(n)[:, None] > cum[home_lsoa]).sum(axis=1).clip(0, 3).astype(np.int8)
    fw = 1 / (np.arange(len(C.FIRST_NAMES_M)) + 4.0)
    first_name = np.where(male, rng.choice(len(C.FIRST_NAMES_M), size=n, p=fw / fw.sum()),
                          rng.choice(len(C.FIRST_NAMES_F), size=n, p=fw[: len(C.FIRST_NAMES_F)] / fw[: len(C.FIRST_NAMES_F)].sum()))
    sw = 1 / (np.arange(len(C.SURNAMES)) + 3.0)
    surname = rng.choice(len(C.SURNAMES), size=n, p=sw / sw.sum())

    adult = age_years >= 12
    victim_propensity = np.where(adult, rng.gamma(VICTIM_GAMMA_SHAPE, 1 / VICTIM_GAMMA_SHAPE, n), 0.0)

    dep = geo.lsoas["deprivation"].to_numpy()[home_lsoa]
    eligible = (age_years >= 12) & (age_years < 60)
    p_off = OFFENDER_SHARE * np.where(male, 1.6, 0.4) * np.exp(-(age_years - 22) / 25).clip(0.3, 1.8) * (0.5 + dep / 40)
    is_off = eligible & (rng.random(n) < p_off / np.mean(p_off[eligible] / OFFENDER_SHARE))
    offenders = np.flatnonzero(is_off)
    offender_propensity = rng.lognormal(0.0, OFFENDER_LOGNORMAL_SIGMA, offenders.size)

    system_perm, system_dup = {}, {}
    for i, system in enumerate(C.PERSON_SYSTEMS):
        srng = rng_for(seed, "people", 100 + i)
        system_perm[system] = srng.permutation(n).astype(np.int64) + 1
        system_dup[system] = srng.random(n) < ERRORS["duplicate_id"]

    truth = {
        "residents": n,
        "age_structure": "5-year bands 0-89 with shares " + ", ".join(f"{v:g}" for v in AGE_BANDS / AGE_BANDS.sum() * 100) + " (%)",
        "ethnic_groups": list(C.ETHNIC_GROUPS),
        "ethnic_group_shares_force": {g: round(float(np.mean(group == i)), 4) for i, g in enumerate(C.ETHNIC_GROUPS)},
        "victim_propensity": f"Gamma(shape={VICTIM_GAMMA_SHAPE}, scale={1 / VICTIM_GAMMA_SHAPE}) for residents aged 12+, else 0",
        "offenders": int(offenders.size),
        "offender_selection": f"residents aged 12-59, P = {OFFENDER_SHARE} x (1.6 male / 0.4 female) x age decline x (0.5 + deprivation/40), renormalised",
        "offender_propensity": f"LogNormal(0, sigma={OFFENDER_LOGNORMAL_SIGMA})",
        "systems": {s: {"id_prefix": ID_PREFIX[s], "id_format": ID_PREFIX[s] + "nnnnnnnn"} for s in C.PERSON_SYSTEMS},
        "record_error_rates": dict(ERRORS),
    }
    return People(n=n, home_lsoa=home_lsoa, home_segment=home_segment, male=male, dob_days=dob_days, group=group,
                  first_name=first_name, surname=surname, victim_propensity=victim_propensity, offenders=offenders,
                  offender_propensity=offender_propensity, system_perm=system_perm, system_dup=system_dup, truth=truth)


def _typo(values: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply one keyboard-style error (swap two letters, drop one, or double one) to the masked names."""
    out = values.astype(object).copy()
    idx = np.flatnonzero(mask)
    kinds = rng.integers(0, 3, idx.size)
    pos_u = rng.random(idx.size)
    for j, i in enumerate(idx):  # a few percent of records: a Python loop is clearer than a vectorised edit
        s = out[i]
        if len(s) < 3:
            continue
        p = 1 + int(pos_u[j] * (len(s) - 2))
        if kinds[j] == 0:
            s = s[:p - 1] + s[p] + s[p - 1] + s[p + 1:]
        elif kinds[j] == 1:
            s = s[:p] + s[p + 1:]
        else:
            s = s[:p] + s[p] + s[p:]
        out[i] = s
    return out


def person_records(people: People, system: str, numbers: np.ndarray, geo: Geography, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The person records ``system`` holds for the given id numbers, with errors; and their true identities.

    Returns ``(records, identity)``: records have person_id, first_name, surname, dob, sex, ethnicity, postcode;
    identity has source_system, person_id, true_person_id.
    """
    numbers = np.unique(np.asarray(numbers, dtype=np.int64))
    rng = rng_for(seed, "errors", C.PERSON_SYSTEMS.index(system))
    inv = np.empty(people.n, dtype=np.int64)
    inv[people.system_perm[system] - 1] = np.arange(people.n)
    true_id = inv[(numbers - 1) % people.n]
    k = numbers.size
    male = people.male[true_id]
    first_m = np.array(C.FIRST_NAMES_M, dtype=object)
    first_f = np.array(C.FIRST_NAMES_F, dtype=object)
    first = np.where(male, first_m[np.minimum(people.first_name[true_id], len(first_m) - 1)],
                     first_f[np.minimum(people.first_name[true_id], len(first_f) - 1)])
    nick = np.flatnonzero(rng.random(k) < ERRORS["first_name_nickname"])
    first[nick] = [C.NICKNAMES.get(f, f) for f in first[nick]]
    first = _typo(first, rng.random(k) < ERRORS["first_name_typo"], rng)
    surname = np.array(C.SURNAMES, dtype=object)[people.surname[true_id]]
    surname = _typo(surname, rng.random(k) < ERRORS["surname_typo"], rng)
    upper = rng.random(k) < ERRORS["name_case"]
    surname = np.where(upper, np.char.upper(surname.astype(str)).astype(object), surname)

    dob = pd.to_datetime(people.dob_days[true_id], unit="D")
    year, month, day = dob.year.to_numpy(), dob.month.to_numpy(), dob.day.to_numpy()
    swap = (rng.random(k) < ERRORS["dob_day_month_swapped"]) & (day <= 12) & (day != month)
    month2, day2 = np.where(swap, day, month), np.where(swap, month, day)
    year2 = year + np.where(rng.random(k) < ERRORS["dob_year_off_by_one"], rng.choice([-1, 1], k), 0)
    day2 = np.where((month2 == 2) & (day2 == 29), 28, day2)
    dob_d = ((year2 - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month2 - 1).astype("timedelta64[M]")) \
        .astype("datetime64[D]") + (day2 - 1).astype("timedelta64[D]")
    dob_txt = np.datetime_as_string(dob_d, unit="D").astype(object)
    dob_txt[rng.random(k) < ERRORS["dob_missing"]] = None

    pcs = geo.segments["postcode"].to_numpy()
    postcode = pcs[people.home_segment[true_id]].astype(object)
    moved = rng.random(k) < ERRORS["postcode_previous_address"]
    postcode[moved] = pcs[rng.integers(0, pcs.size, moved.sum())]
    typo = rng.random(k) < ERRORS["postcode_typo"]
    postcode[typo] = [p[:-2] + p[-1] + p[-2] for p in postcode[typo]]
    postcode[rng.random(k) < ERRORS["postcode_missing"]] = None

    sex = np.where(male, "Male", "Female").astype(object)
    sex[rng.random(k) < ERRORS["sex_missing"]] = None
    eth = np.array(C.ETHNIC_GROUPS, dtype=object)[people.group[true_id]]
    eth[rng.random(k) < ERRORS["ethnicity_missing"]] = None
    ids = people.id_strings(system, numbers).astype(str)
    records = pd.DataFrame({"person_id": ids, "first_name": first, "surname": surname, "dob": dob_txt,
                            "sex": sex, "ethnicity": eth, "postcode": postcode})
    identity = pd.DataFrame({"source_system": system, "person_id": ids, "true_person_id": true_id})
    return records, identity
