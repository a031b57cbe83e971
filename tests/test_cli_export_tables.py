"""`whatworks export csv DIR` and `whatworks export gpkg FILE` (issue 18 item 6): the store's tables as CSV files
Power BI and Excel read (UTF-8 with BOM, ISO dates, formula injection neutralised, a README) and as a GeoPackage
QGIS opens (EPSG:27700), with personal data only on request and nothing overwritten that whatworks did not write."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import app
from whatworks.store.exports import CSV_ENCODING, EXPORT_MANIFEST, INFO_LAYER, README_NAME, provenance_path

runner = CliRunner()

HOSTILE_FORCE = "Hostile Police"
# formula-like text a spreadsheet would run, and a plain negative number it must leave alone
FORMULA = "=HYPERLINK(\"http://x\",\"click\")"
PERSONAL_COLUMNS = {"first_name", "surname", "dob", "postcode", "person_id"}


def _hostile_street_file(folder):
    """One police.uk street file of another force whose text cells look like spreadsheet formulas."""
    folder.mkdir(parents=True, exist_ok=True)
    head = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
            "Last outcome category,Context")
    rows = [f'h1,2022-04,{HOSTILE_FORCE},{HOSTILE_FORCE},-1.55,53.75,"{FORMULA.replace(chr(34), chr(34) * 2)}",'
            f'S09999999,+SUM(A1),Burglary,-5,@context',
            f"h2,2022-04,{HOSTILE_FORCE},{HOSTILE_FORCE},-1.56,53.76,On or near Mill Lane,S09999999,Hostile 001A,"
            f"Robbery,Under investigation,"]
    path = folder / "2022-04-hostile-street.csv"
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    d = tmp_path_factory.mktemp("export_tables")
    force = ww.synth.generate(seed=7, crimes=1500, months=12)
    with ww.Store(d / "s.duckdb") as s:
        force.to_store(s, workdir=d / "files")
        s.ingest_policeuk(_hostile_street_file(d / "hostile"))
    return d / "s.duckdb"


@pytest.fixture(scope="module")
def reads(duck):
    with ww.Store(duck, read_only=True) as s:
        return {"crimes": s.crimes(), "asb": s.asb(), "outcomes": s.outcomes(), "stops": s.stops(),
                "areas": s.area_table(), "coverage": s.coverage(), "persons": s.persons(),
                "involvements": s.involvements(), "map_points": s.map_points(), "lsoas": s.areas("lsoa"),
                "police_crimes": s.crimes(source="police.uk", months=("2022-05", "2022-06"))}


@pytest.fixture(scope="module")
def exported(duck, tmp_path_factory):
    out = tmp_path_factory.mktemp("csv") / "powerbi"
    r = runner.invoke(app, ["export", "csv", str(out), "--store", str(duck)])
    assert r.exit_code == 0, r.output
    return out, r


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding=CSV_ENCODING, dtype=str, keep_default_na=False, na_values=[""])


def _like(read: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """A CSV read as text, with each column turned back into its store dtype."""
    out = pd.DataFrame(index=read.index)
    for col in expected.columns:
        want, got = expected[col], read[col]
        if pd.api.types.is_datetime64_any_dtype(want):
            out[col] = pd.to_datetime(got, format="ISO8601").astype(want.dtype)
        elif pd.api.types.is_bool_dtype(want) or str(want.dtype) == "boolean":
            out[col] = got.map({"True": True, "False": False}).astype(want.dtype)
        elif pd.api.types.is_numeric_dtype(want):
            out[col] = pd.to_numeric(got).astype(want.dtype)
        else:
            out[col] = got
    return out


def _nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


# ------------------------------------------------------------------------------------------------------- CSV
def test_csv_writes_one_file_per_table_with_the_store_row_counts(exported, reads):
    out, r = exported
    manifest = json.loads((out / EXPORT_MANIFEST).read_text(encoding="utf-8"))
    tables = manifest["tables"]
    assert list(tables) == ["crimes", "asb", "outcomes", "stops", "counts", "coverage", "areas"]
    for name in ("crimes", "asb", "outcomes", "stops", "areas", "coverage"):
        frame = _read(out / f"{name}.csv")
        assert len(frame) == tables[name]["rows"] == len(reads[name]), name
        assert list(frame.columns) == tables[name]["columns"]
    # the counts table: source x force x month x crime type x LSOA, adding up to every crime and ASB incident
    counts = _read(out / "counts.csv")
    assert list(counts.columns) == ["source_system", "force", "month", "crime_type", "lsoa_code", "count"]
    assert pd.to_numeric(counts["count"]).sum() == len(reads["crimes"]) + len(reads["asb"])
    assert not counts.duplicated(["source_system", "force", "month", "crime_type", "lsoa_code"]).any()
    mine = reads["crimes"][reads["crimes"]["source_system"] == "police.uk"]
    sub = counts[(counts["source_system"] == "police.uk") & (counts["crime_type"] == "Burglary")]
    assert pd.to_numeric(sub["count"]).sum() == (mine["crime_type"] == "Burglary").sum()
    # provenance: the store it came from, in the manifest and the README
    assert manifest["store"].endswith("s.duckdb") and len(manifest["store_fingerprint"]) == 64
    readme = (out / README_NAME).read_text(encoding="utf-8")
    assert "s.duckdb" in readme and f"{len(reads['crimes']):,} rows" in readme and "counts.csv" in readme
    assert "CSV export written to" in r.stdout and f"crimes {len(reads['crimes']):,}" in r.stdout


def test_csv_round_trip_equals_the_store_read(exported, reads):
    out, _ = exported
    want = reads["crimes"]
    want = want[want["force"] != HOSTILE_FORCE].reset_index(drop=True)   # its cells are neutralised on purpose
    got = _read(out / "crimes.csv")
    got = got[got["force"] != HOSTILE_FORCE].reset_index(drop=True)
    pd.testing.assert_frame_equal(_nulls_as_none(_like(got, want)), _nulls_as_none(want), check_dtype=False)
    stops = reads["stops"].drop(columns=["person_id"])
    pd.testing.assert_frame_equal(_nulls_as_none(_like(_read(out / "stops.csv"), stops)), _nulls_as_none(stops),
                                  check_dtype=False)


def test_csv_is_utf8_with_bom_crlf_and_iso_dates(exported):
    out, _ = exported
    raw = (out / "crimes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    assert raw.count(b"\r\n") == raw.count(b"\n")
    crimes = _read(out / "crimes.csv")
    assert crimes["month"].str.fullmatch(r"\d{4}-\d{2}-01").all()
    assert crimes["occurred"].dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert crimes["last_outcome_month"].dropna().str.fullmatch(r"\d{4}-\d{2}-01").all()


def test_csv_neutralises_formula_like_text(exported, reads):
    out, _ = exported
    text = (out / "crimes.csv").read_text(encoding=CSV_ENCODING)
    row = _read(out / "crimes.csv").set_index("crime_id").loc["h1"]
    assert row["location"] == "'" + FORMULA
    assert row["lsoa_name"] == "'+SUM(A1)" and row["context"] == "'@context"
    assert row["last_outcome_category"] == "-5"                      # a plain number is not a formula
    assert not re.search(r"(^|,)[=+@]", text.replace("'=", "").replace("'+", "").replace("'@", ""), re.M)
    counts = _read(out / "counts.csv")
    assert not counts["lsoa_code"].dropna().str.match(r"[=+\-@]").any()


def test_csv_has_no_personal_data_without_include_personal(exported):
    out, r = exported
    for name in ("persons", "person_links", "involvements"):
        assert not (out / f"{name}.csv").exists()
    for f in out.glob("*.csv"):
        assert not PERSONAL_COLUMNS & set(_read(f).columns), f.name
    assert "personal data written" not in r.stderr and "--include-personal" in r.stdout


def test_csv_include_personal_writes_the_personal_tables_and_says_so(duck, reads, tmp_path):
    out = tmp_path / "people"
    r = runner.invoke(app, ["export", "csv", str(out), "--store", str(duck), "--include-personal"])
    assert r.exit_code == 0, r.output
    assert "personal data written" in r.stderr
    assert len(_read(out / "persons.csv")) == len(reads["persons"])
    inv = _read(out / "involvements.csv")
    assert len(inv) == len(reads["involvements"]) and {"first_name", "surname", "dob"} <= set(inv.columns)
    assert "person_id" in _read(out / "stops.csv").columns
    assert (out / "person_links.csv").exists()
    # written again without --include-personal: the personal files of the earlier export go
    again = runner.invoke(app, ["export", "csv", str(out), "--store", str(duck), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert not (out / "persons.csv").exists() and not (out / "involvements.csv").exists()
    assert "person_id" not in _read(out / "stops.csv").columns


def test_csv_filters_by_source_and_months(duck, reads, tmp_path):
    out = tmp_path / "filtered"
    r = runner.invoke(app, ["export", "csv", str(out), "--store", str(duck), "--source", "police.uk",
                            "--months", "2022-05..2022-06"])
    assert r.exit_code == 0, r.output
    crimes = _read(out / "crimes.csv")
    assert len(crimes) == len(reads["police_crimes"]) > 0
    assert set(crimes["source_system"]) == {"police.uk"}
    assert set(crimes["month"]) == {"2022-05-01", "2022-06-01"}
    counts = _read(out / "counts.csv")
    assert set(counts["month"]) <= {"2022-05-01", "2022-06-01"} and set(counts["source_system"]) == {"police.uk"}
    assert json.loads((out / EXPORT_MANIFEST).read_text())["months"] == "2022-05..2022-06"


def test_csv_refuses_to_write_over_what_it_must_not(duck, exported, tmp_path):
    out, _ = exported
    again = runner.invoke(app, ["export", "csv", str(out), "--store", str(duck)])
    assert again.exit_code == 2 and "already holds a whatworks export" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    # a folder whatworks did not write is never written into, --overwrite or not
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    r = runner.invoke(app, ["export", "csv", str(foreign), "--store", str(duck), "--overwrite"])
    assert r.exit_code == 2 and "not written by whatworks" in r.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    # --overwrite replaces an export whatworks wrote, and leaves the analyst's own files in it alone
    own = tmp_path / "own"
    assert runner.invoke(app, ["export", "csv", str(own), "--store", str(duck)]).exit_code == 0
    (own / "dashboard.pbix").write_bytes(b"PBIX")
    r = runner.invoke(app, ["export", "csv", str(own), "--store", str(duck), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert (own / "dashboard.pbix").read_bytes() == b"PBIX"
    # the store itself is never an output
    before = duck.read_bytes()
    r = runner.invoke(app, ["export", "csv", str(duck), "--store", str(duck), "--overwrite"])
    assert r.exit_code == 2 and duck.read_bytes() == before


def test_csv_and_gpkg_refuse_bad_input_with_one_line(duck, tmp_path):
    with ww.Store(tmp_path / "empty.duckdb"):
        pass
    cases = [
        (["export", "csv", str(tmp_path / "a"), "--store", str(tmp_path / "none.duckdb")], "no store"),
        (["export", "csv", str(tmp_path / "a"), "--store", str(tmp_path / "empty.duckdb")], "empty"),
        (["export", "gpkg", str(tmp_path / "a.gpkg"), "--store", str(tmp_path / "empty.duckdb")], "empty"),
        (["export", "csv", str(tmp_path / "a"), "--store", str(duck), "--source", "nope"], "not a source system"),
        (["export", "csv", str(tmp_path / "a"), "--store", str(duck), "--months", "2022-13"], "--months"),
        (["export", "csv", str(tmp_path / "a"), "--store", str(duck), "--months", "2030-01"], "nothing to export"),
        (["export", "gpkg", str(tmp_path / "a.shp"), "--store", str(duck)], ".gpkg"),
    ]
    for args, says in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    assert not (tmp_path / "a").exists() and not (tmp_path / "a.gpkg").exists()
    # and the shell sees the status too (the console entry runs click with standalone_mode=False)
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "export", "csv", str(tmp_path / "a"), "--store",
                           str(tmp_path / "none.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 2 and "no store" in proc.stderr


# ------------------------------------------------------------------------------------------------ GeoPackage
@pytest.fixture(scope="module")
def lsoa_file(reads, tmp_path_factory):
    """LSOA 'boundaries' around each LSOA's police.uk crimes (convex hull, 50 m out), leaving one LSOA out."""
    from shapely.geometry import MultiPoint, mapping

    c = reads["crimes"]
    c = c[(c["source_system"] == "police.uk") & c["x"].notna() & c["lsoa_code"].notna()]
    codes = sorted(set(c["lsoa_code"]))
    left_out = codes[0]
    feats = [{"type": "Feature", "properties": {"LSOA21CD": code, "LSOA21NM": g["lsoa_name"].iloc[0]},
              "geometry": mapping(MultiPoint(list(zip(g["x"], g["y"]))).convex_hull.buffer(50))}
             for code, g in c.groupby("lsoa_code") if code != left_out]
    path = tmp_path_factory.mktemp("bounds") / "lsoa.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}}))
    return path, left_out, len(feats)


