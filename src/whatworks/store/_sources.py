"""Find the data files behind a path: a single file, a folder (searched recursively), or a zip archive.

A zip inside a zip (a police.uk download re-zipped with other files) is opened too, up to
``Limits.max_zip_depth`` zips deep; its members are named ``outer.zip!inner.zip!2024-01/x.csv``. A nested zip cannot
be read in place without decompressing it again for every member, so it is copied once to a temporary file, shared
by every :class:`Source` inside it, and deleted when the last of them is gone.

Hostile input (issue 12, docs/SECURITY.md):

* a zip member larger than ``Limits.max_member_bytes`` uncompressed, or compressed more than
  ``Limits.max_compression_ratio`` times, is refused **before** any of it is extracted (its :class:`Source` carries
  the refusal; the readers raise it, or list the file as refused with ``on_unknown="skip"``); a member yielding more
  bytes than it declared is refused while extracting;
* a second zip member with the same name as an earlier one is not read and is listed (:class:`NotRead`, with the
  reason): only the first is read;
* a symbolic link inside a folder that leads out of the folder is not followed, and is listed with the reason;
* temporary folders are named ``whatworks-<pid>-…``, removed in a ``finally``; folders left by a process that was
  killed (its pid no longer running) are removed when the next ingest starts (:func:`clean_stale_temp`).
"""

from __future__ import annotations

import os
import re
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
from whatworks.store.limits import DEFAULT_LIMITS, Limits, size_text

DATA_SUFFIXES = (".csv", ".txt", ".tsv")
# zips opened inside the outer one: outer.zip!a.zip!b.zip!c.zip!x.csv at most; deeper ones are listed as not read
MAX_ZIP_DEPTH = DEFAULT_LIMITS.max_zip_depth
_TEMP_PREFIX = "whatworks-"
_STALE = re.compile(r"^whatworks-(?:zip-)?(\d+)-")


class NotRead(str):
    """The name of a file that was found but not read (an ``IngestReport.ignored`` entry), with ``reason``.

    It is the name itself (a ``str``), so code that lists names keeps working; ``reason`` says why it was not read."""

    reason: str

    def __new__(cls, name: str, reason: str = "not a data file by its name (.csv, .txt or .tsv)"):
        obj = super().__new__(cls, name)
        obj.reason = reason
        return obj

    def __reduce__(self):
        return (NotRead, (str(self), self.reason))


def _temp_dir(kind: str = "") -> Path:
    """A new temporary folder named ``whatworks-[zip-]<pid>-…`` (so a later run can tell whether it is stale)."""
    return Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{kind}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # another user's process: running
    return True


def clean_stale_temp(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove the temporary folders (``whatworks-<pid>-…``) of whatworks processes that are no longer running (a load
    killed with ``kill -9`` cannot clean up after itself). Returns the folders removed."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _STALE.match(p.name)
        if not m or not p.is_dir() or p.is_symlink():
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            if p.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


class _Capped:
    """A reader that refuses to yield more than ``limit`` bytes (a zip member whose declared size lies)."""

    def __init__(self, fh, limit: int, name: str):
        self.fh, self.left, self.limit, self.name = fh, limit, limit, name

    def read(self, n: int = -1) -> bytes:
        want = self.left + 1 if n is None or n < 0 else min(n, self.left + 1)
        data = self.fh.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise IngestError(f"ingest: {self.name} yields more than {size_text(self.limit)} when extracted, more than "
                              "its zip entry declares (or than Limits.max_member_bytes): refused, nothing of it was "
                              "loaded. Hint: the zip is damaged or built to exhaust the disk; extract it with a "
                              "trusted tool and check it.")
        return data


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: str, limits: Limits) -> None:
    cap = min(info.file_size, limits.max_member_bytes)
    with zf.open(info) as src, open(target, "wb") as dst:
        shutil.copyfileobj(_Capped(src, cap, name), dst, 1 << 22)


