"""Training-ready export: chat-template labels, the packing round trip, role validation, truncation, split, advice."""

from __future__ import annotations

import copy
import json
import random
import socket

import pyarrow.parquet as pq
import pytest

from core.errors import ModelUnavailable, PermissionDenied, WinnowError
from core.formats.convert import from_canonical, to_canonical
from core.formats.messages import Canonical
from core.importing.workspace import import_file
from core.store import SampleEdit, SampleFilter, Store
from core.training.advice import method_advice
from core.training.chat_template import IGNORE_INDEX, load_tokenizer, tokenize_conversations
from core.training.export import export_training
from core.training.packing import pack_lengths, unpack_rows
from core.training.pipeline import TrainingOptions, summary_lines, training_report
from core.training.split import split_validation

USER = "tess"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "current weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
TOOL_CHAT = {
    "messages": [
        {"role": "system", "content": "You are a weather assistant."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}],
        },
        {"role": "tool", "content": '{"temp": 18}'},
        {"role": "assistant", "content": "It is 18 °C in Paris."},
    ],
    "tools": TOOLS,
}
MULTI_TURN = {
    "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "Seven."},
        {"role": "user", "content": "And an even one?"},
        {"role": "assistant", "content": "Two is the only even prime."},
    ]
}


def _qa(i: int) -> dict:
    # Answers of very different lengths, so some samples run past a small max_length and rows pack unevenly.
    return {
        "messages": [
            {"role": "user", "content": f"Question {i}: count to {i % 11}."},
            {"role": "assistant", "content": " ".join(str(k) for k in range(1, (i % 11) * 9 + 2))},
        ]
    }


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "chats.jsonl"
    records = [TOOL_CHAT, MULTI_TURN] + [_qa(i) for i in range(40)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    with Store(tmp_path / "ws.duckdb") as s:
        import_file(s, path, user=USER)
        yield s


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("")[0]


def _all_ids(store: Store) -> list[str]:
    return store.sample_arrays(["id"])["id"]


def _alone(tokenizer, store: Store, sample_id: str):
    """One sample rendered and tokenized on its own: the reference the exports are checked against."""
    sample = store.get_sample(sample_id)
    record = from_canonical(Canonical(sample["messages"], sample["tools"]), "openai")
    (tok,) = tokenize_conversations(tokenizer, [(record["messages"], record.get("tools"))])
    return tok


def _read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


# --- labels --------------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_labels_train_every_assistant_turn_and_nothing_else(tokenizer):
    messages = MULTI_TURN["messages"]
    (tok,) = tokenize_conversations(tokenizer, [(messages, None)])
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert tok.input_ids.tolist() == tokenizer(text, add_special_tokens=False)["input_ids"]
    trained = tok.input_ids[tok.labels != IGNORE_INDEX]
    # ChatML: each assistant turn is its text and the end-of-turn token that stops generation.
    assert tokenizer.decode(trained) == "Seven.<|im_end|>\nTwo is the only even prime.<|im_end|>\n"
    assert all(label in (IGNORE_INDEX, i) for label, i in zip(tok.labels, tok.input_ids, strict=True))
    # a turn marked not to train on (OpenAI's weight 0) gets no labels, by both ways of finding the spans
    marked = [{**m, "weight": 0} if m["content"] == "Seven." else m for m in messages]
    thinking = copy.deepcopy(tokenizer)
    thinking.chat_template = THINKING_TEMPLATE
    for tok_with in (tokenizer, thinking):
        (tok,) = tokenize_conversations(tok_with, [(marked, None)])
        assert tok_with.decode(tok.input_ids[tok.labels != IGNORE_INDEX]).startswith("Two is the only even prime.")


# A ChatML variant whose generation prompt opens an empty reasoning block that finished turns do not have (as some
# reasoning models' templates do): rendering prefixes no longer lines up, so answers are found by their text.
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think></think>\n{% endif %}"
)


