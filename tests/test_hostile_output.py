"""Strings from data never hijack a chart (issue #12 item 4): mathtext, markup, control and bidi characters in area and
series names are drawn as plain text by every analysis' plot()."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import whatworks as ww

HOSTILE = ["$\\frac{$", "$x^2$", "[/bold] Police", "Leeds\u202e100", "tab\there", "=HYPERLINK(\"x\")"]


def _render(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def test_funnel_with_hostile_unit_names_draws():
    df = pd.DataFrame({"unit": HOSTILE, "n": [10, 20, 15, 30, 5, 12], "d": [100, 180, 160, 250, 60, 90]})
    r = ww.performance.funnel(df, "n", "d", id="unit", quiet=True)
    svg = _render(r.plot())
    assert "<svg" in svg


def test_spc_titled_by_a_hostile_series_draws():
    months = pd.date_range("2022-01-01", periods=24, freq="MS")
    df = pd.DataFrame({"month": months, "n": np.random.default_rng(1).poisson(50, 24)})
    r = ww.performance.spc(df, "n", "month", quiet=True)
    fig = r.plot()
    fig.axes[0].set_title(HOSTILE[0])       # a title from data, set after plot() as the report does
    ww._result.plain_text(fig)
    assert "<svg" in _render(fig)


def test_every_text_of_a_result_plot_is_plain():
    from matplotlib.text import Text

    df = pd.DataFrame({"unit": HOSTILE, "n": [10, 20, 15, 30, 5, 12], "d": [100, 180, 160, 250, 60, 90]})
    fig = ww.performance.funnel(df, "n", "d", id="unit", quiet=True).plot()
    texts = fig.findobj(Text)
    assert texts and not any(t.get_parse_math() for t in texts)


def test_an_unescaped_label_would_have_crashed():
    # the failure this guards against: matplotlib's mathtext on a label from data
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().set_title(HOSTILE[0])
    with pytest.raises(ValueError):
        _render(fig)
