"""whatworks.place.kde — within 1% of direct kernel summation; bandwidth rule; small-bandwidth policy."""

import math

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import kde
from whatworks.place.kde import bandwidth_nrd, kernel_value


def _points(seed=1):
    rng = np.random.default_rng(seed)
    pts = np.vstack([rng.normal([0, 0], [300, 200], (1500, 2)), rng.uniform(-1500, 1500, (1500, 2)),
                     rng.normal([800, -500], 60, (300, 2))])
    return pd.DataFrame(pts, columns=["x", "y"])


def _direct(result, df, weights=None, cells=None):
    """Direct kernel summation at the centres of ``cells`` (row positions; all cells when None)."""
    t = result.table if cells is None else result.table.iloc[cells]
    d = np.hypot(t["x"].to_numpy()[:, None] - df["x"].to_numpy()[None], t["y"].to_numpy()[:, None] - df["y"].to_numpy()[None])
    k = kernel_value(d, result.bandwidth, result.kernel)
    return k @ (np.ones(len(df)) if weights is None else weights)


# REFERENCE: direct kernel summation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("cell_size,bandwidth", [(None, None), (100, 400), (25, 400), (50, 120)])
def test_within_one_percent_of_direct_summation(kernel, cell_size, bandwidth):
    df = _points()
    r = kde(df, cell_size=cell_size, bandwidth=bandwidth, kernel=kernel, quiet=True, on_small_bandwidth="keep")
    cells = _sample_cells(r)
    exact = _direct(r, df, cells=cells)
    est = r.table["density"].to_numpy()[cells]
    meaningful = exact >= 0.01 * r.table["density"].max()
    assert meaningful.sum() > 300
    rel = np.abs(est[meaningful] - exact[meaningful]) / exact[meaningful]
    assert rel.max() < 0.01, rel.max()
    # and nowhere off by more than 1% of the peak
    assert np.abs(est - exact).max() < 0.01 * exact.max()


def _sample_cells(r, n=2500):
    """Every cell on small grids; on large ones a random 2,500 plus the 300 densest (direct summation is slow)."""
    m = len(r.table)
    if m <= n:
        return np.arange(m)
    rng = np.random.default_rng(0)
    top = np.argsort(-r.table["density"].to_numpy())[:300]
    return np.unique(np.concatenate([rng.choice(m, n, replace=False), top]))


def test_weights_and_integral():
    df = _points(2)
    w = np.random.default_rng(0).uniform(0, 3, len(df))
    df["harm"] = w
    r = kde(df, cell_size=50, bandwidth=300, weights="harm", quiet=True)
    cells = _sample_cells(r)
    exact = _direct(r, df, w, cells=cells)
    m = exact >= 0.01 * exact.max()
    assert (np.abs(r.table["density"].to_numpy()[cells][m] - exact[m]) / exact[m]).max() < 0.01
    assert r.table["expected"].sum() == pytest.approx(w.sum(), rel=1e-3)   # integrates to total weight


def test_kernels_integrate_to_one():
    h = 10.0
    g = np.arange(-20, 20.001, 0.05)
    d = np.hypot(g[:, None], g[None, :])
    for k in ("quartic", "gaussian"):
        assert kernel_value(d, h, k).sum() * 0.05**2 == pytest.approx(1, abs=1e-3)


# DEFAULTS ---------------------------------------------------------------------------------------------------------------
def test_bandwidth_nrd_matches_mass_formula():
    # MASS::bandwidth.nrd(c(1, 2, 3, 4, 10)): r = quantile(x, c(.25, .75)) = 2, 4; h = 2/1.34;
    # 4 * 1.06 * min(sqrt(var(x)), h) * 5^(-1/5)
    x = np.array([1.0, 2, 3, 4, 10])
    expect = 4 * 1.06 * min(np.std(x, ddof=1), 2 / 1.34) * 5 ** (-0.2)
    assert bandwidth_nrd(x) == pytest.approx(expect, rel=1e-12)
    # values printed by R 4.2.2: MASS::bandwidth.nrd(c(1,2,3,4,10)), MASS::bandwidth.nrd(c(0.5,2.25,7,7.5,12,30,31))
    assert bandwidth_nrd(x) == pytest.approx(4.5866653343185506, rel=1e-12)
    assert bandwidth_nrd(np.array([0.5, 2.25, 7, 7.5, 12, 30, 31])) == pytest.approx(35.10934755029507, rel=1e-12)


