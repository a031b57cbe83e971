"""Shared synthetic force and linkage for the people tests (generated once per session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import whatworks as ww

# Same size as the synth tests' force: big enough for the stylised facts, a few seconds to generate.
FORCE_KW = dict(seed=7, crimes=80_000, months=24, boroughs=4, survey_per_year=4_000)


@pytest.fixture(scope="session")
def force():
    return ww.synth.generate(**FORCE_KW)


@pytest.fixture(scope="session")
def crimes_truth(force):
    """The RMS crimes with their true victim and offender (truth table joined on the reference)."""
    return force.tables["crimes"].merge(force.truth_tables["crimes"], on="reference", how="left")


@pytest.fixture(scope="session")
def persons_truth(force):
    """Every person record the force's systems hold, with its true identity."""
    return force.tables["persons"].merge(force.truth_tables["person_identity"], on=["source_system", "person_id"])


@pytest.fixture(scope="session")
def linked(persons_truth):
    """The force's people linked by whatworks (label = true identity, for the metrics)."""
    return ww.people.link(persons_truth, source="source_system", record_id="person_id", exact=["sex", "ethnicity"],
                          label="true_person_id", quiet=True)


@pytest.fixture(scope="session")
def involvements(force):
    """Arrests, stops and recorded offences as (source_system, person_id, what, occurred), like the store's."""
    from whatworks.synth import _constants as C

    t = force.tables
    arrests = pd.DataFrame({"source_system": C.CUSTODY_SYSTEM, "person_id": t["arrests"]["person_id"],
                            "what": "arrest", "occurred": t["arrests"]["occurred"]})
    st = t["stops"][t["stops"]["person_id"].notna()]
    stops = pd.DataFrame({"source_system": C.STOPS_SYSTEM, "person_id": st["person_id"], "what": "stop and search",
                          "occurred": st["occurred"]})
    roles = t["roles"][t["roles"]["role"] == "offender"].merge(t["crimes"][["reference", "occurred"]], on="reference")
    offences = pd.DataFrame({"source_system": C.RMS_SYSTEM, "person_id": roles["person_id"].astype(str),
                             "what": "offence", "occurred": roles["occurred"]})
    out = pd.concat([arrests, stops, offences], ignore_index=True)
    out["person_id"] = out["person_id"].astype(str)
    return out


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(20240607)
