"""Probabilistic record linkage of people across systems that share no identifier (Splink inside).

Custody, stop and search, crime records and probation each give a person their own id, and each holds the name,
date of birth and postcode with its own errors. :func:`link` finds which records are the same person with a
Fellegi–Sunter model trained without labels (Splink: random-sampling u, expectation-maximisation m, both on capped
samples of pairs), scores the pairs that share a blocking key, and joins pairs above ``threshold`` into clusters
(connected components). Each cluster is one person.

Runs on DuckDB (default; in memory, spilling to a private temporary folder that is removed afterwards) or, with the
same settings, on a Spark cluster (``backend="spark"`` with a classic SparkSession).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_dataframe
from whatworks.errors import error
from whatworks.people._common import check_key

__all__ = ["link", "LinkResult", "pairwise_metrics", "prepare_records", "DOB_FORMATS"]

DEFAULT_THRESHOLD = 0.9
DEFAULT_MAX_PAIRS_U = 2_000_000     # random pairs for the u probabilities
DEFAULT_MAX_PAIRS_EM = 500_000      # blocked pairs per EM session (REFERENCE.md: an uncapped EM pass can run for >13 min)
DEFAULT_BACKEND = "duckdb"
DEFAULT_SEED = 0
DEFAULT_PRIOR_RECALL = 0.7          # assumed recall of the exact name + date-of-birth rule, for the prior match probability
DOB_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y")
# strftime -> Spark (Java) date patterns for the ISO string the records are normalised to
_DIALECT_DATE_FORMAT = {"duckdb": "%Y-%m-%d", "spark": "yyyy-MM-dd"}
_UK_POSTCODE_NOSPACE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_RULE_WORDS = {"dob": "date of birth", "first_name": "first name", "substr(dob, 1, 4)": "year of birth",
               "substr(dob, 6, 5)": "day and month of birth"}
SECTOR_REGEX = "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? [0-9]"
DISTRICT_REGEX = "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?"


@dataclass(frozen=True, repr=False, kw_only=True)
class LinkResult(Result):
    """Clusters of records that are the same person.

    ``table``: one row per input record: ``source``, ``record_id`` (pseudonymised when a key was given),
    ``cluster_id`` (``L`` + number; one per person found), ``cluster_size``, ``sources_in_cluster``,
    ``best_match_weight`` and ``best_match_probability`` (the strongest link from this record to another in its
    cluster; NaN for a record alone), and ``label`` when a label column was given.

    Fields: ``pairs`` (scored pairs at or above the threshold: both records, ``match_weight``,
    ``match_probability``), ``threshold``, ``blocking_rules``, ``n_records``, ``n_clusters``, ``metrics``
    (pairwise precision, recall and F1 against the labels, or None), ``model`` (the trained Splink model as a
    dict: comparisons with their m and u probabilities), ``model_version``, ``backend``, ``pseudonymised``,
    ``timings`` (seconds per stage).
    """

    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    threshold: float = DEFAULT_THRESHOLD
    blocking_rules: tuple[str, ...] = ()
    n_records: int = 0
    n_clusters: int = 0
    metrics: dict | None = None
    model: dict = field(default_factory=dict)
    model_version: str = ""
    backend: str = "duckdb"
    pseudonymised: bool = False
    timings: dict = field(default_factory=dict)

    def _headline(self) -> str:
        m = "" if not self.metrics else (f"; precision {self.metrics['precision']:.3f}, recall {self.metrics['recall']:.3f}")
        return f"{self.n_records:,} records -> {self.n_clusters:,} people{m}"

    def summary(self) -> str:
        t = self.table
        multi = t[t["cluster_size"] > 1]
        cross = t[t["sources_in_cluster"] > 1]["cluster_id"].nunique()
        lines = [f"{self.n_records:,} records from {t['source'].nunique()} sources were linked into {self.n_clusters:,} "
                 f"people: {multi['cluster_id'].nunique():,} people have more than one record, {cross:,} appear in more "
                 "than one source.",
                 f"Two records are joined when Splink's match probability is at least {self.threshold:g} (connected "
                 "components: A–B and B–C put A, B and C together). Only pairs sharing a blocking key are scored: "
                 + "; ".join(self.blocking_rules) + ". A true match that shares none of these keys cannot be found, so "
                 "blocking limits recall; a lower threshold finds more matches at the cost of more false ones."]
        if self.metrics:
            m = self.metrics
            lines.append(f"Against the labels: pairwise precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
                         f"F1 {m['f1']:.3f} ({m['true_positive_pairs']:,} true pairs found, {m['false_positive_pairs']:,} "
                         f"false, {m['false_negative_pairs']:,} missed).")
        if self.pseudonymised:
            lines.append("Record ids are pseudonymised (HMAC-SHA256, caller's key).")
        return " ".join(lines)

    def _draw(self, ax) -> None:
        p = self.pairs
        if not len(p):
            ax.text(0.5, 0.5, "no pairs above the threshold", ha="center", transform=ax.transAxes)
            return
        ax.hist(p["match_weight"], bins=40, color=PALETTE["blue"])
        ax.set_xlabel("match weight of linked pairs (log2 Bayes factor incl. prior)")
        ax.set_ylabel("pairs")
        ax.set_title(f"Record linkage: {self.n_records:,} records -> {self.n_clusters:,} people", loc="left")


# ---------------------------------------------------------------------------------------------- pure steps


def _clean_name(s: pd.Series) -> pd.Series:
    out = (s.astype("string").str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
           .str.lower().str.replace(r"[^a-z]", "", regex=True))
    return _none_for_blank(out)


def _none_for_blank(s: pd.Series) -> pd.Series:
    """Object Series with None (what Splink treats as missing) for missing or empty text."""
    blank = (s.isna() | (s == "")).fillna(True).to_numpy(bool)
    out = s.astype(object).to_numpy(copy=True)
    out[blank] = None
    return pd.Series(out, index=s.index, dtype=object)


def _clean_postcode(s: pd.Series) -> pd.Series:
    txt = s.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    txt = txt.str.replace(_UK_POSTCODE_NOSPACE.pattern, r"\1 \2", regex=True)   # UK: one space before the inward code
    return _none_for_blank(txt)


def _clean_text(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return _none_for_blank(out)


def choose_dob_format(values: pd.Series) -> tuple[str, str]:
    """The format in :data:`DOB_FORMATS` that parses the most of the non-missing values (ties: the earlier one)."""
    s = values.dropna().astype(str)
    s = s[s.str.strip() != ""]
    if s.empty:
        return DOB_FORMATS[0], "no dates of birth to inspect"
    sample = s.iloc[:: max(1, len(s) // 20_000)]
    best, best_n = DOB_FORMATS[0], -1
    for f in DOB_FORMATS:
        n = int(pd.to_datetime(sample, format=f, errors="coerce").notna().sum())
        if n > best_n:
            best, best_n = f, n
    return best, f"parses {best_n / len(sample):.1%} of the dates of birth"


def prepare_records(records: pd.DataFrame, *, source: str, record_id: str, first_name: str | None = None,
                    surname: str | None = None, dob: str | None = None, postcode: str | None = None,
                    other: Sequence[str] = (), exact: Sequence[str] = (),
                    dob_format: str | None = None,
                    label: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Standardise the matching fields: names lower-case letters only (accents removed); dates of birth as ISO text
    (unparseable → missing); postcodes upper-case with one space before the inward code; other fields lower-case
    trimmed text (``other`` and ``exact``). Returns the frame Splink sees (``unique_id`` = source + record id) and notes for ``.settings``."""
    out = pd.DataFrame({"source": records[source].astype(str).to_numpy(),
                        "record_id": records[record_id].astype(str).to_numpy()})
    out["unique_id"] = out["source"] + "\x1f" + out["record_id"]
    notes: dict = {}
    if first_name:
        out["first_name"] = _clean_name(records[first_name]).to_numpy()
    if surname:
        out["surname"] = _clean_name(records[surname]).to_numpy()
    if dob:
        col = records[dob]
        if pd.api.types.is_datetime64_any_dtype(col):
            parsed = pd.to_datetime(col)
            notes["dob_format"] = ("date values", "the column holds dates")
        else:
            fmt, why = (dob_format, "given by the caller") if dob_format else choose_dob_format(col)
            notes["dob_format"] = (fmt, why)
            parsed = pd.to_datetime(col.astype("string"), format=fmt, errors="coerce")
            bad = int((parsed.isna() & col.notna() & (col.astype("string").str.strip() != "")).sum())
            notes["dob_unparsed"] = bad
        out["dob"] = parsed.dt.strftime("%Y-%m-%d").astype(object).where(parsed.notna(), None).to_numpy()
    if postcode:
        out["postcode"] = _clean_postcode(records[postcode]).to_numpy()
    for i, c in enumerate(other):
        out[f"other_{i}"] = _clean_text(records[c]).to_numpy()
    for i, c in enumerate(exact):
        out[f"exact_{i}"] = _clean_text(records[c]).to_numpy()
    if label:
        out["label"] = records[label].astype(str).to_numpy()
    return out, notes


