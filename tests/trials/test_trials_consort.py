"""Tests for whatworks.trials.consort: counts from a hand-built log, the SVG, and inputs."""

import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.trials import consort


def _records():
    rows = [
        ("assigned", "a", "treatment", ""), ("assigned", "b", "control", ""), ("excluded", "c", None, "under 18"),
        ("assigned", "d", "treatment", ""), ("excluded", "e", None, "under 18"), ("assigned", "f", "control", ""),
        ("excluded", "g", None, "no consent"), ("received", "a", "treatment", ""), ("not_received", "d", "treatment", "refused"),
        ("lost_to_follow_up", "f", "control", "moved"), ("withdrawn", "d", "treatment", ""), ("assigned", "h", "control", ""),
    ]
    return pd.DataFrame(rows, columns=["kind", "unit_id", "arm", "reason"])


def test_counts_by_hand():
    c = consort(_records(), title="Demo", arm_labels={"treatment": "Deferral"})
    k = c.counts
    assert (k["assessed"], k["excluded"], k["randomised"]) == (8, 3, 5)
    assert k["excluded_reasons"] == {"under 18": 2, "no consent": 1}
    assert k["allocated"] == {"treatment": 2, "control": 3}
    assert k["received"] == {"treatment": 1, "control": 0} and k["not_received"] == {"treatment": 1, "control": 0}
    assert k["delivery_recorded"] == {"treatment": True, "control": False}
    assert k["lost"] == {"treatment": 0, "control": 1} and k["withdrawn"] == {"treatment": 1, "control": 0}
    assert k["analysed"] == {"treatment": 1, "control": 2} and k["not_analysed"] == {"treatment": 1, "control": 1}
    assert c.summary() == ("Demo: 8 assessed for eligibility, 3 excluded, 5 randomised. Deferral: allocated 2, analysed 1; "
                           "control: allocated 3, analysed 2.")
    t = c.table.set_index(["stage", "arm", "detail"])["n"]
    assert t[("allocated", "control", "")] == 3 and t[("excluded", "all", "under 18")] == 2


def test_explicit_analysed_set():
    c = consort(_records(), analysed=["a", "b", "d", "f", "h"])
    assert c.counts["analysed"] == {"treatment": 2, "control": 3}
    with pytest.raises(WhatworksError, match="never randomised"):
        consort(_records(), analysed=["a", "zz"])


def test_svg_has_every_box():
    svg = consort(_records(), title="Demo").svg()
    assert svg.startswith("<?xml") and "</svg>" in svg
    for text in ("Assessed for eligibility (n = 8)", "Randomised (n = 5)", "Allocated to treatment (n = 2)",
                 "Delivery not recorded", "Analysed (n = 2)"):
        assert text in svg


def test_bad_records():
    with pytest.raises(WhatworksError, match="not found"):
        consort(_records().drop(columns=["reason"]))
    with pytest.raises(WhatworksError, match="DataFrame"):
        consort([1, 2])
