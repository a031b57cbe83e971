"""Limits of the charts for counts and proportions (c, u, p and Laney's p′ and u′), many segments at once.

Formulas as qicharts2 (R, Anhøj; ``R/helper.functions.R`` ``qic.c``, ``qic.u``, ``qic.p``, ``qic.pp``, ``qic.up``),
computed per segment over its baseline points:

- c chart (counts, equal opportunity):   c̄ = mean(yᵢ);          σᵢ = √c̄
- u chart (rates, yᵢ events in nᵢ units): ū = Σyᵢ / Σnᵢ;       σᵢ = √(ū / nᵢ)
- p chart (proportions, yᵢ of nᵢ):        p̄ = Σyᵢ / Σnᵢ;       σᵢ = √(p̄(1 − p̄) / nᵢ)
- Laney p′ / u′ (over-dispersed, large nᵢ): zᵢ = (yᵢ/nᵢ − centre)/σᵢ on the baseline, σ_z = mean|zᵢ − zᵢ₋₁| / 1.128,
  σᵢ′ = σᵢ·σ_z.

Limits = centre ± 3σᵢ; a lower limit below 0 is set to 0 and (p, p′) an upper limit above 1 to 1. The "2σ" lines the
Making Data Count two-in-three rule needs are centre ± 2σᵢ, clipped the same way (qicharts2 draws no 2σ lines).

References: Montgomery D.C., "Introduction to Statistical Quality Control" (7th ed., 2013), ch. 7; Laney D.B.,
"Improved control charts for attributes", Quality Engineering 14(4), 2002; qicharts2 0.7 (R package).
"""

from __future__ import annotations

import numpy as np

__all__ = ["attribute_limits", "dispersion_test", "CHARTS", "ATTRIBUTE_CHARTS", "D2"]

D2 = 1.128                                   # d2 for moving ranges of 2 points (Laney's σ_z, as qicharts2)
SIGMA = 3
ATTRIBUTE_CHARTS = ("c", "u", "p", "u_prime", "p_prime")
CHARTS = ("xmr", *ATTRIBUTE_CHARTS, "auto")


def _segment_sums(v, segment, in_base, k):
    return np.bincount(segment, weights=np.where(in_base, v, 0.0), minlength=k)


def attribute_limits(chart: str, y: np.ndarray, n: np.ndarray | None, segment: np.ndarray,
                     in_baseline: np.ndarray) -> dict[str, np.ndarray]:
    """Centre, σ per point and limits of a c, u, p, u′ or p′ chart, per segment.

    Parameters
    ----------
    chart : {"c", "u", "p", "u_prime", "p_prime"}
    y : array of float
        Counts (numerators), sorted by segment then date.
    n : array of float or None
        Denominators (subgroup sizes); ignored by the c chart.
    segment : array of int
        Segment code per point (non-decreasing, 0..k-1).
    in_baseline : array of bool
        Points the centre (and σ_z) are computed from.

    Returns
    -------
    dict of arrays, one per point: ``value`` (what is charted: y for c, y/n otherwise), ``mean`` (centre), ``sigma``,
    ``lpl``, ``upl``, ``lower_2sigma``, ``upper_2sigma``, ``sigma_z`` (1 for c, u, p).

    Examples
    --------
    >>> lim = attribute_limits("c", np.array([4., 6, 5, 5]), None, np.zeros(4, int), np.ones(4, bool))
    >>> float(lim["mean"][0]), round(float(lim["upl"][0]), 4)
    (5.0, 11.7082)
    """
    y = np.asarray(y, dtype=float)
    m = len(y)
    segment = np.asarray(segment)
    in_b = np.asarray(in_baseline, dtype=bool)
    k = int(segment.max()) + 1 if m else 0
    nb = _segment_sums(np.ones(m), segment, in_b, k)
    if chart == "c":
        value = y
        centre = (_segment_sums(y, segment, in_b, k) / nb)[segment]
        sigma = np.sqrt(centre)
    else:
        n = np.asarray(n, dtype=float)
        value = y / n
        centre = (_segment_sums(y, segment, in_b, k) / _segment_sums(n, segment, in_b, k))[segment]
        if chart in ("u", "u_prime"):
            sigma = np.sqrt(centre / n)
        else:
            sigma = np.sqrt(centre * (1 - centre) / n)
    sigma_z = np.ones(m)
    if chart in ("u_prime", "p_prime"):
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (value - centre) / sigma
        start = np.r_[True, segment[1:] != segment[:-1]] if m else np.zeros(0, bool)
        dz = np.full(m, np.nan)
        dz[1:] = np.abs(z[1:] - z[:-1])
        ok = ~start & in_b & np.r_[False, in_b[:-1]] & np.isfinite(dz)
        cnt = np.bincount(segment, weights=ok, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            sz = np.bincount(segment, weights=np.where(ok, dz, 0.0), minlength=k) / cnt / D2
        sigma_z = sz[segment]
        sigma = sigma * sigma_z
    lo, hi = centre - SIGMA * sigma, centre + SIGMA * sigma
    lo2, hi2 = centre - 2 * sigma, centre + 2 * sigma
    lo, lo2 = np.maximum(lo, 0.0), np.maximum(lo2, 0.0)
    if chart in ("p", "p_prime"):
        hi, hi2 = np.minimum(hi, 1.0), np.minimum(hi2, 1.0)
    return {"value": value, "mean": centre, "sigma": sigma, "lpl": lo, "upl": hi, "lower_2sigma": lo2,
            "upper_2sigma": hi2, "sigma_z": sigma_z}


def dispersion_test(chart: str, y, n, segment, in_baseline) -> tuple[np.ndarray, np.ndarray]:
    """Pearson χ² test of over-dispersion per segment against the chart's own (Poisson or binomial) variance.

    Returns ``(dispersion, p_value)`` per segment: dispersion = χ²/(m − 1), m the baseline points; p_value =
    P(χ²_{m−1} ≥ χ²). A small p-value means the points vary more than the c/u/p limits allow (use p′/u′, or XmR).
    """
    from scipy import stats

    lim = attribute_limits(chart, y, n, segment, in_baseline)
    segment = np.asarray(segment)
    in_b = np.asarray(in_baseline, dtype=bool)
    k = int(segment.max()) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        z2 = ((lim["value"] - lim["mean"]) / np.where(lim["sigma"] > 0, lim["sigma"], np.nan)) ** 2
    good = in_b & np.isfinite(z2)
    chi2 = np.bincount(segment, weights=np.where(good, z2, 0.0), minlength=k)
    df = np.bincount(segment, weights=good, minlength=k) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        disp = chi2 / np.where(df > 0, df, np.nan)
    p = np.where(df > 0, stats.chi2.sf(chi2, np.maximum(df, 1)), np.nan)
    return disp, p
