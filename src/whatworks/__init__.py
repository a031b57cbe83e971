"""whatworks: an offline workbench for police Evidence & Performance Units.

>>> import whatworks as ww
>>> store = ww.Store("force.duckdb")            # doctest: +SKIP
>>> store.ingest_policeuk("2024-06.zip")        # doctest: +SKIP
"""

from __future__ import annotations

import importlib

from whatworks._announce import options
from whatworks.errors import WhatworksError

from whatworks._version import __version__  # noqa: E402  (one place for the version)

_SUBPACKAGES = ("store", "synth", "performance", "place", "people", "trials", "impact", "evidence", "survey",
                "privacy", "quality", "report", "app")


def __getattr__(name: str):
    # Subpackages load on first use so `import whatworks` stays fast and the app's optional
    # dependencies are only needed when the app is used.
    if name == "Store":
        from whatworks.store import Store

        return Store
    if name in _SUBPACKAGES:
        return importlib.import_module(f"whatworks.{name}")
    raise AttributeError(f"module 'whatworks' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "Store", *_SUBPACKAGES])


__all__ = ["Store", "WhatworksError", "options", "__version__", *_SUBPACKAGES]
