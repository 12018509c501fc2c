"""Importing real files into real workspaces: all-or-nothing, skip mode, duplicates, re-imports, bad input."""

from __future__ import annotations

import json

import pytest

from core.errors import FormatError, MappingError, WinnowError
from core.importer import import_file
from core.store import SampleFilter, Store

ALPACA = [
    {"instruction": "Translate to French", "input": "Good morning", "output": "Bonjour"},
    {"instruction": "把这句话翻译成英文", "input": "今天天气很好", "output": "The weather is nice today."},
    {
        "instruction": "Say hi",
        "input": "",
        "output": "Hi!",
        "system": "Be brief.",
        "history": [["Hello?", "Hello! How can I help?"]],
    },
    {"instruction": "Translate to French", "input": "Good morning", "output": "Bonjour"},
]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ws.duckdb")
    yield s
    s.close()


def write_json(path, records):
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_alpaca_import_detects_converts_and_flags_duplicates(tmp_path, store):
    report = import_file(store, write_json(tmp_path / "a.json", ALPACA), user="ana")
    assert (report.format, report.imported, report.duplicates, report.rejected) == ("alpaca", 4, 1, 0)
    rows = store.page().to_pylist()
    assert rows[3]["dup_of"] == rows[0]["id"]
    chat = store.get_sample(rows[2]["id"])
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert chat["messages"][3]["content"] == "Say hi"
    assert store.get_sample(rows[0]["id"])["messages"][0]["content"] == "Translate to French\nGood morning"
    assert chat["raw"] == ALPACA[2] and chat["source_index"] == 2 and chat["source"] == "a.json"


def test_bad_record_aborts_whole_file_with_location(tmp_path, store):
    records = ALPACA[:2] + [{"instruction": "x", "input": "", "output": ["not", "a", "string"]}]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(FormatError) as err:
        import_file(store, path, user="ana")
    message = str(err.value)
    assert "bad.jsonl" in message and "line 3" in message and "record 2" in message and "output" in message
    assert store.count() == 0 and store.sources() == []


def test_skip_mode_imports_good_records_and_writes_rejects(tmp_path, store):
    records = ALPACA[:2] + [{"instruction": "x", "input": "", "output": 5}, ALPACA[2]]
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    report = import_file(store, path, user="ana", on_error="skip")
    assert (report.imported, report.rejected) == (3, 1)
    rejects = [json.loads(line) for line in open(report.rejects_path, encoding="utf-8")]
    assert len(rejects) == 1 and rejects[0]["record"] == 2 and rejects[0]["data"] == records[2]
    assert "output" in rejects[0]["error"]
    assert [r["source_index"] for r in store.page().to_pylist()] == [0, 1, 3]


def test_same_file_twice_is_refused_unless_asked(tmp_path, store):
    path = write_json(tmp_path / "a.json", ALPACA)
    import_file(store, path, user="ana")
    with pytest.raises(WinnowError, match="already imported"):
        import_file(store, path, user="ana")
    assert store.count() == 4
    report = import_file(store, path, user="ana", allow_reimport=True)
    assert report.duplicates == 4 and store.count(SampleFilter(duplicates=True)) == 5


def test_mapping_imports_other_json(tmp_path, store):
    path = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "2+3?", "answer": "2+3=5\n#### 5"}])
    report = import_file(store, path, user="ana", mapping="prompt=question,response=answer")
    assert report.format == "mapped"
    sample = store.get_sample(store.page().to_pylist()[0]["id"])
    assert sample["messages"] == [
        {"role": "user", "content": "2+3?"},
        {"role": "assistant", "content": "2+3=5\n#### 5"},
    ]


def test_mapping_naming_absent_field_is_clear(tmp_path, store):
    path = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "2+3?", "answer": "5"}])
    with pytest.raises(MappingError) as err:
        import_file(store, path, user="ana", mapping="prompt=query,response=answer")
    assert "query" in str(err.value) and "question" in str(err.value)
    assert store.count() == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b'[{"instruction": "a", "output": "b"},', "JSON"),
        (b'{"instruction": "a", "output": "b"}\n\xff\xfe{}', "UTF-8"),
    ],
)
def test_bad_files_leave_workspace_unchanged(tmp_path, store, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=expected):
        import_file(store, path, user="ana")
    assert store.count() == 0 and store.sources() == []


def test_bom_is_accepted(tmp_path, store):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ALPACA[:1]).encode())
    assert import_file(store, path, user="ana").imported == 1


def test_missing_file_is_named(tmp_path, store):
    with pytest.raises(FormatError, match="no such file"):
        import_file(store, tmp_path / "nope.json", user="ana")
