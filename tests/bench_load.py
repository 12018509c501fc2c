"""The load sections of ``make bench``: 20 Review sessions at once while scoring jobs run (see ``_review_load``)."""

from __future__ import annotations

import math
import os
import random
import statistics
import time

LOAD_SESSIONS = 20  # the issue: 20 concurrent sessions
LOAD_LEADS = 4  # of which leads working the shared queue (they collide: conflicts); the rest annotators
LOAD_ACTIONS = int(os.environ.get("WINNOW_BENCH_ACTIONS", 12))  # decisions or edits per session
LOAD_SAMPLES = 20_000


def _one_runtime(mp) -> None:
    """Give every AppTest session what a server gives all its sessions: one Streamlit Runtime, one script cache, and
    the st.navigation mode.

    AppTest sets these up process-wide for the length of each run and tears them down after it: fine for one session
    at a time, but with sessions in threads, a run that ends pulls them from under the runs still going:
    - the mock Runtime is cleared ("Runtime hasn't been created!") and ``config.get_option`` unpatched;
    - each run compiles the scripts anew, where a server compiles each page once, and CPython 3.11's compiler is not
      safe to run in several threads at once ("AST constructor recursion depth mismatch");
    - each run resets ``PagesManager.uses_pages_directory`` and its new PagesManager sets it to True for a moment,
      when another session's page would take its run for a pages-folder app's and rerun, dropping its click
      (``navigation_v2`` explains the flag).
    """
    import contextlib
    from unittest.mock import MagicMock

    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner
    from streamlit.testing.v1.util import build_mock_config_get_option

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    mp.setattr(Runtime, "instance", classmethod(lambda cls: runtime))
    mp.setattr(Runtime, "exists", classmethod(lambda cls: True))
    mp.setattr(config, "get_option", build_mock_config_get_option({"global.appTest": True}))
    mp.setattr(app_test, "patch_config_options", lambda overrides: contextlib.nullcontext())
    scripts = ScriptCache()
    mp.setattr(app_test, "ScriptCache", lambda: scripts)  # the pages
    mp.setattr(local_script_runner, "ScriptCache", lambda: scripts)  # app.py
    init = PagesManager.__init__

    def init_v2(self, *args, **kwargs):
        PagesManager.uses_pages_directory = False  # before, so that it never reads True
        init(self, *args, **kwargs)

    mp.setattr(PagesManager, "__init__", init_v2)


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[-1] if len(xs) >= 2 else (xs[0] if xs else math.nan)


