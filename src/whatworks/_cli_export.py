"""``whatworks export parquet|csv|gpkg``: the store for other engines and tools.

Mounted by ``whatworks.cli`` with ``register(app)``.

* ``export parquet DIR`` — a Parquet store folder for Spark (issue 19). ``--append`` adds the store's source × force
  × month partitions to an existing Parquet store (a republished month replaces its partition whole);
  ``--include-personal`` also writes ``persons`` and ``person_links`` (names, dates of birth, addresses), and says so
  on stderr.
* ``export csv DIR`` — one CSV per table for Power BI and Excel (issue 18): ``crimes``, ``asb`` (when the store holds
  ASB), ``outcomes``, ``stops``, ``counts`` (source × force × month × crime type × LSOA), ``coverage``, ``areas``,
  with ``README.txt`` and ``whatworks-export.json``; ``persons``, ``person_links`` and ``involvements`` (with names) and
  the stops' ``person_id`` only with ``--include-personal``.
* ``export gpkg FILE.gpkg`` — a GeoPackage for QGIS (EPSG:27700): ``crime_points``, ``asb_points``, ``stop_points``,
  ``map_points`` and, with ``--boundaries``, ``lsoa_counts`` (docs/store.md, "Export for Power BI and QGIS").

The tables come from the store's named reads (no SQL here) and are written by :mod:`whatworks.store.exports`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer

from whatworks._cli_common import EXIT_BAD_INPUT, fail as _fail
from whatworks._terminal import visible
from whatworks.errors import WhatworksError, error


export_app = typer.Typer(help="Write the store for other engines and tools (Parquet for Spark, CSV for Power BI and "
                              "Excel, GeoPackage for QGIS).", no_args_is_help=True)

# Columns holding dates without a time of day (DuckDB DATE): written YYYY-MM-DD; other date-times with the time.
DATE_COLUMNS = ("month", "last_outcome_month", "dob")
# The record views exported, with the read that serves each.
RECORD_TABLES = ("crimes", "asb", "outcomes", "stops")
PERSONAL_TABLES = ("persons", "person_links", "involvements")
PERSONAL_COLUMNS = {"stops": ("person_id",)}   # the searched person's id in an RMS stop record
COUNT_KEYS = ["source_system", "force", "month", "crime_type", "lsoa_code"]
# Months read per part of a record table: a year of a force's records at a time, not the whole store at once.
CHUNK_MONTHS = 12
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

CSV_DESCRIPTIONS = {
    "crimes": "one row per crime (the crimes view, latest outcome attached)",
    "asb": "one row per anti-social behaviour incident",
    "outcomes": "one row per published outcome of a crime (crime_id names it)",
    "stops": "one row per stop and search",
    "counts": "crimes and ASB counted by source_system, force, month, crime_type, lsoa_code (count)",
    "coverage": "what the store holds: one row per source_system, force, month, file kind",
    "areas": "areas with population (and covariates) as columns; code joins counts.lsoa_code",
    "persons": "PERSONAL: one row per person record (names, date of birth, postcode)",
    "person_links": "PERSONAL: record-linkage clusters",
    "involvements": "PERSONAL: each person's part in an event, with their name and date of birth",
}
CSV_NOTES = (
    "Power BI: Get data > Text/CSV (one file) or Folder (all of them; keep the .csv files). Relationships:",
    "  counts[lsoa_code] -> areas[code]; crimes[lsoa_code] -> areas[code]; outcomes[crime_id] -> crimes[crime_id]",
    "  (several outcomes per crime). Count crimes once per source: a store loaded from police.uk and from the",
    "  force's own records holds each crime twice (filter source_system).",
    "counts holds only combinations with at least one record: a month listed in coverage.csv with no row for a",
    "  crime type and LSOA is 0; a month not in coverage.csv is not held (missing, not 0). Rows without an LSOA",
    "  (police.uk publishes some crimes without a location) have lsoa_code empty, so totals match crimes.csv.",
)



def _months_arg(where: str, months: Optional[str]):
    """``--months``: ``2024-06`` or ``2024-04..2025-03`` as (first, last) month Timestamps, or None."""
    import pandas as pd

    if months is None:
        return None
    parts = [m.strip() for m in months.split("..")]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(_MONTH.match(m) for m in parts):
        raise error(where, "--months must be one month YYYY-MM or a range FIRST..LAST.", got=months,
                    hint="e.g. --months 2024-06 or --months 2024-04..2025-03")
    lo, hi = (pd.Timestamp(m + "-01") for m in parts)
    if hi < lo:
        raise error(where, "--months ends before it starts.", got=months, hint="Give the first month first.")
    return lo, hi


def _month_text(ts) -> str:
    return ts.strftime("%Y-%m")


def _open(where: str, store: Optional[Path]):
    from whatworks.store import Store, default_store_path

    path = default_store_path(store)
    if path == ":memory:" or not Path(path).exists():
        raise error(where, f"no store at {str(path)!r}.",
                    hint=f"Load data first with `whatworks ingest policeuk PATH --store {path}`.")
    if Path(path).is_dir():
        raise error(where, f"{str(path)!r} is a folder, not a store file.",
                    hint="Give the .duckdb store file with --store (a Parquet store folder is read with "
                         "--engine spark).")
    return path, Store(path, read_only=True)


class _Selection:
    """What the export reads: the sources and months asked for, checked against the store."""

    def __init__(self, where: str, s, source: Optional[List[str]], months: Optional[str]):
        self.where, self.store = where, s
        self.bounds = _months_arg(where, months)
        held = s.event_summary()
        if held.empty:
            raise error(where, f"the store {str(s.path)!r} is empty: it holds no crimes, ASB, outcomes or stops.",
                        hint="Load data first with `whatworks ingest policeuk PATH`.")
        known = sorted(set(held["source_system"].astype(str)))
        self.sources = list(dict.fromkeys(source)) if source else None
        unknown = [x for x in (self.sources or []) if x not in known]
        if unknown:
            raise error(where, f"--source {unknown[0]!r} is not a source system in the store.",
                        expected=f"one of {known}")
        self.rows = {t: self.count(t) for t in RECORD_TABLES}
        self.has_asb = bool(len(s.months_present("asb")))
        if sum(self.rows.values()) == 0:
            said = " ".join(f"--{k} {v}" for k, v in (("source", ",".join(self.sources or [])), ("months", months))
                            if v)
            raise error(where, f"nothing to export: the store holds no crimes, ASB, outcomes or stops for {said}.",
                        hint="`whatworks status` lists the sources and months the store holds.")

    @property
    def months(self):
        """The months filter as a record read takes it: ``(first, last)`` as text, or None."""
        return None if self.bounds is None else tuple(_month_text(b) for b in self.bounds)

    def count(self, table: str) -> int:
        present = self.store.months_present(table, source=self.sources)
        if self.bounds is not None:
            present = present[(present["month"] >= self.bounds[0]) & (present["month"] <= self.bounds[1])]
        return int(present["rows"].sum())

    def read(self, table: str, months=None):
        m = self.months if months is None else months
        return getattr(self.store, table)(source=self.sources, months=m)

    def parts(self, table: str, drop=()):
        """The table in parts of up to CHUNK_MONTHS months (always at least one frame, possibly empty)."""
        import pandas as pd

        lo, hi = self.store.month_span(table, source=self.sources)
        if self.bounds is not None and lo is not None:
            lo, hi = max(lo, self.bounds[0]), min(hi, self.bounds[1])
        if lo is None or lo > hi:
            yield self.read(table).drop(columns=list(drop))
            return
        start = lo
        while start <= hi:
            end = min(start + pd.DateOffset(months=CHUNK_MONTHS - 1), hi)
            yield self.read(table, (_month_text(start), _month_text(end))).drop(columns=list(drop))
            start = end + pd.DateOffset(months=1)

    def counts(self, table: str, by=COUNT_KEYS):
        where = {"source_system": self.sources} if self.sources else None
        return self.store.counts(by=list(by), where=where, table=table, months=self.months)

    def filters(self) -> dict:
        return {"source": self.sources or "every source", "months": "..".join(self.months) if self.months
                else "every month"}


def _record_counts(sel: _Selection):
    """Crimes and ASB counted by COUNT_KEYS (one frame, ``count`` column), ordered by the keys."""
    import pandas as pd

    parts = [sel.counts("crimes")] + ([sel.counts("asb")] if sel.has_asb else [])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out["count"] = out["count"].astype("int64")
    return out.sort_values(COUNT_KEYS, na_position="last", kind="stable").reset_index(drop=True)


def _coverage(sel: _Selection):
    cov = sel.store.coverage()
    if sel.sources:
        cov = cov[cov["source_system"].isin(sel.sources)]
    if sel.bounds is not None:
        cov = cov[(cov["month"] >= sel.bounds[0]) & (cov["month"] <= sel.bounds[1])]
    return cov.reset_index(drop=True)


def _personal(sel: _Selection) -> dict:
    """persons, person_links and involvements (with names and dates of birth), of the sources asked for;
    involvements also of the months asked for (by when the event occurred)."""
    s = sel.store
    persons = s.persons(systems=sel.sources)
    links = s.links()
    inv = s.involvements()
    if sel.sources:
        links = links[links["source_system"].isin(sel.sources)]
        inv = inv[inv["source_system"].isin(sel.sources)]
    if sel.bounds is not None:
        when = inv["occurred"].dt.to_period("M").dt.to_timestamp()
        inv = inv[(when >= sel.bounds[0]) & (when <= sel.bounds[1])]
    names = persons[["source_system", "person_id", "first_name", "surname", "dob"]]
    inv = inv.merge(names, on=["source_system", "person_id"], how="left", validate="many_to_one")
    return {"persons": persons.reset_index(drop=True), "person_links": links.reset_index(drop=True),
            "involvements": inv.reset_index(drop=True)}


def _store_provenance(s, path: str, sel: _Selection, include_personal: bool) -> dict:
    return {"store": str(Path(path).resolve()), "store_fingerprint": s.fingerprint(), **sel.filters(),
            "personal_data": ("INCLUDED (--include-personal): persons, person_links, involvements with names and "
                              "dates of birth, stops.person_id" if include_personal else
                              "left out (persons, person_links, involvements, stops.person_id)")}


@export_app.command("parquet")
def parquet_command(
        folder: Path = typer.Argument(..., help="The Parquet store folder to write (with --append: to add to)."),
        store: Optional[Path] = typer.Option(None, "--store",
                                             help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."),
        append: bool = typer.Option(False, "--append", help="Add this store's months to an existing Parquet store "
                                                            "(a month already there is replaced whole)."),
        include_personal: bool = typer.Option(False, "--include-personal",
                                              help="Also write persons and person_links (personal data)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing Parquet store whatworks wrote."),
        quiet: bool = typer.Option(False, "--quiet", help="Silence announced defaults.")) -> None:
    """Write the store as Parquet partitioned by source system, force and month, for `--engine spark`."""
    from whatworks.store import Store, default_store_path
    from whatworks.store.parquet import append_parquet, export_parquet

    path = default_store_path(store)
    try:
        if append and (include_personal or overwrite):
            raise WhatworksError("export parquet: --append adds months to a Parquet store as it is; it takes neither "
                                 "--include-personal nor --overwrite. Hint: write a new folder for those.")
        if path == ":memory:" or not Path(path).exists():
            raise WhatworksError(f"export parquet: no store at {str(path)!r}. Hint: load data first with "
                                 f"`whatworks ingest policeuk PATH --store {path}`.")
        with Store(path, read_only=True) as s:
            if append:
                r = append_parquet(s, folder, quiet=quiet)
            else:
                r = export_parquet(s, folder, include_personal=include_personal, overwrite=overwrite, quiet=quiet)
    except WhatworksError as exc:
        typer.echo(visible(str(exc)), err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    if include_personal:
        typer.echo(visible(f"personal data written: persons and person_links are in {folder} (--include-personal); "
                           "protect the folder as you protect the store."), err=True)
    typer.echo(visible(r.summary()))


SourceOpt = typer.Option(None, "--source", help="Only this source system (repeat for several; default: every one).")
MonthsOpt = typer.Option(None, "--months", help="Only these months: YYYY-MM or FIRST..LAST, e.g. 2024-04..2025-03.")
StoreOpt = typer.Option(None, "--store", help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb).")


@export_app.command("csv")
def csv_command(
        folder: Path = typer.Argument(..., help="The folder to write the CSV files into (new, empty, or an earlier "
                                                "`whatworks export csv` with --overwrite)."),
        store: Optional[Path] = StoreOpt, source: Optional[List[str]] = SourceOpt, months: Optional[str] = MonthsOpt,
        include_personal: bool = typer.Option(False, "--include-personal",
                                              help="Also write persons, person_links, involvements with names, and "
                                                   "the stops' person_id (personal data)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export in the folder "
                                                                  "(only one whatworks wrote).")) -> None:
    """Write the store's tables as CSV files for Power BI and Excel (UTF-8 with BOM, ISO dates, README)."""
    from whatworks.store.exports import CSV_ENCODING, README_NAME, write_csv_folder

    where = "export csv"
    try:
        path, s = _open(where, store)
        with s:
            sel = _Selection(where, s, source, months)
            drop = {} if include_personal else PERSONAL_COLUMNS
            tables = {"crimes": sel.parts("crimes")}
            if sel.has_asb:
                tables["asb"] = sel.parts("asb")
            tables["outcomes"] = sel.parts("outcomes")
            tables["stops"] = sel.parts("stops", drop=drop.get("stops", ()))
            tables["counts"] = _record_counts(sel)
            tables["coverage"] = _coverage(sel)
            tables["areas"] = s.area_table()
            if include_personal:
                tables.update(_personal(sel))
            doc = write_csv_folder(tables, folder, provenance=_store_provenance(s, path, sel, include_personal),
                                   descriptions=CSV_DESCRIPTIONS, notes=CSV_NOTES, date_columns=DATE_COLUMNS,
                                   overwrite=overwrite, inputs=[path], where=where)
    except WhatworksError as exc:
        _fail(exc)
    if include_personal:
        typer.echo(visible(f"personal data written: persons, person_links, involvements (names, dates of birth) and "
                           f"stops.person_id are in {folder} (--include-personal); protect the folder as you protect "
                           "the store."), err=True)
    parts = ", ".join(f"{n} {t['rows']:,}" for n, t in doc["tables"].items())
    typer.echo(visible(f"CSV export written to {folder}: {len(doc['tables'])} tables ({parts}); "
                       f"{'UTF-8 with BOM' if CSV_ENCODING == 'utf-8-sig' else CSV_ENCODING}, ISO dates; "
                       f"{README_NAME} lists them."))
    if not include_personal:
        typer.echo("Personal data left out (persons, person_links, involvements, stops.person_id): "
                   "--include-personal writes them.")


