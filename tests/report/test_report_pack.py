"""The performance pack (issue 4): one self-contained HTML file, and every number in it equals the analyses' results.

The numbers are checked against analyses run here independently of the pack: the crimes are read straight from the
store, the area's small areas come from the synthetic force's own area table (not the store's lookup), and
indicators / spc / compare / funnel / harm are called on them.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks.performance import compare, funnel, harm, indicators, spc
from whatworks.report import HEADLINE
from whatworks.report.pack import VERDICTS
from whatworks.synth import _constants as C

PERIOD = ("2024-04", "2025-03")
LAST = ("2023-04", "2024-03")
SOURCE = "police.uk"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("pack")
    force = ww.synth.generate(seed=5, crimes=8_000, months=36, boroughs=4, wards_per_borough=3, lsoas_per_ward=4,
                              segments_per_lsoa=10, survey_per_year=200)
    store = ww.Store(str(d / "s.duckdb"))
    force.to_store(store, workdir=d / "files")
    areas = force.tables["areas"]
    force_row = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    store.ingest_areas(pd.concat([force_row, areas[["code", "name", "level", "parent_code", "population",
                                                    "deprivation", "density"]]], ignore_index=True))
    yield force, store, d
    store.close()


@pytest.fixture(scope="module")
def borough_pack(built):
    force, store, d = built
    weights = pd.DataFrame({"crime_type": ["Burglary", "Robbery", "Violence and sexual offences"],
                            "weight": [100.0, 365.0, 50.0]})   # test weights, not a recommendation
    code = force.tables["areas"].query("level == 'borough'")["code"].iloc[1]
    r = ww.report.pack(store, area=code, period=PERIOD, out=d / "borough.html", harm_weights=weights, quiet=True)
    return code, r, (d / "borough.html").read_text(encoding="utf-8"), weights


def _sections(html: str) -> dict[str, str]:
    parts = re.findall(r'<section class="indicator" id="indicator-\d+" data-indicator="([^"]+)">(.*?)</section>', html, re.S)
    return {k.replace("&amp;", "&"): v for k, v in parts}


def _fields(fragment: str) -> dict[str, tuple[str, str]]:
    """data-field -> (data-value, shown text)."""
    return {m[0]: (m[1], m[2]) for m in re.findall(r'<span data-field="([^"]+)" data-value="([^"]*)"[^>]*>([^<]*)</span>',
                                                  fragment)}


def _expected(store, force, code):
    """The analyses run independently: rows from the store, membership from the synthetic force's own areas."""
    a = force.tables["areas"]
    wards = set(a[(a["level"] == "ward") & (a["parent_code"] == code)]["code"])
    lsoas = list(a[(a["level"] == "lsoa") & a["parent_code"].isin(wards)]["code"])
    pop = float(a[a["code"] == code]["population"].iloc[0])
    # crimes and ASB: the crimes view holds crimes only, ASB is in the asb view (issue 11)
    rows = store.sql("SELECT * FROM (SELECT * FROM crimes UNION ALL SELECT * FROM asb) "
                     "WHERE source_system = ? AND month >= DATE '2022-04-01'", [SOURCE])
    rows = rows[rows["lsoa_code"].isin(lsoas)]
    return rows, pop


def _select(ind, rows):
    if ind.crime_types is None:
        return rows[(rows["kind"] == "crime") & (rows["crime_type"] != "Anti-social behaviour")]
    return rows[rows["crime_type"].isin(ind.crime_types)]


def _in(rows, a, b):
    return rows[(rows["month"] >= pd.Timestamp(a + "-01")) & (rows["month"] <= pd.Timestamp(b + "-01"))]


# ------------------------------------------------------------------------------------------ self-contained


def test_pack_is_one_self_contained_file(borough_pack):
    _, r, html, _ = borough_pack
    low = html.lower()
    # base64 in data: URIs (rasterised map cells) may hold "//" by chance; they are inside the file, so left out here
    bare = re.sub(r'data:image/png;base64,[a-z0-9+/=\s]+', "data:", low)
    assert "http://" not in low and "https://" not in low and 'src="//' not in low and "//" not in bare.replace("<!--", "")
    assert not re.search(r"url\((?!#)", low)           # only references to elements inside the file (clip paths)
    assert not re.search(r'(href|src)="(?!#|data:)', low)
    assert "<script" not in low and "<link" not in low and "<iframe" not in low and "@import" not in low
    assert "<img" not in low
    assert low.count("<svg") >= len(HEADLINE) + 2      # charts and icons are inline SVG
    assert "@page" in html and "size: A4" in html and "@media print" in html
    assert r.path is not None and r.path.read_text(encoding="utf-8") == html


