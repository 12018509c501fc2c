"""Sign-in in this browser session: a token per workspace (a session signs in to each on its own), the identity app.py
finds on every run, and the cookie that carries the sign-in across a reload (``_sign_in_cookie``).

``_common.identity`` and ``_common.acting_user`` read what ``signed_in`` finds.
"""

from __future__ import annotations

import streamlit as st

from core.store import Store
from core.team import accounts
from pages import _common, _sign_in_cookie

TOKENS_KEY = "auth_tokens"  # {workspace path: sign-in token}: a session signs in to each workspace on its own


def signed_in(store: Store) -> accounts.Identity | None:
    """The identity of this session's live sign-in to ``store`` (its expiry slides forward), else None.

    A browser session that has none yet (a reload, a new tab) resumes the sign-in its cookie carries, if it is still
    live and for this workspace (``_sign_in_cookie``), and has the browser keep it for another full term.
    """
    tokens = st.session_state.setdefault(TOKENS_KEY, {})
    hours = _common.settings().session_hours
    who = accounts.resume(store, tokens.get(str(store.path)), hours=hours)
    cookie = _sign_in_cookie.token_from_cookie()
    if who is None and cookie and cookie != tokens.get(str(store.path)):
        who = accounts.resume(store, cookie, hours=hours)
        if who is not None:
            tokens[str(store.path)] = cookie
            _sign_in_cookie.keep(cookie)
    st.session_state[_common.IDENTITY_KEY] = who
    return who


def sign_in(store: Store, name: str, password: str) -> None:
    """Sign ``name`` in to ``store`` in this browser session, and have the browser keep the sign-in in its cookie.

    Raises:
        WinnowError: the name or the password is wrong, or the account is disabled (``accounts.sign_in``).
    """
    token, who = accounts.sign_in(store, name, password, hours=_common.settings().session_hours)
    st.session_state.setdefault(TOKENS_KEY, {})[str(store.path)] = token
    st.session_state[_common.IDENTITY_KEY] = who
    _sign_in_cookie.keep(token)


def sign_out(store: Store) -> None:
    accounts.sign_out(store, st.session_state.get(TOKENS_KEY, {}).pop(str(store.path), None))
    st.session_state[_common.IDENTITY_KEY] = None
    _sign_in_cookie.forget()


def not_for_role(page: st.Page, who: accounts.Identity) -> st.Page:
    """A page the role may not see, standing in at its address: a one-line note and the way to the landing page."""

    def note() -> None:
        st.title(page.title)
        st.info(f"{page.title} is for other roles; you are signed in as {who.name} ({who.role}).", icon="🔒")

    return st.Page(note, title=page.title, url_path=page.url_path, visibility="hidden")
