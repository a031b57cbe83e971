"""Tests for whatworks.trials.power: parity with R pwr (golden), statsmodels, and simulation."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.rates import power_poisson_ratio_2indep

from whatworks.errors import WhatworksError
from whatworks.trials import power

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "trials_power.json"
ATOL = 1e-6            # issue 7: power equals R pwr to 1e-6
PWR_UNIROOT_ATOL = 2e-4  # pwr's own solver stops at uniroot's default tol (~1.2e-4 on the solved quantity)


def _cases():
    # A missing golden file must fail, not skip.
    data = json.loads(GOLDEN.read_text())
    return data["cases"]


def test_golden_file_exists_and_has_versions():
    data = json.loads(GOLDEN.read_text())
    assert data["versions"]["pwr"] and len(data["cases"]) >= 20


# ---------------------------------------------------------------- CHECK OUTPUTS: parity with R pwr
@pytest.mark.parametrize("i", range(21))
def test_matches_pwr(i):
    c = _cases()[i]
    ratio = c.get("ratio", 1.0)
    if c["test"] == "t":
        kw = dict(alpha=c["alpha"], alternative=c["alternative"].replace("two.sided", "two-sided"), ratio=ratio)
        if c["solve"] == "power":
            got = power("means", n=c["n"], effect=c["effect"], **kw).power
        elif c["solve"] == "n":
            got = power("means", effect=c["effect"], power=c["power"], **kw).n
        else:
            got = power("means", n=c["n"], power=c["power"], **kw).effect
    else:
        kw = dict(alpha=c["alpha"], alternative="two-sided")
        if c["solve"] == "power":
            r = power("proportions", n=c["n"], effect=c["p1"], baseline=c["p2"], ratio=ratio, **kw)
            assert abs(r.h) == pytest.approx(abs(c["h"]), abs=1e-12)
            got = r.power
        elif c["solve"] == "n":
            got = power("proportions", effect=c["p1"], baseline=c["p2"], power=c["power"], **kw).n
        elif c["solve"] == "n2":
            # pwr.2p2n.test solved n2 for fixed n1: our power at (n1, n2) must be the target power.
            r = power("proportions", n=c["n"], ratio=c["value"] / c["n"], effect=c["p1"], baseline=c["p2"], **kw)
            assert r.power == pytest.approx(c["power"], abs=ATOL)
            return
        else:
            got = abs(power("proportions", n=c["n"], power=c["power"], baseline=0.5, **kw).h)
    assert got == pytest.approx(c["value"], abs=ATOL, rel=0)
    assert got == pytest.approx(c["pwr_default"], abs=PWR_UNIROOT_ATOL, rel=0)


def test_every_golden_case_is_tested():
    assert len(_cases()) == 21


# ---------------------------------------------------------------- counts
def test_poisson_matches_statsmodels_poisson_formula():
    # Independent implementation in statsmodels (power_poisson_ratio_2indep) for the Poisson case.
    r = power("poisson", n=80, baseline=5.0, effect=0.8)
    ref = power_poisson_ratio_2indep(4.0, 5.0, 80, 1, 1, value=1, alternative="two-sided", return_results=False)
    assert r.power == pytest.approx(ref, abs=1e-12)


def test_negbin_needs_more_units_than_poisson():
    n_p = power("poisson", baseline=6, effect=0.8, power=0.8).n
    n_nb = power("negbin", baseline=6, effect=0.8, power=0.8, dispersion=0.5).n
    assert n_nb > n_p * 1.5


def test_negbin_power_agrees_with_simulated_wald_test():
    # Simulate the Wald test of the log rate ratio on negative-binomial counts (vectorised) and compare.
    rng = np.random.default_rng(7)
    n, mu0, rr, a = 60, 6.0, 0.75, 0.4
    sims = 20000
    size = 1 / a
    y0 = rng.negative_binomial(size, size / (size + mu0), (sims, n))
    y1 = rng.negative_binomial(size, size / (size + mu0 * rr), (sims, n))
    m0, m1 = y0.mean(1), y1.mean(1)
    se = np.sqrt((1 / m0 + a) / n + (1 / m1 + a) / n)
    rejected = np.abs(np.log(m1 / m0) / se) > 1.959963984540054
    r = power("negbin", n=n, baseline=mu0, effect=rr, dispersion=a)
    assert rejected.mean() == pytest.approx(r.power, abs=0.02)


def test_solving_effect_then_power_round_trips():
    for test, kw in (("means", {}), ("proportions", {"baseline": 0.3}), ("negbin", {"baseline": 6, "dispersion": 0.3}),
                     ("poisson", {"baseline": 2})):
        mde = power(test, n=120, power=0.8, **kw)
        back = power(test, n=120, effect=mde.effect, **kw)
        assert back.power == pytest.approx(0.8, abs=1e-8)
        assert mde.effect < (1 if test in ("negbin", "poisson") else 10)


def test_direction_increase_gives_rate_ratio_above_one():
    up = power("poisson", n=100, power=0.8, baseline=3, direction="increase")
    down = power("poisson", n=100, power=0.8, baseline=3)
    assert up.effect > 1 > down.effect


# ---------------------------------------------------------------- clusters
def test_design_effect_inflates_sample_size():
    base = power("means", effect=0.3, power=0.8)
    cl = power("means", effect=0.3, power=0.8, icc=0.05, cluster_size=20)
    assert cl.design_effect == pytest.approx(1 + 19 * 0.05)
    # With the t df reduced to 2k − 2 the required n is at least n·DE.
    assert cl.n >= base.n * cl.design_effect - 1e-6
    assert cl.clusters_per_arm == pytest.approx(cl.n / 20)
    assert "design effect 1.95" in cl.summary()


def test_icc_zero_cluster_size_one_is_individual_design_up_to_df():
    a = power("proportions", n=200, effect=0.2, baseline=0.3)
    b = power("proportions", n=200, effect=0.2, baseline=0.3, icc=0.0, cluster_size=1)
    assert a.power == pytest.approx(b.power, abs=1e-12)


def test_power_curve_table_and_plot():
    r = power("means", effect=0.5, power=0.8)
    assert {"n_per_arm", "n_total", "power"} <= set(r.table.columns)
    assert r.table["power"].is_monotonic_increasing
    fig = r.plot()
    assert fig.axes[0].get_xlabel() == "units per arm"
    assert "64 per arm" in r.summary()


# ---------------------------------------------------------------- CHECK INPUTS
@pytest.mark.parametrize("kw, match", [
    (dict(n=20, effect=0.5, power=0.8), "exactly one"),
    (dict(effect=0.5), "exactly one"),
    (dict(n=20, effect=0.5, alpha=1.5), "alpha"),
    (dict(n=1, effect=0.5), "'n'"),
    (dict(n=20, effect=0.5, icc=0.1), "both 'icc' and 'cluster_size'"),
    (dict(n=20, effect=0.0), "not be zero"),
])
def test_bad_input_means(kw, match):
    with pytest.raises(WhatworksError, match=match):
        power("means", **kw)


def test_bad_input_other():
    with pytest.raises(WhatworksError, match="baseline"):
        power("proportions", n=20, effect=0.3)
    with pytest.raises(WhatworksError, match="dispersion"):
        power("negbin", n=20, effect=0.8, baseline=3)
    with pytest.raises(WhatworksError, match="rate ratio 'effect' of 1"):
        power("poisson", n=20, effect=1.0, baseline=3)
    with pytest.raises(WhatworksError, match="test"):
        power("ttest", n=20, effect=0.3)
    with pytest.raises(WhatworksError, match="power"):
        power("means", n=20, power=1.2)


# ---------------------------------------------------------------- SETTINGS: an explicit value equal to the default is the caller's
def test_explicit_defaults_are_recorded_as_given():
    # review: test, alpha, alternative and ratio had non-None defaults, so they were always recorded as "user"
    given = power("means", effect=0.5, power=0.8, alpha=0.05, alternative="two-sided", ratio=1.0)
    omitted = power(effect=0.5, power=0.8)
    for name, value in (("test", "means"), ("alpha", 0.05), ("alternative", "two-sided"), ("ratio", 1.0)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    # omitting them still means the documented defaults: the same answer and curve
    assert (omitted.test, omitted.alpha, omitted.alternative, omitted.ratio) == ("means", 0.05, "two-sided", 1.0)
    assert omitted.n == given.n
    pd.testing.assert_frame_equal(omitted.table, given.table)
    other = power(effect=0.5, power=0.8, alpha=0.01, ratio=2)
    assert other.settings["alpha"].source == other.settings["ratio"].source == "user"


def test_dispersion_source_follows_the_caller():
    # review: dispersion was recorded "user" whenever test == "negbin", "default" for Poisson even when given
    nb = power("negbin", n=60, baseline=6, effect=0.8, dispersion=0.3)
    assert (nb.settings["dispersion"].value, nb.settings["dispersion"].source) == (0.3, "user")
    omitted = power("poisson", n=60, baseline=6, effect=0.8)
    given = power("poisson", n=60, baseline=6, effect=0.8, dispersion=0)
    assert (omitted.settings["dispersion"].value, omitted.settings["dispersion"].source) == (0.0, "default")
    assert (given.settings["dispersion"].value, given.settings["dispersion"].source) == (0, "user")
    assert omitted.power == given.power
    # negbin with no dispersion says what is missing; Poisson with a dispersion is not silently ignored
    with pytest.raises(WhatworksError, match="needs the dispersion 'dispersion'"):
        power("negbin", n=60, baseline=6, effect=0.8)
    with pytest.raises(WhatworksError, match="Poisson test has no dispersion"):
        power("poisson", n=60, baseline=6, effect=0.8, dispersion=0.3)


def test_exposure_direction_and_sd_are_recorded():
    # review: exposure, direction and sd were not recorded in .settings at all
    omitted = power("poisson", n=60, baseline=6, power=0.8)
    given = power("poisson", n=60, baseline=6, power=0.8, exposure=1.0, direction="decrease")
    for name, value in (("exposure", 1.0), ("direction", "decrease")):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    assert omitted.effect == given.effect < 1                    # the default is a reduction, as documented
    up = power("poisson", n=60, baseline=6, power=0.8, exposure=2, direction="increase")
    assert (up.settings["exposure"].value, up.settings["exposure"].source) == (2, "user")
    assert up.settings["direction"].value == "increase" and up.effect > 1
    assert "not used" in omitted.settings["sd"].reason and omitted.settings["sd"].source == "default"
    # a given effect carries its own direction: recorded as derived from it ("data"), the option not used
    for kw, direction in ((dict(test="negbin", effect=0.8, dispersion=0.3, baseline=6), "decrease"),
                          (dict(test="poisson", effect=1.25, baseline=6), "increase"),
                          (dict(test="proportions", effect=0.2, baseline=0.3), "decrease"),
                          (dict(test="proportions", effect=0.4, baseline=0.3), "increase")):
        r = power(**kw, n=80)
        assert (r.settings["direction"].value, r.settings["direction"].source) == (direction, "data"), kw
        assert r.settings["direction"].reason.startswith("implied by the effect")
    clash = power("poisson", effect=0.8, baseline=6, n=80, direction="increase")
    assert clash.settings["direction"].value == "decrease"
    assert "direction='increase' is used only when solving for the effect" in clash.settings["direction"].reason
    assert clash.power == power("poisson", effect=0.8, baseline=6, n=80).power
    # means: sd given or not (effect in outcome units or Cohen's d); exposure and direction are not used
    raw = power("means", effect=2.0, sd=4, power=0.8)
    std = power("means", effect=0.5, power=0.8)
    assert (raw.settings["sd"].value, raw.settings["sd"].source) == (4, "user")
    assert (std.settings["sd"].value, std.settings["sd"].source) == (None, "default")
    assert raw.n == std.n
    assert "not used" in std.settings["exposure"].reason and "not used" in std.settings["direction"].reason
    assert std.settings["direction"].source == "default"
