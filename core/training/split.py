"""The train/validation split: deterministic, stratified by task label, exact duplicates kept on one side.

The split is drawn per task label: within each label the samples are ordered by a hash of (seed, sample id), and the
first ones go to validation; the numbers per label are a largest-remainder rounding of ``val_fraction``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from core.errors import WinnowError


def _rank_key(seed: int, sample_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{sample_id}".encode()).digest()


def split_validation(
    ids: Sequence[str],
    labels: Sequence[str | None],
    val_fraction: float,
    seed: int,
    contents: Sequence[str] | None = None,
) -> set[str]:
    """The ids that go to validation: ``round(val_fraction x n)`` samples, shared among task labels by largest
    remainder (ties: the larger label, then the name), and within a label the first ones by a hash of (seed, id).

    Args:
        contents: each sample's content hash. Samples with the same content then rank together, and all of them
            follow the first one chosen into validation, so an exact duplicate never sits on both sides of the
            split (validation loss would flatter the model). Validation may then hold a few more than its quota.

    The same ids, labels, fraction and seed always give the same split, whatever the input order.
    """
    if not 0 <= val_fraction < 1:
        raise WinnowError(f"val_fraction must be at least 0 and below 1, got {val_fraction}")
    groups: dict[str, list[str]] = {}
    for sample_id, label in zip(ids, labels, strict=True):
        groups.setdefault(label if label is not None else "(unlabeled)", []).append(sample_id)
    total = math.floor(val_fraction * len(ids) + 0.5)
    quota = {label: math.floor(val_fraction * len(members)) for label, members in groups.items()}
    left = total - sum(quota.values())
    by_remainder = sorted(groups, key=lambda g: (-(val_fraction * len(groups[g]) - quota[g]), -len(groups[g]), g))
    for label in by_remainder[: max(left, 0)]:
        quota[label] += 1
    content_of = dict(zip(ids, contents, strict=True)) if contents is not None else {}
    out: set[str] = set()
    for label, members in groups.items():
        ranked = sorted(members, key=lambda s: (_rank_key(seed, content_of.get(s, s)), s))
        out.update(ranked[: quota[label]])
    if content_of:
        chosen = {content_of[s] for s in out}
        out.update(s for s in ids if content_of[s] in chosen)
    return out