@pytest.fixture(scope="module")
def gpkg(duck, lsoa_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpkg") / "qgis.gpkg"
    r = runner.invoke(app, ["export", "gpkg", str(out), "--store", str(duck), "--boundaries", str(lsoa_file[0])])
    assert r.exit_code == 0, r.output
    return out, r


def test_gpkg_has_the_layers_qgis_opens_in_british_national_grid(gpkg, reads):
    pyogrio = pytest.importorskip("pyogrio")
    gpd = pytest.importorskip("geopandas")
    out, r = gpkg
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"crime_points": "Point", "asb_points": "Point", "stop_points": "Point", "map_points": "Point",
                      "lsoa_counts": "MultiPolygon", INFO_LAYER: None}
    expect = {"crime_points": len(reads["crimes"]), "asb_points": len(reads["asb"]),
              "stop_points": len(reads["stops"]), "map_points": len(reads["map_points"])}
    for name, rows in expect.items():
        info = pyogrio.read_info(out, layer=name)
        assert info["crs"] == "EPSG:27700" and info["features"] == rows, name
    crimes = gpd.read_file(out, layer="crime_points")
    assert crimes.crs.to_epsg() == 27700
    located = reads["crimes"]["x"].notna().to_numpy()
    assert crimes.geometry.notna().to_numpy().tolist() == located.tolist()    # one feature per crime
    np.testing.assert_allclose(crimes.geometry[located].x.to_numpy(), reads["crimes"]["x"][located].to_numpy())
    assert crimes.set_index("crime_id").loc["h1", "location"] == FORMULA      # QGIS evaluates nothing: as stored
    assert "person_id" not in pyogrio.read_info(out, layer="stop_points")["fields"]
    about = pyogrio.read_dataframe(out, layer=INFO_LAYER).set_index("key")["value"]
    assert about["generator"] == "whatworks" and about["store"].endswith("s.duckdb")
    assert provenance_path(out).exists()
    assert "GeoPackage written to" in r.stdout and "crime_points" in r.stdout


