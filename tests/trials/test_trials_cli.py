"""End to end from the command line: register, assign case by case, verify, analyse, draw CONSORT.

Units are the synthetic force's hotspot-patrol trial cells (whatworks.synth). The synth's own crimes already
carry the synth's own pair-randomised assignment, so the outcomes here are simulated for the assignment made
by `whatworks trial assign` with the synth's known rate ratio (negative-binomial counts around each cell's
expected crime over the trial months).
"""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from whatworks import synth
from whatworks._cli_trials import app

runner = CliRunner()


@pytest.fixture(scope="module")
def force():
    return synth.generate(seed=3, crimes=20_000, months=12, boroughs=2)


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_cli_end_to_end_on_the_synthetic_trial(tmp_path, force, monkeypatch):
    store = tmp_path / "force.duckdb"
    cells = force.tables["hotspot_trial"]
    truth_rr = force.truth["interventions"]["hotspot_rct"]["rate_ratio"]
    months = 5
    protocol = {
        "trial_id": "hotspots-2025", "title": "Hot spot patrols", "hypotheses": ["Patrols in hot spots cut crime there"],
        "unit": "hotspot cell", "treatment": "15-minute patrols", "control": "usual policing",
        "primary_outcome": "crimes", "secondary_outcomes": ["asb"], "target_sample": len(cells),
        "eligibility": [{"field": "expected_crimes_per_month", "op": ">=", "value": 2.5, "text": "2.5+ crimes a month"}],
        "assignment": {"strata": ["borough_code"], "block_sizes": [2, 4], "prob": 0.5, "seed": 77},
        "covariates": ["log_expected"], "family": "negbin",
        "analysis_plan": "ITT rate ratio, negative binomial adjusted for log expected crime; RI p-value",
    }
    pfile = tmp_path / "protocol.json"
    pfile.write_text(json.dumps(protocol))
    code, out = _run("new", pfile, "--store", store)
    assert code == 0 and "Registered trial 'hotspots-2025'" in out and "content hash" in out

    cases = cells[["cell_id", "borough_code", "expected_crimes_per_month"]].rename(columns={"cell_id": "unit"})
    cases["log_expected"] = np.log(cases["expected_crimes_per_month"])
    first, rest = cases.iloc[0], cases.iloc[1:]
    code, out = _run("assign", "hotspots-2025", "--unit", first["unit"], "--field", f"borough_code={first['borough_code']}",
                     "--field", f"expected_crimes_per_month={first['expected_crimes_per_month']}",
                     "--field", f"log_expected={first['log_expected']}", "--store", store)
    assert code == 0 and "#1]" in out
    rest.to_csv(tmp_path / "cases.csv", index=False)
    code, out = _run("assign", "hotspots-2025", "--cases", tmp_path / "cases.csv", "--store", store)
    assert code == 0 and out.count("ASSIGNED") + out.count("EXCLUDED") == len(rest)
    code, out = _run("assign", "hotspots-2025", "--unit", first["unit"], "--store", store)
    assert code == 2 and "already screened" in out

    con = duckdb.connect(str(store))
    log = con.execute("SELECT unit_id, arm FROM trial_assignments WHERE kind = 'assigned' ORDER BY seq").df()
    n_excluded = con.execute("SELECT count(*) FROM trial_assignments WHERE kind = 'excluded'").fetchone()[0]
    con.close()
    assert n_excluded == int((cells["expected_crimes_per_month"] < 2.5).sum())
    lost = log["unit_id"].iloc[3]
    code, out = _run("record", "hotspots-2025", "--unit", lost, "--event", "lost_to_follow_up", "--note", "cell rebuilt",
                     "--store", store)
    assert code == 0
    code, out = _run("verify", "hotspots-2025", "--store", store)
    assert code == 0 and "Log intact" in out

    # outcomes for the assignment just made, with the synth's true rate ratio
    rng = np.random.default_rng(11)
    arms = dict(zip(log["unit_id"], log["arm"]))
    outcomes = cases[cases["unit"].isin(arms)].copy()
    mu = outcomes["expected_crimes_per_month"] * months * np.where(outcomes["unit"].map(arms) == "treatment", truth_rr, 1)
    outcomes["crimes"] = rng.negative_binomial(5, 5 / (5 + mu))
    outcomes["asb"] = rng.poisson(mu / 4)
    outcomes["arrests"] = rng.poisson(2, len(outcomes))
    outcomes = outcomes[outcomes["unit"] != lost]
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)

    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--store", store)
    assert code == 2 and "no 'crimes' value" in out and "--missing exclude" in out
    svg = tmp_path / "consort.svg"
    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--missing", "exclude",
                     "--permutations", 500, "--consort", svg, "--store", store)
    assert code == 0, out
    assert "intention-to-treat effect is a rate ratio" in out and "Randomisation-inference p" in out
    rr_low, rr_high = [float(v) for v in out.split("95% CI ")[1].split(";")[0].split(" to ")]
    assert rr_low < truth_rr < rr_high
    text = svg.read_text()
    assert text.startswith("<?xml") and "Assessed for eligibility" in text and "Lost to follow-up" in text

    # options not given on the command line reach analyse() as None, so its settings call them defaults
    import whatworks.trials as trials_pkg
    seen = {}
    real = trials_pkg.analyse

    def spy(*a, **kw):
        r = real(*a, **kw)
        seen.update(permutations=r.settings["permutations"], seed=r.settings["seed"])
        return r

    monkeypatch.setattr(trials_pkg, "analyse", spy)
    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--missing", "exclude",
                     "--store", store)
    assert code == 0, out
    assert (seen["permutations"].source, seen["permutations"].value, seen["seed"].source) == ("default", 1000, "default")
    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--missing", "exclude",
                     "--permutations", 1000, "--seed", 0, "--store", store)
    assert code == 0 and (seen["permutations"].source, seen["seed"].source) == ("user", "user")
    monkeypatch.setattr(trials_pkg, "analyse", real)

    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--outcome", "arrests",
                     "--missing", "exclude", "--permutations", 0, "--store", store)
    assert code == 2 and "not in protocol" in out
    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--outcome", "arrests",
                     "--family", "poisson", "--exploratory", "--missing", "exclude", "--permutations", 0, "--store", store)
    assert code == 0 and "EXPLORATORY ANALYSIS" in out

    code, out = _run("consort", "hotspots-2025", "--out", tmp_path / "c2.svg", "--store", store)
    assert code == 0 and f"{len(cases)} assessed for eligibility" in out

    # tamper with one assignment behind the allocator's back: verify fails and names it; analyse refuses
    con = duckdb.connect(str(store))
    con.execute("UPDATE trial_assignments SET arm = 'treatment' WHERE seq = (SELECT min(seq) FROM trial_assignments "
                "WHERE arm = 'control' AND seq > 5)")
    bad = con.execute("SELECT min(seq) FROM trial_assignments WHERE arm = 'treatment' AND seq > 5").fetchone()[0]
    con.close()
    code, out = _run("verify", "hotspots-2025", "--store", store)
    assert code == 1 and "FAILED VERIFICATION at entry" in out
    code, out = _run("analyse", "hotspots-2025", "--outcomes", tmp_path / "outcomes.csv", "--missing", "exclude",
                     "--store", store)
    assert code == 1


def test_cli_errors_are_clear(tmp_path):
    code, out = _run("verify", "nope", "--store", tmp_path / "s.duckdb")
    assert code == 2 and "No trial 'nope'" in out
    bad = tmp_path / "p.yaml"
    bad.write_text("x")
    code, out = _run("new", bad, "--store", tmp_path / "s.duckdb")
    assert code == 2 and ".json or .toml" in out
    code, out = _run("assign", "t", "--store", tmp_path / "s.duckdb")
    assert code == 2 and "either --unit" in out
