"""privacy.disclosure.Publishing / choose_publishing and suppress(also=): the rule every public output applies
(issue 12), and the public version of a table export (store.exports.write_table(public=True))."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from whatworks.errors import WhatworksError
from whatworks.privacy.disclosure import DEFAULT_MARKING, MARKER, Publishing, choose_publishing, suppress
from whatworks.store.exports import provenance_path, write_table

counts = st.lists(st.integers(0, 40), min_size=1, max_size=12)
tables = st.integers(1, 5).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 30), min_size=c, max_size=c), min_size=r, max_size=r)))


# ---------------------------------------------------------------- PROPERTIES
@settings(max_examples=150, deadline=None)
@given(counts, st.integers(2, 10))
def test_hidden_never_shows_a_small_count_and_never_hides_one_cell_alone(values, thr):
    pub = Publishing(True, thr)
    hid = pub.hidden(dict(enumerate(values)))
    total = sum(values)
    shown = [v for k, v in enumerate(values) if not hid[k]]
    assert not [v for v in shown if 0 < v < thr]
    n_hidden = sum(hid.values())
    total_hidden = 0 < total < thr
    # the total is published unless it is small itself: then one hidden cell is not given away by it
    assert n_hidden != 1 or total_hidden


@settings(max_examples=80, deadline=None)
@given(tables)
def test_no_line_of_a_suppressed_table_has_exactly_one_hidden_cell_unless_its_total_is_hidden(rows):
    r = suppress(pd.DataFrame(rows), quiet=True)
    h = r.suppressed.to_numpy()
    vals = r.table.to_numpy(dtype=float, na_value=np.nan)
    assert not ((vals[~h] > 0) & (vals[~h] < 5)).any()
    for i in range(h.shape[0]):          # rows: body cells and their total (last column)
        assert h[i, :-1].sum() != 1 or h[i, -1]
    for j in range(h.shape[1]):          # columns: body cells and their total (last row)
        assert h[:-1, j].sum() != 1 or h[-1, j]


@settings(max_examples=60, deadline=None)
@given(tables, st.data())
def test_cells_hidden_elsewhere_are_hidden_and_protected(rows, data):
    t = pd.DataFrame(rows)
    also = pd.DataFrame(np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=t.shape[1], max_size=t.shape[1]),
                                                    min_size=t.shape[0], max_size=t.shape[0]))), index=t.index,
                        columns=t.columns)
    r = suppress(t, also=also, quiet=True)
    h = r.suppressed.to_numpy()
    assert h[:-1, :-1][also.to_numpy()].all()
    for i in range(h.shape[0]):
        assert h[i, :-1].sum() != 1 or h[i, -1]


# ---------------------------------------------------------------- CHECK OUTPUTS / INPUTS of the options
def test_choose_publishing_records_and_announces(capsys):
    s = {}
    pub = choose_publishing(True, None, None, where="pack", settings=s)
    assert pub.public and pub.threshold == 5 and s["disclosure threshold"].source == "default"
    assert "public version: cells under 5" in capsys.readouterr().err
    assert pub.label.startswith("PUBLIC VERSION — cells under 5 suppressed")
    work = choose_publishing(False, None, "OFFICIAL", where="pack", settings={})
    assert work.label == "OFFICIAL" and work.provenance() == {"public": False, "marking": "OFFICIAL"}
    assert choose_publishing(False, None, None, where="pack").marking == DEFAULT_MARKING
    assert not any(Publishing(False).hidden({"a": 1, "b": 50}).values())


@pytest.mark.parametrize("args, match", [((1, None, None), "True or False"), ((True, 1, None), "at least 2"),
                                         ((True, True, None), "whole number"), ((False, None, ""), "non-empty")])
def test_bad_options_are_refused(args, match):
    with pytest.raises(WhatworksError, match=match):
        choose_publishing(*args, where="pack")


def test_also_must_match_the_table():
    with pytest.raises(WhatworksError, match="'also'"):
        suppress(pd.DataFrame({"A": [1, 9]}), also=pd.DataFrame({"A": [True]}), quiet=True)


# ---------------------------------------------------------------- the public version of a table export
def test_a_public_csv_export_suppresses_small_cells_with_totals_and_records_the_rule(tmp_path):
    t = pd.DataFrame({"ward": ["=evil", "North", "South"], "Burglary": [12, 3, 20], "Robbery": [7, 9, 11]})
    out = write_table(t, tmp_path / "c.csv", public=True, disclosure_threshold=5, quiet=True)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["ward", "Burglary", "Robbery", "Total"] and rows[-1][0] == "Total"
    assert rows[1][0] == "'=evil"            # still neutralised for spreadsheets
    cells = [c for r in rows[1:] for c in r[1:]]
    assert not [c for c in cells if c != MARKER and 0 < float(c) < 5]
    grid = [r[1:] for r in rows[1:]]
    for line in grid + [list(c) for c in zip(*grid)]:   # no line with exactly one hidden cell
        assert sum(c == MARKER for c in line) != 1
    assert grid[1][0] == MARKER
    prov = json.loads(provenance_path(out).read_text())
    assert prov["public"] is True and prov["disclosure_threshold"] == 5
    assert prov["disclosure_rule"] == "cells under 5 suppressed, with secondary suppression"
    assert prov["suppressed_cells"] >= 4 and prov["suppressed_shown_as"] == MARKER
    # a working export records that it is not public
    w = write_table(t, tmp_path / "w.csv")
    assert json.loads(provenance_path(w).read_text())["public"] is False


def test_a_public_export_refuses_a_rate_column_and_stray_options(tmp_path):
    t = pd.DataFrame({"ward": ["a", "b"], "count": [3, 9], "rate": [0.3, 0.9]})
    with pytest.raises(WhatworksError, match="'rate' is numeric but not a count"):
        write_table(t, tmp_path / "r.csv", public=True, counts=["count"], quiet=True)
    with pytest.raises(WhatworksError, match="public export only"):
        write_table(t, tmp_path / "r.csv", disclosure_threshold=5)
    with pytest.raises(WhatworksError, match="public export only"):
        write_table(t, tmp_path / "r.csv", counts=["count"])
    assert not (tmp_path / "r.csv").exists()
    p = write_table(t[["ward", "count"]], tmp_path / "r.parquet", public=True, quiet=True)
    back = pd.read_parquet(p)
    assert back["count"].isna().sum() >= 2 and back["ward"].iloc[-1] == "Total"
