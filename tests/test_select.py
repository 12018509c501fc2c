"""Tests for core/selection/steps, recipe.py and engine.py: each algorithm against a plain reference implementation
or a brute force, on real numpy / faiss / datasketch, plus recipe parsing and its error messages."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from dedup_texts import FAMILY, TEXTS

from core.errors import RecipeError, WinnowError
from core.selection.engine import recipe_inputs, run_recipe, selection_input
from core.selection.presets import PRESETS, preset_recipe
from core.selection.recipe import parse_recipe, recipe_hash, recipe_to_yaml, step_defaults
from core.selection.steps.diversity import (
    covering_radius,
    deita_filter,
    facility_location,
    facility_location_value,
    k_center_greedy,
)
from core.selection.steps.filter import filter_mask
from core.selection.steps.rank import (
    _even_quotas,
    deita_score,
    ifd_top,
    mixture_take,
    mods_necessity,
    mods_quality,
    stratified,
    superfilter_top,
)

# --- fixtures ------------------------------------------------------------------------------------------------------


def unit_rows(n: int, d: int, seed: int = 0, clusters: int = 0) -> np.ndarray:
    """n random unit vectors (float32); with ``clusters``, spread around that many random centres."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    if clusters:
        x = rng.standard_normal((clusters, d))[rng.integers(0, clusters, n)] * 2 + x
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- ifd_top -------------------------------------------------------------------------------------------------------


def test_ifd_top_drops_null_and_above_one_then_keeps_the_top_share():
    ifd = [0.5, np.nan, 1.2, 0.9, 0.9, None, 0.1, 0.7]
    # Remaining: 0.5, 0.9, 0.9, 0.1, 0.7 (5). 40 % of 5 = 2: both 0.9s, the lower position first.
    assert ifd_top(ifd, 40).tolist() == [3, 4]
    # 50 % of 5 = 2.5 -> ceil = 3.
    assert ifd_top(ifd, 50).tolist() == [3, 4, 7]
    # Any share keeps at least one when some remain.
    assert ifd_top(ifd, 0.001).tolist() == [3]
    # Keeping IFD > 1: 1.2 ranks first; 10 % of 6 -> 1.
    assert ifd_top(ifd, 10, drop_above_one=False).tolist() == [2]
    assert ifd_top(ifd, 100).tolist() == [3, 4, 7, 0, 6]
    assert ifd_top([np.nan, 1.5], 50).tolist() == []
    # 10 % of 30 is exactly 3, not 4 (float rounding).
    assert len(ifd_top(np.linspace(0.1, 0.9, 30), 10)) == 3
    assert superfilter_top is ifd_top
    with pytest.raises(ValueError):
        ifd_top(ifd, 0)


def test_mods_quality_and_deita_score():
    assert mods_quality([1.0, -0.5, np.nan, None, 0.0, 3.0]).tolist() == [True, False, False, False, False, True]
    assert mods_quality([1.0, 2.0], threshold=1.5).tolist() == [False, True]
    score = deita_score([2.0, np.nan, 3.0], [0.5, 1.0, None])
    assert score[0] == 1.0 and np.isnan(score[1]) and np.isnan(score[2])


# --- k-center ------------------------------------------------------------------------------------------------------


def naive_k_center(x: np.ndarray, budget: int, seed: int, already=()) -> list[int]:
    """The textbook O(n·k·d) loop: one distance update over all rows per pick."""
    n = len(x)
    centres = list(already)
    if not centres:
        centres = [int(np.random.default_rng(seed).integers(n))]
    dist = np.full(n, np.inf, dtype=np.float32)
    for c in centres:
        dist = np.minimum(dist, 1 - x @ x[c])
    dist[centres] = -np.inf
    picks = [] if already else centres[:]
    while len(picks) < budget:
        i = int(np.argmax(dist))
        picks.append(i)
        dist = np.minimum(dist, 1 - x @ x[i])
        dist[i] = -np.inf
    return picks


@pytest.mark.parametrize("clusters", [0, 12])
def test_k_center_equals_the_naive_greedy(clusters):
    x = unit_rows(3000, 24, seed=1, clusters=clusters)
    ref = naive_k_center(x, 150, seed=5)
    for hot in (16, 128, 4096):  # small hot sets force many catch-ups; the picks must not change
        result = k_center_greedy(x, 150, seed=5, hot=hot)
        assert result.indices.tolist() == ref
        assert result.radius == pytest.approx(covering_radius(x, ref), abs=1e-5)


