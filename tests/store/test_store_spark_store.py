"""The store on Spark (issue 19): a DuckDB store exported as Parquet and read by SparkStore gives the same answers.

Parity: on the synthetic force, every aggregate the analyses consume from ``counts`` and ``coverage`` is equal on
DuckDB and on local Spark (counts exactly, sums to 1e-12). Append: a Parquet store plus next months' files (one of
them a republished month) equals a DuckDB store that loaded the same files in the same order.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.store.parquet import MANIFEST, append_parquet, export_parquet, partition_folders, read_manifest
from whatworks.store.spark import SparkStore

pytestmark = pytest.mark.spark

CASES = [
    (["force", "financial_year", "crime_type"], {}),
    (["month", "lsoa_code"], {"where": {"crime_type": "Burglary"}}),
    (["source_system", "year"], {"months": ("2022-06", "2023-02")}),
    (["quarter", "last_outcome_category"], {}),
    (["crime_type"], {"where": {"lsoa_code": None}}),
    (["quarter"], {"table": "stops"}),
    (["officer_defined_ethnicity", "financial_year"], {"table": "stops"}),
    (["outcome_type"], {"table": "outcomes"}),
    (["month"], {"table": "asb"}),
    (["force", "month"], {"value": "x"}),
    ([], {"where": {"source_system": "police.uk"}}),
]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        if pd.api.types.is_float_dtype(a[c]) and c in ("total",):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12)
        elif pd.api.types.is_numeric_dtype(a[c]):
            assert (a[c].to_numpy() == b[c].to_numpy()).all(), c       # counts exactly
        else:
            assert a[c].astype(object).where(a[c].notna(), None).tolist() == \
                   b[c].astype(object).where(b[c].notna(), None).tolist(), c


@pytest.fixture(scope="module")
def force():
    return ww.synth.generate(seed=3, crimes=4000, months=12)


@pytest.fixture(scope="module")
def duck(force, tmp_path_factory):
    d = tmp_path_factory.mktemp("duck")
    s = ww.Store(d / "s.duckdb")
    force.to_store(s, workdir=d / "files")
    yield s
    s.close()


@pytest.fixture(scope="module")
def parquet(duck, tmp_path_factory):
    out = tmp_path_factory.mktemp("pq") / "store"
    return export_parquet(duck, out, quiet=True)


@pytest.fixture(scope="module")
def spark_store(parquet, spark):
    return SparkStore(parquet.path, session=spark, quiet=True)


@pytest.mark.parametrize("by, kw", CASES, ids=[f"{'x'.join(b) or 'all'}-{i}" for i, (b, _) in enumerate(CASES)])
def test_counts_equal_on_duckdb_and_spark(duck, spark_store, by, kw):
    _same(duck.counts(by, **kw), spark_store.counts(by, **kw))


def test_coverage_relations_and_raw_rows_equal(duck, spark_store, parquet):
    pd.testing.assert_frame_equal(duck.coverage(), spark_store.coverage(), check_dtype=False)
    rel = duck.relations().set_index("name")["rows"]
    for name, n in spark_store.relations().set_index("name")["rows"].items():
        assert n == rel[name], name
    m = read_manifest(parquet.path)
    assert m["source_fingerprint"] == duck.fingerprint() == spark_store.fingerprint()
    assert "persons" not in m["tables"] and m["include_personal"] is False
    # every partition folder holds one source system, force and month, named as Spark decodes them
    parts = partition_folders(parquet.path, "crimes")
    assert {k[1] for k in parts} == set(duck.sql("SELECT DISTINCT force FROM crimes")["force"])
    assert {k[0] for k in parts} == set(duck.sql("SELECT DISTINCT source_system FROM crimes")["source_system"])
    # the user's own SQL runs on Spark over the same names
    q = ("SELECT last_outcome_category, count(*) AS n FROM crimes WHERE crime_type = 'Burglary' "
         "GROUP BY 1 ORDER BY 1 NULLS FIRST")
    _same(duck.sql(q), spark_store.sql(q))


def test_spark_store_is_read_only_and_checks_its_folder(spark_store, tmp_path, spark):
    with pytest.raises(WhatworksError, match="read-only"):
        spark_store.ingest_policeuk("x.csv")
    with pytest.raises(WhatworksError, match="not a whatworks Parquet store"):
        SparkStore(tmp_path, session=spark)
    with pytest.raises(WhatworksError, match="no table 'persons'.*include-personal"):
        spark_store.ibis("persons")


def test_export_refuses_what_it_must_not_replace(duck, parquet, tmp_path):
    with pytest.raises(WhatworksError, match="already exists"):
        export_parquet(duck, parquet.path, quiet=True)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "a.txt").write_text("mine")
    with pytest.raises(WhatworksError, match="not a Parquet store whatworks wrote"):
        export_parquet(duck, other, overwrite=True, quiet=True)
    assert (other / "a.txt").read_text() == "mine"
    with pytest.raises(WhatworksError, match="store being read"):
        export_parquet(duck, duck.path, overwrite=True, quiet=True)
    # a failed export leaves no folder and no temporary folder behind
    target = tmp_path / "new"

    class Boom(RuntimeError):
        pass

    real = duck.fingerprint

    def boom():
        raise Boom()

    duck.fingerprint = boom
    try:
        with pytest.raises(Boom):
            export_parquet(duck, target, quiet=True)
    finally:
        duck.fingerprint = real
    assert not target.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".new")]


def test_personal_tables_only_when_asked(duck, tmp_path):
    r = export_parquet(duck, tmp_path / "p", include_personal=True, quiet=True)
    assert r.rows["persons"] == len(duck.persons()) > 0
    assert json.loads((tmp_path / "p" / MANIFEST).read_text())["include_personal"] is True


def _month_dirs(root):
    return sorted(p for p in root.iterdir() if p.is_dir())


def test_append_equals_a_duckdb_store_loading_the_same_files(force, tmp_path, spark):
    files = tmp_path / "files"
    force.write_policeuk(files, archive=False)
    months = _month_dirs(files)
    first, rest = months[:8], months[6:]          # months 7 and 8 come again, month 7 republished with changes

    def folder(name, ms, republish=None):
        d = tmp_path / name
        for m in ms:
            shutil.copytree(m, d / m.name)
        if republish is not None:
            street = next((d / republish.name).glob("*street*.csv"))
            lines = street.read_text().splitlines(keepends=True)
            street.write_text("".join(lines[: len(lines) * 2 // 3]))   # a third of the month withdrawn
        return d

    a_dir, b_dir = folder("a", first), folder("b", rest, republish=months[6])
    ref = ww.Store(tmp_path / "ref.duckdb")
    ref.ingest_policeuk(a_dir)
    ref.ingest_policeuk(b_dir)
    a = ww.Store(tmp_path / "a.duckdb")
    a.ingest_policeuk(a_dir)
    b = ww.Store(tmp_path / "b.duckdb")
    b.ingest_policeuk(b_dir)
    pq = export_parquet(a, tmp_path / "pq", quiet=True)
    res = append_parquet(b, pq.path, quiet=True)
    sp = SparkStore(pq.path, session=spark, quiet=True)
    for by, kw in CASES:
        if "source_system" in kw.get("where", {}) or kw.get("table") not in (None, "crimes", "stops", "asb", "outcomes"):
            continue
        _same(ref.counts(by, **kw), sp.counts(by, **kw))
    pd.testing.assert_frame_equal(ref.coverage().drop(columns="batch_id"), sp.coverage().drop(columns="batch_id"),
                                  check_dtype=False)
    man = read_manifest(pq.path)
    assert man["tables"]["crimes"]["rows"] == len(ref.sql("SELECT * FROM crimes"))
    assert man["appended"][0]["replaced_partitions"] >= 2
    for s in (ref, a, b):
        s.close()


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_datetime64_any_dtype(x) or pd.api.types.is_datetime64_any_dtype(y):
            assert (pd.to_datetime(x).fillna(pd.Timestamp(0)) == pd.to_datetime(y).fillna(pd.Timestamp(0))).all(), c
        elif pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-12, equal_nan=True, err_msg=c)
        else:
            assert x.astype(object).where(x.notna(), None).tolist() == y.astype(object).where(y.notna(), None).tolist(), c


def test_the_read_api_gives_the_same_frames_on_spark(duck, spark_store):
    anc = duck.area_ancestors()
    area = anc.loc[anc["depth"] > 0, "code"].iloc[0] if (anc["depth"] > 0).any() else anc["code"].iloc[0]
    reads = [
        ("crimes", dict(source="police.uk", months=("2022-06", "2022-11"), crime_types=["Burglary", "Robbery"])),
        ("crimes", dict(area=area, columns=["month", "crime_type", "lsoa_code", "last_outcome_category"])),
        ("asb", dict(months="2022-09")),
        ("stops", dict(source="police.uk", columns=["month", "officer_defined_ethnicity", "outcome"])),
        ("outcomes", dict(months=("2022-05", "2022-08"))),
    ]
    for name, kw in reads:
        _frames_equal(getattr(duck, name)(**kw), getattr(spark_store, name)(**kw))
    _frames_equal(duck.sources("crimes"), spark_store.sources("crimes"))
    assert duck.month_span("stops") == spark_store.month_span("stops")
    _frames_equal(duck.months_present("asb", source="police.uk"), spark_store.months_present("asb", source="police.uk"))
    _frames_equal(duck.crime_types(["crimes", "asb"]), spark_store.crime_types(["crimes", "asb"]))
    assert duck.forces("crimes") == spark_store.forces("crimes")
    assert duck.view_columns("crimes") == spark_store.view_columns("crimes")
    _frames_equal(duck.area_ancestors().sort_values(["lsoa_code", "depth"]),
                  spark_store.area_ancestors().sort_values(["lsoa_code", "depth"]))
    with pytest.raises(WhatworksError, match="not available on a Spark store"):
        spark_store.quarantine_count()


def test_store_opens_a_parquet_store_with_engine_spark(parquet, spark):
    sp = ww.Store(parquet.path, engine="spark", session=spark)
    assert isinstance(sp, SparkStore) and sp.engine == "spark"
    with pytest.raises(WhatworksError, match="'engine' parameter must be"):
        ww.Store(":memory:", engine="polars")
    with pytest.raises(WhatworksError, match="only for engine='spark'"):
        ww.Store(":memory:", session=spark)
    with pytest.raises(WhatworksError, match="for a DuckDB store"):
        ww.Store(parquet.path, engine="spark", session=spark, read_only=True)
    assert isinstance(ww.Store(":memory:"), ww.Store)


def test_map_points_are_the_same_on_spark(duck, spark_store):
    forces = duck.forces("crimes")
    _frames_equal(duck.map_points(), spark_store.map_points())
    _frames_equal(duck.map_points(force=forces[:1], months=["2022-06", "2022-07"]),
                  spark_store.map_points(force=forces[:1], months=["2022-06", "2022-07"]))


def test_the_pack_and_the_landscape_are_the_same_on_spark(duck, spark_store, tmp_path):
    """Issue 19: the report runs on either engine through the read API, unchanged, and gives the same figures."""
    a = ww.report.pack(duck, out=tmp_path / "duck.html", quiet=True)
    b = ww.report.pack(spark_store, out=tmp_path / "spark.html", quiet=True)
    for name in ("table", "compare", "attention"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True), check_dtype=False,
                                          rtol=1e-12, obj=name)
    assert a.table is not None and len(a.table) > 0
    assert a.summary().replace("duck.html", "pack") == b.summary().replace("spark.html", "pack")
    area = duck.area_table()
    area = area.loc[area["level"] == area["level"].iloc[-1], "code"].iloc[0]
    la = ww.report.landscape(duck, area=area, out=tmp_path / "l_duck.html", quiet=True)
    lb = ww.report.landscape(spark_store, area=area, out=tmp_path / "l_spark.html", quiet=True)
    for name in ("mix", "trend", "change", "peers", "residents"):
        x, y = getattr(la, name), getattr(lb, name)
        assert (x is None) == (y is None), name
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True), check_dtype=False,
                                          rtol=1e-12, obj=name)
        else:
            assert x == y, name
    assert la.notes == lb.notes


def test_status_on_the_spark_engine_lists_the_same_tables_and_months(duck, parquet, spark_store, spark):
    """Issue 19: `whatworks status --engine spark --store DIR` reads the Parquet store on Spark."""
    from typer.testing import CliRunner

    from whatworks.cli import app

    r = CliRunner().invoke(app, ["status", "--engine", "spark", "--store", str(parquet.path)])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "read on Spark" in out and "Months in the store" in out
    for row in spark_store.relations().itertuples():
        assert row.name in out and f"{row.rows:,}" in out
    cov = duck.coverage()
    assert f"{cov['month'].min():%Y-%m} to {cov['month'].max():%Y-%m}" in out
    bad = CliRunner().invoke(app, ["status", "--engine", "spark"])
    assert bad.exit_code != 0
