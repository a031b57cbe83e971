"""Recovery of the synthetic force's injected truth (whatworks.synth): concentration and near-repeat burglary."""

import pytest

from whatworks.place import concentration, knox


@pytest.fixture(scope="module")
def force():
    from whatworks.synth import generate

    return generate(seed=1, crimes=30_000, months=12, boroughs=2)


def test_concentration_matches_injected_share(force):
    crimes = force.tables["crimes"]
    segments = force.tables["segments"]["segment_id"]
    counts = crimes["segment_id"].value_counts().reindex(segments, fill_value=0)
    r = concentration(counts.to_numpy())
    top5 = float(r.table.loc[r.table["share_of_places"] <= 0.05 + 1e-12, "share_of_crime"].iloc[-1])
    realised = force.truth["realised"]["share_on_top_5pct_segments"]
    assert top5 == pytest.approx(realised, abs=0.01)
    expected = force.truth["crime"]["place"]["expected_share_on_top_5pct_segments"]
    assert top5 == pytest.approx(expected, abs=0.05)
    assert 0.02 <= r.places_for_50 <= 0.08          # "about half of crime on about 5% of segments"


def _knox(force, crime_type):
    c = force.tables["crimes"]
    ev = c[(c["crime_type"] == crime_type) & c["x"].notna()]
    return knox(ev, "x", "y", "occurred", distance_bands=[0, 100, 200, 400, 800], time_bands=[0, 7, 14, 28, 56],
                permutations=199, seed=2, quiet=True).table.set_index(["distance_band", "time_band"])


def test_near_repeat_found_for_burglary_at_injected_scale(force):
    nr = force.truth["near_repeat"]
    assert nr["crime_type"] == "Burglary" and nr["distance_scale_m"] <= 200 and nr["time_scale_days"] <= 14
    t = _knox(force, "Burglary")
    near = t.loc[("[0, 100) m", "[0, 7) days")]
    assert near["ratio"] > 1.5 and near["p_value"] <= 0.01
    far = t.loc[("[400, 800) m", "[28, 56) days")]
    assert far["ratio"] < 1.2


def test_no_near_repeat_for_a_type_without_contagion(force):
    t = _knox(force, "Vehicle crime")
    near = t.loc[("[0, 100) m", "[0, 7) days")]
    assert near["ratio"] < 1.3 and near["p_value"] > 0.01
