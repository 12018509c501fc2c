"""Faults: real processes killed with SIGKILL in the middle of an import or an export.

- An import is all-or-nothing: killed while reading, while DuckDB writes, or while it commits, the workspace opens
  with all of the file's samples or none of them (never a part), no source row for a file that is not in, and the
  same import run again succeeds.
- An export never leaves a partial file under its final name (nor a manifest): only a hidden temporary file, which
  the next export to that name removes.
- Scoring resumes where a kill stopped it: tests/test_scoring_runner.py::test_killed_score_run_resumes_to_the_same_scores.

Each kill lands at a named pause point (core/pause_points.py) that the process reports reaching: never after a fixed
time, nor when a file has grown past some size, which would race the machine's speed.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from patience import HANG_S
from paused_process import kill, start_paused, wait_for_exit

from core.export import export_samples
from core.importing import parse, workspace
from core.importing.workspace import import_file
from core.settings import PROJECT_ROOT
from core.store import SampleFilter, Store
from core.training.writing import remove_stale_partials

MB = 1 << 20


def write_records(path: Path, n: int, *, start: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            fh.write(json.dumps({"instruction": f"Question {i}?", "input": "", "output": f"Answer {i}. " * 20}) + "\n")
    return path


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def state(db: Path) -> dict:
    with Store(db) as store:
        return {"samples": store.count(), "sources": store.sources(), "events": store.recent_events(10_000)}


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------------------------------ import


def test_import_killed_at_any_point_is_all_or_nothing(tmp_path):
    db = tmp_path / "ws" / "ws.duckdb"
    with Store(db) as store:
        import_file(store, write_records(tmp_path / "first.jsonl", 3, start=10**6), user="ci")
    before = state(db)
    n = parse.CHUNK + 1  # two chunks, so there is a point between two writes of one transaction
    big = write_records(tmp_path / "big.jsonl", n)

    points = {
        "reading": "import.parsed_head",  # the first records are read, nothing is written yet
        "writing": "import.chunk_written#1",  # DuckDB has written the first chunk, the second is to come
        "committing": "import.before_commit",  # every sample, the source row and the event are written, not committed
    }
    for point, name in points.items():
        kill(start_paused("import", big, "--db", db, "--no-signals", point=name))
        # What the killed process left (its DuckDB log too) is private: the CLI sets an owner-only umask.
        for entry in os.listdir(db.parent):
            assert private(db.parent / entry), (point, entry)
        assert state(db) == before, point  # the workspace opens (DuckDB replays or drops its log), unchanged

    # Nothing of the file is in, not even its source row: importing it again needs no --allow-reimport. This time the
    # kill lands just after the commit: then all of it is in, with its source and its event.
    kill(start_paused("import", big, "--db", db, "--no-signals", point="import.committed"))
    after = state(db)
    assert after["samples"] == before["samples"] + n
    assert after["sources"][:-1] == before["sources"]
    assert (after["sources"][-1]["name"], after["sources"][-1]["records"]) == ("big.jsonl", n)
    assert after["events"][1:] == before["events"] and after["events"][0]["action"] == "import"


def worker_pids(parent: int) -> list[int]:
    """The importer's parse worker processes that ``parent`` started."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "_worker_main" in cmdline and ppid == parent:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker process through /proc")
def test_import_killed_while_its_worker_parses_leaves_nothing_behind(tmp_path):
    db = tmp_path / "ws.duckdb"
    Store(db).close()
    before = state(db)
    n = workspace.PROCESS_MIN_BYTES // 300  # about 340 bytes a record: over the size parsed in a worker process
    big = write_records(tmp_path / "worker-big.jsonl", n)
    assert big.stat().st_size >= workspace.PROCESS_MIN_BYTES and n > 2 * parse.CHUNK
    # Held once its first chunk is in: the worker has more chunks than its pipe holds, so it is still parsing.
    proc = start_paused("import", big, "--db", db, "--no-signals", point="import.chunk_written#1")
    workers = worker_pids(proc.pid)
    assert len(workers) == 1, workers
    kill(proc)
    # The worker loses its reader and exits on its own: no orphan keeps parsing.
    wait_for_exit(workers[0])
    assert state(db) == before


# ------------------------------------------------------------------------------------------------------------ export


@pytest.fixture(scope="module")
def export_workspace(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("export")
    n = 25_000  # three of the store's export batches
    db = folder / "ws.duckdb"
    with Store(db) as store:
        import_file(store, write_records(folder / "all.jsonl", n), user="ci")
    return db, n


def test_export_killed_at_any_point_leaves_no_file_under_its_final_name(export_workspace, tmp_path):
    db, n = export_workspace
    out = tmp_path / "exports" / "curated.jsonl"

    def partials() -> list[Path]:
        return sorted(out.parent.glob(".curated.jsonl.partial-*")) if out.parent.exists() else []

    points = {
        "opened": "export.opened",  # the temporary file exists, nothing is in it
        "writing": "export.batch_written#1",  # one batch of three is written
        "late": "export.before_rename",  # the whole file is written and hashed, not yet renamed
    }
    for point, name in points.items():
        kill(start_paused("export", "--db", db, "--out", out, "--format", "alpaca", "--status", "all", point=name))
        assert not out.exists(), point
        assert (
            not out.with_name("curated.jsonl.manifest.json").exists()
            and not (out.parent / "dataset_info.json").exists()
        )
        # Only hidden temporary files remain, readable by their owner alone.
        assert all(p.name.startswith(".") and private(p) for p in out.parent.iterdir()), list(out.parent.iterdir())
        # One temporary file: each export first removed those of the exports killed before it.
        assert len(partials()) == 1

    done = subprocess.run(
        [sys.executable, "-m", "core", "export", "--db", db, "--out", out, "--format", "alpaca", "--status", "all"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=HANG_S,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "curated.jsonl",
        "curated.jsonl.manifest.json",
        "dataset_info.json",
    ]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n and json.loads(lines[-1])["instruction"] == f"Question {n - 1}?"
    assert json.loads(out.with_name("curated.jsonl.manifest.json").read_text())["records"] == n
    assert all(private(p) for p in out.parent.iterdir())


def test_only_the_temporary_files_of_dead_processes_are_removed(export_workspace, tmp_path):
    host = socket.gethostname()
    # Linux's PIDs stay below 2**22 (PID_MAX_LIMIT): this one can never belong to a process, now or later. The parent
    # of this test process lives as long as it does.
    dead_pid, alive_pid = 1 << 22, os.getppid()
    names = {
        "dead": f".a.jsonl.partial-{dead_pid}@{host}-abc123",
        "alive": f".a.jsonl.partial-{alive_pid}@{host}-abc123",
        "mine": f".a.jsonl.partial-{os.getpid()}@{host}-abc123",
        "other_host": f".a.jsonl.partial-{dead_pid}@another-{host}-abc123",
        "other_name": f".b.jsonl.partial-{dead_pid}@{host}-abc123",
        "old_style": ".a.jsonl.partial-abc123",
    }
    for name in names.values():
        (tmp_path / name).write_text("half")
    removed = remove_stale_partials(tmp_path, "a.jsonl")
    assert [p.name for p in removed] == [names["dead"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "dead")

    # An export to the name does the same before it writes.
    db, _ = export_workspace
    (tmp_path / names["dead"]).write_text("half")
    with Store(db) as store:
        export_samples(store, tmp_path / "a.jsonl", fmt="alpaca", user="ci", filters=SampleFilter(ids=[]))
    assert not (tmp_path / names["dead"]).exists() and (tmp_path / names["alive"]).exists()
