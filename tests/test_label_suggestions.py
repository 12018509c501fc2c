"""Tests for core/labels/suggestions.py (and refresh_labels in core/labels/workspace.py): evidence first, then the classifier on descriptions, examples and confirmed
labels, each suggestion with its reason; on synthetic vectors, then with the real default embedder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.labels.exemplars import DEFAULT_EXAMPLES
from core.labels.suggestions import MISSING_EVIDENCE_FACTOR, suggest_labels, training_rows
from core.labels.taxonomy import default_taxonomy, label_names

FIXTURE = Path(__file__).parent / "data" / "explore" / "task_labels.jsonl"
CJK = re.compile("[\u4e00-\u9fff]")

TAXONOMY = [
    {"name": "general QA", "description": "Answer a question."},
    {"name": "code", "description": "Programming."},
    {"name": "reasoning", "description": "Logic puzzles."},
]


def axis(i: int, d: int = 6, tilt: float = 0.0, towards: int = 0) -> np.ndarray:
    v = np.zeros(d, dtype=np.float32)
    v[i] = 1.0
    v[towards] += tilt
    return v / np.linalg.norm(v)


def rows_on_axes(taxonomy):
    """The training rows of ``taxonomy``, each embedded on its label's axis."""
    rows = training_rows(taxonomy)
    return rows, np.stack([axis(int(i)) for i in rows.owner])


def test_training_rows_are_names_descriptions_and_the_default_labels_examples():
    tax = default_taxonomy()
    rows = training_rows(tax)
    names = label_names(tax)
    for i, name in enumerate(names):
        mine = [t for t, o in zip(rows.texts, rows.owner, strict=True) if o == i]
        assert mine[0] == name and set(DEFAULT_EXAMPLES[name]) <= set(mine)
        examples = DEFAULT_EXAMPLES[name]
        assert len(examples) == 20 and sum(bool(CJK.search(e)) for e in examples) == 10  # 10 English, 10 Chinese
    custom = training_rows([{"name": "tool use", "description": "Call a tool.\nUse the API."}])
    assert custom.texts == ["tool use", "Call a tool.", "Use the API."] and custom.owner.tolist() == [0, 0, 0]


def test_evidence_first_then_the_nearest_label_with_its_reason_and_confirmed_labels_stay():
    rows, row_emb = rows_on_axes(TAXONOMY)
    emb = np.stack([axis(0), axis(2), axis(1), axis(0), axis(2)])
    prompts = ["Who wrote Hamlet?", "Who is lying?", "Explain closures.", "Write a Python function to add.", "x"]
    answers = [
        "Shakespeare.",
        "Ben.",
        "A closure keeps its scope.",
        "```python\ndef add(a, b):\n    return a + b\n```",
        "",
    ]
    got = suggest_labels(emb, prompts, answers, TAXONOMY, rows, row_emb, confirmed_idx=[4], confirmed_labels=[0],
                         confirmed_names=["s5"])  # fmt: skip
    assert got.label_idx.tolist() == [0, 2, 1, 1, 0]
    assert got.by_evidence == 1 and got.reason[3].startswith("code: asks to 'Write a Python function'")
    assert got.confidence[3] == pytest.approx(0.95)
    assert got.reason[0] == "general QA: like 'general QA' (1.00)"  # the nearest training row of the label
    assert got.reason[4] == "confirmed" and got.confidence[4] == 1.0
    assert 0 < got.confidence[0] <= 1 and got.confidence[0] > got.confidence[2]  # code had no evidence: less sure


def test_a_label_whose_rule_saw_nothing_is_less_likely(monkeypatch):
    """Between code and reasoning, a request that leans to code but shows no sign of code goes to reasoning: the
    code rule finds most code requests, so its silence is evidence too (MISSING_EVIDENCE_FACTOR)."""
    from core.labels import suggestions

    rows, row_emb = rows_on_axes(TAXONOMY)
    leaning = axis(1, tilt=0.9, towards=2)  # nearer code than reasoning: 0.76 against 0.24 without the factor
    plain = suggest_labels(leaning[None], ["Which of them is lying?"], [""], TAXONOMY, rows, row_emb)
    assert label_names(TAXONOMY)[plain.label_idx[0]] == "reasoning"
    assert MISSING_EVIDENCE_FACTOR["code"] < 1 and "reasoning" not in MISSING_EVIDENCE_FACTOR
    monkeypatch.setattr(suggestions, "MISSING_EVIDENCE_FACTOR", {})
    without = suggest_labels(leaning[None], ["Which of them is lying?"], [""], TAXONOMY, rows, row_emb)
    assert label_names(TAXONOMY)[without.label_idx[0]] == "code"


