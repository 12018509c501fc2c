"""Streamlit-only helpers shared by the pages: the cached workspace, the acting user, errors, jobs and chats.

The Streamlit process owns the single read-write connection to a workspace (DuckDB allows one writer process), so
the ``Store`` is a ``st.cache_resource`` shared by every session and every script thread; each store call opens its
own cursor. Tests fetch the very same object with ``get_store(path)``.
"""

from __future__ import annotations

import atexit
import json
import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import demo, jobs
from core.errors import WinnowError
from core.markdown import images_as_links
from core.scoring import column_title
from core.settings import Settings, load_settings
from core.store import Store
from core.team import accounts, roles
from pages import _sign_in_cookie

WORKSPACE_KEY = "workspace_path"
REVIEWED = ("accepted", "rejected")
FINISHED = ("done", "failed", "cancelled")
STATUS_COLORS = {"pending": "orange", "accepted": "green", "rejected": "red"}


def settings() -> Settings:
    return load_settings()


TOKENS_KEY = "auth_tokens"  # {workspace path: sign-in token}: a session signs in to each workspace on its own
IDENTITY_KEY = "identity"  # the Identity app.py found for this run


def identity() -> accounts.Identity | None:
    """Who is signed in to the current workspace in this browser session (set by app.py on every run)."""
    return st.session_state.get(IDENTITY_KEY)


def acting_user() -> str:
    """The signed-in account's name: what core checks permissions for and the audit log records."""
    who = identity()
    return who.name if who else settings().user


def signed_in(store: Store) -> accounts.Identity | None:
    """The identity of this session's live sign-in to ``store`` (its expiry slides forward), else None.

    A browser session that has none yet (a reload, a new tab) resumes the sign-in its cookie carries, if it is still
    live and for this workspace (``_sign_in_cookie``), and has the browser keep it for another full term.
    """
    tokens = st.session_state.setdefault(TOKENS_KEY, {})
    hours = settings().session_hours
    who = accounts.resume(store, tokens.get(str(store.path)), hours=hours)
    cookie = _sign_in_cookie.token_from_cookie()
    if who is None and cookie and cookie != tokens.get(str(store.path)):
        who = accounts.resume(store, cookie, hours=hours)
        if who is not None:
            tokens[str(store.path)] = cookie
            _sign_in_cookie.keep(cookie)
    st.session_state[IDENTITY_KEY] = who
    return who


def remember_sign_in(store: Store, token: str, who: accounts.Identity) -> None:
    st.session_state.setdefault(TOKENS_KEY, {})[str(store.path)] = token
    st.session_state[IDENTITY_KEY] = who
    _sign_in_cookie.keep(token)


def sign_out(store: Store) -> None:
    accounts.sign_out(store, st.session_state.get(TOKENS_KEY, {}).pop(str(store.path), None))
    st.session_state[IDENTITY_KEY] = None
    _sign_in_cookie.forget()


def not_for_role(page: st.Page, who: accounts.Identity) -> st.Page:
    """A page the role may not see, standing in at its address: a one-line note and the way to the landing page."""

    def note() -> None:
        st.title(page.title)
        st.info(f"{page.title} is for other roles; you are signed in as {who.name} ({who.role}).", icon="🔒")

    return st.Page(note, title=page.title, url_path=page.url_path, visibility="hidden")


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


GOOD_WORKSPACE_KEY = "workspace_last_good"


def choose_workspace() -> None:
    """The sidebar's on_change: open the typed path on the next run (app.py falls back if it cannot)."""
    st.session_state[WORKSPACE_KEY] = st.session_state["workspace_input"].strip()


def open_chosen_workspace() -> tuple[Store, str | None]:
    """app.py's workspace: the chosen one, or, when it cannot be opened, the last one that could, with the reason.

    Returns:
        (store, problem): ``problem`` is the one-line reason the chosen path was refused, else None.
    """
    try:
        store = get_store(workspace_path())
    except WinnowError as ex:
        fallback = st.session_state.get(GOOD_WORKSPACE_KEY)
        if not fallback:
            show_error(ex)
            st.stop()
        st.session_state[WORKSPACE_KEY] = fallback
        st.session_state["workspace_input"] = fallback
        return get_store(fallback), str(ex)
    st.session_state[GOOD_WORKSPACE_KEY] = str(workspace_path())
    return store, None


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


