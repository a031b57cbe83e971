"""Real-shaped police.uk fixtures: small archives that behave like real downloads, with their exact truth.

``import realshaped`` from any test (``tests/`` is on ``sys.path``). Everything is deterministic and fast (a
36-month, one-force archive at the defaults writes in a few tens of milliseconds) and needs no network.

What makes the files "real-shaped" (REFERENCE.md, police.uk open data):

* the layout ``<root>/<YYYY-MM>/<YYYY-MM>-<force-slug>-street.csv`` / ``-outcomes.csv`` / ``-stop-and-search.csv``,
  the exact police.uk headers, unquoted fields unless a value needs quotes, ``\\n`` line ends, no BOM;
* 64-hex Crime IDs, the same for the same (force, month, seed) in every release; ASB rows have a blank Crime ID
  and a blank ``Last outcome category``; about 3% of rows have no coordinates, ``No Location`` and no LSOA (valid);
* seasonality: violence, public order, bicycle theft and ASB peak in July, burglary in December;
* each force sits in its own place (``FORCE_PLACES``; other names get a place from a hash of the name), with a fixed
  set of anonymous map points ("On or near …") in about 20 LSOAs, crime concentrated on a few of them;
* **republication**: ``release=k`` is the k-th publication of the same months. A crime's outcome events are
  revealed over releases (``reveal``), so ``Last outcome category`` moves on and the outcomes files grow; each release
  after the first withdraws a further fraction ``withdraw`` of the rows still published (crimes, ASB and stops
  alike): a row is absent from release ``k >= 1`` when its uniform draw ``u < 1 - (1 - withdraw) ** k``;
* outcomes files hold the outcomes *dated* in their month (``Month`` = outcome month) for crimes of that month and
  up to ``MAX_LAG`` months before; outcomes of crimes from months not written appear too, as in a real single-month
  download (their Crime IDs are not in the street files); crimes of a force's ``missing`` months do not exist at all.

The truth comes from :func:`expected` (same keywords as :func:`archive`) and :func:`series_expected` (same keywords as
:func:`release_series`): a :class:`Truth` holding every row written, the rows withdrawn and the outcome changes.

Example::

    root = realshaped.archive(tmp_path / "a", months=realshaped.month_range("2016-01", 36))
    truth = realshaped.expected(months=realshaped.month_range("2016-01", 36))
    truth.counts()      # force, month, crime_type, count (every type, zeros included, covered months only)
"""

from __future__ import annotations

import bisect
import calendar
import csv
import hashlib
import io
import math
import random
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

__all__ = [
    "STREET", "OUTCOMES", "STOP_SEARCH", "CRIME_TYPES", "FORCE_PLACES", "MAX_LAG", "Truth",
    "archive", "expected", "release_series", "series_expected", "excel_damage", "month_range", "slug", "file_name",
]

# The police.uk headers, written out here (not imported) so a wrong header in the reader cannot hide in the fixture.
STREET = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
          "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
            "LSOA name", "Outcome type")
STOP_SEARCH = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
               "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
               "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing")

CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
)
ASB = "Anti-social behaviour"
UNDER_INVESTIGATION = "Under investigation"

# share of recorded crime (ASB apart) and seasonality: multiplier 1 + amplitude * cos(2 pi (month - peak) / 12)
_MIX = {
    "Violence and sexual offences": (0.34, 0.15, 7), "Public order": (0.10, 0.10, 7),
    "Criminal damage and arson": (0.10, 0.0, 7), "Shoplifting": (0.09, 0.0, 7), "Other theft": (0.08, 0.0, 7),
    "Vehicle crime": (0.07, 0.05, 12), "Burglary": (0.07, 0.20, 12), "Drugs": (0.03, 0.0, 7),
    "Other crime": (0.03, 0.0, 7), "Theft from the person": (0.02, 0.0, 12), "Bicycle theft": (0.02, 0.30, 7),
    "Robbery": (0.02, 0.10, 12), "Possession of weapons": (0.02, 0.0, 7),
}
_ASB_SEASON = (0.25, 7)

# outcome events: the first outcome; "Awaiting court outcome" is followed by a court result
_FIRST_OUTCOMES = (
    ("Investigation complete; no suspect identified", 0.45), ("Unable to prosecute suspect", 0.24),
    ("Awaiting court outcome", 0.10), ("Local resolution", 0.06), ("Offender given a caution", 0.05),
    ("Action to be taken by another organisation", 0.05), ("Further investigation is not in the public interest", 0.03),
    ("Offender given penalty notice", 0.02),
)
_COURT = (("Offender sent to prison", 0.2), ("Offender given suspended prison sentence", 0.15), ("Offender fined", 0.25),
          ("Offender given community sentence", 0.2), ("Defendant found not guilty", 0.1),
          ("Offender given conditional discharge", 0.1))
