"""Read a force's own records-management (RMS) export into the canonical store through a mapping file.

The mapping (:mod:`whatworks.store.mapping`, docs/records-mapping.md) says which files hold which table, which of
their columns is which canonical column, how dates are written and how codes translate. Every file is matched
to one ``[[files]]`` block by its name, its header is checked for every mapped column, and it loads in one
transaction; every row ends up loaded, quarantined (with every reason that applies, the file and the row
number) or skipped as a duplicate: ``rows_read == rows_loaded + rows_quarantined + duplicates_skipped``.

Row rules (a row failing any goes to the quarantine with all its reasons, joined by ``"; "``):

* values are trimmed; a blank value is missing. Codes are translated first (``[files.codes.<column>]``; values
  not listed pass through unchanged).
* a required column (per table, docs/records-mapping.md) must not be missing;
* dates (``occurred``, ``dob``) must match one of the block's formats, tried in order (DuckDB ``strptime``); a
  format with a UTC offset (``%z``) is converted to UK local time. ``time_precision`` is ``minute`` when the
  matching format reads a time, ``day`` when it reads a day, else ``month``;
* ``crime_type`` must be one of the 14 police.uk types, ``role`` a person role, ``kind`` crime/asb/incident;
* coordinates: both blank is valid (no mappable location); otherwise both must parse, must not be (0, 0), and
  must lie in the box around Great Britain and Northern Ireland (:mod:`whatworks.store.geo`: lon/lat in degrees,
  x/y in British National Grid metres). The other pair is computed (``geo.to_bng`` / ``geo.from_bng``);
* yes/no columns accept true/false, yes/no, y/n, 1/0 in any case.

Duplicates (kept in the quarantine under category ``duplicate`` with where the first copy is):

* a crime, stop or arrest whose ``reference`` is already in the store for the same ``source_system`` (any
  event kind except police.uk-style outcomes), or earlier in the same file. Stops without a reference have no
  key: only whole files are recognised as repeats (by checksum);
* a person whose ``person_id`` is already in the store for the same ``source_system``, or earlier in the file;
* a role row whose (``reference``, ``person_id``, ``role``) is already there or earlier in the file.

Identifiers follow :mod:`whatworks.store.policeuk`: ``event_id = (batch_id << 32) + source_row``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from whatworks.errors import IngestError
from whatworks.store import _batch, _csv
from whatworks.store._sources import Source, find_sources, ignored_files
from whatworks.store._sql import quote_ident, quote_literal, run
from whatworks.store.geo import BNG_X_RANGE, BNG_Y_RANGE, GB_LAT_RANGE, GB_LON_RANGE, from_bng, to_bng
from whatworks.store.ingest_report import FileOutcome, IngestReport
from whatworks.store.limits import DEFAULT_LIMITS, Limits, resolve
from whatworks.store.mapping import (
    BOOLEAN_COLUMNS, DATE_COLUMNS, ENUM_NAMES, ENUMS, FALSE_WORDS, NUMBER_COLUMNS, TRUE_WORDS, FileSpec, Mapping,
    format_precision, format_zone,
)
from whatworks.store.schema import EVENT_COLUMNS, EVENT_PERSON_COLUMNS, PERSON_COLUMNS, STOP_COLUMNS

EVENT_TABLES = ("crimes", "stops", "arrests")
_KIND = {"stops": "stop_search", "arrests": "arrest"}
_AUTO_ROLE = {"stops": "searched", "arrests": "arrestee"}
LOCAL_TZ = "Europe/London"


@dataclass(frozen=True)
class _Plan:
    """One file matched to one block, with the position of each mapped column in its header."""

    source: Source
    spec: FileSpec
    header: tuple[str, ...]
    positions: dict[str, int]     # canonical column -> field index in the file

    @property
    def fmt(self) -> str:
        return f"records:{self.spec.table}"


# ---------------------------------------------------------------------------------------------- matching files


def _resolve_header(spec: FileSpec, header: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """(canonical -> index, missing export columns, export columns that appear more than once)."""
    where: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        where.setdefault(h.strip().lower(), []).append(i)
    positions, missing, repeated = {}, [], []
    for col, src in spec.columns.items():
        hits = where.get(src.strip().lower(), [])
        if not hits:
            missing.append(src)
        elif len(hits) > 1:
            repeated.append(src)
        else:
            positions[col] = hits[0]
    return positions, missing, repeated


def _plan(m: Mapping, src: Source) -> tuple[_Plan | None, str | None]:
    """Match a file to its block and check its header; (plan, None) or (None, why it cannot be read)."""
    specs = m.match(src.basename)
    if len(specs) > 1:
        raise IngestError(
            f"ingest_records(): {src.name} matches more than one [[files]] block of the mapping {m.origin} "
            f"(patterns {[s.pattern for s in specs]}), so whatworks cannot tell which table it holds. "
            "Nothing was loaded. Hint: make the patterns distinct, e.g. 'crimes_*.csv' and 'crime_victims_*.csv'.")
    if not specs:
        return None, (f"ingest_records(): {src.name} matches no [[files]] pattern of the mapping {m.origin}. "
                      f"Expected a file name matching one of {m.patterns()}. Nothing from this file was loaded. "
                      "Hint: add a [[files]] block for it, or pass on_unknown='skip' to leave such files out.")
    spec = specs[0]
    header = _csv.header_from_bytes(src.head(_csv.HEAD_BYTES), encoding=m.encoding_of(spec), delimiter=m.delimiter_of(spec))
    positions, missing, repeated = _resolve_header(spec, header)
    if missing or repeated:
        what = []
        if missing:
            what.append(f"its header lacks the mapped column(s) {missing}")
        if repeated:
            what.append(f"the mapped column(s) {repeated} appear more than once in its header")
        delim = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(m.delimiter_of(spec), repr(m.delimiter_of(spec)))
        if any("\ufffd" in h or "\x00" in h for h in header):
            # undecodable bytes (or the NULs of UTF-16) in the header: the columns are probably right, the encoding is not
            hint = (f"the header is not {m.encoding_of(spec)} text: set `encoding` for this block in {m.origin} "
                    "('utf-8', 'cp1252' or 'latin-1'), or save the export as UTF-8.")
        else:
            hint = (f"correct [files.columns] in {m.origin} (headers match ignoring case and surrounding spaces; "
                    f"the delimiter is {delim}).")
        return None, (f"ingest_records(): {src.name} (table {spec.table!r}, pattern {spec.pattern!r}): " + " and ".join(what)
                      + f". Its header is {_shown_header(m, header)}. Nothing from this file was loaded. Hint: {hint}")
    return _Plan(src, spec, tuple(header), positions), None


def _shape(text: str) -> str:
    """A value masked by its shape: letters as A/a, digits as 9, other characters kept."""
    return "".join("A" if c.isalpha() and c.isupper() else "a" if c.isalpha() else "9" if c.isdigit() else c
                   for c in text)


def _shown_header(m: Mapping, header: list[str]) -> str:
    """A refused file's header as a message may show it. An RMS file whose first line is not a header (a headerless
    export) would show its first record, a person's details: so fields that are not a column name the mapping uses
    are masked by shape (``Jameson`` -> ``Aaaaaaa``, ``01/02/1990`` -> ``99/99/9999``), and only 30 are shown."""
    known = {src.strip().lower() for spec in m.files for src in spec.columns.values()}
    shown = [h if h.strip().lower() in known else _shape(h) for h in header[:30]]
    masked = sum(h.strip().lower() not in known for h in header[:30])
    text = repr(shown)
    if masked:
        text += (f" ({masked} field(s) that are no column name of the mapping are shown by shape only, A/a = letter, "
                 "9 = digit, in case the first line is a record, not a header)")
    return text


# ---------------------------------------------------------------------------------------------- SQL building


def _label(spec: FileSpec, col: str) -> str:
    """How a canonical column is named in quarantine reasons: ``crime_type (column 'Offence')``."""
    if col in spec.columns:
        return f"{col} (column {spec.columns[col]!r})"
    return f"{col} (constant)"


def _norm_sql(plan: _Plan, provided: dict[str, str | None]) -> str:
    """SQL creating ``_norm``: source_row and one trimmed, translated VARCHAR column per canonical column."""
    spec = plan.spec
    selects, joins = ["r.source_row"], []
    for col, const in provided.items():
        if const is not None:
            selects.append(f"{quote_literal(const)}::VARCHAR AS {quote_ident(col)}")
            continue
        raw = f"nullif(trim(r.c{plan.positions[col]}), '')"
        if col in spec.codes:
            alias = f"k_{col}"
            joins.append(f"LEFT JOIN (SELECT src, dst FROM _codes WHERE col = {quote_literal(col)}) {alias} "
                         f"ON {alias}.src = {raw}")
            selects.append(f"CASE WHEN {alias}.src IS NOT NULL THEN nullif({alias}.dst, '') ELSE {raw} END AS {quote_ident(col)}")
        else:
            selects.append(f"{raw} AS {quote_ident(col)}")
    return f"CREATE TEMP TABLE _norm AS SELECT {', '.join(selects)} FROM _rows r {' '.join(joins)}"


def _date_parts(spec: FileSpec, col: str) -> tuple[list[str], str, str]:
    """(per-format parse expressions, the coalesced value, the precision CASE)."""
    fmts = spec.date_formats(col)
    parts = []
    for f in fmts:
        e = f"try_strptime({quote_ident(col)}, {quote_literal(f)})"
        zone = format_zone(f)
        if zone == "utc":
            e = f"timezone('UTC', {e})"
        if zone is not None:
            e = f"timezone({quote_literal(LOCAL_TZ)}, {e})"
        parts.append(f"({e})::TIMESTAMP")
    value = f"coalesce({', '.join(f'_p_{col}_{i}' for i in range(len(fmts)))})"
    prec = "CASE " + " ".join(f"WHEN _p_{col}_{i} IS NOT NULL THEN {quote_literal(format_precision(f))}"
                              for i, f in enumerate(fmts)) + " END"
    return parts, value, prec


def _coord_rule(spec: FileSpec, a: str, b: str) -> str:
    if a == "x":
        (lo, hi), (la, ha), unit = BNG_X_RANGE, BNG_Y_RANGE, "x/y in British National Grid metres"
    else:
        (lo, hi), (la, ha), unit = GB_LON_RANGE, GB_LAT_RANGE, "lon/lat in degrees"
    names = f"{a}/{b}" + (f" (columns {spec.columns[a]!r}/{spec.columns[b]!r})" if a in spec.columns else " (constants)")
    return f"""CASE
      WHEN {a} IS NULL AND {b} IS NULL THEN NULL
      WHEN {a} IS NULL OR {b} IS NULL THEN {quote_literal('only one of ' + names + ' given')}
      WHEN c_{a} IS NULL OR c_{b} IS NULL OR NOT isfinite(c_{a}) OR NOT isfinite(c_{b})
        THEN {quote_literal('unparseable ' + names)}
      WHEN c_{a} = 0 AND c_{b} = 0 THEN 'coordinates at (0, 0)'
      WHEN c_{a} NOT BETWEEN {lo} AND {hi} OR c_{b} NOT BETWEEN {la} AND {ha}
        THEN {quote_literal('coordinates outside Great Britain and Northern Ireland (' + unit + ')')}
    END"""


def _check_sql(plan: _Plan, provided: dict[str, str | None]) -> str:
    """SQL creating ``_checked``: ``_norm`` plus parsed values (``c_<col>``) and ``reason`` (NULL when valid)."""
    spec = plan.spec
    kind = spec.kind
    inner, outer, rules = [], [], []
    for col in provided:
        lab = _label(spec, col)
        required = col in kind.required
        if required:
            rules.append(f"CASE WHEN {col} IS NULL THEN {quote_literal('missing ' + lab)} END")
        if col in DATE_COLUMNS:
            parts, value, prec = _date_parts(spec, col)
            inner += [f"{p} AS _p_{col}_{i}" for i, p in enumerate(parts)]
            outer += [f"{value} AS c_{col}", f"{prec} AS c_{col}_precision"]
            expected = " or ".join(spec.date_formats(col))
            rules.append(f"CASE WHEN {col} IS NOT NULL AND c_{col} IS NULL "
                         f"THEN {quote_literal(f'unparseable {lab}: expected {expected}')} END")
        elif col in NUMBER_COLUMNS:
            inner.append(f"TRY_CAST({col} AS DOUBLE) AS c_{col}")
        elif col in BOOLEAN_COLUMNS:
            t = ", ".join(quote_literal(w) for w in TRUE_WORDS)
            f = ", ".join(quote_literal(w) for w in FALSE_WORDS)
            inner.append(f"CASE WHEN lower({col}) IN ({t}) THEN true WHEN lower({col}) IN ({f}) THEN false END AS c_{col}")
            rules.append(f"CASE WHEN {col} IS NOT NULL AND c_{col} IS NULL "
                         f"THEN {quote_literal('unparseable yes/no in ' + lab)} END")
        elif col in ENUMS and col in spec.columns:
            allowed = ", ".join(quote_literal(v) for v in ENUMS[col])
            what = f"unknown {lab}: not {ENUM_NAMES[col]} after translation"
            rules.append(f"CASE WHEN {col} IS NOT NULL AND {col} NOT IN ({allowed}) THEN {quote_literal(what)} END")
    for a, b in (("x", "y"), ("lon", "lat")):
        if a in provided:
            rules.append(_coord_rule(spec, a, b))
    reason = "nullif(concat_ws('; ', " + ", ".join(rules) + "), '')" if rules else "NULL::VARCHAR"
    drop = [f"_p_{c}_{i}" for c in DATE_COLUMNS if c in provided for i in range(len(spec.date_formats(c)))]
    inner_sql = f"SELECT *{', ' + ', '.join(inner) if inner else ''} FROM _norm"
    mid_sql = f"SELECT *{', ' + ', '.join(outer) if outer else ''} FROM ({inner_sql})"
    if drop:
        mid_sql = f"SELECT * EXCLUDE ({', '.join(drop)}) FROM ({mid_sql})"
    return f"CREATE TEMP TABLE _checked AS SELECT *, {reason} AS reason, {_key_hash_sql(plan, provided)} AS k_hash FROM ({mid_sql})"


def _key_hash_sql(plan: _Plan, provided: dict[str, str | None]) -> str:
    """An event's natural key as a 64-bit hash for ``event_keys`` (as in :mod:`policeuk`): one key space per
    source system for crimes, stops and arrests (``<system>|event|<reference>``). Hash hits are confirmed against
    the stored values, so a collision can never make a row a duplicate. NULL for keyless rows and non-events."""
    if plan.spec.table in EVENT_TABLES and "reference" in provided:
        return "CASE WHEN reference IS NOT NULL THEN hash(getvariable('ww_system') || '|event|' || reference) END"
    return "NULL::UBIGINT"


def _raw_json(plan: _Plan) -> str:
    """The file's raw (untrimmed) values for a row of ``_rows r`` as a JSON object keyed by its header."""
    seen: dict[str, int] = {}
    parts = []
    for i, h in enumerate(plan.header):
        name = h or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        parts.append(f"{quote_literal(name)}, r.c{i}")
    return "json_object(" + ", ".join(parts) + ")::VARCHAR"


