"""Golden inputs for whatworks.impact.synthetic_control (issue 14): the Basque panel and its published weights.

Purpose
    Abadie & Gardeazabal (2003), "The economic costs of conflict: a case study of the Basque Country", AER 93(1):
    the synthetic Basque Country is Cataluña 0.8508 + Madrid 0.1492 (the paper; R Synth's basque example prints
    0.851 / 0.149). No installed package ships the data offline, so this script copies the panel (R Synth's
    ``basque`` data, as committed in github.com/sdfordham/pysyncon data/basque.csv) into
    tests/golden/impact_synth_golden.json with the published weights and the study's specification, so CI needs
    neither R nor pysyncon. Spain as a whole (regionno 1) is left out of the donors, as in R Synth's example.

How to regenerate
    python tests/golden/make_impact_synth.py PATH/TO/pysyncon-repo    (commit PYSYNCON_COMMIT below)

Versions: data file at pysyncon commit PYSYNCON_COMMIT; pandas 2.3.3; Python 3.11. Deterministic.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

PYSYNCON_COMMIT = "34350ca548370902bc40cfcf6d37d97b9de0839e"
OUT = Path(__file__).with_name("impact_synth_golden.json")
COLUMNS = ["regionno", "regionname", "year", "gdpcap", "sec.agriculture", "sec.energy", "sec.industry",
           "sec.construction", "sec.services.venta", "sec.services.nonventa", "school.illit", "school.prim",
           "school.med", "school.high", "school.post.high", "popdens", "invest"]


def main(repo: Path) -> None:
    text = subprocess.run(["git", "-C", str(repo), "show", f"{PYSYNCON_COMMIT}:data/basque.csv"], check=True,
                          capture_output=True, text=True).stdout
    df = pd.read_csv(io.StringIO(text))
    df = df.loc[df["regionno"] != 1, COLUMNS]
    golden = {
        "about": "Basque Country synthetic control (Abadie & Gardeazabal 2003) with published weights",
        "source": {"data": f"sdfordham/pysyncon@{PYSYNCON_COMMIT}:data/basque.csv (R Synth's basque data)",
                   "weights": "Abadie & Gardeazabal (2003) AER 93(1), and R Synth's basque example"},
        "published_weights": {"Cataluna": 0.8508, "Madrid (Comunidad De)": 0.1492},
        "spec": {"treated_unit": "Basque Country (Pais Vasco)", "treated_from": 1970,
                 "predictors": ["school.illit", "school.prim", "school.med", "school.high", "school.post.high",
                                "invest"],
                 "predictor_times": list(range(1964, 1970)),
                 "special_predictors": [["gdpcap", list(range(1960, 1970)), "mean"]]
                 + [[c, list(range(1961, 1970, 2)), "mean"] for c in
                    ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction", "sec.services.venta",
                     "sec.services.nonventa"]] + [["popdens", [1969], "mean"]],
                 "fit_times": list(range(1960, 1970))},
        "data": {c: [None if pd.isna(v) else v for v in df[c].tolist()] for c in COLUMNS},
    }
    OUT.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/sdfordham+pysyncon/repo"))
