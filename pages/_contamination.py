"""Balance's contamination section: the eval sets registered in the workspace (add one from a file), a check of
every sample against them as a background job, and what it found: per set, and the samples with the most overlap."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import actions
from core.decontamination.workspace import add_eval_set_file
from core.errors import WinnowError
from core.importing.uploads import save_upload
from core.store import Store
from pages import _common

JOB = "decontam_job"


def contamination_section(store: Store, user: str) -> None:
    """Eval sets, the check and its findings. Adding a set and starting the check are for leads."""
    st.subheader("Contamination")
    st.caption(
        "Samples that hold a test set's items make every evaluation on that set a lie. Register test sets here "
        "(never imported as samples); each sample is checked for a run of 13 words (Chinese: characters) of an "
        "item, question and answer alike, and for near copies with small edits. The presets then drop what is "
        "found (selection step drop_contaminated)."
    )
    sets = store.eval_sets()
    found = store.contamination(limit=20)
    checked = (found or {}).get("eval_sets", {})
    per_set = {r["eval_set"]: r for r in (found or {}).get("by_set", [])}
    if sets:
        rows = [
            {
                "eval set": s["name"],
                "items": s["items"],
                "file": s["file_name"],
                "added by": s["added_by"],
                "contaminated samples": per_set.get(s["name"], {}).get("samples", 0)
                if checked.get(s["name"]) == s["sha256"]
                else None,
                "items found": per_set.get(s["name"], {}).get("items", 0)
                if checked.get(s["name"]) == s["sha256"]
                else None,
            }
            for s in sets
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    stale = bool(sets) and checked != {s["name"]: s["sha256"] for s in sets}
    if _common.allowed("evaluate"):
        _add_form(store, user)
        if sets:
            label = "Check the samples" if stale else "Check again (only new or edited samples)"
            busy = _common.job_running(store, JOB)
            if st.button(label, key="decontam_go", disabled=busy, type="primary" if stale else "secondary"):
                _common.start_job(
                    store,
                    JOB,
                    "score",
                    {"scorers": ["decontam"], "params": {}},
                    lambda progress: actions.score(
                        store, ["decontam"], settings=_common.settings(), user=user, progress=progress
                    ),
                    user=user,
                )
        _common.job_panel(store, JOB, "Checking against the eval sets", unit="samples")
    if stale:
        st.info("Not every sample is checked against the current eval sets: run the check.", icon="ℹ️")
    if found and found["top"] and not stale:
        total = sum(r["samples"] for r in found["by_set"])
        st.markdown(f"**{total:,}** of {found['samples']:,} samples hold an eval item; the most overlapping:")
        table = pd.DataFrame(found["top"]).rename(
            columns={"overlap": "overlap (0–1)", "item": "item (from 1)", "ngram": "shared words"}
        )
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption("Browse filters on `contaminated` and the other contamination columns like on any score.")
    elif found and not stale:
        st.success(f"No sample of the {found['checked']:,} checked holds an eval item.", icon="✅")


def _add_form(store: Store, user: str) -> None:
    with st.expander("Add an eval set"):
        with st.form("decontam_add", clear_on_submit=True):
            up = st.file_uploader("Test file (any format Winnow imports)", key="decontam_file")
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key="decontam_name", placeholder="the file's name").strip()
            mapping = c2.text_input(
                "Field mapping (optional)", key="decontam_map", placeholder="prompt=question,response=answer"
            ).strip()
            add = st.form_submit_button("Add")
        if not (add and up is not None):
            return
        try:
            saved = save_upload(
                up.getbuffer(),
                up.name,
                up.file_id,
                folder=store.path.parent / "uploads" / "evalsets",
                limit_mb=_common.settings().max_upload_mb,
                keep_name=True,
            )
            added = add_eval_set_file(store, saved, name=name or None, mapping=mapping or None, user=user)
        except WinnowError as ex:
            _common.show_error(ex)
            return
        st.toast(f"Eval set {added['name']!r}: {added['items']:,} items. Check the samples against it.")
        st.rerun()
