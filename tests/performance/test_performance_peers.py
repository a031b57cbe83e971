"""Tests for whatworks.performance.peers: equality with a brute-force distance-matrix reference, hand-built cases,
user-supplied groups, input checks, and recovery of planted look-alike areas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.performance.peers import peers


def areas(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"code": [f"E{i:05d}" for i in range(n)], "imd": rng.normal(25, 10, n),
                         "density": rng.lognormal(3, 1, n), "young": rng.uniform(5, 30, n)})


def brute_force(a, feats, k, w=None):
    x = a[feats].to_numpy(float)
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    if w is not None:
        z = z * np.asarray(w)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    out = {}
    for i, code in enumerate(a["code"]):
        j = np.argsort(d[i], kind="stable")[:k]
        out[code] = (a["code"].to_numpy()[j].tolist(), d[i, j])
    return out


def test_equals_brute_force_reference():
    a = areas()
    r = peers(a, ["imd", "density", "young"], id="code", k=7)
    ref = brute_force(a, ["imd", "density", "young"], 7)
    for code in a["code"].iloc[::17]:
        got = r.of(code)
        assert got["peer"].tolist() == ref[code][0]
        np.testing.assert_allclose(got["distance"], ref[code][1], rtol=1e-12)
    assert len(r.table) == 200 * 7 and r.table["rank"].between(1, 7).all()


def test_weights():
    a = areas(80, seed=2)
    r = peers(a, ["imd", "density"], id="code", k=3, weights={"imd": 2})
    ref = brute_force(a, ["imd", "density"], 3, w=[2, 1])
    for code in a["code"].iloc[::9]:
        assert r.of(code)["peer"].tolist() == ref[code][0]


def test_hand_built():
    a = pd.DataFrame({"code": list("ABCDE"), "imd": [10, 11, 30, 31, 20], "density": [5, 6, 50, 52, 20]})
    r = peers(a, ["imd", "density"], id="code", k=1)
    assert r.groups() == {"A": ["B"], "B": ["A"], "C": ["D"], "D": ["C"], "E": ["B"]}


def test_identical_areas_never_list_themselves():
    a = pd.DataFrame({"code": list("ABCD"), "x": [1.0, 1.0, 1.0, 5.0]})
    r = peers(a, ["x"], id="code", k=2)
    assert not (r.table["code"] == r.table["peer"]).any()
    assert set(r.of("A")["peer"]) == {"B", "C"}


def test_user_groups():
    a = areas(10)
    g = pd.DataFrame({"code": ["E00000", "E00000", "E00001"], "peer": ["E00002", "E00003", "E00000"]})
    r = peers(a, ["imd"], id="code", groups=g)
    assert r.of("E00000")["peer"].tolist() == ["E00002", "E00003"]
    assert r.table["distance"].notna().all()
    assert "user-supplied" in r.summary()
    r2 = peers(a, id="code", groups=g)
    assert r2.table["distance"].isna().all()


@pytest.mark.parametrize("kw,msg", [
    (dict(features=None), "Give covariate columns"),
    (dict(features=["imd"], k=0), "'k' parameter"),
    (dict(features=["imd"], k=10), "'k' parameter"),
    (dict(features=["nope"]), "not found"),
    (dict(features=["imd"], weights={"density": 2}), "not in 'features'"),
])
def test_bad_input(kw, msg):
    with pytest.raises(WhatworksError, match=msg):
        peers(areas(10), id="code", **kw)


def test_constant_feature_and_duplicates_refused():
    a = areas(10).assign(const=1.0)
    with pytest.raises(WhatworksError, match="same value in every area"):
        peers(a, ["imd", "const"], id="code")
    with pytest.raises(WhatworksError, match="name each area once"):
        peers(pd.concat([a, a.head(1)]), ["imd"], id="code")
    g = pd.DataFrame({"code": ["E00000"], "peer": ["E00000"]})
    with pytest.raises(WhatworksError, match="its own peer"):
        peers(a, id="code", groups=g)


def test_infinite_feature_and_empty_groups_refused():
    # review: inf reached cKDTree ("data must be finite"), an empty groups table gave "cannot convert float NaN"
    a = areas(10)
    a.loc[3, "imd"] = np.inf
    with pytest.raises(WhatworksError, match="(?:Feature|Column) 'imd' (?:must hold finite numbers|must be numeric).*position 3"):
        peers(a, ["imd"], id="code", k=2)
    with pytest.raises(WhatworksError, match="'groups' table has no rows"):
        peers(areas(10), id="code", groups=pd.DataFrame({"code": [], "peer": []}))


def test_recovers_planted_lookalikes():
    # 40 clusters of 8 areas with small within-cluster noise: each area's 7 peers should be its own cluster
    rng = np.random.default_rng(4)
    centres = rng.normal(0, 10, (40, 3))
    x = np.repeat(centres, 8, axis=0) + rng.normal(0, 0.3, (320, 3))
    a = pd.DataFrame(x, columns=["f1", "f2", "f3"]).assign(code=[f"A{i:03d}" for i in range(320)],
                                                          cluster=np.repeat(np.arange(40), 8))
    r = peers(a, ["f1", "f2", "f3"], id="code", k=7)
    cl = dict(zip(a["code"], a["cluster"]))
    same = (r.table["code"].map(cl) == r.table["peer"].map(cl)).mean()
    assert same > 0.99
    assert "most similar areas" in r.summary()
    assert r.plot().axes


def test_explicit_k_and_weights_are_recorded_as_given():
    # review: k=7 passed explicitly was recorded as a default ("user" if k != DEFAULT_K), and weights={} (or any
    # empty mapping) likewise ("user" if weights else "default")
    a = areas(40)
    feats = ["imd", "density"]
    given = peers(a, feats, id="code", k=7, weights={"imd": 1, "density": 1})
    omitted = peers(a, feats, id="code")
    assert (given.settings["k"].value, given.settings["k"].source) == (7, "user")
    assert (omitted.settings["k"].value, omitted.settings["k"].source) == (7, "default")
    assert given.settings["weights"].source == "user" and omitted.settings["weights"].source == "default"
    assert omitted.settings["weights"].value == {"imd": 1.0, "density": 1.0} == given.settings["weights"].value
    pd.testing.assert_frame_equal(given.table, omitted.table)
    assert omitted.k == 7
    assert peers(a, feats, id="code", weights={}).settings["weights"].source == "user"
    # with the caller's own groups k is not used: the record says what the groups hold
    own = peers(a, feats, id="code", groups=pd.DataFrame({"code": ["E00000", "E00000"], "peer": ["E00001", "E00002"]}))
    assert (own.settings["k"].value, own.settings["k"].source) == (2, "data") and own.k == 2


# ---------------------------------------------------------------- issue 11: peers at LAD level on rolled-up covariates


def _lsoa_lookup(seed=11, n_lad=9):
    """A wide lookup: n_lad local authorities, each with 2 wards of 2–4 LSOAs, population and two covariates."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_lad):
        for j in range(2):
            for m in range(int(rng.integers(2, 5))):
                rows.append({"lsoa_code": f"E01{i}{j}{m}", "ward_code": f"E05{i}{j}", "lad_code": f"E08{i}",
                             "population": int(rng.integers(800, 3000)), "imd_score": float(rng.uniform(5, 60)),
                             "households": int(rng.integers(300, 1300))})
    return pd.DataFrame(rows)


