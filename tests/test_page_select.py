"""The Select page: run a preset on a scored workspace in a background job, see the funnel, find the selection saved."""

from __future__ import annotations

import pytest
from page_workspace import USER, finish_job, load, new_workspace, open_app, texts
from scored_demo import copy_workspace, scored_demo_db

from core.selection.presets import preset_recipe
from core.selection.recipe import recipe_hash
from core.store import SampleFilter


@pytest.fixture
def store(tmp_path, tmp_path_factory, monkeypatch):
    copy_workspace(scored_demo_db(tmp_path_factory), tmp_path / "ws.duckdb")  # new_workspace opens this file
    return new_workspace(tmp_path, monkeypatch)


@pytest.mark.model
def test_running_a_preset_saves_a_selection_and_draws_its_funnel(store):
    at = open_app("pages/select.py")
    # align needs IFD, which this workspace lacks: the page says which scorer to run, offers to run it, and will
    # not start the recipe; no error box
    assert not at.error
    assert "the **ifd** scorer's IFD (difficulty)" in texts(at)
    assert at.button(key="select_score_go").label == "Run the ifd scorer"
    assert at.button(key="select_go").disabled
    assert "No selection saved yet" in texts(at)

    at.radio(key="select_preset").set_value("fit").run()
    assert not at.error and "Fitting" in texts(at)
    assert "h_trailing_whitespace" in at.text_area(key="select_yaml").value
    at.text_input(key="select_name").set_value("fit-v1").run()
    at.button(key="select_go").click().run()
    finish_job(at, "select_job")

    saved = store.get_selection("fit-v1")
    assert saved["recipe_hash"] == recipe_hash(preset_recipe("fit"))
    assert [e["name"] for e in saved["log"]] == ["filter", "dedup"]
    assert saved["samples"] == saved["log"][-1]["out"] == store.count(SampleFilter(selection="fit-v1")) > 0
    assert any("fit-v1" in s.value for s in at.success)
    assert at.selectbox(key="select_view").value == "fit-v1"
    funnel = at.get("plotly_chart")[0].proto.spec
    assert '"type":"funnel"' in funnel.replace(" ", "")
    log = at.dataframe[0].value  # the funnel as a table
    assert log["in"].tolist() == [store.count(), saved["log"][0]["out"]]
    assert len(at.get("plotly_chart")) == 3  # the funnel, then shares by source and by prompt language
    # saving again under the same name would replace it: the page says so before anyone clicks
    assert f"Saving replaces the selection **fit-v1** ({saved['samples']:,} samples, by {USER})" in texts(at)

    # a broken edit is shown inline, with the step and the line
    at.text_area(key="select_yaml").set_value("steps:\n  - k_centre: {budget: 10}\n").run()
    assert any("step 1 (k_centre), line 2" in e.value and "k_center" in e.value for e in at.error)
    assert at.button(key="select_go").disabled

    # the Export page filters by the saved selection
    at.switch_page("pages/export.py").run()
    at.selectbox(key="export_selection").set_value("fit-v1")
    at.multiselect(key="export_status").set_value([]).run()
    assert f"**{saved['samples']:,} samples** will be written" in texts(at)


def test_a_preset_whose_scores_are_missing_offers_to_run_them(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")  # imported as the page does: no signals yet
    at = open_app("pages/select.py")
    at.radio(key="select_preset").set_value("fit").run()
    assert not at.error
    offer = "the **heuristics** scorer's repetition (words), empty answer, language mismatch, copies the prompt"
    assert offer in texts(at)
    assert at.button(key="select_go").disabled

    at.button(key="select_score_go").click().run()
    assert store.get_job(at.session_state["select_score_job"]["id"])["params"] == {"scorers": ["heuristics"]}
    finish_job(at, "select_score_job")
    assert store.count_unscored("heuristics", store.scorer_keys()["heuristics"]["key"])[0] == 0
    assert not at.error and "does not have yet" not in texts(at)
    assert not at.button(key="select_go").disabled  # the recipe can run now


@pytest.fixture
def mapped(tmp_path, monkeypatch):
    """16 samples with embeddings, heuristics and IFD written without a model (tests/map_workspace.py)."""
    from map_workspace import build

    store = new_workspace(tmp_path, monkeypatch)
    return store, build(store, user=USER)


def test_the_budget_runs_from_1_to_the_workspaces_size_and_a_bad_one_blocks_run(mapped):
    store, _ = mapped
    assert store.count() == 16
    at = open_app("pages/select.py")
    at.radio(key="select_preset").set_value("align").run()
    budget = at.text_input(key="select_budget_align")
    assert budget.value == "16"  # the preset suggests 1,000: this workspace has 16
    assert "budget: 16" in at.text_area(key="select_yaml").value

    for typed, shown in (("100", "budget 100"), ("0", "budget 0"), ("ten", "budget 'ten'")):
        at.text_input(key="select_budget_align").set_value(typed).run()
        assert at.error[0].value == f"{shown}: give a whole number of samples from 1 to 16 (the workspace's size)"
        assert at.button(key="select_go").disabled
        assert "budget: 16" in at.text_area(key="select_yaml").value  # the recipe keeps the last good budget
    at.text_input(key="select_budget_align").set_value("5").run()
    assert not any("budget" in e.value for e in at.error)
    assert "budget: 5" in at.text_area(key="select_yaml").value


def test_the_result_says_when_a_budget_was_larger_than_what_was_left(mapped):
    store, groups = mapped
    store.set_status_many(groups["math"] + groups["code"], "accepted", user=USER)
    at = open_app("pages/select.py")
    at.radio(key="select_preset").set_value("fit").run()
    recipe = "steps:\n  - filter: {status: pending}\n  - k_center: {budget: 12}\n"
    at.text_area(key="select_yaml").set_value(recipe).run()
    at.text_input(key="select_name").set_value("rest").run()
    at.button(key="select_go").click().run()
    finish_job(at, "select_job")

    left = store.count(SampleFilter(status="pending"))
    assert any(f"Saved selection **rest**: {left} of 16 samples." in s.value for s in at.success)
    assert (
        f"Step 2 (k_center) had a budget of 12 but only {left} samples were left after the steps before it: "
        f"it kept {left}." in [i.value for i in at.info]
    )


@pytest.mark.model
def test_the_dedup_report_lists_each_removed_sample_beside_the_kept_one_and_opens_them_in_review(store):
    at = open_app("pages/select.py")
    at.radio(key="select_preset").set_value("fit").run()
    at.text_area(key="select_yaml").set_value("steps: [dedup]").run()  # exact and text near copies
    at.text_input(key="select_name").set_value("dups").run()
    at.button(key="select_go").click().run()
    finish_job(at, "select_job")
    report = store.get_selection("dups")["log"][0]["duplicates"]
    assert report["removed"] == 7  # the demo's planted duplicates (data/demo/README.md)
    assert any("Step 1 (dedup) removed 7 duplicates" in e.label for e in at.expander)
    table = next(d.value for d in at.dataframe if "removed request" in d.value.columns)
    assert table[["removed", "kept", "how"]].values.tolist() == [p[:3] for p in report["pairs"]]
    first = report["pairs"][0]
    assert table["removed request"][0] == " ".join(store.get_sample(first[0])["prompt"].split())[:120]
    at.button(key="select_dup_open_1_1").click().run()  # the kept one of the first pair
    assert at.session_state["review_snap"]["id"] == first[1]
