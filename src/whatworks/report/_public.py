"""The public version of a pack or landscape: disclosure control applied to what is shown (issue 12).

Every table of counts a report shows goes through :func:`whatworks.privacy.disclosure.suppress` (small cells hidden,
with secondary suppression so a row or column total cannot give one away); a figure computed from a hidden count
(a rate, a share, a ratio, its interval and p-value) is hidden with it; a chart whose points are small counts is not
drawn; person-level lists are left out. The functions here take what the analyses returned and say what may be
shown: they compute no figure of their own beyond the suppression pattern.

Hidden values are :data:`whatworks.report._render.SUPPRESSED`, shown as "[c]".
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks.privacy.disclosure import Publishing
from whatworks.report._render import SUPPRESSED

PERSON_LEVEL_NOTE = ("Person-level lists (repeat victims, repeat locations tied to people, prolific offenders and any "
                     "identifier, even pseudonymised) are never part of the public version: a list of people, however "
                     "coded, can identify them.")


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def is_small(pub: Publishing, v) -> bool:
    """A count from 1 to one under the threshold (what primary suppression hides)."""
    f = _num(v)
    return pub.public and f is not None and 0 < f < pub.threshold


def hide_table(pub: Publishing, values: pd.DataFrame) -> pd.DataFrame:
    """The boolean mask (True = hidden) of a table of counts under ``pub`` (body cells only; NaN cells are not
    counts — not loaded — and are never hidden or counted)."""
    mask = pd.DataFrame(False, index=values.index, columns=values.columns)
    if not pub.public:
        return mask
    known = values.notna().all(axis=1)
    body = values[known].astype(float)
    if body.empty:
        return mask
    r = pub.suppress(body.reset_index(drop=True))
    sup = r.suppressed.to_numpy()[:-1, :-1]
    mask.loc[known[known].index, :] = sup
    return mask


# ------------------------------------------------------------------------------------------------------- the pack
def glance(pub: Publishing, rows: list[dict], headline: Sequence, *, has_last_year: bool, cmp_partial: bool) -> int:
    """Hide the headline table's small counts (with secondary suppression) and what is computed from them, in place.
    Returns the number of figures hidden."""
    if not pub.public:
        return 0
    n_hidden = 0
    cols = ["this_period"] + (["cmp_this"] if has_last_year and cmp_partial else []) + \
           (["last_period"] if has_last_year else [])
    counts = [i for i, ind in enumerate(headline) if ind.measure == "count"]
    if counts:
        t = pd.DataFrame([[_num(rows[i].get(c)) for c in cols] for i in counts], index=counts, columns=cols,
                         dtype=float)
        mask = hide_table(pub, t)
        for i in counts:
            r = rows[i]
            for c in cols:
                if mask.loc[i, c]:
                    r[c] = SUPPRESSED
                    n_hidden += 1
            if not cmp_partial and has_last_year and mask.loc[i, "this_period"]:
                r["cmp_this"] = SUPPRESSED
            if mask.loc[i, "this_period"]:
                r["rate_per_1000"] = SUPPRESSED
            if any(mask.loc[i, c] for c in cols):
                _hide_change(r)
    for i, ind in enumerate(headline):
        if ind.measure != "solved_rate":
            continue
        r = rows[i]
        pairs = [("this_solved", "this_crimes")] + ([("last_solved", "last_crimes")] if has_last_year else [])
        t = pd.DataFrame([[_num(r.get(s)), None if _num(r.get(c)) is None or _num(r.get(s)) is None
                           else _num(r.get(c)) - _num(r.get(s))] for s, c in pairs], columns=["solved", "unsolved"],
                         dtype=float)
        if t.isna().all().all():
            continue
        mask = hide_table(pub, t)
        totals_small = [is_small(pub, r.get(c)) for _, c in pairs]
        for k, (s, c) in enumerate(pairs):
            hid_s = bool(mask.iloc[k, 0])
            hid_c = bool(mask.iloc[k].all()) or totals_small[k]
            if hid_s:
                r[s] = SUPPRESSED
                n_hidden += 1
            if hid_c:
                r[c] = SUPPRESSED
                n_hidden += 1
            if hid_s or hid_c:
                r["this_period" if k == 0 else "last_period"] = SUPPRESSED
                if k == 0 or cmp_partial:
                    r["cmp_this"] = SUPPRESSED
                _hide_change(r)
    return n_hidden


def _hide_change(r: dict) -> None:
    for k in ("rate_ratio", "ci_low", "ci_high", "p_value"):
        if k in r:
            r[k] = SUPPRESSED
    if "significant" in r:
        r["significant"] = None
    r["change_hidden"] = True


def spc_small(pub: Publishing, monthly: pd.DataFrame, label: str, measure: str, run) -> bool:
    """Whether an indicator's chart rests on a monthly count under the threshold (then it is not drawn)."""
    if not pub.public or run is None:
        return False
    s = monthly[(monthly["indicator"] == label) & (monthly["period_start"] >= run[0]) &
                (monthly["period_start"] <= run[1])]
    cols = ["count"] if measure == "count" else [c for c in ("solved", "crimes_for_solved_rate") if c in s]
    v = s[cols].to_numpy(dtype=float).ravel()
    v = v[~np.isnan(v)]
    return bool(((v > 0) & (v < pub.threshold)).any())


