"""whatworks.report: the performance pack and area landscapes, as self-contained HTML files (docs/report.md).

>>> import whatworks as ww
>>> ww.report.pack(store, area="S09900001", period="2024-04..2025-03", out="pack.html")    # doctest: +SKIP
>>> ww.report.landscape(store, area="S09900001", out="landscape.html")                      # doctest: +SKIP
"""

from whatworks.report.landscape import LandscapeResult, landscape
from whatworks.report.pack import HEADLINE, Indicator, PackResult, pack
from whatworks.report.sections import Confidence

__all__ = ["pack", "PackResult", "Indicator", "HEADLINE", "landscape", "LandscapeResult", "Confidence"]
