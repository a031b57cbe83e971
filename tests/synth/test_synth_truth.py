"""The truth file documents every injected effect, and docs/synth.md explains each part of it."""

from __future__ import annotations

import json
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "synth.md"


def test_every_truth_section_is_documented(tiny):
    text = DOC.read_text(encoding="utf-8")
    truth = json.loads(tiny.truth_json())
    for key in truth:
        if key in ("about", "whatworks_version", "parameters", "force", "period", "realised"):
            continue
        assert f'truth["{key}"]' in text, key
    for name in ("hotspot_rct", "offender_management", "borough_policy", "step_change"):
        assert name in json.dumps(truth["interventions"])
    # the headline numbers in the docs are the injected ones
    iv = truth["interventions"]
    assert f"× **{iv['hotspot_rct']['rate_ratio']:.2f}**" in text
    assert f"× **{iv['borough_policy']['rate_ratio']:.2f}**" in text
    assert f"× **{iv['step_change']['rate_ratio']:.2f}**" in text
    rr = truth["stop_search"]["rate_ratio_vs_white"]
    assert f"Black {rr['Black']:g}" in text
    coef = truth["survey"]["confidence_model"]["coefficients"]
    assert f"{coef['intercept']} + {coef['effectiveness']}(effectiveness−3)" in text
    nr = truth["near_repeat"]
    assert f"Poisson({nr['branching']})" in text and f"mean {nr['distance_scale_m']:.0f} m" in text