_RESOLVED = 0.85            # share of crimes that get an outcome at all
_NO_LOCATION = 0.03         # share of rows with no coordinates and no LSOA
MAX_LAG = 11                # an outcome is dated at most this many months after its crime

FORCE_PLACES = {  # (longitude, latitude) of the force's centre: far enough apart that areas never overlap
    "Northshire Police": (-1.55, 53.80),
    "Southshire Police": (-1.10, 51.00),
    "Eastshire Police": (0.90, 52.60),
    "Westshire Police": (-3.00, 51.65),
}
_STREETS = ("High Street", "Station Road", "Church Lane", "Park Row", "Mill Lane", "Victoria Road", "Queen Street",
            "King Street", "Market Place", "North Road", "School Lane", "The Green", "Bridge Street", "Albert Road",
            "Chapel Street", "Manor Road", "Springfield Road", "Westgate", "Moor Lane", "Grove Road", "Café Street",
            "Petrol Station", "Supermarket", "Parking Area", "Shopping Area", "Sports/Recreation Area", "Nightclub",
            "Hospital", "Further/Higher Educational Building", "Police Station")
_POINTS, _LSOAS = 120, 20


# ------------------------------------------------------------------------------------------------ months
def _month_index(month: str) -> int:
    if not (isinstance(month, str) and len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit()
            and 1 <= int(month[5:]) <= 12):
        raise ValueError(f"realshaped: a month must be 'YYYY-MM'. Got {month!r} instead.")
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, n: int) -> list[str]:
    """``n`` consecutive months from ``first``: ``month_range("2016-11", 3) == ["2016-11", "2016-12", "2017-01"]``."""
    i = _month_index(first)
    return [_month_label(i + k) for k in range(n)]


def slug(force: str) -> str:
    """police.uk's file-name slug: ``"Northshire Police" -> "northshire"``, ``"Avon and Somerset Police" -> "avon-and-somerset"``."""
    name = force[:-len(" Police")] if force.endswith(" Police") else force
    out = "".join(ch if ch.isalnum() else "-" for ch in name.lower())
    return "-".join(p for p in out.split("-") if p)


def file_name(month: str, force: str, kind: str) -> str:
    """The archive path of a file: ``kind`` is "street", "outcomes" or "stop-and-search"."""
    return f"{month}/{month}-{slug(force)}-{kind}.csv"


# ------------------------------------------------------------------------------------------------ randomness
def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _cum(weights: Iterable[float]) -> list[float]:
    out, s = [], 0.0
    for w in weights:
        s += w
        out.append(s)
    return out


def _pick(rnd: random.Random, cum: list[float]) -> int:
    """Index drawn with the cumulative weights ``cum`` (only ``random()`` is used: stable across Python versions)."""
    return min(bisect.bisect_right(cum, rnd.random() * cum[-1]), len(cum) - 1)


# ------------------------------------------------------------------------------------------------ geography
@dataclass(frozen=True)
class _Point:
    lon: str
    lat: str
    location: str
    lsoa_code: str
    lsoa_name: str


@dataclass(frozen=True)
class _Geo:
    points: tuple[_Point, ...]
    cum: list


@lru_cache(maxsize=64)
def _geography(force: str) -> _Geo:
    """The force's anonymous map points: fixed for a force name (independent of the seed)."""
    rnd = random.Random(_seed("geo", force))
    if force in FORCE_PLACES:
        lon0, lat0 = FORCE_PLACES[force]
    else:  # somewhere in England, from the name
        lon0, lat0 = -2.8 + 3.2 * rnd.random(), 51.2 + 2.6 * rnd.random()
    town = force[:-len(" Police")] if force.endswith(" Police") else force
    block = 10_000 + (_seed("lsoa", force) % 3_000) * 100
    kx = 1.0 / (111.32 * math.cos(math.radians(lat0)))   # degrees of longitude per km
    ky = 1.0 / 110.57
    centres = []
    for j in range(_LSOAS):
        r, a = 9.0 * math.sqrt(rnd.random()), 2 * math.pi * rnd.random()   # within 9 km of the centre
        centres.append((lon0 + r * math.cos(a) * kx, lat0 + r * math.sin(a) * ky))
    points = []
    for i in range(_POINTS):
        j = i % _LSOAS
        r, a = 0.6 * math.sqrt(rnd.random()), 2 * math.pi * rnd.random()
        lon, lat = centres[j][0] + r * math.cos(a) * kx, centres[j][1] + r * math.sin(a) * ky
        street = _STREETS[_pick(rnd, _cum([1.0] * len(_STREETS)))]
        points.append(_Point(f"{lon:.6f}", f"{lat:.6f}", f"On or near {street}", f"E01{block + j:06d}",
                             f"{town} {j + 1:03d}{'ABCD'[j % 4]}"))
    order = list(range(_POINTS))
    rnd.shuffle(order)
    weights = [0.0] * _POINTS
    for rank, i in enumerate(order):   # crime concentrates on a few points (Zipf-like)
        weights[i] = 1.0 / (rank + 1) ** 0.9
    return _Geo(tuple(points), _cum(weights))


