"""Interrupted time series: segmented regression with level and slope change (issue 14, item 3).

Model (Bernal, Cummins & Gasparrini 2017; Wagner et al. 2002), for periods t = 0, 1, … and intervention at period t₀::

    g(E[yₜ]) = β₀ + β₁·t + β₂·postₜ + β₃·(t − t₀)·postₜ + Σ γₘ·[month(t) = m] + log(exposureₜ)

with g the identity (``gaussian``) or log (``poisson``, ``negbin``); month-of-year terms (January the reference) only
when the series is seasonal. β₂ is the level change at the intervention, β₃ the change in slope per period. The
counterfactual is the fitted series with β₂ = β₃ = 0. Effects reported: level and slope change; the rate ratio at the
intervention (exp β₂, count families); the post-period rate ratio Σfitted / Σcounterfactual; crimes prevented
Σ(counterfactual − fitted) over the post period — each with a delta-method CI from the coefficient covariance.

Standard errors (``se=``). ``"model"``: the family's own covariance — OLS; Poisson, scaled by the Pearson dispersion
χ²/df when that exceeds one (quasi-Poisson: real crime counts are often over-dispersed), never scaled down below
Poisson's own (an estimated dispersion under one on 20 residual df is mostly noise: on the synthetic force's Poisson
series the unfloored quasi-Poisson interval covered in 89.5% of 86 seeds, floored 95.3%); negative binomial by maximum
likelihood. ``"hac"``: Newey–West with the small-sample factor n/(n − k)
(statsmodels ``use_correction``). ``"auto"`` (default): a Breusch–Godfrey test of the Pearson residuals of the
model-based fit for autocorrelation up to the Newey–West lag; Newey–West when it finds some (p < 0.05), model-based
otherwise; the choice and its p-value are announced. Why not Newey–West always: on a 36-month series with month-of-year
terms (16 coefficients, 20 residual degrees of freedom) its SEs are far too small — on the synthetic force's vehicle
crime (independent Poisson months) 95% intervals covered the true step in 70% of 200 seeds, model-based in 93.5%
(benchmarks/impact_coverage.py; Turner et al. 2021, BMC Med Res Methodol 21:181, find the same for short series).
Intervals and p-values use Student's t on the residual degrees of freedom whenever a scale is estimated (gaussian,
quasi-Poisson, Newey–West), the normal otherwise (Poisson not over-dispersed, negative binomial, model-based).

``seasonality="auto"`` includes month-of-year terms when they improve the fit at p < 0.05 (F test for gaussian,
likelihood-ratio test for counts) and the series has at least 24 periods; the choice is announced.

``selected_on=k`` is the regression-to-the-mean guard: the k periods just before the intervention were the reason the
series was chosen (a spike), so they are left out of the fit and the counterfactual comes from the longer history;
the result reports how far those periods lay above it (the fall expected anyway).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error
from whatworks.impact._design import DesignRecord

WHERE = "its"
FAMILIES = ("gaussian", "poisson", "negbin")
MIN_SEASONAL_PERIODS = 24
SEASONAL_P = 0.05
MIN_SEGMENT = 3
SE_CHOICES = ("auto", "hac", "model")
AUTOCORRELATION_P = 0.05


def choose_maxlags(n: int) -> tuple[int, str]:
    """Newey & West (1994) rule of thumb: floor(4·(n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100) ** (2 / 9))), f"Newey–West rule floor(4·(n/100)^(2/9)) for n = {n}"


def _frequency(dates: pd.Series) -> str:
    diffs = dates.diff().iloc[1:].dt.days.to_numpy()
    for name, ok in (("month", (diffs >= 28) & (diffs <= 31)), ("week", diffs == 7)):
        if ok.all():
            return name
    ok = ((diffs >= 28) & (diffs <= 31)) if np.median(diffs) > 7 else diffs == 7
    bad = int(np.flatnonzero(~ok)[0]) + 1
    raise error(WHERE, "The series must be monthly or weekly with no gaps.", got=f"a step of {int(diffs[bad - 1])} days",
                row=f"position {bad} ({dates.iloc[bad].date()})",
                hint="A missing period is not zero: fill genuine zeros, or restrict to a run of covered periods.")


