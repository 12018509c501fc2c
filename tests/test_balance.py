"""The map, task labels and balance over a real workspace: stored maps keyed by embeddings, labels versioned and
audited, GROUP BY aggregates with known counts, plans, and the export's map and label columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from map_workspace import build, fake_embed

from core.errors import ConflictError, NotFound, PermissionDenied, TaxonomyError, WinnowError
from core.export import export_samples
from core.labels import balance
from core.labels.workspace import edit_taxonomy, refresh_labels, workspace_taxonomy
from core.map import workspace
from core.map.workspace import build_map, map_view
from core.selection import mixture
from core.store import BALANCE_DIMENSIONS, UNKNOWN_LANGUAGE, UNLABELED, SampleEdit, SampleFilter, Store
from core.team import accounts

USER = "tess"


@pytest.fixture
def ws(tmp_path):
    store = Store(tmp_path / "ws.duckdb")
    groups = build(store, user=USER)
    yield store, groups
    store.close()


def test_map_is_stored_keyed_by_embeddings_and_reused(ws):
    store, groups = ws
    with pytest.raises(NotFound):
        store.map_coordinates()
    first = build_map(store, k=3, user=USER)
    assert first["reused"] is False and first["contents"] == 15
    again = build_map(store, k=3, user=USER)
    assert again == {**first, "reused": True}
    assert len(store.cursor().execute("SELECT * FROM maps").fetchall()) == 1

    # Each group is one cluster; the duplicate shares its original's point.
    coords = store.map_coordinates()
    ids = store.ids_of_rids(coords["rid"])
    cluster_of = dict(zip(ids, coords["cluster"].tolist(), strict=True))
    for members in groups.values():
        assert len({cluster_of[s] for s in members}) == 1
    assert len(set(cluster_of.values())) == 3
    stats = {s["cluster"]: s for s in store.cluster_stats()}
    math_cluster = stats[cluster_of[groups["math"][0]]]
    assert math_cluster["samples"] == 6 and math_cluster["duplicates"] == pytest.approx(1 / 6)
    assert math_cluster["ifd_mean"] == pytest.approx(0.3)
    assert store.count(SampleFilter(cluster=math_cluster["cluster"])) == 6

    # Another k is another map; new contents make the current map stale (a new key).
    other = build_map(store, k=2, user=USER)
    assert other["map_key"] != first["map_key"] and store.get_map()["k"] == 2
    sid = groups["code"][0]
    sample = store.get_sample(sid)
    store.update_sample(
        sid,
        sample["version"],
        SampleEdit(messages=[*sample["messages"][:1], {"role": "assistant", "content": "new"}]),
        user=USER,
    )
    vec = np.zeros(8, dtype=np.float32)
    vec[1] = 1
    store.write_scores(
        "embedding",
        "fake-embedder",
        {"embedding": "FLOAT[8]"},
        [(store.get_sample(sid)["content_hash"], {"embedding": vec.tolist()})],
    )
    assert build_map(store, k=2, user=USER)["reused"] is False


def test_map_view_draws_a_stratified_sample_and_says_so(ws):
    store, _ = ws
    build_map(store, k=3, user=USER)
    everything = map_view(store)
    assert everything["total"] == 16 and not everything["sampled"] and len(everything["rid"]) == 16
    few = map_view(store, max_points=6)
    assert few["sampled"] and len(few["rid"]) == 6 and set(few["cluster"].tolist()) == {0, 1, 2}
    details = store.map_details(few["rid"], "ifd")
    assert details["rid"] == sorted(few["rid"].tolist()) and all(details["score"])


def test_suggested_labels_then_confirmed_ones_are_versioned_and_audited(ws):
    store, groups = ws
    report = refresh_labels(store, embed=fake_embed)
    # the math and translation requests show their task in the text: a rule suggests them; the rest by similarity
    assert report == {"suggested": 16, "confirmed": 0, "by_evidence": 10, "source": "examples"}
    labels = dict(zip(*store.sample_arrays(["id", "task_label"]).values(), strict=True))
    assert {labels[s] for s in groups["math"]} == {"math"}
    assert {labels[s] for s in groups["translation"]} == {"translation"}
    assert store.get_sample(groups["math"][0])["task_label_source"] == "suggested"
    why = store.task_labels_of(groups["math"] + groups["code"])
    assert why[groups["math"][1]]["task_label_reason"].startswith("math: arithmetic")  # "Solve x + 3 = 10."
    assert why[groups["code"][2]]["task_label_reason"].startswith("code: like ")  # "Explain a closure.": similarity
    assert store.history(groups["math"][0]) == [] and store.get_sample(groups["math"][0])["version"] == 1

    # A person confirms a label in Review: a new version and an audit event.
    sid = groups["code"][0]
    before = store.get_sample(sid)
    v = store.update_sample(sid, before["version"], SampleEdit(task_label="reasoning"), user=USER, action="review")
    after = store.get_sample(sid)
    assert v == before["version"] + 1
    assert (after["task_label"], after["task_label_source"], after["task_label_confidence"]) == (
        "reasoning",
        "confirmed",
        1.0,
    )
    event = store.history(sid)[-1]
    assert (event["field"], event["before"], event["after"]) == ("task_label", "code (suggested)", "reasoning")
    assert (
        store.update_sample(sid, v, SampleEdit(task_label="reasoning"), user=USER) == v
    )  # the same label is no change

    # Bulk confirmation, then suggestions again: confirmed labels stay, the classifier takes over.
    assert store.set_task_label_many(groups["math"][:2], "math", user=USER) == 2
    assert store.history(groups["math"][0])[-1]["after"] == "math"
    assert refresh_labels(store, embed=fake_embed)["source"] == "examples + confirmed"
    assert store.get_sample(sid)["task_label"] == "reasoning"


def test_taxonomy_rename_and_merge_relabel_samples(ws):
    store, groups = ws
    assert workspace_taxonomy(store)[0]["name"] == "general QA" and store.taxonomy() is None
    refresh_labels(store, embed=fake_embed)
    sid = groups["math"][1]
    store.set_task_label_many([sid], "math", user=USER)
    version = store.get_sample(sid)["version"]

    assert edit_taxonomy(store, "rename", old="math", new="Mathematics", user=USER) == 6
    assert "Mathematics" in [t["name"] for t in store.taxonomy()]
    assert store.get_sample(sid)["task_label"] == "Mathematics" and store.get_sample(sid)["version"] == version + 1
    assert store.history(sid)[-1]["action"] == "relabel"
    assert store.count(SampleFilter(task_label="Mathematics")) == 6

    edit_taxonomy(store, "merge", sources=["code"], into="Mathematics", user=USER)
    assert store.count(SampleFilter(task_label="Mathematics")) == 11
    assert "code" not in [t["name"] for t in store.taxonomy()]
    with pytest.raises(TaxonomyError):
        edit_taxonomy(store, "rename", old="no such label", new="x", user=USER)


def test_balance_aggregates_have_known_counts(ws):
    store, groups = ws
    build_map(store, k=3, user=USER)
    refresh_labels(store, embed=fake_embed)
    store.set_status_many(groups["code"] + groups["translation"][:2], "accepted", user=USER)

    rows = {r["value"]: r for r in balance.compare(store, "task_label")}
    assert (rows["math"]["all"], rows["math"]["accepted"]) == (6, 0)
    assert (rows["code"]["all"], rows["code"]["accepted"]) == (5, 5)
    assert rows["code"]["share_accepted"] == pytest.approx(5 / 7)
    lang = {r["value"]: (r["all"], r["accepted"]) for r in balance.compare(store, "language")}
    assert lang == {"en": (11, 5), "zh": (5, 2)}
    length = {r["value"]: r["all"] for r in balance.compare(store, "answer_length")}
    assert length == {"a <100": 11, "b 100-499": 5}
    ifd = {r["value"]: r["all"] for r in balance.compare(store, "ifd")}
    assert ifd == {"a easy <0.4": 6, "c 0.7-0.9": 5, "d hard 0.9-1": 5}
    assert sorted(r["all"] for r in balance.compare(store, "cluster")) == [5, 5, 6]
    assert {(r["task_label"], r["language"]): r["samples"] for r in balance.label_by_language(store)} == {
        ("math", "en"): 6,
        ("code", "en"): 5,
        ("translation", "zh"): 5,
    }
    assert store.label_amounts(balance.ACCEPTED, unit="tokens") == {"code": 75, "translation": 30}

    m = balance.imbalance({"a": 100, "b": 100})
    assert m.normalized_entropy == 1.0 and m.max_min_ratio == 1.0 and m.below_threshold == ()
    m = balance.imbalance({"a": 990, "b": 10, "c": 0}, threshold=50)
    assert m.values == 2 and m.normalized_entropy < 0.1 and m.max_min_ratio == 99.0 and m.below_threshold == ("b",)
    drill = balance.drill_filter(store, "source", "groups.json", accepted_only=True)
    assert store.count(drill) == 7


def test_plans_are_saved_and_read_back(ws):
    store, _ = ws
    plan = mixture.preset_dmt({"math": 100, "code": 50, "general QA": 300}, ["general QA"], ["math", "code"])
    store.save_plan("dmt v1", mixture.to_json(plan), user=USER)
    assert [p["name"] for p in store.plans()] == ["dmt v1"]
    assert mixture.from_json(store.get_plan("dmt v1")) == plan
    with pytest.raises(NotFound):
        store.get_plan("nope")


def test_bulk_tag_is_versioned_and_audited(ws):
    store, groups = ws
    ids = groups["code"][:2]
    assert store.add_tag_many(ids, "review-queue", user=USER) == 2
    assert store.add_tag_many(ids, "review-queue", user=USER) == 0
    sample = store.get_sample(ids[0])
    assert sample["tags"] == ["review-queue"] and sample["version"] == 2
    assert json.loads(store.history(ids[0])[-1]["after"]) == ["review-queue"]


def test_export_with_scores_carries_map_and_labels(ws, tmp_path):
    store, _ = ws
    build_map(store, k=3, user=USER)
    refresh_labels(store, embed=fake_embed)
    report = export_samples(
        store, tmp_path / "out.jsonl", fmt="openai", user=USER, filters=SampleFilter(), with_scores=True
    )
    rows = [json.loads(line) for line in Path(report.path).read_text().splitlines()]
    assert len(rows) == 16
    names = store.get_map()["cluster_names"]
    for row in rows:
        assert row["cluster_name"] == names[row["cluster"]]
        assert isinstance(row["map_x"], float) and isinstance(row["map_y"], float)
        assert row["task_label"] in ("math", "code", "translation") and 0 < row["task_label_confidence"] <= 1


def test_language_is_a_filter_and_a_drill_down(ws, tmp_path):
    store, groups = ws
    assert store.count(SampleFilter(language="zh")) == 5 and store.count(SampleFilter(language="en")) == 11
    assert store.count(SampleFilter(language=UNKNOWN_LANGUAGE)) == 0
    store.set_status_many(groups["translation"][:2], "accepted", user=USER)
    assert store.count(balance.drill_filter(store, "language", "zh", accepted_only=True)) == 2
    # An edited sample is new content the heuristics scorer has not seen: its language is unknown until rescored.
    sid = groups["code"][0]
    sample = store.get_sample(sid)
    store.update_sample(sid, sample['version'], SampleEdit(messages=[*sample['messages'][:1], {'role': 'assistant', 'content': 'x'}]), user=USER)  # fmt: skip
    assert store.count(SampleFilter(language=UNKNOWN_LANGUAGE)) == 1 and store.count(SampleFilter(language="en")) == 10
    unknown = {r["value"]: r["all"] for r in balance.compare(store, "language")}[UNKNOWN_LANGUAGE]
    assert unknown == store.count(balance.drill_filter(store, "language", UNKNOWN_LANGUAGE))
    assert set(balance.DRILL_DIMENSIONS) <= set(BALANCE_DIMENSIONS)
    with pytest.raises(ValueError):
        balance.drill_filter(store, "ifd", "a easy <0.4")
    with Store(tmp_path / "bare.duckdb") as bare, pytest.raises(NotFound, match="heuristics"):
        bare.count(SampleFilter(language="en"))


def test_bulk_confirm_over_a_filter_keeps_labels_others_confirmed(ws):
    store, groups = ws
    refresh_labels(store, embed=fake_embed)
    zh = groups["translation"]
    store.update_sample(zh[0], 1, SampleEdit(task_label="rewrite"), user="ana")  # another annotator's decision
    store.update_sample(zh[1], 1, SampleEdit(task_label="translation"), user="ana")
    every_zh = SampleFilter(language="zh")

    preview = store.label_preview(every_zh, "translation")
    assert preview == {"matching": 5, "confirmed": 2, "already": 1, "confirmed_other": 1}
    assert store.confirm_task_label(every_zh, "translation", user=USER) == {"changed": 3, "kept_confirmed": 1}
    assert store.get_sample(zh[0])["task_label"] == "rewrite" and store.get_sample(zh[0])["version"] == 2
    assert store.get_sample(zh[1])["version"] == 2  # already confirmed as this label: no new version
    changed = store.get_sample(zh[2])
    assert (changed["task_label"], changed["task_label_source"], changed["version"]) == ("translation", "confirmed", 2)
    event = store.history(zh[2])[-1]
    assert (event["action"], event["field"], event["before"], event["after"], event["version"], event["user_name"]) == (
        "bulk", "task_label", "translation (suggested)", "translation", 2, USER,
    )  # fmt: skip

    # Overwriting is a choice, and it is audited with the label it replaced.
    assert store.confirm_task_label(every_zh, "translation", user=USER, overwrite_confirmed=True) == {
        "changed": 1,
        "kept_confirmed": 0,
    }
    assert store.get_sample(zh[0])["task_label"] == "translation"
    assert (store.history(zh[0])[-1]["before"], store.history(zh[0])[-1]["after"]) == ("rewrite", "translation")
    assert store.label_preview(every_zh, "translation")["already"] == 5

    # Any filter works, a score range included (the hard IFD bucket is the translation group).
    hard = SampleFilter(score_ranges={"ifd": (0.9, None)})
    assert store.confirm_task_label(hard, "reasoning", user=USER, overwrite_confirmed=True)["changed"] == 5
    assert store.count(SampleFilter(task_label="reasoning")) == 5
    # set_task_label_many (ids) now keeps others' confirmed labels by default too.
    assert store.set_task_label_many(zh, "math", user=USER) == 0
    assert store.set_task_label_many(zh, "math", user=USER, overwrite_confirmed=True) == 5
    with pytest.raises(WinnowError, match="choose a task label"):
        store.confirm_task_label(every_zh, "  ", user=USER)


def test_removing_confirmed_labels_is_versioned_and_leaves_suggestions(ws):
    store, groups = ws
    refresh_labels(store, embed=fake_embed)
    math = groups["math"]
    store.set_task_label_many(math[:3], "math", user=USER)
    assert store.clear_task_labels(SampleFilter(task_label="math"), user=USER) == 3
    cleared = store.get_sample(math[0])
    assert (cleared["task_label"], cleared["task_label_source"], cleared["version"]) == (None, None, 3)
    assert (store.history(math[0])[-1]["before"], store.history(math[0])[-1]["after"]) == ("math", None)
    assert store.get_sample(math[4])["task_label_source"] == "suggested"  # a suggestion is not a person's label
    assert store.count(SampleFilter(task_label=UNLABELED)) == 3

    # One sample, from Review: based on the version the annotator saw.
    sid = groups["code"][0]
    v = store.update_sample(sid, 1, SampleEdit(task_label="code"), user=USER)
    with pytest.raises(ConflictError):
        store.clear_task_label(sid, v - 1, user=USER)
    assert store.get_sample(sid)["task_label"] == "code"
    assert store.clear_task_label(sid, v, user=USER) == v + 1
    assert store.get_sample(sid)["task_label"] is None
    assert store.clear_task_label(sid, v + 1, user=USER) == v + 1  # nothing confirmed left: no change
    with pytest.raises(NotFound):
        store.clear_task_label("no-such-id", 1, user=USER)


def test_bulk_labelling_over_a_filter_is_for_leads(ws):
    store, _ = ws
    accounts.add_user(store, USER, "admin", "tess-password", by=USER)
    accounts.add_user(store, "ann", "annotator", "ann-password", by=USER)
    with pytest.raises(PermissionDenied):
        store.confirm_task_label(SampleFilter(language="zh"), "translation", user="ann")
    with pytest.raises(PermissionDenied):
        store.clear_task_labels(SampleFilter(language="zh"), user="ann")
    assert store.confirm_task_label(SampleFilter(language="zh"), "translation", user=USER)["changed"] == 5


def test_revision_moves_with_curation_and_scores_only(ws):
    store, groups = ws
    first = store.revision()
    assert store.revision() == first
    store.set_status_many(groups["math"][:1], "accepted", user=USER)
    second = store.revision()
    assert second != first
    refresh_labels(store, embed=fake_embed)  # suggestions are not versioned: the revision stays
    assert store.revision() == second
    store.write_scores("ifd", "fake-ifd", {"ifd": "DOUBLE"}, [(store.get_sample(groups["math"][0])["content_hash"], {"ifd": 0.1})])  # fmt: skip
    assert store.revision() != second


def test_point_values_and_hover_follow_the_drawn_points(ws):
    store, groups = ws
    sid = groups["code"][1]
    sample = store.get_sample(sid)
    store.update_sample(sid, 1, SampleEdit(messages=[{'role': 'user', 'content': 'Is <b>bold</b> & safe?'}, sample['messages'][1]]), user=USER)  # fmt: skip
    new_hash = store.get_sample(sid)["content_hash"]
    store.write_scores("embedding", "fake-embedder", {"embedding": "FLOAT[8]"}, [(new_hash, {"embedding": [0, 1, 0, 0, 0, 0, 0, 0]})])  # fmt: skip
    build_map(store, k=3, user=USER)

    full = map_view(store)
    ids = store.ids_of_rids(full["rid"])
    assert [h.split("<br>")[0] for h in full["hover"]] == ids
    assert full["hover"][ids.index(sid)] == f"{sid}<br>Is &lt;b&gt;bold&lt;/b&gt; &amp; safe?"  # shown as typed

    few = map_view(store, max_points=8)
    ids = store.ids_of_rids(few["rid"])
    assert len(ids) == 8 and list(few["rid"]) == sorted(few["rid"])
    store.set_status_many(ids[:3], "accepted", user=USER)
    assert list(workspace.point_values(store, few, "status")) == ["accepted"] * 3 + ["pending"] * 5
    ifd = {s: 0.3 for s in groups["math"]} | {s: 0.8 for s in groups["code"]} | {s: 0.95 for s in groups["translation"]}
    ifd[sid] = np.nan  # new content, not scored for IFD
    got = workspace.point_values(store, few, "ifd")
    assert got.tolist() == pytest.approx([ifd[s] for s in ids], nan_ok=True)
