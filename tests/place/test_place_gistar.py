"""whatworks.place.gistar — equals esda and spdep (goldens), permutation p-values, FDR, planted hot spots."""

import json
import math
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import gistar, grid
from whatworks.place._lattice import Lattice
from whatworks.place.grid import GridResult, cell_table
from whatworks.place.gistar import binary_weights, conditional_permutation_p, gistar_z

GOLDEN = pathlib.Path(__file__).parents[1] / "golden"


def _golden(name):
    path = GOLDEN / name
    assert path.exists(), f"missing golden file {path}; regenerate it (see its make_ script)"
    return json.loads(path.read_text())


def _grid_from_case(case) -> GridResult:
    lat = Lattice("square", case["cell_size"], case["x0"], case["y0"], case["nrows"], case["ncols"])
    t = cell_table(lat)
    t["count"] = case["value"]
    return GridResult(table=t, lattice=lat)


# REFERENCE IMPLEMENTATIONS ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("golden", ["place_gistar_golden.json", "place_gistar_spdep.json"])
def test_square_grid_matches_golden(golden):
    ref = _golden(golden)["cases"][0]
    case = _golden("place_gistar_golden.json")["cases"][0]
    r = gistar(_grid_from_case(case), quiet=True)       # default distance = cell size × √2, fast lattice path
    np.testing.assert_allclose(r.table["gistar"], ref["z"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.table["neighbours"], case["neighbours"])
    # the general (KD-tree, sparse-matrix) path on the same cells gives the same numbers
    df = pd.DataFrame({"x": case["x"], "y": case["y"], "count": case["value"]})
    r2 = gistar(df, distance=case["distance"], quiet=True)
    np.testing.assert_allclose(r2.table["gistar"], ref["z"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("golden", ["place_gistar_golden.json", "place_gistar_spdep.json"])
def test_irregular_points_match_golden(golden):
    ref = _golden(golden)["cases"][1]
    case = _golden("place_gistar_golden.json")["cases"][1]
    df = pd.DataFrame({"px": case["x"], "py": case["y"], "v": case["value"]})
    r = gistar(df, "px", "py", "v", distance=case["distance"], quiet=True)
    np.testing.assert_allclose(r.table["gistar"], ref["z"], rtol=0, atol=1e-9)


def test_equals_esda_directly_on_a_hex_grid():
    import esda  # a dev dependency (pyproject [dev] extra)
    from libpysal.weights import WSP

    rng = np.random.default_rng(7)
    df = pd.DataFrame({"x": rng.uniform(0, 2000, 3000), "y": rng.uniform(0, 1500, 3000)})
    g = grid(df, cell_size=100, shape="hex", quiet=True)
    r = gistar(g, quiet=True)
    t = g.table
    w = binary_weights(t["x"].to_numpy(), t["y"].to_numpy(), 100 * math.sqrt(2))
    assert set(np.asarray(w.sum(axis=1)).ravel()) <= {3, 4, 5, 6, 7}    # 6 surrounding hexagons + itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(t["count"].to_numpy(float), WSP(w).to_W(silence_warnings=True), transform="B",
                           star=True, permutations=0)
    np.testing.assert_allclose(r.table["gistar"], ref.Zs, rtol=0, atol=1e-9)


def test_formula_by_hand():
    # 5 places on a line, distance 1: neighbours are i-1, i, i+1
    x = np.array([1.0, 2, 3, 4, 5])
    v = np.array([1.0, 2, 9, 3, 0])
    w = binary_weights(x, np.zeros(5), 1.0)
    z, wi = gistar_z(v, w)
    n, xbar, s = 5, v.mean(), v.std()
    for i in range(5):
        nb = [j for j in range(5) if abs(j - i) <= 1]
        W = len(nb)
        expect = (v[nb].sum() - xbar * W) / (s * math.sqrt((n * W - W * W) / (n - 1)))
        assert z[i] == pytest.approx(expect, abs=1e-12)
        assert wi[i] == W


# PERMUTATIONS, FDR, CLASSIFICATION ----------------------------------------------------------------------------------
def test_conditional_permutation_p_values_are_valid_under_the_null():
    rng = np.random.default_rng(11)
    lat = Lattice("square", 1.0, 0, 0, 30, 30)
    t = cell_table(lat)
    t["count"] = rng.poisson(3, lat.n_cells)
    g = GridResult(table=t, lattice=lat)
    r = gistar(g, permutations=199, fdr=False, seed=5, quiet=True)
    p = r.table["p_value"].to_numpy()
    assert p.min() >= 2 / 200 - 1e-12 and p.max() <= 1
    assert 0.02 <= (p < 0.05).mean() <= 0.09     # about 5% of null cells below 0.05
    # and they broadly track the analytic p-values (counts are discrete, neighbourhoods small: not identical)
    pa = gistar(g, fdr=False, quiet=True).table["p_value"].to_numpy()
    assert np.corrcoef(p, pa)[0, 1] > 0.7
    # reproducible with the seed
    again = gistar(g, permutations=199, fdr=False, seed=5, quiet=True).table["p_value"]
    assert np.array_equal(again.to_numpy(), p)


def test_permutation_keeps_own_value_fixed():
    # cell 0 holds the only large value. Conditional permutation holds it fixed, so every simulated neighbourhood sum
    # includes it and the observed sum (v0 + v1) is unremarkable; an unconditional shuffle would call it extreme.
    v = np.zeros(50)
    v[0] = 100.0
    v[1:] = np.random.default_rng(0).uniform(0, 1, 49)
    x = np.arange(50.0)
    w = binary_weights(x, np.zeros(50), 1.0)
    p = conditional_permutation_p(v, w, 99, seed=1)
    assert p[0] > 0.5


def test_fdr_classification():
    case = _golden("place_gistar_golden.json")["cases"][0]
    g = _grid_from_case(case)
    raw = gistar(g, fdr=False, quiet=True).table
    adj = gistar(g, fdr=True, quiet=True).table
    assert (adj["p_adjusted"] >= adj["p_value"] - 1e-15).all()
    assert (adj["classification"] == "hot spot").sum() <= (raw["classification"] == "hot spot").sum()
    hot = adj["classification"] == "hot spot"
    assert hot.any() and (adj.loc[hot, "gistar"] > 0).all() and (adj.loc[hot, "p_adjusted"] < 0.05).all()
    # the planted 3x3 block at row 5, col 8 is found
    assert ((adj.loc[hot, "row"] - 5).abs() <= 2).all() and ((adj.loc[hot, "col"] - 8).abs() <= 2).all()


def test_default_distance_announced(capsys):
    case = _golden("place_gistar_golden.json")["cases"][0]
    r = gistar(_grid_from_case(case))
    assert "distance set to 141.42" in capsys.readouterr().err
    assert r.settings["distance"].source == "data" and r.distance == pytest.approx(100 * math.sqrt(2))


# CHECK INPUTS -------------------------------------------------------------------------------------------------------
def test_bad_inputs():
    df = pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [0.0, 0, 0, 0], "count": [1, 1, 1, 1]})
    with pytest.raises(WhatworksError, match="same 'count'"):
        gistar(df, distance=1.5, quiet=True)
    df["count"] = [1, 2, 3, 4]
    with pytest.raises(WhatworksError, match="every cell neighbours every other"):
        gistar(df, distance=10, quiet=True)
    with pytest.raises(WhatworksError, match="'permutations' parameter must be an integer"):
        gistar(df, distance=1, permutations=9.5, quiet=True)
    with pytest.raises(WhatworksError, match="Column\\(s\\) \\['n'\\] not found"):
        gistar(df, value="n")
    with pytest.raises(WhatworksError, match="'cells' argument must be a pandas DataFrame"):
        gistar([1, 2, 3])
    # review: an infinite value gave NaN z-scores everywhere and "0 hot spots" without a word
    df["count"] = [1.0, np.inf, 3, 4]
    with pytest.raises(WhatworksError, match="Column 'count' (?:must hold finite numbers|must be numeric).*position 1"):
        gistar(df, distance=1.5, quiet=True)


