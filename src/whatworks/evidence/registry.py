"""The "what works" register: what the force does, how well each thing is evidenced, and how it was delivered.

Four record kinds, each a table with fixed columns (below):

* **interventions** — what (``name``, ``tactic``, ``description``), where (``area``), when (``start_date``,
  ``end_date``), ``mechanism``, ``target_problem``, ``crime_type``, ``cost`` with its ``cost_price_year``, ``owner``,
  ``status`` (``planned`` | ``running`` | ``stopped`` | ``completed``);
* **evaluations** of the force's interventions — ``design``, Maryland SMS level (with the suggestion, its reasoning
  and any override reason), EMMIE ratings, sample, effect with SE and interval, outcome, ``source`` (the trial or
  impact result that produced it) and its ``checks``;
* **studies** — external evidence (a published evaluation or review) about a ``tactic``, graded the same way;
* **implementation** — dose, reach and adherence per intervention × unit × period (see ``evidence.fidelity``).

:class:`Register` holds the four tables and converts them to and from one long CSV (a ``record`` column plus the
union of columns) and JSON, byte-stably: export → import → export gives the same bytes. The store keeps the register
(``store.register()``, ``store.save_register(...)``, ``store.import_register(path)``, ``store.export_register(path)``);
nothing here touches files.

Rules checked at the door (each error names the record and its row): every id present and unique; an ``estimate``
needs an ``se`` (> 0); a ``cost`` needs a ``cost_price_year``; an SMS level needs a ``design``, and a level other
than the design's suggestion needs ``sms_override_reason``; EMMIE ratings 0-4; an evaluation's intervention exists.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from whatworks.errors import error
from whatworks.evidence.grading import DESIGNS, EMMIE_DIMENSIONS, EMMIE_MAX, sms_level

FORMAT = "whatworks-register"
FORMAT_VERSION = 1
STATUSES = ("planned", "running", "stopped", "completed")
MEASURES = ("log rate ratio", "log odds ratio", "log risk ratio", "difference", "standardised difference", "proportion")

_EMMIE = [(f"emmie_{d}", "int") for d in EMMIE_DIMENSIONS]
_EFFECT = [("sample_size", "int"), ("outcome", "str"), ("measure", "str"), ("estimate", "float"), ("se", "float"),
           ("ci_low", "float"), ("ci_high", "float"), ("p_value", "float"), ("conf_level", "float")]
_GRADE = [("design", "str"), ("sms_level", "int"), ("sms_suggested", "int"), ("sms_reason", "str"),
          ("sms_override_reason", "str"), ("graded_by", "str")]

SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "interventions": [("intervention_id", "str"), ("name", "str"), ("tactic", "str"), ("description", "str"),
                      ("area", "str"), ("start_date", "str"), ("end_date", "str"), ("mechanism", "str"),
                      ("target_problem", "str"), ("crime_type", "str"), ("cost", "float"),
                      ("cost_price_year", "str"), ("owner", "str"), ("status", "str")],
    "evaluations": [("evaluation_id", "str"), ("intervention_id", "str"), *_GRADE, *_EMMIE, *_EFFECT,
                    ("source", "str"), ("checks", "str"), ("notes", "str"), ("reference", "str")],
    "studies": [("study_id", "str"), ("tactic", "str"), ("target_problem", "str"), ("title", "str"),
                ("authors", "str"), ("year", "int"), *_GRADE, *_EMMIE, *_EFFECT, ("notes", "str"),
                ("reference", "str")],
    "implementation": [("intervention_id", "str"), ("unit", "str"), ("period", "str"), ("dose_planned", "float"),
                       ("dose_delivered", "float"), ("reach", "float"), ("adherence", "float"), ("notes", "str")],
}
KEYS = {"interventions": ("intervention_id",), "evaluations": ("evaluation_id",), "studies": ("study_id",),
        "implementation": ("intervention_id", "unit", "period")}
REQUIRED = {"interventions": ("intervention_id", "name", "tactic"), "evaluations": ("evaluation_id", "intervention_id"),
            "studies": ("study_id", "tactic"), "implementation": ("intervention_id", "unit", "period")}
KINDS = tuple(SCHEMAS)
# the singular names used in the long CSV's ``record`` column
RECORD_NAMES = {"interventions": "intervention", "evaluations": "evaluation", "studies": "study",
                "implementation": "implementation"}
CSV_COLUMNS = ["record"] + list(dict.fromkeys(c for cols in SCHEMAS.values() for c, _ in cols))
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

__all__ = ["Register", "SCHEMAS", "KINDS", "register_result", "best_evidence", "empty_register", "STATUSES"]


def _na(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def coerce(kind: str, frame: pd.DataFrame | None, *, where: str = "register") -> pd.DataFrame:
    """``frame`` with exactly ``SCHEMAS[kind]``'s columns and types (str → object with None, int → Int64, float);
    missing columns are added empty, unknown ones refused."""
    cols = SCHEMAS[kind]
    if frame is None:
        frame = pd.DataFrame()
    unknown = [c for c in frame.columns if c not in dict(cols)]
    if unknown:
        raise error(where, f"Unknown column(s) {unknown} for {kind}.", expected=f"columns among {[c for c, _ in cols]}",
                    hint="Check the spelling; see docs/evidence.md for the register's columns.")
    out = {}
    n = len(frame)
    for name, typ in cols:
        s = frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        if typ == "str":
            out[name] = pd.Series([None if _na(v) or (isinstance(v, str) and v == "") else str(v) for v in s],
                                  dtype=object)
        else:
            vals = []
            for i, v in enumerate(s):
                if _na(v) or (isinstance(v, str) and v.strip() == ""):
                    vals.append(None)
                    continue
                try:
                    x = float(v)
                except (TypeError, ValueError):
                    raise error(where, f"Column '{name}' of {kind} must be a number.", got=v,
                                row=f"{RECORD_NAMES[kind]} row {i + 1}") from None
                if typ == "int":
                    if not x.is_integer():
                        raise error(where, f"Column '{name}' of {kind} must be a whole number.", got=v,
                                    row=f"{RECORD_NAMES[kind]} row {i + 1}")
                    x = int(x)
                vals.append(x)
            out[name] = pd.array(vals, dtype="Int64") if typ == "int" else pd.Series(
                [np.nan if v is None else v for v in vals], dtype=float)
    return pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})


def empty_register() -> "Register":
    return Register()


@dataclass(frozen=True)
class Register:
    """The register's four tables (see the module docstring). Build one with :meth:`from_records`,
    :meth:`from_csv_text` or :meth:`from_json_text`; :meth:`validate` checks every rule."""

    interventions: pd.DataFrame = field(default_factory=lambda: coerce("interventions", None))
    evaluations: pd.DataFrame = field(default_factory=lambda: coerce("evaluations", None))
    studies: pd.DataFrame = field(default_factory=lambda: coerce("studies", None))
    implementation: pd.DataFrame = field(default_factory=lambda: coerce("implementation", None))

    def __post_init__(self):
        for kind in KINDS:
            object.__setattr__(self, kind, coerce(kind, getattr(self, kind)))

    def __repr__(self) -> str:
        return "<Register: " + ", ".join(f"{len(getattr(self, k))} {k}" for k in KINDS) + ">"

    def table(self, kind: str) -> pd.DataFrame:
        if kind not in KINDS:
            raise error("register", "Unknown record kind.", expected=f"one of {list(KINDS)}", got=kind)
        return getattr(self, kind)

    # --- building -------------------------------------------------------------------------------------------------
    @classmethod
    def from_records(cls, **kinds: Any) -> "Register":
        """``Register.from_records(interventions=[{...}], evaluations=[{...}])``; each a list of dicts or a DataFrame."""
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise error("register", "Unknown record kind.", expected=f"among {list(KINDS)}", got=bad)
        frames = {k: (v if isinstance(v, pd.DataFrame) else pd.DataFrame(list(v))) for k, v in kinds.items()}
        return cls(**frames)

    def merged(self, other: "Register") -> "Register":
        """This register with ``other``'s records added; a record with the same key is replaced by ``other``'s."""
        out = {}
        for kind in KINDS:
            mine, theirs = getattr(self, kind), getattr(other, kind)
            keys = list(KEYS[kind])
            if len(theirs):
                new = set(map(tuple, theirs[keys].astype(object).to_numpy().tolist()))
                keep = [tuple(r) not in new for r in mine[keys].astype(object).to_numpy().tolist()]
                mine = mine[keep]
            out[kind] = pd.concat([mine, theirs], ignore_index=True) if len(mine) or len(theirs) else mine
        return Register(**out)

    def sorted(self) -> "Register":
        """Records in key order (the canonical order of an export)."""
        return Register(**{k: getattr(self, k).sort_values(list(KEYS[k]), kind="stable", na_position="last")
                           .reset_index(drop=True) for k in KINDS})

    def with_suggestions(self) -> "Register":
        """Evaluations and studies with a design get ``sms_suggested`` and ``sms_reason`` filled from the design
        (and, for evaluations, their recorded checks); the analyst's ``sms_level`` is never changed."""
        out = {}
        for kind in KINDS:
            t = getattr(self, kind)
            if kind in ("evaluations", "studies") and len(t):
                t = t.copy()
                for i in range(len(t)):
                    d = t["design"].iloc[i]
                    if _na(d) or not _na(t["sms_suggested"].iloc[i]):
                        continue
                    checks = (json.loads(t["checks"].iloc[i]) if kind == "evaluations"
                              and not _na(t["checks"].iloc[i]) else None)
                    try:
                        level, reason = sms_level(d, checks)
                    except Exception:  # an unknown design is reported by validate(), against its row
                        continue
                    t.loc[t.index[i], "sms_suggested"] = level
                    t.loc[t.index[i], "sms_reason"] = reason
            out[kind] = t
        return Register(**out)

    # --- rules ----------------------------------------------------------------------------------------------------
    def validate(self, *, where: str = "register", known_interventions: set[str] | None = None) -> "Register":
        """Check every rule; raise on the first broken one, naming the record and its row. Returns self."""
        for kind in KINDS:
            t = getattr(self, kind)
            rec = RECORD_NAMES[kind]
            for col in REQUIRED[kind]:
                miss = t[col].isna().to_numpy()
                if miss.any():
                    i = int(np.flatnonzero(miss)[0])
                    raise error(where, f"Every {rec} needs '{col}'.", row=_row(kind, t, i),
                                hint=f"Give each {rec} its {col}.")
            keys = list(KEYS[kind])
            dup = t.duplicated(keys, keep="first").to_numpy()
            if dup.any():
                i = int(np.flatnonzero(dup)[0])
                raise error(where, f"Two {kind} records have the same {' + '.join(keys)}.", row=_row(kind, t, i),
                            hint="Give each record its own id (an import replaces records with the same id).")
            for i in range(len(t)):
                _check_row(where, kind, t, i)
        ids = set(self.interventions["intervention_id"]) | set(known_interventions or ())
        for kind in ("evaluations", "implementation"):
            t = getattr(self, kind)
            for i, iid in enumerate(t["intervention_id"]):
                if iid not in ids:
                    raise error(where, f"The {RECORD_NAMES[kind]} refers to an intervention the register does not hold.",
                                got=iid, row=_row(kind, t, i), hint="Add the intervention first (or in the same import).")
        return self

    # --- files (text only; the store writes them) -----------------------------------------------------------------
    def to_long(self) -> pd.DataFrame:
        """One long table: ``record`` (intervention, evaluation, study, implementation) and the union of columns."""
        parts = []
        reg = self.sorted()
        for kind in KINDS:
            t = getattr(reg, kind).copy()
            t.insert(0, "record", RECORD_NAMES[kind])
            parts.append(t)
        long = pd.concat([p.astype(object) for p in parts], ignore_index=True) if parts else pd.DataFrame()
        long = long.reindex(columns=CSV_COLUMNS)
        for name, typ in ((c, t) for cols in SCHEMAS.values() for c, t in cols):
            if typ == "int":
                long[name] = pd.array([None if _na(v) else int(v) for v in long[name]], dtype="Int64")
            elif typ == "float":
                long[name] = pd.Series([np.nan if _na(v) else float(v) for v in long[name]], dtype=float)
        return long

    @classmethod
    def from_long(cls, long: pd.DataFrame, *, where: str = "import_register", unneutralise: bool = False) -> "Register":
        """The inverse of :meth:`to_long` (strings as read from a CSV: empty = missing)."""
        if "record" not in long.columns:
            raise error(where, "The register file has no 'record' column.", got=list(long.columns)[:10],
                        hint="Export a register with `whatworks evidence export` to see the layout.")
        unknown = [c for c in long.columns if c not in CSV_COLUMNS]
        if unknown:
            raise error(where, f"Unknown column(s) {unknown} in the register file.", expected=f"among {CSV_COLUMNS}")
        names = {v: k for k, v in RECORD_NAMES.items()}
        bad = ~long["record"].isin(list(names))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise error(where, "Unknown record type.", expected=f"one of {list(names)}", got=long["record"].iloc[i],
                        row=f"file row {i + 1}")
        if unneutralise:
            long = long.apply(lambda s: s.map(_unneutralise))
        frames = {}
        for rec, kind in names.items():
            part = long[long["record"] == rec][[c for c, _ in SCHEMAS[kind]]]
            frames[kind] = part.reset_index(drop=True)
        return cls(**{k: coerce(k, v, where=where) for k, v in frames.items()})

    def to_json_text(self) -> str:
        """The register as JSON text (exact floats; keys in schema order; records in key order)."""
        reg = self.sorted()
        doc: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        for kind in KINDS:
            t = getattr(reg, kind)
            doc[kind] = [{c: _json_value(v) for c, v in zip(t.columns, row)} for row in t.itertuples(index=False)]
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json_text(cls, text: str, *, where: str = "import_register") -> "Register":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(where, "The register file is not valid JSON.", got=f"line {exc.lineno}: {exc.msg}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise error(where, "The JSON file is not a whatworks register.", expected=f'"format": "{FORMAT}"',
                        got=(doc.get("format") if isinstance(doc, dict) else type(doc).__name__))
        frames = {}
        for kind in KINDS:
            recs = doc.get(kind, [])
            if not isinstance(recs, list) or not all(isinstance(r, dict) for r in recs):
                raise error(where, f"'{kind}' must be a list of records.", got=type(recs).__name__)
            frames[kind] = coerce(kind, pd.DataFrame(recs), where=where) if recs else coerce(kind, None)
        return cls(**frames)


