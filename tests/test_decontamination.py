"""Decontamination: eval items planted in real training data are found (verbatim, with whitespace and case changed,
inside a longer prompt, with one number changed), unrelated data is not flagged, and the findings reach the
selection step, the presets and the CLI."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from test_cli import run_cli, write_jsonl

from core.decontamination.index import EvalIndex, EvalItem
from core.decontamination.tokens import Vocabulary, window_hashes
from core.decontamination.workspace import add_eval_set_file
from core.errors import FormatError, RecipeError, WinnowError
from core.evaluation.eval_files import item_texts, read_eval_file
from core.importing.workspace import import_file
from core.scoring.runner import run_scorers
from core.selection.engine import run_recipe
from core.selection.recipe import parse_recipe
from core.selection.workspace import run_selection, workspace_preset
from core.settings import PROJECT_ROOT
from core.store import NO_VALUE, SampleFilter, Store

TEST_FILE = Path(__file__).parent / "data" / "decontam" / "math_test.jsonl"  # our own GSM8K-style items
DEMO = PROJECT_ROOT / "data" / "demo"
MAPPING = "prompt=question,response=answer"


def eval_items() -> list[dict]:
    return [json.loads(line) for line in TEST_FILE.read_text(encoding="utf-8").splitlines()]


def change_one_number(text: str) -> str:
    number = re.search(r"\d+", text)
    if number is None:  # a Chinese item: its numbers are written in characters
        number = re.search("[一二三四五六七八九]", text)
        return (
            text[: number.start()]
            + "五六七八九一二三四"[int("一二三四五六七八九".index(number.group()))]
            + text[number.end() :]
        )
    return text[: number.start()] + str(int(number.group()) + 1) + text[number.end() :]


def planted(items: list[dict]) -> list[tuple[str, int, dict]]:
    """(how, eval item from 1, an Alpaca record) for each of the 15 checkable items, four ways each."""
    out = []
    for k, it in enumerate(items[:15], start=1):
        q, a = it["question"], it["answer"]
        out.append(("verbatim", k, {"instruction": q, "input": "", "output": a}))
        shouted = "   ".join(q.upper().split()).replace(".", " .")
        out.append(("whitespace and case", k, {"instruction": shouted, "input": "", "output": a.lower()}))
        out.append(
            (
                "inside a longer prompt",
                k,
                {
                    "instruction": "You are a patient maths tutor. Read the problem below, explain every step to a "
                    f"ten-year-old, and end with the number alone.\n\nProblem: {q}\n\nTake your time.",
                    "input": "",
                    "output": "Let us work it out together, one step at a time.",
                },
            )
        )
        out.append(("one number changed", k, {"instruction": change_one_number(q), "input": "", "output": "Done."}))
    return out


@pytest.fixture
def workspace(tmp_path):
    """The demo data (real, unrelated to the eval items) and the planted copies, with the eval set registered."""
    store = Store(tmp_path / "ws.duckdb")
    for name in ("general_alpaca.json", "math_code_openai.jsonl", "chats_sharegpt.jsonl", "qa_mapped.csv"):
        import_file(store, DEMO / name, user="lead", mapping=MAPPING if name.endswith(".csv") else None)
    plants = planted(eval_items())
    path = tmp_path / "planted.json"
    path.write_text(json.dumps([r for _, _, r in plants], ensure_ascii=False), encoding="utf-8")
    import_file(store, path, user="lead")
    add_eval_set_file(store, TEST_FILE, name="math", mapping=MAPPING, user="lead")
    yield store, plants
    store.close()


def findings(store: Store) -> dict[tuple[str, int], dict]:
    """Per (source file, record from 1): the decontam row of every sample."""
    rows = (
        store.cursor()
        .execute(
            "SELECT src.name, s.source_index, d.contaminated, d.contamination_item, d.contamination_overlap, "
            "d.contamination_method, d.contamination_ngram FROM samples s JOIN sources src USING (source_id) "
            "JOIN score_decontam d ON d.content_hash = s.content_hash"
        )
        .fetchall()
    )
    keys = ("contaminated", "item", "overlap", "method", "ngram")
    return {(r[0], r[1] + 1): dict(zip(keys, r[2:])) for r in rows}


def test_planted_items_are_found_every_way_and_the_unrelated_data_is_clean(workspace):
    store, plants = workspace
    (report,) = run_scorers(store, ["decontam"], user="lead")
    found = findings(store)
    assert len(found) == store.count() > 300 and report.scored > 300  # every sample (a content is checked once)
    recall: dict[str, list[bool]] = {}
    for record, (how, item, _) in enumerate(plants, start=1):
        row = found[("planted.json", record)]
        recall.setdefault(how, []).append(bool(row["contaminated"]) and row["item"] == item)
    assert {how: sum(hits) / len(hits) for how, hits in recall.items()} == {
        "verbatim": 1.0,
        "whitespace and case": 1.0,
        "inside a longer prompt": 1.0,
        "one number changed": 1.0,
    }
    false_positives = [k for k, row in found.items() if k[0] != "planted.json" and row["contaminated"]]
    assert false_positives == []
    clean = [row for k, row in found.items() if k[0] != "planted.json"]
    assert all(row["overlap"] == 0.0 and row["item"] is None for row in clean)
    verbatim = found[("planted.json", 1)]
    assert verbatim["method"] == "ngram" and verbatim["overlap"] == 1.0
    assert verbatim["ngram"] in " ".join(re.findall(r"\w+", eval_items()[0]["question"].lower()))
    # Browse's filter on the flag and on its eval set
    assert store.count(SampleFilter(score_values={"contaminated": ["true"]})) == len(plants)
    assert store.count(SampleFilter(score_values={"contamination_eval_set": ["math", NO_VALUE]})) == store.count()
    assert (
        store.score_choices("contaminated") == ["false", "true"] and store.score_choices("contamination_ngram") is None
    )
    assert dict(store.distribution("contamination")) == {"in math": len(plants), "clean": store.count() - len(plants)}
    summary = store.contamination()
    assert summary["by_set"] == [{"eval_set": "math", "samples": len(plants), "items": 15}]
    assert summary["checked"] == summary["samples"]


def test_chinese_items_are_matched_character_by_character():
    question = "小华每天跑步三公里，一个星期跑七天。请问小华四个星期一共跑了多少公里？"
    index = EvalIndex([EvalItem("zh", 1, question, "一个星期跑 21 公里，四个星期跑 84 公里。")])
    texts = [
        "老师出了一道题："
        + question.replace("，", ",").replace("。", ". ")
        + "请写出过程。",  # inside, other punctuation
        "小华每天跑步五公里，一个星期跑七天。请问小华四个星期一共跑了多少公里？",  # one number changed
        "请介绍一下北京的历史和文化，以及它作为首都的地位。",  # unrelated
        "Xiao Hua runs three kilometres a day.",  # the same story in English is not a copy
    ]
    matches = index.check(texts, texts)
    assert [m is not None for m in matches] == [True, True, False, False]
    assert (matches[0].item, matches[1].item) == (1, 1) and matches[1].overlap >= 0.7
    ngrams_only = EvalIndex(index.items, threshold=None)  # its runs of 13 characters alone find it too
    assert [(m.item, m.method) for m in ngrams_only.check(texts[:1])] == [(1, "ngram")]


def test_short_items_are_not_checked_and_common_phrases_do_not_flag():
    index = EvalIndex(
        [
            EvalItem("qa", 1, "What is 7 times 8?", "56"),
            EvalItem("qa", 2, "Name the largest planet in the solar system.", "Jupiter"),
        ],
        n=13,
        min_tokens=8,
    )
    assert index.too_short == 1
    texts = [
        "Quick quiz: what is 7 times 8? Then what is 6 times 9?",  # the short item: too short to tell
        "Please name the largest planet in the solar system. Jupiter is right.",  # the 9-token item, matched whole
        "The solar system has eight planets.",
    ]
    matches = index.check(texts)
    assert matches[0] is None and matches[2] is None
    assert (matches[1].item, matches[1].overlap, matches[1].method) == (2, 1.0, "ngram")


def test_window_hashes_stay_inside_one_text_and_skip_unknown_tokens():
    vocab = Vocabulary()
    vocab.add(["a", "b", "c", "d"])
    flat, offsets = vocab.encode(["A, b c", "d a b", "x a b"])
    hashes, starts = window_hashes(flat, offsets, 2, known_only=True)
    assert starts.tolist() == [0, 1, 3, 4, 7]  # never across texts, never over the unknown "x"
    assert hashes[0] == hashes[3] == hashes[4]  # "a b" three times, the same hash
    assert len(set(hashes.tolist())) == 3
    assert vocab.words(flat[0:3]) == "a b c"


def test_near_copies_are_exactly_the_pairs_at_or_above_the_threshold():
    # The prefix filter is a shortcut: it must find the same pairs as comparing every text with every item.
    rng = random.Random(3)
    words = [f"w{k}" for k in range(40)]
    items = [" ".join(rng.choices(words, k=rng.randint(8, 30))) for _ in range(60)]
    texts = []
    for _ in range(400):
        base = rng.choice(items).split()
        for _ in range(rng.randint(0, 6)):  # edits: replace, insert or delete a word
            k = rng.randrange(len(base))
            op = rng.random()
            if op < 0.4:
                base[k] = rng.choice(words)
            elif op < 0.7:
                base.insert(k, rng.choice(words))
            elif len(base) > 9:
                del base[k]
        texts.append(" ".join(base))
    threshold = 0.6
    index = EvalIndex(
        [EvalItem("s", k + 1, t, "") for k, t in enumerate(items)], n=40, min_tokens=8, threshold=threshold
    )

    def shingles(t):
        tok = t.split()
        return {tuple(tok[i : i + 3]) for i in range(len(tok) - 2)}

    expected = []
    for t in texts:
        a = shingles(t)
        sims = [len(a & (b := shingles(it))) / len(a | b) for it in items]
        expected.append(max(sims) if max(sims) >= threshold else None)
    near = index.near_copies(texts)
    got = [near[t][1] if t in near else None for t in range(len(texts))]
    assert sum(e is not None for e in expected) > 100  # the edits leave many above the threshold, and some below
    assert sum(e is None for e in expected) > 20
    assert got == [None if e is None else pytest.approx(e, abs=1e-6) for e in expected]


def test_the_drop_step_the_presets_and_a_stale_check(workspace, tmp_path):
    store, plants = workspace
    # before the scorer ran, the step names what to run
    with pytest.raises(RecipeError, match="decontam scorer"):
        run_selection(store, "steps: [{drop_contaminated: {}}]", name="clean", user="lead")
    run_scorers(store, ["decontam"], user="lead")
    selection = run_selection(store, "steps: [{drop_contaminated: {}}]", name="clean", user="lead")
    assert selection.log[0]["in"] - selection.log[0]["out"] == len(plants)
    # the presets drop contaminated samples once the workspace has eval sets
    assert [s.name for s in workspace_preset(store, "fit").steps] == ["filter", "drop_contaminated", "dedup"]
    assert [s.name for s in workspace_preset(store, "align", 1000).steps][:2] == ["filter", "drop_contaminated"]
    # another eval set: the results are stale until the scorer runs again, which re-checks every sample
    other = write_jsonl(tmp_path / "more.jsonl", [{"question": "An unrelated question " * 3, "answer": "yes " * 9}])
    add_eval_set_file(store, other, mapping=MAPPING, user="lead")
    with pytest.raises(RecipeError, match=r"the eval sets changed since the samples were checked \(more\)"):
        run_selection(store, "steps: [{drop_contaminated: {}}]", name="clean", user="lead")
    first_key = store.scorer_keys()["decontam"]["key"]
    (report,) = run_scorers(store, ["decontam"], user="lead")
    assert report.key != first_key and report.already == 0 and report.scored > 300
    assert run_selection(store, "steps: [{drop_contaminated: {}}]", name="clean", user="lead").ids == selection.ids
    # the step on arrays: missing flags stop it, min_overlap keeps the partial overlaps
    data = {"contaminated": [True, False, None], "contamination_overlap": [0.3, 0.0, None]}
    with pytest.raises(RecipeError, match="1 samples were not checked"):
        run_recipe(parse_recipe("steps: [{drop_contaminated: {}}]"), data, 3)
    data = {"contaminated": [True, False, True], "contamination_overlap": [0.3, 0.0, 0.9]}
    run = run_recipe(parse_recipe("steps: [{drop_contaminated: {min_overlap: 0.5}}]"), data, 3)
    assert list(run.indices) == [0, 1]


def test_a_workspace_without_eval_sets_says_how_to_add_one(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, DEMO / "general_alpaca.json", user="lead")
        with pytest.raises(WinnowError, match=r"no eval sets .* python -m core evalset add FILE --name NAME"):
            run_scorers(store, ["decontam"], user="lead")
        with pytest.raises(WinnowError, match="no eval set 'gsm' in this workspace"):
            run_scorers(store, ["decontam"], params={"decontam": {"eval_sets": ["gsm"]}}, user="lead")
        assert [s.name for s in workspace_preset(store, "fit").steps] == ["filter", "dedup"]


def test_registering_eval_sets_checks_the_file_and_the_name(tmp_path):
    with Store(tmp_path / "ws.duckdb") as store:
        added = add_eval_set_file(store, TEST_FILE, name="math", mapping=MAPPING, user="lead")
        assert (added["items"], added["format"], added["file_name"]) == (16, "mapped", "math_test.jsonl")
        assert store.eval_set_items("math") == [item_texts(r) for r in read_eval_file(TEST_FILE, mapping=MAPPING)]
        with pytest.raises(WinnowError, match="an eval set named 'math' exists already"):
            add_eval_set_file(store, TEST_FILE, name="math", mapping=MAPPING, user="lead")
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"question": "q1", "answer": "a1"}\n{"question": "q2"\n', encoding="utf-8")
        with pytest.raises(FormatError, match=r"bad.jsonl.*line 2"):
            add_eval_set_file(store, bad, mapping=MAPPING, user="lead")
        assert [s["name"] for s in store.eval_sets()] == ["math"]  # nothing half-registered
        assert store.delete_eval_set("math", user="lead") and store.eval_sets() == []
        assert store.contamination() is None


def test_the_cli_adds_lists_scores_and_exports(tmp_path):
    db = tmp_path / "ws.duckdb"
    items = eval_items()
    train = write_jsonl(
        tmp_path / "train.jsonl",
        [{"instruction": items[2]["question"], "input": "", "output": "I do not know."}]
        + [
            {"instruction": f"Write a haiku about the number {k}.", "input": "", "output": "Numbers fall like rain."}
            for k in range(5)
        ],
    )
    assert run_cli("import", train, "--db", db, "--no-signals").returncode == 0
    before = run_cli("score", "--db", db, "--scorers", "decontam")
    assert before.returncode == 2 and "evalset add" in before.stderr and "Traceback" not in before.stderr
    added = run_cli("evalset", "add", TEST_FILE, "--db", db, "--map", MAPPING, "--name", "math")
    assert added.returncode == 0 and "16 items" in added.stdout
    assert run_cli("score", "--db", db, "--scorers", "decontam").returncode == 0
    listed = json.loads(run_cli("evalset", "list", "--db", db, "--json").stdout)
    assert [(s["name"], s["items"], s["contaminated_samples"]) for s in listed] == [("math", 16, 1)]
    out = tmp_path / "scored.jsonl"
    exported = run_cli("export", "--db", db, "--out", out, "--format", "alpaca", "--status", "all", "--with-scores")
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["contaminated"], r["contamination_eval_set"]) for r in rows] == [(True, "math")] + [(False, None)] * 5
    assert [r["contamination_overlap"] for r in rows] == [1.0] + [0.0] * 5
    manifest = json.loads((tmp_path / "scored.jsonl.manifest.json").read_text(encoding="utf-8"))
    digest = manifest["eval_sets"][0]["sha256"]
    assert manifest["scorers"]["decontam"]["params"]["eval_sets"] == {"math": digest}  # what the flags were checked on
    taken = run_cli("evalset", "add", TEST_FILE, "--db", db, "--map", MAPPING, "--name", "math")
    assert taken.returncode == 2 and "exists already" in taken.stderr
    assert run_cli("evalset", "remove", "--db", db, "math").returncode == 0
    assert "no eval sets" in run_cli("evalset", "list", "--db", db).stdout


def test_an_eval_sets_boilerplate_does_not_flag_and_a_similarity_of_exactly_the_threshold_does():
    template = "read the passage below carefully and then answer the question that follows it in one word"
    items = [
        EvalItem("t", k + 1, f"{template} passage number {k} tells of river {k} and hill {k}", "yes") for k in range(60)
    ]
    index = EvalIndex(items, threshold=None)
    assert index.boilerplate > 0  # the template's 13-grams, held by all 60 items
    texts = [f"Please {template}: who wrote it?", f"{template} passage number 7 tells of river 7 and hill 7"]
    found = index.check(texts)
    assert found[0] is None and found[1].item == 8
    # J = 55 / 100 exactly: found at threshold 0.55 (a float product must not round it away)
    words = [f"w{k}" for k in range(102)]
    exact = EvalIndex([EvalItem("j", 1, " ".join(words[:57]), "")], n=60, min_tokens=8, threshold=0.55)
    assert exact.near_copies([" ".join(words)]) == {0: (0, pytest.approx(0.55))}