def blocking_rules_for(columns: set[str]) -> list[tuple[str, ...]]:
    """Blocking rules used to choose which pairs are scored, from the fields present (each a tuple of expressions
    that must all be equal). Together they let a true match through if it agrees exactly on any one of: date of
    birth; surname and postcode; first name and postcode; both names and year of birth; both names and day and month
    of birth (a wrong year). Each rule is specific enough that no block is huge even when a few names are very common
    (one million records score about 35 million pairs on the synthetic force, whose names are unusually concentrated)."""
    rules: list[tuple[str, ...]] = []
    has = columns.__contains__
    if has("dob"):
        rules.append(("dob",))
    if has("surname") and has("postcode"):
        rules.append(("surname", "postcode"))
    if has("first_name") and has("postcode"):
        rules.append(("first_name", "postcode"))
    if has("first_name") and has("surname") and has("dob"):
        rules.append(("first_name", "surname", "substr(dob, 1, 4)"))
    if has("first_name") and has("surname") and has("dob"):
        rules.append(("first_name", "surname", "substr(dob, 6, 5)"))
    if not rules and has("first_name") and has("surname"):
        rules.append(("first_name", "surname"))
    return rules


def pairwise_metrics(cluster: Sequence[Any], label: Sequence[Any]) -> dict:
    """Pairwise precision, recall and F1 of a clustering against true labels.

    A pair of records is *predicted* when both are in one cluster and *true* when both have one label. precision =
    true predicted pairs / predicted pairs; recall = true predicted pairs / true pairs; F1 = their harmonic mean.
    Counted from cluster × label cell sizes (Σ C(n, 2)), so no pair list is built.
    """
    d = pd.DataFrame({"c": np.asarray(cluster), "l": np.asarray(label)})

    def npairs(sizes: pd.Series) -> int:
        v = sizes.to_numpy(dtype=np.int64)
        return int((v * (v - 1) // 2).sum())

    tp = npairs(d.groupby(["c", "l"]).size())
    pred = npairs(d.groupby("c").size())
    true = npairs(d.groupby("l").size())
    precision = tp / pred if pred else float("nan")
    recall = tp / true if true else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if pred and true and (precision + recall) > 0 else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "true_positive_pairs": tp,
            "false_positive_pairs": pred - tp, "false_negative_pairs": true - tp, "predicted_pairs": pred, "true_pairs": true}


def _settings(columns: set[str], n_other: tuple[int, int], dialect: str, rules: list[tuple[str, ...]]):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import ColumnExpression, SettingsCreator, block_on

    comps = []
    if "first_name" in columns:
        comps.append(cl.NameComparison("first_name").configure(term_frequency_adjustments=True))
    if "surname" in columns:
        comps.append(cl.NameComparison("surname").configure(term_frequency_adjustments=True))
    if "dob" in columns:
        comps.append(cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format=_DIALECT_DATE_FORMAT[dialect]))
    if "postcode" in columns:
        pc = ColumnExpression("postcode")
        # Splink's PostcodeComparison ends at "same area"; one force's records all share an area, so that level is
        # never informative here. Instead: exact, one edit (a mistyped postcode), same sector, same district.
        comps.append(cl.CustomComparison([
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="exact postcode"),
            cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts="postcode one edit apart"),
            cll.ExactMatchLevel(pc.regex_extract(SECTOR_REGEX)).configure(label_for_charts="same sector"),
            cll.ExactMatchLevel(pc.regex_extract(DISTRICT_REGEX)).configure(label_for_charts="same district"),
            cll.ElseLevel(),
        ], output_column_name="postcode"))
    for i in range(n_other[0]):
        comps.append(cl.LevenshteinAtThresholds(f"other_{i}", [1, 2]))
    for i in range(n_other[1]):
        comps.append(cl.ExactMatch(f"exact_{i}"))
    return SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="unique_id", comparisons=comps,
        blocking_rules_to_generate_predictions=[block_on(*r) for r in rules],
        retain_intermediate_calculation_columns=False, retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


