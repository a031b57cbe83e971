"""The police.uk archive matches the published layout exactly (REFERENCE.md), read back with pandas and DuckDB."""

from __future__ import annotations

import re
import zipfile

import duckdb
import pandas as pd

from whatworks.store.writers import OUTCOMES_HEADER, STOP_HEADER, STREET_HEADER
from whatworks.synth import _constants as K


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_layout_and_headers(tiny, tiny_files):
    out, paths = tiny_files
    root = paths["policeuk"]
    months = tiny.month_labels
    assert sorted(p.name for p in root.iterdir()) == months
    for m in months:
        names = sorted(p.name for p in (root / m).iterdir())
        assert names == [f"{m}-synthshire-outcomes.csv", f"{m}-synthshire-stop-and-search.csv", f"{m}-synthshire-street.csv"]
        for kind, header in (("street", STREET_HEADER), ("outcomes", OUTCOMES_HEADER), ("stop-and-search", STOP_HEADER)):
            with open(root / m / f"{m}-synthshire-{kind}.csv", encoding="utf-8") as fh:
                assert fh.readline() == ",".join(header) + "\n"
    assert STREET_HEADER == ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                             "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
    assert OUTCOMES_HEADER == STREET_HEADER[:9] + ("Outcome type",)


def test_zip_holds_the_whole_archive(tiny, tiny_files):
    out, paths = tiny_files
    with zipfile.ZipFile(paths["policeuk_zip"]) as zf:
        names = sorted(zf.namelist())
        assert len(names) == 3 * len(tiny.month_labels)
        assert all(re.fullmatch(r"\d{4}-\d{2}/\d{4}-\d{2}-synthshire-(street|outcomes|stop-and-search)\.csv", n) for n in names)
        first = names[0]
        assert zf.read(first) == (paths["policeuk"] / first).read_bytes()


def test_street_rows(tiny, tiny_files):
    out, paths = tiny_files
    street = pd.concat([_read(p).assign(_folder=p.parent.name) for p in sorted(paths["policeuk"].glob("*/*-street.csv"))])
    assert (street["Month"] == street["_folder"]).all()
    assert street["Month"].str.fullmatch(r"\d{4}-\d{2}").all()
    asb = street["Crime type"] == "Anti-social behaviour"
    assert (street.loc[asb, "Crime ID"] == "").all() and (street.loc[asb, "Last outcome category"] == "").all()
    assert street.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert street.loc[~asb, "Crime ID"].is_unique
    assert set(street["Crime type"]) == set(K.CRIME_TYPES)
    assert set(street.loc[~asb, "Last outcome category"]) <= set(K.OUTCOME_CATEGORIES)
    assert (street["Context"] == "").all()
    assert (street["Reported by"] == K.FORCE_NAME).all() and (street["Falls within"] == K.FORCE_NAME).all()
    none = street["Location"] == "No Location"
    assert 0.005 < none.mean() < 0.05        # a few percent published without a location
    assert (street.loc[none, ["Longitude", "Latitude", "LSOA code", "LSOA name"]] == "").all().all()
    located = street[~none]
    assert located["Location"].str.fullmatch(r"On or near [A-Z][a-z]+ [A-Z][a-z]+").all()
    assert located["Longitude"].str.fullmatch(r"-1\.\d{6}").all() and located["Latitude"].str.fullmatch(r"53\.\d{6}").all()
    assert located["LSOA code"].str.fullmatch(r"S019\d{5}").all()
    # snapped: many crimes share each anonymous map point, and each point has one street name
    pts = located.groupby(["Longitude", "Latitude"])["Location"].nunique()
    assert (pts == 1).all() and len(pts) < len(located) / 1.5
    assert len(street) == len(tiny.tables["crimes"])


def test_outcome_rows(tiny, tiny_files):
    out, paths = tiny_files
    street = pd.concat([_read(p) for p in paths["policeuk"].glob("*/*-street.csv")])
    outc = pd.concat([_read(p).assign(_folder=p.parent.name) for p in sorted(paths["policeuk"].glob("*/*-outcomes.csv"))])
    assert (outc["Month"] == outc["_folder"]).all()
    assert set(outc["Crime ID"]) <= set(street["Crime ID"]) - {""}
    assert set(outc["Outcome type"]) <= set(K.OUTCOME_CATEGORIES)
    # the street file's last outcome is the latest outcome row of the crime
    last = outc.sort_values("Month").groupby("Crime ID")["Outcome type"].last()
    s = street.set_index("Crime ID").loc[last.index, "Last outcome category"]
    assert (s == last).all()
    # outcome rows come on or after the crime's month
    crime_month = street.set_index("Crime ID")["Month"]
    assert (outc["Month"].to_numpy() >= crime_month.loc[outc["Crime ID"]].to_numpy()).all()


def test_stop_and_search_rows(tiny, tiny_files):
    out, paths = tiny_files
    ss = pd.concat([_read(p).assign(_folder=p.parent.name) for p in sorted(paths["policeuk"].glob("*/*-stop-and-search.csv"))])
    assert ss["Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+0[01]:00").all()
    assert (ss["Date"].str.slice(0, 7) == ss["_folder"]).all()
    month = ss["Date"].str.slice(5, 7).astype(int)
    assert ss.loc[month.isin([1, 2, 12]), "Date"].str.endswith("+00:00").all()
    assert ss.loc[month.isin([6, 7, 8]), "Date"].str.endswith("+01:00").all()
    assert set(ss["Type"]) == set(K.SEARCH_TYPES)
    for col in ("Part of a policing operation", "Outcome linked to object of search", "Removal of more than just outer clothing"):
        assert set(ss[col]) <= {"True", "False", ""}
    assert set(ss["Officer-defined ethnicity"]) <= {*K.ETHNIC_GROUPS, ""}
    assert set(ss["Age range"]) <= {*K.AGE_RANGES, ""}


def test_duckdb_reads_the_archive(tiny, tiny_files):
    out, paths = tiny_files
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_csv('{paths['policeuk']}/*/*-street.csv', header=true)").fetchone()[0]
    assert n == len(tiny.tables["crimes"])
    types = con.execute(f"""SELECT count(DISTINCT "Crime type") FROM read_csv('{paths['policeuk']}/*/*-street.csv',
                            header=true)""").fetchone()[0]
    assert types == 14
