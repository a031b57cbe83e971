"""`whatworks hotspots`, `whatworks nearrepeat` and `whatworks concentration` (issue 18 item 6): the place analyses
from the command line over a store built from the synthetic force. The numbers the CLI writes are the Python call's
on the same data; map layers open in geopandas in EPSG:27700; outputs never overwrite the store or a file whatworks
did not write; a store without crimes or coordinates is a one-line error with a non-zero exit; the defaults are
announced on stderr and --quiet silences them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks import place
from whatworks.cli import app

runner = CliRunner()
CRS = "EPSG:27700"
RMS = "synthshire-rms"      # the synthetic force's records export: dates to the minute


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small synthetic force loaded from its police.uk archive and its RMS export (the same crimes twice)."""
    d = tmp_path_factory.mktemp("place-cli")
    force = ww.synth.generate(seed=4, crimes=3000, months=12)
    with ww.Store(d / "s.duckdb") as s:
        force.to_store(s, workdir=d / "files")
    return d / "s.duckdb"


@pytest.fixture(scope="module")
def python_side(store):
    """What the Python calls see: the police.uk crimes, the RMS burglaries and the map points."""
    with ww.Store(store, read_only=True) as s:
        return {"crimes": s.crimes(source="police.uk", columns=["x", "y"]),
                "burglary": s.crimes(source="police.uk", crime_types=["Burglary"], columns=["x", "y"]),
                "rms_burglary": s.crimes(source=RMS, crime_types=["Burglary"],
                                         columns=["x", "y", "occurred", "time_precision"]),
                "lsoa": s.crimes(source="police.uk", columns=["lsoa_code"]),
                "lsoas": s.area_table(level="lsoa"),
                "points": s.map_points()}


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_table(written: pd.DataFrame, expected: pd.DataFrame):
    assert list(written.columns) == list(expected.columns)
    assert len(written) == len(expected)
    for c in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[c]):
            np.testing.assert_allclose(written[c].to_numpy(float), expected[c].to_numpy(float), rtol=1e-12,
                                       equal_nan=True, err_msg=c)
        else:
            assert written[c].astype(str).tolist() == expected[c].astype(str).tolist(), c


# ---------------------------------------------------------------------------------------------- help
@pytest.mark.parametrize("verb, says", [("hotspots", ["grid|kde|gistar", "Default: gistar", "--cell-size", "--out",
                                                      "EPSG:27700"]),
                                        ("nearrepeat", ["--distance-bands", "default 999", "0,7,14,21,28,35",
                                                        "--permutations", "--seed"]),
                                        ("concentration", ["cell|lsoa", "the default", "--csv"])])
def test_help_says_what_each_verb_does_and_its_defaults(verb, says):
    r = run(verb, "--help")
    assert r.exit_code == 0 and "Usage" in r.output
    flat = " ".join(r.output.replace("│", " ").split())
    for text in says:
        assert text in flat, (verb, text)


# ---------------------------------------------------------------------------------------------- hotspots
def test_hotspots_default_is_gistar_on_the_map_point_grid_and_equals_python(store, python_side, tmp_path):
    out = tmp_path / "gistar.csv"
    r = run("hotspots", "--store", store, "--csv", out)
    assert r.exit_code == 0, r.output
    g = place.grid(python_side["crimes"], crs=CRS, study_area=python_side["points"], quiet=True)
    hs = place.gistar(g, quiet=True)
    assert_same_table(pd.read_csv(out), hs.table)
    assert (out.parent / "gistar.csv.provenance.json").exists()
    assert g.summary() in r.stdout and hs.summary() in r.stdout
    assert "Hot spots (strongest" in r.stdout
    # the defaults the command line chose, and the ones the verbs chose from the data, are announced on stderr
    err = r.stderr
    for text in ("method set to gistar", "source set to 'police.uk'", "months: every month",
                 "study area: the 2,144 police.uk map points", f"cell size set to {g.cell_size}",
                 "distance set to", "defaults used: shape square", "permutations 0", "alpha 0.05", "seed 0"):
        assert text in err, text
    assert "whatworks:" not in r.stdout


