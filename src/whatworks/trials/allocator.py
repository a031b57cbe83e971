"""Case-by-case assignment as cases trickle in, recorded in a tamper-evident hash-chained log.

This is the Cambridge Randomizer's job: a case arrives, it is screened against the protocol's eligibility
rules, and an eligible case gets the next concealed assignment of its stratum's permuted block. Every
screening, assignment and follow-up event is appended to a log in which each entry's SHA-256 hash covers
the entry and the previous entry's hash; the first entry's "previous hash" is the frozen protocol's content
hash. :func:`verify_log` recomputes the chain and names the first entry that was altered, deleted, inserted
or moved, and re-derives every assignment from the protocol's seed, so an arm rewritten after the event is
caught even when the attacker also recomputed the hashes.

What a hash chain cannot do alone: someone with write access to the store and this code could rebuild the
whole log. Each :class:`Receipt` carries the chain hash at that moment; keep receipts outside the store
(print them, e-mail them to the trial's independent statistician) and pass the latest to
``verify(expected_head=...)`` to rule that out.

Persistence is not done here (analyses do no I/O and do not import the store): the allocator talks to a log
object with five methods (``load_protocol``, ``save_protocol``, ``entries``, ``head``, ``append``).
:class:`MemoryLog` keeps the log in memory; the store's ``TrialLog`` keeps it in the DuckDB store. Pass either
one, or anything with a ``trial_log()`` method returning such a log: a :class:`whatworks.Store` has one, so
``Allocator(store, protocol)`` works. For a bare DuckDB connection use the store's ``TrialLog(con)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol as TypingProtocol

import numpy as np
import pandas as pd

from whatworks.errors import error
from whatworks.trials.protocol import Protocol, canonical_json

__all__ = ["Allocator", "MemoryLog", "Receipt", "LogCheck", "verify_log", "entry_hash", "ENTRY_FIELDS",
           "FOLLOW_UP_EVENTS"]

_WHERE = "Allocator"
ENTRY_FIELDS = ("trial_id", "seq", "kind", "unit_id", "stratum", "arm", "prob", "block_no", "block_size",
                "block_position", "reason", "case_json", "recorded_at", "prev_hash")
KINDS = ("assigned", "excluded", "received", "not_received", "lost_to_follow_up", "withdrawn")
FOLLOW_UP_EVENTS = KINDS[2:]
ARMS = ("control", "treatment")


class TrialLogLike(TypingProtocol):  # the five methods the allocator needs from a log backend
    def load_protocol(self, trial_id: str) -> dict | None: ...
    def save_protocol(self, protocol: dict) -> None: ...
    def entries(self, trial_id: str) -> list[dict]: ...
    def head(self, trial_id: str) -> tuple[int, str] | None: ...
    def append(self, trial_id: str, entry: dict) -> None: ...


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the entry's fields (including the previous entry's hash)."""
    return hashlib.sha256(canonical_json({k: entry.get(k) for k in ENTRY_FIELDS}).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- the concealed sequence
def _stratum_key(values: Mapping[str, Any], strata: tuple[str, ...]) -> str:
    return canonical_json([str(values[s]) for s in strata]) if strata else ""


def _stratum_int(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:15], 16)


def _block(protocol: Protocol, stratum: str, k: int) -> np.ndarray:
    """Block k of a stratum: its arms in order (1 = treatment), drawn from the protocol's seed."""
    plan = protocol.assignment
    rng = np.random.default_rng([plan.seed, _stratum_int(stratum), k])
    size = plan.block_sizes[int(rng.integers(len(plan.block_sizes)))] if len(plan.block_sizes) > 1 else plan.block_sizes[0]
    n_treat = int(round(size * plan.prob))
    return rng.permutation(np.r_[np.ones(n_treat, dtype=int), np.zeros(size - n_treat, dtype=int)])


def _position(protocol: Protocol, stratum: str, count: int) -> tuple[int, int, int, int]:
    """(block_no, block_size, position, arm) of the stratum's ``count``-th (0-based) assignment."""
    k, start = 0, 0
    while True:
        arms = _block(protocol, stratum, k)
        if count < start + len(arms):
            pos = count - start
            return k, len(arms), pos, int(arms[pos])
        start += len(arms)
        k += 1


