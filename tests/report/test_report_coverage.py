"""Issue 11: the pack and the landscape on real-shaped police.uk data never treat a month not loaded as a month with
nothing in it, and never invent a signal.

The scenario of the issue: a force with only July 2016, July 2017 and July 2018 loaded (a common first download),
written in police.uk format by ``tests/realshaped.py`` and loaded through the real reader, with no area lookup.
Expected figures are read from the CSV files themselves with pandas, not from the store.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import realshaped
import whatworks as ww
from whatworks.performance import indicators
from whatworks.report import HEADLINE
from whatworks.report.pack import MIN_SPC_MONTHS

FORCE = "Bigshire Police"
JULYS = ["2016-07", "2017-07", "2018-07"]


def _street(root) -> pd.DataFrame:
    files = sorted(root.glob("*/*-street.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def julys(tmp_path_factory):
    d = tmp_path_factory.mktemp("julys")
    root = realshaped.archive(d / "download", months=JULYS, forces=[FORCE], seed=0)
    store = ww.Store(str(d / "s.duckdb"))
    store.ingest_policeuk(root)
    yield store, _street(root), d
    store.close()


def test_indicators_by_month_are_missing_for_the_22_months_not_loaded(julys):
    store, street, _ = julys
    t = indicators(store.crimes(), by="force", period="month", coverage=store.coverage(), quiet=True).table
    assert len(t) == 25 and int(t["count"].isna().sum()) == 22
    crimes = street[street["Crime type"] != "Anti-social behaviour"]
    want = crimes.groupby("Month").size().to_dict()
    got = t.dropna(subset=["count"]).set_index("period")["count"].astype(int).to_dict()
    assert got == want
    fy = indicators(store.crimes(), by="force", period="financial_year", coverage=store.coverage(), quiet=True).table.set_index("period")
    assert fy.loc["2017/18", "months_covered"] == 1 and not fy.loc["2017/18", "complete"]
    assert fy.loc["2017/18", "count"] == want["2017-07"]


@pytest.fixture(scope="module")
def julys_pack(julys):
    store, street, d = julys
    r = ww.report.pack(store, out=d / "pack.html", quiet=True)
    return r, (d / "pack.html").read_text(encoding="utf-8"), street


def test_pack_builds_without_an_area_lookup_and_gives_no_spc_verdict(julys_pack):
    r, html, _ = julys_pack
    assert r.spc == {}
    assert 'data-field="verdict"' not in html and "data-point-type" not in html   # no SPC verdict anywhere
    assert "Normal range" not in html and "Special-cause months" not in html
    assert all(v.startswith("no SPC verdict: 1 consecutive month(s) loaded (12 needed)") for v in r.table["verdict"])
    assert html.count(f"a chart needs at least {MIN_SPC_MONTHS} consecutive months loaded") == len(HEADLINE) + 1
    assert "months loaded in 2016-07..2018-07: 2016-07, 2017-07, 2018-07" in html
    assert r.settings["spc_min_months"].value == 12


def test_pack_compares_july_with_july_and_labels_the_one_month(julys_pack):
    r, html, street = julys_pack
    assert r.settings["period"].value == "2017-08..2018-07"
    assert "July 2018 vs July 2017" in html
    assert "2018-07 only (1 of 12 months of 2017-08 to 2018-07)" in html
    assert "2017-08 to 2018-07:" not in html                      # one month is never called the year
    crimes = street[street["Crime type"] != "Anti-social behaviour"]
    row = r.table.set_index("indicator").loc["All crime (excluding ASB)"]
    n18, n17 = int((crimes["Month"] == "2018-07").sum()), int((crimes["Month"] == "2017-07").sum())
    assert (row["this_period"], row["last_period"]) == (n18, n17)
    c = r.compare.set_index("label").loc["All crime (excluding ASB)"]
    assert (c["count_a"], c["count_b"]) == (n18, n17)
    asb = r.table.set_index("indicator").loc["Anti-social behaviour"]        # read from the asb view
    assert asb["this_period"] == int((street["Crime type"] == "Anti-social behaviour")[street["Month"] == "2018-07"].sum())
    assert asb["this_period"] > 0


def test_pack_shows_no_rate_and_says_why(julys_pack):
    r, html, _ = julys_pack
    assert r.table["rate_per_1000"].isna().all()
    assert "per 1,000 residents)" not in html
    assert "Rates per 1,000 residents left out: the store has no population for Bigshire Police" in html


def test_cli_pack_without_an_area_lookup(tmp_path):
    # issue 11: `whatworks pack` crashed with UndefinedError: 'dict object' has no attribute 'rate_per_1000'
    from whatworks.cli import app

    root = realshaped.archive(tmp_path / "download", months=JULYS, forces=[FORCE], seed=0)
    with ww.Store(str(tmp_path / "s.duckdb")) as store:
        store.ingest_policeuk(root)
    res = CliRunner().invoke(app, ["pack", "--store", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "July 2018 vs July 2017" in html and "Rates per 1,000 residents left out" in html


def test_landscape_builds_without_an_area_lookup(julys, tmp_path):
    store, street, _ = julys
    r = ww.report.landscape(store, "Bigshire", out=tmp_path / "l.html", quiet=True)
    html = (tmp_path / "l.html").read_text(encoding="utf-8")
    assert "July 2018 vs July 2017" in html and "2018-07 only (1 of 12 months of 2017-08 to 2018-07)" in html
    located = street[(street["Crime type"] != "Anti-social behaviour") & (street["LSOA code"] != "")]
    t = r.change.table.iloc[0]
    assert (t["count_a"], t["count_b"]) == (int((located["Month"] == "2018-07").sum()),
                                            int((located["Month"] == "2017-07").sum()))
    assert r.trend["count"].isna().sum() == 22                    # the trend has gaps, not zeros
    assert any("no population" in n for n in r.notes)


def test_two_forces_one_missing_a_month(tmp_path):
    months = realshaped.month_range("2023-01", 15)
    root = realshaped.archive(tmp_path / "dl", months=months, forces=[FORCE, "Smallshire Police"],
                              missing={"Smallshire Police": ["2023-11"]}, crimes_per_month=40, asb_per_month=5)
    with ww.Store(str(tmp_path / "s.duckdb")) as store:
        store.ingest_policeuk(root)
        t = indicators(store.crimes(), by="force", period="month", coverage=store.coverage(), quiet=True).table.set_index(["force", "period"])
        assert pd.isna(t.loc[("Smallshire Police", "2023-11"), "count"])
        assert t.loc[(FORCE, "2023-11"), "count"] > 0
        whole = indicators(store.crimes(), period="month", coverage=store.coverage(), quiet=True).table.set_index("period")
        assert pd.isna(whole.loc["2023-11", "count"])             # a total without one force's month is not a total
        big = ww.report.pack(store, area=FORCE, out=None, quiet=True, hotspots=False)
        small = ww.report.pack(store, area="Smallshire Police", out=None, quiet=True, hotspots=False)
        # 15 consecutive months for Bigshire: charts; Smallshire's latest run is 2023-12..2024-03 (4 months): none
        assert len(big.spc) == len(HEADLINE)
        assert small.spc == {} and "holds 4 consecutive month(s) ending 2024-03" in small.html
        assert "2023-04 to 2023-10, 2023-12 to 2024-03 only (11 of 12 months of 2023/24)" in small.html
        # like with like: only 2024-01..03 has its month a year earlier loaded (the download starts 2023-01)
        assert "Like with like: 2024-01 to 2024-03 vs 2023-01 to 2023-03" in small.html
        street = _street(root)
        crimes = street[(street["Crime type"] != "Anti-social behaviour") & (street["Falls within"] == "Smallshire Police")]
        c = small.compare.set_index("label").loc["All crime (excluding ASB)"]
        assert c["count_a"] == int(crimes["Month"].isin(["2024-01", "2024-02", "2024-03"]).sum())
        assert c["count_b"] == int(crimes["Month"].isin(["2023-01", "2023-02", "2023-03"]).sum())
        row = small.table.set_index("indicator").loc["All crime (excluding ASB)"]
        assert row["this_period"] == int(crimes["Month"].between("2023-04", "2024-03").sum())   # the 11 months loaded


def test_no_covariates_message_names_the_level_that_has_them(julys, tmp_path):
    _, street, _ = julys
    lsoas = sorted(set(street["LSOA code"]) - {""})
    names = dict(zip(street["LSOA code"], street["LSOA name"]))
    long = pd.DataFrame(
        [{"code": f"E0600000{i}", "name": f"District {i}", "level": "lad"} for i in range(3)]
        + [{"code": c, "name": names[c], "level": "lsoa", "parent_code": f"E0600000{k % 3}", "population": 1500.0,
            "imd_score": float(10 + k)} for k, c in enumerate(lsoas)])
    root = realshaped.archive(tmp_path / "dl", months=JULYS, forces=[FORCE], seed=0)
    with ww.Store(str(tmp_path / "s.duckdb")) as store:
        store.ingest_policeuk(root)
        store.ingest_areas(long)
        r = ww.report.landscape(store, "E06000000", out=None, quiet=True)
    # issue 11.6: the LSOAs' covariate rolls up (population-weighted), so the LADs have peers
    assert r.peers is not None
    assert not any(n.startswith("No peers") for n in r.notes)
    # without populations the mean cannot be rolled up: the note names the level that has covariates and why
    bare = long.drop(columns="population")
    with ww.Store(str(tmp_path / "s2.duckdb")) as store:
        store.ingest_policeuk(root)
        store.ingest_areas(bare)
        r2 = ww.report.landscape(store, "E06000000", out=None, quiet=True)
    note = " ".join(r2.notes)
    assert "No peers: covariates are loaded for lsoa (1 covariate); none for lad — they could not be rolled up:" in note
    assert "population" in note
