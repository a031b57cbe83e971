"""Small pure helpers shared by the people analyses: dates, concentration curves, confidence intervals, pseudonyms."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, given_or_default
from whatworks._dates import read_dates
from whatworks._validate import check_number
from whatworks.errors import error

DEFAULT_TOP = (0.01, 0.05, 0.10, 0.20)   # shares of units reported in "top x% account for y%" tables
DEFAULT_BOOT = 1000                      # bootstrap replicates for concentration CIs
DEFAULT_SEED = 0                         # bootstrap seed when none is given (results are reproducible either way)
DEFAULT_CONF_LEVEL = 0.95                # confidence level of every interval
Z95 = float(stats.norm.ppf(0.975))


def ci_words(settings: Any) -> str:
    """"95% CI" — the interval's name in summaries, from ``settings["conf_level"]`` (0.95 when it is not recorded)."""
    s = settings.get("conf_level") if settings else None
    conf_level = DEFAULT_CONF_LEVEL if s is None else float(s.value)
    return f"{100 * conf_level:.3g}% CI"


def parse_dates(where: str, df: pd.DataFrame, column: str) -> pd.Series:
    """``df[column]`` as datetimes; unparseable non-missing values are an error naming the first offending row;
    missing values are an error too (an event with no date cannot be placed in time). The rule (parsing, time zones:
    tz-aware → UTC, then naive) is :func:`whatworks._dates.read_dates`'s."""
    return read_dates(where, df, column, expected="a date for every row",
                      hint="Dates like 2024-06-01 or 2024-06-01 14:30 work; drop or fix rows with no date first.")


def month_level(dates: pd.Series) -> bool:
    """True when every date is midnight on the first of a month (police.uk month-only data)."""
    d = pd.DatetimeIndex(dates)
    return bool(len(d)) and bool(((d.day == 1) & (d.hour == 0) & (d.minute == 0) & (d.second == 0)).all())


def ids_as_text(where: str, df: pd.DataFrame, column: str) -> pd.Series:
    """Identifier column as text; missing identifiers are an error (the caller drops unknown people explicitly)."""
    s = df[column]
    bad = s.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(where, f"Column '{column}' has missing identifiers.", got=s.iloc[i],
                    row=f"position {i} (index {df.index[i]!r})",
                    hint=f"Keep only rows with a known {column} (e.g. df[df['{column}'].notna()]); whatworks never drops them silently.")
    return s.astype(str)


def top_share(counts: np.ndarray, share_of_units: float) -> float:
    """Share of the total held by the top ``ceil(share_of_units * n)`` units (largest first)."""
    x = np.asarray(counts, float)
    n = x.size
    if n == 0 or x.sum() <= 0:
        return float("nan")
    k = max(1, int(np.ceil(share_of_units * n - 1e-9)))
    part = -np.partition(-x, k - 1)[:k] if k < n else x
    return float(part.sum() / x.sum())


def bootstrap_top_share(counts: np.ndarray, share_of_units: float, *, n_boot: int, seed: int,
                        conf_level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI for :func:`top_share`, resampling units with replacement."""
    x = np.asarray(counts, float)
    if x.size < 2 or n_boot < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        reps[b] = top_share(x[rng.integers(0, x.size, x.size)], share_of_units)
    a = (1 - conf_level) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return float(lo), float(hi)


def check_interval_options(fn: str, conf_level: float | None, n_boot: int | None, seed: int | None) -> None:
    """Check the confidence-interval options shared by the bootstrap analyses (``None`` is "not given")."""
    if conf_level is not None:
        check_number(fn, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if n_boot is not None:
        check_number(fn, "n_boot", n_boot, low=0, integer=True)
    if seed is not None:
        check_number(fn, "seed", seed, low=0, integer=True)


def resolve_bootstrap(settings: dict[str, Setting], n_boot: int | None, seed: int | None) -> tuple[int, int]:
    """``n_boot`` and ``seed`` (``None``, not given: 1000 and 0), recorded together as ``settings["bootstrap"]``.

    Its source is "user" when the caller passed either — even ``n_boot=1000`` or ``seed=0`` — and "default" when both
    were left out; the reason names the ones passed.
    """
    given: dict[str, Setting] = {}
    n = int(given_or_default(given, "n_boot", None if n_boot is None else int(n_boot), DEFAULT_BOOT))
    s = int(given_or_default(given, "seed", None if seed is None else int(seed), DEFAULT_SEED))
    passed = [k for k, v in given.items() if v.source == "user"]
    settings["bootstrap"] = Setting(f"{n} replicates, seed {s}", "user" if passed else "default",
                                    f"{' and '.join(passed)} given by the caller" if passed
                                    else "percentile bootstrap resampling units with replacement")
    return n, s


def lorenz(counts: np.ndarray) -> pd.DataFrame:
    """Concentration curve, largest units first: ``rank``, ``count``, ``share_of_units``, ``share_of_total`` (cumulative)."""
    x = np.sort(np.asarray(counts, float))[::-1]
    n = x.size
    total = x.sum() if n else 0.0
    return pd.DataFrame({"rank": np.arange(1, n + 1), "count": x, "share_of_units": np.arange(1, n + 1) / max(n, 1),
                         "share_of_total": np.cumsum(x) / total if total > 0 else np.zeros(n)})


def wilson(k: float, n: float, conf_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (statsmodels ``proportion_confint(method="wilson")``)."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(k, n, alpha=1 - conf_level, method="wilson")
    return float(lo), float(hi)


def ratio_ci(y: np.ndarray, x: np.ndarray, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Ratio estimate R = Σy / Σx over independent units with its linearisation (delta-method) CI.

    Var(R) ≈ Σ (y_i − R x_i)² / (n (n − 1) x̄²) — the standard ratio-estimator variance (Cochran 1977, §6.3).
    """
    y, x = np.asarray(y, float), np.asarray(x, float)
    n = y.size
    if n < 1 or x.sum() <= 0:
        return float("nan"), float("nan"), float("nan")
    r = y.sum() / x.sum()
    if n < 2:   # the estimate is defined, its variance is not
        return float(r), float("nan"), float("nan")
    d = y - r * x
    se = np.sqrt((d ** 2).sum() / (n * (n - 1))) / x.mean()
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    return float(r), float(r - z * se), float(r + z * se)


def pseudonymise_frame(df: pd.DataFrame, columns: Sequence[str], key: Any) -> pd.DataFrame:
    """Copy of ``df`` with ``columns`` pseudonymised when ``key`` is given (else ``df`` unchanged)."""
    if key is None:
        return df
    from whatworks.privacy import pseudonymise

    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = pseudonymise(out[c], key)
    return out


def check_key(where: str, key: Any) -> None:
    """Validate a pseudonymisation key early (before any work), without keeping it anywhere."""
    if key is None:
        return
    from whatworks.privacy.pseudonymise import key_bytes

    key_bytes(where, key)


def check_top(where: str, top: Sequence[float]) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in top)
    except (TypeError, ValueError):
        raise error(where, "The 'top' parameter must be a list of shares between 0 and 1.", got=top) from None
    if not vals or any(not (0 < v <= 1) for v in vals):
        raise error(where, "The 'top' parameter must be a list of shares between 0 and 1 (e.g. 0.1 for the top 10%).", got=top)
    return vals