def build_design(dates: pd.Series, intervention: pd.Timestamp, seasonal: bool) -> pd.DataFrame:
    """The segmented-regression design: const, time, post, time_since, month_2 … month_12."""
    n = len(dates)
    t = np.arange(n, dtype=float)
    post = (dates >= intervention).to_numpy().astype(float)
    t0 = int(np.argmax(post))
    X = pd.DataFrame({"const": 1.0, "time": t, "post": post, "time_since": (t - t0) * post})
    if seasonal:
        months = dates.dt.month.to_numpy()
        for m in range(2, 13):
            X[f"month_{m}"] = (months == m).astype(float)
        X = X.loc[:, (X != 0).any(axis=0)]
    return X


def _fit(y, X, family, offset, se, maxlags):
    """se: "hac" (Newey–West, small-sample corrected), "model" (quasi-Poisson for poisson) or "ml" (the plain maximum-
    likelihood fit, for the likelihood-ratio test of seasonality)."""
    import statsmodels.api as sm

    cov = dict(cov_type="HAC", cov_kwds={"maxlags": maxlags, "use_correction": True}) if se == "hac" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "gaussian":
            return sm.OLS(y, X).fit(**cov)
        if family == "poisson":
            res = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(**cov)
            if se == "model":  # quasi-Poisson when over-dispersed; never narrower than Poisson's own SEs
                disp = float(res.pearson_chi2 / res.df_resid)
                if disp > 1:
                    res = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale=disp)
            return res
        res = sm.NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(disp=0, maxiter=200, **cov)
        return res


