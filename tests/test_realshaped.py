"""The real-shaped police.uk fixtures (tests/realshaped.py): determinism, layout, headers, truth matches files,
republication, spreadsheet damage."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realshaped as rs
from whatworks.store import policeuk

M36 = rs.month_range("2016-01", 36)
TWO = ["Northshire Police", "Southshire Police"]


def _read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _folder_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


# ---------------------------------------------------------------- CHECK INPUTS
@pytest.mark.parametrize("kw, match", [
    (dict(months=["2018-13"]), "YYYY-MM"),
    (dict(months=["2018-07"], withdraw=1.0), "withdraw"),
    (dict(months=["2018-07"], missing={"Nowhere Police": ["2018-07"]}), "not in forces"),
    (dict(months=["2018-07"], release=-1), "release"),
    (dict(months=[]), "months"),
    (dict(months=["2018-07"], forces="Northshire Police"), "forces"),
])
def test_bad_options_are_refused(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        rs.archive(tmp_path / "a", **kw)


def test_month_helpers():
    assert rs.month_range("2016-11", 3) == ["2016-11", "2016-12", "2017-01"]
    assert rs.slug("Northshire Police") == "northshire"
    assert rs.slug("Avon and Somerset Police") == "avon-and-somerset"
    assert rs.file_name("2018-07", "Northshire Police", "street") == "2018-07/2018-07-northshire-street.csv"


# ---------------------------------------------------------------- CHECK OUTPUTS: layout and headers
def test_headers_are_the_readers_headers():
    assert rs.STREET == policeuk.STREET.header
    assert rs.OUTCOMES == policeuk.OUTCOMES.header
    assert rs.STOP_SEARCH == policeuk.STOP_SEARCH.header
    assert rs.CRIME_TYPES == policeuk.CRIME_TYPES


def test_layout_two_forces_one_month_missing(tmp_path):
    root = rs.archive(tmp_path / "a", months=["2018-06", "2018-07"], forces=TWO,
                      missing={"Southshire Police": ["2018-07"]})
    got = sorted(str(p.relative_to(root)) for p in root.rglob("*.csv"))
    assert got == [
        "2018-06/2018-06-northshire-outcomes.csv", "2018-06/2018-06-northshire-stop-and-search.csv",
        "2018-06/2018-06-northshire-street.csv", "2018-06/2018-06-southshire-outcomes.csv",
        "2018-06/2018-06-southshire-stop-and-search.csv", "2018-06/2018-06-southshire-street.csv",
        "2018-07/2018-07-northshire-outcomes.csv", "2018-07/2018-07-northshire-stop-and-search.csv",
        "2018-07/2018-07-northshire-street.csv",
    ]
    for p in root.rglob("*.csv"):
        raw = p.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw   # police.uk: no BOM, LF
        header = _read(p)[0]
        assert tuple(header) in (rs.STREET, rs.OUTCOMES, rs.STOP_SEARCH)
    truth = rs.expected(months=["2018-06", "2018-07"], forces=TWO, missing={"Southshire Police": ["2018-07"]})
    assert truth.months == {"Northshire Police": ["2018-06", "2018-07"], "Southshire Police": ["2018-06"]}
    # a month not covered has no rows in the grid at all (missing, not zero)
    c = truth.counts()
    assert len(c) == 3 * 14 and not ((c["force"] == "Southshire Police") & (c["month"] == "2018-07")).any()


def test_no_outcomes_no_stops(tmp_path):
    root = rs.archive(tmp_path / "a", months=["2018-07"], outcomes=False, stops_per_month=0)
    assert [p.name for p in root.rglob("*.csv")] == ["2018-07-northshire-street.csv"]


def test_zip_holds_the_same_members_and_bytes(tmp_path):
    folder = rs.archive(tmp_path / "a", months=["2018-06", "2018-07"])
    z = rs.archive(tmp_path / "b", months=["2018-06", "2018-07"], as_zip=True)
    assert z == tmp_path / "b.zip" and not (tmp_path / "b").exists()
    with zipfile.ZipFile(z) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == _folder_bytes(folder)


# ---------------------------------------------------------------- determinism
def test_same_force_month_seed_gives_same_bytes(tmp_path):
    a = rs.archive(tmp_path / "a", months=M36, forces=TWO)
    b = rs.archive(tmp_path / "b", months=M36, forces=TWO)
    assert _folder_bytes(a) == _folder_bytes(b)
    # a month's files do not depend on the other months in the download, nor on the other forces
    c = rs.archive(tmp_path / "c", months=["2017-03"])
    assert _folder_bytes(c)["2017-03/2017-03-northshire-street.csv"] == _folder_bytes(a)["2017-03/2017-03-northshire-street.csv"]
    z1 = rs.archive(tmp_path / "z1", months=["2017-03"], as_zip=True).read_bytes()
    z2 = rs.archive(tmp_path / "z2", months=["2017-03"], as_zip=True).read_bytes()
    assert z1 == z2


def test_crime_ids_are_64_hex_stable_across_releases_and_change_with_seed():
    t0 = rs.expected(months=["2018-07"])
    t1 = rs.expected(months=["2018-07"], release=1)
    other = rs.expected(months=["2018-07"], seed=1)
    ids = t0.crime_ids()
    assert len(ids) == 63 and all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
    assert t1.crime_ids() == ids and not (other.crime_ids() & ids)


# ---------------------------------------------------------------- the truth matches the files
def test_truth_matches_every_file_row_for_row(tmp_path):
    kw = dict(months=M36, forces=TWO, missing={"Southshire Police": ["2016-05", "2017-11"]}, release=2, withdraw=0.05)
    root = rs.archive(tmp_path / "a", **kw)
    truth = rs.expected(**kw)
    files = {str(p.relative_to(root)): _read(p)[1:] for p in root.rglob("*.csv")}
    assert {k: len(v) for k, v in files.items()} == truth.files
    for frame, cols in ((truth.street, rs.STREET), (truth.outcomes, rs.OUTCOMES), (truth.stop_search, rs.STOP_SEARCH)):
        for name, rows in frame.groupby("file", sort=False):
            assert rows[list(cols)].values.tolist() == files[name]
    assert truth.counts()["count"].sum() == len(truth.street)
    assert len(truth.counts(kind="crime")) == (36 + 34) * 13 and len(truth.counts(kind="asb")) == 36 + 34


def test_default_month_volumes_and_rows_without_location():
    truth = rs.expected(months=["2018-01", "2018-07", "2018-12"])
    c = truth.counts()
    # ASB: round(15 * (1 + 0.25 cos(2 pi (m - 7) / 12))) = 11, 19, 12; crimes: round(60 * seasonal mix) = 57, 63, 58
    asb = c[c["crime_type"] == "Anti-social behaviour"].set_index("month")["count"].to_dict()
    assert asb == {"2018-01": 11, "2018-07": 19, "2018-12": 12}
    assert [truth.total(kind="crime", month=m) for m in ("2018-01", "2018-07", "2018-12")] == [57, 63, 58]
    assert truth.files["2018-07/2018-07-northshire-street.csv"] == 82
    assert truth.files["2018-07/2018-07-northshire-outcomes.csv"] == 27
    assert truth.files["2018-07/2018-07-northshire-stop-and-search.csv"] == 10
    s = truth.street
    asb_rows = s[s["Crime type"] == "Anti-social behaviour"]
    assert (asb_rows["Crime ID"] == "").all() and (asb_rows["Last outcome category"] == "").all()
    assert (s[s["Crime type"] != "Anti-social behaviour"]["Crime ID"] != "").all()
    nowhere = s[s["Location"] == "No Location"]
    assert len(nowhere) == 4
    assert (nowhere[["Longitude", "Latitude", "LSOA code", "LSOA name"]] == "").all().all()
    assert (s["Context"] == "").all() and (s["Falls within"] == "Northshire Police").all()


def test_seasonality_summer_violence_and_asb_winter_burglary():
    c = rs.expected(months=M36, crimes_per_month=600, asb_per_month=150).counts()
    c["moy"] = c["month"].str[5:].astype(int)
    by = c.groupby(["crime_type", "moy"])["count"].sum()
    summer, winter = [6, 7, 8], [12, 1, 2]
    for t in ("Violence and sexual offences", "Anti-social behaviour"):
        assert by[t].loc[summer].sum() > 1.2 * by[t].loc[winter].sum()
    assert by["Burglary"].loc[winter].sum() > 1.2 * by["Burglary"].loc[summer].sum()


def test_two_forces_sit_apart():
    s = rs.expected(months=["2018-07"], forces=TWO).street
    s = s[s["Longitude"] != ""].astype({"Longitude": float, "Latitude": float})
    box = s.groupby("force").agg(lo=("Latitude", "min"), hi=("Latitude", "max"),
                                 xlo=("Longitude", "min"), xhi=("Longitude", "max"))
    n, so = box.loc["Northshire Police"], box.loc["Southshire Police"]
    assert so.hi < n.lo                                  # Southshire entirely south of Northshire
    assert (n.hi - n.lo) < 0.4 and (n.xhi - n.xlo) < 0.6  # a force area of tens of km, not the country
    assert 49.9 < so.lo and n.hi < 58.7                  # inside Great Britain


# ---------------------------------------------------------------- republication
def test_later_release_updates_outcomes_and_grows_outcomes_files():
    t0 = rs.expected(months=["2018-07"])
    t1 = rs.expected(months=["2018-07"], release=1)
    assert len(t0.outcomes) == 27 and len(t1.outcomes) == 39
    assert len(t0.outcome_changes) == 0 and len(t1.outcome_changes) == 15
    before = t0.street.set_index("Crime ID")["Last outcome category"]
    after = t1.street.set_index("Crime ID")["Last outcome category"]
    changed = {i for i in t0.crime_ids() if before[i] != after[i]}
    assert changed == set(t1.outcome_changes["crime_id"])
    row = t1.outcome_changes.iloc[0]
    assert before[row.crime_id] == row.before and after[row.crime_id] == row.after and row.release == 1
    # without withdrawals every crime and ASB row is published again
    assert len(t0.street) == len(t1.street) == 82


def test_withdrawn_rows_are_the_rows_that_vanish():
    t0 = rs.expected(months=["2018-07"], withdraw=0.2)
    t1 = rs.expected(months=["2018-07"], withdraw=0.2, release=1)
    assert len(t0.withdrawn) == 0 and len(t0.street) == 82          # release 0 withdraws nothing
    w = t1.withdrawn
    crimes = w[(w["kind"] == "street") & (w["crime_id"] != "")]
    assert set(crimes["crime_id"]) == t0.crime_ids() - t1.crime_ids()
    assert t1.crime_ids() <= t0.crime_ids()
    asb_gone = t0.total(kind="asb") - t1.total(kind="asb")
    assert asb_gone == ((w["kind"] == "street") & (w["crime_type"] == "Anti-social behaviour")).sum() == 3
    assert len(t1.street) == 69 and len(w[w["kind"] == "stop_search"]) == 2
    assert len(t1.stop_search) == 8


@settings(max_examples=25, deadline=None)
@given(release=st.integers(1, 4), withdraw=st.sampled_from([0.0, 0.05, 0.3]), seed=st.integers(0, 50))
def test_withdrawal_is_monotone_and_accounted(release, withdraw, seed):
    kw = dict(months=["2017-02", "2017-08"], seed=seed, withdraw=withdraw)
    prev, cur = rs.expected(release=release - 1, **kw), rs.expected(release=release, **kw)
    first = rs.expected(release=0, **kw)
    assert cur.crime_ids() <= prev.crime_ids()
    gone = cur.withdrawn[cur.withdrawn["kind"] == "street"]
    assert len(first.street) - len(cur.street) == len(gone)
    assert set(gone.loc[gone["crime_id"] != "", "crime_id"]) == first.crime_ids() - cur.crime_ids()
    assert gone["withdrawn_in"].between(1, release).all()


# ---------------------------------------------------------------- successive downloads
def test_release_series_windows_overlap_and_latest_versions(tmp_path):
    paths = rs.release_series(tmp_path / "s", first="2016-01", n_releases=3, window=36)
    assert [p.name for p in paths] == ["release-0", "release-1", "release-2"]
    months = [sorted({p.parent.name for p in d.rglob("*-street.csv")}) for d in paths]
    assert months[0] == M36 and months[1] == rs.month_range("2016-02", 36) and months[2] == rs.month_range("2016-03", 36)
    for j, d in enumerate(paths):
        truth = rs.series_expected(first="2016-01", n_releases=3, window=36, download=j)
        assert {str(p.relative_to(d)): len(_read(p)) - 1 for p in d.rglob("*.csv")} == truth.files
    # months of download 0 count releases from 0 there; 2019-01 first appears in download 1, 2019-02 in download 2
    latest = rs.series_expected(first="2016-01", n_releases=3, window=36)
    assert latest.months["Northshire Police"] == rs.month_range("2016-01", 38)
    rel = latest.street.groupby("month")["release"].first()
    assert rel["2016-01"] == 0 and rel["2016-02"] == 1 and rel["2016-03"] == 2 and rel["2019-01"] == 1 and rel["2019-02"] == 0
    # the latest version of 2018-07 is download 2's, row for row
    f = "2018-07/2018-07-northshire-street.csv"
    rows = latest.street[latest.street["file"] == f][list(rs.STREET)].values.tolist()
    assert rows == _read(paths[2] / f)[1:]
    # outcomes move on between downloads: download 2's file of 2018-12 reports outcomes dated later than download 0 could
    d0 = rs.series_expected(download=0)
    d2 = rs.series_expected(download=2)
    assert len(d2.outcomes[d2.outcomes["month"] == "2018-12"]) >= len(d0.outcomes[d0.outcomes["month"] == "2018-12"])
    assert len(d2.outcome_changes[d2.outcome_changes["month"] == "2018-12"]) > 0


def test_release_series_as_of_never_publishes_future_outcomes(tmp_path):
    d0 = rs.series_expected(download=0)
    # download 0 ends 2018-12: its outcomes stop there, and its 2018-12 crimes are still mostly under investigation,
    # where an archive with no as-of month already shows outcomes dated up to 11 months later
    assert d0.outcomes["Month"].max() == "2018-12"
    s = d0.street[d0.street["month"] == "2018-12"]
    unbounded = rs.expected(months=["2018-12"]).street
    assert (s["Last outcome category"] == "Under investigation").sum() == 32
    assert (unbounded["Last outcome category"] == "Under investigation").sum() == 19
    z = rs.release_series(tmp_path / "z", n_releases=2, window=3, as_zip=True)
    assert [p.name for p in z] == ["release-0.zip", "release-1.zip"]
    with zipfile.ZipFile(z[1]) as zf:
        assert sorted({n.split("/")[0] for n in zf.namelist()}) == ["2016-02", "2016-03", "2016-04"]


# ---------------------------------------------------------------- spreadsheet damage
@pytest.mark.parametrize("style, value", [("dmy", "01/07/2018"), ("mdy", "7/1/2018"), ("mon-yy", "Jul-18"),
                                          ("iso-date", "2018-07-01"), ("yyyy-m", "2018-7")])
def test_excel_damage_months_bom_crlf(tmp_path, style, value):
    root = rs.archive(tmp_path / "a", months=["2018-07"])
    src = root / "2018-07" / "2018-07-northshire-street.csv"
    before = _read(src)
    out = rs.excel_damage(src, style=style, out=tmp_path / "damaged.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == len(before) and raw.count(b"\n") == len(before)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == before[0] and len(rows) == len(before)
    assert {r[1] for r in rows[1:]} == {value}
    assert [r[0] for r in rows] == [r[0] for r in before]           # Crime IDs untouched
    assert _read(src) == before                                     # out= leaves the source alone


def test_excel_damage_in_place_stops_coordinates_and_encodings(tmp_path):
    root = rs.archive(tmp_path / "a", months=["2018-07"])
    stops = root / "2018-07" / "2018-07-northshire-stop-and-search.csv"
    first = _read(stops)[1]
    assert rs.excel_damage(stops) == stops
    damaged = list(csv.reader(io.StringIO(stops.read_bytes().decode("utf-8-sig"), newline="")))[1]
    y, m, d, hm = first[1][:4], first[1][5:7], first[1][8:10], first[1][11:16]
    assert damaged[1] == f"{d}/{m}/{y} {hm}"
    street = root / "2018-07" / "2018-07-northshire-street.csv"
    lat = [r[5] for r in _read(street)[1:] if r[5]]
    rs.excel_damage(street, style="dmy", out=tmp_path / "semi.csv", delimiter=";", encoding="cp1252")
    raw = (tmp_path / "semi.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("cp1252"), newline=""), delimiter=";"))
    assert rows[0] == list(rs.STREET) and [r[5] for r in rows[1:] if r[5]] == [f"{float(v):.15g}" for v in lat]
    with pytest.raises(ValueError, match="style"):
        rs.excel_damage(street, style="ymd")
