"""Import: bring a file into the workspace, after a preview of how its first records parse."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import actions
from core.errors import FormatError, WinnowError
from core.formats.convert import to_canonical
from core.formats.detect import check_mapping, detect_format
from core.formats.mapped import guess_field, parse_mapping
from core.formats.messages import FORMATS
from core.importing.preview import preview
from core.importing.rejects import dated_rejects_path
from core.importing.uploads import save_upload
from pages import _common

PREVIEW_RECORDS = 5
NO_FIELD = "(none)"

store = _common.current_store()
settings = _common.settings()
workspace_dir = _common.workspace_path().expanduser().resolve().parent

st.title("Import")


@st.cache_data(show_spinner=False, max_entries=16)
def read_head(path: str, mtime: float, size: int) -> tuple[list[tuple[int, int | None, dict]], str | None]:
    """The first records of a file (what detection looks at), or the error reading them. Keyed by mtime and size.
    Read in a worker process with the import's memory cap, and bounded in size, whatever the file holds."""
    try:
        return preview(path, name=path, memory_mb=settings.import_memory_mb), None
    except WinnowError as ex:
        return [], str(ex)


def upload_limit_mb() -> int:
    """The largest upload: WINNOW_MAX_UPLOAD_MB, but never more than the server takes (server.maxUploadSize)."""
    return min(settings.max_upload_mb, int(st.get_option("server.maxUploadSize")))


# ---------------------------------------------------------------------------------------------------- the file

# Reading any path on the server shows whatever file the server can read: admins only (they own the server anyway).
who = _common.identity()
server_paths = who is not None and who.role == "admin"
SOURCES = ["Upload a file", "A file on the server"] if server_paths else ["Upload a file"]
how = st.radio("Source", SOURCES, horizontal=True, key="import_how")
path: Path | None = None
display_name: str | None = None
if how == "Upload a file":
    uploaded = st.file_uploader(
        "File (JSON, JSON Lines, CSV/TSV or Parquet)",
        key="import_upload",
        max_upload_size=upload_limit_mb(),
        help=f"Up to {upload_limit_mb():,} MB, kept under the workspace's uploads/ folder. Larger files: an admin "
        "gives their path on the server.",
    )
    if uploaded is not None:
        try:
            uploads = workspace_dir / "uploads"
            path = save_upload(
                uploaded.getbuffer(), uploaded.name, uploaded.file_id, folder=uploads, limit_mb=upload_limit_mb()
            )
            display_name = uploaded.name
        except WinnowError as ex:
            _common.show_error(ex)
else:
    typed = st.text_input("Path on the server", key="import_path", placeholder="/data/sft/train.jsonl").strip()
    if typed:
        path = Path(typed).expanduser()
        display_name = path.name
        if not path.is_file():
            st.error(f"{typed}: no such file on the server" if not path.exists() else f"{typed} is not a file")
            path = None

# ---------------------------------------------------------------------------------------------------- options

c1, c2, c3 = st.columns([2, 2, 1])
fmt = c1.selectbox("Format", ["auto", *FORMATS], key="import_format", help="auto detects it from the records")
on_error = c2.radio(
    "When a record is bad",
    ["abort", "skip"],
    key="import_on_error",
    horizontal=True,
    format_func={"abort": "import nothing", "skip": "skip it (keep a rejects file)"}.get,
)
allow_reimport = c3.checkbox(
    "Allow re-import", key="import_allow", help="Import a file whose exact bytes are in already"
)

head: list[tuple[int, int | None, dict]] = []
head_error = None
if path is not None:
    stat = path.stat()
    head, head_error = read_head(str(path), stat.st_mtime, stat.st_size)
    if head_error:
        st.error(head_error.replace(str(path), display_name or str(path)), icon="🚫")

