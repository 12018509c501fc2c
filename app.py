"""Winnow's Streamlit entry point: the pages, the workspace choice and who is acting. Nothing else.

Run with ``streamlit run app.py`` (``make run`` loads the demo data first).
"""

import streamlit as st

from pages import _common

# One line per page; the first is the landing page.
PAGES = [
    st.Page("pages/import_data.py", title="Import", icon=":material/upload_file:"),
    st.Page("pages/browse.py", title="Browse", icon=":material/table_rows:"),
    st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
    st.Page("pages/score.py", title="Score", icon=":material/speed:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
    st.Page("pages/balance.py", title="Balance", icon=":material/balance:"),
    st.Page("pages/select.py", title="Select", icon=":material/filter_alt:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
]

st.set_page_config(page_title="Winnow", layout="wide")
page = st.navigation(PAGES)

st.session_state.setdefault(_common.WORKSPACE_KEY, str(_common.settings().db))
with st.sidebar:
    st.text_input(
        "Workspace",
        key=_common.WORKSPACE_KEY,
        help="The DuckDB file holding your samples. A path that does not exist yet becomes a new workspace.",
    )
    store = _common.current_store()
    reviewed, total = _common.review_counts(store)
    st.caption(f"Acting as **{_common.acting_user()}**")
    st.progress(reviewed / total if total else 0.0, text=f"{reviewed:,} of {total:,} reviewed")

page.run()
