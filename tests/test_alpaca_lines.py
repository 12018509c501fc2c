"""The vectorised path for Alpaca JSON lines (core/importing/alpaca_lines.py) against the exact, record-by-record one:
the same files imported both ways give the same workspace, row for row and byte for byte, the same rejects and the
same errors."""

from __future__ import annotations

import json
import random
import re

import pytest

from core.errors import FormatError
from core.importing import alpaca_lines, parse, workspace
from core.importing.workspace import import_file
from core.store import Store

# Lines as they are in the file: the vectorised path vouches for some, and leaves the others to the exact path.
ODD_LINES = [
    '{"instruction":"Translate to French","input":"Good morning","output":"Bonjour"}',
    '{"instruction":"把这句话翻译成英文","input":"今天天气很好","output":"The weather is nice today."}',
    '{"instruction":"\\u628a\\u8fd9\\u53e5\\u8bdd","input":"","output":"ensure_ascii \\u00e9 \\ud83d\\ude00"}',
    '{"instruction":"Quote \\"this\\" and \\\\ that","input":"tab\\there\\r\\nnew","output":"a\\/b"}',
    '{"instruction":"no input \\u2028 \\u007f \\uffff \\ufeff","output":"x"}',
    '{"instruction":"","input":"only input","output":""}',
    '{"instruction":"only instruction","input":"","output":"y"}',
    '{"instruction":"","output":""}',
    '{"instruction":"null input","input":null,"output":"b"}',
    '{"output":"other order","instruction":"a"}',
    '{"instruction":"an extra field","output":"b","id":7}',
    '{"instruction":"sys","input":"","output":"s","system":"Be brief.","history":[["q","a"]]}',
    '{"instruction":"tricky","input":"x\\",\\"output\\":\\"y","output":"z\\"}"}',
    '{"instruction":"ends in a backslash \\\\","input":"\\\\","output":"\\",\\"input\\":\\""}',
    '{"instruction":"twice","instruction":"the second wins","output":"o"}',
    ' {"instruction":"leading space","output":"o"}',
    '{"instruction":"trailing space","output":"o"} ',
    '{ "instruction": "pretty", "output": "o" }',
    "",
    "   \t",
    '{"instruction":"a number","output":5}',
    '{"instruction":"a control \\u0001","output":"o"}',
    '{"instruction":"a bell \\b","output":"o"}',
    '{"instruction":"a form feed \\f","output":"o"}',
    '{"output":"no instruction"}',
    '{"instruction":"Translate to French","input":"Good morning","output":"Bonjour"}',
    '{"instruction":"raw DEL \x7f and \u2028 and é","output":"o"}',
    '{"instruction":"an escaped backslash and u0001: \\\\u0001","output":"o"}',
    '{"instruction":"multi\\nline","input":"中文\\n混合 English","output":"答：\\t好"}',
    '{"instruction":"tab escape \\u0009 newline \\u000A cr \\u000d","output":"o"}',
    '{"instruction":"upper hex \\u00E9 \\uD83D\\uDE00","output":"o"}',
]

CHARS = '"\\/\n\r\t\x7f\u2028é中文😀\ufeffab {},:'  # what JSON escapes, or not, or might


def random_lines(n: int, seed: int = 0) -> list[str]:
    """Alpaca records with random text, written the ways real files are: compact or not, escaped or UTF-8."""
    rng = random.Random(seed)

    def text() -> str:
        return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 12)))

    lines = []
    for _ in range(n):
        record = {"instruction": text(), "input": text(), "output": text()}
        if rng.random() < 0.2:
            del record["input"]
        separators = (",", ":") if rng.random() < 0.8 else (", ", ": ")
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.4, separators=separators))
    return lines