def hide_chart_facts(r: dict) -> None:
    """An indicator whose chart is not drawn: its latest month, average and limits are not shown either (they are
    the chart's points and the means of small counts)."""
    for k in ("latest_value", "mean", "lpl", "upl"):
        r[k] = SUPPRESSED
    r["chart_hidden"] = True
    r["quarter_unusual"] = None


def funnel_small(pub: Publishing, result, *, denominator_is_count: bool = False) -> bool:
    """A funnel whose dots include a count (numerator, or the denominator when it is a count of records, as for
    the solved rate: crimes recorded) under the threshold is not drawn."""
    if not pub.public or result is None:
        return False
    t = result.table
    v = t[["numerator", "denominator"] if denominator_is_count else ["numerator"]].to_numpy(dtype=float).ravel()
    return bool(((v > 0) & (v < pub.threshold)).any())


def types_hidden(rows: list[dict], headline: Sequence, key: str) -> set:
    """The crime types whose count ``key`` the headline table hides (single-type count indicators only)."""
    return {ind.crime_types[0] for r, ind in zip(rows, headline) if ind.measure == "count" and ind.crime_types
            is not None and len(ind.crime_types) == 1 and is_hidden(r.get(key))}


def hidden_types(harm_rows_shown: list[dict]) -> set:
    """The crime types whose count the public harm table hides (primary or secondary)."""
    from whatworks.report._render import Suppressed

    return {h["crime_type"] for h in harm_rows_shown if isinstance(h.get("count"), Suppressed)}


def hide_period(r: dict) -> None:
    """An indicator whose count this period is hidden in another table of the page (e.g. its crime type is hidden,
    perhaps as a secondary cell, in the harm table): hide it here too, with what is computed from it."""
    for k in ("this_period", "rate_per_1000", "cmp_this"):
        if k in r:
            r[k] = SUPPRESSED
    _hide_change(r)


def is_hidden(v) -> bool:
    from whatworks.report._render import Suppressed

    return isinstance(v, Suppressed)


def harm_rows(pub: Publishing, harm_result, harm_last, *, also=(), also_last=()) -> tuple[list[dict], dict | None, int]:
    """The harm table's rows (highest harm first) with small crime counts hidden (and their harm, share and last
    year's harm), and in a public version its total row. ``also`` / ``also_last``: crime types hidden elsewhere on
    the page this period / last year (hidden here too, and protected). Returns (rows, total row or None, figures
    hidden)."""
    t = harm_result.table.sort_values("harm", ascending=False)
    rows = t.to_dict("records")
    last = {} if harm_last is None else dict(zip(harm_last.table["crime_type"], harm_last.table["harm"]))
    last_n = {} if harm_last is None else dict(zip(harm_last.table["crime_type"], harm_last.table["count"]))
    for r in rows:
        r["harm_last"] = last.get(r["crime_type"])
    if not pub.public:
        return rows, None, 0
    hid = pub.hidden({r["crime_type"]: r["count"] for r in rows}, also=set(also))
    hid_last = pub.hidden({k: v for k, v in last_n.items()}, also=set(also_last)) if last_n else {}
    n = 0
    for r in rows:
        if hid[r["crime_type"]]:
            r["count"] = r["harm"] = r["share_of_harm"] = SUPPRESSED
            n += 1
        if hid_last.get(r["crime_type"]) or is_small(pub, last_n.get(r["crime_type"])):
            r["harm_last"] = SUPPRESSED
    total_n = float(t["count"].sum())
    # with the weights per crime shown, the total harm and the shares would give two equations (counts and harm)
    # for the hidden cells and solve them: when any cell is hidden, the total harm and every share are hidden too
    any_hidden = n > 0 or is_small(pub, total_n)
    if any_hidden:
        for r in rows:
            r["share_of_harm"] = SUPPRESSED
    any_last_hidden = any(is_hidden(r["harm_last"]) for r in rows)
    total = {"crime_type": "Total", "count": SUPPRESSED if is_small(pub, total_n) else total_n,
             "harm": SUPPRESSED if any_hidden else float(t["harm"].sum()),
             "share_of_harm": SUPPRESSED if any_hidden else 1.0, "harm_per_crime": None,
             "harm_last": None if harm_last is None else (SUPPRESSED if any_last_hidden or
                                                         is_small(pub, harm_last.table["count"].sum())
                                                         else float(harm_last.table["harm"].sum()))}
    return rows, total, n


