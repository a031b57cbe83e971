"""A small synthetic force in a store file, opened read-only as `whatworks serve` opens it (built once per module)."""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.synth import _constants as C

SEED = 18


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(force, path of the store file): the synthetic force with its area lookup (populations, covariates)."""
    folder = tmp_path_factory.mktemp("app")
    force = ww.synth.generate(seed=SEED, crimes=4_000, months=30, boroughs=4, wards_per_borough=2,
                              lsoas_per_ward=3, segments_per_lsoa=8, survey_per_year=100)
    path = str(folder / "s.duckdb")
    with ww.Store(path) as store:
        force.to_store(store, workdir=folder / "files")
        areas = force.tables["areas"]
        top = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
        store.ingest_areas(pd.concat([top, areas[["code", "name", "level", "parent_code", "population", "deprivation",
                                                  "density"]]], ignore_index=True), quiet=True)
    return force, path


@pytest.fixture(scope="module")
def store(built):
    s = ww.Store(built[1], read_only=True)
    yield s
    s.close()