def _json_value(v):
    if _na(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    return v


def _unneutralise(v):
    # write_table prefixed formula-like text with an apostrophe for spreadsheets; take it off on the way back in
    if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1] in _FORMULA:
        return v[1:]
    return v


def _row(kind: str, t: pd.DataFrame, i: int) -> str:
    key = KEYS[kind][0]
    ident = t[key].iloc[i] if key in t.columns else None
    return f"{RECORD_NAMES[kind]} row {i + 1}" + (f" ({key} {ident!r})" if not _na(ident) else "")


def _check_row(where: str, kind: str, t: pd.DataFrame, i: int) -> None:
    r = t.iloc[i]
    row = _row(kind, t, i)
    if kind == "interventions":
        if not _na(r["cost"]):
            if r["cost"] < 0:
                raise error(where, "A cost must be 0 or more.", got=r["cost"], row=row)
            if _na(r["cost_price_year"]):
                raise error(where, "A cost has no price year, so it cannot be compared or uprated.", row=row,
                            hint="Add cost_price_year, e.g. '2024/25'.")
        if not _na(r["status"]) and r["status"] not in STATUSES:
            raise error(where, "Unknown status.", expected=f"one of {list(STATUSES)}", got=r["status"], row=row)
        return
    if kind == "implementation":
        for c in ("dose_planned", "dose_delivered", "reach", "adherence"):
            if not _na(r[c]) and r[c] < 0:
                raise error(where, f"'{c}' must be 0 or more.", got=r[c], row=row)
        for c in ("reach", "adherence"):
            if not _na(r[c]) and r[c] > 1:
                raise error(where, f"'{c}' is a proportion from 0 to 1.", got=r[c], row=row,
                            hint="Give 0.85 for 85%.")
        return
    # evaluations and studies: effect and grade
    if not _na(r["estimate"]) and _na(r["se"]):
        raise error(where, "An effect has no standard error, so it cannot be weighed or pooled.", row=row,
                    hint="Give se (from a 95% CI on the effect's scale: (ci_high - ci_low) / 3.92).")
    if not _na(r["se"]) and r["se"] <= 0:
        raise error(where, "A standard error must be greater than 0.", got=float(r["se"]), row=row,
                    hint="A standard error is never negative or zero; check the source.")
    if not _na(r["measure"]) and r["measure"] not in MEASURES:
        raise error(where, "Unknown effect measure.", expected=f"one of {list(MEASURES)}", got=r["measure"], row=row,
                    hint="Ratios are recorded on the log scale (log rate ratio), so they can be pooled.")
    if not _na(r["conf_level"]) and not 0 < r["conf_level"] < 1:
        raise error(where, "'conf_level' must be between 0 and 1.", got=r["conf_level"], row=row)
    for d in EMMIE_DIMENSIONS:
        v = r[f"emmie_{d}"]
        if not _na(v) and not 0 <= int(v) <= EMMIE_MAX:
            raise error(where, f"The EMMIE rating for {d} must be from 0 to {EMMIE_MAX}.", got=int(v), row=row)
    if not _na(r["sms_level"]):
        if _na(r["design"]):
            raise error(where, "A grade has no design: a Maryland SMS level says how strong a design is.", row=row,
                        hint=f"Record the design (one of {list(DESIGNS)}), then its level.")
        if not 1 <= int(r["sms_level"]) <= 5:
            raise error(where, "The Maryland SMS level must be from 1 to 5.", got=int(r["sms_level"]), row=row)
        checks = json.loads(r["checks"]) if kind == "evaluations" and not _na(r["checks"]) else None
        try:
            suggested, _ = sms_level(r["design"], checks)
        except Exception as exc:  # the design is not one the scale knows: report it against this row
            raise error(where, str(exc).split(": ", 1)[-1], row=row) from None
        if int(r["sms_level"]) != suggested and _na(r["sms_override_reason"]):
            raise error(where, f"The SMS level {int(r['sms_level'])} differs from the level {suggested} the design "
                               "suggests, and no reason is recorded.", row=row,
                        hint="Give sms_override_reason saying why (it is kept with the grade).")


