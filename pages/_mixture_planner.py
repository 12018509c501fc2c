"""Balance's mixture planner: how much of each task label to draw for training (custom targets, or the presets
for fixed general, fixed specialist and DMT's staged replay), each stage's plan and shortfalls, and saving the plan for
the Select page."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.errors import NotFound, WinnowError
from core.labels import balance
from core.selection import mixture
from core.store import UNLABELED, Store
from pages import _common


def mixture_planner(store: Store, user: str) -> None:
    """The planner's controls, its plan per stage (table and chart), the advice for the preset, and Save plan.
    Stops the page when there is nothing to plan yet (it is the page's last part)."""
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
            {
                "label": r.label,
                "available": r.available,
                "target": r.target,
                "planned": r.planned,
                "shortfall": r.shortfall,
            }
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
