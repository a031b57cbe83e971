"""Compare two counts (two periods, two areas) with an exact conditional test of two Poisson rates.

A bare percentage change ("burglary up 12%") says nothing about chance. Conditional on the total ``a + b``, the count
``a`` is Binomial(a + b, p₀) with p₀ = Eₐ / (Eₐ + E_b) when the two rates are equal, so the exact binomial test gives
the p-value and the Clopper–Pearson interval for p gives an exact interval for the rate ratio
RR = (a/Eₐ) / (b/E_b) through RR = p/(1 − p) · E_b/Eₐ. This is what R's ``poisson.test`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._stats import exact_rate_ratio_ci
from whatworks._validate import check_choice, check_number
from whatworks.errors import error

__all__ = ["compare", "CompareResult", "rate_ratio_ci"]
WHERE = "compare"
ALTERNATIVES = ("two-sided", "less", "greater")
DEFAULT_CONF_LEVEL = 0.95
DEFAULT_ALTERNATIVE = "two-sided"


def _as_array(name, x):
    arr = np.atleast_1d(np.asarray(x, dtype=object))
    miss = np.asarray(pd.isna(arr), dtype=bool)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise error(WHERE, f"The '{name}' argument is missing (NA): a period the store has not loaded has no count, "
                    "and is not 0.", got=arr[i], row=f"position {i}",
                    hint="Compare only periods that are loaded, the same months in each (e.g. 2018-07 vs 2017-07).")
    try:
        out = arr.astype(float)
    except (TypeError, ValueError):
        raise error(WHERE, f"The '{name}' argument must be a number or a list of numbers.", got=x) from None
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"The '{name}' argument must be finite and not negative.", got=arr[i], row=f"position {i}")
    return out


def rate_ratio_ci(a: np.ndarray, b: np.ndarray, exposure_a: np.ndarray, exposure_b: np.ndarray,
                  *, conf_level: float = 0.95, alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson based) confidence interval for the rate ratio (a/Eₐ)/(b/E_b), vectorised.

    The formula lives in :func:`whatworks._stats.exact_rate_ratio_ci` (shared with
    :func:`whatworks.people.rate_ratio_ci`'s ``method="exact"``).

    >>> lo, hi = rate_ratio_ci(np.array([120.]), np.array([150.]), np.array([1.]), np.array([1.]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.624, 1.0239)
    """
    return exact_rate_ratio_ci(a, b, exposure_a, exposure_b, conf_level=conf_level, alternative=alternative)


@dataclass(frozen=True, repr=False)
class CompareResult(Result):
    """Comparison of two counts. ``table`` has one row per comparison with ``count_a``, ``count_b``, ``exposure_a``,
    ``exposure_b``, ``rate_a``, ``rate_b``, ``rate_ratio``, ``percent_change`` (100·(RR − 1)), ``ci_low``,
    ``ci_high``, ``p_value``, ``significant`` (p < 1 − conf_level) and ``verdict``.
    For a single comparison, ``estimate``, ``ci`` and ``p_value`` hold the numbers directly.
    """

    estimate: float = float("nan")
    ci: tuple = (float("nan"), float("nan"))
    p_value: float = float("nan")
    conf_level: float = 0.95

    def summary(self) -> str:
        lines = []
        for _, r in self.table.head(20).iterrows():
            lines.append(f"{r['count_a']:g} vs {r['count_b']:g}: {r['verdict']}")
        if len(self.table) > 20:
            lines.append(f"… {len(self.table) - 20} more comparisons (see .table)")
        return "\n".join(lines)

    def _headline(self) -> str:
        if len(self.table) == 1:
            return (f"rate ratio {self.estimate:.3g} ({self.conf_level:.0%} CI {self.ci[0]:.3g}–{self.ci[1]:.3g}), "
                    f"p = {self.p_value:.3g}")
        return f"{len(self.table)} comparisons, {int(self.table['significant'].sum())} significant"

    def _draw(self, ax) -> None:
        t = self.table.reset_index(drop=True)
        y = np.arange(len(t))
        finite_hi = np.where(np.isfinite(t["ci_high"]), t["ci_high"], np.nan)
        ax.errorbar(t["rate_ratio"], y, xerr=[t["rate_ratio"] - t["ci_low"], finite_hi - t["rate_ratio"]],
                    fmt="o", color=PALETTE["blue"], ecolor=PALETTE["grey"], capsize=3)
        ax.axvline(1, color=PALETTE["black"], lw=1, ls=":")
        ax.set_yticks(y)
        ax.set_yticklabels([str(i) for i in t.get("label", y)])
        ax.set_xscale("log")
        ax.set_xlabel(f"rate ratio (a / b) with {self.conf_level:.0%} exact CI")


