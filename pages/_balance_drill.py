"""Balance's drill-down: the samples behind a bar of a distribution, and a bulk change of their task label
(confirm one, or remove the confirmed ones), asked for and then confirmed with the counts it will touch."""

from __future__ import annotations

import streamlit as st

from core.errors import NotFound, WinnowError
from core.labels import balance
from core.labels.taxonomy import label_names
from core.labels.workspace import workspace_taxonomy
from core.store import Store
from pages import _common


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


def drill_down(store: Store, user: str) -> None:
    """The expander that lists a bar's samples (a click on a bar opens it) with its label actions."""
    with st.expander(
        "Drill down: the samples behind a bar", expanded=st.session_state.get("balance_drill_open", False)
    ):
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
                        result = store.confirm_task_label(
                            drill, pending["label"], user=user, overwrite_confirmed=overwrite
                        )
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