@pytest.mark.model
def test_templates_that_are_not_prefix_stable_shout_or_refuse_are_handled(tokenizer):
    thinking = copy.deepcopy(tokenizer)
    thinking.chat_template = THINKING_TEMPLATE
    (tok,) = tokenize_conversations(thinking, [(MULTI_TURN["messages"], None)])
    assert tok.by_content
    assert thinking.decode(tok.input_ids[tok.labels != IGNORE_INDEX]) == (
        "Seven.<|im_end|>Two is the only even prime.<|im_end|>"
    )
    # A short answer that also spells a piece of the template's markup ("<|im_start|>assistant"): the answer's own
    # tokens are trained, the markup's are not. The rendering ends "ass<|im_end|>\n".
    (short,) = tokenize_conversations(
        thinking, [([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ass"}], None)]
    )
    n = len(short.input_ids)
    assert [int(i) for i in (short.labels != IGNORE_INDEX).nonzero()[0]] == [n - 3, n - 2]

    shouting = copy.deepcopy(tokenizer)
    shouting.chat_template = THINKING_TEMPLATE.replace("m['content']", "m['content'] | upper")
    refusing = copy.deepcopy(tokenizer)
    refusing.chat_template = "{{ raise_exception('system messages are not supported') }}"
    (shouted,) = tokenize_conversations(shouting, [(MULTI_TURN["messages"], None)])
    (refused,) = tokenize_conversations(refusing, [(MULTI_TURN["messages"], None)])
    assert shouted == "the chat template changes the assistant's text, so its tokens cannot be found"
    assert refused.startswith("the chat template refuses this conversation: ") and "not supported" in refused


def test_method_advice_follows_the_data_size():
    assert [method_advice(n)["method"] for n in (0, 4_999, 5_000, 499_999, 500_000, 2_000_000)] == [
        "p-tuning",
        "p-tuning",
        "lora",
        "lora",
        "full",
        "full",
    ]
    advice = method_advice(20_000)
    assert advice["default"] == "lora" and "ICLR 2024" in advice["citation"]
    assert "When Scaling Meets LLM Finetuning" in advice["citation"] and "20,000" in advice["why"]


# --- packing -------------------------------------------------------------------------------------------------------


def _best_fit_decreasing(lengths, max_length):
    """The textbook procedure, O(n x rows): the reference pack_lengths must agree with on the rows' contents."""
    rows, room = [], []
    for i in sorted(range(len(lengths)), key=lambda j: (-lengths[j], j)):
        fits = [r for r in range(len(rows)) if room[r] >= lengths[i]]
        if fits:
            best = min(fits, key=lambda r: room[r])
            rows[best].append(i)
            room[best] -= lengths[i]
        else:
            rows.append([i])
            room.append(max_length - lengths[i])
    return rows


def test_pack_lengths_is_best_fit_decreasing():
    rng = random.Random(7)
    for max_length in (16, 100, 2048):
        lengths = [rng.randint(1, max_length) for _ in range(300)] + [max_length, 1, 1]
        rows = pack_lengths(lengths, max_length)
        assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in row) <= max_length for row in rows)
        # Same number of rows and the same fill as the plain procedure (ties between equal rooms may differ).
        reference = _best_fit_decreasing(lengths, max_length)
        assert len(rows) == len(reference)
        fill = sorted(sum(lengths[i] for i in row) for row in rows)
        assert fill == sorted(sum(lengths[i] for i in row) for row in reference)
    assert pack_lengths([], 10) == []
    with pytest.raises(ValueError):
        pack_lengths([11], 10)


@pytest.mark.model
def test_packed_export_unpacks_to_each_sample_rendered_alone(store, tmp_path, tokenizer):
    max_length = 160
    options = TrainingOptions(max_length=max_length, pack=True, val_fraction=0.2, seed=3)
    report = export_training(store, tmp_path / "exports", "run", user=USER, filters=SampleFilter(), options=options)

    seen = {}
    rows = 0
    for split in ("train", "validation"):
        table = pq.read_table(report.files[f"{split}_packed"])
        rows += table.num_rows
        for row in table.to_pylist():
            assert len(row["input_ids"]) == len(row["labels"]) == sum(row["lengths"]) <= max_length
        for sample_id, ids, labels in unpack_rows(table):
            assert sample_id not in seen
            seen[sample_id] = (split, ids, labels)
    assert any(len(ids) > 1 for ids in pq.read_table(report.files["train_packed"]).column("sample_ids").to_pylist())

    for sample_id in _all_ids(store):
        alone = _alone(tokenizer, store, sample_id)
        split, ids, labels = seen[sample_id]
        assert ids == alone.input_ids[:max_length].tolist(), sample_id
        assert labels == alone.labels[:max_length].tolist(), sample_id
    in_validation = sum(split == "validation" for split, _i, _l in seen.values())
    assert in_validation == len(_read_jsonl(report.files["validation"])) == round(0.2 * store.count())

    tokens = sum(len(ids) for _s, ids, _l in seen.values())
    packing = report.manifest["packing"]
    assert packing["train"]["rows"] + packing["validation"]["rows"] == rows
    assert packing["train"]["tokens"] + packing["validation"]["tokens"] == tokens
    train_tokens = sum(len(ids) for split, ids, _l in seen.values() if split == "train")
    assert packing["train"]["efficiency"] == round(train_tokens / (packing["train"]["rows"] * max_length), 4)
    assert packing["train"]["efficiency"] > packing["train"]["padding_efficiency"]


# --- export validation ---------------------------------------------------------------------------------------------


def _roles_alternate(messages: list[dict]) -> bool:
    """System messages first, then user and assistant in turn; tool results only after an assistant's tool call."""
    prev, calls = None, False
    for m in messages:
        if prev in (None, "system"):
            allowed = {"system", "user"}
        elif prev == "user":
            allowed = {"assistant"}
        elif prev == "assistant":
            allowed = {"user", "tool"} if calls else {"user"}
        else:  # a tool result
            allowed = {"tool", "assistant"}
        if m["role"] not in allowed:
            return False
        prev, calls = m["role"], bool(m.get("tool_calls"))
    return prev == "assistant"


@pytest.mark.model
def test_messages_export_keeps_system_and_tools_with_roles_alternating(store, tmp_path):
    options = TrainingOptions(val_fraction=0.0)
    report = export_training(store, tmp_path / "exports", "chat", user=USER, filters=SampleFilter(), options=options)
    records = _read_jsonl(report.files["train"])
    assert len(records) == store.count() and "validation" not in report.files
    tool_chat = next(r for r in records if "tools" in r)
    assert tool_chat == TOOL_CHAT  # system prompt, tool call, tool result and definitions all kept, unchanged
    for record in records:
        assert _roles_alternate(record["messages"]), record
        to_canonical(record, "openai")  # and the workspace's own validator accepts every record
    # This template renders neither tool definitions nor tool calls: the manifest says so instead of hiding it.
    assert any("tool definitions" in w for w in report.manifest["warnings"])
    info = json.loads((tmp_path / "exports" / "chat" / "dataset_info.json").read_text())
    assert info["chat_train"]["file_name"] == "train.jsonl" and info["chat_train"]["columns"]["tools"] == "tools"

    pc = export_training(
        store,
        tmp_path / "exports",
        "pc",
        user=USER,
        filters=SampleFilter(),
        options=TrainingOptions(val_fraction=0.0, fmt="prompt-completion"),
    )
    pc_records = _read_jsonl(pc.files["train"])
    tool_pc = next(r for r in pc_records if "tools" in r)
    assert tool_pc["prompt"] == TOOL_CHAT["messages"][:2] and tool_pc["completion"] == TOOL_CHAT["messages"][2:]
    assert tool_pc["tools"] == TOOLS
    multi = next(r for r in pc_records if r["prompt"][0]["content"] == "Answer briefly.")
    assert [m["role"] for m in multi["prompt"]] == ["system", "user", "assistant", "user"]
    assert multi["completion"] == [MULTI_TURN["messages"][-1]]
    assert "dataset_info" not in pc.files and "LLaMA-Factory" in pc.manifest["dataset_info"]


@pytest.mark.model
def test_a_sample_with_bad_role_order_is_reported_not_written(store, tmp_path):
    bad = store.page(limit=3).to_pylist()[2]
    broken = [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "three"},
    ]
    store.update_sample(bad["id"], bad["version"], SampleEdit(messages=broken), user=USER)
    report = export_training(
        store, tmp_path / "exports", "run", user=USER, filters=SampleFilter(), options=TrainingOptions(val_fraction=0)
    )
    (skipped,) = report.manifest["skipped"]
    assert skipped["id"] == bad["id"] and "expected 'assistant' as message 2, got 'user'" in skipped["reason"]
    assert report.manifest["samples"]["written"]["train"] == store.count() - 1
    assert all(r["messages"] != broken for r in _read_jsonl(report.files["train"]))
    assert any(bad["id"] in w for w in report.manifest["warnings"])


