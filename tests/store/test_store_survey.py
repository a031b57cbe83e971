"""Store.ingest_survey / Store.survey: the synthetic survey through the real reader, row accounting, quarantine, .sav."""

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.survey import Design

MAPPING = {"survey": {"name": "pas", "id": "respondent_id", "date": "interview_date", "weight": "weight"}}


@pytest.fixture()
def store(tmp_path):
    return ww.Store(tmp_path / "s.duckdb")


def _csv(tmp_path, df, name="pas.csv"):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_synthetic_survey_round_trip(store, tmp_path):
    import whatworks.synth as synth
    s = synth.generate(seed=3, crimes=6_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=1_000).tables["survey"]
    rep = store.ingest_survey(_csv(tmp_path, s), mapping=MAPPING)
    assert rep.rows_read == len(s) == rep.rows_loaded and rep.rows_quarantined == 0
    back = store.survey("pas")
    assert len(back) == len(s) and back["confident"].dtype == bool
    np.testing.assert_allclose(back["weight"], s["weight"])
    assert pd.api.types.is_datetime64_any_dtype(back["interview_date"])
    a = Design(back, weights="weight", strata="borough_code").proportion("confident", quiet=True).table
    b = Design(s, weights="weight", strata="borough_code").proportion("confident", quiet=True).table
    assert a["estimate"].iloc[0] == pytest.approx(b["estimate"].iloc[0], abs=1e-12)
    assert store.surveys().iloc[0].to_dict()["respondents"] == len(s)
    again = store.ingest_survey(_csv(tmp_path, s), mapping=MAPPING)
    assert again.files[0].status == "already_loaded"


def test_bad_rows_are_quarantined_with_reasons(store, tmp_path):
    df = pd.DataFrame({"respondent_id": ["a", "b", "b", None, "e"],
                       "interview_date": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "not a date"],
                       "weight": ["1.5", "2", "2", "1", "1"], "q1": ["1", "2", "3", "4", "5"]})
    rep = store.ingest_survey(_csv(tmp_path, df), mapping=MAPPING)
    f = rep.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_skipped) == (5, 2, 2, 1)
    q = store.sql("SELECT source_row, category, reason FROM quarantine ORDER BY source_row")
    assert q["source_row"].tolist() == [4, 5, 6]
    assert q["reason"].tolist() == ["duplicate respondent id in the file", "respondent id missing", "interview_date is not a date"]
    assert store.survey("pas")["respondent_id"].tolist() == ["a", "b"]


def test_sav_keeps_value_labels_and_missing_codes(store, tmp_path):
    import pyreadstat
    df = pd.DataFrame({"respondent_id": ["r1", "r2", "r3"], "good_job": [1.0, 2.0, 98.0], "weight": [1.0, 2.0, 1.5]})
    p = tmp_path / "pas.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={"good_job": {1: "Excellent", 2: "Good", 98: "Don't know"}},
                         missing_ranges={"good_job": [98]})
    rep = store.ingest_survey(p, mapping={"survey": {"name": "pas", "id": "respondent_id", "weight": "weight"}})
    assert rep.files[0].format == "survey_sav" and rep.rows_loaded == 3
    back = store.survey("pas")
    assert back["good_job"].iloc[:2].tolist() == [1, 2] and pd.isna(back["good_job"].iloc[2])  # 98 = missing, not an answer
    assert store.survey("pas", labels=True)["good_job"].iloc[:2].tolist() == ["Excellent", "Good"]
    codes = store.sql("SELECT variable, value FROM survey_missing_codes")
    assert codes.to_dict("records") == [{"variable": "good_job", "value": "98"}]


def test_mapping_errors(store, tmp_path):
    p = _csv(tmp_path, pd.DataFrame({"x": [1]}))
    with pytest.raises(ww.errors.WhatworksError, match="not in the file"):
        store.ingest_survey(p, mapping=MAPPING)
    with pytest.raises(ww.errors.WhatworksError, match=r"\[survey\]"):
        store.ingest_survey(p, mapping={"name": "x"})
    with pytest.raises(ww.errors.WhatworksError, match="No survey named"):
        store.survey("nope")
