"""Shared synthetic forces for the synth tests (generated once per session)."""

from __future__ import annotations

import pytest

import whatworks as ww

# Big enough for the stylised facts to show clearly, small enough to generate in a few seconds.
FORCE_KW = dict(seed=7, crimes=80_000, months=24, boroughs=4, survey_per_year=4_000)
# Tiny: for file-format, determinism and end-to-end ingest tests.
TINY_KW = dict(seed=3, crimes=6_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=1_000)


@pytest.fixture(scope="session")
def force():
    return ww.synth.generate(**FORCE_KW)


@pytest.fixture(scope="session")
def tiny():
    return ww.synth.generate(**TINY_KW)


@pytest.fixture(scope="session")
def tiny_files(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-force")
    paths = tiny.write_all(out)
    return out, paths


@pytest.fixture(scope="session")
def tiny_kw():
    return dict(TINY_KW)
