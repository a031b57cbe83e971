"""Write a synthetic force's files: the police.uk archive, an RMS export with its mapping, analyst tables, truth.

All file writing for :mod:`whatworks.synth` lives here (DESIGN.md: only ``store/`` writes files). Months are
streamed: each month's crimes and stops are written as soon as they are generated, and outcome rows wait in
a buffer only until their own month's file is written, so memory stays bounded whatever the size.

Formats written
---------------
police.uk (``DIR/YYYY-MM/YYYY-MM-synthshire-street.csv``, ``-outcomes.csv``, ``-stop-and-search.csv``, and the
zip of the whole archive as ``DIR.zip``): the exact police.uk headers (REFERENCE.md), ``Month`` as ``YYYY-MM``,
points snapped to the street segment's anonymous map point with "On or near <street>", blank Crime ID and
outcome for ASB, 64-hex Crime IDs, rows published without a location ("No Location", blank coordinates and
LSOA), stop-and-search ``Date`` as ISO 8601 with the UK offset (``2024-01-05T10:30:00+00:00``,
``…+01:00`` in summer time). Fields are quoted only when needed, lines end with ``\\n``.

RMS export (``DIR/crimes.csv``, ``stops.csv``, ``arrests.csv``, ``roles.csv``, ``persons-<system>.csv`` and
``DIR/mapping.toml``): the force's own column names, offence codes and date formats, which ``mapping.toml``
translates for :meth:`whatworks.store.Store.ingest_records` (docs/records-mapping.md).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from whatworks.errors import error
from whatworks.store.geo import from_bng

if TYPE_CHECKING:  # pragma: no cover
    from whatworks.synth.force import SyntheticForce

STREET_HEADER = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                 "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES_HEADER = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                   "LSOA name", "Outcome type")
STOP_HEADER = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
               "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
               "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing")
NO_LOCATION = "No Location"
ZIP_LEVEL = 1          # fast deflate: the archive is mostly repeated text and still shrinks ~5x

RMS_DATE = "%d/%m/%Y %H:%M"
# Person files per system: (file name, column headers, dob format, delimiter). Different systems, different habits.
PERSON_FILES = {
    "synthshire-rms": ("persons-rms.csv", ("PersonRef", "Forename", "Surname", "DOB", "Sex", "Ethnicity", "Postcode"),
                       "%d/%m/%Y", ","),
    "synthshire-custody": ("persons-custody.csv", ("CustodyRef", "FirstName", "LastName", "DateOfBirth", "Gender",
                                                   "EthnicGroup", "HomePostcode"), "%Y-%m-%d", ","),
    "synthshire-stopsearch": ("persons-stopsearch.csv", ("SubjectRef", "Forename", "Surname", "DOB", "Sex", "Ethnicity",
                                                         "Postcode"), "%d-%b-%Y", ","),
    "synthshire-probation": ("persons-probation.csv", ("CaseRef", "GivenName", "FamilyName", "BirthDate", "Sex",
                                                       "Ethnicity", "Postcode"), "%d/%m/%Y", ";"),
}
ROLE_CODES = {"victim": "VIC", "offender": "OFF"}
KIND_CODES = {"crime": "CRIME", "asb": "ASB"}


# ---------------------------------------------------------------------------------------------- helpers


def _header(fh, names, delimiter: str = ",") -> None:
    fh.write((delimiter.join(names) + "\n").encode("utf-8"))


def _check_text(values, what: str, delimiter: str = ",") -> None:
    """Refuse text that would need CSV quoting. Event files are written unquoted, like police.uk's, and every
    value in them comes from a vocabulary checked here once (so a bad name fails loudly, never a broken file)."""
    unsafe = (delimiter, '"', "\n", "\r")
    for v in values:
        if v is not None and any(c in str(v) for c in unsafe):
            raise error("write", f"A {what} contains a delimiter, quote or line break, which the unquoted police.uk-style "
                                 "files cannot hold.", got=v, hint="Remove the character from the vocabulary.")


def _check_vocabularies() -> None:
    from whatworks.synth import _constants as C

    words = [C.FORCE_NAME, C.NOT_STATED, C.NFA, *C.CRIME_TYPES, *C.OUTCOME_CATEGORIES, *C.SEARCH_TYPES, *C.AGE_RANGES,
             *C.ETHNIC_GROUPS, *C.OBJECTS, *(v[1] for v in C.OBJECTS.values()), *C.FIND_OUTCOMES,
             *(x for v in C.SELF_DEFINED.values() for x in v), *C.RMS_OFFENCE_CODES.values()]
    _check_text(words, "vocabulary")


def _has_unsafe(table: pa.Table, delimiter: str) -> bool:
    for col in table.columns:
        if pa.types.is_string(col.type):
            for ch in {delimiter, '"', "\n", "\r"}:
                if pc.any(pc.match_substring(col, ch)).as_py():
                    return True
    return False


def _write_table(fh, table: pa.Table, delimiter: str = ",", *, check: bool = False) -> None:
    """Write rows without a header. Unquoted (police.uk style) unless ``check`` finds a value that needs quotes,
    in which case every string of the table is quoted (still valid CSV)."""
    quoted = check and _has_unsafe(table, delimiter)
    opts = pcsv.WriteOptions(include_header=False, quoting_style="needed" if quoted else "none", delimiter=delimiter)
    pcsv.write_csv(table, fh, opts)


def _write(fh, columns: dict[str, pa.Array], names) -> None:
    _write_table(fh, pa.table({n: columns[n] for n in names}))


def _s(values) -> pa.Array:
    """Any column (numpy, pandas, Arrow-backed) as an Arrow string array with nulls kept."""
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            cats = pa.array([str(c) for c in values.cat.categories], pa.string())
            return pc.take(cats, pa.array(codes, mask=codes < 0))
        if isinstance(values.dtype, pd.ArrowDtype):
            return pa.array(values).cast(pa.string())
        values = values.to_numpy(dtype=object)
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return pa.array(arr.astype(str), pa.string())
    return pa.array(arr.astype(object), pa.string(), from_pandas=True)


def _int(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64))


def _const(value: str | None, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string()) if value is not None else pa.nulls(n, pa.string())


def _mask(arr: pa.Array, keep: np.ndarray, other: str | None = None) -> pa.Array:
    fill = pa.scalar(other, pa.string())
    return pc.if_else(pa.array(np.asarray(keep, bool)), arr, fill)


def _strftime(ts: np.ndarray, fmt: str) -> pa.Array:
    arr = pa.array(np.asarray(ts, dtype="datetime64[s]"), pa.timestamp("s"))
    return pc.strftime(arr, format=fmt)


class _Segments:
    """Per street segment, the police.uk strings (map point, "On or near", LSOA), built once."""

    def __init__(self, force: "SyntheticForce"):
        geo = force.geography
        seg = geo.segments
        lon, lat = from_bng(seg["x"].to_numpy(), seg["y"].to_numpy())
        self.lon = pa.array([f"{v:.6f}" for v in lon], pa.string())
        self.lat = pa.array([f"{v:.6f}" for v in lat], pa.string())
        self.location = pa.array(["On or near " + s for s in seg["street"]], pa.string())
        self.street = pa.array(list(seg["street"]), pa.string())
        names = dict(zip(geo.lsoas["code"], geo.lsoas["name"]))
        _check_text(set(seg["street"]) | set(names.values()), "street or area name")
        self.lsoa_code = pa.array(list(seg["lsoa_code"]), pa.string())
        self.lsoa_name = pa.array([names[c] for c in seg["lsoa_code"]], pa.string())

    def take(self, attr: str, seg: np.ndarray) -> pa.Array:
        return pc.take(getattr(self, attr), pa.array(np.asarray(seg, dtype=np.int64)))


# ---------------------------------------------------------------------------------------------- police.uk


class _Zipper:
    """Adds finished files to a zip on a background thread: deflate releases the GIL, so compressing month
    *m* overlaps generating month *m + 1*. Members are added in the order given (deterministic bytes)."""

    def __init__(self, path: Path, stamp: tuple):
        import queue
        import threading

        self.path, self.stamp = path, stamp
        self.queue: queue.Queue = queue.Queue(maxsize=64)
        self.error: BaseException | None = None
        self.zf = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
        self.thread = threading.Thread(target=self._run, name="whatworks-zip", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            try:
                f, arcname = item
                info = zipfile.ZipInfo(arcname, date_time=self.stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(f, "rb") as src, self.zf.open(info, "w", force_zip64=f.stat().st_size > (1 << 30)) as dst:
                    while chunk := src.read(1 << 22):
                        dst.write(chunk)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread by close()
                self.error = exc

    def add(self, f: Path, arcname: str) -> None:
        self.queue.put((f, arcname))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.zf.close()
        if self.error is not None:
            raise self.error


class PoliceUKWriter:
    """Writes one month folder per :meth:`month` call (street, outcomes, stop-and-search) and zips as it goes."""

    def __init__(self, force: "SyntheticForce", directory: Path, segments: _Segments, *, archive: bool):
        from whatworks.synth import _constants as C

        self.force, self.dir, self.seg, self.archive = force, Path(directory), segments, archive
        self.name, self.slug = C.FORCE_NAME, C.FORCE_SLUG
        self.labels = force.month_labels
        self.pending: dict[int, list[pa.Table]] = {}
        _check_vocabularies()
        self.zipper = None
        if archive:
            last = pd.Timestamp(self.labels[-1] + "-01")
            self.dir.mkdir(parents=True, exist_ok=True)
            self.zipper = _Zipper(self.dir.with_name(self.dir.name + ".zip"), (max(last.year, 1980), last.month, 1, 0, 0, 0))

    def _path(self, label: str, kind: str) -> Path:
        d = self.dir / label
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{label}-{self.slug}-{kind}.csv"

    def month(self, batch) -> None:
        cf, sf, label = batch.crimes, batch.stops, batch.label
        n = len(cf)
        seg = cf["segment_id"].to_numpy()
        located = cf["located_on_policeuk"].to_numpy()
        cols = {
            "Crime ID": _s(cf["crime_id"]), "Month": _const(label, n), "Reported by": _const(self.name, n),
            "Falls within": _const(self.name, n),
            "Longitude": _mask(self.seg.take("lon", seg), located), "Latitude": _mask(self.seg.take("lat", seg), located),
            "Location": _mask(self.seg.take("location", seg), located, NO_LOCATION),
            "LSOA code": _mask(self.seg.take("lsoa_code", seg), located),
            "LSOA name": _mask(self.seg.take("lsoa_name", seg), located),
            "Crime type": _s(cf["crime_type"]), "Last outcome category": _s(cf["outcome"]), "Context": _const(None, n),
        }
        path = self._path(label, "street")
        with open(path, "wb") as fh:
            _header(fh, STREET_HEADER)
            _write(fh, cols, STREET_HEADER)

        # outcomes: rows wait for their own month's file
        from whatworks.synth.force import outcome_rows

        out = outcome_rows(cf)
        if len(out):
            om = out["month"].to_numpy().astype("datetime64[M]")
            first = np.datetime64(self.labels[0], "M")
            idx = (om - first).astype(np.int64)
            seg_o = out["segment_id"].to_numpy()
            loc_o = out["located_on_policeuk"].to_numpy()
            k = len(out)
            labels = pa.array(np.array(self.labels, dtype=object)[idx].tolist(), pa.string())
            table = pa.table({
                "Crime ID": _s(out["crime_id"]), "Month": labels, "Reported by": _const(self.name, k),
                "Falls within": _const(self.name, k),
                "Longitude": _mask(self.seg.take("lon", seg_o), loc_o), "Latitude": _mask(self.seg.take("lat", seg_o), loc_o),
                "Location": _mask(self.seg.take("location", seg_o), loc_o, NO_LOCATION),
                "LSOA code": _mask(self.seg.take("lsoa_code", seg_o), loc_o),
                "LSOA name": _mask(self.seg.take("lsoa_name", seg_o), loc_o),
                "Outcome type": _s(out["outcome_type"]),
            })
            for i in np.unique(idx):
                self.pending.setdefault(int(i), []).append(table.filter(pa.array(idx == i)))
        parts = self.pending.pop(batch.month, [])
        path = self._path(label, "outcomes")
        with open(path, "wb") as fh:
            _header(fh, OUTCOMES_HEADER)
            for t in parts:
                _write_table(fh, t)

        # stop and search
        k = len(sf)
        seg_s = sf["segment_id"].to_numpy()
        loc_s = sf["located_on_policeuk"].to_numpy()
        offset = np.where(sf["utc_offset_minutes"].to_numpy() == 60, "+01:00", "+00:00")
        date = pc.binary_join_element_wise(_strftime(sf["occurred"].to_numpy(), "%Y-%m-%dT%H:%M:%S"),
                                           pa.array(offset.tolist(), pa.string()), "")
        cols = {
            "Type": _s(sf["search_type"]), "Date": date, "Part of a policing operation": _s(sf["part_of_operation"]),
            "Policing operation": _s(sf["operation_name"]),
            "Latitude": _mask(self.seg.take("lat", seg_s), loc_s), "Longitude": _mask(self.seg.take("lon", seg_s), loc_s),
            "Gender": _s(sf["gender"]), "Age range": _s(sf["age_range"]),
            "Self-defined ethnicity": _s(sf["self_defined_ethnicity"]),
            "Officer-defined ethnicity": _s(sf["officer_defined_ethnicity"]), "Legislation": _s(sf["legislation"]),
            "Object of search": _s(sf["object_of_search"]), "Outcome": _s(sf["outcome"]),
            "Outcome linked to object of search": _s(sf["outcome_linked_to_object"]),
            "Removal of more than just outer clothing": _s(sf["removal_of_more_than_outer_clothing"]),
        }
        path = self._path(label, "stop-and-search")
        with open(path, "wb") as fh:
            _header(fh, STOP_HEADER)
            _write(fh, cols, STOP_HEADER)
        if self.zipper is not None:
            for kind in ("outcomes", "stop-and-search", "street"):   # sorted order within the month
                self.zipper.add(self._path(label, kind), f"{label}/{label}-{self.slug}-{kind}.csv")

    def finish(self) -> dict[str, Path]:
        paths = {"policeuk": self.dir}
        if self.zipper is not None:
            self.zipper.close()
            paths["policeuk_zip"] = self.zipper.path
        return paths

    def abort(self) -> BaseException | None:
        """Stop the zip thread after a failure elsewhere; returns the zip thread's own error, if any."""
        if self.zipper is None:
            return None
        z = self.zipper
        z.queue.put(None)
        z.thread.join()
        z.zf.close()
        return z.error


