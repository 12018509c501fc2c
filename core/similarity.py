"""What a cosine similarity means for a given embedder: thresholds calibrated on its random pairs.

Cosines are not comparable across embedders. Over random pairs of requests from the shared English and Chinese
data, use-multilingual averages 0.11 (English) and 0.10 (Chinese), multilingual-e5-small 0.78 and 0.84, and
all-MiniLM-L6-v2 0.10 on English but 0.55 on Chinese (it reads most Chinese characters as [UNK]). A fixed threshold such as DEITA's 0.9 is strict for one and
meaningless for another, so the embedding steps take ``auto`` thresholds derived from the embedder's own
distribution of random-pair cosines:

- ``redundant`` (DEITA's tau): the 99.9th percentile of random pairs: two samples closer than 999 in 1,000 random
  pairs say nearly the same thing.
- ``near_duplicate`` (dedup by embedding): half way from the 99.99th percentile to 1: far closer than any but the
  rarest random pair. 0.828 for use-multilingual, 0.964 for e5-small, 0.975 for MiniLM; among 400 Chinese requests
  and 60 planted copies, use-multilingual's finds 93 % of the copies at 95 % precision (``make bench``).

``RANDOM_PAIRS`` holds the percentiles of the bundled embedders, measured by ``make bench`` (section ``embedders``:
800 requests, 400 English and 400 Chinese, all 319,600 pairs). For any other embedder the same percentiles are
taken from the data at hand (``pair_percentiles``, on up to 200,000 random pairs of the samples being selected).
"""

from __future__ import annotations

import numpy as np

# embedder name -> percentiles of random-pair cosines (p99.9, p99.99), from ``make bench`` section ``embedders``.
RANDOM_PAIRS: dict[str, dict[str, float]] = {
    "bundled:use-multilingual-v3": {"p99.9": 0.529, "p99.99": 0.656},
    "bundled:multilingual-e5-small-q4": {"p99.9": 0.902, "p99.99": 0.928},
    "bundled:all-MiniLM-L6-v2": {"p99.9": 0.854, "p99.99": 0.950},
}
KINDS = ("redundant", "near_duplicate")


def pair_percentiles(emb: np.ndarray, *, pairs: int = 200_000, seed: int = 0) -> dict[str, float]:
    """The p99.9 and p99.99 of cosines over random pairs of distinct rows of ``emb`` (unit rows).

    All pairs when there are fewer than ``pairs`` of them; else ``pairs`` pairs drawn with a fixed seed.
    """
    x = np.asarray(emb, dtype=np.float32)
    n = len(x)
    if n < 2:
        return {"p99.9": 1.0, "p99.99": 1.0}
    if n * (n - 1) // 2 <= pairs:
        a, b = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(seed)
        a = rng.integers(0, n, pairs)
        b = (a + rng.integers(1, n, pairs)) % n  # never a row with itself
    sims = np.einsum("ij,ij->i", x[a], x[b])
    return {"p99.9": float(np.quantile(sims, 0.999)), "p99.99": float(np.quantile(sims, 0.9999))}


def threshold_from(percentiles: dict[str, float], kind: str) -> float:
    """The ``kind`` threshold ("redundant" or "near_duplicate") for an embedder with these percentiles."""
    if kind == "redundant":
        return round(percentiles["p99.9"], 3)
    if kind == "near_duplicate":
        return round(percentiles["p99.99"] + (1.0 - percentiles["p99.99"]) / 2, 3)
    raise ValueError(f"unknown threshold kind {kind!r}; use one of {', '.join(KINDS)}")


def calibrated_threshold(embedder: str | None, kind: str, emb: np.ndarray | None = None) -> float:
    """The ``kind`` threshold for ``embedder`` (its identity in scorer keys): stored for the bundled embedders, else
    measured on ``emb`` (the vectors at hand).

    Raises:
        ValueError: an unknown kind, or an embedder without stored percentiles and no vectors to measure.
    """
    stored = RANDOM_PAIRS.get(embedder or "")
    if stored is None:
        if emb is None:
            raise ValueError(f"no stored calibration for embedder {embedder!r} and no vectors to measure one on")
        stored = pair_percentiles(emb)
    return threshold_from(stored, kind)


def normalize_rows(emb: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n, d), got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.where(norms > 0, norms, 1.0)
