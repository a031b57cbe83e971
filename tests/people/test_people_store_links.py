"""whatworks.store.links (Store.persons, Store.save_links, involvements): people from the store, linked and saved back.

Lives with the people tests because store/links.py exists for them; it exercises the real readers on a tiny force.
"""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.store import links as store_links

TINY_KW = dict(seed=3, crimes=6_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=1_000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    force = ww.synth.generate(**TINY_KW)
    s = ww.Store(tmp_path_factory.mktemp("people-store") / "force.duckdb")
    force.to_store(s)
    yield s, force
    s.close()


def test_persons_are_one_row_per_system_id(store):
    s, force = store
    p = s.persons()
    assert not p.duplicated(["source_system", "person_id"]).any()
    assert len(p) == len(force.tables["persons"])
    assert {"first_name", "surname", "dob", "postcode", "sex"} <= set(p.columns)
    only = s.persons(systems=["synthshire-probation"])
    assert set(only["source_system"]) == {"synthshire-probation"}
    with pytest.raises(WhatworksError, match="empty list"):
        s.persons(systems=[])


def test_link_save_and_read_back(store):
    s, force = store
    r = ww.people.link(s.persons(), source="source_system", record_id="person_id", exact=["sex"], quiet=True)
    assert s.save_links(r) == len(r.table)
    saved = store_links.links(s.con)
    assert len(saved) == len(r.table) and saved["model_version"].iloc[0] == r.model_version
    merged = saved.merge(r.table, left_on=["source_system", "person_id"], right_on=["source", "record_id"])
    assert (merged["cluster_id_x"] == merged["cluster_id_y"]).all()
    # replace=True keeps one linkage; replace=False appends
    s.save_links(r)
    assert len(store_links.links(s.con)) == len(r.table)
    s.save_links(r.table, model_version="second", replace=False)
    assert len(store_links.links(s.con)) == 2 * len(r.table)
    assert len(store_links.links(s.con, model_version="second")) == len(r.table)
    # the linked clusters agree with the true identities
    ident = force.truth_tables["person_identity"]
    lab = r.table.merge(ident, left_on=["source", "record_id"], right_on=["source_system", "person_id"])
    m = ww.people.pairwise_metrics(lab["cluster_id"], lab["true_person_id"])
    assert m["precision"] >= 0.95 and m["recall"] >= 0.95


def test_pseudonymised_results_are_refused(store):
    s, _ = store
    r = ww.people.link(s.persons(systems=["synthshire-custody", "synthshire-probation"]), source="source_system",
                       record_id="person_id", key=ww.privacy.new_key(), max_pairs_u=100_000, quiet=True)
    with pytest.raises(WhatworksError, match="pseudonymised"):
        s.save_links(r)
    with pytest.raises(WhatworksError, match="LinkResult or a DataFrame"):
        s.save_links("links")
    with pytest.raises(WhatworksError, match="not found"):
        s.save_links(pd.DataFrame({"source": ["a"]}))


def test_involvements_give_the_disorder_question_its_inputs(store):
    s, force = store
    inv = store_links.involvements(s.con)
    counts = inv["what"].value_counts()
    assert counts["arrest"] == len(force.tables["arrests"])
    assert counts["offence"] == (force.tables["roles"]["role"] == "offender").sum()
    assert counts["stop and search"] == force.tables["stops"]["person_id"].notna().sum()
