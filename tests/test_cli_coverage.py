"""Issue 11 on the terminal: `whatworks status` and `whatworks quality` list the months present and the gaps per
force and kind (from Store.coverage()), and say when one force lacks a month another force has."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from whatworks.cli import app, coverage_lines, month_gaps, month_runs
from whatworks.store import Store

runner = CliRunner()

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")


def street_file(folder: Path, month: str, force: str, n: int = 2, *, slug: str = "northshire", name: str | None = None) -> Path:
    """A police.uk street file of ``n`` burglaries (and one ASB row) for ``force`` in ``month``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [HEADER]
    for i in range(n):
        cid = f"{slug}{month}{i:04d}".replace("-", "").ljust(64, "a")
        rows.append(f"{cid},{month},{force},{force},-1.5{i},53.8{i},On or near Park Row,E01011365,Leeds 111B,Burglary,"
                    "Under investigation,")
    rows.append(f",{month},{force},{force},-1.549,53.80,On or near Boar Lane,E01011365,Leeds 111B,Anti-social behaviour,,")
    path = folder / (name or f"{month}-{slug}-street.csv")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _cov(force: str, months: list[str], kind: str = "street", source: str = "police.uk") -> pd.DataFrame:
    return pd.DataFrame({"source_system": source, "force": force, "month": pd.to_datetime([m + "-01" for m in months]),
                         "kind": kind, "batch_id": range(1, len(months) + 1), "rows": 10})


def fake_coverage(self, kind=None):
    """Store.coverage() as the contract describes it, computed from the events table (for use until the store has it)."""
    df = self.sql("""SELECT 'police.uk' AS source_system, force, month::TIMESTAMP AS month,
                            CASE WHEN kind IN ('crime', 'asb') THEN 'street' WHEN kind = 'outcome' THEN 'outcomes'
                                 ELSE kind END AS kind, min(batch_id) AS batch_id, count(*) AS rows
                     FROM events GROUP BY ALL ORDER BY force, kind, month""")
    return df if kind is None else df[df["kind"] == kind].reset_index(drop=True)


# ---------------------------------------------------------------- CHECK OUTPUTS: the pure steps
def test_month_runs_and_gaps_of_the_three_julys():
    months = ["2016-07-01", "2017-07-01", "2018-07-01"]
    assert month_runs(months) == [("2016-07", "2016-07", 1), ("2017-07", "2017-07", 1), ("2018-07", "2018-07", 1)]
    assert month_gaps(months) == [("2016-08", "2017-06", 11), ("2017-08", "2018-06", 11)]


def test_month_runs_across_a_year_end_and_duplicates():
    months = pd.to_datetime(["2023-11-01", "2023-12-01", "2024-01-01", "2024-01-01", "2024-04-01"])
    assert month_runs(months) == [("2023-11", "2024-01", 3), ("2024-04", "2024-04", 1)]
    assert month_gaps(months) == [("2024-02", "2024-03", 2)]
    assert month_runs([]) == [] and month_gaps([]) == []


def test_coverage_lines_issue_example():
    lines = coverage_lines(_cov("Northshire Police", ["2016-07", "2017-07", "2018-07"]))
    assert lines == ["Northshire Police street: 2016-07, 2017-07, 2018-07 (3 months); "
                     "missing 2016-08..2017-06, 2017-08..2018-06 (22 months)"]


def test_coverage_lines_two_forces_one_missing_a_month():
    cov = pd.concat([_cov("Northshire Police", ["2024-01", "2024-02", "2024-03"]),
                     _cov("Southshire Police", ["2024-01", "2024-03"])])
    lines = coverage_lines(cov)
    assert lines == [
        "Northshire Police street: 2024-01..2024-03 (3 months); no gaps",
        "Southshire Police street: 2024-01, 2024-03 (2 months); missing 2024-02 (1 month)",
        "Southshire Police has no street file for 2024-02 (1 month), which Northshire Police has.",
    ]


def test_coverage_lines_name_the_source_when_there_are_several():
    cov = pd.concat([_cov("Northshire Police", ["2024-01"]), _cov("Northshire Police", ["2024-01", "2024-02"], "crimes", "rms")])
    assert coverage_lines(cov) == ["Northshire Police street (police.uk): 2024-01 (1 month); no gaps",
                                   "Northshire Police crimes (rms): 2024-01..2024-02 (2 months); no gaps"]


def test_coverage_lines_empty_store():
    assert coverage_lines(_cov("x", [])) == ["Coverage: no months loaded yet."]


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=60), min_size=1))
def test_runs_and_gaps_partition_the_span(offsets):
    """Every month from the first to the last present is in exactly one run or one gap; runs hold exactly the months given."""
    months = [pd.Timestamp("2020-01-01") + pd.DateOffset(months=o) for o in offsets]
    runs, gaps = month_runs(months), month_gaps(months)
    assert sum(n for *_, n in runs) == len(offsets)
    assert sum(n for *_, n in gaps) == max(offsets) - min(offsets) + 1 - len(offsets)
    assert len(gaps) == len(runs) - 1


# ---------------------------------------------------------------- the commands, with Store.coverage as the contract says
def _scattered_store(tmp_path) -> str:
    db = str(tmp_path / "s.duckdb")
    data = tmp_path / "data"
    for m in ("2016-07", "2017-07", "2018-07"):
        street_file(data / m, m, "Northshire Police")
    for m in ("2016-07", "2018-07"):
        street_file(data / m, m, "Southshire Police", slug="southshire")
    r = runner.invoke(app, ["ingest", "policeuk", str(data), "--store", db])
    assert r.exit_code == 0, r.output
    return db


def _flat(text: str) -> str:
    return " ".join(text.split())


def _assert_gaps_listed(output: str):
    out = _flat(output)
    assert ("Northshire Police street: 2016-07, 2017-07, 2018-07 (3 months); "
            "missing 2016-08..2017-06, 2017-08..2018-06 (22 months)") in out
    assert "Southshire Police street: 2016-07, 2018-07 (2 months); missing 2016-08..2018-06 (23 months)" in out
    assert "Southshire Police has no street file for 2017-07 (1 month), which Northshire Police has." in out


def test_status_and_quality_list_months_and_gaps_with_contract_coverage(tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "coverage", fake_coverage, raising=False)
    db = _scattered_store(tmp_path)
    for cmd in ("status", "quality"):
        r = runner.invoke(app, [cmd, "--store", db])
        assert r.exit_code == 0, r.output
        _assert_gaps_listed(r.output)
        assert "missing, not zero" in r.output


def test_status_lists_batches_with_the_unload_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "coverage", fake_coverage, raising=False)
    db = _scattered_store(tmp_path)
    r = runner.invoke(app, ["status", "--store", db])
    assert r.exit_code == 0, r.output
    assert "Loaded files (batches)" in r.output and "whatworks unload BATCH" in r.output
    assert "2017-07-northshire-street.csv" in r.output


def test_status_and_quality_list_gaps_end_to_end(tmp_path):
    """The real Store.coverage() (the STORE part of issue 11): fails until the store has it."""
    db = _scattered_store(tmp_path)
    for cmd in ("status", "quality"):
        r = runner.invoke(app, [cmd, "--store", db])
        assert r.exit_code == 0, (r.output, r.exception)
        _assert_gaps_listed(r.output)
