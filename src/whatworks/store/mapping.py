"""The mapping file that tells :func:`whatworks.store.records.ingest` how to read a force's own RMS export.

A mapping is TOML (docs/records-mapping.md is the full specification, with a worked example). It is loaded and
checked at the door by :meth:`Mapping.load`, so a mistake in the mapping (a misspelt table kind, a canonical
column that does not exist, a required column left unmapped, a date format DuckDB cannot read, a code that
translates to a crime type police.uk does not have) is refused before any file is opened, with a message that
names the block, the key and the fix.

>>> m = Mapping.from_toml('''
... version = 1
... source_system = "northshire-rms"
... [[files]]
... pattern = "crimes*.csv"
... table = "crimes"
... [files.columns]
... reference = "CrimeRef"
... occurred = "Committed"
... crime_type = "Offence"
... [files.formats]
... occurred = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
... [files.codes.crime_type]
... "BUR-RES" = "Burglary"
... ''')
>>> m.files[0].table, m.files[0].columns["occurred"], m.files[0].date_formats("occurred")
('crimes', 'Committed', ('%d/%m/%Y %H:%M', '%d/%m/%Y'))
>>> Mapping.from_toml(m.to_toml()) == m
True
"""

from __future__ import annotations

import codecs
import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from whatworks._words import FALSE_WORDS, TRUE_WORDS  # one yes/no vocabulary for every room
from whatworks.errors import WhatworksError, error
from whatworks.store.policeuk_vocab import CRIME_TYPES
from whatworks.store.schema import PERSON_ROLES

FORMAT_VERSION = 1

# ---------------------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class TableKind:
    """What one kind of export file holds: its canonical columns and where its rows go."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    target: str                       # the store table counted as "loaded" for this kind
    order: int                        # load order in one call: events before the people and roles that refer to them
    describes: str

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


_COORDS = ("x", "y", "lon", "lat")
TABLES: dict[str, TableKind] = {t.name: t for t in (
    TableKind("crimes", ("reference", "occurred", "crime_type"),
              (*_COORDS, "lsoa_code", "lsoa_name", "location", "outcome", "force", "kind"),
              "events", 0, "recorded crimes / incidents -> events"),
    TableKind("stops", ("occurred",),
              ("reference", "person_id", *_COORDS, "lsoa_code", "lsoa_name", "location", "outcome", "search_type",
               "gender", "age_range", "self_defined_ethnicity", "officer_defined_ethnicity", "legislation",
               "object_of_search", "outcome_linked_to_object", "removal_of_more_than_outer_clothing",
               "part_of_operation", "operation_name", "force"),
              "events", 1, "stop and search -> events + stop_searches (+ the searched person in event_persons)"),
    TableKind("arrests", ("reference", "occurred", "person_id"),
              ("crime_type", *_COORDS, "lsoa_code", "lsoa_name", "location", "outcome", "force"),
              "events", 2, "arrests -> events (kind 'arrest') + the arrestee in event_persons"),
    TableKind("persons", ("person_id",), ("first_name", "surname", "dob", "sex", "ethnicity", "postcode"),
              "persons", 3, "people -> persons"),
    TableKind("roles", ("reference", "person_id", "role"), (),
              "event_persons", 4, "who was involved in which event -> event_persons"),
)}

DATE_COLUMNS = ("occurred", "dob")
NUMBER_COLUMNS = _COORDS
BOOLEAN_COLUMNS = ("outcome_linked_to_object", "removal_of_more_than_outer_clothing", "part_of_operation")
EVENT_KINDS_FOR_CRIMES = ("crime", "asb", "incident")
# Columns whose values must come from a fixed list (after translation by [files.codes.<column>]).
ENUMS: dict[str, tuple[str, ...]] = {
    "crime_type": CRIME_TYPES,
    "role": PERSON_ROLES,
    "kind": EVENT_KINDS_FOR_CRIMES,
}
ENUM_NAMES = {"crime_type": "a police.uk crime type", "role": "a person role", "kind": "an event kind"}

# When a date column has no [files.formats] entry: ISO 8601, with or without a time.
DEFAULT_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")

ENCODINGS = ("utf-8", "latin-1", "cp1252")
TOP_KEYS = ("version", "source_system", "force", "encoding", "delimiter", "files")
FILE_KEYS = ("pattern", "table", "source_system", "encoding", "delimiter", "columns", "formats", "codes", "constants")

_DIRECTIVE = re.compile(r"%(-?)(.)")
_YEAR = {"Y", "y", "G"}
_MONTH_OR_DOY = {"m", "b", "B", "h", "j"}
_DAY = {"d", "j", "e"}
_TIME = {"H", "I", "M", "S", "T", "X", "R"}
_ZONE = {"z", "Z"}

_HINT = "See docs/records-mapping.md for the format and a worked example."


@lru_cache(maxsize=1)
def _duck() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB used only to ask whether it understands a date format."""
    return duckdb.connect()


