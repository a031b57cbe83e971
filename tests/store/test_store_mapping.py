"""The records mapping file (store/mapping.py): loading, TOML round trip, and every refusal at the door."""

from __future__ import annotations

from pathlib import Path

import pytest

from whatworks.errors import WhatworksError
from whatworks.store.mapping import (DEFAULT_DATE_FORMATS, TABLES, FileSpec, Mapping, format_has_zone,
                                     format_precision, format_zone)

FIX = Path(__file__).parent / "fixtures" / "records" / "northshire" / "mapping.toml"

BASE = """
version = 1
source_system = "rms"
[[files]]
pattern = "crimes*.csv"
table = "crimes"
[files.columns]
reference = "Ref"
occurred = "When"
crime_type = "Type"
"""


def load(text: str) -> Mapping:
    return Mapping.from_toml(text)


# ---------------------------------------------------------------- CHECK OUTPUTS
def test_fixture_mapping_loads_with_every_block():
    m = Mapping.load(FIX)
    assert m.source_system == "northshire-rms" and m.force == "Northshire Police"
    assert [f.table for f in m.files] == ["crimes", "stops", "arrests", "persons", "roles", "persons"]
    crimes = m.files[0]
    assert crimes.columns["x"] == "Easting"
    assert crimes.date_formats("occurred") == ("%d/%m/%Y %H:%M", "%d/%m/%Y")
    assert crimes.codes["crime_type"]["BUR-RES"] == "Burglary"
    # a single format string becomes a one-element tuple
    assert m.files[1].date_formats("occurred") == ("%Y-%m-%dT%H:%M:%S",)
    probation = m.files[5]
    assert m.source_system_of(probation) == "northshire-probation"
    assert (m.encoding_of(probation), m.delimiter_of(probation)) == ("latin-1", ";")
    assert (m.encoding_of(crimes), m.delimiter_of(crimes)) == ("utf-8", ",")
    assert m.source_system_of(crimes) == "northshire-rms"


def test_round_trip_through_toml_is_exact(tmp_path):
    m = Mapping.load(FIX)
    assert Mapping.from_toml(m.to_toml()) == m
    path = m.save(tmp_path / "copy.toml")
    assert Mapping.load(path) == m


def test_round_trip_keeps_awkward_strings():
    text = BASE + r'''
[files.codes.crime_type]
"BUR \"RES\"" = "Burglary"
"a\\b" = "Robbery"
"tab\there" = "Drugs"
"Ünïcödé, with comma" = "Shoplifting"
"blank me" = ""
[files.constants]
location = "Line one\nline two"
'''
    m = load(text)
    assert m.files[0].codes["crime_type"]['BUR "RES"'] == "Burglary"
    again = Mapping.from_toml(m.to_toml())
    assert again == m
    assert again.files[0].constants["location"] == "Line one\nline two"


def test_default_date_formats_are_iso():
    m = load(BASE)
    assert m.files[0].date_formats("occurred") == DEFAULT_DATE_FORMATS
    assert m.encoding == "utf-8" and m.delimiter == "," and m.force is None


def test_constants_accept_numbers_and_booleans_as_text():
    m = load(BASE + "[files.constants]\nlsoa_code = 12\noutcome = true\n")
    assert m.files[0].constants == {"lsoa_code": "12", "outcome": "true"}


def test_a_constant_can_satisfy_a_required_column():
    text = """version = 1
source_system = "rms"
[[files]]
pattern = "victims*.csv"
table = "roles"
[files.columns]
reference = "Ref"
person_id = "Pid"
[files.constants]
role = "victim"
"""
    assert load(text).files[0].constants == {"role": "victim"}


def test_pattern_matches_file_name_ignoring_case_and_folder():
    spec = load(BASE).files[0]
    assert spec.matches("CRIMES_2024-01.CSV")
    assert spec.matches("/some/folder/crimes_x.csv")
    assert not spec.matches("persons.csv")


@pytest.mark.parametrize("fmt, precision", [
    ("%d/%m/%Y %H:%M", "minute"), ("%Y-%m-%dT%H:%M:%S%z", "minute"), ("%d/%m/%Y", "day"), ("%d-%b-%Y", "day"),
    ("%m/%Y", "month"), ("%Y-%m-%d %I:%M %p", "minute"), ("%Y%%%m%%%d", "day"),
])
def test_format_precision(fmt, precision):
    assert format_precision(fmt) == precision


def test_format_zone():
    assert format_zone("%Y-%m-%dT%H:%M:%S%z") == "offset" and format_has_zone("%Y-%m-%dT%H:%M:%S%z")
    assert format_zone("%Y-%m-%dT%H:%M:%SZ") == "utc"
    assert format_zone("%Y-%m-%d %H:%M") is None and not format_has_zone("%Y-%m-%d %H:%M")


def test_every_table_kind_documents_its_columns():
    for kind in TABLES.values():
        assert kind.required and set(kind.required).isdisjoint(kind.optional)


