"""The vectorised path of the most common big import: Alpaca records as JSON lines, vouched for and converted in DuckDB.

The exact path (:func:`core.importing.columns._convert`) reads, checks and converts one record at a time in Python,
about 8 us a record. Here the file is read in blocks and each block's lines go to DuckDB as one Arrow column: one
regular expression, :data:`LINE`, vouches for the lines whose stored columns SQL can compute exactly, and SQL computes
them (about 4 us a line in all, hashes included). Every other line (other keys or key orders, values that are not strings, control
characters, \\b or \\f escapes, whitespace inside the object, blank lines, invalid JSON or UTF-8, lines over the size
limit) goes to the exact path, in file order: errors, rejects, record numbers and lines are the exact path's.

Why a vouched line is stored as the exact path stores it:

- :data:`LINE` matches a strict subset of JSON (orjson reads every such line): one object, keys "instruction",
  "input" (optional) and "output" in that order, no whitespace, string values made of characters other than '"',
  '\\' and control characters, and the escapes \\" \\\\ \\/ \\n \\r \\t and \\uXXXX (not a control character other
  than tab, newline and carriage return, not a lone surrogate). So orjson and DuckDB read the same strings, and the
  Alpaca converter accepts them.
- raw is ``orjson.dumps`` of the record: the line itself when it has no \\u or \\/ escape (orjson writes exactly such
  strings back), otherwise the line as DuckDB's ``json()`` writes it, which escapes the same characters the same way
  (only '"', '\\' and control characters; tests/test_alpaca_lines.py checks it).
- The content hash is the SHA-256 of ``[{"content": user, "role": "user"}, {"content": output, "role": "assistant"}]``
  as orjson writes it. The JSON text of user and output is cut from raw: in a raw that LINE matches, '","input":"' and
  '","output":"' occur only between the values (inside a value every '"' follows a '\\'), and the text of
  ``instruction + "\\n" + input`` is the two texts joined by the two characters \\n.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.formats.readers import _BOM, _LINE_LIMIT, RawRecord, _too_long, jsonl_record
from core.importing.columns import _SCHEMA, _bools, _Chunks, _convert, _empty, _ints

BLOCK_BYTES = 16 << 20  # read at a time; a block's lines go to DuckDB in slices of at most ``chunk`` lines

_H = "[0-9a-fA-F]"
# A \uXXXX escape of tab, newline, carriage return, U+0020..U+FFFF but the surrogates, or a surrogate pair.
_UNICODE = (
    rf"\\u(?:00(?:0[9aAdD]|[2-9a-fA-F]{_H})|0[1-9a-fA-F]{_H}{{2}}|[1-9a-cA-C]{_H}{{3}}|[dD][0-7]{_H}{{2}}"
    rf"|[eEfF]{_H}{{3}}|[dD][89abAB]{_H}{{2}}\\u[dD][c-fC-F]{_H}{{2}})"
)
_STRING = rf'"(?:[^"\\\x00-\x1f]|\\["\\/nrt]|{_UNICODE})*"'
LINE = rf'\{{"instruction":{_STRING}(?:,"input":{_STRING})?,"output":{_STRING}\}}'

# Over a table ``lines(line)``: whether LINE vouches for each line and, where it does, the stored columns: raw where it
# is not the line itself (``rewritten``), and the JSON the content hash is of (:func:`_sha256`), which is raw with its
# keys replaced, as each occurs once, and chr(1), which no line holds, marking raw's end. A SQL string has no escapes:
# '\n' below is the two characters of JSON's newline escape, chr(10) a newline.
_SQL = r"""
SELECT ok, rewritten,
    v[1] || CASE WHEN v[1] <> '' AND v[2] <> '' THEN chr(10) ELSE '' END || coalesce(v[2], '') AS prompt,
    v[3] AS answer,
    CASE WHEN ok THEN replace(replace(replace(replace(raw || chr(1),
        '{"instruction":"', '[{"content":"'),
        '","input":"', CASE WHEN v[1] = '' OR coalesce(v[2], '') = '' THEN '' ELSE '\n' END),
        '","output":"', '","role":"user"},{"content":"'),
        '"}' || chr(1), '","role":"assistant"}]') END AS hashed