def test_quiet_silences_every_announcement_but_not_the_result(store, tmp_path):
    r = run("hotspots", "--store", store, "--quiet")
    assert r.exit_code == 0, r.output
    assert r.stderr == "" and "Getis–Ord Gi*" in r.stdout
    for verb in (["nearrepeat", "--crime-type", "Burglary", "--permutations", "19"], ["concentration"],
                 ["concentration", "--by", "lsoa"]):
        q = run(*verb, "--store", store, "--quiet")
        loud = run(*verb, "--store", store)
        assert q.exit_code == 0 and loud.exit_code == 0, (q.output, loud.output)
        assert q.stderr == "" and "whatworks:" in loud.stderr, verb
        assert q.stdout == loud.stdout, verb


def test_hotspots_grid_geopackage_opens_in_geopandas_in_british_national_grid(store, python_side, tmp_path):
    geopandas = pytest.importorskip("geopandas")
    pyogrio = pytest.importorskip("pyogrio")
    gpkg, csv = tmp_path / "grid.gpkg", tmp_path / "grid.csv"
    r = run("hotspots", "--store", store, "--method", "grid", "--cell-size", 250, "--out", gpkg, "--csv", csv)
    assert r.exit_code == 0, r.output
    g = place.grid(python_side["crimes"], cell_size=250, crs=CRS, study_area=python_side["points"], quiet=True)
    assert_same_table(pd.read_csv(csv), g.table)
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == ["grid"]
    gdf = geopandas.read_file(gpkg, layer="grid")
    assert len(gdf) == len(g.table) and gdf.crs.to_epsg() == 27700
    assert gdf["count"].sum() == g.table["count"].sum()
    assert set(gdf.geom_type) == {"Polygon"}
    assert gdf.total_bounds[0] > 100_000 and gdf.total_bounds[1] > 100_000     # metres, not degrees
    assert "cell size set to" not in r.stderr                                 # the size was given
    # a map layer whatworks wrote (provenance beside it) is replaced by a later run without --overwrite
    again = run("hotspots", "--store", store, "--method", "grid", "--cell-size", 500, "--out", gpkg, "--quiet")
    assert again.exit_code == 0, again.output
    assert len(geopandas.read_file(gpkg)) < len(gdf)


def test_hotspots_geojson_names_its_crs(store, python_side, tmp_path):
    out = tmp_path / "hot.geojson"
    r = run("hotspots", "--store", store, "--crime-type", "burglary", "--out", out, "--quiet")   # any case
    assert r.exit_code == 0, r.output
    gj = json.loads(out.read_text())
    g = place.grid(python_side["burglary"], crs=CRS, study_area=python_side["points"], quiet=True)
    hs = place.gistar(g, quiet=True)
    assert gj["crs"]["properties"]["name"] == CRS and len(gj["features"]) == len(hs.table)
    got = pd.DataFrame([f["properties"] for f in gj["features"]])
    np.testing.assert_allclose(got["gistar"], hs.table["gistar"], rtol=1e-12)


def test_hotspots_kde_equals_python(store, python_side, tmp_path):
    out = tmp_path / "kde.csv"
    r = run("hotspots", "--store", store, "--method", "kde", "--crime-type", "Burglary", "--csv", out)
    assert r.exit_code == 0, r.output
    k = place.kde(python_side["burglary"], crs=CRS, study_area=python_side["points"], quiet=True)
    assert_same_table(pd.read_csv(out), k.table)
    assert k.summary() in r.stdout
    assert "bandwidth set to" in r.stderr and "kernel quartic" in r.stderr


def test_hotspots_options_the_python_call_takes(store, python_side, tmp_path):
    out = tmp_path / "perm.csv"
    r = run("hotspots", "--store", store, "--cell-size", 300, "--shape", "hex", "--permutations", 99, "--seed", 2,
            "--no-fdr", "--alpha", 0.01, "--study-area", "none", "--months", "2022-06..2022-11", "--csv", out,
            "--quiet")
    assert r.exit_code == 0, r.output
    with ww.Store(store, read_only=True) as s:
        pts = s.crimes(source="police.uk", months=("2022-06", "2022-11"), columns=["x", "y"])
    g = place.grid(pts, cell_size=300, shape="hex", crs=CRS, quiet=True)
    hs = place.gistar(g, permutations=99, seed=2, fdr=False, alpha=0.01, quiet=True)
    assert_same_table(pd.read_csv(out), hs.table)


