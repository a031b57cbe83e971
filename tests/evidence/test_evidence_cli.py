"""``whatworks evidence`` sub-app (mounted here on a bare Typer app: the lead hooks it into whatworks.cli)."""

import typer
from typer.testing import CliRunner

from whatworks._cli_evidence import register

root = typer.Typer()
register(root)


@root.callback()
def _cb():
    """test root"""


def test_add_list_show_export_import(tmp_path):
    run = CliRunner().invoke
    store = str(tmp_path / "s.duckdb")
    r = run(root, ["evidence", "add", "intervention", "-f", "intervention_id=HS1", "-f", "name=Patrols",
                   "-f", "tactic=hot spot policing", "-f", "cost=5000", "-f", "cost_price_year=2024/25", "--store", store])
    assert r.exit_code == 0, r.output
    r = run(root, ["evidence", "add", "evaluation", "-f", "evaluation_id=E1", "-f", "intervention_id=HS1",
                   "-f", "estimate=-0.2", "--store", store])
    assert r.exit_code == 2 and "no standard error" in r.output
    assert "HS1" in run(root, ["evidence", "list", "--store", store]).output
    assert "cost_price_year: 2024/25" in run(root, ["evidence", "show", "HS1", "--store", store]).output
    out = tmp_path / "reg.json"
    assert run(root, ["evidence", "export", str(out), "--store", store]).exit_code == 0
    store2 = str(tmp_path / "t.duckdb")
    r = run(root, ["evidence", "import", str(out), "--store", store2])
    assert r.exit_code == 0 and "1 interventions" in r.output
