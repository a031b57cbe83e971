"""Read survey microdata files: SPSS ``.sav`` (pyreadstat, keeping value labels and user-missing codes) and CSV,
through a TOML mapping (issue 15, item 1).

Mapping (TOML)::

    [survey]
    name = "pas"                 # the survey's name in the store
    id = "respondent_id"         # one row per respondent: the id column (required)
    date = "interview_date"      # optional: interview date column (ISO 2024-03-05 or UK day-first 05/03/2024)
    weight = "weight"            # optional: a weight column (must be a number >= 0)
    delimiter = ","              # optional (CSV only): the field delimiter, default ","
    encoding = "utf-8"           # optional (CSV only): "utf-8" (default) or "latin-1"

    [rename]                     # optional: store name = file column
    confident = "Q1_CONF"

Every other column is kept under its own (or its renamed) name. For a ``.sav`` file, SPSS value labels are kept
(``labels``: variable, value, label) and user-missing codes (SPSS "missing values", e.g. 98 = don't know) are read as
missing, with the codes recorded (``missing_codes``), never silently turned into answers.

A CSV is read by the store's one delimited-text reader (:mod:`whatworks.store._csv`, as police.uk, RMS and area files
are), so the same limits and rules hold (issue 12): a line with the wrong number of fields, an unterminated quote,
bytes that are not text in the file's encoding, or a line or field over :class:`~whatworks.store.limits.Limits` is
quarantined with its spreadsheet row number and its bytes kept (escaped); a blank line is not a record; a quoted
line break stays inside its field. A header with an empty or repeated column name is refused (which column would
an answer belong to?). A ``.sav`` file that pyreadstat cannot read is refused with pyreadstat's reason; it is parsed in a child process, so a
damaged file that crashes pyreadstat (one did, in the fuzz run) is refused too instead of taking whatworks down.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from whatworks.errors import IngestError, error
from whatworks.store import _csv
from whatworks.store.limits import DEFAULT_LIMITS, Limits

WHERE = "ingest_survey"


@dataclass(frozen=True)
class SurveyMapping:
    name: str
    id: str
    date: str | None = None
    weight: str | None = None
    rename: dict = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"

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
        delimiter = s.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
            raise error(WHERE, "The mapping's delimiter must be one character (not a quote or a line break).",
                        got=delimiter, cls=IngestError)
        encoding = str(s.get("encoding", "utf-8")).lower()
        if encoding not in ("utf-8", "utf8", "latin-1", "latin1", "iso-8859-1"):
            raise error(WHERE, "The mapping's encoding must be utf-8 or latin-1.", got=encoding, cls=IngestError)
        return cls(str(s["name"]), str(s["id"]), s.get("date"), s.get("weight"), dict(doc.get("rename", {})),
                   delimiter, encoding)


@dataclass(frozen=True)
class SurveyFile:
    data: pd.DataFrame            # every value as read (labels NOT applied: codes stay codes)
    labels: pd.DataFrame          # variable, value, label
    missing_codes: pd.DataFrame   # variable, value
    checksum: str
    format: str
    source_rows: np.ndarray | None = None   # each data row's row number (CSV: the spreadsheet row, header = 1;
    #                                         .sav: the case number, from 1)
    rejected: int = 0                        # CSV records quarantined by the reader (in the temp table _rejects)


def is_sav(path) -> bool:
    """Whether ``path`` is an SPSS ``.sav`` file (by its first bytes: ``$FL2`` or ``$FL3``)."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"$FL2", b"$FL3")


