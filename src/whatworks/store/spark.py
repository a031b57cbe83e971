"""A store that lives on Spark: the store's reads and aggregations on classic PySpark over a Parquet store folder
(:mod:`whatworks.store.parquet`), through the same Ibis expressions as the DuckDB store (issue 19).

``SparkStore`` is read-only for analysis: data goes in through a DuckDB store (every check, quarantine and row
accounting of the ingest is the DuckDB pipeline's), then ``export_parquet`` writes the Parquet layout and
``append_parquet`` adds next month's partitions. ``whatworks.Store(path, engine="spark")`` opens one.

Spark Connect is not supported (Splink's Spark backend needs a classic session, and so do the Parquet readers here).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from whatworks.errors import error
from whatworks.store._reads_api import ApiReads
from whatworks.store._reads_place import PlaceReads
from whatworks.store.parquet import MANIFEST, read_manifest

__all__ = ["SparkStore", "local_session", "linkage_session"]

WHERE = "SparkStore"


def local_session(*, cores: int = 2, memory: str | None = None, linkage: bool = False,
                  checkpoint_dir: str | os.PathLike | None = None):
    """A local classic SparkSession for whatworks: loopback only, no UI, UTC, Arrow transfers on.

    ``linkage=True`` adds Splink's similarity-function jar (Jaro-Winkler, Damerau-Levenshtein) for
    ``whatworks.people.link(backend="spark")``; it takes effect only when this call creates the session.
    ``checkpoint_dir`` sets the folder Splink writes its intermediate tables to, unless the session has one."""
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.master(f"local[{int(cores)}]").appName("whatworks")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", str(max(2, 2 * int(cores))))
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if memory:
        b = b.config("spark.driver.memory", memory)
    if linkage:
        from splink.backends.spark import similarity_jar_location

        b = b.config("spark.jars", similarity_jar_location())
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    if checkpoint_dir is not None and not s.sparkContext.getCheckpointDir():
        s.sparkContext.setCheckpointDir(str(checkpoint_dir))
    return s


@contextlib.contextmanager
def linkage_session(*, cores: int = 2, memory: str | None = None):
    """:func:`local_session` for ``people.link(backend="spark")`` with a scratch checkpoint folder that is removed
    afterwards: Splink's intermediate tables there hold the personal data being linked. (A session that already has a
    checkpoint folder keeps it; the scratch folder is then unused.) For one-off runs such as ``whatworks link``."""
    scratch = tempfile.mkdtemp(prefix="whatworks-splink-")
    try:
        yield local_session(cores=cores, memory=memory, linkage=True, checkpoint_dir=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _is_connect(session) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


class SparkStore(ApiReads, PlaceReads):
    """The store's analysis reads on Spark, over a Parquet store folder: the same named reads as the DuckDB store
    (``crimes``, ``asb``, ``stops``, ``outcomes``, ``sources``, ``month_span``, ``months_present``, ``crime_types``,
    ``forces``, ``view_columns``, ``area_ancestors``, ``area_table``, ``map_points``, ``boundaries``), ``counts``,
    ``coverage`` and ``sql``.

    Parameters
    ----------
    path : str or path-like
        A Parquet store folder (``whatworks export parquet DIR``); on a cluster, any path the session reads
        (``hdfs://``, ``s3a://``, ``abfss://`` …) holding that layout.
    session : pyspark.sql.SparkSession, optional
        A classic session (not Spark Connect). ``None``: the active session, else :func:`local_session`.

    Its session's time zone is set to UTC (timestamps in the store are UTC without a zone), announced when it
    changes.
    """

    engine = "spark"

    def __init__(self, path: str | os.PathLike, *, session=None, quiet: bool = False) -> None:
        from whatworks._announce import announce

        self.path = str(path)
        self.manifest = read_manifest(path, where=WHERE)
        if session is None:
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession() or local_session()
        if _is_connect(session):
            raise error(WHERE, "Spark Connect sessions are not supported.", got=type(session).__name__,
                        hint="Use a classic SparkSession (SparkSession.builder...getOrCreate() without .remote()); "
                             "Splink's Spark backend needs one too.")
        tz = session.conf.get("spark.sql.session.timeZone")
        if tz != "UTC":
            session.conf.set("spark.sql.session.timeZone", "UTC")
            announce(f"Spark session time zone set to UTC (was {tz}): the store's timestamps are UTC.", quiet=quiet)
        self.session = session
        self._tag = uuid.uuid4().hex[:8]
        self._tables: dict[str, Any] = {}
        self._backend = None

    # ------------------------------------------------------------------ engine
    def _ibis(self):
        if self._backend is None:
            from whatworks.store.engine import backend

            self._backend = backend(engine="spark", session=self.session)
        return self._backend

    def _require_relation(self, name: str) -> None:
        if name not in self.manifest["tables"]:
            raise error(WHERE, f"This Parquet store has no table {name!r}.", got=name,
                        expected=f"one of {sorted(self.manifest['tables'])}",
                        hint=("Personal tables are written only with `whatworks export parquet --include-personal`."
                              if name in ("persons", "person_links") else None))

    def ibis(self, name: str | None = None):
        """The Ibis backend over the session, or the Ibis table ``name`` read from the Parquet folder."""
        b = self._ibis()
        if name is None:
            return b
        self._require_relation(name)
        if name not in self._tables:
            raw = self._raw(name)
            info = self.manifest["tables"][name]
            cols = [c[0] for c in info["columns"]]
            if info.get("derived"):
                raw = self._with_latest_outcome(raw, cols)
            elif list(raw.columns) != cols:
                raw = raw.select(*cols)   # Spark puts partition columns last: the DuckDB store's order
            self._tables[name] = raw
        return self._tables[name]

    def _raw(self, name: str):
        key = f"_raw_{name}"
        if key not in self._tables:
            self._tables[key] = self._ibis().read_parquet(str(Path(self.path) / name),
                                                          table_name=f"whatworks_{self._tag}_{name}")
        return self._tables[key]

    def _with_latest_outcome(self, events, columns: Sequence[str]):
        """The DuckDB ``crimes``/``asb`` view's outcome columns, computed on read by the same rule: each crime's
        latest outcome by Crime ID within its source system (latest month, then batch, then row, wins), else the
        outcome published with the crime (store/schema.py ``_event_view``)."""
        import ibis

        o = self._raw("outcomes")
        o = o.filter(o["crime_id"].notnull())
        w = ibis.window(group_by=[o["source_system"], o["crime_id"]],
                        order_by=[ibis.desc(o["month"]), ibis.desc(o["batch_id"]), ibis.desc(o["source_row"])])
        latest = (o.mutate(_rk=ibis.row_number().over(w)).filter(lambda t: t["_rk"] == 0)
                  .select(_ss=o["source_system"], _cid=o["crime_id"], _outcome=o["outcome_type"],
                          _outcome_month=o["month"]))
        j = events.left_join(latest, [events["source_system"] == latest["_ss"], events["crime_id"] == latest["_cid"]])
        out = j.mutate(last_outcome_category=ibis.coalesce(j["_outcome"], j["published_outcome_category"]),
                       last_outcome_month=j["_outcome_month"])
        return out.select(*columns)

    def sql(self, query: str) -> pd.DataFrame:
        """Run a Spark SQL query over this store's tables, named as in the DuckDB store (``crimes``, ``coverage`` …),
        for users' own questions. The names are session temporary views: the store opened last owns them."""
        if not isinstance(query, str) or not query.strip():
            raise error(WHERE, "The query must be a non-empty SQL text.", got=query)
        for name, info in self.manifest["tables"].items():
            if info.get("derived"):   # crimes / asb with their latest outcome, as the DuckDB views
                self.session.sql(self._ibis().compile(self.ibis(name))).createOrReplaceTempView(name)
            else:
                self.session.read.parquet(str(Path(self.path) / name)).createOrReplaceTempView(name)
        return self.session.sql(query).toPandas()

    # ------------------------------------------------------------------ the read API's engine hooks (ApiReads)
    def _frame(self, expr, what: str) -> pd.DataFrame:
        """Run an Ibis expression on Spark; dates come back as Timestamps, as the DuckDB store gives them."""
        out = expr.to_pandas()
        for c, typ in expr.schema().items():
            if typ.is_date() and c in out:
                out[c] = pd.to_datetime(out[c])
        return out

    def _has_relation(self, name: str) -> bool:
        return name in self.manifest["tables"]

    def _area_con(self):
        """A scratch in-memory DuckDB holding the small area tables and the LSOAs the events name (a few
        thousand rows), so the area hierarchy is built by the same code as the DuckDB store's."""
        if getattr(self, "_areas_con", None) is None:
            import ibis
            import duckdb

            con = duckdb.connect(":memory:")
            for name in ("areas", "area_covariates"):
                df = self.ibis(name).to_pandas() if name in self.manifest["tables"] else None
                if df is None:
                    raise error(WHERE, f"This Parquet store has no {name!r} table.",
                                hint="Export it from a store that has areas loaded (store.ingest_areas).")
                con.register(f"_{name}", df)
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
            parts = [self.ibis(v).select("lsoa_code", "lsoa_name") for v in ("crimes", "asb", "outcomes")]
            st = self.ibis("stops")   # stops name an LSOA but carry no LSOA name (as in the DuckDB events table)
            parts.append(st.select(st["lsoa_code"], ibis.null().cast("string").name("lsoa_name")))
            u = ibis.union(*parts, distinct=False)
            names = (u.filter(u["lsoa_code"].notnull()).group_by("lsoa_code")
                     .aggregate(lsoa_name=u["lsoa_name"].arbitrary()).to_pandas())
            con.register("_names", names)
            con.execute("CREATE TABLE events AS SELECT lsoa_code, lsoa_name FROM _names")
            self._areas_con = con
        return self._areas_con

    def area_ancestors(self) -> pd.DataFrame:
        from whatworks.store import areas as _areas

        return _areas.ancestors(self._area_con())

    def area_table(self, level: str | None = None, *, roll_up: bool = False) -> pd.DataFrame:
        from whatworks.store import areas as _areas

        return _areas.area_table(self._area_con(), level=level, roll_up=roll_up)

    def _not_on_spark(self, what: str):
        raise error(WHERE, f"{what} is not available on a Spark store.",
                    hint="It reads tables kept in the DuckDB store (people, quarantine, every event kind); run it "
                         "there, or link people with Splink's Spark backend on the exported persons table.")

    def involvements(self, *a, **k):
        self._not_on_spark("Store.involvements")

    def links(self, *a, **k):
        self._not_on_spark("Store.links")

    def linkage_connection(self, *a, **k):
        self._not_on_spark("Store.linkage_connection (a DuckDB connection)")

    def event_summary(self):
        self._not_on_spark("Store.event_summary")

    def person_summary(self):
        self._not_on_spark("Store.person_summary")

    def role_summary(self):
        self._not_on_spark("Store.role_summary")

    def quarantine_count(self, *a, **k):
        self._not_on_spark("Store.quarantine_count (the quarantine stays in the DuckDB store)")

    # ------------------------------------------------------------------ what the store holds
    def relation_names(self) -> list[str]:
        """The Parquet store's table names, sorted (from the manifest)."""
        return sorted(self.manifest["tables"])

    def relations(self) -> pd.DataFrame:
        """Tables with their row counts (from the manifest)."""
        return pd.DataFrame([{"name": k, "type": "parquet", "rows": int(v["rows"])}
                             for k, v in sorted(self.manifest["tables"].items())])

    def fingerprint(self) -> str:
        """The fingerprint of the DuckDB store the folder was written from, and of each store appended since."""
        parts = [self.manifest["source_fingerprint"]] + [a["source_fingerprint"] for a in self.manifest.get("appended", [])]
        if len(parts) == 1:
            return parts[0]
        import hashlib

        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def coverage(self, kind: str | None = None) -> pd.DataFrame:
        """What the store covers, as :meth:`whatworks.Store.coverage` (same columns and order)."""
        t = self.ibis("coverage")
        if kind is not None:
            t = t.filter(t["kind"] == kind)
        out = t.to_pandas()
        out["month"] = pd.to_datetime(out["month"])
        cols = ["source_system", "force", "month", "kind", "batch_id", "rows"]
        return out[cols].sort_values(["source_system", "force", "kind", "month"]).reset_index(drop=True)

    def counts(self, by: Sequence[str], where: dict | None = None, *, table: str = "crimes",
               months: tuple[str, str] | None = None, value: str | None = None) -> pd.DataFrame:
        """Counts computed on Spark, as :meth:`whatworks.Store.counts` (same arguments, same answer)."""
        from whatworks.store.engine import store_counts

        self._require_relation(table)
        return store_counts(self.ibis(table), table, self.coverage, by, where, months=months, value=value)

    def status(self) -> dict:
        """Tables and rows, months held (from coverage), and where the data came from."""
        from whatworks.store import quality as _quality

        cov = self.coverage()
        return {"path": self.path, "engine": "spark", "relations": self.relations(),
                "first_month": cov["month"].min() if len(cov) else None,
                "last_month": cov["month"].max() if len(cov) else None,
                "coverage": cov, "coverage_summary": _quality.coverage_summary(cov),
                "written": self.manifest.get("written"), "whatworks_version": self.manifest.get("whatworks_version"),
                "source_fingerprint": self.manifest.get("source_fingerprint")}

    # ------------------------------------------------------------------ writing goes through a DuckDB store
    def _read_only(self, what: str):
        raise error(WHERE, f"A Spark store is read-only: {what} runs on a DuckDB store.",
                    hint=f"Load the files into a DuckDB store (every check and quarantine runs there), then add them "
                         f"with `whatworks export parquet {self.path} --append --store S` "
                         f"(whatworks.store.parquet.append_parquet).")

    def ingest_policeuk(self, *a, **k):
        self._read_only("ingest")

    def ingest_records(self, *a, **k):
        self._read_only("ingest")

    def ingest_areas(self, *a, **k):
        self._read_only("ingest")

    def ingest_survey(self, *a, **k):
        self._read_only("ingest")

    def unload(self, *a, **k):
        self._read_only("unload")

    def close(self) -> None:
        """Forget the registered tables (the session is the caller's and stays open)."""
        self._tables.clear()
        if getattr(self, "_areas_con", None) is not None:
            self._areas_con.close()
            self._areas_con = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SparkStore({self.path!r})"


def is_parquet_store(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


