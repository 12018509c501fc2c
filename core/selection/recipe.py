"""Selection steps: pure algorithms that pick samples, and the recipes that chain them.

Nothing here touches the workspace. Every function takes numpy arrays (or lists of texts) indexed by *position*
(0..n-1) and returns positions or boolean masks; the caller maps positions to sample ids.

Conventions:
    - ``emb`` is an (n, d) float32 array whose rows are L2-normalized sentence embeddings, so a dot product is a
      cosine similarity. Other dtypes are converted to float32.
    - Scores are "higher is better" unless a docstring says otherwise. NaN (or None) means "not scored": a step
      that ranks by a score leaves such samples out.
    - Ties are broken by the lower position, so every function is deterministic; the ones that draw at random take
      a ``seed`` for ``np.random.default_rng``.

Steps (each is one recipe step; see ``STEPS`` for their parameters and defaults):

| step              | idea (paper)                                                    | function            |
|-------------------|-----------------------------------------------------------------|---------------------|
| filter            | drop flawed samples by heuristic signals and review status      | filter_mask         |
| dedup             | exact, text (MinHash) and embedding duplicates; the best stays  | dedup.find_duplicates |
| ifd_top           | top x % by Instruction-Following Difficulty (Cherry LLM)        | ifd_top             |
| superfilter       | the same rule on a small model's IFD (Superfiltering)           | superfilter_top     |
| k_center          | coverage of the embedding space by greedy k-center (MoDS)       | k_center_greedy     |
| facility_location | representativeness by facility location (Superfiltering-D)      | facility_location   |
| mods_quality      | reward-model score above a threshold (MoDS)                     | mods_quality        |
| mods_necessity    | the seed plus what a seed-tuned model answers badly (MoDS)      | mods_necessity      |
| deita             | by score, skipping samples too close to a kept one (DEITA)      | deita_filter        |
| stratified        | the same share from every quantile bin of a score               | stratified          |
| mixture           | a count per label (e.g. per task), taken in the current order   | mixture_take        |

A recipe is YAML with a ``steps:`` list; ``parse_recipe`` checks it and fills defaults, ``run_recipe`` applies it to
arrays the caller supplies (``recipe_inputs`` lists which).
"""

from __future__ import annotations

import difflib
import hashlib
import heapq
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import yaml

from core import dedup
from core.errors import RecipeError, brief

# --- small helpers -------------------------------------------------------------------------------------------------


def _floats(values) -> np.ndarray:
    """``values`` as a float64 array; None becomes NaN."""
    return np.asarray(values, dtype=np.float64)


def _rows(emb) -> np.ndarray:
    """``emb`` as a C-contiguous float32 (n, d) array (no copy when it already is one)."""
    x = np.ascontiguousarray(emb, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, d) embedding array, got shape {x.shape}")
    return x


def _positions(idx, n: int) -> np.ndarray:
    """Unique sorted int64 positions, checked to lie in [0, n)."""
    p = np.unique(np.asarray([] if idx is None else idx, dtype=np.int64))
    if len(p) and (p[0] < 0 or p[-1] >= n):
        raise ValueError(f"positions must lie in [0, {n}), got {p[0]}..{p[-1]}")
    return p


