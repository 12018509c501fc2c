"""Review: one pending sample at a time. Accept, reject or skip it; fix its messages, tags and note.

The page keeps a snapshot of the sample as it was shown (``review_snap``). Every change is sent with the snapshot's
version, so a change someone made meanwhile is reported as a conflict, never overwritten.
"""

from __future__ import annotations

import streamlit as st

from core.errors import ConflictError, WinnowError
from core.labels.workspace import label_choices
from core.store import SampleEdit
from core.team import reviews
from core.team.roles import can
from pages import _common, _conflict, _history, _review_messages, _review_queue, _scores

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
    """What the page keeps of a sample, as this reviewer sees it (``reviews.snapshot``), in this workspace."""
    return {"workspace": path, **reviews.snapshot(store, sample, me)}


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
    st.session_state.pop(_conflict.KEY, None)


# ---------------------------------------------------------------------------------------------------- which sample

# A sample opened from Browse (session) or by link (?id=...) comes first, whatever its status. A link to a cluster
# (?cluster=N) or a selection (?selection=NAME) makes it the queue, as Explore's "Open in Review" does.
wanted = st.session_state.pop("review_open_id", None) or st.query_params.get("id")
link = _review_queue.from_link(store, path)
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

# A queue sent from Browse or Explore, or named by a link, narrows the queue until cleared.
queue = _review_queue.controls(store, path, link, forget=forget)

if snap is None:
    sample = store.next_assignment(me, queue, skip=skip) if mine_only else store.next_pending(queue, skip=skip)
    snap = snap_of(sample) if sample else None
if snap is not None:
    st.session_state["review_snap"] = snap

total = _review_queue.progress(store, me, who.role if who else "admin", queue, mine_only=mine_only)
if snap is None:
    _review_queue.nothing_left(total, skip, mine_only=mine_only)

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
conflict = _conflict.shown(sid)


def reopen() -> None:
    """Show the sample again at its current version."""
    forget()
    st.session_state["review_open_id"] = sid


_conflict.panel(store, sid, version, forget=forget, reopen=reopen)  # on top, when someone saved meanwhile
left, right = st.columns([3, 2], gap="large")

with right:
    st.subheader(sid)
    # In a conflict, the header says what the workspace holds now, and which version your edits started from.
    now = conflict["theirs"] if conflict else snap
    started = f" (your edits: version {version})" if conflict else ""
    st.caption(
        f"{_common.status_badge(now['status'])} {snap['source']} · record {snap['source_index'] + 1} · {snap['format']}"
        f" · version {now['version']}{started} · last change by {now['updated_by']}"
    )
    if snap["dup_of"]:
        st.warning(f"Exact duplicate of {snap['dup_of']}.")
    actions = st.container()  # the buttons, above the fold: drawn after the fields they save
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
    label_options = label_choices(store, [snap["task_label"]])
    task_label = st.selectbox(
        "Task label" + (" (suggested)" if snap["task_label_source"] == "suggested" else ""),
        label_options,
        index=label_options.index(snap["task_label"]) if snap["task_label"] else None,
        placeholder="no label yet",
        help=(snap["task_label_source"] == "suggested" and snap["task_label_reason"]) or None,  # why it was suggested
        key=f"rv_label_{k}",
    )
    _scores.folded_scores(snap["scores"])

with left:
    may_set_images = who is not None and can(who.role, "settings")
    _review_messages.show(store, snap["messages"], snap["tools"], may_set_images=may_set_images, user=me)
    edited = _review_messages.edited_messages(snap["messages"], key=f"rv_msg_{k}")
    edited = _review_messages.train_decisions(snap["messages"], edited, key=f"rv_turns_{k}")

messages_changed = edited != snap["messages"]
label_changed = task_label is not None and task_label != snap["task_label"]
changed = messages_changed or sorted(tags) != sorted(snap["tags"]) or note != snap["note"] or label_changed

with right:  # under the fields, beside the buttons that would save it
    if messages_changed:
        _review_messages.unsaved_changes(snap["messages"], edited, version)

# ---------------------------------------------------------------------------------------------------- decisions


def save(status: str | None) -> bool:
    """Write the decision and the edits, based on the shown version. On a conflict, keep both for the panel."""
    label = task_label if (label_changed or (status and task_label is not None)) else None
    try:
        outcome = reviews.review(  # a shared sample's annotator: kept as their annotation (core/team/reviews.py)
            store,
            sid,
            version,
            SampleEdit(status, tags, note, edited if messages_changed else None, label),
            user=_common.acting_user(),
            action="review" if status else "edit",
        )
    except ConflictError:
        # Yours, the version you started from and theirs are all kept: the panel on top merges them.
        yours = {"status": status, "tags": tags, "note": note, "messages": edited, "task_label": label}
        _conflict.record(store, snap, yours)
        st.rerun()
    except WinnowError as ex:  # e.g. the assignment was taken back, or the sample settled, while it was shown
        with actions:
            _common.show_error(ex)
        return False
    if set(tags) - set(known):  # a new tag should be offered at once (clearing for every save costs each session)
        _common.known_tags.clear()
    done = f"{status.capitalize() if status else 'Saved'}: {sid}"
    st.toast(f"{done} (your annotation)" if outcome.annotated else f"{done} (version {outcome.version})")
    return True


with actions:
    settle = "Settle the conflict above first." if conflict else None
    b1, b2, b3 = st.columns(3)
    accept = b1.button(
        "Accept", type="primary", shortcut="A", key="review_accept", width="stretch", disabled=bool(conflict)
    )
    reject = b2.button("Reject", shortcut="X", key="review_reject", width="stretch", disabled=bool(conflict))
    skip_it = b3.button("Skip", shortcut="S", key="review_skip_btn", width="stretch")
    save_it = st.button(
        "Save edits", disabled=not changed or bool(conflict), key="review_save", width="stretch", help=settle
    )
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
    st.caption(
        "Shortcuts: **A** accept · **X** reject (R is Streamlit's rerun key) · **S** skip."
        + (" Accept and Reject also save your unsaved edits." if changed else "")
    )

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
        with actions:
            _common.show_error(ex)
    else:
        st.toast(f"Removed the task label of {sid} (version {new_version})")
        forget()
        st.session_state["review_open_id"] = sid
        st.rerun()


with right:
    _history.history_panel(
        store, sid, version, key=f"rv_history_{k}", after_revert=lambda _: reopen(), can_revert=not snap.get("shared")
    )
