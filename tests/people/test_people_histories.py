"""whatworks.people.histories: the seed's question (who was arrested in a window, what was known before) by hand and
against the synthetic force's true identities."""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError


def _inv():
    return pd.DataFrame({
        "source_system": ["cust", "stop", "rms", "rms", "cust", "stop"],
        "person_id": ["C1", "S1", "R1", "R2", "C2", "S9"],
        "what": ["arrest", "stop and search", "offence", "offence", "arrest", "stop and search"],
        "occurred": ["2011-08-08 22:00", "2011-03-01", "2010-01-01", "2011-08-07", "2011-08-09", "2011-01-01"],
    })


def _links():
    return pd.DataFrame({"source_system": ["cust", "stop", "rms", "cust", "rms", "prob"],
                         "person_id": ["C1", "S1", "R1", "C2", "R2", "P1"],
                         "cluster_id": ["p1", "p1", "p1", "p2", "p2", "p2"]})


def test_hand_built_answer():
    cas = pd.DataFrame({"source_system": ["prob"], "person_id": ["P1"]})
    h = ww.people.histories(_inv(), _links(), window=("2011-08-06", "2011-08-10"), caseload=cas)
    t = h.table.set_index("person")
    assert list(t.index) == ["p1", "p2"]
    assert t.loc["p1", "prior_stop_and_search"] == 1 and t.loc["p1", "prior_offence"] == 1
    # p2's offence falls inside the window, so it is not history
    assert t.loc["p2", "prior_offence"] == 0 and not t.loc["p2", "any_prior"]
    assert t.loc["p2", "on_caseload"] and not t.loc["p1", "on_caseload"]
    assert t.loc["p1", "records"] == 3 and t.loc["p1", "sources"] == 3
    s = h.shares.set_index("measure")
    assert s.loc["on the caseload", "people"] == 1 and s.loc["any of these before the window", "share"] == 0.5
    assert "2 people had an arrest" in h.summary()
    assert h.plot() is not None


def test_without_links_history_under_other_ids_is_missed():
    h = ww.people.histories(_inv(), None, window=("2011-08-06", "2011-08-10"))
    assert not h.table["any_prior"].any()
    assert "No link table" in h.summary()


def test_inputs():
    with pytest.raises(WhatworksError, match="No involvement of kind 'charge'"):
        ww.people.histories(_inv(), window=("2011-08-06", "2011-08-10"), trigger="charge")
    with pytest.raises(WhatworksError, match="ends before it starts"):
        ww.people.histories(_inv(), window=("2011-08-10", "2011-08-06"))
    with pytest.raises(WhatworksError, match="pair of dates"):
        ww.people.histories(_inv(), window="2011-08")
    dup = pd.concat([_links(), _links().iloc[:1]])
    with pytest.raises(WhatworksError, match="twice"):
        ww.people.histories(_inv(), dup, window=("2011-08-06", "2011-08-10"))


def test_choices_from_the_data_are_announced_unless_quiet(capsys):
    h = ww.people.histories(_inv(), _links(), window=("2011-08-06", "2011-08-10"))
    err = capsys.readouterr().err
    assert "history set to ['offence', 'stop and search'] (every kind in the data other than the trigger 'arrest')" in err
    assert "1 involved record(s) not in the link table" in err          # S9 of the stop system
    assert h.settings["history"].source == "data" and h.settings["unlinked_records"].value == 1
    q = ww.people.histories(_inv(), _links(), window=("2011-08-06", "2011-08-10"), quiet=True)
    assert capsys.readouterr().err == ""
    assert q.settings["history"].value == ["offence", "stop and search"] and q.settings["unlinked_records"].value == 1
    pd.testing.assert_frame_equal(q.table, h.table)
    # a history the caller gives is not announced
    ww.people.histories(_inv(), None, window=("2011-08-06", "2011-08-10"), history=["offence"])
    assert capsys.readouterr().err == ""

def test_key_pseudonymises_people():
    key = ww.privacy.new_key()
    h = ww.people.histories(_inv(), _links(), window=("2011-08-06", "2011-08-10"), key=key)
    assert set(h.table["person"]) == set(ww.privacy.pseudonymise(["p1", "p2"], key))


def test_linked_answer_matches_the_true_answer_on_the_synthetic_force(force, involvements, linked, persons_truth):
    """Arrests in a two-month window: the shares with prior stops, prior offences and on the probation caseload,
    computed through whatworks' links, are within 3 percentage points of the same shares computed through the
    true identities (and inside each other's CIs)."""
    from whatworks.synth import _constants as C

    window = ("2023-06-01", "2023-07-31")
    caseload = persons_truth[persons_truth["source_system"] == C.PROBATION_SYSTEM][["source_system", "person_id"]]
    true_links = persons_truth[["source_system", "person_id"]].assign(cluster_id=persons_truth["true_person_id"].astype(str))
    est_links = linked.table.rename(columns={"source": "source_system", "record_id": "person_id"})
    truth = ww.people.histories(involvements, true_links, window=window, caseload=caseload)
    est = ww.people.histories(involvements, est_links, window=window, caseload=caseload)
    naive = ww.people.histories(involvements, None, window=window, caseload=caseload)
    assert len(truth.table) > 200
    ts, es, ns = (x.shares.set_index("measure") for x in (truth, est, naive))
    for m in ts.index:
        assert abs(es.loc[m, "share"] - ts.loc[m, "share"]) <= 0.03, m
        assert es.loc[m, "ci_low"] <= ts.loc[m, "share"] <= es.loc[m, "ci_high"], m
    # without linkage the history is invisible: arrests are in custody, history in other systems
    assert ns.loc["any of these before the window", "share"] == 0
    assert ts.loc["offence before the window", "share"] > 0.3


def test_explicit_options_equal_to_defaults_are_recorded_as_given():
    # review: trigger="arrest" passed explicitly was recorded as a default ("user" if trigger != "arrest"), and level
    # was not recorded
    window = ("2011-08-06", "2011-08-10")
    given = ww.people.histories(_inv(), _links(), window=window, trigger="arrest", conf_level=0.95, quiet=True)
    omitted = ww.people.histories(_inv(), _links(), window=window, quiet=True)
    for name, value in (("trigger", "arrest"), ("conf_level", 0.95)):
        assert (given.settings[name].value, given.settings[name].source) == (value, "user"), name
        assert (omitted.settings[name].value, omitted.settings[name].source) == (value, "default"), name
    pd.testing.assert_frame_equal(given.table, omitted.table)
    pd.testing.assert_frame_equal(given.shares, omitted.shares)
    assert omitted.trigger == "arrest"
