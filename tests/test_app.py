"""app.py: the pages, the workspace choice in the sidebar, the counts, and orphaned jobs failed at startup."""

from __future__ import annotations

import pytest
from page_workspace import APP, USER, load, navigation_v2, new_workspace, open_app
from streamlit.testing.v1 import AppTest

from core.store import Store
from pages import _common


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_sidebar_shows_workspace_user_and_review_counts(store):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    first = store.page(limit=1).to_pylist()[0]
    store.update_sample(first["id"], first["version"], user=USER, status="accepted")

    at = open_app()

    assert at.sidebar.text_input[0].value == str(store.path)
    sidebar = "\n".join(str(e.value) for e in at.sidebar.caption)
    assert USER in sidebar
    assert at.sidebar.get("progress")[0].proto.text == "1 of 7 reviewed"
    # Every page registered in app.py opens.
    for page in ("pages/import_data.py", "pages/browse.py", "pages/review.py", "pages/export.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.sidebar.text_input[0].value == str(store.path), page
        assert at.sidebar.get("progress")[0].proto.text == "1 of 7 reviewed"


def test_switching_workspace_opens_another_file(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app()
    other = tmp_path / "other" / "second.duckdb"

    at.sidebar.text_input[0].set_value(str(other)).run()

    assert not at.exception
    assert other.exists()
    assert at.sidebar.get("progress")[0].proto.text == "0 of 0 reviewed"
    assert _common.get_store(other).count() == 0
    assert store.count() == 4  # the first workspace is untouched


def test_a_file_that_is_not_a_workspace_is_a_one_line_error(store, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 200)
    at = open_app()

    at.sidebar.text_input[0].set_value(str(junk)).run()

    assert not at.exception  # no traceback: a user's mistake
    assert "cannot open workspace" in at.sidebar.error[0].value


def test_jobs_left_running_by_a_dead_process_are_failed_on_startup(tmp_path, monkeypatch):
    db = tmp_path / "crashed.duckdb"
    with Store(db) as previous:  # an earlier app process that died mid-job
        job = previous.create_job("score", {"scorers": ["ifd"]}, user=USER)
        previous.update_job(job, status="running")
    monkeypatch.setenv("WINNOW_DB", str(db))
    navigation_v2(monkeypatch)

    open_app()

    assert _common.get_store(db).get_job(job)["status"] == "failed"


def test_a_page_url_as_the_first_run_still_goes_through_app_py(tmp_path, monkeypatch):
    """After a server start, Streamlit runs a page's URL as an old-style pages/ page, without app.py, until
    st.navigation has run once. AppTest starts every run that way, so no navigation_v2 here."""
    db = tmp_path / "ws.duckdb"
    monkeypatch.setenv("WINNOW_DB", str(db))
    load(_common.get_store(db), "chats_openai.jsonl")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()

    at.switch_page("pages/review.py").run()

    assert not at.exception
    assert at.sidebar.text_input[0].value == str(db)  # app.py ran: the sidebar is there
    assert at.button(key="review_accept")  # and the page asked for