def _check_covered(covered_a, covered_b) -> Setting | None:
    """Like with like: both periods cover the same number of months and, when months are given, the same months of
    the year (July against July: monthly crime is seasonal)."""
    if covered_a is None and covered_b is None:
        return None
    if covered_a is None or covered_b is None:
        raise error(WHERE, "Give 'covered_a' and 'covered_b' together (the months each count covers).",
                    got=(covered_a, covered_b))

    def months(name, c):
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if c < 1:
                raise error(WHERE, f"The '{name}' argument must be at least 1 month.", got=c)
            return int(c), None
        try:
            per = pd.PeriodIndex(pd.to_datetime(pd.Series(list(c)), format="mixed"), freq="M")
        except (TypeError, ValueError):
            raise error(WHERE, f"The '{name}' argument must be a number of months or a list of months.", got=c,
                        hint='e.g. covered_a=["2018-07"], covered_b=["2017-07"]') from None
        if len(per) == 0:
            raise error(WHERE, f"The '{name}' argument lists no month: a period with nothing loaded has no count.")
        return len(per.unique()), sorted(set(per.month))

    na, ma = months("covered_a", covered_a)
    nb, mb = months("covered_b", covered_b)
    if na != nb:
        raise error(WHERE, f"The two counts have unequal coverage: {na} month(s) against {nb}, so the comparison "
                    "would read a difference in what was loaded as a change in crime.", got=(covered_a, covered_b),
                    hint="Compare the same months in each period (like with like, e.g. 2018-07 vs 2017-07).")
    if ma is not None and mb is not None and ma != mb:
        raise error(WHERE, "The two counts cover different months of the year; crime is seasonal, so this is not "
                    "like with like.", got=(list(covered_a), list(covered_b)),
                    hint="Compare the same calendar months (e.g. July 2018 vs July 2017).")
    same = ", the same months of the year" if ma is not None and mb is not None else ""
    return Setting(f"{na} month(s) each{same}", "user", "months covered by each count, checked like with like")


