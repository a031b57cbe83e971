"""whatworks.evidence.grading: Maryland SMS suggestions with reasons, overrides kept, EMMIE checks."""

import pytest

from whatworks.errors import WhatworksError
from whatworks.evidence.grading import emmie, grade, sms_level


@pytest.mark.parametrize("design, checks, level", [
    ("randomised", None, 5), ("randomised", {"balance": False}, 4), ("difference-in-differences", {"pretrend": True}, 4),
    ("difference-in-differences", {"pretrend": False}, 3), ("matched comparison", {"smd": True}, 3),
    ("interrupted time series", {"long": False}, 2), ("before/after", None, 2), ("cross-sectional", None, 1)])
def test_sms_level_by_design(design, checks, level):
    got, reason = sms_level(design, checks)
    assert got == level and design in reason


def test_design_record_is_used_duck_typed():
    from whatworks.impact._design import DesignRecord

    rec = DesignRecord("matched comparison", {"balance_smd_below_0.1": False})
    assert sms_level(rec) == rec.sms_hint() and sms_level(rec)[0] == 2
    # the name alone with the same checks grades the same as the record
    assert sms_level("matched comparison", {"balance_smd_below_0.1": False})[0] == 2


def test_override_needs_and_keeps_a_reason():
    with pytest.raises(WhatworksError, match="needs a reason"):
        grade("before/after", level=3)
    g = grade("before/after", level=3, reason="comparison beats matched by hand", graded_by="EPU")
    assert (g.level, g.suggested, g.override_reason) == (3, 2, "comparison beats matched by hand")
    assert "overridden" in str(g)


def test_grade_without_design_is_refused():
    with pytest.raises(WhatworksError, match="needs a design"):
        grade(None, level=3, reason="x")


def test_emmie_ratings():
    assert emmie({"effect": 4, "economics": 0}) == {"effect": 4, "economics": 0}
    with pytest.raises(WhatworksError, match="0 to 4"):
        emmie({"mechanism": 5})
    with pytest.raises(WhatworksError, match="Unknown EMMIE"):
        emmie({"cost": 1})
