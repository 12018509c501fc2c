"""The Explore page: computes the map in a job, draws it, acts on a selection, and sends a cluster to Review."""

from __future__ import annotations

import pytest
from map_workspace import build
from page_workspace import USER, finish_job, new_workspace, open_app, texts

from core.map import workspace
from core.map.workspace import build_map
from core.store import SampleEdit, SampleFilter
from core.team import accounts


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

    # Confirming a label keeps one another annotator confirmed, unless overwriting is ticked.
    accounts.add_user(store, "ana", "lead", "ana-password", by=USER)
    store.update_sample(
        groups["code"][0], store.get_sample(groups["code"][0])["version"], SampleEdit(task_label="math"), user="ana"
    )
    at.selectbox(key="explore_label").set_value("code").run()
    assert at.checkbox(key="explore_label_overwrite").label.startswith("Also overwrite the 1 labels")
    at.button(key="explore_label_go").click().run()
    assert "Confirmed “code” for 4 samples. Kept 1 labels someone confirmed as another label." in texts(at)
    assert store.get_sample(groups["code"][0])["task_label"] == "math"
    at.checkbox(key="explore_label_overwrite").check().run()
    at.button(key="explore_label_go").click().run()
    assert store.count(SampleFilter(task_label="code")) == 5
    assert store.get_sample(groups["code"][0])["task_label_source"] == "confirmed"
    assert (store.history(groups["code"][0])[-1]["before"], store.history(groups["code"][0])[-1]["after"]) == (
        "math",
        "code",
    )

    # Remove label clears the confirmed labels of the selection, versioned.
    at.button(key="explore_unlabel").click().run()
    assert "Removed the confirmed label of 5 samples." in texts(at)
    assert store.count(SampleFilter(task_label="code")) == 0
    assert at.button(key="explore_unlabel").disabled  # nothing confirmed left in the selection

    # The cluster table; opening a cluster makes it Review's queue, by a link (/review?cluster=N).
    names = at.dataframe[-1].value
    assert sorted(names["samples"].tolist()) == [5, 5, 6]
    math_cluster = int(names[names["samples"] == 6]["cluster"].iloc[0])
    at.selectbox(key="explore_cluster").set_value(math_cluster).run()
    at.button(key="explore_open_cluster").click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_queue"]["filter"] == {"cluster": math_cluster}
    assert f"Reviewing cluster {math_cluster}." in texts(at)
    assert at.session_state["review_snap"]["id"] in groups["math"]


def test_a_big_map_draws_a_stratified_sample_and_says_so(store, monkeypatch):
    build(store, user=USER)
    build_map(store, k=3, user=USER)
    monkeypatch.setattr(workspace, "MAX_POINTS", 6)
    at = open_app("pages/explore.py")
    assert "Showing 6 of 16 samples: a sample stratified by cluster" in texts(at)
    chart = at.get("plotly_chart")[0].proto.spec
    assert chart.count('"type":"scattergl"') == 3  # one trace per cluster, each still drawn
    at.selectbox(key="explore_color").set_value("status").run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")[0].proto.spec.count('"name":"pending"') == 1


def edit_and_embed(store, sample_id: str, group: str) -> str:
    """Edit a sample's answer (a new content) and write its embedding on ``group``'s axis; returns its content."""
    from map_workspace import DIM, group_vector

    sample = store.get_sample(sample_id)
    messages = [*sample["messages"][:-1], {**sample["messages"][-1], "content": "An edited answer."}]
    store.update_sample(sample_id, sample["version"], SampleEdit(messages=messages), user=USER)
    content = store.get_sample(sample_id)["content_hash"]
    emb = {"embedding": f"FLOAT[{DIM}]"}
    store.write_scores("embedding", "fake-embedder", emb, [(content, {"embedding": group_vector(group).tolist()})])
    return content


def test_an_edited_sample_is_placed_on_the_current_map_which_goes_stale_only_past_a_share(store):
    groups = build(store, user=USER)
    build_map(store, k=3, user=USER)
    first = store.get_map()
    math_cluster = store.map_coordinates()["cluster"][0]  # the first sample is a math one

    edit_and_embed(store, groups["math"][1], "math")
    at = open_app("pages/explore.py")
    page = texts(at)
    assert not at.warning  # one edit of 15 contents: the map is not stale
    assert "1 samples added or edited since the map was made are placed on it" in page
    assert "Showing all 16 samples" in page  # the edited sample is drawn
    coords = store.map_coordinates()
    rid = store.page(SampleFilter(ids=[groups["math"][1]])).to_pylist()[0]["rid"]
    assert coords["cluster"][list(coords["rid"]).index(rid)] == math_cluster  # in the nearest cluster
    assert store.get_map()["map_key"] == first["map_key"]  # the same map, not refitted

    edit_and_embed(store, groups["code"][0], "code")  # 2 of 15 contents now came after it: over 10%
    at.run()
    assert "13% of the workspace was added or edited since the map was made" in at.warning[0].value
    assert at.button(key="explore_go").label == "Recompute the map"


def test_a_sample_waiting_for_its_embedding_is_offered_to_embed_and_clusters_show_a_dash(store):
    groups = build(store, user=USER)
    build_map(store, k=3, user=USER)
    store.cursor().execute("DELETE FROM score_ifd")  # no IFD: its mean and spread are undefined
    sample = store.get_sample(groups["code"][2])
    store.update_sample(
        sample["id"],
        1,
        SampleEdit(note="x", messages=[*sample["messages"][:-1], {"role": "assistant", "content": "New."}]),
        user=USER,
    )
    at = open_app("pages/explore.py")
    assert "1 samples have no embedding yet (new or edited), so they are not on the map." in texts(at)
    assert at.button(key="explore_embed_go")
    table = at.dataframe[-1].value
    assert set(table["IFD mean"]) == {"—"} and set(table["IFD spread"]) == {"—"}


def test_the_map_colours_by_a_flag_score(store, tmp_path):
    import base64
    import json

    import numpy as np
    from page_workspace import write_jsonl

    from core.decontamination.workspace import add_eval_set_file
    from core.scoring.runner import run_scorers

    groups = build(store, user=USER)
    build_map(store, k=3, user=USER)
    leaked = store.get_sample(groups["code"][0])
    question, answer = (m["content"] for m in leaked["messages"])
    test_set = write_jsonl(tmp_path / "test.jsonl", [{"question": question, "answer": answer}])
    add_eval_set_file(store, test_set, mapping="prompt=question,response=answer", user=USER)
    run_scorers(store, ["decontam"], user=USER)
    at = open_app("pages/explore.py")
    at.selectbox(key="explore_color").set_value("contaminated").run()
    assert not at.exception, at.exception
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert sorted(t["name"] for t in traces) == ["false", "true"]
    flagged = next(t for t in traces if t["name"] == "true")["customdata"]  # plotly's binary array: the rids
    assert np.frombuffer(base64.b64decode(flagged["bdata"]), dtype=flagged["dtype"]).size == 1  # the leaked sample
