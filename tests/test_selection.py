"""Selections on a real workspace: the demo data, real heuristics and the bundled embedder (no IFD: too slow on CPU).

Recipes must be reproducible to the byte: the same recipe on the same data saves the same ids in the same order,
and their exports are identical files.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scored_demo import USER, copy_workspace, scored_demo_db
from test_cli import run_cli

from core.demo import load_demo
from core.errors import NotFound, RecipeError
from core.selection import mixture
from core.selection.presets import preset_recipe
from core.selection.recipe import parse_recipe, recipe_hash
from core.selection.workspace import export_selection, label_shares, run_selection, stage_path
from core.store import SampleFilter, Store

RECIPE = """
name: cover
steps:
  - filter: {status: any, false: [h_answer_empty]}
  - dedup: {exact: true, near_threshold: 0.95}
  - stratified: {column: h_answer_chars, budget: 150, n_bins: 5, seed: 3}
  - k_center: {budget: 60, seed: 1}
"""


@pytest.fixture(scope="session")
def scored_db(tmp_path_factory):
    return scored_demo_db(tmp_path_factory)


@pytest.fixture
def store(scored_db, tmp_path):
    with Store(copy_workspace(scored_db, tmp_path / "ws.duckdb")) as s:
        yield s


# --- the store side ------------------------------------------------------------------------------------------------


def test_selections_are_saved_replaced_paged_and_deleted(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        load_demo(s, user=USER)
        ids = s.sample_arrays(["id"])["id"]
        members = [(ids[5], 1), (ids[2], 1), (ids[9], 2), (ids[5], 2)]  # a sample may be in two stages (replay)
        saved = s.save_selection(
            "x", recipe="steps: []", recipe_hash="h", log=[{"step": 1}], members=members, user=USER
        )
        assert saved["samples"] == 4 and saved["stages"] == 2
        assert s.selection_ids("x") == [ids[5], ids[2], ids[9], ids[5]]
        assert s.selection_ids("x", stage=2) == [ids[9], ids[5]]
        assert s.selection_ids("x", offset=1, limit=2) == [ids[2], ids[9]]
        assert s.count(SampleFilter(selection="x")) == 3
        assert s.count(SampleFilter(selection="x", stage=1)) == 2
        assert s.get_selection("x")["log"] == [{"step": 1}]

        s.save_selection("x", recipe="r2", recipe_hash="h2", log=[], members=[(ids[0], 1)], user=USER)
        assert [(x["name"], x["samples"]) for x in s.selections()] == [("x", 1)]
        assert s.selection_ids("x") == [ids[0]]
        assert s.delete_selection("x", user="u") and not s.delete_selection("x", user="u")
        assert s.selections() == [] and s.count(SampleFilter(selection="x")) == 0
        with pytest.raises(NotFound):
            s.get_selection("x")


def test_a_missing_input_names_the_scorer_to_run(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        load_demo(s, user=USER)
        with pytest.raises(RecipeError, match=r"step 1 \(k_center\).*'embedding'.*embedding scorer"):
            run_selection(s, "steps: [{k_center: {budget: 5}}]", name="k", user=USER)
        with pytest.raises(RecipeError, match=r"step 1 \(filter\).*'h_refusal'.*heuristics scorer"):
            run_selection(s, "steps: [{filter: {false: [h_refusal]}}]", name="f", user=USER)
        assert s.selections() == []


# --- recipes on the scored demo ------------------------------------------------------------------------------------


@pytest.mark.model
def test_same_recipe_same_selection_and_byte_identical_exports(store, tmp_path):
    first = run_selection(store, RECIPE, name="one", user=USER)
    second = run_selection(store, parse_recipe(RECIPE), name="two", user=USER)
    assert len(first.ids) == 60 and first.ids == second.ids
    assert first.recipe_hash == second.recipe_hash == recipe_hash(parse_recipe(RECIPE))
    assert store.selection_ids("one") == first.ids

    (a,) = export_selection(store, tmp_path / "a" / "sel.jsonl", name="one", fmt="openai", user=USER)
    (b,) = export_selection(store, tmp_path / "b" / "sel.jsonl", name="two", fmt="openai", user=USER)
    assert a.records == 60 and a.sha256 == b.sha256
    assert (tmp_path / "a" / "sel.jsonl").read_bytes() == (tmp_path / "b" / "sel.jsonl").read_bytes()
    manifest = json.loads((tmp_path / "a" / "sel.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert manifest["selection"]["recipe_hash"] == first.recipe_hash
    assert parse_recipe(manifest["selection"]["recipe"]) == parse_recipe(RECIPE)
    assert set(manifest["scorers"]) == {"heuristics", "embedding"}
    assert "by_task_label" not in manifest  # the demo has no task labels


@pytest.mark.model
def test_default_dedup_removes_exactly_the_planted_duplicates_and_says_of_what(store):
    """data/demo/README.md plants three exact and four near duplicates (one of them Chinese); the default dedup (exact
    and text) removes each "repeat" and names its "first" as the sample kept; the Select page shows these pairs."""
    planted = {  # (file, record from 1) of the repeat -> of the first, as the README lists them
        ("general_alpaca.json", 127): ("general_alpaca.json", 79),
        ("math_code_openai.jsonl", 54): ("general_alpaca.json", 30),
        ("qa_mapped.csv", 10): ("chats_sharegpt.jsonl", 53),
        ("general_alpaca.json", 148): ("general_alpaca.json", 44),
        ("general_alpaca.json", 43): ("general_alpaca.json", 24),
        ("chats_sharegpt.jsonl", 40): ("chats_sharegpt.jsonl", 27),
        ("math_code_openai.jsonl", 53): ("math_code_openai.jsonl", 24),
    }
    arrays = store.sample_arrays(["id", "source"])  # in import order: each file's records in turn
    seen, where = Counter(), {}
    for sid, src in zip(arrays["id"], arrays["source"], strict=True):
        seen[src] += 1
        where[sid] = (src, seen[src])
    result = run_selection(store, "steps: [dedup]", name="dedup", user=USER)
    report = result.log[0]["duplicates"]
    got = {where[removed]: where[kept] for removed, kept, _, _ in report["pairs"]}
    assert got == planted and report["removed"] == 7 == result.total - len(result.ids)
    assert {how for _, _, how, _ in report["pairs"]} == {"exact", "text"}
    assert store.get_selection("dedup")["log"][0]["duplicates"] == json.loads(json.dumps(report))

    by_embedding = run_selection(store, "steps: [{dedup: {near_threshold: auto}}]", name="emb", user=USER)
    from core.similarity import calibrated_threshold

    assert by_embedding.log[0]["near_threshold"] == calibrated_threshold(
        "bundled:use-multilingual-v3", "near_duplicate"
    )


@pytest.mark.model
def test_the_funnel_counts_each_step(store):
    result = run_selection(store, RECIPE, name="cover", user=USER)
    log = result.log
    assert [e["name"] for e in log] == ["filter", "dedup", "stratified", "k_center"]
    assert log[0]["in"] == result.total == store.count()
    assert all(log[i]["out"] == log[i + 1]["in"] for i in range(len(log) - 1))
    assert log[-1]["out"] == len(result.ids) == store.count(SampleFilter(selection="cover"))
    # the filter step against the same rule computed here
    empty = store.sample_arrays(["h_answer_empty"])["h_answer_empty"]
    assert log[0]["out"] == int(np.sum(empty == 0.0))
    assert log[0]["out"] > log[1]["out"] > log[2]["out"] == 150
    assert store.get_selection("cover")["log"] == json.loads(json.dumps(log))

    shares = label_shares(store, "cover")
    assert set(shares) == {"source", "h_prompt_lang"}
    assert sum(r["before"] for r in shares["source"]) == store.count()
    assert sum(r["after"] for r in shares["source"]) == 60
    assert sum(r["share_after"] for r in shares["h_prompt_lang"]) == pytest.approx(1.0)


@pytest.mark.model
def test_a_staged_plan_makes_one_file_per_stage(store, tmp_path):
    def rows(planned):
        return tuple(mixture.LabelPlan(label, 100, n, n) for label, n in planned.items())

    # task labels as the Balance page's labeller would suggest them: here, from the file a sample came from
    data = store.sample_arrays(["id", "source"])
    task = ["math" if src.startswith("math") else "general" for src in data["source"]]
    store.set_suggested_labels(data["id"], task, [1.0] * len(task))
    math, general = "math", "general"
    dmt = mixture.StagedPlan(
        (
            mixture.Plan("samples", rows({math: 20}), name="stage 1: specialist"),
            mixture.Plan("samples", rows({general: 30, math: 2}), name="stage 2: general + replay"),
        ),
        preset="dmt",
    )

    store.save_plan("dmt", mixture.to_json(dmt), user=USER)
    recipe = "steps:\n  - filter: {status: any, false: [h_answer_empty]}\n  - mixture: {plan: dmt}\n"
    result = run_selection(store, recipe, name="dmt", user=USER)
    assert result.n_stages == 2 and result.stages.count(1) == 20 and result.stages.count(2) == 32
    assert [s["out"] for s in result.log[-1]["stages"]] == [20, 32]

    reports = export_selection(store, tmp_path / "out" / "dmt.jsonl", name="dmt", fmt="openai", user=USER)
    assert [r.path for r in reports] == [str(stage_path(tmp_path / "out" / "dmt.jsonl", k)) for k in (1, 2)]
    assert reports[0].path.endswith("dmt.stage1.jsonl") and not (tmp_path / "out" / "dmt.jsonl").exists()
    assert [r.records for r in reports] == [20, 32]
    manifests = [json.loads(Path(r.manifest_path).read_text(encoding="utf-8")) for r in reports]
    assert [m["by_task_label"] for m in manifests] == [{"math": 20}, {"general": 30, "math": 2}]
    assert [m["selection"]["stage"] for m in manifests] == [1, 2]
    assert [r["label"] for r in label_shares(store, "dmt")["task_label"]] == ["general", "math"]
    # the replay in stage 2 is the first two specialist samples of stage 1
    stage1 = store.selection_ids("dmt", stage=1)
    stage2 = store.selection_ids("dmt", stage=2)
    assert [i for i in stage2 if i in set(stage1)] == stage1[:2]
    with pytest.raises(RecipeError, match="last step"):
        run_selection(store, "steps: [{mixture: {by: source, plan: dmt}}, {dedup: {}}]", name="bad", user=USER)
    with pytest.raises(RecipeError, match="no saved plan named 'nope'"):
        run_selection(store, "steps: [{mixture: {by: source, plan: nope}}]", name="bad", user=USER)


@pytest.mark.model
def test_cli_select_then_export_the_selection(scored_db, tmp_path):
    db = copy_workspace(scored_db, tmp_path / "ws.duckdb")
    out = run_cli("select", "--db", db, "--preset", "fit", "--name", "fit")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("selection 'fit': ")
    assert lines[2].split()[1:] == ["filter", "342", lines[2].split()[-1]]
    kept = int(lines[-1].split()[-1])

    exp = run_cli("export", "--db", db, "--out", tmp_path / "fit.jsonl", "--format", "sharegpt", "--selection", "fit")
    assert exp.returncode == 0, exp.stderr
    assert len((tmp_path / "fit.jsonl").read_text(encoding="utf-8").splitlines()) == kept
    manifest = json.loads((tmp_path / "fit.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert manifest["selection"]["name"] == "fit" and manifest["records"] == kept
    assert manifest["selection"]["recipe_hash"] == recipe_hash(preset_recipe("fit"))

    recipe = tmp_path / "bad.yaml"
    recipe.write_text("steps:\n  - k_centre: {budget: 10}\n", encoding="utf-8")
    bad = run_cli("select", "--db", db, "--recipe", recipe, "--name", "x")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "did you mean 'k_center'" in bad.stderr
    missing = run_cli("select", "--db", db, "--preset", "align", "--name", "a")
    assert missing.returncode == 2 and "ifd scorer" in missing.stderr


# --- MoDS necessity on a workspace ---------------------------------------------------------------------------------


def write_known_scores(store: Store, name: str, columns: dict[str, str], value) -> None:
    """Results for every content, as a scorer run would store them: ``value(content_hash)`` is the row."""
    hashes = sorted(set(store.sample_arrays(["content_hash"])["content_hash"]))
    store.ensure_scorer(name, f"{name}/v1/known", columns, {"model": "known"})
    store.write_scores(name, f"{name}/v1/known", columns, [(h, value(h)) for h in hashes])


def test_mods_necessity_adds_to_a_saved_seed(tmp_path):
    from core.scoring.necessity import COLUMNS

    with Store(tmp_path / "ws.duckdb") as s:
        load_demo(s, user=USER)
        # rewards in [-5, 5) from each content hash: fixed, and shared by duplicates as real scores are
        write_known_scores(s, "reward", {"reward": "DOUBLE"}, lambda h: {"reward": int(h[:6], 16) % 1000 / 100 - 5})
        write_known_scores(s, "necessity", COLUMNS, lambda h: {"necessity_reward": int(h[6:12], 16) % 1000 / 100 - 5})
        data = s.sample_arrays(["id", "reward", "necessity_reward"])
        ids, reward, necessity = data["id"], data["reward"], data["necessity_reward"]
        quality = [i for i in range(len(ids)) if reward[i] > 0]
        seed = [quality[7], quality[2], quality[30]]
        s.save_selection("seed", recipe="", recipe_hash="", log=[], members=[(ids[i], 1) for i in seed], user=USER)

        recipe = "steps: [mods_quality, {mods_necessity: {seed_selection: seed, threshold: -2.5}}]"
        result = run_selection(s, recipe, name="mods", user=USER)
        added = sorted((necessity[i], i) for i in quality if i not in seed and necessity[i] < -2.5)
        assert result.ids == [ids[i] for i in seed] + [ids[i] for _, i in added]
        assert 0 < len(added) < len(quality) - 3
        assert [e["out"] for e in result.log] == [len(quality), 3 + len(added)]
        # the log (and so every export's manifest) says what the seed held when it was used
        seed_ids = [ids[i] for i in seed]
        assert result.log[1]["seed"] == {
            "name": "seed",
            "recipe_hash": "",
            "samples": 3,
            "members_sha256": hashlib.sha256("\n".join(seed_ids).encode()).hexdigest(),
        }
        assert s.get_selection("mods")["log"][1]["seed"]["samples"] == 3

        with pytest.raises(RecipeError, match=r"step 2 \(mods_necessity\).*no saved selection named 'tuned'"):
            run_selection(s, recipe.replace("seed,", "tuned,"), name="x", user=USER)


def test_mods_necessity_without_necessity_scores_names_the_scorer_and_the_model(tmp_path):
    with Store(tmp_path / "ws.duckdb") as s:
        load_demo(s, user=USER)
        with pytest.raises(RecipeError, match=r"step 1 \(mods_necessity\).*necessity scorer.*--necessity-model"):
            run_selection(s, "steps: [mods_necessity]", name="x", user=USER)
