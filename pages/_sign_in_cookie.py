"""A sign-in that outlives a reload (F5) and opens new tabs: an HttpOnly, SameSite=Strict cookie with the session token.

Streamlit's script talks to the browser over a WebSocket and cannot set an HttpOnly cookie, and a cookie JavaScript
can set is one JavaScript (and so any injected script) can read. So ``serve.py`` adds two small routes to Streamlit's
own server (``st.App``): ``POST /winnow/session`` exchanges a one-time code (``core.team.accounts.cookie_handoff``)
for the cookie, in a Set-Cookie header, and ``POST /winnow/sign-out`` deletes it. The page hands the browser only that
code, in a one-line script; the token never reaches JavaScript, and the workspace still stores only its SHA-256. Reading
the cookie back needs nothing: ``st.context.cookies`` has it from the page's own request. The cookie is Secure when
the page is served over https (directly or behind a proxy that says so in X-Forwarded-Proto).

Started as ``streamlit run app.py`` (without the routes), everything works except that a reload asks to sign in.
"""

from __future__ import annotations

import json

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.settings import load_settings
from core.team import accounts
from pages import _scripts

COOKIE = "winnow_session"
HANDOFF_KEY = "cookie_handoff"  # session_state: the code the browser has yet to redeem
CLEAR_KEY = "cookie_clear"  # session_state: the browser should drop the cookie (signed out)


def _base() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def session_path() -> str:
    return f"{_base()}/winnow/session"


def sign_out_path() -> str:
    return f"{_base()}/winnow/sign-out"


def _cookie_options(request: Request) -> dict:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    secure = request.url.scheme == "https" or forwarded == "https"
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": _base() or "/"}


async def _set_session(request: Request) -> Response:
    token = accounts.redeem_handoff((await request.body()).decode("ascii", "replace").strip())
    if token is None:
        return Response("unknown or used code", status_code=403)
    response = Response(status_code=204)
    hours = load_settings().session_hours
    response.set_cookie(COOKIE, token, max_age=int(hours * 3600), **_cookie_options(request))
    return response


async def _sign_out(request: Request) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, **_cookie_options(request))
    return response


def routes() -> list[Route]:
    """The two routes serve.py adds to Streamlit's server."""
    return [
        Route(session_path(), _set_session, methods=["POST"]),
        Route(sign_out_path(), _sign_out, methods=["POST"]),
    ]


# ---------------------------------------------------------------------------------------------------- the page's side


def token_from_cookie() -> str | None:
    """The session token the browser sent with this page's request, if any."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def keep(token: str) -> None:
    """Ask the browser to keep this sign-in (``sync`` hands it the code on the next run)."""
    st.session_state.pop(CLEAR_KEY, None)
    st.session_state[HANDOFF_KEY] = accounts.cookie_handoff(token)


def forget() -> None:
    """Ask the browser to drop the cookie (after a sign-out)."""
    st.session_state.pop(HANDOFF_KEY, None)
    st.session_state[CLEAR_KEY] = True


def _post(path: str, body: str) -> None:
    _scripts.run(
        f"fetch({json.dumps(path)}, {{method: 'POST', body: {json.dumps(body)}, credentials: 'same-origin'}});"
    )


def sync() -> None:
    """Hand the browser a pending code, or tell it to drop the cookie: a script of one line, run once per code."""
    code = st.session_state.get(HANDOFF_KEY)
    if code and not accounts.handoff_pending(code):
        st.session_state.pop(HANDOFF_KEY, None)  # redeemed: the cookie is set
        code = None
    if code:
        _post(session_path(), code)
    elif st.session_state.pop(CLEAR_KEY, None):
        _post(sign_out_path(), "")
