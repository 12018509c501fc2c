"""What the page tests share: a real workspace in tmp_path that the app opens, and an AppTest on app.py.

The app keeps one Store per workspace path in ``st.cache_resource``; ``_common.get_store`` hands the tests that same
object, so a test reads and changes the database the page uses (DuckDB allows one connection config per file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from patience import HANG_S
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core import jobs
from core.importing.workspace import import_file
from core.store import Store
from core.team import accounts
from pages import _common, _sign_in_session

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")  # AppTest resolves relative paths against the test's folder: keep this absolute
DATA = ROOT / "tests" / "data" / "pages"
USER = "tess"  # the workspace's admin, signed in by open_app
PASSWORD = "tess-password"


def navigation_v2(monkeypatch) -> None:
    """Make every AppTest run start in st.navigation mode, as every run after the first does in a server.

    AppTest builds a new PagesManager for each run, and a new one sees the pages/ folder beside app.py and takes the
    app for an old-style pages-folder app. ``_common._through_app`` then reruns through app.py, as it must after a
    server start, but a rerun drops the button click that caused the run. A server keeps one PagesManager, so this
    happens at most once per process there; test_app checks that case on its own.
    """
    init = PagesManager.__init__

    def init_v2(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_v2)


def new_workspace(tmp_path: Path, monkeypatch) -> Store:
    """An empty workspace of the test's own, which the app will open (through WINNOW_DB). Each page test's ``store``
    fixture returns it."""
    navigation_v2(monkeypatch)
    db = tmp_path / "ws.duckdb"
    monkeypatch.setenv("WINNOW_DB", str(db))
    monkeypatch.setenv("WINNOW_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("WINNOW_USER", USER)
    # The app loads local models from its model folder only: here, pytest's temporary root, where tests build theirs.
    monkeypatch.setenv("WINNOW_MODEL_DIR", str(tmp_path.parent))
    store = _common.get_store(db)
    accounts.add_user(store, USER, "admin", PASSWORD, by=USER)
    return store


def load(store: Store, *names: str) -> None:
    """Import fixture files (from tests/data/pages) the way the CLI would."""
    for name in names:
        mapping = "prompt=question,response=answer" if name.endswith(".csv") else None
        import_file(store, DATA / name, user=USER, mapping=mapping)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def signed_in_app(name: str = USER, password: str = PASSWORD) -> AppTest:
    """An AppTest on app.py whose session is signed in to the workspace at WINNOW_DB as ``name`` (not run yet)."""
    path = Path(os.environ["WINNOW_DB"]).expanduser().resolve()
    token, _ = accounts.sign_in(_common.get_store(path), name, password)
    at = AppTest.from_file(APP, default_timeout=HANG_S)
    at.session_state[_sign_in_session.TOKENS_KEY] = {str(path): token}
    return at


def open_app(page: str | None = None, *, name: str = USER, password: str = PASSWORD) -> AppTest:
    """Run app.py signed in as ``name`` (default: the admin), then switch to ``page`` (e.g. "pages/review.py")."""
    at = signed_in_app(name, password)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def finish_job(at: AppTest, key: str) -> AppTest:
    """Wait for the background job the page started (kept in session_state[key]) and rerun the page."""
    job_id = at.session_state[key]["id"]
    jobs.wait(job_id)
    assert not jobs.is_alive(job_id)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as markdown, captions, successes, warnings and errors, joined."""
    parts = []
    for kind in ("markdown", "caption", "success", "warning", "error", "info", "text", "code", "subheader", "title"):
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts)
