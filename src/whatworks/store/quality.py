"""The data-quality counts of a store (``Store.quality_counts``): the SQL aggregates that
:func:`whatworks.quality.profile` turns into the data-quality profile (the statistics — gap tests, code-change
p-values, late shares — are made there, not in the store; issue 17).

Every count is one SQL aggregate in DuckDB (one scan of ``events`` per question), so a store of millions of records
is counted in seconds; only the small aggregates come back to pandas:

* ``completeness`` — ``source_system, kind, month, field, present, rows``: records with each field filled;
* ``codes`` — every value of the coded fields with its first and last month, months present, the months of its
  field's span, its status (stable / appeared / vanished / intermittent) and the field's record counts in the months
  with and without it (``t_present``, ``t_all``, ``t_absent``, ``t_absent_max``, ``contiguous``);
* ``duplicates`` / ``quarantined`` — rows by ``source_system, format, reason`` with the rows read;
* ``lags`` — ``source_system, kind, measure, lag, rows``: records by whole months of lag (a batch's records against
  the latest month the store held before it; police.uk outcomes against their crime's month);
* ``coverage`` — the months held and missing per source system, force and file kind; ``records`` — events + persons.

>>> import whatworks as ww
>>> ww.Store(":memory:").quality_counts().records
0
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from whatworks.store._sql import run

# Fields profiled for completeness: name -> SQL counting the records of `events e` that have it.
EVENT_FIELDS: dict[str, str] = {
    "reference": "count(e.reference)",
    "crime_type": "count(e.crime_type)",
    "outcome": "count(e.outcome)",
    "time_of_day": "count(*) FILTER (WHERE e.time_precision = 'minute')",
    "coordinates": "count(e.x)",
    "location": "count(e.location)",
    "lsoa_code": "count(e.lsoa_code)",
    "lsoa_name": "count(e.lsoa_name)",
    "force": "count(e.force)",
}
STOP_FIELDS = ("search_type", "part_of_operation", "operation_name", "gender", "age_range", "self_defined_ethnicity",
               "officer_defined_ethnicity", "legislation", "object_of_search", "outcome_linked_to_object",
               "removal_of_more_than_outer_clothing", "person_id")
PERSON_FIELDS = ("first_name", "surname", "dob", "sex", "ethnicity", "postcode")
# Coded fields: columns of `events` and of `stop_searches` (plus `event_persons.role`).
EVENT_CODES = ("crime_type", "outcome")
STOP_CODES = ("search_type", "gender", "age_range", "self_defined_ethnicity", "officer_defined_ethnicity",
              "legislation", "object_of_search")


# ---------------------------------------------------------------------------------------------- aggregates (SQL)


def _df(con, step: str, sql: str) -> pd.DataFrame:
    return run(con, step, sql).df()


def completeness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``source_system, kind, month, field, present, rows``: records of each source, kind and month with each field
    filled (persons have ``kind='person'`` and no month)."""
    ev = ", ".join(f"{expr} AS {name}" for name, expr in EVENT_FIELDS.items())
    st = ", ".join(f"count(s.{f}) AS {f}" for f in STOP_FIELDS)
    pe = ", ".join(f"count({f}) AS {f}" for f in PERSON_FIELDS)
    frames = [
        _df(con, "completeness of events", f"""SELECT source_system, kind, month, count(*) AS rows, {ev}
            FROM events e GROUP BY ALL"""),
        _df(con, "completeness of stop details", f"""SELECT e.source_system, e.kind, e.month, count(*) AS rows, {st}
            FROM events e JOIN stop_searches s USING (event_id) GROUP BY ALL"""),
        _df(con, "completeness of persons", f"""SELECT source_system, 'person' AS kind, NULL::DATE AS month,
            count(*) AS rows, {pe} FROM persons GROUP BY ALL"""),
    ]
    long = []
    for f in frames:
        if f.empty:
            continue
        fields = [c for c in f.columns if c not in ("source_system", "kind", "month", "rows")]
        long.append(f.melt(id_vars=["source_system", "kind", "month", "rows"], value_vars=fields, var_name="field",
                           value_name="present"))
    cols = ["source_system", "kind", "month", "field", "present", "rows"]
    if not long:
        return pd.DataFrame(columns=cols)
    d = pd.concat(long, ignore_index=True)
    d["month"] = pd.to_datetime(d["month"])
    return d[cols]


