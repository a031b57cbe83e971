"""Benchmark: link 1,000,000 synthetic person records end to end on DuckDB (issue 6).

Runs, on the same records written once to Parquet, each in a fresh subprocess so peak memory (ru_maxrss) is its own:
  * whatworks: ``whatworks.people.link`` (preparation, Splink training with capped pairs, prediction, clustering,
    output tables);
  * peer: Splink 5 called directly with the same model settings on the already-prepared records (what a skilled
    analyst would write by hand), clustering with Splink's connected components.
Checks that the two clusterings agree (pairwise F1 of one against the other) and reports time, peak memory, the
ratio, and each one's pairwise precision / recall against the true identities.

Records: the synthetic force's residents (whatworks.synth.people) recorded by the four systems with the synth's
error model (typos, nicknames, date-of-birth errors, old and mistyped postcodes, 3% duplicate ids); each system
holds 250,000 person records (≈ 1,000,000 in all), people drawn independently per system so many appear in several.

Run: /work/venv/bin/python benchmarks/people_link.py [--records 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WW_CODE = r"""
import json, resource, sys, time
import pandas as pd
import whatworks as ww
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
mem = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
r = ww.people.link(df, source="source_system", record_id="person_id", exact=["sex", "ethnicity"], memory_limit=mem,
                   quiet=True)
el = time.perf_counter() - t
r.table[["source", "record_id", "cluster_id"]].to_parquet(sys.argv[2])
print(json.dumps({"seconds": el, "timings": r.timings, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "clusters": r.n_clusters}))
"""

PEER_CODE = r"""
import json, logging, resource, sys, tempfile, time
import duckdb, pandas as pd
from splink import DuckDBAPI, Linker, block_on
from whatworks.people.linkage import _settings, blocking_rules_for, prepare_records
df = pd.read_parquet(sys.argv[1])
prep, _ = prepare_records(df, source="source_system", record_id="person_id", first_name="first_name", surname="surname",
                          dob="dob", postcode="postcode", exact=["sex", "ethnicity"])
logging.getLogger("splink").setLevel(logging.ERROR)
cols = {"first_name", "surname", "dob", "postcode"}
t = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{tmp}'")
    if len(sys.argv) > 3 and sys.argv[3]:
        con.execute(f"SET memory_limit = '{sys.argv[3]}'")
    api = DuckDBAPI(con)
    sdf = api.register(prep.drop(columns=["source", "record_id"]))
    linker = Linker(sdf, _settings(cols, (0, 2), "duckdb", blocking_rules_for(cols)), log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=0)
    for r in ("dob", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(r), max_pairs=5e5)
    pred = linker.inference.predict(threshold_match_probability=0.9)
    cl = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9).as_pandas_dataframe()
    el = time.perf_counter() - t
    con.close()
