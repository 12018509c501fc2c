"""Duplicates: exact copies, near copies by text (MinHash LSH) and near copies by embedding; which member of each
group stays; and, for each sample removed, the kept sample it duplicates, so a lead can check them in Review.

Near copies are found by text by default. Embeddings say two samples are *about* the same thing, which is what
diversity steps want (k-center, DEITA's filter), but a dedup threshold on them depends on the embedder: an
English-only embedder puts unrelated Chinese requests at cosine 0.55 on average (MiniLM, which reads most Chinese
characters as [UNK]; 0.10 on English), and with ``near_threshold: 0.95`` it removed 23 of 400 distinct Chinese samples
(``make bench``, section dedup). Text overlap means the same in every language and for every embedder, and its
threshold reads plainly: 0.6 means "60 % of their shingles are shared".

Text near copies: each text is normalized (``normalize_text``) and cut into tokens, where a CJK character (Chinese,
Japanese kana, Korean) is a token and so is a run of letters or digits in other scripts; a shingle is ``ngram``
consecutive tokens, so Chinese gets character n-grams and English word n-grams, and a text mixing both gets both.
MinHash signatures (datasketch) estimate the Jaccard similarity of two texts' shingle sets; an LSH index finds the
candidate pairs, and a pair is a near copy when its estimate reaches the threshold (standard error about 0.035 at
128 permutations). Pairs are chained into groups (union-find).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from core.errors import MissingDependency

# --- normalized text -----------------------------------------------------------------------------------------------


def _is_edge_junk(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def normalize_text(text: str) -> str:
    """The text exact-dedup compares: NFKC, casefolded, whitespace runs as one space, punctuation trimmed at the ends.

    So "Hello,  World!" and "hello, world" are the same, and fullwidth "ＡＢＣ" equals "abc"; punctuation inside
    the text still counts ("let's eat, grandma" differs from "let's eat grandma").
    """
    s = " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    lo, hi = 0, len(s)
    while lo < hi and _is_edge_junk(s[lo]):
        lo += 1
    while hi > lo and _is_edge_junk(s[hi - 1]):
        hi -= 1
    return s[lo:hi]


# Kana, CJK ideographs (and extension A, compatibility ideographs) and Hangul syllables: scripts written without
# spaces between words, so each character is a token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def text_tokens(text: str | None) -> list[str]:
    """The tokens of ``normalize_text(text)``: each CJK character, and each run of other letters or digits (words,
    numbers). Punctuation, symbols and spaces are not tokens."""
    return _TOKEN.findall(normalize_text(text or ""))


def shingles(text: str | None, ngram: int = 3) -> set[str]:
    """The set of ``ngram``-token shingles of ``text`` (the whole token list when shorter; empty for no tokens)."""
    tokens = text_tokens(text)
    if not tokens:
        return set()
    return {" ".join(tokens[i : i + ngram]) for i in range(max(1, len(tokens) - ngram + 1))}


def jaccard(a: str | None, b: str | None, ngram: int = 3) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (0 when both are empty)."""
    x, y = shingles(a, ngram), shingles(b, ngram)
    return len(x & y) / len(x | y) if x or y else 0.0


# --- groups --------------------------------------------------------------------------------------------------------


