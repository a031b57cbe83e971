"""Issue 17 item 4, "one vocabulary": every renamed argument refuses its old name with a clear error naming the new one,
still works positionally, and an unknown keyword stays a TypeError worded as Python words it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import whatworks as ww
from whatworks._validate import refuse_renamed
from whatworks.errors import WhatworksError
from whatworks.performance import indicators
from whatworks.place import classify, knox
from whatworks.trials import randomise


def _victims() -> pd.DataFrame:
    return pd.DataFrame({"victim_id": ["a", "a", "a", "b"],
                         "occurred": ["2024-01-01", "2024-01-03", "2024-02-01", "2024-03-01"]})


def _offences() -> pd.DataFrame:
    return pd.DataFrame({"offender_id": ["a", "a", "b"], "occurred": ["2024-01-01", "2024-06-01", "2024-03-01"],
                         "crime_type": ["Burglary", "Robbery", "Burglary"]})


def _involvements() -> pd.DataFrame:
    return pd.DataFrame({"source_system": ["custody", "custody", "stops"], "person_id": ["p1", "p1", "p1"],
                         "what": ["arrest", "offence", "stop and search"],
                         "occurred": ["2011-08-07", "2010-05-01", "2010-06-01"]})


def _stops() -> pd.DataFrame:
    return pd.DataFrame({"officer_defined_ethnicity": ["White"] * 10 + ["Black"] * 10,
                         "outcome_linked_to_object": [True] * 3 + [False] * 7 + [True] * 2 + [False] * 8,
                         "outcome": ["A no further action disposal"] * 20})


def _residents() -> pd.DataFrame:
    return pd.DataFrame({"group": ["White", "Black"], "population": [10_000, 2_000]})


def _events(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.uniform(0, 1000, n), "y": rng.uniform(0, 1000, n),
                         "occurred": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), "D")})


def _units() -> pd.DataFrame:
    return pd.DataFrame({"cell": range(8), "beat": ["a", "a", "b", "b", "c", "c", "d", "d"]})


def _crimes() -> pd.DataFrame:
    return pd.DataFrame({"month": ["2024-03", "2024-04", "2024-04"], "lsoa_code": ["E1", "E1", "E2"],
                         "crime_type": ["Burglary"] * 3, "last_outcome_category": ["Offender fined", None, None]})


# (call with the old keyword, old name, what the message must name)
OLD_NAMES = [
    (lambda: ww.people.repeats(_victims(), who="victim_id", quiet=True), "who", "'id'"),
    (lambda: ww.people.repeats(_victims(), "victim_id", when="occurred", quiet=True), "when", "'date'"),
    (lambda: ww.people.repeats(_victims(), "victim_id", level=0.9, quiet=True), "level", "'conf_level'"),
    (lambda: ww.people.offenders(_offences(), person="offender_id", quiet=True), "person", "'id'"),
    (lambda: ww.people.offenders(_offences(), offence_date="occurred", quiet=True), "offence_date", "'date'"),
    (lambda: ww.people.offenders(_offences(), level=0.9, quiet=True), "level", "'conf_level'"),
    (lambda: ww.people.histories(_involvements(), window=("2011-08-06", "2011-08-10"), when="occurred"), "when",
     "'date'"),
    (lambda: ww.people.histories(_involvements(), window=("2011-08-06", "2011-08-10"), level=0.9), "level",
     "'conf_level'"),
    (lambda: ww.people.stop_search(_stops(), _residents(), level=0.9, quiet=True), "level", "'conf_level'"),
    (lambda: ww.people.rate_ratio_ci(10, 100, 5, 100, level=0.9), "level", "'conf_level'"),
    (lambda: knox(_events(), time="occurred", permutations=0, quiet=True), "time", "'date'"),
    (lambda: classify(_events(), time="occurred", cell_size=100, quiet=True), "time", "'date'"),
    (lambda: randomise(_units(), "cluster", id="cell", clusters="beat"), "clusters", "'cluster'"),
]


@pytest.mark.parametrize("call, old, new", OLD_NAMES, ids=[f"{i}-{o}" for i, (_, o, _) in enumerate(OLD_NAMES)])
def test_old_keyword_names_the_new_one(call, old, new):
    with pytest.raises(WhatworksError, match=rf"'{old}' parameter was renamed: pass {new} instead"):
        call()


REMOVED = [
    (lambda: ww.people.stop_search(_stops(), _residents(), population_column="residents", quiet=True),
     "population_column"),
    (lambda: indicators(_crimes(), by="lsoa_code", population=pd.DataFrame({"lsoa_code": ["E1", "E2"],
                                                                            "population": [1000, 2000]}),
                        population_col="population"), "population_col"),
]


@pytest.mark.parametrize("call, old", REMOVED, ids=[o for _, o in REMOVED])
def test_removed_population_column_says_to_name_it_population(call, old):
    with pytest.raises(WhatworksError, match=rf"'{old}' parameter was removed.*name the residents column .*'population'"):
        call()


def test_new_names_work_by_keyword_and_by_position():
    v = _victims()
    assert ww.people.repeats(v, "victim_id", None, "occurred", n_boot=5, quiet=True).repeat_rate == \
        ww.people.repeats(v, id="victim_id", date="occurred", conf_level=0.95, n_boot=5, quiet=True).repeat_rate
    r = ww.people.repeats(v, id="victim_id", conf_level=0.9, n_boot=5, quiet=True)
    assert (r.settings["conf_level"].value, r.settings["date"].value) == (0.9, "occurred")
    assert "90% CI" in r.summary() and "95% CI" not in r.summary()      # the summary names the level it used
    o = ww.people.offenders(_offences(), "offender_id", "occurred", n_boot=5, quiet=True)
    assert o.table["offender_id"].tolist() == ww.people.offenders(_offences(), id="offender_id", date="occurred",
                                                                  n_boot=5, quiet=True).table["offender_id"].tolist()
    assert o.settings["conf_level"].source == "default"
    h = ww.people.histories(_involvements(), window=("2011-08-06", "2011-08-10"), date="occurred", conf_level=0.9)
    assert h.settings["conf_level"].value == 0.9 and len(h.table) == 1 and "90% CI" in h.summary()
    s = ww.people.stop_search(_stops(), _residents(), conf_level=0.9, quiet=True)
    assert s.settings["conf_level"].value == 0.9 and "90% CI" in s.summary()
    assert ww.people.rate_ratio_ci(10, 100, 5, 100, conf_level=0.9)[0] == pytest.approx(2.0)
    ev = _events()
    by_position = knox(ev, "x", "y", "occurred", distance_bands=[0, 200], time_bands=[0, 14], permutations=0,
                       quiet=True)
    by_keyword = knox(ev.rename(columns={"occurred": "day"}), date="day", distance_bands=[0, 200],
                      time_bands=[0, 14], permutations=0, quiet=True)
    assert by_position.table["observed"].tolist() == by_keyword.table["observed"].tolist()
    assert classify(ev, "x", "y", "occurred", cell_size=250, periods=4, quiet=True).table.shape[0] > 0
    t = randomise(_units(), "cluster", id="cell", cluster="beat", seed=0)
    assert t.settings["cluster"].value == "beat"
    assert (t.table.groupby("cluster")["treatment"].nunique() == 1).all()


def test_funnel_and_peers_results_name_their_id_column_id():
    units = pd.DataFrame({"unit": list("abcdef"), "n": [5, 7, 9, 4, 6, 30], "d": [100, 110, 120, 90, 105, 100],
                          "f1": [1.0, 2, 3, 4, 5, 6], "f2": [6.0, 5, 4, 3, 2, 1]})
    f = ww.performance.funnel(units, "n", "d", kind="proportion", id="unit", quiet=True)
    assert f.id == "unit" and not hasattr(f, "id_col")
    p = ww.performance.peers(units, ["f1", "f2"], id="unit", k=2)
    assert p.id == "unit" and not hasattr(p, "id_col")
    assert p.of("a")["unit"].eq("a").all()


def test_refuse_renamed_keeps_unknown_keywords_a_type_error():
    refuse_renamed("f", {}, {"level": "conf_level"})            # nothing passed: nothing refused
    with pytest.raises(TypeError, match=r"^f\(\) got an unexpected keyword argument 'bogus'$"):
        refuse_renamed("f", {"bogus": 1}, {"level": "conf_level"})
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        ww.people.repeats(_victims(), "victim_id", bogus=1)
    with pytest.raises(WhatworksError, match=r"f\(\): The 'alpha' parameter was renamed: pass conf_level \(= 1 - alpha\)"):
        refuse_renamed("f", {"alpha": 0.05}, {"alpha": "conf_level (= 1 - alpha)"})
    with pytest.raises(WhatworksError, match=r"'old' parameter was removed\. Hint: do this"):
        refuse_renamed("f", {"old": 1}, {}, removed={"old": "do this"})