# ---------------------------------------------------------------- CHECK INPUTS: refusals name the problem
@pytest.mark.parametrize("text, match", [
    (BASE.replace('table = "crimes"', 'table = "crime"'), r"unknown table kind.*'crimes', 'stops', 'arrests', 'persons', 'roles'.*Got 'crime'"),
    (BASE + 'offence = "Type2"\n', r"\[files.columns\] 'offence' is not a canonical column of table 'crimes'"),
    (BASE.replace('crime_type = "Type"\n', ""), r"required canonical column\(s\) \['crime_type'\] of table 'crimes' are not mapped"),
    (BASE + '[files.formats]\noccurred = "%d/%Q/%Y"\n', r"'%d/%Q/%Y' is not a date format DuckDB can read"),
    (BASE + '[files.formats]\noccurred = "%d/%m"\n', r"does not read a year and a month"),
    (BASE + '[files.formats]\noccurred = []\n', r"give a format string or a non-empty list"),
    (BASE + '[files.formats]\ncrime_type = "%Y"\n', r"'crime_type' is not a date column of table 'crimes'"),
    (BASE + '[files.codes.gender]\n"M" = "Male"\n', r"\[files.codes.gender\]: 'gender' is not a canonical column of table 'crimes'"),
    (BASE + '[files.codes.outcome]\n"NFA" = "No further action"\n', r"translates codes for 'outcome', which is not mapped"),
    (BASE + '[files.codes.crime_type]\n"BUR" = "Burglery"\n', r"translates 'BUR' to 'Burglery', which is not a police.uk crime type"),
    (BASE + '[files.codes.crime_type]\n" BUR" = "Burglary"\n', r"surrounding spaces"),
    (BASE + '[files.codes.crime_type]\n"BUR" = 3\n', r"canonical value must be a string"),
    (BASE + '[files.constants]\nreference = "X"\n', r"'reference' is both mapped to a column and given as a constant"),
    (BASE + '[files.constants]\nkind = "burglary"\n', r"kind = 'burglary' is not an event kind"),
    (BASE + 'x = "E"\n', r"'x' and 'y' come as a pair"),
    (BASE + 'x = "E"\ny = "N"\nlon = "Lo"\nlat = "La"\n', r"map either x/y .* or lon/lat"),
    (BASE.replace("version = 1", "version = 2"), r"'version' must be 1"),
    (BASE.replace('source_system = "rms"', ""), r"'source_system' is required"),
    (BASE.replace('source_system = "rms"', 'source_system = "rms"\nsourcesystem = "x"'), r"unknown top-level key\(s\) \['sourcesystem'\]"),
    (BASE.replace('table = "crimes"', 'table = "crimes"\npatern = "x"'), r"unknown key\(s\) \['patern'\]"),
    (BASE.replace('source_system = "rms"', 'source_system = "rms"\nencoding = "ebcdic"'), r"'encoding' is not one whatworks reads"),
    (BASE.replace('source_system = "rms"', 'source_system = "rms"\ndelimiter = ",,"'), r"'delimiter' must be one character"),
    ('version = 1\nsource_system = "rms"\n', r"no \[\[files\]\] blocks"),
    (BASE + "this is = not toml\n", r"not valid TOML"),
    (BASE.replace('pattern = "crimes*.csv"\n', ""), r"'pattern' is required"),
])
def test_bad_mapping_is_refused_with_a_clear_message(text, match):
    with pytest.raises(WhatworksError, match=match) as info:
        load(text)
    msg = str(info.value)
    assert msg.startswith("ingest_records(): Mapping ") and "Hint:" in msg


def test_formats_for_an_unmapped_date_column_are_refused():
    text = BASE.replace('table = "crimes"', 'table = "persons"').replace(
        'reference = "Ref"\noccurred = "When"\ncrime_type = "Type"\n', 'person_id = "Pid"\n') + '[files.formats]\ndob = "%d/%m/%Y"\n'
    with pytest.raises(WhatworksError, match=r"gives formats for 'dob', which is not mapped"):
        load(text)


def test_a_date_constant_must_match_its_formats():
    text = BASE.replace('occurred = "When"\n', "") + '[files.constants]\noccurred = "yesterday"\n'
    with pytest.raises(WhatworksError, match=r"occurred = 'yesterday' does not match the date formats"):
        load(text)
    assert load(BASE.replace('occurred = "When"\n', "") + '[files.constants]\noccurred = "2024-05-01"\n')


def test_error_names_the_block_and_its_pattern():
    text = BASE + '\n[[files]]\npattern = "people.csv"\ntable = "persons"\n[files.columns]\nforename = "F"\n'
    with pytest.raises(WhatworksError, match=r"\[\[files\]\] block 2 \(pattern 'people.csv'\)"):
        load(text)


def test_missing_mapping_file_is_refused(tmp_path):
    with pytest.raises(WhatworksError, match=r"mapping file .*nope.toml' does not exist"):
        Mapping.load(tmp_path / "nope.toml")


def test_filespec_is_frozen():
    spec = FileSpec(pattern="a", table="crimes")
    with pytest.raises(AttributeError):
        spec.pattern = "b"
