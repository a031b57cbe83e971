"""A damaged store is refused for writing; lock and full-disk errors say what to do (issue #12 item 7)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap

import pytest

import realshaped
import whatworks as ww
from whatworks.errors import StoreError
from whatworks.store import policeuk


def _damage(path, seed=0):
    """Overwrite bytes in the middle third of the file, where the table data lies (the header stays intact)."""
    import random

    rnd = random.Random(seed)
    data = bytearray(path.read_bytes())
    size = len(data)
    for off in range(size // 3, 2 * size // 3, 65536):
        data[off + 64: off + 4000] = bytes(rnd.randrange(256) for _ in range(3936))
    path.write_bytes(bytes(data))


def test_12_7_a_store_that_fails_its_checksums_is_refused_for_writing(tmp_path):
    months = realshaped.month_range("2020-01", 12)
    root = realshaped.archive(tmp_path / "dl", months=months, crimes_per_month=1500, asb_per_month=200, seed=1)
    path = tmp_path / "s.duckdb"
    with ww.Store(path) as s:
        s.ingest_policeuk(root)
    _damage(path)
    extra = realshaped.archive(tmp_path / "dl2", months=["2021-01"], seed=2)
    with ww.Store(path) as s:
        with pytest.raises(StoreError, match="fails its integrity check.*will not write into a damaged store.*backup"):
            s.ingest_policeuk(extra)
        with pytest.raises(StoreError, match="integrity check"):
            s.unload(1)
    # nothing was written: the damaged bytes are as they were
    damaged = path.read_bytes()
    with ww.Store(path) as s:
        with pytest.raises(StoreError):
            s.ingest_policeuk(extra)
    assert path.read_bytes() == damaged


def test_a_sound_store_is_verified_once_and_then_written(tmp_path, monkeypatch):
    calls = []
    real = ww.Store.verify

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(ww.Store, "verify", counting)
    root = realshaped.archive(tmp_path / "dl", months=["2020-01", "2020-02"], seed=1)
    with ww.Store(tmp_path / "s.duckdb") as s:
        s.ingest_policeuk(root / "2020-01")
        s.ingest_policeuk(root / "2020-02")
    assert calls == [1]


def test_12_7_the_lock_hint_is_right_for_a_reader(tmp_path):
    path = tmp_path / "s.duckdb"
    ww.Store(path).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, duckdb
        con = duckdb.connect({str(path)!r})
        print("ready", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError) as info:
            ww.Store(path, read_only=True)
        msg = str(info.value)
        assert "open for writing" in msg and "not both" in msg and "read_only=True" not in msg
        with pytest.raises(StoreError, match="Only one process may write"):
            ww.Store(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_12_7_a_full_disk_names_the_folders_and_what_is_needed(tmp_path, monkeypatch):
    root = realshaped.archive(tmp_path / "dl", months=["2020-01"], seed=1)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(policeuk, "ingest", full)
    with ww.Store(tmp_path / "s.duckdb") as s:
        with pytest.raises(StoreError) as info:
            s.ingest_policeuk(root)
    msg = str(info.value)
    assert "The disk filled up" in msg and "the store's folder" in msg and "the temp folder" in msg
    assert "MB free" in msg and "needs roughly" in msg and "TMPDIR" in msg
