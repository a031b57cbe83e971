"""Read one delimited text file into the temp table ``_rows`` (all VARCHAR, plus ``source_row``) and the
temp table ``_rejects`` (rows that could not be split into fields), losing nothing.

Two paths give the same answer:

* the **fast path** hands the file to DuckDB's parallel CSV reader with ``store_rejects`` (bad field counts
  and bad encodings land in a rejects table with their record number);
* the **exact path** reads it with Python's ``csv`` module, tracking the line where each record starts.

DuckDB numbers rejected records but not accepted ones, and it counts a blank line as a line but a line
break inside quotes as nothing, so a file's row numbers can only be recovered from DuckDB when every
physical line is exactly one record. The fast path is therefore taken only when that is provable from the
bytes (newline count == records + header, no lone carriage returns) and DuckDB reported nothing but
field-count or encoding problems; otherwise the file is re-read on the exact path. The fuzz tests check
that both paths agree.

``source_row`` is the spreadsheet row number: the header is row 1 and the first record row 2.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from whatworks.store._sql import quote_ident, quote_literal, run

_FAST_REJECT_TYPES = {"MISSING COLUMNS", "TOO MANY COLUMNS", "INVALID ENCODING", "INVALID UNICODE"}
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1"}
_CHUNK = 1 << 24


@dataclass(frozen=True)
class LoadedCSV:
    records: int       # data records seen (accepted + rejected); blank lines are not records
    rejected: int
    path_used: str     # "fast" | "exact"


HEAD_BYTES = 1 << 16  # bytes read to find a header line


def read_header(path: Path, *, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """The header fields of a delimited file (UTF-8 BOM removed, names stripped). Empty list for an empty file."""
    with open(path, "rb") as fh:
        return header_from_bytes(fh.read(HEAD_BYTES), encoding=encoding, delimiter=delimiter)


def header_from_bytes(head: bytes, *, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """The header fields in the first bytes of a delimited file (see :func:`read_header`)."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    text = first.decode(encoding, errors="replace")
    if not text.strip():
        return []
    return [f.strip() for f in next(csv.reader([text], delimiter=delimiter))]


@dataclass(frozen=True)
class FileFacts:
    checksum: str   # sha256 of the bytes
    lines: int      # physical lines
    lone_cr: bool   # has a carriage return that is not part of CRLF


def file_facts(path: Path) -> FileFacts:
    """Checksum and line shape of a file, in one pass over its bytes.

    Lines are counted with numpy (a vectorised byte compare is ~2.5x faster than ``bytes.count``), and carriage
    returns are only counted in chunks that hold one (most files have none, and ``find`` stops at the first)."""
    newlines = crlf = cr = 0
    last = b""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            newlines += int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == 10))
            if last == b"\r" or chunk.find(b"\r") != -1:
                # a CRLF split across chunks: count it once
                if last == b"\r" and chunk[:1] == b"\n":
                    crlf += 1
                crlf += chunk.count(b"\r\n")
                cr += chunk.count(b"\r")
            last = chunk[-1:]
    lines = newlines + (1 if last not in (b"\n", b"") else 0)
    return FileFacts(h.hexdigest(), lines, cr != crlf)