def test_gpkg_lsoa_counts_join_the_counts_to_the_boundaries(gpkg, reads, lsoa_file):
    gpd = pytest.importorskip("geopandas")
    out, r = gpkg
    _, left_out, n_bounds = lsoa_file
    layer = gpd.read_file(out, layer="lsoa_counts")
    assert layer.crs.to_epsg() == 27700
    crimes, asb = reads["crimes"], reads["asb"]
    sources = sorted(set(crimes["source_system"]) | set(asb["source_system"]))
    assert sorted(set(layer["source_system"])) == sources
    assert len(layer) == n_bounds * len(sources) and left_out not in set(layer["code"])
    pol = layer[layer["source_system"] == "police.uk"].set_index("code")
    mine = crimes[(crimes["source_system"] == "police.uk") & crimes["lsoa_code"].isin(pol.index)]
    assert pol["crimes"].sum() == len(mine)
    assert pol["Burglary"].sum() == (mine["crime_type"] == "Burglary").sum()
    code = pol["crimes"].idxmax()
    assert pol.loc[code, "crimes"] == (mine["lsoa_code"] == code).sum()
    a = asb[(asb["source_system"] == "police.uk") & asb["lsoa_code"].isin(pol.index)]
    assert pol["asb"].sum() == len(a)
    assert "leaves out" in r.stdout                                            # the records not joined are said


