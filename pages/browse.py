"""Browse: filter the workspace, page through it, and open one sample (here, or in Review)."""

from __future__ import annotations

import math

import streamlit as st

from core.errors import WinnowError
from core.scoring import column_title
from core.store import NO_VALUE, STATUSES, SampleFilter
from pages import _bulk, _common, _history, _paged_table, _scores

TABLE_COLUMNS = ("id", "status", "source", "source_index", "prompt", "answer", "n_turns", "tags", "dup_of", "version")
SCORE_SAMPLE = 20_000  # score values read to place a slider's ends

TEXT_COUNT_CAP = 1_000

store = _common.current_store()
path = str(_common.workspace_path())

st.title("Browse")


@st.cache_data(ttl=60, show_spinner=False)
def score_bounds(workspace: str, column: str, _store) -> tuple[float, float] | tuple[int, int] | None:
    """A column's range, from a sample of its values (a slider pulled to an end leaves that side open): whole numbers
    when every value is one (counts: a slider in steps of 1), else floats."""
    values = [float(v) for v in _store.score_values(column, limit=SCORE_SAMPLE) if v is not None and math.isfinite(v)]
    if not values:
        return None
    if all(v.is_integer() for v in values):
        return int(min(values)), int(max(values))
    return min(values), max(values)


@st.cache_data(ttl=60, show_spinner=False)
def score_choices(workspace: str, column: str, _store) -> list[str] | None:
    """The values a text or yes/no score column takes (None: too many to pick from)."""
    return _store.score_choices(column)


# ---------------------------------------------------------------------------------------------------- filters

sources = {s["source_id"]: s["name"] for s in store.sources()}
f1, f2, f3, f4 = st.columns([2, 2, 3, 2])
statuses = f1.multiselect("Status", STATUSES, key="browse_status")
source_ids = f2.multiselect("Source", list(sources), format_func=lambda i: f"{i}: {sources[i]}", key="browse_sources")
text = f3.text_input("Text in prompt or answer", key="browse_text")
dups = f4.selectbox("Duplicates", ["show", "only duplicates", "hide duplicates"], key="browse_dups")
g1, g2 = st.columns([2, 7])
tag = g1.selectbox(
    "Tag", _common.known_tags(path, store), index=None, placeholder="any", accept_new_options=True, key="browse_tag"
)

ranges: dict[str, tuple[float | None, float | None]] = {}
score_columns = store.score_columns(numeric=True)
bounds_of = {c.column: score_bounds(path, c.column, store) for c in score_columns}
# A slider for each column whose values differ (one value, or none yet, filters nothing).
sliders = [c for c in score_columns if bounds_of[c.column] and bounds_of[c.column][0] != bounds_of[c.column][1]]
whole = {c for c, b in bounds_of.items() if b and isinstance(b[0], int)}
if sliders:
    with g2.expander(f"Score ranges ({len(sliders)} columns)"):
        for col in sliders:
            bounds = bounds_of[col.column]
            lo, hi = st.slider(
                column_title(col.column),
                *bounds,
                bounds,
                key=f"browse_range_{col.column}",
                help=f"column `{col.column}`",
            )
            if (lo, hi) != bounds:
                ranges[col.column] = (lo if lo > bounds[0] else None, hi if hi < bounds[1] else None)

# Text and yes/no score columns with few values (a knowledge category, a contamination flag): pick the values.
choices = {
    c.column: found
    for c in store.score_columns()
    if not c.numeric and (found := score_choices(path, c.column, store)) is not None and found
}
values: dict[str, list[str]] = {}
if choices:
    with g2.expander(f"Score values ({len(choices)} columns)"):
        for column, options in choices.items():
            picked = st.multiselect(
                column_title(column),
                [*options, NO_VALUE],
                key=f"browse_values_{column}",
                help=f"column `{column}`; {NO_VALUE}: not scored, or not applicable",
            )
            if picked:
                values[column] = picked

