"""Review: one pending sample at a time. Accept, reject or skip it; fix its messages, tags and note.

The page keeps a snapshot of the sample as it was shown (``review_snap``). Every change is sent with the snapshot's
version, so a change someone made meanwhile is reported as a conflict, never overwritten.
"""

from __future__ import annotations

import difflib
import json

import streamlit as st

from core import audit, team
from core.auth import can
from core.errors import ConflictError, WinnowError
from core.labels import label_names, workspace_taxonomy
from core.store import SampleFilter
from pages import _common, _history

SNAP_FIELDS = ("id", "version", "status", "tags", "note", "messages", "tools", "source", "source_index", "format")
SNAP_FIELDS += ("dup_of", "scores", "updated_by", "updated_at", "task_label", "task_label_source")

store = _common.current_store()
path = str(_common.workspace_path())
# What this session skipped, per workspace.
skip: list[str] = st.session_state.setdefault("review_skip", {}).setdefault(path, [])

me = _common.acting_user()
who = _common.identity()
# Annotators review their assignments only; leads and admins review the whole workspace.
mine_only = who is not None and who.role == "annotator"

st.title("Review")


def snap_of(sample: dict) -> dict:
    """What the page keeps of a sample, as this reviewer sees it: on a sample several annotators share, an
    annotator sees (and edits) their own annotation of it, never the others'."""
    seen = team.as_seen_by(store, sample, me)
    shared = {"shared": seen["shared"], "annotation": seen["annotation"], "assignees": seen["assignees"]}
    return {"workspace": path, "user": me, **{k: seen[k] for k in SNAP_FIELDS}, **shared}


def snapshot(sample_id: str) -> dict | None:
    try:
        sample = store.get_sample(sample_id)
    except WinnowError as ex:
        _common.show_error(ex)
        return None
    return snap_of(sample)


def forget() -> None:
    """Drop the shown sample (and any conflict about it) so the next run loads a fresh one."""
    st.session_state.pop("review_snap", None)
    st.session_state.pop("review_conflict", None)


def transcript(messages: list[dict]) -> list[str]:
    lines = []
    for i, m in enumerate(messages):
        content = m.get("content")
        lines.append(f"[{i + 1}] {m.get('role')}:")
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
if snap is not None and (snap["workspace"] != path or snap.get("user") != me):  # another workspace or account
    forget()
    snap = None
if wanted and mine_only and me not in store.assignees(wanted):
    st.warning(f"Sample {wanted} is not assigned to you: here is your next assignment instead.")
    wanted = None
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
    sample = store.next_assignment(me, queue, skip=skip) if mine_only else store.next_pending(queue, skip=skip)
    snap = snap_of(sample) if sample else None
if snap is not None:
    st.session_state["review_snap"] = snap

if mine_only:
    progress = (team.annotator_progress(store, user=me) or [{"assigned": 0, "done": 0, "remaining": 0}])[0]
    done, total = progress["done"], progress["assigned"]
    text = f"{done:,} of {total:,} of your assignments done · {progress['remaining']:,} to go"
    st.progress(min(done / total, 1.0) if total else 0.0, text=text)
else:
    reviewed, total = _common.review_counts(store)
    pending_left = store.count(SampleFilter(**{**queue.__dict__, "status": "pending"}))
    text = f"{reviewed:,} of {total:,} reviewed · {pending_left:,} pending"
    st.progress(reviewed / total if total else 0.0, text=text)

if snap is None:
    if mine_only:
        st.success("Nothing left in your assignments." if total else "Nothing is assigned to you yet.")
    else:
        st.success("Nothing left to review in this queue." if total else "The workspace is empty: import a file first.")
    if skip:
        st.caption(f"You skipped {len(skip)} samples in this session.")
        if st.button("Review the skipped samples", key="review_unskip"):
            skip.clear()
            st.rerun()
    st.stop()

if snap.get("shared"):
    others = ", ".join(n for n in snap["assignees"] if n != me)
    mine = snap["annotation"]
    st.info(
        f"You review this sample with {others}: your decision and edits are kept as your annotation, and the sample "
        "stays pending until a lead adjudicates."
        + (f" You decided **{mine['status']}**; saving again replaces it." if mine and mine["status"] else ""),
        icon=":material/group:",
    )

# ---------------------------------------------------------------------------------------------------- the sample

sid, version = snap["id"], snap["version"]
k = f"{sid}_{version}"  # widget keys: a new version starts from its own values
left, right = st.columns([3, 2], gap="large")

