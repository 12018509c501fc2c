"""Coverage and diversity: steps that pick samples by where their embeddings lie.

k_center_greedy (MoDS: coverage of the embedding space), facility_location (Superfiltering-D: representativeness)
and deita_filter (DEITA: by score, skipping samples too close to a kept one); covering_radius and
facility_location_value measure a pick.

``emb`` is an (n, d) float32 array whose rows are L2-normalized sentence embeddings, so a dot product is a cosine
similarity (other dtypes are converted).
"""

from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

from core.selection.steps.arrays import as_floats, as_rows, order_desc, unique_positions

_HOT = 1024  # rows kept up to date at every k-center pick (their vectors, 1.5-3 MB, stay in cache)
_CENTRE_CHUNK = 1024  # centres per GEMM when rows catch up (bounds the similarity buffer)
_ROW_BLOCK = 8192  # rows per block when a full pass over the data is made in pieces


class KCenter(NamedTuple):
    """Result of ``k_center_greedy``: ``indices`` in pick order and the covering ``radius``."""

    indices: np.ndarray
    radius: float


def _catch_up(x: np.ndarray, rows: np.ndarray, seen: np.ndarray, centres: np.ndarray, bound: np.ndarray) -> None:
    """Lower ``bound[rows]`` to each row's cosine distance to the nearest of ``centres``, in place.

    Row r has already been compared with ``centres[:seen[r]]``; only the rest is computed, in GEMMs of up to
    ``_CENTRE_CHUNK`` centres and ``_ROW_BLOCK`` rows. Afterwards ``seen[rows] == len(centres)``.
    """
    if len(rows) == 0:
        return
    s = seen[rows]
    vals = bound[rows]
    for c0 in range(int(s.min()), len(centres), _CENTRE_CHUNK):
        c = centres[c0 : c0 + _CENTRE_CHUNK]
        todo = np.flatnonzero(s < c0 + len(c))  # rows that have not seen this chunk yet
        for lo in range(0, len(todo), _ROW_BLOCK):
            part = todo[lo : lo + _ROW_BLOCK]
            vals[part] = np.minimum(vals[part], 1.0 - (x[rows[part]] @ c.T).max(axis=1))
    bound[rows] = vals
    seen[rows] = len(centres)


def _lower(xr: np.ndarray, centres: np.ndarray, vals: np.ndarray) -> None:
    """``vals = min(vals, 1 - max cos(row, centre))`` in place, for the rows ``xr`` (in row blocks)."""
    for lo in range(0, len(xr), _ROW_BLOCK):
        for c0 in range(0, len(centres), _CENTRE_CHUNK):
            sims = xr[lo : lo + _ROW_BLOCK] @ centres[c0 : c0 + _CENTRE_CHUNK].T
            np.minimum(vals[lo : lo + _ROW_BLOCK], 1.0 - sims.max(axis=1), out=vals[lo : lo + _ROW_BLOCK])