def _duplicates_sql(plan: _Plan, provided: dict[str, str | None]) -> str | None:
    """SQL creating ``_dups(source_row, reason, first_copy)`` for valid rows repeating a key, or None (no key)."""
    table = plan.spec.table
    sys_ = "getvariable('ww_system')"
    if table in EVENT_TABLES:
        if "reference" not in provided:
            return None
        keys, label = ["reference"], "reference"
        store = f"""SELECT c.reference, arg_min(b.source_file || ' row ' || e.source_row, e.event_id) AS first_copy
                    FROM (SELECT DISTINCT reference, k_hash FROM _checked WHERE reason IS NULL AND k_hash IS NOT NULL) c
                    JOIN event_keys k ON k.key_hash = c.k_hash
                    JOIN events e ON e.event_id = k.event_id AND e.source_system = {sys_} AND e.reference = c.reference
                                 AND e.kind <> 'outcome'
                    JOIN batches b ON b.batch_id = e.batch_id
                    GROUP BY c.reference"""
    elif table == "persons":
        keys, label = ["person_id"], "person_id"
        store = f"""SELECT person_id, arg_min(source_file || ' row ' || source_row, batch_id * 4294967296 + source_row) AS first_copy
                    FROM persons WHERE source_system = {sys_} AND person_id IN (SELECT person_id FROM _checked)
                    GROUP BY person_id"""
    else:
        keys, label = ["reference", "person_id", "role"], "(reference, person_id, role)"
        store = f"""SELECT reference, person_id, role,
                           arg_min(source_file || ' row ' || source_row, batch_id * 4294967296 + source_row) AS first_copy
                    FROM event_persons WHERE source_system = {sys_} AND reference IN (SELECT reference FROM _checked)
                    GROUP BY ALL"""
    part = ", ".join(f"c.{k}" for k in keys)
    on = " AND ".join(f"s.{k} = c.{k}" for k in keys)
    not_null = " AND ".join(f"c.{k} IS NOT NULL" for k in keys)
    return f"""CREATE TEMP TABLE _dups AS
      WITH valid AS (
        SELECT c.source_row, min(c.source_row) OVER (PARTITION BY {part}) AS first_row, s.first_copy
        FROM _checked c LEFT JOIN ({store}) s ON {on}
        WHERE c.reason IS NULL AND {not_null})
      SELECT source_row,
             CASE WHEN first_copy IS NOT NULL THEN '{label} already in the store'
                  ELSE '{label} repeated within the file' END AS reason,
             'first copy: ' || coalesce(first_copy, 'row ' || first_row) AS first_copy
      FROM valid WHERE first_copy IS NOT NULL OR source_row <> first_row"""


