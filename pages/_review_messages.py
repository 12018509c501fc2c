"""A sample's messages on Review: shown as chat (Markdown or verbatim), edited turn by turn, and the unsaved changes
as a diff."""

from __future__ import annotations

import streamlit as st

from core.store import Store
from core.team import diffs
from pages import _common


def show(store: Store, messages: list[dict], tools: list | None, *, may_set_images: bool, user: str) -> None:
    """The conversation, with the "Render Markdown" toggle and, for those who may change the workspace's settings,
    the "Show remote images" one (for everyone in the workspace)."""
    markdown = st.toggle("Render Markdown", value=True, key="review_markdown")
    images = store.markdown_images()
    if may_set_images:
        show_images = st.toggle(
            "Show remote images",
            value=images,
            key="review_images",
            help="For everyone in this workspace. Markdown images load from the hosts the imported text names, in "
            "each reviewer's browser; off, they are shown as links.",
        )
        if show_images != images:
            store.set_markdown_images(show_images, user=user)
            images = show_images
    _common.render_chat(messages, tools=tools, markdown=markdown, images=images)


def edited_messages(messages: list[dict], key: str) -> list[dict]:
    """The "Edit messages" expander: a text area (key ``{key}_{i}``) for each turn whose content is text; a turn with
    structured content is kept as it is.

    Returns:
        The messages as edited (equal to ``messages`` when nothing was changed).
    """
    edited = []
    with st.expander("Edit messages"):
        for i, m in enumerate(messages):
            if isinstance(m.get("content"), str):
                text = st.text_area(f"[{i + 1}] {m['role']}", value=m["content"], key=f"{key}_{i}")
                edited.append({**m, "content": text})
            else:
                st.caption(f"[{i + 1}] {m['role']}: structured content, not editable here")
                edited.append(m)
    return edited


def unsaved_changes(messages: list[dict], edited: list[dict], version: int) -> None:
    """The edits not saved yet, as a diff against the version they started from."""
    st.markdown("**Your unsaved changes to the messages**")
    labels = (f"version {version}", "yours")
    st.code(diffs.diff_text("messages", messages, edited, labels=labels), language="diff", wrap_lines=True)
