"""Winnow's Streamlit entry point: sign-in, the pages each role sees, and the workspace choice. Nothing else.

Run with ``streamlit run serve.py`` (``make run`` loads the demo data first): serve.py serves this file, with the
routes that keep a sign-in across reloads.
"""

import streamlit as st

from core.errors import WinnowError
from core.settings import keep_new_files_private
from core.team import assignments
from pages import _common, _preparation, _sign_in_cookie, _sign_in_session, _workspace_choice

keep_new_files_private()  # workspaces, their DuckDB logs, uploads and exports: owner only

EVERYONE = ("admin", "lead", "annotator")
STAFF = ("admin", "lead")
# (page, roles that see it); the first page a role sees is its landing page. Core checks every write again.
PAGES = [
    (st.Page("pages/import_data.py", title="Import", icon=":material/upload_file:"), STAFF),
    (st.Page("pages/browse.py", title="Browse", icon=":material/table_rows:"), STAFF),
    (st.Page("pages/review.py", title="Review", icon=":material/rate_review:"), EVERYONE),
    (st.Page("pages/score.py", title="Score", icon=":material/speed:"), STAFF),
    (st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"), STAFF),
    (st.Page("pages/balance.py", title="Balance", icon=":material/balance:"), STAFF),
    (st.Page("pages/select.py", title="Select", icon=":material/filter_alt:"), STAFF),
    (st.Page("pages/export.py", title="Export", icon=":material/download:"), STAFF),
    (st.Page("pages/evaluate.py", title="Evaluate", icon=":material/model_training:"), STAFF),
    (st.Page("pages/synthesize.py", title="Synthesize", icon=":material/auto_awesome:"), STAFF),
    (st.Page("pages/activity.py", title="Activity", icon=":material/history:"), EVERYONE),
    (st.Page("pages/team.py", title="Team", icon=":material/groups:"), STAFF),
    (st.Page("pages/users.py", title="Users", icon=":material/group:"), ("admin",)),
]

st.set_page_config(page_title="Winnow", layout="wide")
try:
    _common.settings()
except WinnowError as error:  # a malformed WINNOW_* variable: say which, not a traceback
    st.error(f"Winnow cannot start: {error}. Fix that environment variable and restart the app.", icon="🚫")
    st.stop()
st.session_state.setdefault(_common.WORKSPACE_KEY, str(_common.settings().db))
store, problem = _workspace_choice.open_chosen_workspace()
who = _sign_in_session.signed_in(store)

if who is None:
    # Every page's address shows the sign-in form, so a link (/review?id=X) keeps its address and its query through
    # the sign-in, and opens what it names afterwards; no "page not found" over the form.
    sign_in = [st.Page("pages/sign_in.py", title="Sign in", icon=":material/login:", default=True)]
    sign_in += [st.Page("pages/sign_in.py", title="Sign in", url_path=p.url_path) for p, _ in PAGES]
    _sign_in_cookie.sync()  # a signed-out browser drops its cookie
    st.navigation(sign_in, position="hidden").run()
    st.stop()

# A page the role may not see answers its address with a one-line note (not "page not found"), hidden from the menu.
# The first page the role sees is its landing page.
page = st.navigation(
    [p for p, roles in PAGES if who.role in roles]
    + [_sign_in_session.not_for_role(p, who) for p, roles in PAGES if who.role not in roles]
)
with st.sidebar:
    if who.role == "admin":
        st.session_state.setdefault("workspace_input", st.session_state[_common.WORKSPACE_KEY])
        st.text_input(
            "Workspace",
            key="workspace_input",
            on_change=_workspace_choice.choose_workspace,
            help="The DuckDB file holding your samples. A path that does not exist yet becomes a new workspace "
            "(you will create its first admin).",
        )
    if problem:
        st.error(problem, icon="🚫")
    progress = assignments.progress_of(store, who.name, who.role)
    st.caption(f"Signed in as **{who.name}** ({who.role})")
    st.progress(progress.fraction, text=progress.text)
    _preparation.sidebar_panel(store)
    if st.button("Sign out", key="sign_out"):
        _sign_in_session.sign_out(store)
        st.rerun()
    _sign_in_cookie.sync()  # a new sign-in: the browser keeps it in a cookie

page.run()
