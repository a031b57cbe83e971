"""Announce defaults chosen from the data (sfhotspot's "Cell size set to 250 metres automatically").

Every ``choose_*`` function calls :func:`announce` with the value, its unit and the reason, and records a
:class:`Setting` in the result's ``.settings``. ``quiet=True`` on the public function (or
``whatworks.options.quiet = True`` globally) silences the message but never the record.

Fixed (documented) defaults — a seed, a number of permutations, a significance level, a kernel — are recorded with
:func:`given_or_default`, not announced. Such an option takes ``None`` as its "not given" sentinel: comparing the value
with the default (``"user" if alpha != 0.05 else "default"``, ``"user" if seed else "default"``) cannot tell an
explicit ``alpha=0.05`` or ``seed=0`` from an omitted one, and recorded the caller's choice as a default.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class _Options:
    quiet: bool = False


options = _Options()


@dataclass(frozen=True)
class Setting:
    """One resolved setting: its value, where it came from, and why."""

    value: Any
    source: str = "user"  # "user" | "data" | "default"
    reason: str = ""
    unit: str | None = None

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.value}{unit} [{self.source}]{why}"


def announce(message: str, *, quiet: bool = False) -> None:
    """Print a one-line notice about a chosen default to stderr, unless quiet."""
    if quiet or options.quiet:
        return
    print(f"whatworks: {message}", file=sys.stderr)


def resolve(
    name: str,
    value: Any,
    chooser,
    *,
    unit: str | None = None,
    quiet: bool = False,
    settings: dict[str, Setting] | None = None,
) -> Any:
    """Return ``value`` if given, else ``chooser()`` (which returns ``(value, reason)``), announcing and recording it.

    ``settings``, when given, receives the :class:`Setting` under ``name``.
    """
    if value is not None:
        setting = Setting(value, "user", "given by the caller", unit)
    else:
        chosen, reason = chooser()
        setting = Setting(chosen, "data", reason, unit)
        unit_txt = f" {unit}" if unit else ""
        announce(f"{name.replace('_', ' ')} set to {chosen}{unit_txt} ({reason}).", quiet=quiet)
        value = chosen
    if settings is not None:
        settings[name] = setting
    return value


def given_or_default(settings: dict[str, Setting], name: str, value: Any, default: Any, *, reason: str = "",
                     default_reason: str | None = None, unit: str | None = None) -> Any:
    """Return ``value``, or ``default`` when ``value`` is None, and record which it was under ``settings[name]``.

    The caller's value is recorded with source ``"user"`` — even when it equals the default — and an omitted one
    (``None``) with source ``"default"``; fixed defaults are recorded, not announced (only defaults chosen from the data
    are announced). ``reason`` describes the option in both cases (``"given by the caller"`` when empty);
    ``default_reason``, when given, replaces it for the default.
    """
    if value is None:
        settings[name] = Setting(default, "default", default_reason if default_reason is not None else reason, unit)
        return default
    settings[name] = Setting(value, "user", reason or "given by the caller", unit)
    return value
