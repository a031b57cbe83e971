"""A public attitude survey like the Met's PAS, with a confidence model whose coefficients are known.

Design. Each year ``per_year`` interviews, allocated equally to boroughs (strata) and spread evenly over
the period. Respondents are residents aged 16+, drawn within the borough with a response propensity that
favours women and older people (so the unweighted sample is biased, as real samples are). ``design_weight``
is borough adults / borough interviews; ``weight`` rakes the design weights to the population margins
(borough x sex x age band and borough x ethnic group, in ``tables['survey_margins']``).

Items (1 = strongly disagree ... 5 = strongly agree): effectiveness, fair treatment, engagement, visible
presence, feeling informed; they share a common attitude factor plus a borough effect.

Confidence ("the police in this area do a good or excellent job"):
``logit P = intercept + sum_k beta_k (item_k - 3) + beta_contact*recent_contact + beta_event*after_event
+ borough effect + demographic effects``; then Excellent/Good split 25/75, and Fair/Poor/Very poor 60/30/10.
``after_event`` is 1 for interviews in the ``EVENT_WINDOW_DAYS`` days from the event date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks.synth import _constants as C
from whatworks.synth._util import rng_for
from whatworks.synth.geography import Geography
from whatworks.synth.people import People

# Drivers of confidence after the MPS confidence model (Stanko & Bradford 2009): effectiveness, fair treatment,
# engagement, visible presence; recent contact lowers confidence. The intercept puts overall confidence near 65%,
# inside the 57-79% the London PAS recorded over 2012-2022.
ITEMS = ("effectiveness", "fair_treatment", "engagement", "visible_presence", "informed")
COEFFICIENTS = {"intercept": 0.55, "effectiveness": 0.9, "fair_treatment": 0.7, "engagement": 0.5,
                "visible_presence": 0.3, "informed": 0.2, "recent_contact": -0.45, "after_event": -0.6,
                "age_65_plus": 0.25, "age_16_24": -0.15, "black": -0.3}
ITEM_SHIFT = {"effectiveness": 0.25, "fair_treatment": 0.35, "engagement": 0.0, "visible_presence": 0.1, "informed": -0.2}
ITEM_FACTOR_LOADING = 0.65
BOROUGH_SD = 0.25
CONTACT_RATE = 0.18
EVENT_WINDOW_DAYS = 90
AGE_BANDS = ("16-24", "25-34", "35-44", "45-54", "55-64", "65+")
RESPONSE = {"female": 1.25, "male": 1.0, "16-24": 0.6, "25-34": 0.8, "35-44": 1.0, "45-54": 1.1, "55-64": 1.25, "65+": 1.5}
CUTS = np.array([-1.6, -0.6, 0.4, 1.4])  # latent -> 1..5
ANSWERS = ("Excellent", "Good", "Fair", "Poor", "Very poor")


def _age_band(age: np.ndarray) -> np.ndarray:
    return np.select([age < 25, age < 35, age < 45, age < 55, age < 65], list(AGE_BANDS[:5]), AGE_BANDS[5])


def _rake(w: np.ndarray, groups: list[np.ndarray], targets: list[np.ndarray], *, iters: int = 50) -> np.ndarray:
    """Iterative proportional fitting of weights ``w`` to margin totals (hand-written: a few lines, no library
    in our stack rakes; the survey capability has the full-featured version)."""
    w = w.astype(float).copy()
    for _ in range(iters):
        for g, tgt in zip(groups, targets):
            tot = np.bincount(g, weights=w, minlength=tgt.size)
            w *= (tgt / np.where(tot > 0, tot, 1))[g]
    return w


def _population_confidence(seed: int, nb: int, p_bor: np.ndarray, age: np.ndarray, eth: np.ndarray, b_eff: np.ndarray,
                           borough_conf: np.ndarray, period_days: int, event_day: int) -> np.ndarray:
    """Each borough's true confidence: the mean over all its adult residents of P(confident) under the survey's model,
    every resident given items, contact and an interview day from the model (its own random sub-stream, so the
    interviews themselves do not change). What a census of the borough over the period would find, up to a
    Monte Carlo error of about sd(p)/sqrt(adults) (~0.002 for 25,000 adults)."""
    rng = rng_for(seed, "survey", 1)
    n = p_bor.size
    if n == 0 or nb == 0:
        return np.zeros(nb)
    factor = rng.standard_normal(n) + b_eff[p_bor]
    c = COEFFICIENTS
    logit = np.full(n, c["intercept"]) + borough_conf[p_bor]
    for k in ITEMS:
        latent = ITEM_FACTOR_LOADING * factor + np.sqrt(1 - ITEM_FACTOR_LOADING ** 2) * rng.standard_normal(n) + ITEM_SHIFT[k]
        logit += c[k] * ((1 + (latent[:, None] > CUTS).sum(axis=1)) - 3)
    young = age < 25
    contact = rng.random(n) < CONTACT_RATE * np.where(young, 1.5, 1.0)
    day = rng.integers(0, period_days, n)
    after = (day >= event_day) & (day < event_day + EVENT_WINDOW_DAYS)
    logit += (c["recent_contact"] * contact + c["after_event"] * after + c["age_65_plus"] * (age >= 65)
              + c["age_16_24"] * young + c["black"] * (eth == C.ETHNIC_GROUPS.index("Black")))
    p = 1 / (1 + np.exp(-logit))
    return np.bincount(p_bor, weights=p, minlength=nb) / np.maximum(np.bincount(p_bor, minlength=nb), 1)


def build_survey(seed: int, geo: Geography, people: People, *, start: pd.Timestamp, months: int,
                 per_year: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict]:
    rng = rng_for(seed, "survey")
    bor_codes = geo.areas.loc[geo.areas["level"] == "borough", "code"].to_numpy()
    nb = bor_codes.size
    start_days = (start - pd.Timestamp("1970-01-01")).days
    age = (start_days - people.dob_days) / 365.25
    adult = np.flatnonzero(age >= 16)
    p_bor = geo.lsoas["borough_index"].to_numpy()[people.home_lsoa[adult]]
    band = _age_band(age[adult])
    sex = np.where(people.male[adult], "Male", "Female")
    band_i = pd.Categorical(band, categories=AGE_BANDS).codes
    sexage = np.where(people.male[adult], 0, 1) * len(AGE_BANDS) + band_i
    G = len(C.ETHNIC_GROUPS)
    eth = people.group[adult].astype(np.int64)
    pop_sexage = np.bincount(p_bor * 12 + sexage, minlength=nb * 12)
    pop_eth = np.bincount(p_bor * G + eth, minlength=nb * G)

    total = int(round(per_year * months / 12))
    per_b = np.full(nb, total // nb)
    per_b[: total - per_b.sum()] += 1
    resp = np.array([RESPONSE["male"], RESPONSE["female"]])[np.where(people.male[adult], 0, 1)] * \
        np.array([RESPONSE[b] for b in AGE_BANDS])[band_i]
    chosen = []
    for b in range(nb):
        pool = np.flatnonzero(p_bor == b)
        p = resp[pool] / resp[pool].sum()
        chosen.append(rng.choice(pool, size=per_b[b], replace=False, p=p))
    idx = np.concatenate(chosen)
    n = idx.size
    rb = p_bor[idx]
    period_days = (pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timestamp(start)).days
    day = rng.integers(0, period_days, n)
    date = np.datetime64(pd.Timestamp(start), "D") + day.astype("timedelta64[D]")
    order = np.lexsort((rb, day))
    idx, rb, day, date = idx[order], rb[order], day[order], date[order]

    # items
    b_eff = rng.normal(0, BOROUGH_SD, nb)
    factor = rng.standard_normal(n) + b_eff[rb]
    items = {}
    for k in ITEMS:
        latent = ITEM_FACTOR_LOADING * factor + np.sqrt(1 - ITEM_FACTOR_LOADING ** 2) * rng.standard_normal(n) + ITEM_SHIFT[k]
        items[k] = 1 + (latent[:, None] > CUTS).sum(axis=1)
    young = age[adult][idx] < 25
    contact = rng.random(n) < CONTACT_RATE * np.where(young, 1.5, 1.0)
    event_day = int(round(period_days * 0.6))
    event_date = np.datetime64(pd.Timestamp(start), "D") + np.timedelta64(event_day, "D")
    after = (day >= event_day) & (day < event_day + EVENT_WINDOW_DAYS)
    borough_conf = rng.normal(0, 0.2, nb)
    c = COEFFICIENTS
    a = age[adult][idx]
    black = eth[idx] == C.ETHNIC_GROUPS.index("Black")
    logit = (c["intercept"] + sum(c[k] * (items[k] - 3) for k in ITEMS) + c["recent_contact"] * contact
             + c["after_event"] * after + borough_conf[rb] + c["age_65_plus"] * (a >= 65) + c["age_16_24"] * (a < 25)
             + c["black"] * black)
    p = 1 / (1 + np.exp(-logit))
    confident = rng.random(n) < p
    u = rng.random(n)
    answer = np.where(confident, np.where(u < 0.25, ANSWERS[0], ANSWERS[1]),
                      np.where(u < 0.6, ANSWERS[2], np.where(u < 0.9, ANSWERS[3], ANSWERS[4])))

    interviews = np.bincount(rb, minlength=nb)
    # adults per interview by borough (a borough with no interviews has no respondents to weight)
    design = np.divide(np.bincount(p_bor, minlength=nb), interviews, out=np.zeros(nb), where=interviews > 0)[rb]
    sexage_s = sexage[idx]
    eth_s = eth[idx]
    weight = _rake(design, [rb * 12 + sexage_s, rb * G + eth_s], [pop_sexage.astype(float), pop_eth.astype(float)])
    lsoa_codes = geo.lsoas["code"].to_numpy()
    dates = pd.to_datetime(date)
    responses = pd.DataFrame({
        "respondent_id": [f"PAS{i + 1:07d}" for i in range(n)],
        "interview_date": dates,
        "survey_year": ((dates.year - start.year) * 12 + dates.month - start.month) // 12 + 1,
        "borough_code": bor_codes[rb],
        "lsoa_code": lsoa_codes[people.home_lsoa[adult][idx]],
        "sex": sex[idx], "age_band": band[idx], "ethnic_group": np.array(C.ETHNIC_GROUPS)[eth_s],
        "recent_contact": contact,
        **{k: items[k] for k in ITEMS},
        "good_job": answer, "confident": confident,
        "design_weight": np.round(design, 6), "weight": np.round(weight, 6),
    })
    sexage_labels = [f"{s}_{b}" for s in ("Male", "Female") for b in AGE_BANDS]
    margins = pd.concat([
        pd.DataFrame({"borough_code": np.repeat(bor_codes, 12), "variable": "sex_age",
                      "category": np.tile(sexage_labels, nb), "population": pop_sexage}),
        pd.DataFrame({"borough_code": np.repeat(bor_codes, G), "variable": "ethnic_group",
                      "category": np.tile(list(C.ETHNIC_GROUPS), nb), "population": pop_eth}),
    ], ignore_index=True)
    borough_truth = _population_confidence(seed, nb, p_bor, age[adult], eth, b_eff, borough_conf, period_days, event_day)
    truth_table = pd.DataFrame({"respondent_id": responses["respondent_id"], "true_person_id": adult[idx],
                                "after_event": after, "p_confident": np.round(p, 6)})
    truth = {
        "interviews_per_year": per_year, "interviews": int(n), "strata": "boroughs, equal allocation",
        "population": "residents aged 16+ at the start",
        "response_propensity": RESPONSE,
        "weights": "design_weight = borough adults / borough interviews; weight = design weight raked to sex x age band and "
                   "ethnic group margins within borough (survey_margins)",
        "items": {"scale": "1 strongly disagree .. 5 strongly agree", "names": list(ITEMS),
                  "model": f"latent = {ITEM_FACTOR_LOADING}*(N(0,1) + borough N(0,{BOROUGH_SD})) + sqrt(1-{ITEM_FACTOR_LOADING}^2)*N(0,1) + shift; "
                           f"cut at {CUTS.tolist()}", "shift": ITEM_SHIFT},
        "confidence_model": {"link": "logit", "outcome": "confident = good_job in (Excellent, Good)",
                             "terms": "intercept + sum beta_item*(item-3) + recent_contact + after_event + borough N(0,0.2) + "
                                      "age_65_plus + age_16_24 + black",
                             "coefficients": COEFFICIENTS,
                             "borough_effects": {b: round(float(v), 4) for b, v in zip(bor_codes, borough_conf)}},
        "recent_contact_rate": f"{CONTACT_RATE} (x1.5 for 16-24)",
        "event": {"date": str(pd.Timestamp(event_date).date()), "window_days": EVENT_WINDOW_DAYS,
                  "logit_shift": COEFFICIENTS["after_event"]},
        "borough_confidence": {b: round(float(v), 6) for b, v in zip(bor_codes, borough_truth)},
        "borough_confidence_definition": "mean over every adult resident of the borough of P(confident) under the model, "
                                         "with items, recent contact and an interview day (uniform over the period) drawn "
                                         "for each resident from the survey's own model (sub-stream survey/1): the share "
                                         "a perfect survey of the borough would find",
        "answer_split": {"confident": {"Excellent": 0.25, "Good": 0.75},
                         "not_confident": {"Fair": 0.6, "Poor": 0.3, "Very poor": 0.1}},
    }
    return {"survey": responses, "survey_margins": margins}, truth_table, truth
