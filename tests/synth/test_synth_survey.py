"""The public attitude survey: margins, weights and the known confidence model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm


def test_raked_weights_reproduce_population_margins(force):
    sv = force.tables["survey"]
    mg = force.tables["survey_margins"]
    sexage = sv["sex"] + "_" + sv["age_band"]
    got = sv.groupby(["borough_code", sexage])["weight"].sum()
    want = mg[mg["variable"] == "sex_age"].set_index(["borough_code", "category"])["population"]
    np.testing.assert_allclose(got.reindex(want.index).to_numpy(), want.to_numpy(), rtol=1e-4)
    got_e = sv.groupby(["borough_code", "ethnic_group"])["weight"].sum()
    want_e = mg[mg["variable"] == "ethnic_group"].set_index(["borough_code", "category"])["population"]
    np.testing.assert_allclose(got_e.reindex(want_e.index).to_numpy(), want_e.to_numpy(), rtol=1e-3)


def test_design_weights_sum_to_borough_adults(force):
    sv = force.tables["survey"]
    mg = force.tables["survey_margins"]
    adults = mg[mg["variable"] == "sex_age"].groupby("borough_code")["population"].sum()
    np.testing.assert_allclose(sv.groupby("borough_code")["design_weight"].sum().reindex(adults.index), adults, rtol=1e-4)
    # equal allocation across boroughs (the strata)
    per_b = sv["borough_code"].value_counts()
    assert per_b.max() - per_b.min() <= 1
    assert len(sv) == force.params["survey_per_year"] * force.params["months"] // 12


def test_unweighted_sample_is_biased_towards_older_women(force):
    sv = force.tables["survey"]
    mg = force.tables["survey_margins"].query("variable == 'sex_age'")
    pop_old = mg[mg["category"].str.endswith("65+")]["population"].sum() / mg["population"].sum()
    assert (sv["age_band"] == "65+").mean() > pop_old * 1.2
    assert (sv["sex"] == "Female").mean() > 0.53


def test_confidence_model_coefficients_recovered(force):
    sv = force.tables["survey"]
    truth = force.truth["survey"]
    coef = truth["confidence_model"]["coefficients"]
    event = pd.Timestamp(truth["event"]["date"])
    after = ((sv["interview_date"] >= event) & (sv["interview_date"] < event + pd.Timedelta(days=truth["event"]["window_days"])))
    items = list(truth["items"]["names"])
    X = pd.DataFrame({k: sv[k] - 3 for k in items})
    X["recent_contact"] = sv["recent_contact"].astype(float)
    X["after_event"] = after.astype(float)
    X["age_65_plus"] = (sv["age_band"] == "65+").astype(float)
    X["age_16_24"] = (sv["age_band"] == "16-24").astype(float)
    X["black"] = (sv["ethnic_group"] == "Black").astype(float)
    X = pd.concat([X, pd.get_dummies(sv["borough_code"], dtype=float)], axis=1)   # borough effects absorb the intercept
    fit = sm.Logit(sv["confident"].astype(float), X).fit(disp=0)
    for k in [*items, "recent_contact", "after_event", "age_65_plus", "black"]:
        assert fit.params[k] == pytest.approx(coef[k], abs=4 * fit.bse[k]), k
    # borough intercepts = intercept + borough effect
    be = truth["confidence_model"]["borough_effects"]
    for b, v in be.items():
        assert fit.params[b] == pytest.approx(coef["intercept"] + v, abs=4 * fit.bse[b]), b


def test_confidence_level_and_contact_effect(force):
    sv = force.tables["survey"]
    level = np.average(sv["confident"], weights=sv["weight"])
    assert 0.5 < level < 0.8            # London PAS ran ~57-79% (REFERENCE.md)
    assert sv.loc[sv["recent_contact"], "confident"].mean() < sv.loc[~sv["recent_contact"], "confident"].mean()
    assert set(sv["good_job"]) == {"Excellent", "Good", "Fair", "Poor", "Very poor"}
    assert (sv["confident"] == sv["good_job"].isin(["Excellent", "Good"])).all()


def test_event_shift_visible_before_after(force):
    sv = force.tables["survey"]
    ev = force.truth["survey"]["event"]
    event = pd.Timestamp(ev["date"])
    w = pd.Timedelta(days=45)
    before = sv[(sv["interview_date"] >= event - w) & (sv["interview_date"] < event)]["confident"].mean()
    after = sv[(sv["interview_date"] >= event) & (sv["interview_date"] < event + w)]["confident"].mean()
    assert after < before - 0.05
