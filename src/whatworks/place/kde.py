"""Kernel density of points on a regular square grid, by linear binning and FFT convolution."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_choice, check_number, require_columns, require_numeric
from whatworks.errors import error
from whatworks.place._lattice import Lattice, cells_geojson, check_cells, choose_cell_size, draw_cells, nice_floor
from whatworks.place._maps import MapPlot
from whatworks.place._study_area import BBOX, StudyArea, fmt_length, length_unit, parse_study_area
from whatworks.place.grid import apply_study_area, area_extent, cell_table, prepare_points

__all__ = ["kde", "KDEResult", "bandwidth_nrd", "kernel_value"]

KERNELS = ("quartic", "gaussian")
DEFAULT_KERNEL = "quartic"
ON_SMALL_BANDWIDTH = ("error", "refine", "keep")
# Linear binning adds δ²/6 to a kernel's variance per axis (δ = node spacing). With at least this many nodes per
# bandwidth that is ≤ 0.3% of the kernel's variance (quartic: h²/6 per axis; Gaussian: (h/4)²), which keeps the
# binned density within 1% of direct summation (tests/place/test_place_kde.py). Coarser output cells are computed
# on an internal finer grid and sampled at their centres.
STEPS_PER_BANDWIDTH = {"quartic": 24, "gaussian": 40}
# With an automatic cell size the cells are made at most bandwidth / 2, so the map resolves the kernel.
AUTO_CELLS_PER_BANDWIDTH = 2
# The Gaussian kernel's standard deviation is bandwidth / 4 (MASS::kde2d), truncated at 6 standard deviations.
GAUSS_SD_PER_BANDWIDTH = 0.25
GAUSS_TRUNCATE_SD = 6.0
MAX_FINE_CELLS = 40_000_000


@dataclass(frozen=True, repr=False, kw_only=True)
class KDEResult(MapPlot, Result):
    """Kernel density per cell.

    ``table`` columns: ``cell_id``, ``row``, ``col``, ``x``, ``y`` (cell centre) and ``density`` — the kernel
    density estimate at the centre, in events (or summed weights) per square unit of the coordinates (per m² for
    metres; messages and maps show events per km², i.e. × 1,000,000); over the whole plane it integrates to the
    number of events. ``expected`` = density × cell area. Only study-area cells are rows (values outside are masked).
    """

    lattice: Lattice = None
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    crs: str | None = None
    bandwidth: float = float("nan")
    kernel: str = "quartic"
    study_area: StudyArea | None = None

    @property
    def unit(self) -> str:
        return length_unit(self.crs)

    def _per_area(self) -> tuple[float, str]:
        """Factor and label turning ``density`` (per square unit) into the unit messages use."""
        if self.unit == "m":
            return 1e6, "events per km²"
        return 1.0, f"events per square {self.unit}"

    def _headline(self) -> str:
        return (f"{self.kernel} KDE, bandwidth {fmt_length(self.bandwidth, self.unit)}, {len(self.table):,} cells of "
                f"{fmt_length(self.lattice.cell_size, self.unit)}")

    def summary(self) -> str:
        t = self.table
        top = t.loc[t["density"].idxmax()]
        factor, per = self._per_area()
        text = (f"Kernel density ({self.kernel} kernel, bandwidth {fmt_length(self.bandwidth, self.unit)}) over "
                f"{len(t):,} cells of {fmt_length(self.lattice.cell_size, self.unit)}; the densest cell is centred at "
                f"({top['x']:.0f}, {top['y']:.0f}) with {top['density'] * factor:,.4g} {per}.")
        if self.study_area is not None and self.study_area.kind != BBOX:
            text += f" Values outside the {self.study_area.description} are masked."
        return text

    def _draw(self, ax) -> None:
        factor, per = self._per_area()
        draw_cells(ax, self.lattice, self.table["cell_id"].to_numpy(), self.table["density"].to_numpy() * factor,
                   cmap="magma_r", label=f"density ({per})")
        ax.set_title(f"Kernel density (bandwidth {fmt_length(self.bandwidth, self.unit)})", loc="left",
                     color=PALETTE["black"])

    def to_array(self) -> np.ndarray:
        """Density as a 2-D array (rows bottom to top); NaN outside the study area."""
        out = np.full(self.lattice.n_cells, np.nan)
        out[self.table["cell_id"].to_numpy()] = self.table["density"].to_numpy()
        return out.reshape(self.lattice.nrows, self.lattice.ncols)

    def to_geojson(self, *, as_string: bool = False):
        """Cells as GeoJSON polygons in the input CRS with all table columns as properties."""
        gj = cells_geojson(self.lattice, self.table, self.crs)
        if as_string:
            import json

            return json.dumps(gj)
        return gj


def bandwidth_nrd(v: np.ndarray) -> float:
    """MASS::bandwidth.nrd: 4 × 1.06 × min(sd, IQR/1.34) × n^(−1/5) (sd with divisor n − 1, quantiles type 7)."""
    q1, q3 = np.percentile(v, [25, 75])
    sd = float(np.std(v, ddof=1))
    scale = min(sd, (q3 - q1) / 1.34)
    if not scale > 0:
        scale = sd
    return 4 * 1.06 * scale * len(v) ** (-0.2)


def kernel_value(d: np.ndarray, bandwidth: float, kernel: str) -> np.ndarray:
    """Kernel at distance ``d``, normalised to integrate to 1 over the plane.

    quartic: 3/(π h²) · (1 − d²/h²)² for d < h, else 0 (the kernel of crime-mapping software and SpatialKDE);
    gaussian: standard deviation σ = h/4 (MASS::kde2d's convention), exp(−d²/(2σ²))/(2πσ²).
    """
    h = bandwidth
    d = np.asarray(d, float)
    if kernel == "quartic":
        u2 = (d / h) ** 2
        return np.where(u2 < 1, 3 / (math.pi * h * h) * (1 - u2) ** 2, 0.0)
    sd = h * GAUSS_SD_PER_BANDWIDTH
    return np.exp(-0.5 * (d / sd) ** 2) / (2 * math.pi * sd * sd)


def _kernel_reach(bandwidth: float, kernel: str) -> float:
    return bandwidth if kernel == "quartic" else GAUSS_TRUNCATE_SD * GAUSS_SD_PER_BANDWIDTH * bandwidth


def _linear_bin(x: np.ndarray, y: np.ndarray, w: np.ndarray, x0: float, y0: float, step: float,
                nrows: int, ncols: int) -> np.ndarray:
    """Linear binning (Wand 1994): each point's weight is shared among the four surrounding nodes."""
    u = (x - x0) / step
    v = (y - y0) / step
    i0 = np.floor(u).astype(np.int64)
    j0 = np.floor(v).astype(np.int64)
    fu = u - i0
    fv = v - j0
    out = np.zeros(nrows * ncols)
    for di, wu in ((0, 1 - fu), (1, fu)):
        for dj, wv in ((0, 1 - fv), (1, fv)):
            ii, jj = i0 + di, j0 + dj
            ok = (ii >= 0) & (ii < ncols) & (jj >= 0) & (jj < nrows)
            out += np.bincount(jj[ok] * ncols + ii[ok], weights=(w * wu * wv)[ok], minlength=nrows * ncols)
    return out.reshape(nrows, ncols)


def binned_density(x: np.ndarray, y: np.ndarray, w: np.ndarray, lattice: Lattice, bandwidth: float,
                   kernel: str) -> tuple[np.ndarray, int]:
    """Density at the cell centres of ``lattice`` (cell-id order) and the oversampling factor used.

    The points are linearly binned onto nodes ``cell_size / m`` apart (m odd, so every cell centre is a node, and
    large enough that there are ≥ STEPS_PER_BANDWIDTH[kernel] nodes per bandwidth), convolved with the kernel sampled on the
    same nodes by FFT, and read off at the centres.
    """
    s = lattice.cell_size
    m = max(1, math.ceil(STEPS_PER_BANDWIDTH[kernel] * s / bandwidth))
    if m % 2 == 0:
        m += 1
    step = s / m
    half = (m - 1) // 2
    # fine nodes: the first coarse centre is node (half, half)
    fx0 = lattice.x0 + s / 2 - half * step
    fy0 = lattice.y0 + s / 2 - half * step
    fcols, frows = lattice.ncols * m, lattice.nrows * m
    if fcols * frows > MAX_FINE_CELLS:
        raise MemoryError(f"{frows} × {fcols}")
    binned = _linear_bin(x, y, w, fx0, fy0, step, frows, fcols)
    reach = int(math.ceil(_kernel_reach(bandwidth, kernel) / step))
    off = np.arange(-reach, reach + 1) * step
    kern = kernel_value(np.hypot(off[:, None], off[None, :]), bandwidth, kernel)
    dens = fftconvolve(binned, kern, mode="same")
    coarse = dens[half::m, half::m][: lattice.nrows, : lattice.ncols]
    # FFT round-off leaves values of order 1e-16 × max (possibly negative) where the density is zero
    coarse = np.where(np.abs(coarse) < 1e-12 * max(np.abs(coarse).max(), 1e-300), 0.0, coarse)
    return coarse.ravel(), m


def kde(df: pd.DataFrame, x: str = "x", y: str = "y", *, cell_size: float | None = None,
        bandwidth: float | None = None, weights: str | None = None, kernel: str | None = None, extent=None,
        crs: str | None = None, on_small_bandwidth: str = "error", on_stray: str = "exclude",
        study_area=None, quiet: bool = False) -> KDEResult:
    """Kernel density estimate on a regular square grid.

    Parameters
    ----------
    df : DataFrame
        One row per event, with projected coordinates (metres).
    x, y : str, default "x", "y"
        Coordinate columns. Stray points (missing, (0, 0), far outside the rest) are reported and excluded, as in
        :func:`whatworks.place.grid`.
    cell_size : float, optional
        Cell width. ``None``: sfhotspot's rule (1/50 of the shorter side of the bounding box, rounded), made no larger
        than bandwidth / 2 so the map resolves the kernel; announced.
    bandwidth : float, optional
        Kernel radius: the quartic kernel's support radius; for the Gaussian kernel 4 standard deviations
        (MASS::kde2d's convention). ``None``: the normal-reference rule MASS::bandwidth.nrd,
        4 × 1.06 × min(sd, IQR/1.34) × n^(−1/5), averaged over x and y; announced. (sfhotspot intends the same average
        but its ``mean(a, b)`` call returns the x value only.)
    weights : str, optional
        Column of non-negative weights (e.g. harm); the density then integrates to their sum.
    kernel : {"quartic", "gaussian"}, optional
        ``None`` (not given) means "quartic". Recorded in ``.settings`` with source "user" when you pass it — even
        ``kernel="quartic"`` — and "default" when you leave it out.
    extent : (xmin, xmax, ymin, ymax), optional
        Area of the grid. ``None``: the data's bounding box widened by the kernel's reach on every side.
    crs : str, optional
        CRS of the coordinates, carried into exports.
    on_small_bandwidth : {"error", "refine", "keep"}, default "error"
        When a given bandwidth is smaller than a given cell size the map cannot show the kernel's shape (most cells
        would sit between points and show zero). "error" refuses with a hint; "refine" shrinks the cells to a round
        number ≤ bandwidth / 2 and announces it; "keep" computes it anyway (densities remain exact at the centres)
        and announces the warning.
    on_stray : {"exclude", "error"}, default "exclude"
    study_area : DataFrame, shapely (Multi)Polygon, boundaries table or StudyArea, optional
        The ground where crime can be recorded (see :func:`whatworks.place.grid`). The grid covers the study area's
        bounding box (not widened by the kernel), every point inside it contributes, and cells outside are masked
        (absent from ``.table``, NaN in ``to_array()``). ``None``: the data's bounding box widened by the kernel's
        reach (announced).
    quiet : bool, default False

    Returns
    -------
    KDEResult
        ``.table`` with ``density`` (events per square unit at the cell centre: per m² for metres; the summary and
        map show events per km²) and ``expected`` (density × cell area).

    Notes
    -----
    Density at centre c: f(c) = Σ_i w_i K_h(‖c − p_i‖). Computed by linear binning onto a node spacing of at most
    bandwidth/24 (quartic) or bandwidth/40 (Gaussian) (finer than the output cells when needed) and FFT convolution (``scipy.signal.fftconvolve``),
    which keeps it within 1% of direct summation wherever the density is at least 1% of its maximum.

    References
    ----------
    Wand, M. P. (1994). Fast computation of multivariate kernel estimators. JCGS 3(4), 433–445.
    Venables, W. N. & Ripley, B. D. (2002). Modern Applied Statistics with S (MASS::bandwidth.nrd, kde2d).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from whatworks.place import kde
    >>> rng = np.random.default_rng(0)
    >>> pts = pd.DataFrame(rng.normal(0, 200, (1000, 2)), columns=["x", "y"])
    >>> k = kde(pts, bandwidth=300, cell_size=50, quiet=True)
    >>> round(float(k.table["expected"].sum()))   # integrates to the number of points
    1000
    """
    where = "kde"
    if kernel is not None:
        check_choice(where, "kernel", kernel, KERNELS)
    check_choice(where, "on_small_bandwidth", on_small_bandwidth, ON_SMALL_BANDWIDTH)
    settings: dict[str, Setting] = {}
    kernel = given_or_default(settings, "kernel", kernel, DEFAULT_KERNEL, reason="kernel shape")
    if cell_size is not None:
        check_number(where, "cell_size", cell_size, low=0, low_inclusive=False)
    if bandwidth is not None:
        check_number(where, "bandwidth", bandwidth, low=0, low_inclusive=False)
    if weights is not None:
        require_columns(where, df, [weights], arg="df")
    check_choice(where, "on_stray", on_stray, ("exclude", "error"))
    spec = parse_study_area(where, study_area)
    unit = length_unit(crs)
    ext, ext_reason = area_extent(spec, extent)
    xv, yv, keep, excluded, bbox = prepare_points(where, df, x, y, extent=ext, on_stray=on_stray, quiet=quiet,
                                                  settings=settings, extent_reason=ext_reason)
    px, py = xv[keep], yv[keep]
    if weights is not None:
        wv = require_numeric(where, df, weights)[keep]
        if (wv < 0).any():
            first = int(np.flatnonzero(wv < 0)[0])
            raise error(where, f"Column '{weights}' must hold non-negative weights.", got=wv[first],
                        hint="Kernel density sums weights; negative weights have no meaning here.")
    else:
        wv = np.ones(len(px))

    def choose_bw():
        if len(px) < 2:
            raise error(where, "Cannot choose a bandwidth from fewer than 2 points.", hint="Give bandwidth= explicitly.")
        hx, hy = bandwidth_nrd(px), bandwidth_nrd(py)
        h = (hx + hy) / 2
        if not h > 0:
            raise error(where, "Cannot choose a bandwidth: the points do not spread out.", hint="Give bandwidth=.")
        return float(f"{h:.4g}"), (f"normal-reference rule MASS::bandwidth.nrd, mean of x ({hx:.4g}) and y "
                                   f"({hy:.4g})")

    h = float(resolve("bandwidth", bandwidth, choose_bw, quiet=quiet, settings=settings, unit=unit))
    reach = _kernel_reach(h, kernel)
    if extent is None and spec.kind == BBOX:
        bbox = (bbox[0] - reach, bbox[1] + reach, bbox[2] - reach, bbox[3] + reach)

    def choose_cell():
        size, reason = choose_cell_size(*bbox)
        cap = nice_floor(h / AUTO_CELLS_PER_BANDWIDTH)
        if size > cap:
            return cap, (f"the sfhotspot rule gave {size:g}, reduced to a round number ≤ bandwidth / "
                         f"{AUTO_CELLS_PER_BANDWIDTH} so the map resolves the kernel")
        return size, (reason.replace("data's bounding box", "study area's bounding box") if ext_reason else reason)

    size = float(resolve("cell_size", cell_size, choose_cell, quiet=quiet, settings=settings, unit=unit))
    if h < size:
        msg = (f"The bandwidth ({h:g}) is smaller than the cell size ({size:g}), both in "
               f"{'metres' if unit == 'm' else unit}: each point's kernel fits inside one "
               "cell, so most cells would show zero density between points.")
        if on_small_bandwidth == "error":
            raise error(where, msg, expected="bandwidth ≥ cell_size", got={"bandwidth": h, "cell_size": size},
                        hint=f"Use cell_size ≤ {nice_floor(h / AUTO_CELLS_PER_BANDWIDTH):g}, a larger bandwidth, or "
                             "on_small_bandwidth='refine' to shrink the cells automatically.")
        if on_small_bandwidth == "refine":
            new = nice_floor(h / AUTO_CELLS_PER_BANDWIDTH)
            announce(f"{msg} Cell size refined to {new:g}.", quiet=quiet)
            settings["cell_size"] = Setting(new, "data", f"refined from {size:g} because the bandwidth ({h:g}) is "
                                            "smaller (on_small_bandwidth='refine')", None)
            size = new
        else:
            announce(f"{msg} Kept as asked (on_small_bandwidth='keep'); densities are exact at cell centres.",
                     quiet=quiet)
            settings["small_bandwidth"] = Setting("kept", "user", msg)
    lattice = Lattice.covering("square", size, *bbox)
    check_cells(where, lattice, quiet, announce)
    area, keep, excluded = apply_study_area(where, df, spec, lattice, xv, yv, keep, excluded, on_stray=on_stray,
                                            quiet=quiet, settings=settings, unit=unit)
    if spec.kind != BBOX:
        px, py = xv[keep], yv[keep]
        wv = require_numeric(where, df, weights)[keep] if weights is not None else np.ones(len(px))
    try:
        dens, m = binned_density(px, py, wv, lattice, h, kernel)
    except MemoryError:
        raise error(where, f"The bandwidth ({h:g}) is so small relative to the grid that the internal binning grid "
                    f"would exceed {MAX_FINE_CELLS:,} nodes.", hint="Use a larger bandwidth or a smaller extent.") from None
    settings["binning_step"] = Setting(size / m, "data", f"linear binning on nodes cell_size/{m} apart "
                                       f"(≥ {STEPS_PER_BANDWIDTH[kernel]} per bandwidth)", None)
    table = cell_table(lattice)
    table["density"] = dens
    table["expected"] = dens * lattice.cell_area
    if spec.kind != BBOX:
        table = table.iloc[area.cell_ids].reset_index(drop=True)
    return KDEResult(table=table, settings=settings, lattice=lattice, excluded=excluded, crs=crs, bandwidth=h,
                     kernel=kernel, study_area=area)
