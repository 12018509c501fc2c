"""Tests for core/map/ (projection, clusters, cluster names, the stratified sample, colours): the pure modules."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from core.apportion import largest_remainder
from core.map import clusters, colours, projection, sampling, workspace
from core.map.clusters import class_tfidf, cluster, cluster_centroids, cluster_names, default_k, tokenize
from core.map.projection import project_2d
from core.map.sampling import stratified_sample

DATA = Path(__file__).parent / "data" / "explore"


def blobs(n_per: int, n_blobs: int, d: int = 384, spread: float = 0.6, seed: int = 0):
    """Planted clusters: random unit directions plus Gaussian noise. Returns (points, true blob of each point)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_blobs, d))
    truth = np.repeat(np.arange(n_blobs), n_per)
    points = centers[truth] + rng.normal(scale=spread, size=(len(truth), d))
    return points.astype(np.float32), truth


# --- projection ----------------------------------------------------------------------------------------------------


def test_umap_projection_keeps_blobs_apart_is_deterministic_and_places_unfitted_points():
    # The one UMAP test (the first `import umap` compiles for ~18 s). 3 blobs × 100 points in 384-d.
    points, truth = blobs(100, 3)
    calls = []
    first = project_2d(points, seed=7, progress=lambda done, total, msg: calls.append((done, total)))
    assert first.shape == (300, 2) and first.dtype == np.float32
    assert np.array_equal(first, project_2d(points, seed=7))
    assert calls[-1][0] == calls[-1][1]  # progress ends at 100%

    # Each point's nearest 2-D neighbour is from its own blob, and the blobs' 2-D centres are far apart compared
    # with their spread.
    def check_separated(xy):
        dist = np.linalg.norm(xy[:, None] - xy[None], axis=2)
        np.fill_diagonal(dist, np.inf)
        assert (truth[dist.argmin(axis=1)] == truth).mean() == 1.0
        centres = np.stack([xy[truth == b].mean(axis=0) for b in range(3)])
        spread = max(np.linalg.norm(xy[truth == b] - centres[b], axis=1).mean() for b in range(3))
        gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)]
        assert min(gaps) > 3 * spread

    check_separated(first)
    # Fitted on 200 points, the other 100 placed with transform: they land with their own blob.
    sampled = project_2d(points, seed=7, fit_sample=200)
    assert sampled.shape == (300, 2)
    check_separated(sampled)


def test_tiny_sets_fall_back_to_pca():
    points, truth = blobs(5, 2, d=20, spread=0.1)
    xy = project_2d(points, seed=0)
    assert xy.shape == (10, 2) and xy.dtype == np.float32
    # PCA's first axis separates two tight blobs
    assert (np.sign(xy[truth == 0, 0]) != np.sign(xy[truth == 1, 0].mean())).all()
    assert np.array_equal(xy, project_2d(points, seed=0))
    assert project_2d(np.zeros((0, 8))).shape == (0, 2)
    assert project_2d(np.ones((1, 8))).tolist() == [[0.0, 0.0]]
    assert project_2d(np.arange(6, dtype=float).reshape(6, 1)).shape == (6, 2)  # one dimension: padded
    with pytest.raises(ValueError, match="2-D"):
        project_2d(np.zeros(5))


# --- clusters ------------------------------------------------------------------------------------------------------


def test_default_k_follows_sqrt_half_n_within_bounds():
    assert [default_k(n) for n in (0, 1, 2, 3, 8, 100, 10_000, 80_000, 1_000_000)] == [1, 1, 2, 2, 2, 7, 71, 200, 200]


def test_cluster_recovers_planted_blobs_deterministically_largest_first():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(5, 64))
    sizes = [200, 120, 80, 60, 40]
    truth = np.repeat(np.arange(5), sizes)
    points = centers[truth] + rng.normal(scale=0.5, size=(len(truth), 64))
    labels = cluster(points, 5, seed=1)
    assert labels.dtype == np.int32
    assert adjusted_rand_score(truth, labels) > 0.95
    assert np.array_equal(labels, cluster(points, 5, seed=1))
    assert np.array_equal(np.bincount(labels), sizes)  # renumbered: cluster 0 is the largest
    assert len(np.unique(cluster(points[:3], 10))) == 3  # k is capped at n
    assert cluster(np.zeros((0, 4)), 3).shape == (0,)


