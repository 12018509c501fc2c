"""Select: compose a selection recipe (a preset or YAML), run it in a background job, see the funnel and the mix."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core import actions
from core.errors import RecipeError, WinnowError
from core.scoring import column_title
from core.selection.presets import PRESETS
from core.selection.recipe import STEPS, parse_recipe, recipe_to_yaml
from core.selection.workspace import (
    DEFAULT_SCORERS,
    check_inputs,
    label_shares,
    missing_scorers,
    parse_budget,
    workspace_preset,
)
from pages import _common, _dedup_report, _preparation

store = _common.current_store()

st.title("Select")
st.caption(
    "A recipe is a list of steps, each run on what the previous one kept: filters, deduplication, IFD (Cherry LLM), "
    "coverage (MoDS k-center), diversity (DEITA), mixtures. Every random choice is seeded, so the same recipe on "
    "the same data gives the same selection and the same export files."
)

# ------------------------------------------------------------------------------------------- the recipe

c1, c2 = st.columns([1, 1])
preset = c1.radio(
    "Start from",
    list(PRESETS),
    key="select_preset",
    horizontal=True,
    format_func={"align": "align (alignment)", "fit": "fit (one task)"}.get,
)
budget, budget_problem = None, None
size = store.count()
if PRESETS[preset].budget_range:
    # From 1 to the workspace's size; the preset's own lower end is the suggestion when the workspace has that many.
    suggested = min(PRESETS[preset].budget_range[0], size) or 1
    text = c2.text_input(
        "Budget (samples)", value=str(suggested), key=f"select_budget_{preset}", help=f"1 to {size:,} samples"
    )
    try:
        budget = parse_budget(text, size)
    except RecipeError as ex:
        budget_problem = str(ex)
        c2.error(budget_problem, icon="🚫")
st.caption(PRESETS[preset].recipe.description)

# The editor starts from the preset, and starts over when the preset or its budget changes.
origin = (preset, budget)
if budget_problem is None and st.session_state.get("select_origin") != origin:
    st.session_state["select_origin"] = origin
    st.session_state["select_yaml"] = recipe_to_yaml(workspace_preset(store, preset, budget))
text = st.text_area("Recipe (YAML)", key="select_yaml", height=320)
with st.expander("Steps and their parameters"):
    for step, spec in STEPS.items():
        params = ", ".join(f"`{k}`" for k in spec.params)
        st.markdown(f"**{step}**: {spec.doc} Parameters: {params}.")


def offer_scorers(missing: dict[str, list[str]]) -> None:
    """Say which scores the recipe lacks and offer to compute them here (the bundled models, a background job)."""
    needs = "; ".join(
        f"the **{name}** scorer's {', '.join(column_title(c) for c in cols)}" for name, cols in missing.items()
    )
    st.info(f"This recipe reads scores the workspace does not have yet: {needs}.", icon=":material/info:")
    if _preparation.note(store, "IFD"):
        return
    names = list(missing)
    run = st.button(
        f"Run the {' and '.join(names)} scorer{'s' if len(names) > 1 else ''}",
        key="select_score_go",
        disabled=_common.job_running(store, "select_score_job"),
        help="With the bundled models, in the background; the recipe can run when it ends. The Score page runs "
        "scorers with other models and settings.",
    )
    if run:
        settings = _common.settings()

        user = _common.acting_user()

        def work(progress):
            return actions.score(store, names, settings=settings, user=user, progress=progress)

        _common.start_job(store, "select_score_job", "score", {"scorers": names}, work, user=user)


recipe = None
try:
    recipe = parse_recipe(text)
    missing = missing_scorers(store, recipe)
    if missing and all(name in DEFAULT_SCORERS for name in missing):
        offer_scorers(missing)
        recipe = None
    else:
        check_inputs(store, recipe)
except RecipeError as ex:
    st.error(str(ex), icon="🚫")
    recipe = None
scored = _common.job_panel(store, "select_score_job", "Scoring", unit="samples")
if scored is not None and scored["status"] != "done":
    _common.job_result(scored)  # says why it stopped

d1, d2 = st.columns([2, 1])
name = d1.text_input("Selection name", key="select_name", value=preset).strip()
d2.download_button(
    "Download recipe (YAML)",
    data=text,
    file_name=f"{name or preset}.recipe.yaml",
    mime="application/x-yaml",
    key="select_download",
)
existing = next((sel for sel in store.selections() if sel["name"] == name), None)
if existing:
    st.caption(
        f"Saving replaces the selection **{name}** ({existing['samples']:,} samples, by {existing['created_by']}); "
        "the audit log keeps both."
    )
running = _common.job_running(store, "select_job")
blocked = running or recipe is None or not name or budget_problem is not None
go_clicked = st.button("Run and save selection", type="primary", key="select_go", disabled=blocked)
if budget_problem:
    st.caption("Fix the budget to run the recipe.")
if go_clicked and not blocked:
    user = _common.acting_user()

    def work(progress):
        return actions.select(store, recipe, name=name, user=user, progress=progress)

    params = {"name": name, "recipe": recipe_to_yaml(recipe)}
    _common.start_job(store, "select_job", "select", params, work, user=user)

finished = _common.job_panel(store, "select_job", "Selecting")
if finished is not None:
    result = _common.job_result(finished)
    if result is not None:
        st.success(f"Saved selection **{result['name']}**: {result['samples']:,} of {result['total']:,} samples.")
        for line in result.get("notes", []):
            st.info(line, icon=":material/info:")
        if st.session_state.get("select_seen_job") != finished["job_id"]:
            st.session_state["select_seen_job"] = finished["job_id"]
            st.session_state["select_view"] = result["name"]

# ------------------------------------------------------------------------------------------- saved selections

saved = store.selections()
if not saved:
    st.info("No selection saved yet: pick a preset or write a recipe, then run it.")
    st.stop()

st.subheader("Selections")
names = [s["name"] for s in saved]
if st.session_state.get("select_view") not in names:
    st.session_state["select_view"] = names[0]
shown = st.selectbox("Selection", names, key="select_view")
try:
    info = store.get_selection(shown)
except WinnowError as ex:
    _common.show_error(ex)
    st.stop()
stage_note = f" in {info['stages']} stages" if info["stages"] > 1 else ""
st.caption(
    f"{info['samples']:,} samples{stage_note} · recipe {info['recipe_hash'][:12]} · "
    f"by {info['created_by']} at {info['created_at']:%Y-%m-%d %H:%M}"
)

log = info["log"]
if log:
    labels = ["all samples"] + [f"{e['step']}. {e['name']}" for e in log]
    counts = [log[0]["in"]] + [e["out"] for e in log]
    fig = go.Figure(go.Funnel(y=labels, x=counts, textinfo="value+percent initial"))
    fig.update_layout(height=80 + 45 * len(labels), margin={"t": 10, "b": 10, "l": 10, "r": 10})
    st.plotly_chart(fig, width="stretch", key="select_funnel")
    st.dataframe(
        [{"step": e["step"], "name": e["name"], "in": e["in"], "out": e["out"]} for e in log],
        hide_index=True,
        width="stretch",
        key="select_log",
    )
    _dedup_report.show(store, log, shown)

st.markdown("**How the mix changes**")
shares = label_shares(store, shown)
cols = st.columns(len(shares))
for col, (column, rows) in zip(cols, shares.items(), strict=True):
    long = [
        {"label": r["label"], "set": which, "share": r[key]}
        for r in rows[:15]
        for which, key in (("before", "share_before"), ("after", "share_after"))
    ]
    fig = px.bar(long, x="label", y="share", color="set", barmode="group", title=column)
    fig.update_layout(height=320, margin={"t": 40, "b": 10, "l": 10, "r": 10}, yaxis_tickformat=".0%")
    col.plotly_chart(fig, width="stretch", key=f"select_share_{column}")

with st.expander("Members and recipe"):
    page_size = 50
    pages = max(1, -(-info["samples"] // page_size))
    page = st.number_input("Page", 1, pages, value=1, key="select_member_page") if pages > 1 else 1
    st.dataframe(
        {"id": store.selection_ids(shown, offset=(page - 1) * page_size, limit=page_size)},
        hide_index=True,
        key="select_members",
    )
    st.code(info["recipe"], language="yaml")
    if st.button("Delete this selection", key="select_delete"):
        store.delete_selection(shown, user=_common.acting_user())
        st.rerun()
