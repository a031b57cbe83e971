"""Golden values for whatworks.survey.small_area (issue 15): Fay–Herriot EBLUP, REML, Prasad–Rao MSE.

Purpose:    the `samplics` package (PyPI; archived but the issue's named reference) on the data it ships, the milk
            expenditure data of Arora & Lahiri (1997) as in Rao & Molina (2015) Example 6.1.1: 43 small areas, direct
            estimates and their SEs, covariates = dummies for the 4 major areas. The inputs are written with the outputs.
Regenerate: pip install samplics   (into a scratch venv; it is NOT a whatworks dependency)
            python tests/golden/make_survey_smallarea.py   (from the repository root) -> tests/golden/survey_smallarea_golden.json
Seed:       none (no randomness). Tolerance tightened to 1e-12 so the reference is converged.
Versions:   written into the JSON.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
import samplics  # noqa: E402
from samplics import EblupAreaModel, load_expenditure_milk  # noqa: E402

milk = load_expenditure_milk()["data"]
X = pd.get_dummies(milk["major_area"], drop_first=True).astype(float).to_numpy()
area = milk["small_area"].to_numpy()
fh = EblupAreaModel(method=samplics.FitMethod.reml)
fh.fit(yhat=milk["direct_est"].to_numpy(), X=X, area=area, error_std=milk["std_error"].to_numpy(), intercept=True,
       tol=1e-12, maxiter=1000)
fh.predict(X=X, area=area, intercept=True)
est = fh.area_est if isinstance(fh.area_est, dict) else dict(zip(area, fh.area_est))
mse = fh.area_mse if isinstance(fh.area_mse, dict) else dict(zip(area, fh.area_mse))
out = {
    "versions": {"python": sys.version.split()[0], "samplics": samplics.__version__, "numpy": np.__version__},
    "data": {c: milk[c].tolist() for c in ["major_area", "small_area", "samp_size", "direct_est", "std_error"]},
    "sigma2_u": float(np.ravel(fh.re_std)[0] ** 2),
    "fixed_effects": np.ravel(fh.fixed_effects).tolist(),
    "eblup": [float(est[a]) for a in area],
    "mse": [float(mse[a]) for a in area],
}
with open("tests/golden/survey_smallarea_golden.json", "w") as f:
    json.dump(out, f, indent=1)
print(out["sigma2_u"], out["fixed_effects"], out["eblup"][:3], out["mse"][:3])
