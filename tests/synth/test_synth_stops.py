"""Stop and search: the injected disproportionality ratio and find rates are measurable."""

from __future__ import annotations

import numpy as np
import pytest


def test_disproportionality_ratio_matches_truth(force):
    stops = force.tables["stops"].merge(force.truth_tables["stops"], on="reference")
    person = stops[stops["search_type"] != "Vehicle search"]
    truth = force.truth["stop_search"]
    residents = truth["residents_by_group"]
    rate = {g: (person["group"] == g).sum() / residents[g] for g in residents}
    for g, rr in truth["rate_ratio_vs_white"].items():
        if g == "White":
            continue
        n = (person["group"] == g).sum()
        # Poisson noise on the group's count and on White's: allow ~3 standard errors
        se = rr * np.sqrt(1 / n + 1 / (person["group"] == "White").sum())
        assert rate[g] / rate["White"] == pytest.approx(rr, abs=3 * se), g


def test_officer_defined_ratio_close_to_truth(force):
    # what an analyst sees from the police.uk columns: officer-defined ethnicity (5% misclassified)
    stops = force.tables["stops"]
    person = stops[stops["search_type"] != "Vehicle search"]
    residents = force.truth["stop_search"]["residents_by_group"]
    counts = person["officer_defined_ethnicity"].value_counts()
    dr = (counts["Black"] / residents["Black"]) / (counts["White"] / residents["White"])
    assert dr == pytest.approx(force.truth["stop_search"]["rate_ratio_vs_white"]["Black"], rel=0.15)


def test_find_rates_by_group(force):
    stops = force.tables["stops"].merge(force.truth_tables["stops"], on="reference")
    found = stops["outcome_linked_to_object"] == "True"
    rates = found.groupby(stops["group"]).mean()
    counts = stops["group"].value_counts()
    for g, p in force.truth["stop_search"]["find_rate"].items():
        se = np.sqrt(p * (1 - p) / counts[g])
        assert rates[g] == pytest.approx(p, abs=3.5 * se), g
    # the over-searched group has the lower find rate
    assert rates["Black"] < rates["White"]


def test_vehicle_searches_have_no_person(force):
    stops = force.tables["stops"]
    veh = stops[stops["search_type"] == "Vehicle search"]
    assert len(veh) > 0
    assert veh[["gender", "age_range", "officer_defined_ethnicity", "person_id"]].isna().all().all()
    person = stops[stops["search_type"] != "Vehicle search"]
    assert person["person_id"].notna().all()
    assert set(person["age_range"]) <= {"under 10", "10-17", "18-24", "25-34", "over 34"}


def test_cannabis_warning_only_for_drugs(force):
    stops = force.tables["stops"]
    warn = stops["outcome"] == "Khat or Cannabis warning"
    assert warn.any()
    assert (stops.loc[warn, "object_of_search"] == "Controlled drugs").all()
