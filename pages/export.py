"""Export: write the curated samples in a trainer's format, with a manifest, into the export folder."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from core import actions
from core.errors import WinnowError
from core.export import EXPORT_FORMATS, nothing_to_export
from core.store import STATUSES, SampleFilter
from core.training.writing import export_target
from pages import _common, _training_export

DOWNLOAD_LIMIT_MB = 200  # larger files are fetched from the export folder, not through the browser

store = _common.current_store()
path = str(_common.workspace_path())
export_dir = _common.settings().export_dir

st.title("Export")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file in the export folder, or None when it can (core.training.writing.export_target decides)."""
    try:
        export_target(export_dir, name)
    except WinnowError as ex:
        return str(ex)
    return None


def written_by_last_export(target: Path) -> bool:
    """Whether ``target`` is the very file this session's last export wrote (so not "an earlier export")."""
    job_id = _common.remembered_job(store, "export_job")
    job = store.get_job(job_id) if job_id is not None else None
    if not job or job["status"] != "done" or not job["message"] or not target.exists():
        return False
    report = json.loads(job["message"])
    return report["path"] == str(target) and report.get("mtime_ns") == target.stat().st_mtime_ns


# A link (/export?selection=NAME) chooses the selection.
if "selection" in st.query_params:
    st.session_state["export_selection"] = st.query_params["selection"]
    del st.query_params["selection"]
selection_names = [sel["name"] for sel in store.selections()]
if st.session_state.get("export_selection") not in [None, *selection_names]:
    st.warning(f"This workspace has no selection {st.session_state.pop('export_selection')!r}.", icon="⚠️")
chosen_selection = st.selectbox(
    "Selection",
    selection_names,
    index=None,
    placeholder="none: every sample",
    key="export_selection",
    help="Only the members of a selection saved on the Select page (whatever their status, unless you choose one). "
    "`python -m core export --selection NAME` writes a staged selection as one file per stage.",
)
# Status follows the choice of a selection: a selection's own samples (any status), or else the accepted ones.
if "export_status_for" not in st.session_state or st.session_state["export_status_for"] != chosen_selection:
    st.session_state["export_status_for"] = chosen_selection
    st.session_state["export_status"] = [] if chosen_selection else ["accepted"]
c1, c2, c3 = st.columns(3)
fmt = c1.selectbox("Format", EXPORT_FORMATS, key="export_format")
statuses = c2.multiselect("Status", STATUSES, key="export_status", help="Empty: every status")
tag = c3.selectbox("Tag", _common.known_tags(path, store), index=None, placeholder="any", key="export_tag")
default_name = f"winnow-{fmt}.{'parquet' if fmt == 'parquet' else 'jsonl'}"
d1, d2 = st.columns([2, 1])
name = d1.text_input(
    "File name", key="export_name", placeholder=default_name, help=".json writes one JSON array; other names JSON lines"
).strip()
name = name or default_name
with_scores = d2.checkbox("With scores", key="export_scores", help="Add score columns, source and source_index")
turns = "split"
if fmt not in ("openai", "parquet"):
    turns = st.radio(
        "Assistant turns marked not to train on",
        ["split", "cut"],
        horizontal=True,
        key="export_turns",
        format_func={"split": "one record per trained turn", "cut": "cut the chat after its last trained turn"}.get,
        help=f"{fmt} has no per-turn weight (OpenAI's format keeps it). Split: each record ends on a trained turn, "
        "its history masked (dataset_info's mask_history). Cut: an untrained turn before a trained one still trains.",
    )

flt = SampleFilter(status=statuses or None, tag=tag, selection=chosen_selection)
matching = store.count(flt)
problem = name_problem(name) or nothing_to_export(store, flt)
running = _common.job_running(store, "export_job")
if problem:
    st.error(problem, icon="🚫")
else:
    st.markdown(f"**{matching:,} samples** will be written to `{export_dir / name}`.")
    if written_by_last_export(export_dir / name):  # the file written below, not an earlier export
        st.caption("Exporting again replaces the file written below.")
    elif (
        not running
        and (export_dir / name).exists()
        and not st.checkbox(  # not the file being written
            f"Replace the existing `{name}`", key="export_replace", help="An earlier export wrote it."
        )
    ):
        problem = f"{name} exists in the export folder: choose another name or tick Replace"
        st.warning(problem, icon="⚠️")

if st.button("Export", type="primary", disabled=running or bool(problem), key="export_go") and not problem:
    out, user = export_target(export_dir, name), _common.acting_user()

    def work(progress):  # an existing file is replaced only once the page said so
        return actions.export(
            store,
            out,
            fmt=fmt,
            user=user,
            filters=flt,
            with_scores=with_scores,
            overwrite=True,
            progress=progress,
            turns=turns,
        )

    params = {"out": str(out), "format": fmt, "status": statuses, "tag": tag, "with_scores": with_scores}
    params["selection"] = chosen_selection
    _common.start_job(store, "export_job", "export", params, work, user=user)

finished = _common.job_panel(store, "export_job", "Writing", unit="records")
if finished is not None:
    report = _common.job_result(finished)
    if report is not None:
        out = Path(report["path"])
        st.success(f"Wrote {report['records']:,} records to `{out}`.")
        st.caption(f"sha256 {report['sha256']} · manifest `{report['manifest_path']}`")
        if out.exists() and out.stat().st_size <= DOWNLOAD_LIMIT_MB * 1024 * 1024:
            st.download_button(
                f"Download {out.name}",
                data=lambda: out.read_bytes(),  # read when clicked, not on every run
                file_name=out.name,
                mime="application/octet-stream",
                key="export_download",
            )
        elif out.exists():
            st.info(f"The file is over {DOWNLOAD_LIMIT_MB} MB: take it from {out.parent}.")
        manifest = Path(report["manifest_path"])
        if manifest.exists():
            with st.expander("Manifest"):
                st.json(json.loads(manifest.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------------- training-ready

_training_export.training_export(
    store, export_dir, flt, {"status": statuses, "tag": tag, "selection": chosen_selection}, name_problem
)
