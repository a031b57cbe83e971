"""whatworks.impact: evaluation without randomisation — matching, difference-in-differences, interrupted time series,
synthetic control, displacement and event windows (docs/impact.md).

The verbs load on first use, so ``import whatworks.impact`` stays light.
"""

from __future__ import annotations

import importlib

_VERBS = {
    "match": "whatworks.impact.match",
    "its": "whatworks.impact.its",
    "displacement": "whatworks.impact.displacement",
    "event_window": "whatworks.impact.events",
    "did": "whatworks.impact.did",
    "synthetic_control": "whatworks.impact.synthcontrol",
    "DesignRecord": "whatworks.impact._design",
}

__all__ = sorted(_VERBS)


def __getattr__(name: str):
    if name in _VERBS:
        return getattr(importlib.import_module(_VERBS[name]), name)
    raise AttributeError(f"module 'whatworks.impact' has no attribute {name!r}")
