"""The design record every impact result carries (issue 14, item 8), so an evidence register can grade it later.

A :class:`DesignRecord` says which design produced a result and which of its checks passed; :meth:`DesignRecord.sms_hint`
suggests the Maryland Scientific Methods Scale level (Sherman et al. 1997) with its reason:

1 correlation at one time; 2 before/after, or a comparison without shown comparability; 3 before/after with comparable
treated and untreated units; 4 multiple units with controls for other factors, or comparison units with only minor
differences; 5 random assignment.

The hint is a suggestion for the analyst, not a grade: a register still records who graded the study and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from whatworks.errors import error

DESIGNS = ("randomised", "matched comparison", "difference-in-differences", "interrupted time series",
           "synthetic control", "before/after", "event window")

# base level when every check passed, the level when some failed, and why (REFERENCE.md, "Maryland Scientific Methods Scale")
SMS_RULES: dict[str, tuple[int, int, str]] = {
    "randomised": (5, 4, "random assignment"),
    "matched comparison": (3, 2, "treated and untreated units shown comparable on measured covariates"),
    "difference-in-differences": (4, 3, "multiple treated and comparison units, before and after, with parallel pre-trends"),
    "interrupted time series": (2, 2, "one series before and after (a long one, but no comparison units)"),
    "synthetic control": (3, 2, "before/after with a weighted comparison built to match the treated unit's history"),
    "before/after": (2, 1, "before/after with no comparison"),
    "event window": (2, 1, "before/after an event, with no comparison group"),
}


@dataclass(frozen=True)
class DesignRecord:
    """Which design produced a result and which checks passed.

    Parameters
    ----------
    design : str
        One of ``"randomised"``, ``"matched comparison"``, ``"difference-in-differences"``, ``"interrupted time series"``,
        ``"synthetic control"``, ``"before/after"``, ``"event window"``.
    checks : dict[str, bool]
        Each named check and whether it passed (e.g. ``{"balance_smd_below_0.1": True, "overlap": True}``).
    notes : tuple[str, ...]
        Plain-English notes for the grader (what was dropped, what was assumed).

    Examples
    --------
    >>> DesignRecord("matched comparison", {"balance": True}).sms_hint()[0]
    3
    """

    design: str
    checks: Mapping[str, bool] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.design not in DESIGNS:
            raise error("DesignRecord", f"The 'design' must be one of {list(DESIGNS)}.", got=self.design)
        checks = dict(self.checks)
        bad = [k for k, v in checks.items() if not isinstance(v, bool)]
        if bad:
            raise error("DesignRecord", "Every check must be True or False.", got={k: checks[k] for k in bad[:3]},
                        hint="Record a check as bool(passed).")
        object.__setattr__(self, "checks", MappingProxyType(checks))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the checks that did not pass."""
        return tuple(k for k, v in self.checks.items() if not v)

    def sms_hint(self) -> tuple[int, str]:
        """The Maryland SMS level this design suggests, and why.

        Each design has a level when all its checks pass and one lower when any fails (REFERENCE.md). Interrupted
        time series stays at 2 either way: a single series has no comparison units, however long it is.
        """
        full, reduced, why = SMS_RULES[self.design]
        if self.failed:
            return reduced, (f"{self.design}: level {reduced}, not {full}, because these checks failed: "
                             f"{', '.join(self.failed)} ({why} is not shown)")
        return full, f"{self.design}: level {full} ({why}; all {len(self.checks)} checks passed)"

    def to_dict(self) -> dict:
        """Plain dict for JSON (evidence register)."""
        level, reason = self.sms_hint()
        return {"design": self.design, "checks": dict(self.checks), "notes": list(self.notes),
                "sms_hint": level, "sms_reason": reason}

    def __str__(self) -> str:
        level, _ = self.sms_hint()
        passed = sum(self.checks.values())
        return f"{self.design} ({passed}/{len(self.checks)} checks passed; Maryland SMS hint {level})"


__all__ = ["DesignRecord", "DESIGNS"]
