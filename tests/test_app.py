"""app.py: sign-in and the first admin, the pages each role sees, the workspace choice in the sidebar, the counts,
and orphaned jobs failed at startup."""

from __future__ import annotations

import pytest
from page_workspace import APP, PASSWORD, USER, load, navigation_v2, new_workspace, open_app, signed_in_app, texts
from patience import HANG_S
from streamlit.testing.v1 import AppTest

from core.store import SampleEdit, Store
from core.team import accounts
from pages import _common, _sign_in_session


@pytest.fixture
def store(tmp_path, monkeypatch):
    return new_workspace(tmp_path, monkeypatch)


def test_sidebar_shows_workspace_user_and_review_counts(store):
    load(store, "chats_openai.jsonl", "tasks_alpaca.json")
    first = store.page(limit=1).to_pylist()[0]
    store.update_sample(first["id"], first["version"], SampleEdit(status="accepted"), user=USER)

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


def test_switching_workspace_opens_another_file_and_asks_for_its_first_admin(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app()
    other = tmp_path / "other" / "second.duckdb"

    at.sidebar.text_input[0].set_value(str(other)).run()

    assert not at.exception
    assert other.exists()
    assert "Create the first admin" in texts(at)  # a new workspace has no accounts: nobody is signed in to it
    at.text_input(key="first_admin_name").set_value("olga")
    at.text_input(key="first_admin_password").set_value("olga-password")
    at.text_input(key="first_admin_again").set_value("olga-password")
    at.button[0].click().run()
    assert not at.exception
    assert at.sidebar.get("progress")[0].proto.text == "0 of 0 reviewed"
    assert "**olga** (admin)" in texts(at)
    assert [u["name"] for u in _common.get_store(other).users()] == ["olga"]
    assert store.count() == 4 and [u["name"] for u in store.users()] == [USER]  # the first workspace is untouched


def test_a_file_that_is_not_a_workspace_is_a_one_line_error(store, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 200)
    at = open_app()

    at.sidebar.text_input[0].set_value(str(junk)).run()

    assert not at.exception  # no traceback: a user's mistake
    assert "cannot open workspace" in at.sidebar.error[0].value
    assert at.sidebar.text_input[0].value == str(store.path)  # still in the workspace that opens


def test_a_malformed_setting_is_a_one_line_error_naming_the_variable(store, monkeypatch):
    monkeypatch.setenv("WINNOW_SESSION_HOURS", "a week")

    at = AppTest.from_file(APP, default_timeout=HANG_S).run()

    assert not at.exception
    assert "WINNOW_SESSION_HOURS='a week'" in at.error[0].value and "restart" in at.error[0].value
    assert not at.text_input  # nothing else ran: no sign-in form


def test_jobs_left_running_by_a_dead_process_are_failed_on_startup(tmp_path, monkeypatch):
    db = tmp_path / "crashed.duckdb"
    with Store(db) as previous:  # an earlier app process that died mid-job
        job = previous.create_job("score", {"scorers": ["ifd"]}, user=USER)
        previous.update_job(job, status="running")
    monkeypatch.setenv("WINNOW_DB", str(db))
    navigation_v2(monkeypatch)

    AppTest.from_file(APP, default_timeout=HANG_S).run()

    assert _common.get_store(db).get_job(job)["status"] == "failed"


def test_a_page_url_as_the_first_run_still_goes_through_app_py(tmp_path, monkeypatch):
    """After a server start, Streamlit runs a page's URL as an old-style pages/ page, without app.py, until
    st.navigation has run once. AppTest starts every run that way, so no navigation_v2 here."""
    db = tmp_path / "ws.duckdb"
    monkeypatch.setenv("WINNOW_DB", str(db))
    store = _common.get_store(db)
    accounts.add_user(store, USER, "admin", PASSWORD, by=USER)
    load(store, "chats_openai.jsonl")
    at = signed_in_app()
    at.run()

    at.switch_page("pages/review.py").run()

    assert not at.exception
    assert at.sidebar.text_input[0].value == str(db)  # app.py ran: the sidebar is there
    assert at.button(key="review_accept")  # and the page asked for


def test_the_first_run_on_a_workspace_without_accounts_creates_its_admin(tmp_path, monkeypatch):
    navigation_v2(monkeypatch)
    db = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("WINNOW_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=HANG_S)
    at.run()
    assert "Create the first admin" in texts(at)
    assert not at.sidebar.get("progress")  # nothing of the workspace is shown before an account exists

    at.text_input(key="first_admin_name").set_value("ada")
    at.text_input(key="first_admin_password").set_value("short")
    at.text_input(key="first_admin_again").set_value("short")
    at.button[0].click().run()
    assert "password too short" in at.error[0].value
    assert _common.get_store(db).user_count() == 0

    at.text_input(key="first_admin_password").set_value("long enough")
    at.text_input(key="first_admin_again").set_value("long enough")
    at.button[0].click().run()
    assert not at.exception
    assert "**ada** (admin)" in texts(at)
    assert [(u["name"], u["role"]) for u in _common.get_store(db).users()] == [("ada", "admin")]


def test_sign_in_refuses_a_wrong_password_and_shows_nothing(store):
    at = AppTest.from_file(APP, default_timeout=HANG_S)
    at.run()
    assert "Sign in" in texts(at)

    at.text_input(key="sign_in_name").set_value(USER)
    at.text_input(key="sign_in_password").set_value("wrong password")
    at.button[0].click().run()

    assert at.error[0].value == "wrong name or password"
    assert not at.sidebar.get("progress")

    at.text_input(key="sign_in_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert at.sidebar.get("progress")
    assert f"**{USER}** (admin)" in texts(at)


def test_an_annotator_sees_only_review_and_no_workspace_choice(store):
    accounts.add_user(store, "ann", "annotator", "ann-password", by=USER)
    load(store, "chats_openai.jsonl")
    store.assign(store.page(limit=1).column("id").to_pylist(), ["ann"], by=USER)  # her queue: her assignments

    at = open_app(name="ann", password="ann-password")

    assert not at.exception
    assert "**ann** (annotator)" in texts(at)
    assert not at.sidebar.text_input  # only admins choose the workspace
    assert at.button(key="review_accept")  # Review is the landing page
    # and, with their own Activity, the only page whose script is registered for them: the others cannot even be
    # switched to (their addresses show a one-line note: test_e2e_day opens one).
    with pytest.raises(ValueError, match=r"Known pages: \['[^']*pages/review.py', '[^']*pages/activity.py', 'imp"):
        at.switch_page("pages/export.py")


def test_signing_out_ends_the_session(store):
    at = open_app()
    token = next(iter(at.session_state[_sign_in_session.TOKENS_KEY].values()))

    at.button(key="sign_out").click().run()

    assert "Sign in" in texts(at)
    assert accounts.resume(store, token) is None


def test_an_expired_session_asks_to_sign_in_again(store, monkeypatch):
    monkeypatch.setenv("WINNOW_SESSION_HOURS", "0")  # every use pushes the expiry to "now": the next run is late
    at = open_app()  # signed in for 12 h; this run uses the session, which now expires at once
    assert at.sidebar.get("progress")
    at.run()
    assert "Sign in" in texts(at)
    assert not at.sidebar.get("progress")


def test_the_users_page_adds_an_annotator_who_can_then_sign_in(store):
    at = open_app("pages/users.py")
    at.text_input(key="user_add_name").set_value("nina")
    at.selectbox(key="user_add_role").set_value("annotator")
    at.text_input(key="user_add_password").set_value("nina-password")
    at.button[0].click().run()

    assert not at.exception
    assert "Added nina (annotator)" in texts(at)
    assert accounts.sign_in(store, "nina", "nina-password")[1] == accounts.Identity("nina", "annotator")


def test_the_users_page_shows_and_saves_the_chosen_accounts_own_role_and_flag(store):
    accounts.add_user(store, "ann", "annotator", "ann-password", by=USER)
    accounts.add_user(store, "lena", "lead", "lena-password", by=USER)
    accounts.set_disabled(store, "ann", True, by=USER)
    at = open_app("pages/users.py")
    assert at.selectbox(key="user_edit_name").value == "ann"

    at.selectbox(key="user_edit_name").set_value("lena").run()  # from a disabled annotator to an enabled lead
    assert at.selectbox(key="user_edit_role_lena").value == "lead"
    assert at.checkbox(key="user_edit_disabled_lena").value is False
    at.text_input(key="user_edit_password_lena").set_value("lena-new-password").run()
    at.button(key="user_edit_save").click().run()

    assert not at.exception
    assert (store.get_user("lena")["role"], store.get_user("lena")["disabled"]) == ("lead", False)  # only the password
    assert accounts.sign_in(store, "lena", "lena-new-password")[1] == accounts.Identity("lena", "lead")
    assert not at.text_input(key="user_edit_password_lena").value  # not kept for the next save
    assert "Saved lena; their open sessions ended." in [m.value for m in at.success]


def test_a_refused_password_leaves_the_account_unchanged(store):
    accounts.add_user(store, "lena", "lead", "lena-password", by=USER)
    at = open_app("pages/users.py")
    at.selectbox(key="user_edit_name").set_value("lena").run()
    at.selectbox(key="user_edit_role_lena").set_value("annotator").run()
    at.text_input(key="user_edit_password_lena").set_value("short").run()
    at.button(key="user_edit_save").click().run()

    assert "password too short" in at.error[0].value
    assert store.get_user("lena")["role"] == "lead"


def test_an_admin_who_opened_another_workspace_can_go_back_from_its_sign_in(store, tmp_path):
    load(store, "chats_openai.jsonl")
    at = open_app()
    at.sidebar.text_input[0].set_value(str(tmp_path / "typo.duckdb")).run()
    assert "Create the first admin" in texts(at)

    at.button(key=f"sign_in_back_{store.path}").click().run()

    assert not at.exception
    assert f"**{USER}** (admin)" in texts(at)  # still signed in there
    assert at.sidebar.text_input[0].value == str(store.path)
    assert at.sidebar.get("progress")[0].proto.text == "0 of 4 reviewed"
