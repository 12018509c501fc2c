"""The scoring runner on real workspaces: only what changed is scored, jobs, and resume after a real kill."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from paused_process import kill, start_paused

from core.errors import WinnowError
from core.importing.workspace import import_file
from core.jobs import start_job, wait
from core.scoring import get_scorer
from core.scoring.runner import run_scorer, run_scorers
from core.settings import PROJECT_ROOT
from core.store import SampleEdit, SampleFilter, Store

DEMO = PROJECT_ROOT / "data" / "demo"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ws.duckdb")
    import_file(s, DEMO / "general_alpaca.json", user="ana")
    yield s
    s.close()


def test_scores_each_content_once_and_only_what_changed(store):
    scorer = get_scorer("heuristics")
    first = run_scorer(store, scorer)
    contents = store.count_unscored("heuristics", scorer.key)[1]
    assert first.scored == contents and contents == store.count(SampleFilter(duplicates=False))
    assert run_scorer(store, scorer).scored == 0

    sample = store.next_pending()
    edited = [dict(m) for m in sample["messages"]]
    edited[-1]["content"] += " Edited."
    store.update_sample(sample["id"], sample["version"], SampleEdit(messages=edited), user="ana")
    again = run_scorer(store, scorer)
    assert again.scored == 1
    assert store.get_sample(sample["id"])["scores"]["h_answer_chars"] == len(edited[-1]["content"])


def test_unknown_scorer_or_parameter_is_a_user_error(store):
    with pytest.raises(WinnowError, match="no scorer named"):
        run_scorers(store, ["nope"])
    with pytest.raises(WinnowError, match="parameter"):
        run_scorers(store, ["heuristics"], params={"heuristics": {"colour": "blue"}})


def test_job_records_progress_and_cancellation(store):
    job = start_job(
        store, "score", {}, lambda progress: run_scorers(store, ["heuristics"], progress=progress), user="ana"
    )
    wait(job, timeout=120)
    done = store.get_job(job)
    assert done["status"] == "done" and done["done"] == done["total"] > 0

    def cancelled_at_first_batch(progress):
        progress(0, 10, "starting")
        store.request_cancel(job2)
        progress(1, 10, "one")  # raises Cancelled
        return "not reached"

    job2 = start_job(store, "score", {}, cancelled_at_first_batch, user="ana")
    wait(job2, timeout=30)
    assert store.get_job(job2)["status"] == "cancelled"


def _cli(*args, **kw):
    env = {**os.environ, "WINNOW_USER": "ci", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _ifd_scores(db) -> dict:
    with Store(db) as s:
        rows = (
            s.cursor()
            .execute(
                "SELECT content_hash, ifd, ifd_cond_loss, ifd_direct_loss, ifd_answer_tokens, ifd_reason FROM score_ifd"
            )
            .fetchall()
        )
    return {r[0]: r[1:] for r in rows}


@pytest.mark.model
def test_killed_score_run_resumes_to_the_same_scores(tmp_path):
    """A real kill -9 mid-run, a rerun, and the same final IFD scores as an uninterrupted run."""
    db = tmp_path / "ws.duckdb"
    src = tmp_path / "some.jsonl"
    src.write_text("".join((DEMO / "math_code_openai.jsonl").read_text(encoding="utf-8").splitlines(True)[:24]))
    with Store(db) as s:
        import_file(s, src, user="ana")
    twin = tmp_path / "twin.duckdb"
    shutil.copy(db, twin)
    # small batches (two or three samples each), so there are several batch writes to land between
    args = ["score", "--scorers", "ifd", "--max-length", "64", "--batch-tokens", "300", "--device", "cpu"]

    # Held after its second batch is written, then killed there: some batches are in, the rest are not.
    kill(start_paused(*args, "--db", db, point="score.batch_written#2"))

    with Store(db) as s:
        key = get_scorer("ifd", max_length=64).key
        todo, total = s.count_unscored("ifd", key)
    assert 0 < total - todo < total  # finished batches survived the kill, the rest did not

    resumed = _cli(*args, "--db", db)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"scored {todo} new contents" in out
    straight = _cli(*args, "--db", twin)
    _out2, err2 = straight.communicate(timeout=600)
    assert straight.returncode == 0, err2

    a, b = _ifd_scores(db), _ifd_scores(twin)
    assert a.keys() == b.keys() and len(a) == total
    for h in a:
        for x, y in zip(a[h], b[h]):
            if isinstance(x, float):
                assert y == pytest.approx(x, abs=1e-4)
            else:
                assert x == y


def test_heuristics_export_with_scores(store, tmp_path):
    run_scorers(store, ["heuristics"])
    from core.export import export_samples

    out = tmp_path / "scored.jsonl"
    export_samples(store, out, fmt="alpaca", user="ana", filters=SampleFilter(), with_scores=True)
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["source"] == "general_alpaca.json" and first["source_index"] == 0
    assert first["h_answer_chars"] == len(first["output"])
