"""whatworks.survey.small_area against samplics (golden: tests/golden/make_survey_smallarea.py, milk data)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.survey import small_area

G = json.loads((Path(__file__).parents[1] / "golden" / "survey_smallarea_golden.json").read_text())


def _milk():
    d = pd.DataFrame(G["data"])
    X = pd.get_dummies(d["major_area"], prefix="major", drop_first=True).astype(float)
    return d, X


# ---------------------------------------------------------------- CHECK OUTPUTS
def test_fay_herriot_equals_samplics():
    d, X = _milk()
    r = small_area(d["direct_est"], d["std_error"], X, quiet=True)
    assert r.sigma2_u == pytest.approx(G["sigma2_u"], abs=1e-6)
    assert r.sigma2_u == pytest.approx(0.018550334762766914, rel=1e-6)
    np.testing.assert_allclose(r.coefficients["estimate"], G["fixed_effects"], atol=1e-6)
    np.testing.assert_allclose(r.table["estimate"], G["eblup"], atol=1e-6)
    np.testing.assert_allclose(r.table["mse"], G["mse"], atol=1e-6)
    assert r.table["estimate"].iloc[0] == pytest.approx(1.0219705441506155, abs=1e-6)
    assert "benchmark" not in r.settings
    assert (r.table["mse"] < r.table["direct_se"] ** 2).all()  # borrowing strength never loses precision here


def test_area_without_direct_gets_synthetic_estimate():
    d, X = _milk()
    y = d["direct_est"].copy()
    y.iloc[5] = np.nan
    r = small_area(y, d["std_error"], X, quiet=True)
    row = r.table.iloc[5]
    assert not row["has_direct"] and row["gamma"] == 0
    assert row["estimate"] == pytest.approx(row["synthetic"])
    assert row["mse"] > r.sigma2_u


def test_benchmarking_matches_the_force_figure(capsys):
    d, X = _milk()
    pop = d["samp_size"].astype(float)
    force = float(np.sum(pop * d["direct_est"]) / pop.sum())
    r = small_area(d["direct_est"], d["std_error"], X, benchmark=force, population=pop)
    assert "benchmarked" in capsys.readouterr().err
    assert np.sum(pop * r.table["estimate"]) / pop.sum() == pytest.approx(force, rel=1e-12)
    assert r.settings["benchmark"].value == force


def test_zero_area_variance_is_truncated():
    rng = np.random.default_rng(3)
    se = np.full(40, 1.0)
    y = rng.normal(0, 0.2, 40)  # far less spread than the sampling error: REML wants sigma2_u < 0
    r = small_area(y, se, quiet=True)
    assert r.sigma2_u == 0.0
    np.testing.assert_allclose(r.table["estimate"], np.mean(y))


# ---------------------------------------------------------------- CHECK INPUTS
def test_bad_inputs():
    d, X = _milk()
    se = d["std_error"].copy()
    se.iloc[2] = 0
    with pytest.raises(WhatworksError, match="positive, finite SE"):
        small_area(d["direct_est"], se, X)
    with pytest.raises(WhatworksError, match="population"):
        small_area(d["direct_est"], d["std_error"], X, benchmark=1.0)
    with pytest.raises(WhatworksError, match="numeric"):
        small_area(d["direct_est"], d["std_error"], d[["major_area"]].astype(str))