# RECOVERY: planted hot spots ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["square", "hex"])
def test_planted_hotspots_recovered(hotspot_sim, shape):
    pts, centres, radius = hotspot_sim(seed=3)
    g = grid(pts, cell_size=100, shape=shape, quiet=True)
    r = gistar(g, quiet=True)
    t = r.table
    d = np.min(np.hypot(t["x"].to_numpy()[:, None] - centres[None, :, 0],
                        t["y"].to_numpy()[:, None] - centres[None, :, 1]), axis=1)
    truth = d <= radius                                  # cells whose centre lies in a planted disc
    reach = d <= radius + r.distance                     # Gi* sees a disc from up to one neighbourhood away
    flagged = (t["classification"] == "hot spot").to_numpy()
    precision = (flagged & reach).sum() / flagged.sum()
    recall = (flagged & truth).sum() / truth.sum()
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    assert (t["classification"] == "cold spot").sum() <= 0.01 * len(t)


def test_plot_and_geojson():
    import matplotlib

    matplotlib.use("Agg")
    case = _golden("place_gistar_golden.json")["cases"][0]
    r = gistar(_grid_from_case(case), quiet=True)
    assert r.plot().axes
    gj = r.to_geojson()
    assert len(gj["features"]) == len(r.table) and "classification" in gj["features"][0]["properties"]
    df = pd.DataFrame({"x": case["x"], "y": case["y"], "count": case["value"]})
    rp = gistar(df, distance=150, quiet=True)
    assert rp.to_geojson()["features"][0]["geometry"]["type"] == "Point"
    assert rp.plot().axes
    assert "hot spot" in r.summary()


