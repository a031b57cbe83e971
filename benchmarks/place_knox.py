"""Benchmark: whatworks.place.knox vs pointpats' Knox.

Data: a self-exciting (near-repeat) burglary-like process over 10 km × 10 km and two years (seeded). Runs
(1) 10,000 events × 99 permutations, one band [0, 200] m × [0, 14] days, in whatworks (closed="right") and
pointpats.spacetime.Knox (which counts distance ≤ δ and time ≤ τ): observed counts must be equal; times and ratio
printed; (2) 20,000 events × 999 permutations over a 4 × 4 band table in whatworks alone (target < 5 s wall on 2 cores).
Run: /work/venv/bin/python benchmarks/place_knox.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from pointpats.spacetime import Knox
from whatworks.place import knox


def events(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parents = int(n / 1.5)
    x = rng.uniform(0, 10000, parents)
    y = rng.uniform(0, 10000, parents)
    t = rng.uniform(0, 730, parents)
    k = n - parents
    src = rng.integers(0, parents, k)
    x = np.concatenate([x, x[src] + rng.normal(0, 60, k)])
    y = np.concatenate([y, y[src] + rng.normal(0, 60, k)])
    t = np.concatenate([t, np.minimum(t[src] + rng.exponential(7, k), 729.9)])
    return pd.DataFrame({"x": x, "y": y, "occurred": np.floor(t)})


def main() -> None:
    ev = events(10_000, 1)
    t0 = time.perf_counter()
    ours = knox(ev, distance_bands=[0, 200], time_bands=[0, 14], closed="right", permutations=99, quiet=True)
    t_ours = time.perf_counter() - t0
    np.random.seed(0)
    t0 = time.perf_counter()
    ref = Knox(ev[["x", "y"]].to_numpy(), ev[["occurred"]].to_numpy(), delta=200, tau=14, permutations=99)
    t_ref = time.perf_counter() - t0
    obs = int(ours.table["observed"].iloc[0])
    assert obs == ref.statistic_, (obs, ref.statistic_)
    print(f"10,000 events x 99 permutations: observed {obs} pairs (pointpats {ref.statistic_}); "
          f"p whatworks {ours.table['p_value'].iloc[0]:.3f}, pointpats {ref.p_sim:.3f}")
    print(f"whatworks {t_ours:.2f} s; pointpats {t_ref:.2f} s; ratio {t_ref / t_ours:.1f}x")

    ev = events(20_000, 2)
    t0 = time.perf_counter()
    big = knox(ev, distance_bands=[0, 100, 200, 300, 400], time_bands=[0, 7, 14, 21, 28], permutations=999,
               quiet=True)
    t_big = time.perf_counter() - t0
    print(f"20,000 events x 999 permutations, 4 x 4 bands: {t_big:.2f} s wall "
          f"(near cell ratio {big.table['ratio'].iloc[0]:.2f}, p {big.table['p_value'].iloc[0]:.3f})")


if __name__ == "__main__":
    main()
