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

Hostile input (issue 12; limits in :mod:`whatworks.store.limits`):

* a file with a line longer than ``Limits.max_field_bytes`` or wider than ``Limits.max_fields_per_line`` (both found
  by the numpy line scan, :func:`file_facts`) is never given to DuckDB: it is read on the exact path, where such a
  line is quarantined with its real length or field count;
* a file with bytes that are not text in its encoding is read on the exact path, so the quarantine's ``raw`` keeps
  them byte-exact as ``\\xNN`` escapes (a backslash in such a row is written ``\\\\``), never as ``?``;
* an **unterminated quote**: a record that runs over more than one line (a quoted field holding a line break) is
  accepted only when it parses cleanly (every quote closed), has the header's number of fields (give or take one:
  a header with one name too many or too few), and the line after its first line is not itself a whole record (as
  many fields as the header, or more, and no quote standing inside an unquoted field: the quote that closes
  a spanning field does, so a continuation is never taken for a record). Otherwise the quote on its first line
  never closes: that line is quarantined alone ("unterminated quoted field") and reading starts again on the
  next line, so every line after it is read as the record it is;
* lines end in LF, CRLF or a lone CR (old Mac files), in any mix: each is a line end (CR-only files are read on
  the exact path).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from whatworks.store._sql import quote_ident, quote_literal, run
from whatworks.store.limits import DEFAULT_LIMITS, Limits, size_text

# Rejects the fast path keeps. Encoding errors are not among them: DuckDB's reject line shows undecodable bytes as
# '?', so such a file is read on the exact path, which keeps the bytes (escaped) in the quarantine.
_FAST_REJECT_TYPES = {"MISSING COLUMNS", "TOO MANY COLUMNS"}
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
    first = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]   # LF, CRLF or a lone CR (old Mac files) ends the line
    text = first.decode(encoding, errors="replace")
    if not text.strip():
        return []
    try:
        fields = next(csv.reader([text], delimiter=delimiter, quotechar='"', strict=False))
    except csv.Error:   # not a delimited header at all: the file is refused by its header, never a crash
        fields = [text]
    return [f.strip() for f in fields]


@dataclass(frozen=True)
class FileFacts:
    checksum: str   # sha256 of the bytes
    lines: int      # physical lines (LF-terminated)
    lone_cr: bool   # has a carriage return that is not part of CRLF
    longest_line: int = 0   # bytes of the longest LF-terminated line (without its LF): exact when a line reaches
    #                         Limits.max_fields_per_line bytes, else a bound below that
    widest_line: int = 0    # fields on the widest line, counted (by delimiters) only on lines of at least
    #                         Limits.max_fields_per_line bytes (a narrower line cannot be wider than that); else 0


