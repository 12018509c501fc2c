"""The workspace store on real DuckDB files: schema, versions, conflicts, audit, jobs, score tables."""

from __future__ import annotations

import hashlib
import json
import random
import stat
import subprocess
import sys
import threading

import pytest

from core.errors import ConflictError, NotFound
from core.formats.messages import content_hash
from core.store import SCHEMA_VERSION, SampleEdit, SampleFilter, Store


def _columns(pairs):
    """Import columns for (prompt, answer) pairs, the way the importer builds them."""
    msgs = [[{"role": "user", "content": p}, {"role": "assistant", "content": a}] for p, a in pairs]
    return {
        "source_index": list(range(len(pairs))),
        "raw": [json.dumps({"instruction": p, "input": "", "output": a}) for p, a in pairs],
        "tools": [None] * len(pairs),
        "prompt": [p for p, _ in pairs],
        "answer": [a for _, a in pairs],
        "n_turns": [1] * len(pairs),
        "content_hash": [content_hash(m) for m in msgs],
    }


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ws.duckdb")
    s.import_source(
        name="a.json",
        path=None,
        sha256="0" * 64,
        fmt="alpaca",
        mapping=None,
        chunks=[
            _columns([("What is 2+2?", "4"), ("Name a colour.", "Blue.")]),
            _columns([("What is 2+2?", "4"), ("你好", "你好！")]),
        ],
        user="ana",
    )
    yield s
    s.close()


def test_new_workspace_has_schema_and_owner_only_permissions(tmp_path):
    path = tmp_path / "new.duckdb"
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Store(path) as s:  # reopening migrates nothing and keeps the version
        assert s.schema_version() == SCHEMA_VERSION


def test_exact_duplicates_are_flagged_not_dropped(store):
    rows = store.page().to_pylist()
    assert len(rows) == 4
    first, dup = rows[0], rows[2]
    assert dup["dup_of"] == first["id"]
    assert dup["id"] != first["id"] and dup["id"].startswith(first["id"])
    assert store.count(SampleFilter(duplicates=True)) == 1
    assert store.count(SampleFilter(duplicates=False)) == 3


def test_ids_are_stable_across_workspaces(tmp_path, store):
    with Store(tmp_path / "other.duckdb") as other:
        other.import_source(
            name="a.json",
            path=None,
            sha256="0" * 64,
            fmt="alpaca",
            mapping=None,
            chunks=[
                _columns(
                    [("What is 2+2?", "4"), ("Name a colour.", "Blue."), ("What is 2+2?", "4"), ("你好", "你好！")]
                )
            ],
            user="bo",
        )
        assert [r["id"] for r in other.page().to_pylist()] == [r["id"] for r in store.page().to_pylist()]


def _numbered(imports: list[list[str]]) -> list[tuple[str, str | None]]:
    """(id, dup_of) of every sample by the plain rule, one sample at a time: the content hash's first 16 characters,
    then "-k" when k earlier samples have ids of that base; a repeat points to the first sample of its content."""
    taken: dict[str, int] = {}
    first: dict[str, str] = {}
    out = []
    for hashes in imports:
        for h in hashes:
            k = taken.get(h[:16], 0)
            taken[h[:16]] = k + 1
            sid = h[:16] if k == 0 else f"{h[:16]}-{k}"
            out.append((sid, first.get(h)))
            first.setdefault(h, sid)
    return out


@pytest.mark.parametrize("first", ["all new", "repeats", "odd hashes"])
def test_ids_and_duplicates_follow_the_plain_rule_chunk_by_chunk(tmp_path, first):
    rng = random.Random(5)
    digest = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(200)]
    # The same first 16 characters as another content: same id base, not a duplicate.
    pool = digest[:60] + [digest[0][:16] + "f" * 48, digest[1][:16] + "e" * 48]
    repeats = [rng.choice(pool) for _ in range(90)]  # within a chunk and across chunks
    # A first chunk of content hashes and other strings, then content hashes it holds.
    odd = ["short", "中文" * 10, *digest[:23], *digest[:25], *digest[10:50]]
    imports = [
        *{"all new": [digest[100:200], repeats], "repeats": [repeats, digest[100:200]], "odd hashes": [odd]}[first],
        digest[150:160] + [rng.choice(pool) for _ in range(40)],  # and of earlier imports
        [f"short{i % 7}" for i in range(20)],  # not a content hash's 16 hex digits
    ]
    with Store(tmp_path / "ids.duckdb") as s:
        for k, hashes in enumerate(imports):
            chunks = []
            for i in range(0, len(hashes), 25):
                columns = _columns([(f"q{k}.{j}", "a") for j in range(i, min(i + 25, len(hashes)))])
                columns["content_hash"] = hashes[i : i + 25]
                chunks.append(columns)
            s.import_source(
                name=f"f{k}", path=None, sha256=str(k) * 64, fmt="alpaca", mapping=None, chunks=chunks, user="ana"
            )
        got = s.cursor().execute("SELECT id, dup_of FROM samples ORDER BY rid").fetchall()
    assert got == _numbered(imports)
    assert sum(dup is not None for _, dup in got) > 80