def confidence_rows(pub: Publishing, section) -> tuple[list[dict], dict, bool, bool]:
    """The confidence table's rows and the overall figure, with interviews under the threshold hidden (and their
    estimate and interval); whether the area chart and the trend chart may be drawn."""
    rows = section.table.to_dict("records")
    overall = section.overall.table.iloc[0].to_dict()
    if not pub.public:
        return rows, overall, True, True
    draw_areas = True
    hid = pub.hidden({k: r["n"] for k, r in enumerate(rows)})
    for k, r in enumerate(rows):
        if hid[k] or is_small(pub, r["n"]):
            r["n"] = r["estimate"] = r["ci_low"] = r["ci_high"] = r["deff"] = SUPPRESSED
            r["below_overall"] = False
            draw_areas = False
    if is_small(pub, overall.get("n")):
        overall.update(n=SUPPRESSED, estimate=SUPPRESSED, ci_low=SUPPRESSED, ci_high=SUPPRESSED)
    draw_trend = True
    if section.trend is not None and "n" in section.trend.table:
        v = section.trend.table["n"].to_numpy(dtype=float)
        draw_trend = not bool(((v > 0) & (v < pub.threshold)).any())
    return rows, overall, draw_areas, draw_trend


def settings_shown(pub: Publishing, settings: Mapping[str, Any]) -> dict:
    """The settings table of a public output: a setting that is a count of records (points left out of a grid) is
    shown only when it is 0 or at least the threshold."""
    if not pub.public:
        return dict(settings)
    out = {}
    for name, s in settings.items():
        unit = getattr(s, "unit", None)
        value = getattr(s, "value", None)
        if ("excluded" in name or unit in ("points", "crimes", "records")) and is_small(pub, value):
            out[name] = type(s)(SUPPRESSED, s.source, s.reason, unit) if hasattr(s, "source") else SUPPRESSED
            continue
        out[name] = s
    return out


# -------------------------------------------------------------------------------------------------- the landscape
def landscape_mix(pub: Publishing, mix: pd.DataFrame, units: Sequence[str], types: Sequence[str],
                  asb: str) -> pd.DataFrame:
    """Which cells of a landscape's crime mix (unit × crime type counts, for the area and its peers) are hidden:
    the crime types except ASB as one table whose row totals are each unit's crimes (the landscape publishes the
    area's, in its year-on-year line), ASB as one list over the units. Returns a boolean unit × type mask."""
    counts = mix.pivot_table(index="unit", columns="crime_type", values="count", aggfunc="sum").reindex(
        index=list(units), columns=list(types)).fillna(0.0)
    mask = pd.DataFrame(False, index=counts.index, columns=counts.columns)
    if not pub.public or counts.empty:
        return mask
    crime_cols = [c for c in counts.columns if c != asb]
    if crime_cols:
        mask.loc[:, crime_cols] = hide_table(pub, counts[crime_cols]).to_numpy()
    if asb in counts.columns:
        hid = pub.hidden(dict(zip(counts.index, counts[asb])))
        mask[asb] = [hid[u] for u in counts.index]
    return mask


def small_series(pub: Publishing, values) -> bool:
    """Whether a chart's points include a count from 1 to one under the threshold."""
    if not pub.public:
        return False
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    return bool(((v > 0) & (v < pub.threshold)).any())
