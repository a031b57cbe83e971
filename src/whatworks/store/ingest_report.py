"""What an ingest did, file by file, with the row accounting identity checked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileOutcome:
    """One source file's fate.

    ``status`` is ``"loaded"``, ``"already_loaded"`` (same checksum as an earlier batch: nothing done),
    or ``"refused"`` (unknown format or unreadable: nothing loaded; ``message`` says why).
    """

    source: str
    format: str | None
    status: str
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    message: str = ""
    checksum: str | None = None

    def __post_init__(self):
        if self.rows_read != self.rows_loaded + self.rows_quarantined + self.duplicates_skipped:
            raise AssertionError(
                f"row accounting broken for {self.source}: read {self.rows_read} != loaded {self.rows_loaded} + "
                f"quarantined {self.rows_quarantined} + duplicates {self.duplicates_skipped}"
            )


@dataclass(frozen=True)
class IngestReport:
    """The result of ``Store.ingest_*``: per-file outcomes and totals.

    The identity ``rows_read == rows_loaded + rows_quarantined + duplicates_skipped`` holds for every file and in total.
    """

    files: tuple[FileOutcome, ...]
    # files found under the path that are not data files by their name (a .pdf, the mapping .toml, a .docx in a
    # zip): not read, and listed here so that nothing is passed over in silence
    ignored: tuple[str, ...] = ()

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def duplicates_skipped(self) -> int:
        return sum(f.duplicates_skipped for f in self.files)

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        """Counts of quarantined (and duplicate) rows by reason, over all files."""
        total: Counter = Counter()
        for f in self.files:
            total.update(f.reasons)
        return dict(total.most_common())

    @property
    def files_loaded(self) -> int:
        return sum(f.status == "loaded" for f in self.files)

    @property
    def files_already_loaded(self) -> int:
        return sum(f.status == "already_loaded" for f in self.files)

    @property
    def files_refused(self) -> int:
        return sum(f.status == "refused" for f in self.files)

    @property
    def files_ignored(self) -> int:
        return len(self.ignored)

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame([
            {"source": f.source, "format": f.format, "status": f.status, "batch_id": f.batch_id,
             "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
             "duplicates_skipped": f.duplicates_skipped, "message": f.message}
            for f in self.files
        ])

    def summary(self) -> str:
        parts = [f"{len(self.files)} file(s): {self.files_loaded} loaded"]
        if self.files_already_loaded:
            parts.append(f"{self.files_already_loaded} already in the store (same checksum; nothing done)")
        if self.files_refused:
            parts.append(f"{self.files_refused} refused")
        if self.files_ignored:
            parts.append(f"{self.files_ignored} other file(s) not read (not .csv/.txt/.tsv)")
        text = ", ".join(parts) + (
            f". Rows: {self.rows_read:,} read = {self.rows_loaded:,} loaded + {self.rows_quarantined:,} quarantined"
            f" + {self.duplicates_skipped:,} duplicates skipped."
        )
        if self.quarantine_reasons:
            top = "; ".join(f"{n:,} × {r}" for r, n in list(self.quarantine_reasons.items())[:5])
            text += f" Reasons: {top}."
        return text

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<IngestReport: {self.summary()}>"

