"""``whatworks repeats | offenders | stopsearch | link``: the people analyses (docs/people.md) over the store.

Mounted by ``whatworks.cli`` with ``register(app)``. Each command reads the store through its named reads
(``Store.involvements``, ``Store.crimes``, ``Store.stops``, ``Store.persons``, ``Store.links``), builds the table the
Python verb takes exactly as docs/people.md does, calls the verb (never a copy of it) with only the options given —
so the defaults, and what is announced about them, are the Python call's — prints ``.summary()`` and the first rows
of ``.table``, and with ``--csv FILE`` writes ``.table`` through :func:`whatworks.store.exports.write_table` (a
provenance file beside it; the store and the inputs are never written over; an existing file only with
``--overwrite``).

Privacy. Person identifiers (victim, offender and record ids, linked person ids, locations from a force's own
records) are pseudonymised by the verbs' ``key=`` (HMAC-SHA256). The key comes from ``--key-file FILE`` or
``$WHATWORKS_PSEUDONYM_KEY``, never from the command line (it would stay in the shell's history); without one a
one-off key is made and not kept (announced), so the pseudonyms join nothing else. Names, dates of birth and
postcodes are never printed or written unless ``--include-personal``, which also writes the raw ids and says so on
stderr (even with ``--quiet``). police.uk locations are open data and are shown as published.

Errors are one line on stderr and exit code 2, with a hint saying how to load what is missing.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import List, Optional

import typer

from whatworks._announce import announce
from whatworks._cli_common import echo as _echo, fail as _fail, store_path as _store_path
from whatworks.errors import command_error as _error
from whatworks._terminal import visible
from whatworks.errors import WhatworksError

KEY_ENV = "WHATWORKS_PSEUDONYM_KEY"
POLICEUK = "police.uk"
# the persons columns that identify someone: written only with --include-personal
PERSONAL_COLUMNS = ("first_name", "surname", "dob", "postcode")
PREVIEW_ROWS = 10

_INGEST_RECORDS = "`whatworks ingest records EXPORT --mapping MAPPING.toml --store {path}` (docs/records-mapping.md)"
_INGEST_POLICEUK = "`whatworks ingest policeuk FOLDER --store {path}`"

# ---------------------------------------------------------------------------------------------- shared options
_STORE = typer.Option(None, "--store", help="Store file (default: $WHATWORKS_STORE or ./whatworks.duckdb).")
_CSV = typer.Option(None, "--csv", help="Write the result table to this file (.csv; .parquet or .json by extension), "
                                        "with a provenance file beside it.")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace the --csv file if it exists (never the store or an input).")
_QUIET = typer.Option(False, "--quiet", help="Silence announced defaults and progress on stderr.")
_KEY_FILE = typer.Option(None, "--key-file", help="File holding the pseudonymisation key (default: "
                                                  f"${KEY_ENV}; without either, a one-off key that is not kept).")
_INCLUDE_PERSONAL = typer.Option(False, "--include-personal",
                                 help="Write and print raw ids with names, dates of birth and postcodes "
                                      "(personal data; said on stderr). Default: ids pseudonymised, none of these.")
_PERIOD = typer.Option(None, "--period", help="Months FIRST..LAST (e.g. 2024-04..2025-03) or one month YYYY-MM "
                                              "(default: every month in the store).")
_AREA = typer.Option(None, "--area", help="Only records in this area code (any level the store's areas know).")
_CRIME_TYPE = typer.Option(None, "--crime-type", help="Only these crime types (repeat the option).")
_ROWS = typer.Option(PREVIEW_ROWS, "--rows", min=0, help=f"Rows of the table to print (default {PREVIEW_ROWS}; 0: none).")
_CONF = typer.Option(None, "--conf-level", help="Confidence level of every interval (default 0.95).")
_N_BOOT = typer.Option(None, "--n-boot", help="Bootstrap replicates for the top-x% shares (default 1000).")
_SEED = typer.Option(None, "--seed", help="Bootstrap seed (default 0).")
_TOP = typer.Option(None, "--top", help="Shares of units for the top-x% table, comma-separated "
                                        "(default 0.01,0.05,0.1,0.2).")
_LINKED = typer.Option(False, "--linked", help="Count linked people (the store's saved links, `whatworks link`) "
                                               "instead of one system's ids.")


# ---------------------------------------------------------------------------------------------- helpers

def _note(text: str, quiet: bool) -> None:
    """An announcement on stderr ("whatworks: …"), silenced by --quiet, as the analyses' own."""
    announce(visible(text), quiet=quiet)



