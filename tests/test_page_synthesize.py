"""The Synthesize page: seeds from a saved selection, a job through an OpenAI-compatible endpoint (the test's real
local HTTP server), and the report; new samples arrive pending."""

from __future__ import annotations

import pytest
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts
from test_synthesis import endpoint  # noqa: F401 (the fixture)

from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_self_instruct_from_a_selection_through_an_endpoint(store, endpoint, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WINNOW_SYNTH_ENDPOINTS", endpoint)  # the admin allows it: the page offers only those
    load(store, "tasks_alpaca.json")
    ids = [r["id"] for r in store.page(SampleFilter()).to_pylist()]
    store.save_selection("seeds", recipe="steps: []", recipe_hash="x", log=[], members=[(i, 1) for i in ids], user=USER)
    before = store.count()
    at = open_app("pages/synthesize.py")
    assert f"{len(ids)} seed tasks." in texts(at)
    at.number_input(key="synth_n").set_value(2)
    assert at.selectbox(key="synth_base_url").options == ["the local model", endpoint]
    at.selectbox(key="synth_base_url").set_value(endpoint)
    at.text_input(key="synth_model").set_value("served")
    at.button(key="synth_go").click().run()
    finish_job(at, "synth_job")
    assert not at.exception, at.exception
    report = [s.value for s in at.success]
    assert report and "kept as pending samples" in report[0] and "cut off: 1" in report[0]
    assert store.count() == before + 2 and store.count(SampleFilter(status="pending")) >= 2
