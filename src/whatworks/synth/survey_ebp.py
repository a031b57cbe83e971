"""Synthetic answers to the evidence-based practice (EBP) benchmark survey of senior staff, with known truth
(issue 15, item 7; the questionnaire is :data:`whatworks.survey.ebp.QUESTIONNAIRE`).

Design. A force's senior staff are a finite population in four rank groups (:data:`POPULATION`, 2,000 people);
every member has an answer to every item, drawn from the rank group's answer probabilities, or no answer (item
non-response, :data:`ITEM_NONRESPONSE`). A stratified random sample without replacement of :data:`SAMPLE` people
per rank group (250 in all, as the seed's survey; the senior ranks over-sampled) is "interviewed":
``weight`` = ``rank_population`` / interviews in the rank group, ``rank_population`` is the finite-population
correction. The analysis design is therefore ``Design(df, weights="weight", strata="rank_group",
fpc="rank_population")``.

Answers. Each item has base probabilities over its answers (:data:`BASE_PROBABILITIES`, chosen so that the
force-wide shares sit near the seed's figures: all willing to use before/after designs, over half unwilling to use
an RCT at all, 18% would not stop an ineffective tactic, 99% use professional experience daily or weekly, 62% use
newspapers, 7% use academic journals regularly). Rank groups lean towards or away from research evidence:
``p_r(a) ∝ p(a) · exp(LEAN[r] · EVIDENCE_SCORE[item][a])``, so the weighting matters.

Truth (``truth["population_share"]``): for each item, the share of the counted answers among the members of the
population who would answer it — the finite-population quantity a design-based interval covers.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from whatworks._validate import check_number
from whatworks.errors import error
from whatworks.survey.ebp import QUESTIONNAIRE

WHERE = "synth.ebp_responses"
EBP_STREAM = 101  # this generator's own random stream (whatworks.synth._util's streams are 1-10)

RANKS = ("Chief Inspector", "Superintendent", "Chief Superintendent", "Senior police staff")
POPULATION = {"Chief Inspector": 900, "Superintendent": 350, "Chief Superintendent": 150, "Senior police staff": 600}
SAMPLE = {"Chief Inspector": 80, "Superintendent": 60, "Chief Superintendent": 40, "Senior police staff": 70}
# how far each rank group leans towards research evidence (log-odds tilt of the evidence-friendly answers)
LEAN = {"Chief Inspector": -0.2, "Superintendent": 0.1, "Chief Superintendent": 0.4, "Senior police staff": 0.2}

# probabilities in the order of each item's answers (QUESTIONNAIRE)
BASE_PROBABILITIES: dict[str, tuple[float, ...]] = {
    "define_ebp": (0.30, 0.22, 0.12, 0.14, 0.18, 0.04),
    "willing_before_after": (1.0, 0.0),
    "willing_rct": (0.15, 0.30, 0.55),
    "stop_ineffective": (0.82, 0.18),
    "use_experience": (0.80, 0.19, 0.01, 0.0, 0.0),
    "use_newspapers": (0.12, 0.28, 0.22, 0.25, 0.13),
    "use_journals": (0.01, 0.06, 0.17, 0.44, 0.32),
}
# +1 an evidence-friendly answer, -1 the opposite, 0 neutral
EVIDENCE_SCORE: dict[str, tuple[float, ...]] = {
    "define_ebp": (1.0, 0.5, 1.0, 0.0, -1.0, -1.0),
    "willing_before_after": (0.0, 0.0),
    "willing_rct": (1.0, 0.0, -1.0),
    "stop_ineffective": (1.0, -1.0),
    "use_experience": (0.0, 0.0, 0.0, 0.0, 0.0),
    "use_newspapers": (-0.5, -0.25, 0.0, 0.25, 0.5),
    "use_journals": (1.0, 0.5, 0.0, -0.5, -1.0),
}
ITEM_NONRESPONSE = {"define_ebp": 0.02, "willing_before_after": 0.01, "willing_rct": 0.04, "stop_ineffective": 0.03,
                    "use_experience": 0.01, "use_newspapers": 0.02, "use_journals": 0.02}


def rank_probabilities(probabilities: Mapping[str, tuple[float, ...]] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Each rank group's answer probabilities per item: ``{item: {rank: array over the item's answers}}``."""
    base = dict(BASE_PROBABILITIES)
    base.update(probabilities or {})
    out = {}
    for q in QUESTIONNAIRE:
        p = np.asarray(base[q.name], dtype=float)
        if p.shape != (len(q.answers),) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
            raise error(WHERE, f"The probabilities of item '{q.name}' must be one non-negative number per answer, "
                               "adding up to 1.", expected=f"{len(q.answers)} numbers for {list(q.answers)}", got=tuple(p))
        score = np.asarray(EVIDENCE_SCORE[q.name])
        out[q.name] = {}
        for r in RANKS:
            t = p * np.exp(LEAN[r] * score)
            out[q.name][r] = t / t.sum()
    return out


