"""Hostile area names through the pack and the landscape (issue #12 item 4): TeX, markup, bidi and HTML are drawn and
written as plain, escaped text; nothing crashes."""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.synth import _constants as C

HOSTILE = "$\\frac{$ <script>alert(1)</script> [/bold] \u202eLeeds"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    force = ww.synth.generate(seed=7, crimes=3_000, months=24, boroughs=3, wards_per_borough=2, lsoas_per_ward=3,
                              segments_per_lsoa=5, survey_per_year=100)
    s = ww.Store(str(d / "s.duckdb"))
    force.to_store(s, workdir=d / "files")
    areas = force.tables["areas"][["code", "name", "level", "parent_code", "population", "deprivation", "density"]].copy()
    borough = areas.query("level == 'borough'")["code"].iloc[0]
    areas.loc[areas["code"] == borough, "name"] = HOSTILE
    force_row = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    s.ingest_areas(pd.concat([force_row, areas], ignore_index=True), quiet=True)
    yield s, borough, d
    s.close()


def test_the_pack_for_a_hostile_area_name_builds_and_escapes_it(store):
    s, borough, d = store
    r = ww.report.pack(s, area=borough, out=d / "p.html", quiet=True)
    html = (d / "p.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert r.path is not None


def test_the_landscape_for_a_hostile_area_name_builds(store):
    s, borough, d = store
    ww.report.landscape(s, borough, out=d / "l.html", quiet=True)
    html = (d / "l.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html


def test_the_pack_never_overwrites_the_store(store):
    s, borough, d = store
    before = (d / "s.duckdb").stat().st_size
    with pytest.raises(ww.WhatworksError, match="database|inputs"):
        ww.report.pack(s, area=borough, out=d / "s.duckdb", quiet=True)
    assert (d / "s.duckdb").stat().st_size == before


def test_the_pack_carries_its_provenance_and_needs_overwrite_for_a_foreign_file(store, tmp_path):
    import html as _html
    import json
    import re

    s, borough, d = store
    notes = tmp_path / "notes.html"
    notes.write_text("<p>mine</p>")
    with pytest.raises(ww.WhatworksError, match="not written by whatworks.*overwrite"):
        ww.report.pack(s, area=borough, out=notes, quiet=True)
    assert notes.read_text() == "<p>mine</p>"
    ww.report.pack(s, area=borough, out=notes, overwrite=True, quiet=True)
    page = notes.read_text(encoding="utf-8")
    meta = dict(re.findall(r'<meta name="(whatworks-[a-z-]+)" content="([^"]*)">', page))
    assert meta["whatworks-store-fingerprint"] == s.fingerprint()
    assert meta["whatworks-version"] == ww.__version__
    assert json.loads(_html.unescape(meta["whatworks-parameters"]))["area"] == borough
    assert meta["whatworks-written-at"].endswith("+00:00")
