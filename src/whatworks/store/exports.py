"""Every file whatworks writes goes through here: packs and landscapes, SVG diagrams, tables, map layers.

Analyses return ``.to_geojson()`` dicts without touching the disk; only ``store/`` writes files (DESIGN.md). GeoPackage
needs geopandas (with pyogrio or fiona); GeoJSON needs nothing beyond the standard library. :func:`write_csv_folder`
writes a folder of CSV tables for Power BI and Excel (UTF-8 with BOM, ISO dates, README and manifest) and
:func:`write_layers` any tables as the layers of one GeoPackage (``whatworks export csv`` / ``export gpkg``).

Outputs never overwrite inputs (docs/SECURITY.md):

* a path that is a DuckDB database (a whatworks store: DuckDB's magic bytes), its ``.wal`` journal, or one of the
  ``inputs`` the caller names is refused, always;
* an existing file that whatworks did not write is refused unless ``overwrite=True`` (``--overwrite`` on the CLI).
  whatworks recognises its own files by their generator mark (``<meta name="generator" content="whatworks">`` in HTML,
  ``<dc:title>whatworks`` in SVG) or by the ``<file>.provenance.json`` written beside every table export;
* files are written to a temporary name beside the target and renamed, so a half-written output never replaces a good one.

A table of counts can be exported as its **public version** (``public=True``): it goes through
:func:`whatworks.privacy.disclosure.suppress` (counts under ``disclosure_threshold``, default 5, hidden, with secondary
suppression so no total gives one away; totals added), hidden cells are written as ``[c]`` in CSV and as null in
Parquet/JSON, and the provenance file records ``public``, the threshold and the rule.

Tables for spreadsheets are neutralised against formula injection (OWASP "CSV injection"): a text cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so Excel and LibreOffice show it as
text instead of evaluating it. Plain numbers written as text (``-5``, ``+44``) are left alone: they are not formulas.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from whatworks.errors import error

__all__ = ["write_geojson", "write_geopackage", "prepare_folder", "write_text", "write_table", "check_output",
           "neutralise_cells", "provenance_path", "public_table", "FORMULA_PREFIXES", "write_csv_folder",
           "write_layers", "EXPORT_MANIFEST", "CSV_ENCODING", "README_NAME", "INFO_LAYER"]

# A DuckDB database file has these bytes at offset 8 (DuckDB storage format header).
_DUCKDB_MAGIC = b"DUCK"
# How whatworks recognises a file it wrote itself (read from the first _SNIFF_BYTES of the file).
_OWN_MARKS = (b'<meta name="generator" content="whatworks', b"<dc:title>whatworks")
_SNIFF_BYTES = 8192
# OWASP CSV injection: cells beginning with these are evaluated as formulas by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def provenance_path(path: str | os.PathLike) -> Path:
    """The provenance file written beside a table export: ``rejected.csv`` -> ``rejected.csv.provenance.json``."""
    p = Path(path)
    return p.with_name(p.name + ".provenance.json")


def _is_duckdb(head: bytes) -> bool:
    return len(head) >= 12 and head[8:12] == _DUCKDB_MAGIC


def check_output(path: str | os.PathLike, *, overwrite: bool = False, inputs: Iterable[str | os.PathLike] = (),
                 where: str = "write") -> Path:
    """Refuse an output path that would destroy data; return it as a Path.

    Refused always: a folder; a DuckDB database (any whatworks store, open or not) or its ``.wal`` journal; any of
    ``inputs`` (e.g. the store being read, the files an analysis was given), compared after resolving links.
    Refused unless ``overwrite=True``: an existing file that whatworks did not write (no generator mark, no
    provenance file beside it).
    """
    p = Path(path).expanduser()
    target = p.resolve()
    for item in inputs:
        if item is None or str(item) == ":memory:":
            continue
        src = Path(item).expanduser().resolve()
        if target in (src, src.with_name(src.name + ".wal")):
            raise error(where, f"The output {str(p)!r} is one of this command's inputs ({str(item)!r}); "
                               "whatworks never writes over its inputs.", hint="Choose another output file name.")
    if target.name.endswith(".duckdb.wal") or target.suffix == ".wal":
        raise error(where, f"The output {str(p)!r} is a database journal (.wal); whatworks never writes over it.",
                    hint="Choose another output file name.")
    if not p.exists() and not p.is_symlink():
        return p
    if p.is_dir():
        raise error(where, f"The output {str(p)!r} is a folder.", hint="Give a file name, e.g. pack.html.")
    try:
        with open(p, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise error(where, f"The output {str(p)!r} exists and cannot be read to check what it is ({exc.strerror}).",
                    hint="Choose another output file name.") from None
    if _is_duckdb(head):
        raise error(where, f"The output {str(p)!r} is a DuckDB database (a whatworks store?); whatworks never "
                           "writes over a database.", hint="Choose another output file name, e.g. pack.html.")
    if overwrite:
        return p
    if any(mark in head for mark in _OWN_MARKS) or provenance_path(p).exists():
        return p
    raise error(where, f"The output {str(p)!r} already exists and was not written by whatworks, so it is left as it is.",
                hint="Choose another file name, or pass overwrite=True (--overwrite on the command line) to replace it.")


def neutralise_cells(frame):
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas (OWASP CSV injection).

    A string starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe; plain numbers
    written as text (``-5``, ``+44``) are left as they are. Non-text columns are unchanged.

    >>> import pandas as pd
    >>> neutralise_cells(pd.DataFrame({"a": ["=1+2", "-5", "ok", None]}))["a"].tolist()
    ["'=1+2", '-5', 'ok', None]
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        out[col] = s.map(_neutralise_one)
    out.columns = [_neutralise_one(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _neutralise_one(v: Any) -> Any:
    if isinstance(v, str) and v and v[0] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.match(v):
        return "'" + v
    return v


def _provenance(meta: Mapping[str, Any] | None, path: Path, rows: int | None) -> dict:
    from whatworks._version import __version__

    doc = {"generator": "whatworks", "whatworks_version": __version__, "file": path.name,
           "written_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
    if rows is not None:
        doc["rows"] = int(rows)
    doc.update(dict(meta or {}))
    return doc


def public_table(frame, pub, *, counts: Sequence[str] | None = None, where: str = "write_table"):
    """The public version of a table of counts: label columns (text) and count columns, suppressed under ``pub``
    (a :class:`whatworks.privacy.disclosure.Publishing`) with a ``Total`` row and column added. Hidden cells are
    missing (``<NA>``). Returns ``(table, SuppressionResult)``.

    Every numeric column must be a count: a rate or share computed from a hidden count would reveal it, so a numeric
    column left out of ``counts`` is refused rather than published.
    """
    import pandas as pd

    from whatworks.privacy.disclosure import TOTAL

    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise error(where, "A public export needs a non-empty table of counts.", got=type(frame).__name__)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if counts is None:
        counts = numeric
    counts = list(counts)
    missing = [c for c in counts if c not in frame.columns]
    if missing:
        raise error(where, f"Count column {missing[0]!r} is not in the table.", expected=list(frame.columns))
    if not counts:
        raise error(where, "A public export needs at least one count column.",
                    hint="Pass counts=[...] naming the columns of counts; the other columns are labels.")
    extra = [c for c in numeric if c not in counts]
    if extra:
        raise error(where, f"Column {extra[0]!r} is numeric but not a count: a public table holds labels and counts "
                           "only.", hint="A rate, share or mean computed from a suppressed count would reveal it: "
                           "leave it out, or publish it from the suppressed counts.")
    labels = [c for c in frame.columns if c not in counts]
    result = pub.suppress(frame[counts].reset_index(drop=True))
    body = result.table
    out = pd.DataFrame({c: list(frame[c].astype(object).where(frame[c].notna(), "")) + [TOTAL if k == 0 else ""]
                        for k, c in enumerate(labels)})
    if not labels:
        out = pd.DataFrame({"": [""] * len(frame) + [TOTAL]})
    for c in body.columns:
        out[c if c != TOTAL or TOTAL not in out.columns else f"{TOTAL} (counts)"] = body[c].to_numpy()
    return out, result


def write_table(frame, path: str | os.PathLike, *, provenance: Mapping[str, Any] | None = None,
                overwrite: bool = False, inputs: Iterable[str | os.PathLike] = (), where: str = "write_table",
                public: bool = False, disclosure_threshold: int | None = None, counts: Sequence[str] | None = None,
                quiet: bool = False) -> Path:
    """Write a table export (.csv, .parquet or .json by extension) atomically, with a provenance file beside it.

    CSV cells are neutralised for spreadsheets (:func:`neutralise_cells`); Parquet and JSON keep values as they are
    (no spreadsheet evaluates them). ``provenance`` (e.g. the store's fingerprint, the query and its parameters) is
    written with the whatworks version and the time to ``<file>.provenance.json``.

    ``public=True`` writes the public version of a table of counts (:func:`public_table`): ``counts`` names the
    count columns (``None``: every numeric column), the other columns are labels; counts under
    ``disclosure_threshold`` (``None``: 5, announced unless ``quiet``) are suppressed with secondary suppression,
    ``Total`` row and column are added, hidden cells are ``[c]`` in CSV and null in Parquet/JSON, and the
    provenance records ``public``, ``disclosure_threshold``, ``disclosure_rule`` and the number of cells hidden.
    """
    p = check_output(path, overwrite=overwrite, inputs=inputs, where=where)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".parquet", ".json"):
        raise error(where, f"unsupported file type {suffix!r}.", expected=".csv, .parquet or .json", got=str(p))
    from whatworks.privacy.disclosure import MARKER, choose_publishing

    meta = dict(provenance or {})
    is_public = bool(public)
    if public or disclosure_threshold is not None:

        pub = choose_publishing(public, disclosure_threshold, None, where=where, quiet=quiet)
        if not pub.public:
            raise error(where, "The 'disclosure_threshold' parameter applies to a public export only.",
                        got=disclosure_threshold, hint="Pass public=True as well.")
        frame, result = public_table(frame, pub, counts=counts, where=where)
        meta.update(pub.provenance())
        meta.update(suppressed_cells=int(result.suppressed.to_numpy().sum()),
                    suppressed_shown_as=MARKER if suffix == ".csv" else "null",
                    count_columns=[str(c) for c in result.table.columns])
    elif counts is not None:
        raise error(where, "The 'counts' parameter applies to a public export only.", hint="Pass public=True as well.")
    else:
        meta.setdefault("public", False)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    try:
        if suffix == ".csv":
            # CRLF line ends (RFC 4180): Python's csv quotes a field holding any character of the line terminator,
            # so a stray carriage return inside a value is quoted instead of splitting the row
            neutralise_cells(frame).to_csv(tmp, index=False, lineterminator="\r\n",
                                           **({"na_rep": MARKER} if is_public else {}))
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    _atomic_write(provenance_path(p), json.dumps(_provenance(meta, p, len(frame)), indent=2, default=str) + "\n")
    return p


def _geojson_of(where: str, result) -> dict:
    to_gj = getattr(result, "to_geojson", None)
    if to_gj is None:
        raise error(where, "The result has no map geometry to export.", got=type(result).__name__,
                    hint="Export the result of place.grid, kde, gistar or classify.")
    return to_gj()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_weights(path: str | os.PathLike):
    """Read a user-supplied weights table (CSV with columns such as ``crime_type,weight``) into a DataFrame.

    The analysis that uses it (e.g. ``performance.harm``) checks its columns; whatworks never invents weights.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise error("read_weights", f"The weights file {str(p)!r} does not exist.",
                    hint="A CSV with columns crime_type,weight (your own weights, e.g. the Cambridge Crime Harm Index).")
    return pd.read_csv(p)


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False,
               inputs: Iterable[str | os.PathLike] = (), where: str = "write_text") -> Path:
    """Write a text output (an HTML pack or landscape, an SVG diagram) atomically, creating its folder; return the path.

    Outputs go through here because only ``store/`` touches files (DESIGN.md): a half-written pack never replaces a good
    one, and :func:`check_output` refuses a path that is a database, one of ``inputs``, or a file whatworks did not write
    (unless ``overwrite=True``).
    """
    p = check_output(path, overwrite=overwrite, inputs=inputs, where=where)
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, text)
    return p


