"""The held-out split of an evaluation, and the proof that no training subset holds a copy of what it is tested on.

A fine-tuned model that saw an eval sample (or a near copy of it) during training scores well on it for the wrong
reason. So the split is drawn from the pool *before* any training subset, by groups of exact and near copies (a group
goes whole to one side), and every check between training and evaluation data looks for copies both ways: the same
normalized text, or a MinHash shingle similarity at or above ``NEAR_COPY``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import WinnowError
from core.selection.steps.dedup import TextSignatures, exact_groups, merge_groups, near_groups_text, normalize_text

NEAR_COPY = 0.7  # estimated shingle Jaccard at which two texts count as the same sample (dedup's default)


@dataclass(frozen=True)
class Holdout:
    """A pool split for an evaluation.

    Attributes:
        holdout: positions (in the pool) of the held-out samples, ascending.
        train_pool: positions the training subsets may draw from, ascending: the rest of the pool.
        seed: the seed that drew it.
    """

    holdout: list[int]
    train_pool: list[int]
    seed: int


def split_holdout(texts: Sequence[str | None], fraction: float, *, seed: int, near: float = NEAR_COPY) -> Holdout:
    """Draw about ``fraction`` of the pool as the held-out split, whole groups of copies at a time.

    Args:
        texts: each pool sample's text (its prompt and answer), in pool order.
        fraction: the share of samples to hold out, above 0 and below 1.
        seed: fixes the draw: the same texts, fraction and seed give the same split.
        near: the similarity at which two samples are near copies (they are never split between the two sides).

    Returns:
        The split; at least one sample is held out and at least one is left to train on.

    Raises:
        WinnowError: ``fraction`` is out of range, or the pool is too small (or too copied) to leave both sides
            a sample.
    """
    if not 0 < fraction < 1:
        raise WinnowError(f"the held-out fraction is a share of the pool above 0 and below 1, not {fraction}")
    n = len(texts)
    groups = merge_groups(n, exact_groups(texts), near_groups_text(texts, near))
    grouped = {i for g in groups for i in g}
    units = groups + [[i] for i in range(n) if i not in grouped]
    if len(units) < 2:
        raise WinnowError(
            f"the pool has {n} samples in {len(units)} group of copies: an evaluation needs at least two different "
            "samples, one to hold out and one to train on"
        )
    order = sorted(units, key=lambda g: g[0])
    random.Random(seed).shuffle(order)
    want = max(1, round(fraction * n))
    held: list[int] = []
    for unit in order[:-1]:  # the last unit always stays for training
        if len(held) >= want:
            break
        held.extend(unit)
    held_set = set(held)
    return Holdout(sorted(held), [i for i in range(n) if i not in held_set], seed)


def copies_between(train: Sequence[str | None], evaluation: Sequence[str | None], *, near: float = NEAR_COPY) -> list:
    """The pairs (train position, eval position, similarity) where a training text is an exact or near copy of an
    evaluation text; exact copies have similarity 1.0. Empty when the two sets are disjoint, which an evaluation
    asserts before it trains."""
    eval_keys: dict[str, list[int]] = {}
    for j, t in enumerate(evaluation):
        if key := normalize_text(t or ""):
            eval_keys.setdefault(key, []).append(j)
    found = {
        (i, j): 1.0 for i, t in enumerate(train) if (key := normalize_text(t or "")) for j in eval_keys.get(key, [])
    }
    signatures = TextSignatures([*train, *evaluation])
    for a, b, sim in signatures.pairs(near):  # a < b: a pair across the two sets has a in train, b in evaluation
        if a < len(train) <= b:
            found.setdefault((a, b - len(train)), sim)
    return sorted((i, j, sim) for (i, j), sim in found.items())


def check_disjoint(train: Sequence[str | None], evaluation: Sequence[str | None], *, what: str) -> None:
    """Raise when any training text is an exact or near copy of an evaluation text.

    Args:
        what: the evaluation set's name for the message (e.g. "the eval file math.jsonl").

    Raises:
        WinnowError: naming how many training samples overlap ``what`` and the first pair (positions from 1).
    """
    pairs = copies_between(train, evaluation)
    if pairs:
        overlapping = len({i for i, _, _ in pairs})
        i, j, sim = pairs[0]
        how = "the same text" if sim == 1.0 else f"a near copy (similarity {sim:.2f})"
        raise WinnowError(
            f"{overlapping} training samples overlap {what}: training sample {i + 1} is {how} of its sample {j + 1}; "
            "leave them out of the selection or drop them from the eval set"
        )