@contextlib.contextmanager
def _splink_logging():
    lg = logging.getLogger("splink")
    old_level, old_prop = lg.level, lg.propagate
    lg.setLevel(logging.ERROR)   # Splink's training chatter is summarised in .settings instead
    try:
        yield
    finally:
        lg.setLevel(old_level)
        lg.propagate = old_prop


def _number_clusters(prepared: pd.DataFrame, clusters: pd.DataFrame) -> np.ndarray:
    """Cluster of each prepared record, renumbered 0, 1, … by each cluster's first record in input order (so the
    numbers do not depend on the backend, and a cluster id never carries a raw record id)."""
    cid = clusters.set_index("unique_id")["cluster_id"].reindex(prepared["unique_id"].to_numpy())
    if cid.isna().any():
        missing = cid.index[cid.isna()][0]
        raise error("link", "Splink's clustering lost a record.", got=missing.replace("\x1f", ":"),
                    hint="Report this as a bug with the records' sizes and backend.")
    codes, _ = pd.factorize(cid.to_numpy())   # factorize numbers in order of first appearance
    return codes


def _check_spark_session(fn: str, spark: Any) -> None:
    """A classic SparkSession (Splink reads its JVM context) with a checkpoint folder for Splink's intermediate
    tables (Splink writes them as parquet there, to break Spark's lineage); Databricks is left to Splink."""
    if spark is None:
        raise error(fn, "backend='spark' needs a SparkSession passed as spark=.",
                    hint="from pyspark.sql import SparkSession; spark = SparkSession.builder.getOrCreate()")
    jsc = getattr(spark, "_jsc", None)
    if jsc is None:
        raise error(fn, "backend='spark' needs a classic SparkSession; Splink cannot run on Spark Connect.",
                    got=type(spark).__module__ + "." + type(spark).__name__,
                    hint="Create the session with SparkSession.builder.master(...) rather than .remote(...).")
    if "DATABRICKS_RUNTIME_VERSION" not in os.environ and jsc.sc().getCheckpointDir().isEmpty():
        raise error(fn, "The SparkSession has no checkpoint folder; Splink writes its intermediate tables there.",
                    hint="spark.sparkContext.setCheckpointDir('/path/to/scratch') before linking.")


