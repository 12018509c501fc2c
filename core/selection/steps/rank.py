"""Score rules: steps that keep samples by a score or a label.

ifd_top (Cherry LLM) and superfilter_top (Superfiltering) by IFD; mods_quality and mods_necessity (MoDS) by reward;
stratified, the same share from every quantile bin of a score; mixture_take, a count per label; deita_score, DEITA's
complexity x quality.

Scores are "higher is better" unless a docstring says otherwise; NaN (or None) means "not scored", and a rule that
ranks by a score leaves such samples out. Ties go to the lower position; the rules that draw at random take a seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from core.selection.steps.arrays import as_floats, as_rows, order_desc
from core.selection.steps.diversity import k_center_greedy


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
    v = as_floats(ifd)
    ok = np.isfinite(v)
    if drop_above_one:
        ok &= v <= 1.0
    idx = np.flatnonzero(ok)
    # round() first so that 3.0000000000000004 does not become 4.
    count = math.ceil(round(len(idx) * percent / 100, 9))
    return order_desc(v, idx)[:count]


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
        return as_floats(reward) > threshold


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
    v = as_floats(reward)
    kept = _ordered_unique(seed)
    with np.errstate(invalid="ignore"):
        necessary = v < threshold
    necessary[kept] = False
    added = np.flatnonzero(necessary)
    if budget is not None and len(added) > budget:
        x = as_rows(emb)
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
    return as_floats(complexity) * as_floats(quality)


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
    v = as_floats(values)
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
