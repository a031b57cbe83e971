"""The dashboard's background work in a real browser (issue 18 item 4): with ``diskcache`` installed (the app
extra), ``whatworks serve`` runs the slow part of a page (the pack's analyses) as a Dash background callback in a
worker process, with a progress indicator and a Cancel button.

* the slow page shows the progress indicator while the pack runs, then its content;
* changing a filter while the pack runs cancels the stale job: the page ends showing the new filter's result and no
  stale result overwrites it;
* the quick trend chart follows a filter change without waiting for the pack.

The tests with ``background=False`` (synchronous pages) are in test_app.py; the other browser tests
(test_browser.py) run on the background path too when diskcache is installed.
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from whatworks.app import create_app
from whatworks.app._pages import TITLES

pytestmark = pytest.mark.slow

STATE_JS = """
const box = document.getElementById('progress-box');
const gd = document.querySelector('#trend-graph .js-plotly-plot');
const t = gd && gd.layout && gd.layout.title;
return {box: box ? box.style.display : null,
        progress: (document.getElementById('progress-text') || {}).innerText || '',
        trend: (t && (t.text !== undefined ? t.text : t)) || '',
        sections: document.querySelectorAll('#slow section.indicator').length,
        headline: [...document.querySelectorAll('#headline-table tbody tr td:nth-child(2)')].map(td => td.innerText)};
"""


@pytest.fixture(scope="module")
def diskcache():
    return pytest.importorskip("diskcache", reason="the background path needs diskcache (the app extra)")


def _state(driver) -> dict:
    return driver.execute_script(STATE_JS)


def test_create_app_picks_the_diskcache_manager(store, diskcache):
    import dash

    app = create_app(store, quiet=True)                # a store file opened read-only: background work
    manager = app._background_manager
    assert isinstance(manager, dash.DiskcacheManager)
    assert isinstance(manager.handle, diskcache.Cache) and os.path.isdir(manager.handle.directory)
    assert app.whatworks_views.disk is manager.handle   # pack results shared with the workers
    assert create_app(store, background=False, quiet=True)._background_manager is None


def test_slow_page_shows_progress_then_content(browser_ready, diskcache, live, driver, store):
    b = browser_ready
    b.console_errors(driver)
    driver.get(live + "attention")
    running = b.wait_for(driver, lambda d: (s := _state(d))["box"] == "flex" and s, timeout=30,
                         what="the progress indicator")
    assert running["headline"] == []                   # the pack's content is not there yet
    b.wait_for(driver, lambda d: _state(d)["headline"], timeout=60, what="the headline table")
    b.settle(driver)
    done = _state(driver)
    assert done["box"] == "none"                       # the indicator is gone once the content is in
    assert done["headline"][0] == "All crime (excluding ASB)" and len(done["headline"]) == 7
    assert driver.find_element("css selector", "#page h2").text == TITLES["attention"]
    assert b.console_errors(driver) == []


def test_filter_change_cancels_the_stale_job_and_quick_chart_does_not_wait(browser_ready, diskcache, live, driver):
    b = browser_ready
    b.console_errors(driver)
    b.requests(driver)
    driver.get(live + "performance?crime_type=Robbery")
    b.wait_for(driver, lambda d: _state(d)["box"] == "flex", timeout=30, what="the Robbery pack to start")
    b.wait_for(driver, lambda d: _state(d)["trend"].startswith("Robbery"), timeout=30, what="the Robbery trend")
    assert _state(driver)["sections"] == 0             # the Robbery pack is still running …
    b.choose(driver, "f-type", "Vehicle crime")        # … when the filter changes

    # the quick chart shows the new filter while the new pack still runs
    seen = b.wait_for(driver, lambda d: (s := _state(d))["trend"].startswith("Vehicle crime") and s, timeout=30,
                      what="the trend chart to show vehicle crime")
    assert seen["box"] == "flex" and seen["sections"] == 0, seen
    b.wait_for(driver, lambda d: _state(d)["sections"] > 0, timeout=60, what="the Vehicle crime pack")
    b.settle(driver)
    assert parse_qs(urlsplit(driver.current_url).query) == {"crime_type": ["Vehicle crime"]}
    # the stale job was cancelled: the renderer named it (oldJob) when it asked for the new one
    assert any("oldJob=" in u for u in b.requests(driver))
    time.sleep(3)                                      # long enough for a stale Robbery job to have finished
    end = _state(driver)
    assert end["box"] == "none" and end["trend"].startswith("Vehicle crime")
    titles = [e.text for e in driver.find_elements("css selector", "#slow section.indicator h4")]
    assert end["sections"] == 2 and titles and "Vehicle crime" in titles[0] and \
        not any("Robbery" in t for t in titles), titles
    assert b.console_errors(driver) == []
