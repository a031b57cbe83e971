"""Issue 13: `whatworks spc FILE --seasonality auto` (the module the lead hooks into cli.py with register(app))."""

import numpy as np
import pandas as pd
import typer
from typer.testing import CliRunner

from whatworks._cli_spc import register


def _app():
    app = typer.Typer()
    register(app)

    @app.callback()
    def main():  # a group, so "spc" is a sub-command as in whatworks.cli
        pass
    return app


def test_cli_spc_seasonal(tmp_path):
    rng = np.random.default_rng(3)
    m = np.arange(36) % 12
    d = pd.DataFrame({"month": pd.date_range("2022-01-01", periods=36, freq="MS").strftime("%Y-%m"),
                      "crimes": rng.poisson(300 * (1 + 0.25 * np.cos(2 * np.pi * (m - 6) / 12)))})
    f = tmp_path / "s.csv"
    d.to_csv(f, index=False)
    res = CliRunner().invoke(_app(), ["spc", str(f), "--value", "crimes", "--seasonality", "auto", "--expected", "2",
                                      "--out", str(tmp_path / "t.csv")])
    assert res.exit_code == 0, res.output
    assert "seasonal (p = " in res.output and "Expected range of the next 2 month(s)" in res.output
    t = pd.read_csv(tmp_path / "t.csv")
    assert t["seasonal"].all() and len(t) == 36


def test_cli_spc_bad_input_exits_2(tmp_path):
    f = tmp_path / "s.csv"
    pd.DataFrame({"month": ["2024-01", "2024-02"], "crimes": [1, 2]}).to_csv(f, index=False)
    res = CliRunner().invoke(_app(), ["spc", str(f), "--value", "crimes", "--seasonality", "month_of_year"])
    assert res.exit_code == 2 and "at least 24 baseline months" in res.output
