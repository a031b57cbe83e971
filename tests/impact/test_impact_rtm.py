"""Regression-to-the-mean guard (issue 14, item 7): expected fall from own history; before/after net of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.impact._rtm import before_after, expected_fall


def test_expected_fall_full_regression_when_history_has_no_variation():
    r = expected_fall([2, 4, 2, 4, 2, 4, 2, 4, 10, 10], 2)   # every 2-month window of the history averages 3
    assert r.selection_mean == 10 and r.expected_after == 3 and r.expected_fall == 7
    assert r.slope is None and "long-run mean" in r.method


def test_expected_fall_persistence_from_window_pairs():
    # μ = 2.3; departures (−2.3, 1.7, −0.3, 0.7) → next (1.7, −0.3, 0.7, 0.2): Σdx·dy = −4.49 < 0 → ρ clipped to 0
    r = expected_fall([0.0, 4.0, 2.0, 3.0, 2.5, 9.0], 1)
    assert r.slope == 0.0 and r.n_pairs == 4
    assert r.expected_after == pytest.approx(2.3) and r.expected_fall == pytest.approx(6.7)
    # a persistent history: departures carry over fully (ρ = 1): nothing is expected to fall back
    r2 = expected_fall([0, 0, 0, 0, 4, 4, 4, 4, 4], 1)
    # history 0,0,0,0,4,4,4,4 (μ = 2), selected on a 4: dx = (−2,−2,−2,−2,2,2,2), dy = (−2,−2,−2,2,2,2,2):
    # Σxy = 20, Σx² = 28 → ρ = 5/7; expected after = 2 + (5/7)·2
    assert r2.slope == pytest.approx(20 / 28)
    assert r2.expected_after == pytest.approx(2 + 20 / 28 * 2)


def test_before_after_net_of_rtm_on_many_units():
    rng = np.random.default_rng(1)
    units, months = 300, 30
    rate = rng.gamma(20, 0.5, units)
    counts = rng.poisson(np.repeat(rate[:, None], months, 1))
    # hot spots picked on months 21–23 (the 30 units with the highest sums there); no intervention effect
    chosen = np.argsort(-counts[:, 21:24].sum(1))[:30]
    dates = pd.date_range("2021-01-01", periods=months, freq="MS")
    df = pd.DataFrame({"unit": np.repeat(chosen, months), "d": np.tile(dates, 30), "n": counts[chosen].ravel()})
    r = before_after(df, "d", "n", dates[24], id="unit", selected_on=3, quiet=True)
    assert r.change < -2                        # a naive "fall"
    assert abs(r.net_change) < abs(r.change) / 3   # mostly regression to the mean
    assert r.rtm.expected_fall > 2
    assert "regression to the mean" in r.summary()
    assert r.design.design == "before/after" and r.design.sms_hint()[0] == 2


def test_before_after_refuses_missing_unit_periods():
    dates = pd.date_range("2021-01-01", periods=6, freq="MS")
    df = pd.DataFrame({"unit": [1] * 6 + [2] * 5, "d": list(dates) + list(dates[:5]), "n": 1})
    with pytest.raises(WhatworksError, match="unit 2"):
        before_after(df, "d", "n", dates[3], id="unit")
