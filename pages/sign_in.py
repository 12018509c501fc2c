"""Sign in, or create the workspace's first admin account when it has none yet."""

import streamlit as st

from core.errors import WinnowError
from core.team import accounts
from pages import _common, _sign_in_session

store = _common.current_store()

if store.user_count() == 0:
    st.title("Create the first admin")
    st.write(
        f"The workspace `{store.path}` has no accounts yet. The account you create here is its admin: it adds the "
        "leads and annotators (Users page) and can open other workspaces."
    )
    with st.form("first_admin"):
        name = st.text_input("Name", key="first_admin_name")
        password = st.text_input("Password", type="password", key="first_admin_password")
        again = st.text_input("Password again", type="password", key="first_admin_again")
        create = st.form_submit_button("Create admin and sign in", type="primary")
    if create:
        try:
            if password != again:
                raise WinnowError("the two passwords differ")
            accounts.add_user(store, name, "admin", password, by=name.strip() or "?")
            _sign_in_session.sign_in(store, name, password)
        except WinnowError as ex:
            _common.show_error(ex)
        else:
            st.rerun()
else:
    st.title("Sign in")
    st.caption(f"Workspace `{store.path}`")
    with st.form("sign_in"):
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        go = st.form_submit_button("Sign in", type="primary")
    if go:
        try:
            _sign_in_session.sign_in(store, name, password)
        except WinnowError as ex:
            _common.show_error(ex)
        else:
            st.rerun()
    st.caption("Forgot your password? An admin resets it on the Users page (or `python -m core user passwd NAME`).")


def go_back(path: str) -> None:
    st.session_state[_common.WORKSPACE_KEY] = path
    st.session_state["workspace_input"] = path


# An admin who opened another workspace (a typo makes a new, empty one) has no sidebar here: offer the way back.
for other in [p for p in st.session_state.get(_sign_in_session.TOKENS_KEY, {}) if p != str(store.path)]:
    st.button(f"Back to `{other}`", key=f"sign_in_back_{other}", on_click=go_back, args=(other,))
