"""The algorithms behind the Explore page: a 2-D map of the embeddings, clusters, cluster names and a drawable sample.

Everything here is pure: numpy arrays and lists in, arrays and dicts out, deterministic for a given seed. The store
keeps the embeddings; the page (or a background job) calls these functions and saves what they return.

- ``project_2d``: normalize, PCA to 50 dimensions, UMAP to 2 (PCA alone below ~15 points). At scale, UMAP is fitted on
  a seeded sample and the rest is placed with ``transform``.
- ``default_k`` / ``cluster`` / ``cluster_centroids``: MiniBatchKMeans on the normalized embeddings.
- ``cluster_names``: a few distinctive words per cluster, c-TF-IDF (as in BERTopic) over an English + Chinese tokenizer.
- ``stratified_sample``: at most ``max_points`` indices, stratified by cluster so small clusters still show.
- ``distinct_colours``: one colour per cluster, distinct for any number of clusters.

Heavy imports (umap, which compiles with numba on first import, and jieba) live inside the functions that need them.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.apportion import largest_remainder
from core.similarity import normalize_rows

log = logging.getLogger("winnow")

# (done, total, message) -> None, as in core.jobs; it may raise Cancelled between two steps.
Progress = Callable[[int, int, str], None]

UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1
# Below this many points UMAP's neighbour graph is meaningless (and umap warns or fails); PCA to 2-D is the honest map.
MIN_POINTS_FOR_UMAP = UMAP_NEIGHBORS + 1
_TRANSFORM_BATCH = 50_000  # points placed per ``transform`` call: one progress tick each, bounded memory


# --- projection ----------------------------------------------------------------------------------------------------


def _pca(x: np.ndarray, fit_rows: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """Project ``x`` on the top ``dims`` principal axes of ``x[fit_rows]``, axis signs fixed for determinism."""
    from sklearn.decomposition import PCA

    dims = min(dims, x.shape[1], len(fit_rows))
    pca = PCA(n_components=dims, svd_solver="full" if len(fit_rows) <= 5_000 else "randomized", random_state=seed)
    pca.fit(x[fit_rows])
    # Flip each axis so its largest-magnitude loading is positive: the same data always gives the same picture.
    signs = np.sign(pca.components_[np.arange(dims), np.abs(pca.components_).argmax(axis=1)])
    return (pca.transform(x) * np.where(signs == 0, 1.0, signs)).astype(np.float32)


def project_2d(
    emb: np.ndarray,
    *,
    seed: int = 0,
    fit_sample: int = 20_000,
    pca_dims: int = 50,
    progress: Progress | None = None,
) -> np.ndarray:
    """Map embeddings to 2-D points for the Explore scatter plot.

    Rows are L2-normalized first, so Euclidean distances below are monotone in cosine similarity (what the embedder
    was trained for). PCA then keeps ``pca_dims`` axes, which removes noise and makes UMAP's neighbour search
    faster; UMAP (``n_neighbors=15``, ``min_dist=0.1``, Euclidean on the PCA output, ``random_state=seed``) lays out
    the points. Above ``fit_sample`` points, PCA and UMAP are fitted on a seeded sample and the other points are placed
    with ``transform`` in batches: the layout's shape is set by a sample that size, and fitting UMAP on 1M points
    would take hours on a CPU. Below ~15 points the result is the plain PCA 2-D projection.

    Args:
        emb: (n, d) embeddings, any float dtype.
        seed: fixes PCA, the fit sample and UMAP; the same inputs and seed give the same points.
        fit_sample: most points UMAP is fitted on.
        pca_dims: PCA dimensions before UMAP (skipped when d is not larger).
        progress: called as ``progress(done, total, message)`` between steps; may raise ``Cancelled``.

    Returns:
        (n, 2) float32 coordinates. Only relative positions mean anything: near points have similar embeddings.
    """
    x = normalize_rows(emb)
    n = len(x)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n == 1:
        return np.zeros((1, 2), dtype=np.float32)
    fit_sample = max(int(fit_sample), MIN_POINTS_FOR_UMAP)
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, size=fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    n_batches = math.ceil((n - len(fit_rows)) / _TRANSFORM_BATCH)
    total = 2 + n_batches

    def tick(done: int, message: str) -> None:
        if progress is not None:
            progress(done, total, message)

    if n < MIN_POINTS_FOR_UMAP:
        out = _pca(x, fit_rows, 2, seed)
        if out.shape[1] < 2:  # a single distinct axis (d == 1): pad so callers always get two columns
            out = np.hstack([out, np.zeros((n, 2 - out.shape[1]), dtype=np.float32)])
        tick(total, "projected with PCA (too few points for UMAP)")
        return out

    tick(0, f"PCA to {pca_dims} dimensions")
    if x.shape[1] > pca_dims:
        x = _pca(x, fit_rows, pca_dims, seed)
    tick(1, f"fitting UMAP on {len(fit_rows):,} points")
    reducer = _umap(len(fit_rows), seed)
    out = np.empty((n, 2), dtype=np.float32)
    out[fit_rows] = reducer.fit_transform(x[fit_rows])
    if n_batches:
        rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
        for b in range(n_batches):
            tick(2 + b, f"placing points {b * _TRANSFORM_BATCH:,}–{min((b + 1) * _TRANSFORM_BATCH, len(rest)):,}")
            rows = rest[b * _TRANSFORM_BATCH : (b + 1) * _TRANSFORM_BATCH]
            out[rows] = reducer.transform(x[rows])
    tick(total, "projected")
    return out


def _umap(n_fit: int, seed: int):
    import warnings

    with warnings.catch_warnings():
        # umap imports numba and tensorflow-adjacent bits that warn on import; none of it concerns the user.
        warnings.simplefilter("ignore")
        import umap

    return umap.UMAP(
        n_components=2,
        n_neighbors=min(UMAP_NEIGHBORS, n_fit - 1),
        min_dist=UMAP_MIN_DIST,
        metric="euclidean",
        random_state=seed,
        n_jobs=1,  # a seeded UMAP is single-threaded anyway (umap warns unless we say so): the price of reproducibility
        transform_seed=seed,
    )


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


def place_points(
    new: np.ndarray,
    reference: np.ndarray,
    reference_xy: np.ndarray,
    reference_clusters: np.ndarray,
    *,
    neighbours: int = UMAP_NEIGHBORS,
    batch: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Place new embeddings on a map that is already drawn, without refitting it.

    Each new point goes where UMAP's own ``transform`` starts a new point before its few epochs of refinement: the
    mean of its ``neighbours`` nearest reference points' 2-D positions, weighted by similarity (cosine, on
    L2-normalized rows, as the map was fitted). Its cluster is the one whose centroid it is most similar to, which
    is how k-means assigns a new point. Keeping no fitted UMAP model means keeping no pickle in the workspace file
    (loading one runs whatever code it holds).

    Args:
        new: (m, d) embeddings to place.
        reference: (n, d) embeddings of points already on the map, with their (n, 2) ``reference_xy`` and (n,)
            ``reference_clusters``.

    Returns:
        ((m, 2) float32 positions, (m,) int32 clusters).
    """
    x_new, x_ref = normalize_rows(new), normalize_rows(reference)
    m = len(x_new)
    if m == 0 or len(x_ref) == 0:
        return np.zeros((m, 2), dtype=np.float32), np.zeros(m, dtype=np.int32)
    reference_xy = np.asarray(reference_xy, dtype=np.float32)
    labels = np.asarray(reference_clusters, dtype=np.int64)
    centroids = cluster_centroids(x_ref, labels)
    present = np.bincount(labels, minlength=len(centroids)) > 0
    k = min(int(neighbours), len(x_ref))
    xy = np.empty((m, 2), dtype=np.float32)
    clusters = np.empty(m, dtype=np.int32)
    for start in range(0, m, batch):
        part = x_new[start : start + batch]
        sims = part @ x_ref.T
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(sims, near, axis=1), 0.0, None) + 1e-6
        xy[start : start + batch] = (weights[:, :, None] * reference_xy[near]).sum(1) / weights.sum(1, keepdims=True)
        to_centroid = np.where(present[None, :], part @ centroids.T, -np.inf)
        clusters[start : start + batch] = to_centroid.argmax(axis=1)
    return xy, clusters


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


