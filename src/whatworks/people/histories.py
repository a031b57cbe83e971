"""Histories of the people involved in an event: who was arrested in a window, what was known about them before it.

The question that motivates record linkage: *for those arrested in the August 2011 disorder, what was their stop and
search or criminal history, and were they known to probation?* Custody, stop and search, crime records and probation
each hold the same person under a different id, so the answer needs the people linked first (:func:`link`); then
:func:`histories` counts, for each person arrested in the window, their earlier involvements of each kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, announce, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, refuse_renamed, require_columns, require_dataframe
from whatworks.errors import error
from whatworks.people._common import DEFAULT_CONF_LEVEL, check_key, ci_words, parse_dates, pseudonymise_frame, wilson

__all__ = ["histories", "HistoriesResult"]
DEFAULT_TRIGGER = "arrest"
_RENAMED = {"when": "date", "level": "conf_level"}   # issue 17, "one vocabulary" (CHANGELOG.md)


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")


@dataclass(frozen=True, repr=False, kw_only=True)
class HistoriesResult(Result):
    """People involved in an event window and what was recorded about them before it.

    ``table``: one row per person with a ``trigger`` involvement (e.g. an arrest) in the window: ``person``
    (the linked person id; pseudonymised when a key was given), ``records`` (linked records), ``sources``,
    ``<trigger>s_in_window``, ``first_in_window``, ``prior_<kind>`` (count of each history kind before the window
    starts), ``any_prior``, ``on_caseload``.

    Fields: ``shares`` (one row per measure: people, share, Wilson CI), ``window``, ``trigger``, ``history``,
    ``linked`` (whether a link table was used).
    """

    shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    trigger: str = "arrest"
    history: tuple[str, ...] = ()
    linked: bool = True
    has_caseload: bool = False

    def _headline(self) -> str:
        return f"{len(self.table):,} people with {_a(self.trigger)} in the window"

    def summary(self) -> str:
        a, b = self.window
        n = len(self.table)
        lines = [f"{n:,} people had {_a(self.trigger)} between {a:%Y-%m-%d} and {b:%Y-%m-%d}."]
        if n:
            for r in self.shares.itertuples(index=False):
                lines.append(f"{r.measure}: {r.people:,} ({r.share:.0%}, {ci_words(self.settings)} {r.ci_low:.0%} to "
                             f"{r.ci_high:.0%}).")
        if not self.linked:
            lines.append("No link table was given, so each system id counts as a different person: history held under "
                         "another system's id is missed. Link the people first (whatworks.people.link).")
        else:
            lines.append("History is found across systems through the linked person ids; a missed link hides history, a "
                         "false link adds someone else's.")
        return " ".join(lines)

    def _draw(self, ax) -> None:
        s = self.shares
        y = np.arange(len(s))
        ax.barh(y, s["share"], color=PALETTE["blue"])
        ax.errorbar(s["share"], y, xerr=[s["share"] - s["ci_low"], s["ci_high"] - s["share"]], fmt="none",
                    ecolor=PALETTE["black"], capsize=3)
        ax.set_yticks(y, s["measure"])
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"share of people with {_a(self.trigger)} in the window")
        ax.set_title("What was known before", loc="left")


def histories(involvements: pd.DataFrame, links: pd.DataFrame | None = None, *, window: tuple,
              trigger: str | None = None,
              history: Sequence[str] | None = None, caseload: pd.DataFrame | None = None,
              source: str = "source_system", record_id: str = "person_id", what: str = "what",
              date: str = "occurred", cluster: str = "cluster_id", conf_level: float | None = None,
              key: str | bytes | None = None, quiet: bool = False, **renamed) -> HistoriesResult:
    """For each person with a ``trigger`` involvement in ``window``, count their earlier involvements by kind.

    Parameters
    ----------
    involvements : pandas.DataFrame
        One row per person × event: ``source``, ``record_id`` (the person's id in that system), ``what`` (the kind, e.g.
        "arrest", "stop and search", "offence") and ``date``.
    links : pandas.DataFrame, optional
        ``source``, ``record_id``, ``cluster`` for each linked record (``LinkResult.table`` run without a key, or the
        store's ``person_links``). ``None``: every (source, id) is its own person (no linkage).
    window : (start, end)
        The event window, inclusive dates (e.g. ``("2011-08-06", "2011-08-10")``); an end date with no time covers
        the whole day.
    trigger : str, optional
        The kind (value of ``what``) that puts a person in the table when it falls in the window. ``None`` (not given)
        means "arrest".
    history : list of str, optional
        Kinds counted before the window starts; default every kind in the data.
    caseload : pandas.DataFrame, optional
        Records (``source``, ``record_id``) on a caseload (e.g. probation); a person is on it when any linked record is.
    source, record_id, what, date, cluster : str
        Column names.
    conf_level : float, optional
        Confidence level of the Wilson intervals. ``None`` (not given) means 0.95. ``trigger`` and ``conf_level`` are
        recorded in ``.settings`` with source "user" when you pass them — even the default value — and "default" when
        you leave them out.
    key : str or bytes, optional
        Pseudonymise the person id in ``.table``.
    quiet : bool, default False
        Do not print the notices about choices made from the data (the kinds counted as history when ``history`` is
        not given, records missing from the link table); they are still recorded in ``.settings``.
    **renamed
        The names before issue 17 (``when``, ``level``) are refused with an error naming the new one.

    Returns
    -------
    HistoriesResult

    Notes
    -----
    "Before" means strictly before the window's start, so the event itself (and an offence that led to the arrest in
    the window) is not counted as history. Shares have Wilson intervals; they describe these people, and the CI
    reflects only chance variation, not linkage error.
    """
    fn = "histories"
    refuse_renamed(fn, renamed, _RENAMED)
    require_dataframe(fn, "involvements", involvements)
    require_columns(fn, involvements, [source, record_id, what, date], arg="involvements")
    if conf_level is not None:
        check_number(fn, "conf_level", conf_level, low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_key(fn, key)
    # None = not given: an explicit trigger="arrest" or conf_level=0.95 is still recorded as the user's
    opts: dict[str, Setting] = {}
    trigger = given_or_default(opts, "trigger", trigger, DEFAULT_TRIGGER,
                               reason="the kind of involvement in the window that selects people")
    conf_level = given_or_default(opts, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of the Wilson intervals")
    try:
        start, end = (pd.Timestamp(window[0]), pd.Timestamp(window[1]))
    except (TypeError, ValueError, IndexError):
        raise error(fn, "The 'window' parameter must be a pair of dates (start, end).", got=window) from None
    if end == end.normalize():
        end = end + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if end < start:
        raise error(fn, "The window ends before it starts.", got=window)
    kinds = involvements[what].astype(str)
    if trigger not in set(kinds):
        raise error(fn, f"No involvement of kind {trigger!r} in the data.", expected=f"one of {sorted(kinds.unique())}")
    settings: dict[str, Setting] = {}
    hist = resolve("history", list(history) if history is not None else None,
                   lambda: (sorted(k for k in kinds.unique() if k != trigger),
                            f"every kind in the data other than the trigger {trigger!r}"),
                   quiet=quiet, settings=settings)

    inv = pd.DataFrame({"rec": involvements[source].astype(str) + "\x1f" + involvements[record_id].astype(str),
                        "what": kinds.to_numpy(), "when": parse_dates(fn, involvements, date).to_numpy()})
    if links is not None:
        require_dataframe(fn, "links", links)
        require_columns(fn, links, [source, record_id, cluster], arg="links")
        lk = pd.Series(links[cluster].astype(str).to_numpy(),
                       index=links[source].astype(str) + "\x1f" + links[record_id].astype(str))
        if lk.index.duplicated().any():
            raise error(fn, "The link table has a record twice.", got=lk.index[lk.index.duplicated()][0].replace("\x1f", ":"),
                        hint="Pass one link per record (one linkage run).")
        inv["person"] = lk.reindex(inv["rec"]).to_numpy()
        unlinked = inv["person"].isna().to_numpy()
        inv.loc[unlinked, "person"] = "unlinked:" + inv.loc[unlinked, "rec"]
        n_unlinked = int(inv.loc[unlinked, "rec"].nunique())
        settings["unlinked_records"] = Setting(n_unlinked, "data", "involved records not in the link table, "
                                                                "each counted as a person of its own")
        if n_unlinked:
            announce(f"{n_unlinked:,} involved record(s) not in the link table: each counts as a person of its own.",
                     quiet=quiet)
    else:
        inv["person"] = inv["rec"]

    trig = inv[(inv["what"] == trigger) & (inv["when"] >= start) & (inv["when"] <= end)]
    people = trig.groupby("person").agg(n=("when", "size"), first=("when", "min")).reset_index()
    before = inv[(inv["when"] < start) & inv["person"].isin(people["person"])]
    table = pd.DataFrame({"person": people["person"].to_numpy()})
    if links is not None:
        counts = lk.groupby(lk.values).size()
        srcs = pd.Series(lk.index.str.split("\x1f").str[0], index=lk.values).groupby(level=0).nunique()
        table["records"] = counts.reindex(table["person"]).fillna(1).astype(int).to_numpy()
        table["sources"] = srcs.reindex(table["person"]).fillna(1).astype(int).to_numpy()
    table[f"{_slug(trigger)}s_in_window"] = people["n"].to_numpy()
    table["first_in_window"] = people["first"].to_numpy()
    prior_cols = []
    for k in hist:
        c = f"prior_{_slug(k)}"
        cnt = before[before["what"] == k].groupby("person").size()
        table[c] = cnt.reindex(table["person"]).fillna(0).astype(int).to_numpy()
        prior_cols.append((k, c))
    table["any_prior"] = (table[[c for _, c in prior_cols]].sum(axis=1) > 0) if prior_cols else False
    if caseload is not None:
        require_dataframe(fn, "caseload", caseload)
        require_columns(fn, caseload, [source, record_id], arg="caseload")
        recs = caseload[source].astype(str) + "\x1f" + caseload[record_id].astype(str)
        if links is not None:
            on = set(lk.reindex(recs).dropna().to_numpy())
        else:
            on = set(recs)
        table["on_caseload"] = table["person"].isin(on).to_numpy()
    table = table.sort_values(["first_in_window", "person"], kind="stable").reset_index(drop=True)

    n = len(table)
    rows = []
    for k, c in prior_cols:
        m = int((table[c] > 0).sum())
        rows.append((f"{k} before the window", m))
    if prior_cols:
        rows.append(("any of these before the window", int(table["any_prior"].sum())))
    if caseload is not None:
        rows.append(("on the caseload", int(table["on_caseload"].sum())))
    shares = pd.DataFrame([{"measure": name, "people": m, "share": m / n if n else float("nan"),
                            "ci_low": wilson(m, n, conf_level)[0], "ci_high": wilson(m, n, conf_level)[1]} for name, m in rows])
    table = pseudonymise_frame(table, ["person"], key)
    settings.update({
        "window": Setting((start, end), "user"), "trigger": opts["trigger"],
        "conf_level": opts["conf_level"], "linked": Setting(links is not None, "user"),
        "pseudonymised": Setting(key is not None, "user", "HMAC-SHA256 with the caller's key (not stored)"
                                 if key is not None else "no key given: raw ids in .table"),
    })
    return HistoriesResult(table=table, settings=settings, shares=shares, window=(start, end), trigger=trigger,
                           history=tuple(hist), linked=links is not None, has_caseload=caseload is not None)