# ------------------------------------------------------------------------------------------------ a month's draws
@dataclass(frozen=True)
class _Event:
    month: str      # the outcome's month
    type: str
    reveal: int     # first release that publishes it


@dataclass(frozen=True)
class _Row:
    crime_id: str            # "" for ASB
    crime_type: str
    point: int               # -1: no location
    u: float                 # withdrawal draw
    events: tuple[_Event, ...]


@dataclass(frozen=True)
class _Stop:
    values: tuple[str, ...]  # the 15 police.uk values
    u: float


def _season(amplitude: float, peak: int, month_of_year: int) -> float:
    return 1.0 + amplitude * math.cos(2 * math.pi * (month_of_year - peak) / 12)


def _bst(year: int, month: int, day: int) -> bool:
    """British Summer Time on that date (at midday): from the last Sunday of March to the last Sunday of October."""
    def last_sunday(m: int) -> int:
        last = calendar.monthrange(year, m)[1]
        return last - (calendar.weekday(year, m, last) + 1) % 7
    d = (month, day)
    return (3, last_sunday(3)) <= d < (10, last_sunday(10))


@lru_cache(maxsize=4096)
def _draw(force: str, month: str, seed: int, crimes_per_month: int, asb_per_month: int,
          stops_per_month: int) -> tuple[tuple[_Row, ...], tuple[_Stop, ...]]:
    """Every row the force will ever publish for the month (before any withdrawal), in file order."""
    rnd = random.Random(_seed("month", seed, force, month))
    moy = int(month[5:])
    mi = _month_index(month)
    geo = _geography(force)
    base = sum(s for s, _, _ in _MIX.values())
    types = list(_MIX)
    w = [s * _season(a, p, moy) for s, a, p in _MIX.values()]
    n_crimes = round(crimes_per_month * sum(w) / base)
    n_asb = round(asb_per_month * _season(*_ASB_SEASON, moy))
    cum_types, cum_first, cum_court = _cum(w), _cum(x for _, x in _FIRST_OUTCOMES), _cum(x for _, x in _COURT)
    rows: list[_Row] = []
    for i in range(n_crimes + n_asb):
        crime = i < n_crimes
        ctype = types[_pick(rnd, cum_types)] if crime else ASB
        point = -1 if rnd.random() < _NO_LOCATION else _pick(rnd, geo.cum)
        u = rnd.random()
        events: list[_Event] = []
        if crime and rnd.random() < _RESOLVED:
            lag = 0
            while lag < 5 and rnd.random() < 0.5:
                lag += 1
            reveal = _pick(rnd, [0.6, 0.85, 0.95, 1.0])
            first = _FIRST_OUTCOMES[_pick(rnd, cum_first)][0]
            events.append(_Event(_month_label(mi + lag), first, reveal))
            if first == "Awaiting court outcome":
                lag2 = min(MAX_LAG, lag + 1 + int(rnd.random() * 6))
                events.append(_Event(_month_label(mi + lag2), _COURT[_pick(rnd, cum_court)][0],
                                     reveal + int(rnd.random() * 3)))
        cid = hashlib.sha256(f"realshaped|{seed}|{force}|{month}|{i}".encode()).hexdigest() if crime else ""
        rows.append(_Row(cid, ctype, point, u, tuple(events)))
    rnd.shuffle(rows)
    stops: list[_Stop] = []
    y, m = int(month[:4]), moy
    days = calendar.monthrange(y, m)[1]
    for _ in range(stops_per_month):
        day = 1 + int(rnd.random() * days)
        hh, mm = int(rnd.random() * 24), int(rnd.random() * 60)
        offset = "+01:00" if _bst(y, m, day) else "+00:00"
        if (m in (3, 10)) and day > days - 7:
            hh = 12   # never on the hour that changes the clocks
        kind = ("Person search", "Person search", "Person and Vehicle search", "Vehicle search")[int(rnd.random() * 4)]
        p = -1 if rnd.random() < 0.1 else _pick(rnd, geo.cum)
        lat, lon = ("", "") if p < 0 else (geo.points[p].lat, geo.points[p].lon)
        person = kind != "Vehicle search"
        gender = ("Male", "Male", "Male", "Female")[int(rnd.random() * 4)] if person else ""
        age = ("under 10", "10-17", "18-24", "25-34", "over 34")[1 + int(rnd.random() * 4)] if person else ""
        selfeth = ("White - English/Welsh/Scottish/Northern Irish/British", "Asian/Asian British - Pakistani",
                   "Black/African/Caribbean/Black British - African", "Other ethnic group - Not stated",
                   "Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background")[int(rnd.random() * 5)] if person else ""
        offeth = {"W": "White", "A": "Asian", "B": "Black", "O": "Other", "M": "Other"}[selfeth[:1]] if person else ""
        leg, obj = (("Misuse of Drugs Act 1971 (section 23)", "Controlled drugs"),
                    ("Police and Criminal Evidence Act 1984 (section 1)", "Stolen goods"),
                    ("Police and Criminal Evidence Act 1984 (section 1)", "Offensive weapons"),
                    ("Criminal Justice and Public Order Act 1994 (section 60)", "Offensive weapons"))[int(rnd.random() * 4)]
        outcome = ("A no further action disposal", "A no further action disposal", "Arrest", "Community resolution",
                   "Penalty Notice for Disorder", "Khat or Cannabis warning")[int(rnd.random() * 6)]
        linked = "" if outcome == "A no further action disposal" else ("True" if rnd.random() < 0.6 else "False")
        op = rnd.random() < 0.05
        stops.append(_Stop((kind, f"{y:04d}-{m:02d}-{day:02d}T{hh:02d}:{mm:02d}:00{offset}", "True" if op else "False",
                            "Operation Nightfall" if op else "", lat, lon, gender, age, selfeth, offeth, leg, obj,
                            outcome, linked, "False" if person else ""), rnd.random()))
    return tuple(rows), tuple(stops)


