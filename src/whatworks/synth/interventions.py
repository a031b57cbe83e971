"""Interventions with known effects, for the trials and impact capabilities to recover.

(a) **Hotspot-patrol RCT** — the ``HOTSPOT_CELLS`` highest-risk street segments, ranked by expected crime and
    randomised in matched pairs (one of each consecutive pair treated). During the trial months, expected crime
    of every type in treated cells is multiplied by ``1 - HOTSPOT_REDUCTION``; nothing is displaced.
(b) **Offender-management programme** — at the programme start month, offenders with a recorded offence in the
    previous 12 months are eligible; participation is more likely for prolific, young offenders from deprived
    areas (a logistic selection model on observables, coefficients in truth). Participation changes nothing:
    the TRUE effect on reoffending is zero, so naive comparisons mislead (selection, regression to the mean).
(c) **Staggered borough policy** — half the boroughs adopt a problem-solving policy at staggered months; from
    adoption, ASB in the borough is multiplied by ``POLICY_EFFECT``. The others never adopt (for DiD).
(d) **Step change** — force-wide, vehicle crime is multiplied by ``STEP_EFFECT`` from the step month (for ITS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks.synth import _constants as C
from whatworks.synth._util import rng_for
from whatworks.synth.crimes import TYPES, CrimeModel, CrimeStream
from whatworks.synth.geography import Geography
from whatworks.synth.people import People

HOTSPOT_CELLS = 100
HOTSPOT_REDUCTION = 0.20
HOTSPOT_TRIAL_MONTHS = 6
POLICY_TYPE = C.ASB
POLICY_EFFECT = 0.85
STEP_TYPE = "Vehicle crime"
STEP_EFFECT = 0.80
OM_FOLLOW_UP = 12
OM_SELECTION = {"intercept": -3.2, "log1p_prior_12m": 1.1, "under_25": 0.6, "deprivation_per_10": 0.15, "male": 0.3}


def _month_label(start: pd.Timestamp, m: int) -> str:
    return (start + pd.DateOffset(months=int(m))).strftime("%Y-%m")


def plan(seed: int, geo: Geography, model: CrimeModel) -> tuple[dict[str, pd.DataFrame], dict]:
    """Choose trial cells, adoption months and the step month; register their effects on ``model``.

    Returns ``(tables, truth)`` with tables ``hotspot_trial``, ``policy_adoption`` and ``interventions``.
    """
    rng = rng_for(seed, "interventions")
    months, start = model.months, model.start
    seg = geo.segments
    # (a) hotspot RCT
    expected = (model.weights * model.base.sum(axis=1, keepdims=True)).sum(axis=0)
    n_cells = int(min(HOTSPOT_CELLS, (len(seg) // 10) * 2))
    cells = np.argsort(-expected, kind="stable")[:n_cells]
    pair = np.arange(n_cells) // 2
    first_treated = rng.random(n_cells // 2) < 0.5
    treated = np.where(np.arange(n_cells) % 2 == 0, first_treated[pair], ~first_treated[pair])
    trial_start = int(round(months * 0.6))
    trial_end = min(months, trial_start + HOTSPOT_TRIAL_MONTHS)   # exclusive
    in_trial = np.zeros(months, bool)
    in_trial[trial_start:trial_end] = True
    seg_mask = np.zeros(len(seg), bool)
    seg_mask[cells[treated]] = True
    model.effects.append((None, seg_mask, in_trial, 1 - HOTSPOT_REDUCTION))
    hotspot = pd.DataFrame({
        "cell_id": [f"HS{i + 1:03d}" for i in range(n_cells)], "segment_id": cells, "pair": pair + 1,
        "arm": np.where(treated, "treatment", "control"),
        "lsoa_code": seg["lsoa_code"].to_numpy()[cells], "borough_code": seg["borough_code"].to_numpy()[cells],
        "street": seg["street"].to_numpy()[cells], "x": seg["x"].to_numpy()[cells], "y": seg["y"].to_numpy()[cells],
        "expected_crimes_per_month": np.round(expected[cells] / months, 3),
        "trial_start": _month_label(start, trial_start), "trial_end": _month_label(start, trial_end - 1),
    })

    # (c) staggered borough policy
    boroughs = geo.areas.loc[geo.areas["level"] == "borough", "code"].to_numpy()
    nb = boroughs.size
    n_adopt = max(1, nb // 2)
    adopters = rng.permutation(nb)[:n_adopt]
    lo, hi = int(round(months * 0.3)), int(round(months * 0.75))
    adopt_months = np.round(np.linspace(lo, hi, n_adopt)).astype(int)
    adoption = np.full(nb, -1)
    adoption[adopters] = adopt_months
    t_idx = TYPES.index(POLICY_TYPE)
    seg_b = seg["borough_code"].to_numpy()
    for bi in adopters:
        mm = np.zeros(months, bool)
        mm[adoption[bi]:] = True
        model.effects.append((t_idx, seg_b == boroughs[bi], mm, POLICY_EFFECT))
    policy = pd.DataFrame({"borough_code": boroughs,
                           "borough": geo.areas.loc[geo.areas["level"] == "borough", "name"].to_numpy(),
                           "adopted": adoption >= 0,
                           "adoption_month": [_month_label(start, a) if a >= 0 else None for a in adoption]})

    # (d) step change
    step_m = int(round(months * 0.55))
    mm = np.zeros(months, bool)
    mm[step_m:] = True
    model.effects.append((TYPES.index(STEP_TYPE), None, mm, STEP_EFFECT))

    om_start = months // 2
    listing = pd.DataFrame([
        {"intervention": "hotspot_patrol_rct", "kind": "randomised controlled trial", "unit": "street segment",
         "start": _month_label(start, trial_start), "end": _month_label(start, trial_end - 1),
         "description": f"{n_cells} hotspot cells randomised in matched pairs; extra patrol in treated cells"},
        {"intervention": "offender_management", "kind": "programme (self-selected)", "unit": "offender",
         "start": _month_label(start, om_start), "end": None,
         "description": "integrated offender management for prolific offenders, selected by case workers"},
        {"intervention": "problem_solving_policy", "kind": "staggered policy", "unit": "borough",
         "start": _month_label(start, int(adopt_months.min())), "end": None,
         "description": f"problem-solving policy adopted by {n_adopt} of {nb} boroughs at staggered dates (targets ASB)"},
        {"intervention": "vehicle_crime_initiative", "kind": "force-wide change", "unit": "force",
         "start": _month_label(start, step_m), "end": None,
         "description": "force-wide vehicle-crime initiative"},
    ])
    truth = {
        "hotspot_rct": {"cells": n_cells, "design": "top cells by expected crime, randomised in matched pairs",
                        "trial_months": [_month_label(start, trial_start), _month_label(start, trial_end - 1)],
                        "effect": "expected crime of every type in treated cells x (1 - reduction) during the trial",
                        "reduction": HOTSPOT_REDUCTION, "rate_ratio": 1 - HOTSPOT_REDUCTION, "displacement": 0.0,
                        "treated_cells": int(treated.sum())},
        "borough_policy": {"crime_type": POLICY_TYPE, "rate_ratio": POLICY_EFFECT,
                           "log_rate_ratio": float(np.log(POLICY_EFFECT)),
                           "adoption": {b: (_month_label(start, a) if a >= 0 else None) for b, a in zip(boroughs, adoption)},
                           "never_adopters": int(nb - n_adopt), "effect_dynamics": "constant from the adoption month"},
        "step_change": {"crime_type": STEP_TYPE, "month": _month_label(start, step_m), "rate_ratio": STEP_EFFECT,
                        "scope": "force-wide, immediate and permanent"},
        "offender_management": {"start_month": _month_label(start, om_start), "true_effect": 0.0,
                                "eligibility": "offenders with at least one recorded offence in the 12 months before start",
                                "selection_logit": OM_SELECTION,
                                "follow_up_months": OM_FOLLOW_UP},
    }
    return {"hotspot_trial": hotspot, "policy_adoption": policy, "interventions": listing}, truth


def om_programme(seed: int, stream: CrimeStream, people: People, geo: Geography) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The offender-management cohort (eligible offenders, who took part, outcomes) once all months are generated.

    Returns ``(table, truth_table, realised)``: the table uses RMS person ids; the truth table adds the true ids.
    """
    model = stream.model
    months = model.months
    start_m = months // 2
    rng = rng_for(seed, "interventions", 1)
    rec = stream.recorded
    prior = rec[max(0, start_m - 12):start_m].sum(axis=0)
    prior_all = rec[:start_m].sum(axis=0)
    follow = min(OM_FOLLOW_UP, months - start_m)
    post = rec[start_m:start_m + follow].sum(axis=0)
    eligible = np.flatnonzero(prior > 0)
    true_id = people.offenders[eligible]
    start_days = (model.month_starts[start_m] - pd.Timestamp("1970-01-01")).days
    age = (start_days - people.dob_days[true_id]) / 365.25
    dep = geo.lsoas["deprivation"].to_numpy()[people.home_lsoa[true_id]]
    male = people.male[true_id]
    s = OM_SELECTION
    logit = (s["intercept"] + s["log1p_prior_12m"] * np.log1p(prior[eligible]) + s["under_25"] * (age < 25)
             + s["deprivation_per_10"] * (dep - 40) / 10 + s["male"] * male)
    p = 1 / (1 + np.exp(-logit))
    takes_part = rng.random(eligible.size) < p
    ids = people.id_strings(C.RMS_SYSTEM, people.system_perm[C.RMS_SYSTEM][true_id]).astype(str)
    # participants are on the probation caseload too (integrated offender management)
    stream.probation[true_id[takes_part]] = True
    table = pd.DataFrame({
        "person_id": ids, "participant": takes_part,
        "start_month": _month_label(model.start, start_m),
        "age": np.round(age, 1), "male": male, "home_lsoa": geo.lsoas["code"].to_numpy()[people.home_lsoa[true_id]],
        "deprivation": dep, "prior_offences_12m": prior[eligible], "prior_offences_total": prior_all[eligible],
        "offences_follow_up": post[eligible], "follow_up_months": follow,
    })
    truth_table = pd.DataFrame({"person_id": ids, "true_person_id": true_id, "selection_probability": np.round(p, 4)})
    tp = takes_part
    realised = {
        "eligible": int(eligible.size), "participants": int(tp.sum()),
        "naive_difference_offences_follow_up": round(float(post[eligible][tp].mean() - post[eligible][~tp].mean()), 4)
        if tp.any() and (~tp).any() else None,
        "participants_before_minus_after_per_12m": round(float((prior[eligible][tp].mean() - post[eligible][tp].mean() * 12 / follow)), 4)
        if tp.any() and follow > 0 else None,
    }
    return table, truth_table, realised
