"""A long table read a page at a time: the rows-per-page and page pickers, and a table whose rows can be picked.

Browse pages through the samples and Activity through the audit log; neither reads its table whole.
"""

from __future__ import annotations

import math

import streamlit as st

PAGE_SIZES = (25, 50, 100, 200)


def start_over_when_changed(prefix: str, signature: str) -> None:
    """A new filter (``signature``) starts at page 1 (``{prefix}_page``)."""
    if st.session_state.get(f"{prefix}_signature") != signature:
        st.session_state[f"{prefix}_signature"] = signature
        st.session_state[f"{prefix}_page"] = 1


def pager(prefix: str, rows: int, *, counted: str, note: str = "") -> tuple[int, int]:
    """The "Rows per page" and "Page" pickers (keys ``{prefix}_size``, ``{prefix}_page``) over ``rows`` rows, and
    beside them "``counted`` · page n of m``note``". A page past the end (rows went away meanwhile) becomes the last.

    Returns:
        (rows per page, the page's number, from 1).
    """
    p1, p2, p3 = st.columns([1, 1, 4])
    size = p1.selectbox("Rows per page", PAGE_SIZES, index=1, key=f"{prefix}_size")
    pages = max(1, math.ceil(rows / size))
    if st.session_state.get(f"{prefix}_page", 1) > pages:
        st.session_state[f"{prefix}_page"] = pages
    page_no = int(p2.number_input("Page", min_value=1, max_value=pages, step=1, key=f"{prefix}_page"))
    p3.caption(f"{counted} · page {page_no} of {pages}{note}")
    return size, page_no


def picked_rows(data, items: list, *, key: str, selection_mode: str, **dataframe) -> list:
    """``data`` as a full-width table whose rows can be picked (``selection_mode``), and what was picked.

    Returns:
        The ``items`` (one per row of ``data``) of the rows picked, in the order picked.
    """
    event = st.dataframe(
        data, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode=selection_mode, **dataframe
    )
    return [items[i] for i in (event.selection.rows if event is not None else []) if i < len(items)]
