"""Grading evidence: the Maryland Scientific Methods Scale (SMS) from a recorded design, and EMMIE ratings.

Maryland SMS (Sherman et al. 1997, *Preventing Crime: what works, what doesn't, what's promising*):
1 correlation at one time; 2 before/after, or a comparison without shown comparability; 3 before/after with
comparable treated and untreated units; 4 multiple units with controls for other factors, or comparison units with
only minor differences; 5 random assignment.

:func:`sms_level` suggests a level from the design (a design name with its checks, or a design record carried by a
``whatworks.impact`` result, used through its ``sms_hint()``), with the reasoning. The suggestion is not a grade:
:func:`grade` records the analyst's level, and a level different from the suggestion needs a reason, which is kept.

EMMIE (Johnson, Tilley & Bowers 2015; the College of Policing Crime Reduction Toolkit) rates five dimensions —
Effect, Mechanism, Moderators, Implementation, Economics; :func:`emmie` checks a rating per dimension on 0 (no
evidence) to 4 (strong evidence), as the analyst records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from whatworks.errors import error
from whatworks.impact import SMS_RULES

SMS_LABELS = {
    1: "correlation at one time",
    2: "before/after, or a comparison without shown comparability",
    3: "before/after with comparable treated and untreated units",
    4: "multiple units with controls for other factors, or comparison units with only minor differences",
    5: "random assignment",
}

# design -> (level when every check passed, level when any failed, why). The impact designs are whatworks.impact's own
# rules (one table: a design record and its name grade the same); the other designs a register may record are added here.
DESIGN_LEVELS: dict[str, tuple[int, int, str]] = {
    "correlation": (1, 1, "an association at one time, with no before/after"),
    "cross-sectional": (1, 1, "an association at one time, with no before/after"),
    "unmatched comparison": (2, 2, "a comparison group whose comparability is not shown"),
    "before/after with comparison": (3, 2, "before/after with comparable treated and untreated units"),
    "multiple units with controls": (4, 3, "multiple units with statistical controls for other factors"),
    **SMS_RULES,
}
DESIGNS = tuple(DESIGN_LEVELS)
EMMIE_DIMENSIONS = ("effect", "mechanism", "moderators", "implementation", "economics")
EMMIE_MAX = 4

__all__ = ["sms_level", "grade", "emmie", "Grade", "DESIGNS", "SMS_LABELS", "EMMIE_DIMENSIONS"]


@dataclass(frozen=True)
class Grade:
    """A Maryland SMS grade: the ``level`` recorded, the ``suggested`` level and its ``reasoning``, and the
    ``override_reason`` when the analyst chose a different level."""

    design: str
    level: int
    suggested: int
    reasoning: str
    override_reason: str | None = None
    graded_by: str | None = None

    @property
    def overridden(self) -> bool:
        return self.level != self.suggested

    def __str__(self) -> str:
        text = f"Maryland SMS level {self.level} ({SMS_LABELS[self.level]})"
        if self.overridden:
            text += f"; suggested {self.suggested}, overridden: {self.override_reason}"
        return text


def sms_level(design: Any, checks: Mapping[str, bool] | None = None) -> tuple[int, str]:
    """Suggest the Maryland SMS level of a design, with the reasoning.

    Parameters
    ----------
    design : str or design record
        A design name (one of ``DESIGNS``), or an object with ``sms_hint() -> (level, reason)`` such as the
        ``.design`` of a ``whatworks.impact`` result.
    checks : mapping of str to bool, optional
        For a design name: the checks run and whether each passed; any failed check lowers the level by the
        design's rule. ``None``: none recorded (the design's full level, said so in the reasoning).

    Returns
    -------
    (int, str)

    Examples
    --------
    >>> sms_level("matched comparison", {"balance_smd_below_0.1": False})[0]
    2
    """
    hint = getattr(design, "sms_hint", None)
    if callable(hint):
        level, reason = hint()
        return int(level), str(reason)
    if not isinstance(design, str) or not design.strip():
        raise error("sms_level", "A grade needs a design.", expected=f"one of {list(DESIGNS)}", got=design,
                    hint="Record how the evaluation was done (e.g. 'randomised', 'before/after') before grading it.")
    key = design.strip().lower()
    if key not in DESIGN_LEVELS:
        raise error("sms_level", "Unknown design.", expected=f"one of {list(DESIGNS)}", got=design,
                    hint="Choose the nearest design; record the detail in the evaluation's notes.")
    full, reduced, why = DESIGN_LEVELS[key]
    checks = dict(checks or {})
    failed = [k for k, v in checks.items() if not bool(v)]
    if failed:
        return reduced, (f"{key}: level {reduced}, not {full}, because these checks failed: {', '.join(failed)} "
                         f"({why} is not shown)")
    if not checks:
        return full, f"{key}: level {full} ({why}; no checks recorded, so this assumes the design held)"
    return full, f"{key}: level {full} ({why}; all {len(checks)} checks passed)"


def grade(design: Any, *, level: int | None = None, reason: str | None = None, checks: Mapping[str, bool] | None = None,
          graded_by: str | None = None) -> Grade:
    """Grade an evaluation: the suggested level, or the analyst's ``level`` with the ``reason`` for overriding it.

    >>> grade("before/after", level=3, reason="a comparison area was matched by hand").overridden
    True
    """
    suggested, reasoning = sms_level(design, checks)
    name = design if isinstance(design, str) else str(getattr(design, "design", design))
    if level is None:
        return Grade(name.strip().lower() if isinstance(design, str) else name, suggested, suggested, reasoning,
                     None, graded_by)
    if isinstance(level, bool) or not isinstance(level, int) or level not in SMS_LABELS:
        raise error("grade", "The Maryland SMS level must be a whole number from 1 to 5.", got=level)
    if level != suggested and not (reason and str(reason).strip()):
        raise error("grade", f"Level {level} differs from the suggested level {suggested}, so it needs a reason.",
                    got=reasoning, hint="Pass reason='...' saying why the design deserves a different level.")
    return Grade(name.strip().lower() if isinstance(design, str) else name, level, suggested, reasoning,
                 str(reason).strip() if level != suggested else (str(reason).strip() if reason else None), graded_by)


def emmie(ratings: Mapping[str, int]) -> dict[str, int]:
    """Check EMMIE ratings: each of ``effect``, ``mechanism``, ``moderators``, ``implementation``, ``economics``
    (any may be left out) a whole number from 0 (no evidence) to 4 (strong evidence).

    >>> emmie({"effect": 3, "implementation": 1})
    {'effect': 3, 'implementation': 1}
    """
    out = {}
    for k, v in dict(ratings).items():
        if k not in EMMIE_DIMENSIONS:
            raise error("emmie", "Unknown EMMIE dimension.", expected=f"one of {list(EMMIE_DIMENSIONS)}", got=k)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= EMMIE_MAX:
            raise error("emmie", f"The EMMIE rating for '{k}' must be a whole number from 0 to {EMMIE_MAX}.", got=v)
        out[k] = v
    return out
