import numpy as np
import pytest

import whatworks.synth as synth

SYNTH_KW = dict(seed=7, crimes=6_000, months=24, boroughs=8, survey_per_year=6_000)


@pytest.fixture(scope="session")
def force():
    return synth.generate(**SYNTH_KW)


@pytest.fixture(scope="session")
def survey(force):
    s = force.tables["survey"].copy()
    s["sex_age"] = s["sex"] + "_" + s["age_band"]
    s["agree_effective"] = s["effectiveness"] >= 4
    return s.merge(force.truth_tables["survey"][["respondent_id", "after_event"]], on="respondent_id")
