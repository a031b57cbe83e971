"""Unloading a file and loading it again gives the file's first outcome back (issue 17 item 6: "records ingest treats
a person already in the store as a duplicate after its first file was unloaded"; issue 12: unload must remove
everything a batch put in the store, survey rows included).

For every file of the Northshire RMS export (crimes, stops, arrests, persons, a probation caseload, involvements),
loaded as a folder: unload that file's batch and load the file again. Its counts (read, loaded, quarantined,
duplicates) and its quarantine reasons must equal the first load's, and the tables must hold the same rows as
before the unload (row order and batch ids aside)."""

from __future__ import annotations

from pathlib import Path

import pytest

import whatworks as ww

NORTHSHIRE = Path(__file__).parent / "fixtures" / "records" / "northshire"
TABLES = {"events": "source_system, reference, kind, occurred, crime_type, x, y", "persons": "source_system, person_id, dob",
          "event_persons": "source_system, reference, person_id, role"}


def _rows(s: ww.Store) -> dict:
    return {t: sorted(map(tuple, s.sql(f"SELECT {cols} FROM {t}").astype(str).values.tolist()))
            for t, cols in TABLES.items()}


@pytest.mark.parametrize("name", sorted(p.name for p in NORTHSHIRE.glob("*.csv")))
def test_unload_then_reload_gives_the_first_outcome_back(name):
    ww.options.quiet = True
    try:
        s = ww.Store(":memory:")
        first = {Path(f.source).name: f for f in s.ingest_records(NORTHSHIRE, NORTHSHIRE / "mapping.toml").files}
        before = _rows(s)
        f0 = first[name]
        s.unload(f0.batch_id)
        f1 = s.ingest_records(NORTHSHIRE / name, NORTHSHIRE / "mapping.toml").files[0]
        assert (f1.rows_read, f1.rows_loaded, f1.rows_quarantined, f1.duplicates_skipped) == \
               (f0.rows_read, f0.rows_loaded, f0.rows_quarantined, f0.duplicates_skipped)
        assert f1.reasons == f0.reasons
        assert _rows(s) == before
    finally:
        ww.options.quiet = False