def _stage_coordinates(con, provided: dict[str, str | None]) -> str | None:
    """``_xy`` holding the other coordinate pair for each distinct valid point; returns the pair mapped ('x' or 'lon')."""
    pair = "x" if "x" in provided else "lon" if "lon" in provided else None
    if pair is None:
        return None
    a, b = ("x", "y") if pair == "x" else ("lon", "lat")
    pts = con.execute(f"SELECT DISTINCT c_{a}, c_{b} FROM _checked WHERE reason IS NULL AND c_{a} IS NOT NULL").fetchnumpy()
    u, v = pts[f"c_{a}"], pts[f"c_{b}"]
    if pair == "x":
        lon, lat = from_bng(u, v)
        table = pa.table({"c_x": u, "c_y": v, "lon": lon, "lat": lat})
    else:
        x, y = to_bng(u, v)
        table = pa.table({"c_lon": u, "c_lat": v, "x": x, "y": y})
    con.register("_xy_arrow", table)
    try:
        run(con, "stage coordinates", "CREATE TEMP TABLE _xy AS SELECT * FROM _xy_arrow")
    finally:
        con.unregister("_xy_arrow")
    return pair


def _insert_sql(plan: _Plan, provided: dict[str, str | None], pair: str | None) -> list[tuple[str, str]]:
    table = plan.spec.table
    has = provided.__contains__
    xy_join = ""
    if pair == "x":
        xy_join = "LEFT JOIN _xy USING (c_x, c_y)"
    elif pair == "lon":
        xy_join = "LEFT JOIN _xy USING (c_lon, c_lat)"
    base = f"""FROM _checked c {xy_join}
               WHERE c.reason IS NULL AND c.source_row NOT IN (SELECT source_row FROM _dups)"""
    prov = {"source_file": "getvariable('ww_source')", "source_row": "c.source_row", "batch_id": "getvariable('ww_batch')"}
    system = "getvariable('ww_system')"

    def select(columns: dict[str, str], exprs: dict[str, str]) -> str:
        return ", ".join(exprs.get(name, "NULL") for name in columns)

    steps: list[tuple[str, str]] = []
    if table in EVENT_TABLES:
        if table == "crimes":
            kind = "CASE WHEN c.crime_type = 'Anti-social behaviour' THEN 'asb' ELSE 'crime' END"
            if has("kind"):
                kind = f"coalesce(c.kind, {kind})"
        else:
            kind = quote_literal(_KIND[table])
        ev = {"event_id": "(getvariable('ww_batch')::BIGINT << 32) + c.source_row", "kind": kind,
              "occurred": "c.c_occurred", "month": "date_trunc('month', c.c_occurred)::DATE",
              "time_precision": "c.c_occurred_precision", "source_system": system, **prov}
        for col in ("reference", "crime_type", "outcome", "location", "lsoa_code", "lsoa_name", "force"):
            if has(col):
                ev[col] = f"c.{col}"
        if pair == "x":
            ev.update(x="c.c_x", y="c.c_y", lon="_xy.lon", lat="_xy.lat")
        elif pair == "lon":
            ev.update(lon="c.c_lon", lat="c.c_lat", x="_xy.x", y="_xy.y")
        steps.append((f"insert {table} events", f"INSERT INTO events SELECT {select(EVENT_COLUMNS, ev)} {base}"))
        steps.append(("record keys", f"""INSERT INTO event_keys SELECT c.k_hash, (getvariable('ww_batch')::BIGINT << 32) + c.source_row
            {base} AND c.k_hash IS NOT NULL"""))
        if table == "stops":
            st = {"event_id": "(getvariable('ww_batch')::BIGINT << 32) + c.source_row"}
            for col in STOP_COLUMNS:
                if col in BOOLEAN_COLUMNS and has(col):
                    st[col] = f"c.c_{col}"
                elif col != "event_id" and has(col):
                    st[col] = f"c.{col}"
            steps.append(("insert stop details", f"INSERT INTO stop_searches SELECT {select(STOP_COLUMNS, st)} {base}"))
        if table in _AUTO_ROLE and has("reference") and has("person_id"):
            role = quote_literal(_AUTO_ROLE[table])
            ep = {"source_system": system, "reference": "c.reference", "person_id": "c.person_id", "role": role, **prov}
            steps.append((f"insert {_AUTO_ROLE[table]} roles", f"""INSERT INTO event_persons
                SELECT {select(EVENT_PERSON_COLUMNS, ep)} {base} AND c.reference IS NOT NULL AND c.person_id IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM event_persons e WHERE e.source_system = {system}
                                AND e.reference = c.reference AND e.person_id = c.person_id AND e.role = {role})"""))
    elif table == "persons":
        pe = {"source_system": system, **prov}
        for col in PERSON_COLUMNS:
            if col == "dob" and has("dob"):
                pe[col] = "c.c_dob::DATE"
            elif col not in pe and has(col):
                pe[col] = f"c.{col}"
        steps.append(("insert persons", f"INSERT INTO persons SELECT {select(PERSON_COLUMNS, pe)} {base}"))
    else:
        ep = {"source_system": system, "reference": "c.reference", "person_id": "c.person_id", "role": "c.role", **prov}
        steps.append(("insert roles", f"INSERT INTO event_persons SELECT {select(EVENT_PERSON_COLUMNS, ep)} {base}"))
    return steps