def test_k_center_already_selected_count_as_centres():
    x = unit_rows(500, 16, seed=2)
    already = [3, 77, 250]
    result = k_center_greedy(x, 20, already=already, hot=32)
    assert result.indices.tolist() == naive_k_center(x, 20, seed=0, already=already)
    assert not set(result.indices.tolist()) & set(already)
    assert result.radius == pytest.approx(covering_radius(x, [*already, *result.indices]), abs=1e-5)


def test_k_center_radius_within_twice_the_optimum():
    # The 2-approximation holds for a metric: euclidean distance on unit vectors, sqrt(2 · cosine distance).
    for seed in range(5):
        x = unit_rows(12, 3, seed=seed)
        optimum = min(covering_radius(x, c) for c in itertools.combinations(range(12), 3))
        for first in range(3):
            greedy = k_center_greedy(x, 3, seed=first)
            assert math.sqrt(2 * greedy.radius) <= 2 * math.sqrt(2 * optimum) + 1e-6


def test_k_center_edges_and_determinism():
    x = unit_rows(200, 8, seed=3)
    a, b = k_center_greedy(x, 30, seed=9), k_center_greedy(x, 30, seed=9)
    assert a.indices.tolist() == b.indices.tolist() and a.radius == b.radius
    everything = k_center_greedy(x, 10_000)
    assert sorted(everything.indices.tolist()) == list(range(200)) and everything.radius == 0.0
    assert k_center_greedy(x, 0).radius == math.inf
    dupes = np.repeat(x[:5], 4, axis=0)  # every point has three exact copies: no copy is picked before all 5 are
    picks = k_center_greedy(dupes, 5).indices
    assert len({tuple(dupes[i]) for i in picks}) == 5


# --- facility location ---------------------------------------------------------------------------------------------


def naive_facility_location(x: np.ndarray, budget: int) -> list[int]:
    """Plain greedy: every candidate's gain recomputed at every pick."""
    sims = x @ x.T
    best = np.zeros(len(x), dtype=np.float32)
    picks: list[int] = []
    for _ in range(budget):
        gains = np.maximum(sims - best, 0).sum(axis=1, dtype=np.float64)
        gains[picks] = -np.inf
        p = int(np.argmax(gains))
        picks.append(p)
        best = np.maximum(best, sims[p])
    return picks


def test_facility_location_lazy_equals_naive_greedy():
    x = unit_rows(400, 12, seed=4, clusters=6)
    ref = naive_facility_location(x, 40)
    assert facility_location(x, 40).tolist() == ref
    assert facility_location(x, 40, dense_limit=0).tolist() == ref  # similarities recomputed per batch


def test_facility_location_value_grows_with_budget_and_beats_random():
    x = unit_rows(600, 16, seed=5, clusters=10)
    order = facility_location(x, 60)
    values = [facility_location_value(x, order[:k]) for k in range(0, 61, 5)]
    assert values[0] == 0.0
    assert all(b >= a for a, b in itertools.pairwise(values))
    # A larger budget extends the same greedy order.
    assert facility_location(x, 30).tolist() == order[:30].tolist()
    random_sets = [np.random.default_rng(s).choice(600, 60, replace=False) for s in range(5)]
    assert values[-1] > max(facility_location_value(x, r) for r in random_sets)


def test_facility_location_candidates_restrict_the_picks():
    x = unit_rows(300, 8, seed=6)
    cand = np.arange(0, 300, 3)
    picks = facility_location(x, 25, candidates=cand)
    assert set(picks.tolist()) <= set(cand.tolist()) and len(set(picks.tolist())) == 25


# --- DEITA ---------------------------------------------------------------------------------------------------------


