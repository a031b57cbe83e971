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

import dataclasses
import datetime as _dt
import re
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
from whatworks.store.limits import DEFAULT_LIMITS, Limits, resolve
from whatworks.store import policeuk_vocab as _vocab

SOURCE_SYSTEM = "police.uk"

CRIME_TYPES = _vocab.CRIME_TYPES   # police.uk's crime types (whatworks.store.policeuk_vocab)


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


def _check_sql(fmt: Format, src: str, *, repair_dates: bool = False) -> str:
    """A SELECT over ``src`` (the file's fields) adding parsed values, ``reason`` (NULL when the row is valid) and
    ``k_hash`` (the row's natural key, hashed). The reader materialises the file once through it.

    With ``repair_dates``, a Month that is not ``YYYY-MM`` is parsed by
    :func:`whatworks.store._repair.month_repair_sql` (01/07/2018, 7/1/2018, Jul-18, 2018-7, 2018-07-01 …) and
    ``c_repaired`` marks the rows where that happened."""
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
        strict = "TRY_STRPTIME(month, '%Y-%m')::DATE"
        if repair_dates:
            from whatworks.store._repair import month_repair_sql

            month_sql = f"coalesce({strict}, ({month_repair_sql('month', 'auto')}))"
            flag = f"({strict} IS NULL AND month IS NOT NULL AND {month_sql} IS NOT NULL)"
        else:
            month_sql, flag = strict, "false"
        parsed = f"""{month_sql} AS c_month, {flag} AS c_repaired,
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


def _prepare(group: list[_Planned], limits: Limits = DEFAULT_LIMITS) -> _Prepared:
    stack = ExitStack()
    try:
        paths = [stack.enter_context(p.source.local()) for p in group]
        return _Prepared(stack, paths, [_csv.file_facts(path, limits=limits) for path in paths])
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


ON_REPUBLISHED = ("replace", "keep", "error")
_KIND_OF = {"policeuk_street": "street", "policeuk_outcomes": "outcomes", "policeuk_stop_search": "stop_search"}
# At most this many bad values of a column are passed to the failed-file judge as examples.
_SAMPLES = 5


def _file_keys(con, fmt: Format, stop_forces: dict[int, str | None]) -> dict[int, set[tuple[str | None, _dt.date]]]:
    """The (force, month) pairs each file of the group holds among its valid rows."""
    if fmt is STOP_SEARCH:
        rows = con.execute("""SELECT DISTINCT file_index, NULL, date_trunc('month', timezone('Europe/London', c_ts))::DATE
                              FROM _rows WHERE reason IS NULL""").fetchall()
        return _group_keys((i, stop_forces.get(i), m) for i, _, m in rows)
    rows = con.execute("SELECT DISTINCT file_index, falls_within, c_month FROM _rows WHERE reason IS NULL").fetchall()
    return _group_keys(rows)


def _group_keys(rows) -> dict[int, set]:
    out: dict[int, set] = {}
    for i, f, m in rows:
        out.setdefault(int(i), set()).add((f, m))
    return out


_NAMED = re.compile(r"^(?P<month>\d{4}-\d{2})-(?P<slug>.+)-(?P<kind>street|outcomes|stop-and-search)\.csv$", re.IGNORECASE)


def _keys_from_name(con, fmt: Format, source: Source, stop_force: str | None) -> set:
    """The (force, month) of a file with no valid row (a republished month whose rows were all withdrawn), from its
    police.uk name ``YYYY-MM-<force>-<kind>.csv``: the force of the current batch of the same name and kind, or
    for stop and search the force it was given. Empty when the name says nothing."""
    m = _NAMED.match(source.basename)
    if not m:
        return set()
    month = _dt.date(int(m.group("month")[:4]), int(m.group("month")[5:]), 1)
    if fmt is STOP_SEARCH and stop_force:
        return {(stop_force, month)}
    rows = con.execute("""SELECT DISTINCT bc.force FROM batch_coverage bc JOIN batches b USING (batch_id)
        WHERE bc.source_system = ? AND bc.kind = ? AND bc.month = ? AND bc.batch_id NOT IN (SELECT batch_id FROM superseded)
          AND (b.source_file = ? OR b.source_file LIKE ? OR b.source_file LIKE ?)""",
                       [SOURCE_SYSTEM, _KIND_OF[fmt.name], month, source.basename, f"%/{source.basename}",
                        f"%!{source.basename}"]).fetchall()
    return {(r[0], month) for r in rows}


def _invalid_counts(con, fmt: Format) -> dict[int, tuple[int, dict[str, int], dict[str, list[str]]]]:
    """Per file: invalid rows (unsplittable + rule-breaking), their reasons, and the first bad values of each
    checked column (for the failed-file judge)."""
    out: dict[int, tuple[int, dict[str, int], dict[str, list[str]]]] = {}
    rows = con.execute("""SELECT file_index, reason, count(*) FROM (
                              SELECT file_index, reason FROM _rows WHERE reason IS NOT NULL
                              UNION ALL SELECT file_index, reason FROM _rejects) GROUP BY ALL""").fetchall()
    for i, reason, n in rows:
        tot, rs, _ = out.setdefault(int(i), (0, {}, {}))
        rs[reason] = int(n)
        out[int(i)] = (tot + int(n), rs, out[int(i)][2])
    if out:
        col, header = ("date", "Date") if fmt is STOP_SEARCH else ("month", "Month")
        for i, vals in con.execute(f"""SELECT file_index, list({col} ORDER BY source_row)[1:{_SAMPLES}] FROM _rows
                                       WHERE reason IS NOT NULL AND reason LIKE '%{header}%' GROUP BY ALL""").fetchall():
            out[int(i)][2][header] = [str(v) for v in vals]
        for i, vals in con.execute(f"""SELECT file_index, list(raw ORDER BY source_row)[1:{_SAMPLES}] FROM _rejects
                                       GROUP BY ALL""").fetchall():
            out[int(i)][2]["raw"] = [str(v) for v in vals]
    return out


def _judge(rows_read: int, invalid: int, reasons: dict[str, int], samples: dict[str, list[str]]):
    """The failed-file verdict of :mod:`whatworks.store._repair` (None: the file is fine)."""
    from whatworks.store._repair import judge_file

    return judge_file(rows_read, invalid, reasons, samples)


def _prior_versions(con, fmt: Format, keys: dict[int, set]) -> dict[int, set[int]]:
    """Per file: the current (not superseded) police.uk batches of the same kind holding any of its (force, month)."""
    rows = [(i, f, m) for i, ks in keys.items() for f, m in ks]
    if not rows:
        return {}
    con.register("_keys_arrow", pa.table({"file_index": pa.array([r[0] for r in rows], pa.int32()),
                                          "force": pa.array([r[1] for r in rows], pa.string()),
                                          "month": pa.array([r[2] for r in rows], pa.date32())}))
    try:
        found = con.execute("""SELECT DISTINCT k.file_index, bc.batch_id FROM _keys_arrow k
            JOIN batch_coverage bc ON bc.force IS NOT DISTINCT FROM k.force AND bc.month = k.month
            WHERE bc.source_system = ? AND bc.kind = ? AND bc.batch_id NOT IN (SELECT batch_id FROM superseded)""",
                            [SOURCE_SYSTEM, _KIND_OF[fmt.name]]).fetchall()
    finally:
        con.unregister("_keys_arrow")
    out: dict[int, set[int]] = {}
    for i, b in found:
        out.setdefault(int(i), set()).add(int(b))
    return out


def _batch_keys(con, batch_ids: set[int]) -> dict[int, set]:
    ids = ", ".join(str(int(b)) for b in batch_ids)
    out: dict[int, set] = {}
    for b, f, m, src in con.execute(f"""SELECT bc.batch_id, bc.force, bc.month, b.source_file FROM batch_coverage bc
                                        JOIN batches b USING (batch_id) WHERE bc.batch_id IN ({ids})""").fetchall():
        out.setdefault(int(b), set()).add((f, m))
    return out


def _describe_keys(keys) -> str:
    shown = sorted(keys, key=lambda k: (str(k[0]), k[1]))
    text = ", ".join(f"{f or '?'} {m:%Y-%m}" for f, m in shown[:4])
    return text + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


def _changes(con, fmt: Format, replace: dict[int, set[int]]) -> dict[int, dict[str, int]]:
    """Row differences between each replacing file (valid rows in ``_rows``) and the batches it replaces."""
    pairs = [(i, b) for i, bs in replace.items() for b in bs]
    con.execute("CREATE OR REPLACE TEMP TABLE _replace (file_index INTEGER, old_batch INTEGER)")
    con.executemany("INSERT INTO _replace VALUES (?, ?)", pairs)
    out = {i: {"rows_before": 0} for i in replace}
    for i, n, asb in con.execute("""SELECT r.file_index, count(*), count(*) FILTER (WHERE e.kind = 'asb')
                                    FROM events e JOIN _replace r ON e.batch_id = r.old_batch GROUP BY ALL""").fetchall():
        out[int(i)]["rows_before"] = int(n)
        if fmt is STREET:
            out[int(i)]["asb_before"] = int(asb)
    if fmt is STOP_SEARCH:
        return out
    new_outcome = "last_outcome_category" if fmt is STREET else "outcome_type"
    old_kinds = "('crime', 'asb')" if fmt is STREET else "('outcome')"
    for i, added, removed, changed in con.execute(f"""
            WITH o AS (SELECT r.file_index, e.reference AS id, any_value(e.outcome) AS outcome
                       FROM events e JOIN _replace r ON e.batch_id = r.old_batch
                       WHERE e.reference IS NOT NULL AND e.kind IN {old_kinds} GROUP BY ALL),
                 n AS (SELECT file_index, crime_id AS id, any_value({new_outcome}) AS outcome FROM _rows
                       WHERE reason IS NULL AND crime_id IS NOT NULL AND file_index IN (SELECT file_index FROM _replace)
                       GROUP BY ALL)
            SELECT coalesce(o.file_index, n.file_index), count(*) FILTER (WHERE o.id IS NULL),
                   count(*) FILTER (WHERE n.id IS NULL),
                   count(*) FILTER (WHERE o.id IS NOT NULL AND n.id IS NOT NULL AND o.outcome IS DISTINCT FROM n.outcome)
            FROM o FULL OUTER JOIN n ON o.file_index = n.file_index AND o.id = n.id GROUP BY 1""").fetchall():
        out[int(i)].update(rows_added=int(added), rows_removed=int(removed), outcome_changed=int(changed))
    for d in out.values():
        d.setdefault("rows_added", 0)
        d.setdefault("rows_removed", 0)
        d.setdefault("outcome_changed", 0)
    return out


def _supersede(con, replace: dict[int, set[int]], new_batch: dict[int, int]) -> None:
    """Set the replaced batches aside: their events move to ``events_superseded`` (so every reader of ``events``,
    the duplicate search and the coverage see the current version only) and ``superseded`` records by whom."""
    old = sorted({b for bs in replace.values() for b in bs})
    if not old:
        return
    ids = ", ".join(map(str, old))
    run(con, "set superseded events aside", f"INSERT INTO events_superseded SELECT * FROM events WHERE batch_id IN ({ids})")
    run(con, "remove superseded events", f"DELETE FROM events WHERE batch_id IN ({ids})")
    now = _dt.datetime.now().replace(microsecond=0)
    con.executemany("INSERT INTO superseded VALUES (?, ?, ?)",
                    [(b, new_batch[i], now) for i, bs in replace.items() for b in sorted(bs)])


def _load_group(con, group: list[_Planned], prep: _Prepared, seen: dict[str, tuple[int, str]], *,
                force: str | None, version: str, force_exact: bool, on_republished: str = "replace",
                repair_dates: bool = False, limits: Limits = DEFAULT_LIMITS) -> tuple[list[FileOutcome | None], list[int]]:
    """Load one group of files in one transaction. Returns an outcome per file, in order (None for a file
    deferred to a later group because an earlier file of this group holds the same force-month), and the
    positions of the deferred files."""
    fmt = group[0].fmt
    kind = _KIND_OF[fmt.name]
    outcomes: dict[int, FileOutcome | None] = {}
    items: list[_csv.GroupItem] = []
    stop_forces: dict[int, str | None] = {}
    force_from: dict[int, str] = {}
    same_bytes: dict[str, int] = {}   # checksum -> first file of this group with those bytes
    twins: dict[int, int] = {}        # a later file with the same bytes -> that first file
    for i, (p, path, facts) in enumerate(zip(group, prep.paths, prep.facts)):
        if facts.checksum in seen:
            first_batch, first_name = seen[facts.checksum]
            outcomes[i] = FileOutcome(p.source.name, fmt.name, "already_loaded", first_batch, checksum=facts.checksum,
                                      message=f"same bytes as batch {first_batch} ({first_name}, loaded in this run); nothing done")
            continue
        prior = _batch.already_loaded(con, facts.checksum)
        if prior:
            later = con.execute("SELECT superseded_by FROM superseded WHERE batch_id = ?", [prior[0]]).fetchone()
            note = (f" (an earlier version: batch {later[0]} has replaced it and stays current; store.unload({later[0]}) "
                    "brings this one back)") if later else ""
            outcomes[i] = FileOutcome(p.source.name, fmt.name, "already_loaded", prior[0], checksum=facts.checksum,
                                      message=f"same bytes as batch {prior[0]} ({prior[1]}, loaded {prior[2]}){note}; nothing done")
            continue
        if facts.checksum in same_bytes:
            twins[i] = same_bytes[facts.checksum]
            continue
        same_bytes[facts.checksum] = i
        if fmt is STOP_SEARCH:
            stop_forces[i], force_from[i] = _stop_force(con, p.source, force)
        items.append(_csv.GroupItem(i, path, facts))
    if not items:
        return [outcomes[i] for i in range(len(group))], []
    deferred: list[int] = []
    try:
        _load_items(con, group, prep, items, outcomes, deferred, seen, stop_forces, force_from, fmt, kind,
                    version=version, force_exact=force_exact, on_republished=on_republished, repair_dates=repair_dates,
                    limits=limits)
    finally:
        for i, first in twins.items():  # same bytes as a file earlier in this group: that file's fate, nothing done
            got = outcomes.get(first)
            if got is not None and got.status in ("loaded", "replaced"):
                outcomes[i] = FileOutcome(group[i].source.name, fmt.name, "already_loaded", got.batch_id,
                                          checksum=got.checksum, message=f"same bytes as batch {got.batch_id} "
                                          f"({got.source}, loaded in this run); nothing done")
            elif got is not None:
                outcomes[i] = dataclasses.replace(got, source=group[i].source.name,
                                                  message=f"same bytes as {got.source}: " + got.message)
            else:  # the first copy waits for a later group: so does this one
                deferred.append(i)
        deferred.sort()
    return [outcomes.get(i) for i in range(len(group))], deferred


def _load_items(con, group, prep, items, outcomes, deferred, seen, stop_forces, force_from, fmt, kind, *,
                version, force_exact, on_republished, repair_dates, limits=DEFAULT_LIMITS):
    """The body of :func:`_load_group` for the files that need reading (``items``); fills ``outcomes``."""
    # Reading and checking fill temp tables only, so they run before the transaction opens (temp tables filled
    # inside a transaction cost more); everything that touches the store happens inside it.
    try:
        loaded_csv = _csv.load_group(con, items, group[0].columns, force_exact=force_exact, limits=limits,
                                     wrap=lambda src: _check_sql(fmt, src, repair_dates=repair_dates))
        # 1. files (nearly) all invalid fail whole: nothing of them is loaded or quarantined
        invalid = _invalid_counts(con, fmt)
        dropped: list[int] = []
        for it in items:
            n_bad, rs, samples = invalid.get(it.index, (0, {}, {}))
            verdict = _judge(loaded_csv[it.index].records, n_bad, rs, samples) if n_bad else None
            if verdict is not None and verdict.failed:
                outcomes[it.index] = FileOutcome(
                    group[it.index].source.name, fmt.name, "failed", None, loaded_csv[it.index].records,
                    reasons=rs, checksum=it.facts.checksum, hint=f"{verdict.reason} {verdict.hint}".strip(),
                    message=f"{n_bad:,} of {loaded_csv[it.index].records:,} rows invalid: the file was rolled back, "
                            "nothing of it is in the store")
                dropped.append(it.index)
        # 2. versions: a file for force-months this group already holds waits for the next group; one for
        #    force-months the store holds replaces (or keeps, or refuses) the earlier version
        keys = _file_keys(con, fmt, stop_forces)
        # a file with no valid row is known by its name's force-month: the same keys decide both whether it waits
        # and which version it replaces (two files of one group replacing one batch broke `superseded`'s key)
        eff = {it.index: keys.get(it.index, set()) or _keys_from_name(con, fmt, group[it.index].source,
                                                                      stop_forces.get(it.index))
               for it in items if it.index not in dropped}
        held: set = set()
        for it in items:
            if it.index in dropped:
                continue
            ks = eff[it.index]
            if deferred or ks & held:  # this file and every later one wait, so batches keep the files' order
                deferred.append(it.index)
                dropped.append(it.index)
            held |= ks
        live = {i: ks for i, ks in eff.items() if i not in dropped}
        prior = _prior_versions(con, fmt, live)
        replace: dict[int, set[int]] = {}
        if prior:
            old_keys = _batch_keys(con, {b for bs in prior.values() for b in bs})
            for i, bs in sorted(prior.items()):
                name = group[i].source.name
                olds = ", ".join(f"batch {b}" for b in sorted(bs))
                if on_republished == "error":
                    raise IngestError(
                        f"ingest_policeuk(): {name} holds {_describe_keys(live[i])} ({kind}), already in the store "
                        f"({olds}). Expected new months only (on_republished='error'). Nothing of this file was loaded. "
                        "Hint: on_republished='replace' loads it as the new version, 'keep' skips it.")
                wider = {b: old_keys[b] - live[i] for b in bs if old_keys.get(b, set()) - live[i]}
                if on_republished == "keep" or wider:
                    if wider:
                        b, extra = next(iter(sorted(wider.items())))
                        msg = (f"refused: it would replace {olds}, but batch {b} also holds {_describe_keys(extra)}, "
                               "which this file does not; a version replaces whole files. Nothing loaded. Hint: load "
                               "files of one force-month each (as police.uk publishes them), or unload batch "
                               f"{b} first (store.unload({b})).")
                        status = "refused"
                    else:
                        msg = (f"republished {_describe_keys(live[i])} ({kind}) already in the store as {olds}: "
                               "earlier version kept (on_republished='keep'); nothing loaded")
                        status = "kept"
                    outcomes[i] = FileOutcome(name, fmt.name, status, None, checksum=prep.facts[i].checksum, message=msg)
                    dropped.append(i)
                else:
                    replace[i] = bs
        _csv.drop_files(con, dropped)
        active = [it for it in items if it.index not in dropped]
        if not active:
            return
        batch_id = _batch.next_batch_id(con)
        new_batch = {it.index: batch_id + k for k, it in enumerate(active)}
        files = [(it.index, new_batch[it.index], group[it.index].source.name, stop_forces.get(it.index)) for it in active]
        con.execute("CREATE OR REPLACE TEMP TABLE _files (file_index INTEGER, batch_id INTEGER, source VARCHAR, force VARCHAR)")
        con.executemany("INSERT INTO _files VALUES (?, ?, ?, ?)", files)
        _stage_coordinates(con)
        changes = _changes(con, fmt, replace) if replace else {}
        repaired = (dict(con.execute("SELECT file_index, count(*) FROM _rows WHERE c_repaired AND reason IS NULL GROUP BY ALL")
                         .fetchall()) if repair_dates and fmt is not STOP_SEARCH else {})
        with _batch.transaction(con):
            _supersede(con, replace, new_batch)
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
            run(con, "record coverage", """INSERT INTO batch_coverage
                SELECT batch_id, source_system, force, month, ?, count(*) FROM events
                WHERE batch_id BETWEEN ? AND ? GROUP BY ALL""", [kind, lo, hi])
            # a force-month the file names but holds no loaded row of (every row withdrawn, or duplicates) is
            # still covered, with 0 rows: a month published empty is a month with nothing, not a month missing
            have = {(b, f, m) for b, f, m in con.execute(
                "SELECT batch_id, force, month FROM batch_coverage WHERE batch_id BETWEEN ? AND ?", [lo, hi]).fetchall()}
            empty = [(new_batch[i], SOURCE_SYSTEM, f, m, kind, 0) for i in new_batch for f, m in live.get(i, ())
                     if (new_batch[i], f, m) not in have]
            if empty:
                con.executemany("INSERT INTO batch_coverage VALUES (?, ?, ?, ?, ?, ?)", empty)
            loaded = dict(con.execute("SELECT batch_id, count(*) FROM events WHERE batch_id BETWEEN ? AND ? GROUP BY ALL",
                                      [lo, hi]).fetchall())
            if sum(loaded.values()) != inserted:
                raise AssertionError(f"{sum(loaded.values())} events found for batches {lo}-{hi}, {inserted} inserted")
            unmatched = {}
            if fmt is OUTCOMES:
                unmatched = dict(con.execute(f"""SELECT o.batch_id, count(*) FROM events o
                    WHERE o.batch_id BETWEEN ? AND ? AND NOT EXISTS (
                      SELECT 1 FROM events c WHERE c.reference = o.reference AND c.kind = 'crime'
                        AND c.source_system = '{SOURCE_SYSTEM}')
                    GROUP BY ALL""", [lo, hi]).fetchall())
            counts = {b: (q, d) for b, q, d in con.execute(
                """SELECT batch_id, count(*) FILTER (WHERE category = 'invalid'), count(*) FILTER (WHERE category = 'duplicate')
                   FROM quarantine WHERE batch_id BETWEEN ? AND ? GROUP BY ALL""", [lo, hi]).fetchall()}
            reasons: dict[int, dict[str, int]] = {}
            for b, reason, n in con.execute(
                    """SELECT batch_id, reason, count(*) FROM quarantine WHERE batch_id BETWEEN ? AND ?
                       GROUP BY ALL ORDER BY batch_id, count(*) DESC, reason""", [lo, hi]).fetchall():
                reasons.setdefault(b, {})[reason] = n
            now = _dt.datetime.now().replace(microsecond=0)
            for (i, b, source, stop_force), item in zip(files, active):
                rd = loaded_csv[i]
                q, d = counts.get(b, (0, 0))
                n_loaded = int(loaded.get(b, 0))
                run(con, "record batch", "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [b, source, item.facts.checksum, fmt.name, rd.records, n_loaded, q, d, now, version])
                note = None
                if i in repaired:
                    note = (f"{int(repaired[i]):,} Month value(s) not in YYYY-MM form (a spreadsheet's date format) "
                            "read as months by repair_dates=True")
                    run(con, "record repair note", "INSERT INTO batch_notes VALUES (?, 'repaired', ?)", [b, note])
                msg = f"read on the {rd.path_used} path"
                if fmt is STOP_SEARCH:
                    msg += f"; force {stop_force!r} ({force_from[i]})"
                ch = {}
                if i in replace:
                    ch = dict(changes.get(i, {}), rows_after=n_loaded)
                    if fmt is STREET:
                        ch["asb_after"] = int(con.execute("SELECT count(*) FROM events WHERE batch_id = ? AND kind = 'asb'",
                                                          [b]).fetchone()[0])
                    msg = (f"new version of {_describe_keys(live[i])} ({kind}), replacing "
                           + ", ".join(f"batch {x}" for x in sorted(replace[i]))
                           + f" (kept aside: store.unload({b}) restores it): {ch['rows_before']:,} rows before, "
                           f"{n_loaded:,} after" + (f", {ch['rows_added']:,} added, {ch['rows_removed']:,} removed, "
                                                   f"{ch['outcome_changed']:,} outcome(s) changed" if fmt is not STOP_SEARCH else "")
                           + "; " + msg)
                n_unmatched = int(unmatched.get(b, 0)) if fmt is OUTCOMES else None
                if n_unmatched:
                    msg += f"; {n_unmatched:,} outcome(s) name a Crime ID not in the store"
                # FileOutcome checks the accounting identity inside the transaction: a broken identity rolls back
                outcomes[i] = FileOutcome(source, fmt.name, "replaced" if i in replace else "loaded", b, rd.records,
                                          n_loaded, int(q), int(d), reasons.get(b, {}), checksum=item.facts.checksum,
                                          message=msg, replaced=tuple(sorted(replace.get(i, ()))), changes=ch,
                                          unmatched_outcomes=n_unmatched, repaired=note)
        for i, b, source, _ in files:
            seen[prep.facts[i].checksum] = (b, source)
    finally:
        _csv.cleanup(con)
        con.execute("DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _files; DROP TABLE IF EXISTS _replace")


def _load_with_deferrals(con, group: list[_Planned], prep: _Prepared, seen, **kw) -> list[FileOutcome]:
    """Load a group; files deferred because an earlier file of the group holds the same force-month (two releases
    of one month in one call) load afterwards, in order, as their own groups, so that the later release is the
    current version, as loading the files one at a time would leave it."""
    got, deferred = _load_group(con, group, prep, seen, **kw)
    while deferred:
        sub = [group[i] for i in deferred]
        sub_prep = _Prepared(ExitStack(), [prep.paths[i] for i in deferred], [prep.facts[i] for i in deferred])
        more, again = _load_group(con, sub, sub_prep, seen, **kw)
        for k, i in enumerate(deferred):
            if more[k] is not None:
                got[i] = more[k]
        deferred = [deferred[k] for k in again]
    return got


def ingest(con: duckdb.DuckDBPyConnection, path: str | Path, *, force: str | None = None, on_unknown: str = "error",
           version: str, progress: Callable[[str, int, int], None] | None = None,
           force_exact: bool = False, group_bytes: int | None = None, on_republished: str = "replace",
           repair_dates: bool = False, limits: Limits | None = None) -> IngestReport:
    """Load police.uk files at ``path`` (file, month folder, folder of folders, or archive zip). See module docs.

    Files are loaded in groups of consecutive files of one format (up to ``group_bytes``, default
    :data:`GROUP_BYTES`), each group in one transaction: an interrupted load leaves the store as it was before the
    group it was in, and the groups committed before it stay loaded.

    ``limits`` (:class:`whatworks.store.limits.Limits`, default ``DEFAULT_LIMITS``) bounds what is read: a zip member
    over its size or compression-ratio limit is refused before extraction (raised, or listed as refused with
    ``on_unknown="skip"``); a line over a line limit is quarantined with its real length or field count."""
    limits = resolve(limits, "ingest_policeuk()")
    if on_unknown not in ("error", "skip"):
        raise IngestError(f"ingest_policeuk(): The 'on_unknown' parameter must be 'error' or 'skip'. Got {on_unknown!r} instead.")
    if on_republished not in ON_REPUBLISHED:
        raise IngestError(f"ingest_policeuk(): The 'on_republished' parameter must be one of {list(ON_REPUBLISHED)}. "
                          f"Got {on_republished!r} instead.")
    if not isinstance(repair_dates, bool):
        raise IngestError(f"ingest_policeuk(): The 'repair_dates' parameter must be True or False. Got {repair_dates!r} instead.")
    cap = GROUP_BYTES if group_bytes is None else group_bytes
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        raise IngestError(f"ingest_policeuk(): The 'group_bytes' parameter must be a positive whole number. Got {group_bytes!r} instead.")
    sources = find_sources(path, limits=limits)
    # sniff every header first so crimes load before the outcomes and stops that refer to them
    planned: list[_Planned] = []
    refused: list[FileOutcome] = []
    for src in sources:
        if src.refusal:   # a zip member over the limits: never extracted
            if on_unknown == "error":
                raise IngestError(src.refusal + " Nothing was loaded (files are checked before any loads).")
            refused.append(FileOutcome(src.name, None, "refused", message=src.refusal))
            continue
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
        pending = pool.submit(_prepare, groups[0], limits) if groups else None
        try:
            for gi, group in enumerate(groups):
                prep = pending.result()
                pending = pool.submit(_prepare, groups[gi + 1], limits) if gi + 1 < len(groups) else None
                try:
                    if progress:
                        progress(group[0].source.name, done, len(planned))
                    outcomes += _load_with_deferrals(con, group, prep, seen, force=force, version=version,
                                                     force_exact=force_exact, on_republished=on_republished,
                                                     repair_dates=repair_dates, limits=limits)
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
    return IngestReport(tuple(outcomes), ignored=tuple(ignored_files(path, limits=limits)))
