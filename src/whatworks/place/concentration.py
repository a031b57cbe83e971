"""How concentrated is crime among places? Lorenz curve, Gini, generalised Gini, share of places holding 25% / 50%."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce
from whatworks._result import PALETTE, Result
from whatworks._validate import require_columns
from whatworks.errors import error

__all__ = ["concentration", "ConcentrationResult", "gini", "generalised_gini", "share_of_places"]


def gini(counts) -> float:
    """The (biased, "standard") Gini coefficient: Σ_i (2i − n − 1)·x₍ᵢ₎ / (n·Σx), with x sorted ascending, i = 1…n.

    Equals DescTools::Gini(x, unbiased = FALSE). 0 when every place has the same count; (n − 1)/n when one place has
    all of it.
    """
    x = np.sort(np.asarray(counts, float))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def generalised_gini(counts) -> float:
    """Bernasco & Steenbeek's (2017) generalised Gini: max(1, n/N)·(G − 1) + 1, with n places and N crimes.

    When crimes are fewer than places, perfect equality is impossible (at best N places hold one crime each); the
    generalised Gini measures concentration against that maximal equality, so it is 0 for it and 1 when one place
    holds everything (as n → ∞). Equals the standard Gini when N ≥ n. (Their R package ``lorenzgini``, with
    ``unbiased = FALSE``.)
    """
    x = np.asarray(counts, float)
    n, total = len(x), x.sum()
    g = gini(x)
    if not np.isfinite(g):
        return g
    return float(max(1.0, n / total) * (g - 1) + 1)


def share_of_places(counts, share_of_crime: float) -> float:
    """Smallest share of places (taken busiest first) that together hold at least ``share_of_crime`` of all crime."""
    x = np.sort(np.asarray(counts, float))[::-1]
    total = x.sum()
    if total <= 0:
        return float("nan")
    k = int(np.searchsorted(np.cumsum(x), share_of_crime * total * (1 - 1e-12), side="left")) + 1
    return k / len(x)


@dataclass(frozen=True, repr=False, kw_only=True)
class ConcentrationResult(Result):
    """Crime concentration among places.

    ``table``: the Lorenz curve, one row per place from busiest to quietest: ``rank``, ``count``,
    ``share_of_places`` (cumulative), ``share_of_crime`` (cumulative). Fields: ``gini``, ``generalised_gini``,
    ``places_for_25``, ``places_for_50`` (share of places holding 25% / 50% of crime), ``n_places``, ``n_crimes``,
    ``share_places_with_crime``.
    """

    gini: float = float("nan")
    generalised_gini: float = float("nan")
    places_for_25: float = float("nan")
    places_for_50: float = float("nan")
    n_places: int = 0
    n_crimes: float = 0
    share_places_with_crime: float = float("nan")

    def _headline(self) -> str:
        return (f"50% of crime at {self.places_for_50:.1%} of {self.n_places:,} places; Gini {self.gini:.3f}, "
                f"generalised {self.generalised_gini:.3f}")

    def summary(self) -> str:
        sparse = self.n_crimes < self.n_places
        text = (f"{self.n_crimes:,.0f} crimes across {self.n_places:,} places: half of all crime happened at "
                f"{self.places_for_50:.1%} of places and a quarter at {self.places_for_25:.1%}; "
                f"{self.share_places_with_crime:.1%} of places had any crime. Gini {self.gini:.3f}")
        if sparse:
            text += (f"; because there are fewer crimes than places, the generalised Gini ({self.generalised_gini:.3f})"
                     " is the fairer measure (Bernasco & Steenbeek 2017).")
        else:
            text += "."
        return text

    def _draw(self, ax) -> None:
        t = self.table
        xs = np.concatenate([[0], t["share_of_places"].to_numpy()])
        ys = np.concatenate([[0], t["share_of_crime"].to_numpy()])
        ax.plot(xs, ys, color=PALETTE["vermillion"], label="crime (busiest places first)")
        ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls="--", lw=1, label="perfect equality")
        if self.n_crimes < self.n_places:
            f = self.n_crimes / self.n_places
            ax.plot([0, f, 1], [0, 1, 1], color=PALETTE["blue"], ls=":", lw=1, label="maximal equality given the data")
        for q, share in ((0.5, self.places_for_50), (0.25, self.places_for_25)):
            ax.plot([share, share, 0], [0, q, q], color=PALETTE["black"], lw=0.6)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("share of places")
        ax.set_ylabel("share of crime")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        ax.set_title(f"Crime concentration (Gini {self.gini:.2f})", loc="left")


def _places_from_grid(where: str, grid, study_area) -> tuple[pd.Series, str]:
    """The grid's counts over its study area (narrowed by ``study_area`` when given) and what the places are."""
    from whatworks.place._study_area import BBOX, build_study_area, fmt_area, fmt_length, length_unit, parse_study_area

    t = grid.table
    unit = length_unit(getattr(grid, "crs", None))
    area = getattr(grid, "study_area", None)
    spec = parse_study_area(where, study_area)
    if spec.kind != BBOX:
        narrowed = build_study_area(where, spec, grid.lattice, unit=unit)
        t = t[np.isin(t["cell_id"].to_numpy(), narrowed.cell_ids)]
        kind = narrowed.kind
    else:
        kind = area.kind if area is not None else BBOX
    size = fmt_length(grid.lattice.cell_size, unit)
    km = fmt_area(len(t) * grid.lattice.cell_area, unit)
    if kind == BBOX:
        what = (f"{len(t):,} cells of {size} covering the bounding box of the data ({km}); cells where no crime can "
                "be recorded count as places with none, which overstates concentration (pass study_area=)")
    else:
        what = f"{len(t):,} cells of {size} in the study area ({km})"
    return t[getattr(grid, "value", "count")], what