def test_confirmed_samples_teach_the_classifier():
    rows, row_emb = rows_on_axes(TAXONOMY)
    emb = np.stack([axis(3), axis(3, tilt=0.1, towards=4), axis(4)])  # off every label's axis
    before = suggest_labels(emb, ["a", "b", "c"], ["", "", ""], TAXONOMY, rows, row_emb)
    after = suggest_labels(emb, ["a", "b", "c"], ["", "", ""], TAXONOMY, rows, row_emb, confirmed_idx=[0],
                           confirmed_labels=[2], confirmed_names=["s1"])  # fmt: skip
    assert after.label_idx[1] == 2 and after.reason[1].startswith("reasoning: like confirmed sample s1 (")
    assert before.reason[1] != after.reason[1]


# --- with the real default embedder --------------------------------------------------------------------------------


@pytest.mark.model
def test_default_embedder_suggests_the_fixture_labels_in_both_languages():
    """The 208 requests of the label fixture (13 labels, 10 EN + 6 ZH each, no answers) with use-multilingual: the
    whole pipeline measured 0.995. The fixture is written in the same plain style as the examples, so this checks
    that nothing is broken, not how good the labels are on real data (``make bench``, section labels, does that:
    82 % on 785 shared samples)."""
    from core.models.embedders import load_embedder

    embedder = load_embedder("", device="cpu")
    fixture = [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines()]
    tax = default_taxonomy()
    names = label_names(tax)
    rows = training_rows(tax)
    texts = [r["text"] for r in fixture]
    got = suggest_labels(embedder.encode(texts), texts, [""] * len(texts), tax, rows, embedder.encode(rows.texts))
    truth = np.array([names.index(r["label"]) for r in fixture])
    zh = np.array([r["lang"] == "zh" for r in fixture])
    right = got.label_idx == truth
    assert right.mean() >= 0.9 and right[zh].mean() >= 0.85, (right.mean(), right[zh].mean())
    assert all(reason.split(":")[0] in names for reason in got.reason)


@pytest.mark.model
def test_refresh_labels_on_a_workspace_stores_each_reason(tmp_path):
    from core.labels.workspace import refresh_labels
    from core.scoring.runner import run_scorers
    from core.settings import load_settings
    from core.store import Store

    records = [
        {"instruction": "用Python写一个函数，计算列表的平均值。", "input": "", "output": "def mean(xs): ..."},
        {"instruction": "Solve for x: 3x + 5 = 20.", "input": "", "output": "x = 5"},
        {"instruction": "把这句话翻译成英文：今天天气很好。", "input": "", "output": "The weather is nice today."},
        {"instruction": "写一首关于秋天的短诗。", "input": "", "output": "秋风起，落叶黄。"},
        {"instruction": "Give me five names for a new bakery.", "input": "", "output": "Crumbs, Rise, ..."},
    ]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    from core.importing.workspace import import_file

    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, path, user="ana")
        run_scorers(store, ["embedding"], settings=load_settings().with_(device="cpu"))
        report = refresh_labels(store)
        assert report["suggested"] == 5 and report["by_evidence"] >= 3
        arrays = store.sample_arrays(["id", "task_label", "task_label_reason"])
        labels = dict(zip(arrays["id"], arrays["task_label"], strict=True))
        why = dict(zip(arrays["id"], arrays["task_label_reason"], strict=True))
        ids = arrays["id"]
        assert [labels[i] for i in ids[:3]] == ["code", "math", "translation"]
        assert why[ids[2]] == "translation: asks '翻译'; names 英文"
        assert labels[ids[3]] == "open writing" and why[ids[3]].startswith("open writing: like ")
        assert labels[ids[4]] == "brainstorming"