def test_cluster_centroids_are_unit_mean_directions():
    points, truth = blobs(10, 3, d=8)
    cent = cluster_centroids(points, truth)
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    for b in range(3):
        mean = unit[truth == b].mean(axis=0)
        np.testing.assert_allclose(cent[b], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)


# --- names ---------------------------------------------------------------------------------------------------------


def test_tokenize_english_and_chinese():
    assert tokenize("Please sort THE list, 3 times: C++ & c# too!") == ["sort", "list", "times", "c++", "c#"]
    words = tokenize("请把这个句子翻译成英文，谢谢。")
    assert "翻译" in words and "英文" in words and "句子" in words
    assert not {"请", "把", "这个", "的", "一个"} & set(words)  # stopwords and one-character words are gone
    assert tokenize("12345 ... !!!") == []


def test_class_tfidf_matches_a_hand_computed_example():
    # cluster 0: docs {a, b}, {a};  cluster 1: {b, c}
    # counts: c0 = {a: 2, b: 1} (3 words), c1 = {b: 1, c: 1} (2 words); A = 2.5; f = {a: 2, b: 2, c: 1}
    weights, terms, ids = class_tfidf([["a", "b", "b"], ["a"], ["b", "c"]], np.array([0, 0, 1]))
    w = {(int(c), t): weights[i, terms.index(t)] for i, c in enumerate(ids) for t in terms}
    assert w[0, "a"] == pytest.approx(2 / 3 * math.log(1 + 2.5 / 2))
    assert w[0, "b"] == pytest.approx(1 / 3 * math.log(1 + 2.5 / 2))
    assert w[1, "c"] == pytest.approx(1 / 2 * math.log(1 + 2.5 / 1))
    assert w[0, "c"] == 0