# ---------------------------------------------------------------------------------------------- loading one file


def _provided(m: Mapping, spec: FileSpec) -> dict[str, str | None]:
    """canonical column -> constant value (None when it comes from a file column), in canonical order."""
    out: dict[str, str | None] = {}
    for col in spec.kind.columns:
        if col in spec.columns:
            out[col] = None
        elif col in spec.constants:
            out[col] = spec.constants[col]
        elif col == "force" and m.force is not None and spec.table in EVENT_TABLES:
            out[col] = m.force
    return out


def _stage_codes(con, spec: FileSpec) -> None:
    rows = [(col, src, dst) for col, table in spec.codes.items() for src, dst in table.items()]
    con.register("_codes_arrow", pa.table({"col": pa.array([r[0] for r in rows], pa.string()),
                                           "src": pa.array([r[1] for r in rows], pa.string()),
                                           "dst": pa.array([r[2] for r in rows], pa.string())}))
    try:
        run(con, "stage code translations", "CREATE TEMP TABLE _codes AS SELECT * FROM _codes_arrow")
    finally:
        con.unregister("_codes_arrow")


def _load_file(con, m: Mapping, plan: _Plan, path: Path, facts: _csv.FileFacts, *, version: str,
               force_exact: bool, limits: Limits = DEFAULT_LIMITS) -> FileOutcome:
    spec = plan.spec
    # The file is read into temp tables before the transaction opens: a DuckDB refusal on the fast path (a CRLF
    # header over an LF body, a Latin-1 block) must not leave the fallback read inside an aborted transaction.
    try:
        loaded_csv = _csv.load(con, path, [f"c{i}" for i in range(len(plan.header))], delimiter=m.delimiter_of(spec),
                               encoding=m.encoding_of(spec), force_exact=force_exact, facts=facts, limits=limits)
        return _load_read(con, m, plan, facts, loaded_csv, version=version)
    finally:
        _csv.cleanup(con)
        con.execute("DROP TABLE IF EXISTS _codes; DROP TABLE IF EXISTS _norm; DROP TABLE IF EXISTS _checked; "
                    "DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _xy")


