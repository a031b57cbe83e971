"""The data-quality profile of a store: what an analyst should know about the data before trusting any count.

``profile(con)`` (``Store.quality()``) answers, by source system and month:

* **completeness** — the share of records with each field filled, by (source_system, kind, month). A field that is
  never filled for a source and kind (a column the source does not have) is left out: absence is not a gap.
  A *gap* is a month where a field's share falls at least :data:`GAP_MIN_DROP` below its usual share (the median
  over the source's months) and the fall is too large for chance: the binomial probability of so few filled
  values at the usual share is below :data:`GAP_P_VALUE`.
* **codes** — every value of the coded fields (crime type, outcome, stop-and-search vocabularies, person roles) with
  the first and last month it is seen and the months it is present in. Against the months the source has data
  (its *span*): ``stable`` = present from the first to the last month without a break; ``appeared`` = first seen
  after the span starts; ``vanished`` = last seen before it ends; ``intermittent`` = missing in some month in
  between, or both appeared and vanished.
* **duplicates** and **quarantined** — rows skipped as duplicates / quarantined as invalid, by source system,
  file format and reason, with the share of the rows read.
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

from whatworks._announce import Setting
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number
from whatworks.store._sql import run

# Completeness gaps (module docstring): the fall below the usual share that matters, and the chance threshold.
GAP_MIN_DROP = 0.10
GAP_P_VALUE = 0.001
# A code change is reported in the summary only when the code averaged at least this many records a month while
# present: a Poisson count with mean 5 is zero in a given month with probability e^-5 < 1%, so its absence is
# unlikely to be chance. Rarer codes are still listed in `codes`.
CODE_MIN_MONTHLY = 5
# A source's invalid or duplicate rows are reported in the summary above this share of the rows read.
QUARANTINE_MIN_SHARE = 0.001
DEFAULT_LATE_MONTHS = 2

# Fields profiled for completeness: name -> SQL over `events e` (value present when not NULL / true).
EVENT_FIELDS: dict[str, str] = {
    "reference": "e.reference IS NOT NULL",
    "crime_type": "e.crime_type IS NOT NULL",
    "outcome": "e.outcome IS NOT NULL",
    "time_of_day": "e.time_precision = 'minute'",
    "coordinates": "e.x IS NOT NULL",
    "location": "e.location IS NOT NULL",
    "lsoa_code": "e.lsoa_code IS NOT NULL",
    "lsoa_name": "e.lsoa_name IS NOT NULL",
    "force": "e.force IS NOT NULL",
}
STOP_FIELDS = ("search_type", "part_of_operation", "operation_name", "gender", "age_range", "self_defined_ethnicity",
               "officer_defined_ethnicity", "legislation", "object_of_search", "outcome_linked_to_object",
               "removal_of_more_than_outer_clothing", "person_id")
PERSON_FIELDS = ("first_name", "surname", "dob", "sex", "ethnicity", "postcode")
# Coded fields: name -> (SQL value over `e` / `s`, needs the stop_searches join).
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
        ``source_system, kind, field, value, first_month, last_month, months_present, months_in_span, rows, status``.
    duplicates, quarantined : DataFrame
        ``source_system, format, reason, rows, rows_read, share``.
    late_records : DataFrame
        ``source_system, kind, measure, rows, late_rows, share_late, max_lag_months``.
    settings : dict
        ``late_months``.
    """

    completeness: pd.DataFrame = None
    codes: pd.DataFrame = None
    duplicates: pd.DataFrame = None
    quarantined: pd.DataFrame = None
    late_records: pd.DataFrame = None
    records: int = 0

    def summary(self, *, max_findings: int = 8) -> str:
        """What to look at first, in plain English."""
        if self.records == 0:
            return ("The store is empty: nothing to profile yet. Load data with store.ingest_policeuk(...) "
                    "or store.ingest_records(...).")
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
    ev = ", ".join(f"count(*) FILTER (WHERE {expr}) AS {name}" for name, expr in EVENT_FIELDS.items())
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
    parts.append("""SELECT p.source_system, e.kind, 'role' AS field, p.role AS value, e.month, count(*) AS n
                    FROM event_persons p JOIN (SELECT source_system, reference, any_value(kind) AS kind, min(month) AS month
                                               FROM events WHERE kind <> 'outcome' AND reference IS NOT NULL
                                               GROUP BY ALL) e USING (source_system, reference)
                    GROUP BY ALL""")
    sql = f"""
    WITH counts AS ({' UNION ALL '.join(parts)}),
    data_months AS (SELECT DISTINCT source_system, kind, month FROM events),
    span AS (SELECT source_system, kind, min(month) AS span_first, max(month) AS span_last FROM data_months GROUP BY ALL),
    per_code AS (
      SELECT source_system, kind, field, value, min(month) AS first_month, max(month) AS last_month,
             count(DISTINCT month) AS months_present, sum(n) AS rows
      FROM counts GROUP BY ALL),
    between_ AS (
      SELECT c.source_system, c.kind, c.field, c.value, count(*) AS months_between
      FROM per_code c JOIN data_months m ON m.source_system = c.source_system AND m.kind = c.kind
        AND m.month BETWEEN c.first_month AND c.last_month
      GROUP BY ALL),
    in_span AS (SELECT source_system, kind, count(*) AS months_in_span FROM data_months GROUP BY ALL)
    SELECT c.source_system, c.kind, c.field, c.value, c.first_month, c.last_month, c.months_present,
           i.months_in_span, c.rows::BIGINT AS rows,
           CASE WHEN c.months_present < b.months_between
                  OR (c.first_month > s.span_first AND c.last_month < s.span_last) THEN 'intermittent'
                WHEN c.first_month > s.span_first THEN 'appeared'
                WHEN c.last_month < s.span_last THEN 'vanished'
                ELSE 'stable' END AS status
    FROM per_code c JOIN span s USING (source_system, kind) JOIN in_span i USING (source_system, kind)
    JOIN between_ b USING (source_system, kind, field, value)
    ORDER BY c.source_system, c.kind, c.field, c.rows DESC, c.value"""
    d = _df(con, "code values over time", sql)
    for col in ("first_month", "last_month"):
        d[col] = pd.to_datetime(d[col])
    return d


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
    outcome_lag AS (
      SELECT o.source_system, 'outcome' AS kind, 1 AS n, greatest(date_diff('month', c.month, o.month), 0) AS lag
      FROM events o JOIN (SELECT source_system, reference, min(month) AS month FROM events
                          WHERE kind IN ('crime', 'asb') AND reference IS NOT NULL GROUP BY ALL) c
        USING (source_system, reference)
      WHERE o.kind = 'outcome')
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


