"""The Score page: starts a scoring job, shows coverage and distributions, and says plainly when a model is missing."""

from __future__ import annotations

import pytest
from page_workspace import finish_job, load, new_workspace, open_app, texts

from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_scoring_signals_from_the_page(store):
    load(store, "tasks_alpaca.json", "chats_openai.jsonl")
    at = open_app("pages/score.py")
    assert "Nothing scored yet" in texts(at)
    # form widgets take effect with the submit, in the same run
    at.multiselect(key="score_scorers").set_value(["heuristics"])
    at.button(key="score_go").click().run()
    finish_job(at, "score_job")

    assert [s.value for s in at.success if "scored" in s.value][0].startswith("heuristics: scored")
    assert list(store.scorer_keys()) == ["heuristics"]
    coverage = at.dataframe[0].value
    row = coverage[coverage["scorer"] == "heuristics"].iloc[0]
    assert row["scored"] == row["of"] == store.count(SampleFilter(duplicates=False))  # duplicates scored once
    assert at.get("plotly_chart"), "no histogram drawn"
    first = store.next_pending()
    assert first["scores"]["h_answer_chars"] == len(first["messages"][-1]["content"])


def test_a_missing_model_is_a_plain_error_and_nothing_breaks(store, tmp_path):
    load(store, "tasks_alpaca.json")
    before = store.count()
    at = open_app("pages/score.py")
    at.multiselect(key="score_scorers").set_value(["ifd"])
    at.text_input(key="score_model").set_value(str(tmp_path / "no-such-model"))
    at.button(key="score_go").click().run()
    finish_job(at, "score_job")

    errors = [e.value for e in at.error]
    assert errors and "no-such-model" in errors[0] and "Traceback" not in errors[0]
    assert store.count() == before and "ifd" not in store.scorer_keys()


def test_scoring_on_a_new_local_ray_from_the_page(store, monkeypatch):
    """The Engine choice: Ray, on a new local Ray the job starts and stops; the address list is the admin's."""
    pytest.importorskip("ray")
    monkeypatch.setenv("WINNOW_RAY_ADDRESSES", "ray://trusted-head:10001")
    load(store, "tasks_alpaca.json")
    at = open_app("pages/score.py")
    assert at.selectbox(key="score_ray_address").options == ["a new local Ray", "ray://trusted-head:10001"]
    fast = at.selectbox(key="score_dtype")
    assert fast.format_func("bf16") == "bf16: fast, ranks kept, scores ~0.02 off"  # what it gives up, said
    at.multiselect(key="score_scorers").set_value(["heuristics"])
    at.selectbox(key="score_engine").set_value("ray")
    at.button(key="score_go").click().run()
    finish_job(at, "score_job")

    assert [s.value for s in at.success if "scored" in s.value][0].startswith("heuristics: scored")
    assert store.count_unscored("heuristics", store.scorer_keys()["heuristics"]["key"])[0] == 0
    job = store.cursor().execute("SELECT params FROM jobs ORDER BY created_at DESC LIMIT 1").fetchall()[0][0]
    assert "Ray at a new local Ray, 1 actor(s)" in job
    import ray

    assert not ray.is_initialized()  # the job disconnected (and stopped the Ray it started)
