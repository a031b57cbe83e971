"""Effect sizes from counts, like R metafor's ``escalc()``: log risk ratios, log odds ratios and log rate ratios.

From a 2×2 table per study (``ai`` events / ``bi`` non-events in the treated group, ``ci`` / ``di`` in the comparison):

* ``"RR"``  log risk ratio  yᵢ = log[(a/(a+b)) / (c/(c+d))],  vᵢ = 1/a − 1/(a+b) + 1/c − 1/(c+d)
* ``"OR"``  log odds ratio  yᵢ = log[(a·d)/(b·c)],             vᵢ = 1/a + 1/b + 1/c + 1/d

From events and exposure (``x1``, ``t1`` treated; ``x2``, ``t2`` comparison — crimes and area-months, say):

* ``"IRR"`` log rate ratio  yᵢ = log[(x1/t1)/(x2/t2)],         vᵢ = 1/x1 + 1/x2

**Continuity correction** (metafor's default ``add=1/2, to="only0"``): a study with a zero count gets 0.5 added to
each of its four cells (for IRR: to both event counts), so its log ratio is finite. The correction is announced, and
recorded in ``.settings`` and per study in the ``corrected`` column. Equal to metafor 3.8.1 ``escalc()`` to 1e-10
(tests/golden/make_evidence_meta.R).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks.errors import error

WHERE = "effect_size"
MEASURES = ("RR", "OR", "IRR")

__all__ = ["effect_size", "EffectSizes", "MEASURES"]


@dataclass(frozen=True, repr=False)
class EffectSizes(Result):
    """Per-study effects. ``.table``: ``study``, ``estimate`` (log scale), ``se``, ``variance``, ``ci_low``,
    ``ci_high``, ``ratio`` (exp of the estimate), ``corrected`` (continuity correction applied)."""

    measure: str = "RR"
    conf_level: float = 0.95

    @property
    def effects(self) -> np.ndarray:
        return self.table["estimate"].to_numpy()

    @property
    def ses(self) -> np.ndarray:
        return self.table["se"].to_numpy()

    def summary(self) -> str:
        n_corr = int(self.table["corrected"].sum())
        name = {"RR": "risk ratios", "OR": "odds ratios", "IRR": "rate ratios"}[self.measure]
        text = f"{len(self.table)} log {name} computed."
        if n_corr:
            text += f" {n_corr} study(ies) had a zero count and got the 0.5 continuity correction."
        return text

    def _draw(self, ax) -> None:
        t = self.table
        y = np.arange(len(t), 0, -1)
        ax.errorbar(t["estimate"], y, xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]], fmt="s",
                    color=PALETTE["blue"])
        ax.axvline(0, color=PALETTE["grey"], lw=0.8)
        ax.set_yticks(y, [str(s) for s in t["study"]])
        ax.set_xlabel(f"log {self.measure}")


def _counts(name: str, values, k: int | None) -> np.ndarray:
    if values is None:
        raise error(WHERE, f"'{name}' is needed for this measure.", hint="RR and OR take ai, bi, ci, di; IRR takes "
                                                                      "x1, t1, x2, t2.")
    arr = np.asarray(values, dtype=float).ravel()
    if k is not None and len(arr) != k:
        raise error(WHERE, f"'{name}' must have one value per study.", expected=f"{k} values", got=len(arr))
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"'{name}' must hold counts (finite, 0 or more).", got=float(arr[i]), row=f"study {i + 1}")
    return arr


def effect_size(measure: str, *, ai=None, bi=None, ci=None, di=None, x1=None, t1=None, x2=None, t2=None,
                add: float | None = None, studies=None, conf_level: float | None = None,
                quiet: bool = False) -> EffectSizes:
    """Compute log risk, odds or rate ratios (and their SEs) per study from counts, as metafor's ``escalc``.

    Parameters
    ----------
    measure : {"RR", "OR", "IRR"}
    ai, bi, ci, di : sequences of counts
        RR/OR: events and non-events, treated (``ai``, ``bi``) and comparison (``ci``, ``di``).
    x1, t1, x2, t2 : sequences
        IRR: events and exposure (person-time, area-months) in the treated and comparison groups.
    add : float, optional
        Continuity correction added to every cell of a study with a zero count; ``None`` means 0.5 (metafor's
        default), announced when it is applied. ``add=0`` refuses zero counts instead.
    studies : sequence of str, optional
    conf_level : float, optional
        ``None`` means 0.95.
    quiet : bool, default False
        Silence the announcement of the continuity correction (it is still recorded).

    Returns
    -------
    EffectSizes
        ``.effects`` and ``.ses`` feed :func:`whatworks.evidence.meta`.

    Examples
    --------
    >>> r = effect_size("RR", ai=[4], bi=[119], ci=[11], di=[128], quiet=True)
    >>> round(float(r.effects[0]), 4)
    -0.8893
    """
    if measure not in MEASURES:
        raise error(WHERE, "The 'measure' must be one of " + ", ".join(MEASURES) + ".", got=measure)
    settings: dict[str, Setting] = {}
    level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="level of the per-study intervals")
    corr = given_or_default(settings, "add", add, 0.5, unit="count per cell",
                            reason="continuity correction for studies with a zero count (metafor add=1/2, to='only0')")
    if measure in ("RR", "OR"):
        a = _counts("ai", ai, None)
        k = len(a)
        b, c, d = _counts("bi", bi, k), _counts("ci", ci, k), _counts("di", di, k)
        zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        cells = [a, b, c, d]
    else:
        x_1 = _counts("x1", x1, None)
        k = len(x_1)
        e1, x_2, e2 = _counts("t1", t1, k), _counts("x2", x2, k), _counts("t2", t2, k)
        if ((e1 <= 0) | (e2 <= 0)).any():
            i = int(np.flatnonzero((e1 <= 0) | (e2 <= 0))[0])
            raise error(WHERE, "Exposure (t1, t2) must be greater than 0.", row=f"study {i + 1}")
        zero = (x_1 == 0) | (x_2 == 0)
        cells = [x_1, x_2]
    if zero.any():
        if corr == 0:
            i = int(np.flatnonzero(zero)[0])
            raise error(WHERE, "A study has a zero count, so its log ratio is infinite.", row=f"study {i + 1}",
                        hint="Leave add=None for the usual 0.5 continuity correction.")
        announce(f"continuity correction of {corr} added to every cell of {int(zero.sum())} study(ies) with a zero "
                 f"count (study {', '.join(str(i + 1) for i in np.flatnonzero(zero))}).", quiet=quiet)
        settings["corrected_studies"] = Setting([int(i + 1) for i in np.flatnonzero(zero)], "data",
                                                "studies with a zero count")
    cells = [np.where(zero, x + corr, x) for x in cells]
    if measure == "RR":
        a, b, c, d = cells
        yi = np.log((a / (a + b)) / (c / (c + d)))
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    elif measure == "OR":
        a, b, c, d = cells
        yi = np.log((a * d) / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        x_1, x_2 = cells
        yi = np.log((x_1 / e1) / (x_2 / e2))
        vi = 1 / x_1 + 1 / x_2
    sei = np.sqrt(vi)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(k)]
    table = pd.DataFrame({"study": labels, "estimate": yi, "se": sei, "variance": vi, "ci_low": yi - z * sei,
                          "ci_high": yi + z * sei, "ratio": np.exp(yi), "corrected": zero})
    return EffectSizes(table=table, settings=settings, measure=measure, conf_level=float(level))
