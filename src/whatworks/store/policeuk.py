"""Read police.uk open-data files (street-level crime, outcomes, stop and search) into the canonical store.

Files are recognised by their header, not their name (REFERENCE.md lists the columns). Each file loads in one
transaction; every row ends up loaded, quarantined (with reason, file and row number) or skipped as a duplicate:
``rows_read == rows_loaded + rows_quarantined + duplicates_skipped`` for every file.

Row rules (a row failing any goes to the quarantine with every reason that applies):

* ``Month`` must parse as ``YYYY-MM``; a stop-and-search ``Date`` as an ISO 8601 date-time.
* ``Longitude``/``Latitude``: both blank is a valid record with no mappable location (police.uk publishes a few
  percent of each month so); otherwise both must parse, must not be (0, 0), and must lie in the box around Great
  Britain and Northern Ireland.
* Street files: ``Crime type`` must be one of the 14 police.uk types; ``Falls within`` must be present.
* Outcomes files: ``Crime ID`` and ``Outcome type`` must be present.
* Stop-and-search files: the True/False columns must be blank, True or False.

Duplicates: a street row whose ``Crime ID`` is already in the store (or earlier in the same file) is skipped,
and kept in the quarantine under category ``duplicate`` with where the first copy is. An outcome row is a
duplicate when the same (Crime ID, Month, Outcome type) is already there. ASB rows (blank Crime ID) and stop
and search rows have no key, so only whole files are recognised as repeats (by checksum).

Outcomes attach to crimes by Crime ID in the ``crimes`` view: the outcome with the latest month wins, and the
history stays in ``outcomes``.
"""

from __future__ import annotations

import re
import datetime as _dt
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from whatworks.errors import IngestError
from whatworks.store import _batch, _csv
from whatworks.store._sources import Source, find_sources, ignored_files
from whatworks.store._sql import quote_literal, run
from whatworks.store.geo import GB_LAT_RANGE, GB_LON_RANGE, to_bng
from whatworks.store.ingest_report import FileOutcome, IngestReport

SOURCE_SYSTEM = "police.uk"

CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
)


@dataclass(frozen=True)
class Format:
    name: str
    header: tuple[str, ...]
    order: int  # load order within one call: crimes before the outcomes and stops that refer to them

    @property
    def fields(self) -> list[str]:
        return [_snake(h) for h in self.header]


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


STREET = Format("policeuk_street", (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name",
    "Crime type", "Last outcome category", "Context"), 0)
OUTCOMES = Format("policeuk_outcomes", (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name",
    "Outcome type"), 1)
STOP_SEARCH = Format("policeuk_stop_search", (
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender", "Age range",
    "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome",
    "Outcome linked to object of search", "Removal of more than just outer clothing"), 2)
FORMATS = (STREET, OUTCOMES, STOP_SEARCH)

_STOP_FILE = re.compile(r"^\d{4}-\d{2}-(?P<slug>.+)-stop-and-search\.csv$", re.IGNORECASE)


def detect_format(header: list[str]) -> Format | None:
    """The police.uk format whose columns are exactly ``header`` (in any order), or None."""
    got = {h.strip().lower() for h in header}
    for fmt in FORMATS:
        if got == {h.lower() for h in fmt.header} and len(header) == len(fmt.header):
            return fmt
    return None


def _expected_text() -> str:
    return " | ".join(f"{f.name}: {', '.join(f.header)}" for f in FORMATS)


def _coord_reason(lon_raw: str, lat_raw: str) -> str:
    lo, hi = GB_LON_RANGE
    la, ha = GB_LAT_RANGE
    return f"""CASE
      WHEN {lon_raw} IS NULL AND {lat_raw} IS NULL THEN NULL
      WHEN {lon_raw} IS NULL OR {lat_raw} IS NULL THEN 'only one of Longitude/Latitude given'
      WHEN c_lon IS NULL OR c_lat IS NULL OR NOT isfinite(c_lon) OR NOT isfinite(c_lat) THEN 'unparseable Longitude/Latitude'
      WHEN c_lon = 0 AND c_lat = 0 THEN 'coordinates at (0, 0)'
      WHEN c_lon NOT BETWEEN {lo} AND {hi} OR c_lat NOT BETWEEN {la} AND {ha}
        THEN 'coordinates outside Great Britain and Northern Ireland'
    END"""


