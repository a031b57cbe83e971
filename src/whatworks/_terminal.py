"""Text from data, shown safely on a terminal: control, bidi and zero-width characters as visible escapes, rich
markup escaped (issue 12, "Output that cannot be hijacked"). Every CLI module imports these from here, so none
needs to import :mod:`whatworks.cli` (which mounts them) back."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

# Characters that reorder or hide text (bidi embeddings/overrides/isolates, marks, zero-width, BOM): shown as
# \u escapes so that a file name or force name cannot disguise itself on the terminal.
_INVISIBLE = frozenset([0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
                        *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def visible(value, *, keep_newlines: bool = True) -> str:
    """``value`` as text with control characters and bidi/zero-width characters written as visible escapes
    (``\\x1b``, ``\\u202e``); newlines are kept when ``keep_newlines`` (multi-line summaries)."""
    text = str(value)
    out = []
    for ch in text:
        c = ord(ch)
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif c < 0x20 or 0x7F <= c < 0xA0:
            out.append(f"\\x{c:02x}")
        elif c in _INVISIBLE:
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    return "".join(out)


def safe(value) -> str:
    """Text from data (force, file, area and column names, reasons, hints) for a rich markup string: visible
    escapes for control characters, then markup escaped, so ``[/bold]`` or ``[files.columns]`` print literally."""
    return escape(visible(value))


def cell(value, *, keep_newlines: bool = False) -> Text:
    """A table cell (or a whole message) from data: a plain Text, never parsed as markup."""
    return Text(visible(value, keep_newlines=keep_newlines))

__all__ = ["visible", "safe", "cell"]
