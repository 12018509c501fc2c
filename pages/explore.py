"""Explore: a 2-D map of the embeddings with clusters; select points to act on them or to send them to Review.

The map is computed in a background job and stored keyed by the embeddings, k and seed, so it is computed once per
set of embeddings. "Send to Review" puts the selected ids in ``st.session_state["review_queue"]``, which the Review
page uses as its queue until cleared (a session's working set, not workspace state; tag them to keep them).
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import streamlit as st

from core import explore, jobs, workspace_map
from core.labels import label_names, workspace_taxonomy
from core.store import SampleFilter
from pages import _common

store = _common.current_store()
path = str(_common.workspace_path())
user = _common.acting_user()
st.title("Explore")

fingerprint = store.embedding_fingerprint()
if fingerprint is None or not fingerprint["contents"]:
    st.info("No embeddings yet: run the **embedding** scorer on the Score page, then come back.")
    st.stop()

# ------------------------------------------------------------------------------------------- computing the map

current = store.get_map()
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
k = c1.number_input(
    "Clusters (k)",
    min_value=2,
    max_value=200,
    # a map made by the CLI may use any k: keep the box's value inside its bounds
    value=min(200, max(2, current["k"] if current else explore.default_k(fingerprint["contents"]))),
    key="explore_k",
)
seed = c2.number_input("Seed", min_value=0, value=0, key="explore_seed")
up_to_date = current is not None and current["map_key"] == workspace_map.map_key(fingerprint, k, seed)
if c3.button(
    "Map is current" if up_to_date else ("Recompute the map" if current else "Compute the map"),
    type="primary",
    disabled=up_to_date or _common.job_running(store, "explore_job"),
    key="explore_go",
):

    def work(progress):
        return json.dumps(workspace_map.build_map(store, k=int(k), seed=int(seed), user=user, progress=progress))

    job_id = jobs.start_job(store, "map", {"k": int(k), "seed": int(seed)}, work, user=user)
    _common.remember_job(store, "explore_job", job_id)
    st.rerun()

finished = _common.job_panel(store, "explore_job", "Mapping")
if finished is not None and (result := _common.job_result(finished)) is not None:
    st.caption(f"Map {result['map_key'][:8]}: {result['contents']:,} contents in {result['k']} clusters.")
if current is None:
    st.info("No map yet: compute one (UMAP of the embeddings, then k-means clusters).")
    st.stop()
if not up_to_date:
    st.warning("The map shown was made from other embeddings, k or seed. Recompute it to see the current data.")

# ------------------------------------------------------------------------------------------- the map


@st.cache_data(max_entries=2, show_spinner="Reading the map…")
def drawn_points(path: str, map_key: str, _store) -> dict:
    return workspace_map.map_view(_store)


view = drawn_points(path, current["map_key"], store)
numeric = [c.column for c in store.score_columns() if c.type in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT")]
color_by = st.selectbox("Colour by", ["cluster", "status", "task_label", "source", *numeric], key="explore_color")
details = store.map_details(view["rid"], color_by if color_by in numeric else None)
names = current["cluster_names"]
position = {rid: i for i, rid in enumerate(details["rid"])}
rows = [position[int(r)] for r in view["rid"]]
hover = [f"{details['id'][i]} · {details['status'][i]}<br>{details['prompt'][i]}" for i in rows]

fig = go.Figure()
if color_by in numeric:
    fig.add_trace(
        go.Scattergl(
            x=view["x"], y=view["y"], mode="markers", customdata=view["rid"], hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            marker={"size": 4, "color": [details["score"][i] for i in rows], "colorscale": "Viridis",
                    "showscale": True, "colorbar": {"title": color_by}},
        )
    )  # fmt: skip
else:
    if color_by == "cluster":
        keys = [f"{c}: {names.get(int(c), '')}" for c in view["cluster"]]
    else:
        keys = [str(details[color_by][i]) for i in rows]
    for value in sorted(set(keys), key=lambda v: (len(v.split(":")[0]), v)):
        idx = [j for j, key in enumerate(keys) if key == value]
        fig.add_trace(
            go.Scattergl(
                x=view["x"][idx], y=view["y"][idx], mode="markers", name=value, customdata=view["rid"][idx],
                hovertext=[hover[j] for j in idx], hovertemplate="%{hovertext}<extra></extra>", marker={"size": 4},
            )
        )  # fmt: skip
fig.update_layout(
    height=600, margin={"t": 10, "b": 10, "l": 10, "r": 10}, dragmode="lasso", legend={"itemsizing": "constant"}
)
fig.update_xaxes(showticklabels=False)
fig.update_yaxes(showticklabels=False)
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key="explore_chart", width="stretch")
shown = len(view["rid"])
if view["sampled"]:
    st.caption(
        f"Showing {shown:,} of {view['total']:,} samples, a sample stratified by cluster (small clusters are "
        "over-represented so they stay visible). Selections act on the points shown."
    )
else:
    st.caption(f"Showing all {shown:,} samples ({current['contents']:,} distinct contents; duplicates overlap).")

# ------------------------------------------------------------------------------------------- selection

# The chart's selection is copied into session_state["explore_selection"] (rids) when it changes; everything below
# reads that key, so tests (AppTest cannot drag a lasso) can set it directly.
chart_rids = sorted({int(p["customdata"]) for p in (event.selection.points if event else []) if "customdata" in p})
if chart_rids != st.session_state.get("explore_chart_rids", []):
    st.session_state["explore_chart_rids"] = chart_rids
    st.session_state["explore_selection"] = chart_rids
selected = st.session_state.get("explore_selection", [])
# The last bulk action stays said: the redrawn chart (new statuses) may clear its selection on the next run.
if last := st.session_state.get("explore_done"):
    st.success(last)

if selected:
    ids = store.ids_of_rids(selected)
    st.subheader(f"{len(ids):,} selected")
    table = store.page(SampleFilter(ids=ids), limit=200, with_scores=False).select(["id", "status", "tags", "prompt"])
    st.dataframe(table.to_pandas(), hide_index=True, width="stretch", height=220)
    labels = label_names(workspace_taxonomy(store))
    a1, a2, a3, a4, a5 = st.columns([1, 1, 2, 2, 1.4], vertical_alignment="bottom")
    accept = a1.button("Accept", key="explore_accept", width="stretch")
    reject = a2.button("Reject", key="explore_reject", width="stretch")
    tag = a3.text_input("Tag", key="explore_tag", placeholder="a tag")
    tag_it = a3.button("Add tag", key="explore_tag_go", disabled=not tag.strip(), width="stretch")
    label = a4.selectbox("Task label", labels, index=None, key="explore_label", placeholder="choose a label")
    label_it = a4.button("Confirm label", key="explore_label_go", disabled=label is None, width="stretch")
    to_review = a5.button("Send to Review", key="explore_review", width="stretch")
    done = None
    if accept or reject:
        n = store.set_status_many(ids, "accepted" if accept else "rejected", user=user)
        done = f"{'Accepted' if accept else 'Rejected'} {n} samples."
    elif tag_it:
        done = f"Tagged {store.add_tag_many(ids, tag, user=user)} samples “{tag.strip()}”."
        _common.known_tags.clear()
    elif label_it:
        done = f"Confirmed “{label}” for {store.set_task_label_many(ids, label, user=user)} samples."
    if done:  # rerun so the sidebar's counts (drawn before this page) include the change
        st.session_state["explore_done"] = done
        st.rerun()
    if to_review:
        st.session_state["review_queue"] = {"workspace": path, "ids": ids, "label": f"{len(ids)} samples from the map"}
        st.switch_page("pages/review.py")

# ------------------------------------------------------------------------------------------- clusters

st.subheader("Clusters")
stats = store.cluster_stats()
st.dataframe(
    [
        {
            "cluster": s["cluster"],
            "name": s["name"],
            "samples": s["samples"],
            "IFD mean": s["ifd_mean"],
            "IFD spread": s["ifd_std"],
            "accepted": s["accepted"],
            "rejected": s["rejected"],
            "duplicates": s["duplicates"],
        }
        for s in stats
    ],
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="percent") for c in ("accepted", "rejected", "duplicates")},
)
o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
chosen = o1.selectbox(
    "Cluster", [s["cluster"] for s in stats], format_func=lambda c: f"{c}: {names.get(c, '')}", key="explore_cluster"
)
if o2.button("Open in Review", key="explore_open_cluster", width="stretch"):
    st.session_state["review_queue"] = {"workspace": path, "cluster": int(chosen), "label": f"cluster {chosen}"}
    st.switch_page("pages/review.py")
