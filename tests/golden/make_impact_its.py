"""Golden reference for whatworks.impact.its: statsmodels OLS with Newey–West (HAC) SEs on an independently built design.

Purpose
    A seeded seasonal monthly series (48 months, intervention at month 30: level −12, slope −0.5 a month) and its
    segmented-regression design built here by hand (const, time, post, time since the intervention, month-of-year
    indicators for February … December), fitted with statsmodels OLS(cov_type="HAC", maxlags=3, use_correction=True,
    i.e. Newey–West with the n/(n − k) small-sample factor). The test holds
    whatworks.impact.its(family="gaussian", seasonality=True, se="hac", maxlags=3) to these coefficients and SEs
    within 1e-8, and a Poisson GLM with HAC on the same design likewise; plus the model-based SEs (OLS; quasi-Poisson,
    GLM(scale="X2"), used only when the dispersion exceeds one — on the golden Poisson counts and on over-dispersed
    negative-binomial counts drawn last with the same mean) and the t(df_resid) interval of the level change.
Regenerate
    .venv/bin/python tests/golden/make_impact_its.py     (writes tests/golden/impact_its_golden.json)
Seed
    20261201 (numpy default_rng).
Versions
    Written into the JSON under "versions".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import statsmodels
import statsmodels.api as sm

SEED = 20261201
OUT = Path(__file__).with_name("impact_its_golden.json")


def main():
    rng = np.random.default_rng(SEED)
    n, t0 = 48, 30
    months = [f"{2019 + (i // 12)}-{i % 12 + 1:02d}-01" for i in range(n)]
    moy = np.array([i % 12 + 1 for i in range(n)])
    season = 10 * np.sin(2 * np.pi * (moy - 1) / 12)
    t = np.arange(n, dtype=float)
    post = (t >= t0).astype(float)
    since = (t - t0) * post
    mu = 200 + 0.8 * t + season - 12 * post - 0.5 * since
    y_gauss = mu + rng.normal(0, 4, n)
    y_count = rng.poisson(mu)
    cols = [np.ones(n), t, post, since] + [(moy == m).astype(float) for m in range(2, 13)]
    X = np.column_stack(cols)
    hac = {"maxlags": 3, "use_correction": True}
    ols = sm.OLS(y_gauss, X).fit(cov_type="HAC", cov_kwds=hac)
    pois = sm.GLM(y_count, X, family=sm.families.Poisson()).fit(cov_type="HAC", cov_kwds=hac)
    ols_model = sm.OLS(y_gauss, X).fit()
    y_over = rng.negative_binomial(5, 5 / (5 + mu))  # over-dispersed counts with the same mean (drawn last)
    quasi = sm.GLM(y_count, X, family=sm.families.Poisson()).fit(scale="X2")
    pois_model = sm.GLM(y_count, X, family=sm.families.Poisson()).fit()
    quasi_over = sm.GLM(y_over, X, family=sm.families.Poisson()).fit(scale="X2")
    ci = ols_model.conf_int(alpha=0.05)[2]  # t(df_resid) interval of the level change
    out = {
        "purpose": "statsmodels OLS/GLM-Poisson with HAC(maxlags=3, use_correction=True) and model-based "
                   "(OLS, quasi-Poisson scale=X2) on a hand-built segmented design",
        "versions": {"statsmodels": statsmodels.__version__, "numpy": np.__version__},
        "seed": SEED,
        "dates": months, "intervention": months[t0],
        "y_gaussian": y_gauss.tolist(), "y_count": y_count.tolist(),
        "columns": ["const", "time", "post", "time_since"] + [f"month_{m}" for m in range(2, 13)],
        "ols_params": ols.params.tolist(), "ols_bse": ols.bse.tolist(),
        "poisson_params": pois.params.tolist(), "poisson_bse": pois.bse.tolist(),
        "ols_model_bse": ols_model.bse.tolist(), "ols_model_level_ci": ci.tolist(),
        "quasi_poisson_bse": quasi.bse.tolist(), "quasi_poisson_scale": float(quasi.scale),
        "poisson_model_bse": pois_model.bse.tolist(),
        "y_count_over": y_over.tolist(), "quasi_over_bse": quasi_over.bse.tolist(),
        "quasi_over_scale": float(quasi_over.scale),
        "truth": {"level_change": -12, "slope_change": -0.5},
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
