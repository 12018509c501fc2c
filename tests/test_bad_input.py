"""Bad input: every file of the corpus in tests/data/bad (see make_bad.py), through the importer, the CLI and the
Import page.

What Winnow does with a bad file, decided per kind of fault:

- A file whose structure is broken is refused whole, in both modes: invalid JSON, invalid UTF-8, an unclosed CSV
  quote, a row with the wrong number of fields, a binary, compressed or UTF-16 file, an empty file, an unreadable
  Parquet file, records of no known format (or of several). Its records cannot be told apart with confidence, so
  skipping "the bad one" could import garbage.
- A record that parsed but does not validate (a wrong type, a missing field, roles out of order, an empty
  conversation, nested junk where text belongs, a control character) stops an import in the default abort mode; in
  skip mode it goes alone to the rejects file, with its line, and the others import. When every record is rejected,
  nothing is imported and the message gives the first reason.
- Harmless oddities import: a byte order mark, CRLF line ends, quoted newlines in CSV, Unicode separators, an 8 MB
  message.

A refusal names the file, the line (or record, for Parquet) and the field when there is one, in one short line, and
leaves the workspace exactly as it was: same samples, sources, events and jobs, and no rejects file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from page_workspace import new_workspace, open_app, texts
from patience import HANG_S

from core.errors import FormatError, MappingError
from core.importing.workspace import import_file
from core.settings import PROJECT_ROOT
from core.store import SampleFilter, Store

BAD = PROJECT_ROOT / "tests" / "data" / "bad"
_spec = importlib.util.spec_from_file_location("make_bad", BAD / "make_bad.py")
make_bad = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_bad)

QA = "prompt=question,response=answer"
BIG = (
    "line_50mb.jsonl",
    "line_50mb.csv",
    "long_message.jsonl",
    "line_over_limit.jsonl",
    "array_record_over_limit.json",
)


@dataclass(frozen=True)
class Case:
    """One corpus file and what must happen to it.

    Attributes:
        file: the corpus file.
        problem: part of the message naming the problem (refused cases); None when the file imports.
        where: parts of the message locating it (line, record, field).
        imported: records imported (abort mode, or skip mode when ``skipped`` is None and the file imports).
        skipped: for record faults, the lines (records, for Parquet) rejected in skip mode; None when skip mode
            behaves as abort mode.
        error: the exception a refusal raises.
        mapping, fmt: import options.
        id: the test id, when one file serves several cases.
    """

    file: str
    problem: str | None
    where: tuple[str, ...] = ()
    imported: int = 0
    skipped: tuple[int, ...] | None = None
    error: type = FormatError
    mapping: str | None = None
    fmt: str = "auto"
    id: str | None = None


CASES = [
    # ---- broken JSON: refused whole
    Case("broken_json.jsonl", "invalid JSON at column 1: unexpected end of data", ("line 3",)),
    Case("missing_comma.json", "invalid JSON at column 3", ("line 7",)),
    Case("trailing_comma.json", "trailing comma is not allowed", ("line 16",)),
    Case("nan_literal.jsonl", "invalid JSON at column 46", ("line 3",)),
    Case("top_level_scalar.json", "expected a JSON array of objects, got an integer", ("line 1",)),
    Case("array_line.jsonl", "expected one JSON object per line, got a list", ("line 3")),
    Case("array_of_non_objects.json", "expected a JSON object, got a string", ("line 7")),
    Case("deep_nesting.jsonl", "depth limit exceeded", ("line 3",)),
    Case("line_50mb.jsonl", "invalid JSON at column 52428822: unexpected end of data", ("line 1",)),
    # ---- encodings
    Case("invalid_utf8.jsonl", "invalid UTF-8 at byte offset 154", ("line 3",)),
    Case("invalid_utf8.csv", "invalid UTF-8 at byte offset 28", ("line 3",), mapping=QA),
    Case("lone_surrogate.jsonl", "no low surrogate in string", ("line 3",)),
    Case("utf16.jsonl", "it looks like UTF-16 text (save it as UTF-8)"),
    Case("bom.jsonl", None, imported=2),
    Case("bom.json", None, imported=3),
    Case("bom.csv", None, imported=2, mapping=QA),
    Case("crlf.jsonl", None, imported=2),
    Case("unicode_text.jsonl", None, imported=2),
    # ---- empty files
    Case("empty.jsonl", "file is empty"),
    Case("empty.csv", "file is empty", mapping=QA),
    Case("whitespace.jsonl", "file is empty"),
    Case("whitespace_long.json", "file is empty"),
    Case("bom_only.jsonl", "file is empty"),
    Case("csv_header_only.csv", "file has a header row but no records", ("line 1",), mapping=QA),
    # ---- fields: refused in abort mode, rejected alone in skip mode
    Case("wrong_type.jsonl", "expected a string, got an integer", ("line 3", "field 'output'"), 2, (3,)),
    Case("null_field.jsonl", "expected a string, got null", ("line 1", "field 'instruction'"), 2, (1,)),
    Case(
        "content_parts.jsonl",
        "got a list (lists of content parts, e.g. images, are not supported)",
        ("line 2", "message 1 of 'messages', field 'content'"),
        1,
        (2,),
    ),
    Case(
        "missing_field.jsonl",
        "required field is missing (an Alpaca record needs 'instruction' and 'output'; keys found: instruction, input)",
        ("line 3", "field 'output'"),
        2,
        (3,),
    ),
    Case(
        "missing_role.jsonl", "required field is missing", ("line 2", "message 1 of 'messages', field 'role'"), 1, (2,)
    ),
    Case("nested_junk.jsonl", "expected a string, got an object", ("line 3", "field 'output'"), 2, (3,)),
    Case("unknown_keys.jsonl", "no known format fits these records (keys found: foo, bar)"),
    Case("mixed_formats.jsonl", "line 1 fits alpaca, line 3 fits openai"),
    Case("mixed_formats_line5.jsonl", "line 1 fits alpaca, line 5 fits openai"),
    Case(
        "bom.jsonl",
        "required field is missing (a ShareGPT record needs 'conversations'",
        ("line 1", "field 'conversations'"),
        fmt="sharegpt",
        id="wrong_format_chosen",
    ),
    # ---- conversations
    Case(
        "roles_out_of_order.jsonl",
        "expected 'user' as message 1, got 'assistant'",
        ("line 2", "message 1 of 'messages', field 'role'"),
        1,
        (2,),
    ),
    Case(
        "sharegpt_out_of_order.json",
        "expected 'gpt' as turn 2, got 'human'",
        ("line 14", "turn 2 of 'conversations', field 'from'"),
        1,
        (14,),
    ),
    Case(
        "system_in_middle.jsonl",
        "system messages must come first",
        ("line 2", "message 2 of 'messages', field 'role'"),
        1,
        (2,),
    ),
    Case(
        "no_assistant_turn.jsonl",
        "no assistant turn: the last message must be from the assistant (got 'user')",
        ("line 2", "message 2 of 'messages', field 'role'"),
        1,
        (2,),
    ),
    Case("empty_conversation.jsonl", "empty conversation", ("line 2", "field 'messages'"), 1, (2,)),
    # the only record is rejected: skip mode refuses too, see test_every_record_rejected_names_the_first_reason
    Case("empty_conversation.json", "empty conversation", ("line 2", "field 'conversations'")),
    # ---- control characters
    Case(
        "control_char.jsonl",
        "contains control character U+0007 at character 5",
        ("line 3", "field 'instruction'"),
        2,
        (3,),
    ),
    Case("nul_escape.jsonl", "control character U+0000", ("line 3", "field 'output'"), 2, (3,)),
    Case(
        "control_char.csv",
        "control character U+001B",
        ("line 3", "field 'answer'"),
        1,
        (3,),
        mapping=QA,
    ),
    # ---- CSV
    Case("csv_embedded_newlines.csv", None, imported=3, mapping=QA),
    Case("csv_wrong_field_count.csv", "expected 2 fields as in the header", ("line 4"), mapping=QA),
    Case("csv_unclosed_quote.csv", "a quoted field starts in this record and is never closed", ("line 3")),
    Case("line_50mb.csv", "is never closed", ("line 2"), mapping=QA),
    Case("csv_duplicate_header.csv", "the header names column 'question' twice", ("line 1",)),
    Case("csv_stray_quote.csv", "',' expected after '\"' (a '\"' inside a quoted field must be doubled", ("line 3",)),
    # ---- Parquet: no lines, so the record locates the fault
    Case("parquet_wrong_types.parquet", "expected a string, got an integer", ("record 1", "field 'output'")),
    Case("parquet_wrong_schema.parquet", "no known format fits these records (keys found: id, score)"),
    Case("parquet_corrupt.parquet", "not a readable Parquet file"),
    Case("parquet_truncated.parquet", "not a readable Parquet file"),
    # ---- decompression bombs and records over the limit: refused before they are decoded or read whole
    Case("parquet_bomb.parquet", "over 100 times the file's size: a small file repeating long texts"),
    Case("parquet_nested_bomb.parquet", "over 100 times the file's size: a small file repeating long texts"),
    Case("line_over_limit.jsonl", "a line over 64 MB, the most one record may hold", ("line 3",)),
    Case("array_record_over_limit.json", "a record over 64 MB, the most one record may hold", ("line 7",)),
    # ---- not text
    Case("image.jsonl", "not a UTF-8 text file: it looks like binary data (it contains NUL bytes)"),
    Case("archive.csv", "it looks like a ZIP archive"),
    Case("bomb.jsonl.gz", "it looks like gzip-compressed data (decompress it first)"),
    # ---- long messages import whole
    Case("long_message.jsonl", None, imported=3),
    # ---- a mapping naming absent fields
    Case(
        "csv_embedded_newlines.csv",
        "the mapping reads field 'reply' for response, but the records of",
        ("no such field; fields found: question, answer",),
        error=MappingError,
        mapping="prompt=question,response=reply",
        id="mapping_names_absent_field",
    ),
    Case(
        "bom.jsonl",
        "the mapping reads field 'query' for prompt",
        error=MappingError,
        mapping="prompt=query,response=output",
        id="mapping_on_jsonl_names_absent_field",
    ),
    # ---- skip mode with several bad records among good ones
    Case(
        "some_bad_records.jsonl",
        "expected a string, got an integer",
        ("line 3", "field 'output'"),
        3,
        (3, 5),
    ),
    Case("some_bad_records.csv", "U+0001", ("line 4", "field 'answer'"), 3, (4,), mapping=QA),
]


def case_id(case: Case) -> str:
    return case.id or case.file


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    return make_bad.write_big(tmp_path_factory.mktemp("big"))


def source_of(case: Case, big_files: dict[str, Path]) -> Path:
    return big_files[case.file] if case.file in BIG else BAD / case.file


@pytest.fixture(scope="module")
def base_workspace(tmp_path_factory) -> Path:
    """A workspace with one source already in, so "unchanged" has something to keep. Each test works on a copy."""
    folder = tmp_path_factory.mktemp("base")
    good = folder / "good.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in [make_bad._alpaca(10), make_bad._alpaca(11)]))
    db = folder / "ws.duckdb"
    with Store(db) as store:
        import_file(store, good, user="base")
    return db


@pytest.fixture
def workspace(base_workspace, tmp_path) -> Path:
    db = tmp_path / "ws" / "ws.duckdb"
    db.parent.mkdir()
    shutil.copy(base_workspace, db)
    return db


def snapshot(db: Path) -> dict:
    """Everything a refused import must leave as it was."""
    with Store(db) as store:
        return {
            "samples": store.count(),
            "ids": store.page(limit=10_000).column("id").to_pylist(),
            "sources": store.sources(),
            "events": store.recent_events(10_000),
            "jobs": store.jobs(1_000),
            "files": sorted(p.name for p in db.parent.iterdir() if not p.name.endswith(".wal")),
        }


def assert_message(message: str, case: Case, name: str) -> None:
    assert name in message, message  # the file, as the user named it
    assert case.problem in message, message
    for part in case.where:
        assert part in message, (part, message)
    assert "\n" not in message and len(message) < 600, message  # one short line: no echo of a 50 MB record


def no_rejects_beside(path: Path) -> None:
    assert not path.with_name(path.name + ".rejects.jsonl").exists()


# ------------------------------------------------------------------------------------------------------------ corpus


def test_the_corpus_is_what_make_bad_writes_and_every_file_has_a_case():
    built = make_bad.build()
    on_disk = {p.name for p in BAD.iterdir() if p.name != "make_bad.py" and not p.name.startswith("__")}
    assert on_disk == set(built)
    for name, data in built.items():
        if not name.endswith(".parquet"):  # pyarrow writes its version into the file: compare the others byte for byte
            assert (BAD / name).read_bytes() == data, f"{name} differs from make_bad.py's: run it again"
    assert {c.file for c in CASES} == set(built) | set(BIG)
    assert len({case_id(c) for c in CASES}) == len(CASES) >= 25


# ------------------------------------------------------------------------------------------------------------ core


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_import_refuses_or_imports_as_decided(case, workspace, big_files, tmp_path):
    path = source_of(case, big_files)
    before = snapshot(workspace)
    rejects = tmp_path / "rejects.jsonl"
    with Store(workspace) as store:
        if case.problem is None:
            report = import_file(store, path, user="ana", mapping=case.mapping, fmt=case.fmt, rejects_path=rejects)
            assert (report.imported, report.rejected) == (case.imported, 0)
            assert store.count() == before["samples"] + case.imported
            assert [s["name"] for s in store.sources()][-1] == path.name
            return
        with pytest.raises(case.error) as err:
            import_file(store, path, user="ana", mapping=case.mapping, fmt=case.fmt, rejects_path=rejects)
    assert_message(str(err.value), case, path.name)
    if isinstance(err.value, FormatError):
        assert err.value.path is not None and Path(err.value.path).name == path.name
    assert snapshot(workspace) == before
    assert not rejects.exists()
    no_rejects_beside(path)


SKIPPING = [c for c in CASES if c.skipped is not None]
# Record faults in files where every record has one: skip mode refuses those too, naming the first reason.
ALL_REJECTED = ("empty_conversation.json", "parquet_wrong_types.parquet", "wrong_format_chosen")
STRUCTURAL = [
    c for c in CASES if c.problem and c.skipped is None and c.error is FormatError and case_id(c) not in ALL_REJECTED
]


@pytest.mark.parametrize("case", SKIPPING, ids=case_id)
def test_skip_mode_imports_the_good_records_and_lists_the_bad_with_their_lines(case, workspace, big_files, tmp_path):
    path = source_of(case, big_files)
    before = snapshot(workspace)
    rejects = tmp_path / "rejects" / "out.rejects.jsonl"
    rejects.parent.mkdir()
    with Store(workspace) as store:
        report = import_file(store, path, user="ana", mapping=case.mapping, on_error="skip", rejects_path=rejects)
        assert (report.imported, report.rejected) == (case.imported, len(case.skipped))
        assert store.count() == before["samples"] + case.imported
        assert store.sources()[-1]["rejected"] == len(case.skipped)
    assert report.rejects_path == str(rejects)
    written = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in written] == list(case.skipped)
    assert written[0]["error"] == report.errors[0]
    lineless = case.skipped[0] is None  # then only the record and field locate it
    assert_message(
        report.errors[0],
        Case(case.file, case.problem, tuple(w for w in case.where if not (lineless and w.startswith("line ")))),
        path.name,
    )
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600  # rejected records are people's data too
    assert not list(rejects.parent.glob("*.partial"))


@pytest.mark.parametrize("case", STRUCTURAL, ids=case_id)
def test_skip_mode_still_refuses_a_file_whose_structure_is_broken(case, workspace, big_files, tmp_path):
    path = source_of(case, big_files)
    before = snapshot(workspace)
    with Store(workspace) as store, pytest.raises(FormatError) as err:
        import_file(
            store,
            path,
            user="ana",
            mapping=case.mapping,
            fmt=case.fmt,
            on_error="skip",
            rejects_path=tmp_path / "r.jsonl",
        )
    assert_message(str(err.value), case, path.name)
    assert snapshot(workspace) == before and not (tmp_path / "r.jsonl").exists()


@pytest.mark.parametrize("case", [c for c in CASES if case_id(c) in ALL_REJECTED], ids=case_id)
def test_every_record_rejected_names_the_first_reason(case, workspace, tmp_path):
    before = snapshot(workspace)
    with Store(workspace) as store, pytest.raises(FormatError) as err:
        import_file(
            store, BAD / case.file, user="ana", fmt=case.fmt, on_error="skip", rejects_path=tmp_path / "r.jsonl"
        )
    message = str(err.value)
    assert message.startswith(f"{case.file}: no record could be imported (")
    first = message.split("the first: ", 1)[1]
    # the first rejected record, located as in abort mode: by its line, or its number from 1 where there are no lines
    assert case.problem in first and case.where and all(w in first for w in case.where), message
    assert snapshot(workspace) == before and not (tmp_path / "r.jsonl").exists()


def test_harmless_oddities_keep_their_text_exactly(tmp_path, big_files):
    with Store(tmp_path / "ws.duckdb") as store:

        def messages(name: str, mapping: str | None = None, path: Path | None = None) -> list[list[dict]]:
            report = import_file(store, path or BAD / name, user="ana", mapping=mapping)
            ids = store.page(SampleFilter(source_ids=[report.source_id]), limit=100).column("id").to_pylist()
            return [store.get_sample(i)["messages"] for i in ids]

        def texts_of(chats):
            return [[m["content"] for m in chat] for chat in chats]

        # A byte order mark is not part of the first key (or of the CSV header's first column).
        bom = messages("bom.jsonl")
        assert texts_of(bom) == [["Question 0?", "Answer 0."], ["Question 1?", "Answer 1."]]
        with Store(tmp_path / "csv.duckdb") as csv_store:
            import_file(csv_store, BAD / "bom.csv", user="ana", mapping=QA)
            assert csv_store.get_sample(csv_store.page().column("id")[0].as_py())["raw"] == {
                "question": "q0",
                "answer": "a0",
            }
        # Quoted newlines (LF and CRLF) and doubled quotes in CSV are text, not record breaks.
        assert texts_of(messages("csv_embedded_newlines.csv", QA)) == [
            ["Two\nlines?", "Yes,\r\nthree\nlines."],
            ["q2", "a2"],
            ['Last "quoted"', "fine"],
        ]
        assert texts_of(messages("unicode_text.jsonl")) == [
            ["Line\u2028separator and paragraph\u2029separator", "مرحبا 👋🏽 Ω"],
            ["tab\there, cr\rthere", "zero\u200bwidth"],
        ]
        long = messages("long_message.jsonl", path=big_files["long_message.jsonl"])[-1]
        assert long[1]["content"] == "word " * ((make_bad.LONG_MESSAGE_MB << 20) // 5)


# ------------------------------------------------------------------------------------------------------------ CLI


def run_import(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", "import", *map(str, args), "--no-signals"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "WINNOW_USER": "ci"},
        timeout=HANG_S,
    )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cli_prints_one_line_and_exits_2(case, workspace, big_files):
    path = source_of(case, big_files)
    before = snapshot(workspace)
    options = [
        *(["--map", case.mapping] if case.mapping else []),
        *(["--format", case.fmt] if case.fmt != "auto" else []),
    ]
    out = run_import(path, "--db", workspace, *options)
    assert "Traceback" not in out.stderr, out.stderr
    if case.problem is None:
        assert out.returncode == 0, out.stderr
        assert f"imported {case.imported} records" in out.stdout
        return
    assert out.returncode == 2, (out.stdout, out.stderr)
    # Off a terminal the progress bar is plain "import NAME: DONE/TOTAL" lines; the error is the one line after them.
    *progress, last = out.stderr.rstrip("\n").split("\n")
    assert last.startswith("error: ") and all(line.startswith(f"import {path.name}: ") for line in progress), out.stderr
    assert_message(last.removeprefix("error: "), case, path.name)
    assert out.stdout == ""
    assert snapshot(workspace) == before
    no_rejects_beside(path)


# ------------------------------------------------------------------------------------------------------------ page


PAGE_CASES = ["broken_json.jsonl", "image.jsonl", "csv_unclosed_quote.csv", "bomb.jsonl.gz", "wrong_type.jsonl"]


@pytest.mark.parametrize("name", PAGE_CASES)
def test_import_page_shows_the_error_and_changes_nothing(name, tmp_path, monkeypatch):
    from page_workspace import finish_job

    store = new_workspace(tmp_path, monkeypatch)
    case = next(c for c in CASES if c.file == name)
    at = open_app()
    at.radio(key="import_how").set_value("A file on the server").run()
    at.text_input(key="import_path").set_value(str(BAD / name)).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    # The preview reads the first records: a broken file is named with its fault before anything is imported.
    assert any(case.problem in e and name in e for e in errors), errors

    at.button(key="import_go").click().run()
    finish_job(at, "import_job")
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    failed = [e for e in errors if case.problem in e and all(part in e for part in case.where)]
    assert failed and name in failed[-1], errors
    assert "This is a bug" not in texts(at)
    assert store.count() == 0 and store.sources() == []


def test_an_upload_of_a_broken_file_is_refused_the_same_way(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    at = open_app()
    at.file_uploader(key="import_upload").upload("bomb.jsonl.gz", (BAD / "bomb.jsonl.gz").read_bytes()).run()
    assert not at.exception, at.exception
    assert any("gzip-compressed data (decompress it first)" in e.value for e in at.error)
    assert store.count() == 0