# ------------------------------------------------------------------------------------------ numbers


def test_every_headline_number_equals_the_analyses(built, borough_pack):
    force, store, _ = built
    code, r, html, _ = borough_pack
    rows, pop = _expected(store, force, code)
    sections = _sections(html)
    assert set(sections) == {i.label for i in HEADLINE}
    for ind in HEADLINE:
        f = _fields(sections[ind.label])
        sel = _select(ind, rows)
        monthly = indicators(sel, period="month").table
        # every month of the history is on the chart, zero where nothing of this type was recorded
        months = pd.date_range("2022-04-01", "2025-03-01", freq="MS")
        monthly = monthly.set_index("period_start").reindex(months).rename_axis("period_start").reset_index()
        monthly["count"] = monthly["count"].fillna(0)
        monthly = monthly[monthly["solved_rate"].notna()] if ind.measure == "solved_rate" else monthly
        value = "count" if ind.measure == "count" else "solved_rate"
        s = spc(monthly, value, "period_start", improvement=ind.improvement, seasonality="auto", quiet=True)
        v = s.variation.iloc[0]
        for key, want in (("latest_value", v["latest_value"]), ("mean", v["mean"]), ("lpl", v["lpl"]),
                          ("upl", v["upl"]), ("n_special", v["n_special"])):
            assert float(f[key][0]) == pytest.approx(float(want), rel=1e-12, abs=1e-12), (ind.label, key)
        this, last = _in(sel, *PERIOD), _in(sel, *LAST)
        if ind.measure == "count":
            assert float(f["this_period"][0]) == len(this)
            assert f["this_period"][1] == f"{len(this):,}"
            assert float(f["last_period"][0]) == len(last)
            assert float(f["rate_per_1000"][0]) == pytest.approx(len(this) / pop * 1000, rel=1e-12)
            c = compare(len(this), len(last))
        else:
            ti = indicators(this.assign(p="x"), period="financial_year").table.iloc[0]
            li = indicators(last.assign(p="x"), period="financial_year").table.iloc[0]
            assert float(f["this_period"][0]) == pytest.approx(ti["solved_rate"], rel=1e-12)
            assert int(float(f["this_solved"][0])) == ti["solved"] and int(float(f["this_crimes"][0])) == ti["crimes_for_solved_rate"]
            assert float(f["last_period"][0]) == pytest.approx(li["solved_rate"], rel=1e-12)
            c = compare(ti["solved"], li["solved"], exposure_a=ti["crimes_for_solved_rate"],
                        exposure_b=li["crimes_for_solved_rate"])
        # same period last year: the exact test's numbers
        assert float(f["rate_ratio"][0]) == pytest.approx(c.estimate, rel=1e-12)
        assert float(f["ci_low"][0]) == pytest.approx(c.ci[0], rel=1e-12)
        assert float(f["ci_high"][0]) == pytest.approx(c.ci[1], rel=1e-12)
        assert float(f["p_value"][0]) == pytest.approx(c.p_value, rel=1e-12)
        assert f["rate_ratio"][1] == f"{c.estimate:.2f}"
        assert f["change_verdict"][0] == ("significant" if c.p_value < 0.05 else "chance")


def test_verdicts_match_the_spc_point_types(borough_pack):
    _, r, html, _ = borough_pack
    for label, frag in _sections(html).items():
        m = re.search(r'data-field="verdict" data-value="([^"]+)" data-point-type="([^"]+)" data-variation="([^"]+)"', frag)
        verdict, point_type, variation = m.groups()
        res = r.spc[label]
        assert point_type == res.variation.iloc[0]["latest_point_type"] == res.table["point_type"].iloc[-1]
        assert variation == res.variation.iloc[0]["variation"]
        assert verdict == VERDICTS[variation]
        if point_type == "common_cause":
            assert verdict == "within normal variation — no action on this figure alone"
        if point_type == "special_cause_concern":
            assert verdict == "special cause — concern"
        # the icon drawn is the one for this variation
        assert f'data-variation="{variation}"' in frag.split("<svg class=\"chart\"")[0]


def test_summary_table_rows_agree_with_sections(borough_pack):
    _, r, html, _ = borough_pack
    for row in r.table.itertuples():
        tr = re.search(rf'<tr data-indicator="{re.escape(row.indicator)}">(.*?)</tr>', html, re.S).group(1)
        assert row.verdict in tr