with right:
    st.subheader(sid)
    st.caption(
        f"{_common.status_badge(snap['status'])} {snap['source']} · record {snap['source_index'] + 1} · {snap['format']} · version {version}"
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
    images = store.markdown_images()
    if who is not None and can(who.role, "settings"):
        wanted = st.toggle(
            "Show remote images",
            value=images,
            key="review_images",
            help="For everyone in this workspace. Markdown images load from the hosts the imported text names, in "
            "each reviewer's browser; off, they are shown as links.",
        )
        if wanted != images:
            store.set_markdown_images(wanted, user=me)
            images = wanted
    _common.render_chat(snap["messages"], tools=snap["tools"], markdown=markdown, images=images)
    edited = []
    with st.expander("Edit messages"):
        for i, m in enumerate(snap["messages"]):
            if isinstance(m.get("content"), str):
                text = st.text_area(f"[{i + 1}] {m['role']}", value=m["content"], key=f"rv_msg_{k}_{i}")
                edited.append({**m, "content": text})
            else:
                st.caption(f"[{i + 1}] {m['role']}: structured content, not editable here")
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


MERGE_FIELDS = ("version", "status", "tags", "note", "messages", "task_label")


def theirs_now() -> dict:
    """The shown sample as it is in the workspace now: "theirs" in the conflict panel."""
    sample = store.get_sample(sid)
    return {k: sample[k] for k in (*MERGE_FIELDS, "updated_by")}


def save(status: str | None) -> bool:
    """Write the decision and the edits, based on the shown version. On a conflict, keep both for the panel."""
    label = task_label if (label_changed or (status and task_label is not None)) else None
    try:
        outcome = team.review(  # a shared sample's annotator: kept as their annotation (core/team.py)
            store,
            sid,
            version,
            user=_common.acting_user(),
            status=status,
            tags=tags,
            note=note,
            messages=edited if messages_changed else None,
            task_label=label,
            action="review" if status else "edit",
        )
    except ConflictError as ex:
        # Yours, the version you started from and theirs are all kept: the panel below merges them.
        st.session_state["review_conflict"] = {
            "id": sid,
            "message": str(ex),
            "base": {k: snap[k] for k in MERGE_FIELDS},
            "yours": {"status": status, "tags": tags, "note": note, "messages": edited, "task_label": label},
            "theirs": theirs_now(),
        }
        return False
    except WinnowError as ex:  # e.g. the assignment was taken back, or the sample settled, while it was shown
        _common.show_error(ex)
        return False
    _common.known_tags.clear()  # a new tag should be offered at once
    done = f"{status.capitalize() if status else 'Saved'}: {sid}"
    st.toast(f"{done} (your annotation)" if outcome.annotated else f"{done} (version {outcome.version})")
    return True


with right:
    b1, b2, b3 = st.columns(3)
    accept = b1.button("Accept", type="primary", shortcut="A", key="review_accept", width="stretch")
    reject = b2.button("Reject", shortcut="X", key="review_reject", width="stretch")
    skip_it = b3.button("Skip", shortcut="S", key="review_skip_btn", width="stretch")
    save_it = st.button("Save edits", disabled=not changed, key="review_save", width="stretch")
    unlabel = (
        snap["task_label_source"] == "confirmed"
        and not snap.get("shared")
        and st.button(
            "Remove the confirmed label",
            disabled=changed,
            key="review_unlabel",
            width="stretch",
            help="Save or undo your edits first." if changed else "The sample goes back to having no task label.",
        )
    )
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
elif unlabel:
    try:
        new_version = store.clear_task_label(sid, version, user=_common.acting_user())
    except WinnowError as ex:  # a conflict too: reloading shows the current version
        _common.show_error(ex)
    else:
        st.toast(f"Removed the task label of {sid} (version {new_version})")
        forget()
        st.session_state["review_open_id"] = sid
        st.rerun()


def reopen() -> None:
    """Show the sample again at its current version."""
    forget()
    st.session_state["review_open_id"] = sid


with right:
    _history.history_panel(
        store, sid, version, key=f"rv_history_{k}", after_revert=lambda _: reopen(), can_revert=not snap.get("shared")
    )


# ---------------------------------------------------------------------------------------------------- conflict


def resolve(values: dict, conflict: dict) -> None:
    """Save a conflict's resolution, based on the version shown as theirs: a save made since then is a new
    conflict, shown in its place, and nothing is overwritten."""
    status = values.get("status")
    try:
        new_version = team.review(
            store,
            sid,
            conflict["theirs"]["version"],
            user=_common.acting_user(),
            action="review" if status else "edit",
            **values,
        ).version
    except ConflictError as ex:
        conflict.update(message=f"{ex} (again, while you merged)", theirs=theirs_now())
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


conflict = st.session_state.get("review_conflict")
if conflict and conflict["id"] == sid:
    base, yours, theirs = conflict["base"], conflict["yours"], conflict["theirs"]
    st.divider()
    st.error(conflict["message"], icon="⚠️")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**Now in the workspace** (version {theirs['version']}, by {theirs['updated_by']})")
        st.write({"status": theirs["status"], "tags": theirs["tags"], "note": theirs["note"]})
    with c2:
        st.markdown(f"**Yours** (based on version {version})")
        st.write({"status": yours["status"] or base["status"], "tags": yours["tags"], "note": yours["note"]})
    st.markdown("**Messages: workspace → yours**")
    text = diff(theirs["messages"], yours["messages"], labels=(f"version {theirs['version']}", "yours"))
    st.code(text or "(the same)", language="diff")

    # Side by side: theirs, yours, and a merge to edit, prefilled with a line-by-line three-way merge.
    vk = f"{sid}_{theirs['version']}"
    st.markdown(f"**Merge** · version {theirs['version']} (theirs), yours, and the merge you will save")
    merged_note, clean = audit.merge_text(base["note"], theirs["note"], yours["note"])
    if theirs["note"] != yours["note"]:
        n1, n2, n3 = st.columns(3)
        n1.text_area("Note · theirs", theirs["note"], disabled=True, key=f"rv_theirs_note_{vk}")
        n2.text_area("Note · yours", yours["note"], disabled=True, key=f"rv_yours_note_{vk}")
        merged_note = n3.text_area("Note · merged", merged_note, key=f"rv_merge_note_{vk}")
    merged_messages, messages_clean = audit.merge_messages(base["messages"], theirs["messages"], yours["messages"])
    clean &= messages_clean
    if merged_messages is None:
        st.caption("The two versions do not have the same turns, so they cannot be merged turn by turn.")
    else:
        merged_messages = list(merged_messages)
        for i, (t, m) in enumerate(zip(theirs["messages"], yours["messages"])):
            if t.get("content") == m.get("content") or not isinstance(merged_messages[i].get("content"), str):
                continue
            m1, m2, m3 = st.columns(3)
            m1.text_area(f"[{i + 1}] {t['role']} · theirs", t.get("content"), disabled=True, key=f"rv_theirs_{vk}_{i}")
            m2.text_area(f"[{i + 1}] {m['role']} · yours", m.get("content"), disabled=True, key=f"rv_yours_{vk}_{i}")
            text = m3.text_area(f"[{i + 1}] merged", merged_messages[i]["content"], key=f"rv_merge_msg_{vk}_{i}")
            merged_messages[i] = {**merged_messages[i], "content": text}
    merged_tags = audit.merge_tags(base["tags"], theirs["tags"], yours["tags"])
    st.caption(
        f"Merged tags: {', '.join(merged_tags) or 'none'}"
        + (f" · decision: {yours['status']}" if yours["status"] else "")
        + ("" if clean else " · both changed the same lines: edit the text between the <<<<<<< and >>>>>>> lines")
    )

    mine = {"status": yours["status"], "task_label": yours["task_label"]}
    mine |= {"tags": yours["tags"]} if sorted(yours["tags"]) != sorted(base["tags"]) else {}
    mine |= {"note": yours["note"]} if yours["note"] != base["note"] else {}
    mine |= {"messages": yours["messages"]} if yours["messages"] != base["messages"] else {}
    k1, k2, k3 = st.columns(3)
    keep = k1.button(
        "Keep mine", key="review_keep_mine", width="stretch", help="Save the fields you changed over theirs."
    )
    take = k2.button(
        f"Take theirs (version {theirs['version']})", key="review_reload", width="stretch", help="Drop your changes."
    )
    save_merge = k3.button(
        "Save the merge", key="review_save_merge", type="primary", width="stretch", disabled=merged_messages is None
    )
    st.caption("Nothing was written yet. Your changes stay here until you choose.")
    if keep:
        resolve(mine, conflict)
    elif take:
        reopen()
        st.rerun()
    elif save_merge:
        texts = [merged_note] + [m["content"] for m in merged_messages if isinstance(m.get("content"), str)]
        if any(audit.has_conflict_markers(t) for t in texts):
            st.error("The merge still holds both sides between <<<<<<< and >>>>>>> lines: keep one, then save.")
        else:
            merged = {"status": yours["status"], "task_label": yours["task_label"], "tags": merged_tags}
            resolve(merged | {"note": merged_note, "messages": merged_messages}, conflict)