def _review_load(label: str, *, pace_s: float, jobs: dict, in_worker: bool) -> dict:
    """20 signed-in sessions review and edit on the Review page at once (AppTest, one thread each) while scoring
    jobs run; p95 latency per action, errors and lost edits, checked against the workspace and its audit log.

    4 leads work the shared queue, so they collide on the same samples and resolve each conflict with "keep mine";
    16 annotators work their own assignments. A save counts only when the page moved on (a decision shows the next
    sample, an edit the same one at its next version). Lost edits: a counted save whose note the audit log lacks, or
    an annotator's sample (nobody else touches it) that is not what its annotator left it as.

    Args:
        pace_s: each session acts at most every ``pace_s`` seconds (0: back to back, a stress test).
        jobs: job name -> the one scorer (in a list) it runs again and again (re-scoring what the sessions' edits re-queued) until
            the sessions are done; an IFD job is stopped (cancelled) then instead.
        in_worker: the jobs score in the worker process (as the app's jobs do) or in their own thread (as before).
    """
    import threading
    from collections import defaultdict

    import pytest
    from bench import BENCH_DIR, CONFLICT_SAID, make_alpaca, verdict
    from page_workspace import navigation_v2, signed_in_app

    from core import jobs as job_runner
    from core.importing.workspace import import_file
    from core.scoring.engines import Engine
    from core.scoring.process_engine import _worker
    from core.scoring.runner import run_scorers
    from core.settings import load_settings
    from core.team import accounts
    from pages import _common

    src = make_alpaca(BENCH_DIR / f"alpaca_{LOAD_SAMPLES}.jsonl", LOAD_SAMPLES, seed=6)
    db = BENCH_DIR / "load.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    password = "load-password"
    annotators = [f"annotator{i:02d}" for i in range(LOAD_SESSIONS - LOAD_LEADS)]
    leads = [f"lead{i}" for i in range(LOAD_LEADS)]
    per_annotator = LOAD_ACTIONS * 2

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    applied: list[tuple[str, str, str]] = []  # (user, sample, note) of every save the page made
    intended: dict[str, dict] = {}  # an annotator's sample -> what its only reviewer left it as
    counts: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def session(name: str, seed: int) -> None:
        rng = random.Random(seed)
        at = signed_in_app(name, password)
        at.default_timeout = 120

        def shown() -> tuple[str, int] | None:
            try:
                snap = at.session_state["review_snap"]
            except KeyError:  # the queue is empty
                return None
            return snap["id"], snap["version"]

        def act(kind: str) -> bool:
            """Run the page with what was set; False (and an error counted) when it failed."""
            t0 = time.perf_counter()
            at.run()
            with lock:
                latencies[kind].append(time.perf_counter() - t0)
            if at.exception:
                with lock:
                    errors.append(f"{name} {kind}: {at.exception[0].message}")
                return False
            others = [e.value for e in at.error if CONFLICT_SAID not in e.value]
            if others:
                with lock:
                    errors.append(f"{name} {kind}: {others[0]}")
                return False
            return True

        def conflicted() -> bool:
            return any(CONFLICT_SAID in e.value for e in at.error)

        at.run()
        at.switch_page("pages/review.py")
        if not act("open"):
            return
        begun = time.perf_counter()
        for i in range(LOAD_ACTIONS):
            if pace_s:  # a person reads, then acts: at most one action every pace_s, starting at a random phase
                time.sleep(max(0.0, begun + (i + rng.random()) * pace_s - time.perf_counter()))
            before = shown()
            if before is None:
                break
            snap = at.session_state["review_snap"]
            sid, k = snap["id"], f"{snap['id']}_{snap['version']}"
            note = f"{name} #{i}"
            roll = rng.random()
            if roll < 0.4:
                kind, status, fields = "accept", "accepted", {}
                at.button(key="review_accept").click()
            elif roll < 0.7:
                kind, status, fields = "reject", "rejected", {"note": note}
                at.text_area(key=f"rv_note_{k}").set_value(note)
                at.button(key="review_reject").click()
            else:
                kind, status = "save", None
                answer = f"Answer edited by {name} ({i})."
                fields = {"note": note, "answer": answer}
                at.text_area(key=f"rv_note_{k}").set_value(note)
                at.text_area(key=f"rv_msg_{k}_{len(snap['messages']) - 1}").set_value(answer)
                if not act("type"):
                    continue
                at.button(key="review_save").click()
            if not act(kind):
                continue
            tries = 0
            while conflicted() and tries < 5:  # resolve it as a person would: keep mine, over theirs
                with lock:
                    counts["conflicts"] += 1
                tries += 1
                at.button(key="review_keep_mine").click()
                if not act("keep mine"):
                    break
            if conflicted():
                with lock:
                    counts["unresolved"] += 1
                continue
            after = shown()
            if status:  # a decision moves on to the next sample
                moved = after != before
            else:  # an edit stays on the sample, at its next version
                moved = after is not None and after[0] == sid and after[1] > before[1]
            if not moved:
                with lock:
                    errors.append(f"{name} {kind}: the page neither saved nor said why (still at {after})")
                continue
            with lock:
                counts["saves"] += 1
                if "note" in fields:
                    applied.append((name, sid, fields["note"]))
                if name in annotators:
                    state = intended.setdefault(sid, {"status": "pending", "note": "", "answer": None})
                    state.update(fields)
                    state["status"] = status or state["status"]

    def guarded(name: str, seed: int) -> None:
        try:
            session(name, seed)
        except Exception as ex:  # a failure of the bench's own driving, still an error to report
            with lock:
                errors.append(f"{name}: {type(ex).__name__}: {ex}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WINNOW_DB", str(db))
        navigation_v2(mp)
        _one_runtime(mp)
        store = _common.get_store(db)
        accounts.add_user(store, "boss", "admin", password, by="boss")
        import_file(store, src, user="boss")
        ids = store.page(limit=LOAD_SAMPLES).column("id").to_pylist()
        for i, name in enumerate(annotators):  # from the end of the workspace: the leads' queue is its start
            accounts.add_user(store, name, "annotator", password, by="boss")
            store.assign(ids[len(ids) - (i + 1) * per_annotator :][:per_annotator], [name], by="boss")
        for name in leads:
            accounts.add_user(store, name, "lead", password, by="boss")

        # For scale: one session alone, nothing else running, accepting from the leads' queue.
        alone = signed_in_app("boss", password)
        alone.default_timeout = 120
        alone.run()
        alone.switch_page("pages/review.py").run()
        single = []
        for _ in range(5):
            t0 = time.perf_counter()
            alone.button(key="review_accept").click().run()
            single.append(time.perf_counter() - t0)

        running = threading.Event()
        running.set()
        engine = Engine("local", in_worker=in_worker)
        settings = load_settings().with_(device="cpu")
        _worker.stop()  # a fresh worker: the model load is part of what the sessions live through

        def scoring(name: str, scorers: list[str]):
            def work(progress) -> str:
                while True:  # score, then again what the sessions' edits re-queued, until they are done
                    last = not running.is_set()
                    run_scorers(store, scorers, settings=settings, progress=progress, engine=engine)
                    if last:
                        return "ok"

            return work

        job_ids = {
            name: job_runner.start_job(store, "score", {"scorers": scorers}, scoring(name, scorers), user="boss")
            for name, scorers in jobs.items()
        }
        threads = [threading.Thread(target=guarded, args=(name, n)) for n, name in enumerate(leads + annotators)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        running.clear()
        statuses = {}
        for name, job_id in job_ids.items():
            if "ifd" in jobs[name]:  # a long job: stopped, as a lead would, once the sessions are done
                store.request_cancel(job_id)
            job_runner.wait(job_id, timeout=600)
            job = store.get_job(job_id)
            statuses[name] = job["status"]
            if job["status"] not in ("done", "cancelled"):
                errors.append(f"{name} job {job['status']}: {job['error']}")
        # What each job merged, read from the workspace (a cancelled job has no report): contents scored of those
        # the workspace holds now (an edit makes a new content, which the heuristics job scores again).
        keys = store.scorer_keys()
        scored = {}
        for name, (scorer,) in jobs.items():
            total = store.count_contents()
            todo = store.count_unscored(scorer, keys[scorer]["key"])[0] if scorer in keys else total
            scored[name] = (total - todo, total)

        logged = set(
            store.cursor().execute("SELECT user_name, sample_id, after FROM events WHERE field = 'note'").fetchall()
        )
        lost = [f"{user} saved note {note!r} on {sid}; the audit log lacks it" for user, sid, note in applied]
        lost = [x for x, a in zip(lost, applied) if a not in logged]
        for sid, want in intended.items():
            sample = store.get_sample(sid)
            got = {"status": sample["status"], "note": sample["note"], "answer": sample["messages"][-1]["content"]}
            if got != {**want, "answer": want["answer"] or got["answer"]}:
                lost.append(f"{sid} is {got}, its annotator left it as {want}")
        _common.get_store(db).close()
        _common._open_store.clear()

    actions = [k for k in ("accept", "reject", "save", "keep mine") if latencies[k]]
    every = [x for k in actions for x in latencies[k]]
    per = ", ".join(f"{k} {_p95(latencies[k]) * 1000:.0f} ms (n={len(latencies[k])})" for k in actions)
    done = ", ".join(
        f"{name} {statuses[name]}, {scored[name][0]:,} of {scored[name][1]:,} contents scored" for name in jobs
    )
    print(
        f"{label:<8} {LOAD_SESSIONS} sessions ({LOAD_LEADS} leads on the shared queue, {len(annotators)} annotators), "
        f"{LOAD_ACTIONS} actions each{f', one every {pace_s:g} s' if pace_s else ', back to back'}, in {wall:.0f} s; "
        f"jobs scoring {'in the worker process' if in_worker else 'in their own threads'}: {done}"
    )
    print(
        f"         p95 latency per action: {per}; all {_p95(every) * 1000:.0f} ms; opening the page "
        f"{_p95(latencies['open']) * 1000:.0f} ms; one session alone, nothing else running: accept "
        f"{statistics.median(single) * 1000:.0f} ms (median of 5)"
    )
    print(
        f"         {counts['saves']} saves, {counts['conflicts']} conflicts shown (resolved with keep mine; "
        f"{counts['unresolved']} left), {len(errors)} errors, {len(lost)} lost edits (target 0 and 0) "
        f"{verdict(not errors and not lost)}"
    )
    for problem in (errors + lost)[:10]:
        print(f"         ! {problem}")
    return {"p95": _p95(every), "errors": len(errors), "lost": len(lost)}


def bench_load() -> None:
    """The stress test: sessions act back to back while a heuristics job runs (in the worker, as the app's jobs do)."""
    _review_load("load", pace_s=0.0, jobs={"heuristics": ["heuristics"]}, in_worker=True)


LOAD_PACE_S = 5.0  # the issue: each session acts every 5 s
LOAD_TARGET_MS = 500


def bench_load_jobs() -> None:
    """The realistic load: 20 sessions, each acting every 5 s, while an IFD job and a heuristics job run; with the
    jobs' scorers in the worker process (the app today) and, for the ratio, in the jobs' own threads (before)."""
    from bench import verdict

    wanted = {"ifd": ["ifd"], "heuristics": ["heuristics"]}
    worker = _review_load("load+job", pace_s=LOAD_PACE_S, jobs=wanted, in_worker=True)
    thread = _review_load("load+job", pace_s=LOAD_PACE_S, jobs=wanted, in_worker=False)
    ok = worker["p95"] * 1000 <= LOAD_TARGET_MS and not worker["errors"] and not worker["lost"]
    print(
        f"         p95 per action with the jobs in the worker {worker['p95'] * 1000:.0f} ms (target <= "
        f"{LOAD_TARGET_MS} ms; ratio {worker['p95'] * 1000 / LOAD_TARGET_MS:.2f}), in threads "
        f"{thread['p95'] * 1000:.0f} ms: {thread['p95'] / worker['p95']:.1f}x slower {verdict(ok)}"
    )