# --- truncation ----------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_truncation_report_matches_a_direct_count(store, tmp_path, tokenizer):
    max_length = 96
    expected = {"samples": 0, "tokens_lost": 0, "answer_tokens_lost": 0, "left_without_answer": 0}
    lengths, too_long, dropped_tokens, dropped_answer = [], set(), 0, 0
    for sample_id in _all_ids(store):
        tok = _alone(tokenizer, store, sample_id)
        ids, labels = tok.input_ids.tolist(), tok.labels.tolist()
        lengths.append(len(ids))
        if len(ids) > max_length:
            too_long.add(sample_id)
            dropped_tokens += len(ids)
            dropped_answer += sum(label != IGNORE_INDEX for label in labels)
            lost = [label for label in labels[max_length:] if label != IGNORE_INDEX]
            expected["samples"] += 1
            expected["tokens_lost"] += len(ids) - max_length
            expected["answer_tokens_lost"] += len(lost)
            expected["left_without_answer"] += all(label == IGNORE_INDEX for label in labels[:max_length])
    assert 0 < expected["samples"] < len(lengths) and expected["answer_tokens_lost"] > 0

    options = TrainingOptions(max_length=max_length, val_fraction=0)
    report = training_report(store, filters=SampleFilter(), options=options)
    cut = report.manifest["truncation"]
    assert {k: cut[k] for k in expected} == expected
    assert report.manifest["tokens"]["total"] == sum(lengths) and report.folder is None
    assert report.manifest["tokens"]["per_sample"]["max"] == max(lengths)
    line = summary_lines(report.manifest)[2]
    assert f"{expected['tokens_lost']:,} tokens and {expected['answer_tokens_lost']:,} answer tokens cut" in line

    dropped = export_training(
        store,
        tmp_path / "exports",
        "short",
        user=USER,
        filters=SampleFilter(),
        options=TrainingOptions(max_length=max_length, val_fraction=0, over_length="drop"),
    )
    assert dropped.manifest["samples"]["dropped_over_max_length"] == len(too_long)
    assert dropped.manifest["samples"]["written"]["train"] == len(lengths) - len(too_long)
    # Dropping loses the whole of each long sample, not only what a cut would; no written sample is left unanswered.
    drop_cut = dropped.manifest["truncation"]
    assert (drop_cut["samples"], drop_cut["tokens_lost"], drop_cut["answer_tokens_lost"]) == (
        len(too_long),
        dropped_tokens,
        dropped_answer,
    )
    assert drop_cut["left_without_answer"] == 0
    assert f"dropped whole: {dropped_tokens:,} tokens" in summary_lines(dropped.manifest)[2]