def test_defaults_announced(capsys):
    df = _points(3)
    r = kde(df)
    err = capsys.readouterr().err
    assert "bandwidth set to" in err and "normal-reference rule MASS::bandwidth.nrd" in err
    assert "cell size set to" in err
    bw = (bandwidth_nrd(df["x"].to_numpy()) + bandwidth_nrd(df["y"].to_numpy())) / 2
    assert r.bandwidth == pytest.approx(bw, rel=1e-3)
    assert r.lattice.cell_size <= r.bandwidth / 2
    assert r.settings["bandwidth"].source == "data" and r.settings["cell_size"].source == "data"


# SMALL BANDWIDTH POLICY: never silent zeros ------------------------------------------------------------------------------
def test_bandwidth_smaller_than_cell_is_refused_with_hint():
    df = _points(4)
    with pytest.raises(WhatworksError, match=r"bandwidth \(50\) is smaller than the cell size \(100\).*cell_size ≤ 25"):
        kde(df, cell_size=100, bandwidth=50, quiet=True)


def test_refine_shrinks_cells_and_announces(capsys):
    df = _points(4)
    r = kde(df, cell_size=100, bandwidth=50, on_small_bandwidth="refine")
    assert "Cell size refined to 25" in capsys.readouterr().err
    assert r.lattice.cell_size == 25
    cells = _sample_cells(r)
    exact = _direct(r, df, cells=cells)
    m = exact >= 0.01 * exact.max()
    assert (np.abs(r.table["density"].to_numpy()[cells][m] - exact[m]) / exact[m]).max() < 0.01


def test_keep_is_exact_at_centres_and_warned(capsys):
    df = _points(4).iloc[:400]
    r = kde(df, cell_size=100, bandwidth=60, on_small_bandwidth="keep")
    assert "Kept as asked" in capsys.readouterr().err
    exact = _direct(r, df)
    assert np.abs(r.table["density"].to_numpy() - exact).max() < 0.01 * exact.max()
    assert r.settings["small_bandwidth"].value == "kept"


def test_bad_inputs():
    df = _points(5)
    with pytest.raises(WhatworksError, match="'kernel' parameter must be one of"):
        kde(df, kernel="epanechnikov")
    with pytest.raises(WhatworksError, match="'bandwidth' parameter must be a finite number > 0"):
        kde(df, bandwidth=-1)
    df["w"] = 1.0
    df.loc[3, "w"] = -2.0
    with pytest.raises(WhatworksError, match="non-negative weights"):
        kde(df, weights="w", quiet=True)
    with pytest.raises(WhatworksError, match="fewer than 2 points"):
        kde(pd.DataFrame({"x": [1.0], "y": [1.0]}), cell_size=1)


def test_outputs_plot_geojson():
    import matplotlib

    matplotlib.use("Agg")
    df = _points(6).iloc[:300]
    r = kde(df, cell_size=100, bandwidth=400, crs="EPSG:27700", quiet=True)
    assert list(r.table.columns) == ["cell_id", "row", "col", "x", "y", "density", "expected"]
    assert r.to_array().shape == (r.lattice.nrows, r.lattice.ncols)
    assert r.plot().axes
    gj = r.to_geojson()
    assert gj["crs"]["properties"]["name"] == "EPSG:27700" and "density" in gj["features"][0]["properties"]
    assert "Kernel density" in r.summary()
    assert (r.table["density"] >= 0).all()
    # the grid extends by the bandwidth beyond the data, so no mass is cut off
    assert r.table["expected"].sum() == pytest.approx(len(df), rel=2e-3)
    assert math.isfinite(r.bandwidth)


def test_explicit_kernel_equal_to_default_is_recorded_as_given():
    # review: kernel="quartic" passed explicitly was recorded as a default ("user" if kernel != "quartic")
    pts = _points()
    given = kde(pts, bandwidth=300, cell_size=100, kernel="quartic", quiet=True)
    omitted = kde(pts, bandwidth=300, cell_size=100, quiet=True)
    assert (given.settings["kernel"].value, given.settings["kernel"].source) == ("quartic", "user")
    assert (omitted.settings["kernel"].value, omitted.settings["kernel"].source) == ("quartic", "default")
    assert omitted.kernel == "quartic"
    pd.testing.assert_frame_equal(given.table, omitted.table)
    gauss = kde(pts, bandwidth=300, cell_size=100, kernel="gaussian", quiet=True)
    assert (gauss.settings["kernel"].value, gauss.settings["kernel"].source) == ("gaussian", "user")
    with pytest.raises(WhatworksError, match="kernel"):
        kde(pts, bandwidth=300, cell_size=100, kernel="epanechnikov", quiet=True)
