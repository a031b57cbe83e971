"""DesignRecord and the Maryland SMS hint (issue 14, item 8)."""

from __future__ import annotations

import pytest

from whatworks.errors import WhatworksError
from whatworks.impact._design import DESIGNS, DesignRecord


def test_levels_by_design_and_checks():
    assert DesignRecord("randomised", {"balance": True}).sms_hint()[0] == 5
    assert DesignRecord("matched comparison", {"balance_smd_below_0.1": True}).sms_hint()[0] == 3
    lvl, why = DesignRecord("matched comparison", {"balance_smd_below_0.1": False}).sms_hint()
    assert lvl == 2 and "balance_smd_below_0.1" in why
    assert DesignRecord("difference-in-differences", {"parallel_pre_trends": True}).sms_hint()[0] == 4
    assert DesignRecord("interrupted time series", {}).sms_hint()[0] == 2
    assert DesignRecord("before/after", {"x": False}).sms_hint()[0] == 1
    assert len(DESIGNS) == 7


def test_frozen_and_validated():
    d = DesignRecord("event window", {"balance": True}, ["note"])
    assert d.notes == ("note",) and d.to_dict()["sms_hint"] == 2
    with pytest.raises(TypeError):
        d.checks["balance"] = False
    with pytest.raises(WhatworksError, match="must be one of"):
        DesignRecord("quasi", {})
    with pytest.raises(WhatworksError, match="True or False"):
        DesignRecord("randomised", {"x": 1})