def _present(u: float, release: int, withdraw: float) -> bool:
    return not (release >= 1 and u < 1 - (1 - withdraw) ** release)


def _withdrawn_in(u: float, release: int, withdraw: float) -> int | None:
    """The release (1..release) that first left the row out, or None when it is still published."""
    for k in range(1, release + 1):
        if not _present(u, k, withdraw):
            return k
    return None


def _last_outcome(row: _Row, release: int, as_of: str | None) -> str:
    if row.crime_type == ASB:
        return ""
    seen = [e for e in row.events if e.reveal <= release and (as_of is None or e.month <= as_of)]
    return max(seen, key=lambda e: e.month).type if seen else UNDER_INVESTIGATION


# ------------------------------------------------------------------------------------------------ one download
@dataclass(frozen=True)
class _Params:
    forces: tuple[str, ...]
    seed: int
    crimes_per_month: int
    asb_per_month: int
    stops_per_month: int
    outcomes: bool
    withdraw: float
    missing: tuple[tuple[str, tuple[str, ...]], ...]

    def is_missing(self, force: str, month: str) -> bool:
        return month in dict(self.missing).get(force, ())

    def draw(self, force: str, month: str):
        return _draw(force, month, self.seed, self.crimes_per_month, self.asb_per_month, self.stops_per_month)


@dataclass(frozen=True)
class _Download:
    """What one download holds: its months, the release index each month has in it, and its as-of month."""
    months: tuple[str, ...]
    release_for: Callable[[str], int]
    as_of: str | None
    history: Callable[[str], list[tuple[int, str | None]]]   # the month's earlier versions and this one, oldest first


def _params(forces, seed, crimes_per_month, asb_per_month, stops_per_month, outcomes, withdraw, missing) -> _Params:
    if isinstance(forces, str) or not forces:
        raise ValueError(f"realshaped: forces must be a non-empty list of force names. Got {forces!r} instead.")
    if not 0.0 <= float(withdraw) < 1.0:
        raise ValueError(f"realshaped: withdraw must be a share in [0, 1). Got {withdraw!r} instead.")
    for n, v in (("crimes_per_month", crimes_per_month), ("asb_per_month", asb_per_month), ("stops_per_month", stops_per_month)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"realshaped: {n} must be a whole number >= 0. Got {v!r} instead.")
    miss = {}
    for f, ms in (missing or {}).items():
        if f not in forces:
            raise ValueError(f"realshaped: missing names force {f!r}, which is not in forces {list(forces)!r}.")
        for m in ms:
            _month_index(m)
        miss[f] = tuple(sorted(ms))
    return _Params(tuple(forces), int(seed), crimes_per_month, asb_per_month, stops_per_month, bool(outcomes),
                   float(withdraw), tuple(sorted(miss.items())))


