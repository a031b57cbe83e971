"""The public version of a pack and a landscape (issue 12, "Disclosure control" and "Provenance").

A small synthetic store (a ward holds a handful of robberies a year) is published with ``public=True``; the HTML is
read back with the standard library's parser, and every count shown (``data-kind="count"``) and every cell of every
table is checked: no published count lies in 1..threshold-1; a table with a total never has exactly one hidden cell
in a line (so the total minus the cells shown cannot give a hidden one away); person-level lists are absent; the
marking and the provenance (version, store checksum, call, parameters, settings, time) are on the page. The working
version (``public=False``) is checked to differ from another working version only by its marking.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks._version import __version__
from whatworks.cli import app
from whatworks.errors import WhatworksError
from whatworks.privacy.disclosure import DEFAULT_MARKING, MARKER
from whatworks.synth import _constants as C

THRESHOLD = 5
WEIGHTS = pd.DataFrame({"crime_type": ["Burglary", "Robbery", "Violence and sexual offences", "Bicycle theft",
                                       "Theft from the person", "Drugs"],
                        "weight": [100.0, 365.0, 50.0, 10.0, 30.0, 20.0]})   # test weights, not a recommendation


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("public")
    force = ww.synth.generate(seed=3, crimes=2_500, months=24, boroughs=3, wards_per_borough=2, lsoas_per_ward=2,
                              segments_per_lsoa=6, survey_per_year=120)
    store = ww.Store(str(d / "s.duckdb"))
    force.to_store(store, workdir=d / "files")
    a = force.tables["areas"]
    force_row = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    store.ingest_areas(pd.concat([force_row, a[["code", "name", "level", "parent_code", "population", "deprivation",
                                                "density"]]], ignore_index=True))
    ward = a.query("level == 'ward'")["code"].iloc[0]
    yield force, store, d, ward
    store.close()


@pytest.fixture(scope="module")
def packs(built):
    force, store, d, ward = built
    pub = ww.report.pack(store, area=ward, out=d / "public.html", harm_weights=WEIGHTS, public=True, quiet=True)
    work = ww.report.pack(store, area=ward, out=d / "work.html", harm_weights=WEIGHTS, quiet=True)
    return pub, work


@pytest.fixture(scope="module")
def landscapes(built):
    force, store, d, ward = built
    pub = ww.report.landscape(store, ward, out=d / "l_public.html", public=True, quiet=True)
    work = ww.report.landscape(store, ward, out=d / "l_work.html", quiet=True)
    return pub, work


# ---------------------------------------------------------------- reading the HTML back
class _Page(HTMLParser):
    """Every count span (field, data-value) and every table (rows of cells; a cell = its text and its count spans)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.counts: list[tuple[str, str]] = []
        self.tables: list[list[dict]] = []
        self._stack: list[list] = []        # open tables: list of rows
        self._row: dict | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._row = {"attrs": at, "cells": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"text": "", "counts": []}
        elif tag == "span" and at.get("data-kind") == "count":
            assert "data-value" in at, at
            self.counts.append((at.get("data-field"), at["data-value"]))
            if self._cell is not None:
                self._cell["counts"].append(at["data-value"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row["cells"].append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            self._stack[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _page(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def _small(value: str) -> bool:
    if value == MARKER or value == "nan":
        return False
    v = float(value)
    return 0 < v < THRESHOLD


def _assert_no_small_count(html: str) -> _Page:
    page = _page(html)
    assert page.counts, "the page shows no count at all"
    bad = [(f, v) for f, v in page.counts if _small(v)]
    assert not bad, bad
    # every cell of every table: a count cell shows its data-value or the marker, never a small number as text
    for table in page.tables:
        for row in table:
            for cell in row["cells"]:
                for v in cell["counts"]:
                    assert not _small(v)
                    if v == MARKER:
                        assert MARKER in cell["text"]
    return page


def _count_columns(table: list[dict]) -> dict[int, list[str]]:
    """Column index -> the data-values of its count cells, body rows then the total row last (tables with a
    total row only)."""
    body = [r for r in table if r["attrs"].get("data-total") != "true" and r["cells"] and
            any(c["counts"] for c in r["cells"])]
    total = [r for r in table if r["attrs"].get("data-total") == "true"]
    assert len(total) == 1
    cols: dict[int, list[str]] = {}
    for r in body + total:
        for j, c in enumerate(r["cells"]):
            if c["counts"]:
                cols.setdefault(j, []).append(c["counts"][0])
    return cols


def _strip(h: str) -> str:
    """A working page without its marking and its time of writing."""
    h = h.replace(DEFAULT_MARKING, "M").replace("OFFICIAL [TEST]", "M")
    h = re.sub(r'(name="whatworks-written-at" content=")[^"]*', r"\1", h)
    h = re.sub(r'(data-provenance="written_at">)[^<]*', r"\1", h)
    return re.sub(r'&#34;marking&#34;: &#34;[^&]*&#34;, ', "", h)


# ---------------------------------------------------------------- CHECK OUTPUTS: the pack
def test_no_published_count_in_the_public_pack_is_small(packs):
    pub, work = packs
    page = _assert_no_small_count(pub.html)
    # the working pack does show small counts here (so the test has something to hide)
    assert any(_small(v) for _, v in _page(work.html).counts)
    assert any(v == MARKER for _, v in page.counts)


def test_every_published_count_is_the_working_packs_figure_or_hidden(packs):
    pub, work = packs
    for ind in pub.table["indicator"]:
        pat = rf'<tr data-indicator="{re.escape(ind)}">(.*?)</tr>'
        got = _page("<table>" + re.search(pat, pub.html, re.S).group(0) + "</table>").counts
        want = _page("<table>" + re.search(pat, work.html, re.S).group(0) + "</table>").counts
        assert len(got) == len(want)
        for (f1, v1), (f2, v2) in zip(got, want):
            assert f1 == f2 and (v1 == MARKER or v1 == v2), (ind, f1, v1, v2)


def test_secondary_suppression_holds_in_the_harm_table(packs, built):
    pub, work = packs
    page = _page(pub.html)
    harm_tables = [t for t in page.tables if any(r["attrs"].get("data-total") == "true" for r in t)]
    assert len(harm_tables) == 1
    truth = work.harm.table.set_index("crime_type")["count"]
    cols = _count_columns(harm_tables[0])
    assert len(cols) == 1
    (values,) = cols.values()
    *body, total = values
    hidden = [v == MARKER for v in values]
    assert sum(hidden) != 1, "one hidden cell in a line with its total: the total gives it away"
    assert any(hidden), "the ward has a crime type with fewer than 5 crimes: something must be hidden"
    if total != MARKER:
        shown = sum(float(v) for v in body if v != MARKER)
        assert float(total) == truth.sum()
        types = [r["attrs"]["data-crime-type"] for r in harm_tables[0] if r["cells"] and r["cells"][1]["counts"]
                 and r["attrs"].get("data-total") != "true"]
        assert len(types) == len(body)
        assert float(total) - shown == pytest.approx(truth[[t for t, v in zip(types, body) if v == MARKER]].sum())
        assert all(float(v) == truth[t] for t, v in zip(types, body) if v != MARKER)
        # the hidden cells share what is left: with two or more, none is determined
        assert sum(v == MARKER for v in body) >= 2
    # a hidden crime type's harm, share and the total harm are hidden too (weights are shown: harm = count x weight)
    for r in harm_tables[0]:
        texts = [c["text"].strip() for c in r["cells"]]
        if r["cells"] and r["cells"][1]["counts"] == [MARKER]:
            assert texts[3] == MARKER and texts[4] == MARKER


def test_a_crime_type_hidden_in_the_harm_table_is_hidden_in_the_headline_table(packs):
    pub, _ = packs
    hidden_harm = set(re.findall(r'<tr data-crime-type="([^"]+)"><td>[^<]*</td><td class="n"><span '
                                 r'data-field="harm_count" data-value="\[c\]"', pub.html))
    for ind in ("Burglary", "Robbery", "Vehicle crime", "Violence and sexual offences"):
        if ind in hidden_harm:
            row = re.search(rf'<tr data-indicator="{ind}">(.*?)</tr>', pub.html, re.S).group(1)
            assert 'data-field="this_period" data-value="[c]"' in row, ind


def test_rates_ratios_and_charts_resting_on_a_hidden_count_are_hidden(packs):
    pub, work = packs
    sections = dict(re.findall(r'<section class="indicator" id="indicator-\d+" data-indicator="([^"]+)">(.*?)</section>',
                               pub.html, re.S))
    n_hidden_charts = 0
    for label, body in sections.items():
        if 'data-field="this_period" data-value="[c]"' in body:
            assert 'data-field="rate_ratio"' not in body and 'data-field="p_value"' not in body
            assert 'data-field="rate_per_1000" data-value="' not in body or \
                'data-field="rate_per_1000" data-value="[c]"' in body
            assert "monthly, with process limits" not in body, label
        if 'data-note="chart-suppressed"' in body:
            n_hidden_charts += 1
            assert "monthly, with process limits" not in body, label
        else:
            assert "monthly, with process limits" in body, label
    assert n_hidden_charts >= 1
    # the hot-spot map (cells of a few crimes) is not in the public version, with the reason given
    assert "Hot-spot map left out of the public version" in pub.html
    assert "Getis–Ord Gi*" not in pub.html.split('<section class="hotspots">')[1].split("</section>")[0]


def test_person_level_lists_are_absent(packs, built):
    pub, _ = packs
    _, store, _, _ = built
    ids = store.sql("SELECT DISTINCT person_id FROM event_persons")["person_id"].astype(str).tolist()
    assert ids, "the synthetic store has persons (so their absence means something)"
    assert not [i for i in ids if i in pub.html]
    low = pub.html.lower()
    assert "person-level lists" in low and "repeat victim" not in low.replace("(repeat victims,", "")


def test_marking_and_provenance_are_on_the_public_pack(packs, built):
    pub, _ = packs
    _, store, _, ward = built
    html = pub.html
    label = "PUBLIC VERSION — cells under 5 suppressed, with secondary suppression; no person-level information."
    assert html.count(label) >= 2   # top of the page and the footer
    assert html.index(label) < html.index("<h1>")
    prov = dict(re.findall(r'<meta name="whatworks-([a-z-]+)" content="([^"]*)">', html))
    assert prov["store-fingerprint"] == store.fingerprint()
    assert prov["version"] == __version__
    assert prov["public"] == "true"
    params = json.loads(prov["parameters"].replace("&#34;", '"').replace("&quot;", '"'))
    assert params["public"] is True and params["disclosure_threshold"] == 5 and params["area"] == ward
    assert pd.Timestamp(prov["written-at"]).tzinfo is not None
    assert 'data-provenance="disclosure_rule">cells under 5 suppressed, with secondary suppression' in html
    assert f'data-provenance="call"><code>whatworks.report.pack(store, area=&#39;{ward}&#39;' in html
    settings = json.loads(prov["settings"].replace("&#34;", '"').replace("&quot;", '"'))
    assert settings["public"] == "True" and settings["disclosure threshold"] == "5"
    assert pub.settings["disclosure threshold"].source == "default"


def test_the_working_pack_differs_from_another_working_pack_only_by_its_marking(built, packs):
    force, store, d, ward = built
    _, work = packs
    other = ww.report.pack(store, area=ward, out=None, harm_weights=WEIGHTS, marking="OFFICIAL [TEST]", quiet=True)
    assert DEFAULT_MARKING in work.html and "OFFICIAL [TEST]" in other.html

    assert _strip(work.html) == _strip(other.html)
    assert "PUBLIC VERSION" not in work.html and 'data-kind="count"' in work.html


# ---------------------------------------------------------------- CHECK OUTPUTS: the landscape
def test_no_published_count_in_the_public_landscape_is_small(landscapes, built):
    pub, work = landscapes
    _, store, _, ward = built
    html = pub.html
    _assert_no_small_count(html)
    assert "PUBLIC VERSION — cells under 5 suppressed" in html
    prov = dict(re.findall(r'<meta name="whatworks-([a-z-]+)" content="([^"]*)">', html))
    assert prov["store-fingerprint"] == store.fingerprint() and prov["public"] == "true"
    # the crime mix: each area cell hidden where its count is small; a hidden count's rate is hidden with it
    mix = work.mix
    own = mix[mix["unit"] == ward].set_index("crime_type")["count"]
    rows = dict(re.findall(r'<tr data-crime-type="([^"]+)">(.*?)</tr>', html, re.S))
    hidden = []
    for t, body in rows.items():
        t = t.replace("&amp;", "&")
        v = re.search(r'data-field="(?:rate_per_1000|count)" data-value="([^"]+)"', body).group(1)
        if 0 < own[t] < THRESHOLD:
            assert v == MARKER, t
        if v == MARKER:
            hidden.append(t)
        else:
            measure = "rate_per_1000" if 'data-field="rate_per_1000"' in body else "count"
            want = float(mix[(mix["unit"] == ward) & (mix["crime_type"] == t)][measure].iloc[0])
            assert float(v) == pytest.approx(want, rel=1e-12)
    assert hidden
    # secondary suppression: the area's crimes (excluding ASB) are published in the year-on-year line, so the
    # crime types of its row never have exactly one hidden cell
    crimes_hidden = [t for t in hidden if t != "Anti-social behaviour"]
    assert len(crimes_hidden) != 1
    assert "data-field=\"this_period\"" in html   # the area's total is published here


def test_the_working_landscape_is_unchanged_apart_from_its_marking(landscapes, built):
    _, work = landscapes
    _, store, d, ward = built
    other = ww.report.landscape(store, ward, out=None, marking="OFFICIAL [TEST]", quiet=True)
    assert _strip(work.html) == _strip(other.html)
    assert not work.html.count(MARKER)


# ---------------------------------------------------------------- the CLI
def test_cli_public_flags(built, tmp_path):
    _, store, d, ward = built
    store.con.execute("CHECKPOINT")
    copy = tmp_path / "copy.duckdb"          # the fixture holds the file open for writing
    shutil.copyfile(store.path, copy)
    out = tmp_path / "p.html"
    res = CliRunner().invoke(app, ["pack", "--area", ward, "--out", str(out), "--no-hotspots", "--public",
                                   "--disclosure-threshold", "10", "--store", str(copy)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "PUBLIC VERSION — cells under 10 suppressed" in html
    assert not [v for _, v in _page(html).counts if v != MARKER and 0 < float(v) < 10]
    res = CliRunner().invoke(app, ["landscape", "--area", ward, "--out", str(tmp_path / "l.html"), "--public",
                                   "--store", str(copy)])
    assert res.exit_code == 0, res.output
    assert "PUBLIC VERSION — cells under 5 suppressed" in (tmp_path / "l.html").read_text(encoding="utf-8")
    res = CliRunner().invoke(app, ["landscape", "--area", ward, "--out", str(tmp_path / "w.html"),
                                   "--marking", "OFFICIAL-SENSITIVE [PERSONAL]", "--store", str(copy)])
    assert res.exit_code == 0, res.output
    assert '<p class="marking" data-marking="working">OFFICIAL-SENSITIVE [PERSONAL]</p>' in \
        (tmp_path / "w.html").read_text(encoding="utf-8")
    res = CliRunner().invoke(app, ["pack", "--area", ward, "--out", str(tmp_path / "x.html"), "--public",
                                   "--disclosure-threshold", "1", "--store", str(copy)])
    # the CLI's main() prints a WhatworksError as one line; under CliRunner it is the result's exception
    assert res.exit_code != 0 and isinstance(res.exception, WhatworksError)
    assert "disclosure_threshold" in str(res.exception) and not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------- CHECK INPUTS
@pytest.mark.parametrize("kw, match", [
    ({"public": "yes"}, "'public' parameter"),
    ({"public": True, "disclosure_threshold": 1}, "at least 2"),
    ({"public": True, "disclosure_threshold": 2.5}, "whole number"),
    ({"marking": "  "}, "non-empty"),
])
def test_bad_publishing_options_are_refused(built, kw, match):
    _, store, _, ward = built
    with pytest.raises(WhatworksError, match=match):
        ww.report.pack(store, area=ward, out=None, quiet=True, **kw)
    with pytest.raises(WhatworksError, match=match):
        ww.report.landscape(store, ward, out=None, quiet=True, **kw)


def test_the_default_threshold_is_announced(built, capsys):
    _, store, _, ward = built
    ww.report.landscape(store, ward, out=None, public=True, confidence=False)
    assert "public version: cells under 5 are suppressed" in capsys.readouterr().err
