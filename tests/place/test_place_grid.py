"""whatworks.place.grid — CHECK INPUTS, CHECK OUTPUTS, stray points, hexagons."""

import json

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import grid
from whatworks.place._lattice import Lattice, choose_cell_size, find_strays, nice_floor


# CHECK INPUTS ------------------------------------------------------------------------------------------------------
def test_missing_column_named():
    with pytest.raises(WhatworksError, match=r"grid\(\): Column\(s\) \['lon'\] not found"):
        grid(pd.DataFrame({"x": [1.0], "y": [2.0]}), x="lon")


def test_non_numeric_coordinate_names_row():
    df = pd.DataFrame({"x": [1.0, "a"], "y": [2.0, 3.0]})
    with pytest.raises(WhatworksError, match=r"Column 'x' must be numeric.*'a'.*position 1"):
        grid(df)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), "100"])
def test_bad_cell_size(bad):
    df = pd.DataFrame({"x": [0.0, 1000.0], "y": [0.0, 1000.0]})
    with pytest.raises(WhatworksError, match="cell_size"):
        grid(df, cell_size=bad)


def test_bad_shape_and_extent():
    df = pd.DataFrame({"x": [0.0, 1000.0], "y": [0.0, 1000.0]})
    with pytest.raises(WhatworksError, match="'shape' parameter must be one of"):
        grid(df, shape="triangle")
    with pytest.raises(WhatworksError, match="extent"):
        grid(df, extent=(10, 0, 0, 10))


def test_too_many_cells_refused():
    df = pd.DataFrame({"x": [0.0, 1e6], "y": [0.0, 1e6]})
    with pytest.raises(WhatworksError, match="more than the limit"):
        grid(df, cell_size=1, quiet=True)


# DEFAULTS ------------------------------------------------------------------------------------------------------------
def test_nice_floor_ladder():
    assert [nice_floor(v) for v in (0.37, 1, 2.49, 7.9, 24, 99, 0.0123)] == [0.25, 1, 2, 5, 20, 50, 0.01]


def test_cell_size_rule_matches_sfhotspot():
    # sfhotspot: shorter side / 50, floored to a multiple of 100 when >= 100
    assert choose_cell_size(0, 30000, 0, 12345)[0] == 200
    assert choose_cell_size(0, 30000, 0, 37000)[0] == 600
    # below 100: a round number
    assert choose_cell_size(0, 1000, 0, 2000)[0] == 20
    assert choose_cell_size(0, 3700, 0, 9000)[0] == 50


def test_default_cell_size_is_announced_and_recorded(capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 10000, 500), "y": rng.uniform(0, 5000, 500)})
    g = grid(df)
    err = capsys.readouterr().err
    assert "cell size set to 50" in err   # shorter side ≈ 4,990 → 99.8 → round number 50
    s = g.settings["cell_size"]
    assert s.source == "data" and "1/50 of the shorter side" in s.reason
    assert g.cell_size == s.value
    g2 = grid(df, quiet=True)
    assert capsys.readouterr().err == ""
    assert g2.settings["cell_size"].value == s.value


# CHECK OUTPUTS -------------------------------------------------------------------------------------------------------
def test_hand_built_square_counts():
    df = pd.DataFrame({"x": [0, 50, 99.9, 100, 250, 300], "y": [0, 0, 50, 0, 150, 200]})
    g = grid(df, cell_size=100, quiet=True)
    assert (g.lattice.nrows, g.lattice.ncols) == (3, 4)
    arr = g.to_array()
    assert arr[0, 0] == 3 and arr[0, 1] == 1 and arr[1, 2] == 1 and arr[2, 3] == 1   # max edge goes to last cell
    assert arr.sum() == 6 and len(g.table) == 12  # zero cells kept
    assert list(g.table.columns) == ["cell_id", "row", "col", "x", "y", "count"]
    assert g.table.loc[0, "x"] == 50 and g.table.loc[0, "y"] == 50


def test_weights_are_summed():
    df = pd.DataFrame({"x": [10, 20, 150], "y": [10, 20, 10], "harm": [2.0, 3.5, 1.0]})
    g = grid(df, cell_size=100, weights="harm", quiet=True)
    assert g.table["count"].tolist() == [5.5, 1.0]


def test_hexagon_assignment_is_nearest_centre():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.uniform(0, 1000, 3000), "y": rng.uniform(0, 800, 3000)})
    g = grid(df, cell_size=100, shape="hex", quiet=True)
    lat = g.lattice
    _, _, cx, cy = lat.centres()
    ids = lat.locate(df["x"].to_numpy(), df["y"].to_numpy())
    d = (df["x"].to_numpy()[:, None] - cx[None]) ** 2 + (df["y"].to_numpy()[:, None] - cy[None]) ** 2
    assert np.array_equal(ids, d.argmin(axis=1))
    assert g.table["count"].sum() == 3000
    assert lat.cell_area == pytest.approx(np.sqrt(3) / 2 * 100 ** 2)