def _mapping_error(where: str, what: str, **kw) -> WhatworksError:
    return error("ingest_records", f"Mapping {where}: {what}", hint=kw.pop("hint", _HINT), **kw)


def format_precision(fmt: str) -> str:
    """``'minute'`` when a date format reads a time of day, ``'day'`` when it reads a day, else ``'month'``."""
    letters = {m.group(2) for m in _DIRECTIVE.finditer(fmt.replace("%%", ""))}
    if letters & _TIME:
        return "minute"
    if letters & _DAY:
        return "day"
    return "month"


def format_zone(fmt: str) -> str | None:
    """How a format places its time in the world: ``'offset'`` when it reads a UTC offset or zone (``%z``,
    ``%Z``), ``'utc'`` when it ends in a literal ``Z`` (ISO 8601 for UTC, e.g. ``%Y-%m-%dT%H:%M:%SZ``), else None
    (the time is already UK local clock time). Zoned times are converted to UK local time on ingest."""
    if {m.group(2) for m in _DIRECTIVE.finditer(fmt.replace("%%", ""))} & _ZONE:
        return "offset"
    if fmt.endswith("Z") and not fmt.replace("%%", "").endswith("%Z"):
        return "utc"
    return None


def format_has_zone(fmt: str) -> bool:
    """True when times read with this format are converted to UK local time (see :func:`format_zone`)."""
    return format_zone(fmt) is not None


def _check_date_format(where: str, col: str, fmt: Any) -> str:
    if not isinstance(fmt, str) or not fmt.strip():
        raise _mapping_error(where, f"[files.formats] {col}: each date format must be a non-empty string.", got=fmt)
    # DuckDB parses the dates, so DuckDB is asked whether it understands the format.
    try:
        _duck().cursor().execute("SELECT try_strptime('', ?)", [fmt]).fetchall()
    except duckdb.Error as exc:
        raise _mapping_error(where, f"[files.formats] {col}: {fmt!r} is not a date format DuckDB can read ({exc}).",
                             expected="strptime directives such as %d/%m/%Y %H:%M",
                             hint="Use %Y year, %m month, %d day, %H:%M hour:minute, %b month name. " + _HINT) from None
    letters = {m.group(2) for m in _DIRECTIVE.finditer(fmt.replace("%%", ""))}
    if not letters & _YEAR or not letters & _MONTH_OR_DOY:
        raise _mapping_error(where, f"[files.formats] {col}: {fmt!r} does not read a year and a month, so it cannot place a record in time.",
                             expected="a format with %Y (or %y) and %m (or %b, %B, %j)", got=fmt)
    return fmt


