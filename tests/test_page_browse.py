"""The Browse page: filters narrow the table, pages page, a sample opens below and in Review, scores show."""

from __future__ import annotations

import json

import pytest
from page_workspace import USER, load, new_workspace, open_app, texts, write_jsonl
from streamlit.proto.Dataframe_pb2 import Dataframe

from core.importing.workspace import import_file
from core.scoring.runner import run_scorers
from core.store import SampleEdit, SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def table_ids(at) -> list[str]:
    return at.dataframe[0].value["id"].tolist()


def test_filters_narrow_the_table(store):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    at = open_app("pages/browse.py")
    assert len(table_ids(at)) == 7 and "7 samples match" in texts(at)

    at.text_input(key="browse_text").set_value("PERU").run()  # case-insensitive, prompt or answer
    assert len(table_ids(at)) == 1
    assert at.dataframe[0].value["prompt"].tolist() == ["What is the capital of Peru?"]

    at.text_input(key="browse_text").set_value("").run()
    at.selectbox(key="browse_dups").set_value("only duplicates").run()
    assert at.dataframe[0].value["dup_of"].notna().all() and len(table_ids(at)) == 1

    at.selectbox(key="browse_dups").set_value("show").run()
    alpaca = next(s["source_id"] for s in store.sources() if s["name"] == "tasks_alpaca.json")
    at.multiselect(key="browse_sources").set_value([alpaca]).run()
    assert at.dataframe[0].value["source"].unique().tolist() == ["tasks_alpaca.json"]


def test_status_and_tag_filters(store):
    load(store, "chats_openai.jsonl")
    rows = store.page().to_pylist()
    store.update_sample(rows[1]["id"], rows[1]["version"], SampleEdit(status="accepted", tags=["geo"]), user=USER)
    at = open_app("pages/browse.py")

    at.multiselect(key="browse_status").set_value(["accepted"]).run()
    assert table_ids(at) == [rows[1]["id"]]
    at.multiselect(key="browse_status").set_value([]).run()
    at.selectbox(key="browse_tag").set_value("geo").run()
    assert table_ids(at) == [rows[1]["id"]]


def test_pages_of_the_table(store, tmp_path):
    records = [{"prompt": f"Question {i}?", "completion": f"Answer {i}."} for i in range(60)]
    import_file(store, write_jsonl(tmp_path / "many.jsonl", records), user=USER)
    at = open_app("pages/browse.py")
    assert len(table_ids(at)) == 50

    at.number_input(key="browse_page").set_value(2).run()
    assert at.dataframe[0].value["prompt"].tolist() == [f"Question {i}?" for i in range(50, 60)]
    assert "page 2 of 2" in texts(at)

    at.text_input(key="browse_text").set_value("Question 1").run()  # a new filter starts at page 1
    assert at.number_input(key="browse_page").value == 1 and len(table_ids(at)) == 11


def test_a_chosen_sample_shows_its_chat_and_opens_in_review(store):
    load(store, "chats_openai.jsonl")
    third = store.page().to_pylist()[2]["id"]
    at = open_app("pages/browse.py")

    at.selectbox(key="browse_pick").set_value(third).run()
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    assert "300000 centimetres." in texts(at)

    at.button(key="browse_open").click().run()
    assert not at.exception
    assert third in at.subheader[0].value  # Review shows that sample, not the first pending one
    assert at.button(key="review_accept")


def test_score_columns_show_and_filter_by_range(store):
    load(store, "chats_openai.jsonl")
    store.ensure_scorer("length", "length/v1/test", {"length_chars": "DOUBLE"}, {})
    hashes = [store.get_sample(r["id"])["content_hash"] for r in store.page().to_pylist()]
    store.write_scores(
        "length",
        "length/v1/test",
        {"length_chars": "DOUBLE"},
        [(h, {"length_chars": float(i)}) for i, h in enumerate(hashes)],
    )
    at = open_app("pages/browse.py")
    assert at.dataframe[0].value["length_chars"].tolist() == [0.0, 1.0, 2.0, 3.0]

    slider = at.slider(key="browse_range_length_chars")
    assert (slider.min, slider.max, slider.step, slider.value) == (0, 3, 1, (0, 3))  # whole numbers: integer steps
    at.slider(key="browse_range_length_chars").set_value((1, 2)).run()
    assert at.dataframe[0].value["length_chars"].tolist() == [1.0, 2.0]
    assert "2 samples match" in texts(at)

    at.selectbox(key="browse_pick").set_value(table_ids(at)[0]).run()
    scores = at.dataframe[-1].value  # the picked sample's scores, as a score/value table
    # a column no scorer has words for is shown by its name
    assert scores.to_dict("records") == [{"score": "length_chars", "value": "1", "column": "length_chars"}]


