"""Performance indicators from event records: counts, rates per 1,000 residents, solved rates, harm-weighted totals.

Works on a DataFrame shaped like the store's ``crimes`` view (or a police.uk street file read with pandas): a month
or date column, ``crime_type``, ``last_outcome_category``, and whatever grouping columns you want (``force``,
``lsoa_code`` …). Every group × period in range appears in the table, with zero counts where nothing was recorded.

Coverage: a month not loaded is not a month with no crime
---------------------------------------------------------
Pass ``coverage=`` (the store's :meth:`Store.coverage` table, or any DataFrame with ``month`` and the grouping
columns it can match, e.g. ``force``) and a group × month the coverage does not list has a **missing** count (NA),
while a covered month with no record is 0. ``months_covered`` and ``complete`` then count covered months only, and a
rate per 1,000 residents is left out (NA) for a period that is not wholly covered. Without ``coverage`` every month
between the first and last record is assumed loaded (announced). Given a store, its coverage is read.

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

from whatworks._announce import Setting, announce, given_or_default
from whatworks._dates import read_dates
from whatworks._periods import FY_START_MONTH, financial_year_label, financial_year_start
from whatworks._result import PALETTE, Result, settings_dict
from whatworks._validate import check_choice, refuse_renamed, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.performance.harm import apply_weights, check_weights

__all__ = ["indicators", "IndicatorsResult", "CHARGED_OUTCOMES", "OUT_OF_COURT_OUTCOMES", "SOLVED_OUTCOMES",
           "period_labels"]
WHERE = "indicators"
# issue 17, "one vocabulary" (CHANGELOG.md): the population table's column is always called "population"
_REMOVED = {"population_col": "name the residents column of the population table 'population', e.g. "
                              "population.rename(columns={'residents': 'population'}).",
            # issue 17: analyses take DataFrames only; the store's reads pick the source (store.crimes(source=...))
            "source": "analyses take DataFrames only, so the 'source' parameter is gone: pick the source when reading "
                      "the events, e.g. indicators(store.crimes(source='police.uk'), coverage=store.coverage(), ...)."}
PERIODS = ("month", "quarter", "financial_year", "rolling_12")
DEFAULT_PERIOD = "month"
ASB = "Anti-social behaviour"
COVERAGE_KINDS = ("street", "crimes")   # file kinds that cover crime counts: police.uk street files, RMS crime tables
COVERAGE_BOOKKEEPING = ("month", "kind", "batch_id", "rows")   # coverage columns that are not a unit of coverage

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
    """The calendar month of each date (the rule of :func:`whatworks._dates.read_dates`: tz-aware → UTC)."""
    d = read_dates(where, pd.DataFrame({name: s}), name,
                   expected="dates or months like '2024-06' with no missing values",
                   hint="Drop or fix rows without a date first.")
    return pd.PeriodIndex(pd.DatetimeIndex(d).to_period("M"))


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
        fy = financial_year_start(y, m)
        lab = financial_year_label(fy)
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
        if last["count"].isna().all():
            return txt + f" Latest period {periods[-1]}: not loaded (no count; a month not loaded is not a zero)."
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


def _covered(coverage: pd.DataFrame, by_cols: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Covered (match columns, ``_month``) pairs, the pairs at least partly covered, and the match columns.

    Match columns are the ``by`` columns the coverage also has (e.g. ``force``). Every other coverage column that is
    not bookkeeping (``month``, ``kind``, ``batch_id``, ``rows``) is a unit of coverage — e.g. ``force`` when counting
    the whole store: a month counts as covered for a group only when every unit the coverage lists for that group
    covers it (a total over two forces, one of them missing a month, is not a total for that month).
    """
    cov = require_dataframe(WHERE, "coverage", coverage)
    require_columns(WHERE, cov, ["month"], arg="coverage")
    if "kind" in cov.columns:
        kept = cov[cov["kind"].isin(COVERAGE_KINDS)]
        if len(cov) and kept.empty:
            raise error(WHERE, "The coverage lists no file kind that covers crime counts.",
                        expected=f"rows with kind in {list(COVERAGE_KINDS)}", got=sorted(cov["kind"].astype(str).unique()),
                        hint="Pass store.coverage() (street files cover police.uk crimes, 'crimes' tables RMS crimes).")
        cov = kept
    match = [c for c in by_cols if c in cov.columns]
    units = [c for c in cov.columns if c not in COVERAGE_BOOKKEEPING and c not in by_cols]
    c = cov[match + units].copy().reset_index(drop=True)
    c["_month"] = _months(WHERE, cov["month"].reset_index(drop=True), "month").to_timestamp().to_numpy() \
        if len(cov) else pd.Series([], dtype="datetime64[ns]")
    c = c.drop_duplicates()
    partly = c[match + ["_month"]].drop_duplicates().reset_index(drop=True)
    if units:
        need = c[match + units].drop_duplicates()
        need = need.groupby(match, observed=True, dropna=False).size() if match else len(need)
        have = c.groupby(match + ["_month"], observed=True, dropna=False).size().rename("_n").reset_index()
        if match:
            have["_need"] = pd.MultiIndex.from_frame(have[match]).map(need) if len(match) > 1 else have[match[0]].map(need)
        else:
            have["_need"] = need
        c = have[have["_n"] == have["_need"]][match + ["_month"]]
    else:
        c = c[match + ["_month"]].drop_duplicates()
    return c.reset_index(drop=True), partly, match


