"""Many people on one workspace at once: threads sharing one Store edit and review the same and different samples.

Every update is either applied or refused with a ConflictError, never lost and never a DuckDB error; the audit log
holds exactly one version per applied change and nothing for a refused one. A real scoring job (the heuristics
scorer, no model) runs in the background meanwhile without any lock or transaction error reaching a reviewer.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path

from patience import HANG_S

from core import jobs
from core.errors import ConflictError
from core.importing.workspace import import_file
from core.scoring.runner import run_scorers
from core.store import SampleEdit, Store

THREADS = 8


def _workspace(tmp_path: Path, n: int) -> Store:
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "".join(
            json.dumps({"instruction": f"Task {i}: explain item {i} briefly.", "output": f"Item {i} is fine. " * 3})
            + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    store = Store(tmp_path / "ws.duckdb")
    import_file(store, path, user="lead")
    return store


def _run_threads(target, n: int) -> list[BaseException]:
    """Run ``target(i)`` in n threads started together; return what they raised (nothing is expected)."""
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            target(i)
        except BaseException as ex:  # collected: the test names them
            errors.append(ex)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_S)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def _versions_in_log(store: Store) -> dict[tuple[str, int], set[tuple[str, str]]]:
    """(sample, version) -> {(user, action)} over every versioned event."""
    out: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for sid, version, user, action in (
        store.cursor()
        .execute("SELECT sample_id, version, user_name, action FROM events WHERE version IS NOT NULL")
        .fetchall()
    ):
        out.setdefault((sid, version), set()).add((user, action))
    return out


def test_every_concurrent_update_is_applied_or_a_conflict_and_the_log_accounts_for_each(tmp_path):
    store = _workspace(tmp_path, 6)
    ids = store.page().column("id").to_pylist()
    hot = ids[:2]  # most operations fight over these two
    outcomes: list[tuple] = []
    lock = threading.Lock()
    same_version = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        rng = random.Random(t)
        user = f"user{t}"
        seen: dict[str, int] = {}  # the version this "person" last looked at, per sample: stale soon enough
        # First, everyone saves the same version of one sample: exactly one save applies and the rest conflict,
        # however the threads happen to be scheduled (on one busy core they may otherwise run one after another).
        version = store.get_sample(hot[0])["version"]
        same_version.wait()
        try:
            store.update_sample(hot[0], version, SampleEdit(note=f"{user}-first"), user=user, action="edit")
        except ConflictError:
            with lock:
                outcomes.append(("conflict", user, hot[0], f"{user}-first"))
        else:
            with lock:
                outcomes.append(("applied", user, hot[0], f"{user}-first", version + 1))
        for i in range(30):
            sid = rng.choice(hot) if rng.random() < 0.7 else rng.choice(ids)
            kind = rng.random()
            if kind < 0.15:
                pick = rng.sample(ids, 2)
                status = rng.choice(["accepted", "rejected", "pending"])
                changed = store.set_status_many(pick, status, user=user)
                with lock:
                    outcomes.append(("bulk", user, tuple(pick), changed))
                continue
            if kind < 0.45 and sid in seen:
                version = seen[sid]  # stale unless nobody saved since
            else:
                sample = store.get_sample(sid)
                version = seen[sid] = sample["version"]
            token = f"{user}-{i}"
            fields = {"note": token}
            if kind > 0.8:
                messages = store.get_sample(sid)["messages"]
                fields["messages"] = [*messages[:-1], {**messages[-1], "content": f"answer by {token}"}]
            try:
                new_version = store.update_sample(sid, version, SampleEdit(**fields), user=user, action="edit")
            except ConflictError as ex:
                assert ex.sample_id == sid and ex.expected_version == version and ex.current_version > version
                with lock:
                    outcomes.append(("conflict", user, sid, token))
            else:
                assert new_version == version + 1
                seen[sid] = new_version
                with lock:
                    outcomes.append(("applied", user, sid, token, new_version))

    errors = _run_threads(worker, THREADS)
    assert errors == []

    kinds = Counter(o[0] for o in outcomes)
    assert kinds["applied"] + kinds["conflict"] + kinds["bulk"] == THREADS * 31
    first = [o[0] for o in outcomes if o[0] != "bulk" and o[3].endswith("-first")]
    assert sorted(first) == ["applied"] + ["conflict"] * (THREADS - 1)
    log = _versions_in_log(store)
    # Each version of each sample was made by exactly one save.
    assert all(len(makers) == 1 for makers in log.values())
    events = store.cursor().execute("SELECT sample_id, version, field, after FROM events WHERE field = 'note'")
    notes = {(sid, after): version for sid, version, _, after in events.fetchall()}
    applied_per_sample = Counter(o[2] for o in outcomes if o[0] == "applied")
    for o in outcomes:
        if o[0] == "applied":
            _, user, sid, token, version = o
            assert notes.get((sid, token)) == version
            assert log[(sid, version)] == {(user, "edit")}
        elif o[0] == "conflict":
            assert all(after != o[3] for _, after in notes)  # a refused update left no trace
    bulk_per_sample = Counter(sid for (sid, _), makers in log.items() for _, action in makers if action == "bulk")
    assert sum(bulk_per_sample.values()) == sum(o[3] for o in outcomes if o[0] == "bulk")
    for sid in ids:
        sample = store.get_sample(sid)
        assert sample["version"] == 1 + applied_per_sample[sid] + bulk_per_sample[sid]
        assert {v for s, v in log if s == sid} == set(range(2, sample["version"] + 1))
        last_note = max((v, token) for (s, token), v in notes.items() if s == sid) if applied_per_sample[sid] else None
        assert sample["note"] == (last_note[1] if last_note else "")
    store.close()


def test_a_scoring_job_runs_while_people_review_and_no_lock_error_reaches_them(tmp_path):
    store = _workspace(tmp_path, 3000)
    ids = store.page(limit=3000).column("id").to_pylist()
    reviewing = threading.Event()
    passes: list[int] = []

    def work(progress) -> str:
        # Score, then score again whatever the reviewers' edits re-queued, until they are done; one more pass then.
        while True:
            done = not reviewing.is_set()
            reports = run_scorers(store, ["heuristics"], progress=progress)
            passes.append(reports[0].scored)
            if done:
                return "ok"

    reviewing.set()
    job_id = jobs.start_job(store, "score", {"scorers": ["heuristics"]}, work, user="lead")
    applied, conflicts = Counter(), Counter()
    lock = threading.Lock()

    def reviewer(t: int) -> None:
        rng = random.Random(100 + t)
        user = f"reviewer{t}"
        mine = ids[t * 40 : (t + 1) * 40]  # each has a queue of their own; everyone also touches the shared few
        for i in range(25):
            sid = rng.choice(ids[:5]) if rng.random() < 0.3 else rng.choice(mine)
            sample = store.get_sample(sid)
            fields: dict = {"status": rng.choice(["accepted", "rejected"])}
            if rng.random() < 0.5:
                text = f"Edited by {user} ({i})."
                fields["messages"] = [*sample["messages"][:-1], {**sample["messages"][-1], "content": text}]
            try:
                new_version = store.update_sample(
                    sid, sample["version"], SampleEdit(**fields), user=user, action="review"
                )
            except ConflictError:
                with lock:
                    conflicts[sid] += 1
            else:
                if new_version > sample["version"]:  # else it already had this status: no change, no version
                    with lock:
                        applied[sid] += 1
            if rng.random() < 0.2:
                store.add_tag_many(rng.sample(mine, 3), f"batch-{t}", user=user)

    errors = _run_threads(reviewer, THREADS)
    reviewing.clear()
    jobs.wait(job_id)

    assert errors == []
    job = store.get_job(job_id)
    assert (job["status"], job["error"]) == ("done", None)
    assert len(passes) >= 2 and passes[0] > 0  # it was scoring while the reviewers worked
    assert sum(applied.values()) > 0
    for sid, n in applied.items():
        review_versions = {
            v
            for v, action in store.cursor()
            .execute("SELECT DISTINCT version, action FROM events WHERE sample_id = ?", [sid])
            .fetchall()
            if action == "review"
        }
        assert len(review_versions) == n
    # Every content the reviewers' edits created was scored by the last pass.
    assert store.count_unscored("heuristics", store.scorer_keys()["heuristics"]["key"])[0] == 0
    store.close()


def test_two_people_creating_the_first_admin_at_once_make_one_admin(tmp_path):
    from core.errors import PermissionDenied
    from core.team import accounts

    password_hash = accounts.hash_password("a long enough password")
    for trial in range(8):  # before the fix, half the trials here made several admins
        with Store(tmp_path / f"new{trial}.duckdb") as store:
            gate = threading.Barrier(6)
            made, refused = [], []

            def create(n, store=store, gate=gate, made=made, refused=refused):
                gate.wait()
                try:
                    store.insert_user(f"admin{n}", "admin", password_hash, by=f"admin{n}")
                    made.append(n)
                except PermissionDenied as error:
                    refused.append(str(error))

            threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(made) == 1 and len(refused) == 5, (made, refused)
            assert [u["name"] for u in store.users()] == [f"admin{made[0]}"]
            assert all("first admin a moment ago" in r or "not an enabled account" in r for r in refused)