def member_refusal(info: zipfile.ZipInfo, name: str, limits: Limits) -> str | None:
    """Why the zip member ``info`` (labelled ``name``) must not be extracted under ``limits``, or None."""
    if info.file_size > limits.max_member_bytes:
        return (f"ingest: {name} is {size_text(info.file_size)} uncompressed, over the size limit of "
                f"{size_text(limits.max_member_bytes)} for one zip member (Limits.max_member_bytes). It was not "
                "extracted; nothing of it was loaded. Hint: if the file is genuine, extract it yourself and ingest "
                "the file, or pass limits=Limits(max_member_bytes=...).")
    if info.file_size >= limits.ratio_applies_from:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            return (f"ingest: {name} is {size_text(info.file_size)} uncompressed from {size_text(info.compress_size)}: "
                    f"a compression ratio of {ratio:,.0f} to 1, over the limit of {limits.max_compression_ratio:,.0f} "
                    "(Limits.max_compression_ratio; CSV text compresses 3-15 times, a zip bomb about 1,000). It was "
                    "not extracted; nothing of it was loaded. Hint: if the file is genuine, extract it yourself and "
                    "ingest the file, or pass limits=Limits(max_compression_ratio=...).")
    return None


class _NestedZip:
    """A zip stored as a member of another zip (or of another nested zip), extracted on first use to a temporary
    file that is removed when no :class:`Source` (nor :func:`ignored_files` call) refers to it any more."""

    _live: "weakref.WeakValueDictionary[tuple, _NestedZip]" = weakref.WeakValueDictionary()
    _live_lock = threading.Lock()

    def __init__(self, parent: "Path | _NestedZip", member: str, info: zipfile.ZipInfo | None = None,
                 label: str = "", limits: Limits = DEFAULT_LIMITS):
        self.parent = parent
        self.member = member
        self.info = info
        self.label = label or member
        self.limits = limits
        self._path: Path | None = None
        self._lock = threading.Lock()

    @classmethod
    def get(cls, parent: "Path | _NestedZip", member: str, info: zipfile.ZipInfo | None = None, label: str = "",
            limits: Limits = DEFAULT_LIMITS) -> "_NestedZip":
        """The handle for ``member`` of ``parent``: the one already open (and extracted) if there is one."""
        if isinstance(parent, _NestedZip):
            key = (id(parent), member, info.header_offset if info is not None else None)
        else:
            st = parent.stat()
            key = (str(parent.resolve()), st.st_size, st.st_mtime_ns, member,
                   info.header_offset if info is not None else None)
        with cls._live_lock:
            handle = cls._live.get(key)
            if handle is None:
                handle = cls(parent, member, info, label, limits)
                cls._live[key] = handle
            return handle

    def container(self) -> Path:
        return self.parent.path() if isinstance(self.parent, _NestedZip) else self.parent

    def path(self) -> Path:
        """The nested zip as a file on disk (extracted once)."""
        with self._lock:
            if self._path is None:
                tmp = _temp_dir("zip-")
                weakref.finalize(self, shutil.rmtree, tmp, True)
                target = tmp / Path(self.member).name
                try:
                    with zipfile.ZipFile(self.container()) as zf:
                        info = self.info if self.info is not None else zf.getinfo(self.member)
                        _copy_member(zf, info, target, self.label, self.limits)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                self._path = target
            return self._path


