"""Analyse a randomised trial: ITT with robust SEs, Lin adjustment, clusters, counts, CACE, randomisation inference.

* Continuous outcomes (``family="gaussian"``): the intention-to-treat effect is the OLS coefficient on the
  assignment indicator with HC2 standard errors (R ``estimatr::lm_robust``). With ``covariates`` the
  regression is Lin's (2013) fully interacted one on mean-centred covariates (``estimatr::lm_lin``), which
  cannot hurt precision asymptotically. With ``cluster`` the SEs are CR2 with Bell–McCaffrey degrees of
  freedom (estimatr's default for clustered designs).
* Counts (``family="poisson"`` / ``"negbin"``): log-linear models (statsmodels GLM) report the rate ratio;
  Poisson SEs are sandwich (HC0, or cluster-robust) so overdispersion does not shrink them; negative
  binomial (NB2) estimates α by maximum likelihood and reports model-based SEs given α (as R ``MASS::glm.nb``).
  statsmodels' ``PerfectSeparationWarning`` (the model fits every count exactly) and ``HessianInversionWarning``
  (the dispersion fit has no SEs, usually at the Poisson boundary) are caught where the fit happens and explained
  in plain English in ``TrialResult.notes`` (see :func:`_model_notes`); any other warning is passed on unchanged.
* Uncertainty that cannot be estimated: the robust standard errors (HC2, CR2, sandwich HC0, cluster-robust) are
  built from the variation the model leaves over. When there is none — every unit in an arm has the same outcome
  (with ``cluster`` and no covariates: every cluster in an arm has the same mean), or a count model reproduces
  every count — that variance is exactly 0 in exact arithmetic and rounding leaves an SE of about 1e-12 and
  p = 0. This is detected from the data (see :func:`_no_variation`), not from the size of the SE, and the SE,
  confidence interval and model p-value are then NaN (not estimable); the estimate stands and the summary points
  to the randomisation-inference p-value and the outcomes by arm.
* A robust variance (HC2, CR2) of a coefficient is a sum of squares, but the matrix products that form it can
  round a true 0 to a tiny negative number: the intercept's, when every control unit has the same outcome
  (and only the control arm; the treatment effect's variance is then the treatment arm's and is unaffected).
  A value within the rounding bound of that computation (see :mod:`whatworks.trials._robust`) is 0, as
  estimatr reports it; a more negative one cannot come from rounding and that term's SE, interval and p-value
  are NaN with a note (recorded under ``variance_negative``), never numpy's raw "invalid value in sqrt".
* Non-compliance: with ``instrument`` (the random assignment) and ``treatment`` (the treatment actually
  received) the complier average causal effect (CACE) is estimated by two-stage least squares with HC2/CR2
  SEs (``estimatr::iv_robust``); the ITT and the compliance rate are reported alongside.
* Randomisation inference: the sharp null of no effect for any unit is tested by re-drawing the assignment
  as the design did (complete randomisation within ``blocks``, of whole clusters when ``cluster`` is given,
  keeping the observed numbers treated), using the difference in means (gaussian) or, for counts, the log
  ratio of the arms' event rates with 0.5 added to each arm's event total (finite when a re-drawn arm has no
  events; see :func:`_ri_statistic`) as the statistic; p = (#{|T*| ≥ |T|} + 1) / (reps + 1).

References
----------
Lin W (2013) Agnostic notes on regression adjustments to experimental data. Ann Appl Stat 7:295–318.
Angrist J, Imbens G, Rubin D (1996) Identification of causal effects using instrumental variables. JASA 91:444–455.
Bell R, McCaffrey D (2002) Bias reduction in standard errors for linear regression with multi-stage samples.
Blair G, Cooper J, Coppock A, Humphreys M, Sonnet L (2024) estimatr: Fast Estimators for Design-Based Inference.
Gerber A, Green D (2012) Field Experiments: Design, Analysis, and Interpretation, ch. 3 and 5.
Haldane J (1956) The estimation and significance of the logarithm of a ratio of frequencies. Ann Hum Genet 20:309–311.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tools.sm_exceptions import (ConvergenceWarning, HessianInversionWarning,
                                             PerfectSeparationWarning)

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import (check_choice, check_number, refuse_renamed, require_columns, require_dataframe,
                                require_numeric)
from whatworks.errors import error
from whatworks.trials import _robust
from whatworks.trials.protocol import Protocol, as_sequence
from whatworks.trials.randomise import Design, draw_assignments

__all__ = ["analyse", "TrialResult"]

_WHERE = "analyse"
FAMILIES = ("gaussian", "poisson", "negbin")
_MIN_ALPHA = 1e-8  # floor for the NB2 dispersion when its MLE sits at the Poisson boundary
# Fixed defaults of the options that take None as "not given" (recorded in .settings by given_or_default).
DEFAULT_FAMILY = "gaussian"
DEFAULT_CONF_LEVEL = 0.95
DEFAULT_PERMUTATIONS = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True, repr=False)
class TrialResult(Result):
    """The estimated effect of a trial. ``.table`` holds every model term (estimatr's tidy layout).

    Attributes
    ----------
    estimand : {"ITT", "CACE"}
    estimate, se, p_value, df : float
        The effect on the outcome scale (gaussian) or the log rate ratio (counts). ``se``, ``p_value``
        (and ``ci``, ``rate_ratio_ci`` and those columns of ``.table``) are NaN when the model-based uncertainty
        cannot be estimated (no variation within the arms; see ``notes``).
    ci : tuple of float
    rate_ratio, rate_ratio_ci : float, tuple or None
        Counts only: exp(estimate) and its interval.
    ri_p_value : float or None
        Randomisation-inference p-value (None when ``permutations=0``).
    conf_level : float
        Confidence level of ``ci`` and ``rate_ratio_ci``.
    permutations : int
        Re-randomisations behind ``ri_p_value`` (0: none).
    itt, compliance : float or None
        CACE only: the ITT (difference in means of the outcome by assignment) and the first-stage
        difference in treatment received by assignment.
    arms : DataFrame
        n, mean and SD of the outcome by arm (assigned arm).
    exploratory : bool
        True when the outcome was not pre-registered in the protocol.
    notes : tuple of str
        Plain-English notes: the standard error cannot be estimated (recorded in ``.settings`` under
        ``se_not_estimable``), a robust variance came out negative beyond rounding (``variance_negative``),
        and explanations of warnings raised while fitting (counts only: a model that
        reproduces every count exactly, a dispersion fit with no standard errors; recorded under ``warning_*``).
        Each is also announced and shown by :meth:`summary`.
    """

    estimand: str = "ITT"
    outcome: str = ""
    family: str = "gaussian"
    se_type: str = "HC2"
    estimate: float = float("nan")
    se: float = float("nan")
    ci: tuple[float, float] = (float("nan"), float("nan"))
    p_value: float = float("nan")
    df: float = float("nan")
    conf_level: float = 0.95
    rate_ratio: float | None = None
    rate_ratio_ci: tuple[float, float] | None = None
    ri_p_value: float | None = None
    permutations: int = 0
    itt: float | None = None
    compliance: float | None = None
    n: int = 0
    n_clusters: int | None = None
    arms: pd.DataFrame = field(default_factory=pd.DataFrame)
    exploratory: bool = False
    protocol_id: str | None = None
    covariates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def se_estimable(self) -> bool:
        """False when the model-based standard error, interval and p-value cannot be estimated (they are NaN)."""
        return bool(np.isfinite(self.se))

    def _headline(self) -> str:
        tag = " [EXPLORATORY]" if self.exploratory else ""
        if not self.se_estimable:
            ri = f"; randomisation p = {self.ri_p_value:.3g}" if self.ri_p_value is not None else ""
            effect = (f"rate ratio {self.rate_ratio:.3f}" if self.rate_ratio is not None else f"{self.estimate:+.4g}")
            return f"{self.estimand} {effect} (SE, CI and p not estimable{ri}){tag}"
        if self.rate_ratio is not None:
            return f"{self.estimand} rate ratio {self.rate_ratio:.3f} ({self.ci_text()}), p = {self.p_value:.3g}{tag}"
        return f"{self.estimand} {self.estimate:+.4g} ({self.ci_text()}), p = {self.p_value:.3g}{tag}"

    def ci_text(self) -> str:
        lvl = f"{self.conf_level:.0%}"
        if not self.se_estimable:
            return f"{lvl} CI not estimable"
        if self.rate_ratio_ci is not None:
            return f"{lvl} CI {self.rate_ratio_ci[0]:.3f} to {self.rate_ratio_ci[1]:.3f}"
        return f"{lvl} CI {self.ci[0]:.4g} to {self.ci[1]:.4g}"

    def summary(self) -> str:
        parts = []
        if self.exploratory:
            parts.append(f"EXPLORATORY ANALYSIS: '{self.outcome}' was not pre-registered in protocol "
                         f"'{self.protocol_id}'; treat this as hypothesis-generating, not confirmatory.")
        what = "complier average causal effect (CACE)" if self.estimand == "CACE" else "intention-to-treat effect"
        not_estimable = ("its standard error, confidence interval and model p-value cannot be estimated "
                         "(see the first note)")
        if not self.se_estimable:
            if self.rate_ratio is not None:
                parts.append(f"{self.outcome}: {what} is a rate ratio of {self.rate_ratio:.3f} "
                             f"({self.rate_ratio - 1:+.1%}; {self.family} model, {self.se_type} SEs); {not_estimable}.")
            else:
                parts.append(f"{self.outcome}: {what} {self.estimate:+.4g} ({self.se_type} SEs); {not_estimable}.")
        elif self.rate_ratio is not None:
            change = self.rate_ratio - 1
            parts.append(f"{self.outcome}: {what} is a rate ratio of {self.rate_ratio:.3f} ({change:+.1%}; "
                         f"{self.ci_text()}; p = {self.p_value:.3g}; {self.family} model, {self.se_type} SEs).")
        else:
            parts.append(f"{self.outcome}: {what} {self.estimate:+.4g} ({self.ci_text()}; p = {self.p_value:.3g}; "
                         f"{self.se_type} SEs, {self.df:.1f} df).")
        if self.covariates:
            parts.append(f"Adjusted for {', '.join(self.covariates)}"
                         f"{' (Lin 2013 interacted adjustment)' if self.family == 'gaussian' and self.estimand == 'ITT' else ''}.")
        if self.estimand == "CACE":
            parts.append(f"Assignment raised treatment received by {self.compliance:.1%} (compliance); ITT {self.itt:+.4g}.")
        if self.ri_p_value is not None:
            parts.append(f"Randomisation-inference p = {self.ri_p_value:.3g} ({self.permutations} re-randomisations).")
        n_cl = f" in {self.n_clusters} clusters" if self.n_clusters else ""
        parts.append(f"n = {self.n}{n_cl}.")
        parts += [f"Note: {note}" for note in self.notes]
        return " ".join(parts)

    def _draw(self, ax) -> None:
        arms = self.arms
        x = np.arange(len(arms))
        colours = [PALETTE["grey"], PALETTE["blue"]]
        q = stats.norm.ppf(0.5 + self.conf_level / 2)
        half = q * arms["sd"] / np.sqrt(arms["n"])
        ax.bar(x, arms["mean"], color=colours[: len(arms)], alpha=0.8)
        ax.errorbar(x, arms["mean"], yerr=half, fmt="none", color=PALETTE["black"], capsize=6)
        ax.set_xticks(x, arms["arm"])
        ax.set_ylabel(f"mean {self.outcome}")
        title = f"{self.estimand}: {self._headline()}"
        ax.set_title(title, fontsize=10)


# ---------------------------------------------------------------------- helpers
def _binary(where: str, df: pd.DataFrame, column: str, role: str) -> np.ndarray:
    s = df[column]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    values = require_numeric(where, df, column)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise error(where, f"The {role} column '{column}' must hold 0/1 (or True/False).", got=s.iloc[first],
                    row=f"position {first} (index {df.index[first]!r})",
                    hint="Code treatment as 1 and control as 0.")
    return values


def _covariate_matrix(where: str, df: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    cols, names = [], []
    for cov in covariates:
        s = df[cov]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            cols.append(require_numeric(where, df, cov)[:, None])
            names.append(cov)
        else:
            if s.isna().any():
                first = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise error(where, f"Covariate '{cov}' has missing values.", row=f"position {first}",
                            hint="Fill or drop them first; whatworks never drops rows silently.")
            levels = sorted(s.astype(str).unique())
            for lv in levels[1:]:  # first level is the reference
                cols.append((s.astype(str) == lv).to_numpy(dtype=float)[:, None])
                names.append(f"{cov}{lv}")
    if not cols:
        return np.empty((len(df), 0)), []
    return np.hstack(cols), names


def _codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values, sort=True)[0].astype(np.int64)


def _ri_design(where: str, z: np.ndarray, clusters: np.ndarray | None, blocks: np.ndarray | None) -> Design:
    n = len(z)
    unit_cluster = clusters if clusters is not None else np.arange(n, dtype=np.int64)
    n_cl = int(unit_cluster.max()) + 1
    z_cl = np.full(n_cl, np.nan)
    z_cl[unit_cluster] = z
    if clusters is not None and np.any(z_cl[unit_cluster] != z):
        first = int(np.flatnonzero(z_cl[unit_cluster] != z)[0])
        raise error(where, "Assignment varies within a cluster, so clusters cannot have been randomised whole.",
                    row=f"position {first}", hint="Check the 'cluster' column, or leave it out for individual assignment.")
    if blocks is not None:
        cluster_block = np.zeros(n_cl, dtype=np.int64)
        cluster_block[unit_cluster] = blocks
        if np.any(cluster_block[unit_cluster] != blocks):
            raise error(where, "A cluster spans more than one block.", hint="Clusters must be nested in blocks.")
    else:
        cluster_block = np.zeros(n_cl, dtype=np.int64)
    n_blocks = int(cluster_block.max()) + 1
    block_m = np.bincount(cluster_block, weights=z_cl, minlength=n_blocks).astype(int)
    size = np.bincount(cluster_block, minlength=n_blocks)
    return Design(unit_cluster=unit_cluster, cluster_block=cluster_block, block_prob=block_m / size, block_m=block_m)


RI_CONTINUITY = 0.5  # events added to each arm's total in the count RI statistic (Haldane 1956)


def _ri_statistic(y: np.ndarray, z: np.ndarray, log_ratio: bool, blocks: np.ndarray | None = None) -> np.ndarray:
    """The randomisation-inference statistic for each row of ``z`` (shape (reps, n), 0/1).

    With ``blocks`` (integer codes, one per unit) the statistic is the blocked one: each block's own statistic
    (below), averaged over the blocks that hold both arms with weights proportional to their units — the blocked
    difference in means of estimatr's ``difference_in_means(blocks=)`` for a gaussian outcome. Re-draws permute
    within blocks (:func:`_ri_design`), so every draw has the same mixed blocks as the observed assignment. The pooled
    statistic would compare arms across blocks with different treated shares, mixing the block effect into the
    contrast; the test would stay valid but lose power.

    gaussian: ``mean₁ − mean₀``. Counts: ``log((S₁ + ½)/n₁) − log((S₀ + ½)/n₀)`` with Sₖ the events and nₖ
    the units in arm k.

    Why the ½: re-drawn assignments often put no events in one arm (rare outcomes, unequal arms, few
    clusters). The plain log rate ratio is then ±inf, which ``|T*| ≥ |T|`` counts as more extreme than any
    observed split. The test stays valid but is badly distorted: with 5 of 20 units treated and 4 events,
    28% of draws leave the treated arm empty, so a 9-fold rate ratio could never get p below 0.28. Adding ½
    to each arm's events (Haldane's correction) keeps the statistic finite and on the rate-ratio scale, so
    an empty arm counts as extreme only when its rate gap to the other arm is as large as the observed one
    (an empty small arm is a modest gap; an empty large arm a big one), and it changes the statistic
    negligibly when both arms have many events. It is applied identically to the observed and the re-drawn assignments, as any
    statistic must be for the randomisation test to be exact; with equal arms and no clusters it orders
    assignments exactly as the uncorrected ratio did (both are monotone in |S₁ − S₀|), so p is unchanged there.
    """
    z = np.atleast_2d(z).astype(float)
    if blocks is not None:
        return _ri_statistic_blocked(y, z, log_ratio, blocks)
    n1 = z.sum(axis=1)
    n0 = z.shape[1] - n1  # both ≥ 1: the design keeps the observed (non-empty) numbers of treated clusters
    s1 = z @ y
    s0 = (1 - z) @ y
    if log_ratio:
        return np.log((s1 + RI_CONTINUITY) / n1) - np.log((s0 + RI_CONTINUITY) / n0)
    return s1 / n1 - s0 / n0


def _ri_statistic_blocked(y: np.ndarray, z: np.ndarray, log_ratio: bool, blocks: np.ndarray) -> np.ndarray:
    """:func:`_ri_statistic` within each block, weighted by block size over the blocks holding both arms."""
    nb = int(blocks.max()) + 1
    B = np.zeros((z.shape[1], nb))
    B[np.arange(z.shape[1]), blocks] = 1.0
    size = B.sum(axis=0)
    n1 = z @ B                                   # (reps, blocks): treated units per block
    n0 = size - n1
    s1 = z @ (B * y[:, None])
    s0 = (y @ B) - s1
    mixed = (n1[0] > 0) & (n0[0] > 0)            # the same in every draw: re-draws keep each block's treated clusters
    w = np.where(mixed, size, 0.0)
    w = w / w.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_ratio:
            per = np.log((s1 + RI_CONTINUITY) / n1) - np.log((s0 + RI_CONTINUITY) / n0)
        else:
            per = s1 / n1 - s0 / n0
    return np.where(mixed, per, 0.0) @ w


# statsmodels warnings that analyse() explains in plain English (see _model_notes); any other warning raised
# while fitting is passed on to the caller unchanged, so nothing is swallowed.
_EXPLAINED = (HessianInversionWarning, PerfectSeparationWarning)
# NB2 counts as effectively Poisson when its extra variance αμ² is under 0.1% of the Poisson variance μ at the
# largest fitted mean (α·max μ < 0.001): a difference no count data could detect.
_POISSON_LIKE = 1e-3
# Standard errors built from the residuals (the variation the model leaves over): degenerate when there is none.
_RESIDUAL_SE = ("HC2", "CR2", "sandwich HC0", "cluster-robust")
# The value recorded in .settings for each note: the statsmodels warning it explains.
_NOTE_SOURCES = {"warning_perfect_fit": "statsmodels PerfectSeparationWarning",
                 "se_nan": "statsmodels returned a NaN standard error",
                 "warning_dispersion_hessian": "statsmodels HessianInversionWarning"}


def _fitting(fit_fn, *ignore):
    """Run ``fit_fn()`` recording every warning it raises; return ``(result, warnings)``.

    Categories in ``ignore`` are dropped at the source (only for checks the caller makes itself).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in ignore:
            warnings.simplefilter("ignore", category)
        out = fit_fn()
    return out, list(caught)


