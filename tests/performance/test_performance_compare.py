"""Tests for whatworks.performance.compare: equality with R poisson.test (golden JSON), input checks, and coverage of
the exact interval on simulated counts with a known rate ratio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance.compare import compare

GOLDEN = Path(__file__).parents[1] / "golden" / "compare_golden.json"


def _num(x):
    if x in ("Inf", "inf", None):
        return np.inf
    return float(x)


def test_equals_r_poisson_test():
    assert GOLDEN.exists(), "missing golden file: run Rscript tests/golden/make_compare_golden.R"
    cases = json.loads(GOLDEN.read_text())["cases"]
    checked = 0
    for c in cases:
        for alt, ralt in (("two-sided", "two_sided"), ("less", "less"), ("greater", "greater")):
            for cl in (0.95, 0.90):
                exp = c[f"{ralt}_{int(cl * 100)}"]
                r = compare(c["a"], c["b"], c["exposure_a"], c["exposure_b"], conf_level=cl, alternative=alt)
                assert r.p_value == pytest.approx(exp["p_value"], rel=1e-7, abs=1e-12), (c, alt, cl)
                if c["a"] + c["b"] > 0:
                    assert r.estimate == pytest.approx(_num(exp["estimate"]), rel=1e-12)
                assert r.ci[0] == pytest.approx(_num(exp["ci_low"]), rel=1e-7, abs=1e-12), (c, alt, cl)
                assert r.ci[1] == pytest.approx(_num(exp["ci_high"]), rel=1e-7), (c, alt, cl)
                checked += 1
    assert checked == len(cases) * 6 >= 200


def test_vectorised_equals_scalar_calls():
    a, b = [120, 5, 30], [150, 9, 30]
    many = compare(a, b, exposure_a=[1, 1, 2], labels=["burglary", "robbery", "drugs"])
    for i in range(3):
        one = compare(a[i], b[i], [1, 1, 2][i])
        assert many.table["p_value"].iloc[i] == one.p_value
        assert many.table["ci_low"].iloc[i] == one.ci[0]
    assert many.table["label"].tolist() == ["burglary", "robbery", "drugs"]
    assert "3 comparisons" in repr(many)
    assert many.plot().axes


def test_summary_wording():
    assert "could be chance" in compare(120, 150).summary()
    assert "beyond what chance would explain" in compare(60, 150).summary()
    assert "nothing to compare" in compare(0, 0).summary()


def test_both_zero_policy():
    r = compare(0, 0)
    assert np.isnan(r.estimate) and r.p_value == 1.0 and r.ci == (0.0, np.inf)


@pytest.mark.parametrize("kw,msg", [
    (dict(count_a=-1, count_b=2), "not negative"),
    (dict(count_a=1.5, count_b=2), "whole counts"),
    (dict(count_a=1, count_b=2, exposure_a=0), "must be positive"),
    (dict(count_a=[1, 2], count_b=[1, 2, 3]), "same length"),
    (dict(count_a="many", count_b=2), "number or a list"),
    (dict(count_a=[], count_b=[]), "nothing to compare"),   # review: was an IndexError
])
def test_bad_input(kw, msg):
    with pytest.raises(WhatworksError, match=msg):
        compare(**kw)


def test_bad_options():
    with pytest.raises(WhatworksError, match="'alternative'"):
        compare(1, 2, alternative="two.sided")
    with pytest.raises(WhatworksError, match="'conf_level'"):
        compare(1, 2, conf_level=95)


def test_interval_coverage_on_simulated_counts():
    # true rate ratio 1.3 with unequal exposures; exact intervals are conservative: coverage >= 95%
    rng = np.random.default_rng(3)
    ea, eb, rate_b = 2.0, 3.0, 10.0
    a = rng.poisson(1.3 * rate_b * ea, 2000)
    b = rng.poisson(rate_b * eb, 2000)
    t = compare(a, b, ea, eb).table
    cover = ((t["ci_low"] <= 1.3) & (1.3 <= t["ci_high"])).mean()
    assert 0.95 <= cover <= 0.985
    # and under the null (equal rates) the test rejects at most about 5%
    a0 = rng.poisson(rate_b * ea, 2000)
    assert compare(a0, b, ea, eb).table["significant"].mean() <= 0.06


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: conf_level and alternative were always recorded as "user", even when left out
    given = compare(120, 150, conf_level=0.95, alternative="two-sided")
    omitted = compare(120, 150)
    for name, value in (("conf_level", 0.95), ("alternative", "two-sided")):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.conf_level == 0.95
    one_sided = compare(120, 150, alternative="less", conf_level=0.9)
    assert one_sided.settings["alternative"].value == "less" and one_sided.p_value < omitted.p_value