def test_cluster_names_english_and_chinese():
    rows = [json.loads(line) for line in (DATA / "cluster_texts.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows]
    labels = np.array([r["cluster"] for r in rows])
    names = cluster_names(texts, labels)
    words = {c: set(name.split(" · ")) for c, name in names.items()}
    assert set(names) == {0, 1, 2, 3}
    assert {"python", "list", "sort"} == words[0]
    assert {"cake", "recipe"} <= words[1]
    assert {"翻译", "英文"} <= words[2]
    assert "诗歌" in words[3]
    assert all(len(w) == 3 for w in words.values())
    # a cluster with no usable words gets a placeholder; a sample per cluster names the same clusters
    assert cluster_names(["!!!", "the of"], np.array([5, 5])) == {5: "cluster 5"}
    assert cluster_names(texts, labels, per_cluster=5, seed=1).keys() == names.keys()


# --- sampling ------------------------------------------------------------------------------------------------------


def test_largest_remainder_sums_exactly():
    assert largest_remainder(np.array([1, 1, 1]), 1000).tolist() == [334, 333, 333]
    assert largest_remainder(np.array([0.5, 0.3, 0.2]), 10).tolist() == [5, 3, 2]
    assert largest_remainder(np.array([0, 0]), 5).tolist() == [0, 0]


def test_stratified_sample_shows_small_clusters_and_keeps_big_ones_big():
    keys = np.repeat([0, 1, 2, 3], [9_000, 800, 150, 50])
    idx = stratified_sample(keys, 1_000, seed=4)
    assert len(idx) == 1_000 and np.all(np.diff(idx) > 0)
    per = np.bincount(keys[idx], minlength=4)
    # floor = 1000 // (2·4) = 125 each (cluster 3 only has 50); the other 575 go by remaining size 8875:675:25,
    # i.e. 532.96, 40.54, 1.50 -> floors 532, 40, 1 and the 2 units left to the largest fractions (.96, .54)
    assert per.tolist() == [125 + 533, 125 + 41, 125 + 1, 50]
    assert np.array_equal(idx, stratified_sample(keys, 1_000, seed=4))
    assert not np.array_equal(idx, stratified_sample(keys, 1_000, seed=5))
    assert np.array_equal(stratified_sample(keys, 20_000, seed=0), np.arange(len(keys)))
    assert np.bincount(keys[stratified_sample(keys, 0, per_stratum=60)]).tolist() == [60, 60, 60, 50]


def test_module_has_no_streamlit_or_store_import():
    for module in (projection, clusters, sampling, colours):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert "streamlit" not in source and "core.store" not in source, module.__name__


# --- colours -------------------------------------------------------------------------------------------------------


def test_cluster_colours_stay_distinct_for_any_count():
    from itertools import combinations

    from plotly.colors import qualitative

    from core.map.colours import MIN_COLOUR_DISTANCE, colour_distance, distinct_colours

    many = distinct_colours(1000)
    assert len(set(many)) == 1000 and all(len(c) == 7 and c.startswith("#") for c in many)
    for n in (1, 10, 12, 13, 25, 57, 58, 200):
        assert distinct_colours(n) == many[:n]  # a map with one more cluster keeps the others' colours
    assert many[:10] == [c.upper() for c in qualitative.Plotly]  # small maps look as they did
    # The demo's 13 clusters (two of them shared a colour when Plotly's 10 cycled), and all 57 palette colours, are
    # far apart from each other, not merely different strings; the ones after Plotly's ten farther still.
    assert min(colour_distance(a, b) for a, b in combinations(many[:57], 2)) >= MIN_COLOUR_DISTANCE
    assert min(colour_distance(c, t) for c in many[10:13] for t in many[:13] if t != c) > 2 * MIN_COLOUR_DISTANCE
    assert colour_distance("#000000", "#000000") == 0 and colour_distance("#FF0000", "#00FF00") > 500


def test_coloured_groups_are_the_points_of_each_value_in_order_with_distinct_colours():
    keys = np.array(["b", "a", "b", "c", "a", "b"], dtype=object)

    groups = colours.coloured_groups(keys)

    assert [(value, idx.tolist()) for value, idx, _ in groups] == [("a", [1, 4]), ("b", [0, 2, 5]), ("c", [3])]
    assert [colour for *_, colour in groups] == colours.distinct_colours(3)


def test_the_cluster_table_reads_ifd_to_three_decimals_and_a_dash_without_it():
    stats = [
        {"cluster": 0, "name": "maths", "samples": 4, "accepted": 0.5, "rejected": 0.25, "duplicates": 0.0,
         "ifd_mean": 0.81234, "ifd_std": 0.1},
        {"cluster": 1, "name": "code", "samples": 1, "accepted": 0.0, "rejected": 1.0, "duplicates": 0.0,
         "ifd_mean": 0.5, "ifd_std": None},
    ]  # fmt: skip

    rows = workspace.cluster_rows(stats)

    assert [(r["IFD mean"], r["IFD spread"]) for r in rows] == [("0.812", "0.100"), ("0.500", "—")]
    assert rows[0] == {"cluster": 0, "name": "maths", "samples": 4, "IFD mean": "0.812", "IFD spread": "0.100",
                       "accepted": 0.5, "rejected": 0.25, "duplicates": 0.0}  # fmt: skip


def test_place_points_lands_a_new_point_among_its_neighbours_and_in_their_cluster():
    from core.map.projection import place_points

    rng = np.random.default_rng(0)
    centres = np.eye(3, 8, dtype=np.float32)
    reference = np.concatenate([c + rng.normal(0, 0.05, (20, 8)) for c in centres]).astype(np.float32)
    xy = np.concatenate([np.full((20, 2), (i * 10.0, -i * 10.0)) for i in range(3)]) + rng.normal(0, 0.5, (60, 2))
    labels = np.repeat([2, 0, 1], 20)  # cluster ids need not follow the groups' order
    new = np.stack([centres[1] + 0.01, centres[2]])

    placed, clusters = place_points(new, reference, xy, labels)

    assert clusters.tolist() == [0, 1]
    assert np.abs(placed[0] - (10.0, -10.0)).max() < 1.0 and np.abs(placed[1] - (20.0, -20.0)).max() < 1.0
    empty, none = place_points(np.zeros((0, 8)), reference, xy, labels)
    assert empty.shape == (0, 2) and none.shape == (0,)