def _count_fit(where, family, y, X, clusters, quiet=False):
    """Fit the count model. Returns ``(fit, se_type, extra settings, statsmodels warnings raised by the fit)``.

    The warnings in :data:`_EXPLAINED` are returned for :func:`_model_notes` to explain; every other warning
    is re-issued here, so the caller sees it exactly as statsmodels raised it.
    """
    import statsmodels.api as sm

    caught: list[warnings.WarningMessage] = []
    cov_kw: dict[str, Any] = {}
    if clusters is not None:
        cov_kw = {"cov_type": "cluster", "cov_kwds": {"groups": clusters}}
    if family == "poisson":
        fit, w = _fitting(lambda: sm.GLM(y, X, family=sm.families.Poisson()).fit(**(cov_kw or {"cov_type": "HC0"})))
        caught += w
        se_type = "cluster-robust" if clusters is not None else "sandwich HC0"
        extra = {}
    else:
        # NB2: alpha by maximum likelihood, then the GLM given alpha for coefficients and model-based
        # (expected-information) SEs, which is how MASS::glm.nb reports them.
        model = sm.NegativeBinomial(y, X, loglike_method="nb2")
        poisson_start, w = _fitting(lambda: sm.GLM(y, X, family=sm.families.Poisson()).fit())
        caught += w
        start = np.r_[poisson_start.params, 0.1]
        a = np.nan
        for method in ("newton", "bfgs", "nm"):
            # Optimisers may step through alpha < 0 and warn on log(negative) on the way; convergence and
            # finiteness are checked explicitly below, so those intermediate warnings carry no information.
            # The other warnings of an attempt that is rejected (not converged, or not finite) describe a fit
            # that is thrown away, so only the accepted attempt's warnings are kept.
            nb, w = _fitting(lambda: model.fit(start_params=start, method=method, maxiter=5000, disp=0),
                             RuntimeWarning, ConvergenceWarning)
            if np.all(np.isfinite(nb.params)) and nb.mle_retvals.get("converged", False):
                a = float(nb.params[-1])
                caught += w
                break
        if not np.isfinite(a):
            raise error(where, "The negative-binomial model did not converge.", got=a,
                        hint="Use family='poisson' (its sandwich SEs allow for overdispersion).")
        max_mu = float(np.max(poisson_start.mu))
        if a < _MIN_ALPHA or a * max_mu < _POISSON_LIKE:
            # The likelihood is maximised at (or numerically next to) the Poisson boundary: no overdispersion.
            # Optimisers stop short of α = 0 (at 1e-7 to 1e-5 for under-dispersed counts), so the boundary is
            # judged by what α does to the variance (αμ² under 0.1% of μ at the largest mean), not by α alone.
            announce(f"negative-binomial dispersion estimated at {a:.2g} (extra variance under 0.1% of the Poisson "
                     f"variance at the largest mean, {max_mu:.3g}): no overdispersion, so the model is Poisson; "
                     f"dispersion set to {_MIN_ALPHA:g}.", quiet=quiet)
            extra_note = f"MLE {a:.3g} at the Poisson boundary; set to {_MIN_ALPHA:g}"
            a = _MIN_ALPHA
        else:
            extra_note = "maximum likelihood"
        glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=a))
        fit, w = _fitting(lambda: glm.fit(**cov_kw, tol=1e-12, maxiter=200) if cov_kw
                          else glm.fit(tol=1e-12, maxiter=200))
        caught += w
        se_type = "cluster-robust" if clusters is not None else "model-based"
        extra = {"dispersion": (a, extra_note), "theta": (1 / a, extra_note)}
    for w in caught:
        if not issubclass(w.category, _EXPLAINED):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return fit, se_type, extra, [w for w in caught if issubclass(w.category, _EXPLAINED)]


