"""The parse of an import: read, detect, convert, and hand column chunks to the store's transaction.

It runs in a thread or in a worker process (core/importing/parsers.py) and talks to the importing side only through
``emit``: the detected format first, then Arrow record batches of :data:`_SCHEMA`, then the end. The worker process
imports this module: it must not load DuckDB.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import orjson
import pyarrow as pa

from core.errors import FormatError
from core.formats import convert
from core.formats import messages as canonical
from core.formats.detect import DETECT_SAMPLE, check_mapping, detect_format
from core.formats.readers import iter_records
from core.pause_points import pause_point
from core.progress import Progress

CHUNK = 50_000  # records per insert; parsing the next chunk overlaps DuckDB writing this one
CHUNK_BYTES = 64 << 20  # ...or fewer, once their records take this much as JSON: long records keep chunks small


class _Stopped(Exception):
    """The consumer went away (the import failed or finished early): the parser stops where it is."""


def _parse(
    path: str,
    fmt: str,
    mapping: dict | None,
    name: str,
    on_error: str,
    chunk: int,
    emit: Callable,
    progress: Progress | None = None,
) -> None:
    """Read, detect and convert ``path``, handing each step to ``emit(kind, payload)``. Runs in a thread or worker.

    Emits ``("format", fmt)`` once the first records are read, then ``("chunk", (batch, rejects, progress))`` per
    ``chunk`` good records, where ``batch`` is a ``pyarrow.RecordBatch`` of :data:`_SCHEMA`, ``rejects`` the
    records skipped since the last chunk and ``progress`` the reader's latest ``(done, total)`` or None, and finally
    ``("end", None)``. ``progress``, when given, is also called as the file is read. Raises FormatError (abort mode,
    or no good record at all) and MappingError.
    """
    try:
        _parse_records(path, fmt, mapping, name, on_error, chunk, emit, progress)
    except FormatError as ex:
        raise ex.located(path=name) from None


def _parse_records(path, fmt, mapping, name, on_error, chunk, emit, progress) -> None:
    latest: list = [None]

    def note(done: int, total: int) -> None:
        latest[0] = (done, total)
        if progress is not None:
            progress(done, total)

    records = iter_records(path, progress=note)
    head = list(itertools.islice(records, DETECT_SAMPLE))
    if not head:
        raise FormatError("file holds no records", path=path)
    if fmt == "auto":
        fmt = detect_format([r.data for r in head], path=path, lines=[r.line for r in head])
    if mapping:
        check_mapping(mapping, [r.data for r in head], path=path)
    emit("format", fmt)
    pause_point("import.parsed_head")

    # The hot loop of a big import (about 10 us a record): names bound locally, one list per column.
    to_canonical, prompt_text, answer_text = convert.to_canonical, canonical.prompt_text, canonical.answer_text
    content_hash, dumps = canonical.content_hash, orjson.dumps
    index: list[int] = []
    raw: list[bytes] = []
    tools: list[bytes | None] = []
    prompt: list[str] = []
    answer: list[str] = []
    n_turns: list[int] = []
    hashes: list[str] = []
    rejects: list[dict] = []
    good = 0
    held = 0  # bytes of JSON in the chunk being built
    for i, line, data in itertools.chain(head, records):
        try:
            c = to_canonical(data, fmt, mapping)
        except FormatError as ex:
            if on_error == "abort":
                raise ex.located(path=name, line=line, record=i) from None
            located = ex.located(path=name, line=line, record=i)
            # Counted from 1 like the message: the file's line where the record starts, and its number in the file.
            rejects.append({"record": i + 1, "line": line, "error": str(located), "data": data})
            continue
        messages = c.messages
        index.append(i)
        # default=str: Parquet and CSV extras may hold bytes, decimals or dates, which JSON has no type for.
        # Kept as bytes: Arrow takes orjson's UTF-8 as it is, without a round trip through str.
        raw.append(dumps(data, default=str))
        held += len(raw[-1])
        tools.append(None if c.tools is None else dumps(c.tools, default=str))
        if len(messages) == 2:  # most records; a valid conversation of two messages is [user, assistant]
            prompt.append(messages[0]["content"])
            answer.append(messages[1]["content"])
            n_turns.append(1)
        else:
            prompt.append(prompt_text(messages))
            answer.append(answer_text(messages))
            n_turns.append([m["role"] for m in messages].count("user"))
        hashes.append(content_hash(messages, c.tools))
        if len(hashes) >= chunk or held >= CHUNK_BYTES:
            good += len(hashes)
            held = 0
            emit("chunk", (_batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects, latest[0]))
            index, raw, tools, prompt, answer, n_turns, hashes, rejects = [], [], [], [], [], [], [], []
    good += len(hashes)
    if not good:
        # No chunk went out, so ``rejects`` holds every skipped record; nothing is written, so say why here.
        first = f"; the first: {rejects[0]['error']}" if rejects else ""
        raise FormatError(f"no record could be imported ({len(rejects)} rejected{first})", path=name)
    emit("chunk", (_batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects, latest[0]))
    emit("end", None)


_SCHEMA = pa.schema(
    [
        ("source_index", pa.int64()),
        ("raw", pa.string()),
        ("tools", pa.string()),
        ("prompt", pa.string()),
        ("answer", pa.string()),
        ("n_turns", pa.int32()),
        ("content_hash", pa.string()),
    ]
)


def _batch(index, raw, tools, prompt, answer, n_turns, hashes) -> pa.RecordBatch:
    # orjson only writes valid UTF-8, so its bytes can be viewed as strings without a check.
    return pa.record_batch(
        [
            pa.array(index, pa.int64()),
            pa.array(raw, pa.binary()).view(pa.string()),
            pa.array(tools, pa.binary()).view(pa.string()),
            pa.array(prompt, pa.string()),
            pa.array(answer, pa.string()),
            pa.array(n_turns, pa.int32()),
            pa.array(hashes, pa.string()),
        ],
        schema=_SCHEMA,
    )


def _columns(batch: pa.RecordBatch) -> dict:
    """A chunk as the store takes it: Arrow arrays pass through its ``pa.array`` calls untouched (no copy); the
    content hashes are a list because the store derives ids from them in a Python loop."""
    columns: dict = {k: batch.column(k) for k in _SCHEMA.names}
    columns["content_hash"] = columns["content_hash"].to_pylist()
    return columns
