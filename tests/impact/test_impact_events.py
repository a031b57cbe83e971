"""event_window (issue 14, item 6): before/after with balance and a regression discontinuity in time, on data with a
known jump."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.impact.events import event_window


def _survey(seed=0, jump=-0.10, n=4000):
    rng = np.random.default_rng(seed)
    day = rng.integers(-60, 60, n)
    after = day >= 0
    p = 0.65 + jump * after
    return pd.DataFrame({"interviewed": pd.Timestamp("2011-08-06") + pd.to_timedelta(day, unit="D"),
                         "confident": (rng.random(n) < p).astype(int),
                         "age": rng.normal(45, 15, n), "sex": rng.choice(["f", "m"], n),
                         "score": 5 + 2 * after + 0.01 * day + rng.normal(0, 1, n)})


def test_hand_worked_proportions():
    df = pd.DataFrame({"d": pd.to_datetime(["2011-08-01"] * 4 + ["2011-08-06"] * 4 + ["2011-12-01"]),
                       "y": [1, 1, 1, 0, 1, 0, 0, 0, 1]})
    r = event_window(df, "d", "2011-08-06", 30, "y")
    t = r.table.set_index("group")
    assert t.loc["before", "estimate"] == 0.75 and t.loc["after", "estimate"] == 0.25   # event day counts as after
    assert t.loc["after", "n"] == 4                                                         # December is outside
    se = np.sqrt(0.75 * 0.25 / 4 + 0.25 * 0.75 / 4)
    assert r.difference["estimate"] == pytest.approx(-0.5) and r.difference["se"] == pytest.approx(se)
    assert r.kind == "proportion"


def test_known_jump_recovered_with_balance_and_rd(capsys):
    df = _survey()
    r = event_window(df, "interviewed", "2011-08-06", 60, "confident", ["age", "sex"], rd=True)
    assert r.difference["ci_low"] < -0.10 < r.difference["ci_high"]
    assert (r.balance["smd"].abs() < 0.1).all() and list(r.balance.covariate) == ["age", "sex=f", "sex=m"]
    assert r.design.checks["balance_smd_below_0.1"] and r.design.sms_hint()[0] == 2
    assert "RD bandwidth set to 60 days" in capsys.readouterr().err
    assert r.rd["ci_low"] < -0.10 < r.rd["ci_high"]
    # a continuous outcome with a trend: the raw difference mixes trend and jump, the RD isolates the jump of 2
    m = event_window(df, "interviewed", "2011-08-06", 60, "score", rd=True, bandwidth=40, quiet=True)
    assert m.difference["estimate"] == pytest.approx(2.6, abs=0.1)
    assert m.rd["ci_low"] < 2 < m.rd["ci_high"] and m.rd["bandwidth"] == 40
    assert m.plot() is not None and "jump" in m.summary()


def test_imbalance_is_flagged():
    df = _survey()
    df.loc[df.interviewed >= "2011-08-06", "age"] += 10
    r = event_window(df, "interviewed", "2011-08-06", 60, "confident", ["age"], quiet=True)
    assert "Caution" in r.summary() and not r.design.checks["balance_smd_below_0.1"]


def test_bad_input():
    df = _survey()
    with pytest.raises(WhatworksError, match="two records on each side"):
        event_window(df, "interviewed", "2015-01-01", 10, "confident")
    df.loc[3, "interviewed"] = None
    with pytest.raises(WhatworksError, match="must hold dates"):
        event_window(df, "interviewed", "2011-08-06", 10, "confident")


def test_time_zone_aware_dates_follow_the_house_rule():
    # tz-aware interview times (a survey export in UK local time) are read as UTC, as every other room reads them;
    # before, comparing them with the naive event date raised pandas' TypeError
    df = _survey()
    aware = df.assign(interviewed=df["interviewed"].dt.tz_localize("UTC").dt.tz_convert("Europe/London"))
    a = event_window(aware, "interviewed", "2011-08-06", 60, "confident", quiet=True)
    b = event_window(df, "interviewed", "2011-08-06", 60, "confident", quiet=True)
    pd.testing.assert_frame_equal(a.table, b.table)
