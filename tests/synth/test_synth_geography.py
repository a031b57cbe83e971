"""Geography: visibly synthetic ONS-shaped codes, a consistent hierarchy, coordinates inside Great Britain."""

from __future__ import annotations

import numpy as np

from whatworks._geo import GB_LAT_RANGE, GB_LON_RANGE


def test_codes_are_synthetic_and_hierarchical(force):
    areas = force.tables["areas"]
    pattern = {"lsoa": r"S019\d{5}", "ward": r"S059\d{5}", "borough": r"S099\d{5}"}
    for level, pat in pattern.items():
        codes = areas.loc[areas["level"] == level, "code"]
        assert codes.str.fullmatch(pat).all(), level
        assert codes.is_unique
    by_code = areas.set_index("code")
    lsoa = areas[areas["level"] == "lsoa"]
    assert (by_code.loc[lsoa["parent_code"], "level"] == "ward").all()
    wards = areas[areas["level"] == "ward"]
    assert (by_code.loc[wards["parent_code"], "level"] == "borough").all()
    # populations add up the hierarchy
    for level, child in (("ward", lsoa), ("borough", wards)):
        sums = child.groupby("parent_code")["population"].sum()
        np.testing.assert_array_equal(sums.reindex(by_code[by_code["level"] == level].index), by_code.loc[sums.index, "population"])
    assert lsoa["name"].str.fullmatch(r"[A-Za-z ]+ \d{3}[A-Z]").all()
    assert lsoa["population"].between(300, 4000).all()
    assert lsoa["deprivation"].between(1, 85).all() and lsoa["density"].gt(0).all()


def test_segments_sit_inside_their_small_area(force):
    segs = force.tables["segments"]
    areas = force.tables["areas"].set_index("code")
    box = areas.loc[segs["lsoa_code"]]
    for c in ("x0", "x1"):
        assert (segs[c].to_numpy() >= box["x_min"].to_numpy() - 1e-6).all()
        assert (segs[c].to_numpy() <= box["x_max"].to_numpy() + 1e-6).all()
    for c in ("y0", "y1"):
        assert (segs[c].to_numpy() >= box["y_min"].to_numpy() - 1e-6).all()
        assert (segs[c].to_numpy() <= box["y_max"].to_numpy() + 1e-6).all()
    assert segs["postcode"].str.fullmatch(r"QX\d{1,3} \d[A-Z]{2}").all()
    assert segs["street"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()


def test_coordinates_in_great_britain(force):
    crimes = force.tables["crimes"]
    assert crimes["lon"].between(*GB_LON_RANGE).all() and crimes["lat"].between(*GB_LAT_RANGE).all()
    # inland West Yorkshire, around easting/northing 430000
    assert crimes["x"].between(400_000, 460_000).all() and crimes["y"].between(400_000, 460_000).all()
    assert crimes["lon"].between(-2.0, -1.0).all() and crimes["lat"].between(53.5, 54.1).all()
    # lon/lat really are the BNG point (pyproj round trip, metres)
    from whatworks._geo import to_bng

    x, y = to_bng(crimes["lon"].to_numpy()[:500], crimes["lat"].to_numpy()[:500])
    assert np.abs(x - crimes["x"].to_numpy()[:500]).max() < 0.2
    assert np.abs(y - crimes["y"].to_numpy()[:500]).max() < 0.2
