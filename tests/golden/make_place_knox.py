"""Golden case for whatworks.place.knox: pointpats' Knox on the libpysal "burkitt" example.

Purpose
    Burkitt's lymphoma cases (188 events, X/Y in km-like units, T in days; shipped inside libpysal) and, for several
    thresholds (delta, tau), pointpats.spacetime.Knox's count of pairs with distance <= delta and time gap <= tau
    (its KDTree ball queries include the boundary) and its expected count NS*NT/pairs. whatworks reproduces these with
    closed="right" and bands [0, delta] x [0, tau]. The classic value is 13 pairs within 20 units and 5 days.
Regenerate
    /work/venv/bin/python tests/golden/make_place_knox.py    (writes tests/golden/place_knox_golden.json)
Seed
    none (no permutations are used: observed and expected counts are deterministic).
Versions
    Recorded in the JSON ("versions").
"""

from __future__ import annotations

import json
import pathlib

import geopandas
import libpysal
import numpy as np
import pointpats
from pointpats.spacetime import Knox

df = geopandas.read_file(libpysal.examples.get_path("burkitt.shp"))
xy = df[["X", "Y"]].to_numpy(float)
t = df[["T"]].to_numpy(float)
cases = []
for delta, tau in [(20, 5), (20, 30), (50, 60), (10, 100), (35, 14)]:
    k = Knox(xy, t, delta=delta, tau=tau, permutations=0)
    cases.append({"delta": delta, "tau": tau, "observed": int(k.statistic_), "expected": float(k.expected[0, 0]),
                  "observed_table": k.observed.tolist()})
out = {"versions": {"pointpats": pointpats.__version__, "libpysal": libpysal.__version__, "numpy": np.__version__},
       "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "t": t[:, 0].tolist(), "cases": cases}
path = pathlib.Path(__file__).with_name("place_knox_golden.json")
path.write_text(json.dumps(out, indent=1))
print(f"wrote {path}: " + ", ".join(f"({c['delta']}, {c['tau']}) -> {c['observed']}" for c in cases))
