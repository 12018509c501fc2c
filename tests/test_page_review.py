"""The Review page: decisions are versioned and audited, edits show a diff first, and conflicts never overwrite."""

from __future__ import annotations

import json

import pytest
from page_workspace import USER, load, new_workspace, open_app, texts

from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def shown_id(at) -> str:
    return at.subheader[0].value.split()[-1]


def test_accept_sets_status_bumps_version_and_moves_on(store):
    load(store, "chats_openai.jsonl")
    first, second = (r["id"] for r in store.page(limit=2).to_pylist())
    at = open_app("pages/review.py")
    assert shown_id(at) == first
    assert [m.name for m in at.chat_message] == ["ai", "user", "assistant"]  # the system prompt too
    assert "0 of 4 reviewed" in at.get("progress")[0].proto.text

    at.button(key="review_accept").click().run()

    sample = store.get_sample(first)
    assert (sample["status"], sample["version"], sample["updated_by"]) == ("accepted", 2, USER)
    assert [(e["action"], e["field"], e["before"], e["after"]) for e in store.history(first)] == [
        ("review", "status", "pending", "accepted")
    ]
    assert shown_id(at) == second
    assert "1 of 4 reviewed" in at.get("progress")[0].proto.text


def test_reject_with_a_new_tag_and_a_note(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    at = open_app("pages/review.py")

    at.multiselect(key=f"rv_tags_{first}_1").set_value(["too-short"]).run()
    at.text_area(key=f"rv_note_{first}_1").set_value("answer lacks reasoning").run()
    at.button(key="review_reject").click().run()

    sample = store.get_sample(first)
    assert (sample["status"], sample["tags"], sample["note"]) == ("rejected", ["too-short"], "answer lacks reasoning")
    assert sample["version"] == 2  # one update for the decision and its edits


def test_skip_leaves_the_sample_pending_and_shows_the_next(store):
    load(store, "chats_openai.jsonl")
    ids = [r["id"] for r in store.page().to_pylist()]
    at = open_app("pages/review.py")

    at.button(key="review_skip_btn").click().run()
    assert shown_id(at) == ids[1]
    assert store.get_sample(ids[0])["status"] == "pending" and store.get_sample(ids[0])["version"] == 1
    assert at.session_state["review_skip"] == {str(store.path): [ids[0]]}


def test_edit_shows_a_diff_before_saving_then_saves_with_an_audit_event(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    at = open_app("pages/review.py")

    at.text_area(key=f"rv_msg_{first}_1_2").set_value("Lima is the capital of Peru.").run()

    diff = at.code[0].value
    assert "-Lima." in diff and "+Lima is the capital of Peru." in diff
    assert store.get_sample(first)["messages"][2]["content"] == "Lima."  # nothing saved yet

    at.button(key="review_save").click().run()

    sample = store.get_sample(first)
    assert sample["messages"][2]["content"] == "Lima is the capital of Peru." and sample["version"] == 2
    assert sample["status"] == "pending"
    event = store.history(first)[-1]
    assert (event["action"], event["field"], event["user_name"]) == ("edit", "messages", USER)
    assert json.loads(event["before"])[2]["content"] == "Lima."
    assert shown_id(at) == first and "version 2" in texts(at)  # the page stays on it, now at version 2


def test_a_change_made_meanwhile_is_a_conflict_and_is_not_overwritten(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    at = open_app("pages/review.py")
    # Someone else edits the note while this page shows version 1.
    store.update_sample(first, 1, user="other", note="checked by other")

    at.text_area(key=f"rv_note_{first}_1").set_value("mine").run()
    at.text_area(key=f"rv_msg_{first}_1_2").set_value("Lima, Peru.").run()
    at.button(key="review_accept").click().run()

    assert not at.exception
    assert any("changed since you opened it" in e.value for e in at.error)
    page = texts(at)
    assert "Now in the workspace** (version 2, by other)" in page and "Yours** (based on version 1)" in page
    assert "+Lima, Peru." in at.code[-1].value  # your message edit, against the current one
    sample = store.get_sample(first)
    assert (sample["note"], sample["status"], sample["version"]) == ("checked by other", "pending", 2)
    assert sample["messages"][2]["content"] == "Lima."

    at.button(key="review_reload").click().run()
    assert at.text_area(key=f"rv_note_{first}_2").value == "checked by other"
    at.button(key="review_accept").click().run()
    assert store.get_sample(first)["status"] == "accepted"


def test_a_sample_can_be_opened_by_id_from_the_url(store):
    load(store, "chats_openai.jsonl")
    ids = [r["id"] for r in store.page().to_pylist()]
    store.update_sample(ids[3], 1, user=USER, status="accepted")
    at = open_app()
    at.query_params["id"] = ids[3]
    at.switch_page("pages/review.py").run()

    assert shown_id(at) == ids[3]  # even though it is not pending
    at.button(key="review_reject").click().run()
    assert store.get_sample(ids[3])["status"] == "rejected"
    assert shown_id(at) == ids[0]  # back to the queue


def test_an_empty_queue_says_so(store):
    load(store, "tasks_alpaca.json")
    store.set_status_many([r["id"] for r in store.page().to_pylist()], "accepted", user=USER)
    at = open_app("pages/review.py")

    assert "Nothing left to review in this queue." in [s.value for s in at.success]
    assert store.count(SampleFilter(status="accepted")) == 3
    assert not at.button