def _street_rows(p: _Params, force: str, month: str, release: int, as_of: str | None) -> list[list[str]]:
    geo = _geography(force)
    out = []
    for r in p.draw(force, month)[0]:
        if not _present(r.u, release, p.withdraw):
            continue
        pt = geo.points[r.point] if r.point >= 0 else None
        out.append([r.crime_id, month, force, force, pt.lon if pt else "", pt.lat if pt else "",
                    pt.location if pt else "No Location", pt.lsoa_code if pt else "", pt.lsoa_name if pt else "",
                    r.crime_type, _last_outcome(r, release, as_of), ""])
    return out


def _outcome_rows(p: _Params, force: str, month: str, dl: _Download) -> list[list[str]]:
    geo = _geography(force)
    release = dl.release_for(month)
    mi = _month_index(month)
    out = []
    for ci in range(mi - MAX_LAG, mi + 1):
        cmonth = _month_label(ci)
        if p.is_missing(force, cmonth):
            continue
        crelease = dl.release_for(cmonth)
        for r in p.draw(force, cmonth)[0]:
            if not r.events or not _present(r.u, crelease, p.withdraw):
                continue
            for e in r.events:
                if e.month == month and e.reveal <= release:
                    pt = geo.points[r.point] if r.point >= 0 else None
                    out.append([r.crime_id, month, force, force, pt.lon if pt else "", pt.lat if pt else "",
                                pt.location if pt else "No Location", pt.lsoa_code if pt else "",
                                pt.lsoa_name if pt else "", e.type])
    return out


def _stop_rows(p: _Params, force: str, month: str, release: int) -> list[list[str]]:
    return [list(s.values) for s in p.draw(force, month)[1] if _present(s.u, release, p.withdraw)]


def _files(p: _Params, dl: _Download) -> dict[str, tuple[tuple[str, ...], list[list[str]], str]]:
    """archive path -> (header, rows, force), in archive order."""
    files = {}
    for month in dl.months:
        for force in p.forces:
            if p.is_missing(force, month):
                continue
            release = dl.release_for(month)
            files[file_name(month, force, "street")] = (STREET, _street_rows(p, force, month, release, dl.as_of), force)
            if p.outcomes:
                files[file_name(month, force, "outcomes")] = (OUTCOMES, _outcome_rows(p, force, month, dl), force)
            if p.stops_per_month:
                files[file_name(month, force, "stop-and-search")] = (STOP_SEARCH, _stop_rows(p, force, month, release), force)
    return files


def _csv_text(header, rows, lineterminator: str = "\n", delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _write(root: Path, files, as_zip: bool) -> Path:
    if as_zip:
        target = root if root.suffix.lower() == ".zip" else root.with_name(root.name + ".zip")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (header, rows, _) in files.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, _csv_text(header, rows).encode("utf-8"))
        return target
    for name, (header, rows, _) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_csv_text(header, rows).encode("utf-8"))
    return root


def _archive_download(months, release: int, as_of: str | None) -> _Download:
    if not isinstance(release, int) or release < 0:
        raise ValueError(f"realshaped: release must be a whole number >= 0. Got {release!r} instead.")
    if isinstance(months, str) or not months:
        raise ValueError(f"realshaped: months must be a non-empty list of 'YYYY-MM'. Got {months!r} instead.")
    for m in months:
        _month_index(m)
    if as_of is not None:
        _month_index(as_of)
    return _Download(tuple(sorted(set(months))), lambda m: release, as_of,
                     lambda m: [(k, as_of) for k in range(release + 1)])


def archive(root: Path, *, months: list[str], forces: list[str] = ["Northshire Police"], release: int = 0,
            seed: int = 0, crimes_per_month: int = 60, asb_per_month: int = 15, stops_per_month: int = 10,
            outcomes: bool = True, withdraw: float = 0.0, missing: dict[str, list[str]] | None = None,
            as_zip: bool = False, as_of: str | None = None) -> Path:
    """Write a police.uk download of ``months`` for ``forces``; returns the folder (or the zip with ``as_zip``).

    Parameters
    ----------
    root : Path
        The folder to write ``<YYYY-MM>/<YYYY-MM>-<slug>-<kind>.csv`` into; with ``as_zip`` the zip
        ``root`` (when it ends ``.zip``) or ``<root>.zip``, holding the same members (no folder is left behind).
    months : list of 'YYYY-MM'
        The months in the download (any order, any gaps: "scattered months").
    forces : list of str, default ["Northshire Police"]
        Force names, as in ``Falls within``; each sits in its own place (``FORCE_PLACES``).
    release : int, default 0
        Which publication of these months this is (0 = first). Later releases reveal more outcomes and withdraw
        rows (see ``withdraw``); Crime IDs never change.
    seed : int, default 0
        The same (force, month, seed) gives the same rows.
    crimes_per_month, asb_per_month, stops_per_month : int, default 60, 15, 10
        Mean volumes; the realised month's count is ``round(mean * seasonal factor)`` (stops: exactly the mean).
    outcomes : bool, default True
        Write the outcomes files.
    withdraw : float, default 0.0
        Share of the rows still published that each release after the first leaves out.
    missing : dict force -> months, default None
        Months the force did not publish (no file of any kind, and the month's crimes have no outcomes anywhere).
    as_of : 'YYYY-MM', default None
        Only outcomes dated up to this month are published (None: no limit); :func:`release_series` sets it to the
        download's last month.
    """
    p = _params(forces, seed, crimes_per_month, asb_per_month, stops_per_month, outcomes, withdraw, missing)
    return _write(Path(root), _files(p, _archive_download(months, release, as_of)), as_zip)


