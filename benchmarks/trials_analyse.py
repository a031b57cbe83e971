"""Speed and agreement of whatworks.trials.analyse against statsmodels on the same data, same run.

* ITT with HC2 SEs (n = 200,000): whatworks (numpy) vs statsmodels OLS(cov_type="HC2").
* Cluster-robust (n = 20,000 in 400 clusters): whatworks CR2 vs statsmodels' cluster (CR1) SEs — different
  estimators, so only the point estimate must agree; the SE ratio shows CR2's small-sample correction.
* 10,000 randomisations of 2,000 units in blocks (draw_assignments), vectorised.

Run:  /work/venv/bin/python benchmarks/trials_analyse.py
"""

import time

import numpy as np
import pandas as pd
import statsmodels.api as sm

from whatworks.trials import analyse, draw_assignments
from whatworks.trials.randomise import build_design


def timed(f, reps=3):
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return out, best


rng = np.random.default_rng(0)
n = 200_000
df = pd.DataFrame({"z": rng.integers(0, 2, n), "x": rng.normal(size=n)})
df["y"] = 1 + 0.2 * df["z"] + df["x"] + rng.normal(size=n)
ours, t_ours = timed(lambda: analyse(df, "y", "z", permutations=0))
peer, t_peer = timed(lambda: sm.OLS(df["y"], sm.add_constant(df["z"].astype(float))).fit(cov_type="HC2"))
assert abs(ours.se - peer.bse["z"]) < 1e-10 and abs(ours.estimate - peer.params["z"]) < 1e-10
print(f"HC2 ITT, n={n:,}: whatworks {t_ours * 1000:.0f} ms, statsmodels {t_peer * 1000:.0f} ms, ratio {t_ours / t_peer:.2f}; "
      f"SE agree to {abs(ours.se - peer.bse['z']):.1e}")

J, m = 400, 50
cl = np.repeat(np.arange(J), m)
zc = rng.permutation(np.repeat([0, 1], J // 2))[cl]
dc = pd.DataFrame({"cl": cl, "z": zc, "y": 0.3 * zc + np.repeat(rng.normal(size=J), m) + rng.normal(size=J * m)})
ours, t_ours = timed(lambda: analyse(dc, "y", "z", cluster="cl", permutations=0))
peer, t_peer = timed(lambda: sm.OLS(dc["y"], sm.add_constant(dc["z"].astype(float))).fit(
    cov_type="cluster", cov_kwds={"groups": dc["cl"]}))
assert abs(ours.estimate - peer.params["z"]) < 1e-10
print(f"Clustered, n={J * m:,} in {J} clusters: whatworks CR2 + BM df {t_ours * 1000:.0f} ms, statsmodels CR1 "
      f"{t_peer * 1000:.0f} ms, ratio {t_ours / t_peer:.2f}; SE CR2/CR1 = {ours.se / peer.bse['z']:.4f}")

units = pd.DataFrame({"id": range(2000), "block": rng.integers(0, 20, 2000)})
design = build_design(units, method="block", blocks="block", cluster=None, prob=0.5, m=None)
draws, t_draw = timed(lambda: draw_assignments(design, 10_000, np.random.default_rng(1)), reps=1)
print(f"10,000 block randomisations of 2,000 units: {t_draw:.2f} s; max |rate - 0.5| = {np.abs(draws.mean(0) - 0.5).max():.4f}")