def _model_notes(caught, family: str, se_type: str, alpha_nb: float | None, max_mean: float) -> dict[str, str]:
    """Plain-English notes for the statsmodels warnings raised while fitting a count model, keyed by name.

    What each warning means here (checked against what :func:`_count_fit` does with the fit):

    * ``PerfectSeparationWarning`` (statsmodels' GLM): the fitted rates equal every observed count, e.g. every
      unit in an arm has the same count. The rate ratio is still estimated, but the residuals are all zero,
      so a sandwich or cluster-robust SE (built from residuals) is exactly 0 in exact arithmetic: analyse()
      reports it as not estimable (NaN) and explains that in its own note (:func:`_not_estimable_note`), so no
      note is made here. The negative binomial's model-based SE (no clusters) is then the Poisson one,
      var = mean, and is kept: the note says it is, if anything, too wide.
    * ``HessianInversionWarning`` (statsmodels' discrete ``NegativeBinomial``, used only to estimate the
      dispersion): that fit's own information matrix is singular, usually because the dispersion sits at 0,
      so it has no SEs. analyse() never uses them: coefficients and SEs come from the GLM refitted with the
      dispersion held fixed. The note says the model is effectively Poisson when the NB2 variance
      ``μ + αμ²`` exceeds the Poisson ``μ`` by less than :data:`_POISSON_LIKE` (0.1%) at the largest fitted
      mean ``max_mean``, i.e. ``α·max μ < 0.001``.
    """
    seen = {w.category for w in caught}
    notes: dict[str, str] = {}
    residual_se = se_type in _RESIDUAL_SE
    if PerfectSeparationWarning in seen and not residual_se:
        notes["warning_perfect_fit"] = (
            "The model reproduces every count exactly (for example, every unit in an arm has the same count), so "
            "there is no variation left over. The negative-binomial dispersion is then effectively 0, so the model "
            "is the Poisson model and its model-based standard error assumes the counts vary as much as their mean "
            "(Poisson variation). These counts vary less than that, so the interval is, if anything, too wide.")
    if HessianInversionWarning in seen and family == "negbin" and alpha_nb is not None:
        if alpha_nb * max_mean < _POISSON_LIKE:
            text = (f"The negative-binomial dispersion is at (or next to) its lower bound of 0 ({alpha_nb:.3g}): "
                    "the counts vary no more than a Poisson model expects, so the negative-binomial model "
                    "reduces to the Poisson model. At that bound the dispersion fit has no standard errors of its "
                    "own (statsmodels could not invert its Hessian).")
        else:
            text = (f"statsmodels could not invert the Hessian of the negative-binomial dispersion fit (dispersion "
                    f"estimated at {alpha_nb:.3g}), so that fit has no standard errors of its own, a sign that the "
                    "data pin the dispersion down poorly; compare with family='poisson'.")
        text += (f" Those standard errors are not used: the rate ratio and its {se_type} standard error come from "
                 f"the model refitted with the dispersion held at {alpha_nb:.3g}.")
        notes["warning_dispersion_hessian"] = text
    return notes


