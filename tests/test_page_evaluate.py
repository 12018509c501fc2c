"""The Evaluate page: configure an evaluation of a saved selection with a tiny random Llama, run it as a background
job, read the comparison, the charts and the tables; the same name resumes; annotators are kept out."""

from __future__ import annotations

import pytest
from page_workspace import finish_job, new_workspace, open_app, texts, write_jsonl
from test_evaluation_runs import chatter, sums
from tiny_models import build_causal_lm

from core.importing.workspace import import_file
from core.store import SampleFilter
from core.team import accounts
from core.training.chat_template import load_tokenizer


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    import_file(store, write_jsonl(tmp_path / "pool.jsonl", sums(range(30)) + chatter(range(60))), user="tess")
    ids = [r["id"] for r in store.page(SampleFilter(text="Add "), limit=100).to_pylist()]
    store.save_selection(
        "sums", recipe="steps: []", recipe_hash="x", log=[], members=[(i, 1) for i in ids], user="tess"
    )
    return store


def test_an_evaluation_runs_from_the_page_and_its_results_are_drawn(store, tmp_path):
    tokenizer, _ = load_tokenizer("")
    tiny = build_causal_lm(tmp_path / "tiny", tokenizer)
    at = open_app("pages/evaluate.py")
    assert not at.exception and not at.error
    assert "No evaluation yet." in texts(at)
    assert at.selectbox(key="eval_selection").value == "sums"
    at.text_input(key="eval_model").set_value(str(tiny))
    at.number_input(key="eval_random").set_value(1)
    at.number_input(key="eval_max_steps").set_value(3)
    at.number_input(key="eval_max_length").set_value(64)
    at.number_input(key="eval_answers").set_value(1).run()
    assert not at.error, [e.value for e in at.error]
    assert at.button(key="eval_go").label == "Start evaluation"
    at.button(key="eval_go").click().run()
    finish_job(at, "eval_job")
    assert any("sums-vs-random" in s.value and "3 runs trained" in s.value for s in at.success)
    said = texts(at)
    assert "Candidate: selection **sums**" in said and "3 of 3 runs done" in said
    assert "Selection minus random" in said
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Selection", "Random mean (1 seeds)", "Base model"}
    assert float(metrics["Selection"]) > 0
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # held-out loss per run, the training curves
    assert '"base model"' in charts[0].proto.spec
    # the per-source table and the answers
    frames = [f.value for f in at.dataframe]
    assert any("selection" in f.columns and "random-1" in f.columns and "items" in f.columns for f in frames)
    # the same name again resumes (nothing is missing now)
    assert at.button(key="eval_go").label == "Resume evaluation"
    assert "exists (3 of 3 runs done)" in texts(at)


def test_annotators_cannot_reach_the_page(store):
    accounts.add_user(store, "ann", "annotator", "ann-password-1", by="tess")
    at = open_app(name="ann", password="ann-password-1")
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page("pages/evaluate.py")