def test_gpkg_without_boundaries_and_refusals(duck, gpkg, tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    out, _ = gpkg
    again = runner.invoke(app, ["export", "gpkg", str(out), "--store", str(duck)])
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert "lsoa_counts" in dict(pyogrio.list_layers(out))                     # left as it was
    r = runner.invoke(app, ["export", "gpkg", str(out), "--store", str(duck), "--overwrite", "--source", "police.uk"])
    assert r.exit_code == 0, r.output
    assert "lsoa_counts" not in dict(pyogrio.list_layers(out)) and "--boundaries" in r.stdout
    foreign = tmp_path / "theirs.gpkg"
    foreign.write_bytes(b"not mine")
    r = runner.invoke(app, ["export", "gpkg", str(foreign), "--store", str(duck), "--overwrite"])
    assert r.exit_code == 2 and "not written by whatworks" in r.stderr and foreign.read_bytes() == b"not mine"
    store_copy = tmp_path / "store.gpkg"
    store_copy.write_bytes(duck.read_bytes())
    r = runner.invoke(app, ["export", "gpkg", str(store_copy), "--store", str(duck), "--overwrite"])
    assert r.exit_code == 2 and "DuckDB database" in r.stderr
    assert not list(tmp_path.glob(".*.tmp-*"))                                 # no temporary file left behind