def _series_downloads(first: str, n_releases: int, window: int) -> list[_Download]:
    if not isinstance(n_releases, int) or n_releases < 1 or not isinstance(window, int) or window < 1:
        raise ValueError(f"realshaped: n_releases and window must be whole numbers >= 1. "
                         f"Got {n_releases!r} and {window!r} instead.")
    f0 = _month_index(first)

    def first_download(m: str) -> int:  # the download that first published month m (0 for months in the first one)
        return max(0, _month_index(m) - f0 - (window - 1))

    def as_of(j: int) -> str:
        return _month_label(f0 + j + window - 1)

    out = []
    for j in range(n_releases):
        out.append(_Download(tuple(month_range(_month_label(f0 + j), window)),
                             (lambda jj: (lambda m: jj - first_download(m)))(j), as_of(j),
                             (lambda jj: (lambda m: [(k - first_download(m), as_of(k))
                                                     for k in range(first_download(m), jj + 1)]))(j)))
    return out


def release_series(root: Path, first: str = "2016-01", n_releases: int = 3, window: int = 36, *,
                   forces: list[str] = ["Northshire Police"], seed: int = 0, crimes_per_month: int = 60,
                   asb_per_month: int = 15, stops_per_month: int = 10, outcomes: bool = True, withdraw: float = 0.0,
                   missing: dict[str, list[str]] | None = None, as_zip: bool = False) -> list[Path]:
    """Write ``n_releases`` successive monthly downloads, each holding the last ``window`` months.

    Download ``j`` (``root/release-<j>``, or ``root/release-<j>.zip``) holds ``month_range(first + j, window)``,
    published as of its last month: a month first published in download ``j0`` has release ``j - j0`` in download
    ``j`` (months of the first download count from 0 there). So consecutive downloads overlap by ``window - 1``
    months; the later one adds a month, updates outcomes and (with ``withdraw``) leaves a few rows out.
    Returns the downloads' paths, oldest first.
    """
    p = _params(forces, seed, crimes_per_month, asb_per_month, stops_per_month, outcomes, withdraw, missing)
    root = Path(root)
    return [_write(root / f"release-{j}", _files(p, dl), as_zip)
            for j, dl in enumerate(_series_downloads(first, n_releases, window))]


# ------------------------------------------------------------------------------------------------ truth
@dataclass(frozen=True)
class Truth:
    """Everything a download (or the latest versions over a series) holds, row for row.

    ``street``, ``outcomes``, ``stop_search``: every data row, with the police.uk columns plus ``file`` (its archive
    path, e.g. ``2018-07/2018-07-northshire-street.csv``), ``force``, ``month`` (the file's month) and ``release``.
    ``withdrawn``: rows of the covered months published in an earlier version and left out of this one
    (``force, month, kind ('street' | 'stop_search'), crime_id ('' for ASB and stops), crime_type, withdrawn_in``).
    ``outcome_changes``: ``force, month, crime_id, release, before, after`` for every change of
    ``Last outcome category`` between consecutive versions of a month, up to this one.
    ``files``: archive path -> data rows (header excluded).
    """

    street: pd.DataFrame
    outcomes: pd.DataFrame
    stop_search: pd.DataFrame
    withdrawn: pd.DataFrame
    outcome_changes: pd.DataFrame
    files: dict
    months: dict   # force -> months written (sorted)

    def counts(self, *, kind: str = "all") -> pd.DataFrame:
        """``force, month, crime_type, count`` for every covered (force, month) and all 14 types (0 where none).
        ``kind`` "crime" leaves ASB out, "asb" keeps only ASB, "all" keeps both."""
        if kind not in ("all", "crime", "asb"):
            raise ValueError(f"Truth.counts: kind must be 'all', 'crime' or 'asb'. Got {kind!r} instead.")
        types = [t for t in CRIME_TYPES if kind == "all" or (t == ASB) == (kind == "asb")]
        grid = pd.DataFrame([(f, m, t) for f, ms in self.months.items() for m in ms for t in types],
                            columns=["force", "month", "crime_type"])
        got = self.street.groupby(["force", "month", "Crime type"]).size().rename("count").reset_index()
        got = got.rename(columns={"Crime type": "crime_type"})
        out = grid.merge(got, on=["force", "month", "crime_type"], how="left")
        out["count"] = out["count"].fillna(0).astype("int64")
        return out.sort_values(["force", "month", "crime_type"], ignore_index=True)

    def total(self, *, kind: str = "all", force: str | None = None, month: str | None = None) -> int:
        """Street rows of that kind (and force, and month)."""
        c = self.counts(kind=kind)
        if force is not None:
            c = c[c["force"] == force]
        if month is not None:
            c = c[c["month"] == month]
        return int(c["count"].sum())

    def crime_ids(self, force: str | None = None, month: str | None = None) -> set[str]:
        s = self.street[self.street["Crime ID"] != ""]
        if force is not None:
            s = s[s["force"] == force]
        if month is not None:
            s = s[s["month"] == month]
        return set(s["Crime ID"])


