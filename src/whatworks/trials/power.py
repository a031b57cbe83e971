"""Statistical power for two-arm trials: means, proportions, Poisson and negative-binomial counts, cluster designs.

Leave exactly one of ``n``, ``effect`` and ``power`` as ``None`` and :func:`power` solves for it.

* ``test="means"``: two-sample t test on a standardised effect (Cohen's d), as R ``pwr.t.test`` /
  ``pwr.t2n.test`` and statsmodels ``TTestIndPower`` (non-central t, pooled degrees of freedom).
* ``test="proportions"``: normal test on Cohen's arcsine effect ``h = 2·asin√p₁ − 2·asin√p₀``, as R
  ``pwr.2p.test`` / ``pwr.2p2n.test`` and statsmodels ``NormalIndPower``.
* ``test="poisson"`` / ``"negbin"``: Wald test of the log rate ratio of two counts (crimes per hotspot),
  ``Var(log RR) ≈ (1/(t·μ₁) + α)/n₁ + (1/(t·μ₀) + α)/n₀`` for exposure t (Zhu & Lakkis 2014, variance under
  the alternative), via statsmodels ``power_negbin_ratio_2indep`` (``dispersion`` α: Var = μ + α·μ²; α = 0 is
  Poisson).
* Cluster-randomised designs: give ``icc`` and ``cluster_size`` m; the design effect
  DE = 1 + (m − 1)·ICC (Donner & Klar 2000) divides the sample size, and for means the t test uses
  ``2·(clusters per arm) − 2`` degrees of freedom.

References
----------
Cohen J (1988) Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
Champely S (2020) pwr: Basic Functions for Power Analysis, R package 1.3-0.
Zhu H, Lakkis H (2014) Sample size calculation for comparing two negative binomial rates. Stat Med 33:376–387.
Donner A, Klar N (2000) Design and Analysis of Cluster Randomization Trials in Health Research.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.rates import power_negbin_ratio_2indep

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number
from whatworks.errors import error

__all__ = ["power", "PowerResult"]

_WHERE = "power"
TESTS = ("means", "proportions", "poisson", "negbin")
ALTERNATIVES = ("two-sided", "less", "greater")
_SM_ALT = {"two-sided": "two-sided", "less": "smaller", "greater": "larger"}
# Search brackets: pwr's own (uniroot over n in (2 + 1e-10, 1e9), d in (1e-7, 10)).
_N_LOW, _N_HIGH = 2 + 1e-10, 1e9
_ROOT_TOL = 1e-12
# Fixed defaults of the options that take None as "not given" (recorded in .settings by given_or_default).
DEFAULT_TEST = "means"
DEFAULT_ALPHA = 0.05
DEFAULT_ALTERNATIVE = "two-sided"
DEFAULT_RATIO = 1.0
DEFAULT_EXPOSURE = 1.0
DEFAULT_DIRECTION = "decrease"


@dataclass(frozen=True, repr=False)
class PowerResult(Result):
    """A solved power calculation and its power curve (``.table``: one row per sample size).

    Attributes
    ----------
    test : str
    solved_for : {"n", "effect", "power"}
    n : float
        Units per arm in the control group (the treatment group has ``n * ratio``); for cluster designs,
        individual units (cells, people) per arm.
    n_total : float
    effect : float
        Cohen's d (means), the treatment proportion (proportions) or the rate ratio (counts).
    h : float or None
        Cohen's h for proportions.
    power, alpha : float
    design_effect : float
        1 for individually randomised designs.
    clusters_per_arm : float or None
    """

    test: str = ""
    solved_for: str = ""
    n: float = float("nan")
    n_total: float = float("nan")
    effect: float = float("nan")
    h: float | None = None
    power: float = float("nan")
    alpha: float = 0.05
    alternative: str = "two-sided"
    ratio: float = 1.0
    design_effect: float = 1.0
    clusters_per_arm: float | None = None

    def _effect_text(self) -> str:
        if self.test == "means":
            return f"a standardised effect of d = {self.effect:.3f}"
        if self.test == "proportions":
            base = self.settings["baseline"].value
            return f"a change from {base:.1%} to {self.effect:.1%}"
        return f"a rate ratio of {self.effect:.3f} ({(self.effect - 1):+.1%})"

    def _headline(self) -> str:
        return f"{self.test}: n = {math.ceil(self.n - 1e-9)} per arm, power {self.power:.3f}, effect {self.effect:.4g}"

    def summary(self) -> str:
        n_arm = math.ceil(self.n - 1e-9)
        n_t = math.ceil(self.n * self.ratio - 1e-9)
        arms = f"{n_arm} per arm" if self.ratio == 1 else f"{n_arm} control and {n_t} treatment units"
        text = (f"With {arms}, a {self.alternative} test at the {self.alpha:g} level has {self.power:.0%} power to detect "
                f"{self._effect_text()}.")
        if self.design_effect != 1:
            text += (f" Cluster design: design effect {self.design_effect:.2f}, about "
                     f"{math.ceil(self.clusters_per_arm - 1e-9)} clusters per arm.")
        return text + f" (Solved for {self.solved_for}.)"

    def _draw(self, ax) -> None:
        ax.plot(self.table["n_per_arm"], self.table["power"], color=PALETTE["blue"], lw=2)
        ax.axhline(0.8, color=PALETTE["grey"], ls="--", lw=1)
        ax.plot([self.n], [self.power], "o", color=PALETTE["vermillion"])
        ax.set_xlabel("units per arm")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Power curve ({self.test}, effect {self.effect:.3g}, alpha {self.alpha:g})")


# ---------------------------------------------------------------------- pure power functions
def _design_effect(icc: float | None, cluster_size: float | None) -> float:
    if icc is None:
        return 1.0
    return 1.0 + (cluster_size - 1.0) * icc


def _power_means(d, n, *, alpha, alternative, ratio, de, cluster_size):
    n_eff = n / de
    df = None
    if de != 1.0 or cluster_size is not None:
        k = n / cluster_size
        df = k * (1 + ratio) - 2
    return float(TTestIndPower().power(d, n_eff, alpha, ratio=ratio, df=df, alternative=_SM_ALT[alternative]))


def _h(p1, p0):
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))


def _power_props(h, n, *, alpha, alternative, ratio, de):
    return float(NormalIndPower().power(h, n / de, alpha, ratio=ratio, alternative=_SM_ALT[alternative]))


def _power_counts(rr, n, *, baseline, dispersion, exposure, alpha, alternative, ratio, de):
    # statsmodels: rate1 = treatment, rate2 = reference; nobs2 = nobs_ratio * nobs1. Our n is the control arm.
    return float(power_negbin_ratio_2indep(baseline * rr, baseline, n * ratio / de, nobs_ratio=1 / ratio,
                                           exposure=exposure, value=1, alpha=alpha, dispersion=dispersion,
                                           alternative=_SM_ALT[alternative], method_var="alt",
                                           return_results=False))


def _solve_up(f, low, first, high, what):
    """Root of an increasing function on (low, high): expand the bracket geometrically from ``first``.

    (Expanding keeps scipy's non-central t away from huge non-centralities, where it returns NaN.)
    """
    upper = first
    while upper < high and f(upper) < 0:
        low, upper = upper, upper * 2
    return _solve(f, low, min(upper, high), what)


def _solve_n(f, low=_N_LOW):
    return _solve_up(f, low, max(8.0, 2 * low), _N_HIGH, "sample size")


def _solve(f, low, high, where_text):
    f_low, f_high = f(low), f(high)
    if np.sign(f_low) == np.sign(f_high):
        raise error(_WHERE, f"No {where_text} in the searchable range gives the requested power.",
                    got=f"power ranges from {f_low:+.3g} to {f_high:+.3g} around the target",
                    hint="Check the effect size and power; a very small effect may need more than a billion units.")
    return optimize.brentq(f, low, high, xtol=_ROOT_TOL, rtol=4 * np.finfo(float).eps, maxiter=500)


def _record_direction(settings: dict[str, Setting], given: str | None, implied: str, why: str) -> None:
    """Record the direction of a given effect (proportions, counts): the effect's own, not the option."""
    reason = f"implied by the effect: {why}"
    if given is not None and given != implied:
        reason += f"; direction='{given}' is used only when solving for the effect"
    settings["direction"] = Setting(implied, "data", reason)


# ---------------------------------------------------------------------- one class per test
class _Test(abc.ABC):
    """A test's power function and how to solve for its effect; :func:`power` runs one solver loop over these.

    ``power_at(x, n)`` is the power at the test's internal effect parameter ``x`` (Cohen's d, Cohen's h or the
    rate ratio) with ``n`` units per control arm; ``parameter(effect)`` maps the user's effect to ``x``;
    ``solve_effect(n, power, direction)`` finds the user-scale effect with that power; ``check_effect`` validates
    an effect (given or solved) and records its direction.
    """

    h = None

    def __init__(self, *, alpha, alternative, ratio, de, cluster_size, settings, baseline, dispersion, exposure,
                 sd, test):
        self.alpha, self.alternative, self.ratio, self.de = alpha, alternative, ratio, de
        self.cluster_size, self.settings, self.test = cluster_size, settings, test
        self.n_low = _N_LOW
        self.setup(baseline=baseline, dispersion=dispersion, exposure=exposure, sd=sd)

    @abc.abstractmethod
    def setup(self, **kw) -> None:
        """Validate and record the test's own options."""

    @abc.abstractmethod
    def power_at(self, x: float, n: float) -> float:
        """Power at internal effect ``x`` with ``n`` control units."""

    @abc.abstractmethod
    def solve_effect(self, n: float, power: float, direction: str | None) -> float:
        """The user-scale effect with this power at ``n``."""

    @abc.abstractmethod
    def check_effect(self, effect, *, record_direction: bool, direction: str | None) -> None:
        """Validate a given or solved effect; record its direction."""

    @abc.abstractmethod
    def parameter(self, effect: float) -> float:
        """The internal effect parameter of a user-scale effect."""


class _Means(_Test):
    """Two-sample t test on Cohen's d (``effect / sd`` when ``sd`` is given), pwr.t.test / pwr.t2n.test."""

    def setup(self, *, sd, **_):
        if sd is not None:
            check_number(_WHERE, "sd", sd, low=0, low_inclusive=False)
        self.scale = sd if sd is not None else 1.0
        # Cluster designs: at least two clusters per arm, so the t test has positive df.
        self.n_low = _N_LOW if self.cluster_size is None else 2 * self.cluster_size

    def power_at(self, d, n):
        return _power_means(d, n, alpha=self.alpha, alternative=self.alternative, ratio=self.ratio, de=self.de,
                            cluster_size=self.cluster_size)

    def solve_effect(self, n, power, direction):
        sign = -1.0 if self.alternative == "less" else 1.0
        return sign * _solve_up(lambda x: self.power_at(sign * x, n) - power, 1e-7, 0.05, 10.0,
                                "effect size") * self.scale

    def check_effect(self, effect, *, record_direction, direction):
        check_number(_WHERE, "effect", effect)
        if effect == 0:
            raise error(_WHERE, "The 'effect' must not be zero.", got=effect)

    def parameter(self, effect):
        d = effect / self.scale
        return abs(d) if self.alternative == "two-sided" else d


class _Proportions(_Test):
    """Normal test on Cohen's arcsine effect h, pwr.2p.test / pwr.2p2n.test."""

    def setup(self, *, baseline, **_):
        if baseline is None:
            raise error(_WHERE, "Proportions need the control proportion 'baseline'.", got=None,
                        hint="e.g. baseline=0.30 for a 30% reoffending rate.")
        check_number(_WHERE, "baseline", baseline, low=0, high=1, low_inclusive=False, high_inclusive=False)
        self.settings["baseline"] = Setting(baseline, "user", "control proportion")
        self.baseline = baseline

    def power_at(self, hh, n):
        return _power_props(hh, n, alpha=self.alpha, alternative=self.alternative, ratio=self.ratio, de=self.de)

    def solve_effect(self, n, power, direction):
        # Solve for |h|, then map back to the proportion in the requested direction.
        sign = -1.0 if direction == "decrease" else 1.0
        a0 = 2 * math.asin(math.sqrt(self.baseline))
        h_max = (a0 if sign < 0 else math.pi - a0) - 1e-12
        hh = _solve_up(lambda x: self.power_at(x if self.alternative != "less" else -x, n) - power, 1e-10, 0.05,
                       min(10.0, h_max), "detectable proportion")
        return math.sin((a0 + sign * hh) / 2) ** 2

    def check_effect(self, effect, *, record_direction, direction):
        base = self.baseline
        check_number(_WHERE, "effect", effect, low=0, high=1, low_inclusive=False, high_inclusive=False)
        if effect == base:
            raise error(_WHERE, "The treatment proportion 'effect' equals the baseline: there is nothing to detect.",
                        got=effect)
        if record_direction:
            _record_direction(self.settings, direction, "decrease" if effect < base else "increase",
                              f"the treatment proportion {effect:g} is {'below' if effect < base else 'above'} "
                              f"the baseline {base:g}")

    def parameter(self, effect):
        self.h = _h(effect, self.baseline)
        return abs(self.h) if self.alternative == "two-sided" else self.h


class _Counts(_Test):
    """Wald test of the log rate ratio (Zhu & Lakkis 2014), statsmodels power_negbin_ratio_2indep; α = 0 is
    the Poisson test."""

    def setup(self, *, baseline, dispersion, exposure, **_):
        if baseline is None:
            raise error(_WHERE, "Counts need the control mean count per unit 'baseline'.", got=None,
                        hint="e.g. baseline=6 crimes per hotspot cell over the trial period.")
        check_number(_WHERE, "baseline", baseline, low=0, low_inclusive=False)
        check_number(_WHERE, "exposure", exposure, low=0, low_inclusive=False)
        if self.test == "negbin":
            if dispersion is None:
                raise error(_WHERE, "The negative-binomial test needs the dispersion 'dispersion' (alpha in "
                            "Var = mu + alpha·mu²).", got=None,
                            hint="Estimate it from past counts of the same units (e.g. 0.3), or use test='poisson'.")
            check_number(_WHERE, "dispersion", dispersion, low=0, low_inclusive=False)
            self.settings["dispersion"] = Setting(dispersion, "user", "negative-binomial alpha")
        else:
            if dispersion is not None and dispersion != 0:
                raise error(_WHERE, "The Poisson test has no dispersion: 'dispersion' must be left out (or 0).",
                            expected="None or 0", got=dispersion,
                            hint="For counts more variable than Poisson use test='negbin' with this dispersion.")
            dispersion = float(given_or_default(self.settings, "dispersion", dispersion, 0.0,
                                                reason="Poisson: no extra-Poisson variation"))
        self.settings["baseline"] = Setting(baseline, "user", "control mean count per unit")
        self.baseline, self.dispersion, self.exposure = baseline, dispersion, exposure

    def power_at(self, rr, n):
        return _power_counts(rr, n, baseline=self.baseline, dispersion=self.dispersion, exposure=self.exposure,
                             alpha=self.alpha, alternative=self.alternative, ratio=self.ratio, de=self.de)

    def solve_effect(self, n, power, direction):
        # Power is not monotone in the rate ratio over (0, 1): as the ratio nears 0 the treated mean
        # (and its Poisson information) vanishes. Walk away from 1 on a log grid to the first ratio with
        # enough power, then polish between it and the previous grid point.
        sign = -1.0 if direction == "decrease" else 1.0
        grid = np.exp(sign * np.geomspace(1e-6, 7.0, 400))
        ok = np.flatnonzero([self.power_at(x, n) >= power for x in grid])
        if ok.size == 0 or ok[0] == 0:
            raise error(_WHERE, "No rate ratio gives the requested power with this many units.",
                        got={"n": n, "power": power}, hint="Increase n or lower the power target.")
        return _solve(lambda x: self.power_at(x, n) - power, grid[ok[0] - 1], grid[ok[0]], "rate ratio")

    def check_effect(self, effect, *, record_direction, direction):
        check_number(_WHERE, "effect", effect, low=0, low_inclusive=False)
        if effect == 1:
            raise error(_WHERE, "A rate ratio 'effect' of 1 means no effect: there is nothing to detect.", got=effect)
        if record_direction:
            _record_direction(self.settings, direction, "decrease" if effect < 1 else "increase",
                              f"the rate ratio {effect:g} is {'below' if effect < 1 else 'above'} 1")

    def parameter(self, effect):
        return effect


_TESTS = {"means": _Means, "proportions": _Proportions, "poisson": _Counts, "negbin": _Counts}


# ---------------------------------------------------------------------- public
def power(test: str | None = None, *, n: float | None = None, effect: float | None = None,
          power: float | None = None, alpha: float | None = None, alternative: str | None = None,
          ratio: float | None = None, baseline: float | None = None, dispersion: float | None = None,
          exposure: float | None = None, sd: float | None = None, icc: float | None = None,
          cluster_size: float | None = None, direction: str | None = None,
          curve_n: np.ndarray | None = None, quiet: bool = False) -> PowerResult:
    """Solve a two-arm power calculation for n, the minimum detectable effect or power.

    Parameters
    ----------
    test : {"means", "proportions", "poisson", "negbin"}, optional
        ``None`` (not given) means "means".
    n : float or None
        Units per arm (control arm when ``ratio != 1``). ``None`` solves for it.
    effect : float or None
        ``means``: Cohen's d, or a raw difference when ``sd`` is given. ``proportions``: the treatment-arm
        proportion (``baseline`` is the control proportion). ``poisson``/``negbin``: the rate ratio
        treatment/control (0.8 = a 20% reduction). ``None`` solves for the minimum detectable effect.
    power : float or None
        Target power. ``None`` computes it.
    alpha : float, optional
        Significance level; ``None`` (not given) means 0.05.
    alternative : {"two-sided", "less", "greater"}, optional
        ``None`` (not given) means "two-sided".
    ratio : float, optional
        Treatment units per control unit; ``None`` (not given) means 1.
    baseline : float, optional
        Control proportion (proportions) or control mean count per unit and exposure period (counts).
    dispersion : float, optional
        Negative-binomial α (Var = μ + αμ²); ``negbin`` requires it (> 0). ``poisson`` fixes it at 0: leave it out
        or give 0 (any other value is an error rather than being silently ignored).
    exposure : float, optional
        Follow-up periods per unit for counts; ``None`` (not given) means 1. Not used by other tests.
    sd : float, optional
        Outcome standard deviation; when given ``effect`` for means is in outcome units and d = effect / sd.
        Not given: ``effect`` is Cohen's d itself. Not used by other tests.
    icc : float, optional
        Intra-cluster correlation for cluster-randomised designs (with ``cluster_size``).
    cluster_size : float, optional
        Units per cluster.
    direction : {"decrease", "increase"}, optional
        When solving for the effect of proportions or counts, whether the detectable change is a reduction
        (what most policing trials hope for) or a rise; ``None`` (not given) means "decrease". When ``effect``
        is given the direction is the effect's own (below or above the baseline, or a rate ratio below or above
        1) and this option is not used; ``means`` never uses it (the sign of d follows ``alternative``).
    curve_n : array, optional
        Sample sizes (per arm) for the power curve in ``.table``; default 40 points from n/4 to 2.5·n.
    quiet : bool, default False
        Silence the notice of the direction implied by a given effect (proportions, counts); it is recorded in
        ``.settings`` either way.

    Returns
    -------
    PowerResult
        ``.settings`` records ``test``, ``alpha``, ``alternative``, ``ratio``, ``exposure``, ``sd``, ``direction``
        and (for counts) ``dispersion`` with source "user" when you pass them — even the default value — and
        "default" when you leave them out (an option the test does not use says so in its reason). When
        ``effect`` is given for proportions or counts, ``direction`` is the effect's own, recorded with source
        "data".

    Notes
    -----
    Two-sided power counts both rejection regions, as pwr does:
    ``P(T > t₁₋α/₂) + P(T < −t₁₋α/₂)`` under the non-central t with ncp ``d·√(n₀n₁/(n₀+n₁))``.
    Roots are found with Brent's method to 1e-12 (pwr's ``uniroot`` stops at about 1.2e-4).

    Examples
    --------
    >>> round(power("means", effect=0.5, power=0.8).n, 4)
    63.7656
    >>> r = power("negbin", n=60, baseline=6, effect=0.8, dispersion=0.3)
    """
    settings: dict[str, Setting] = {}
    test, alpha, alternative, ratio = _record_fixed_defaults(settings, test, alpha, alternative, ratio)
    solve = _check_inputs(test, alternative, direction, n=n, effect=effect, power=power, alpha=alpha, ratio=ratio,
                          icc=icc, cluster_size=cluster_size)
    de = _record_design(settings, icc, cluster_size)
    exposure, direction = _record_test_options(settings, test, solve, exposure, sd, direction)
    spec = _TESTS[test](alpha=alpha, alternative=alternative, ratio=ratio, de=de, cluster_size=cluster_size,
                        settings=settings, baseline=baseline, dispersion=dispersion, exposure=exposure, sd=sd,
                        test=test)
    # one solver loop for every test: solve for the effect (if asked), check it, then n (if asked), then power
    effect = _solve_effect(spec, solve, n=n, effect=effect, power=power, direction=direction)
    _announce_direction(settings, quiet=quiet)
    x, n, power = _solve_n_and_power(spec, solve, effect, n=n, power=power)
    curve = _power_curve(spec, x, n, ratio=ratio, cluster_size=cluster_size, curve_n=curve_n)
    return PowerResult(table=curve, settings=settings, test=test, solved_for=solve, n=float(n),
                       n_total=float(n * (1 + ratio)), effect=float(effect), h=spec.h, power=float(power), alpha=alpha,
                       alternative=alternative, ratio=float(ratio), design_effect=de,
                       clusters_per_arm=(n / cluster_size if icc is not None else None))


# ---------------------------------------------------------------------- the steps of power()
def _record_fixed_defaults(settings: dict[str, Setting], test, alpha, alternative, ratio) -> tuple:
    """Resolve the options with fixed defaults (``None`` = not given) and record each in ``settings``.

    An explicit value equal to the default (``alpha=0.05``, ``ratio=1``) is still recorded as the user's.
    Returns ``(test, alpha, alternative, ratio)``.
    """
    test = given_or_default(settings, "test", test, DEFAULT_TEST, reason="the test the power is computed for")
    alpha = given_or_default(settings, "alpha", alpha, DEFAULT_ALPHA, reason="significance level")
    alternative = given_or_default(settings, "alternative", alternative, DEFAULT_ALTERNATIVE,
                                   reason="direction of the alternative hypothesis")
    ratio = given_or_default(settings, "ratio", ratio, DEFAULT_RATIO, reason="treatment units per control unit")
    return test, alpha, alternative, ratio


def _check_inputs(test, alternative, direction, *, n, effect, power, alpha, ratio, icc, cluster_size) -> str:
    """Check the options and the cluster design at the door; return the unknown to solve for ("n", "effect" or
    "power"). The test's own options (baseline, dispersion, sd, exposure) are checked by its :class:`_Test`."""
    check_choice(_WHERE, "test", test, TESTS)
    check_choice(_WHERE, "alternative", alternative, ALTERNATIVES)
    if direction is not None:
        check_choice(_WHERE, "direction", direction, ("decrease", "increase"))
    unknowns = [name for name, v in (("n", n), ("effect", effect), ("power", power)) if v is None]
    if len(unknowns) != 1:
        raise error(_WHERE, "Leave exactly one of 'n', 'effect' and 'power' as None (the one to solve for).",
                    got=f"{len(unknowns)} unknown ({unknowns})" if unknowns else "all three given")
    check_number(_WHERE, "alpha", alpha, low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_number(_WHERE, "ratio", ratio, low=0, low_inclusive=False)
    if n is not None:
        check_number(_WHERE, "n", n, low=2, low_inclusive=True)
    if power is not None:
        check_number(_WHERE, "power", power, low=alpha, high=1, low_inclusive=False, high_inclusive=False)
    if (icc is None) != (cluster_size is None):
        raise error(_WHERE, "A cluster design needs both 'icc' and 'cluster_size'.", got={"icc": icc, "cluster_size": cluster_size})
    if icc is not None:
        check_number(_WHERE, "icc", icc, low=0, high=1, high_inclusive=False)
        check_number(_WHERE, "cluster_size", cluster_size, low=1)
        if n is not None and n < 2 * cluster_size:
            raise error(_WHERE, "A cluster design needs at least two clusters per arm.",
                        expected=f"n >= 2 × cluster_size = {2 * cluster_size}", got=n)
    return unknowns[0]


def _record_design(settings: dict[str, Setting], icc, cluster_size) -> float:
    """Record ``icc`` and ``cluster_size`` (``None`` when not a cluster design); return the design effect
    DE = 1 + (m − 1)·ICC (1 for an individually randomised design)."""
    de = _design_effect(icc, cluster_size)
    for name, value in (("icc", icc), ("cluster_size", cluster_size)):
        settings[name] = Setting(value, "user" if value is not None else "default", "")
    return de


def _record_test_options(settings: dict[str, Setting], test: str, solve: str, exposure, sd, direction) -> tuple:
    """Resolve and record ``exposure``, ``sd`` and ``direction``, saying when the test does not use one.

    ``direction`` takes its default ("decrease") only when solving for the effect of proportions or counts; a
    given effect records its own direction later (:func:`_record_direction`). Returns ``(exposure, direction)``.
    """
    counts = test in ("poisson", "negbin")
    exposure = given_or_default(settings, "exposure", exposure, DEFAULT_EXPOSURE,
                                reason=("follow-up periods per unit" if counts
                                        else f"not used: the {test} test has no exposure (counts only)"))
    if test == "means":
        settings["sd"] = (Setting(sd, "user", "outcome standard deviation: effect in outcome units, d = effect / sd")
                          if sd is not None else Setting(None, "default", "not given: effect is Cohen's d"))
        settings["direction"] = Setting(direction, "user" if direction is not None else "default",
                                        "not used by the means test: the sign of d follows 'alternative'")
    else:
        settings["sd"] = Setting(sd, "user" if sd is not None else "default",
                                 f"not used: the {test} test has no outcome SD (means only)")
        if solve == "effect":
            direction = given_or_default(settings, "direction", direction, DEFAULT_DIRECTION,
                                         reason="direction of the detectable change")
    return exposure, direction


def _solve_effect(spec: _Test, solve: str, *, n, effect, power, direction) -> float:
    """The effect: solved for (when ``solve == "effect"``) or given; checked either way, and a given effect's
    direction (proportions, counts) recorded in the settings."""
    if solve == "effect":
        effect = spec.solve_effect(n, power, direction)
    spec.check_effect(effect, record_direction=(solve != "effect"), direction=direction)
    return effect


def _announce_direction(settings: dict[str, Setting], *, quiet: bool) -> None:
    """Announce the direction implied by a given effect (recorded with source "data"), unless quiet."""
    if settings.get("direction") is not None and settings["direction"].source == "data":
        announce(f"direction set to {settings['direction'].value} ({settings['direction'].reason}).", quiet=quiet)


def _solve_n_and_power(spec: _Test, solve: str, effect: float, *, n, power) -> tuple:
    """The sample size (solved for when ``solve == "n"``) and the power at it.

    Returns ``(x, n, power)`` with ``x`` the test's internal effect parameter (d, h or the rate ratio). At a
    solved n or effect the power is the target power, to the root tolerance.
    """
    x = spec.parameter(effect)
    if solve == "n":
        n = _solve_n(lambda nn: spec.power_at(x, nn) - power, low=spec.n_low)
    power = spec.power_at(x, n)
    return x, n, power


def _power_curve(spec: _Test, x: float, n: float, *, ratio: float, cluster_size, curve_n) -> pd.DataFrame:
    """The power curve for ``.table``: power at effect ``x`` for each sample size per arm in ``curve_n``
    (default 40 points from n/4 to 2.5·n, never below 2 units or, for clusters, two clusters per arm)."""
    if curve_n is None:
        lowest = 2.0 + 1e-9 if cluster_size is None else 2.0 * cluster_size
        curve_n = np.unique(np.linspace(max(lowest, n / 4), max(n * 2.5, lowest * 2), 40))
    curve = pd.DataFrame({"n_per_arm": np.asarray(curve_n, dtype=float)})
    curve["n_total"] = curve["n_per_arm"] * (1 + ratio)
    curve["power"] = [spec.power_at(x, nn) for nn in curve["n_per_arm"]]
    if cluster_size is not None:
        curve["clusters_per_arm"] = curve["n_per_arm"] / cluster_size
    return curve