# STRAY POINTS (sfhotspot users: "(0,0) should not explode the grid") ----------------------------------------------------
def test_zero_zero_and_far_points_are_excluded_and_reported(capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.uniform(530000, 540000, 400), "y": rng.uniform(180000, 186000, 400)})
    df.loc[5] = [0.0, 0.0]
    df.loc[9] = [-0.12, 51.5]          # a lon/lat pair mixed into British National Grid data
    df.loc[11] = [np.nan, 181000.0]
    g = grid(df, cell_size=100)
    err = capsys.readouterr().err
    assert "3 point(s) excluded" in err
    ex = g.excluded.set_index("index")
    assert ex.loc[5, "reason"].startswith("at (0, 0)")
    assert ex.loc[9, "reason"] == "far outside the extent of the other points"
    assert ex.loc[11, "reason"] == "missing coordinates"
    assert g.table["count"].sum() == 397
    assert g.lattice.n_cells < 10_000   # not a grid stretching to (0, 0)
    assert g.settings["excluded_points"].value == 3
    assert "Excluded: " in g.summary()


def test_on_stray_error_names_first_row():
    df = pd.DataFrame({"x": [530000.0, 530500, 531000, 0], "y": [180000.0, 180400, 180900, 0]})
    with pytest.raises(WhatworksError, match=r"stray.*position 3"):
        grid(df, cell_size=100, on_stray="error")


def test_zero_zero_kept_when_data_surround_it():
    # local coordinates centred on the origin: (0, 0) is a real location
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-500, 500, 300), rng.uniform(-500, 500, 300)
    x[0] = y[0] = 0.0
    assert (find_strays(x, y) == "").all()


def test_extent_excludes_outside_points():
    df = pd.DataFrame({"x": [10.0, 20, 500], "y": [10.0, 20, 500]})
    g = grid(df, cell_size=10, extent=(0, 100, 0, 100), quiet=True)
    assert g.excluded["reason"].tolist() == ["outside the given extent"]
    assert g.lattice.ncols == 11


def test_all_excluded_is_an_error():
    with pytest.raises(WhatworksError, match="No points are left"):
        grid(pd.DataFrame({"x": [np.nan, np.nan], "y": [1.0, 2.0]}), cell_size=1)


# GEOJSON ----------------------------------------------------------------------------------------------------------------
def test_geojson_polygons_in_input_crs():
    df = pd.DataFrame({"x": [530010.0, 530150], "y": [180010.0, 180020]})
    g = grid(df, cell_size=100, crs="EPSG:27700", quiet=True)
    gj = g.to_geojson()
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == len(g.table)
    assert gj["crs"]["properties"]["name"] == "EPSG:27700"
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert ring[0] == [530010.0, 180010.0] and ring[2] == [530110.0, 180110.0]
    assert gj["features"][0]["properties"]["count"] == 1
    assert json.loads(g.to_geojson(as_string=True)) == gj
    gh = grid(df, cell_size=100, shape="hex", quiet=True).to_geojson()
    assert len(gh["features"][0]["geometry"]["coordinates"][0]) == 7


def test_plot_returns_figure():
    import matplotlib

    matplotlib.use("Agg")
    df = pd.DataFrame({"x": [0.0, 50, 250], "y": [0.0, 70, 20]})
    for shape in ("square", "hex"):
        fig = grid(df, cell_size=50, shape=shape, quiet=True).plot()
        assert fig.axes
    assert "points in" in repr(grid(df, cell_size=50, quiet=True))


def test_lattice_roundtrip_centres_locate():
    lat = Lattice.covering("square", 10, 0, 95, 0, 45)
    _, _, cx, cy = lat.centres()
    assert np.array_equal(lat.locate(cx, cy), np.arange(lat.n_cells))
    hexl = Lattice.covering("hex", 10, 0, 95, 0, 45)
    _, _, hx, hy = hexl.centres()
    assert np.array_equal(hexl.locate(hx, hy), np.arange(hexl.n_cells))


def test_explicit_shape_equal_to_default_is_recorded_as_given():
    # review: the shape was recorded as "user" only when it differed from "square" ("user" if shape != "square"), so
    # an explicit shape="square" was recorded as a default
    rng = np.random.default_rng(2)
    pts = pd.DataFrame({"x": rng.uniform(0, 1000, 300), "y": rng.uniform(0, 1000, 300)})
    given = grid(pts, cell_size=100, shape="square", quiet=True)
    omitted = grid(pts, cell_size=100, quiet=True)
    assert (given.settings["shape"].value, given.settings["shape"].source) == ("square", "user")
    assert (omitted.settings["shape"].value, omitted.settings["shape"].source) == ("square", "default")
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.lattice.shape == "square"
    hexed = grid(pts, cell_size=100, shape="hex", quiet=True)
    assert (hexed.settings["shape"].value, hexed.settings["shape"].source) == ("hex", "user")
