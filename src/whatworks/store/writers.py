"""Generic file writers: CSV rows from Arrow columns (unquoted police.uk style, or quoted when needed), a zip
written on a background thread, CSV tables, and a guard against writing into someone else's folder.

DESIGN.md: only ``store/`` writes files. What to write is the caller's: :mod:`whatworks.synth` renders a synthetic
force's rows (police.uk archive, RMS export, tables, truth; :mod:`whatworks.synth.force`) and hands them here. This
module knows the police.uk headers (a format the store reads) and nothing of synth.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from whatworks.errors import error

__all__ = ["STREET_HEADER", "OUTCOMES_HEADER", "STOP_HEADER", "NO_LOCATION", "write_header", "check_text",
           "write_table", "write_columns", "text_array", "int_array", "const_array", "masked", "strftime_array",
           "Zipper", "write_csv", "check_folder", "toml_str"]

STREET_HEADER = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                 "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES_HEADER = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                   "LSOA name", "Outcome type")
STOP_HEADER = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
               "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
               "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing")
NO_LOCATION = "No Location"
ZIP_LEVEL = 1          # fast deflate: the archive is mostly repeated text and still shrinks ~5x


# ---------------------------------------------------------------------------------------------- rows


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


class Zipper:
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



# ---------------------------------------------------------------------------------------------- tables, folders


def _csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return path


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


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)



# public names (synth and other writers use these)
write_header, check_text, write_table, write_columns = _header, _check_text, _write_table, _write
text_array, int_array, const_array, masked, strftime_array = _s, _int, _const, _mask, _strftime
write_csv, check_folder, toml_str = _csv, _check_folder, _toml_str
