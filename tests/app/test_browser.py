"""The dashboard in a real browser (issue 18): Debian's headless Chromium driven by Selenium through chromedriver,
against ``whatworks serve``'s server on 127.0.0.1 over a store built from the synthetic force.

* every page loads with no console error and no request to any address but this machine's, and shows the
  analyses' numbers (the trend chart's points are the store's monthly counts; the pages' tables and maps have the
  pack's rows); a screenshot of each page is saved (``$WHATWORKS_TEST_ARTEFACTS``, else tests/app/_artifacts);
* changing a filter redraws the charts with the new numbers and writes the filters into the URL;
* a bookmarked URL opened in a fresh browser restores the filters and the view;
* with authentication on, an unauthenticated browser gets the sign-in page and its requests for data are refused.

Without Selenium, chromium or chromedriver the tests skip, except under ``CI=true`` where they fail (conftest.py).
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import whatworks as ww
from whatworks.app import AppConfig, hash_password
from whatworks.app._figures import ACCENT
from whatworks.app._pages import TITLES
from whatworks.app._views import PAGES, Filters

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pack(store):
    """The performance pack for the default filters, computed beside the app (the pages must show its rows)."""
    return ww.report.pack(store, out=None, quiet=True)


@pytest.fixture(scope="module")
def borough(built):
    """(code, label in the area filter, its LSOA codes) of one borough of the synthetic force."""
    areas = built[0].tables["areas"]
    b = areas.query("level == 'borough'").iloc[1]
    wards = areas.loc[areas["parent_code"] == b["code"], "code"]
    lsoas = areas.loc[(areas["level"] == "lsoa") & areas["parent_code"].isin(wards), "code"].tolist()
    return b["code"], f"{b['name']} (borough)", b["name"], lsoas


def _counts(store, crime_type=None, lsoas=None) -> pd.Series:
    """Monthly police.uk crimes straight from the store's crimes view (independent of the app's code)."""
    sql, params = "SELECT month, count(*) AS n FROM crimes WHERE source_system = 'police.uk'", []
    if crime_type:
        sql += " AND crime_type = ?"
        params.append(crime_type)
    if lsoas:
        sql += f" AND lsoa_code IN ({','.join('?' * len(lsoas))})"
        params += list(lsoas)
    out = store.sql(sql + " GROUP BY 1", params)
    return out.set_index(pd.to_datetime(out["month"]))["n"]


def _trend_points(b, driver) -> pd.Series:
    """The monthly values the trend chart draws (its "value" trace), read from the chart in the page."""
    fig = b.figure(driver, "trend-graph")
    assert fig is not None, "the trend chart is not drawn"
    value = [t for t in fig["traces"] if t["name"] == "value"]
    assert len(value) == 1, [t["name"] for t in fig["traces"]]
    return pd.Series(value[0]["y"], index=pd.to_datetime(value[0]["x"]), dtype=float)


def _assert_trend_is_the_store(b, driver, store, crime_type=None, lsoas=None) -> pd.Series:
    got = _trend_points(b, driver)
    want = _counts(store, crime_type, lsoas).reindex(got.index).fillna(0)   # a covered month with no crime is 0
    assert len(got) >= 12
    assert got.to_numpy().tolist() == want.astype(float).to_numpy().tolist()
    return got


def _screenshot(driver, path) -> None:
    """A full-page PNG (beyond the window's height) through DevTools."""
    m = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": m["width"], "height": min(m["height"], 12_000), "scale": 1}})
    data = base64.b64decode(shot["data"])
    assert data.startswith(PNG) and len(data) > 10_000
    path.write_bytes(data)


def _text(driver) -> str:
    """The page's visible text (read in the page: no element reference to go stale while it navigates)."""
    return driver.execute_script("return document.body ? document.body.innerText : ''")


def _drain(b, driver) -> None:
    b.console_errors(driver)
    b.requests(driver)


def _query(driver) -> dict:
    return parse_qs(urlsplit(driver.current_url).query)


# ------------------------------------------------------------------------------------------- every page

def _icons(driver, within: str) -> list[str]:
    """The Making Data Count verdicts the page's icons show (their accessible labels)."""
    return [e.get_attribute("aria-label") for e in driver.find_elements("css selector", f"{within} span.icon")]


def _verdicts(pack) -> list[str]:
    return [v.replace("_", " ") for v in pack.table["variation"]]


def _check_attention(b, driver, store, pack):
    rows = driver.find_elements("css selector", "#headline-table tbody tr")
    assert [r.find_elements("tag name", "td")[1].text for r in rows] == pack.table["indicator"].tolist()
    assert _icons(driver, "#headline-table") == _verdicts(pack)
    signals = driver.find_elements("css selector", "#attention-list li a")
    assert len(signals) == len(pack.attention)
    for a, link in zip(pack.attention.itertuples(), signals):
        assert link.get_attribute("href").endswith(f"/performance#{a.anchor}")


def _check_performance(b, driver, store, pack):
    _assert_trend_is_the_store(b, driver, store)
    assert len(driver.find_elements("css selector", "section.indicator")) == len(pack.table)
    assert _icons(driver, "section.indicator h4") == _verdicts(pack)
    for key in pack.funnels:
        fig = b.figure(driver, f"funnel-{key}-graph")
        areas = [t for t in fig["traces"] if t["name"] == "areas"][0]
        assert len(areas["y"]) == len(pack.funnels[key].table)


def _check_places(b, driver, store, pack):
    fig = b.figure(driver, "hotspot-map")
    cells = sum(len(t["x"]) for t in fig["traces"] if t["name"] in ("hot spot", "cold spot", "not significant"))
    assert cells == len(pack.hotspots.table) > 0
    # drawn, not only in the figure's data: one SVG marker a cell (no WebGL needed at this size)
    assert len(driver.find_elements("css selector", "#hotspot-map .scatterlayer .point")) == cells
    hot = [t for t in fig["traces"] if t["name"] == "hot spot"]
    assert len(hot[0]["x"] if hot else []) == int((pack.hotspots.table["classification"] == "hot spot").sum())


def _check_missing(*needles):
    def check(b, driver, store, pack):
        text = _text(driver)
        for n in needles:
            assert n in text
    return check


PAGE_CHECKS = {
    "attention": _check_attention,
    "landscape": _check_missing("Choose an area in the filters above"),
    "performance": _check_performance,
    "places": _check_places,
    "people": _check_missing("Not available for this store", "whatworks ingest records"),
    "evidence": _check_missing("Not available for this store", "whatworks evidence add"),
    "confidence": _check_missing("Not available for this store", "whatworks ingest survey"),
}


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_console_errors(page, browser_ready, live, driver, store, pack, artefacts):
    b = browser_ready
    _drain(b, driver)
    driver.get(live + page)
    b.settle(driver)
    assert driver.find_element("css selector", "#page h2").text == TITLES[page]
    assert driver.find_element("css selector", f"#nav-{page}").get_attribute("class") == "here"
    PAGE_CHECKS[page](b, driver, store, pack)
    broken = driver.execute_script("return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                                   ".map(i => i.alt || i.src.slice(0, 60))")
    assert broken == []
    assert "WebGL is not supported" not in _text(driver)
    assert b.console_errors(driver) == []
    urls = b.requests(driver)
    assert any(u.startswith(live + "_dash-update-component") for u in urls)   # the page's callbacks ran
    assert b.non_local(urls) == []
    _screenshot(driver, artefacts / f"{page}.png")


def test_root_is_the_attention_page(browser_ready, live, driver):
    driver.get(live)
    browser_ready.settle(driver)
    assert driver.find_element("css selector", "#page h2").text == TITLES["attention"]
    assert browser_ready.console_errors(driver) == []


# ------------------------------------------------------------------------------------------- filters

def test_filter_change_updates_charts_and_url(browser_ready, live, driver, store, borough, artefacts):
    b = browser_ready
    code, label, name, lsoas = borough
    _drain(b, driver)
    driver.get(live + "performance")
    b.settle(driver)
    before = _assert_trend_is_the_store(b, driver, store)
    assert b.figure(driver, "trend-graph")["title"].startswith("All crime (excluding ASB)")

    b.choose(driver, "f-type", "Burglary")
    b.wait_for(driver, lambda d: (b.figure(d, "trend-graph") or {"title": ""})["title"].startswith("Burglary"),
               what="the trend chart to show burglary")
    b.settle(driver)
    assert urlsplit(driver.current_url).path == "/performance"
    assert _query(driver) == {"crime_type": ["Burglary"]}
    burglary = _assert_trend_is_the_store(b, driver, store, "Burglary")
    assert burglary.sum() < before.sum()

    b.choose(driver, "f-area", label)
    b.wait_for(driver, lambda d: name in (b.figure(d, "trend-graph") or {"title": ""})["title"],
               what=f"the trend chart to show {name}")
    b.settle(driver)
    assert _query(driver) == {"area": [code], "crime_type": ["Burglary"]}
    local = _assert_trend_is_the_store(b, driver, store, "Burglary", lsoas)
    assert 0 < local.sum() < burglary.sum()
    # the funnel marks the chosen borough
    fig = b.figure(driver, "funnel-rate-graph")
    assert fig is not None and "Crime rate" in fig["title"]

    months = sorted({f"{m:%Y-%m}" for m in local.index})
    first, last = months[-8], months[-3]
    b.choose(driver, "f-from", first)
    b.choose(driver, "f-to", last)
    b.wait_for(driver, lambda d: "period" in _query(d), what="the period in the URL")
    b.settle(driver)
    assert _query(driver) == {"area": [code], "period": [f"{first}..{last}"], "crime_type": ["Burglary"]}
    periodic = _assert_trend_is_the_store(b, driver, store, "Burglary", lsoas)
    assert f"{periodic.index.max():%Y-%m}" == last                       # the chart ends at the period's end
    # every page link carries the filters
    search = urlsplit(driver.current_url).query
    for p in PAGES:
        assert driver.find_element("css selector", f"#nav-{p}").get_attribute("href") == f"{live}{p}?{search}"
    assert b.console_errors(driver) == []
    assert b.non_local(b.requests(driver)) == []
    _screenshot(driver, artefacts / "performance-filtered.png")


def test_bookmarked_url_restores_the_view(browser_ready, live, store, borough, artefacts):
    """A URL with filters, opened in a new browser with no history or cookies, shows the same view; the page links
    keep the filters."""
    b = browser_ready
    code, label, name, lsoas = borough
    months = sorted({f"{m:%Y-%m}" for m in _counts(store).index})
    first, last = months[-14], months[-2]
    search = Filters(area=code, period=(first, last), crime_type="Vehicle crime").to_search()
    fresh = b.chrome()
    try:
        fresh.get(live + "landscape" + search)
        b.settle(fresh)
        assert urlsplit(fresh.current_url).query == search.lstrip("?")     # the app kept the bookmark as it was
        assert (b.shown(fresh, "f-area"), b.shown(fresh, "f-from"), b.shown(fresh, "f-to"),
                b.shown(fresh, "f-type")) == (label, first, last, "Vehicle crime")
        mix = b.figure(fresh, "mix-graph")
        marked = [t["name"] for t in mix["traces"] if t["colour"] == ACCENT]
        assert marked == [name] and len(mix["traces"]) > 1                   # the area marked, among its peers
        _screenshot(fresh, artefacts / "landscape-bookmarked.png")

        fresh.find_element("css selector", "#nav-performance").click()
        b.wait_for(fresh, lambda d: urlsplit(d.current_url).path == "/performance", what="the Performance page")
        b.settle(fresh)
        assert urlsplit(fresh.current_url).query == search.lstrip("?")
        title = b.figure(fresh, "trend-graph")["title"]
        assert title.startswith("Vehicle crime") and name in title
        got = _assert_trend_is_the_store(b, fresh, store, "Vehicle crime", lsoas)
        assert f"{got.index.max():%Y-%m}" == last

        fresh.refresh()                                                      # a reload is a bookmark too
        b.settle(fresh)
        assert _trend_points(b, fresh).equals(got)
        assert b.console_errors(fresh) == []
        assert b.non_local(b.requests(fresh)) == []

        # a stale bookmark still opens, and says what it dropped
        fresh.get(live + "performance?area=NOPE&crime_type=Vehicle+crime")
        b.settle(fresh)
        assert "Area 'NOPE' is not in the store: showing the whole store." in _text(fresh)
        assert (b.shown(fresh, "f-area"), b.shown(fresh, "f-type")) == ("All areas in the store", "Vehicle crime")
        _assert_trend_is_the_store(b, fresh, store, "Vehicle crime")
    finally:
        fresh.quit()


# ------------------------------------------------------------------------------------------- authentication

def test_unauthenticated_browser_is_refused(browser_ready, built, driver, artefacts):
    b = browser_ready
    cfg = AppConfig(username="analyst", password_hash=hash_password(PASSWORD), session_minutes=5)
    with b.serve(built[1], cfg) as url:
        driver.delete_all_cookies()
        _drain(b, driver)
        driver.get(url + "performance?crime_type=Burglary")
        assert urlsplit(driver.current_url).path == "/login"
        assert driver.find_elements("css selector", "#page") == []           # no dashboard, no data
        assert "Sign in" in _text(driver)
        status = "return fetch(arguments[0], {method: arguments[1]}).then(r => r.status)"
        assert driver.execute_script(status, url + "_dash-layout", "GET") == 401
        assert driver.execute_script(status, url + "_dash-update-component", "POST") == 401
        assert driver.execute_script(status, url + "places", "GET") == 200   # fetch followed the redirect …
        assert driver.execute_script("return fetch(arguments[0]).then(r => r.url)", url + "places") == url + "login"
        _screenshot(driver, artefacts / "login.png")

        def sign_in(password):
            driver.find_element("name", "username").send_keys("analyst")
            driver.find_element("name", "password").send_keys(password)
            driver.find_element("css selector", "button[type=submit]").click()

        sign_in("wrong password")
        b.wait_for(driver, lambda d: "Wrong user or password" in _text(d), what="the refusal")
        assert driver.find_elements("css selector", "#page") == []
        _drain(b, driver)                        # the refused POST (401) is in the console: expected
        sign_in(PASSWORD)
        b.wait_for(driver, lambda d: d.find_elements("css selector", "#page h2"), what="the dashboard")
        b.settle(driver)
        assert driver.find_element("css selector", "#page h2").text == TITLES["attention"]
        assert driver.execute_script(status, url + "_dash-layout", "GET") == 200
        assert b.console_errors(driver) == []
        assert b.non_local(b.requests(driver)) == []
        driver.delete_all_cookies()              # signed out: refused again
        assert driver.execute_script(status, url + "_dash-layout", "GET") == 401