def _spark_api(spark: Any):
    """Splink's SparkAPI, checking that its similarity functions (Jaro-Winkler for names, Damerau-Levenshtein for
    postcodes) were registered from the jar that ships with Splink: a session started without the jar gets a clear
    error here instead of Splink's warning (which :func:`_splink_logging` hides) and a failing query later."""
    from splink import SparkAPI

    api = SparkAPI(spark_session=spark)
    missing = [f for f in ("jaro_winkler", "damerau_levenshtein") if not spark.catalog.functionExists(f)]
    if missing:
        raise error("link", "Splink's Spark similarity functions are not available in this SparkSession.",
                    expected="functions registered from Splink's jar", got=f"missing {missing}",
                    hint="Start the session with Splink's jar: from splink.backends.spark import "
                         "similarity_jar_location; SparkSession.builder.config('spark.jars', similarity_jar_location())")
    return api


def _spark_leftovers(spark: Any):
    """Note the session's temporary views and the entries of its checkpoint folder now; the returned function drops
    the ``__splink__`` views and parquet folders that appeared since (Splink leaves some of both behind, and they
    hold the person records), so a run leaves the caller's session and scratch space as it found them."""
    sc = spark._jsc.sc()
    folder = None if sc.getCheckpointDir().isEmpty() else spark._jvm.org.apache.hadoop.fs.Path(sc.getCheckpointDir().get())
    fs = folder.getFileSystem(sc.hadoopConfiguration()) if folder is not None else None

    def views() -> set[str]:
        return {t.name for t in spark.catalog.listTables() if t.isTemporary and t.name.startswith("__splink__")}

    def files() -> set[str]:
        if fs is None or not fs.exists(folder):
            return set()
        return {st.getPath().getName() for st in fs.listStatus(folder) if st.getPath().getName().startswith("__splink__")}

    before_views, before_files = views(), files()

    def drop() -> None:
        for v in views() - before_views:
            spark.catalog.dropTempView(v)
        for f in files() - before_files:
            fs.delete(spark._jvm.org.apache.hadoop.fs.Path(folder, f), True)

    return drop


