"""The report's filter resolution (whatworks.report.data, issue 18): the source, period and area scope a report (and
the dashboard's quick chart) reads are the same as before the reads moved off the ``crimes`` view.

``resolve_scope`` used to read the forces with ``store.forces("crimes", source)``, ``choose_source`` the sources with
``store.sources("crimes")`` and ``choose_period`` the months with ``store.month_span("crimes", source)``: each of
those computes every crime's latest outcome in the view (seconds on a store of a million crimes). They now read
``store.counts`` groups, which the store makes on the events table. ``_resolve_scope_before`` below is the function
with its forces read from the view, as before, to pin the answers.
"""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.report import data
from whatworks.report.data import DERIVED_LEVEL
from whatworks.synth import _constants as C

WHERE = "test"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The synthetic force through the real readers (police.uk and the RMS export: two sources), with a force-level
    top area and its area lookup less one borough, whose small areas the store then places in a district derived
    from their LSOA names ("Westbridge 005A" is in Westbridge)."""
    d = tmp_path_factory.mktemp("scope")
    force = ww.synth.generate(seed=11, crimes=3_000, months=24, boroughs=3, wards_per_borough=2, lsoas_per_ward=3,
                              segments_per_lsoa=6, survey_per_year=50)
    s = ww.Store(str(d / "s.duckdb"))
    force.to_store(s, workdir=d / "files")
    a = force.tables["areas"]
    left_out = a.loc[a["name"] == "Westbridge", "code"].tolist()
    for _ in range(2):   # the borough, its wards, their LSOAs
        left_out += a.loc[a["parent_code"].isin(left_out), "code"].tolist()
    a = a[~a["code"].isin(left_out)]
    # the top area named otherwise than the force in the records, so that the force's name finds the force
    top = pd.DataFrame([{"code": C.FORCE_SLUG, "name": "Synthshire force area", "level": "force"}])
    s.ingest_areas(pd.concat([top, a[["code", "name", "level", "parent_code", "population"]]], ignore_index=True),
                   quiet=True)
    yield s
    s.close()


def _resolve_scope_before(store, area, source, *, where):
    """``resolve_scope`` with its forces read from the ``crimes`` view (``store.forces``), as before session 8,
    instead of from ``store.counts`` groups — the one read that changed in it."""
    from unittest import mock

    with mock.patch.object(data, "crime_forces", lambda s, src: s.forces("crimes", src)):
        return data.resolve_scope(store, area, source, where=where)


class _NoViewScans:
    """The store, with the three reads of the ``crimes`` view that cost seconds at scale refused."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        if name in ("sources", "forces", "month_span"):
            raise AssertionError(f"store.{name} read the crimes view")
        return getattr(self._store, name)


def _areas_to_try(store) -> list:
    t = store.area_table()
    names = t["name"].dropna().astype(str)
    return [None, *t["code"].tolist(), *names.str.lower().tolist(), *store.forces("crimes")]


# ---------------------------------------------------------------------------------------------- CHECK OUTPUTS


def test_the_reads_equal_the_crimes_views(store):
    assert data.crime_sources(store).equals(store.sources("crimes"))
    sources = store.sources("crimes")["source_system"].tolist()
    assert sorted(sources) == sorted(["police.uk", C.RMS_SYSTEM])
    for src in sources:
        assert data.crime_month_span(store, src) == store.month_span("crimes", src)
        assert data.crime_forces(store, src) == store.forces("crimes", src) == [C.FORCE_NAME]
    assert data.crime_month_span(store, "no such source") == (None, None) == store.month_span("crimes", "no such source")
    assert data.crime_forces(store, "no such source") == [] == store.forces("crimes", "no such source")


def test_scope_is_the_same_as_before_for_every_area(store):
    t = store.area_table()
    assert {"force", "borough", "ward", "lsoa", DERIVED_LEVEL} <= set(t["level"])   # every branch is tried
    tried = _areas_to_try(store)
    matches = set()
    for src in store.sources("crimes")["source_system"]:
        for area in tried:
            got = data.resolve_scope(store, area, src, where=WHERE)
            assert got == _resolve_scope_before(store, area, src, where=WHERE), (src, area)
            matches.add(got.match)
    assert matches == {"all", "area", "district", "force"}


def test_scope_of_a_borough_and_of_the_whole_store(store):
    src = data.choose_source(store, None, where=WHERE, quiet=True, settings={})
    t = store.area_table()
    b = t[t["level"] == "borough"].iloc[0]
    s = data.resolve_scope(store, b["code"], src, where=WHERE)
    wards = t.loc[t["parent_code"] == b["code"], "code"]
    inside = set(t.loc[t["parent_code"].isin(wards), "code"])
    assert len(inside) == 2 * 3 and s.lsoa_codes & set(t.loc[t["level"] == "lsoa", "code"]) == inside
    assert (s.match, s.level, s.force, s.name) == ("area", "borough", None, b["name"])
    whole = data.resolve_scope(store, None, src, where=WHERE)
    # the top areas are the force and Westbridge's six LSOAs (loaded with the records, no parent): mostly LSOAs
    assert (whole.name, whole.match, whole.lsoa_codes, whole.force, whole.unit_level) == (
        C.FORCE_NAME, "all", None, None, "lsoa")
    by_force = data.resolve_scope(store, C.FORCE_NAME, src, where=WHERE)
    assert (by_force.match, by_force.force, by_force.lsoa_codes) == ("force", C.FORCE_NAME, None)


def test_source_and_period_are_the_same_as_before(store):
    settings = {}
    src = data.choose_source(store, None, where=WHERE, quiet=True, settings=settings)
    assert src == "police.uk" and settings["source"].source == "data"
    first, last = store.month_span("crimes", src)
    got = data.choose_period(store, src, None, where=WHERE, quiet=True, settings={})
    assert got == ((last - pd.DateOffset(months=11)).strftime("%Y-%m"), last.strftime("%Y-%m"))
    with pytest.raises(WhatworksError, match="not all in the data"):
        data.choose_period(store, src, (f"{first - pd.DateOffset(months=1):%Y-%m}", f"{last:%Y-%m}"),
                           where=WHERE, quiet=True, settings={})


# ---------------------------------------------------------------------------------------------- no view scans


def test_resolution_never_scans_the_crimes_view(store):
    guarded = _NoViewScans(store)
    src = data.choose_source(guarded, None, where=WHERE, quiet=True, settings={})
    assert data.choose_period(guarded, src, None, where=WHERE, quiet=True, settings={}) == \
        data.choose_period(store, src, None, where=WHERE, quiet=True, settings={})
    for area in _areas_to_try(store):
        assert data.resolve_scope(guarded, area, src, where=WHERE) == data.resolve_scope(store, area, src, where=WHERE)


# ---------------------------------------------------------------------------------------------- CHECK INPUTS


def test_an_unknown_area_says_the_same_as_before(store):
    with pytest.raises(WhatworksError) as new:
        data.resolve_scope(store, "E99999999", "police.uk", where=WHERE)
    with pytest.raises(WhatworksError) as old:
        _resolve_scope_before(store, "E99999999", "police.uk", where=WHERE)
    assert str(new.value) == str(old.value) and "Synthshire Police" in str(new.value)