def write(path, lines: list[str], *, newline: str = "\n", bom: bool = False, last_newline: bool = False):
    text = newline.join(lines) + (newline if last_newline else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def imported(tmp_path, monkeypatch, path, *, vectorised: bool, where: str = "thread", **options) -> dict:
    """What importing ``path`` into a new workspace leaves: every stored column of every sample, the source and
    event rows (less their times), the report and the rejects file."""
    monkeypatch.setattr(parse, "VECTORISED", vectorised)
    monkeypatch.setattr(workspace, "PROCESS_MIN_BYTES", 0 if where == "worker" else 1 << 40)
    db = tmp_path / f"{path.stem}-{vectorised}-{where}.duckdb"
    rejects = tmp_path / f"{db.stem}.rejects.jsonl"
    with Store(db) as store:
        report = import_file(store, path, user="ana", rejects_path=rejects, **options)
        cur = store.cursor()
        samples = cur.execute(
            "SELECT rid, id, source_id, source_index, format, raw, messages, tools, prompt, answer, n_turns, "
            "content_hash, dup_of, status, tags, note, version, updated_by FROM samples ORDER BY rid"
        ).fetchall()
        sources = cur.execute("SELECT name, path, sha256, format, mapping, records, rejected FROM sources").fetchall()
        events = cur.execute("SELECT user_name, action, field, after FROM events ORDER BY event_id").fetchall()
    report.rejects_path = None  # its name differs by design; its content is compared below
    return {
        "samples": samples,
        "sources": sources,
        "events": events,
        "report": report,
        "rejects": rejects.read_text(encoding="utf-8") if rejects.exists() else None,
    }


def both_ways(tmp_path, monkeypatch, path, **options) -> dict:
    exact = imported(tmp_path, monkeypatch, path, vectorised=False, **options)
    vectorised = imported(tmp_path, monkeypatch, path, vectorised=True, **options)
    assert vectorised == exact
    return vectorised


@pytest.mark.parametrize(
    "newline, bom, last_newline, chunk",
    [("\n", False, False, parse.CHUNK), ("\r\n", True, True, 4), ("\n", False, True, 1)],
    ids=["lf", "crlf-bom-small-chunks", "one-record-chunks"],
)
def test_odd_records_are_stored_as_the_exact_path_stores_them(tmp_path, monkeypatch, newline, bom, last_newline, chunk):
    monkeypatch.setattr(parse, "CHUNK", chunk)
    lines = ODD_LINES + random_lines(300) + ODD_LINES[:3]
    path = write(tmp_path / "odd.jsonl", lines, newline=newline, bom=bom, last_newline=last_newline)
    got = both_ways(tmp_path, monkeypatch, path, on_error="skip")
    report = got["report"]
    assert (report.format, report.rejected, report.imported) == ("alpaca", 5, len(lines) - 2 - 5)
    assert report.duplicates >= 4
    rejected = [json.loads(line) for line in got["rejects"].splitlines()]
    assert [r["line"] for r in rejected] == [21, 22, 23, 24, 25]
    assert [r["record"] for r in rejected] == [20 - 1, 21 - 1, 22 - 1, 23 - 1, 24 - 1]  # the blank lines are no record
    # Most lines took the vectorised path: the comparison above is not between two exact paths.
    assert sum(re.fullmatch(alpaca_lines.LINE, line) is not None for line in lines) > 200


def test_the_first_bad_record_aborts_the_same_way(tmp_path, monkeypatch):
    lines = random_lines(200) + ['{"instruction":"x","output":["not","a","string"]}'] + random_lines(50, seed=1)
    path = write(tmp_path / "late.jsonl", lines)
    errors = []
    for vectorised in (False, True):
        with pytest.raises(FormatError) as err:
            imported(tmp_path, monkeypatch, path, vectorised=vectorised)
        errors.append((str(err.value), err.value.line, err.value.record, err.value.field))
    assert errors[0] == errors[1] and errors[0][1:] == (201, 200, "output")


@pytest.mark.parametrize(
    "bad, line",
    [
        (b'{"instruction":"broken","output":"o"', 101),
        (b'{"instruction":"lone \\ud800","output":"o"}', 101),
        (b'{"instruction":"invalid UTF-8 \xff","output":"o"}', 101),
        (b'{"instruction":"trailing comma","output":"o",}', 101),
        (b'["a", "list"]', 101),
    ],
    ids=["unclosed", "lone-surrogate", "utf8", "trailing-comma", "list"],
)
def test_unreadable_lines_stop_the_import_the_same_way(tmp_path, monkeypatch, bad, line):
    # In skip mode too: a line that is not a JSON object is not a record to skip.
    path = tmp_path / "broken.jsonl"
    good = [line.encode() for line in random_lines(100)]
    path.write_bytes(b"\n".join([*good, bad, *good]) + b"\n")
    errors = []
    for vectorised in (False, True):
        with pytest.raises(FormatError) as err:
            imported(tmp_path, monkeypatch, path, vectorised=vectorised, on_error="skip")
        errors.append(str(err.value))
    assert errors[0] == errors[1] and f"line {line}" in errors[0]


def test_a_worker_process_stores_what_the_exact_path_does(tmp_path, monkeypatch):
    path = write(tmp_path / "w.jsonl", ODD_LINES + random_lines(500, seed=2))
    exact = imported(tmp_path, monkeypatch, path, vectorised=False, on_error="skip")
    monkeypatch.setattr(parse, "CHUNK", 64)
    # The worker is another interpreter: it takes the vectorised path whatever this one says.
    assert imported(tmp_path, monkeypatch, path, vectorised=True, where="worker", on_error="skip") == exact


def test_a_reimport_numbers_and_flags_the_repeats_the_same_way(tmp_path, monkeypatch):
    path = write(tmp_path / "again.jsonl", random_lines(300, seed=3))
    got = {}
    for vectorised in (False, True):
        monkeypatch.setattr(parse, "VECTORISED", vectorised)
        with Store(tmp_path / f"again-{vectorised}.duckdb") as store:
            import_file(store, path, user="ana")
            import_file(store, path, user="ana", allow_reimport=True)
            got[vectorised] = store.cursor().execute("SELECT rid, id, dup_of, content_hash FROM samples").fetchall()
    assert got[True] == got[False] and len(got[True]) == 600
    assert sum(dup is not None for _, _, dup, _ in got[True]) >= 300
