"""Find the data files behind a path: a single file, a folder (searched recursively), or a zip archive.

A zip inside a zip (a police.uk download re-zipped with other files) is opened too, up to :data:`MAX_ZIP_DEPTH`
zips deep; its members are named ``outer.zip!inner.zip!2024-01/x.csv``. A nested zip cannot be read in place
without decompressing it again for every member, so it is copied once to a temporary file, shared by every
:class:`Source` inside it, and deleted when the last of them is gone.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from whatworks.errors import IngestError

DATA_SUFFIXES = (".csv", ".txt", ".tsv")
MAX_ZIP_DEPTH = 3   # zips opened inside the outer one: outer.zip!a.zip!b.zip!c.zip!x.csv at most; deeper ones are listed as not read


class _NestedZip:
    """A zip stored as a member of another zip (or of another nested zip), extracted on first use to a temporary
    file that is removed when no :class:`Source` (nor :func:`ignored_files` call) refers to it any more."""

    _live: "weakref.WeakValueDictionary[tuple, _NestedZip]" = weakref.WeakValueDictionary()
    _live_lock = threading.Lock()

    def __init__(self, parent: "Path | _NestedZip", member: str):
        self.parent = parent
        self.member = member
        self._path: Path | None = None
        self._lock = threading.Lock()

    @classmethod
    def get(cls, parent: "Path | _NestedZip", member: str) -> "_NestedZip":
        """The handle for ``member`` of ``parent``: the one already open (and extracted) if there is one."""
        if isinstance(parent, _NestedZip):
            key = (id(parent), member)
        else:
            st = parent.stat()
            key = (str(parent.resolve()), st.st_size, st.st_mtime_ns, member)
        with cls._live_lock:
            handle = cls._live.get(key)
            if handle is None:
                handle = cls(parent, member)
                cls._live[key] = handle
            return handle

    def container(self) -> Path:
        return self.parent.path() if isinstance(self.parent, _NestedZip) else self.parent

    def path(self) -> Path:
        """The nested zip as a file on disk (extracted once)."""
        with self._lock:
            if self._path is None:
                tmp = Path(tempfile.mkdtemp(prefix="whatworks-zip-"))
                weakref.finalize(self, shutil.rmtree, tmp, True)
                target = tmp / Path(self.member).name
                with zipfile.ZipFile(self.container()) as zf, zf.open(self.member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
                self._path = target
            return self._path


@dataclass(frozen=True)
class Source:
    """A data file to load. ``name`` is what provenance records (``archive.zip!2024-01/x.csv`` for zip members,
    ``archive.zip!inner.zip!2024-01/x.csv`` for members of a zip inside the zip)."""

    name: str
    path: Path | None = None          # a file on disk
    archive: Path | None = None       # or a member of this zip (the outer zip on disk for a nested member)
    member: str | None = None
    nested: _NestedZip | None = field(default=None, compare=False, repr=False)   # the zip inside ``archive`` holding ``member``
    length: int | None = field(default=None, compare=False, repr=False)  # uncompressed bytes of a zip member, from the listing

    @property
    def basename(self) -> str:
        return Path(self.member or str(self.path)).name

    def _zip(self) -> Path:
        return self.nested.path() if self.nested is not None else self.archive

    @property
    def size(self) -> int:
        """Bytes of the file (uncompressed size for a zip member)."""
        if self.path is not None:
            return self.path.stat().st_size
        if self.length is not None:  # recorded when the zip was listed: no need to read its directory again
            return self.length
        with zipfile.ZipFile(self._zip()) as zf:
            return zf.getinfo(self.member).file_size

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (for sniffing a header without extracting a whole zip member)."""
        if self.path is not None:
            with open(self.path, "rb") as fh:
                return fh.read(n)
        with zipfile.ZipFile(self._zip()) as zf, zf.open(self.member) as fh:
            return fh.read(n)

    @contextmanager
    def local(self) -> Iterator[Path]:
        """A path on disk holding the bytes (zip members are extracted to a temporary folder and removed after)."""
        if self.path is not None:
            yield self.path
            return
        tmp = Path(tempfile.mkdtemp(prefix="whatworks-"))
        try:
            target = tmp / Path(self.member).name
            with zipfile.ZipFile(self._zip()) as zf, zf.open(self.member) as src, open(target, "wb") as dst:
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
            if child.is_file() and not _hidden(child, p):
                found.extend(_file_sources(child, suffixes))
    else:
        found.extend(_file_sources(p, suffixes, explicit=True))
    if not found:
        raise IngestError(f"ingest: no data files ({', '.join(suffixes)} or .zip) found in {str(p)!r}.")
    return found


