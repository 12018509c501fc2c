"""Winnow's server: Streamlit serving app.py, plus the two routes that keep a sign-in across reloads.

Run with ``streamlit run serve.py`` (``make run`` does). Streamlit finds the ``st.App`` below and serves app.py
with it; ``pages/_sign_in_cookie.py`` says what the routes do and why they exist.
"""

import streamlit as st

from pages import _sign_in_cookie

app = st.App("app.py", routes=_sign_in_cookie.routes())
