"""The evidence register in the store: byte-stable CSV/JSON round trips, bad input named by row, nothing written
from a failed import (issue 16)."""

from __future__ import annotations

import json

import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.evidence.registry import Register

IV = {"intervention_id": "HS1", "name": "Hot spot patrols, Chapeltown", "tactic": "hot spot policing",
      "target_problem": "hot spot", "cost": 120000.5, "cost_price_year": "2024/25", "status": "running",
      "description": "=HYPERLINK(\"x\")", "owner": "Insp. Khan"}
EV = {"evaluation_id": "E1", "intervention_id": "HS1", "design": "randomised", "sms_level": 5,
      "measure": "log rate ratio", "estimate": -0.1823215567939546, "se": 0.0712, "ci_low": -0.3218,
      "ci_high": -0.0428, "conf_level": 0.95, "checks": '{"balance": true}', "notes": "line one\nline two, \"quoted\"",
      "emmie_effect": 3, "sample_size": 102}
ST = {"study_id": "S1", "tactic": "hot spot policing", "target_problem": "hot spot", "design": "before/after",
      "sms_level": 3, "sms_override_reason": "comparison areas matched by hand", "estimate": -0.2, "se": 0.1,
      "measure": "log rate ratio", "year": 2019, "title": "Café, crime & coffee: ünïcode"}
IMP = {"intervention_id": "HS1", "unit": "beat 4", "period": "2024-07", "dose_planned": 900, "dose_delivered": 810,
       "reach": 0.9, "adherence": 0.75}


def _store():
    s = ww.Store(":memory:")
    s.save_register(Register.from_records(interventions=[IV], evaluations=[EV], studies=[ST], implementation=[IMP]))
    return s


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_export_import_export_is_byte_identical(tmp_path, ext):
    a = _store().export_register(tmp_path / f"a.{ext}")
    other = ww.Store(str(tmp_path / "other.duckdb"))
    other.import_register(a)
    b = other.export_register(tmp_path / f"b.{ext}")
    assert a.read_bytes() == b.read_bytes()
    reg = other.register()
    assert reg.evaluations["estimate"].iloc[0] == -0.1823215567939546  # exact, not rounded
    assert reg.evaluations["notes"].iloc[0] == EV["notes"]
    assert reg.interventions["description"].iloc[0] == IV["description"]  # CSV neutralisation undone on import
    assert reg.studies["title"].iloc[0] == ST["title"]
    assert int(reg.evaluations["sms_suggested"].iloc[0]) == 5


def test_csv_is_neutralised_for_spreadsheets(tmp_path):
    text = _store().export_register(tmp_path / "r.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
    assert (tmp_path / "r.csv.provenance.json").exists()


def test_export_never_overwrites_a_file_it_did_not_write(tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text("my own notes", encoding="utf-8")
    with pytest.raises(WhatworksError, match="not written by whatworks"):
        _store().export_register(mine)
    assert mine.read_text(encoding="utf-8") == "my own notes"


def _bad_file(tmp_path, **changes):
    doc = json.loads(_store().register().to_json_text())
    kind, i, field, value = changes["where"]
    doc[kind][i][field] = value
    if "add" in changes:
        doc[changes["add"][0]].append(changes["add"][1])
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


@pytest.mark.parametrize("where, message", [
    (("evaluations", 0, "se", None), r"no standard error.*evaluation row 1 \(evaluation_id 'E1'\)"),
    (("studies", 0, "se", -0.1), r"greater than 0.*study row 1 \(study_id 'S1'\)"),
    (("interventions", 0, "cost_price_year", None), r"no price year.*intervention row 1 \(intervention_id 'HS1'\)"),
    (("studies", 0, "design", None), r"grade has no design.*study row 1"),
    (("evaluations", 0, "sms_level", 3), r"differs from the level 5.*no reason"),
    (("evaluations", 0, "intervention_id", "NOPE"), r"does not hold.*'NOPE'"),
])
def test_bad_import_names_the_row_and_writes_nothing(tmp_path, where, message):
    p = _bad_file(tmp_path, where=where)
    s = ww.Store(str(tmp_path / "fresh.duckdb"))
    s.save_register(Register.from_records(interventions=[{"intervention_id": "X", "name": "x", "tactic": "t"}]))
    with pytest.raises(WhatworksError, match=message):
        s.import_register(p)
    reg = s.register()
    assert list(reg.interventions["intervention_id"]) == ["X"] and len(reg.evaluations) == 0


def test_good_records_before_a_bad_one_are_not_written(tmp_path):
    good = dict(EV, evaluation_id="E0")
    bad = dict(EV, evaluation_id="E9", se=-1.0)
    s = ww.Store(":memory:")
    with pytest.raises(WhatworksError, match="evaluation_id 'E9'"):
        s.save_register(Register.from_records(interventions=[IV], evaluations=[good, bad]))
    assert len(s.register().interventions) == 0


def test_import_replaces_same_id_and_keeps_others():
    s = _store()
    s.save_register(Register.from_records(interventions=[dict(IV, status="stopped")],
                                          studies=[dict(ST, study_id="S2", sms_override_reason=None,
                                                        sms_level=None)]))
    reg = s.register()
    assert reg.interventions["status"].tolist() == ["stopped"]
    assert reg.studies["study_id"].tolist() == ["S1", "S2"]
    assert int(reg.studies["sms_suggested"].iloc[1]) == 2  # before/after: level 2 suggested, ungraded


def test_read_only_store_without_register_reads_empty(tmp_path):
    path = tmp_path / "ro.duckdb"
    ww.Store(str(path)).con.close()
    ro = ww.Store(str(path), read_only=True)
    assert len(ro.register().interventions) == 0
    with pytest.raises(WhatworksError, match="read-only"):
        ro.save_register(Register())
