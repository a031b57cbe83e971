"""Golden cases for whatworks.performance.spc: an independent, deliberately simple reference of the XmR rules.

Purpose
    Generate >= 1,000 series (ties, points exactly on the mean, constant stretches, trends with shared peaks, shifts,
    outliers that trigger moving-range screening, rebased segments, short baselines, targets) and compute the expected
    limits and flags with straight per-point loops written from /work/shared/REFERENCE.md ("Performance: signal vs
    noise"). This file shares no code with src/whatworks/performance/spc.py (no numpy, no imports from whatworks).
Regenerate
    /work/venv/bin/python tests/golden/make_spc_golden.py      (writes tests/golden/spc_golden.json)
Seed
    20261127 (Python's random.Random); output is deterministic.
Versions
    Python standard library only (random, json, math).
Conventions taken from REFERENCE.md / NHSRplotthedots 0.2, stated here so a reader can check them:
    * per segment (rebase period): centre = mean of the baseline points (the first `baseline` points, or all);
      mR_i = |x_i - x_(i-1)| between consecutive baseline points; mR-bar = mean mR; moving ranges >= 3.267 * mR-bar are
      dropped and mR-bar recomputed once (if every mR is 0, mR-bar = 0); limits = centre -/+ 2.66 mR-bar;
      2-sigma lines = centre -/+ 2 * (2.66 / 3) * mR-bar.
    * outside = strictly beyond a limit; close = not outside and strictly beyond a 2-sigma line.
    * every rule looks only inside one segment.
    * trend: 7 points each strictly higher (lower) than the one before, all 7 flagged; a trend point's direction is
      the direction of the trend run that continues to its right, else the one it ends.
    * two-in-three: 3 consecutive points all strictly on one side of the mean with >= 2 close -> the close ones.
    * shift: 7 consecutive points strictly on one side of the mean.
    * direction of a special point = trend direction if flagged by trend and not outside, else side of the mean.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261127
N_CASES = 1200
OUT = Path(__file__).with_name("spc_golden.json")


# ----------------------------------------------------------------------------------------------- reference rules
def reference_case(values, seg_starts, baseline, improvement, target):
    n = len(values)
    # segment boundaries as [start, end) pairs
    starts = sorted(set([0] + list(seg_starts)))
    bounds = [(s, starts[k + 1] if k + 1 < len(starts) else n) for k, s in enumerate(starts)]
    mean = [0.0] * n
    lpl = [0.0] * n
    upl = [0.0] * n
    lo2 = [0.0] * n
    hi2 = [0.0] * n
    seg_info = []
    for (a, b) in bounds:
        base = values[a:b] if baseline is None else values[a:min(b, a + baseline)]
        centre = sum(base) / len(base)
        mrs = [abs(base[i] - base[i - 1]) for i in range(1, len(base))]
        amr = sum(mrs) / len(mrs)
        kept = [m for m in mrs if m < 3.267 * amr]
        amr = sum(kept) / len(kept) if kept else 0.0
        for i in range(a, b):
            mean[i] = centre
            lpl[i] = centre - 2.66 * amr
            upl[i] = centre + 2.66 * amr
            lo2[i] = centre - 2 * (2.66 / 3) * amr
            hi2[i] = centre + 2 * (2.66 / 3) * amr
        seg_info.append({"start": a, "mean": centre, "amr": amr, "n_baseline": len(base)})

    outside = [values[i] > upl[i] or values[i] < lpl[i] for i in range(n)]
    close = [(not outside[i]) and (values[i] > hi2[i] or values[i] < lo2[i]) for i in range(n)]
    side = [1 if values[i] > mean[i] else (-1 if values[i] < mean[i] else 0) for i in range(n)]

    trend = [False] * n
    right_dir = [0] * n
    left_dir = [0] * n
    shift = [False] * n
    two3 = [False] * n
    for (a, b) in bounds:
        for w in range(a, b - 6):
            window = values[w:w + 7]
            up = all(window[j + 1] > window[j] for j in range(6))
            down = all(window[j + 1] < window[j] for j in range(6))
            if up or down:
                d = 1 if up else -1
                for j in range(w, w + 7):
                    trend[j] = True
                for j in range(w, w + 6):
                    right_dir[j] = d
                for j in range(w + 1, w + 7):
                    left_dir[j] = d
            s = side[w:w + 7]
            if s[0] != 0 and all(v == s[0] for v in s):
                for j in range(w, w + 7):
                    shift[j] = True
        for w in range(a, b - 2):
            s = side[w:w + 3]
            if s[0] != 0 and s[0] == s[1] == s[2] and sum(close[w:w + 3]) >= 2:
                for j in range(w, w + 3):
                    if close[j]:
                        two3[j] = True

    point_type = []
    direction = []
    for i in range(n):
        special = outside[i] or trend[i] or two3[i] or shift[i]
        if not special:
            point_type.append("common_cause")
            direction.append(0)
            continue
        if trend[i] and not outside[i]:
            d = right_dir[i] if right_dir[i] != 0 else left_dir[i]
        else:
            d = side[i]
        direction.append(d)
        if improvement == "neutral":
            point_type.append("special_cause_neutral")
        elif (d == 1) == (improvement == "increase"):
            point_type.append("special_cause_improvement")
        else:
            point_type.append("special_cause_concern")

    last = n - 1
    variation = point_type[last]
    if variation == "special_cause_neutral":
        variation = "special_cause_neutral_high" if direction[last] == 1 else "special_cause_neutral_low"
    assurance = None
    if target is not None and improvement != "neutral":
        if target > upl[last]:
            assurance = "consistent_fail" if improvement == "increase" else "consistent_pass"
        elif target < lpl[last]:
            assurance = "consistent_pass" if improvement == "increase" else "consistent_fail"
        else:
            assurance = "inconsistent"
    return {
        "segments": seg_info,
        "outside_limits": outside, "close_to_limits": close, "trend": trend, "two_in_three": two3, "shift": shift,
        "point_type": point_type, "direction": direction, "variation": variation, "assurance": assurance,
    }


# ----------------------------------------------------------------------------------------------- generated series
def poisson(rng, lam):
    # Knuth's method: fine for the small means used here
    import math
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return k
        k += 1


def make_series(rng, case_id):
    kind = case_id % 10
    n = rng.randint(8, 48)
    if kind == 0:      # small counts: many ties and points on the mean
        v = [float(poisson(rng, rng.choice([1.5, 3, 5]))) for _ in range(n)]
    elif kind == 1:    # stable counts with an injected step
        lam = rng.choice([10, 20, 40])
        k = rng.randint(3, n - 2)
        step = rng.choice([-0.5, 0.5, 1.0]) * lam ** 0.5 * 2
        v = [float(poisson(rng, lam) + (round(step) if i >= k else 0)) for i in range(n)]
    elif kind == 2:    # trends, with peaks shared by an up-run and a down-run
        v, x = [], rng.randint(10, 30)
        d = rng.choice([1, -1])
        for i in range(n):
            v.append(float(x))
            if rng.random() < 0.12:
                d = -d
            x += d * rng.randint(0, 3)
    elif kind == 3:    # dyadic values (quarters): exact sums, frequent ties
        v = [rng.randint(0, 40) / 4 for _ in range(n)]
    elif kind == 4:    # outliers that trigger moving-range screening
        v = [float(rng.randint(20, 26)) for _ in range(n)]
        for _ in range(rng.randint(1, 3)):
            v[rng.randrange(n)] += rng.choice([-1, 1]) * rng.randint(10, 40)
    elif kind == 5:    # long same-side stretches: shifts
        base = rng.randint(10, 20)
        v = [float(base + rng.choice([-2, -1, 0, 1, 2]) + (3 if (i // rng.randint(5, 9)) % 2 else 0)) for i in range(n)]
    elif kind == 6:    # constant stretches and fully constant series
        c = float(rng.randint(0, 9))
        v = [c] * n
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                v[rng.randrange(n)] = c + rng.choice([-2.0, -1.0, 1.0, 2.0])
    elif kind == 7:    # values near the 2-sigma lines: two-in-three
        v = [float(rng.choice([10, 10, 11, 9, 10, 13, 14, 7, 6])) for _ in range(n)]
    elif kind == 8:    # continuous values rounded to 2 d.p.
        v = [round(rng.gauss(100, 8), 2) for _ in range(n)]
    else:              # mixture of everything, incl. negative values
        v = [float(rng.randint(-5, 5)) for _ in range(n)]
    # force the mean of the whole series to be an integer in about half the integer cases, so points sit on it
    if kind in (0, 1, 5, 7, 9) and rng.random() < 0.5:
        r = sum(v) % n
        v[rng.randrange(n)] -= r
    return v


def make_cases():
    rng = random.Random(SEED)
    cases = []
    for cid in range(N_CASES):
        values = make_series(rng, cid)
        n = len(values)
        baseline = rng.choice([None, None, None, 5, 6, 12])
        # rebase: 0, 1 or 2 change points, each segment keeping >= 2 baseline points
        seg_starts = []
        n_rebase = rng.choice([0, 0, 1, 1, 2])
        for _ in range(n_rebase):
            cand = rng.randint(2, n - 2)
            pts = sorted(set([0] + seg_starts + [cand]))
            ends = pts[1:] + [n]
            if all(e - s >= 2 for s, e in zip(pts, ends)):
                seg_starts = [p for p in pts if p != 0]
        improvement = rng.choice(["increase", "decrease", "neutral"])
        target = None
        if improvement != "neutral" and rng.random() < 0.6:
            m = sum(values) / n
            target = round(m + rng.choice([-1, 1]) * rng.random() * (max(values) - min(values) + 1), 1)
        exp = reference_case(values, seg_starts, baseline, improvement, target)
        cases.append({"id": cid, "values": values, "rebase_positions": seg_starts, "baseline": baseline,
                      "improvement": improvement, "target": target, "expected": exp})
    return cases


def main():
    cases = make_cases()
    bits = lambda xs: "".join("1" if x else "0" for x in xs)  # noqa: E731
    code = {"common_cause": "c", "special_cause_improvement": "i", "special_cause_concern": "x",
            "special_cause_neutral": "n"}
    out = []
    for c in cases:
        e = c["expected"]
        out.append({**{k: c[k] for k in ("id", "values", "rebase_positions", "baseline", "improvement", "target")},
                    "segments": e["segments"],
                    "outside_limits": bits(e["outside_limits"]), "close_to_limits": bits(e["close_to_limits"]),
                    "trend": bits(e["trend"]), "two_in_three": bits(e["two_in_three"]), "shift": bits(e["shift"]),
                    "point_type": "".join(code[t] for t in e["point_type"]),
                    "direction": "".join({1: "+", -1: "-", 0: "."}[d] for d in e["direction"]),
                    "variation": e["variation"], "assurance": e["assurance"]})
    doc = {"purpose": "XmR golden cases for whatworks.performance.spc (see make_spc_golden.py header)",
           "seed": SEED, "generator": "tests/golden/make_spc_golden.py",
           "codes": {"point_type": code, "direction": {"+": "higher", "-": "lower", ".": "none"}},
           "cases": out}
    OUT.write_text(json.dumps(doc, separators=(",", ":")))
    n_pts = sum(len(c["values"]) for c in out)
    stats = {k: sum(c[k].count("1") for c in out) for k in ("outside_limits", "trend", "two_in_three", "shift")}
    print(f"wrote {OUT} with {len(out)} cases, {n_pts} points; flags: {stats}")


if __name__ == "__main__":
    main()
