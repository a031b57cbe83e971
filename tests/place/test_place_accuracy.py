"""whatworks.place.accuracy — hit rate, PAI, PEI, RRI on hand-built cases."""

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import accuracy, gistar, grid


def test_hand_built_equal_cells():
    obs = [6, 2, 1, 1, 0, 0, 0, 0, 0, 0]
    flagged = [False, True, False, False, False, False, False, False, False, False]
    r = accuracy(flagged, obs)
    assert r.hit_rate == pytest.approx(0.2)          # 2 of 10 crimes
    assert r.area_share == pytest.approx(0.1)
    assert r.pai == pytest.approx(2.0)               # 0.2 / 0.1
    assert r.pei == pytest.approx(2 / 6)             # the best single cell held 6
    assert r.best_hit_rate == pytest.approx(0.6)
    assert np.isnan(r.rri) and "baseline=" in r.summary()


def test_rri_levine():
    obs = np.array([6, 2, 1, 1])
    base = np.array([3, 3, 2, 2])
    r = accuracy([True, False, False, False], obs, baseline=base)
    assert r.rri == pytest.approx((6 / 3) / (10 / 10))
    assert r.table.set_index("measure").loc["rri", "value"] == pytest.approx(2.0)
    assert "Levine 2008" in r.table.set_index("measure").loc["rri", "definition"]


def test_rri_undefined_when_baseline_has_no_crime_in_flagged_places():
    # review: the summary told the user to "give baseline=" although they had
    r = accuracy([True, False], [1, 1], baseline=[0, 4])
    assert np.isnan(r.rri)
    assert "baseline counts have no crime in the flagged places" in r.summary()
    assert "Give baseline=" not in r.summary()


def test_unequal_areas_pei_pro_rata():
    obs = [10, 10, 1]
    area = [1.0, 4.0, 1.0]
    r = accuracy([False, True, False], obs, area=area)
    # flagged area 4 of 6; best: cell 0 (density 10) then 3/4 of cell 1 (density 2.5) → 10 + 7.5
    assert r.area_share == pytest.approx(4 / 6)
    assert r.pei == pytest.approx(10 / 17.5)


def test_with_grid_and_gistar():
    rng = np.random.default_rng(2)
    pts = pd.DataFrame(np.vstack([rng.uniform(0, 2000, (1500, 2)), rng.normal(1000, 60, (400, 2))]), columns=["x", "y"])
    later = pd.DataFrame(np.vstack([rng.uniform(0, 2000, (1500, 2)), rng.normal(1000, 60, (400, 2))]), columns=["x", "y"])
    g1 = grid(pts, cell_size=100, extent=(0, 2000, 0, 2000), quiet=True)
    g2 = grid(later, cell_size=100, extent=(0, 2000, 0, 2000), quiet=True)
    hs = gistar(g1, quiet=True)
    r = accuracy(hs, g2, baseline=g1.table["count"])
    assert r.pai > 3 and 0 < r.pei <= 1 and r.rri > 0.5


def test_bad_inputs():
    with pytest.raises(WhatworksError, match="one entry per place"):
        accuracy([True, False], [1, 2, 3])
    with pytest.raises(WhatworksError, match="No place is flagged"):
        accuracy([False, False], [1, 2])
    with pytest.raises(WhatworksError, match="non-negative counts"):
        accuracy([True, False], [1, -2])
    with pytest.raises(WhatworksError, match="True/False"):
        accuracy(["yes", "no"], [1, 2])


def test_plot():
    import matplotlib

    matplotlib.use("Agg")
    assert accuracy([True, False, False], [3, 1, 1]).plot().axes