def indicators(data: pd.DataFrame, by=None, *, period: str | None = None, date: str = "month",
               crime_type: str = "crime_type", outcome: str | None = "last_outcome_category",
               population: pd.DataFrame | None = None,
               harm_weights: pd.DataFrame | None = None, harm_on_missing: str = "error",
               solved_outcomes=None, coverage: pd.DataFrame | None = None,
               quiet: bool = False, **renamed) -> IndicatorsResult:
    """Counts, rates per 1,000 residents, solved rates and harm-weighted totals by group and period.

    Parameters
    ----------
    data : DataFrame
        One row per event (crime/ASB), e.g. ``store.crimes(source="police.uk")`` (pick one source: a store holding
        police.uk and the force's own records holds each crime twice).
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
        Residents per area: one of the ``by`` columns plus a column named ``population`` holding the number of
        residents. Gives ``rate_per_1000`` (crimes in the period per 1,000 residents; not annualised).
    harm_weights : DataFrame, optional
        Your own weights: columns ``crime_type`` and ``weight``. Gives ``harm``. See :func:`whatworks.performance.harm`.
    harm_on_missing : {"error", "exclude"}, default "error"
    solved_outcomes : iterable of str, optional
        Outcome categories that count as solved. ``None`` (not given): :data:`SOLVED_OUTCOMES` (see module
        docstring). ``period`` and ``solved_outcomes`` are recorded in ``.settings`` with source "user" when you pass
        them — even the default value — and "default" when you leave them out.
    coverage : DataFrame, optional
        The months loaded: ``month`` plus any grouping columns it can match (``force`` …), one row per covered
        group × month — :meth:`Store.coverage` (rows of other file kinds than "street"/"crimes" are ignored). A
        group × month it does not list has ``count`` NA, never 0; ``months_covered``/``complete`` count covered
        months; ``rate_per_1000`` is NA for a period not wholly covered. ``None``: every month between the first and
        last record counts as loaded (announced).
        Records in a month the coverage does not list are an error.
    quiet : bool, default False
        Silence the announcement about coverage (it is still recorded in ``.settings``).
    **renamed
        ``population_col`` (removed in issue 17: name the column ``population``) and ``source`` (removed in issue 17:
        analyses take DataFrames only; read one source with ``store.crimes(source=...)``) are refused with an error
        saying so.

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
    refuse_renamed(WHERE, renamed, {}, removed=_REMOVED)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if not isinstance(data, pd.DataFrame) and callable(getattr(data, "crimes", None)):
        # analyses take DataFrames only (issue 17): the store's reads make them, and the caller sees which source
        raise error(WHERE, "indicators() takes a DataFrame of events, not a store.",
                    hint="indicators(store.crimes(source='police.uk'), coverage=store.coverage(), ...): pick one "
                         "source (a store holding police.uk and the force's own records has each crime twice).")
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

    # monthly counts on a complete grid (every group × every month in range), so zero months exist; with a coverage
    # table a month it does not list is missing (NA), not zero
    keys = by_cols + ["_month"]
    monthly = d.groupby(keys, sort=True, observed=True, dropna=False)[value_cols].sum().reset_index()
    covered = match = None
    first_month, last_month = months.min(), months.max()
    if coverage is not None:
        covered, partly, match = _covered(coverage, by_cols)
        if len(covered):
            first_month = min(first_month, pd.Timestamp(covered["_month"].min()).to_period("M"))
            last_month = max(last_month, pd.Timestamp(covered["_month"].max()).to_period("M"))
        n_cov = covered["_month"].nunique()
        settings["coverage"] = Setting(f"{n_cov} month(s) covered", "user", "months with no rows in a covered month "
                                       "are 0; months not covered are missing (NA)")
    else:
        settings["coverage"] = Setting("not given", "default", "months with no rows are counted as 0")
        announce("coverage not given: months with no rows are counted as 0 (pass coverage=store.coverage() so that "
                 "a month not loaded is missing, not zero).", quiet=quiet)
    all_months = pd.period_range(first_month, last_month, freq="M").to_timestamp()
    if by_cols:
        groups = monthly[by_cols].drop_duplicates()
        grid = groups.merge(pd.DataFrame({"_month": all_months}), how="cross")
    else:
        grid = pd.DataFrame({"_month": all_months})
    if covered is not None:
        grid = grid.merge(covered.assign(_cov=1), on=match + ["_month"], how="left")
        grid["_cov"] = grid["_cov"].fillna(0).astype(int)
        chk = monthly.merge(partly.assign(_cov=1), on=match + ["_month"], how="left")
        off = chk["_cov"].isna().to_numpy()
        if off.any():
            i = int(np.flatnonzero(off)[0])
            bad = chk.iloc[i]
            where_txt = ", ".join(f"{b}={bad[b]!r}" for b in by_cols)
            raise error(WHERE, f"{int(chk.loc[off, '_n'].sum())} record(s) fall in months the coverage does not list "
                        "as loaded.", got=f"{pd.Timestamp(bad['_month']):%Y-%m}" + (f" ({where_txt})" if where_txt else ""),
                        row=f"{pd.Timestamp(bad['_month']):%Y-%m}" + (f", {where_txt}" if where_txt else ""),
                        hint="Pass the coverage of the same source and forces as the records (store.coverage()), "
                             "or leave coverage out.")
    else:
        grid["_cov"] = 1
    monthly = grid.merge(monthly, on=keys, how="left")
    monthly[value_cols] = monthly[value_cols].fillna(0)
    monthly.loc[monthly["_cov"] == 0, value_cols] = np.nan
    first_m, last_m = all_months.min(), all_months.max()

    if period == "rolling_12":
        monthly = monthly.sort_values(keys).reset_index(drop=True)
        roll_cols = value_cols + ["_cov"]
        if by_cols:
            rolled = monthly.groupby(by_cols, sort=False, observed=True, dropna=False)[roll_cols].rolling(12).sum()
            rolled = rolled.reset_index(level=list(range(len(by_cols))), drop=True).sort_index()
        else:
            rolled = monthly[roll_cols].rolling(12).sum()
        out = monthly[keys].copy()
        out[value_cols] = rolled[value_cols].to_numpy()   # NA when any month of the 12 is not covered
        out["months_covered"] = rolled["_cov"].to_numpy()
        out = out[out["_month"] >= first_m + pd.DateOffset(months=11)].copy()
        if out.empty:
            raise error(WHERE, "Rolling 12-month totals need at least 12 months of data.",
                        got=f"{len(all_months)} month(s)", hint="Use period='month' or 'quarter'.")
        out["period"] = "12 months to " + pd.DatetimeIndex(out["_month"]).strftime("%Y-%m")
        out["period_start"] = pd.DatetimeIndex(out["_month"]) - pd.DateOffset(months=11)
        out["months_in_period"] = 12
        out["months_covered"] = out["months_covered"].astype(int)
        table = out.drop(columns="_month")
    else:
        lab, start, n_in = period_labels(pd.PeriodIndex(pd.DatetimeIndex(monthly["_month"]), freq="M"), period)
        monthly["period"] = lab
        monthly["period_start"] = start
        monthly["months_in_period"] = n_in
        gkeys = by_cols + ["period", "period_start", "months_in_period"]
        g = monthly.groupby(gkeys, sort=True, observed=True, dropna=False)
        table = g[value_cols].sum(min_count=1).reset_index()   # NA only when no month of the period is covered
        table["months_covered"] = g["_cov"].sum().to_numpy().astype(int)
    table = table.sort_values(by_cols + ["period_start"]).reset_index(drop=True)
    table["complete"] = table["months_covered"] == table["months_in_period"]
    table = table.rename(columns={"_n": "count"})
    whole = "Int64" if coverage is not None else int   # nullable counts: NA is "not loaded", never 0
    table["count"] = table["count"].astype(whole)
    if use_outcome:
        table = table.rename(columns={"_crime": "crimes_for_solved_rate", "_solved": "solved", "_charged": "charged"})
        den = table["crimes_for_solved_rate"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["solved_rate"] = np.where(den > 0, table["solved"].to_numpy(dtype=float) / den, np.nan)
        for c in ("crimes_for_solved_rate", "solved", "charged"):
            table[c] = table[c].astype(whole)
    if harm_weights is not None:
        table = table.rename(columns={"_harm": "harm", "_harm_missing": "harm_unweighted"})
        table["harm_unweighted"] = table["harm_unweighted"].astype(whole)

    if population is not None:
        population = require_dataframe(WHERE, "population", population)
        key = [c for c in population.columns if c in by_cols]
        if len(key) != 1:
            raise error(WHERE, "The population table must share exactly one column with 'by'.",
                        got=list(population.columns), expected=f"one of {by_cols} plus 'population'",
                        hint="e.g. population with columns ['lsoa_code', 'population'] and by=['lsoa_code', ...].")
        require_columns(WHERE, population, ["population"], arg="population")
        pop_vals = require_numeric(WHERE, population, "population")
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
        rate = table["count"].to_numpy(dtype=float, na_value=np.nan) / table["population"].to_numpy(dtype=float) * 1000
        if coverage is not None:
            partial = ~table["complete"].to_numpy() & ~np.isnan(rate)
            rate = np.where(table["complete"].to_numpy(), rate, np.nan)
            if partial.any():
                settings["partial_rates"] = Setting(int(partial.sum()), "data", "rates left out: periods not wholly "
                                                    "covered (a part-period count over residents is not comparable)",
                                                    "period(s)")
                announce(f"rate_per_1000 left out for {int(partial.sum())} period(s) not wholly covered "
                         "(fewer months loaded than the period has).", quiet=quiet)
        table["rate_per_1000"] = rate
        settings["population_key"] = key[0]
    front = by_cols + ["period", "period_start", "months_in_period", "months_covered", "complete", "count"]
    table = table[front + [c for c in table.columns if c not in front]]
    return IndicatorsResult(table=table, settings=settings_dict(**settings), by=tuple(by_cols), period=period)
