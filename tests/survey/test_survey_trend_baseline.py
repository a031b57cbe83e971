"""whatworks.survey.trend(baseline=): each period's change from a baseline period, against R's survey package
(golden: tests/golden/make_survey_trend.R — svyby(covmat=TRUE) + svycontrast for quarters, svytotal + svycontrast for
overlapping rolling windows), on apiclus1 (clustered, so periods share PSUs and are correlated) and a post-stratified
version of it."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.survey import Design, trend

G = json.loads((Path(__file__).parents[1] / "golden" / "survey_trend_golden.json").read_text())
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}


def _design(poststratified=False):
    df = pd.DataFrame(G["data"]).assign(date=lambda d: pd.to_datetime(d["date"]),
                                        yes=lambda d: (d["sch_wide"] == "Yes").astype(float))
    d = Design(df, weights="pw", psu="dnum", fpc="fpc")
    return d.poststratify("stype", POP_TYPES) if poststratified else d


def _check(t, ref, *, periods=None):
    if periods is not None:
        assert list(t["period"]) == periods
    np.testing.assert_allclose(t["estimate"], ref["estimate"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(t["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(t["difference"], ref["difference"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(t["difference_se"], ref["difference_se"], rtol=1e-6, atol=1e-12)


# ------------------------------------------------------------------ CHECK OUTPUTS (against R)

def test_quarters_against_svyby_covmat_and_svycontrast():
    t = trend(_design(), "api00", "date", kind="mean", baseline=G["baseline_quarter"], quiet=True).table
    _check(t, G["quarter_mean_api00"], periods=G["quarter_mean_api00"]["period"])
    # the clustered design makes quarters correlated: the difference's SE is not the independent-samples one
    b = t.set_index("period").loc[G["baseline_quarter"]]
    indep = np.sqrt(t["se"] ** 2 + b["se"] ** 2)
    assert (t["difference_se"].drop(index=1) < indep.drop(index=1) * 0.95).any()


def test_quarter_proportions_against_r():
    t = trend(_design(), "yes", "date", baseline=G["baseline_quarter"], quiet=True).table
    _check(t, G["quarter_prop_yes"], periods=G["quarter_prop_yes"]["period"])


def test_poststratified_design_against_r():
    d = _design(poststratified=True)
    t = trend(d, "api00", "date", kind="mean", baseline=G["baseline_quarter"], quiet=True).table
    _check(t, G["quarter_mean_api00_poststratified"], periods=G["quarter_mean_api00_poststratified"]["period"])
    r = trend(d, "yes", "date", period="rolling_12_months", baseline=G["baseline_window"], quiet=True).table
    _check(r, G["rolling_prop_yes_poststratified"], periods=G["windows"])


def test_overlapping_rolling_windows_against_r():
    r = trend(_design(), "api00", "date", kind="mean", period="rolling_12_months", baseline=G["baseline_window"],
              quiet=True)
    _check(r.table, G["rolling_mean_api00"], periods=G["windows"])
    assert r.settings["baseline"].value == G["baseline_window"]
    assert f"Against {G['baseline_window']}" in r.summary()


def test_difference_interval_and_p_value():
    t = trend(_design(), "api00", "date", kind="mean", baseline="2023Q2", conf_level=0.9, quiet=True).table
    z = 1.6448536269514722
    np.testing.assert_allclose(t["difference_ci_high"] - t["difference"], z * t["difference_se"], rtol=1e-12)
    base = t[t["period"] == "2023Q2"].iloc[0]
    assert base["difference"] == 0 and base["difference_se"] == 0 and np.isnan(base["difference_p_value"])
    other = t[t["period"] != "2023Q2"]
    assert ((other["difference_p_value"] > 0) & (other["difference_p_value"] < 1)).all()


def test_no_baseline_no_comparison_columns():
    t = trend(_design(), "api00", "date", kind="mean", quiet=True)
    assert "difference" not in t.table and t.baseline is None and "Against" not in t.summary()


# ------------------------------------------------------------------ CHECK INPUTS

def test_unknown_baseline_is_a_clear_error():
    with pytest.raises(WhatworksError, match="baseline must be one of the trend's periods"):
        trend(_design(), "api00", "date", kind="mean", baseline="2019Q1", quiet=True)
    with pytest.raises(WhatworksError, match="conf_level"):
        trend(_design(), "api00", "date", kind="mean", conf_level=1.5, quiet=True)


# ------------------------------------------------------------------ announced defaults (the quiet= item)

def test_trend_announces_periods_and_centre(capsys):
    r = trend(_design(), "yes", "date")
    err = capsys.readouterr()
    text = err.out + err.err
    assert "trend periods set to 2023Q1..2024Q4 (8 quarter periods" in text
    assert "trend centre set to" in text
    assert r.settings["centre"].source == "data" and r.settings["periods"].value.endswith("(8)")
    trend(_design(), "yes", "date", quiet=True)
    err = capsys.readouterr()
    assert "trend" not in err.out + err.err
