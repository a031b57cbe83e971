"""Cost-benefit analysis of a tactic: crimes prevented, their cost to society, NPV, benefit-cost ratio, break-even.

HM Treasury Green Book (2022): costs and benefits are discounted at 3.5% a year (for the first 30 years), so a value
xₜ in year t is worth xₜ/1.035ᵗ today; year 0 (the first year) is not discounted. Then

* crimes prevented in year t = Σ_types baselineₜ × (1 − effect), ``effect`` being the rate ratio (0.8 = 20% fewer);
* benefit in year t = Σ_types crimes preventedₜ × unit cost;
* present value PV = Σₜ xₜ / (1 + r)ᵗ, NPV = PV(benefits) − PV(costs), BCR = PV(benefits) / PV(costs);
* break-even effect = the rate ratio at which NPV = 0: 1 − PV(costs) / PV(cost of the whole baseline).

The effect's confidence interval (``effect_ci``) is carried through to crimes prevented, benefits, NPV and BCR. One-way
sensitivity moves one input at a time between a low and a high value, holding the rest, and the tornado plot ranks
the inputs by how far they swing the NPV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result, new_axes, plain_text
from whatworks.errors import error
from whatworks.evidence.costs import check_cost_table

WHERE = "cba"
GREEN_BOOK_RATE = 0.035  # HM Treasury Green Book (2022), Annex A6: 3.5% a year for years 0-30
DEFAULT_SWING = 0.25  # one-way sensitivity: programme cost, unit costs and baseline each moved by +/- 25%
DEFAULT_RATE_RANGE = (0.0, 0.07)  # discount rate in the sensitivity: none, and double the Green Book rate

__all__ = ["cba", "CBAResult", "present_value", "GREEN_BOOK_RATE"]


def present_value(values: Sequence[float], rate: float = GREEN_BOOK_RATE) -> float:
    """Σₜ xₜ / (1 + rate)ᵗ with t = 0, 1, … (the first value is not discounted).

    >>> round(present_value([100, 100, 100]), 4)
    289.9694
    """
    x = np.asarray(values, dtype=float)
    return float(np.sum(x / (1 + rate) ** np.arange(len(x))))


@dataclass(frozen=True, repr=False)
class CBAResult(Result):
    """A cost-benefit analysis. ``.table``: one row per year (``year`` 1…, ``t`` 0…, ``discount_factor``,
    ``crimes_prevented`` with ``_low``/``_high``, ``benefit`` with ``_low``/``_high``, ``cost``, ``pv_benefit``,
    ``pv_cost``). ``.by_type``: crimes prevented and benefit per crime type over all years. ``.sensitivity``: the
    one-way sensitivity (``input``, ``low_value``, ``high_value``, ``npv_at_low``, ``npv_at_high``, ``swing``)."""

    pv_benefits: float = float("nan")
    pv_costs: float = float("nan")
    npv: float = float("nan")
    bcr: float = float("nan")
    npv_low: float | None = None
    npv_high: float | None = None
    bcr_low: float | None = None
    bcr_high: float | None = None
    crimes_prevented: float = float("nan")
    break_even_effect: float = float("nan")
    effect: float = float("nan")
    effect_ci: tuple[float, float] | None = None
    discount_rate: float = GREEN_BOOK_RATE
    price_year: str = ""
    by_type: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _headline(self) -> str:
        return f"NPV £{self.npv:,.0f}, BCR {self.bcr:.2f} ({self.price_year} prices)"

    def summary(self) -> str:
        years = len(self.table)
        text = (f"Over {years} year(s) at a {self.discount_rate:.1%} discount rate ({self.price_year} prices): "
                f"{self.crimes_prevented:,.1f} crimes prevented, benefits worth £{self.pv_benefits:,.0f} against costs "
                f"of £{self.pv_costs:,.0f} (present values): net present value £{self.npv:,.0f}, "
                f"benefit-cost ratio {self.bcr:.2f}.")
        if self.effect_ci is not None:
            text += (f" Across the effect's interval (rate ratio {self.effect_ci[0]:.3g} to {self.effect_ci[1]:.3g}) "
                     f"the NPV runs from £{min(self.npv_low, self.npv_high):,.0f} to "
                     f"£{max(self.npv_low, self.npv_high):,.0f}.")
        text += (f" It breaks even at a rate ratio of {self.break_even_effect:.3f} "
                 f"({1 - self.break_even_effect:.1%} fewer crimes).")
        if len(self.sensitivity):
            top = self.sensitivity.iloc[0]
            text += f" The NPV is most sensitive to the {top['input']}."
        return text

    def _draw(self, ax) -> None:
        self.tornado(ax)

    def tornado(self, ax=None):
        """Tornado plot of the one-way sensitivity: NPV at each input's low and high value, widest swing on top."""
        fig, ax = new_axes(ax)
        s = self.sensitivity.iloc[::-1].reset_index(drop=True)
        y = np.arange(len(s))
        for i, r in s.iterrows():
            lo, hi = r["npv_at_low"], r["npv_at_high"]
            ax.barh(i, lo - self.npv, left=self.npv, color=PALETTE["vermillion"], alpha=0.8)
            ax.barh(i, hi - self.npv, left=self.npv, color=PALETTE["blue"], alpha=0.8)
        ax.axvline(self.npv, color=PALETTE["black"], lw=1)
        ax.axvline(0, color=PALETTE["grey"], lw=0.8, ls="--")
        ax.set_yticks(y, [f"{r['input']} ({_fmt(r['low_value'])} / {_fmt(r['high_value'])})" for _, r in s.iterrows()])
        ax.set_xlabel(f"net present value, £ ({self.price_year} prices); red = low value, blue = high value")
        ax.set_title(self._headline(), fontsize=9)
        return plain_text(fig)


