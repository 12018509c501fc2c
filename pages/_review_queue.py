"""Review's queue: which samples come next, and how far along the reviewer is.

A queue sent from Browse or Explore (``st.session_state["review_queue"]``), or named by a link (``?cluster=N``,
``?selection=NAME``), narrows the queue until cleared; the filter in the expander narrows it further.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import NotFound
from core.store import SampleFilter, Store
from core.team import assignments, reviews
from pages import _common

QUEUE_KEY = "review_queue"


def from_link(store: Store, path: str) -> str | None:
    """Make a link's ``?cluster=N`` or ``?selection=NAME`` this session's review queue (and take it off the address).

    Returns:
        A one-line note when the link names nothing there is (a typo, a deleted selection, no map), else None.
    """
    params = st.query_params
    cluster, selection = params.get("cluster"), params.get("selection")
    for key in ("cluster", "selection"):
        if key in params:
            del params[key]
    try:
        queue = reviews.linked_queue(store, cluster=cluster, selection=selection)
    except NotFound as ex:
        return str(ex)
    if queue is not None:
        st.session_state[QUEUE_KEY] = {"workspace": path, **queue}
        st.session_state.pop("review_snap", None)
    return None


def controls(store: Store, path: str, link: str | None, *, forget: Callable[[], None]) -> SampleFilter:
    """The queue filter (sources, tag), the note about a link that named nothing, and the queue sent from another
    page with the way back to the whole queue (``forget`` drops the sample shown).

    Returns:
        The queue: the filter, narrowed by the queue sent to Review.
    """
    with st.expander("Queue filter"):
        sources = {s["source_id"]: s["name"] for s in store.sources()}
        q1, q2 = st.columns(2)
        queue_sources = q1.multiselect("Sources", list(sources), format_func=sources.get, key="review_sources")
        queue_tag = q2.selectbox(
            "Tag", _common.known_tags(path, store), index=None, placeholder="any", key="review_tag"
        )
    queue = SampleFilter(source_ids=queue_sources or None, tag=queue_tag)
    sent = st.session_state.get(QUEUE_KEY)
    if link:
        st.warning(link, icon="⚠️")
    if sent and sent["workspace"] == path:
        queue = SampleFilter(
            **{**sent["filter"], "source_ids": queue.source_ids, "tag": queue.tag or sent["filter"].get("tag")}
        )
        s1, s2 = st.columns([4, 1], vertical_alignment="center")
        s1.info(f"Reviewing {sent['label']}.")
        if s2.button("Back to the whole queue", key="review_clear_queue"):
            del st.session_state[QUEUE_KEY]
            forget()
            st.rerun()
    return queue


def progress(store: Store, me: str, role: str, queue: SampleFilter, *, mine_only: bool) -> int:
    """The reviewer's progress bar: their assignments done, or the workspace's reviews and what is pending here.

    Returns:
        The samples counted (0: nothing is assigned to them, or the workspace is empty).
    """
    done = assignments.progress_of(store, me, role)
    if mine_only:
        st.progress(done.fraction, text=f"{done.text} done · {done.remaining:,} to go")
    else:
        pending_left = store.count(SampleFilter(**{**queue.__dict__, "status": "pending"}))
        st.progress(done.fraction, text=f"{done.text} · {pending_left:,} pending")
    return done.total


def nothing_left(total: int, skip: list[str], *, mine_only: bool) -> None:
    """Say the queue is done (or was never filled), offer the samples skipped in this session, and stop the page."""
    if mine_only:
        st.success("Nothing left in your assignments." if total else "Nothing is assigned to you yet.")
    else:
        st.success("Nothing left to review in this queue." if total else "The workspace is empty: import a file first.")
    if skip:
        st.caption(f"You skipped {len(skip)} samples in this session.")
        if st.button("Review the skipped samples", key="review_unskip"):
            skip.clear()
            st.rerun()
    st.stop()
