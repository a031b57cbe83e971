"""The evidence-based practice (EBP) benchmark survey of senior staff, and its report against the seed's figures
(issue 15, item 7).

The seed benchmarked its own organisation with a survey of 250 senior staff (REFERENCE.md, "Seed benchmark survey"):
all were willing to use before/after designs; over half were unwilling to use a randomised controlled trial at all;
18% would not stop a tactic found ineffective; 99% relied on professional experience daily or weekly; 62% used
newspaper articles; 7% used academic journals regularly.

:data:`QUESTIONNAIRE` is that survey as questions with fixed answer lists; each :class:`EBPItem` says which answers
count towards its headline share and what the seed found. :func:`ebp_report` estimates every share with its
design-based CI (the same estimator as ``Design.proportion``: Taylor-linearised SE, logit interval with t on the
design degrees of freedom) and puts the seed's figure beside it as the comparison row.

Loading responses: one row per respondent, a ``respondent_id``, the design columns (a weight; strata and a
finite-population correction when the sample was stratified) and one column per item named as the questionnaire
names it, holding the answer's text (or SPSS codes with value labels, read with ``store.survey(name, labels=True)``).
:data:`EBP_MAPPING` is the store mapping (``store.ingest_survey(path, mapping=EBP_MAPPING)``, or
:func:`mapping_toml` for ``whatworks ingest survey FILE --mapping ebp.toml``); :func:`response_template` is an empty
table with the columns; ``whatworks.synth.survey_ebp.ebp_responses`` makes synthetic responses with known truth.

Reading the seed's wording (our choices, stated once here and in docs/survey.md):

* "use newspaper articles" = use them at all in the working month: *daily, weekly or monthly*;
* "use academic journals regularly" and "rely on professional experience daily or weekly" = *daily or weekly*;
* "unwilling to use an RCT at all" = the answer *"No, not at all"* (not "only in some circumstances").

The seed's figures are compared as fixed benchmarks: the verdict says whether this survey's interval contains the
seed's figure (or, for "over half", lies above 50%). The seed's own sampling error is unknown (its design is not
reported) and is not added.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, require_dataframe
from whatworks.errors import error

WHERE = "survey.ebp_report"
SEED_N = 250  # respondents in the seed's benchmark survey of senior staff (REFERENCE.md)
SEED_SOURCE = "seed benchmark (250 senior staff)"
THIS_SURVEY = "this survey"
SURVEY_NAME = "ebp"

FREQUENCY = ("Daily", "Weekly", "Monthly", "Rarely", "Never")
YES_NO = ("Yes", "No")


@dataclass(frozen=True)
class EBPItem:
    """One question of the EBP benchmark survey.

    ``counted``: the answers whose share is the item's headline figure. ``seed``: the seed's figure for that share
    (None: the seed gives none), with ``seed_relation`` ``"equal"`` (a figure) or ``"over"`` ("over half"), and the seed's
    own words in ``seed_text``.
    """

    name: str
    question: str
    answers: tuple[str, ...]
    counted: tuple[str, ...]
    indicator: str
    seed: float | None = None
    seed_relation: str = "equal"
    seed_text: str = ""


DEFINITIONS = ("Using the best research evidence on what works", "Using data and analysis of the local problem",
               "Testing what we do and learning from the results", "Following national guidance and best practice",
               "Professional experience and judgement", "Don't know")

QUESTIONNAIRE: tuple[EBPItem, ...] = (
    EBPItem("define_ebp", "Which of these comes closest to what 'evidence-based practice' means to you?", DEFINITIONS,
            ("Using the best research evidence on what works",),
            "define evidence-based practice as using research evidence on what works"),
    EBPItem("willing_before_after", "Would you be willing to evaluate a tactic by comparing before with after?",
            YES_NO, ("Yes",), "willing to use before/after designs", 1.00, "equal", "all willing to use pre/post designs"),
    EBPItem("willing_rct", "Would you be willing to evaluate a tactic with a randomised controlled trial?",
            ("Yes", "Only in some circumstances", "No, not at all"), ("No, not at all",),
            "unwilling to use an RCT at all", 0.50, "over", "over half unwilling to use an RCT at all"),
    EBPItem("stop_ineffective", "If a tactic you use were found to be ineffective, would you stop using it?",
            YES_NO, ("No",), "would not stop a tactic found ineffective", 0.18, "equal", "18% would not stop an ineffective tactic"),
    EBPItem("use_experience", "How often do you rely on your professional experience when deciding what to do?",
            FREQUENCY, ("Daily", "Weekly"), "rely on professional experience daily or weekly", 0.99, "equal",
            "99% rely on professional experience daily or weekly"),
    EBPItem("use_newspapers", "How often do you use newspaper articles when deciding what to do?",
            FREQUENCY, ("Daily", "Weekly", "Monthly"), "use newspaper articles (at least monthly)", 0.62, "equal",
            "62% use newspaper articles"),
    EBPItem("use_journals", "How often do you use academic journals when deciding what to do?",
            FREQUENCY, ("Daily", "Weekly"), "use academic journals regularly (daily or weekly)", 0.07, "equal",
            "7% use academic journals regularly"),
)
ITEMS = {q.name: q for q in QUESTIONNAIRE}

# The store mapping of an EBP response file (store.ingest_survey(path, mapping=EBP_MAPPING)).
EBP_MAPPING = {"survey": {"name": SURVEY_NAME, "id": "respondent_id", "weight": "weight"}}


def questionnaire() -> pd.DataFrame:
    """The questionnaire as a table: ``item``, ``question``, ``answers``, ``counted``, ``indicator``, ``seed``,
    ``seed_relation``, ``seed_text``."""
    return pd.DataFrame([{"item": q.name, "question": q.question, "answers": " | ".join(q.answers),
                          "counted": " | ".join(q.counted), "indicator": q.indicator, "seed": q.seed,
                          "seed_relation": q.seed_relation if q.seed is not None else None, "seed_text": q.seed_text}
                         for q in QUESTIONNAIRE])


def response_template(*, design_columns: Sequence[str] = ("weight",)) -> pd.DataFrame:
    """An empty response table with the columns a response file needs: ``respondent_id``, the design columns, and one
    column per questionnaire item (fill each with the answer's text, exactly as :data:`QUESTIONNAIRE` words it)."""
    return pd.DataFrame(columns=["respondent_id", *design_columns, *(q.name for q in QUESTIONNAIRE)])


def mapping_toml(*, name: str = SURVEY_NAME, weight: str | None = "weight") -> str:
    """The TOML mapping for ``whatworks ingest survey FILE --mapping FILE`` of an EBP response file."""
    lines = ["[survey]", f'name = "{name}"', 'id = "respondent_id"']
    if weight:
        lines.append(f'weight = "{weight}"')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- the steps


def _verdict(item: EBPItem, lo: float, hi: float) -> str:
    """How this survey's interval sits against the seed's figure (pure: one rule)."""
    if item.seed is None:
        return "no seed figure"
    v = item.seed
    if item.seed_relation == "over":
        if lo > v:
            return "consistent with the seed (over half)"
        return "lower than the seed" if hi <= v else f"cannot tell whether over {v:.0%}"
    if lo <= v <= hi:
        return "consistent with the seed"
    return "higher than the seed" if lo > v else "lower than the seed"


def _check_answers(item: EBPItem, s: pd.Series, answered: np.ndarray) -> None:
    bad = answered & ~s.astype(str).isin(item.answers).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"Item '{item.name}' has an answer that is not on the questionnaire.", got=s.iloc[first],
                    row=f"position {first}", expected=f"one of {list(item.answers)}",
                    hint="Recode the answers to the questionnaire's wording (SPSS codes: store.survey(name, "
                         "labels=True)), or set them missing.")
    if answered.sum() < 2:
        raise error(WHERE, f"Item '{item.name}' has fewer than two answers.", got=int(answered.sum()),
                    hint="Leave the item out with items=[...].")