@dataclass(frozen=True)
class Source:
    """A data file to load. ``name`` is what provenance records (``archive.zip!2024-01/x.csv`` for zip members,
    ``archive.zip!inner.zip!2024-01/x.csv`` for members of a zip inside the zip).

    ``refusal`` is set when the file must not be read (a zip member over :class:`~whatworks.store.limits.Limits`):
    the reader raises it, or lists the file as refused."""

    name: str
    path: Path | None = None          # a file on disk
    archive: Path | None = None       # or a member of this zip (the outer zip on disk for a nested member)
    member: str | None = None
    nested: _NestedZip | None = field(default=None, compare=False, repr=False)   # the zip inside ``archive`` holding ``member``
    length: int | None = field(default=None, compare=False, repr=False)  # uncompressed bytes of a zip member, from the listing
    info: zipfile.ZipInfo | None = field(default=None, compare=False, repr=False)  # the member's entry (names may repeat)
    refusal: str | None = field(default=None, compare=False)
    limits: Limits = field(default=DEFAULT_LIMITS, compare=False, repr=False)

    @property
    def basename(self) -> str:
        return Path(self.member or str(self.path)).name

    def _zip(self) -> Path:
        return self.nested.path() if self.nested is not None else self.archive

    def _entry(self, zf: zipfile.ZipFile):
        return self.info if self.info is not None else self.member

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
        if self.refusal:
            raise IngestError(self.refusal)
        if self.path is not None:
            with open(self.path, "rb") as fh:
                return fh.read(n)
        with zipfile.ZipFile(self._zip()) as zf, zf.open(self._entry(zf)) as fh:
            return fh.read(n)

    @contextmanager
    def local(self) -> Iterator[Path]:
        """A path on disk holding the bytes (zip members are extracted to a temporary folder and removed after,
        within the size limits)."""
        if self.refusal:
            raise IngestError(self.refusal)
        if self.path is not None:
            yield self.path
            return
        tmp = _temp_dir()
        try:
            target = tmp / Path(self.member).name
            with zipfile.ZipFile(self._zip()) as zf:
                info = self.info if self.info is not None else zf.getinfo(self.member)
                _copy_member(zf, info, target, self.name, self.limits)
            yield target
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _outside(child: Path, root: Path) -> bool:
    """A symbolic link under ``root`` that leads (at any step) out of ``root``, or nowhere."""
    try:
        target = child.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    base = root.resolve()
    return target != base and base not in target.parents


_LINK_OUT = ("a symbolic link leading out of the folder given (or to nothing): not followed, nothing of it read. "
             "Hint: ingest the file it points to by naming it, if it is meant to be read.")


def find_sources(path: str | Path, *, suffixes: tuple[str, ...] = DATA_SUFFIXES,
                 limits: Limits = DEFAULT_LIMITS) -> list[Source]:
    """All data files under ``path``, sorted by name. Raises :class:`IngestError` when there are none.

    Also removes temporary folders left by killed whatworks processes (:func:`clean_stale_temp`)."""
    clean_stale_temp()
    p = Path(path)
    if not p.exists():
        raise IngestError(f"ingest: {str(p)!r} does not exist. Hint: check the path, or run `whatworks synth --out DIR` for sample data.")
    found: list[Source] = []
    if p.is_dir():
        for child in sorted(p.rglob("*")):
            if _hidden(child, p) or (child.is_symlink() and _outside(child, p)):
                continue
            if child.is_file():
                found.extend(_file_sources(child, suffixes, limits=limits))
    else:
        found.extend(_file_sources(p, suffixes, explicit=True, limits=limits))
    if not found:
        raise IngestError(f"ingest: no data files ({', '.join(suffixes)} or .zip) found in {str(p)!r}.")
    return found


def ignored_files(path: str | Path, *, suffixes: tuple[str, ...] = DATA_SUFFIXES,
                  limits: Limits = DEFAULT_LIMITS) -> list[NotRead]:
    """Files under ``path`` (folders searched recursively, zips and zips inside them opened) that :func:`find_sources`
    does not read, so that an ingest report can list them instead of passing over them in silence. Each is a
    :class:`NotRead`: its name, with ``.reason``."""
    p = Path(path)
    names: list[NotRead] = []
    if p.is_dir():
        candidates = sorted(c for c in p.rglob("*") if c.is_symlink() or c.is_file())
    else:
        candidates = [p] if p.is_file() else []
    for c in candidates:
        if p.is_dir() and _hidden(c, p):
            # .DS_Store, macOS ._x.csv, LibreOffice .~lock files: not data, listed
            names.append(NotRead(str(c), "a hidden file (or in a hidden folder): not data"))
        elif p.is_dir() and c.is_symlink() and _outside(c, p):
            names.append(NotRead(str(c), _LINK_OUT))
        elif not c.is_file():
            continue
        elif c.suffix.lower() == ".zip":
            try:
                names += _walk_zip(c, None, str(c), suffixes, 1, limits)[1]
            except IngestError:
                continue  # find_sources has already refused it with an error
        elif c.suffix.lower() not in suffixes and p.is_dir():
            names.append(NotRead(str(c)))
    return names


