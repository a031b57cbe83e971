"""``create_app``: the Dash app over a store (routing, shared filters in the URL, exports, background work)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update

from whatworks._announce import announce
from whatworks.app import _pages
from whatworks.app._security import AppConfig, install, load_config
from whatworks.app._views import PAGES, Filters, Views, check_store
from whatworks.errors import WhatworksError, error
from whatworks.store.exports import neutralise_cells

WHERE = "create_app"
ASSETS = Path(__file__).parent / "assets"
ALL = ""   # the dropdown value meaning "no filter"
_CHILD_VIEWS: dict = {}


def _child_views(path: str, folder: str | None) -> Views:
    """In a background worker process: its own read-only connection to the store (never the parent's), and the
    shared diskcache folder (pack results one worker computed, reused by the others)."""
    import diskcache

    from whatworks.store import Store

    key = (os.getpid(), path)
    if key not in _CHILD_VIEWS:
        _CHILD_VIEWS[key] = Views(Store(path, read_only=True), disk=diskcache.Cache(folder) if folder else None)
    return _CHILD_VIEWS[key]


class WorkerManager(dash.DiskcacheManager):
    """Dash's DiskcacheManager, but each job runs in a process forked from a clean single-threaded fork server
    (``multiprocess``'s "forkserver" context, with the app's modules preloaded), never forked from the web server
    itself: the server is multi-threaded (werkzeug's threads, DuckDB's thread pool), and a fork of it can inherit a
    lock held by another thread and crash or hang in the child. The job and its arguments are pickled (dill)."""

    PRELOAD = ["whatworks.app._app"]

    def call_job_fn(self, key, job_fn, args, context):
        import multiprocess

        ctx = multiprocess.get_context("forkserver")
        ctx.set_forkserver_preload(self.PRELOAD)   # used when the fork server starts (the first job)
        process = ctx.Process(target=job_fn, args=(key, self._make_progress_key(key), args, context), daemon=False)
        process.start()
        return process.pid


def _quick_views(store, views: Views) -> Views:
    """The views the quick callbacks use: over a connection of their own when the store is a file opened read-only,
    so a filter change's chart never waits behind a page's pack (one DuckDB connection runs one query at a time,
    and the pack holds it for seconds on a large store); else ``views`` itself."""
    path = getattr(store, "path", ":memory:")
    if path == ":memory:" or not getattr(store, "read_only", False):
        return views
    from whatworks.store import Store

    return Views(Store(path, read_only=True), share=views)


def _manager(store, background, quiet):
    """A DiskcacheManager when the store can be reopened read-only by a worker process, else None (synchronous)."""
    path = getattr(store, "path", ":memory:")
    can = path != ":memory:" and bool(getattr(store, "read_only", False))
    if background is False or (background is None and not can):
        if background is None:
            announce("dashboard: slow pages run in the server process (background work needs a store opened "
                     "read_only=True from a file).", quiet=quiet)
        return None
    if not can:
        raise error(WHERE, "background=True needs a store file opened read_only=True.", got=path,
                    hint="ww.Store(path, read_only=True)")
    try:
        import diskcache
    except ModuleNotFoundError:
        announce("dashboard: diskcache is not installed, slow pages run in the server process "
                 "(pip install diskcache for background work with progress and cancel).", quiet=quiet)
        return None
    import atexit
    import shutil

    folder = tempfile.mkdtemp(prefix="whatworks-dash-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return WorkerManager(diskcache.Cache(folder))


def _page(pathname: str | None) -> str | None:
    p = (pathname or "/").strip("/").split("/")[0] or "attention"
    return p if p in PAGES else None


def create_app(store, *, config: AppConfig | str | os.PathLike | None = None, background: bool | None = None,
               quiet: bool = False) -> dash.Dash:
    """The dashboard over ``store``: a Dash app with pages Attention, Landscape, Performance, Places, People,
    Evidence and Confidence, and filters (area, period, crime type) kept in the URL's query string.

    Parameters
    ----------
    store : whatworks.Store
        Open it ``read_only=True`` (``whatworks serve`` does): slow pages then run as background callbacks in worker
        processes that open the same file read-only, with a progress bar and a Cancel button.
    config : AppConfig, path or None
        Authentication and options (:class:`whatworks.app.AppConfig`, or a TOML file, docs/app.md). ``None``: no
        authentication (the server must then listen on a loopback address only: ``whatworks serve`` checks).
    background : bool, optional
        Run slow pages as background callbacks. ``None``: when the store allows it (announced when not).
    quiet : bool, default False

    Returns
    -------
    dash.Dash
        ``app.server`` is the Flask server (every response carries the security headers).

    Examples
    --------
    >>> app = ww.app.create_app(ww.Store("whatworks.duckdb", read_only=True))   # doctest: +SKIP
    >>> app.run(host="127.0.0.1", port=8050)                                      # doctest: +SKIP
    """
    check_store(store)
    if config is None or isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    if not isinstance(config, AppConfig):
        raise error(WHERE, "The 'config' parameter must be an AppConfig or a TOML file.", got=type(config).__name__)
    manager = _manager(store, background, quiet)
    disk = manager.handle if manager is not None else None
    views = Views(store, disk=disk)
    fast = _quick_views(store, views)
    store_path = getattr(store, "path", None)
    app = dash.Dash(__name__, serve_locally=True, assets_folder=str(ASSETS), title="whatworks dashboard",
                    update_title=None, suppress_callback_exceptions=True, enable_mcp=False, compress=False,
                    background_callback_manager=manager)
    app.scripts.config.serve_locally = True
    app.css.config.serve_locally = True
    opts = views.options()
    months = [{"label": m, "value": m} for m in opts["months"]]
    app.layout = html.Div(className="app", children=[
        dcc.Location(id="url", refresh="callback-nav"),
        html.Header(className="top", children=[
            html.H1("whatworks"),
            html.Nav(id="nav", children=[dcc.Link(_pages.TITLES[p].split(":")[0], id=f"nav-{p}", href=f"/{p}")
                                         for p in PAGES])]),
        html.Section(className="filters", children=[
            html.Label(["Area", dcc.Dropdown(id="f-area", options=[{"label": "All areas in the store", "value": ALL}]
                                             + [{"label": n, "value": c} for c, n in opts["areas"]],
                                             value=ALL, clearable=False)]),
            html.Label(["From", dcc.Dropdown(id="f-from", options=months, value=None, placeholder="latest 12 months")]),
            html.Label(["To", dcc.Dropdown(id="f-to", options=months, value=None, placeholder="latest month")]),
            html.Label(["Crime type", dcc.Dropdown(id="f-type", options=[{"label": "All crime", "value": ALL}]
                                                   + [{"label": t, "value": t} for t in opts["crime_types"]],
                                                   value=ALL, clearable=False)]),
            html.Label(["Chart download", dcc.RadioItems(id="f-img", options=["png", "svg"], value="png", inline=True)]),
            html.Button("Download CSV", id="csv-btn"), dcc.Download(id="csv-dl"),
            html.Button("Write pack", id="pack-btn"), dcc.Download(id="pack-dl"),
        ]),
        html.Div(id="notes", className="notes"),
        html.Main(id="page"),
        html.Div(id="progress-box", className="progress", style={"display": "none"}, children=[
            html.Progress(id="progress", value="0", max="3"), html.Span(id="progress-text"),
            html.Button("Cancel", id="cancel-btn")]),
        html.Div(id="slow"),
        # an empty graph, never shown: the browser fetches and compiles Plotly (4.8 MB) while the first page's
        # callbacks run, not after the trend chart's data arrive (Dash loads it with the first graph it renders)
        dcc.Graph(id="plotly-early", figure={}, style={"display": "none"}, config={"displayModeBar": False}),
        html.Footer(opts["problem"] or f"Store: {Path(str(store_path)).name if store_path else 'in memory'} · "
                                        f"source {opts['source']}"),
    ])

    # ---- the URL holds the filters; the filters write the URL (one callback: no cycle between two)
    @app.callback(Output("url", "search"), Output("f-area", "value"), Output("f-from", "value"),
                  Output("f-to", "value"), Output("f-type", "value"),
                  Input("url", "search"), Input("f-area", "value"), Input("f-from", "value"),
                  Input("f-to", "value"), Input("f-type", "value"))
    def sync_filters(search, area, first, last, ctype):
        if ctx.triggered_id in (None, "url"):
            f, _ = fast.clean(Filters.from_search(search))
            return (no_update, f.area or ALL, f.period[0] if f.period else None, f.period[1] if f.period else None,
                    f.crime_type or ALL)
        period = (first, last) if first and last and first <= last else None
        f = Filters(area or None, period, ctype or None)
        new = f.to_search()
        return (new if new != (search or "") else no_update), no_update, no_update, no_update, no_update

    @app.callback([Output(f"nav-{p}", "href") for p in PAGES] + [Output(f"nav-{p}", "className") for p in PAGES],
                  Input("url", "pathname"), Input("url", "search"))
    def nav(pathname, search):
        here = _page(pathname)
        return [f"/{p}{search or ''}" for p in PAGES] + ["here" if p == here else "" for p in PAGES]

    @app.callback(Output("page", "children"), Output("notes", "children"),
                  Input("url", "pathname"), Input("url", "search"), Input("f-img", "value"))
    def quick(pathname, search, img):
        page = _page(pathname)
        if page is None:
            return [html.H2("No such page"), _pages.note(f"Pages: {', '.join(PAGES)}.")], []
        f, notes = fast.clean(Filters.from_search(search))
        try:
            return _pages.quick(fast, page, f, img or "png"), [_pages.note(n) for n in notes]
        except WhatworksError as exc:
            return [_pages.missing(str(exc))], [_pages.note(n) for n in notes]

    folder = manager.handle.directory if manager is not None else None

    # the background callbacks are pickled into the worker: they refer only to plain values (the store's path,
    # the diskcache folder, the config), never to the server's connection or views
    def _slow_job(set_progress, pathname, search, img):
        page = _page(pathname)
        if page is None:
            return []
        v = _child_views(store_path, folder)
        f, _ = v.clean(Filters.from_search(search))
        return _pages.slow(v, page, f, img or "png", config=config,
                           progress=lambda a, b, text: set_progress((str(a), str(b), text)))

    def _slow_here(pathname, search, img):
        page = _page(pathname)
        if page is None:
            return []
        f, _ = views.clean(Filters.from_search(search))
        return _pages.slow(views, page, f, img or "png", config=config)

    if manager is not None:
        app.callback(Output("slow", "children"), Input("url", "pathname"), Input("url", "search"),
                     Input("f-img", "value"), background=True,
                     progress=[Output("progress", "value"), Output("progress", "max"), Output("progress-text", "children")],
                     running=[(Output("progress-box", "style"), {"display": "flex"}, {"display": "none"}),
                              (Output("cancel-btn", "disabled"), False, True)],
                     cancel=[Input("cancel-btn", "n_clicks")])(_slow_job)
    else:
        app.callback(Output("slow", "children"), Input("url", "pathname"), Input("url", "search"),
                     Input("f-img", "value"))(_slow_here)

    @app.callback(Output("csv-dl", "data"), Input("csv-btn", "n_clicks"), State("url", "pathname"),
                  State("url", "search"), prevent_initial_call=True)
    def csv(_n, pathname, search):
        page = _page(pathname) or "attention"
        f, _ = views.clean(Filters.from_search(search))
        frame = neutralise_cells(_pages.page_table(views, page, f))
        return dcc.send_data_frame(frame.to_csv, f"whatworks-{page}{_slug(f)}.csv", index=False)

    def _pack_file(v: Views, search, set_progress) -> dict:
        f, _ = v.clean(Filters.from_search(search))
        set_progress(("1", "2", "writing the pack…"))
        out = Path(config.pack_dir) if config.pack_dir else Path(tempfile.gettempdir()) / "whatworks-packs"
        out.mkdir(parents=True, exist_ok=True)
        r = v.pack(f, out=out / f"pack{_slug(f)}.html")
        return dcc.send_file(str(r.path))

    def _write_pack_job(set_progress, _n, search):
        return _pack_file(_child_views(store_path, folder), search, set_progress)

    if manager is not None:
        app.callback(Output("pack-dl", "data"), Input("pack-btn", "n_clicks"), State("url", "search"),
                     background=True, prevent_initial_call=True,
                     progress=[Output("progress", "value"), Output("progress", "max"), Output("progress-text", "children")],
                     running=[(Output("pack-btn", "disabled"), True, False),
                              (Output("progress-box", "style"), {"display": "flex"}, {"display": "none"})],
                     cancel=[Input("cancel-btn", "n_clicks")])(_write_pack_job)
    else:
        app.callback(Output("pack-dl", "data"), Input("pack-btn", "n_clicks"), State("url", "search"),
                     prevent_initial_call=True)(lambda n, s: _pack_file(views, s, lambda _v: None))

    # no dev tools, hot reload or version check (it would call dash-version.plotly.com from the browser)
    app.enable_dev_tools(debug=False, dev_tools_ui=False, dev_tools_props_check=False,
                         dev_tools_serve_dev_bundles=False, dev_tools_hot_reload=False,
                         dev_tools_disable_version_check=True, dev_tools_prune_errors=True)
    install(app.server, config, app.csp_hashes())
    app.whatworks_views = views   # for tests and benchmarks: the cached view data
    return app


def _slug(f: Filters) -> str:
    parts = [p for p in (f.area, f"{f.period[0]}_{f.period[1]}" if f.period else None, f.crime_type) if p]
    return ("-" + "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p) for p in parts)) if parts else ""
