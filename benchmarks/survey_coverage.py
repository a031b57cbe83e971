"""Benchmark: coverage of the 95% CIs of borough confidence on the synthetic force's public attitude survey
(issue 15, "Numbers": 93–97% over 200 seeds).

For each seed the synthetic force's survey is generated (``whatworks.synth.generate``: 32 boroughs as the Met,
12,800 interviews in 12 months, equal allocation, response favouring women and older people) and each borough's
share confident ("good" or "excellent" job) is estimated three ways:

* **raked** (primary): ``Design(weights="design_weight", strata="borough_code")`` raked to the population margins
  (borough × sex × age band, borough × ethnic group: ``tables["survey_margins"]``), SEs linearised as the GREG
  residual of the rake;
* **published weight, fixed**: the survey's own raked ``weight`` column treated as a fixed design weight (the
  raking left out of the variance, as an analyst with only the weight column would do);
* **design weight only**: no raking (the response bias left in).

Truth: ``truth["survey"]["borough_confidence"]`` — for each borough, the mean over all its adult residents of
P(confident) under the survey's model (what a census of the borough over the period would find).

Run:  .venv/bin/python -W ignore benchmarks/survey_coverage.py [--seeds 200] [--boroughs 32]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

import whatworks.synth as synth
from whatworks.survey import Design, margins_from_table


def one_seed(seed: int, boroughs: int, per_year: int) -> pd.DataFrame:
    f = synth.generate(seed=seed, crimes=1_000, months=12, boroughs=boroughs, survey_per_year=per_year,
                       keep_in_memory=False)
    s = f.tables["survey"].assign(sex_age=lambda d: d["sex"] + "_" + d["age_band"])
    margins = margins_from_table(f.tables["survey_margins"], by="borough_code")
    truth = pd.Series(f.truth["survey"]["borough_confidence"], name="truth")
    designs = {
        "raked": Design(s, weights="design_weight", strata="borough_code").rake(margins),
        "published weight, fixed": Design(s, weights="weight", strata="borough_code"),
        "design weight only": Design(s, weights="design_weight", strata="borough_code"),
    }
    out = []
    for name, d in designs.items():
        t = d.proportion("confident", by="borough_code", quiet=True).table.set_index("borough_code").join(truth)
        out.append(pd.DataFrame({"seed": seed, "estimator": name, "borough": t.index, "estimate": t["estimate"],
                                 "se": t["se"], "truth": t["truth"],
                                 "covered": (t["ci_low"] <= t["truth"]) & (t["truth"] <= t["ci_high"])}))
    return pd.concat(out, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--boroughs", type=int, default=32)
    ap.add_argument("--per-year", type=int, default=12_800)
    a = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for seed in range(a.seeds):
        rows.append(one_seed(seed, a.boroughs, a.per_year))
        if (seed + 1) % 20 == 0:
            print(f"  {seed + 1} seeds, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    d = pd.concat(rows, ignore_index=True)
    d["error"] = d["estimate"] - d["truth"]
    d["z"] = d["error"] / d["se"]
    per_seed = d.groupby(["estimator", "seed"])["covered"].mean()
    print(f"synthetic survey, {a.seeds} seeds x {a.boroughs} boroughs ({a.per_year:,} interviews a year, 12 months; "
          f"{time.perf_counter() - t0:.0f} s)")
    print("| estimator | 95% CI coverage of borough confidence | SE of the coverage (between seeds) | mean error "
          "(points) | sd(z) | mean SE (points) |")
    print("|---|---|---|---|---|---|")
    for name, g in d.groupby("estimator", sort=False):
        ps = per_seed.loc[name]
        print(f"| {name} | {g['covered'].mean():.3f} | {ps.std(ddof=1) / np.sqrt(len(ps)):.4f} | "
              f"{g['error'].mean() * 100:+.2f} | {g['z'].std(ddof=1):.3f} | {g['se'].mean() * 100:.2f} |")


if __name__ == "__main__":
    main()
