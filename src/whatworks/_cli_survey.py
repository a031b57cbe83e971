"""Survey commands (issue 15): ``whatworks ingest survey FILE --mapping FILE`` (item 1) and the ``whatworks survey``
group — ``survey ebp`` (the evidence-based practice benchmark report, item 7), ``survey ebp-questionnaire`` and
``survey ebp-synth`` (synthetic responses with known truth, to try the reader and the report on).

Mounted by ``whatworks.cli`` with ``register(ingest_app, app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from whatworks.errors import WhatworksError

EXIT_BAD_INPUT = 2
EXIT_FILE_FAILED = 3
_STORE_HELP = "Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb)."

survey_app = typer.Typer(help="Survey analyses: the evidence-based practice benchmark survey.", no_args_is_help=True)


def _echo(text, *, err: bool = False) -> None:
    from whatworks._terminal import visible

    typer.echo(visible(text), err=err)


def _fail(exc: Exception, code: int = EXIT_BAD_INPUT):
    _echo(str(exc), err=True)
    raise typer.Exit(code)


def _read_store(store: Optional[Path]):
    from whatworks.store import Store, default_store_path

    path = default_store_path(store)
    if path != ":memory:" and not Path(path).exists():
        raise WhatworksError(f"No store at {str(path)!r}. Hint: load the responses first with "
                             f"`whatworks ingest survey FILE --mapping ebp.toml --store {path}`.")
    return Store(path, read_only=True)


@survey_app.command("ebp")
def ebp_command(
        store: Optional[Path] = typer.Option(None, "--store", help=_STORE_HELP),
        survey: str = typer.Option("ebp", "--survey", help="The survey's name in the store (the mapping's [survey] name)."),
        weight: Optional[str] = typer.Option(None, "--weight", help="Weight column (default: none, each respondent counts once)."),
        strata: Optional[str] = typer.Option(None, "--strata", help="Stratum column (default: one stratum)."),
        fpc: Optional[str] = typer.Option(None, "--fpc", help="Finite-population correction column (population per stratum)."),
        items: Optional[List[str]] = typer.Option(None, "--item", help="Report only these items (repeat the option)."),
        labels: bool = typer.Option(False, "--labels", help="Read SPSS value labels instead of codes."),
        conf_level: Optional[float] = typer.Option(None, "--conf-level", help="Confidence level of the intervals (default 0.95)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the report table (this survey and the seed, per item) to this CSV."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Write the chart to this SVG file."),
        quiet: bool = typer.Option(False, "--quiet", help="Silence announced defaults.")) -> None:
    """The evidence-based practice benchmark report: each item's share with its CI, beside the seed's figure."""
    from whatworks.survey.ebp import ebp_report

    try:
        with _read_store(store) as s:
            df = s.survey(survey, labels=labels)
        r = ebp_report(df, weights=weight, strata=strata, fpc=fpc, items=list(items) if items else None,
                       conf_level=conf_level, quiet=quiet)
        _echo(r.summary())
        c = r.comparison()
        shown = c.assign(**{k: (c[k] * 100).round(1) for k in ("estimate", "ci_low", "ci_high", "seed")})
        _echo("\n" + shown[["item", "estimate", "ci_low", "ci_high", "n", "seed", "verdict"]]
              .rename(columns={"estimate": "%", "ci_low": "ci_low %", "ci_high": "ci_high %", "seed": "seed %"})
              .to_string(index=False))
        if out is not None:
            from whatworks.store.exports import write_table

            write_table(r.table, out, provenance={"command": "whatworks survey ebp", "survey": survey})
            _echo(f"report table written to {out}")
        if plot is not None:
            import io

            from whatworks.store.exports import write_text

            buf = io.StringIO()
            r.plot().savefig(buf, format="svg", metadata={"Date": None, "Creator": "whatworks (matplotlib)"})
            _echo(f"chart written to {write_text(plot, buf.getvalue(), where='survey ebp')}")
    except WhatworksError as exc:
        _fail(exc)


@survey_app.command("ebp-questionnaire")
def ebp_questionnaire_command(
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the questionnaire to this CSV.")) -> None:
    """The EBP benchmark questionnaire: each item's question, answers, the answers counted and the seed's figure."""
    from whatworks.survey.ebp import QUESTIONNAIRE, questionnaire

    for q in QUESTIONNAIRE:
        seed = "" if q.seed is None else f"  seed: {q.seed_text}"
        _echo(f"{q.name}: {q.question}\n  answers: {' | '.join(q.answers)}\n  counted: {' or '.join(q.counted)}"
              f" ({q.indicator}){seed}")
    if out is not None:
        try:
            from whatworks.store.exports import write_table

            write_table(questionnaire(), out)
        except WhatworksError as exc:
            _fail(exc)
        _echo(f"questionnaire written to {out}")


@survey_app.command("ebp-synth")
def ebp_synth_command(
        out: Path = typer.Argument(..., help="CSV of synthetic responses to write (a mapping TOML is written beside it)."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the synthetic population and sample."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace files an earlier run wrote.")) -> None:
    """Synthetic responses to the EBP survey (250 senior staff, stratified by rank group) with known truth."""
    import json

    from whatworks.store.exports import write_table, write_text
    from whatworks.survey.ebp import mapping_toml
    from whatworks.synth.survey_ebp import ebp_responses

    try:
        df, truth = ebp_responses(seed=seed)
        csv = write_table(df, out, overwrite=overwrite, provenance={"command": "whatworks survey ebp-synth", "seed": seed})
        toml = write_text(csv.with_suffix(".toml"), mapping_toml(), overwrite=overwrite, where="survey ebp-synth")
        tj = write_text(csv.with_suffix(".truth.json"), json.dumps(truth, indent=2, default=float) + "\n",
                        overwrite=overwrite, where="survey ebp-synth")
    except WhatworksError as exc:
        _fail(exc)
    _echo(f"{len(df)} synthetic responses written to {csv}; mapping {toml}; truth {tj}.\n"
          f"Load and report: whatworks ingest survey {csv} --mapping {toml} --store ebp.duckdb && "
          "whatworks survey ebp --store ebp.duckdb --weight weight --strata rank_group --fpc rank_population")


def register(ingest_app: typer.Typer, app: typer.Typer) -> None:
    """Add ``ingest survey`` to the ``ingest`` group and the ``survey`` group to the root app."""

    @ingest_app.command("survey")
    def ingest_survey(
        file: Path = typer.Argument(..., help="Survey microdata: an SPSS .sav file or a CSV."),
        mapping: Path = typer.Option(..., "--mapping", help="TOML mapping ([survey] name, id, date, weight; [rename])."),
        store: Path = typer.Option(None, "--store", help="Store file (default $WHATWORKS_STORE or ./whatworks.duckdb)."),
    ) -> None:
        """Load survey microdata into the store, with row accounting and quarantine."""
        import whatworks as ww

        try:
            report = ww.Store(store).ingest_survey(file, mapping=mapping) if store else ww.Store().ingest_survey(file, mapping=mapping)
        except WhatworksError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(EXIT_FILE_FAILED)
        typer.echo(str(report))

    app.add_typer(survey_app, name="survey", help="Survey analyses: the evidence-based practice benchmark survey.")
