"""Tests for whatworks.trials.randomise: exact probabilities (10,000 draws), block/cluster integrity, errors."""

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.trials import balance_table, draw_assignments, randomise
from whatworks.trials.randomise import build_design

REPS = 10_000
TOL = 0.02  # issue 7: each unit's empirical rate within 2% of its declared probability


def _units(n=37, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "cell": [f"c{i:03d}" for i in range(n)],
        "area": rng.choice(["north", "south", "east"], n),
        "street": rng.integers(0, 12, n),
        "crimes": rng.poisson(5, n),
    })


def _block_cluster_units():
    # 14 clusters nested in 3 blocks, unequal cluster sizes.
    rows = []
    for cl in range(14):
        block = "ABC"[cl % 3]
        for j in range(1 + cl % 4):
            rows.append({"cell": f"{cl}-{j}", "beat": f"b{cl}", "area": block})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- CHECK OUTPUTS: exact probabilities
@pytest.mark.parametrize("method, kw", [
    ("simple", dict(prob=0.3)),
    ("complete", dict(prob=0.5)),           # N = 37: m is 18 or 19 at random
    ("complete", dict(prob=0.37)),
    ("block", dict(blocks="area", prob=0.5)),
    ("block", dict(blocks="area", prob={"north": 0.25, "south": 0.5, "east": 0.7})),
    ("cluster", dict(cluster="street", prob=0.4)),
])
def test_empirical_rates_match_declared_probabilities(method, kw):
    units = _units()
    design = build_design(units, method=method, blocks=kw.get("blocks"), cluster=kw.get("cluster"),
                          prob=kw["prob"], m=None)
    draws = draw_assignments(design, REPS, np.random.default_rng(123))
    declared = randomise(units, method, id="cell", seed=0, **kw).table["prob_treatment"].to_numpy()
    np.testing.assert_allclose(draws.mean(axis=0), declared, atol=TOL, rtol=0)


def test_block_cluster_rates_and_integrity():
    units = _block_cluster_units()
    design = build_design(units, method="block_cluster", blocks="area", cluster="beat", prob=0.5, m=None)
    draws = draw_assignments(design, REPS, np.random.default_rng(5))
    np.testing.assert_allclose(draws.mean(axis=0), 0.5, atol=TOL)
    # every cluster is assigned whole in every draw
    for _, idx in units.groupby("beat").groups.items():
        sub = draws[:, np.asarray(idx)]
        assert np.all(sub.min(axis=1) == sub.max(axis=1))
    # clusters treated per block is floor or ceil of clusters × prob
    n_cl = units.groupby("area")["beat"].nunique()
    for area, k in n_cl.items():
        first_of_cluster = units[units["area"] == area].drop_duplicates("beat").index.to_numpy()
        treated = draws[:, first_of_cluster].sum(axis=1)
        assert set(np.unique(treated)) <= {int(np.floor(k * 0.5)), int(np.ceil(k * 0.5))}


def test_block_sizes_respected_exactly():
    units = _units(60, seed=3)
    design = build_design(units, method="block", blocks="area", cluster=None, prob=0.5, m=None)
    draws = draw_assignments(design, REPS, np.random.default_rng(9))
    for area, idx in units.groupby("area").groups.items():
        n_b = len(idx)
        treated = draws[:, np.asarray(idx)].sum(axis=1)
        assert set(np.unique(treated)) <= {n_b // 2, (n_b + 1) // 2}
        if n_b % 2 == 0:
            assert np.all(treated == n_b // 2)


def test_complete_random_rounding_gives_exact_expected_count():
    units = _units(37)
    design = build_design(units, method="complete", blocks=None, cluster=None, prob=0.5, m=None)
    treated = draw_assignments(design, REPS, np.random.default_rng(1)).sum(axis=1)
    assert set(np.unique(treated)) == {18, 19}
    assert treated.mean() == pytest.approx(18.5, abs=0.05)


def test_fixed_m_and_public_function_over_many_seeds():
    units = _units(10)
    counts = np.zeros(10)
    seeds = 500
    for s in range(seeds):
        t = randomise(units, "complete", id="cell", m=3, seed=s).table
        assert t["treatment"].sum() == 3
        counts += t["treatment"].to_numpy()
    np.testing.assert_allclose(counts / seeds, 0.3, atol=0.07)  # 3.4 SDs at 500 seeds


def test_same_seed_same_assignment_and_prob_condition():
    units = _units()
    a = randomise(units, "block", id="cell", blocks="area", seed=42).table
    b = randomise(units, "block", id="cell", blocks="area", seed=42).table
    pd.testing.assert_frame_equal(a, b)
    assert not randomise(units, "block", id="cell", blocks="area", seed=43).table["treatment"].equals(a["treatment"])
    np.testing.assert_allclose(a["prob_condition"], np.where(a["treatment"] == 1, 0.5, 0.5))
    p = randomise(units, "simple", id="cell", prob=0.2, seed=1).table
    np.testing.assert_allclose(p["prob_condition"], np.where(p["treatment"] == 1, 0.2, 0.8))


def test_balance_table_by_hand():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "a"]})
    t = np.array([1, 1, 0, 0], dtype=bool)
    bal = balance_table(df, t, ["x", "g"])
    row = bal[bal["covariate"] == "x"].iloc[0]
    assert row["mean_treatment"] == 1.5 and row["mean_control"] == 3.5
    assert row["sd_pooled"] == pytest.approx(np.sqrt(0.5))
    assert row["smd"] == pytest.approx(-2 / np.sqrt(0.5))
    ga = bal[(bal["covariate"] == "g") & (bal["level"] == "a")].iloc[0]
    assert ga["mean_treatment"] == 0.5 and ga["mean_control"] == 1.0