# ---------------------------------------------------------------------------------------------- RMS export


class RecordsWriter:
    """Appends each month to the RMS export files; writes the persons files and ``mapping.toml`` at the end."""

    CRIMES = ("CrimeRef", "RecordType", "Committed", "Offence", "Easting", "Northing", "LSOA", "Street", "Outcome")
    STOPS = ("SearchRef", "SearchDateTime", "SubjectRef", "Easting", "Northing", "LSOA", "SearchType", "Gender", "AgeRange",
             "SelfDefinedEthnicity", "OfficerDefinedEthnicity", "Legislation", "ObjectOfSearch", "Outcome",
             "OutcomeLinkedToObject", "MoreThanOuterClothing", "PartOfOperation", "OperationName")
    ARRESTS = ("ArrestRef", "ArrestDateTime", "CustodyRef", "Offence", "Easting", "Northing", "LSOA", "ArrestOutcome")
    ROLES = ("CrimeRef", "PersonRef", "Role")

    def __init__(self, force: "SyntheticForce", directory: Path, segments: _Segments):
        from whatworks.synth import _constants as C

        self.force, self.dir, self.seg, self.C = force, Path(directory), segments, C
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fh = {}
        for name, header in (("crimes", self.CRIMES), ("stops", self.STOPS), ("arrests", self.ARRESTS), ("roles", self.ROLES)):
            fh = open(self.dir / f"{name}.csv", "wb")
            _header(fh, header)
            self.fh[name] = fh
        codes = C.RMS_OFFENCE_CODES
        self.offence_codes = pa.array([codes[t] for t in C.CRIME_TYPES], pa.string())

    def _offence(self, s: pd.Series) -> pa.Array:
        codes = s.cat.codes.to_numpy() if isinstance(s.dtype, pd.CategoricalDtype) else \
            pd.Categorical(s, categories=list(self.C.CRIME_TYPES)).codes
        return pc.take(self.offence_codes, pa.array(codes, mask=codes < 0))

    def month(self, batch) -> None:
        from whatworks.synth.force import arrest_rows, role_rows

        cf, sf = batch.crimes, batch.stops
        seg = cf["segment_id"].to_numpy()
        kind = np.where(cf["kind"].to_numpy() == "asb", KIND_CODES["asb"], KIND_CODES["crime"])
        _write(self.fh["crimes"], {
            "CrimeRef": _s(cf["reference"]), "RecordType": pa.array(kind.tolist(), pa.string()),
            "Committed": _strftime(cf["occurred"].to_numpy(), RMS_DATE), "Offence": self._offence(cf["crime_type"]),
            "Easting": _int(cf["x"]), "Northing": _int(cf["y"]), "LSOA": self.seg.take("lsoa_code", seg),
            "Street": self.seg.take("street", seg), "Outcome": _s(cf["outcome"]),
        }, self.CRIMES)
        yn = {"True": "Y", "False": "N"}
        _write(self.fh["stops"], {
            "SearchRef": _s(sf["reference"]), "SearchDateTime": _strftime(sf["occurred"].to_numpy(), RMS_DATE),
            "SubjectRef": _s(sf["person_id"]), "Easting": _int(sf["x"]), "Northing": _int(sf["y"]),
            "LSOA": _s(sf["lsoa_code"]), "SearchType": _s(sf["search_type"]), "Gender": _s(sf["gender"]),
            "AgeRange": _s(sf["age_range"]), "SelfDefinedEthnicity": _s(sf["self_defined_ethnicity"]),
            "OfficerDefinedEthnicity": _s(sf["officer_defined_ethnicity"]), "Legislation": _s(sf["legislation"]),
            "ObjectOfSearch": _s(sf["object_of_search"]), "Outcome": _s(sf["outcome"]),
            "OutcomeLinkedToObject": _s(sf["outcome_linked_to_object"].map(yn)),
            "MoreThanOuterClothing": _s(sf["removal_of_more_than_outer_clothing"].map(yn)),
            "PartOfOperation": _s(sf["part_of_operation"].map(yn)), "OperationName": _s(sf["operation_name"]),
        }, self.STOPS)
        ar = arrest_rows(cf)
        _write(self.fh["arrests"], {
            "ArrestRef": _s(ar["reference"]), "ArrestDateTime": _strftime(ar["occurred"].to_numpy(), RMS_DATE),
            "CustodyRef": _s(ar["person_id"]), "Offence": self._offence(ar["crime_type"]), "Easting": _int(ar["x"]),
            "Northing": _int(ar["y"]), "LSOA": _s(ar["lsoa_code"]), "ArrestOutcome": _s(ar["outcome"]),
        }, self.ARRESTS)
        rr = role_rows(cf)
        _write(self.fh["roles"], {"CrimeRef": _s(rr["reference"]), "PersonRef": _s(rr["person_id"]),
                                  "Role": _s(rr["role"].map(ROLE_CODES))}, self.ROLES)

    def finish(self, final: dict) -> dict[str, Path]:
        for fh in self.fh.values():
            fh.close()
        persons = final["persons"]
        for system, (fname, header, dob_fmt, delim) in PERSON_FILES.items():
            p = persons[persons["source_system"] == system]
            dob = pd.to_datetime(p["dob"], format="%Y-%m-%d").to_numpy().astype("datetime64[s]")
            dob_txt = pc.strftime(pa.array(dob, pa.timestamp("s"), from_pandas=True), format=dob_fmt)
            cols = dict(zip(header, (_s(p["person_id"]), _s(p["first_name"]), _s(p["surname"]), dob_txt,
                                     _s(p["sex"]), _s(p["ethnicity"]), _s(p["postcode"]))))
            with open(self.dir / fname, "wb") as fh:
                _header(fh, header, delim)
                _write_table(fh, pa.table({n: cols[n] for n in header}), delim, check=True)
        mapping = self.dir / "mapping.toml"
        mapping.write_text(mapping_toml(), encoding="utf-8")
        return {"records": self.dir, "mapping": mapping}


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def mapping_toml() -> str:
    """The mapping file that reads the synthetic RMS export (docs/records-mapping.md, version 1)."""
    from whatworks.synth import _constants as C

    out = io.StringIO()
    w = out.write
    w("# Mapping for the synthetic force's RMS export, written by whatworks.synth (docs/synth.md).\n")
    w("# Load with: whatworks ingest records <this folder> --mapping <this folder>/mapping.toml\n")
    w("version = 1\n")
    w(f"source_system = {_toml_str(C.RMS_SYSTEM)}\n")
    w(f"force = {_toml_str(C.FORCE_NAME)}\n\n")

    def block(pattern, table, columns, *, formats=None, codes=None, source_system=None, delimiter=None):
        w("[[files]]\n")
        w(f"pattern = {_toml_str(pattern)}\n")
        w(f"table = {_toml_str(table)}\n")
        if source_system:
            w(f"source_system = {_toml_str(source_system)}\n")
        if delimiter:
            w(f"delimiter = {_toml_str(delimiter)}\n")
        w("\n[files.columns]\n")
        for k, v in columns.items():
            w(f"{k} = {_toml_str(v)}\n")
        if formats:
            w("\n[files.formats]\n")
            for k, v in formats.items():
                w(f"{k} = [{', '.join(_toml_str(f) for f in v)}]\n")
        for col, table_codes in (codes or {}).items():
            w(f"\n[files.codes.{col}]\n")
            for k, v in table_codes.items():
                w(f"{_toml_str(k)} = {_toml_str(v)}\n")
        w("\n")

    offence = {code: t for t, code in C.RMS_OFFENCE_CODES.items()}
    block("crimes.csv", "crimes", {"reference": "CrimeRef", "kind": "RecordType", "occurred": "Committed",
                                   "crime_type": "Offence", "x": "Easting", "y": "Northing", "lsoa_code": "LSOA",
                                   "location": "Street", "outcome": "Outcome"},
          formats={"occurred": [RMS_DATE]},
          codes={"crime_type": offence, "kind": {v: k for k, v in KIND_CODES.items()}})
    block("stops.csv", "stops", {"reference": "SearchRef", "occurred": "SearchDateTime", "person_id": "SubjectRef",
                                 "x": "Easting", "y": "Northing", "lsoa_code": "LSOA", "search_type": "SearchType",
                                 "gender": "Gender", "age_range": "AgeRange",
                                 "self_defined_ethnicity": "SelfDefinedEthnicity",
                                 "officer_defined_ethnicity": "OfficerDefinedEthnicity", "legislation": "Legislation",
                                 "object_of_search": "ObjectOfSearch", "outcome": "Outcome",
                                 "outcome_linked_to_object": "OutcomeLinkedToObject",
                                 "removal_of_more_than_outer_clothing": "MoreThanOuterClothing",
                                 "part_of_operation": "PartOfOperation", "operation_name": "OperationName"},
          formats={"occurred": [RMS_DATE]}, source_system=C.STOPS_SYSTEM)
    block("arrests.csv", "arrests", {"reference": "ArrestRef", "occurred": "ArrestDateTime", "person_id": "CustodyRef",
                                     "crime_type": "Offence", "x": "Easting", "y": "Northing", "lsoa_code": "LSOA",
                                     "outcome": "ArrestOutcome"},
          formats={"occurred": [RMS_DATE]}, codes={"crime_type": offence}, source_system=C.CUSTODY_SYSTEM)
    block("roles.csv", "roles", {"reference": "CrimeRef", "person_id": "PersonRef", "role": "Role"},
          codes={"role": {v: k for k, v in ROLE_CODES.items()}})
    for system, (fname, header, dob_fmt, delim) in PERSON_FILES.items():
        cols = dict(zip(("person_id", "first_name", "surname", "dob", "sex", "ethnicity", "postcode"), header))
        block(fname, "persons", cols, formats={"dob": [dob_fmt]},
              source_system=None if system == C.RMS_SYSTEM else system, delimiter=None if delim == "," else delim)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- tables and truth