def _bool_sql(header: str) -> tuple[str, str]:
    """(parsed expression, reason expression) for a police.uk True/False column."""
    col = _snake(header)
    parsed = f"CASE lower({col}) WHEN 'true' THEN true WHEN 'false' THEN false END"
    reason = (f"CASE WHEN {col} IS NOT NULL AND lower({col}) NOT IN ('true', 'false') "
              f"THEN {quote_literal(f'unparseable True/False in {header!r}')} END")
    return parsed, reason


def _check_sql(fmt: Format, src: str) -> str:
    """A SELECT over ``src`` (the file's fields) adding parsed values, ``reason`` (NULL when the row is valid) and
    ``k_hash`` (the row's natural key, hashed). The reader materialises the file once through it."""
    fields = fmt.fields
    # parsed and key fields are trimmed; descriptive text is kept as published (empty -> NULL)
    trimmed = {"crime_id", "month", "date", "longitude", "latitude", "crime_type", "falls_within", "outcome_type",
               "part_of_a_policing_operation", "outcome_linked_to_object_of_search", "removal_of_more_than_just_outer_clothing"}
    norm = ", ".join(f"nullif(trim({f}), '') AS {f}" if f in trimmed else f"nullif({f}, '') AS {f}" for f in fields)
    norm = f"* REPLACE ({norm})"
    if fmt is STOP_SEARCH:
        parsed = """TRY_CAST(date AS TIMESTAMPTZ) AS c_ts,
                    TRY_CAST(longitude AS DOUBLE) AS c_lon, TRY_CAST(latitude AS DOUBLE) AS c_lat"""
        bools = [_bool_sql(h) for h in ("Part of a policing operation", "Outcome linked to object of search",
                                        "Removal of more than just outer clothing")]
        rules = ["CASE WHEN c_ts IS NULL THEN 'unparseable Date (expected an ISO 8601 date-time)' END",
                 _coord_reason("longitude", "latitude"), *(b[1] for b in bools)]
        extra = ", ".join(f"{b[0]} AS c_{c}" for b, c in zip(bools, ("operation", "linked", "removal")))
        parsed = parsed + ", " + extra
    else:
        parsed = """TRY_STRPTIME(month, '%Y-%m')::DATE AS c_month,
                    TRY_CAST(longitude AS DOUBLE) AS c_lon, TRY_CAST(latitude AS DOUBLE) AS c_lat"""
        rules = ["CASE WHEN month IS NULL THEN 'missing Month' WHEN c_month IS NULL THEN 'unparseable Month (expected YYYY-MM)' END",
                 _coord_reason("longitude", "latitude")]
        if fmt is STREET:
            types = ", ".join(quote_literal(t) for t in CRIME_TYPES)
            rules += [f"CASE WHEN crime_type IS NULL THEN 'missing Crime type' WHEN crime_type NOT IN ({types}) THEN 'unknown Crime type' END",
                      "CASE WHEN falls_within IS NULL THEN 'missing Falls within' END"]
        else:
            rules += ["CASE WHEN crime_id IS NULL THEN 'missing Crime ID (an outcome must name its crime)' END",
                      "CASE WHEN outcome_type IS NULL THEN 'missing Outcome type' END"]
    reason = "nullif(concat_ws('; ', " + ", ".join(rules) + "), '')"
    return f"""SELECT *, {reason} AS reason, {_key_hash_sql(fmt)} AS k_hash FROM (
        SELECT *, {parsed} FROM (SELECT {norm} FROM {src}))"""


