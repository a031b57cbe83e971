"""Funnel plots: each unit's indicator against its size, with 95% and 99.8% limits and an over-dispersion adjustment.

Method (Spiegelhalter 2005, "Handling over-dispersion of performance indicators"; as implemented in FunnelPlotR):

1. Transform each unit's indicator to a scale where its variance depends only on its size:
   * ``proportion`` (events / trials): Yᵢ = arcsin √pᵢ, sᵢ = 1 / (2√nᵢ), target arcsin √θ₀;
   * ``ratio`` (observed / expected, e.g. an indirectly standardised ratio): Yᵢ = √(Oᵢ/Eᵢ), sᵢ = 1 / (2√Eᵢ),
     target √θ₀ (θ₀ = 1 unless given) — the square-root ("CQC") transform, which copes with zero counts;
   * ``rate`` (counts / population): turned into a ratio with expected counts Eᵢ = θ₀·Nᵢ, θ₀ = ΣO / ΣN.
2. z-scores zᵢ = (Yᵢ − target) / sᵢ, winsorised at the 10th and 90th percentiles (``winsorise=0.1``).
3. Dispersion φ = mean(z²_winsorised). Additive random effect (DerSimonian–Laird style):
   τ² = max(0, (Iφ − (I − 1)) / (Σwᵢ − Σwᵢ² / Σwᵢ)), wᵢ = 1 / sᵢ²  (τ² = 0 when Iφ < I − 1).
4. Limits on the transformed scale: target ± z_α √(sᵢ² + τ²) with z = 1.960 (95%) and 3.090 (99.8%), then transformed
   back. Without over-dispersion τ² = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe, require_numeric
from whatworks.errors import error

__all__ = ["funnel", "FunnelResult", "dispersion", "Z95", "Z998"]
WHERE = "funnel"
KINDS = ("proportion", "rate", "ratio")
Z95 = stats.norm.ppf(0.975)    # two-sided 95%: 1.959964
Z998 = stats.norm.ppf(0.999)   # two-sided 99.8%: 3.090232
WINSORISE_DEFAULT = 0.1        # Spiegelhalter (2005) and FunnelPlotR: winsorise 10% at each end
KIND_DEFAULT = "proportion"
OVERDISPERSION_DEFAULT = True


def _transform(kind, num, den, theta0):
    """Transformed indicator, its standard error and the transformed target."""
    if kind == "proportion":
        y = np.arcsin(np.sqrt(num / den))
        s = 1 / (2 * np.sqrt(den))
        t = np.arcsin(np.sqrt(theta0))
    else:  # ratio scale: num observed, den expected
        y = np.sqrt(num / den)
        s = 1 / (2 * np.sqrt(den))
        t = np.sqrt(theta0)
    return y, s, t


def _back(kind, v):
    if kind == "proportion":
        v = np.clip(v, 0, np.pi / 2)
        return np.sin(v) ** 2
    return np.where(v > 0, v, 0.0) ** 2


def dispersion(z: np.ndarray, s: np.ndarray, *, winsorise: float = WINSORISE_DEFAULT) -> dict:
    """Over-dispersion factor φ and additive random-effect variance τ² from z-scores (Spiegelhalter 2005).

    Parameters
    ----------
    z : array
        Unadjusted z-scores, (Y − target) / s.
    s : array
        Standard errors on the transformed scale.
    winsorise : float, default 0.1
        Share pulled in at each end (z below the ``winsorise`` quantile set to it, above ``1 − winsorise`` likewise;
        quantiles as R's default type 7). 0 for none.

    Returns
    -------
    dict with ``phi``, ``tau2``, ``n_units``, ``p_overdispersion`` (Iφ against χ²(I − 1)), ``z_winsorised``.

    Examples
    --------
    >>> d = dispersion(np.array([-3., -1, 0, 1, 3]), np.full(5, 0.1), winsorise=0)
    >>> round(d["phi"], 3)
    4.0
    """
    z = np.asarray(z, dtype=float)
    s = np.asarray(s, dtype=float)
    n = len(z)
    if winsorise > 0:
        lo, hi = np.quantile(z, [winsorise, 1 - winsorise])
        zw = np.clip(z, lo, hi)
    else:
        zw = z
    phi = float(np.mean(zw ** 2))
    w = 1 / s ** 2
    if n * phi < n - 1:
        tau2 = 0.0
    else:
        tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    p = float(stats.chi2.sf(n * phi, n - 1)) if n > 1 else float("nan")
    return {"phi": phi, "tau2": float(tau2), "n_units": n, "p_overdispersion": p, "z_winsorised": zw}


@dataclass(frozen=True, repr=False)
class FunnelResult(Result):
    """Funnel plot.

    Attributes
    ----------
    table : DataFrame
        One row per unit: the id column (if given), ``numerator``, ``denominator``, ``indicator``, ``z`` (adjusted
        z-score), ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` (limits at the unit's size; the indicator
        and limits on the ``per`` scale, e.g. per 1,000 residents with ``per=1000``), and ``flag`` in
        {"within", "high_95", "low_95", "high_998", "low_998"} (998 = beyond the 99.8% limits).
    target : float
        Target on the indicator's scale.
    phi, tau2 : float
        Dispersion ratio and between-unit variance (0 when not over-dispersed or ``overdispersion=False``).
    id : str or None
        The id column of ``table`` (``None`` when no ``id`` was given). Called ``id_col`` before issue 17.
    """

    kind: str = "proportion"
    target: float = float("nan")
    phi: float = float("nan")
    tau2: float = 0.0
    p_overdispersion: float = float("nan")
    overdispersion: bool = True
    per: float = 1.0
    id: str | None = None

    def summary(self) -> str:
        t = self.table
        n_out = {k: int((t["flag"] == k).sum()) for k in ("high_998", "low_998", "high_95", "low_95")}
        od = (f"over-dispersion adjusted (φ = {self.phi:.2f}, τ² = {self.tau2:.3g})" if self.overdispersion and
              self.tau2 > 0 else f"no over-dispersion adjustment (φ = {self.phi:.2f})")
        parts = [f"{len(t)} units against a target of {self.target * self.per:.4g}; {od}."]
        if n_out["high_998"] + n_out["low_998"]:
            names = ""
            if self.id:
                ids = t.loc[t["flag"].isin(["high_998", "low_998"]), self.id].astype(str).head(8).tolist()
                names = " (" + ", ".join(ids) + ("…" if n_out["high_998"] + n_out["low_998"] > 8 else "") + ")"
            parts.append(f"{n_out['high_998']} above and {n_out['low_998']} below the 99.8% limits{names}: "
                         "special cause — look at these units.")
        else:
            parts.append("No unit is beyond the 99.8% limits: differences are within what chance would produce.")
        if n_out["high_95"] + n_out["low_95"]:
            parts.append(f"{n_out['high_95']} above and {n_out['low_95']} below the 95% limits only: "
                         "worth watching, not acting on alone.")
        return " ".join(parts)

    def _headline(self) -> str:
        t = self.table
        return f"{len(t)} units, {int(t['flag'].isin(['high_998', 'low_998']).sum())} beyond 99.8% limits"

    def _draw(self, ax) -> None:
        t = self.table.sort_values("denominator")
        grid = self._limit_curve(np.linspace(t["denominator"].min(), t["denominator"].max(), 200))
        for k, ls in (("95", "--"), ("998", "-")):
            ax.plot(grid["denominator"], grid[f"lower_{k}"] * self.per, color=PALETTE["grey"], ls=ls, lw=1)
            ax.plot(grid["denominator"], grid[f"upper_{k}"] * self.per, color=PALETTE["grey"], ls=ls, lw=1,
                    label=f"{'95' if k == '95' else '99.8'}% limits")
        ax.axhline(self.target * self.per, color=PALETTE["black"], lw=1)
        colours = {"within": PALETTE["sky"], "high_95": PALETTE["yellow"], "low_95": PALETTE["yellow"],
                   "high_998": PALETTE["vermillion"], "low_998": PALETTE["blue"]}
        ax.scatter(t["denominator"], t["indicator"], c=[colours[f] for f in t["flag"]], s=18, zorder=3)  # per-scaled
        ax.set_xlabel("denominator (unit size)")
        ax.set_ylabel(f"{self.kind}" + (f" per {self.per:g}" if self.per != 1 else ""))
        ax.legend(frameon=False, fontsize=8)

    def _limit_curve(self, den):
        den = np.asarray(den, dtype=float)
        if self.kind == "rate":
            exp_den = self.target * den
            theta = 1.0
        else:
            exp_den = den
            theta = self.target
        _, s, tt = _transform("proportion" if self.kind == "proportion" else "ratio", np.ones_like(den), exp_den, theta)
        out = {"denominator": den}
        for k, z in (("95", Z95), ("998", Z998)):
            half = z * np.sqrt(s ** 2 + (self.tau2 if self.overdispersion else 0.0))
            lo, hi = _back(self.kind, tt - half), _back(self.kind, tt + half)
            if self.kind == "rate":
                lo, hi = lo * self.target, hi * self.target
            out[f"lower_{k}"], out[f"upper_{k}"] = lo, hi
        return pd.DataFrame(out)


def funnel(df: pd.DataFrame, numerator: str, denominator: str, *, kind: str | None = None,
           overdispersion: bool | None = None, target: float | None = None, id: str | None = None,
           winsorise: float | None = None, per: float = 1.0, quiet: bool = False) -> FunnelResult:
    """Funnel plot with 95% and 99.8% limits and Spiegelhalter's over-dispersion adjustment.

    Parameters
    ----------
    df : DataFrame
        One row per unit (area, team, force).
    numerator, denominator : str
        Columns. ``proportion``: events and trials (e.g. solved crimes and crimes). ``rate``: counts and population
        (or any exposure). ``ratio``: observed and expected counts.
    kind : {"proportion", "rate", "ratio"}, optional
        ``None`` (not given) means "proportion".
    overdispersion : bool, optional
        Widen the limits by an additive random effect τ² estimated from winsorised z-scores. ``None`` (not given)
        means True.
    target : float, optional
        The benchmark on the indicator's scale. ``None``: the pooled value ΣO/ΣN (proportion, rate) or 1 (ratio);
        announced and recorded.
    id : str, optional
        Column naming each unit, kept in ``.table`` and named in ``summary()``.
    winsorise : float, optional
        Share of z-scores pulled in at each end before estimating φ (0 ≤ winsorise < 0.5). ``None`` (not given) means
        0.1. ``kind``, ``overdispersion`` and ``winsorise`` are recorded in ``.settings`` with source "user" when you
        pass them — even the default value — and "default" when you leave them out.
    per : float, default 1
        Scale of the indicator (e.g. 1000 for rates per 1,000 residents). ``indicator`` and the four limit columns
        of ``.table``, the chart, ``summary()`` and the ``target`` in ``.settings`` are all on this scale (so the
        table reads as the chart does); ``numerator`` and ``denominator`` stay as given, and ``.target`` holds the
        target on the raw scale (numerator per unit of denominator).
    quiet : bool, default False

    Returns
    -------
    FunnelResult

    Notes
    -----
    See the module docstring for the formulas. Limits use the normal approximation on the variance-stabilised
    scale (arcsine for proportions, square root for counts), as FunnelPlotR does when adjusting for over-dispersion;
    without the adjustment the same formula is used with τ² = 0 (FunnelPlotR would use exact Poisson limits for
    ratios; the two agree closely once expected counts exceed about 10).

    References
    ----------
    Spiegelhalter D.J. (2005) Funnel plots for comparing institutional performance. Stat Med 24:1185–1202.
    Spiegelhalter D.J. (2005) Handling over-dispersion of performance indicators. Qual Saf Health Care 14:347–351.
    FunnelPlotR (R package, NHS-R Community).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"area": list("ABCDEFGH"), "solved": [30, 45, 12, 80, 25, 60, 10, 40],
    ...                   "crimes": [300, 400, 150, 600, 260, 500, 200, 390]})
    >>> r = funnel(d, "solved", "crimes", id="area", quiet=True)
    >>> sorted(r.table.columns)[:3]
    ['area', 'crimes', 'denominator']
    """
    df = require_dataframe(WHERE, "df", df)
    if kind is not None:
        check_choice(WHERE, "kind", kind, KINDS)
    if overdispersion is not None and not isinstance(overdispersion, bool):
        raise error(WHERE, "The 'overdispersion' parameter must be True or False.", got=overdispersion)
    if winsorise is not None:
        check_number(WHERE, "winsorise", winsorise, low=0, high=0.5, high_inclusive=False)
    settings: dict[str, Setting] = {}
    # None = not given: an explicit kind="proportion", overdispersion=True or winsorise=0.1 is still the user's
    kind = given_or_default(settings, "kind", kind, KIND_DEFAULT, reason="kind of indicator")
    overdispersion = given_or_default(settings, "overdispersion", overdispersion, OVERDISPERSION_DEFAULT,
                                      reason="limits widened by the between-unit variance τ²")
    winsorise = given_or_default(settings, "winsorise", winsorise, WINSORISE_DEFAULT,
                                 reason="share winsorised at each end before estimating φ")
    check_number(WHERE, "per", per, low=0, low_inclusive=False)
    require_columns(WHERE, df, [numerator, denominator, id], arg="df")
    if len(df) < 2:
        raise error(WHERE, "A funnel plot needs at least 2 units.", got=len(df))
    num = require_numeric(WHERE, df, numerator)
    den = require_numeric(WHERE, df, denominator)
    for col, arr in ((numerator, num), (denominator, den)):
        if not np.isfinite(arr).all():
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise error(WHERE, f"Column '{col}' must hold finite numbers.", got=arr[i], row=f"position {i}")
    bad = (den <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(WHERE, f"Column '{denominator}' must be positive.", got=den[i], row=f"position {i}",
                    hint="Drop units with no population/cases before plotting.")
    if (num < 0).any():
        i = int(np.flatnonzero(num < 0)[0])
        raise error(WHERE, f"Column '{numerator}' must not be negative.", got=num[i], row=f"position {i}")
    if kind == "proportion" and (num > den).any():
        i = int(np.flatnonzero(num > den)[0])
        raise error(WHERE, f"For a proportion, '{numerator}' cannot exceed '{denominator}'.",
                    got=(num[i], den[i]), row=f"position {i}", hint="Use kind='rate' for counts per population.")

    if target is None:
        if kind == "ratio":
            target, reason = 1.0, "observed = expected"
        else:
            target, reason = float(num.sum() / den.sum()), "pooled value across all units (Σ numerator / Σ denominator)"
            if kind == "rate" and target == 0:
                # expected counts would all be 0, so every standard error and z-score is undefined
                raise error(WHERE, f"Column '{numerator}' is 0 for every unit, so there is no pooled rate to compare "
                            "units against.", got="a pooled rate of 0",
                            hint="Check the filter that produced the counts, or give a target= rate.")
        settings["target"] = Setting(target * per, "data" if kind != "ratio" else "default", reason,
                                     f"per {per:g}" if per != 1 else None)
        announce(f"target set to {target * per:.4g}{' per ' + format(per, 'g') if per != 1 else ''} ({reason}).",
                 quiet=quiet)
    else:
        check_number(WHERE, "target", target, low=0, low_inclusive=False)
        if kind == "proportion" and not 0 < target < 1:
            raise error(WHERE, "For a proportion the 'target' must lie strictly between 0 and 1.", got=target)
        settings["target"] = Setting(target * per, "user", "given by the caller (raw scale; shown per "
                                     f"{per:g})" if per != 1 else "given by the caller", f"per {per:g}" if per != 1 else None)

    if kind == "rate":
        expected = target * den
        y, s, t = _transform("ratio", num, expected, 1.0)
    else:
        y, s, t = _transform(kind, num, den, target)
    z0 = (y - t) / s
    disp = dispersion(z0, s, winsorise=winsorise)
    tau2 = disp["tau2"] if overdispersion else 0.0
    z = (y - t) / np.sqrt(s ** 2 + tau2)

    table = df[[id]].reset_index(drop=True).copy() if id else pd.DataFrame(index=range(len(df)))
    table[numerator] = num
    table[denominator] = den
    table["numerator"] = num
    table["denominator"] = den
    table["indicator"] = num / den * per      # on the per scale, as the chart shows it
    if per != 1:
        table[f"indicator_per_{per:g}"] = num / den * per   # kept for earlier callers: the same as indicator
    table["z"] = z
    table["z_unadjusted"] = z0
    res = FunnelResult(table=table, settings=settings, kind=kind, target=float(target), phi=disp["phi"], tau2=tau2,
                       p_overdispersion=disp["p_overdispersion"], overdispersion=overdispersion, per=per, id=id)
    lim = res._limit_curve(den)
    for k in ("lower_95", "upper_95", "lower_998", "upper_998"):
        table[k] = lim[k].to_numpy() * per
    ind = table["indicator"].to_numpy()
    flag = np.full(len(table), "within", dtype=object)
    flag[ind > table["upper_95"].to_numpy()] = "high_95"
    flag[ind < table["lower_95"].to_numpy()] = "low_95"
    flag[ind > table["upper_998"].to_numpy()] = "high_998"
    flag[ind < table["lower_998"].to_numpy()] = "low_998"
    table["flag"] = flag
    settings["per"] = Setting(per, "user" if per != 1 else "default", "scale of the indicator, limits and target")
    settings["phi"] = Setting(round(disp["phi"], 6), "data", "dispersion ratio from winsorised z-scores")
    settings["tau2"] = Setting(tau2, "data", "additive between-unit variance on the transformed scale"
                               if overdispersion else "over-dispersion adjustment switched off")
    return res