def _groups_from_pairs(n: int, a, b) -> list[list[int]]:
    """Connected components (union-find) of the graph with edges a[k]-b[k]: groups of 2+, members and groups sorted."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        return []
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [g.tolist() for g in np.split(order, cuts) if len(g) > 1]
    return sorted(groups, key=lambda g: g[0])


def merge_groups(n: int, *group_lists: list[list[int]]) -> list[list[int]]:
    """Join several groupings of positions < n: two samples sharing a group in any of them end up together."""
    pairs = [(g[0], m) for groups in group_lists for g in groups for m in g[1:]]
    return _groups_from_pairs(n, [p[0] for p in pairs], [p[1] for p in pairs])


def exact_groups(texts: Sequence[str | None]) -> list[list[int]]:
    """Groups of samples whose ``normalize_text`` is identical (BLAKE2b of it as the key).

    Returns:
        groups with at least two members, each sorted, ordered by first member. Unique samples are in no group.
    """
    by_key: dict[bytes, list[int]] = {}
    for i, t in enumerate(texts):
        key = hashlib.blake2b(normalize_text(t or "").encode("utf-8"), digest_size=16).digest()
        by_key.setdefault(key, []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


# --- near copies by text -------------------------------------------------------------------------------------------


class TextSignatures:
    """MinHash signatures of texts, for near-copy search and for the similarity of any two of them.

    Args:
        texts: the texts; an empty one (no tokens) has no signature and is nobody's near copy.
        ngram: tokens per shingle (see the module docstring).
        num_perm: permutations per signature; the estimate's standard error is about 1 / sqrt(num_perm).
        seed: the permutations' seed (fixed, so results repeat).
    """

    def __init__(self, texts: Sequence[str | None], *, ngram: int = 3, num_perm: int = 128, seed: int = 1):
        try:
            from datasketch import MinHash
        except ImportError as e:  # pragma: no cover - datasketch is a requirement
            raise MissingDependency("near-copy search by text needs datasketch: pip install datasketch") from e
        self.n = len(texts)
        self.num_perm = num_perm
        sets = [shingles(t, ngram) for t in texts]
        self.present = [i for i, s in enumerate(sets) if s]
        hashes = MinHash.bulk(
            [[g.encode("utf-8") for g in sorted(sets[i])] for i in self.present], num_perm=num_perm, seed=seed
        )
        self.by_pos = dict(zip(self.present, hashes, strict=True))

    def similarity(self, i: int, j: int) -> float:
        """The MinHash estimate of the Jaccard similarity of texts i and j (0 when either is empty)."""
        if i not in self.by_pos or j not in self.by_pos:
            return 0.0
        return float(self.by_pos[i].jaccard(self.by_pos[j]))

    def pairs(self, threshold: float) -> list[tuple[int, int, float]]:
        """Pairs (i < j) whose estimated Jaccard similarity is at least ``threshold``, with the estimate.

        The LSH index is tuned for ``threshold - 0.1`` so that pairs just above the threshold are rarely missed as
        candidates; each candidate's estimate then decides.
        """
        from datasketch import MinHashLSH

        if len(self.present) < 2:
            return []
        lsh = MinHashLSH(threshold=max(0.05, threshold - 0.1), num_perm=self.num_perm)
        with lsh.insertion_session() as session:
            for i in self.present:
                session.insert(i, self.by_pos[i])
        found = []
        for i in self.present:
            for j in lsh.query(self.by_pos[i]):
                if j > i and (sim := self.similarity(i, j)) >= threshold:
                    found.append((i, j, sim))
        return sorted(found)


def near_groups_text(texts: Sequence[str | None], threshold: float = 0.7, *, ngram: int = 3) -> list[list[int]]:
    """Groups of texts whose estimated shingle Jaccard similarity is at least ``threshold``, chained.

    Returns:
        groups with at least two members, each sorted, ordered by first member.
    """
    found = TextSignatures(texts, ngram=ngram).pairs(threshold)
    return _groups_from_pairs(len(texts), [p[0] for p in found], [p[1] for p in found])


# --- near copies by embedding --------------------------------------------------------------------------------------

_EXACT_SEARCH_MAX = 20_000  # rows up to which near-duplicate search compares all pairs (about 7 s at d = 384)
_ROW_BLOCK = 8192  # rows searched per faiss call


def _neighbour_index(x: np.ndarray, exact: bool):
    """A faiss inner-product index over ``x``: flat (exact), or IVF with 4·sqrt(n) lists probing 8 (approximate)."""
    try:
        import faiss
    except ImportError as e:  # pragma: no cover - faiss-cpu is a requirement
        raise MissingDependency("near-duplicate search needs faiss: pip install faiss-cpu") from e
    n, d = x.shape
    if exact:
        index = faiss.IndexFlatIP(d)
    else:
        nlist = int(4 * math.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)
        index.train(x[np.sort(sample)])
        index.nprobe = 8
    index.add(x)
    return index


def near_pairs_embedding(
    emb, threshold: float, *, k: int = 20, exact: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows whose cosine is at least ``threshold``: (a, b, cosine) arrays, each pair once (a < b).

    Each row's ``k`` nearest neighbours come from a faiss inner-product index. The search is exact up to 20k rows;
    above, an IVF index (k-means cells, 8 probed) is used, which found every planted pair at cosine 0.97 among 100k
    clustered vectors in 19 s (the exact search took 178 s).
    """
    x = np.ascontiguousarray(emb, dtype=np.float32)
    n = len(x)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    index = _neighbour_index(x, n <= _EXACT_SEARCH_MAX if exact is None else exact)
    kk = min(k + 1, n)  # +1: a sample is usually its own nearest neighbour
    a, b, s = [], [], []
    for lo in range(0, n, _ROW_BLOCK):
        sims, nbrs = index.search(x[lo : lo + _ROW_BLOCK], kk)
        rows = np.arange(lo, lo + len(nbrs))[:, None]
        hit = (sims >= threshold) & (nbrs >= 0) & (nbrs != rows)
        a.append(np.broadcast_to(rows, nbrs.shape)[hit])
        b.append(nbrs[hit])
        s.append(sims[hit])
    a, b, s = np.concatenate(a), np.concatenate(b), np.concatenate(s)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    _, first = np.unique(lo_ * n + hi_, return_index=True)
    return lo_[first], hi_[first], s[first]