def _key_hash_sql(fmt: Format) -> str:
    """The natural key of a row as a 64-bit hash (NULL for keyless rows): crimes by Crime ID, outcomes by
    (Crime ID, Month, Outcome type). Hash hits are confirmed against the stored values, so a collision can
    never make a row a duplicate."""
    if fmt is STREET:
        return f"CASE WHEN crime_id IS NOT NULL THEN hash('{SOURCE_SYSTEM}|crime|' || crime_id) END"
    if fmt is OUTCOMES:
        return (f"CASE WHEN crime_id IS NOT NULL AND c_month IS NOT NULL AND outcome_type IS NOT NULL THEN "
                f"hash('{SOURCE_SYSTEM}|outcome|' || crime_id || '|' || c_month::VARCHAR || '|' || outcome_type) END")
    return "NULL::UBIGINT"


def _raw_json(fmt: Format, prefix: str = "") -> str:
    return "json_object(" + ", ".join(f"{quote_literal(h)}, {prefix}{f}" for h, f in zip(fmt.header, fmt.fields)) + ")::VARCHAR"


def _duplicates_sql(fmt: Format) -> str | None:
    """SQL creating ``_dups(file_index, source_row, reason, first_copy)`` for valid rows that repeat a key already in
    the store, earlier in the same file, or in an earlier file of the same group; None for keyless formats (stop and
    search). The answer is the one loading the group's files one at a time, in order, would give: a key first seen
    in an earlier file of the group is "already in the store" (it would be by then), with that file's row as the
    first copy."""
    if fmt is STREET:
        part = "c.crime_id"
        same = "e.reference = c.crime_id AND e.kind IN ('crime', 'asb')"
        label = "Crime ID"
    elif fmt is OUTCOMES:
        part = "c.crime_id, c.c_month, c.outcome_type"
        same = "e.reference = c.crime_id AND e.month = c.c_month AND e.outcome = c.outcome_type AND e.kind = 'outcome'"
        label = "(Crime ID, Month, Outcome type)"
    else:
        return None
    # Only keys whose hash repeats within the group can repeat there, so the (costly) window over the key runs on
    # those rows alone; the store is searched through event_keys, and every hash hit is confirmed on the real values.
    return f"""CREATE TEMP TABLE _dups AS
      WITH hits AS (
        SELECT c.file_index, c.source_row, arg_min(b.source_file, e.event_id) AS f, arg_min(e.source_row, e.event_id) AS r
        FROM _rows c JOIN event_keys k ON k.key_hash = c.k_hash
        JOIN events e ON e.event_id = k.event_id AND e.source_system = '{SOURCE_SYSTEM}' AND {same}
        JOIN batches b ON b.batch_id = e.batch_id
        WHERE c.reason IS NULL
        GROUP BY c.file_index, c.source_row),
      repeated AS (
        SELECT k_hash FROM _rows WHERE reason IS NULL AND k_hash IS NOT NULL GROUP BY k_hash HAVING count(*) > 1),
      firsts AS (
        SELECT c.file_index, c.source_row,
               first_value(c.file_index) OVER w AS first_file, first_value(c.source_row) OVER w AS first_row
        FROM _rows c WHERE c.reason IS NULL AND c.k_hash IN (SELECT k_hash FROM repeated)
        WINDOW w AS (PARTITION BY {part} ORDER BY c.file_index, c.source_row)),
      valid AS (  -- both sides hold valid keyed rows only, so no pass over the whole group is needed
        SELECT file_index, source_row, fs.first_file, fs.first_row, h.f, h.r
        FROM hits h FULL OUTER JOIN firsts fs USING (file_index, source_row))
      SELECT v.file_index, v.source_row,
             CASE WHEN v.f IS NOT NULL OR v.first_file <> v.file_index THEN '{label} already in the store'
                  ELSE '{label} repeated within the file' END AS reason,
             CASE WHEN v.f IS NOT NULL THEN 'first copy: ' || v.f || ' row ' || v.r
                  WHEN v.first_file <> v.file_index THEN 'first copy: ' || ff.source || ' row ' || v.first_row
                  ELSE 'first copy: row ' || v.first_row END AS first_copy
      FROM valid v LEFT JOIN _files ff ON ff.file_index = v.first_file
      WHERE v.f IS NOT NULL OR v.file_index <> v.first_file OR v.source_row <> v.first_row"""


