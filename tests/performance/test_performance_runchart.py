"""Tests for whatworks.performance.runchart (Anhøj rules): thresholds equal qicharts2's formulas for n = 10…100
(golden JSON made in R), per-rule hand-built vectors, golden runs analyses, and false-alarm/recovery on simulations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance.runchart import crossings_min, longest_run_max, runchart

GOLDEN = Path(__file__).parents[1] / "golden" / "runchart_golden.json"


def frame(values):
    return pd.DataFrame({"t": np.arange(len(values)), "y": values})


def golden():
    assert GOLDEN.exists(), f"missing golden file {GOLDEN}: run Rscript tests/golden/make_runchart_golden.R"
    return json.loads(GOLDEN.read_text())


# CHECK INPUTS
def test_bad_baseline():
    with pytest.raises(WhatworksError, match="'baseline' parameter"):
        runchart(frame([1, 2, 3]), "y", "t", baseline=0)


def test_missing_column():
    with pytest.raises(WhatworksError, match="not found"):
        runchart(frame([1, 2, 3]), "x", "t")


def test_infinite_value_refused():
    # review: inf was accepted and sat above any median as an ordinary point
    with pytest.raises(WhatworksError, match="(?:must hold finite numbers|must be numeric)"):
        runchart(frame([1.0, 2.0, -np.inf, 4.0]), "y", "t", quiet=True)


# thresholds vs qicharts2 (R)
def test_thresholds_equal_qicharts2_for_n_10_to_100():
    g = pd.DataFrame(golden()["thresholds"])
    assert g["n"].tolist() == list(range(10, 101))
    assert longest_run_max(g["n"].to_numpy()).tolist() == g["longest_run_max"].astype(float).tolist()
    assert crossings_min(g["n"].to_numpy()).tolist() == g["n_crossings_min"].astype(float).tolist()


def test_runs_analysis_equals_r_examples():
    ex = golden()["examples"]
    d = pd.concat([frame(e["values"]).assign(id=e["id"]) for e in ex], ignore_index=True)
    r = runchart(d, "y", "t", by="id", quiet=True).runs.set_index("id")
    for e in ex:
        row = r.loc[e["id"]]
        assert row["median"] == pytest.approx(e["median"], abs=1e-12)
        for k in ("n_useful", "longest_run", "longest_run_max", "n_crossings", "n_crossings_min"):
            assert row[k] == e[k], (e["id"], k)
        assert bool(row["runs_signal"]) == e["runs_signal"]
    assert sum(e["runs_signal"] for e in ex) >= 10          # the examples exercise both outcomes


# rules on hand-built vectors
def test_points_on_median_are_ignored():
    # median 5; the 5s are dropped: useful = 1,9,1,9 → 4 useful, 3 crossings
    r = runchart(frame([1, 5, 9, 5, 1, 5, 9]), "y", "t", quiet=True)
    row = r.runs.iloc[0]
    assert row["n_useful"] == 4 and row["n_crossings"] == 3 and row["longest_run"] == 1
    assert r.table["on_median"].sum() == 3


def test_long_run_signal():
    # 20 points: 10 below then 10 above → n=20, longest 10 > round(log2 20)+3 = 7; crossings 1 < 6
    r = runchart(frame([1] * 10 + [9] * 10), "y", "t", quiet=True)
    row = r.runs.iloc[0]
    assert row["longest_run"] == 10 and row["longest_run_max"] == 7
    assert row["long_run_signal"] and row["crossings_signal"]
    assert r.table["in_long_run"].all()
    assert "non-random variation" in r.summary()


def test_alternating_series_has_no_signal():
    r = runchart(frame([1, 9] * 10), "y", "t", quiet=True)
    assert not r.runs["runs_signal"].iloc[0]
    assert "random variation around the median" in r.summary()
    assert r.plot().axes


def test_all_on_median():
    r = runchart(frame([3, 3, 3]), "y", "t", quiet=True)
    assert r.runs["n_useful"].iloc[0] == 0 and not r.runs["runs_signal"].iloc[0]
    assert "no runs analysis possible" in r.summary()


def test_baseline_median():
    r = runchart(frame([1, 2, 3, 10, 11, 12]), "y", "t", baseline=3, quiet=True)
    assert r.table["median"].iloc[0] == 2


# simulated truth
def test_false_alarm_and_step_detection():
    rng = np.random.default_rng(8)
    n_series, n = 1000, 24
    stable = rng.poisson(20, (n_series, n)).astype(float)
    def long(y):
        return pd.DataFrame({"s": np.repeat(np.arange(n_series), n), "t": np.tile(np.arange(n), n_series), "y": y.ravel()})
    fa = runchart(long(stable), "y", "t", by="s", quiet=True).runs["runs_signal"].mean()
    hits = {}
    for k in (2, 3):
        stepped = stable.copy()
        stepped[:, 12:] += k * np.sqrt(20)       # a step of k standard deviations half-way
        hits[k] = runchart(long(stepped), "y", "t", by="s", quiet=True).runs["runs_signal"].mean()
    # Measured (seed 8, Poisson(20), n = 24): 2.4% of stable series signal; 61% with a 2-SD step, 95% with 3 SD.
    assert 0.005 < fa < 0.08
    assert hits[2] > 0.45
    assert hits[3] > 0.9
