"""The data-quality profile of a store: what an analyst should know about the data before trusting any count.

``profile(store.quality_counts())`` (``whatworks quality`` on the command line) answers, by source system and month.
The store only counts (:meth:`whatworks.Store.quality_counts`: SQL aggregates, one scan of ``events`` per question);
every test and threshold below is made here, from those counts (issue 17: the store computes no statistics):

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

The counts are SQL aggregates in DuckDB, so a store of millions of records profiles in seconds; only the small
aggregates come back to pandas.

>>> import whatworks as ww
>>> q = ww.quality.profile(ww.Store(":memory:").quality_counts())
>>> q.summary()
'The store is empty: nothing to profile yet. Load data with store.ingest_policeuk(...) or store.ingest_records(...).'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number
from whatworks.errors import error

WHERE = "quality.profile"
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



# ---------------------------------------------------------------------------------------------- statistics


def completeness(counts: pd.DataFrame) -> pd.DataFrame:
    """``source_system, kind, month, field, share_present, rows, gap`` from the store's completeness counts
    (``source_system, kind, month, field, present, rows``; fields never filled for a source/kind are dropped)."""
    cols = ["source_system", "kind", "month", "field", "share_present", "rows"]
    if counts is None or counts.empty:
        return pd.DataFrame(columns=cols + ["gap"])
    d = counts.copy()
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


def codes(code_months: pd.DataFrame) -> pd.DataFrame:
    """Every value of the coded fields with its months, status, ``expected_missing``, ``p_value`` and ``notable``
    (module docstring), from the store's code counts (:meth:`Store.quality_counts` ``.codes``)."""
    d = code_months.copy()
    for col in ("first_month", "last_month"):
        d[col] = pd.to_datetime(d[col])
    share = d["rows"] / d["t_all"]
    d["expected_missing"] = share * d["t_absent"]
    m = d["months_in_span"].astype(float)
    with np.errstate(divide="ignore", under="ignore"):
        # a contiguous run of months: P(all the code's records fall inside it | constant share), times the number of
        # runs that could have been picked out; a run with gaps: P(none in the fullest month without it), times months.
        p_run = np.exp(d["rows"] * np.log(d["t_present"] / d["t_all"])) * m * (m + 1) / 2
        p_gap = np.exp(-share * d["t_absent_max"]) * m
    d["p_value"] = np.where(d["status"] == "stable", 1.0, np.where(d["contiguous"].astype(bool), p_run, p_gap)).clip(0, 1)
    d["notable"] = (d["status"] != "stable") & (d["p_value"] < CODE_P_VALUE)
    return d.drop(columns=["contiguous", "t_present", "t_all", "t_absent", "t_absent_max"])


def quarantine_shares(d: pd.DataFrame) -> pd.DataFrame:
    """The store's quarantine counts with ``share`` = rows / rows read."""
    d = d.copy()
    d["share"] = d["rows"] / d["rows_read"].where(d["rows_read"] > 0)
    return d


def late_records(lags: pd.DataFrame, late_months: int) -> pd.DataFrame:
    """Late records by source and kind (module docstring), from the store's lag counts (``source_system, kind,
    measure, lag, rows``: rows per whole-month lag)."""
    cols = ["source_system", "kind", "measure", "rows", "late_rows", "share_late", "max_lag_months"]
    if lags is None or lags.empty:
        return pd.DataFrame(columns=cols)
    g = lags.assign(_late=lags["rows"].where(lags["lag"] > late_months, 0))
    d = (g.groupby(["source_system", "kind", "measure"], sort=True)
         .agg(rows=("rows", "sum"), late_rows=("_late", "sum"), max_lag_months=("lag", "max")).reset_index())
    d["rows"] = d["rows"].astype("int64")
    d["late_rows"] = d["late_rows"].astype("int64")
    d["share_late"] = d["late_rows"] / d["rows"]
    return d[cols]


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


def profile(counts, *, late_months: int | None = None) -> QualityProfile:
    """Profile a store's data quality from its counts (see the module docstring for every definition).

    Parameters
    ----------
    counts : whatworks.store.QualityCounts
        ``store.quality_counts()``: the store's aggregates (completeness, code months, quarantine, record lags,
        coverage, the number of records).
    late_months : int, optional
        A record is late when it arrived after the store already held its source's records for a month more
        than this many months after its own month (police.uk outcomes: recorded more than this many months after
        the crime month). ``None`` (not given) means 2. Recorded in ``.settings`` with source "user" when you pass
        it — even 2 — and "default" when you leave it out.

    Returns
    -------
    QualityProfile
        ``.table`` (findings, most important first), ``.completeness``, ``.codes``, ``.duplicates``,
        ``.quarantined``, ``.late_records``, ``.coverage``; ``summary()`` says what to look at first.

    Examples
    --------
    >>> import whatworks as ww
    >>> ww.quality.profile(ww.Store(":memory:").quality_counts()).records
    0
    """
    need = ("completeness", "codes", "duplicates", "quarantined", "lags", "coverage", "records")
    if not all(hasattr(counts, a) for a in need):
        raise error(WHERE, "The 'counts' argument must be a store's quality counts.", got=type(counts).__name__,
                    hint="whatworks.quality.profile(store.quality_counts())")
    # None = not given: an explicit late_months=2 is still recorded as the user's
    if late_months is not None:
        check_number("quality", "late_months", late_months, low=0, integer=True)
        late_months = int(late_months)
    settings: dict[str, Setting] = {}
    late_months = given_or_default(settings, "late_months", late_months, DEFAULT_LATE_MONTHS,
                                   reason="a record is late when it arrives more than this many months after later "
                                          "months were loaded", unit="months")
    comp = completeness(counts.completeness)
    cds = codes(counts.codes)
    dup = quarantine_shares(counts.duplicates)
    quar = quarantine_shares(counts.quarantined)
    late = late_records(counts.lags, late_months)
    cov = counts.coverage
    findings = _findings(comp, cds, dup, quar, late, late_months, cov)
    return QualityProfile(table=findings, settings=settings, completeness=comp, codes=cds, duplicates=dup,
                          quarantined=quar, late_records=late, coverage=cov, records=int(counts.records))


__all__ = ["QualityProfile", "profile", "completeness", "codes", "late_records", "quarantine_shares",
           "GAP_MIN_DROP", "GAP_P_VALUE", "CODE_P_VALUE", "DEFAULT_LATE_MONTHS"]
