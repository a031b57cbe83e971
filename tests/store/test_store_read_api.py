"""The store's named reads (store/_reads_api.py, issue #17): each against the same question asked with store.sql on a
small synthetic store (police.uk archive + RMS export through the real readers, and a hand-built area lookup)."""

from __future__ import annotations

import pandas as pd
import pytest

import whatworks as ww
from whatworks.errors import WhatworksError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    force = ww.synth.generate(seed=3, crimes=4_000, months=12, boroughs=2, wards_per_borough=2, lsoas_per_ward=2,
                              survey_per_year=200)
    s = ww.Store(":memory:")
    force.to_store(s, workdir=tmp_path_factory.mktemp("synth"))
    lsoas = sorted(s.sql("SELECT DISTINCT lsoa_code FROM events WHERE lsoa_code IS NOT NULL")["lsoa_code"])
    half = len(lsoas) // 2
    areas = pd.DataFrame({
        "code": ["L1", "W1", "W2", *lsoas],
        "name": ["Lad one", "Ward one", "Ward two", *lsoas],
        "level": ["lad", "ward", "ward", *["lsoa"] * len(lsoas)],
        "parent_code": [None, "L1", "L1", *["W1"] * half, *["W2"] * (len(lsoas) - half)],
        "population": [None, None, None, *[1000.0] * len(lsoas)],
    })
    s.ingest_areas(areas, quiet=True)
    yield s, lsoas[:half]
    s.close()


def _sql(store, view, where="", params=None, cols="*"):
    return store.sql(f"SELECT {cols} FROM {view} {where} ORDER BY month, event_id", params)


# ---------------------------------------------------------------------------------------------- CHECK OUTPUTS


@pytest.mark.parametrize("view", ["crimes", "asb", "stops", "outcomes"])
def test_each_record_read_equals_the_same_sql(store, view):
    s, _ = store
    got = getattr(s, view)()
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, _sql(s, view))


def test_crimes_filters_equal_sql(store):
    s, w1 = store
    marks = ", ".join("?" for _ in w1)
    got = s.crimes(source="police.uk", months=("2022-05", "2022-07"), area="W1", crime_types=["Burglary", "Robbery"],
                   columns=["month", "crime_type", "lsoa_code", "source_system"])
    want = _sql(s, "crimes", f"WHERE source_system = 'police.uk' AND month BETWEEN DATE '2022-05-01' AND DATE '2022-07-01' "
                             f"AND lsoa_code IN ({marks}) AND crime_type IN ('Burglary', 'Robbery')", w1,
                cols="month, crime_type, lsoa_code, source_system")
    assert len(got) > 10
    pd.testing.assert_frame_equal(got, want)
    one = s.asb(months="2022-06", source=["police.uk"])
    pd.testing.assert_frame_equal(one, _sql(s, "asb", "WHERE month = DATE '2022-06-01' AND source_system = 'police.uk'"))


def test_area_at_every_level(store):
    s, w1 = store
    every = s.crimes(columns=["lsoa_code"])
    located = every["lsoa_code"].notna().sum()
    assert len(s.crimes(area="L1")) == located                    # the LAD holds every small area
    assert len(s.crimes(area="W1")) + len(s.crimes(area="W2")) == located
    assert set(s.crimes(area="W1")["lsoa_code"]) <= set(w1)
    assert (s.stops(area=w1[0])["lsoa_code"] == w1[0]).all()       # an LSOA itself


def test_people_reads(store):
    s, _ = store
    from whatworks.store import links as _links

    inv = s.involvements()
    assert len(inv) > 0 and {"person_id", "role", "what", "occurred"} <= set(inv.columns)
    pd.testing.assert_frame_equal(inv, _links.involvements(s.con))
    assert s.links().empty and list(s.links().columns) == ["source_system", "person_id", "cluster_id", "model_version",
                                                          "linked_at"]
    with s.linkage_connection(memory_limit="500MB") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("476.8 MiB", "500.0 MB")
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_summaries_equal_sql(store):
    s, _ = store
    want = s.sql("SELECT source_system, count(*) AS rows FROM crimes GROUP BY 1 ORDER BY rows DESC, 1")
    pd.testing.assert_frame_equal(s.sources("crimes"), want)
    lo, hi = s.sql("SELECT min(month) AS a, max(month) AS b FROM crimes WHERE source_system = 'police.uk'").iloc[0]
    assert s.month_span("crimes", source="police.uk") == (pd.Timestamp(lo), pd.Timestamp(hi))
    assert s.month_span("crimes", source="nobody") == (None, None)
    mp = s.months_present("asb", source="police.uk")
    assert mp["rows"].sum() == len(s.asb(source="police.uk")) and mp["month"].is_monotonic_increasing
    ct = s.crime_types(["crimes", "asb"], source="police.uk")
    both = pd.concat([s.crimes(source="police.uk"), s.asb(source="police.uk")])
    assert ct.set_index("crime_type")["rows"].to_dict() == both["crime_type"].value_counts().to_dict()
    assert s.forces("stops") == sorted(s.sql("SELECT DISTINCT force FROM stops WHERE force IS NOT NULL")["force"])
    assert s.view_columns("crimes") == list(s.sql("SELECT * FROM crimes LIMIT 0").columns)
    ev = s.event_summary()
    assert ev["rows"].sum() == s.sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
    assert s.person_summary()["rows"].sum() == s.sql("SELECT count(*) AS n FROM persons")["n"].iloc[0]
    assert s.role_summary()["rows"].sum() == s.sql("SELECT count(*) AS n FROM event_persons")["n"].iloc[0]
    assert s.quarantine_count() == len(s.quarantine())
    assert s.quarantine_count(category="invalid") == len(s.quarantine(category="invalid"))