def naive_deita(scores, x, budget, tau):
    order = sorted((i for i in range(len(scores)) if np.isfinite(scores[i])), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if len(kept) == budget:
            break
        if all(float(x[i] @ x[j]) <= tau for j in kept):
            kept.append(i)
    return kept


def test_deita_filter_keeps_no_close_pair_and_follows_the_score():
    x = unit_rows(1500, 8, seed=7, clusters=20)  # clustered, so many candidates are rejected
    scores = np.random.default_rng(7).random(1500)
    scores[::50] = np.nan
    kept = deita_filter(scores, x, 200, tau=0.9, batch=64)
    assert kept.tolist() == naive_deita(scores, x, 200, 0.9)
    sims = x[kept] @ x[kept].T
    np.fill_diagonal(sims, -1)
    assert sims.max() <= 0.9
    assert np.all(np.diff(scores[kept]) <= 0)  # kept in score order
    assert not np.isnan(scores[kept]).any()
    assert deita_filter(scores, x, 200, tau=0.9, batch=7).tolist() == kept.tolist()
    # Ties in score go to the lower position; exact copies are rejected.
    dup = np.repeat(x[:1], 3, axis=0)
    assert deita_filter(np.ones(3), dup, 3).tolist() == [0]


# --- dedup (the functions are tested in test_dedup.py) ---------------------------------------------------------


def test_dedup_step_keeps_one_per_family_and_reports_each_removed_sample():
    data = {"conversation": TEXTS}
    run = run_recipe(parse_recipe("steps: [dedup]"), data, len(TEXTS))  # defaults: exact and text, 0.6
    left = run.indices
    families = [FAMILY[i] for i in left]
    assert len(families) == len(set(families))  # every planted copy removed
    assert set(families) == set(range(110))  # every family keeps a member: its base, the first imported
    assert left.tolist() == list(range(110))
    report = run.log[0]["duplicates"]
    assert report["removed"] == 90 and len(report["pairs"]) == 90
    for removed, kept, how, similarity in report["pairs"]:
        assert kept == FAMILY[removed] and removed >= 110  # each copy points at its base
        assert how in ("exact", "text") and (similarity == 1.0) == (how == "exact") and similarity >= 0.6
    assert {how for _, _, how, _ in report["pairs"]} == {"exact", "text"}


def test_dedup_step_by_embedding_with_a_calibrated_threshold():
    """``near_threshold: auto`` takes the embedder's stored calibration (core.similarity), or, for an embedder it
    does not know, one measured on the vectors at hand; the log records the value used."""
    from core.similarity import RANDOM_PAIRS, threshold_from

    x = unit_rows(300, 16, seed=30, clusters=6)
    x[299] = x[0] * 0.999 + x[1] * 0.001  # a near copy of sample 0
    x[299] /= np.linalg.norm(x[299])
    recipe = parse_recipe("steps:\n  - dedup: {exact: false, minhash_threshold: null, near_threshold: auto}")
    name = "bundled:use-multilingual-v3"
    run = run_recipe(recipe, {"embedding": x, "embedder": name}, 300)
    entry = run.log[0]
    assert entry["near_threshold"] == threshold_from(RANDOM_PAIRS[name], "near_duplicate")
    assert 299 not in run.indices.tolist() and [p[:3] for p in entry["duplicates"]["pairs"][-1:]] == [
        [299, 0, "embedding"]
    ]
    measured = run_recipe(recipe, {"embedding": x}, 300).log[0]["near_threshold"]
    sims = (x @ x.T)[np.triu_indices(300, 1)]
    assert measured == round(np.quantile(sims, 0.9999) + (1 - np.quantile(sims, 0.9999)) / 2, 3)
    fixed = run_recipe(
        parse_recipe("steps:\n  - dedup: {near_threshold: 0.999999}"),
        {"embedding": x, "conversation": ["a"] * 300},
        300,
    )
    assert "near_threshold" not in fixed.log[0]  # a number is used as given


# --- stratified and mixture ----------------------------------------------------------------------------------------


def test_stratified_covers_every_bin_evenly():
    v = np.random.default_rng(9).lognormal(size=1000)
    v[:30] = np.nan
    picks = stratified(v, 100, n_bins=10, seed=1)
    assert len(picks) == 100 and len(set(picks.tolist())) == 100 and not np.isnan(v[picks]).any()
    edges = np.quantile(v[np.isfinite(v)], np.linspace(0, 1, 11)[1:-1])
    counts = np.bincount(np.searchsorted(edges, v[picks], side="right"), minlength=10)
    assert counts.tolist() == [10] * 10
    assert stratified(v, 100, seed=1).tolist() == picks.tolist()
    assert stratified(v, 100, seed=2).tolist() != picks.tolist()


def test_stratified_redistributes_from_small_bins():
    rng = np.random.default_rng(0)
    quota = _even_quotas([0, 2, 50, 50, 5], 40, rng)
    assert quota[[0, 1, 4]].tolist() == [0, 2, 5]  # small bins give all they have
    assert sorted(quota[[2, 3]].tolist()) == [16, 17] and quota.sum() == 40  # the rest shared evenly
    assert _even_quotas([3, 3], 10, rng).tolist() == [3, 3]
    # Most values tied: the tied block fills one bin (a value cannot straddle bins), so fewer bins are non-empty,
    # and each non-empty bin still gets an even share.
    v = np.concatenate([np.zeros(500), np.arange(1, 101, dtype=float)])
    picks = stratified(v, 60, n_bins=10, seed=0)
    assert len(picks) == 60 and len(set(picks.tolist())) == 60
    edges = np.quantile(v, np.linspace(0, 1, 11)[1:-1])
    counts = np.bincount(np.searchsorted(edges, v[picks], side="right"), minlength=10)
    assert sorted(c for c in counts if c) == [30, 30]
    assert stratified(v, 10_000).tolist() == list(range(600))


def test_mixture_take_follows_the_order():
    labels = ["a", "b", "a", None, "c", "a", "b"]
    assert mixture_take(labels, {"a": 2, "b": 5}).tolist() == [0, 1, 2, 6]


# --- filters -------------------------------------------------------------------------------------------------------


def test_filter_mask():
    columns = {
        "status": np.array(["pending", "rejected", "accepted", "pending", "accepted"]),
        "h_answer_chars": np.array([50, 5, 300, np.nan, 20.0]),
        "h_refusal": np.array([False, False, True, None, False], dtype=object),
        "h_answer_lang": np.array(["en", "zh", "en", "fr", None], dtype=object),
    }
    spec = {"status": "not_rejected", "min": {"h_answer_chars": 10}, "false": ["h_refusal"]}
    assert filter_mask(columns, spec).tolist() == [True, False, False, False, True]
    assert filter_mask(columns, {**spec, "keep_missing": True}).tolist() == [True, False, False, True, True]
    assert filter_mask(columns, {"in": {"h_answer_lang": ["en", "zh"]}}).tolist() == [True, True, True, False, False]
    assert filter_mask(columns, {"status": ["accepted"], "max": {"h_answer_chars": 100}}).tolist() == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert filter_mask({}, {}, n=3).tolist() == [True] * 3
    with pytest.raises(RecipeError, match="no column 'nope'"):
        filter_mask(columns, {"min": {"nope": 1}})


# --- recipes -------------------------------------------------------------------------------------------------------

GOOD = """
name: mine
steps:
  - filter: {status: not_rejected, false: [h_refusal], min: {h_answer_chars: 10}}
  - dedup: {exact: true, near_threshold: 0.95}
  - ifd_top: {percent: 10, drop_above_one: true}
  - k_center: {budget: 1000, seed: 0}
"""


def test_parse_recipe_fills_defaults_and_round_trips():
    recipe = parse_recipe(GOOD)
    assert [s.name for s in recipe.steps] == ["filter", "dedup", "ifd_top", "k_center"]
    assert recipe.steps[0].params["false"] == ["h_refusal"]  # YAML's boolean key `false` read as the name
    assert recipe.steps[1].params == {**step_defaults("dedup"), "near_threshold": 0.95}
    assert recipe.steps[2].params["percent"] == 10.0 and isinstance(recipe.steps[2].params["percent"], float)
    assert parse_recipe(recipe_to_yaml(recipe)) == recipe
    assert recipe_hash(parse_recipe(recipe_to_yaml(recipe))) == recipe_hash(recipe)
    # Spelling out a default, or renaming the recipe, does not change the hash; changing a parameter does.
    assert recipe_hash(parse_recipe(GOOD.replace("seed: 0", "seed: 0, ").replace("mine", "x"))) == recipe_hash(recipe)
    assert recipe_hash(parse_recipe(GOOD.replace("seed: 0", "seed: 1"))) != recipe_hash(recipe)
    assert parse_recipe("steps: [dedup]").steps[0].params == step_defaults("dedup")
    assert len(recipe_hash(recipe)) == 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps:\n  - k_centre: {budget: 10}", ["step 1 (k_centre)", "line 2", "unknown step", "k_center"]),
        ("steps:\n  - dedup: {}\n  - k_center: {budget: -3}", ["step 2 (k_center)", "'budget'", ">= 1", "-3"]),
        ("steps:\n  - k_center: {budget: ten}", ["step 1 (k_center)", "'budget'", "an integer", "'ten'"]),
        ("steps:\n  - k_center: {budget: 10.5}", ["'budget'", "an integer"]),
        ("steps:\n  - ifd_top: {percent: 0}", ["step 1 (ifd_top)", "'percent'", "(0, 100]"]),
        ("steps:\n  - ifd_top: {percent: 150}", ["'percent'", "150"]),
        ("steps:\n  - deita:\n      tau: 1.5", ["step 1 (deita)", "line 3", "'tau'", "(0, 1]"]),
        ("steps:\n  - k_center: {budgt: 10}", ["step 1 (k_center)", "'budgt'", "unknown parameter", "'budget'"]),
        ("steps:\n  - dedup: {exact: yes please}", ["'exact'", "true or false"]),
        ("steps:\n  - dedup: {exact: false, minhash_threshold: null}", ["step 1 (dedup)", "does nothing"]),
        ("steps:\n  - dedup: {near_threshold: high}", ["'near_threshold'", "(0, 1] or auto or null", "'high'"]),
        ("steps:\n  - deita: {tau: automatic}", ["'tau'", "(0, 1] or auto", "'automatic'"]),
        ("steps:\n  - dedup: {text: title}", ["'text'", "conversation, prompt, answer"]),
        ("steps:\n  - filter: {status: maybe}", ["step 1 (filter)", "'status'", "not_rejected"]),
        ("steps:\n  - filter: {min: {h_answer_chars: many}}", ["'min'", "mapping of column name to number"]),
        ("steps:\n  - mixture: {by: task}", ["step 1 (mixture)", "'targets'", "required"]),
        ("steps:\n  - mixture: {by: task, targets: {a: -1}}", ["'targets'", "count"]),
        ("steps:\n  - k_center: {budget: 1}\n    seed: 2", ["step 1", "one key"]),
        ("steps:\n  - k_center: [1, 2]", ["step 1 (k_center)", "mapping of parameters"]),
        ("steps: []", ["non-empty list"]),
        ("stesp:\n  - k_center: {}", ["'steps'"]),
        ("steps:\n  - k_center: {budget: 1}\nbudget: 3", ["unknown top-level key 'budget'"]),
        ("steps:\n  - k_center: {budget: 1\n  - dedup: {}", ["YAML syntax error", "line 3"]),
        ("steps:\n  - k_center: {budget: 10}\n\tseed: 1", ["YAML syntax error", "line 3"]),
    ],
)
def test_parse_recipe_errors_name_step_and_parameter(text, expected):
    with pytest.raises(RecipeError) as info:
        parse_recipe(text)
    assert isinstance(info.value, WinnowError)
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