def file_facts(path: Path, *, delimiter: str = ",", limits: Limits = DEFAULT_LIMITS) -> FileFacts:
    """Checksum and line shape of a file, in one pass over its bytes.

    Lines are counted with numpy (a vectorised byte compare is ~2.5x faster than ``bytes.count``), and carriage
    returns are only counted in chunks that hold one (most files have none, and ``find`` stops at the first). The
    longest line comes from the newline positions; delimiters are counted only on lines long enough to be over
    ``limits.max_fields_per_line`` (none, in an ordinary file), so the limits cost no extra pass."""
    newlines = crlf = cr = 0
    last = b""
    h = hashlib.sha256()
    delim = ord(delimiter) if len(delimiter) == 1 and ord(delimiter) < 128 else None
    wide_from = limits.max_fields_per_line   # a line with more fields than this has at least this many bytes
    block = max(8, (wide_from // 3) // 8 * 8)
    pos = 0            # offset of the chunk
    last_nl = -1       # offset of the last LF seen
    tail_delims = 0    # delimiters since the last LF
    longest = widest = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            a = np.frombuffer(chunk, np.uint8)
            eq = a == 10
            newlines += int(np.count_nonzero(eq))
            full = len(eq) // block * block
            if full and last_nl >= pos - 2 * block and \
                    eq[:full].view(np.uint64).reshape(-1, block // 8).any(axis=1).all():
                # every block of `block` bytes holds a newline, and the last chunk's last newline was within two
                # blocks of its end: no line here reaches 3 blocks (< wide_from bytes), so none can be over either
                # limit, and the exact scan of newline positions is skipped
                longest = max(longest, 3 * block - 1)
                near = full - block
                last_nl = pos + near + int(np.flatnonzero(eq[near:])[-1])
                tail = a[last_nl - pos + 1:]
                tail_delims = int(np.count_nonzero(tail == delim)) if delim is not None and len(tail) else 0
                if last == b"\r" or chunk.find(b"\r") != -1:
                    if last == b"\r" and chunk[:1] == b"\n":
                        crlf += 1
                    crlf += chunk.count(b"\r\n")
                    cr += chunk.count(b"\r")
                last = chunk[-1:]
                pos += len(chunk)
                a = eq = tail = None   # let the next read reuse the memory (16 MB more held costs ~20% of the scan)
                continue
            nl = np.flatnonzero(eq)
            eq = None
            if len(nl):
                lens = np.diff(nl, prepend=last_nl - pos) - 1
                m = int(lens.max())
                longest = max(longest, m)
                if m >= wide_from and delim is not None:
                    for k in np.flatnonzero(lens >= wide_from).tolist():
                        start = int(nl[k - 1]) + 1 if k else 0
                        d = int(np.count_nonzero(a[start:int(nl[k])] == delim)) + (0 if k else tail_delims)
                        widest = max(widest, d + 1)
                last_nl = pos + int(nl[-1])
                tail = a[int(nl[-1]) + 1:]
                tail_delims = int(np.count_nonzero(tail == delim)) if delim is not None and len(tail) else 0
            elif delim is not None:
                tail_delims += int(np.count_nonzero(a == delim))
            if last == b"\r" or chunk.find(b"\r") != -1:
                # a CRLF split across chunks: count it once
                if last == b"\r" and chunk[:1] == b"\n":
                    crlf += 1
                crlf += chunk.count(b"\r\n")
                cr += chunk.count(b"\r")
            last = chunk[-1:]
            pos += len(chunk)
            a = nl = tail = None   # (a view of the chunk held over the next read costs time)
    tail_len = pos - last_nl - 1
    if tail_len > 0:
        longest = max(longest, tail_len)
        if tail_len >= wide_from and delim is not None:
            widest = max(widest, tail_delims + 1)
    lines = newlines + (1 if last not in (b"\n", b"") else 0)
    return FileFacts(h.hexdigest(), lines, cr != crlf, longest, widest)


def fast_path_allowed(facts: FileFacts, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Whether DuckDB's reader may be given the file: no lone CR, no line longer than a field may be, none wider
    than the field limit (DuckDB's cost grows with a line's fields: 100,000 commas took it 53 s and 3.3 GB)."""
    return (not facts.lone_cr and facts.longest_line <= limits.max_field_bytes
            and facts.widest_line <= limits.max_fields_per_line)


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
         wrap: Callable[[str], str] = _plain, limits: Limits = DEFAULT_LIMITS) -> LoadedCSV:
    """Load one file into the temp view ``_rows`` (``source_row`` first, then what ``wrap`` selects) and the temp
    table ``_rejects``: :func:`load_group` for a group of one, without the ``file_index`` column. Call
    :func:`cleanup` after."""
    item = GroupItem(0, path, facts or file_facts(path, delimiter=delimiter, limits=limits))
    loaded = load_group(con, [item], columns, delimiter=delimiter, encoding=encoding, force_exact=force_exact,
                        wrap=wrap, keep_index=False, limits=limits)
    return loaded[0]


def load_group(con: duckdb.DuckDBPyConnection, items: list[GroupItem], columns: list[str], *, delimiter: str = ",",
               encoding: str = "utf-8", force_exact: bool = False, wrap: Callable[[str], str] = _plain,
               keep_index: bool = True, limits: Limits = DEFAULT_LIMITS) -> dict[int, LoadedCSV]:
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
        candidates = [it for it in items if fast_path_allowed(it.facts, limits)]
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
        done.update(_exact_part(con, exact, columns, delimiter, encoding, wrap, limits))
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
                             || ', found ' || CASE WHEN bool_or(r.error_type = 'MISSING COLUMNS')
                                   -- DuckDB rejects a line once per missing or extra column: the real count is the
                                   -- smallest 'Found' of a short line and the largest of a long one
                                   THEN min(regexp_extract(r.error_message, 'Found: (\d+)', 1)::BIGINT)
                                   ELSE max(regexp_extract(r.error_message, 'Found: (\d+)', 1)::BIGINT) END::VARCHAR
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


_EOL = re.compile(rb"\r\n|\r|\n")
_SURROGATE = re.compile("[\udc80-\udcff]")
UNTERMINATED = "unterminated quoted field: a quote opens a field that never closes (the lines after it are read on their own)"


def escape_bytes(text: str) -> str:
    r"""Text decoded with ``surrogateescape`` written so that the original bytes can be recovered: a backslash as
    ``\\``, an undecodable byte as ``\xNN``."""
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text.replace("\\", "\\\\"))


def _py_encoding(encoding: str) -> str:
    e = encoding.lower().replace("_", "-")
    return "utf-8" if e in ("utf-8", "utf8", "utf-8-sig") else encoding


class _Lines:
    """The physical lines of a file (ended by LF, CRLF or a lone CR), with a push-back, as the text lines the csv
    module reads. Lines longer than ``limit`` bytes are never decoded nor fed: the feed stops before one, and the
    reader quarantines it whole."""

    def __init__(self, buf, encoding: str, limit: int):
        self.buf = buf
        self.enc = encoding
        self.limit = limit
        self.size = len(buf)
        self._ends = _EOL.finditer(buf)
        self._pos = 3 if (encoding == "utf-8" and buf[:3] == codecs.BOM_UTF8) else 0
        self._no = 0
        self.pending: list[tuple[int, int, int, int]] = []   # (number, start, end without EOL, end with EOL), reversed
        self.taken: list[tuple[int, int, int, int]] = []
        self.text: dict[int, tuple[str, bool]] = {}           # number -> (decoded line, had undecodable bytes)
        self.stopped = False   # the last record's feed ended (end of file, or a line too long to feed)

    def _read(self):
        if self.pending:
            return self.pending.pop()
        if self._pos >= self.size:
            return None
        m = next(self._ends, None)
        start = self._pos
        if m is None:
            end = full = self.size
        else:
            end, full = m.start(), m.end()
        self._pos = full
        self._no += 1
        return (self._no, start, end, full)

    def peek(self):
        line = self._read()
        if line is not None:
            self.pending.append(line)
        return line

    def push_back(self, lines) -> None:
        self.pending.extend(reversed(lines))

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._read()
        if line is None:
            self.stopped = True
            raise StopIteration
        if line[2] - line[1] > self.limit:
            self.pending.append(line)   # not fed: the reader quarantines it at the start of the next record
            self.stopped = True
            raise StopIteration
        self.taken.append(line)
        got = self.text.get(line[0])
        if got is None:
            raw = bytes(self.buf[line[1]:line[3]])
            try:
                got = (raw.decode(self.enc), False)
            except UnicodeDecodeError:
                got = (raw.decode(self.enc, "surrogateescape"), True)
            self.text[line[0]] = got
        return got[0]

    def raw(self, lines, cut: int) -> tuple[bytes, int]:
        """(the bytes of ``lines`` without the last line end, cut at ``cut`` bytes; their full length)."""
        start, end = lines[0][1], lines[-1][2]
        return bytes(self.buf[start:min(end, start + cut)]), end - start


def _raw_text(data: bytes, full: int, encoding: str, limits: Limits, escape: bool) -> str:
    text = data.decode(encoding, "surrogateescape")
    if escape or _SURROGATE.search(text):
        text = escape_bytes(text)
    if full > len(data):
        text += f" [... cut at {len(data):,} of the line's {full:,} bytes (Limits.max_raw_bytes)]"
    return text


def _is_record(text: str, n: int, delimiter: str) -> bool:
    """Whether one line, read on its own, is a whole record of ``n`` fields or more: it parses cleanly, and every
    quote on it opens or closes a quoted field (or is doubled inside one).

    The continuation of a quoted line break never is: it starts inside the quoted field, so the quote that closes
    that field stands inside an unquoted field when the line is read on its own (``=1",Leeds,...``). Counting its
    fields is not enough: when the field that spans the lines is the first, the continuation holds as many fields
    as a whole record (the fuzz run's miscounted area lookups, issue 12)."""
    try:
        fields = next(csv.reader([text], delimiter=delimiter, quotechar='"', doublequote=True, strict=True), [])
    except csv.Error:
        return False
    if len(fields) < n:
        return False
    if '"' not in text:
        return True
    return _stray_quote(text.rstrip("\r\n"), delimiter) is None


def _stray_quote(text: str, delimiter: str) -> int | None:
    """The position of the first quote in ``text`` (one line) that stands inside an unquoted field, else None.

    Hand-written because the csv module, even with ``strict=True``, accepts such a quote as an ordinary character
    (``=1",Leeds`` reads as ``['=1"', 'Leeds']``) and says nothing of where it stood."""
    i, size = 0, len(text)
    while i <= size:
        if i < size and text[i] == '"':                 # a quoted field: to its closing quote
            i += 1
            while i < size:
                if text[i] == '"':
                    if i + 1 < size and text[i + 1] == '"':
                        i += 2
                        continue
                    break
                i += 1
            i += 1                                      # past the closing quote (strict parsing put a delimiter next)
        else:                                           # an unquoted field: to the next delimiter
            end = text.find(delimiter, i)
            end = size if end == -1 else end
            q = text.find('"', i, end)
            if q != -1:
                return q
            i = end
        if i >= size:
            return None
        i += len(delimiter)                             # past the delimiter
    return None


def _exact_arrays(path: Path, columns: list[str], delimiter: str, encoding: str, limits: Limits = DEFAULT_LIMITS):
    """Read ``path`` with Python's csv module, line by line: (rows as {column: values}, their row numbers, rejects).

    A record spanning lines is kept only when it parses cleanly (see the module docs: unterminated quotes); lines
    over ``limits.max_line_bytes`` are quarantined without being split; rows with a field over
    ``limits.max_field_bytes``, with the wrong number of fields, or with bytes that are not ``encoding`` text are
    quarantined with their real length or count."""
    import mmap

    n = len(columns)
    data: list[list[str | None]] = [[] for _ in range(n)]
    rows: list[int] = []
    rej_rows: list[int] = []
    rej_raw: list[str] = []
    rej_reason: list[str] = []
    csv.field_size_limit(max(limits.max_line_bytes, 1 << 17))
    enc = _py_encoding(encoding)
    label = encoding.upper()

    def reject(row: int, raw: str, reason: str) -> None:
        rej_rows.append(row)
        rej_raw.append(raw)
        rej_reason.append(reason)

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        lines = reader = None
        try:
            lines = _Lines(buf, enc, limits.max_line_bytes)
            reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
            header_seen = False
            prune_at = 1000
            while True:
                nxt = lines.peek()
                if nxt is None:
                    break
                if len(lines.text) > prune_at:   # decoded lines of finished (rejected) records: forget them
                    lines.text = {k: v for k, v in lines.text.items() if k >= nxt[0]}
                    # lines pushed back after an unterminated quote stay decoded until read again: pruning every
                    # time they exceed a fixed count made one stray quote in a 200,000-line file cost 586 s
                    prune_at = max(1000, 2 * len(lines.text))
                if nxt[2] - nxt[1] > limits.max_line_bytes:   # a line too long to split: quarantined whole
                    lines.pending.pop()
                    raw, full = lines.raw([nxt], limits.max_raw_bytes)
                    if not header_seen:
                        header_seen = True   # the header line (refused by its header before this is read)
                        continue
                    reject(nxt[0], _raw_text(raw, full, enc, limits, False),
                           f"line too long: length {size_text(full)}, over the limit of "
                           f"{size_text(limits.max_line_bytes)} (Limits.max_line_bytes); not split into fields")
                    continue
                lines.taken = []
                lines.stopped = False
                try:
                    fields = next(reader)
                    err = None
                except StopIteration:
                    fields, err = None, None
                except csv.Error as exc:
                    fields, err = None, exc
                taken = lines.taken
                if not taken:
                    continue          # the next line is too long: handled at the top of the loop
                stopped = err is not None and lines.stopped
                first = taken[0][0]
                if len(taken) > 1:
                    if err is not None or fields is None or (header_seen and (
                            abs(len(fields) - n) > 1 or _is_record(lines.text[taken[1][0]][0], n, delimiter))):
                        # the quote opened on the first line never closes: that line alone is the bad record
                        lines.push_back(taken[1:])
                        if header_seen:
                            raw, full = lines.raw(taken[:1], limits.max_raw_bytes)
                            reject(first, _raw_text(raw, full, enc, limits, False), UNTERMINATED)
                        header_seen = True
                        continue
                elif err is not None:
                    if stopped:       # a quote still open at the end of the file (or before a line too long)
                        if header_seen:
                            raw, full = lines.raw(taken, limits.max_raw_bytes)
                            reject(first, _raw_text(raw, full, enc, limits, False), UNTERMINATED)
                        header_seen = True
                        continue
                    # a stray character after a closing quote ('"a"b'): read leniently, as one line
                    fields = next(csv.reader([lines.text[first][0]], delimiter=delimiter, quotechar='"',
                                             doublequote=True, strict=False), [])
                if fields is None:
                    continue
                if not fields:        # blank line: not a record
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                bad = any(lines.text[t[0]][1] for t in taken)
                if bad or len(fields) != n:
                    raw, full = lines.raw(taken, limits.max_raw_bytes)
                    if bad:
                        reject(first, _raw_text(raw, full, enc, limits, True),
                               f"invalid text encoding (not {label})")
                    else:
                        wide = (f" (more than the limit of {limits.max_fields_per_line:,} fields on a line, "
                                "Limits.max_fields_per_line)") if len(fields) > limits.max_fields_per_line else ""
                        reject(first, _raw_text(raw, full, enc, limits, False),
                               f"wrong number of fields: expected {n}, found {len(fields)}{wide}")
                    continue
                if taken[-1][2] - taken[0][1] > limits.max_field_bytes:
                    long = [(i, len(f.encode(enc, "surrogateescape"))) for i, f in enumerate(fields)
                            if len(f) * 4 > limits.max_field_bytes]
                    long = [(i, b) for i, b in long if b > limits.max_field_bytes]
                    if long:
                        i, b = long[0]
                        raw, full = lines.raw(taken, limits.max_raw_bytes)
                        reject(first, _raw_text(raw, full, enc, limits, False),
                               f"field {i + 1} ({columns[i]}) too long: length {size_text(b)}, over the limit of "
                               f"{size_text(limits.max_field_bytes)} (Limits.max_field_bytes)")
                        continue
                rows.append(first)
                for i, v in enumerate(fields):
                    data[i].append(v if v != "" else None)
                for t in taken:
                    lines.text.pop(t[0], None)
        finally:
            if lines is not None:
                lines._ends = None   # the regex scanner holds a view of the map: release it before closing
            lines = reader = None
            if size:
                buf.close()
    return data, rows, (rej_rows, rej_raw, rej_reason)


def _exact_part(con, items: list[GroupItem], columns: list[str], delimiter: str, encoding: str,
                wrap: Callable[[str], str], limits: Limits = DEFAULT_LIMITS) -> dict[int, LoadedCSV]:
    """Read ``items`` on the exact path into ``_stage_x`` (rows) and ``_rejects``."""
    tables, rejects, out = [], [], {}
    for it in items:
        data, rows, (rej_rows, rej_raw, rej_reason) = _exact_arrays(it.path, columns, delimiter, encoding, limits)
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
