"""Same seed -> byte-identical outputs; streaming and in-memory generation write the same bytes."""

from __future__ import annotations

import hashlib

import pytest

import whatworks as ww
from whatworks.errors import WhatworksError


def _digests(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tiny_files, tiny_kw, tmp_path):
    out, _ = tiny_files
    again = ww.synth.generate(**tiny_kw)
    again.write_all(tmp_path / "again")
    first, second = _digests(out), _digests(tmp_path / "again")
    assert len(first) > 40
    assert first == second


def test_streaming_writes_the_same_bytes(tiny_files, tiny_kw, tmp_path):
    out, _ = tiny_files
    lazy = ww.synth.generate(**tiny_kw, keep_in_memory=False)
    assert lazy._engine.batches is None          # nothing kept: months are generated while writing
    assert "generated month by month" in lazy.summary() and "SyntheticForce" in repr(lazy)
    lazy.write_all(tmp_path / "lazy")
    assert lazy._engine.batches is None
    assert _digests(out) == _digests(tmp_path / "lazy")


def test_different_seed_differs(tiny, tiny_kw):
    other = ww.synth.generate(**{**tiny_kw, "seed": tiny_kw["seed"] + 1})
    assert not other.tables["crimes"]["x"].equals(tiny.tables["crimes"]["x"])
    assert other.truth_json() != tiny.truth_json()


def test_truth_is_json_and_documents_every_effect(tiny, tiny_kw):
    import json

    truth = json.loads(tiny.truth_json())
    for key in ("geography", "people", "crime", "near_repeat", "stop_search", "survey", "workforce", "interventions", "realised"):
        assert key in truth, key
    assert set(truth["interventions"]) == {"hotspot_rct", "offender_management", "borough_policy", "step_change"}
    assert truth["realised"]["crimes"] == len(tiny.tables["crimes"])
    assert truth["parameters"]["seed"] == tiny_kw["seed"]


@pytest.mark.parametrize("kw, name", [
    ({"months": 6}, "months"), ({"crimes": 10}, "crimes"), ({"seed": -1}, "seed"), ({"boroughs": 1}, "boroughs"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_parameters_are_refused(kw, name):
    with pytest.raises(WhatworksError, match=f"'{name}'"):
        ww.synth.generate(**kw)


@pytest.mark.parametrize("start", ["2022/04", "April 2022", "2022-13", 202204])
def test_bad_start_is_refused(start):
    with pytest.raises(WhatworksError, match="'start'.*YYYY-MM"):
        ww.synth.generate(start=start)


def test_writing_into_a_folder_with_other_files_is_refused(tiny, tmp_path):
    (tmp_path / "policeuk" / "2019-01").mkdir(parents=True)
    with pytest.raises(WhatworksError, match="police.uk folder .* already holds files"):
        tiny.write_policeuk(tmp_path / "policeuk")
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "other.csv").write_text("a,b\n")
    with pytest.raises(WhatworksError, match="records folder"):
        tiny.write_records(tmp_path / "records")


def test_too_many_areas_is_refused():
    with pytest.raises(WhatworksError, match="small areas"):
        ww.synth.generate(boroughs=150, wards_per_borough=20, lsoas_per_ward=8)


def test_lazy_tables_equal_in_memory_tables(tiny, tiny_kw):
    import pandas as pd

    lazy = ww.synth.generate(**tiny_kw, keep_in_memory=False)
    for name in ("crimes", "stops", "outcomes", "persons", "om_programme"):
        pd.testing.assert_frame_equal(lazy.tables[name], tiny.tables[name])
    pd.testing.assert_frame_equal(lazy.truth_tables["person_identity"], tiny.truth_tables["person_identity"])
    assert lazy.truth["realised"] == tiny.truth["realised"]