def _truth(p: _Params, items: list[tuple[str, str, _Download]]) -> Truth:
    """Truth over (force, month, download) items: each month's version as that download publishes it."""
    street, outs, stops, withdrawn, changes, files = [], [], [], [], [], {}
    months: dict[str, list[str]] = {f: [] for f in p.forces}
    for force, month, dl in items:
        release = dl.release_for(month)
        months[force].append(month)
        name = file_name(month, force, "street")
        rows = _street_rows(p, force, month, release, dl.as_of)
        files[name] = len(rows)
        street += [r + [name, force, month, release] for r in rows]
        if p.outcomes:
            name = file_name(month, force, "outcomes")
            rows = _outcome_rows(p, force, month, dl)
            files[name] = len(rows)
            outs += [r + [name, force, month, release] for r in rows]
        if p.stops_per_month:
            name = file_name(month, force, "stop-and-search")
            rows = _stop_rows(p, force, month, release)
            files[name] = len(rows)
            stops += [r + [name, force, month, release] for r in rows]
        history = dl.history(month)
        crimes, stop_draws = p.draw(force, month)
        first_release = history[0][0]
        for r in crimes:
            k = _withdrawn_in(r.u, release, p.withdraw)
            if k is not None and k > first_release:
                withdrawn.append((force, month, "street", r.crime_id, r.crime_type, k))
            if r.crime_type == ASB or (k is not None and k <= release):
                continue
            for (r0, a0), (r1, a1) in zip(history, history[1:]):
                before, after = _last_outcome(r, r0, a0), _last_outcome(r, r1, a1)
                if before != after:
                    changes.append((force, month, r.crime_id, r1, before, after))
        for s in stop_draws:
            k = _withdrawn_in(s.u, release, p.withdraw)
            if k is not None and k > first_release:
                withdrawn.append((force, month, "stop_search", "", "", k))
    extra = ["file", "force", "month", "release"]
    return Truth(
        street=pd.DataFrame(street, columns=[*STREET, *extra]),
        outcomes=pd.DataFrame(outs, columns=[*OUTCOMES, *extra]),
        stop_search=pd.DataFrame(stops, columns=[*STOP_SEARCH, *extra]),
        withdrawn=pd.DataFrame(withdrawn, columns=["force", "month", "kind", "crime_id", "crime_type", "withdrawn_in"]),
        outcome_changes=pd.DataFrame(changes, columns=["force", "month", "crime_id", "release", "before", "after"]),
        files=files, months={f: sorted(ms) for f, ms in months.items()},
    )


def expected(*, months: list[str], forces: list[str] = ["Northshire Police"], release: int = 0, seed: int = 0,
             crimes_per_month: int = 60, asb_per_month: int = 15, stops_per_month: int = 10, outcomes: bool = True,
             withdraw: float = 0.0, missing: dict[str, list[str]] | None = None, as_zip: bool = False,
             as_of: str | None = None) -> Truth:
    """The :class:`Truth` of ``archive(...)`` with the same keywords (``as_zip`` is accepted and changes nothing)."""
    p = _params(forces, seed, crimes_per_month, asb_per_month, stops_per_month, outcomes, withdraw, missing)
    dl = _archive_download(months, release, as_of)
    return _truth(p, [(f, m, dl) for m in dl.months for f in p.forces if not p.is_missing(f, m)])


