"""``whatworks trial ...``: register a protocol, assign cases one by one, verify the log, analyse, draw CONSORT.

Mounted by ``whatworks.cli`` as the ``trial`` sub-command. Every command takes ``--store PATH`` (default: the
``WHATWORKS_STORE`` environment variable, else ``./whatworks.duckdb``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from whatworks.store.exports import write_text
from whatworks.errors import WhatworksError

app = typer.Typer(help="Randomised trials: protocol, case-by-case assignment, tamper-evident log, analysis, CONSORT.",
                  no_args_is_help=True)

_STORE_HELP = "DuckDB store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."


def _store_path(store: Optional[Path]) -> Path:
    return store or Path(os.environ.get("WHATWORKS_STORE", "whatworks.duckdb"))


def _log(store: Optional[Path]):
    from whatworks.store import Store

    return Store(_store_path(store)).trial_log()


def _echo(text, *, err: bool = False) -> None:
    """Print text that may hold data (trial, unit and column names): control and bidi characters shown escaped."""
    from whatworks._terminal import visible

    typer.echo(visible(text), err=err)


def _fail(exc: Exception, code: int = 2):
    _echo(str(exc), err=True)
    raise typer.Exit(code)


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


@app.command("new")
def new(protocol_file: Path = typer.Argument(..., help="Protocol as .json or .toml (see docs/trials.md)."),
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Freeze a protocol (time + content hash) and register it before any assignment."""
    from whatworks.store.trial_log import read_protocol_file
    from whatworks.trials import Allocator, Protocol

    try:
        fmt, text = read_protocol_file(protocol_file)
        protocol = Protocol.from_json(text) if fmt == "json" else Protocol.from_toml(text)
        if not protocol.is_frozen:
            protocol = protocol.freeze()
        Allocator(_log(store), protocol)
    except WhatworksError as exc:
        _fail(exc)
    _echo(f"Registered trial '{protocol.trial_id}': frozen {protocol.frozen_at}")
    _echo(f"content hash {protocol.content_hash}")
    _echo("Keep this hash outside the store: it anchors the assignment log.")


