"""Benchmark: whatworks.impact.did (Callaway–Sant'Anna) against Python csdid, and coverage on the synthetic force.

1. Speed and agreement: a simulated panel of N units × 20 periods with 8 treated cohorts (first treated in periods
   4, 6, …, 18) plus never-treated units, a unit effect, a common trend and dynamic effects. Both whatworks and
   csdid (0.4.3, bstrap=False, est_method="dr", never-treated controls) estimate ATT(g, t) in the same run; the
   script reports the wall-clock of each (best of five: the machine is shared), the speed-up and the largest
   |ATT difference| and SE ratio, and the physical floor: the time to read the panel's columns and pivot them to a
   units × periods array (pandas ``pivot``, and numpy with ``pd.factorize`` codes), the least any tool must do.
2. Coverage (``--seeds``; benchmarks/impact_coverage.py runs the full three-design, 200-seed study): for each seed the synthetic force (whatworks.synth.generate, 200,000 crimes, 8 boroughs, 80 wards) is
   generated; ward × month log(ASB + 0.5) is analysed by Callaway–Sant'Anna (never-treated controls, SEs clustered
   by borough, the level of assignment) and by TWFE; the share of 95% CIs covering the truth log(0.85) is reported.

Run:  .venv/bin/python benchmarks/impact_did.py [--units 20000] [--seeds 0]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from whatworks.impact.did import did

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def simulate(n_units: int, periods: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohorts = np.array([4, 6, 8, 10, 12, 14, 16, 18] + [0])
    g = rng.choice(cohorts, size=n_units)
    t = np.arange(1, periods + 1)
    alpha = rng.normal(size=n_units)
    eff = np.where((g[:, None] > 0) & (t[None, :] >= g[:, None]), 0.5 + 0.1 * (t[None, :] - g[:, None]), 0.0)
    y = alpha[:, None] + 0.05 * t[None, :] + eff + rng.normal(size=(n_units, periods))
    return pd.DataFrame({"id": np.repeat(np.arange(n_units), periods), "period": np.tile(t, n_units),
                         "y": y.ravel(), "G": np.repeat(g, periods)})


REPEATS = 5  # best of five for every timing: the machine is shared


def floor(panel: pd.DataFrame) -> tuple[float, float]:
    """Best-of time to turn the long panel into a units × periods array: pandas pivot, and numpy via factorize."""
    t_pd = t_np = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        W = panel.pivot(index="id", columns="period", values="y").to_numpy()
        t_pd = min(t_pd, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ui, units = pd.factorize(panel["id"], sort=True)
        ti, times = pd.factorize(panel["period"], sort=True)
        A = np.empty((units.size, times.size))
        A[ui, ti] = panel["y"].to_numpy(float)
        t_np = min(t_np, time.perf_counter() - t0)
    assert np.array_equal(W, A)
    return t_pd, t_np


def speed(n_units: int) -> None:
    from csdid.att_gt import ATTgt

    panel = simulate(n_units)
    warm = simulate(500, seed=1)  # warm both tools up (imports, first-call costs) before timing
    did(warm, "id", "period", "y", "G", method="callaway_santanna", n_boot=10, quiet=True)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        ATTgt(yname="y", gname="G", idname="id", tname="period", data=warm).fit(est_method="dr", bstrap=False)
    t_ours = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        ours = did(panel, "id", "period", "y", "G", method="callaway_santanna", n_boot=0, quiet=True)
        t_ours = min(t_ours, time.perf_counter() - t0)
    t0 = time.perf_counter()
    ours_b = did(panel, "id", "period", "y", "G", method="callaway_santanna", n_boot=1000, quiet=True)
    t_boot = time.perf_counter() - t0
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        t_cs = float("inf")
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            res = ATTgt(yname="y", gname="G", idname="id", tname="period", data=panel).fit(est_method="dr",
                                                                                          bstrap=False)
            t_cs = min(t_cs, time.perf_counter() - t0)
    r = res.results
    theirs = pd.DataFrame({"group": np.asarray(r["group"], float), "time": np.asarray(r["year"], float),
                           "att": np.asarray(r["att"], float), "se": np.asarray(r["se"], float)})
    m = ours.table.merge(theirs, on=["group", "time"])
    print(f"units {n_units:,} × 20 periods × 8 cohorts: {len(m)} ATT(g,t) cells")
    print(f"  whatworks {t_ours:.2f} s (with 1,000 bootstrap draws: {t_boot:.2f} s); csdid {t_cs:.2f} s; "
          f"speed-up {t_cs / t_ours:.1f}x")
    print(f"  max |ATT difference| {np.max(np.abs(m['estimate'] - m['att'])):.2e}; "
          f"SE ratio range {np.min(m['se_x'] / m['se_y']):.6f}–{np.max(m['se_x'] / m['se_y']):.6f}")
    t_pd, t_np = floor(panel)
    print(f"  floor (long panel to a units × periods array): pandas pivot {t_pd * 1e3:.0f} ms, numpy/factorize "
          f"{t_np * 1e3:.0f} ms; whatworks = {t_ours / t_np:.1f}x the numpy floor, csdid {t_cs / t_np:.0f}x")
    del ours_b


def coverage(seeds: int) -> None:
    from tests.impact.test_impact_did import policy_panel

    truth = np.log(0.85)
    rows = []
    t0 = time.perf_counter()
    for s in range(seeds):
        panel, _ = policy_panel(seed=s)
        cs = did(panel, "ward", "time", "log_asb", "first_treated", method="callaway_santanna", cluster="borough",
                 n_boot=0, quiet=True)
        tw = did(panel, "ward", "time", "log_asb", "first_treated", cluster="borough", quiet=True)
        rows.append((cs.estimate, cs.ci_low <= truth <= cs.ci_high, tw.estimate, tw.ci_low <= truth <= tw.ci_high))
    d = pd.DataFrame(rows, columns=["cs", "cs_cover", "twfe", "twfe_cover"])
    print(f"synthetic force, {seeds} seeds ({time.perf_counter() - t0:.0f} s): truth log(0.85) = {truth:.4f}")
    print(f"  Callaway–Sant'Anna: mean {d['cs'].mean():.4f}, 95% CI coverage {d['cs_cover'].mean():.1%}")
    print(f"  TWFE:               mean {d['twfe'].mean():.4f}, 95% CI coverage {d['twfe_cover'].mean():.1%}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, default=0)
    a = ap.parse_args()
    speed(a.units)
    if a.seeds:
        coverage(a.seeds)
