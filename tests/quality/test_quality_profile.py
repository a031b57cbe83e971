"""The data-quality profile (whatworks.quality, from the store's counts) on a store with known injected problems: a field blank for one month,
codes that appear, vanish and come and go, late records, duplicates and quarantined rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.quality import profiling as qp
from whatworks.quality import profile

POLICEUK = Path(__file__).parents[1] / "store" / "fixtures" / "policeuk"

MAPPING = """version = 1
source_system = "gapshire-rms"
force = "Gapshire Police"
[[files]]
pattern = "crimes_*.csv"
table = "crimes"
[files.columns]
reference = "Ref"
occurred = "When"
crime_type = "Type"
lsoa_code = "LSOA"
location = "Where"
[files.formats]
occurred = "%d/%m/%Y %H:%M"
[[files]]
pattern = "people.csv"
table = "persons"
[files.columns]
person_id = "Id"
dob = "Born"
postcode = "Postcode"
"""

MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")
GAP_MONTH = pd.Timestamp("2024-05-01")        # lsoa_code blank for the whole month
SHOP_FROM = pd.Timestamp("2024-07-01")        # 'Shoplifting' first appears
BIKE_UNTIL = pd.Timestamp("2024-08-01")       # 'Bicycle theft' last seen
ROBBERY_MISSING = pd.Timestamp("2024-04-01")  # 'Robbery' absent in one month only
LATE_FILE = pd.Timestamp("2024-10-01")        # this month's file also carries 5 records from March, 3 from August


def _rows_for(month: pd.Timestamp, rng) -> list[tuple]:
    rows = []
    types = [("Burglary", 20), ("Violence and sexual offences", 30)]
    if month >= SHOP_FROM:
        types.append(("Shoplifting", 10))
    if month <= BIKE_UNTIL:
        types.append(("Bicycle theft", 8))
    if month != ROBBERY_MISSING:
        types.append(("Robbery", 20))
    types.append(("Drugs", 1 if month.month % 2 else 0))  # rare and intermittent: listed, not reported
    i = 0
    for t, n in types:
        for _ in range(n):
            i += 1
            when = month + pd.Timedelta(days=int(rng.integers(0, 28)), minutes=int(rng.integers(0, 1440)))
            lsoa = "" if month == GAP_MONTH else f"E0100{rng.integers(1000, 9999)}"
            where = "On or near High Street" if rng.random() < 0.5 else ""  # ~50% filled every month: noise, not a gap
            rows.append((f"{month:%Y%m}-{i:04d}", when.strftime("%d/%m/%Y %H:%M"), t, lsoa, where))
    return rows


@pytest.fixture(scope="module")
def gapshire(tmp_path_factory):
    rng = np.random.default_rng(20240501)
    d = tmp_path_factory.mktemp("gapshire")
    (d / "mapping.toml").write_text(MAPPING)
    for month in MONTHS:
        rows = _rows_for(month, rng)
        if month == LATE_FILE:
            rows += [(f"LATE-03-{k}", f"1{k}/03/2024 10:00", "Burglary", "E01001234", "") for k in range(5)]
            rows += [(f"LATE-08-{k}", f"1{k}/08/2024 10:00", "Burglary", "E01001234", "") for k in range(3)]
            rows += [(rows[0][0], rows[0][1], "Burglary", "E01001234", "")]          # a duplicate within the file
            rows += [("202401-0001", "01/10/2024 10:00", "Burglary", "E01001234", "")]  # and one of January's
            rows += [("BAD-1", "31/09/2024 10:00", "Burglary", "", "")]              # an impossible date
        text = "Ref,When,Type,LSOA,Where\n" + "".join(",".join(r) + "\n" for r in rows)
        (d / f"crimes_{month:%Y-%m}.csv").write_text(text)
    (d / "people.csv").write_text("Id,Born,Postcode\nA,1990-01-01,LS1 1AA\nB,,LS1 1AB\nC,1985-06-30,\n")
    s = ww.Store(":memory:")
    rep = s.ingest_records(d, d / "mapping.toml")
    assert rep.files_loaded == 13
    yield s
    s.close()


@pytest.fixture(scope="module")
def prof(gapshire):
    return profile(gapshire.quality_counts())


# ---------------------------------------------------------------- CHECK OUTPUTS: completeness
def test_completeness_shares_by_source_kind_month(prof, gapshire):
    c = prof.completeness
    assert list(c.columns) == ["source_system", "kind", "month", "field", "share_present", "rows", "gap"]
    lsoa = c[(c["field"] == "lsoa_code") & (c["kind"] == "crime")].set_index("month")
    assert lsoa.loc[GAP_MONTH, "share_present"] == 0.0
    assert (lsoa.drop(GAP_MONTH)["share_present"] == 1.0).all()
    # rows per month agree with the store
    n = gapshire.sql("SELECT month, count(*) AS n FROM events GROUP BY month").set_index("month")["n"]
    n.index = pd.to_datetime(n.index)
    assert (lsoa["rows"] == n.reindex(lsoa.index)).all()
    # persons have no month
    p = c[c["kind"] == "person"].set_index("field")
    assert p.loc["dob", "share_present"] == pytest.approx(2 / 3) and pd.isna(p.loc["dob", "month"])
    # fields the source never fills are left out (no outcome, no coordinates in this export)
    assert not {"outcome", "coordinates", "lsoa_name"} & set(c.loc[c["source_system"] == "gapshire-rms", "field"])


def test_blank_month_is_the_only_gap(prof):
    gaps = prof.completeness[prof.completeness["gap"]]
    assert gaps[["field", "month"]].values.tolist() == [["lsoa_code", GAP_MONTH]]


def test_gap_rule_needs_a_drop_that_chance_does_not_explain():
    d = pd.DataFrame({"source_system": "s", "kind": "crime", "field": "f",
                      "month": pd.date_range("2024-01-01", periods=5, freq="MS"),
                      "rows": [100, 100, 100, 10, 100], "present": [90, 92, 88, 6, 70]})
    d["share_present"] = d["present"] / d["rows"]
    # month 4: 60% of 10 against a usual 88%: P(X <= 6 | 10, 0.88) = 0.02, chance; month 5: 70% of 100 is not
    assert qp._gaps(d).tolist() == [False, False, False, False, True]


# ---------------------------------------------------------------- codes
def test_code_statuses(prof, gapshire):
    c = prof.codes[(prof.codes["field"] == "crime_type") & (prof.codes["kind"] == "crime")].set_index("value")
    assert c.loc["Shoplifting", "status"] == "appeared" and c.loc["Shoplifting", "first_month"] == SHOP_FROM
    assert c.loc["Bicycle theft", "status"] == "vanished" and c.loc["Bicycle theft", "last_month"] == BIKE_UNTIL
    assert c.loc["Robbery", "status"] == "intermittent" and c.loc["Robbery", "months_present"] == 11
    assert c.loc["Burglary", "status"] == "stable" and c.loc["Burglary", "months_present"] == 12
    assert (c["months_in_span"] == 12).all()
    assert c.loc["Shoplifting", "rows"] == 60
    # at its overall share, January-June would have held this many Shoplifting records (independent pandas check)
    ev = gapshire.sql("SELECT month, crime_type FROM events WHERE kind = 'crime'")
    present = ev["month"] >= SHOP_FROM
    share = (ev["crime_type"] == "Shoplifting").mean()
    assert c.loc["Shoplifting", "expected_missing"] == pytest.approx(share * (~present).sum(), rel=1e-12)
    assert c.loc["Shoplifting", "p_value"] == pytest.approx(present.mean() ** 60 * 12 * 13 / 2, rel=1e-9)
    robbery_share = (ev["crime_type"] == "Robbery").mean()
    april = (ev["month"] == ROBBERY_MISSING).sum()
    assert c.loc["Robbery", "p_value"] == pytest.approx(np.exp(-robbery_share * april) * 12, rel=1e-9)
    assert c.loc[["Shoplifting", "Bicycle theft", "Robbery"], "notable"].all()
    assert c.loc["Drugs", "status"] == "intermittent" and not c.loc["Drugs", "notable"]
    assert not c.loc["Burglary", "notable"]


def test_code_status_rules_on_a_tiny_store():
    with ww.Store(":memory:") as s:
        s.sql("""INSERT INTO events (event_id, kind, month, time_precision, crime_type, source_system,
                                     source_row, batch_id)
                 SELECT row_number() OVER (), 'crime', m::DATE, 'month', t, 'x', 2, 1 FROM (VALUES
                   ('2024-01-01', 'A'), ('2024-02-01', 'A'), ('2024-03-01', 'A'), ('2024-04-01', 'A'),
                   ('2024-02-01', 'B'), ('2024-03-01', 'B'), ('2024-04-01', 'B'),
                   ('2024-01-01', 'C'), ('2024-02-01', 'C'),
                   ('2024-01-01', 'D'), ('2024-03-01', 'D'), ('2024-04-01', 'D'),
                   ('2024-02-01', 'E'), ('2024-03-01', 'E')) v(m, t)""")
        c = qp.codes(s.quality_counts().codes).set_index("value")["status"].to_dict()
    assert c == {"A": "stable", "B": "appeared", "C": "vanished", "D": "intermittent", "E": "intermittent"}


# ---------------------------------------------------------------- duplicates, quarantine, late records
def test_duplicates_and_quarantined_by_source(prof):
    d = prof.duplicates.set_index("reason")
    assert d.loc["reference already in the store", "rows"] == 1
    assert d.loc["reference repeated within the file", "rows"] == 1
    assert set(d["source_system"]) == {"gapshire-rms"} and set(d["format"]) == {"records:crimes"}
    q = prof.quarantined
    assert q["rows"].sum() == 1 and "unparseable occurred" in q["reason"].iloc[0]
    assert q["rows_read"].iloc[0] == q["rows"].sum() + d["rows"].sum() + prof.records - 3  # 3 persons


def test_late_records(prof):
    late = prof.late_records.set_index(["kind", "measure"])
    row = late.loc[("crime", "arrived after later months were loaded")]
    # the March records arrived when September was the latest month loaded: 6 months late; August's: 1, on time
    assert row["late_rows"] == 5 and row["max_lag_months"] == 6
    assert row["share_late"] == pytest.approx(5 / row["rows"])


def test_late_threshold_is_a_setting(gapshire):
    p = profile(gapshire.quality_counts(), late_months=0)
    row = p.late_records.set_index("kind").loc["crime"]
    assert row["late_rows"] == 8  # August's 3 now count too
    assert p.settings["late_months"].value == 0
    with pytest.raises(WhatworksError, match="'late_months' parameter must be an integer >= 0"):
        profile(gapshire.quality_counts(), late_months=-1)


def test_explicit_late_months_equal_to_default_is_recorded_as_given(gapshire):
    # review: late_months=2 passed explicitly was recorded as a default ("user" if late_months != 2 else "default")
    given = profile(gapshire.quality_counts(), late_months=2)
    omitted = profile(gapshire.quality_counts())
    assert (given.settings["late_months"].value, given.settings["late_months"].source) == (2, "user")
    assert (omitted.settings["late_months"].value, omitted.settings["late_months"].source) == (2, "default")
    assert given.settings["late_months"].unit == omitted.settings["late_months"].unit == "months"
    # omitting it still means 2 months: the same late records and findings
    pd.testing.assert_frame_equal(given.late_records, omitted.late_records)
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert profile(gapshire.quality_counts(), late_months=0).settings["late_months"].source == "user"


def test_policeuk_outcome_lag():
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(POLICEUK)
        p = profile(s.quality_counts(), late_months=0)
        out = p.late_records[p.late_records["measure"] == "outcome recorded after the crime month"]
        n_out = s.sql("""SELECT count(*) AS n FROM events o JOIN events c ON c.reference = o.reference
                         AND c.kind IN ('crime', 'asb') WHERE o.kind = 'outcome'""")["n"].iloc[0]
        assert out["rows"].iloc[0] == n_out
        lag = s.sql("""SELECT count(*) FILTER (WHERE date_diff('month', c.month, o.month) > 0) AS n FROM events o
                       JOIN events c ON c.reference = o.reference AND c.kind IN ('crime', 'asb') WHERE o.kind = 'outcome'""")
        assert out["late_rows"].iloc[0] == lag["n"].iloc[0] > 0 and n_out > 0
        assert set(p.completeness["source_system"]) == {"police.uk"}


# ---------------------------------------------------------------- findings and summary
def test_findings_put_gaps_and_code_changes_first(prof):
    t = prof.table
    assert t["priority"].is_monotonic_increasing
    first = t[t["priority"] == 1]
    assert set(first["area"]) == {"completeness", "codes"}
    assert set(first.loc[first["area"] == "codes", "detail"].str.extract(r"'(.+?)'")[0]) == {
        "Shoplifting", "Bicycle theft", "Robbery"}
    assert {"quarantined", "duplicates", "late records"} <= set(t["area"])


def test_summary_reads_plainly(prof):
    text = prof.summary()
    assert text.startswith(f"Data quality of {prof.records:,} records from 1 source system(s)")
    assert "lsoa_code of gapshire-rms crime records is much less complete in 2024-05 (lowest 0% in 2024-05" in text
    assert "crime_type 'Shoplifting' in gapshire-rms crime records first appears in 2024-07" in text
    assert "crime_type 'Bicycle theft' in gapshire-rms crime records is last seen in 2024-08" in text
    assert repr(prof).startswith("<QualityProfile: ")


def test_markdown_and_plot(prof):
    md = prof.to_markdown()
    assert md.startswith("# Data quality profile") and "## Findings" in md and "| priority | area |" in md
    fig = prof.plot()
    ax = fig.axes[0]
    assert "gapshire-rms crime" in ax.get_title()
    assert len(ax.lines) == 1  # the one gap is marked
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_empty_store_and_clean_store():
    with ww.Store(":memory:") as s:
        p = profile(s.quality_counts())
        assert p.records == 0 and p.table.empty and "empty" in p.summary()
        s.sql("""INSERT INTO events (event_id, kind, month, time_precision, crime_type, source_system,
                                     source_row, batch_id)
                 SELECT i, 'crime', DATE '2024-01-01' + INTERVAL (i % 3) MONTH, 'month', 'Burglary', 'x', i, 1
                 FROM range(30) t(i)""")
        p = profile(s.quality_counts())
        assert p.table.empty and "no completeness gaps, code changes" in p.summary()


def test_many_changes_in_one_field_are_one_finding():
    cds = pd.DataFrame({
        "source_system": "s", "kind": "crime", "field": "outcome", "value": list("ABCDE"),
        "first_month": pd.Timestamp("2024-01-01"), "last_month": pd.Timestamp("2024-06-01"), "months_present": 6,
        "months_in_span": 12, "rows": 100, "status": "vanished", "expected_missing": [50.0, 40, 30, 20, 10],
        "p_value": 1e-9, "notable": True})
    empty_q = pd.DataFrame(columns=["source_system", "format", "reason", "rows", "rows_read", "share"])
    empty_l = pd.DataFrame(columns=["source_system", "kind", "measure", "rows", "late_rows", "share_late", "max_lag_months"])
    comp = pd.DataFrame(columns=["source_system", "kind", "month", "field", "share_present", "rows", "gap"]).astype({"gap": bool})
    t = qp._findings(comp, cds, empty_q, empty_q, empty_l, 2)
    assert len(t) == 1 and t["rows_affected"].iloc[0] == 150
    assert t["detail"].iloc[0].startswith("5 values of outcome in s crime records change over time, e.g. 'A' is last "
                                          "seen in 2024-06; 'B' is last seen in 2024-06; 'C'")


def test_summary_of_a_store_whose_every_row_was_quarantined_is_not_empty(tmp_path):
    # review regression: records == 0 made summary() say "empty" and hide the 100%-quarantined finding.
    # Issue 11: a file with every row invalid now fails whole, so nothing of it reaches the store (not even the
    # quarantine): the report says so, and the store is truly empty.
    h = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
         "Last outcome category,Context\n")
    (tmp_path / "2024-01-x-street.csv").write_text(h + "a,2024-13,F,F,,,,,,Burglary,,\nb,bad,F,F,,,,,,Burglary,,\n")
    with ww.Store(":memory:") as s:
        rep = s.ingest_policeuk(tmp_path)
        assert [f.status for f in rep.files] == ["failed"] and rep.rows_failed == 2
        assert "unparseable Month" in rep.files[0].hint or "Month" in rep.files[0].hint
        assert len(s.quarantine()) == 0 and len(s.batches()) == 0
        q = profile(s.quality_counts())
    assert q.records == 0 and q.table.empty
    assert "empty" in q.summary()


def test_the_store_counts_and_the_profile_makes_the_statistics():
    """Issue 17: the store computes no statistics. Its counts carry no share, gap, p-value or late flag; the old
    Store.quality() is a clear error naming the new call."""
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(POLICEUK)
        c = s.quality_counts()
        assert {"share_present", "gap"}.isdisjoint(c.completeness.columns)
        assert {"p_value", "notable", "expected_missing"}.isdisjoint(c.codes.columns)
        assert "share" not in c.quarantined.columns and "late_rows" not in c.lags.columns
        with pytest.raises(WhatworksError, match="moved out of the store") as exc:
            s.quality()
        assert "whatworks.quality.profile(store.quality_counts()" in str(exc.value)
        with pytest.raises(WhatworksError, match="quality counts"):
            profile(s)