def _no_variation(y: np.ndarray, arm: np.ndarray, clusters: np.ndarray | None, *, cells: bool,
                  perfect_fit: bool) -> str | None:
    """Why a residual-based (HC2, CR2, sandwich, cluster-robust) variance is exactly zero, or None if it is not.

    Those variances sum squared score contributions ``eᵢ·xᵢ`` over the independent units (units, or clusters
    summed), so they vanish exactly when every contribution does. Decided from the data, by exact comparison,
    never from the size of the computed SE (which rounding leaves at ~1e-12 to 1e-16 rather than 0):

    * ``"units"``: every unit in an arm has the same outcome (``arm`` is the assigned arm for an ITT, the
      treatment received for a CACE). Any of the models (with or without covariates and clusters) then
      reproduces every outcome, so every residual is 0.
    * ``"clusters"`` (only with ``cells=True``: clusters and no covariates, ITT): every cluster's units in an
      arm have the same mean outcome, ``S_c·n_r == S_r·n_c`` for cluster-in-arm totals S and sizes n. Without
      covariates the fitted value is the arm mean, so each cluster's residuals sum to 0 and so does its score:
      this is exactly the condition for the cluster-robust / CR2 variance to be 0. (Exact for whole-number
      outcomes such as counts; for other decimals it compares the stored values' floating-point sums.)
    * ``"fit"``: the model reproduces every outcome although the arms vary (covariates explain it all). For a
      count model statsmodels' own check (``PerfectSeparationWarning``: every fitted mean within 1e-8 of its
      whole-number count) is used; for a linear model, residuals whose root sum of squares is under 1e-9 of the
      outcome's own (rounding level).
    """
    groups = [y[arm == k] for k in (0, 1)]
    if all(np.all(g == g[0]) for g in groups):
        return "units"
    if cells and clusters is not None:
        cell = clusters.astype(np.int64) * 2 + arm.astype(np.int64)
        sums = np.bincount(cell, weights=y)
        sizes = np.bincount(cell)
        same = True
        for k in (0, 1):
            idx = np.flatnonzero((sizes > 0) & (np.arange(len(sizes)) % 2 == k))
            s, n = sums[idx], sizes[idx].astype(float)
            same &= bool(np.all(s * n[0] == s[0] * n))
        if same:
            return "clusters"
    if perfect_fit:
        return "fit"
    return None


