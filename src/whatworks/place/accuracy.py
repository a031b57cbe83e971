"""How well did flagged places (a hot-spot map, a forecast) capture the crime that followed? Hit rate, PAI, PEI, RRI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting
from whatworks._result import PALETTE, Result
from whatworks.errors import error

__all__ = ["accuracy", "AccuracyResult"]

DEFINITIONS = {
    "hit_rate": "share of the evaluation period's crimes that fell in flagged places, n/N (Chainey, Tompson & Uhlig 2008)",
    "area_share": "share of the study area that was flagged, a/A",
    "pai": "Predictive Accuracy Index = hit rate / area share = (n/N)/(a/A) (Chainey, Tompson & Uhlig 2008)",
    "pei": "Predictive Efficiency Index = PAI / best PAI possible with the same flagged area, i.e. n / n* where n* is "
           "the crime in the busiest places of that total area (Hunt 2016)",
    "rri": "Recapture Rate Index = (n/n₀)/(N/N₀): crime in flagged places in the evaluation period over the baseline "
           "period, relative to the same ratio for the whole area (Levine 2008)",
}


@dataclass(frozen=True, repr=False, kw_only=True)
class AccuracyResult(Result):
    """Forecast accuracy. ``table``: one row per measure with ``measure``, ``value``, ``definition``."""

    hit_rate: float = float("nan")
    area_share: float = float("nan")
    pai: float = float("nan")
    pei: float = float("nan")
    rri: float = float("nan")
    best_hit_rate: float = float("nan")

    def _headline(self) -> str:
        return f"hit rate {self.hit_rate:.1%} on {self.area_share:.1%} of the area, PAI {self.pai:.2f}"

    def summary(self) -> str:
        text = (f"The flagged places cover {self.area_share:.1%} of the area and caught {self.hit_rate:.1%} of the "
                f"crime that followed (PAI {self.pai:.2f}: {self.pai:.1f} times what the same area picked at random "
                f"would catch). The best possible choice of the same area would have caught {self.best_hit_rate:.1%} "
                f"(PEI {self.pei:.2f}).")
        if np.isfinite(self.rri):
            text += f" Recapture rate index {self.rri:.2f}."
        elif "baseline" in self.settings:
            text += (" No recapture rate index: the baseline counts have no crime in the flagged places (or none at "
                     "all), so the ratio is undefined.")
        else:
            text += " Give baseline= (the counts the forecast was made from) for the recapture rate index."
        return text

    def _draw(self, ax) -> None:
        labels = ["area flagged", "crime caught", "best possible"]
        vals = [self.area_share, self.hit_rate, self.best_hit_rate]
        colours = [PALETTE["grey"], PALETTE["vermillion"], PALETTE["blue"]]
        ax.barh(labels[::-1], vals[::-1], color=colours[::-1])
        for k, v in enumerate(vals[::-1]):
            ax.text(v, k, f" {v:.1%}", va="center", fontsize=9)
        ax.set_xlim(0, max(1e-9, max(vals)) * 1.25)
        ax.set_xlabel("share")
        ax.set_title(f"Forecast accuracy: PAI {self.pai:.2f}, PEI {self.pei:.2f}", loc="left")


def _vector(where: str, name: str, v, n: int | None = None) -> np.ndarray:
    if hasattr(v, "lattice") and hasattr(v, "table"):
        v = v.table[getattr(v, "value", "count")]
    arr = pd.Series(v).to_numpy() if not isinstance(v, np.ndarray) else v
    if n is not None and len(arr) != n:
        raise error(where, f"'{name}' must have one entry per place, like 'observed'.", expected=f"{n} entries",
                    got=f"{len(arr)} entries", hint="Use the same grid (same extent and cell size) for both.")
    return arr


def accuracy(flagged, observed, *, baseline=None, area=None) -> AccuracyResult:
    """Hit rate, PAI, PEI and RRI of flagged places against the crime that followed.

    Parameters
    ----------
    flagged : array-like of bool, or GiStarResult
        One entry per place: True where the forecast/hot-spot map flagged the place. A Gi* result flags its hot spots.
    observed : array-like of counts, or GridResult
        Crimes per place in the evaluation period (the period after the forecast was made), same places, same order.
    baseline : array-like of counts, optional
        Crimes per place in the period the forecast was made from; needed for the recapture rate index.
    area : array-like of float, optional
        Area of each place. ``None``: equal areas (grid cells), or the grid's cell area.

    Returns
    -------
    AccuracyResult

    Notes
    -----
    With N crimes in the evaluation period, n of them in flagged places, flagged area a of total A:
    hit rate = n/N; PAI = (n/N)/(a/A) (Chainey, Tompson & Uhlig 2008); PEI = n/n*, where n* is the most crime any set
    of places with the same total area could hold — places taken in decreasing order of crime per unit area, the last
    one pro rata (exact for equal-area cells; an upper bound otherwise, so PEI is never overstated) (Hunt 2016).
    RRI = (n/n₀)/(N/N₀) with n₀, N₀ the baseline counts (Levine 2008). Public code defines RRI inconsistently — some
    divide by the *forecast* counts rather than baseline crimes, some invert the ratio; this is Levine's.

    References
    ----------
    Chainey, S., Tompson, L. & Uhlig, S. (2008). The utility of hotspot mapping for predicting spatial patterns of
    crime. Security Journal 21, 4–28. Hunt, J. M. (2016). Do crime hot spots move? Exploring the effects of the
    modifiable areal unit problem and modifiable temporal unit problem on crime hot spot stability. PhD thesis,
    American University. Levine, N. (2008). The "hottest" part of a hotspot: comments on "The utility of hotspot
    mapping for predicting spatial patterns of crime". Security Journal 21, 295–302.

    Examples
    --------
    >>> from whatworks.place import accuracy
    >>> r = accuracy([True, False, False, False], [6, 2, 1, 1])
    >>> r.hit_rate, r.pai, r.pei
    (0.6, 2.4, 1.0)
    """
    where = "accuracy"
    obs = pd.to_numeric(pd.Series(_vector(where, "observed", observed)), errors="coerce").to_numpy(float)
    n_places = len(obs)
    if n_places == 0 or not np.all(np.isfinite(obs)) or (obs < 0).any():
        bad = np.flatnonzero(~np.isfinite(obs) | (obs < 0))
        raise error(where, "'observed' must hold non-negative counts, one per place.",
                    got=obs[bad[0]] if len(bad) else "no places", row=f"position {bad[0]}" if len(bad) else None)
    if hasattr(flagged, "table") and "classification" in getattr(flagged, "table", pd.DataFrame()).columns:
        flag = (flagged.table["classification"] == "hot spot").to_numpy()
    else:
        flag = _vector(where, "flagged", flagged, n_places)
    if flag.dtype != bool:
        if not set(pd.unique(pd.Series(flag))) <= {0, 1, True, False}:
            raise error(where, "'flagged' must be True/False per place.", got=pd.Series(flag).iloc[0],
                        hint="Use e.g. result.table['classification'] == 'hot spot'.")
        flag = flag.astype(bool)
    if len(flag) != n_places:
        raise error(where, "'flagged' must have one entry per place, like 'observed'.", expected=f"{n_places} entries",
                    got=f"{len(flag)} entries")
    if area is None:
        cell_area = getattr(getattr(observed, "lattice", None), "cell_area", 1.0)
        ar = np.full(n_places, float(cell_area))
    else:
        ar = pd.to_numeric(pd.Series(_vector(where, "area", area, n_places)), errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(ar)) or (ar <= 0).any():
            raise error(where, "'area' must be positive numbers.", got=ar[np.flatnonzero(~(ar > 0))[0]])
    total = obs.sum()
    if total <= 0:
        raise error(where, "There is no observed crime to capture.", hint="Check the evaluation period.")
    if not flag.any():
        raise error(where, "No place is flagged.", hint="Flag at least one place (e.g. a less strict threshold).")
    n_hit = obs[flag].sum()
    a_flag, a_all = ar[flag].sum(), ar.sum()
    hit, share = n_hit / total, a_flag / a_all
    pai = hit / share
    # best possible capture with the same area: densest places first, the last one pro rata
    order = np.argsort(-(obs / ar), kind="stable")
    cum_a = np.cumsum(ar[order])
    cum_n = np.cumsum(obs[order])
    k = int(np.searchsorted(cum_a, a_flag * (1 - 1e-12), side="left"))
    prev_a = cum_a[k - 1] if k > 0 else 0.0
    prev_n = cum_n[k - 1] if k > 0 else 0.0
    best_n = prev_n + obs[order][k] * (a_flag - prev_a) / ar[order][k]
    best_hit = best_n / total
    pei = n_hit / best_n if best_n > 0 else float("nan")
    rri = float("nan")
    settings = {"area": Setting("given" if area is not None else "equal cells", "user" if area is not None else
                                "default", "area of each place")}
    if baseline is not None:
        base = pd.to_numeric(pd.Series(_vector(where, "baseline", baseline, n_places)), errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(base)) or (base < 0).any():
            raise error(where, "'baseline' must hold non-negative counts.", got=base[np.flatnonzero(~(base >= 0))[0]])
        n0, total0 = base[flag].sum(), base.sum()
        if n0 > 0 and total0 > 0:
            rri = float((n_hit / n0) / (total / total0))
        settings["baseline"] = Setting(float(total0), "user", "crimes in the baseline period")
    measures = {"hit_rate": hit, "area_share": share, "pai": pai, "pei": pei, "rri": rri}
    table = pd.DataFrame({"measure": list(measures), "value": [float(v) for v in measures.values()],
                          "definition": [DEFINITIONS[m] for m in measures]})
    return AccuracyResult(table=table, settings=settings, hit_rate=float(hit), area_share=float(share),
                          pai=float(pai), pei=float(pei), rri=rri, best_hit_rate=float(best_hit))
