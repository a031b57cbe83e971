"""The CONSORT flow diagram of a two-arm trial, counted from the trial's own log.

Boxes follow the CONSORT 2010 flow diagram (Schulz, Altman & Moher 2010): enrolment (assessed for
eligibility, excluded with reasons, randomised), allocation (allocated, received / did not receive the
allocated intervention), follow-up (lost to follow-up, discontinued) and analysis (analysed, excluded from
analysis) for each arm. Every number comes from the log entries written by the
:class:`~whatworks.trials.allocator.Allocator` (``Allocator.records()``), so the diagram cannot disagree with
the audit trail.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from whatworks._announce import announce
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns, require_dataframe
from whatworks.errors import error

__all__ = ["consort", "ConsortResult"]

_WHERE = "consort"
ARMS = ("treatment", "control")


@dataclass(frozen=True, repr=False)
class ConsortResult(Result):
    """CONSORT counts (``.table``: stage, arm, n, detail) and the flow diagram (``plot()``, ``svg()``)."""

    title: str = ""
    counts: dict | None = None
    arm_labels: dict | None = None

    def _headline(self) -> str:
        c = self.counts
        return f"assessed {c['assessed']}, randomised {c['randomised']}, analysed {sum(c['analysed'].values())}"

    def summary(self) -> str:
        c = self.counts
        arms = "; ".join(f"{self.arm_labels[a]}: allocated {c['allocated'][a]}, analysed {c['analysed'][a]}" for a in ARMS)
        return (f"{self.title + ': ' if self.title else ''}{c['assessed']} assessed for eligibility, {c['excluded']} excluded, "
                f"{c['randomised']} randomised. {arms}.")

    def plot(self, ax=None):
        """Draw the diagram (a tall figure unless ``ax`` is given) and return the Figure."""
        from whatworks._result import new_axes, plain_text

        fig, ax = new_axes(ax, figsize=(9, 10))
        self._draw(ax)
        return plain_text(fig)

    def svg(self) -> str:
        """The diagram as an SVG document (text), for reports or ``whatworks trial consort --out``."""
        import matplotlib.pyplot as plt

        # Text stays text (not glyph outlines), so the SVG is searchable, accessible and editable.
        with plt.rc_context({"svg.fonttype": "none"}):
            fig = self.plot()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "whatworks (matplotlib)"})
        return buf.getvalue()

    def _draw(self, ax) -> None:
        c = self.counts
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.axis("off")
        box = dict(boxstyle="square,pad=0.5", facecolor="white", edgecolor=PALETTE["black"], lw=1)
        band = dict(boxstyle="round,pad=0.3", facecolor=PALETTE["sky"], edgecolor="none", alpha=0.6)

        def put(x, y, text, style=box, size=8.5):
            ax.text(x, y, text, ha="center", va="center", fontsize=size, bbox=style, wrap=True)

        def arrow(x0, y0, x1, y1):
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", color=PALETTE["black"], lw=1))

        if self.title:
            ax.text(50, 99, self.title, ha="center", va="top", fontsize=11, weight="bold")
        put(38, 92, f"Assessed for eligibility (n = {c['assessed']})")
        reasons = "\n".join(f"  {r} (n = {n})" for r, n in c["excluded_reasons"].items()) or "  none"
        put(80, 82, f"Excluded (n = {c['excluded']})\n{reasons}", size=7.5)
        put(38, 72, f"Randomised (n = {c['randomised']})")
        arrow(38, 89.5, 38, 74.5)
        arrow(38, 82, 62, 82)
        for label, y in (("Enrolment", 92), ("Allocation", 58), ("Follow-up", 36), ("Analysis", 15)):
            put(4, y, label, style=band, size=8)
        for a, x in (("treatment", 25), ("control", 70)):
            rec = c["received"][a]
            notrec = c["not_received"][a]
            rec_txt = (f"Received allocated intervention (n = {rec})\nDid not receive it (n = {notrec})"
                       if c["delivery_recorded"][a] else "Delivery not recorded")
            put(x, 58, f"Allocated to {self.arm_labels[a]} (n = {c['allocated'][a]})\n{rec_txt}", size=7.5)
            put(x, 36, f"Lost to follow-up (n = {c['lost'][a]})\nDiscontinued / withdrawn (n = {c['withdrawn'][a]})",
                size=7.5)
            put(x, 15, f"Analysed (n = {c['analysed'][a]})\nExcluded from analysis (n = {c['not_analysed'][a]})",
                size=7.5)
            arrow(38, 69.5, x, 62.5)
            arrow(x, 53.5, x, 39)
            arrow(x, 33, x, 18.5)


def consort(records: pd.DataFrame, *, analysed: Iterable[Any] | None = None, title: str = "",
            arm_labels: dict[str, str] | None = None, quiet: bool = False) -> ConsortResult:
    """Count the CONSORT flow from a trial log and draw the diagram.

    Parameters
    ----------
    records : pandas.DataFrame
        The trial log (``Allocator.records()``): columns ``kind``, ``unit_id``, ``arm``, ``reason``.
    analysed : iterable of unit ids, optional
        Units in the analysis. ``None`` counts every randomised unit not lost to follow-up or withdrawn.
    title : str, default ""
    arm_labels : dict, optional
        Display names, e.g. ``{"treatment": "Hot spot patrols", "control": "Usual policing"}``.
    quiet : bool, default False
        Silence the notice that ``analysed`` was not given (every randomised unit not lost to follow-up or
        withdrawn is counted as analysed).

    Returns
    -------
    ConsortResult
    """
    require_dataframe(_WHERE, "records", records)
    require_columns(_WHERE, records, ["kind", "unit_id", "arm", "reason"], arg="records")
    labels = {"treatment": "treatment", "control": "control", **(arm_labels or {})}
    kinds = records["kind"]
    assigned = records[kinds == "assigned"]
    arm_of = dict(zip(assigned["unit_id"].astype(str), assigned["arm"]))
    excluded = records[kinds == "excluded"]
    reasons = Counter(r for r in excluded["reason"].fillna("not recorded"))

    def units(kind: str, arm: str) -> set[str]:
        sub = records[(kinds == kind)]
        return {u for u in sub["unit_id"].astype(str) if arm_of.get(u) == arm}

    analysed_set = None
    if analysed is None:
        announce("analysed set to every randomised unit not lost to follow-up or withdrawn (no analysed= given).",
                 quiet=quiet)
    if analysed is not None:
        analysed_set = {str(u) for u in analysed}
        stray = sorted(analysed_set - set(arm_of))[:5]
        if stray:
            raise error(_WHERE, "Some analysed units were never randomised in this trial.", got=stray,
                        hint="Analyse only randomised units (join outcomes to the log's assignments).")
    counts: dict[str, Any] = {
        "assessed": int(assigned["unit_id"].nunique() + excluded["unit_id"].nunique()),
        "excluded": int(len(excluded)),
        "excluded_reasons": dict(reasons.most_common()),
        "randomised": int(len(assigned)),
        "allocated": {}, "received": {}, "not_received": {}, "delivery_recorded": {}, "lost": {},
        "withdrawn": {}, "analysed": {}, "not_analysed": {},
    }
    rows = [("assessed", "all", counts["assessed"], ""), ("excluded", "all", counts["excluded"], "")]
    rows += [("excluded", "all", n, r) for r, n in reasons.items()]
    rows.append(("randomised", "all", counts["randomised"], ""))
    for a in ARMS:
        allocated = {u for u, arm in arm_of.items() if arm == a}
        rec, notrec = units("received", a), units("not_received", a)
        lost, withdrawn = units("lost_to_follow_up", a), units("withdrawn", a)
        if analysed_set is None:
            an = allocated - lost - withdrawn
        else:
            an = allocated & analysed_set
        counts["allocated"][a] = len(allocated)
        counts["received"][a] = len(rec)
        counts["not_received"][a] = len(notrec)
        counts["delivery_recorded"][a] = bool(rec or notrec)
        counts["lost"][a] = len(lost)
        counts["withdrawn"][a] = len(withdrawn)
        counts["analysed"][a] = len(an)
        counts["not_analysed"][a] = len(allocated) - len(an)
        for stage in ("allocated", "received", "not_received", "lost", "withdrawn", "analysed", "not_analysed"):
            rows.append((stage, a, counts[stage][a], ""))
    table = pd.DataFrame(rows, columns=["stage", "arm", "n", "detail"])
    return ConsortResult(table=table, title=title, counts=counts, arm_labels=labels)
