"""The readers' limits on hostile or damaged input, in one place (issue 12; docs/SECURITY.md lists them).

Every reader (police.uk, RMS records, area lookups, and the zip/folder walker under them) takes a :class:`Limits`
(``limits=``, default :data:`DEFAULT_LIMITS`). A file or zip member over a whole-file limit is refused before any
of it is extracted; a line over a per-line limit is quarantined with its real size or field count, and the rest of
the file loads. The checks run in the numpy line scan every file already gets (``_csv.file_facts``) and in the
exact (Python ``csv``) reader, never as per-row Python on the fast path, so ordinary files cost nothing extra.

Examples
--------
>>> from whatworks.store.limits import DEFAULT_LIMITS, Limits
>>> DEFAULT_LIMITS.max_field_bytes
1048576
>>> roomy = Limits(max_member_bytes=16 << 30)   # a 16 GiB RMS export inside a zip
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from whatworks.errors import IngestError


@dataclass(frozen=True)
class Limits:
    """Limits on the input the readers accept.

    Parameters
    ----------
    max_member_bytes : int, default 4 GiB
        Largest uncompressed size of one zip member (a data file, or a zip inside the zip) that is extracted. A
        larger member is refused before extraction, with its name and size. The size is the one the zip declares;
        extraction stops (and refuses) if a member yields more bytes than it declared.
    max_compression_ratio : float, default 100
        Largest ratio of uncompressed to compressed size of a zip member larger than ``ratio_applies_from`` bytes.
        CSV text compresses 3-15 times; a zip bomb (zeros) about 1,000 times.
    ratio_applies_from : int, default 1 MiB
        Members smaller than this are never refused for their ratio (a small file of blanks compresses well).
    max_zip_depth : int, default 3
        Zips opened inside the outer zip (``outer.zip!a.zip!b.zip!c.zip!x.csv`` at most); deeper zips are listed as
        not read.
    max_line_bytes : int, default 16 MiB
        Longest physical line read. A longer line is quarantined whole (reason: its length) without being split.
    max_field_bytes : int, default 1 MiB
        Longest field (in bytes, as stored in the file). A row with a longer field is quarantined (reason: the
        field and its length); nothing over this length reaches the store's tables.
    max_fields_per_line : int, default 1,000
        Most fields on one line. A wider line is quarantined with its real field count, and is never given to
        DuckDB's parallel reader (whose cost grows with the field count).
    max_raw_bytes : int, default 64 KiB
        Most bytes of a quarantined line kept in the quarantine's ``raw``; a longer line is cut there and the
        cut is marked with the line's full length (the file itself, named with its checksum, holds the rest).
    """

    max_member_bytes: int = 4 << 30
    max_compression_ratio: float = 100.0
    ratio_applies_from: int = 1 << 20
    max_zip_depth: int = 3
    max_line_bytes: int = 16 << 20
    max_field_bytes: int = 1 << 20
    max_fields_per_line: int = 1000
    max_raw_bytes: int = 64 << 10

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            if not number or v <= 0 or (f.type == "int" and not isinstance(v, int)):
                raise IngestError(f"Limits(): The {f.name!r} limit must be a positive "
                                  f"{'whole ' if f.type == 'int' else ''}number. Got {v!r} instead. "
                                  f"Hint: the default is {getattr(DEFAULT_VALUES, f.name)!r}.")
        if self.max_field_bytes > self.max_line_bytes:
            raise IngestError(f"Limits(): max_field_bytes ({self.max_field_bytes:,}) must not exceed max_line_bytes "
                              f"({self.max_line_bytes:,}). Hint: raise max_line_bytes too.")


class _Defaults:
    pass


DEFAULT_VALUES = _Defaults()
for _f in fields(Limits):
    setattr(DEFAULT_VALUES, _f.name, _f.default)

DEFAULT_LIMITS = Limits()


def resolve(limits: Limits | None, caller: str) -> Limits:
    """``limits`` checked at the door (None: :data:`DEFAULT_LIMITS`)."""
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, Limits):
        raise IngestError(f"{caller}: The 'limits' parameter must be a whatworks.store.limits.Limits. "
                          f"Got {type(limits).__name__!r} instead. Hint: Limits(max_field_bytes=4 << 20).")
    return limits


def size_text(n: int) -> str:
    """``52,428,800 bytes (50.0 MiB)``."""
    if n >= 1 << 20:
        return f"{n:,} bytes ({n / (1 << 20):,.1f} MiB)"
    return f"{n:,} bytes"


__all__ = ["Limits", "DEFAULT_LIMITS", "resolve", "size_text"]
