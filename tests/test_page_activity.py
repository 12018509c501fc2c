"""The Activity page: the audit log a page at a time, filtered by user, action and sample; per-person activity and
assignment progress; annotators see their own rows only."""

from __future__ import annotations

import pytest
from page_workspace import USER, load, new_workspace, open_app, texts

from core.store import SampleEdit
from core.team import accounts


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    accounts.add_user(store, "ann", "annotator", "ann-password", by=USER)
    accounts.add_user(store, "lena", "lead", "lena-password", by=USER)
    return store


def frame(at, column: str):
    """The table that has ``column`` (the log: user_name; people: decisions; assignments: annotator)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def log(at):
    return frame(at, "user_name")


def people(at):
    return frame(at, "decisions").set_index("user")


def _changes(store) -> list[str]:
    """Some reviews and edits by three people; returns the sample ids."""
    ids = store.page(limit=100).column("id").to_pylist()
    store.assign(ids[:2], ["ann"], by=USER)
    store.update_sample(ids[0], 1, SampleEdit(status="accepted", note="ok"), user="ann", action="review")
    store.update_sample(ids[1], 1, SampleEdit(status="rejected"), user="ann", action="review")
    store.update_sample(ids[2], 1, SampleEdit(tags=["geo"]), user="lena")
    store.set_status_many(ids[3:6], "accepted", user=USER)
    return ids


def test_the_log_is_newest_first_and_filters_by_user_action_and_sample(store):
    ids = _changes(store)
    at = open_app("pages/activity.py")

    assert not at.exception
    total = store.count_events()
    assert f"{total:,} events · page 1 of 1" in texts(at)
    shown = log(at)
    assert len(shown) == total and shown["action"].iloc[0] == "bulk" and shown["action"].iloc[-1] == "user"

    at.selectbox(key="activity_user").set_value("ann").run()
    assert set(log(at)["user_name"]) == {"ann"} and len(log(at)) == 3
    at.selectbox(key="activity_action").set_value("review").run()
    assert len(log(at)) == 3
    at.selectbox(key="activity_user").set_value(None).run()
    at.selectbox(key="activity_action").set_value("bulk").run()
    assert sorted(log(at)["sample_id"]) == sorted(ids[3:6])

    at.selectbox(key="activity_action").set_value(None).run()
    at.text_input(key="activity_sample").set_value(ids[0]).run()
    assert set(log(at)["sample_id"]) == {ids[0]} and set(log(at)["field"]) == {"status", "note"}
    assert at.expander[-1].label == "History · 2 versions"  # the sample's history, below its log
    at.button(key="activity_open").click().run()
    assert at.subheader[0].value.split()[-1] == ids[0]  # opened in Review


def test_the_log_is_read_a_page_at_a_time(store):
    ids = store.page(limit=100).column("id").to_pylist()
    for i in range(30):  # 30 one-field versions of one sample
        store.update_sample(ids[0], i + 1, SampleEdit(note=f"note {i}"), user="lena")
    at = open_app("pages/activity.py")
    at.selectbox(key="activity_size").set_value(25).run()
    total = store.count_events()
    assert len(log(at)) == 25 and log(at)["after"].iloc[0] == "note 29"
    at.number_input(key="activity_page").set_value(2).run()
    assert len(log(at)) == total - 25 and "page 2 of 2" in texts(at)
    at.selectbox(key="activity_user").set_value("lena").run()  # a new filter starts at page 1
    assert "30 events · page 1 of 2" in texts(at)


def test_people_shows_each_persons_changes_decisions_and_throughput(store):
    _changes(store)
    at = open_app("pages/activity.py")

    rows = people(at)
    assert set(rows.index) == {"ann", "lena", USER}
    assert (rows.loc["ann", "changes"], rows.loc["ann", "decisions"], rows.loc["ann", "edits"]) == (2, 2, 1)
    assert (rows.loc[USER, "changes"], rows.loc[USER, "decisions_24h"]) == (3, 3)
    assert rows.loc["lena", "decisions"] == 0
    progress = frame(at, "annotator").set_index("annotator")
    assert (progress.loc["ann", "assigned"], progress.loc["ann", "done"], progress.loc["ann", "remaining"]) == (2, 2, 0)


def test_an_annotator_sees_only_their_own_activity(store):
    ids = _changes(store)
    at = open_app("pages/activity.py", name="ann", password="ann-password")

    assert not at.exception
    assert list(people(at).index) == ["ann"]
    assert set(log(at)["user_name"]) == {"ann"} and len(log(at)) == 3
    assert at.text_input(key="activity_me").value == "ann" and at.text_input(key="activity_me").disabled
    assert at.selectbox(key="activity_action").options == ["review"]
    progress = frame(at, "annotator")
    assert progress["annotator"].tolist() == ["ann"]
    # A sample's full history (others' changes too) is for leads: an annotator reads it in Review.
    at.text_input(key="activity_sample").set_value(ids[0]).run()
    assert set(log(at)["sample_id"]) == {ids[0]}
    assert not at.expander and "activity_open" not in [b.key for b in at.button]


def test_a_message_edit_reads_as_a_diff_not_as_cut_off_json(store):
    first = store.page(limit=1).to_pylist()[0]["id"]
    messages = store.get_sample(first)["messages"]
    long_answer = "Lima is the capital of Peru. " + "It sits on the Pacific coast. " * 10
    edited = [*messages[:2], {**messages[2], "content": long_answer}]
    store.update_sample(first, 1, SampleEdit(messages=edited, tags=["geo"]), user=USER)
    at = open_app("pages/activity.py")

    changes = dict(zip(log(at)["field"], log(at)["change"], strict=True))
    assert changes["messages"].startswith("[3] assistant: [-Lima.-] {+Lima is the capital of Peru. It sits")
    assert "role" not in changes["messages"] and "{" not in changes["messages"].split("{+")[0]  # no raw JSON
    assert changes["tags"] == "+geo"

    row = log(at)["field"].tolist().index("messages")
    at.session_state["activity_log"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    diff = at.code[0].value
    assert "-Lima." in diff and f"+{long_answer}" in diff and "[3] assistant:" in diff