def _counts_from(where: str, counts, value: str, study_area=None) -> tuple[np.ndarray, str]:
    what = None
    if hasattr(counts, "lattice") and hasattr(counts, "table"):
        counts, what = _places_from_grid(where, counts, study_area)
    elif study_area is not None:
        raise error(where, "study_area= needs a grid of counts (place.grid), whose cells it selects.",
                    got=type(counts).__name__, hint="Pass place.grid(crimes, study_area=...) instead of plain counts.")
    elif isinstance(counts, pd.DataFrame):
        require_columns(where, counts, [value], arg="counts")
        counts = counts[value]
    s = pd.Series(counts) if not isinstance(counts, pd.Series) else counts
    v = pd.to_numeric(s, errors="coerce")
    bad = v.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise error(where, "Counts must be numbers with no missing values (include places with zero crime as 0).",
                    got=s.iloc[first], row=f"position {first}", hint="Fill missing counts with 0 if they mean none.")
    x = v.to_numpy(float)
    if not np.isfinite(x).all():
        first = int(np.flatnonzero(~np.isfinite(x))[0])
        raise error(where, "Counts must be finite numbers.", got=x[first], row=f"position {first}")
    if (x < 0).any():
        first = int(np.flatnonzero(x < 0)[0])
        raise error(where, "Counts must be non-negative.", got=x[first], row=f"position {first}")
    return x, what or f"{len(x):,} places, one per count given (places with no crime must be included as 0)"


def concentration(counts, *, value: str = "count", study_area=None, quiet: bool = False) -> ConcentrationResult:
    """Crime concentration at places: Lorenz curve, Gini, generalised Gini, share of places holding 25% and 50%.

    Parameters
    ----------
    counts : array-like, Series, DataFrame or GridResult
        Crimes per place, one entry per place — places with no crime must be included as 0, or the concentration is
        understated. A DataFrame uses the ``value`` column; a grid result uses its counts.
    value : str, default "count"
        Column of ``counts`` when it is a DataFrame.
    study_area : DataFrame, shapely (Multi)Polygon, boundaries table or StudyArea, optional
        With a grid: use only its cells in this study area (see :func:`whatworks.place.grid`). The denominator — the
        number of places — is then the number of study-area cells. A grid made with ``study_area=`` already holds
        only its study-area cells. ``None``: the places given.
    quiet : bool, default False
        Silence the announcement of what the places are.

    Returns
    -------
    ConcentrationResult

    Notes
    -----
    Gini G = Σ_i (2i − n − 1)·x₍ᵢ₎ / (n·Σx) (x ascending). Generalised Gini (Bernasco & Steenbeek 2017) =
    max(1, n/N)·(G − 1) + 1 for n places and N crimes — use it when places outnumber crimes. The share of places
    holding p of crime is the smallest share of places, busiest first, whose crimes add up to at least p (Weisburd
    2015 reports about 50% of crime at 2–6% of street segments, 25% at 0.4–1.6%).

    References
    ----------
    Weisburd, D. (2015). The law of crime concentration and the criminology of place. Criminology 53(2), 133–157.
    Bernasco, W. & Steenbeek, W. (2017). More places than crimes. J. Quantitative Criminology 33, 451–467.

    Examples
    --------
    >>> from whatworks.place import concentration
    >>> r = concentration([5, 2, 1, 0, 0, 0, 0, 0, 0, 0])
    >>> round(r.gini, 2), round(r.generalised_gini, 2), r.places_for_50
    (0.8, 0.75, 0.1)
    """
    where = "concentration"
    x, what = _counts_from(where, counts, value, study_area)
    if len(x) < 2:
        raise error(where, "Concentration needs at least 2 places.", got=len(x))
    total = x.sum()
    if total <= 0:
        raise error(where, "There is no crime to be concentrated: every count is 0.", hint="Check the period/filter.")
    order = np.argsort(-x, kind="stable")
    xs = x[order]
    table = pd.DataFrame({"rank": np.arange(1, len(x) + 1), "place": order, "count": xs,
                          "share_of_places": np.arange(1, len(x) + 1) / len(x),
                          "share_of_crime": np.cumsum(xs) / total})
    announce(f"concentration: places are {what}.", quiet=quiet)
    settings = {"places": Setting(len(x), "data", f"number of places, zero-crime places included: {what}", "places")}
    return ConcentrationResult(table=table, settings=settings, gini=gini(x), generalised_gini=generalised_gini(x),
                               places_for_25=share_of_places(x, 0.25), places_for_50=share_of_places(x, 0.5),
                               n_places=len(x), n_crimes=float(total),
                               share_places_with_crime=float((x > 0).mean()))