def _points(frame, drop=()):
    return frame.drop(columns=[c for c in drop if c in frame.columns])


def _lsoa_counts(sel: _Selection, bounds_frame):
    """One feature per (boundary area that is an LSOA of the store, source system with crimes or ASB): ``code``,
    ``name``, ``source_system``, ``crimes`` (all crime types), ``asb`` (when the store holds ASB), one column per
    crime type, ``geometry``; 0 where an area had none. Also the records not joined: (in LSOAs the boundary file
    lacks, without an LSOA)."""
    import pandas as pd

    crimes = sel.counts("crimes", by=["source_system", "lsoa_code", "crime_type"])
    asb = sel.counts("asb", by=["source_system", "lsoa_code"]) if sel.has_asb else None
    ids = set(bounds_frame["id"].astype(str))
    store_lsoas = set(sel.store.areas("lsoa")["code"].astype(str))
    seen = set(crimes["lsoa_code"].dropna().astype(str)) | (set(asb["lsoa_code"].dropna().astype(str))
                                                              if asb is not None else set())
    keep = bounds_frame[bounds_frame["id"].astype(str).isin(store_lsoas | seen)]
    sources = sorted(set(crimes["source_system"]) | (set(asb["source_system"]) if asb is not None else set()))
    types = sorted(set(crimes["crime_type"].dropna()))
    base = keep[["id", "name", "geometry"]].rename(columns={"id": "code"})
    base = base.assign(code=base["code"].astype(str))
    wide = (crimes.dropna(subset=["lsoa_code"]).pivot_table(index=["source_system", "lsoa_code"], columns="crime_type",
                                                            values="count", aggfunc="sum", fill_value=0)
            if len(crimes) else pd.DataFrame())
    frames = []
    for src in sources:
        f = base.assign(source_system=src)
        f["crimes"] = 0
        if len(wide) and src in wide.index.get_level_values(0):
            w = wide.xs(src, level="source_system")
            for t in types:
                f[t] = f["code"].map(w[t] if t in w.columns else {}).fillna(0).astype("int64")
            f["crimes"] = f[types].sum(axis=1).astype("int64")
        else:
            for t in types:
                f[t] = 0
        if asb is not None:
            a = asb[asb["source_system"] == src].set_index("lsoa_code")["count"]
            f["asb"] = f["code"].map(a).fillna(0).astype("int64")
        frames.append(f)
    cols = ["code", "name", "source_system", "crimes"] + (["asb"] if asb is not None else []) + types + ["geometry"]
    layer = (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols))[cols]
    every = pd.concat([crimes[["lsoa_code", "count"]]] + ([asb[["lsoa_code", "count"]]] if asb is not None else []))
    no_lsoa = int(every.loc[every["lsoa_code"].isna(), "count"].sum())
    outside = int(every.loc[every["lsoa_code"].notna() & ~every["lsoa_code"].astype(str).isin(ids), "count"].sum())
    return layer, outside, no_lsoa


