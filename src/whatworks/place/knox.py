"""Knox test for near repeats: are events that are close in space also close in time more often than chance?"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import (check_choice, check_number, refuse_renamed, require_columns, require_dataframe,
                                require_numeric)
from whatworks.errors import error
from whatworks.place._lattice import find_strays, nice_floor, to_days
from whatworks.place._study_area import BBOX, parse_study_area, points_in_area

__all__ = ["knox", "KnoxResult", "band_labels"]
_RENAMED = {"time": "date"}   # issue 17, "one vocabulary" (CHANGELOG.md): `time` is only a numeric panel axis

CLOSED = ("left", "right")
# Default bands when none are given: five distance bands as wide as the median nearest-neighbour distance (rounded),
# and five one-week time bands — near-repeat burglary risk is raised mostly within 1–2 weeks and ~100–200 m
# (Townsley, Homel & Chaseling 2003; Johnson & Bowers 2004).
DEFAULT_N_BANDS = 5
DEFAULT_TIME_BANDS = (0.0, 7.0, 14.0, 21.0, 28.0, 35.0)
SIGNIFICANCE = 0.05
DEFAULT_PERMUTATIONS = 999
DEFAULT_SEED = 0
DEFAULT_CLOSED = "left"
TIME_PRECISIONS = ("month", "day", "minute")
ON_STRAY = ("error", "exclude")
# What the result says when the dates cannot resolve the time bands (police.uk publishes months only).
MONTH_RESOLUTION = ("cannot be tested at this time resolution: every date is a month (police.uk publishes the month "
                    "only), so pairs a few days apart cannot be told from pairs weeks apart")


@dataclass(frozen=True, repr=False, kw_only=True)
class KnoxResult(Result):
    """Knox near-repeat table.

    ``table``: one row per (distance band, time band) with ``distance_band``, ``time_band`` (interval labels),
    ``distance_from``, ``distance_to``, ``time_from``, ``time_to``, ``observed`` (pairs of events in both bands),
    ``expected`` (exact mean under random permutation of the times), ``ratio`` (observed / expected),
    ``p_value`` ((#simulations ≥ observed + 1) / (simulations + 1); NaN without permutations).
    """

    n_events: int = 0
    permutations: int = 0
    distance_edges: tuple = ()
    time_edges: tuple = ()
    closed: str = "left"
    distance_unit: str = "m"
    simulated: np.ndarray | None = None
    testable: bool = True
    untestable_reason: str = ""
    excluded: pd.DataFrame | None = None

    def heat(self, column: str = "ratio") -> pd.DataFrame:
        """The table as distance band (rows) × time band (columns) of ``column``."""
        t = self.table
        out = t.pivot(index="distance_band", columns="time_band", values=column)
        return out.loc[t["distance_band"].unique(), t["time_band"].unique()]

    def _headline(self) -> str:
        if not self.testable:
            return f"{self.n_events:,} events; cannot be tested at this time resolution"
        sig = self._excess()
        return f"{self.n_events:,} events; {len(sig)} of {len(self.table)} band pairs with a significant excess"

    def _excess(self) -> pd.DataFrame:
        t = self.table
        return t[(t["p_value"] < SIGNIFICANCE) & (t["ratio"] > 1)]

    def summary(self) -> str:
        sig = self._excess()
        head = (f"Knox test on {self.n_events:,} events with {self.permutations} permutations: ")
        if not self.testable:
            return (f"Knox test on {self.n_events:,} events: near repeats {self.untestable_reason}. This is not "
                    "evidence of no near-repeat pattern. Use dates recorded to the day (e.g. your records-management "
                    "export) to test it.")
        if self.permutations == 0:
            return head + "no permutations were run, so no p-values; see the ratio column."
        if not len(sig):
            return head + "no space–time band shows more close pairs than chance (p < 0.05) — no near-repeat pattern."
        best = sig.sort_values("ratio", ascending=False).iloc[0]
        return (head + f"{len(sig)} band pair(s) show more pairs than chance (p < 0.05). Strongest: within "
                f"{best['distance_band']} and {best['time_band']}, {best['observed']:,} pairs against "
                f"{best['expected']:,.1f} expected (ratio {best['ratio']:.2f}, p = {best['p_value']:.3f}).")

    def _draw(self, ax) -> None:
        h = self.heat("ratio")
        p = self.heat("p_value")
        vals = h.to_numpy(float)
        finite = vals[np.isfinite(vals)]
        span = max(abs(np.log2(finite)).max(), 0.5) if len(finite) and np.all(finite > 0) else 1.0
        with np.errstate(divide="ignore"):
            im = ax.imshow(np.log2(vals), cmap="RdBu_r", vmin=-span, vmax=span, aspect="auto")
        ax.set_xticks(range(h.shape[1]), h.columns, rotation=30, ha="right")
        ax.set_yticks(range(h.shape[0]), h.index)
        for i in range(h.shape[0]):
            for j in range(h.shape[1]):
                star = "*" if np.isfinite(p.iat[i, j]) and p.iat[i, j] < SIGNIFICANCE else ""
                txt = "–" if not np.isfinite(vals[i, j]) else f"{vals[i, j]:.2f}{star}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8, color=PALETTE["black"])
        ax.figure.colorbar(im, ax=ax, label="log₂(observed / expected)", shrink=0.8)
        ax.set_xlabel("time between events")
        ax.set_ylabel("distance between events")
        ax.set_title("Near-repeat Knox ratios (* p < 0.05)", loc="left")


def band_labels(edges, closed: str, unit: str) -> list[str]:
    """Interval-notation labels: "[0, 100) m" (closed="left"), or "[0, 100] m", "(100, 200] m" (closed="right")."""
    out = []
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        if closed == "left":
            out.append(f"[{a:g}, {b:g}) {unit}")
        else:
            out.append(f"{'[' if k == 0 else '('}{a:g}, {b:g}] {unit}")
    return out


def _band_index(values: np.ndarray, edges: np.ndarray, closed: str) -> np.ndarray:
    """Band of each value (−1 outside every band). left: [a, b); right: (a, b] with the first band [a0, b]."""
    if closed == "left":
        k = np.searchsorted(edges, values, side="right") - 1
        k[(values >= edges[-1])] = -1
    else:
        k = np.searchsorted(edges, values, side="left") - 1
        k[values == edges[0]] = 0
        k[values > edges[-1]] = -1
    k[values < edges[0]] = -1
    return k


def _pairs_within(sorted_t: np.ndarray, bound: float, inclusive: bool) -> int:
    """Number of unordered pairs with time difference < bound (≤ when inclusive); ``sorted_t`` ascending."""
    side = "right" if inclusive else "left"
    hi = np.searchsorted(sorted_t, sorted_t + bound, side=side)
    return int((hi - np.arange(len(sorted_t)) - 1).clip(min=0).sum())


def _time_pair_counts(t: np.ndarray, edges: np.ndarray, closed: str) -> np.ndarray:
    """M_t: the number of unordered event pairs whose time difference falls in each time band (all pairs)."""
    st = np.sort(t)
    if closed == "left":
        below = [_pairs_within(st, e, inclusive=False) for e in edges]        # pairs with dt < e
    else:
        below = [_pairs_within(st, e, inclusive=True) for e in edges]         # pairs with dt ≤ e
        # first band is closed at its lower edge too: add the pairs exactly at edges[0]
        at_lower = below[0] - _pairs_within(st, edges[0], inclusive=False)
        below[0] -= at_lower
    return np.diff(np.array(below, dtype=np.int64))


def _check_edges(where: str, name: str, edges) -> np.ndarray:
    try:
        e = np.asarray(edges, dtype=float).ravel()
    except (TypeError, ValueError):
        raise error(where, f"The '{name}' parameter must be a list of band edges.", got=edges,
                    hint="For example [0, 100, 200, 300, 400].") from None
    if len(e) < 2 or not np.all(np.isfinite(e)) or e[0] < 0 or np.any(np.diff(e) <= 0):
        raise error(where, f"The '{name}' parameter must hold at least two increasing, non-negative, finite edges.",
                    got=list(edges) if hasattr(edges, "__iter__") else edges, hint="For example [0, 100, 200, 300, 400].")
    return e


def _permutation_counts(t: np.ndarray, i: np.ndarray, j: np.ndarray, dband: np.ndarray, t_edges: np.ndarray,
                        closed: str, n_d: int, permutations: int, seed: int) -> np.ndarray:
    """Counts per (distance band, time band) for each permutation of the times over the fixed close pairs.

    Returns an array (permutations, n_d, n_t). Times are permuted across events; the spatial pairs never change,
    so only the time differences of the close pairs are recomputed (the fast algorithm in REFERENCE.md). Pairs must
    be sorted by distance band: each band's pairs are a contiguous run, and the count in a time band is the number
    of differences below its upper edge minus those below its lower edge (vectorised comparisons, no per-pair
    binning). Permutations run in fixed blocks, each with its own generator spawned from ``seed``, on up to two
    threads (numpy releases the GIL here); the result depends only on ``seed``, not on the number of threads.
    """
    n_t = len(t_edges) - 1
    out = np.zeros((permutations, n_d, n_t), dtype=np.int64)
    if len(i) == 0 or permutations == 0:
        return out
    shifted = t - t.min()
    integral = bool(np.all(shifted == np.round(shifted)) and shifted.max() < 2**15 - 1)
    tt = shifted.astype(np.int16) if integral else shifted   # small integers keep the gathers in cache
    starts = np.searchsorted(dband, np.arange(n_d + 1))
    # cum[k] counts differences "below" edge k: < e_k for closed="left"; for closed="right", ≤ e_k except the first
    # edge, which the first band includes (so < e_0).
    below_edges = [(float(e), closed == "right" and k > 0) for k, e in enumerate(t_edges)]

    def one(tp, res):
        dt = np.take(tp, i)
        dt -= np.take(tp, j)
        np.abs(dt, out=dt)
        for d in range(n_d):
            seg = dt[starts[d]:starts[d + 1]]
            cum = [np.count_nonzero(seg <= e) if incl else np.count_nonzero(seg < e) for e, incl in below_edges]
            res[d] = np.diff(cum)

    block = 50
    firsts = list(range(0, permutations, block))
    seeds = np.random.SeedSequence(seed).spawn(len(firsts))

    def run(k):
        rng = np.random.default_rng(seeds[k])
        for r in range(firsts[k], min(firsts[k] + block, permutations)):
            one(tt[rng.permutation(len(tt))], out[r])

    workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(firsts) > 1:
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(run, range(len(firsts))))
    else:
        for k in range(len(firsts)):
            run(k)
    return out


def knox(df: pd.DataFrame, x: str = "x", y: str = "y", date: str = "occurred", *, distance_bands=None,
         time_bands=None, permutations: int | None = None, seed: int | None = None, closed: str | None = None,
         distance_unit: str = "m", time_precision: str | None = None, on_stray: str = "error", study_area=None,
         quiet: bool = False, **renamed) -> KnoxResult:
    """Knox test of space–time interaction over bands of distance and time (the near-repeat calculator).

    Parameters
    ----------
    df : DataFrame
        One row per event.
    x, y : str, default "x", "y"
        Projected coordinates (metres).
    date : str, default "occurred"
        When each event happened: dates or date-times (converted to days), or numbers already in days. (Called
        ``time`` before issue 17; passing ``time=`` is an error naming ``date``.)
    distance_bands : sequence of float, optional
        Band edges, e.g. ``[0, 100, 200, 300, 400]``. ``None``: five bands as wide as the median distance from each
        event to its nearest other event, rounded down to a round number; announced.
    time_bands : sequence of float, optional
        Band edges in days, e.g. ``[0, 7, 14, 21, 28]``. ``None``: five one-week bands, [0, 7) … [28, 35) days.
    permutations : int, optional
        Number of random permutations of the times (0: no p-values). ``None`` (not given) means 999.
    seed : int, optional
        Seed (an integer ≥ 0) for the permutations. ``None`` (not given) means 0, so results are reproducible either
        way. ``permutations`` and ``seed`` are recorded in ``.settings`` with source "user" when you pass them — even
        the default value, e.g. ``seed=0`` — and "default" when you leave them out.
    closed : {"left", "right"}, optional
        "left": bands are [a, b) — a pair 100 m apart is in [100, 200), never in [0, 100). "right": bands are (a, b],
        with the first band [a₀, b] (pointpats' ``Knox`` counts pairs with distance ≤ δ and time ≤ τ, which is the
        first band with closed="right"). ``None`` (not given) means "left"; recorded in ``.settings`` like ``seed``.
    distance_unit : str, default "m"
        Unit shown in the band labels.
    time_precision : {"month", "day", "minute"} or str, optional
        How precisely the dates were recorded: a value, or the name of a column holding one per row (the store's
        ``time_precision``). ``None``: the column ``time_precision`` when ``df`` has one, else taken from the dates.
        When every date is a month ("month", or every datetime is midnight on the 1st), near repeats **cannot be
        tested at this time resolution**: the result says so (``testable`` False, ``p_value`` NaN, no permutations
        run) instead of reporting "no near-repeat pattern".
    on_stray : {"error", "exclude"}, default "error"
        Rows without coordinates are always left out (police.uk loads crimes with no mappable location), counted in
        the announcement and listed in ``.excluded``. Other stray points ((0, 0), far outside the rest): "error"
        refuses, naming the first; "exclude" leaves them out and lists them too.
    study_area : shapely (Multi)Polygon, boundaries table or StudyArea, optional
        Leave out the events outside it (counted and listed). A table of points needs cells: pass
        ``grid(..., study_area=points).study_area``.
    quiet : bool, default False

    Returns
    -------
    KnoxResult
        ``.table`` per band pair (observed, expected, ratio, p_value), ``.heat()``, ``.plot()`` (heat table),
        ``.excluded`` (events left out), ``.testable``.

    Notes
    -----
    Observed: the number of unordered pairs of events whose distance falls in the distance band and whose time
    difference falls in the time band. Expected: the exact mean under random permutation of times among events,
    ``N_d · M_t / (n(n−1)/2)``, with N_d the pairs in the distance band and M_t the pairs in the time band
    (Knox 1964). p-value: ``(#simulations with count ≥ observed + 1) / (simulations + 1)``. The set of pairs within
    the largest distance is built once (``cKDTree.query_pairs``) and only times are permuted over it.
    Unlike the Near Repeat Calculator, which computes a band labelled "a to b" as [a − 1, b), band labels here are
    exactly the intervals used.

    References
    ----------
    Knox, G. (1964). The detection of space-time interactions. Applied Statistics 13, 25–29.
    Johnson, S. D. & Bowers, K. J. (2004). The burglary as clue to the future. European J. Criminology 1(2), 237–255.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from whatworks.place import knox
    >>> rng = np.random.default_rng(0)
    >>> ev = pd.DataFrame({"x": rng.uniform(0, 5000, 400), "y": rng.uniform(0, 5000, 400),
    ...                    "occurred": rng.integers(0, 365, 400)})
    >>> k = knox(ev, distance_bands=[0, 200, 400], time_bands=[0, 14, 28], permutations=99, quiet=True)
    >>> list(k.table["distance_band"].unique())
    ['[0, 200) m', '[200, 400) m']
    """
    where = "knox"
    refuse_renamed(where, renamed, _RENAMED)
    require_dataframe(where, "df", df)
    require_columns(where, df, [x, y, date], arg="df")
    if permutations is not None:
        check_number(where, "permutations", permutations, low=0, integer=True)
    if seed is not None:
        check_number(where, "seed", seed, low=0, integer=True)
    if closed is not None:
        check_choice(where, "closed", closed, CLOSED)
    check_choice(where, "on_stray", on_stray, ON_STRAY)
    settings: dict[str, Setting] = {}
    df, excluded = _drop_unlocated(where, df, x, y, on_stray=on_stray, study_area=study_area, quiet=quiet,
                                   settings=settings)
    if len(df) < 3:
        raise error(where, "The Knox test needs at least 3 events with coordinates.", got=len(df))
    xv = require_numeric(where, df, x)
    yv = require_numeric(where, df, y)
    tv, kind = to_days(where, df, date)
    precision = _time_precision(where, df, date, kind, time_precision)
    settings["time_precision"] = Setting(precision[0], precision[1], precision[2])
    monthly = precision[0] == "month"
    if monthly:
        announce("every time is a month (midnight on the 1st): the data look monthly (e.g. police.uk), so near "
                 "repeats " + MONTH_RESOLUTION + ".", quiet=quiet)
    pts = np.column_stack([xv, yv])

    def choose_distance():
        d, _ = cKDTree(pts).query(pts, k=2)
        nn = float(np.median(d[:, 1]))
        if not nn > 0:
            nn = float(np.mean(d[:, 1]))
        if not nn > 0:
            raise error(where, "Cannot choose distance bands: every event is at one location.",
                        hint="Give distance_bands= explicitly.")
        width = nice_floor(nn)
        return ([width * k for k in range(DEFAULT_N_BANDS + 1)],
                f"{DEFAULT_N_BANDS} bands as wide as the median nearest-neighbour distance ({nn:.3g}), rounded down")

    d_edges = _check_edges(where, "distance_bands", resolve("distance_bands", None if distance_bands is None else
                                                            list(distance_bands), choose_distance,
                                                            unit=distance_unit, quiet=quiet, settings=settings))
    if time_bands is None:
        settings["time_bands"] = Setting(list(DEFAULT_TIME_BANDS), "default",
                                         "five one-week bands (near-repeat risk is raised mostly for 1–2 weeks)", "days")
        t_edges = np.array(DEFAULT_TIME_BANDS)
    else:
        t_edges = _check_edges(where, "time_bands", time_bands)
        settings["time_bands"] = Setting(t_edges.tolist(), "user", "given by the caller", "days")
    # None = not given: an explicit value equal to the default (seed=0, permutations=999) is still recorded as the user's
    permutations = int(given_or_default(settings, "permutations", None if permutations is None else int(permutations),
                                        DEFAULT_PERMUTATIONS, reason="random permutations of the times"))
    seed = int(given_or_default(settings, "seed", None if seed is None else int(seed), DEFAULT_SEED,
                                reason="random seed for the permutations"))
    closed = given_or_default(settings, "closed", closed, DEFAULT_CLOSED, reason="which end of a band is included")

    n = len(xv)
    pairs = cKDTree(pts).query_pairs(float(d_edges[-1]), output_type="ndarray")   # distance ≤ largest edge
    i = pairs[:, 0].astype(np.int64)
    j = pairs[:, 1].astype(np.int64)
    dist = np.hypot(xv[i] - xv[j], yv[i] - yv[j])
    dband = _band_index(dist, d_edges, closed)
    keep = dband >= 0
    i, j, dband = i[keep], j[keep], dband[keep]
    order = np.lexsort((i, dband))   # contiguous runs per distance band (then by event, for memory locality)
    i, j, dband = i[order].astype(np.intp), j[order].astype(np.intp), dband[order]
    n_d, n_t = len(d_edges) - 1, len(t_edges) - 1

    tband = _band_index(np.abs(tv[i] - tv[j]), t_edges, closed)
    ok = tband >= 0
    observed = np.bincount(dband[ok] * n_t + tband[ok], minlength=n_d * n_t).reshape(n_d, n_t)
    n_dist = np.bincount(dband, minlength=n_d)                         # N_d: close pairs per distance band
    m_time = _time_pair_counts(tv, t_edges, closed)                   # M_t: all pairs per time band
    total_pairs = n * (n - 1) / 2
    expected = np.outer(n_dist, m_time) / total_pairs

    sims = None
    p = np.full((n_d, n_t), np.nan)
    if monthly:
        permutations = 0     # nothing to test: the result says so instead of computing meaningless p-values
    if permutations:
        sims = _permutation_counts(tv, i, j, dband, t_edges, closed, n_d, permutations, seed)
        p = ((sims >= observed[None]).sum(axis=0) + 1) / (permutations + 1)

    d_lab = band_labels(d_edges, closed, distance_unit)
    t_lab = band_labels(t_edges, closed, "days")
    dd, tt = np.meshgrid(np.arange(n_d), np.arange(n_t), indexing="ij")
    dd, tt = dd.ravel(), tt.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = observed.ravel() / expected.ravel()
    table = pd.DataFrame({
        "distance_band": [d_lab[k] for k in dd], "time_band": [t_lab[k] for k in tt],
        "distance_from": d_edges[dd], "distance_to": d_edges[dd + 1],
        "time_from": t_edges[tt], "time_to": t_edges[tt + 1],
        "observed": observed.ravel().astype(np.int64), "expected": expected.ravel(), "ratio": ratio,
        "p_value": p.ravel(),
    })
    return KnoxResult(table=table, settings=settings, n_events=n, permutations=int(permutations),
                      distance_edges=tuple(d_edges.tolist()), time_edges=tuple(t_edges.tolist()), closed=closed,
                      distance_unit=distance_unit, simulated=sims, testable=not monthly,
                      untestable_reason=MONTH_RESOLUTION if monthly else "", excluded=excluded)


def _drop_unlocated(where: str, df: pd.DataFrame, x: str, y: str, *, on_stray: str, study_area, quiet: bool,
                    settings: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave out events without coordinates (always), stray ones (``on_stray="exclude"``) and those outside the
    study area; announce the count and return ``(kept rows, excluded table)``. Other strays raise."""
    xv = require_numeric(where, df, x, allow_na=True)
    yv = require_numeric(where, df, y, allow_na=True)
    reason = find_strays(xv, yv)
    bad = (reason != "") & (reason != "missing coordinates")
    if bad.any() and on_stray == "error":
        first = int(np.flatnonzero(bad)[0])
        raise error(where, f"{int(bad.sum())} event(s) have stray coordinates ({reason[first]}).",
                    row=f"position {first} (index {df.index[first]!r}) at ({xv[first]}, {yv[first]})",
                    hint="Remove them first (whatworks.place.grid(...).excluded lists them), or on_stray='exclude'.")
    spec = parse_study_area(where, study_area)
    if spec.kind != BBOX:
        if spec.geometry is None and spec.area is None:
            raise error(where, "A study area of points needs cells; the Knox test has no grid.", got="points",
                        hint="Pass grid(crimes, study_area=points).study_area, or a polygon.")
        area = spec.area if spec.area is not None else None
        ok = reason == ""
        inside = np.zeros(len(xv), bool)
        inside[ok] = points_in_area(spec, area, xv[ok], yv[ok])
        reason[ok & ~inside] = "outside the study area"
    drop = reason != ""
    excluded = pd.DataFrame({"position": np.flatnonzero(drop), "index": df.index[drop], "x": xv[drop],
                             "y": yv[drop], "reason": reason[drop].astype(str)})
    settings["excluded_points"] = Setting(int(drop.sum()), "data", "events left out (see .excluded)", "events")
    if drop.any():
        counts = excluded["reason"].value_counts()
        announce(f"{int(drop.sum()):,} of {len(df):,} event(s) left out: "
                 + "; ".join(f"{n:,} {r}" for r, n in counts.items()) + " (listed in .excluded).", quiet=quiet)
        df = df.iloc[np.flatnonzero(~drop)]
    return df, excluded


def _time_precision(where: str, df: pd.DataFrame, date: str, kind: str, given) -> tuple[str, str, str]:
    """``(precision, source, reason)``: "month" when the dates are months, else "day" or "minute"/"number"."""
    if given is not None and str(given) not in TIME_PRECISIONS and str(given) in df.columns:
        column, given = str(given), None
    else:
        column = "time_precision" if given is None and "time_precision" in df.columns else None
    if given is not None:
        check_choice(where, "time_precision", given, TIME_PRECISIONS)
        return str(given), "user", "given by the caller"
    if column is not None:
        vals = df[column].astype("string").str.lower()
        if len(vals) and bool((vals == "month").all()):
            return "month", "data", f"every row's {column} is 'month'"
        return "day", "data", f"column {column}: not every row is month-resolution"
    if kind == "datetime":
        stamps = pd.to_datetime(df[date])
        if len(stamps) and bool(((stamps.dt.day == 1) & (stamps.dt.normalize() == stamps)).all()):
            return "month", "data", "every date is midnight on the 1st of a month"
        return "day", "data", "dates within months"
    return "day", "data", "times given as numbers of days"