def codes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every value of the coded fields with its months, status and its field's record counts (module docstring)."""
    parts = [f"""SELECT source_system, kind, '{f}' AS field, {f} AS value, month, count(*) AS n
                 FROM events WHERE {f} IS NOT NULL GROUP BY ALL""" for f in EVENT_CODES]
    parts += [f"""SELECT e.source_system, e.kind, '{f}' AS field, s.{f} AS value, e.month, count(*) AS n
                  FROM events e JOIN stop_searches s USING (event_id) WHERE s.{f} IS NOT NULL GROUP BY ALL""" for f in STOP_CODES]
    # roles take the month of the event they refer to (references are unique within a source system)
    # (only the events that have roles are grouped: grouping every reference of a large store is the slow part)
    parts.append("""SELECT p.source_system, e.kind, 'role' AS field, p.role AS value, e.month, count(*) AS n
                    FROM event_persons p JOIN (
                      SELECT e.source_system, e.reference, any_value(e.kind) AS kind, min(e.month) AS month
                      FROM events e SEMI JOIN event_persons r ON r.source_system = e.source_system AND r.reference = e.reference
                      WHERE e.kind <> 'outcome' GROUP BY ALL) e USING (source_system, reference)
                    GROUP BY ALL""")
    # The months of a field are those in which the field has any value for the source and kind, so a month where
    # the field is blank (a completeness gap) does not also make every code look as if it vanished.
    sql = f"""
    WITH counts AS ({' UNION ALL '.join(parts)}),
    field_months AS (SELECT source_system, kind, field, month, sum(n) AS t FROM counts GROUP BY ALL),
    span AS (SELECT source_system, kind, field, min(month) AS span_first, max(month) AS span_last,
                    count(*) AS months_in_span, sum(t) AS t_all FROM field_months GROUP BY ALL),
    per_code AS (
      SELECT c.source_system, c.kind, c.field, c.value, min(c.month) AS first_month, max(c.month) AS last_month,
             count(*) AS months_present, sum(c.n) AS rows, sum(f.t) AS t_present
      FROM counts c JOIN field_months f USING (source_system, kind, field, month) GROUP BY ALL),
    between_ AS (
      SELECT c.source_system, c.kind, c.field, c.value, count(*) AS months_between
      FROM per_code c JOIN field_months m USING (source_system, kind, field)
      WHERE m.month BETWEEN c.first_month AND c.last_month
      GROUP BY ALL),
    absent AS (
      SELECT c.source_system, c.kind, c.field, c.value, sum(f.t) AS t_absent, max(f.t) AS t_absent_max
      FROM per_code c JOIN field_months f USING (source_system, kind, field)
      ANTI JOIN counts k ON k.source_system = c.source_system AND k.kind = c.kind AND k.field = c.field
                        AND k.value = c.value AND k.month = f.month
      GROUP BY ALL)
    SELECT c.source_system, c.kind, c.field, c.value, c.first_month, c.last_month, c.months_present,
           s.months_in_span, c.rows::BIGINT AS rows,
           CASE WHEN c.months_present < b.months_between
                  OR (c.first_month > s.span_first AND c.last_month < s.span_last) THEN 'intermittent'
                WHEN c.first_month > s.span_first THEN 'appeared'
                WHEN c.last_month < s.span_last THEN 'vanished'
                ELSE 'stable' END AS status,
           c.months_present = b.months_between AS _contiguous, c.t_present::DOUBLE AS _t_present,
           s.t_all::DOUBLE AS _t_all, coalesce(a.t_absent, 0)::DOUBLE AS _t_absent,
           coalesce(a.t_absent_max, 0)::DOUBLE AS _t_absent_max
    FROM per_code c JOIN span s USING (source_system, kind, field)
    JOIN between_ b USING (source_system, kind, field, value)
    LEFT JOIN absent a USING (source_system, kind, field, value)
    ORDER BY c.source_system, c.kind, c.field, c.rows DESC, c.value"""
    d = _df(con, "code values over time", sql)
    for col in ("first_month", "last_month"):
        d[col] = pd.to_datetime(d[col])
    return d.rename(columns={c: c[1:] for c in d.columns if c.startswith("_")})


def _batch_systems_sql() -> str:
    """batch_id -> source_system, from whichever table the batch loaded rows into."""
    return """SELECT batch_id, any_value(source_system) AS source_system FROM (
                SELECT batch_id, source_system FROM events
                UNION ALL SELECT batch_id, source_system FROM persons
                UNION ALL SELECT batch_id, source_system FROM event_persons) GROUP BY batch_id"""


def quarantine_counts(con: duckdb.DuckDBPyConnection, category: str) -> pd.DataFrame:
    """Quarantined rows of one category by ``source_system, format, reason`` with the rows read."""
    sql = f"""
    WITH sys AS ({_batch_systems_sql()}),
    b AS (SELECT b.batch_id, b.format, b.rows_read,
                 coalesce(sys.source_system, CASE WHEN b.format LIKE 'policeuk%' THEN 'police.uk' END,
                          '(unknown: nothing loaded from the file)') AS source_system
          FROM batches b LEFT JOIN sys USING (batch_id)),
    read_ AS (SELECT source_system, format, sum(rows_read) AS rows_read FROM b GROUP BY ALL)
    SELECT b.source_system, b.format, q.reason, count(*) AS rows, any_value(r.rows_read)::BIGINT AS rows_read
    FROM quarantine q JOIN b USING (batch_id) JOIN read_ r USING (source_system, format)
    WHERE q.category = '{category}'
    GROUP BY ALL ORDER BY rows DESC, b.source_system, b.format, q.reason"""
    return _df(con, f"count {category} rows", sql)


