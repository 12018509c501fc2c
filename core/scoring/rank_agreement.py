"""How far two score lists over the same samples agree on their *order*, and how well one score ranks a labelled set.

A selection keeps the top of a ranking, so a faster way to compute a score (bf16 instead of fp32, another engine)
is good enough when it keeps the order, not when it keeps every digit. Three figures say so:

- ``spearman``: rank correlation of the two lists over all samples (1 = the same order).
- ``top_overlap``: the share of one list's top ``fraction`` that is also in the other's (1 = the same picks).
- ``ranking_auc``: how well one score puts a labelled set (say, a published selection) above the rest; comparing
  two computations' AUCs says whether the cheaper one ranks the labelled samples as well.

Pure functions over plain sequences of finite floats; the caller drops unscored samples from both lists first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _finite(name: str, values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat list of scores")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds a missing or non-finite score; drop unscored samples first")
    return array


def _pair(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = _finite("a", a), _finite("b", b)
    if len(x) != len(y):
        raise ValueError(f"the two score lists differ in length ({len(x)} and {len(y)})")
    if len(x) < 2:
        raise ValueError("rank agreement needs at least two samples")
    return x, y


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two scores of the same samples (tied scores share their average rank).

    Returns:
        a value in [-1, 1]; higher is better: 1 means both put the samples in the same order, 0 no relation,
        -1 the reverse order.

    Raises:
        ValueError: the lists differ in length, hold fewer than two or a non-finite score, or one is constant (it
            has no order to compare).
    """
    from scipy.stats import spearmanr

    x, y = _pair(a, b)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("one score list is constant, so it has no order to compare")
    return float(spearmanr(x, y).statistic)


def top_count(n: int, fraction: float) -> int:
    """How many samples "the top ``fraction``" of ``n`` is: the nearest whole number, at least 1."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    return max(1, round(fraction * n))


def top_indices(scores: Sequence[float], fraction: float) -> set[int]:
    """Positions of the ``top_count(len(scores), fraction)`` highest scores.

    Tie rule: among equal scores the earlier position ranks higher, so the top is always exactly that many samples
    and does not depend on how a sort breaks ties.
    """
    x = _finite("scores", scores)
    k = top_count(len(x), fraction)
    # a stable sort on the negated score keeps equal scores in position order
    return set(np.argsort(-x, kind="stable")[:k].tolist())


def top_overlap(a: Sequence[float], b: Sequence[float], fraction: float = 0.05) -> float:
    """The share of ``a``'s top ``fraction`` that is also in ``b``'s (both tops chosen by ``top_indices``).

    Both tops hold the same number of samples, so the figure is symmetric.

    Returns:
        a value in [0, 1]; higher is better: 1 means both would pick the same samples.
    """
    x, y = _pair(a, b)
    top_a, top_b = top_indices(x, fraction), top_indices(y, fraction)
    return len(top_a & top_b) / len(top_a)


def ranking_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The probability that a labelled sample scores above an unlabelled one, a tie counting half (ROC AUC, or
    Mann-Whitney U over the pairs).

    Higher scores are taken to mean "more likely labelled", as Cherry LLM keeps the highest IFD.

    Returns:
        a value in [0, 1]; higher is better: 1 means every labelled sample outranks every other, 0.5 no better
        than chance, 0 the reverse.

    Raises:
        ValueError: the lengths differ, a score is not finite, or the labels are all true or all false.
    """
    from scipy.stats import rankdata

    x = _finite("scores", scores)
    positive = np.asarray(labels, dtype=bool)
    if positive.shape != x.shape:
        raise ValueError(f"{len(x)} scores but {len(positive)} labels")
    n_pos = int(positive.sum())
    n_neg = len(x) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ranking AUC needs both labelled and unlabelled samples")
    # average ranks give a tie between a labelled and an unlabelled sample half a win: the rank sum of the
    # labelled samples, less the part they get from ranking among themselves, counts the pairs they win
    ranks = rankdata(x)
    wins = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(wins / (n_pos * n_neg))
