"""Benchmark: seasonal SPC (issue 13) — false alarms, detection and speed of ``spc(seasonality="auto")`` vs plain XmR.

Data (seed 2026): monthly Poisson counts, 36 months from 2022-01, series mean λ drawn uniformly in [30, 300] (a
neighbourhood's to a borough's monthly crimes), seasonal swing mu = λ·(1 + a·cos(2π(month − peak)/12)) with the swing
a uniform in [0.10, 0.25] and the peak month uniform in 0..11.

- stable seasonal: 1,000 series, no change at all;
- seasonal + step: the same means with a 25% step up in the last 6 months (months 31–36); "found in its first 3
  months" = a special-cause point, higher, in month 31, 32 or 33;
- stable, no season: 1,000 series with a = 0 (for "auto" on non-seasonal series: how often is it called seasonal, and
  what share of points get exactly plain XmR's point type);
- speed: 10,000 series × 36 months, seasonal swings as above, ``seasonality="auto"`` vs ``"none"``, same run.

Run:  python benchmarks/spc_seasonal.py         (about 15 s on 2 shared cores)
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from whatworks.performance.spc import spc

N_MONTHS = 36
STEP = 1.25
STEP_MONTHS = 6


def means(n_series: int, rng, *, seasonal: bool = True) -> np.ndarray:
    lam = rng.uniform(30, 300, size=(n_series, 1))
    a = rng.uniform(0.10, 0.25, size=(n_series, 1)) if seasonal else np.zeros((n_series, 1))
    peak = rng.integers(0, 12, size=(n_series, 1))
    m = np.arange(N_MONTHS)[None, :] % 12
    return lam * (1 + a * np.cos(2 * np.pi * (m - peak) / 12))


def frame(y: np.ndarray) -> pd.DataFrame:
    n = y.shape[0]
    months = pd.date_range("2022-01-01", periods=N_MONTHS, freq="MS")
    return pd.DataFrame({"area": np.repeat(np.arange(n), N_MONTHS), "month": np.tile(months, n),
                         "crimes": y.ravel().astype(float)})


def figures(y: np.ndarray, seasonality: str) -> dict:
    r = spc(frame(y), "crimes", "month", by="area", seasonality=seasonality, quiet=True)
    t = r.table
    sc = t["special_cause"].to_numpy().reshape(-1, N_MONTHS)
    hi = (t["direction"].to_numpy() == "higher").reshape(-1, N_MONTHS)
    first = N_MONTHS - STEP_MONTHS
    out = {"points": sc.mean(), "latest": sc[:, -1].mean(), "last12": sc[:, -12:].any(axis=1).mean(),
           "step_found": (sc & hi)[:, first:first + 3].any(axis=1).mean(), "table": t}
    if "seasonal" in t:
        out["called_seasonal"] = t["seasonal"].to_numpy().reshape(-1, N_MONTHS)[:, 0].mean()
    return out


def main() -> None:
    rng = np.random.default_rng(2026)
    mu = means(1000, rng)
    stable = rng.poisson(mu)
    stepped_mu = mu.copy()
    stepped_mu[:, -STEP_MONTHS:] *= STEP
    stepped = rng.poisson(stepped_mu)
    flat_mu = means(1000, rng, seasonal=False)
    flat = rng.poisson(flat_mu)

    print("1,000 series × 36 months, Poisson                      plain XmR    seasonality='auto'")
    s_none, s_auto = figures(stable, "none"), figures(stable, "auto")
    print(f"stable seasonal: points flagged                       {s_none['points']:8.1%}    {s_auto['points']:8.1%}")
    print(f"stable seasonal: latest month a signal                {s_none['latest']:8.1%}    {s_auto['latest']:8.1%}")
    print(f"stable seasonal: any special cause in last 12 months  {s_none['last12']:8.1%}    {s_auto['last12']:8.1%}")
    print(f"stable seasonal: series called seasonal                    —      {s_auto['called_seasonal']:8.1%}")
    st_none, st_auto = figures(stepped, "none"), figures(stepped, "auto")
    print(f"seasonal + 25% step: step found in its first 3 months {st_none['step_found']:8.1%}    "
          f"{st_auto['step_found']:8.1%}")
    f_none, f_auto = figures(flat, "none"), figures(flat, "auto")
    same = (f_none["table"]["point_type"].to_numpy() == f_auto["table"]["point_type"].to_numpy()).mean()
    print(f"no season: latest month a signal                      {f_none['latest']:8.1%}    {f_auto['latest']:8.1%}")
    print(f"no season: any special cause in last 12 months        {f_none['last12']:8.1%}    {f_auto['last12']:8.1%}")
    print(f"no season: series called seasonal                          —      {f_auto['called_seasonal']:8.1%}")
    print(f"no season: points with plain XmR's point type              —      {same:8.1%}")
    flat_step = flat.astype(float).copy()
    flat_step[:, -STEP_MONTHS:] = rng.poisson(flat_mu[:, -STEP_MONTHS:] * STEP)
    fs_none, fs_auto = figures(flat_step, "none"), figures(flat_step, "auto")
    print(f"no season + 25% step: step found in first 3 months    {fs_none['step_found']:8.1%}    "
          f"{fs_auto['step_found']:8.1%}")

    big = frame(rng.poisson(means(10_000, rng)))
    spc(big.head(360), "crimes", "month", by="area", seasonality="auto", quiet=True)   # warm up
    t0 = time.perf_counter()
    spc(big, "crimes", "month", by="area", quiet=True)
    t_none = time.perf_counter() - t0
    t0 = time.perf_counter()
    spc(big, "crimes", "month", by="area", seasonality="auto", quiet=True)
    t_auto = time.perf_counter() - t0
    print(f"speed, 10,000 series × 36 months: plain XmR {t_none:.2f} s; seasonality='auto' {t_auto:.2f} s")


if __name__ == "__main__":
    main()
