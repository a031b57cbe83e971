"""Area landscapes (issue 4): a one-page profile whose numbers equal the analyses' results, with no external URL."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import whatworks as ww
from whatworks.performance import compare, peers
from whatworks.synth import _constants as C

PERIOD = ("2024-04", "2025-03")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("land")
    force = ww.synth.generate(seed=8, crimes=6_000, months=36, boroughs=5, wards_per_borough=2, lsoas_per_ward=3,
                              segments_per_lsoa=8, survey_per_year=200)
    store = ww.Store(str(d / "s.duckdb"))
    force.to_store(store, workdir=d / "files")
    a = force.tables["areas"]
    force_row = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    store.ingest_areas(pd.concat([force_row, a[["code", "name", "level", "parent_code", "population", "deprivation",
                                                "density"]]], ignore_index=True))
    yield force, store, d
    store.close()


def test_landscape_numbers_and_peers(built):
    force, store, d = built
    a = force.tables["areas"]
    bor = a[a["level"] == "borough"].reset_index(drop=True)
    code = bor["code"].iloc[2]
    r = ww.report.landscape(store, code, out=d / "l.html", period=PERIOD, quiet=True)
    html = (d / "l.html").read_text(encoding="utf-8")
    low = html.lower()
    assert "http://" not in low and "https://" not in low and "<script" not in low and "<link" not in low
    # peers: the same as peers() on the boroughs' covariates
    want = peers(bor, ["deprivation", "density"], id="code", k=4).of(code)["peer"].tolist()
    assert set(want) == set(re.findall(r'data-peer="([^"]+)"', html))
    # crime mix: rates per 1,000 residents, from the records of the area's small areas (membership from the force)
    wards = set(a[(a["level"] == "ward") & (a["parent_code"] == code)]["code"])
    lsoas = set(a[(a["level"] == "lsoa") & a["parent_code"].isin(wards)]["code"])
    pop = float(bor.set_index("code").loc[code, "population"])
    rows = store.sql("SELECT * FROM crimes WHERE source_system = 'police.uk'")
    rows = rows[rows["lsoa_code"].isin(lsoas)]
    this = rows[(rows["month"] >= pd.Timestamp("2024-04-01")) & (rows["month"] <= pd.Timestamp("2025-03-01"))]
    counts = this["crime_type"].value_counts()
    for t, n in counts.items():
        m = re.search(rf'<tr data-crime-type="{re.escape(t)}">(.*?)</tr>', html, re.S)
        v = float(re.search(r'data-field="rate_per_1000" data-value="([^"]+)"', m.group(1)).group(1))
        assert v == pytest.approx(n / pop * 1000, rel=1e-12)
    # year on year, exact test
    last = rows[(rows["month"] >= pd.Timestamp("2023-04-01")) & (rows["month"] <= pd.Timestamp("2024-03-01"))]
    c = compare(int((this["kind"] == "crime").sum()), int((last["kind"] == "crime").sum()))
    got = dict(re.findall(r'data-field="(rate_ratio|p_value|ci_low|ci_high)" data-value="([^"]+)"', html))
    assert float(got["rate_ratio"]) == pytest.approx(c.estimate, rel=1e-12)
    assert float(got["p_value"]) == pytest.approx(c.p_value, rel=1e-12)
    assert float(got["ci_low"]) == pytest.approx(c.ci[0], rel=1e-12)
    # residents and the sections that later capabilities fill
    assert f'data-code="{code}"' in html
    assert 'data-future="confidence"' in html and 'data-future="workforce"' in html
    assert r.peers is not None and r.workforce is None


def test_landscape_refuses_a_force_and_unknown_areas(built):
    force, store, d = built
    with pytest.raises(ww.WhatworksError, match="not in the store"):
        ww.report.landscape(store, "NOPE", out=None, quiet=True)
    with pytest.raises(ww.WhatworksError, match="must be an area code"):
        ww.report.landscape(store, None, out=None, quiet=True)
    # review: k=2.5 was silently truncated to 2 and k="3" raised a bare ValueError; peers() now checks it
    code = force.tables["areas"].query("level == 'borough'")["code"].iloc[0]
    for bad in (2.5, "3"):
        with pytest.raises(ww.WhatworksError, match="'k' parameter"):
            ww.report.landscape(store, code, out=None, k=bad, quiet=True)
