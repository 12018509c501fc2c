"""Background jobs: long work (imports, scoring, projections) in a thread of the app's process.

DuckDB allows one writer process, so the app runs jobs in its own threads, each with its own cursor (the store
gives every call a new one). A job is a row in the ``jobs`` table: status, progress, message and error outlive
Streamlit reruns, and a page polls them. Cancellation is cooperative: the job's progress callback raises
``Cancelled`` once a cancel was requested, between two batches.

    job_id = start_job(store, "score", {"scorers": ["ifd"]}, lambda progress: actions.score(store, ...), user="ana")
    # the work calls progress(done, total, message) now and then and returns its result (``core.actions``)
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable

from core.errors import Cancelled, WinnowError
from core.progress import JOB_EVERY_S, Progress, reporting
from core.scoring.base import use_default_threads
from core.scoring.engines import scoring_in_worker
from core.store import Store

log = logging.getLogger("winnow")

_threads: dict[int, threading.Thread] = {}
_threads_lock = threading.Lock()


def start_job(
    store: Store,
    kind: str,
    params: dict,
    work: Callable[[Progress], object],
    *,
    user: str,
) -> int:
    """Record a job and run ``work(progress)`` in a daemon thread. Returns the job id at once.

    ``progress`` writes the job's row at most every ``JOB_EVERY_S`` (``core.progress.reporting``), and raises
    ``Cancelled`` there once a cancel was requested. The job ends as 'done' (message = the result's string form; a
    dict result is written as JSON), 'cancelled', or 'failed' with the error: a WinnowError's own message,
    or the traceback of a bug.
    """
    job_id = store.create_job(kind, params, user=user)

    def write_row(done: int, total: int | None, message: str) -> None:
        store.update_job(job_id, done=int(done), total=int(total or 0), message=message)
        if store.cancel_requested(job_id):
            raise Cancelled(f"{kind} job {job_id} was cancelled")

    def run() -> None:
        use_default_threads()  # not the one thread an IFD run's workers leave new threads with meanwhile
        store.update_job(job_id, status="running")
        try:
            with reporting(write_row, every_s=JOB_EVERY_S) as progress, scoring_in_worker():
                result = work(progress)  # its scorers run in the worker process (core.scoring.process_engine)
            if isinstance(result, dict):  # an action's result (core.actions): JSON the page reads back
                result = json.dumps(result, ensure_ascii=False)
        except Cancelled as ex:
            store.update_job(job_id, status="cancelled", message=str(ex))
        except WinnowError as ex:
            store.update_job(job_id, status="failed", error=str(ex))
        except Exception:  # a bug: keep the traceback where the page can show it
            log.exception("job %s (%s) failed", job_id, kind)
            store.update_job(job_id, status="failed", error=traceback.format_exc(limit=20))
        else:
            store.update_job(job_id, status="done", message="" if result is None else str(result))
        finally:
            # The job's writes into the workspace file itself, not only its log: a copy of the file has them.
            store.checkpoint()
            with _threads_lock:
                _threads.pop(job_id, None)

    thread = threading.Thread(target=run, name=f"winnow-{kind}-{job_id}", daemon=True)
    with _threads_lock:
        _threads[job_id] = thread
    thread.start()
    return job_id


def is_alive(job_id: int) -> bool:
    """Whether this process is still running the job's thread."""
    with _threads_lock:
        thread = _threads.get(job_id)
    return bool(thread and thread.is_alive())


def wait(job_id: int, timeout: float | None = None) -> None:
    """Block until the job's thread ends (for tests and the CLI)."""
    with _threads_lock:
        thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)