def _fmt(v) -> str:
    return f"{v:.3g}" if abs(v) < 10 else f"{v:,.0f}"


def _per_year(name: str, value, years: int) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.repeat(arr, years)
    if arr.size != years:
        raise error(WHERE, f"'{name}' must be one number, or one per year.", expected=f"1 or {years} values",
                    got=int(arr.size))
    if (~np.isfinite(arr)).any() or (arr < 0).any():
        i = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])
        raise error(WHERE, f"'{name}' must be finite and 0 or more.", got=float(arr[i]), row=f"year {i + 1}")
    return arr


def _baseline(baseline_counts) -> pd.Series:
    if isinstance(baseline_counts, Mapping):
        s = pd.Series(dict(baseline_counts), dtype=float)
    elif isinstance(baseline_counts, pd.Series):
        s = baseline_counts.astype(float)
    elif isinstance(baseline_counts, pd.DataFrame) and {"crime_type", "count"} <= set(baseline_counts.columns):
        s = baseline_counts.set_index("crime_type")["count"].astype(float)
    else:
        raise error(WHERE, "'baseline_counts' must map crime type to the yearly count expected without the tactic.",
                    got=type(baseline_counts).__name__, hint="e.g. {'Robbery': 50} or a DataFrame crime_type, count.")
    if len(s) == 0 or (~np.isfinite(s.to_numpy())).any() or (s < 0).any():
        raise error(WHERE, "Every baseline count must be a finite number, 0 or more.", got=s.to_dict())
    return s


