"""Review: one pending sample at a time. Accept, reject or skip it; fix its messages, tags and note.

The page keeps a snapshot of the sample as it was shown (``review_snap``). Every change is sent with the snapshot's
version, so a change someone made meanwhile is reported as a conflict, never overwritten.
"""

from __future__ import annotations

import difflib
import json

import streamlit as st

from core.errors import ConflictError, WinnowError
from core.labels import label_names, workspace_taxonomy
from core.store import SampleFilter
from pages import _common

SNAP_FIELDS = ("id", "version", "status", "tags", "note", "messages", "tools", "source", "source_index", "format")
SNAP_FIELDS += ("dup_of", "scores", "updated_by", "updated_at", "task_label", "task_label_source")

store = _common.current_store()
path = str(_common.workspace_path())
# What this session skipped, per workspace.
skip: list[str] = st.session_state.setdefault("review_skip", {}).setdefault(path, [])

st.title("Review")


def snapshot(sample_id: str) -> dict | None:
    try:
        sample = store.get_sample(sample_id)
    except WinnowError as ex:
        _common.show_error(ex)
        return None
    return {"workspace": path, **{k: sample[k] for k in SNAP_FIELDS}}


def forget() -> None:
    """Drop the shown sample (and any conflict about it) so the next run loads a fresh one."""
    st.session_state.pop("review_snap", None)
    st.session_state.pop("review_conflict", None)


def transcript(messages: list[dict]) -> list[str]:
    lines = []
    for i, m in enumerate(messages):
        content = m.get("content")
        lines.append(f"[{i}] {m.get('role')}:")
        lines += (content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)).splitlines()
    return lines


def diff(before: list[dict], after: list[dict], *, labels=("before", "after")) -> str:
    return "\n".join(
        difflib.unified_diff(transcript(before), transcript(after), fromfile=labels[0], tofile=labels[1], lineterm="")
    )


# ---------------------------------------------------------------------------------------------------- which sample

# A sample opened from Browse (session) or by link (?id=...) comes first, whatever its status.
wanted = st.session_state.pop("review_open_id", None) or st.query_params.get("id")
if "id" in st.query_params:
    del st.query_params["id"]
snap: dict | None = st.session_state.get("review_snap")
if snap is not None and snap["workspace"] != path:  # the sidebar switched workspaces
    forget()
    snap = None
if wanted and (snap is None or snap["id"] != wanted):
    forget()
    snap = snapshot(wanted)

with st.expander("Queue filter"):
    sources = {s["source_id"]: s["name"] for s in store.sources()}
    q1, q2 = st.columns(2)
    queue_sources = q1.multiselect("Sources", list(sources), format_func=sources.get, key="review_sources")
    queue_tag = q2.selectbox("Tag", _common.known_tags(path, store), index=None, placeholder="any", key="review_tag")
queue = SampleFilter(source_ids=queue_sources or None, tag=queue_tag)
# A queue sent from Explore (selected ids, or a cluster) narrows the queue until cleared.
sent = st.session_state.get("review_queue")
if sent and sent["workspace"] == path:
    queue = SampleFilter(source_ids=queue.source_ids, tag=queue.tag, ids=sent.get("ids"), cluster=sent.get("cluster"))
    s1, s2 = st.columns([4, 1], vertical_alignment="center")
    s1.info(f"Reviewing {sent['label']} (sent from Explore).")
    if s2.button("Back to the whole queue", key="review_clear_queue"):
        del st.session_state["review_queue"]
        forget()
        st.rerun()

if snap is None:
    sample = store.next_pending(queue, skip=skip)
    snap = {"workspace": path, **{k: sample[k] for k in SNAP_FIELDS}} if sample else None
if snap is not None:
    st.session_state["review_snap"] = snap

reviewed, total = _common.review_counts(store)
pending_left = store.count(SampleFilter(**{**queue.__dict__, "status": "pending"}))
st.progress(reviewed / total if total else 0.0, text=f"{reviewed:,} of {total:,} reviewed · {pending_left:,} pending")

if snap is None:
    st.success("Nothing left to review in this queue." if total else "The workspace is empty: import a file first.")
    if skip:
        st.caption(f"You skipped {len(skip)} samples in this session.")
        if st.button("Review the skipped samples", key="review_unskip"):
            skip.clear()
            st.rerun()
    st.stop()

# ---------------------------------------------------------------------------------------------------- the sample

sid, version = snap["id"], snap["version"]
k = f"{sid}_{version}"  # widget keys: a new version starts from its own values
left, right = st.columns([3, 2], gap="large")

