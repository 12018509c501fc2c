"""What every page shares: the cached workspace, the acting user and their role, errors, tags, chats and jobs.

The Streamlit process owns the single read-write connection to a workspace (DuckDB allows one writer process), so
the ``Store`` is a ``st.cache_resource`` shared by every session and every script thread; each store call opens its
own cursor. Tests fetch the very same object with ``get_store(path)``.
"""

from __future__ import annotations

import atexit
import json
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import demo, jobs
from core.errors import WinnowError
from core.markdown import images_as_links
from core.settings import Settings, load_settings
from core.store import Store
from core.team import accounts, roles

WORKSPACE_KEY = "workspace_path"
FINISHED = ("done", "failed", "cancelled")
STATUS_COLORS = {"pending": "orange", "accepted": "green", "rejected": "red"}


def settings() -> Settings:
    return load_settings()


IDENTITY_KEY = "identity"  # the Identity app.py found for this run (``_sign_in_session.signed_in``)


def identity() -> accounts.Identity | None:
    """Who is signed in to the current workspace in this browser session (set by app.py on every run)."""
    return st.session_state.get(IDENTITY_KEY)


def acting_user() -> str:
    """The signed-in account's name: what core checks permissions for and the audit log records."""
    who = identity()
    return who.name if who else settings().user


def allowed(action: str) -> bool:
    """Whether the signed-in role may do ``action`` (core checks again on every write; this only hides controls)."""
    who = identity()
    return who is not None and roles.can(who.role, action)


def require(action: str, what: str) -> None:
    """Stop the page with a one-line note when the signed-in role may not do ``action``."""
    if not allowed(action):
        who = identity()
        st.info(f"{what} is for leads and admins; you are signed in as {who.role if who else 'nobody'}.", icon="🔒")
        st.stop()


def workspace_path() -> Path:
    """The workspace this session works on: the sidebar's choice, else ``WINNOW_DB``."""
    chosen = st.session_state.get(WORKSPACE_KEY)
    return Path(chosen).expanduser() if chosen else settings().db


@st.cache_resource(show_spinner=False)
def _open_store(resolved: str) -> Store:
    store = Store(resolved)
    atexit.register(store.checkpoint)  # when the server stops, everything into the workspace file, none in its log
    # This process now holds the only writer connection, so no job recorded as running can still be alive.
    store.fail_orphaned_jobs()
    demo.resume_preparation(store)  # a demo workspace is prepared in this process, in the background
    return store


def get_store(path: str | Path) -> Store:
    """The process-wide Store for ``path`` (opened, migrated and cleaned of orphaned jobs on first use)."""
    return _open_store(str(Path(path).expanduser().resolve()))


def _through_app() -> None:
    """Make sure this run went through app.py's st.navigation, not Streamlit's old pages-folder mode.

    Streamlit takes an app with a ``pages/`` folder beside its entry script for an old-style multipage app until
    st.navigation runs once in the process. So the first run after a server start, when it is for a page's URL (a
    reopened tab, a bookmark), would execute that page file alone: no sidebar, no wide layout. st.navigation clears
    the flag; if a page finds it still set, this run skipped app.py, so clear it and run again through app.py.
    """
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_store() -> Store:
    """The session's Store; on a user's mistake (locked or foreign file) show it and stop the page."""
    _through_app()
    try:
        return get_store(workspace_path())
    except WinnowError as ex:
        show_error(ex)
        st.stop()
        raise  # unreachable: st.stop() raises


def show_error(ex: BaseException) -> None:
    """Show a user's mistake as one line. Anything that is not a WinnowError is a bug and is re-raised."""
    if not isinstance(ex, WinnowError):
        raise ex
    st.error(str(ex), icon="🚫")


def status_badge(status: str) -> str:
    """A status as a coloured Markdown badge."""
    return f":{STATUS_COLORS.get(status, 'gray')}-badge[{status}]"


@st.cache_data(ttl=30, show_spinner=False)
def known_tags(path: str, _store: Store) -> list[str]:
    """Tags in use, for pickers. Cached briefly: computing them scans every sample."""
    return _store.all_tags()


# ---------------------------------------------------------------------------------------------------- chats


