"""The demo at first sight: on a prepared demo workspace Explore, Balance and Select show the map, its named
clusters, IFD and task labels with no other step; and the app prepares a workspace that asks for it in a background
job whose progress the sidebar shows."""

from __future__ import annotations

import json
import threading

import pytest
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts
from prepared_demo import prepared_demo_db
from scored_demo import copy_workspace

from core import demo, jobs
from core.importing.workspace import import_file
from core.labels.balance import DIMENSION_TITLES
from core.map.colours import distinct_colours
from core.store import IFD_BUCKETS, UNLABELED, Store


@pytest.fixture
def store(tmp_path, tmp_path_factory, monkeypatch):
    copy_workspace(prepared_demo_db(tmp_path_factory), tmp_path / "ws.duckdb")  # new_workspace opens this file
    return new_workspace(tmp_path, monkeypatch)


@pytest.mark.model
def test_explore_shows_the_map_with_named_clusters_in_distinct_colours_and_their_ifd(store):
    current = store.get_map()
    at = open_app("pages/explore.py")
    assert "No embeddings yet" not in texts(at) and "No map yet" not in texts(at)
    assert at.button(key="explore_go").disabled  # the map is current
    assert f"Showing all {store.count()} samples" in texts(at)
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    names = current["cluster_names"]
    assert [t["name"] for t in traces] == [f"{c}: {names[c]}" for c in range(current["k"])]
    assert [t["marker"]["color"] for t in traces] == distinct_colours(current["k"])
    table = at.dataframe[-1].value
    assert table["name"].tolist() == [names[c] for c in table["cluster"]]
    assert table["IFD mean"].notna().all() and table["samples"].sum() == store.count()


@pytest.mark.model
def test_balance_shows_clusters_ifd_buckets_and_suggested_labels(store):
    at = open_app("pages/balance.py")
    assert not at.error
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: c for c in at.get("plotly_chart")}
    bars = {  # a dimension without its data has a caption instead of a chart
        dim: next(
            b["x"] for b in json.loads(charts[DIMENSION_TITLES[dim]].proto.spec)["data"] if b["name"] == "workspace"
        )
        for dim in ("task_label", "cluster", "ifd")
    }
    assert sorted(bars["cluster"], key=int) == [str(c) for c in range(store.get_map()["k"])]
    assert bars["ifd"] and set(bars["ifd"]) <= {label for _, label in IFD_BUCKETS}  # no "(not scored)" bar
    assert len(bars["task_label"]) >= 3 and UNLABELED not in bars["task_label"]
    taxonomy = next(d.value for d in at.dataframe if "description" in d.value.columns)
    counted = dict(zip(taxonomy["label"], taxonomy["samples"], strict=True))
    assert counted[UNLABELED] == 0 and sum(counted.values()) == store.count()
    assert sum(1 for n in counted.values() if n) >= 3


@pytest.mark.model
def test_select_runs_the_align_preset_at_once(store):
    at = open_app("pages/select.py")
    assert not at.error  # align reads heuristics, embeddings and IFD: all there
    assert "does not have yet" not in texts(at) and not at.button(key="select_go").disabled
    at.button(key="select_go").click().run()
    finish_job(at, "select_job")
    saved = store.get_selection("align")
    assert [e["name"] for e in saved["log"]] == ["filter", "dedup", "ifd_top", "k_center"]
    assert 0 < saved["samples"] < store.count()  # ifd_top kept the harder half
    assert any("Saved selection **align**" in s.value for s in at.success)


def held_preparation(monkeypatch) -> threading.Event:
    """Hold the preparation job at its start until the returned event is set, so a test sees the job running (it
    observes that state; it does not race the job to it)."""
    go_on = threading.Event()
    real_prepare = demo.prepare

    def held_prepare(*args, **kwargs):
        go_on.wait()
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(demo, "prepare", held_prepare)
    return go_on


def test_stop_preparing_stops_it_for_good(tmp_path, monkeypatch):
    with Store(tmp_path / "ws.duckdb") as plain:
        load(plain, "chats_openai.jsonl")
        demo.request_preparation(plain, user=USER)
    go_on = held_preparation(monkeypatch)
    try:
        store = new_workspace(tmp_path, monkeypatch)
        job_id = demo.preparation_job(store)["job_id"]
        at = open_app()
        at.sidebar.button(key="demo_preparation_stop").click().run()
        assert store.get_job(job_id)["cancel_requested"]
    finally:
        go_on.set()
    jobs.wait(job_id)  # it stops at its first step, before any model loads
    assert store.get_job(job_id)["status"] == "cancelled"
    assert demo.preparation(store)["state"] == "stopped"
    at.run()
    assert any("Stopped preparing the demo" in i.value for i in at.sidebar.get("info"))
    assert demo.start_preparation(store) is None  # the next start of the app leaves it stopped
    assert demo.missing_steps(store)[0] == "heuristics"  # nothing was computed


@pytest.mark.model
def test_the_app_prepares_a_workspace_that_asks_for_it_and_shows_the_progress(tmp_path, tmp_path_factory, monkeypatch):
    db = copy_workspace(prepared_demo_db(tmp_path_factory), tmp_path / "ws.duckdb")
    with Store(db) as plain:  # as `python -m core demo` leaves it: one step or more to do, and the request
        extra = tmp_path / "extra.jsonl"
        extra.write_text(json.dumps({"instruction": "Is 221 prime?", "input": "", "output": "No: 13 × 17."}) + "\n")
        import_file(plain, extra, user=USER)
        plain.set_fact(demo.FACT, json.dumps({"state": "wanted", "user": USER, "labelled": True}))
    go_on = held_preparation(monkeypatch)
    try:
        check_the_app_while_it_prepares(tmp_path, monkeypatch, go_on)
    finally:
        go_on.set()  # a failed check leaves no job waiting


def check_the_app_while_it_prepares(tmp_path, monkeypatch, go_on: threading.Event) -> None:
    store = new_workspace(tmp_path, monkeypatch)  # the app opens the workspace: the job starts
    job = demo.preparation_job(store)
    assert job is not None and job["params"] == demo.JOB_PARAMS

    at = open_app("pages/explore.py")
    bar = at.sidebar.get("progress")
    assert bar and "Preparing the demo" in bar[-1].proto.text
    assert "The map is being prepared for the demo" not in texts(at)  # a map exists: the page shows it meanwhile
    at.switch_page("pages/select.py").run()
    assert not at.error

    go_on.set()
    jobs.wait(job["job_id"])
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert store.get_job(job["job_id"])["status"] == "done"
    assert "The demo is prepared" in " ".join(s.value for s in at.sidebar.get("success") if hasattr(s, "value"))
    assert demo.missing_steps(store) == [] and demo.preparation(store)["state"] == "done"
    assert f"Showing all {store.count()} samples" in texts(at)
