"""The Users page's Backup (admins): a consistent copy of the whole workspace, taken while the app holds it open."""

from __future__ import annotations

import pytest
from page_workspace import load, new_workspace, open_app, texts

from core import jobs
from core.store import Store


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_an_admin_backs_up_the_open_workspace_into_one_file_that_opens_as_a_workspace(store, tmp_path):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    at = open_app("pages/users.py")
    out = tmp_path / "backups" / "today.duckdb"
    at.text_input(key="backup_out").set_value(str(out)).run()

    at.button(key="backup_go").click().run()
    jobs.wait(at.session_state["backup_job"]["id"])
    at.run()

    assert not at.exception
    assert f"Backed up 7 samples to `{out}`" in texts(at)
    assert not out.with_name(out.name + ".wal").exists()
    with Store(out, read_only=True) as copy:
        assert copy.count() == 7
        assert [u["name"] for u in copy.users()] == [u["name"] for u in store.users()]
    # The next backup is offered under a new name, and an existing file is replaced only when ticked.
    assert at.text_input(key="backup_out").value != str(out)
    at.text_input(key="backup_out").set_value(str(out)).run()
    assert at.checkbox(key="backup_force").value is False
    at.button(key="backup_go").click().run()
    jobs.wait(at.session_state["backup_job"]["id"])
    at.run()
    assert "exists: choose another name" in at.error[0].value
