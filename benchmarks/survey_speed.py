"""Benchmark: whatworks.survey against R's survey package, and Fay–Herriot at scale (issue 15, "Numbers").

1. **Rake + 32 borough estimates** — the synthetic force's public attitude survey (``whatworks.synth.generate``,
   32 boroughs, 12,800 interviews in 12 months): the design (strata = borough, design weights), raked on three
   margins (borough, sex × age band, ethnic group; population totals from ``survey_margins``), then the share
   confident in each of the 32 boroughs with its SE. whatworks (``Design(...).rake(...).proportion(..., by=)``)
   and R (``svydesign`` → ``rake`` → ``svyby(~confident, ~borough_code, svymean)``, run by Rscript in the same
   run on the same CSV) are each timed best of ``--repeats``, R inside R (``proc.time``, after loading the
   package and the data, so R's start-up is not counted against it). Answers must agree: raked weights to 1e-8,
   estimates to 1e-9, SEs within 0.5% (R's ``rake()`` linearises margin by margin, whatworks jointly — the GREG
   residual — which equals R's ``calibrate(calfun="raking")``; see docs/survey.md).
2. **Fay–Herriot on 33,000 small areas** — ``small_area(direct, se, covariates)`` (REML, Prasad–Rao MSE) on
   simulated areas (two covariates, σ²_u = 0.004, SEs from interview counts of 5–60); target < 2 s.

Run:  .venv/bin/python -W ignore benchmarks/survey_speed.py [--repeats 5] [--areas 33000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import whatworks.synth as synth
from whatworks.survey import Design, small_area

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
pop <- read.csv(args[2], stringsAsFactors = FALSE)
reps <- as.integer(args[4])
mk <- function(v) { p <- pop[pop$variable == v, ]; df <- data.frame(p$category, p$population); names(df) <- c(v, "Freq"); df }
pops <- list(mk("borough_code"), mk("sex_age"), mk("ethnic_group"))
run <- function() {
  des <- svydesign(ids = ~1, strata = ~borough_code, weights = ~design_weight, data = d)
  r <- rake(des, list(~borough_code, ~sex_age, ~ethnic_group), pops, control = list(maxit = 100, epsilon = 1e-12))
  b <- svyby(~confident, ~borough_code, r, svymean)
  list(r = r, b = b)
}
invisible(run())
best <- Inf
for (i in seq_len(reps)) { t0 <- proc.time()[["elapsed"]]; out <- run(); best <- min(best, proc.time()[["elapsed"]] - t0) }
b <- out$b
res <- data.frame(borough_code = b$borough_code, estimate = b$confident, se = SE(b))
write.csv(res, args[3], row.names = FALSE)
write.csv(data.frame(weight = weights(out$r)), paste0(args[3], ".weights.csv"), row.names = FALSE)
cat(sprintf("%.6f\n", best))
"""


def _survey():
    f = synth.generate(seed=0, crimes=1_000, months=12, boroughs=32, survey_per_year=12_800, keep_in_memory=False)
    s = f.tables["survey"].assign(sex_age=lambda d: d["sex"] + "_" + d["age_band"],
                                  confident=lambda d: d["confident"].astype(int))
    m = f.tables["survey_margins"]
    pop = pd.concat([
        m[m["variable"] == "sex_age"].groupby("borough_code", as_index=False)["population"].sum()
        .rename(columns={"borough_code": "category"}).assign(variable="borough_code"),
        m.groupby(["variable", "category"], as_index=False)["population"].sum(),
    ], ignore_index=True)[["variable", "category", "population"]]
    margins = {v: g.set_index("category")["population"].astype(float) for v, g in pop.groupby("variable", sort=False)}
    return s, pop, margins


def ours(s: pd.DataFrame, margins: dict):
    d = Design(s, weights="design_weight", strata="borough_code").rake(margins, tol=1e-12)
    return d, d.proportion("confident", by="borough_code", quiet=True).table


def rake_benchmark(repeats: int) -> None:
    s, pop, margins = _survey()
    ours(s, margins)  # warm up
    t_ours = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        d, est = ours(s, margins)
        t_ours = min(t_ours, time.perf_counter() - t0)
    if shutil.which("Rscript") is None:
        print(f"rake + 32 borough estimates, {len(s):,} interviews: whatworks {t_ours * 1000:.0f} ms (Rscript not found)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        s.to_csv(tmp / "survey.csv", index=False)
        pop.to_csv(tmp / "pop.csv", index=False)
        (tmp / "bench.R").write_text(R_SCRIPT)
        t0 = time.perf_counter()
        out = subprocess.run(["Rscript", str(tmp / "bench.R"), str(tmp / "survey.csv"), str(tmp / "pop.csv"),
                              str(tmp / "r.csv"), str(repeats)], capture_output=True, text=True, check=True)
        t_rscript = time.perf_counter() - t0
        t_r = float(out.stdout.strip().splitlines()[-1])
        r = pd.read_csv(tmp / "r.csv")
        rw = pd.read_csv(tmp / "r.csv.weights.csv")["weight"].to_numpy()
    m = est.merge(r, on="borough_code", suffixes=("", "_r"))
    assert len(m) == 32
    w_diff = float(np.max(np.abs(d.weights.to_numpy() - rw)))
    e_diff = float(np.max(np.abs(m["estimate"] - m["estimate_r"])))
    se_ratio = (m["se"] / m["se_r"]).to_numpy()
    ok = w_diff < 1e-8 and e_diff < 1e-9 and np.all(np.abs(se_ratio - 1) < 5e-3)
    print(f"rake on 3 margins + 32 borough estimates with SEs, {len(s):,} interviews (best of {repeats}):")
    print(f"  whatworks {t_ours * 1000:.1f} ms; R survey {t_r * 1000:.0f} ms inside R (Rscript wall {t_rscript:.1f} s with "
          f"start-up, {repeats + 1} runs); ratio {t_r / t_ours:.1f}x")
    print(f"  agreement: max |weight diff| {w_diff:.2e}; max |estimate diff| {e_diff:.2e}; SE ratio "
          f"{se_ratio.min():.5f}-{se_ratio.max():.5f} -> {'AGREE' if ok else 'DISAGREE'}")


def fay_herriot_benchmark(areas: int) -> None:
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=areas), rng.uniform(size=areas)
    n = rng.integers(5, 61, size=areas)
    theta = 0.6 + 0.05 * x1 - 0.1 * x2 + rng.normal(0, np.sqrt(0.004), areas)
    se = np.sqrt(np.clip(theta * (1 - theta), 0.05, None) / n)
    direct = theta + rng.normal(0, se)
    cov = pd.DataFrame({"x1": x1, "x2": x2})
    small_area(direct[:500], se[:500], cov.iloc[:500], quiet=True)  # warm up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        r = small_area(direct, se, cov, quiet=True)
        best = min(best, time.perf_counter() - t0)
    rmse_direct = float(np.sqrt(np.mean((direct - theta) ** 2)))
    rmse_fh = float(np.sqrt(np.mean((r.table["estimate"] - theta) ** 2)))
    print(f"Fay-Herriot (REML, Prasad-Rao MSE) on {areas:,} small areas: {best:.3f} s (target < 2 s); "
          f"sigma2_u {r.sigma2_u:.5f} (true 0.004); RMSE direct {rmse_direct:.4f} -> EBLUP {rmse_fh:.4f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--areas", type=int, default=33_000)
    a = ap.parse_args()
    rake_benchmark(a.repeats)
    fay_herriot_benchmark(a.areas)
