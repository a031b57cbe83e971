"""whatworks.performance: telling signal from noise in police performance figures.

One verb per module: :func:`indicators` (counts, rates, solved rates, harm by period), :func:`spc` (XmR charts with the
Making Data Count rules), :func:`runchart` (Anhøj rules), :func:`funnel` (funnel plots with over-dispersion),
:func:`compare` (exact test of two counts), :func:`peers` (most-similar areas) and :func:`harm` (harm-weighted totals
from your own weights). See docs/performance.md.
"""

from whatworks.performance.compare import CompareResult, compare
from whatworks.performance.funnel import FunnelResult, funnel
from whatworks.performance.harm import HarmResult, harm
from whatworks.performance.indicators import (CHARGED_OUTCOMES, OUT_OF_COURT_OUTCOMES, SOLVED_OUTCOMES,
                                              IndicatorsResult, indicators)
from whatworks.performance.peers import PeersResult, peers
from whatworks.performance.runchart import RunChartResult, runchart
from whatworks.performance.spc import POINT_TYPES, SPCResult, spc

__all__ = ["indicators", "spc", "runchart", "funnel", "compare", "peers", "harm",
           "IndicatorsResult", "SPCResult", "RunChartResult", "FunnelResult", "CompareResult", "PeersResult",
           "HarmResult", "SOLVED_OUTCOMES", "CHARGED_OUTCOMES", "OUT_OF_COURT_OUTCOMES", "POINT_TYPES"]