def prepare_folder(path: str | os.PathLike, *, clear: Sequence[str] = (), marker: str | None = None,
                   marker_text: str = "", made_by: str = "whatworks", where: str = "prepare_folder") -> Path:
    """Make ``path`` ready for a tool's outputs: create it, or clear the outputs an earlier run left there.

    A folder holding anything else, with no ``marker`` file from an earlier run, is refused rather than overwritten.
    Then the folder is created, each name in ``clear`` (a file or a whole folder inside it) is removed, and the marker
    is (re)written. Used by ``whatworks demo``; outputs go through ``store/`` because only it touches files (DESIGN.md).

    Parameters
    ----------
    path : path-like
        The output folder.
    clear : sequence of str, default ()
        Names inside ``path`` that the tool owns and replaces on every run.
    marker : str, optional
        Name of the file that marks the folder as the tool's own. ``None``: only a new or empty folder is accepted.
    marker_text : str, default ""
        What the marker file says.
    made_by : str, default "whatworks"
        The tool, as named in the refusal (e.g. "`whatworks demo`").
    where : str, default "prepare_folder"
        The function named in errors.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> out = prepare_folder(tempfile.mkdtemp() + "/out", clear=["result.csv"], marker=".mine")
    >>> sorted(p.name for p in out.iterdir())
    ['.mine']
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise error(where, f"The output path {str(out)!r} is a file.", hint="Pass a folder, e.g. --out whatworks-demo")
    if out.exists() and any(out.iterdir()) and (marker is None or not (out / marker).exists()):
        raise error(where, f"The folder {str(out)!r} is not empty and was not made by {made_by}, so whatworks "
                           "will not write into it.", hint="Choose a new or empty folder with --out.")
    out.mkdir(parents=True, exist_ok=True)
    for name in clear:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if marker is not None:
        (out / marker).write_text(marker_text, encoding="utf-8")
    return out


def write_geojson(result, path: str | os.PathLike) -> Path:
    """Write a grid result's cells as a GeoJSON FeatureCollection (polygons in the input CRS) and return the path.

    When the result knows its CRS (``crs="EPSG:27700"`` given to the analysis) it is named in a top-level ``crs``
    member, which QGIS and GDAL read; without it GeoJSON readers assume longitude/latitude.
    """
    p = Path(path)
    if p.suffix.lower() not in (".geojson", ".json"):
        raise error("write_geojson", "The file name must end in .geojson or .json.", got=str(p))
    gj = _geojson_of("write_geojson", result)
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, json.dumps(gj))
    return p


def write_geopackage(result, path: str | os.PathLike, *, layer: str = "cells") -> Path:
    """Write a grid result's cells as a layer of a GeoPackage (needs geopandas); replaces the layer if it exists."""
    where = "write_geopackage"
    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        raise error(where, "The file name must end in .gpkg.", got=str(p))
    try:
        import geopandas
    except ImportError:
        raise error(where, "Writing GeoPackage files needs geopandas, which is not installed.",
                    hint="pip install geopandas, or use write_geojson instead.") from None
    gj = _geojson_of(where, result)
    crs = (gj.get("crs") or {}).get("properties", {}).get("name")
    gdf = geopandas.GeoDataFrame.from_features(gj["features"], crs=crs)
    p.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(p, layer=layer, driver="GPKG", mode="w")
    return p


