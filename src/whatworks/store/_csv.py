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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from whatworks.store._sql import quote_literal, run

_FAST_REJECT_TYPES = {"MISSING COLUMNS", "TOO MANY COLUMNS", "INVALID ENCODING", "INVALID UNICODE"}
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1"}
_CHUNK = 1 << 24


@dataclass(frozen=True)
class LoadedCSV:
    records: int       # data records seen (accepted + rejected); blank lines are not records
    rejected: int
    path_used: str     # "fast" | "exact"


def read_header(path: Path, *, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """The header fields of a delimited file (UTF-8 BOM removed, names stripped). Empty list for an empty file."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
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
    """Checksum and line shape of a file, in one pass over its bytes."""
    newlines = crlf = cr = 0
    last = b""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            # a CRLF split across chunks: count it once
            if last == b"\r" and chunk[:1] == b"\n":
                crlf += 1
            newlines += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n")
            cr += chunk.count(b"\r")
            last = chunk[-1:]
    lines = newlines + (1 if last not in (b"\n", b"") else 0)
    return FileFacts(h.hexdigest(), lines, cr != crlf)


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the work relations made by :func:`load`."""
    for (name, kind) in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = 'temp' "
            "AND table_name IN ('_rows', '_rejects', '_rej_steps', '_stage') "
            "ORDER BY table_type = 'VIEW' DESC").fetchall():
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


def _plain(src: str) -> str:
    return f"SELECT * FROM {src}"


def load(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str], *, delimiter: str = ",",
         encoding: str = "utf-8", force_exact: bool = False, facts: FileFacts | None = None,
         wrap: Callable[[str], str] = _plain) -> LoadedCSV:
    """Load ``path`` into the temp view ``_rows`` (``source_row`` first, then what ``wrap`` selects) and the temp
    table ``_rejects``. Call :func:`cleanup` after.

    ``columns`` name the fields by position (all VARCHAR). ``wrap(src)`` returns a SELECT over the relation ``src``
    holding those fields; the file's rows are materialised once, through it, so checks and parsing done in
    ``wrap`` cost no extra pass. It must keep unknown columns (``SELECT * REPLACE (...)``, ``SELECT *, ...``) so that
    ``source_row`` passes through on the exact path.
    """
    cleanup(con)
    duck_enc = _DUCKDB_ENCODINGS.get(encoding.lower())
    if not force_exact and duck_enc is not None:
        loaded = _fast(con, path, columns, delimiter, duck_enc, facts or file_facts(path), wrap)
        if loaded is not None:
            return loaded
        cleanup(con)
    return _exact(con, path, columns, delimiter, encoding, wrap)


def _fast(con, path: Path, columns: list[str], delimiter: str, encoding: str, facts: FileFacts,
          wrap: Callable[[str], str]) -> LoadedCSV | None:
    lines = facts.lines
    if facts.lone_cr:
        return None
    spec = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in columns) + "}"
    con.execute("DROP TABLE IF EXISTS _duck_rej; DROP TABLE IF EXISTS _duck_rej_scan")
    try:
        con.execute(
            "CREATE TEMP TABLE _stage AS " + wrap(f"""read_csv({quote_literal(str(path))},
                  header=true, columns={spec}, delim={quote_literal(delimiter)}, quote='"', escape='"',
                  encoding={quote_literal(encoding)}, auto_detect=false, strict_mode=true, null_padding=false,
                  store_rejects=true, rejects_table='_duck_rej', rejects_scan='_duck_rej_scan')""")
        )
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS _stage")
        return None
    keep = False
    try:
        bad_types = con.execute(
            "SELECT DISTINCT error_type FROM _duck_rej").fetchall()
        if any(t[0] not in _FAST_REJECT_TYPES for t in bad_types):
            return None
        accepted = con.execute("SELECT count(*) FROM _stage").fetchone()[0]
        rej = con.execute("SELECT count(DISTINCT line) FROM _duck_rej").fetchone()[0]
        records = accepted + rej
        if lines != records + 1:
            return None
        # accepted row k (1-based, in file order) sits at row k + 1 + #{rejected j : a_j < k}, a_j = line_j - 1 - j
        con.execute(r"""
            CREATE TEMP TABLE _rejects AS
            SELECT line AS source_row,
                   trim(first(csv_line ORDER BY column_idx), chr(10) || chr(13)) AS raw,
                   CASE WHEN first(error_type) LIKE 'INVALID%' THEN 'invalid text encoding (not ' || ? || ')'
                        ELSE 'wrong number of fields: expected '
                             || regexp_extract(first(error_message ORDER BY column_idx), 'Columns: (\d+)', 1)
                             || ', found ' || regexp_extract(first(error_message ORDER BY column_idx), 'Found: (\d+)', 1)
                   END AS reason
            FROM _duck_rej GROUP BY line""", [encoding.upper()])
        # rowid follows file order (insertion order is preserved); inside a transaction DuckDB numbers new rows
        # from a large offset, so count from the smallest rowid, and check the numbering has no gaps.
        lo, hi = con.execute("SELECT min(rowid), max(rowid) FROM _stage").fetchone()
        if accepted and hi - lo + 1 != accepted:
            return None
        k = f"(r.rowid - {int(lo or 0)} + 1)"
        # `_rows` is a view over the raw table: the caller materialises it once, with its checks.
        if rej:
            con.execute("""
                CREATE TEMP TABLE _rej_steps AS
                SELECT a, max(j) AS j FROM (
                  SELECT source_row - 1 - row_number() OVER (ORDER BY source_row) AS a,
                         row_number() OVER (ORDER BY source_row) AS j FROM _rejects) GROUP BY a""")
            con.execute(f"""
                CREATE TEMP VIEW _rows AS
                SELECT ({k} + 1 + coalesce(s.j, 0))::BIGINT AS source_row, r.*
                FROM _stage r ASOF LEFT JOIN _rej_steps s ON {k} > s.a""")
        else:
            con.execute(f"CREATE TEMP VIEW _rows AS SELECT ({k} + 1)::BIGINT AS source_row, r.* FROM _stage r")
        keep = True
        return LoadedCSV(records=records, rejected=rej, path_used="fast")
    finally:
        con.execute("DROP TABLE IF EXISTS _duck_rej; DROP TABLE IF EXISTS _duck_rej_scan")
        if not keep:
            con.execute("DROP TABLE IF EXISTS _stage")


def _has_bad_bytes(fields: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for f in fields for ch in f)


def _exact(con, path: Path, columns: list[str], delimiter: str, encoding: str, wrap: Callable[[str], str]) -> LoadedCSV:
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
    table = pa.table({"source_row": pa.array(rows, pa.int64()), **{c: pa.array(data[i], pa.string()) for i, c in enumerate(columns)}})
    rejects = pa.table({"source_row": pa.array(rej_rows, pa.int64()), "raw": pa.array(rej_raw, pa.string()),
                        "reason": pa.array(rej_reason, pa.string())})
    con.register("_rows_arrow", table)
    con.register("_rejects_arrow", rejects)
    try:
        run(con, "stage exact rows", "CREATE TEMP TABLE _stage AS " + wrap("_rows_arrow"))
        run(con, "view exact rows", "CREATE TEMP VIEW _rows AS SELECT * FROM _stage")
        run(con, "stage exact rejects", "CREATE TEMP TABLE _rejects AS SELECT * FROM _rejects_arrow")
    finally:
        con.unregister("_rows_arrow")
        con.unregister("_rejects_arrow")
    return LoadedCSV(records=len(rows) + len(rej_rows), rejected=len(rej_rows), path_used="exact")
