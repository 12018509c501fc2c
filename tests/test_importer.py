"""Importing real files into real workspaces: all-or-nothing, skip mode, duplicates, re-imports, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.demo import DEMO_DIR, DEMO_FILES
from core.errors import FormatError, MappingError, WinnowError
from core.formats.messages import answer_text, content_hash, prompt_text
from core.importing import preview
from core.importing.rejects import dated_rejects_path
from core.importing.uploads import save_upload
from core.importing.workspace import import_file, import_signals
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
    records = [*ALPACA[:2], {"instruction": "x", "input": "", "output": ["not", "a", "string"]}]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(FormatError) as err:
        import_file(store, path, user="ana")
    message = str(err.value)
    assert message.startswith("bad.jsonl, line 3, field 'output': ") and "record" not in message
    assert store.count() == 0 and store.sources() == []


def test_skip_mode_imports_good_records_and_writes_rejects(tmp_path, store):
    records = [*ALPACA[:2], {"instruction": "x", "input": "", "output": 5}, ALPACA[2]]
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    report = import_file(store, path, user="ana", on_error="skip")
    assert (report.imported, report.rejected) == (3, 1)
    rejects = [json.loads(line) for line in Path(report.rejects_path).read_text(encoding="utf-8").splitlines()]
    assert (
        len(rejects) == 1 and rejects[0]["record"] == 3 and rejects[0]["line"] == 3 and rejects[0]["data"] == records[2]
    )
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


# ---------------------------------------------------------------------------------------------------- worker process
# Big files are parsed in a worker process. These tests send small files down that path by lowering the size
# threshold, and use small chunks so that a file spans many of them.


def many_alpaca(n: int) -> list[dict]:
    """n records, every 7th a repeat of an earlier one (duplicates across chunks), some with a system prompt or a
    history."""
    records = []
    for i in range(n):
        if i % 7 == 6:
            records.append(dict(records[i // 2]))
        else:
            rec = {"instruction": f"Question {i}: 翻译 {'x' * (i % 50)}", "input": "", "output": f"Answer {i}"}
            if i % 5 == 0:
                rec["system"] = "Be brief."
            if i % 11 == 0:
                rec["history"] = [["Hello?", f"Hi {i}."]]
            records.append(rec)
    return records


def parse_in(monkeypatch, where: str) -> None:
    """Make imports parse in a "worker" process or a "thread", in chunks of 100 records."""
    from core.importing import parse, workspace

    monkeypatch.setattr(workspace, "PROCESS_MIN_BYTES", 0 if where == "worker" else 1 << 40)
    monkeypatch.setattr(parse, "CHUNK", 100)


@pytest.fixture
def in_worker(monkeypatch):
    parse_in(monkeypatch, "worker")


def worker_processes():
    """This process's import workers that are still running."""
    psutil = pytest.importorskip("psutil")
    found = []
    for p in psutil.Process().children():
        try:
            if "core.importing.worker" in " ".join(p.cmdline()):  # not the scoring worker (process_engine)
                found.append(p)
        except psutil.Error:  # gone, or a zombie
            pass
    return found


def test_worker_imports_the_same_samples_as_a_thread(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "many.jsonl", many_alpaca(1000))
    rows = {}
    for where in ("thread", "worker"):
        parse_in(monkeypatch, where)
        with Store(tmp_path / f"{where}.duckdb") as s:
            import_file(s, path, user="ana")
            import_file(s, path, user="ana", allow_reimport=True)  # ids of repeats depend on what is there already
            rows[where] = [s.get_sample(r["id"]) for r in s.page(limit=5000).to_pylist()]
    for r in rows["thread"] + rows["worker"]:
        del r["created_at"], r["updated_at"]
    assert len(rows["worker"]) == 2000 and sum(r["dup_of"] is not None for r in rows["worker"]) == 1000 + 1000 // 7
    assert rows["worker"] == rows["thread"]
    for r in rows["worker"][:200]:  # the text views against their reference definitions
        assert r["prompt"] == prompt_text(r["messages"]) and r["answer"] == answer_text(r["messages"])
        assert r["n_turns"] == sum(m["role"] == "user" for m in r["messages"])
        assert r["content_hash"] == content_hash(r["messages"], r["tools"])


def samples_via(tmp_path, monkeypatch, where: str, path, mapping=None) -> list[dict]:
    """Every sample of ``path`` once imported into a new workspace, parsed in a worker or a thread."""
    parse_in(monkeypatch, where)
    with Store(tmp_path / f"{where}-{path.name}.duckdb") as s:
        import_file(s, path, user="ana", mapping=mapping)
        rows = [s.get_sample(r["id"]) for r in s.page(limit=5000).to_pylist()]
    for r in rows:
        del r["created_at"], r["updated_at"]
    return rows


