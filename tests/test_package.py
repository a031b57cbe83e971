"""Package-level promises: the public surface imports, and nothing reaches for the network."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

import whatworks as ww

SRC = Path(ww.__file__).parent


def test_public_surface():
    assert ww.Store.__name__ == "Store"
    for name in ("store", "performance", "place", "trials", "synth", "report"):
        assert getattr(ww, name).__name__ == f"whatworks.{name}"
    assert issubclass(ww.WhatworksError, ValueError)


def test_no_urls_in_the_package_code():
    # no CDN assets, no downloads, no telemetry: the code names no web address at all
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*") if p.is_file() and p.suffix in {".py", ".html", ".j2", ".css", ".js"}
                 and re.search(r"https?://", p.read_text(encoding="utf-8", errors="replace"))]
    assert offenders == []


def test_ingest_and_queries_work_with_the_network_switched_off(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fix = Path(__file__).parent / "store" / "fixtures" / "policeuk"
    with ww.Store(tmp_path / "s.duckdb") as s:
        rep = s.ingest_policeuk(fix)
        assert rep.rows_loaded == 9
        assert s.counts(by=["kind"], table="events")["count"].sum() == 9
