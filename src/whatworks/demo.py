"""``whatworks demo``: a seeded synthetic force, written as real files, loaded through the real readers.

The demo is a list of steps (:data:`DEMO_STEPS`), each a small function of a shared :class:`DemoContext`, so later
capabilities add theirs (the performance pack, the dashboard) without touching the others::

    from whatworks.demo import DEMO_STEPS, DemoStep, run_demo
    run_demo("out/", steps=[*DEMO_STEPS[:-1], DemoStep("pack", "Build the performance pack", build_pack), DEMO_STEPS[-1]])

Steps by default: generate the force -> write the police.uk archive, the RMS export, the analyst tables and the
truth -> ingest the archive and the export into the store in the output folder -> show what is in the store ->
show where every output is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.markup import escape

DEFAULT_OUT = "whatworks-demo"
STORE_NAME = "whatworks.duckdb"
MARKER = ".whatworks-demo"
_OWNED = ("policeuk", "policeuk.zip", "records", "tables", "truth", STORE_NAME, STORE_NAME + ".wal")


@dataclass
class DemoContext:
    """What the steps share: the options, the force, the store, every path written and each step's time."""

    out_dir: Path
    seed: int
    crimes: int
    months: int
    boroughs: int
    console: Any
    force: Any = None
    store: Any = None
    paths: dict[str, Path] = field(default_factory=dict)
    outputs: list[tuple[str, Path]] = field(default_factory=list)   # (what it is, where) in print order
    reports: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    store_summary: Any = None


@dataclass(frozen=True)
class DemoStep:
    name: str
    description: str
    run: Callable[[DemoContext], None]


# ---------------------------------------------------------------------------------------------- steps


def _generate(ctx: DemoContext) -> None:
    from whatworks.synth import generate

    ctx.force = generate(seed=ctx.seed, crimes=ctx.crimes, months=ctx.months, boroughs=ctx.boroughs)


def _write(ctx: DemoContext) -> None:
    ctx.paths = ctx.force.write_all(ctx.out_dir)
    p = ctx.paths
    ctx.outputs += [
        ("police.uk archive (month folders)", p["policeuk"]),
        ("police.uk archive (zip, as downloaded)", p["policeuk_zip"]),
        ("RMS export (crimes, stops, arrests, roles, persons)", p["records"]),
        ("mapping file for the RMS export", p["mapping"]),
        ("analyst tables (areas, survey, workforce, interventions)", p["tables"]),
        ("truth: every injected effect (JSON)", p["truth_json"]),
        ("truth tables (true identities, near-repeat parents)", p["truth"]),
    ]


def _ingest(ctx: DemoContext) -> None:
    from whatworks.store import Store

    store_path = ctx.out_dir / STORE_NAME
    ctx.store = Store(store_path)
    ctx.reports["policeuk"] = ctx.store.ingest_policeuk(ctx.paths["policeuk_zip"])
    ctx.reports["records"] = ctx.store.ingest_records(ctx.paths["records"], ctx.paths["mapping"])
    ctx.outputs.append(("the store (DuckDB): open with whatworks.Store(path) or `whatworks status --store path`", store_path))


def _show_store(ctx: DemoContext) -> None:
    from rich.table import Table

    s = ctx.store
    ev = s.event_summary().rename(columns={"rows": "n", "first_month": "first", "last_month": "last"})
    people = s.person_summary().rename(columns={"rows": "n"})
    roles = s.role_summary().rename(columns={"rows": "n"})
    quarantined = s.quarantine_count(category="invalid")
    ctx.store_summary = {"events": ev, "persons": people, "roles": roles, "quarantined": quarantined}
    t = Table(title="What is in the store")
    for c in ("source", "kind", "rows", "first month", "last month"):
        t.add_column(c, justify="right" if c == "rows" else "left")
    for r in ev.itertuples(index=False):
        t.add_row(escape(r.source_system), escape(r.kind), f"{r.n:,}", str(r.first)[:7], str(r.last)[:7])
    for r in people.itertuples(index=False):
        t.add_row(escape(r.source_system), "person records", f"{r.n:,}", "", "")
    for r in roles.itertuples(index=False):
        t.add_row("", escape(f"role: {r.role}"), f"{r.n:,}", "", "")
    t.add_row("", "quarantined rows", f"{quarantined:,}", "", "")
    ctx.console.print(t)
    top = s.crime_types(["crimes", "asb"], source="police.uk").rename(columns={"rows": "n"})
    t2 = Table(title="police.uk crimes and ASB by type")
    t2.add_column("crime type")
    t2.add_column("rows", justify="right")
    for r in top.itertuples(index=False):
        t2.add_row(escape(r.crime_type), f"{r.n:,}")
    ctx.console.print(t2)


