"""The workspace choice in app.py's sidebar (admins type a path), and the way back when the chosen one cannot open."""

from __future__ import annotations

import streamlit as st

from core.errors import WinnowError
from core.store import Store
from pages import _common

GOOD_WORKSPACE_KEY = "workspace_last_good"


def choose_workspace() -> None:
    """The sidebar's on_change: open the typed path on the next run (app.py falls back if it cannot)."""
    st.session_state[_common.WORKSPACE_KEY] = st.session_state["workspace_input"].strip()


def open_chosen_workspace() -> tuple[Store, str | None]:
    """app.py's workspace: the chosen one, or, when it cannot be opened, the last one that could, with the reason.

    Returns:
        (store, problem): ``problem`` is the one-line reason the chosen path was refused, else None.
    """
    try:
        store = _common.get_store(_common.workspace_path())
    except WinnowError as ex:
        fallback = st.session_state.get(GOOD_WORKSPACE_KEY)
        if not fallback:
            _common.show_error(ex)
            st.stop()
        st.session_state[_common.WORKSPACE_KEY] = fallback
        st.session_state["workspace_input"] = fallback
        return _common.get_store(fallback), str(ex)
    st.session_state[GOOD_WORKSPACE_KEY] = str(_common.workspace_path())
    return store, None