def test_presets_are_valid_recipes():
    align, fit = preset_recipe("align"), preset_recipe("fit")
    assert align.steps[-1].name == "k_center" and align.steps[-1].params["budget"] == 1000
    assert "LIMA" in align.description and "consistency" in fit.description
    assert [s.name for s in fit.steps] == ["filter", "dedup"] and fit.steps[1].params["near_threshold"] is None
    # both presets find near copies by text, not by embedding (which depends on the embedder)
    assert [s.params["minhash_threshold"] for s in (align.steps[1], fit.steps[1])] == [0.6, 0.8]
    assert align.steps[1].params["near_threshold"] is None
    assert preset_recipe("align", budget=5000).steps[-1].params["budget"] == 5000
    for name in PRESETS:
        assert parse_recipe(recipe_to_yaml(preset_recipe(name))) == preset_recipe(name)
    with pytest.raises(RecipeError, match=r"\[1000, 10000\]"):
        preset_recipe("align", budget=50)
    with pytest.raises(RecipeError, match="no budget"):
        preset_recipe("fit", budget=1000)
    with pytest.raises(RecipeError, match="unknown preset"):
        preset_recipe("nope")
    assert "embedding" in recipe_inputs(align) and "ifd" in recipe_inputs(align)


# --- running a recipe ----------------------------------------------------------------------------------------------