def link(records: pd.DataFrame, source: str = "source", record_id: str = "record_id",
         first_name: str | None = "first_name", surname: str | None = "surname", dob: str | None = "dob",
         postcode: str | None = "postcode", *, other: Sequence[str] = (), exact: Sequence[str] = (),
         threshold: float | None = None,
         label: str | None = None, dob_format: str | None = None, backend: str | None = None, spark: Any = None,
         max_pairs_em: float | None = None, max_pairs_u: float | None = None,
         prior_recall: float | None = None, memory_limit: str | None = None, seed: int | None = None,
         key: str | bytes | None = None, connection: Any = None, quiet: bool = False) -> LinkResult:
    """Link person records across (and within) systems into people, with Splink.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per person record: a source column, a record id unique within its source, and the identifying fields.
        The store's ``persons`` table works as it is (``Store.persons()``; source ``source_system``, id ``person_id``).
    source : str, default "source"
        Source system of each record.
    record_id : str, default "record_id"
        Record id within its source; (source, record id) must be unique.
    first_name, surname, dob, postcode : str or None
        Identifying fields (``None`` leaves one out; at least two are needed). ``dob`` may hold dates or text.
    other : list of str, default ()
        Further fields compared by edit distance (≤ 1, ≤ 2 characters), e.g. suburb, address line, NI number.
    exact : list of str, default ()
        Further categorical fields compared as equal or not, e.g. ``["sex"]``.
    threshold : float, optional
        Match probability at or above which two records are joined. ``None`` (not given) means 0.9.
    label : str, optional
        Column holding the true identity (test data, or a clerically reviewed sample): adds pairwise precision,
        recall and F1 to ``.metrics`` and ``.summary()``. Not used for training.
    dob_format : str, optional
        strftime format of text dates of birth. ``None``: the format in :data:`DOB_FORMATS` that parses most values
        (announced).
    backend : {"duckdb", "spark"}, optional
        Where Splink runs; ``None`` (not given) means "duckdb". ``"spark"`` needs ``spark=`` a classic SparkSession (not Spark Connect); the same model
        settings are used, with Spark's date pattern.
    spark : pyspark.sql.SparkSession, optional
        For ``backend="spark"``: started with Splink's jar (``.config("spark.jars",
        splink.backends.spark.similarity_jar_location())``) and given a checkpoint folder
        (``spark.sparkContext.setCheckpointDir(...)``), where Splink writes its intermediate tables as parquet. The
        ``__splink__`` views and folders a run creates are removed when it ends.
    max_pairs_em : float, optional
        Cap on blocked pairs in each EM training session (Splink samples records to reach it). ``None`` (not given)
        means 500,000.
    max_pairs_u : float, optional
        Random pairs sampled for the u probabilities. ``None`` (not given) means 2,000,000.
    prior_recall : float, optional
        Assumed recall of exact agreement on names and date of birth, used to estimate the prior probability that
        two random records match (Splink's deterministic-rules estimator). ``None`` (not given) means 0.7.
    memory_limit : str, optional
        DuckDB memory limit (e.g. ``"4GB"``); beyond it DuckDB spills to a private temporary folder.
    connection : DuckDB connection, optional
        The connection Splink's work tables go in (DuckDB backend), from the store:
        ``with store.linkage_connection() as con: link(..., connection=con)`` (a scratch in-memory database with the
        store's memory limit; the store file itself is never written). ``None``: one is opened for this call by
        :func:`whatworks.store.links.linkage_connection` (with ``memory_limit``) and closed after it. Cannot be
        combined with ``memory_limit`` (set the limit when the connection is made) or with the Spark backend.
    seed : int, optional
        Seed (an integer ≥ 0) of the u sampling. ``None`` (not given) means 0, so results are reproducible either way.
        ``threshold``, ``backend``, ``max_pairs_em``, ``max_pairs_u``, ``prior_recall`` and ``seed`` are recorded in
        ``.settings`` with source "user" when you pass them — even the default value, e.g. ``seed=0`` — and
        "default" when you leave them out.
    key : str or bytes, optional
        Pseudonymise ``record_id`` in ``.table`` and ``.pairs`` (HMAC-SHA256). A pseudonymised result cannot be saved
        to the store (the store keeps raw ids).
    quiet : bool, default False

    Returns
    -------
    LinkResult

    Notes
    -----
    Fellegi–Sunter: each compared field falls in a level (exact, close, …, different, missing); a pair's match weight
    is log2 of the prior odds plus Σ log2(m/u) over fields, where m = P(level | match) and u = P(level | non-match);
    match probability = 2^w / (1 + 2^w). Names use term-frequency adjustments (agreeing on a rare surname counts
    for more). u is estimated from random pairs, m by EM on blocked pairs, without labels.

    References
    ----------
    Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328), 1183–1210.
    Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at scale. *International
    Journal of Population Data Science* 7(3).

    Examples
    --------
    >>> import whatworks as ww                                                   # doctest: +SKIP
    >>> store = ww.Store("force.duckdb")                                         # doctest: +SKIP
    >>> people = ww.people.link(store.persons(), source="source_system", record_id="person_id")  # doctest: +SKIP
    >>> store.save_links(people)                                                 # doctest: +SKIP
    """
    import time

    fn = "link"
    cols = _check_columns(fn, records, source=source, record_id=record_id,
                          fields={"first_name": first_name, "surname": surname, "dob": dob, "postcode": postcode},
                          other=other, exact=exact, label=label)
    _check_tuning(fn, threshold=threshold, max_pairs_em=max_pairs_em, max_pairs_u=max_pairs_u,
                  prior_recall=prior_recall, seed=seed, backend=backend)
    opts = _resolve_tuning(threshold=threshold, backend=backend, max_pairs_em=max_pairs_em, max_pairs_u=max_pairs_u,
                           prior_recall=prior_recall, seed=seed)
    check_key(fn, key)
    _check_backend(fn, opts.backend, spark=spark, connection=connection, memory_limit=memory_limit)
    _check_rows(fn, records, cols)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared, notes = prepare_records(records, source=cols.source, record_id=cols.record_id, **cols.present,
                                      other=cols.other, exact=cols.exact, dob_format=dob_format, label=cols.label)
    settings = _base_settings(cols, opts, key)
    _record_dob_format(settings, notes, dob_format, quiet=quiet)
    rules, rule_txt = _choose_blocking(settings, set(cols.present), quiet=quiet)
    _announce_training_caps(opts, quiet=quiet)
    timings["prepare"] = round(time.perf_counter() - t0, 3)

    model, edges, clusters = _run_splink(prepared, set(cols.present), (len(cols.other), len(cols.exact)), rules, opts,
                                         spark=spark, memory_limit=memory_limit, connection=connection, timings=timings)

    t1 = time.perf_counter()
    table, comp, metrics = _record_table(prepared, clusters, edges, label=cols.label)
    pairs = _pairs_table(edges)
    if key is not None:
        table, pairs = _pseudonymise_ids(table, pairs, key)
    timings["tables"] = round(time.perf_counter() - t1, 3)
    return LinkResult(table=table, settings=settings, pairs=pairs, threshold=float(opts.threshold),
                      blocking_rules=rule_txt, n_records=len(table), n_clusters=int(comp.max() + 1) if len(comp) else 0,
                      metrics=metrics, model=model, model_version=_model_version(model, opts.threshold),
                      backend=opts.backend, pseudonymised=key is not None, timings=timings)


# ---------------------------------------------------------------------------------------------- the steps of link()


@dataclass(frozen=True)
class _LinkColumns:
    """The caller's column names for one :func:`link` call, checked against the records."""

    source: str
    record_id: str
    present: dict[str, str]      # identifying field -> column, for the fields given (at least two), in signature order
    other: list[str]             # compared by edit distance, as other_0, other_1, …
    exact: list[str]             # compared as equal or not, as exact_0, exact_1, …
    label: str | None


@dataclass(frozen=True)
class _LinkOptions:
    """The tuning options of one :func:`link` call with their defaults resolved.

    ``max_pairs_em`` and ``max_pairs_u`` are passed to Splink as the caller gave them (a float such as ``1e5`` stays
    a float); ``recorded`` holds how each option is recorded in ``.settings`` (the caps as whole numbers of pairs,
    source "user" for a value passed — even one equal to the default — and "default" for one left out).
    """

    threshold: float
    backend: str
    max_pairs_em: float
    max_pairs_u: float
    prior_recall: float
    seed: int
    recorded: dict[str, Setting]


