"""Review's conflict panel: someone saved a newer version of the shown sample while you edited it.

Drawn at the top of the page, above the sample: what you chose between first (keep mine, take theirs, save the
merge), then theirs and yours side by side and a line-by-line three-way merge to edit (``core.team.merges``), each
box as tall as its text, the page scrolled to the first ``<<<<<<<`` marker. Nothing is written until you choose.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from core.errors import ConflictError, WinnowError
from core.store import SampleEdit, Store
from core.team import diffs, merges, reviews
from pages import _common, _scripts

KEY = "review_conflict"
MERGE_FIELDS = ("version", "status", "tags", "note", "messages", "task_label")


def theirs_now(store: Store, sid: str) -> dict:
    """The sample as it is in the workspace now: "theirs"."""
    sample = store.get_sample(sid)
    return {k: sample[k] for k in (*MERGE_FIELDS, "updated_by")}


def record(store: Store, snap: dict, yours: dict) -> None:
    """Keep yours, the version you started from and theirs for the panel (the page reruns to draw it on top)."""
    base = {k: snap[k] for k in MERGE_FIELDS}
    st.session_state[KEY] = {"id": snap["id"], "again": False, "base": base, "yours": yours}
    st.session_state[KEY]["theirs"] = theirs_now(store, snap["id"])


def shown(sid: str) -> dict | None:
    """The conflict about sample ``sid``, if there is one."""
    conflict = st.session_state.get(KEY)
    return conflict if conflict and conflict["id"] == sid else None


def box_height(text: str, chars_per_line: int = 40) -> int:
    """Pixels for a text box that shows all of ``text`` (a third of the page wide: its lines wrap at about
    ``chars_per_line``), at Streamlit's 1.6 line height, within its bounds."""
    lines = sum(1 + len(line) // chars_per_line for line in (text or "").split("\n"))
    return min(max(68, 26 * lines + 40), 1600)


def _jump_to_first_marker(key: str) -> None:
    """Focus the first merge box that holds a ``<<<<<<<`` marker, select the marker and scroll to it (our own fixed
    script; ``key`` only makes it run again for a new conflict)."""
    marker = json.dumps(merges.MARK_THEIRS)
    script = f"""// {json.dumps(key)}
    requestAnimationFrame(() => requestAnimationFrame(() => {{
      const box = [...document.querySelectorAll("textarea")].find(t => t.value.includes({marker}));
      if (!box) return;
      const at = box.value.indexOf({marker});
      box.focus();
      box.setSelectionRange(at, at + {len(merges.MARK_THEIRS)});
      box.scrollIntoView({{block: "center"}});
    }}));"""
    _scripts.run(script)


def _merge_box(column, label: str, text: str, key: str) -> str:
    return column.text_area(label, text, key=key, height=box_height(text))


def panel(store: Store, sid: str, version: int, *, forget: Callable[[], None], reopen: Callable[[], None]) -> None:
    """Draw the conflict about ``sid`` (shown at ``version``) and act on the choice made in it."""
    conflict = shown(sid)
    if conflict is None:
        return
    base, yours, theirs = conflict["base"], conflict["yours"], conflict["theirs"]
    vk = f"{sid}_{theirs['version']}"
    with st.container(border=True, key="review_conflict_panel"):
        again = " again, while you merged" if conflict["again"] else ""
        st.error(
            f"Someone saved a newer version{again}: choose below. {theirs['updated_by']} saved version "
            f"{theirs['version']} while you edited version {version}; nothing of yours was written yet.",
            icon="⚠️",
        )
        choices = st.container()  # the buttons, drawn above the boxes they save
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(f"**Now in the workspace** (version {theirs['version']}, by {theirs['updated_by']})")
            st.write({"status": theirs["status"], "tags": theirs["tags"], "note": theirs["note"]})
        with c2:
            st.markdown(f"**Yours** (based on version {version})")
            st.write({"status": yours["status"] or base["status"], "tags": yours["tags"], "note": yours["note"]})
        labels = (f"version {theirs['version']}", "yours")
        st.code(diffs.diff_text("messages", theirs["messages"], yours["messages"], labels=labels) or "(the same)",
                language="diff")  # fmt: skip

        st.markdown(f"**Merge** · version {theirs['version']} (theirs), yours, and the merge you will save")
        merged_note, clean = merges.merge_text(base["note"], theirs["note"], yours["note"])
        if theirs["note"] != yours["note"]:
            n1, n2, n3 = st.columns(3)
            _merge_box(n1, "Note · theirs", theirs["note"], f"rv_theirs_note_{vk}")
            _merge_box(n2, "Note · yours", yours["note"], f"rv_yours_note_{vk}")
            merged_note = _merge_box(n3, "Note · merged", merged_note, f"rv_merge_note_{vk}")
        merged_messages, messages_clean = merges.merge_messages(base["messages"], theirs["messages"], yours["messages"])
        clean &= messages_clean
        if merged_messages is None:
            st.caption("The two versions do not have the same turns, so they cannot be merged turn by turn.")
        else:
            merged_messages = list(merged_messages)
            for i, (t, m) in enumerate(zip(theirs["messages"], yours["messages"])):
                if t.get("content") == m.get("content") or not isinstance(merged_messages[i].get("content"), str):
                    continue
                m1, m2, m3 = st.columns(3)
                _merge_box(m1, f"[{i + 1}] {t['role']} · theirs", t.get("content"), f"rv_theirs_{vk}_{i}")
                _merge_box(m2, f"[{i + 1}] {m['role']} · yours", m.get("content"), f"rv_yours_{vk}_{i}")
                text = _merge_box(m3, f"[{i + 1}] merged", merged_messages[i]["content"], f"rv_merge_msg_{vk}_{i}")
                merged_messages[i] = {**merged_messages[i], "content": text}
        merged_tags = merges.merge_tags(base["tags"], theirs["tags"], yours["tags"])
        st.caption(
            f"Merged tags: {', '.join(merged_tags) or 'none'}"
            + (f" · decision: {yours['status']}" if yours["status"] else "")
            + ("" if clean else " · both changed the same lines: edit the text between the <<<<<<< and >>>>>>> lines")
        )
        if not clean:
            _jump_to_first_marker(vk)

        with choices:
            k1, k2, k3 = st.columns(3)
            keep = k1.button(
                "Keep mine", key="review_keep_mine", width="stretch", help="Save the fields you changed over theirs."
            )
            take = k2.button(
                f"Take theirs (version {theirs['version']})", key="review_reload", width="stretch", help="Drop yours."
            )
            save_merge = k3.button(
                "Save the merge",
                key="review_save_merge",
                type="primary",
                width="stretch",
                disabled=merged_messages is None,
            )

    mine = {"status": yours["status"], "task_label": yours["task_label"]}
    mine |= {"tags": yours["tags"]} if sorted(yours["tags"]) != sorted(base["tags"]) else {}
    mine |= {"note": yours["note"]} if yours["note"] != base["note"] else {}
    mine |= {"messages": yours["messages"]} if yours["messages"] != base["messages"] else {}
    if keep:
        _resolve(store, sid, mine, conflict, forget)
    elif take:
        reopen()
        st.rerun()
    elif save_merge:
        texts = [merged_note] + [m["content"] for m in merged_messages if isinstance(m.get("content"), str)]
        if any(merges.has_conflict_markers(t) for t in texts):
            with choices:
                st.error("The merge still holds both sides between <<<<<<< and >>>>>>> lines: keep one, then save.")
        else:
            merged = {"status": yours["status"], "task_label": yours["task_label"], "tags": merged_tags}
            _resolve(store, sid, merged | {"note": merged_note, "messages": merged_messages}, conflict, forget)


def _resolve(store: Store, sid: str, values: dict, conflict: dict, forget: Callable[[], None]) -> None:
    """Save a resolution, based on the version shown as theirs: a save made since then is a new conflict, shown in
    its place, and nothing is overwritten."""
    status = values.get("status")
    try:
        new_version = reviews.review(
            store,
            sid,
            conflict["theirs"]["version"],
            SampleEdit(**values),
            user=_common.acting_user(),
            action="review" if status else "edit",
        ).version
    except ConflictError:
        conflict.update(again=True, theirs=theirs_now(store, sid))
        st.rerun()
    except WinnowError as ex:
        _common.show_error(ex)
        return
    _common.known_tags.clear()
    st.toast(f"{status.capitalize() if status else 'Saved'}: {sid} (version {new_version})")
    forget()
    if not status:  # no decision: stay on it, at its new version
        st.session_state["review_open_id"] = sid
    st.rerun()
