"""Small vectorised helpers shared by the synthetic-force generators (random streams, ids, weighted draws)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# One independent random stream per component (and per month), all derived from the user's seed, so that a
# component's draws do not depend on how many draws another component made (same seed -> same outputs).
STREAMS = {"geography": 1, "people": 2, "crimes": 3, "stops": 4, "survey": 5, "workforce": 6, "interventions": 7,
           "errors": 8, "outcomes": 9, "offenders": 10}

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def rng_for(seed: int, component: str, *sub: int) -> np.random.Generator:
    """The random generator of ``component`` (and sub-stream ``sub``, e.g. a month) for ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAMS[component], *sub)))


def arrow_strings(values: np.ndarray) -> pd.Series:
    """A numpy fixed-width bytes array (dtype 'S') as a pandas Arrow-backed string Series (no Python objects)."""
    arr = pa.array(values, type=pa.binary()).cast(pa.string())
    return pd.Series(arr, dtype=pd.ArrowDtype(pa.string()))


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` followed by ``numbers`` zero-padded to ``width`` digits, as a numpy 'S' array (vectorised)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    p = prefix.encode("ascii")
    out = np.empty((numbers.size, len(p) + width), dtype=np.uint8)
    out[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    n = numbers.copy()
    for k in range(width - 1, -1, -1):
        out[:, len(p) + k] = 48 + (n % 10)
        n //= 10
    return out.view(f"S{len(p) + width}").ravel()


def hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random 64-character lower-case hex strings (police.uk Crime ID shape) as a numpy 'S64' array."""
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    out = np.empty((n, 64), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out.view("S64").ravel()


def draw_weighted(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probability proportional to the weights whose cumulative sum is ``cdf``."""
    u = rng.random(n) * cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)


class BlockSampler:
    """Draw members of a block (e.g. residents of one street segment) with probability proportional to a weight.

    ``keys[i]`` is the block of member ``i``; ``draw(block_ids)`` returns one member per requested block.
    Members are sorted by block once and a single cumulative sum serves every block, so a draw is one
    ``searchsorted`` whatever the number of blocks. Blocks with no member (or zero weight) return -1.
    """

    def __init__(self, keys: np.ndarray, weights: np.ndarray, n_blocks: int):
        order = np.argsort(keys, kind="stable")
        self.members = order
        w = np.asarray(weights, dtype=float)[order]
        self.cdf = np.concatenate([[0.0], np.cumsum(w)])
        counts = np.bincount(keys, minlength=n_blocks)
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.stop = self.start + counts

    def draw(self, rng: np.random.Generator, blocks: np.ndarray) -> np.ndarray:
        blocks = np.asarray(blocks, dtype=np.int64)
        lo = self.cdf[self.start[blocks]]
        hi = self.cdf[self.stop[blocks]]
        u = lo + rng.random(blocks.size) * (hi - lo)
        pos = np.searchsorted(self.cdf, u, side="right") - 1
        pos = np.clip(pos, self.start[blocks], np.maximum(self.stop[blocks] - 1, self.start[blocks]))
        out = self.members[np.minimum(pos, self.members.size - 1)]
        return np.where(hi > lo, out, -1)


def month_starts(start: str, months: int) -> pd.DatetimeIndex:
    """First instant of each month from ``start`` ('YYYY-MM')."""
    return pd.date_range(pd.Timestamp(start + "-01"), periods=months + 1, freq="MS")
