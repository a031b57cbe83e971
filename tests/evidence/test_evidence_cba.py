"""whatworks.evidence.cba: hand-worked cases (the working is written out in each test) and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from whatworks.errors import WhatworksError
from whatworks.evidence.cba import cba, present_value
from whatworks.evidence.costs import cost_of_crime

COSTS = cost_of_crime(confirmed_only=True)


def test_present_value_is_the_green_book_formula():
    # PV = 100 + 100/1.035 + 100/1.035^2 = 100 + 96.6183575 + 93.3510700 = 289.9694275
    assert present_value([100, 100, 100]) == pytest.approx(289.9694275, abs=1e-7)
    assert present_value([50], 0.035) == 50


def test_hand_worked_robbery_three_years():
    # Working:
    #   baseline 50 robberies a year, effect rate ratio 0.8 -> 50 x 0.2 = 10 prevented a year, 30 over 3 years
    #   benefit a year = 10 x £11,320 = £113,200;  discount factors t=0,1,2: 1, 0.966183575, 0.933510700 (sum 2.899694275)
    #   PV benefits = 113,200 x 2.899694275 = £328,245.392;  PV costs = 100,000 x 2.899694275 = £289,969.428
    #   NPV = 38,275.965;  BCR = 113,200 / 100,000 = 1.132
    #   break-even rate ratio = 1 - PV costs / PV(baseline cost) = 1 - 100,000 / (50 x 11,320) = 1 - 0.176678445 = 0.823321555
    r = cba(100_000, 0.8, {"Robbery": 50}, COSTS, years=3)
    assert r.crimes_prevented == pytest.approx(30)
    assert r.pv_benefits == pytest.approx(328_245.392, abs=1e-3)
    assert r.pv_costs == pytest.approx(289_969.4275, abs=1e-3)
    assert r.npv == pytest.approx(38_275.965, abs=1e-3)
    assert r.bcr == pytest.approx(1.132)
    assert r.break_even_effect == pytest.approx(0.823321555, abs=1e-9)
    assert r.table["discount_factor"].tolist() == pytest.approx([1, 1 / 1.035, 1 / 1.035 ** 2])
    assert r.settings["discount_rate"].source == "default" and r.settings["discount_rate"].value == 0.035
    assert r.price_year == "2015/16"


def test_effect_interval_carried_through():
    # one year, no discounting: 100 violence-with-injury crimes x £14,050 = £1,405,000 a year of crime
    # effect 0.9 (CI 0.8 to 1.0): prevented 10 (0 to 20), benefits £140,500 (0 to £281,000); cost £50,000
    # NPV 90,500 (low -50,000, high 231,000); BCR 2.81 (0 to 5.62)
    r = cba(50_000, 0.9, {"Violence with injury": 100}, COSTS, effect_ci=(0.8, 1.0))
    assert r.table["crimes_prevented_low"].iloc[0] == pytest.approx(0)
    assert r.table["crimes_prevented_high"].iloc[0] == pytest.approx(20)
    assert r.npv == pytest.approx(90_500)
    assert (r.npv_low, r.npv_high) == pytest.approx((-50_000, 231_000))
    assert (r.bcr_low, r.bcr_high) == pytest.approx((0, 5.62))
    assert "NPV runs from £-50,000 to £231,000" in r.summary()


def test_two_crime_types_and_costs_per_year():
    # 20 robberies (£11,320) + 100 criminal damage (£1,350): baseline cost 226,400 + 135,000 = £361,400 a year
    # effect 0.75 -> benefit 90,350 a year; costs 120,000 then 40,000; years 2
    # PV benefits = 90,350 x (1 + 1/1.035) = 90,350 x 1.966183575 = 177,644.686
    # PV costs = 120,000 + 40,000/1.035 = 120,000 + 38,647.343 = 158,647.343;  NPV = 18,997.343
    r = cba([120_000, 40_000], 0.75, {"Robbery": 20, "Criminal damage (other)": 100}, COSTS, years=2)
    assert r.pv_benefits == pytest.approx(177_644.686, abs=1e-3)
    assert r.pv_costs == pytest.approx(158_647.343, abs=1e-3)
    assert r.npv == pytest.approx(18_997.343, abs=1e-3)
    assert r.by_type.set_index("crime_type").loc["Robbery", "crimes_prevented"] == pytest.approx(10)


def test_sensitivity_and_tornado():
    r = cba(100_000, 0.8, {"Robbery": 50}, COSTS, years=3)
    s = r.sensitivity.set_index("input")
    # programme cost +25%: NPV falls by 0.25 x 289,969.43 = 72,492.36
    assert s.loc["programme cost", "npv_at_high"] == pytest.approx(38_275.965 - 72_492.357, abs=1e-2)
    # discount rate 0: NPV = 3 x (113,200 - 100,000) = 39,600
    assert s.loc["discount rate", "npv_at_low"] == pytest.approx(39_600)
    assert r.sensitivity["swing"].is_monotonic_decreasing
    assert r.plot().axes


# CHECK INPUTS
def test_unconfirmed_figure_is_not_shipped():
    with pytest.raises(WhatworksError, match=r"no unit cost.*row 11 \('Domestic burglary'\).*unconfirmed"):
        cba(1000, 0.9, {"Domestic burglary": 10}, cost_of_crime())


def test_cost_without_price_year_names_the_row():
    costs = pd.DataFrame({"crime_type": ["Robbery"], "unit_cost": [11_320.0], "price_year": [None]})
    with pytest.raises(WhatworksError, match=r"no price year.*row 1 \('Robbery'\)"):
        cba(1000, 0.9, {"Robbery": 10}, costs)


def test_unknown_crime_type_in_cost_table():
    costs = pd.DataFrame({"crime_type": ["Robbery", "Burglery"], "unit_cost": [1.0, 2.0], "price_year": ["2015/16"] * 2})
    with pytest.raises(WhatworksError, match=r"does not know.*row 2 \('Burglery'\)"):
        cba(1000, 0.9, {"Robbery": 10}, costs)
    # your own categories are accepted when named
    assert cba(1000, 0.9, {"Robbery": 10}, costs, known_types=["Burglery"]).npv == pytest.approx(-999)


def test_mixed_price_years_refused():
    costs = pd.DataFrame({"crime_type": ["Robbery", "Arson"], "unit_cost": [1.0, 2.0],
                          "price_year": ["2015/16", "2022/23"]})
    with pytest.raises(WhatworksError, match="different price years"):
        cba(10, 0.9, {"Robbery": 1, "Arson": 1}, costs)


def test_missing_cost_for_a_baseline_type():
    with pytest.raises(WhatworksError, match="no cost for some crime types"):
        cba(10, 0.9, {"Shoplifting": 1}, COSTS)