def _autocorrelation_p(fit, X, lags: int) -> float:
    """Breusch–Godfrey test p-value (F form) for autocorrelation up to ``lags`` in the Pearson residuals of ``fit``
    (statsmodels' test, run on the auxiliary OLS of those residuals on the design). The F form, not n·R²: on the
    synthetic force's 36-month series the LM form chose Newey–West for 31% of 80 independent Poisson series."""
    import statsmodels.api as sm
    from statsmodels.stats.diagnostic import acorr_breusch_godfrey

    r = np.asarray(fit.resid_pearson if hasattr(fit, "resid_pearson") else fit.resid, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aux = sm.OLS(r, np.asarray(X, float)).fit()
        return float(acorr_breusch_godfrey(aux, nlags=lags)[3])  # the F form: the LM form over-rejects on short series


@dataclass(frozen=True, repr=False)
class ITSResult(Result):
    """Interrupted time series. ``.table``: one row per period (date, observed, fitted, counterfactual, post,
    used_in_fit); ``.effects``: level_change, slope_change, rate_ratio, post_period_rate_ratio, crimes_prevented."""

    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    family: str = "gaussian"
    design: DesignRecord = field(default_factory=lambda: DesignRecord("interrupted time series", {}))
    params: pd.Series = field(default_factory=pd.Series)
    bse: pd.Series = field(default_factory=pd.Series)
    rtm_expected_fall: float | None = None

    def effect(self, term: str) -> pd.Series:
        return self.effects.set_index("term").loc[term]

    def summary(self) -> str:
        e = self.effects.set_index("term")
        lvl = self.settings["conf_level"].value
        p = e.loc["crimes_prevented"]
        rr = e.loc["post_period_rate_ratio"]
        txt = (f"Interrupted time series ({self.family}): over the post-intervention period the series ran at "
               f"{rr.estimate:.2f} times its counterfactual ({lvl:.0%} CI {rr.ci_low:.2f} to {rr.ci_high:.2f}); "
               f"{p.estimate:,.0f} fewer than expected ({p.ci_low:,.0f} to {p.ci_high:,.0f}).")
        if rr.ci_low <= 1 <= rr.ci_high:
            txt += " The interval includes no change."
        if self.rtm_expected_fall is not None:
            txt += (f" The periods the series was selected on ran {self.rtm_expected_fall:,.3g} a period above the trend; "
                    f"they were left out of the fit, so this effect is net of regression to the mean.")
        return txt

    def _headline(self) -> str:
        rr = self.effects.set_index("term").loc["post_period_rate_ratio"]
        return f"post-period rate ratio {rr.estimate:.3g}"

    def _draw(self, ax) -> None:
        tab = self.table
        ax.plot(tab["date"], tab["observed"], "o", ms=3, color=PALETTE["grey"], label="observed")
        ax.plot(tab["date"], tab["fitted"], color=PALETTE["blue"], label="fitted")
        post = tab["post"]
        ax.plot(tab["date"][post], tab["counterfactual"][post], "--", color=PALETTE["orange"], label="counterfactual")
        ax.axvline(tab["date"][post].iloc[0], color=PALETTE["black"], lw=0.8)
        ax.set_ylabel("count per period")
        ax.set_title("Interrupted time series")
        ax.legend(frameon=False)


def its(df: pd.DataFrame, date: str, value: str, intervention, *, family: str = "gaussian", seasonality="auto",
        exposure: str | None = None, se: str = "auto", maxlags: int | None = None, selected_on: int | None = None,
        conf_level: float | None = None, quiet: bool = False) -> ITSResult:
    """Segmented regression of a monthly or weekly series around an intervention.

    Parameters
    ----------
    df : DataFrame
        One row per period, no gaps (a missing month is missing, not zero).
    date, value : str
        Period column (dates or ``YYYY-MM``) and the outcome (a count for poisson/negbin).
    intervention : date-like
        First period under the intervention.
    family : {"gaussian", "poisson", "negbin"}
    seasonality : "auto", True or False
        Month-of-year terms; "auto" tests for them (see module notes) and announces the result.
    exposure : str, optional
        Column of population or exposure for count families (enters as a log offset).
    se : {"auto", "hac", "model"}
        Standard errors (see module notes): "auto" tests the residuals for autocorrelation and uses Newey–West when
        there is some, model-based otherwise (announced); "hac" Newey–West always; "model" model-based always.
    maxlags : int, optional
        Newey–West lags (also the lags of the "auto" test). None: the Newey–West rule (announced, in periods).
    selected_on : int, optional
        Periods just before the intervention on which the series was selected (regression-to-the-mean guard).
    conf_level : float, default 0.95
    quiet : bool

    Returns
    -------
    ITSResult
    """
    require_dataframe(WHERE, "df", df)
    check_choice(WHERE, "family", family, FAMILIES)
    check_choice(WHERE, "se", se, SE_CHOICES)
    check_choice(WHERE, "seasonality", seasonality, ("auto", True, False))
    require_columns(WHERE, df, [date, value, exposure], arg="df")
    settings: dict[str, Setting] = {}
    conf_level = given_or_default(settings, "conf_level", conf_level, 0.95, reason="confidence level of intervals")
    check_number(WHERE, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    y_all = require_numeric(WHERE, df, value)
    d = df.assign(_date=pd.to_datetime(df[date].astype(str) if df[date].dtype == object else df[date]))
    if d["_date"].duplicated().any():
        first = int(np.flatnonzero(d["_date"].duplicated(keep=False).to_numpy())[0])
        raise error(WHERE, "Each period must appear once.", got=d[date].iloc[first], row=f"position {first}",
                    hint="Aggregate the series to one row per period first.")
    order = np.argsort(d["_date"].to_numpy(), kind="stable")
    d = d.iloc[order].reset_index(drop=True)
    y = y_all[order]
    freq = _frequency(d["_date"])
    settings["frequency"] = Setting(freq, "data", "from the spacing of the dates")
    start = pd.Timestamp(intervention)
    post = (d["_date"] >= start).to_numpy()
    n_pre, n_post = int((~post).sum()), int(post.sum())
    if n_pre < MIN_SEGMENT or n_post < MIN_SEGMENT:
        raise error(WHERE, f"Need at least {MIN_SEGMENT} periods before and after the intervention.",
                    got=f"{n_pre} before, {n_post} after", hint="Check the intervention date, or use a longer series.")
    if family != "gaussian" and ((y < 0).any() or (y != np.round(y)).any()):
        first = int(np.flatnonzero((y < 0) | (y != np.round(y)))[0])
        raise error(WHERE, f"The {family} family needs whole non-negative counts.", got=y[first], row=f"position {first}",
                    hint="Use family='gaussian' for rates or means.")
    offset = None
    if exposure is not None:
        if family == "gaussian":
            raise error(WHERE, "Exposure offsets apply to counts.", got="family='gaussian'",
                        hint="Use family='poisson' or 'negbin' with exposure=, or divide the value by the exposure yourself.")
        ex = require_numeric(WHERE, df, exposure)[order]
        if (ex <= 0).any():
            first = int(np.flatnonzero(ex <= 0)[0])
            raise error(WHERE, f"Exposure '{exposure}' must be positive.", got=ex[first], row=f"position {first}")
        offset = np.log(ex)
    n = len(y)
    # regression-to-the-mean guard: leave the selection window out of the fit
    use = np.ones(n, bool)
    if selected_on is not None:
        check_number(WHERE, "selected_on", selected_on, low=1, integer=True)
        if n_pre - selected_on < MIN_SEGMENT:
            raise error(WHERE, f"After leaving out the {selected_on} selection periods fewer than {MIN_SEGMENT} pre-periods remain.",
                        got=f"{n_pre} pre-periods", hint="Use a longer history before the selection window.")
        use[n_pre - selected_on:n_pre] = False
        settings["selected_on"] = Setting(int(selected_on), "user", "periods the series was selected on, left out of the fit", "periods")
        announce(f"regression to the mean: the {selected_on} periods before the intervention (the selection window) are left "
                 f"out of the fit; the counterfactual comes from the earlier history.", quiet=quiet)
    if se != "model":
        if maxlags is None:
            lag, why = choose_maxlags(int(use.sum()))
            lag = max(lag, 1)
            announce(f"Newey–West lags set to {lag} periods ({why}).", quiet=quiet)
            settings["maxlags"] = Setting(lag, "data", why, "periods")
            maxlags = lag
        else:
            check_number(WHERE, "maxlags", maxlags, low=0, integer=True)
            settings["maxlags"] = Setting(int(maxlags), "user", "Newey–West lags", "periods")
    else:
        maxlags = None
    settings["family"] = Setting(family, "user" if family != "gaussian" else "default", "outcome model")

    # seasonality
    if seasonality == "auto":
        if use.sum() < MIN_SEASONAL_PERIODS:
            seasonal, why = False, f"fewer than {MIN_SEASONAL_PERIODS} periods: too short to test month-of-year terms"
        else:
            Xs = build_design(d["_date"], start, True)[use]
            Xn = build_design(d["_date"], start, False)[use]
            off = None if offset is None else offset[use]
            f1 = _fit(y[use], Xs, family, off, "ml", None)
            f0 = _fit(y[use], Xn, family, off, "ml", None)
            df_diff = Xs.shape[1] - Xn.shape[1]
            if family == "gaussian":
                F = ((f0.ssr - f1.ssr) / df_diff) / (f1.ssr / f1.df_resid)
                pval = float(stats.f.sf(F, df_diff, f1.df_resid))
                test = f"F test p = {pval:.3g}"
            else:
                lr = 2 * (f1.llf - f0.llf)
                pval = float(stats.chi2.sf(lr, df_diff))
                test = f"likelihood-ratio test p = {pval:.3g}"
            seasonal = pval < SEASONAL_P
            why = f"month-of-year terms {'improve' if seasonal else 'do not improve'} the fit ({test})"
        announce(f"seasonality set to {seasonal} ({why}).", quiet=quiet)
        settings["seasonality"] = Setting(seasonal, "data", why)
    else:
        seasonal = bool(seasonality)
        settings["seasonality"] = Setting(seasonal, "user", "month-of-year terms")
    X = build_design(d["_date"], start, seasonal)
    off_use = None if offset is None else offset[use]
    if se == "auto":
        model_fit = _fit(y[use], X[use], family, off_use, "model", None)
        lags = max(int(maxlags), 1)
        p_ac = _autocorrelation_p(model_fit, X[use], lags)
        chosen = "hac" if p_ac < AUTOCORRELATION_P else "model"
        why = (f"Breusch–Godfrey test of the residuals for autocorrelation up to lag {lags}: p = {p_ac:.3g}, "
               + ("so Newey–West" if chosen == "hac" else "none found, so model-based"))
        announce(f"standard errors set to {'Newey–West' if chosen == 'hac' else 'model-based'} ({why}).", quiet=quiet)
        settings["se"] = Setting(chosen, "data", why)
        fit = model_fit if chosen == "model" else _fit(y[use], X[use], family, off_use, "hac", maxlags)
        se = chosen
    else:
        settings["se"] = Setting(se, "user", "Newey–West, small-sample corrected" if se == "hac" else "model-based")
        fit = _fit(y[use], X[use], family, off_use, se, maxlags)
    scaled = False
    if family == "poisson" and se == "model":
        disp = float(fit.pearson_chi2 / fit.df_resid)
        scaled = disp > 1
        settings["dispersion"] = Setting(disp, "data", "Pearson χ² / residual df: "
                                         + ("over-dispersed, SEs scaled by its square root (quasi-Poisson)" if scaled
                                            else "not over-dispersed, Poisson SEs (not scaled down)"))
    df_resid = float(fit.df_resid)
    use_t = family == "gaussian" or se == "hac" or scaled
    ref = stats.t(df_resid) if use_t else stats.norm()
    settings["reference_distribution"] = Setting(f"t({df_resid:g})" if use_t else "normal", "data",
                                                 "Student's t on the residual df (a scale is estimated)" if use_t
                                                 else "normal (maximum likelihood)")
    names = list(X.columns)
    beta = np.asarray(fit.params)[: len(names)]
    V = np.asarray(fit.cov_params())[: len(names), : len(names)]
    Xa = X.to_numpy()
    Xcf = Xa.copy()
    Xcf[:, names.index("post")] = 0
    Xcf[:, names.index("time_since")] = 0
    off = np.zeros(n) if offset is None else offset
    link_log = family != "gaussian"
    eta, eta_cf = Xa @ beta + off, Xcf @ beta + off
    fitted = np.exp(eta) if link_log else eta
    cf = np.exp(eta_cf) if link_log else eta_cf
    # gradients of fitted and counterfactual sums over the post period
    P = post
    g_fit = (fitted[P, None] * Xa[P]).sum(0) if link_log else Xa[P].sum(0)
    g_cf = (cf[P, None] * Xcf[P]).sum(0) if link_log else Xcf[P].sum(0)
    S_fit, S_cf = fitted[P].sum(), cf[P].sum()
    z = float(ref.ppf(0.5 + conf_level / 2))
    rows = []

    def add(term, est, se_, scale="identity"):
        if scale == "log":  # est is on the log scale; report exp
            lo, hi = math.exp(est - z * se_), math.exp(est + z * se_)
            p = 2 * float(ref.sf(abs(est / se_))) if se_ > 0 else float("nan")
            rows.append({"term": term, "estimate": math.exp(est), "se": math.exp(est) * se_, "ci_low": lo, "ci_high": hi, "p_value": p})
        else:
            p = 2 * float(ref.sf(abs(est / se_))) if se_ > 0 else float("nan")
            rows.append({"term": term, "estimate": est, "se": se_, "ci_low": est - z * se_, "ci_high": est + z * se_, "p_value": p})

    ip, it_ = names.index("post"), names.index("time_since")
    add("level_change", beta[ip], math.sqrt(V[ip, ip]))
    add("slope_change", beta[it_], math.sqrt(V[it_, it_]))
    if link_log:
        add("rate_ratio", beta[ip], math.sqrt(V[ip, ip]), "log")
    else:
        lvl_cf = cf[P][0]
        g = Xa[P][0] / fitted[P][0] - Xcf[P][0] / lvl_cf  # gradient of log(fitted / counterfactual) at t0
        add("rate_ratio", math.log(fitted[P][0] / lvl_cf), math.sqrt(g @ V @ g), "log")
    g_lrr = g_fit / S_fit - g_cf / S_cf
    add("post_period_rate_ratio", math.log(S_fit / S_cf), math.sqrt(g_lrr @ V @ g_lrr), "log")
    g_prev = g_cf - g_fit
    add("crimes_prevented", S_cf - S_fit, math.sqrt(g_prev @ V @ g_prev))
    effects = pd.DataFrame(rows)
    rtm_fall = None
    if selected_on is not None:
        win = ~use
        rtm_fall = float((y[win] - cf[win]).mean())
        effects = pd.concat([effects, pd.DataFrame([{"term": "rtm_expected_fall_per_period", "estimate": rtm_fall, "se": float("nan"),
                                                     "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan")}])],
                            ignore_index=True)
    table = pd.DataFrame({"date": d["_date"], "observed": y, "fitted": fitted, "counterfactual": cf, "post": post,
                          "used_in_fit": use})
    checks = {"pre_periods_at_least_8": n_pre >= 8, "post_periods_at_least_8": n_post >= 8,
              "seasonality_handled": bool(seasonal) or settings["seasonality"].source == "data"}
    if selected_on is not None:
        checks["regression_to_the_mean_netted"] = True
    design = DesignRecord("interrupted time series", checks, (f"{n_pre} pre and {n_post} post {freq}s",))
    return ITSResult(table=table, settings=settings, effects=effects, family=family, design=design,
                     params=pd.Series(beta, index=names), bse=pd.Series(np.sqrt(np.diag(V)), index=names),
                     rtm_expected_fall=rtm_fall)


__all__ = ["its", "ITSResult", "build_design", "choose_maxlags"]
