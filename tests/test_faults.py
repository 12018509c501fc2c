"""Faults: real processes killed with SIGKILL in the middle of an import or an export.

- An import is all-or-nothing: killed while reading, while DuckDB writes, or while it commits, the workspace opens
  with all of the file's samples or none of them (never a part), no source row for a file that is not in, and the
  same import run again succeeds.
- An export never leaves a partial file under its final name (nor a manifest): only a hidden temporary file, which
  the next export to that name removes.
- Scoring resumes where a kill stopped it: tests/test_scoring_runner.py::test_killed_score_run_resumes_to_the_same_scores.

Each kill waits for a sign of progress (a progress line, the workspace or the temporary file growing), never for a
fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import importer
from core.export import _remove_stale_partials, export_samples
from core.importer import import_file
from core.settings import PROJECT_ROOT
from core.store import SampleFilter, Store

MB = 1 << 20


def write_records(path: Path, n: int, *, start: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            fh.write(json.dumps({"instruction": f"Question {i}?", "input": "", "output": f"Answer {i}. " * 20}) + "\n")
    return path


def start_cli(*args, stderr: Path) -> subprocess.Popen:
    with open(stderr, "w") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "core", *map(str, args)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "WINNOW_USER": "ci"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()`` is true; return False if it exited first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait(timeout=60)
    return False


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
    n = 100_000  # about 35 MB: a parse thread, and seconds of work to land in
    big = write_records(tmp_path / "big.jsonl", n)
    err = tmp_path / "stderr.txt"

    def reading():  # the first progress line: records are being read, nothing is written yet
        return err.read_text().strip() != ""

    def writing():  # DuckDB is writing the file's samples into the workspace
        return size(db) > base + 1 * MB

    def committing():  # most of the samples are written: the kill lands in the commit, or just after it
        return size(db) > base + 16 * MB

    for point, ready in (("reading", reading), ("writing", writing), ("committing", committing)):
        base = size(db)
        proc = start_cli("import", big, "--db", db, "--no-signals", stderr=err)
        killed = kill_when(proc, ready)
        assert killed or point == "committing", f"the import finished before it could be killed while {point}"
        # What the killed process left (its DuckDB log too) is private: the CLI sets an owner-only umask.
        for name in os.listdir(db.parent):
            assert private(db.parent / name), name
        after = state(db)  # the workspace opens (DuckDB replays or drops its log)
        if after == before:
            continue
        # Only a kill after the commit may leave the import in, and then all of it, with its source and its event.
        assert point == "committing"
        assert after["samples"] == before["samples"] + n
        assert after["sources"][:-1] == before["sources"]
        assert (after["sources"][-1]["name"], after["sources"][-1]["records"]) == ("big.jsonl", n)
        assert after["events"][1:] == before["events"] and after["events"][0]["action"] == "import"
        return

    # Nothing of the file is in, not even its source row: importing it again needs no --allow-reimport.
    rerun = subprocess.run(
        [sys.executable, "-m", "core", "import", big, "--db", db, "--no-signals"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"imported {n} records" in rerun.stdout
    assert state(db)["samples"] == before["samples"] + n


def worker_pids(marker: str) -> list[int]:
    """Processes running the importer's parse worker on a file whose path holds ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if "_worker_main" in cmdline and marker in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker process through /proc")
def test_import_killed_while_its_worker_parses_leaves_nothing_behind(tmp_path):
    db = tmp_path / "ws.duckdb"
    Store(db).close()
    before = state(db)
    n = importer.PROCESS_MIN_BYTES // 300  # about 340 bytes a record: over the size parsed in a worker process
    big = write_records(tmp_path / "worker-big.jsonl", n)
    assert big.stat().st_size >= importer.PROCESS_MIN_BYTES
    proc = start_cli("import", big, "--db", db, "--no-signals", stderr=tmp_path / "stderr.txt")
    assert kill_when(proc, lambda: worker_pids(str(tmp_path)) != []), "the import finished before its worker started"
    # The worker loses its reader and exits on its own: no orphan keeps parsing.
    deadline = time.monotonic() + 30
    while worker_pids(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_pids(str(tmp_path)) == []
    assert state(db) == before


# ------------------------------------------------------------------------------------------------------------ export


@pytest.fixture(scope="module")
def export_workspace(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("export")
    n = 100_000  # about 33 MB of JSON lines: an export of a couple of seconds
    db = folder / "ws.duckdb"
    with Store(db) as store:
        import_file(store, write_records(folder / "all.jsonl", n), user="ci")
    return db, n


def test_export_killed_at_any_point_leaves_no_file_under_its_final_name(export_workspace, tmp_path):
    db, n = export_workspace
    out = tmp_path / "exports" / "curated.jsonl"
    err = tmp_path / "stderr.txt"

    def partials() -> list[Path]:
        return sorted(out.parent.glob(".curated.jsonl.partial-*")) if out.parent.exists() else []

    points = {
        "opened": lambda: partials() != [],
        "writing": lambda: any(size(p) > 1 * MB for p in partials()),
        "late": lambda: any(size(p) > 24 * MB for p in partials()),
    }
    for point, ready in points.items():
        proc = start_cli("export", "--db", db, "--out", out, "--format", "alpaca", "--status", "all", stderr=err)
        assert kill_when(proc, ready), f"the export finished before it could be killed ({point})"
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
        timeout=300,
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
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".a.jsonl.partial-{dead.pid}@{host}-abc123",
            "alive": f".a.jsonl.partial-{alive.pid}@{host}-abc123",
            "mine": f".a.jsonl.partial-{os.getpid()}@{host}-abc123",
            "other_host": f".a.jsonl.partial-{dead.pid}@another-{host}-abc123",
            "other_name": f".b.jsonl.partial-{dead.pid}@{host}-abc123",
            "old_style": ".a.jsonl.partial-abc123",
        }
        for name in names.values():
            (tmp_path / name).write_text("half")
        removed = _remove_stale_partials(tmp_path, "a.jsonl")
        assert [p.name for p in removed] == [names["dead"]]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "dead")

        # An export to the name does the same before it writes.
        db, _ = export_workspace
        (tmp_path / names["dead"]).write_text("half")
        with Store(db) as store:
            export_samples(store, tmp_path / "a.jsonl", fmt="alpaca", user="ci", filters=SampleFilter(ids=[]))
        assert not (tmp_path / names["dead"]).exists() and (tmp_path / names["alive"]).exists()
    finally:
        alive.kill()
        alive.wait()
