"""Fixtures shared across the test tree: one local Spark session for the tests marked ``spark``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local classic SparkSession (2 cores, 2 shuffle partitions, no UI, UTC), started on first use by a test that
    asks for it and stopped at the end of the test session, so every Spark test module shares one JVM start-up.

    It carries Splink's similarity-function jar and a private checkpoint folder (both needed by ``people.link``), and
    keeps its warehouse, scratch and Derby files in a temporary folder rather than the working folder.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    tmp = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]").appName("whatworks-tests")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.local.dir", str(tmp / "local"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp / 'derby'}")
        .config("spark.jars", similarity_jar_location())
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp / "checkpoints"))
    yield session
    session.stop()
