"""Benchmark: do whatworks.impact's 95% CIs cover the synthetic force's injected truths? (issue 14)

For each seed one synthetic force is generated (whatworks.synth.generate(seed, crimes=CRIMES, survey_per_year=500):
the survey is shrunk because no design here uses it; every other table is the default force, 8 boroughs, 80 wards,
36 months) and three designs are run on it, each as docs/impact.md shows it:

- **matching** — the offender-management programme (truth: no effect on offences in the 12 months after):
  ``match(om, "participant", [log_prior_12m, under_25, male, deprivation], distance="linear_logit", caliper=0.1)``
  then ``.estimate("offences_follow_up")`` (adjusted for the matching covariates, the default since session 8;
  pair-clustered SE, normal interval). Truth 0. The plain matched difference (``covariates=False``) is recorded beside it.
- **Callaway–Sant'Anna** — ward × month log(ASB + 0.5), the staggered borough policy (truth log 0.85, constant from
  adoption), never-treated comparisons, SEs clustered by borough (the level of assignment), the simple ATT.
  TWFE on the same panel is recorded beside it.
- **ITS** — force-wide monthly vehicle crime, the step change (truth: rate ratio 0.80 from the step month, no slope
  change), ``its(..., family="poisson")`` with its defaults (se="auto": Newey–West only when a Breusch–Godfrey test
  finds autocorrelation; seasonality="auto"); the ``rate_ratio`` effect (exp of the level change). Poisson is the
  synthetic force's own count model. Newey–West forced (``se="hac"``) is recorded beside it.

Coverage is the share of seeds whose 95% CI contains the truth, with its Monte-Carlo SE sqrt(p(1-p)/seeds).
Per-seed estimates and SEs are written to ``--out`` (CSV) so other critical values can be examined afterwards.

With ``--variants`` each seed also records diagnostic alternatives (not whatworks defaults): matching exactly on the
prior count and a regression-adjusted matched estimate that also adjusts for the raw prior count (with the matched
groups' prior-offence imbalance), CS with ward-clustered SEs, ITS with model-based SEs.

Run:  nice .venv/bin/python benchmarks/impact_coverage.py [--seeds 200] [--start 0] [--out /tmp/impact_coverage.csv]
      [--variants]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import whatworks as ww
from whatworks.impact import did, its, match

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.impact.test_impact_did import policy_panel_of as policy_panel  # noqa: E402  (the tests' panel builder)

CRIMES = 200_000
SURVEY = 500
COVS = ["log_prior_12m", "under_25", "male", "deprivation"]


def _regression_adjusted(md: pd.DataFrame) -> tuple[float, float]:
    """Diagnosis only: OLS of the outcome on participation and the covariates in the matched sample (MatchIt's
    advice, Ho et al. 2007), SE clustered on the pair (CR1)."""
    import statsmodels.api as sm

    X = sm.add_constant(np.column_stack([md["participant"].astype(float)]
                                        + [md[c].astype(float) for c in COVS + ["prior_offences_12m"]]))
    fit = sm.WLS(md["offences_follow_up"].astype(float).to_numpy(), X, weights=md["weight"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(md["subclass"])[0]})
    return float(fit.params[1]), float(fit.bse[1])


def one_seed(seed: int, variants: bool = False) -> dict:
    force = ww.synth.generate(seed=seed, crimes=CRIMES, survey_per_year=SURVEY)
    row: dict = {"seed": seed}
    # matching: the offender-management programme, truth 0
    om = force.tables["om_programme"].copy()
    om["under_25"] = om["age"] < 25
    om["log_prior_12m"] = np.log1p(om["prior_offences_12m"])
    m = match(om, "participant", COVS, id="person_id", distance="linear_logit", caliper=0.1, quiet=True)
    e = m.estimate("offences_follow_up", quiet=True)
    plain = m.estimate("offences_follow_up", covariates=False)
    row.update(match_est=e.estimate, match_se=e.se, match_lo=e.ci_low, match_hi=e.ci_high,
               match_truth=force.truth["interventions"]["offender_management"]["true_effect"],
               match_n=m.n_treated_matched, match_plain_est=plain.estimate, match_plain_lo=plain.ci_low,
               match_plain_hi=plain.ci_high)
    if variants:  # diagnosis: residual imbalance, and the two alternatives docs/impact.md shows
        md = m.matched
        tr = md["participant"].astype(bool).to_numpy()
        row.update(match_dprior=md.loc[tr, "prior_offences_12m"].mean() - md.loc[~tr, "prior_offences_12m"].mean())
        ex = match(om, "participant", COVS, id="person_id", exact=["prior_offences_12m"], quiet=True)
        x = ex.estimate("offences_follow_up", covariates=False)
        row.update(match_exact_est=x.estimate, match_exact_lo=x.ci_low, match_exact_hi=x.ci_high)
        ra = _regression_adjusted(md)
        row.update(match_reg_est=ra[0], match_reg_se=ra[1], match_reg_lo=ra[0] - 1.959964 * ra[1],
                   match_reg_hi=ra[0] + 1.959964 * ra[1])
    # Callaway–Sant'Anna and TWFE: the staggered borough policy, truth log(0.85)
    panel, truth = policy_panel(force)
    cs = did(panel, "ward", "time", "log_asb", "first_treated", method="callaway_santanna", cluster="borough",
             n_boot=0, quiet=True)
    tw = did(panel, "ward", "time", "log_asb", "first_treated", cluster="borough", quiet=True)
    if variants:  # the same estimate with SEs clustered by ward (the unit) instead of borough
        cw = did(panel, "ward", "time", "log_asb", "first_treated", method="callaway_santanna", n_boot=0, quiet=True)
        row.update(cs_ward_se=cw.se, cs_ward_lo=cw.ci_low, cs_ward_hi=cw.ci_high)
    row.update(cs_est=cs.estimate, cs_se=cs.se, cs_lo=cs.ci_low, cs_hi=cs.ci_high,
               twfe_est=tw.estimate, twfe_se=tw.se, twfe_lo=tw.ci_low, twfe_hi=tw.ci_high,
               did_truth=truth["log_rate_ratio"])
    # ITS: force-wide monthly vehicle crime, step change rate ratio 0.8
    step = force.truth["interventions"]["step_change"]
    c = force.tables["crimes"]
    monthly = (c.loc[c["crime_type"] == step["crime_type"]].groupby("month").size()
               .rename("n").reset_index())
    monthly["month"] = monthly["month"].dt.strftime("%Y-%m")
    r = its(monthly, "month", "n", step["month"], family="poisson", quiet=True)
    rr = r.effects.set_index("term").loc["rate_ratio"]
    row.update(its_est=rr["estimate"], its_lo=rr["ci_low"], its_hi=rr["ci_high"], its_truth=step["rate_ratio"],
               its_seasonal=bool(r.settings["seasonality"].value) if "seasonality" in r.settings else None,
               its_se_chosen=r.settings["se"].value)
    rh = its(monthly, "month", "n", step["month"], family="poisson", se="hac", quiet=True)
    eh = rh.effects.set_index("term").loc["rate_ratio"]
    row.update(its_hac_lo=eh["ci_low"], its_hac_hi=eh["ci_high"])
    if variants:  # model-based (Poisson) SEs instead of Newey–West
        rm = its(monthly, "month", "n", step["month"], family="poisson", se="model", quiet=True)
        e2 = rm.effects.set_index("term").loc["rate_ratio"]
        row.update(its_model_lo=e2["ci_low"], its_model_hi=e2["ci_high"])
    return row


def report(d: pd.DataFrame) -> None:
    n = len(d)

    def line(name, est, lo, hi, truth):
        cover = ((d[lo] <= d[truth]) & (d[truth] <= d[hi])).to_numpy()
        p = cover.mean()
        print(f"  {name:<22} mean {d[est].mean():+.4f} (truth {d[truth].iloc[0]:+.4f}); coverage {p:.1%} "
              f"± {np.sqrt(p * (1 - p) / n):.1%} (MC SE); misses below {(d[hi] < d[truth]).mean():.1%}, "
              f"above {(d[lo] > d[truth]).mean():.1%}")

    print(f"{n} seeds")
    line("matching (adjusted)", "match_est", "match_lo", "match_hi", "match_truth")
    if "match_plain_lo" in d:
        line("matching, plain diff.", "match_plain_est", "match_plain_lo", "match_plain_hi", "match_truth")
    line("Callaway–Sant'Anna", "cs_est", "cs_lo", "cs_hi", "did_truth")
    line("TWFE", "twfe_est", "twfe_lo", "twfe_hi", "did_truth")
    line("ITS rate ratio", "its_est", "its_lo", "its_hi", "its_truth")
    if "its_hac_lo" in d:
        line("ITS, Newey–West forced", "its_est", "its_hac_lo", "its_hac_hi", "its_truth")
        print(f"  ITS se='auto' chose Newey–West in {(d['its_se_chosen'] == 'hac').mean():.1%} of seeds")
    if "its_model_lo" in d:
        line("matching, exact on the prior count", "match_exact_est", "match_exact_lo", "match_exact_hi", "match_truth")
        line("matching + regression adjustment", "match_reg_est", "match_reg_lo", "match_reg_hi", "match_truth")
        print(f"  matched participants minus comparisons, prior offences: mean {d['match_dprior'].mean():+.3f}")
        line("CS, SEs by ward", "cs_est", "cs_ward_lo", "cs_ward_hi", "did_truth")
        line("ITS, model-based SEs", "its_est", "its_model_lo", "its_model_hi", "its_truth")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/impact_coverage.csv"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--variants", action="store_true", help="also record the diagnostic alternatives")
    a = ap.parse_args()
    if not a.report_only:
        done = set(pd.read_csv(a.out)["seed"]) if a.out.exists() else set()
        t0 = time.perf_counter()
        for s in range(a.start, a.start + a.seeds):
            if s in done:
                continue
            row = one_seed(s, a.variants)
            pd.DataFrame([row]).to_csv(a.out, mode="a", header=not a.out.exists(), index=False)
            print(f"seed {s} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    d = pd.read_csv(a.out)
    d = d[(d["seed"] >= a.start) & (d["seed"] < a.start + a.seeds)]
    report(d)
