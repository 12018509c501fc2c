"""Export curated samples in the format a trainer expects, with a manifest beside the data.

The data is written to a temporary file in the destination folder and renamed into place at the end, so an
interrupted export never leaves a half file under the final name; the temporary files of a killed export are removed
by the next export to that name. Every file is created readable by its owner only. Records stream from the store a
batch at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from core import __version__
from core.errors import FormatError, PermissionDenied, WinnowError
from core.formats.convert import from_canonical, to_canonical
from core.formats.messages import Canonical
from core.pause_points import pause_point
from core.store import SampleFilter, Store

EXPORT_FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion", "parquet")

# How LLaMA-Factory reads each of our formats (its dataset_info.json schema).
_DATASET_INFO = {
    "alpaca": {
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "system": "system",
            "history": "history",
        },
    },
    "sharegpt": {
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
    },
    "openai": {
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "tools": "tools"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
            "observation_tag": "tool",
        },
    },
    "prompt-completion": {"formatting": "alpaca", "columns": {"prompt": "prompt", "response": "completion"}},
}
_DATASET_INFO["parquet"] = _DATASET_INFO["openai"]  # the same messages shape, in a Parquet file

Progress = Callable[[int, int | None], None]


@dataclass
class ExportReport:
    path: str
    manifest_path: str
    dataset_info_path: str
    format: str
    records: int
    sha256: str
    skipped: list[dict]


def _record(row: dict, fmt: str) -> dict:
    """One exported record from a stored row: the edited messages in ``fmt``, using the original record as a hint."""
    tools = json.loads(row["tools"]) if row["tools"] is not None else None
    raw = json.loads(row["raw"])
    mapping = json.loads(row["mapping"]) if row["mapping"] else None
    original = to_canonical(raw, row["format"], mapping)
    messages = json.loads(row["messages"]) if row["messages"] is not None else original.messages
    canonical = Canonical(messages=messages, tools=tools, extras=original.extras)
    target = "openai" if fmt == "parquet" else fmt
    same = row["format"] == target
    return from_canonical(canonical, target, raw=raw if same else None, mapping=mapping if same else None)


def export_samples(
    store: Store,
    out: str | os.PathLike,
    *,
    fmt: str,
    user: str,
    filters: SampleFilter | None = None,
    with_scores: bool = False,
    progress: Progress | None = None,
    extra_manifest: dict | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Write the samples matching ``filters`` (default: accepted) to ``out``.

    Args:
        fmt: one of EXPORT_FORMATS. JSON formats are written as a JSON array for a ``.json`` file and as JSON
            lines for anything else (``.jsonl``); ``parquet`` writes the OpenAI ``messages`` shape.
        with_scores: add every current score column, and each sample's ``source`` and ``source_index``.
        overwrite: replace an existing ``out`` (the CLI's ``--force``; the Export page asks first). Without it an
            existing file is refused. The workspace, its write-ahead log and the imported files are never replaced.

    Returns:
        An ExportReport. Beside the file: ``<file>.manifest.json`` and a LLaMA-Factory ``dataset_info.json``.
    """
    if fmt not in EXPORT_FORMATS:
        raise WinnowError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    store.authorize(user, "export")
    out = Path(out)
    if out.exists() and out.is_dir():
        raise WinnowError(f"{out} is a folder; give a file name, e.g. {out / ('export.' + _suffix(fmt))}")
    for path in (out, out.with_name(out.name + ".manifest.json")):
        store.refuse_own_file(path, "the export")
    if not overwrite and (out.exists() or out.is_symlink()):
        raise WinnowError(f"{out} exists: choose another file, or replace it on purpose (--force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    filters = filters if filters is not None else SampleFilter(status="accepted")
    total = store.count(filters)
    for name in (out.name, out.name + ".manifest.json", "dataset_info.json"):
        _remove_stale_partials(out.parent, name)
    tmp = _partial_beside(out)
    as_array = fmt != "parquet" and out.suffix.lower() == ".json"
    sha = hashlib.sha256()
    done = 0
    by_status: dict[str, int] = {}
    skipped: list[dict] = []
    tables: list[pa.Table] = []
    try:
        with open(tmp, "wb") as fh:
            pause_point("export.opened")
            if as_array:
                fh.write(b"[\n")
            for batch in store.iter_export(filters, with_scores=with_scores):
                rows = batch.to_pylist()
                score_names = [c for c in batch.schema.names if c not in _BASE_COLUMNS]
                records = []
                for row in rows:
                    try:
                        rec = _record(row, fmt)
                    except FormatError as ex:
                        # The target format cannot hold this sample (e.g. tool turns in Alpaca): say so, go on.
                        skipped.append({"id": row["id"], "reason": ex.problem})
                        continue
                    if with_scores:
                        rec["source"] = row["source"]
                        rec["source_index"] = row["source_index"]
                        for c in score_names:
                            rec[c] = row[c]
                    records.append(rec)
                    by_status[row["status"]] = by_status.get(row["status"], 0) + 1
                if fmt == "parquet":
                    if records:
                        tables.append(_parquet_table(records))
                else:
                    for i, rec in enumerate(records):
                        blob = orjson.dumps(rec)
                        if as_array:
                            fh.write(b",\n" + blob if done + i else blob)
                        else:
                            fh.write(blob + b"\n")
                done += len(records)
                pause_point("export.batch_written")
                if progress:
                    progress(done, total)
            if fmt == "parquet":
                # Records differ in their keys (tools, extras), so batches differ in their columns: unify them at the
                # end, when every column is known. The Arrow tables are compact, but a huge export holds them all.
                if tables:
                    pq.write_table(pa.concat_tables(tables, promote_options="permissive"), fh)
                else:
                    message = pa.struct([("role", pa.string()), ("content", pa.string())])
                    pq.write_table(pa.table({"messages": pa.array([], pa.list_(message))}), fh)
            if as_array:
                fh.write(b"\n]\n")
        with open(tmp, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        pause_point("export.before_rename")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

    manifest = {
        "file": out.name,
        "format": fmt,
        "records": done,
        "sha256": sha.hexdigest(),
        "by_status": by_status,
        "skipped": skipped,
        "filters": {k: v for k, v in asdict(filters).items() if v not in (None, {}, [], "")},
        "with_scores": with_scores,
        "sources": store.source_files(filters),
        "workspace": str(store.path),
        "app": f"winnow {__version__}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": user,
    }
    if extra_manifest:
        manifest.update(extra_manifest)
    manifest_path = out.with_name(out.name + ".manifest.json")
    _write_json_atomic(manifest_path, manifest)
    info_path = out.with_name("dataset_info.json")
    entry = {"file_name": out.name, **json.loads(json.dumps(_DATASET_INFO[fmt]))}
    with _INFO_LOCK:
        info = {}
        if info_path.exists():
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                info = None
        if isinstance(info, dict) and not _own_file(store, info_path):
            info[out.stem] = entry
            _write_json_atomic(info_path, info)
        else:
            # Someone's own dataset_info.json that is not a JSON object (or is an imported file): never overwrite
            # it; say so in the manifest.
            manifest["dataset_info"] = f"{info_path} is not Winnow's to change, left unchanged; add this entry: " + (
                json.dumps({out.stem: entry}, ensure_ascii=False)
            )
            _write_json_atomic(manifest_path, manifest)
    store.log_event("export", user=user, detail={k: manifest[k] for k in ("file", "format", "records", "sha256")})
    return ExportReport(str(out), str(manifest_path), str(info_path), fmt, done, manifest["sha256"], skipped)


_BASE_COLUMNS = {
    "id",
    "source",
    "source_index",
    "format",
    "raw",
    "messages",
    "tools",
    "status",
    "tags",
    "note",
    "version",
    "content_hash",
    "mapping",
}


def _own_file(store: Store, path: Path) -> bool:
    """Whether ``path`` is one of the workspace's own files (see ``Store.own_files``)."""
    try:
        store.refuse_own_file(path, "")
    except WinnowError:
        return True
    return False


def _suffix(fmt: str) -> str:
    return "parquet" if fmt == "parquet" else "jsonl"


_INFO_LOCK = threading.Lock()  # exports in several app sessions update one dataset_info.json


def _parquet_table(records: list[dict]) -> pa.Table:
    """One batch of records as an Arrow table: every key any record has becomes a column (missing = null); nested
    values other than the messages (tools, extras) are stored as JSON text, so their shapes cannot clash."""
    keys = list(dict.fromkeys(k for rec in records for k in rec))
    rows = []
    for rec in records:
        row = {}
        for k in keys:
            v = rec.get(k)
            row[k] = json.dumps(v, ensure_ascii=False) if k != "messages" and isinstance(v, dict | list) else v
        rows.append(row)
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing kinds (a number here, text there): keep it as text
        return pa.Table.from_pylist(
            [{k: (v if k == "messages" or v is None else str(v)) for k, v in row.items()} for row in rows]
        )


def _write_json_atomic(path: Path, obj) -> None:
    tmp = _partial_beside(path)
    try:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------------- temporary files
#
# A file is written as ``.<name>.partial-<pid>@<host>-<random>`` beside its final name, then renamed into place. The
# unique name keeps two exports to the same name apart; mkstemp creates it readable by its owner only (0600), and the
# rename keeps that mode. A process killed mid-export (kill -9, power loss) cannot remove its temporary file, so the
# next export to the same name removes those whose process is gone. The host is in the name because an export folder
# may be shared between machines, where a process id means nothing.


def _partial_prefix(name: str) -> str:
    return f".{name}.partial-"


def _partial_beside(path: Path) -> Path:
    """A new empty temporary file (mode 0600) in ``path``'s folder, named after ``path`` and this process."""
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{_partial_prefix(path.name)}{os.getpid()}@{socket.gethostname()}-", dir=path.parent
    )
    os.close(fd)
    return Path(tmp_name)


def _partial_folder_beside(path: Path) -> Path:
    """A new empty temporary folder (mode 0700) beside ``path``, named like ``_partial_beside``'s files."""
    return Path(
        tempfile.mkdtemp(prefix=f"{_partial_prefix(path.name)}{os.getpid()}@{socket.gethostname()}-", dir=path.parent)
    )


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def _remove_stale_partials(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files left in ``folder`` by killed exports to ``name``; return what was removed."""
    prefix = _partial_prefix(name)
    host = socket.gethostname()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        owner, sep, _random = entry.name[len(prefix) :].rpartition("-")
        pid, at, owner_host = owner.partition("@")
        if not (sep and at and pid.isdigit()) or owner_host != host:
            continue  # not ours to judge: another machine's, or an older naming
        if int(pid) != os.getpid() and _process_gone(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # another export cleaned it first
                if entry.is_dir(follow_symlinks=False):  # a training export's folder (core.training)
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


# ---------------------------------------------------------------------------------------------------- the app's folder

EXPORT_NAME_RESERVED = ("dataset_info.json",)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def export_target(folder: str | os.PathLike, name: str) -> Path:
    """Where the app writes an export called ``name``: a file directly in the export ``folder``, nowhere else.

    The app runs on a server, so a name typed in the browser must not reach the rest of its disk: no folders, no
    ``..``, no absolute path, and no symlink in the folder that points out of it (checked once links are resolved).

    Args:
        folder: the export folder (``WINNOW_EXPORT_DIR``).
        name: the file name as typed.

    Returns:
        ``folder / name``.

    Raises:
        PermissionDenied: the name would write outside ``folder``.
        WinnowError: the name is empty, hidden, holds control characters, or is reserved (``dataset_info.json``,
            ``*.manifest.json``: Winnow writes those beside each export).
    """
    folder = Path(folder)
    if not name or not name.strip():
        raise WinnowError("give a file name for the export")
    if "/" in name or "\\" in name or ".." in name or os.path.isabs(name):
        raise PermissionDenied(f"{name!r}: give a plain file name (no folders, no '..'); exports go to {folder}")
    if name.startswith(".") or _CONTROL.search(name):
        raise WinnowError(f"{name!r}: a file name cannot start with '.' or hold control characters")
    if name in EXPORT_NAME_RESERVED or name.endswith(".manifest.json"):
        raise WinnowError(f"{name!r} is the name of a file Winnow writes beside each export; choose another name")
    target = folder / name
    if target.resolve().parent != folder.resolve():
        raise PermissionDenied(f"{name!r} would land outside {folder} (a link pointing elsewhere?)")
    return target


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" or {words[-1]}"


def nothing_to_export(store: Store, f: SampleFilter) -> str | None:
    """Why ``f`` matches no sample, in words that say what to change; None when it matches some.

    An export of nothing would write an empty file and call it a success: the page refuses it with this reason.
    """
    if store.count(f, cap=1):
        return None
    statuses = [f.status] if isinstance(f.status, str) else list(f.status or [])
    if f.selection:
        members = store.count(SampleFilter(selection=f.selection, stage=f.stage))
        if not members:
            return f"0 match: the selection {f.selection} has no samples"
        if f.tag and not store.count(SampleFilter(selection=f.selection, stage=f.stage, tag=f.tag), cap=1):
            return f"0 match: none of the selection {f.selection}'s {members:,} samples has the tag {f.tag}; clear Tag"
        return (
            f"0 match: the selection {f.selection} has {members:,} samples, none {_either(statuses)}; "
            "clear Status to export them"
        )
    total = store.count()
    if not total:
        return "0 match: the workspace is empty; import a file first"
    if statuses and store.count(SampleFilter(tag=f.tag), cap=1):
        return (
            f"0 match: none of the samples{f' tagged {f.tag}' if f.tag else ''} is {_either(statuses)}; change Status"
        )
    if f.tag:
        return f"0 match: no sample has the tag {f.tag}; change Tag"
    return f"0 match: none of the {total:,} samples passes these filters"