def _load_read(con, m: Mapping, plan: _Plan, facts: _csv.FileFacts, loaded_csv: _csv.LoadedCSV, *,
               version: str) -> FileOutcome:
    """Check and load a file already read into ``_rows`` / ``_rejects``, in one transaction."""
    spec = plan.spec
    provided = _provided(m, spec)
    system = m.source_system_of(spec)
    checksum = facts.checksum
    batch_id = _batch.next_batch_id(con)
    with _batch.transaction(con):
        con.execute("SET VARIABLE ww_batch = ?", [batch_id])
        con.execute("SET VARIABLE ww_source = ?", [plan.source.name])
        con.execute("SET VARIABLE ww_system = ?", [system])
        _stage_codes(con, spec)
        run(con, "translate codes", _norm_sql(plan, provided))
        run(con, "check rows", _check_sql(plan, provided))
        _batch.quarantine_rejects(con, batch_id, plan.source.name)
        raw = _raw_json(plan)
        run(con, "quarantine invalid rows", f"""INSERT INTO quarantine
            SELECT ?, ?, c.source_row, 'invalid', c.reason, {raw}
            FROM _checked c JOIN _rows r USING (source_row) WHERE c.reason IS NOT NULL""", [batch_id, plan.source.name])
        dup_sql = _duplicates_sql(plan, provided)
        run(con, "find duplicates", dup_sql or "CREATE TEMP TABLE _dups AS SELECT NULL::BIGINT AS source_row, "
                                               "NULL::VARCHAR AS reason, NULL::VARCHAR AS first_copy WHERE false")
        run(con, "quarantine duplicates", f"""INSERT INTO quarantine
            SELECT ?, ?, d.source_row, 'duplicate', d.reason, json_object('first_copy', d.first_copy, 'row', {raw}::JSON)::VARCHAR
            FROM _dups d JOIN _rows r USING (source_row)""", [batch_id, plan.source.name])
        pair = _stage_coordinates(con, provided)
        steps = _insert_sql(plan, provided, pair)
        loaded = int(run(con, *steps[0]).fetchone()[0])  # the first step fills the table the file is counted in
        for step, sql in steps[1:]:
            run(con, step, sql)
        if spec.table in EVENT_TABLES:  # what the file covers: (source_system, force, month) of its events
            run(con, "record coverage", """INSERT INTO batch_coverage
                SELECT batch_id, source_system, force, month, ?, count(*) FROM events WHERE batch_id = ? GROUP BY ALL""",
                [spec.table, batch_id])
        quarantined, duplicates = _batch.record_batch(con, batch_id, plan.source.name, checksum, plan.fmt,
                                                      loaded_csv.records, loaded, version)
        outcome = FileOutcome(plan.source.name, plan.fmt, "loaded", batch_id, loaded_csv.records, loaded, quarantined,
                              duplicates, _batch.reasons(con, batch_id), checksum=checksum,
                              message=f"source system {system!r}; read on the {loaded_csv.path_used} path")
        run(con, "drop work tables", "DROP TABLE _codes; DROP TABLE _norm; DROP TABLE _checked; DROP TABLE _dups; "
                                     "DROP TABLE IF EXISTS _xy")
        _csv.cleanup(con)
    return outcome


