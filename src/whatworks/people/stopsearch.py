"""Stop and search fairness: search rates per resident, disproportionality ratios, and the outcome test.

Two questions a scrutiny panel asks: are some groups searched more often than others, relative to how many of them
live here (*disproportionality*, a rate ratio against a reference group); and when they are searched, is what the
officer was looking for found as often (*the outcome test*: a lower find rate for a more-searched group is
consistent with a lower threshold of suspicion for searching them — Becker 1957; Knowles, Persico & Todd 2001).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._stats import exact_rate_ratio_ci
from whatworks._validate import (check_choice, check_number, refuse_renamed, require_columns, require_dataframe,
                                require_numeric)
from whatworks._words import truthy
from whatworks.errors import error
from whatworks.people._common import DEFAULT_CONF_LEVEL, ci_words, wilson

__all__ = ["stop_search", "StopSearchResult", "rate_ratio_ci"]

CI_METHODS = ("wald-log", "exact")
DEFAULT_ARREST_VALUES = ("Arrest",)
DEFAULT_REFERENCE = "White"
DEFAULT_CI_METHOD = "wald-log"
PER = 1000.0
# issue 17, "one vocabulary" (CHANGELOG.md)
_RENAMED = {"level": "conf_level"}
_REMOVED = {"population_column": "name the residents column of the population table 'population', e.g. "
                                 "population.rename(columns={'residents': 'population'})."}


def rate_ratio_ci(a: float, pop_a: float, b: float, pop_b: float, *, method: str = "wald-log",
                  conf_level: float = 0.95, **renamed) -> tuple[float, float, float]:
    """Rate ratio (a/pop_a) / (b/pop_b) with a confidence interval.

    ``"wald-log"``: exp(log RR ± z·√(1/a + 1/b)) — log rate ratio with Poisson variance (statsmodels
    ``confint_poisson_2indep(method="wald-log")``). ``"exact"``: the exact conditional interval — given a + b,
    a ~ Binomial(a + b, p) with p = RR·pop_a / (RR·pop_a + pop_b); the Clopper–Pearson interval for p is mapped to RR
    (R's ``poisson.test`` for two samples). Returns (ratio, low, high); NaN when a rate is undefined.
    ``conf_level`` (default 0.95) is the confidence level; the old name ``level`` is refused with an error naming it.
    """
    refuse_renamed("rate_ratio_ci", renamed, _RENAMED)
    if pop_a <= 0 or pop_b <= 0 or b <= 0:
        return float("nan"), float("nan"), float("nan")
    rr = (a / pop_a) / (b / pop_b)
    if method == "wald-log":
        if a <= 0:
            return float(rr), float("nan"), float("nan")
        from statsmodels.stats.rates import confint_poisson_2indep

        lo, hi = confint_poisson_2indep(a, pop_a, b, pop_b, method="wald-log", compare="ratio", alpha=1 - conf_level)
        return float(rr), float(lo), float(hi)
    if method == "exact":
        ka = round(a)
        lo, hi = exact_rate_ratio_ci(ka, round(a + b) - ka, pop_a, pop_b, conf_level=conf_level)
        return float(rr), float(lo), float(hi)
    raise error("stop_search", f"The 'ci_method' parameter must be one of {list(CI_METHODS)}.", got=method)


@dataclass(frozen=True, repr=False, kw_only=True)
class StopSearchResult(Result):
    """Search rates, disproportionality and outcome rates by group (and by area or period when asked).

    ``table``: one row per (``by`` …, group): ``searches``, ``population``, ``rate_per_1000``, ``rate_ratio``,
    ``rr_ci_low``, ``rr_ci_high`` (against the reference group in the same ``by`` cell), ``finds``, ``find_rate``,
    ``find_ci_low``, ``find_ci_high`` (Wilson), ``find_rate_difference`` and its CI (against the reference group,
    Newcombe), ``arrests``, ``arrest_rate``, ``arrest_ci_low``, ``arrest_ci_high``.

    Fields: ``overall`` (the same table force-wide, no ``by``), ``group``, ``reference``, ``by``, ``ci_method``,
    ``excluded`` (searches with no group recorded).
    """

    overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    group: str = "officer_defined_ethnicity"
    reference: str = "White"
    by: tuple[str, ...] = ()
    ci_method: str = "wald-log"
    excluded: int = 0
    has_find: bool = True
    has_arrest: bool = True

    def _headline(self) -> str:
        o = self.overall[self.overall["group"] != self.reference]
        if not len(o):
            return f"{int(self.overall['searches'].sum()):,} searches"
        r = o.loc[o["rate_ratio"].idxmax()]
        return f"{r['group']} searched at {r['rate_ratio']:.2f}x the {self.reference} rate"

    def summary(self) -> str:
        o = self.overall
        total = int(o["searches"].sum())
        lines = [f"{total:,} searches with {self.group} recorded ({self.excluded:,} without it were left out)."]
        for r in o.itertuples(index=False):
            if r.group == self.reference:
                lines.append(f"{self.reference} (reference): {r.rate_per_1000:.1f} searches per 1,000 residents.")
                continue
            lines.append(f"{r.group}: {r.rate_per_1000:.1f} per 1,000, {r.rate_ratio:.2f} times the {self.reference} rate "
                         f"({ci_words(self.settings)} {r.rr_ci_low:.2f} to {r.rr_ci_high:.2f}).")
        if self.has_find:
            parts = [f"{r.group} {r.find_rate:.0%} ({r.find_ci_low:.0%}–{r.find_ci_high:.0%})" for r in o.itertuples(index=False)]
            lines.append("Find rate (object found): " + ", ".join(parts) + ".")
            ref = o.loc[o["group"] == self.reference]
            if len(ref):
                lower = o[(o["group"] != self.reference) & (o["find_diff_ci_high"] < 0)]
                if len(lower):
                    lines.append("Outcome test: searches of " + ", ".join(lower["group"]) + f" find less often than searches of "
                                 f"{self.reference} people (CI below zero), consistent with a lower threshold of suspicion "
                                 "for searching them; differences in what people carry (infra-marginality) can also explain it.")
                else:
                    lines.append(f"Outcome test: no group's find rate is clearly below the {self.reference} rate.")
        method = "log rate ratio with Poisson variance" if self.ci_method == "wald-log" else "exact conditional (binomial)"
        lines.append(f"Rate-ratio CIs: {method}; "
                     "they assume searches are independent events and the resident population is the right denominator "
                     "(searches of non-residents, repeat searches of the same people, and clustering by area or operation "
                     "make the real uncertainty larger).")
        return " ".join(lines)

    def _draw(self, ax) -> None:
        o = self.overall
        y = np.arange(len(o))
        ax.errorbar(o["rate_ratio"], y, xerr=[o["rate_ratio"] - o["rr_ci_low"], o["rr_ci_high"] - o["rate_ratio"]],
                    fmt="o", color=PALETTE["blue"], ecolor=PALETTE["blue"], capsize=3)
        ax.axvline(1, color=PALETTE["grey"], ls="--", lw=1)
        ax.set_yticks(y, o["group"])
        ax.set_xscale("log")
        ax.set_xlabel(f"search rate ratio vs {self.reference} (log scale, {ci_words(self.settings)})")
        ax.set_title("Stop and search disproportionality", loc="left")


def _rates(stops: pd.DataFrame, pop: pd.DataFrame, keys: list[str], reference: str, ci_method: str,
           conf_level: float) -> pd.DataFrame:
    from statsmodels.stats.proportion import confint_proportions_2indep

    g = stops.groupby(keys, dropna=False, observed=True).agg(searches=("_one", "sum"), finds=("_found", "sum"),
                                                            arrests=("_arrest", "sum")).reset_index()
    pop_keys = [k for k in keys if k in pop.columns]
    out = pop.merge(g, on=pop_keys, how="left") if keys == pop_keys else g.merge(pop, on=pop_keys, how="left")
    for c in ("searches", "finds", "arrests"):
        out[c] = out[c].fillna(0).astype(int)
    out["rate_per_1000"] = out["searches"] / out["population"] * PER
    cell = [k for k in keys if k != "group"]
    rows = []
    groups = out.groupby(cell, sort=True, dropna=False) if cell else [((), out)]
    for _, sub in groups:
        ref = sub[sub["group"] == reference]
        for r in sub.itertuples(index=False):
            d = r._asdict()
            if len(ref):
                b, pb = float(ref["searches"].iloc[0]), float(ref["population"].iloc[0])
                rr, lo, hi = rate_ratio_ci(float(r.searches), float(r.population), b, pb, method=ci_method,
                                           conf_level=conf_level)
            else:
                rr = lo = hi = float("nan")
            d.update({"rate_ratio": rr, "rr_ci_low": lo, "rr_ci_high": hi})
            d["find_rate"] = r.finds / r.searches if r.searches else float("nan")
            d["find_ci_low"], d["find_ci_high"] = wilson(r.finds, r.searches, conf_level)
            if len(ref) and r.searches and ref["searches"].iloc[0]:
                rf, rn = int(ref["finds"].iloc[0]), int(ref["searches"].iloc[0])
                d["find_rate_difference"] = d["find_rate"] - rf / rn
                lo2, hi2 = confint_proportions_2indep(r.finds, r.searches, rf, rn, method="newcomb", compare="diff",
                                                      alpha=1 - conf_level)
                d["find_diff_ci_low"], d["find_diff_ci_high"] = float(lo2), float(hi2)
            else:
                d["find_rate_difference"] = d["find_diff_ci_low"] = d["find_diff_ci_high"] = float("nan")
            d["arrest_rate"] = r.arrests / r.searches if r.searches else float("nan")
            d["arrest_ci_low"], d["arrest_ci_high"] = wilson(r.arrests, r.searches, conf_level)
            rows.append(d)
    cols = [*cell, "group", "searches", "population", "rate_per_1000", "rate_ratio", "rr_ci_low", "rr_ci_high", "finds",
            "find_rate", "find_ci_low", "find_ci_high", "find_rate_difference", "find_diff_ci_low", "find_diff_ci_high",
            "arrests", "arrest_rate", "arrest_ci_low", "arrest_ci_high"]
    return pd.DataFrame(rows)[cols].sort_values([*cell, "group"], kind="stable").reset_index(drop=True)


def stop_search(stops: pd.DataFrame, population: pd.DataFrame, group: str = "officer_defined_ethnicity",
                by: str | Sequence[str] | None = None, *, reference: str | None = None,
                found: str | None = "outcome_linked_to_object",
                outcome: str | None = "outcome", arrest_values: Sequence[str] | None = None,
                ci_method: str | None = None, conf_level: float | None = None,
                on_missing_group: str = "exclude", quiet: bool = False, **renamed) -> StopSearchResult:
    """Search rates per 1,000 residents by group, disproportionality ratios with CIs, and find and arrest rates.

    Parameters
    ----------
    stops : pandas.DataFrame
        One row per person search (police.uk stop-and-search rows, or the store's ``stops`` view).
    population : pandas.DataFrame
        Residents by group: a column named like ``group`` (or ``"group"``) and a column named ``population``; plus
        any ``by`` columns that are areas (e.g. ``lsoa_code``) when rates by area are wanted.
    group : str, default "officer_defined_ethnicity"
        The column of ``stops`` holding the group. Officer-defined ethnicity is recorded for nearly every search;
        self-defined ethnicity is often "Not stated".
    by : str or list of str, optional
        Split the rates: an area column present in ``population`` (rates against each area's residents), or a column
        absent from it such as ``month`` (rates per period against the whole population; announced).
    reference : str, optional
        Reference group of the rate ratios and find-rate differences. ``None`` (not given) means "White".
    found : str or None, default "outcome_linked_to_object"
        Column saying whether the object searched for was found (True/"True"/1); ``None`` skips the find rates.
        Blank counts as not found.
    outcome : str or None, default "outcome"
        Outcome column; rows whose outcome is in ``arrest_values`` count as arrests. ``None`` skips arrest rates.
    arrest_values : list of str, optional
        Outcomes that count as arrests. ``None`` (not given) means ``("Arrest",)``.
    ci_method : {"wald-log", "exact"}, optional
        Rate-ratio CI: log rate ratio with Poisson variance, or exact conditional (binomial) — see :func:`rate_ratio_ci`.
        ``None`` (not given) means "wald-log".
    conf_level : float, optional
        Confidence level of the intervals. ``None`` (not given) means 0.95. ``reference``, ``arrest_values``,
        ``ci_method`` and ``conf_level`` are recorded in ``.settings`` with source "user" when you pass them — even the
        default value — and "default" when you leave them out.
    on_missing_group : {"exclude", "error"}, default "exclude"
        Searches with no group recorded (vehicle searches, or ethnicity not recorded): leave them out (announced and
        counted in ``.excluded``) or stop with an error.
    quiet : bool, default False
    **renamed
        Names before issue 17: ``level`` (now ``conf_level``) and ``population_column`` (removed: name the column
        ``population``) are refused with an error saying so.

    Returns
    -------
    StopSearchResult

    Notes
    -----
    rate_g = searches_g / residents_g × 1,000; RR_g = rate_g / rate_reference. Find rate = searches with the object
    found / searches. The output holds counts by group only: no person identifiers.

    References
    ----------
    Becker, G. S. (1957). *The Economics of Discrimination*. Knowles, J., Persico, N. & Todd, P. (2001). Racial bias in
    motor vehicle searches. *Journal of Political Economy* 109(1). Simoiu, C., Corbett-Davies, S. & Goel, S. (2017).
    The problem of infra-marginality in outcome tests for discrimination. *Annals of Applied Statistics* 11(3).
    Home Office, *Police powers and procedures: stop and search* (disproportionality against resident population).

    Examples
    --------
    >>> import pandas as pd, whatworks as ww
    >>> stops = pd.DataFrame({"officer_defined_ethnicity": ["White"] * 10 + ["Black"] * 10,
    ...                       "outcome_linked_to_object": [True] * 3 + [False] * 7 + [True] * 2 + [False] * 8,
    ...                       "outcome": ["A no further action disposal"] * 20})
    >>> pop = pd.DataFrame({"group": ["White", "Black"], "population": [10_000, 2_000]})
    >>> r = ww.people.stop_search(stops, pop, quiet=True)
    >>> float(r.overall.set_index("group").loc["Black", "rate_ratio"])
    5.0
    """
    fn = "stop_search"
    refuse_renamed(fn, renamed, _RENAMED, removed=_REMOVED)
    require_dataframe(fn, "stops", stops)
    require_dataframe(fn, "population", population)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    require_columns(fn, stops, [group, *by_cols, found, outcome], arg="stops")
    pop_group = group if group in population.columns else "group"
    require_columns(fn, population, [pop_group, "population"], arg="population")
    if ci_method is not None:
        check_choice(fn, "ci_method", ci_method, CI_METHODS)
    check_choice(fn, "on_missing_group", on_missing_group, ("exclude", "error"))
    if conf_level is not None:
        check_number(fn, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    # None = not given: an explicit value equal to the default (reference="White", conf_level=0.95 …) is still the
    # user's
    opts: dict[str, Setting] = {}
    reference = given_or_default(opts, "reference", reference, DEFAULT_REFERENCE,
                                 reason="reference group of the rate ratios")
    ci_method = given_or_default(opts, "ci_method", ci_method, DEFAULT_CI_METHOD, reason="rate-ratio interval")
    conf_level = given_or_default(opts, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of the intervals")
    arrest_values = given_or_default(opts, "arrest_values", None if arrest_values is None else list(arrest_values),
                                     list(DEFAULT_ARREST_VALUES), reason="outcomes counted as arrests")
    pop_vals = require_numeric(fn, population, "population")
    if (pop_vals <= 0).any():
        i = int(np.flatnonzero(pop_vals <= 0)[0])
        raise error(fn, "Column 'population' of 'population' must be > 0.", got=pop_vals[i], row=f"position {i}",
                    hint="Drop groups with no residents; a rate per resident is undefined for them.")

    area_by = [c for c in by_cols if c in population.columns]
    time_by = [c for c in by_cols if c not in population.columns]
    pop = population[[*area_by, pop_group, "population"]].rename(columns={pop_group: "group"})
    pop = pop.assign(group=pop["group"].astype(str)).groupby([*area_by, "group"], as_index=False)["population"].sum()
    if reference not in set(pop["group"]):
        raise error(fn, f"The reference group {reference!r} is not in the population table.",
                    expected=f"one of {sorted(pop['group'].unique())}", hint="Pass reference= one of those.")

    missing = stops[group].isna().to_numpy()
    if missing.any() and on_missing_group == "error":
        i = int(np.flatnonzero(missing)[0])
        raise error(fn, f"Column '{group}' is blank for {int(missing.sum())} searches.", row=f"position {i}",
                    hint="Use on_missing_group='exclude' to leave them out (they are counted in .excluded).")
    s = stops.loc[~missing]
    excluded = int(missing.sum())
    if excluded:
        announce(f"{excluded:,} searches with no {group} recorded left out of the rates.", quiet=quiet)
    work = pd.DataFrame({"group": s[group].astype(str).to_numpy(), "_one": 1,
                         "_found": truthy(s[found]) if found else False,
                         "_arrest": s[outcome].isin(list(arrest_values)).to_numpy() if outcome else False})
    for c in by_cols:
        work[c] = s[c].to_numpy()
    unknown = sorted(set(work["group"]) - set(pop["group"]))
    if unknown:
        i = int(np.flatnonzero(work["group"].isin(unknown).to_numpy())[0])
        raise error(fn, f"Group(s) {unknown} in the searches have no population.", row=f"position {i} of the searches with a group",
                    hint="Add them to the population table, or recode the search groups to the population's groups.")
    if not len(work):
        raise error(fn, f"There are no searches with '{group}' recorded to compute rates from.",
                    got=f"{len(stops)} searches, {excluded} without a group",
                    hint="Check the filter that produced the searches, or the group column.")
    if area_by:
        known = pd.MultiIndex.from_frame(pop[[*area_by, "group"]].astype(object))
        cells = pd.MultiIndex.from_frame(work[[*area_by, "group"]].astype(object))
        absent = ~cells.isin(known)
        if absent.any():
            i = int(np.flatnonzero(absent)[0])
            raise error(fn, f"{int(absent.sum())} searches fall in ({', '.join(area_by)}, group) cells that have no "
                            "population, so they would drop out of the rates.", got=cells[i],
                        row=f"position {i} of the searches with a group",
                        hint="Add those areas to the population table, or drop the searches outside them first.")
    if time_by:
        announce(f"{', '.join(time_by)} not in the population table: rates per {', '.join(time_by)} use the whole "
                 "population of each group as the denominator.", quiet=quiet)

    settings = {
        "group": Setting(group, "user"), "reference": opts["reference"],
        "ci_method": Setting(ci_method, opts["ci_method"].source,
                             "log rate ratio, Poisson variance" if ci_method == "wald-log" else "exact conditional"),
        "conf_level": opts["conf_level"],
        "by_area": Setting(area_by, "data", "by columns found in the population table"),
        "by_period": Setting(time_by, "data", "by columns not in the population table (denominator: all residents)"),
        "excluded_no_group": Setting(excluded, "data", "searches with no group recorded"),
        "arrest_values": opts["arrest_values"],
    }
    overall = _rates(work, pop.groupby("group", as_index=False)["population"].sum(), ["group"], reference, ci_method, conf_level)
    table = _rates(work, pop, [*by_cols, "group"], reference, ci_method, conf_level) if by_cols else overall.copy()
    return StopSearchResult(table=table, settings=settings, overall=overall, group=group, reference=reference,
                            by=tuple(by_cols), ci_method=ci_method, excluded=excluded, has_find=found is not None,
                            has_arrest=outcome is not None)