# ---------------------------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class FileSpec:
    """One ``[[files]]`` block: which export files it reads and how.

    Attributes
    ----------
    pattern : str
        Glob matched against each file's name (not its folder), ignoring case, e.g. ``"crimes*.csv"``.
    table : str
        One of :data:`TABLES`: ``crimes``, ``stops``, ``arrests``, ``persons``, ``roles``.
    columns : dict
        canonical column -> the export's column header (matched ignoring case and surrounding spaces).
    formats : dict
        date column (``occurred``, ``dob``) -> strptime formats tried in order. Unlisted date columns use
        :data:`DEFAULT_DATE_FORMATS` (ISO 8601).
    codes : dict
        canonical column -> {export value: canonical value}. Values not listed pass through unchanged; a
        translation to ``""`` blanks the value.
    constants : dict
        canonical column -> a fixed value for every row of these files.
    source_system, encoding, delimiter : str, optional
        Override the mapping's top-level values for these files (e.g. a probation caseload exported by another
        system, as cp1252 with semicolons, in the same folder).
    """

    pattern: str
    table: str
    columns: dict[str, str] = field(default_factory=dict)
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    source_system: str | None = None
    encoding: str | None = None
    delimiter: str | None = None

    __hash__ = None  # holds dicts

    @property
    def kind(self) -> TableKind:
        return TABLES[self.table]

    def matches(self, filename: str) -> bool:
        return fnmatch.fnmatchcase(Path(filename).name.lower(), self.pattern.lower())

    def date_formats(self, column: str) -> tuple[str, ...]:
        """The formats tried for a date column, in order (the mapping's, else :data:`DEFAULT_DATE_FORMATS`)."""
        return self.formats.get(column) or DEFAULT_DATE_FORMATS


