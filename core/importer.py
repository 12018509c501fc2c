"""Import a file into a workspace: read, detect, validate every record, then commit all at once.

The default is all-or-nothing: the first bad record stops the import with a message naming the file, the line or
record, the field and what was expected, and the workspace is unchanged. With ``on_error="skip"`` the good records
are imported and the bad ones are written, with their reasons, to a rejects file (JSON lines).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from core import formats
from core.errors import FormatError, WinnowError
from core.store import Store

DETECT_SAMPLE = 50
CHUNK = 50_000  # records per insert; parsing the next chunk overlaps DuckDB writing this one

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

    rejects: list[dict] = []
    errors: list[str] = []
    chunks = _parse_in_background(head, records, fmt, mapping, name, on_error, rejects, errors)
    result = store.import_source(
        name=name,
        path=str(path),
        sha256=sha,
        fmt=fmt,
        mapping=mapping,
        chunks=chunks,
        rejected=lambda: len(rejects),
        user=user,
    )
    written_rejects = None
    if rejects:
        written_rejects = Path(rejects_path) if rejects_path else path.with_name(path.name + ".rejects.jsonl")
        tmp = written_rejects.with_name(written_rejects.name + ".partial")
        with open(tmp, "wb") as fh:
            for r in rejects:
                fh.write(orjson.dumps(r, default=str) + b"\n")
        os.replace(tmp, written_rejects)
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


_COLUMNS = ("source_index", "raw", "tools", "prompt", "answer", "n_turns", "content_hash")
_END = object()


def _parse_in_background(head, records, fmt, mapping, name, on_error, rejects, errors) -> Iterator[dict[str, list]]:
    """Parse and convert records in a thread, yielding column chunks to the caller (the store's transaction).

    Parsing is Python and holds the GIL; DuckDB's insert of the previous chunk releases it, so the two overlap on
    two cores. A FormatError (abort mode) or "no record imported" is raised from the generator, inside the store's
    transaction, which rolls it back.
    """
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        columns: dict[str, list] = {k: [] for k in _COLUMNS}
        good = 0
        try:
            for rec in itertools.chain(head, records):
                try:
                    c = formats.to_canonical(rec.data, fmt, mapping)
                except FormatError as ex:
                    located = ex.located(path=name, line=rec.line, record=rec.index)
                    if on_error == "abort":
                        raise located from None
                    rejects.append({"record": rec.index, "line": rec.line, "error": str(located), "data": rec.data})
                    if len(errors) < 20:
                        errors.append(str(located))
                    continue
                messages = c.messages
                columns["source_index"].append(rec.index)
                columns["raw"].append(_dumps(rec.data))
                columns["tools"].append(None if c.tools is None else _dumps(c.tools))
                columns["prompt"].append(formats.prompt_text(messages))
                columns["answer"].append(formats.answer_text(messages))
                columns["n_turns"].append(sum(1 for m in messages if m["role"] == "user"))
                columns["content_hash"].append(formats.content_hash(messages, c.tools))
                good += 1
                if len(columns["content_hash"]) >= CHUNK:
                    if not put(columns):
                        return
                    columns = {k: [] for k in _COLUMNS}
            if not good:
                raise FormatError(f"no record could be imported ({len(rejects)} rejected)", path=name)
            put(columns)
            put(_END)
        except FormatError as ex:
            put(ex.located(path=name))
        except BaseException as ex:  # a bug: hand it to the caller's thread, where it surfaces
            put(ex)

    thread = threading.Thread(target=produce, name="winnow-import-parse", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
