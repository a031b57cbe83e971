"""whatworks.survey — public confidence from survey microdata (issue 15).

``Design`` (weights, strata, PSUs, fpc; rake / calibrate / poststratify), design-based ``mean / proportion / total``
by domain, ``trend`` (quarterly, rolling 12 months, SPC on sampling error), ``small_area`` (Fay–Herriot EBLUP),
``drivers`` (the confidence model), ``event_effect`` (before/after an event) and ``ebp_report`` (the evidence-based
practice benchmark survey of senior staff against the seed's figures). See docs/survey.md.
"""

from whatworks.survey.design import Design, margins_from_table
from whatworks.survey.estimate import SurveyEstimate, SurveyTrend, trend

__all__ = ["Design", "margins_from_table", "SurveyEstimate", "SurveyTrend", "trend"]

from whatworks.survey.smallarea import SmallAreaResult, small_area  # noqa: E402

__all__ += ["small_area", "SmallAreaResult"]

from whatworks.survey.drivers import DriversResult, drivers  # noqa: E402

__all__ += ["drivers", "DriversResult"]

from whatworks.survey.events import EventEffectResult, event_effect  # noqa: E402

__all__ += ["event_effect", "EventEffectResult"]

from whatworks.survey.ebp import EBP_MAPPING, QUESTIONNAIRE, EBPReport, ebp_report  # noqa: E402

__all__ += ["ebp_report", "EBPReport", "QUESTIONNAIRE", "EBP_MAPPING"]