def k_center_greedy(emb, budget: int, seed: int = 0, *, already=None, hot: int = _HOT) -> KCenter:
    """MoDS coverage: greedy k-center (Gonzalez), each pick the sample farthest from every centre chosen so far.

    Distance is cosine distance, 1 - cos. On unit vectors it is half the squared euclidean distance, so the picks are
    the euclidean greedy's, and its guarantee holds: the euclidean covering radius is at most twice the optimum.

    Exact, but lazy. Each sample keeps an upper bound of its distance to the nearest centre (distances only shrink
    as centres are added). Only a "hot" set, the ``hot`` to ``2 * hot`` rows with the largest bounds, is updated at
    every pick; every other row's bound is below ``level``. When the farthest hot row is at least ``level`` away,
    it is the farthest of all and is picked; otherwise the next rows by bound join the hot set, catching up with
    every centre they missed in one matrix product. Most rows sit far below the covering radius and never catch up
    again. The plain loop, one matrix-vector product over all rows per pick, is memory-bound: 16 ms per pick for
    100k x 384 here, 80 s for 5k picks.

    Args:
        emb: (n, d) float32 unit rows.
        budget: new centres to pick (capped at the samples not already chosen).
        seed: picks the first centre, ``np.random.default_rng(seed).integers(n)``, when ``already`` is empty.
        already: positions chosen before (they count as centres and are never picked again).
        hot: rows kept up to date at each pick (a speed knob; the picks do not depend on it).

    Returns:
        ``KCenter(indices, radius)``: the new picks in order (ties to the lower position), and the covering radius
        afterwards, the largest cosine distance from any sample to its nearest centre (smaller = better covered;
        inf when there are no centres, 0.0 when there are no samples).
    """
    x = as_rows(emb)
    n, d = x.shape
    chosen = unique_positions(already, n)
    budget = max(0, min(int(budget), n - len(chosen)))
    centres = np.empty((len(chosen) + budget, d), dtype=np.float32)
    centres[: len(chosen)] = x[chosen]
    k = len(chosen)
    bound = np.full(n, np.inf, dtype=np.float32)  # -inf marks centres, so they are never the farthest
    bound[chosen] = -np.inf
    seen = np.zeros(n, dtype=np.int64)  # centres each row outside the hot set has been compared with
    picks: list[int] = []
    if k == 0 and budget > 0:
        first = int(np.random.default_rng(seed).integers(n))
        bound[first], centres[0], k = -np.inf, x[first], 1
        picks.append(first)
    # The hot set: sorted positions (so argmax breaks ties to the lower position), their rows, and the number of
    # centres they have all been compared with. Every row outside it has a bound below `level`.
    hot_idx, hot_x, hot_seen, level = np.arange(n), x, 0, -np.inf
    in_hot = np.ones(n, dtype=bool)
    while True:
        vals = bound[hot_idx]
        _lower(hot_x, centres[hot_seen:k], vals)
        bound[hot_idx], hot_seen = vals, k
        if len(hot_idx) > 2 * hot:  # shrink to the `hot` largest bounds, raising the level
            level = max(level, float(np.partition(vals, len(vals) - hot)[len(vals) - hot]))
            keep = vals >= level
            in_hot[hot_idx[~keep]] = False
            seen[hot_idx[~keep]] = k
            hot_idx, vals = hot_idx[keep], vals[keep]
            hot_x = x[hot_idx]
        top = int(np.argmax(vals)) if len(vals) else -1
        far = float(vals[top]) if len(vals) else -np.inf
        if far >= level or len(hot_idx) == n:  # nothing outside can be farther: `far` is the true maximum
            if len(picks) == budget:
                radius = max(0.0, far) if k else (math.inf if n else 0.0)
                return KCenter(np.asarray(picks, dtype=np.int64), radius)
            i = int(hot_idx[top])
            bound[i], centres[k], k = -np.inf, x[i], k + 1
            picks.append(i)
            continue
        # The hot set ran dry: bring in the next `hot` rows by bound (ties included), caught up to every centre.
        out = np.flatnonzero(~in_hot)
        take = min(hot, len(out))
        level = float(np.partition(bound[out], len(out) - take)[len(out) - take])
        new = out[bound[out] >= level]
        _catch_up(x, new, seen, centres[:k], bound)
        in_hot[new] = True
        hot_idx = np.flatnonzero(in_hot)
        hot_x = x[hot_idx]


def covering_radius(emb, centres) -> float:
    """The largest cosine distance from any row of ``emb`` to its nearest centre (positions ``centres``).

    Smaller = better covered; inf without centres, 0.0 for no rows. Computed in row blocks (O(n·k·d)).
    """
    x = as_rows(emb)
    c = x[unique_positions(centres, len(x))]
    if len(x) == 0:
        return 0.0
    if len(c) == 0:
        return math.inf
    worst = -np.inf
    for lo in range(0, len(x), _ROW_BLOCK):
        worst = max(worst, float((1.0 - (x[lo : lo + _ROW_BLOCK] @ c.T).max(axis=1)).max()))
    return max(0.0, worst)


_FL_DENSE_LIMIT = 400_000_000  # similarity entries (1.6 GB of float32, n = m = 20k) up to which they are all kept
_FL_BATCH = 32  # stale candidates re-evaluated together when the similarities are kept
_FL_BATCH_LAZY = 128  # ... when they are not: the first batch of a pick, doubled while the pick needs more,
_FL_BATCH_MAX = 1024  # up to this many
_FL_TEMP = 1 << 24  # entries of a temporary (64 MB of float32) when gains are computed from kept similarities


