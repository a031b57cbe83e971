"""Tests for whatworks.store.trial_log: the trial log in DuckDB, reopened from file, tampered with by SQL."""

import duckdb
import pytest

from whatworks.errors import WhatworksError
from whatworks.store.trial_log import TrialLog
from whatworks.trials import Allocator, Protocol

P = dict(trial_id="dpp-1", title="Deferred prosecution", hypotheses=["Deferral reduces reoffending"],
         unit="offender", treatment="deferred prosecution", control="prosecution", primary_outcome="reoffended",
         target_sample=100, assignment={"strata": ["risk"], "block_sizes": [4], "seed": 99})


def _fill(con, n=12):
    alloc = Allocator(TrialLog(con), Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00"))
    for i in range(n):
        alloc.assign(f"o{i}", {"risk": "high" if i % 3 == 0 else "low", "age": 20 + i})
    return alloc


def test_round_trip_through_a_store_file(tmp_path):
    path = tmp_path / "force.duckdb"
    log = TrialLog.open(path)
    alloc = _fill(log.con)
    hashes = [e["hash"] for e in alloc.entries()]
    log.con.close()
    again = Allocator.open(TrialLog.open(path), "dpp-1")
    assert [e["hash"] for e in again.entries()] == hashes
    assert again.verify().ok
    r = again.assign("o99", {"risk": "low"})
    assert r.seq == 13 and again.verify().ok
    trials = TrialLog(again.log.con).trials()
    assert trials.loc[0, "trial_id"] == "dpp-1" and trials.loc[0, "entries"] == 13


def test_allocator_accepts_connection_or_store_like_object():
    con = duckdb.connect()

    class FakeStore:  # anything exposing .con, as whatworks.Store does
        def __init__(self, con):
            self.con = con

    alloc = Allocator(FakeStore(con), Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00"))
    alloc.assign("x", {"risk": "low"})
    assert Allocator.open(con, "dpp-1").verify().ok
    with pytest.raises(WhatworksError, match="Store or a DuckDB connection"):
        TrialLog(object())


@pytest.mark.parametrize("sql, bad_seq", [
    ("UPDATE trial_assignments SET arm = CASE arm WHEN 'treatment' THEN 'control' ELSE 'treatment' END WHERE seq = 5", 5),
    ("DELETE FROM trial_assignments WHERE seq = 7", 7),
    ("UPDATE trial_assignments SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE seq IN (3, 4)", 3),
    ("UPDATE trial_assignments SET recorded_at = '2024-12-31T23:59:59+00:00' WHERE seq = 1", 1),
    ("DELETE FROM trial_assignments WHERE seq = 12", 12),
    ("INSERT INTO trial_assignments SELECT * REPLACE (13 AS seq, 'o-extra' AS unit_id) FROM trial_assignments WHERE seq = 12", 13),
])
def test_sql_tampering_is_named(sql, bad_seq):
    con = duckdb.connect()
    alloc = _fill(con)
    assert alloc.verify().ok
    con.execute(sql)
    check = alloc.verify()
    assert not check.ok and check.first_bad_seq == bad_seq, check


def test_registering_twice_is_refused():
    con = duckdb.connect()
    log = TrialLog(con)
    p = Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00")
    log.save_protocol(p.to_dict())
    with pytest.raises(WhatworksError, match="already registered"):
        log.save_protocol(p.to_dict())


def test_stale_append_is_refused():
    con = duckdb.connect()
    alloc = _fill(con, 2)
    entry = {**alloc.entries()[-1], "seq": 2}
    with pytest.raises(WhatworksError, match="moved on"):
        alloc.log.append("dpp-1", entry)
    assert alloc.verify().ok


def test_works_on_a_whatworks_store(tmp_path):
    from whatworks.store import Store

    store = Store(tmp_path / "force.duckdb")
    alloc = Allocator(store, Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00"))
    alloc.assign("x", {"risk": "low"})
    assert Allocator.open(store, "dpp-1").verify().ok
    assert store.con.execute("SELECT count(*) FROM trial_assignments").fetchone()[0] == 1