def _show_outputs(ctx: DemoContext) -> None:
    from rich.table import Table

    t = Table(title="Where everything is")
    t.add_column("output")
    t.add_column("path", overflow="fold")
    for what, where in ctx.outputs:
        t.add_row(escape(what), escape(str(where)))
    ctx.console.print(t)
    ctx.console.print(escape(ctx.force.summary()))


# The synthetic force's area covariates that describe residents (its bounding-box columns are geometry, not covariates).
SYNTH_COVARIATES = ("deprivation", "density", "urbanity", "share_white", "share_black", "share_asian", "share_other")
PACK_NAME = "pack.html"


def _pack(ctx: DemoContext) -> None:
    """Demo step: areas → store (through :meth:`Store.ingest_areas`), then :func:`whatworks.report.pack`."""
    import pandas as pd

    from whatworks.report import pack

    areas = ctx.force.tables["areas"]
    force = ctx.force.truth["force"]
    # the synthetic lookup names its boroughs' parent (the force) without a row for it: add that row, as a
    # force's own lookup would have it, so every borough has a known parent
    force_row = pd.DataFrame([{"code": force["slug"], "name": force["name"], "level": "force"}])
    covariates = [c for c in SYNTH_COVARIATES if c in areas]
    cols = ["code", "name", "level", "parent_code", "population", *covariates]
    ctx.reports["areas"] = ctx.store.ingest_areas(pd.concat([force_row, areas[cols]], ignore_index=True),
                                                  name="synthetic force areas", covariates=covariates)
    out = ctx.out_dir / PACK_NAME
    ctx.reports["pack"] = pack(ctx.store, out=out, quiet=True)
    ctx.outputs.append(("performance pack (open in a browser; prints to A4)", out))


def _people(ctx: DemoContext) -> None:
    """Link the people across the four systems, save the links, and answer the seed's question: for those arrested in
    an event window, what was their stop-and-search and criminal history, and were they known to probation?"""
    import pandas as pd
    from rich.table import Table

    from whatworks.people import histories, link

    s = ctx.store
    persons = s.persons()
    linked = link(persons, source="source_system", record_id="person_id", exact=["sex", "ethnicity"], quiet=True)
    s.save_links(linked)
    probation = [x for x in persons["source_system"].unique() if x.endswith("probation")]
    start = pd.Timestamp(ctx.force.truth["survey"]["event"]["date"])   # the synthetic force's public-order event
    answer = histories(s.involvements(), s.links(), window=(start, start + pd.Timedelta(days=13)),
                       caseload=persons[persons["source_system"].isin(probation)], quiet=True)
    ctx.reports["people_links"] = linked
    ctx.reports["disorder_question"] = answer
    ctx.console.print(escape(linked.summary()))
    t = Table(title=f"People arrested {start:%d %b %Y} to {start + pd.Timedelta(days=13):%d %b %Y}: what was known before")
    for c in ("measure", "people", "share (95% CI)"):
        t.add_column(c, justify="left" if c == "measure" else "right")
    for r in answer.shares.itertuples(index=False):
        t.add_row(escape(r.measure), f"{r.people:,} of {len(answer.table):,}", f"{r.share:.0%} ({r.ci_low:.0%}–{r.ci_high:.0%})")
    ctx.console.print(t)


