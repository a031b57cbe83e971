"""`whatworks repeats | offenders | stopsearch | link` (issue 18 item 6): the people analyses over the store from the
command line. On one synthetic force loaded through the real readers: each command's CSV equals the Python verb's
``.table`` on the same data (built as docs/people.md builds it); no name, date of birth, postcode or raw id is printed
or written without --include-personal; every command has --help with its defaults (checked against the Python
defaults); the store and existing files are never written over without --overwrite (the store never); an empty or
missing store is a one-line error and exit 2; announcements on stderr vanish with --quiet."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import whatworks as ww
from whatworks.cli import app

runner = CliRunner()

# the people tests' tiny force (tests/people/test_people_store_links.py): four systems, a few seconds to build
TINY_KW = dict(seed=3, crimes=6_000, months=12, boroughs=2, wards_per_borough=4, survey_per_year=1_000)
RMS = "synthshire-rms"


@pytest.fixture(scope="module")
def force_store(tmp_path_factory):
    """(store path, force, folder): the synthetic force in a store file, closed so each command opens it itself."""
    d = tmp_path_factory.mktemp("people-cli")
    force = ww.synth.generate(**TINY_KW)
    with ww.Store(d / "force.duckdb") as s:
        force.to_store(s, workdir=d / "files")
    return d / "force.duckdb", force, d


@pytest.fixture(scope="module")
def key(force_store):
    """(key file, key): a pseudonymisation key kept in a file, as an analyst would."""
    _, _, d = force_store
    k = ww.privacy.new_key()
    (d / "key.txt").write_text(k + "\n", encoding="utf-8")
    return d / "key.txt", k


@pytest.fixture(scope="module")
def population(force_store):
    """Residents by group (the synthetic force's truth), as a CSV an analyst would bring."""
    _, force, d = force_store
    pop = pd.DataFrame([{"group": g, "population": n}
                        for g, n in force.truth["stop_search"]["residents_by_group"].items()])
    pop.to_csv(d / "population.csv", index=False)
    return d / "population.csv", pop


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("WHATWORKS_PSEUDONYM_KEY", raising=False)


@pytest.fixture(scope="module")
def personal(force_store):
    """The actual identifying values the force's systems hold: raw ids, names, dates of birth, postcodes."""
    path, _, _ = force_store
    with ww.Store(path, read_only=True) as s:
        p = s.persons()
    dob = pd.to_datetime(p["dob"], errors="coerce").dt.strftime("%Y-%m-%d")
    return {"ids": set(p["person_id"].astype(str)), "first_name": set(p["first_name"].dropna().astype(str)),
            "surname": set(p["surname"].dropna().astype(str)), "dob": set(dob.dropna()),
            "postcode": set(p["postcode"].dropna().astype(str))}


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def _ok(r):
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r


def _flat(text: str) -> str:
    """Help text with rich's box drawing and line wrapping taken out."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def _same(csv_path, table: pd.DataFrame) -> None:
    """The CLI's file equals the Python table, both read back from CSV the same way."""
    got = pd.read_csv(csv_path)
    want = pd.read_csv(io.StringIO(table.to_csv(index=False)))
    pd.testing.assert_frame_equal(got, want)


def _cells(text: str) -> set[str]:
    """Every cell of a CSV and every word of terminal output, for exact-value checks (a surname inside a street
    name is not a leak; a cell or word equal to one is)."""
    out = set()
    for line in text.splitlines():
        for part in line.replace(",", " ").split():
            out.add(part.strip())
    for line in text.splitlines():
        out.update(c.strip() for c in line.split(","))
    return out


def _leaks(text: str, personal: dict, kinds=("ids", "first_name", "surname", "dob", "postcode")) -> dict:
    cells = _cells(text)
    # a postcode is two words on the terminal: look for it whole in the text as well
    found = {k: sorted(cells & personal[k])[:3] for k in kinds if k != "postcode"}
    if "postcode" in kinds:
        found["postcode"] = sorted(pc for pc in personal["postcode"] if pc in text)[:3]
    return {k: v for k, v in found.items() if v}


def _victim_crimes(s, **filters):
    """docs/people.md, section 1: the RMS crimes joined to their victims."""
    inv = s.involvements()
    victims = inv[inv["role"] == "victim"][["reference", "person_id"]].rename(columns={"person_id": "victim_id"})
    return s.crimes(source=RMS, **filters).merge(victims, left_on="crime_id", right_on="reference")


def _offences(s, **filters):
    inv = s.involvements()
    off = inv[inv["role"] == "offender"][["reference", "person_id"]].rename(columns={"person_id": "offender_id"})
    return s.crimes(source=RMS, **filters).merge(off, left_on="crime_id", right_on="reference")


# ---------------------------------------------------------------------------------------------- --help
def test_every_command_has_help_naming_what_it_does_and_the_python_defaults():
    import importlib

    # the modules, not the verbs of the same name that whatworks.people exports
    _common, linkage, offenders, repeats, stopsearch = (importlib.import_module(f"whatworks.people.{m}") for m in
                                                        ("_common", "linkage", "offenders", "repeats", "stopsearch"))

    expected = {
        "repeats": ["Repeat victimisation", f"(default {repeats.DEFAULT_WINDOW_DAYS})",
                    f"default: {repeats.DEFAULT_MIN_EVENTS} within the window",
                    f"(default {_common.DEFAULT_BOOT})", f"(default {_common.DEFAULT_CONF_LEVEL})",
                    f"(default {','.join(f'{v:g}' for v in _common.DEFAULT_TOP)})", f"(default {_common.DEFAULT_SEED})",
                    "--include-personal", "--key-file", "--csv", "--overwrite", "--quiet", "--period", "--crime-type"],
        "offenders": ["Prolific and harmful offenders", f"(default {offenders.DEFAULT_HALF_LIFE_DAYS})",
                      "the latest offence date", "every offence weighs 1", "not a prediction of risk"],
        "stopsearch": ["disproportionality", f"(default {stopsearch.DEFAULT_REFERENCE})",
                       f"(default {stopsearch.DEFAULT_CI_METHOD})", f"(default {stopsearch.DEFAULT_ARREST_VALUES[0]};",
                       "(default exclude)", "the store holds no residents by group", "no person identifiers"],
        "link": ["Link person records", "Splink on DuckDB", f"(default {linkage.DEFAULT_THRESHOLD})",
                 f"(default {linkage.DEFAULT_MAX_PAIRS_EM:,})", f"(default {linkage.DEFAULT_MAX_PAIRS_U:,})",
                 f"(default {linkage.DEFAULT_PRIOR_RECALL})", f"(default {linkage.DEFAULT_SEED})",
                 "person_links", "Progress goes to stderr"],
    }
    top = _ok(_run(["--help"]))
    for cmd, phrases in expected.items():
        assert cmd in top.stdout
        text = _flat(_ok(_run([cmd, "--help"])).stdout)
        for phrase in phrases:
            assert phrase in text, (cmd, phrase)


# ---------------------------------------------------------------------------------------------- the CSV is .table
def test_repeats_csv_equals_the_python_table(force_store, key, tmp_path):
    path, _, _ = force_store
    key_file, k = key
    out = tmp_path / "victims.csv"
    r = _ok(_run(["repeats", "--store", path, "--key-file", key_file, "--csv", out, "--quiet"]))
    with ww.Store(path, read_only=True) as s:
        want = ww.people.repeats(_victim_crimes(s), id="victim_id", date="occurred", key=k, quiet=True)
    _same(out, want.table)
    assert want.summary() in r.stdout
    prov = (tmp_path / "victims.csv.provenance.json").read_text()
    assert "whatworks repeats" in prov and k not in prov and "--key-file" in prov
    # filters and options go to the store read and to the verb
    out2 = tmp_path / "victims-filtered.csv"
    _ok(_run(["repeats", "--store", path, "--key-file", key_file, "--csv", out2, "--quiet", "--period", "2022-07..2023-02",
              "--crime-type", "Burglary", "--crime-type", "Violence and sexual offences", "--window-days", "90",
              "--rule", "2:30", "--n-boot", "50"]))
    with ww.Store(path, read_only=True) as s:
        crimes = _victim_crimes(s, months=("2022-07", "2023-02"), crime_types=["Burglary", "Violence and sexual offences"])
    want = ww.people.repeats(crimes, id="victim_id", date="occurred", window_days=90,
                             rules=[{"min_events": 2, "within_days": 30}], n_boot=50, key=k, quiet=True)
    _same(out2, want.table)


def test_repeat_locations_are_police_uk_points_shown_as_published(force_store, tmp_path):
    path, _, _ = force_store
    out = tmp_path / "places.csv"
    r = _ok(_run(["repeats", "--of", "locations", "--store", path, "--csv", out]))
    assert "source set to 'police.uk'" in r.stderr and "No Location" in r.stderr   # announced, and left out
    with ww.Store(path, read_only=True) as s:
        c = s.crimes(source="police.uk")
    c = c[c["location"] != "No Location"]
    c = c.assign(location=c["location"] + " (" + c["lat"].map("{:.5f}".format) + ", " + c["lon"].map("{:.5f}".format) + ")")
    want = ww.people.repeats(c, where="location", date="occurred", quiet=True)
    _same(out, want.table)
    assert pd.read_csv(out)["location"].str.startswith("On or near ").all()   # open data: not pseudonymised


def test_offenders_csv_equals_the_python_table_with_harm_weights(force_store, key, tmp_path):
    path, _, d = force_store
    key_file, k = key
    with ww.Store(path, read_only=True) as s:
        offences = _offences(s, months=("2022-06", "2023-03"))
        types = sorted(s.crime_types("crimes", source=RMS)["crime_type"])
    harm = pd.DataFrame({"crime_type": types, "weight": [float(i + 1) for i in range(len(types))]})
    harm.to_csv(tmp_path / "harm.csv", index=False)
    out = tmp_path / "offenders.csv"
    r = _ok(_run(["offenders", "--store", path, "--key-file", key_file, "--csv", out, "--period", "2022-06..2023-03",
                  "--harm-weights", tmp_path / "harm.csv", "--half-life-days", "180"]))
    want = ww.people.offenders(offences, id="offender_id", date="occurred", crime_type="crime_type",
                               harm_weights=harm, recency_half_life_days=180, key=k, quiet=True)
    _same(out, want.table)
    assert want.summary() in r.stdout
    assert "as of set to" in r.stderr     # the verb's own announcement comes through


def test_stopsearch_csv_equals_the_python_table(force_store, population, tmp_path):
    path, _, _ = force_store
    pop_file, pop = population
    out = tmp_path / "stops.csv"
    r = _ok(_run(["stopsearch", "--store", path, "--population", pop_file, "--csv", out]))
    with ww.Store(path, read_only=True) as s:
        stops = s.stops(source="police.uk")
    want = ww.people.stop_search(stops, pop, quiet=True)
    _same(out, want.table)
    assert "source set to 'police.uk'" in r.stderr and "left out of the rates" in r.stderr
    out2 = tmp_path / "stops-month.csv"
    _ok(_run(["stopsearch", "--store", path, "--population", pop_file, "--csv", out2, "--by", "month",
              "--ci-method", "exact", "--quiet"]))
    _same(out2, ww.people.stop_search(stops, pop, by="month", ci_method="exact", quiet=True).table)


def test_stopsearch_without_a_population_says_the_store_has_none(force_store):
    path, _, _ = force_store
    r = _run(["stopsearch", "--store", path])
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--population FILE" in lines[0] and "holds no residents by group" in lines[0]


def test_link_saves_into_the_store_and_its_csv_equals_the_python_table(force_store, key, personal, tmp_path):
    path, force, _ = force_store
    key_file, k = key
    out = tmp_path / "links.csv"
    r = _ok(_run(["link", "--store", path, "--key-file", key_file, "--csv", out, "--exact", "sex", "--quiet"]))
    assert r.stderr == ""                                   # --quiet: no progress, no announcements
    with ww.Store(path, read_only=True) as s:
        persons = s.persons()
        saved = s.links()
    want = ww.people.link(persons, source="source_system", record_id="person_id", exact=["sex"], key=k, quiet=True)
    _same(out, want.table)
    # the store keeps raw ids, one link per record, the same clusters
    assert len(saved) == len(persons) and set(saved["person_id"]) == set(persons["person_id"])
    # (not the digest: EM's floating-point sums differ in the last bits from run to run, and so does the model hash)
    assert f"Saved {len(persons):,} link(s) into person_links" in r.stdout and saved["model_version"].iloc[0] in r.stdout
    assert not _leaks(out.read_text() + r.stdout, personal)
    # the clusters agree with the force's true identities
    ident = force.truth_tables["person_identity"]
    lab = saved.merge(ident, on=["source_system", "person_id"])
    assert ww.people.pairwise_metrics(lab["cluster_id"], lab["true_person_id"])["precision"] >= 0.95


def test_linked_people_counted_from_the_saved_links(force_store, key, tmp_path):
    path, _, _ = force_store
    key_file, k = key
    with ww.Store(path, read_only=True) as s:
        have = len(s.links())
    if not have:   # this module's link test saves them; run it alone and the links are made here
        _ok(_run(["link", "--store", path, "--quiet", "--exact", "sex"]))
    out = tmp_path / "linked.csv"
    _ok(_run(["offenders", "--store", path, "--key-file", key_file, "--linked", "--csv", out, "--quiet"]))
    with ww.Store(path, read_only=True) as s:
        offences = _offences(s)
        links = s.links()
    links = links[links["source_system"] == RMS]
    cluster = dict(zip(links["person_id"], links["cluster_id"]))
    offences["offender_id"] = offences["offender_id"].map(cluster).fillna(offences["offender_id"])
    want = ww.people.offenders(offences, id="offender_id", key=k, quiet=True)
    _same(out, want.table)


# ---------------------------------------------------------------------------------------------- personal data
def test_no_names_dates_of_birth_postcodes_or_raw_ids_without_include_personal(force_store, personal, tmp_path):
    path, _, _ = force_store
    for cmd in ("repeats", "offenders"):
        out = tmp_path / f"{cmd}.csv"
        r = _ok(_run([cmd, "--store", path, "--csv", out, "--rows", "50"]))
        assert "one-off key" in r.stderr                     # no key given: pseudonymised all the same
        assert not _leaks(out.read_text() + r.stdout + r.stderr, personal), cmd
    r = _ok(_run(["link", "--store", path, "--no-save", "--rows", "50", "--max-pairs-u", "100000"]))
    assert not _leaks(r.stdout + r.stderr, personal)
    assert "link: reading person records" in r.stderr and "link: done in" in r.stderr   # progress on stderr


def test_include_personal_writes_them_and_says_so_on_stderr(force_store, personal, tmp_path):
    path, _, _ = force_store
    out = tmp_path / "offenders-personal.csv"
    r = _ok(_run(["offenders", "--store", path, "--include-personal", "--csv", out, "--quiet"]))
    table = pd.read_csv(out)
    assert {"first_name", "surname", "dob", "postcode"} <= set(table.columns)
    assert set(table["offender_id"]) <= personal["ids"] and set(table["surname"].dropna()) <= personal["surname"]
    assert _leaks(out.read_text(), personal).keys() == {"ids", "first_name", "surname", "dob", "postcode"}  # seen
    assert "--include-personal" in r.stderr and str(out) in r.stderr   # said even with --quiet
    assert "personal_data" in (tmp_path / "offenders-personal.csv.provenance.json").read_text()
    out = tmp_path / "links-personal.csv"
    r = _ok(_run(["link", "--store", path, "--no-save", "--include-personal", "--csv", out, "--quiet",
                  "--max-pairs-u", "100000"]))
    links = pd.read_csv(out)
    assert {"record_id", "cluster_id", "first_name", "surname", "dob", "postcode"} <= set(links.columns)
    assert set(links["record_id"]) == personal["ids"] and _leaks(out.read_text(), personal)
    assert "--include-personal" in r.stderr


# ---------------------------------------------------------------------------------------------- outputs
def test_never_writes_over_the_store_an_input_or_an_existing_file(force_store, key, population, tmp_path):
    path, _, _ = force_store
    key_file, _ = key
    pop_file, _ = population
    before = path.read_bytes()
    for extra in ([], ["--overwrite"]):
        r = _run(["offenders", "--store", path, "--csv", path, "--quiet", *extra])
        assert r.exit_code == 2 and "never writes over" in r.stderr
        r = _run(["offenders", "--store", path, "--key-file", key_file, "--csv", key_file, "--quiet", *extra])
        assert r.exit_code == 2 and "inputs" in r.stderr
        r = _run(["stopsearch", "--store", path, "--population", pop_file, "--csv", pop_file, "--quiet", *extra])
        assert r.exit_code == 2 and "inputs" in r.stderr
    assert path.read_bytes() == before and key_file.read_text().strip() and pop_file.read_text().startswith("group")
    mine = tmp_path / "mine.csv"
    mine.write_text("keep me\n")
    r = _run(["repeats", "--store", path, "--csv", mine, "--quiet"])
    assert r.exit_code == 2 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert mine.read_text() == "keep me\n"
    _ok(_run(["repeats", "--store", path, "--csv", mine, "--quiet", "--overwrite"]))
    assert mine.read_text().startswith("victim_id,")
    # a file whatworks wrote is not replaced without --overwrite either
    r = _run(["repeats", "--store", path, "--csv", mine, "--quiet"])
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = _run(["repeats", "--store", path, "--csv", tmp_path / "out.txt", "--quiet"])
    assert r.exit_code == 2 and ".csv" in r.stderr


def test_empty_or_missing_store_is_a_one_line_error_saying_how_to_load(tmp_path, population):
    pop_file, _ = population
    empty = tmp_path / "empty.duckdb"
    ww.Store(empty).close()
    cases = {("repeats",): "ingest records", ("repeats", "--of", "locations"): "ingest policeuk",
             ("offenders",): "ingest records", ("stopsearch", "--population", str(pop_file)): "ingest policeuk",
             ("link",): "ingest records", ("link", "--no-save"): "ingest records"}
    for args, how in cases.items():
        r = _run([*args, "--store", empty, "--quiet"])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and f"whatworks {how}" in lines[0], (args, r.stderr)
        assert "has no" in lines[0]
    r = _run(["offenders", "--store", tmp_path / "none.duckdb"])
    assert r.exit_code == 2 and "No store at" in r.stderr and not (tmp_path / "none.duckdb").exists()


def test_the_console_command_exits_2_on_an_error(tmp_path):
    # whatworks.cli.main runs the app with standalone_mode=False, where a typer.Exit code is returned, not raised:
    # the commands exit with SystemExit so the shell sees 2
    proc = subprocess.run([sys.executable, "-m", "whatworks.cli", "repeats", "--store", str(tmp_path / "none.duckdb")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "No store at" in proc.stderr


def test_announcements_vanish_with_quiet(force_store, population, tmp_path):
    path, _, _ = force_store
    pop_file, _ = population
    loud = _ok(_run(["repeats", "--store", path, "--rows", "0"]))
    assert "whatworks: source set to" in loud.stderr and "one-off key" in loud.stderr
    quiet = _ok(_run(["repeats", "--store", path, "--rows", "0", "--quiet"]))
    assert quiet.stderr == ""
    assert loud.stdout == quiet.stdout       # the result does not depend on the key: the summary holds no ids
    loud = _ok(_run(["stopsearch", "--store", path, "--population", pop_file, "--by", "month", "--rows", "0"]))
    assert "whole population" in loud.stderr and "source set to" in loud.stderr
    quiet = _ok(_run(["stopsearch", "--store", path, "--population", pop_file, "--by", "month", "--rows", "0",
                      "--quiet"]))
    assert quiet.stderr == "" and quiet.stdout == loud.stdout


def test_bad_options_are_one_line_errors(force_store):
    path, _, _ = force_store
    for args, what in ((["repeats", "--of", "streets"], "--of"), (["repeats", "--rule", "3"], "MIN:DAYS"),
                       (["repeats", "--top", "a,b"], "--top"), (["repeats", "--period", "2022-01..2022-02..2022-03"],
                                                                "--period"),
                       (["repeats", "--source", "nowhere"], "nowhere"),
                       (["offenders", "--key-file", "/nonexistent/key"], "No key file"),
                       (["link", "--no-save", "--append"], "--append")):
        r = _run([*args, "--store", path, "--quiet"])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and what in lines[0], (args, r.stderr)
