"""The Import page: preview before importing, imports by path and by upload, mappings, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_workspace import DATA, finish_job, new_workspace, open_app, texts

from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def server_path(at, path: Path):
    at.radio(key="import_how").set_value("A file on the server").run()
    at.text_input(key="import_path").set_value(str(path)).run()
    assert not at.exception, at.exception
    return at


def test_preview_then_import_by_server_path(store):
    at = server_path(open_app(), DATA / "chats_openai.jsonl")

    # The preview shows the first records as chats before anything is written.
    assert "Detected format: **openai**" in texts(at)
    assert len(at.expander) == 4 and at.expander[0].label == "line 1"
    assert [m.name for m in at.expander[0].chat_message] == ["ai", "user", "assistant"]
    assert "What is the capital of Peru?" in texts(at)
    assert store.count() == 0

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")

    assert "Imported 4 records from chats_openai.jsonl as openai." in [s.value for s in at.success]
    assert store.count() == 4
    assert [s["name"] for s in store.sources()] == ["chats_openai.jsonl"]
    assert at.dataframe[-1].value["name"].tolist() == ["chats_openai.jsonl"]  # the sources table


def test_a_bad_record_names_its_line_and_nothing_is_imported(store):
    at = server_path(open_app(), DATA / "bad_alpaca.jsonl")
    preview_errors = [e.value for e in at.error]
    assert any("line 2" in e and "output" in e for e in preview_errors), preview_errors

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")

    errors = [e.value for e in at.error]
    assert any(e.startswith("bad_alpaca.jsonl, line 2") and "'output'" in e for e in errors), errors
    assert not at.exception  # a user's mistake: no traceback
    assert store.count() == 0 and store.sources() == []


def test_skip_mode_imports_the_good_records_and_keeps_a_rejects_file(store, tmp_path):
    at = server_path(open_app(), DATA / "bad_alpaca.jsonl")
    at.radio(key="import_on_error").set_value("skip").run()

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")

    assert store.count() == 2
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Imported"] == "2" and metrics["Rejected"] == "1"
    rejects = list((tmp_path / "rejects").glob("bad_alpaca-*.rejects.jsonl"))
    assert len(rejects) == 1 and '"line":2' in rejects[0].read_text()
    assert str(rejects[0]) in texts(at)


def test_mapped_csv_with_fields_chosen_in_selectboxes(store):
    at = server_path(open_app(), DATA / "qa.csv")
    at.selectbox(key="import_format").set_value("mapped").run()

    # The fields of the first records are offered, with likely ones preselected.
    assert at.selectbox(key="map_prompt").options == ["question", "answer", "topic"]
    assert (at.selectbox(key="map_prompt").value, at.selectbox(key="map_resp").value) == ("question", "answer")
    assert "How many legs does a spider have?" in texts(at)

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")

    sample = store.get_sample(store.page().to_pylist()[1]["id"])
    assert sample["messages"] == [
        {"role": "user", "content": "How many legs does a spider have?"},
        {"role": "assistant", "content": "Eight."},
    ]
    assert store.sources()[0]["mapping"] == '{"prompt": "question", "response": "answer"}'


def test_typed_mapping_naming_a_missing_field_is_an_error(store):
    at = server_path(open_app(), DATA / "qa.csv")
    at.selectbox(key="import_format").set_value("mapped").run()
    at.text_input(key="map_text").set_value("prompt=question,response=reply").run()

    assert any("'reply'" in e.value and "fields found: question, answer, topic" in e.value for e in at.error)
    assert not at.exception


def test_upload_keeps_the_original_name_and_refuses_a_second_import(store, tmp_path):
    at = open_app()
    content = (DATA / "tasks_alpaca.json").read_bytes()
    at.file_uploader(key="import_upload").upload("My Tasks.json", content, "application/json").run()
    assert "Detected format: **alpaca**" in texts(at)

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")

    assert store.count() == 3
    assert store.count(SampleFilter(duplicates=True)) == 1
    source = store.sources()[0]
    assert source["name"] == "My Tasks.json"
    assert Path(source["path"]).parent == tmp_path / "uploads" and Path(source["path"]).read_bytes() == content

    # The same bytes again: refused unless "Allow re-import" is ticked.
    at.button(key="import_go").click().run()
    finish_job(at, "import_job")
    assert any("already imported" in e.value for e in at.error)
    assert store.count() == 3
    at.checkbox(key="import_allow").check().run()
    at.button(key="import_go").click().run()
    finish_job(at, "import_job")
    assert store.count() == 6 and store.count(SampleFilter(duplicates=True)) == 4


def test_a_missing_server_file_is_reported_before_import(store, tmp_path):
    at = server_path(open_app(), tmp_path / "nope.jsonl")

    assert any("no such file" in e.value for e in at.error)
    assert at.button(key="import_go").disabled


def test_only_an_admin_may_import_a_path_on_the_server(store):
    from core.team import accounts

    accounts.add_user(store, "lena", "lead", "lena-password", by="tess")
    at = open_app("pages/import_data.py", name="lena", password="lena-password")

    assert not at.exception
    # a lead uploads; reading any path the server can read is for admins
    assert at.radio(key="import_how").options == ["Upload a file"]
    admin = open_app("pages/import_data.py")
    assert admin.radio(key="import_how").options == ["Upload a file", "A file on the server"]