@app.command("assign")
def assign(trial_id: str = typer.Argument(..., help="The trial's id."),
           unit: Optional[str] = typer.Option(None, "--unit", help="Id of the arriving case."),
           field: List[str] = typer.Option([], "--field", "-f", help="Case field as key=value (repeat)."),
           cases: Optional[Path] = typer.Option(None, "--cases", help="CSV/Parquet of cases, assigned in file order."),
           id_column: str = typer.Option("unit", "--id-column", help="Unit id column in --cases."),
           store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Screen and assign one arriving case (--unit, --field) or a file of cases in arrival order (--cases)."""
    from whatworks.store.trial_log import read_table_file
    from whatworks.trials import Allocator

    try:
        if (unit is None) == (cases is None):
            raise WhatworksError("trial assign(): give either --unit (one case) or --cases FILE (several).")
        alloc = Allocator.open(_log(store), trial_id)
        if unit is not None:
            case = {}
            for item in field:
                if "=" not in item:
                    raise WhatworksError(f"trial assign(): --field must be key=value. Got {item!r} instead.")
                k, v = item.split("=", 1)
                case[k.strip()] = _parse_value(v.strip())
            _echo(str(alloc.assign(unit, case)))
        else:
            df = read_table_file(cases)
            if id_column not in df.columns:
                raise WhatworksError(f"trial assign(): column {id_column!r} not found in {str(cases)!r}. "
                                     f"Expected one of {list(df.columns)[:20]}. Hint: pass --id-column.")
            for row in df.to_dict("records"):
                uid = row.pop(id_column)
                _echo(str(alloc.assign(uid, row)))
    except WhatworksError as exc:
        _fail(exc)


@app.command("record")
def record(trial_id: str = typer.Argument(...),
           unit: str = typer.Option(..., "--unit", help="Id of an assigned case."),
           event: str = typer.Option(..., "--event", help="received | not_received | lost_to_follow_up | withdrawn"),
           note: str = typer.Option("", "--note", help="Reason or comment."),
           store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Log a follow-up event (delivery, loss to follow-up, withdrawal) for an assigned case."""
    from whatworks.trials import Allocator

    try:
        _echo(str(Allocator.open(_log(store), trial_id).record(unit, event, note=note)))
    except WhatworksError as exc:
        _fail(exc)


@app.command("verify")
def verify(trial_id: str = typer.Argument(...),
           head: Optional[str] = typer.Option(None, "--head", help="A chain hash from a receipt kept elsewhere."),
           store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Verify the trial's log; exits 1 and names the first bad entry if anything was altered."""
    from whatworks.trials import Allocator

    try:
        check = Allocator.open(_log(store), trial_id).verify(expected_head=head)
    except WhatworksError as exc:
        _fail(exc)
    _echo(check.summary())
    if not check.ok:
        raise typer.Exit(1)


def _outcome_frame(alloc, outcomes: Path, id_column: str, outcome: str, missing: str):
    from whatworks.store.trial_log import read_table_file

    data = read_table_file(outcomes)
    if id_column not in data.columns:
        raise WhatworksError(f"trial analyse(): column {id_column!r} not found in {str(outcomes)!r}. "
                             f"Expected one of {list(data.columns)[:20]}. Hint: pass --id-column.")
    if data[id_column].astype(str).duplicated().any():
        dup = data[id_column][data[id_column].astype(str).duplicated()].iloc[0]
        raise WhatworksError(f"trial analyse(): unit {dup!r} appears more than once in {str(outcomes)!r}. "
                             "Hint: one row per randomised unit.")
    assigned = alloc.assignments()
    if assigned.empty:
        raise WhatworksError(f"trial analyse(): trial '{alloc.protocol.trial_id}' has no assigned units yet.")
    data = data.assign(**{id_column: data[id_column].astype(str)})
    clash = [c for c in ("arm", "treatment", "prob", "stratum", "seq") if c in data.columns and c != id_column]
    data = data.drop(columns=clash)
    log_cols = ["unit", "arm", "treatment", "prob", "stratum", "seq"]
    merged = assigned[log_cols].merge(data, left_on="unit", right_on=id_column, how="left", indicator=True)
    no_row = merged["_merge"] == "left_only"
    if outcome not in merged.columns:
        raise WhatworksError(f"trial analyse(): outcome column {outcome!r} not found in {str(outcomes)!r}.")
    absent = no_row | merged[outcome].isna()
    if absent.any():
        first = merged.loc[absent, "unit"].iloc[0]
        if missing == "error":
            raise WhatworksError(f"trial analyse(): {int(absent.sum())} randomised unit(s) have no {outcome!r} value "
                                 f"(first: {first!r}). Hint: supply them, or pass --missing exclude to analyse the rest "
                                 "(they are shown as excluded from analysis in the CONSORT diagram).")
        _echo(f"Excluding {int(absent.sum())} randomised unit(s) with no {outcome!r} (first: {first!r}).", err=True)
        merged = merged[~absent]
    return merged.drop(columns=["_merge"]).reset_index(drop=True)


@app.command("analyse")
def analyse_cmd(trial_id: str = typer.Argument(...),
                outcomes: Path = typer.Option(..., "--outcomes", help="CSV/Parquet with one row per unit."),
                outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome column (default: primary outcome)."),
                id_column: str = typer.Option("unit", "--id-column", help="Unit id column in --outcomes."),
                covariates: Optional[str] = typer.Option(None, "--covariates",
                                                         help="Comma-separated covariates (default: the protocol's)."),
                family: Optional[str] = typer.Option(None, "--family", help="gaussian | poisson | negbin (default: protocol's)."),
                cluster: Optional[str] = typer.Option(None, "--cluster", help="Cluster column."),
                received: Optional[str] = typer.Option(None, "--received",
                                                       help="0/1 column of treatment received: estimate the CACE."),
                blocks: Optional[str] = typer.Option(None, "--blocks", help="Block column for randomisation inference "
                                                     "(default: the protocol's strata)."),
                exploratory: bool = typer.Option(False, "--exploratory", help="Analyse an outcome not in the protocol."),
                missing: str = typer.Option("error", "--missing", help="error | exclude: units without an outcome."),
                permutations: Optional[int] = typer.Option(
                    None, "--permutations", help="Re-randomisations for the RI p-value (0 = none; default: "
                    "analyse()'s 1000, recorded as a default)."),
                seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the re-randomisations (default: 0, "
                                                   "recorded as a default)."),
                consort_out: Optional[Path] = typer.Option(None, "--consort", help="Also write the CONSORT diagram (SVG)."),
                store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Estimate the trial's effect (ITT, or CACE with --received) from an outcomes file joined to the log."""
    from whatworks.trials import Allocator, analyse, consort

    try:
        if missing not in ("error", "exclude"):
            raise WhatworksError(f"trial analyse(): --missing must be 'error' or 'exclude'. Got {missing!r} instead.")
        alloc = Allocator.open(_log(store), trial_id)
        check = alloc.verify()
        if not check.ok:
            _echo(check.summary(), err=True)
            raise typer.Exit(1)
        p = alloc.protocol
        outcome = outcome or p.primary_outcome
        covs = [c.strip() for c in covariates.split(",") if c.strip()] if covariates is not None else list(p.covariates)
        fam = family or p.family
        df = _outcome_frame(alloc, outcomes, id_column, outcome, missing)
        if blocks is None and p.assignment.strata:
            blocks = "stratum"
        kw = dict(covariates=covs or None, cluster=cluster, family=fam, blocks=blocks, protocol=p,
                  exploratory=exploratory, permutations=permutations, seed=seed)
        if received:
            result = analyse(df, outcome, received, instrument="treatment", **kw)
        else:
            result = analyse(df, outcome, "treatment", **kw)
        _echo(result.summary())
        _echo(result.table.to_string(index=False))
        if consort_out is not None:
            diagram = consort(alloc.records(), analysed=df["unit"], title=p.title,
                              arm_labels={"treatment": p.treatment, "control": p.control})
            write_text(consort_out, diagram.svg())
            _echo(f"CONSORT diagram written to {consort_out}")
    except WhatworksError as exc:
        _fail(exc)


@app.command("consort")
def consort_cmd(trial_id: str = typer.Argument(...),
                out: Path = typer.Option(..., "--out", help="SVG file to write."),
                outcomes: Optional[Path] = typer.Option(None, "--outcomes",
                                                        help="Outcomes file: units with an outcome count as analysed."),
                outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome column (default: primary)."),
                id_column: str = typer.Option("unit", "--id-column"),
                store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP)):
    """Draw the CONSORT flow diagram of the trial from its log."""
    from whatworks.trials import Allocator, consort

    try:
        alloc = Allocator.open(_log(store), trial_id)
        p = alloc.protocol
        analysed = None
        if outcomes is not None:
            analysed = _outcome_frame(alloc, outcomes, id_column, outcome or p.primary_outcome, "exclude")["unit"]
        diagram = consort(alloc.records(), analysed=analysed, title=p.title,
                          arm_labels={"treatment": p.treatment, "control": p.control})
        write_text(out, diagram.svg())
    except WhatworksError as exc:
        _fail(exc)
    _echo(diagram.summary())
    _echo(f"CONSORT diagram written to {out}")