def queue_from_link(store: Store, path: str) -> str | None:
    """Make a link's ``?cluster=N`` or ``?selection=NAME`` this session's review queue (and take it off the address).

    Returns:
        A one-line note when the link names nothing there is (a typo, a deleted selection, no map), else None.
    """
    params = st.query_params
    cluster, selection = params.get("cluster"), params.get("selection")
    for key in ("cluster", "selection"):
        if key in params:
            del params[key]
    if cluster is not None:
        if not cluster.strip().lstrip("-").isdigit():
            return f"The link names cluster {cluster!r}: a cluster is a number."
        if store.get_map() is None:
            return f"The link names cluster {cluster}, but this workspace has no map yet."
        queue = {"filter": {"cluster": int(cluster)}, "label": f"cluster {int(cluster)}"}
    elif selection is not None:
        if selection not in {s["name"] for s in store.selections()}:
            return f"The link names the selection {selection!r}, which this workspace does not have."
        queue = {"filter": {"selection": selection}, "label": f"the selection {selection}"}
    else:
        return None
    st.session_state["review_queue"] = {"workspace": path, **queue}
    st.session_state.pop("review_snap", None)
    return None


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


def score_text(value) -> str:
    """A score for reading: "—" when missing, yes/no, whole numbers without decimals, others to 4 digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# The scores a folded score panel names in its one line, when a sample has them (the others wait in the table).
HEADLINE_SCORES = ("ifd", "reward", "necessity_reward", "h_answer_chars", "h_prompt_lang", "h_refusal")


def folded_scores(scores: dict) -> None:
    """Scores folded into one line (an expander that names the headline scores) over the full table: a sample can
    have dozens, which would push what a reviewer acts on below the fold."""
    if not scores:
        st.caption("No scores yet.")
        return
    head = [f"{column_title(c)} {score_text(scores[c])}" for c in HEADLINE_SCORES if scores.get(c) is not None][:4]
    with st.expander(f"Scores ({len(scores)})" + (f": {' · '.join(head)}" if head else "")):
        render_scores(scores)


def render_scores(scores: dict) -> None:
    """Scores as a compact table: each in words, its value, and its column's name (there can be dozens: metrics
    would truncate them)."""
    if not scores:
        st.caption("No scores yet.")
        return
    rows = [{"score": column_title(n), "value": score_text(v), "column": n} for n, v in scores.items()]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=min(35 * len(rows) + 38, 420),
        column_config={
            "score": st.column_config.TextColumn(help="What the score measures, in words"),
            "column": st.column_config.TextColumn(
                help="The score's column: its name in recipes, filters, exports and the Score page"
            ),
        },
    )


# ---------------------------------------------------------------------------------------------------- jobs


def throttled(progress: jobs.JobProgress, every_s: float = 0.3):
    """Adapt a job's progress to core's ``progress(done, total_or_None)``, writing to the jobs table sparingly."""
    last = [0.0]

    def update(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or (total is not None and done >= total):
            last[0] = now
            progress(done, total or 0, "")

    return update


def remember_job(store: Store, state_key: str, job_id: int) -> None:
    """Keep a job the page started, for this workspace (job ids are per workspace)."""
    st.session_state[state_key] = {"workspace": str(store.path), "id": job_id}


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


def job_panel(store: Store, state_key: str, label: str, *, unit: str | None = None) -> dict | None:
    """Follow the job kept under ``state_key`` (see ``remember_job``).

    While it runs, a fragment polls it (progress bar and a Cancel button) and reruns the page when it ends.

    Args:
        unit: what ``done`` counts ("records"), or None when only the ratio means something (bytes read).

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
