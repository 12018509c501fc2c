"""Export: lossless round trips for every format, edits applied, filters, manifests, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.export import export_samples
from core.importing.workspace import import_file
from core.store import SampleEdit, SampleFilter, Store

RECORDS = {
    "alpaca": [
        {
            "instruction": "把下面的句子翻译成英文",
            "input": "我喜欢读书。",
            "output": "I like reading.",
            "category": "翻译",
        },
        {
            "instruction": "Give a title",
            "input": "",
            "output": "On Rivers",
            "system": "You are terse.",
            "history": [["What is a river?", "A natural stream of water."], ["Name one.", "The Yangtze, 长江."]],
        },
        {"instruction": "List two primes", "input": "", "output": "2 and 3."},
    ],
    "sharegpt": [
        {
            "conversations": [
                {"from": "human", "value": "你好，请介绍一下你自己。"},
                {"from": "gpt", "value": "你好！我是一个助手。"},
                {"from": "human", "value": "你会写诗吗？"},
                {"from": "gpt", "value": "会的：\n春眠不觉晓。"},
            ],
            "system": "你是一个友好的助手。",
        },
        {
            "conversations": [
                {"from": "human", "value": "What's the weather in Paris?"},
                {"from": "function_call", "value": '{"name": "weather", "arguments": {"city": "Paris"}}'},
                {"from": "observation", "value": '{"temp": 18}'},
                {"from": "gpt", "value": "It is 18 °C in Paris."},
            ],
            "tools": '[{"name": "weather", "description": "current weather", "parameters": {}}]',
        },
    ],
    "openai": [
        {
            "messages": [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Capital of France?"},
                {"role": "assistant", "content": "Paris."},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "1+1?"},
                {"role": "assistant", "content": "2"},
                {"role": "user", "content": "再加一呢？"},
                {"role": "assistant", "content": "3"},
            ]
        },
    ],
    "prompt-completion": [
        {"prompt": "The capital of Japan is", "completion": " Tokyo."},
        {"prompt": "中国的首都是", "completion": "北京。"},
    ],
}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ws.duckdb")
    yield s
    s.close()


def _import(store, tmp_path, fmt, suffix=".jsonl"):
    path = tmp_path / f"in_{fmt}{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(RECORDS[fmt], ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS[fmt]), encoding="utf-8")
    report = import_file(store, path, user="ana")
    assert report.format == fmt
    return path


def _read(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", sorted(RECORDS))
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_round_trip_is_lossless(tmp_path, store, fmt, suffix):
    _import(store, tmp_path, fmt, suffix)
    out = tmp_path / "out" / f"export{suffix}"
    report = export_samples(store, out, fmt=fmt, user="ana", filters=SampleFilter())
    assert report.records == len(RECORDS[fmt])
    assert _read(out) == RECORDS[fmt]


def test_parquet_export_holds_messages(tmp_path, store):
    _import(store, tmp_path, "openai")
    out = tmp_path / "out.parquet"
    export_samples(store, out, fmt="parquet", user="ana", filters=SampleFilter())
    rows = pq.read_table(out).to_pylist()
    assert [r["messages"] for r in rows] == [r["messages"] for r in RECORDS["openai"]]


def test_cross_format_export_keeps_turns_and_system(tmp_path, store):
    _import(store, tmp_path, "sharegpt")
    out = tmp_path / "as_openai.jsonl"
    export_samples(store, out, fmt="openai", user="ana", filters=SampleFilter())
    first = _read(out)[0]["messages"]
    assert first[0] == {"role": "system", "content": "你是一个友好的助手。"}
    assert [m["role"] for m in first[1:]] == ["user", "assistant", "user", "assistant"]


def test_default_exports_accepted_with_edits_applied(tmp_path, store):
    _import(store, tmp_path, "alpaca")
    rows = store.page().to_pylist()
    sample = store.get_sample(rows[2]["id"])
    edited = [dict(m) for m in sample["messages"]]
    edited[-1]["content"] = "2, 3 and 5."
    v = store.update_sample(sample["id"], 1, SampleEdit(messages=edited), user="ana")
    store.update_sample(sample["id"], v, SampleEdit(status="accepted"), user="ana")
    out = tmp_path / "accepted.jsonl"
    report = export_samples(store, out, fmt="alpaca", user="ana")
    assert report.records == 1
    assert _read(out) == [{"instruction": "List two primes", "input": "", "output": "2, 3 and 5."}]


def test_manifest_and_dataset_info(tmp_path, store):
    src = _import(store, tmp_path, "openai")
    out = tmp_path / "exp" / "chat.jsonl"
    report = export_samples(store, out, fmt="openai", user="ana", filters=SampleFilter(status="pending"))
    manifest = json.loads((tmp_path / "exp" / "chat.jsonl.manifest.json").read_text())
    assert manifest["records"] == 2 and manifest["user"] == "ana" and manifest["format"] == "openai"
    assert manifest["filters"]["status"] == "pending"
    import hashlib

    assert manifest["sources"][0]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == report.sha256
    info = json.loads((tmp_path / "exp" / "dataset_info.json").read_text())
    assert info["chat"]["file_name"] == "chat.jsonl" and info["chat"]["formatting"] == "sharegpt"
    assert info["chat"]["columns"]["messages"] == "messages"


def test_with_scores_adds_source_and_columns(tmp_path, store):
    _import(store, tmp_path, "prompt-completion")
    cols = {"length": "INTEGER"}
    store.ensure_scorer("len", "len/v1", cols, {})
    store.write_scores(
        "len", "len/v1", cols, [(r["content_hash"], {"length": 7}) for r in store.unscored("len", "len/v1")]
    )
    out = tmp_path / "scored.jsonl"
    export_samples(store, out, fmt="prompt-completion", user="ana", filters=SampleFilter(), with_scores=True)
    rows = _read(out)
    assert rows[0]["source"] == "in_prompt-completion.jsonl" and rows[1]["source_index"] == 1
    assert rows[0]["length"] == 7 and rows[0]["prompt"] == "The capital of Japan is"


def test_sample_the_target_cannot_hold_is_skipped_and_reported(tmp_path, store):
    _import(store, tmp_path, "sharegpt")
    out = tmp_path / "tools_as_alpaca.jsonl"
    report = export_samples(store, out, fmt="alpaca", user="ana", filters=SampleFilter())
    assert report.records == 1 and len(report.skipped) == 1
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["skipped"][0]["id"] == report.skipped[0]["id"] and "tool" in manifest["skipped"][0]["reason"]
    assert _read(out)[0]["history"][0] == ["你好，请介绍一下你自己。", "你好！我是一个助手。"]


def test_parquet_keeps_columns_only_some_records_have(tmp_path, store):
    _import(store, tmp_path, "openai")
    _import(store, tmp_path, "sharegpt")  # the second record carries tools
    out = tmp_path / "mixed.parquet"
    export_samples(store, out, fmt="parquet", user="ana", filters=SampleFilter())
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 4
    with_tools = [r for r in rows if r.get("tools")]
    assert len(with_tools) == 1 and json.loads(with_tools[0]["tools"])[0]["name"] == "weather"


def test_a_foreign_dataset_info_is_never_overwritten(tmp_path, store):
    _import(store, tmp_path, "openai")
    (tmp_path / "out").mkdir()
    foreign = tmp_path / "out" / "dataset_info.json"
    foreign.write_text("[1, 2, 3]\n")
    report = export_samples(store, tmp_path / "out" / "x.jsonl", fmt="openai", user="ana", filters=SampleFilter())
    assert foreign.read_text() == "[1, 2, 3]\n"
    assert "left unchanged" in json.loads(Path(report.manifest_path).read_text())["dataset_info"]


def test_openai_training_weights_round_trip(tmp_path, store):
    # OpenAI's per-message "weight" (0: do not train on this assistant turn) comes back out as it went in
    records = [
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Whatever.", "weight": 0},
                {"role": "user", "content": "Name a fruit."},
                {"role": "assistant", "content": "An apple.", "weight": 1},
            ]
        }
    ]
    path = tmp_path / "weights.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    import_file(store, path, user="ana")
    out = tmp_path / "out.jsonl"
    export_samples(store, out, fmt="openai", user="ana", filters=SampleFilter())
    assert _read(out) == records  # the same records (whitespace aside), weights where they were


CHAT = {  # a good chat with one bad answer in the middle, marked not to train on
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of Peru?"},
        {"role": "assistant", "content": "Lima.", "weight": 1},
        {"role": "user", "content": "And of Chile?"},
        {"role": "assistant", "content": "I don't know, maybe Peru.", "weight": 0},
        {"role": "user", "content": "Of Chile, please."},
        {"role": "assistant", "content": "Santiago.", "weight": 1},
    ]
}
PLAIN_CHAT = {
    "messages": [
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "And 2+2?"},
        {"role": "assistant", "content": "4"},
    ]
}


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "prompt-completion"])
def test_untrained_turns_split_or_cut_chats_in_formats_without_weights(tmp_path, store, fmt):
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (CHAT, PLAIN_CHAT)), encoding="utf-8")
    import_file(store, path, user="ana")
    split = export_samples(store, tmp_path / "split.jsonl", fmt=fmt, user="ana", filters=SampleFilter())
    records = _read(Path(split.path))
    # one record per trained turn, each ending on it, none ending on the untrained answer; the plain chat is split
    # too, since dataset_info now masks history (LLaMA-Factory trains each record's last turn only)
    assert len(records) == 4
    texts = [json.dumps(r, ensure_ascii=False) for r in records]
    assert "Lima." in texts[0] and "maybe Peru" not in texts[0]
    assert "Santiago." in texts[1] and "maybe Peru" in texts[1]  # the bad answer stays as history, masked
    manifest = json.loads(Path(split.manifest_path).read_text(encoding="utf-8"))
    assert manifest["turns"] == {
        "mode": "split",
        "split_all": True,
        "chats_with_untrained_turns": 1,
        "chats_split": 2,
        "records_from_splits": 4,
        "untrained_turns_still_trained": 0,
        "mask_history": True,
    }
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["split"]["mask_history"] is True
    assert "weight" not in "".join(texts)
    cut = export_samples(store, tmp_path / "cut.jsonl", fmt=fmt, user="ana", filters=SampleFilter(), turns="cut")
    records = _read(Path(cut.path))
    assert len(records) == 2  # one per chat, each ending on its last trained turn
    manifest = json.loads(Path(cut.manifest_path).read_text(encoding="utf-8"))
    assert manifest["turns"]["untrained_turns_still_trained"] == 1  # what the format cannot say
    assert "mask_history" not in json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))["cut"]
    # the OpenAI format keeps the weights themselves
    weights = export_samples(store, tmp_path / "w.jsonl", fmt="openai", user="ana", filters=SampleFilter())
    assert _read(Path(weights.path)) == [CHAT, PLAIN_CHAT]


def test_a_chat_with_no_trained_turn_is_skipped_and_said(tmp_path, store):
    none = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Bye", "weight": 0}]}
    path = tmp_path / "none.jsonl"
    path.write_text(json.dumps(none) + "\n", encoding="utf-8")
    import_file(store, path, user="ana")
    report = export_samples(store, tmp_path / "x.jsonl", fmt="sharegpt", user="ana", filters=SampleFilter())
    assert report.records == 0 and report.skipped[0]["reason"] == "no assistant turn is marked to train on"


def test_the_demo_chats_export_their_per_turn_decisions(tmp_path, store):
    from core.settings import PROJECT_ROOT
    from core.store import SampleEdit

    import_file(store, PROJECT_ROOT / "data" / "demo" / "chats_sharegpt.jsonl", user="ana")
    chats = [r for r in store.page(SampleFilter(), limit=1000).to_pylist() if r["n_turns"] >= 2]
    sample = store.get_sample(chats[0]["id"])
    answers = [i for i, m in enumerate(sample["messages"]) if m["role"] == "assistant"]
    marked = [{**m, "weight": 0} if i == answers[0] else m for i, m in enumerate(sample["messages"])]
    store.update_sample(sample["id"], sample["version"], SampleEdit(messages=marked), user="ana")
    only = SampleFilter(ids=[sample["id"]])
    split = export_samples(store, tmp_path / "s.jsonl", fmt="sharegpt", user="ana", filters=only)
    records = _read(Path(split.path))
    assert len(records) == len(answers) - 1  # one per trained answer
    assert [r["conversations"][-1]["value"] for r in records] == [sample["messages"][i]["content"] for i in answers[1:]]
    weights = export_samples(store, tmp_path / "w.jsonl", fmt="openai", user="ana", filters=only)
    assert [m.get("weight") for m in _read(Path(weights.path))[0]["messages"] if m["role"] == "assistant"][0] == 0
