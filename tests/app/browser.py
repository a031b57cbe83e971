"""Driving the dashboard in a real browser: Debian's Chromium through its ChromeDriver, with Selenium.

Shared by the browser tests (tests/app/test_browser.py) and the latency benchmark (benchmarks/app_latency.py).
Nothing is downloaded: Selenium is pointed at the system's ``chromium`` and ``chromedriver`` (Selenium Manager,
which would fetch a browser, is never asked), and Chromium's own background traffic (component updates, sync,
first-run pages) is switched off, so the only requests are the page's own.

* :func:`missing` says what is missing to run a browser (None when all is there);
* :func:`serve` runs ``whatworks serve``'s server over a store file in a thread, on 127.0.0.1 and a free port;
* :func:`chrome` starts headless Chromium logging the console and the network (``goog:loggingPrefs``);
* :func:`settle`, :func:`choose`, :func:`figure` wait for the page, pick a dropdown option, read a drawn chart;
* :func:`console_errors` and :func:`requests` read the console and the network log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("WHATWORKS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WHATWORKS_CHROMEDRIVER", "/usr/bin/chromedriver")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
LOCAL_SCHEMES = ("data", "blob", "about")
CHROME_ARGS = (
    "--headless=new", "--no-sandbox",  # the tests run as root: Chromium's sandbox refuses root
    "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
    # no traffic of Chromium's own (component updater, safe browsing lists, sync, field trials, first-run pages)
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-first-run", "--no-default-browser-check", "--disable-client-side-phishing-detection",
    "--metrics-recording-only", "--disable-domain-reliability",
)
# Dash marks a component waiting for a callback with data-dash-is-loading; Plotly's div carries
# .dash-graph--pending while dcc.Graph is drawing and .main-svg once drawn
SETTLED_JS = """
const page = document.querySelector('#page h2');
if (!page || document.querySelector('[data-dash-is-loading="true"]')) return null;
const graphs = [...document.querySelectorAll('#page .dash-graph, #slow .dash-graph')];
if (graphs.some(g => !g.querySelector('.js-plotly-plot .main-svg') || g.querySelector('.dash-graph--pending'))) return null;
return graphs.length;
"""
FIGURE_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd.data || gd.classList.contains('dash-graph--pending')) return null;
const t = gd.layout && gd.layout.title;
return {title: (t && (t.text !== undefined ? t.text : t)) || '',
        // _fullData: the traces as drawn (the figure's base64 typed arrays decoded)
        traces: (gd._fullData || gd.data).map(d => ({
            name: d.name || '', x: Array.from(d.x || []), y: Array.from(d.y || []),
            colour: d.marker && typeof d.marker.color === 'string' ? d.marker.color : null}))};
"""


def missing() -> str | None:
    """What is missing to drive Chromium here (None when Selenium, ``chromium`` and ``chromedriver`` are all present)."""
    try:
        import selenium  # noqa: F401
    except ModuleNotFoundError:
        return "Selenium is not installed (pip install selenium)"
    for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            found = shutil.which(name)
            return f"no {name} at {path}" + (f" (one is at {found}: set WHATWORKS_{name.upper()})" if found else
                                             " (apt-get install chromium chromium-driver)")
    return None


@contextlib.contextmanager
def serve(store_path, config=None):
    """``whatworks serve``'s threaded server (:func:`whatworks._cli_app.make_server`) over ``store_path`` opened
    read-only, on 127.0.0.1 and a free port, in a daemon thread. Yields the base URL (ending in ``/``)."""
    from whatworks._cli_app import make_server
    from whatworks.app import AppConfig

    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # one line per request otherwise
    server, url = make_server(str(store_path), "127.0.0.1", 0, config or AppConfig(), quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="whatworks-serve", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chrome(*, width: int = 1400, height: int = 1000):
    """Headless Debian Chromium driven by its ChromeDriver, logging the console (``browser``) and the network
    (``performance``: the DevTools Network events)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for a in CHROME_ARGS:
        options.add_argument(a)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # a driver path given to Service: Selenium Manager (which downloads drivers and browsers) is not run
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def settle(driver, timeout: float = 60, quiet_for: float = 0.3) -> int:
    """Wait until the page has its title, no component is waiting for a callback and every chart is drawn, and
    it stays so for ``quiet_for`` seconds (callbacks chain: filters → URL → page). Returns the number of charts."""
    end = time.monotonic() + timeout
    since, last = None, None
    while time.monotonic() < end:
        n = driver.execute_script(SETTLED_JS)
        if n is None:
            since = None
        elif since is None or n != last:
            since, last = time.monotonic(), n
        elif time.monotonic() - since >= quiet_for:
            return n
        time.sleep(0.05)
    raise TimeoutError(f"the page did not settle in {timeout} s: {driver.current_url}")


def wait_for(driver, predicate, timeout: float = 60, what: str = "a condition"):
    """Poll ``predicate(driver)`` until it returns something truthy; return it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate(driver)
        if got:
            return got
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what} ({driver.current_url})")


def choose(driver, dropdown_id: str, label: str, timeout: float = 10) -> None:
    """Pick the option shown as ``label`` in the ``dcc.Dropdown`` with id ``dropdown_id``, as a user would: open
    it, type in its search box, click the option."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, dropdown_id).click()
    box = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content input[type=search]"),
                   timeout, f"the {dropdown_id} dropdown to open")[0]
    box.send_keys(label)

    def option(d):
        return [o for o in d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content [role=option]")
                if o.text.strip() == label]

    wait_for(driver, option, timeout, f"option {label!r} in {dropdown_id}")[0].click()
    # a single-value dropdown closes on choice; wait for it so the next dropdown opens alone
    wait_for(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content"), timeout,
             f"the {dropdown_id} dropdown to close")


def shown(driver, dropdown_id: str) -> str:
    """The text a ``dcc.Dropdown`` shows (its value's label, or its placeholder)."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, f"{dropdown_id}-value").text.strip()


def figure(driver, graph_id: str) -> dict | None:
    """The drawn Plotly figure of a ``dcc.Graph``: its title and each trace's name, x, y and marker colour (when one
    colour), read from the chart in the page (None while it is not drawn)."""
    return driver.execute_script(FIGURE_JS, graph_id)


def console_errors(driver) -> list[dict]:
    """Console messages at level SEVERE since the last call (JavaScript errors, CSP violations, failed requests)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requests(driver) -> list[str]:
    """URLs the page asked for since the last call (DevTools ``Network.requestWillBeSent`` and WebSocket opens)."""
    urls = []
    for entry in driver.get_log("performance"):
        m = json.loads(entry["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            urls.append(m["params"]["request"]["url"])
        elif m.get("method") == "Network.webSocketCreated":
            urls.append(m["params"]["url"])
    return urls


def non_local(urls) -> list[str]:
    """The URLs that go anywhere but this machine (data:, blob: and about: stay in the page)."""
    out = []
    for u in urls:
        p = urlsplit(u)
        if p.scheme in LOCAL_SCHEMES:
            continue
        if p.scheme not in ("http", "https", "ws", "wss") or p.hostname not in {h.strip("[]") for h in LOCAL_HOSTS}:
            out.append(u)
    return out