# SETTINGS: an explicit value equal to the default is still the caller's ------------------------------------------------
def _null_grid():
    rng = np.random.default_rng(11)
    lat = Lattice("square", 1.0, 0, 0, 12, 12)
    t = cell_table(lat)
    t["count"] = rng.poisson(3, lat.n_cells)
    return GridResult(table=t, lattice=lat)


def test_explicit_seed_zero_is_recorded_as_given():
    # review: seed=0 passed explicitly was recorded as a default ("user" if seed else "default")
    g = _null_grid()
    given = gistar(g, permutations=49, seed=0, quiet=True)
    omitted = gistar(g, permutations=49, quiet=True)
    assert (given.settings["seed"].value, given.settings["seed"].source) == (0, "user")
    assert (omitted.settings["seed"].value, omitted.settings["seed"].source) == (0, "default")
    # omitting the seed still means seed 0: the same permutations as the permutation routine run with seed 0
    w = binary_weights(g.table["x"].to_numpy(), g.table["y"].to_numpy(), math.sqrt(2))
    direct = conditional_permutation_p(g.table["count"].to_numpy(dtype=float), w, 49, seed=0)
    np.testing.assert_array_equal(given.table["p_value"].to_numpy(), direct)
    np.testing.assert_array_equal(omitted.table["p_value"].to_numpy(), direct)


def test_explicit_defaults_are_recorded_as_given():
    # the same falsy / equals-the-default test recorded permutations=0, fdr=True and alpha=0.05 as defaults
    g = _null_grid()
    given = gistar(g, permutations=0, fdr=True, alpha=0.05, quiet=True).settings
    omitted = gistar(g, quiet=True).settings
    for name, value in (("permutations", 0), ("fdr", True), ("alpha", 0.05)):
        assert (given[name].value, given[name].source) == (value, "user"), name
        assert (omitted[name].value, omitted[name].source) == (value, "default"), name
    assert (given["seed"].value, given["seed"].source) == (0, "default")     # not given here either


def test_bad_seed():
    with pytest.raises(WhatworksError, match="'seed' parameter must be an integer >= 0"):
        gistar(_null_grid(), permutations=9, seed=-1, quiet=True)
