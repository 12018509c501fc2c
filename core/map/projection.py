"""Projection of the embeddings to the 2-D map, and placement of new points on a map already drawn.

Pure: numpy arrays in, arrays out, deterministic for a given seed.

- ``project_2d``: normalize, PCA to 50 dimensions, UMAP to 2 (PCA alone below ~15 points). At scale, UMAP is fitted on
  a seeded sample and the rest is placed with ``transform``.
- ``place_points``: put new embeddings on a stored map without refitting it (near their neighbours, in the nearest
  cluster).

umap (which compiles with numba on first import) is imported inside the function that needs it.
"""

from __future__ import annotations

import math

import numpy as np

from core.map.clusters import cluster_centroids

# (done, total, message) -> None, as in core.jobs; it may raise Cancelled between two steps.
from core.progress import Progress
from core.similarity import normalize_rows

UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1
# Below this many points UMAP's neighbour graph is meaningless (and umap warns or fails); PCA to 2-D is the honest map.
MIN_POINTS_FOR_UMAP = UMAP_NEIGHBORS + 1
_TRANSFORM_BATCH = 50_000  # points placed per ``transform`` call: one progress tick each, bounded memory


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