def _share(design, answered: np.ndarray, y: np.ndarray, conf_level: float) -> dict:
    """The weighted share of ``y`` (0/1) among the respondents who answered, as a domain of the full design."""
    from whatworks.survey.estimate import _compute

    sub = design.subset(answered)
    est, se, lo, hi, deff, nobs, _, _ = _compute(sub, y, "proportion", np.zeros(len(y), dtype=np.int64), 1, conf_level)
    return {"estimate": float(est[0]), "se": float(se[0]), "ci_low": float(lo[0]), "ci_high": float(hi[0]),
            "deff": float(deff[0]), "n": int(nobs[0])}


def _resolve_design(design, weights, strata, fpc, settings, quiet):
    from whatworks.survey.design import Design

    if isinstance(design, Design):
        given = {k: v for k, v in (("weights", weights), ("strata", strata), ("fpc", fpc)) if v is not None}
        if given:
            raise error(WHERE, f"{', '.join(given)}= are for a DataFrame; a Design carries its own.", got=given,
                        hint="Pass the DataFrame with weights=/strata=/fpc=, or the Design alone.")
        settings["design"] = Setting(repr(design), "user", "a Design was given")
        return design
    require_dataframe(WHERE, "design", design)
    d = Design(design, weights=weights, strata=strata, fpc=fpc)
    if weights is None:
        settings["weights"] = Setting("none (each respondent counts once)", "default",
                                      "no weights= given: a census or simple random sample of senior staff")
        announce("EBP survey weights set to none: each respondent counts once (no weights= given).", quiet=quiet)
    else:
        settings["weights"] = Setting(weights, "user", "weight column")
    settings["strata"] = Setting(strata, "user" if strata else "default", "stratum column (None: one stratum)")
    settings["fpc"] = Setting(fpc, "user" if fpc else "default", "finite-population correction (None: with replacement)")
    return d