def _hidden(child: Path, root: Path) -> bool:
    """A hidden file, or a file inside a hidden folder, under ``root`` (never read from a folder)."""
    return any(part.startswith(".") for part in child.relative_to(root).parts)


def _walk_zip(archive: Path, nested: _NestedZip | None, label: str, suffixes: tuple[str, ...],
              depth: int, limits: Limits = DEFAULT_LIMITS) -> tuple[list[Source], list[NotRead]]:
    """(sources, names not read) in the zip ``nested`` (or ``archive`` itself), opening zips inside it.

    ``depth`` counts the zip being walked (1 = the outer one). Hidden members (``.DS_Store``, macOS ``__MACOSX/._x``
    resource forks, which are not data even when named ``.csv`` or ``.zip``) are never read. Of members sharing a
    name only the first is read; the others are listed."""
    max_depth = MAX_ZIP_DEPTH if limits is DEFAULT_LIMITS else limits.max_zip_depth
    try:
        with zipfile.ZipFile(nested.path() if nested is not None else archive) as zf:
            infos = [i for i in zf.infolist() if not i.filename.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise IngestError(f"ingest: {label!r} is not a readable zip archive ({exc}).") from exc
    seen: set[str] = set()
    firsts, repeats = [], []
    for i in infos:
        (repeats if i.filename in seen else firsts).append(i)
        seen.add(i.filename)
    sources: list[Source] = []
    ignored: list[NotRead] = [NotRead(f"{label}!{i.filename}", "a second member of the zip with the same name as an "
                                      "earlier one: only the first is read. Hint: extract the zip, rename one of "
                                      "them, and ingest both.") for i in repeats]
    for info in sorted(firsts, key=lambda i: i.filename):
        m = info.filename
        name = f"{label}!{m}"
        suffix = Path(m).suffix.lower()
        if Path(m).name.startswith("."):
            # hidden (.DS_Store, macOS ._x.csv resource forks): not data, but listed, not passed over
            ignored.append(NotRead(name, "a hidden member (.DS_Store, a macOS ._ resource fork): not data"))
        elif suffix in suffixes:
            sources.append(Source(name=name, archive=archive, member=m, nested=nested, length=info.file_size,
                                  info=info, refusal=member_refusal(info, name, limits), limits=limits))
        elif suffix == ".zip" and depth <= max_depth:
            why = member_refusal(info, name, limits)
            if why:   # a zip too large (or too compressed) to extract: refused as a file, its members unread
                sources.append(Source(name=name, archive=archive, member=m, nested=nested, length=info.file_size,
                                      info=info, refusal=why, limits=limits))
                continue
            inner = _NestedZip.get(nested if nested is not None else archive, m, info, name, limits)
            s, i = _walk_zip(archive, inner, name, suffixes, depth + 1, limits)
            sources += s
            ignored += i
        elif suffix == ".zip":
            ignored.append(NotRead(name, f"a zip nested more than {max_depth} zips deep (Limits.max_zip_depth): "
                                         "not opened"))
        else:
            ignored.append(NotRead(name))
    return sources, ignored


def _file_sources(p: Path, suffixes: tuple[str, ...], explicit: bool = False,
                  limits: Limits = DEFAULT_LIMITS) -> list[Source]:
    if p.suffix.lower() == ".zip":
        return _walk_zip(p, None, str(p), suffixes, 1, limits)[0]
    if p.suffix.lower() in suffixes or explicit:
        return [Source(name=str(p), path=p, limits=limits)]
    return []
