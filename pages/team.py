"""Team (leads and admins): give samples to annotators, with overlap; follow their progress; measure how well they
agree; and adjudicate the samples several of them reviewed, picking one annotator's version or writing a merged one.
"""

from __future__ import annotations

import streamlit as st

from core.errors import ConflictError, WinnowError
from core.labels.workspace import label_choices
from core.store import UNLABELED, SampleEdit, SampleFilter
from core.team import adjudication, agreement, assignments, diffs, reviews
from pages import _common

store = _common.current_store()
_common.require("assign", "The Team page")
me = _common.acting_user()

st.title("Team")
st.caption(
    "Give samples to annotators. With an overlap of 2 or more, each annotator's review of a sample is kept apart as "
    "their annotation and the sample waits for a lead to adjudicate it below."
)


annotators = [u["name"] for u in store.users() if u["role"] == "annotator" and not u["disabled"]]
labels = label_choices(store)

# ---------------------------------------------------------------------------------------------------- assign

st.subheader("Assign")
if not annotators:
    st.info("There are no annotator accounts yet: an admin adds them on the Users page.", icon="👥")
c1, c2, c3, c4 = st.columns(4)
status = c1.selectbox("Status", ["pending", "accepted", "rejected", "any"], key="team_status")
selection = c2.selectbox(
    "Selection", [s["name"] for s in store.selections()], index=None, placeholder="any", key="team_selection"
)
current_map = store.get_map()
clusters = current_map["cluster_names"] if current_map else {}
cluster = c3.selectbox(
    "Cluster",
    list(clusters),
    index=None,
    format_func=lambda c: f"{c}: {clusters[c]}",
    placeholder="any" if clusters else "no map yet",
    disabled=not clusters,
    key="team_cluster",
)
label = c4.selectbox("Task label", [*labels, UNLABELED], index=None, placeholder="any", key="team_label")
chosen = SampleFilter(
    status=None if status == "any" else status, selection=selection, cluster=cluster, task_label=label
)

a1, a2, a3 = st.columns([3, 1, 1])
names = a1.multiselect("Annotators", annotators, key="team_annotators")
overlap = a2.number_input(
    "Overlap (annotators per sample)",
    min_value=1,
    max_value=max(len(annotators), 1),
    value=1,
    key="team_overlap",
    help="2 or more: each sample is reviewed by that many annotators, and you adjudicate their annotations.",
)
how_many = a3.number_input("How many samples (0 = all)", min_value=0, value=0, step=10, key="team_limit")
include_assigned = st.checkbox(
    "Also samples someone is already assigned", key="team_include_assigned", help="Off: only unassigned samples."
)
counts = st.empty()  # filled after the button, so it counts what an assignment just took
if st.button("Assign", type="primary", key="team_assign", disabled=not names):
    try:
        result = assignments.distribute(
            store,
            chosen,
            names,
            overlap=int(overlap),
            limit=int(how_many) or None,
            only_unassigned=not include_assigned,
            by=me,
        )
    except WinnowError as ex:
        _common.show_error(ex)
    else:
        loads = ", ".join(f"{n} {k}" for n, k in result["per_user"].items())
        st.success(f"Gave out {result['samples']:,} samples (overlap {int(overlap)}): {loads}.")
preview = store.assignment_preview(chosen)
available = preview["matching"] if include_assigned else preview["unassigned"]
counts.caption(
    f"{preview['matching']:,} samples match, {preview['unassigned']:,} of them unassigned: "
    f"{min(available, how_many or available):,} would be given out."
)

with st.expander("Take back open assignments"):
    st.caption("Of the samples matching the filters above, still pending and not yet decided by their assignee.")
    back_from = st.multiselect("From", annotators, key="team_unassign_names", placeholder="everyone")
    if st.button("Take back", key="team_unassign"):
        try:
            removed = assignments.unassign(store, chosen, back_from or None, by=me)
        except WinnowError as ex:
            _common.show_error(ex)
        else:
            st.success(f"Took back {removed:,} assignments.")

st.subheader("Progress")
progress = assignments.annotator_progress(store)
if progress:
    st.dataframe(
        progress,
        hide_index=True,
        key="team_progress",
        column_config={
            "per_hour": st.column_config.NumberColumn("per hour (24 h)", format="%.1f"),
            "done_24h": "done (24 h)",
            "settled": st.column_config.NumberColumn("settled by others", help="reviewed or adjudicated by a lead"),
            "last_done": st.column_config.DatetimeColumn("last done (UTC)", format="YYYY-MM-DD HH:mm"),
        },
    )

# ---------------------------------------------------------------------------------------------------- agreement

st.subheader("Agreement")
team_agreement = agreement.agreement(store)
if not team_agreement["samples"]:
    st.caption("No sample has two decided annotations yet: assign samples with an overlap of 2 or more.")
