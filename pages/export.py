"""Export: write the curated samples in a trainer's format, with a manifest, into the export folder."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from core import jobs
from core.export import EXPORT_FORMATS, export_samples
from core.store import STATUSES, SampleFilter
from pages import _common

DOWNLOAD_LIMIT_MB = 200  # larger files are fetched from the export folder, not through the browser
_UNSAFE = re.compile(r"[\x00-\x1f]")

store = _common.current_store()
path = str(_common.workspace_path())
export_dir = _common.settings().export_dir

st.title("Export")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file in the export folder, or None when it can."""
    if "/" in name or "\\" in name or ".." in name:
        return f"{name!r}: give a plain file name (no folders, no '..'); exports go to {export_dir}"
    if name.startswith(".") or _UNSAFE.search(name):
        return f"{name!r}: a file name cannot start with '.' or hold control characters"
    if (export_dir / name).resolve().parent != export_dir.resolve():
        return f"{name!r} would land outside {export_dir}"
    return None


c1, c2, c3 = st.columns(3)
fmt = c1.selectbox("Format", EXPORT_FORMATS, key="export_format")
statuses = c2.multiselect("Status", STATUSES, default=["accepted"], key="export_status", help="Empty: every status")
tag = c3.selectbox("Tag", _common.known_tags(path, store), index=None, placeholder="any", key="export_tag")
chosen_selection = st.selectbox(
    "Selection",
    [sel["name"] for sel in store.selections()],
    index=None,
    placeholder="none: every sample",
    key="export_selection",
    help="Only the members of a selection saved on the Select page (clear Status to take all of them). "
    "`python -m core export --selection NAME` writes a staged selection as one file per stage.",
)
default_name = f"winnow-{fmt}.{'parquet' if fmt == 'parquet' else 'jsonl'}"
d1, d2 = st.columns([2, 1])
name = d1.text_input(
    "File name", key="export_name", placeholder=default_name, help=".json writes one JSON array; other names JSON lines"
).strip()
name = name or default_name
with_scores = d2.checkbox("With scores", key="export_scores", help="Add score columns, source and source_index")

flt = SampleFilter(status=statuses or None, tag=tag, selection=chosen_selection)
matching = store.count(flt)
problem = name_problem(name)
st.caption(f"{matching:,} samples match · will write `{export_dir / name}`")
if problem:
    st.error(problem, icon="🚫")

running = _common.job_running(store, "export_job")
if st.button("Export", type="primary", disabled=running or bool(problem), key="export_go") and not problem:
    out, user = export_dir / name, _common.acting_user()

    def work(progress):
        report = export_samples(
            store, out, fmt=fmt, user=user, filters=flt, with_scores=with_scores, progress=_common.throttled(progress)
        )
        return json.dumps(asdict(report))

    params = {"out": str(out), "format": fmt, "status": statuses, "tag": tag, "with_scores": with_scores}
    params["selection"] = chosen_selection
    _common.remember_job(store, "export_job", jobs.start_job(store, "export", params, work, user=user))
    st.rerun()  # redraw the page with its button disabled while the job runs

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
