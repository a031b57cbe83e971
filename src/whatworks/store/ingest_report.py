"""What an ingest did, file by file, with the row accounting identity checked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


STATUSES = ("loaded", "replaced", "kept", "already_loaded", "refused", "failed")


@dataclass(frozen=True)
class FileOutcome:
    """One source file's fate.

    ``status`` is one of :data:`STATUSES`:

    * ``"loaded"`` — new rows in the store;
    * ``"replaced"`` — a police.uk file for a (force, month, kind) the store already held: it was loaded as the new
      version and the earlier version's batches (``replaced``) were set aside (recoverable with ``Store.unload``);
      ``changes`` holds the row differences;
    * ``"kept"`` — a republished file skipped because ``on_republished="keep"`` (the earlier version stays);
    * ``"already_loaded"`` — same checksum as an earlier batch: nothing done;
    * ``"refused"`` — unknown format or unreadable: nothing loaded; ``message`` says why;
    * ``"failed"`` — (nearly) every row was invalid, so the whole file was rolled back: nothing of it is in the store
      (not even its quarantine), ``hint`` names the likely cause. ``rows_read`` still says how many rows it had, so
      for a failed file ``rows_read == rows_failed`` and the loaded/quarantined/duplicate counts are 0.

    ``changes`` (replaced files): ``rows_before``, ``rows_after``, and for keyed rows ``rows_added``,
    ``rows_removed``, ``outcome_changed`` (street rows matched by Crime ID; outcomes by Crime ID); street files also
    ``asb_before`` / ``asb_after`` (ASB rows have no ID, so only the counts can be compared).
    ``unmatched_outcomes`` (outcomes files): loaded outcome rows whose Crime ID is not a crime in the store.
    ``repaired`` : a note when ``repair_dates=True`` parsed spreadsheet-damaged Month values.
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
    replaced: tuple[int, ...] = ()
    changes: dict[str, int] = field(default_factory=dict)
    unmatched_outcomes: int | None = None
    repaired: str | None = None
    hint: str = ""

    @property
    def rows_failed(self) -> int:
        """Rows of a failed file (none of them loaded or quarantined); 0 for any other status."""
        return self.rows_read if self.status == "failed" else 0

    def __post_init__(self):
        if self.status not in STATUSES:
            raise AssertionError(f"unknown file status {self.status!r} for {self.source}")
        if self.status == "failed":
            if self.rows_loaded or self.rows_quarantined or self.duplicates_skipped:
                raise AssertionError(f"a failed file ({self.source}) must leave nothing in the store")
        elif self.rows_read != self.rows_loaded + self.rows_quarantined + self.duplicates_skipped:
            raise AssertionError(
                f"row accounting broken for {self.source}: read {self.rows_read} != loaded {self.rows_loaded} + "
                f"quarantined {self.rows_quarantined} + duplicates {self.duplicates_skipped}"
            )


@dataclass(frozen=True)
class IngestReport:
    """The result of ``Store.ingest_*``: per-file outcomes and totals.

    The identity ``rows_read == rows_loaded + rows_quarantined + duplicates_skipped`` holds for every file that
    was not failed, and in total (``rows_read`` counts the files that were not failed; failed files' rows are
    ``rows_failed``).
    """

    files: tuple[FileOutcome, ...]
    # files found under the path that were not read — not data files by their name (a .pdf, the mapping .toml, a
    # .docx in a zip), hidden files, a second zip member of the same name, a symbolic link out of the folder, zips
    # nested too deep — listed here so that nothing is passed over in silence. Each is the file's name (a str); the
    # readers' entries are ``whatworks.store._sources.NotRead``, which also carry ``.reason``
    ignored: tuple[str, ...] = ()

    @property
    def ignored_reasons(self) -> dict[str, str]:
        """{name: why it was not read} for every file in ``ignored``."""
        return {str(n): getattr(n, "reason", "not a data file by its name (.csv, .txt or .tsv)") for n in self.ignored}

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files if f.status != "failed")

    @property
    def rows_failed(self) -> int:
        """Rows in failed files (rolled back whole: neither loaded nor quarantined)."""
        return sum(f.rows_failed for f in self.files)

    @property
    def failed(self) -> tuple[FileOutcome, ...]:
        """The files that failed (rolled back whole); each has a ``hint``."""
        return tuple(f for f in self.files if f.status == "failed")

    @property
    def replaced(self) -> tuple[FileOutcome, ...]:
        """The files loaded as a new version of months already in the store."""
        return tuple(f for f in self.files if f.status == "replaced")

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
    def files_replaced(self) -> int:
        return sum(f.status == "replaced" for f in self.files)

    @property
    def files_kept(self) -> int:
        return sum(f.status == "kept" for f in self.files)

    @property
    def files_failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

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
             "duplicates_skipped": f.duplicates_skipped, "replaced": ", ".join(map(str, f.replaced)),
             "rows_added": f.changes.get("rows_added"), "rows_removed": f.changes.get("rows_removed"),
             "outcome_changed": f.changes.get("outcome_changed"), "unmatched_outcomes": f.unmatched_outcomes,
             "repaired": f.repaired, "hint": f.hint, "message": f.message}
            for f in self.files
        ])

    def summary(self) -> str:
        parts = [f"{len(self.files)} file(s): {self.files_loaded} loaded"]
        if self.files_replaced:
            ch = [f.changes for f in self.replaced]
            parts.append(f"{self.files_replaced} replaced an earlier version of their month"
                         f" ({sum(c.get('rows_added', 0) for c in ch):,} rows added, {sum(c.get('rows_removed', 0) for c in ch):,}"
                         f" removed, {sum(c.get('outcome_changed', 0) for c in ch):,} outcomes changed)")
        if self.files_kept:
            parts.append(f"{self.files_kept} republished file(s) skipped (earlier version kept)")
        if self.files_failed:
            parts.append(f"{self.files_failed} FAILED (rolled back, nothing loaded: {self.rows_failed:,} rows)")
        if self.files_already_loaded:
            parts.append(f"{self.files_already_loaded} already in the store (same checksum; nothing done)")
        if self.files_refused:
            parts.append(f"{self.files_refused} refused")
        if self.files_ignored:
            why = sorted(set(self.ignored_reasons.values()))
            parts.append(f"{self.files_ignored} other file(s) not read ("
                         + ("not .csv/.txt/.tsv" if why == ["not a data file by its name (.csv, .txt or .tsv)"]
                            else "see report.ignored_reasons") + ")")
        text = ", ".join(parts) + (
            f". Rows: {self.rows_read:,} read = {self.rows_loaded:,} loaded + {self.rows_quarantined:,} quarantined"
            f" + {self.duplicates_skipped:,} duplicates skipped."
        )
        if self.quarantine_reasons:
            top = "; ".join(f"{n:,} × {r}" for r, n in list(self.quarantine_reasons.items())[:5])
            text += f" Reasons: {top}."
        for f in self.failed:
            text += f" Failed: {f.source}: {f.hint}"
        unmatched = sum(f.unmatched_outcomes or 0 for f in self.files)
        if unmatched:
            text += f" {unmatched:,} outcome row(s) name a Crime ID not in the store (loaded; they attach when the crime loads)."
        return text

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<IngestReport: {self.summary()}>"

