"""Recognise files a spreadsheet (or a wrong export) has damaged, judge when a file has failed, and repair months.

Pure functions: no I/O and no database; :func:`month_repair_sql` returns DuckDB SQL text for the reader to run.

What spreadsheets do to a police.uk file (REFERENCE.md): Excel and LibreOffice read ``2018-07`` as the date
1 July 2018 and write it back as ``01/07/2018`` (UK locale), ``7/1/2018`` (US locale), ``Jul-18`` (a month
format) or ``2018-07-01`` (LibreOffice ISO); they strip leading zeros from numeric-looking codes, save as
Windows-1252 ("CSV (Comma delimited)") or with a UTF-8 BOM ("CSV UTF-8"), use ``;`` as the separator in
European locales, and end lines with CRLF. The BOM and CRLF are harmless (the reader handles them); the rest is not.

* :data:`FAIL_SHARE` — a file with at least this share of its rows invalid is a failed file.
* :func:`judge_file` — the :class:`Verdict` on one file from its rejection counts and a few rejected values.
* :func:`detect_month_damage` — which spreadsheet format a column of Month values is in.
* :func:`month_repair_sql` / :func:`repair_month` — a Month value in any of those formats back to its month (SQL / Python).
* :func:`lost_leading_zeros` — whether a column of codes looks like it lost its leading zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from whatworks.errors import error

__all__ = ["FAIL_SHARE", "TWO_DIGIT_YEAR_PIVOT", "STYLES", "Verdict", "judge_file", "detect_month_damage",
           "month_repair_sql", "repair_month", "lost_leading_zeros"]

FAIL_SHARE = 0.9
"""A file with at least 90% of its rows invalid (unsplittable or breaking a row rule; duplicates do not count) is a
*failed* file: it is rolled back whole and reported ``failed``, rather than "loaded" with a handful of rows. A real
police.uk month has a few invalid rows at most, so 90% is never reached by honest data, while a damaged file
(every Month reformatted, the wrong delimiter, the wrong encoding) reaches 100% or close to it."""

TWO_DIGIT_YEAR_PIVOT = 30
"""Two-digit years (``Jul-18``, ``01/07/18``) are read as Excel and Windows read them: 00–29 → 2000–2029,
30–99 → 1930–1999."""

STYLES = ("dmy", "mdy", "auto")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_STYLE_LABEL = {"dmy": "dd/mm/yyyy", "mdy": "m/d/yyyy, a US-locale save", "mon-yy": "Mon-yy",
                "yyyy-m": "yyyy-m", "iso-date": "yyyy-mm-dd"}
_REPAIR = "Re-download the file, or load it with --repair-dates (repair_dates=True)"

# One pattern per form, shared by the SQL (RE2) and the Python (re) versions.
_P_YM = r"([1-9][0-9]{3})-([0-9]{1,2})"                                        # 2018-07, 2018-7
_P_ISO = r"([1-9][0-9]{3})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.+Z-]*)?"       # 2018-07-01, 2018-07-01 00:00:00
_P_SLASH = r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4}|[0-9]{2})(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
_P_MON = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)[- ]([0-9]{4}|[0-9]{2})")


# ---------------------------------------------------------------------------------------------- the verdict
@dataclass(frozen=True)
class Verdict:
    """The judgement on one file. ``failed``: roll the file back and report it failed. ``reason``: one sentence with
    the counts; ``hint``: the likely cause, the first bad value, what was expected, and what to do."""

    failed: bool
    reason: str
    hint: str


def _share_text(part: int, whole: int) -> str:
    """"all 120 rows", or "95 of 100 rows (95%)" with a share that never rounds to 100% or 0% when it is not."""
    if part == whole:
        return f"all {whole:,} rows"
    pct = 100.0 * part / whole
    text = f"{pct:.0f}%" if 1 <= pct < 99 else f"{min(max(pct, 0.1), 99.9):.1f}%"
    return f"{part:,} of {whole:,} rows ({text})"


def _components(reasons: dict[str, int]) -> dict[str, int]:
    """Rows per single reason: a quarantined row can carry several, joined by '; '."""
    out: dict[str, int] = {}
    for text, n in reasons.items():
        for part in str(text).split("; "):
            part = part.strip()
            if part:
                out[part] = out.get(part, 0) + int(n)
    return out


def _first(values: Iterable | None) -> str | None:
    for v in values or ():
        if v is not None and str(v).strip() != "":
            return str(v)
    return None


def _month_hint(samples: list[str]) -> tuple[str, str] | None:
    style = detect_month_damage(samples)
    if style is None:
        return None
    bad = next(v for v in samples if v is not None and _classify(str(v).strip()) is not None)
    slashed = "auto" if style not in ("dmy", "mdy") else style
    month = repair_month(bad, style=slashed)
    want = f"'{month}'" if month else "YYYY-MM"
    return (f"the Month column was reformatted by a spreadsheet ({_STYLE_LABEL[style]})",
            f"Month values look like a spreadsheet re-saved them: {bad!r} ({_STYLE_LABEL[style]}) where police.uk "
            f"writes {want}. {_REPAIR}.")


# a stop-and-search Date as a spreadsheet writes it: 03/02/2024 14:05, 2/3/2024 14:05, 2024-02-03 14:05
_P_SLASH_DATETIME = re.compile(r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?")
_P_SPACE_DATETIME = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2} [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?")


def _date_hint(samples: list[str]) -> tuple[str, str] | None:
    bad = _first(samples)
    if bad is None:
        return None
    if _P_SLASH_DATETIME.fullmatch(bad.strip()) or _P_SPACE_DATETIME.fullmatch(bad.strip()):
        return ("the Date column was reformatted by a spreadsheet",
                f"Date values look like a spreadsheet re-saved them: {bad!r} where police.uk writes an ISO 8601 "
                f"date-time such as '2024-02-03T14:05:00+00:00'. The spreadsheet dropped the time zone (and the "
                f"seconds), so the times cannot be restored exactly: re-download the file.")
    return None


def _fields_hint(component: str, samples: dict) -> tuple[str, str]:
    m = re.search(r"expected (\d+), found (\d+)", component)
    want, got = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    raw = _first(samples.get("raw") or samples.get("line"))
    sep = None
    if raw is not None:
        counts = {";": raw.count(";"), "\t": raw.count("\t"), "|": raw.count("|")}
        best = max(counts, key=counts.get)
        if counts[best] >= max(2, raw.count(",") + 1):
            sep = best
    names = {";": "semicolons (a European-locale spreadsheet save)", "\t": "tabs", "|": "'|'"}
    if sep is not None or got == 1:
        how = names[sep] if sep else "a separator other than commas (e.g. semicolons, from a European-locale spreadsheet)"
        first = f" The first bad line: {raw[:80]!r}." if raw else ""
        return ("the file is not comma-separated",
                f"Rows split into {got if got is not None else 'the wrong number of'} field(s) where police.uk has "
                f"{want if want is not None else 'its columns'}: the file looks separated by {how}.{first} "
                f"Re-download the file, or save it again as CSV with commas.")
    return ("rows have the wrong number of fields",
            f"Rows have {got} fields where police.uk has {want}: columns were added or removed, or the file was cut "
            f"short (an interrupted download, or a spreadsheet edit). Re-download the file.")


def _encoding_hint(samples: dict) -> tuple[str, str]:
    raw = _first(samples.get("raw") or samples.get("line"))
    first = f" The first bad line: {raw[:80]!r}." if raw else ""
    return ("the file is not UTF-8 text",
            "Text is not UTF-8: the file was probably re-saved by a spreadsheet as Windows-1252/Latin-1 "
            f"(Excel's 'CSV (Comma delimited)').{first} Re-download the file, or save it again as 'CSV UTF-8'.")


def _crime_type_hint(samples: list[str]) -> tuple[str, str] | None:
    from whatworks.store.policeuk_vocab import CRIME_TYPES

    bad = _first(samples)
    if bad is None:
        return None
    close = {re.sub(r"\s+", " ", t.lower()): t for t in CRIME_TYPES}.get(re.sub(r"\s+", " ", bad.strip().lower()))
    if close:
        return ("Crime type values differ from police.uk's spelling",
                f"Crime type {bad!r} differs from police.uk's {close!r} only in capitals or spaces: the column was "
                f"edited (or exported by another tool). Re-download the file.")
    return ("Crime type values are not police.uk's types",
            f"Crime type {bad!r} is not one of the 14 police.uk types (e.g. 'Burglary', 'Vehicle crime', "
            f"'Violence and sexual offences'): this may be a force's own export rather than a police.uk file. "
            f"Load an RMS export with `whatworks ingest records` and a mapping instead.")


def judge_file(rows_read: int, rows_invalid: int, reasons: dict[str, int],
               samples: dict[str, list[str]]) -> Verdict | None:
    """The verdict on one file, or None when there is nothing to say.

    Parameters
    ----------
    rows_read : int
        Data rows read from the file.
    rows_invalid : int
        Rows rejected as invalid (unsplittable or breaking a row rule); duplicates are not invalid.
    reasons : dict reason -> rows
        The quarantine reasons of the invalid rows (a reason may join several with '; ', as the reader writes them).
    samples : dict column -> values
        A few raw values of the rejected rows by column ("Month", "Date", "Crime type", "LSOA code", …), and
        optionally "raw": a few raw lines (for a wrong separator or encoding).

    Returns
    -------
    None when no row is invalid, the file is empty, or fewer than :data:`FAIL_SHARE` of the rows are invalid and
    no known damage is recognised. Otherwise a :class:`Verdict`: ``failed`` is True when
    ``rows_invalid >= FAIL_SHARE * rows_read``; ``reason`` says how many rows were rejected and why (the most
    common reason); ``hint`` names the likely cause, shows the first bad value and what police.uk writes instead,
    and says what to do. Causes recognised, in this order: the wrong number of fields (wrong separator), invalid
    text encoding, a Month or Date column re-saved by a spreadsheet, unknown crime types, codes that lost their
    leading zeros; anything else gets the most common reason and a first bad value.
    """
    for name, v in (("rows_read", rows_read), ("rows_invalid", rows_invalid)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise error("judge_file", f"The {name!r} parameter must be a whole number >= 0.", got=v)
    if rows_invalid > rows_read:
        raise error("judge_file", "More rows invalid than read.", expected=f"rows_invalid <= rows_read ({rows_read})",
                    got=rows_invalid, hint="count duplicates apart: they are not invalid")
    if rows_read == 0 or rows_invalid == 0:
        return None
    samples = {k: list(v or []) for k, v in (samples or {}).items()}
    failed = rows_invalid >= FAIL_SHARE * rows_read
    parts = _components(reasons or {})
    order = sorted(parts, key=lambda k: (-parts[k], k))
    cause: tuple[str, str] | None = None
    for comp in order:
        low = comp.lower()
        if low.startswith("wrong number of fields"):
            cause = _fields_hint(comp, samples)
        elif "encoding" in low:
            cause = _encoding_hint(samples)
        elif "month" in low and "Month" in samples:
            cause = _month_hint(samples["Month"])
        elif "date" in low and "Date" in samples:
            cause = _date_hint(samples["Date"])
        elif "crime type" in low and "unknown" in low and "Crime type" in samples:
            cause = _crime_type_hint(samples["Crime type"])
        if cause:
            break
    if cause is None:
        for col, values in samples.items():
            if col not in ("raw", "line") and lost_leading_zeros(values):
                bad = _first(values)
                cause = (f"the {col} column lost its leading zeros",
                         f"{col} values such as {bad!r} look like codes that lost their leading zeros (a spreadsheet "
                         f"read them as numbers). Re-download the file, or format the column as text before saving.")
                break
    if cause is None and not failed:
        return None
    top = f"{order[0]} ({parts[order[0]]:,} rows)" if order else "no reason recorded"
    threshold = (f"at or above the {FAIL_SHARE:.0%} that makes a failed file, so nothing from it was loaded" if failed
                 else f"below the {FAIL_SHARE:.0%} that makes a failed file")
    share = _share_text(rows_invalid, rows_read)
    reason = f"{share[0].upper()}{share[1:]} were rejected, {threshold}; the most common reason: {top}."
    if cause is None:
        col = next((c for c in samples if c not in ("raw", "line") and _first(samples[c]) is not None), None)
        first = f" The first bad {col}: {_first(samples[col])!r}." if col else ""
        hint = (f"Most rows break the rule {order[0]!r}.{first} Check the file is an unedited police.uk download "
                f"(`whatworks quarantine --export rejected.csv` lists every rejected row).") if order else \
            "Check the file is an unedited police.uk download."
        return Verdict(failed=failed, reason=reason, hint=hint)
    return Verdict(failed=failed, reason=f"{reason} Likely cause: {cause[0]}.", hint=cause[1])


# ---------------------------------------------------------------------------------------------- months
def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        y += 2000 if y < TWO_DIGIT_YEAR_PIVOT else 1900
    return y


def _classify(value: str) -> str | None:
    """The damaged form of one Month value: "iso-date", "yyyy-m", "slash", "mon-yy", or None (valid YYYY-MM or junk)."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
        return None
    if re.fullmatch(_P_ISO, value):
        return "iso-date"
    if re.fullmatch(_P_YM, value):
        return "yyyy-m"
    if re.fullmatch(_P_SLASH, value):
        return "slash"
    if re.fullmatch(_P_MON, value, re.IGNORECASE):
        return "mon-yy"
    return None


