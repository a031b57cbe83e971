"""The tasking view: for each priority problem, the register's tactics that target it, strongest evidence first.

For each problem (a Gi* hot spot, a repeat-victim cohort, a prolific-offender cohort, a confidence gap …) with a
``problem_type``, every tactic in the register whose ``target_problem`` is that type (from the force's interventions
and from external studies) is listed with:

* ``best_level``: the highest Maryland SMS level of any evidence on the tactic with an effect and SE;
* the effect: a random-effects (REML) pool of the robust evidence (SMS level ≥ 3, ``ROBUST_LEVEL``: Sherman et al.
  1997 count only level 3 and above towards "what works") on one measure, or the single robust estimate;
* ``verdict``: ``works`` (robust, interval wholly below 0 — fewer crimes; ratios are on the log scale), ``harmful``
  (wholly above 0), ``no effect`` (robust, and the whole interval lies within the equivalence margin: a change of
  less than 10% either way on a ratio scale, ``EQUIVALENCE_RATIO``), ``inconclusive`` (robust, but the interval spans 0
  and also reaches effects bigger than that margin: absence of evidence is not evidence of absence), or
  ``no robust evidence`` (nothing at level 3+);
* ``expected_reduction``: 1 − exp(estimate) for log ratios (the share of crime prevented), else −estimate;
* ``still_running_despite_no_effect``: the force runs the tactic (an intervention with status ``running``) while
  the robust evidence shows no effect or harm — the seed's "18% would not stop an ineffective tactic".

Tactics are ranked within each problem by verdict (works first, no robust evidence, no effect, harmful), then SMS
level, then expected reduction. A problem with no tactic in the register says so plainly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns, require_dataframe
from whatworks.errors import error
from whatworks.evidence.meta import meta
from whatworks.evidence.registry import Register, best_evidence

ROBUST_LEVEL = 3
PROBLEM_TYPES = ("hot spot", "repeat victims", "prolific offenders", "confidence gap")
_ORDER = {"works": 0, "inconclusive": 1, "no robust evidence": 2, "no effect": 3, "harmful": 4,
          "no tactic in the register": 5}
# An interval wholly within a 10% change either way (rate ratio 1/1.1 to 1.1) is read as "no effect"; an interval that
# spans 0 but is wider than that is "inconclusive". A difference on its own scale has no margin, so it is never read
# as "no effect" (only "inconclusive").
EQUIVALENCE_RATIO = 1.1
_LOG = ("log rate ratio", "log odds ratio", "log risk ratio")

__all__ = ["tasking", "TaskingResult", "PROBLEM_TYPES", "ROBUST_LEVEL"]


@dataclass(frozen=True, repr=False)
class TaskingResult(Result):
    """One row per problem × tactic: ``problem``, ``problem_type``, ``rank``, ``tactic``, ``verdict``,
    ``best_level``, ``n_evidence``, ``n_robust``, ``measure``, ``estimate``, ``ci_low``, ``ci_high``,
    ``expected_reduction``, ``running``, ``still_running_despite_no_effect``, ``reading`` (plain English)."""

    def _headline(self) -> str:
        return f"{self.table['problem'].nunique()} problems, {int(self.table['tactic'].notna().sum())} tactic rows"

    def summary(self) -> str:
        lines = []
        for problem, t in self.table.groupby("problem", sort=False):
            lines.append(f"{problem}: " + "; ".join(t["reading"]))
        flagged = self.table[self.table["still_running_despite_no_effect"]]
        if len(flagged):
            lines.append("Still running despite evidence of no effect: " + ", ".join(flagged["tactic"].unique()) + ".")
        return "\n".join(lines)

    def _draw(self, ax) -> None:
        t = self.table[self.table["tactic"].notna()].reset_index(drop=True)
        colours = t["verdict"].map({"works": PALETTE["green"], "no effect": PALETTE["grey"], "inconclusive": PALETTE["sky"],
                                    "harmful": PALETTE["vermillion"], "no robust evidence": PALETTE["yellow"]})
        import textwrap

        # long problem names are wrapped so the bars keep the width of the figure
        labels = [textwrap.fill(f"{p}: {tac}", 38) for p, tac in zip(t["problem"], t["tactic"])]
        ax.barh(labels, t["best_level"].fillna(0), color=colours)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(0, 5)
        ax.set_xlabel("best Maryland SMS level (colour: verdict)")


def _assess(ev: pd.DataFrame) -> dict:
    ev = ev[pd.to_numeric(ev["se"], errors="coerce").notna()]
    lvl = pd.to_numeric(ev["sms_level"], errors="coerce")
    robust = ev[lvl >= ROBUST_LEVEL]
    out = {"best_level": float(lvl.max()) if lvl.notna().any() else np.nan, "n_evidence": len(ev),
           "n_robust": len(robust), "measure": None, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "expected_reduction": np.nan, "verdict": "no robust evidence"}
    if not len(robust):
        return out
    measure = robust["measure"].mode().iloc[0] if robust["measure"].notna().any() else None
    same = robust[robust["measure"] == measure] if measure is not None else robust
    y, se = same["estimate"].astype(float).to_numpy(), same["se"].astype(float).to_numpy()
    if len(same) >= 2:
        r = meta(y, se, method="REML")
        est, lo, hi = r.estimate, r.ci_low, r.ci_high
    else:
        est = float(y[0])
        lo = float(same["ci_low"].iloc[0]) if pd.notna(same["ci_low"].iloc[0]) else est - 1.959964 * se[0]
        hi = float(same["ci_high"].iloc[0]) if pd.notna(same["ci_high"].iloc[0]) else est + 1.959964 * se[0]
    margin = np.log(EQUIVALENCE_RATIO) if measure in _LOG else 0.0
    if hi < 0:
        verdict = "works"
    elif lo > 0:
        verdict = "harmful"
    elif margin > 0 and -margin <= lo and hi <= margin:
        verdict = "no effect"
    else:
        verdict = "inconclusive"
    red = 1 - np.exp(est) if measure in _LOG else -est
    out.update(measure=measure, estimate=est, ci_low=lo, ci_high=hi, expected_reduction=float(red), verdict=verdict)
    return out


def _reading(tactic, a, running) -> str:
    if a["verdict"] == "no robust evidence":
        text = f"{tactic}: no robust evidence (nothing at Maryland level {ROBUST_LEVEL} or above)"
    elif a["verdict"] == "works":
        text = (f"{tactic}: works (level {a['best_level']:.0f}; expected {a['expected_reduction']:.0%} fewer, "
                f"from {a['n_robust']} robust stud{'y' if a['n_robust'] == 1 else 'ies'})")
    elif a["verdict"] == "no effect":
        text = (f"{tactic}: robust evidence of no effect (level {a['best_level']:.0f}; the interval rules out a change "
                f"of {EQUIVALENCE_RATIO - 1:.0%} either way)")
    elif a["verdict"] == "inconclusive":
        text = (f"{tactic}: inconclusive (level {a['best_level']:.0f}): the interval includes no change and also "
                "changes big enough to matter; more or larger evaluations are needed")
    else:
        text = f"{tactic}: robust evidence of harm (level {a['best_level']:.0f})"
    if running and a["verdict"] in ("no effect", "harmful"):
        text += " - STILL RUNNING: review whether to stop it"
    return text


def tasking(problems: pd.DataFrame, register: Register, *, problem: str = "problem",
            problem_type: str = "problem_type", quiet: bool = False) -> TaskingResult:
    """Turn priority problems into a ranked list of evidenced tactics (see the module docstring).

    Parameters
    ----------
    problems : DataFrame
        One row per priority problem: a label column (``problem``) and its type (``problem_type``), e.g.
        ``"hot spot"``, ``"repeat victims"``, ``"prolific offenders"``, ``"confidence gap"`` — matched to the
        register's ``target_problem``.
    register : Register
        ``store.register()``.

    Returns
    -------
    TaskingResult
    """
    del quiet
    where = "tasking"
    require_dataframe(where, "problems", problems)
    require_columns(where, problems, [problem, problem_type], arg="problems")
    if not isinstance(register, Register):
        raise error(where, "'register' must be a whatworks.evidence.Register.", got=type(register).__name__,
                    hint="Use store.register().")
    iv, st = register.interventions, register.studies
    rows = []
    for _, p in problems.iterrows():
        ptype = p[problem_type]
        tactics = list(dict.fromkeys(list(iv.loc[iv["target_problem"] == ptype, "tactic"])
                                     + list(st.loc[st["target_problem"] == ptype, "tactic"])))
        if not tactics:
            rows.append({"problem": p[problem], "problem_type": ptype, "tactic": None,
                         "verdict": "no tactic in the register", "best_level": np.nan, "n_evidence": 0,
                         "n_robust": 0, "measure": None, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "expected_reduction": np.nan, "running": False, "still_running_despite_no_effect": False,
                         "reading": f"no tactic in the register targets a {ptype}: no robust evidence to task on"})
            continue
        for tac in tactics:
            a = _assess(best_evidence(register, tac))
            running = bool(((iv["tactic"] == tac) & (iv["status"] == "running")).any())
            rows.append({"problem": p[problem], "problem_type": ptype, "tactic": tac, **a, "running": running,
                         "still_running_despite_no_effect": running and a["verdict"] in ("no effect", "harmful"),
                         "reading": _reading(tac, a, running)})
    t = pd.DataFrame(rows)
    t["_v"] = t["verdict"].map(_ORDER)
    t["_p"] = pd.Categorical(t["problem"], categories=list(dict.fromkeys(t["problem"])), ordered=True)
    t = t.sort_values(["_p", "_v", "best_level", "expected_reduction"], ascending=[True, True, False, False],
                      na_position="last", kind="stable").drop(columns=["_v", "_p"]).reset_index(drop=True)
    t.insert(2, "rank", t.groupby("problem", sort=False).cumcount() + 1)
    cols = ["problem", "problem_type", "rank", "tactic", "verdict", "best_level", "n_evidence", "n_robust", "measure",
            "estimate", "ci_low", "ci_high", "expected_reduction", "running", "still_running_despite_no_effect",
            "reading"]
    return TaskingResult(table=t[cols], settings={"robust_level": Setting(ROBUST_LEVEL, "default",
                                                                            "lowest Maryland SMS level counted as robust")})
