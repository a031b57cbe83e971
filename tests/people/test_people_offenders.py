"""whatworks.people.offenders: score components by hand, harm-table rules, power-few recovery on the synthetic force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError


def _off():
    return pd.DataFrame({"offender_id": ["a", "a", "a", "b", "c"],
                         "occurred": ["2024-01-01", "2023-01-01", "2024-01-01", "2023-01-01", "2022-01-01"],
                         "crime_type": ["Burglary", "Robbery", "Shoplifting", "Robbery", "Burglary"]})

# ------------------------------------------------------------------------------------------------ CHECK INPUTS


def test_harm_weights_are_never_invented():
    with pytest.raises(WhatworksError, match=r"no weight for 1 crime type.*Shoplifting.*never invents"):
        ww.people.offenders(_off(), harm_weights={"Burglary": 1.0, "Robbery": 2.0}, quiet=True)
    with pytest.raises(WhatworksError, match="finite numbers >= 0"):
        ww.people.offenders(_off(), harm_weights={"Burglary": -1, "Robbery": 2.0, "Shoplifting": 0}, quiet=True)
    table = pd.DataFrame({"crime_type": ["Burglary", "Burglary"], "weight": [1, 2]})
    with pytest.raises(WhatworksError, match="twice"):
        ww.people.offenders(_off(), harm_weights=table, quiet=True)


def test_bad_inputs():
    with pytest.raises(WhatworksError, match="not found"):
        ww.people.offenders(_off(), id="who", quiet=True)
    with pytest.raises(WhatworksError, match="recency_half_life_days"):
        ww.people.offenders(_off(), recency_half_life_days=0, quiet=True)
    with pytest.raises(WhatworksError, match="empty"):
        ww.people.offenders(_off().iloc[:0], quiet=True)
    with pytest.raises(WhatworksError, match="as_of"):
        ww.people.offenders(_off(), as_of="yesterday-ish", quiet=True)

# ------------------------------------------------------------------------------------------------ CHECK OUTPUTS


def test_score_components_by_hand():
    harm = pd.DataFrame({"crime_type": ["Burglary", "Robbery", "Shoplifting"], "weight": [10.0, 100.0, 1.0]})
    r = ww.people.offenders(_off(), harm_weights=harm, recency_half_life_days=365, as_of="2024-01-01", n_boot=20,
                            quiet=True)
    t = r.table.set_index("offender_id")
    half = 0.5 ** (365 / 365)
    assert t.loc["a", "offences"] == 3
    assert t.loc["a", "harm"] == pytest.approx(111.0)
    assert t.loc["a", "score"] == pytest.approx(10 + 100 * half + 1)
    assert t.loc["a", "recency_weighted_offences"] == pytest.approx(2 + half)
    assert t.loc["b", "score"] == pytest.approx(100 * half)
    assert t.loc["c", "score"] == pytest.approx(10 * 0.5 ** (730 / 365))
    assert t.loc["c", "days_since_last"] == 730
    assert r.table["offender_id"].tolist() == ["a", "b", "c"] and r.table["rank"].tolist() == [1, 2, 3]
    pf = r.power_few.set_index("top")
    assert pf.loc[0.2, "offenders"] == 1 and pf.loc[0.2, "share_of_offences"] == pytest.approx(3 / 5)
    assert pf.loc[0.2, "share_of_harm"] == pytest.approx(111 / 221)
    assert "not a prediction" in r.summary() and "harm weight ×" in r.summary()


def test_without_harm_table_every_offence_weighs_one(capsys):
    r = ww.people.offenders(_off(), n_boot=20)
    assert "as of set to 2024-01-01" in capsys.readouterr().err
    assert r.settings["as_of"].source == "data"
    assert r.table["harm"].isna().all()
    assert r.table.set_index("offender_id").loc["a", "score"] == pytest.approx(2 + 0.5)
    assert "every offence weighs 1" in r.summary()
    assert r.plot() is not None


def test_key_pseudonymises_people():
    key = ww.privacy.new_key()
    r = ww.people.offenders(_off(), key=key, n_boot=10, quiet=True)
    assert set(r.table["offender_id"]) == set(ww.privacy.pseudonymise(["a", "b", "c"], key))

# ------------------------------------------------------------------------------------------------ synthetic force


def _recorded(crimes_truth):
    return crimes_truth[crimes_truth["offender_id"].notna()]


def test_power_few_recovered_exactly_with_true_ids(force, crimes_truth):
    real = force.truth["realised"]
    r = ww.people.offenders(_recorded(crimes_truth), id="true_offender_id", n_boot=100, quiet=True)
    assert r.n_offenders == real["recorded_offenders"]
    share = r.power_few.set_index("top").loc[0.10, "share_of_offences"]
    assert share == pytest.approx(real["share_of_recorded_offences_by_top_10pct_offenders"], abs=5e-5)


def test_power_few_from_rms_ids_within_ci(force, crimes_truth):
    real = force.truth["realised"]
    r = ww.people.offenders(_recorded(crimes_truth), id="offender_id", n_boot=300, quiet=True)
    row = r.power_few.set_index("top").loc[0.10]
    assert row["offences_ci_low"] <= real["share_of_recorded_offences_by_top_10pct_offenders"] <= row["offences_ci_high"]
    # a power few: the top 10% commit about half of recorded offences (Wolfgang et al. 1972 found ~6% -> ~50%)
    assert row["share_of_offences"] > 0.4


def test_harm_is_more_concentrated_with_a_user_harm_table(crimes_truth):
    """With violence weighted far above shoplifting (a stand-in table made for the test, not shipped), the share of
    harm by the top 10% differs from the share of offences, and both are reported."""
    types = crimes_truth["crime_type"].astype(str).unique()
    weights = {t: (50.0 if t in ("Violence and sexual offences", "Robbery") else 1.0) for t in types}
    r = ww.people.offenders(_recorded(crimes_truth), id="true_offender_id", harm_weights=weights, n_boot=50,
                            quiet=True)
    row = r.power_few.set_index("top").loc[0.10]
    assert np.isfinite(row["share_of_harm"]) and row["harm_ci_low"] <= row["share_of_harm"] <= row["harm_ci_high"]
    assert r.curve["share_of_harm"].iloc[-1] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------ SETTINGS


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: recency_half_life_days=365 and n_boot=1000 passed explicitly were recorded as defaults (compared with the
    # default), seed=0 did not count at all, and harm_weights was "user" even when left out
    given = ww.people.offenders(_off(), recency_half_life_days=365, conf_level=0.95, n_boot=1000, seed=0, quiet=True)
    omitted = ww.people.offenders(_off(), quiet=True)
    for name, value in (("recency_half_life_days", 365), ("conf_level", 0.95), ("bootstrap", "1000 replicates, seed 0")):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    assert omitted.settings["harm_weights"].source == "default"
    pd.testing.assert_frame_equal(given.table, omitted.table)
    pd.testing.assert_frame_equal(given.power_few, omitted.power_few)
    # the seed alone (even 0) counts as the caller's bootstrap choice, and the record says which was given
    seeded = ww.people.offenders(_off(), seed=0, quiet=True).settings["bootstrap"]
    assert seeded.source == "user" and seeded.reason == "seed given by the caller"
    with pytest.raises(WhatworksError, match="'n_boot' parameter"):
        ww.people.offenders(_off(), n_boot=-1, quiet=True)