def render_chat(
    messages: list[dict], *, tools: list | None = None, markdown: bool = True, images: bool = False
) -> None:
    """Draw a conversation as chat turns, the system prompt and tool results included.

    Args:
        markdown: render the text as Markdown; False shows it verbatim (what the trainer will see).
        images: let Markdown images load (each reviewer's browser fetches them from the hosts the text names); by
            default they are shown as links, so imported text makes no browser reach anywhere. Pages pass the
            workspace's setting (``Store.markdown_images``), which a lead sets in Review.
    """
    if tools:
        with st.expander(f"Tools ({len(tools)})"):
            st.json(tools, expanded=False)
    for m in messages:
        role = m.get("role", "?")
        avatar = {"system": ":material/settings:", "tool": ":material/build:"}.get(role)
        with st.chat_message(role if role in ("user", "assistant") else "ai", avatar=avatar):
            if role not in ("user", "assistant"):
                st.caption(role)
            content = m.get("content")
            if isinstance(content, str):
                if markdown:
                    st.markdown(content if images else images_as_links(content))
                else:
                    st.code(content, language=None, wrap_lines=True)
            elif content is not None:
                st.json(content, expanded=False)
            if m.get("tool_calls"):
                st.json(m["tool_calls"], expanded=False)


# ---------------------------------------------------------------------------------------------------- jobs


def start_job(store: Store, state_key: str, kind: str, params: dict, work, *, user: str) -> None:
    """Start ``work`` as a background job (``core.jobs.start_job``), keep it under ``state_key`` for this workspace
    (job ids are per workspace), and redraw the page, its button disabled while the job runs. An error starting it
    is shown instead."""
    try:
        job_id = jobs.start_job(store, kind, params, work, user=user)
    except WinnowError as ex:
        show_error(ex)
        return
    st.session_state[state_key] = {"workspace": str(store.path), "id": job_id}
    st.rerun()


def remembered_job(store: Store, state_key: str) -> int | None:
    """The id of the job kept under ``state_key`` for this workspace, or None."""
    kept = st.session_state.get(state_key)
    return kept["id"] if kept and kept["workspace"] == str(store.path) else None


def job_running(store: Store, state_key: str) -> bool:
    """Whether the job kept under ``state_key`` is still at work in this process."""
    job_id = remembered_job(store, state_key)
    running = job_id is not None and jobs.is_alive(job_id) and store.get_job(job_id)["status"] not in FINISHED
    # Seen running in this run: job_panel redraws the page if it ends before this run does (see there).
    st.session_state[f"{state_key}__seen_running"] = running
    return running


def job_panel(
    store: Store, state_key: str, label: str, *, unit: str | None = None, message: bool = False
) -> dict | None:
    """Follow the job kept under ``state_key`` (see ``start_job``).

    While it runs, a fragment polls it (progress bar and a Cancel button) and reruns the page when it ends.

    Args:
        unit: what ``done`` counts ("records"), or None when only the ratio means something (bytes read).
        message: show the job's latest message after the bar's text (when ``done`` counts runs, then steps).

    Returns:
        The finished job (status 'done', 'failed' or 'cancelled'; a job whose thread vanished keeps its last status),
        or None while it runs or when there is none.
    """
    job_id = remembered_job(store, state_key)
    if job_id is None:
        return None
    job = store.get_job(job_id)
    if job["status"] in FINISHED or not jobs.is_alive(job_id):
        if st.session_state.pop(f"{state_key}__seen_running", False):
            # It ended during this run, after the page above drew it as running (a disabled button, no warning
            # about the file it was writing): draw the whole page again, as it is now.
            st.rerun(scope="app")
        return job

    @st.fragment(run_every=0.5)
    def poll() -> None:
        job = store.get_job(job_id)
        if job["status"] in FINISHED or not jobs.is_alive(job_id):
            st.rerun(scope="app")
        done, total = job["done"], job["total"]
        fraction = min(done / total, 1.0) if total else 0.0
        if unit:
            text = f"{label}: {done:,}" + (f" of {total:,}" if total else "") + f" {unit}"
        else:
            text = f"{label}: {fraction:.0%}"
        if message and job["message"]:
            text += f" · {job['message']}"
        st.progress(fraction, text=text)
        if st.button("Cancel", key=f"{state_key}_cancel"):
            store.request_cancel(job_id)

    poll()
    return None


def job_result(job: dict) -> dict | None:
    """A finished job's result: its JSON message when it succeeded; otherwise show why it did not and return None."""
    if job["status"] == "done":
        return json.loads(job["message"]) if job["message"] else {}
    if job["status"] == "cancelled":
        st.warning(job["message"] or "Cancelled.")
    elif job["status"] not in FINISHED:
        st.error(f"The {job['kind']} job stopped without a result (status {job['status']}).", icon="🚫")
    elif job["error"] and "Traceback" in job["error"]:
        st.error("This is a bug in Winnow; please report it with the details below.")
        st.code(job["error"], language=None)
    else:
        st.error(job["error"] or "failed", icon="🚫")
    return None