mapping: dict | None = None
if fmt == "mapped":
    fields = list(dict.fromkeys(k for _, _, data in head if isinstance(data, dict) for k in data))
    with st.container(border=True):
        st.markdown("**Field mapping** — which field of your records holds each part of the sample")
        m1, m2, m3 = st.columns(3)
        chosen = {
            "prompt": m1.selectbox("Prompt (user)", fields, index=guess_field(fields, "prompt"), key="map_prompt"),
            "response": m2.selectbox(
                "Response (assistant)", fields, index=guess_field(fields, "response"), key="map_resp"
            ),
        }
        system_field = m3.selectbox("System", [NO_FIELD, *fields], key="map_system")
        typed_mapping = st.text_input(
            "…or type it", key="map_text", placeholder="prompt=question,response=answer,system=sys,history=turns"
        ).strip()
        try:
            if typed_mapping:
                mapping = parse_mapping(typed_mapping)
            elif chosen["prompt"] and chosen["response"]:
                if system_field != NO_FIELD:
                    chosen["system"] = system_field
                mapping = parse_mapping(",".join(f"{k}={v}" for k, v in chosen.items()))
        except WinnowError as ex:
            _common.show_error(ex)

# ---------------------------------------------------------------------------------------------------- preview

fmt_used: str | None = None
if head:
    st.subheader("Preview")
    name = display_name or str(path)
    try:
        if fmt == "auto":
            fmt_used = detect_format([d for _, _, d in head], path=name, lines=[ln for _, ln, _ in head])
            st.caption(f"Detected format: **{fmt_used}**")
        elif fmt == "mapped":
            if mapping is not None:
                check_mapping(mapping, [d for _, _, d in head], path=name)
                fmt_used = "mapped"
            else:
                st.info("Choose the prompt and response fields to see the preview.")
        else:
            fmt_used = fmt
    except WinnowError as ex:
        _common.show_error(ex)
    if fmt_used:
        shown = head[:PREVIEW_RECORDS]
        st.caption(f"The first {len(shown)} records as they will be imported:")
        for index, line, data in shown:
            where = f"line {line}" if line is not None else f"record {index + 1}"
            with st.expander(where, expanded=index == 0):
                try:
                    c = to_canonical(data, fmt_used, mapping)
                except FormatError as ex:
                    st.error(str(ex.located(path=name, line=line, record=index)), icon="🚫")
                    st.json(data, expanded=False)
                else:
                    # Verbatim: the preview shows what the trainer will get, and a file's Markdown (remote images
                    # included) is not rendered before anyone chose to import it.
                    _common.render_chat(c.messages, tools=c.tools, markdown=False)

# ---------------------------------------------------------------------------------------------------- import

running = _common.job_running(store, "import_job")
if st.button("Import", type="primary", disabled=path is None or running, key="import_go"):
    source_path = path
    user = _common.acting_user()
    rejects = dated_rejects_path(workspace_dir / "rejects", display_name) if on_error == "skip" else None

    options = {"fmt": fmt, "mapping": mapping, "on_error": on_error, "rejects_path": rejects}
    options |= {"display_name": display_name, "allow_reimport": allow_reimport, "memory_mb": settings.import_memory_mb}

    def work(progress):  # the cheap signals come with every import
        return actions.import_with_signals(store, source_path, user=user, progress=progress, **options)

    params = {"file": display_name, "path": str(source_path), "format": fmt, "mapping": mapping, "on_error": on_error}
    _common.start_job(store, "import_job", "import", params, work, user=user)

finished = _common.job_panel(store, "import_job", "Reading records")
if finished is not None:
    report = _common.job_result(finished)
    if report is not None:
        file_name = finished["params"]["file"]
        st.success(f"Imported {report['imported']:,} records from {file_name} as {report['format']}.")
        if report.get("signals"):
            st.caption(f"Signals: {report['signals']}")
        r1, r2, r3 = st.columns(3)
        r1.metric("Imported", f"{report['imported']:,}")
        r2.metric("Exact duplicates (flagged)", f"{report['duplicates']:,}")
        r3.metric("Rejected", f"{report['rejected']:,}")
        if report["rejects_path"]:
            st.warning(f"Bad records were skipped; their reasons are in `{report['rejects_path']}`.")
            with st.expander("First problems"):
                for line in report["errors"]:
                    st.text(line)

# ---------------------------------------------------------------------------------------------------- sources

st.subheader("Sources in this workspace")
sources = store.sources()
if sources:
    st.dataframe(
        [
            {k: s[k] for k in ("source_id", "name", "format", "records", "rejected", "imported_at", "imported_by")}
            for s in sources
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("Nothing imported yet.")