def test_filters_text_status_and_escape(store):
    assert store.count(SampleFilter(text="colour")) == 1
    assert store.count(SampleFilter(text="COLOUR")) == 1
    assert store.count(SampleFilter(text="你好")) == 1
    assert store.count(SampleFilter(text="%")) == 0  # wildcards and regex syntax are matched literally
    assert store.count(SampleFilter(text=".*")) == 0
    assert store.count(SampleFilter(text="2+2?")) == 2
    assert store.page(SampleFilter(text="no such words")).num_rows == 0
    assert store.count(SampleFilter(status="accepted")) == 0
    assert store.count(SampleFilter(status=["pending", "accepted"])) == 4


def test_update_bumps_version_and_audits_each_field(store):
    sid = store.page().to_pylist()[1]["id"]
    v = store.update_sample(sid, 1, SampleEdit(status="accepted", tags=["colour", "easy"], note="fine"), user="ana")
    assert v == 2
    sample = store.get_sample(sid)
    assert (sample["status"], sample["tags"], sample["note"], sample["version"]) == (
        "accepted",
        ["colour", "easy"],
        "fine",
        2,
    )
    events = store.history(sid)
    assert {e["field"] for e in events} == {"status", "tags", "note"}
    status_event = next(e for e in events if e["field"] == "status")
    assert (status_event["before"], status_event["after"], status_event["user_name"]) == ("pending", "accepted", "ana")


def test_unchanged_values_are_not_a_change(store):
    sid = store.page().to_pylist()[0]["id"]
    assert store.update_sample(sid, 1, SampleEdit(status="pending", note=""), user="ana") == 1
    assert store.history(sid) == []


def test_stale_update_conflicts_and_writes_nothing(store):
    sid = store.page().to_pylist()[0]["id"]
    store.update_sample(sid, 1, SampleEdit(note="first"), user="ana")
    with pytest.raises(ConflictError) as err:
        store.update_sample(sid, 1, SampleEdit(note="second"), user="bo")
    assert err.value.current_version == 2 and err.value.current["note"] == "first"
    assert store.get_sample(sid)["note"] == "first"
    assert [e["after"] for e in store.history(sid)] == ["first"]


def test_editing_messages_changes_hash_and_derived_text(store):
    sample = store.page().to_pylist()[1]
    before = store.get_sample(sample["id"])
    new = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Green."}]
    store.update_sample(sample["id"], 1, SampleEdit(messages=new), user="ana")
    after = store.get_sample(sample["id"])
    assert after["messages"] == new and after["answer"] == "Green."
    assert after["content_hash"] != before["content_hash"]
    assert after["id"] == before["id"] and after["edited"] and not before["edited"]


def test_concurrent_updates_each_applied_or_conflict(store):
    sid = store.page().to_pylist()[0]["id"]
    outcomes = []
    lock = threading.Lock()

    def worker(i):
        try:
            store.update_sample(sid, 1, SampleEdit(note=f"note {i}"), user=f"u{i}")
            result = "applied"
        except ConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("applied") == 1 and outcomes.count("conflict") == 7
    assert store.get_sample(sid)["version"] == 2
    assert len(store.history(sid)) == 1


def test_editing_a_duplicate_clears_its_flag(store):
    dup = store.page().to_pylist()[2]
    assert dup["dup_of"] is not None
    new = [{"role": "user", "content": "What is 3+3?"}, {"role": "assistant", "content": "6"}]
    store.update_sample(dup["id"], 1, SampleEdit(messages=new), user="ana")
    assert store.get_sample(dup["id"])["dup_of"] is None


def test_unknown_sample_and_status(store):
    with pytest.raises(NotFound):
        store.get_sample("nope")
    with pytest.raises(NotFound):
        store.update_sample("nope", 1, SampleEdit(note="x"), user="ana")
    with pytest.raises(ValueError):
        store.update_sample(store.page().to_pylist()[0]["id"], 1, SampleEdit(status="maybe"), user="ana")


