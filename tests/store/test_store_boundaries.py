"""Boundary files (GeoJSON, GeoPackage) read without geopandas, and the police.uk map points (issue 11, item 5)."""

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.store.boundaries import read_boundaries

# two wards in Leeds-ish British National Grid metres, one with a hole
WARDS = gpd.GeoDataFrame(
    {"WD23CD": ["E05001", "E05002"], "WD23NM": ["Hyde Park", "Little London"], "population": [12000, 9000]},
    geometry=[box(428000, 434000, 429000, 435000).difference(box(428400, 434400, 428600, 434600)),
              box(429000, 434000, 430500, 435500)], crs="EPSG:27700")


@pytest.mark.parametrize("driver,ext", [("GeoJSON", "geojson"), ("GPKG", "gpkg")])
@pytest.mark.parametrize("crs", ["EPSG:27700", "EPSG:4326"])
def test_round_trip_of_geopandas_files(tmp_path, driver, ext, crs):
    path = tmp_path / f"wards.{ext}"
    WARDS.to_crs(crs).to_file(path, driver=driver)
    b = read_boundaries(path)
    assert b["id"].tolist() == ["E05001", "E05002"] and b["name"].tolist() == ["Hyde Park", "Little London"]
    assert b.attrs["crs"] == "EPSG:27700" and b.attrs["source_crs"] == crs
    assert (b.attrs["id_column"], b.attrs["name_column"]) == ("WD23CD", "WD23NM")
    assert b["population"].tolist() == [12000, 9000]
    tol = 1e-6 if crs == "EPSG:27700" else 0.01          # WGS84 round trip through pyproj: within a centimetre
    for got, want in zip(b["geometry"], WARDS.geometry):
        assert got.geom_type == want.geom_type and abs(got.area - want.area) < 1.0 + 1e-9 * want.area
        assert got.symmetric_difference(want).area < max(tol, 1e-6) * 1000
    assert b["geometry"].iloc[0].area == pytest.approx(1_000_000 - 40_000, abs=1.0 if crs != "EPSG:27700" else 1e-6)


def test_store_method_and_explicit_columns(tmp_path):
    path = tmp_path / "w.gpkg"
    WARDS.to_file(path, driver="GPKG", layer="wards")
    store = ww.Store(":memory:")
    b = store.boundaries(path, id="WD23CD", name="WD23NM", layer="wards")
    assert len(b) == 2 and b["name"].iloc[1] == "Little London"
    with pytest.raises(WhatworksError, match="no property 'LAD23NM'"):
        read_boundaries(path, name="LAD23NM")
    with pytest.raises(WhatworksError, match="no layer 'lads'"):
        read_boundaries(path, layer="lads")


def test_geojson_without_crs_member_is_read_by_its_coordinates(tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Box"}, "geometry": shapely.geometry.mapping(box(430000, 434000,
                                                                                                   431000, 435000))}]}
    p = tmp_path / "bng.geojson"
    p.write_text(json.dumps(fc))
    b = read_boundaries(p)
    assert b.attrs["source_crs"] == "EPSG:27700" and "British National Grid" in b.attrs["crs_reason"]
    assert b["geometry"].iloc[0].area == pytest.approx(1e6)
    deg = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(box(-1.56, 53.80, -1.55, 53.81))}]}
    p2 = tmp_path / "deg.geojson"
    p2.write_text(json.dumps(deg))
    b2 = read_boundaries(p2)
    assert b2.attrs["source_crs"] == "EPSG:4326" and b2["name"].iloc[0] is None
    x0, y0, x1, y1 = b2["geometry"].iloc[0].bounds
    assert 428_000 < x0 < x1 < 432_000 and 433_000 < y0 < y1 < 436_000


def test_clear_errors(tmp_path):
    with pytest.raises(WhatworksError, match="does not exist"):
        read_boundaries(tmp_path / "nope.gpkg")
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(430000, 434000)], crs="EPSG:27700")
    pts.to_file(tmp_path / "pts.gpkg", driver="GPKG")
    with pytest.raises(WhatworksError, match="holds no polygons.*Points"):
        read_boundaries(tmp_path / "pts.gpkg")
    odd = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(box(5e6, 5e6, 5.1e6, 5.1e6))}]}
    (tmp_path / "odd.geojson").write_text(json.dumps(odd))
    with pytest.raises(WhatworksError, match="Cannot tell the coordinate reference system.*Hint: Pass crs="):
        read_boundaries(tmp_path / "odd.geojson")
    with pytest.raises(WhatworksError, match="Unknown coordinate reference system 'EPSG:999999'"):
        read_boundaries(tmp_path / "odd.geojson", crs="EPSG:999999")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(WhatworksError, match="neither GeoJSON nor GeoPackage"):
        read_boundaries(tmp_path / "x.csv")


def _insert(store, rows):
    cols = ["event_id", "kind", "month", "time_precision", "x", "y", "force", "source_system", "source_row", "batch_id"]
    for k, r in enumerate(rows):
        store.con.execute(f"INSERT INTO events ({', '.join(cols)}) VALUES (?, ?, ?::DATE, 'month', ?, ?, ?, ?, ?, 1)",
                          [k + 1, r[0], r[1], r[2], r[3], r[4], r[5], k + 2])


def test_map_points_are_distinct_police_uk_locations_with_counts():
    store = ww.Store(":memory:")
    _insert(store, [
        ("crime", "2024-01-01", 430000.0, 434000.0, "Northshire Police", "police.uk"),
        ("crime", "2024-01-01", 430000.0, 434000.0, "Northshire Police", "police.uk"),
        ("asb", "2024-02-01", 430000.0, 434000.0, "Northshire Police", "police.uk"),
        ("outcome", "2024-02-01", 430500.0, 434200.0, "Northshire Police", "police.uk"),
        ("stop_search", "2024-02-01", 431000.0, 434900.0, "Northshire Police", "police.uk"),   # not a crime map point
        ("crime", "2024-02-01", None, None, "Northshire Police", "police.uk"),                  # no location
        ("crime", "2024-02-01", 431234.5, 434321.5, "Northshire Police", "northshire-rms"),     # RMS: exact, not snapped
        ("crime", "2024-03-01", 440000.0, 440000.0, "Southshire Police", "police.uk"),
    ])
    mp = store.map_points()
    assert mp[["x", "y", "n"]].values.tolist() == [[430000, 434000, 3], [430500, 434200, 1], [440000, 440000, 1]]
    assert mp.attrs["whatworks_points"] == "police.uk map point"
    assert store.map_points(force="Northshire Police")["n"].tolist() == [3, 1]
    assert store.map_points(force=["Southshire Police"], months="2024-03")["n"].tolist() == [1]
    assert store.map_points(months=["2024-02", pd.Timestamp("2024-02-15")])["n"].tolist() == [1, 1]
    assert len(store.map_points(months="2023-12")) == 0
    with pytest.raises(WhatworksError, match="'months' parameter"):
        store.map_points(months=["July"])
    # and the place verbs name them in their announcement
    from whatworks.place import grid

    crimes = pd.DataFrame({"x": [430010.0, 430020, 430510], "y": [434010.0, 434030, 434210]})
    g = grid(crimes, cell_size=250, study_area=store.map_points(force="Northshire Police"), quiet=True)
    assert "holding at least one police.uk map point" in g.study_area.description and g.study_area.n_cells == 2
