"""Balance (for leads): how the accepted set is spread over task labels, languages, sources, clusters, lengths and
difficulty, against the whole workspace; the task-label taxonomy; and the mixture planner."""

from __future__ import annotations

import json

import plotly.express as px
import streamlit as st

from core import jobs
from core.errors import NotFound, WinnowError
from core.labels import balance
from core.labels.taxonomy import label_names
from core.labels.workspace import edit_taxonomy, embedder_language_note, refresh_labels, workspace_taxonomy
from core.selection import mixture
from core.store import UNLABELED
from pages import _common, _preparation


def _num(value) -> str:
    """A measure for a caption: "—" when it is undefined (e.g. nothing accepted yet)."""
    return "—" if value is None else f"{value:.3g}"


def ask_to_confirm(pending: dict, counts: dict) -> tuple[bool, bool, bool]:
    """The confirmation step of a bulk label change over a whole bar, with the counts it will touch.

    Returns:
        (yes, cancel, overwrite confirmed labels).
    """
    with st.container(border=True):
        overwrite = False
        if pending["action"] == "confirm":
            fresh, other = counts["matching"] - counts["confirmed"], counts["confirmed_other"]
            st.markdown(f"Confirm **{pending['label']}** as the task label of all **{counts['matching']:,}** samples?")
            st.caption(
                f"{fresh:,} get it now and {counts['already']:,} already have it. {other:,} were confirmed as another "
                "label by someone: they keep their label unless you tick the box."
            )
            if other:
                overwrite = st.checkbox(
                    f"Also overwrite the {other:,} labels confirmed as another label", key="balance_pending_overwrite"
                )
            n = fresh + (other if overwrite else 0)
            prompt = f"Confirm for {n:,} samples"
        else:
            n = counts["confirmed"]
            st.markdown(f"Remove the confirmed task label of **{n:,}** of these {counts['matching']:,} samples?")
            st.caption("They stay unlabelled until the next suggestion run; suggested labels are not touched.")
            prompt = f"Remove {n:,} labels"
        y1, y2 = st.columns(2)
        yes = y1.button(prompt, type="primary", disabled=not n, key="balance_pending_yes", width="stretch")
        no = y2.button("Cancel", key="balance_pending_no", width="stretch")
    return yes, no, overwrite


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

# ------------------------------------------------------------------------------------------- drill-down

with st.expander("Drill down: the samples behind a bar", expanded=st.session_state.get("balance_drill_open", False)):
    g1, g2, g3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    dim = g1.selectbox(
        "Dimension", balance.DRILL_DIMENSIONS, format_func=balance.DIMENSION_TITLES.get, key="balance_drill_dim"
    )
    try:
        values = [str(r["value"]) for r in balance.compare(store, dim)]
    except NotFound as ex:
        values = []
        st.caption(str(ex))
    if st.session_state.get("balance_drill_value") not in values:  # a value of the dimension chosen before
        st.session_state.pop("balance_drill_value", None)
    value = g2.selectbox("Value", values, key="balance_drill_value")
    accepted_only = g3.toggle("Accepted only", key="balance_drill_accepted")
    if done := st.session_state.pop("balance_drill_done", None):
        st.success(done)
    if value is not None and not (dim == "cluster" and not value.isdigit()):
        drill = balance.drill_filter(store, dim, value, accepted_only=accepted_only)
        total = store.count(drill)
        page = store.page(drill, limit=50, with_scores=False)
        st.caption(f"{total:,} samples; the first {page.num_rows} shown. The label actions apply to all {total:,}.")
        shown = page.select(["id", "status", "tags", "prompt"]).to_pandas()
        labels = store.task_labels_of(shown["id"].tolist())
        shown["task label"] = [labels[i]["task_label"] for i in shown["id"]]
        shown["why (suggested labels)"] = [labels[i]["task_label_reason"] for i in shown["id"]]
        st.dataframe(shown, hide_index=True, width="stretch")
        h1, h2, h3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        label = h1.selectbox(
            "Task label", label_names(workspace_taxonomy(store)), index=None, key="balance_drill_label"
        )
        bar = {"dim": dim, "value": value, "accepted_only": accepted_only}
        if h2.button("Confirm label…", disabled=label is None, key="balance_drill_go", width="stretch"):
            st.session_state["balance_pending"] = {**bar, "action": "confirm", "label": label}
        if h3.button("Remove labels…", key="balance_drill_remove", width="stretch"):
            st.session_state["balance_pending"] = {**bar, "action": "remove"}
        # A bulk change is asked for, then confirmed with the counts it will touch; it is forgotten when the bar changes.
        pending = st.session_state.get("balance_pending")
        if pending and all(pending[key] == bar[key] for key in bar):
            yes, no, overwrite = ask_to_confirm(pending, store.label_preview(drill, pending.get("label")))
            if yes or no:
                st.session_state.pop("balance_pending")
                st.session_state.pop("balance_pending_overwrite", None)
            try:
                if yes and pending["action"] == "confirm":
                    result = store.confirm_task_label(drill, pending["label"], user=user, overwrite_confirmed=overwrite)
                    kept = result["kept_confirmed"]
                    st.session_state["balance_drill_done"] = (
                        f"Confirmed “{pending['label']}” for {result['changed']:,} samples."
                        + (f" Kept {kept:,} labels confirmed as another label." if kept else "")
                    )
                elif yes:
                    removed = store.clear_task_labels(drill, user=user)
                    st.session_state["balance_drill_done"] = f"Removed the confirmed label of {removed:,} samples."
            except WinnowError as ex:
                _common.show_error(ex)
            else:
                if yes or no:
                    st.rerun()

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
        return json.dumps(refresh_labels(store, settings=settings, progress=progress))

    _common.remember_job(store, "label_job", jobs.start_job(store, "label", {}, work, user=user))
    st.rerun()
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

