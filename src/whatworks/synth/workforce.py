"""Workforce by borough and financial year: officers, staff and PCSOs by role, with abstractions.

Officers per borough are proportional to its expected crime (``OFFICERS_PER_1000_CRIMES`` per 1,000 recorded
crimes a year) split across roles by ``ROLE_SHARES``; staff and PCSOs are fixed ratios to officers. Each row
carries headcount, full-time equivalents and the abstraction rate (share of time unavailable: training,
sickness, court, leave), drawn around ``ABSTRACTION_MEAN`` by role.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from whatworks.synth._util import rng_for
from whatworks.synth.geography import Geography

OFFICERS_PER_1000_CRIMES = 28.0
ROLE_SHARES = {"officer": {"Response": 0.38, "Neighbourhood": 0.22, "Investigation (CID)": 0.18, "Safeguarding": 0.10,
                           "Roads and operations": 0.07, "Custody": 0.05},
               "staff": {"Contact and control": 0.35, "Investigation support": 0.25, "Custody": 0.10, "Analysis": 0.08,
                         "Business support": 0.22},
               "pcso": {"Neighbourhood": 1.0}}
STAFF_PER_OFFICER = 0.55
PCSO_PER_OFFICER = 0.10
ABSTRACTION_MEAN = {"Response": 0.24, "Neighbourhood": 0.30, "Investigation (CID)": 0.18, "Safeguarding": 0.17,
                    "Roads and operations": 0.20, "Custody": 0.16, "Contact and control": 0.15, "Investigation support": 0.12,
                    "Analysis": 0.10, "Business support": 0.11}


def build_workforce(seed: int, geo: Geography, crimes_by_borough: np.ndarray, *, start: pd.Timestamp,
                    months: int) -> tuple[pd.DataFrame, dict]:
    rng = rng_for(seed, "workforce")
    bor = geo.areas.loc[geo.areas["level"] == "borough", ["code", "name"]].reset_index(drop=True)
    years = sorted({(start + pd.DateOffset(months=m)).year - ((start + pd.DateOffset(months=m)).month < 4)
                    for m in range(months)})
    per_year = crimes_by_borough / (months / 12)
    rows = []
    for yi, fy in enumerate(years):
        for b in range(len(bor)):
            officers = per_year[b] / 1000 * OFFICERS_PER_1000_CRIMES * (1 + 0.02 * yi)
            totals = {"officer": officers, "staff": officers * STAFF_PER_OFFICER, "pcso": officers * PCSO_PER_OFFICER}
            for kind, roles in ROLE_SHARES.items():
                for role, share in roles.items():
                    fte = totals[kind] * share * rng.uniform(0.92, 1.08)
                    head = int(np.ceil(fte * rng.uniform(1.02, 1.08)))
                    abstr = ABSTRACTION_MEAN.get(role, 0.2) + rng.normal(0, 0.02)
                    rows.append({"financial_year": f"{fy}/{(fy + 1) % 100:02d}", "borough_code": bor["code"][b],
                                 "borough": bor["name"][b], "staff_type": kind, "role": role, "headcount": head,
                                 "fte": round(fte, 1), "abstraction_rate": round(float(np.clip(abstr, 0.03, 0.6)), 3)})
    truth = {"officers_per_1000_crimes_a_year": OFFICERS_PER_1000_CRIMES, "growth_per_year": 0.02,
             "staff_per_officer": STAFF_PER_OFFICER, "pcso_per_officer": PCSO_PER_OFFICER, "role_shares": ROLE_SHARES,
             "abstraction_mean_by_role": ABSTRACTION_MEAN, "abstraction_sd": 0.02, "fte_noise": "x U(0.92, 1.08)"}
    return pd.DataFrame(rows), truth
