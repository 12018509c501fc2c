"""The Explore page: computes the map in a job, draws it, acts on a selection, and sends a cluster to Review."""

from __future__ import annotations

import pytest
from map_workspace import build
from page_workspace import USER, finish_job, new_workspace, open_app, texts

from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_without_embeddings_the_page_says_what_to_do(store):
    at = open_app("pages/explore.py")
    assert "No embeddings yet" in texts(at)


def test_map_job_selection_bulk_actions_and_review_queue(store):
    groups = build(store, user=USER)
    at = open_app("pages/explore.py")
    assert "No map yet" in texts(at)
    at.number_input(key="explore_k").set_value(3)
    at.button(key="explore_go").click().run()
    finish_job(at, "explore_job")
    assert store.get_map()["k"] == 3
    assert "Showing all 16 samples" in texts(at)
    assert at.button(key="explore_go").disabled  # the map is current: nothing to recompute
    assert at.get("plotly_chart")

    # A lasso over the code group, fed as the chart's selection would be (rids of the points).
    rids = [r for r, sid in zip(*store.sample_arrays(["rid", "id"]).values(), strict=True) if sid in groups["code"]]
    at.session_state["explore_selection"] = [int(r) for r in rids]
    at.run()
    assert "5 selected" in texts(at)
    at.button(key="explore_accept").click().run()
    assert not at.exception, at.exception
    assert store.count(SampleFilter(status="accepted")) == 5
    assert {store.get_sample(s)["status"] for s in groups["code"]} == {"accepted"}
    assert store.history(groups["code"][0])[-1]["action"] == "bulk"

    at.selectbox(key="explore_label").set_value("code").run()
    at.button(key="explore_label_go").click().run()
    assert store.count(SampleFilter(task_label="code")) == 5
    assert store.get_sample(groups["code"][0])["task_label_source"] == "confirmed"

    # The cluster table; opening a cluster makes it Review's queue.
    names = at.dataframe[-1].value
    assert sorted(names["samples"].tolist()) == [5, 5, 6]
    math_cluster = int(names[names["samples"] == 6]["cluster"].iloc[0])
    at.selectbox(key="explore_cluster").set_value(math_cluster).run()
    at.button(key="explore_open_cluster").click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_queue"]["cluster"] == math_cluster
    at.switch_page("pages/review.py").run()
    assert f"cluster {math_cluster}" in texts(at)
    assert at.session_state["review_snap"]["id"] in groups["math"]