# ---------------------------------------------------------------------- receipts and checks
@dataclass(frozen=True)
class Receipt:
    """What the person asking for an assignment gets back (keep it: it anchors the log)."""

    trial_id: str
    seq: int
    kind: str
    unit_id: str
    arm: str | None
    stratum: str
    reason: str
    recorded_at: str
    hash: str

    def __str__(self) -> str:
        what = {"assigned": f"ASSIGNED to {self.arm}", "excluded": f"EXCLUDED ({self.reason})"}.get(self.kind, self.kind.upper())
        strat = f" stratum {self.stratum}" if self.stratum else ""
        return f"[{self.trial_id} #{self.seq}] unit {self.unit_id}{strat}: {what} at {self.recorded_at}; chain hash {self.hash}"


@dataclass(frozen=True)
class LogCheck:
    """The result of verifying a trial's log."""

    ok: bool
    n_entries: int
    first_bad_seq: int | None = None
    first_bad_position: int | None = None
    problem: str = ""
    head_hash: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        if self.ok:
            return f"Log intact: {self.n_entries} entries, chain head {self.head_hash}."
        return f"LOG FAILED VERIFICATION at entry {self.first_bad_seq} (position {self.first_bad_position}): {self.problem}"


def _bad(entries, i, seq, problem) -> LogCheck:
    return LogCheck(ok=False, n_entries=len(entries), first_bad_seq=seq, first_bad_position=i + 1, problem=problem)


def verify_log(entries: list[Mapping[str, Any]], protocol: Protocol, *, head: tuple[int, str] | None = None,
               expected_head: str | None = None) -> LogCheck:
    """Check a trial's log entry by entry; return the first problem found.

    Parameters
    ----------
    entries : list of mapping
        The log as stored, in stored order (``seq`` ascending).
    protocol : Protocol
        The frozen protocol: its hash starts the chain and its seed re-derives the assignments.
    head : (seq, hash), optional
        The head recorded next to the protocol in the store; catches deletion of the last entries.
    expected_head : str, optional
        A chain hash from a receipt kept outside the store; the log must contain it.

    Returns
    -------
    LogCheck
        ``ok`` False names the first bad entry: for entry i (1-based) the checks are, in order, that its
        ``seq`` is i (else an entry was deleted, inserted or moved before it), that its previous-hash equals
        entry i−1's hash (else it does not follow its predecessor), that its hash matches its contents (else
        it was altered), and that an assignment equals the one the concealed sequence dictates.
    """
    if protocol.content_hash is None:
        raise error("verify", "The protocol is not frozen, so it cannot anchor a log.", got=protocol.trial_id)
    prev = protocol.content_hash
    counts: dict[str, int] = {}
    assigned_units: dict[str, int] = {}
    for i, e in enumerate(entries):
        seq = e.get("seq")
        if seq != i + 1:
            return _bad(entries, i, i + 1, f"expected entry {i + 1} here but found entry {seq}: an entry was deleted, "
                                           "inserted or moved at this point")
        if e.get("trial_id") != protocol.trial_id:
            return _bad(entries, i, seq, f"entry belongs to trial {e.get('trial_id')!r}, not {protocol.trial_id!r}")
        if e.get("prev_hash") != prev:
            return _bad(entries, i, seq, "entry does not follow its predecessor (its previous-hash does not match): "
                                         "an entry before it was altered, deleted or inserted, or this one was moved")
        if entry_hash(e) != e.get("hash"):
            return _bad(entries, i, seq, "entry contents do not match its hash: the entry was altered")
        if e.get("kind") == "assigned":
            stratum = e.get("stratum") or ""
            c = counts.get(stratum, 0)
            k, size, pos, arm = _position(protocol, stratum, c)
            got = (e.get("block_no"), e.get("block_size"), e.get("block_position"), e.get("arm"))
            if got != (k, size, pos, ARMS[arm]):
                return _bad(entries, i, seq, f"assignment {got} differs from the concealed sequence "
                                             f"{(k, size, pos, ARMS[arm])}: the arm or block was rewritten")
            counts[stratum] = c + 1
            if e.get("unit_id") in assigned_units:
                return _bad(entries, i, seq, f"unit {e.get('unit_id')!r} was already assigned at entry "
                                             f"{assigned_units[e.get('unit_id')]}")
            assigned_units[e.get("unit_id")] = seq
        prev = e.get("hash")
    if head is not None:
        head_seq, head_hash = head
        n = len(entries)
        if head_seq > n:
            return LogCheck(ok=False, n_entries=n, first_bad_seq=n + 1, first_bad_position=n + 1,
                            problem=f"the store records {head_seq} entries but only {n} remain: "
                                    f"entries {n + 1} to {head_seq} were deleted")
        if head_seq < n:
            return LogCheck(ok=False, n_entries=n, first_bad_seq=head_seq + 1, first_bad_position=head_seq + 1,
                            problem=f"the store records {head_seq} entries but the log has {n}: "
                                    f"entries from {head_seq + 1} on were added outside the allocator")
        if n and head_hash != prev:
            return LogCheck(ok=False, n_entries=n, first_bad_seq=n, first_bad_position=n,
                            problem="the last entry does not match the store's recorded head: it was replaced")
    if expected_head is not None:
        hashes = [e.get("hash") for e in entries]
        if expected_head not in hashes:
            return LogCheck(ok=False, n_entries=len(entries), first_bad_seq=None, first_bad_position=None,
                            problem="the receipt's chain hash is not in the log: the log was rebuilt or truncated")
    return LogCheck(ok=True, n_entries=len(entries), head_hash=prev)


