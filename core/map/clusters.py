"""Clusters of the embeddings and their names: the groups the Explore map colours, and a few words for each.

Pure: numpy arrays and lists in, arrays and dicts out, deterministic for a given seed.

- ``default_k`` / ``cluster`` / ``cluster_centroids``: MiniBatchKMeans on the normalized embeddings.
- ``cluster_names``: a few distinctive words per cluster, c-TF-IDF (as in BERTopic) over an English + Chinese tokenizer.

Heavy imports (sklearn, scipy, and jieba with its dictionary) live inside the functions that need them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.map.sampling import stratified_sample
from core.similarity import normalize_rows

# --- clustering ----------------------------------------------------------------------------------------------------


def default_k(n: int) -> int:
    """The number of clusters to suggest for ``n`` samples: round(sqrt(n / 2)), clipped to [2, 200] and to n.

    sqrt(n/2) is the classic rule of thumb for k-means (Mardia et al., *Multivariate Analysis*, 1979): ~7 clusters
    for 100 samples, ~71 for 10k. Above 80k samples it would pass 200, which is already more clusters than a person
    can read names for on one page, so it stops there; finer structure is found by filtering to one cluster and
    clustering again.
    """
    if n <= 1:
        return max(n, 1)
    return int(min(n, np.clip(round(math.sqrt(n / 2)), 2, 200)))


def cluster(emb: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster the embeddings into ``k`` groups with MiniBatchKMeans on the L2-normalized rows.

    Normalizing first makes k-means group by cosine similarity (spherical k-means, approximately). ``n_init=3`` and
    ``random_state=seed`` make the result deterministic. The mini-batch variant with sklearn's default batch of 1024
    also seeds with k-means++ on only 3 × 1024 points, which is what keeps it fast: 10k × 384 into 71 clusters takes
    ~7 s on 2 CPU cores (a batch of 4096 took 18 s, for a worse fit), and 100k into 200 ~45 s.

    Returns:
        (n,) int32 cluster ids in [0, k'), k' = min(k, n). Ids are renumbered by decreasing cluster size, so cluster 0
        is the largest: a stable, readable order for legends.
    """
    from sklearn.cluster import MiniBatchKMeans

    x = normalize_rows(emb)
    n = len(x)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    k = min(int(k), n)
    if k == 1:
        return np.zeros(n, dtype=np.int32)
    model = MiniBatchKMeans(n_clusters=k, n_init=3, random_state=seed)
    raw = model.fit_predict(x)
    return _by_size(raw, k)


