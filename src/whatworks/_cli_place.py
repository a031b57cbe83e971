"""``whatworks hotspots``, ``whatworks nearrepeat`` and ``whatworks concentration``: the place analyses over the store
(docs/place.md, "From the command line").

Each command selects crimes through the store's named reads (``Store.crimes``, ``Store.map_points``,
``Store.area_table``), calls the :mod:`whatworks.place` verb with options that mirror the Python call — so the numbers
and the announced defaults are the Python call's — prints ``.summary()``, and writes what was asked through
:mod:`whatworks.store.exports` (``--csv`` the result table with a provenance file beside it; ``--out`` a GeoPackage or
GeoJSON map layer in British National Grid, EPSG:27700, for QGIS). Outputs never overwrite the store or an existing
file whatworks did not write (``--overwrite`` replaces the latter).

What the command line decides — which source system when several hold the same crimes, every month and crime type
when none is given, the police.uk map points as the study area — is announced on stderr (``whatworks: ...``) like the
verbs' own data-driven defaults; the verbs' fixed defaults (seed, permutations, significance level ...) are listed in
one line after the run. ``--quiet`` silences all of it. Errors are one line on stderr and exit 2.

Mounted by ``whatworks.cli`` with :func:`register`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import typer

from whatworks._cli_common import echo as _echo, fail as _fail, store_path as _store_path
from whatworks.errors import WhatworksError

CRS = "EPSG:27700"          # the store's x, y: British National Grid metres
POLICE_UK = "police.uk"
STUDY_AREAS = ("map-points", "none")
METHODS = ("grid", "kde", "gistar")
DEFAULT_METHOD = "gistar"
UNITS = ("cell", "lsoa")
DEFAULT_UNIT = "cell"
_MAX_LISTED = 10            # hot spots listed under the summary

_STORE_HELP = "Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."
_SOURCE_HELP = ("Source system whose crimes to use (default: the only one; with several, police.uk — the published "
                "figure — for maps and counts; announced).")
_MONTHS_HELP = ("A month (2024-06) or first..last months (2024-04..2025-03). Default: every month in the store "
                "(announced).")
_TYPE_HELP = "Crime type(s) to keep (repeat or comma-separate; any case). Default: every crime type (announced)."
_FORCE_HELP = "Force(s) to keep ('Falls within'; repeat or comma-separate). Default: every force."
_CSV_HELP = "Write the result table to this .csv file (a provenance file is written beside it)."
_OVERWRITE_HELP = "Replace an existing output file that whatworks did not write (never the store)."
_QUIET_HELP = "Silence the announced defaults and the progress display."
_STUDY_HELP = ("map-points: cells holding at least one police.uk map point the store has seen for the force(s) — the "
               "ground where crime can be recorded (the default when the store has map points; announced). "
               "none: every cell of the data's bounding box.")
_CELL_HELP = ("Cell size in metres. Default: chosen from the data by place.grid (1/50 of the shorter side of the "
              "study area's bounding box, rounded) and announced.")

# The verbs' fixed defaults (recorded in .settings with source "default", not announced by the verbs) and the
# option that changes each: listed in one line after a run, so the terminal shows every default that was used.
_FIXED_OPTIONS = {"shape": "--shape", "kernel": "--kernel", "permutations": "--permutations", "fdr": "--fdr/--no-fdr",
                  "alpha": "--alpha", "seed": "--seed", "time_bands": "--time-bands", "closed": "--closed"}


# ---------------------------------------------------------------------------------------------- small helpers
def _say(message: str, quiet: bool) -> None:
    """A default the command line chose, announced like the verbs' own (``whatworks: ...`` on stderr)."""
    from whatworks._announce import announce

    announce(message, quiet=quiet)