def _choose_items(items, df, settings, quiet) -> list[EBPItem]:
    if items is None:
        chosen = [q for q in QUESTIONNAIRE if q.name in df.columns]
        if not chosen:
            raise error(WHERE, "None of the EBP questionnaire's items is in the data.",
                        expected=f"columns among {list(ITEMS)}", got=list(df.columns)[:12],
                        hint="Rename the columns to the questionnaire's item names (whatworks.survey.ebp.questionnaire()).")
        missing = [q.name for q in QUESTIONNAIRE if q.name not in df.columns]
        settings["items"] = Setting(", ".join(q.name for q in chosen), "data", "the questionnaire's items present in the data")
        announce(f"EBP items set to the {len(chosen)} of {len(QUESTIONNAIRE)} questionnaire items in the data"
                 + (f" (absent: {', '.join(missing)})." if missing else "."), quiet=quiet)
        return chosen
    items = [items] if isinstance(items, str) else list(items)
    unknown = [i for i in items if i not in ITEMS]
    if unknown:
        raise error(WHERE, "Unknown EBP item.", got=unknown[0], expected=f"one of {list(ITEMS)}")
    absent = [i for i in items if i not in df.columns]
    if absent:
        raise error(WHERE, f"Item '{absent[0]}' is not a column of the data.", got=list(df.columns)[:12],
                    hint="Rename the column to the item's name.")
    settings["items"] = Setting(", ".join(items), "user", "items asked for")
    return [ITEMS[i] for i in items]


# ---------------------------------------------------------------------------------------------- the result