def _evaluate(ctx: DemoContext) -> None:
    """The seed's case study 1 and the staggered policy, evaluated as a force would (docs/impact.md):

    * the offender-management programme: participants were picked by case workers, so the naive before/after "shows"
      a fall that is regression to the mean; a matched comparison (nearest on the logistic score within exactly the
      same prior count) finds the true null;
    * the problem-solving policy adopted by some boroughs at staggered dates: Callaway–Sant'Anna on ward × month
      anti-social behaviour counts read from the store, against the force's own roll-out table.
    """
    import numpy as np
    import pandas as pd
    from rich.table import Table

    from whatworks.impact import did, match

    tables = ctx.force.tables
    om = tables["om_programme"].copy()
    part = om["participant"].astype(bool)
    naive = float((om.loc[part, "offences_follow_up"] / om.loc[part, "follow_up_months"]
                   - om.loc[part, "prior_offences_12m"] / 12).mean() * 12)
    om["under_25"] = om["age"] < 25
    om["log_prior_12m"] = np.log1p(om["prior_offences_12m"])
    # nearest on the score, exactly on the prior count: reoffending follows the prior count so closely that even
    # the residual imbalance inside a caliper shows up as a spurious effect (docs/impact.md, worked evaluation)
    matched = match(om, "participant", ["log_prior_12m", "under_25", "male", "deprivation"], id="person_id",
                    exact=["prior_offences_12m"], quiet=True)
    om_effect = matched.estimate("offences_follow_up", quiet=True)

    # ward x month ASB from the store (the asb view), with the force's lookup and roll-out table
    asb = ctx.store.counts(by=["lsoa_code", "month"], table="asb", where={"source_system": "police.uk"})
    areas = tables["areas"]
    parent = areas.set_index("code")["parent_code"]
    asb["ward"] = asb["lsoa_code"].map(parent)
    asb = asb.dropna(subset=["ward"])
    months = pd.to_datetime(asb["month"])
    start = months.min()
    asb["time"] = (months.dt.year - start.year) * 12 + (months.dt.month - start.month)
    wards = areas.loc[areas["level"] == "ward", "code"]
    grid = pd.MultiIndex.from_product([wards, range(int(asb["time"].max()) + 1)], names=["ward", "time"])
    panel = asb.groupby(["ward", "time"])["count"].sum().reindex(grid, fill_value=0).rename("asb").reset_index()
    panel["borough"] = panel["ward"].map(parent)
    adoption = tables["policy_adoption"]
    first = {r.borough_code: (np.nan if not r.adopted or r.adoption_month is None else
                              (pd.Period(str(r.adoption_month), "M") - pd.Period(start, "M")).n)
             for r in adoption.itertuples(index=False)}
    panel["first_treated"] = panel["borough"].map(first)
    panel["log_asb"] = np.log(panel["asb"] + 0.5)
    policy = did(panel, "ward", "time", "log_asb", "first_treated", method="callaway_santanna", cluster="borough",
                 n_boot=0, quiet=True)
    twfe = did(panel, "ward", "time", "log_asb", "first_treated", cluster="borough", quiet=True)
    ctx.reports["evaluations"] = {"offender_management": matched, "offender_management_effect": om_effect,
                                  "offender_management_naive": naive, "problem_solving_policy": policy,
                                  "problem_solving_policy_twfe": twfe}
    truth = ctx.force.truth["interventions"]
    t = Table(title="Worked evaluations (docs/impact.md): what each design says, against the injected truth")
    for c in ("question", "design", "estimate (95% CI)", "truth"):
        t.add_column(c)
    t.add_row("offender management: change in offences a year", "naive before/after (participants only)",
              f"{naive:+.2f}", "0 (no effect)")
    t.add_row("", f"matched comparison ({matched.n_treated_matched:,} pairs)",
              f"{om_effect.estimate:+.2f} ({om_effect.ci_low:+.2f} to {om_effect.ci_high:+.2f}) offences in follow-up",
              f"{truth['offender_management']['true_effect']:g}")
    rr = truth["borough_policy"]["rate_ratio"]
    for label, r in (("Callaway–Sant'Anna", policy), ("two-way fixed effects", twfe)):
        t.add_row("problem-solving policy: ASB rate ratio" if label.startswith("C") else "", label,
                  f"{np.exp(r.estimate):.3f} ({np.exp(r.ci_low):.3f} to {np.exp(r.ci_high):.3f})", f"{rr:g}")
    ctx.console.print(t)


# The demo's interventions as the force's evidence register records them (docs/evidence.md). The synthetic force
# records no programme cost, so none is registered (the pack then says there is no cost-benefit to show).
DEMO_INTERVENTIONS = {
    "offender_management": dict(intervention_id="offender_management", name="Integrated offender management",
                                tactic="integrated offender management", target_problem="prolific offenders",
                                mechanism="case-worker supervision and support of prolific offenders",
                                status="running", area="force"),
    "problem_solving_policy": dict(intervention_id="problem_solving_policy", name="Borough problem-solving policy",
                                   tactic="problem-solving policing", target_problem="hot spot",
                                   crime_type="Anti-social behaviour", status="running", area="adopting boroughs",
                                   mechanism="SARA problem solving at persistent ASB locations"),
}
# The synthetic survey's layout for the real survey reader (docs/synth.md "Public attitude survey").
DEMO_SURVEY_MAPPING = {"survey": {"name": "pas", "id": "respondent_id", "date": "interview_date", "weight": "weight"}}


