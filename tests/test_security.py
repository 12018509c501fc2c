"""Security: text is data (never SQL, HTML or script), uploads are capped, exports stay in their folder, the server
listens on this machine only, and workspace files are private to their owner."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from page_workspace import USER, new_workspace, open_app, write_jsonl

from core.errors import NotFound, PermissionDenied, WinnowError
from core.export import export_samples
from core.importing.workspace import import_file
from core.settings import PROJECT_ROOT, load_settings
from core.store import SampleEdit, SampleFilter, Store
from core.training.writing import export_target

# Text that would do something if it reached SQL, HTML, Markdown, a shell or a template unescaped.
EVIL = [
    "Robert'); DROP TABLE samples;--",
    "![pixel](http://127.0.0.1:9/track.png)",
    "<script>alert('xss')</script>",
    "[click me](javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    "' OR '1'='1' --",
    '"; DELETE FROM sources WHERE "1"="1',
    "100% of _all_ rows \\ LIKE '%'",
    "{{7*7}} ${7*7} $(rm -rf ~) `id`",
    ".* (?i) [a-z]+ regex?",
]
EVIL_NAME = "evil'; DROP TABLE sources;--.jsonl"


def evil_records() -> list[dict]:
    return [{"instruction": f"Q{i}: {text}", "input": "", "output": f"A{i}: {text}"} for i, text in enumerate(EVIL)]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------------------------------ text


def test_sql_and_html_looking_text_is_stored_searched_edited_and_exported_as_plain_text(tmp_path):
    records = evil_records()
    src = write_jsonl(tmp_path / EVIL_NAME, [*records, {"instruction": "plain", "input": "", "output": "text"}])
    with Store(tmp_path / "ws.duckdb") as store:
        report = import_file(store, src, user="ana")
        assert report.imported == len(records) + 1
        assert [s["name"] for s in store.sources()] == [EVIL_NAME]
        rows = store.page(limit=100).to_pylist()
        assert [(r["prompt"], r["answer"]) for r in rows[: len(EVIL)]] == [
            (r["instruction"], r["output"]) for r in records
        ]

        # Search takes the text literally: quotes, SQL wildcards (% _) and regex syntax match only themselves.
        for text in [*EVIL, "%", "_", "\\", ".*", "'"]:
            expected = [r["id"] for r in rows if text.lower() in (r["prompt"] + "\n" + r["answer"]).lower()]
            found = store.page(SampleFilter(text=text), limit=100).column("id").to_pylist()
            assert found == expected, text
        assert store.count(SampleFilter(text="DROP TABLE")) == 1

        # Edits: tags, notes and messages keep every character, and the audit log records them as they were.
        target = rows[0]["id"]
        messages = [{"role": "user", "content": EVIL[1]}, {"role": "assistant", "content": EVIL[4]}]
        store.update_sample(target, 1, SampleEdit(tags=[EVIL[0], EVIL[5]], note=EVIL[7], messages=messages), user="ana")
        sample = store.get_sample(target)
        assert (sorted(sample["tags"]), sample["note"], sample["messages"]) == (
            sorted([EVIL[0], EVIL[5]]),
            EVIL[7],
            messages,
        )
        assert store.page(SampleFilter(tag=EVIL[0])).column("id").to_pylist() == [target]
        assert {e["field"]: e["after"] for e in store.history(target)}["note"] == EVIL[7]
        with pytest.raises(NotFound):  # a column name is never spliced into SQL as given
            store.count(SampleFilter(score_ranges={"x; DROP TABLE samples": (0, 1)}))

        # Export writes the texts back exactly.
        out = tmp_path / "out.jsonl"
        export_samples(store, out, fmt="alpaca", user="ana", filters=SampleFilter(status=None))
        exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert exported[1:] == [*records[1:], {"instruction": "plain", "input": "", "output": "text"}]
        assert (exported[0]["instruction"], exported[0]["output"]) == (EVIL[1], EVIL[4])

        # Nothing was dropped or deleted along the way.
        assert store.count() == len(records) + 1 and len(store.sources()) == 1


def test_no_page_renders_html_or_runs_script():
    """Streamlit escapes HTML in Markdown unless asked not to: no page may ask, nor embed raw HTML. The one exception
    is pages/_scripts.py, which runs Winnow's own fixed scripts (json-encoded values, ``</`` escaped)."""
    unsafe = re.compile(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1|components\.html|iframe\(")
    files = [PROJECT_ROOT / "app.py", *sorted((PROJECT_ROOT / "pages").glob("*.py"))]
    found = [
        f"{f.name}:{n}" for f in files for n, line in enumerate(f.read_text().splitlines(), 1) if unsafe.search(line)
    ]
    assert found == ["_scripts.py:12"]


def test_the_pages_own_scripts_cannot_be_closed_by_what_they_carry(monkeypatch):
    from pages import _scripts

    shown = []
    monkeypatch.setattr(_scripts.st, "html", lambda body, **kw: shown.append((body, kw)))
    _scripts.run('const s = "</script><img src=x onerror=alert(1)>";')
    body, kw = shown[0]
    assert body.count("</script>") == 1 and body.endswith("</script>")
    assert kw == {"unsafe_allow_javascript": True}


def test_review_shows_the_text_literally(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    import_file(store, write_jsonl(tmp_path / "evil.jsonl", evil_records()), user=USER)
    at = open_app("pages/review.py")
    # Rendered as Markdown, HTML stays text: no element may allow raw HTML.
    assert at.markdown and not [m for m in at.markdown if m.proto.allow_html]
    # Verbatim, the messages are exactly the stored text.
    at.toggle(key="review_markdown").set_value(False).run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.code]
    assert f"Q0: {EVIL[0]}" in shown and f"A0: {EVIL[0]}" in shown
    assert store.count() == len(EVIL)


def test_browse_search_with_sql_shows_the_one_match(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    import_file(store, write_jsonl(tmp_path / "evil.jsonl", evil_records()), user=USER)
    at = open_app("pages/browse.py")
    at.text_input(key="browse_text").set_value("'); DROP TABLE samples;--").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["prompt"].tolist() == [f"Q0: {EVIL[0]}"]
    assert store.count() == len(EVIL)


def test_import_preview_shows_a_file_verbatim(tmp_path, monkeypatch):
    new_workspace(tmp_path, monkeypatch)
    src = write_jsonl(tmp_path / "evil.jsonl", evil_records())
    at = open_app()
    at.radio(key="import_how").set_value("A file on the server").run()
    at.text_input(key="import_path").set_value(str(src)).run()
    assert not at.exception, at.exception
    # Nothing imported yet: the file's Markdown (a remote image, a link) is shown as text, not rendered.
    shown = [c.value for c in at.code]
    assert f"Q1: {EVIL[1]}" in shown and f"A2: {EVIL[2]}" in shown and f"Q3: {EVIL[3]}" in shown


# ------------------------------------------------------------------------------------------------------------ uploads


def test_the_upload_limit_is_the_setting_and_is_enforced_on_the_server(tmp_path, monkeypatch):
    new_workspace(tmp_path, monkeypatch)
    monkeypatch.setenv("WINNOW_MAX_UPLOAD_MB", "1")
    at = open_app()
    uploader = at.file_uploader(key="import_upload")
    assert uploader.proto.max_upload_size_mb == 1  # what the browser checks
    # A request need not come from the browser: the page checks the size again before it keeps anything.
    big = b'{"instruction": "q", "output": "' + b"a" * (3 << 19) + b'"}\n'
    uploader.upload("big.jsonl", big, "application/json").run()
    assert not at.exception, at.exception
    assert any("big.jsonl" in e.value and "over the upload limit of 1 MB" in e.value for e in at.error)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_the_upload_limit_never_exceeds_the_servers(tmp_path, monkeypatch):
    import streamlit as st

    new_workspace(tmp_path, monkeypatch)
    server = int(st.get_option("server.maxUploadSize"))
    monkeypatch.setenv("WINNOW_MAX_UPLOAD_MB", str(server + 500))
    at = open_app()
    assert at.file_uploader(key="import_upload").proto.max_upload_size_mb == server


def test_uploads_are_kept_private(tmp_path, monkeypatch):
    new_workspace(tmp_path, monkeypatch)
    at = open_app()
    content = json.dumps([{"instruction": "q", "input": "", "output": "a"}]).encode()
    at.file_uploader(key="import_upload").upload("mine.json", content, "application/json").run()
    assert not at.exception, at.exception
    (kept,) = (tmp_path / "uploads").iterdir()
    assert kept.read_bytes() == content and private(kept)
    assert stat.S_IMODE((tmp_path / "uploads").stat().st_mode) == 0o700


def test_the_shipped_server_limit_matches_the_default_setting():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == load_settings({}).max_upload_mb


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_a_bad_upload_limit_is_named(value):
    with pytest.raises(WinnowError, match=f"WINNOW_MAX_UPLOAD_MB='{re.escape(value)}': expected a whole number"):
        load_settings({"WINNOW_MAX_UPLOAD_MB": value})


# ------------------------------------------------------------------------------------------------------------ exports


def test_export_names_stay_in_the_export_folder(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "link.jsonl").symlink_to(outside / "x.jsonl")
    (folder / "dirlink").symlink_to(outside)
    for name in ("../escape.jsonl", "/etc/passwd", str(outside / "x.jsonl"), "sub/x.jsonl", "..", "a\\..\\b"):
        with pytest.raises(PermissionDenied, match="plain file name"):
            export_target(folder, name)
    with pytest.raises(PermissionDenied, match="would land outside"):
        export_target(folder, "link.jsonl")
    for name in ("", ".hidden.jsonl", "bell\a.jsonl", "dataset_info.json", "x.jsonl.manifest.json"):
        with pytest.raises(WinnowError) as err:
            export_target(folder, name)
        assert not isinstance(err.value, PermissionDenied), name
    assert export_target(folder, "curated v2.jsonl") == folder / "curated v2.jsonl"
    # The folder itself may be a link (a data disk mounted elsewhere): names inside it are fine.
    (tmp_path / "exports-link").symlink_to(folder)
    assert export_target(tmp_path / "exports-link", "ok.jsonl") == tmp_path / "exports-link" / "ok.jsonl"


def test_export_page_refuses_absolute_paths_and_links_out(tmp_path, monkeypatch):
    store = new_workspace(tmp_path, monkeypatch)
    import_file(store, write_jsonl(tmp_path / "a.jsonl", evil_records()), user=USER)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "out.jsonl").symlink_to(tmp_path / "stolen.jsonl")
    at = open_app("pages/export.py")
    for bad in ("/etc/passwd", str(tmp_path / "x.jsonl"), "out.jsonl"):
        at.text_input(key="export_name").set_value(bad).run()
        assert any(bad in e.value for e in at.error), (bad, [e.value for e in at.error])
        assert at.button(key="export_go").disabled
    assert not (tmp_path / "stolen.jsonl").exists()


# ------------------------------------------------------------------------------------------------------------ server


def test_the_server_listens_on_this_machine_only():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    # Streamlit's cross-site protections stay on (they are on unless turned off).
    assert config["server"].get("enableXsrfProtection", True) and config["server"].get("enableCORS", True)
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "--server.address 127.0.0.1" in makefile and "0.0.0.0" not in makefile


def test_the_readme_says_how_to_expose_the_app_safely():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Exposing Winnow", 1)[1].split("\n## ", 1)[0]
    for words in ("reverse proxy", "TLS", "accounts", "127.0.0.1", "WINNOW_MAX_UPLOAD_MB"):
        assert words in section, words


# ------------------------------------------------------------------------------------------------------------ files


def test_workspace_export_and_manifest_files_are_private(tmp_path):
    db = tmp_path / "ws.duckdb"
    with Store(db) as store:
        import_file(store, write_jsonl(tmp_path / "a.jsonl", evil_records()), user="ana")
        report = export_samples(store, tmp_path / "exp" / "a.jsonl", fmt="alpaca", user="ana", filters=SampleFilter())
    for path in (db, Path(report.path), Path(report.manifest_path), Path(report.dataset_info_path)):
        assert private(path), path


def run_python(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )


def test_the_duckdb_log_is_private_in_winnow_processes(tmp_path):
    """DuckDB creates ``<workspace>.wal`` itself: the owner-only umask the entry points set is what covers it."""
    code = """
import os, stat, sys
from core.settings import keep_new_files_private
from core.store import Store
os.umask(0o022)  # a usual umask, as a shell gives
keep_new_files_private()
store = Store(sys.argv[1])
store._con.execute("SET checkpoint_threshold = '1GB'")  # keep the log: Winnow's own setting folds it in at commit
store.log_event("test", user="ana", detail={})
wal = sys.argv[1] + ".wal"
print(oct(stat.S_IMODE(os.stat(wal).st_mode)))
"""
    out = run_python(code, tmp_path / "ws.duckdb")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0o600"


def test_the_cli_creates_private_files(tmp_path):
    src = write_jsonl(tmp_path / "a.jsonl", [*evil_records(), {"instruction": "q", "output": 5}])
    db = tmp_path / "new" / "ws.duckdb"
    rejects = tmp_path / "r.rejects.jsonl"
    code = "import os, runpy, sys; os.umask(0o022); sys.argv = ['core', *sys.argv[1:]]; runpy.run_module('core')"
    out = run_python(code, "import", src, "--db", db, "--on-error", "skip", "--rejects", rejects, "--no-signals")
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700  # the folder the CLI made for the new workspace
    assert private(db) and private(rejects)


def test_the_app_sets_the_private_umask(tmp_path, monkeypatch):
    new_workspace(tmp_path, monkeypatch)
    before = os.umask(0o022)
    try:
        open_app()
        now = os.umask(0o022)
        assert now == 0o077
    finally:
        os.umask(before)
