"""The demo workspace that ``make run`` opens: the files in data/demo, written for Winnow, and its preparation.

A newcomer should see what Winnow is for at first sight: clusters on a map, difficulty (IFD) and task labels. So the
``demo`` command, after importing the files, asks for the workspace to be *prepared*: heuristics, embeddings, the map
with named clusters, task label suggestions, then IFD. That work takes minutes on a laptop CPU (IFD most of it), and
DuckDB lets one process write, so the app runs it as a background job in its own process as soon as it opens the
workspace (``start_preparation``); the pages are usable meanwhile and fill in step by step. The request is kept in
the workspace (``Store.fact("demo_preparation")``) until every step is done, so an interrupted run finishes the
missing steps the next time the app opens the workspace, and nothing is computed twice: scores resume per content,
a current map is reused.

    JSON kept under "demo_preparation": {"state": "wanted" | "done" | "stopped", "user": NAME, "labelled": bool}
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from pathlib import Path

from core.digest import file_sha256
from core.errors import Cancelled, WinnowError
from core.importing.workspace import ImportReport, import_file
from core.settings import PROJECT_ROOT, Settings, load_settings
from core.store import Store

log = logging.getLogger("winnow")

DEMO_DIR = PROJECT_ROOT / "data" / "demo"

# (file, field mapping or None for a file whose format is detected)
DEMO_FILES: tuple[tuple[str, str | None], ...] = (
    ("general_alpaca.json", None),
    ("chats_sharegpt.jsonl", None),
    ("math_code_openai.jsonl", None),
    ("qa_mapped.csv", "prompt=question,response=answer"),
)


def load_demo(store: Store, *, user: str, folder: Path = DEMO_DIR) -> list[ImportReport]:
    """Import the demo files into an empty workspace. A workspace that holds samples is left alone, unless it holds
    only demo files (an earlier load was interrupted between two files): then the missing files are imported.

    Returns:
        One report per imported file (empty when nothing was imported).
    """
    if store.count() > 0 and not is_demo_workspace(store, folder):
        return []
    have = {s["sha256"] for s in store.sources()}
    return [
        import_file(store, folder / name, user=user, mapping=mapping)
        for name, mapping in DEMO_FILES
        if file_sha256(folder / name) not in have
    ]


def is_demo_workspace(store: Store, folder: Path = DEMO_DIR) -> bool:
    """Whether the workspace holds samples and every file imported into it is one of the demo files, as they are now."""
    sources = store.sources()
    demo = {file_sha256(folder / name) for name, _ in DEMO_FILES}
    return bool(sources) and all(s["sha256"] in demo for s in sources)


# --- preparation ---------------------------------------------------------------------------------------------------

FACT = "demo_preparation"
# In the order they run: the quick steps first, so the map and the labels show within a minute; IFD last.
STEPS = ("heuristics", "embedding", "map", "labels", "ifd")
STEP_WORDS = {
    "heuristics": "signals (lengths, languages, refusals)",
    "embedding": "embeddings",
    "map": "the map and its named clusters",
    "labels": "task label suggestions",
    "ifd": "IFD, the difficulty of each sample",
}
YIELD_NICENESS = 10  # added to the preparation thread's nice value (0 normal, 19 lowest)
STEP_UNITS = 1000  # a job's ``done`` is step index × STEP_UNITS + the step's own share of STEP_UNITS


def preparation(store: Store) -> dict | None:
    """The workspace's preparation request ({"state", "user", "labelled"}), or None when none was made."""
    value = store.fact(FACT)
    return None if value is None else json.loads(value)


def _keep(store: Store, **changes) -> None:
    store.set_fact(FACT, json.dumps({**(preparation(store) or {}), **changes}))


def request_preparation(store: Store, *, user: str) -> bool:
    """Ask for the workspace to be prepared when an app next opens it, acting as ``user``. A preparation that is
    done, or that someone stopped, is not asked for again.

    Returns:
        True when the preparation is (still) wanted.
    """
    state = preparation(store)
    if state is not None and state.get("state") in ("done", "stopped"):
        return False
    _keep(store, state="wanted", user=user, labelled=bool(state and state.get("labelled")))
    return True


def _unscored(store: Store, name: str, settings: Settings) -> bool:
    from core.scoring import get_scorer

    todo, _ = store.count_unscored(name, get_scorer(name, settings).key)
    return todo > 0


def _map_current(store: Store) -> bool:
    from core.map.workspace import map_key

    current, fingerprint = store.get_map(), store.embedding_fingerprint()
    return (
        current is not None
        and fingerprint is not None
        and current["map_key"] == map_key(fingerprint, current["k"], current["seed"])
    )