# --- split and determinism -----------------------------------------------------------------------------------------


def test_split_is_stratified_by_label_and_seeded():
    ids = [f"s{i:03d}" for i in range(200)]
    labels = ["math"] * 120 + ["code"] * 60 + [None] * 20
    val = split_validation(ids, labels, 0.1, seed=0)
    by_label = {lab: sum(1 for i, x in zip(ids, labels, strict=True) if x == lab and i in val) for lab in set(labels)}
    assert by_label == {"math": 12, "code": 6, None: 2}
    assert split_validation(list(reversed(ids)), list(reversed(labels)), 0.1, seed=0) == val  # order does not matter
    assert split_validation(ids, labels, 0.1, seed=1) != val
    assert len(split_validation(ids[:7], ["a", "b", "c", "a", "b", "c", "a"], 0.3, seed=0)) == 2  # round(2.1)
    assert split_validation(ids, labels, 0.0, seed=0) == set()
    # exact duplicates (same content hash) never straddle the split, whichever way the seed falls
    contents = [f"c{i}" for i in range(len(ids))]
    contents[1] = contents[0]
    contents[5] = contents[3] = contents[2]
    chosen = 0
    for seed in range(40):
        val = split_validation(ids, labels, 0.1, seed=seed, contents=contents)
        assert len({ids[0], ids[1]} & val) in (0, 2)
        assert len({ids[2], ids[3], ids[5]} & val) in (0, 3)
        chosen += ids[0] in val or ids[2] in val
    assert chosen  # some seeds did put a duplicated content in validation: the check above was not vacuous
    with pytest.raises(WinnowError, match="val_fraction"):
        split_validation(ids, labels, 1.0, seed=0)