def workspace(n: int = 600):
    rng = np.random.default_rng(11)
    emb = unit_rows(n, 16, seed=11, clusters=8)
    emb[5] = np.nan  # a sample without an embedding
    return {
        "status": np.where(rng.random(n) < 0.1, "rejected", "pending"),
        "h_refusal": rng.random(n) < 0.05,
        "h_answer_chars": rng.integers(0, 500, n).astype(float),
        "ifd": np.where(rng.random(n) < 0.05, np.nan, rng.random(n) * 1.2),
        "reward": rng.normal(size=n),
        "task": rng.choice(["math", "code", "chat"], n),
        "embedding": emb,
        "conversation": [f"sample {i % 550}" for i in range(n)],  # 50 exact duplicates
    }


def test_run_recipe_applies_steps_in_order_and_logs_counts():
    data = workspace()
    recipe = parse_recipe(GOOD.replace("budget: 1000", "budget: 20"))
    run = run_recipe(recipe, data, 600)
    assert [e["name"] for e in run.log] == ["filter", "dedup", "ifd_top", "k_center"]
    assert [e["in"] for e in run.log[1:]] == [e["out"] for e in run.log[:-1]]
    assert len(run.indices) == 20 and 5 not in run.indices.tolist()
    idx = run.indices
    assert (data["status"][idx] != "rejected").all() and not data["h_refusal"][idx].any()
    assert (data["h_answer_chars"][idx] >= 10).all() and (data["ifd"][idx] <= 1).all()
    assert run_recipe(recipe, data, 600).indices.tolist() == idx.tolist()  # deterministic