def _csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return path


def write_tables(force: "SyntheticForce", directory: Path, final: dict) -> dict[str, Path]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in TABLE_FILES:
        table = final["om_programme"] if name == "om_programme" else force.tables[name]
        paths[f"table_{name}"] = _csv(table, d / f"{name}.csv")
    paths["tables"] = d
    return paths


class TruthWriter:
    """Streams the row-level truth of crimes and stops; writes ``truth.json`` and the other truth tables at the end."""

    def __init__(self, force: "SyntheticForce", directory: Path):
        from whatworks.synth.crimes import TRUTH_COLUMNS
        from whatworks.synth.stops import STOP_TRUTH_COLUMNS

        self.force, self.dir = force, Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.crime_cols, self.stop_cols = TRUTH_COLUMNS, STOP_TRUTH_COLUMNS
        self.crimes = open(self.dir / "crimes_truth.csv", "wb")
        _header(self.crimes, self.crime_cols)
        self.stops = open(self.dir / "stops_truth.csv", "wb")
        _header(self.stops, self.stop_cols)

    def month(self, batch) -> None:
        cf, sf = batch.crimes, batch.stops
        _write_table(self.crimes, pa.table({c: (_s(cf[c]) if cf[c].dtype == object or isinstance(cf[c].dtype, pd.ArrowDtype)
                                                else pa.array(cf[c].to_numpy())) for c in self.crime_cols}))
        _write_table(self.stops, pa.table({c: (_s(sf[c]) if sf[c].dtype == object else pa.array(sf[c].to_numpy()))
                                           for c in self.stop_cols}))

    def finish(self, final: dict) -> dict[str, Path]:
        self.crimes.close()
        self.stops.close()
        paths = {"truth": self.dir}
        paths["truth_person_identity"] = _csv(final["person_identity"], self.dir / "person_identity.csv")
        paths["truth_om_programme"] = _csv(final["om_truth"], self.dir / "om_programme_truth.csv")
        paths["truth_survey"] = _csv(self.force.truth_tables["survey"], self.dir / "survey_truth.csv")
        paths["truth_segment_risk"] = _csv(self.force.truth_tables["segment_risk"], self.dir / "segment_risk_truth.csv")
        tj = self.dir / "truth.json"
        tj.write_text(self.force.truth_json(), encoding="utf-8")
        paths["truth_json"] = tj
        paths["truth_crimes"] = self.dir / "crimes_truth.csv"
        paths["truth_stops"] = self.dir / "stops_truth.csv"
        return paths