@pytest.mark.model
def test_the_same_inputs_give_byte_identical_files(store, tmp_path):
    ids = _all_ids(store)
    store.set_task_label_many(ids[:20], "math", user=USER)
    options = TrainingOptions(max_length=128, pack=True, val_fraction=0.25, seed=5)
    folder = tmp_path / "exports" / "run"

    first = export_training(store, tmp_path / "exports", "run", user=USER, filters=SampleFilter(), options=options)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    # What an export killed half way leaves: its temporary folder, named after a process that is gone.
    stale = tmp_path / "exports" / f".run.partial-{2**30}@{socket.gethostname()}-x1y2"
    stale.mkdir()
    (stale / "train.jsonl").write_text("half")
    second = export_training(store, tmp_path / "exports", "run", user=USER, filters=SampleFilter(), options=options)
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert before == after and set(second.files) == set(first.files)
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["run"]  # no temporary folder left behind
    labels = second.manifest["by_task_label"]
    assert labels["math"] == {"train": 15, "validation": 5}
    assert len(ids) == 42 and sum(v["validation"] for v in labels.values()) == 11  # 0.25 x 42 = 10.5, half up


# --- where it goes, what it reads ----------------------------------------------------------------------------------


@pytest.mark.model
def test_a_selection_export_records_its_recipe_and_a_staged_one_needs_a_stage(store, tmp_path):
    ids = _all_ids(store)
    store.save_selection(
        "picked", recipe="steps: []\n", recipe_hash="ab" * 32, log=[], members=[(i, 1) for i in ids[:10]], user=USER
    )
    report = export_training(
        store,
        tmp_path / "exports",
        "sel",
        user=USER,
        filters=SampleFilter(selection="picked"),
        options=TrainingOptions(),
    )
    assert report.manifest["selection"]["recipe_hash"] == "ab" * 32
    assert sum(report.manifest["samples"]["written"].values()) == 10

    store.save_selection(
        "staged", recipe="steps: []\n", recipe_hash="cd" * 32, log=[], members=[(ids[0], 1), (ids[1], 2)], user=USER
    )
    with pytest.raises(WinnowError, match="one stage at a time"):
        training_report(store, filters=SampleFilter(selection="staged"))
    one = training_report(
        store, filters=SampleFilter(selection="staged", stage=2), options=TrainingOptions(val_fraction=0)
    )
    assert one.manifest["samples"]["written"]["train"] == 1


class _ReviewedMeanwhile(Store):
    """A workspace where a reviewer accepts one more sample right after the export has drawn its split (the moment
    between its read of the members and its read of the samples): a real change, on the same database file."""

    late: str | None = None

    def sample_arrays(self, columns, f=None, **kwargs):
        out = super().sample_arrays(columns, f, **kwargs)
        if self.late is not None:
            self.update_sample(self.late, 1, SampleEdit(status="accepted"), user=USER)
            self.late = None
        return out