# --- registering results and reading the register -------------------------------------------------------------------
def _evaluation_from_result(result, *, evaluation_id: str, intervention_id: str, outcome: str | None,
                            measure: str | None, graded_by: str | None, reference: str | None) -> dict:
    design = getattr(result, "design", None)
    notes: list[str] = []
    if design is not None and callable(getattr(design, "sms_hint", None)):
        name = str(getattr(design, "design"))
        checks = {str(k): bool(v) for k, v in dict(getattr(design, "checks", {}) or {}).items()}
        notes += [str(n) for n in getattr(design, "notes", ()) or ()]
        level, reason = design.sms_hint()
        source = f"impact:{name}"
        est, se = getattr(result, "estimate", np.nan), getattr(result, "se", np.nan)
        lo, hi = getattr(result, "ci_low", np.nan), getattr(result, "ci_high", np.nan)
        conf = getattr(result, "conf_level", 0.95)
        meas = measure or "difference"
    elif hasattr(result, "estimand") and hasattr(result, "se") and hasattr(result, "permutations"):  # whatworks.trials TrialResult
        name = "randomised"
        checks = {"pre_registered_outcome": not bool(getattr(result, "exploratory", False)),
                  "standard_error_estimable": bool(np.isfinite(getattr(result, "se", np.nan)))}
        level, reason = sms_level(name, checks)
        source = f"trial:{getattr(result, 'protocol_id', None) or 'unregistered'}"
        est, se = result.estimate, result.se
        lo, hi = tuple(getattr(result, "ci", (np.nan, np.nan)))
        conf = float(result.conf_level)
        meas = measure or ("log rate ratio" if getattr(result, "rate_ratio", None) is not None else "difference")
        notes += [str(n) for n in getattr(result, "notes", ()) or ()]
        notes.append(f"{result.estimand} estimate")
    else:
        raise error("register_result", "The result carries no design, so it cannot be registered.",
                    got=type(result).__name__, hint="Register a whatworks.trials analyse() result or a "
                    "whatworks.impact result (they carry their design and checks).")
    est, se, lo, hi = (float(x) if x is not None else np.nan for x in (est, se, lo, hi))
    p = float(getattr(result, "p_value", np.nan))
    if np.isfinite(est) and not (np.isfinite(se) and se > 0):
        notes.append(f"point estimate {est:.6g} has no standard error (p = {p:.3g}), so it is recorded in these notes "
                     "and not as a poolable effect")
        est, lo, hi = np.nan, np.nan, np.nan
        se = np.nan
    n = getattr(result, "n", None) or getattr(result, "n_units", None)
    return {"evaluation_id": evaluation_id, "intervention_id": intervention_id, "design": name, "sms_level": level,
            "sms_suggested": level, "sms_reason": reason, "graded_by": graded_by,
            "sample_size": int(n) if n else None, "outcome": outcome or getattr(result, "outcome", None) or None,
            "measure": meas, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p,
            "conf_level": float(conf), "source": source, "checks": json.dumps(checks, sort_keys=True),
            "notes": "; ".join(notes) or None, "reference": reference}