def missing_steps(store: Store, settings: Settings | None = None) -> list[str]:
    """The preparation steps whose results the workspace lacks, in the order they run.

    A scorer's step is missing while some content has no result under the scorer's current key; the map while there
    is no map of the current embeddings; the labels until a preparation suggested them after the last embeddings.
    """
    settings = settings or load_settings()
    missing = {name for name in ("heuristics", "embedding", "ifd") if _unscored(store, name, settings)}
    if "embedding" in missing or not _map_current(store):
        missing.add("map")
    if "embedding" in missing or not (preparation(store) or {}).get("labelled"):
        missing.add("labels")
    return [step for step in STEPS if step in missing]


def prepare(store: Store, *, user: str, settings: Settings | None = None, progress=None) -> dict:
    """Run the missing preparation steps (``missing_steps``), then record the preparation as done.

    Args:
        user: who the map is recorded as made by (the job's account).
        progress: ``progress(done, total, message)`` with ``done`` in units of ``STEP_UNITS`` per step (see
            ``preparation_progress``); may raise ``Cancelled`` between two batches.

    Returns:
        {"steps": the steps run, "clusters": clusters on the map, "labelled": samples with a suggested label}.
    """
    from core.labels.workspace import refresh_labels
    from core.map.workspace import build_map
    from core.scoring.runner import run_scorers

    settings = settings or load_settings()
    steps = missing_steps(store, settings)
    total = STEP_UNITS * len(steps)
    tick = progress or (lambda done, of, message: None)
    result: dict = {"steps": steps}
    for i, step in enumerate(steps):
        prefix = f"step {i + 1} of {len(steps)}, {STEP_WORDS[step]}"

        def within(done: int, of: int, message: str = "", i=i, prefix=prefix) -> None:
            share = min(done / of, 1.0) if of else 0.0
            tick(i * STEP_UNITS + int(share * STEP_UNITS), total, f"{prefix}: {message}" if message else prefix)

        within(0, 1)
        if step in ("heuristics", "embedding", "ifd"):
            run_scorers(store, [step], settings=settings, progress=within)
        elif step == "map":
            result["clusters"] = build_map(store, user=user, progress=within)["k"]
        else:
            result["labelled"] = refresh_labels(store, settings=settings, progress=within)["suggested"]
            _keep(store, labelled=True)
    tick(total, total, "done")
    _keep(store, state="done")
    return result


def preparation_progress(job: dict) -> dict:
    """Where a preparation job stands, from its row: {"steps_done", "steps", "fraction", "message"}."""
    steps = job["total"] // STEP_UNITS if job["total"] else 0
    return {
        "steps_done": job["done"] // STEP_UNITS if steps else 0,
        "steps": steps,
        "fraction": min(job["done"] / job["total"], 1.0) if job["total"] else 0.0,
        "message": job["message"] or "starting",
    }


# --- the job in the app's process ----------------------------------------------------------------------------------

JOB_PARAMS = {"demo_preparation": True}


def preparation_job(store: Store) -> dict | None:
    """The latest preparation job of this workspace that this process is running, or None."""
    from core import jobs

    for job in store.jobs(limit=20, kind="score"):
        if job["params"] == JOB_PARAMS:
            return job if job["status"] in ("queued", "running") and jobs.is_alive(job["job_id"]) else None
    return None


def start_preparation(store: Store, settings: Settings | None = None) -> int | None:
    """Start the preparation as a background job of this process when the workspace asks for one and none runs.

    The app calls this when it opens a workspace. A cancelled job records the preparation as stopped, so it does not
    start again by itself (the Score, Explore and Balance pages run the rest).

    Returns:
        The running job's id, or None when there is nothing to prepare.

    Raises:
        PermissionDenied: the account the preparation was asked for may not score.
    """
    from core import jobs

    state = preparation(store)
    if state is None or state.get("state") != "wanted":
        return None
    running = preparation_job(store)
    if running is not None:
        return running["job_id"]
    settings = settings or load_settings()
    user = state["user"]

    def work(progress):
        _yield_to_the_pages()
        try:
            return json.dumps(prepare(store, user=user, settings=settings, progress=progress))
        except Cancelled:
            _keep(store, state="stopped")
            raise

    return jobs.start_job(store, "score", JOB_PARAMS, work, user=user)


def _yield_to_the_pages() -> None:
    """Lower the calling thread's CPU priority, and so that of the threads it starts (IFD's side-by-side workers):
    on a 2-core laptop the preparation keeps both cores busy for minutes, and the pages should not wait for it.

    Linux only, where a thread is a task with its own nice value that new threads inherit; elsewhere the job simply
    shares the CPU with the pages.
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + YIELD_NICENESS))


def resume_preparation(store: Store) -> int | None:
    """``start_preparation`` for the app's start: a problem is logged, never raised (the app must open anyway)."""
    try:
        return start_preparation(store)
    except WinnowError as ex:
        log.warning("the demo preparation did not start: %s", ex)
        return None