cl[["unique_id", "cluster_id"]].to_parquet(sys.argv[2])
print(json.dumps({"seconds": el, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "clusters": int(cl["cluster_id"].nunique())}))
"""


def make_records(n_records: int, seed: int) -> pd.DataFrame:
    from whatworks.synth import _constants as C
    from whatworks.synth.geography import build_geography
    from whatworks.synth.people import build_people, person_records

    geo = build_geography(seed, boroughs=8, wards_per_borough=10, lsoas_per_ward=8, segments_per_lsoa=40.0)
    people = build_people(seed, geo, pd.Timestamp("2022-04-01"))
    rng = np.random.default_rng(seed)
    per = n_records // len(C.PERSON_SYSTEMS)
    adults = np.flatnonzero((pd.Timestamp("2022-04-01") - pd.to_datetime(people.dob_days, unit="D")).days > 10 * 365)
    recs = []
    for system in C.PERSON_SYSTEMS:
        true_ids = rng.choice(adults, size=min(per, adults.size), replace=False)
        nums = people.system_perm[system][true_ids]
        dup = people.system_dup[system][true_ids]
        numbers = np.concatenate([nums, nums[dup] + people.n])[:per]
        r, ident = person_records(people, system, numbers, geo, seed)
        r.insert(0, "source_system", system)
        recs.append(r.assign(true_person_id=ident["true_person_id"].to_numpy()))
    return pd.concat(recs, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default="", help="DuckDB memory limit for both runs, e.g. 10GB (default: "
                    "DuckDB's, 80%% of RAM — at 3M records the process passed 19 GB on this 24 GB machine)")
    ap.add_argument("--skip-peer", action="store_true", help="only the whatworks run")
    args = ap.parse_args()
    from whatworks.people import pairwise_metrics

    t = time.perf_counter()
    df = make_records(args.records, args.seed)
    print(f"records: {len(df):,} ({df['true_person_id'].nunique():,} true people) made in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory(prefix="whatworks-bench-") as tmp:
        src, out_ww, out_peer = Path(tmp) / "records.parquet", Path(tmp) / "ww.parquet", Path(tmp) / "peer.parquet"
        df.drop(columns=["true_person_id"]).to_parquet(src)
        res = {}
        runs = (("whatworks", WW_CODE, out_ww),) + (() if args.skip_peer else (("splink", PEER_CODE, out_peer),))
        for name, code, out in runs:
            t1 = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", code, str(src), str(out), args.memory_limit], capture_output=True,
                               text=True, cwd=tmp)
            print(f"{name}: rc {p.returncode}, wall {time.perf_counter() - t1:.1f} s", flush=True)
            if p.returncode:
                raise SystemExit(f"{name} failed:\n{p.stderr[-3000:]}")
            res[name] = json.loads(p.stdout.strip().splitlines()[-1])
            print(name, res[name])
        w = pd.read_parquet(out_ww)
        if args.skip_peer:
            truth = df["source_system"] + "\x1f" + df["person_id"]
            w["unique_id"] = w["source"] + "\x1f" + w["record_id"]
            lab = pd.Series(df["true_person_id"].to_numpy(), index=truth)
            a = pairwise_metrics(w["cluster_id"], lab.reindex(w["unique_id"]).to_numpy())
            print(f"whatworks: precision {a['precision']:.4f} recall {a['recall']:.4f} F1 {a['f1']:.4f}; peak memory "
                  f"{res['whatworks']['maxrss_mb']:.0f} MB")
            return
        k = pd.read_parquet(out_peer)
        w["unique_id"] = w["source"] + "\x1f" + w["record_id"]
        m = w.merge(k, on="unique_id", suffixes=("_ww", "_peer"))
        assert len(m) == len(df)
        agree = pairwise_metrics(m["cluster_id_ww"], m["cluster_id_peer"])
        truth = df["source_system"] + "\x1f" + df["person_id"]
        lab = pd.Series(df["true_person_id"].to_numpy(), index=truth)
        m["label"] = lab.reindex(m["unique_id"]).to_numpy()
        acc_ww = pairwise_metrics(m["cluster_id_ww"], m["label"])
        acc_peer = pairwise_metrics(m["cluster_id_peer"], m["label"])
    print(f"agreement whatworks vs splink clusters: pairwise F1 {agree['f1']:.5f}")
    for name, a in (("whatworks", acc_ww), ("splink", acc_peer)):
        print(f"{name}: precision {a['precision']:.4f} recall {a['recall']:.4f} F1 {a['f1']:.4f} "
              f"({a['true_pairs']:,} true pairs)")
    print(f"time ratio whatworks / splink = {res['whatworks']['seconds'] / res['splink']['seconds']:.2f}; "
          f"peak memory {res['whatworks']['maxrss_mb']:.0f} MB vs {res['splink']['maxrss_mb']:.0f} MB")
    assert agree["f1"] > 0.99, "whatworks and plain Splink disagree"


if __name__ == "__main__":
    main()
