"""Geography of the synthetic force: boroughs -> wards -> small areas (LSOA-like) -> street segments.

Layout. Areas are rectangles on British National Grid (EPSG:27700) metres, centred on easting 430000,
northing 430000 (inland West Yorkshire), so every coordinate passes the readers' Great Britain checks.
Boroughs are ``BOROUGH_SIZE_M`` squares laid out in a near-square grid; each borough is split into a grid
of wards and each ward into a grid of small areas. Street segments are short straight lines inside each
small area; each has one police.uk-style anonymous map point at its midpoint ("On or near <street>").

Codes (visibly synthetic, ONS-shaped: a letter, two digits, then ``9`` and a five-digit serial — real ONS
codes never reach the ``…9xxxxx`` block for these prefixes):

* small areas (LSOA-like) ``S019nnnnn``, named ``<Borough> 001A`` like real LSOA names;
* wards ``S059nnnnn``; boroughs ``S099nnnnn``; postcodes ``QX<d> <s><LL>`` (the ``QX`` area does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from whatworks.synth import _constants as C
from whatworks.synth._util import rng_for

CENTRE_BNG = (430_000.0, 430_000.0)
BOROUGH_SIZE_M = 5_000.0
LSOA_CODE_PREFIX, WARD_CODE_PREFIX, BOROUGH_CODE_PREFIX = "S019", "S059", "S099"
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in real postcode units
# Urbanity u = exp(-distance to centre / URBAN_SCALE_M) drives population, segment count, deprivation, minority share.
URBAN_SCALE_M = 9_000.0


def _grid(n: int) -> tuple[int, int]:
    cols = int(np.ceil(np.sqrt(n)))
    return cols, int(np.ceil(n / cols))


@dataclass(frozen=True)
class Geography:
    """Areas (all levels) and street segments, plus the arrays the generators need."""

    areas: pd.DataFrame      # code, name, level, parent_code, population, deprivation, density, urbanity, x_min..y_max
    segments: pd.DataFrame   # segment_id, lsoa_code, ward_code, borough_code, street, x, y, x0, y0, x1, y1, length_m, commercial, postcode
    lsoa_index: np.ndarray   # per segment: row of its LSOA in `lsoas`
    lsoas: pd.DataFrame      # the lsoa rows of `areas`, index 0..n-1 (with borough_index, ward_index)
    group_shares: np.ndarray  # (n_lsoa, 4) resident shares White/Black/Asian/Other
    bbox: tuple[float, float, float, float]
    truth: dict


def build_geography(seed: int, *, boroughs: int, wards_per_borough: int, lsoas_per_ward: int,
                    segments_per_lsoa: float) -> Geography:
    """Lay out the force's areas and street segments (see module docstring)."""
    rng = rng_for(seed, "geography")
    bc, br = _grid(boroughs)
    wc, wr = _grid(wards_per_borough)
    lc, lr = _grid(lsoas_per_ward)
    x_origin = CENTRE_BNG[0] - bc * BOROUGH_SIZE_M / 2
    y_origin = CENTRE_BNG[1] - br * BOROUGH_SIZE_M / 2
    ward_w, ward_h = BOROUGH_SIZE_M / wc, BOROUGH_SIZE_M / wr
    ls_w, ls_h = ward_w / lc, ward_h / lr

    # every small area: borough b, ward w (within borough), lsoa l (within ward)
    b = np.repeat(np.arange(boroughs), wards_per_borough * lsoas_per_ward)
    w = np.tile(np.repeat(np.arange(wards_per_borough), lsoas_per_ward), boroughs)
    l_ = np.tile(np.arange(lsoas_per_ward), boroughs * wards_per_borough)
    x_min = x_origin + (b % bc) * BOROUGH_SIZE_M + (w % wc) * ward_w + (l_ % lc) * ls_w
    y_min = y_origin + (b // bc) * BOROUGH_SIZE_M + (w // wc) * ward_h + (l_ // lc) * ls_h
    n_lsoa = b.size
    cx, cy = x_min + ls_w / 2, y_min + ls_h / 2
    dist = np.hypot(cx - CENTRE_BNG[0], cy - CENTRE_BNG[1])
    urbanity = np.clip(np.exp(-dist / URBAN_SCALE_M) + rng.normal(0, 0.05, n_lsoa), 0.02, 1.0)

    population = np.round(700 + 2300 * urbanity + rng.normal(0, 150, n_lsoa)).clip(400, None).astype(np.int64)
    area_km2 = ls_w * ls_h / 1e6
    borough_eff = rng.normal(0, 6, boroughs)
    ward_eff = rng.normal(0, 5, boroughs * wards_per_borough)
    deprivation = np.clip(8 + 40 * urbanity + borough_eff[b] + ward_eff[b * wards_per_borough + w]
                          + rng.normal(0, 6, n_lsoa), 1, 85).round(1)
    dep_rel = deprivation / 85
    black = np.clip(0.02 + 0.30 * urbanity * dep_rel + rng.normal(0, 0.02, n_lsoa), 0.005, 0.5)
    asian = np.clip(0.03 + 0.25 * urbanity * (0.5 + dep_rel) / 1.5 + rng.normal(0, 0.03, n_lsoa), 0.005, 0.5)
    other = np.clip(0.03 + 0.05 * urbanity + rng.normal(0, 0.01, n_lsoa), 0.005, 0.2)
    white = 1 - black - asian - other
    group_shares = np.column_stack([white, black, asian, other])

    names = [C.BOROUGH_NAMES[i % len(C.BOROUGH_NAMES)] + ("" if i < len(C.BOROUGH_NAMES) else f" {i // len(C.BOROUGH_NAMES) + 1}")
             for i in range(boroughs)]
    borough_codes = [f"{BOROUGH_CODE_PREFIX}{i + 1:05d}" for i in range(boroughs)]
    ward_codes = [f"{WARD_CODE_PREFIX}{i + 1:05d}" for i in range(boroughs * wards_per_borough)]
    lsoa_codes = np.array([f"{LSOA_CODE_PREFIX}{i + 1:05d}" for i in range(n_lsoa)])
    # LSOA names like the real ones: "<district> <3-digit MSOA-like number><letter>" (ward = MSOA here).
    lsoa_names = [f"{names[bi]} {wi + 1:03d}{chr(65 + li % 26)}" for bi, wi, li in zip(b, w, l_)]
    ward_index = b * wards_per_borough + w

    lsoas = pd.DataFrame({
        "code": lsoa_codes, "name": lsoa_names, "level": "lsoa",
        "parent_code": np.array(ward_codes)[ward_index], "population": population,
        "deprivation": deprivation, "density": np.round(population / area_km2, 1), "urbanity": urbanity.round(3),
        "share_white": white.round(4), "share_black": black.round(4), "share_asian": asian.round(4),
        "share_other": other.round(4),
        "x_min": x_min, "y_min": y_min, "x_max": x_min + ls_w, "y_max": y_min + ls_h,
        "borough_index": b, "ward_index": ward_index,
    })
    wards = lsoas.groupby("ward_index", sort=True).agg(
        population=("population", "sum"), deprivation=("deprivation", "mean"), x_min=("x_min", "min"),
        y_min=("y_min", "min"), x_max=("x_max", "max"), y_max=("y_max", "max"), borough_index=("borough_index", "first"),
        urbanity=("urbanity", "mean")).reset_index()
    wards["code"] = np.array(ward_codes)[wards["ward_index"]]
    wards["name"] = [f"{names[bi]} Ward {wi % wards_per_borough + 1}" for bi, wi in zip(wards["borough_index"], wards["ward_index"])]
    wards["level"] = "ward"
    wards["parent_code"] = np.array(borough_codes)[wards["borough_index"]]
    wards["density"] = (wards["population"] / (ward_w * ward_h / 1e6)).round(1)
    bor = lsoas.groupby("borough_index", sort=True).agg(
        population=("population", "sum"), deprivation=("deprivation", "mean"), x_min=("x_min", "min"),
        y_min=("y_min", "min"), x_max=("x_max", "max"), y_max=("y_max", "max"), urbanity=("urbanity", "mean")).reset_index()
    bor["code"] = np.array(borough_codes)[bor["borough_index"]]
    bor["name"] = [names[i] for i in bor["borough_index"]]
    bor["level"] = "borough"
    bor["parent_code"] = C.FORCE_SLUG
    bor["density"] = (bor["population"] / (BOROUGH_SIZE_M ** 2 / 1e6)).round(1)
    for frame in (wards, bor):
        frame["deprivation"] = frame["deprivation"].round(1)
        frame["urbanity"] = frame["urbanity"].round(3)
    cols = ["code", "name", "level", "parent_code", "population", "deprivation", "density", "urbanity",
            "x_min", "y_min", "x_max", "y_max"]
    share_cols = ["share_white", "share_black", "share_asian", "share_other"]
    areas = pd.concat([bor[cols], wards[cols], lsoas[cols + share_cols]], ignore_index=True)

    # --- street segments -------------------------------------------------------------------------------------
    n_seg_l = np.maximum(8, np.round(segments_per_lsoa * (0.4 + 1.2 * urbanity) / 0.9)).astype(np.int64)
    lsoa_of = np.repeat(np.arange(n_lsoa), n_seg_l)
    n_seg = lsoa_of.size
    horizontal = rng.random(n_seg) < 0.5
    length = rng.uniform(60, 160, n_seg)
    margin = 10.0
    half = length / 2
    lo_x = x_min[lsoa_of] + margin + np.where(horizontal, half, 0)
    hi_x = x_min[lsoa_of] + ls_w - margin - np.where(horizontal, half, 0)
    lo_y = y_min[lsoa_of] + margin + np.where(horizontal, 0, half)
    hi_y = y_min[lsoa_of] + ls_h - margin - np.where(horizontal, 0, half)
    mx = np.round(lo_x + rng.random(n_seg) * np.maximum(hi_x - lo_x, 0), 1)
    my = np.round(lo_y + rng.random(n_seg) * np.maximum(hi_y - lo_y, 0), 1)
    x0 = np.where(horizontal, mx - half, mx).round(1)
    x1 = np.where(horizontal, mx + half, mx).round(1)
    y0 = np.where(horizontal, my, my - half).round(1)
    y1 = np.where(horizontal, my, my + half).round(1)

    # Street names: within each small area, segments sorted along their orientation share a name in runs of ~5.
    order = np.lexsort((np.where(horizontal, mx, my), np.round(np.where(horizontal, my, mx) / 120), horizontal, lsoa_of))
    rank_in_lsoa = np.empty(n_seg, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(n_seg_l)[:-1]])
    rank_in_lsoa[order] = np.arange(n_seg) - starts[lsoa_of[order]]
    street_local = rank_in_lsoa // 5
    n_words, n_kinds = len(C.STREET_WORDS), len(C.STREET_KINDS)
    street_word = rng.integers(0, n_words, size=(n_lsoa, 64))
    street_kind = rng.integers(0, n_kinds, size=(n_lsoa, 64))
    sl = np.minimum(street_local, 63)
    words = np.array(C.STREET_WORDS)[street_word[lsoa_of, sl]]
    kinds = np.array(C.STREET_KINDS)[street_kind[lsoa_of, sl]]
    street = np.char.add(np.char.add(words, " "), kinds)

    # Commercial segments (shops, bars): more likely in urban areas; they draw shoplifting and night-time crime.
    commercial = rng.random(n_seg) < (0.03 + 0.15 * urbanity[lsoa_of] ** 2)

    # Postcodes: one per segment, "QX<district> <sector><unit>", districts 1+3*borough .. (3 per borough).
    bidx = b[lsoa_of]
    k = np.arange(n_seg) - np.searchsorted(bidx, bidx)  # rank of the segment within its borough
    q = k // 400
    district = 1 + bidx * 3 + np.minimum(q // 10, 2)
    sector = q % 10
    letters = np.array(list(POSTCODE_LETTERS))
    unit = np.char.add(letters[(k % 400) // 20], letters[k % 20])
    postcode = np.char.add(np.char.add(np.char.add("QX", district.astype(str)), " "),
                           np.char.add(sector.astype(str), unit))

    segments = pd.DataFrame({
        "segment_id": np.arange(n_seg, dtype=np.int64),
        "lsoa_code": lsoa_codes[lsoa_of],
        "ward_code": np.array(ward_codes)[ward_index[lsoa_of]],
        "borough_code": np.array(borough_codes)[b[lsoa_of]],
        "street": street, "x": mx, "y": my, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
        "length_m": np.round(length, 1), "commercial": commercial, "postcode": postcode,
    })
    bbox = (float(x_origin), float(y_origin), float(x_origin + bc * BOROUGH_SIZE_M), float(y_origin + br * BOROUGH_SIZE_M))
    truth = {
        "crs": "EPSG:27700 (British National Grid); lon/lat derived with pyproj to EPSG:4326",
        "bbox_bng": list(bbox),
        "boroughs": boroughs, "wards": boroughs * wards_per_borough, "lsoas": n_lsoa, "segments": int(n_seg),
        "population": int(population.sum()),
        "code_scheme": {"lsoa": "S019nnnnn", "ward": "S059nnnnn", "borough": "S099nnnnn",
                        "postcode": "QX<district> <sector><two letters>; one per street segment",
                        "note": "ONS-shaped but visibly synthetic: the 9xxxxx block and the QX postcode area are not real"},
        "urbanity": f"exp(-distance to ({CENTRE_BNG[0]:.0f}, {CENTRE_BNG[1]:.0f}) / {URBAN_SCALE_M:.0f} m) + N(0, 0.05)",
        "population_model": "700 + 2300*urbanity + N(0,150), at least 400",
        "deprivation_model": "8 + 40*urbanity + borough N(0,6) + ward N(0,5) + N(0,6), clipped to [1, 85] (IMD-score-like; higher = more deprived)",
        "segments_per_lsoa": f"max(8, round({segments_per_lsoa} * (0.4 + 1.2*urbanity) / 0.9))",
    }
    return Geography(areas=areas, segments=segments, lsoa_index=lsoa_of, lsoas=lsoas, group_shares=group_shares,
                     bbox=bbox, truth=truth)
