"""Small simulations with known truth for the place tests (until/alongside whatworks.synth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def planted_hotspots(seed: int = 0, n_background: int = 6000, width: float = 6000.0, height: float = 4000.0,
                     centres=((1500.0, 1200.0), (4200.0, 2800.0), (3000.0, 900.0)), radius: float = 300.0,
                     per_hotspot: int = 500):
    """Uniform background plus discs of raised intensity. Returns (points, centres, radius)."""
    rng = np.random.default_rng(seed)
    pts = [np.column_stack([rng.uniform(0, width, n_background), rng.uniform(0, height, n_background)])]
    for cx, cy in centres:
        r = radius * np.sqrt(rng.uniform(0, 1, per_hotspot))
        a = rng.uniform(0, 2 * np.pi, per_hotspot)
        pts.append(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))
    xy = np.vstack(pts)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}), np.array(centres), radius


def contagious_events(seed: int = 0, n_parents: int = 1500, size: float = 10000.0, days: float = 365.0,
                      branching: float = 0.4, sd_m: float = 50.0, mean_lag: float = 5.0, contagious: bool = True):
    """Self-exciting (Hawkes-type) events: Poisson parents, each event triggering Poisson(branching) offspring at a
    Gaussian distance (sd_m per axis) and an exponential lag (mean_lag days). contagious=False gives parents only."""
    rng = np.random.default_rng(seed)
    x = list(rng.uniform(0, size, n_parents))
    y = list(rng.uniform(0, size, n_parents))
    t = list(rng.uniform(0, days, n_parents))
    queue = list(range(n_parents)) if contagious else []
    while queue:
        k = queue.pop()
        for _ in range(rng.poisson(branching)):
            tc = t[k] + rng.exponential(mean_lag)
            if tc >= days:
                continue
            x.append(x[k] + rng.normal(0, sd_m))
            y.append(y[k] + rng.normal(0, sd_m))
            t.append(tc)
            queue.append(len(t) - 1)
    return pd.DataFrame({"x": x, "y": y, "occurred": np.floor(t)})


@pytest.fixture
def hotspot_sim():
    return planted_hotspots


@pytest.fixture
def nearrepeat_sim():
    return contagious_events
