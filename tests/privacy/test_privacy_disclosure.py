"""privacy.disclosure.suppress: small cells hidden, with complementary suppression so no total gives one away."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

from whatworks.errors import WhatworksError
from whatworks.privacy.disclosure import TOTAL, suppress


# ---------------------------------------------------------------- CHECK OUTPUTS
def test_a_two_by_two_with_one_small_cell_hides_all_four_body_cells():
    t = pd.DataFrame({"A": [10, 2], "B": [7, 12]}, index=["ward 1", "ward 2"])
    r = suppress(t, quiet=True)
    pub = r.published()
    assert pub.loc[["ward 1", "ward 2"], ["A", "B"]].to_numpy().tolist() == [["[c]", "[c]"], ["[c]", "[c]"]]
    assert pub.loc["ward 1", TOTAL] == 17 and pub.loc[TOTAL, "A"] == 12 and pub.loc[TOTAL, TOTAL] == 31
    assert int(r.primary.to_numpy().sum()) == 1 and int(r.secondary.to_numpy().sum()) == 3


def test_nothing_small_means_nothing_hidden():
    t = pd.DataFrame({"A": [10, 0], "B": [7, 12]})
    r = suppress(t, quiet=True)
    assert not r.suppressed.to_numpy().any()
    assert r.summary() == "No cell under 5: nothing suppressed."
    assert r.table.loc[1, "A"] == 0  # zeros are published unless zeros=True


def test_zeros_can_be_suppressed_too_and_the_threshold_is_recorded():
    t = pd.DataFrame({"A": [10, 0, 9], "B": [7, 12, 8], "C": [6, 6, 6]})
    r = suppress(t, zeros=True, threshold=3, quiet=True)
    assert r.primary.loc[1, "A"] and r.suppressed.loc[1, "A"]
    assert r.settings["threshold"].value == 3 and r.settings["threshold"].source == "user"
    assert suppress(t, quiet=True).settings["threshold"].source == "default"


def test_the_default_is_announced(capsys):
    suppress(pd.DataFrame({"A": [10]}))
    assert "cells under 5 are suppressed" in capsys.readouterr().err


# ---------------------------------------------------------------- CHECK INPUTS
@pytest.mark.parametrize("table, match", [
    (pd.DataFrame({"A": [1.5]}), "whole numbers"),
    (pd.DataFrame({"A": [-1]}), "whole numbers"),
    (pd.DataFrame({"A": [np.nan]}), "whole numbers"),
    (pd.DataFrame({"A": ["x"]}), "not numeric"),
    (pd.DataFrame(), "empty"),
])
def test_bad_tables_are_refused(table, match):
    with pytest.raises(WhatworksError, match=match):
        suppress(table, quiet=True)


def test_a_bad_threshold_is_refused():
    with pytest.raises(WhatworksError, match="threshold"):
        suppress(pd.DataFrame({"A": [1]}), threshold=0)


# ---------------------------------------------------------------- PROPERTIES
def _range(full: np.ndarray, hidden: np.ndarray, cell) -> tuple[float, float]:
    """What an attacker can say about ``cell`` from every published figure (an independent LP, not the module's)."""
    n_r, n_c = full.shape[0] - 1, full.shape[1] - 1
    var = {tuple(p): k for k, p in enumerate(np.argwhere(hidden))}
    eqs, rhs = [], []
    lines = [[(i, j) for j in range(n_c)] + [(i, n_c)] for i in range(n_r + 1)] + \
            [[(i, j) for i in range(n_r)] + [(n_r, j)] for j in range(n_c + 1)]
    for line in lines:
        a = np.zeros(len(var))
        b = 0.0
        for k, p in enumerate(line):
            sign = -1.0 if k == len(line) - 1 else 1.0
            if p in var:
                a[var[p]] += sign
            else:
                b -= sign * full[p]
        eqs.append(a)
        rhs.append(b)
    c = np.zeros(len(var))
    c[var[cell]] = 1
    lo = linprog(c, A_eq=np.array(eqs), b_eq=np.array(rhs), bounds=(0, None), method="highs")
    hi = linprog(-c, A_eq=np.array(eqs), b_eq=np.array(rhs), bounds=(0, None), method="highs")
    assert lo.status == 0, lo.message  # the truth is feasible, and counts are bounded below by 0
    return lo.fun, (np.inf if hi.status == 3 else -hi.fun)  # status 3: unbounded above (everything hidden)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 30), min_size=c, max_size=c), min_size=r, max_size=r))))
def test_no_published_cell_is_small_and_no_small_cell_can_be_worked_out(rows):
    table = pd.DataFrame(rows, columns=[f"c{j}" for j in range(len(rows[0]))])
    r = suppress(table, quiet=True)
    pub = r.table
    shown = ~r.suppressed.to_numpy()
    vals = pub.to_numpy(dtype=float, na_value=np.nan)
    # 1. nothing published lies in 1..4
    assert not ((vals[shown] > 0) & (vals[shown] < 5)).any()
    # 2. what is shown is the truth
    truth = np.zeros(vals.shape)
    body = np.array(rows, dtype=float)
    truth[:-1, :-1] = body
    truth[:-1, -1] = body.sum(axis=1)
    truth[-1, :-1] = body.sum(axis=0)
    truth[-1, -1] = body.sum()
    assert np.array_equal(vals[shown], truth[shown])
    # 3. no small hidden cell is determined exactly by the published sums
    for cell in np.argwhere(r.primary.to_numpy()):
        lo, hi = _range(truth, r.suppressed.to_numpy(), tuple(cell))
        assert hi - lo > 1e-6, (cell, lo, hi)
