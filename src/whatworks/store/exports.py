"""Every file whatworks writes goes through here: packs and landscapes, SVG diagrams, tables, map layers.

Analyses return ``.to_geojson()`` dicts without touching the disk; only ``store/`` writes files (DESIGN.md). GeoPackage
needs geopandas (with pyogrio or fiona); GeoJSON needs nothing beyond the standard library.

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
           "neutralise_cells", "provenance_path", "public_table", "FORMULA_PREFIXES"]

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