@dataclass(frozen=True, repr=False)
class EBPReport(Result):
    """``.table``: per item, a row with ``source`` "this survey" (the weighted share ``estimate``, ``se``,
    ``ci_low``, ``ci_high``, ``deff``, ``n`` answering) and, where the seed gives a figure, the seed's comparison row
    (``estimate`` = the seed's figure, ``n`` = 250), with ``item``, ``indicator``, ``counted``, ``seed_relation``
    ("equal": a figure, "over": "over half"), ``seed_text`` and ``verdict`` (how this survey's interval sits against the seed's
    figure). ``.answers``: every answer's weighted share per item, with its CI. ``.n_respondents``: respondents with
    a non-zero weight."""

    answers: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_respondents: int = 0

    def comparison(self) -> pd.DataFrame:
        """One row per item: this survey's share and interval beside the seed's figure (``seed``; NaN: none)."""
        s = self.table[self.table["source"] == THIS_SURVEY].set_index("item")
        seed = self.table[self.table["source"] == SEED_SOURCE].set_index("item")["estimate"].rename("seed")
        out = s[["indicator", "estimate", "ci_low", "ci_high", "n"]].join(seed)
        return out.assign(seed_relation=s["seed_relation"], verdict=s["verdict"]).reset_index()

    def summary(self) -> str:
        c = self.comparison()
        lvl = self.settings["conf_level"].value
        parts = []
        for _, r in c.iterrows():
            over = "over " if r["seed_relation"] == "over" else ""
            seed = "" if pd.isna(r["seed"]) else f" (seed {over}{r['seed']:.0%}: {r['verdict']})"
            parts.append(f"{r['estimate']:.0%} {r['indicator']} [{r['ci_low']:.0%}–{r['ci_high']:.0%}]{seed}")
        off = c[c["verdict"].isin(["higher than the seed", "lower than the seed"])]
        tail = (" Differs from the seed on: " + "; ".join(off["indicator"]) + "." if len(off)
                else " No figure differs from the seed's beyond this survey's sampling error.")
        return (f"Evidence-based practice benchmark, {self.n_respondents:,} respondents ({lvl:.0%} CIs): "
                + "; ".join(parts) + "." + tail)

    def _headline(self) -> str:
        return f"EBP benchmark, {self.n_respondents} respondents, {len(self.comparison())} items"

    def plot(self, ax=None):
        """The shares with their CIs and the seed's figures (diamonds; a triangle for "over"); returns the Figure."""
        fig = super().plot(ax)
        if ax is None:
            fig.tight_layout()  # a figure of our own: make room for the item labels
        return fig

    def _draw(self, ax) -> None:
        c = self.comparison().iloc[::-1].reset_index(drop=True)
        yy = np.arange(len(c))
        ax.errorbar(c["estimate"] * 100, yy, xerr=[(c["estimate"] - c["ci_low"]) * 100, (c["ci_high"] - c["estimate"]) * 100],
                    fmt="o", color=PALETTE["blue"], ecolor=PALETTE["sky"], capsize=2, label=THIS_SURVEY)
        for rel, marker, label in (("equal", "D", "seed benchmark"), ("over", ">", "seed benchmark: over")):
            m = (c["seed"].notna() & (c["seed_relation"] == rel)).to_numpy()
            if m.any():
                ax.plot(c.loc[m, "seed"] * 100, yy[m], marker, ls="none", color=PALETTE["orange"], label=label)
        ax.set_yticks(yy, [textwrap.fill(t, 34) for t in c["indicator"]])
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"% of senior staff ({self.settings['conf_level'].value:.0%} CI)")
        ax.set_title("Evidence-based practice: this survey against the seed")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False, fontsize=8)


