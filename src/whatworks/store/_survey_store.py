"""Store methods for survey microdata (ingest and reads). Mixed into :class:`whatworks.store.Store`.

Tables (created on first use):

* ``survey_responses`` — long form, one row per respondent × variable: ``survey``, ``respondent_id``, ``variable``,
  ``value`` (as read, text), ``batch_id``, ``source_row``; a file's columns can be anything, so no wide schema fits all.
* ``survey_labels`` — SPSS value labels: ``survey``, ``batch_id``, ``variable``, ``value``, ``label``;
  ``survey_missing_codes`` — user-missing codes read as missing: ``survey``, ``batch_id``, ``variable``, ``value``.

Row rules (a failing row is quarantined with its reason, file and row number; the header is row 1):
the id must be present; an id seen earlier in the file, or already in the store for this survey, is a duplicate;
the date (when mapped) must parse; the weight (when mapped) must be a number >= 0.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from whatworks.store._batch import already_loaded, next_batch_id, quarantine_rejects, reasons, record_batch, transaction
from whatworks.store._sql import run
from whatworks.store.ingest_report import FileOutcome, IngestReport
from whatworks.store.survey_files import parse_survey_dates

_TABLES = [
    ("create survey_responses", """CREATE TABLE IF NOT EXISTS survey_responses (
        survey VARCHAR NOT NULL, respondent_id VARCHAR NOT NULL, variable VARCHAR NOT NULL, value VARCHAR,
        batch_id INTEGER NOT NULL, source_row BIGINT NOT NULL)"""),
    ("create survey_labels", """CREATE TABLE IF NOT EXISTS survey_labels (
        survey VARCHAR NOT NULL, batch_id INTEGER NOT NULL, variable VARCHAR NOT NULL, value VARCHAR, label VARCHAR)"""),
    ("create survey_missing_codes", """CREATE TABLE IF NOT EXISTS survey_missing_codes (
        survey VARCHAR NOT NULL, batch_id INTEGER NOT NULL, variable VARCHAR NOT NULL, value VARCHAR)"""),
]


class SurveyStore:
    """Survey ingest and read methods; ``self.con`` is the store's DuckDB connection."""

    def _survey_tables_exist(self) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_name = 'survey_responses'").fetchone()[0])

    def _survey_tables(self) -> bool:
        """Create the survey tables on first use; on a read-only store only say whether they exist (reading needs
        no table to be created, and a read-only connection cannot create one)."""
        if getattr(self, "read_only", False):
            return self._survey_tables_exist()
        for step, sql in _TABLES:
            run(self.con, step, sql).fetchall()
        return True

    def ingest_survey(self, path, *, mapping, limits=None) -> IngestReport:
        """Load a survey file (``.sav`` or CSV) through a mapping (TOML path or dict; see
        :mod:`whatworks.store.survey_files`). Returns an :class:`IngestReport` with
        ``rows_read == rows_loaded + rows_quarantined + duplicates_skipped``.

        A CSV is read by the store's delimited-text reader, under ``limits`` (:class:`whatworks.store.limits.Limits`,
        default ``DEFAULT_LIMITS``): a line it cannot split is quarantined with its row number and bytes."""
        from pathlib import Path

        from whatworks._version import __version__
        from whatworks.errors import IngestError, error
        from whatworks.store import _csv
        from whatworks.store.limits import resolve
        from whatworks.store.survey_files import SurveyMapping, is_sav, read_survey_csv, read_survey_file

        self._require_writable()
        limits = resolve(limits, "ingest_survey()")
        m = SurveyMapping.load(mapping)
        p = Path(path)
        if not p.is_file():
            raise error("ingest_survey", "The survey file does not exist (or is not a file).", got=str(p),
                        cls=IngestError)
        source = str(path)
        sav = is_sav(p)
        try:
            f = read_survey_file(p) if sav else read_survey_csv(self.con, p, m, limits=limits)
            return self._ingest_survey_rows(f, m, source, __version__)
        finally:
            if not sav:
                _csv.cleanup(self.con)

    def _ingest_survey_rows(self, f, m, source: str, version: str) -> IngestReport:
        """Check and load the rows read from one survey file, in one transaction (see :meth:`ingest_survey`)."""
        from whatworks.errors import IngestError, error

        df = f.data.rename(columns={v: k for k, v in m.rename.items()})
        for need in [m.id, m.date, m.weight]:
            if need is not None and need not in df.columns:
                raise error("ingest_survey", f"The mapped column '{need}' is not in the file.",
                            expected=f"columns among {list(df.columns)[:20]}", cls=IngestError)
        prior = already_loaded(self.con, f.checksum)
        if prior is not None:
            return IngestReport((FileOutcome(source, f.format, "already_loaded", prior[0], checksum=f.checksum,
                                             message=f"already loaded as batch {prior[0]}"),))
        n = len(df)
        ids = df[m.id].astype("string").str.strip()
        why = pd.Series([""] * n, index=df.index, dtype=object)
        why[ids.isna() | (ids == "")] = "respondent id missing"
        if m.date:
            bad = parse_survey_dates(df[m.date]).isna()
            why[bad & (why == "")] = f"{m.date} is not a date"
        if m.weight:
            w = pd.to_numeric(df[m.weight], errors="coerce")
            why[(w.isna() | (w < 0)) & (why == "")] = f"{m.weight} is not a number >= 0"
        held = set(r[0] for r in self.con.execute(
            "SELECT DISTINCT respondent_id FROM survey_responses WHERE survey = ?", [m.name]).fetchall()) \
            if self._survey_tables_exist() else set()
        dup = ids.duplicated(keep="first") & (why == "")
        dup_store = ids.isin(held) & (why == "")
        category = np.where(why != "", "invalid", np.where(dup | dup_store, "duplicate", ""))
        why[dup] = "duplicate respondent id in the file"
        why[dup_store & ~dup] = "respondent id already in the store for this survey"
        rows = f.source_rows
        ok = category == ""
        with transaction(self.con):
            self._survey_tables()        # created in the load's transaction: a killed first load leaves no trace
            batch = next_batch_id(self.con)
            if f.rejected:
                quarantine_rejects(self.con, batch, source)
            bad = np.flatnonzero(~ok)
            if bad.size:
                raw = [json.dumps({c: (None if pd.isna(v) else str(v)) for c, v in df.iloc[i].items()}) for i in bad]
                q = pd.DataFrame({"batch_id": batch, "source_file": source, "source_row": rows[bad],
                                  "category": category[bad], "reason": why.to_numpy()[bad], "raw": raw})
                self._settle()
                self.con.register("_survey_q", q)
                run(self.con, "quarantine survey rows", "INSERT INTO quarantine SELECT * FROM _survey_q").fetchall()
                self.con.unregister("_survey_q")
            good = df[ok]
            long = good.assign(_id=ids[ok], _row=rows[ok]).melt(id_vars=["_id", "_row"], var_name="variable", value_name="value")
            long["value"] = long["value"].map(lambda v: None if pd.isna(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
            ins = pd.DataFrame({"survey": m.name, "respondent_id": long["_id"].astype(str), "variable": long["variable"],
                                "value": long["value"], "batch_id": batch, "source_row": long["_row"].astype("int64")})
            self._settle()
            self.con.register("_survey_long", ins)
            run(self.con, "load survey responses", "INSERT INTO survey_responses SELECT * FROM _survey_long").fetchall()
            self.con.unregister("_survey_long")
            for table, frame in (("survey_labels", f.labels), ("survey_missing_codes", f.missing_codes)):
                if len(frame):
                    self._settle()
                    self.con.register("_survey_meta", frame.assign(survey=m.name, batch_id=batch))
                    cols = "survey, batch_id, variable, value" + (", label" if table == "survey_labels" else "")
                    run(self.con, f"load {table}", f"INSERT INTO {table} SELECT {cols} FROM _survey_meta").fetchall()
                    self.con.unregister("_survey_meta")
            if self._has_meta():
                run(self.con, "record survey mapping", "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [f"survey_mapping:{m.name}", json.dumps({"id": m.id, "date": m.date, "weight": m.weight})]).fetchall()
            n_read = n + f.rejected
            quarantined, duplicates = record_batch(self.con, batch, source, f.checksum, f.format, n_read, int(ok.sum()),
                                                   version)
            outcome = FileOutcome(source, f.format, "loaded", batch, n_read, int(ok.sum()), quarantined, duplicates,
                                  reasons(self.con, batch), checksum=f.checksum)
        return IngestReport((outcome,))

    def _settle(self) -> None:
        """DuckDB refuses ``register`` while an earlier result (a ``fetchone``) is unfinished: finish it."""
        self.con.execute("SELECT 1").fetchall()

    def _has_meta(self) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()[0])

    def surveys(self) -> pd.DataFrame:
        """The surveys in the store: ``survey``, ``respondents``, ``variables``, ``batches``."""
        if not self._survey_tables_exist():
            return pd.DataFrame(columns=["survey", "respondents", "variables", "batches"])
        return self.con.execute("""SELECT survey, count(DISTINCT respondent_id) AS respondents,
            count(DISTINCT variable) AS variables, count(DISTINCT batch_id) AS batches
            FROM survey_responses GROUP BY survey ORDER BY survey""").df()

    def survey(self, name: str, *, labels: bool = False) -> pd.DataFrame:
        """One survey as a DataFrame, one row per respondent, one column per variable (numbers where every value is a
        number, dates for the mapped date column); ``labels=True`` replaces SPSS codes by their value labels."""
        from whatworks.errors import error

        if not self._survey_tables_exist():
            raise error("Store.survey", f"No survey named {name!r} in the store: it holds no survey.",
                        hint="Load one with store.ingest_survey(path, mapping=...) or `whatworks ingest survey`.")
        long = self.con.execute("""SELECT respondent_id, variable, value, source_row, batch_id FROM survey_responses
                                   WHERE survey = ? ORDER BY batch_id, source_row""", [name]).df()
        if long.empty:
            have = self.surveys()["survey"].tolist()
            raise error("Store.survey", f"No survey named {name!r} in the store.", expected=f"one of {have}",
                        hint="Load it with store.ingest_survey(path, mapping=...).")
        order = long.drop_duplicates("respondent_id")["respondent_id"]
        wide = long.pivot(index="respondent_id", columns="variable", values="value").reindex(order)
        wide.columns.name = None
        lab = self.con.execute("SELECT variable, value, label FROM survey_labels WHERE survey = ?", [name]).df()
        meta = {}
        if self._has_meta():
            r = self.con.execute("SELECT value FROM meta WHERE key = ?", [f"survey_mapping:{name}"]).fetchone()
            meta = json.loads(r[0]) if r else {}
        for c in wide.columns:
            s = wide[c]
            if labels and c in set(lab["variable"]):
                mp = dict(zip(lab.loc[lab["variable"] == c, "value"], lab.loc[lab["variable"] == c, "label"]))
                wide[c] = s.map(lambda v: mp.get(v, v))
                continue
            if c == meta.get("date"):
                wide[c] = parse_survey_dates(s)
                continue
            num = pd.to_numeric(s, errors="coerce")
            if num.notna().sum() == s.notna().sum():
                wide[c] = num
            elif set(s.dropna().unique()) <= {"True", "False"}:
                wide[c] = s.map({"True": True, "False": False})
        return wide.reset_index(drop=True)
