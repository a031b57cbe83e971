"""store.exports.prepare_folder: the output-folder handling that `whatworks demo` uses (file operations live in store/)."""

from __future__ import annotations

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
