"""Golden case for whatworks.place.gistar: Getis-Ord Gi* z-scores from esda on a small grid.

Purpose
    A 14 x 11 square grid of counts (a planted hot cluster, a cold corner, Poisson background) with binary weights
    "within cell_size * sqrt(2), self included", built here with libpysal's DistanceBand (not whatworks' code), and
    the analytic Gi* z-scores from esda.G_Local(y, w, transform="B", star=True). Also the z-scores for a hexagon-like
    irregular point set (jittered centres, distance 1.5). tests/place/test_place_gistar.py compares to 1e-9.
Regenerate
    /work/venv/bin/python tests/golden/make_place_gistar.py    (writes tests/golden/place_gistar_golden.json)
Seed
    20261127 (numpy default_rng).
Versions
    Recorded in the JSON ("versions").
"""

from __future__ import annotations

import json
import math
import pathlib
import warnings

import esda
import libpysal
import numpy as np

rng = np.random.default_rng(20261127)
out = {"versions": {"esda": esda.__version__, "libpysal": libpysal.__version__, "numpy": np.__version__}, "cases": []}


def esda_z(x, y, values, threshold):
    pts = np.column_stack([x, y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.DistanceBand(pts, threshold=threshold, binary=True, silence_warnings=True)
        g = esda.G_Local(np.asarray(values, float), w, transform="B", star=True, permutations=0)
    card = np.array([w.cardinalities[i] for i in w.id_order]) + 1
    return g.Zs, card


# case 1: square grid, cell size 100, origin (500000, 180000) (British National Grid-like)
nrows, ncols, s = 11, 14, 100.0
row, col = np.divmod(np.arange(nrows * ncols), ncols)
cx = 500000 + (col + 0.5) * s
cy = 180000 + (row + 0.5) * s
counts = rng.poisson(2.0, nrows * ncols).astype(float)
hot = (np.abs(row - 5) <= 1) & (np.abs(col - 8) <= 1)
counts[hot] += rng.poisson(8.0, hot.sum())
counts[(row < 2) & (col < 2)] = 0
z, card = esda_z(cx, cy, counts, s * math.sqrt(2) * (1 + 1e-9))
out["cases"].append({"name": "square_grid", "cell_size": s, "nrows": nrows, "ncols": ncols,
                     "x0": 500000.0, "y0": 180000.0, "x": cx.tolist(), "y": cy.tolist(), "value": counts.tolist(),
                     "distance": s * math.sqrt(2), "z": z.tolist(), "neighbours": card.tolist()})

# case 2: irregular points, distance 1.5
n = 80
px = rng.uniform(0, 10, n)
py = rng.uniform(0, 8, n)
val = rng.gamma(2.0, 3.0, n) + 5 * np.exp(-((px - 3) ** 2 + (py - 4) ** 2) / 2)
z2, card2 = esda_z(px, py, val, 1.5)
out["cases"].append({"name": "irregular", "x": px.tolist(), "y": py.tolist(), "value": val.tolist(), "distance": 1.5,
                     "z": z2.tolist(), "neighbours": card2.tolist()})

path = pathlib.Path(__file__).with_name("place_gistar_golden.json")
path.write_text(json.dumps(out, indent=1))
print(f"wrote {path}")
