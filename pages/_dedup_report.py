"""The Select page's dedup report: each sample a dedup step removed, beside the kept sample it duplicates, so a lead
can check a few of them in Review before trusting the threshold."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from core.store import SampleFilter

SHOWN = 200  # pairs listed with their requests; the rest are counted


def _requests(store, ids: list[str]) -> dict[str, str]:
    """Each sample's request, on one line."""
    if not ids:
        return {}
    page = store.page(SampleFilter(ids=ids), limit=len(ids), with_scores=False).select(["id", "prompt"])
    return {i: " ".join(str(p).split()) for i, p in zip(*page.to_pydict().values(), strict=True)}


def show(store, log: list[dict], selection: str) -> None:
    """One expander per dedup step of ``log`` that removed samples: the pairs, and buttons to open them in Review."""
    for entry in log:
        found = entry.get("duplicates")
        if not found or not found["removed"]:
            continue
        pairs = found["pairs"]
        title = f"Step {entry['step']} (dedup) removed {found['removed']:,} duplicates: which, and of what"
        with st.expander(title):
            listed = pairs[:SHOWN]
            text = _requests(store, sorted({i for p in listed for i in p[:2]}))
            st.caption(
                "Each removed sample beside the sample kept in its place: exact (same text once normalized), text "
                "(estimated share of shingles in common), embedding (cosine), or chain (joined through other "
                "members). "
                + (f"The first {len(listed):,} of {found['removed']:,} are listed." if found["removed"] > SHOWN else "")
            )
            rows = [
                {
                    "removed": removed,
                    "kept": kept,
                    "how": how,
                    "similarity": similarity,
                    "removed request": text.get(removed, "(deleted)")[:120],
                    "kept request": text.get(kept, "(deleted)")[:120],
                }
                for removed, kept, how, similarity in listed
            ]
            st.dataframe(rows, hide_index=True, width="stretch", key=f"select_dups_{entry['step']}")
            c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
            names = [f"{removed} (removed) / {kept} (kept)" for removed, kept, *_ in listed]
            pick = c1.selectbox(
                "Pair", range(len(listed)), format_func=names.__getitem__, key=f"select_dup_pick_{entry['step']}"
            )
            for col, which, label in ((c2, 0, "Open removed in Review"), (c3, 1, "Open kept in Review")):
                if col.button(label, key=f"select_dup_open_{entry['step']}_{which}", width="stretch"):
                    st.session_state["review_open_id"] = listed[pick][which]
                    st.switch_page("pages/review.py")
            removed_ids = [p[0] for p in pairs]
            if st.button(
                f"Review the {len(removed_ids):,} removed samples that are pending",
                key=f"select_dup_queue_{entry['step']}",
            ):
                st.session_state["review_queue"] = {
                    "workspace": str(store.path),
                    "filter": asdict(SampleFilter(ids=removed_ids)),
                    "label": f"the duplicates step {entry['step']} of selection {selection} removed",
                }
                st.switch_page("pages/review.py")
