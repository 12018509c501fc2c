"""The Balance page: distributions with known counts, taxonomy edits that relabel samples, drill-down bulk labels,
and a mixture plan saved to the workspace."""

from __future__ import annotations

import pytest
from map_workspace import build, fake_embed
from page_workspace import USER, new_workspace, open_app, texts

from core import mixture
from core.labels import refresh_labels
from core.store import SampleFilter
from core.workspace_map import build_map


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

    # Drill down into the translation bar and confirm the label for its samples.
    at.selectbox(key="balance_drill_dim").set_value("task_label").run()
    at.selectbox(key="balance_drill_value").set_value("translation").run()
    assert "5 samples" in texts(at)
    at.selectbox(key="balance_drill_label").set_value("translation").run()
    at.button(key="balance_drill_go").click().run()
    assert {store.get_sample(s)["task_label_source"] for s in groups["translation"]} == {"confirmed"}

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
