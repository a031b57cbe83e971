"""Coverage study: does whatworks.trials.analyse recover the synthetic force's hotspot-patrol effect?

The synthetic force (whatworks.synth.generate) runs a hotspot-patrol RCT: the 100 highest-risk street
segments, randomised in matched pairs; during the trial months expected crime in treated cells is multiplied
by the known rate ratio (truth: 0.8). For each of 200 seeds we generate a small force, count crimes and ASB per
trial cell during the trial months (outcome) and before it (baseline), and estimate the rate ratio with

* negative binomial, adjusted for log(1 + baseline count)  — the primary analysis,
* Poisson with sandwich (HC0) SEs, same adjustment,
* Poisson with sandwich SEs, unadjusted,

(outcome: "background" crimes — all crimes except near-repeat offspring, which the synth does not multiply;
the all-crime rate ratio is also shown, diluted slightly towards 1 by those offspring),
then report how often the 95% CI covers the true rate ratio (target 93-97%), the mean estimate and the
timing. Also compares the negative-binomial fit with statsmodels' own NB2 MLE (the peer) on the same data.

Run:  /work/venv/bin/python benchmarks/trials_coverage.py [--seeds 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm

from whatworks import synth
from whatworks.trials import analyse


def trial_data(seed: int) -> tuple[pd.DataFrame, float]:
    force = synth.generate(seed=seed, crimes=20_000, months=12, boroughs=2)
    cells = force.tables["hotspot_trial"]
    crimes = force.tables["crimes"]
    # Near-repeat burglary offspring are triggered by earlier burglaries and are not themselves multiplied by the
    # patrol effect (only their parents are), so the all-crime rate ratio is slightly diluted towards 1. The
    # synth's truth table marks them; "background" crimes carry exactly the injected rate ratio.
    offspring = force.truth_tables["crimes"]["near_repeat_of"].notna().to_numpy()
    month = pd.to_datetime(crimes["month"]).dt.strftime("%Y-%m")
    start, end = cells["trial_start"].iloc[0], cells["trial_end"].iloc[0]
    during = crimes[(month >= start) & (month <= end)]
    before = crimes[month < start]
    seg = cells["segment_id"].to_numpy()
    y = during.groupby("segment_id").size().reindex(seg, fill_value=0).to_numpy()
    y_bg = during[~offspring[during.index]].groupby("segment_id").size().reindex(seg, fill_value=0).to_numpy()
    base = before.groupby("segment_id").size().reindex(seg, fill_value=0).to_numpy()
    df = pd.DataFrame({"cell": cells["cell_id"], "pair": cells["pair"], "treatment": (cells["arm"] == "treatment").astype(int),
                       "crimes": y, "background_crimes": y_bg, "log_baseline": np.log1p(base)})
    return df, float(force.truth["interventions"]["hotspot_rct"]["rate_ratio"])


def main(seeds: int) -> None:
    rows = []
    t_gen = t_fit = t_peer = 0.0
    max_diff = 0.0
    for seed in range(seeds):
        t0 = time.perf_counter()
        df, truth = trial_data(seed)
        t1 = time.perf_counter()
        nb = analyse(df, "background_crimes", "treatment", covariates=["log_baseline"], family="negbin", permutations=0)
        t2 = time.perf_counter()
        X = sm.add_constant(df[["treatment", "log_baseline"]].astype(float))
        peer = sm.NegativeBinomial(df["background_crimes"], X, loglike_method="nb2").fit(disp=0, maxiter=200)
        t3 = time.perf_counter()
        max_diff = max(max_diff, abs(peer.params["treatment"] - nb.estimate))
        pois = analyse(df, "background_crimes", "treatment", covariates=["log_baseline"], family="poisson", permutations=0)
        raw = analyse(df, "background_crimes", "treatment", family="poisson", permutations=0)
        nb_all = analyse(df, "crimes", "treatment", covariates=["log_baseline"], family="negbin", permutations=0)
        t_gen += t1 - t0
        t_fit += t2 - t1
        t_peer += t3 - t2
        for name, r in (("negbin, adjusted", nb), ("poisson HC0, adjusted", pois), ("poisson HC0, unadjusted", raw),
                        ("all crimes incl. near repeats: negbin, adjusted", nb_all)):
            rows.append({"seed": seed, "model": name, "rate_ratio": r.rate_ratio, "low": r.rate_ratio_ci[0],
                         "high": r.rate_ratio_ci[1], "covers": r.rate_ratio_ci[0] <= truth <= r.rate_ratio_ci[1],
                         "truth": truth})
    res = pd.DataFrame(rows)
    summary = res.groupby("model").agg(coverage=("covers", "mean"), mean_rate_ratio=("rate_ratio", "mean"),
                                       median_rate_ratio=("rate_ratio", "median"),
                                       mean_ci_width=("high", "mean"))
    summary["mean_ci_width"] = (res.groupby("model")["high"].mean() - res.groupby("model")["low"].mean())
    print(f"seeds: {seeds}; true rate ratio {res['truth'].iloc[0]}")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    lo, hi = 0.93, 0.97
    cov = summary.loc["negbin, adjusted", "coverage"]
    print(f"primary (negbin, adjusted) coverage {cov:.3f}: {'within' if lo <= cov <= hi else 'OUTSIDE'} {lo}-{hi}")
    print(f"max |whatworks NB estimate - statsmodels NB2 MLE| = {max_diff:.2e}")
    print(f"time per seed: synth {t_gen / seeds:.2f} s; whatworks negbin {t_fit / seeds * 1000:.1f} ms; "
          f"statsmodels NB2 alone {t_peer / seeds * 1000:.1f} ms (ratio {t_fit / t_peer:.2f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    main(ap.parse_args().seeds)
