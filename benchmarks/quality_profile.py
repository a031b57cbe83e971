"""Benchmark: the data-quality profile (`Store.quality()`) on a 5-million-record store vs the same completeness and
code tables computed in pandas from the events table, in the same run, with the answers checked equal.

The store is filled directly by SQL (the ingest has its own benchmark, benchmarks/ingest.py), shaped like a force's
data: police.uk street crimes and ASB (month precision, ~3% without location, blank Crime ID for ASB) for 36 months
in monthly batches, police.uk outcomes for a fifth of the crimes, an RMS crime export (minute precision) and RMS stop
and search with details; an injected gap (LSOA blank in one RMS month) and a code that appears mid-way.

* whatworks: ``quality.profile(con)`` — completeness, codes, duplicates, quarantine, late records, findings;
* peer: pandas reads the events table (Arrow-backed columns) and computes completeness by (source, kind, month) and
  the code first/last month / months present / rows with ``groupby`` — a subset of what the profile does.

Checks: completeness shares for every (source, kind, month, field) agree exactly, and the code tables agree.

Usage: python benchmarks/quality_profile.py [--rows 5000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TYPES = ["Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
         "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
         "Vehicle crime", "Violence and sexual offences"]
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
            "Local resolution", "Offender given a caution", "Awaiting court outcome", "Offender fined"]


def build(path: Path, rows: int) -> None:
    import whatworks as ww

    n_street, n_out, n_rms, n_stop = int(rows * 0.62), int(rows * 0.13), int(rows * 0.2), int(rows * 0.05)
    types = "[" + ", ".join(f"'{t}'" for t in TYPES) + "]"
    outs = "[" + ", ".join(f"'{t}'" for t in OUTCOMES) + "]"
    with ww.Store(path) as s:
        c = s.con
        c.execute("SELECT setseed(0.2026)")
        # police.uk street: 36 monthly batches, ids (batch << 32) + row
        c.execute(f"""INSERT INTO events
            SELECT ((m + 1)::BIGINT << 32) + i + 2, CASE WHEN t = 1 THEN 'asb' ELSE 'crime' END,
                   CASE WHEN t = 1 THEN NULL ELSE md5(i::VARCHAR) END,
                   (DATE '2022-01-01' + INTERVAL (m) MONTH)::TIMESTAMP, DATE '2022-01-01' + INTERVAL (m) MONTH, 'month',
                   {types}[t], CASE WHEN t = 1 THEN NULL ELSE {outs}[1 + (i % 7)] END,
                   CASE WHEN r < 0.03 THEN NULL ELSE -1.5 + r END, CASE WHEN r < 0.03 THEN NULL ELSE 53.8 + r END,
                   CASE WHEN r < 0.03 THEN NULL ELSE 430000 + r * 1e4 END, CASE WHEN r < 0.03 THEN NULL ELSE 433000 + r * 1e4 END,
                   CASE WHEN r < 0.03 THEN NULL ELSE 'On or near High Street' END,
                   CASE WHEN r < 0.03 THEN NULL ELSE 'E0100' || (i % 5000)::VARCHAR END,
                   CASE WHEN r < 0.03 THEN NULL ELSE 'Leeds ' || (i % 500)::VARCHAR END,
                   'Northshire Police', 'Northshire Police', NULL, 'police.uk', 'street-' || m || '.csv', i + 2, m + 1
            FROM (SELECT i, i % 36 AS m, 1 + (hash(i) % 14)::INT AS t, random() AS r FROM range({n_street}) t(i))""")
        # outcomes for some crimes, 0-8 months later
        c.execute(f"""INSERT INTO events
            SELECT ((100 + m)::BIGINT << 32) + row_number() OVER () + 1, 'outcome', reference, month::TIMESTAMP, month, 'month',
                   NULL, {outs}[1 + (hash(reference) % 7)::INT], lon, lat, x, y, location, lsoa_code, lsoa_name, force,
                   reported_by, NULL, 'police.uk', 'outcomes.csv', row_number() OVER () + 1, 100 + m
            FROM (SELECT *, (month + INTERVAL (hash(reference) % 9) MONTH)::DATE AS omonth, 0 AS m
                  FROM events WHERE kind = 'crime' LIMIT {n_out}) e""")
        # RMS crimes: minute precision, lsoa blank in 2023-06, Shoplifting recoded 'Retail theft' -> appears from 2023-01
        c.execute(f"""INSERT INTO events
            SELECT ((200 + m)::BIGINT << 32) + i + 2, 'crime', 'CR' || i, ts, date_trunc('month', ts)::DATE, 'minute',
                   CASE WHEN {types}[t] = 'Shoplifting' AND ts < TIMESTAMP '2023-01-01' THEN 'Other theft' ELSE {types}[t] END,
                   NULL, NULL, NULL, 430000 + r * 1e4, 433000 + r * 1e4, NULL,
                   CASE WHEN date_trunc('month', ts) = TIMESTAMP '2023-06-01' THEN NULL ELSE 'E0100' || (i % 5000)::VARCHAR END,
                   NULL, 'Northshire Police', NULL, NULL, 'northshire-rms', 'rms-' || m || '.csv', i + 2, 200 + m
            FROM (SELECT i, i % 36 AS m, 2 + (hash(i) % 13)::INT AS t, random() AS r,
                         TIMESTAMP '2022-01-01' + INTERVAL (i % 36) MONTH + INTERVAL (hash(i) % 40000) MINUTE AS ts
                  FROM range({n_rms}) t(i))""")
        c.execute(f"""INSERT INTO events
            SELECT (300::BIGINT << 32) + i + 2, 'stop_search', 'SS' || i, ts, date_trunc('month', ts)::DATE, 'minute',
                   NULL, CASE WHEN hash(i) % 3 = 0 THEN 'Arrest' ELSE 'A no further action disposal' END,
                   NULL, NULL, 430000 + (i % 997), 433000 + (i % 991), NULL, NULL, NULL, 'Northshire Police', NULL, NULL,
                   'northshire-stops', 'stops.csv', i + 2, 300
            FROM (SELECT i, TIMESTAMP '2022-01-01' + INTERVAL (i % 36) MONTH + INTERVAL (i % 40000) MINUTE AS ts
                  FROM range({n_stop}) t(i))""")
        c.execute(f"""INSERT INTO stop_searches
            SELECT (300::BIGINT << 32) + i + 2, 'Person search', i % 10 = 0, NULL,
                   CASE WHEN i % 50 = 0 THEN NULL WHEN hash(i + 7) % 2 = 0 THEN 'Male' ELSE 'Female' END, '18-24', NULL, 'White',
                   'Misuse of Drugs Act 1971 (section 23)', 'Controlled drugs', i % 3 = 0, NULL, 'P' || i
            FROM range({n_stop}) t(i)""")
        c.execute("""INSERT INTO batches SELECT DISTINCT batch_id, source_file, 'sum' || batch_id, 'bench', 0, 0, 0, 0,
                     TIMESTAMP '2026-01-01', 'bench' FROM events""")
        c.execute("CHECKPOINT")


FIELDS = {"reference": "reference", "crime_type": "crime_type", "outcome": "outcome", "coordinates": "x",
          "location": "location", "lsoa_code": "lsoa_code", "lsoa_name": "lsoa_name", "force": "force"}


def peer(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The naive way: read the table into pandas and group."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    ev = con.sql("SELECT source_system, kind, month, time_precision, reference, crime_type, outcome, x, location, "
                     "lsoa_code, lsoa_name, force FROM events").to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)
    con.close()
    flags = pd.DataFrame({name: ev[col].notna() for name, col in FIELDS.items()})
    flags["time_of_day"] = ev["time_precision"] == "minute"
    flags[["source_system", "kind", "month"]] = ev[["source_system", "kind", "month"]]
    g = flags.groupby(["source_system", "kind", "month"], observed=True)
    share = g.mean().reset_index().melt(id_vars=["source_system", "kind", "month"], var_name="field", value_name="share_present")
    present = g.sum().reset_index().melt(id_vars=["source_system", "kind", "month"], var_name="field", value_name="n")
    ever = present.groupby(["source_system", "kind", "field"])["n"].transform("sum") > 0
    comp = share[ever.to_numpy()]
    codes = []
    for f in ("crime_type", "outcome"):
        d = ev.loc[ev[f].notna(), ["source_system", "kind", "month", f]].rename(columns={f: "value"})
        per_month = d.groupby(["source_system", "kind", "value", "month"], observed=True).size().rename("n").reset_index()
        agg = per_month.groupby(["source_system", "kind", "value"], observed=True).agg(
            first_month=("month", "min"), last_month=("month", "max"), months_present=("month", "nunique"), rows=("n", "sum"))
        codes.append(agg.reset_index().assign(field=f))
    return comp, pd.concat(codes, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    args = ap.parse_args()
    from whatworks.store import quality
    import whatworks as ww

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        build(path, args.rows)
        print(f"built a store of {args.rows:,} records in {time.perf_counter() - t0:.1f} s")
        with ww.Store(path, read_only=True) as s:
            n = s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
            t0 = time.perf_counter()
            prof = quality.profile(s.con)
            t_ww = time.perf_counter() - t0
        t0 = time.perf_counter()
        comp, codes = peer(path)
        t_pd = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2

    # the answers agree
    mine = prof.completeness[prof.completeness["field"].isin(list(FIELDS) + ["time_of_day"])]
    key = ["source_system", "kind", "month", "field"]
    theirs = comp.assign(month=pd.to_datetime(comp["month"].astype(str))).astype({"source_system": str, "kind": str})
    m = mine.merge(theirs, on=key, how="outer", suffixes=("", "_pd"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"].head()
    np.testing.assert_allclose(m["share_present"], m["share_present_pd"].astype(float), rtol=0, atol=1e-12)
    mc = prof.codes[prof.codes["field"].isin(["crime_type", "outcome"])]
    tc = codes.assign(first_month=pd.to_datetime(codes["first_month"].astype(str)),
                      last_month=pd.to_datetime(codes["last_month"].astype(str))).astype(
        {"source_system": str, "kind": str, "value": str})
    mm = mc.merge(tc, on=["source_system", "kind", "field", "value"], how="outer", suffixes=("", "_pd"), indicator=True)
    assert (mm["_merge"] == "both").all()
    for col in ("first_month", "last_month"):
        assert (pd.to_datetime(mm[col]) == pd.to_datetime(mm[col + "_pd"])).all(), col
    for col in ("months_present", "rows"):
        assert (mm[col].astype("int64") == mm[col + "_pd"].astype("int64")).all(), col
    print(f"events: {n:,}; completeness rows checked: {len(m):,}; code rows checked: {len(mm):,}")
    print(f"whatworks quality.profile: {t_ww:.2f} s (full profile: completeness, codes, duplicates, late records, findings)")
    print(f"pandas read + groupby (completeness and codes only): {t_pd:.2f} s")
    print(f"speed-up: {t_pd / t_ww:.1f}x; peak RSS of this process {peak:.2f} GB")
    print(prof.summary())


if __name__ == "__main__":
    sys.exit(main())