def _split(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def _numbers(where: str, option: str, text: Optional[str]) -> Optional[list[float]]:
    """'0,100,200' -> [0.0, 100.0, 200.0]; None stays None (the verb's default)."""
    if text is None:
        return None
    try:
        vals = [float(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise WhatworksError(f"{where}: {option} must be comma-separated numbers, e.g. 0,100,200,300,400; got "
                             f"{text!r}.") from None
    if len(vals) < 2:
        raise WhatworksError(f"{where}: {option} needs at least two band edges, e.g. 0,100,200; got {text!r}.")
    return vals


def _choice(where: str, option: str, value: Optional[str], choices) -> Optional[str]:
    if value is not None and value not in choices:
        raise WhatworksError(f"{where}: {option} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def _only_with(where: str, method: str, given: dict) -> None:
    """Refuse an option that the chosen method does not use (it would be ignored in silence)."""
    for option, (value, methods) in given.items():
        if value is not None and method not in methods:
            raise WhatworksError(f"{where}: {option} applies to --method {' or '.join(methods)}, not {method}.")


def _months(where: str, text: Optional[str]):
    """'2024-06' or '2024-04..2025-03' as the store's ``months=`` (a month or a (first, last) pair)."""
    import re

    if text is None:
        return None
    parts = [p.strip() for p in text.split("..")]
    if len(parts) > 2 or not all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p) for p in parts):
        raise WhatworksError(f"{where}: --months must be a month YYYY-MM or FIRST..LAST, e.g. 2024-06 or "
                             f"2024-04..2025-03; got {text!r}.")
    if len(parts) == 2 and parts[1] < parts[0]:
        raise WhatworksError(f"{where}: --months {text} ends before it starts; give the first month first.")
    return tuple(parts) if len(parts) == 2 else parts[0]


def _announce_fixed(results, quiet: bool, *, skip: tuple = ()) -> None:
    """One line naming the verbs' fixed defaults that were used, with the option that changes each."""
    seen: dict[str, str] = {}
    for r in results:
        for name, s in r.settings.items():
            if (name in _FIXED_OPTIONS and name not in skip and getattr(s, "source", None) == "default"
                    and name not in seen):
                unit = f" {s.unit}" if s.unit else ""
                seen[name] = f"{name.replace('_', ' ')} {s.value}{unit} ({_FIXED_OPTIONS[name]})"
    if seen:
        _say("defaults used: " + "; ".join(seen.values()) + ".", quiet)


# ---------------------------------------------------------------------------------------------- the store side
@dataclass
class _Selection:
    """The crimes an analysis runs on, and how they were chosen (for the provenance file)."""

    rows: object
    source: str
    path: str
    months: object
    crime_types: Optional[list]
    forces: Optional[list]
    described: str
    params: dict = field(default_factory=dict)



def _check_outputs(where: str, path: str, overwrite: bool, *, csv: Optional[Path] = None,
                   out: Optional[Path] = None) -> None:
    """Refuse bad outputs before any work: the store itself (or its journal), a database, an existing file whatworks
    did not write (unless --overwrite), or a file type the option does not write."""
    from whatworks.store.exports import check_output

    for option, target, suffixes, what in (("--csv", csv, (".csv",), "a .csv file"),
                                           ("--out", out, (".gpkg", ".geojson", ".json"),
                                            "a .gpkg (GeoPackage) or .geojson/.json (GeoJSON) file for QGIS")):
        if target is None:
            continue
        check_output(target, overwrite=overwrite, inputs=[path], where=where)
        if target.suffix.lower() not in suffixes:
            raise WhatworksError(f"{where}: {option} must name {what}; got {str(target)!r}.")
    if csv is not None and out is not None and Path(csv).expanduser().resolve() == Path(out).expanduser().resolve():
        raise WhatworksError(f"{where}: --csv and --out name the same file {str(csv)!r}.")


def _open(where: str, path: str):
    from whatworks.store import Store

    if path != ":memory:" and not Path(path).exists():
        raise WhatworksError(f"{where}: no store at {path!r}. Hint: load data first with `whatworks ingest policeuk "
                             f"PATH --store {path}` (or try `whatworks demo`).")
    return Store(path, read_only=True), path


def _choose_source(where: str, s, path: str, source: Optional[str], *, dated: bool, quiet: bool) -> str:
    """The one source system to read (two systems holding the same crimes would double-count): given, the only
    one, else police.uk for maps and counts or — ``dated`` — the source whose dates are recorded to the day."""
    found = s.sources("crimes")
    if found.empty:
        raise WhatworksError(f"{where}: the store {path!r} holds no crimes. Hint: load police.uk street files with "
                             f"`whatworks ingest policeuk PATH --store {path}` (they carry coordinates), or a "
                             "records export with `whatworks ingest records`.")
    systems = [str(v) for v in found["source_system"]]
    if source is not None:
        if source not in systems:
            raise WhatworksError(f"{where}: no crimes from source {source!r} in the store. Expected one of: "
                                 f"{', '.join(systems)}.")
        return source
    if len(systems) == 1:
        _say(f"source set to {systems[0]!r} (the only source of crimes in the store).", quiet)
        return systems[0]
    listed = ", ".join(systems)
    if dated:
        prec = s.crimes(columns=["source_system", "time_precision"])
        by_day = [sy for sy in systems
                  if not (prec.loc[prec["source_system"] == sy, "time_precision"].astype("string").str.lower()
                          == "month").all()]
        if by_day:
            months_only = [sy for sy in systems if sy not in by_day]
            why = (f"{len(systems)} sources hold crimes ({listed}); the Knox test needs dates recorded to the day"
                   + (f", and {', '.join(months_only)} gives months only" if months_only else "")
                   + ("" if len(by_day) == 1 else "; the one with the most crimes"))
            _say(f"source set to {by_day[0]!r} ({why}; --source to choose).", quiet)
            return by_day[0]
    if POLICE_UK in systems:
        chosen, why = POLICE_UK, (f"{len(systems)} sources hold crimes ({listed}); counting more than one would "
                                  "double-count, and police.uk is the published figure")
    else:
        chosen, why = systems[0], f"the source with the most crimes of {listed}"
    _say(f"source set to {chosen!r} ({why}; --source to choose).", quiet)
    return chosen


def _crime_types(where: str, s, source: str, given: list[str]) -> Optional[list[str]]:
    """The store's spelling of each crime type asked for (matched ignoring case); unknown ones are refused."""
    if not given:
        return None
    known = [str(v) for v in s.crime_types("crimes", source=source)["crime_type"]]
    lower = {k.lower(): k for k in known}
    out = []
    for g in given:
        if g.lower() not in lower:
            raise WhatworksError(f"{where}: no crimes of type {g!r} from source {source!r}. Expected one of: "
                                 f"{', '.join(known) or 'none'}.")
        out.append(lower[g.lower()])
    return out


def _select(where: str, path: str, *, source: Optional[str], months: Optional[str],
            crime_type: Optional[List[str]], force: Optional[List[str]], columns: list[str], quiet: bool,
            dated: bool = False):
    """Open the store and read the crimes to analyse. Returns ``(store, selection)``; the caller closes the store."""
    m = _months(where, months)
    s, path = _open(where, path)
    try:
        src = _choose_source(where, s, path, source, dated=dated, quiet=quiet)
        types = _crime_types(where, s, src, _split(crime_type))
        forces = _split(force) or None
        cols = list(dict.fromkeys(columns + ["force"]))
        rows = s.crimes(source=src, months=m, crime_types=types, columns=cols)
        if m is None:
            first, last = s.month_span("crimes", src)
            if first is not None:
                _say(f"months: every month of {src!r} in the store ({first:%Y-%m}..{last:%Y-%m}); --months to "
                     "choose.", quiet)
        if types is None:
            _say("crime types: every crime type; --crime-type to choose.", quiet)
        if forces is not None:
            known = sorted(set(rows["force"].dropna().astype(str)))
            unknown = [f for f in forces if f not in known]
            if unknown:
                raise WhatworksError(f"{where}: no crimes of force {unknown[0]!r} in this selection. Expected one "
                                     f"of: {', '.join(known) or 'none'}.")
            rows = rows[rows["force"].isin(forces)]
        described = (f"source {src!r}" + (f", months {months}" if months else "")
                     + (f", crime type {', '.join(types)}" if types else "")
                     + (f", force {', '.join(forces)}" if forces else ""))
        if len(rows) == 0:
            raise WhatworksError(f"{where}: no crimes match ({described}). Hint: `whatworks status --store {path}` "
                                 "lists the months and forces in the store.")
        if "x" in rows.columns and not (rows["x"].notna() & rows["y"].notna()).any():
            raise WhatworksError(
                f"{where}: none of the {len(rows):,} crimes selected ({described}) has coordinates (x, y in British "
                "National Grid). Hint: load police.uk street files, which carry them (`whatworks ingest policeuk "
                f"PATH --store {path}`), or map your records' Easting/Northing or Longitude/Latitude columns "
                "(docs/records-mapping.md).")
        params = {"store": path, "source": src, "months": months, "crime_types": types, "forces": forces,
                  "crimes_selected": int(len(rows))}
        return s, _Selection(rows=rows.reset_index(drop=True), source=src, path=path, months=m, crime_types=types,
                             forces=forces, described=described, params=params)
    except BaseException:
        s.close()
        raise


def _study_area(where: str, s, sel: _Selection, choice: Optional[str], quiet: bool):
    """The police.uk map points the store has seen for the force(s) in scope (``None``: the bounding box)."""
    _choice(where, "--study-area", choice, STUDY_AREAS)
    if choice == "none":
        return None
    pts = s.map_points(force=sel.forces)
    if len(pts):
        if choice is None:
            _say(f"study area: the {len(pts):,} police.uk map points in the store"
                 + (f" for {', '.join(sel.forces)}" if sel.forces else "")
                 + " (the ground where crime can be recorded); --study-area none for the bounding box.", quiet)
        return pts
    if choice == "map-points":
        raise WhatworksError(f"{where}: --study-area map-points: the store has no police.uk map points"
                             + (f" for {', '.join(sel.forces)}" if sel.forces else "")
                             + ". Hint: load police.uk street files, or use --study-area none.")
    _say("study area: the store has no police.uk map points, so the grid covers the data's bounding box (cells "
         "where no crime can be recorded count as zeros).", quiet)
    return None


# ---------------------------------------------------------------------------------------------- writing
def _provenance(command: str, sel: _Selection, options: dict, results) -> dict:
    settings = {}
    for r in results:   # per verb: {"grid": {...}, "gistar": {...}}
        verb = type(r).__name__.removesuffix("Result").lower()
        settings[verb] = {k: str(v) for k, v in r.settings.items()}
    return {"command": f"whatworks {command}", "parameters": {**sel.params, **options}, "inputs": [sel.path],
            "settings": settings}


def _write_csv(table, csv: Path, command: str, sel: _Selection, options: dict, results, overwrite: bool) -> None:
    from whatworks.store.exports import write_table

    p = write_table(table, csv, provenance=_provenance(command, sel, options, results), overwrite=overwrite,
                    inputs=[sel.path], where=command)
    _echo(f"Wrote {p} ({len(table):,} rows)")


def _write_map(result, out: Path, layer: str, command: str, sel: _Selection, options: dict, results,
               overwrite: bool) -> None:
    """A GeoPackage (.gpkg) or GeoJSON (.geojson, .json) layer of the cells, with a provenance file beside it (so a
    later run may replace it without --overwrite, as for tables)."""
    from whatworks.store.exports import (check_output, provenance_path, write_geojson, write_geopackage,
                                         write_text)

    suffix = out.suffix.lower()
    p = check_output(out, overwrite=overwrite, inputs=[sel.path], where=command)
    if suffix == ".gpkg":
        write_geopackage(result, p, layer=layer)
    else:
        write_geojson(result, p)
    doc = {"generator": "whatworks", "file": p.name, "layer": layer if suffix == ".gpkg" else None, "crs": CRS,
           "rows": int(len(result.table)), **_provenance(command, sel, options, results)}
    write_text(provenance_path(p), json.dumps(doc, indent=2, default=str) + "\n", overwrite=True, inputs=[sel.path],
               where=command)
    _echo(f"Wrote {p} ({len(result.table):,} cells" + (f", layer {layer!r}" if suffix == ".gpkg" else "")
          + f", {CRS})")


# ---------------------------------------------------------------------------------------------- hotspots
def hotspots_command(
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP),
        method: Optional[str] = typer.Option(None, "--method", metavar="grid|kde|gistar",
                                             help="grid: crimes per cell; kde: kernel density; gistar: Getis–Ord "
                                                  "Gi* hot and cold spots on the grid. Default: gistar (announced)."),
        cell_size: Optional[float] = typer.Option(None, "--cell-size", help=_CELL_HELP),
        shape: Optional[str] = typer.Option(None, "--shape", metavar="square|hex",
                                            help="Cell shape for grid and gistar (default: square)."),
        study_area: Optional[str] = typer.Option(None, "--study-area", metavar="map-points|none", help=_STUDY_HELP),
        bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="kde: kernel radius in metres (default: "
                                                  "the normal-reference rule, announced)."),
        kernel: Optional[str] = typer.Option(None, "--kernel", metavar="quartic|gaussian",
                                             help="kde: kernel shape (default: quartic)."),
        on_small_bandwidth: Optional[str] = typer.Option(None, "--on-small-bandwidth", metavar="error|refine|keep",
                                                         help="kde: a bandwidth under the cell size is refused "
                                                              "(default), refined to smaller cells, or kept."),
        distance: Optional[float] = typer.Option(None, "--distance", help="gistar: neighbour distance in metres "
                                                 "(default: cell size × √2, the touching cells; announced)."),
        permutations: Optional[int] = typer.Option(None, "--permutations", help="gistar: conditional permutations "
                                                   "for pseudo p-values (default: 0, analytic p-values)."),
        fdr: Optional[bool] = typer.Option(None, "--fdr/--no-fdr", help="gistar: Benjamini–Hochberg across cells "
                                           "(default: on)."),
        alpha: Optional[float] = typer.Option(None, "--alpha", help="gistar: significance level (default 0.05)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="gistar: seed for the permutations (default 0)."),
        crime_type: Optional[List[str]] = typer.Option(None, "--crime-type", help=_TYPE_HELP),
        months: Optional[str] = typer.Option(None, "--months", "--period", help=_MONTHS_HELP),
        source: Optional[str] = typer.Option(None, "--source", help=_SOURCE_HELP),
        force: Optional[List[str]] = typer.Option(None, "--force", help=_FORCE_HELP),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the cells as a map layer for QGIS: .gpkg "
                                           "(GeoPackage, layer named after the method) or .geojson/.json, in "
                                           "EPSG:27700."),
        csv: Optional[Path] = typer.Option(None, "--csv", help=_CSV_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help=_OVERWRITE_HELP),
        quiet: bool = typer.Option(False, "--quiet", help=_QUIET_HELP)) -> None:
    """Hot spots on the store's crime coordinates (British National Grid): crimes per grid cell, kernel density, or
    Getis–Ord Gi* hot and cold spots (the default).

    Calls place.grid (then place.gistar) or place.kde as Python does, over the police.uk map points as study area.

    Settings chosen from the data (cell size, distance, bandwidth) are announced on stderr; --quiet silences them.
    """
    where = "hotspots"
    try:
        path = _store_path(store)
        _check_outputs(where, path, overwrite, csv=csv, out=out)
        _choice(where, "--method", method, METHODS)
        _choice(where, "--shape", shape, ("square", "hex"))
        _choice(where, "--kernel", kernel, ("quartic", "gaussian"))
        _choice(where, "--on-small-bandwidth", on_small_bandwidth, ("error", "refine", "keep"))
        m = method or DEFAULT_METHOD
        _only_with(where, m, {"--bandwidth": (bandwidth, ("kde",)), "--kernel": (kernel, ("kde",)),
                                       "--on-small-bandwidth": (on_small_bandwidth, ("kde",)),
                                       "--shape": (shape, ("grid", "gistar")),
                                       "--distance": (distance, ("gistar",)),
                                       "--permutations": (permutations, ("gistar",)), "--fdr": (fdr, ("gistar",)),
                                       "--alpha": (alpha, ("gistar",)), "--seed": (seed, ("gistar",))})
        s, sel = _select(where, path, source=source, months=months, crime_type=crime_type, force=force,
                         columns=["x", "y"], quiet=quiet)
        if method is None:
            _say("method set to gistar (Getis–Ord Gi* hot and cold spots on a grid of crime counts); --method grid "
                 "or kde for the counts or a kernel density.", quiet)
        with s:
            area = _study_area(where, s, sel, study_area, quiet)
        pts = sel.rows[["x", "y"]]
        from whatworks import place

        if m == "kde":
            kw = {} if on_small_bandwidth is None else {"on_small_bandwidth": on_small_bandwidth}
            result = place.kde(pts, cell_size=cell_size, bandwidth=bandwidth, kernel=kernel, crs=CRS,
                               study_area=area, quiet=quiet, **kw)
            results = [result]
        else:
            g = place.grid(pts, cell_size=cell_size, shape=shape, crs=CRS, study_area=area, quiet=quiet)
            results = [g]
            result = g
            if m == "gistar":
                result = place.gistar(g, distance=distance, permutations=permutations, fdr=fdr, alpha=alpha,
                                      seed=seed, quiet=quiet)
                results.append(result)
        _announce_fixed(results, quiet)
        for r in results:
            _echo(r.summary())
        if m == "gistar":
            _list_hot(result)
        options = {"method": m, "cell_size": cell_size, "shape": shape, "study_area": study_area or
                   ("map-points" if area is not None else "none"), "bandwidth": bandwidth, "kernel": kernel,
                   "distance": distance, "permutations": permutations, "fdr": fdr, "alpha": alpha, "seed": seed}
        if csv is not None:
            _write_csv(result.table, csv, where, sel, options, results, overwrite)
        if out is not None:
            _write_map(result, out, m, where, sel, options, results, overwrite)
    except WhatworksError as exc:
        _fail(exc)