def series_expected(first: str = "2016-01", n_releases: int = 3, window: int = 36, *, download: int | None = None,
                    forces: list[str] = ["Northshire Police"], seed: int = 0, crimes_per_month: int = 60,
                    asb_per_month: int = 15, stops_per_month: int = 10, outcomes: bool = True, withdraw: float = 0.0,
                    missing: dict[str, list[str]] | None = None, as_zip: bool = False) -> Truth:
    """The :class:`Truth` of ``release_series(...)`` with the same keywords.

    ``download=j``: what download ``j`` alone holds. ``download=None`` (default): the latest version of every month
    over the whole series, i.e. what a store should hold after loading the downloads in any order."""
    p = _params(forces, seed, crimes_per_month, asb_per_month, stops_per_month, outcomes, withdraw, missing)
    dls = _series_downloads(first, n_releases, window)
    if download is not None:
        if not isinstance(download, int) or not 0 <= download < n_releases:
            raise ValueError(f"series_expected: download must be in 0..{n_releases - 1}. Got {download!r} instead.")
        dl = dls[download]
        return _truth(p, [(f, m, dl) for m in dl.months for f in p.forces if not p.is_missing(f, m)])
    latest: dict[str, _Download] = {}
    for dl in dls:
        for m in dl.months:
            latest[m] = dl
    return _truth(p, [(f, m, latest[m]) for m in sorted(latest) for f in p.forces if not p.is_missing(f, m)])


# ------------------------------------------------------------------------------------------------ spreadsheet damage
_MON = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAMAGE_STYLES = ("dmy", "mdy", "mon-yy", "iso-date", "yyyy-m")


def _damage_month(value: str, style: str) -> str:
    if len(value) != 7 or value[4] != "-":
        return value
    y, m = int(value[:4]), int(value[5:])
    return {"dmy": f"01/{m:02d}/{y:04d}", "mdy": f"{m}/1/{y:04d}", "mon-yy": f"{_MON[m - 1]}-{y % 100:02d}",
            "iso-date": f"{y:04d}-{m:02d}-01", "yyyy-m": f"{y:04d}-{m}"}[style]


def _damage_datetime(value: str, style: str) -> str:
    """A stop-and-search ISO date-time as a spreadsheet shows it: ``03/02/2024 14:05`` (dmy), ``2/3/2024 14:05`` (mdy)."""
    if len(value) < 16 or value[4] != "-" or value[10] != "T":
        return value
    y, m, d, hm = value[:4], int(value[5:7]), int(value[8:10]), value[11:16]
    if style == "mdy":
        return f"{m}/{d}/{y} {hm}"
    if style in ("iso-date", "yyyy-m"):
        return f"{y}-{m:02d}-{d:02d} {hm}"
    return f"{d:02d}/{m:02d}/{y} {hm}"


def _damage_number(value: str) -> str:
    """Excel writes numbers in its General format: ``53.800000 -> 53.8``."""
    try:
        f = float(value)
    except ValueError:
        return value
    if not value or not math.isfinite(f):
        return value
    return f"{f:.15g}"


def excel_damage(csv_path: Path, style: str = "dmy", out: Path | None = None, *, delimiter: str = ",",
                 encoding: str = "utf-8-sig") -> Path:
    """Rewrite a police.uk CSV the way Excel/LibreOffice saves it after opening it; returns the path written.

    ``Month`` (street, outcomes) becomes ``01/07/2018`` (``style="dmy"``, UK Excel), ``7/1/2018`` (``"mdy"``, US
    Excel), ``Jul-18`` (``"mon-yy"``), ``2018-07-01`` (``"iso-date"``, LibreOffice) or ``2018-7`` (``"yyyy-m"``);
    a stop-and-search ``Date`` becomes ``03/02/2024 14:05`` (``"mdy"``: ``2/3/2024 14:05``). Coordinates lose their
    trailing zeros. The file gets a UTF-8 BOM (``encoding="utf-8-sig"``, Excel's "CSV UTF-8"; ``"cp1252"`` is the
    legacy "CSV (Comma delimited)" save, no BOM) and CRLF line ends; ``delimiter=";"`` is a European-locale save.
    ``out=None`` overwrites ``csv_path``.
    """
    if style not in DAMAGE_STYLES:
        raise ValueError(f"excel_damage: style must be one of {DAMAGE_STYLES}. Got {style!r} instead.")
    src = Path(csv_path)
    with open(src, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    header, rows = table[0], table[1:]
    numbers = {i for i, h in enumerate(header) if h in ("Longitude", "Latitude")}
    month = header.index("Month") if "Month" in header else None
    date = header.index("Date") if "Date" in header else None
    damaged = []
    for row in rows:
        row = list(row)
        for i in numbers:
            if i < len(row):
                row[i] = _damage_number(row[i])
        if month is not None and month < len(row):
            row[month] = _damage_month(row[month], style)
        if date is not None and date < len(row):
            row[date] = _damage_datetime(row[date], style)
        damaged.append(row)
    target = Path(out) if out is not None else src
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_csv_text(header, damaged, lineterminator="\r\n", delimiter=delimiter).encode(encoding))
    return target