def _not_estimable_note(kind: str, *, estimand: str, family: str, se_type: str, y: np.ndarray, arm: np.ndarray,
                        clusters: np.ndarray | None, ri_p: float | None, permutations: int) -> str:
    """The plain-English note for a standard error that cannot be estimated (see :func:`_no_variation`)."""
    counts = family != "gaussian"
    noun = "count" if counts else "outcome"
    labels = (("units that did not receive the treatment", "units that received it") if estimand == "CACE"
              else ("control", "treatment"))

    by_arm = []
    for k, label in enumerate(labels):
        vals = y[arm == k]
        if kind == "units":
            by_arm.append(f"{label}: {len(vals)} units, each {vals[0]:g}")
        elif kind == "clusters":
            n_cl = len(np.unique(clusters[arm == k]))
            by_arm.append(f"{label}: {n_cl} clusters, each with a mean {noun} of {vals.mean():g} per unit")
        else:
            by_arm.append(f"{label}: {len(vals)} units, mean {vals.mean():g}")
    arms_txt = "; ".join(by_arm)
    if kind == "units" and estimand == "ITT":
        first = f"Every unit in an arm has the same {noun} ({arms_txt})."
        when, where = f"every unit in an arm has the same {noun}", "within the arms"
    elif kind == "units":
        first = f"Every unit with the same treatment received has the same {noun} ({arms_txt})."
        when, where = f"the {noun} does not vary within those groups", "left over"
    elif kind == "clusters":
        first = f"Every cluster in an arm has the same mean {noun} per unit ({arms_txt})."
        when, where = f"every cluster in an arm has the same mean {noun}", "between the clusters of an arm"
    else:
        first = (f"The model reproduces every {noun} exactly: the arm and the covariates account for all of it "
                 f"({arms_txt}).")
        when, where = "nothing is left over", "left over"
    text = (f"{first} The model-based uncertainty cannot be estimated when {when}: there is no variation {where} "
            f"for the {se_type} standard error to measure, so it would come out as about 0 with p = 0, an artefact "
            "rather than evidence. The standard error, confidence interval and model p-value are therefore NaN (not "
            f"estimable); the {'rate ratio' if counts else 'estimate'} itself stands. ")
    if ri_p is not None:
        text += (f"For evidence use the randomisation-inference p-value (p = {ri_p:.3g}, {permutations} "
                 f"re-randomisations), which needs no variance estimate, and report the {noun}s by arm.")
    else:
        text += (f"For evidence re-run with permutations > 0 (e.g. 1000) for a randomisation-inference p-value, which "
                 f"needs no variance estimate, and report the {noun}s by arm.")
    return text


def _negative_variance_note(negative: dict[str, float], se_type: str) -> str:
    """The plain-English note for robust variances that came out negative beyond rounding (see ``_robust``)."""
    terms = ", ".join(f"'{t}' ({v:.3g})" for t, v in negative.items())
    return (f"The {se_type} variance of {terms} came out negative. A variance cannot be negative, and this is more "
            "than floating-point rounding can explain, so the standard error, confidence interval and p-value of "
            f"{'that term' if len(negative) == 1 else 'those terms'} are NaN (not estimable); the estimates stand. "
            "It points to a numerically unstable model, for example nearly collinear covariates or a unit that "
            "alone determines a coefficient: check the covariates, or drop the ones that add little.")


# Arguments renamed to the vocabulary of DESIGN.md (CHANGELOG.md, 0.x): a clear error rather than a TypeError.
_RENAMED = {"alpha": "conf_level (= 1 - alpha)", "ri_reps": "permutations"}


# ---------------------------------------------------------------------- public
def analyse(df: pd.DataFrame, outcome: str, treatment: str, *, covariates: Sequence[str] | None = None,
            cluster: str | None = None, instrument: str | None = None, family: str | None = None,
            blocks: str | None = None, protocol: Protocol | None = None, exploratory: bool = False,
            conf_level: float | None = None, permutations: int | None = None, seed: int | None = None,
            quiet: bool = False, **renamed) -> TrialResult:
    """Estimate a trial's effect: ITT (or CACE with ``instrument``) with design-based robust inference.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per randomised unit.
    outcome : str
        Outcome column (numeric; counts for ``poisson``/``negbin``).
    treatment : str
        0/1 column: the assigned arm for an ITT analysis, or the treatment actually received when
        ``instrument`` is given.
    covariates : list of str, optional
        Pre-treatment covariates (Lin adjustment for gaussian ITT; additional regressors otherwise).
        Text covariates become indicator columns (first level as reference). Not given: no adjustment.
    cluster : str, optional
        Cluster column for cluster-randomised designs (CR2 for gaussian, cluster-robust for counts).
        Not given: units were randomised individually.
    instrument : str, optional
        0/1 random-assignment column; turns the analysis into a CACE by two-stage least squares.
    family : {"gaussian", "poisson", "negbin"}, optional
        ``None`` (not given) means "gaussian".
    blocks : str, optional
        Block column, used by randomisation inference to re-randomise within blocks.
    protocol : Protocol, optional
        The frozen protocol; an outcome it does not list needs ``exploratory=True``.
    exploratory : bool, default False
        Declare an analysis of an outcome that was not pre-registered; the output says so.
    conf_level : float, optional
        Confidence level of the intervals; ``None`` (not given) means 0.95. (Was ``alpha``, 1 − conf_level.)
    permutations : int, optional
        Re-randomisations for the randomisation-inference p-value; 0 skips it. ``None`` (not given) means 1000.
        (Was ``ri_reps``.)
    seed : int, optional
        Seed for randomisation inference; ``None`` (not given) means 0.
    quiet : bool, default False
        Silence the notices printed when a setting is chosen from the data (the negative-binomial dispersion
        set to its floor at the Poisson boundary) and the plain-English notes explaining statsmodels warnings
        raised by a count model (see ``TrialResult.notes``). Both are still recorded in ``.settings`` (notes
        under ``warning_*``) and the notes in ``.notes`` and ``summary()``.

    Returns
    -------
    TrialResult
        ``.settings`` records ``family``, ``conf_level``, ``permutations`` and ``seed`` with source "user" when you pass
        them (even the default value) and "default" when you leave them out, and ``covariates`` (``[]`` when
        none) and ``cluster`` (``None`` when none) with source "user" or "default" the same way.
        With a residual-based SE (HC2, CR2, sandwich HC0, cluster-robust) and no variation for it to measure
        (every unit in an arm has the same outcome, every cluster in an arm the same mean, or a count model that
        reproduces every count), ``se``, ``ci``, ``p_value`` and those columns of ``.table`` are NaN
        (``se_estimable`` is False) and the first note says why; see :func:`_no_variation`.

    Notes
    -----
    ITT without covariates: ``y = a + τ·Z + e``; HC2 variance
    ``(X'X)⁻¹ X' diag(eᵢ²/(1 − hᵢᵢ)) X (X'X)⁻¹``, t test on n − 2 df. Lin: ``y = a + τ·Z + β'(x − x̄) +
    γ'Z(x − x̄) + e``. CACE: ``y = a + τ·D + e`` with D instrumented by Z.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"z": np.repeat([0, 1], 50), "x": rng.normal(size=100)})
    >>> d["y"] = 1 + 0.5 * d["z"] + d["x"] + rng.normal(size=100)
    >>> r = analyse(d, "y", "z", covariates=["x"], permutations=0)
    >>> round(r.estimate, 2)
    0.54
    """
    require_dataframe(_WHERE, "df", df)
    refuse_renamed(_WHERE, renamed, _RENAMED)
    settings: dict[str, Setting] = {}
    family, conf_level, permutations, seed = _record_options(settings, family, conf_level, permutations, seed,
                                                             covariates, cluster)
    covariates = as_sequence(covariates)
    _check_options(df, outcome, treatment, covariates=covariates, cluster=cluster, instrument=instrument,
                   blocks=blocks, family=family, conf_level=conf_level, permutations=permutations)
    exploratory = _is_exploratory(protocol, outcome, exploratory)
    _check_estimand(df, instrument, family)
    inp = _inputs(df, outcome, treatment, instrument, family, covariates, cluster, blocks)
    fit = _estimate(inp, treatment, instrument, family, conf_level, settings, quiet=quiet)
    flat = _estimability(fit, inp)
    ri_p = _randomisation_p(inp, family, int(permutations), seed, settings) if permutations else None
    notes = _record_notes(fit, flat, inp, family, ri_p, int(permutations), settings, quiet=quiet)
    clusters = inp.clusters
    return TrialResult(table=fit.table, settings=settings, estimand=fit.estimand, outcome=outcome, family=family,
                       se_type=fit.se_type, estimate=float(fit.estimate), se=float(fit.se),
                       ci=(float(fit.ci[0]), float(fit.ci[1])), p_value=float(fit.p), df=float(fit.df),
                       conf_level=conf_level,
                       rate_ratio=fit.rate_ratio, rate_ratio_ci=fit.rate_ratio_ci, ri_p_value=ri_p,
                       permutations=int(permutations), itt=fit.itt, compliance=fit.compliance, n=len(inp.y),
                       n_clusters=(int(clusters.max() + 1) if clusters is not None else None),
                       arms=_arm_counts(inp), exploratory=exploratory,
                       protocol_id=(protocol.trial_id if protocol is not None else None), covariates=tuple(covariates),
                       notes=tuple(notes))


