"""The canonical store schema (POLE-aligned, see DESIGN.md) and its version.

A store records its schema version in ``meta``. Opening a store made by an older whatworks runs the
migrations in :data:`MIGRATIONS` in order, inside one transaction; a store from a newer whatworks is
refused with a message that says to upgrade.

Provenance: every row carries ``batch_id`` and ``source_row``; ``batches`` names the file (the friendly views show
``source_file``), so a 100,000-row file does not store its path 100,000 times.

Identifiers: ``events.event_id = batch_id * 2**32 + source_row`` — unique by construction, so bulk loads
need no index. ``source_row`` is the spreadsheet row number of the record in its file (the header is row 1,
the first data record row 2), which is what an analyst sees when opening the file in Excel.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

EVENT_KINDS = ("crime", "asb", "outcome", "stop_search", "arrest", "incident")
PERSON_ROLES = ("victim", "suspect", "offender", "arrestee", "searched", "witness", "other")

# Columns of `events`, in order, with DuckDB types. Kept as data so readers, checks and docs share one list.
EVENT_COLUMNS: dict[str, str] = {
    "event_id": "BIGINT NOT NULL",
    "kind": "VARCHAR NOT NULL",          # one of EVENT_KINDS
    "reference": "VARCHAR USING COMPRESSION uncompressed",  # police.uk Crime ID, or the force's own crime/incident reference
    "occurred": "TIMESTAMP",             # when it happened; first instant of the month when only the month is known
    "month": "DATE NOT NULL",            # first day of the month of `occurred` (police.uk resolution)
    "time_precision": "VARCHAR NOT NULL",  # 'month' | 'day' | 'minute'
    "crime_type": "VARCHAR",             # police.uk crime type (14 categories) for crimes / ASB
    "outcome": "VARCHAR",                # last outcome category / outcome type / stop-search outcome
    "lon": "DOUBLE",
    "lat": "DOUBLE",
    "x": "DOUBLE",                       # British National Grid easting (EPSG:27700), metres
    "y": "DOUBLE",                       # British National Grid northing
    "location": "VARCHAR",
    "lsoa_code": "VARCHAR",
    "lsoa_name": "VARCHAR",
    "force": "VARCHAR",                  # 'Falls within' for police.uk; the mapping's force for RMS exports
    "reported_by": "VARCHAR",
    "context": "VARCHAR",
    "source_system": "VARCHAR",          # 'police.uk' or the RMS mapping's source name
    "source_row": "BIGINT NOT NULL",     # the file is batches.source_file (the views show it)
    "batch_id": "INTEGER NOT NULL",
}

STOP_COLUMNS: dict[str, str] = {
    "event_id": "BIGINT NOT NULL",
    "search_type": "VARCHAR",            # 'Person search' | 'Person and Vehicle search' | 'Vehicle search'
    "part_of_operation": "BOOLEAN",
    "operation_name": "VARCHAR",
    "gender": "VARCHAR",
    "age_range": "VARCHAR",
    "self_defined_ethnicity": "VARCHAR",
    "officer_defined_ethnicity": "VARCHAR",
    "legislation": "VARCHAR",
    "object_of_search": "VARCHAR",
    "outcome_linked_to_object": "BOOLEAN",
    "removal_of_more_than_outer_clothing": "BOOLEAN",
    "person_id": "VARCHAR",              # RMS only: the searched person's id in source_system
}

PERSON_COLUMNS: dict[str, str] = {
    "source_system": "VARCHAR NOT NULL",
    "person_id": "VARCHAR NOT NULL",     # the id within source_system
    "first_name": "VARCHAR",
    "surname": "VARCHAR",
    "dob": "DATE",
    "sex": "VARCHAR",
    "ethnicity": "VARCHAR",
    "postcode": "VARCHAR",
    "source_file": "VARCHAR NOT NULL",
    "source_row": "BIGINT NOT NULL",
    "batch_id": "INTEGER NOT NULL",
}

EVENT_PERSON_COLUMNS: dict[str, str] = {
    "source_system": "VARCHAR NOT NULL",
    "reference": "VARCHAR NOT NULL",     # events.reference of the same source_system
    "person_id": "VARCHAR NOT NULL",
    "role": "VARCHAR NOT NULL",          # one of PERSON_ROLES
    "source_file": "VARCHAR NOT NULL",
    "source_row": "BIGINT NOT NULL",
    "batch_id": "INTEGER NOT NULL",
}


def _cols(cols: dict[str, str]) -> str:
    return ",\n  ".join(f"{name} {typ}" for name, typ in cols.items())


def _event_view(name: str, kinds: str) -> str:
    """The ``crimes`` / ``asb`` view: street-level events of ``kinds`` with their latest outcome attached."""
    return f"""
        CREATE OR REPLACE VIEW {name} AS
        WITH latest AS (
          SELECT source_system, reference, outcome, month AS outcome_month,
                 row_number() OVER (PARTITION BY source_system, reference ORDER BY month DESC, batch_id DESC, source_row DESC) AS rk
          FROM events WHERE kind = 'outcome' AND reference IS NOT NULL
        )
        SELECT e.event_id, e.kind, e.reference AS crime_id, e.occurred, e.month, e.time_precision, e.crime_type,
               coalesce(l.outcome, e.outcome) AS last_outcome_category,
               l.outcome_month AS last_outcome_month,
               e.outcome AS published_outcome_category,
               e.lon, e.lat, e.x, e.y, e.location, e.lsoa_code, e.lsoa_name, e.force, e.reported_by, e.context,
               e.source_system, b.source_file, e.source_row, e.batch_id
        FROM events e
        JOIN batches b USING (batch_id)
        LEFT JOIN latest l ON l.rk = 1 AND l.reference = e.reference AND l.source_system = e.source_system
        WHERE e.kind IN ({kinds})"""


DDL_V1: list[tuple[str, str]] = [
    ("create meta", "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"),
    ("create batches", """
        CREATE TABLE IF NOT EXISTS batches (
          batch_id INTEGER PRIMARY KEY,
          source_file VARCHAR NOT NULL,      -- path as given; 'archive.zip!2024-01/2024-01-met-street.csv' for zip members
          checksum VARCHAR NOT NULL UNIQUE,  -- sha256 of the file's bytes: the same file is never loaded twice
          format VARCHAR NOT NULL,           -- 'policeuk_street' | 'policeuk_outcomes' | 'policeuk_stop_search' | 'records:<table>' | 'areas'
          rows_read BIGINT NOT NULL,
          rows_loaded BIGINT NOT NULL,
          rows_quarantined BIGINT NOT NULL,
          duplicates_skipped BIGINT NOT NULL,
          loaded_at TIMESTAMP NOT NULL,
          whatworks_version VARCHAR NOT NULL
        )"""),
    ("create events", f"CREATE TABLE IF NOT EXISTS events (\n  {_cols(EVENT_COLUMNS)}\n)"),
    ("create stop_searches", f"CREATE TABLE IF NOT EXISTS stop_searches (\n  {_cols(STOP_COLUMNS)}\n)"),
    ("create persons", f"CREATE TABLE IF NOT EXISTS persons (\n  {_cols(PERSON_COLUMNS)}\n)"),
    ("create event_persons", f"CREATE TABLE IF NOT EXISTS event_persons (\n  {_cols(EVENT_PERSON_COLUMNS)}\n)"),
    ("create event_keys", """
        CREATE TABLE IF NOT EXISTS event_keys (  -- duplicate detection: hash of (scope, natural key) for each keyed event
          key_hash UBIGINT NOT NULL, event_id BIGINT NOT NULL
        )"""),
    ("create person_links", """
        CREATE TABLE IF NOT EXISTS person_links (
          source_system VARCHAR NOT NULL, person_id VARCHAR NOT NULL, cluster_id VARCHAR NOT NULL,
          model_version VARCHAR, linked_at TIMESTAMP
        )"""),
    ("create areas", """
        CREATE TABLE IF NOT EXISTS areas (
          code VARCHAR NOT NULL, name VARCHAR, level VARCHAR NOT NULL,   -- level: lsoa | msoa | ward | lad | force | borough ...
          parent_code VARCHAR, population DOUBLE, batch_id INTEGER
        )"""),
    ("create area_covariates", """
        CREATE TABLE IF NOT EXISTS area_covariates (code VARCHAR NOT NULL, covariate VARCHAR NOT NULL, value DOUBLE, batch_id INTEGER)"""),
    ("create quarantine", """
        CREATE TABLE IF NOT EXISTS quarantine (
          batch_id INTEGER NOT NULL,
          source_file VARCHAR NOT NULL,
          source_row BIGINT,                 -- spreadsheet row number (header = 1); NULL when the row cannot be located
          category VARCHAR NOT NULL,         -- 'invalid' (counted in rows_quarantined) | 'duplicate' (counted in duplicates_skipped)
          reason VARCHAR NOT NULL,
          raw VARCHAR                        -- the raw values as JSON, or the raw line when it could not be split
        )"""),
    # v1's crimes view held ASB too (v2 narrows it to crimes and adds the asb view)
    ("create crimes view", _event_view("crimes", "'crime', 'asb'")),
    ("create outcomes view", """
        CREATE OR REPLACE VIEW outcomes AS
        SELECT e.event_id, e.reference AS crime_id, e.month, e.outcome AS outcome_type, e.lon, e.lat, e.x, e.y, e.location,
               e.lsoa_code, e.lsoa_name, e.force, e.reported_by, e.source_system, b.source_file, e.source_row, e.batch_id
        FROM events e JOIN batches b USING (batch_id) WHERE e.kind = 'outcome'"""),
    ("create stops view", """
        CREATE OR REPLACE VIEW stops AS
        SELECT e.event_id, e.occurred, e.month, e.time_precision, e.outcome, e.lon, e.lat, e.x, e.y, e.lsoa_code, e.force,
               s.* EXCLUDE (event_id), e.source_system, b.source_file, e.source_row, e.batch_id
        FROM events e JOIN stop_searches s USING (event_id) JOIN batches b ON b.batch_id = e.batch_id
        WHERE e.kind = 'stop_search'"""),
]


# File kinds of police.uk formats, as recorded in `batch_coverage.kind` (RMS files use their mapping table name).
POLICEUK_KINDS = {"policeuk_street": "street", "policeuk_outcomes": "outcomes", "policeuk_stop_search": "stop_search"}
# The coverage kinds that make a (force, month) "covered" for crime counts.
CRIME_COVERAGE_KINDS = ("street", "crimes")

# v2: coverage (which source_system x force x month x file kind each batch holds), versions of republished
# police.uk months (superseded batches' events are moved to `events_superseded`, so everything reading `events`
# sees current versions only), notes on batches (dates repaired), and `crimes` without ASB (its own `asb` view).
DDL_V2: list[tuple[str, str]] = [
    ("create batch_coverage", """
        CREATE TABLE IF NOT EXISTS batch_coverage (
          batch_id INTEGER NOT NULL, source_system VARCHAR NOT NULL, force VARCHAR, month DATE NOT NULL,
          kind VARCHAR NOT NULL,             -- 'street' | 'outcomes' | 'stop_search' (police.uk); the RMS mapping table
          rows BIGINT NOT NULL               -- rows the batch loaded for this (force, month)
        )"""),
    ("create superseded", """
        CREATE TABLE IF NOT EXISTS superseded (  -- a batch replaced by a later version of the same force-month(s)
          batch_id INTEGER PRIMARY KEY, superseded_by INTEGER NOT NULL, superseded_at TIMESTAMP NOT NULL
        )"""),
    ("create events_superseded", "CREATE TABLE IF NOT EXISTS events_superseded AS SELECT * FROM events WHERE false"),
    ("create batch_notes", """
        CREATE TABLE IF NOT EXISTS batch_notes (batch_id INTEGER NOT NULL, note VARCHAR NOT NULL, detail VARCHAR)"""),
    ("back-fill police.uk coverage", """
        INSERT INTO batch_coverage
        SELECT e.batch_id, e.source_system, e.force, e.month,
               CASE b.format WHEN 'policeuk_street' THEN 'street' WHEN 'policeuk_outcomes' THEN 'outcomes'
                             WHEN 'policeuk_stop_search' THEN 'stop_search' ELSE substr(b.format, 9) END,
               count(*)
        FROM events e JOIN batches b USING (batch_id)
        WHERE b.format LIKE 'policeuk_%' OR b.format LIKE 'records:%'
        GROUP BY ALL"""),
    ("create crimes view", _event_view("crimes", "'crime'")),
    ("create asb view", _event_view("asb", "'asb'")),
    ("create coverage view", """
        CREATE OR REPLACE VIEW coverage AS
        SELECT source_system, force, month, kind, max(batch_id) AS batch_id, sum(rows)::BIGINT AS rows
        FROM batch_coverage WHERE batch_id NOT IN (SELECT batch_id FROM superseded)
        GROUP BY source_system, force, month, kind"""),
]

# version -> list of (step name, SQL) that upgrade a store from version-1 to version.
MIGRATIONS: dict[int, list[tuple[str, str]]] = {2: DDL_V2}
