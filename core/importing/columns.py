"""What a parse hands the store: chunks of columns (:data:`_SCHEMA`), and the exact conversion of records into them.

Both ways of parsing end here. The exact one (core/importing/parse.py) converts every record with :func:`_convert`;
the vectorised one for Alpaca JSON lines (core/importing/alpaca_lines.py) sends the lines it cannot vouch for through
the same :func:`_convert`. :class:`_Chunks` sends what either makes. The worker process imports this module: it must
not load DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import orjson
import pyarrow as pa

from core.errors import FormatError
from core.formats import convert
from core.formats import messages as canonical
from core.formats.readers import RawRecord

CHUNK_BYTES = 64 << 20  # records per chunk at most this much as JSON: long records keep chunks small

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


def _convert(
    records: Iterable[RawRecord],
    fmt: str,
    mapping: dict | None,
    name: str,
    on_error: str,
    chunk: float,
    send: Callable[[pa.RecordBatch, list[dict]], None],
) -> tuple[pa.RecordBatch, list[dict]]:
    """Convert and validate records, one at a time: the exact path, which defines what an import stores.

    Calls ``send(batch, rejects)`` each time ``chunk`` good records (or :data:`CHUNK_BYTES` of their JSON) are in,
    with the records skipped since the last call; returns the rest the same way. Raises the first bad record's
    FormatError, located, in abort mode.
    """
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
    held = 0  # bytes of JSON in the chunk being built
    for i, line, data in records:
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
            held = 0
            send(_batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects)
            index, raw, tools, prompt, answer, n_turns, hashes, rejects = [], [], [], [], [], [], [], []
    return _batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects


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


class _Chunks:
    """Sends chunks of good records as ``emit("chunk", (batch, rejects, progress))``, each with the records skipped
    since the last; ``progress`` is the reader's latest ``(done, total)``, read from ``latest[0]``."""

    def __init__(self, emit: Callable, name: str, latest: list):
        self.emit, self.name, self.latest = emit, name, latest
        self.good = 0
        self.rejects: list[dict] = []  # skipped records not sent yet: they go with the next good ones

    def send(self, batch: pa.RecordBatch, rejects: list[dict]) -> None:
        self.rejects.extend(rejects)
        if batch.num_rows:
            self.good += batch.num_rows
            self.emit("chunk", (batch, self.rejects, self.latest[0]))
            self.rejects = []

    def finish(self, batch: pa.RecordBatch, rejects: list[dict]) -> None:
        """Send the last chunk (it may be empty) and the end. Raises FormatError when no record was good."""
        self.rejects.extend(rejects)
        self.good += batch.num_rows
        if not self.good:
            # No chunk went out, so ``rejects`` holds every skipped record; nothing is written, so say why here.
            first = f"; the first: {self.rejects[0]['error']}" if self.rejects else ""
            raise FormatError(f"no record could be imported ({len(self.rejects)} rejected{first})", path=self.name)
        self.emit("chunk", (batch, self.rejects, self.latest[0]))
        self.emit("end", None)


def _columns(batch: pa.RecordBatch) -> dict:
    """A chunk as the store takes it: Arrow arrays pass through its ``pa.array`` calls untouched (no copy)."""
    return {k: batch.column(k) for k in _SCHEMA.names}


def _ints(values, type_: pa.DataType | None = None) -> pa.Array:
    """A numpy array of integers as an Arrow array, sharing its memory. Not ``pa.array``: on its first call with
    anything but Arrow data, pyarrow imports pandas (half a second) to check whether that is a pandas object."""
    type_ = type_ or pa.int64()
    values = np.ascontiguousarray(values, dtype=type_.to_pandas_dtype())
    return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)])


def _bools(mask) -> pa.Array:
    """A numpy array of booleans as an Arrow array (see :func:`_ints`)."""
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(np.packbits(mask, bitorder="little"))])


def _empty() -> pa.RecordBatch:
    return pa.record_batch([pa.nulls(0, f.type) for f in _SCHEMA], schema=_SCHEMA)
