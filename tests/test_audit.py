"""core/team/history.py, diffs.py and merges.py on real workspaces: versions rebuilt from the audit log match what
the sample really was, reverts are new versions, and the three-way merges of the Review page's conflict panel. Also
the Store's audit-log queries behind the Activity page."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import ConflictError, NotFound, PermissionDenied
from core.importing.workspace import import_file
from core.store import SampleEdit, Store
from core.team import accounts, diffs, history, merges

DATA = Path(__file__).parent / "data" / "pages"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        import_file(s, DATA / "chats_openai.jsonl", user="importer")
        yield s


def _ids(store: Store) -> list[str]:
    return store.page(limit=100).column("id").to_pylist()


def _state(store: Store, sid: str) -> dict:
    return history.current_state(store.get_sample(sid))


def _with_answer(messages: list[dict], text: str) -> list[dict]:
    return [*messages[:-1], {**messages[-1], "content": text}]


# ------------------------------------------------------------------------------------------------ versions


def test_three_edits_then_a_revert_to_version_1_is_version_5_equal_to_version_1(store):
    sid = _ids(store)[0]
    original = _state(store, sid)
    v = store.update_sample(sid, 1, SampleEdit(messages=_with_answer(original["messages"], "Lima, Peru.")), user="ana")
    v = store.update_sample(sid, v, SampleEdit(status="accepted", tags=["geo"], note="fine"), user="bo")
    v = store.update_sample(sid, v, SampleEdit(note="fine, checked", tags=["geo", "easy"]), user="ana")

    assert history.revert(store, sid, 1, expected_version=v, user="cy") == 5

    assert _state(store, sid) == original
    versions = history.sample_versions(store, sid)
    assert [x.version for x in versions] == [1, 2, 3, 4, 5]
    assert [(x.user, x.action) for x in versions] == [
        ("importer", "import"),
        ("ana", "edit"),
        ("bo", "edit"),
        ("ana", "edit"),
        ("cy", "revert"),
    ]
    assert history.same_as(versions, 4) == 1
    revert_events = [e for e in store.history(sid) if e["version"] == 5]
    assert {e["field"] for e in revert_events} == {"status", "tags", "note", "messages"}
    assert {(e["action"], e["user_name"]) for e in revert_events} == {("revert", "cy")}
    messages = next(e for e in revert_events if e["field"] == "messages")
    assert json.loads(messages["before"])[-1]["content"] == "Lima, Peru."
    assert json.loads(messages["after"]) == original["messages"]


def test_every_rebuilt_version_equals_the_sample_as_it_was(store):
    """Random changes through every writer that versions a sample; the state rebuilt for each version is compared
    with the snapshot taken when that version was current."""
    ids = _ids(store)
    rng = random.Random(7)
    snapshots = {sid: {1: _state(store, sid)} for sid in ids}
    store.set_taxonomy([{"name": n, "description": n} for n in ("math", "code", "qa")], user="lead")
    for step in range(40):
        sid = rng.choice(ids)
        version = store.get_sample(sid)["version"]
        kind = rng.randrange(7)
        if kind == 0:
            messages = store.get_sample(sid)["messages"]
            store.update_sample(sid, version, SampleEdit(messages=_with_answer(messages, f"answer {step}")), user="ana")
        elif kind == 1:
            store.update_sample(
                sid, version, SampleEdit(note=rng.choice(["", f"note {step}", "two\nlines"])), user="bo"
            )
        elif kind == 2:
            store.set_status_many([sid], rng.choice(["accepted", "rejected", "pending"]), user="cy")
        elif kind == 3:
            store.add_tag_many([sid], rng.choice(["a", "b", "c"]), user="cy")
        elif kind == 4:
            store.set_suggested_labels([sid], [rng.choice(["math", "code"])], [0.5])  # not a version
            store.update_sample(sid, version, SampleEdit(task_label=rng.choice(["math", "qa"])), user="ana")
        elif kind == 5:
            store.clear_task_label(sid, version, user="ana")
        else:
            store.update_sample(sid, version, SampleEdit(tags=rng.sample(["a", "b", "c", "d"], 2)), user="ana")
        snapshots[sid][store.get_sample(sid)["version"]] = _state(store, sid)
    store.set_taxonomy([{"name": "maths", "description": "m"}], user="lead", relabel={"math": "maths", "qa": None})
    for sid in ids:
        snapshots[sid][store.get_sample(sid)["version"]] = _state(store, sid)

    for sid in ids:
        versions = history.sample_versions(store, sid)
        final = store.get_sample(sid)["version"]
        assert [x.version for x in versions] == list(range(1, final + 1))
        for v, snapshot in snapshots[sid].items():
            state = history.state_at(versions, v)
            # A suggestion is not versioned, so the log can only say which label was suggested when it was replaced.
            if not history.is_confirmed(snapshot["task_label"]):
                assert not history.is_confirmed(state["task_label"])
                state, snapshot = {**state, "task_label": None}, {**snapshot, "task_label": None}
            assert state == snapshot, (sid, v)


def test_revert_to_a_middle_version_restores_it_including_its_confirmed_label(store):
    sid = _ids(store)[2]
    store.set_suggested_labels([sid], ["code"], [0.4])
    v2 = store.update_sample(sid, 1, SampleEdit(task_label="math", note="v2"), user="ana")
    at_v2 = _state(store, sid)
    v3 = store.update_sample(sid, v2, SampleEdit(task_label="qa", status="rejected"), user="ana")
    v4 = store.update_sample(sid, v3, SampleEdit(note="v4"), user="ana")

    assert history.revert(store, sid, 2, expected_version=v4, user="bo") == 5
    assert _state(store, sid) == at_v2

    # Back to version 1, when the label was only suggested: the confirmation is removed.
    assert history.revert(store, sid, 1, expected_version=5, user="bo") == 6
    sample = store.get_sample(sid)
    assert (sample["task_label"], sample["task_label_source"], sample["note"]) == (None, None, "")
    assert {(e["field"], e["before"], e["after"]) for e in store.history(sid) if e["version"] == 6} == {
        ("task_label", "math", None),
        ("note", "v2", ""),
    }


def test_revert_to_the_current_state_writes_nothing(store):
    sid = _ids(store)[0]
    v = store.update_sample(sid, 1, SampleEdit(note="x"), user="ana")
    v = store.update_sample(sid, v, SampleEdit(note=""), user="ana")
    events = len(store.history(sid))
    assert history.revert(store, sid, 1, expected_version=v, user="ana") == v
    assert len(store.history(sid)) == events


def test_a_stale_revert_is_a_conflict_and_writes_nothing(store):
    sid = _ids(store)[0]
    v = store.update_sample(sid, 1, SampleEdit(note="first"), user="ana")
    store.update_sample(sid, v, SampleEdit(note="second"), user="bo")
    with pytest.raises(ConflictError) as err:
        history.revert(store, sid, 1, expected_version=v, user="ana")
    assert err.value.current_version == 3
    assert store.get_sample(sid)["note"] == "second" and store.get_sample(sid)["version"] == 3


def test_reverting_to_a_version_that_does_not_exist_says_which_exist(store):
    sid = _ids(store)[0]
    with pytest.raises(NotFound, match="has no version 4: it has versions 1 to 1"):
        history.revert(store, sid, 4, expected_version=1, user="ana")
    with pytest.raises(NotFound, match="no sample"):
        history.revert(store, "nope", 1, expected_version=1, user="ana")


def test_an_annotator_may_revert_only_assigned_samples(store):
    accounts.add_user(store, "root", "admin", "root-password", by="root")
    accounts.add_user(store, "ann", "annotator", "ann-password", by="root")
    mine, other = _ids(store)[:2]
    store.assign([mine], ["ann"], by="root")
    for sid in (mine, other):
        store.update_sample(sid, 1, SampleEdit(note="by root"), user="root")

    assert history.revert(store, mine, 1, expected_version=2, user="ann") == 3
    assert store.get_sample(mine)["note"] == ""
    with pytest.raises(PermissionDenied, match="only review samples assigned to them"):
        history.revert(store, other, 1, expected_version=2, user="ann")
    assert store.get_sample(other)["note"] == "by root" and store.get_sample(other)["version"] == 2


# ------------------------------------------------------------------------------------------------ diffs


def test_a_messages_diff_names_the_changed_turn():
    before = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello.\nHow can I help?"}]
    after = _with_answer(before, "Hello!\nHow can I help?")
    text = diffs.diff_text("messages", before, after, labels=("version 1", "version 2"))
    assert text.splitlines()[:2] == ["--- version 1", "+++ version 2"]
    assert "-Hello." in text and "+Hello!" in text and " How can I help?" in text
    assert diffs.diff_text("messages", before, before) == ""
    assert "+b" in diffs.diff_text("tags", ["a"], ["a", "b"])


# ------------------------------------------------------------------------------------------------ merges


def test_changes_to_different_lines_merge_cleanly():
    base = "one\ntwo\nthree\nfour\nfive"
    theirs = "ONE\ntwo\nthree\nfour\nfive"
    mine = "one\ntwo\nthree\nfour\nFIVE"
    assert merges.merge_text(base, theirs, mine) == ("ONE\ntwo\nthree\nfour\nFIVE", True)
    # Insertions at different places, and a text with a final newline keeps it.
    assert merges.merge_text("a\nb\nc\n", "a\nx\nb\nc\n", "a\nb\nc\ny\n") == ("a\nx\nb\nc\ny\n", True)


def test_one_sided_and_identical_changes_need_no_merge():
    assert merges.merge_text("a", "a", "b") == ("b", True)
    assert merges.merge_text("a", "b", "a") == ("b", True)
    assert merges.merge_text("a\nb", "a\nc", "a\nc") == ("a\nc", True)


def test_changes_to_the_same_line_are_a_conflict_between_markers():
    merged, clean = merges.merge_text("one\ntwo\nthree", "one\n2\nthree", "one\nTWO\nthree")
    assert not clean
    assert merged.splitlines() == ["one", merges.MARK_THEIRS, "2", merges.MARK_SPLIT, "TWO", merges.MARK_MINE, "three"]
    assert merges.has_conflict_markers(merged)
    assert not merges.has_conflict_markers("one\n2\nthree")


def test_merged_tags_keep_theirs_and_my_additions_and_removals():
    assert merges.merge_tags(["a", "b"], ["a", "b", "c"], ["b", "d"]) == ["b", "c", "d"]


def test_messages_merge_one_turn_at_a_time_and_refuse_different_shapes():
    base = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A1\nA2"}]
    theirs = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A1\nA2"}]
    mine = _with_answer(base, "A1\nA2!")
    assert merges.merge_messages(base, theirs, mine) == (
        [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A1\nA2!"}],
        True,
    )
    longer = [*theirs, {"role": "user", "content": "more"}]
    assert merges.merge_messages(base, longer, mine) == (None, False)
    assert merges.merge_messages(base, longer, base) == (longer, True)


# ------------------------------------------------------------------------------------------------ the log's queries


def test_events_pages_filter_by_user_action_and_sample_and_cut_long_values(store):
    a, b = _ids(store)[:2]
    long_answer = "x" * 500
    v = store.update_sample(
        a, 1, SampleEdit(messages=_with_answer(store.get_sample(a)["messages"], long_answer)), user="ana"
    )
    store.update_sample(a, v, SampleEdit(status="accepted"), user="bo", action="review")
    store.update_sample(b, 1, SampleEdit(status="rejected", note="no"), user="ana", action="review")

    assert store.count_events() == 5  # the import and four field changes
    assert store.count_events(user="ana") == 3
    assert store.count_events(user="ana", action="review") == 2
    assert store.count_events(sample_id=a) == 2
    rows = store.events_page(user="ana", limit=2)
    assert [(r["sample_id"], r["field"]) for r in rows] in ([(b, "note"), (b, "status")], [(b, "status"), (b, "note")])
    edit = store.events_page(sample_id=a, action="edit", preview=100)[0]
    # Edited messages come whole (the page shows them as a diff); other long values are cut.
    assert edit["field"] == "messages" and json.loads(edit["after"])[-1]["content"] == long_answer
    store.update_sample(b, 2, SampleEdit(note="n" * 500), user="ana")
    note = store.events_page(sample_id=b, limit=1, preview=100)[0]
    assert note["field"] == "note" and len(note["after"]) == 101 and note["after"].endswith("…")
    older = store.events_page(offset=5, limit=10)
    assert [r["action"] for r in older] == ["import"]
    assert store.event_facets() == {"users": ["ana", "bo", "importer"], "actions": ["edit", "import", "review"]}
    assert store.event_facets(user="bo") == {"users": ["bo"], "actions": ["review"]}


def test_user_activity_counts_versions_not_fields(store):
    a, b, c = _ids(store)[:3]
    store.update_sample(a, 1, SampleEdit(status="accepted", tags=["t"], note="n"), user="ana", action="review")
    store.update_sample(b, 1, SampleEdit(note="n"), user="ana")
    v = store.update_sample(c, 1, SampleEdit(status="rejected"), user="bo", action="review")
    history.revert(store, c, 1, expected_version=v, user="bo")

    rows = {r["user"]: r for r in store.user_activity()}
    assert set(rows) == {"ana", "bo"}  # the import is no change to a sample
    ana, bo = rows["ana"], rows["bo"]
    assert (ana["changes"], ana["samples"], ana["decisions"], ana["edits"], ana["reverts"]) == (2, 2, 1, 2, 0)
    assert (bo["changes"], bo["samples"], bo["decisions"], bo["edits"], bo["reverts"]) == (2, 1, 1, 0, 1)
    assert (ana["decisions_1h"], ana["decisions_24h"]) == (1, 1)
    later = store.user_activity(user="ana", now=ana["last_active"] + timedelta(hours=2))
    assert [(r["user"], r["decisions_1h"], r["decisions_24h"]) for r in later] == [("ana", 0, 1)]


def test_an_annotator_may_not_revert_a_sample_shared_with_other_annotators(store):
    accounts.add_user(store, "root", "admin", "root-password", by="root")
    for name in ("ann", "bob"):
        accounts.add_user(store, name, "annotator", f"{name}-password", by="root")
    sid = _ids(store)[0]
    store.assign([sid], ["ann", "bob"], by="root")
    store.update_sample(sid, 1, SampleEdit(note="by root"), user="root")

    with pytest.raises(PermissionDenied, match="with other annotators"):
        history.revert(store, sid, 1, expected_version=2, user="ann")
    assert history.revert(store, sid, 1, expected_version=2, user="root") == 3
