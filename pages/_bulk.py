"""Browse's bulk actions: accept, reject, tag or send to Review the rows picked in the table, or every sample that
matches the filter. A change to the whole filter says how many samples it touches and waits for a second click."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from core.errors import WinnowError
from core.store import SampleFilter, Store
from core.team import bulk
from pages import _common

VERBS = {"accept": "Accept", "reject": "Reject", "tag": "Tag"}


# The radio's labels stay the same whatever the counts: a label that changes is a different option to the browser.
SCOPES = {"rows": "the rows picked", "filter": "all matching the filter"}


def actions(store: Store, rows: list[str], flt: SampleFilter, total: int, *, capped: bool) -> None:
    """The bulk action bar under the table.

    Args:
        rows: the ids of the rows picked in the table (several with Ctrl or Shift).
        total: the samples matching ``flt`` (the page's count; recounted exactly when a text search capped it).
    """
    if done := st.session_state.pop("browse_done", None):
        st.success(done)
    with st.container(border=True, key="browse_bulk"):
        c1, c2, c3, c4, c5, c6 = st.columns([3, 1, 1, 2, 1, 1.4], vertical_alignment="bottom")
        if capped:  # a text search stops counting at 1,000: the whole filter's count must be exact here
            total = store.count(flt)
        options = (["rows"] if rows else []) + ["filter"]
        if rows != st.session_state.get("browse_bulk_rows"):  # rows just picked (or dropped): act on them
            st.session_state["browse_bulk_rows"] = rows
            st.session_state["browse_scope"] = options[0]
        scope = c1.radio(
            "Act on",
            options,
            format_func=SCOPES.get,
            key="browse_scope",
            horizontal=True,
            help="Pick rows in the table (Ctrl or Shift for several), or act on every sample the filter matches.",
        )
        n = len(rows) if scope == "rows" else total
        c1.caption(f"Acts on {n:,} samples" + (" picked in the table." if scope == "rows" else ": the whole filter."))
        accept = c2.button("Accept", key="browse_accept", width="stretch", disabled=not n)
        reject = c3.button("Reject", key="browse_reject", width="stretch", disabled=not n)
        tag = c4.text_input("Tag", key="browse_bulk_tag", placeholder="a tag").strip()
        tag_it = c5.button("Add tag", key="browse_tag_go", width="stretch", disabled=not (n and tag))
        to_review = c6.button("Send to Review", key="browse_review", width="stretch", disabled=not n)
        target = bulk.target(rows if scope == "rows" else None, flt)

        if to_review:
            label = f"{n:,} samples from Browse"
            st.session_state["review_queue"] = {"workspace": str(store.path), "filter": asdict(target), "label": label}
            st.switch_page("pages/review.py")
        asked = "accept" if accept else "reject" if reject else "tag" if tag_it else None
        if asked and scope == "rows":
            _run(store, target, asked, tag)
        elif asked:  # the whole filter: say how many first, act on the second click
            st.session_state["browse_pending"] = {"action": asked, "tag": tag, "n": n, "filter": repr(flt)}
        pending = st.session_state.get("browse_pending")
        if pending and (pending["filter"] != repr(flt) or scope != "filter"):
            st.session_state.pop("browse_pending")  # the filter changed meanwhile: ask again
            pending = None
        if pending:
            verb, count = VERBS[pending["action"]], f"all {pending['n']:,} samples matching the filter"
            question = (
                f"Add the tag “{pending['tag']}” to {count}?" if pending["action"] == "tag" else f"{verb} {count}?"
            )
            st.warning(question, icon="⚠️")
            y1, y2, _ = st.columns([1.4, 1, 3])
            if y1.button(f"{verb} {pending['n']:,} samples", type="primary", key="browse_confirm"):
                st.session_state.pop("browse_pending")
                _run(store, target, pending["action"], pending["tag"])
            if y2.button("Cancel", key="browse_cancel"):
                st.session_state.pop("browse_pending")
                st.rerun()


def _run(store: Store, target: SampleFilter, action: str, tag: str) -> None:
    try:
        done = bulk.apply(store, target, action, user=_common.acting_user(), tag=tag)
    except WinnowError as ex:
        _common.show_error(ex)
        return
    if action == "tag":
        _common.known_tags.clear()
    st.session_state["browse_done"] = done
    st.session_state.pop("browse_table", None)  # the picked rows have been acted on
    st.rerun()  # the table, the counts and the sidebar show the change
