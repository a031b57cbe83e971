"""Interventions with known effects: the offender-management programme's TRUE effect is zero."""

from __future__ import annotations

import numpy as np


def test_om_participants_selected_on_observables(force):
    om = force.tables["om_programme"]
    part = om[om["participant"]]
    rest = om[~om["participant"]]
    assert len(part) > 100 and len(rest) > 100
    assert part["prior_offences_12m"].mean() > 1.5 * rest["prior_offences_12m"].mean()
    assert (part["age"] < 25).mean() > (rest["age"] < 25).mean()
    # naive comparisons mislead: participants reoffend more than others (selection) ...
    assert part["offences_follow_up"].mean() > rest["offences_follow_up"].mean()
    # ... and less than before (regression to the mean), although the programme does nothing
    assert part["offences_follow_up"].mean() * 12 / part["follow_up_months"].iloc[0] < part["prior_offences_12m"].mean()


def test_om_true_effect_zero_by_weighting_with_true_selection_probability(force):
    """Participation depends only on observables, so weighting by the true selection probability (kept in truth)
    removes the selection: the weighted difference in reoffending is ~0, the true effect, unlike the naive one."""
    om = force.tables["om_programme"].merge(force.truth_tables["om_programme"], on="person_id")
    y = om["offences_follow_up"].to_numpy(float)
    t = om["participant"].to_numpy()
    p = om["selection_probability"].to_numpy()
    naive = y[t].mean() - y[~t].mean()
    ipw = np.average(y[t], weights=1 / p[t]) - np.average(y[~t], weights=1 / (1 - p[~t]))
    # bootstrap the weighted difference to know its noise
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(200):
        i = rng.integers(0, len(y), len(y))
        yi, ti, pi = y[i], t[i], p[i]
        boots.append(np.average(yi[ti], weights=1 / pi[ti]) - np.average(yi[~ti], weights=1 / (1 - pi[~ti])))
    se = float(np.std(boots))
    assert naive > 4 * se                 # the naive comparison finds a large "harmful effect"
    assert abs(ipw) < 3 * se              # the truth: no effect
    assert abs(ipw) < abs(naive) / 3
    assert force.truth["interventions"]["offender_management"]["true_effect"] == 0.0


def test_intervention_listing_and_truth(force):
    iv = force.tables["interventions"]
    assert list(iv["intervention"]) == ["hotspot_patrol_rct", "offender_management", "problem_solving_policy",
                                        "vehicle_crime_initiative"]
    t = force.truth["interventions"]
    assert t["hotspot_rct"]["rate_ratio"] == 0.8 and t["hotspot_rct"]["displacement"] == 0.0
    assert t["borough_policy"]["rate_ratio"] == 0.85
    assert t["step_change"]["rate_ratio"] == 0.8
    pol = force.tables["policy_adoption"]
    adopted = pol.dropna(subset=["adoption_month"])
    assert adopted["adoption_month"].is_monotonic_increasing or adopted["adoption_month"].nunique() == len(adopted)
