"""The demo workspace: ``python -m core demo`` loads it once and asks for it to be prepared; ``prepare`` leaves
heuristics, embeddings, a map with named clusters, task label suggestions and IFD; an interrupted preparation
resumes with the steps it lacks."""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest
from prepared_demo import USER, demo_subset, prepared_demo_db
from scored_demo import copy_workspace

from core import demo
from core.cli import main
from core.errors import Cancelled
from core.importing.workspace import import_file
from core.map.workspace import map_key
from core.scoring import get_scorer
from core.store import UNLABELED, Store


def test_the_demo_command_loads_once_and_asks_the_app_to_prepare_it(tmp_path, capsys):
    db = tmp_path / "ws.duckdb"
    assert main(["demo", "--db", str(db), "--admin", "demo"]) == 0
    out = capsys.readouterr().out
    assert "the app prepares the demo in the background" in out
    assert "embedding, map, labels, ifd" in out  # heuristics ran with the import
    with Store(db) as store:
        samples, sources = store.count(), store.sources()
        assert demo.preparation(store) == {"state": "wanted", "user": "demo", "labelled": False}
        assert demo.missing_steps(store) == ["embedding", "map", "labels", "ifd"]
        assert len(sources) == len(demo.DEMO_FILES) and samples == 342

    assert main(["demo", "--db", str(db), "--admin", "demo", "--user", "demo"]) == 0
    out = capsys.readouterr().out
    assert f"already has {samples} samples; demo data not loaded again" in out
    with Store(db) as store:
        assert store.count() == samples and len(store.sources()) == len(sources)
        assert demo.preparation(store)["state"] == "wanted"


def test_an_interrupted_load_imports_only_the_missing_demo_files(tmp_path, capsys):
    db = tmp_path / "ws.duckdb"
    first, mapping = demo.DEMO_FILES[0]
    with Store(db) as store:
        import_file(store, demo.DEMO_DIR / first, user=USER, mapping=mapping)  # killed before the second file
        assert demo.is_demo_workspace(store)
    assert main(["demo", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert first not in out and all(name in out for name, _ in demo.DEMO_FILES[1:])
    with Store(db) as store:
        assert store.count() == 342 and len(store.sources()) == len(demo.DEMO_FILES)
        assert demo.preparation(store)["state"] == "wanted"


def test_a_workspace_of_other_files_is_left_alone(tmp_path, capsys):
    db = tmp_path / "ws.duckdb"
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"instruction": "Say hi.", "input": "", "output": "Hi."}) + "\n", encoding="utf-8")
    with Store(db) as store:
        import_file(store, own, user=USER)
    assert main(["demo", "--db", str(db)]) == 0
    assert "already has 1 samples; demo data not loaded again" in capsys.readouterr().out
    with Store(db) as store:
        assert store.count() == 1 and not demo.is_demo_workspace(store)
        assert demo.preparation(store) is None  # nothing will be computed on it behind its owner's back


@pytest.mark.model
def test_preparation_leaves_scores_a_named_map_and_task_labels(tmp_path_factory, cpu_settings):
    with Store(prepared_demo_db(tmp_path_factory)) as store:
        assert demo.missing_steps(store, cpu_settings) == []
        assert demo.preparation(store)["state"] == "done"
        for name in ("heuristics", "embedding", "ifd"):
            key = get_scorer(name, cpu_settings).key
            assert store.scorer_keys()[name]["key"] == key
            assert store.count_unscored(name, key)[0] == 0
        ifd = [v for v in store.score_values("ifd", limit=1000) if v is not None]
        assert len(ifd) >= 0.9 * store.count() and all(0 < v < 5 for v in ifd)

        current = store.get_map()
        assert current["map_key"] == map_key(store.embedding_fingerprint(), current["k"], current["seed"])
        assert current["k"] >= 3 and sorted(current["cluster_names"]) == list(range(current["k"]))
        assert all(name.strip() for name in current["cluster_names"].values())
        assert sum(n for _, n in store.distribution("cluster")) == store.count()

        labels = dict(store.distribution("task_label"))
        assert UNLABELED not in labels and sum(labels.values()) == store.count()
        assert len(labels) >= 3  # code, math, QA... not one label for everything