def _open(where: str, store: Optional[Path], *, write: bool = False):
    from whatworks.store import Store

    path = _store_path(store)
    if path == ":memory:" or not Path(path).exists():
        raise _error(where, f"No store at {path!r}.", hint="Load data first, e.g. " + _INGEST_RECORDS.format(path=path)
                    + " or " + _INGEST_POLICEUK.format(path=path) + ".")
    return Store(path, read_only=not write)


def _period(where: str, text: Optional[str]):
    """--period text as the store's ``months``: None, "2024-06" or ("2024-04", "2025-03") (checked by the store)."""
    if text is None:
        return None
    if ".." in text:
        parts = [p.strip() for p in text.split("..")]
        if len(parts) != 2:
            raise _error(where, "--period must be FIRST..LAST or one month.", got=text, hint="e.g. --period 2024-04..2025-03")
        return tuple(parts)
    return text.strip()


def _floats(where: str, name: str, text: Optional[str]):
    if text is None:
        return None
    try:
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise _error(where, f"{name} must be numbers separated by commas.", got=text, hint="e.g. 0.01,0.05,0.1") from None


def _key(where: str, key_file: Optional[Path], quiet: bool) -> tuple[str, str]:
    """(key, where it came from). The key itself is never printed, written or recorded."""
    if key_file is not None:
        p = Path(key_file)
        if not p.is_file():
            raise _error(where, f"No key file at {str(p)!r} (--key-file).",
                        hint="Make one with: python -c \"import whatworks as ww; print(ww.privacy.new_key())\" > KEYFILE")
        return p.read_text(encoding="utf-8").strip(), "--key-file"
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return env, f"${KEY_ENV}"
    from whatworks.privacy import new_key

    _note(f"no pseudonymisation key given (--key-file FILE or ${KEY_ENV}): identifiers are pseudonymised with a "
          "one-off key that is not kept, so they match no other output.", quiet)
    return new_key(), "a one-off key (not kept)"


def _check_out(csv: Optional[Path], overwrite: bool, inputs: list, where: str) -> None:
    """Refuse the output before any work: never the store or an input; an existing file only with --overwrite."""
    if csv is None:
        return
    from whatworks.store.exports import check_output

    p = check_output(csv, overwrite=overwrite, inputs=inputs, where=where)
    if p.suffix.lower() not in (".csv", ".parquet", ".json"):
        raise _error(where, f"--csv {str(p)!r}: the file name must end in .csv (or .parquet, .json).")
    if p.exists() and not overwrite:
        raise _error(where, f"The output {str(p)!r} already exists.", hint="Choose another file name, or pass --overwrite.")


def _finish(result, table, *, csv: Optional[Path], overwrite: bool, inputs: list, command: str, params: dict,
            store_path: str, fingerprint: str, rows: int, pseudonymised: str | None, personal: bool,
            personal_note: str = "", settings_note: dict | None = None) -> None:
    """Print the summary and the first rows; write the table with its provenance; say so when personal data is out."""
    import pandas as pd

    _echo(result.summary())
    if rows and len(table):
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
            _echo("\n" + table.head(rows).to_string(index=False))
        if len(table) > rows:
            _echo(f"… {len(table) - rows:,} more row(s)" + (" (--csv FILE writes them all)." if csv is None else "."))
    if csv is not None:
        from whatworks.store.exports import write_table

        prov = {"command": f"whatworks {command}", "store": store_path, "store_fingerprint": fingerprint,
                "parameters": params,
                "settings": {**{k: str(v) for k, v in (result.settings or {}).items()}, **(settings_note or {})},
                "pseudonymised": (f"HMAC-SHA256 with {pseudonymised}; the key is not stored" if pseudonymised
                                  else False),
                "personal_data": ("included (--include-personal)" if personal
                                  else "none: identifiers pseudonymised; no names, dates of birth or addresses")}
        p = write_table(table, csv, provenance=prov, overwrite=overwrite, inputs=inputs, where=command)
        _echo(f"Wrote {len(table):,} row(s) to {p} (provenance beside it).")
    if personal:
        where = f"in {csv} and on screen" if csv is not None else "on screen"
        _echo(f"whatworks: --include-personal: raw identifiers{personal_note} are {where}. Keep them where personal "
              "data may be kept.", err=True)


