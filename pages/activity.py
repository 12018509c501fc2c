"""Activity: what changed across the workspace, newest first, filterable by user, action and sample; and each
person's progress and throughput.

Annotators see their own activity only. The audit log is read a page at a time, never whole.
"""

from __future__ import annotations

import streamlit as st

from core.errors import WinnowError
from core.team import assignments, diffs, history
from pages import _common, _history, _paged_table

LOG_COLUMNS = ("ts", "user_name", "action", "sample_id", "field", "version", "before", "after")

store = _common.current_store()
who = _common.identity()
me = _common.acting_user()
own_only = who is None or who.role == "annotator"

st.title("Activity")
if own_only:
    st.caption(f"Your own activity, {me}.")

# ---------------------------------------------------------------------------------------------------- people

progress = assignments.annotator_progress(store, user=me if own_only else None)
if progress and any(r["assigned"] for r in progress):
    st.subheader("Assignments")
    st.dataframe(
        progress,
        hide_index=True,
        width="stretch",
        key="activity_progress",
        column_config={
            "annotator": "annotator",
            "assigned": st.column_config.NumberColumn("assigned"),
            "done": st.column_config.NumberColumn("done", help="decided by them"),
            "remaining": st.column_config.NumberColumn("remaining", help="still in their queue"),
            "settled": st.column_config.NumberColumn("settled", help="decided by someone else: a lead or adjudication"),
            "done_24h": st.column_config.NumberColumn("done in 24 h"),
            "per_hour": st.column_config.NumberColumn("per hour (24 h)", format="%.2f"),
            "last_done": st.column_config.DatetimeColumn("last done (UTC)"),
        },
    )

st.subheader("People")
people = store.user_activity(user=me if own_only else None)
if people:
    st.dataframe(
        people,
        hide_index=True,
        width="stretch",
        key="activity_people",
        column_config={
            "user": "user",
            "changes": st.column_config.NumberColumn(
                "changes", help="saved versions, however many fields each changed"
            ),
            "samples": st.column_config.NumberColumn("samples"),
            "decisions": st.column_config.NumberColumn("decisions", help="accepted or rejected"),
            "edits": st.column_config.NumberColumn("edits", help="messages, note, tags or task label"),
            "reverts": st.column_config.NumberColumn("reverts"),
            "decisions_1h": st.column_config.NumberColumn("decisions, last hour"),
            "decisions_24h": st.column_config.NumberColumn("decisions, last 24 h"),
            "first_active": st.column_config.DatetimeColumn("first (UTC)"),
            "last_active": st.column_config.DatetimeColumn("last (UTC)"),
        },
    )
else:
    st.caption("No changes to samples yet.")

# ---------------------------------------------------------------------------------------------------- the log

st.subheader("Changes")
facets = store.event_facets(user=me if own_only else None)
f1, f2, f3 = st.columns(3)
if own_only:
    f1.text_input("User", value=me, disabled=True, key="activity_me")
    user = me
else:
    user = f1.selectbox("User", facets["users"], index=None, placeholder="anyone", key="activity_user")
action = f2.selectbox("Action", facets["actions"], index=None, placeholder="any", key="activity_action")
sample_id = f3.text_input("Sample id", key="activity_sample").strip() or None

# A new filter starts at page 1; a page past the end (the log is newest first) becomes the last one.
_paged_table.start_over_when_changed("activity", repr((user, action, sample_id)))
total = store.count_events(user=user, action=action, sample_id=sample_id)
size, page_no = _paged_table.pager(
    "activity", total, counted=f"{total:,} events", note=" · newest first · times in UTC"
)

rows = store.events_page(user=user, action=action, sample_id=sample_id, offset=(page_no - 1) * size, limit=size)
if rows:
    # What changed, in one line (a word diff for edited messages); pick a row for the whole diff.
    table = [{**{c: r[c] for c in LOG_COLUMNS}, "change": diffs.change_line(r["field"], r["before"], r["after"])}
             for r in rows]  # fmt: skip
    picked = _paged_table.picked_rows(
        table,
        rows,
        key="activity_log",
        selection_mode="single-row",
        column_order=("ts", "user_name", "action", "sample_id", "field", "version", "change"),
        column_config={
            "ts": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
            "user_name": "user",
            "sample_id": "sample",
            "change": st.column_config.TextColumn("change", width="large", help="removed [-…-], added {+…+}"),
        },
    )
    if picked and picked[0]["field"]:
        r = picked[0]
        labels = (f"version {r['version'] - 1}", f"version {r['version']}") if r["version"] else ("before", "after")
        diff = diffs.diff_text(r["field"], history.decode_lenient(r["field"], r["before"]),
                               history.decode_lenient(r["field"], r["after"]), labels=labels)  # fmt: skip
        st.markdown(f"**{r['sample_id']}** · `{r['field']}` · {r['action']} by {r['user_name']}")
        st.code(diff or "(no change)", language="diff")
else:
    st.caption("Nothing matches these filters.")

# ---------------------------------------------------------------------------------------------------- one sample

if sample_id and not own_only:
    try:
        sample = store.get_sample(sample_id)
    except WinnowError as ex:
        _common.show_error(ex)
        st.stop()
    h1, h2 = st.columns([4, 1])
    h1.markdown(f"**{sample_id}** · {_common.status_badge(sample['status'])} · version {sample['version']}")
    if h2.button("Open in Review", key="activity_open", width="stretch"):
        st.session_state["review_open_id"] = sample_id
        st.switch_page("pages/review.py")
    _history.history_panel(store, sample_id, sample["version"], key=f"activity_history_{sample_id}")
