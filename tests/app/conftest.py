"""A small synthetic force in a store file, opened read-only as `whatworks serve` opens it (built once per module);
and, for the browser tests, the server on it and a headless Chromium (tests/app/browser.py)."""

from __future__ import annotations

import os
from pathlib import Path

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


# ------------------------------------------------------------------------------------------- the browser tests

ARTEFACTS = Path(__file__).parent / "_artifacts"   # git-ignored


@pytest.fixture(scope="session")
def browser_ready():
    """Skip the browser tests when Selenium, chromium or chromedriver is missing, except under ``CI=true``
    (.ci/run installs Debian's chromium and chromium-driver): there they fail."""
    import browser

    why = browser.missing()
    if why is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but the browser tests cannot run: {why}.", pytrace=False)
        pytest.skip(f"browser tests: {why}")
    return browser


@pytest.fixture(scope="session")
def artefacts():
    """Where the browser tests save screenshots: $WHATWORKS_TEST_ARTEFACTS, else tests/app/_artifacts."""
    folder = Path(os.environ.get("WHATWORKS_TEST_ARTEFACTS") or ARTEFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def live(browser_ready, built):
    """The dashboard served by ``whatworks serve``'s server over the store file, without authentication."""
    with browser_ready.serve(built[1]) as url:
        yield url


@pytest.fixture(scope="module")
def driver(browser_ready):
    """One headless Chromium for the module's tests (each test starts from a page load)."""
    d = browser_ready.chrome()
    yield d
    d.quit()
