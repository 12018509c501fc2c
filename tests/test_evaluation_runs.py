"""A whole evaluation (core/evaluation/plan.py, runner.py, report.py) on a real workspace with a tiny random Llama
built here over the bundled tokenizer: the plan, its checks, a planted task the candidate matches, stored runs, and
a rerun that trains only what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import build_causal_lm

from core.errors import Cancelled, NotFound, WinnowError
from core.evaluation.config import HOLDOUT, EvalFile, EvaluationConfig
from core.evaluation.holdout import copies_between
from core.evaluation.plan import plan_evaluation
from core.evaluation.report import compare_evaluations, json_summary
from core.evaluation.runner import run_evaluation
from core.evaluation.training import LoraSettings
from core.importing.workspace import import_file
from core.store import SampleFilter, Store
from core.training.chat_template import load_tokenizer

WORDS = ["apple", "river", "stone", "cloud", "lamp", "violin", "garden", "copper", "thunder", "maple"]


def sums(numbers):
    """The planted task: "add" questions, answered in one fixed shape."""
    return [
        {"instruction": f"Add {i} and {i + 7}.", "output": f"The sum of {i} and {i + 7} is {2 * i + 7}."}
        for i in numbers
    ]


def chatter(numbers):
    """Everything else in the pool: word lists of no use for the planted task."""
    return [
        {
            "instruction": f"List three words for topic {i}.",
            "output": " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)) + f" ({i})",
        }
        for i in numbers
    ]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def workspace(tmp_path):
    """40 "add" samples and 120 word lists; the selection "sums" holds the 40 add samples."""
    data = write_jsonl(tmp_path / "pool.jsonl", sums(range(40)) + chatter(range(120)))
    store = Store(tmp_path / "ws.duckdb")
    import_file(store, data, user="lead")
    rows = store.page(SampleFilter(), limit=1000).to_pylist()
    add_ids = [r["id"] for r in rows if str(r["prompt"]).startswith("Add ")]
    store.save_selection(
        "sums", recipe="steps: []", recipe_hash="x", log=[], members=[(i, 1) for i in add_ids], user="lead"
    )
    yield store
    store.close()


def config(tiny, **over):
    settings = dict(
        selection="sums",
        random_runs=2,
        holdout=0.1,
        model=tiny,
        lora=LoraSettings(learning_rate=5e-3, epochs=3, batch_size=8, max_length=96, seed=1),
        seed=0,
    )
    return EvaluationConfig(**(settings | over))


def test_the_plan_holds_out_first_and_no_training_subset_copies_the_eval_data(workspace, tiny, tmp_path):
    # a near copy of a pool sample, planted twice: the split keeps copies on one side
    write_jsonl(tmp_path / "more.jsonl", [{"instruction": "Add 3 and 10.", "output": "The sum of 3 and 10 is 13!"}])
    import_file(workspace, tmp_path / "more.jsonl", user="lead")
    plan = plan_evaluation(workspace, config(tiny))
    held = [item["id"] for item in plan.plan[HOLDOUT]]
    assert 10 <= len(held) <= 20
    kinds = [r["kind"] for r in plan.runs]
    assert kinds == ["selection", "random", "random", "base"]
    sizes = {len(r["train_ids"]) for r in plan.runs if r["kind"] != "base"}
    assert len(sizes) == 1 and sizes.pop() == plan.plan["candidate"]["train_samples"]
    assert plan.runs[1]["train_ids"] != plan.runs[2]["train_ids"]  # two seeds, two draws
    arrays = workspace.sample_arrays(["id", "prompt", "answer"])
    text = {i: f"{p}\n{a}" for i, p, a in zip(arrays["id"], arrays["prompt"], arrays["answer"], strict=True)}
    for run in plan.runs:
        assert not set(run["train_ids"]) & set(held)
        assert copies_between([text[i] for i in run["train_ids"]], [text[i] for i in held]) == []
    again = plan_evaluation(workspace, config(tiny))
    assert again.runs == plan.runs and again.plan == plan.plan  # one seed, one plan


def test_bad_requests_get_clear_messages(workspace, tiny, tmp_path):
    with pytest.raises(NotFound, match="no selection named 'nope'"):
        plan_evaluation(workspace, config(tiny, selection="nope"))
    few = [r["id"] for r in workspace.page(SampleFilter(), limit=5).to_pylist()]
    workspace.save_selection(
        "few", recipe="steps: []", recipe_hash="y", log=[], members=[(i, 1) for i in few], user="lead"
    )
    with pytest.raises(WinnowError, match=r"selection 'few' has \d samples outside the held-out split .* at least 8"):
        plan_evaluation(workspace, config(tiny, selection="few"))
    everything = [r["id"] for r in workspace.page(SampleFilter(), limit=1000).to_pylist()]
    workspace.save_selection(
        "all", recipe="steps: []", recipe_hash="z", log=[], members=[(i, 1) for i in everything], user="lead"
    )
    with pytest.raises(WinnowError, match="random subsets of the same size would be the same data"):
        plan_evaluation(workspace, config(tiny, selection="all"))
    # an eval file holding copies of training samples: say how many
    leak = write_jsonl(tmp_path / "leak.jsonl", sums(range(30, 40)) + sums(range(500, 505)))
    with pytest.raises(
        WinnowError, match=r"\d+ samples of selection 'sums' overlap the eval file leak.jsonl: sample \S+ is"
    ):
        plan_evaluation(workspace, config(tiny, eval_files=(EvalFile(str(leak)),)))
    # an eval file with no assistant turn
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(WinnowError, match=r"bare.jsonl.*line 1"):
        plan_evaluation(workspace, config(tiny, eval_files=(EvalFile(str(bare)),)))


def test_a_model_without_a_chat_template_is_refused(workspace, tiny, tmp_path, cpu_settings):
    from transformers import AutoTokenizer

    from core.errors import ModelUnavailable

    plain = tmp_path / "plain"
    build_causal_lm(plain, AutoTokenizer.from_pretrained(tiny))
    tokenizer_config = json.loads((plain / "tokenizer_config.json").read_text())
    tokenizer_config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    for extra in plain.glob("chat_template.*"):
        extra.unlink()
    with pytest.raises(ModelUnavailable, match="has no chat template"):
        run_evaluation(workspace, "plain", config(str(plain)), user="lead", settings=cpu_settings)


def test_the_candidate_matched_to_the_eval_data_beats_random_subsets(workspace, tiny, tmp_path, cpu_settings):
    # the eval file asks the planted task, on numbers no sample has
    test_file = write_jsonl(
        tmp_path / "add_test.jsonl",
        [{"question": r["instruction"], "answer": r["output"]} for r in sums(range(300, 316))],
    )
    files = (EvalFile(str(test_file), "prompt=question,response=answer"),)
    done = run_evaluation(
        workspace, "planted", config(tiny, eval_files=files, answers=2), user="lead", settings=cpu_settings
    )
    assert done["trained"] == ["selection", "random-1", "random-2", "base"] and done["kept"] == []
    report = done["report"]
    assert report["complete"]
    comparison = report["comparison"]["add_test.jsonl"]
    assert comparison["difference"] < 0 and comparison["difference_95"][1] < 0, comparison
    assert comparison["verdict"] == "better"
    assert comparison["base"] > comparison["candidate"]
    by_kind = {r["run"]: r for r in report["runs"]}
    assert by_kind["selection"]["train_samples"] == by_kind["random-1"]["train_samples"] > 8
    assert by_kind["base"]["train_samples"] == 0 and by_kind["base"]["curve"] == []
    assert len(by_kind["selection"]["curve"]) > 3
    for run in report["runs"]:
        assert set(run["eval_loss"]) == {HOLDOUT, "add_test.jsonl"}
    assert report["answers"]["add_test.jsonl"][0]["prompt"] == "Add 300 and 307."
    assert set(report["answers"]["add_test.jsonl"][0]) >= {"item", "reference", "selection", "random-1", "base"}
    groups = report["groups"]["source"]
    assert groups[0]["group"] == "pool.jsonl" and groups[0]["items"] == report["plan"]["holdout_items"]
    summary = json_summary(report)
    assert [r["kind"] for r in summary["runs"]] == ["selection", "random", "random", "base"]
    assert summary["runs"][1]["seed"] == 1 and summary["runs"][0]["seed"] is None
    assert json.loads(json.dumps(summary)) == summary
    # an export of the selection names the evaluation in its manifest
    from core.export import export_samples

    exported = export_samples(
        workspace, tmp_path / "sums.jsonl", fmt="alpaca", user="lead", filters=SampleFilter(selection="sums")
    )
    named = json.loads(Path(exported.manifest_path).read_text())["evaluations"]
    assert [e["name"] for e in named] == ["planted"] and named[0]["complete"] and named[0]["same_members"]
    assert named[0]["comparison"]["add_test.jsonl"]["verdict"] == "better"
    # the adapter is a model folder of its own
    from core.models.language import load_causal_lm

    model, _, info = load_causal_lm(by_kind["selection"]["adapter_dir"], device="cpu", dtype="fp32")
    assert info.source == "path" and model is not None


def test_a_cancelled_evaluation_keeps_its_finished_runs_and_a_rerun_trains_only_the_rest(workspace, tiny, cpu_settings):
    short = LoraSettings(learning_rate=5e-3, max_steps=4, batch_size=8, max_length=96, seed=1)
    seen = []

    def stop_in_the_second_run(done, total, message=""):
        seen.append((done, total, message))
        if message.startswith("run 2 of 4") and "step" in message:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        run_evaluation(
            workspace,
            "halted",
            config(tiny, lora=short),
            user="lead",
            settings=cpu_settings,
            progress=stop_in_the_second_run,
        )
    runs = workspace.evaluation_runs("halted")
    assert [r["status"] for r in runs] == ["done", "planned", "planned", "planned"]
    # progress: runs at each run's start and end, training steps while a run trains
    assert (0, 4, "run 1 of 4 (selection): starting") in seen and (1, 4, "run 1 of 4 (selection): done") in seen
    steps = [(d, t, m) for d, t, m in seen if m.startswith("run 1 of 4 (selection): step")]
    assert [(d, t) for d, t, _ in steps] == [(k, 4) for k in range(1, 5)] and "loss" in steps[0][2]
    first = runs[0]
    again = run_evaluation(workspace, "halted", None, user="lead", settings=cpu_settings)
    assert again["kept"] == ["selection"] and again["trained"] == ["random-1", "random-2", "base"]
    assert workspace.evaluation_runs("halted")[0]["finished_at"] == first["finished_at"]
    with pytest.raises(WinnowError, match="exists with another configuration"):
        run_evaluation(workspace, "halted", config(tiny, lora=short, seed=5), user="lead", settings=cpu_settings)
    # one seed, one result: the same configuration under another name gives the same losses
    same = run_evaluation(workspace, "halted again", config(tiny, lora=short), user="lead", settings=cpu_settings)
    assert [r["eval_loss"] for r in same["report"]["runs"]] == [r["eval_loss"] for r in again["report"]["runs"]]
    side_by_side = compare_evaluations(workspace, ["halted", "halted again"])
    assert [r["evaluation"] for r in side_by_side] == ["halted", "halted again"]
    assert [r | {"evaluation": None} for r in side_by_side[:1]] == [r | {"evaluation": None} for r in side_by_side[1:]]


def test_copies_of_eval_items_stay_out_of_every_random_subset(workspace, tiny, tmp_path):
    # an eval file that copies ten word-list samples (which the selection does not hold) and one with a tiny typo
    copied = chatter(range(10))
    copied[0]["output"] = copied[0]["output"].replace("(0)", "(0).")
    test_file = write_jsonl(tmp_path / "words_test.jsonl", copied)
    # refused unless the lead goes on, naming how many samples overlap and one of them
    with pytest.raises(
        WinnowError, match=r"the training pool overlaps the eval data: \d+ samples overlap the eval file words_test"
    ):
        plan_evaluation(workspace, config(tiny, eval_files=(EvalFile(str(test_file)),)))
    plan = plan_evaluation(workspace, config(tiny, eval_files=(EvalFile(str(test_file)),), eval_overlap_ok=True))
    arrays = workspace.sample_arrays(["id", "prompt"])
    copies = {i for i, p in zip(arrays["id"], arrays["prompt"], strict=True) if p in {r["instruction"] for r in copied}}
    held = {item["id"] for item in plan.plan[HOLDOUT]}
    assert plan.plan["eval_copies_left_out"] == len(copies - held) > 0
    for run in plan.runs:
        assert not set(run["train_ids"]) & copies


def test_items_a_run_could_not_score_are_caught_before_any_training(workspace, tmp_path):
    tokenizer, _ = load_tokenizer("")
    long = write_jsonl(tmp_path / "long.jsonl", [{"instruction": "word " * 200, "output": "ok"}])
    short = LoraSettings(max_length=32)
    with pytest.raises(WinnowError, match=r"the eval file long.jsonl, record 1: its prompt fills all 32 tokens"):
        plan_evaluation(workspace, config("", lora=short, eval_files=(EvalFile(str(long)),)), tokenizer=tokenizer)
    # held-out samples that leave no answer token within max length are left out of the split, and counted
    import_file(
        workspace, write_jsonl(tmp_path / "longer.jsonl", [{"instruction": "word " * 300, "output": "ok"}]), user="lead"
    )
    seed = next(  # a seed whose split holds the long sample
        k
        for k in range(50)
        if any(
            it["prompt"][-1]["content"].startswith("word word")
            for it in plan_evaluation(workspace, config("", holdout=0.3, seed=k)).plan[HOLDOUT]
        )
    )
    full = plan_evaluation(
        workspace, config("", holdout=0.3, seed=seed, lora=LoraSettings(max_length=1024)), tokenizer=tokenizer
    )
    cut = plan_evaluation(
        workspace, config("", holdout=0.3, seed=seed, lora=LoraSettings(max_length=128)), tokenizer=tokenizer
    )
    assert full.plan["holdout_unscorable"] == 0 and cut.plan["holdout_unscorable"] == 1
    assert [it for it in full.plan[HOLDOUT] if not it["prompt"][-1]["content"].startswith("word word")] == cut.plan[
        HOLDOUT
    ]


def test_a_resume_refuses_changed_eval_files_and_edited_samples(workspace, tiny, tmp_path, cpu_settings):
    from core.evaluation.runner import _only_one, start_or_resume
    from core.store import SampleEdit

    test_file = write_jsonl(tmp_path / "t.jsonl", sums(range(400, 404)))
    planned = config(tiny, eval_files=(EvalFile(str(test_file)),))
    start_or_resume(workspace, "e", planned, user="lead")  # planned, nothing trained
    write_jsonl(test_file, sums(range(400, 405)))
    with pytest.raises(WinnowError, match=r"the eval file .*t.jsonl changed since evaluation 'e' began"):
        run_evaluation(workspace, "e", None, user="lead", settings=cpu_settings)
    start_or_resume(workspace, "f", config(tiny), user="lead")
    member = workspace.evaluation_runs("f")[0]["train_ids"][0]
    sample = workspace.get_sample(member)
    edited = [*sample["messages"][:-1], {"role": "assistant", "content": "Something else entirely."}]
    workspace.update_sample(member, sample["version"], SampleEdit(messages=edited), user="lead")
    with pytest.raises(WinnowError, match="run selection: some of its samples were edited since the evaluation"):
        run_evaluation(workspace, "f", None, user="lead", settings=cpu_settings)
    assert [r["status"] for r in workspace.evaluation_runs("f")] == ["planned"] * 4
    with _only_one(workspace, "f"), pytest.raises(WinnowError, match="evaluation 'f' is already running"):
        run_evaluation(workspace, "f", None, user="lead", settings=cpu_settings)