# ---------------------------------------------------------------------------------------------- one pass


TABLE_FILES = ("areas", "segments", "survey", "survey_margins", "workforce", "hotspot_trial", "policy_adoption",
               "interventions", "om_programme")
TRUTH_FILES = ("truth.json", "crimes_truth.csv", "stops_truth.csv", "person_identity.csv", "om_programme_truth.csv",
               "survey_truth.csv", "segment_risk_truth.csv")


def _check_folder(path: Path | None, allowed: set[str], what: str) -> None:
    """Refuse to write into a folder holding anything this writer would not write there (a stale month folder, someone
    else's export), since readers load every file in a folder."""
    if path is None or not path.exists():
        return
    if not path.is_dir():
        raise error("write", f"The {what} path {str(path)!r} is a file, not a folder.", hint="Pass a folder path.")
    extra = sorted(p.name for p in path.iterdir() if p.name not in allowed)
    if extra:
        raise error("write", f"The {what} folder {str(path)!r} already holds files this force would not write, so the "
                             "folder would no longer be one force's data.", got=extra[:5],
                    hint="Write into a new or empty folder (files with the same names as this force's are replaced).")


def write_force(force: "SyntheticForce", *, policeuk: str | Path | None = None, records: str | Path | None = None,
                tables: str | Path | None = None, truth: str | Path | None = None, archive: bool = True) -> dict[str, Path]:
    """Write any of the four outputs of ``force`` in one pass over its months. Returns every path written.

    Parameters
    ----------
    force : SyntheticForce
    policeuk, records, tables, truth : path-like, optional
        Folders for the police.uk archive (its zip goes beside it as ``<folder>.zip`` when ``archive``), the RMS
        export with ``mapping.toml``, the analyst tables and the truth. A folder that exists may only hold files of
        the same names (they are replaced); anything else is refused with a :class:`WhatworksError`.
    archive : bool, default True
        Also zip the police.uk archive.
    """
    from whatworks.synth import _constants as C

    _check_folder(Path(policeuk) if policeuk else None, set(force.month_labels), "police.uk")
    _check_folder(Path(records) if records else None, {"crimes.csv", "stops.csv", "arrests.csv", "roles.csv", "mapping.toml",
                                                       *(v[0] for v in PERSON_FILES.values())}, "records")
    _check_folder(Path(tables) if tables else None, {f"{t}.csv" for t in TABLE_FILES}, "tables")
    _check_folder(Path(truth) if truth else None, set(TRUTH_FILES), "truth")
    if set(PERSON_FILES) != set(C.PERSON_SYSTEMS):
        raise error("write", "Every person system needs a file layout in PERSON_FILES.", got=sorted(PERSON_FILES))
    segs = _Segments(force) if (policeuk or records) else None
    writers = []
    pu = PoliceUKWriter(force, Path(policeuk), segs, archive=archive) if policeuk else None
    rw = RecordsWriter(force, Path(records), segs) if records else None
    tw = TruthWriter(force, Path(truth)) if truth else None
    writers = [w for w in (pu, rw, tw) if w is not None]
    if writers:
        try:
            for batch in force.iter_months():
                for w in writers:
                    w.month(batch)
        except BaseException as exc:
            zip_error = pu.abort() if pu else None
            if zip_error is not None:
                exc.add_note(f"the police.uk zip writer also failed: {zip_error!r}")
            raise
    final = force.finalised()
    paths: dict[str, Path] = {}
    if pu:
        paths.update(pu.finish())
    if rw:
        paths.update(rw.finish(final))
    if tables:
        paths.update(write_tables(force, Path(tables), final))
    if tw:
        paths.update(tw.finish(final))
    return paths
