"""One exception family for everything whatworks refuses to do.

Every message follows one template (after scikit-learn's parameter validation and sfhotspot's
``validate_inputs``): what was expected, what was received, the first offending row when there is one,
and one hint. ``WhatworksError`` is a ``ValueError`` so generic ``except ValueError`` handlers still work.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WhatworksError", "StoreError", "IngestError", "error", "command_error"]


class WhatworksError(ValueError):
    """Raised when whatworks cannot do what was asked; the message says why and what to do."""


class StoreError(WhatworksError):
    """The store could not be opened, migrated or queried. Carries the named SQL step when there is one."""

    def __init__(self, message: str, *, step: str | None = None, sql: str | None = None):
        self.step = step
        self.sql = sql
        text = message
        if step:
            text = f"{text}\n  step: {step}"
        if sql:
            short = sql if len(sql) < 2000 else sql[:2000] + " …"
            text = f"{text}\n  sql: {short}"
        super().__init__(text)


class IngestError(WhatworksError):
    """A file was refused whole (unknown format, unreadable). The store is left as it was."""


def error(
    where: str,
    what: str,
    *,
    expected: str | None = None,
    got: Any = None,
    row: Any = None,
    hint: str | None = None,
    cls: type[WhatworksError] = WhatworksError,
) -> WhatworksError:
    """Build an error in the house template.

    >>> raise error("spc", "The 'improvement' parameter must be one of ...", got="up")  # doctest: +SKIP
    """
    return cls(_message(f"{where}(): {what}", expected, got, row, hint))


def command_error(command: str, what: str, *, expected: str | None = None, got: Any = None, row: Any = None,
                  hint: str | None = None) -> WhatworksError:
    """:func:`error`'s template naming a command line verb instead of a function: "whatworks repeats: … Hint: …".

    >>> str(command_error("repeats", "The store has no crimes.", hint="Load data first."))
    'whatworks repeats: The store has no crimes. Hint: Load data first.'
    """
    return WhatworksError(_message(f"whatworks {command}: {what}", expected, got, row, hint))


def _message(head: str, expected, got, row, hint) -> str:
    parts = [head]
    if expected is not None:
        parts.append(f"Expected {expected}.")
    if got is not None:
        parts.append(f"Got {got!r} instead.")
    if row is not None:
        parts.append(f"First offending row: {row}.")
    if hint:
        parts.append(f"Hint: {hint}")
    return " ".join(parts)
