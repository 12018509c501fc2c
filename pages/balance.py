"""Balance (for leads): how the accepted set is spread over task labels, languages, sources, clusters, lengths and
difficulty, against the whole workspace; the task-label taxonomy; and the mixture planner."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.errors import NotFound, WinnowError
from core.labels import balance
from core.labels.taxonomy import label_names
from core.labels.workspace import edit_taxonomy, embedder_language_note, refresh_labels, workspace_taxonomy
from core.store import UNLABELED
from pages import _balance_drill, _common, _contamination, _mixture_planner, _preparation


def _num(value) -> str:
    """A measure for a caption: "—" when it is undefined (e.g. nothing accepted yet)."""
    return "—" if value is None else f"{value:.3g}"


store = _common.current_store()
user = _common.acting_user()
st.title("Balance")
if not store.count():
    st.info("The workspace is empty: import a file first.")
    st.stop()
_preparation.note(store, "Part of this page (clusters, task labels, IFD buckets)")

# ------------------------------------------------------------------------------------------- distributions

st.subheader("Accepted set vs workspace")
d1, d2 = st.columns([3, 1])
dims = d1.multiselect(
    "Dimensions",
    list(balance.DIMENSION_TITLES),
    default=["task_label", "language", "source", "cluster", "answer_length", "ifd"],
    format_func=balance.DIMENSION_TITLES.get,
    key="balance_dims",
)
threshold = d2.number_input("Too few below", min_value=1, value=50, key="balance_threshold")
cols = st.columns(2)
for i, dim in enumerate(dims):
    with cols[i % 2]:
        try:
            rows = balance.compare(store, dim)
        except NotFound as ex:
            st.caption(f"{balance.DIMENSION_TITLES[dim]}: {ex}")
            continue
        long = [{"value": str(r["value"]), "set": s, "share": r[f"share_{k}"], "samples": r[k]}
                for r in rows for s, k in (("workspace", "all"), ("accepted", "accepted"))]  # fmt: skip
        fig = px.bar(long, x="value", y="share", color="set", barmode="group", hover_data=["samples"])
        fig.update_layout(height=300, margin={"t": 40, "b": 10, "l": 10, "r": 10}, title=balance.DIMENSION_TITLES[dim])
        if dim in balance.DRILL_DIMENSIONS:
            # A click on a bar opens its samples in the drill-down below (a change of the chart's selection sets the
            # drill-down's boxes; tests set the boxes directly, AppTest cannot click a chart).
            event = st.plotly_chart(
                fig, width="stretch", key=f"balance_bar_{dim}", on_select="rerun", selection_mode="points"
            )
            picked = [str(p["x"]) for p in (event.selection.points if event else []) if "x" in p]
            if picked != st.session_state.get(f"balance_picked_{dim}", []):
                st.session_state[f"balance_picked_{dim}"] = picked
                if picked:
                    st.session_state.update(
                        balance_drill_dim=dim, balance_drill_value=picked[0], balance_drill_open=True
                    )
        else:
            st.plotly_chart(fig, width="stretch", key=f"balance_bar_{dim}")
        m_all = balance.imbalance({r["value"]: r["all"] for r in rows}, threshold)
        m_acc = balance.imbalance({r["value"]: r["accepted"] for r in rows}, threshold)
        st.caption(
            f"Normalized entropy (1 = even): workspace {_num(m_all.normalized_entropy)} · accepted "
            f"{_num(m_acc.normalized_entropy)} — max/min: workspace {_num(m_all.max_min_ratio)} · accepted "
            f"{_num(m_acc.max_min_ratio)}"
            + (f" — accepted below {threshold}: {', '.join(map(str, m_acc.below_threshold))}" if m_acc.below_threshold else "")
        )  # fmt: skip

try:
    sun = balance.label_by_language(store)
except NotFound:
    sun = []
if sun:
    fig = px.sunburst(sun, path=["task_label", "language"], values="samples", title="Task label × language")
    fig.update_layout(height=420, margin={"t": 40, "b": 10, "l": 10, "r": 10})
    st.plotly_chart(fig, width="stretch", key="balance_sunburst")

_balance_drill.drill_down(store, user)

# ------------------------------------------------------------------------------------------- task labels

st.subheader("Task labels")
taxonomy = workspace_taxonomy(store)
names = label_names(taxonomy)
counts = dict(store.distribution("task_label"))
st.dataframe(
    [{"label": t["name"], "samples": counts.get(t["name"], 0), "description": t["description"]} for t in taxonomy]
    + [{"label": UNLABELED, "samples": counts.get(UNLABELED, 0), "description": ""}],
    hide_index=True,
    width="stretch",
)
if st.button(
    "Suggest labels for every sample", key="balance_suggest", disabled=_common.job_running(store, "label_job")
):
    settings = _common.settings()

    def work(progress):
        return refresh_labels(store, settings=settings, progress=progress)

    _common.start_job(store, "label_job", "label", {}, work, user=user)
if note := embedder_language_note(store, _common.settings()):
    st.warning(note, icon="🌐")
finished = _common.job_panel(store, "label_job", "Suggesting labels")
if finished is not None and (result := _common.job_result(finished)) is not None:
    st.caption(
        f"Suggested labels for {result['suggested']:,} samples: {result.get('by_evidence', 0):,} by an evidence rule "
        f"(code, math, translation, ...), the rest by similarity to the {result['source']}. Each suggestion's reason "
        "shows in Review and in the drill-down above."
    )

with st.expander("Edit the taxonomy (renames and merges relabel the samples)"):
    t1, t2, t3 = st.columns(3)
    with t1.form("balance_add"):
        new_name = st.text_input("New label", key="balance_new_name")
        new_desc = st.text_area("Description (one phrasing per line)", key="balance_new_desc", height=80)
        add = st.form_submit_button("Add")
    with t2.form("balance_rename"):
        old = st.selectbox("Label", names, key="balance_rename_old")
        renamed = st.text_input("New name", key="balance_rename_new")
        rename = st.form_submit_button("Rename")
    with t3.form("balance_merge"):
        sources = st.multiselect("Merge these", names, key="balance_merge_sources")
        into = st.selectbox("Into", names, key="balance_merge_into")
        merge = st.form_submit_button("Merge")
    try:
        if add:
            edit_taxonomy(store, "add", name=new_name, description=new_desc, user=user)
        elif rename:
            st.toast(f"Relabelled {edit_taxonomy(store, 'rename', old=old, new=renamed, user=user)} samples.")
        elif merge:
            st.toast(f"Relabelled {edit_taxonomy(store, 'merge', sources=sources, into=into, user=user)} samples.")
        if add or rename or merge:
            st.rerun()
    except WinnowError as ex:
        _common.show_error(ex)

# ------------------------------------------------------------------------------------------- contamination

_contamination.contamination_section(store, user)

# ------------------------------------------------------------------------------------------- mixture planner

_mixture_planner.mixture_planner(store, user)
