"""The history panel of one sample (Review, Browse, Activity): every version, who made it and when, a diff of each
change, and a revert to any version. Streamlit-only; the versions come from ``core.team.history``."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from core.errors import WinnowError
from core.markdown import images_as_links
from core.store import Store
from core.team import diffs, history
from pages import _common

SHOWN = 50  # newest versions drawn; older ones stay reachable by reverting to them


def _short(field: str, value: object) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "tags":
        return ", ".join(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _change(change: history.Change, version: int) -> None:
    long_text = change.field == "messages" or any(
        isinstance(v, str) and ("\n" in v or len(v) > 80) for v in (change.before, change.after)
    )
    if long_text:
        st.markdown(f"`{change.field}`")
        labels = (f"version {version - 1}", f"version {version}")
        st.code(diffs.diff_text(change.field, change.before, change.after, labels=labels), language="diff")
    else:
        before, after = (images_as_links(_short(change.field, v)) for v in (change.before, change.after))
        st.markdown(f"`{change.field}`: {before} → **{after}**")  # imported text: images as links, never loaded


def history_panel(
    store: Store,
    sample_id: str,
    version: int,
    *,
    key: str,
    after_revert: Callable[[int], None] | None = None,
    can_revert: bool = True,
) -> None:
    """An expander with the sample's versions, newest first, and a revert control.

    Args:
        version: the version the page shows; a revert is based on it (a change made meanwhile is a conflict).
        key: a prefix for the widget keys, unique on the page.
        after_revert: called with the new version after a revert that wrote one (the page reloads the sample).
        can_revert: False hides the revert control (core refuses it anyway, e.g. to an annotator who shares the
            sample with others).
    """
    try:
        versions = history.sample_versions(store, sample_id)
    except WinnowError as ex:
        _common.show_error(ex)
        return
    with st.expander(f"History · {len(versions)} version{'s' if len(versions) != 1 else ''}"):
        for index in range(len(versions) - 1, max(-1, len(versions) - 1 - SHOWN), -1):
            v = versions[index]
            when = f"{v.ts:%Y-%m-%d %H:%M:%S} UTC" if v.ts else "?"
            again = history.same_as(versions, index) if v.action == "revert" else None
            st.markdown(
                f"**Version {v.version}** · {v.action} · {v.user or '?'} · {when}"
                + (f" · back to version {again}" if again else "")
            )
            for change in v.changes:
                _change(change, v.version)
        if len(versions) > SHOWN:
            st.caption(f"{len(versions) - SHOWN} older versions not shown.")
        earlier = [v.version for v in versions if v.version != version]
        if not earlier or not can_revert:
            return
        st.divider()
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        target = c1.selectbox(
            "Revert to version", list(reversed(earlier)), key=f"{key}_target", help="The revert is a new version."
        )
        if c2.button("Revert", key=f"{key}_revert", width="stretch"):
            try:
                new_version = history.revert(
                    store, sample_id, int(target), expected_version=version, user=_common.acting_user()
                )
            except WinnowError as ex:
                _common.show_error(ex)
                return
            if new_version == version:
                st.info(f"Version {version} already is what version {target} was: nothing to revert.")
                return
            st.toast(f"Reverted {sample_id} to version {target} (now version {new_version})")
            if after_revert:
                after_revert(new_version)
            st.rerun()