def _register(ctx: DemoContext) -> None:
    """Put the worked evaluations in the store's evidence register (whatworks.evidence.register_result)."""
    from whatworks.evidence import register_result

    ev = ctx.reports["evaluations"]
    iv = {k: dict(v) for k, v in DEMO_INTERVENTIONS.items()}
    for k, v in iv.items():   # start dates from the force's own intervention table
        row = ctx.force.tables["interventions"].set_index("intervention")
        if k in row.index and row.loc[k, "start"] is not None:
            v["start_date"] = f"{row.loc[k, 'start']}-01"
    register_result(ctx.store, ev["offender_management_effect"], intervention=iv["offender_management"],
                    evaluation_id="offender_management-matched", outcome="offences in the 12-month follow-up",
                    measure="difference", graded_by="whatworks demo")
    reg = register_result(ctx.store, ev["problem_solving_policy"], intervention=iv["problem_solving_policy"],
                          evaluation_id="problem_solving_policy-cs", outcome="anti-social behaviour per ward-month",
                          measure="log rate ratio", graded_by="whatworks demo")
    ctx.reports["register"] = reg
    ctx.console.print(f"Evidence register: {len(reg.interventions)} interventions, {len(reg.evaluations)} evaluations.")


def _survey(ctx: DemoContext) -> None:
    """Load the public attitude survey through the real survey reader (store.ingest_survey with a mapping)."""
    rep = ctx.store.ingest_survey(ctx.paths["table_survey"], mapping=DEMO_SURVEY_MAPPING)
    ctx.reports["survey"] = rep
    ctx.console.print(escape(f"Public attitude survey: {rep}"))


DEMO_STEPS: list[DemoStep] = [
    DemoStep("generate", "Generate the synthetic force", _generate),
    DemoStep("write", "Write the police.uk archive, the RMS export, the tables and the truth", _write),
    DemoStep("ingest", "Load the archive and the export through the real readers", _ingest),
    DemoStep("store", "Show what is in the store", _show_store),
    DemoStep("evaluate", "Evaluate the offender programme and the borough policy (matching, Callaway–Sant'Anna)",
             _evaluate),
    DemoStep("register", "Register the evaluations in the store's evidence register", _register),
    DemoStep("survey", "Load the public attitude survey through the survey reader", _survey),
    DemoStep("pack", "Load the areas and build the performance pack", _pack),
    DemoStep("people", "Link the people across systems and answer the disorder question", _people),
    DemoStep("outputs", "Show where every output is", _show_outputs),
]


# ---------------------------------------------------------------------------------------------- runner


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    paths: dict[str, Path]
    outputs: list[tuple[str, Path]]
    reports: dict[str, Any]
    timings: dict[str, float]
    store_summary: Any

    @property
    def store_path(self) -> Path:
        return self.out_dir / STORE_NAME


def _prepare(out_dir: Path) -> None:
    """Use ``out_dir`` for the demo: create it, or clear the demo's own outputs from an earlier run. A folder
    with other content and no demo marker is refused rather than overwritten (file operations live in store/)."""
    from whatworks.store.exports import prepare_folder

    prepare_folder(out_dir, clear=_OWNED, marker=MARKER, made_by="`whatworks demo`", where="demo",
                   marker_text="made by `whatworks demo`; its outputs here are replaced on the next run\n")


def run_demo(out_dir: str | Path = DEFAULT_OUT, *, seed: int = 0, crimes: int = 200_000, months: int = 36, boroughs: int = 8,
             console=None, steps: list[DemoStep] | None = None) -> DemoResult:
    """Run the demo: generate a seeded synthetic force, write its files, ingest them, show the store and the outputs.

    Parameters
    ----------
    out_dir : path-like, default "whatworks-demo"
        Folder for every output (created; a folder made by an earlier demo is refreshed; any other non-empty folder is refused).
    seed, crimes, months, boroughs : int
        Passed to :func:`whatworks.synth.generate`.
    console : rich.console.Console, optional
        Where to print (default: a new Console on stdout).
    steps : list of DemoStep, optional
        The steps to run, in order (default :data:`DEMO_STEPS`).

    Returns
    -------
    DemoResult
        Paths, ingest reports, per-step timings (seconds) and what the store holds.
    """
    from rich.console import Console

    console = console or Console()
    out = Path(out_dir)
    _prepare(out)
    ctx = DemoContext(out_dir=out, seed=int(seed), crimes=int(crimes), months=int(months), boroughs=int(boroughs),
                      console=console)
    try:
        for step in steps or DEMO_STEPS:
            t0 = time.perf_counter()
            with console.status(step.description + " …"):
                step.run(ctx)
            ctx.timings[step.name] = round(time.perf_counter() - t0, 2)
            console.print(f"[green]✓[/green] {step.description} ({ctx.timings[step.name]:.1f} s)")
    finally:
        if ctx.store is not None:
            ctx.store.close()
    return DemoResult(out_dir=out, paths=ctx.paths, outputs=ctx.outputs, reports=ctx.reports, timings=ctx.timings,
                      store_summary=ctx.store_summary)
