"""Streaming JSON arrays: the same records and errors as parsing the file whole, a block at a time."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from core.errors import FormatError
from core.formats import json_array
from core.formats.readers import iter_records


def stream(path, max_record=1 << 20):
    with open(path, "rb") as f:
        return list(json_array.iter_array(f, str(path), offset=0, size=path.stat().st_size, max_record=max_record))


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 7 bytes: every record, string, number and multi-byte character is cut somewhere."""
    monkeypatch.setattr(json_array, "BLOCK", 7)


RECORDS = [
    {"instruction": "把这句话翻译成英文：你好，世界", "output": "Hello, world"},
    {"instruction": 'a [tricky] {one}, "quoted" \\ back', "output": "b", "n": 12345678901, "f": -1.5e-7},
    {"messages": [{"role": "user", "content": "🙂 emoji"}, {"role": "assistant", "content": "ok"}], "t": True},
    {"x": [], "y": {}, "z": None},
]


@pytest.mark.parametrize("indent", [False, True])
def test_records_and_lines_match_the_whole_parse_with_blocks_cut_anywhere(tmp_path, tiny_blocks, indent):
    data = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2 if indent else 0)
    path = tmp_path / "a.json"
    path.write_bytes(data)
    got = stream(path)
    assert [value for _, value in got] == orjson.loads(data)
    text = data.decode()
    lines = text.split("\n")
    if indent:
        # an element starts on each line that opens at the array's depth
        assert [line for line, _ in got] == [n for n, text in enumerate(lines, 1) if text == "  {"]
    else:
        assert [line for line, _ in got] == [1, 1, 1, 1]


def test_a_wrapper_object_streams_its_list(tmp_path, tiny_blocks):
    path = tmp_path / "w.json"
    path.write_text('{ "data" :\n [\n{"a": 1},\n{"a": "二"}\n]\n}\n', encoding="utf-8")
    assert stream(path) == [(3, {"a": 1}), (4, {"a": "二"})]
    extra = tmp_path / "x.json"
    extra.write_text('{"data": [{"a": 1}], "version": 2}')
    with pytest.raises(FormatError, match=r"line 1: invalid JSON at column 20: expected '}' after the array"):
        stream(extra)


@pytest.mark.parametrize(
    "text, where, problem",
    [
        ('[\n{"a": 1}\n{"a": 2}]', "line 3", "column 1: expected ',' or ']' after an element"),
        ('[\n{"a": 1},\n{"a": 2},\n]', "line 3", "trailing comma is not allowed"),
        ('[\n{"a": 1},\n{"a": 2}', "line 3", "the array is not closed"),
        ('[{"a": 1}]\n[{"b": 2}]', "line 2", "column 1: unexpected content after document"),
        ('[\n{"a": 1},\n  {"a": NaN}]', "line 3", "invalid JSON at column"),
        ('[\n{"a": 1},\n{"a": "\\ud800"}]', "line 3", "a lone surrogate escape?"),
        ('[\n{"a": 1},\n{"a": tru}]', "line 3", "invalid JSON at column"),
        ('[\n{"a": 1},\n{"a": "x}', "line 3", "invalid JSON at column"),
        ('{"a": 1}', "line 1", "expected a JSON array"),
    ],
)
def test_errors_name_the_line_where_the_fault_is(tmp_path, tiny_blocks, text, where, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        stream(path)
    assert f"{path}, {where}: " in str(err.value) and problem in str(err.value), str(err.value)


def test_invalid_utf8_names_its_byte_and_line(tmp_path, tiny_blocks):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'[\n{"a": "ok"},\n{"a": "caf\xe9"}]')
    with pytest.raises(FormatError, match=r"line 3: invalid UTF-8 at byte offset 25 \(byte 11 of the line"):
        stream(path)


def test_a_record_over_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('[\n{"a": 1},\n{"a": "' + "x" * (3 << 20) + '"}]')
    with pytest.raises(FormatError, match=r"line 3: a record over 1 MB, the most one record may hold"):
        stream(path, max_record=1 << 20)
    assert len(stream(path, max_record=4 << 20)) == 2


def test_memory_is_one_record_and_a_block_not_the_file(tmp_path):
    records = [{"instruction": f"Question {i}?", "output": "Answer. " * 40} for i in range(60_000)]
    path = tmp_path / "many.json"
    path.write_bytes(orjson.dumps(records))
    assert path.stat().st_size > 20 << 20
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 8 << 20, f"peak {peak >> 20} MB while streaming a {path.stat().st_size >> 20} MB file"