# ---- the steps of analyse(): options, checks, inputs, estimator and fits, estimability, RI, notes, arms ----
@dataclass(frozen=True)
class _Inputs:
    """analyse()'s checked inputs as arrays."""

    y: np.ndarray                    # outcome
    d: np.ndarray                    # treatment (received, with an instrument)
    z: np.ndarray                    # random assignment (= d without an instrument)
    C: np.ndarray                    # covariate matrix (n × k; k = 0 without covariates)
    cov_names: list
    clusters: np.ndarray | None      # cluster codes
    blocks: np.ndarray | None        # block codes


@dataclass
class _Fit:
    """One model fit, as analyse() reports it (internal; mutable only while analyse() assembles it)."""

    estimand: str
    table: pd.DataFrame
    se_type: str
    estimate: float
    se: float
    p: float
    df: float
    ci: tuple
    rate_ratio: float | None = None
    rate_ratio_ci: tuple | None = None
    itt: float | None = None
    compliance: float | None = None
    perfect_fit: bool = False        # the model reproduces every outcome
    negative: dict = field(default_factory=dict)      # gaussian terms whose robust variance is negative beyond rounding
    model_notes: dict = field(default_factory=dict)   # key -> plain-English note
    extra: dict = field(default_factory=dict)         # count-model settings (dispersion), key -> (value, reason)