def test_result_summary_plot_and_redraw():
    r = randomise(_units(), "block", id="cell", blocks="area", balance=["crimes", "area"], seed=2)
    assert "Block randomisation (seed 2)" in r.summary() and "SMD" in r.summary()
    assert r.plot().axes[0].get_title() == "Covariate balance"
    again = r.redraw(500, seed=1)
    assert again.shape == (500, len(r.table))
    assert repr(r).startswith("<RandomisationResult: block")


# ---------------------------------------------------------------- CHECK INPUTS
def test_duplicate_unit_ids():
    units = _units(5)
    units.loc[3, "cell"] = "c001"
    with pytest.raises(WhatworksError, match=r"unique; 'c001'.*First offending row: position 3"):
        randomise(units, id="cell")


def test_missing_block_values():
    units = _units(6)
    units.loc[4, "area"] = None
    with pytest.raises(WhatworksError, match=r"Column 'area' \(block\) has missing values.*position 4"):
        randomise(units, "block", id="cell", blocks="area")


@pytest.mark.parametrize("prob", [0, 1, -0.2, 1.5, float("nan"), "half", True])
def test_probabilities_outside_unit_interval(prob):
    with pytest.raises(WhatworksError, match="strictly between 0 and 1"):
        randomise(_units(6), id="cell", prob=prob)


def test_block_prob_mapping_must_cover_blocks_and_be_valid():
    with pytest.raises(WhatworksError, match="no probability for block"):
        randomise(_units(), "block", id="cell", blocks="area", prob={"north": 0.5})
    with pytest.raises(WhatworksError, match="strictly between 0 and 1"):
        randomise(_units(), "block", id="cell", blocks="area", prob={"north": 0.5, "south": 1.0, "east": 0.5})


def test_method_and_column_consistency():
    with pytest.raises(WhatworksError, match="needs the 'blocks' column"):
        randomise(_units(), "block", id="cell")
    with pytest.raises(WhatworksError, match="does not use blocks"):
        randomise(_units(), "complete", id="cell", blocks="area")
    with pytest.raises(WhatworksError, match="one of"):
        randomise(_units(), "stratified", id="cell")
    with pytest.raises(WhatworksError, match="not found"):
        randomise(_units(), "block", id="cell", blocks="ward")
    bad = _block_cluster_units()
    first_b3 = bad.index[bad["beat"] == "b3"][0]
    bad.loc[first_b3, "area"] = "C"  # cluster b3 (4 cells, block A) now spans blocks A and C
    with pytest.raises(WhatworksError, match="spans more than one block"):
        randomise(bad, "block_cluster", id="cell", blocks="area", cluster="beat")
    with pytest.raises(WhatworksError, match="pandas DataFrame"):
        randomise([1, 2, 3])


def test_balance_table_constant_arms_and_single_unit_arm():
    # Review regression: a level present in every treated unit and no control unit has pooled SD 0 but is
    # maximally imbalanced; it used to be reported as SMD 0 ("good").
    d = pd.DataFrame({"t": [1, 1, 0, 0], "x": ["a", "a", "b", "b"], "v": [2.0, 2, 2, 2]})
    b = balance_table(d, "t", ["x", "v"]).set_index(["covariate", "level"])
    assert b.loc[("x", "a"), "smd"] == np.inf
    assert b.loc[("x", "b"), "smd"] == -np.inf
    assert b["smd"].iloc[2] == 0.0
    one = balance_table(d.iloc[1:], "t", ["v"])      # one treated unit: no SD
    assert np.isnan(one["smd"].iloc[0])
    r = randomise(pd.DataFrame({"id": [1, 2], "x": [1.0, 5.0]}), id="id", balance=["x"], seed=0)
    assert "Largest imbalance" not in r.summary()


# ---------------------------------------------------------------- SETTINGS: an explicit value equal to the default is the caller's
def test_explicit_defaults_are_recorded_as_given_and_assignments_unchanged():
    # review: method, prob and seed (default 0) were always recorded as "user"
    units = _units()
    given = randomise(units, "complete", id="cell", prob=0.5, seed=0)
    omitted = randomise(units, id="cell")
    for name, value in (("method", "complete"), ("prob", 0.5), ("seed", 0)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    # omitting them still means complete randomisation, prob 0.5, seed 0: the identical assignment, pinned here
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.method == "complete" and omitted.seed == 0
    assert "".join(map(str, omitted.table["treatment"])) == "0111000010010101011111000100000110111"
    # seed 0 is a real seed, not "no seed": another seed gives another assignment
    assert not randomise(units, id="cell", seed=1).table["treatment"].equals(omitted.table["treatment"])
    # columns not used are recorded as not given
    assert omitted.settings["blocks"].source == omitted.settings["cluster"].source == "default"
    blocked = randomise(units, "block", id="cell", blocks="area")
    assert (blocked.settings["blocks"].value, blocked.settings["blocks"].source) == ("area", "user")
    assert (blocked.settings["method"].source, blocked.settings["prob"].source) == ("user", "default")


def test_m_and_prob_are_alternatives():
    # with m the probability is implied (m / J) and recorded as such; giving both is refused, as in randomizr
    units = _units()
    r = randomise(units, id="cell", m=10)
    assert r.settings["prob"].value == pytest.approx(10 / 37) and "implied by m = 10" in r.settings["prob"].reason
    assert (r.table["prob_treatment"] == 10 / 37).all() and r.table["treatment"].sum() == 10
    with pytest.raises(WhatworksError, match="either 'prob' or 'm'"):
        randomise(units, id="cell", m=10, prob=0.5)
