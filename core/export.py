"""Export curated samples in the format a trainer expects, with a manifest beside the data.

The data is written to a temporary file in the destination folder and renamed into place at the end, so an
interrupted export never leaves a half file under the final name; the temporary files of a killed export are removed
by the next export to that name. Every file is created readable by its owner only (``core.training.writing`` holds how,
for this export and the training export alike). Records stream from the store a batch at a time.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from core import __version__
from core.digest import file_sha256
from core.errors import FormatError, WinnowError
from core.formats.convert import from_canonical, to_canonical
from core.formats.messages import Canonical
from core.formats.turns import TURN_MODES, conversations, untrained_turns
from core.pause_points import pause_point
from core.progress import Progress
from core.store import SampleFilter, Store
from core.training.writing import (
    DATASET_INFO,
    partial_beside,
    remove_stale_partials,
    write_json_atomic,
)

EXPORT_FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion", "parquet")


@dataclass
class ExportReport:
    path: str
    manifest_path: str
    dataset_info_path: str
    format: str
    records: int
    sha256: str
    skipped: list[dict]


def _records(row: dict, fmt: str, turns: TurnCount) -> list[dict]:
    """The exported records of a stored row: the edited messages in ``fmt``, using the original record as a hint.
    One record, except where per-turn decisions split a chat (``core.formats.turns``); none when no turn trains."""
    tools = json.loads(row["tools"]) if row["tools"] is not None else None
    raw = json.loads(row["raw"])
    mapping = json.loads(row["mapping"]) if row["mapping"] else None
    original = to_canonical(raw, row["format"], mapping)
    messages = json.loads(row["messages"]) if row["messages"] is not None else original.messages
    target = "openai" if fmt == "parquet" else fmt
    same = row["format"] == target
    if target == "openai":  # the format of the weights themselves
        chats = [messages]
    else:
        chats, still_trained = conversations(messages, turns.mode, split_all=turns.split_all)
        turns.count(messages, chats, still_trained)
        if not chats:
            raise FormatError("no assistant turn is marked to train on")
        same = same and len(chats) == 1 and chats[0] == messages  # a cut or split chat is no longer the raw record
    return [
        from_canonical(
            Canonical(messages=chat, tools=tools, extras=original.extras),
            target,
            raw=raw if same else None,
            mapping=mapping if same else None,
        )
        for chat in chats
    ]


@dataclass
class TurnCount:
    """How an export carried per-turn decisions: the mode, whether every multi-turn chat is split (history masked),
    and the counts the manifest reports."""

    mode: str
    split_all: bool = False
    chats_with_untrained_turns: int = 0
    chats_split: int = 0
    records_from_splits: int = 0
    untrained_turns_still_trained: int = 0

    def count(self, messages: list[dict], chats: list[list[dict]], still_trained: int) -> None:
        self.chats_with_untrained_turns += untrained_turns(messages) > 0
        if len(chats) > 1:
            self.chats_split += 1
            self.records_from_splits += len(chats)
        self.untrained_turns_still_trained += still_trained

    def manifest(self, fmt: str) -> dict:
        if fmt in ("openai", "parquet"):
            return {"mode": "weights", "note": "per-message weight kept (0: do not train on that assistant turn)"}
        out = {k: v for k, v in asdict(self).items()}
        out["mask_history"] = self.split_all
        return out


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
    turns: str = "split",
) -> ExportReport:
    """Write the samples matching ``filters`` (default: accepted) to ``out``.

    Args:
        fmt: one of EXPORT_FORMATS. JSON formats are written as a JSON array for a ``.json`` file and as JSON
            lines for anything else (``.jsonl``); ``parquet`` writes the OpenAI ``messages`` shape.
        with_scores: add every current score column, and each sample's ``source`` and ``source_index``.
        overwrite: replace an existing ``out`` (the CLI's ``--force``; the Export page asks first). Without it an
            existing file is refused. The workspace, its write-ahead log and the imported files are never replaced.
        turns: how a format without per-message weights carries assistant turns marked not to train on: "split"
            (one record per trained turn, history masked) or "cut" (the chat ends after its last trained turn); see
            ``core.formats.turns``. OpenAI and Parquet keep the weights.

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
    if turns not in TURN_MODES:
        raise WinnowError(f"unknown turn mode {turns!r}; use {' or '.join(TURN_MODES)}")
    filters = filters if filters is not None else SampleFilter(status="accepted")
    total = store.count(filters)
    turn_count = TurnCount(turns)
    if fmt not in ("openai", "parquet") and turns == "split":
        turn_count.split_all = store.has_untrained_turns(filters)
    for name in (out.name, out.name + ".manifest.json", "dataset_info.json"):
        remove_stale_partials(out.parent, name)
    tmp = partial_beside(out)
    as_array = fmt != "parquet" and out.suffix.lower() == ".json"
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
                        recs = _records(row, fmt, turn_count)
                    except FormatError as ex:
                        # The target format cannot hold this sample (e.g. tool turns in Alpaca): say so, go on.
                        skipped.append({"id": row["id"], "reason": ex.problem})
                        continue
                    for rec in recs:
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
        sha256 = file_sha256(tmp)
        pause_point("export.before_rename")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

    manifest = {
        "file": out.name,
        "format": fmt,
        "records": done,
        "sha256": sha256,
        "by_status": by_status,
        "skipped": skipped,
        "filters": {k: v for k, v in asdict(filters).items() if v not in (None, {}, [], "")},
        "with_scores": with_scores,
        "turns": turn_count.manifest(fmt),
        # the scorers behind the scores (their models, and for decontam the eval sets it checked, by digest)
        "scorers": {k: {"key": v["key"], "params": v["params"]} for k, v in sorted(store.scorer_keys().items())},
        "eval_sets": [{k: e[k] for k in ("name", "file_name", "sha256", "items")} for e in store.eval_sets()],
        "sources": store.source_files(filters),
        "workspace": str(store.path),
        "app": f"winnow {__version__}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": user,
    }
    if filters.selection:
        from core.evaluation.report import manifest_entries

        manifest["evaluations"] = manifest_entries(store, filters.selection)
    if extra_manifest:
        manifest.update(extra_manifest)
    manifest_path = out.with_name(out.name + ".manifest.json")
    write_json_atomic(manifest_path, manifest)
    info_path = out.with_name("dataset_info.json")
    entry = {"file_name": out.name, **json.loads(json.dumps(DATASET_INFO[fmt]))}
    if turn_count.split_all:  # records end on their trained turn; their history is there to read, not to train on
        entry["mask_history"] = True
    with _INFO_LOCK:
        info = {}
        if info_path.exists():
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                info = None
        if isinstance(info, dict) and not _own_file(store, info_path):
            info[out.stem] = entry
            write_json_atomic(info_path, info)
        else:
            # Someone's own dataset_info.json that is not a JSON object (or is an imported file): never overwrite
            # it; say so in the manifest.
            manifest["dataset_info"] = f"{info_path} is not Winnow's to change, left unchanged; add this entry: " + (
                json.dumps({out.stem: entry}, ensure_ascii=False)
            )
            write_json_atomic(manifest_path, manifest)
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