# ---------------------------------------------------------------------------------------------- entry point


def ingest(con: duckdb.DuckDBPyConnection, path: str | Path, mapping: str | Path | Mapping, *, version: str,
           progress: Callable[[str, int, int], None] | None = None, on_unknown: str = "error",
           force_exact: bool = False, limits: Limits | None = None) -> IngestReport:
    """Load the RMS export files at ``path`` (a file, a folder searched recursively, or a zip) through ``mapping``.

    Parameters
    ----------
    con : duckdb connection to a whatworks store
    path : path-like
        Delimited text files (``.csv``, ``.txt``, ``.tsv``); a single file is read whatever its suffix.
    mapping : path-like or Mapping
        The TOML mapping file (docs/records-mapping.md) or an already loaded :class:`Mapping`.
    version : str
        whatworks version recorded in ``batches``.
    progress : callable(source, i, n), optional
    on_unknown : {"error", "skip"}, default "error"
        A file the mapping cannot read (its name matches no pattern, or its header lacks a mapped column):
        stop before loading anything, or skip it and report it as refused.
    force_exact : bool, default False
        Read every file on the exact (Python ``csv``) path; for tests that compare the two reader paths.
    limits : whatworks.store.limits.Limits, optional
        Limits on hostile input (default ``DEFAULT_LIMITS``): a zip member over its size or compression-ratio limit
        is refused before extraction (raised, or refused with ``on_unknown="skip"``); a line over a line limit is
        quarantined with its real length or field count.

    Returns
    -------
    IngestReport
        Per-file outcomes; ``rows_read == rows_loaded + rows_quarantined + duplicates_skipped`` for every file.

    Notes
    -----
    Files load in the order crimes, stops, arrests, persons, roles (then by name), so references arrive before
    the people and roles that refer to them. All files are matched and their headers checked before any loads.
    """
    if on_unknown not in ("error", "skip"):
        raise IngestError(f"ingest_records(): The 'on_unknown' parameter must be 'error' or 'skip'. Got {on_unknown!r} instead.")
    limits = resolve(limits, "ingest_records()")
    m = mapping if isinstance(mapping, Mapping) else Mapping.load(mapping)
    sources = find_sources(path, limits=limits)
    plans: list[_Plan] = []
    outcomes: list[FileOutcome] = []
    for src in sources:
        plan, why = (None, src.refusal) if src.refusal else _plan(m, src)
        if plan is None:
            if on_unknown == "error":
                raise IngestError(why)
            outcomes.append(FileOutcome(src.name, None, "refused", message=why))
            continue
        plans.append(plan)
    plans.sort(key=lambda p: (p.spec.kind.order, p.source.name))
    for i, plan in enumerate(plans):
        if progress:
            progress(plan.source.name, i, len(plans))
        with plan.source.local() as local:
            facts = _csv.file_facts(local, delimiter=m.delimiter_of(plan.spec), limits=limits)
            checksum = facts.checksum
            prior = _batch.already_loaded(con, checksum)
            if prior:
                outcomes.append(FileOutcome(plan.source.name, plan.fmt, "already_loaded", prior[0], checksum=checksum,
                                            message=f"same bytes as batch {prior[0]} ({prior[1]}, loaded {prior[2]}); nothing done"))
                continue
            outcomes.append(_load_file(con, m, plan, local, facts, version=version, force_exact=force_exact,
                                       limits=limits))
    if progress:
        progress("", len(plans), len(plans))
    return IngestReport(tuple(outcomes), ignored=tuple(ignored_files(path, limits=limits)))


__all__ = ["ingest", "EVENT_TABLES"]