def _order_desc(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` sorted by ``values[idx]`` descending, ties by position ascending."""
    return idx[np.lexsort((idx, -values[idx]))]


# --- score rules ---------------------------------------------------------------------------------------------------


def ifd_top(ifd, percent: float, *, drop_above_one: bool = True) -> np.ndarray:
    """Cherry LLM's rule: the samples with the highest IFD, after dropping unscored ones and (optionally) IFD > 1.

    IFD > 1 means the instruction does not help predict the answer (usually a misaligned pair), so Cherry drops those
    before ranking. The count is ``ceil(percent / 100 * remaining)``: at least one sample whenever any remain.

    Args:
        ifd: IFD per sample (NaN or None = not scored). Higher = harder instruction, the ones Cherry keeps.
        percent: share of the remaining samples to keep, in (0, 100].
        drop_above_one: drop IFD > 1 first (IFD == 1 stays).

    Returns:
        positions, highest IFD first (ties by position).
    """
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    v = _floats(ifd)
    ok = np.isfinite(v)
    if drop_above_one:
        ok &= v <= 1.0
    idx = np.flatnonzero(ok)
    # round() first so that 3.0000000000000004 does not become 4.
    count = math.ceil(round(len(idx) * percent / 100, 9))
    return _order_desc(v, idx)[:count]


# Superfiltering (Li et al., ACL 2024) shows a small model (GPT-2) ranks IFD consistently with a large one, so its
# rule is Cherry's rule on the small model's IFD column; the recipe step only changes which column it reads.
superfilter_top = ifd_top


def mods_quality(reward, threshold: float = 0.0) -> np.ndarray:
    """MoDS's quality gate: a boolean mask of samples whose reward-model score is above ``threshold``.

    Args:
        reward: reward per sample (higher is better; NaN or None = not scored, which fails).
        threshold: strict lower bound.

    Returns:
        bool mask, True = keep.
    """
    with np.errstate(invalid="ignore"):
        return _floats(reward) > threshold


def mods_necessity(
    reward, threshold: float = 0.0, *, seed=None, emb=None, budget: int | None = None, random_seed: int = 0
) -> np.ndarray:
    """MoDS's last step: the seed set, plus the samples a model fine-tuned on the seed still answers badly.

    A sample outside the seed is "necessary" when the reward of that model's own answer to it (the necessity
    scorer's ``necessity_reward``) is below ``threshold``: the model has not learned that kind of instruction yet.

    Args:
        reward: per sample, the reward of the seed-tuned model's answer (higher = answered well; NaN or None = not
            answered, never added).
        threshold: strict upper bound of the reward of an added sample.
        seed: positions of the seed set, kept first in the given order (default: none).
        emb: (n, d) float32 unit rows; needed only with ``budget``.
        budget: at most this many added samples, picked by k-center greedy among the necessary ones with the seed
            as centres already chosen (the most distant from the seed and from each other); None = all of them.
            Samples without an embedding (NaN rows) are then neither centres nor candidates.
        random_seed: the first k-center centre when the seed is empty (as ``k_center_greedy``'s ``seed``).

    Returns:
        positions: the seed, then the added samples, lowest reward first (ties by position), or in k-center pick
        order with ``budget``.
    """
    v = _floats(reward)
    kept = _ordered_unique(seed)
    with np.errstate(invalid="ignore"):
        necessary = v < threshold
    necessary[kept] = False
    added = np.flatnonzero(necessary)
    if budget is not None and len(added) > budget:
        x = _rows(emb)
        centres, added = (p[np.isfinite(x[p]).all(axis=1)] for p in (kept, added))
        local = np.concatenate([centres, added])
        added = local[k_center_greedy(x[local], budget, random_seed, already=np.arange(len(centres))).indices]
    else:
        added = added[np.lexsort((added, v[added]))]
    return np.concatenate([kept, added]).astype(np.int64)


def _ordered_unique(idx) -> np.ndarray:
    """``idx`` as int64 positions without repeats, in first-seen order."""
    p = np.asarray([] if idx is None else idx, dtype=np.int64)
    _, first = np.unique(p, return_index=True)
    return p[np.sort(first)]


def deita_score(complexity, quality) -> np.ndarray:
    """DEITA's evol score: complexity × quality per sample (higher is better); NaN where either is missing."""
    return _floats(complexity) * _floats(quality)


def _even_quotas(sizes: Sequence[int], budget: int, rng: np.random.Generator) -> np.ndarray:
    """How many to draw from each bin: equal shares, a bin's unused share going to the others (water-filling).

    When fewer units than open bins are left, the seeded ``rng`` chooses which bins get one more.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    quota = np.zeros(len(sizes), dtype=np.int64)
    open_bins = np.flatnonzero(sizes > 0)
    left = min(int(budget), int(sizes.sum()))
    while left > 0 and len(open_bins):
        share = left // len(open_bins)
        if share == 0:
            quota[rng.choice(open_bins, left, replace=False)] += 1
            break
        take = np.minimum(share, sizes[open_bins] - quota[open_bins])
        quota[open_bins] += take
        left -= int(take.sum())
        open_bins = open_bins[quota[open_bins] < sizes[open_bins]]
    return quota


def stratified(values, budget: int, n_bins: int = 10, seed: int = 0) -> np.ndarray:
    """An even sample across the quantile bins of a score, so easy and hard samples both stay.

    Bins have edges at the score's quantiles (so about n / n_bins samples each; ties can make some bins larger and
    others empty). Each non-empty bin gets an equal share of the budget; a bin smaller than its share gives the rest
    to the others. Within a bin, samples are drawn uniformly with ``np.random.default_rng(seed)``.

    Args:
        values: score per sample, e.g. IFD (NaN or None = not scored, never chosen).
        budget: samples to choose (all scored samples when the budget is larger).
        n_bins: number of quantile bins.
        seed: random seed.

    Returns:
        positions, ascending.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    v = _floats(values)
    idx = np.flatnonzero(np.isfinite(v))
    if budget >= len(idx):
        return idx
    edges = np.quantile(v[idx], np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.searchsorted(edges, v[idx], side="right")
    members = [idx[bins == b] for b in range(n_bins)]
    rng = np.random.default_rng(seed)
    quota = _even_quotas([len(m) for m in members], budget, rng)
    picks = [rng.choice(m, q, replace=False) for m, q in zip(members, quota, strict=True) if q]
    return np.sort(np.concatenate(picks)) if picks else np.empty(0, np.int64)


def mixture_take(labels, targets: Mapping[str, int]) -> np.ndarray:
    """The first ``targets[label]`` samples of each label, in the given order (so earlier = preferred).

    Args:
        labels: label per sample (e.g. task), in priority order; None = unlabelled, never taken.
        targets: label -> how many to take; labels not named are not taken.

    Returns:
        positions, ascending (the input order is kept).
    """
    lab = np.asarray(labels, dtype=object)
    taken = [np.flatnonzero(lab == label)[: max(0, int(count))] for label, count in targets.items()]
    return np.sort(np.concatenate(taken)) if taken else np.empty(0, np.int64)


# --- coverage and diversity ----------------------------------------------------------------------------------------

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
    x = _rows(emb)
    n, d = x.shape
    chosen = _positions(already, n)
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
    x = _rows(emb)
    c = x[_positions(centres, len(x))]
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
    x = _rows(emb)
    cand = np.arange(len(x)) if candidates is None else _positions(candidates, len(x))
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
    x = _rows(emb)
    s = x[_positions(selected, len(x))]
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
    x = _rows(emb)
    v = _floats(scores)
    order = _order_desc(v, np.flatnonzero(np.isfinite(v)))
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


# --- filters -------------------------------------------------------------------------------------------------------

STATUSES = ("pending", "accepted", "rejected")


def _truth(col: np.ndarray) -> np.ndarray:
    """True where a value is true (missing values are not)."""
    if col.dtype == bool:
        return col
    if col.dtype.kind in "iuf":
        return np.nan_to_num(col.astype(np.float64), nan=0.0) != 0
    return np.array([x is not None and not _is_nan(x) and bool(x) for x in col], dtype=bool)


def _missing(col: np.ndarray) -> np.ndarray:
    """True where a value is None or NaN."""
    if col.dtype == object:
        return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in col], dtype=bool)
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.zeros(len(col), dtype=bool)


def filter_mask(columns: Mapping[str, Any], spec: Mapping[str, Any], *, n: int | None = None) -> np.ndarray:
    """Which samples pass every condition of a filter spec (True = keep).

    The spec (every key optional; the recipe's ``filter`` step has the same parameters):

        status: "any" | "not_rejected" | a status | a list of statuses   (needs column "status")
        min:    {column: lowest value kept}                              inclusive
        max:    {column: highest value kept}                             inclusive
        true:   [boolean columns that must be true]
        false:  [boolean columns that must be false]                     e.g. flags h_refusal, h_lang_mismatch
        in:     {column: [allowed values]}                               e.g. {h_answer_lang: [en, zh]}
        keep_missing: false                                              true: a missing value passes its condition

    A missing value (None, NaN: the signal was not computed) fails its condition unless ``keep_missing``.

    Args:
        columns: name -> per-sample array (numbers, booleans or objects with None), all of one length.
        spec: the conditions.
        n: number of samples, needed only when ``spec`` names no column.

    Returns:
        bool mask.

    Raises:
        RecipeError: a named column is not in ``columns``, or the status is not one of ``STATUSES``.
    """

    def col(name: str) -> np.ndarray:
        if name not in columns:
            known = ", ".join(sorted(columns)) or "none"
            raise RecipeError(f"no column '{name}' (known: {known}); run the scorer that writes it", step_name="filter")
        return np.asarray(columns[name])

    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    keep = np.ones(n, dtype=bool)
    keep_missing = bool(spec.get("keep_missing", False))

    def apply(values: np.ndarray, ok: np.ndarray) -> None:
        missing = _missing(values)
        keep[:] &= np.where(missing, keep_missing, ok & ~missing)

    status = spec.get("status", "any")
    if status not in (None, "any"):
        wanted = [s for s in STATUSES if s != "rejected"] if status == "not_rejected" else status
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if bad := [s for s in wanted if s not in STATUSES]:
            raise RecipeError(
                f"unknown status {brief(bad[0])}; expected any, not_rejected or one of {', '.join(STATUSES)}"
            )
        keep &= np.isin(col("status").astype(str), wanted)
    for name, low in (spec.get("min") or {}).items():
        v = _floats(col(name))
        with np.errstate(invalid="ignore"):
            apply(v, v >= low)
    for name, high in (spec.get("max") or {}).items():
        v = _floats(col(name))
        with np.errstate(invalid="ignore"):
            apply(v, v <= high)
    for want, names in ((True, spec.get("true") or []), (False, spec.get("false") or [])):
        for name in names:
            v = col(name)
            apply(v, _truth(v) == want)
    for name, allowed in (spec.get("in") or {}).items():
        v = col(name)
        wanted = set(allowed)
        apply(v, np.fromiter((x in wanted for x in v.tolist()), dtype=bool, count=len(v)))
    return keep


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


# --- recipes -------------------------------------------------------------------------------------------------------

REQUIRED = object()  # the default of a parameter the recipe must give


@dataclass(frozen=True)
class Param:
    """One parameter of a recipe step: its kind, default and allowed range.

    Kinds: int, float, bool, str, column (a column name), columns (list of names; one name is accepted),
    bounds (column -> number), values (column -> list of scalars), counts (label -> int >= 0),
    status ("any", "not_rejected", a status or a list of statuses).
    """

    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low end is excluded: (low, high]
    choices: tuple[str, ...] = ()
    nullable: bool = False  # null (None) is allowed and means "off"
    auto: bool = False  # "auto" is allowed: a threshold calibrated for the embedder (core.similarity)


@dataclass(frozen=True)
class StepSpec:
    """A recipe step: what it does, the arrays it reads, and its parameters."""

    doc: str
    params: dict[str, Param]


_BUDGET = Param("int", 1000, "samples to select (capped at the samples left)", low=1)
_IFD_PARAMS = {
    "percent": Param(
        "float", 10.0, "share of the scored samples to keep; ceil, at least 1", low=0, high=100, low_open=True
    ),
    "drop_above_one": Param("bool", True, "drop IFD > 1 (the instruction does not help) before ranking"),
    "column": Param("column", "ifd", "the IFD column"),
}

# The one table of step parameters and defaults. ``parse_recipe`` fills every omitted parameter from it.
STEPS: dict[str, StepSpec] = {
    "filter": StepSpec(
        "Keep samples that pass every condition (see filter_mask).",
        {
            "status": Param("status", "not_rejected", "review statuses that stay: any, not_rejected, or status(es)"),
            "min": Param("bounds", {}, "column -> lowest value kept (inclusive)"),
            "max": Param("bounds", {}, "column -> highest value kept (inclusive)"),
            "true": Param("columns", [], "boolean columns that must be true"),
            "false": Param("columns", [], "boolean columns (flags) that must be false"),
            "in": Param("values", {}, "column -> allowed values"),
            "keep_missing": Param("bool", False, "a missing value passes its condition"),
        },
    ),
    "dedup": StepSpec(
        "Group duplicates (exact text, near copies by text, near copies by embedding) and keep the best of each "
        "group; the log lists each removed sample with the kept one it duplicates.",
        {
            "exact": Param("bool", True, "group identical normalized texts"),
            "minhash_threshold": Param(
                "float",
                0.6,
                "text similarity (estimated Jaccard of shingles) >= this = near copy; null = off",
                low=0,
                high=1,
                low_open=True,
                nullable=True,
            ),
            "ngram": Param("int", 2, "tokens per shingle: a CJK character or a word is a token", low=1, high=50),
            "near_threshold": Param(
                "float",
                None,
                "embedding cosine >= this = near copy; auto = calibrated for the embedder; null = off",
                low=0,
                high=1,
                low_open=True,
                nullable=True,
                auto=True,
            ),
            "text": Param(
                "str", "conversation", "which text is compared", choices=("conversation", "prompt", "answer")
            ),
            "keep_by": Param(
                "column",
                None,
                "column (higher = better) choosing the kept member; null = first imported",
                nullable=True,
            ),
        },
    ),
    "ifd_top": StepSpec("Keep the top percent by IFD (Cherry LLM).", dict(_IFD_PARAMS)),
    "superfilter": StepSpec(
        "Keep the top percent by a small model's IFD (Superfiltering): point 'column' at IFD from e.g. GPT-2.",
        dict(_IFD_PARAMS),
    ),
    "k_center": StepSpec(
        "Cover the embedding space: greedy k-center (MoDS).",
        {"budget": _BUDGET, "seed": Param("int", 0, "random seed of the first centre", low=0)},
    ),
    "facility_location": StepSpec("Most representative set: lazy greedy facility location.", {"budget": _BUDGET}),
    "mods_quality": StepSpec(
        "Keep samples whose reward is above a threshold (MoDS).",
        {
            "threshold": Param("float", 0.0, "strict lower bound of the reward"),
            "column": Param("column", "reward", "the reward column"),
        },
    ),
    "mods_necessity": StepSpec(
        "MoDS necessity, after mods_quality: keep the seed set and add the samples that a model fine-tuned on the "
        "seed still answers badly (the reward of its answer, from the necessity scorer, below the threshold). The "
        "seed is a saved selection (seed_selection: the set the model was tuned on) or is picked here by k-center "
        "(seed_budget and seed, as a k_center step with the same values on the same input); with neither, only the "
        "added samples stay. Seed members that earlier steps dropped stay out. Order: the seed, then the added "
        "samples, lowest reward first (with budget: k-center among them, the seed counting as centres).",
        {
            "threshold": Param("float", 0.0, "added when the reward of the model's answer is below this"),
            "seed_selection": Param(
                "column", None, "name of the saved selection the model was fine-tuned on", nullable=True
            ),
            "seed_budget": Param(
                "int", None, "or: seed size, picked here by k-center (as k_center: {budget})", low=1, nullable=True
            ),
            "seed": Param("int", 0, "random seed of the first k-center centre", low=0),
            "budget": Param(
                "int", None, "most samples added, by k-center away from the seed; null = all", low=1, nullable=True
            ),
            "column": Param("column", "necessity_reward", "the necessity reward column"),
        },
    ),
    "deita": StepSpec(
        "Walk by score, skipping samples with cosine > tau to a kept one (DEITA).",
        {
            "budget": _BUDGET,
            "tau": Param(
                "float",
                "auto",
                "largest cosine allowed between two kept samples; auto = calibrated for the embedder",
                low=0,
                high=1,
                low_open=True,
                auto=True,
            ),
            "score": Param("columns", ["reward"], "score column, or columns multiplied (complexity, quality)"),
        },
    ),
    "stratified": StepSpec(
        "The same share from every quantile bin of a score.",
        {
            "budget": _BUDGET,
            "n_bins": Param("int", 10, "quantile bins", low=1, high=1000),
            "seed": Param("int", 0, "random seed", low=0),
            "column": Param("column", "ifd", "the binned score"),
        },
    ),
    "mixture": StepSpec(
        "Take a count per label, in the current order: inline targets, or a plan saved on the Balance page.",
        {
            "by": Param("column", "task_label", "the label column (e.g. the task label)"),
            "targets": Param("counts", None, "label -> samples to take (or give plan)", nullable=True),
            # Resolved by core.selection.run_selection, which reads the workspace's plans; a staged (DMT) plan
            # makes a staged selection and must then be the last step.
            "plan": Param("column", None, "name of a saved mixture plan (instead of targets)", nullable=True),
        },
    ),
}


def step_defaults(name: str) -> dict[str, Any]:
    """The default parameters of step ``name`` (required ones absent)."""
    return {k: _copy(p.default) for k, p in STEPS[name].params.items() if p.default is not REQUIRED}


def _copy(v):
    return json.loads(json.dumps(v))


@dataclass(frozen=True)
class Step:
    """One step of a recipe: its name and every parameter (defaults filled in)."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Recipe:
    """A checked selection recipe: steps run in order, each on the samples the previous one left."""

    steps: tuple[Step, ...]
    name: str = ""
    description: str = ""


class _Bad(ValueError):
    """A parameter value is wrong; ``parse_recipe`` adds where."""


def _expected(p: Param) -> str:
    """How a parameter's expected value reads in an error message."""
    if p.kind in ("int", "float"):
        what = "an integer" if p.kind == "int" else "a number"
        if p.low is not None and p.high is not None:
            what += f" in {'(' if p.low_open else '['}{p.low:g}, {p.high:g}]"
        elif p.low is not None:
            what += f" {'>' if p.low_open else '>='} {p.low:g}"
    else:
        what = {
            "bool": "true or false",
            "str": "one of: " + ", ".join(p.choices),
            "column": "a column name",
            "columns": "a column name or a list of column names",
            "bounds": "a mapping of column name to number",
            "values": "a mapping of column name to a list of values",
            "counts": "a mapping of label to a count (integer >= 0)",
            "status": "any, not_rejected, or one or a list of: " + ", ".join(STATUSES),
        }[p.kind]
    return what + (" or auto" if p.auto else "") + (" or null" if p.nullable else "")


def _is_name(v) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _coerce(value, p: Param):
    """``value`` checked against ``p`` and normalized (ints as int, numbers as float); raises _Bad."""
    bad = _Bad(f"expected {_expected(p)}, got {brief(value)}")
    if value is None:
        if p.nullable:
            return None
        raise bad
    if p.auto and value == "auto":
        return value
    if p.kind in ("int", "float"):
        if not _number(value) or (p.kind == "int" and not float(value).is_integer()):
            raise bad
        value = int(value) if p.kind == "int" else float(value)
        too_low = p.low is not None and (value <= p.low if p.low_open else value < p.low)
        if too_low or (p.high is not None and value > p.high):
            raise bad
        return value
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if p.kind == "str":
        if value not in p.choices:
            raise bad
        return value
    if p.kind == "column":
        if not _is_name(value):
            raise bad
        return value
    if p.kind == "columns":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or (not names and p.default != []) or not all(_is_name(c) for c in names):
            raise bad
        return list(names)
    if p.kind == "status":
        ok = value in ("any", "not_rejected", *STATUSES) or (
            isinstance(value, list) and value and all(s in STATUSES for s in value)
        )
        if not ok:
            raise bad
        return value if isinstance(value, str) else list(value)
    if not isinstance(value, dict) or not all(_is_name(k) for k in value):
        raise bad
    if p.kind == "bounds" and all(_number(v) for v in value.values()):
        return {k: float(v) for k, v in value.items()}
    if p.kind == "values" and all(isinstance(v, list) for v in value.values()):
        return {k: list(v) for k, v in value.items()}
    if (
        p.kind == "counts"
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values())
    ):
        return dict(value)
    raise bad


def _check_step(number: int, name: str, raw, lines: dict[str, int], line: int | None) -> Step:
    """One step's parameters checked and completed with defaults; RecipeError names the step and parameter."""
    spec = STEPS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"expected a mapping of parameters, got {brief(raw)}", step=number, step_name=name, line=line)
    # YAML 1.1 reads the keys true/false (filter) as booleans.
    raw = {({True: "true", False: "false"}.get(k, k) if isinstance(k, bool) else k): v for k, v in raw.items()}
    params = {}
    for key, value in raw.items():
        where = {"step": number, "step_name": name, "param": str(key)[:80], "line": lines.get(str(key), line)}
        if key not in spec.params:
            hint = difflib.get_close_matches(str(key), spec.params, n=1)
            known = ", ".join(spec.params)
            maybe = f"; did you mean '{hint[0]}'?" if hint else ""
            raise RecipeError(f"unknown parameter (known: {known}){maybe}", **where)
        try:
            params[key] = _coerce(value, spec.params[key])
        except _Bad as e:
            raise RecipeError(str(e), **where) from None
    for key, p in spec.params.items():
        if key not in params:
            if p.default is REQUIRED:
                raise RecipeError(f"is required: {p.doc}", step=number, step_name=name, param=key, line=line)
            params[key] = _copy(p.default)
    if name == "mixture" and (params["targets"] is None) == (params["plan"] is None):
        raise RecipeError(
            "is required: label -> samples to take, or plan: the name of a saved plan (one of the two)",
            step=number,
            step_name=name,
            param="targets",
            line=line,
        )
    if name == "mods_necessity" and params["seed_selection"] is not None and params["seed_budget"] is not None:
        raise RecipeError(
            "give the seed as seed_selection (a saved selection) or seed_budget (k-center here), not both",
            step=number,
            step_name=name,
            param="seed_budget",
            line=lines.get("seed_budget", line),
        )
    if name == "dedup" and not (params["exact"] or params["near_threshold"] or params["minhash_threshold"]):
        raise RecipeError(
            "does nothing: set exact: true, near_threshold or minhash_threshold",
            step=number,
            step_name=name,
            param="exact",
            line=line,
        )
    return Step(name, params)


MAX_RECIPE_CHARS = 100_000  # recipes are a few hundred characters; this bounds what reading one can cost
MAX_RECIPE_DEPTH = 32  # nesting levels: parameters go four deep; PyYAML recurses once per level


class _Refused(yaml.MarkedYAMLError):
    """YAML that is valid but that a recipe may not use; ``parse_recipe`` turns it into a RecipeError."""


class _RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases, and nesting deeper than ``MAX_RECIPE_DEPTH``.

    An alias re-uses a node, so a few hundred bytes of aliases of aliases stand for gigabytes as soon as anything
    walks the data: a repr in an error message, a hash, a copy (a 260-byte recipe gave a 3 MB message, 430 bytes
    take ~20 GB). A recipe has no use for them. Checked while composing, before any object is built.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem="anchors and aliases (&name, *name) are not allowed in a recipe: write each value out",
                problem_mark=event.start_mark,
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_RECIPE_DEPTH:
                raise _Refused(
                    problem=f"the recipe nests deeper than {MAX_RECIPE_DEPTH} levels", problem_mark=event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _load_recipe_yaml(text: str):
    """(the data, its root node) of recipe YAML text, read by ``_RecipeLoader``."""
    loader = _RecipeLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def _yaml_lines(root) -> list[tuple[int, dict[str, int]]]:
    """For each item of the top-level ``steps`` list: (its 1-based line, {parameter: line}); [] if shaped otherwise."""
    if not isinstance(root, yaml.MappingNode):
        return []
    seq = next((v for k, v in root.value if k.value == "steps"), None)
    if not isinstance(seq, yaml.SequenceNode):
        return []
    out = []
    for item in seq.value:
        params: dict[str, int] = {}
        if (
            isinstance(item, yaml.MappingNode)
            and len(item.value) == 1
            and isinstance(item.value[0][1], yaml.MappingNode)
        ):
            for k, _ in item.value[0][1].value:
                if isinstance(k, yaml.ScalarNode):
                    params[k.value.lower() if k.value.lower() in ("true", "false") else k.value] = k.start_mark.line + 1
        out.append((item.start_mark.line + 1, params))
    return out


def parse_recipe(text: str) -> Recipe:
    """A recipe from YAML text, checked, with every omitted parameter filled from ``STEPS``.

    The text is a mapping with a ``steps`` list (and optional ``name`` and ``description``). Each step is a mapping
    with one key, the step name, whose value is a mapping of parameters (or nothing, for all defaults); a bare step
    name is accepted too::

        steps:
          - filter: {status: not_rejected, false: [h_refusal]}
          - dedup: {exact: true, near_threshold: 0.95}
          - k_center: {budget: 1000}

    Anchors and aliases (``&name``, ``*name``) are refused, and so are texts over ``MAX_RECIPE_CHARS`` characters.

    Raises:
        RecipeError: YAML syntax (with the line), an unknown step or parameter, a wrong type or range. The message
            names the 1-based step number, the step, the parameter, what was expected and the line.
    """
    if len(text) > MAX_RECIPE_CHARS:
        raise RecipeError(
            f"the recipe is {len(text):,} characters long; a recipe may have at most {MAX_RECIPE_CHARS:,}"
        )
    try:
        data, root = _load_recipe_yaml(text)
        lines = _yaml_lines(root)
    except _Refused as e:
        raise RecipeError(e.problem, line=e.problem_mark.line + 1) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise RecipeError(f"YAML syntax error: {problem}", line=mark.line + 1 if mark else None) from None
    return recipe_from_dict(data, lines=lines)


def recipe_from_dict(data, *, lines: list[tuple[int, dict[str, int]]] | None = None) -> Recipe:
    """A recipe from already-parsed YAML/JSON data (see ``parse_recipe``); ``lines`` locates steps for messages."""
    if not isinstance(data, dict) or "steps" not in data:
        raise RecipeError("a recipe is a mapping with a 'steps' list, e.g. 'steps: [ {k_center: {budget: 1000}} ]'")
    if extra := sorted(set(map(str, data)) - {"steps", "name", "description"}):
        raise RecipeError(f"unknown top-level key {brief(extra[0])}; expected steps, name, description")
    steps_raw = data["steps"]
    if not isinstance(steps_raw, list) or not steps_raw:
        raise RecipeError(f"'steps' must be a non-empty list of steps, got {brief(steps_raw)}")
    lines = lines or []
    steps = []
    for number, item in enumerate(steps_raw, start=1):
        line, param_lines = lines[number - 1] if number <= len(lines) else (None, {})
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            raise RecipeError(
                f"expected a mapping with one key, the step name (e.g. '- k_center: {{budget: 1000}}'), got {brief(item)}",
                step=number,
                line=line,
            )
        ((name, raw),) = item.items()
        if name not in STEPS:
            hint = difflib.get_close_matches(str(name), STEPS, n=1)
            maybe = f"; did you mean '{hint[0]}'?" if hint else ""
            raise RecipeError(
                f"unknown step (known: {', '.join(STEPS)}){maybe}", step=number, step_name=str(name)[:80], line=line
            )
        steps.append(_check_step(number, name, raw, param_lines, line))
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise RecipeError(f"'{key}' must be text, got {brief(data[key])}")
    return Recipe(tuple(steps), name=data.get("name") or "", description=data.get("description") or "")


def recipe_to_dict(recipe: Recipe) -> dict:
    """The recipe as plain data (``recipe_from_dict`` reads it back to an equal recipe)."""
    out: dict[str, Any] = {}
    if recipe.name:
        out["name"] = recipe.name
    if recipe.description:
        out["description"] = recipe.description
    out["steps"] = [{s.name: _copy(s.params)} for s in recipe.steps]
    return out


def recipe_to_yaml(recipe: Recipe) -> str:
    """The recipe as YAML text with every parameter written out; ``parse_recipe`` reads it back to an equal recipe."""
    return yaml.safe_dump(
        recipe_to_dict(recipe), sort_keys=False, allow_unicode=True, default_flow_style=None, width=120
    )


def recipe_hash(recipe: Recipe) -> str:
    """A stable SHA-256 (hex) of what the recipe does, for manifests.

    Only the steps count (name and description do not), after defaults are filled, so a recipe that spells out a
    default hashes like one that omits it.
    """
    canonical = json.dumps([[s.name, s.params] for s in recipe.steps], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- presets -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named starting recipe; ``budget_range`` bounds the budget of its last budgeted step (None: no budget)."""

    recipe: Recipe
    budget_range: tuple[int, int] | None


_ALIGN = """
name: align
description: >-
  Alignment: broad ability from few samples, so quality and diversity come first. LIMA (Zhou et al., 2023) aligned a
  65B model with 1,000 curated, diverse samples; keep 1,000-10,000. Drops flawed samples, exact copies and near
  copies by text, and the easiest half by IFD, then covers the embedding space with k-center (MoDS). Needs the
  heuristics, ifd and embedding scores.
steps:
  - filter:
      status: not_rejected
      false: [h_answer_empty, h_answer_short, h_refusal, h_boilerplate, h_lang_mismatch, h_answer_copies_prompt]
      max: {h_answer_word_rep: 0.3}
  - dedup: {exact: true, minhash_threshold: 0.6}
  - ifd_top: {percent: 50}
  - k_center: {budget: 1000, seed: 0}
"""

_FIT = """
name: fit
description: >-
  Fitting: teach one narrow task or format, where volume and consistency matter more than variety, so most samples
  stay. Drops samples that break the format (empty answers, wrong language, answers that copy the prompt, stray
  whitespace, heavy repetition), exact duplicates and near copies that differ only by a few words. Needs the
  heuristics scores.
steps:
  - filter:
      status: not_rejected
      false: [h_answer_empty, h_lang_mismatch, h_answer_copies_prompt, h_trailing_whitespace]
      max: {h_answer_word_rep: 0.5}
  - dedup: {exact: true, minhash_threshold: 0.8}
"""

PRESETS: dict[str, Preset] = {
    "align": Preset(parse_recipe(_ALIGN), (1000, 10000)),
    "fit": Preset(parse_recipe(_FIT), None),
}


def preset_recipe(name: str, budget: int | None = None) -> Recipe:
    """Preset ``name`` as a recipe, with ``budget`` (when given) set on its last step that has one.

    Raises:
        RecipeError: an unknown preset, a budget outside the preset's range, or a budget for a preset without one.
    """
    if name not in PRESETS:
        raise RecipeError(f"unknown preset '{name}'; expected one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if budget is None:
        return preset.recipe
    if preset.budget_range is None:
        raise RecipeError(f"preset '{name}' keeps most samples and takes no budget")
    low, high = preset.budget_range
    if not (isinstance(budget, int) and low <= budget <= high):
        raise RecipeError(f"preset '{name}': budget must be an integer in [{low}, {high}], got {brief(budget)}")
    steps = list(preset.recipe.steps)
    last = max(i for i, s in enumerate(steps) if "budget" in s.params)
    steps[last] = Step(steps[last].name, {**steps[last].params, "budget": budget})
    return Recipe(tuple(steps), preset.recipe.name, preset.recipe.description)


# --- running a recipe on arrays ------------------------------------------------------------------------------------


def step_inputs(step: Step) -> list[str]:
    """The arrays ``apply_step`` reads from ``data`` for this step (column names, "embedding", "status", texts)."""
    p = step.params
    if step.name == "filter":
        cols = [*p["min"], *p["max"], *p["true"], *p["false"], *p["in"]]
        return (["status"] if p["status"] != "any" else []) + list(dict.fromkeys(cols))
    if step.name == "dedup":
        need = [p["text"]] if p["exact"] or p["minhash_threshold"] else []
        need += ["embedding"] if p["near_threshold"] else []
        return need + ([p["keep_by"]] if p["keep_by"] else [])
    if step.name in ("ifd_top", "superfilter", "mods_quality", "stratified"):
        return [p["column"]]
    if step.name in ("k_center", "facility_location"):
        return ["embedding"]
    if step.name == "mods_necessity":
        need = [p["column"]]
        need += [selection_input(p["seed_selection"])] if p["seed_selection"] is not None else []
        return need + (["embedding"] if p["seed_budget"] is not None or p["budget"] is not None else [])
    if step.name == "deita":
        return [*p["score"], "embedding"]
    return [p["by"]]  # mixture


# The input that carries a saved selection: per sample, its 0-based place in the selection, or -1 when not a member.
SELECTION_INPUT = "selection:"


def selection_input(name: str) -> str:
    """The name of the input holding the saved selection ``name`` (``core.selection.fetch_inputs`` fills it)."""
    return SELECTION_INPUT + name


def recipe_inputs(recipe: Recipe) -> list[str]:
    """Every array ``run_recipe`` will read, in first-use order."""
    return list(dict.fromkeys(k for s in recipe.steps for k in step_inputs(s)))


def _embedded(x: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local, rows): the positions *within* ``pool`` of samples that have an embedding (no NaN), and their rows."""
    rows = _rows(x[pool]).reshape(len(pool), -1)
    local = np.flatnonzero(np.isfinite(rows).all(axis=1))
    return local, rows if len(local) == len(pool) else rows[local]


_NECESSITY_FIX = (
    "run the necessity scorer first, with the model fine-tuned on the seed set and the quality step's reward model "
    "(Score page, or `python -m core score --scorers necessity --necessity-model PATH --reward-model PATH`)"
)


def _necessity_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], number: int | None) -> np.ndarray:
    """``mods_necessity`` on ``pool``: find the seed (a saved selection or k-center here), then ``mods_necessity``."""
    p = step.params
    where = {"step": number, "step_name": step.name}
    try:
        values = data[p["column"]]
    except KeyError:
        raise RecipeError(
            f"needs '{p['column']}', which the workspace does not have; {_NECESSITY_FIX}", **where
        ) from None
    reward = _floats((values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object))[pool])
    emb = None
    if p["seed_budget"] is not None or p["budget"] is not None:
        try:
            emb = _rows(np.asarray(data["embedding"], dtype=np.float32)[pool]).reshape(len(pool), -1)
        except KeyError:
            raise RecipeError("needs 'embedding' for k-center; run the embedding scorer", **where) from None
    seed = np.empty(0, np.int64)
    if p["seed_selection"] is not None:
        try:
            rank = np.asarray(data[selection_input(p["seed_selection"])], dtype=np.int64)[pool]
        except KeyError:
            raise RecipeError(
                f"the seed selection '{p['seed_selection']}' is read from a workspace: run the recipe there "
                "(core.selection.run_selection)",
                param="seed_selection",
                **where,
            ) from None
        members = np.flatnonzero(rank >= 0)
        seed = members[np.argsort(rank[members], kind="stable")]
    elif p["seed_budget"] is not None:
        local = np.flatnonzero(np.isfinite(emb).all(axis=1))
        seed = local[k_center_greedy(emb[local], p["seed_budget"], p["seed"]).indices]
    rest = np.ones(len(pool), dtype=bool)
    rest[seed] = False
    if rest.any() and not np.isfinite(reward[rest]).any():
        raise RecipeError(
            f"none of the {int(rest.sum())} samples outside the seed has a '{p['column']}' score; {_NECESSITY_FIX}",
            **where,
        )
    picks = mods_necessity(reward, p["threshold"], seed=seed, emb=emb, budget=p["budget"], random_seed=p["seed"])
    return pool[picks]


# Removed samples a dedup step's log lists with the kept sample each duplicates (the count is always complete).
MAX_REPORTED_DUPLICATES = 10_000


def _embedder(data: Mapping[str, Any]) -> str | None:
    """The identity of the embedder behind ``data["embedding"]``, when the caller says (``run_selection`` does)."""
    try:
        return data["embedder"]
    except KeyError:
        return None


def _threshold(value, kind: str, data: Mapping[str, Any], rows: np.ndarray) -> float:
    """A threshold parameter's value: itself, or for "auto" the one calibrated for the embedder (core.similarity)."""
    from core.similarity import calibrated_threshold

    return calibrated_threshold(_embedder(data), kind, rows) if value == "auto" else value


def apply_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], *, number: int | None = None) -> np.ndarray:
    """Run one step on the samples at positions ``pool`` (in their current order).

    Args:
        step: a checked step.
        pool: positions into the arrays of ``data``, in the order the previous step left them.
        data: name -> array over all samples, for every name ``step_inputs`` lists. "embedding" is (n, d) with NaN
            rows for samples without one (they cannot be chosen by embedding steps); "status" holds review
            statuses; "conversation", "prompt" and "answer" hold texts; "embedder" (optional) names the embedder
            whose calibration an "auto" threshold uses. It may fetch lazily on ``__getitem__``.
        number: the step's 1-based number, for error messages.

    Returns:
        positions (a subset of ``pool``): in pool order for filters, dedup, stratified and mixture; in rank or pick
        order for ifd_top, superfilter, k_center, facility_location and deita; the seed, then the added samples, for
        mods_necessity.

    Raises:
        RecipeError: ``data`` lacks an input the step needs.
    """
    return _run_step(step, pool, data, number)[0]


def _run_step(step: Step, pool, data: Mapping[str, Any], number: int | None) -> tuple[np.ndarray, dict]:
    """``apply_step``, and what the step's log records besides its counts (the dedup report, resolved thresholds)."""
    pool = np.asarray(pool, dtype=np.int64)
    p = step.params

    def get(name: str):
        try:
            values = data[name]
        except KeyError:
            raise RecipeError(
                f"needs '{name}', which the workspace does not have; run the scorer that writes it",
                step=number,
                step_name=step.name,
            ) from None
        if name == "embedding":
            return np.asarray(values, dtype=np.float32)
        return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)

    def sub(name: str) -> np.ndarray:
        return get(name)[pool]

    name = step.name
    if name == "filter":
        cols = {k: sub(k) for k in step_inputs(step)}
        try:
            return pool[filter_mask(cols, p, n=len(pool))], {}
        except RecipeError as e:
            raise RecipeError(e.problem, step=number, step_name=name) from None
    if name == "dedup":
        return _dedup_step(step, pool, data, get)
    if name in ("ifd_top", "superfilter"):
        return pool[ifd_top(sub(p["column"]), p["percent"], drop_above_one=p["drop_above_one"])], {}
    if name == "mods_quality":
        return pool[mods_quality(sub(p["column"]), p["threshold"])], {}
    if name == "mods_necessity":
        return _necessity_step(step, pool, data, number), {}
    if name == "stratified":
        return pool[stratified(sub(p["column"]), p["budget"], p["n_bins"], p["seed"])], {}
    if name == "mixture":
        if p["targets"] is None:
            raise RecipeError(
                f"plan '{p['plan']}' is a saved plan: run the recipe on a workspace (core.selection.run_selection)",
                step=number,
                step_name=name,
            )
        return pool[mixture_take(sub(p["by"]), p["targets"])], {}
    if name == "deita":
        score = np.prod([_floats(sub(c)) for c in p["score"]], axis=0)
        local, rows = _embedded(get("embedding"), pool)
        tau = _threshold(p["tau"], "redundant", data, rows)
        picked = pool[local[deita_filter(score[local], rows, p["budget"], tau)]]
        return picked, ({"tau": tau} if p["tau"] == "auto" else {})
    local, rows = _embedded(get("embedding"), pool)
    if name == "k_center":
        return pool[local[k_center_greedy(rows, p["budget"], p["seed"]).indices]], {}
    return pool[local[facility_location(rows, p["budget"])]], {}  # facility_location


def _dedup_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], get) -> tuple[np.ndarray, dict]:
    """The dedup step (``dedup.find_duplicates``) and its report: positions into ``data`` of each removed sample and
    of the kept one it duplicates, how they were found and their similarity (the first MAX_REPORTED_DUPLICATES)."""
    p = step.params
    texts = None
    if p["exact"] or p["minhash_threshold"]:
        texts = [t if isinstance(t, str) else "" for t in get(p["text"])[pool]]
    local = rows = threshold = None
    if p["near_threshold"]:
        local, rows = _embedded(get("embedding"), pool)
        threshold = _threshold(p["near_threshold"], "near_duplicate", data, rows)
    removed, report = dedup.find_duplicates(
        len(pool),
        texts=texts,
        exact=p["exact"],
        text_threshold=p["minhash_threshold"],
        ngram=p["ngram"],
        emb=rows,
        emb_rows=local,
        embedding_threshold=threshold,
        scores=get(p["keep_by"])[pool] if p["keep_by"] else None,
    )
    extra: dict = {"near_threshold": threshold} if p["near_threshold"] == "auto" else {}
    extra["duplicates"] = {
        "removed": len(report),
        "pairs": [
            [int(pool[d.removed]), int(pool[d.kept]), d.how, d.similarity] for d in report[:MAX_REPORTED_DUPLICATES]
        ],
    }
    return np.delete(pool, removed), extra


@dataclass
class RecipeRun:
    """What ``run_recipe`` returns: the selected positions and one log entry per step."""

    indices: np.ndarray
    log: list[dict] = field(default_factory=list)


def run_recipe(
    recipe: Recipe, data: Mapping[str, Any], n: int, *, progress: Callable[[int, Step], None] | None = None
) -> RecipeRun:
    """Apply every step in order, starting from all ``n`` samples.

    Args:
        recipe: a checked recipe.
        data: name -> per-sample array for every name in ``recipe_inputs(recipe)`` (see ``apply_step``).
        n: number of samples (positions 0..n-1).
        progress: called with (1-based step number, step) before each step.

    Returns:
        ``RecipeRun(indices, log)``: the positions the last step left, in its order, and for each step
        {"step", "name", "params", "in", "out"} (sample counts before and after), plus for a dedup step
        "duplicates": {"removed": count, "pairs": [[removed, kept, how, similarity], ...]} (positions into
        ``data``; see ``dedup.Duplicate``), and the value an "auto" threshold took ("near_threshold", "tau").
    """
    pool = np.arange(n, dtype=np.int64)
    log = []
    for number, step in enumerate(recipe.steps, start=1):
        if progress:
            progress(number, step)
        out, extra = _run_step(step, pool, data, number)
        log.append(
            {"step": number, "name": step.name, "params": step.params, "in": len(pool), "out": len(out), **extra}
        )
        pool = out
    return RecipeRun(pool, log)
