"""whatworks.survey.event_effect, trend and raking on the synthetic survey (known truth)."""

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.survey import Design, event_effect, margins_from_table, trend


def test_rake_reproduces_the_synthetic_weights(survey, force):
    margins = margins_from_table(force.tables["survey_margins"], by="borough_code")
    assert set(margins) == {("borough_code", "sex_age"), ("borough_code", "ethnic_group")}
    d = Design(survey, weights="design_weight", strata="borough_code").rake(margins)
    np.testing.assert_allclose(d.weights, survey["weight"], rtol=1e-5)  # synth rounds weights to 6 d.p.
    est = d.proportion("confident", by="borough_code", quiet=True).table
    assert len(est) == 8 and (est["ci_low"] < est["estimate"]).all() and (est["estimate"] < est["ci_high"]).all()
    # weighted borough confidence covers the respondents' true mean probability (the truth the model injected)
    p_true = force.truth_tables["survey"]["p_confident"].to_numpy()
    truth = pd.Series(p_true * d.weights.to_numpy()).groupby(survey["borough_code"].to_numpy()).sum() / \
        d.weights.groupby(survey["borough_code"].to_numpy()).sum()
    covered = ((est.set_index("borough_code")["ci_low"] <= truth) & (truth <= est.set_index("borough_code")["ci_high"]))
    assert covered.mean() >= 0.75


def test_event_shift_recovered(survey, force):
    ev = force.truth["survey"]["event"]
    d = Design(survey, weights="weight", strata="borough_code")
    r = event_effect(d, "interview_date", ev["date"], ev["window_days"], "confident",
                     covariates=["sex", "age_band"], quiet=True)
    # truth on the probability scale: the mean true p after vs the same people's p without the shift
    p = force.truth_tables["survey"]["p_confident"].to_numpy()
    when = pd.to_datetime(survey["interview_date"])
    e = pd.Timestamp(ev["date"])
    after = ((when >= e) & (when < e + pd.Timedelta(days=ev["window_days"]))).to_numpy()
    lp = np.log(p[after] / (1 - p[after])) - ev["logit_shift"]
    true_shift = np.mean(p[after]) - np.mean(1 / (1 + np.exp(-lp)))
    assert true_shift < -0.05
    assert r.difference["ci_low"] <= true_shift <= r.difference["ci_high"]
    assert r.difference["estimate"] < 0 and r.difference["ci_high"] < 0
    ax = r.plot().axes[0]
    assert ax.get_title() == "Interviews before and after the event" and len(ax.lines) >= 1
    assert set(r.table["group"]) == {"before", "after"}
    assert len(r.balance) > 0 and r.unweighted is not None
    assert "points" in r.summary()


def test_event_errors(survey):
    d = Design(survey.head(400), weights="weight")
    with pytest.raises(WhatworksError, match="two interviews on each side"):
        event_effect(d, "interview_date", "2030-01-01", 10, "confident")


def test_trend_quarters_and_rolling(survey):
    d = Design(survey, weights="weight", strata="borough_code")
    q = trend(d, "confident", "interview_date", quiet=True)
    assert len(q.table) == 8  # 24 months
    t = q.table
    np.testing.assert_allclose(t["upl"] - t["mean"], 3 * t["se"])
    assert (t["n"].sum() == len(survey))
    r = trend(d, "confident", "interview_date", period="rolling_12_months", quiet=True)
    assert len(r.table) == 13 and (r.table["n"] > 5000).all()
    assert "sampling" in q.summary() or "signal" in q.summary()


def test_trend_spc_flags_a_real_shift_not_noise():
    rng = np.random.default_rng(5)
    n = 4000
    dates = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    p = np.where(dates >= pd.Timestamp("2024-10-01"), 0.45, 0.65)
    df = pd.DataFrame({"date": dates, "y": (rng.random(n) < p).astype(float)})
    t = trend(Design(df), "y", "date", quiet=True).table
    assert bool(t["signal"].iloc[-1]) and t["estimate"].iloc[-1] < t["lpl"].iloc[-1]
    flat = pd.DataFrame({"date": dates, "y": (rng.random(n) < 0.6).astype(float)})
    assert not trend(Design(flat), "y", "date", quiet=True).table["signal"].any()
