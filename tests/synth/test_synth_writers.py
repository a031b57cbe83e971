"""The file writers' small rules, on tiny hand-built inputs."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest

from whatworks.errors import WhatworksError
from whatworks.store import writers as W
from whatworks.synth import force as F
from whatworks.store.mapping import Mapping


def test_unquoted_unless_needed():
    plain = pa.table({"a": ["x", None, "On or near High Street"], "b": [1, 2, 3]})
    buf = io.BytesIO()
    W.write_table(buf, plain, check=True)
    assert buf.getvalue() == b"x,1\n,2\nOn or near High Street,3\n"
    awkward = pa.table({"a": ["O'Brien, Jr", 'say "hi"'], "b": [1, 2]})
    buf = io.BytesIO()
    W.write_table(buf, awkward, check=True)
    rows = list(csv.reader(io.StringIO(buf.getvalue().decode())))
    assert rows == [["O'Brien, Jr", "1"], ['say "hi"', "2"]]
    # semicolon files quote values holding a semicolon
    buf = io.BytesIO()
    W.write_table(buf, pa.table({"a": ["a;b"]}), ";", check=True)
    assert list(csv.reader(io.StringIO(buf.getvalue().decode()), delimiter=";")) == [["a;b"]]


def test_vocabulary_check_refuses_delimiters():
    W.check_text(["Investigation complete; no suspect identified"], "outcome")   # ';' is fine in comma files
    with pytest.raises(WhatworksError, match="delimiter"):
        W.check_text(["High Street, North"], "street name")
    with pytest.raises(WhatworksError, match="delimiter"):
        W.check_text(["a;b"], "name", delimiter=";")
    F._check_vocabularies()


def test_mapping_file_is_valid_and_covers_every_file():
    m = Mapping.from_toml(F.mapping_toml())
    names = ["crimes.csv", "stops.csv", "arrests.csv", "roles.csv", *(v[0] for v in F.PERSON_FILES.values())]
    for name in names:
        assert len(m.match(name)) == 1, name
    tables = {s.table for s in m.files}
    assert tables == {"crimes", "stops", "arrests", "roles", "persons"}
    probation = [s for s in m.files if s.pattern == "persons-probation.csv"][0]
    assert probation.delimiter == ";" and probation.source_system == "synthshire-probation"
    crimes = [s for s in m.files if s.table == "crimes"][0]
    assert crimes.codes["crime_type"]["BUR"] == "Burglary" and crimes.codes["kind"]["ASB"] == "asb"


def test_strftime_and_strings():
    import numpy as np

    ts = np.array(["2024-01-05T10:30", "2024-07-01T00:05"], dtype="datetime64[s]")
    assert W.strftime_array(ts, F.RMS_DATE).to_pylist() == ["05/01/2024 10:30", "01/07/2024 00:05"]
    assert W.text_array(np.array(["a", None, float("nan")], dtype=object)).to_pylist() == ["a", None, None]
