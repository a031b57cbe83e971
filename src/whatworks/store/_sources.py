"""Find the data files behind a path: a single file, a folder (searched recursively), or a zip archive."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from whatworks.errors import IngestError

DATA_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Source:
    """A data file to load. ``name`` is what provenance records (``archive.zip!2024-01/x.csv`` for zip members)."""

    name: str
    path: Path | None = None          # a file on disk
    archive: Path | None = None       # or a member of this zip
    member: str | None = None

    @property
    def basename(self) -> str:
        return Path(self.member or str(self.path)).name

    @property
    def size(self) -> int:
        """Bytes of the file (uncompressed size for a zip member)."""
        if self.path is not None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.archive) as zf:
            return zf.getinfo(self.member).file_size

    @contextmanager
    def local(self) -> Iterator[Path]:
        """A path on disk holding the bytes (zip members are extracted to a temporary folder and removed after)."""
        if self.path is not None:
            yield self.path
            return
        tmp = Path(tempfile.mkdtemp(prefix="whatworks-"))
        try:
            target = tmp / Path(self.member).name
            with zipfile.ZipFile(self.archive) as zf, zf.open(self.member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            yield target
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def find_sources(path: str | Path, *, suffixes: tuple[str, ...] = DATA_SUFFIXES) -> list[Source]:
    """All data files under ``path``, sorted by name. Raises :class:`IngestError` when there are none."""
    p = Path(path)
    if not p.exists():
        raise IngestError(f"ingest: {str(p)!r} does not exist. Hint: check the path, or run `whatworks synth --out DIR` for sample data.")
    found: list[Source] = []
    if p.is_dir():
        for child in sorted(p.rglob("*")):
            if child.is_file():
                found.extend(_file_sources(child, suffixes))
    else:
        found.extend(_file_sources(p, suffixes, explicit=True))
    if not found:
        raise IngestError(f"ingest: no data files ({', '.join(suffixes)} or .zip) found in {str(p)!r}.")
    return found


def ignored_files(path: str | Path, *, suffixes: tuple[str, ...] = DATA_SUFFIXES) -> list[str]:
    """Files under ``path`` (folders searched recursively, zips opened) that :func:`find_sources` does not read,
    so that an ingest report can list them instead of passing over them in silence."""
    p = Path(path)
    names: list[str] = []
    candidates = sorted(c for c in p.rglob("*") if c.is_file()) if p.is_dir() else ([p] if p.is_file() else [])
    for c in candidates:
        if c.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(c) as zf:
                    names += [f"{c}!{n}" for n in sorted(zf.namelist())
                              if not n.endswith("/") and Path(n).suffix.lower() not in suffixes]
            except zipfile.BadZipFile:
                continue  # find_sources has already refused it with an error
        elif c.suffix.lower() not in suffixes and p.is_dir():
            names.append(str(c))
    return names


def _file_sources(p: Path, suffixes: tuple[str, ...], explicit: bool = False) -> list[Source]:
    if p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as zf:
                members = sorted(n for n in zf.namelist() if not n.endswith("/") and Path(n).suffix.lower() in suffixes
                                 and not Path(n).name.startswith("."))
        except zipfile.BadZipFile as exc:
            raise IngestError(f"ingest: {str(p)!r} is not a readable zip archive ({exc}).") from exc
        return [Source(name=f"{p}!{m}", archive=p, member=m) for m in members]
    if p.suffix.lower() in suffixes or explicit:
        return [Source(name=str(p), path=p)]
    return []