def test_area_reads(store):
    s, w1 = store
    anc = s.area_ancestors()
    assert set(anc.loc[anc["code"] == "W1", "lsoa_code"]) == {"W1", *w1}
    lad = s.area_table("lad")
    assert lad["code"].tolist() == ["L1"] and lad["population"].iloc[0] == 1000.0 * len(anc[anc["level"] == "lsoa"]
                                                                                         ["lsoa_code"].unique())


# ---------------------------------------------------------------------------------------------- CHECK INPUTS


@pytest.mark.parametrize("kwargs, match", [
    ({"months": "2022/05"}, "YYYY-MM"),
    ({"months": ("2022-07", "2022-05")}, "ends before it starts"),
    ({"months": ("2022-05",)}, "YYYY-MM"),
    ({"months": "2022-13"}, "YYYY-MM"),
    ({"source": []}, "empty list"),
    ({"source": 3}, "a name or a list"),
    ({"area": "NOWHERE"}, "not in the store"),
    ({"area": 7}, "must be an area code"),
    ({"crime_types": ["Burglary", None]}, "a name or a list"),
    ({"columns": ["month", "no_such"]}, r"\['no_such'\] are not in"),
])
def test_bad_arguments_are_clear_errors(store, kwargs, match):
    s, _ = store
    with pytest.raises(WhatworksError, match=match) as info:
        s.crimes(**kwargs)
    assert "Store.crimes" in str(info.value)


def test_bad_summary_arguments(store):
    s, _ = store
    with pytest.raises(WhatworksError, match="'table' parameter"):
        s.sources("persons")
    with pytest.raises(WhatworksError, match="'table' parameter"):
        s.crime_types("stops")
    with pytest.raises(WhatworksError, match="'category'"):
        s.quarantine_count(category="bad")
    with pytest.raises(WhatworksError, match="role_labels"):
        s.involvements(role_labels=["victim"])
    with pytest.raises(WhatworksError, match="memory_limit"):
        with s.linkage_connection(memory_limit=" "):
            pass


def test_link_refuses_conflicting_connection_settings(store):
    s, _ = store
    persons = s.persons()
    with s.linkage_connection() as con:
        with pytest.raises(WhatworksError, match="memory_limit= cannot be set"):
            ww.people.link(persons, source="source_system", record_id="person_id", connection=con, memory_limit="1GB",
                           quiet=True)
    with pytest.raises(WhatworksError, match="must be a DuckDB connection"):
        ww.people.link(persons, source="source_system", record_id="person_id", connection="nope", quiet=True)


# ---------------------------------------------------------------------------------------------- Spark


@pytest.mark.spark
def test_the_selection_runs_on_spark(store, spark):
    """engine.select is one Ibis expression: on a Spark table it keeps the same rows as the store's read."""
    from whatworks.store.engine import backend, month_bounds, select

    s, w1 = store
    crimes = s.crimes(columns=["event_id", "month", "crime_type", "lsoa_code", "source_system"])
    crimes["month"] = crimes["month"].dt.date
    sb = backend(engine="spark", session=spark)
    t = sb.create_table("read_api_crimes", crimes, overwrite=True)
    got = select(t, sources=["police.uk"], months=month_bounds("t", ("2022-05", "2022-07")), lsoa_codes=w1,
                 crime_types=["Burglary", "Robbery"], columns=["event_id", "crime_type"]).to_pandas()
    want = s.crimes(source="police.uk", months=("2022-05", "2022-07"), area="W1", crime_types=["Burglary", "Robbery"],
                    columns=["event_id", "crime_type"])
    assert len(want) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
