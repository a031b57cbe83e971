"""The data-quality profile of a store: what an analyst should know about the data before trusting any count.

``profile(con)`` (``Store.quality()``) answers, by source system and month:

* **completeness** — the share of records with each field filled, by (source_system, kind, month). A field that is
  never filled for a source and kind (a column the source does not have) is left out: absence is not a gap.
  A *gap* is a month where a field's share falls at least :data:`GAP_MIN_DROP` below its usual share (the median
  over the source's months) and the fall is too large for chance: the binomial probability of so few filled
  values at the usual share is below :data:`GAP_P_VALUE`.
* **codes** — every value of the coded fields (crime type, outcome, stop-and-search vocabularies, person roles) with
  the first and last month it is seen and the months it is present in. Against the months in which the field has
  any value for the source and kind (its *span*; so a blank month is a completeness gap, not a vanished code):
  ``stable`` = present from the first to the last month without a break; ``appeared`` = first seen after the span
  starts; ``vanished`` = last seen before it ends; ``intermittent`` = missing in some month in between, or both
  appeared and vanished. ``expected_missing`` is how many records of the code the months
  without it would have held at the code's overall share of the field. ``p_value`` asks whether a constant share
  explains the change: for a code seen in one unbroken run of months, the probability that all its records fall
  inside the run, ``(records of the field in the run / all records of the field) ** rows``, times the number of runs
  that could have been picked out (``M (M + 1) / 2`` for ``M`` months); for a code with gaps, the Poisson probability
  of none in the fullest month without it, ``exp(-share * records of the field that month)``, times ``M``. (Using the
  overall share and multiplying by the choices keeps rare codes, which are absent from many months by chance, from
  being reported.) A change is *notable* when ``p_value < CODE_P_VALUE``.
* **duplicates** and **quarantined** — rows skipped as duplicates / quarantined as invalid, by source system,
  file format and reason, with the share of the rows read.
* **coverage** — the months each source system, force and file kind holds, and the months missing between its
  first and last (police.uk publication gaps, a month never downloaded): each gap is a priority-1 finding, because
  a month not loaded is missing, not a month with no crime.
* **late records** — *late* means a record arrived in a batch (file) loaded after the store already held the
  same source system's records of that kind for a month more than ``late_months`` months after the record's
  month. That is: the figures for a month that had already been reported moved. The first file of a source is
  never late, so a bulk load of several years is not flagged; monthly extracts that carry old records are. For
  police.uk outcomes the measure is the outcome month minus the crime month (outcomes recorded months after the
  crime keep changing the crime month's detection figures).

Everything is computed by SQL aggregates in DuckDB (one scan of ``events`` per question), so a store of millions of
records profiles in seconds; only the small aggregates come back to pandas.

>>> import whatworks as ww
>>> q = ww.Store(":memory:").quality()
>>> q.summary()
'The store is empty: nothing to profile yet. Load data with store.ingest_policeuk(...) or store.ingest_records(...).'
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number
from whatworks.store._sql import run

# Completeness gaps (module docstring): the fall below the usual share that matters, and the chance threshold.
GAP_MIN_DROP = 0.10
GAP_P_VALUE = 0.001
# A code change is *notable* (reported in the summary) when a constant share of the field explains it with
# probability below CODE_P_VALUE (see `codes`). Rare codes, and codes missing only from thin edge months, are still
# listed in `codes` but not reported.
CODE_P_VALUE = 0.001
# More notable changes than this in one field are reported as one finding naming the largest.
CODE_FINDINGS_PER_FIELD = 3
# A source's invalid or duplicate rows are reported in the summary above this share of the rows read.
QUARANTINE_MIN_SHARE = 0.001
DEFAULT_LATE_MONTHS = 2

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


@dataclass(frozen=True, repr=False)
class QualityProfile(Result):
    """The store's data-quality profile (see the module docstring for every definition).

    Attributes
    ----------
    table : DataFrame
        The findings, most important first: ``priority`` (1 = gaps and code changes, which move the counts
        analysts report; 2 = quarantined and duplicate rows; 3 = late records), ``area``, ``source_system``,
        ``kind``, ``field``, ``detail`` (plain English), ``rows_affected``.
    completeness : DataFrame
        ``source_system, kind, month, field, share_present, rows`` (persons have ``kind='person'`` and no month),
        plus ``gap`` (bool) marking the months flagged as gaps.
    codes : DataFrame
        ``source_system, kind, field, value, first_month, last_month, months_present, months_in_span, rows, status,
        expected_missing, p_value, notable``.
    duplicates, quarantined : DataFrame
        ``source_system, format, reason, rows, rows_read, share``.
    late_records : DataFrame
        ``source_system, kind, measure, rows, late_rows, share_late, max_lag_months``.
    coverage : DataFrame
        The months held and missing per source system, force and file kind (``Store.status()["coverage_summary"]``):
        ``source_system, force, kind, first_month, last_month, months, months_missing, missing_months``; every
        force and kind with a month missing between its first and last is a priority-1 finding.
    settings : dict
        ``late_months``.
    """

    completeness: pd.DataFrame = None
    codes: pd.DataFrame = None
    duplicates: pd.DataFrame = None
    quarantined: pd.DataFrame = None
    late_records: pd.DataFrame = None
    coverage: pd.DataFrame = None
    records: int = 0

    def summary(self, *, max_findings: int = 8) -> str:
        """What to look at first, in plain English."""
        if self.records == 0 and self.table.empty:
            return ("The store is empty: nothing to profile yet. Load data with store.ingest_policeuk(...) "
                    "or store.ingest_records(...).")
        if self.records == 0:
            # files were read but none of their rows loaded (all quarantined or duplicates): say why, not "empty"
            head = "No records are loaded, but files were read"
        else:
            n_sources = self.completeness["source_system"].nunique()
            head = f"Data quality of {self.records:,} records from {n_sources} source system(s)"
        if self.table.empty:
            return (head + ": no completeness gaps, code changes, quarantined rows, duplicates or late records found.")
        lines = [head + f": {len(self.table)} finding(s); look at these first:"]
        for i, row in enumerate(self.table.head(max_findings).itertuples(), start=1):
            lines.append(f"{i}. {row.detail}")
        if len(self.table) > max_findings:
            lines.append(f"… and {len(self.table) - max_findings} more (see .table).")
        return "\n".join(lines)

    def _headline(self) -> str:
        return f"{self.records:,} records, {len(self.table)} finding(s)"

    def _draw(self, ax) -> None:
        """Completeness heat map (field × month) for the source and kind with the most records."""
        c = self.completeness
        c = c[c["month"].notna()] if c is not None else c
        if c is None or c.empty:
            ax.text(0.5, 0.5, "No dated records to profile", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return
        per_month = c.drop_duplicates(["source_system", "kind", "month"])
        sizes = per_month.groupby(["source_system", "kind"])["rows"].sum().sort_values(ascending=False)
        sys_, kind = sizes.index[0]
        sub = c[(c["source_system"] == sys_) & (c["kind"] == kind)]
        grid = sub.pivot(index="field", columns="month", values="share_present").sort_index()
        im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        ax.set_yticks(range(len(grid.index)), list(grid.index))
        months = [pd.Timestamp(m).strftime("%Y-%m") for m in grid.columns]
        step = max(1, len(months) // 12)
        ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
        gaps = sub[sub["gap"]]
        for _, g in gaps.iterrows():
            ax.plot(list(grid.columns).index(g["month"]), list(grid.index).index(g["field"]), marker="x",
                    color=PALETTE["vermillion"], markersize=8)
        ax.set_title(f"Share of {sys_} {kind} records with each field filled (x = gap)")
        ax.figure.colorbar(im, ax=ax, label="share present")

    def plot(self, ax=None):
        fig = super().plot(ax)
        if ax is None:
            fig.tight_layout()
        return fig

    def to_markdown(self) -> str:
        """The findings and the detailed tables as Markdown (for a report or an issue)."""
        parts = ["# Data quality profile", "", self.summary(), ""]
        for title, df in (("Findings", self.table), ("Late records", self.late_records),
                          ("Quarantined rows", self.quarantined), ("Duplicates", self.duplicates),
                          ("Code changes", self.codes[self.codes["status"] != "stable"] if self.codes is not None else None)):
            parts += [f"## {title}", "", _md_table(df), ""]
        return "\n".join(parts)


def _md_table(df: pd.DataFrame | None, max_rows: int = 50) -> str:
    # pandas' to_markdown needs the optional `tabulate` package; this small writer covers plain tables.
    if df is None or df.empty:
        return "_none_"
    d = df.head(max_rows)

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return ""
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m")
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v).replace("|", "\\|")

    rows = ["| " + " | ".join(d.columns) + " |", "|" + "---|" * len(d.columns)]
    rows += ["| " + " | ".join(cell(v) for v in r) + " |" for r in d.itertuples(index=False)]
    if len(df) > max_rows:
        rows.append(f"\n_{len(df) - max_rows} more rows_")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------- aggregates (SQL)


def _df(con, step: str, sql: str) -> pd.DataFrame:
    return run(con, step, sql).df()


def completeness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``source_system, kind, month, field, share_present, rows`` (fields never filled for a source/kind dropped)."""
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
        m = f.melt(id_vars=["source_system", "kind", "month", "rows"], value_vars=fields, var_name="field", value_name="present")
        long.append(m)
    cols = ["source_system", "kind", "month", "field", "share_present", "rows"]
    if not long:
        return pd.DataFrame(columns=cols + ["gap"])
    d = pd.concat(long, ignore_index=True)
    ever = d.groupby(["source_system", "kind", "field"])["present"].transform("sum")
    d = d[ever > 0].copy()
    d["share_present"] = d["present"] / d["rows"]
    d["month"] = pd.to_datetime(d["month"])
    d = d.sort_values(["source_system", "kind", "field", "month"], na_position="first").reset_index(drop=True)
    d["gap"] = _gaps(d)
    return d[cols + ["gap"]].reset_index(drop=True)