def _choose_source(where: str, systems: list[str], source: Optional[str], what: str, hint: str, quiet: bool,
                   roles: Optional[list[str]] = None) -> str:
    """The one source system to read: given, the only one, or police.uk among several (announced)."""
    if not systems:
        raise _error(where, f"The store has no {what}" + (f" (no person in the role {' or '.join(map(repr, roles))})"
                                                          if roles else "") + ".", hint=hint)
    if source is not None:
        if source not in systems:
            raise _error(where, f"The store has no {what} from source {source!r}.", expected=f"one of {systems}")
        return source
    if len(systems) == 1:
        chosen, reason = systems[0], f"the only source of {what} in the store"
    elif POLICEUK in systems:
        chosen, reason = POLICEUK, (f"{len(systems)} sources hold {what} ({', '.join(systems)}), most likely the same "
                                    "records twice; police.uk is the published record")
    else:
        raise _error(where, f"{len(systems)} sources hold {what}: {', '.join(systems)}.",
                    hint="Say which with --source (counting several would count the same records twice).")
    _note(f"source set to {chosen!r} ({reason}).", quiet)
    return chosen


def _role_events(where: str, s, *, roles: list[str], what: str, source: Optional[str], period, area, crime_types,
                 linked: bool, id_name: str, quiet: bool):
    """One row per (crime, person in one of ``roles``): ``id_name`` (the person's id in the source, or the linked
    person with ``linked``), ``occurred``, ``crime_type`` and ``crime_id`` — the people's crimes from the store, as
    docs/people.md builds them (involvements joined to the source's crimes)."""
    inv = s.involvements()
    inv = inv[inv["role"].isin(roles)]
    systems = sorted(inv["source_system"].dropna().astype(str).unique())
    hint = "Load the force's records, which name the people in each crime: " + _INGEST_RECORDS.format(path=s.path) + "."
    source = _choose_source(where, systems, source, what, hint, quiet, roles=roles)
    people = inv.loc[inv["source_system"] == source, ["reference", "person_id"]].drop_duplicates()
    crimes = s.crimes(source=source, months=period, area=area, crime_types=crime_types,
                      columns=["crime_id", "occurred", "month", "crime_type"])
    df = crimes.merge(people, left_on="crime_id", right_on="reference").drop(columns=["reference"])
    if df.empty:
        raise _error(where, f"No crimes with {what} match the filters.",
                    got={"source": source, "period": period, "area": area, "crime_types": crime_types},
                    hint="Widen --period, --area or --crime-type; `whatworks status` lists what the store holds.")
    undated = df["occurred"].isna()
    if undated.any():
        _note(f"{int(undated.sum()):,} crime(s) with no date left out (an event with no date cannot be placed in time).",
              quiet)
        df = df[~undated]
    df = df.rename(columns={"person_id": id_name})
    if linked:
        links = s.links()
        if links.empty:
            raise _error(where, "--linked: the store has no saved links.",
                        hint=f"Link the people first: `whatworks link --store {s.path}`.")
        links = links[links["source_system"] == source]
        cluster = dict(zip(links["person_id"].astype(str), links["cluster_id"].astype(str)))
        ids = df[id_name].astype(str)
        mapped = ids.map(cluster)
        if mapped.isna().any():
            _note(f"--linked: {int(mapped.isna().sum()):,} row(s) whose person has no saved link keep the "
                  f"{source} id.", quiet)
        df = df.assign(**{id_name: mapped.fillna(ids).to_numpy()})
    return df.reset_index(drop=True), source


def _with_personal(s, table, id_col: str, source: str):
    """``table`` with the person's names, date of birth and postcode from ``Store.persons`` after the id column."""
    p = s.persons(systems=[source])
    p = p[["person_id", *[c for c in PERSONAL_COLUMNS if c in p.columns]]].rename(columns={"person_id": id_col})
    p[id_col] = p[id_col].astype(str)
    out = table.assign(**{id_col: table[id_col].astype(str)}).merge(p, on=id_col, how="left")
    cols = list(table.columns)
    at = cols.index(id_col) + 1
    extra = [c for c in p.columns if c != id_col]
    return out[cols[:at] + extra + cols[at:]]


def _kw(**given):
    """Only the options given: what is left out takes the Python verb's default (and is recorded as "default")."""
    return {k: v for k, v in given.items() if v is not None}


