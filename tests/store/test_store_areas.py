"""Area lookups (issue 4): long and wide forms, bad rows quarantined with reasons, populations, LSOA-name districts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import IngestError
from whatworks.store import areas as A

FIX = Path(__file__).parent / "fixtures" / "policeuk"

LONG = """code,name,level,parent_code,population,imd_score,density,region
F1,West Shire,force,,,,,North
L1,Leeds,lad,F1,,,,North
L2,Bradford,lad,F1,,,,North
W1,Ward One,ward,L1,,,,North
W2,Ward Two,ward,L2,,,,North
E1,Leeds 001A,lsoa,W1,1500,12.5,4100,North
E2,Leeds 001B,lsoa,W1,1700,30.1,5200,North
E3,Bradford 001A,lsoa,W2,1600,22.0,3900,North
,No Code,lsoa,W2,1000,1,1,North
E5,Bad Pop,lsoa,W2,lots,1,1,North
E6,Orphan,lsoa,W9,900,1,1,North
W3,Ward Three,ward,L9,,,,North
E7,Child of W3,lsoa,W3,800,2,2,North
E8,Bad Cov,lsoa,W2,800,high,2,North
E9,Self,lsoa,E9,800,2,2,North
E2,Leeds 001B again,lsoa,W1,1,1,1,North
E10,Negative,lsoa,W2,-5,2,2,North
"""


@pytest.fixture()
def store():
    s = ww.Store(":memory:")
    yield s
    s.close()


def _write(tmp_path, text, name="areas.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------ CHECK INPUTS


def test_long_form_bad_rows_are_quarantined_with_reasons(store, tmp_path):
    rep = store.ingest_areas(_write(tmp_path, LONG))
    f = rep.files[0]
    assert f.status == "loaded" and f.format == "areas"
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_skipped) == (17, 8, 8, 1)
    q = store.quarantine().set_index("source_row")
    assert q.loc[10, "reason"] == "missing code"
    assert q.loc[11, "reason"] == "non-numeric population"
    assert q.loc[12, "reason"] == "unknown parent_code 'W9' (not in this file or the store)"
    assert q.loc[13, "reason"] == "unknown parent_code 'L9' (not in this file or the store)"
    assert q.loc[14, "reason"] == "parent_code 'W3' is quarantined (row 13)"   # cascades to the children
    assert q.loc[15, "reason"] == "non-numeric value in covariate 'imd_score'"
    assert q.loc[16, "reason"] == "area is its own parent"
    assert q.loc[17, "category"] == "duplicate" and "first_copy" in q.loc[17, "raw"] and "row 8" in q.loc[17, "raw"]
    assert q.loc[18, "reason"] == "negative population"
    loaded = set(store.sql("SELECT code FROM areas")["code"])
    assert loaded == {"F1", "L1", "L2", "W1", "W2", "E1", "E2", "E3"}
    # the text column is not a covariate, and the message says so
    assert "text columns left out (not covariates): region" in f.message
    cov = store.sql("SELECT code, covariate, value FROM area_covariates ORDER BY code, covariate")
    assert set(cov["covariate"]) == {"imd_score", "density"}
    assert cov.set_index(["code", "covariate"]).loc[("E2", "imd_score"), "value"] == pytest.approx(30.1)
    # the first copy of E2 is the one kept
    assert store.sql("SELECT name FROM areas WHERE code = 'E2'")["name"].iloc[0] == "Leeds 001B"


def test_same_file_twice_is_a_no_op_and_new_lookup_replaces(store, tmp_path):
    p = _write(tmp_path, LONG)
    store.ingest_areas(p)
    again = store.ingest_areas(p)
    assert again.files[0].status == "already_loaded"
    newer = _write(tmp_path, "code,name,level,parent_code,population\nE1,Leeds 001A,lsoa,W1,1550\n", "v2.csv")
    rep = store.ingest_areas(newer)
    assert "1 areas already in the store replaced" in rep.files[0].message
    assert store.sql("SELECT population FROM areas WHERE code = 'E1'")["population"].tolist() == [1550.0]
    # the parent W1 was known from the store, and E1's covariates went with its old row
    assert store.sql("SELECT count(*) AS n FROM area_covariates WHERE code = 'E1'")["n"].iloc[0] == 0


def test_refused_files(store, tmp_path):
    with pytest.raises(IngestError, match="no 'level' column"):
        store.ingest_areas(_write(tmp_path, "code,name\nA,B\n"))
    with pytest.raises(IngestError, match="not an area lookup"):
        store.ingest_areas(_write(tmp_path, "foo,bar\n1,2\n", "x.csv"))
    with pytest.raises(IngestError, match="MSOA and ward"):
        store.ingest_areas(_write(tmp_path, "lsoa_code,msoa_code,ward_code\nA,B,C\n", "y.csv"))
    with pytest.raises(ww.WhatworksError, match="path or a pandas DataFrame"):
        store.ingest_areas(42)
    assert store.sql("SELECT count(*) AS n FROM areas")["n"].iloc[0] == 0


def test_wide_form_with_ons_headers(store):
    wide = pd.DataFrame({
        "LSOA21CD": ["E1", "E2", "E3", "E4", "E5"], "LSOA21NM": ["Leeds 001A", "Leeds 001B", "Bradford 001A", "x", "y"],
        "WD23CD": ["W1", "W1", "W2", "W2", None], "WD23NM": ["Ward1", "Ward1", "Ward2", "Ward 2 (other name)", "W"],
        "LAD23CD": ["L1", "L1", "L2", "L2", "L2"], "LAD23NM": ["Leeds", "Leeds", "Bradford", "Bradford", "Bradford"],
        "population": [100, 200, 300, 50, 70], "imd": [1.0, 2.0, 3.0, 4.0, 5.0]})
    rep = store.ingest_areas(wide, name="ons lookup")
    f = rep.files[0]
    assert f.source == "ons lookup" and "levels lsoa → ward → lad" in f.message
    assert (f.rows_loaded, f.rows_quarantined) == (3, 2)
    q = store.quarantine().set_index("source_row")["reason"]
    assert q[5] == "ward 'W2' has name 'Ward2' and parent 'L2' on row 4 but name 'Ward 2 (other name)' and parent 'L2' here"
    assert q[6] == "missing ward_code"
    t = A.area_table(store).set_index("code")
    assert t.loc["E1", "population"] == 100 and t.loc["E1", "population_source"] == "lookup"
    # higher levels: the sum of their small areas
    assert t.loc["W1", "population"] == 300 and t.loc["W1", "population_source"] == "sum of small areas"
    assert t.loc["L1", "population"] == 300 and t.loc["L2", "population"] == 300
    assert t.loc["W2", "parent_code"] == "L2" and t.loc["E3", "parent_code"] == "W2"
    assert t.loc["E3", "imd"] == 3.0


# ------------------------------------------------------------------------------------------ CHECK OUTPUTS


def test_ancestors_and_populations(store, tmp_path):
    store.ingest_areas(_write(tmp_path, LONG))
    anc = A.ancestors(store)
    e1 = anc[anc["lsoa_code"] == "E1"].sort_values("depth")
    assert e1["code"].tolist() == ["E1", "W1", "L1", "F1"]
    assert e1["level"].tolist() == ["lsoa", "ward", "lad", "force"]
    t = A.area_table(store).set_index("code")
    assert t.loc["F1", "population"] == 1500 + 1700 + 1600
    assert t.loc["L1", "population"] == 3200 and t.loc["W2", "population"] == 1600


def test_population_sum_needs_every_small_area(store):
    store.ingest_areas(pd.DataFrame({"code": ["W", "A", "B"], "level": ["ward", "lsoa", "lsoa"],
                                     "parent_code": [None, "W", "W"], "population": [None, 10, None]}))
    t = A.area_table(store).set_index("code")
    assert pd.isna(t.loc["W", "population"]) and t.loc["W", "population_source"] is None


def test_district_from_lsoa_names():
    got = A.district_from_lsoa_name(["Leeds 001A", "City of London 001F", "Kingston upon Hull 012C", "Leeds", None])
    assert got.tolist()[:3] == ["Leeds", "City of London", "Kingston upon Hull"]
    assert got.isna().tolist()[3:] == [True, True]


def test_police_uk_names_give_the_local_authority_without_a_lookup(store):
    store.ingest_policeuk(FIX)
    anc = A.ancestors(store)
    lsoa = store.sql("SELECT DISTINCT lsoa_code, lsoa_name FROM events WHERE lsoa_code IS NOT NULL")
    assert len(lsoa)
    up = anc[anc["depth"] == 1].set_index("lsoa_code")
    for r in lsoa.itertuples():
        assert up.loc[r.lsoa_code, "code"] == r.lsoa_name.rsplit(" ", 1)[0]
        assert up.loc[r.lsoa_code, "level"] == A.DERIVED_LEVEL
    t = A.area_table(store, level=A.DERIVED_LEVEL)
    assert "Leeds" in set(t["code"])


def test_wide_form_declares_kinds_in_its_header_and_rolls_up(store, tmp_path, capsys):
    # issue 11: the covariate file says which covariates are counts; the rest take the kind their name implies
    p = _write(tmp_path, "LSOA21CD,WD23CD,LAD23CD,population,Households [count],pct_social_housing\n"
                         "E1,W1,L1,1000,400,10\nE2,W1,L1,3000,1200,30\nE3,W2,L1,2000,900,20\n", "ons.csv")
    f = store.ingest_areas(p).files[0]
    assert "covariates households (count), pct_social_housing (mean)" in f.message
    assert "covariate kinds set to pct_social_housing mean" in capsys.readouterr().err   # only the one not declared
    lad = store.area_covariates("lad").set_index("code")
    assert lad.loc["L1", "households"] == 2500
    assert lad.loc["L1", "pct_social_housing"] == pytest.approx((1000 * 10 + 3000 * 30 + 2000 * 20) / 6000)
    assert store.covariate_levels() == {"lsoa": ["households", "pct_social_housing"]}
