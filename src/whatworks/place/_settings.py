"""Record fixed (documented) defaults in ``.settings`` without confusing them with the caller's own values.

A public option whose default is a fixed value (a seed, a number of permutations, a significance level) takes ``None``
as its "not given" sentinel. Comparing the value with the default — ``"user" if seed else "default"`` or
``"user" if alpha != 0.05 else "default"`` — cannot tell an explicit ``seed=0`` or ``alpha=0.05`` from an omitted one,
and recorded the caller's choice as a default.
"""

from __future__ import annotations

from typing import Any

from whatworks._announce import Setting


def given_or_default(settings: dict[str, Setting], name: str, value: Any, default: Any, *, reason: str = "",
                     default_reason: str | None = None, unit: str | None = None) -> Any:
    """Return ``value``, or ``default`` when ``value`` is None, and record which it was under ``settings[name]``.

    The caller's value is recorded with source ``"user"``; an omitted one with source ``"default"`` (fixed defaults
    are recorded, not announced: only defaults chosen from the data are announced). ``reason`` describes the option
    in both cases; ``default_reason``, when given, replaces it for the default.
    """
    if value is None:
        settings[name] = Setting(default, "default", default_reason if default_reason is not None else reason, unit)
        return default
    settings[name] = Setting(value, "user", reason or "given by the caller", unit)
    return value
