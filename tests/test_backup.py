"""Backups and checkpoints: the workspace file alone holds every commit, and a backup taken while a scoring job writes
is one consistent snapshot that restores to a workspace with every score."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import pytest
from patience import HANG_S

from core import jobs
from core.backup import backup_workspace, default_backup_path
from core.errors import PermissionDenied, WinnowError
from core.importing.workspace import import_file
from core.scoring.runner import run_scorers
from core.settings import PROJECT_ROOT
from core.store import SampleEdit, Store
from core.team import accounts

SCORE_COLUMNS = "content_hash, h_answer_chars, h_prompt_words, h_refusal"


def many_samples(tmp_path, n: int = 600):
    path = tmp_path / "many.jsonl"
    lines = [
        f'{{"instruction": "Question {i}: what is {i} plus {i}?", "input": "", "output": "It is {2 * i}."}}\n'
        for i in range(n)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def scores(store: Store) -> list[tuple]:
    q = f"SELECT {SCORE_COLUMNS} FROM score_heuristics ORDER BY content_hash"
    return store.cursor().execute(q).fetchall()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, many_samples(tmp_path), user="ann")
        yield store


def test_a_backup_taken_while_a_scoring_job_runs_restores_to_a_workspace_with_every_score(store, tmp_path):
    reached, go = threading.Event(), threading.Event()

    def work(progress):
        def held(done, total, message=""):
            progress(done, total, message)
            if done and not reached.is_set():  # the first batch is written, the rest is to come
                reached.set()
                assert go.wait(HANG_S)

        return run_scorers(store, ["heuristics"], progress=held, token_budget=2_000)

    job = jobs.start_job(store, "score", {"scorers": ["heuristics"]}, work, user="ann")
    assert reached.wait(HANG_S)
    during = scores(store)
    assert 0 < len(during) < store.count()  # the job is half-way
    report = backup_workspace(store, tmp_path / "backup.duckdb", user="ann")
    go.set()
    jobs.wait(job)
    assert store.get_job(job)["status"] == "done"
    after = scores(store)
    assert len(after) == store.count()

    # The backup is the workspace as it was when it was taken: one file, every committed score, nothing half.
    assert not (tmp_path / "backup.duckdb.wal").exists()
    assert report.samples == store.count()
    with Store(tmp_path / "backup.duckdb") as restored:
        assert scores(restored) == during
        assert restored.get_job(job)["status"] == "running"  # as it was; the app marks it failed when it opens it
        assert restored.fail_orphaned_jobs() == 1
        # Restored, the scoring resumes where the backup stopped and ends with every score.
        run_scorers(restored, ["heuristics"])
        assert scores(restored) == after
        assert restored.count() == store.count()
        assert restored.history(restored.page(limit=1).to_pylist()[0]["id"]) == []
        backup_events = [e for e in store.recent_events() if e["action"] == "backup"]
    assert len(backup_events) == 1


def test_the_workspace_file_alone_holds_every_commit_while_the_app_holds_it_open(store, tmp_path):
    """Copying ``ws.duckdb`` without its log (as anyone would back it up or move it) loses nothing."""
    first = store.page(limit=1).to_pylist()[0]
    store.update_sample(first["id"], 1, SampleEdit(status="accepted", note="checked"), user="ann")
    job = jobs.start_job(store, "score", {}, lambda progress: run_scorers(store, ["heuristics"]), user="ann")
    jobs.wait(job)
    shutil.copy(tmp_path / "ws.duckdb", tmp_path / "copy.duckdb")  # the file only: no .wal
    with Store(tmp_path / "copy.duckdb") as copy:
        assert copy.count() == store.count()
        assert copy.get_sample(first["id"])["note"] == "checked"
        assert scores(copy) == scores(store)
        assert copy.get_job(job)["status"] == "done"


def test_backup_refuses_an_existing_file_the_workspace_and_non_admins(store, tmp_path):
    accounts.add_user(store, "ann", "admin", "ann-password", by="ann")
    accounts.add_user(store, "lee", "lead", "lee-password", by="ann")
    out = tmp_path / "b.duckdb"
    backup_workspace(store, out, user="ann")
    with pytest.raises(WinnowError, match="exists: choose another name"):
        backup_workspace(store, out, user="ann")
    assert backup_workspace(store, out, user="ann", force=True).samples == store.count()
    with pytest.raises(WinnowError, match="the workspace itself"):
        backup_workspace(store, store.path, user="ann", force=True)
    with pytest.raises(PermissionDenied, match="lee is a lead and may not back up the workspace"):
        backup_workspace(store, tmp_path / "c.duckdb", user="lee")
    assert not (tmp_path / "c.duckdb").exists()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_default_backup_path_is_beside_the_workspace(tmp_path):
    from datetime import datetime

    path = default_backup_path(tmp_path / "ws.duckdb", now=datetime(2026, 3, 4, 5, 6, 7))
    assert path == tmp_path / "backups" / "ws-20260304-050607.duckdb"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={"WINNOW_USER": "ci", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        timeout=HANG_S,
    )


def test_cli_backup_and_its_one_line_errors(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, many_samples(tmp_path, 20), user="ci")
        # While a process (the app) holds the workspace, the CLI cannot open it: it says where to take the backup.
        locked = run_cli("backup", "--db", tmp_path / "ws.duckdb", "--out", tmp_path / "b.duckdb")
    assert locked.returncode == 2
    assert "open in the app" in locked.stderr and "Users page" in locked.stderr
    assert "Traceback" not in locked.stderr

    done = run_cli("backup", "--db", tmp_path / "ws.duckdb", "--out", tmp_path / "b.duckdb")
    assert done.returncode == 0, done.stderr
    assert "20 samples" in done.stdout
    with Store(tmp_path / "b.duckdb", read_only=True) as copy:
        assert copy.count() == 20
    again = run_cli("backup", "--db", tmp_path / "ws.duckdb", "--out", tmp_path / "b.duckdb")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists" in again.stderr