def test_review_queue_order_and_skip(store):
    ids = [r["id"] for r in store.page().to_pylist()]
    assert store.next_pending()["id"] == ids[0]
    assert store.next_pending(skip=[ids[0]])["id"] == ids[1]
    store.set_status_many(ids, "accepted", user="ana")
    assert store.next_pending() is None
    assert store.stats()["by_status"]["accepted"] == 4


def test_status_counts_and_tags_match_the_filters_counts(store):
    ids = [r["id"] for r in store.page().to_pylist()]
    store.set_status_many(ids[:1], "rejected", user="ana")
    store.update_sample(ids[1], 1, SampleEdit(tags=["math", "short"]), user="ana")
    store.update_sample(ids[2], 1, SampleEdit(tags=["short"]), user="ana")
    counts = store.status_counts()
    assert counts == {s: store.count(SampleFilter(status=s)) for s in ("pending", "accepted", "rejected")}
    assert counts == {"pending": 3, "accepted": 0, "rejected": 1}
    assert store.all_tags() == ["short", "math"]  # the most used first
    assert store.stats()["tags"] == {"short": 2, "math": 1}


def test_bulk_status_is_versioned_and_audited(store):
    ids = [r["id"] for r in store.page().to_pylist()][:2]
    assert store.set_status_many(ids, "rejected", user="lead") == 2
    assert store.set_status_many(ids, "rejected", user="lead") == 0  # already rejected: no new versions
    for sid in ids:
        assert store.get_sample(sid)["version"] == 2
        assert (store.history(sid)[-1]["before"], store.history(sid)[-1]["after"]) == ("pending", "rejected")


def test_page_never_selects_embeddings_or_raw(store):
    store.ensure_scorer("emb", "emb/v1", {"embedding": "FLOAT[3]"}, {})
    rows = store.page().to_pylist()
    assert "raw" not in rows[0] and "embedding" not in rows[0]


def test_scores_keyed_by_content_and_key(store):
    cols = {"length": "INTEGER"}
    store.ensure_scorer("len", "len/v1", cols, {"p": 1})
    todo, total = store.count_unscored("len", "len/v1")
    assert (todo, total) == (3, 3)  # duplicates are scored once
    pending = store.unscored("len", "len/v1")
    store.write_scores("len", "len/v1", cols, [(r["content_hash"], {"length": len(r["messages"])}) for r in pending])
    assert store.count_unscored("len", "len/v1") == (0, 3)
    rows = store.page().to_pylist()
    assert all(r["length"] is not None for r in rows)
    assert store.count(SampleFilter(score_ranges={"length": (0, 10**6)})) == 4
    # a new key (other params) queues everything again; the old results stay in the table
    store.ensure_scorer("len", "len/v2", cols, {"p": 2})
    assert store.count_unscored("len", "len/v2") == (3, 3)
    assert all(r["length"] is None for r in store.page().to_pylist())


def test_another_embedder_with_another_dimension_keeps_both_sets_of_vectors(store):
    """An embedder of another dimension writes into the same table (its column becomes a list type); each key reads
    back its own vectors, so switching embedders never mixes them and switching back costs nothing."""
    store.ensure_scorer("embedding", "old", {"embedding": "FLOAT[3]"}, {"model": "a"})
    hashes = [r["content_hash"] for r in store.unscored("embedding", "old")]
    store.write_scores("embedding", "old", {"embedding": "FLOAT[3]"}, [(h, {"embedding": [1.0, 0, 0]}) for h in hashes])
    store.ensure_scorer("embedding", "new", {"embedding": "FLOAT[4]"}, {"model": "b"})
    assert store.count_unscored("embedding", "new") == (3, 3)  # embedded again, nothing reused
    store.write_scores(
        "embedding", "new", {"embedding": "FLOAT[4]"}, [(h, {"embedding": [0, 1.0, 0, 0]}) for h in hashes]
    )
    assert store.sample_arrays(["id"], embedding=True)["embedding"].tolist() == [[0, 1, 0, 0]] * 4
    store.ensure_scorer("embedding", "old", {"embedding": "FLOAT[3]"}, {"model": "a"})  # back to the first one
    assert store.count_unscored("embedding", "old") == (0, 3)
    assert store.sample_arrays(["id"], embedding=True)["embedding"].tolist() == [[1, 0, 0]] * 4


