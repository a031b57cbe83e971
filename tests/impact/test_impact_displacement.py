"""Weighted Displacement Quotient (issue 14, item 5): hand-worked figures on area counts and on points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from whatworks.errors import WhatworksError
from whatworks.impact.displacement import displacement, wdq


def test_wdq_hand_worked():
    # A 100 → 60, B 80 → 70, C 1000 → 1000: success = 0.06 − 0.10 = −0.04; buffer = 0.07 − 0.08 = −0.01; WDQ = 0.25
    r = wdq(100, 60, 80, 70, 1000, 1000)
    assert r["success_measure"] == pytest.approx(-0.04)
    assert r["buffer_measure"] == pytest.approx(-0.01)
    assert r["wdq"] == pytest.approx(0.25) and "diffusion" in r["reading"]
    # buffer rises 80 → 130: buffer = +0.05, WDQ = −1.25: displacement larger than the benefit
    r = wdq(100, 60, 80, 130, 1000, 1000)
    assert r["wdq"] == pytest.approx(-1.25) and "larger than the benefit" in r["reading"]
    # no success: not defined, said plainly
    r = wdq(100, 120, 80, 80, 1000, 1000)
    assert r["wdq"] is None and "not defined" in r["reading"]


def _area_crimes():
    rows = []
    for code, before, after in (("T1", 60, 30), ("T2", 40, 30), ("B1", 80, 70), ("C1", 500, 520), ("C2", 500, 480)):
        rows += [{"lsoa_code": code, "month": "2023-03", "n": before}, {"lsoa_code": code, "month": "2023-09", "n": after}]
    return pd.DataFrame(rows)


def test_area_counts_mode():
    r = displacement(_area_crimes(), ["T1", "T2"], ["B1"], ["C1", "C2"], ("2023-01", "2023-06"), ("2023-07", "2023-12"),
                     count="n")
    t = r.table.set_index("area")
    assert t.loc["treated"].tolist()[:2] == [100, 60] and t.loc["control"].tolist()[:2] == [1000, 1000]
    assert r.wdq == pytest.approx(0.25) and r.success_measure == pytest.approx(-0.04)
    assert "WDQ +0.25" in r.summary()
    assert r.plot() is not None


def test_points_mode_with_buffer_distance():
    treated = box(0, 0, 100, 100)
    control = box(1000, 1000, 2000, 2000)
    pts = []
    # treated: 10 before, 5 after; 50 m ring: 4 before, 4 after; control 20 / 20; one crime far away (in no area)
    pts += [(50, 50, "2023-02")] * 10 + [(50, 50, "2023-08")] * 5
    pts += [(120, 50, "2023-02")] * 4 + [(120, 50, "2023-08")] * 4
    pts += [(1500, 1500, "2023-02")] * 20 + [(1500, 1500, "2023-08")] * 20
    pts += [(5000, 5000, "2023-02"), (np.nan, np.nan, "2023-02")]
    df = pd.DataFrame(pts, columns=["x", "y", "month"])
    r = displacement(df, treated, 50, control, ("2023-01", "2023-06"), ("2023-07", "2023-12"))
    # success = 5/20 − 10/20 = −0.25; buffer = 0 → WDQ 0
    assert r.success_measure == pytest.approx(-0.25) and r.wdq == pytest.approx(0.0)
    assert r.settings["buffer"].unit == "metres" and r.settings["without_coordinates"].value == 1


def test_bad_input():
    with pytest.raises(WhatworksError, match="share codes"):
        displacement(_area_crimes(), ["T1"], ["T1"], ["C1"], ("2023-01", "2023-06"), ("2023-07", "2023-12"), count="n")
    with pytest.raises(WhatworksError, match="control area needs crime"):
        displacement(_area_crimes(), ["T1"], ["B1"], ["ZZ"], ("2023-01", "2023-06"), ("2023-07", "2023-12"), count="n")
    with pytest.raises(WhatworksError, match="must end before"):
        displacement(_area_crimes(), ["T1"], ["B1"], ["C1"], ("2023-01", "2023-08"), ("2023-07", "2023-12"), count="n")
    with pytest.raises(WhatworksError, match="overlap"):
        displacement(pd.DataFrame({"x": [1.0], "y": [1.0], "month": ["2023-01"]}), box(0, 0, 10, 10), box(5, 5, 20, 20),
                     box(100, 100, 200, 200), ("2023-01", "2023-06"), ("2023-07", "2023-12"))
