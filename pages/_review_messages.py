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


def train_decisions(messages: list[dict], edited: list[dict], key: str) -> list[dict]:
    """Per assistant turn of a chat with two or more: train on it or not (OpenAI's per-message weight, which every
    export format carries its own way, see ``core.formats.turns``). **J** / **K** move to the next / previous turn,
    **T** flips the marked one; the chat's own status stays as it is.

    Returns:
        ``edited`` with the decisions: ``"weight": 0`` on a turn not to train on, ``1`` where a weight was there or
        a turn is put back, none where there was none.
    """
    turns = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if len(turns) < 2:  # one answer: the sample's accept or reject is the decision
        return edited
    focus_key = f"{key}_focus"
    focus = st.session_state.get(focus_key, 0)
    with st.expander(f"Train on each answer ({len(turns)} assistant turns)", expanded=True):
        c1, c2, c3 = st.columns(3)
        if c1.button("Previous", shortcut="K", key=f"{key}_prev", width="stretch"):
            focus = max(0, focus - 1)
        if c2.button("Next", shortcut="J", key=f"{key}_next", width="stretch"):
            focus = min(len(turns) - 1, focus + 1)
        flip = c3.button("Train / not", shortcut="T", key=f"{key}_flip", width="stretch")
        st.session_state[focus_key] = focus
        for n, i in enumerate(turns):
            box = f"{key}_train_{i}"
            if box not in st.session_state:
                st.session_state[box] = messages[i].get("weight", 1) != 0
            if flip and n == focus:
                st.session_state[box] = not st.session_state[box]
            text = messages[i]["content"] if isinstance(messages[i].get("content"), str) else "(structured)"
            marker = "▶ " if n == focus else ""
            st.checkbox(f"{marker}[{i + 1}] {text[:80]}", key=box, help="Unticked: kept, but not trained on")
        st.caption("Shortcuts: **J** next turn · **K** previous · **T** train / not.")
    out = []
    for i, m in enumerate(edited):
        if i in turns:
            train = st.session_state[f"{key}_train_{i}"]
            m = {k: v for k, v in m.items() if k != "weight"}
            if not train:
                m["weight"] = 0
            elif "weight" in messages[i]:
                m["weight"] = 1
        out.append(m)
    return out
