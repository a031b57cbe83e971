"""The trial protocol: a CrimPORT-style record, frozen with a content hash and a time before any assignment.

CrimPORT (Sherman & Strang's Crime Prevention Trials Protocol) asks a trial team to write down, before the
first case is randomised, what they expect (hypotheses), what is assigned (the unit), which cases qualify
(eligibility), how cases arrive (pipeline), how they are assigned (random assignment), what each arm gets
(treatment and control), how delivery and outcomes are measured, how the results will be analysed and how
many units are needed. :class:`Protocol` holds those sections; :meth:`Protocol.freeze` stamps it with the
time and a SHA-256 hash of its content, and the hash becomes the first link of the assignment log's chain
(:mod:`whatworks.trials.allocator`), so a protocol edited after the event no longer matches its log.

Eligibility criteria are machine-checkable (:class:`Criterion`): the allocator screens each arriving case
against them and records excluded cases with their reason, which is what the CONSORT diagram counts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from whatworks.errors import error

__all__ = ["Protocol", "Criterion", "AssignmentPlan", "canonical_json"]

_WHERE = "Protocol"
_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "present")
FAMILIES = ("gaussian", "poisson", "negbin")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the byte string every hash in trials is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Criterion:
    """One eligibility rule checked against each arriving case.

    Parameters
    ----------
    field : str
        The case field the rule reads (e.g. ``"age"``).
    op : str
        One of ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``, ``present`` (the field is given
        and not empty).
    value : Any, default None
        The value compared against (a list for ``in`` / ``not in``; ignored by ``present``).
    text : str, default ""
        The rule in words, shown as the exclusion reason ("Aged 18 or over").
    """

    field: str
    op: str
    value: Any = None
    text: str = ""

    def __post_init__(self):
        if not isinstance(self.field, str) or not self.field:
            raise error(_WHERE, "An eligibility criterion needs a 'field' name.", got=self.field)
        if self.op not in _OPS:
            raise error(_WHERE, f"Eligibility criterion on '{self.field}' has an unknown operator.",
                        expected=f"one of {list(_OPS)}", got=self.op)
        if self.op in ("in", "not in"):
            if not isinstance(self.value, (list, tuple)):
                raise error(_WHERE, f"Criterion '{self.field} {self.op}' needs a list of values.", got=self.value)
            object.__setattr__(self, "value", list(self.value))

    def describe(self) -> str:
        return self.text or (f"{self.field} {self.op}" if self.op == "present" else f"{self.field} {self.op} {self.value!r}")

    def passes(self, case: Mapping[str, Any]) -> bool:
        """True when ``case`` meets the rule. A missing field fails every rule."""
        if self.field not in case or case[self.field] is None or case[self.field] == "":
            return False
        got = case[self.field]
        if self.op == "present":
            return True
        if self.op == "in":
            return got in self.value
        if self.op == "not in":
            return got not in self.value
        try:
            if self.op == "==":
                return got == self.value
            if self.op == "!=":
                return got != self.value
            left, right = float(got), float(self.value)
        except (TypeError, ValueError) as exc:
            raise error("assign", f"Case field '{self.field}' cannot be compared with {self.op} {self.value!r}.",
                        got=got, hint="Give numbers for numeric eligibility rules.") from exc
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[self.op]


@dataclass(frozen=True)
class AssignmentPlan:
    """How arriving cases are randomised: permuted blocks within strata (the Cambridge Randomizer's scheme).

    Parameters
    ----------
    strata : tuple of str, default ()
        Case fields that define the strata (e.g. ``("area", "risk_band")``); each stratum has its own blocks.
    block_sizes : tuple of int, default (4,)
        Block sizes. With more than one, each block's size is drawn at random from them, which keeps the
        end of a block from being guessed. ``size * prob`` must be a whole number for every size.
    prob : float, default 0.5
        Probability of treatment; exactly ``size * prob`` cases in each completed block are treated.
    seed : int or None, default None
        Seed of the concealed allocation sequence. ``None`` draws a secret 63-bit seed when the protocol is
        frozen. The sequence can be re-derived from the seed, so an audit can check every assignment.
    """

    strata: tuple[str, ...] = ()
    block_sizes: tuple[int, ...] = (4,)
    prob: float = 0.5
    seed: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "strata", tuple(self.strata))
        object.__setattr__(self, "block_sizes", tuple(int(b) if isinstance(b, (int, float)) and float(b).is_integer()
                                                      else b for b in self.block_sizes))
        if not (isinstance(self.prob, (int, float)) and 0 < self.prob < 1):
            raise error(_WHERE, "The assignment 'prob' must be strictly between 0 and 1.", got=self.prob)
        if not self.block_sizes:
            raise error(_WHERE, "The assignment needs at least one block size.", got=self.block_sizes)
        for size in self.block_sizes:
            if not isinstance(size, int) or size < 2:
                raise error(_WHERE, "Block sizes must be whole numbers of 2 or more.", got=size)
            treated = size * self.prob
            if abs(treated - round(treated)) > 1e-9 or round(treated) in (0, size):
                raise error(_WHERE, f"Block size {size} cannot hold prob={self.prob} exactly.",
                            expected="size × prob to be a whole number between 1 and size − 1", got=treated,
                            hint="With prob=0.5 use even block sizes (2, 4, 6); with prob=1/3 use multiples of 3.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise error(_WHERE, "The assignment 'seed' must be a non-negative integer or None.", got=self.seed)


@dataclass(frozen=True)
class Protocol:
    """A trial protocol after CrimPORT, frozen before the first assignment.

    Parameters
    ----------
    trial_id : str
        Short identifier used by the store and the command line (letters, digits, ``-`` and ``_``).
    title : str
        Name of the trial.
    hypotheses : sequence of str
        What the trial tests, e.g. "Patrols in hot spots reduce crime in those spots".
    unit : str
        Unit of random assignment ("hotspot cell", "offender", "custody case").
    treatment, control : str
        What each arm receives.
    primary_outcome : str
        The outcome column the trial is judged on.
    target_sample : int
        Number of units to be randomised (from the power calculation).
    eligibility : sequence of Criterion or dict, default ()
        Rules every case must meet before it is randomised.
    assignment : AssignmentPlan or dict, default AssignmentPlan()
        Strata, block sizes, probability and seed.
    secondary_outcomes : sequence of str, default ()
        Other pre-registered outcomes.
    covariates : sequence of str, default ()
        Pre-specified covariates for the adjusted (Lin) analysis.
    family : {"gaussian", "poisson", "negbin"}, default "gaussian"
        Pre-specified model for the primary outcome.
    analysis_plan, pipeline, measurement, organisation : str, default ""
        Free-text CrimPORT sections.
    frozen_at, content_hash : str or None
        Set by :meth:`freeze`; never set them by hand.

    Examples
    --------
    >>> p = Protocol(trial_id="hotspots-2025", title="Hot spot patrols", hypotheses=["Patrols cut crime"],
    ...              unit="hotspot cell", treatment="15-minute patrols", control="usual policing",
    ...              primary_outcome="crimes", target_sample=120,
    ...              assignment=AssignmentPlan(strata=("area",), block_sizes=(2, 4), seed=1))
    >>> frozen = p.freeze(now="2025-01-01T00:00:00+00:00")
    >>> len(frozen.content_hash)
    64
    """

    trial_id: str
    title: str
    hypotheses: tuple[str, ...]
    unit: str
    treatment: str
    control: str
    primary_outcome: str
    target_sample: int
    eligibility: tuple[Criterion, ...] = ()
    assignment: AssignmentPlan = field(default_factory=AssignmentPlan)
    secondary_outcomes: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    family: str = "gaussian"
    analysis_plan: str = ""
    pipeline: str = ""
    measurement: str = ""
    organisation: str = ""
    frozen_at: str | None = None
    content_hash: str | None = None

    def __post_init__(self):
        tid = self.trial_id
        if not isinstance(tid, str) or not tid or not all(c.isalnum() or c in "-_" for c in tid):
            raise error(_WHERE, "The 'trial_id' must be a non-empty string of letters, digits, '-' or '_'.", got=tid)
        for name in ("title", "unit", "treatment", "control", "primary_outcome"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise error(_WHERE, f"The '{name}' section must be filled in.", got=value,
                            hint="CrimPORT asks for every section before the first case is randomised.")
        hyps = (self.hypotheses,) if isinstance(self.hypotheses, str) else tuple(self.hypotheses)
        if not hyps or not all(isinstance(h, str) and h.strip() for h in hyps):
            raise error(_WHERE, "State at least one hypothesis.", got=self.hypotheses)
        object.__setattr__(self, "hypotheses", hyps)
        if isinstance(self.target_sample, bool) or not isinstance(self.target_sample, int) or self.target_sample < 2:
            raise error(_WHERE, "The 'target_sample' must be a whole number of at least 2.", got=self.target_sample,
                        hint="Use whatworks.trials.power() to find it.")
        crit = tuple(c if isinstance(c, Criterion) else Criterion(**c) for c in self.eligibility)
        object.__setattr__(self, "eligibility", crit)
        plan = self.assignment if isinstance(self.assignment, AssignmentPlan) else AssignmentPlan(**self.assignment)
        object.__setattr__(self, "assignment", plan)
        for name in ("secondary_outcomes", "covariates"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.family not in FAMILIES:
            raise error(_WHERE, "The 'family' must be one of the supported models.", expected=str(list(FAMILIES)),
                        got=self.family)
        if self.content_hash is not None and self.content_hash != self.compute_hash():
            raise error(_WHERE, f"Protocol '{tid}' does not match its content hash: it was edited after it was frozen.",
                        expected=self.content_hash, got=self.compute_hash(),
                        hint="A frozen protocol cannot change; register an amended protocol under a new trial_id.")

    # ------------------------------------------------------------------ content and hash
    def content(self) -> dict[str, Any]:
        """The protocol's sections as plain data (everything the hash covers)."""
        data = asdict(self)
        data.pop("frozen_at")
        data.pop("content_hash")
        data["eligibility"] = [asdict(c) for c in self.eligibility]
        data["assignment"] = asdict(self.assignment)
        for key in ("hypotheses", "secondary_outcomes", "covariates"):
            data[key] = list(data[key])
        data["assignment"]["strata"] = list(self.assignment.strata)
        data["assignment"]["block_sizes"] = list(self.assignment.block_sizes)
        return data

    def compute_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`content` together with the freezing time."""
        return _sha256(canonical_json({"content": self.content(), "frozen_at": self.frozen_at}))

    @property
    def is_frozen(self) -> bool:
        return self.content_hash is not None

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Pre-registered outcomes, primary first."""
        return (self.primary_outcome, *self.secondary_outcomes)

    def freeze(self, *, now: str | datetime | None = None) -> "Protocol":
        """Return the frozen protocol: time-stamped (UTC), seeded (if no seed was given) and hashed.

        Parameters
        ----------
        now : str or datetime, default None
            Freezing time; ``None`` uses the current UTC time.
        """
        if self.is_frozen:
            raise error("Protocol.freeze", f"Protocol '{self.trial_id}' is already frozen.", got=self.frozen_at)
        if now is None:
            stamp = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        elif isinstance(now, datetime):
            stamp = (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).isoformat(timespec="microseconds")
        else:
            stamp = str(now)
        plan = self.assignment
        if plan.seed is None:
            plan = replace(plan, seed=secrets.randbits(63))
        unhashed = replace(self, assignment=plan, frozen_at=stamp)
        return replace(unhashed, content_hash=unhashed.compute_hash())

    # ------------------------------------------------------------------ checks
    def check_eligibility(self, case: Mapping[str, Any]) -> list[str]:
        """The descriptions of the rules ``case`` fails (empty when eligible)."""
        return [c.describe() for c in self.eligibility if not c.passes(case)]

    def check_outcome(self, outcome: str, *, exploratory: bool = False, where: str = "analyse") -> bool:
        """Return True if ``outcome`` was pre-registered; raise unless ``exploratory=True`` when it was not."""
        if outcome in self.outcomes:
            return True
        if not exploratory:
            raise error(where, f"Outcome '{outcome}' is not in protocol '{self.trial_id}'.",
                        expected=f"one of the pre-registered outcomes {list(self.outcomes)}", got=outcome,
                        hint="Pass exploratory=True to analyse it anyway; the result will be labelled exploratory.")
        return False

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return {**self.content(), "frozen_at": self.frozen_at, "content_hash": self.content_hash}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Protocol":
        if not isinstance(data, Mapping):
            raise error(_WHERE, "A protocol must be a mapping of section names to values.", got=type(data).__name__)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise error(_WHERE, f"Unknown protocol section(s) {unknown}.", expected=f"sections among {sorted(known)}")
        missing = [k for k in ("trial_id", "title", "hypotheses", "unit", "treatment", "control",
                               "primary_outcome", "target_sample") if k not in data]
        if missing:
            raise error(_WHERE, f"Protocol section(s) {missing} are missing.",
                        hint="Fill in every CrimPORT section; see docs/trials.md for a template.")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> "Protocol":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(_WHERE, "The protocol is not valid JSON.", got=str(exc)) from exc
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, text: str) -> "Protocol":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise error(_WHERE, "The protocol is not valid TOML.", got=str(exc)) from exc
        return cls.from_dict(data)

    def summary(self) -> str:
        state = f"frozen {self.frozen_at}, hash {self.content_hash[:12]}…" if self.is_frozen else "NOT frozen"
        return (f"{self.title} [{self.trial_id}] ({state}). Unit: {self.unit}. Treatment: {self.treatment}; "
                f"control: {self.control}. Primary outcome: {self.primary_outcome}. Target sample: {self.target_sample}.")


def as_sequence(value: Any) -> Sequence[str]:
    """A single column name or a list of names as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