def test_a_version_4_workspace_gains_the_label_reason_column(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))  # made as version 4 made it: no task_label_reason
    con.execute("ALTER TABLE samples DROP COLUMN task_label_reason")
    for table in ("evaluations", "evaluation_runs", "evaluation_losses", "evaluation_answers"):  # version 6's
        con.execute(f"DROP TABLE {table}")
    for table in ("eval_sets", "eval_set_items"):  # version 7's
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    con.close()
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION == 7
        assert s.sample_arrays(["task_label_reason"]) == {"task_label_reason": []}
        assert s.evaluations() == []  # and the evaluation tables came with version 6
        assert s.eval_sets() == []  # and the eval sets with version 7


def test_suggested_labels_keep_their_reason_until_a_person_confirms(store):
    ids = [r["id"] for r in store.page().to_pylist()]
    store.set_suggested_labels(ids[:2], ["math", "code"], [0.9, 0.4], ["math: arithmetic '2 + 2'", "code: like 'x'"])
    assert store.get_sample(ids[0])["task_label_reason"] == "math: arithmetic '2 + 2'"
    assert store.sample_arrays(["task_label_reason"])["task_label_reason"][:2] == [
        "math: arithmetic '2 + 2'",
        "code: like 'x'",
    ]
    store.set_task_label_many([ids[1]], "reasoning", user="lead")
    why = store.task_labels_of(ids[:3])
    assert why[ids[0]] == {"task_label": "math", "task_label_source": "suggested", "task_label_confidence": 0.9,
                           "task_label_reason": "math: arithmetic '2 + 2'"}  # fmt: skip
    assert why[ids[1]]["task_label"] == "reasoning" and why[ids[1]]["task_label_reason"] is None  # a person's choice
    assert why[ids[2]]["task_label"] is None


def test_jobs_lifecycle_and_orphans(store):
    job = store.create_job("score", {"scorers": ["x"]}, user="ana")
    store.update_job(job, status="running", done=5, total=10, message="half")
    assert store.get_job(job)["done"] == 5
    store.request_cancel(job)
    assert store.cancel_requested(job)
    assert store.fail_orphaned_jobs() == 1
    assert store.get_job(job)["status"] == "failed"


