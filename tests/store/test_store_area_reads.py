"""Area reads (issue 11, item 6): covariates given for small areas roll up to their wards, local authorities and
force — population-weighted means for rates, sums for counts — so peers work at LAD level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import whatworks as ww
from whatworks.errors import IngestError, WhatworksError
from whatworks.store import areas as A

# 6 LSOAs in 3 wards in 2 local authorities in 1 force. households is a count (by its name), crime_rate a mean.
#   W1 = E1 + E2, W2 = E3 + E4 (both in L1); W3 = E5 + E6 (in L2)
TREE = pd.DataFrame({
    "code": ["F1", "L1", "L2", "W1", "W2", "W3", "E1", "E2", "E3", "E4", "E5", "E6"],
    "name": ["Shire", "Leeds", "Bradford", "Ward 1", "Ward 2", "Ward 3",
             "Leeds 001A", "Leeds 001B", "Leeds 002A", "Leeds 002B", "Bradford 001A", "Bradford 001B"],
    "level": ["force", "lad", "lad", "ward", "ward", "ward", "lsoa", "lsoa", "lsoa", "lsoa", "lsoa", "lsoa"],
    "parent_code": [None, "F1", "F1", "L1", "L1", "L2", "W1", "W1", "W2", "W2", "W3", "W3"],
    "population": [None, None, None, None, None, None, 1000, 3000, 2000, 2000, 1500, 500],
    "households": [None, None, None, None, None, None, 400, 1200, 900, 800, 600, 200],
    "crime_rate": [None, None, None, None, None, None, 10, 30, 20, 40, 12, 4],
})


@pytest.fixture()
def store():
    s = ww.Store(":memory:")
    yield s
    s.close()


def _load(store, df=TREE, **kw):
    return A.ingest(store.con, df, name="tree", version="test", quiet=True, **kw)


# ------------------------------------------------------------------------------------------ CHECK INPUTS


def test_kinds_by_name_are_announced_and_recorded(store, capsys):
    rep = A.ingest(store.con, TREE, name="tree", version="test")
    err = capsys.readouterr().err
    assert "covariate kinds set to households count, crime_rate mean" in err
    assert "households (count), crime_rate (mean)" in rep.files[0].message
    k = store.covariate_kinds().set_index("covariate")
    assert k.loc["households", "kind"] == "count" and k.loc["crime_rate", "kind"] == "mean"
    assert k.loc["crime_rate", "reason"].startswith("by its name")
    # quiet silences the message, not the record
    s2 = ww.Store(":memory:")
    _load(s2)
    assert capsys.readouterr().err == ""
    assert s2.covariate_kinds()[["covariate", "kind"]].values.tolist() == [["crime_rate", "mean"], ["households", "count"]]
    s2.close()


def test_kind_declared_in_header_or_argument(store, tmp_path):
    p = tmp_path / "lookup.csv"
    p.write_text("code,level,parent_code,population,residents_65 [count],imd (mean)\n"
                 "L,lad,,,,\nA,lsoa,L,100,10,5\nB,lsoa,L,300,30,9\n", encoding="utf-8")
    rep = A.ingest(store.con, p, version="test", quiet=True)
    assert "residents_65 (count), imd (mean)" in rep.files[0].message
    k = store.covariate_kinds().set_index("covariate")
    assert k.loc["residents_65", "kind"] == "count"
    assert k.loc["residents_65", "reason"].startswith("declared in the file's header")
    lad = store.area_covariates("lad").set_index("code")
    assert lad.loc["L", "residents_65"] == 40 and lad.loc["L", "imd"] == pytest.approx((100 * 5 + 300 * 9) / 400)
    # the argument beats the name: households as a mean (say, households per hectare)
    s2 = ww.Store(":memory:")
    _load(s2, covariate_kinds={"households": "mean"})
    assert s2.covariate_kinds().set_index("covariate").loc["households", "kind"] == "mean"
    assert s2.area_covariates("ward").set_index("code").loc["W1", "households"] == pytest.approx(1000.0)
    s2.close()


def test_bad_covariate_kinds_refused(store):
    with pytest.raises(IngestError, match="one of \\['count', 'mean'\\]. Got 'sum' for 'households'"):
        _load(store, covariate_kinds={"households": "sum"})
    with pytest.raises(IngestError, match="names \\['nope'\\], which are not covariates"):
        _load(store, covariate_kinds={"nope": "count"})
    with pytest.raises(IngestError, match="must be a dict"):
        _load(store, covariate_kinds=["households"])
    assert store.sql("SELECT count(*) AS n FROM areas")["n"].iloc[0] == 0
    with pytest.raises(WhatworksError, match="No areas of level 'ward'"):
        store.area_covariates("ward")


# ------------------------------------------------------------------------------------------ CHECK OUTPUTS


def test_six_lsoas_roll_up_to_wards_lads_and_force(store):
    _load(store)
    ward = store.area_covariates("ward").set_index("code")
    # sums: W1 = 400 + 1200, W2 = 900 + 800, W3 = 600 + 200
    assert ward["households"].to_dict() == {"W1": 1600.0, "W2": 1700.0, "W3": 800.0}
    # population-weighted means: W1 = (1000·10 + 3000·30) / 4000 = 25; W2 = (2000·20 + 2000·40) / 4000 = 30;
    # W3 = (1500·12 + 500·4) / 2000 = 10  (an unweighted mean would give 20, 30 and 8)
    assert ward["crime_rate"].to_dict() == pytest.approx({"W1": 25.0, "W2": 30.0, "W3": 10.0})
    lad = store.area_covariates("lad").set_index("code")
    assert lad["households"].to_dict() == {"L1": 3300.0, "L2": 800.0}
    assert lad["crime_rate"].to_dict() == pytest.approx({"L1": 27.5, "L2": 10.0})   # 220,000 / 8,000; 20,000 / 2,000
    force = store.area_covariates("force").set_index("code")
    assert force.loc["F1", "households"] == 4100 and force.loc["F1", "crime_rate"] == pytest.approx(24.0)
    assert lad.attrs["rolled_up"] == ["crime_rate", "households"] and lad.attrs["given"] == []
    assert lad.attrs["kinds"] == {"crime_rate": "mean", "households": "count"}
    cells = lad.attrs["cells"].set_index(["code", "covariate"])
    assert cells.loc[("L1", "crime_rate"), "detail"] == "population-weighted mean of 2 ward areas"
    assert cells.loc[("L2", "households"), "detail"] == "sum of 1 ward area"
    assert lad.attrs["missing"].empty
    # the small areas themselves: given, unchanged
    lsoa = store.area_covariates("lsoa").set_index("code")
    assert lsoa.loc["E2", "crime_rate"] == 30 and lsoa.attrs["given"] == ["crime_rate", "households"]
    assert lsoa.attrs["rolled_up"] == []
    # which levels have covariates of their own
    assert store.covariate_levels() == {"lsoa": ["crime_rate", "households"]}
    # without roll-up, the local authorities have none
    plain = store.area_covariates("lad", roll_up=False)
    assert plain[["crime_rate", "households"]].isna().all().all()
    assert set(plain.attrs["missing"]["detail"]) == {"not given for this area (roll_up=False)"}


def test_areas_read(store):
    _load(store)
    lads = store.areas("lad")
    assert lads.columns.tolist() == ["code", "name", "level", "parent_code", "population", "population_source"]
    assert lads.set_index("code")["population"].to_dict() == {"L1": 8000.0, "L2": 2000.0}
    assert len(store.areas()) == 12
    # area_table can roll up too (the report's one-call view)
    t = A.area_table(store, level="lad", roll_up=True).set_index("code")
    assert t.loc["L1", "households"] == 3300 and t.loc["L2", "crime_rate"] == pytest.approx(10.0)
    assert A.area_table(store, level="lad")[["households", "crime_rate"]].isna().all().all()   # default: as given


def test_missing_population_is_said_not_averaged_away(store):
    df = TREE.copy()
    df.loc[df["code"] == "E6", "population"] = None
    _load(store, df)
    ward = store.area_covariates("ward").set_index("code")
    assert ward.loc["W3", "households"] == 800            # a count needs no population
    assert pd.isna(ward.loc["W3", "crime_rate"])          # a mean does: no unweighted (1500·12 + 4)/2 fallback
    miss = ward.attrs["missing"].set_index(["code", "covariate"])["detail"]
    assert miss[("W3", "crime_rate")] == ("cannot roll up a mean: 1 of the 2 areas inside it has no population "
                                          "(first: lsoa E6); an unweighted mean is not taken")
    lad = store.area_covariates("lad").set_index("code")
    assert pd.isna(lad.loc["L2", "crime_rate"]) and lad.loc["L1", "crime_rate"] == pytest.approx(27.5)
    # so the force's mean cannot be taken either, and the reason traces back to the small area
    force = store.area_covariates("force")
    assert pd.isna(force["crime_rate"].iloc[0]) and force["households"].iloc[0] == 4100
    assert force.attrs["missing"]["detail"].iloc[0] == (
        "cannot roll up: 1 of the 2 areas inside it has no value (first: lad L2: cannot roll up: 1 of the 1 area "
        "inside it has no value (first: ward W3: cannot roll up a mean: 1 of the 2 areas inside it has no population "
        "(first: lsoa E6); an unweighted mean is not taken))")


def test_zero_population_gives_no_mean(store):
    df = TREE.copy()
    df.loc[df["code"].isin(["E5", "E6"]), "population"] = 0
    _load(store, df)
    w3 = store.area_covariates("ward").set_index("code")
    assert pd.isna(w3.loc["W3", "crime_rate"]) and w3.loc["W3", "households"] == 800
    assert w3.attrs["missing"].set_index("code").loc["W3", "detail"] == (
        "cannot roll up a mean: the 2 areas inside it have a total population of 0")


def test_missing_value_names_the_small_area(store):
    df = TREE.copy()
    df.loc[df["code"] == "E3", "households"] = None
    _load(store, df)
    lad = store.area_covariates("lad").set_index("code")
    assert pd.isna(lad.loc["L1", "households"]) and lad.loc["L2", "households"] == 800
    detail = lad.attrs["missing"].set_index(["code", "covariate"])["detail"][("L1", "households")]
    assert detail == ("cannot roll up: 1 of the 2 areas inside it has no value (first: ward W2: cannot roll up: 1 of "
                      "the 2 areas inside it has no value (first: lsoa E3: no value given, and no smaller areas "
                      "inside it))")


def test_a_level_given_directly_is_not_overwritten(store):
    df = TREE.copy()
    df.loc[df["code"] == "L2", "crime_rate"] = 11.0
    _load(store, df)
    lad = store.area_covariates("lad").set_index("code")
    assert lad.loc["L2", "crime_rate"] == 11.0 and lad.loc["L1", "crime_rate"] == pytest.approx(27.5)
    assert lad.attrs["given"] == ["crime_rate"] and lad.attrs["rolled_up"] == ["crime_rate", "households"]
    cells = lad.attrs["cells"].set_index(["code", "covariate"])["value_source"]
    assert cells[("L2", "crime_rate")] == "given" and cells[("L1", "crime_rate")] == "rolled up"
    # the force rolls up from the nearest given values: (8000·27.5 + 2000·11) / 10000 = 24.2 (not 24.0)
    assert store.area_covariates("force")["crime_rate"].iloc[0] == pytest.approx(24.2)
    # the ward below L2 is still rolled up from its small areas
    assert store.area_covariates("ward").set_index("code").loc["W3", "crime_rate"] == pytest.approx(10.0)
    assert store.covariate_levels() == {"lsoa": ["crime_rate", "households"], "lad": ["crime_rate"]}


def test_the_latest_batch_says_the_kind_and_the_conflict_is_noted(store):
    _load(store)                                            # batch 1: households a count (by its name)
    more = pd.DataFrame({"code": ["W4", "E7"], "level": ["ward", "lsoa"], "parent_code": ["L2", "W4"],
                         "population": [None, 100], "households": [None, 50]})
    A.ingest(store.con, more, name="more", version="test", quiet=True, covariate_kinds={"households": "mean"})
    k = store.covariate_kinds().set_index("covariate").loc["households"]
    assert k["kind"] == "mean"
    assert k["reason"] == "given in covariate_kinds (batch 2); the latest batch is used (batch 1 said count)"
    # now a mean: L2 = (1500·600 + 500·200 + 100·50) / 2100
    lad = store.area_covariates("lad").set_index("code")
    assert lad.loc["L2", "households"] == pytest.approx((1500 * 600 + 500 * 200 + 100 * 50) / 2100)
    # unloading batch 2 gives batch 1's word back
    store.unload(2)
    assert store.covariate_kinds().set_index("covariate").loc["households", "kind"] == "count"
    assert store.area_covariates("lad").set_index("code").loc["L2", "households"] == 800


# ------------------------------------------------------------------------------------------ INVARIANTS

@st.composite
def trees(draw):
    n_lad = draw(st.integers(1, 3))
    rows = [("F", "force", None, np.nan, np.nan, np.nan)]
    for i in range(n_lad):
        rows.append((f"L{i}", "lad", "F", np.nan, np.nan, np.nan))
        for j in range(draw(st.integers(1, 3))):
            rows.append((f"W{i}{j}", "ward", f"L{i}", np.nan, np.nan, np.nan))
            for m in range(draw(st.integers(1, 3))):
                pop = draw(st.integers(1, 5000))
                cnt = draw(st.integers(0, 2000))
                rate = draw(st.floats(0, 100, allow_nan=False))
                rows.append((f"E{i}{j}{m}", "lsoa", f"W{i}{j}", pop, cnt, rate))
    return pd.DataFrame(rows, columns=["code", "level", "parent_code", "population", "crime_count", "imd"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_roll_up_equals_the_direct_aggregate_of_small_areas(tree):
    s = ww.Store(":memory:")
    try:
        _load(s, tree)
        small = tree[tree["level"] == "lsoa"]
        top = s.area_covariates("force").iloc[0]
        # however the tree nests, the force total is the sum of its small areas, the mean their weighted mean
        assert top["crime_count"] == pytest.approx(small["crime_count"].sum())
        assert top["imd"] == pytest.approx((small["population"] * small["imd"]).sum() / small["population"].sum(),
                                           rel=1e-9, abs=1e-9)
        lad = s.area_covariates("lad").set_index("code")
        for code, g in small.assign(lad=small["code"].str[1]).groupby("lad"):
            assert g["imd"].min() - 1e-9 <= lad.loc[f"L{code}", "imd"] <= g["imd"].max() + 1e-9
    finally:
        s.close()
