"""Import a file into a workspace: read, detect, validate every record, then commit all at once.

The default is all-or-nothing: the first bad record stops the import with a message naming the file, the line or
record, the field and what was expected, and the workspace is unchanged. With ``on_error="skip"`` the good records
are imported and the bad ones are written, with their reasons, to a rejects file (JSON lines).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from core import formats
from core.errors import FormatError, WinnowError
from core.store import Store

DETECT_SAMPLE = 50

Progress = Callable[[int, int | None], None]


@dataclass
class ImportReport:
    """What an import did. ``rejects_path`` is set when bad records were skipped and written there."""

    source_id: int | None
    path: str
    format: str
    imported: int
    duplicates: int
    rejected: int
    rejects_path: str | None = None
    errors: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dumps(obj) -> str:
    # default=str: Parquet and CSV extras may hold bytes, decimals or dates, which JSON has no type for.
    return orjson.dumps(obj, default=str).decode()


def import_file(
    store: Store,
    path: str | os.PathLike,
    *,
    user: str,
    fmt: str = "auto",
    mapping: dict | str | None = None,
    on_error: str = "abort",
    rejects_path: str | os.PathLike | None = None,
    display_name: str | None = None,
    allow_reimport: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file into ``store``.

    Args:
        fmt: "auto" to detect, or one of ``formats.FORMATS``. A mapping implies "mapped".
        mapping: {canonical key: field name} or its CLI form "prompt=question,response=answer".
        on_error: "abort" (nothing is imported when any record is bad) or "skip" (bad records go to the rejects
            file, by default ``<file>.rejects.jsonl`` beside the input).
        display_name: the name recorded as the source (an upload's original name); default the file's name.
        allow_reimport: import a file whose exact bytes were imported before (its samples are flagged as
            duplicates). Without it, such a file is refused.
        progress: called as ``progress(records_done, total_or_None)``.

    Returns:
        An ImportReport.

    Raises:
        FormatError: the file or a record is bad (abort mode), or no record could be imported.
        MappingError: the mapping is malformed or names absent fields.
    """
    path = Path(path)
    name = display_name or path.name
    if on_error not in ("abort", "skip"):
        raise WinnowError(f"--on-error must be 'abort' or 'skip', not {on_error!r}")
    if not path.exists():
        raise FormatError("no such file", path=str(path))
    if path.is_dir():
        raise FormatError("is a folder, not a file", path=str(path))
    if isinstance(mapping, str):
        mapping = formats.parse_mapping(mapping)
    if mapping:
        if fmt not in ("auto", "mapped"):
            raise WinnowError(f"a field mapping imports as format 'mapped'; drop --format {fmt} or the mapping")
        fmt = "mapped"
    elif fmt == "mapped":
        raise WinnowError("format 'mapped' needs a field mapping, e.g. --map prompt=question,response=answer")
    elif fmt != "auto" and fmt not in formats.FORMATS:
        raise WinnowError(f"unknown format {fmt!r}; expected auto or one of {', '.join(formats.FORMATS)}")

    sha = file_sha256(path)
    if not allow_reimport:
        seen = store.find_source_by_sha(sha)
        if seen is not None:
            raise WinnowError(
                f"{name}: this exact file was already imported as source {seen['source_id']} ({seen['name']}, "
                f"{seen['imported_at']:%Y-%m-%d %H:%M}); import it again only on purpose (--allow-reimport)"
            )

    records = formats.iter_records(path, progress=progress)
    head = []
    for rec in records:
        head.append(rec)
        if len(head) >= DETECT_SAMPLE:
            break
    if not head:
        raise FormatError("file holds no records", path=str(path))
    if fmt == "auto":
        fmt = formats.detect_format([r.data for r in head], path=str(path))
    if mapping:
        formats.check_mapping(mapping, [r.data for r in head], path=str(path))

    columns: dict[str, list] = {
        k: [] for k in ("source_index", "raw", "messages", "tools", "prompt", "answer", "n_turns", "content_hash")
    }
    rejects: list[dict] = []
    errors: list[str] = []

    def take(rec) -> None:
        try:
            c = formats.to_canonical(rec.data, fmt, mapping)
        except FormatError as ex:
            located = ex.located(path=name, line=rec.line, record=rec.index)
            if on_error == "abort":
                raise located from None
            rejects.append({"record": rec.index, "line": rec.line, "error": str(located), "data": rec.data})
            if len(errors) < 20:
                errors.append(str(located))
            return
        messages = c.messages
        columns["source_index"].append(rec.index)
        columns["raw"].append(_dumps(rec.data))
        columns["messages"].append(_dumps(messages))
        columns["tools"].append(None if c.tools is None else _dumps(c.tools))
        columns["prompt"].append(formats.prompt_text(messages))
        columns["answer"].append(formats.answer_text(messages))
        columns["n_turns"].append(sum(1 for m in messages if m["role"] == "user"))
        columns["content_hash"].append(formats.content_hash(messages, c.tools))

    try:
        for rec in head:
            take(rec)
        for rec in records:
            take(rec)
    except FormatError as ex:
        raise ex.located(path=name) from None

    written_rejects = None
    if rejects:
        written_rejects = Path(rejects_path) if rejects_path else path.with_name(path.name + ".rejects.jsonl")
        tmp = written_rejects.with_name(written_rejects.name + ".partial")
        with open(tmp, "wb") as fh:
            for r in rejects:
                fh.write(orjson.dumps(r, default=str) + b"\n")
        os.replace(tmp, written_rejects)
    if not columns["content_hash"]:
        where = f"; the reasons are in {written_rejects}" if written_rejects else ""
        raise FormatError(f"no record could be imported ({len(rejects)} rejected){where}", path=name)

    result = store.import_source(
        name=name,
        path=str(path),
        sha256=sha,
        fmt=fmt,
        mapping=mapping,
        rejected=len(rejects),
        columns=columns,
        user=user,
    )
    return ImportReport(
        source_id=result["source_id"],
        path=str(path),
        format=fmt,
        imported=result["inserted"],
        duplicates=result["duplicates"],
        rejected=len(rejects),
        rejects_path=str(written_rejects) if written_rejects else None,
        errors=errors,
    )