def ignored_files(path: str | Path, *, suffixes: tuple[str, ...] = DATA_SUFFIXES) -> list[str]:
    """Files under ``path`` (folders searched recursively, zips and zips inside them opened) that :func:`find_sources`
    does not read, so that an ingest report can list them instead of passing over them in silence."""
    p = Path(path)
    names: list[str] = []
    candidates = sorted(c for c in p.rglob("*") if c.is_file()) if p.is_dir() else ([p] if p.is_file() else [])
    for c in candidates:
        if p.is_dir() and _hidden(c, p):
            names.append(str(c))   # .DS_Store, macOS ._x.csv, LibreOffice .~lock files: not data, listed
        elif c.suffix.lower() == ".zip":
            try:
                names += _walk_zip(c, None, str(c), suffixes, 1)[1]
            except IngestError:
                continue  # find_sources has already refused it with an error
        elif c.suffix.lower() not in suffixes and p.is_dir():
            names.append(str(c))
    return names


def _hidden(child: Path, root: Path) -> bool:
    """A hidden file, or a file inside a hidden folder, under ``root`` (never read from a folder)."""
    return any(part.startswith(".") for part in child.relative_to(root).parts)


def _walk_zip(archive: Path, nested: _NestedZip | None, label: str, suffixes: tuple[str, ...],
              depth: int) -> tuple[list[Source], list[str]]:
    """(sources, names not read) in the zip ``nested`` (or ``archive`` itself), opening zips inside it.

    ``depth`` counts the zip being walked (1 = the outer one). Hidden members (``.DS_Store``, macOS ``__MACOSX/._x``
    resource forks, which are not data even when named ``.csv`` or ``.zip``) are never read."""
    try:
        with zipfile.ZipFile(nested.path() if nested is not None else archive) as zf:
            infos = {i.filename: i.file_size for i in zf.infolist() if not i.filename.endswith("/")}
            members = sorted(infos)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"ingest: {label!r} is not a readable zip archive ({exc}).") from exc
    sources: list[Source] = []
    ignored: list[str] = []
    for m in members:
        name = f"{label}!{m}"
        suffix = Path(m).suffix.lower()
        if Path(m).name.startswith("."):
            ignored.append(name)   # hidden (.DS_Store, macOS ._x.csv resource forks): not data, but listed, not passed over
        elif suffix in suffixes:
            sources.append(Source(name=name, archive=archive, member=m, nested=nested, length=infos[m]))
        elif suffix == ".zip" and depth <= MAX_ZIP_DEPTH:
            inner = _NestedZip.get(nested if nested is not None else archive, m)
            s, i = _walk_zip(archive, inner, name, suffixes, depth + 1)
            sources += s
            ignored += i
        else:
            ignored.append(name)
    return sources, ignored


def _file_sources(p: Path, suffixes: tuple[str, ...], explicit: bool = False) -> list[Source]:
    if p.suffix.lower() == ".zip":
        return _walk_zip(p, None, str(p), suffixes, 1)[0]
    if p.suffix.lower() in suffixes or explicit:
        return [Source(name=str(p), path=p)]
    return []
