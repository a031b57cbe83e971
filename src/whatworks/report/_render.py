"""Render the report templates (Jinja2, shipped as package data in ``whatworks/report/templates``)."""

from __future__ import annotations

import math

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from whatworks.privacy.disclosure import MARKER  # "[c]", ONS's mark for a suppressed cell


class Suppressed(float):
    """A figure hidden by disclosure control in a public output: shown as "[c]" (ONS), and missing (NaN) to every
    calculation and ``missing()`` test in the templates, so a sentence built from it is left out."""

    def __new__(cls):
        return super().__new__(cls, float("nan"))

    def __repr__(self) -> str:
        return "Suppressed()"


SUPPRESSED = Suppressed()


def _missing(v) -> bool:
    try:
        return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or bool(v != v)
    except (TypeError, ValueError):
        return False


def fmt_num(v, digits: int = 0) -> str:
    """12,345 / 12.3 — an en dash for a missing value."""
    if isinstance(v, Suppressed):
        return MARKER
    if _missing(v):
        return "–"
    return f"{float(v):,.{digits}f}"


def fmt_pct(v, digits: int = 1) -> str:
    if isinstance(v, Suppressed):
        return MARKER
    if _missing(v):
        return "–"
    return f"{100 * float(v):.{digits}f}%"


def fmt_p(v) -> str:
    if isinstance(v, Suppressed):
        return MARKER
    if _missing(v):
        return "–"
    v = float(v)
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def fmt_change(rate_ratio) -> str:
    """A rate ratio as a percentage change: 0.92 → "−8%", 1.0 → "0%"."""
    if isinstance(rate_ratio, Suppressed):
        return MARKER
    if _missing(rate_ratio):
        return "–"
    pct = round(100 * (float(rate_ratio) - 1))
    return "0%" if pct == 0 else f"{pct:+d}%".replace("-", "−")


def fmt_value(v, measure: str) -> str:
    """A headline indicator's value as shown: a count, or a percentage for the solved rate."""
    if isinstance(v, Suppressed):
        return MARKER
    if measure == "solved_rate":
        return fmt_pct(v)
    # a count that went through floating-point arithmetic (4376.9999999) is still shown as the whole number it is
    whole = _missing(v) or abs(float(v) - round(float(v))) < 1e-6
    return fmt_num(v, 0 if whole else 1)


def fmt_setting(setting) -> str:
    """A setting's value as a chart or message shows it: numbers to 4 significant figures (whole numbers as they are),
    with the setting's unit ("282.8 m", "200 m", "39.61")."""
    value = getattr(setting, "value", setting)
    unit = getattr(setting, "unit", None)
    if isinstance(value, Suppressed):
        return MARKER
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        if math.isfinite(v) and abs(v - round(v)) < 1e-9 and abs(v) < 1e15:
            text = f"{int(round(v)):,}" if abs(v) >= 10_000 else str(int(round(v)))
        else:
            text = f"{v:.4g}"
    else:
        text = str(value)
    return f"{text} {unit}" if unit and unit not in ("count",) and not text.endswith(unit) else text


def field(name: str, value, text: str | None = None, kind: str | None = None) -> Markup:
    """A shown number carrying its exact value (``data-value``, Python ``repr``) so tests can read it back.
    ``kind="count"`` marks a count (``data-kind="count"``): what disclosure control applies to in a public output.
    A suppressed value shows as "[c]" with ``data-value="[c]"``."""
    if isinstance(value, Suppressed):
        shown, raw = MARKER, MARKER
    else:
        shown = text if text is not None else fmt_num(value)
        raw = "nan" if _missing(value) else repr(float(value)) if not isinstance(value, str) else value
    k = f' data-kind="{escape(kind)}"' if kind else ""
    return Markup(f'<span data-field="{escape(name)}" data-value="{escape(raw)}"{k}>{escape(shown)}</span>')


def count(name: str, value) -> Markup:
    """A count as shown in a report: :func:`field` with ``data-kind="count"``."""
    return field(name, value, fmt_value(value, "count"), kind="count")


_ENV: Environment | None = None


def env() -> Environment:
    global _ENV
    if _ENV is None:
        e = Environment(loader=PackageLoader("whatworks.report", "templates"),
                        autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                        trim_blocks=True, lstrip_blocks=True)
        e.filters.update(exp=math.exp, setting=fmt_setting, num=fmt_num, pct=fmt_pct, pval=fmt_p, value=fmt_value, change=fmt_change)
        e.globals.update(field=field, count=count, missing=_missing, Markup=Markup, MARKER=MARKER)
        _ENV = e
    return _ENV


def render(template: str, **ctx) -> str:
    return env().get_template(template).render(**ctx)
