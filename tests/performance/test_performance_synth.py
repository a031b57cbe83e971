"""Recovery on the synthetic force (issue 4): the injected force-wide step change in one crime type is flagged by
spc() and measured by compare(); crime types without an injected change are mostly common-cause."""

from __future__ import annotations

import pytest

import whatworks.synth as synth
from whatworks.performance import compare, indicators, spc

generate = getattr(synth, "generate", None)
if generate is None:  # the synth package may not re-export it yet
    from whatworks.synth.force import generate


@pytest.fixture(scope="module")
def force():
    return generate(seed=1, crimes=60_000, months=36, boroughs=4)


def test_injected_step_change_is_flagged(force):
    truth = force.truth["interventions"]["step_change"]
    crimes = force.tables["crimes"]
    monthly = indicators(crimes[crimes["crime_type"] == truth["crime_type"]], outcome="outcome").table
    k = int((monthly["period"] == truth["month"]).to_numpy().argmax())
    assert k > 12
    r = spc(monthly, "count", "period_start", improvement="decrease", baseline=k, quiet=True)
    after = r.table.iloc[k:]
    # the rate fell by 20% (truth rate_ratio 0.8): most months after the step are special-cause improvement
    assert (after["point_type"] == "special_cause_improvement").mean() >= 0.5
    assert not (after["point_type"] == "special_cause_concern").any()
    # the exact comparison of the 12 months after with the 12 months before recovers the rate ratio
    post = monthly["count"].iloc[k:k + 12].sum()
    pre = monthly["count"].iloc[k - 12:k].sum()
    c = compare(post, pre)
    assert c.ci[0] <= truth["rate_ratio"] <= c.ci[1]
    assert c.ci[1] < 1


def test_step_is_specific_to_its_crime_type(force):
    truth = force.truth["interventions"]["step_change"]
    crimes = force.tables["crimes"]
    monthly = indicators(crimes, by="crime_type", outcome="outcome", period="quarter").table
    # types with no injected force-wide change: year-on-year comparisons are mostly not significant
    other = [t for t in monthly["crime_type"].unique() if t not in (truth["crime_type"], "Anti-social behaviour")]
    ratios = []
    for t in other:
        m = monthly[monthly["crime_type"] == t]
        ratios.append(compare(m["count"].iloc[-4:].sum(), m["count"].iloc[-8:-4].sum()).table["significant"].iloc[0])
    assert sum(ratios) <= len(ratios) // 2
