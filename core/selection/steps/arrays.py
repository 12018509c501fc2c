"""Per-sample arrays and positions as every selection step reads them: the conversions and checks they share.

Steps take numpy arrays (or lists) indexed by *position* (0..n-1) and return positions or boolean masks; these turn
what a caller passes into the arrays the steps compute on, and order positions the way every step breaks ties (by
the lower position).
"""

from __future__ import annotations

import numpy as np


def as_floats(values) -> np.ndarray:
    """``values`` as a float64 array; None becomes NaN."""
    return np.asarray(values, dtype=np.float64)


def as_rows(emb) -> np.ndarray:
    """``emb`` as a C-contiguous float32 (n, d) array (no copy when it already is one)."""
    x = np.ascontiguousarray(emb, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, d) embedding array, got shape {x.shape}")
    return x


def unique_positions(idx, n: int) -> np.ndarray:
    """Unique sorted int64 positions, checked to lie in [0, n)."""
    p = np.unique(np.asarray([] if idx is None else idx, dtype=np.int64))
    if len(p) and (p[0] < 0 or p[-1] >= n):
        raise ValueError(f"positions must lie in [0, {n}), got {p[0]}..{p[-1]}")
    return p


def order_desc(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` sorted by ``values[idx]`` descending, ties by position ascending."""
    return idx[np.lexsort((idx, -values[idx]))]
