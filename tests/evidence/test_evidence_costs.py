"""whatworks.evidence.costs: the Home Office table, its checks, and uprating with the user's deflators."""

from __future__ import annotations

import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.evidence.costs import check_cost_table, cost_of_crime, uprate


def test_only_confirmed_figures_carry_values():
    t = cost_of_crime()
    assert t.loc[t["confirmed"], "unit_cost"].notna().all()
    assert t.loc[~t["confirmed"], "unit_cost"].isna().all()
    assert set(t.loc[~t["confirmed"], "crime_type"]) == {"Domestic burglary", "Violence without injury"}
    c = cost_of_crime(confirmed_only=True).set_index("crime_type")["unit_cost"]
    assert c["Rape"] == 39_360 and c["Theft from vehicle"] == 870 and len(c) == 10
    assert (t["price_year"] == "2015/16").all()


def test_uprate_with_user_deflators():
    # robbery £11,320 at index 100 -> index 112.5: 11,320 x 1.125 = £12,735
    d = pd.DataFrame({"price_year": ["2015/16", "2023/24"], "index": [100.0, 112.5]})
    out = uprate(cost_of_crime(), d, to_year="2023/24").set_index("crime_type")
    assert out.loc["Robbery", "unit_cost"] == pytest.approx(12_735)
    assert out.loc["Robbery", "uprated_from"] == "2015/16" and out.loc["Robbery", "price_year"] == "2023/24"
    assert "Domestic burglary" not in out.index  # no figure, nothing to uprate


def test_uprate_never_invents_an_index():
    d = pd.DataFrame({"price_year": ["2015/16"], "index": [100.0]})
    with pytest.raises(WhatworksError, match="no index for price year '2024/25'"):
        uprate(cost_of_crime(), d, to_year="2024/25")


def test_negative_unit_cost_names_row():
    t = pd.DataFrame({"crime_type": ["Arson", "Robbery"], "unit_cost": [1.0, -3.0], "price_year": ["2015/16"] * 2})
    with pytest.raises(WhatworksError, match=r"row 2 \('Robbery'\)"):
        check_cost_table(t)