@pytest.mark.parametrize("args, says", [(["--bandwidth", "300"], "--bandwidth applies to --method kde"),
                                        (["--method", "grid", "--seed", "1"], "--seed applies to --method gistar"),
                                        (["--method", "voronoi"], "--method must be one of grid, kde, gistar"),
                                        (["--crime-type", "Arson"], "Expected one of: Violence and sexual offences"),
                                        (["--source", "rms"], "Expected one of: police.uk, synthshire-rms"),
                                        (["--force", "Nowhere Police"], "no crimes of force 'Nowhere Police'"),
                                        (["--months", "2030-01"], "no crimes match"),
                                        (["--months", "June 2022"], "--months must be a month YYYY-MM"),
                                        (["--months", "2022-09..2022-06"], "ends before it starts"),
                                        (["--out", "map.shp"], "--out must name a .gpkg")])
def test_hotspots_refuses_what_it_cannot_do_in_one_line(store, tmp_path, args, says):
    args = [str(tmp_path / a) if a.endswith(".shp") else a for a in args]
    r = run("hotspots", "--store", store, *args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("whatworks:")]
    assert len(lines) == 1 and says in lines[0], r.stderr
    assert r.stdout == ""


# ---------------------------------------------------------------------------------------------- outputs
def test_outputs_never_overwrite_the_store_or_a_file_whatworks_did_not_write(store, tmp_path):
    before = digest(store)
    for option in ("--csv", "--out"):
        r = run("hotspots", "--store", store, option, store)
        assert r.exit_code == 2 and "never writes over its inputs" in r.stderr, r.output
        assert r.stdout == ""                          # refused before any work
    for verb in ("nearrepeat", "concentration"):
        r = run(verb, "--store", store, "--csv", store)
        assert r.exit_code == 2 and "never writes over its inputs" in r.stderr, r.output
    assert digest(store) == before
    mine = tmp_path / "mine.csv"
    mine.write_text("my own notes\n")
    gpkg = tmp_path / "theirs.gpkg"
    gpkg.write_bytes(b"not whatworks")
    for verb, option, path in (("hotspots", "--csv", mine), ("hotspots", "--out", gpkg), ("nearrepeat", "--csv", mine),
                               ("concentration", "--csv", mine)):
        r = run(verb, "--store", store, option, path, "--quiet")
        assert r.exit_code == 2 and "already exists and was not written by whatworks" in r.stderr, r.output
    assert mine.read_text() == "my own notes\n" and gpkg.read_bytes() == b"not whatworks"
    r = run("concentration", "--store", store, "--csv", mine, "--overwrite", "--quiet")
    assert r.exit_code == 0 and mine.read_text().startswith("rank,place,cell_id,count")
    again = run("concentration", "--store", store, "--csv", mine, "--quiet")      # its own file now: replaced
    assert again.exit_code == 0, again.output


# ---------------------------------------------------------------------------------------------- no data
@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    ww.Store(path).close()
    return path


@pytest.fixture(scope="module")
def unlocated_store(tmp_path_factory):
    """A police.uk month whose crimes have no coordinates (valid rows: no mappable location)."""
    d = tmp_path_factory.mktemp("unlocated")
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context")
    rows = [header] + [f"{('c%03d' % i).ljust(64, 'a')},2024-01,Northshire Police,Northshire Police,,,No location,"
                       f",,Burglary,Under investigation," for i in range(5)]
    (d / "2024-01").mkdir()
    (d / "2024-01" / "2024-01-northshire-street.csv").write_text("\n".join(rows) + "\n")
    path = d / "s.duckdb"
    with ww.Store(path) as s:
        s.ingest_policeuk(d / "2024-01")
        assert len(s.crimes()) == 5
    return path


@pytest.mark.parametrize("verb", ["hotspots", "nearrepeat", "concentration"])
def test_a_store_without_crimes_is_a_clear_one_line_error(verb, empty_store, tmp_path):
    r = run(verb, "--store", empty_store)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "holds no crimes" in lines[0] and "whatworks ingest policeuk" in lines[0]
    missing = run(verb, "--store", tmp_path / "none.duckdb")
    assert missing.exit_code == 2 and "no store at" in missing.stderr and "whatworks ingest policeuk" in missing.stderr
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.parametrize("verb", ["hotspots", "nearrepeat", "concentration"])
def test_a_store_without_coordinates_is_a_clear_one_line_error(verb, unlocated_store):
    r = run(verb, "--store", unlocated_store)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("whatworks:")]
    assert len(lines) == 1 and "has coordinates" in lines[0] and "whatworks ingest policeuk" in lines[0], r.stderr