@dataclass(frozen=True)
class Mapping:
    """A records mapping (docs/records-mapping.md). Load with :meth:`load` (a file) or :meth:`from_toml` (text).

    Attributes
    ----------
    source_system : str
        Names the records system; references and person ids are unique within it.
    files : tuple of FileSpec
    force : str, optional
        Written to ``events.force`` unless a block maps or fixes ``force`` itself.
    encoding : {"utf-8", "latin-1", "cp1252"}, default "utf-8"
    delimiter : str, default ","
        One character, e.g. ``","``, ``"|"``, ``";"``, ``"\\t"``.
    version : int, default 1
    """

    source_system: str
    files: tuple[FileSpec, ...]
    force: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    version: int = FORMAT_VERSION
    origin: str = field(default="<mapping>", compare=False)

    __hash__ = None  # holds dicts

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike) -> "Mapping":
        """Read and check a mapping file."""
        p = Path(path)
        if not p.is_file():
            raise error("ingest_records", f"The mapping file {str(p)!r} does not exist.",
                        hint="Pass the path of your TOML mapping file; " + _HINT)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _mapping_error(str(p), f"the file is not UTF-8 text ({exc}).", hint="Save the mapping file as UTF-8.") from None
        return cls.from_toml(text, origin=str(p))

    @classmethod
    def from_toml(cls, text: str, *, origin: str = "<mapping>") -> "Mapping":
        """Parse and check mapping TOML text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _mapping_error(origin, f"not valid TOML: {exc}.",
                                 hint="Check quotes around keys with spaces or dashes, e.g. \"BUR-RES\" = \"Burglary\". " + _HINT) from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: dict, *, origin: str = "<mapping>") -> "Mapping":
        """Build and check a mapping from the parsed TOML structure."""
        if not isinstance(data, dict):
            raise _mapping_error(origin, "expected a TOML table at the top level.", got=type(data).__name__)
        unknown = [k for k in data if k not in TOP_KEYS]
        if unknown:
            raise _mapping_error(origin, f"unknown top-level key(s) {unknown}.", expected=f"keys among {list(TOP_KEYS)}")
        version = data.get("version", None)
        if version != FORMAT_VERSION:
            raise _mapping_error(origin, "'version' must be 1 (the only mapping format so far).", got=version,
                                 hint="Put `version = 1` at the top of the mapping file.")
        source_system = _text(origin, "source_system", data.get("source_system"), required=True)
        force = _text(origin, "force", data.get("force"))
        encoding = _encoding(origin, data.get("encoding", "utf-8"))
        delimiter = _delimiter(origin, data.get("delimiter", ","))
        blocks = data.get("files")
        if not isinstance(blocks, list) or not blocks:
            raise _mapping_error(origin, "no [[files]] blocks: the mapping must say which files hold which table.",
                                 got=blocks, hint="Add a [[files]] block with `pattern` and `table`. " + _HINT)
        files = tuple(_file_spec(origin, i, b) for i, b in enumerate(blocks, start=1))
        return cls(source_system=source_system, files=files, force=force, encoding=encoding, delimiter=delimiter,
                   version=version, origin=origin)

    # ------------------------------------------------------------------ use
    def match(self, filename: str) -> list[FileSpec]:
        """The blocks whose pattern matches ``filename``'s name (more than one is an ambiguity the caller refuses)."""
        return [f for f in self.files if f.matches(filename)]

    def source_system_of(self, spec: FileSpec) -> str:
        return spec.source_system or self.source_system

    def encoding_of(self, spec: FileSpec) -> str:
        return spec.encoding or self.encoding

    def delimiter_of(self, spec: FileSpec) -> str:
        return spec.delimiter or self.delimiter

    def patterns(self) -> list[str]:
        return [f.pattern for f in self.files]

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        out: dict[str, Any] = {"version": self.version, "source_system": self.source_system}
        if self.force is not None:
            out["force"] = self.force
        out["encoding"] = self.encoding
        out["delimiter"] = self.delimiter
        files = []
        for f in self.files:
            block: dict[str, Any] = {"pattern": f.pattern, "table": f.table}
            for key in ("source_system", "encoding", "delimiter"):
                if getattr(f, key) is not None:
                    block[key] = getattr(f, key)
            if f.columns:
                block["columns"] = dict(f.columns)
            if f.formats:
                block["formats"] = {k: list(v) for k, v in f.formats.items()}
            if f.codes:
                block["codes"] = {k: dict(v) for k, v in f.codes.items()}
            if f.constants:
                block["constants"] = dict(f.constants)
            files.append(block)
        out["files"] = files
        return out

    def to_toml(self) -> str:
        """The mapping as TOML text; ``Mapping.from_toml(m.to_toml()) == m``.

        Hand-written because the standard library reads TOML (tomllib) but does not write it, and the mapping
        uses only strings, one integer, string lists and nested tables.
        """
        d = self.to_dict()
        lines = [f"version = {d['version']}", f"source_system = {_toml_str(d['source_system'])}"]
        if "force" in d:
            lines.append(f"force = {_toml_str(d['force'])}")
        lines += [f"encoding = {_toml_str(d['encoding'])}", f"delimiter = {_toml_str(d['delimiter'])}"]
        for block in d["files"]:
            lines += ["", "[[files]]", f"pattern = {_toml_str(block['pattern'])}", f"table = {_toml_str(block['table'])}"]
            for key in ("source_system", "encoding", "delimiter"):
                if key in block:
                    lines.append(f"{key} = {_toml_str(block[key])}")
            for section in ("columns", "formats", "constants"):
                if section in block:
                    lines += ["", f"[files.{section}]"]
                    for k, v in block[section].items():
                        val = "[" + ", ".join(_toml_str(s) for s in v) + "]" if isinstance(v, list) else _toml_str(v)
                        lines.append(f"{_toml_key(k)} = {val}")
            for col, table in block.get("codes", {}).items():
                lines += ["", f"[files.codes.{_toml_key(col)}]"]
                lines += [f"{_toml_key(k)} = {_toml_str(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_toml` to ``path`` (UTF-8)."""
        p = Path(path)
        p.write_text(self.to_toml(), encoding="utf-8")
        return p


# ---------------------------------------------------------------------------------------------- checks


def _text(where: str, key: str, value: Any, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise _mapping_error(where, f"'{key}' is required.", expected="a non-empty string naming the records system",
                                 hint=f'Add e.g. `{key} = "northshire-rms"` at the top. ' + _HINT)
        return None
    if not isinstance(value, str) or not value.strip():
        raise _mapping_error(where, f"'{key}' must be a non-empty string.", got=value)
    return value


def _encoding(where: str, value: Any) -> str:
    if not isinstance(value, str) or value.lower().replace("_", "-") not in ENCODINGS:
        raise _mapping_error(where, "'encoding' is not one whatworks reads.", expected=f"one of {list(ENCODINGS)}",
                             got=value, hint="Most exports are 'utf-8'; older Windows exports are 'cp1252' or 'latin-1'.")
    encoding = value.lower().replace("_", "-")
    codecs.lookup(encoding)
    return encoding


def _delimiter(where: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in ('"', "\n", "\r"):
        raise _mapping_error(where, "'delimiter' must be one character (not a quote or line break).",
                             got=value, hint='Write a tab as "\\t".')
    return value


def _str_table(where: str, section: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _mapping_error(where, f"[files.{section}] must be a table of key = value lines.", got=value)
    return value


def _file_spec(origin: str, i: int, block: Any) -> FileSpec:
    """Check one ``[[files]]`` block (the ``i``-th, counting from 1) and build its :class:`FileSpec`.

    The checks run in this order, and the first that fails is reported, naming the block and its pattern: the
    block's keys, pattern and table kind; its own source system, encoding and delimiter; ``[files.columns]``;
    ``[files.constants]``; that the required columns are mapped and coordinates come in one whole pair;
    ``[files.formats]``; ``[files.codes.<column>]``; that date constants match their formats.
    """
    if not isinstance(block, dict):
        raise _mapping_error(origin, f"[[files]] block {i} must be a table.", got=block)
    where = f"{origin}, [[files]] block {i}" + (f" (pattern {block['pattern']!r})" if isinstance(block.get("pattern"), str) else "")
    pattern, kind = _block_pattern_and_kind(where, block)
    source_system = _text(where, "source_system", block.get("source_system"))
    encoding = _encoding(where, block["encoding"]) if "encoding" in block else None
    delimiter = _delimiter(where, block["delimiter"]) if "delimiter" in block else None
    columns = _block_columns(where, kind, block.get("columns", {}))
    constants = _block_constants(where, kind, columns, block.get("constants", {}))
    _check_coverage(where, kind, columns, constants)
    formats = _block_formats(where, kind, set(columns) | set(constants), block.get("formats", {}))
    codes = _block_codes(where, kind, columns, constants, block.get("codes", {}))
    _check_date_constants(where, formats, constants)
    return FileSpec(pattern=pattern, table=kind.name, columns=columns, formats=formats, codes=codes, constants=constants,
                    source_system=source_system, encoding=encoding, delimiter=delimiter)


def _block_pattern_and_kind(where: str, block: dict) -> tuple[str, TableKind]:
    """The block's keys are all known; its ``pattern`` is a non-empty glob and its ``table`` one of :data:`TABLES`."""
    unknown = [k for k in block if k not in FILE_KEYS]
    if unknown:
        raise _mapping_error(where, f"unknown key(s) {unknown}.", expected=f"keys among {list(FILE_KEYS)}")
    pattern = block.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        raise _mapping_error(where, "'pattern' is required: a glob matched against file names.", got=pattern,
                             hint='e.g. pattern = "crimes*.csv". ' + _HINT)
    table = block.get("table")
    if table not in TABLES:
        raise _mapping_error(where, "unknown table kind.", expected=f"'table' one of {list(TABLES)}", got=table)
    return pattern, TABLES[table]


def _block_columns(where: str, kind: TableKind, value: Any) -> dict[str, str]:
    """``[files.columns]``: canonical column of the table kind -> the export's header (a non-empty string, returned
    stripped of surrounding spaces)."""
    columns = _str_table(where, "columns", value)
    for col, src in columns.items():
        if col not in kind.columns:
            raise _mapping_error(where, f"[files.columns] {col!r} is not a canonical column of table {kind.name!r}.",
                                 expected=f"columns among {list(kind.columns)}", got=col,
                                 hint="The left side is the canonical name, the right side your export's header. " + _HINT)
        if not isinstance(src, str) or not src.strip():
            raise _mapping_error(where, f"[files.columns] {col}: the export column header must be a non-empty string.", got=src)
    return {k: v.strip() for k, v in columns.items()}


def _block_constants(where: str, kind: TableKind, columns: dict[str, str], value: Any) -> dict[str, str]:
    """``[files.constants]``: canonical column -> one value for every row, as text (booleans as ``true``/``false``,
    numbers as written by ``str``). A column cannot be both mapped and constant; an enum column's constant must be
    one of its values (:data:`ENUMS`)."""
    constants_raw = _str_table(where, "constants", value)
    constants: dict[str, str] = {}
    for col, val in constants_raw.items():
        if col not in kind.columns:
            raise _mapping_error(where, f"[files.constants] {col!r} is not a canonical column of table {kind.name!r}.",
                                 expected=f"columns among {list(kind.columns)}", got=col)
        if col in columns:
            raise _mapping_error(where, f"{col!r} is both mapped to a column and given as a constant.",
                                 hint="Keep one of the two.")
        if isinstance(val, bool):
            val = "true" if val else "false"
        elif isinstance(val, (int, float)):
            val = str(val)
        if not isinstance(val, str):
            raise _mapping_error(where, f"[files.constants] {col}: a constant must be a string or number.", got=val)
        if col in ENUMS and val not in ENUMS[col]:
            raise _mapping_error(where, f"[files.constants] {col} = {val!r} is not {ENUM_NAMES[col]}.",
                                 expected=f"one of {list(ENUMS[col])}", got=val)
        constants[col] = val
    return constants


def _check_coverage(where: str, kind: TableKind, columns: dict[str, str], constants: dict[str, str]) -> None:
    """Every required column of the table kind is mapped or constant; coordinates come as a whole pair (x/y or
    lon/lat), and only one of the two pairs is given."""
    missing = [c for c in kind.required if c not in columns and c not in constants]
    if missing:
        raise _mapping_error(where, f"required canonical column(s) {missing} of table {kind.name!r} are not mapped.",
                             expected=f"[files.columns] (or [files.constants]) entries for {list(kind.required)}",
                             hint=f"Add e.g. `{missing[0]} = \"YourColumnHeader\"` under [files.columns]. " + _HINT)
    given = set(columns) | set(constants)
    for a, b in (("x", "y"), ("lon", "lat")):
        if (a in given) != (b in given):
            raise _mapping_error(where, f"'{a}' and '{b}' come as a pair: map both or neither.",
                                 got=sorted(given & {a, b}))
    if {"x", "lon"} <= given:
        raise _mapping_error(where, "map either x/y (British National Grid metres) or lon/lat (WGS84 degrees), not both.",
                             hint="whatworks computes the other pair from the one you map.")


def _block_formats(where: str, kind: TableKind, given: set[str], value: Any) -> dict[str, tuple[str, ...]]:
    """``[files.formats]``: date column of the table kind that is mapped or constant (``given``) -> the formats
    tried in order (one string or a non-empty list), each checked by :func:`_check_date_format`."""
    formats_raw = _str_table(where, "formats", value)
    formats: dict[str, tuple[str, ...]] = {}
    for col, fmts in formats_raw.items():
        if col not in DATE_COLUMNS or col not in kind.columns:
            dates = [c for c in DATE_COLUMNS if c in kind.columns]
            raise _mapping_error(where, f"[files.formats] {col!r} is not a date column of table {kind.name!r}.",
                                 expected=f"one of {dates}" if dates else "no [files.formats] (this table has no dates)", got=col)
        if col not in given:
            raise _mapping_error(where, f"[files.formats] gives formats for {col!r}, which is not mapped.",
                                 hint=f"Map {col!r} under [files.columns], or remove its formats.")
        fl = [fmts] if isinstance(fmts, str) else fmts
        if not isinstance(fl, list) or not fl:
            raise _mapping_error(where, f"[files.formats] {col}: give a format string or a non-empty list of them.", got=fmts)
        formats[col] = tuple(_check_date_format(where, col, f) for f in fl)
    return formats


def _block_codes(where: str, kind: TableKind, columns: dict[str, str], constants: dict[str, str],
                 value: Any) -> dict[str, dict[str, str]]:
    """``[files.codes.<column>]``: for a column mapped to an export column (not a constant), a non-empty table of
    export code -> canonical value, each pair checked by :func:`_check_code`."""
    codes_raw = _str_table(where, "codes", value)
    codes: dict[str, dict[str, str]] = {}
    for col, table_ in codes_raw.items():
        if col not in kind.columns:
            raise _mapping_error(where, f"[files.codes.{col}]: {col!r} is not a canonical column of table {kind.name!r}.",
                                 expected=f"columns among {list(kind.columns)}", got=col)
        if col not in columns:
            why = "a constant (constants are not translated)" if col in constants else "not mapped to any export column"
            raise _mapping_error(where, f"[files.codes.{col}] translates codes for {col!r}, which is {why}.",
                                 hint=f"Map {col!r} under [files.columns], or remove [files.codes.{col}].")
        if not isinstance(table_, dict) or not table_:
            raise _mapping_error(where, f"[files.codes.{col}] must be a non-empty table of \"your code\" = \"canonical value\".",
                                 got=table_)
        codes[col] = {src: _check_code(where, col, src, dst) for src, dst in table_.items()}
    return codes


def _check_code(where: str, col: str, src: str, dst: Any) -> str:
    """One translation ``src`` -> ``dst`` of ``[files.codes.<col>]``: the code is non-empty with no surrounding
    spaces (export values are trimmed first); the canonical value is a string, and for an enum or yes/no column one
    of its values or ``""`` (which blanks the value). Returns ``dst``."""
    if src != src.strip() or not src:
        raise _mapping_error(where, f"[files.codes.{col}]: the code {src!r} is empty or has surrounding spaces; "
                             "export values are trimmed before translation, so it would never match.", got=src)
    if not isinstance(dst, str):
        raise _mapping_error(where, f"[files.codes.{col}] {src!r}: the canonical value must be a string.", got=dst)
    if col in ENUMS and dst != "" and dst not in ENUMS[col]:
        raise _mapping_error(where, f"[files.codes.{col}] translates {src!r} to {dst!r}, which is not {ENUM_NAMES[col]}.",
                             expected=f"one of {list(ENUMS[col])}", got=dst)
    if col in BOOLEAN_COLUMNS and dst != "" and dst.lower() not in TRUE_WORDS + FALSE_WORDS:
        raise _mapping_error(where, f"[files.codes.{col}] translates {src!r} to {dst!r}, which is not a yes/no value.",
                             expected=f"one of {list(TRUE_WORDS + FALSE_WORDS)}", got=dst)
    return dst


def _check_date_constants(where: str, formats: dict[str, tuple[str, ...]], constants: dict[str, str]) -> None:
    """A date column given as a constant must be read by one of its formats (the block's, else
    :data:`DEFAULT_DATE_FORMATS`), as DuckDB will read it."""
    for col in DATE_COLUMNS:
        if col in constants:
            fmts = formats.get(col) or DEFAULT_DATE_FORMATS
            probe = _duck().cursor().execute(
                "SELECT coalesce(" + ", ".join("try_strptime(?, ?)::VARCHAR" for _ in fmts) + ")",
                [v for f in fmts for v in (constants[col], f)]).fetchone()[0]
            if probe is None:
                raise _mapping_error(where, f"[files.constants] {col} = {constants[col]!r} does not match the date formats.",
                                     expected=" or ".join(fmts), got=constants[col])


# ---------------------------------------------------------------------------------------------- TOML writing

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_str(k)


__all__ = ["Mapping", "FileSpec", "TableKind", "TABLES", "DATE_COLUMNS", "NUMBER_COLUMNS", "BOOLEAN_COLUMNS",
           "DEFAULT_DATE_FORMATS", "ENUMS", "TRUE_WORDS", "FALSE_WORDS", "format_precision", "format_has_zone",
           "format_zone"]
