"""The demo's performance-pack step: load the synthetic force's areas, then build the pack into the demo folder."""

from __future__ import annotations

import pandas as pd

# The synthetic force's area covariates that describe residents (its bounding-box columns are geometry, not covariates).
SYNTH_COVARIATES = ("deprivation", "density", "urbanity", "share_white", "share_black", "share_asian", "share_other")
PACK_NAME = "pack.html"


def build_pack(ctx) -> None:
    """Demo step: areas → store (through :meth:`Store.ingest_areas`), then :func:`whatworks.report.pack`."""
    from whatworks.report import pack
    from whatworks.synth import _constants as C

    areas = ctx.force.tables["areas"]
    # the synthetic lookup names its boroughs' parent (the force) without a row for it: add that row, as a
    # force's own lookup would have it, so every borough has a known parent
    force_row = pd.DataFrame([{"code": C.FORCE_SLUG, "name": C.FORCE_NAME, "level": "force"}])
    cols = ["code", "name", "level", "parent_code", "population", *[c for c in SYNTH_COVARIATES if c in areas]]
    ctx.reports["areas"] = ctx.store.ingest_areas(pd.concat([force_row, areas[cols]], ignore_index=True),
                                                  name="synthetic force areas", covariates=[c for c in SYNTH_COVARIATES
                                                                                            if c in areas])
    out = ctx.out_dir / PACK_NAME
    ctx.reports["pack"] = pack(ctx.store, out=out, quiet=True)
    ctx.outputs.append(("performance pack (open in a browser; prints to A4)", out))
    ctx.console.print(f"Performance pack: {out}")