def _by_size(labels: np.ndarray, k: int) -> np.ndarray:
    """Renumber labels 0..k-1 so that 0 is the largest cluster (ties: the lower old id first)."""
    sizes = np.bincount(labels, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # new id -> old id
    new_id = np.empty(k, dtype=np.int32)
    new_id[order] = np.arange(k, dtype=np.int32)
    return new_id[labels]


def cluster_centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The unit-length mean direction of each cluster's normalized embeddings.

    Returns:
        (max(labels) + 1, d) float32; row c is cluster c's centroid (zeros for an id with no members). Cosine
        similarity to a centroid (a dot product) ranks a cluster's members from typical to odd.
    """
    x = normalize_rows(emb)
    labels = np.asarray(labels)
    if len(labels) != len(x):
        raise ValueError(f"{len(labels)} labels for {len(x)} embeddings")
    if len(labels) == 0:
        return np.zeros((0, x.shape[1]), dtype=np.float32)
    sums = np.zeros((int(labels.max()) + 1, x.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, x)
    return normalize_rows(sums)


# --- cluster names -------------------------------------------------------------------------------------------------

# Function words that would otherwise top every cluster. Short on purpose: c-TF-IDF already demotes words that are
# common everywhere; these lists only remove the ones so frequent they crowd out everything in small clusters.
EN_STOPWORDS = frozenset({
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "done", "down", "during", "each", "either", "etc", "few", "for", "from", "further", "get",
    "give", "given", "gives", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "let", "like", "make", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
    "out", "over", "own", "please", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "use", "used", "using", "very", "via", "want", "was", "way", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "write", "you", "your",
    "yours", "yourself"
})  # fmt: skip
ZH_STOPWORDS = frozenset({
    "的", "了", "是", "在", "和", "与", "及", "或", "我", "你", "您", "他", "她", "它",
    "我们", "你们", "他们", "请", "请问", "一个", "一些", "一下", "这个", "那个", "这些", "那些",
    "这样", "那样", "什么", "怎么", "怎样", "如何", "为什么", "哪些", "可以", "能够", "能否",
    "需要", "应该", "就是", "还是", "但是", "因为", "所以", "如果", "然后", "以及", "并且",
    "而且", "没有", "不是", "进行", "使用", "帮我", "给我", "告诉", "下面", "以下", "如下",
    "关于", "对于", "其中", "非常", "比较", "已经", "自己", "现在", "时候", "问题", "内容",
    "一段", "一句", "这句", "这段", "一篇", "一种", "帮忙"
})  # fmt: skip

# A run of CJK ideographs (handed to jieba), or a Latin word (letters, digits, _ + #; starting with a letter so
# numbers are dropped, ending with a letter/digit/+/# so "c++" and "c#" survive and trailing "_" does not).
_TOKEN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([a-z][a-z0-9_+#]*)")

_jieba_lock = threading.Lock()
_jieba = None


def _jieba_tokenizer():
    """jieba's default tokenizer, initialised once, quietly, with its dictionary cache in a writable folder."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            # jieba caches its parsed dictionary in tempfile.gettempdir(); point it at Winnow's cache when that is
            # writable so read-only /tmp (some containers) does not cost a re-parse (~1 s) on every process start.
            cache = Path(os.environ.get("WINNOW_CACHE_DIR") or Path.home() / ".cache" / "winnow") / "jieba"
            try:
                cache.mkdir(parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(cache)
            except OSError:
                jieba.dt.tmp_dir = tempfile.gettempdir()
            jieba.initialize()
            _jieba = jieba
        return _jieba


def tokenize(text: str) -> list[str]:
    """Content words of ``text``: lowercase English words and jieba-segmented Chinese words, stopwords removed.

    Digits, punctuation and one-letter English words are dropped. Chinese runs go through jieba's search mode, which
    also emits the dictionary words inside a compound (翻译成 → 翻译, 译成, 翻译成), so documents that share a root
    but not a compound still share a term. One-character Chinese words are dropped, as jieba's own keyword
    extraction does: they are nearly all particles and measure words (个, 把, 吗), and the content words that name a
    task (翻译, 代码, 诗歌) are two characters or more.
    """
    jieba = None
    out: list[str] = []
    for cjk, latin in _TOKEN.findall(text.lower()):
        if latin:
            word = latin.rstrip("_")
            if len(word) > 1 and word not in EN_STOPWORDS:
                out.append(word)
        else:
            jieba = jieba or _jieba_tokenizer()
            out.extend(w for w in jieba.lcut_for_search(cjk) if len(w) > 1 and w not in ZH_STOPWORDS)
    return out


def class_tfidf(docs_terms: Sequence[Sequence[str]], labels: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """c-TF-IDF weights: how distinctive each term is for each cluster (BERTopic's formula, our implementation).

        W[t, c] = tf[t, c] · log(1 + A / f[t])

    tf[t, c] is the share of cluster c's term occurrences that are t (counts L1-normalized per cluster, as BERTopic
    does, so big clusters do not win by size), f[t] the number of occurrences of t across all clusters, and A the
    mean number of term occurrences per cluster. A term is counted once per document: one long answer repeating a
    word should not name its cluster.

    Returns:
        (weights (n_clusters, n_terms) float64, terms, cluster ids): row i of ``weights`` is cluster ``ids[i]``.
    """
    from scipy import sparse

    labels = np.asarray(labels)
    ids, rows = np.unique(labels, return_inverse=True)
    vocab: dict[str, int] = {}
    r: list[int] = []
    c: list[int] = []
    for row, terms in zip(rows, docs_terms, strict=True):
        for term in set(terms):
            r.append(row)
            c.append(vocab.setdefault(term, len(vocab)))
    counts = sparse.coo_matrix(
        (np.ones(len(r), dtype=np.float64), (np.asarray(r, dtype=np.int64), np.asarray(c, dtype=np.int64))),
        shape=(len(ids), len(vocab)),
    ).toarray()  # clusters × vocabulary: ≤ 200 × (vocabulary of the sampled docs), fine dense
    per_cluster = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(per_cluster > 0, per_cluster, 1.0)
    freq = counts.sum(axis=0)
    mean_words = per_cluster.mean() if len(ids) else 0.0
    idf = np.log1p(mean_words / np.where(freq > 0, freq, 1.0))
    terms = [""] * len(vocab)
    for term, j in vocab.items():
        terms[j] = term
    return tf * idf, terms, ids


def cluster_names(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    top: int = 3,
    per_cluster: int | None = 2_000,
    seed: int = 0,
) -> dict[int, str]:
    """A short name per cluster from its most distinctive words: "python · list · sort", "翻译 · 英文 · 句子".

    Args:
        texts: one text per sample (the instruction, or the first user turn, is what names a task best).
        labels: (n,) cluster ids, as from ``cluster``.
        top: words per name.
        per_cluster: tokenize at most this many seeded-random texts per cluster (``None``: all). Tokenizing 1M texts
            with jieba takes minutes; 2,000 per cluster names a cluster just as well.
        seed: picks the per-cluster sample.

    Returns:
        {cluster id: name} for every id in ``labels``; "cluster <id>" when a cluster has no usable words. Words are
        ordered from most to least distinctive.
    """
    labels = np.asarray(labels)
    if len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    if len(labels) == 0:
        return {}
    rows = (
        stratified_sample(labels, 0, seed, per_stratum=per_cluster)
        if per_cluster is not None
        else np.arange(len(labels))
    )
    weights, terms, ids = class_tfidf([tokenize(texts[i]) for i in rows], labels[rows])
    names: dict[int, str] = {}
    for i, cid in enumerate(ids):
        w = weights[i]
        names[int(cid)] = " · ".join(_top_terms(w, terms, top)) or f"cluster {int(cid)}"
    return names


def _top_terms(weights: np.ndarray, terms: list[str], top: int) -> list[str]:
    """The ``top`` best-weighted terms, skipping one that contains or is inside a term already chosen: search-mode
    segmentation gives 翻译 and 翻译成 for the same documents, and a name should not spend two of its words on one."""
    chosen: list[str] = []
    # lexsort on (-weight, term): ties break alphabetically, not by the order words were first seen
    for j in np.lexsort((terms, -weights)) if terms else []:
        if len(chosen) == top or weights[j] <= 0:
            break
        if not any(terms[j] in c or c in terms[j] for c in chosen):
            chosen.append(terms[j])
    return chosen
