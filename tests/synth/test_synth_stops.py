"""Stop and search: the injected disproportionality ratio and find rates are measurable."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


# --- calibration of the find rates across seeds (one seed of the shared force gave Black 0.243 against 0.22,
# z = 2.3; over 80 seeds the z-scores were standard normal, so that was chance, and this test keeps it so)
CALIBRATION_SEEDS = range(8)
# ~3,200 searches per seed (~950 of Black people, ~180 of Other); 8 forces generate in about 4 s
CALIBRATION_KW = dict(crimes=40_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=0)


def _find_z_scores():
    """z = (observed - truth) / sqrt(truth (1 - truth) / n) per seed and group, for person searches by true group
    (against ``find_rate``) and by officer-defined ethnicity (against ``find_rate_officer_defined``)."""
    import whatworks as ww

    rows = []
    for seed in CALIBRATION_SEEDS:
        f = ww.synth.generate(seed=seed, **CALIBRATION_KW)
        st = f.tables["stops"].merge(f.truth_tables["stops"], on="reference")
        st = st[st["search_type"] != "Vehicle search"]
        found = st["outcome_linked_to_object"] == "True"
        truth = f.truth["stop_search"]
        for view, column, rates in (("true group", "group", truth["find_rate"]),
                                    ("officer-defined", "officer_defined_ethnicity", truth["find_rate_officer_defined"])):
            for g, p in rates.items():
                sel = st[column] == g
                n = int(sel.sum())
                rows.append({"view": view, "group": g, "seed": seed, "n": n, "found": int(found[sel].sum()), "p": p,
                             "z": (found[sel].mean() - p) / np.sqrt(p * (1 - p) / n)})
    return pd.DataFrame(rows)


def test_find_rates_are_calibrated_across_seeds():
    z = _find_z_scores()
    assert z["n"].min() >= 50   # the smallest group (Other) still has enough searches for the normal approximation
    for (view, g), s in z.groupby(["view", "group"]):
        # Mean of 8 independent N(0, 1) z-scores has SD 1/sqrt(8) = 0.35, so |mean| < 1 is a 2.8-SD bound (false
        # alarm 0.5% per group and view, < 4% for all 8). Power, checked by making the generator find at 0.243 for
        # Black while the truth says 0.22 (the gap once suspected): mean z 1.5 and pooled z 4.2, both caught.
        assert abs(s["z"].mean()) < 1, (view, g, s["z"].round(2).tolist())
        # Pooled over the seeds (~7,600 Black searches): |pooled z| < 3 (false alarm 0.3%).
        pooled = (s["found"].sum() - (s["n"] * s["p"]).sum()) / np.sqrt((s["n"] * s["p"] * (1 - s["p"])).sum())
        assert abs(pooled) < 3, (view, g, pooled)
    for view, s in z.groupby("view"):
        # 32 z-scores (4 groups x 8 seeds): 31 s^2 ~ chi-square(31), so an SD outside 0.6-1.5 has probability
        # < 0.1%; too small would mean the binomial SE is wrong (e.g. counts not independent), too large extra noise.
        assert 0.6 < s["z"].std() < 1.5, (view, s["z"].std())
