"""Issue 13: the pack's "What needs attention" list (the pack-level checks are in test_report_pack.py)."""

import re

import numpy as np
import pandas as pd

from whatworks.report.pack import HEADLINE, Indicator, needs_attention


def _row(**kw):
    base = dict(point_type="common_cause", latest_month="2025-03", verdict="within normal variation", significant=False,
                rate_ratio=np.nan, p_value=np.nan, quarter_unusual=False)
    base.update(kw)
    return base


class _Harm:
    table = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "harm": [10.0, 50.0]})


def test_attention_lists_only_signals_ordered_by_harm():
    head = (Indicator("Burglary", ("Burglary",)), Indicator("Robbery", ("Robbery",)), Indicator("Vehicle", ("Vehicle crime",)))
    table = pd.DataFrame([_row(point_type="special_cause_concern", verdict="special cause — concern"),
                          _row(significant=True, rate_ratio=1.30, p_value=0.001),
                          _row(significant=True, rate_ratio=0.70, p_value=0.001)])   # a fall in crime: good news
    a = needs_attention(table, head, {}, None, _Harm())
    assert a["indicator"].tolist() == ["Robbery", "Burglary"]            # harm 50 before harm 10
    assert a["anchor"].tolist() == ["indicator-2", "indicator-1"]
    assert a["signal"].tolist() == ["change beyond chance against last year", "special cause in the latest month"]


def test_attention_empty_when_nothing_signals():
    table = pd.DataFrame([_row() for _ in HEADLINE])
    assert needs_attention(table, HEADLINE, {}, None, None).empty


def test_a_missing_flag_is_not_a_signal():
    # regression: in a table mixing seasonal and non-seasonal charts the flags of the others are NaN, and bool(nan) is
    # True, so the demo pack listed "unusual for the time of year — nan: nan times what the season predicts"
    table = pd.DataFrame([_row() for _ in HEADLINE])
    table.loc[0, "quarter_unusual"] = True
    table.loc[0, ["quarter_ratio", "quarter_months"]] = [1.3, "2025-01 to 2025-03"]
    table["quarter_unusual"] = table["quarter_unusual"].astype(object)
    table.loc[1:, "quarter_unusual"] = np.nan
    table["significant"] = table["significant"].astype(object)
    table.loc[2, "significant"] = np.nan
    a = needs_attention(table, HEADLINE, {}, None, None)
    assert a["indicator"].tolist() == [HEADLINE[0].label]
    assert a["detail"].tolist() == ["2025-01 to 2025-03: 1.30 times what the season predicts"]