def _list_hot(result) -> None:
    t = result.table
    hot = t[t["classification"] == "hot spot"].sort_values("gistar", ascending=False)
    if not len(hot):
        return
    _echo(f"Hot spots (strongest {min(len(hot), _MAX_LISTED)} of {len(hot):,}; cell centre easting, northing):")
    for r in hot.head(_MAX_LISTED).itertuples():
        crimes = f"{r.count:,.0f} crime" + ("" if r.count == 1 else "s")
        _echo(f"  cell {int(r.cell_id)} at ({r.x:,.0f}, {r.y:,.0f}): {crimes}, z {r.gistar:.2f}, "
              f"adjusted p {r.p_adjusted:.2g}")


# ---------------------------------------------------------------------------------------------- nearrepeat
def nearrepeat_command(
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP),
        distance_bands: Optional[str] = typer.Option(None, "--distance-bands",
                                                     help="Distance band edges in metres, e.g. 0,100,200,300,400. "
                                                          "Default: five bands as wide as the median nearest-"
                                                          "neighbour distance, rounded down (announced)."),
        time_bands: Optional[str] = typer.Option(None, "--time-bands", help="Time band edges in days, e.g. "
                                                 "0,7,14,21,28. Default: five one-week bands, 0,7,14,21,28,35."),
        permutations: Optional[int] = typer.Option(None, "--permutations", help="Random permutations of the dates "
                                                   "(default 999; 0: no p-values)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed for the permutations (default 0)."),
        closed: Optional[str] = typer.Option(None, "--closed", metavar="left|right",
                                             help="left: bands [a, b) (default); right: (a, b], first band [a, b]."),
        on_stray: Optional[str] = typer.Option(None, "--on-stray", metavar="error|exclude",
                                               help="Crimes at stray coordinates ((0, 0), far from the rest): refuse "
                                                    "(default) or leave out. Crimes without coordinates are always "
                                                    "left out and counted."),
        crime_type: Optional[List[str]] = typer.Option(None, "--crime-type", help=_TYPE_HELP + " Near repeats are "
                                                       "usually tested on one type, e.g. --crime-type Burglary."),
        months: Optional[str] = typer.Option(None, "--months", "--period", help=_MONTHS_HELP),
        source: Optional[str] = typer.Option(None, "--source", help="Source system whose crimes to test (default: "
                                             "the only one; with several, the one whose dates are recorded to the "
                                             "day — police.uk gives months only; announced)."),
        force: Optional[List[str]] = typer.Option(None, "--force", help=_FORCE_HELP),
        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the Knox table (one row per distance band × "
                                           "time band) to this .csv file, with a provenance file beside it."),
        overwrite: bool = typer.Option(False, "--overwrite", help=_OVERWRITE_HELP),
        quiet: bool = typer.Option(False, "--quiet", help=_QUIET_HELP)) -> None:
    """Knox near-repeat test: are crimes close in space also close in time more often than chance?

    Calls place.knox on the crimes' coordinates and dates: pairs per distance band × time band against chance.

    Month-only dates (police.uk) cannot be tested, and the result says so: test a records export with dates.
    """
    where = "nearrepeat"
    try:
        path = _store_path(store)
        _check_outputs(where, path, overwrite, csv=csv)
        _choice(where, "--closed", closed, ("left", "right"))
        _choice(where, "--on-stray", on_stray, ("error", "exclude"))
        d_edges = _numbers(where, "--distance-bands", distance_bands)
        t_edges = _numbers(where, "--time-bands", time_bands)
        s, sel = _select(where, path, source=source, months=months, crime_type=crime_type, force=force,
                         columns=["x", "y", "occurred", "time_precision"], quiet=quiet, dated=True)
        s.close()
        from whatworks import place
        from whatworks.place.knox import DEFAULT_PERMUTATIONS

        kw = {} if on_stray is None else {"on_stray": on_stray}
        n_perm = DEFAULT_PERMUTATIONS if permutations is None else permutations
        with _progress(f"Knox test on {len(sel.rows):,} crimes: {n_perm:,} permutations", quiet or not n_perm):
            r = place.knox(sel.rows[["x", "y", "occurred", "time_precision"]], distance_bands=d_edges,
                           time_bands=t_edges, permutations=permutations, seed=seed, closed=closed, quiet=quiet,
                           **kw)
        # no permutations are run on month-only dates: only the band settings were used
        _announce_fixed([r], quiet, skip=() if r.testable else ("permutations", "seed"))
        _echo(r.summary())
        if not r.testable:
            _hint_dated(sel, chosen=source is None)
        options = {"distance_bands": d_edges, "time_bands": t_edges, "permutations": permutations, "seed": seed,
                   "closed": closed, "on_stray": on_stray}
        if csv is not None:
            _write_csv(r.table, csv, where, sel, options, [r], overwrite)
    except WhatworksError as exc:
        _fail(exc)


