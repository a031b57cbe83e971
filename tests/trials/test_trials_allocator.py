"""Tests for whatworks.trials.allocator: trickle-flow assignment and the tamper-evident hash-chained log."""

import copy
import itertools
from collections import defaultdict

import numpy as np
import pytest

from whatworks.errors import WhatworksError
from whatworks.trials import Allocator, MemoryLog, Protocol, verify_log
from whatworks.trials.allocator import _position, entry_hash

BASE = dict(trial_id="hs-2025", title="Hot spot patrols", hypotheses=["Patrols reduce crime"], unit="hotspot cell",
            treatment="patrols", control="usual policing", primary_outcome="crimes", target_sample=200,
            eligibility=[{"field": "crimes_last_year", "op": ">=", "value": 2, "text": "2+ crimes last year"}],
            assignment={"strata": ["area"], "block_sizes": [2, 4, 6], "prob": 0.5, "seed": 20250301})


def _clock():
    counter = itertools.count()
    return lambda: f"2025-03-01T09:{next(counter) // 60:02d}:{next(counter) % 60:02d}+00:00"


def _protocol(**change):
    return Protocol(**{**BASE, **change}).freeze(now="2025-03-01T08:00:00+00:00")


def _filled(n=40, seed=0, **change):
    rng = np.random.default_rng(seed)
    log = MemoryLog()
    alloc = Allocator(log, _protocol(**change), clock=_clock())
    for i in range(n):
        alloc.assign(f"cell-{i}", {"area": str(rng.choice(["north", "south"])),
                                   "crimes_last_year": int(rng.integers(0, 12))})
    return log, alloc


# ---------------------------------------------------------------- assignment
def test_assign_excluded_and_assigned_receipts():
    _, alloc = _filled(0)
    r = alloc.assign("a", {"area": "north", "crimes_last_year": 5})
    assert r.kind == "assigned" and r.arm in ("treatment", "control") and r.seq == 1
    x = alloc.assign("b", {"area": "north", "crimes_last_year": 0})
    assert x.kind == "excluded" and x.arm is None and x.reason == "2+ crimes last year"
    assert "EXCLUDED (2+ crimes last year)" in str(x) and x.hash in str(x)
    assert alloc.verify().ok


def test_block_sizes_respected_exactly_in_every_stratum():
    log, alloc = _filled(250, seed=1)
    blocks = defaultdict(list)
    for e in alloc.entries():
        if e["kind"] == "assigned":
            blocks[(e["stratum"], e["block_no"])].append(e)
    complete = 0
    for (stratum, k), members in blocks.items():
        size = members[0]["block_size"]
        assert size in (2, 4, 6)
        assert [m["block_position"] for m in members] == list(range(len(members)))
        treated = sum(m["arm"] == "treatment" for m in members)
        if len(members) == size:
            complete += 1
            assert treated == size // 2
        else:  # the open block at the end of a stratum never over-fills either arm
            assert treated <= size // 2 and len(members) - treated <= size // 2
    assert complete > 15


def test_allocation_is_concealed_but_fair_over_seeds():
    # The first case of a stratum is treated with probability 1/2 across protocol seeds.
    first = [_position(_protocol(assignment={**BASE["assignment"], "seed": s}), '["north"]', 0)[3] for s in range(2000)]
    assert np.mean(first) == pytest.approx(0.5, abs=0.04)


def test_duplicate_unit_and_missing_stratum_refused():
    _, alloc = _filled(0)
    alloc.assign("a", {"area": "north", "crimes_last_year": 5})
    with pytest.raises(WhatworksError, match="already screened"):
        alloc.assign("a", {"area": "north", "crimes_last_year": 5})
    with pytest.raises(WhatworksError, match=r"no value for stratum field\(s\) \['area'\]"):
        alloc.assign("b", {"crimes_last_year": 5})
    with pytest.raises(WhatworksError, match="unit id"):
        alloc.assign("", {"area": "north"})
    assert len(alloc.entries()) == 1  # refused cases leave no entry


def test_follow_up_events():
    _, alloc = _filled(0)
    alloc.assign("a", {"area": "north", "crimes_last_year": 5})
    alloc.record("a", "received")
    alloc.record("a", "lost_to_follow_up", note="cell demolished")
    with pytest.raises(WhatworksError, match="already has its delivery"):
        alloc.record("a", "not_received")
    with pytest.raises(WhatworksError, match="not been assigned"):
        alloc.record("zzz", "received")
    with pytest.raises(WhatworksError, match="Unknown follow-up event"):
        alloc.record("a", "moved")
    assert [e["kind"] for e in alloc.entries()] == ["assigned", "received", "lost_to_follow_up"]
    assert alloc.verify().ok