@pytest.mark.model
def test_an_interrupted_preparation_resumes_with_the_steps_it_lacks(tmp_path, cpu_settings):
    db = tmp_path / "ws.duckdb"
    seen: list[tuple[int, int, str]] = []

    def stop_at(step: str):
        def progress(done: int, total: int, message: str) -> None:
            seen.append((done, total, message))
            if message.startswith(step):
                raise Cancelled("stopped by the test")

        return progress

    with Store(db) as store:
        demo.load_demo(store, user=USER, folder=demo_subset(tmp_path / "files"))
        demo.request_preparation(store, user=USER)
        assert demo.missing_steps(store, cpu_settings) == list(demo.STEPS)
        with pytest.raises(Cancelled):
            demo.prepare(store, user=USER, settings=cpu_settings, progress=stop_at("step 3 of 5"))
        assert demo.missing_steps(store, cpu_settings) == ["map", "labels", "ifd"]
        # progress counts steps in STEP_UNITS and never goes back
        assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
        assert {t for _, t, _ in seen} == {5 * demo.STEP_UNITS} and seen[-1][0] == 2 * demo.STEP_UNITS
        assert demo.preparation(store)["state"] == "wanted"

        seen.clear()
        with pytest.raises(Cancelled):  # the rest, up to IFD (the prepared workspace's test covers IFD)
            demo.prepare(store, user=USER, settings=cpu_settings, progress=stop_at("step 3 of 3"))
        assert seen[0][2] == "step 1 of 3, the map and its named clusters"
        assert demo.missing_steps(store, cpu_settings) == ["ifd"]
        assert store.get_map() is not None and demo.preparation(store)["labelled"] is True


def test_a_done_or_stopped_preparation_is_not_asked_for_again(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        assert demo.preparation(store) is None
        assert demo.request_preparation(store, user=USER) is True
        store.set_fact(demo.FACT, json.dumps({"state": "stopped", "user": USER, "labelled": False}))
        assert demo.request_preparation(store, user=USER) is False
        assert demo.preparation(store)["state"] == "stopped"
        assert demo.start_preparation(store) is None  # the app starts nothing


@pytest.mark.model
def test_the_app_process_runs_the_preparation_as_one_job(tmp_path, tmp_path_factory, cpu_settings):
    db = copy_workspace(prepared_demo_db(tmp_path_factory), tmp_path / "ws.duckdb")
    from core import jobs

    with Store(db) as store:
        extra = tmp_path / "extra.jsonl"
        extra.write_text(
            json.dumps({"instruction": "Name a prime number above 100.", "input": "", "output": "101."}) + "\n",
            encoding="utf-8",
        )
        import_file(store, extra, user=USER)  # a new content: every step has one sample to do
        store.set_fact(demo.FACT, json.dumps({"state": "wanted", "user": USER, "labelled": True}))
        assert demo.missing_steps(store, cpu_settings) == list(demo.STEPS)
        job_id = demo.start_preparation(store, cpu_settings)
        assert demo.start_preparation(store, cpu_settings) == job_id  # one job, however often the app asks
        jobs.wait(job_id)
        job = store.get_job(job_id)
        assert job["status"] == "done", job["error"]
        assert json.loads(job["message"])["steps"] == list(demo.STEPS)
        assert demo.preparation_progress(job)["steps_done"] == 5 and job["params"] == demo.JOB_PARAMS
        assert demo.missing_steps(store, cpu_settings) == [] and demo.preparation_job(store) is None
        assert demo.start_preparation(store, cpu_settings) is None


@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice value on Linux only")
def test_the_preparation_job_yields_the_cpu_to_the_pages(tmp_path, monkeypatch):
    from core import jobs

    seen = {}

    def prepare(store, **kwargs):  # stands in for the work: records the priority it runs at
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return {"steps": []}

    monkeypatch.setattr(demo, "prepare", prepare)
    with Store(tmp_path / "ws.duckdb") as store:
        demo.request_preparation(store, user=USER)
        job_id = demo.start_preparation(store)
        jobs.wait(job_id)
        assert store.get_job(job_id)["status"] == "done"
    assert seen["nice"] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + demo.YIELD_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen["nice"]  # this thread kept its own