FROM (
    SELECT ok, rewritten, raw, CASE WHEN ok THEN json_extract_string(raw, ['$.instruction', '$.input', '$.output']) END AS v
    FROM (
        SELECT ok, rewritten, coalesce(rewritten, line) AS raw
        FROM (
            SELECT ok, line,
                CASE WHEN ok AND (contains(line, '\u') OR contains(line, '\/')) THEN CAST(json(line) AS VARCHAR)
                END AS rewritten
            FROM (SELECT line, regexp_full_match(line, $1) AS ok FROM lines)
        )
    )
)
"""


class _Block:
    """Whole lines of the file: their bytes, and the same lines as Arrow strings without the whitespace around them
    (JSON's: orjson reads a line the same with it or without)."""

    def __init__(self, buf: bytearray, newline: np.ndarray, offset: int, lineno: int, size: int, final: bool):
        self.buf, self.offset, self.lineno = buf, offset, lineno
        a = np.frombuffer(buf, np.uint8, count=size)
        ends = np.flatnonzero(np.equal(a, 10, out=newline[:size]))  # each line's newline: its text ends there
        if final and (not len(ends) or ends[-1] != size - 1):  # the file's last line, with no newline
            ends = np.append(ends, size)
        self.n = len(ends)
        self.starts = np.concatenate(([0], ends[:-1] + 1))
        self.stops = np.minimum(ends + 1, size)  # where each line's bytes end, after its newline
        offsets = pa.py_buffer(np.append(self.starts, size).astype(np.int32))
        lines = pa.StringArray.from_buffers(self.n, offsets, pa.py_buffer(buf))
        try:
            lines.validate(full=True)  # valid UTF-8: DuckDB takes Arrow strings without a check
            # A copy in Arrow's memory, which it reuses: the buffer is read into again for the next block.
            self.lines = pc.utf8_trim(lines, characters=" \t\r\n")
        except pa.ArrowInvalid:
            self.lines = None  # the exact path finds and names the bad byte
        # Over the size limit: the exact path refuses them.
        self.short = (ends - self.starts) < _LINE_LIMIT

    def line(self, k: int) -> bytes:
        return bytes(self.buf[self.starts[k] : self.stops[k]])


def _blocks(path: str) -> Iterator[_Block]:
    """The file's lines, a block of whole lines at a time (the last line may lack its newline); a UTF-8 byte order
    mark is skipped. A line over the size limit stops the read as soon as it is seen. One buffer is read into
    again and again (a block is done with when the next is asked for): fresh memory would cost page faults."""
    with open(path, "rb", buffering=0) as f:
        offset = 3 if f.read(3) == _BOM else 0  # the file offset of the block's first byte
        f.seek(offset)
        lineno = 1
        buf = bytearray(BLOCK_BYTES)
        newline = np.empty(len(buf), bool)
        held = 0  # bytes of an unfinished line at the start of buf
        while True:
            if held == len(buf):  # a line longer than the buffer
                if held >= _LINE_LIMIT:
                    raise _too_long(path, lineno)
                buf = buf + bytearray(min(len(buf), _LINE_LIMIT - len(buf)))
                newline = np.empty(len(buf), bool)
            n = f.readinto(memoryview(buf)[held:])
            size = held + n
            if not n:
                if size:
                    yield _Block(buf, newline, offset, lineno, size, final=True)
                return
            cut = buf.rfind(b"\n", 0, size) + 1
            if not cut:
                held = size
                continue
            block = _Block(buf, newline, offset, lineno, cut, final=False)
            yield block
            held = size - cut
            buf[:held] = buf[cut:size]
            offset += cut
            lineno += block.n


def _parse_alpaca_lines(path: str, name: str, on_error: str, chunk: int, chunks: _Chunks, note: Callable) -> None:
    """Parse an Alpaca JSON Lines file, handing its column chunks to ``chunks``; ``note(done, total)`` reports bytes
    read. Stores what :func:`core.importing.columns._convert` would, and raises what it would."""
    size = os.path.getsize(path)
    con = duckdb.connect(config={"threads": 1})  # the other core is DuckDB inserting the previous chunk
    try:
        index = 0  # records so far: blank lines are no record
        for block in _blocks(path):
            for start in range(0, block.n, chunk):
                stop = min(start + chunk, block.n)
                batch, rejects, records = _convert_slice(con, block, start, stop, index, path, name, on_error)
                index += records
                chunks.send(batch, rejects)
                note(block.offset + int(block.stops[stop - 1]), size)
    finally:
        con.close()
    note(size, size)
    chunks.finish(_empty(), [])


def _convert_slice(
    con, block: _Block, start: int, stop: int, index: int, path: str, name: str, on_error: str
) -> tuple[pa.RecordBatch, list[dict], int]:
    """Lines ``start:stop`` of a block, whose first record is number ``index``: their batch, the records skipped and
    how many records the lines hold. Reading errors name ``path``, bad records ``name``, as on the exact path."""
    n = stop - start
    ok = np.zeros(n, bool)
    if block.lines is not None:
        lines = block.lines.slice(start, n)
        con.register("lines", pa.table({"line": lines}))
        try:
            computed = con.sql(_SQL, params=[LINE]).to_arrow_table()
        finally:
            con.unregister("lines")
        ok = _numpy_bools(computed.column("ok").combine_chunks()) & block.short[start:stop]
    blank = np.zeros(n, bool)
    exact: list[pa.RecordBatch] = []
    rejects: list[dict] = []
    if not ok.all():

        def records() -> Iterator[RawRecord]:
            # The lines LINE left, read as iter_records reads them and in order, so that errors come in file order.
            blanks = 0
            for k in np.flatnonzero(~ok).tolist():
                line, lineno, i = block.line(start + k), block.lineno + start + k, index + k - blanks
                data = jsonl_record(line, lineno, i, block.offset + int(block.starts[start + k]), path)
                if data is None:
                    blank[k] = True
                    blanks += 1
                    continue
                yield RawRecord(i, lineno, data)

        def keep(batch: pa.RecordBatch, skipped: list[dict]) -> None:
            exact.append(batch)
            rejects.extend(skipped)

        keep(*_convert(records(), "alpaca", None, name, on_error, math.inf, keep))
    records_in = n - int(blank.sum())
    if not ok.any():
        return _one_batch(pa.Table.from_batches(exact, schema=_SCHEMA)), rejects, records_in
    numbers = index + np.arange(n) - (np.cumsum(blank) - blank)  # each line's record number
    rewritten = computed.column("rewritten").combine_chunks()
    raw = lines if rewritten.null_count == n else pc.if_else(pc.is_null(rewritten), lines, rewritten)
    kept = computed if ok.all() else computed.filter(_bools(ok))
    m = kept.num_rows
    vouched = pa.record_batch(
        [
            _ints(numbers[ok]),
            _string(raw if ok.all() else raw.filter(_bools(ok))),
            pa.nulls(m, pa.string()),
            _string(kept.column("prompt")),
            _string(kept.column("answer")),
            _ints(np.ones(m), pa.int32()),
            _sha256(kept.column("hashed").combine_chunks()),
        ],
        schema=_SCHEMA,
    )
    if not exact:
        return vouched, rejects, records_in
    both = pa.Table.from_batches([vouched, *exact], schema=_SCHEMA)
    return _one_batch(both.take(pc.sort_indices(both.column("source_index")))), rejects, records_in


def _numpy_bools(array: pa.BooleanArray) -> np.ndarray:
    # Not to_numpy(): it imports pandas (see columns._ints). No null here: a regular expression matches or not.
    bits = np.frombuffer(array.buffers()[1], np.uint8)
    return np.unpackbits(bits, count=array.offset + len(array), bitorder="little")[array.offset :].astype(bool)


def _sha256(texts: pa.StringArray) -> pa.StringArray:
    """The SHA-256 of each text, in hex digits. Here rather than DuckDB's sha256(): Python's uses the CPU's SHA
    instructions, and takes 0.9 us a record against 1.4."""
    offsets = np.frombuffer(texts.buffers()[1], np.int32, count=len(texts) + 1, offset=texts.offset * 4).tolist()
    data = memoryview(texts.buffers()[2])
    sha256 = hashlib.sha256
    digests = np.frombuffer(b"".join([sha256(data[a:b]).digest() for a, b in itertools.pairwise(offsets)]), np.uint8)
    hexed = np.empty(2 * len(digests), np.uint8)
    hexed[0::2] = _HEX[digests >> 4]
    hexed[1::2] = _HEX[digests & 15]
    offsets = pa.py_buffer(np.arange(0, 64 * len(texts) + 1, 64, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), len(texts), [None, offsets, pa.py_buffer(hexed)])


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _string(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return array if array.type == pa.string() else array.cast(pa.string())


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else _empty()
