"""Spatial displacement and diffusion of benefits: the Weighted Displacement Quotient (issue 14, item 5).

Bowers & Johnson (2003), J Quant Criminol 19:275 (REFERENCE.md)::

    success measure  = Aₐ/Cₐ − Aᵦ/Cᵦ              (negative: the treated area improved relative to the control)
    buffer measure   = Bₐ/Cₐ − Bᵦ/Cᵦ
    WDQ              = buffer measure / success measure

A = treated area, B = buffer (the surrounding area crime could move to), C = control area (not touched by the
intervention or its displacement), subscripts a/b = after/before. WDQ > 0: diffusion of benefits (the buffer improved
too); WDQ < 0: displacement; WDQ < −1: displacement larger than the benefit. The WDQ is only meaningful when the
success measure is negative; otherwise it is reported as not defined, with the reason.

Works on points (x, y in metres, British National Grid: areas are shapely polygons, and a buffer may be a distance in
metres — the ring of that width around the treated area) or on area counts (areas are lists of area codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Number

import numpy as np
import pandas as pd

from whatworks._announce import Setting
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.impact._design import DesignRecord

WHERE = "displacement"


def wdq(a_before: float, a_after: float, b_before: float, b_after: float, c_before: float, c_after: float) -> dict:
    """The WDQ and its parts from the six counts (Bowers & Johnson 2003)."""
    if c_before <= 0 or c_after <= 0:
        raise error(WHERE, "The control area needs crime both before and after.", got=f"C before {c_before}, C after {c_after}",
                    hint="Choose a larger control area: the WDQ divides by its counts.")
    success = a_after / c_after - a_before / c_before
    buffer = b_after / c_after - b_before / c_before
    if success < 0:
        q = buffer / success
        if q > 0:
            reading = "diffusion of benefits: the buffer improved too"
        elif q < -1:
            reading = "displacement larger than the benefit"
        elif q < 0:
            reading = "some displacement into the buffer, smaller than the benefit"
        else:
            reading = "no change in the buffer relative to the control"
        defined = True
    else:
        q, defined = None, False
        reading = "not defined: the treated area did not improve relative to the control (success measure ≥ 0)"
    return {"success_measure": success, "buffer_measure": buffer, "wdq": q, "wdq_defined": defined, "reading": reading}


@dataclass(frozen=True, repr=False)
class DisplacementResult(Result):
    """``.table``: one row per area (treated, buffer, control) with before and after counts; ``.wdq``,
    ``.success_measure``, ``.buffer_measure``, ``.reading``."""

    wdq: float | None = None
    success_measure: float = float("nan")
    buffer_measure: float = float("nan")
    reading: str = ""
    design: DesignRecord = field(default_factory=lambda: DesignRecord("before/after", {}))

    def summary(self) -> str:
        t = self.table.set_index("area")
        txt = (f"Treated area {t.loc['treated', 'before']:,.0f} → {t.loc['treated', 'after']:,.0f}, buffer "
               f"{t.loc['buffer', 'before']:,.0f} → {t.loc['buffer', 'after']:,.0f}, control "
               f"{t.loc['control', 'before']:,.0f} → {t.loc['control', 'after']:,.0f}. Success measure "
               f"{self.success_measure:+.3f}")
        if self.wdq is not None:
            txt += f"; WDQ {self.wdq:+.2f}: {self.reading}."
        else:
            txt += f"; WDQ {self.reading}."
        return txt

    def _headline(self) -> str:
        return f"WDQ {self.wdq:+.3g}" if self.wdq is not None else "WDQ not defined"

    def _draw(self, ax) -> None:
        t = self.table
        xs = np.arange(len(t))
        ax.bar(xs - 0.2, t["before"], 0.4, color=PALETTE["grey"], label="before")
        ax.bar(xs + 0.2, t["after"], 0.4, color=PALETTE["blue"], label="after")
        ax.set_xticks(xs, t["area"])
        ax.set_ylabel("crimes")
        ax.set_title(f"Weighted displacement quotient: {self._headline()}")
        ax.legend(frameon=False)


def _period(where_val, name):
    try:
        lo, hi = where_val
        return pd.Timestamp(str(lo)), pd.Timestamp(str(hi))
    except (TypeError, ValueError) as exc:
        raise error(WHERE, f"The '{name}' period must be a (first, last) pair of dates, both included.", got=where_val,
                    hint="e.g. before=('2023-01', '2023-06'), after=('2023-07', '2023-12').") from exc


def displacement(crimes: pd.DataFrame, treated_area, buffer, control_area, before, after, *, date: str = "month",
                 x: str = "x", y: str = "y", area: str = "lsoa_code", count: str | None = None,
                 quiet: bool = False) -> DisplacementResult:
    """Weighted Displacement Quotient for an area-based intervention.

    Parameters
    ----------
    crimes : DataFrame
        One row per crime (points mode, or area mode without ``count``), or one row per area × period with ``count``.
    treated_area, buffer, control_area :
        Points mode: shapely polygons in the same coordinates as ``x``/``y`` (metres); ``buffer`` may instead be a
        distance in metres (the ring that wide around the treated area). Area mode: lists of area codes in ``area``.
        The three must not overlap.
    before, after : (first, last)
        Periods compared, both ends included (dates or ``YYYY-MM``).
    date, x, y, area, count : str
        Column names.
    """
    require_dataframe(WHERE, "crimes", crimes)
    b0, b1 = _period(before, "before")
    a0, a1 = _period(after, "after")
    if not b1 < a0:
        raise error(WHERE, "The before period must end before the after period starts.", got=f"before {before}, after {after}")
    require_columns(WHERE, crimes, [date, count], arg="crimes")
    when = pd.to_datetime(crimes[date].astype(str))
    in_b = ((when >= b0) & (when <= b1)).to_numpy()
    in_a = ((when >= a0) & (when <= a1)).to_numpy()
    w = require_numeric(WHERE, crimes, count) if count else np.ones(len(crimes))
    settings: dict = {"before": Setting((str(b0.date()), str(b1.date())), "user", "period before, both ends included"),
                      "after": Setting((str(a0.date()), str(a1.date())), "user", "period after, both ends included")}
    points = hasattr(treated_area, "geom_type")
    if points:
        import shapely

        require_columns(WHERE, crimes, [x, y], arg="crimes")
        xs, ys = require_numeric(WHERE, crimes, x, allow_na=True), require_numeric(WHERE, crimes, y, allow_na=True)
        if isinstance(buffer, Number):
            width = float(buffer)
            if width <= 0:
                raise error(WHERE, "A buffer distance must be positive (metres).", got=buffer)
            buffer = treated_area.buffer(width).difference(treated_area)
            settings["buffer"] = Setting(width, "user", "ring around the treated area", "metres")
        if not hasattr(control_area, "geom_type") or not hasattr(buffer, "geom_type"):
            raise error(WHERE, "In points mode the buffer and control area must be polygons (or the buffer a distance).",
                        got=f"buffer {type(buffer).__name__}, control {type(control_area).__name__}")
        for n1, g1, n2, g2 in (("treated", treated_area, "buffer", buffer), ("treated", treated_area, "control", control_area),
                               ("buffer", buffer, "control", control_area)):
            if g1.intersection(g2).area > 1e-6:
                raise error(WHERE, f"The {n1} and {n2} areas overlap ({g1.intersection(g2).area:,.0f} m²).",
                            hint="Each crime must fall in at most one of the three areas: cut the overlap out of the larger one.")
        ok = np.isfinite(xs) & np.isfinite(ys)
        masks = {}
        for name, geom in (("treated", treated_area), ("buffer", buffer), ("control", control_area)):
            inside = np.zeros(len(crimes), bool)
            inside[ok] = shapely.contains_xy(geom, xs[ok], ys[ok])
            masks[name] = inside
        settings["without_coordinates"] = Setting(int((~ok).sum()), "data", "crimes with no coordinates, in no area")
    else:
        require_columns(WHERE, crimes, [area], arg="crimes")
        sets = {}
        for name, codes in (("treated", treated_area), ("buffer", buffer), ("control", control_area)):
            codes = [codes] if isinstance(codes, str) else list(codes)
            if not codes:
                raise error(WHERE, f"The {name} area has no area codes.", hint="Give a list of codes from the 'area' column.")
            sets[name] = set(map(str, codes))
        for n1, n2 in (("treated", "buffer"), ("treated", "control"), ("buffer", "control")):
            both = sets[n1] & sets[n2]
            if both:
                raise error(WHERE, f"The {n1} and {n2} areas share codes.", got=sorted(both)[:5],
                            hint="Each area code must belong to one of the three areas only.")
        codes_col = crimes[area].astype(str)
        masks = {name: codes_col.isin(s).to_numpy() for name, s in sets.items()}
    rows = []
    for name in ("treated", "buffer", "control"):
        rows.append({"area": name, "before": float(w[masks[name] & in_b].sum()), "after": float(w[masks[name] & in_a].sum())})
    table = pd.DataFrame(rows)
    table["change"] = table["after"] - table["before"]
    t = table.set_index("area")
    res = wdq(t.loc["treated", "before"], t.loc["treated", "after"], t.loc["buffer", "before"], t.loc["buffer", "after"],
              t.loc["control", "before"], t.loc["control", "after"])
    design = DesignRecord("before/after", {"control_area": True, "success_measure_negative": res["wdq_defined"]},
                          ("Weighted Displacement Quotient (Bowers & Johnson 2003)",))
    return DisplacementResult(table=table, settings=settings, wdq=res["wdq"], success_measure=res["success_measure"],
                              buffer_measure=res["buffer_measure"], reading=res["reading"], design=design)


__all__ = ["displacement", "wdq", "DisplacementResult"]
