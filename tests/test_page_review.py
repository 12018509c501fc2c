"""The Review page: decisions are versioned and audited, edits show a diff first, and conflicts never overwrite."""

from __future__ import annotations

import json

import pytest
from page_workspace import USER, load, new_workspace, open_app, texts

from core.store import SampleEdit, SampleFilter
from core.team import accounts


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
    accounts.add_user(store, "other", "lead", "other-password", by=USER)
    store.update_sample(first, 1, SampleEdit(note="checked by other"), user="other")

    at.text_area(key=f"rv_note_{first}_1").set_value("mine").run()
    at.text_area(key=f"rv_msg_{first}_1_2").set_value("Lima, Peru.").run()
    at.button(key="review_accept").click().run()

    assert not at.exception
    # The conflict is on top, its choices before the page's own buttons, in words that match them.
    assert at.error[0].value.startswith("Someone saved a newer version: choose below. other saved version 2")
    keys = [b.key for b in at.button]
    assert keys.index("review_keep_mine") < keys.index("review_save_merge") < keys.index("review_accept")
    assert at.button(key="review_accept").disabled  # settle the conflict first
    page = texts(at)
    assert "Now in the workspace** (version 2, by other)" in page and "Yours** (based on version 1)" in page
    assert "· version 2 (your edits: version 1) · last change by other" in page  # the header says what is now
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
    store.update_sample(ids[3], 1, SampleEdit(status="accepted"), user=USER)
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
    assert [b.key for b in at.button] == ["sign_out"]  # nothing to act on


# ---------------------------------------------------------------------------------------------------- merges, history


def colleagues(store, *names: str) -> None:
    """Lead accounts for the people who edit a sample behind the page's back."""
    for name in names:
        accounts.add_user(store, name, "lead", f"{name}-password", by=USER)