_PART = re.compile(r"^_(stage|fr|rej_steps|rows)_p\d+$")
_WORK = ("_rows", "_rejects", "_stage_x")


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the work relations made by :func:`load` / :func:`load_group`."""
    for (name, kind) in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = 'temp' "
            "ORDER BY table_type = 'VIEW' DESC").fetchall():
        if name in _WORK or _PART.match(name):
            con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


def _plain(src: str) -> str:
    return f"SELECT * FROM {src}"


@dataclass(frozen=True)
class GroupItem:
    """One file of a group read: ``index`` is its ``file_index`` in ``_rows`` (its place in the load order)."""
    index: int
    path: Path
    facts: FileFacts


def load(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str], *, delimiter: str = ",",
         encoding: str = "utf-8", force_exact: bool = False, facts: FileFacts | None = None,
         wrap: Callable[[str], str] = _plain) -> LoadedCSV:
    """Load one file into the temp view ``_rows`` (``source_row`` first, then what ``wrap`` selects) and the temp
    table ``_rejects``: :func:`load_group` for a group of one, without the ``file_index`` column. Call
    :func:`cleanup` after."""
    item = GroupItem(0, path, facts or file_facts(path))
    loaded = load_group(con, [item], columns, delimiter=delimiter, encoding=encoding, force_exact=force_exact,
                        wrap=wrap, keep_index=False)
    return loaded[0]


def load_group(con: duckdb.DuckDBPyConnection, items: list[GroupItem], columns: list[str], *, delimiter: str = ",",
               encoding: str = "utf-8", force_exact: bool = False, wrap: Callable[[str], str] = _plain,
               keep_index: bool = True) -> dict[int, LoadedCSV]:
    """Load several files of one layout into the temp view ``_rows`` (``file_index``, ``source_row``, then what
    ``wrap`` selects) and the temp table ``_rejects`` (``file_index``, ``source_row``, ``raw``, ``reason``).
    Returns each file's :class:`LoadedCSV` by ``GroupItem.index``. Call :func:`cleanup` after.

    All files go through one DuckDB scan (one query for the group: per-file queries cost more than reading a
    70,000-row file); a file whose rows cannot be numbered from that scan is re-read on the exact path. If DuckDB
    refuses the scan as a whole, each file is tried on its own scan before falling back to the exact path.

    ``columns`` name the fields by position (all VARCHAR). ``wrap(src)`` returns a SELECT over the relation ``src``
    holding those fields; the rows are materialised once, through it, so checks and parsing done in ``wrap``
    cost no extra pass. It must keep unknown columns (``SELECT * REPLACE (...)``, ``SELECT *, ...``) so that
    ``file_index`` and ``source_row`` pass through.
    """
    cleanup(con)
    con.execute("CREATE TEMP TABLE _rejects (file_index INTEGER, source_row BIGINT, raw VARCHAR, reason VARCHAR)")
    duck_enc = _DUCKDB_ENCODINGS.get(encoding.lower())
    done: dict[int, LoadedCSV] = {}
    parts: list[str] = []
    if not force_exact and duck_enc is not None:
        candidates = [it for it in items if not it.facts.lone_cr]
        got = _fast_part(con, len(parts), candidates, columns, delimiter, duck_enc, wrap) if candidates else None
        if got is None and len(candidates) > 1:
            for it in candidates:  # DuckDB refused the group scan: try each file on its own
                one = _fast_part(con, len(parts), [it], columns, delimiter, duck_enc, wrap)
                if one is not None:
                    parts.append(f"_rows_p{len(parts)}")
                    done.update(one)
        elif got is not None:
            parts.append(f"_rows_p{len(parts)}")
            done.update(got)
    exact = [it for it in items if it.index not in done]
    if exact:
        done.update(_exact_part(con, exact, columns, delimiter, encoding, wrap))
        parts.append("_stage_x")
    if not parts:  # no files
        run(con, "stage empty group", "CREATE TEMP TABLE _stage_x AS " + wrap(
            "(SELECT NULL::INTEGER AS file_index, NULL::BIGINT AS source_row, "
            + ", ".join(f"NULL::VARCHAR AS {quote_ident(c)}" for c in columns) + " WHERE false)"))
        parts.append("_stage_x")
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts)
    cols = "*" if keep_index else "* EXCLUDE (file_index)"
    con.execute(f"CREATE TEMP VIEW _rows AS SELECT {cols} FROM ({union})")
    return done


def _fast_part(con, p: int, items: list[GroupItem], columns: list[str], delimiter: str, encoding: str,
               wrap: Callable[[str], str]) -> dict[int, LoadedCSV] | None:
    """One DuckDB scan of ``items`` into ``_stage_p<p>`` and the view ``_rows_p<p>``; returns the files whose rows
    could be numbered (the others' rows are left out of the view), or None when DuckDB refused the scan.

    DuckDB numbers rejected records (by line) but not accepted ones, so an accepted row's number comes from its
    place in the scan (insertion order is kept; ``rowid`` follows it). That is only right when every physical
    line of the file is exactly one record (newlines == records + header) and DuckDB reported nothing but
    field-count or encoding problems; other files are left for the exact path."""
    stage, fr, steps, view = f"_stage_p{p}", f"_fr_p{p}", f"_rej_steps_p{p}", f"_rows_p{p}"
    spec = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in columns) + "}"
    files = "[" + ", ".join(quote_literal(str(it.path)) for it in items) + "]"
    con.execute("DROP TABLE IF EXISTS _duck_rej; DROP TABLE IF EXISTS _duck_rej_scan")
    try:
        con.execute(
            f"CREATE TEMP TABLE {stage} AS " + wrap(f"""(SELECT file_index::INTEGER AS file_index, * FROM read_csv({files},
                  header=true, columns={spec}, delim={quote_literal(delimiter)}, quote='"', escape='"',
                  encoding={quote_literal(encoding)}, auto_detect=false, strict_mode=true, null_padding=false,
                  store_rejects=true, rejects_table='_duck_rej', rejects_scan='_duck_rej_scan'))""")
        )
    except duckdb.Error:
        con.execute(f"DROP TABLE IF EXISTS {stage}")
        con.execute("DROP TABLE IF EXISTS _duck_rej; DROP TABLE IF EXISTS _duck_rej_scan")
        return None
    try:
        scanned = {int(f): str(path) for f, path in con.execute(
            "SELECT DISTINCT file_id, file_path FROM _duck_rej_scan").fetchall()}
        for pos, path in scanned.items():  # the rejects name files by their place in the list given
            if path != str(items[pos].path):
                raise AssertionError(f"DuckDB rejects name file {pos} as {path!r}, expected {str(items[pos].path)!r}")
        rej = {int(f): (int(n), bool(bad)) for f, n, bad in con.execute(
            "SELECT file_id, count(DISTINCT line), bool_or(error_type NOT IN ("
            + ", ".join(quote_literal(t) for t in sorted(_FAST_REJECT_TYPES)) + ")) FROM _duck_rej GROUP BY file_id").fetchall()}
        acc = {int(f): (int(n), int(lo), int(hi)) for f, n, lo, hi in con.execute(
            f"SELECT file_index, count(*), min(rowid), max(rowid) FROM {stage} GROUP BY file_index").fetchall()}
        ok: dict[int, LoadedCSV] = {}
        ranges: list[tuple[int, int, int]] = []
        for pos, it in enumerate(items):
            n_acc, lo, hi = acc.get(pos, (0, 0, -1))
            n_rej, bad = rej.get(pos, (0, False))
            if bad or it.facts.lines != n_acc + n_rej + 1 or (n_acc and hi - lo + 1 != n_acc):
                continue
            ok[it.index] = LoadedCSV(records=n_acc + n_rej, rejected=n_rej, path_used="fast")
            ranges.append((pos, it.index, lo))
        con.execute(f"CREATE TEMP TABLE {fr} (pos INTEGER, file_index INTEGER, lo BIGINT)")
        if ranges:
            con.executemany(f"INSERT INTO {fr} VALUES (?, ?, ?)", ranges)
        run(con, "stage rejected rows", rf"""
            INSERT INTO _rejects
            SELECT f.file_index, r.line AS source_row,
                   trim(first(r.csv_line ORDER BY r.column_idx), chr(10) || chr(13)) AS raw,
                   CASE WHEN first(r.error_type) LIKE 'INVALID%' THEN 'invalid text encoding (not ' || ? || ')'
                        ELSE 'wrong number of fields: expected '
                             || regexp_extract(first(r.error_message ORDER BY r.column_idx), 'Columns: (\d+)', 1)
                             || ', found ' || regexp_extract(first(r.error_message ORDER BY r.column_idx), 'Found: (\d+)', 1)
                   END AS reason
            FROM _duck_rej r JOIN {fr} f ON f.pos = r.file_id GROUP BY f.file_index, r.line""", [encoding.upper()])
        # accepted row k (1-based, in file order) sits at row k + 1 + #{rejected j : a_j < k}, a_j = line_j - 1 - j
        k = "(r.rowid - f.lo + 1)"
        if any(rej.get(pos, (0, False))[0] for pos, _, _ in ranges):
            con.execute(f"""
                CREATE TEMP TABLE {steps} AS
                SELECT file_index, a, max(j) AS j FROM (
                  SELECT file_index, source_row - 1 - row_number() OVER (PARTITION BY file_index ORDER BY source_row) AS a,
                         row_number() OVER (PARTITION BY file_index ORDER BY source_row) AS j
                  FROM _rejects WHERE file_index IN (SELECT file_index FROM {fr})) GROUP BY file_index, a""")
            con.execute(f"""
                CREATE TEMP VIEW {view} AS
                SELECT q.file_index, (q._k + 1 + coalesce(s.j, 0))::BIGINT AS source_row, q.* EXCLUDE (file_index, _k)
                FROM (SELECT f.file_index, {k} AS _k, r.* EXCLUDE (file_index)
                      FROM {stage} r JOIN {fr} f ON f.pos = r.file_index) q
                ASOF LEFT JOIN {steps} s ON q.file_index = s.file_index AND q._k > s.a""")
        else:
            con.execute(f"""
                CREATE TEMP VIEW {view} AS
                SELECT f.file_index, ({k} + 1)::BIGINT AS source_row, r.* EXCLUDE (file_index)
                FROM {stage} r JOIN {fr} f ON f.pos = r.file_index""")
        return ok
    finally:
        con.execute("DROP TABLE IF EXISTS _duck_rej; DROP TABLE IF EXISTS _duck_rej_scan")


def _has_bad_bytes(fields: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for f in fields for ch in f)


def _exact_arrays(path: Path, columns: list[str], delimiter: str, encoding: str):
    """Read ``path`` with Python's csv module: (rows as {column: values}, their row numbers, rejects)."""
    n = len(columns)
    data: list[list[str | None]] = [[] for _ in range(n)]
    rows: list[int] = []
    rej_rows: list[int] = []
    rej_raw: list[str] = []
    rej_reason: list[str] = []
    csv.field_size_limit(1 << 30)
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    with open(path, "rb") as raw_fh:
        fh = io.TextIOWrapper(raw_fh, encoding=enc, errors="surrogateescape", newline="")
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        prev_line = 0
        header_seen = False
        for fields in reader:
            start = prev_line + 1
            prev_line = reader.line_num
            if not fields:  # blank line: not a record
                continue
            if not header_seen:
                header_seen = True
                continue
            if _has_bad_bytes(fields):
                rej_rows.append(start)
                rej_raw.append(delimiter.join(fields).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                rej_reason.append(f"invalid text encoding (not {encoding.upper()})")
            elif len(fields) != n:
                rej_rows.append(start)
                rej_raw.append(delimiter.join(fields))
                rej_reason.append(f"wrong number of fields: expected {n}, found {len(fields)}")
            else:
                rows.append(start)
                for i, v in enumerate(fields):
                    data[i].append(v if v != "" else None)
    return data, rows, (rej_rows, rej_raw, rej_reason)


def _exact_part(con, items: list[GroupItem], columns: list[str], delimiter: str, encoding: str,
                wrap: Callable[[str], str]) -> dict[int, LoadedCSV]:
    """Read ``items`` on the exact path into ``_stage_x`` (rows) and ``_rejects``."""
    tables, rejects, out = [], [], {}
    for it in items:
        data, rows, (rej_rows, rej_raw, rej_reason) = _exact_arrays(it.path, columns, delimiter, encoding)
        idx = pa.array([it.index] * len(rows), pa.int32())
        tables.append(pa.table({"file_index": idx, "source_row": pa.array(rows, pa.int64()),
                                **{c: pa.array(data[i], pa.string()) for i, c in enumerate(columns)}}))
        rejects.append(pa.table({"file_index": pa.array([it.index] * len(rej_rows), pa.int32()),
                                 "source_row": pa.array(rej_rows, pa.int64()), "raw": pa.array(rej_raw, pa.string()),
                                 "reason": pa.array(rej_reason, pa.string())}))
        out[it.index] = LoadedCSV(records=len(rows) + len(rej_rows), rejected=len(rej_rows), path_used="exact")
    con.register("_rows_arrow", pa.concat_tables(tables))
    con.register("_rejects_arrow", pa.concat_tables(rejects))
    try:
        run(con, "stage exact rows", "CREATE TEMP TABLE _stage_x AS " + wrap("_rows_arrow"))
        run(con, "stage exact rejects", "INSERT INTO _rejects SELECT * FROM _rejects_arrow")
    finally:
        con.unregister("_rows_arrow")
        con.unregister("_rejects_arrow")
    return out


def drop_files(con: duckdb.DuckDBPyConnection, indices: list[int]) -> None:
    """Remove the rows (and rejects) of the files ``indices`` from a group loaded by :func:`load_group`: a file
    that failed, or that waits for a later group, leaves nothing in the work tables the group is loaded from."""
    if not indices:
        return
    keep = ", ".join(str(int(i)) for i in indices)
    for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'temp' AND table_type <> 'VIEW'").fetchall():
        if name in ("_rejects", "_stage_x") or re.fullmatch(r"_rows_p\d+", name):
            run(con, "drop files from the group", f"DELETE FROM {name} WHERE file_index IN ({keep})")
