"""Benchmark: the dashboard's latency in a real browser (issue 18) on a 1M-crime and a 10M-crime store.

For each size:

1. **build** the store as ``whatworks demo`` does, at that size (in a subprocess of its own): the synthetic force
   (``synth.generate(seed=0, crimes=N)``, 36 months, 8 boroughs) written as files, then loaded through the real
   readers — the police.uk archive, the RMS export, the attitude survey — and the area lookup with its covariates;
   the files are deleted afterwards, the store is kept in ``benchmarks/_data/app-latency/`` (git-ignored) and
   reused by the next run;
2. **serve** it with ``whatworks serve --store S --port P`` (a subprocess: the real command, store opened read-only);
3. **measure in Chromium** (headless Debian Chromium through chromedriver, tests/app/browser.py), with clocks in the
   page (``performance.now()``, injected before the page's own scripts):

   * *first page load*: navigation start → the Performance page's trend chart drawn ("chart"), and → every part of
     the page drawn and no callback pending ("complete": the pack's SPC charts, funnels and ski-slopes too);
   * *filter change*: the click on a dropdown option → the trend chart redrawn with the new filter ("chart"), and
     → the whole page settled ("complete"), for ``--changes`` changes alternating crime type and area, each a
     combination not seen before (nothing cached);

4. **profile** the same filters in-process: the quick chart's read (``Views.trend``: ``store.counts`` pushed down
   to DuckDB + SPC) and the page's pack (``Views.pack``), each cold, to name what is slow.

Targets (issue 18): filter change → chart updated, median < 1 s at 1M and < 2 s at 10M; first page load < 3 s.

Usage: python benchmarks/app_latency.py [--sizes 1000000 10000000] [--changes 12] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data" / "app-latency"
sys.path.insert(0, str(ROOT / "tests" / "app"))
import browser  # noqa: E402  (tests/app/browser.py: Chromium, the dropdowns, the charts)

TARGET_CHANGE = {1_000_000: 1.0, 10_000_000: 2.0}
TARGET_LOAD = 3.0

BUILD = """
import json, resource, shutil, sys, time
from pathlib import Path
import pandas as pd
import whatworks as ww
from whatworks.demo import DEMO_SURVEY_MAPPING
from whatworks.report._demo import SYNTH_COVARIATES
from whatworks.synth import _constants as C
size, path, work = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
t = time.perf_counter()
force = ww.synth.generate(seed=0, crimes=size)
paths = force.write_all(work)
t_write = time.perf_counter() - t
with ww.Store(path) as s:
    pu = s.ingest_policeuk(paths["policeuk"])
    rec = s.ingest_records(paths["records"], paths["mapping"])
    s.ingest_survey(paths["table_survey"], mapping=DEMO_SURVEY_MAPPING)
    areas = force.tables["areas"]
    cols = ["code", "name", "level", "parent_code", "population", *[c for c in SYNTH_COVARIATES if c in areas]]
    top = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    s.ingest_areas(pd.concat([top, areas[cols]], ignore_index=True), name="synthetic force areas",
                   covariates=[c for c in SYNTH_COVARIATES if c in areas], quiet=True)
    crimes = s.counts(by=["source_system"], table="crimes").set_index("source_system")["count"].astype(int).to_dict()
    asb = s.counts(by=["source_system"], table="asb").set_index("source_system")["count"].astype(int).to_dict()
