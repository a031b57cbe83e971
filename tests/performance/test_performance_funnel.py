"""Tests for whatworks.performance.funnel: equality with an independent R implementation of the FunnelPlotR /
Spiegelhalter (2005) formulas, tau² equal to metafor's DerSimonian–Laird estimate in the case where they coincide,
hand-checked limits, input checks, and recovery of planted outliers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance.funnel import Z95, dispersion, funnel

GOLDEN = Path(__file__).parents[1] / "golden" / "funnel_golden.json"


def golden():
    assert GOLDEN.exists(), "missing golden file: run Rscript tests/golden/make_funnel_golden.R"
    return json.loads(GOLDEN.read_text())


def test_equals_r_reference():
    for c in golden()["cases"]:
        d = pd.DataFrame({"num": c["numerator"], "den": c["denominator"]})
        # the R target is the pooled value (or 1 for ratios) except in one case with an explicit target
        r = funnel(d, "num", "den", kind=c["kind"], overdispersion=c["overdispersion"], target=c["target"],
                   winsorise=c["trim"], quiet=True)
        assert r.target == pytest.approx(c["target"], rel=1e-12)
        assert r.phi == pytest.approx(c["phi"], rel=1e-10)
        assert r.tau2 == pytest.approx(c["tau2"], rel=1e-9, abs=1e-15)
        for k in ("lower_95", "upper_95", "lower_998", "upper_998"):
            np.testing.assert_allclose(r.table[k], c[k], rtol=1e-9, atol=1e-12, err_msg=f"{c['kind']} {k}")


def test_tau2_equals_metafor_dersimonian_laird():
    m = golden()["metafor_check"]
    d = pd.DataFrame({"o": m["numerator"], "e": m["denominator"]})
    r = funnel(d, "o", "e", kind="ratio", target=m["target"], winsorise=0, quiet=True)
    assert r.tau2 == pytest.approx(m["metafor_tau2"], rel=1e-8)


def test_limits_by_hand_without_overdispersion():
    # proportion, target 0.2, n = 100: arcsine scale sd = 1/(2*10) = 0.05
    d = pd.DataFrame({"x": [20, 30, 10], "n": [100, 100, 100]})
    r = funnel(d, "x", "n", target=0.2, overdispersion=False, quiet=True)
    t = np.arcsin(np.sqrt(0.2))
    assert r.table["upper_95"].iloc[0] == pytest.approx(np.sin(t + Z95 * 0.05) ** 2)
    assert r.table["lower_95"].iloc[0] == pytest.approx(np.sin(t - Z95 * 0.05) ** 2)
    assert r.tau2 == 0.0


def test_dispersion_by_hand():
    # z = -3,-1,0,1,3, no winsorising: phi = 20/5 = 4; w = 100 each: tau2 = (20 - 4)/(500 - 100) = 0.04
    d = dispersion(np.array([-3.0, -1, 0, 1, 3]), np.full(5, 0.1), winsorise=0)
    assert d["phi"] == pytest.approx(4.0) and d["tau2"] == pytest.approx(0.04)
    # winsorising at 20% pulls the ±3 in to the 20th/80th percentiles (type 7: -1.4 and 1.4)
    dw = dispersion(np.array([-3.0, -1, 0, 1, 3]), np.full(5, 0.1), winsorise=0.2)
    assert dw["z_winsorised"].tolist() == pytest.approx([-1.4, -1, 0, 1, 1.4])


def test_underdispersed_gives_zero_tau2():
    d = dispersion(np.array([0.1, -0.1, 0.2, -0.2]), np.full(4, 0.1), winsorise=0)
    assert d["tau2"] == 0.0


@pytest.mark.parametrize("kw,msg", [
    (dict(kind="percent"), "'kind' parameter"),
    (dict(winsorise=0.5), "'winsorise' parameter"),
    (dict(target=1.5), "strictly between 0 and 1"),
    (dict(overdispersion="yes"), "True or False"),
])
def test_bad_options(kw, msg):
    d = pd.DataFrame({"x": [1, 2], "n": [10, 10]})
    with pytest.raises(WhatworksError, match=msg):
        funnel(d, "x", "n", quiet=True, **kw)


def test_bad_data():
    with pytest.raises(WhatworksError, match="cannot exceed"):
        funnel(pd.DataFrame({"x": [11, 2], "n": [10, 10]}), "x", "n", quiet=True)
    with pytest.raises(WhatworksError, match="must be positive"):
        funnel(pd.DataFrame({"x": [1, 2], "n": [0, 10]}), "x", "n", quiet=True)
    with pytest.raises(WhatworksError, match="at least 2 units"):
        funnel(pd.DataFrame({"x": [1], "n": [10]}), "x", "n", quiet=True)


def test_infinite_values_refused():
    # review: an infinite denominator made the pooled target 0 and flagged the other units as outliers
    with pytest.raises(WhatworksError, match="Column 'n' must (be numeric|hold finite numbers).*position 1"):
        funnel(pd.DataFrame({"x": [5, 5, 5], "n": [10, np.inf, 10]}), "x", "n", kind="rate", quiet=True)


def test_rate_with_no_events_anywhere_refused():
    # review: a pooled rate of 0 gave expected counts of 0 and NaN z-scores, phi and limits without a word
    with pytest.raises(WhatworksError, match="0 for every unit"):
        funnel(pd.DataFrame({"x": [0, 0, 0], "n": [100, 200, 300]}), "x", "n", kind="rate", quiet=True)


def test_target_announced(capsys):
    funnel(pd.DataFrame({"x": [1, 2], "n": [10, 10]}), "x", "n")
    assert "target set to 0.15" in capsys.readouterr().err


def test_planted_outliers_are_flagged_and_stable_units_mostly_not():
    rng = np.random.default_rng(12)
    n_units = 300
    pop = rng.integers(1500, 3000, n_units)
    rate = 0.02 * np.exp(rng.normal(0, 0.15, n_units))   # modest between-area variation
    outl = np.arange(5)
    rate[outl] *= 3.0                                       # five areas with three times the rate
    d = pd.DataFrame({"lsoa": [f"L{i:04d}" for i in range(n_units)], "crimes": rng.poisson(rate * pop), "pop": pop})
    r = funnel(d, "crimes", "pop", kind="rate", id="lsoa", per=1000, quiet=True)
    t = r.table
    assert (t.loc[outl, "flag"] == "high_998").all()
    assert (t.loc[5:, "flag"].isin(["high_998", "low_998"])).mean() < 0.01
    assert r.tau2 > 0 and r.phi > 1
    s = r.summary()
    assert "5 above and" in s and "below the 99.8% limits" in s and "L0000" in s
    assert r.plot().axes
    # switching the adjustment off narrows the limits, so more of the ordinary areas get flagged
    r0 = funnel(d, "crimes", "pop", kind="rate", overdispersion=False, quiet=True)
    assert (r0.table["flag"] != "within").sum() > (t["flag"] != "within").sum()


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: winsorise=0.1 passed explicitly was recorded as a default ("user" if winsorise != 0.1), and kind and
    # overdispersion were always "user", even when left out
    d = pd.DataFrame({"area": list("ABCDEFGH"), "solved": [30, 45, 12, 80, 25, 60, 10, 40],
                      "crimes": [300, 400, 150, 600, 260, 500, 200, 390]})
    given = funnel(d, "solved", "crimes", id="area", kind="proportion", overdispersion=True, winsorise=0.1, quiet=True)
    omitted = funnel(d, "solved", "crimes", id="area", quiet=True)
    for name, value in (("kind", "proportion"), ("overdispersion", True), ("winsorise", 0.1)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert (omitted.kind, omitted.overdispersion) == ("proportion", True)
    plain = funnel(d, "solved", "crimes", overdispersion=False, winsorise=0.2, quiet=True)
    assert plain.tau2 == 0.0 and plain.settings["winsorise"].value == 0.2


def test_issue_11_limits_and_settings_on_the_per_scale(capsys):
    # issue 11: the table's limits were per 1 while the chart was per 1,000, and .settings held 0.0125 for "12.5"
    d = pd.DataFrame({"area": list("ABCD"), "crimes": [10, 20, 30, 40], "pop": [1000, 2000, 2000, 3000]})
    raw = funnel(d, "crimes", "pop", kind="rate", id="area", quiet=True)
    r = funnel(d, "crimes", "pop", kind="rate", id="area", per=1000)
    assert "target set to 12.5 per 1000" in capsys.readouterr().err        # 100 crimes / 8,000 residents
    assert r.settings["target"].value == pytest.approx(12.5) and r.settings["target"].unit == "per 1000"
    assert raw.settings["target"].value == pytest.approx(0.0125) and raw.settings["target"].unit is None
    assert r.target == pytest.approx(0.0125)                                # the raw-scale field, documented
    assert r.table["indicator"].tolist() == pytest.approx([10.0, 10.0, 15.0, 13.333333333])
    for k in ("lower_95", "upper_95", "lower_998", "upper_998"):
        np.testing.assert_allclose(r.table[k], raw.table[k] * 1000, rtol=1e-12)
    assert (r.table["lower_998"] < r.table["indicator"]).all() and (r.table["indicator"] < r.table["upper_998"]).all()
    assert r.table["flag"].tolist() == raw.table["flag"].tolist()
    assert r.settings["per"].value == 1000
    assert "target of 12.5" in r.summary()
