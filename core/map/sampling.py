"""Drawing a sample of the map's points: at most a budget of them, stratified by cluster so small clusters show.

Pure: numpy arrays in, sorted indices out, deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

from core.apportion import largest_remainder


def stratified_sample(
    keys: np.ndarray, max_points: int, seed: int = 0, *, per_stratum: int | None = None
) -> np.ndarray:
    """At most ``max_points`` indices of ``keys``, stratified so that small strata (clusters) still show.

    With everything fitting (n ≤ max_points) every index is returned. Otherwise half of the budget is spread evenly:
    each stratum first gets min(its size, max_points // (2 · number of strata)) points, so a 50-sample cluster is
    fully visible beside a 200k one. The rest of the budget goes to the strata's remaining points in proportion to
    their remaining sizes (largest-remainder rounding), so big clusters still look big. Within a stratum the points
    are a seeded random choice. The page should say "showing X of N points; small clusters are over-represented".

    Args:
        keys: (n,) stratum of each point, usually cluster ids (any sortable dtype).
        max_points: the budget. Ignored when ``per_stratum`` is given.
        seed: the random choice within strata.
        per_stratum: instead of a total budget, take at most this many points from every stratum.

    Returns:
        Sorted int64 indices into ``keys``.
    """
    keys = np.asarray(keys)
    n = len(keys)
    _, inverse, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    if per_stratum is not None:
        take = np.minimum(sizes, max(int(per_stratum), 0))
    elif n <= max_points:
        return np.arange(n, dtype=np.int64)
    else:
        take = _stratified_allocation(sizes, max(int(max_points), 0))
    rng = np.random.default_rng(seed)
    # Sort by (stratum, random key): each stratum's first take[s] points in this order are a uniform random choice.
    # One float key, stratum + a number in [0, 1), gives lexsort((random, stratum))'s order (but for float64
    # rounding of near-equal keys, which changes nothing random) and sorts 2-3x faster at 1M points.
    order = np.argsort(inverse + rng.random(n), kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    strata = inverse[order]
    rank = np.arange(n) - starts[strata]
    return np.sort(order[rank < take[strata]]).astype(np.int64)


def _stratified_allocation(sizes: np.ndarray, budget: int) -> np.ndarray:
    """Points per stratum: an even floor of half the budget, the rest proportional to what is left (sum == budget)."""
    floor = budget // (2 * len(sizes))
    base = np.minimum(sizes, floor)
    left = sizes - base
    extra = largest_remainder(left.astype(np.float64), budget - int(base.sum()))
    return base + extra
