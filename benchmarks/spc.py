"""Benchmark: whatworks.performance.spc (vectorised over series) vs a straightforward per-series pandas loop.

Data: 10,000 series × 36 months of Poisson counts (mean drawn per series between 2 and 200), with a step change in a
tenth of the series; seed 2026. Both versions compute the XmR limits and the four Making Data Count rules; the script
checks the outputs are identical (limits to 1e-9, every flag and point type exactly) and prints the time ratio.

Run:  /work/venv/bin/python benchmarks/spc.py [n_series]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from whatworks.performance.spc import spc

N_MONTHS = 36


def make_data(n_series: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = rng.uniform(2, 200, size=(n_series, 1))
    y = rng.poisson(np.repeat(lam, N_MONTHS, axis=1)).astype(float)
    stepped = rng.random(n_series) < 0.1
    y[stepped, 24:] += np.round(3 * np.sqrt(lam[stepped]))
    months = pd.date_range("2022-04-01", periods=N_MONTHS, freq="MS")
    return pd.DataFrame({"area": np.repeat([f"E{i:08d}" for i in range(n_series)], N_MONTHS),
                         "month": np.tile(months, n_series), "crimes": y.ravel()})


def per_series_pandas(g: pd.DataFrame, improvement: str) -> pd.DataFrame:
    """The XmR chart for one series, written the obvious pandas way."""
    g = g.sort_values("month").reset_index(drop=True)
    y = g["crimes"]
    mean = y.mean()
    mr = y.diff().abs()
    amr = mr.mean()
    kept = mr[mr < 3.267 * amr]
    amr = kept.mean() if len(kept) else 0.0
    lpl, upl = mean - 2.66 * amr, mean + 2.66 * amr
    lo2, hi2 = mean - 2 * (2.66 / 3) * amr, mean + 2 * (2.66 / 3) * amr
    outside = (y > upl) | (y < lpl)
    close = ~outside & ((y > hi2) | (y < lo2))
    side = np.sign(y - mean)
    # trend: 6 consecutive strictly positive (negative) steps
    step = np.sign(y.diff()).fillna(0)
    up_win = (step > 0).astype(int).rolling(6).sum() == 6      # window of steps ending at i → points i-6 .. i
    down_win = (step < 0).astype(int).rolling(6).sum() == 6
    trend = pd.Series(False, index=y.index)
    right = pd.Series(0, index=y.index)
    left = pd.Series(0, index=y.index)
    for i in np.flatnonzero(up_win | down_win):
        d = 1 if up_win[i] else -1
        trend[i - 6:i + 1] = True
        right[i - 6:i] = d
        left[i - 5:i + 1] = d
    tdir = right.where(right != 0, left)
    # two in three
    two3 = pd.Series(False, index=y.index)
    for i in range(len(y) - 2):
        s = side[i:i + 3]
        if s.iloc[0] != 0 and (s == s.iloc[0]).all() and close[i:i + 3].sum() >= 2:
            two3[i:i + 3] |= close[i:i + 3]
    # shift
    shift = pd.Series(False, index=y.index)
    for sgn in (1, -1):
        win = (side == sgn).astype(int).rolling(7).sum() == 7
        for i in np.flatnonzero(win):
            shift[i - 6:i + 1] = True
    special = outside | trend | two3 | shift
    d = side.where(~(trend & ~outside), tdir).where(special, 0)
    good = 1 if improvement == "increase" else -1
    pt = np.where(~special, "common_cause", np.where(d == good, "special_cause_improvement", "special_cause_concern"))
    return pd.DataFrame({"area": g["area"], "date": g["month"], "mean": mean, "lpl": lpl, "upl": upl,
                         "outside_limits": outside, "trend": trend, "two_in_three": two3, "shift": shift,
                         "point_type": pt})


def main(n_series: int = 10_000) -> None:
    d = make_data(n_series)
    t0 = time.perf_counter()
    r = spc(d, "crimes", "month", by="area", improvement="decrease", quiet=True)
    t_ww = time.perf_counter() - t0

    t0 = time.perf_counter()
    loop = pd.concat([per_series_pandas(g, "decrease") for _, g in d.groupby("area", sort=True)], ignore_index=True)
    t_loop = time.perf_counter() - t0

    ours = r.table
    assert (ours["area"].to_numpy() == loop["area"].to_numpy()).all()
    for c in ("mean", "lpl", "upl"):
        np.testing.assert_allclose(ours[c].to_numpy(), loop[c].to_numpy(), rtol=0, atol=1e-9)
    for c in ("outside_limits", "trend", "two_in_three", "shift"):
        assert (ours[c].to_numpy() == loop[c].to_numpy().astype(bool)).all(), c
    assert (ours["point_type"].astype(str).to_numpy() == loop["point_type"].to_numpy()).all()
    flagged = int(ours["special_cause"].sum())
    print(f"spc benchmark: {n_series:,} series × {N_MONTHS} months ({len(d):,} points), {flagged:,} special-cause points")
    print(f"  whatworks.performance.spc(by=...): {t_ww:.3f} s")
    print(f"  per-series pandas loop:            {t_loop:.3f} s")
    print(f"  speed-up: {t_loop / t_ww:.1f}×   outputs identical: yes")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