# ------------------------------------------------------------------------------------------- mixture planner

st.subheader("Mixture planner")
p1, p2, p3 = st.columns(3)
pool = p1.selectbox("Draw from", list(balance.POOLS), key="mix_pool")
unit = p2.selectbox("Count in", list(mixture.UNITS), key="mix_unit")
preset = p3.selectbox("Preset", list(mixture.PRESETS), key="mix_preset")
if unit == "tokens":
    st.caption("Tokens are approximated by words (h_prompt_words + h_answer_words from the heuristics scorer).")
try:
    available = {k: v for k, v in store.label_amounts(balance.POOLS[pool], unit=unit).items() if k != UNLABELED}
except NotFound as ex:
    st.info(str(ex))
    st.stop()
if not available:
    st.info(f"No labelled samples in the pool “{pool}” yet: accept some, or draw from another pool.")
    st.stop()
try:
    if preset == "custom":
        by_share = st.toggle("Targets as shares of a budget", key="mix_by_share")
        budget = (
            st.number_input("Budget", min_value=1, value=max(sum(available.values()), 1), key="mix_budget")
            if by_share
            else None
        )
        default = (1 / max(len(available), 1)) if by_share else 0
        edited = st.data_editor(
            [{"label": k, "available": v, "target": round(default, 4) if by_share else v} for k, v in available.items()],
            disabled=["label", "available"], hide_index=True, key="mix_targets", width="stretch",
        )  # fmt: skip
        recipe = mixture.StagedPlan(
            (mixture.plan(available, {r["label"]: r["target"] for r in edited}, unit=unit, budget=budget),)
        )
    else:
        q1, q2, q3 = st.columns([2, 2, 1])
        specialist = q2.multiselect(
            "Specialist labels",
            list(available),
            default=[x for x in ("math", "code") if x in available],
            key="mix_specialist",
        )
        general = q1.multiselect("General labels", [x for x in available if x not in specialist], key="mix_general")
        k = q3.number_input(
            "k",
            min_value=0.0,
            max_value=1.0,
            value=mixture.DMT_REPLAY if preset == "dmt" else 0.25,
            format="%.5f",
            key="mix_k",
        )
        build = {
            "fixed_general": mixture.preset_fixed_general,
            "fixed_specialist": mixture.preset_fixed_specialist,
            "dmt": mixture.preset_dmt,
        }[preset]
        recipe = build(available, general, specialist, k=k, unit=unit)
except WinnowError as ex:
    _common.show_error(ex)
    st.stop()

for stage in recipe.stages:
    if stage.name:
        st.markdown(f"**{stage.name}**")
    rows = [
        {"label": r.label, "available": r.available, "target": r.target, "planned": r.planned, "shortfall": r.shortfall}
        for r in stage.rows
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    long = [{"label": r["label"], "amount": r[c], "what": c} for r in rows for c in ("available", "planned")]
    fig = px.bar(long, x="label", y="amount", color="what", barmode="group")
    fig.update_layout(height=280, margin={"t": 10, "b": 10, "l": 10, "r": 10})
    st.plotly_chart(fig, width="stretch", key=f"mix_chart_{stage.name}")
    for line in stage.describe_shortfalls():
        st.warning(line)
for paragraph in mixture.advice(preset):
    st.caption(paragraph)
s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
plan_name = s1.text_input("Plan name", key="mix_name", placeholder="e.g. dmt-v1")
if s2.button("Save plan", key="mix_save", disabled=not plan_name.strip(), width="stretch"):
    try:
        store.save_plan(plan_name, mixture.to_json(recipe), user=user)
        st.success(f"Saved plan “{plan_name.strip()}”; the Select page turns it into a selection.")
    except WinnowError as ex:
        _common.show_error(ex)
if saved := store.plans():
    st.caption("Saved plans: " + ", ".join(p["name"] for p in saved))