def ebp_responses(seed: int = 0, *, probabilities: Mapping[str, tuple[float, ...]] | None = None,
                  population: Mapping[str, int] | None = None,
                  sample: Mapping[str, int] | None = None) -> tuple[pd.DataFrame, dict]:
    """Synthetic responses to the EBP benchmark survey, and the truth they were drawn from.

    Parameters
    ----------
    seed : int, default 0
        Draws the population's answers and the sample.
    probabilities : mapping, optional
        Replace an item's base answer probabilities (in the order of its answers), e.g.
        ``{"stop_ineffective": (0.7, 0.3)}``. None: :data:`BASE_PROBABILITIES`.
    population, sample : mapping, optional
        Senior staff and interviews per rank group. None: :data:`POPULATION` (2,000) and :data:`SAMPLE` (250).

    Returns
    -------
    (DataFrame, dict)
        One row per respondent: ``respondent_id``, ``rank_group``, ``rank_population``, ``weight`` and one column per
        questionnaire item (the answer's text; missing = no answer). The truth: ``population_share`` (per item, the
        share of its counted answers among the population who would answer), ``population_answer_shares``,
        ``model_share`` (the same from the probabilities, without the finite-population draw), and every parameter.

    Examples
    --------
    >>> from whatworks.synth.survey_ebp import ebp_responses
    >>> df, truth = ebp_responses(seed=0)
    >>> len(df), round(truth["population_share"]["stop_ineffective"], 2)  # doctest: +SKIP
    (250, 0.17)
    """
    check_number(WHERE, "seed", seed, low=0, integer=True)
    pop = dict(POPULATION if population is None else population)
    smp = dict(SAMPLE if sample is None else sample)
    for name, d in (("population", pop), ("sample", smp)):
        if set(d) != set(RANKS):
            raise error(WHERE, f"'{name}' must give a number for every rank group.", expected=list(RANKS), got=list(d))
        for r, v in d.items():
            check_number(WHERE, f"{name}[{r!r}]", v, low=2, integer=True)
    for r in RANKS:
        if smp[r] > pop[r]:
            raise error(WHERE, f"More interviews than staff in rank group {r!r}.", got=f"{smp[r]} of {pop[r]}",
                        hint="A sample without replacement cannot be larger than its population.")
    probs = rank_probabilities(probabilities)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(EBP_STREAM,)))
    pop_answers = {q.name: [] for q in QUESTIONNAIRE}
    frames = []
    for r in RANKS:
        chosen = np.sort(rng.choice(pop[r], size=smp[r], replace=False))
        cols = {}
        for q in QUESTIONNAIRE:
            a = rng.choice(len(q.answers), size=pop[r], p=probs[q.name][r])
            a = np.where(rng.random(pop[r]) < ITEM_NONRESPONSE[q.name], -1, a)
            pop_answers[q.name].append(a)
            cols[q.name] = np.asarray(q.answers, dtype=object)[np.maximum(a[chosen], 0)]
            cols[q.name][a[chosen] < 0] = None
        frames.append(pd.DataFrame({"rank_group": r, "rank_population": pop[r], "weight": pop[r] / smp[r], **cols}))
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "respondent_id", [f"EBP{i + 1:04d}" for i in range(len(df))])

    share, answer_shares, model = {}, {}, {}
    total = sum(pop.values())
    for q in QUESTIONNAIRE:
        a = np.concatenate(pop_answers[q.name])
        answered = a >= 0
        counts = np.bincount(a[answered], minlength=len(q.answers))
        answer_shares[q.name] = {ans: float(c / answered.sum()) for ans, c in zip(q.answers, counts)}
        share[q.name] = float(sum(answer_shares[q.name][c] for c in q.counted))
        # expected share among would-be answerers (non-response is independent of the answer)
        pm = sum(pop[r] / total * probs[q.name][r] for r in RANKS)
        model[q.name] = float(sum(pm[q.answers.index(c)] for c in q.counted))
    truth = {
        "respondents": int(len(df)), "population": pop, "sample": smp,
        "design": "stratified random sample without replacement by rank group; weight = rank_population / interviews; "
                  "analyse as Design(df, weights='weight', strata='rank_group', fpc='rank_population')",
        "lean": LEAN, "evidence_score": EVIDENCE_SCORE, "item_nonresponse": ITEM_NONRESPONSE,
        "probabilities": {k: {r: [round(float(x), 6) for x in v] for r, v in d.items()} for k, d in probs.items()},
        "population_share": share, "population_answer_shares": answer_shares, "model_share": model,
        "definition": "population_share: among the senior staff of the population who would answer the item, the share "
                      "giving one of its counted answers (whatworks.survey.ebp.QUESTIONNAIRE)",
    }
    return df, truth


__all__ = ["ebp_responses", "rank_probabilities", "RANKS", "POPULATION", "SAMPLE", "BASE_PROBABILITIES"]