# ---------------------------------------------------------------------------------------------- repeats
def repeats_command(
        of: str = typer.Option("victims", "--of", metavar="victims|locations",
                               help="victims: people recorded as victims of the source's crimes; locations: the "
                                    "places of crimes (police.uk: the snapped point, its 'On or near' name with its "
                                    "coordinates)."),
        store: Optional[Path] = _STORE,
        source: Optional[str] = typer.Option(None, "--source", help="Source system (default: the only one with the "
                                             "data; police.uk for locations when there are several)."),
        period: Optional[str] = _PERIOD, area: Optional[str] = _AREA,
        crime_type: Optional[List[str]] = _CRIME_TYPE,
        role: Optional[List[str]] = typer.Option(None, "--role", help="Roles counted as victims (default victim; "
                                                 "repeat the option)."),
        linked: bool = _LINKED,
        window_days: Optional[float] = typer.Option(None, "--window-days",
                                                    help="The repeat window in days, also the default flag rule's "
                                                         "(default 365)."),
        rule: Optional[List[str]] = typer.Option(None, "--rule", metavar="MIN:DAYS",
                                                 help="Flag rule: at least MIN events within DAYS days, e.g. 2:90 "
                                                      "(repeat the option; default: 3 within the window)."),
        top: Optional[str] = _TOP, conf_level: Optional[float] = _CONF, n_boot: Optional[int] = _N_BOOT,
        seed: Optional[int] = _SEED,
        key_file: Optional[Path] = _KEY_FILE, include_personal: bool = _INCLUDE_PERSONAL,
        csv: Optional[Path] = _CSV, overwrite: bool = _OVERWRITE, rows: int = _ROWS, quiet: bool = _QUIET) -> None:
    """Repeat victimisation of people or places (ww.people.repeats): the repeat rate and share with CIs, the top-x%
    shares, time to repeat, and who is flagged (default: 3 or more in 365 days).

    The table has one row per victim (or place), busiest first, with the victim id pseudonymised."""
    where = "repeats"
    from whatworks.people import repeats

    try:
        if of not in ("victims", "locations"):
            raise _error(where, "--of must be victims or locations.", got=of)
        if of == "locations" and (role or linked):
            raise _error(where, "--role and --linked are for --of victims.")
        rules = None
        if rule:
            rules = []
            for r in rule:
                parts = r.split(":")
                try:
                    if len(parts) != 2:
                        raise ValueError
                    rules.append({"min_events": int(parts[0]), "within_days": float(parts[1])})
                except ValueError:
                    raise _error(where, "--rule must be MIN:DAYS (at least MIN events within DAYS days).", got=r,
                                hint="e.g. --rule 2:90") from None
        top_ = _floats(where, "--top", top)
        months = _period(where, period)
        path = _store_path(store)
        inputs = [path] + ([key_file] if key_file else [])
        _check_out(csv, overwrite, inputs, where)
        with _open(where, store) as s:
            fingerprint = s.fingerprint()
            if of == "victims":
                unit = "victim_id"
                df, source = _role_events(where, s, roles=list(role or ["victim"]), what="victims", source=source,
                                          period=months, area=area, crime_types=crime_type, linked=linked,
                                          id_name=unit, quiet=quiet)
                pseudonymise = not include_personal
            else:
                unit = "location"
                systems = s.sources("crimes")["source_system"].astype(str).tolist()
                source = _choose_source(where, systems, source, "crimes",
                                        "Load crimes first: " + _INGEST_POLICEUK.format(path=path) + " or "
                                        + _INGEST_RECORDS.format(path=path) + ".", quiet)
                df = s.crimes(source=source, months=months, area=area, crime_types=crime_type,
                              columns=["crime_id", "occurred", "month", "crime_type", "location", "lat", "lon"])
                df = _places(where, df, quiet)
                # police.uk locations are open data; a force's own records may hold addresses
                pseudonymise = source != POLICEUK and not include_personal
            key, key_from = _key(where, key_file, quiet) if pseudonymise else (None, None)
            r = repeats(df, **({"id": unit} if of == "victims" else {"where": unit}), date="occurred",
                        **_kw(window_days=window_days, rules=rules, top=top_, conf_level=conf_level, n_boot=n_boot,
                              seed=seed), key=key, quiet=quiet)
            table = r.table
            # a force's own locations may be addresses: with --include-personal they are written as recorded
            personal = include_personal and (of == "victims" or source != POLICEUK)
            note = " (locations as recorded, which may be addresses)" if personal and of == "locations" else ""
            if personal and of == "victims" and not linked:
                table = _with_personal(s, table, unit, source)
                note = " with names, dates of birth and postcodes"
            elif personal and of == "victims":
                note = (" (linked person ids; a person has several records, so names are not added: "
                        "`whatworks link --csv FILE --include-personal` lists each person's records)")
        params = {"of": of, "source": source, "period": period, "area": area, "crime_types": crime_type,
                  "roles": role, "linked": linked, "window_days": window_days, "rules": rule, "top": top,
                  "conf_level": conf_level, "n_boot": n_boot, "seed": seed, "include_personal": include_personal}
        _finish(r, table, csv=csv, overwrite=overwrite, inputs=inputs, command=where, params=params, store_path=path,
                fingerprint=fingerprint, rows=rows, pseudonymised=key_from, personal=personal, personal_note=note)
    except WhatworksError as exc:
        _fail(exc)