def ebp_report(design, *, weights: str | None = None, strata: str | None = None, fpc: str | None = None,
               items: Sequence[str] | None = None, conf_level: float | None = None, quiet: bool = False) -> EBPReport:
    """Each EBP benchmark item's weighted share with its design-based CI, beside the seed's figure.

    Parameters
    ----------
    design : Design or DataFrame
        The responses, one row per respondent, one column per item of :data:`QUESTIONNAIRE` (answers as its text).
        A DataFrame is made into ``Design(df, weights=weights, strata=strata, fpc=fpc)``.
    weights, strata, fpc : str, optional
        With a DataFrame: the weight, stratum and finite-population-correction columns (see :class:`Design`).
        ``weights=None``: each respondent counts once (announced); ``strata=None``: one stratum; ``fpc=None``:
        sampling with replacement.
    items : list of str, optional
        The items to report. None: every item of the questionnaire present in the data (announced).
    conf_level : float, default 0.95
    quiet : bool, default False
        Silence the announced defaults (still in ``.settings``).

    Returns
    -------
    EBPReport
        ``.table`` (this survey and the seed's comparison row per item), ``.answers``, ``.comparison()``,
        ``.summary()``, ``.plot()``.

    Notes
    -----
    The share of item ``k`` is ``p̂ = Σ w·m·y / Σ w·m`` with ``m`` = answered the item and ``y`` = gave a counted
    answer. Respondents who did not answer are left out of that item only, as a domain of the design (R's
    ``subset``), so its SE stays design-based: Taylor-linearised over strata and PSUs, with the finite-population
    correction. The interval is ``expit(logit p̂ ± t·se / (p̂(1 − p̂)))``, t on the domain's design degrees of freedom
    (R's ``svyciprop(method="logit")``); a share of exactly 0 or 1 (no sampling variance to linearise) gets the
    Clopper–Pearson interval on the respondents who answered (Korn & Graubard 1998).

    Examples
    --------
    >>> from whatworks.synth.survey_ebp import ebp_responses
    >>> df, truth = ebp_responses(seed=0)
    >>> r = ebp_report(df, weights="weight", strata="rank_group", fpc="rank_population", quiet=True)
    >>> r.comparison()[["item", "estimate", "ci_low", "ci_high", "seed", "verdict"]]  # doctest: +SKIP
    """
    settings: dict[str, Setting] = {}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(WHERE, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    d = _resolve_design(design, weights, strata, fpc, settings, quiet)
    df = d.data
    chosen = _choose_items(items, df, settings, quiet)
    inset = d._w != 0
    rows, answers = [], []
    for q in chosen:
        s = df[q.name]
        answered = s.notna().to_numpy() & inset
        _check_answers(q, s, answered)
        text = s.astype(str).to_numpy()
        r = _share(d, answered, np.isin(text, q.counted) & answered, conf_level)
        common = {"item": q.name, "indicator": q.indicator, "counted": " or ".join(q.counted),
                  "seed_relation": q.seed_relation if q.seed is not None else None, "seed_text": q.seed_text}
        rows.append({**common, "source": THIS_SURVEY, **r, "verdict": _verdict(q, r["ci_low"], r["ci_high"])})
        if q.seed is not None:
            rows.append({**common, "source": SEED_SOURCE, "estimate": q.seed, "se": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "deff": np.nan, "n": SEED_N, "verdict": ""})
        for a in q.answers:
            answers.append({"item": q.name, "answer": a, "counted": a in q.counted,
                            **_share(d, answered, (text == a) & answered, conf_level)})
    settings["ci_method"] = Setting("logit", "default", "logit interval, t on the domain's design df (R svyciprop); a "
                                    "share of exactly 0 or 1: Clopper-Pearson on the respondents who answered")
    settings["seed_reading"] = Setting("newspapers: daily/weekly/monthly; journals and experience: daily/weekly; RCT: "
                                       "'No, not at all'", "default", "how the seed's wording maps to the answers "
                                       "(docs/survey.md)")
    cols = ["item", "source", "indicator", "estimate", "se", "ci_low", "ci_high", "deff", "n", "seed_relation",
            "verdict", "counted", "seed_text"]
    return EBPReport(table=pd.DataFrame(rows)[cols], settings=settings, answers=pd.DataFrame(answers),
                     n_respondents=int(inset.sum()))


__all__ = ["EBPItem", "EBPReport", "QUESTIONNAIRE", "EBP_MAPPING", "ebp_report", "questionnaire", "response_template",
           "mapping_toml"]