def _hint_dated(sel: _Selection, *, chosen: bool) -> None:
    if chosen:
        _echo(f"No source of crimes in the store has dates recorded to the day ({sel.source!r} gives months only). "
              f"Load your records-management export with `whatworks ingest records PATH --mapping FILE --store "
              f"{sel.path}` and test it with --source.")
    else:
        _echo(f"Source {sel.source!r} gives months only: leave --source out to test a source with dates recorded to "
              f"the day, if the store has one (`whatworks status --store {sel.path}` lists the sources).")


class _progress:
    """A spinner with the elapsed time on stderr while the permutations run (place.knox has no progress hook);
    nothing when ``off`` (--quiet, or no permutations)."""

    def __init__(self, text: str, off: bool):
        self.text, self.off, self.bar = text, off, None

    def __enter__(self):
        from rich.console import Console

        console = Console(stderr=True)
        if not self.off and console.is_terminal:     # nothing in a log file or a pipe
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            from whatworks._terminal import safe

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                console=console, transient=True)
            self.bar.start()
            self.bar.add_task(safe(self.text), total=None)
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


# ---------------------------------------------------------------------------------------------- concentration
def concentration_command(
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP),
        by: Optional[str] = typer.Option(None, "--by", metavar="cell|lsoa",
                                         help="The places: cell (grid cells over the study area; the default, "
                                              "announced) or lsoa (small areas; every LSOA the store knows, those "
                                              "with no crime included as 0)."),
        cell_size: Optional[float] = typer.Option(None, "--cell-size", help="--by cell: " + _CELL_HELP),
        shape: Optional[str] = typer.Option(None, "--shape", metavar="square|hex",
                                            help="--by cell: cell shape (default: square)."),
        study_area: Optional[str] = typer.Option(None, "--study-area", metavar="map-points|none",
                                                 help="--by cell: " + _STUDY_HELP),
        crime_type: Optional[List[str]] = typer.Option(None, "--crime-type", help=_TYPE_HELP),
        months: Optional[str] = typer.Option(None, "--months", "--period", help=_MONTHS_HELP),
        source: Optional[str] = typer.Option(None, "--source", help=_SOURCE_HELP),
        force: Optional[List[str]] = typer.Option(None, "--force", help=_FORCE_HELP),
        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the Lorenz-curve table (one row per place, "
                                           "busiest first, with its cell_id or lsoa_code) to this .csv file."),
        overwrite: bool = typer.Option(False, "--overwrite", help=_OVERWRITE_HELP),
        quiet: bool = typer.Option(False, "--quiet", help=_QUIET_HELP)) -> None:
    """Crime concentration: the share of places holding half (and a quarter) of crime, Gini and generalised Gini.

    Calls place.concentration on crimes per grid cell (place.grid over the study area) or per LSOA.

    The number of places, the denominator of every share, is announced (places with no crime count as 0).
    """
    where = "concentration"
    try:
        path = _store_path(store)
        _check_outputs(where, path, overwrite, csv=csv)
        _choice(where, "--by", by, UNITS)
        unit = by or DEFAULT_UNIT
        if unit == "lsoa":
            for option, value in (("--cell-size", cell_size), ("--shape", shape), ("--study-area", study_area)):
                if value is not None:
                    raise WhatworksError(f"{where}: {option} applies to --by cell, not --by lsoa.")
        _choice(where, "--shape", shape, ("square", "hex"))
        cols = ["x", "y"] if unit == "cell" else ["lsoa_code"]
        s, sel = _select(where, path, source=source, months=months, crime_type=crime_type, force=force,
                         columns=cols, quiet=quiet)
        if by is None:
            _say("places set to grid cells (--by cell: crimes per cell over the study area); --by lsoa for small "
                 "areas.", quiet)
        from whatworks import place

        with s:
            if unit == "cell":
                area = _study_area(where, s, sel, study_area, quiet)
            else:
                counts = _lsoa_counts(where, s, sel, quiet)
        if unit == "cell":
            g = place.grid(sel.rows[["x", "y"]], cell_size=cell_size, shape=shape, crs=CRS, study_area=area,
                           quiet=quiet)
            r = place.concentration(g, quiet=quiet)
            results = [g, r]
            ids = g.table["cell_id"].to_numpy()
            id_col = "cell_id"
        else:
            r = place.concentration(counts, quiet=quiet)
            results = [r]
            ids = counts.index.to_numpy()
            id_col = "lsoa_code"
        _announce_fixed(results, quiet)
        if unit == "cell":
            _echo(g.summary())
        _echo(r.summary())
        options = {"by": unit, "cell_size": cell_size, "shape": shape,
                   "study_area": study_area if unit == "cell" else None}
        if csv is not None:
            table = r.table.copy()
            table.insert(table.columns.get_loc("place") + 1, id_col, ids[table["place"].to_numpy()])
            _write_csv(table, csv, where, sel, options, results, overwrite)
    except WhatworksError as exc:
        _fail(exc)