# ---------------------------------------------------------------------------------------------- findings


def _month(m) -> str:
    return pd.Timestamp(m).strftime("%Y-%m")


def _month_list(ms) -> str:
    ms = [_month(m) for m in ms]
    return ", ".join(ms[:4]) + (f" and {len(ms) - 4} more" if len(ms) > 4 else "")


def _findings(comp: pd.DataFrame, cds: pd.DataFrame, dup: pd.DataFrame, quar: pd.DataFrame, late: pd.DataFrame,
              late_months: int) -> pd.DataFrame:
    rows = []
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
        monthly = cds["rows"] / cds["months_present"]
        changed = cds[(cds["status"] != "stable") & (monthly >= CODE_MIN_MONTHLY)]
        for r in changed.itertuples():
            if r.status == "appeared":
                what = f"first appears in {_month(r.first_month)}"
            elif r.status == "vanished":
                what = f"is last seen in {_month(r.last_month)}"
            else:
                what = (f"comes and goes (present in {r.months_present} of the months from {_month(r.first_month)} "
                        f"to {_month(r.last_month)})")
            rows.append((1, "codes", r.source_system, r.kind, r.field,
                         f"{r.field} '{r.value}' in {r.source_system} {r.kind} records {what}; {r.rows:,} records. "
                         "A recoding or a new category breaks a trend line.", int(r.rows)))
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


def profile(con: duckdb.DuckDBPyConnection, *, late_months: int = DEFAULT_LATE_MONTHS) -> QualityProfile:
    """Profile the store's data quality (see the module docstring for every definition).

    Parameters
    ----------
    con : duckdb connection to a whatworks store
    late_months : int, default 2
        A record is late when it arrived after the store already held its source's records for a month more
        than this many months after its own month (police.uk outcomes: recorded more than this many months after
        the crime month).

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
    check_number("quality", "late_months", late_months, low=0, integer=True)
    late_months = int(late_months)
    records = int(run(con, "count records", "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM persons)").fetchone()[0])
    comp = completeness(con)
    cds = codes(con)
    dup = quarantine_counts(con, "duplicate")
    quar = quarantine_counts(con, "invalid")
    late = late_records(con, late_months)
    findings = _findings(comp, cds, dup, quar, late, late_months)
    settings = {"late_months": Setting(late_months, "user" if late_months != DEFAULT_LATE_MONTHS else "default",
                                       "a record is late when it arrives more than this many months after later months "
                                       "were loaded", "months")}
    return QualityProfile(table=findings, settings=settings, completeness=comp, codes=cds, duplicates=dup,
                          quarantined=quar, late_records=late, records=records)


__all__ = ["QualityProfile", "profile", "completeness", "codes", "late_records", "quarantine_counts"]
