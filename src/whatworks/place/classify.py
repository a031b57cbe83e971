"""Hot spots over time: which cells are new, emerging, persistent, intermittent or former hot (or cold) spots."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, refuse_renamed, require_columns
from whatworks.errors import error
from whatworks.place._lattice import Lattice, cells_geojson, check_cells, draw_cells, to_days
from whatworks.place.gistar import binary_weights, gistar_z, gistar_z_from_lag, square_lattice_lag
from whatworks.place.grid import DEFAULT_SHAPE, cell_table, count_points, prepare_points, resolve_cell_size

__all__ = ["classify", "ClassifyResult", "categorise"]
_RENAMED = {"time": "date"}   # issue 17, "one vocabulary" (CHANGELOG.md): `time` is only a numeric panel axis

# sfhotspot::hotspot_classify_params() defaults
HOTSPOT_SHARE = 0.1
PERSISTENT_SHARE = 0.8
RECENT_SHARE = 0.2
ALPHA = 0.05
FDR = True
KINDS = ("persistent", "new", "emerging", "former", "intermittent")
CATEGORY_COLOURS = {
    "persistent hot spot": "#B2182B", "new hot spot": "#F4A582", "emerging hot spot": "#D6604D",
    "former hot spot": "#FDDBC7", "intermittent hot spot": "#E69F00",
    "persistent cold spot": "#2166AC", "new cold spot": "#92C5DE", "emerging cold spot": "#4393C3",
    "former cold spot": "#D1E5F0", "intermittent cold spot": "#56B4E9",
    "mixed hot and cold spot": PALETTE["purple"], "no pattern": "#F2F2F2",
}


@dataclass(frozen=True, repr=False, kw_only=True)
class ClassifyResult(Result):
    """Hot-spot category per cell.

    ``table``: ``cell_id, row, col, x, y, count`` (all periods), ``periods_hot``, ``periods_cold``, ``category``.
    ``by_period``: one row per cell × period with ``period``, ``count``, ``gistar``, ``p_adjusted``, ``hot``, ``cold``.
    ``periods``: one row per period with ``period``, ``start``, ``end``, ``events``, ``recent``.
    """

    lattice: Lattice = None
    by_period: pd.DataFrame = field(default_factory=pd.DataFrame)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    crs: str | None = None

    def _headline(self) -> str:
        c = self.table["category"].value_counts()
        top = ", ".join(f"{n} {k}" for k, n in c.items() if k != "no pattern")
        return f"{len(self.periods)} periods; {top or 'no hot or cold spots'}"

    def summary(self) -> str:
        c = self.table["category"].value_counts()
        parts = [f"{n} {k}{'s' if n != 1 else ''}" for k, n in c.items() if k != "no pattern"]
        return (f"Across {len(self.periods)} periods ({self.periods['start'].iloc[0]} to "
                f"{self.periods['end'].iloc[-1]}), the last {int(self.periods['recent'].sum())} counted as recent: "
                + ("; ".join(parts) if parts else "no cell was a significant hot or cold spot") + ".")

    def _draw(self, ax) -> None:
        draw_cells(ax, self.lattice, self.table["cell_id"].to_numpy(), None, colors=CATEGORY_COLOURS,
                   categories=self.table["category"].to_numpy())
        ax.set_title("Hot spots over time", loc="left")

    def to_geojson(self, *, as_string: bool = False):
        """Cells as GeoJSON polygons in the input CRS with their category."""
        gj = cells_geojson(self.lattice, self.table, self.crs)
        if as_string:
            import json

            return json.dumps(gj)
        return gj


def categorise(flags: np.ndarray, n_recent: int, *, hotspot: float = HOTSPOT_SHARE,
               persistent: float = PERSISTENT_SHARE) -> np.ndarray:
    """Category of each row of a cells × periods boolean array (True = significant in that period).

    Rules, first match wins (shares are of periods; "recent" = the last ``n_recent`` periods, "older" = the rest):
    persistent — significant in ≥ ``persistent`` of all periods; new — significant in the last period and in no earlier
    one; emerging — significant in < ``hotspot`` of older periods but ≥ ``hotspot`` of recent ones; former —
    significant in ≥ ``hotspot`` of older periods but < ``hotspot`` of recent ones; intermittent — significant in
    ≥ ``hotspot`` of all periods; otherwise "" (no pattern).
    """
    f = np.asarray(flags, bool)
    p = f.shape[1]
    share_all = f.mean(axis=1)
    older = f[:, : p - n_recent].mean(axis=1)
    recent = f[:, p - n_recent:].mean(axis=1)
    new = f[:, -1] & ~f[:, :-1].any(axis=1)
    conds = [share_all >= persistent, new, (older < hotspot) & (recent >= hotspot),
             (older >= hotspot) & (recent < hotspot), share_all >= hotspot]
    return np.select(conds, list(KINDS), default="")


def _auto_period(days: np.ndarray, monthly: bool) -> tuple[str, str]:
    span = float(days.max() - days.min())
    if monthly:
        if span <= 4 * 366:
            return "month", "the times are monthly (all on the 1st of a month)"
        return "quarter", "the times are monthly and span more than four years"
    # sfhotspot::hotspot_classify's automatic period
    if span <= 14:
        return "1 day", f"the data span {span:.0f} days (≤ 14)"
    if span <= 91:
        return "7 days", f"the data span {span:.0f} days (≤ 91)"
    if span <= 366 * 2:
        return "28 days", f"the data span {span:.0f} days (≤ 2 years)"
    if span <= 3653:
        return "91 days", f"the data span {span:.0f} days (≤ 10 years)"
    return "365 days", f"the data span {span:.0f} days"


def _period_edges(where: str, periods, days: np.ndarray, kind: str) -> tuple[np.ndarray, list[str]]:
    """Edges (in days) of consecutive periods covering the data, and a label per period."""
    lo, hi = float(days.min()), float(days.max())
    if isinstance(periods, (int, np.integer)) and not isinstance(periods, bool):
        if periods < 2:
            raise error(where, "The 'periods' parameter must be at least 2 periods.", got=periods)
        edges = np.linspace(lo, hi, int(periods) + 1)
        edges[-1] = np.nextafter(hi, np.inf)
    elif isinstance(periods, str):
        text = periods.strip().lower()
        if text in ("month", "quarter", "year"):
            if kind != "datetime":
                raise error(where, f"Calendar periods ('{periods}') need date or date-time times.", got=periods)
            freq = {"month": "MS", "quarter": "QS", "year": "YS"}[text]
            start = pd.Timestamp("1970-01-01") + pd.Timedelta(days=lo)
            end = pd.Timestamp("1970-01-01") + pd.Timedelta(days=hi)
            starts = pd.date_range(start.to_period(freq[0]).to_timestamp(), end, freq=freq)
            stamps = list(starts) + [starts[-1] + pd.tseries.frequencies.to_offset(freq)]
            edges = np.array([(s - pd.Timestamp("1970-01-01")).total_seconds() / 86400 for s in stamps])
        else:
            parts = text.split()
            try:
                length = float(parts[0])
                unit = parts[1].rstrip("s") if len(parts) > 1 else "day"
                length *= {"day": 1, "week": 7}[unit]
            except (ValueError, KeyError, IndexError):
                raise error(where, "The 'periods' parameter must be a number of periods, 'month', 'quarter', 'year', "
                            "'N days', 'N weeks' or a list of period start times.", got=periods) from None
            if not length > 0:
                raise error(where, "Period length must be positive.", got=periods)
            n = int(math.floor((hi - lo) / length)) + 1
            edges = lo + length * np.arange(n + 1)
    else:
        try:
            vals = pd.Series(list(periods))
        except TypeError:
            raise error(where, "The 'periods' parameter must be an integer, a period name or a list of start times.",
                        got=periods) from None
        starts, _ = to_days(where, pd.DataFrame({"periods": vals}), "periods")
        if len(starts) < 2 or np.any(np.diff(starts) <= 0):
            raise error(where, "Period start times must be increasing, at least two of them.", got=list(periods))
        if starts[0] > lo:
            raise error(where, "The first period starts after the first event.", got=vals.iloc[0],
                        hint="Start the first period on or before the earliest event.")
        edges = np.append(starts, np.nextafter(max(hi, starts[-1]), np.inf))
    if kind == "datetime":
        lab = [str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=e)).date()) for e in edges]
    else:
        lab = [f"{e:g}" for e in edges]
    return edges, lab


def classify(df: pd.DataFrame, x: str = "x", y: str = "y", date: str = "occurred", *, periods=None,
             cell_size: float | None = None, shape: str | None = None, distance: float | None = None,
             hotspot: float | None = None, persistent: float | None = None, recent: float | None = None,
             alpha: float | None = None, fdr: bool | None = None, extent=None, crs: str | None = None,
             on_stray: str = "exclude", quiet: bool = False, **renamed) -> ClassifyResult:
    """Classify grid cells by how their Gi* hot/cold-spot status changes over consecutive periods.

    Parameters
    ----------
    df : DataFrame
        One row per event with coordinates and a date.
    x, y, date : str, default "x", "y", "occurred"
        Columns; ``date`` holds dates/date-times (or numbers of days). (``date`` was called ``time`` before issue 17;
        passing ``time=`` is an error naming ``date``.)
    periods : int, str or sequence, optional
        How to cut time: an integer number of equal periods; "month", "quarter", "year" (calendar); "N days" or
        "N weeks" from the first event; or a list of period start times. ``None``: months for monthly data (such as
        police.uk), otherwise sfhotspot's rule by span (≤ 14 days: days; ≤ 91: weeks; ≤ 2 years: 28 days;
        ≤ 10 years: 91 days; else years). Announced.
    cell_size, shape, extent, crs, on_stray
        As in :func:`whatworks.place.grid`; one grid over all periods (``shape`` ``None``, not given, means "square";
        recorded in ``.settings``).
    distance : float, optional
        Gi* neighbour distance; ``None`` = cell size × √2.
    hotspot, persistent, recent : float, optional
        sfhotspot's thresholds: the share of periods that makes a cell an (intermittent) hot spot; the share that
        makes it persistent; and the share of periods, at the end, counted as recent (at least one). ``None`` (not
        given) means sfhotspot's defaults 0.1, 0.8 and 0.2.
    alpha : float, optional
        Significance level for each period's Gi* (Benjamini–Hochberg-adjusted across cells when ``fdr``). ``None``
        (not given) means 0.05.
    fdr : bool, optional
        Adjust each period's p-values across cells by Benjamini–Hochberg. ``None`` (not given) means True.
        ``hotspot``, ``persistent``, ``recent``, ``alpha`` and ``fdr`` are recorded in ``.settings`` with source "user"
        when you pass them — even a default value — and "default" when you leave them out.
    quiet : bool, default False

    Returns
    -------
    ClassifyResult
        ``.table`` with ``category`` per cell: "persistent / new / emerging / former / intermittent hot spot", the
        same for cold spots, "mixed hot and cold spot", or "no pattern".

    Notes
    -----
    For each period, every cell's Gi* z-score (:func:`whatworks.place.gistar`) is computed on the period's counts and
    the cell is a significant hot (cold) spot when its two-sided p-value — adjusted across cells by
    Benjamini–Hochberg — is below ``alpha`` and z > 0 (z < 0). Categories, first match wins, with shares taken over
    periods and "recent" the last max(1, ⌊recent × periods⌋) periods:

    - persistent: a hot spot in at least ``persistent`` (80%) of all periods;
    - new: a hot spot in the last period and never before;
    - emerging: a hot spot in fewer than ``hotspot`` (10%) of older periods but at least 10% of recent ones;
    - former: a hot spot in at least 10% of older periods but fewer than 10% of recent ones;
    - intermittent: a hot spot in at least 10% of all periods (but none of the above).

    Cold spots use the same rules; a cell that is both gets "mixed hot and cold spot". These follow sfhotspot's
    ``hotspot_classify`` (which uses ``recent`` as the emerging threshold and has no "new" class; sfhotspot also
    sums ``recent periods + 1`` columns for its recent share) and ESRI's emerging hot spot analysis for "new".
    Periods without events are left out and announced.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from whatworks.place import classify
    >>> rng = np.random.default_rng(3)
    >>> bg = pd.DataFrame({"x": rng.uniform(0, 2000, 4000), "y": rng.uniform(0, 2000, 4000),
    ...                    "occurred": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, 4000), "D")})
    >>> hs = pd.DataFrame({"x": rng.normal(1000, 40, 1200), "y": rng.normal(1000, 40, 1200),
    ...                    "occurred": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, 1200), "D")})
    >>> r = classify(pd.concat([bg, hs]), cell_size=100, periods=12, quiet=True)
    >>> "persistent hot spot" in set(r.table["category"])
    True
    """
    where = "classify"
    refuse_renamed(where, renamed, _RENAMED)
    if shape is not None:
        check_choice(where, "shape", shape, ("square", "hex"))
    check_choice(where, "on_stray", on_stray, ("exclude", "error"))
    for name, v in (("hotspot", hotspot), ("persistent", persistent), ("recent", recent), ("alpha", alpha)):
        if v is not None:
            check_number(where, name, v, low=0, high=1, low_inclusive=False, high_inclusive=name != "alpha")
    require_columns(where, df, [date], arg="df")
    settings: dict[str, Setting] = {}
    shape = given_or_default(settings, "shape", shape, DEFAULT_SHAPE, reason="cell shape")
    xv, yv, keep, excluded, bbox = prepare_points(where, df, x, y, extent=extent, on_stray=on_stray, quiet=quiet,
                                                  settings=settings)
    days, kind = to_days(where, df, date)
    days = days[keep]
    px, py = xv[keep], yv[keep]
    monthly = False
    if kind == "datetime":
        stamps = pd.to_datetime(df[date])[keep]
        monthly = bool(((stamps.dt.day == 1) & (stamps.dt.normalize() == stamps)).all())
    per = resolve("periods", periods, lambda: _auto_period(days, monthly), quiet=quiet, settings=settings)
    edges, labels = _period_edges(where, per, days, kind)
    size = resolve_cell_size(where, cell_size, bbox, quiet=quiet, settings=settings)
    lattice = Lattice.covering(shape, size, *bbox)
    check_cells(where, lattice, quiet, announce)
    dist = float(resolve("distance", distance, lambda: (size * math.sqrt(2), f"cell size ({size:g}) × √2"),
                         quiet=quiet, settings=settings))
    # None = not given: an explicit value equal to sfhotspot's default is still recorded as the user's
    hotspot = given_or_default(settings, "hotspot", hotspot, HOTSPOT_SHARE, default_reason="sfhotspot default")
    persistent = given_or_default(settings, "persistent", persistent, PERSISTENT_SHARE,
                                  default_reason="sfhotspot default")
    recent = given_or_default(settings, "recent", recent, RECENT_SHARE, default_reason="sfhotspot default")
    alpha = given_or_default(settings, "alpha", alpha, ALPHA, default_reason="sfhotspot default")
    fdr = bool(given_or_default(settings, "fdr", None if fdr is None else bool(fdr), FDR,
                                reason="Benjamini–Hochberg across cells in each period"))

    pidx = np.searchsorted(edges, days, side="right") - 1
    n_periods = len(edges) - 1
    pidx = np.clip(pidx, 0, n_periods - 1)
    events = np.bincount(pidx, minlength=n_periods)
    used = np.flatnonzero(events > 0)
    if len(used) < n_periods:
        empty = [labels[k] for k in range(n_periods) if events[k] == 0]
        announce(f"{len(empty)} period(s) without events left out: {', '.join(empty[:5])}"
                 f"{' …' if len(empty) > 5 else ''}.", quiet=quiet)
    if len(used) < 2:
        raise error(where, "Hot-spot change needs at least two periods with events.", got=f"{len(used)} period(s)",
                    hint="Use shorter periods (periods=) or more data.")
    n_recent = max(1, int(math.floor(recent * len(used))))
    if len(used) - n_recent < 1:
        raise error(where, "No period is left as 'older' once the recent periods are set aside.",
                    got={"periods": len(used), "recent": recent}, hint="Use more periods or a smaller recent share.")
    settings["recent_periods"] = Setting(n_recent, "data", f"max(1, floor({recent} × {len(used)} periods))")

    full_square = shape == "square"
    w = None if full_square else binary_weights(*lattice.centres()[2:], dist)
    cells = lattice.n_cells
    hot = np.zeros((cells, len(used)), bool)
    cold = np.zeros((cells, len(used)), bool)
    long = []
    total = np.zeros(cells)
    for k, p in enumerate(used):
        m = pidx == p
        counts = count_points(lattice, px[m], py[m])
        total += counts
        if np.ptp(counts) == 0:
            z = np.full(cells, np.nan)
        elif full_square:
            lag, wi = square_lattice_lag(lattice, counts, dist)
            z = gistar_z_from_lag(counts, lag, wi)
        else:
            z, _ = gistar_z(counts, w)
        pv = 2 * stats.norm.sf(np.abs(z))
        fin = np.isfinite(pv)
        padj = np.full(cells, np.nan)
        if fdr:
            padj[fin] = stats.false_discovery_control(pv[fin], method="bh")
        else:
            padj = pv
        sig = fin & (padj < alpha)
        hot[:, k] = sig & (z > 0)
        cold[:, k] = sig & (z < 0)
        long.append(pd.DataFrame({"cell_id": np.arange(cells), "period": labels[p], "count": counts.astype(np.int64),
                                  "gistar": z, "p_adjusted": padj, "hot": hot[:, k], "cold": cold[:, k]}))
    cat_h = categorise(hot, n_recent, hotspot=hotspot, persistent=persistent)
    cat_c = categorise(cold, n_recent, hotspot=hotspot, persistent=persistent)
    category = np.where((cat_h != "") & (cat_c != ""), "mixed hot and cold spot",
                        np.where(cat_h != "", np.char.add(cat_h.astype(str), " hot spot"),
                                 np.where(cat_c != "", np.char.add(cat_c.astype(str), " cold spot"), "no pattern")))
    table = cell_table(lattice)
    table["count"] = total.astype(np.int64)
    table["periods_hot"] = hot.sum(axis=1)
    table["periods_cold"] = cold.sum(axis=1)
    table["category"] = category
    per_tab = pd.DataFrame({"period": [labels[p] for p in used], "start": [labels[p] for p in used],
                            "end": [labels[p + 1] for p in used], "events": events[used],
                            "recent": np.arange(len(used)) >= len(used) - n_recent})
    return ClassifyResult(table=table, settings=settings, lattice=lattice, by_period=pd.concat(long, ignore_index=True),
                          periods=per_tab, excluded=excluded, crs=crs)