def _places(where: str, df, quiet: bool):
    """A place per crime: its location name with its coordinates (police.uk snaps crimes to anonymous points, and
    one street name is used at many points), the name alone where there are no coordinates. Crimes with no location
    (blank, or police.uk's "No Location") are left out (announced)."""
    import numpy as np

    from whatworks.store.writers import NO_LOCATION

    text = df["location"].astype("string").str.strip()
    none = (df["location"].isna() | (text == "") | (text.str.lower() == NO_LOCATION.lower())).fillna(True).to_numpy(bool)
    if none.all():
        raise _error(where, "No crimes with a location match the filters.",
                    hint="Widen --period, --area or --crime-type, or choose another --source.")
    if none.any():
        _note(f"{int(none.sum()):,} crime(s) with no location (blank or {NO_LOCATION!r}) left out.", quiet)
    df = df[~none]
    undated = df["occurred"].isna()
    if undated.any():
        _note(f"{int(undated.sum()):,} crime(s) with no date left out.", quiet)
        df = df[~undated]
    has_xy = df["lat"].notna() & df["lon"].notna()
    point = (df["location"].astype(str) + " (" + df["lat"].map(lambda v: f"{v:.5f}") + ", "
             + df["lon"].map(lambda v: f"{v:.5f}") + ")")
    place = np.where(has_xy, point, df["location"].astype(str))
    return df.assign(location=place)[["crime_id", "occurred", "month", "crime_type", "location"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- offenders
def offenders_command(
        store: Optional[Path] = _STORE,
        source: Optional[str] = typer.Option(None, "--source", help="Source system of the crimes and their offenders "
                                             "(default: the only one with offenders recorded)."),
        period: Optional[str] = _PERIOD, area: Optional[str] = _AREA,
        crime_type: Optional[List[str]] = _CRIME_TYPE,
        role: Optional[List[str]] = typer.Option(None, "--role", help="Roles counted as offenders (default offender; "
                                                 "repeat the option, e.g. --role offender --role suspect)."),
        linked: bool = _LINKED,
        harm_weights: Optional[Path] = typer.Option(None, "--harm-weights",
                                                    help="CSV with columns crime_type,weight: your own harm weights "
                                                         "(default: none, every offence weighs 1; whatworks ships none)."),
        half_life_days: Optional[float] = typer.Option(None, "--half-life-days",
                                                       help="An offence this many days before --as-of counts half "
                                                            "(default 365)."),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Reference date of the recency weights "
                                            "(default: the latest offence date, announced)."),
        top: Optional[str] = _TOP, conf_level: Optional[float] = _CONF, n_boot: Optional[int] = _N_BOOT,
        seed: Optional[int] = _SEED,
        key_file: Optional[Path] = _KEY_FILE, include_personal: bool = _INCLUDE_PERSONAL,
        csv: Optional[Path] = _CSV, overwrite: bool = _OVERWRITE, rows: int = _ROWS, quiet: bool = _QUIET) -> None:
    """Prolific and harmful offenders (ww.people.offenders): a transparent score (harm weight x recency weight
    halving every 365 days, summed over each person's recorded offences) and the power few.

    The table has one row per offender, highest score first, with the offender id pseudonymised. The score ranks
    past recorded offending; it is not a prediction of risk (see the limits in the summary)."""
    where = "offenders"
    from whatworks.people import offenders

    try:
        top_ = _floats(where, "--top", top)
        months = _period(where, period)
        path = _store_path(store)
        inputs = [path] + [p for p in (key_file, harm_weights) if p]
        _check_out(csv, overwrite, inputs, where)
        weights = None
        if harm_weights is not None:
            from whatworks.store.exports import read_weights

            weights = read_weights(harm_weights)
        with _open(where, store) as s:
            fingerprint = s.fingerprint()
            unit = "offender_id"
            df, source = _role_events(where, s, roles=list(role or ["offender"]), what="offenders", source=source,
                                      period=months, area=area, crime_types=crime_type, linked=linked, id_name=unit,
                                      quiet=quiet)
            key, key_from = (None, None) if include_personal else _key(where, key_file, quiet)
            r = offenders(df, id=unit, date="occurred", crime_type="crime_type",
                          **_kw(harm_weights=weights, recency_half_life_days=half_life_days, as_of=as_of, top=top_,
                                conf_level=conf_level, n_boot=n_boot, seed=seed), key=key, quiet=quiet)
            table = r.table
            note = ""
            if include_personal and not linked:
                table = _with_personal(s, table, unit, source)
                note = " with names, dates of birth and postcodes"
            elif include_personal:
                note = (" (linked person ids; a person has several records, so names are not added: "
                        "`whatworks link --csv FILE --include-personal` lists each person's records)")
        params = {"source": source, "period": period, "area": area, "crime_types": crime_type, "roles": role,
                  "linked": linked, "harm_weights": str(harm_weights) if harm_weights else None,
                  "half_life_days": half_life_days, "as_of": as_of, "top": top, "conf_level": conf_level,
                  "n_boot": n_boot, "seed": seed, "include_personal": include_personal}
        _finish(r, table, csv=csv, overwrite=overwrite, inputs=inputs, command=where, params=params, store_path=path,
                fingerprint=fingerprint, rows=rows, pseudonymised=key_from, personal=include_personal,
                personal_note=note)
    except WhatworksError as exc:
        _fail(exc)


# ---------------------------------------------------------------------------------------------- stopsearch
_POPULATION_HINT = ("The store holds no residents by group (its areas carry total population only), so the rates "
                    "need --population FILE: a CSV with columns group and population (residents of each group, e.g. "
                    "Census 2021 ethnic group for the force area), plus an area column such as lsoa_code for "
                    "--by lsoa_code.")


def stopsearch_command(
        population: Optional[Path] = typer.Option(None, "--population",
                                                  help="Residents by group: CSV (or .parquet) with columns group (or "
                                                       "the --group column's name) and population, and any --by area "
                                                       "column. Needed: the store holds no residents by group."),
        store: Optional[Path] = _STORE,
        source: Optional[str] = typer.Option(None, "--source", help="Source system of the searches (default: the "
                                             "only one; police.uk when there are several)."),
        period: Optional[str] = _PERIOD, area: Optional[str] = _AREA,
        group: str = typer.Option("officer_defined_ethnicity", "--group",
                                  help="Column of the searches holding the group (default officer_defined_ethnicity)."),
        by: Optional[List[str]] = typer.Option(None, "--by", help="Split the rates: an area column of the population "
                                               "file (e.g. lsoa_code) or a period column such as month (repeat)."),
        reference: Optional[str] = typer.Option(None, "--reference", help="Reference group of the rate ratios "
                                                "(default White)."),
        ci_method: Optional[str] = typer.Option(None, "--ci-method", metavar="wald-log|exact",
                                                help="Rate-ratio interval (default wald-log)."),
        conf_level: Optional[float] = _CONF,
        arrest_value: Optional[List[str]] = typer.Option(None, "--arrest-value",
                                                         help="Outcomes counted as arrests (default Arrest; repeat)."),
        on_missing_group: Optional[str] = typer.Option(None, "--on-missing-group", metavar="exclude|error",
                                                       help="Searches with no group: leave out, announced "
                                                            "(default exclude), or stop."),
        csv: Optional[Path] = _CSV, overwrite: bool = _OVERWRITE, rows: int = _ROWS, quiet: bool = _QUIET) -> None:
    """Stop-and-search disproportionality (ww.people.stop_search): searches per 1,000 residents by group, rate
    ratios against the reference group (default White) with CIs, and find and arrest rates (the outcome test).

    The table holds counts and rates by group only: no person identifiers."""
    where = "stopsearch"
    from whatworks.people import stop_search

    try:
        if population is None:
            raise _error(where, "--population FILE is needed.", hint=_POPULATION_HINT)
        months = _period(where, period)
        path = _store_path(store)
        inputs = [path, population]
        _check_out(csv, overwrite, inputs, where)
        from whatworks.store.trial_log import read_table_file

        if not Path(population).is_file():
            raise _error(where, f"No population file at {str(population)!r}.", hint=_POPULATION_HINT)
        pop = read_table_file(population)
        with _open(where, store) as s:
            fingerprint = s.fingerprint()
            systems = s.sources("stops")["source_system"].astype(str).tolist()
            source = _choose_source(where, systems, source, "stop-and-search records",
                                    "Load police.uk stop-and-search files: " + _INGEST_POLICEUK.format(path=path)
                                    + ".", quiet)
            stops = s.stops(source=source, months=months, area=area)
        if stops.empty:
            raise _error(where, "No searches match the filters.", got={"source": source, "period": period, "area": area},
                        hint="Widen --period or --area; `whatworks status` lists what the store holds.")
        r = stop_search(stops, pop, group=group, by=list(by) if by else None,
                        **_kw(reference=reference, ci_method=ci_method, conf_level=conf_level,
                              arrest_values=list(arrest_value) if arrest_value else None,
                              on_missing_group=on_missing_group), quiet=quiet)
        params = {"population": str(population), "source": source, "period": period, "area": area, "group": group,
                  "by": by, "reference": reference, "ci_method": ci_method, "conf_level": conf_level,
                  "arrest_values": arrest_value, "on_missing_group": on_missing_group}
        _finish(r, r.table, csv=csv, overwrite=overwrite, inputs=inputs, command=where, params=params, store_path=path,
                fingerprint=fingerprint, rows=rows, pseudonymised=None, personal=False)
    except WhatworksError as exc:
        _fail(exc)


# ---------------------------------------------------------------------------------------------- link
def link_command(
        store: Optional[Path] = _STORE,
        source: Optional[List[str]] = typer.Option(None, "--source", help="Only these systems' person records "
                                                   "(repeat; default: every system in the store)."),
        exact: Optional[List[str]] = typer.Option(None, "--exact", help="Person fields compared as equal or not, e.g. "
                                                  "--exact sex --exact ethnicity (default: none)."),
        threshold: Optional[float] = typer.Option(None, "--threshold", help="Match probability at or above which two "
                                                  "records are joined (default 0.9)."),
        save: bool = typer.Option(True, "--save/--no-save", help="Save the links into the store's person_links, "
                                  "replacing the links saved before (default: save)."),
        append: bool = typer.Option(False, "--append", help="With --save: keep the links saved before (several model "
                                    "versions side by side)."),
        max_pairs_em: Optional[float] = typer.Option(None, "--max-pairs-em",
                                                     help="Cap on blocked pairs per EM session (default 500,000)."),
        max_pairs_u: Optional[float] = typer.Option(None, "--max-pairs-u",
                                                    help="Random pairs for the u probabilities (default 2,000,000)."),
        prior_recall: Optional[float] = typer.Option(None, "--prior-recall",
                                                     help="Assumed recall of exact names + date of birth (default 0.7)."),
        memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help="DuckDB memory limit of Splink's "
                                                   "scratch database, e.g. 4GB (default: DuckDB's)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the u sampling (default 0)."),
        backend: str = typer.Option("duckdb", "--backend", metavar="duckdb|spark",
                                    help="Where Splink runs: duckdb (default) or spark (a local classic Spark "
                                         "session, the same model settings; Splink does not run on Spark Connect)."),
        key_file: Optional[Path] = _KEY_FILE, include_personal: bool = _INCLUDE_PERSONAL,
        csv: Optional[Path] = _CSV, overwrite: bool = _OVERWRITE, rows: int = _ROWS, quiet: bool = _QUIET) -> None:
    """Link person records across systems into people (ww.people.link: Splink on DuckDB or Spark, a Fellegi-Sunter
    model trained without labels) over the store's persons, matching on first name, surname, date of birth and postcode.

    Saves the clusters into the store's person_links (raw ids, inside the store; --no-save to only print or write
    them), for `whatworks repeats --linked` and `whatworks offenders --linked`. The --csv table has one row per
    record (source, record id pseudonymised, cluster_id, ...). Progress goes to stderr."""
    where = "link"
    from whatworks.people import link

    try:
        if append and not save:
            raise _error(where, "--append is for --save (it keeps the links saved before).")
        if backend not in ("duckdb", "spark"):
            raise _error(where, f"--backend must be duckdb or spark. Got {backend!r} instead.")
        if backend == "spark" and memory_limit is not None:
            raise _error(where, "--memory-limit is DuckDB's; on Spark set the driver memory instead.",
                         hint="Drop --memory-limit, or use --backend duckdb.")
        path = _store_path(store)
        inputs = [path] + ([key_file] if key_file else [])
        _check_out(csv, overwrite, inputs, where)
        with _open(where, store, write=save) as s:
            fingerprint = s.fingerprint()
            t0 = time.perf_counter()
            _note("link: reading person records from the store …", quiet)
            persons = s.persons(systems=list(source) if source else None)
            if persons.empty:
                raise _error(where, "The store has no person records" + (f" from {list(source)}" if source else "") + ".",
                            hint="Load the force's records, which hold the people: "
                                 + _INGEST_RECORDS.format(path=path) + ".")
            key, key_from = (None, None) if include_personal else _key(where, key_file, quiet)
            n_sys = persons["source_system"].nunique()
            _note(f"link: {len(persons):,} records from {n_sys} system(s); training and scoring with Splink on "
                  f"{'Spark' if backend == 'spark' else 'DuckDB'} (minutes on a large store) …", quiet)
            with contextlib.ExitStack() as stack:
                spark_kw = {}
                if backend == "spark":
                    from whatworks.store.spark import linkage_session

                    spark_kw = {"backend": "spark", "spark": stack.enter_context(linkage_session())}
                # saving needs raw ids (the store keeps them): link without the key, then pseudonymise what leaves
                # it, as link(key=) does
                r = link(persons, source="source_system", record_id="person_id", exact=list(exact or ()),
                         **_kw(threshold=threshold, max_pairs_em=max_pairs_em, max_pairs_u=max_pairs_u,
                               prior_recall=prior_recall, memory_limit=memory_limit, seed=seed),
                         **spark_kw, key=None if save else key, quiet=quiet)
            tm = r.timings
            _note(f"link: done in {time.perf_counter() - t0:.1f} s (train {tm.get('train', 0):.1f} s, predict "
                  f"{tm.get('predict', 0):.1f} s, cluster {tm.get('cluster', 0):.1f} s).", quiet)
            saved = None
            if save:
                _note("link: saving the links into person_links …", quiet)
                saved = s.save_links(r, replace=not append)
            table = r.table
            after = None
            if key is not None and not r.pseudonymised:
                from whatworks.privacy import pseudonymise

                table = table.assign(record_id=pseudonymise(table["record_id"], key).to_numpy())
                after = {"pseudonymised": "True (record_id: HMAC-SHA256 applied to the table after the raw links "
                                          "were saved in the store, as link(key=) does; the key is not stored)"}
            if include_personal:
                p = persons.rename(columns={"source_system": "source", "person_id": "record_id"})
                p = p.assign(record_id=p["record_id"].astype(str))
                table = table.merge(p, on=["source", "record_id"], how="left")
        params = {"sources": source, "exact": exact, "threshold": threshold, "save": save, "append": append,
                  "max_pairs_em": max_pairs_em, "max_pairs_u": max_pairs_u, "prior_recall": prior_recall,
                  "memory_limit": memory_limit, "seed": seed, "include_personal": include_personal, "backend": backend}
        _finish(r, table, csv=csv, overwrite=overwrite, inputs=inputs, command=where, params=params, store_path=path,
                fingerprint=fingerprint, rows=rows, pseudonymised=key_from, personal=include_personal,
                personal_note=" with names, dates of birth, postcodes, sex and ethnicity",
                settings_note=after)
        if saved is not None:
            _echo(f"Saved {saved:,} link(s) into person_links of {path} ({r.model_version})"
                  + ("; links saved before are kept." if append else ", replacing any saved before."))
    except WhatworksError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    """Add ``repeats``, ``offenders``, ``stopsearch`` and ``link`` to the root ``whatworks`` app."""
    app.command("repeats")(repeats_command)
    app.command("offenders")(offenders_command)
    app.command("stopsearch")(stopsearch_command)
    app.command("link")(link_command)


__all__ = ["register", "repeats_command", "offenders_command", "stopsearch_command", "link_command", "KEY_ENV"]
