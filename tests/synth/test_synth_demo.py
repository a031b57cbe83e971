"""`whatworks demo` and `whatworks synth`: the README's main commands."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from whatworks.demo import DEMO_STEPS, DemoStep, run_demo
from whatworks.errors import WhatworksError

SMALL = dict(seed=3, crimes=4_000, months=12, boroughs=2)


def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    console = Console(record=True, width=120)
    res = run_demo(out, console=console, **SMALL)
    assert [s.name for s in DEMO_STEPS] == list(res.timings)
    assert res.reports["policeuk"].rows_quarantined == 0 and res.reports["records"].rows_quarantined == 0
    assert res.store_summary["quarantined"] == 0
    ev = res.store_summary["events"]
    assert {"police.uk", "synthshire-rms", "synthshire-stopsearch", "synthshire-custody"} <= set(ev["source_system"])
    assert res.store_path.exists()
    for _, path in res.outputs:
        assert path.exists(), path
    text = console.export_text()
    assert "What is in the store" in text and "Where everything is" in text and "whatworks.duckdb" in text
    truth = json.loads(res.paths["truth_json"].read_text())
    assert truth["parameters"]["crimes"] == SMALL["crimes"]
    assert "Worked evaluations" in text and set(res.reports["evaluations"]) >= {"offender_management",
                                                                               "problem_solving_policy"}


@pytest.mark.slow
def test_the_demo_evaluations_recover_the_truth(tmp_path):
    """At the demo's own size (seed 0): the matched comparison covers the offender programme's true null while the
    naive before/after shows a fall; Callaway–Sant'Anna's CI covers the policy's true rate ratio 0.85."""
    import math

    steps = [s for s in DEMO_STEPS if s.name in ("generate", "write", "ingest", "evaluate")]
    res = run_demo(tmp_path / "d", steps=steps, console=Console(file=open("/dev/null", "w")))
    ev = res.reports["evaluations"]
    assert ev["offender_management_naive"] < 0
    e = ev["offender_management_effect"]
    assert e.ci_low <= 0 <= e.ci_high
    cs = ev["problem_solving_policy"]
    assert math.exp(cs.ci_low) <= 0.85 <= math.exp(cs.ci_high)


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(WhatworksError, match="not made by `whatworks demo`"):
        run_demo(tmp_path, console=Console(file=open("/dev/null", "w")), **SMALL)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_demo_steps_are_extensible(tmp_path):
    seen = []

    def extra(ctx):
        seen.append(ctx.force.params["seed"])
        ctx.outputs.append(("extra output", ctx.out_dir))

    steps = [DEMO_STEPS[0], DemoStep("extra", "An added step", extra)]
    res = run_demo(tmp_path / "d", steps=steps, console=Console(file=open("/dev/null", "w")), **SMALL)
    assert seen == [SMALL["seed"]] and list(res.timings) == ["generate", "extra"]
    # a second run in the same (demo-made) folder is allowed and refreshes it
    run_demo(tmp_path / "d", steps=steps, console=Console(file=open("/dev/null", "w")), **SMALL)


def test_cli_synth_writes_files(tmp_path):
    from whatworks.cli import app

    out = tmp_path / "force"
    result = CliRunner().invoke(app, ["synth", "--seed", "3", "--crimes", "4000", "--months", "12", "--boroughs", "2",
                                      "--out", str(out), "--no-zip"])
    assert result.exit_code == 0, result.output
    assert (out / "policeuk" / "2022-04" / "2022-04-synthshire-street.csv").exists()
    assert not (out / "policeuk.zip").exists()
    assert (out / "records" / "mapping.toml").exists() and (out / "truth" / "truth.json").exists()
    assert "Synthshire Police" in result.output


def test_the_demo_module_leaves_file_operations_to_the_store():
    """DESIGN.md: I/O only in store/. The demo's folder handling goes through whatworks.store.exports.prepare_folder."""
    import ast
    import inspect

    import whatworks.demo as demo

    tree = ast.parse(inspect.getsource(demo))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module.split(".")[0] for n in ast.walk(tree)
                                     if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"shutil", "os", "tempfile", "io"}
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {"open", "mkdir", "unlink", "rmtree", "write_text", "write_bytes", "rmdir", "touch"}
