"""whatworks.people.link on Spark (Splink's SparkAPI on a local classic session) against the same run on DuckDB.

The two backends get the same records and the same model settings (only the date pattern is Spark's). The prior
(an exact-rule count) and the EM-trained m probabilities come out the same. The u probabilities do not quite: Splink
counts random pairs in chunks of the right-hand records chosen by the SQL engine's own ``hash()``, and stops once
every comparison level has been seen 100 times, so DuckDB and Spark count different (equally random) sets of pairs.
The link weights therefore differ a little and a handful of borderline pairs can fall on either side of the
threshold; both runs must still meet the accuracy bar, and agree with each other nearly pair for pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.people.linkage import _spark_leftovers, pairwise_metrics

pytestmark = pytest.mark.spark

KW = dict(source="source_system", record_id="person_id", label="true_person_id", quiet=True)


@pytest.fixture(scope="module")
def sample(persons_truth):
    """Every record of 300 people the force holds more than once and of 600 held once, from the synthetic force's
    four systems (1,321 records, 557 true pairs: typos, nicknames, wrong dates, moved and mistyped postcodes)."""
    rng = np.random.default_rng(11)
    n = persons_truth.groupby("true_person_id").size()
    ids = np.concatenate([rng.choice(n.index[n > 1], 300, replace=False), rng.choice(n.index[n == 1], 600, replace=False)])
    return persons_truth[persons_truth["true_person_id"].isin(ids)].reset_index(drop=True)


@pytest.fixture(scope="module")
def duck(sample):
    return ww.people.link(sample, **KW)


@pytest.fixture(scope="module")
def on_spark(sample, spark):
    return ww.people.link(sample, backend="spark", spark=spark, **KW)


def test_spark_and_duckdb_both_link_accurately_and_alike(duck, on_spark):
    assert on_spark.backend == "spark" and on_spark.settings["backend"].value == "spark"
    assert on_spark.n_records == duck.n_records == 1_321
    d, s = duck.metrics, on_spark.metrics
    assert d["true_pairs"] == s["true_pairs"] == 557
    for m in (d, s):
        assert m["precision"] >= 0.99 and m["recall"] >= 0.95, m
    assert abs(d["precision"] - s["precision"]) <= 0.01 and abs(d["recall"] - s["recall"]) <= 0.02
    # the two clusterings, one scored against the other: nearly the same pairs of records together
    agree = pairwise_metrics(on_spark.table["cluster_id"], duck.table["cluster_id"])
    assert agree["precision"] >= 0.98 and agree["recall"] >= 0.98, agree
    # the same records in the same order, and the same linked pairs give close weights
    pd.testing.assert_frame_equal(on_spark.table[["source", "record_id", "label"]], duck.table[["source", "record_id", "label"]])
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    both = duck.pairs.merge(on_spark.pairs, on=keys, suffixes=("_d", "_s"))
    assert len(both) >= 0.98 * max(len(duck.pairs), len(on_spark.pairs))
    assert (both["match_weight_d"] - both["match_weight_s"]).abs().max() < 1.5


def test_spark_model_has_the_same_prior_and_m_and_close_u(duck, on_spark):
    assert on_spark.model["probability_two_random_records_match"] == pytest.approx(
        duck.model["probability_two_random_records_match"], rel=1e-9)
    assert [c["output_column_name"] for c in on_spark.model["comparisons"]] == ["first_name", "surname", "dob", "postcode"]
    for cd, cs in zip(duck.model["comparisons"], on_spark.model["comparisons"]):
        levels = [(a, b) for a, b in zip(cd["comparison_levels"], cs["comparison_levels"]) if not a.get("is_null_level")]
        assert len(levels) == len(cs["comparison_levels"]) - 1
        for a, b in levels:
            assert a["label_for_charts"] == b["label_for_charts"]
            assert ("m_probability" in a) == ("m_probability" in b), (a, b)
            assert b.get("m_probability", 0) == pytest.approx(a.get("m_probability", 0), abs=1e-3), a["label_for_charts"]
            # u: random-pair counts of at least 100 per level (relative s.e. about 10%), so within a factor 1.5
            ratio = b["u_probability"] / a["u_probability"]
            assert 1 / 1.5 < ratio < 1.5, (cd["output_column_name"], a["label_for_charts"], ratio)
    # only the date pattern differs in the SQL
    dob_d = next(c for c in duck.model["comparisons"] if c["output_column_name"] == "dob")
    dob_s = next(c for c in on_spark.model["comparisons"] if c["output_column_name"] == "dob")
    assert "%Y-%m-%d" in str(dob_d) and "yyyy-MM-dd" in str(dob_s) and "%Y-%m-%d" not in str(dob_s)


def test_spark_run_leaves_no_splink_views_or_files(on_spark, spark):
    assert on_spark.n_clusters > 0
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("__splink__")]
    sc = spark._jsc.sc()
    folder = spark._jvm.org.apache.hadoop.fs.Path(sc.getCheckpointDir().get())
    fs = folder.getFileSystem(sc.hadoopConfiguration())
    names = [st.getPath().getName() for st in fs.listStatus(folder)] if fs.exists(folder) else []
    assert not [n for n in names if n.startswith("__splink__")]


def test_spark_leftovers_drops_only_what_appeared_during_the_run(spark):
    spark.range(3).createOrReplaceTempView("__splink__before")
    drop = _spark_leftovers(spark)
    spark.range(3).createOrReplaceTempView("__splink__during")
    spark.range(3).createOrReplaceTempView("mine")
    folder = spark.sparkContext._jsc.sc().getCheckpointDir().get()
    spark.range(3).write.parquet(folder + "/__splink__during_files")
    drop()
    views = {t.name for t in spark.catalog.listTables() if t.isTemporary}
    assert {"__splink__before", "mine"} <= views and "__splink__during" not in views
    sc = spark._jsc.sc()
    path = spark._jvm.org.apache.hadoop.fs.Path(folder + "/__splink__during_files")
    assert not path.getFileSystem(sc.hadoopConfiguration()).exists(path)
    spark.catalog.dropTempView("__splink__before")
    spark.catalog.dropTempView("mine")


def _two_records() -> pd.DataFrame:
    return pd.DataFrame({"source": ["a", "b"], "record_id": ["1", "1"], "first_name": ["Ann", "Ann"],
                         "surname": ["Lee", "Lee"], "dob": ["1990-01-01", "1990-01-01"], "postcode": ["QX1 1AA", "QX1 1AA"]})


def test_spark_backend_needs_a_classic_session():
    df = _two_records()

    class ConnectSession:   # as pyspark.sql.connect.session.SparkSession answers: no JVM context
        def __getattr__(self, name):
            from pyspark.errors import PySparkAttributeError

            raise PySparkAttributeError(errorClass="JVM_ATTRIBUTE_NOT_SUPPORTED", messageParameters={"attr_name": name})

    with pytest.raises(WhatworksError, match="classic SparkSession.*ConnectSession"):
        ww.people.link(df, backend="spark", spark=ConnectSession(), quiet=True)
    with pytest.raises(WhatworksError, match="needs a SparkSession"):
        ww.people.link(df, backend="spark", quiet=True)


def test_spark_backend_needs_a_checkpoint_folder(spark, monkeypatch):
    df = _two_records()

    class NoCheckpoint:   # the shared session's JVM context, answering as a context without a checkpoint folder
        def __init__(self, sc):
            self._sc = sc

        def getCheckpointDir(self):
            return spark._jvm.scala.Option.empty()

        def __getattr__(self, name):
            return getattr(self._sc, name)

    jsc = spark._jsc
    monkeypatch.setattr(spark, "_jsc", type("JSC", (), {"sc": lambda self: NoCheckpoint(jsc.sc())})())
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    with pytest.raises(WhatworksError, match="no checkpoint folder.*setCheckpointDir"):
        ww.people.link(df, backend="spark", spark=spark, quiet=True)


def test_the_link_command_runs_splink_on_spark_with_the_same_settings(spark, tmp_path):
    """Issue 19: `whatworks link --backend spark` over a store's persons, beside the DuckDB run of the same model."""
    from typer.testing import CliRunner

    from whatworks.cli import app

    force = ww.synth.generate(seed=3, crimes=6_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=1_000)
    with ww.Store(tmp_path / "s.duckdb") as s:
        force.to_store(s, workdir=tmp_path / "files")
        persons = s.persons()
    out = tmp_path / "links.csv"
    r = CliRunner().invoke(app, ["link", "--backend", "spark", "--store", str(tmp_path / "s.duckdb"), "--no-save",
                                 "--include-personal", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    assert "Splink on Spark" in r.output
    got = pd.read_csv(out, dtype={"record_id": str})
    assert len(got) == len(persons)
    duck = ww.people.link(persons, source="source_system", record_id="person_id", quiet=True).table
    both = got.merge(duck, on=["source", "record_id"], suffixes=("_spark", "_duck"))
    assert len(both) == len(persons)
    agree = pairwise_metrics(both["cluster_id_spark"], both["cluster_id_duck"])
    assert agree["precision"] >= 0.98 and agree["recall"] >= 0.98
    ident = force.truth_tables["person_identity"].rename(columns={"source_system": "source", "person_id": "record_id"})
    lab = got.merge(ident.assign(record_id=ident["record_id"].astype(str)), on=["source", "record_id"])
    assert pairwise_metrics(lab["cluster_id"], lab["true_person_id"])["precision"] >= 0.95
    bad = CliRunner().invoke(app, ["link", "--backend", "spark", "--memory-limit", "2GB", "--store",
                                   str(tmp_path / "s.duckdb"), "--no-save"])
    assert bad.exit_code == 2 and "--memory-limit is DuckDB's" in bad.output


def test_linkage_session_removes_its_scratch_folder(spark, tmp_path, monkeypatch):
    """The scratch checkpoint folder of `whatworks link --backend spark` (personal data in Splink's tables) is gone
    afterwards; a session that already has a checkpoint folder keeps its own."""
    import tempfile

    from whatworks.store.spark import linkage_session

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = spark.sparkContext.getCheckpointDir()
    with linkage_session() as s:
        assert s is spark and [p.name for p in tmp_path.iterdir()][0].startswith("whatworks-splink-")
    assert list(tmp_path.iterdir()) == []
    assert spark.sparkContext.getCheckpointDir() == before
