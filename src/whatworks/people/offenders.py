"""Prolific and harmful offenders: a transparent score and the "power few" curve.

The score is deliberately simple, with every part visible in the table, so a reviewer can say why someone ranks where
they do: each recorded offence counts ``harm weight × recency weight``, where the recency weight halves every
``recency_half_life_days`` before the reference date. Without a harm table every offence weighs 1, so the score is a
recency-weighted count of offences. Harm weights are never invented: they come only from the caller's table (for
example the Cambridge Crime Harm Index or the ONS Crime Severity Score for the offences in the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from whatworks._announce import Setting, given_or_default, resolve
from whatworks._result import PALETTE, Result
from whatworks._validate import check_number, refuse_renamed, require_columns, require_dataframe
from whatworks.errors import error
from whatworks.people._common import (DEFAULT_CONF_LEVEL, DEFAULT_TOP, bootstrap_top_share, check_interval_options,
                                      ci_words,
                                      check_key, check_top,
                                      ids_as_text, lorenz, parse_dates, pseudonymise_frame, resolve_bootstrap,
                                      top_share)

__all__ = ["offenders", "OffendersResult", "harm_weights_from"]

DEFAULT_HALF_LIFE_DAYS = 365
_RENAMED = {"person": "id", "offence_date": "date", "level": "conf_level"}   # issue 17 (CHANGELOG.md)

SCORE_LIMITS = ("The score counts recorded offences with an identified offender only: offending that is never detected, "
                "and bias in who is detected, flows straight into it. It ranks past recorded behaviour; it is not a "
                "prediction of future offending or of risk to anyone, and has not been validated as one. Use it to "
                "prompt a review by people who know the cases, never as the sole reason for action.")


@dataclass(frozen=True, repr=False, kw_only=True)
class OffendersResult(Result):
    """Offender prioritisation with every score component visible.

    ``table``: one row per offender, highest score first: the person id (pseudonymised when a key was given),
    ``offences``, ``first_offence``, ``last_offence``, ``days_since_last``, ``recency_weighted_offences``,
    ``harm`` (Σ harm weights; NaN without a harm table), ``score`` (Σ harm weight × recency weight), ``rank``,
    ``score_percentile``.

    Fields: ``power_few`` (one row per top x%: share of offenders, share of offences with bootstrap CI, share of harm
    with bootstrap CI), ``curve`` (the concentration curves of offences and harm), ``n_offenders``, ``n_offences``,
    ``as_of``, ``half_life_days``, ``has_harm``.
    """

    power_few: pd.DataFrame = field(default_factory=pd.DataFrame)
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_offenders: int = 0
    n_offences: int = 0
    as_of: pd.Timestamp | None = None
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    has_harm: bool = False

    def _headline(self) -> str:
        if not len(self.power_few):
            return f"{self.n_offenders:,} offenders"
        r = self.power_few.iloc[min(2, len(self.power_few) - 1)]
        return f"top {r['top']:.0%} of {self.n_offenders:,} offenders: {r['share_of_offences']:.1%} of offences"

    def summary(self) -> str:
        lines = [f"{self.n_offences:,} recorded offences by {self.n_offenders:,} identified offenders up to "
                 f"{self.as_of:%Y-%m-%d}."]
        for r in self.power_few.itertuples(index=False):
            txt = (f"The top {r.top:.0%} ({r.offenders:,}) committed {r.share_of_offences:.1%} of offences "
                   f"({ci_words(self.settings)} {r.offences_ci_low:.1%} to {r.offences_ci_high:.1%})")
            if self.has_harm:
                txt += (f" and caused {r.share_of_harm:.1%} of the harm ({ci_words(self.settings)} {r.harm_ci_low:.1%} to "
                        f"{r.harm_ci_high:.1%})")
            lines.append(txt + ".")
        weight = "harm weight × " if self.has_harm else ""
        lines.append(f"Score = Σ over each person's offences of {weight}0.5^(days before {self.as_of:%Y-%m-%d} / "
                     f"{self.half_life_days:g}); every component is a column of the table."
                     + ("" if self.has_harm else " No harm table was given, so every offence weighs 1."))
        lines.append("Limits: " + SCORE_LIMITS)
        return " ".join(lines)

    def _draw(self, ax) -> None:
        c = self.curve
        ax.plot(c["share_of_offenders"], c["share_of_offences"], color=PALETTE["blue"], label="offences")
        if self.has_harm:
            ax.plot(c["share_of_offenders"], c["share_of_harm"], color=PALETTE["vermillion"], label="harm")
        ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls="--", lw=1, label="equal shares")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("share of offenders (most prolific / harmful first)")
        ax.set_ylabel("cumulative share")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        ax.set_title("The power few", loc="left")


def harm_weights_from(table: pd.DataFrame | Mapping[str, float], *, crime_type: str = "crime_type",
                      weight: str = "weight") -> dict[str, float]:
    """A ``{crime type: weight}`` dict from a user's harm table (DataFrame with the two columns) or a mapping.

    Weights must be finite and non-negative, one per crime type.
    """
    fn = "offenders"
    if isinstance(table, pd.DataFrame):
        require_columns(fn, table, [crime_type, weight], arg="harm_weights")
        if table[crime_type].duplicated().any():
            dup = table.loc[table[crime_type].duplicated(), crime_type].iloc[0]
            raise error(fn, "The harm table has a crime type twice.", got=dup, hint="Keep one weight per crime type.")
        pairs = dict(zip(table[crime_type].astype(str), table[weight]))
    elif isinstance(table, Mapping):
        pairs = {str(k): v for k, v in table.items()}
    else:
        raise error(fn, "The 'harm_weights' parameter must be a DataFrame (crime_type, weight) or a dict.",
                    got=type(table).__name__)
    out = {}
    for k, v in pairs.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = float("nan")
        if not np.isfinite(f) or f < 0:
            raise error(fn, "Harm weights must be finite numbers >= 0.", got=v, row=f"crime type {k!r}")
        out[k] = f
    return out


def offenders(df: pd.DataFrame, id: str = "offender_id", date: str = "occurred",
              crime_type: str = "crime_type", *, harm_weights: pd.DataFrame | Mapping[str, float] | None = None,
              recency_half_life_days: float | None = None, as_of: str | pd.Timestamp | None = None,
              top: Sequence[float] = DEFAULT_TOP, conf_level: float | None = None, n_boot: int | None = None,
              seed: int | None = None,
              key: str | bytes | None = None, quiet: bool = False, **renamed) -> OffendersResult:
    """Rank offenders by a transparent frequency × recency × harm score and measure the power few.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per recorded offence with an identified offender (rows with no offender must be removed first).
    id : str, default "offender_id"
        Offender identifier column (a linked cluster id is better than a system id: see :func:`whatworks.people.link`).
    date : str, default "occurred"
        Date of the offence.
    crime_type : str, default "crime_type"
        Offence type, used to look up harm weights.
    harm_weights : DataFrame (crime_type, weight) or dict, optional
        The caller's harm weights, one per crime type in the data (e.g. Cambridge Crime Harm Index days). whatworks
        ships none and invents none. ``None``: no harm component (every offence weighs 1).
    recency_half_life_days : float, optional
        An offence this many days before ``as_of`` counts half as much as one on ``as_of``. ``None`` (not given) means
        365.
    as_of : date, optional
        Reference date of the recency weights. ``None``: the latest offence date in the data (announced).
    top : list of float, default (0.01, 0.05, 0.10, 0.20)
        Shares of offenders for the power-few table.
    conf_level, n_boot, seed : optional
        Confidence level, bootstrap replicates (offenders resampled with replacement; percentile interval) and seed.
        ``None`` (not given) means 0.95, 1000 and 0. ``recency_half_life_days``, ``conf_level`` and ``n_boot``/``seed``
        (together, as "bootstrap") are recorded in ``.settings`` with source "user" when you pass them — even the
        default value — and "default" when you leave them out.
    key : str or bytes, optional
        Pseudonymise the ``id`` column of ``.table`` (HMAC-SHA256, :func:`whatworks.privacy.pseudonymise`).
    quiet : bool, default False
    **renamed
        The names before issue 17 (``person``, ``offence_date``, ``level``) are refused with an error naming the
        new one.

    Returns
    -------
    OffendersResult

    Notes
    -----
    For person i with offences j: recency weight r_ij = 0.5^(max(0, as_of − date_ij) / half_life);
    score_i = Σ_j h(type_ij)·r_ij with h ≡ 1 without a harm table. The power-few share for the top x% is the share
    of all offences (or of all harm) by the ⌈x·n⌉ offenders with most offences (or most harm).

    References
    ----------
    Wolfgang, M. E., Figlio, R. M. & Sellin, T. (1972). *Delinquency in a Birth Cohort*. University of Chicago Press.
    Sherman, L. W. (2007). The power few: experimental criminology and the reduction of harm. *Journal of
    Experimental Criminology* 3, 299–321.
    Sherman, L. W., Neyroud, P. W. & Neyroud, E. (2016). The Cambridge Crime Harm Index. *Policing* 10(3), 171–183.

    Examples
    --------
    >>> import pandas as pd, whatworks as ww
    >>> off = pd.DataFrame({"offender_id": ["a", "a", "b"], "occurred": ["2024-01-01", "2024-06-01", "2024-03-01"],
    ...                     "crime_type": ["Burglary", "Robbery", "Burglary"]})
    >>> r = ww.people.offenders(off, harm_weights={"Burglary": 2.0, "Robbery": 5.0}, n_boot=10, quiet=True)
    >>> r.table[["offender_id", "offences", "harm"]].values.tolist()
    [['a', 2, 7.0], ['b', 1, 2.0]]
    """
    fn = "offenders"
    refuse_renamed(fn, renamed, _RENAMED)
    require_dataframe(fn, "df", df)
    require_columns(fn, df, [id, date, crime_type], arg="df")
    if recency_half_life_days is not None:
        check_number(fn, "recency_half_life_days", recency_half_life_days, low=0, low_inclusive=False)
    check_interval_options(fn, conf_level, n_boot, seed)
    top = check_top(fn, top)
    check_key(fn, key)
    if len(df) == 0:
        raise error(fn, "The offences table is empty.", hint="Check the filter that produced it.")
    ids = ids_as_text(fn, df, id)
    dates = parse_dates(fn, df, date)
    types = df[crime_type].astype(str)

    weights = None
    if harm_weights is not None:
        weights = harm_weights_from(harm_weights)
        missing = sorted(set(types.unique()) - set(weights))
        if missing:
            i = int(np.flatnonzero(types.isin(missing).to_numpy())[0])
            raise error(fn, f"The harm table has no weight for {len(missing)} crime type(s) in the data: {missing[:5]}.",
                        row=f"position {i} (index {df.index[i]!r})",
                        hint="Add a weight for every type (0 if it should not count); whatworks never invents harm weights.")

    settings: dict[str, Setting] = {}
    if as_of is not None:
        try:
            ref = pd.Timestamp(as_of)
        except (TypeError, ValueError):
            raise error(fn, "The 'as_of' parameter must be a date.", got=as_of) from None
        settings["as_of"] = Setting(ref, "user", "given by the caller")
    else:
        ref = resolve("as_of", None, lambda: (dates.max(), "the latest offence date in the data"),
                      quiet=quiet, settings=settings)
    # None = not given: an explicit value equal to the default (365 days, n_boot=1000, seed=0) is still the user's
    recency_half_life_days = given_or_default(settings, "recency_half_life_days", recency_half_life_days,
                                              DEFAULT_HALF_LIFE_DAYS, reason="recency weight halves every", unit="days")
    settings["harm_weights"] = Setting("user table" if weights is not None else None,
                                       "user" if weights is not None else "default",
                                       f"{len(weights)} crime types weighted by the caller" if weights is not None
                                       else "no harm table: every offence weighs 1")
    conf_level = given_or_default(settings, "conf_level", conf_level, DEFAULT_CONF_LEVEL,
                                  reason="confidence level of the power-few intervals")
    n_boot, seed = resolve_bootstrap(settings, n_boot, seed)
    settings["pseudonymised"] = Setting(key is not None, "user", "HMAC-SHA256 with the caller's key (not stored)"
                                        if key is not None else "no key given: raw ids in .table")

    age_days = ((ref - dates) / pd.Timedelta(days=1)).to_numpy(float)
    rec_w = 0.5 ** (np.maximum(age_days, 0.0) / float(recency_half_life_days))
    h = types.map(weights).to_numpy(float) if weights is not None else np.ones(len(df))
    codes, uniq = pd.factorize(ids, sort=True)
    k = uniq.size
    n_i = np.bincount(codes, minlength=k)
    harm_i = np.bincount(codes, weights=h, minlength=k)
    score_i = np.bincount(codes, weights=h * rec_w, minlength=k)
    rw_i = np.bincount(codes, weights=rec_w, minlength=k)
    # first/last from the dates' own nanoseconds (float days round-trip to 15:39:59.999999967 for 15:40)
    ns = pd.Series(dates).to_numpy("datetime64[ns]").astype("int64")
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ns)
    np.maximum.at(last, codes, ns)
    last_ts = pd.to_datetime(last, unit="ns")
    table = pd.DataFrame({
        id: np.asarray(uniq, dtype=object),
        "offences": n_i,
        "first_offence": pd.to_datetime(first, unit="ns"),
        "last_offence": last_ts,
        "days_since_last": ((ref - last_ts) / pd.Timedelta(days=1)).to_numpy(float),
        "recency_weighted_offences": rw_i,
        "harm": harm_i if weights is not None else np.nan,
        "score": score_i,
    }).sort_values(["score", "offences", id], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    table["rank"] = table["score"].rank(ascending=False, method="min").astype(int)
    table["score_percentile"] = table["score"].rank(pct=True, method="max")
    table = pseudonymise_frame(table, [id], key)

    rows = []
    for j, x in enumerate(top):
        lo, hi = bootstrap_top_share(n_i, x, n_boot=int(n_boot), seed=int(seed) + j, conf_level=conf_level)
        row = {"top": x, "offenders": int(max(1, np.ceil(x * k - 1e-9))), "share_of_offences": top_share(n_i, x),
               "offences_ci_low": lo, "offences_ci_high": hi}
        if weights is not None:
            hlo, hhi = bootstrap_top_share(harm_i, x, n_boot=int(n_boot), seed=int(seed) + 100 + j,
                                           conf_level=conf_level)
            row.update({"share_of_harm": top_share(harm_i, x), "harm_ci_low": hlo, "harm_ci_high": hhi})
        else:
            row.update({"share_of_harm": np.nan, "harm_ci_low": np.nan, "harm_ci_high": np.nan})
        rows.append(row)
    lo_off = lorenz(n_i)
    curve = pd.DataFrame({"share_of_offenders": lo_off["share_of_units"], "share_of_offences": lo_off["share_of_total"]})
    curve["share_of_harm"] = lorenz(harm_i)["share_of_total"].to_numpy() if weights is not None else np.nan

    return OffendersResult(table=table, settings=settings, power_few=pd.DataFrame(rows), curve=curve, n_offenders=int(k),
                           n_offences=int(len(df)), as_of=ref, half_life_days=float(recency_half_life_days),
                           has_harm=weights is not None)
