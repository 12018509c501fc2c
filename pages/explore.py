"""Explore: a 2-D map of the embeddings with clusters; select points to act on them or to send them to Review.

The map is computed in a background job and stored keyed by the embeddings, k and seed, so it is computed once per
set of embeddings. "Send to Review" puts the selected ids in ``st.session_state["review_queue"]``, which the Review
page uses as its queue until cleared (a session's working set, not workspace state; tag them to keep them).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from core.errors import WinnowError
from core.labels.workspace import label_choices
from core.map import workspace
from core.scoring import column_title
from core.store import SampleFilter
from pages import _common, _map_chart, _map_panel, _preparation

store = _common.current_store()
path = str(_common.workspace_path())
user = _common.acting_user()
st.title("Explore")

# The slow reads are cached per workspace revision (a ~1 ms token that moves with every import, edit and score) or
# per map, and on a cold run they overlap in threads (DuckDB releases the GIL): at 1M samples the fingerprint, the
# drawn points and the cluster table take ~0.4, ~1 and ~0.6 s each. `make bench` (explore) measures the page.


@st.cache_data(max_entries=4, show_spinner=False)
def embedding_fingerprint(path: str, revision: tuple, _store) -> dict | None:
    return _store.embedding_fingerprint()


@st.cache_data(max_entries=2, show_spinner=False)
def drawn_points(path: str, map_key: str, size: tuple, _store) -> dict:  # size: (samples, points on the map)
    return workspace.map_view(_store, max_points=workspace.MAX_POINTS)


@st.cache_data(max_entries=4, show_spinner=False)
def cluster_table(path: str, map_key: str, revision: tuple, _store) -> list[dict]:
    return _store.cluster_stats()


@st.cache_data(max_entries=4, show_spinner=False)
def category_columns(path: str, revision: tuple, _store) -> list[str]:
    """The text and yes/no score columns with few values (a knowledge category, a flag): they colour by value."""
    return [c.column for c in _store.score_columns() if not c.numeric and _store.score_choices(c.column)]


@st.cache_data(max_entries=4, show_spinner=False)
def colours(path: str, map_key: str, revision: tuple, column: str, _store, _view) -> object:
    return workspace.point_values(_store, _view, column)


def colour_values(column: str):
    """The colouring column's values for the drawn points. Task labels are read fresh: machine suggestions change
    them without moving the revision."""
    if column == "task_label":
        return workspace.point_values(store, view, column)
    return colours(path, current["map_key"], revision, column, store, view)


def in_background(fn, *args) -> Future:
    """Run a cached read in a thread of its own that shares this run's context (so it uses the page's caches)."""
    ctx = get_script_run_ctx()

    def run():
        add_script_run_ctx(threading.current_thread(), ctx)
        return fn(*args)

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(run)
    finally:
        pool.shutdown(wait=False)


revision = store.revision()
current = store.get_map()
if current is not None and st.session_state.get("explore_placed") != (path, revision):
    # New and edited samples that have embeddings go onto the current map, once per change of the workspace.
    workspace.place_new(store, user=user)
    st.session_state["explore_placed"] = (path, revision)
if current is not None:
    points = store.map_point_count(current["map_key"])
    view_reading = in_background(drawn_points, path, current["map_key"], (revision[0], points), store)
    stats_reading = in_background(cluster_table, path, current["map_key"], revision, store)
fingerprint = embedding_fingerprint(path, revision, store)
if fingerprint is None or not fingerprint["contents"]:
    if not _preparation.note(store, "The map"):
        st.info("No embeddings yet: run the **embedding** scorer on the Score page, then come back.")
    st.stop()

_map_panel.controls(store, current, fingerprint, user=user)
if current is None:
    if not _preparation.note(store, "The map"):
        st.info("No map yet: compute one (UMAP of the embeddings, then k-means clusters).")
    st.stop()

# ------------------------------------------------------------------------------------------- the map

with st.spinner("Reading the map…"):
    view = view_reading.result()
names = current["cluster_names"]
numeric = [c.column for c in store.score_columns(numeric=True)]
categories = category_columns(path, revision, store)
scored = [*numeric, *categories]
color_by = st.selectbox(
    "Colour by",
    ["cluster", "status", "task_label", "source", *categories, *numeric],
    format_func=lambda c: f"{column_title(c)} ({c})" if c in scored else c.replace("_", " "),
    key="explore_color",
)
values = view["cluster"] if color_by == "cluster" else colour_values(color_by)
fig = _map_chart.figure(view, color_by, values, numeric=color_by in numeric, names=names)
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key="explore_chart", width="stretch")
shown = len(view["rid"])
if view["sampled"]:
    st.caption(
        f"Showing {shown:,} of {view['total']:,} samples: a sample stratified by cluster, drawn once per map (small "
        "clusters are over-represented so they stay visible; the cluster table below counts every sample). Colours, "
        "hover and selections cover the points shown."
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
    chosen_ids = SampleFilter(ids=ids)
    st.subheader(f"{len(ids):,} selected")
    table = store.page(chosen_ids, limit=200, with_scores=False).select(["id", "status", "tags", "prompt"])
    st.dataframe(table.to_pandas(), hide_index=True, width="stretch", height=220)
    a1, a2, a3, a4 = st.columns([1, 1, 2, 1.4], vertical_alignment="bottom")
    accept = a1.button("Accept", key="explore_accept", width="stretch")
    reject = a2.button("Reject", key="explore_reject", width="stretch")
    tag = a3.text_input("Tag", key="explore_tag", placeholder="a tag")
    tag_it = a3.button("Add tag", key="explore_tag_go", disabled=not tag.strip(), width="stretch")
    to_review = a4.button("Send to Review", key="explore_review", width="stretch")
    b1, b2, b3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    label = b1.selectbox(
        "Task label",
        label_choices(store),
        index=None,
        key="explore_label",
        placeholder="choose a label",
    )
    counts = store.label_preview(chosen_ids, label)
    label_it = b2.button("Confirm label", key="explore_label_go", disabled=label is None, width="stretch")
    unlabel = b3.button(
        "Remove label",
        key="explore_unlabel",
        disabled=not counts["confirmed"],
        width="stretch",
        help=f"Remove the confirmed task label of the {counts['confirmed']:,} selected samples that have one.",
    )
    overwrite = False
    if label is not None and counts["confirmed_other"]:
        overwrite = b1.checkbox(
            f"Also overwrite the {counts['confirmed_other']:,} labels someone confirmed as another label",
            key="explore_label_overwrite",
        )
    done = None
    try:
        if accept or reject:
            n = store.set_status_many(ids, "accepted" if accept else "rejected", user=user)
            done = f"{'Accepted' if accept else 'Rejected'} {n} samples."
        elif tag_it:
            done = f"Tagged {store.add_tag_many(ids, tag, user=user)} samples “{tag.strip()}”."
            _common.known_tags.clear()
        elif label_it:
            result = store.confirm_task_label(chosen_ids, label, user=user, overwrite_confirmed=overwrite)
            done = f"Confirmed “{label}” for {result['changed']:,} samples."
            if result["kept_confirmed"]:
                done += f" Kept {result['kept_confirmed']:,} labels someone confirmed as another label."
        elif unlabel:
            done = f"Removed the confirmed label of {store.clear_task_labels(chosen_ids, user=user):,} samples."
    except WinnowError as ex:
        _common.show_error(ex)
    if done:  # rerun so the sidebar's counts (drawn before this page) include the change
        st.session_state["explore_done"] = done
        st.rerun()
    if to_review:
        label = f"{len(ids)} samples from the map"
        st.session_state["review_queue"] = {"workspace": path, "filter": {"ids": ids}, "label": label}
        st.switch_page("pages/review.py")

# ------------------------------------------------------------------------------------------- clusters

st.subheader("Clusters")

stats = stats_reading.result()
st.dataframe(
    workspace.cluster_rows(stats),
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="percent") for c in ("accepted", "rejected", "duplicates")},
)
o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
chosen = o1.selectbox(
    "Cluster", [s["cluster"] for s in stats], format_func=lambda c: f"{c}: {names.get(c, '')}", key="explore_cluster"
)
if o2.button("Open in Review", key="explore_open_cluster", width="stretch"):  # its address is a link to share
    st.switch_page("pages/review.py", query_params={"cluster": str(int(chosen))})
