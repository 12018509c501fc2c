"""The Export page: writes the accepted samples under the export folder, with a manifest and a download; the
training-ready export reports tokens, truncation, packing and advice, and writes a folder of training files."""

from __future__ import annotations

import json

import pytest
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts

from core.store import SampleEdit, SampleFilter
from core.training.pipeline import TrainingOptions, training_report


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_export_writes_the_accepted_samples_with_a_manifest(store, tmp_path):
    load(store, "tasks_alpaca.json", "chats_openai.jsonl")
    haiku = store.page(limit=1).to_pylist()[0]
    store.update_sample(haiku["id"], 1, SampleEdit(status="accepted"), user=USER)
    at = open_app("pages/export.py")
    assert "**1 samples** will be written to" in texts(at)

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


def test_an_existing_file_is_replaced_only_when_asked(store, tmp_path):
    load(store, "chats_openai.jsonl")
    (tmp_path / "exports").mkdir()
    earlier = tmp_path / "exports" / "winnow-alpaca.jsonl"
    earlier.write_text("someone's earlier export\n")
    at = open_app("pages/export.py")
    at.multiselect(key="export_status").set_value(["pending"]).run()

    assert at.button(key="export_go").disabled
    assert "winnow-alpaca.jsonl exists in the export folder" in at.warning[0].value

    at.checkbox(key="export_replace").check().run()
    assert not at.button(key="export_go").disabled
    at.button(key="export_go").click().run()
    finish_job(at, "export_job")
    assert len(earlier.read_text().splitlines()) == 4


def test_a_chosen_selection_exports_its_own_samples_and_nothing_is_refused_with_the_reason(store, tmp_path):
    load(store, "tasks_alpaca.json", "chats_openai.jsonl")
    ids = [r["id"] for r in store.page().to_pylist()]
    members = [(ids[1], 1), (ids[2], 1), (ids[4], 1)]
    store.save_selection("three", recipe="steps: []", recipe_hash="h", log=[], members=members, user=USER)
    at = open_app("pages/export.py")
    assert at.multiselect(key="export_status").value == ["accepted"]
    assert "0 match: none of the samples is accepted; change Status" in at.error[0].value
    assert at.button(key="export_go").disabled  # nothing accepted: no empty file, no "Wrote 0 records"

    at.selectbox(key="export_selection").set_value("three").run()
    assert at.multiselect(key="export_status").value == []  # the selection's own samples, whatever their status
    assert "**3 samples** will be written to" in texts(at)
    at.multiselect(key="export_status").set_value(["accepted"]).run()
    assert at.error[0].value == (
        "0 match: the selection three has 3 samples, none accepted; clear Status to export them"
    )
    assert at.button(key="export_go").disabled
    at.multiselect(key="export_status").set_value([]).run()
    at.button(key="export_go").click().run()
    finish_job(at, "export_job")

    out = tmp_path / "exports" / "winnow-alpaca.jsonl"
    assert len(out.read_text().splitlines()) == 3
    assert "Wrote 3 records" in texts(at)
    # The file just written is not "an earlier export" to warn about; exporting again replaces it without asking.
    assert not at.warning and "Exporting again replaces the file written below." in texts(at)
    assert not at.button(key="export_go").disabled


def test_a_link_chooses_the_selection(store):
    load(store, "tasks_alpaca.json")
    first = store.page(limit=1).to_pylist()[0]["id"]
    store.save_selection("one", recipe="steps: []", recipe_hash="h", log=[], members=[(first, 1)], user=USER)
    at = open_app()
    at.query_params["selection"] = "one"
    at.switch_page("pages/export.py").run()
    assert at.selectbox(key="export_selection").value == "one"
    assert "**1 samples** will be written to" in texts(at)