def _gaps(d: pd.DataFrame) -> pd.Series:
    """True where a month's share is a gap (module docstring): ≥ GAP_MIN_DROP below the usual share and
    binomial P(X ≤ present | rows, usual share) < GAP_P_VALUE."""
    usual = d.groupby(["source_system", "kind", "field"])["share_present"].transform("median")
    months = d.groupby(["source_system", "kind", "field"])["month"].transform("count")
    p_low = stats.binom.cdf(d["present"].to_numpy(), d["rows"].to_numpy(), usual.to_numpy().clip(0, 1))
    return (d["month"].notna() & (months >= 3) & (d["share_present"] <= usual - GAP_MIN_DROP)
            & (p_low < GAP_P_VALUE))


def codes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every value of the coded fields with its months and status (module docstring)."""
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
    share = d["rows"] / d["_t_all"]
    d["expected_missing"] = share * d["_t_absent"]
    m = d["months_in_span"].astype(float)
    with np.errstate(divide="ignore", under="ignore"):
        # a contiguous run of months: P(all the code's records fall inside it | constant share), times the number of
        # runs that could have been picked out; a run with gaps: P(none in the fullest month without it), times months.
        p_run = np.exp(d["rows"] * np.log(d["_t_present"] / d["_t_all"])) * m * (m + 1) / 2
        p_gap = np.exp(-share * d["_t_absent_max"]) * m
    d["p_value"] = np.where(d["status"] == "stable", 1.0, np.where(d["_contiguous"], p_run, p_gap)).clip(0, 1)
    d["notable"] = (d["status"] != "stable") & (d["p_value"] < CODE_P_VALUE)
    return d.drop(columns=[c for c in d.columns if c.startswith("_")])


def _batch_systems_sql() -> str:
    """batch_id -> source_system, from whichever table the batch loaded rows into."""
    return """SELECT batch_id, any_value(source_system) AS source_system FROM (
                SELECT batch_id, source_system FROM events
                UNION ALL SELECT batch_id, source_system FROM persons
                UNION ALL SELECT batch_id, source_system FROM event_persons) GROUP BY batch_id"""


def quarantine_counts(con: duckdb.DuckDBPyConnection, category: str) -> pd.DataFrame:
    """Quarantined rows of one category by ``source_system, format, reason`` with the share of rows read."""
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
    d = _df(con, f"count {category} rows", sql)
    d["share"] = d["rows"] / d["rows_read"].where(d["rows_read"] > 0)
    return d


def late_records(con: duckdb.DuckDBPyConnection, late_months: int) -> pd.DataFrame:
    """Late records by source and kind (module docstring), and police.uk outcome lags."""
    sql = f"""
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
    SELECT source_system, kind, 'arrived after later months were loaded' AS measure, sum(n)::BIGINT AS rows,
           (sum(n) FILTER (WHERE lag > {late_months}))::BIGINT AS late_rows, max(lag) AS max_lag_months
    FROM lag GROUP BY ALL
    UNION ALL
    SELECT source_system, kind, 'outcome recorded after the crime month' AS measure, sum(n)::BIGINT,
           (sum(n) FILTER (WHERE lag > {late_months}))::BIGINT, max(lag)
    FROM outcome_lag GROUP BY ALL
    ORDER BY source_system, kind, measure"""
    d = _df(con, "late records", sql)
    d["late_rows"] = d["late_rows"].fillna(0).astype("int64")
    d["share_late"] = d["late_rows"] / d["rows"]
    return d[["source_system", "kind", "measure", "rows", "late_rows", "share_late", "max_lag_months"]]


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


# ---------------------------------------------------------------------------------------------- findings


def _month(m) -> str:
    return pd.Timestamp(m).strftime("%Y-%m")


def _month_list(ms) -> str:
    ms = [_month(m) for m in ms]
    return ", ".join(ms[:4]) + (f" and {len(ms) - 4} more" if len(ms) > 4 else "")


def _code_change(r) -> str:
    if r.status == "appeared":
        return f"first appears in {_month(r.first_month)}"
    if r.status == "vanished":
        return f"is last seen in {_month(r.last_month)}"
    return f"comes and goes (present in {r.months_present} of the months from {_month(r.first_month)} to {_month(r.last_month)})"


def _findings(comp: pd.DataFrame, cds: pd.DataFrame, dup: pd.DataFrame, quar: pd.DataFrame, late: pd.DataFrame,
              late_months: int, cov: pd.DataFrame | None = None) -> pd.DataFrame:
    rows = []
    if cov is not None:
        for r in cov[cov["months_missing"] > 0].itertuples():
            rows.append((1, "coverage", r.source_system, r.kind, None,
                         f"{r.source_system} {r.kind} files for {r.force} are missing for {r.months_missing} of the "
                         f"{r.months + r.months_missing} months from {_month(r.first_month)} to {_month(r.last_month)}: "
                         f"{r.missing_months}. Nothing is loaded for those months (they are missing, not zero): "
                         "load them, or leave them out of trends and period totals.", int(r.months_missing)))
    gaps = comp[comp["gap"]]
    if not gaps.empty:
        usual = comp[comp["month"].notna()].groupby(["source_system", "kind", "field"])["share_present"].median()
        for (sys_, kind, fld), g in gaps.groupby(["source_system", "kind", "field"], sort=False):
            missing = int(round(((1 - g["share_present"]) * g["rows"]).sum()))
            worst = g.loc[g["share_present"].idxmin()]
            rows.append((1, "completeness", sys_, kind, fld,
                         f"{fld} of {sys_} {kind} records is much less complete in {_month_list(g['month'])} "
                         f"(lowest {worst['share_present']:.0%} in {_month(worst['month'])}, usually "
                         f"{usual[(sys_, kind, fld)]:.0%}): counts that use it will dip.", missing))
    if not cds.empty:
        changed = cds[cds["notable"]].sort_values("expected_missing", ascending=False)
        for (sys_, kind, fld), g in changed.groupby(["source_system", "kind", "field"], sort=False):
            why = ("outcomes change as investigations finish, so recent months hold more open cases and older months "
                   "more final outcomes" if fld == "outcome" and kind in ("crime", "asb") else
                   "check for a recoding, a new or retired category, or a change in what is recorded: any of them "
                   "breaks a trend line")
            if len(g) > CODE_FINDINGS_PER_FIELD:
                # many codes of one field shifting together is one finding, not a dozen
                top = "; ".join(f"'{r.value}' {_code_change(r)}" for r in g.head(CODE_FINDINGS_PER_FIELD).itertuples())
                rows.append((1, "codes", sys_, kind, fld,
                             f"{len(g)} values of {fld} in {sys_} {kind} records change over time, e.g. {top}: {why}.",
                             int(round(g["expected_missing"].sum()))))
                continue
            for r in g.itertuples():
                rows.append((1, "codes", sys_, kind, fld,
                             f"{fld} '{r.value}' in {sys_} {kind} records {_code_change(r)} ({r.rows:,} records; at its "
                             f"usual share about {r.expected_missing:,.0f} more were expected in the months without it): {why}.",
                             int(round(r.expected_missing))))
    for area, d in (("quarantined", quar), ("duplicates", dup)):
        if d.empty:
            continue
        for (sys_, fmt), g in d.groupby(["source_system", "format"], sort=False):
            total = int(g["rows"].sum())
            share = total / g["rows_read"].iloc[0] if g["rows_read"].iloc[0] else 1.0
            if share < QUARANTINE_MIN_SHARE:
                continue
            top = g.sort_values("rows", ascending=False).iloc[0]
            verb = "were quarantined as invalid" if area == "quarantined" else "were skipped as duplicates"
            rows.append((2, area, sys_, None, None,
                         f"{total:,} row{'s' if total != 1 else ''} ({share:.1%}) of {sys_} {fmt} files {verb}; most often: "
                         f"{top['reason']} ({int(top['rows']):,}).", total))
    for r in late[late["late_rows"] > 0].itertuples():
        if r.measure.startswith("outcome"):
            text = (f"{r.share_late:.0%} of {r.source_system} outcomes were recorded more than {late_months} months after "
                    f"the crime month (up to {r.max_lag_months}): detection figures for recent months will still rise.")
        else:
            text = (f"{r.late_rows:,} {r.source_system} {r.kind} records ({r.share_late:.1%}) arrived more than {late_months} "
                    f"months after later months were already loaded (up to {r.max_lag_months} months late): "
                    "past months' figures moved after they were first reported.")
        rows.append((3, "late records", r.source_system, r.kind, None, text, int(r.late_rows)))
    out = pd.DataFrame(rows, columns=["priority", "area", "source_system", "kind", "field", "detail", "rows_affected"])
    return out.sort_values(["priority", "rows_affected"], ascending=[True, False], kind="stable").reset_index(drop=True)


def profile(con: duckdb.DuckDBPyConnection, *, late_months: int | None = None) -> QualityProfile:
    """Profile the store's data quality (see the module docstring for every definition).

    Parameters
    ----------
    con : duckdb connection to a whatworks store
    late_months : int, optional
        A record is late when it arrived after the store already held its source's records for a month more
        than this many months after its own month (police.uk outcomes: recorded more than this many months after
        the crime month). ``None`` (not given) means 2. Recorded in ``.settings`` with source "user" when you pass
        it — even 2 — and "default" when you leave it out.

    Returns
    -------
    QualityProfile
        ``.table`` (findings, most important first), ``.completeness``, ``.codes``, ``.duplicates``,
        ``.quarantined``, ``.late_records``; ``summary()`` says what to look at first.

    Examples
    --------
    >>> import whatworks as ww
    >>> store = ww.Store(":memory:")
    >>> store.quality().records
    0
    """
    # None = not given: an explicit late_months=2 is still recorded as the user's
    if late_months is not None:
        check_number("quality", "late_months", late_months, low=0, integer=True)
        late_months = int(late_months)
    settings: dict[str, Setting] = {}
    late_months = given_or_default(settings, "late_months", late_months, DEFAULT_LATE_MONTHS,
                                   reason="a record is late when it arrives more than this many months after later "
                                          "months were loaded", unit="months")
    records = int(run(con, "count records", "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM persons)").fetchone()[0])
    comp = completeness(con)
    cds = codes(con)
    dup = quarantine_counts(con, "duplicate")
    quar = quarantine_counts(con, "invalid")
    late = late_records(con, late_months)
    cov = coverage_summary(coverage(con))
    findings = _findings(comp, cds, dup, quar, late, late_months, cov)
    return QualityProfile(table=findings, settings=settings, completeness=comp, codes=cds, duplicates=dup,
                          quarantined=quar, late_records=late, coverage=cov, records=records)


__all__ = ["QualityProfile", "profile", "completeness", "codes", "late_records", "quarantine_counts", "coverage",
           "coverage_summary", "month_ranges"]