def _stage_coordinates(con) -> None:
    """Make sure ``_xy_cache(c_lon, c_lat, x, y)`` holds British National Grid coordinates for every valid point of
    this file. police.uk snaps crimes to a limited set of anonymous map points that recur month after month, so each
    distinct point is converted once per connection and remembered (a temp table: nothing is added to the store)."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _xy_cache (c_lon DOUBLE, c_lat DOUBLE, x DOUBLE, y DOUBLE)")
    pts = con.execute("""SELECT DISTINCT c_lon, c_lat FROM _rows r WHERE reason IS NULL AND c_lon IS NOT NULL
                         AND NOT EXISTS (SELECT 1 FROM _xy_cache k WHERE k.c_lon = r.c_lon AND k.c_lat = r.c_lat)""").fetchnumpy()
    lon, lat = pts["c_lon"], pts["c_lat"]
    if len(lon) == 0:
        return
    x, y = to_bng(lon, lat)
    con.register("_xy_arrow", pa.table({"c_lon": lon, "c_lat": lat, "x": x, "y": y}))
    try:
        run(con, "stage coordinates", "INSERT INTO _xy_cache SELECT * FROM _xy_arrow")
    finally:
        con.unregister("_xy_arrow")


def _insert_sql(fmt: Format) -> list[tuple[str, str]]:
    base = """FROM _rows c JOIN _files f USING (file_index) LEFT JOIN _xy_cache _xy USING (c_lon, c_lat)
              WHERE c.reason IS NULL AND (c.file_index, c.source_row) NOT IN (SELECT (file_index, source_row) FROM _dups)"""
    eid = "(f.batch_id::BIGINT << 32) + c.source_row"
    prov = f"'{SOURCE_SYSTEM}', c.source_row, f.batch_id"
    if fmt is STREET:
        return [("insert crimes", f"""INSERT INTO events SELECT {eid},
            CASE WHEN crime_type = 'Anti-social behaviour' THEN 'asb' ELSE 'crime' END, crime_id,
            c_month::TIMESTAMP, c_month, 'month', crime_type, last_outcome_category, c_lon, c_lat, _xy.x, _xy.y,
            location, lsoa_code, lsoa_name, falls_within, reported_by, context, {prov} {base}""")]
    if fmt is OUTCOMES:
        return [("insert outcomes", f"""INSERT INTO events SELECT {eid}, 'outcome', crime_id,
            c_month::TIMESTAMP, c_month, 'month', NULL, outcome_type, c_lon, c_lat, _xy.x, _xy.y,
            location, lsoa_code, lsoa_name, falls_within, reported_by, NULL, {prov} {base}""")]
    local = "timezone('Europe/London', c_ts)"
    return [
        ("insert stop events", f"""INSERT INTO events SELECT {eid}, 'stop_search', NULL,
            {local}, date_trunc('month', {local})::DATE, 'minute', NULL, outcome, c_lon, c_lat, _xy.x, _xy.y,
            NULL, NULL, NULL, f.force, NULL, NULL, {prov} {base}"""),
        ("insert stop details", f"""INSERT INTO stop_searches SELECT {eid}, type, c_operation, policing_operation,
            gender, age_range, self_defined_ethnicity, officer_defined_ethnicity, legislation, object_of_search,
            c_linked, c_removal, NULL {base}"""),
    ]


def _stop_force(con, source: Source, force: str | None) -> tuple[str | None, str]:
    """Stop-and-search files have no force column: use ``force=``, else the force named in the same force's
    street files already loaded, else the slug in the file name (``2024-01-<slug>-stop-and-search.csv``).
    Returns (force, where it came from), so the file's outcome can say which default was taken."""
    if force:
        return force, "given"
    m = _STOP_FILE.match(source.basename)
    if not m:
        return None, "none: the file name does not follow YYYY-MM-<force>-stop-and-search.csv; pass force="
    slug = m.group("slug")
    row = con.execute(
        """SELECT e.force FROM batches b JOIN events e USING (batch_id)
           WHERE b.format = 'policeuk_street' AND e.source_system = ? AND e.force IS NOT NULL
             AND regexp_extract(b.source_file, '\\d{4}-\\d{2}-(.+)-street\\.csv$', 1) = ? LIMIT 1""",
        [SOURCE_SYSTEM, slug]).fetchone()
    if row:
        return row[0], f"from the {slug} street files already loaded"
    return slug, "the file name's slug (no street file of this force loaded yet); pass force= to name it"


