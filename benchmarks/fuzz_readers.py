"""Benchmark: fuzz every reader (police.uk, RMS records, area lookups, survey CSV and SPSS .sav, and the zip/folder
walker) with hostile files.

Generates ``--n`` cases (default 10,000 in total, spread over the four readers) with the hypothesis strategies in
``tests/store/fuzz_strategies.py`` (unterminated quotes, 1,000+ fields on a line, 1 MB fields, NUL bytes, Latin-1 /
Windows-1252 bytes, BOMs, CR/LF/CRLF mixes, rich markup, mathtext, bidi overrides, control characters, spreadsheet
formulas, SQL fragments; zips with nested zips, duplicate member names, hidden members, directory entries and ``..``
in member names; symlinks out of the folder), writes each under a temporary folder, loads it into a fresh
``Store(":memory:")`` with ``ingest_policeuk`` / ``ingest_records`` (the Northshire mapping) / ``ingest_areas`` /
``ingest_survey`` (a public-attitude survey mapping; .sav files written by pyreadstat, some truncated or damaged), and
counts, per reader:

* **cases**, **clean errors** (a ``whatworks.errors.WhatworksError``: allowed) and **crashes** (any other exception);
* **rows unaccounted**: Σ over files of |rows_read − rows_loaded − rows_quarantined − duplicates_skipped| (files not
  failed), plus the broken-identity assertions FileOutcome raises itself, plus |rows_loaded − the batch's rows in the
  store| and |quarantined + duplicates − the batch's quarantine rows|;
* **records miscounted**: files read (loaded, replaced or failed) whose ``rows_read`` is not the number of records
  the generator wrote (a blank line is not a record; an unterminated quote still leaves the records after it);
* **files dropped**: files or zip members of the input that appear in neither ``report.files`` nor
  ``report.ignored`` (counted as a multiset, so a duplicate member name read once counts one dropped);
* **outside read**: symlinks to files outside the folder whose contents were read;
* the worst **time** per case and the worst **peak memory** per case (Python heap peak by ``tracemalloc``; DuckDB's
  own allocations are not in it, so the growth of the process's maximum RSS is shown as well).

Nothing is written outside a temporary folder. On a crash, the smallest input (fewest bytes) for each distinct crash
(exception type and innermost whatworks frame) is saved to a temporary folder with ``repro.py`` and the traceback;
its path and the traceback's last line are printed.

Usage: python benchmarks/fuzz_readers.py [--n 10000] [--seed 0] [--reader policeuk|records|areas|survey] [--no-tracemalloc]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

import fuzz_strategies as fs  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import whatworks as ww  # noqa: E402
from whatworks.errors import WhatworksError  # noqa: E402

READERS = ("policeuk", "records", "areas", "survey")
READ_STATUSES = ("loaded", "replaced", "failed")


@dataclass
class Tally:
    cases: int = 0
    clean_errors: int = 0
    crashes: int = 0
    rows_unaccounted: int = 0
    files_unaccounted: int = 0            # files whose identity (or store count) did not hold
    records_miscounted: int = 0           # Σ |records written − rows_read|
    files_miscounted: int = 0
    files_dropped: int = 0
    outside_read: int = 0
    worst_s: float = 0.0
    worst_s_case: str = ""
    worst_heap: int = 0
    worst_heap_case: str = ""
    worst_rss_growth: int = 0
    miscount_tags: Counter = field(default_factory=Counter)
    dropped_examples: list = field(default_factory=list)
    error_kinds: Counter = field(default_factory=Counter)
    crash_kinds: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=lambda: defaultdict(list))

    def note(self, kind: str, text: str) -> None:
        if len(self.examples[kind]) < 2:
            self.examples[kind].append(text)


def _primary_count(store, fmt: str, batch_id: int, message: str = "") -> int | None:
    """Rows of ``batch_id`` in the table its rows_loaded counts (events, persons, event_persons, areas; for a
    wide-form area lookup only its smallest level: the larger areas are made from its rows)."""
    m = re.search(r"levels (\w+) →", message)
    if fmt == "areas" and message.startswith("wide form") and m:
        return int(store.con.execute("SELECT count(*) FROM areas WHERE batch_id = ? AND level = ?",
                                     [batch_id, m.group(1)]).fetchone()[0])
    if fmt.startswith("policeuk") or fmt in ("records:crimes", "records:stops", "records:arrests"):
        q = ("SELECT (SELECT count(*) FROM events WHERE batch_id = ?) + "
             "(SELECT count(*) FROM events_superseded WHERE batch_id = ?)")
        return int(store.con.execute(q, [batch_id, batch_id]).fetchone()[0])
    if fmt in ("survey_csv", "survey_sav"):      # one loaded respondent = one respondent id of the batch
        return int(store.con.execute("SELECT count(DISTINCT respondent_id) FROM survey_responses WHERE batch_id = ?",
                                     [batch_id]).fetchone()[0])
    table = {"records:persons": "persons", "records:roles": "event_persons", "areas": "areas"}.get(fmt)
    if table is None:
        return None
    return int(store.con.execute(f"SELECT count(*) FROM {table} WHERE batch_id = ?", [batch_id]).fetchone()[0])


def _check_report(store, rep, names: Counter, records: dict, links, t: Tally) -> None:
    last_areas = max((f.batch_id for f in rep.files if f.format == "areas" and f.status in ("loaded", "replaced")
                      and f.batch_id is not None), default=None)
    for f in rep.files:
        if f.status not in ("failed", "refused", "already_loaded", "kept"):
            gap = abs(f.rows_read - f.rows_loaded - f.rows_quarantined - f.duplicates_skipped)
            if f.status in ("loaded", "replaced") and f.batch_id is not None:
                n = _primary_count(store, f.format or "", f.batch_id, f.message)
                if n is not None:
                    if f.format == "areas" and f.batch_id != last_areas:
                        gap += max(0, n - f.rows_loaded)     # a later file may replace codes of an earlier one
                    else:
                        gap += abs(n - f.rows_loaded)
                q = int(store.con.execute("SELECT count(*) FROM quarantine WHERE batch_id = ?", [f.batch_id]).fetchone()[0])
                gap += abs(q - f.rows_quarantined - f.duplicates_skipped)
            if gap:
                t.rows_unaccounted += gap
                t.files_unaccounted += 1
                t.note("rows unaccounted", f"{Path(f.source).name} {f.status} read {f.rows_read} loaded {f.rows_loaded} "
                                           f"quarantined {f.rows_quarantined} duplicates {f.duplicates_skipped} (gap {gap})")
        gens = records.get(f.source, [])
        if f.status in READ_STATUSES and len(gens) == 1 and gens[0].records is not None:
            diff = abs(gens[0].records - f.rows_read)
            if diff:
                t.records_miscounted += diff
                t.files_miscounted += 1
                t.miscount_tags.update(gens[0].tags)
                if "unterminated" not in gens[0].tags:
                    t.note("miscounted without an unterminated quote",
                           f"{Path(f.source).name} {f.status}: {gens[0].records} records written, rows_read {f.rows_read}, "
                           f"tags {sorted(gens[0].tags)}")
        if f.status in READ_STATUSES and any(f.source == str(link) for link in links):
            t.outside_read += 1
    seen = Counter(f.source for f in rep.files) + Counter(rep.ignored)
    missing = names - seen
    if missing:
        t.files_dropped += sum(missing.values())
        if len(t.dropped_examples) < 3:
            name = sorted(missing)[0]
            t.dropped_examples.append(f"{name.split('!', 1)[-1]} (in the input {names[name]} times, reported {seen[name]})")


def _ingest(store, case: fs.Case, path: Path, mapping: Path | None):
    opts = case.options
    if case.reader == "policeuk":
        return store.ingest_policeuk(path, on_unknown=opts.get("on_unknown", "skip"))
    if case.reader == "records":
        return store.ingest_records(path, mapping, on_unknown=opts.get("on_unknown", "skip"))
    if case.reader == "survey":
        return store.ingest_survey(path, mapping=opts["mapping"])
    return store.ingest_areas(path)


def _signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "whatworks" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def run_case(case: fs.Case, t: Tally, crashes: dict, use_tracemalloc: bool) -> None:
    t.cases += 1
    tmp = Path(tempfile.mkdtemp(prefix="whatworks-fuzz-"))
    try:
        path, mapping, names, records, links = fs.write_case(case, tmp)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if use_tracemalloc:
            tracemalloc.start()
        t0 = time.perf_counter()
        store = ww.Store(":memory:")
        try:
            rep = _ingest(store, case, path, mapping)
        except WhatworksError as exc:
            t.clean_errors += 1
            t.error_kinds[type(exc).__name__] += 1
            rep = None
        except AssertionError as exc:
            if "row accounting broken" in str(exc):     # FileOutcome refused a broken identity: rows unaccounted
                t.rows_unaccounted += 1
                t.files_unaccounted += 1
                rep = None
            else:
                raise
        except Exception as exc:  # a crash: anything that is not a clean WhatworksError
            t.crashes += 1
            sig = _signature(exc)
            size = case.size()
            t.crash_kinds[sig] += 1
            if sig not in crashes or size < crashes[sig][0]:
                crashes[sig] = (size, case, traceback.format_exc())
            rep = None
        finally:
            elapsed = time.perf_counter() - t0
            if use_tracemalloc:
                heap = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            else:
                heap = 0
        label = f"{case.reader}/{case.layout} {case.size():,} B {sorted(case.tags())}"
        if elapsed > t.worst_s:
            t.worst_s, t.worst_s_case = elapsed, label
        if heap > t.worst_heap:
            t.worst_heap, t.worst_heap_case = heap, label
        t.worst_rss_growth = max(t.worst_rss_growth, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0)
        if rep is not None:
            _check_report(store, rep, names, records, links, t)
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


REPRO = '''"""Reproduce a fuzz crash: python repro.py (from this folder)."""
import pathlib, whatworks as ww
here = pathlib.Path(__file__).parent
s = ww.Store(":memory:")
print(s.{call})
'''


def save_crashes(crashes: dict) -> Path | None:
    if not crashes:
        return None
    out = Path(tempfile.mkdtemp(prefix="whatworks-fuzz-crashes-"))
    for k, (_sig, (size, case, tb)) in enumerate(sorted(crashes.items(), key=lambda kv: kv[1][0])):
        d = out / f"crash{k}"
        d.mkdir()
        path, mapping, *_ = fs.write_case(case, d)
        rel = path.relative_to(d)
        if case.reader == "policeuk":
            call = f"ingest_policeuk(here / {str(rel)!r}, on_unknown={case.options['on_unknown']!r})"
        elif case.reader == "records":
            call = f"ingest_records(here / {str(rel)!r}, here / 'mapping.toml', on_unknown={case.options['on_unknown']!r})"
        elif case.reader == "survey":
            call = f"ingest_survey(here / {str(rel)!r}, mapping={case.options['mapping']!r})"
        else:
            call = f"ingest_areas(here / {str(rel)!r})"
        (d / "repro.py").write_text(REPRO.format(call=call))
        (d / "traceback.txt").write_text(tb)
    return out


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="cases in total across the readers (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reader", choices=READERS, default=None, help="fuzz one reader only")
    ap.add_argument("--no-tracemalloc", action="store_true", help="do not trace the Python heap (faster)")
    args = ap.parse_args(argv)
    from whatworks._announce import options
    options.quiet = True    # the announced defaults (covariate kinds …) would bury the table
    readers = (args.reader,) if args.reader else READERS
    tallies = {r: Tally() for r in readers}
    crashes: dict = {}
    t_start = time.perf_counter()
    per = {r: args.n // len(readers) + (1 if i < args.n % len(readers) else 0) for i, r in enumerate(readers)}
    for r in readers:
        @seed(args.seed)
        @settings(max_examples=per[r], database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=fs.a_case(r))
        def one(case):
            run_case(case, tallies[r], crashes, not args.no_tracemalloc)
        if per[r]:
            one()
    total = time.perf_counter() - t_start

    cols = ["reader", "cases", "clean errors", "crashes", "rows unaccounted", "records miscounted (files)",
            "files dropped", "outside read", "worst s", "worst heap", "RSS growth"]
    rows = []
    for r, t in tallies.items():
        rows.append([r, f"{t.cases:,}", f"{t.clean_errors:,}", f"{t.crashes:,}", f"{t.rows_unaccounted:,}",
                     f"{t.records_miscounted:,} ({t.files_miscounted:,})", f"{t.files_dropped:,}", f"{t.outside_read:,}",
                     f"{t.worst_s:.2f}", _mb(t.worst_heap), _mb(t.worst_rss_growth * 1024)])
    alls = list(tallies.values())
    rows.append(["all", f"{sum(t.cases for t in alls):,}", f"{sum(t.clean_errors for t in alls):,}",
                 f"{sum(t.crashes for t in alls):,}", f"{sum(t.rows_unaccounted for t in alls):,}",
                 f"{sum(t.records_miscounted for t in alls):,} ({sum(t.files_miscounted for t in alls):,})",
                 f"{sum(t.files_dropped for t in alls):,}", f"{sum(t.outside_read for t in alls):,}",
                 f"{max(t.worst_s for t in alls):.2f}", _mb(max(t.worst_heap for t in alls)),
                 _mb(max(t.worst_rss_growth for t in alls) * 1024)])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print(f"fuzz_readers: {args.n:,} cases, seed {args.seed}, {total:,.0f} s; peak RSS "
          f"{_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |")
    for r, t in tallies.items():
        print(f"{r}: slowest case {t.worst_s:.2f} s: {t.worst_s_case}")
        print(f"{r}: largest heap {_mb(t.worst_heap)}: {t.worst_heap_case}")
        if t.miscount_tags:
            print(f"{r}: tags of miscounted files: {dict(t.miscount_tags.most_common(8))}")
        if t.dropped_examples:
            print(f"{r}: dropped, e.g. {t.dropped_examples}")
        for kind, texts in t.examples.items():
            for text in texts:
                print(f"{r}: {kind}, e.g. {text}")
        if t.crash_kinds:
            print(f"{r}: crashes by kind: {dict(t.crash_kinds)}")
        if t.error_kinds:
            print(f"{r}: clean errors by type: {dict(t.error_kinds)}")
    where = save_crashes(crashes)
    if where:
        print(f"crashes: {len(crashes)} distinct; smallest reproducers in {where}")
        for k, (sig, (size, _case, tb)) in enumerate(sorted(crashes.items(), key=lambda kv: kv[1][0])):
            print(f"  crash{k}: {sig} ({size:,} B): {tb.strip().splitlines()[-1][:200]}")
    bad = sum(t.crashes + t.rows_unaccounted + t.files_dropped for t in alls)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
