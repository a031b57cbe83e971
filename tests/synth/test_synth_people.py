"""People across systems: records with realistic errors, true identities kept only in truth."""

from __future__ import annotations

import pytest

from whatworks.synth import _constants as K
from whatworks.synth.people import ERRORS


def test_systems_and_ids(force):
    persons = force.tables["persons"]
    assert set(persons["source_system"]) == set(K.PERSON_SYSTEMS)
    assert "true_person_id" not in persons.columns
    assert not persons.duplicated(["source_system", "person_id"]).any()
    for system, prefix in (("synthshire-rms", "R"), ("synthshire-custody", "C"), ("synthshire-stopsearch", "S"),
                           ("synthshire-probation", "P")):
        ids = persons.loc[persons["source_system"] == system, "person_id"]
        assert ids.str.fullmatch(prefix + r"\d{8}").all()


def test_every_referenced_person_has_a_record(force):
    persons = force.tables["persons"]
    known = set(zip(persons["source_system"], persons["person_id"]))
    roles = force.tables["roles"]
    assert all(("synthshire-rms", p) in known for p in roles["person_id"].unique())
    arrests = force.tables["arrests"]
    assert all(("synthshire-custody", p) in known for p in arrests["person_id"].unique())
    stops = force.tables["stops"]
    assert all(("synthshire-stopsearch", p) in known for p in stops["person_id"].dropna().unique())


def test_identity_truth_covers_every_record_and_links_systems(force):
    persons = force.tables["persons"]
    ident = force.truth_tables["person_identity"]
    merged = persons.merge(ident, on=["source_system", "person_id"], how="left", validate="one_to_one")
    assert merged["true_person_id"].notna().all()
    # the same true person appears in several systems (what record linkage must find)
    systems_per_person = merged.groupby("true_person_id")["source_system"].nunique()
    assert (systems_per_person >= 2).sum() > 500
    # and some people have two ids within one system (duplicates to resolve)
    dup = merged.groupby(["source_system", "true_person_id"]).size()
    share = (dup > 1).mean()
    assert 0.001 < share < 0.05


def test_error_rates_are_realistic(force):
    persons = force.tables["persons"].merge(force.truth_tables["person_identity"], on=["source_system", "person_id"])
    n = len(persons)
    assert persons["dob"].isna().mean() == pytest.approx(ERRORS["dob_missing"], abs=0.01)
    assert persons["postcode"].isna().mean() == pytest.approx(ERRORS["postcode_missing"], abs=0.015)
    assert persons["ethnicity"].isna().mean() == pytest.approx(ERRORS["ethnicity_missing"], abs=0.015)
    upper = persons["surname"].str.isupper() & (persons["surname"].str.len() > 1)
    assert upper.mean() == pytest.approx(ERRORS["name_case"], abs=0.01)
    # the same true person's records disagree now and then: the surname differs beyond case in a few percent of pairs
    rms = persons[persons["source_system"] == "synthshire-rms"].drop_duplicates("true_person_id").set_index("true_person_id")
    cus = persons[persons["source_system"] == "synthshire-custody"].drop_duplicates("true_person_id").set_index("true_person_id")
    both = rms.join(cus, lsuffix="_r", rsuffix="_c", how="inner")
    differ = both["surname_r"].str.lower() != both["surname_c"].str.lower()
    assert 0.02 < differ.mean() < 0.2
    dob_differ = both["dob_r"].notna() & both["dob_c"].notna() & (both["dob_r"] != both["dob_c"])
    assert 0.005 < dob_differ.mean() < 0.12
    pc = persons["postcode"].dropna()
    assert pc.str.fullmatch(r"QX\d{1,3} \d[A-Z]{2}").mean() > 0.97
    assert n > 1000
