"""Files a spreadsheet damaged (issue 11): a (nearly) all-invalid file fails whole; repair_dates=True reads it."""

from __future__ import annotations

import shutil

import realshaped
import whatworks as ww

SMALL = dict(crimes_per_month=20, asb_per_month=5, stops_per_month=3)


def _two_months(tmp_path):
    root = realshaped.archive(tmp_path / "a", months=["2018-06", "2018-07"], **SMALL)
    damaged = root / realshaped.file_name("2018-07", "Northshire Police", "street")
    realshaped.excel_damage(damaged, "dmy")
    truth = realshaped.expected(months=["2018-06", "2018-07"], **SMALL)
    return root, damaged, truth


def test_a_month_saved_by_a_spreadsheet_fails_whole_and_the_rest_loads(tmp_path):
    root, damaged, truth = _two_months(tmp_path)
    n_july = len(truth.street[truth.street["month"] == "2018-07"])
    with ww.Store(":memory:") as s:
        rep = s.ingest_policeuk(root)
        (bad,) = rep.failed
        assert bad.source.endswith(damaged.name) and bad.status == "failed"
        assert bad.rows_read == bad.rows_failed == n_july and bad.rows_loaded == bad.rows_quarantined == 0
        assert "01/07/2018" in bad.hint and "YYYY-MM" in bad.hint
        assert rep.rows_failed == n_july
        assert "1 FAILED" in rep.summary() and damaged.name in rep.summary()
        # nothing of it is in the store, not even its quarantine; June loaded
        assert not s.batches()["source_file"].str.endswith(damaged.name).any()
        assert len(s.quarantine()) == 0
        assert [m.strftime("%Y-%m") for m in s.coverage("street")["month"]] == ["2018-06"]
        assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped
        # the failed file loads later once repaired, as a new month
        again = s.ingest_policeuk(damaged, repair_dates=True)
        (f,) = again.files
        assert f.status == "loaded" and f.rows_loaded == n_july and f.rows_quarantined == 0
        assert f.repaired and f"{n_july:,} Month value(s)" in f.repaired
        notes = s.sql("SELECT * FROM batch_notes")
        assert notes["note"].tolist() == ["repaired"] and notes["batch_id"].tolist() == [f.batch_id]
        assert [m.strftime("%Y-%m") for m in s.coverage("street")["month"]] == ["2018-06", "2018-07"]
        assert s.sql("SELECT count(*) AS n FROM events WHERE month = DATE '2018-07-01' AND kind IN ('crime', 'asb')")[
            "n"].iloc[0] == n_july


def test_repair_dates_reads_every_spreadsheet_style(tmp_path):
    for style in ("dmy", "mdy", "mon-yy", "iso-date", "yyyy-m"):
        root = realshaped.archive(tmp_path / style, months=["2018-07"], outcomes=False, **SMALL)
        street = root / realshaped.file_name("2018-07", "Northshire Police", "street")
        realshaped.excel_damage(street, style)
        (root / realshaped.file_name("2018-07", "Northshire Police", "stop-and-search")).unlink(missing_ok=True)
        with ww.Store(":memory:") as s:
            rep = s.ingest_policeuk(street, repair_dates=True)
            (f,) = rep.files
            assert f.status == "loaded" and f.rows_quarantined == 0, (style, f)
            months = s.sql("SELECT DISTINCT month FROM events")["month"]
            assert [m.strftime("%Y-%m") for m in months] == ["2018-07"], style
        shutil.rmtree(root)


def test_an_undamaged_file_is_never_marked_repaired(tmp_path):
    root = realshaped.archive(tmp_path / "ok", months=["2018-07"], **SMALL)
    with ww.Store(":memory:") as s:
        rep = s.ingest_policeuk(root, repair_dates=True)
        assert all(f.repaired is None for f in rep.files) and len(s.sql("SELECT * FROM batch_notes")) == 0