def compare(count_a, count_b, exposure_a=1, exposure_b=1, *, conf_level: float | None = None,
            alternative: str | None = None, labels=None, covered_a=None, covered_b=None,
            quiet: bool = False) -> CompareResult:
    """Exact conditional test of two Poisson rates, with an exact CI for the rate ratio.

    Parameters
    ----------
    count_a, count_b : int or array-like of int
        Counts to compare (e.g. this year and last year). Arrays compare element by element (broadcast).
    exposure_a, exposure_b : float or array-like, default 1
        Exposure of each count (months, population, patrol hours). Rates are count / exposure.
    conf_level : float, optional
        Confidence level of the interval; ``None`` (not given) means 0.95.
    alternative : {"two-sided", "less", "greater"}, optional
        "less": is rate a lower than rate b? ``None`` (not given) means "two-sided". ``conf_level`` and
        ``alternative`` are recorded in ``.settings`` with source "user" when you pass them — even the default
        value — and "default" when you leave them out.
    labels : array-like of str, optional
        A label per comparison, kept in ``.table['label']``.
    covered_a, covered_b : int or list of months, optional
        The months each count covers (a number, or the months themselves, e.g. ``["2018-07"]``). Given, the
        comparison is refused unless like with like: the same number of months and, when months are listed, the same
        months of the year. A missing (NA) count — a period not loaded — is always refused.
    quiet : bool, default False
        Silence the notice of comparisons with no events in either count (nothing to compare: rate ratio NaN,
        interval (0, ∞), p = 1; their ``verdict`` says so either way).

    Returns
    -------
    CompareResult
        ``.estimate`` (rate ratio), ``.ci``, ``.p_value`` for one comparison; ``.table`` for all.

    Notes
    -----
    Given n = a + b, a ~ Binomial(n, p₀), p₀ = Eₐ/(Eₐ + E_b) under equal rates; the p-value is
    ``scipy.stats.binomtest(a, n, p₀)`` (two-sided: sum of probabilities no larger than that of a, as R's
    ``binom.test``); the CI maps the Clopper–Pearson interval [p_L, p_U] to RR = p/(1 − p)·E_b/Eₐ. Checked against
    R ``poisson.test`` (tests/golden/compare_golden.json). When both counts are 0 there is no information: the rate
    ratio is NaN, the interval (0, ∞) and p = 1.

    References
    ----------
    Przyborowski J., Wilenski H. (1940) Homogeneity of results in testing samples from Poisson series. Biometrika 31.
    R Core Team, ``stats::poisson.test``.

    Examples
    --------
    >>> r = compare(120, 150)            # burglaries this year vs last year
    >>> round(r.estimate, 2), round(r.p_value, 3)
    (0.8, 0.077)
    """
    if conf_level is not None:
        check_number(WHERE, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if alternative is not None:
        check_choice(WHERE, "alternative", alternative, ALTERNATIVES)
    settings: dict[str, Setting] = {}
    # None = not given: an explicit conf_level=0.95 or alternative="two-sided" is still recorded as the user's
    conf_level = given_or_default(settings, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of the exact interval")
    alternative = given_or_default(settings, "alternative", alternative, DEFAULT_ALTERNATIVE,
                                   reason="alternative hypothesis of the exact test")
    cov_setting = _check_covered(covered_a, covered_b)
    if cov_setting is not None:
        settings["covered"] = cov_setting
    a, b, ea, eb = (_as_array(n, x) for n, x in (("count_a", count_a), ("count_b", count_b),
                                                   ("exposure_a", exposure_a), ("exposure_b", exposure_b)))
    try:
        a, b, ea, eb = np.broadcast_arrays(a, b, ea, eb)
    except ValueError:
        raise error(WHERE, "count_a, count_b, exposure_a and exposure_b must have the same length (or be single "
                    "numbers).", got=(len(a), len(b), len(ea), len(eb))) from None
    if a.size == 0:
        raise error(WHERE, "There is nothing to compare: the counts are empty.", got="0 comparisons",
                    hint="Pass at least one pair of counts.")
    for name, arr in (("count_a", a), ("count_b", b)):
        nonint = arr != np.round(arr)
        if nonint.any():
            i = int(np.flatnonzero(nonint)[0])
            raise error(WHERE, f"The '{name}' argument must hold whole counts.", got=arr[i], row=f"position {i}",
                        hint="Pass counts, not rates; put the denominator in exposure_a / exposure_b.")
    for name, arr in (("exposure_a", ea), ("exposure_b", eb)):
        if (arr <= 0).any():
            i = int(np.flatnonzero(arr <= 0)[0])
            raise error(WHERE, f"The '{name}' argument must be positive.", got=arr[i], row=f"position {i}")

    n = a + b
    p0 = ea / (ea + eb)
    pvals = np.ones(len(a))
    for i in range(len(a)):
        # scipy's binomtest is scalar-only; this loop is over comparisons, typically few.
        if n[i] > 0:
            pvals[i] = stats.binomtest(int(a[i]), int(n[i]), float(p0[i]), alternative=alternative).pvalue
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(n > 0, (a / ea) / (b / eb), np.nan)
    empty = n == 0
    if empty.any():
        announce(f"{int(empty.sum())} of {len(a)} comparison(s) have no events in either count: nothing to compare "
                 "(rate ratio NaN, interval (0, ∞), p = 1).", quiet=quiet)
    lo, hi = rate_ratio_ci(a, b, ea, eb, conf_level=conf_level, alternative=alternative)
    lo = np.where(n > 0, lo, 0.0)
    hi = np.where(n > 0, hi, np.inf)
    alpha = 1 - conf_level
    sig = pvals < alpha

    def verdict(i):
        if n[i] == 0:
            return "no events in either — nothing to compare"
        ci_txt = f"{conf_level:.0%} CI {lo[i]:.2f}–{hi[i]:.2f}" if np.isfinite(hi[i]) else f"{conf_level:.0%} CI from {lo[i]:.2f}"
        head = f"rate ratio {rr[i]:.2f} ({ci_txt}; p = {pvals[i]:.3g})"
        if sig[i]:
            way = "higher" if rr[i] > 1 else "lower"
            return f"{head}: rate a is {way} than rate b beyond what chance would explain"
        return f"{head}: the difference could be chance — no action on this change alone"

    table = pd.DataFrame({"count_a": a, "count_b": b, "exposure_a": ea, "exposure_b": eb,
                          "rate_a": a / ea, "rate_b": b / eb, "rate_ratio": rr,
                          "percent_change": 100 * (rr - 1), "ci_low": lo, "ci_high": hi, "p_value": pvals,
                          "significant": sig})
    table["verdict"] = [verdict(i) for i in range(len(a))]
    if labels is not None:
        labels = list(np.atleast_1d(labels))
        if len(labels) != len(table):
            raise error(WHERE, "'labels' must have one label per comparison.", got=len(labels),
                        expected=f"{len(table)} labels")
        table.insert(0, "label", labels)
    return CompareResult(table=table, settings=settings,
                         estimate=float(rr[0]), ci=(float(lo[0]), float(hi[0])), p_value=float(pvals[0]),
                         conf_level=conf_level)
