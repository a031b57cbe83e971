"""Performance indicators from event records: counts, rates per 1,000 residents, solved rates, harm-weighted totals.

Works on a DataFrame shaped like the store's ``crimes`` view (or a police.uk street file read with pandas): a month
or date column, ``crime_type``, ``last_outcome_category``, and whatever grouping columns you want (``force``,
``lsoa_code`` …). Every group × period in range appears in the table, with zero counts where nothing was recorded.

Solved outcomes
---------------
police.uk publishes each crime's *last outcome category*, not the Home Office outcome type. whatworks counts a crime
as **solved** when its last outcome shows that a suspect was charged or summonsed, or dealt with out of court:

* charged / summonsed (court route) — :data:`CHARGED_OUTCOMES`: Awaiting court outcome; Court result unavailable;
  Court case unable to proceed; Defendant found not guilty; Defendant sent to Crown Court; Offender sent to prison;
  Offender given suspended prison sentence; Offender given community sentence; Offender fined; Offender given
  conditional discharge; Offender given absolute discharge; Offender ordered to pay compensation; Offender deprived
  of property; Offender otherwise dealt with; Suspect charged as part of another case;
* out-of-court disposals — :data:`OUT_OF_COURT_OUTCOMES`: Offender given a caution; Offender given penalty notice;
  Offender given a drugs possession warning; Local resolution (community resolution).

Not solved: Investigation complete; no suspect identified · Unable to prosecute suspect · Further investigation is
not in the public interest · Formal action is not in the public interest · Action to be taken by another organisation
· Under investigation · Status update unavailable · blank. "Defendant found not guilty" counts as solved because the
police outcome (a charge) was reached; pass ``solved_outcomes=`` to use your own list. Anti-social behaviour has no
outcomes and is left out of solved rates (rows with ``kind == 'asb'`` or crime type "Anti-social behaviour").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result, settings_dict
from whatworks._validate import check_choice, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.performance.harm import apply_weights, check_weights

__all__ = ["indicators", "IndicatorsResult", "CHARGED_OUTCOMES", "OUT_OF_COURT_OUTCOMES", "SOLVED_OUTCOMES",
           "period_labels"]
WHERE = "indicators"
PERIODS = ("month", "quarter", "financial_year", "rolling_12")
DEFAULT_PERIOD = "month"
ASB = "Anti-social behaviour"
FY_START_MONTH = 4   # UK financial year April–March

CHARGED_OUTCOMES = frozenset({
    "Awaiting court outcome", "Court result unavailable", "Court case unable to proceed", "Defendant found not guilty",
    "Defendant sent to Crown Court", "Offender sent to prison", "Offender given suspended prison sentence",
    "Offender given community sentence", "Offender fined", "Offender given conditional discharge",
    "Offender given absolute discharge", "Offender ordered to pay compensation", "Offender deprived of property",
    "Offender otherwise dealt with", "Suspect charged as part of another case",
})
OUT_OF_COURT_OUTCOMES = frozenset({
    "Offender given a caution", "Offender given penalty notice", "Offender given a drugs possession warning",
    "Local resolution",
})
SOLVED_OUTCOMES = CHARGED_OUTCOMES | OUT_OF_COURT_OUTCOMES


def _months(where: str, s: pd.Series, name: str) -> pd.PeriodIndex:
    if isinstance(s.dtype, pd.PeriodDtype):
        return pd.PeriodIndex(s).asfreq("M")
    t = pd.to_datetime(s, errors="coerce", format="mixed") if not pd.api.types.is_datetime64_any_dtype(s) else s
    bad = pd.isna(t)
    if bad.any():
        i = int(np.flatnonzero(np.asarray(bad))[0])
        raise error(where, f"Column '{name}' must hold dates or months like '2024-06' with no missing values.",
                    got=s.iloc[i], row=f"position {i}", hint="Drop or fix rows without a date first.")
    return pd.PeriodIndex(pd.DatetimeIndex(t).to_period("M"))


def period_labels(months: pd.PeriodIndex, period: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label, first month, number of months) of the period each month falls in.

    >>> period_labels(pd.PeriodIndex(["2024-03", "2024-04"], freq="M"), "financial_year")[0].tolist()
    ['2023/24', '2024/25']
    """
    y = months.year.to_numpy()
    m = months.month.to_numpy()
    if period == "month":
        return np.asarray(months.strftime("%Y-%m")), months.to_timestamp().to_numpy(), np.ones(len(m), dtype=int)
    if period == "quarter":
        q = (m - 1) // 3 + 1
        lab = np.char.add(np.char.add(y.astype(str), "-Q"), q.astype(str))
        start = pd.to_datetime({"year": y, "month": (q - 1) * 3 + 1, "day": 1}).to_numpy()
        return lab, start, np.full(len(m), 3)
    if period == "financial_year":
        fy = np.where(m >= FY_START_MONTH, y, y - 1)
        lab = np.char.add(np.char.add(fy.astype(str), "/"), np.char.zfill(((fy + 1) % 100).astype(str), 2))
        start = pd.to_datetime({"year": fy, "month": np.full(len(m), FY_START_MONTH), "day": 1}).to_numpy()
        return lab, start, np.full(len(m), 12)
    raise error(WHERE, f"Unknown period {period!r}.")


