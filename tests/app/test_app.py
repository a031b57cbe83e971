"""The dashboard without a browser (issue 18): security model, filters in the URL, page content from the analyses.

The browser tests are in test_browser.py.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks.app import AppConfig, check_host, check_password, create_app, hash_password, load_config
from whatworks.app import _pages, _security
from whatworks.app._views import Filters, Views
from whatworks.errors import WhatworksError
from whatworks.performance import spc

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(store):
    return create_app(store, background=False, quiet=True)


@pytest.fixture(scope="module")
def views(store):
    return Views(store)


def _borough(force) -> str:
    return force.tables["areas"].query("level == 'borough'")["code"].iloc[1]


# ------------------------------------------------------------------------------------------- CHECK INPUTS

def test_refuses_non_loopback_host_without_auth():
    with pytest.raises(WhatworksError, match="Refusing to listen on '0.0.0.0' without authentication"):
        check_host("0.0.0.0", AppConfig())
    with pytest.raises(WhatworksError, match="Refusing"):
        check_host("192.168.1.20", AppConfig())
    for ok in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_host(ok, AppConfig())            # loopback: no auth needed
    check_host("0.0.0.0", AppConfig(username="a", password_hash=hash_password(PASSWORD)))
    check_host("0.0.0.0", AppConfig(trusted_header="X-Forwarded-User"))


def test_cli_serve_refuses_public_host(tmp_path):
    from typer.testing import CliRunner

    from whatworks.cli import app as cli

    r = CliRunner().invoke(cli, ["serve", "--store", str(tmp_path / "none.duckdb"), "--host", "0.0.0.0"])
    assert r.exit_code != 0
    assert isinstance(r.exception, WhatworksError) and "without authentication" in str(r.exception)


def test_password_hash_round_trip():
    h = hash_password(PASSWORD)
    assert h.startswith("scrypt$16384$8$1$")
    assert check_password(PASSWORD, h)
    assert not check_password(PASSWORD + "x", h)
    assert not check_password("", h)
    assert hash_password(PASSWORD) != h                 # a new salt every time
    salt = b"0123456789abcdef"
    assert hash_password(PASSWORD, salt=salt) == hash_password(PASSWORD, salt=salt)
    with pytest.raises(WhatworksError, match="at least 8 characters"):
        hash_password("short")
    with pytest.raises(WhatworksError, match="not a whatworks scrypt hash"):
        check_password(PASSWORD, "md5$abc")


def test_load_config(tmp_path):
    h = hash_password(PASSWORD)
    p = tmp_path / "app.toml"
    p.write_text(f'[auth]\nusername = "analyst"\npassword_hash = "{h}"\nsession_minutes = 20\n'
                 '[app]\nboundaries = "b.geojson"\n', encoding="utf-8")
    c = load_config(p)
    assert (c.auth, c.username, c.session_minutes, c.boundaries) == ("password", "analyst", 20, "b.geojson")
    assert load_config(None).auth is None
    bad = {"[auth]\npasword_hash = 'x'\n": "Unknown key",
           f'[auth]\nusername = "a"\npassword_hash = "{h}"\ntrusted_header = "X-User"\n': "not both",
           f'[auth]\npassword_hash = "{h}"\n': "no username",
           '[auth]\ntrusted_header = "X-User"\nsession_minutes = 0\n': "session_minutes",
           "[server]\n": "Unknown section",
           "[auth\n": "not valid TOML"}
    for text, msg in bad.items():
        p.write_text(text, encoding="utf-8")
        with pytest.raises(WhatworksError, match=msg):
            load_config(p)
    with pytest.raises(WhatworksError, match="No config file"):
        load_config(tmp_path / "missing.toml")


def test_create_app_needs_a_store():
    with pytest.raises(WhatworksError, match="needs a whatworks.Store"):
        create_app(pd.DataFrame())


def test_background_needs_a_read_only_file():
    with ww.Store(":memory:") as s:
        with pytest.raises(WhatworksError, match="background=True needs a store file opened read_only=True"):
            create_app(s, background=True)


# ------------------------------------------------------------------------------------------- headers and auth

def test_security_headers_and_csp(app):
    c = app.server.test_client()
    for path in ("/", "/performance?area=x", "/_dash-layout", "/_dash-dependencies"):
        r = c.get(path)
        assert r.status_code == 200, path
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert not re.search(r"https?:|\*", csp), csp          # no external source, no wildcard
        assert "'unsafe-eval'" not in csp
        script = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "'unsafe-inline'" not in script
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    # Dash's one inline script (the renderer start) is allowed by its hash, and only it
    html = c.get("/").data.decode()
    hashes = app.csp_hashes()
    assert len(hashes) >= 1 and all(h in c.get("/").headers["Content-Security-Policy"] for h in hashes)
    assert '"serve_locally":true' in html and "cdn" not in html.lower()
    assert '"ui":false' in html and '"disable_version_check":true' in html   # no dev tools, no version call-home


def test_mcp_endpoint_off(app):
    """Dash's MCP (model context protocol) endpoint is off: a JSON-RPC call to it is refused."""
    c = app.server.test_client()
    assert app._enable_mcp is False
    r = c.post("/_mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 405 and b"tools" not in r.data


def test_password_login_and_session_expiry(store, monkeypatch):
    cfg = AppConfig(username="analyst", password_hash=hash_password(PASSWORD), session_minutes=5)
    a = create_app(store, config=cfg, background=False, quiet=True)
    c = a.server.test_client()
    r = c.get("/performance")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert c.post("/_dash-update-component", json={}).status_code == 401
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/login").status_code == 200 and "Content-Security-Policy" in c.get("/login").headers
    assert c.post("/login", data={"username": "analyst", "password": "wrong password"}).status_code == 401
    assert c.post("/login", data={"username": "someone", "password": PASSWORD}).status_code == 401
    r = c.post("/login", data={"username": "analyst", "password": PASSWORD})
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert c.get("/performance").status_code == 200
    assert c.get("/_dash-layout").status_code == 200
    real = time.time
    monkeypatch.setattr(_security.time, "time", lambda: real() + 5 * 60 + 1)   # the session is 5 minutes old
    assert c.get("/performance").status_code == 302
    assert c.get("/_dash-layout").status_code == 401


def test_trusted_header(store):
    a = create_app(store, config=AppConfig(trusted_header="X-Forwarded-User"), background=False, quiet=True)
    c = a.server.test_client()
    assert c.get("/").status_code == 401
    assert c.get("/", headers={"X-Forwarded-User": "  "}).status_code == 401
    assert c.get("/", headers={"X-Forwarded-User": "analyst@force"}).status_code == 200


# ------------------------------------------------------------------------------------------- filters

def test_filters_round_trip_through_the_url():
    f = Filters(area="E09000001", period=("2024-04", "2025-03"), crime_type="Violence and sexual offences")
    s = f.to_search()
    assert s == "?area=E09000001&period=2024-04..2025-03&crime_type=Violence+and+sexual+offences"
    assert Filters.from_search(s) == f
    assert Filters.from_search("") == Filters()
    assert Filters.from_search("?period=2025-03..2024-01").period is None   # a period ending before it starts
    assert Filters.from_search("?period=garbage&area=").area is None


def test_clean_drops_values_the_store_lacks(views, built):
    f, notes = views.clean(Filters(area="NOPE", period=("1990-01", "1990-12"), crime_type="Piracy"))
    assert f == Filters()
    assert len(notes) == 3 and "NOPE" in notes[0] and "1990-01" in notes[1] and "Piracy" in notes[2]
    code = _borough(built[0])
    assert views.clean(Filters(area=code, crime_type="Burglary"))[0] == Filters(area=code, crime_type="Burglary")


# ------------------------------------------------------------------------------------------- CHECK OUTPUTS

def test_trend_equals_counts_read_independently(views, store, built):
    """The quick chart's monthly counts equal a count straight from the store's crimes view, and its limits are
    spc()'s on those counts."""
    force, _ = built
    code = _borough(force)
    areas = force.tables["areas"]
    wards = areas.loc[areas["parent_code"] == code, "code"]
    lsoas = areas.loc[(areas["level"] == "lsoa") & areas["parent_code"].isin(wards), "code"].tolist()
    r, title, why = views.trend(Filters(area=code, crime_type="Burglary"))
    assert why is None and "Burglary" in title
    qs = ",".join("?" * len(lsoas))
    direct = store.sql(f"SELECT month, count(*) AS n FROM crimes WHERE crime_type = 'Burglary' AND source_system = "
                       f"'police.uk' AND lsoa_code IN ({qs}) GROUP BY 1", lsoas)
    direct["month"] = pd.to_datetime(direct["month"])
    got = r.table.set_index("date")["value"]
    want = direct.set_index("month")["n"].reindex(got.index).fillna(0)
    assert len(got) >= 12
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    ref = spc(pd.DataFrame({"month": got.index, "count": got.to_numpy()}), "count", "month", improvement="decrease",
              quiet=True)
    np.testing.assert_allclose(r.table["upl"].to_numpy(), ref.table["upl"].to_numpy(), rtol=1e-12)
    # the synthetic force's burglary level is in truth: the chart's mean is a monthly count of the right size
    assert 0 < float(r.table["mean"].iloc[0]) < float(direct["n"].max()) + 1


class _NoCrimesViewScans:
    """The store with the reads that summarise the whole ``crimes`` view (its latest-outcome window: seconds at a
    million crimes, issue 18) refused; every other read passes through."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        if name in ("sources", "forces", "month_span", "crime_types"):
            raise AssertionError(f"store.{name} read the whole crimes view")
        return getattr(self._store, name)


def test_first_load_reads_no_summary_of_the_crimes_view(store, built):
    """The filter options and the first page's trend chart (issue 18: first load < 3 s) resolve the source, period
    and scope from the store's counts, not by scanning the crimes view: the same answers as a Views on the plain
    store."""
    plain, guarded = Views(store), Views(_NoCrimesViewScans(store))
    assert guarded.options() == plain.options() and guarded.options()["source"] == "police.uk"
    code = _borough(built[0])
    for f in (Filters(), Filters(area=code), Filters(area=code, crime_type="Burglary", period=("2024-01", "2024-06"))):
        (r1, t1, w1), (r2, t2, w2) = guarded.trend(f), plain.trend(f)
        assert (t1, w1) == (t2, w2) and w1 is None
        pd.testing.assert_frame_equal(r1.table, r2.table)
        assert guarded._fixed[("scope", f.area)] == plain._fixed[("scope", f.area)]


def test_cli_serve_hash_password(monkeypatch):
    """``whatworks serve --hash-password`` asks twice and prints a hash that checks against the password."""
    import getpass

    from typer.testing import CliRunner

    from whatworks.cli import app as cli

    monkeypatch.setattr(getpass, "getpass", lambda prompt="": PASSWORD)
    r = CliRunner().invoke(cli, ["serve", "--hash-password"])
    assert r.exit_code == 0, r.output
    line = re.fullmatch(r'password_hash = "(.+)"\n', r.output)
    assert line and check_password(PASSWORD, line.group(1)) and not check_password("wrong one", line.group(1))


def test_pages_without_survey_or_register_say_how_to_load(views):
    """A store with no survey and no register: the Confidence and Evidence pages say what is missing and how to
    load it (the pack's own wording); People says which reads it needs."""
    f = Filters()
    text = lambda comps: str(comps)  # noqa: E731 - the components' repr holds their text
    conf = text(_pages.slow(views, "confidence", f, "png"))
    assert "Not available for this store" in conf and "whatworks ingest survey" in conf
    ev = text(_pages.slow(views, "evidence", f, "png"))
    assert "whatworks evidence add" in ev
    people = text(_pages.quick(views, "people", f, "png"))
    assert "Not available for this store" in people
    land = text(_pages.slow(views, "landscape", f, "png"))
    assert "Choose an area" in land


def test_pages_show_the_packs_results(views, built):
    """Attention and Performance show exactly the pack's results for the same filters."""
    code = _borough(built[0])
    f = Filters(area=code)
    p = views.pack(f)
    ref = ww.report.pack(views.store, area=code, out=None, quiet=True)
    pd.testing.assert_frame_equal(p.table, ref.table)
    comps = str(_pages.slow(views, "performance", f, "svg"))
    for i in range(1, len(p.table) + 1):
        assert f"indicator-{i}" in comps
    assert "funnel-rate" in comps and "ski-rate-graph" in comps and "'format': 'svg'" in comps
    att = str(_pages.slow(views, "attention", f, "png"))
    for a in p.attention.itertuples():
        assert f"/performance?area={code}#{a.anchor}" in att
    places = _pages.slow(views, "places", Filters(), "png")
    assert "hotspot-map" in str(places)
    csv = _pages.page_table(views, "places", Filters())
    assert {"x", "y", "gistar", "classification"} <= set(csv.columns)


def test_layout_lists_every_page(app):
    c = app.server.test_client()
    lay = c.get("/_dash-layout").get_json()
    ids = re.findall(r'"id": "nav-(\w+)"', str(lay).replace("'", '"'))
    assert ids == ["attention", "landscape", "performance", "places", "people", "evidence", "confidence"]


def test_layout_loads_plotly_with_the_page(app):
    """An empty graph, hidden, in the layout: Dash then fetches Plotly with the page, while the first callbacks run,
    not after the trend chart's data arrive (issue 18: first load < 3 s)."""
    lay = app.server.test_client().get("/_dash-layout").get_json()

    def find(node):
        if isinstance(node, dict):
            if node.get("type") == "Graph" and node.get("props", {}).get("id") == "plotly-early":
                return node["props"]
            return next((p for p in map(find, node.values()) if p), None)
        if isinstance(node, list):
            return next((p for p in map(find, node) if p), None)
        return None

    props = find(lay)
    assert props is not None and props["style"] == {"display": "none"} and props["figure"] == {}
