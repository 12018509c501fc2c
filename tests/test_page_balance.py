"""The Balance page: distributions with known counts, taxonomy edits that relabel samples, drill-down (by language
too) with bulk labels confirmed or removed over every sample of a bar after a count, the note about an English-only
embedder, and a mixture plan saved to the workspace."""

from __future__ import annotations

import pytest
from map_workspace import build, fake_embed
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts, write_jsonl

from core.decontamination.workspace import add_eval_set_file
from core.labels.workspace import refresh_labels
from core.map.workspace import build_map
from core.models.embedders import MINILM
from core.selection import mixture
from core.store import UNLABELED, SampleEdit, SampleFilter
from core.team import accounts


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_distributions_taxonomy_drill_down_and_plan(store):
    groups = build(store, user=USER)
    build_map(store, k=3, user=USER)
    refresh_labels(store, embed=fake_embed)
    store.set_status_many(groups["code"], "accepted", user=USER)
    at = open_app("pages/balance.py")
    assert len(at.get("plotly_chart")) >= 6  # six distributions + the sunburst + the plan chart
    assert "accepted below 50" in texts(at)

    # Rename a label from the page: the taxonomy and the samples change together.
    at.selectbox(key="balance_rename_old").set_value("math")
    at.text_input(key="balance_rename_new").set_value("arithmetic")
    at.button(key="FormSubmitter:balance_rename-Rename").click().run()
    assert not at.exception, at.exception
    assert store.count(SampleFilter(task_label="arithmetic")) == 6
    assert "arithmetic" in [t["name"] for t in store.taxonomy()]

    # Drill down into the translation bar: the confirmation applies to every sample of the bar, after a count.
    at.selectbox(key="balance_drill_dim").set_value("task_label").run()
    at.selectbox(key="balance_drill_value").set_value("translation").run()
    assert "5 samples" in texts(at)
    drill = next(d.value for d in at.dataframe if "why (suggested labels)" in d.value.columns)
    assert set(drill["task label"]) == {"translation"}  # each suggestion with its reason: here a rule's
    assert all(why.startswith("translation: asks ") for why in drill["why (suggested labels)"])
    at.selectbox(key="balance_drill_label").set_value("translation").run()
    at.button(key="balance_drill_go").click().run()
    assert store.count(SampleFilter(task_label="translation")) == 5  # nothing written before the confirmation
    assert store.get_sample(groups["translation"][0])["task_label_source"] == "suggested"
    assert "Confirm **translation** as the task label of all **5** samples?" in texts(at)
    at.button(key="balance_pending_yes").click().run()
    assert not at.exception, at.exception
    assert {store.get_sample(s)["task_label_source"] for s in groups["translation"]} == {"confirmed"}
    assert "Confirmed “translation” for 5 samples." in texts(at)
    # A DMT plan over the whole workspace, saved.
    at.selectbox(key="mix_pool").set_value("all").run()
    at.selectbox(key="mix_preset").set_value("dmt").run()
    at.multiselect(key="mix_specialist").set_value(["code"]).run()
    at.multiselect(key="mix_general").set_value(["arithmetic", "translation"]).run()
    assert not at.exception, at.exception
    assert "stage 1: specialist" in texts(at)
    at.text_input(key="mix_name").set_value("dmt-1").run()
    at.button(key="mix_save").click().run()
    saved = mixture.from_json(store.get_plan("dmt-1"))
    assert saved.preset == "dmt" and saved.stages[0].planned == {"code": 5}
    assert saved.stages[1].planned == {"arithmetic": 6, "translation": 5, "code": 1}