def test_a_name_outside_the_export_folder_is_refused(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app("pages/export.py")

    for bad in ("../escape.jsonl", "sub/dir.jsonl", ".hidden.jsonl"):
        at.text_input(key="export_name").set_value(bad).run()
        assert any(bad in e.value for e in at.error), bad
        assert at.button(key="export_go").disabled
    assert not (tmp_path / "escape.jsonl").exists() and not (tmp_path / "exports").exists()


@pytest.mark.model
def test_training_export_reports_then_writes_a_folder(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app("pages/export.py")
    at.multiselect(key="export_status").set_value(["pending"]).run()
    at.number_input(key="train_max_length").set_value(64).run()

    at.button(key="train_report").click().run()
    finish_job(at, "training_job")
    metrics = {m.label: m.value for m in at.metric}
    expected = training_report(store, filters=SampleFilter(status=["pending"]), options=TrainingOptions(max_length=64))
    cut = expected.manifest["truncation"]
    assert cut["samples"] > 0  # 64 tokens is short for this template: the page shows the cut
    assert metrics["Samples"] == "4 + 0"  # 5 % of 4 samples rounds to no validation sample
    assert metrics["Over 64 tokens"] == str(cut["samples"])
    assert metrics["Tokens"] == f"{expected.manifest['tokens']['total']:,}"
    assert "Method: p-tuning" in at.info[0].value and "ICLR 2024" in at.info[0].value
    assert not (tmp_path / "exports").exists()  # a report writes nothing

    at.number_input(key="train_max_length").set_value(256).run()
    at.text_input(key="train_name").set_value("run1").run()
    at.checkbox(key="train_pack").check().run()
    at.button(key="train_go").click().run()
    finish_job(at, "training_job")
    folder = tmp_path / "exports" / "run1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "dataset_info.json",
        "manifest.json",
        "train.jsonl",
        "train.packed.parquet",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["samples"]["written"] == {"train": 4, "validation": 0}
    assert manifest["truncation"]["samples"] == 0 and manifest["packing"]["train"]["rows"] == 1
    assert f"Wrote 4 training and 0 validation samples to `{folder}`." in [s.value for s in at.success]
    assert {m.label: m.value for m in at.metric}[
        "Packing efficiency"
    ] == f"{manifest['packing']['train']['efficiency']:.1%}"
    assert store.recent_events(1)[0]["action"] == "export-training"

    # The folder is there now: writing again would replace it, so the page asks first.
    assert at.button(key="train_go").disabled
    assert any("run1 exists in the export folder" in w.value for w in at.warning)
    at.checkbox(key="train_replace").check().run()
    assert not at.button(key="train_go").disabled


def test_a_training_folder_outside_the_export_folder_is_refused(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app("pages/export.py")
    at.text_input(key="train_name").set_value("../escape").run()
    assert any("../escape" in e.value for e in at.error)
    assert at.button(key="train_go").disabled and not at.button(key="train_report").disabled


def test_a_chat_with_an_untrained_turn_is_cut_when_asked(store, tmp_path):
    from core.importing.workspace import import_file

    chat = [
        {"role": "user", "content": "Capital of Peru?"},
        {"role": "assistant", "content": "Lima.", "weight": 1},
        {"role": "user", "content": "And of Chile?"},
        {"role": "assistant", "content": "No idea.", "weight": 0},
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": chat}) + "\n", encoding="utf-8")
    import_file(store, path, user=USER)
    at = open_app("pages/export.py")
    at.multiselect(key="export_status").set_value([]).run()
    at.selectbox(key="export_format").set_value("sharegpt").run()
    at.radio(key="export_turns").set_value("cut").run()
    at.text_input(key="export_name").set_value("cut.jsonl").run()
    at.button(key="export_go").click().run()
    finish_job(at, "export_job")
    records = [json.loads(line) for line in (tmp_path / "exports" / "cut.jsonl").read_text().splitlines()]
    assert [t["value"] for t in records[0]["conversations"]] == ["Capital of Peru?", "Lima."]
    at.selectbox(key="export_format").set_value("openai").run()
    assert not [r for r in at.radio if r.key == "export_turns"]  # OpenAI keeps the weights: nothing to choose
