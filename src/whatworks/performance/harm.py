"""Harm-weighted crime totals from a weights table the user supplies (never invented).

A harm index weights each offence by its seriousness: the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud
2016) uses the days of custody at the sentencing-guideline starting point for a first offender; the ONS Crime
Severity Score uses average sentence severity. whatworks ships no weights: police.uk crime types are broad
(e.g. "Violence and sexual offences" mixes common assault and rape), so any weight per police.uk type is a local
judgement that the force must own. Pass a table with one weight per crime type; every type in the data must have
a weight unless ``on_missing="exclude"`` is chosen, in which case the excluded crimes are counted and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result, settings_dict
from whatworks._validate import check_choice, require_columns, require_dataframe, require_numeric
from whatworks.errors import error

__all__ = ["harm", "HarmResult", "check_weights", "apply_weights"]
WHERE = "harm"
DEFAULT_ON_MISSING = "error"


def check_weights(where: str, weights: pd.DataFrame, *, crime_type: str = "crime_type",
                  weight: str = "weight") -> pd.Series:
    """Validate a weights table and return it as a Series indexed by crime type."""
    weights = require_dataframe(where, "weights", weights)
    require_columns(where, weights, [crime_type, weight], arg="weights")
    w = require_numeric(where, weights, weight)
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise error(where, "Harm weights must not be negative.", got=w[i], row=f"position {i}")
    dup = weights[crime_type].duplicated()
    if dup.any():
        raise error(where, "The weights table lists a crime type twice.", got=weights[crime_type][dup].iloc[0],
                    hint="Keep one weight per crime type.")
    return pd.Series(w, index=weights[crime_type].to_numpy())


def apply_weights(where: str, types: pd.Series, w: pd.Series, on_missing: str) -> tuple[np.ndarray, np.ndarray]:
    """Weight per row and a mask of rows whose crime type has no weight (error unless ``on_missing='exclude'``)."""
    vals = types.map(w)
    missing = vals.isna().to_numpy()
    if missing.any() and on_missing == "error":
        absent = sorted(types[missing].astype(str).unique().tolist())
        raise error(where, f"No harm weight for crime type(s) {absent}.", expected="a weight for every crime type in the data",
                    hint="Add them to the weights table, or pass on_missing='exclude' to leave those crimes out "
                         "(they are counted and reported). whatworks never invents weights.")
    return vals.fillna(0.0).to_numpy(dtype=float), missing


@dataclass(frozen=True, repr=False)
class HarmResult(Result):
    """Harm totals. ``table``: the ``by`` groups with ``count``, ``harm`` (sum of weights), ``harm_per_crime``,
    ``share_of_harm`` and ``unweighted`` (crimes left out because their type had no weight)."""

    by: tuple = ()

    def summary(self) -> str:
        t = self.table
        total = t["harm"].sum()
        txt = f"Total harm {total:,.0f} from {int(t['count'].sum()):,} crimes."
        if self.by:
            top = t.sort_values("harm", ascending=False).head(3)
            txt += " Largest: " + "; ".join(
                f"{', '.join(str(r[b]) for b in self.by)} ({r['share_of_harm']:.0%} of harm, "
                f"{r['count'] / t['count'].sum():.0%} of crimes)" for _, r in top.iterrows()) + "."
        if t["unweighted"].sum():
            txt += f" {int(t['unweighted'].sum()):,} crimes had no weight and are not in the harm totals."
        return txt

    def _draw(self, ax) -> None:
        t = self.table.sort_values("harm").tail(15)
        labels = [", ".join(str(r[b]) for b in self.by) for _, r in t.iterrows()] if self.by else ["all"]
        ax.barh(labels, t["harm"], color=PALETTE["vermillion"])
        ax.set_xlabel("harm (sum of user-supplied weights)")


def harm(data: pd.DataFrame, weights: pd.DataFrame, *, by=None, crime_type: str = "crime_type",
         weight: str = "weight", on_missing: str | None = None, quiet: bool = False) -> HarmResult:
    """Harm-weighted totals of crimes, from a user-supplied weights table.

    Parameters
    ----------
    data : DataFrame
        One row per crime, with a ``crime_type`` column.
    weights : DataFrame
        Columns ``crime_type`` and ``weight`` (e.g. Cambridge Crime Harm Index days for each type, chosen by you).
    by : str or list of str, optional
        Group the totals (e.g. ``["lsoa_code"]``).
    crime_type, weight : str
        Column names in ``data`` / ``weights``.
    on_missing : {"error", "exclude"}, optional
        What to do when a crime type in the data has no weight. ``None`` (not given) means "error". Recorded in
        ``.settings`` with source "user" when you pass it — even "error" — and "default" when you leave it out.
    quiet : bool, default False
        Silence the notice of crimes left out by ``on_missing="exclude"`` (they are counted in ``unweighted``
        either way).

    Returns
    -------
    HarmResult

    Examples
    --------
    >>> import pandas as pd
    >>> crimes = pd.DataFrame({"crime_type": ["Burglary", "Burglary", "Robbery"], "lsoa_code": ["A", "B", "A"]})
    >>> w = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "weight": [2.0, 5.0]})  # your own weights
    >>> harm(crimes, w, by="lsoa_code").table["harm"].tolist()
    [7.0, 2.0]
    """
    data = require_dataframe(WHERE, "data", data)
    if on_missing is not None:
        check_choice(WHERE, "on_missing", on_missing, ("error", "exclude"))
    settings: dict[str, Setting] = {}
    on_missing = given_or_default(settings, "on_missing", on_missing, DEFAULT_ON_MISSING,
                                  reason="what happens to a crime type with no weight")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    require_columns(WHERE, data, [crime_type, *by_cols], arg="data")
    w = check_weights(WHERE, weights, crime_type=crime_type, weight=weight)
    row_w, missing = apply_weights(WHERE, data[crime_type], w, on_missing)
    if missing.any():
        absent = sorted(data[crime_type][missing].astype(str).unique().tolist())
        shown = ", ".join(absent[:5]) + (" …" if len(absent) > 5 else "")
        announce(f"{int(missing.sum()):,} crime(s) of {len(absent)} type(s) with no harm weight left out "
                 f"(on_missing='exclude'): {shown}.", quiet=quiet)
    d = data[by_cols].copy() if by_cols else pd.DataFrame(index=data.index)
    d["_w"] = row_w
    d["_m"] = missing
    d["_n"] = ~missing
    if by_cols:
        g = d.groupby(by_cols, sort=True, observed=True, dropna=False)
        t = pd.DataFrame({"count": g["_n"].sum(), "harm": g["_w"].sum(), "unweighted": g["_m"].sum()}).reset_index()
    else:
        t = pd.DataFrame({"count": [int(d["_n"].sum())], "harm": [float(d["_w"].sum())],
                          "unweighted": [int(d["_m"].sum())]})
    t["count"] = t["count"].astype(int)
    t["unweighted"] = t["unweighted"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["harm_per_crime"] = t["harm"] / t["count"]
    total = t["harm"].sum()
    t["share_of_harm"] = t["harm"] / total if total > 0 else np.nan
    return HarmResult(table=t, settings={**settings, **settings_dict(weights=dict(w))}, by=tuple(by_cols))
