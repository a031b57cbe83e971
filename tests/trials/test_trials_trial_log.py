"""Tests for whatworks.store.trial_log: the trial log in DuckDB, reopened from file, tampered with by SQL."""

from pathlib import Path

import duckdb
import pytest

import whatworks.trials
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


def test_allocator_accepts_a_log_or_a_store_like_object():
    con = duckdb.connect()

    class FakeStore:  # anything with a trial_log() method, as whatworks.Store has
        def __init__(self, con):
            self.con = con

        def trial_log(self):
            return TrialLog(self)

    alloc = Allocator(FakeStore(con), Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00"))
    alloc.assign("x", {"risk": "low"})
    assert isinstance(alloc.log, TrialLog)
    assert Allocator.open(TrialLog(con), "dpp-1").verify().ok
    with pytest.raises(WhatworksError, match="Store or a DuckDB connection"):
        TrialLog(object())
    # A bare connection is not wrapped by the allocator (it does not import the store): a clear error instead.
    with pytest.raises(WhatworksError, match="whatworks Store or a trial log.*TrialLog"):
        Allocator.open(con, "dpp-1")

    class BrokenStore:
        def trial_log(self):
            return object()

    with pytest.raises(WhatworksError, match="did not return a trial log"):
        Allocator(BrokenStore(), Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00"))


def test_trials_never_import_the_store():
    # DESIGN.md: analyses never import whatworks.store; the allocator reaches the store by duck typing.
    src = Path(whatworks.trials.__file__).parent
    offenders = [f"{f.name}:{i}" for f in sorted(src.glob("*.py"))
                 for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if "whatworks.store" in line]
    assert offenders == []


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


def test_store_trial_log_method_keeps_the_same_chain(tmp_path):
    from whatworks.store import Store

    # The same cases, at the same (fixed) times, through Allocator(store) -> Store.trial_log() and through
    # TrialLog(con) give identical hash-chained logs.
    store = Store(tmp_path / "force.duckdb")
    log = store.trial_log()
    assert isinstance(log, TrialLog) and log.con is store.con
    protocol = Protocol(**P).freeze(now="2025-01-01T00:00:00+00:00")
    logs = []
    for backend in (store, TrialLog(duckdb.connect())):
        alloc = Allocator(backend, protocol, clock=lambda: "2025-01-02T09:00:00.000000+00:00")
        for i in range(12):
            alloc.assign(f"o{i}", {"risk": "high" if i % 3 == 0 else "low", "age": 20 + i})
        alloc.record("o1", "received")
        assert alloc.verify().ok
        logs.append(alloc.entries())
    assert isinstance(Allocator.open(store, "dpp-1").log, TrialLog)
    assert logs[0] == logs[1] and len(logs[0]) == 13