def test_score_names_read_as_words_with_the_column_in_the_help(store):
    load(store, "chats_openai.jsonl")
    run_scorers(store, ["heuristics"])
    at = open_app("pages/browse.py")
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["h_answer_chars"]["label"] == "answer length (chars)"
    assert config["h_answer_chars"]["help"] == "column `h_answer_chars`"
    assert config["h_answer_word_rep"]["label"] == "repetition (words)"
    slider = at.slider(key="browse_range_h_answer_chars")
    assert (slider.label, slider.help) == ("answer length (chars)", "column `h_answer_chars`")

    at.selectbox(key="browse_pick").set_value(table_ids(at)[0]).run()
    rows = {r["column"]: r for r in at.dataframe[-1].value.to_dict("records")}
    assert rows["h_answer_chars"]["score"] == "answer length (chars)"
    assert rows["h_refusal"] == {"score": "refusal", "value": "no", "column": "h_refusal"}
    assert rows["h_answer_word_rep"]["score"] == "repetition (words)"


def test_remote_images_show_as_links_unless_the_workspace_allows_them(store, tmp_path):
    pixel = "![pixel](https://tracker.example/p.png)"
    import_file(
        store, write_jsonl(tmp_path / "img.jsonl", [{"instruction": "Chart?", "output": f"See {pixel}"}]), user=USER
    )
    sid = store.page().to_pylist()[0]["id"]
    at = open_app("pages/browse.py")
    at.selectbox(key="browse_pick").set_value(sid).run()
    shown = "\n".join(str(m.value) for m in at.markdown)
    assert "See \\" + pixel in shown and "See ![" not in shown  # a link: no browser fetches the tracker
    store.set_markdown_images(True, user=USER)
    at.run()
    assert "See " + pixel in "\n".join(str(m.value) for m in at.markdown)


def test_bulk_actions_on_all_matching_the_filter_say_the_count_first(store):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    at = open_app("pages/browse.py")
    alpaca = next(s["source_id"] for s in store.sources() if s["name"] == "tasks_alpaca.json")
    at.multiselect(key="browse_sources").set_value([alpaca]).run()
    assert at.radio(key="browse_scope").options == ["all matching the filter"]
    assert "Acts on 3 samples: the whole filter." in texts(at)

    at.button(key="browse_accept").click().run()
    assert at.warning[0].value == "Accept all 3 samples matching the filter?"
    assert store.count(SampleFilter(status="accepted")) == 0  # nothing yet: the count first
    at.button(key="browse_confirm").click().run()
    assert "Accepted 3 samples." in [s.value for s in at.success]
    assert store.count(SampleFilter(status="accepted", source_ids=[alpaca])) == 3
    assert at.sidebar.get("progress")[0].proto.text == "3 of 7 reviewed"

    at.text_input(key="browse_bulk_tag").set_value("batch-1").run()
    at.button(key="browse_tag_go").click().run()
    assert at.warning[0].value == "Add the tag “batch-1” to all 3 samples matching the filter?"
    at.multiselect(key="browse_sources").set_value([]).run()  # the filter changed: the question is dropped
    assert not at.warning and store.count(SampleFilter(tag="batch-1")) == 0

    at.button(key="browse_review").click().run()  # send all 7 to Review
    assert "Reviewing 7 samples from Browse." in texts(at)


def test_picked_rows_are_acted_on_at_once(store):
    load(store, "chats_openai.jsonl")
    ids = [r["id"] for r in store.page().to_pylist()]
    at = open_app("pages/browse.py")
    assert list(at.dataframe[0].proto.selection_mode) == [Dataframe.MULTI_ROW]  # several rows at once
    at.session_state["browse_table"] = {"selection": {"rows": [1, 3], "columns": [], "cells": []}}
    at.run()
    assert at.radio(key="browse_scope").value == "rows"
    at.button(key="browse_reject").click().run()
    assert "Rejected 2 samples." in [s.value for s in at.success]
    assert [store.get_sample(i)["status"] for i in ids] == ["pending", "rejected", "pending", "rejected"]


def test_a_flag_or_category_score_is_filtered_by_its_values(store, tmp_path):
    from core.decontamination.workspace import add_eval_set_file

    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    question = "A farmer has 17 sheep and buys 5 more each spring for three springs. How many sheep are there now?"
    import_file(store, write_jsonl(tmp_path / "leak.jsonl", [{"instruction": question, "output": "32"}]), user=USER)
    leaked = store.page(SampleFilter(text="farmer")).to_pylist()[0]
    test_set = write_jsonl(tmp_path / "test.jsonl", [{"question": question, "answer": "17 + 3 * 5 = 32. #### 32"}])
    add_eval_set_file(store, test_set, mapping="prompt=question,response=answer", user=USER)
    run_scorers(store, ["decontam"], user=USER)
    at = open_app("pages/browse.py")
    assert len(table_ids(at)) == 8
    at.multiselect(key="browse_values_contaminated").set_value(["true"]).run()
    assert table_ids(at) == [leaked["id"]]
    at.multiselect(key="browse_values_contaminated").set_value(["false"]).run()
    assert len(table_ids(at)) == 7 and leaked["id"] not in table_ids(at)
    assert not [m for m in at.multiselect if m.key == "browse_values_contamination_ngram"]  # free text: no choices