@pytest.mark.parametrize(
    "step",
    [
        "mods_quality: {threshold: 0.5}",
        "deita: {budget: 30, score: [reward]}",
        "stratified: {budget: 30}",
        "facility_location: {budget: 30}",
        "superfilter: {percent: 5}",
        "mixture: {by: task, targets: {math: 5, code: 3}}",
    ],
)
def test_every_step_runs_on_arrays(step):
    data = workspace()
    run = run_recipe(parse_recipe(f"steps:\n  - {step}"), data, 600)
    idx = run.indices
    assert len(set(idx.tolist())) == len(idx) > 0
    if step.startswith("mixture"):
        assert sorted(data["task"][idx].tolist()) == ["code"] * 3 + ["math"] * 5
    if step.startswith("mods"):
        assert (data["reward"][idx] > 0.5).all()


def test_run_recipe_names_a_missing_input():
    with pytest.raises(RecipeError, match=r"step 2 \(ifd_top\).*needs 'ifd'"):
        run_recipe(parse_recipe("steps: [dedup, ifd_top]"), {"conversation": ["a", "b"]}, 2)


def test_determinism_across_calls():
    x = unit_rows(800, 16, seed=12, clusters=5)
    scores = np.random.default_rng(12).random(800)
    for f in (
        lambda: k_center_greedy(x, 40, seed=3).indices,
        lambda: facility_location(x, 40),
        lambda: deita_filter(scores, x, 40, 0.8),
        lambda: stratified(scores, 40, seed=3),
        lambda: np.array([str(run_recipe(parse_recipe("steps: [dedup]"), {"conversation": TEXTS}, 200).log)]),
    ):
        assert np.array_equal(f(), f())


# --- MoDS necessity ------------------------------------------------------------------------------------------------


def test_mods_necessity_keeps_the_seed_then_adds_low_rewards():
    reward = [0.4, -1.0, np.nan, -0.2, None, -1.0, 2.0, -3.0, 0.0]
    # Outside the seed {6, 7}: below 0 are 1 (-1.0), 3 (-0.2), 5 (-1.0); 7 is in the seed, 8 (0.0) is not below.
    assert mods_necessity(reward, 0.0, seed=[6, 7]).tolist() == [6, 7, 1, 5, 3]
    assert mods_necessity(reward, 0.0, seed=[7, 6, 7]).tolist() == [7, 6, 1, 5, 3]  # seed order kept, once each
    assert mods_necessity(reward, 0.5).tolist() == [7, 1, 5, 3, 8, 0]  # no seed: the necessary ones alone
    assert mods_necessity(reward, -5.0, seed=[2]).tolist() == [2]  # an unscored seed member still stays


