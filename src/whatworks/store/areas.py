"""Areas and populations: load an ONS-style area lookup into ``areas`` / ``area_covariates``, and read it back.

Two file shapes are accepted (recognised by their header; names match ignoring case, spaces and punctuation):

**Long form** — one row per area, any number of levels in one file::

    code,name,level,parent_code,population,imd_score,density
    E01011229,Leeds 001A,lsoa,E05011400,1630,12.5,4100
    E05011400,Adel & Wharfedale,ward,E08000035,,,
    E08000035,Leeds,lad,E23000010,812000,,
    E23000010,West Yorkshire,force,,,,

``code`` and ``level`` are required; ``name``, ``parent_code`` and ``population`` are optional columns. Every
other column is a covariate (deprivation, density …) and goes to ``area_covariates`` (one row per area ×
covariate). A column whose non-blank values are mostly not numbers (say a region name) is not a covariate: it is
left out and the file's outcome message says so.

**Wide form** — one row per small area with its ward, local authority (and optionally force) on the same row,
as ONS lookup files are published::

    lsoa_code,lsoa_name,ward_code,ward_name,lad_code,lad_name,population,imd_score
    E01011229,Leeds 001A,E05011400,Adel & Wharfedale,E08000035,Leeds,1630,12.5

Level columns are ``<level>_code`` / ``<level>_name`` for the levels oa, lsoa, msoa, ward, lad, utla, csp,
force (``pfa`` and ``police_force`` mean force), or ONS's own headers such as ``LSOA21CD``, ``LSOA21NM``,
``WD23CD``, ``LAD23CD``, ``PFA23NM``. Each level present nests in the next one present, in that order (so a
file may not hold both msoa and ward: they do not nest). ``population`` and covariates belong to the smallest
level; higher levels get no population of their own (:func:`area_table` adds up their small areas).

Row rules (a failing row goes to the quarantine with every reason that applies, its file and row number):

* ``code`` (long) / the smallest level's code (wide) must be present; long-form rows need a ``level``;
* ``population`` must be blank or a non-negative number; a covariate value must be blank or a number;
* ``parent_code`` must name an area in the same file or already in the store (a row whose parent was itself
  quarantined is quarantined too, naming it); an area may not be its own parent;
* wide form: a ward (or any higher area) must have the same name and parent on every row that mentions it.

A code repeated within the file is a duplicate (kept in the quarantine under ``duplicate`` with where the first
copy is). A code already in the store is **replaced** by the new row, with its covariates: a newer lookup
supersedes an older one. Each file loads in one transaction, and the same bytes are never loaded twice.

Replaced rows are deleted, not kept, so a file that replaced areas cannot simply be unloaded: that would leave those
codes with no row at all. The load notes which earlier batches it replaced rows of (in the store's ``meta`` table,
key ``areas_replaced_by_batch:<batch>``), and :meth:`whatworks.Store.unload` refuses such a batch while those
earlier batches are still in the store (:func:`check_unload`), saying what to do instead: unload the earlier batch,
then this one, and ingest the earlier file again.

**Covariates roll up** (issue 11). A covariate given for small areas is also known for the areas containing them:
:func:`rolled_up_covariates` (``store.area_covariates(level)``) sums a **count** and takes the population-weighted
mean Σ popᵢ·valueᵢ / Σ popᵢ of a **mean** (a rate, share, density or score), from the smallest areas up; a value
given for an area itself is kept, and each small area counts once, through the nearest area above it whose value is
given. A roll-up needs every area inside to have a value and, for a mean, a population — otherwise the value is
missing and the read says why (never an unweighted mean, never a partial sum). Each covariate's kind is fixed at
ingest, first that applies: ``covariate_kinds={"households": "count"}``; a kind in the header
(``households [count]``, ``imd_score (mean)``); its name (:func:`kind_by_name`: a count when it starts with ``n_`` or
ends with ``_count``, ``_n``, ``_total``, ``households`` or ``dwellings``; otherwise a mean — announced). Kinds are
kept in the ``area_covariate_kinds`` table (created at ingest), one row per covariate and batch; the latest batch
still holding values of a covariate says its kind.

Without any lookup, police.uk LSOA names still give the local authority: "Leeds 001A" is small area 001A of
Leeds. :func:`district_from_lsoa_name` does that for a Series, and :func:`ancestors` uses it for every small
area in ``events`` that the ``areas`` table does not know (level ``district``, code = the district's name).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from whatworks._announce import announce
from whatworks.errors import IngestError, WhatworksError, error
from whatworks.store import _batch, _csv
from whatworks.store._sources import Source, find_sources, ignored_files
from whatworks.store.limits import DEFAULT_LIMITS, Limits, resolve
from whatworks.store._sql import run
from whatworks.store.ingest_report import FileOutcome, IngestReport

FORMAT = "areas"
LONG_COLUMNS = ("code", "name", "level", "parent_code", "population")
# Wide-form levels, smallest first; each level present nests in the next one present.
WIDE_LEVELS = ("oa", "lsoa", "msoa", "ward", "lad", "utla", "csp", "force")
_LEVEL_ALIASES = {"wd": "ward", "ltla": "lad", "pfa": "force", "police_force": "force", "la": "lad", "cty": "utla"}
_ONS_HEADER = re.compile(r"^(oa|lsoa|msoa|wd|ward|lad|ltla|utla|cty|csp|pfa)\d{2}(cd|nm)$")
_WIDE_HEADER = re.compile(r"^(oa|lsoa|msoa|wd|ward|lad|ltla|la|utla|cty|csp|pfa|police_force|force)_(code|name)$")
# police.uk / ONS LSOA names: "<local authority name> <3-digit MSOA number><letter>", e.g. "Leeds 001A".
LSOA_NAME_PATTERN = r"^(.*\S)\s+[0-9]{3}[A-Z]$"
DERIVED_LEVEL = "district"
MAX_DEPTH = 20          # deepest hierarchy followed (a guard against parent cycles)
COVARIATE_MIN_NUMERIC = 0.5  # a column is a covariate when at least half its non-blank values are numbers
# How a covariate rolls up from small areas to the areas containing them: a count is summed; a mean (a rate, share,
# density, score) is averaged weighting each smaller area by its population.
COVARIATE_KINDS = ("count", "mean")
# The kind a covariate gets when neither its header ("households [count]") nor covariate_kinds= says: a count when its
# name starts with n_ or ends with one of these, a mean otherwise.
COUNT_PREFIXES = ("n_",)
COUNT_SUFFIXES = ("_count", "_n", "_total", "households", "dwellings")
_HEADER_KIND = re.compile(r"^(.*\S)\s*[\[(]\s*(count|mean)\s*[\])]$", re.IGNORECASE)
KINDS_TABLE = "area_covariate_kinds"
KINDS_DDL = f"""
    CREATE TABLE IF NOT EXISTS {KINDS_TABLE} (  -- how each covariate rolls up, as declared by the batch that loaded it
      covariate VARCHAR NOT NULL, kind VARCHAR NOT NULL, reason VARCHAR, batch_id INTEGER
    )"""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def district_from_lsoa_name(names) -> pd.Series:
    """The local authority (district) named in police.uk / ONS LSOA names: "Leeds 001A" → "Leeds".

    Names that do not follow the pattern ``<district> <three digits><letter>`` give a missing value.

    Parameters
    ----------
    names : Series or list of str

    Returns
    -------
    pandas.Series of str (missing where the name does not follow the pattern)

    Examples
    --------
    >>> district_from_lsoa_name(["Leeds 001A", "Bradford 063D", "City of London 001F", "oops"]).tolist()
    ['Leeds', 'Bradford', 'City of London', nan]
    """
    s = pd.Series(names, dtype=object)
    return s.str.extract(LSOA_NAME_PATTERN, expand=False)


# ---------------------------------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class _Shape:
    kind: str                         # "long" | "wide"
    fields: list[str]                 # canonical field name per file column, in file order
    levels: tuple[str, ...] = ()      # wide: levels present, smallest first
    covariates: tuple[str, ...] = ()  # candidate covariate fields
    declared: tuple[tuple[str, str], ...] = ()   # (field, kind) declared in the header: "households [count]"


def _declared_kinds(header: list[str]) -> tuple[list[str], dict[str, str]]:
    """Strip kind annotations from header names: ``"households [count]"`` → (``"households"``, count)."""
    names, kinds = [], {}
    for h in header:
        m = _HEADER_KIND.match(h.strip())
        if m:
            names.append(m.group(1))
            kinds[_norm(m.group(1))] = m.group(2).lower()
        else:
            names.append(h)
    return names, kinds


def _shape(header: list[str], source: str) -> _Shape:
    header, declared = _declared_kinds(header)
    norm = [_norm(h) for h in header]
    fields: list[str] = []
    levels: list[str] = []
    for raw, h in zip(header, norm):
        m = _ONS_HEADER.match(h)
        w = _WIDE_HEADER.match(h)
        if m:
            lvl, part = _LEVEL_ALIASES.get(m.group(1), m.group(1)), "code" if m.group(2) == "cd" else "name"
        elif w:
            lvl, part = _LEVEL_ALIASES.get(w.group(1), w.group(1)), w.group(2)
        else:
            fields.append(h)
            continue
        fields.append(f"{lvl}_{part}")
        if lvl not in levels:
            levels.append(lvl)
    dup = sorted({f for f in fields if fields.count(f) > 1})
    if dup:
        raise IngestError(f"ingest_areas(): {source} has the column(s) {dup} more than once (after normalising names). "
                          "Nothing was loaded. Hint: rename or drop the repeated columns.")
    if "code" in fields:
        if "level" not in fields:
            raise IngestError(f"ingest_areas(): {source} has a 'code' column but no 'level' column. Expected the long form "
                              "(code, name, level, parent_code, population, covariates…) or the wide form (lsoa_code, "
                              "lsoa_name, ward_code, …). Nothing was loaded. Hint: add a 'level' column (lsoa, ward, lad, force …).")
        cov = tuple(f for f in fields if f not in LONG_COLUMNS)
        return _Shape("long", fields, (), cov, tuple(declared.items()))
    if not levels:
        raise IngestError(f"ingest_areas(): {source} is not an area lookup: its header is {header[:20]!r}. Expected the long "
                          "form (code, name, level, parent_code, population, covariates…) or the wide form (lsoa_code, "
                          "lsoa_name, ward_code, ward_name, lad_code, lad_name, population, covariates…). Nothing was loaded.")
    ordered = tuple(lv for lv in WIDE_LEVELS if lv in levels)
    if "msoa" in ordered and "ward" in ordered:
        raise IngestError(f"ingest_areas(): {source} holds both MSOA and ward columns; they do not nest in each other, so "
                          "whatworks cannot tell which is the parent. Nothing was loaded. Hint: load two files, one "
                          "small area → MSOA and one small area → ward → local authority.")
    missing = [f"{lv}_code" for lv in ordered if f"{lv}_code" not in fields]
    if missing:
        raise IngestError(f"ingest_areas(): {source} has name columns without their code columns {missing}. Nothing was loaded.")
    level_fields = {f"{lv}_{p}" for lv in ordered for p in ("code", "name")}
    cov = tuple(f for f in fields if f not in level_fields and f != "population")
    return _Shape("wide", fields, ordered, cov, tuple(declared.items()))


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _choose_covariates(df: pd.DataFrame, candidates, chosen) -> tuple[list[str], list[str]]:
    """(covariate fields, fields left out as text)."""
    if chosen is not None:
        chosen = [_norm(c) for c in chosen]
        unknown = [c for c in chosen if c not in candidates]
        if unknown:
            raise IngestError(f"ingest_areas(): covariate column(s) {unknown} are not in the file. "
                              f"Expected some of {list(candidates)}. Nothing was loaded.")
        return chosen, [c for c in candidates if c not in chosen]
    keep, text = [], []
    for c in candidates:
        v = df[c].dropna()
        share = float(_numeric(v).notna().mean()) if len(v) else 1.0
        (keep if share >= COVARIATE_MIN_NUMERIC else text).append(c)
    return keep, text


def kind_by_name(covariate: str) -> str:
    """The kind a covariate gets from its name alone: ``"count"`` (summed when rolled up) when the name starts with
    ``n_`` or ends with ``_count``, ``_n``, ``_total``, ``households`` or ``dwellings``; ``"mean"`` otherwise.

    >>> kind_by_name("households"), kind_by_name("burglary_count"), kind_by_name("imd_score")
    ('count', 'count', 'mean')
    """
    c = _norm(covariate)
    return "count" if c.startswith(COUNT_PREFIXES) or c.endswith(COUNT_SUFFIXES) else "mean"


_NAME_RULE = ("by its name (a count when the name starts with n_ or ends with _count, _n, _total, households or "
              "dwellings; otherwise a mean)")


def choose_covariate_kinds(covariates: list[str], declared: dict[str, str], given: dict | None, *,
                           source: str, quiet: bool = False) -> dict[str, tuple[str, str]]:
    """{covariate: (kind, reason)}: from ``covariate_kinds=``, else the file's header, else the name (announced)."""
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise IngestError(f"ingest_areas(): The 'covariate_kinds' argument must be a dict {{covariate: 'count' | 'mean'}}. "
                          f"Got {type(given).__name__!r} instead. Nothing was loaded.")
    given = {_norm(str(k)): v for k, v in given.items()}
    bad = [(k, v) for k, v in given.items() if v not in COVARIATE_KINDS]
    if bad:
        raise IngestError(f"ingest_areas(): covariate_kinds must map each covariate to one of {list(COVARIATE_KINDS)}. "
                          f"Got {bad[0][1]!r} for {bad[0][0]!r} instead. Nothing was loaded. Hint: 'count' for numbers "
                          "of people, households or events (summed); 'mean' for rates, shares, densities and scores "
                          "(population-weighted mean).")
    unknown = [k for k in given if k not in covariates]
    if unknown:
        raise IngestError(f"ingest_areas(): covariate_kinds names {unknown}, which are not covariates of {source}. "
                          f"Expected some of {list(covariates)}. Nothing was loaded.")
    out, named = {}, []
    for c in covariates:
        if c in given:
            out[c] = (given[c], "given in covariate_kinds")
        elif c in declared:
            out[c] = (declared[c], "declared in the file's header")
        else:
            out[c] = (kind_by_name(c), _NAME_RULE)
            named.append(c)
    if named:
        listing = ", ".join(f"{c} {out[c][0]}" for c in named)
        announce(f"covariate kinds set to {listing} ({_NAME_RULE}; counts are summed and means population-weighted "
                 f"when rolled up to larger areas; say otherwise with a header such as 'households [count]' or "
                 f"covariate_kinds=).", quiet=quiet)
    return out