else:
    fleiss = team_agreement["fleiss"]
    m1, m2 = st.columns(2)
    for column, what in ((m1, "decision"), (m2, "label")):
        overall = fleiss[what]
        column.metric(f"Fleiss' kappa, {what}s", agreement.kappa_text(overall["kappa"]))
        if overall["items"]:
            column.caption(f"over the {overall['items']} of {overall['of']} samples with {overall['raters']} raters")
    st.caption(
        f"{team_agreement['samples']} samples with two or more decisions. Kappa: 1 = full agreement, 0 = what chance "
        "gives, below 0 = worse than chance; n/a when undefined (e.g. everyone gave the same answer throughout)."
    )
    st.markdown("**Per pair of annotators** (Cohen's kappa)")
    st.dataframe(agreement.pairs_table(team_agreement), hide_index=True, key="team_pairs")
    st.markdown("**Per decision and per label** (everyone agrees: share of the samples where someone chose it)")
    st.dataframe(agreement.categories_table(team_agreement), hide_index=True, key="team_categories")

# ---------------------------------------------------------------------------------------------------- adjudicate

st.subheader("Adjudicate")
queue = adjudication.adjudication_queue(store)
shown_versions: dict[str, int] = st.session_state.setdefault("team_shown_versions", {})
if not queue:
    st.caption("Nothing to adjudicate: no pending sample has two decided annotations.")
    st.stop()

split = sum(1 for item in queue if item["differences"])
j1, j2 = st.columns([3, 1], vertical_alignment="center")
j1.caption(f"{len(queue)} samples wait for you, {split} of them with disagreement (listed first).")
if len(queue) > split and j2.button(f"Apply the {len(queue) - split} agreed", key="team_settle_agreed"):
    try:
        settled = adjudication.settle_agreed(store, user=me)
    except WinnowError as ex:
        _common.show_error(ex)
    else:
        st.toast(f"Applied {settled} samples on which the annotators agree.")
        st.rerun()

items = {item["sample_id"]: item for item in queue}
sid = st.selectbox(
    "Sample",
    list(items),
    format_func=lambda s: (
        f"{s} · differ on {', '.join(items[s]['differences'])}" if items[s]["differences"] else f"{s} · agree"
    ),
    key="team_adjudicate_sample",
)
sample = store.get_sample(sid)
version = shown_versions.setdefault(sid, sample["version"])  # what the lead saw: a change since is a conflict
decided = [a for a in store.annotations_of(sid) if a["status"] is not None]


def applied(new_version: int, how: str) -> None:
    shown_versions.pop(sid, None)
    st.toast(f"{sid}: {how} (version {new_version})")
    st.rerun()


def conflicted(ex: WinnowError) -> None:
    _common.show_error(ex)
    if isinstance(ex, ConflictError):
        shown_versions[sid] = ex.current_version  # the next click applies to what is shown now


with st.expander("Original", expanded=False):
    _common.render_chat(sample["messages"], tools=sample["tools"], images=store.markdown_images())
columns = st.columns(len(decided))
for column, a in zip(columns, decided):
    with column:
        st.markdown(f"**{a['user_name']}** {_common.status_badge(a['status'])}")
        st.caption(f"label: {a['task_label'] or '—'} · tags: {', '.join(a['tags']) or '—'} · {a['ts']:%Y-%m-%d %H:%M}")
        if a["note"]:
            st.markdown(f"> {a['note']}")
        if a["messages"] is None:
            st.caption("Answer unedited.")
        else:
            edit = diffs.messages_diff(sample["messages"], a["messages"], labels=("original", a["user_name"]))
            st.code(edit or "(the same)", language="diff", wrap_lines=True)
        if st.button(f"Use {a['user_name']}'s version", key=f"team_pick_{a['user_name']}", width="stretch"):
            try:
                new_version = adjudication.pick(store, sid, version, a["user_name"], user=me)
            except WinnowError as ex:
                conflicted(ex)
            else:
                applied(new_version, f"{a['user_name']}'s version applied")

st.markdown("**Or a merged version**")
m1, m2 = st.columns([1, 3])
decision = m1.radio("Decision", reviews.DECISIONS, horizontal=True, key=f"team_merge_status_{sid}")
options = label_choices(store, (a["task_label"] for a in decided))
merged_label = m1.selectbox("Task label", options, index=None, placeholder="unchanged", key=f"team_merge_label_{sid}")
answer = m2.text_area(
    "Answer", adjudication.final_answer(sample["messages"]), height=160, key=f"team_merge_answer_{sid}"
)
note = m2.text_input("Note", sample["note"], key=f"team_merge_note_{sid}")
if st.button("Apply the merged version", type="primary", key="team_apply_merge"):
    try:
        new_version = store.adjudicate_sample(
            sid,
            version,
            SampleEdit(
                status=decision,
                task_label=merged_label,
                messages=adjudication.with_answer(sample["messages"], answer),
                note=note,
            ),
            user=me,
        )
    except WinnowError as ex:
        conflicted(ex)
    else:
        applied(new_version, "merged version applied")