def _record_options(settings: dict[str, Setting], family, conf_level, permutations, seed, covariates,
                    cluster) -> tuple:
    """Resolve the options with fixed defaults (``None`` = not given) and record them, with ``covariates`` and
    ``cluster``, in ``settings``.

    An explicit ``family="gaussian"``, ``conf_level=0.95``, ``permutations=1000`` or ``seed=0`` is recorded as the
    caller's. Returns ``(family, conf_level, permutations, seed)``.
    """
    family = given_or_default(settings, "family", family, DEFAULT_FAMILY, reason="outcome model")
    conf_level = given_or_default(settings, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of the intervals")
    permutations = given_or_default(settings, "permutations", permutations, DEFAULT_PERMUTATIONS,
                                    reason="re-randomisations for the randomisation-inference p-value")
    seed = given_or_default(settings, "seed", seed, DEFAULT_SEED, reason="seed for randomisation inference")
    settings["covariates"] = (Setting(list(as_sequence(covariates)), "user", "pre-treatment covariates adjusted for")
                              if covariates is not None else Setting([], "default", "no covariate adjustment"))
    settings["cluster"] = (Setting(cluster, "user", "cluster column: cluster-randomised design")
                           if cluster is not None else Setting(None, "default", "no clusters: units randomised "
                                                                                "individually"))
    return family, conf_level, permutations, seed


def _check_options(df: pd.DataFrame, outcome: str, treatment: str, *, covariates, cluster, instrument, blocks,
                   family, conf_level, permutations) -> None:
    """Check at the door that the named columns exist and the options are valid (the data are checked by
    :func:`_inputs`)."""
    require_columns(_WHERE, df, [outcome, treatment, cluster, instrument, blocks, *covariates], arg="df")
    check_choice(_WHERE, "family", family, FAMILIES)
    check_number(_WHERE, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_number(_WHERE, "permutations", permutations, low=0, integer=True)


def _is_exploratory(protocol: Protocol | None, outcome: str, exploratory: bool) -> bool:
    """Whether the analysis is exploratory: an outcome the protocol does not list (which needs
    ``exploratory=True``, else :meth:`Protocol.check_outcome` refuses it), or one declared so without a protocol."""
    if protocol is not None:
        if not isinstance(protocol, Protocol):
            raise error(_WHERE, "'protocol' must be a whatworks.trials.Protocol.", got=type(protocol).__name__)
        return not protocol.check_outcome(outcome, exploratory=exploratory)
    return bool(exploratory)


def _check_estimand(df: pd.DataFrame, instrument: str | None, family: str) -> None:
    """Refuse a CACE for counts (2SLS is linear) and data too small to analyse (fewer than four units)."""
    if instrument is not None and family != "gaussian":
        raise error(_WHERE, "The CACE (instrument=...) is estimated by two-stage least squares for family='gaussian' only.",
                    got=family, hint="Analyse counts as ITT, or use family='gaussian' for a linear CACE on the counts.")
    if len(df) < 4:
        raise error(_WHERE, "At least four units are needed.", got=len(df))


def _estimate(inp: _Inputs, treatment: str, instrument: str | None, family: str, conf_level: float,
              settings: dict[str, Setting], *, quiet: bool) -> _Fit:
    """Pick the estimator and fit it: :func:`_fit_gaussian` (OLS / Lin / 2SLS) for ``family="gaussian"``, else
    :func:`_fit_counts`, whose data-chosen settings (the NB2 dispersion) are recorded in ``settings``."""
    if family == "gaussian":
        return _fit_gaussian(inp, treatment, instrument, conf_level)
    fit = _fit_counts(inp, treatment, family, conf_level, quiet=quiet)
    for k, (v, why) in fit.extra.items():
        settings[k] = Setting(v, "data", why)
    return fit


def _arm_counts(inp: _Inputs) -> pd.DataFrame:
    """Units, mean and SD of the outcome by assigned arm (the CONSORT-style counts of ``TrialResult.arms``)."""
    y, z = inp.y, inp.z
    arm_rows = []
    for label, mask in (("control", z == 0), ("treatment", z == 1)):
        arm_rows.append({"arm": label, "n": int(mask.sum()), "mean": float(y[mask].mean()),
                         "sd": float(y[mask].std(ddof=1)) if mask.sum() > 1 else float("nan")})
    return pd.DataFrame(arm_rows)


def _inputs(df, outcome, treatment, instrument, family, covariates, cluster, blocks) -> _Inputs:
    """Check the outcome, arms, covariates, clusters and blocks; clear errors naming the problem."""
    y = require_numeric(_WHERE, df, outcome)
    d = _binary(_WHERE, df, treatment, "treatment")
    z = _binary(_WHERE, df, instrument, "instrument") if instrument is not None else d
    if z.min() == z.max():
        raise error(_WHERE, f"Everyone is in one arm of '{instrument or treatment}'.", got=float(z[0]),
                    hint="Both treatment and control units are needed.")
    arm_n = (int((z == 0).sum()), int((z == 1).sum()))
    if min(arm_n) < 2:
        # With one unit in an arm its leverage is 1, so HC2 (and the arm's SD) is undefined: the SE would be wrong.
        raise error(_WHERE, f"Each arm of '{instrument or treatment}' needs at least two units.",
                    got=f"{arm_n[0]} control, {arm_n[1]} treatment",
                    hint="A robust standard error cannot be estimated from a single unit in an arm.")
    if family != "gaussian" and (np.any(y < 0) or np.any(y != np.round(y))):
        first = int(np.flatnonzero((y < 0) | (y != np.round(y)))[0])
        raise error(_WHERE, f"A {family} model needs non-negative whole-number counts in '{outcome}'.",
                    got=df[outcome].iloc[first], row=f"position {first}")
    if family != "gaussian":
        empty_arm = [lab for lab, arm in (("control", 0), ("treatment", 1)) if y[z == arm].sum() == 0]
        if empty_arm:
            arms_txt = f"{' and '.join(empty_arm)} arm{'s have' if len(empty_arm) > 1 else ' has'}"
            raise error(_WHERE, f"The {arms_txt} no events in '{outcome}', so the rate ratio is 0 or infinite and a "
                                "log-linear model cannot estimate it.", got=0,
                        hint="Report the counts by arm, or use family='gaussian' for a difference in means.")
    C, cov_names = _covariate_matrix(_WHERE, df, covariates)
    clusters = None
    if cluster is not None:
        if df[cluster].isna().any():
            first = int(np.flatnonzero(df[cluster].isna().to_numpy())[0])
            raise error(_WHERE, f"Cluster column '{cluster}' has missing values.", row=f"position {first}")
        clusters = _codes(df[cluster])
        if clusters.max() + 1 < 3:
            raise error(_WHERE, "Cluster-robust inference needs at least 3 clusters.", got=int(clusters.max() + 1))
    block_codes = None
    if blocks is not None:
        if df[blocks].isna().any():
            first = int(np.flatnonzero(df[blocks].isna().to_numpy())[0])
            raise error(_WHERE, f"Block column '{blocks}' has missing values.", row=f"position {first}")
        block_codes = _codes(df[blocks])
    return _Inputs(y=y, d=d, z=z, C=C, cov_names=cov_names, clusters=clusters, blocks=block_codes)


def _fit_gaussian(inp: _Inputs, treatment: str, instrument: str | None, conf_level: float) -> _Fit:
    """ITT by OLS (Lin adjustment with covariates) or CACE by 2SLS, HC2 / CR2 (estimatr's lm_robust/iv_robust)."""
    y, d, z, C, cov_names, clusters = inp.y, inp.d, inp.z, inp.C, inp.cov_names, inp.clusters
    one = np.ones((len(y), 1))
    itt = compliance = None
    if instrument is None:
        estimand = "ITT"
        if C.shape[1]:
            Cc = C - C.mean(axis=0)
            X = np.hstack([one, z[:, None], Cc, z[:, None] * Cc])
            names = ["(Intercept)", treatment, *[f"{c}_c" for c in cov_names], *[f"{treatment}:{c}_c" for c in cov_names]]
        else:
            X = np.hstack([one, z[:, None]])
            names = ["(Intercept)", treatment]
        if _robust.rank(X) < X.shape[1]:
            raise error(_WHERE, "The model's columns are collinear (a covariate is constant or duplicates another).",
                        got=cov_names, hint="Drop constant or duplicated covariates.")
        fit = _robust.ols(X, y, clusters=clusters)
    else:
        estimand = "CACE"
        X = np.hstack([one, d[:, None], C])
        Z = np.hstack([one, z[:, None], C])
        names = ["(Intercept)", treatment, *cov_names]
        if _robust.rank(Z) < Z.shape[1] or _robust.rank(X) < X.shape[1]:
            raise error(_WHERE, "The instrument or covariates are collinear.", hint="Drop constant covariates.")
        first_stage = z.astype(bool)
        compliance = float(d[first_stage].mean() - d[~first_stage].mean())
        if abs(compliance) < 1e-12:
            raise error(_WHERE, f"Assignment ('{instrument}') does not change treatment received ('{treatment}'): "
                                "the CACE is not identified.", got=compliance)
        itt = float(y[first_stage].mean() - y[~first_stage].mean())
        fit = _robust.tsls(X, Z, y, clusters=clusters)
    # an outcome the model reproduces exactly (covariates that account for all of it): residuals at rounding
    # level relative to the outcome's own spread (statsmodels' own threshold for a count model's perfect fit
    # is also relative, 1e-8); the robust SE would then be ~1e-15 with p = 0
    spread = float(np.sqrt(np.sum((y - y.mean()) ** 2)))
    perfect_fit = bool(spread > 0 and np.sqrt(np.sum(fit.resid ** 2)) <= 1e-9 * spread)
    table = pd.DataFrame([{"term": nm, **fit.test(j, conf_level)} for j, nm in enumerate(names)])
    main = table.iloc[1]
    return _Fit(estimand=estimand, table=table, se_type="CR2" if clusters is not None else "HC2",
                estimate=main["estimate"], se=main["se"], p=main["p_value"], df=main["df"],
                ci=(main["ci_low"], main["ci_high"]), itt=itt, compliance=compliance, perfect_fit=perfect_fit,
                negative={names[j]: float(fit.vcov[j, j]) for j in fit.negative})


def _fit_counts(inp: _Inputs, treatment: str, family: str, conf_level: float, *, quiet: bool) -> _Fit:
    """ITT rate ratio from a Poisson (sandwich) or NB2 (model-based) log-linear model; see :func:`_count_fit`."""
    y, z, C, cov_names = inp.y, inp.z, inp.C, inp.cov_names
    X = np.hstack([np.ones((len(y), 1)), z[:, None], C])
    names = ["(Intercept)", treatment, *cov_names]
    if _robust.rank(X) < X.shape[1]:
        raise error(_WHERE, "The model's columns are collinear.", got=cov_names, hint="Drop constant covariates.")
    fit, se_type, extra, caught = _count_fit(_WHERE, family, y, X, inp.clusters, quiet=quiet)
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse, dtype=float)
    model_notes: dict[str, str] = {}
    nan_se = [names[j] for j in range(len(bse)) if not np.isfinite(bse[j])]
    if nan_se:
        # statsmodels returns NaN for a variance that came out negative (rounding in a near-singular
        # information matrix or sandwich); say so rather than let the NaN through unexplained
        model_notes["se_nan"] = (
            f"statsmodels returned no standard error for {', '.join(repr(t) for t in nan_se)} (its variance came out "
            "negative or undefined, a sign of a near-singular model, e.g. a count that barely varies or a "
            f"covariate that nearly separates the arms): the standard error, interval and p-value of "
            f"{'that term' if len(nan_se) == 1 else 'those terms'} are NaN (not estimable)"
            + (", including the treatment effect: use the randomisation-inference p-value (permutations > 0)."
               if treatment in nan_se else "."))
    q = stats.norm.ppf(0.5 + conf_level / 2)
    # an SE of exactly 0 (the intercept when every control count is the same) has no test statistic:
    # NaN as for the gaussian fits (_robust.Fit.test), not numpy's divide-by-zero warning and p = 0
    zstat = np.divide(params, bse, out=np.full(params.shape, np.nan), where=bse > 0)
    pvals = 2 * stats.norm.sf(np.abs(zstat))
    table = pd.DataFrame({"term": names, "estimate": params, "se": bse, "statistic": zstat,
                          "df": np.inf, "p_value": pvals, "ci_low": params - q * bse,
                          "ci_high": params + q * bse})
    table["rate_ratio"] = np.exp(table["estimate"])
    est, se = float(params[1]), float(bse[1])
    ci = (est - q * se, est + q * se)
    alpha_nb = extra["dispersion"][0] if "dispersion" in extra else None
    model_notes.update(_model_notes(caught, family, se_type, alpha_nb, float(np.max(fit.mu))))
    return _Fit(estimand="ITT", table=table, se_type=se_type, estimate=est, se=se, p=float(pvals[1]),
                df=float("inf"), ci=ci, rate_ratio=float(np.exp(est)),
                rate_ratio_ci=(float(np.exp(ci[0])), float(np.exp(ci[1]))),
                perfect_fit=any(issubclass(w.category, PerfectSeparationWarning) for w in caught),
                model_notes=model_notes, extra=extra)


def _estimability(fit: _Fit, inp: _Inputs) -> str | None:
    """A residual-based SE with no residual variation to measure is exactly 0: not estimable (see
    :func:`_no_variation`). Sets the SE, CI and p of ``fit`` to NaN then, and returns why (else None)."""
    if fit.se_type not in _RESIDUAL_SE:
        return None
    arm = inp.d if fit.estimand == "CACE" else inp.z
    flat = _no_variation(inp.y, arm, inp.clusters, cells=(fit.estimand == "ITT" and not inp.C.shape[1]),
                         perfect_fit=fit.perfect_fit)
    if flat is not None:
        fit.table[["se", "statistic", "p_value", "ci_low", "ci_high"]] = np.nan
        fit.se = fit.p = np.nan
        fit.ci = (np.nan, np.nan)
        if fit.rate_ratio_ci is not None:
            fit.rate_ratio_ci = (np.nan, np.nan)
    return flat


def _randomisation_p(inp: _Inputs, family: str, permutations: int, seed: int, settings: dict) -> float:
    """The randomisation-inference p-value: re-randomise as the design did (within blocks, whole clusters) and
    compare the statistic (:func:`_ri_statistic`; blocked when there are blocks)."""
    z, blocks = inp.z, inp.blocks
    design = _ri_design(_WHERE, z, inp.clusters, blocks)
    log_ratio = family != "gaussian"
    if blocks is not None:
        mixed = [b for b in range(int(blocks.max()) + 1) if 0 < z[blocks == b].sum() < (blocks == b).sum()]
        if not mixed:
            raise error(_WHERE, "No block holds both arms, so randomisation inference within blocks has nothing "
                                "to compare.", got=f"{int(blocks.max()) + 1} blocks",
                        hint="Check the block column, or analyse without blocks=.")
        settings["ri_statistic"] = Setting(
            f"blocked {'log rate ratio' if log_ratio else 'difference in means'} ({len(mixed)} blocks with both "
            "arms, weighted by size)", "data", "blocks given: re-randomised within blocks, statistic averaged "
            "over blocks")
    observed = _ri_statistic(inp.y, z, log_ratio, blocks)[0]
    draws = draw_assignments(design, permutations, np.random.default_rng(seed))
    null = _ri_statistic(inp.y, draws, log_ratio, blocks)
    return float((np.sum(np.abs(null) >= abs(observed) - 1e-12) + 1) / (permutations + 1))


def _record_notes(fit: _Fit, flat: str | None, inp: _Inputs, family: str, ri_p: float | None, permutations: int,
                  settings: dict, *, quiet: bool) -> list[str]:
    """The plain-English notes (not estimable, negative variances, statsmodels warnings): announced unless quiet,
    recorded in ``settings``, returned for ``TrialResult.notes``."""
    notes: list[str] = []
    if flat is not None:
        arm = inp.d if fit.estimand == "CACE" else inp.z
        text = _not_estimable_note(flat, estimand=fit.estimand, family=family, se_type=fit.se_type, y=inp.y,
                                   arm=arm, clusters=inp.clusters, ri_p=ri_p, permutations=permutations)
        announce(text, quiet=quiet)
        settings["se_not_estimable"] = Setting({"units": "no variation within the arms",
                                                "clusters": "no variation between the clusters of an arm",
                                                "fit": "the model reproduces every "
                                                       + ("count" if family != "gaussian" else "outcome")}[flat],
                                               "data", text)
        if fit.perfect_fit and family != "gaussian":
            # the statsmodels warning behind it is explained by this note (recorded, not repeated in .notes)
            settings["warning_perfect_fit"] = Setting(_NOTE_SOURCES["warning_perfect_fit"], "data", text)
        notes.append(text)
    if fit.negative:
        text = _negative_variance_note(fit.negative, fit.se_type)
        announce(text, quiet=quiet)
        settings["variance_negative"] = Setting(fit.negative, "data", text)
        notes.append(text)
    for key, text in fit.model_notes.items():
        announce(text, quiet=quiet)
        settings[key] = Setting(_NOTE_SOURCES[key], "data", text)
        notes.append(text)
    return notes
