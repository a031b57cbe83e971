"""The store as Parquet: the layout a Spark store reads (issue 19), written from a DuckDB store.

Layout of a Parquet store folder::

    whatworks-parquet.json        manifest: layout version, whatworks version, the source store's fingerprint,
                                  when it was written, and per table its rows, columns and partitioning
    crimes/source_system=…/force=…/month=…/*.parquet    the store's views, Hive-partitioned by force and month
                                  within each source system (police.uk and an RMS export of the same force are
                                  separate partitions, so replacing one never touches the other)
    asb/…  stops/…  outcomes/…
    coverage/*.parquet            small tables, one folder each (no partitioning)
    areas/…  area_covariates/…  batches/…
    persons/…  person_links/…     only with include_personal=True (personal data stays in the DuckDB store by default)

DuckDB writes it (``COPY … TO … (FORMAT PARQUET, PARTITION_BY (force, month))``); Spark reads the same folders with
partition discovery, so ``force`` (text) and ``month`` (date) come back as columns. Writing is atomic: everything goes
to a hidden sibling folder that is renamed into place only when complete, so a failed or killed export leaves no
half-written store. ``append_parquet`` adds (or replaces) whole force × month partitions, as the DuckDB store replaces
republished months.

Timestamps (``occurred``) are written as DuckDB ``TIMESTAMP`` (no time zone); a Spark session must run with
``spark.sql.session.timeZone=UTC`` to read them back unchanged (:class:`whatworks.store.spark.SparkStore` sets it).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from whatworks._version import __version__
from whatworks.errors import error
from whatworks.store.engine import COVERAGE_KINDS

__all__ = ["export_parquet", "append_parquet", "read_manifest", "MANIFEST", "LAYOUT_VERSION", "PARTITIONED",
           "SMALL_TABLES", "PERSONAL_TABLES", "ParquetExport"]

WHERE = "export_parquet"
MANIFEST = "whatworks-parquet.json"
LAYOUT_VERSION = 1
# The event views, partitioned by force and month (what national aggregations filter and group on).
PARTITIONED = ("crimes", "asb", "stops", "outcomes")
SMALL_TABLES = ("coverage", "areas", "area_covariates", "batches")
PERSONAL_TABLES = ("persons", "person_links")
PARTITION_BY = ("source_system", "force", "month")



@dataclass(frozen=True)
class ParquetExport:
    """What an export wrote: the folder, the manifest, rows per table."""

    path: Path
    manifest: dict = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        return {k: v["rows"] for k, v in self.manifest["tables"].items()}

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.rows.items())
        return f"Parquet store written to {self.path} ({parts})."


def _quote_path(p: Path) -> str:
    return str(p).replace("'", "''")


# Columns of the crimes / asb views computed when read (the latest outcome attached by Crime ID across every month
# held, "latest month wins", as the DuckDB view does): stored, they would go stale when a later month's outcomes are
# appended. SparkStore recomputes them with the same rule.
DERIVED = {"crimes": ("last_outcome_category", "last_outcome_month"), "asb": ("last_outcome_category", "last_outcome_month")}
ID_COLUMNS = ("event_id", "batch_id")


def _select(relation: str, *, event_offset: int = 0, batch_offset: int = 0, cols: Sequence[str] = ()) -> str:
    """The SELECT that writes ``relation``: derived columns left out, ids shifted by the offsets (appends)."""
    drop = DERIVED.get(relation, ())
    exclude = f" EXCLUDE ({', '.join(drop)})" if drop else ""
    repl = []
    if event_offset and "event_id" in cols:
        repl.append(f"event_id + {int(event_offset)} AS event_id")
    if batch_offset and "batch_id" in cols:
        repl.append(f"batch_id + {int(batch_offset)} AS batch_id")
    replace = f" REPLACE ({', '.join(repl)})" if repl else ""
    return f"SELECT *{exclude}{replace} FROM {relation}"


def _copy(con, select: str, target: Path, partition: bool) -> int:
    """COPY one SELECT to ``target`` (a folder); the number of rows written."""
    n = int(con.execute(f"SELECT count(*) FROM ({select})").fetchone()[0])
    target.mkdir(parents=True, exist_ok=True)
    if n == 0:
        # an empty table still needs its schema on disk for a reader: one file with no rows
        con.execute(f"COPY ({select} LIMIT 0) TO '{_quote_path(target / 'empty.parquet')}' (FORMAT PARQUET)")
        return 0
    if partition:
        # one COPY per (source system, force): DuckDB keeps a write buffer per open partition, so writing every
        # force's months at once held ~20 GB for a 70M-row national store; per force it is one force's months
        keys = con.execute(f"SELECT DISTINCT source_system, force FROM ({select}) ORDER BY ALL").fetchall()
        for ss, fo in keys:
            con.execute(f"COPY (SELECT * FROM ({select}) WHERE source_system = ? AND force = ?) "
                        f"TO '{_quote_path(target)}' "
                        f"(FORMAT PARQUET, PARTITION_BY ({', '.join(PARTITION_BY)}), OVERWRITE_OR_IGNORE)", [ss, fo])
    else:
        con.execute(f"COPY ({select}) TO '{_quote_path(target / 'part-0.parquet')}' (FORMAT PARQUET)")
    return n


def _max_ids(con) -> dict[str, int]:
    ev = con.execute("SELECT coalesce(max(event_id), 0) FROM events").fetchone()[0]
    ba = con.execute("SELECT coalesce(max(batch_id), 0) FROM batches").fetchone()[0]
    return {"max_event_id": int(ev), "max_batch_id": int(ba)}


def _columns(con, relation: str) -> list[list[str]]:
    return [[r[0], str(r[1])] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _check_partition_values(con) -> None:
    """Partition values become folder names (``force=…``): refuse the few a Hive layout cannot hold faithfully."""
    for col in ("source_system", "force"):
        bad = con.execute(
            f"SELECT DISTINCT {col} FROM events WHERE {col} IS NULL OR {col} = '' "
            f"OR regexp_matches({col}, '[/\\\\=%\\x00-\\x1f]')").fetchall()
        if bad:
            raise error(WHERE, f"A {col.replace('_', ' ')} name cannot be a Parquet partition folder name.",
                        got=[b[0] for b in bad][:5],
                        hint="Names must be non-empty and hold no '/', '\\', '=', '%' or control characters; "
                             "fix them in the source files and load again.")


def _partitions(root: Path, table: str) -> dict[tuple[str, str, str], Path]:
    """The partition folders of one table by (source_system, force, month ISO date). Folder names are as DuckDB
    writes them (values percent-encoded, e.g. a space as %20) and read back decoded, as Spark decodes them."""
    from urllib.parse import unquote

    out = {}
    for p in (root / table).glob("source_system=*/force=*/month=*"):
        if p.is_dir() and not any(part.startswith(".") for part in p.relative_to(root).parts):
            ss, fo, mo = (unquote(part.split("=", 1)[1]) for part in p.relative_to(root / table).parts)
            out[(ss, fo, mo)] = p
    return out


def export_parquet(store, path: str | os.PathLike, *, include_personal: bool = False, overwrite: bool = False,
                   quiet: bool = False) -> ParquetExport:
    """Write the store as a Parquet store folder (the layout at the top of this module) for Spark.

    Parameters
    ----------
    store : whatworks.Store
        A DuckDB store.
    path : str or path-like
        The folder to create. It must not exist, unless ``overwrite=True`` and it is a Parquet store whatworks
        wrote (it has the manifest); nothing else is ever replaced.
    include_personal : bool, default False
        Also write ``persons`` and ``person_links`` (names, dates of birth, addresses: personal data). Off by default.
    overwrite : bool, default False
        Replace an existing Parquet store folder.
    quiet : bool, default False

    Returns
    -------
    ParquetExport
    """
    from whatworks._announce import announce

    target = Path(path)
    con = store.con
    store_path = getattr(store, "path", None)
    if store_path and store_path != ":memory:":
        sp = Path(store_path).resolve()
        if sp == target.resolve() or target.resolve() in sp.parents:
            raise error(WHERE, "The output folder would hold or replace the store being read.", got=str(target))
    if target.exists():
        if not overwrite:
            raise error(WHERE, "The output folder already exists.", got=str(target),
                        hint="Give a new folder, or overwrite=True (--overwrite) to replace a Parquet store.")
        if not (target / MANIFEST).is_file():
            raise error(WHERE, "The output folder exists and is not a Parquet store whatworks wrote; it is never "
                               "replaced.", got=str(target), hint="Give a new folder.")
    _check_partition_values(con)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tables: dict[str, Any] = {}
    try:
        tmp.mkdir(parents=True)
        relations = set(store.relations()["name"])
        for name in PARTITIONED:
            n = _copy(con, _select(name), tmp / name, partition=True)
            tables[name] = {"rows": n, "partition_by": list(PARTITION_BY), "columns": _columns(con, name),
                            "derived": list(DERIVED.get(name, ()))}
        for name in SMALL_TABLES + (PERSONAL_TABLES if include_personal else ()):
            if name not in relations:
                continue
            n = _copy(con, _select(name), tmp / name, partition=False)
            tables[name] = {"rows": n, "partition_by": [], "columns": _columns(con, name)}
        manifest = {"layout_version": LAYOUT_VERSION, "whatworks_version": __version__,
                    "source_store": str(store_path), "source_fingerprint": store.fingerprint(),
                    "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "include_personal": bool(include_personal), "timestamps": "UTC, without time zone",
                    "tables": tables, **_max_ids(con)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8")
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    res = ParquetExport(path=target, manifest=manifest)
    announce(res.summary() + ("" if include_personal else " Personal tables (persons, person_links) left out: "
                              "include_personal=True to write them."), quiet=quiet)
    return res


def read_manifest(path: str | os.PathLike, *, where: str = "SparkStore") -> dict:
    """The manifest of a Parquet store folder, checked."""
    p = Path(path) / MANIFEST
    if not p.is_file():
        raise error(where, "This folder is not a whatworks Parquet store (no manifest).", got=str(path),
                    hint="Write one from a DuckDB store with `whatworks export parquet DIR --store S`.")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise error(where, "The Parquet store's manifest cannot be read.", got=f"{p}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("layout_version") != LAYOUT_VERSION or "tables" not in doc:
        raise error(where, "The Parquet store's manifest is not one this version of whatworks reads.",
                    got=doc.get("layout_version") if isinstance(doc, dict) else type(doc).__name__,
                    expected=f"layout_version {LAYOUT_VERSION}")
    return doc


def append_parquet(store, path: str | os.PathLike, *, quiet: bool = False) -> ParquetExport:
    """Add the source system × force × month partitions of ``store`` (a DuckDB store, e.g. this month's download loaded into a
    scratch store) to the Parquet store at ``path``. A partition already there is replaced whole — the same
    rule as a republished month in the DuckDB store; coverage rows for those months are replaced too.

    Each partition folder is written beside the store and renamed into place, the manifest last; a failure
    leaves every partition either old or new, never half-written, and the manifest describing the old state
    until the end (re-run to finish).
    """
    from whatworks._announce import announce

    root = Path(path)
    manifest = read_manifest(root, where="append_parquet")
    con = store.con
    _check_partition_values(con)
    stage = root / f".append-{uuid.uuid4().hex[:8]}"
    replaced: list[str] = []
    try:
        stage.mkdir()
        cov_new = store.sql("SELECT * FROM coverage")
        # event and batch ids continue the Parquet store's (two DuckDB stores both number from 1)
        eo, bo = int(manifest["max_event_id"]), int(manifest["max_batch_id"])
        cov_new["batch_id"] = cov_new["batch_id"] + bo
        for name in PARTITIONED:
            info = manifest["tables"][name]
            n = _copy(con, _select(name, event_offset=eo, batch_offset=bo, cols=[c[0] for c in info["columns"]]),
                      stage / name, partition=True)
            if n:
                new_cols = _columns(con, name)
                if [c[0] for c in new_cols] != [c[0] for c in info["columns"]]:
                    raise error("append_parquet", f"The '{name}' columns differ from the Parquet store's.",
                                got=[c[0] for c in new_cols], expected=[c[0] for c in info["columns"]],
                                hint="Both must come from the same whatworks schema version.")
                empty = root / name / "empty.parquet"   # the schema file of a table that was empty when exported
                if empty.exists():
                    empty.unlink()
            # every (source_system, force, month) the new store covers for this view is replaced whole: its old
            # partition goes (even when the new version has no rows there), the new one, if any, comes in
            held = cov_new[cov_new["kind"].isin(COVERAGE_KINDS[name])][["source_system", "force", "month"]]
            have, come = _partitions(root, name), _partitions(stage, name)
            for ss, fo, mo in held.drop_duplicates().itertuples(index=False):
                key = (ss, fo, pd.Timestamp(mo).date().isoformat())
                new_dir = come.get(key)
                if key in have:
                    dest = have[key]
                    old = dest.parent / f".old-{uuid.uuid4().hex[:8]}"
                    dest.rename(old)
                    if new_dir is not None:
                        new_dir.rename(dest)
                    shutil.rmtree(old, ignore_errors=True)
                    replaced.append(str(dest.relative_to(root)))
                elif new_dir is not None:
                    dest = root / new_dir.relative_to(stage)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    new_dir.rename(dest)
        # coverage: drop rows for the (source_system, force, month, kind) the new store covers, add its rows
        cov_dir = root / "coverage"
        old_cov = _read_parquet_folder(cov_dir)
        if len(old_cov):
            key = ["source_system", "force", "month", "kind"]
            old_cov["month"] = pd.to_datetime(old_cov["month"])
            cov_new_k = cov_new.assign(month=pd.to_datetime(cov_new["month"]))
            keep = ~old_cov.set_index(key).index.isin(cov_new_k.set_index(key).index)
            cov_all = pd.concat([old_cov[keep], cov_new_k], ignore_index=True)
        else:
            cov_all = cov_new
        cov_all["month"] = pd.to_datetime(cov_all["month"]).dt.date
        _swap_small(root, "coverage", cov_all)
        # batches: the new store's files, with their ids shifted, added to the list
        if "batches" in manifest["tables"]:
            new_b = store.sql(f"SELECT * REPLACE (batch_id + {bo} AS batch_id) FROM batches")
            all_b = pd.concat([_read_parquet_folder(root / "batches"), new_b], ignore_index=True)
            _swap_small(root, "batches", all_b)
            manifest["tables"]["batches"]["rows"] = len(all_b)
        ids = _max_ids(con)
        manifest["max_event_id"] = eo + ids["max_event_id"]
        manifest["max_batch_id"] = bo + ids["max_batch_id"]
        # the manifest last: rows recounted from the folders
        for name in PARTITIONED:
            manifest["tables"][name]["rows"] = _count_rows(root / name)
        manifest["tables"]["coverage"]["rows"] = len(cov_all)
        manifest.setdefault("appended", []).append({
            "source_store": str(getattr(store, "path", None)), "source_fingerprint": store.fingerprint(),
            "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "replaced_partitions": len(replaced)})
        tmp_manifest = root / f".{MANIFEST}.tmp"
        tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8")
        os.replace(tmp_manifest, root / MANIFEST)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    res = ParquetExport(path=root, manifest=manifest)
    announce(f"Appended to {root}: {len(replaced)} partition(s) replaced by their new version.", quiet=quiet)
    return res


def _swap_small(root: Path, name: str, frame: pd.DataFrame) -> None:
    """Replace a small table's folder with ``frame``, written beside it and renamed into place."""
    tmp = root / f".{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    frame.to_parquet(tmp / "part-0.parquet", index=False)
    old = root / f".{name}-old-{uuid.uuid4().hex[:8]}"
    (root / name).rename(old)
    tmp.rename(root / name)
    shutil.rmtree(old, ignore_errors=True)


def _read_parquet_folder(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _count_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return int(sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet")
                   if not any(part.startswith(".") for part in f.relative_to(folder).parts)))


def partition_folders(path: str | os.PathLike, table: str) -> dict[tuple[str, str, str], Path]:
    """The partition folders of one table by (source_system, force, month) (for checks and tests)."""
    return _partitions(Path(path), table)
