"""End to end: the synthetic police.uk archive and RMS export load through the real readers with nothing quarantined."""

from __future__ import annotations

import whatworks as ww
from whatworks.synth import _constants as K


def test_to_store_loads_everything_with_zero_quarantined(tiny, tmp_path):
    store = ww.Store(":memory:")
    reports = tiny.to_store(store, workdir=tmp_path)
    pu, rec = reports["policeuk"], reports["records"]
    assert pu.rows_quarantined == 0 and rec.rows_quarantined == 0
    assert pu.duplicates_skipped == 0 and rec.duplicates_skipped == 0
    assert pu.rows_loaded == pu.rows_read and rec.rows_loaded == rec.rows_read
    assert int(store.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0]) == 0

    crimes, stops, outcomes = tiny.tables["crimes"], tiny.tables["stops"], tiny.tables["outcomes"]
    counts = store.sql("SELECT source_system, kind, count(*) AS n FROM events GROUP BY ALL").set_index(["source_system", "kind"])["n"]
    n_asb = int((crimes["kind"] == "asb").sum())
    assert counts[("police.uk", "crime")] == len(crimes) - n_asb
    assert counts[("police.uk", "asb")] == n_asb
    assert counts[("police.uk", "outcome")] == len(outcomes)
    assert counts[("police.uk", "stop_search")] == len(stops)
    assert counts[(K.RMS_SYSTEM, "crime")] == len(crimes) - n_asb
    assert counts[(K.RMS_SYSTEM, "asb")] == n_asb
    assert counts[(K.STOPS_SYSTEM, "stop_search")] == len(stops)
    assert counts[(K.CUSTODY_SYSTEM, "arrest")] == len(tiny.tables["arrests"])
    persons = store.sql("SELECT source_system, count(*) AS n FROM persons GROUP BY ALL").set_index("source_system")["n"]
    assert persons.to_dict() == tiny.tables["persons"]["source_system"].value_counts().to_dict()

    # the RMS reader translated codes and dates back to the truth
    rms = store.sql(f"""SELECT reference, crime_type, occurred, x, y, time_precision FROM events
                        WHERE source_system = '{K.RMS_SYSTEM}' AND kind IN ('crime', 'asb') ORDER BY reference""")
    src = crimes.sort_values("reference")
    assert (rms["crime_type"].to_numpy() == src["crime_type"].astype(str).to_numpy()).all()
    assert (rms["occurred"].to_numpy() == src["occurred"].to_numpy()).all()
    assert (rms["x"].to_numpy() == src["x"].to_numpy()).all()
    assert set(rms["time_precision"]) == {"minute"}

    # police.uk last outcomes match what the force recorded
    last = store.sql("SELECT crime_id, last_outcome_category FROM crimes WHERE source_system = 'police.uk' AND kind = 'crime'")
    want = crimes.dropna(subset=["crime_id"]).set_index("crime_id")["outcome"].astype(str)
    assert (last.set_index("crime_id")["last_outcome_category"].reindex(want.index) == want).all()

    # re-ingesting the same files is a no-op
    again = tiny.to_store(store, workdir=tmp_path)
    assert again["policeuk"].rows_loaded == 0 and again["records"].rows_loaded == 0
