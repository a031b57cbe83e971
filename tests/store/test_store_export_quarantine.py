"""Store.export_quarantine: personal data masked unless asked for, spreadsheet-safe, never over an input, with
provenance (issue #12 items 1, 2 and 8)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import app
from whatworks.errors import WhatworksError
from whatworks.store.exports import provenance_path

FIX = Path(__file__).parent / "fixtures" / "records" / "northshire"
POLICEUK = Path(__file__).parent / "fixtures" / "policeuk"


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "s.duckdb"
    with ww.Store(path) as s:
        s.ingest_records(FIX, FIX / "mapping.toml")
        s.ingest_policeuk(POLICEUK)
    return path


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_personal_fields_are_masked_by_shape_by_default(store_file, tmp_path):
    out = tmp_path / "rejected.csv"
    with ww.Store(store_file, read_only=True) as s:
        n = s.export_quarantine(out)
        assert n == len(s.quarantine())
    text = out.read_text(encoding="utf-8")
    for name in ("Renée", "D'Arcy", "LS2 9JT", "James", "Smith", "01/02/1990", "Sarah"):
        assert name not in text, name                      # no RMS person value leaks
    masked = [json.loads(r["raw"]) for r in _rows(out) if '"CRN"' in r["raw"]]
    assert {"CRN": "A999999", "First Name": "Aaaaa", "Last Name": "A'Aaaa", "Date of Birth": "aaa aaaaa",
            "Postcode": "AA9 9AA"} in masked               # keys kept, values by shape: still shows what was wrong
    prov = json.loads(provenance_path(out).read_text())
    assert prov["parameters"]["include_personal"] is False and "masked by shape" in prov["personal_data"]
    assert len(prov["store_fingerprint"]) == 64


def test_police_uk_rows_are_open_data_and_not_masked(store_file, tmp_path):
    out = tmp_path / "rejected.csv"
    with ww.Store(store_file, read_only=True) as s:
        s.export_quarantine(out)
        pu = s.sql("SELECT raw FROM quarantine q JOIN batches b USING (batch_id) WHERE b.format LIKE 'policeuk%' LIMIT 1")
    assert pu["raw"].iloc[0] in {r["raw"] for r in _rows(out)}


def test_include_personal_exports_as_recorded_and_says_so(store_file, tmp_path):
    out = tmp_path / "rejected.csv"
    r = CliRunner().invoke(app, ["quarantine", "--export", str(out), "--include-personal", "--store", str(store_file)])
    assert r.exit_code == 0, r.output
    assert "Renée" in out.read_text(encoding="utf-8")
    assert "include-personal" in r.stderr
    assert json.loads(provenance_path(out).read_text())["parameters"]["include_personal"] is True


def test_export_never_overwrites_the_store_or_a_foreign_file(store_file, tmp_path):
    before = store_file.read_bytes()
    with ww.Store(store_file, read_only=True) as s:
        with pytest.raises(WhatworksError, match="inputs|database"):
            s.export_quarantine(store_file.with_suffix(".duckdb"))
        notes = tmp_path / "notes.csv"
        notes.write_text("mine\n")
        with pytest.raises(WhatworksError, match="not written by whatworks"):
            s.export_quarantine(notes)
        assert notes.read_text() == "mine\n"
        s.export_quarantine(notes, overwrite=True)
    assert store_file.read_bytes() == before
    r = CliRunner().invoke(app, ["quarantine", "--export", str(store_file), "--store", str(store_file)])
    assert r.exit_code != 0 and store_file.read_bytes() == before


def test_fingerprint_changes_with_what_is_loaded(tmp_path):
    with ww.Store(tmp_path / "a.duckdb") as a, ww.Store(tmp_path / "b.duckdb") as b:
        assert a.fingerprint() == b.fingerprint()
        a.ingest_policeuk(POLICEUK)
        assert a.fingerprint() != b.fingerprint()
        b.ingest_policeuk(POLICEUK)
        assert a.fingerprint() == b.fingerprint()