def near_groups_embedding(emb, threshold: float = 0.95, *, k: int = 20, exact: bool | None = None) -> list[list[int]]:
    """Groups of samples whose embeddings have cosine >= ``threshold``, chained transitively (union-find).

    A group larger than k still forms, because neighbour lists overlap and the groups are chained.

    Args:
        emb: (n, d) float32 unit rows.
        threshold: cosine at or above which two samples are near duplicates.
        k: neighbours examined per sample.
        exact: force the exact (True) or approximate (False) search; None chooses by size.

    Returns:
        groups with at least two members, each sorted, ordered by first member.
    """
    a, b, _ = near_pairs_embedding(emb, threshold, k=k, exact=exact)
    return _groups_from_pairs(len(emb), a, b)


# --- which member stays, and the report ----------------------------------------------------------------------------


def keep_best(groups: list[list[int]], scores=None) -> tuple[np.ndarray, np.ndarray]:
    """The member of each duplicate group to keep: the highest score (NaN lowest), ties to the lowest position.

    Args:
        groups: duplicate groups of positions (from the ``*_groups`` functions or ``merge_groups``).
        scores: score per sample, higher is better; None keeps each group's lowest position (the first imported).

    Returns:
        (kept, dropped): sorted positions. Samples in no group are in neither; keep them.
    """
    kept, dropped = [], []
    v = None if scores is None else np.asarray(scores, dtype=np.float64)
    for g in groups:
        members = np.asarray(g, dtype=np.int64)
        if v is None:
            best = int(members.min())
        else:
            s = np.where(np.isnan(v[members]), -np.inf, v[members])
            best = int(members[np.lexsort((members, -s))[0]])
        kept.append(best)
        dropped.extend(int(m) for m in members if m != best)
    return np.asarray(sorted(kept), dtype=np.int64), np.asarray(sorted(dropped), dtype=np.int64)


class Duplicate(NamedTuple):
    """One sample a dedup removed: positions of it and of the kept sample of its group, and why they are one.

    ``how`` is "exact" (same normalized text), "text" (text similarity at or above the threshold, ``similarity`` the
    Jaccard estimate), "embedding" (cosine at or above the threshold, ``similarity`` the cosine), or "chain" (joined
    through other members of the group; ``similarity`` is then the text estimate, else the cosine, of the two).
    """

    removed: int
    kept: int
    how: str
    similarity: float


def find_duplicates(
    n: int,
    *,
    texts: Sequence[str | None] | None = None,
    exact: bool = True,
    text_threshold: float | None = None,
    ngram: int = 3,
    emb: np.ndarray | None = None,
    emb_rows: np.ndarray | None = None,
    embedding_threshold: float | None = None,
    scores=None,
) -> tuple[np.ndarray, list[Duplicate]]:
    """Group the duplicates among n samples and say which to remove.

    Args:
        texts: each sample's text (needed for ``exact`` and ``text_threshold``).
        exact: group identical normalized texts.
        text_threshold: group texts whose estimated shingle Jaccard similarity reaches it; None = off.
        ngram: tokens per shingle.
        emb, emb_rows: unit embeddings of the samples at positions ``emb_rows`` (those that have one).
        embedding_threshold: group samples whose cosine reaches it; None = off.
        scores: higher is better, chooses the member kept (``keep_best``); None keeps the first.

    Returns:
        (removed positions sorted, one ``Duplicate`` per removed sample in the same order).
    """
    groups = []
    signatures = None
    if texts is not None and exact:
        groups.append(exact_groups(texts))
    if texts is not None and text_threshold:
        signatures = TextSignatures(texts, ngram=ngram)
        found = signatures.pairs(text_threshold)
        groups.append(_groups_from_pairs(n, [p[0] for p in found], [p[1] for p in found]))
    where = {}
    if emb is not None and embedding_threshold:
        rows = np.asarray(emb_rows, dtype=np.int64)
        where = {int(r): k for k, r in enumerate(rows)}
        a, b, _ = near_pairs_embedding(emb, embedding_threshold)
        groups.append(_groups_from_pairs(n, rows[a], rows[b]))
    merged = merge_groups(n, *groups)
    _, dropped = keep_best(merged, scores)
    kept_of = {}
    for g in merged:
        best = int(keep_best([g], scores)[0][0])
        kept_of.update({m: best for m in g if m != best})
    report = []
    for d in dropped.tolist():
        k = kept_of[d]
        cosine = float(emb[where[d]] @ emb[where[k]]) if d in where and k in where else None
        if texts is not None and normalize_text(texts[d] or "") == normalize_text(texts[k] or ""):
            how, sim = "exact", 1.0
        elif signatures is not None and (sim := signatures.similarity(d, k)) >= text_threshold:
            how = "text"
        elif cosine is not None and cosine >= embedding_threshold:
            how, sim = "embedding", cosine
        else:
            how = "chain"
            sim = signatures.similarity(d, k) if signatures is not None else (cosine or 0.0)
        report.append(Duplicate(d, k, how, round(float(sim), 4)))
    return dropped, report