def test_funnel_against_peers(built, borough_pack):
    force, store, _ = built
    code, r, html, _ = borough_pack
    a = force.tables["areas"]
    bor = a[a["level"] == "borough"]
    ward_to_bor = dict(zip(a[a["level"] == "ward"]["code"], a[a["level"] == "ward"]["parent_code"]))
    lsoa_to_bor = {c: ward_to_bor[p] for c, p in zip(a[a["level"] == "lsoa"]["code"], a[a["level"] == "lsoa"]["parent_code"])}
    rows = store.sql("SELECT * FROM crimes WHERE source_system = ?", [SOURCE])
    rows = _in(rows[(rows["kind"] == "crime")], *PERIOD)
    counts = rows["lsoa_code"].map(lsoa_to_bor).value_counts()
    df = pd.DataFrame({"unit": bor["code"], "count": bor["code"].map(counts).fillna(0).to_numpy(),
                       "population": bor["population"].to_numpy(dtype=float)})
    want = funnel(df, "count", "population", kind="rate", id="unit", per=1000, quiet=True)
    got = r.funnels["rate"].table.set_index("unit").loc[df["unit"]]
    np.testing.assert_allclose(got["indicator"].to_numpy(), want.table["indicator"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["upper_998"].to_numpy(), want.table["upper_998"].to_numpy(), rtol=1e-12)
    assert r.funnels["rate"].tau2 == pytest.approx(want.tau2, rel=1e-12, abs=1e-15)
    assert want.summary() in html.replace("&amp;", "&").replace("&#39;", "'")
    # the most similar boroughs (peers on the covariates) are named
    assert r.peers is not None and code in set(r.peers.table["code"])


def test_harm_uses_only_the_given_weights(built, borough_pack):
    force, store, _ = built
    code, r, html, weights = borough_pack
    rows, _ = _expected(store, force, code)
    want = harm(_in(rows, *PERIOD), weights, by="crime_type", on_missing="exclude").table.set_index("crime_type")
    for t, w in zip(weights["crime_type"], weights["weight"]):
        m = re.search(rf'<tr data-crime-type="{re.escape(t)}">(.*?)</tr>', html, re.S)
        f = _fields(m.group(1))
        assert float(f["harm"][0]) == pytest.approx(want.loc[t, "harm"], rel=1e-12)
        assert float(f["harm_count"][0]) == want.loc[t, "count"]
    assert "No harm weight" not in html


def test_analysis_defaults_are_recorded_in_the_pack_settings(borough_pack):
    # review: the hot-spot cell size, Gi* distance and funnel targets were chosen from the data but were neither
    # announced nor in the pack's settings table
    code, r, html, _ = borough_pack
    s = r.settings
    assert s["hotspots cell size"].value == r.hotspots.lattice.cell_size
    assert s["hotspots distance"] is r.hotspots.settings["distance"]
    assert s["rate funnel target"] is r.funnels["rate"].settings["target"]
    assert s["solved funnel target"] is r.funnels["solved"].settings["target"]
    assert all(s[k].source == "data" for k in ("hotspots cell size", "hotspots distance", "rate funnel target"))
    assert "<td>hotspots distance</td>" in html and "<td>rate funnel target</td>" in html


def test_hotspot_failure_policy(built, monkeypatch):
    # review: `except Exception` turned any bug in grid/gistar into a note in the pack; only refusals become notes
    import whatworks.place as place

    force, store, d = built
    code = force.tables["areas"].query("level == 'borough'")["code"].iloc[0]

    def refuse(*a, **k):
        raise ww.WhatworksError("gistar(): Every cell has the same 'count' (0); Gi* is undefined.")

    monkeypatch.setattr(place, "gistar", refuse)
    r = ww.report.pack(store, area=code, period=PERIOD, out=None, quiet=True)
    assert r.hotspots is None and "Hot spots could not be mapped: gistar(): Every cell" in r.html

    def broken(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(place, "gistar", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        ww.report.pack(store, area=code, period=PERIOD, out=None, quiet=True)


def test_whole_store_pack_without_weights_says_how_to_supply_them(built):
    force, store, d = built
    r = ww.report.pack(store, out=None, period=PERIOD, hotspots=False, quiet=True)
    assert r.path is None
    assert "no harm weights were supplied" in r.html and "crime_type,weight" in r.html
    assert 'data-future="confidence"' in r.html and "Not yet available" in r.html
    assert 'data-future="evidence"' in r.html
    assert r.settings["source"].value == SOURCE and r.settings["source"].source == "data"
    assert "Hot-spot map switched off" in r.html
    # whole force: the all-crime figure is every police.uk crime in the period
    rows = store.sql("SELECT * FROM crimes WHERE source_system = ?", [SOURCE])
    n = len(_in(rows[rows["kind"] == "crime"], *PERIOD))
    f = _fields(_sections(r.html)["All crime (excluding ASB)"])
    assert float(f["this_period"][0]) == n


def test_default_period_is_announced_and_errors(built, capsys):
    force, store, d = built
    r = ww.report.pack(store, out=None, hotspots=False)
    assert r.settings["period"].value == "2024-04..2025-03" and r.settings["period"].source == "data"
    assert "period set to 2024-04..2025-03" in capsys.readouterr().err
    with pytest.raises(ww.WhatworksError, match="not all in the data"):
        ww.report.pack(store, period="2025-01..2025-12", out=None, quiet=True)
    with pytest.raises(ww.WhatworksError, match="YYYY-MM"):
        ww.report.pack(store, period="2024-4..2025-03", out=None, quiet=True)
    with pytest.raises(ww.WhatworksError, match="not in the store"):
        ww.report.pack(store, area="NOPE", out=None, quiet=True)
    with pytest.raises(ww.WhatworksError, match="No crimes from source"):
        ww.report.pack(store, source="nobody", out=None, quiet=True)


def test_cli_pack(built, tmp_path):
    from whatworks.cli import app

    force, store, d = built
    code = force.tables["areas"].query("level == 'borough'")["code"].iloc[0]
    out = tmp_path / "p.html"
    store.con.execute("CHECKPOINT")
    copy = tmp_path / "copy.duckdb"          # the fixture holds the file open for writing
    shutil.copyfile(store.path, copy)
    res = CliRunner().invoke(app, ["pack", "--area", code, "--period", "2024-04..2025-03", "--out", str(out),
                                   "--no-hotspots", "--store", str(copy)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert len(_sections(html)) == len(HEADLINE) and "https://" not in html
    res = CliRunner().invoke(app, ["landscape", "--area", code, "--out", str(tmp_path / "l.html"), "--store", str(copy)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "l.html").exists()


# ------------------------------------------------------------------------- issue 13: attention first, seasonal SPC
def test_pack_opens_with_attention_and_links_resolve(borough_pack):
    _, r, html, _ = borough_pack
    h2 = re.findall(r"<h2>([^<]+)</h2>", html)
    assert h2[0] == "What needs attention"
    for anchor in re.findall(r'<li data-attention="[^"]+"><a href="#([^"]+)"', html):
        assert f'id="{anchor}"' in html
    if r.attention.empty:
        assert 'data-attention="none"' in html and "Nothing here needs action" in html
    else:
        assert len(re.findall(r"<li data-attention=", html)) == len(r.attention)


def test_pack_charts_are_tested_for_seasonality(borough_pack):
    _, r, html, _ = borough_pack
    for ind in HEADLINE:
        res = r.spc[ind.label]
        assert res.settings["seasonality"].value == "auto"
        s = r.settings[f"SPC {ind.label}"]
        assert ("seasonal" if res.variation["seasonal"].iloc[0] else "not seasonal") in s.value
    assert "month-of-year seasonality" in html
    # a seasonal chart carries the seasonal band note; a non-seasonal one does not (this small borough: ~55 crimes a
    # month, too few for its 8-20% seasonal swings to pass the strict test)
    n_seasonal = sum(bool(res.variation["seasonal"].iloc[0]) for res in r.spc.values())
    assert html.count('data-field="seasonal"') == n_seasonal


def test_quiet_pack_and_landscape_print_nothing(built, capsys, tmp_path):
    # the analyses the pack calls (harm with types left out, compare, peers) take its quiet: with quiet=True the
    # pack printed two harm notices ("... crime(s) of ... type(s) with no harm weight left out")
    force, store, _ = built
    weights = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "weight": [100.0, 365.0]})
    code = force.tables["areas"].query("level == 'borough'")["code"].iloc[1]
    capsys.readouterr()
    ww.report.pack(store, area=code, period=PERIOD, out=tmp_path / "p.html", harm_weights=weights, quiet=True)
    ww.report.landscape(store, area=code, period=PERIOD, out=tmp_path / "l.html", quiet=True)
    assert capsys.readouterr().err == ""
    ww.report.pack(store, area=code, period=PERIOD, out=tmp_path / "p2.html", harm_weights=weights)
    assert "no harm weight" in capsys.readouterr().err