def test_two_sessions_on_one_sample_the_second_merges_and_history_keeps_both(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    colleagues(store, "lena")
    tess = open_app("pages/review.py")
    lena = open_app("pages/review.py", name="lena", password="lena-password")
    assert shown_id(tess) == shown_id(lena) == first

    tess.text_area(key=f"rv_note_{first}_1").set_value("capital checked").run()
    tess.button(key="review_save").click().run()
    lena.text_area(key=f"rv_msg_{first}_1_2").set_value("Lima is the capital of Peru.").run()
    lena.button(key="review_accept").click().run()

    # Lena's accept is a conflict: both notes side by side, her answer kept, and a clean merge proposed.
    assert not lena.exception
    assert any("saved a newer version: choose below" in e.value for e in lena.error)
    assert lena.text_area(key=f"rv_theirs_note_{first}_2").value == "capital checked"
    assert lena.text_area(key=f"rv_yours_note_{first}_2").value == ""
    assert lena.text_area(key=f"rv_merge_note_{first}_2").value == "capital checked"
    assert lena.text_area(key=f"rv_theirs_{first}_2_2").value == "Lima."
    assert lena.text_area(key=f"rv_merge_msg_{first}_2_2").value == "Lima is the capital of Peru."
    assert store.get_sample(first)["version"] == 2  # nothing written yet

    lena.button(key="review_save_merge").click().run()

    sample = store.get_sample(first)
    assert (sample["version"], sample["status"], sample["note"]) == (3, "accepted", "capital checked")
    assert sample["messages"][2]["content"] == "Lima is the capital of Peru."
    by_version = {(e["version"], e["user_name"], e["field"]) for e in store.history(first)}
    assert by_version == {(2, USER, "note"), (3, "lena", "status"), (3, "lena", "messages")}
    assert shown_id(lena) != first  # the decision was made: on to the next


def test_the_same_line_changed_twice_must_be_resolved_before_the_merge_saves(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    colleagues(store, "other")
    at = open_app("pages/review.py")
    base = store.get_sample(first)["messages"]
    store.update_sample(first, 1, SampleEdit(messages=[*base[:2], {**base[2], "content": "Lima, Peru."}]), user="other")

    at.text_area(key=f"rv_msg_{first}_1_2").set_value("Lima (Peru).").run()
    at.button(key="review_save").click().run()
    merged = at.text_area(key=f"rv_merge_msg_{first}_2_2")
    assert merged.value.splitlines() == ["<<<<<<< theirs", "Lima, Peru.", "=======", "Lima (Peru).", ">>>>>>> yours"]

    at.button(key="review_save_merge").click().run()
    assert any("still holds both sides" in e.value for e in at.error)
    assert store.get_sample(first)["version"] == 2

    at.text_area(key=f"rv_merge_msg_{first}_2_2").set_value("Lima, the capital of Peru.").run()
    at.button(key="review_save_merge").click().run()
    sample = store.get_sample(first)
    assert (sample["version"], sample["messages"][2]["content"]) == (3, "Lima, the capital of Peru.")
    assert sample["status"] == "pending" and shown_id(at) == first  # an edit, not a decision: it stays open
    assert "version 3" in texts(at)


def test_keep_mine_saves_only_my_fields_over_theirs(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    colleagues(store, "other")
    at = open_app("pages/review.py")
    store.update_sample(first, 1, SampleEdit(note="theirs", tags=["geo"]), user="other")

    at.text_area(key=f"rv_note_{first}_1").set_value("mine").run()
    at.button(key="review_reject").click().run()
    assert at.text_area(key=f"rv_merge_note_{first}_2").value.splitlines() == [
        "<<<<<<< theirs",
        "theirs",
        "=======",
        "mine",
        ">>>>>>> yours",
    ]
    at.button(key="review_keep_mine").click().run()

    sample = store.get_sample(first)
    assert (sample["version"], sample["status"], sample["note"], sample["tags"]) == (3, "rejected", "mine", ["geo"])


def test_a_second_conflict_while_merging_is_shown_and_nothing_is_overwritten(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    colleagues(store, "other", "third")
    at = open_app("pages/review.py")
    store.update_sample(first, 1, SampleEdit(note="two"), user="other")
    at.text_area(key=f"rv_note_{first}_1").set_value("mine").run()
    at.button(key="review_save").click().run()
    store.update_sample(first, 2, SampleEdit(note="three"), user="third")  # while the panel shows version 2

    at.button(key="review_keep_mine").click().run()

    assert any("newer version again, while you merged: choose below" in e.value for e in at.error)
    assert at.text_area(key=f"rv_theirs_note_{first}_3").value == "three"
    assert store.get_sample(first)["note"] == "three"
    at.button(key="review_keep_mine").click().run()
    assert (store.get_sample(first)["note"], store.get_sample(first)["version"]) == ("mine", 4)


def test_the_history_panel_shows_each_version_with_a_diff_and_reverts(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    colleagues(store, "other")
    base = store.get_sample(first)["messages"]
    v = store.update_sample(
        first, 1, SampleEdit(messages=[*base[:2], {**base[2], "content": "Lima, Peru."}]), user="other"
    )
    v = store.update_sample(first, v, SampleEdit(note="checked", tags=["geo"]), user="other")
    at = open_app("pages/review.py")

    assert at.expander[-1].label == "History · 3 versions"
    page = texts(at)
    assert "**Version 3** · edit · other" in page and "**Version 1** · import · tess" in page
    assert "`note`: — → **checked**" in page and "`tags`: — → **geo**" in page
    assert any("-Lima." in c.value and "+Lima, Peru." in c.value for c in at.code)

    at.selectbox(key=f"rv_history_{first}_3_target").set_value(1).run()
    at.button(key=f"rv_history_{first}_3_revert").click().run()

    sample = store.get_sample(first)
    assert (sample["version"], sample["note"], sample["tags"], sample["messages"]) == (4, "", [], base)
    assert {e["action"] for e in store.history(first) if e["version"] == 4} == {"revert"}
    assert at.expander[-1].label == "History · 4 versions"
    assert "**Version 4** · revert · tess" in texts(at) and "back to version 1" in texts(at)


def test_a_confirmed_task_label_can_be_removed(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    store.update_sample(first, 1, SampleEdit(task_label="general QA"), user=USER)
    at = open_app("pages/review.py")
    assert shown_id(at) == first

    at.button(key="review_unlabel").click().run()

    assert not at.exception, at.exception
    sample = store.get_sample(first)
    assert (sample["task_label"], sample["task_label_source"], sample["version"]) == (None, None, 3)
    event = store.history(first)[-1]
    assert (event["action"], event["before"], event["after"]) == ("review", "general QA", None)
    assert shown_id(at) == first and "version 3" in texts(at)  # still on it, at its new version
    assert "review_unlabel" not in [b.key for b in at.button]  # nothing confirmed left to remove


def test_a_suggested_label_shows_why_it_was_suggested(store):
    load(store, "chats_openai.jsonl")
    first = store.page(limit=1).to_pylist()[0]["id"]
    store.set_suggested_labels([first], ["code"], [0.95], ["code: asks to 'Write a function'"])
    at = open_app("pages/review.py")
    box = at.selectbox(key=f"rv_label_{first}_1")
    assert box.label == "Task label (suggested)" and box.help == "code: asks to 'Write a function'"
    store.update_sample(first, 1, SampleEdit(task_label="code"), user=USER)  # a person confirmed it: no reason any more
    again = open_app("pages/review.py")
    assert again.selectbox(key=f"rv_label_{first}_2").help in (None, "")


# ---------------------------------------------------------------------------------------------------- assignments


def team_workspace(store) -> list[str]:
    """ann and bob, annotators; the four chats; returns their ids."""
    for name in ("ann", "bob"):
        accounts.add_user(store, name, "annotator", f"{name}-password", by=USER)
    load(store, "chats_openai.jsonl")
    return [r["id"] for r in store.page().to_pylist()]


def test_an_annotator_reviews_only_the_samples_assigned_to_them(store):
    ids = team_workspace(store)
    store.assign([ids[1], ids[3]], ["ann"], by=USER)
    store.assign([ids[2]], ["bob"], by=USER)
    at = open_app("pages/review.py", name="ann", password="ann-password")

    assert shown_id(at) == ids[1]  # not ids[0], which nobody assigned to her
    assert "0 of 2 of your assignments done · 2 to go" in at.get("progress")[0].proto.text
    at.button(key="review_accept").click().run()

    assert store.get_sample(ids[1])["status"] == "accepted"  # her sample alone: the review applies to it
    assert shown_id(at) == ids[3]
    assert "1 of 2 of your assignments done · 1 to go" in at.get("progress")[0].proto.text
    at.query_params["id"] = ids[2]  # bob's, by link
    at.run()
    assert "is not assigned to you" in texts(at) and shown_id(at) == ids[3]
    at.button(key="review_reject").click().run()
    assert "Nothing left in your assignments." in texts(at)
    assert [store.get_sample(i)["status"] for i in ids] == ["pending", "accepted", "pending", "rejected"]


def test_on_a_shared_sample_each_annotators_review_is_kept_apart_and_the_sample_waits(store):
    ids = team_workspace(store)
    store.assign([ids[0]], ["ann", "bob"], by=USER)
    at = open_app("pages/review.py", name="ann", password="ann-password")
    assert "You review this sample with bob" in texts(at)

    at.text_area(key=f"rv_note_{ids[0]}_1").set_value("ann thinks it is terse").run()
    at.button(key="review_save").click().run()  # a draft: still in her queue, her note shown
    assert shown_id(at) == ids[0] and at.text_area(key=f"rv_note_{ids[0]}_1").value == "ann thinks it is terse"
    at.button(key="review_reject").click().run()
    assert "Nothing left in your assignments." in texts(at)

    bob = open_app("pages/review.py", name="bob", password="bob-password")
    assert bob.text_area(key=f"rv_note_{ids[0]}_1").value == ""  # not ann's note: the sample is unchanged
    bob.button(key="review_accept").click().run()

    sample = store.get_sample(ids[0])
    assert (sample["status"], sample["version"], sample["note"]) == ("pending", 1, "")
    mine = {a["user_name"]: (a["status"], a["note"]) for a in store.annotations_of(ids[0])}
    assert mine == {"ann": ("rejected", "ann thinks it is terse"), "bob": ("accepted", "")}


def test_an_assignment_taken_back_while_shown_is_a_one_line_error(store):
    ids = team_workspace(store)
    store.assign([ids[0], ids[1]], ["ann"], by=USER)
    at = open_app("pages/review.py", name="ann", password="ann-password")
    assert shown_id(at) == ids[0]
    store.unassign(SampleFilter(ids=[ids[0]]), by=USER)  # the lead takes it back while ann looks at it

    at.button(key="review_accept").click().run()

    assert not at.exception
    assert "may only review samples assigned to them" in at.error[0].value
    assert [store.get_sample(i)["status"] for i in ids[:2]] == ["pending", "pending"]  # nor the next one
    at.button(key="review_skip_btn").click().run()
    assert shown_id(at) == ids[1]


def test_after_sign_out_the_next_account_does_not_see_the_last_ones_sample(store):
    ids = team_workspace(store)
    store.assign([ids[2]], ["ann"], by=USER)
    at = open_app("pages/review.py")  # the admin has ids[0] open
    assert shown_id(at) == ids[0]
    at.button(key="sign_out").click().run()
    at.text_input(key="sign_in_name").set_value("ann")
    at.text_input(key="sign_in_password").set_value("ann-password")
    at.button[0].click().run()

    assert not at.exception
    assert "**ann** (annotator)" in texts(at)
    assert shown_id(at) == ids[2]  # her assignment, not the admin's sample


def test_scores_read_as_words_with_their_column_beside_them(store):
    from core.scoring.runner import run_scorers

    load(store, "chats_openai.jsonl")
    run_scorers(store, ["heuristics"])
    at = open_app("pages/review.py")
    table = next(d for d in at.dataframe if "score" in d.value.columns)
    rows = {r["column"]: r["score"] for r in table.value.to_dict("records")}
    assert rows["h_answer_chars"] == "answer length (chars)"
    assert rows["h_answer_word_rep"] == "repetition (words)" and rows["h_refusal"] == "refusal"
    assert json.loads(table.proto.columns)["column"]["help"].startswith("The score's column: its name in recipes")


def test_actions_come_before_the_scores_which_fold_into_one_line(store):
    from core.scoring.runner import run_scorers

    load(store, "chats_openai.jsonl")
    run_scorers(store, ["heuristics"])
    at = open_app("pages/review.py")

    def kinds(node) -> list[str]:  # the elements under a block, in page order, nested ones included
        out = []
        for child in getattr(node, "children", {}).values():
            out += [child.type, *kinds(child)]
        return out

    # the sample's column: its header, the actions, then the scores
    right = next(kinds(c) for c in at.columns if {"subheader", "multiselect"} <= set(kinds(c)))
    assert right.index("button") < right.index("multiselect") < right.index("dataframe")
    scores = next(e for e in at.expander if e.label.startswith("Scores ("))
    assert "answer length (chars) 5" in scores.label and "refusal no" in scores.label
    assert scores.proto.expanded is False


def test_an_annotators_sidebar_counts_their_own_assignments(store):
    ids = team_workspace(store)
    store.assign(ids[:2], ["ann"], by=USER)
    store.update_sample(ids[3], 1, SampleEdit(status="accepted"), user=USER)  # the workspace's, not hers
    at = open_app("pages/review.py", name="ann", password="ann-password")
    assert at.sidebar.get("progress")[0].proto.text == "0 of 2 of your assignments"
    at.button(key="review_accept").click().run()
    assert at.sidebar.get("progress")[0].proto.text == "1 of 2 of your assignments"
    assert "1 of 2 of your assignments done · 1 to go" in at.get("progress")[0].proto.text


def test_links_to_a_selection_or_a_cluster_make_the_queue_and_a_bad_one_says_why(store):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    ids = [r["id"] for r in store.page().to_pylist()]
    store.save_selection(
        "late", recipe="steps: []", recipe_hash="h", log=[], members=[(ids[5], 1), (ids[6], 1)], user=USER
    )
    at = open_app()
    at.query_params["selection"] = "late"
    at.switch_page("pages/review.py").run()
    assert "Reviewing the selection late." in texts(at)
    assert shown_id(at) == ids[5]
    at.button(key="review_accept").click().run()
    assert shown_id(at) == ids[6]

    at.query_params["selection"] = "gone"
    at.run()
    assert "The link names the selection 'gone', which this workspace does not have." in texts(at)
    at.query_params["cluster"] = "3"
    at.run()
    assert "The link names cluster 3, but this workspace has no map yet." in texts(at)
    assert not at.exception


def test_each_answer_of_a_chat_can_be_marked_not_to_train_on_from_the_keyboard(store):
    load(store, "chats_openai.jsonl")
    chat = store.page().to_pylist()[2]  # two user turns, two answers
    at = open_app()
    at.query_params["id"] = chat["id"]
    at.switch_page("pages/review.py").run()
    assert shown_id(at) == chat["id"]
    key = f"rv_turns_{chat['id']}_1"
    boxes = [c for c in at.checkbox if c.key.startswith(f"{key}_train_")]
    assert [b.value for b in boxes] == [True, True] and boxes[0].label.startswith("▶ ")
    at.button(key=f"{key}_next").click().run()  # J: to the second answer
    at.button(key=f"{key}_flip").click().run()  # T: not to train on it
    assert [c.value for c in at.checkbox if c.key.startswith(f"{key}_train_")] == [True, False]
    at.button(key="review_save").click().run()
    assert not at.exception, at.exception
    saved = store.get_sample(chat["id"])
    assert [m.get("weight") for m in saved["messages"] if m["role"] == "assistant"] == [None, 0]
    assert saved["status"] == "pending"  # the chat's own decision stays
