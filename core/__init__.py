"""Winnow's core library: everything that is not UI. It never imports streamlit."""

__version__ = "0.1.0"
