"""Benchmark: whatworks.place.kde vs scipy.stats.gaussian_kde, 1,000,000 points on a 500 × 500 grid.

scipy's gaussian_kde uses the data covariance × factor² as kernel covariance; to compare like with like the points
are linearly transformed so their sample covariance is exactly σ²·I (isotropic), and whatworks uses the Gaussian
kernel with bandwidth = 4 · factor · σ (its standard deviation is bandwidth/4). Evaluating gaussian_kde at all
250,000 centres would take hours, so it is evaluated at 400 randomly chosen centres (plus the 100 densest) and its
time per centre is extrapolated linearly to the full grid (its cost is exactly linear in the number of evaluation
points) — the ratio printed says so. Agreement: max relative difference over evaluated centres whose density is at
least 1% of the maximum. Run: /work/venv/bin/python benchmarks/place_kde.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from whatworks.place import kde


def main(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = 1_000_000
    raw = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal([1.5, -1], 0.3, (n // 4, 2)),
                     rng.uniform(-3, 3, (n - n // 2 - n // 4, 2))])
    raw -= raw.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(raw.T))
    sigma = 2000.0
    pts = raw @ np.linalg.inv(chol).T * sigma       # sample covariance exactly sigma² I
    factor = 0.05
    h = 4 * factor * sigma                           # = 400 m
    cell = float(np.ceil(np.abs(pts).max() / 250 + 1))   # 500 cells wide: every point lies on the grid
    half = 250 * cell
    df = pd.DataFrame(pts, columns=["x", "y"])
    t0 = time.perf_counter()
    ours = kde(df, cell_size=cell, bandwidth=h, kernel="gaussian", extent=(-half, half - 1e-6, -half, half - 1e-6),
               quiet=True)
    t_ours = time.perf_counter() - t0
    assert len(ours.table) == 250_000, len(ours.table)

    assert len(ours.excluded) == 0, "every point must be on the grid for a like-for-like comparison"
    peer = gaussian_kde(pts.T, bw_method=factor)
    assert np.allclose(peer.covariance, (factor * sigma) ** 2 * np.eye(2))
    dens = ours.table["density"].to_numpy()
    sel = np.unique(np.concatenate([rng.choice(len(dens), 400, replace=False), np.argsort(-dens)[:100]]))
    t0 = time.perf_counter()
    ref = peer(np.vstack([ours.table["x"].to_numpy()[sel], ours.table["y"].to_numpy()[sel]])) * n
    t_ref = time.perf_counter() - t0
    t_ref_full = t_ref / len(sel) * len(dens)
    m = ref >= 0.01 * dens.max()
    rel = float(np.max(np.abs(dens[sel][m] - ref[m]) / ref[m]))
    print(f"KDE, {n:,} points, 500 x 500 grid of {cell:g} m cells, "
          f"Gaussian sd {h / 4:g} m: whatworks {t_ours:.2f} s")
    print(f"scipy gaussian_kde: {t_ref:.1f} s for {len(sel)} centres -> {t_ref_full:,.0f} s extrapolated to "
          f"{len(dens):,} centres; ratio {t_ref_full / t_ours:,.0f}x (extrapolated)")
    print(f"max relative difference over {int(m.sum())} evaluated centres with density >= 1% of max: {rel:.2e}")
    assert rel < 0.01, rel


if __name__ == "__main__":
    main()