def test_language_drill_down_confirms_every_match_and_keeps_others_labels(store):
    groups = build(store, user=USER)
    refresh_labels(store, embed=fake_embed)
    accounts.add_user(store, "ana", "lead", "ana-password", by=USER)
    store.update_sample(groups["translation"][0], 1, SampleEdit(task_label="rewrite"), user="ana")
    at = open_app("pages/balance.py")

    at.selectbox(key="balance_drill_dim").set_value("language").run()
    at.selectbox(key="balance_drill_value").set_value("zh").run()
    assert "5 samples; the first 5 shown. The label actions apply to all 5." in texts(at)
    at.selectbox(key="balance_drill_label").set_value("translation").run()
    at.button(key="balance_drill_go").click().run()
    assert "1 were confirmed as another label by someone" in texts(at)
    assert at.button(key="balance_pending_yes").label == "Confirm for 4 samples"
    at.button(key="balance_pending_yes").click().run()
    assert "Confirmed “translation” for 4 samples. Kept 1 labels confirmed as another label." in texts(at)
    assert store.get_sample(groups["translation"][0])["task_label"] == "rewrite"

    # Overwriting is an explicit choice, with its count on the button.
    at.button(key="balance_drill_go").click().run()
    at.checkbox(key="balance_pending_overwrite").check().run()
    assert at.button(key="balance_pending_yes").label == "Confirm for 1 samples"
    at.button(key="balance_pending_yes").click().run()
    assert store.get_sample(groups["translation"][0])["task_label"] == "translation"
    assert store.history(groups["translation"][0])[-1]["before"] == "rewrite"

    # Removing labels: asked, then cancelled, then done.
    at.button(key="balance_drill_remove").click().run()
    assert "Remove the confirmed task label of **5** of these 5 samples?" in texts(at)
    at.button(key="balance_pending_no").click().run()
    assert store.count(SampleFilter(language="zh", task_label="translation")) == 5
    at.button(key="balance_drill_remove").click().run()
    at.button(key="balance_pending_yes").click().run()
    assert "Removed the confirmed label of 5 samples." in texts(at)
    assert store.count(SampleFilter(language="zh", task_label=UNLABELED)) == 5


def test_suggesting_labels_warns_when_the_embedder_cannot_read_the_workspace(store):
    build(store, user=USER)
    at = open_app("pages/balance.py")
    assert "English-only" not in texts(at)  # the test embedder is not a known English-only one
    columns = store.scorer_keys()["embedding"]["columns"]
    store.ensure_scorer("embedding", "fake-embedder", columns, {"model": MINILM.name})
    at.run()
    warning = "\n".join(w.value for w in at.warning)
    assert "31% of the samples are not in English (zh 31%)" in warning
    assert "paraphrase-multilingual-MiniLM-L12-v2" in warning and "Embedder field" in warning


def test_contamination_section_checks_the_samples_and_lists_what_it_found(store, tmp_path):
    load(store, "tasks_alpaca.json")
    planted = store.page(SampleFilter(), limit=1).to_pylist()[0]
    at = open_app("pages/balance.py")
    assert "Contamination" in [s.value for s in at.subheader]
    assert not [b for b in at.button if b.key == "decontam_go"]  # nothing to check against yet
    test_set = write_jsonl(
        tmp_path / "leak.jsonl",
        [
            {"question": planted["prompt"], "answer": planted["answer"]},
            {"question": "A question no sample asks, about lighthouses and their keepers.", "answer": "Lamps."},
        ],
    )
    add_eval_set_file(store, test_set, mapping="prompt=question,response=answer", user=USER)
    at.run()
    assert "Not every sample is checked against the current eval sets: run the check." in texts(at)
    at.button(key="decontam_go").click().run()
    finish_job(at, "decontam_job")
    at.run()
    sets = next(d.value for d in at.dataframe if "eval set" in d.value.columns)
    assert sets[["eval set", "items", "contaminated samples", "items found"]].values.tolist() == [["leak", 2, 1, 1]]
    top = next(d.value for d in at.dataframe if "shared words" in d.value.columns)
    assert top["id"].tolist() == [planted["id"]] and top["item (from 1)"].tolist() == [1]
    assert not at.exception, at.exception