def _reasons(parts: list[pd.Series], index) -> pd.Series:
    """Join per-rule reason Series (None where the rule passes) with '; '."""
    out = pd.Series([None] * len(index), index=index, dtype=object)
    for p in parts:
        p = p.reindex(index)
        has = p.notna()
        out = out.where(~has, np.where(out.notna(), out.astype(str) + "; " + p.astype(str), p))
    return out


def _rows_long(df: pd.DataFrame, covs: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Area rows (one per file row) and per-row reasons for the row-level rules."""
    idx = df.index
    code = df["code"]
    level = df["level"].str.lower() if "level" in df else pd.Series(None, index=idx, dtype=object)
    pop_raw = df["population"] if "population" in df else pd.Series(None, index=idx, dtype=object)
    pop = _numeric(pop_raw)
    parent = df["parent_code"] if "parent_code" in df else pd.Series(None, index=idx, dtype=object)
    rules = [
        code.isna().map({True: "missing code", False: None}),
        level.isna().map({True: "missing level", False: None}),
        pd.Series(np.where(pop_raw.notna() & pop.isna(), "non-numeric population", None), index=idx),
        pd.Series(np.where(pop < 0, "negative population", None), index=idx),
        pd.Series(np.where(code.notna() & (parent == code), "area is its own parent", None), index=idx),
    ]
    for c in covs:
        bad = df[c].notna() & _numeric(df[c]).isna()
        rules.append(pd.Series(np.where(bad, f"non-numeric value in covariate '{c}'", None), index=idx))
    rows = pd.DataFrame({"source_row": df["source_row"], "code": code, "name": df.get("name"), "level": level,
                         "parent_code": parent, "population": pop})
    return rows, _reasons(rules, idx)


def _rows_wide(df: pd.DataFrame, levels: tuple[str, ...], covs: list[str]) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """(small-area rows, per-row reasons, higher-level area rows with their first row and conflicts)."""
    idx = df.index
    small = levels[0]
    code = df[f"{small}_code"]
    pop_raw = df["population"] if "population" in df else pd.Series(None, index=idx, dtype=object)
    pop = _numeric(pop_raw)
    rules = [
        code.isna().map({True: f"missing {small}_code", False: None}),
        pd.Series(np.where(pop_raw.notna() & pop.isna(), "non-numeric population", None), index=idx),
        pd.Series(np.where(pop < 0, "negative population", None), index=idx),
    ]
    for c in covs:
        bad = df[c].notna() & _numeric(df[c]).isna()
        rules.append(pd.Series(np.where(bad, f"non-numeric value in covariate '{c}'", None), index=idx))
    parent_of_small = df[f"{levels[1]}_code"] if len(levels) > 1 else pd.Series(None, index=idx, dtype=object)
    for upper in levels[1:]:
        rules.append(df[f"{upper}_code"].isna().map({True: f"missing {upper}_code", False: None}))
    # higher levels: the same area must have the same name and parent on every row
    for i, lv in enumerate(levels[1:], start=1):
        c = df[f"{lv}_code"]
        name = df[f"{lv}_name"] if f"{lv}_name" in df else pd.Series(None, index=idx, dtype=object)
        parent = df[f"{levels[i + 1]}_code"] if i + 1 < len(levels) else pd.Series(None, index=idx, dtype=object)
        sig = name.fillna("\x00") + "\x01" + parent.fillna("\x00")
        first = pd.DataFrame({"c": c, "sig": sig, "row": df["source_row"], "name": name, "parent": parent})
        first = first[c.notna()]
        head = first.drop_duplicates("c")
        ref = first.merge(head[["c", "sig", "row", "name", "parent"]], on="c", suffixes=("", "_first"), how="left")
        ref.index = first.index
        conflict = ref["sig"] != ref["sig_first"]
        msg = pd.Series(None, index=idx, dtype=object)
        msg[ref.index[conflict]] = [
            f"{lv} '{r.c}' has name {r.name_first!r} and parent {r.parent_first!r} on row {r.row_first} "
            f"but name {r.name!r} and parent {r.parent!r} here" for r in ref[conflict].itertuples()]
        rules.append(msg)
    rows = pd.DataFrame({"source_row": df["source_row"], "code": code,
                         "name": df[f"{small}_name"] if f"{small}_name" in df else None, "level": small,
                         "parent_code": parent_of_small, "population": pop})
    return rows, _reasons(rules, idx), df


def _uppers(df: pd.DataFrame, levels: tuple[str, ...], ok: np.ndarray) -> pd.DataFrame:
    """Higher-level area rows from the valid wide rows (first row that names each)."""
    parts = []
    sub = df[ok]
    for i, lv in enumerate(levels[1:], start=1):
        parent = sub[f"{levels[i + 1]}_code"] if i + 1 < len(levels) else None
        t = pd.DataFrame({"code": sub[f"{lv}_code"], "name": sub[f"{lv}_name"] if f"{lv}_name" in sub else None,
                          "level": lv, "parent_code": parent, "population": np.nan})
        parts.append(t.drop_duplicates("code"))
    if not parts:
        return pd.DataFrame(columns=["code", "name", "level", "parent_code", "population"])
    return pd.concat(parts, ignore_index=True)


def _parents(rows: pd.DataFrame, reasons: pd.Series, store_codes: set[str]) -> pd.Series:
    """Add the parent rule: a parent must be in the file (and loaded) or in the store. Cascades to the children of
    quarantined areas, naming the quarantined parent and its row."""
    reasons = reasons.copy()
    row_of = dict(zip(rows["code"], rows["source_row"]))
    for _ in range(MAX_DEPTH + 1):
        valid = reasons.isna()
        ok_codes = set(rows.loc[valid, "code"].dropna()) | store_codes
        p = rows["parent_code"]
        bad = valid & p.notna() & ~p.isin(ok_codes)
        if not bad.any():
            break
        for i in rows.index[bad]:
            par = rows.at[i, "parent_code"]
            if par in row_of:
                reasons.at[i] = f"parent_code {par!r} is quarantined (row {row_of[par]})"
            else:
                reasons.at[i] = f"unknown parent_code {par!r} (not in this file or the store)"
    return reasons


def _load_frame(con, source_name: str, df: pd.DataFrame, shape: _Shape, checksum: str, covariates,
                version: str, covariate_kinds=None, quiet: bool = False) -> FileOutcome:
    """Validate ``df`` (all strings, blanks as None, with ``source_row``) and load it; ``_rejects`` already holds
    the rows that could not be split."""
    covs, text = _choose_covariates(df, shape.covariates, covariates)
    kinds = choose_covariate_kinds(covs, dict(shape.declared), covariate_kinds, source=source_name, quiet=quiet)
    store_codes = {r[0] for r in con.execute("SELECT DISTINCT code FROM areas").fetchall()}
    if shape.kind == "long":
        rows, reasons = _rows_long(df, covs)
        uppers = None
    else:
        rows, reasons, _ = _rows_wide(df, shape.levels, covs)
    # duplicates (same code earlier in the file, among rows without row-level problems)
    valid = reasons.isna()
    first_row = rows[valid].groupby("code")["source_row"].transform("min")
    dup = pd.Series(False, index=rows.index)
    dup[first_row.index] = rows.loc[first_row.index, "source_row"] != first_row
    dup_first = first_row[dup[first_row.index]]
    if shape.kind == "long":
        reasons = _parents(rows.assign(_dup=dup)[~dup], reasons[~dup], store_codes).reindex(rows.index)
        reasons[dup] = None
    else:
        ok = (reasons.isna() & ~dup).to_numpy()
        uppers = _uppers(df, shape.levels, ok)
    ok = (reasons.isna() & ~dup).to_numpy()
    batch_id = _batch.next_batch_id(con)
    with _batch.transaction(con):
        _batch.quarantine_rejects(con, batch_id, source_name)
        raw_cols = [c for c in df.columns if c != "source_row"]
        raw = df[raw_cols].apply(lambda r: r.dropna().to_json(), axis=1) if len(df) else pd.Series([], dtype=object)
        q_bad = pd.DataFrame({"source_row": rows["source_row"][reasons.notna()], "category": "invalid",
                              "reason": reasons[reasons.notna()], "raw": raw[reasons.notna()]})
        q_dup = pd.DataFrame({"source_row": rows["source_row"][dup], "category": "duplicate",
                              "reason": "code repeated within the file", "raw":
                              [f'{{"first_copy": "row {int(f)}", "row": {r}}}' for f, r in zip(dup_first, raw[dup])]})
        q = pd.concat([q_bad, q_dup], ignore_index=True)
        if len(q):
            _insert(con, "quarantine area rows", "quarantine", pa.table({
                "batch_id": pa.array([batch_id] * len(q), pa.int32()), "source_file": pa.array([source_name] * len(q)),
                "source_row": pa.array(q["source_row"].astype("int64")), "category": pa.array(q["category"].tolist()),
                "reason": pa.array(q["reason"].astype(str).tolist()), "raw": pa.array(q["raw"].astype(str).tolist())}))
        load = rows[ok]
        if uppers is not None:
            # higher areas come from the valid rows; their parents are checked against the file and the store
            load = pd.concat([load.drop(columns="source_row"), uppers], ignore_index=True)
        else:
            load = load.drop(columns="source_row")
        load = load.reset_index(drop=True)
        codes = load["code"].tolist()
        replaced = sorted(set(codes) & store_codes)
        if codes:
            con.register("_area_codes", pa.table({"code": pa.array(codes, pa.string())}))
            try:
                _note_replaced(con, batch_id)
                run(con, "replace areas", "DELETE FROM areas WHERE code IN (SELECT code FROM _area_codes)")
                run(con, "replace covariates", "DELETE FROM area_covariates WHERE code IN (SELECT code FROM _area_codes)")
            finally:
                con.unregister("_area_codes")
            _insert(con, "insert areas", "areas", pa.table({
                "code": pa.array(load["code"].astype(str).tolist()),
                "name": pa.array([None if pd.isna(v) else str(v) for v in load["name"]], pa.string()),
                "level": pa.array(load["level"].astype(str).tolist()),
                "parent_code": pa.array([None if pd.isna(v) else str(v) for v in load["parent_code"]], pa.string()),
                "population": pa.array(load["population"].astype(float).tolist(), pa.float64()),
                "batch_id": pa.array([batch_id] * len(load), pa.int32())}))
        if covs and ok.any():
            sub = df[ok]
            small = sub["code"] if shape.kind == "long" else sub[f"{shape.levels[0]}_code"]
            long = pd.DataFrame({"code": np.repeat(small.to_numpy(), len(covs)),
                                 "covariate": np.tile(np.array(covs, dtype=object), len(sub)),
                                 "value": _numeric(pd.Series(sub[covs].to_numpy().ravel())).to_numpy()})
            long = long[long["value"].notna()]
            if len(long):
                _insert(con, "insert covariates", "area_covariates", pa.table({
                    "code": pa.array(long["code"].astype(str).tolist()), "covariate": pa.array(long["covariate"].tolist()),
                    "value": pa.array(long["value"].astype(float).tolist(), pa.float64()),
                    "batch_id": pa.array([batch_id] * len(long), pa.int32())}))
        if covs:
            run(con, "create covariate kinds", KINDS_DDL)
            _insert(con, "record covariate kinds", KINDS_TABLE, pa.table({
                "covariate": pa.array(covs, pa.string()), "kind": pa.array([kinds[c][0] for c in covs], pa.string()),
                "reason": pa.array([kinds[c][1] for c in covs], pa.string()),
                "batch_id": pa.array([batch_id] * len(covs), pa.int32())}))
        n_read = len(df) + int(con.execute("SELECT count(*) FROM _rejects").fetchone()[0])
        quarantined, duplicates = _batch.record_batch(con, batch_id, source_name, checksum, FORMAT, n_read,
                                                      int(ok.sum()), version)
        msg = [f"{shape.kind} form", f"{len(load):,} areas loaded"]
        if shape.kind == "wide":
            msg.append("levels " + " → ".join(shape.levels))
        if covs:
            msg.append("covariates " + ", ".join(f"{c} ({kinds[c][0]})" for c in covs))
        if text:
            msg.append("text columns left out (not covariates): " + ", ".join(text))
        if replaced:
            msg.append(f"{len(replaced):,} areas already in the store replaced")
        outcome = FileOutcome(source_name, FORMAT, "loaded", batch_id, n_read, int(ok.sum()), quarantined, duplicates,
                              _batch.reasons(con, batch_id), checksum=checksum, message="; ".join(msg))
    return outcome


_REPLACED_KEY = "areas_replaced_by_batch:{}"


def _note_replaced(con, batch_id: int) -> None:
    """Record (in ``meta``) how many rows of which earlier batches the codes in ``_area_codes`` are about to replace."""
    prior = run(con, "find replaced areas", """
        SELECT batch_id, count(*) FROM areas
        WHERE code IN (SELECT code FROM _area_codes) AND batch_id IS NOT NULL
        GROUP BY batch_id ORDER BY batch_id""").fetchall()
    if prior:
        run(con, "note replaced areas", "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [_REPLACED_KEY.format(batch_id), json.dumps({str(b): int(n) for b, n in prior})])


def replaced_by(con, batch_id: int) -> list[tuple[int, str, int]]:
    """Batches still in the store whose areas batch ``batch_id`` replaced: ``(batch_id, source_file, areas)``."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [_REPLACED_KEY.format(int(batch_id))]).fetchone()
    if row is None:
        return []
    counts = {int(b): int(n) for b, n in json.loads(row[0]).items()}
    live = con.execute("SELECT batch_id, source_file FROM batches WHERE batch_id IN (SELECT unnest(?)) ORDER BY batch_id",
                       [list(counts)]).fetchall()
    return [(int(b), str(f), counts[int(b)]) for b, f in live]


def check_unload(con, batch_id: int) -> None:
    """Refuse to unload an area batch that replaced rows of batches still in the store (they cannot be brought back)."""
    prior = replaced_by(con, batch_id)
    if not prior:
        return
    me = con.execute("SELECT source_file FROM batches WHERE batch_id = ?", [int(batch_id)]).fetchone()
    what = "; ".join(f"{n:,} area(s) loaded by batch {b} ({f})" for b, f, n in prior)
    first = ", ".join(f"store.unload({b})" for b, _, _ in prior)
    raise error(
        "unload", f"Batch {batch_id} ({me[0] if me else '?'}) replaced {what}. The replaced rows were deleted when it "
        f"loaded, so unloading batch {batch_id} would leave those codes with no row at all. Nothing was removed.",
        hint=f"to go back to the earlier lookup, unload the earlier batch first ({first}), then "
             f"store.unload({batch_id}), and ingest the earlier file again with store.ingest_areas(...); to keep the "
             f"newer areas, keep batch {batch_id}.")


def forget_replaced(con, batch_id: int) -> None:
    """Drop batch ``batch_id``'s note of replaced areas (part of unloading it)."""
    run(con, "forget replaced areas", "DELETE FROM meta WHERE key = ?", [_REPLACED_KEY.format(int(batch_id))])


def _insert(con, step: str, table: str, arrow: pa.Table) -> None:
    con.register("_area_arrow", arrow)
    try:
        cols = ", ".join(arrow.column_names)
        run(con, step, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _area_arrow")
    finally:
        con.unregister("_area_arrow")


def _load_file(con, source: Source, path: Path, *, covariates, version: str, delimiter: str = ",",
               covariate_kinds=None, quiet: bool = False, limits: Limits = DEFAULT_LIMITS) -> FileOutcome:
    header = _csv.read_header(path, delimiter=delimiter)
    if not header:
        raise IngestError(f"ingest_areas(): {source.name} is empty (no header). Nothing was loaded.")
    shape = _shape(header, source.name)
    facts = _csv.file_facts(path, delimiter=delimiter, limits=limits)
    prior = _batch.already_loaded(con, facts.checksum)
    if prior:
        return FileOutcome(source.name, FORMAT, "already_loaded", prior[0], checksum=facts.checksum,
                           message=f"same bytes as batch {prior[0]} ({prior[1]}, loaded {prior[2]}); nothing done")
    cols = [f"c{i}" for i in range(len(header))]
    try:
        _csv.load(con, path, cols, facts=facts, delimiter=delimiter, limits=limits)
        raw = con.execute("SELECT * FROM _rows ORDER BY source_row").df()
        raw.columns = ["source_row", *shape.fields]
        for c in shape.fields:
            raw[c] = raw[c].astype(object).where(raw[c].notna(), None)
            raw[c] = raw[c].map(lambda v: (v.strip() or None) if isinstance(v, str) else v)
        return _load_frame(con, source.name, raw, shape, facts.checksum, covariates, version, covariate_kinds, quiet)
    finally:
        _csv.cleanup(con)


def ingest(con: duckdb.DuckDBPyConnection, data, *, covariates=None, name: str | None = None, version: str,
           progress: Callable[[str, int, int], None] | None = None, covariate_kinds: dict | None = None,
           quiet: bool = False, limits: Limits | None = None) -> IngestReport:
    """Load area lookup(s) from a CSV file, a folder or zip of CSV files, or a DataFrame. See the module docs.

    ``covariate_kinds`` ({covariate: "count" | "mean"}) says how covariates roll up to larger areas; a covariate it
    does not name takes the kind declared in its header (``"households [count]"``), else the kind its name implies
    (:func:`kind_by_name`, announced unless ``quiet``).

    ``limits`` (:class:`whatworks.store.limits.Limits`, default ``DEFAULT_LIMITS``): a zip member over its size or
    compression-ratio limit is refused (an error) before extraction; a line over a line limit is quarantined."""
    limits = resolve(limits, "ingest_areas()")
    if isinstance(data, pd.DataFrame):
        label = name or "<DataFrame>"
        with tempfile.TemporaryDirectory(prefix="whatworks-areas-") as tmp:
            path = Path(tmp) / "areas.csv"
            data.to_csv(path, index=False, lineterminator="\n")
            src = Source(name=label, path=path)
            if progress:
                progress(label, 0, 1)
            out = _load_file(con, src, path, covariates=covariates, version=version, covariate_kinds=covariate_kinds,
                             quiet=quiet, limits=limits)
            if progress:
                progress("", 1, 1)
        return IngestReport((out,))
    if not isinstance(data, (str, os.PathLike)):
        raise WhatworksError(f"ingest_areas(): The 'data' argument must be a path or a pandas DataFrame. "
                             f"Got {type(data).__name__!r} instead.")
    sources = find_sources(data, limits=limits)
    for src in sources:   # a zip member over the limits is refused before anything loads
        if src.refusal:
            raise IngestError(src.refusal.replace("ingest:", "ingest_areas():", 1) + " Nothing was loaded.")
    outcomes = []
    for i, src in enumerate(sources):
        if progress:
            progress(src.name, i, len(sources))
        with src.local() as local:
            outcomes.append(_load_file(con, src, local, covariates=covariates, version=version,
                                       covariate_kinds=covariate_kinds, quiet=quiet, limits=limits))
    if progress:
        progress("", len(sources), len(sources))
    return IngestReport(tuple(outcomes), ignored=tuple(ignored_files(data, limits=limits)))


# ---------------------------------------------------------------------------------------------- reading back


def _con(store):
    return store.con if hasattr(store, "con") else store


def ancestors(store) -> pd.DataFrame:
    """Every area's place in the hierarchy: one row per (area, area containing it, itself included).

    Columns ``lsoa_code`` (the area: an ``areas`` code, or an ``events.lsoa_code``), ``code``, ``name``, ``level``
    of the containing area, ``depth`` (0 = the area itself) and ``leaf`` (the area has no children: a smallest
    area, whose population adds up). Every ``events.lsoa_code`` the ``areas`` table does not know is included too:
    for those the local authority named in the LSOA name ("Leeds 001A" → code and name "Leeds", level
    ``district``) is the only ancestor (:func:`district_from_lsoa_name`).
    """
    con = _con(store)
    known = con.execute(f"""
        WITH RECURSIVE up(leaf, code, depth) AS (
          SELECT code, code, 0 FROM areas
          UNION ALL
          SELECT u.leaf, a.parent_code, u.depth + 1 FROM up u JOIN areas a ON a.code = u.code
          WHERE a.parent_code IS NOT NULL AND u.depth < {MAX_DEPTH})
        SELECT u.leaf AS lsoa_code, u.code, a.name, coalesce(a.level, 'unknown') AS level, u.depth,
               u.leaf NOT IN (SELECT parent_code FROM areas WHERE parent_code IS NOT NULL) AS leaf
        FROM up u LEFT JOIN areas a ON a.code = u.code
        ORDER BY lsoa_code, depth""").df()
    derived = con.execute("""
        SELECT lsoa_code, any_value(lsoa_name) AS lsoa_name FROM events
        WHERE lsoa_code IS NOT NULL AND lsoa_code NOT IN (SELECT code FROM areas)
        GROUP BY lsoa_code ORDER BY lsoa_code""").df()
    if len(derived):
        district = district_from_lsoa_name(derived["lsoa_name"])
        self_rows = pd.DataFrame({"lsoa_code": derived["lsoa_code"], "code": derived["lsoa_code"],
                                  "name": derived["lsoa_name"], "level": "lsoa", "depth": 0, "leaf": True})
        up_rows = pd.DataFrame({"lsoa_code": derived["lsoa_code"], "code": district, "name": district,
                                "level": DERIVED_LEVEL, "depth": 1, "leaf": True})[district.notna().to_numpy()]
        known = pd.concat([known, self_rows, up_rows], ignore_index=True)
    return known.reset_index(drop=True)


def area_table(store, level: str | None = None, *, roll_up: bool = False) -> pd.DataFrame:
    """Areas with their population and covariates as columns (one row per area).

    With ``roll_up=True`` an area's covariates not given directly are rolled up from the areas inside it
    (:func:`rolled_up_covariates`); by default only values given directly appear.

    ``population`` is the area's own figure when the lookup gave one, otherwise the sum over the small areas it
    contains when every one of them has a population (``population_source`` says which: ``"lookup"``,
    ``"sum of small areas"`` or missing). Districts
    derived from LSOA names appear with level ``district`` and no population. ``level`` filters the rows.
    """
    con = _con(store)
    anc = ancestors(con)
    areas = con.execute("SELECT code, name, level, parent_code, population FROM areas").df()
    derived = anc[~anc["code"].isin(areas["code"])][["code", "name", "level"]].drop_duplicates("code")
    derived = derived.assign(parent_code=None, population=np.nan)
    t = pd.concat([areas, derived], ignore_index=True) if len(derived) else areas
    leaf_pop = areas.set_index("code")["population"]
    leaves = anc[anc["leaf"].astype(bool)]
    sums = leaves.assign(pop=leaves["lsoa_code"].map(leaf_pop)).groupby("code")["pop"].agg(["sum", "count", "size"])
    own = t["population"].notna()
    complete = (sums["count"] == sums["size"]) & (sums["size"] > 0)   # every small area inside has a population
    summed = t["code"].map(sums["sum"].where(complete))
    t["population_source"] = np.where(own, "lookup", np.where(summed.notna(), "sum of small areas", None))
    t["population"] = t["population"].where(own, summed)
    if roll_up:
        values, _ = rolled_up_covariates(con)
        if values.shape[1]:
            t = t.merge(values, left_on="code", right_index=True, how="left")
    else:
        cov = con.execute("SELECT code, covariate, value FROM area_covariates").df()
        if len(cov):
            wide = cov.pivot_table(index="code", columns="covariate", values="value", aggfunc="first")
            t = t.merge(wide, left_on="code", right_index=True, how="left")
    if level is not None:
        t = t[t["level"] == level]
    return t.sort_values(["level", "code"]).reset_index(drop=True)


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def covariate_kinds(store) -> pd.DataFrame:
    """How each covariate in ``area_covariates`` rolls up: columns ``covariate``, ``kind`` (``"count"``: summed;
    ``"mean"``: population-weighted mean) and ``reason``.

    The kind is the one recorded by the latest batch still in the store that holds values of the covariate (a newer
    lookup's word wins; unloading it brings back the earlier one). A covariate with no recorded kind (loaded before
    kinds were recorded) takes :func:`kind_by_name`, and ``reason`` says so.
    """
    con = _con(store)
    names = covariate_names(con)
    recorded: dict[str, tuple[str, str]] = {}
    if names and _has_table(con, KINDS_TABLE):
        rows = con.execute(f"""
            SELECT k.covariate, k.kind, k.reason, k.batch_id FROM {KINDS_TABLE} k
            WHERE (k.covariate, k.batch_id) IN (SELECT DISTINCT covariate, batch_id FROM area_covariates)
            ORDER BY k.covariate, k.batch_id""").fetchall()
        by_cov: dict[str, list] = {}
        for cov, kind, reason, batch in rows:
            by_cov.setdefault(cov, []).append((kind, reason, batch))
        for cov, rs in by_cov.items():
            kind, reason, batch = rs[-1]
            others = sorted({f"batch {b} said {k}" for k, _, b in rs[:-1] if k != kind})
            why = f"{reason} (batch {batch})"
            if others:
                why += f"; the latest batch is used ({', '.join(others)})"
            recorded[cov] = (kind, why)
    out = [(c, *recorded.get(c, (kind_by_name(c), f"no kind recorded: {_NAME_RULE}"))) for c in names]
    return pd.DataFrame(out, columns=["covariate", "kind", "reason"])


def covariate_levels(store) -> dict[str, list[str]]:
    """{level: [covariates given directly for areas of that level]}, levels smallest first (as in :data:`WIDE_LEVELS`,
    other levels after them by name)."""
    rows = _con(store).execute("""
        SELECT a.level, c.covariate FROM area_covariates c JOIN areas a ON a.code = c.code
        WHERE c.value IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    out: dict[str, list[str]] = {}
    for level, cov in rows:
        out.setdefault(level, []).append(cov)
    order = {lv: i for i, lv in enumerate(WIDE_LEVELS)}
    return {lv: out[lv] for lv in sorted(out, key=lambda lv: (order.get(lv, len(order)), lv))}


def _heights(codes: pd.Index, kids: pd.DataFrame) -> pd.Series:
    """Each area's height in the tree: 0 for an area with no children, else 1 + the tallest child's height."""
    h = pd.Series(0, index=codes, dtype=int)
    for _ in range(MAX_DEPTH + 1):
        up = (h.reindex(kids["code"]).to_numpy() + 1)
        new = pd.Series(up, index=kids["parent_code"].to_numpy()).groupby(level=0).max()
        nxt = h.copy()
        nxt.loc[new.index] = np.maximum(h.loc[new.index].to_numpy(), new.to_numpy())
        if nxt.equals(h):
            break
        h = nxt
    return h


def _describe(code, level) -> str:
    return f"{level} {code}"


def _of(m: int, n: int) -> str:
    """"1 of the 2 areas inside it has" / "2 of the 3 areas inside it have"."""
    return f"{m} of the {n} area{'s' if n != 1 else ''} inside it {'has' if m == 1 else 'have'}"


def rolled_up_covariates(store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every area's covariates, given directly or rolled up from the areas inside it.

    Returns ``(values, cells)``: ``values`` has one row per area of the ``areas`` table (index ``code``) and one column
    per covariate; ``cells`` has one row per (area, covariate) with ``code``, ``level``, ``covariate``, ``kind``,
    ``value``, ``value_source`` (``"given"``, ``"rolled up"`` or ``"missing"``) and ``detail`` (how it was rolled
    up, or why it is missing).

    Rules (applied from the smallest areas up, so each small area counts once, through the nearest area above it
    whose value is given):

    * a value given for an area is kept, never replaced by a roll-up;
    * otherwise a **count** is the sum over the areas directly inside it, and a **mean** is
      Σ populationᵢ·valueᵢ / Σ populationᵢ over them (population: the area's own, or the sum of its small areas);
    * the roll-up needs every area inside to have a value (and, for a mean, a population); otherwise the value is
      missing and ``detail`` names the first area that lacks it. An area with nothing inside it and no value of its
      own is missing. whatworks never takes an unweighted mean, nor sums part of an area.
    """
    con = _con(store)
    pops = area_table(con)
    areas = con.execute("SELECT code, level, parent_code FROM areas ORDER BY code").df()
    pop = pops.set_index("code")["population"].reindex(areas["code"])
    kinds = covariate_kinds(con)
    cov = con.execute("SELECT code, covariate, value FROM area_covariates WHERE value IS NOT NULL").df()
    codes = pd.Index(areas["code"])
    names = kinds["covariate"].tolist()
    given = (cov.pivot_table(index="code", columns="covariate", values="value", aggfunc="first")
             .reindex(index=codes, columns=names) if len(cov) else pd.DataFrame(np.nan, index=codes, columns=names))
    given.columns.name = None
    kids = areas[areas["parent_code"].notna() & areas["parent_code"].isin(codes)][["code", "parent_code"]]
    height = _heights(codes, kids)
    level = areas.set_index("code")["level"]
    values = given.copy()
    source = pd.DataFrame(np.where(given.notna(), "given", "missing"), index=codes, columns=names)
    detail = pd.DataFrame(np.where(given.notna(), "given in the lookup", ""), index=codes, columns=names, dtype=object)
    n_kids = kids.groupby("parent_code").size()
    leaf = ~codes.isin(kids["parent_code"])
    for c in names:
        detail.loc[leaf & given[c].isna().to_numpy(), c] = "no value given, and no smaller areas inside it"
    kind_of = dict(zip(kinds["covariate"], kinds["kind"]))
    for h in range(1, int(height.max()) + 1 if len(height) else 1):
        parents = height.index[height == h]
        sub = kids[kids["parent_code"].isin(parents)].sort_values(["parent_code", "code"])
        kid_level = sub.groupby("parent_code")["code"].first().map(level)
        for c in names:
            todo = parents[given.loc[parents, c].isna().to_numpy()]
            if not len(todo):
                continue
            s = sub[sub["parent_code"].isin(todo)]
            v = values.loc[s["code"], c].to_numpy()
            w = pop.loc[s["code"]].to_numpy(dtype=float)
            kind = kind_of[c]
            no_val = np.isnan(v)
            no_pop = np.isnan(w) if kind == "mean" else np.zeros(len(s), bool)
            frame = pd.DataFrame({"parent": s["parent_code"].to_numpy(), "code": s["code"].to_numpy(), "v": v,
                                  "w": w, "no_val": no_val, "no_pop": no_pop & ~no_val})
            g = frame.groupby("parent", sort=True)
            if kind == "count":
                agg = g["v"].sum()
            else:
                num = (frame["v"] * frame["w"]).groupby(frame["parent"]).sum()
                agg = num / g["w"].sum()
            bad_val = frame[frame["no_val"]].groupby("parent")["code"].agg(["first", "size"])
            bad_pop = frame[frame["no_pop"]].groupby("parent")["code"].agg(["first", "size"])
            zero_w = (g["w"].sum() <= 0) if kind == "mean" else pd.Series(False, index=agg.index)
            ok = ~agg.index.isin(bad_val.index) & ~agg.index.isin(bad_pop.index) & ~zero_w.reindex(agg.index).to_numpy()
            good = agg.index[ok]
            if len(good):
                n = n_kids.reindex(good).to_numpy()
                how = "sum" if kind == "count" else "population-weighted mean"
                values.loc[good, c] = agg[good].to_numpy(dtype=float)
                source.loc[good, c] = "rolled up"
                detail.loc[good, c] = [f"{how} of {k} {kid_level.get(pc, 'area')} area{'s' if k != 1 else ''}"
                                       for pc, k in zip(good, n)]
            for p_code in agg.index[~ok]:           # the few that cannot be rolled up: say why
                n = int(n_kids[p_code])
                if p_code in bad_val.index:
                    first, m = bad_val.loc[p_code, "first"], int(bad_val.loc[p_code, "size"])
                    why = detail.at[first, c] or "no value"
                    detail.at[p_code, c] = (f"cannot roll up: {_of(m, n)} no value "
                                            f"(first: {_describe(first, level[first])}: {why})")
                elif p_code in bad_pop.index:
                    first, m = bad_pop.loc[p_code, "first"], int(bad_pop.loc[p_code, "size"])
                    detail.at[p_code, c] = (f"cannot roll up a mean: {_of(m, n)} no population "
                                            f"(first: {_describe(first, level[first])}); an unweighted mean is not "
                                            "taken")
                else:
                    detail.at[p_code, c] = (f"cannot roll up a mean: the {n} area{'s' if n != 1 else ''} inside it "
                                            "have a total population of 0")
    cells = pd.DataFrame({
        "code": np.repeat(codes.to_numpy(), len(names)),
        "level": np.repeat(level.reindex(codes).to_numpy(), len(names)),
        "covariate": np.tile(np.array(names, dtype=object), len(codes)),
        "kind": np.tile(np.array([kind_of[c] for c in names], dtype=object), len(codes)),
        "value": values.to_numpy(dtype=float).ravel() if names else np.array([], float),
        "value_source": source.to_numpy().ravel() if names else np.array([], object),
        "detail": detail.to_numpy().ravel() if names else np.array([], object)})
    values.index.name = "code"
    return values, cells


def covariate_table(store, level: str, *, roll_up: bool = True) -> pd.DataFrame:
    """One row per area of ``level`` (column ``code``) and one column per covariate in the store.

    Values are those given directly for the area, or — with ``roll_up=True`` — rolled up from the areas inside it
    (:func:`rolled_up_covariates`). The frame's ``attrs`` say where the values came from: ``"level"``; ``"given"``
    (covariates given directly for some area of this level); ``"rolled_up"`` (covariates rolled up for some area);
    ``"kinds"`` ({covariate: "count" | "mean"}); ``"cells"`` (one row per area × covariate: ``value_source`` and
    ``detail``, see :func:`rolled_up_covariates`); ``"missing"`` (the cells with no value: ``code``, ``covariate``,
    ``detail``).
    """
    if not isinstance(level, str) or not level:
        raise error("area_covariates", "The 'level' parameter must be an area level such as 'lsoa', 'ward' or 'lad'.",
                    got=level)
    con = _con(store)
    values, cells = rolled_up_covariates(con)
    codes = area_table(con, level=level)["code"]
    if not len(codes):
        known = sorted(set(con.execute("SELECT DISTINCT level FROM areas").df()["level"]))
        raise error("area_covariates", f"No areas of level {level!r} are in the store.",
                    expected=f"one of the levels in the areas table {known}",
                    hint="Load an area lookup that has this level (`whatworks ingest areas FILE`).")
    cells = cells[cells["code"].isin(codes)].copy()
    if not roll_up:
        rolled = cells["value_source"] == "rolled up"
        cells.loc[rolled, "value"] = np.nan
        cells.loc[rolled, "detail"] = "not given for this area (roll_up=False)"
        cells.loc[rolled, "value_source"] = "missing"
    names = list(values.columns)
    wide = (cells.pivot(index="code", columns="covariate", values="value").reindex(index=codes, columns=names)
            if len(cells) else pd.DataFrame(np.nan, index=codes, columns=names))
    wide.columns.name = None
    out = wide.reset_index().rename(columns={"index": "code"})
    kinds = dict(zip(cells["covariate"], cells["kind"])) if len(cells) else {}
    out.attrs = {
        "level": level,
        "given": sorted(set(cells.loc[cells["value_source"] == "given", "covariate"])),
        "rolled_up": sorted(set(cells.loc[cells["value_source"] == "rolled up", "covariate"])),
        "kinds": {c: kinds.get(c) for c in names},
        "cells": cells.reset_index(drop=True),
        "missing": cells.loc[cells["value_source"] == "missing", ["code", "covariate", "detail"]].reset_index(drop=True),
    }
    return out


def covariate_names(store) -> list[str]:
    """Names of the covariates in ``area_covariates``."""
    return [r[0] for r in _con(store).execute("SELECT DISTINCT covariate FROM area_covariates ORDER BY 1").fetchall()]


__all__ = ["ingest", "district_from_lsoa_name", "ancestors", "area_table", "covariate_names", "covariate_kinds",
           "covariate_levels", "covariate_table", "rolled_up_covariates", "kind_by_name", "choose_covariate_kinds",
           "LSOA_NAME_PATTERN", "DERIVED_LEVEL", "WIDE_LEVELS", "COVARIATE_KINDS"]
