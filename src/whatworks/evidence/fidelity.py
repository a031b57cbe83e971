"""Implementation and process: fidelity of delivery, fidelity against outcome, the per-protocol hand-off to trials,
and staff-survey (Likert) summaries.

Per unit (a beat, a team, an officer, a case) and period, record ``dose_planned`` and ``dose_delivered`` (patrol
minutes, visits, sessions), ``reach`` (share of the intended targets reached, 0-1) and ``adherence`` (share of
contacts delivered as the protocol says, 0-1) — in the register's ``implementation`` records or any DataFrame with
those columns. Then, per unit over its periods:

* dose ratio = Σ dose delivered / Σ dose planned (capped at 1 in the score: over-delivery is not extra fidelity);
* fidelity score = mean of the available components among (capped dose ratio, mean reach, mean adherence);
* band: ``high`` ≥ 0.8, ``moderate`` ≥ 0.5, else ``low`` (``HIGH_FIDELITY``, ``MODERATE_FIDELITY``; a house
  convention for reading the score, not a published standard — pass your own with ``bands=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns, require_dataframe
from whatworks.errors import error

HIGH_FIDELITY = 0.8
MODERATE_FIDELITY = 0.5
COMPONENTS = ("dose_planned", "dose_delivered", "reach", "adherence")

__all__ = ["fidelity", "fidelity_by_outcome", "per_protocol", "likert_summary", "FidelityResult", "LikertResult"]


@dataclass(frozen=True, repr=False)
class FidelityResult(Result):
    """Fidelity per unit. ``.table``: the unit column, ``periods``, ``dose_planned``, ``dose_delivered``,
    ``dose_ratio``, ``reach``, ``adherence``, ``fidelity``, ``band``."""

    id: str = "unit"
    overall: float = float("nan")

    def _headline(self) -> str:
        return f"{len(self.table)} units, mean fidelity {self.overall:.2f}"

    def summary(self) -> str:
        counts = self.table["band"].value_counts()
        parts = ", ".join(f"{int(counts.get(b, 0))} {b}" for b in ("high", "moderate", "low"))
        low = self.table.loc[self.table["band"] == "low", self.id].astype(str).tolist()
        text = f"Delivery fidelity across {len(self.table)} units averages {self.overall:.2f} (0-1): {parts}."
        if low:
            text += f" Lowest: {', '.join(low[:5])}{' …' if len(low) > 5 else ''}; check delivery before judging effect."
        return text

    def _draw(self, ax) -> None:
        t = self.table.sort_values("fidelity")
        colours = t["band"].map({"high": PALETTE["green"], "moderate": PALETTE["orange"], "low": PALETTE["vermillion"]})
        ax.barh(t[self.id].astype(str), t["fidelity"], color=colours)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fidelity score (0-1)")


def fidelity(implementation: pd.DataFrame, *, id: str = "unit", bands: tuple[float, float] | None = None,
             quiet: bool = False) -> FidelityResult:
    """Summarise delivery fidelity per unit (see the module docstring for the formulas).

    Parameters
    ----------
    implementation : DataFrame
        Columns ``id`` and any of ``dose_planned``, ``dose_delivered``, ``reach``, ``adherence``; one row per unit ×
        period (e.g. ``store.register().implementation``).
    id : str, default "unit"
    bands : (float, float), optional
        Lower edges of the ``high`` and ``moderate`` bands; ``None`` means (0.8, 0.5).

    Examples
    --------
    >>> df = pd.DataFrame({"unit": ["A", "A"], "dose_planned": [10, 10], "dose_delivered": [9, 7], "reach": [1, .8]})
    >>> round(float(fidelity(df).table["fidelity"].iloc[0]), 3)
    0.85
    """
    del quiet
    where = "fidelity"
    require_dataframe(where, "implementation", implementation)
    require_columns(where, implementation, [id], arg="implementation")
    present = [c for c in COMPONENTS if c in implementation.columns and implementation[c].notna().any()]
    if not present:
        raise error(where, "No fidelity measure found.", expected=f"at least one of {list(COMPONENTS)}",
                    got=list(implementation.columns))
    if ("dose_planned" in present) != ("dose_delivered" in present):
        raise error(where, "Dose needs both dose_planned and dose_delivered.", got=present)
    settings: dict[str, Setting] = {}
    hi, mid = given_or_default(settings, "bands", bands, (HIGH_FIDELITY, MODERATE_FIDELITY),
                               reason="lower edges of the high and moderate fidelity bands")
    df = implementation.copy()
    for c in present:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    g = df.groupby(id, sort=True, dropna=False)
    t = pd.DataFrame({"periods": g.size()})
    comps = []
    if "dose_planned" in present:
        t["dose_planned"] = g["dose_planned"].sum()
        t["dose_delivered"] = g["dose_delivered"].sum()
        if (t["dose_planned"] <= 0).any():
            bad = t.index[t["dose_planned"] <= 0][0]
            raise error(where, "A unit's planned dose totals 0, so its dose ratio is undefined.", row=f"unit {bad!r}")
        t["dose_ratio"] = t["dose_delivered"] / t["dose_planned"]
        comps.append(t["dose_ratio"].clip(upper=1))
    for c in ("reach", "adherence"):
        if c in present:
            t[c] = g[c].mean()
            comps.append(t[c])
    t["fidelity"] = pd.concat(comps, axis=1).mean(axis=1, skipna=True)
    t["band"] = np.where(t["fidelity"] >= hi, "high", np.where(t["fidelity"] >= mid, "moderate", "low"))
    t = t.reset_index()
    return FidelityResult(table=t, settings=settings, id=id, overall=float(t["fidelity"].mean()))


def fidelity_by_outcome(fid: FidelityResult, outcomes: pd.DataFrame, *, outcome: str) -> pd.DataFrame:
    """Outcome by fidelity band: ``band``, ``units``, ``mean_fidelity``, ``mean_outcome`` (high, moderate, low),
    with the Spearman correlation of fidelity and outcome across units in ``.attrs["spearman"]``. A dose-response
    (better outcomes where delivery was better) supports a causal reading; none suggests looking at the mechanism."""
    from scipy import stats

    require_columns("fidelity_by_outcome", outcomes, [fid.id, outcome], arg="outcomes")
    m = fid.table.merge(outcomes[[fid.id, outcome]], on=fid.id, how="inner")
    if len(m) == 0:
        raise error("fidelity_by_outcome", f"No unit of the outcomes matches a unit of the fidelity table on '{fid.id}'.")
    out = (m.groupby("band").agg(units=(fid.id, "size"), mean_fidelity=("fidelity", "mean"),
                                 mean_outcome=(outcome, "mean"))
           .reindex(["high", "moderate", "low"]).dropna(subset=["units"]).reset_index())
    out["units"] = out["units"].astype(int)
    rho = stats.spearmanr(m["fidelity"], m[outcome]).statistic if len(m) > 2 else float("nan")
    out.attrs["spearman"] = float(rho)
    return out


def per_protocol(units: pd.DataFrame, fid: FidelityResult, *, threshold: float | None = None) -> pd.DataFrame:
    """Hand-off to ``whatworks.trials``: ``units`` with ``fidelity`` and a ``per_protocol`` column (True where the
    unit's fidelity is at least ``threshold``; ``None`` means the high band's edge, 0.8). Analyse the trial on all
    units as assigned (ITT) first; a per-protocol analysis on ``per_protocol`` units is then secondary and biased
    by who delivered well — report it beside the ITT, never instead of it."""
    thr = HIGH_FIDELITY if threshold is None else float(threshold)
    require_columns("per_protocol", units, [fid.id], arg="units")
    out = units.merge(fid.table[[fid.id, "fidelity"]], on=fid.id, how="left")
    out["per_protocol"] = out["fidelity"].fillna(-1) >= thr
    return out


@dataclass(frozen=True, repr=False)
class LikertResult(Result):
    """One row per item: ``item``, ``n``, ``mean``, ``median``, ``agree`` (share in the top two points),
    ``neutral``, ``disagree`` (bottom two), and the share choosing each point (``p1`` … ``pK``)."""

    scale: int = 5

    def summary(self) -> str:
        t = self.table.sort_values("agree", ascending=False)
        best, worst = t.iloc[0], t.iloc[-1]
        return (f"{len(t)} items on a {self.scale}-point scale: most agreement with '{best['item']}' "
                f"({best['agree']:.0%} agree), least with '{worst['item']}' ({worst['agree']:.0%}).")

    def _draw(self, ax) -> None:
        t = self.table
        left = np.zeros(len(t))
        cols = [PALETTE["vermillion"], PALETTE["orange"], PALETTE["grey"], PALETTE["sky"], PALETTE["blue"]]
        for k in range(1, self.scale + 1):
            w = t[f"p{k}"].to_numpy()
            ax.barh(t["item"].astype(str), w, left=left, color=cols[min(k - 1, len(cols) - 1)] if self.scale == 5 else None,
                    label=str(k))
            left += w
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of responses")
        ax.legend(ncols=self.scale, fontsize=7, loc="lower right")


def likert_summary(responses: pd.DataFrame, items: Sequence[str], *, scale: int = 5) -> LikertResult:
    """Summarise Likert items (1 = strongly disagree … ``scale`` = strongly agree) from a staff survey.
    Missing answers are left out of each item's ``n``; a value outside 1…scale is refused, naming the row.

    >>> float(likert_summary(pd.DataFrame({"q": [1, 4, 5, 5]}), ["q"]).table["agree"].iloc[0])
    0.75
    """
    where = "likert_summary"
    require_dataframe(where, "responses", responses)
    require_columns(where, responses, list(items), arg="responses")
    if not isinstance(scale, int) or scale < 3:
        raise error(where, "'scale' must be a whole number of points, 3 or more.", got=scale)
    rows = []
    for item in items:
        s = pd.to_numeric(responses[item], errors="coerce")
        bad = (s.notna() & ~s.isin(range(1, scale + 1))) | (s.isna() & responses[item].notna())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise error(where, f"Item '{item}' must hold whole numbers from 1 to {scale} (or be blank).",
                        got=responses[item].iloc[i], row=f"response row {i + 1}")
        s = s.dropna()
        n = len(s)
        row = {"item": item, "n": n, "mean": float(s.mean()) if n else np.nan,
               "median": float(s.median()) if n else np.nan,
               "agree": float((s >= scale - 1).mean()) if n else np.nan,
               "neutral": float(((s > 2) & (s < scale - 1)).mean()) if n else np.nan,
               "disagree": float((s <= 2).mean()) if n else np.nan}
        for k in range(1, scale + 1):
            row[f"p{k}"] = float((s == k).mean()) if n else np.nan
        rows.append(row)
    return LikertResult(table=pd.DataFrame(rows), settings={"scale": Setting(scale, "user" if scale != 5 else "default",
                                                                               "points on the Likert scale")},
                        scale=scale)
