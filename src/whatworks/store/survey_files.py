"""Read survey microdata files: SPSS ``.sav`` (pyreadstat, keeping value labels and user-missing codes) and CSV,
through a TOML mapping (issue 15, item 1).

Mapping (TOML)::

    [survey]
    name = "pas"                 # the survey's name in the store
    id = "respondent_id"         # one row per respondent: the id column (required)
    date = "interview_date"      # optional: interview date column (must parse as a date)
    weight = "weight"            # optional: a weight column (must be a number >= 0)

    [rename]                     # optional: store name = file column
    confident = "Q1_CONF"

Every other column is kept under its own (or its renamed) name. For a ``.sav`` file, SPSS value labels are kept
(``labels``: variable, value, label) and user-missing codes (SPSS "missing values", e.g. 98 = don't know) are read as
missing, with the codes recorded (``missing_codes``), never silently turned into answers.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from whatworks.errors import IngestError, error

WHERE = "ingest_survey"


@dataclass(frozen=True)
class SurveyMapping:
    name: str
    id: str
    date: str | None = None
    weight: str | None = None
    rename: dict = field(default_factory=dict)

    @classmethod
    def load(cls, mapping) -> "SurveyMapping":
        if isinstance(mapping, SurveyMapping):
            return mapping
        if isinstance(mapping, dict):
            doc = mapping
        else:
            p = Path(mapping)
            if not p.exists():
                raise error(WHERE, "The mapping file does not exist.", got=str(p), cls=IngestError)
            try:
                doc = tomllib.loads(p.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise error(WHERE, f"The mapping is not valid TOML: {exc}.", got=str(p), cls=IngestError) from exc
        s = doc.get("survey")
        if not isinstance(s, dict) or not s.get("name") or not s.get("id"):
            raise error(WHERE, "The mapping needs a [survey] table with at least name and id.", got=doc.get("survey"),
                        hint='[survey]\nname = "pas"\nid = "respondent_id"', cls=IngestError)
        return cls(str(s["name"]), str(s["id"]), s.get("date"), s.get("weight"), dict(doc.get("rename", {})))


@dataclass(frozen=True)
class SurveyFile:
    data: pd.DataFrame            # every value as read (labels NOT applied: codes stay codes)
    labels: pd.DataFrame          # variable, value, label
    missing_codes: pd.DataFrame   # variable, value
    checksum: str
    format: str


def read_survey_file(path) -> SurveyFile:
    """Read a ``.sav`` or ``.csv`` survey file (recognised by its content: ``.sav`` files start with ``$FL2``/``$FL3``)."""
    p = Path(path)
    if not p.exists():
        raise error(WHERE, "The survey file does not exist.", got=str(p), cls=IngestError)
    raw = p.read_bytes()
    checksum = hashlib.sha256(raw).hexdigest()
    if raw[:4] in (b"$FL2", b"$FL3"):
        try:
            import pyreadstat
        except ImportError as exc:
            raise error(WHERE, "Reading SPSS .sav files needs the pyreadstat package.", hint="pip install pyreadstat",
                        cls=IngestError) from exc
        df, meta = pyreadstat.read_sav(str(p), user_missing=True, apply_value_formats=False)
        labels = pd.DataFrame([(var, str(_norm(v)), str(lab)) for var, vl in meta.variable_value_labels.items()
                               for v, lab in vl.items()], columns=["variable", "value", "label"])
        miss_rows = []
        for var, codes in (meta.missing_user_values or {}).items():
            miss_rows += [(var, str(_norm(c))) for c in codes]
        for var, ranges in (meta.missing_ranges or {}).items():
            for r in ranges:
                if r["lo"] == r["hi"]:
                    miss_rows.append((var, str(_norm(r["lo"]))))
        missing = pd.DataFrame(sorted(set(miss_rows)), columns=["variable", "value"])
        for var, part in missing.groupby("variable"):
            codes = set(part["value"])
            df[var] = df[var].mask(df[var].map(lambda v: str(_norm(v)) in codes), pd.NA)
        return SurveyFile(df, labels, missing, checksum, "survey_sav")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise error(WHERE, f"The file is neither an SPSS .sav file nor a readable CSV: {exc}.", got=str(p), cls=IngestError) from exc
    df = df.replace({"": pd.NA})
    return SurveyFile(df, pd.DataFrame(columns=["variable", "value", "label"]), pd.DataFrame(columns=["variable", "value"]),
                      checksum, "survey_csv")


def _norm(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


__all__ = ["SurveyMapping", "SurveyFile", "read_survey_file"]
