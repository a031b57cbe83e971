"""Tests for whatworks.trials.protocol: freezing, hashing, (de)serialisation, eligibility, pre-registration."""

import json

import pytest

from whatworks.errors import WhatworksError
from whatworks.trials import AssignmentPlan, Criterion, Protocol

BASE = dict(trial_id="hs-2025", title="Hot spot patrols", hypotheses=["Patrols reduce crime in hot spots"],
            unit="hotspot cell", treatment="15-minute patrols", control="usual policing",
            primary_outcome="crimes", secondary_outcomes=["asb"], target_sample=120,
            eligibility=[{"field": "crimes_last_year", "op": ">=", "value": 10, "text": "10+ crimes last year"},
                         {"field": "area", "op": "in", "value": ["north", "south"]}],
            assignment={"strata": ["area"], "block_sizes": [2, 4], "prob": 0.5, "seed": 11})


def test_freeze_sets_time_and_hash_and_is_deterministic():
    p = Protocol(**BASE).freeze(now="2025-03-01T09:00:00+00:00")
    q = Protocol(**BASE).freeze(now="2025-03-01T09:00:00+00:00")
    assert p.is_frozen and p.frozen_at == "2025-03-01T09:00:00+00:00"
    assert p.content_hash == q.content_hash and len(p.content_hash) == 64
    r = Protocol(**{**BASE, "target_sample": 121}).freeze(now="2025-03-01T09:00:00+00:00")
    assert r.content_hash != p.content_hash


def test_freeze_draws_secret_seed_when_none():
    p = Protocol(**{**BASE, "assignment": {"strata": ["area"]}}).freeze()
    assert isinstance(p.assignment.seed, int) and p.assignment.seed >= 0
    with pytest.raises(WhatworksError, match="already frozen"):
        p.freeze()


def test_json_and_toml_round_trip_and_tamper_detection():
    p = Protocol(**BASE).freeze(now="2025-03-01T09:00:00+00:00")
    back = Protocol.from_json(p.to_json())
    assert back == p
    data = json.loads(p.to_json())
    data["target_sample"] = 60  # edited after freezing
    with pytest.raises(WhatworksError, match="edited after it was frozen"):
        Protocol.from_dict(data)
    toml = """
trial_id = "t-toml"
title = "Custody deferred prosecution"
hypotheses = ["Deferral reduces reoffending"]
unit = "offender"
treatment = "deferred prosecution"
control = "prosecution"
primary_outcome = "reoffended"
target_sample = 400
[assignment]
block_sizes = [6]
prob = 0.5
seed = 3
[[eligibility]]
field = "age"
op = ">="
value = 18
"""
    t = Protocol.from_toml(toml)
    assert t.eligibility[0] == Criterion("age", ">=", 18) and t.assignment.block_sizes == (6,)


def test_eligibility_rules():
    p = Protocol(**BASE)
    assert p.check_eligibility({"crimes_last_year": 12, "area": "north"}) == []
    assert p.check_eligibility({"crimes_last_year": 3, "area": "east"}) == ["10+ crimes last year", "area in ['north', 'south']"]
    assert p.check_eligibility({"area": "north"}) == ["10+ crimes last year"]  # missing field fails
    assert Criterion("x", "present").passes({"x": 0}) and not Criterion("x", "present").passes({"x": ""})
    with pytest.raises(WhatworksError, match="cannot be compared"):
        Criterion("age", ">=", 18).passes({"age": "adult"})


def test_outcome_pre_registration():
    p = Protocol(**BASE)
    assert p.check_outcome("crimes") and p.check_outcome("asb")
    with pytest.raises(WhatworksError, match="not in protocol 'hs-2025'.*exploratory=True"):
        p.check_outcome("arrests")
    assert p.check_outcome("arrests", exploratory=True) is False


@pytest.mark.parametrize("change, match", [
    ({"trial_id": "bad id!"}, "trial_id"),
    ({"title": "  "}, "'title' section"),
    ({"hypotheses": []}, "hypothesis"),
    ({"target_sample": 1}, "target_sample"),
    ({"family": "binomial"}, "family"),
    ({"assignment": {"block_sizes": [3], "prob": 0.5}}, "cannot hold prob=0.5"),
    ({"assignment": {"prob": 1.0}}, "strictly between 0 and 1"),
    ({"eligibility": [{"field": "age", "op": "~", "value": 1}]}, "unknown operator"),
    ({"eligibility": [{"field": "area", "op": "in", "value": "north"}]}, "list of values"),
])
def test_bad_protocols(change, match):
    with pytest.raises(WhatworksError, match=match):
        Protocol(**{**BASE, **change})


def test_unknown_and_missing_sections():
    with pytest.raises(WhatworksError, match="Unknown protocol section"):
        Protocol.from_dict({**BASE, "budget": 10})
    with pytest.raises(WhatworksError, match="missing"):
        Protocol.from_dict({k: v for k, v in BASE.items() if k != "unit"})
    with pytest.raises(WhatworksError, match="not valid JSON"):
        Protocol.from_json("{nope")


def test_assignment_plan_defaults():
    plan = AssignmentPlan()
    assert plan.block_sizes == (4,) and plan.prob == 0.5 and plan.strata == ()
    assert "NOT frozen" in Protocol(**BASE).summary()
