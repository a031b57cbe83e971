"""``whatworks impact ...``: evaluation without randomisation from the command line (docs/impact.md).

Each command reads a CSV or Parquet file (reading the store comes later), runs the matching ``whatworks.impact`` verb
with options that mirror the Python call, prints ``.summary()``, and with ``--out`` writes ``.table`` (CSV, Parquet or
JSON by extension) through ``whatworks.store.exports.write_table``, with a provenance file beside it.

Mounted by ``whatworks.cli`` with :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from whatworks.errors import WhatworksError

app = typer.Typer(help="Impact without randomisation: matching, DiD, ITS, synthetic control, displacement, event windows.",
                  no_args_is_help=True)

_FILE_HELP = "Input table: a .csv or .parquet file."
_OUT_HELP = "Write the result table here (.csv, .parquet or .json), with a provenance file beside it."


def register(root: typer.Typer) -> None:
    """Add the ``impact`` sub-app to the root ``whatworks`` CLI."""
    root.add_typer(app, name="impact", help="Matching, difference-in-differences, ITS, synthetic control, displacement, events.")


def _echo(text, *, err: bool = False) -> None:
    from whatworks._terminal import visible

    typer.echo(visible(text), err=err)


def _fail(exc: Exception, code: int = 2):
    _echo(str(exc), err=True)
    raise typer.Exit(code)


def _read(path: Path):
    from whatworks.store.trial_log import read_table_file

    return read_table_file(path)


def _split(values: List[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def _finish(result, table, out: Optional[Path], inputs: list[Path], command: str, params: dict, overwrite: bool) -> None:
    _echo(result.summary())
    design = getattr(result, "design", None)
    if design is not None:
        level, reason = design.sms_hint()
        _echo(f"Design: {design}. {reason}.")
    if out is not None:
        from whatworks.store.exports import write_table

        p = write_table(table, out, provenance={"command": f"whatworks impact {command}", "parameters": params,
                                                "inputs": [str(i) for i in inputs]},
                        overwrite=overwrite, inputs=inputs, where=f"impact {command}")
        _echo(f"Wrote {p}")


_OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing output file that whatworks wrote.")
_QUIET = typer.Option(False, "--quiet", help="Silence announced defaults.")


@app.command("match")
def match_cmd(file: Path = typer.Argument(..., help=_FILE_HELP),
              treatment: str = typer.Option(..., "--treatment", help="Column: 1/True treated, 0/False comparison."),
              covariates: List[str] = typer.Option(..., "--covariates", "-c", help="Covariates (repeat or comma-separate)."),
              outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome to estimate the effect on."),
              id: Optional[str] = typer.Option(None, "--id", help="Unit id column (default: row number)."),
              method: str = typer.Option("nearest", "--method", help="nearest | mahalanobis | exact | cem."),
              distance: str = typer.Option("logit", "--distance", help="logit | linear_logit."),
              ratio: int = typer.Option(1, "--ratio", help="Controls per treated unit."),
              caliper: Optional[float] = typer.Option(None, "--caliper", help="Caliper in SD of the distance."),
              replace: bool = typer.Option(False, "--replace", help="Let controls be reused."),
              exact: List[str] = typer.Option([], "--exact", help="Covariates matched exactly."),
              on_no_overlap: str = typer.Option("warn", "--on-no-overlap", help="warn | error | drop."),
              conf_level: Optional[float] = typer.Option(None, "--conf-level", help="Confidence level (default 0.95)."),
              no_adjust: bool = typer.Option(False, "--no-adjust",
                                             help="The plain matched difference (default: adjusted for the matching "
                                                  "covariates by regression in the matched sample)."),
              what: str = typer.Option("balance", "--table", help="What --out writes: balance | pairs | matched | estimate."),
              out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
              overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Matched comparison: pairs, balance before/after, and the effect on the treated."""
    from whatworks.impact.match import match

    try:
        df = _read(file)
        m = match(df, treatment, _split(covariates), id=id, method=method, distance=distance, ratio=ratio,
                  caliper=caliper, replace=replace, exact=_split(exact) or None, on_no_overlap=on_no_overlap, quiet=quiet)
        result, table = m, m.balance
        if outcome:
            e = m.estimate(outcome, covariates=False if no_adjust else None, conf_level=conf_level, quiet=quiet)
            _echo(m.summary())
            result = e
        if what not in ("balance", "pairs", "matched", "estimate"):
            raise WhatworksError(f"--table must be balance, pairs, matched or estimate; got {what!r}.")
        if what == "estimate" and not outcome:
            raise WhatworksError("--table estimate needs --outcome.")
        table = {"balance": m.balance, "pairs": m.pairs, "matched": m.matched,
                 "estimate": result.table if outcome else m.balance}[what]
        _finish(result, table, out, [file], "match", {"treatment": treatment, "covariates": _split(covariates),
                                                       "method": method, "ratio": ratio, "caliper": caliper}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


@app.command("its")
def its_cmd(file: Path = typer.Argument(..., help=_FILE_HELP),
            date: str = typer.Option(..., "--date", help="Period column (dates or YYYY-MM)."),
            value: str = typer.Option(..., "--value", help="Outcome column."),
            intervention: str = typer.Option(..., "--intervention", help="First period under the intervention."),
            family: str = typer.Option("gaussian", "--family", help="gaussian | poisson | negbin."),
            seasonality: str = typer.Option("auto", "--seasonality", help="auto | yes | no."),
            exposure: Optional[str] = typer.Option(None, "--exposure", help="Population/exposure column (counts)."),
            se: str = typer.Option("auto", "--se", help="auto (Newey–West only when the residuals are "
                                                      "autocorrelated) | hac (Newey–West) | model."),
            maxlags: Optional[int] = typer.Option(None, "--maxlags", help="HAC lags in periods (default: Newey–West rule)."),
            selected_on: Optional[int] = typer.Option(None, "--selected-on", help="Periods the series was selected on (RTM guard)."),
            conf_level: Optional[float] = typer.Option(None, "--conf-level", help="Confidence level (default 0.95)."),
            what: str = typer.Option("series", "--table", help="What --out writes: series | effects."),
            out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
            overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Interrupted time series: level and slope change, rate ratio and crimes prevented."""
    from whatworks.impact.its import its

    seas = {"auto": "auto", "yes": True, "no": False}.get(seasonality.lower())
    try:
        if seas is None:
            raise WhatworksError(f"--seasonality must be auto, yes or no; got {seasonality!r}.")
        r = its(_read(file), date, value, intervention, family=family, seasonality=seas, exposure=exposure, se=se,
                maxlags=maxlags, selected_on=selected_on, conf_level=conf_level, quiet=quiet)
        table = r.effects if what == "effects" else r.table
        _finish(r, table, out, [file], "its", {"date": date, "value": value, "intervention": intervention,
                                               "family": family}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


@app.command("displacement")
def displacement_cmd(file: Path = typer.Argument(..., help="Crimes (one row each) or area counts: .csv or .parquet."),
                     treated: List[str] = typer.Option(..., "--treated", help="Treated area codes (repeat or comma-separate)."),
                     buffer: List[str] = typer.Option(..., "--buffer", help="Buffer area codes."),
                     control: List[str] = typer.Option(..., "--control", help="Control area codes."),
                     before: str = typer.Option(..., "--before", help="FIRST..LAST period before, e.g. 2023-01..2023-06."),
                     after: str = typer.Option(..., "--after", help="FIRST..LAST period after."),
                     date: str = typer.Option("month", "--date", help="Date/period column."),
                     area: str = typer.Option("lsoa_code", "--area", help="Area code column."),
                     count: Optional[str] = typer.Option(None, "--count", help="Count column (area counts); none: one row per crime."),
                     out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
                     overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Weighted Displacement Quotient on area counts (polygons and buffer distances: from Python)."""
    from whatworks.impact.displacement import displacement

    try:
        periods = []
        for name, text in (("--before", before), ("--after", after)):
            if ".." not in text:
                raise WhatworksError(f"{name} must be FIRST..LAST (e.g. 2023-01..2023-06); got {text!r}.")
            periods.append(tuple(text.split("..", 1)))
        r = displacement(_read(file), _split(treated), _split(buffer), _split(control), periods[0], periods[1],
                         date=date, area=area, count=count, quiet=quiet)
        _finish(r, r.table, out, [file], "displacement", {"before": before, "after": after}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


@app.command("event")
def event_cmd(file: Path = typer.Argument(..., help=_FILE_HELP),
              date: str = typer.Option(..., "--date", help="Date of each record."),
              event_date: str = typer.Option(..., "--event-date", help="The event's date."),
              window_days: int = typer.Option(..., "--window-days", help="Days on each side."),
              outcome: str = typer.Option(..., "--outcome", help="Outcome (0/1 or numeric)."),
              covariates: List[str] = typer.Option([], "--covariates", "-c", help="Covariates checked for balance."),
              rd: bool = typer.Option(False, "--rd", help="Add a regression discontinuity in time."),
              bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="RD bandwidth in days (default: the window)."),
              conf_level: Optional[float] = typer.Option(None, "--conf-level", help="Confidence level (default 0.95)."),
              what: str = typer.Option("groups", "--table", help="What --out writes: groups | balance."),
              out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
              overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Before/after an event, with a balance check of who was asked before and after."""
    from whatworks.impact.events import event_window

    try:
        r = event_window(_read(file), date, event_date, window_days, outcome, _split(covariates) or None, rd=rd,
                         bandwidth=bandwidth, conf_level=conf_level, quiet=quiet)
        _finish(r, r.balance if what == "balance" else r.table, out, [file], "event",
                {"event_date": event_date, "window_days": window_days, "outcome": outcome}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


@app.command("did")
def did_cmd(file: Path = typer.Argument(..., help="Long panel: one row per unit × time."),
            unit: str = typer.Option(..., "--unit", help="Unit column."),
            time: str = typer.Option(..., "--time", help="Numeric time column."),
            outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
            first_treated: str = typer.Option(..., "--first-treated", help="Column: first treated period (0 or empty = never)."),
            method: str = typer.Option("twfe", "--method", help="twfe | callaway_santanna."),
            control: str = typer.Option("never", "--control", help="never | not_yet."),
            covariates: List[str] = typer.Option([], "--covariates", "-c", help="Covariates."),
            anticipation: int = typer.Option(0, "--anticipation", help="Periods of anticipation."),
            est: str = typer.Option("dr", "--est", help="dr | ipw | reg."),
            n_boot: Optional[int] = typer.Option(None, "--n-boot", help="Multiplier-bootstrap draws."),
            seed: Optional[int] = typer.Option(None, "--seed", help="Seed for the bootstrap."),
            cluster: Optional[str] = typer.Option(None, "--cluster",
                                                  help="Cluster column for SEs (default: the unit)."),
            out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
            overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Difference-in-differences: TWFE or Callaway–Sant'Anna."""
    from whatworks.impact.did import did  # not `from whatworks.impact import did`: the submodule shadows the verb

    try:
        r = did(_read(file), unit, time, outcome, first_treated, method=method, control=control,
                covariates=_split(covariates) or None, anticipation=anticipation, est=est, n_boot=n_boot, seed=seed,
                cluster=cluster, quiet=quiet)
        _finish(r, r.table, out, [file], "did", {"unit": unit, "time": time, "outcome": outcome, "method": method}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


@app.command("synth")
def synth_cmd(file: Path = typer.Argument(..., help="Long panel: one row per unit × time."),
              unit: str = typer.Option(..., "--unit", help="Unit column."),
              time: str = typer.Option(..., "--time", help="Numeric time column."),
              outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
              treated_unit: str = typer.Option(..., "--treated-unit", help="The treated unit's id."),
              treated_from: float = typer.Option(..., "--treated-from", help="First treated time."),
              predictors: List[str] = typer.Option([], "--predictors", "-p", help="Predictor columns."),
              out: Optional[Path] = typer.Option(None, "--out", help=_OUT_HELP),
              overwrite: bool = _OVERWRITE, quiet: bool = _QUIET):
    """Synthetic control for one treated unit, with placebos."""
    from whatworks.impact.synthcontrol import synthetic_control

    try:
        panel = _read(file)
        tu = treated_unit
        if panel[unit].dtype.kind in "iuf":
            try:
                tu = type(panel[unit].iloc[0].item())(treated_unit)
            except ValueError:
                pass
        tf = int(treated_from) if float(treated_from).is_integer() else treated_from
        r = synthetic_control(panel, unit, time, outcome, tu, tf, predictors=_split(predictors) or None, quiet=quiet)
        _finish(r, r.table, out, [file], "synth", {"unit": unit, "treated_unit": treated_unit,
                                                   "treated_from": treated_from}, overwrite)
    except WhatworksError as exc:
        _fail(exc)


__all__ = ["app", "register"]
