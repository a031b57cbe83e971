"""whatworks.store.exports with place results: GeoJSON and GeoPackage files round-trip."""

import json

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.place import gistar, grid
from whatworks.store.exports import write_geojson, write_geopackage


def _grid():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(530000, 531000, 300), "y": rng.uniform(180000, 180800, 300)})
    return grid(df, cell_size=100, crs="EPSG:27700", quiet=True)


def test_geojson_file(tmp_path):
    g = _grid()
    p = write_geojson(g, tmp_path / "out" / "cells.geojson")
    gj = json.loads(p.read_text())
    assert gj == g.to_geojson()
    with pytest.raises(WhatworksError, match=".geojson"):
        write_geojson(g, tmp_path / "cells.txt")
    with pytest.raises(WhatworksError, match="no map geometry"):
        write_geojson(object(), tmp_path / "x.geojson")


def test_geopackage_roundtrip(tmp_path):
    import geopandas
    g = gistar(_grid(), quiet=True)
    p = write_geopackage(g, tmp_path / "hotspots.gpkg", layer="gistar")
    back = geopandas.read_file(p, layer="gistar")
    assert len(back) == len(g.table)
    assert back.crs.to_epsg() == 27700
    np.testing.assert_allclose(back["gistar"].to_numpy(), g.table["gistar"].to_numpy())
    assert back.geometry.area.round(6).eq(10000).all()