@pytest.mark.model
def test_a_sample_accepted_while_the_export_runs_is_left_out_with_its_reason(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(_qa(i)) + "\n" for i in range(6)), encoding="utf-8")
    with _ReviewedMeanwhile(tmp_path / "ws.duckdb") as store:
        import_file(store, path, user=USER)
        ids = _all_ids(store)
        store.set_status_many(ids[:4], "accepted", user=USER)
        store.late = ids[4]
        report = export_training(store, tmp_path / "exports", "run", user=USER, options=TrainingOptions(val_fraction=0))
    assert report.manifest["samples"]["matched"] == 4 and report.manifest["samples"]["written"]["train"] == 4
    (skipped,) = report.manifest["skipped"]
    assert skipped["id"] == ids[4] and "changed meanwhile" in skipped["reason"]
    assert len(_read_jsonl(report.files["train"])) == 4


@pytest.mark.model
def test_names_outside_the_export_folder_and_foreign_folders_are_refused(store, tmp_path):
    exports = tmp_path / "exports"
    for bad in ("../escape", "sub/dir", ".hidden", ""):
        with pytest.raises((PermissionDenied, WinnowError)):
            export_training(store, exports, bad, user=USER, filters=SampleFilter())
    (exports / "mine").mkdir(parents=True)
    (exports / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(WinnowError, match="not a Winnow training export"):
        export_training(store, exports, "mine", user=USER, filters=SampleFilter())
    assert (exports / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(WinnowError, match="nothing to train on"):
        export_training(store, exports, "empty", user=USER)  # default filter: accepted, and none is
    assert sorted(p.name for p in exports.iterdir()) == ["mine"]


def test_a_missing_tokenizer_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="no such folder"):
        load_tokenizer(str(tmp_path / "nowhere"))
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE"):
        load_tokenizer("winnow-tests/no-such-tokenizer")


def test_options_are_checked_before_any_work(store, tmp_path):
    for bad, words in (
        (TrainingOptions(fmt="alpaca"), "unknown training format"),
        (TrainingOptions(max_length=4), "max_length"),
        (TrainingOptions(max_length=20_480_000), "max_length must be 16 to 1,048,576 tokens"),  # a typo, not a hang
        (TrainingOptions(over_length="wrap"), "over_length"),
        (TrainingOptions(val_fraction=1.5), "val_fraction"),
    ):
        with pytest.raises(WinnowError, match=words):
            export_training(store, tmp_path / "exports", "x", user=USER, filters=SampleFilter(), options=bad)
    assert not (tmp_path / "exports").exists()


@pytest.mark.model
def test_a_turn_marked_not_to_train_on_is_split_out_of_the_trl_files_and_unlabelled(store, tmp_path, tokenizer):
    multi = next(r for r in store.page(SampleFilter(text="even prime")).to_pylist())
    sample = store.get_sample(multi["id"])
    marked = [{**m, "weight": 0} if m.get("content") == "Seven." else m for m in sample["messages"]]
    store.update_sample(multi["id"], sample["version"], SampleEdit(messages=marked), user=USER)
    only = SampleFilter(ids=[multi["id"]])
    options = TrainingOptions(val_fraction=0.0, fmt="prompt-completion", pack=True)
    split = export_training(store, tmp_path / "exports", "split", user=USER, filters=only, options=options)
    records = _read_jsonl(split.files["train"])
    # one trained turn: one record, the marked answer in its prompt (history), the completion the trained answer
    assert [r["completion"][0]["content"] for r in records] == ["Two is the only even prime."]
    assert "weight" not in json.dumps(records) and split.manifest["turns"] == "split"
    rows = pq.read_table(split.files["train_packed"]).to_pylist()
    trained = [i for i, label in zip(rows[0]["input_ids"], rows[0]["labels"], strict=True) if label != IGNORE_INDEX]
    assert "Seven." not in tokenizer.decode(trained) and "Two is the only even prime." in tokenizer.decode(trained)
    cut = export_training(
        store,
        tmp_path / "exports",
        "cut",
        user=USER,
        filters=only,
        options=TrainingOptions(val_fraction=0.0, turns="cut"),
    )
    assert [r["messages"][-1]["content"] for r in _read_jsonl(cut.files["train"])] == ["Two is the only even prime."]
    assert cut.manifest["samples"]["records"] == {"train": 1, "validation": 0}