def test_the_exit_code_reaches_the_shell(empty_store):
    """Through the console entry point (whatworks.cli.main, standalone_mode=False), not only through CliRunner."""
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "hotspots", "--store", str(empty_store)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "holds no crimes" in proc.stderr


# ---------------------------------------------------------------------------------------------- nearrepeat
def test_nearrepeat_picks_the_dated_source_and_equals_python(store, python_side, tmp_path):
    out = tmp_path / "knox.csv"
    r = run("nearrepeat", "--store", store, "--crime-type", "Burglary", "--permutations", 99, "--seed", 5,
            "--csv", out)
    assert r.exit_code == 0, r.output
    k = place.knox(python_side["rms_burglary"], permutations=99, seed=5, quiet=True)
    assert_same_table(pd.read_csv(out), k.table)
    assert k.summary() in r.stdout
    assert f"source set to '{RMS}'" in r.stderr and "police.uk gives months only" in r.stderr
    assert "distance bands set to" in r.stderr
    assert "defaults used: time bands [0.0, 7.0, 14.0, 21.0, 28.0, 35.0] days (--time-bands)" in r.stderr
    assert "permutations 99" not in r.stderr            # given, so not listed as a default


def test_nearrepeat_bands_as_given(store, python_side, tmp_path):
    out = tmp_path / "bands.csv"
    r = run("nearrepeat", "--store", store, "--source", RMS, "--crime-type", "Burglary", "--distance-bands",
            "0,100,200,400", "--time-bands", "0,14,28", "--closed", "right", "--permutations", 49, "--csv", out,
            "--quiet")
    assert r.exit_code == 0, r.output
    k = place.knox(python_side["rms_burglary"], distance_bands=[0, 100, 200, 400], time_bands=[0, 14, 28],
                   closed="right", permutations=49, quiet=True)
    assert_same_table(pd.read_csv(out), k.table)
    bad = run("nearrepeat", "--store", store, "--distance-bands", "0,a,200")
    assert bad.exit_code == 2 and "comma-separated numbers" in bad.stderr


def test_nearrepeat_on_police_uk_months_says_it_cannot_be_tested(store):
    r = run("nearrepeat", "--store", store, "--source", "police.uk", "--crime-type", "Burglary")
    assert r.exit_code == 0, r.output
    assert "cannot be tested at this time resolution" in r.stdout and "gives months only" in r.stdout
    assert "permutations 999" not in r.stderr           # none were run


# ---------------------------------------------------------------------------------------------- concentration
def test_concentration_by_cell_equals_python(store, python_side, tmp_path):
    out = tmp_path / "conc.csv"
    r = run("concentration", "--store", store, "--cell-size", 250, "--csv", out)
    assert r.exit_code == 0, r.output
    g = place.grid(python_side["crimes"], cell_size=250, crs=CRS, study_area=python_side["points"], quiet=True)
    c = place.concentration(g, quiet=True)
    written = pd.read_csv(out)
    assert_same_table(written.drop(columns="cell_id"), c.table)
    assert written["cell_id"].tolist() == g.table["cell_id"].to_numpy()[c.table["place"]].tolist()
    assert c.summary() in r.stdout
    assert "places set to grid cells" in r.stderr and "places are 1,342 cells of 250 m" in r.stderr


def test_concentration_by_lsoa_counts_every_lsoa_with_zeros(store, python_side, tmp_path):
    out = tmp_path / "lsoa.csv"
    r = run("concentration", "--store", store, "--by", "lsoa", "--csv", out)
    assert r.exit_code == 0, r.output
    codes = sorted(set(python_side["lsoas"]["code"]))
    counts = python_side["lsoa"]["lsoa_code"].dropna().value_counts().reindex(codes, fill_value=0)
    c = place.concentration(counts, quiet=True)
    written = pd.read_csv(out)
    assert_same_table(written.drop(columns="lsoa_code"), c.table)
    assert written["lsoa_code"].tolist() == [codes[p] for p in c.table["place"]]
    assert (written["count"] == 0).any()                 # LSOAs with no crime are places too
    assert c.summary() in r.stdout
    assert f"places: {len(codes):,} LSOAs" in r.stderr
    bad = run("concentration", "--store", store, "--by", "lsoa", "--cell-size", 100)
    assert bad.exit_code == 2 and "--cell-size applies to --by cell" in bad.stderr
