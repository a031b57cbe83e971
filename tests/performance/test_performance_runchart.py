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


# baseline= (qicharts2's freeze): worked example
def test_frozen_baseline_runs_analysis_covers_every_point_as_qicharts2():
    # qicharts2 (anhoej/qicharts2, R/helper.functions.R): qic.run() sets the centre line to the median of the
    # baseline points (`base <- x$baseline & x$include`; baseline = xx <= freeze), and runs.analysis() then takes
    # every included point of the chart part (`y <- x$y[x$include]; cl <- x$cl[x$include]`), not only the baseline
    # or only the points after it. n.useful, and so both thresholds, count every useful point of the whole series.
    #
    # 20 points, baseline = 12 (freeze = 12):
    #   baseline  8 12  9 11  7 13 10 12  8 11  9 14   sorted 7 8 8 9 9 10 11 11 12 12 13 14 → median (10+11)/2 = 10.5
    #   after    12 13 10.5 14 12 13 15 12
    # sides against the frozen 10.5: baseline − + − + − + − + − + − +  (alternating: 12 runs of 1);
    #   after + + 0 + + + + +  — the 10.5 is on the centre line: it neither breaks nor extends the run.
    # useful points n = 20 − 1 = 19. The last baseline point (14, +) starts a run that the 7 useful "after" points
    # extend: longest run = 1 + 7 = 8. Runs = 11 alternating runs + that one = 12 → crossings = 11.
    # Thresholds for n = 19: longest run max = round(log2 19) + 3 = round(4.25) + 3 = 7;
    #   fewest crossings = qbinom(0.05, 18, 0.5) = 6 (P(X ≤ 5) = 12616/2^18 = 0.048 < 0.05 ≤ P(X ≤ 6) = 0.119).
    # So: run of 8 > 7 → long-run signal; 11 crossings ≥ 6 → no crossings signal; runs signal.
    # The other readings give different answers, so this example tells them apart:
    #   baseline points only: n = 12, longest 1, crossings 11 → no signal;
    #   after-baseline points only: n = 7, longest 7 > round(log2 7) + 3 = 6 and crossings 0 < qbinom(0.05, 6, .5) = 1
    #   → both signals;
    #   no baseline (median of all 20 = 12): n = 15, longest 4, crossings 5 ≥ 4 → no signal.
    y = [8, 12, 9, 11, 7, 13, 10, 12, 8, 11, 9, 14, 12, 13, 10.5, 14, 12, 13, 15, 12]
    r = runchart(frame(y), "y", "t", baseline=12, quiet=True)
    row = r.runs.iloc[0]
    assert row["median"] == 10.5 and row["n_points"] == 20
    assert row["n_useful"] == 19 and row["longest_run"] == 8 and row["n_crossings"] == 11
    assert row["longest_run_max"] == 7 and row["n_crossings_min"] == 6
    assert row["long_run_signal"] and not row["crossings_signal"] and row["runs_signal"]
    t = r.table
    assert (t["median"] == 10.5).all() and t["in_baseline"].tolist() == [True] * 12 + [False] * 8
    # the long run is points 12–20 (1-based) without the point on the centre line
    assert t["in_long_run"].tolist() == [False] * 11 + [True] * 3 + [False] + [True] * 5
    assert "a run of 8 points" in r.summary()
    # without the frozen baseline the same series shows no signal (hand count above)
    whole = runchart(frame(y), "y", "t", quiet=True).runs.iloc[0]
    assert (whole["median"], whole["n_useful"], whole["longest_run"], whole["n_crossings"]) == (12, 15, 4, 5)
    assert not whole["runs_signal"]


def test_frozen_baseline_is_per_series_and_caps_at_series_length():
    # by= series: each series freezes on its own first `baseline` points (qicharts2: per facet, xx <= freeze);
    # a baseline longer than a series uses all its points (every xx <= freeze).
    y = [8, 12, 9, 11, 7, 13, 10, 12, 8, 11, 9, 14, 12, 13, 10.5, 14, 12, 13, 15, 12]
    d = pd.concat([frame(y).assign(s="a"), frame([1.0, 5, 2, 6, 3]).assign(s="b")], ignore_index=True)
    r = runchart(d, "y", "t", by="s", baseline=12, quiet=True).runs.set_index("s")
    assert r.loc["a", "median"] == 10.5 and r.loc["a", "longest_run"] == 8 and r.loc["a", "n_useful"] == 19
    assert r.loc["b", "median"] == 3 and r.loc["b", "n_useful"] == 4            # median of all 5 points; 3 is on it