shutil.rmtree(work, ignore_errors=True)
print(json.dumps({"seconds": time.perf_counter() - t, "generate_write_s": t_write, "policeuk_rows": pu.rows_loaded,
                  "records_rows": rec.rows_loaded, "crimes": crimes, "asb": asb,
                  "realised": force.truth["realised"].get("crimes"),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PROFILE = """
import json, sys, time
import whatworks as ww
from whatworks.app._views import Filters, Views
from whatworks.store.engine import store_counts
s = ww.Store(sys.argv[1], read_only=True)
def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t
out = {"relations_s": timed(s.relations), "filters": []}
for area, ctype in json.loads(sys.argv[2]):
    v = Views(s)          # cold: nothing cached
    out.setdefault("options_s", timed(v.options))
    f = Filters(area=area, crime_type=ctype)
    r = {"area": area, "crime_type": ctype, "trend_s": timed(lambda: v.trend(f))}
    where = {"source_system": v.options()["source"], **({"crime_type": ctype} if ctype else {})}
    if area:
        where["lsoa_code"] = sorted(v._fixed[("scope", area)].lsoa_codes)
    # the trend's one store read, store.counts, split: its relation check (store.relations(): a row count of every
    # table and view) and the count itself on the crimes view; and the same count on the events table
    r["counts_s"] = timed(lambda: s.counts(by=["month"], where=where))
    r["counts_query_crimes_view_s"] = timed(lambda: store_counts(s.ibis("crimes"), "crimes", s.coverage, ["month"], where))
    r["counts_query_events_s"] = timed(lambda: store_counts(s.ibis("events"), "events", s.coverage, ["month"],
                                                            {**where, "kind": "crime"}))
    r["pack_s"] = timed(lambda: v.pack(f)) if sys.argv[3] == "1" else None
    out["filters"].append(r)
print(json.dumps(out))
"""

# --store-fixes (an experiment, not the shipped code): ``whatworks serve`` with the two store changes the profile
# points at patched into its process — (1) Store.counts checks that the table exists by name, without
# Store.relations()' row count of every table and view; (2) a count of crimes that uses none of the view's
# outcome or provenance columns reads the events table (kind = 'crime': the same rows, checked equal on the 1M
# store) instead of the crimes view, whose latest-outcome window over every outcome event runs on every query
SERVE_WITH_STORE_FIXES = """
import sys
import whatworks.store as S
from whatworks.cli import main
from whatworks.store.engine import store_counts
from whatworks.errors import WhatworksError
VIEW_ONLY = {"crime_id", "last_outcome_category", "last_outcome_month", "published_outcome_category", "source_file"}
def counts(self, by, where=None, *, table="crimes", months=None, value=None):
    names = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables WHERE "
                                            "table_schema = 'main' AND table_catalog = current_database()").fetchall()}
    if table not in names:
        raise WhatworksError(f"Store: no table or view named {table!r}.")
    t = self.ibis(table)
    if table == "crimes" and not (set(by) | set(where or {}) | {value}) & VIEW_ONLY:
        e = self.ibis("events")
        t = e.filter(e.kind == "crime")
    return store_counts(t, table, self.coverage, by, where, months=months, value=value)
S.Store.counts = counts
sys.argv = ["whatworks", *sys.argv[1:]]
main()
"""

# in every page, before its own scripts (DevTools; the page's CSP does not apply to it): the time of the last
# click on a dropdown option, and a watcher the benchmark arms to time the next redraw
CLOCKS = """
window.__ww = {click: 0, chart: null, complete: null};     // click 0: the navigation start (performance.now's origin)
document.addEventListener('click', e => {
  if (e.target.closest && e.target.closest('[role=option]')) window.__ww.click = performance.now();
}, true);
window.__wwWatch = function (previous, needles) {
  const w = window.__ww; w.chart = null; w.complete = null;
  const gen = w.gen = (w.gen || 0) + 1;                     // a re-armed watcher stops the one before
  const drawn = g => g.querySelector('.js-plotly-plot .main-svg') && !g.querySelector('.dash-graph--pending');
  (function tick() {
    if (w.gen !== gen) return;
    const now = performance.now();
    const g = document.getElementById('trend-graph');
    const gd = g && g.querySelector('.js-plotly-plot');
    const t = gd && gd.layout && gd.layout.title ? (gd.layout.title.text || '') : '';
    if (w.chart === null && gd && drawn(g) && t !== previous && needles.every(n => t.includes(n))) w.chart = now;
    if (w.chart !== null && !document.querySelector('[data-dash-is-loading="true"]')
        && [...document.querySelectorAll('.dash-graph')].every(drawn)) { w.complete = now; return; }
    setTimeout(tick, 5);
  })();
};
window.__wwWatch(null, []);                                   // the first load
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(size: int) -> tuple[Path, dict | None]:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"store-{size}.duckdb"
    if path.exists():
        return path, None
    work = DATA / f"files-{size}"
    shutil.rmtree(work, ignore_errors=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", BUILD, str(size), str(tmp), str(work)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"build {size} failed:\n{out.stderr[-3000:]}")
    tmp.rename(path)
    return path, json.loads(out.stdout.strip().splitlines()[-1])


class Served:
    """``whatworks serve`` on a free port, as a subprocess."""

    def __init__(self, store: Path, store_fixes: bool = False):
        self.port = _free_port()
        exe = shutil.which("whatworks") or str(Path(sys.executable).with_name("whatworks"))
        cmd = [sys.executable, "-c", SERVE_WITH_STORE_FIXES] if store_fixes else [exe]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([*cmd, "serve", "--store", str(store), "--port", str(self.port), "--quiet"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = f"http://127.0.0.1:{self.port}/"
        end = time.monotonic() + 300
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"whatworks serve exited: {self.proc.stdout.read()[-3000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        self.startup_s = time.perf_counter() - self.started

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _watch(driver, settle_timeout: float, timeout: float = 900) -> tuple[float, float | None]:
    """Wait for the armed watcher: (click → trend chart drawn, click → page settled) in seconds, on the page's clock
    (for the first load the "click" is the navigation start). The page settled: None if not within
    ``settle_timeout`` seconds of the chart (the pack's callback then still runs in the server)."""
    browser.wait_for(driver, lambda d: d.execute_script("return window.__ww.chart !== null"), timeout,
                     "the trend chart after the filter change")
    try:
        browser.wait_for(driver, lambda d: d.execute_script("return window.__ww.complete !== null"), settle_timeout,
                         "the page to settle after the filter change")
    except TimeoutError:
        pass
    w = driver.execute_script("return window.__ww")
    return (w["chart"] - w["click"]) / 1000, None if w["complete"] is None else (w["complete"] - w["click"]) / 1000


def _s(v, digits: int = 2) -> str:
    return "not settled" if v is None else f"{v:.{digits}f} s"


def _title(driver) -> str:
    return (browser.figure(driver, "trend-graph") or {}).get("title", "")


def measure(url: str, changes: int, areas: list[tuple[str, str, str]], types: list[str], settle_timeout: float) -> dict:
    """First load and filter changes on the Performance page, in a fresh headless Chromium."""
    driver = browser.chrome()
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CLOCKS})
        t = time.perf_counter()
        driver.get(url + "performance")
        chart_s, complete_s = _watch(driver, settle_timeout)
        first = {"chart_s": chart_s, "complete_s": complete_s, "wall_s": time.perf_counter() - t}
        errors = browser.console_errors(driver)
        browser.requests(driver)
        runs = []
        area_i, type_i = 0, 0
        area_label, area_name = "All areas in the store", None
        ctype = None
        for i in range(changes):
            previous = _title(driver)
            if i % 2 == 0:
                ctype = types[type_i % len(types)]
                type_i += 1
                what = ("f-type", ctype)
            else:
                code, area_label, area_name = areas[area_i % len(areas)]
                area_i += 1
                what = ("f-area", area_label)
            needles = [n for n in (ctype, area_name) if n]
            driver.execute_script("window.__wwWatch(arguments[0], arguments[1])", previous, needles)
            browser.choose(driver, *what)
            chart_s, complete_s = _watch(driver, settle_timeout)
            runs.append({"change": what[0], "value": what[1], "area": area_label, "crime_type": ctype,
                         "chart_s": chart_s, "complete_s": complete_s})
            print(f"    {what[0]} = {what[1]!r}: chart {chart_s:.3f} s, complete {_s(complete_s)}", flush=True)
        errors += browser.console_errors(driver)
        outside = browser.non_local(browser.requests(driver))
        return {"first_load": first, "changes": runs, "console_errors": len(errors), "non_local_requests": outside}
    finally:
        driver.quit()


def _options(store: Path):
    import whatworks as ww

    s = ww.Store(str(store), read_only=True)
    try:
        a = s.areas()
        boroughs = a[a["level"] == "borough"]
        areas = [(r.code, f"{r.name} ({r.level})", r.name) for r in boroughs.itertuples()]
        types = [t for t in s.counts(by=["crime_type"], table="crimes")["crime_type"].dropna().astype(str).tolist()]
    finally:
        s.close()
    return areas, sorted(types)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--changes", type=int, default=12)
    ap.add_argument("--settle-timeout", type=float, default=120,
                    help="seconds to wait for the whole page after the chart before the next change")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--profile-filters", type=int, default=6)
    ap.add_argument("--profile-pack-up-to", type=int, default=1_000_000,
                    help="time the pack in the profile only for stores up to this many crimes")
    ap.add_argument("--store-fixes", action="store_true",
                    help="experiment: serve with the two store changes the profile points at (see SERVE_WITH_STORE_FIXES)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    why = browser.missing()
    if why and not args.build_only:
        raise SystemExit(f"cannot drive a browser: {why}")
    results = {}
    for size in args.sizes:
        print(f"== {size:,} crimes", flush=True)
        t = time.perf_counter()
        store, built = build(size)
        r: dict = {"store": str(store), "store_mb": round(store.stat().st_size / 1e6)}
        if built:
            r["build"] = built
            print(f"  built in {built['seconds']:.0f} s: crimes by source {built['crimes']}, ASB {built['asb']}; "
                  f"peak {built['peak_mb']:,.0f} MB", flush=True)
        else:
            print(f"  reusing {store} ({r['store_mb']:,} MB)", flush=True)
        if args.build_only:
            results[size] = r
            continue
        areas, types = _options(store)
        served = Served(store, args.store_fixes)
        r["store_fixes"] = args.store_fixes
        r["serve_startup_s"] = served.startup_s
        print(f"  whatworks serve ready in {served.startup_s:.1f} s on {served.url}", flush=True)
        try:
            m = measure(served.url, args.changes, areas, types, args.settle_timeout)
        finally:
            served.stop()
        r.update(m)
        chart = [c["chart_s"] for c in m["changes"]]
        # a change whose page did not settle in time counts as the slowest (the median stays honest)
        complete = [c["complete_s"] if c["complete_s"] is not None else float("inf") for c in m["changes"]]
        r["median_change_chart_s"] = statistics.median(chart)
        r["median_change_complete_s"] = statistics.median(complete)
        target = TARGET_CHANGE.get(size)
        fl = m["first_load"]
        print(f"  first page load: chart {fl['chart_s']:.2f} s, complete {_s(fl['complete_s'])} "
              f"(target < {TARGET_LOAD} s)", flush=True)
        print(f"  filter change -> chart updated: median {r['median_change_chart_s']:.3f} s "
              f"(min {min(chart):.3f}, max {max(chart):.3f}; n = {len(chart)})"
              + (f" (target < {target} s)" if target else ""), flush=True)
        print(f"  filter change -> whole page settled: median {r['median_change_complete_s']:.2f} s "
              f"(max {max(complete):.2f} s; inf: not settled within --settle-timeout)", flush=True)
        print(f"  console errors: {m['console_errors']}; requests off this machine: {len(m['non_local_requests'])}",
              flush=True)
        if not args.no_profile:
            names = {label: code for code, label, _ in areas}
            combos = [[names.get(c["area"]), c["crime_type"]] for c in m["changes"]][:args.profile_filters]
            pack = "1" if size <= args.profile_pack_up_to else "0"
            out = subprocess.run([sys.executable, "-c", PROFILE, str(store), json.dumps(combos), pack],
                                 capture_output=True, text=True)
            if out.returncode == 0:
                prof = json.loads(out.stdout.strip().splitlines()[-1])
                r["profile"] = prof
                fs = prof["filters"]
                med = lambda k: statistics.median(x[k] for x in fs)  # noqa: E731
                print(f"  in-process, cold (median of {len(fs)} filters): trend {med('trend_s'):.2f} s, of which "
                      f"store.counts {med('counts_s'):.2f} s = store.relations() {prof['relations_s']:.2f} s + the "
                      f"count on the crimes view {med('counts_query_crimes_view_s'):.2f} s (on the events table: "
                      f"{med('counts_query_events_s'):.2f} s); pack "
                      + (f"{med('pack_s'):.1f} s" if fs[0]["pack_s"] is not None else "not timed")
                      + f"; filter options at start {prof['options_s']:.1f} s", flush=True)
            else:
                print(f"  profile failed: {out.stderr[-1500:]}", flush=True)
        r["seconds"] = time.perf_counter() - t
        results[size] = r
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("SE_AVOID_STATS", "true")
    main()