def _fl_gains(x: np.ndarray, targets: np.ndarray | None, best: np.ndarray, sims: np.ndarray | None) -> np.ndarray:
    """Facility-location gain of adding each target: sum over rows i of max(sim(i, t) - best_i, 0), as float64.

    ``best`` >= 0, so clipping the similarity at 0 first changes nothing. ``sims`` holds the precomputed (k, n)
    similarity rows of the targets (``targets`` is then unused), or None to compute them from the (k, d) ``targets``
    in row blocks of ``x`` (O(n·d) per target).
    """
    if sims is not None:  # in row chunks, so the temporary stays small however long a row is
        step = max(1, _FL_TEMP // max(1, sims.shape[1]))
        return np.concatenate(
            [np.maximum(sims[k : k + step] - best, 0).sum(axis=1, dtype=np.float64) for k in range(0, len(sims), step)]
        )
    out = np.zeros(len(targets), dtype=np.float64)
    for lo in range(0, len(x), _ROW_BLOCK):
        s = x[lo : lo + _ROW_BLOCK] @ targets.T
        s -= best[lo : lo + _ROW_BLOCK, None]
        np.maximum(s, 0, out=s)
        out += s.sum(axis=0, dtype=np.float64)
    return out


def facility_location(emb, budget: int, *, candidates=None, dense_limit: int = _FL_DENSE_LIMIT) -> np.ndarray:
    """Superfiltering-D's diversity: greedy maximisation of the facility-location function.

        F(S) = sum over all samples i of max over j in S of max(cos(i, j), 0)

    F rewards a set whose members are close to every sample (representative), and adding a near copy of a chosen one
    gains almost nothing (diverse). Similarity is cosine clipped at 0, so F is monotone submodular and the greedy set
    is within 1 - 1/e of the best. The greedy is lazy (Minoux): gains only shrink as S grows, so stale gains in a
    priority queue are upper bounds, and only the top ones are recomputed; the picks equal the plain greedy's.

    Cost: the similarities of every (candidate, sample) pair, O(m·n·d), are computed once and kept while
    m·n <= ``dense_limit`` (4 bytes each: 1.5 GiB at n = m = 20k, nearly all the run needs, as every other
    temporary is capped at 64 MB); a re-evaluation then costs O(n). Embeddings spread evenly make many gains nearly
    equal, so each pick re-evaluates hundreds of candidates: 18 s for 1,000 picks at n = m = 20k, d = 384 on
    2 cores (``tests/bench.py facility``). Above the limit memory stays O((n + m)·d) (about 110 MB beyond the
    embeddings at 20k), but every re-evaluation recomputes similarities, O(n·d), and the first picks re-evaluate
    nearly every candidate: 49 s for the first 100 picks at 20k, growing as m·n. Restrict ``candidates`` (e.g. to a
    k-center or DEITA pre-selection) for larger data.

    Args:
        emb: (n, d) float32 unit rows: the samples to represent.
        budget: samples to pick (capped at the number of candidates).
        candidates: positions that may be picked (default: all); every row still counts in F.
        dense_limit: largest m·n for which the similarities are kept in memory.

    Returns:
        positions in pick order (each pick is the largest gain given the ones before; ties by position).
    """
    x = as_rows(emb)
    cand = np.arange(len(x)) if candidates is None else unique_positions(candidates, len(x))
    budget = max(0, min(int(budget), len(cand)))
    if budget == 0:
        return np.empty(0, np.int64)
    best = np.zeros(len(x), dtype=np.float32)  # each sample's similarity to its closest pick so far
    sims = None
    if len(x) * len(cand) <= dense_limit:
        # One contiguous row per candidate, so a re-evaluation reads n consecutive floats.
        sims = np.empty((len(cand), len(x)), dtype=np.float32)
        for lo in range(0, len(cand), 1024):
            np.matmul(x[cand[lo : lo + 1024]], x.T, out=sims[lo : lo + 1024])

    def gains(pos) -> np.ndarray:
        if sims is not None:
            return _fl_gains(x, None, best, sims[pos])
        return _fl_gains(x, x[cand[pos]], best, None)

    first = np.concatenate([gains(slice(lo, lo + 1024)) for lo in range(0, len(cand), 1024)])  # slices: no copies
    heap = [(-g, p) for p, g in enumerate(first.tolist())]
    heapq.heapify(heap)
    stamp = np.zeros(len(cand), dtype=np.int64)  # the number of picks when each gain was computed
    picks: list[int] = []
    # Re-evaluating more stale candidates than a pick needs never changes it (a fresh gain is exact, and a pick is
    # made only when the largest entry is fresh), so the batch size is a speed knob. With the similarities kept, a
    # re-evaluation reads one row whatever the batch, so batches stay small. Without them, every batch is a pass over
    # all of x, and a batch of 32 spends most of its time on that pass; early picks re-evaluate most candidates (the
    # first ten about 8 times m on spread-out data). So a pick's first batch is _FL_BATCH_LAZY and each further
    # batch doubles, up to _FL_BATCH_MAX: for under 5 % more re-evaluations, 1.6x faster than batches of 32 at 20k
    # on 2 quiet cores, and 2-4x when other processes share them (small matrix products suffer most).
    first_size = _FL_BATCH if sims is not None else _FL_BATCH_LAZY
    size = first_size
    while len(picks) < budget:
        p = heap[0][1]
        if stamp[p] == len(picks):  # up to date and still the largest: the greedy pick
            heapq.heappop(heap)
            picks.append(p)
            np.maximum(best, sims[p] if sims is not None else x @ x[cand[p]], out=best)
            size = first_size
            continue
        stale = []
        while heap and len(stale) < size and stamp[heap[0][1]] != len(picks):
            stale.append(heapq.heappop(heap)[1])
        if sims is None:
            size = min(2 * size, _FL_BATCH_MAX)
        for q, g in zip(stale, gains(stale).tolist(), strict=True):
            stamp[q] = len(picks)
            heapq.heappush(heap, (-g, q))
    return cand[np.asarray(picks, dtype=np.int64)]


def facility_location_value(emb, selected) -> float:
    """F(selected) = sum over samples of max(0, cosine to the closest selected sample); higher = better represented.

    0.0 for an empty selection. Computed in row blocks.
    """
    x = as_rows(emb)
    s = x[unique_positions(selected, len(x))]
    if len(s) == 0:
        return 0.0
    total = 0.0
    for lo in range(0, len(x), _ROW_BLOCK):
        total += float(np.maximum((x[lo : lo + _ROW_BLOCK] @ s.T).max(axis=1), 0).sum(dtype=np.float64))
    return total


def deita_filter(scores, emb, budget: int, tau: float = 0.9, *, batch: int = 256) -> np.ndarray:
    """DEITA's score-first diversity filter: walk by score, skip a sample too similar to one already kept.

    Samples are visited by score descending (ties by position; NaN scores are skipped); one is kept unless its cosine
    to some kept sample is above ``tau``; the walk stops at the budget. Candidates are checked against the kept set
    ``batch`` at a time with one matrix product, then against the batch's earlier keepers.

    Args:
        scores: score per sample, higher is better (e.g. ``deita_score`` or a reward).
        emb: (n, d) float32 unit rows.
        budget: samples to keep.
        tau: largest cosine allowed between two kept samples (DEITA uses 0.9).
        batch: candidates checked per matrix product (a speed knob; the result does not depend on it).

    Returns:
        positions in the order kept (score descending).
    """
    x = as_rows(emb)
    v = as_floats(scores)
    order = order_desc(v, np.flatnonzero(np.isfinite(v)))
    budget = max(0, min(int(budget), len(order)))
    kept_rows = np.empty((budget, x.shape[1]), dtype=np.float32)
    kept: list[int] = []
    for lo in range(0, len(order), batch):
        if len(kept) == budget:
            break
        cand = order[lo : lo + batch]
        e = x[cand]
        clear = (e @ kept_rows[: len(kept)].T).max(axis=1) <= tau if kept else np.ones(len(cand), dtype=bool)
        within = e @ e.T  # candidates kept earlier in this batch are not in kept_rows' product yet
        mine: list[int] = []
        for j in np.flatnonzero(clear):
            if mine and within[j, mine].max() > tau:
                continue
            mine.append(j)
            kept_rows[len(kept)] = e[j]
            kept.append(int(cand[j]))
            if len(kept) == budget:
                break
    return np.asarray(kept, dtype=np.int64)
