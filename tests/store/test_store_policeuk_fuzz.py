"""Property-based fuzzing of the police.uk reader: whatever bytes arrive, every record is accounted for,
and the fast (DuckDB) and exact (Python csv) reading paths agree."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import whatworks as ww
from whatworks.store import policeuk

HEADER = ",".join(policeuk.STREET.header)
VALID = [
    "a" * 64, "2024-01", "Met", "Metropolitan Police Service", "-0.1", "51.5", "On or near High Street", "E01000001",
    "City of London 001A", "Burglary", "Under investigation", "",
]

field = st.one_of(
    st.sampled_from(["", "2024-13", "0", "-30", "Burglary", "Jaywalking", "nan", "x,y", '"q"', "On or near \"A\"", "é", "\t"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)


@st.composite
def a_row(draw):
    kind = draw(st.sampled_from(["valid", "mutated", "short", "long", "blank", "raw"]))
    fields = list(VALID)
    if kind == "valid":
        return ",".join(fields).encode()
    if kind == "mutated":
        i = draw(st.integers(0, len(fields) - 1))
        fields[i] = draw(field)
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(fields)
        return out.getvalue().encode()
    if kind == "short":
        return ",".join(fields[: draw(st.integers(1, 11))]).encode()
    if kind == "long":
        return (",".join(fields) + ",extra").encode()
    if kind == "blank":
        return b""
    return draw(st.binary(max_size=40)).replace(b"\n", b" ").replace(b"\r", b" ")


@st.composite
def a_file(draw):
    rows = draw(st.lists(a_row(), max_size=25))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    bom = draw(st.booleans())
    body = (b"\xef\xbb\xbf" if bom else b"") + eol.join([HEADER.encode(), *rows])
    if draw(st.booleans()):
        body += eol
    return body


def _load(path, exact):
    s = ww.Store(":memory:")
    rep = policeuk.ingest(s.con, path, version="fuzz", force_exact=exact)
    ev = s.sql("SELECT * EXCLUDE (batch_id, event_id) FROM events ORDER BY source_row")
    q = s.sql("SELECT source_row, category, reason FROM quarantine ORDER BY source_row")
    n_ev = len(ev)
    s.close()
    return rep, ev, q, n_ev


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=a_file())
def test_every_record_accounted_for_and_paths_agree(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("fuzz") / "2024-01-met-street.csv"
    path.write_bytes(body)
    results = [_load(path, exact) for exact in (False, True)]
    for rep, ev, q, n_ev in results:
        f = rep.files[0]
        if f.status == "failed":  # (nearly) every row invalid: rolled back whole, nothing loaded or quarantined
            assert n_ev == 0 and len(q) == 0 and f.rows_failed == f.rows_read and f.hint
            continue
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.duplicates_skipped
        assert n_ev == f.rows_loaded
        assert len(q) == f.rows_quarantined + f.duplicates_skipped
        # every record has one row number, used once: loaded and quarantined rows never overlap
        rows = list(ev["source_row"]) + list(q["source_row"])
        assert len(rows) == len(set(rows)) == f.rows_read
    (r1, e1, q1, _), (r2, e2, q2, _) = results
    assert r1.rows_read == r2.rows_read and r1.rows_failed == r2.rows_failed
    assert [f.status for f in r1.files] == [f.status for f in r2.files]
    assert e1.equals(e2)
    assert q1.equals(q2)


def _state(s):
    return (s.sql("SELECT * FROM events ORDER BY event_id"),
            s.sql("SELECT * FROM quarantine ORDER BY batch_id, source_row, category, reason"),
            s.sql("SELECT * EXCLUDE (loaded_at) FROM batches ORDER BY batch_id"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bodies=st.lists(a_file(), min_size=2, max_size=4))
def test_a_folder_loads_as_one_group_exactly_as_file_by_file(tmp_path_factory, bodies):
    # the same Crime ID ("a" * 64) recurs within and across files, so cross-file duplicates are common
    root = tmp_path_factory.mktemp("fuzzdir")
    paths = []
    for k, body in enumerate(bodies):
        p = root / f"2024-0{k + 1}-met-street.csv"
        p.write_bytes(body)  # two equal bodies: the second is "already loaded" either way
        paths.append(p)
    one = ww.Store(":memory:")
    for p in paths:
        one.ingest_policeuk(p)
    grouped = ww.Store(":memory:")
    rep = grouped.ingest_policeuk(root)
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.duplicates_skipped
    for a, b in zip(_state(one), _state(grouped)):
        assert a.equals(b)
    one.close()
    grouped.close()
