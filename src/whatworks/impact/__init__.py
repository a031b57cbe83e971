"""whatworks.impact: evaluation without randomisation — matching, difference-in-differences, interrupted time series,
synthetic control, displacement and event windows (docs/impact.md).

The verbs are imported here, not lazily: a submodule named like its verb (``impact.match``) would otherwise shadow the
function once any code imported the submodule first.
"""

from __future__ import annotations

from whatworks.impact._design import SMS_RULES, DesignRecord
from whatworks.impact._rtm import before_after
from whatworks.impact.did import did
from whatworks.impact.displacement import displacement
from whatworks.impact.events import event_window
from whatworks.impact.its import its
from whatworks.impact.match import match
from whatworks.impact.synthcontrol import synthetic_control

__all__ = ["match", "its", "displacement", "event_window", "did", "synthetic_control", "DesignRecord", "SMS_RULES", "before_after"]