def test_second_process_gets_a_clear_lock_error(store):
    code = (
        "import sys\n"
        "from core.store import Store\n"
        "from core.errors import WorkspaceLocked\n"
        "try:\n"
        f"    Store({str(store.path)!r})\n"
        "except WorkspaceLocked as ex:\n"
        "    print(ex); sys.exit(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(_root()))
    assert out.returncode == 3, out.stderr
    assert "open in another process" in out.stdout


def _root():
    from core.settings import PROJECT_ROOT

    return PROJECT_ROOT


@pytest.mark.parametrize("window", [65_536, 50])
def test_text_search_pages_match_an_ordered_scan(tmp_path, monkeypatch, window):
    """Text-search pages scan rid windows; after imports and updates they must equal an ORDER BY rid scan."""
    monkeypatch.setattr("core.store.samples.TEXT_WINDOW", window)
    with Store(tmp_path / "order.duckdb") as s:
        for k in range(3):
            s.import_source(
                name=f"f{k}.json",
                path=None,
                sha256=str(k) * 64,
                fmt="alpaca",
                mapping=None,
                user="ana",
                chunks=[_columns([(f"q{k}-{i} river", f"a{i}") for i in range(j, j + 700)]) for j in (0, 700, 1400)],
            )
        ids = [r["id"] for r in s.page(limit=300, offset=1000).to_pylist()]
        s.set_status_many(ids[::3], "accepted", user="ana")
        f = SampleFilter(text="river")
        cur = s.cursor()
        expected = [
            r[0]
            for r in cur.execute(
                "SELECT rid FROM samples WHERE prompt ILIKE '%river%' ORDER BY rid LIMIT 100 OFFSET 2000"
            ).fetchall()
        ]
        assert [r["rid"] for r in s.page(f, offset=2000, limit=100).to_pylist()] == expected
        assert s.count(f) == 6300 and s.count(f, cap=1000) == 1001


def _refuse_events(s, check: str) -> None:
    """Make DuckDB itself refuse some audit rows: the events table again, with ``CHECK (check)``. A write whose record
    is refused then fails for real, inside its own transaction, after the rest of it was written."""
    cur = s.cursor()
    cur.execute("ALTER TABLE events RENAME TO events_unchecked")
    cur.execute(
        "CREATE TABLE events (event_id BIGINT PRIMARY KEY DEFAULT nextval('event_seq'), sample_id VARCHAR, "
        "ts TIMESTAMP NOT NULL, user_name VARCHAR NOT NULL, action VARCHAR NOT NULL, field VARCHAR, before VARCHAR, "
        f"after VARCHAR, version INTEGER, CHECK ({check}))"
    )
    cur.execute("INSERT INTO events SELECT * FROM events_unchecked")


def _accept_events(s) -> None:
    cur = s.cursor()
    cur.execute("DROP TABLE events")
    cur.execute("ALTER TABLE events_unchecked RENAME TO events")


def test_an_adjudication_and_its_record_commit_together_or_not_at_all(store):
    import duckdb

    sid = store.page().to_pylist()[0]["id"]
    for name in ("ann", "bob"):
        store.annotate(sid, 1, SampleEdit(status="rejected", note=f"{name} says no"), user=name)
    # The adjudication's record is the field-less 'adjudicate' row, written last: refuse it.
    _refuse_events(store, "action <> 'adjudicate' OR field IS NOT NULL")
    with pytest.raises(duckdb.ConstraintException):
        store.adjudicate_sample(sid, 1, SampleEdit(status="rejected", note="bob says no"), user="lena", picked="bob")
    sample = store.get_sample(sid)
    assert (sample["status"], sample["version"], sample["note"]) == ("pending", 1, "")  # the change rolled back
    assert [e["action"] for e in store.history(sid)] == ["annotate", "annotate"]  # and its field events with it

    _accept_events(store)
    assert (
        store.adjudicate_sample(sid, 1, SampleEdit(status="rejected", note="bob says no"), user="lena", picked="bob")
        == 2
    )
    sample = store.get_sample(sid)
    assert (sample["status"], sample["version"], sample["note"]) == ("rejected", 2, "bob says no")
    adjudication = [e for e in store.history(sid) if e["action"] == "adjudicate"]
    assert [(e["field"], e["version"]) for e in adjudication] == [("status", 2), ("note", 2), (None, None)]
    assert json.loads(adjudication[-1]["after"]) == {
        "picked": "bob",
        "status": "rejected",
        "task_label": None,
        "annotators": ["ann", "bob"],
        "version": 2,
    }


def test_a_map_and_its_record_commit_together_or_not_at_all(store):
    import duckdb
    import numpy as np

    hashes = sorted(set(store.sample_arrays(["content_hash"])["content_hash"]))
    args = {"embedding_key": "e", "k": 1, "seed": 0, "content_hashes": hashes, "names": {0: "all"}, "user": "ana"}
    xy, clusters = np.zeros((len(hashes), 2)), np.zeros(len(hashes), dtype=int)
    _refuse_events(store, "action <> 'map'")
    with pytest.raises(duckdb.ConstraintException):
        store.save_map("ab" * 8, xy=xy, clusters=clusters, **args)
    assert store.get_map() is None and store.map_point_count("ab" * 8) == 0
    _accept_events(store)
    store.save_map("ab" * 8, xy=xy, clusters=clusters, **args)
    assert store.get_map()["map_key"] == "ab" * 8
    assert [json.loads(e["after"])["map_key"] for e in store.recent_events() if e["action"] == "map"] == ["ab" * 8]


def test_numeric_score_columns_are_the_ones_that_hold_numbers(store):
    store.ensure_scorer(
        "mix", "k1", {"mix_ratio": "DOUBLE", "mix_count": "BIGINT", "mix_lang": "VARCHAR", "mix_flag": "BOOLEAN"}, {}
    )
    store.ensure_scorer("vec", "k1", {"vec_embedding": "FLOAT[4]"}, {})
    every = {c.column for c in store.score_columns()}
    numeric = {c.column for c in store.score_columns(numeric=True)}
    assert every == {"mix_ratio", "mix_count", "mix_lang", "mix_flag"}  # vectors never
    assert numeric == {"mix_ratio", "mix_count"}


def test_a_filtered_histogram_samples_from_the_matching_rows(tmp_path):
    # DuckDB applies USING SAMPLE before the WHERE of the same query: the cap must apply after the filter
    from core.importing.workspace import import_file
    from core.scoring.runner import run_scorers

    path = tmp_path / "a.jsonl"
    path.write_text(
        "".join(json.dumps({"instruction": f"Question {i}", "output": "x" * (i + 1)}) + "\n" for i in range(1000)),
        encoding="utf-8",
    )
    with Store(tmp_path / "ws.duckdb") as s:
        import_file(s, path, user="u")
        run_scorers(s, ["heuristics"])
        short = SampleFilter(score_ranges={"h_answer_chars": (None, 100)})
        assert sorted(s.score_values("h_answer_chars", short, limit=400)) == list(range(1, 101))
