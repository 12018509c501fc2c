"""The only place a page runs JavaScript: Winnow's own fixed lines (the sign-in cookie's hand-off, the conflict
view's jump to its first marker), never text from a sample. Every value a script carries goes through json.dumps."""

from __future__ import annotations

import streamlit as st


def run(script: str) -> None:
    """Run ``script`` in the browser once (again only when its text changes). ``</`` is escaped, so nothing in it can
    close the script element."""
    st.html("<script>" + script.replace("</", "<\\/") + "</script>", unsafe_allow_javascript=True)
