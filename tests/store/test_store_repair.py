"""store/_repair.py: the failed-file judge, spreadsheet month damage, the month repair SQL (issue 11 item 4)."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realshaped as rs
from whatworks.errors import WhatworksError
from whatworks.store._repair import (FAIL_SHARE, TWO_DIGIT_YEAR_PIVOT, Verdict, detect_month_damage, judge_file,
                                     lost_leading_zeros, month_repair_sql, repair_month)

MON = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December")


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _sql(con, values, style="dmy"):
    """The repair SQL run by DuckDB on ``values``: 'YYYY-MM' or None for each."""
    rows = con.execute(f"SELECT strftime({month_repair_sql('v', style)}, '%Y-%m') FROM "
                       f"(SELECT unnest(?::VARCHAR[]) AS v, generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i",
                       [values, values]).fetchall()
    return [r[0] for r in rows]


# ---------------------------------------------------------------- CHECK INPUTS
def test_bad_arguments_are_refused():
    with pytest.raises(WhatworksError, match="'style' parameter must be one of 'dmy', 'mdy' or 'auto'"):
        month_repair_sql("month", "ymd")
    with pytest.raises(WhatworksError, match="'style'"):
        repair_month("01/07/2018", "mon-yy")
    with pytest.raises(WhatworksError, match="rows_read"):
        judge_file(-1, 0, {}, {})
    with pytest.raises(WhatworksError, match="More rows invalid than read"):
        judge_file(10, 11, {}, {})


def test_fail_share_constant():
    assert FAIL_SHARE == 0.9 and TWO_DIGIT_YEAR_PIVOT == 30


# ---------------------------------------------------------------- month_repair_sql on hand-built values
CASES = [  # value, dmy, mdy, auto
    ("2018-07", "2018-07", "2018-07", "2018-07"),
    ("  2018-07 ", "2018-07", "2018-07", "2018-07"),
    ("2018-7", "2018-07", "2018-07", "2018-07"),
    ("2018-07-01", "2018-07", "2018-07", "2018-07"),
    ("2018-07-15 00:00:00", "2018-07", "2018-07", "2018-07"),
    ("01/07/2018", "2018-07", None, "2018-07"),
    ("1/7/2018", "2018-07", None, "2018-07"),
    ("01/07/18", "2018-07", None, "2018-07"),
    ("01.07.2018", "2018-07", None, "2018-07"),
    ("01-07-2018", "2018-07", None, "2018-07"),
    ("01/07/2018 00:00", "2018-07", None, "2018-07"),
    ("7/1/2018", None, "2018-07", "2018-07"),
    ("12/1/2018", None, "2018-12", "2018-12"),
    ("1/1/2018", "2018-01", "2018-01", "2018-01"),
    ("15/07/2018", None, None, None),          # a date, not a month: never guessed
    ("Jul-18", "2018-07", "2018-07", "2018-07"),
    ("jul-2018", "2018-07", "2018-07", "2018-07"),
    ("JULY 2018", "2018-07", "2018-07", "2018-07"),
    ("Sept-99", "1999-09", "1999-09", "1999-09"),
    ("Jan-29", "2029-01", "2029-01", "2029-01"),
    ("Jan-30", "1930-01", "1930-01", "1930-01"),
    ("31/02/2018", None, None, None),
    ("2018-02-30", None, None, None),
    ("2018-13", None, None, None),
    ("2018-00", None, None, None),
    ("13/13/2018", None, None, None),
    ("Jux-18", None, None, None),
    ("0999-01", None, None, None),
    ("junk", None, None, None),
    ("", None, None, None),
    (None, None, None, None),
]


@pytest.mark.parametrize("style, col", [("dmy", 1), ("mdy", 2), ("auto", 3)])
def test_month_repair_sql_every_form_junk_and_null(con, style, col):
    values = [c[0] for c in CASES]
    want = [c[col] for c in CASES]
    assert _sql(con, values, style) == want
    assert [repair_month(v, style) for v in values] == want   # the Python twin agrees


def test_month_repair_sql_returns_a_date_and_takes_an_expression(con):
    got = con.execute(f"SELECT {month_repair_sql('upper(x)')}, typeof({month_repair_sql('x')}) FROM (SELECT 'jul-18' AS x)").fetchone()
    assert str(got[0]) == "2018-07-01" and got[1] == "DATE"


def _render(y: int, m: int, style: str) -> str:
    return {"ym": f"{y:04d}-{m:02d}", "yyyy-m": f"{y:04d}-{m}", "iso-date": f"{y:04d}-{m:02d}-01",
            "dmy": f"01/{m:02d}/{y:04d}", "d/m": f"1/{m}/{y:04d}", "mdy": f"{m}/1/{y:04d}",
            "mon-yyyy": f"{MON[m - 1]}-{y:04d}", "full": f"{FULL[m - 1]} {y:04d}",
            "mon-yy": f"{MON[m - 1]}-{y % 100:02d}", "dmy-yy": f"01/{m:02d}/{y % 100:02d}"}[style]


FOUR = ["ym", "yyyy-m", "iso-date", "dmy", "d/m", "mdy", "mon-yyyy", "full"]
TWO = ["mon-yy", "dmy-yy"]


@settings(max_examples=150, deadline=None)
@given(y=st.integers(1900, 2099), m=st.integers(1, 12), form=st.sampled_from(FOUR + TWO))
def test_any_month_rendered_in_any_style_comes_back(con, y, m, form):
    if form in TWO:   # two-digit years cover Excel's window only: 1930-2029
        y = 1930 + (y - 1900) % 100
    value = _render(y, m, form)
    style = "mdy" if form == "mdy" else "dmy"
    want = f"{y:04d}-{m:02d}"
    assert _sql(con, [value], style) == [want]
    assert _sql(con, [value], "auto") == [want]
    assert repair_month(value, style) == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789/-. :JanulyFebSeptT", max_size=12)), max_size=8))
def test_sql_and_python_agree_on_anything(con, values):
    for style in ("dmy", "mdy", "auto"):
        assert _sql(con, values, style) == [repair_month(v, style) for v in values]


# ---------------------------------------------------------------- detect_month_damage
@pytest.mark.parametrize("values, want", [
    (["01/07/2018", "01/08/2018"], "dmy"),                  # first fields all 1: day first
    (["7/1/2018", "8/1/2018"], "mdy"),                      # second fields all 1: month first
    (["1/1/2018"], "dmy"),                                  # ambiguous: UK default
    (["01/01/2018", "01/01/2018"], "dmy"),
    (["13/01/2018", "01/01/2018"], "dmy"),                  # a first field > 12
    (["1/13/2018", "1/1/2018"], "mdy"),                     # a second field > 12
    (["13/1/2018", "1/13/2018"], None),                     # both cannot be true
    (["Jul-18", "Aug-18"], "mon-yy"),
    (["Jul-2018"], "mon-yy"),
    (["2018-7", "2018-10"], "yyyy-m"),
    (["2018-07-01", "2018-08-01 00:00:00"], "iso-date"),
    (["2018-07", "2018-08"], None),                         # valid police.uk months
    (["", None, "junk", "2018-13"], None),
    ([], None),
    (["2018-07", "01/07/2018", "junk"], "dmy"),            # valid and junk values are passed over
    (["Jul-18", "Aug-18", "01/07/2018"], "mon-yy"),         # the most common damaged form wins
])
def test_detect_month_damage(values, want):
    assert detect_month_damage(values) == want


@pytest.mark.parametrize("style, want", [("dmy", "dmy"), ("mdy", "mdy"), ("mon-yy", "mon-yy"),
                                         ("iso-date", "iso-date"), ("yyyy-m", "yyyy-m")])
def test_detect_and_repair_a_real_shaped_damaged_file(tmp_path, con, style, want):
    root = rs.archive(tmp_path / "a", months=["2018-07"])
    out = rs.excel_damage(root / "2018-07" / "2018-07-northshire-street.csv", style=style)
    months = [r[1] for r in csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline=""))][1:]
    assert len(months) == 82 and detect_month_damage(months) == want
    slashed = want if want in ("dmy", "mdy") else "dmy"
    assert set(_sql(con, months, slashed)) == {"2018-07"}


# ---------------------------------------------------------------- judge_file
def test_judge_spreadsheet_month_fails_with_the_first_bad_value():
    v = judge_file(31_635, 31_635, {"unparseable Month (expected YYYY-MM)": 31_635}, {"Month": ["01/07/2018", "01/07/2018"]})
    assert isinstance(v, Verdict) and v.failed
    assert v.reason == ("All 31,635 rows were rejected, at or above the 90% that makes a failed file, so nothing from "
                        "it was loaded; the most common reason: unparseable Month (expected YYYY-MM) (31,635 rows). "
                        "Likely cause: the Month column was reformatted by a spreadsheet (dd/mm/yyyy).")
    assert v.hint == ("Month values look like a spreadsheet re-saved them: '01/07/2018' (dd/mm/yyyy) where police.uk "
                      "writes '2018-07'. Re-download the file, or load it with --repair-dates (repair_dates=True).")


@pytest.mark.parametrize("sample, label, expected", [
    ("7/1/2018", "m/d/yyyy, a US-locale save", "'2018-07'"),
    ("Jul-18", "Mon-yy", "'2018-07'"),
    ("2018-07-01", "yyyy-mm-dd", "'2018-07'"),
])
def test_judge_other_month_styles(sample, label, expected):
    v = judge_file(50, 50, {"unparseable Month (expected YYYY-MM); unknown Crime type": 50}, {"Month": [sample]})
    assert v.failed and f"({label}) where police.uk writes {expected}" in v.hint and repr(sample) in v.hint


def test_judge_threshold_is_at_least_ninety_percent():
    reasons = {"missing Falls within": 90}
    at = judge_file(100, 90, reasons, {"Falls within": [""]})
    below = judge_file(100, 89, {"missing Falls within": 89}, {})
    assert at.failed and at.reason.startswith("90 of 100 rows (90%) were rejected, at or above the 90%")
    assert "the most common reason: missing Falls within (90 rows)." in at.reason
    assert "Most rows break the rule 'missing Falls within'" in at.hint
    assert below is None                                   # unrecognised and under the threshold: nothing to say
    assert judge_file(100, 0, {}, {}) is None and judge_file(0, 0, {}, {}) is None


def test_judge_share_never_rounds_to_all():
    v = judge_file(1000, 999, {"invalid text encoding (not UTF-8)": 999}, {})
    assert v.failed and v.reason.startswith("999 of 1,000 rows (99.9%) were rejected")
    assert "Windows-1252/Latin-1" in v.hint and "CSV UTF-8" in v.hint


def test_judge_wrong_delimiter():
    v = judge_file(10, 10, {"wrong number of fields: expected 12, found 1": 10}, {"raw": ["a;b;c;d;e"]})
    assert v.failed and "Likely cause: the file is not comma-separated." in v.reason
    assert "Rows split into 1 field(s) where police.uk has 12: the file looks separated by semicolons" in v.hint
    assert "'a;b;c;d;e'" in v.hint
    # no raw line given: the single field still points at the separator
    w = judge_file(10, 10, {"wrong number of fields: expected 12, found 1": 10}, {})
    assert "a separator other than commas" in w.hint
    cut = judge_file(10, 10, {"wrong number of fields: expected 12, found 6": 10}, {})
    assert cut.hint.startswith("Rows have 6 fields where police.uk has 12")


def test_judge_unknown_crime_types():
    spelt = judge_file(100, 3, {"unknown Crime type": 3}, {"Crime type": ["burglary "]})
    assert not spelt.failed   # recognised, but a few rows only: advice, not a failure
    assert "differs from police.uk's 'Burglary' only in capitals or spaces" in spelt.hint
    other = judge_file(20, 20, {"unknown Crime type": 20}, {"Crime type": ["Burglary - residential"]})
    assert other.failed and "'Burglary - residential' is not one of the 14 police.uk types" in other.hint


def test_judge_stop_search_dates():
    v = judge_file(10, 10, {"unparseable Date (expected an ISO 8601 date-time)": 10}, {"Date": ["03/02/2024 14:05"]})
    assert v.failed and "'03/02/2024 14:05' where police.uk writes an ISO 8601 date-time" in v.hint


def test_judge_lost_leading_zeros():
    v = judge_file(10, 10, {"unknown code": 10}, {"Officer id": ["1234", "2345", "345", "4567"]})
    assert v.failed and "'1234' look like codes that lost their leading zeros" in v.hint


def test_judge_unrecognised_month_junk_falls_back():
    v = judge_file(10, 10, {"unparseable Month (expected YYYY-MM)": 10}, {"Month": ["2018-13"]})
    assert v.failed and "The first bad Month: '2018-13'" in v.hint


# ---------------------------------------------------------------- lost_leading_zeros
@pytest.mark.parametrize("values, width, want", [
    (["1234", "2345", "345", "4567"], None, True),
    (["1234.0", "2345.0", "345.0"], None, True),
    (["01234", "02345", "12345"], None, False),     # zeros still there
    (["E01011365", "E01011366"], None, False),       # letters: a spreadsheet keeps them as text
    (["1234", "2345", "3456"], None, False),         # all the same length
    (["1", "22", "333", "4444"], None, False),       # free-length numbers
    (["", None], None, False),
    (["1234", "12345"], 5, True),
    (["12345", "23456"], 5, False),
])
def test_lost_leading_zeros(values, width, want):
    assert lost_leading_zeros(values, width=width) is want