@dataclass(frozen=True, repr=False)
class IndicatorsResult(Result):
    """Indicators table: one row per group × period with ``period``, ``period_start``, ``months_in_period``,
    ``months_covered`` (months with data in range), ``complete``, ``count``, and when asked: ``population``,
    ``rate_per_1000``, ``crimes_for_solved_rate``, ``solved``, ``solved_rate``, ``charged``, ``harm``,
    ``harm_unweighted``."""

    by: tuple = ()
    period: str = "month"

    def summary(self) -> str:
        t = self.table
        n_groups = len(t[list(self.by)].drop_duplicates()) if self.by else 1
        periods = t["period"].unique()
        txt = (f"{len(t)} rows: {n_groups} group(s) × {len(periods)} {self.period.replace('_', ' ')} period(s) "
               f"({periods[0]} to {periods[-1]}).")
        last = t[t["period"] == periods[-1]]
        txt += f" Latest period {periods[-1]}: {int(last['count'].sum()):,} recorded"
        if "solved_rate" in t:
            den = last["crimes_for_solved_rate"].sum()
            if den:
                txt += f", {last['solved'].sum() / den:.1%} solved so far"
        txt += "."
        if not last["complete"].all():
            txt += " The latest period is incomplete (fewer months of data than the period has)."
        if self.period == "rolling_12":
            txt += " Rolling 12-month totals overlap: do not compare neighbouring rows as independent."
        return txt

    def _draw(self, ax) -> None:
        t = self.table
        if self.by:
            top = t.groupby(list(self.by), observed=True)["count"].sum().sort_values(ascending=False).head(6).index
            colours = list(PALETTE.values())
            for c, key in zip(colours, top):
                key = key if isinstance(key, tuple) else (key,)
                m = np.ones(len(t), dtype=bool)
                for b, v in zip(self.by, key):
                    m &= (t[b] == v).to_numpy()
                s = t[m]
                ax.plot(s["period_start"], s["count"], color=c, marker="o", ms=3, label=", ".join(map(str, key)))
            ax.legend(frameon=False, fontsize=8)
        else:
            ax.plot(t["period_start"], t["count"], color=PALETTE["blue"], marker="o", ms=3)
        ax.set_ylabel("count")
        ax.set_title(f"Counts by {self.period.replace('_', ' ')}")


def _from_store(store, columns: list, source: str | None) -> pd.DataFrame:
    """The store's ``crimes`` view, only the needed columns (duck-typed: analyses never import the store)."""
    view = store.sql("SELECT * FROM crimes LIMIT 0")
    wanted = [c for c in dict.fromkeys(c for c in columns if c) if c in view.columns]
    missing = [c for c in columns if c and c not in view.columns and c != "last_outcome_category"]
    if missing:
        raise error(WHERE, f"Column(s) {missing} are not in the store's crimes view.", expected=f"columns among {list(view.columns)}")
    sources = store.sql("SELECT DISTINCT source_system FROM crimes")["source_system"].dropna().tolist()
    if source is None and len(sources) > 1:
        raise error(WHERE, f"The store holds crimes from several sources {sorted(sources)}, so counting them all would "
                    "count the same crime more than once.", hint="Pass source='police.uk' (or your force's system).")
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
    if source is None:
        return store.sql(f"SELECT {cols} FROM crimes")
    return store.sql(f"SELECT {cols} FROM crimes WHERE source_system = ?", [source])