def register_result(store_or_register, result, *, intervention: str | Mapping[str, Any], evaluation_id: str | None = None,
                    outcome: str | None = None, measure: str | None = None, graded_by: str | None = None,
                    reference: str | None = None):
    """Register a trial or impact result as an evaluation, with its design, SMS suggestion and checks carried across.

    Parameters
    ----------
    store_or_register : Store or Register
        A store (the evaluation is saved in one transaction; returns the saved register) or a :class:`Register`
        (returns a new register with the evaluation added).
    result : a ``whatworks.trials.analyse`` result, or a ``whatworks.impact`` result (anything with a ``.design``
        that has ``sms_hint()``).
    intervention : str or mapping
        The id of an intervention in the register, or the intervention's fields (added with the evaluation).
    evaluation_id : str, optional
        ``None`` makes ``<intervention_id>-eval-<n>``.
    measure : str, optional
        The effect's scale; ``None``: ``log rate ratio`` for a count-model trial, else ``difference``.

    Returns
    -------
    Register
    """
    if isinstance(intervention, Mapping):
        iv = dict(intervention)
        iid = iv.get("intervention_id")
        new_iv = [iv]
    else:
        iid, new_iv = str(intervention), []
    if not iid:
        raise error("register_result", "The intervention needs an intervention_id.", got=intervention)
    current = store_or_register.register() if hasattr(store_or_register, "save_register") else store_or_register
    if evaluation_id is None:
        n = int((current.evaluations["intervention_id"] == iid).sum()) + 1
        evaluation_id = f"{iid}-eval-{n}"
    rec = _evaluation_from_result(result, evaluation_id=evaluation_id, intervention_id=iid, outcome=outcome,
                                  measure=measure, graded_by=graded_by, reference=reference)
    addition = Register.from_records(interventions=new_iv, evaluations=[rec])
    if hasattr(store_or_register, "save_register"):
        return store_or_register.save_register(addition)
    merged = current.merged(addition)
    merged.validate(where="register_result")
    return merged


