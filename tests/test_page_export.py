"""The Export page: writes the accepted samples under the export folder, with a manifest and a download."""

from __future__ import annotations

import json

import pytest
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_export_writes_the_accepted_samples_with_a_manifest(store, tmp_path):
    load(store, "tasks_alpaca.json", "chats_openai.jsonl")
    haiku = store.page(limit=1).to_pylist()[0]
    store.update_sample(haiku["id"], 1, user=USER, status="accepted")
    at = open_app("pages/export.py")
    assert "1 samples match" in texts(at)

    at.selectbox(key="export_format").set_value("alpaca").run()
    at.text_input(key="export_name").set_value("curated.jsonl").run()
    at.button(key="export_go").click().run()
    finish_job(at, "export_job")

    out = tmp_path / "exports" / "curated.jsonl"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records == [
        {
            "instruction": "Write a haiku about winnowing grain.",
            "input": "",
            "output": "Chaff lifts on the wind\nheavy kernels fall to earth\nthe good stays behind",
        }
    ]
    manifest = json.loads((tmp_path / "exports" / "curated.jsonl.manifest.json").read_text())
    assert (manifest["records"], manifest["format"], manifest["user"]) == (1, "alpaca", USER)
    assert f"Wrote 1 records to `{out}`." in [s.value for s in at.success]
    assert at.get("download_button")[0].proto.label == "Download curated.jsonl"
    assert at.json[0].value  # the manifest, shown
    assert store.recent_events(1)[0]["action"] == "export"


def test_status_and_scores_options_reach_the_file(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app("pages/export.py")
    at.multiselect(key="export_status").set_value(["pending"]).run()
    at.selectbox(key="export_format").set_value("openai").run()
    at.checkbox(key="export_scores").check().run()

    at.button(key="export_go").click().run()
    finish_job(at, "export_job")

    records = [json.loads(line) for line in (tmp_path / "exports" / "winnow-openai.jsonl").read_text().splitlines()]
    assert len(records) == 4
    assert records[0]["source"] == "chats_openai.jsonl" and records[0]["source_index"] == 0
    assert records[1]["messages"][0] == {"role": "user", "content": "Name a prime number above 10."}


def test_a_name_outside_the_export_folder_is_refused(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app("pages/export.py")

    for bad in ("../escape.jsonl", "sub/dir.jsonl", ".hidden.jsonl"):
        at.text_input(key="export_name").set_value(bad).run()
        assert any(bad in e.value for e in at.error), bad
        assert at.button(key="export_go").disabled
    assert not (tmp_path / "escape.jsonl").exists() and not (tmp_path / "exports").exists()