def test_protocol_must_be_frozen_and_match_registration():
    log = MemoryLog()
    with pytest.raises(WhatworksError, match="must be frozen"):
        Allocator(log, Protocol(**BASE))
    Allocator(log, _protocol())
    with pytest.raises(WhatworksError, match="registered with a different protocol"):
        Allocator(log, _protocol(target_sample=300))
    again = Allocator.open(log, "hs-2025")
    assert again.protocol == _protocol()
    with pytest.raises(WhatworksError, match="No trial 'nope'"):
        Allocator.open(log, "nope")


def test_assignments_table_carries_case_fields():
    _, alloc = _filled(30, seed=2)
    a = alloc.assignments()
    assert {"unit", "arm", "treatment", "prob", "stratum", "seq", "area", "crimes_last_year"} <= set(a.columns)
    assert (a["crimes_last_year"] >= 2).all() and set(a["treatment"]) == {0, 1}


# ---------------------------------------------------------------- tamper evidence
def _check(entries, alloc, head=None):
    return verify_log(entries, alloc.protocol, head=head if head is not None else alloc.log.head("hs-2025"))


def test_untouched_log_verifies():
    log, alloc = _filled(25)
    check = alloc.verify()
    assert check.ok and check.n_entries == 25 and check.head_hash == alloc.entries()[-1]["hash"]


@pytest.mark.parametrize("field, value", [("arm", "FLIP"), ("unit_id", "cell-x"), ("case_json", '{"area":"south"}'),
                                          ("recorded_at", "2025-01-01T00:00:00+00:00"), ("reason", "edited")])
def test_altering_any_entry_fails_at_that_entry(field, value):
    log, alloc = _filled(25)
    original = alloc.entries()
    for i in range(len(original)):
        entries = copy.deepcopy(original)
        if field == "arm" and value == "FLIP":
            entries[i]["arm"] = {"treatment": "control", "control": "treatment", None: "treatment"}[entries[i]["arm"]]
        else:
            entries[i][field] = value
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq == i + 1, (i, check)
        assert "altered" in check.problem


def test_deleting_any_entry_fails_at_that_entry():
    log, alloc = _filled(25)
    original = alloc.entries()
    for i in range(len(original)):
        entries = copy.deepcopy(original)
        del entries[i]
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq == i + 1, (i, check)


def test_reordering_any_two_adjacent_entries_fails_at_the_first():
    log, alloc = _filled(25)
    original = alloc.entries()
    for i in range(len(original) - 1):
        entries = copy.deepcopy(original)
        entries[i], entries[i + 1] = entries[i + 1], entries[i]
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq == i + 1, (i, check)
        # renumbering the swapped pair to hide the move is caught too
        entries[i]["seq"], entries[i + 1]["seq"] = i + 1, i + 2
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq == i + 1, (i, check)


def test_inserting_an_entry_is_caught():
    log, alloc = _filled(20)
    original = alloc.entries()
    for i in range(len(original)):
        # naive insertion: a copied entry with a new unit id, the rest renumbered
        entries = copy.deepcopy(original)
        forged = {**entries[i], "unit_id": "forged"}
        entries.insert(i, forged)
        for j, e in enumerate(entries):
            e["seq"] = j + 1
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq == i + 1
        # careful insertion (its own hash recomputed): the chain breaks at the entry after it
        entries = copy.deepcopy(original)
        forged = {**entries[i], "unit_id": "forged", "kind": "excluded", "arm": None}
        forged["hash"] = entry_hash(forged)
        entries.insert(i, forged)
        check = _check(entries, alloc)
        assert not check.ok and check.first_bad_seq in (i + 1, i + 2)


def test_rewriting_an_arm_and_rehashing_the_chain_is_caught_by_the_concealed_sequence():
    log, alloc = _filled(20)
    entries = alloc.entries()
    k = next(i for i, e in enumerate(entries) if e["kind"] == "assigned" and i > 3)
    entries[k]["arm"] = "control" if entries[k]["arm"] == "treatment" else "treatment"
    prev = entries[k - 1]["hash"]
    for e in entries[k:]:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(e)
    check = verify_log(entries, alloc.protocol, head=(len(entries), prev))
    assert not check.ok and check.first_bad_seq == k + 1 and "concealed sequence" in check.problem


def test_deleting_the_last_entry_is_caught_by_the_recorded_head_and_receipts():
    log, alloc = _filled(10)
    receipt_hash = alloc.entries()[-1]["hash"]
    log.raw("hs-2025").pop()
    check = alloc.verify()
    assert not check.ok and check.first_bad_seq == 10 and "deleted" in check.problem
    # an attacker who also rewinds the store's head is still caught by a receipt kept elsewhere
    check = verify_log(alloc.entries(), alloc.protocol, head=None, expected_head=receipt_hash)
    assert not check.ok and "receipt" in check.problem


def test_protocol_edit_breaks_the_first_link():
    log, alloc = _filled(5)
    other = _protocol(target_sample=999)
    check = verify_log(alloc.entries(), other)
    assert not check.ok and check.first_bad_seq == 1
