"""The worker-process engine the app's jobs score with: the same scores as in this process, the scorer really runs
elsewhere, and a worker that fails or dies is said plainly with nothing half-merged."""

from __future__ import annotations

import json
import os
import signal

import pytest

from core.importing.workspace import import_file
from core.jobs import start_job, wait
from core.scoring import get_scorer
from core.scoring.base import Scorer
from core.scoring.process_engine import WorkerDied, _worker, run_scorer_in_worker
from core.scoring.runner import run_scorer
from core.scoring.shard_driver import WorkerFailed
from core.settings import PROJECT_ROOT
from core.store import Store


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A workspace of 40 samples (Chinese and English); the worker finds this folder's test scorers."""
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT / "tests"))
    _worker.stop()  # a new worker, with this environment
    records = [
        {"instruction": f"问题 {i}" if i % 2 else f"question {i}", "output": f"answer {i} " * (1 + i % 5)}
        for i in range(38)
    ]
    records.insert(20, {"instruction": "please die now", "output": "x"})
    records.insert(25, {"instruction": "a poison prompt", "output": "x"})
    source = tmp_path / "data.json"
    source.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    with Store(tmp_path / "ws.duckdb") as s:
        import_file(s, source, user="ana")
        yield s
    _worker.stop()


class WhereScorer(Scorer):
    """Records the process that scored; dies on "die", fails on "poison" (test-only, imported by the worker)."""

    name = "where"
    columns = {"pid": "BIGINT"}

    def score_batch(self, samples):
        prompts = [s["messages"][0]["content"] for s in samples]
        if any("die" in p for p in prompts) and os.environ.get("_WHERE_MAY_DIE"):
            os.kill(os.getpid(), signal.SIGKILL)
        if any("poison" in p for p in prompts) and os.environ.get("_WHERE_MAY_FAIL"):
            raise ValueError("poisoned prompt")
        return [{"pid": os.getpid()} for _ in samples]


def _rows(store: Store, name: str, key: str) -> dict:
    cur = store.cursor().execute(f"SELECT * EXCLUDE (scored_at) FROM score_{name} WHERE scorer_key = ?", [key])
    return {row[0]: row for row in cur.fetchall()}


def test_the_worker_gives_this_process_scores(store, tmp_path, tiny, cpu_settings):
    import shutil

    shutil.copy(store.path, tmp_path / "copy.duckdb")
    settings = cpu_settings.with_(allow_models="any")
    with Store(tmp_path / "copy.duckdb") as here:
        for name, params in (("heuristics", {}), ("ifd", {"model": tiny})):
            scorer = get_scorer(name, settings, **params)
            run_scorer(here, get_scorer(name, settings, **params))
            report = run_scorer_in_worker(store, scorer, shard_size=7)
            assert report.scored == store.count_contents() == 40
            want, got = _rows(here, name, scorer.key), _rows(store, name, scorer.key)
            assert want.keys() == got.keys()
            for h in want:
                for a, b in zip(want[h], got[h], strict=True):
                    assert a == b or abs(a - b) <= 1e-6, (name, h, a, b)


def test_an_app_job_scores_in_another_process(store):
    scorer = WhereScorer()
    job = start_job(
        store,
        "score",
        {},
        lambda progress: [str(run_scorer_in_worker(store, scorer, progress=progress))],
        user="ana",
    )
    wait(job, timeout=120)
    assert store.get_job(job)["status"] == "done", store.get_job(job)["error"]
    pids = {row[2] for row in _rows(store, "where", scorer.key).values()}
    assert len(pids) == 1 and pids != {os.getpid()}


def test_jobs_default_to_the_worker(store):
    from core.scoring.engines import default_engine, scoring_in_worker

    assert not default_engine().in_worker  # the CLI and scripts score in their own process
    with scoring_in_worker():
        assert default_engine().in_worker
    seen = []
    job = start_job(store, "score", {}, lambda progress: seen.append(default_engine().in_worker), user="ana")
    wait(job, timeout=60)
    assert seen == [True]


def test_a_failing_scorer_names_the_sample(store, monkeypatch):
    monkeypatch.setenv("_WHERE_MAY_FAIL", "1")
    _worker.stop()
    with pytest.raises(WorkerFailed, match="poisoned prompt") as failure:
        run_scorer_in_worker(store, WhereScorer(), shard_size=8)
    poisoned = store.cursor().execute("SELECT id FROM samples WHERE raw LIKE '%poison%'").fetchall()[0][0]
    assert poisoned in str(failure.value)
    scored = _rows(store, "where", WhereScorer().key)
    assert 0 < len(scored) < 40  # the shards before it are merged, its own is not
    by_rid = [h for (h,) in store.cursor().execute("SELECT content_hash FROM samples ORDER BY rid").fetchall()]
    assert not set(by_rid[24:32]) & set(scored)


def test_a_worker_that_dies_is_said_and_the_next_run_finishes(store, monkeypatch):
    monkeypatch.setenv("_WHERE_MAY_DIE", "1")
    _worker.stop()
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        run_scorer_in_worker(store, WhereScorer(), shard_size=8)
    kept = len(_rows(store, "where", WhereScorer().key))
    assert kept == 16  # two whole shards before the one holding "die" (the 21st sample)
    monkeypatch.delenv("_WHERE_MAY_DIE")
    _worker.stop()
    report = run_scorer_in_worker(store, WhereScorer(), shard_size=8)
    assert report.scored == 40 - kept and len(_rows(store, "where", WhereScorer().key)) == 40


def test_shards_are_read_from_the_workspace_as_they_go_out(store, monkeypatch):
    """A job over a million contents neither holds them all nor spends its thread reading them before the first
    shard goes out; a cancelled run has read only what it sent."""
    from core.errors import Cancelled
    from core.scoring import shard_driver

    monkeypatch.setattr(shard_driver, "PAGE", 4)
    reads = []
    contents_at = Store.contents_at
    monkeypatch.setattr(Store, "contents_at", lambda self, rids: reads.append(len(rids)) or contents_at(self, rids))
    with pytest.raises(Cancelled):
        run_scorer_in_worker(store, get_scorer("heuristics"), shard_size=2, cancelled=lambda: True)
    assert reads == [4]  # the first page: two shards, of which the first went out before the cancel
    reads.clear()
    report = run_scorer_in_worker(store, get_scorer("heuristics"), shard_size=2)
    assert report.scored == store.count_contents() - 2 and sum(reads) == report.scored