def detect_month_damage(values: list[str]) -> str | None:
    """Which spreadsheet format Month values are in: "dmy", "mdy", "mon-yy", "yyyy-m", "iso-date", or None.

    Valid ``YYYY-MM`` values, blanks and junk are passed over; None means no damaged value was recognised (or the
    values mix day/month orders that cannot both be true). The most common damaged form wins.

    Slashed values (``01/07/2018``, ``7/1/2018``) are decided on all of them together, because one value alone is
    ambiguous: any first field > 12 means day first ("dmy"); any second field > 12 means month first ("mdy");
    otherwise a month re-saved as a date is always the 1st, so first fields all 1 (and some second field not 1)
    means "dmy", and second fields all 1 (and some first field not 1) means "mdy". What is still ambiguous
    (``01/01/2018`` alone) is read as "dmy": UK tools save day first.
    """
    forms: dict[str, int] = {}
    slashed: list[tuple[int, int]] = []
    for v in values or ():
        if v is None:
            continue
        s = str(v).strip()
        form = _classify(s)
        if form is None:
            continue
        forms[form] = forms.get(form, 0) + 1
        if form == "slash":
            m = re.fullmatch(_P_SLASH, s)
            slashed.append((int(m.group(1)), int(m.group(2))))
    if not forms:
        return None
    form = max(forms, key=lambda k: (forms[k], k))
    if form != "slash":
        return form
    day_first = any(a > 12 for a, _ in slashed)
    month_first = any(b > 12 for _, b in slashed)
    if day_first and month_first:
        return None
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    if all(a == 1 for a, _ in slashed) and any(b != 1 for _, b in slashed):
        return "dmy"
    if all(b == 1 for _, b in slashed) and any(a != 1 for a, _ in slashed):
        return "mdy"
    return "dmy"