# ---------------------------------------------------------------------- in-memory log
class MemoryLog:
    """A log kept in memory (tests, notebooks). Same five methods as the store-backed TrialLog.

    Like the store, it records the head (last sequence number and hash) separately from the entries.
    """

    def __init__(self):
        self._protocols: dict[str, dict] = {}
        self._entries: dict[str, list[dict]] = {}
        self._heads: dict[str, tuple[int, str]] = {}

    def load_protocol(self, trial_id: str) -> dict | None:
        p = self._protocols.get(trial_id)
        return copy.deepcopy(p) if p is not None else None

    def save_protocol(self, protocol: dict) -> None:
        tid = protocol["trial_id"]
        if tid in self._protocols:
            raise error("MemoryLog", f"Trial {tid!r} is already registered.", got=tid)
        self._protocols[tid] = copy.deepcopy(protocol)
        self._entries[tid] = []
        self._heads[tid] = (0, protocol["content_hash"])

    def entries(self, trial_id: str) -> list[dict]:
        return copy.deepcopy(self._entries.get(trial_id, []))

    def head(self, trial_id: str) -> tuple[int, str] | None:
        return self._heads.get(trial_id)

    def append(self, trial_id: str, entry: dict) -> None:
        seq, prev = self.head(trial_id)
        if entry["seq"] != seq + 1 or entry["prev_hash"] != prev:
            raise error("MemoryLog", "Another assignment was logged first; retry.", got=entry["seq"])
        self._entries[trial_id].append(copy.deepcopy(entry))
        self._heads[trial_id] = (entry["seq"], entry["hash"])

    def raw(self, trial_id: str) -> list[dict]:
        """The stored list itself (tests use it to tamper)."""
        return self._entries[trial_id]


_LOG_METHODS = ("load_protocol", "save_protocol", "entries", "head", "append")


def _is_log(obj: Any) -> bool:
    return all(callable(getattr(obj, m, None)) for m in _LOG_METHODS)


def _as_log(store: Any) -> TrialLogLike:
    # Duck-typed so this module never imports the store (DESIGN.md: analyses do no I/O): a log object is used
    # as is; a whatworks Store (or anything like it) hands over its log through ``trial_log()``.
    if _is_log(store):
        return store
    opener = getattr(store, "trial_log", None)
    if callable(opener):
        log = opener()
        if _is_log(log):
            return log
        raise error(_WHERE, "The object's trial_log() did not return a trial log.",
                    expected=f"an object with methods {', '.join(_LOG_METHODS)}", got=type(log).__name__)
    raise error(_WHERE, "Expected a whatworks Store or a trial log to keep the assignment log in.",
                expected=f"a whatworks.Store, a MemoryLog, or an object with methods {', '.join(_LOG_METHODS)}",
                got=type(store).__name__,
                hint="Pass whatworks.Store(path) (or its .trial_log()); wrap a bare DuckDB connection con "
                     "in the store's TrialLog(con).")


