"""Benchmark: whatworks.place.gistar vs esda.G_Local on a 300 × 300 grid (90,000 cells).

Both start from the same grid of counts and compute analytic Gi* z-scores with binary weights "within cell size × √2,
self included". esda needs a libpysal weights object first (DistanceBand), which is part of its cost; its G_Local is
timed separately too. The answers must agree to 1e-9. Run: /work/venv/bin/python benchmarks/place_gistar.py
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd

import esda
import libpysal
from whatworks.place import gistar, grid


def main(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pts = np.vstack([rng.uniform(0, 30000, (60000, 2)), rng.normal(15000, 800, (8000, 2)),
                     rng.normal([6000, 24000], 300, (3000, 2))])
    g = grid(pd.DataFrame(pts, columns=["x", "y"]), cell_size=100, extent=(0, 29999.999, 0, 29999.999), quiet=True)
    assert len(g.table) == 90_000, len(g.table)
    t = g.table
    d = 100 * math.sqrt(2)

    t0 = time.perf_counter()
    ours = gistar(g, quiet=True)
    t_ours = time.perf_counter() - t0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        w = libpysal.weights.DistanceBand(t[["x", "y"]].to_numpy(), threshold=d * (1 + 1e-9), binary=True,
                                          silence_warnings=True)
        t_w = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = esda.G_Local(t["count"].to_numpy(float), w, transform="B", star=True, permutations=0)
        t_g = time.perf_counter() - t0
    diff = float(np.max(np.abs(ours.table["gistar"].to_numpy() - ref.Zs)))
    assert diff < 1e-9, diff
    print(f"Gi* on {len(t):,} cells: whatworks {t_ours:.3f} s; esda {t_w + t_g:.3f} s "
          f"(DistanceBand weights {t_w:.3f} s + G_Local {t_g:.3f} s); max |Δz| = {diff:.1e}")
    print(f"ratio esda / whatworks = {(t_w + t_g) / t_ours:.1f}x (G_Local alone: {t_g / t_ours:.1f}x)")


if __name__ == "__main__":
    main()
