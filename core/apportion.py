"""Whole numbers in proportion: split a total into integer parts that follow given weights."""

from __future__ import annotations

import numpy as np


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (Hamilton's method).

    Each entry gets floor(total · w / sum(w)); the units left over go to the largest fractional parts (ties: the lower
    index first). Entries never exceed ceil of their exact share, so they never exceed w when total ≤ sum(w).
    """
    weights = np.asarray(weights, dtype=np.float64)
    out = np.zeros(len(weights), dtype=np.int64)
    wsum = weights.sum()
    if total <= 0 or wsum <= 0:
        return out
    exact = weights * (total / wsum)
    out = np.floor(exact + 1e-9).astype(np.int64)  # 1e-9: 0.3 * 10 is 2.9999999999999996 in floating point
    missing = total - int(out.sum())
    if missing > 0:
        frac = exact - out
        frac[weights <= 0] = -1.0
        out[np.lexsort((np.arange(len(weights)), -frac))[:missing]] += 1
    return out