# ------------------------------------------------------------------------------------------------ table folders
# A folder of CSV tables for Power BI / Excel / QGIS (``whatworks export csv``): the manifest marks the folder as
# whatworks's own (prepare_folder's marker) and lists the files it wrote; README.txt says the same for people.
EXPORT_MANIFEST = "whatworks-export.json"
README_NAME = "README.txt"
# UTF-8 with a byte-order mark: Excel decodes a CSV opened by double-click with the Windows code page (Môn, Ynys,
# café become mojibake) unless the file starts with a BOM, and Power BI's Text/CSV connector then detects UTF-8
# (file origin 65001) instead of guessing. pandas, DuckDB, GDAL/QGIS and Power Query all skip the BOM.
CSV_ENCODING = "utf-8-sig"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_DATE_FORMAT = "%Y-%m-%d"
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _csv_ready(frame, date_columns: frozenset):
    """``frame`` as it is written to CSV: dates ISO 8601 (``YYYY-MM-DD`` for ``date_columns``, else
    ``YYYY-MM-DD HH:MM:SS``, time-zone aware values in UTC), text neutralised for spreadsheets."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            out[col] = s.dt.strftime(_DATE_FORMAT if col in date_columns else _DATETIME_FORMAT)
    return _neutralise_quickly(out)


def _neutralise_quickly(frame):
    """:func:`neutralise_cells` (the same cells changed the same way) on ``frame`` in place, looking at a text
    column's first characters first so that only the cells that may be formulas go through the rule one by one
    (a million-row table is a few seconds faster). ``frame`` must be a copy the caller owns."""
    import pandas as pd

    for col in frame.columns:
        s = frame[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        try:
            suspect = s.str[:1].isin(FORMULA_PREFIXES).to_numpy(dtype=bool)
        except (AttributeError, TypeError):   # no text at all in the column, or values .str cannot take
            frame[col] = s.map(_neutralise_one)
            continue
        if suspect.any():
            frame[col] = s.astype(object).where(~suspect, s.map(_neutralise_one))
    frame.columns = [_neutralise_one(c) if isinstance(c, str) else c for c in frame.columns]
    return frame


def _chunks_of(where: str, name: str, table) -> Iterable:
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return [table]
    if callable(table):
        table = table()
    try:
        return iter(table)
    except TypeError:
        raise error(where, f"Table {name!r} must be a DataFrame or an iterable of DataFrames.",
                    got=type(table).__name__) from None


def _previous_files(manifest: Path) -> list[str]:
    """File names an earlier export listed in its manifest, kept only when they are plain names of the kinds it
    writes (a manifest edited to name ``../x`` or the store cannot make a later export delete them)."""
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        names = [t.get("file") for t in (doc.get("tables") or {}).values() if isinstance(t, dict)]
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in names if isinstance(n, str) and n.endswith(".csv") and not n.startswith(".")
            and Path(n).name == n and "/" not in n and "\\" not in n]


def _readme(doc: Mapping[str, Any], descriptions: Mapping[str, str], notes: Sequence[str]) -> str:
    lines = ["whatworks export: tables for Power BI, Excel and QGIS", "=" * 53, ""]
    skip = {"tables", "generator", "format"}
    for k, v in doc.items():
        if k not in skip:
            text = json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
            lines.append(f"{k.replace('_', ' ')}: {text}")
    lines += ["", "Files (one table each):", ""]
    width = max([len(t["file"]) for t in doc["tables"].values()] + [4])
    for name, t in doc["tables"].items():
        desc = descriptions.get(name, "")
        lines.append(f"  {t['file']:<{width}}  {t['rows']:>12,} rows  {desc}".rstrip())
    lines += ["", "Format: " + doc["format"], ""]
    lines += list(notes) + ([""] if notes else [])
    lines += ["Columns:", ""]
    for t in doc["tables"].values():
        lines.append(f"  {t['file']}: {', '.join(t['columns'])}")
    lines += ["", f"{EXPORT_MANIFEST} says the same for programs; it also marks this folder as written by whatworks,",
              "so `--overwrite` may replace these files (and only these; other files here are left as they are).", ""]
    return "\r\n".join(lines)


def write_csv_folder(tables: Mapping[str, Any], folder: str | os.PathLike, *,
                     provenance: Mapping[str, Any] | None = None, descriptions: Mapping[str, str] | None = None,
                     notes: Sequence[str] = (), date_columns: Iterable[str] = (), overwrite: bool = False,
                     inputs: Iterable[str | os.PathLike] = (), where: str = "write_csv_folder") -> dict:
    """Write tables as one CSV file each in ``folder``, with ``README.txt`` and a manifest; return the manifest.

    For Power BI, Excel and QGIS: UTF-8 with a byte-order mark (:data:`CSV_ENCODING`; without it Excel decodes a
    double-clicked CSV with the Windows code page), comma-separated, CRLF line ends (RFC 4180), a header row,
    dates ISO 8601 — ``YYYY-MM-DD`` for the ``date_columns``, ``YYYY-MM-DD HH:MM:SS`` (UTC, to the second) for
    other date-times — and missing values as empty cells. Text cells are neutralised against formula injection
    (:func:`neutralise_cells`).

    Parameters
    ----------
    tables : mapping of name to DataFrame, iterable of DataFrames or a callable returning one
        ``name`` (lower-case letters, digits, ``_``) becomes ``name.csv``. An iterable is written chunk by chunk
        (every chunk with the first chunk's columns, at least one chunk), so a large table need not be in memory
        at once.
    folder : path-like
        The folder to write. It may be new or empty, or hold an earlier export whatworks wrote (its
        :data:`EXPORT_MANIFEST`), which is replaced only with ``overwrite=True``. A folder holding other files and
        no manifest is never written into. Files in it that whatworks did not list are left as they are.
    provenance : mapping, optional
        Where the tables came from (the store, its fingerprint, the filters), recorded in the manifest and README.
    descriptions : mapping of name to str, optional
        One line per table for the README.
    notes : sequence of str
        Further README lines (e.g. how the tables relate).
    date_columns : iterable of str
        Columns holding dates (no time of day), written ``YYYY-MM-DD``.
    overwrite : bool, default False
    inputs : iterable of path-like
        Files never to write over (the store being read); DuckDB files and their journals are refused anyway.

    Writing is staged: every table goes to a hidden temporary file first and the files are renamed into place only
    when all are written, so a failure leaves the earlier export as it was; the manifest is written last.
    """
    import uuid

    from whatworks._version import __version__

    out = Path(folder).expanduser()
    dates = frozenset(date_columns)
    names = list(tables)
    bad = [n for n in names if not (isinstance(n, str) and _TABLE_NAME.match(n))]
    if bad or not names:
        raise error(where, "Table names must be lower-case letters, digits and '_' (they become file names).",
                    got=bad[0] if bad else "no tables")
    if out.exists() and not out.is_dir():
        raise error(where, f"The output {str(out)!r} is a file, not a folder.", hint="Give a folder name.")
    manifest = out / EXPORT_MANIFEST
    if out.is_dir() and any(out.iterdir()):
        if not manifest.is_file():
            raise error(where, f"The folder {str(out)!r} holds other files and was not written by whatworks, so "
                               "whatworks will not write into it.", hint="Give a new or empty folder.")
        if not overwrite:
            raise error(where, f"The folder {str(out)!r} already holds a whatworks export.",
                        hint="Give a new folder, or --overwrite (overwrite=True) to replace that export.")
    previous = _previous_files(manifest) if manifest.is_file() else []
    old_text = manifest.read_text(encoding="utf-8") if manifest.is_file() else json.dumps(
        {"generator": "whatworks", "complete": False})
    targets = {n: out / f"{n}.csv" for n in names}
    for p in [*targets.values(), out / README_NAME, manifest]:
        check_output(p, overwrite=True, inputs=inputs, where=where)   # never a database, a journal or an input
    prepare_folder(out, marker=EXPORT_MANIFEST, marker_text=old_text, made_by="whatworks", where=where)

    tag = uuid.uuid4().hex[:8]
    staged: dict[str, Path] = {}
    info: dict[str, dict] = {}
    try:
        for name in names:
            tmp = out / f".{name}.csv.tmp-{tag}"
            staged[name] = tmp
            rows, columns = 0, None
            with open(tmp, "w", encoding=CSV_ENCODING, newline="") as fh:   # the BOM once, at the start
                for chunk in _chunks_of(where, name, tables[name]):
                    cols = [str(c) for c in chunk.columns]
                    first = columns is None
                    if first:
                        columns = cols
                    elif cols != columns:
                        raise error(where, f"A later part of table {name!r} has other columns than its first part.",
                                    got=cols, expected=columns)
                    # CRLF line ends (RFC 4180), as write_table: a carriage return inside a value is quoted
                    _csv_ready(chunk, dates).to_csv(fh, index=False, header=first, lineterminator="\r\n")
                    rows += len(chunk)
            if columns is None:
                raise error(where, f"Table {name!r} gave no data frame at all (not even an empty one).",
                            hint="Give an empty DataFrame with the table's columns for a table with no rows.")
            info[name] = {"file": targets[name].name, "rows": int(rows), "columns": columns}
        for name in names:
            os.replace(staged[name], targets[name])
    finally:
        for tmp in staged.values():
            if tmp.exists():
                tmp.unlink()
    for stale in previous:
        if stale not in {p.name for p in targets.values()} and (out / stale).is_file():
            (out / stale).unlink()
    doc = {"generator": "whatworks", "whatworks_version": __version__,
           "written_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
    doc.update(dict(provenance or {}))
    doc["format"] = ("CSV, UTF-8 with a byte-order mark, comma-separated, CRLF line ends, header row; dates "
                     "YYYY-MM-DD, date-times YYYY-MM-DD HH:MM:SS (UTC); missing values empty; text cells starting "
                     "with = + - @, a tab or a carriage return begin with an apostrophe (formula protection)")
    doc["tables"] = info
    _atomic_write(out / README_NAME, _readme(doc, dict(descriptions or {}), notes) + "\r\n")
    _atomic_write(manifest, json.dumps(doc, indent=2, default=str) + "\n")
    return doc


# ------------------------------------------------------------------------------------------------ GeoPackage layers
INFO_LAYER = "whatworks_export"   # the non-spatial table in every GeoPackage write_layers writes: its provenance
_LAYER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def _layer_frame(where: str, name: str, frame, crs: str, x: str, y: str):
    """``frame`` as a GeoDataFrame and its geometry type: its shapely ``geometry`` column, or points from ``x``/``y``
    (a row with a missing or non-finite coordinate keeps its attributes and has no geometry)."""
    import geopandas
    import numpy as np
    import pandas as pd
    import shapely

    if "geometry" in frame.columns:
        gdf = geopandas.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs=crs)
        kinds = set(gdf.geometry.dropna().geom_type)
        if kinds <= {"Polygon", "MultiPolygon"}:
            return gdf, "MultiPolygon"
        if kinds <= {"Point"}:
            return gdf, "Point"
        return gdf, "Unknown"
    missing = [c for c in (x, y) if c not in frame.columns]
    if missing:
        raise error(where, f"Layer {name!r} has neither a 'geometry' column nor the coordinate column {missing[0]!r}.",
                    expected=f"a 'geometry' column of shapely shapes, or '{x}' and '{y}'")
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    geom = np.full(len(frame), None, dtype=object)
    if ok.any():
        geom[ok] = shapely.points(xs[ok], ys[ok])
    return geopandas.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geom), crs=crs), "Point"


def write_layers(layers: Mapping[str, Any], path: str | os.PathLike, *, crs: str = "EPSG:27700", x: str = "x",
                 y: str = "y", provenance: Mapping[str, Any] | None = None, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike] = (), where: str = "write_layers") -> dict:
    """Write tables as the layers of one GeoPackage (needs geopandas with pyogrio); return the provenance written.

    Each table is a DataFrame with a ``geometry`` column of shapely shapes (polygons are written as MultiPolygon),
    or with coordinate columns ``x`` and ``y`` in ``crs`` (default British National Grid, EPSG:27700), written as
    points; a row without coordinates keeps its attributes and has no geometry, so a layer has one feature per row.
    A layer with no rows is written with its fields. The GeoPackage also gets a non-spatial table
    :data:`INFO_LAYER` (``key``, ``value``: the provenance and each layer's rows), and ``<file>.provenance.json``
    is written beside it.

    The file is written under a temporary name beside ``path`` and renamed into place when complete. ``path`` must
    end in ``.gpkg``; a database, its journal or one of ``inputs`` is refused always; an existing file is replaced
    only with ``overwrite=True`` and only when whatworks wrote it (its provenance file is beside it).
    """
    import uuid

    from whatworks._version import __version__

    p = Path(path).expanduser()
    if p.suffix.lower() != ".gpkg":
        raise error(where, "The file name must end in .gpkg.", got=str(p))
    bad = [n for n in layers if not (isinstance(n, str) and _LAYER_NAME.match(n)) or n == INFO_LAYER]
    if bad or not layers:
        raise error(where, "Layer names must start with a letter and hold letters, digits and '_' only.",
                    got=bad[0] if bad else "no layers")
    p = check_output(p, overwrite=True, inputs=inputs, where=where)
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise error(where, f"The output {str(p)!r} already exists.",
                        hint="Give another file name, or --overwrite (overwrite=True) to replace a GeoPackage "
                             "whatworks wrote.")
        if not provenance_path(p).exists():
            raise error(where, f"The output {str(p)!r} exists and was not written by whatworks (no "
                               f"{provenance_path(p).name} beside it), so it is never replaced.",
                        hint="Give another file name.")
    try:
        import geopandas  # noqa: F401
        import pyogrio
    except ImportError:
        raise error(where, "Writing GeoPackage files needs geopandas and pyogrio, which are not installed.",
                    hint="pip install geopandas (it brings pyogrio).") from None
    import pandas as pd

    doc = {"generator": "whatworks", "whatworks_version": __version__, "file": p.name, "crs": crs,
           "written_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
    doc.update(dict(provenance or {}))
    doc["layers"] = {}
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp-{uuid.uuid4().hex[:8]}.gpkg")
    try:
        for name, frame in layers.items():
            if not isinstance(frame, pd.DataFrame):
                raise error(where, f"Layer {name!r} must be a DataFrame.", got=type(frame).__name__)
            gdf, kind = _layer_frame(where, name, frame, crs, x, y)
            pyogrio.write_dataframe(gdf, str(tmp), layer=name, driver="GPKG", geometry_type=kind,
                                    promote_to_multi=kind == "MultiPolygon")
            doc["layers"][name] = {"rows": int(len(gdf)), "geometry": kind,
                                   "without_geometry": int(gdf.geometry.isna().sum()),
                                   "fields": [str(c) for c in gdf.columns if c != "geometry"]}
        rows = [(k, v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in doc.items() if k != "layers"]
        rows += [(f"layer {n}", json.dumps({k: v for k, v in d.items() if k != "fields"})) for n, d in
                 doc["layers"].items()]
        pyogrio.write_dataframe(pd.DataFrame(rows, columns=["key", "value"]), str(tmp), layer=INFO_LAYER, driver="GPKG")
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    _atomic_write(provenance_path(p), json.dumps(doc, indent=2, default=str) + "\n")
    return doc