def lags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Records by whole months of lag, per source and kind (module docstring), and police.uk outcome lags:
    ``source_system, kind, measure, lag, rows``."""
    sql = """
    WITH bm AS (SELECT source_system, kind, batch_id, month, count(*) AS n FROM events WHERE kind <> 'outcome' GROUP BY ALL),
    bmax AS (SELECT source_system, kind, batch_id, max(month) AS batch_max FROM bm GROUP BY ALL),
    prior AS (SELECT source_system, kind, batch_id,
                     max(batch_max) OVER (PARTITION BY source_system, kind ORDER BY batch_id
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS store_max
              FROM bmax),
    lag AS (SELECT bm.source_system, bm.kind, bm.n,
                   greatest(coalesce(date_diff('month', bm.month, p.store_max), 0), 0) AS lag
            FROM bm JOIN prior p USING (source_system, kind, batch_id)),
    outcome_lag AS (  -- each outcome against its crime's month (the earliest, should a reference repeat)
      SELECT o.source_system, 'outcome' AS kind, 1 AS n,
             greatest(date_diff('month', min(c.month), any_value(o.month)), 0) AS lag
      FROM events o JOIN events c ON c.source_system = o.source_system AND c.reference = o.reference
                                 AND c.kind IN ('crime', 'asb')
      WHERE o.kind = 'outcome'
      GROUP BY o.event_id, o.source_system)
    SELECT source_system, kind, 'arrived after later months were loaded' AS measure, lag, sum(n)::BIGINT AS rows
    FROM lag GROUP BY ALL
    UNION ALL
    SELECT source_system, kind, 'outcome recorded after the crime month' AS measure, lag, sum(n)::BIGINT
    FROM outcome_lag GROUP BY ALL
    ORDER BY source_system, kind, measure, lag"""
    d = _df(con, "record lags", sql)
    d["lag"] = d["lag"].astype("int64")
    d["rows"] = d["rows"].astype("int64")
    return d[["source_system", "kind", "measure", "lag", "rows"]]


# ---------------------------------------------------------------------------------------------- coverage

COVERAGE_COLUMNS = ["source_system", "force", "month", "kind", "batch_id", "rows"]
SUMMARY_COLUMNS = ["source_system", "force", "kind", "first_month", "last_month", "months", "months_missing",
                   "missing_months"]


def coverage(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> pd.DataFrame:
    """The ``coverage`` view as a DataFrame (``Store.coverage``): one row per (source_system, force, month, kind)
    the store holds in its current versions, with the batch holding it and the rows loaded."""
    where, params = ("WHERE kind = ?", [kind]) if kind is not None else ("", [])
    df = run(con, "read coverage", f"SELECT {', '.join(COVERAGE_COLUMNS)} FROM coverage {where} "
             "ORDER BY source_system, force, kind, month", params).df()
    df["month"] = pd.to_datetime(df["month"])
    df["batch_id"] = df["batch_id"].astype("int64")
    df["rows"] = df["rows"].astype("int64")
    return df[COVERAGE_COLUMNS]


def month_ranges(months) -> str:
    """Months as readable runs: ``2016-08..2017-06, 2017-08`` ("" for none)."""
    ps = sorted({pd.Period(pd.Timestamp(m), "M") for m in months})
    runs: list[tuple[pd.Period, pd.Period]] = []
    for p in ps:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in runs)


def coverage_summary(cov: pd.DataFrame) -> pd.DataFrame:
    """Per (source_system, force, kind): first and last month held, months held, and the months missing between
    them (``missing_months`` as readable runs). A month missing is not a month with no crime: nothing was loaded."""
    rows = []
    for (sys_, force, kind), g in cov.groupby(["source_system", "force", "kind"], dropna=False, sort=True):
        held = {pd.Period(m, "M") for m in g["month"]}
        lo, hi = min(held), max(held)
        missing = [p.to_timestamp() for p in pd.period_range(lo, hi, freq="M") if p not in held]
        rows.append((sys_, force, kind, lo.to_timestamp(), hi.to_timestamp(), len(held), len(missing),
                     month_ranges(missing)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


# ---------------------------------------------------------------------------------------------- all of them


@dataclass(frozen=True)
class QualityCounts:
    """The store's data-quality counts (module docstring), for :func:`whatworks.quality.profile`."""
    completeness: pd.DataFrame
    codes: pd.DataFrame
    duplicates: pd.DataFrame
    quarantined: pd.DataFrame
    lags: pd.DataFrame
    coverage: pd.DataFrame
    records: int


def counts(con: duckdb.DuckDBPyConnection) -> QualityCounts:
    """Every data-quality count of the store behind ``con`` (``Store.quality_counts``)."""
    records = int(run(con, "count records", "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM persons)").fetchone()[0])
    return QualityCounts(completeness=completeness(con), codes=codes(con), duplicates=quarantine_counts(con, "duplicate"),
                         quarantined=quarantine_counts(con, "invalid"), lags=lags(con),
                         coverage=coverage_summary(coverage(con)), records=records)


__all__ = ["QualityCounts", "counts", "completeness", "codes", "lags", "quarantine_counts", "coverage",
           "coverage_summary", "month_ranges"]