def _checksum(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_survey_csv(con, path, mapping: SurveyMapping, *, limits: Limits = DEFAULT_LIMITS) -> SurveyFile:
    """Read a survey CSV with the store's delimited-text reader into ``con``'s temp tables ``_rows`` /
    ``_rejects`` (the caller quarantines ``_rejects`` in its transaction, then calls ``_csv.cleanup``); returns
    the accepted rows (every value a string, blanks missing) with their row numbers."""
    p = Path(path)
    header = _csv.read_header(p, encoding=mapping.encoding, delimiter=mapping.delimiter)
    if not header:
        raise error(WHERE, "The survey file is empty: no header line.", got=p.name, cls=IngestError)
    blank = [k + 1 for k, h in enumerate(header) if not h]
    repeated = sorted(h for h, c in Counter(header).items() if c > 1 and h)
    if blank or repeated:
        what = (f"column(s) {blank} have no name" if blank else "") + ("; " if blank and repeated else "") + \
               (f"the name(s) {repeated[:5]} appear more than once" if repeated else "")
        raise error(WHERE, f"The survey file's header is not usable: {what}. Nothing was loaded.", got=p.name,
                    hint="Give every column of the header its own name.", cls=IngestError)
    facts = _csv.file_facts(p, delimiter=mapping.delimiter, limits=limits)
    cols = [f"c{i}" for i in range(len(header))]
    loaded = _csv.load(con, p, cols, facts=facts, delimiter=mapping.delimiter, encoding=mapping.encoding,
                       limits=limits)
    rows = con.execute("SELECT * FROM _rows ORDER BY source_row").df()
    source_rows = rows.pop("source_row").to_numpy(dtype="int64")
    rows.columns = header
    df = rows.astype(object).where(rows.notna(), None)
    df = df.map(lambda v: None if v is None or v == "" else v).replace({None: pd.NA})
    empty = pd.DataFrame(columns=["variable", "value"])
    return SurveyFile(df.reset_index(drop=True), pd.DataFrame(columns=["variable", "value", "label"]), empty,
                      facts.checksum, "survey_csv", source_rows, loaded.rejected)

# pyreadstat parses .sav files in C (ReadStat), and a damaged file can crash it outright (a segmentation fault
# found by the fuzz benchmark, issue 12), which would take the whole process down with it. So the file is parsed in
# a child process: a crash there is a clean IngestError here. The child returns plain data only (the frame and three
# dicts) through a file in a private temporary folder. SAV_TIMEOUT_S bounds a parse that never ends.
SAV_TIMEOUT_S = 600
_SAV_CHILD = """
import pickle, sys
import pyreadstat
try:
    df, meta = pyreadstat.read_sav(sys.argv[1], user_missing=True, apply_value_formats=False)
except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError, UnicodeDecodeError) as exc:
    sys.stderr.write(f"READ-ERROR {type(exc).__name__}: {str(exc)[:200]}")
    sys.exit(3)
with open(sys.argv[2], "wb") as fh:
    pickle.dump((df, dict(meta.variable_value_labels or {}), dict(meta.missing_user_values or {}),
                 dict(meta.missing_ranges or {})), fh, protocol=pickle.HIGHEST_PROTOCOL)
"""


def _read_sav_isolated(p: Path):
    """(frame, value labels, user-missing values, missing ranges) of a .sav file, parsed in a child process."""
    import pickle
    import signal
    import subprocess
    import sys
    import tempfile

    refuse = "Nothing was loaded."
    hint = "Open it in SPSS or PSPP and save it again."
    with tempfile.TemporaryDirectory(prefix="whatworks-sav-") as tmp:
        out = Path(tmp) / "sav.pickle"
        try:
            proc = subprocess.run([sys.executable, "-c", _SAV_CHILD, str(p), str(out)], capture_output=True,
                                  text=True, timeout=SAV_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise error(WHERE, f"Reading the SPSS .sav file took more than {SAV_TIMEOUT_S} s "
                        f"(survey_files.SAV_TIMEOUT_S) and was stopped. {refuse}", got=p.name, hint=hint,
                        cls=IngestError) from exc
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name if -proc.returncode in signal.valid_signals() else "a signal"
            raise error(WHERE, f"The SPSS .sav file crashed the .sav reader (pyreadstat stopped by {name}): the file "
                        f"is damaged. {refuse}", got=p.name, hint=hint, cls=IngestError)
        if proc.returncode != 0:
            tail = (proc.stderr or "").strip().splitlines()
            why = tail[-1].removeprefix("READ-ERROR ") if tail else f"exit status {proc.returncode}"
            raise error(WHERE, f"The SPSS .sav file could not be read: {why[:240]}. {refuse}", got=p.name,
                        hint=hint, cls=IngestError)
        with open(out, "rb") as fh:   # written by the child above from pyreadstat's own objects: trusted
            return pickle.load(fh)


def read_survey_file(path) -> SurveyFile:
    """Read a ``.sav`` survey file (recognised by its content: ``.sav`` files start with ``$FL2``/``$FL3``); a CSV
    is read by :func:`read_survey_csv`, which needs the store's connection."""
    p = Path(path)
    if not p.is_file():
        raise error(WHERE, "The survey file does not exist (or is not a file).", got=str(p), cls=IngestError)
    if not is_sav(p):
        raise error(WHERE, "The file is not an SPSS .sav file.", got=p.name,
                    hint="A CSV goes through store.ingest_survey, which reads it with the store's CSV reader.",
                    cls=IngestError)
    checksum = _checksum(p)
    try:
        import pyreadstat  # noqa: F401  (parsed in a child process; checked here for a clear message)
    except ImportError as exc:
        raise error(WHERE, "Reading SPSS .sav files needs the pyreadstat package.", hint="pip install pyreadstat",
                    cls=IngestError) from exc
    df, value_labels, missing_values, missing_ranges = _read_sav_isolated(p)
    labels = pd.DataFrame([(var, str(_norm(v)), str(lab)) for var, vl in value_labels.items()
                           for v, lab in vl.items()], columns=["variable", "value", "label"])
    miss_rows = []
    for var, codes in (missing_values or {}).items():
        miss_rows += [(var, str(_norm(c))) for c in codes]
    for var, ranges in (missing_ranges or {}).items():
        for r in ranges:
            if r["lo"] == r["hi"]:
                miss_rows.append((var, str(_norm(r["lo"]))))
    missing = pd.DataFrame(sorted(set(miss_rows)), columns=["variable", "value"])
    for var, part in missing.groupby("variable"):
        codes = set(part["value"])
        df[var] = df[var].mask(df[var].map(lambda v: str(_norm(v)) in codes), pd.NA)
    return SurveyFile(df, labels, missing, checksum, "survey_sav", np.arange(len(df), dtype="int64") + 1)


DATE_FORMATS = ("ISO8601", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


def parse_survey_dates(values: pd.Series) -> pd.Series:
    """Interview dates as datetimes (NaT where a value is none of :data:`DATE_FORMATS`): ISO 8601 (``2024-03-05``,
    with or without a time) or the UK's day-first ``05/03/2024`` (never month-first: pandas' guess would read
    05/03 as 3 May). Each value is tried against each format in turn, so a file may mix the two; a month or a
    year alone is not a date."""
    # an ISO time's offset (Z, +01:00) is dropped: the interview's local clock time is what the date means
    text = values.astype("string").str.strip().str.replace(r"(?<=\d)(Z|[+-]\d\d:?\d\d)$", "", regex=True)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = out.isna() & text.notna()
        if fmt == "ISO8601":   # a whole date: "2024-03" or "2024" is not an interview date (pandas reads the 1st)
            todo &= text.str.match(r"^\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype("datetime64[ns]")
    return out


def _norm(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


__all__ = ["SurveyMapping", "SurveyFile", "DATE_FORMATS", "is_sav", "parse_survey_dates", "read_survey_csv",
           "read_survey_file"]