@export_app.command("gpkg")
def gpkg_command(
        file: Path = typer.Argument(..., help="The GeoPackage to write (.gpkg)."),
        store: Optional[Path] = StoreOpt, source: Optional[List[str]] = SourceOpt, months: Optional[str] = MonthsOpt,
        boundaries: Optional[Path] = typer.Option(None, "--boundaries",
                                                  help="LSOA boundaries (GeoJSON or GeoPackage): adds the lsoa_counts "
                                                       "layer, counts joined to the polygons."),
        boundary_id: Optional[str] = typer.Option(None, "--boundary-id",
                                                  help="The boundary file's LSOA code property (default: e.g. "
                                                       "LSOA21CD, else code/id)."),
        boundary_layer: Optional[str] = typer.Option(None, "--boundary-layer",
                                                     help="The layer of a boundary GeoPackage holding several."),
        overwrite: bool = typer.Option(False, "--overwrite",
                                       help="Replace an earlier GeoPackage whatworks wrote.")) -> None:
    """Write crime, ASB and stop points (and LSOA counts on boundaries) as a GeoPackage for QGIS (EPSG:27700)."""
    from whatworks.store.exports import write_layers

    where = "export gpkg"
    notes = []
    try:
        if file.suffix.lower() != ".gpkg":
            raise error(where, "the file name must end in .gpkg.", got=str(file))
        if file.exists() and not overwrite:
            raise error(where, f"the output {str(file)!r} already exists.",
                        hint="Give another file name, or --overwrite to replace a GeoPackage whatworks wrote.")
        path, s = _open(where, store)
        with s:
            sel = _Selection(where, s, source, months)
            layers = {"crime_points": sel.read("crimes")}
            if sel.has_asb:
                layers["asb_points"] = sel.read("asb")
            layers["stop_points"] = _points(sel.read("stops"), PERSONAL_COLUMNS["stops"])
            if sel.sources is None or "police.uk" in sel.sources:
                ms = None
                if sel.bounds is not None:
                    import pandas as pd

                    ms = list(pd.date_range(sel.bounds[0], sel.bounds[1], freq="MS"))
                layers["map_points"] = s.map_points(months=ms)
            if boundaries is not None:
                b = s.boundaries(boundaries, id=boundary_id, layer=boundary_layer)
                layers["lsoa_counts"], outside, no_lsoa = _lsoa_counts(sel, b)
                if outside or no_lsoa:
                    notes.append(f"lsoa_counts leaves out {outside:,} record(s) in LSOAs the boundary file does not "
                                 f"hold and {no_lsoa:,} without an LSOA (they are in the point layers).")
            else:
                notes.append("No lsoa_counts layer: give --boundaries LSOA.geojson (or .gpkg) to add one.")
            prov = _store_provenance(s, path, sel, False)
            prov["personal_data"] = "left out (stops.person_id; people are never written to a GeoPackage)"
            if boundaries is not None:
                prov["boundaries"] = str(Path(boundaries).resolve())
            doc = write_layers(layers, file, crs="EPSG:27700", provenance=prov, overwrite=overwrite,
                               inputs=[path] + ([boundaries] if boundaries is not None else []), where=where)
    except WhatworksError as exc:
        _fail(exc)
    parts = ", ".join(f"{n} {d['rows']:,}" for n, d in doc["layers"].items())
    typer.echo(visible(f"GeoPackage written to {file} (EPSG:27700): {len(doc['layers'])} layers ({parts})."))
    unlocated = {n: d["without_geometry"] for n, d in doc["layers"].items() if d["without_geometry"]}
    if unlocated:
        typer.echo(visible("Without coordinates (kept, no geometry): "
                           + ", ".join(f"{n} {k:,}" for n, k in unlocated.items()) + "."))
    for line in notes:
        typer.echo(visible(line))


def register(app) -> None:
    app.add_typer(export_app, name="export")


__all__ = ["register", "export_app"]