flt = SampleFilter(
    status=statuses or None,
    source_ids=source_ids or None,
    tag=tag or None,
    text=text.strip() or None,
    duplicates={"show": None, "only duplicates": True, "hide duplicates": False}[dups],
    score_ranges=ranges,
    score_values=values,
)

# ---------------------------------------------------------------------------------------------------- the table

# A new filter starts at page 1; a page past the end (rows were reviewed elsewhere) becomes the last one.
_paged_table.start_over_when_changed("browse", repr(flt))
try:
    # A text search stops counting at TEXT_COUNT_CAP matches: an exact count would read every prompt and answer.
    total = store.count(flt, cap=TEXT_COUNT_CAP if flt.text else None)
except WinnowError as ex:  # a score column that vanished between two runs
    _common.show_error(ex)
    st.stop()
capped = bool(flt.text) and total > TEXT_COUNT_CAP
size, page_no = _paged_table.pager(
    "browse",
    min(total, TEXT_COUNT_CAP) if capped else total,
    counted=f"{TEXT_COUNT_CAP:,}+ samples match" if capped else f"{total:,} samples match",
    note=" (refine the search to see all)" if capped else "",
)

table = store.page(flt, offset=(page_no - 1) * size, limit=size)
shown = [c for c in TABLE_COLUMNS if c in table.column_names] + [c.column for c in score_columns]
table = table.select([c for c in shown if c in table.column_names])
ids = table.column("id").to_pylist()
rows = _paged_table.picked_rows(
    table,
    ids,
    selection_mode="multi-row",
    key="browse_table",
    column_config={
        "prompt": st.column_config.TextColumn(width="large"),
        "answer": st.column_config.TextColumn(width="large"),
        "status": st.column_config.TextColumn(width="small"),
        **{
            c.column: st.column_config.NumberColumn(
                column_title(c.column), help=f"column `{c.column}`", format="%d" if c.column in whole else None
            )
            for c in score_columns
        },
    },
)
_bulk.actions(store, rows, flt, total, capped=capped)

# ---------------------------------------------------------------------------------------------------- one sample

# A click in the table picks the row just clicked (once, so the box below can still change it).
added = [r for r in rows if r not in st.session_state.get("browse_rows", [])]
st.session_state["browse_rows"] = rows
if added:
    st.session_state["browse_pick"] = added[-1]
if st.session_state.get("browse_pick") not in ids:
    st.session_state["browse_pick"] = None
picked = st.selectbox("Sample", ids, index=None, placeholder="click a row, or choose an id", key="browse_pick")

if picked:
    try:
        sample = store.get_sample(picked)
    except WinnowError as ex:
        _common.show_error(ex)
        st.stop()
    st.divider()
    h1, h2 = st.columns([4, 1])
    h1.subheader(sample["id"])
    h1.caption(
        f"{_common.status_badge(sample['status'])} {sample['source']} · record {sample['source_index'] + 1} · {sample['format']} · version {sample['version']}"
        + (f" · duplicate of {sample['dup_of']}" if sample["dup_of"] else "")
        + (f" · tags: {', '.join(sample['tags'])}" if sample["tags"] else "")
    )
    if h2.button("Open in Review", key="browse_open", type="primary"):
        st.session_state["review_open_id"] = sample["id"]
        st.switch_page("pages/review.py")
    if sample["note"]:
        st.info(sample["note"])
    _scores.folded_scores(sample["scores"])
    _history.history_panel(store, sample["id"], sample["version"], key=f"browse_history_{sample['id']}")
    markdown = st.toggle(
        "Render Markdown",
        value=True,
        key="browse_markdown",
        help="Off shows the text verbatim, as the trainer sees it (and loads no image a sample links to).",
    )
    _common.render_chat(sample["messages"], tools=sample["tools"], markdown=markdown, images=store.markdown_images())