def test_mods_necessity_budget_is_k_center_away_from_the_seed():
    x = unit_rows(400, 16, seed=21, clusters=6)
    reward = np.random.default_rng(21).normal(size=400)
    seed = [10, 200, 333]
    x[50] = np.nan  # no embedding: never added under a budget
    reward[50] = -9.0
    necessary = [i for i in range(400) if reward[i] < 0 and i not in seed and i != 50]
    local = seed + necessary
    ref = naive_k_center(x[local], 25, seed=0, already=range(3))
    got = mods_necessity(reward, 0.0, seed=seed, emb=x, budget=25)
    assert got.tolist() == seed + [local[i] for i in ref]
    everything = mods_necessity(reward, 0.0, seed=seed, emb=x, budget=10_000)  # a budget above the count: all
    assert sorted(everything[3:].tolist()) == sorted([*necessary, 50])


def necessity_data(n: int = 600) -> dict:
    data = workspace(n)
    data["necessity_reward"] = np.random.default_rng(31).normal(size=n)
    data["necessity_reward"][::7] = np.nan  # not answered (e.g. prompt too long)
    return data


def test_mods_necessity_step_after_quality_with_a_k_center_seed():
    data = necessity_data()
    seed_run = run_recipe(parse_recipe("steps: [mods_quality, {k_center: {budget: 12, seed: 4}}]"), data, 600)
    run = run_recipe(
        parse_recipe("steps: [mods_quality, {mods_necessity: {seed_budget: 12, seed: 4, threshold: -0.5}}]"),
        data,
        600,
    )
    seed = seed_run.indices.tolist()
    quality = np.flatnonzero(data["reward"] > 0)
    added = [int(i) for i in quality if i not in seed and data["necessity_reward"][i] < -0.5]
    added.sort(key=lambda i: (data["necessity_reward"][i], i))
    assert run.indices.tolist() == seed + added and len(added) > 10
    assert run.log[1]["in"] == len(quality) and run.log[1]["out"] == 12 + len(added)


def test_mods_necessity_step_reads_a_saved_seed_selection():
    data = necessity_data()
    quality = np.flatnonzero(data["reward"] > 0)
    rank = np.full(600, -1)
    dropped = int(np.flatnonzero(data["reward"] <= 0)[0])  # in the seed, but mods_quality drops it first
    rank[[int(quality[5]), int(quality[0]), dropped]] = [0, 1, 2]  # their places in the saved selection
    data[selection_input("tuned-on")] = rank
    recipe = parse_recipe("steps: [mods_quality, {mods_necessity: {seed_selection: tuned-on}}]")
    assert recipe_inputs(recipe) == ["reward", "necessity_reward", "selection:tuned-on"]
    got = run_recipe(recipe, data, 600).indices.tolist()
    rest = [int(i) for i in quality[1:] if i != quality[5] and data["necessity_reward"][i] < 0]
    assert got == [int(quality[5]), int(quality[0]), *sorted(rest, key=lambda i: (data["necessity_reward"][i], i))]


def test_mods_necessity_step_says_what_is_missing():
    data = workspace()
    with pytest.raises(RecipeError, match=r"step 1 \(mods_necessity\).*'necessity_reward'.*necessity scorer"):
        run_recipe(parse_recipe("steps: [mods_necessity]"), data, 600)
    data["necessity_reward"] = np.full(600, np.nan)  # the scorer ran on other samples only
    with pytest.raises(RecipeError, match=r"none of the 600 samples outside the seed.*--necessity-model"):
        run_recipe(parse_recipe("steps: [mods_necessity]"), data, 600)
    with pytest.raises(RecipeError, match=r"seed selection 'x'.*run_selection"):
        run_recipe(parse_recipe("steps: [{mods_necessity: {seed_selection: x}}]"), data, 600)
    with pytest.raises(RecipeError, match=r"step 1 \(mods_necessity\).*'seed_budget'.*not both"):
        parse_recipe("steps: [{mods_necessity: {seed_selection: x, seed_budget: 5}}]")