def test_peers_on_store_lads_rolled_up_from_lsoas_equal_peers_on_hand_computed_lads():
    import whatworks as ww

    lookup = _lsoa_lookup()
    store = ww.Store(":memory:")
    try:
        store.ingest_areas(lookup, name="lsoa lookup")
        lads = store.area_covariates("lad")
    finally:
        store.close()
    assert lads.attrs["rolled_up"] == ["households", "imd_score"]
    # by hand: households summed, imd_score weighted by population, straight from the LSOA rows
    hand = lookup.assign(w=lookup["population"] * lookup["imd_score"]).groupby("lad_code").agg(
        households=("households", "sum"), w=("w", "sum"), population=("population", "sum")).reset_index()
    hand = pd.DataFrame({"code": hand["lad_code"], "households": hand["households"].astype(float),
                         "imd_score": hand["w"] / hand["population"]})
    got = lads[["code", "households", "imd_score"]].sort_values("code").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, hand.sort_values("code").reset_index(drop=True), rtol=1e-12)
    on_store = peers(lads, ["imd_score", "households"], id="code", k=3)
    on_hand = peers(hand, ["imd_score", "households"], id="code", k=3)
    assert on_store.groups() == on_hand.groups()
    np.testing.assert_allclose(on_store.table.sort_values(["code", "rank"])["distance"],
                               on_hand.table.sort_values(["code", "rank"])["distance"], rtol=1e-9)
    assert len(on_store.groups()) == 9 and all(len(v) == 3 for v in on_store.groups().values())


def test_missing_feature_is_named_or_dropped_by_policy():
    a = pd.DataFrame({"code": list("ABCDE"), "imd": [10, 11, np.nan, 31, 20], "density": [5, 6, 50, 52, 20]})
    with pytest.raises(WhatworksError, match=r"Feature 'imd' is missing for 1 area\(s\).*position 2 \(code='C'\)"
                                             r".*on_missing='drop'"):
        peers(a, ["imd", "density"], id="code", k=1)
    r = peers(a, ["imd", "density"], id="code", k=1, on_missing="drop")
    assert r.dropped == ("C",) and r.settings["dropped"].value == ["C"]
    assert r.settings["on_missing"].value == "drop" and r.settings["on_missing"].source == "user"
    # the same groups as without C at all
    assert r.groups() == peers(a[a["code"] != "C"], ["imd", "density"], id="code", k=1).groups()
    assert "C" not in set(r.table["peer"]) and "1 area left out for a missing feature (C)." in r.summary()
    with pytest.raises(WhatworksError, match="left out because one of its features"):
        r.of("C")
    with pytest.raises(WhatworksError, match="'on_missing' parameter must be one of"):
        peers(a, ["imd"], id="code", on_missing="fill")
    with pytest.raises(WhatworksError, match="at least 2 areas with every feature; 1 is left after leaving out 4"):
        peers(a.assign(imd=[1.0, np.nan, np.nan, np.nan, np.nan]), ["imd"], id="code", k=1, on_missing="drop")
    assert peers(a.dropna(), ["imd"], id="code", k=1).settings["on_missing"].source == "default"
