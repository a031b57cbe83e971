"""``whatworks impact ...`` (issue 14, item 7 of this part): each command on a CSV, --help, --out through write_table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from whatworks._cli_impact import register

GOLDEN = Path(__file__).parents[1] / "golden"
runner = CliRunner()


@pytest.fixture(scope="module")
def cli():
    root = typer.Typer()

    @root.callback()
    def _root():
        """whatworks (test root)."""

    register(root)
    return root


def test_help_lists_every_command(cli):
    r = runner.invoke(cli, ["impact", "--help"])
    assert r.exit_code == 0
    for cmd in ("match", "did", "its", "synth", "displacement", "event"):
        assert cmd in r.output
        h = runner.invoke(cli, ["impact", cmd, "--help"])
        assert h.exit_code == 0 and "--out" in h.output


def test_match_on_lalonde_writes_pairs(cli, tmp_path):
    g = json.loads((GOLDEN / "impact_match_golden.json").read_text())
    f = tmp_path / "lalonde.csv"
    pd.DataFrame(g["data"]).drop(columns=["_row"], errors="ignore").to_csv(f, index=False)
    out = tmp_path / "pairs.csv"
    r = runner.invoke(cli, ["impact", "match", str(f), "--treatment", "treat", "-c", "age,educ,race,married,nodegree",
                            "-c", "re74,re75", "--id", "id", "--outcome", "re78", "--table", "pairs", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "Matched 185 of 185 treated units" in r.output and "the unmatched difference was -635" in r.output
    assert "Maryland SMS hint" in r.output
    pairs = pd.read_csv(out)
    assert len(pairs) == 185 and set(pairs.columns) >= {"treated_id", "control_id", "distance"}
    assert (tmp_path / "pairs.csv.provenance.json").exists()


def test_its_effects(cli, tmp_path):
    g = json.loads((GOLDEN / "impact_its_golden.json").read_text())
    f = tmp_path / "series.parquet"
    pd.DataFrame({"month": g["dates"], "y": g["y_gaussian"]}).to_parquet(f)
    out = tmp_path / "effects.csv"
    r = runner.invoke(cli, ["impact", "its", str(f), "--date", "month", "--value", "y", "--intervention", g["intervention"],
                            "--seasonality", "yes", "--maxlags", "3", "--table", "effects", "--out", str(out)])
    assert r.exit_code == 0, r.output
    eff = pd.read_csv(out).set_index("term")
    assert eff.loc["level_change", "estimate"] == pytest.approx(g["ols_params"][2], abs=1e-8)


def test_displacement_and_event(cli, tmp_path):
    rows = []
    for code, b, a in (("T1", 100, 60), ("B1", 80, 70), ("C1", 1000, 1000)):
        rows += [{"lsoa_code": code, "month": "2023-03", "n": b}, {"lsoa_code": code, "month": "2023-09", "n": a}]
    f = tmp_path / "counts.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    r = runner.invoke(cli, ["impact", "displacement", str(f), "--treated", "T1", "--buffer", "B1", "--control", "C1",
                            "--before", "2023-01..2023-06", "--after", "2023-07..2023-12", "--count", "n"])
    assert r.exit_code == 0, r.output
    assert "WDQ +0.25" in r.output
    bad = runner.invoke(cli, ["impact", "displacement", str(f), "--treated", "T1", "--buffer", "B1", "--control", "C1",
                              "--before", "2023-01", "--after", "2023-07..2023-12", "--count", "n"])
    assert bad.exit_code == 2 and "FIRST..LAST" in bad.output
    ev = pd.DataFrame({"d": ["2011-08-01"] * 4 + ["2011-08-06"] * 4, "y": [1, 1, 1, 0, 1, 0, 0, 0]})
    fe = tmp_path / "survey.csv"
    ev.to_csv(fe, index=False)
    r = runner.invoke(cli, ["impact", "event", str(fe), "--date", "d", "--event-date", "2011-08-06", "--window-days", "30",
                            "--outcome", "y"])
    assert r.exit_code == 0, r.output
    assert "75.0% before the event" in r.output and "25.0% after" in r.output


def test_errors_exit_2_with_message(cli, tmp_path):
    f = tmp_path / "x.csv"
    pd.DataFrame({"t": [1, 1, 0, 0], "x": [1, 1, 1, 1]}).to_csv(f, index=False)
    r = runner.invoke(cli, ["impact", "match", str(f), "--treatment", "t", "-c", "x"])
    assert r.exit_code == 2 and "'x' is constant" in r.output


def test_did_and_synth_run(cli, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for u in range(12):
        g = 5 if u < 4 else (7 if u < 8 else 0)
        for t in range(1, 11):
            y = u * 0.5 + t * 0.2 + (1.0 if g and t >= g else 0.0) + rng.normal(0, 0.1)
            rows.append({"unit": u, "time": t, "y": y, "g": g})
    f = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    r = runner.invoke(cli, ["impact", "did", str(f), "--unit", "unit", "--time", "time", "--outcome", "y",
                            "--first-treated", "g", "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["impact", "synth", str(f), "--unit", "unit", "--time", "time", "--outcome", "y",
                            "--treated-unit", "5", "--treated-from", "7", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "Synthetic control for 5 on y" in r.output and "Design: synthetic control" in r.output
