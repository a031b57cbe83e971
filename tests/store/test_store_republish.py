"""Republished police.uk months (issue 11): a later file for a (force, month, kind) is a new version of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import realshaped
import whatworks as ww
from whatworks.errors import IngestError

SMALL = dict(crimes_per_month=8, asb_per_month=3, stops_per_month=2)


def _content(s):
    """What the store holds, batch ids and row numbers of the load aside."""
    ev = s.sql("""SELECT kind, reference, month, crime_type, outcome, x, y, lsoa_code, force FROM events
                  ORDER BY ALL""")
    crimes = s.sql("SELECT crime_id, last_outcome_category FROM crimes ORDER BY ALL")
    cov = s.coverage().drop(columns=["batch_id"])
    return ev, crimes, cov


def _street(truth, asb: bool):
    t = truth.street
    return t[(t["Crime type"] == realshaped.ASB) == asb]


# ---------------------------------------------------------------------------------------------- whole archives
@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    kw = dict(first="2016-01", n_releases=2, window=36, withdraw=0.05, **SMALL)
    return realshaped.release_series(root, **kw), kw


def test_loading_a_36_month_archive_twice_changes_nothing_and_says_so(series):
    (first, _), _ = series
    with ww.Store(":memory:") as s:
        r1 = s.ingest_policeuk(first)
        assert r1.files_loaded == 36 * 3 and len(s.coverage("street")) == 36
        before = _content(s)
        r2 = s.ingest_policeuk(first)
        assert r2.files_already_loaded == 36 * 3 and r2.files_loaded == r2.files_replaced == 0
        assert r2.rows_read == 0 and "108 already in the store" in r2.summary()
        after = _content(s)
        for a, b in zip(before, after):
            assert a.equals(b)


def test_next_months_archive_adds_one_month_updates_outcomes_and_removes_withdrawn_rows(series):
    (first, second), kw = series
    latest = realshaped.series_expected(**kw)
    old = realshaped.series_expected(download=0, **kw)
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(first)
        n_asb_before = s.sql("SELECT count(*) AS n FROM asb")["n"].iloc[0]
        assert n_asb_before == len(_street(old, True))
        rep = s.ingest_policeuk(second)
        # 37 months now: 2016-01 .. 2019-01
        street = s.coverage("street")
        assert len(street) == 37
        assert street["month"].min().strftime("%Y-%m") == "2016-01" and street["month"].max().strftime("%Y-%m") == "2019-01"
        # every republished month that changed is "replaced"; the new month is "loaded"
        new_street = [f for f in rep.files if f.format == "policeuk_street" and f.status == "loaded"]
        assert [Path(f.source).name for f in new_street] == ["2019-01-northshire-street.csv"]
        replaced = [f for f in rep.files if f.format == "policeuk_street" and f.status == "replaced"]
        unchanged = [f for f in rep.files if f.format == "policeuk_street" and f.status == "already_loaded"]
        assert len(replaced) + len(unchanged) == 35
        # the store holds exactly the latest version of every month: crimes, ASB (not doubled), outcomes
        assert s.sql("SELECT count(*) AS n FROM crimes")["n"].iloc[0] == len(_street(latest, False))
        assert s.sql("SELECT count(*) AS n FROM asb")["n"].iloc[0] == len(_street(latest, True))
        ids = set(s.sql("SELECT crime_id FROM crimes")["crime_id"])
        assert ids == set(_street(latest, False)["Crime ID"])
        pub = dict(s.sql("SELECT crime_id, published_outcome_category FROM crimes").itertuples(index=False))
        want = dict(_street(latest, False)[["Crime ID", "Last outcome category"]].itertuples(index=False))
        assert pub == {k: (v or None) for k, v in want.items()}
        # the differences reported: rows removed = crimes withdrawn in the second download, outcomes changed
        w = latest.withdrawn
        w = w[(w["kind"] == "street") & (w["crime_id"] != "") & (w["withdrawn_in"] == 1)]
        assert sum(f.changes["rows_removed"] for f in replaced) == len(w) > 0
        ch = latest.outcome_changes
        assert sum(f.changes["outcome_changed"] for f in replaced) == len(ch[ch["release"] >= 1]) > 0
        assert sum(f.changes["rows_added"] for f in replaced) == 0   # republished months gain no new crimes
        for f in replaced:
            assert f.changes["rows_after"] == f.rows_loaded and f.replaced and f.duplicates_skipped == 0
            assert f.changes["asb_after"] <= f.changes["asb_before"]
        assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped
        # outcomes naming crimes outside the store are counted, not errors
        out = [f for f in rep.files if f.format == "policeuk_outcomes" and f.status in ("loaded", "replaced")]
        assert all(f.unmatched_outcomes is not None for f in out)
        ids = ", ".join(str(f.batch_id) for f in out)
        assert sum(f.unmatched_outcomes for f in out) == s.sql(
            f"""SELECT count(*) AS n FROM outcomes WHERE batch_id IN ({ids})
                AND crime_id NOT IN (SELECT crime_id FROM crimes)""")["n"].iloc[0]


def test_unload_of_the_newer_version_restores_the_older(series):
    (first, second), kw = series
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(first)
        before = _content(s)
        rep = s.ingest_policeuk(second)
        assert s.batches()["superseded_by"].notna().sum() == sum(len(f.replaced) for f in rep.files)
        for f in reversed(rep.files):
            if f.status in ("loaded", "replaced"):
                removed = s.unload(f.batch_id)
                assert removed["restored events"] == (f.changes.get("rows_before", 0) if f.status == "replaced" else 0)
        after = _content(s)
        for a, b in zip(before, after):
            assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
        assert s.sql("SELECT count(*) AS n FROM superseded")["n"].iloc[0] == 0
        assert s.sql("SELECT count(*) AS n FROM events_superseded")["n"].iloc[0] == 0


# ---------------------------------------------------------------------------------------------- one month, by hand
def _month(tmp_path, release, **extra):
    return realshaped.archive(tmp_path / f"r{release}", months=["2018-07"], release=release, withdraw=0.2,
                              **SMALL, **extra)


def test_asb_of_a_republished_month_is_not_doubled_and_crime_ids_are_not_duplicates(tmp_path):
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(_month(tmp_path, 0))
        t0 = realshaped.expected(months=["2018-07"], release=0, withdraw=0.2, **SMALL)
        t1 = realshaped.expected(months=["2018-07"], release=1, withdraw=0.2, **SMALL)
        rep = s.ingest_policeuk(_month(tmp_path, 1))
        (street,) = [f for f in rep.files if f.format == "policeuk_street"]
        assert street.status == "replaced" and street.duplicates_skipped == 0
        assert street.changes["asb_before"] == len(_street(t0, True))
        assert street.changes["asb_after"] == len(_street(t1, True))
        assert s.sql("SELECT count(*) AS n FROM asb")["n"].iloc[0] == len(_street(t1, True))
        assert s.sql("SELECT count(*) AS n FROM crimes")["n"].iloc[0] == len(_street(t1, False))
        assert "replaced an earlier version" in rep.summary()
        assert len(s.coverage("street")) == 1 and s.coverage("street")["batch_id"].iloc[0] == street.batch_id


def test_on_republished_keep_and_error(tmp_path):
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(_month(tmp_path, 0))
        before = _content(s)
        with pytest.raises(IngestError, match=r"already in the store .*on_republished='error'.*Nothing of this file"):
            s.ingest_policeuk(_month(tmp_path, 1), on_republished="error")
        rep = s.ingest_policeuk(_month(tmp_path, 1), on_republished="keep")
        st_ = {f.format: f.status for f in rep.files}
        assert st_["policeuk_street"] == st_["policeuk_outcomes"] == "kept"   # changed files: the earlier version kept
        assert set(st_.values()) <= {"kept", "already_loaded"}                # identical files: nothing to do
        assert all("earlier version kept" in f.message for f in rep.files if f.status == "kept")
        after = _content(s)
        for a, b in zip(before, after):
            assert a.equals(b)
        assert len(s.batches()) == 3
        with pytest.raises(IngestError, match="on_republished"):
            s.ingest_policeuk(_month(tmp_path, 1), on_republished="overwrite")


def test_a_file_holding_two_months_cannot_partly_replace(tmp_path):
    h = ",".join(realshaped.STREET) + "\n"
    row = "{id},{m},F,Force A,-1.5,53.8,On or near X,E01000001,A 001A,Burglary,Under investigation,\n"
    a = tmp_path / "a.csv"
    a.write_text(h + row.format(id="a" * 64, m="2018-07") + row.format(id="b" * 64, m="2018-08"))
    b = tmp_path / "b.csv"
    b.write_text(h + row.format(id="a" * 64, m="2018-07"))
    with ww.Store(":memory:") as s:
        s.ingest_policeuk(a)
        rep = s.ingest_policeuk(b)
        assert rep.files[0].status == "refused" and "also holds Force A 2018-08" in rep.files[0].message
        assert s.sql("SELECT count(*) AS n FROM crimes")["n"].iloc[0] == 2


def test_two_releases_of_a_month_in_one_call_leave_the_later_current(tmp_path):
    root = tmp_path / "both"
    shutil.copytree(_month(tmp_path, 0), root / "a-release-0")
    shutil.copytree(_month(tmp_path, 1), root / "b-release-1")
    t1 = realshaped.expected(months=["2018-07"], release=1, withdraw=0.2, **SMALL)
    with ww.Store(":memory:") as s:
        rep = s.ingest_policeuk(root)
        assert sorted(f.status for f in rep.files if f.format == "policeuk_street") == ["loaded", "replaced"]
        assert s.sql("SELECT count(*) AS n FROM asb")["n"].iloc[0] == len(_street(t1, True))
        assert set(s.sql("SELECT crime_id FROM crimes")["crime_id"]) == set(_street(t1, False)["Crime ID"])


# ---------------------------------------------------------------------------------------------- the property
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(2, 4), window=st.integers(2, 4), order=st.randoms(use_true_random=False))
def test_any_sequence_of_overlapping_releases_equals_the_latest_versions(tmp_path_factory, n, window, order):
    root = tmp_path_factory.mktemp("prop")
    kw = dict(first="2017-01", n_releases=n, window=window, withdraw=0.2, crimes_per_month=4, asb_per_month=2,
              stops_per_month=1)
    downloads = realshaped.release_series(root, **kw)
    # each release in turn (in publication order), then one of them again
    seq = list(downloads) + [downloads[order.randrange(n)]]
    with ww.Store(":memory:") as s:
        for d in seq[:-1]:
            s.ingest_policeuk(d)
        again = s.ingest_policeuk(seq[-1])  # a download loaded before: same bytes, nothing done
        assert again.files_loaded == again.files_replaced == 0
        got = _content(s)
    # reference: only the latest version of each month, each loaded once
    latest = root / "latest"
    for j, d in enumerate(downloads):
        for month_dir in Path(d).iterdir():
            dest = latest / month_dir.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(month_dir, dest)
    with ww.Store(":memory:") as ref:
        ref.ingest_policeuk(latest)
        want = _content(ref)
    for a, b in zip(got, want):
        assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