def _check_columns(fn: str, records: Any, *, source: str, record_id: str, fields: dict[str, str | None],
                   other: Sequence[str] | None, exact: Sequence[str] | None, label: str | None) -> _LinkColumns:
    """Check that ``records`` is a DataFrame holding every named column, and that at least two identifying fields
    are given; return the column names (``None`` fields left out, ``other`` and ``exact`` as lists)."""
    require_dataframe(fn, "records", records)
    present = {k: v for k, v in fields.items() if v is not None}
    other = list(other or [])
    exact = list(exact or [])
    require_columns(fn, records, [source, record_id, *present.values(), *other, *exact, label], arg="records")
    if len(present) < 2:
        raise error(fn, "At least two identifying fields (first_name, surname, dob, postcode) are needed.",
                    got=list(present), hint="Pass the column names, e.g. first_name='forename'.")
    return _LinkColumns(source=source, record_id=record_id, present=present, other=other, exact=exact, label=label)


def _check_tuning(fn: str, *, threshold: float | None, max_pairs_em: float | None, max_pairs_u: float | None,
                  prior_recall: float | None, seed: int | None, backend: str | None) -> None:
    """Check each tuning option the caller gave (``None`` = not given, left to :func:`_resolve_tuning`)."""
    if threshold is not None:
        check_number(fn, "threshold", threshold, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_pairs_em is not None:
        check_number(fn, "max_pairs_em", max_pairs_em, low=1_000)
    if max_pairs_u is not None:
        check_number(fn, "max_pairs_u", max_pairs_u, low=1_000)
    if prior_recall is not None:
        check_number(fn, "prior_recall", prior_recall, low=0, high=1, low_inclusive=False)
    if seed is not None:
        check_number(fn, "seed", seed, low=0, integer=True)
    if backend is not None:
        check_choice(fn, "backend", backend, ("duckdb", "spark"))


def _resolve_tuning(*, threshold: float | None, backend: str | None, max_pairs_em: float | None,
                    max_pairs_u: float | None, prior_recall: float | None, seed: int | None) -> _LinkOptions:
    """Fill in the defaults of the tuning options and record where each value came from.

    None = not given: an explicit value equal to the default (threshold=0.9, seed=0 …) is still recorded as the
    user's. The caps are recorded as whole numbers of pairs and passed to Splink as given.
    """
    recorded: dict[str, Setting] = {}
    threshold = given_or_default(recorded, "threshold", threshold, DEFAULT_THRESHOLD,
                                 reason="match probability at or above which two records are joined")
    backend = given_or_default(recorded, "backend", backend, DEFAULT_BACKEND, reason="where Splink runs")
    em = given_or_default(recorded, "max_pairs_em", None if max_pairs_em is None else int(max_pairs_em),
                          DEFAULT_MAX_PAIRS_EM, reason="cap on blocked pairs per EM session", unit="pairs")
    u = given_or_default(recorded, "max_pairs_u", None if max_pairs_u is None else int(max_pairs_u),
                         DEFAULT_MAX_PAIRS_U, reason="random pairs for u", unit="pairs")
    prior_recall = given_or_default(recorded, "prior_recall", prior_recall, DEFAULT_PRIOR_RECALL,
                                    reason="assumed recall of exact names + date of birth")
    seed = int(given_or_default(recorded, "seed", None if seed is None else int(seed), DEFAULT_SEED,
                                reason="seed of the u sampling"))
    return _LinkOptions(threshold=threshold, backend=backend, max_pairs_em=em if max_pairs_em is None else max_pairs_em,
                        max_pairs_u=u if max_pairs_u is None else max_pairs_u, prior_recall=prior_recall, seed=seed,
                        recorded=recorded)


def _check_backend(fn: str, backend: str, *, spark: Any, connection: Any, memory_limit: str | None) -> None:
    """Check the resources for the chosen backend: a usable SparkSession for "spark"; for a DuckDB ``connection``
    handed in, that it is one, on the DuckDB backend, without ``memory_limit`` (set where the connection is made)."""
    if backend == "spark":
        _check_spark_session(fn, spark)
    if connection is not None:
        if backend == "spark":
            raise error(fn, "connection= is a DuckDB connection, but backend='spark' runs Splink on the SparkSession.",
                        hint="Leave connection out with backend='spark'.")
        if memory_limit is not None:
            raise error(fn, "memory_limit= cannot be set on a connection that is handed in.", got=memory_limit,
                        hint="Set it where the connection is made: store.linkage_connection(memory_limit='4GB').")
        if not callable(getattr(connection, "execute", None)):
            raise error(fn, "The 'connection' parameter must be a DuckDB connection.", got=type(connection).__name__,
                        hint="with store.linkage_connection() as con: link(..., connection=con)")


def _check_rows(fn: str, records: pd.DataFrame, cols: _LinkColumns) -> None:
    """Check the rows: at least two; every record has its source and id, and (source, id) is unique; every record
    has a label when a label column is given. Errors name the first offending row."""
    if len(records) < 2:
        raise error(fn, "At least two records are needed to link.", got=len(records))
    source, record_id, label = cols.source, cols.record_id, cols.label
    for c in (source, record_id):
        bad = records[c].isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise error(fn, f"Column '{c}' has missing values.", row=f"position {i} (index {records.index[i]!r})",
                        hint="Every record needs its source and id.")
    dup = records.duplicated([source, record_id]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise error(fn, f"(source, record id) must be unique; ({records[source].iloc[i]!r}, {records[record_id].iloc[i]!r}) "
                        "appears twice.", row=f"position {i} (index {records.index[i]!r})",
                    hint="Keep one record per id (e.g. the latest), or make the ids unique.")
    if label is not None and records[label].isna().any():
        i = int(np.flatnonzero(records[label].isna().to_numpy())[0])
        raise error(fn, f"Label column '{label}' has missing values.", row=f"position {i}",
                    hint="Give every record its true identity, or leave label=None.")


def _base_settings(cols: _LinkColumns, opts: _LinkOptions, key: str | bytes | None) -> dict[str, Setting]:
    """``.settings`` before the data-driven choices: threshold, fields, backend, the caps, prior recall, seed and
    whether ids are pseudonymised, in that order."""
    fields = {**cols.present, **({"other": cols.other} if cols.other else {}), **({"exact": cols.exact} if cols.exact else {})}
    return {
        "threshold": opts.recorded["threshold"],
        "fields": Setting(fields, "user"),
        **{k: opts.recorded[k] for k in ("backend", "max_pairs_em", "max_pairs_u", "prior_recall", "seed")},
        "pseudonymised": Setting(key is not None, "user", "HMAC-SHA256 with the caller's key (not stored)"
                                 if key is not None else "no key given: raw ids in .table"),
    }


def _record_dob_format(settings: dict[str, Setting], notes: dict, dob_format: str | None, *, quiet: bool) -> None:
    """Record (in ``settings``) the date-of-birth format :func:`prepare_records` used and how many dates it could
    not read; announce a format chosen from the data, and any unread dates."""
    if "dob_format" not in notes:
        return
    fmt, why = notes["dob_format"]
    src = "user" if dob_format is not None else "data"
    settings["dob_format"] = Setting(fmt, src, why)
    if src == "data" and fmt != "date values":
        announce(f"date of birth format set to {fmt} ({why}).", quiet=quiet)
    if notes.get("dob_unparsed"):
        settings["dob_unparsed"] = Setting(notes["dob_unparsed"], "data", "dates of birth that could not be read; "
                                           "treated as missing")
        announce(f"{notes['dob_unparsed']:,} dates of birth could not be read as {fmt}; treated as missing.", quiet=quiet)


def _choose_blocking(settings: dict[str, Setting], fields: set[str], *,
                     quiet: bool) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """The blocking rules for the fields present (:func:`blocking_rules_for`) and their wording, recorded in
    ``settings`` and announced."""
    rules = blocking_rules_for(fields)
    rule_txt = tuple(" and ".join(f"same {_RULE_WORDS.get(r, r)}" for r in rule) for rule in rules)
    settings["blocking_rules"] = Setting(list(rule_txt), "data", "chosen from the fields present")
    announce("blocking rules set to: " + "; ".join(rule_txt) + " (chosen from the fields present).", quiet=quiet)
    return rules, rule_txt


def _announce_training_caps(opts: _LinkOptions, *, quiet: bool) -> None:
    """Announce the caps on the pairs used to train the model."""
    announce(f"EM training capped at {int(opts.max_pairs_em):,} pairs per session; u from {int(opts.max_pairs_u):,} "
             "random pairs.", quiet=quiet)


def _record_table(prepared: pd.DataFrame, clusters: pd.DataFrame, edges: pd.DataFrame, *,
                  label: str | None) -> tuple[pd.DataFrame, np.ndarray, dict | None]:
    """``.table`` (one row per record: cluster, its size and sources, the record's strongest link), the cluster
    number of each record, and the pairwise metrics against the labels (None without a label column)."""
    comp = _number_clusters(prepared, clusters)
    table = prepared[["source", "record_id"]].copy()
    table["cluster_id"] = pd.Series(comp).map(lambda v: f"L{v + 1:07d}").to_numpy()
    table["cluster_size"] = table.groupby("cluster_id")["record_id"].transform("size").to_numpy()
    table["sources_in_cluster"] = table.groupby("cluster_id")["source"].transform("nunique").to_numpy()
    best = pd.concat([edges[["unique_id_l", "match_weight", "match_probability"]].rename(columns={"unique_id_l": "u"}),
                      edges[["unique_id_r", "match_weight", "match_probability"]].rename(columns={"unique_id_r": "u"})])
    best = best.groupby("u").max()
    table["best_match_weight"] = best["match_weight"].reindex(prepared["unique_id"].to_numpy()).to_numpy()
    table["best_match_probability"] = best["match_probability"].reindex(prepared["unique_id"].to_numpy()).to_numpy()
    metrics = None
    if label is not None:
        table["label"] = prepared["label"].to_numpy()
        metrics = pairwise_metrics(table["cluster_id"], table["label"])
    return table, comp, metrics


def _pairs_table(edges: pd.DataFrame) -> pd.DataFrame:
    """``.pairs``: the scored pairs at or above the threshold, with each side's source and record id split out of
    Splink's ``unique_id``."""
    split = edges["unique_id_l"].str.split("\x1f", n=1, expand=True) if len(edges) else pd.DataFrame(columns=[0, 1])
    split_r = edges["unique_id_r"].str.split("\x1f", n=1, expand=True) if len(edges) else pd.DataFrame(columns=[0, 1])
    return pd.DataFrame({"source_l": split[0].to_numpy(), "record_id_l": split[1].to_numpy(),
                         "source_r": split_r[0].to_numpy(), "record_id_r": split_r[1].to_numpy(),
                         "match_weight": edges["match_weight"].to_numpy(float),
                         "match_probability": edges["match_probability"].to_numpy(float)})


def _pseudonymise_ids(table: pd.DataFrame, pairs: pd.DataFrame, key: str | bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace the record ids in ``table`` and ``pairs`` (in place, and returned) by HMAC-SHA256 pseudonyms."""
    from whatworks.privacy import pseudonymise

    table["record_id"] = pseudonymise(table["record_id"], key).to_numpy()
    pairs["record_id_l"] = pseudonymise(pairs["record_id_l"], key).to_numpy()
    pairs["record_id_r"] = pseudonymise(pairs["record_id_r"], key).to_numpy()
    return table, pairs


def _model_version(model: dict, threshold: float) -> str:
    """Splink's version, the threshold and a digest identifying the trained parameters (Splink's random per-run
    linker uid left out)."""
    import splink

    stable = {k: v for k, v in model.items() if k != "linker_uid"}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"splink {splink.__version__}; threshold {threshold:g}; model {digest}"


# ---------------------------------------------------------------------------------------------- Splink


def _run_splink(prepared: pd.DataFrame, cols: set[str], n_other: tuple[int, int], rules: list[tuple[str, ...]],
                opts: _LinkOptions, *, spark: Any, memory_limit: str | None, timings: dict,
                connection: Any = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Train the model, score the blocked pairs, cluster them (connected components at the threshold) and return
    (model dict, pairs at or above the threshold, unique_id -> cluster_id)."""
    import time

    from splink import Linker

    threshold = opts.threshold
    splink_input = prepared.drop(columns=[c for c in ("source", "record_id", "label") if c in prepared.columns])
    with contextlib.ExitStack() as stack:
        stack.enter_context(_splink_logging())
        db_api = _open_db_api(stack, opts.backend, spark=spark, memory_limit=memory_limit, connection=connection)
        t = time.perf_counter()
        sdf = db_api.register(splink_input)
        linker = Linker(sdf, _settings(cols, n_other, opts.backend, rules), log_level=None)
        _train(linker, cols, opts)
        timings["train"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        pred = linker.inference.predict(threshold_match_probability=threshold)
        edges = pred.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_weight", "match_probability"]]
        edges = edges[edges["match_probability"] >= threshold].reset_index(drop=True)
        timings["predict"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            pred, threshold_match_probability=threshold).as_pandas_dataframe()[["unique_id", "cluster_id"]]
        timings["cluster"] = round(time.perf_counter() - t, 3)
        model = linker.misc.save_model_to_json()
    return model, edges, clusters


def _open_db_api(stack: contextlib.ExitStack, backend: str, *, spark: Any, memory_limit: str | None, connection: Any):
    """Splink's database API for the backend, with its clean-up on ``stack``: DuckDB on the connection handed in or a
    scratch one from the store (closed with the stack); Spark on the caller's session (its ``__splink__`` leftovers
    dropped with the stack, as the session outlives this call)."""
    if backend == "duckdb":
        from splink import DuckDBAPI

        if connection is None:
            # the store owns every database connection (DESIGN.md): a scratch in-memory one, settings quoted
            from whatworks.store.links import linkage_connection

            con = stack.enter_context(linkage_connection(memory_limit=memory_limit))
        else:
            con = connection
        return DuckDBAPI(con)
    db_api = _spark_api(spark)
    stack.callback(_spark_leftovers(spark))   # the caller's session outlives this call
    return db_api


def _train(linker: Any, cols: set[str], opts: _LinkOptions) -> None:
    """Train the model without labels: the prior from the exact names + date-of-birth rule at the assumed recall,
    u from random pairs, m by EM on at most two blocked sessions (date of birth, postcode, surname: the first two
    present)."""
    from splink import block_on

    deterministic = [c for c in ("first_name", "surname", "dob") if c in cols]
    try:
        linker.training.estimate_probability_two_random_records_match([block_on(*deterministic)],
                                                                      recall=opts.prior_recall)
    except ValueError as exc:
        raise error("link", f"Could not estimate the prior match probability: {exc}",
                    hint="Raise prior_recall, or check the identifying fields are filled in.") from exc
    linker.training.estimate_u_using_random_sampling(max_pairs=opts.max_pairs_u, seed=opts.seed)
    em_rules = [r for r in (("dob",), ("postcode",), ("surname",)) if r[0] in cols][:2]
    for r in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*r), max_pairs=opts.max_pairs_em)
