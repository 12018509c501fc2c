"""The local engine in a worker process: what the app's jobs score with, so the app stays responsive.

Jobs run as threads of the Streamlit process. A scorer running there competes with every page for the process's
interpreter (the heuristics are pure Python; a model's Python between its ops too), and sessions wait. Here the
scorer runs in one worker process beside the app, which keeps its model between runs; the app's thread only reads
contents, sends shards and merges results (``core.scoring.shard_driver``), so DuckDB keeps one writer.

The worker is a plain subprocess (``python -c ...``) talking over its standard input and output, one pickled
message each way per request, as the import's parser process does: multiprocessing's 'spawn' would run the app's
main script again in the child, and 'fork' can deadlock a process that runs threads. Its standard error is the app's,
so its logs (and the tests' pause points) show there. Two jobs that score at once share it, shard by shard.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Iterator

from core.errors import WinnowError
from core.progress import Progress
from core.scoring.base import Scorer
from core.scoring.engines import ScoreReport
from core.scoring.shard_driver import merge_results, plan_shards
from core.settings import PROJECT_ROOT

log = logging.getLogger("winnow")

WORKER_NICENESS = 10  # the worker yields the cores to the app's sessions; alone, it still gets all of them
_HEADER = struct.Struct("<Q")


class WorkerDied(WinnowError):
    """The scoring worker process ended in the middle of a request (killed, or out of memory)."""


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class ScoringWorker:
    """One worker process, started on first use; ``request`` is one message there and its answer back."""

    def __init__(self):
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
        }
        return subprocess.Popen(
            [sys.executable, "-c", "from core.scoring.process_engine import _worker_main; _worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=PROJECT_ROOT,
            env=env,
        )

    def request(self, *message):
        """Send ``message``; return the worker's answer. Starts the worker if it is not running.

        Raises:
            WorkerDied: the worker ended before it answered (the next request starts a new one).
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            try:
                _send(proc.stdin, message)
                return _receive(proc.stdout)
            except (EOFError, BrokenPipeError, OSError):
                code = proc.wait()
                self._proc = None
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise WorkerDied(
                    f"the scoring worker process ended ({how}); if it ran out of memory, lower the batch tokens"
                ) from None

    def stop(self) -> None:
        """End the worker (the next request starts a new one)."""
        with self._lock:
            if self._proc is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
                self._proc.wait()
                self._proc = None


_worker = ScoringWorker()
_run_ids = itertools.count(1)


def run_scorer_in_worker(
    store,
    scorer: Scorer,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    token_budget: int | None = None,
    shard_size: int | None = None,
    among: Collection[str] | None = None,
) -> ScoreReport:
    """Score every content without a result under ``scorer.key`` in the worker process; merge here.

    Same arguments, result and errors as ``core.scoring.ray_engine.run_scorer_on_ray``, and the same scores as the
    local engine in this process. ``shard_size`` defaults to the scorer's own (``Scorer.shard_size``).

    Raises:
        WorkerFailed: the scorer failed on some samples (their ids and its message); their shard is not merged.
        WorkerDied: the worker process ended (its shard is not merged; merged shards are kept).
    """
    plan = plan_shards(store, scorer, shard_size=shard_size or scorer.shard_size, among=among)
    if progress:
        progress(0, plan.todo, f"{scorer.name}: starting")
    if not plan.todo:
        return merge_results(store, plan, [], progress=progress, cancelled=cancelled)
    run_id = f"{os.getpid()}-{next(_run_ids)}"
    _worker.request("open", run_id, scorer, token_budget)
    try:

        def results() -> Iterator:
            for table in plan.shards():
                kind, payload = _worker.request("score", run_id, table)
                if kind == "error":
                    raise WinnowError(payload)
                yield payload

        return merge_results(store, plan, results(), progress=progress, cancelled=cancelled)
    finally:
        with contextlib.suppress(WinnowError):  # a dead worker holds no run to close
            _worker.request("close", run_id)


def _worker_main() -> None:
    """The worker's loop: read a request from standard input, answer on standard output, until input ends."""
    import signal

    from core.scoring.shards import ShardScorer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the app decides
    with contextlib.suppress(OSError, AttributeError):  # behind the app's sessions when both want the cores
        os.nice(WORKER_NICENESS)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library's print must not corrupt the answers
    runs: dict[str, ShardScorer] = {}
    while True:
        try:
            kind, run_id, *rest = _receive(source)
        except EOFError:
            return
        if kind == "open":
            scorer, token_budget = rest
            runs[run_id] = ShardScorer(scorer, token_budget)  # a failed setup is said with the first shard
            _send(sink, ("ok", None))
        elif kind == "score":
            run = runs.get(run_id)
            if run is None:
                _send(sink, ("error", f"the scoring worker has no run {run_id} (it was restarted)"))
            else:
                _send(sink, ("ok", run(rest[0])))
        elif kind == "close":
            run = runs.pop(run_id, None)
            if run is not None:
                run.scorer.teardown()
            _send(sink, ("ok", None))
