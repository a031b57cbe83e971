"""`whatworks export parquet DIR` and `--engine spark` on the pack (issue 19): the CLI writes the Parquet store the
Spark engine reads, refuses what it must not do, and the pack from the Parquet store equals the pack from the
DuckDB store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import app
from whatworks.store.parquet import MANIFEST

runner = CliRunner()


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    force = ww.synth.generate(seed=4, crimes=3000, months=12)
    with ww.Store(d / "s.duckdb") as s:
        force.to_store(s, workdir=d / "files")
    return d / "s.duckdb"


def test_export_parquet_writes_the_layout_and_refuses_what_it_must_not(duck, tmp_path):
    out = tmp_path / "pq"
    r = runner.invoke(app, ["export", "parquet", str(out), "--store", str(duck)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["tables"]["crimes"]["rows"] > 0 and "persons" not in manifest["tables"]
    assert "Parquet store written to" in r.output
    again = runner.invoke(app, ["export", "parquet", str(out), "--store", str(duck)])
    assert again.exit_code == 2 and "exist" in again.output            # never replaced without --overwrite
    both = runner.invoke(app, ["export", "parquet", str(out), "--append", "--include-personal", "--store", str(duck)])
    assert both.exit_code == 2 and "--append" in both.output
    missing = runner.invoke(app, ["export", "parquet", str(tmp_path / "x"), "--store", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no store" in missing.output
    personal = runner.invoke(app, ["export", "parquet", str(tmp_path / "pp"), "--include-personal", "--store", str(duck)])
    assert personal.exit_code == 0, personal.output
    assert "personal data written" in personal.output
    assert "persons" in json.loads((tmp_path / "pp" / MANIFEST).read_text())["tables"]


def test_engine_spark_needs_a_folder(tmp_path):
    r = runner.invoke(app, ["pack", "--engine", "spark", "--out", str(tmp_path / "p.html")])
    assert r.exit_code != 0 and "--store DIR" in str(r.exception or r.output)
    r = runner.invoke(app, ["pack", "--engine", "polars", "--store", str(tmp_path), "--out", str(tmp_path / "p.html")])
    assert r.exit_code != 0 and "duckdb or spark" in str(r.exception or r.output)


@pytest.mark.spark
def test_the_pack_from_the_parquet_store_equals_the_pack_from_duckdb(duck, tmp_path, spark):
    out = tmp_path / "pq"
    assert runner.invoke(app, ["export", "parquet", str(out), "--store", str(duck)]).exit_code == 0
    a = runner.invoke(app, ["pack", "--store", str(duck), "--out", str(tmp_path / "duck.html")])
    b = runner.invoke(app, ["pack", "--engine", "spark", "--store", str(out), "--out", str(tmp_path / "spark.html")])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    assert a.output.replace("duck.html", "pack") == b.output.replace("spark.html", "pack")