def best_evidence(register: Register, tactic: str) -> pd.DataFrame:
    """Every piece of evidence on ``tactic`` — the force's own evaluations and external studies — strongest first.

    Sorted by Maryland SMS level (high first), then by standard error (precise first). Columns: ``evidence``
    (``force evaluation`` | ``external study``), ``id``, ``intervention_id``, ``title``, ``design``, ``sms_level``,
    ``measure``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``outcome``, ``emmie_effect``,
    ``reference``. Empty when the register holds nothing on the tactic.
    """
    cols = ["evidence", "id", "intervention_id", "title", "design", "sms_level", "measure", "estimate", "se",
            "ci_low", "ci_high", "p_value", "outcome", "emmie_effect", "reference"]
    iv = register.interventions
    ids = set(iv.loc[iv["tactic"] == tactic, "intervention_id"])
    ev = register.evaluations[register.evaluations["intervention_id"].isin(ids)].copy()
    ev = ev.merge(iv[["intervention_id", "name"]], on="intervention_id", how="left")
    ev = ev.assign(evidence="force evaluation", id=ev["evaluation_id"], title=ev["name"])
    st = register.studies[register.studies["tactic"] == tactic].copy()
    st = st.assign(evidence="external study", id=st["study_id"], intervention_id=None)
    for p in (ev, st):  # an ungraded record counts at the level its design suggests
        if len(p):
            p["sms_level"] = p["sms_level"].astype(object).where(p["sms_level"].notna(), p["sms_suggested"])
    parts = [p.reindex(columns=cols).astype(object) for p in (ev, st) if len(p)]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["_lvl"] = pd.to_numeric(out["sms_level"], errors="coerce").fillna(0)
    out["_se"] = pd.to_numeric(out["se"], errors="coerce").fillna(np.inf)
    out = out.sort_values(["_lvl", "_se"], ascending=[False, True], kind="stable").drop(columns=["_lvl", "_se"])
    return out.reset_index(drop=True)
