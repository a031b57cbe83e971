"""The pack's "Public confidence" and "Evidence for each tactic" sections (issues 15.8 and 16.8) and the landscape's
citizen picture: every figure equals the analyses' own results, run here independently of the pack on the demo's store."""

from __future__ import annotations

import html as _html
import math
import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import whatworks as ww
from whatworks import evidence
from whatworks.demo import DEMO_STEPS, run_demo
from whatworks.report import sections as _sections
from whatworks.survey import Design, drivers, trend

SMALL = dict(seed=3, crimes=4_000, months=12, boroughs=2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    steps = [s for s in DEMO_STEPS if s.name not in ("people", "outputs")]
    res = run_demo(d / "out", steps=steps, console=Console(file=open("/dev/null", "w")), **SMALL)
    store = ww.Store(str(res.store_path))
    yield res, store
    store.close()


def _fields(fragment: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in re.findall(r'data-field="([^"]+)" data-value="([^"]*)"', fragment):
        out.setdefault(name, []).append(value)
    return out


def _section(html: str, cls: str) -> str:
    m = re.search(rf'<section class="{cls}"[^>]*>(.*?)</section>', html, re.S)
    assert m, cls
    return m.group(1)


# ---------------------------------------------------------------------------------------------- CHECK OUTPUTS


def test_demo_pack_confidence_equals_the_survey_design(demo):
    res, store = demo
    pack = res.reports["pack"]
    conf = pack.confidence
    assert conf is not None and conf.survey == "pas"
    html = (res.out_dir / "pack.html").read_text(encoding="utf-8")
    assert 'data-future="confidence"' not in html
    p0, p1 = pack.settings["period"].value if isinstance(pack.settings["period"].value, tuple) else \
        tuple(str(pack.settings["period"].value).split(".."))
    df = store.survey("pas")
    when = pd.to_datetime(df["interview_date"])
    mask = ((when >= pd.Timestamp(p0 + "-01")) & (when <= pd.Timestamp(p1 + "-01") + pd.offsets.MonthEnd(0))).to_numpy()
    assert mask.sum() == len(df) == 12_800    # the small demo: 12 months, all in the pack's period
    d = Design(df, weights="weight", strata="borough_code")
    expect = d.subset(mask).proportion("confident", by="borough_code", quiet=True).table
    sec = _section(html, "confidence")
    for r in expect.itertuples():
        row = re.search(rf'<tr data-confidence-area="{r.borough_code}"[^>]*>(.*?)</tr>', sec, re.S).group(1)
        f = _fields(row)
        assert abs(float(f["estimate"][0]) - r.estimate) < 1e-12
        assert abs(float(f["ci_low"][0]) - r.ci_low) < 1e-12 and abs(float(f["ci_high"][0]) - r.ci_high) < 1e-12
    overall = d.subset(mask).proportion("confident", quiet=True).table.iloc[0]
    assert abs(float(_fields(sec)["confidence_overall"][0]) - overall["estimate"]) < 1e-12
    # the quarterly trend with its sampling-error limits: the whole series, as survey.trend gives it
    tr = trend(d, "confident", "interview_date", period="quarter", quiet=True).table
    pd.testing.assert_frame_equal(conf.trend.table, tr)
    assert len(tr) == 4 and 'data-confidence="trend"' in sec
    # the driver map: survey.drivers on the period's interviews
    dr = drivers(d.subset(mask), "confident", list(_sections.PAS_DRIVERS), controls=["recent_contact"],
                 n_boot=_sections.DEFAULT_DRIVER_BOOT, seed=0, quiet=True)
    pd.testing.assert_frame_equal(conf.drivers.table, dr.table)
    shares = {m[0]: float(m[1]) for m in re.findall(r'data-driver="(\w+)">.*?data-field="share" data-value="([^"]+)"', sec, re.S)}
    assert shares == pytest.approx(dict(zip(dr.table["driver"], dr.table["share"])), abs=1e-12)
    assert abs(sum(shares.values()) - 1) < 1e-12
    assert pack.settings["confidence survey"].value == "pas"


def test_demo_pack_evidence_equals_best_evidence_and_tasking(demo):
    res, store = demo
    pack = res.reports["pack"]
    ev = pack.evidence
    assert ev is not None
    html = (res.out_dir / "pack.html").read_text(encoding="utf-8")
    assert 'data-future="evidence"' not in html
    reg = store.register()
    assert set(reg.interventions["intervention_id"]) == {"offender_management", "problem_solving_policy"}
    assert set(reg.interventions["status"]) == {"running"}
    assert reg.interventions["cost"].isna().all()          # the synthetic force records no cost
    sec = _section(html, "evidence")
    assert [t["tactic"] for t in ev.tactics] == ["integrated offender management", "problem-solving policing"]
    for t in ev.tactics:
        be = evidence.best_evidence(reg, t["tactic"])
        pd.testing.assert_frame_equal(t["evidence"], be)
        for r in be.itertuples():
            row = re.search(rf'<tr data-evidence-id="{r.id}">(.*?)</tr>', sec, re.S).group(1)
            f = _fields(row)
            assert int(float(f["sms_level"][0])) == int(r.sms_level)
            if pd.notna(r.estimate):
                assert float(f["estimate"][0]) == pytest.approx(float(r.estimate), abs=1e-12)
        assert t["cba"] is None and t["cba_note"] == "no cost recorded for its interventions"
    om = evidence.best_evidence(reg, "integrated offender management").iloc[0]
    e = res.reports["evaluations"]["offender_management_effect"]
    assert om["estimate"] == pytest.approx(e.estimate, abs=1e-12) and om["design"] == "matched comparison"
    # the tasking view: the problems the pack surfaced, through evidence.tasking
    expect = evidence.tasking(ev.problems, reg).table
    pd.testing.assert_frame_equal(ev.tasking.table, expect)
    n_hot = int((pack.hotspots.table["classification"] == "hot spot").sum())
    assert n_hot > 0 and f"Crime hot spots ({n_hot} Gi* cells)" in set(ev.problems["problem"])
    assert set(ev.problems["problem_type"]) >= {"hot spot", "prolific offenders"}
    assert "no robust evidence" in sec


def test_demo_pack_has_no_external_url(demo):
    res, _ = demo
    html = (res.out_dir / "pack.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I)


def test_demo_registered_and_loaded_through_the_real_paths(demo):
    res, store = demo
    rep = res.reports["survey"]
    assert rep.rows_read == rep.rows_loaded == 12_800 and rep.rows_quarantined == 0
    assert store.surveys()["survey"].tolist() == ["pas"]
    assert {"register", "survey"} <= set(res.timings)


def test_landscape_citizen_picture(demo):
    res, store = demo
    code = res.reports["pack"].confidence.table["borough_code"].iloc[1]
    r = ww.report.landscape(store, code, out=None, quiet=True)
    assert r.confidence is not None
    sec = re.search(r'<div class="citizen"[^>]*>(.*?)</div>', r.html, re.S).group(1)
    f = _fields(sec)
    row = r.confidence.table[r.confidence.table["is_area"]].iloc[0]
    assert float(f["estimate"][0]) == pytest.approx(row["estimate"], abs=1e-12)
    assert float(f["ci_low"][0]) == pytest.approx(row["ci_low"], abs=1e-12)
    assert 'data-future="confidence"' not in r.html


# ---------------------------------------------------------------------------------------------- CHECK INPUTS


def test_confidence_argument_is_checked_and_can_be_switched_off(demo):
    res, store = demo
    with pytest.raises(ww.errors.WhatworksError, match="No survey named 'nope'"):
        ww.report.pack(store, out=None, hotspots=False, confidence="nope", quiet=True)
    with pytest.raises(ww.errors.WhatworksError, match="must be a Confidence"):
        ww.report.pack(store, out=None, hotspots=False, confidence=3, quiet=True)
    r = ww.report.pack(store, out=None, hotspots=False, confidence=False, quiet=True)
    assert r.confidence is None and "confidence=False" in r.html
    r = ww.report.pack(store, out=None, hotspots=False, confidence=ww.report.Confidence(outcome="missing_q"), quiet=True)
    assert r.confidence is None and "has no column 'missing_q'" in _html.unescape(r.html)


def test_pack_announces_the_survey_it_chose(demo, capsys):
    _, store = demo
    ww.report.pack(store, out=None, hotspots=False)
    err = capsys.readouterr()
    text = err.out + err.err
    assert "confidence survey set to 'pas'" in text and "confidence variables set to" in text


# ---------------------------------------------------------------------------------------------- cost-benefit, fidelity


def test_evidence_section_costs_and_fidelity(tmp_path):
    """A hand-built register: a costed robbery tactic with a log rate ratio and implementation records."""
    store = ww.Store(str(tmp_path / "r.duckdb"))
    est, se = math.log(0.8), 0.05
    store.save_register(evidence.Register.from_records(
        interventions=[dict(intervention_id="R1", name="Robbery patrols", tactic="hot spot policing",
                            target_problem="hot spot", crime_type="Robbery", cost=100_000.0,
                            cost_price_year="2015/16", status="running")],
        evaluations=[dict(evaluation_id="R1-e", intervention_id="R1", design="randomised", measure="log rate ratio",
                          estimate=est, se=se, ci_low=est - 1.959964 * se, ci_high=est + 1.959964 * se)],
        implementation=[dict(intervention_id="R1", unit="A", period="2024-01", dose_planned=10, dose_delivered=9,
                             reach=1.0), dict(intervention_id="R1", unit="B", period="2024-01", dose_planned=10,
                                              dose_delivered=4, reach=0.5)]))
    costs = evidence.cost_of_crime()
    sec = _sections.evidence_section(store, baseline={"Robbery": 50}, unit_costs=costs)
    (t,) = sec.tactics
    expect = evidence.cba(100_000.0, 0.8, {"Robbery": 50.0}, costs,
                          effect_ci=(math.exp(est - 1.959964 * se), math.exp(est + 1.959964 * se)))
    assert t["cba"].npv == pytest.approx(expect.npv, abs=1e-9)
    # 50 robberies x 20% x £11,320 = £113,200 of benefits against £100,000: NPV £13,200 (one year, undiscounted)
    assert t["cba"].npv == pytest.approx(13_200.0, abs=1e-6)
    f = t["fidelity"].table.set_index("unit")["fidelity"]
    assert f["A"] == pytest.approx(0.95) and f["B"] == pytest.approx(0.45)
    # no hot spots or confidence given: the running intervention's target problem is tasked
    assert sec.tasking.table["verdict"].tolist() == ["works"]
    assert sec.tasking.table["problem_type"].tolist() == ["hot spot"]
    # no unit cost for the crime type: said, not invented
    sec2 = _sections.evidence_section(store, baseline={"Robbery": 50}, unit_costs=costs[costs["crime_type"] != "Robbery"])
    assert sec2.tactics[0]["cba"] is None and "no unit cost for 'Robbery'" in sec2.tactics[0]["cba_note"]
    store.close()


def test_no_survey_no_register_does_not_create_tables(tmp_path):
    store = ww.Store(str(tmp_path / "e.duckdb"))
    before = set(store.relations()["name"])
    assert _sections.evidence_section(store).startswith("Not yet available: no evidence register")
    out = _sections.confidence_section(store, None, period=("2024-01", "2024-12"), area_code=None, names={},
                                       quiet=True, settings={})
    assert out.startswith("Not yet available: no public attitude survey")
    assert set(store.relations()["name"]) == before
    store.close()


def test_read_only_store_says_why_confidence_is_missing_or_shows_it(demo, tmp_path):
    """`whatworks pack` opens the store read-only. Until Store.surveys() stops creating its tables on a read-only
    store, the pack says so in the section instead of failing; once it does, the section is drawn."""
    import shutil

    res, store = demo
    store.con.execute("CHECKPOINT")
    copy = tmp_path / "ro.duckdb"
    shutil.copy(res.store_path, copy)
    with ww.Store(str(copy), read_only=True) as ro:
        r = ww.report.pack(ro, out=None, hotspots=False, quiet=True)
    assert r.evidence is not None
    assert r.confidence is not None or "the store is open read-only" in r.html