# Files of one layout are read and checked together, up to this many bytes per group (one DuckDB scan, one
# transaction). Per-file queries and commits cost more than reading a 70,000-row police.uk month; the cap keeps
# a group's work tables (~2x its bytes) far below the memory a laptop has.
GROUP_BYTES = 256 << 20


@dataclass
class _Planned:
    source: Source
    fmt: Format
    columns: list[str]   # the file's fields in its own header order, as canonical names
    size: int


@dataclass
class _Prepared:
    """A group's files on disk (zip members extracted) with their checksums and line shapes."""
    stack: ExitStack
    paths: list[Path]
    facts: list[_csv.FileFacts]


def _prepare(group: list[_Planned]) -> _Prepared:
    stack = ExitStack()
    try:
        paths = [stack.enter_context(p.source.local()) for p in group]
        return _Prepared(stack, paths, [_csv.file_facts(path) for path in paths])
    except BaseException:
        stack.close()
        raise


def _plan_groups(planned: list[_Planned], group_bytes: int) -> list[list[_Planned]]:
    """Consecutive files of the same format and column order, up to ``group_bytes`` a group (at least one file)."""
    groups: list[list[_Planned]] = []
    size = 0
    for p in planned:
        g = groups[-1] if groups else None
        if g and g[0].fmt is p.fmt and g[0].columns == p.columns and size + p.size <= group_bytes:
            g.append(p)
            size += p.size
        else:
            groups.append([p])
            size = p.size
    return groups