def _check_style(where: str, style: str) -> None:
    if style not in STYLES:
        raise error(where, "The 'style' parameter must be one of 'dmy', 'mdy' or 'auto'.", got=style,
                    hint="use detect_month_damage() on the column's values; its 'mon-yy', 'yyyy-m' and 'iso-date' "
                         "forms are repaired under every style")


def repair_month(value: str | None, style: str = "dmy") -> str | None:
    """The month ``'YYYY-MM'`` a Month value stands for, or None; the Python twin of :func:`month_repair_sql`
    (the two agree on every input). See :func:`month_repair_sql` for the forms and the styles."""
    _check_style("repair_month", style)
    if value is None:
        return None
    s = str(value).strip(" ")   # as SQL trim(): spaces only

    def ok(y: int, m: int, d: int) -> str | None:
        import datetime as dt
        try:
            dt.date(y, m, d)
        except ValueError:
            return None
        return f"{y:04d}-{m:02d}"

    if m := re.fullmatch(_P_YM, s):
        return ok(int(m.group(1)), int(m.group(2)), 1)
    if m := re.fullmatch(_P_ISO, s):
        return ok(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := re.fullmatch(_P_SLASH, s):
        a, b, y = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        if style in ("dmy", "auto") and a == 1:
            return ok(y, b, 1)
        if style in ("mdy", "auto") and b == 1:
            return ok(y, a, 1)
        return None
    if m := re.fullmatch(_P_MON, s, re.IGNORECASE):
        return ok(_year(m.group(2)), _MONTHS.index(m.group(1)[:3].lower()) + 1, 1)
    return None


def month_repair_sql(column: str, style: str = "dmy") -> str:
    """One DuckDB SQL expression giving the first day of the month (DATE) a Month value stands for, else NULL.

    ``column`` is SQL (a column name or expression); it is trimmed. Forms read:

    * ``2018-07`` and ``2018-7`` (yyyy-m);
    * ``2018-07-01`` (yyyy-mm-dd, also with a time after it: LibreOffice) — any valid day, the month is kept;
    * ``01/07/2018``, ``1/7/2018``, ``01/07/18``, also with ``.`` or ``-`` separators and a time after them;
    * ``Jul-18``, ``Jul-2018``, ``July 2018`` (any case).

    ``style`` decides slashed values, and only them. A month a spreadsheet re-saved is always the 1st of that
    month, so only first-of-month readings are taken: "dmy" (default, UK) reads ``01/07/2018`` as July 2018 and
    leaves ``7/1/2018`` NULL; "mdy" (US) reads ``7/1/2018`` as July 2018 and leaves ``01/07/2018`` NULL
    (``1/1/2018`` is January either way); "auto" takes whichever reading is the 1st, day first when both are.
    A wrong style therefore leaves values unrepaired, never repaired into the wrong month. Two-digit years follow
    :data:`TWO_DIGIT_YEAR_PIVOT`. Impossible dates (``31/02/2018``, month 13) and anything else give NULL.
    """
    _check_style("month_repair_sql", style)
    v = f"trim(CAST(({column}) AS VARCHAR))"

    def g(pattern: str, i: int, flags: str = "") -> str:
        opt = f", '{flags}'" if flags else ""
        return f"TRY_CAST(regexp_extract({v}, '^{pattern}$', {i}{opt}) AS INTEGER)"

    def yy(pattern: str, i: int, flags: str = "") -> str:
        opt = f", '{flags}'" if flags else ""
        text = f"regexp_extract({v}, '^{pattern}$', {i}{opt})"
        return (f"(CASE WHEN length({text}) = 2 THEN (CASE WHEN TRY_CAST({text} AS INTEGER) < {TWO_DIGIT_YEAR_PIVOT} "
                f"THEN 2000 ELSE 1900 END) + TRY_CAST({text} AS INTEGER) ELSE TRY_CAST({text} AS INTEGER) END)")

    def month_of(y: str, m: str, d: str) -> str:
        return f"CAST(date_trunc('month', TRY_CAST(printf('%04d-%02d-%02d', {y}, {m}, {d}) AS DATE)) AS DATE)"

    sa, sb, sy = g(_P_SLASH, 1), g(_P_SLASH, 2), yy(_P_SLASH, 3)
    dmy = f"CASE WHEN {sa} = 1 THEN {month_of(sy, sb, '1')} END"
    mdy = f"CASE WHEN {sb} = 1 THEN {month_of(sy, sa, '1')} END"
    slashed = {"dmy": dmy, "mdy": mdy, "auto": f"coalesce({dmy}, {mdy})"}[style]
    months = "[" + ", ".join(f"'{m}'" for m in _MONTHS) + "]"
    mon = (f"list_position({months}, lower(substr(regexp_extract({v}, '^{_P_MON}$', 1, 'i'), 1, 3)))")
    return f"""(CASE
      WHEN regexp_full_match({v}, '{_P_YM}') THEN {month_of(g(_P_YM, 1), g(_P_YM, 2), '1')}
      WHEN regexp_full_match({v}, '{_P_ISO}') THEN {month_of(g(_P_ISO, 1), g(_P_ISO, 2), g(_P_ISO, 3))}
      WHEN regexp_full_match({v}, '{_P_SLASH}') THEN ({slashed})
      WHEN regexp_full_match({v}, '{_P_MON}', 'i') THEN {month_of(yy(_P_MON, 2, 'i'), mon, '1')}
    END)"""


# ---------------------------------------------------------------------------------------------- codes
def lost_leading_zeros(values: Iterable[str | None], *, width: int | None = None) -> bool:
    """Whether a column of codes looks like a spreadsheet stripped their leading zeros (``01234`` → ``1234``).

    With ``width`` (the codes' fixed length): True when any all-digit value is shorter than ``width``. Without it:
    True when every non-blank value is all digits (optionally ending ``.0``, as Excel writes numbers), none starts
    with 0, at least half share the longest length, and some are shorter — the shape a fixed-width code column
    takes after its zeros are gone. Codes with letters (``E01011365``) never lose zeros and give False.
    """
    vals = []
    for v in values or ():
        if v is None or str(v).strip() == "":
            continue
        s = str(v).strip()
        s = s[:-2] if s.endswith(".0") else s
        if not s.isdigit():
            return False
        vals.append(s)
    if not vals:
        return False
    if width is not None:
        return any(len(s) < width for s in vals)
    if any(s.startswith("0") for s in vals):
        return False
    longest = max(len(s) for s in vals)
    at_longest = sum(len(s) == longest for s in vals)
    return longest >= 2 and at_longest * 2 >= len(vals) and at_longest < len(vals)