# --- drawing a sample ----------------------------------------------------------------------------------------------


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


# --- colours -------------------------------------------------------------------------------------------------------

# Two colours closer than this (the "redmean" RGB distance, a cheap stand-in for perceived difference) are not used
# together while the palettes last. Plotly's own qualitative palettes keep their colours 68-113 apart.
MIN_COLOUR_DISTANCE = 80.0


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_distance(a: str, b: str) -> float:
    """How different two "#RRGGBB" colours look: the redmean-weighted RGB distance (0 = equal, ~765 = black/white)."""
    (r1, g1, b1), (r2, g2, b2) = _rgb(a), _rgb(b)
    mean_red = (r1 + r2) / 2
    return math.sqrt(
        (2 + mean_red / 256) * (r1 - r2) ** 2 + 4 * (g1 - g2) ** 2 + (2 + (255 - mean_red) / 256) * (b1 - b2) ** 2
    )


def distinct_colours(n: int) -> list[str]:
    """``n`` different "#RRGGBB" colours for ``n`` clusters, the same list for the same ``n`` (each is a prefix of
    the next).

    Plotly's default ten come first, so a small map looks as it always did. Then, from the colours of Plotly's other
    qualitative palettes, the one farthest from every colour taken so far, again and again while it stays at least
    ``MIN_COLOUR_DISTANCE`` away (57 colours in all; the 11th is near-black, the 12th a grass green). Past those,
    hues step by the golden angle through three lightnesses and two saturations, skipping any colour already taken,
    so no two clusters ever share a colour (a plain cycle of a 10-colour palette gave cluster 10 the colour of
    cluster 0).
    """
    import colorsys

    chosen = list(_palette_colours())[:n]
    taken = set(chosen)
    step = 0
    while len(chosen) < n:
        hue = (step * 0.6180339887) % 1.0
        lightness = (0.45, 0.65, 0.30)[step % 3]
        saturation = (0.75, 0.55)[(step // 3) % 2]
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colour = f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"
        if colour not in taken:
            taken.add(colour)
            chosen.append(colour)
        step += 1
    return chosen


@functools.cache
def _palette_colours() -> tuple[str, ...]:
    """Plotly's ten, then farthest-first picks from its other qualitative palettes (see ``distinct_colours``)."""
    from plotly.colors import qualitative

    chosen = [c.upper() for c in qualitative.Plotly]
    others = ("Alphabet", "Dark24", "Light24", "D3", "T10", "G10")  # the "#RRGGBB" ones
    pool = [
        c for c in dict.fromkeys(c.upper() for name in others for c in getattr(qualitative, name)) if c not in chosen
    ]
    nearest = {c: min(colour_distance(c, t) for t in chosen) for c in pool}
    while nearest:
        best = max(nearest, key=nearest.get)  # the first of equals, in palette order
        if nearest.pop(best) < MIN_COLOUR_DISTANCE:
            break
        chosen.append(best)
        nearest = {c: min(d, colour_distance(c, best)) for c, d in nearest.items()}
    return tuple(chosen)
