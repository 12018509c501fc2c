"""Tests for core/formats/: reading files, detection, canonical conversion both ways, hashing, mappings."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import FormatError, MappingError, field_in_words
from core.formats.convert import from_canonical, to_canonical
from core.formats.detect import check_mapping, detect_format
from core.formats.mapped import guess_field, parse_mapping
from core.formats.messages import EXPORT_FORMATS, FORMATS, Canonical, answer_text, content_hash, prompt_text
from core.formats.readers import RawRecord, iter_records

DATA = Path(__file__).parent / "data" / "formats"
FIXTURES = {
    "alpaca_zh.json": "alpaca",
    "alpaca.csv": "alpaca",
    "sharegpt_multi.json": "sharegpt",
    "openai_chat.jsonl": "openai",
    "prompt_completion.jsonl": "prompt-completion",
}
QA_MAPPING = {"prompt": "question", "response": "answer"}


def read(path) -> list[dict]:
    return [r.data for r in iter_records(path)]


def import_all(path, fmt: str | None = None, mapping: dict | None = None) -> list[Canonical]:
    """What the importer does: read, detect on the first records, convert each record with located errors."""
    raws = list(iter_records(path))
    fmt = fmt or detect_format([r.data for r in raws], path=str(path), mapping=mapping)
    out = []
    for raw in raws:
        try:
            out.append(to_canonical(raw.data, fmt, mapping))
        except FormatError as err:
            raise err.located(path=str(path), line=raw.line, record=raw.index) from None
    return out


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def jsonl(*records) -> str:
    return "".join(orjson.dumps(r).decode() + "\n" for r in records)


ALPACA = {"instruction": "你好", "input": "", "output": "你好！有什么可以帮你？"}


# --------------------------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("name, fmt", FIXTURES.items())
def test_every_fixture_record_round_trips_with_raw(name, fmt):
    records = read(DATA / name)
    assert records
    for r in records:
        c = to_canonical(r, fmt)
        assert from_canonical(c, fmt, raw=r) == r


def random_records(fmt: str, count: int, seed: int = 7) -> list[dict]:
    """Valid records of ``fmt`` with Chinese and English text, system prompts, history, tools and extras."""
    rng = random.Random(seed)
    words = ["数据", "模型", "训练", "你好", "世界", "the", "quick", "fox", "tab\there", "new\nline", "", " "]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))

    def maybe(d: dict, key: str, value) -> None:
        if rng.random() < 0.4:
            d[key] = value

    records = []
    for i in range(count):
        turns = rng.randint(1, 4)
        pairs = [(text(), text()) for _ in range(turns)]
        system = rng.choice(["", "你是一个助手。", None])
        if fmt == "alpaca":
            r = {"instruction": text(), "input": rng.choice(["", text()]), "output": text()}
            if rng.random() < 0.3:
                del r["input"]
            maybe(r, "system", system)
            maybe(r, "history", [list(p) for p in pairs[:-1]])
        elif fmt == "sharegpt":
            conv = [t for q, a in pairs for t in ({"from": "human", "value": q}, {"from": "gpt", "value": a})]
            r = {rng.choice(["conversations", "messages"]): conv}
            if system and rng.random() < 0.5:
                conv.insert(0, {"from": "system", "value": system})
            else:
                maybe(r, "system", system or "")
            maybe(r, "tools", rng.choice(["", '[{"name": "search"}]']))
        elif fmt == "openai":
            msgs = [m for q, a in pairs for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
            if system:
                msgs.insert(0, {"role": "system", "content": system})
            r = {"messages": msgs}
            maybe(r, "tools", [{"type": "function", "function": {"name": "f"}}])
        else:
            if turns == 1 and rng.random() < 0.5:
                r = {"prompt": pairs[0][0], "completion": pairs[0][1]}
            else:
                msgs = [
                    m for q, a in pairs for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})
                ]
                r = {"prompt": msgs[:-1], "completion": msgs[-1:]}
        maybe(r, "id", f"r{i}")
        maybe(r, "meta", {"lang": rng.choice(["zh", "en"]), "n": i})
        records.append(r)
    return records


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_round_trip_property_on_generated_records(fmt):
    for r in random_records(fmt, 300):
        c = to_canonical(r, fmt)
        assert from_canonical(c, fmt, raw=r) == r
        for other in EXPORT_FORMATS:
            if other == "alpaca" and any(m["role"] == "system" for m in c.messages[1:]):
                continue
            converted = to_canonical(from_canonical(c, other), other)
            assert converted.messages == c.messages
            assert content_hash(converted.messages, converted.tools) == content_hash(c.messages, c.tools)


def test_mapped_fixture_round_trips_with_and_without_raw():
    for r in read(DATA / "mapped_qa.jsonl"):
        c = to_canonical(r, "mapped", QA_MAPPING)
        assert c.messages[0]["role"] == "user" and c.extras == {"level": r["level"]}
        assert from_canonical(c, "mapped", raw=r, mapping=QA_MAPPING) == r
        assert from_canonical(c, "mapped", mapping=QA_MAPPING) == r


def test_round_trip_without_raw_where_no_hint_is_needed():
    for r in read(DATA / "openai_chat.jsonl")[:1] + read(DATA / "openai_chat.jsonl")[2:]:
        assert from_canonical(to_canonical(r, "openai"), "openai") == r
    sharegpt = read(DATA / "sharegpt_multi.json")
    for r in (sharegpt[0], sharegpt[2]):  # no top-level system
        assert from_canonical(to_canonical(r, "sharegpt"), "sharegpt") == r
    for r in read(DATA / "prompt_completion.jsonl")[:2]:  # string prompts
        assert from_canonical(to_canonical(r, "prompt-completion"), "prompt-completion") == r
    alpaca = read(DATA / "alpaca_zh.json")[1]  # empty input
    assert from_canonical(to_canonical(alpaca, "alpaca"), "alpaca") == alpaca


def test_alpaca_canonical_messages_follow_llamafactory():
    records = read(DATA / "alpaca_zh.json")
    assert to_canonical(records[0], "alpaca").messages == [
        {"role": "user", "content": "把下面的句子翻译成英文。\n今天下午我们去公园散步。"},
        {"role": "assistant", "content": "We are going for a walk in the park this afternoon."},
    ]
    assert to_canonical(records[0], "alpaca").extras == {"category": "translation"}
    assert to_canonical(records[2], "alpaca").messages[0] == {"role": "user", "content": "列出三种常见的水果。"}
    multi = to_canonical(records[3], "alpaca").messages
    assert [m["role"] for m in multi] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert multi[1]["content"] == "你好，我最近很累。"
    assert multi[-2]["content"] == "继续我们的对话，给出一个简短的建议。\n我晚上总是睡不着。"
    empty_fields = to_canonical(records[4], "alpaca")
    assert [m["role"] for m in empty_fields.messages] == [
        "user",
        "assistant",
    ]  # "system": "" and "history": [] add none
    assert empty_fields.extras == {"id": 17, "meta": {"source": "handwritten", "tags": ["en", "summary"]}}


def test_alpaca_split_uses_raw_as_a_hint():
    raw = {"instruction": "翻译", "input": "早上好", "output": "Good morning"}
    c = to_canonical(raw, "alpaca")
    assert from_canonical(c, "alpaca")["instruction"] == "翻译\n早上好"  # no hint: the whole text
    # Edited input, same instruction: instruction kept, the rest becomes the input.
    c.messages[0]["content"] = "翻译\n晚上好"
    assert from_canonical(c, "alpaca", raw=raw) == {"instruction": "翻译", "input": "晚上好", "output": "Good morning"}
    # Rewritten from scratch: the whole text is the instruction.
    c.messages[0]["content"] = "Translate: 晚上好"
    assert from_canonical(c, "alpaca", raw=raw) == {
        "instruction": "Translate: 晚上好",
        "input": "",
        "output": "Good morning",
    }


def test_alpaca_without_input_key_keeps_it_absent_and_null_input_round_trips():
    for raw in ({"instruction": "Hi", "output": "Hello"}, {"instruction": "Hi", "input": None, "output": "Hello"}):
        assert from_canonical(to_canonical(raw, "alpaca"), "alpaca", raw=raw) == raw


def test_export_keeps_the_source_key_order():
    raw = read(DATA / "alpaca_zh.json")[4]
    assert list(from_canonical(to_canonical(raw, "alpaca"), "alpaca", raw=raw)) == list(raw)


def test_extras_never_overwrite_format_fields():
    c = Canonical(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], None, {"output": "x", "k": 1}
    )
    assert from_canonical(c, "alpaca") == {"instruction": "q", "input": "", "output": "a", "k": 1}


def test_sharegpt_tags_system_and_tools():
    records = read(DATA / "sharegpt_multi.json")
    tool_chat = to_canonical(records[1], "sharegpt")
    assert [m["role"] for m in tool_chat.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert tool_chat.messages[2]["sharegpt_from"] == "function_call"
    assert tool_chat.tools == records[1]["tools"]
    aliases = to_canonical(records[3], "sharegpt")  # "messages" key with user/assistant tags, "system": ""
    assert [m["role"] for m in aliases.messages] == ["user", "assistant"]
    weighted = to_canonical(records[2], "sharegpt").messages[-1]
    assert weighted == {"role": "assistant", "content": "Paris", "weight": 1}


@pytest.mark.parametrize("target", EXPORT_FORMATS)
def test_alpaca_through_every_format_keeps_the_messages(target):
    for raw in read(DATA / "alpaca_zh.json"):
        c = to_canonical(raw, "alpaca")
        there = from_canonical(c, target)
        back = to_canonical(there, target)
        assert back.messages == c.messages
        assert back.extras == c.extras
        assert from_canonical(back, "alpaca", raw=raw) == raw


def test_sharegpt_and_openai_convert_into_each_other():
    for raw in read(DATA / "sharegpt_multi.json")[:1] + read(DATA / "openai_chat.jsonl")[:1]:
        fmt = "sharegpt" if "conversations" in raw else "openai"
        other = "openai" if fmt == "sharegpt" else "sharegpt"
        c = to_canonical(raw, fmt)
        assert to_canonical(from_canonical(c, other), other).messages == c.messages


def test_tool_calls_convert_between_sharegpt_and_openai():
    sharegpt = to_canonical(read(DATA / "sharegpt_multi.json")[1], "sharegpt")
    as_openai = from_canonical(sharegpt, "openai")
    call = as_openai["messages"][2]
    assert call["tool_calls"][0]["function"]["name"] == "get_weather"
    assert orjson.loads(call["tool_calls"][0]["function"]["arguments"]) == {"city": "杭州"}
    assert [m["role"] for m in to_canonical(as_openai, "openai").messages] == [m["role"] for m in sharegpt.messages]

    openai = to_canonical(read(DATA / "openai_chat.jsonl")[1], "openai")
    as_sharegpt = from_canonical(openai, "sharegpt")
    turns = as_sharegpt["conversations"]
    assert [t["from"] for t in turns] == ["human", "function_call", "observation", "gpt"]
    assert orjson.loads(turns[1]["value"]) == {"name": "multiply", "arguments": {"a": 17, "b": 23}}
    assert to_canonical(as_sharegpt, "sharegpt").tools == openai.tools


def test_openai_tool_call_null_content_becomes_empty_text_and_comes_back():
    raw = read(DATA / "openai_chat.jsonl")[1]
    c = to_canonical(raw, "openai")
    assert c.messages[1]["content"] == ""
    assert from_canonical(c, "openai", raw=raw)["messages"][1]["content"] is None
    absent = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": []}]}
    with pytest.raises(FormatError, match="required field is missing"):
        to_canonical(absent, "openai")  # an empty tool_calls list is no tool call: content is required


def test_prompt_completion_conversational_split():
    records = read(DATA / "prompt_completion.jsonl")
    c = to_canonical(records[2], "prompt-completion")
    assert [m["role"] for m in c.messages] == ["system", "user", "assistant", "user", "assistant"]
    out = from_canonical(c, "prompt-completion")
    assert out["completion"] == [{"role": "assistant", "content": "7"}] and len(out["prompt"]) == 4
    single = to_canonical(records[3], "prompt-completion")
    assert from_canonical(single, "prompt-completion") == {"prompt": "Hello", "completion": "Hi there!"}
    assert from_canonical(single, "prompt-completion", raw=records[3]) == records[3]


# --------------------------------------------------------------------------------------------------------------------
# Hashing and text views


def test_content_hash_is_the_same_across_formats_and_key_orders():
    alpaca = to_canonical({"instruction": "你好", "input": "", "output": "你好！"}, "alpaca")
    sharegpt = to_canonical(
        {"conversations": [{"from": "user", "value": "你好"}, {"value": "你好！", "from": "assistant"}]}, "sharegpt"
    )
    openai = to_canonical(
        {"messages": [{"content": "你好", "role": "user"}, {"role": "assistant", "content": "你好！"}]}, "openai"
    )
    hashes = {content_hash(c.messages, c.tools) for c in (alpaca, sharegpt, openai)}
    assert len(hashes) == 1
    (h,) = hashes
    assert len(h) == 64 and int(h, 16) >= 0
    assert content_hash(alpaca.messages, [{"name": "t"}]) != h
    assert content_hash(alpaca.messages[:1] + [{"role": "assistant", "content": "你好"}]) != h


def test_function_call_marker_counts_in_the_hash():
    plain = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "{}"}]
    marked = [plain[0], {"role": "assistant", "content": "{}", "sharegpt_from": "function_call"}]
    assert content_hash(plain) != content_hash(marked)


def test_prompt_and_answer_text():
    c = to_canonical(read(DATA / "alpaca_zh.json")[3], "alpaca")
    assert prompt_text(c.messages).split("\n") == [
        "你好，我最近很累。",
        "我每天十二点以后才睡。",
        "继续我们的对话，给出一个简短的建议。",
        "我晚上总是睡不着。",
    ]
    assert answer_text(c.messages) == "睡前一小时放下手机，保持卧室安静、凉爽和黑暗。"
    assert answer_text([{"role": "user", "content": "x"}]) == ""


# --------------------------------------------------------------------------------------------------------------------
# Detection


@pytest.mark.parametrize("name, fmt", FIXTURES.items())
def test_detect_each_format(name, fmt):
    assert detect_format(read(DATA / name), path=name) == fmt


def test_detect_with_mapping_returns_mapped():
    assert detect_format(read(DATA / "mapped_qa.jsonl"), mapping=QA_MAPPING) == "mapped"


def test_detect_ambiguous_lists_formats_and_how_to_choose():
    both = {"messages": [{"role": "user", "content": "q"}], "instruction": "q", "output": "a"}
    with pytest.raises(FormatError) as err:
        detect_format([both] * 3, path="mix.jsonl")
    message = str(err.value)
    assert "mix.jsonl" in message and "alpaca, openai" in message
    assert "--format NAME" in message and "Format box" in message


def test_detect_unknown_lists_keys_and_suggests_a_mapping():
    with pytest.raises(FormatError) as err:
        detect_format(read(DATA / "mapped_qa.jsonl"), path="qa.jsonl")
    message = str(err.value)
    assert "qa.jsonl" in message and "question, answer, level" in message
    assert "--map prompt=FIELD,response=FIELD" in message


def test_detect_mixed_file_names_disagreeing_records():
    records = [ALPACA, {"conversations": [{"from": "human", "value": "q"}]}]
    with pytest.raises(FormatError, match=r"record 1 fits alpaca, record 2 fits sharegpt"):
        detect_format(records)


def test_detect_ignores_a_broken_record_so_it_is_reported_where_it_is(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl(ALPACA, {"instruction": "no output"}, ALPACA))
    assert detect_format(read(path)) == "alpaca"
    with pytest.raises(FormatError) as err:
        import_all(path)
    assert str(err.value).startswith(f"{path}, line 2, field 'output': required field is missing")


# --------------------------------------------------------------------------------------------------------------------
# Reading files


def test_raw_records_carry_index_and_line(tmp_path):
    path = write(tmp_path, "a.jsonl", "\n" + jsonl(ALPACA) + "   \n" + jsonl(ALPACA))
    assert list(iter_records(path)) == [RawRecord(0, 2, ALPACA), RawRecord(1, 4, ALPACA)]


def test_csv_with_embedded_newlines_and_quotes():
    raws = list(iter_records(DATA / "alpaca.csv"))
    assert [r.line for r in raws] == [2, 5, 6]
    assert (
        raws[0].data["output"]
        == "Crisp leaves drift and fall\r\na cold wind hums through bare trees\r\nthe year exhales slow"
    )
    assert raws[1].data == {
        "instruction": "翻译成英文",
        "input": "你好，世界",
        "output": "Hello, world",
        "category": "translation",
    }
    assert raws[2].data["instruction"] == 'Quote "this" text'


def test_csv_wrong_field_count_names_line_and_record(tmp_path):
    path = write(tmp_path, "bad.csv", 'instruction,output\nq,"multi\nline"\nonly-one-field\n')
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(err.value) == (f"{path}, line 4: expected 2 fields as in the header (instruction, output), got 1")


def test_tsv_and_sniffed_extensions(tmp_path):
    assert read(write(tmp_path, "a.tsv", "instruction\toutput\nq\ta\n")) == [{"instruction": "q", "output": "a"}]
    assert read(write(tmp_path, "a.txt", jsonl(ALPACA, ALPACA))) == [ALPACA, ALPACA]
    assert read(write(tmp_path, "b.data", orjson.dumps([ALPACA]))) == [ALPACA]
    assert read(write(tmp_path, "c.dat", "instruction,output\nq,a\n")) == [{"instruction": "q", "output": "a"}]
    with pytest.raises(FormatError, match="cannot tell what kind of file"):
        read(write(tmp_path, "d.txt", "just some prose\n"))


def test_json_content_decides_over_extension(tmp_path):
    assert read(write(tmp_path, "lines.json", jsonl(ALPACA, ALPACA))) == [ALPACA, ALPACA]
    assert read(write(tmp_path, "array.jsonl", orjson.dumps([ALPACA], option=orjson.OPT_INDENT_2))) == [ALPACA]
    long_first_line = {"instruction": "x" * 20_000, "output": "y"}
    assert read(write(tmp_path, "long.json", jsonl(long_first_line, ALPACA))) == [long_first_line, ALPACA]


def test_json_wrapper_object_and_single_record(tmp_path):
    assert read(write(tmp_path, "w.json", orjson.dumps({"data": [ALPACA, ALPACA]}))) == [ALPACA, ALPACA]
    single = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    assert list(iter_records(write(tmp_path, "s.json", orjson.dumps(single)))) == [RawRecord(0, 1, single)]


def test_bom_is_accepted(tmp_path):
    bom = b"\xef\xbb\xbf"
    assert read(write(tmp_path, "a.jsonl", bom + jsonl(ALPACA, ALPACA).encode())) == [ALPACA, ALPACA]
    assert read(write(tmp_path, "a.json", bom + orjson.dumps([ALPACA]))) == [ALPACA]
    assert read(write(tmp_path, "a.csv", bom + b"instruction,output\nq,a\n")) == [{"instruction": "q", "output": "a"}]


def test_huge_single_line_record_is_parsed(tmp_path):
    big = {"instruction": "总结", "input": "长" * 5_000_000, "output": "ok"}
    path = write(tmp_path, "big.jsonl", jsonl(big))
    assert path.stat().st_size > 5_000_000 * 3
    (raw,) = iter_records(path)
    c = to_canonical(raw.data, "alpaca")  # no length limit
    assert len(c.messages[0]["content"]) == 5_000_003


def test_progress_reaches_the_total(tmp_path):
    calls = []
    path = write(tmp_path, "a.jsonl", jsonl(*[ALPACA] * 5000))
    assert len(list(iter_records(path, progress=lambda done, total: calls.append((done, total))))) == 5000
    size = path.stat().st_size
    assert calls[-1] == (size, size) and len(calls) == 2
    calls.clear()
    array = write(tmp_path, "a.json", orjson.dumps([ALPACA] * 3))
    list(iter_records(array, progress=lambda *a: calls.append(a)))
    assert calls[-1] == (array.stat().st_size, array.stat().st_size)


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("empty.jsonl", b"", "file is empty"),
        ("blank.jsonl", b"  \n\n\t\n", "file is empty"),
        ("blank.json", b"\n \n", "file is empty"),
        ("empty.csv", b"", "file is empty"),
        ("bom-only.json", b"\xef\xbb\xbf", "file is empty"),
        ("long-blank.jsonl", b" " * 20000 + b"\n" * 10, "file is empty"),
        ("none.json", b"[]", "file holds no records (an empty JSON array)"),
        ("header.csv", b"instruction,output\n", "line 1: file has a header row but no records"),
        ("dup.csv", b"a,b,a\n1,2,3\n", "line 1: the header names column 'a' twice"),
        ("scalar.json", b"42", "line 1: expected a JSON array of objects, got an integer"),
    ],
)
def test_empty_and_malformed_files(tmp_path, name, content, expected):
    path = write(tmp_path, name, content)
    with pytest.raises(FormatError) as err:
        read(path)
    separator = ", " if expected.startswith("line") else ": "
    assert str(err.value) == f"{path}{separator}{expected}"
    assert err.value.path == str(path)


def test_invalid_json_in_jsonl_names_line_and_column(tmp_path):
    path = write(tmp_path, "bad.jsonl", jsonl(ALPACA) + '{"instruction": "q", "output": "a",}\n')
    with pytest.raises(FormatError) as err:
        read(path)
    assert err.value.line == 2
    assert str(err.value) == f"{path}, line 2: invalid JSON at column 35: trailing comma is not allowed"


def test_jsonl_streams_records_before_a_bad_line(tmp_path):
    records = iter_records(write(tmp_path, "a.jsonl", jsonl(ALPACA, ALPACA) + "{oops\n"))
    assert next(records).index == 0 and next(records).index == 1
    with pytest.raises(FormatError, match="line 3: invalid JSON"):
        next(records)


def test_invalid_json_in_array_names_line_and_column(tmp_path):
    path = write(tmp_path, "bad.json", '[\n  {"instruction": "q",\n   "output": "a"\n  }\n  {"x": 1}\n]')
    with pytest.raises(FormatError) as err:
        read(path)
    assert err.value.line == 5 and "invalid JSON at column 3" in str(err.value)


def test_pretty_json_named_jsonl_gets_a_hint(tmp_path):
    path = write(tmp_path, "pretty.jsonl", '{\n  "instruction": "q",\n  "output": "a"\n}\n')
    # A lone "{" line cannot be JSON Lines: the reader says so and suggests .json.
    with pytest.raises(FormatError, match=r"line 1: invalid JSON .*name the file \.json"):
        read(path)


def test_invalid_utf8_names_line_and_byte_offset(tmp_path):
    good = jsonl(ALPACA).encode()
    path = write(tmp_path, "latin1.jsonl", good + b'{"instruction": "caf\xe9", "output": "x"}\n')
    with pytest.raises(FormatError) as err:
        read(path)
    offset = len(good) + len(b'{"instruction": "caf')
    assert str(err.value) == (
        f"{path}, line 2: invalid UTF-8 at byte offset {offset} (byte 21 of the line, b'\\xe9'); save the file as UTF-8"
    )
    array = write(tmp_path, "latin1.json", b'[\n{"instruction": "caf\xe9", "output": "x"}]')
    with pytest.raises(FormatError, match=r"line 2: invalid UTF-8 at byte offset 22 \(byte 21 of the line"):
        read(array)
    csv_file = write(tmp_path, "latin1.csv", b"instruction,output\ncaf\xe9,x\n")
    with pytest.raises(FormatError, match=r"line 2: invalid UTF-8 at byte offset 22 \(byte 4 of the line"):
        read(csv_file)


def test_record_that_is_not_an_object(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl(ALPACA) + '["q", "a"]\n')
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(err.value) == (
        f"{path}, line 2: expected one JSON object per line, got a list (a JSON array? name the file .json)"
    )
    array = write(tmp_path, "a.json", '[\n  {"instruction": "q", "output": "a"},\n  "oops"\n]')
    with pytest.raises(FormatError) as err:
        read(array)
    assert str(err.value) == f"{array}, line 3: expected a JSON object, got a string"


def test_json_arrays_stream_with_the_line_each_record_starts_on(tmp_path):
    records = [{"instruction": 'a [tricky] {one}, "quoted"', "output": "b"}, ALPACA, {"x": [1, [2]]}]
    path = write(tmp_path, "p.json", orjson.dumps(records, option=orjson.OPT_INDENT_2))
    lines = path.read_text().split("\n")
    raws = list(iter_records(path))
    assert [r.data for r in raws] == records
    assert [r.line for r in raws] == [2, 6, 11]
    assert all(lines[r.line - 1].strip() == "{" for r in raws)
    wrapped = write(tmp_path, "w.json", '{"data": [\n{"a": 1},\n{"a": 2}]}')
    assert [(r.line, r.data) for r in iter_records(wrapped)] == [(2, {"a": 1}), (3, {"a": 2})]
    # A one-object file whose list is a record's own field is that one record.
    chat = write(tmp_path, "c.json", '{"messages": [{"role": "user", "content": "Hi"}]}')
    assert [(r.line, r.data) for r in iter_records(chat)] == [(1, {"messages": [{"role": "user", "content": "Hi"}]})]


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"\x00\x01\x02binary\x00stuff" * 20, "binary data"),
        (gzip.compress(b'{"a": 1}\n'), "gzip-compressed"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP archive"),
        ('{"a": 1}\n'.encode("utf-16"), "UTF-16"),
        ('{"a": 1}\n'.encode("utf-16-be"), "UTF-16"),
    ],
)
def test_binary_file_is_refused(tmp_path, content, kind):
    path = write(tmp_path, "data.jsonl", content)
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}: not a UTF-8 text file: it looks like ")
    assert kind in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="cannot read the file"):
        read(tmp_path / "nope.jsonl")


# --------------------------------------------------------------------------------------------------------------------
# Parquet


def test_parquet_records_in_batches(tmp_path):
    path = tmp_path / "chat.parquet"
    rows = [
        {"conversations": [{"from": "human", "value": f"问题 {i}"}, {"from": "gpt", "value": f"答案 {i}"}], "id": i}
        for i in range(5000)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    raws = list(iter_records(path))
    assert [r.index for r in raws] == list(range(5000)) and raws[0].line is None
    assert detect_format([r.data for r in raws]) == "sharegpt"
    assert to_canonical(raws[4999].data, "sharegpt").messages[1]["content"] == "答案 4999"


def test_not_a_parquet_file(tmp_path):
    path = write(tmp_path, "broken.parquet", b"PAR1 this is not really parquet")
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}: not a readable Parquet file")


def test_parquet_with_the_wrong_schema(tmp_path):
    path = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "score": [1, 2]}), path)
    with pytest.raises(FormatError, match=r"keys found: text, score"):
        detect_format(read(path), path=str(path))
    typed = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"instruction": ["q"], "output": [3]}), typed)
    with pytest.raises(FormatError) as err:
        import_all(typed)
    assert str(err.value) == f"{typed}, record 1, field 'output': expected a string, got an integer"


def test_empty_parquet(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"instruction": pa.array([], pa.string())}), path)
    with pytest.raises(FormatError, match="no records"):
        read(path)


# --------------------------------------------------------------------------------------------------------------------
# Record validation


def located(record: dict, fmt: str, mapping=None) -> str:
    with pytest.raises(FormatError) as err:
        to_canonical(record, fmt, mapping)
    assert err.value.path is None and err.value.line is None  # the caller adds the location
    return str(err.value.located(path="f.jsonl", line=7, record=6))


def test_missing_required_field():
    message = located({"instruction": "q", "category": "x"}, "alpaca")
    assert message == (
        "f.jsonl, line 7, field 'output': required field is missing "
        "(an Alpaca record needs 'instruction' and 'output'; keys found: instruction, category)"
    )
    assert "field 'conversations'" in located({"id": 1}, "sharegpt")
    assert "field 'completion'" in located({"prompt": "x"}, "prompt-completion")
    assert "message 2 of 'messages', field 'content'" in located(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]}, "openai"
    )


@pytest.mark.parametrize(
    "record, fmt, field, found",
    [
        ({"instruction": "q", "output": ["a", "b"]}, "alpaca", "output", "a list"),
        ({"instruction": 5, "output": "a"}, "alpaca", "instruction", "an integer"),
        ({"instruction": "q", "input": {"x": 1}, "output": "a"}, "alpaca", "input", "an object"),
        ({"instruction": "q", "output": "a", "system": 1.5}, "alpaca", "system", "a number"),
        ({"conversations": [{"from": "human", "value": None}]}, "sharegpt", "conversations[0].value", "null"),
        ({"messages": [{"role": "user", "content": True}]}, "openai", "messages[0].content", "a boolean"),
        ({"prompt": "q", "completion": 1}, "prompt-completion", "completion", "an integer"),
        ({"question": "q", "answer": 42}, "mapped", "answer", "an integer"),
    ],
)
def test_non_string_content_names_the_type(record, fmt, field, found):
    message = located(record, fmt, QA_MAPPING if fmt == "mapped" else None)
    assert f"{field_in_words(field)}: expected a string, got {found}" in message


def test_multimodal_content_parts_are_refused_with_a_reason():
    record = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    assert "content parts, e.g. images, are not supported" in located(record, "openai")


def test_no_assistant_turn():
    for record, fmt, field in [
        ({"messages": [{"role": "user", "content": "q"}]}, "openai", "messages[0].role"),
        (
            {
                "conversations": [
                    {"from": "human", "value": "q"},
                    {"from": "gpt", "value": "a"},
                    {"from": "human", "value": "b"},
                ]
            },
            "sharegpt",
            "conversations[2].from",
        ),
        ({"messages": [{"role": "system", "content": "s"}]}, "openai", "messages[0].role"),
    ]:
        message = located(record, fmt)
        assert f"{field_in_words(field)}: no assistant turn: the last message must be from the assistant" in message


def test_roles_out_of_order_say_position_and_expected_role():
    record = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    assert located(record, "openai") == (
        "f.jsonl, line 7, message 2 of 'messages', field 'role': expected 'assistant' as message 2, got 'user' "
        "(user and assistant turns alternate after optional system messages)"
    )
    starts_with_gpt = {"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}
    assert "turn 1 of 'conversations', field 'from': expected 'human' as turn 1, got 'gpt'" in located(
        starts_with_gpt, "sharegpt"
    )
    with_top_system = {
        "system": "s",
        "conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}],
    }
    assert "turn 2 of 'conversations', field 'from': expected 'gpt' as turn 2, got 'human'" in located(
        with_top_system, "sharegpt"
    )
    late_system = {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"}]}
    assert (
        "message 2 of 'messages', field 'role': a system message as message 2: system messages must come first"
        in located(late_system, "openai")
    )
    stray_tool = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "tool", "content": "c"},
        ]
    }
    assert "expected 'user' as message 3, got 'tool' (a tool turn must follow an assistant tool call)" in located(
        stray_tool, "openai"
    )
    pc = {"prompt": [{"role": "user", "content": "a"}], "completion": [{"role": "user", "content": "b"}]}
    assert "message 1 of 'completion', field 'role': expected 'assistant'" in located(pc, "prompt-completion")


def test_empty_conversation():
    assert "field 'conversations': empty conversation" in located({"conversations": []}, "sharegpt")
    assert "field 'messages': empty conversation" in located({"messages": []}, "openai")


def test_unknown_roles():
    assert (
        "message 1 of 'messages', field 'role': unknown role 'bot'; expected one of system, user, assistant, tool"
        in located({"messages": [{"role": "bot", "content": "x"}]}, "openai")
    )
    assert "turn 2 of 'conversations', field 'from': unknown role 'robot'" in located(
        {"conversations": [{"from": "human", "value": "x"}, {"from": "robot", "value": "y"}]}, "sharegpt"
    )


def test_nested_junk():
    assert "field 'conversations': expected a list of turns, got an object" in located(
        {"conversations": {"a": 1}}, "sharegpt"
    )
    assert "turn 1 of 'conversations': expected a turn object with 'from' and 'value', got a list" in located(
        {"conversations": [["human", "hi"]]}, "sharegpt"
    )
    assert "item 2 of 'history': expected a [question, answer] pair, got a list" in located(
        {"instruction": "q", "output": "a", "history": [["q1", "a1"], ["only one"]]}, "alpaca"
    )
    assert "field 'history': expected a list of [question, answer] pairs, got a string" in located(
        {"instruction": "q", "output": "a", "history": "q1 a1"}, "alpaca"
    )
    assert "message 1 of 'messages', field 'tool_calls': expected a list of tool calls, got a string" in located(
        {"messages": [{"role": "assistant", "content": "", "tool_calls": "f()"}]}, "openai"
    )
    assert "(this looks like OpenAI messages: use --format openai)" in located(
        {"conversations": [{"role": "user", "content": "hi"}]}, "sharegpt"
    )
    assert "both be strings or both be message lists" in located(
        {"prompt": "q", "completion": [{}]}, "prompt-completion"
    )
    with pytest.raises(FormatError, match="expected a record object, got a list"):
        to_canonical([1, 2], "openai")


@pytest.mark.parametrize(
    "record, fmt, field",
    [
        ({"instruction": "q", "input": "a\x00b", "output": "a"}, "alpaca", "input"),
        ({"instruction": "q\x1b[31m", "output": "a"}, "alpaca", "instruction"),
        (
            {"conversations": [{"from": "human", "value": "ok"}, {"from": "gpt", "value": "\x0cx"}]},
            "sharegpt",
            "conversations[1].value",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\x07"}]},
            "openai",
            "messages[1].content",
        ),
        ({"prompt": "x", "completion": "y\x08"}, "prompt-completion", "completion"),
        ({"question": "\x00", "answer": "y"}, "mapped", "question"),
        ({"instruction": "q", "output": "a", "history": [["x\x01", "y"]]}, "alpaca", "history[0]"),
    ],
)
def test_control_characters_are_refused_with_position(record, fmt, field):
    message = located(record, fmt, QA_MAPPING if fmt == "mapped" else None)
    assert f"{field_in_words(field)}: contains control character U+00" in message
    assert "only tab, newline and carriage return are allowed" in message


def test_control_character_message_gives_the_character_and_index():
    assert "contains control character U+0000 at character 2;" in located(
        {"instruction": "q", "input": "a\x00b", "output": "a"}, "alpaca"
    )


def test_tabs_newlines_and_long_texts_are_fine():
    text = "line\tone\r\nline two\n" + "长" * 1_000_000
    c = to_canonical({"instruction": text, "output": text}, "alpaca")
    assert c.messages[1]["content"] == text


def test_unknown_format_names_the_choices():
    with pytest.raises(FormatError, match="unknown format 'alpacca'; expected one of " + ", ".join(FORMATS)):
        to_canonical(ALPACA, "alpacca")


# --------------------------------------------------------------------------------------------------------------------
# Export limits


def test_alpaca_cannot_hold_tool_turns():
    c = to_canonical(read(DATA / "openai_chat.jsonl")[1], "openai")
    with pytest.raises(
        FormatError, match=r"alpaca holds only alternating user and assistant turns; found assistant with a tool call"
    ):
        from_canonical(c, "alpaca")


def test_mapped_export_needs_fields_for_system_and_history():
    c = to_canonical(read(DATA / "alpaca_zh.json")[3], "alpaca")
    with pytest.raises(FormatError, match=r"no system field \(add system=FIELD\)"):
        from_canonical(c, "mapped", mapping=QA_MAPPING)
    mapping = {**QA_MAPPING, "system": "sys", "history": "past"}
    out = from_canonical(c, "mapped", mapping=mapping)
    assert out["past"][0] == ["你好，我最近很累。", "听起来你需要好好休息。可以说说你的作息吗？"]
    assert to_canonical(out, "mapped", mapping).messages == c.messages


# --------------------------------------------------------------------------------------------------------------------
# Mappings


def test_parse_mapping():
    assert parse_mapping("prompt=question,response=answer") == QA_MAPPING
    assert parse_mapping(" prompt = q , response = a , system = sys ,") == {
        "prompt": "q",
        "response": "a",
        "system": "sys",
    }


@pytest.mark.parametrize(
    "text, problem",
    [
        ("prompt=question,answer", "malformed mapping 'answer': expected KEY=FIELD"),
        ("prompt=q,reply=a", "unknown mapping key 'reply': expected prompt, response, system, history"),
        ("prompt=q", "the mapping needs 'response'"),
        ("prompt=q,response=", "the mapping gives no field name for 'response'"),
        ("prompt=q,prompt=r,response=a", "the mapping names 'prompt' twice"),
        ("prompt=q,response=q", "the mapping uses field 'q' for more than one key"),
        ("", "the mapped format needs a mapping"),
    ],
)
def test_parse_mapping_errors(text, problem):
    with pytest.raises(MappingError) as err:
        parse_mapping(text)
    assert problem in str(err.value)


def test_guess_field_finds_the_usual_names_whatever_their_case():
    fields = ["id", "Question", "ANSWER", "system_prompt"]
    assert guess_field(fields, "prompt") == 1
    assert guess_field(fields, "response") == 2
    assert guess_field(fields, "system") == 3
    # the first name in the guesses' order wins: "prompt" before "instruction" before "input"
    assert guess_field(["input", "instruction", "prompt"], "prompt") == 2
    assert guess_field(["id", "text"], "response") is None


def test_mapping_naming_an_absent_field_lists_the_fields_and_the_file():
    records = read(DATA / "mapped_qa.jsonl")
    with pytest.raises(MappingError) as err:
        detect_format(records, path="mapped_qa.jsonl", mapping={"prompt": "qestion", "response": "answer"})
    assert str(err.value) == (
        "the mapping reads field 'qestion' for prompt, but the records of mapped_qa.jsonl have no such field; "
        "fields found: question, answer, level"
    )
    assert check_mapping(QA_MAPPING, records) == QA_MAPPING


def test_mapped_import_end_to_end_with_a_record_lacking_the_field(tmp_path):
    path = write(tmp_path, "qa.jsonl", jsonl({"question": "q", "answer": "a"}, {"question": "q2"}))
    with pytest.raises(FormatError) as err:
        import_all(path, mapping=parse_mapping("prompt=question,response=answer"))
    assert str(err.value).startswith(f"{path}, line 2, field 'answer': required field is missing")
    with pytest.raises(MappingError, match="the mapped format needs a mapping"):
        to_canonical({"question": "q"}, "mapped")