def _native(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


# ---------------------------------------------------------------------- the allocator
class Allocator:
    """Assign cases one at a time as they arrive, under a frozen protocol, into a hash-chained log.

    Parameters
    ----------
    store : whatworks.Store, MemoryLog, or another log object
        Where the log lives (see the module notes): a log object, or anything whose ``trial_log()`` method
        returns one (as :meth:`whatworks.Store.trial_log` does). A new trial's protocol is registered on first use.
    protocol : Protocol
        The frozen protocol (``Protocol.freeze()``).
    clock : callable, optional
        Returns the current time as an ISO string (tests pass a fixed clock); default UTC now.

    Examples
    --------
    >>> from whatworks.trials import Protocol, AssignmentPlan
    >>> p = Protocol(trial_id="t1", title="Demo", hypotheses=["h"], unit="case", treatment="T", control="C",
    ...              primary_outcome="y", target_sample=10, assignment=AssignmentPlan(seed=3)).freeze()
    >>> alloc = Allocator(MemoryLog(), p)
    >>> alloc.assign("case-1").kind
    'assigned'
    >>> alloc.verify().ok
    True
    """

    def __init__(self, store: Any, protocol: Protocol, *, clock: Callable[[], str] | None = None):
        if not isinstance(protocol, Protocol):
            raise error(_WHERE, "'protocol' must be a whatworks.trials.Protocol.", got=type(protocol).__name__)
        if not protocol.is_frozen:
            raise error(_WHERE, f"Protocol '{protocol.trial_id}' must be frozen before any assignment.",
                        hint="Call protocol.freeze() (or `whatworks trial new`) first.")
        self.log = _as_log(store)
        self.protocol = protocol
        self._clock = clock or (lambda: datetime.now(timezone.utc).isoformat(timespec="microseconds"))
        existing = self.log.load_protocol(protocol.trial_id)
        if existing is None:
            self.log.save_protocol(protocol.to_dict())
        elif existing.get("content_hash") != protocol.content_hash:
            raise error(_WHERE, f"Trial '{protocol.trial_id}' is registered with a different protocol.",
                        expected=existing.get("content_hash"), got=protocol.content_hash,
                        hint="Open the registered trial with Allocator.open(store, trial_id).")

    @classmethod
    def open(cls, store: Any, trial_id: str, *, clock: Callable[[], str] | None = None) -> "Allocator":
        """Open a registered trial from its stored protocol."""
        log = _as_log(store)
        data = log.load_protocol(trial_id)
        if data is None:
            raise error("Allocator.open", f"No trial {trial_id!r} is registered in this store.", got=trial_id,
                        hint="Register it first with `whatworks trial new PROTOCOL.json`.")
        return cls(log, Protocol.from_dict(data), clock=clock)

    # ------------------------------------------------------------------ reading
    def entries(self) -> list[dict]:
        return self.log.entries(self.protocol.trial_id)

    def records(self) -> pd.DataFrame:
        """The log as a table, one row per entry."""
        rows = self.entries()
        cols = [*ENTRY_FIELDS, "hash"]
        return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)

    def assignments(self) -> pd.DataFrame:
        """One row per randomised unit: unit, arm, treatment (1/0), prob, stratum, seq, and the case fields."""
        rec = self.records()
        rec = rec[rec["kind"] == "assigned"]
        rows = []
        for r in rec.itertuples(index=False):
            case = json.loads(r.case_json) if r.case_json else {}
            rows.append({**case, "unit": r.unit_id, "arm": r.arm, "treatment": int(r.arm == "treatment"),
                         "prob": r.prob, "stratum": r.stratum, "seq": r.seq})
        return pd.DataFrame(rows)

    def verify(self, *, expected_head: str | None = None) -> LogCheck:
        """Verify the chain, the concealed sequence and the recorded head (see :func:`verify_log`)."""
        return verify_log(self.entries(), self.protocol, head=self.log.head(self.protocol.trial_id),
                          expected_head=expected_head)

    # ------------------------------------------------------------------ writing
    def _append(self, fields: dict) -> Receipt:
        tid = self.protocol.trial_id
        seq, prev = self.log.head(tid)
        entry = {"trial_id": tid, "seq": seq + 1, "prev_hash": prev, "recorded_at": self._clock(), **fields}
        for k in ENTRY_FIELDS:
            entry.setdefault(k, None)
        entry["hash"] = entry_hash(entry)
        self.log.append(tid, entry)
        return Receipt(trial_id=tid, seq=entry["seq"], kind=entry["kind"], unit_id=entry["unit_id"], arm=entry["arm"],
                       stratum=entry["stratum"] or "", reason=entry["reason"] or "", recorded_at=entry["recorded_at"],
                       hash=entry["hash"])

    def _unit_entries(self, unit_id: str) -> list[dict]:
        return [e for e in self.entries() if e["unit_id"] == unit_id]

    def assign(self, unit_id: Any, case: Mapping[str, Any] | None = None) -> Receipt:
        """Screen one arriving case and, if eligible, assign it; both outcomes are logged.

        Parameters
        ----------
        unit_id : str or int
            The case's identifier; a unit is screened once only.
        case : mapping, optional
            The case's fields (eligibility fields and strata).

        Returns
        -------
        Receipt
            ``kind`` is ``"assigned"`` (with ``arm``) or ``"excluded"`` (with the failed rules in ``reason``).
        """
        if unit_id is None or (isinstance(unit_id, str) and not unit_id.strip()):
            raise error("assign", "Every case needs a unit id.", got=unit_id)
        uid = str(_native(unit_id))
        case = {str(k): _native(v) for k, v in (case or {}).items()}
        log = self.entries()
        earlier = [e for e in log if e["unit_id"] == uid and e["kind"] in ("assigned", "excluded")]
        if earlier:
            e = earlier[0]
            raise error("assign", f"Unit {uid!r} was already screened (entry {e['seq']}: {e['kind']}"
                                  f"{' to ' + e['arm'] if e['arm'] else ''}).", got=uid,
                        hint="Each unit is randomised once; a unit id that arrives twice is a duplicate case.")
        plan = self.protocol.assignment
        missing = [s for s in plan.strata if case.get(s) is None or case.get(s) == ""]
        if missing:
            raise error("assign", f"Case {uid!r} has no value for stratum field(s) {missing}.", got=case,
                        hint="Every case needs its stratum (block) value before it can be assigned.")
        try:
            case_json = canonical_json(case)
        except (TypeError, ValueError) as exc:
            raise error("assign", f"Case {uid!r} has a field that cannot be recorded.", got=str(exc),
                        hint="Give case fields as text, numbers, booleans or dates.") from exc
        failed = self.protocol.check_eligibility(case)
        stratum = _stratum_key(case, plan.strata)
        if failed:
            return self._append({"kind": "excluded", "unit_id": uid, "stratum": stratum, "reason": "; ".join(failed),
                                 "case_json": case_json})
        count = sum(1 for e in log if e["kind"] == "assigned" and (e["stratum"] or "") == stratum)
        k, size, pos, arm = _position(self.protocol, stratum, count)
        return self._append({"kind": "assigned", "unit_id": uid, "stratum": stratum, "arm": ARMS[arm],
                             "prob": float(plan.prob), "block_no": k, "block_size": size, "block_position": pos,
                             "reason": "", "case_json": case_json})

    def record(self, unit_id: Any, event: str, *, note: str = "") -> Receipt:
        """Log a follow-up event for an assigned unit: received, not_received, lost_to_follow_up or withdrawn."""
        if event not in FOLLOW_UP_EVENTS:
            raise error("record", "Unknown follow-up event.", expected=f"one of {list(FOLLOW_UP_EVENTS)}", got=event)
        uid = str(_native(unit_id))
        mine = self._unit_entries(uid)
        assigned = [e for e in mine if e["kind"] == "assigned"]
        if not assigned:
            raise error("record", f"Unit {uid!r} has not been assigned in trial '{self.protocol.trial_id}'.", got=uid)
        if any(e["kind"] == event for e in mine):
            raise error("record", f"Unit {uid!r} already has a '{event}' entry.", got=event)
        if event in ("received", "not_received") and any(e["kind"] in ("received", "not_received") for e in mine):
            raise error("record", f"Unit {uid!r} already has its delivery recorded.", got=event)
        return self._append({"kind": event, "unit_id": uid, "stratum": assigned[0]["stratum"], "arm": assigned[0]["arm"],
                             "reason": str(note)})