def _lsoa_counts(where: str, s, sel: _Selection, quiet: bool):
    """Crimes per LSOA over every LSOA the store knows (area lookup and records), zeros included; with --force, the
    LSOAs where that force has recorded any crime of the source."""
    import pandas as pd

    areas = s.area_table(level="lsoa")
    codes = pd.Index(sorted(set(areas["code"].dropna().astype(str))))
    what = "every LSOA the store knows (its area lookup and the LSOAs named in its records)"
    if sel.forces is not None:
        anc = s.area_ancestors()
        mine = anc[(anc["level"] == "force") & (anc["code"].isin(sel.forces) | anc["name"].isin(sel.forces))]
        if len(mine):
            codes = pd.Index(sorted(set(mine["lsoa_code"].dropna().astype(str)) & set(codes)))
            what = f"the LSOAs inside {', '.join(sel.forces)} in the store's area lookup"
        else:   # no force level in the lookup: the LSOAs the force's records name
            seen = [s.crimes(source=sel.source, columns=["lsoa_code", "force"])]
            if "asb" in s.relation_names():
                seen.append(s.asb(source=sel.source, columns=["lsoa_code", "force"]))
            seen = pd.concat(seen, ignore_index=True)
            codes = pd.Index(sorted(set(seen.loc[seen["force"].isin(sel.forces), "lsoa_code"].dropna().astype(str))))
            what = (f"the LSOAs where {', '.join(sel.forces)} recorded any crime or anti-social behaviour "
                    f"({sel.source!r}, any month; the area lookup has no force level, so an LSOA with no record at "
                    "all is not counted)")
    if not len(codes):
        raise WhatworksError(f"{where}: --by lsoa: the store knows no LSOAs. Hint: load an area lookup with "
                             f"`whatworks ingest areas FILE --store {sel.path}`, or police.uk data (which names "
                             "LSOAs); or use --by cell.")
    rows = sel.rows
    missing = int(rows["lsoa_code"].isna().sum())
    counts = rows["lsoa_code"].dropna().astype(str).value_counts()
    outside = counts.index.difference(codes)
    if len(outside):
        codes = codes.append(outside).sort_values()
    _say(f"places: {len(codes):,} LSOAs — {what}; those with no crime count as 0"
         + (f"; {missing:,} crime(s) without an LSOA left out" if missing else "") + ".", quiet)
    out = counts.reindex(codes, fill_value=0).astype("int64")
    out.index.name = "lsoa_code"
    return out


def register(app: typer.Typer) -> None:
    """Add ``hotspots``, ``nearrepeat`` and ``concentration`` to the root ``whatworks`` CLI."""
    app.command("hotspots")(hotspots_command)
    app.command("nearrepeat")(nearrepeat_command)
    app.command("concentration")(concentration_command)


__all__ = ["register", "hotspots_command", "nearrepeat_command", "concentration_command"]