def _load_group(con, group: list[_Planned], prep: _Prepared, seen: dict[str, tuple[int, str]], *,
                force: str | None, version: str, force_exact: bool) -> list[FileOutcome]:
    """Load one group of files in one transaction; returns an outcome per file, in order."""
    fmt = group[0].fmt
    outcomes: dict[int, FileOutcome] = {}
    items: list[_csv.GroupItem] = []
    files: list[tuple[int, int, str, str | None, str]] = []  # file_index, batch_id, source, force, force_from
    batch_id = _batch.next_batch_id(con)
    for i, (p, path, facts) in enumerate(zip(group, prep.paths, prep.facts)):
        prior = _batch.already_loaded(con, facts.checksum)
        if prior:
            outcomes[i] = FileOutcome(p.source.name, fmt.name, "already_loaded", prior[0], checksum=facts.checksum,
                                      message=f"same bytes as batch {prior[0]} ({prior[1]}, loaded {prior[2]}); nothing done")
            continue
        if facts.checksum in seen:
            first_batch, first_name = seen[facts.checksum]
            outcomes[i] = FileOutcome(p.source.name, fmt.name, "already_loaded", first_batch, checksum=facts.checksum,
                                      message=f"same bytes as batch {first_batch} ({first_name}, loaded in this run); nothing done")
            continue
        seen[facts.checksum] = (batch_id, p.source.name)
        stop_force, force_from = _stop_force(con, p.source, force) if fmt is STOP_SEARCH else (None, "")
        items.append(_csv.GroupItem(i, path, facts))
        files.append((i, batch_id, p.source.name, stop_force, force_from))
        batch_id += 1
    if not items:
        return [outcomes[i] for i in range(len(group))]
    # Reading and checking fill temp tables only, so they run before the transaction opens (temp tables filled
    # inside a transaction cost more); everything that touches the store happens inside it.
    try:
        loaded_csv = _csv.load_group(con, items, group[0].columns, force_exact=force_exact,
                                     wrap=lambda src: _check_sql(fmt, src))
        con.execute("CREATE OR REPLACE TEMP TABLE _files (file_index INTEGER, batch_id INTEGER, source VARCHAR, force VARCHAR)")
        con.executemany("INSERT INTO _files VALUES (?, ?, ?, ?)", [f[:4] for f in files])
        _stage_coordinates(con)
        with _batch.transaction(con):
            run(con, "quarantine unsplittable rows", """INSERT INTO quarantine
                SELECT f.batch_id, f.source, r.source_row, 'invalid', r.reason, r.raw FROM _rejects r JOIN _files f USING (file_index)""")
            run(con, "quarantine invalid rows", f"""INSERT INTO quarantine
                SELECT f.batch_id, f.source, c.source_row, 'invalid', c.reason, {_raw_json(fmt, 'c.')}
                FROM _rows c JOIN _files f USING (file_index) WHERE c.reason IS NOT NULL""")
            dup_sql = _duplicates_sql(fmt)
            run(con, "find duplicates", dup_sql or "CREATE TEMP TABLE _dups AS SELECT NULL::INTEGER AS file_index, "
                "NULL::BIGINT AS source_row, NULL AS reason, NULL AS first_copy WHERE false")
            run(con, "quarantine duplicates", f"""INSERT INTO quarantine
                SELECT f.batch_id, f.source, d.source_row, 'duplicate', d.reason,
                       json_object('first_copy', d.first_copy, 'row', {_raw_json(fmt, 'c.')}::JSON)::VARCHAR
                FROM _dups d JOIN _rows c USING (file_index, source_row) JOIN _files f USING (file_index)""")
            inserted = 0
            for step, sql in _insert_sql(fmt):
                n = run(con, step, sql).fetchone()[0]
                inserted = n if step != "insert stop details" else inserted
            run(con, "record keys", """INSERT INTO event_keys
                SELECT c.k_hash, (f.batch_id::BIGINT << 32) + c.source_row FROM _rows c JOIN _files f USING (file_index)
                WHERE c.reason IS NULL AND c.k_hash IS NOT NULL
                  AND (c.file_index, c.source_row) NOT IN (SELECT (file_index, source_row) FROM _dups)""")
            lo, hi = files[0][1], files[-1][1]
            loaded = dict(con.execute("SELECT batch_id, count(*) FROM events WHERE batch_id BETWEEN ? AND ? GROUP BY ALL",
                                      [lo, hi]).fetchall())
            if sum(loaded.values()) != inserted:
                raise AssertionError(f"{sum(loaded.values())} events found for batches {lo}-{hi}, {inserted} inserted")
            counts = {b: (q, d) for b, q, d in con.execute(
                """SELECT batch_id, count(*) FILTER (WHERE category = 'invalid'), count(*) FILTER (WHERE category = 'duplicate')
                   FROM quarantine WHERE batch_id BETWEEN ? AND ? GROUP BY ALL""", [lo, hi]).fetchall()}
            reasons: dict[int, dict[str, int]] = {}
            for b, reason, n in con.execute(
                    """SELECT batch_id, reason, count(*) FROM quarantine WHERE batch_id BETWEEN ? AND ?
                       GROUP BY ALL ORDER BY batch_id, count(*) DESC, reason""", [lo, hi]).fetchall():
                reasons.setdefault(b, {})[reason] = n
            now = _dt.datetime.now().replace(microsecond=0)
            for (i, b, source, stop_force, force_from), item in zip(files, items):
                rd = loaded_csv[i]
                q, d = counts.get(b, (0, 0))
                n_loaded = int(loaded.get(b, 0))
                run(con, "record batch", "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [b, source, item.facts.checksum, fmt.name, rd.records, n_loaded, q, d, now, version])
                # FileOutcome checks the accounting identity inside the transaction: a broken identity rolls back
                outcomes[i] = FileOutcome(source, fmt.name, "loaded", b, rd.records, n_loaded, int(q), int(d),
                                          reasons.get(b, {}), checksum=item.facts.checksum,
                                          message=f"read on the {rd.path_used} path"
                                          + (f"; force {stop_force!r} ({force_from})" if fmt is STOP_SEARCH else ""))
    finally:
        _csv.cleanup(con)
        con.execute("DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _files")
    return [outcomes[i] for i in range(len(group))]


def ingest(con: duckdb.DuckDBPyConnection, path: str | Path, *, force: str | None = None, on_unknown: str = "error",
           version: str, progress: Callable[[str, int, int], None] | None = None,
           force_exact: bool = False, group_bytes: int | None = None) -> IngestReport:
    """Load police.uk files at ``path`` (file, month folder, folder of folders, or archive zip). See module docs.

    Files are loaded in groups of consecutive files of one format (up to ``group_bytes``, default
    :data:`GROUP_BYTES`), each group in one transaction: an interrupted load leaves the store as it was before the
    group it was in, and the groups committed before it stay loaded."""
    if on_unknown not in ("error", "skip"):
        raise IngestError(f"ingest_policeuk(): The 'on_unknown' parameter must be 'error' or 'skip'. Got {on_unknown!r} instead.")
    cap = GROUP_BYTES if group_bytes is None else group_bytes
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        raise IngestError(f"ingest_policeuk(): The 'group_bytes' parameter must be a positive whole number. Got {group_bytes!r} instead.")
    sources = find_sources(path)
    # sniff every header first so crimes load before the outcomes and stops that refer to them
    planned: list[_Planned] = []
    refused: list[FileOutcome] = []
    for src in sources:
        header = _csv.header_from_bytes(src.head(_csv.HEAD_BYTES))
        fmt = detect_format(header)
        if fmt is None:
            msg = (f"ingest_policeuk(): {src.name} is not a police.uk file: its header is {header!r}. "
                   f"Expected the columns of one of {_expected_text()}. Nothing from this file was loaded.")
            if on_unknown == "error":
                raise IngestError(msg + " Nothing was loaded (headers are checked before any file loads).")
            refused.append(FileOutcome(src.name, None, "refused", message=msg))
            continue
        by_lower = {h.lower(): f for h, f in zip(fmt.header, fmt.fields)}
        planned.append(_Planned(src, fmt, [by_lower[h.strip().lower()] for h in header], src.size))
    planned.sort(key=lambda p: (p.fmt.order, p.source.name))
    groups = _plan_groups(planned, cap)
    outcomes: list[FileOutcome] = list(refused)
    seen: dict[str, tuple[int, str]] = {}
    done = 0
    # Checksums and line counts of the next group are computed in a thread while this group loads (hashlib and
    # numpy release the GIL, and DuckDB runs outside it).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="whatworks-facts") as pool:
        pending = pool.submit(_prepare, groups[0]) if groups else None
        try:
            for gi, group in enumerate(groups):
                prep = pending.result()
                pending = pool.submit(_prepare, groups[gi + 1]) if gi + 1 < len(groups) else None
                try:
                    if progress:
                        progress(group[0].source.name, done, len(planned))
                    outcomes += _load_group(con, group, prep, seen, force=force, version=version, force_exact=force_exact)
                    done += len(group)
                finally:
                    prep.stack.close()
        finally:
            if pending is not None:
                try:
                    pending.result().stack.close()
                except BaseException:
                    pass  # the load already failed with its own error; this only tidies the next group's temp files
    if progress:
        progress("", len(planned), len(planned))
    return IngestReport(tuple(outcomes), ignored=tuple(ignored_files(path)))