with right:
    st.subheader(sid)
    st.caption(
        f"{_common.status_badge(snap['status'])} {snap['source']} · record {snap['source_index']} · {snap['format']} · version {version}"
        f" · last change by {snap['updated_by']}"
    )
    if snap["dup_of"]:
        st.warning(f"Exact duplicate of {snap['dup_of']}.")
    _common.render_scores(snap["scores"])
    known = _common.known_tags(path, store)
    tags = st.multiselect(
        "Tags",
        sorted(set(known) | set(snap["tags"])),
        default=snap["tags"],
        accept_new_options=True,
        key=f"rv_tags_{k}",
    )
    note = st.text_area("Note", value=snap["note"], key=f"rv_note_{k}", height=80)
    # Accept and Reject confirm the label shown (the annotator saw it); Save edits confirms it only when changed.
    label_options = label_names(workspace_taxonomy(store))
    label_options += [snap["task_label"]] if snap["task_label"] and snap["task_label"] not in label_options else []
    task_label = st.selectbox(
        "Task label" + (" (suggested)" if snap["task_label_source"] == "suggested" else ""),
        label_options,
        index=label_options.index(snap["task_label"]) if snap["task_label"] else None,
        placeholder="no label yet",
        key=f"rv_label_{k}",
    )

with left:
    markdown = st.toggle("Render Markdown", value=True, key="review_markdown")
    _common.render_chat(snap["messages"], tools=snap["tools"], markdown=markdown)
    edited = []
    with st.expander("Edit messages"):
        for i, m in enumerate(snap["messages"]):
            if isinstance(m.get("content"), str):
                text = st.text_area(f"[{i}] {m['role']}", value=m["content"], key=f"rv_msg_{k}_{i}")
                edited.append({**m, "content": text})
            else:
                st.caption(f"[{i}] {m['role']}: structured content, not editable here")
                edited.append(m)

messages_changed = edited != snap["messages"]
label_changed = task_label is not None and task_label != snap["task_label"]
changed = messages_changed or sorted(tags) != sorted(snap["tags"]) or note != snap["note"] or label_changed

with right:  # beside the buttons that would save it
    if messages_changed:
        st.markdown("**Your unsaved changes to the messages**")
        st.code(
            diff(snap["messages"], edited, labels=(f"version {version}", "yours")), language="diff", wrap_lines=True
        )

# ---------------------------------------------------------------------------------------------------- decisions


def save(status: str | None) -> bool:
    """Write the decision and the edits, based on the shown version. On a conflict, keep both for the panel."""
    try:
        new_version = store.update_sample(
            sid,
            version,
            user=_common.acting_user(),
            status=status,
            tags=tags,
            note=note,
            messages=edited if messages_changed else None,
            task_label=task_label if (label_changed or (status and task_label is not None)) else None,
            action="review" if status else "edit",
        )
    except ConflictError as ex:
        st.session_state["review_conflict"] = {
            "id": sid,
            "message": str(ex),
            "yours": {"status": status, "tags": tags, "note": note, "messages": edited},
        }
        return False
    _common.known_tags.clear()  # a new tag should be offered at once
    st.toast(f"{status.capitalize() if status else 'Saved'}: {sid} (version {new_version})")
    return True


with right:
    b1, b2, b3 = st.columns(3)
    accept = b1.button("Accept", type="primary", shortcut="A", key="review_accept", width="stretch")
    reject = b2.button("Reject", shortcut="X", key="review_reject", width="stretch")
    skip_it = b3.button("Skip", shortcut="S", key="review_skip_btn", width="stretch")
    save_it = st.button("Save edits", disabled=not changed, key="review_save", width="stretch")
    st.caption("Shortcuts: **A** accept · **X** reject (R is Streamlit's rerun key) · **S** skip.")
    if changed:
        st.caption("Accept and Reject also save your unsaved edits.")

if accept or reject:
    if save("accepted" if accept else "rejected"):
        forget()
        st.rerun()
elif skip_it:
    skip.append(sid)
    forget()
    st.rerun()
elif save_it and save(None):
    forget()
    st.session_state["review_open_id"] = sid  # stay on it, at its new version
    st.rerun()

# ---------------------------------------------------------------------------------------------------- conflict

conflict = st.session_state.get("review_conflict")
if conflict and conflict["id"] == sid:
    st.divider()
    st.error(conflict["message"], icon="⚠️")
    current = store.get_sample(sid)
    yours = conflict["yours"]
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**Now in the workspace** (version {current['version']}, by {current['updated_by']})")
        st.write({"status": current["status"], "tags": current["tags"], "note": current["note"]})
    with c2:
        st.markdown(f"**Yours** (based on version {version})")
        st.write({"status": yours["status"] or snap["status"], "tags": yours["tags"], "note": yours["note"]})
    st.markdown("**Messages: workspace → yours**")
    text = diff(current["messages"], yours["messages"], labels=(f"version {current['version']}", "yours"))
    st.code(text or "(the same)", language="diff")
    st.caption("Nothing was written. Reload to see the current version, then apply your change again.")
    if st.button("Reload the current version", key="review_reload", type="primary"):
        forget()
        st.session_state["review_open_id"] = sid
        st.rerun()