@pytest.mark.parametrize("name, mapping", DEMO_FILES)
def test_worker_reads_every_format_and_container_like_a_thread(tmp_path, monkeypatch, name, mapping):
    path = DEMO_DIR / name
    assert samples_via(tmp_path, monkeypatch, "worker", path, mapping) == samples_via(
        tmp_path, monkeypatch, "thread", path, mapping
    )


def test_worker_reads_parquet_like_a_thread(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "history": r.get("history", [])} for r in ALPACA]), path)
    rows = samples_via(tmp_path, monkeypatch, "worker", path)
    assert len(rows) == 4 and rows == samples_via(tmp_path, monkeypatch, "thread", path)


@pytest.mark.parametrize("where", ["thread", "worker"])
def test_progress_and_duplicates(tmp_path, store, monkeypatch, where):
    parse_in(monkeypatch, where)
    path = write_jsonl(tmp_path / "many.jsonl", many_alpaca(20_000))
    calls = []
    report = import_file(store, path, user="ana", progress=lambda done, total: calls.append((done, total)))
    assert (report.format, report.imported, report.duplicates) == ("alpaca", 20_000, 20_000 // 7)
    assert calls[-1] == (path.stat().st_size, path.stat().st_size) and len(calls) > 3
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert worker_processes() == []


def test_worker_bad_record_near_the_end_aborts_everything(tmp_path, store, in_worker):
    records = many_alpaca(5000)
    records[4990] = {"instruction": "x", "output": ["not", "a", "string"]}
    path = write_jsonl(tmp_path / "late.jsonl", records)
    with pytest.raises(FormatError) as err:
        import_file(store, path, user="ana")
    e = err.value
    assert (e.path, e.line, e.record, e.field) == ("late.jsonl", 4991, 4990, "output")
    assert store.count() == 0 and store.sources() == []
    assert worker_processes() == []


def test_worker_skip_mode_writes_rejects(tmp_path, store, in_worker):
    records = many_alpaca(3000)
    bad = {5: {"instruction": "x", "output": 5}, 2999: {"output": "no instruction"}}
    for i, rec in bad.items():
        records[i] = rec
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    report = import_file(store, path, user="ana", on_error="skip")
    assert (report.imported, report.rejected) == (2998, 2)
    rejects = [json.loads(line) for line in Path(report.rejects_path).read_text(encoding="utf-8").splitlines()]
    assert [(r["record"], r["line"], r["data"]) for r in rejects] == [(6, 6, bad[5]), (3000, 3000, bad[2999])]
    assert "line 3000, field 'instruction'" in report.errors[1]
    assert store.sources()[0]["rejected"] == 2


def test_worker_errors_keep_their_kind(tmp_path, store, in_worker):
    path = write_jsonl(tmp_path / "gsm.jsonl", [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(500)])
    with pytest.raises(MappingError, match="query"):
        import_file(store, path, user="ana", mapping="prompt=query,response=answer")
    report = import_file(store, path, user="ana", mapping="prompt=question,response=answer")
    assert (report.format, report.imported) == ("mapped", 500)
    unknown = write_jsonl(tmp_path / "odd.jsonl", [{"foo": i} for i in range(500)])
    with pytest.raises(FormatError) as err:
        import_file(store, unknown, user="ana")
    assert err.value.path == str(unknown)
    assert store.count() == 500


def test_worker_killed_mid_import_fails_cleanly(tmp_path, store, in_worker):
    # Bigger than the pipe holds, so the worker is still running when the first chunks arrive.
    path = write_jsonl(tmp_path / "many.jsonl", many_alpaca(30_000))

    def kill_worker(done, total):
        for p in worker_processes():
            p.kill()

    with pytest.raises(WinnowError, match="parser process stopped unexpectedly"):
        import_file(store, path, user="ana", progress=kill_worker)
    assert store.count() == 0 and store.sources() == []


@pytest.mark.parametrize("where", ["thread", "worker"])
def test_cancelled_import_stops_the_parser(tmp_path, store, monkeypatch, where):
    from core.errors import Cancelled

    parse_in(monkeypatch, where)
    path = write_jsonl(tmp_path / "many.jsonl", many_alpaca(30_000))

    def cancel(done, total):
        raise Cancelled("import job 1 was cancelled")

    with pytest.raises(Cancelled):
        import_file(store, path, user="ana", progress=cancel)
    assert store.count() == 0 and store.sources() == []
    assert worker_processes() == []


def test_unwritable_rejects_file_stops_the_import_before_commit(tmp_path, store):
    records = [*ALPACA[:2], {"instruction": "x", "input": "", "output": 5}]
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    with pytest.raises(WinnowError, match="cannot write the rejects file"):
        import_file(store, path, user="ana", on_error="skip", rejects_path=tmp_path / "no" / "such" / "r.jsonl")
    assert store.count() == 0 and store.sources() == []


# ------------------------------------------------------------------------------------------------------------ uploads


BAD = Path(__file__).parent / "data" / "bad"


def test_an_upload_is_parsed_under_a_memory_cap_and_a_bomb_fails_alone(tmp_path, store):
    # 14 KB on disk, 8 GB once decoded, in a nested column that cannot be measured before decoding: the capped worker
    # runs out of its own memory and says so; this process and the workspace are untouched.
    bomb = BAD / "parquet_nested_bomb.parquet"
    with pytest.raises(WinnowError) as err:
        import_file(store, bomb, user="ana", memory_mb=700)
    assert "parquet_nested_bomb.parquet: " in str(err.value) and "more memory" in str(err.value)
    assert store.count() == 0 and store.sources() == []
    with pytest.raises(WinnowError, match="more memory"):
        preview.preview(bomb, memory_mb=700)
    # A good file goes through the same capped worker.
    good = write_jsonl(tmp_path / "good.jsonl", ALPACA)
    assert import_file(store, good, user="ana", memory_mb=700).imported == len(ALPACA)


def test_the_preview_stops_at_its_budget_of_text(tmp_path, monkeypatch):
    monkeypatch.setattr(preview, "PREVIEW_BUDGET", 5 * preview.PREVIEW_CHARS)
    many = [{"instruction": "q", "output": "x" * preview.PREVIEW_CHARS} for _ in range(20)]
    assert len(preview.preview(write_jsonl(tmp_path / "a.jsonl", many))) == 5


def test_the_preview_is_bounded_whatever_the_file_holds(tmp_path):
    long_text = "长" * (3 * preview.PREVIEW_CHARS)
    many = [{"instruction": f"q{i}", "output": long_text} for i in range(preview.DETECT_SAMPLE + 20)]
    path = write_jsonl(tmp_path / "long.jsonl", many)
    for memory_mb in (None, 700):  # in this process, and in the capped worker the app uses
        head = preview.preview(path, memory_mb=memory_mb)
        assert [line for _, line, _ in head] == list(range(1, len(head) + 1))
        # each text cut, with a note of what was left out; the whole stays within the budget
        output = head[0][2]["output"]
        assert output.startswith("长" * preview.PREVIEW_CHARS) and output.endswith("more characters not shown)")
        assert len(head) == preview.DETECT_SAMPLE
        assert head[0][2]["instruction"] == "q0"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"instruction": "q", "output": "a"}\n{"instruction": \n')
    with pytest.raises(FormatError, match=r"broken\.jsonl, line 2: invalid JSON"):
        preview.preview(broken, memory_mb=700)


def test_an_upload_is_saved_once_owner_only_under_a_safe_name(tmp_path):
    folder = tmp_path / "uploads"
    data = b'{"instruction": "q", "output": "a"}\n'
    path = save_upload(data, "../My File (1).jsonl", "0123456789abcdef", folder=folder, limit_mb=1)
    assert path == folder / "0123456789ab-My_File_1_.jsonl" and path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    # the same upload again (a rerun of the page) finds its file and does not write it again
    assert save_upload(b"other bytes", "../My File (1).jsonl", "0123456789abcdef", folder=folder, limit_mb=1) == path
    assert path.read_bytes() == data
    assert save_upload(data, "...", "fedcba9876543210", folder=folder, limit_mb=1).name == "fedcba987654-upload"
    with pytest.raises(WinnowError, match=r"big\.jsonl: 2\.0 MB is over the upload limit of 1 MB"):
        save_upload(b"x" * (2 << 20), "big.jsonl", "aaaaaaaaaaaaaaaa", folder=folder, limit_mb=1)
    assert not list(folder.glob("aaaa*"))


def test_the_import_pages_rejects_get_a_dated_name_in_their_folder(tmp_path):
    path = dated_rejects_path(tmp_path / "rejects", "bad_alpaca.jsonl")
    assert path.parent.is_dir() and path.parent == tmp_path / "rejects"
    assert re.fullmatch(r"bad_alpaca-\d{8}-\d{6}\.rejects\.jsonl", path.name)


def test_the_signals_after_an_import_score_only_what_is_new(store, tmp_path):
    import_file(store, write_jsonl(tmp_path / "a.jsonl", ALPACA), user="ana")
    seen = []
    report = import_signals(store, progress=lambda done, total, message: seen.append((done, total)))
    assert report.scorer == "heuristics" and report.scored == len(ALPACA) - 1 and seen  # the last is a duplicate
    assert import_signals(store).scored == 0  # what is scored already is skipped
