"""The map, task labels and balance over a real workspace: stored maps keyed by embeddings, labels versioned and
audited, GROUP BY aggregates with known counts, plans, and the export's map and label columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from map_workspace import build, fake_embed

from core import balance, mixture
from core.errors import NotFound, TaxonomyError
from core.export import export_samples
from core.labels import edit_taxonomy, refresh_labels, workspace_taxonomy
from core.store import SampleFilter, Store
from core.workspace_map import build_map, map_view

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
        sid, sample["version"], user=USER, messages=[*sample["messages"][:1], {"role": "assistant", "content": "new"}]
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
    assert report == {"suggested": 16, "confirmed": 0, "source": "zero-shot"}
    labels = dict(zip(*store.sample_arrays(["id", "task_label"]).values(), strict=True))
    assert {labels[s] for s in groups["math"]} == {"math"}
    assert {labels[s] for s in groups["translation"]} == {"translation"}
    assert store.get_sample(groups["math"][0])["task_label_source"] == "suggested"
    assert store.history(groups["math"][0]) == [] and store.get_sample(groups["math"][0])["version"] == 1

    # A person confirms a label in Review: a new version and an audit event.
    sid = groups["code"][0]
    before = store.get_sample(sid)
    v = store.update_sample(sid, before["version"], user=USER, task_label="reasoning", action="review")
    after = store.get_sample(sid)
    assert v == before["version"] + 1
    assert (after["task_label"], after["task_label_source"], after["task_label_confidence"]) == (
        "reasoning",
        "confirmed",
        1.0,
    )
    event = store.history(sid)[-1]
    assert (event["field"], event["before"], event["after"]) == ("task_label", "code (suggested)", "reasoning")
    assert store.update_sample(sid, v, user=USER, task_label="reasoning") == v  # the same label is no change

    # Bulk confirmation, then suggestions again: confirmed labels stay, the classifier takes over.
    assert store.set_task_label_many(groups["math"][:2], "math", user=USER) == 2
    assert store.history(groups["math"][0])[-1]["after"] == "math"
    assert refresh_labels(store, embed=fake_embed)["source"] == "classifier"
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
