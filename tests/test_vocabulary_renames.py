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


# Issue 17, "quiet=False on every public analysis": each call below announces a default or a data-driven decision
# on stderr, and quiet=True silences it (the .settings record stays).
def _areas_with_a_gap() -> pd.DataFrame:
    return pd.DataFrame({"code": list("ABCDE"), "imd": [10.0, 11, 30, np.nan, 20], "density": [5.0, 6, 50, 52, 20]})


ANNOUNCING = [
    ("peers-dropped", lambda q: ww.performance.peers(_areas_with_a_gap(), ["imd", "density"], id="code", k=1,
                                                     on_missing="drop", quiet=q),
     "1 area(s) left out for a missing feature (on_missing='drop'): D."),
    ("peers-groups", lambda q: ww.performance.peers(_areas_with_a_gap().dropna(), id="code", quiet=q,
                                                    groups=pd.DataFrame({"code": ["A", "A", "B"],
                                                                         "peer": ["B", "C", "A"]})),
     "k set to 2 peers"),
    ("randomise-index", lambda q: randomise(_units(), seed=0, quiet=q), "units identified by the index"),
    ("randomise-rounding", lambda q: randomise(_units(), id="cell", prob=0.3, seed=0, quiet=q),
     "8 × prob 0.3 = 2.4 is not whole: 2 or 3 treated, the latter with probability 0.4"),
    ("compare", lambda q: ww.performance.compare([0, 5], [0, 7], quiet=q), "1 of 2 comparison(s) have no events"),
    ("harm", lambda q: ww.performance.harm(pd.DataFrame({"crime_type": ["Burglary", "Robbery", "Robbery"]}),
                                           pd.DataFrame({"crime_type": ["Burglary"], "weight": [2.0]}),
                                           on_missing="exclude", quiet=q),
     "2 crime(s) of 1 type(s) with no harm weight left out (on_missing='exclude'): Robbery."),
    ("power", lambda q: ww.trials.power("poisson", n=60, baseline=6, effect=0.8, quiet=q), "direction set to decrease"),
    ("consort", lambda q: ww.trials.consort(pd.DataFrame({"kind": ["assigned", "assigned"], "unit_id": ["u1", "u2"],
                                                         "arm": ["treatment", "control"], "reason": [None, None]}),
                                            quiet=q),
     "analysed set to every randomised unit not lost to follow-up or withdrawn"),
]


@pytest.mark.parametrize("call, message", [(c, m) for _, c, m in ANNOUNCING], ids=[i for i, _, _ in ANNOUNCING])
def test_quiet_silences_the_announcements(call, message, capsys):
    loud = call(False)
    err = capsys.readouterr().err
    assert f"whatworks: {message}" in err
    quiet = call(True)
    assert capsys.readouterr().err == ""
    assert loud.settings == quiet.settings            # silencing never changes the record


def _units_funnel(id_name: str = "unit"):
    units = pd.DataFrame({id_name: list("abcdef"), "n": [5, 7, 9, 4, 6, 30], "d": [100, 110, 120, 90, 105, 100]})
    return ww.performance.funnel(units, "n", "d", kind="proportion", id=id_name, quiet=True)


def test_funnel_chart_takes_id_and_refuses_id_col():
    from whatworks.report.charts import funnel_chart
    f = _units_funnel("area")
    with pytest.raises(WhatworksError, match=r"funnel_chart\(\): The 'id_col' parameter was renamed: pass 'id'"):
        funnel_chart(f, title="t", ylabel="y", xlabel="x", highlight="f", id_col="area")
    # not given: the funnel's own id column ("area" here, not the old fixed default "unit")
    by_default = funnel_chart(f, title="t", ylabel="y", xlabel="x", highlight="f", peers=["a"], names={"f": "Fen"})
    by_keyword = funnel_chart(f, title="t", ylabel="y", xlabel="x", highlight="f", peers=["a"], names={"f": "Fen"},
                              id="area")
    assert "this area" in by_default and "most similar areas" in by_default
    assert by_default.count("<path") == by_keyword.count("<path")
    no_id = ww.performance.funnel(pd.DataFrame({"n": [5, 7, 9], "d": [100, 110, 120]}), "n", "d",
                                  kind="proportion", quiet=True)
    with pytest.raises(WhatworksError, match="needs the column that names each area"):
        funnel_chart(no_id, title="t", ylabel="y", xlabel="x", highlight="a")
    assert "<svg" in funnel_chart(no_id, title="t", ylabel="y", xlabel="x")


def test_indicators_source_was_removed_with_the_read_to_use():
    # issue 17: analyses take DataFrames only; the old indicators(..., source=...) names the store read instead
    for value in ("police.uk", None):
        with pytest.raises(WhatworksError, match=r"indicators\(\): The 'source' parameter was removed\. Hint: .*"
                                                 r"store\.crimes\(source='police\.uk'\)"):
            indicators(_crimes(), source=value)
    assert "source" not in indicators.__code__.co_varnames[:indicators.__code__.co_argcount
                                                           + indicators.__code__.co_kwonlyargcount]
    assert indicators(_crimes(), by="lsoa_code", quiet=True).table["count"].sum() == 3
