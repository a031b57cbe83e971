"""whatworks.synth — a synthetic police force with known truth (docs/synth.md).

>>> import whatworks as ww
>>> force = ww.synth.generate(seed=0, crimes=20_000, months=12, boroughs=4)   # doctest: +SKIP
>>> force.write_all("synthetic-force/")                                         # doctest: +SKIP
>>> force.truth["interventions"]["hotspot_rct"]["rate_ratio"]                   # doctest: +SKIP
0.8
"""

from whatworks.synth.force import MonthBatch, SyntheticForce, generate

__all__ = ["generate", "SyntheticForce", "MonthBatch"]