def indicators(data: pd.DataFrame, by=None, *, period: str | None = None, date: str = "month",
               crime_type: str = "crime_type", outcome: str | None = "last_outcome_category",
               population: pd.DataFrame | None = None, population_col: str = "population",
               harm_weights: pd.DataFrame | None = None, harm_on_missing: str = "error",
               solved_outcomes=None, source: str | None = None) -> IndicatorsResult:
    """Counts, rates per 1,000 residents, solved rates and harm-weighted totals by group and period.

    Parameters
    ----------
    data : DataFrame or whatworks.Store
        One row per event (crime/ASB), e.g. the store's ``crimes`` view. Given a store, the needed columns of its
        ``crimes`` view are read (``source=`` picks one source system when the store holds several).
    by : str or list of str, optional
        Grouping columns (e.g. ``["force", "crime_type"]``).
    period : {"month", "quarter", "financial_year", "rolling_12"}, optional
        Calendar months ("2024-06"); calendar quarters ("2024-Q2"); financial years April–March ("2024/25");
        rolling 12-month totals labelled by their last month ("12 months to 2024-06"), one per month with 12 months of
        data before it. ``None`` (not given) means "month".
    date : str, default "month"
        Month or date column.
    crime_type : str, default "crime_type"
    outcome : str or None, default "last_outcome_category"
        Outcome column for solved rates; ``None`` to skip them.
    population : DataFrame, optional
        Residents per area: one of the ``by`` columns plus ``population_col``. Gives ``rate_per_1000`` (crimes in the
        period per 1,000 residents; not annualised).
    population_col : str, default "population"
        Column of ``population`` holding the number of residents.
    harm_weights : DataFrame, optional
        Your own weights: columns ``crime_type`` and ``weight``. Gives ``harm``. See :func:`whatworks.performance.harm`.
    harm_on_missing : {"error", "exclude"}, default "error"
    solved_outcomes : iterable of str, optional
        Outcome categories that count as solved. ``None`` (not given): :data:`SOLVED_OUTCOMES` (see module
        docstring). ``period`` and ``solved_outcomes`` are recorded in ``.settings`` with source "user" when you pass
        them — even the default value — and "default" when you leave them out.
    source : str, optional
        With a store: only events from this ``source_system`` (e.g. ``"police.uk"``). A store loaded from police.uk
        *and* the force's own records holds the same crimes twice, so a store with several sources needs ``source=``.

    Returns
    -------
    IndicatorsResult

    Examples
    --------
    >>> import pandas as pd
    >>> crimes = pd.DataFrame({"month": ["2024-03", "2024-04", "2024-04"], "crime_type": ["Burglary"] * 3,
    ...                        "last_outcome_category": ["Offender fined", "Under investigation", None]})
    >>> indicators(crimes, period="financial_year").table[["period", "count", "solved"]].values.tolist()
    [['2023/24', 1, 1], ['2024/25', 2, 0]]
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if not isinstance(data, pd.DataFrame) and callable(getattr(data, "sql", None)):
        data = _from_store(data, [date, crime_type, outcome, *by_cols], source)
    data = require_dataframe(WHERE, "data", data)
    if period is not None:
        check_choice(WHERE, "period", period, PERIODS)
    settings: dict = {}
    period = given_or_default(settings, "period", period, DEFAULT_PERIOD, reason="length of each period")
    use_outcome = outcome is not None and outcome in data.columns
    if outcome is not None and outcome not in data.columns and outcome != "last_outcome_category":
        require_columns(WHERE, data, [outcome], arg="data")
    require_columns(WHERE, data, [date, *by_cols], arg="data")
    if use_outcome or harm_weights is not None:
        require_columns(WHERE, data, [crime_type], arg="data")
    if len(data) == 0:
        raise error(WHERE, "The data has no rows.", hint="Check the filter that produced it.")
    months = _months(WHERE, data[date], date)

    d = data[by_cols].copy() if by_cols else pd.DataFrame(index=data.index)
    d = d.reset_index(drop=True)
    d["_month"] = months.to_timestamp().to_numpy()
    d["_n"] = 1
    if use_outcome:
        solved_set = SOLVED_OUTCOMES if solved_outcomes is None else frozenset(solved_outcomes)
        is_asb = (data[crime_type] == ASB).to_numpy().copy()
        if "kind" in data.columns:
            is_asb |= (data["kind"] == "asb").to_numpy()
        oc = data[outcome].to_numpy()
        d["_crime"] = ~is_asb
        d["_solved"] = (~is_asb) & pd.Series(oc).isin(solved_set).to_numpy()
        d["_charged"] = (~is_asb) & pd.Series(oc).isin(CHARGED_OUTCOMES).to_numpy()
        settings["solved_outcomes"] = Setting(sorted(solved_set), "user" if solved_outcomes is not None else "default",
                                              "outcome categories counted as solved")
    if harm_weights is not None:
        check_choice(WHERE, "harm_on_missing", harm_on_missing, ("error", "exclude"))
        w = check_weights(WHERE, harm_weights)
        row_w, missing = apply_weights(WHERE, data[crime_type].reset_index(drop=True), w, harm_on_missing)
        d["_harm"] = row_w
        d["_harm_missing"] = missing
        settings["harm_weights"] = dict(w)
    value_cols = [c for c in d.columns if c.startswith("_") and c != "_month"]

    # monthly counts on a complete grid (every group × every month in range), so zero months exist
    keys = by_cols + ["_month"]
    monthly = d.groupby(keys, sort=True, observed=True, dropna=False)[value_cols].sum().reset_index()
    all_months = pd.period_range(months.min(), months.max(), freq="M").to_timestamp()
    if by_cols:
        groups = monthly[by_cols].drop_duplicates()
        grid = groups.merge(pd.DataFrame({"_month": all_months}), how="cross")
    else:
        grid = pd.DataFrame({"_month": all_months})
    monthly = grid.merge(monthly, on=keys, how="left")
    monthly[value_cols] = monthly[value_cols].fillna(0)
    first_m, last_m = all_months.min(), all_months.max()

    if period == "rolling_12":
        monthly = monthly.sort_values(keys).reset_index(drop=True)
        if by_cols:
            rolled = monthly.groupby(by_cols, sort=False, observed=True, dropna=False)[value_cols].rolling(12).sum()
            rolled = rolled.reset_index(level=list(range(len(by_cols))), drop=True).sort_index()
        else:
            rolled = monthly[value_cols].rolling(12).sum()
        out = monthly[keys].copy()
        out[value_cols] = rolled[value_cols].to_numpy()
        out = out[out["_month"] >= first_m + pd.DateOffset(months=11)].copy()
        if out.empty:
            raise error(WHERE, "Rolling 12-month totals need at least 12 months of data.",
                        got=f"{len(all_months)} month(s)", hint="Use period='month' or 'quarter'.")
        out["period"] = "12 months to " + pd.DatetimeIndex(out["_month"]).strftime("%Y-%m")
        out["period_start"] = pd.DatetimeIndex(out["_month"]) - pd.DateOffset(months=11)
        out["months_in_period"] = 12
        out["months_covered"] = 12
        table = out.drop(columns="_month")
    else:
        lab, start, n_in = period_labels(pd.PeriodIndex(pd.DatetimeIndex(monthly["_month"]), freq="M"), period)
        monthly["period"] = lab
        monthly["period_start"] = start
        monthly["months_in_period"] = n_in
        table = monthly.groupby(by_cols + ["period", "period_start", "months_in_period"], sort=True, observed=True,
                                dropna=False)[value_cols].sum().reset_index()
        cov = monthly[by_cols + ["period"]].assign(_one=1).groupby(by_cols + ["period"], observed=True,
                                                                       dropna=False)["_one"].sum()
        table["months_covered"] = cov.reindex(pd.MultiIndex.from_frame(table[by_cols + ["period"]])
                                              if by_cols else table["period"]).to_numpy()
    table = table.sort_values(by_cols + ["period_start"]).reset_index(drop=True)
    table["complete"] = table["months_covered"] == table["months_in_period"]
    table = table.rename(columns={"_n": "count"})
    table["count"] = table["count"].astype(int)
    if use_outcome:
        table = table.rename(columns={"_crime": "crimes_for_solved_rate", "_solved": "solved", "_charged": "charged"})
        for c in ("crimes_for_solved_rate", "solved", "charged"):
            table[c] = table[c].astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["solved_rate"] = table["solved"] / table["crimes_for_solved_rate"].where(
                table["crimes_for_solved_rate"] > 0)
    if harm_weights is not None:
        table = table.rename(columns={"_harm": "harm", "_harm_missing": "harm_unweighted"})
        table["harm_unweighted"] = table["harm_unweighted"].astype(int)

    if population is not None:
        population = require_dataframe(WHERE, "population", population)
        key = [c for c in population.columns if c in by_cols]
        if len(key) != 1:
            raise error(WHERE, "The population table must share exactly one column with 'by'.",
                        got=list(population.columns), expected=f"one of {by_cols} plus '{population_col}'",
                        hint="e.g. population with columns ['lsoa_code', 'population'] and by=['lsoa_code', ...].")
        require_columns(WHERE, population, [population_col], arg="population")
        pop_vals = require_numeric(WHERE, population, population_col)
        if (pop_vals <= 0).any():
            i = int(np.flatnonzero(pop_vals <= 0)[0])
            raise error(WHERE, "Population must be positive.", got=pop_vals[i], row=f"position {i}")
        if population[key[0]].duplicated().any():
            raise error(WHERE, f"The population table lists an area twice in '{key[0]}'.",
                        got=population[key[0]][population[key[0]].duplicated()].iloc[0])
        pop = pd.Series(pop_vals, index=population[key[0]].to_numpy())
        table["population"] = table[key[0]].map(pop)
        missing = table["population"].isna()
        if missing.any():
            raise error(WHERE, f"No population for area(s) {table.loc[missing, key[0]].unique()[:5].tolist()}.",
                        hint="Add them to the population table (whatworks never guesses a denominator).")
        table["rate_per_1000"] = table["count"] / table["population"] * 1000
        settings["population_key"] = key[0]
    front = by_cols + ["period", "period_start", "months_in_period", "months_covered", "complete", "count"]
    table = table[front + [c for c in table.columns if c not in front]]
    return IndicatorsResult(table=table, settings=settings_dict(**settings), by=tuple(by_cols), period=period)
