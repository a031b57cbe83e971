"""docs/walkthrough.md runs as written (issue 17 item 7): its `whatworks synth` command makes the download, then
every Python block runs in order in one namespace, in a scratch folder. The blocks use only the store's read API
(no SQL, no connection), which the test also checks."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bash = _blocks("bash")
    assert len(bash) == 1 and bash[0].startswith("whatworks synth ")
    args = bash[0].split()[1:]
    args[args.index("--crimes") + 1] = "8000"          # the page's force, smaller, so the test is quick
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "synthetic-force" / "policeuk.zip").is_file()
    code = _blocks("python")
    assert len(code) >= 5
    for block in code:
        assert not re.search(r"\.sql\(|\.con\b|import duckdb", block), block     # the read API only
    ns: dict = {}
    ww.options.quiet = True
    try:
        for block in code:
            exec(compile(block, str(DOC), "exec"), ns)
    finally:
        ww.options.quiet = False
        if "store" in ns:
            ns["store"].close()
    assert ns["report"].rows_read == ns["report"].rows_loaded + ns["report"].rows_quarantined + ns["report"].duplicates_skipped
    assert len(ns["burglary"]) > 0 and set(ns["burglary"].columns) == {"month", "x", "y"}
    assert len(ns["hot"].table) == len(ns["cells"].table)
    assert (tmp_path / "pack.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