def cba(programme_cost, effect: float, baseline_counts, unit_costs: pd.DataFrame, *, years: int = 1,
        discount_rate: float | None = None, effect_ci: tuple[float, float] | None = None,
        swing: float | None = None, known_types: Sequence[str] | None = None, quiet: bool = False) -> CBAResult:
    """Cost-benefit analysis of a tactic over ``years`` years (HM Treasury Green Book discounting).

    Parameters
    ----------
    programme_cost : float or sequence of float
        £ cost in each year (one number: the same every year), in the cost table's price year.
    effect : float
        The tactic's effect as a rate ratio (crimes with the tactic / crimes without it; 0.8 = 20% fewer). From a
        meta-analysis of log rate ratios, ``math.exp(result.estimate)``.
    baseline_counts : mapping, Series or DataFrame (``crime_type``, ``count``)
        Crimes a year expected without the tactic, by crime type.
    unit_costs : DataFrame
        Cost table (``crime_type``, ``unit_cost``, ``price_year``), e.g. :func:`whatworks.evidence.cost_of_crime`;
        every crime type in the baseline needs a cost, and all must be in one price year (uprate first).
    years : int, default 1
        Years of costs and benefits; the first (t = 0) is not discounted.
    discount_rate : float, optional
        ``None`` means the Green Book's 0.035 a year.
    effect_ci : (float, float), optional
        The effect's confidence interval (rate ratios), carried through to crimes prevented, benefits, NPV and BCR.
    swing : float, optional
        Relative change for the one-way sensitivity of programme cost, unit costs and baseline; ``None`` means 0.25.
        The effect moves across ``effect_ci`` (or by ± swing × (1 − effect) without one); the discount rate from 0 to 7%.
    known_types : sequence of str, optional
        Your own crime categories, accepted in the cost table beside the Home Office and police.uk names.
    quiet : bool, default False
        Nothing is chosen from the data here; kept for the house signature.

    Returns
    -------
    CBAResult

    Examples
    --------
    >>> from whatworks.evidence.costs import cost_of_crime
    >>> r = cba(100_000, 0.8, {"Robbery": 50}, cost_of_crime(confirmed_only=True), years=3)
    >>> round(r.npv)
    38276
    """
    del quiet
    settings: dict[str, Setting] = {}
    if not isinstance(years, (int, np.integer)) or isinstance(years, bool) or years < 1:
        raise error(WHERE, "'years' must be a whole number of years, 1 or more.", got=years)
    rate = given_or_default(settings, "discount_rate", discount_rate, GREEN_BOOK_RATE, unit="per year",
                            reason="HM Treasury Green Book discount rate")
    if not (0 <= float(rate) < 1):
        raise error(WHERE, "'discount_rate' must be between 0 and 1 (0.035 is 3.5%).", got=discount_rate)
    sw = given_or_default(settings, "swing", swing, DEFAULT_SWING, reason="relative change in the one-way sensitivity")
    eff = float(effect)
    if not np.isfinite(eff) or eff < 0:
        raise error(WHERE, "'effect' must be a rate ratio, 0 or more (0.8 = 20% fewer crimes).", got=effect,
                    hint="From a log rate ratio use math.exp(estimate).")
    if effect_ci is not None:
        lo, hi = (float(x) for x in effect_ci)
        if not (0 <= lo <= hi) or not np.isfinite(hi):
            raise error(WHERE, "'effect_ci' must be (low, high) rate ratios with 0 <= low <= high.", got=effect_ci)
        effect_ci = (lo, hi)
    cost = _per_year("programme_cost", programme_cost, years)
    baseline = _baseline(baseline_counts)
    check_cost_table(unit_costs, where=WHERE, known_types=known_types, crime_types=list(baseline.index))
    uc = unit_costs.set_index("crime_type").loc[list(baseline.index)]
    years_seen = sorted({str(y) for y in uc["price_year"]})
    if len(years_seen) > 1:
        raise error(WHERE, "The unit costs are in different price years.", got=years_seen,
                    hint="Bring them to one year with whatworks.evidence.uprate(costs, deflators, to_year=...).")
    unit = pd.to_numeric(uc["unit_cost"]).astype(float)
    settings["price_year"] = Setting(years_seen[0], "data", "price year of the unit costs")

    t = np.arange(years)
    disc = 1 / (1 + rate) ** t
    base_cost = float((baseline * unit).sum())
    table = pd.DataFrame({"year": t + 1, "t": t, "discount_factor": disc,
                          "crimes_prevented": float(baseline.sum()) * (1 - eff), "benefit": base_cost * (1 - eff),
                          "cost": cost})
    if effect_ci is not None:
        # a lower rate ratio prevents more crime: the interval's low end gives the high benefit
        table["crimes_prevented_low"] = float(baseline.sum()) * (1 - effect_ci[1])
        table["crimes_prevented_high"] = float(baseline.sum()) * (1 - effect_ci[0])
        table["benefit_low"] = base_cost * (1 - effect_ci[1])
        table["benefit_high"] = base_cost * (1 - effect_ci[0])
    table["pv_benefit"] = table["benefit"] * disc
    table["pv_cost"] = table["cost"] * disc
    pvb, pvc = float(table["pv_benefit"].sum()), float(table["pv_cost"].sum())
    pv_base = base_cost * float(disc.sum())
    by_type = pd.DataFrame({"crime_type": baseline.index, "baseline_per_year": baseline.to_numpy(),
                            "unit_cost": unit.to_numpy(),
                            "crimes_prevented": baseline.to_numpy() * (1 - eff) * years,
                            "pv_benefit": baseline.to_numpy() * unit.to_numpy() * (1 - eff) * float(disc.sum())})
    extra = {}
    if effect_ci is not None:
        npvs = [pv_base * (1 - e) - pvc for e in (effect_ci[1], effect_ci[0])]
        bcrs = [pv_base * (1 - e) / pvc if pvc > 0 else float("inf") for e in (effect_ci[1], effect_ci[0])]
        extra = {"npv_low": npvs[0], "npv_high": npvs[1], "bcr_low": bcrs[0], "bcr_high": bcrs[1]}

    def npv_with(c=cost, b=baseline, u=unit, e=eff, r=rate):
        d = 1 / (1 + r) ** t
        return float((b * u).sum()) * (1 - e) * float(d.sum()) - float(np.sum(c * d))

    e_lo, e_hi = effect_ci if effect_ci is not None else (max(0.0, eff - sw * (1 - eff)), eff + sw * (1 - eff))
    rows = [("programme cost", (1 - sw), (1 + sw), lambda f: npv_with(c=cost * f)),
            ("unit costs", (1 - sw), (1 + sw), lambda f: npv_with(u=unit * f)),
            ("baseline crime", (1 - sw), (1 + sw), lambda f: npv_with(b=baseline * f)),
            ("effect (rate ratio)", e_lo, e_hi, lambda e: npv_with(e=e)),
            ("discount rate", *DEFAULT_RATE_RANGE, lambda r: npv_with(r=r))]
    sens = pd.DataFrame([{"input": name, "low_value": lo, "high_value": hi, "npv_at_low": f(lo), "npv_at_high": f(hi)}
                         for name, lo, hi, f in rows])
    sens["swing"] = (sens["npv_at_high"] - sens["npv_at_low"]).abs()
    sens = sens.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    return CBAResult(table=table, settings=settings, pv_benefits=pvb, pv_costs=pvc, npv=pvb - pvc,
                     bcr=pvb / pvc if pvc > 0 else float("inf"), crimes_prevented=float(table["crimes_prevented"].sum()),
                     break_even_effect=1 - pvc / pv_base if pv_base > 0 else float("nan"), effect=eff,
                     effect_ci=effect_ci, discount_rate=float(rate), price_year=years_seen[0], by_type=by_type,
                     sensitivity=sens, **extra)
