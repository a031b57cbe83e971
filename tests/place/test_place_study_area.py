"""Study areas (issue 11, item 5): hot spots on the ground where crime can be recorded, not a bounding box."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from whatworks.errors import WhatworksError
from whatworks.place import concentration, gistar, grid, kde, knox
from whatworks.place._study_area import fmt_area, fmt_length, length_unit

matplotlib.use("Agg")


def _ring(n=15, width=2, cell=100.0):
    """A town in a ring of cells around empty moorland: 4, 5 or 6 crimes in each ring cell, none in the middle."""
    pts = []
    for r in range(n):
        for c in range(n):
            if width <= r < n - width and width <= c < n - width:
                continue                                  # moorland: no crime can be recorded here
            pts += [(c * cell + 50, r * cell + 50)] * (4 + (r * 3 + c) % 3)
    crimes = pd.DataFrame(pts, columns=["x", "y"])
    points = crimes.drop_duplicates().reset_index(drop=True)   # the map points crimes are snapped to
    points.attrs["whatworks_points"] = "police.uk map point"
    return crimes, points


# CHECK OUTPUTS: the moorland ----------------------------------------------------------------------------------------
def test_bounding_box_counts_moorland_as_zeros_and_finds_spurious_hot_spots():
    crimes, _ = _ring()
    g = grid(crimes, cell_size=100, quiet=True)
    assert len(g.table) == 225 and (g.table["count"] == 0).sum() == 121      # 11 × 11 moorland cells of zeros
    c = gistar(g, quiet=True).table["classification"].value_counts()
    assert c["hot spot"] == 45 and c["cold spot"] == 81


def test_study_area_of_map_points_finds_no_spurious_hot_spots(capsys):
    crimes, points = _ring()
    g = grid(crimes, cell_size=100, study_area=points, crs="EPSG:27700")
    err = capsys.readouterr().err
    assert "study area: 104 cells of 100 m holding at least one police.uk map point (1.04 km²)" in err
    assert len(g.table) == 104 and (g.table["count"] > 0).all() and g.table["count"].sum() == len(crimes) == 520
    assert g.settings["study_area_cells"].value == 104 and g.settings["study_area_km2"].value == pytest.approx(1.04)
    arr = g.to_array()
    assert np.isnan(arr[7, 7]) and arr[0, 0] == 4                            # moorland absent, not zero
    r = gistar(g, quiet=True)
    assert len(r.table) == 104 and (r.table["classification"] == "not significant").all()
    # neighbours are counted within the study area only: a ring corner cell has 3 neighbours + itself
    assert r.table.loc[(r.table["row"] == 0) & (r.table["col"] == 0), "neighbours"].item() == 4
    assert r.table.loc[(r.table["row"] == 1) & (r.table["col"] == 1), "neighbours"].item() == 8   # moorland corner
    assert "within 141 m" in r.summary() and "104 cells of 100 m" in r.summary()


def test_fast_path_equals_binary_weights_over_the_study_area():
    crimes, points = _ring()
    g = grid(crimes, cell_size=100, study_area=points, quiet=True)
    fast = gistar(g, quiet=True).table
    slow = gistar(g.table[["x", "y", "count"]], distance=100 * np.sqrt(2), quiet=True).table
    np.testing.assert_allclose(fast["gistar"], slow["gistar"], rtol=1e-12)
    np.testing.assert_array_equal(fast["neighbours"], slow["neighbours"])


def test_gistar_study_area_on_a_bounding_box_grid_equals_the_study_area_grid():
    crimes, points = _ring()
    g = grid(crimes, cell_size=100, quiet=True)
    late = gistar(g, study_area=points, quiet=True).table
    early = gistar(grid(crimes, cell_size=100, study_area=points, quiet=True), quiet=True).table
    assert len(late) == 104
    np.testing.assert_allclose(late["gistar"].to_numpy(), early["gistar"].to_numpy(), rtol=1e-12)


def test_default_is_todays_bounding_box_and_is_announced(capsys):
    crimes, _ = _ring()
    a = grid(crimes, cell_size=100)
    assert "study area: the bounding box of the data, 225 cells of 100 m (2.25 km²); cells with no crime there count " \
           "as zeros" in capsys.readouterr().err
    b = grid(crimes, cell_size=100, study_area=None, quiet=True)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.settings["study_area"].value == "bounding box" and a.settings["study_area"].source == "default"
    assert a.study_area.n_cells == 225


def test_polygon_study_area_and_points_outside_it(capsys):
    crimes, _ = _ring()
    crimes = pd.concat([crimes, pd.DataFrame({"x": [5000.0], "y": [5000.0]})], ignore_index=True)
    town = box(0, 0, 1500, 1500).difference(box(200, 200, 1300, 1300))      # the ring, as a polygon
    g = grid(crimes, cell_size=100, study_area=town, crs="EPSG:27700")
    err = capsys.readouterr().err
    assert "1 point(s) excluded: 1 outside the study area" in err
    # cells overlapping the polygon: the 15 × 15 box less the 11 × 11 hole, cells touching the hole's edge left out
    assert len(g.table) == 104 and g.table["count"].sum() == 520
    assert g.excluded["reason"].tolist() == ["outside the study area"]
    with pytest.raises(WhatworksError, match="outside the study area.*position 520"):
        grid(crimes, cell_size=100, study_area=town, on_stray="error", quiet=True)


def test_boundaries_table_as_study_area_and_lonlat_polygon_refused():
    crimes, _ = _ring()
    b = pd.DataFrame({"id": ["A"], "name": ["Ringtown"],
                      "geometry": [box(0, 0, 1500, 1500).difference(box(200, 200, 1300, 1300))]})
    assert len(grid(crimes, cell_size=100, study_area=b, quiet=True).table) == 104
    with pytest.raises(WhatworksError, match="longitude/latitude"):
        grid(crimes, cell_size=100, study_area=box(-1.6, 53.7, -1.5, 53.8), quiet=True)
    with pytest.raises(WhatworksError, match="'study_area' parameter must be"):
        grid(crimes, cell_size=100, study_area="moor", quiet=True)


# CONCENTRATION: the denominator is the study area ---------------------------------------------------------------------
def test_concentration_denominator_is_study_area_cells(capsys):
    crimes, points = _ring()
    whole = concentration(grid(crimes, cell_size=100, quiet=True))
    err = capsys.readouterr().err
    assert "places are 225 cells of 100 m covering the bounding box of the data" in err
    area = concentration(grid(crimes, cell_size=100, study_area=points, quiet=True))
    assert "places are 104 cells of 100 m in the study area (1.04 km²)" in capsys.readouterr().err
    assert (whole.n_places, area.n_places) == (225, 104)
    assert whole.places_for_50 == pytest.approx(46 / 225) and area.places_for_50 == pytest.approx(46 / 104)
    assert area.share_places_with_crime == 1.0 and whole.share_places_with_crime == pytest.approx(104 / 225)
    later = concentration(grid(crimes, cell_size=100, quiet=True), study_area=points, quiet=True)
    assert later.n_places == 104 and later.places_for_50 == area.places_for_50
    with pytest.raises(WhatworksError, match="needs a grid"):
        concentration([1, 2, 3], study_area=points)


# KDE: values outside masked, units in events per km² ------------------------------------------------------------------
def test_kde_masks_outside_the_study_area_and_speaks_km2():
    crimes, points = _ring()
    k = kde(crimes, cell_size=50, bandwidth=300, study_area=points, crs="EPSG:27700", quiet=True)
    full = kde(crimes, cell_size=50, bandwidth=300, extent=(50, 1450, 50, 1450), quiet=True)
    # 50 m cells on map points 100 m apart: only the 104 cells holding a point are study area (of 29 × 29)
    assert len(k.table) == 104 and (k.lattice.nrows, k.lattice.ncols) == (29, 29)
    assert k.to_array().shape == (k.lattice.nrows, k.lattice.ncols)
    assert np.isnan(k.to_array()).sum() == k.lattice.n_cells - len(k.table)
    # inside the study area the values are those of the unmasked estimate on the same lattice
    same = full.table.set_index("cell_id").loc[k.table["cell_id"], "density"].to_numpy()
    np.testing.assert_allclose(k.table["density"].to_numpy(), same, rtol=1e-12)
    s = k.summary()
    assert "events per km²" in s and "bandwidth 300 m" in s and "masked" in s


# MAPS: boundaries with names, or the study area's outline ---------------------------------------------------------------
def test_plot_draws_boundaries_with_labels_or_the_outline():
    crimes, points = _ring()
    g = grid(crimes, cell_size=100, study_area=points, crs="EPSG:27700", quiet=True)
    r = gistar(g, quiet=True)
    b = pd.DataFrame({"id": ["N", "S"], "name": ["North ward", "South ward"],
                      "geometry": [box(0, 750, 1500, 1500), box(0, 0, 1500, 750)]})
    fig = r.plot(boundaries=b)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["North ward", "South ward"]
    assert ax.get_xlabel() == "easting (m)"
    outline = r.plot().axes[0]
    assert len(outline.lines) == 2 and not outline.texts      # the ring's outer edge and its hole
    assert len(grid(crimes, cell_size=100, quiet=True).plot().axes[0].lines) == 1   # bounding box: one rectangle
    assert len(kde(crimes, cell_size=50, bandwidth=300, quiet=True).plot(boundaries=b, label=False).axes[0].texts) == 0
    with pytest.raises(WhatworksError, match="geometry column"):
        r.plot(boundaries=pd.DataFrame({"x": [1]}))


def test_units_helpers():
    assert fmt_length(500 * np.sqrt(2)) == "707 m" and fmt_length(2.5) == "2.5 m" and fmt_length(1250) == "1,250 m"
    assert fmt_area(77.2e6) == "77.2 km²" and fmt_area(0.56e6) == "0.56 km²"
    assert length_unit("EPSG:27700") == "m" and length_unit("EPSG:4326") == "°" and length_unit(None) == "m"


# KNOX: study area ---------------------------------------------------------------------------------------------------------
def test_knox_study_area_leaves_out_events_outside(capsys):
    rng = np.random.default_rng(2)
    ev = pd.DataFrame({"x": rng.uniform(0, 1000, 60), "y": rng.uniform(0, 1000, 60), "occurred": rng.integers(0, 90, 60)})
    r = knox(ev, distance_bands=[0, 200], time_bands=[0, 14], permutations=0,
             study_area=Polygon([(0, 0), (500, 0), (500, 1000), (0, 1000)]))
    inside = int((ev["x"] <= 500).sum())
    assert r.n_events == inside
    assert f"{60 - inside:,} of 60 event(s) left out: {60 - inside} outside the study area" in capsys.readouterr().err
