"""Golden values for whatworks.impact.did (issue 14): TWFE on castle, Callaway–Sant'Anna on castle and mpdta.

Purpose
    Reference figures that tests/impact/test_impact_did.py compares against, so CI needs neither csdid nor R:
    - castle (Cheng & Hoekstra 2013, from the causaldata wheel): TWFE of l_homicide on post with state and year
      fixed effects, unweighted, state-clustered SEs — statsmodels OLS with dummies, cov_type="cluster" (CR1,
      the same as Stata's ``regress l_homicide post i.sid i.year, vce(cluster sid)``);
    - castle and mpdta: Callaway–Sant'Anna ATT(g, t) and SEs from the Python ``csdid`` package (a port of R did);
    - mpdta: R did's own ATT(g, t), SEs, aggregations and pre-trend Wald test, as committed in csdid's repository
      (csdid/test_csdid/r_ref/ref_*.csv, made by its generate_reference.R with R did).
    mpdta itself (the did package's example panel, 500 counties × 2003–2007) is embedded in the JSON.

How to regenerate
    . .venv/bin/activate   # needs csdid and causaldata
    python tests/golden/make_impact_did.py PATH/TO/csdid-repo
    where PATH/TO/csdid-repo is a checkout of github.com/d2cml-ai/csdid (used: commit CSDID_COMMIT below).
    Writes tests/golden/impact_did_golden.json. Deterministic (no bootstrap draws are stored).

Versions used: csdid 0.4.3, causaldata 0.1.5, statsmodels 0.15.0, numpy 2.4.6, pandas 2.3.3, Python 3.11.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CSDID_COMMIT = "ca91c1fef4974bde0d973d7f4195328414130c92"
OUT = Path(__file__).with_name("impact_did_golden.json")


def _git_csv(repo: Path, path: str) -> pd.DataFrame:
    text = subprocess.run(["git", "-C", str(repo), "show", f"{CSDID_COMMIT}:{path}"], check=True,
                          capture_output=True, text=True).stdout
    return pd.read_csv(io.StringIO(text))


def _csdid(data, y, g, i, t, control, est, xformla=None):
    from csdid.att_gt import ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"xformla": xformla} if xformla else {}
        out = ATTgt(yname=y, gname=g, idname=i, tname=t, data=data, control_group=[control], **kw)
        out = out.fit(est_method=est, bstrap=False)
        r = out.results
        cells = {"group": [float(x) for x in r["group"]], "time": [float(x) for x in r["year"]],
                 "estimate": [float(x) for x in r["att"]], "se": [float(x) for x in r["se"]]}
        aggs = {}
        import contextlib
        for kind in ("simple", "dynamic", "group", "calendar"):
            with contextlib.redirect_stdout(io.StringIO()):
                a = out.aggte(typec=kind, bstrap=False).atte
            aggs[kind] = {"overall_estimate": float(np.ravel(a["overall_att"])[0]),
                          "overall_se": float(np.ravel(a["overall_se"])[0])}
            if kind != "simple":
                aggs[kind].update({"label": [float(x) for x in np.ravel(a["egt"])],
                                   "estimate": [float(x) for x in np.ravel(a["att_egt"])],
                                   "se": [float(x) for x in np.ravel(a["se_egt"])]})
    return {"cells": cells, "aggregations": aggs}


def main(repo: Path) -> None:
    import causaldata
    import csdid
    import statsmodels
    import statsmodels.formula.api as smf

    castle = causaldata.castle.load_pandas().data
    first = castle[castle["post"] > 0].groupby("sid")["year"].min()
    castle = castle.assign(first_treated=castle["sid"].map(first).fillna(0).astype(int))
    m = smf.ols("l_homicide ~ post + C(sid) + C(year)", castle).fit(cov_type="cluster",
                                                                     cov_kwds={"groups": castle["sid"]})
    golden = {
        "about": __doc__.strip().splitlines()[0],
        "versions": {"csdid": csdid.__version__ if hasattr(csdid, "__version__") else "0.4.3",
                     "causaldata": "0.1.5", "statsmodels": statsmodels.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "csdid_repo_commit": CSDID_COMMIT},
        "castle": {
            "twfe": {"outcome": "l_homicide", "estimate": float(m.params["post"]), "se": float(m.bse["post"]),
                     "n_clusters": int(castle["sid"].nunique()), "nobs": int(m.nobs)},
            "csdid": {
                "never_dr": _csdid(castle, "l_homicide", "first_treated", "sid", "year", "nevertreated", "dr"),
                "not_yet_dr": _csdid(castle, "l_homicide", "first_treated", "sid", "year", "notyettreated", "dr"),
            },
        },
    }
    mpdta = _git_csv(repo, "csdid/data/mpdta.csv")
    golden["mpdta"] = {
        "data": {c: mpdta[c].tolist() for c in ["countyreal", "year", "lemp", "lpop", "first.treat"]},
        "csdid": {
            "never_dr": _csdid(mpdta, "lemp", "first.treat", "countyreal", "year", "nevertreated", "dr"),
            "not_yet_dr": _csdid(mpdta, "lemp", "first.treat", "countyreal", "year", "notyettreated", "dr"),
            "never_reg_lpop": _csdid(mpdta, "lemp", "first.treat", "countyreal", "year", "nevertreated", "reg",
                                     "lemp ~ lpop"),
            "never_ipw_lpop": _csdid(mpdta, "lemp", "first.treat", "countyreal", "year", "nevertreated", "ipw",
                                     "lemp ~ lpop"),
            "never_dr_lpop": _csdid(mpdta, "lemp", "first.treat", "countyreal", "year", "nevertreated", "dr",
                                    "lemp ~ lpop"),
        },
    }
    ref_att = _git_csv(repo, "csdid/test_csdid/r_ref/ref_attgt.csv")
    ref_agg = _git_csv(repo, "csdid/test_csdid/r_ref/ref_aggte.csv")
    ref_pre = _git_csv(repo, "csdid/test_csdid/r_ref/ref_pretest.csv")
    r_did = {}
    for scn in ["mpdta_nev_dr", "mpdta_nyt_dr", "mpdta_nev_reg_cov", "mpdta_nev_ipw"]:
        a = ref_att[ref_att["scenario"] == scn]
        g = ref_agg[ref_agg["scenario"] == scn]
        p = ref_pre[ref_pre["scenario"] == scn].iloc[0]
        aggs = {}
        for kind in ("simple", "dynamic", "group", "calendar"):
            s = g[g["type"] == kind]
            aggs[kind] = {"overall_estimate": float(s["overall_att"].iloc[0]), "overall_se": float(s["overall_se"].iloc[0])}
            if kind != "simple":
                aggs[kind].update({"label": s["egt"].astype(float).tolist(), "estimate": s["att_egt"].tolist(),
                                   "se": s["se_egt"].tolist()})
        r_did[scn] = {"cells": {"group": a["group"].astype(float).tolist(), "time": a["t"].astype(float).tolist(),
                                "estimate": a["att"].tolist(), "se": a["se"].tolist()},
                      "aggregations": aggs, "pretrend": {"statistic": float(p["W"]), "p_value": float(p["Wpval"])}}
    golden["mpdta"]["r_did"] = r_did
    OUT.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/d2cml-ai+csdid/repo"))
