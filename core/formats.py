"""Sample formats: reading files, detecting the format, and converting records to and from canonical messages.

A sample in Winnow is a list of messages, each ``{"role": ..., "content": str}`` with role one of ``system``, ``user``,
``assistant`` or ``tool``, plus the tool definitions it was given and the record's unknown top-level keys
(:class:`Canonical`). Every file format converts to that form and back:

    format              a record looks like
    alpaca              {"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...]}
    sharegpt            {"conversations" (or "messages"): [{"from", "value"}, ...], "system"?, "tools"?}
    openai              {"messages": [{"role", "content", ...}, ...], "tools"?}
    prompt-completion   {"prompt", "completion"}: two strings, or two message lists (TRL's conversational form)
    mapped              any other record, through a mapping {"prompt": FIELD, "response": FIELD, "system"?, "history"?}

The path through this module for one file is ``iter_records`` -> ``detect_format`` on the first records ->
``to_canonical`` per record; the export path is ``from_canonical``. Everything here is pure: no database, no UI.

Decisions worth knowing:

- Alpaca's user turn is ``instruction + "\\n" + input`` (``input`` alone when the instruction is empty), as
  LLaMA-Factory builds it. Splitting it back needs the original record (``raw``), see :func:`from_canonical`.
- A message keeps the extra keys its format gave it (OpenAI ``tool_calls``, ``name``, ``tool_call_id``, a ShareGPT
  turn's extra keys). A ShareGPT turn whose ``from`` is not the usual tag for its role (``function_call``, or aliases
  such as ``user``) keeps that tag in ``sharegpt_from``, so it exports back unchanged. ``function_call`` turns are
  assistant tool calls and ``observation`` turns are ``tool`` messages.
- Conversations are validated the same way for every format: optional system messages first, then user and assistant
  alternate, ``tool`` messages may only follow an assistant tool call (or another tool message), and the last message
  is the assistant's. Empty strings are allowed (quality filters judge them); C0 control characters other than tab,
  newline and carriage return are rejected, because they are almost always broken data and upset tokenizers.
- Empty format fields (``"system": ""``, ``"history": []``, ``"tools": ""``) make no message. ``from_canonical`` puts
  them back when it is given the original record, so round trips are exact.
- Every problem raises :class:`~core.errors.FormatError` naming the field; file readers add path, line and record.
  ``to_canonical`` errors carry only the field: the caller adds the rest with ``err.located(...)``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from core import json_array
from core.errors import FormatError, MappingError

FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion", "mapped")
# ``from_canonical`` also writes "mapped" when it is given a mapping; Parquet is a container the exporter handles.
EXPORT_FORMATS = ("alpaca", "sharegpt", "openai", "prompt-completion")
ROLES = ("system", "user", "assistant", "tool")
MAPPING_KEYS = ("prompt", "response", "system", "history")
DETECT_SAMPLE = 50  # records detect_format looks at

Progress = Callable[[int, int], None]


class RawRecord(NamedTuple):
    """One record as read from a file.

    Attributes:
        index: 0-based position among the file's records (blank lines do not count).
        line: 1-based line where the record starts (JSON, JSON Lines, CSV); None for Parquet.
        data: the record, a dict exactly as parsed.
    """

    index: int
    line: int | None
    data: dict


@dataclass(slots=True)
class Canonical:
    """A sample in canonical form.

    Attributes:
        messages: ``[{"role", "content", ...extra keys}]``, validated (see the module docstring).
        tools: tool definitions as the record gave them (a list, or ShareGPT's JSON string); None when absent or empty.
        extras: the record's top-level keys the format does not know (``id``, ``category``...), written back on export.
    """

    messages: list[dict]
    tools: object | None = None
    extras: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------------
# Reading files

_BOM = b"\xef\xbb\xbf"
_HEAD_BYTES = 8192
# The most one record may take: a JSON Lines line, a CSV row, an element of a JSON array, a JSON file of one object.
# Bigger ones are refused with their line, before they are read into memory: no real SFT sample comes near it.
MAX_RECORD_MB = 64
MAX_RECORD_BYTES = MAX_RECORD_MB << 20
_LINE_LIMIT = MAX_RECORD_BYTES + 1  # a line read with this limit that fills it without a newline is too long
# Parquet rows are decoded a slice at a time, each slice's text at most this many bytes once decoded: dictionary and
# run-length encoding let a small file hold many GB of repeated text (see _decoded_rows).
PARQUET_BATCH_ROWS = 256
MAX_PARQUET_BATCH_BYTES = 256 << 20
PARQUET_EXPANSION = 100
_PROGRESS_EVERY = 4096  # records between progress calls: often enough for a progress bar, cheap enough to ignore
_WHITESPACE_ONLY = re.compile(rb"[ \t\r\n]*\Z")
_FIRST_TEXT = re.compile(rb"[ \t\r\n]*(.)", re.DOTALL)
_JSON_EXTS = {".json"}
_JSONL_EXTS = {".jsonl", ".ndjson"}
_CSV_EXTS = {".csv": ",", ".tsv": "\t"}
_MESSAGE_LIST_KEYS = {"conversations", "messages", "prompt", "completion"}
_csv_limit_raised = False


def iter_records(path: str | os.PathLike, *, progress: Progress | None = None) -> Iterator[RawRecord]:
    """Yield the records of a JSON, JSON Lines, CSV/TSV or Parquet file, one dict each.

    The extension picks the reader unless the content says otherwise: a ``.json`` file holding one object per line is
    read as JSON Lines, a ``.jsonl`` file starting with ``[`` as a JSON array, and a file starting with Parquet's magic
    bytes as Parquet. Other extensions are sniffed from the content. A UTF-8 byte order mark is skipped.

    - JSON: an array of objects, streamed a record at a time (core/json_array.py), each with the line it starts on.
      An object whose only key holds a list (``{"data": [...]}``) yields that list; any other object is a file of
      one record.
    - JSON Lines: one object per line, streamed; blank lines are skipped. A huge line costs its own size, no more.
    - CSV/TSV: a header row, then one record per row, every value a string. Quoted fields may span lines; ``line`` is
      where the record starts. Quoting is strict: a quote that never closes, or text after a closing quote, is an
      error rather than a field that silently runs on.
    - Parquet: read by batches with pyarrow; nested columns become lists and dicts.

    Args:
        path: the file.
        progress: called now and then as ``progress(done, total)``: bytes for JSON, JSON Lines and CSV, records for
            Parquet. Only the ratio is meant for display.

    Returns:
        An iterator of :class:`RawRecord`.

    Raises:
        FormatError: naming the file, the line and/or record, and what was expected: unreadable or empty file, binary
            data, invalid UTF-8 (with its byte offset), invalid JSON (with line and column), a record that is not an
            object, a CSV row with the wrong number of fields or a broken quote, a file Parquet cannot read, a record
            over :data:`MAX_RECORD_MB`, a Parquet batch over :data:`MAX_PARQUET_BATCH_BYTES` once decoded.
    """
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        with open(name, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as e:
        raise FormatError(f"cannot read the file: {e.strerror or e}", path=name) from None
    kind = _container(name, head, size)
    if kind == "parquet":
        yield from _iter_parquet(name, progress)
    elif kind == "json":
        yield from _iter_json(name, progress)
    elif kind == "jsonl":
        yield from _iter_jsonl(name, size, progress)
    else:
        yield from _iter_csv(name, size, progress, delimiter=kind)


def _container(name: str, head: bytes, size: int) -> str:
    """Return "parquet", "json", "jsonl" or a CSV delimiter for the file, or raise if it cannot be read as text."""
    ext = os.path.splitext(name)[1].lower()
    if head.startswith(b"PAR1") or ext == ".parquet":
        return "parquet"
    text = head[3:] if head.startswith(_BOM) else head
    binary = _binary_kind(text)
    if binary:
        raise FormatError(f"not a UTF-8 text file: it looks like {binary}", path=name)
    first = _FIRST_TEXT.match(text)
    if first is None:
        if size <= len(head):
            raise FormatError("file is empty", path=name)
        # More than 8 KiB of whitespace: let the line reader find out whether anything follows.
        return "jsonl"
    char = first.group(1)
    if char == b"[" and ext not in _CSV_EXTS:
        return "json"
    if ext in _JSONL_EXTS:
        return "jsonl"
    if ext in _JSON_EXTS:
        return "jsonl" if char == b"{" and _first_line_is_object(text) else "json"
    if ext in _CSV_EXTS:
        return _CSV_EXTS[ext]
    if char == b"{":
        return "jsonl" if _first_line_is_object(text) else "json"
    first_line = text.split(b"\n", 1)[0]
    if b"\t" in first_line and b"," not in first_line:
        return "\t"
    if b"," in first_line:
        return ","
    raise FormatError(
        "cannot tell what kind of file this is (not JSON, JSON Lines, CSV or Parquet); "
        "name it .json, .jsonl, .csv or .parquet",
        path=name,
    )


def _binary_kind(head: bytes) -> str | None:
    """Describe what a non-text file looks like, or return None for text."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data (decompress it first)"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive, e.g. an Excel workbook (save it as CSV)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
        return "UTF-16 text (save it as UTF-8)"
    if b"\x00" in head:
        return "binary data (it contains NUL bytes)"
    return None


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte order mark: mostly-ASCII text leaves every other byte zero."""
    if len(head) < 8:
        return False
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    return max(even, odd) > 0.9 * half and min(even, odd) < 0.1 * half


def _first_line_is_object(text: bytes) -> bool:
    """True when the first line is a whole JSON object and more text follows: JSON Lines, whatever the extension."""
    line, sep, rest = text.lstrip().partition(b"\n")
    if not sep or not rest.strip():
        return False
    try:
        return type(orjson.loads(line)) is dict
    except orjson.JSONDecodeError:
        return False


def _iter_json(name: str, progress: Progress | None) -> Iterator[RawRecord]:
    size = os.path.getsize(name)
    with open(name, "rb") as f:
        head = f.read(_HEAD_BYTES)
        bom = 3 if head.startswith(_BOM) else 0
        first = _FIRST_TEXT.match(head, bom)
        opening = first.group(1) if first else b""
        key = json_array.wrapper_key(head[first.start(1) :].decode("utf-8", "ignore")) if opening == b"{" else None
        if opening == b"[" or (key is not None and key not in _RECORD_LIST_KEYS):
            yield from _iter_json_array(f, name, bom, size, progress)
            return
    # One object (a record), or not JSON at all: read whole, which one record's limit bounds.
    if size > MAX_RECORD_BYTES:
        if opening == b"{":  # objects one after another: JSON Lines whose first line was too long to sniff
            yield from _iter_jsonl(name, size, progress)
            return
        raise FormatError(
            f"not a JSON array of records, and over {MAX_RECORD_MB} MB as one document; save the records as a "
            "JSON array or JSON lines",
            path=name,
        )
    with open(name, "rb") as f:
        data = f.read()[bom:]
    if _WHITESPACE_ONLY.match(data):
        raise FormatError("file is empty", path=name)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if e.msg == "unexpected content after document" and opening == b"{":
            # Objects one after another: JSON Lines whose first line was too long to sniff.
            del data
            yield from _iter_jsonl(name, size, progress)
            return
        raise _json_error(e, data, name, bom) from None
    if type(doc) is not dict:
        raise FormatError(f"expected a JSON array of objects, got {_type_name(doc)}", path=name, line=1)
    yield RawRecord(0, 1, doc)
    if progress is not None:
        progress(size, size)


# Keys whose value is a list inside a record: a file ``{"messages": [...]}`` is one record, not a wrapper of records.
_RECORD_LIST_KEYS = _MESSAGE_LIST_KEYS | {"history", "tools"}


def _iter_json_array(f, name: str, bom: int, size: int, progress: Progress | None) -> Iterator[RawRecord]:
    index = 0
    for line, record in json_array.iter_array(
        f, name, offset=bom, size=size, max_record=MAX_RECORD_BYTES, progress=progress
    ):
        if type(record) is not dict:
            raise FormatError(f"expected a JSON object, got {_type_name(record)}", path=name, line=line, record=index)
        yield RawRecord(index, line, record)
        index += 1
    if not index:
        raise FormatError("file holds no records (an empty JSON array)", path=name)


def _json_error(e: orjson.JSONDecodeError, data: bytes, name: str, bom: int) -> FormatError:
    if "UTF-8" in e.msg:
        return _utf8_error(data, name, bom)
    return FormatError(f"invalid JSON at column {e.colno}: {e.msg}", path=name, line=e.lineno)


def _utf8_error(data: bytes, name: str, base: int, line: int | None = None) -> FormatError:
    """Locate the first invalid UTF-8 byte in ``data`` (which starts at file offset ``base``)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as u:
        start = u.start
    else:  # orjson also calls lone surrogates (escaped as \ud800) invalid UTF-8
        return FormatError("invalid UTF-8 (a lone surrogate escape?); save the file as UTF-8", path=name, line=line)
    line_start = data.rfind(b"\n", 0, start) + 1
    if line is None:
        line = data.count(b"\n", 0, start) + 1
    return FormatError(
        f"invalid UTF-8 at byte offset {base + start} (byte {start - line_start + 1} of the line, "
        f"{data[start : start + 1]!r}); save the file as UTF-8",
        path=name,
        line=line,
    )


def _iter_jsonl(name: str, size: int, progress: Progress | None) -> Iterator[RawRecord]:
    index = 0
    with open(name, "rb") as f:
        if f.read(3) != _BOM:
            f.seek(0)
        for lineno, line in enumerate(iter(lambda: f.readline(_LINE_LIMIT), b""), 1):
            if len(line) == _LINE_LIMIT and not line.endswith(b"\n"):
                raise _too_long(name, lineno)
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                if _WHITESPACE_ONLY.match(line):
                    continue
                raise _jsonl_error(e, line, lineno, f.tell() - len(line), name) from None
            if type(record) is not dict:
                hint = " (a JSON array? name the file .json)" if type(record) is list else ""
                raise FormatError(
                    f"expected one JSON object per line, got {_type_name(record)}{hint}",
                    path=name,
                    line=lineno,
                    record=index,
                )
            yield RawRecord(index, lineno, record)
            index += 1
            if progress is not None and not index % _PROGRESS_EVERY:
                progress(f.tell(), size)
    if not index:
        raise FormatError("file is empty", path=name)
    if progress is not None:
        progress(size, size)


def _too_long(name: str, line: int) -> FormatError:
    return FormatError(
        f"a line over {MAX_RECORD_MB} MB, the most one record may hold; split the record, or check the file",
        path=name,
        line=line,
    )


def _jsonl_error(e: orjson.JSONDecodeError, line: bytes, lineno: int, offset: int, name: str) -> FormatError:
    if "UTF-8" in e.msg:
        return _utf8_error(line, name, offset, lineno)
    hint = ""
    if lineno == 1 and line.strip() in (b"[", b"{"):
        hint = " (pretty-printed JSON? name the file .json)"
    return FormatError(f"invalid JSON at column {e.colno}: {e.msg}{hint}", path=name, line=lineno)


def _iter_csv(name: str, size: int, progress: Progress | None, delimiter: str) -> Iterator[RawRecord]:
    global _csv_limit_raised
    if not _csv_limit_raised:
        # The csv module refuses fields over 128 KiB by default; long answers are legitimate, up to one record's limit.
        csv.field_size_limit(MAX_RECORD_BYTES)
        _csv_limit_raised = True
    with open(name, "rb") as f:

        def text_lines() -> Iterator[str]:
            for n, raw in enumerate(iter(lambda: f.readline(_LINE_LIMIT), b""), 1):
                if len(raw) == _LINE_LIMIT and not raw.endswith(b"\n"):
                    raise _too_long(name, n)
                offset = f.tell() - len(raw)
                if n == 1 and raw.startswith(_BOM):
                    raw, offset = raw[3:], 3
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _utf8_error(raw, name, offset, n) from None

        # strict: a quote that never closes is an error, not a field that silently swallows the rest of the file.
        reader = csv.reader(text_lines(), delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
            while header == []:
                header = next(reader, None)
        except csv.Error as e:
            raise FormatError(_csv_problem(e), path=name, line=reader.line_num) from None
        if header is None:
            raise FormatError("file is empty", path=name)
        header_line = reader.line_num
        seen = set()
        for column in header:
            if column in seen:
                raise FormatError(f"the header names column '{column}' twice", path=name, line=header_line)
            seen.add(column)
        index = 0
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                # An unclosed quote is reported where its record starts; any other error where the reader stopped.
                line = start if "end of data" in str(e) else reader.line_num
                raise FormatError(_csv_problem(e), path=name, line=line, record=index) from None
            if not row:
                continue
            if len(row) != len(header):
                raise FormatError(
                    f"expected {len(header)} fields as in the header ({', '.join(header)}), got {len(row)}",
                    path=name,
                    line=start,
                    record=index,
                )
            yield RawRecord(index, start, dict(zip(header, row)))
            index += 1
            if progress is not None and not index % _PROGRESS_EVERY:
                progress(f.tell(), size)
    if not index:
        raise FormatError("file has a header row but no records", path=name, line=header_line)
    if progress is not None:
        progress(size, size)


def _csv_problem(e: csv.Error) -> str:
    if "field larger than field limit" in str(e):
        return f"a field over {MAX_RECORD_MB} MB, the most one record may hold; check the file's quoting"
    if "end of data" in str(e):
        return "invalid CSV: a quoted field starts in this record and is never closed (a missing '\"'?)"
    if "expected after" in str(e):
        return f'invalid CSV: {e} (a \'"\' inside a quoted field must be doubled: "")'
    return f"invalid CSV: {e}"


def _iter_parquet(name: str, progress: Progress | None) -> Iterator[RawRecord]:
    """Parquet rows, decoded a slice at a time with their text measured first.

    Dictionary and run-length encoding let a file of kilobytes hold terabytes of one repeated text. So text columns
    are read as dictionaries, each row's decoded text is measured from them before anything is decoded, and: a row
    over :data:`MAX_RECORD_BYTES` is refused; rows are decoded in slices of at most
    :data:`MAX_PARQUET_BATCH_BYTES`; and a file whose text decodes to more than :data:`PARQUET_EXPANSION` times its
    own size (and over 1 GB) is refused, since no real SFT file compresses that well.
    """
    import numpy as np
    import pyarrow as pa  # heavy: only when a Parquet file is read
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(name)
        text = [f.name for f in parquet.schema_arrow if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        if text:
            parquet = pq.ParquetFile(name, read_dictionary=text)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise FormatError(f"not a readable Parquet file: {e}", path=name) from None
    total = parquet.metadata.num_rows
    if not total:
        raise FormatError("file holds no records (a Parquet file with no rows)", path=name)
    allowed = max(1 << 30, PARQUET_EXPANSION * os.path.getsize(name))
    decoded = 0
    index = 0
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                break
            sizes = _text_sizes(batch)
            big = np.flatnonzero(sizes > MAX_RECORD_BYTES)
            if big.size:
                raise FormatError(
                    f"holds {int(sizes[big[0]]) >> 20:,} MB of text once decoded, over the {MAX_RECORD_MB} MB one "
                    "record may hold; check the file",
                    path=name,
                    record=index + int(big[0]),
                )
            # nested columns (lists of messages) cannot be read as dictionaries: they are decoded already, so count them
            decoded += int(sizes.sum()) + sum(c.nbytes for c in batch.columns if not pa.types.is_dictionary(c.type))
            if decoded > allowed:
                raise FormatError(
                    f"its first {index + batch.num_rows:,} rows already decode to {decoded >> 20:,} MB of text, over "
                    f"{PARQUET_EXPANSION} times the file's size: a small file repeating long texts is not SFT data; "
                    "check the file",
                    path=name,
                )
            slices = list(_slices(sizes))
        except MemoryError:  # pyarrow's own too: the worker process that parses uploads has a memory cap
            raise FormatError(
                f"rows from {index + 1} on need more memory to decode than the import may use; check the file",
                path=name,
            ) from None
        except (pa.ArrowException, OSError, ValueError) as e:
            raise FormatError(f"cannot read the Parquet file: {e}", path=name, record=index) from None
        for start, stop in slices:
            piece = batch.slice(start, stop - start)
            columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in piece.columns]
            for row in pa.RecordBatch.from_arrays(columns, names=piece.schema.names).to_pylist():
                yield RawRecord(index, None, row)
                index += 1
        if progress is not None:
            progress(index, total)


def _text_sizes(batch):
    """Each row's text in bytes once its dictionary columns are decoded, computed from the dictionaries alone."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            per_row = pc.take(pc.binary_length(column.dictionary), column.indices)
            sizes += per_row.fill_null(0).to_numpy(zero_copy_only=False)
    return sizes


def _slices(sizes) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, stop)`` row ranges whose sizes add up to at most MAX_PARQUET_BATCH_BYTES (or one row)."""
    import numpy as np

    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + MAX_PARQUET_BATCH_BYTES, side="right")), start + 1)
        yield start, stop
        start = stop


# --------------------------------------------------------------------------------------------------------------------
# Detection


def detect_format(
    records: list[dict], *, path: str | None = None, mapping: dict | None = None, lines: list[int | None] | None = None
) -> str:
    """Return the one format that fits the first :data:`DETECT_SAMPLE` records.

    Records that fit no format are left for ``to_canonical`` to report; the others must agree on exactly one format.

    Args:
        records: the first records of a file (more than DETECT_SAMPLE is fine; the rest are ignored).
        path: the file, for messages.
        mapping: a field mapping; when given, it is checked against the records and "mapped" is returned.
        lines: the 1-based line where each record starts (None where unknown), to name records in messages; without
            it records are named by their 1-based number.

    Raises:
        FormatError: several formats fit (it lists them and says how to choose), records disagree, or none fits (it
            lists the keys found and suggests a mapping).
        MappingError: the mapping is malformed or names fields the records lack.
    """
    if mapping is not None:
        check_mapping(mapping, records, path=path)
        return "mapped"
    sample = records[:DETECT_SAMPLE]
    if not sample:
        raise FormatError("no records to detect the format from", path=path)
    fits = [(i, _formats_of(r)) for i, r in enumerate(sample)]
    matched = [(i, f) for i, f in fits if f]
    if not matched:
        keys = _keys_of(sample)
        raise FormatError(
            f"no known format fits these records (keys found: {', '.join(keys)}). Alpaca needs instruction and "
            "output, ShareGPT conversations, OpenAI messages, prompt-completion prompt and completion. To import "
            "other fields, map them: --map prompt=FIELD,response=FIELD on the command line, or the Mapping box on "
            "the Import page",
            path=path,
        )
    common = set.intersection(*(f for _, f in matched))
    if len(common) == 1:
        return common.pop()
    if common:
        names = ", ".join(f for f in FORMATS if f in common)
        raise FormatError(
            f"the records fit several formats: {names}. Choose one with --format NAME on the command line, or the "
            "Format box on the Import page",
            path=path,
        )
    (i, first), (j, other) = matched[0], next((j, f) for j, f in matched if not f & matched[0][1])

    def place(k: int) -> str:
        line = lines[k] if lines is not None and k < len(lines) else None
        return f"line {line}" if line is not None else f"record {k + 1}"

    raise FormatError(
        f"records look like different formats: {place(i)} fits {_names(first)}, {place(j)} fits {_names(other)}. A "
        "file must hold one format: split it, or choose one with --format NAME (the Format box on the Import page)",
        path=path,
    )


def _formats_of(record: dict) -> set[str]:
    fits = set()
    if "instruction" in record and "output" in record:
        fits.add("alpaca")
    if type(record.get("conversations")) is list:
        fits.add("sharegpt")
    messages = record.get("messages")
    if type(messages) is list and messages and type(messages[0]) is dict:
        if "from" in messages[0] or "value" in messages[0]:
            fits.add("sharegpt")
        elif "role" in messages[0]:
            fits.add("openai")
    if "prompt" in record and "completion" in record:
        fits.add("prompt-completion")
    return fits


def _keys_of(records: list[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    return list(keys)


def _names(formats: set[str]) -> str:
    return " and ".join(f for f in FORMATS if f in formats)


# --------------------------------------------------------------------------------------------------------------------
# Validation shared by the formats

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_has_control = _CONTROL.search
_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 or b in (0x09, 0x0A, 0x0D))


def _controls_in(text: str) -> bool:
    """True when ``text`` holds a C0 control character other than tab, newline and carriage return.

    Deleting every other byte from the UTF-8 leaves only the control characters (bytes of multi-byte sequences are
    all >= 0x80). On one string joined from a record's texts this is about 3x faster than a regex search per string;
    the regex then finds the culprit in the rare record that has one.
    """
    return bool(text.encode("utf-8", "surrogatepass").translate(None, _NOT_CONTROL))


def _raise_control(texts: list[str], fields: list[str]) -> None:
    for text, name in zip(texts, fields):
        if _has_control(text):
            raise _control_error(text, name)


_ROLE_SET = frozenset(ROLES)
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "a list",
    dict: "an object",
}
_MISSING = object()


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _type_error(value: object, field: str, expected: str = "a string") -> FormatError:
    hint = ""
    if type(value) is list and expected == "a string":
        hint = " (lists of content parts, e.g. images, are not supported)"
    return FormatError(f"expected {expected}, got {_type_name(value)}{hint}", field=field)


def _control_error(text: str, field: str) -> FormatError:
    m = _CONTROL.search(text)
    return FormatError(
        f"contains control character U+{ord(m.group()):04X} at character {m.start() + 1}; only tab, newline and "
        "carriage return are allowed",
        field=field,
    )


def _missing(name: str, needs: str, record: dict) -> FormatError:
    found = ", ".join(map(str, record)) or "none"
    return FormatError(f"required field is missing ({needs}; keys found: {found})", field=name)


def _is_tool_call(message: dict) -> bool:
    return bool(
        message.get("tool_calls") or message.get("function_call") or message.get("sharegpt_from") == "function_call"
    )


def _check_order(
    messages: list[dict],
    field_of: Callable[[int], str],
    names: dict | None = None,
    offset: int = 0,
    noun: str = "message",
) -> None:
    """Raise unless the messages are: system*, then user/assistant alternating (tools after tool calls), assistant last.

    ``field_of(j)`` names message j's role field in the record; positions in messages are ``j - offset`` (ShareGPT's
    top-level system prompt comes before its first turn). Messages name them by ``noun`` counting from 1.
    """
    n = len(messages)
    i = 0
    while i < n and messages[i]["role"] == "system":
        i += 1
    prev = None
    tool_call = False
    for j in range(i, n):
        message = messages[j]
        role = message["role"]
        if role == "user":
            ok = prev is None or prev == "assistant"
        elif role == "assistant":
            ok = prev == "user" or prev == "tool"
        elif role == "tool":
            ok = prev == "tool" or tool_call
        else:
            raise FormatError(
                f"a system message as {noun} {j - offset + 1}: system messages must come first", field=field_of(j)
            )
        if not ok:
            raise FormatError(
                _order_problem(prev, role, tool_call, f"{noun} {j - offset + 1}", names or {}), field=field_of(j)
            )
        prev = role
        tool_call = role == "assistant" and len(message) > 2 and _is_tool_call(message)
    if prev != "assistant":
        got = f"'{(names or {}).get(prev, prev)}'" if prev else "only system messages"
        raise FormatError(
            f"no assistant turn: the last message must be from the assistant (got {got})", field=field_of(n - 1)
        )


def _order_problem(prev: str | None, role: str, tool_call: bool, place: str, names: dict) -> str:
    def q(r: str) -> str:
        return f"'{names.get(r, r)}'"

    if prev is None:
        expected = q("user")
    elif prev == "user":
        expected = q("assistant")
    elif prev == "assistant":
        expected = f"{q('user')} or {q('tool')}" if tool_call else q("user")
    else:
        expected = f"{q('tool')} or {q('assistant')}"
    why = "user and assistant turns alternate after optional system messages"
    if role == "tool":
        why = "a tool turn must follow an assistant tool call"
    return f"expected {expected} as {place}, got {q(role)} ({why})"


def _history_messages(history: object, field: str) -> list[dict]:
    if type(history) is not list:
        raise _type_error(history, field, "a list of [question, answer] pairs")
    messages = []
    for k, pair in enumerate(history):
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise _type_error(pair, f"{field}[{k}]", "a [question, answer] pair")
        for part, role in zip(pair, ("user", "assistant")):
            if type(part) is not str:
                raise _type_error(part, f"{field}[{k}]")
            if _has_control(part):
                raise _control_error(part, f"{field}[{k}]")
            messages.append({"role": role, "content": part})
    return messages


def _optional_text(record: dict, key: str) -> str:
    """The value of an optional string field: "" when absent, null or empty."""
    value = record.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise _type_error(value, key)
    if _has_control(value):
        raise _control_error(value, key)
    return value


# --------------------------------------------------------------------------------------------------------------------
# Records -> canonical

_ALPACA_KEYS = frozenset(("instruction", "input", "output", "system", "history", "tools"))
_ALPACA_NEEDS = "an Alpaca record needs 'instruction' and 'output'"


def _alpaca_to(d: dict) -> Canonical:
    # The hot path of a big import: plain checks, no regex unless needed, extras built only when there are any.
    try:
        instruction = d["instruction"]
        output = d["output"]
    except KeyError as e:
        raise _missing(e.args[0], _ALPACA_NEEDS, d) from None
    if type(instruction) is not str:
        raise _type_error(instruction, "instruction")
    if type(output) is not str:
        raise _type_error(output, "output")
    known = 2
    user = instruction
    if "input" in d:
        known += 1
        inp = d["input"]
        if inp:
            if type(inp) is not str:
                raise _type_error(inp, "input")
            user = instruction + "\n" + inp if instruction else inp
        elif inp is not None and inp != "":
            raise _type_error(inp, "input")
    if _controls_in(user + output):
        _raise_control([instruction, d.get("input") or "", output], ["instruction", "input", "output"])
    messages = []
    tools = None
    if len(d) > known:
        if "system" in d:
            known += 1
            system = _optional_text(d, "system")
            if system:
                messages.append({"role": "system", "content": system})
        if "history" in d:
            known += 1
            history = d["history"]
            if history is not None:
                messages.extend(_history_messages(history, "history"))
        if "tools" in d:
            known += 1
            tools = d["tools"] or None
    messages.append({"role": "user", "content": user})
    messages.append({"role": "assistant", "content": output})
    extras = {k: v for k, v in d.items() if k not in _ALPACA_KEYS} if len(d) > known else {}
    return Canonical(messages, tools, extras)


# ShareGPT's "from" tags. The first tag of each role is the one written on export.
_SHAREGPT_ROLE = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
}
_SHAREGPT_TAG = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation"}
_SHAREGPT_KEYS = frozenset(("conversations", "messages", "system", "tools"))
_TURN_RESERVED = frozenset(("role", "content", "sharegpt_from"))


def _sharegpt_to(d: dict) -> Canonical:
    key = "conversations"
    turns = d.get(key)
    if turns is None:
        key = "messages"
        turns = d.get(key)
        if turns is None:
            raise _missing("conversations", "a ShareGPT record needs 'conversations' (or 'messages')", d)
    if type(turns) is not list:
        raise _type_error(turns, key, "a list of turns")
    if not turns:
        raise FormatError("empty conversation: expected user and assistant turns", field=key)
    known = 1
    messages = []
    tools = None
    if len(d) > 1:
        if "system" in d:
            known += 1
            system = _optional_text(d, "system")
            if system:
                messages.append({"role": "system", "content": system})
        if "tools" in d:
            known += 1
            tools = d["tools"] or None
    offset = len(messages)
    for i, turn in enumerate(turns):
        if type(turn) is not dict:
            raise _type_error(turn, f"{key}[{i}]", "a turn object with 'from' and 'value'")
        tag = turn.get("from")
        value = turn.get("value", _MISSING)
        role = _SHAREGPT_ROLE.get(tag) if type(tag) is str else None
        if role is None:
            raise _turn_error(turn, tag, value, f"{key}[{i}]")
        if type(value) is not str:
            raise _type_error(value, f"{key}[{i}].value")
        message = {"role": role, "content": value}
        if len(turn) > 2:
            for k, v in turn.items():
                if k != "from" and k != "value":
                    if k in _TURN_RESERVED:
                        raise FormatError(f"unexpected key '{k}' in a ShareGPT turn", field=f"{key}[{i}].{k}")
                    message[k] = v
        if tag != _SHAREGPT_TAG[role]:
            message["sharegpt_from"] = tag
        messages.append(message)
    texts = [t["value"] for t in turns]
    if _controls_in("".join(texts)):
        _raise_control(texts, [f"{key}[{i}].value" for i in range(len(texts))])
    _check_order(
        messages, lambda j: f"{key}[{j - offset}].from" if j >= offset else "system", _SHAREGPT_TAG, offset, "turn"
    )
    extras = {k: v for k, v in d.items() if k != key and k not in _SHAREGPT_KEYS} if len(d) > known else {}
    return Canonical(messages, tools, extras)


def _turn_error(turn: dict, tag: object, value: object, where: str) -> FormatError:
    if value is _MISSING or "from" not in turn:
        missing = "from" if "from" not in turn else "value"
        hint = " (this looks like OpenAI messages: use --format openai)" if "role" in turn else ""
        return FormatError(
            f"required field is missing (a ShareGPT turn needs 'from' and 'value'){hint}", field=f"{where}.{missing}"
        )
    if type(tag) is not str:
        return _type_error(tag, f"{where}.from")
    return FormatError(
        f"unknown role '{tag}'; expected one of human, gpt, system, function_call, observation", field=f"{where}.from"
    )


def _parse_messages(items: object, key: str) -> list[dict]:
    """Validate an OpenAI-style message list (without the order check) and return canonical copies."""
    if type(items) is not list:
        raise _type_error(items, key, "a list of messages")
    if not items:
        raise FormatError("empty conversation: expected user and assistant messages", field=key)
    messages = []
    for i, m in enumerate(items):
        if type(m) is not dict:
            raise _type_error(m, f"{key}[{i}]", "a message object with 'role' and 'content'")
        role = m.get("role")
        if role not in _ROLE_SET:
            if role is None:
                raise _missing(f"{key}[{i}].role", "a message needs 'role' and 'content'", m)
            if type(role) is not str:
                raise _type_error(role, f"{key}[{i}].role")
            raise FormatError(
                f"unknown role '{role}'; expected one of {', '.join(ROLES)}",
                field=f"{key}[{i}].role",
            )
        content = m.get("content", _MISSING)
        if type(content) is not str:
            if (content is None or content is _MISSING) and role == "assistant" and _is_tool_call(m):
                content = ""  # OpenAI leaves content out (or null) on tool-call messages
            elif content is _MISSING:
                raise _missing(f"{key}[{i}].content", "a message needs 'role' and 'content'", m)
            else:
                raise _type_error(content, f"{key}[{i}].content")
        message = {"role": role, "content": content}
        if len(m) > 2:
            for k, v in m.items():
                if k != "role" and k != "content":
                    message[k] = v
            calls = m.get("tool_calls")
            if calls is not None and type(calls) is not list:
                raise _type_error(calls, f"{key}[{i}].tool_calls", "a list of tool calls")
        messages.append(message)
    texts = [m["content"] for m in messages]
    if _controls_in("".join(texts)):
        _raise_control(texts, [f"{key}[{i}].content" for i in range(len(texts))])
    return messages


_OPENAI_KEYS = frozenset(("messages", "tools"))


def _openai_to(d: dict) -> Canonical:
    if "messages" not in d:
        raise _missing("messages", "an OpenAI record needs 'messages'", d)
    messages = _parse_messages(d["messages"], "messages")
    _check_order(messages, lambda j: f"messages[{j}].role")
    tools = d.get("tools") or None
    extras = {k: v for k, v in d.items() if k not in _OPENAI_KEYS} if len(d) > 1 + ("tools" in d) else {}
    return Canonical(messages, tools, extras)


_PC_KEYS = frozenset(("prompt", "completion", "tools"))
_PC_NEEDS = "a prompt-completion record needs 'prompt' and 'completion'"


def _prompt_completion_to(d: dict) -> Canonical:
    try:
        prompt = d["prompt"]
        completion = d["completion"]
    except KeyError as e:
        raise _missing(e.args[0], _PC_NEEDS, d) from None
    if type(prompt) is str and type(completion) is str:
        if _controls_in(prompt + completion):
            _raise_control([prompt, completion], ["prompt", "completion"])
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
    elif type(prompt) is list and type(completion) is list:
        head = _parse_messages(prompt, "prompt")
        n = len(head)
        messages = head + _parse_messages(completion, "completion")
        _check_order(messages, lambda j: f"prompt[{j}].role" if j < n else f"completion[{j - n}].role")
    elif type(prompt) not in (str, list):
        raise _type_error(prompt, "prompt", "a string or a list of messages")
    elif type(completion) not in (str, list):
        expected = "a string" if type(prompt) is str else "a list of messages"
        raise _type_error(completion, "completion", expected)
    else:
        raise FormatError(
            f"'prompt' and 'completion' must both be strings or both be message lists; got {_type_name(prompt)} "
            f"and {_type_name(completion)}",
            field="completion",
        )
    tools = d.get("tools") or None
    extras = {k: v for k, v in d.items() if k not in _PC_KEYS} if len(d) > 2 + ("tools" in d) else {}
    return Canonical(messages, tools, extras)


def _mapped_to(d: dict, mapping: dict | None) -> Canonical:
    if type(mapping) is not dict or "prompt" not in mapping or "response" not in mapping:
        _require_mapping(mapping)  # raises; full validation is check_mapping's job, once per file
    messages = []
    system_field = mapping.get("system")
    if system_field is not None and system_field in d:
        system = _optional_text(d, system_field)
        if system:
            messages.append({"role": "system", "content": system})
    history_field = mapping.get("history")
    if history_field is not None and d.get(history_field) is not None:
        messages.extend(_history_messages(d[history_field], history_field))
    for role, key in (("user", mapping["prompt"]), ("assistant", mapping["response"])):
        value = d.get(key, _MISSING)
        if value is _MISSING:
            raise _missing(key, f"the mapping reads it for {'prompt' if role == 'user' else 'response'}", d)
        if type(value) is not str:
            raise _type_error(value, key)
        if _controls_in(value):
            raise _control_error(value, key)
        messages.append({"role": role, "content": value})
    mapped = set(mapping.values())
    return Canonical(messages, None, {k: v for k, v in d.items() if k not in mapped})


_TO_CANONICAL = {
    "alpaca": _alpaca_to,
    "sharegpt": _sharegpt_to,
    "openai": _openai_to,
    "prompt-completion": _prompt_completion_to,
}


def to_canonical(data: dict, fmt: str, mapping: dict | None = None) -> Canonical:
    """Convert one record of format ``fmt`` to canonical form, validating it.

    Args:
        data: the record (a dict as parsed; it is not modified and the result shares no mutable message with it).
        fmt: one of :data:`FORMATS`.
        mapping: for "mapped", ``{"prompt": FIELD, "response": FIELD, "system"?: FIELD, "history"?: FIELD}``.

    Returns:
        A :class:`Canonical` whose messages passed validation.

    Raises:
        FormatError: carrying ``field`` and the problem but no path, line or record; add them with
            ``err.located(path=..., line=raw.line, record=raw.index)``.
    """
    if fmt == "alpaca" and type(data) is dict:  # by far the most common: skip the dispatch
        return _alpaca_to(data)
    if type(data) is not dict:
        raise FormatError(f"expected a record object, got {_type_name(data)}")
    if fmt == "mapped":
        return _mapped_to(data, mapping)
    convert = _TO_CANONICAL.get(fmt)
    if convert is None:
        raise FormatError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    return convert(data)


# --------------------------------------------------------------------------------------------------------------------
# Canonical -> records


def from_canonical(c: Canonical, fmt: str, *, raw: dict | None = None, mapping: dict | None = None) -> dict:
    """Write a canonical sample as a record of format ``fmt``; the inverse of :func:`to_canonical`.

    ``raw``, the original record when the sample came from a file of this same format, settles what the canonical
    form cannot: how Alpaca's user text splits into instruction and input (the same way as raw when the text is still
    raw's instruction + "\\n" + input; instruction = raw's instruction and input = the rest when the text still starts
    with raw's instruction and a newline; otherwise the whole text is the instruction), whether ShareGPT's system
    prompt was a top-level key, whether prompt-completion used strings or message lists, null contents of OpenAI
    tool calls, empty fields such as ``"system": ""``, and key order. With raw, ``from_canonical(to_canonical(r, f), f,
    raw=r) == r``; without it the same holds for OpenAI records with string contents, ShareGPT records without a
    top-level system, Alpaca records with ``"input": ""`` and no empty optional fields, and string prompt-completion
    records.

    Extras are written back after the format's own keys and never overwrite them.

    Args:
        c: the sample.
        fmt: one of :data:`EXPORT_FORMATS`, or "mapped" with ``mapping``.
        raw: the original record, as a hint (optional).
        mapping: the field mapping for "mapped".

    Returns:
        A new dict with new message dicts; extras' values and tools are shared with ``c``, not copied.

    Raises:
        FormatError: the sample cannot be expressed in ``fmt`` (e.g. tool turns in Alpaca, several system prompts);
            ``field`` names the message position.
    """
    if fmt == "alpaca":
        out = _alpaca_from(c, raw)
        keys = _ALPACA_KEYS
    elif fmt == "sharegpt":
        out = _sharegpt_from(c, raw)
        keys = _SHAREGPT_KEYS
    elif fmt == "openai":
        out = _openai_from(c, raw)
        keys = _OPENAI_KEYS
    elif fmt == "prompt-completion":
        out = _prompt_completion_from(c, raw)
        keys = _PC_KEYS
    elif fmt == "mapped":
        mapping = _require_mapping(mapping)
        out = _mapped_from(c, raw, mapping)
        keys = frozenset(mapping.values())
    else:
        raise FormatError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if raw:
        # Empty format fields make no message; put them back as the source had them.
        for k in keys:
            if k not in out and k in raw and _is_empty(raw[k]):
                out[k] = raw[k]
    for k, v in c.extras.items():
        if k not in out:
            out[k] = v
    if raw:
        ordered = {k: out[k] for k in raw if k in out}
        if len(ordered) < len(out):
            ordered.update(out)
        out = ordered
    return out


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _split_system(c: Canonical, fmt: str) -> tuple[str | None, list[dict]]:
    """Return the leading system prompt (at most one) and the remaining messages."""
    messages = c.messages
    if messages and messages[0]["role"] == "system":
        if len(messages) > 1 and messages[1]["role"] == "system":
            raise FormatError(f"{fmt} holds one system prompt; this sample has several", field="messages[1]")
        return messages[0]["content"], messages[1:]
    return None, messages


def _turn_pairs(body: list[dict], offset: int, fmt: str) -> list[tuple[str, str]]:
    """Return (user, assistant) pairs for a body of strictly alternating plain turns, or raise."""
    if len(body) < 2 or len(body) % 2:
        raise FormatError(f"{fmt} needs user and assistant turns in pairs; this sample has {len(body)} turns")
    pairs = []
    for k in range(0, len(body), 2):
        user, assistant = body[k], body[k + 1]
        for pos, m, role in ((k, user, "user"), (k + 1, assistant, "assistant")):
            if m["role"] != role or (role == "assistant" and _is_tool_call(m)):
                raise FormatError(
                    f"{fmt} holds only alternating user and assistant turns; found {m['role']}"
                    + (" with a tool call" if m["role"] == "assistant" else ""),
                    field=f"messages[{offset + pos}]",
                )
        pairs.append((user["content"], assistant["content"]))
    return pairs


def _alpaca_from(c: Canonical, raw: dict | None) -> dict:
    system, body = _split_system(c, "alpaca")
    *history, (text, output) = _turn_pairs(body, len(c.messages) - len(body), "alpaca")
    instruction, inp = text, ""
    has_input = True
    if raw is not None and type(raw.get("instruction")) is str:
        raw_instruction = raw["instruction"]
        raw_input = raw.get("input")
        has_input = "input" in raw
        if type(raw_input) not in (str, type(None)):
            raw_input = ""
        joined = raw_instruction + "\n" + raw_input if raw_instruction and raw_input else raw_instruction or raw_input
        if text == (joined or ""):
            instruction, inp = raw_instruction, raw_input
        elif raw_instruction and text.startswith(raw_instruction + "\n"):
            instruction, inp = raw_instruction, text[len(raw_instruction) + 1 :]
            has_input = True
    out: dict = {"instruction": instruction}
    if has_input or inp:
        out["input"] = inp
    out["output"] = output
    if system is not None:
        out["system"] = system
    if history:
        out["history"] = [[q, a] for q, a in history]
    if c.tools is not None:
        out["tools"] = c.tools
    return out


def _sharegpt_from(c: Canonical, raw: dict | None) -> dict:
    key = "conversations"
    messages = c.messages
    system = None
    if raw is not None:
        if "messages" in raw and "conversations" not in raw:
            key = "messages"
        raw_system = raw.get("system")
        if type(raw_system) is str and raw_system and messages and messages[0]["role"] == "system":
            system = messages[0]["content"]
            messages = messages[1:]
    out: dict = {key: [_sharegpt_turn(m, k) for k, m in enumerate(messages)]}
    if system is not None:
        out["system"] = system
    if c.tools is not None:
        out["tools"] = c.tools
    return out


def _sharegpt_turn(m: dict, position: int) -> dict:
    role = m["role"]
    tag = m.get("sharegpt_from") or _SHAREGPT_TAG[role]
    value = m["content"]
    calls = m.get("tool_calls") if role == "assistant" and "sharegpt_from" not in m else None
    if calls:
        if value:
            raise FormatError(
                "ShareGPT cannot hold text and tool calls in one assistant turn", field=f"messages[{position}]"
            )
        tag, value = "function_call", _function_call_value(calls, position)
    turn = {"from": tag, "value": value}
    if len(m) > 2:
        for k, v in m.items():
            if k not in _TURN_RESERVED and not (calls and k == "tool_calls"):
                turn[k] = v
    return turn


def _function_call_value(calls: list, position: int) -> str:
    """OpenAI tool_calls -> the JSON text of a ShareGPT function_call turn ({"name", "arguments"}, or a list)."""
    out = []
    for call in calls:
        function = call.get("function") if type(call) is dict else None
        if type(function) is not dict or "name" not in function:
            raise FormatError("a tool call without a function name", field=f"messages[{position}].tool_calls")
        arguments = function.get("arguments", {})
        if type(arguments) is str:
            with contextlib.suppress(ValueError):  # arguments that are not JSON stay the string they were
                arguments = json.loads(arguments)
        out.append({"name": function["name"], "arguments": arguments})
    return json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False)


def _tool_calls_from_value(value: str) -> list | None:
    """A ShareGPT function_call value -> OpenAI tool_calls, or None when it is not JSON with a name."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    calls = parsed if type(parsed) is list else [parsed]
    if not calls or not all(type(call) is dict and type(call.get("name")) is str for call in calls):
        return None
    out = []
    for call in calls:
        arguments = call.get("arguments", {})
        if type(arguments) is not str:
            arguments = json.dumps(arguments, ensure_ascii=False)
        out.append({"type": "function", "function": {"name": call["name"], "arguments": arguments}})
    return out


def _openai_message(m: dict, raw_message: object) -> dict:
    out = {"role": m["role"], "content": m["content"]}
    if len(m) > 2:
        for k, v in m.items():
            if k != "role" and k != "content" and k != "sharegpt_from":
                out[k] = v
        if m.get("sharegpt_from") == "function_call" and "tool_calls" not in out:
            calls = _tool_calls_from_value(m["content"])
            if calls is not None:
                out["content"] = ""
                out["tool_calls"] = calls
    if out["content"] == "" and type(raw_message) is dict and raw_message.get("role") == out["role"]:
        if "content" not in raw_message:
            del out["content"]
        elif raw_message["content"] is None:
            out["content"] = None
    return out


def _openai_from(c: Canonical, raw: dict | None) -> dict:
    raw_messages = raw.get("messages") if raw is not None else None
    if type(raw_messages) is not list or len(raw_messages) != len(c.messages):
        raw_messages = [None] * len(c.messages)
    out: dict = {"messages": [_openai_message(m, r) for m, r in zip(c.messages, raw_messages)]}
    if c.tools is not None:
        out["tools"] = c.tools
    return out


def _prompt_completion_from(c: Canonical, raw: dict | None) -> dict:
    messages = c.messages
    raw_prompt = raw.get("prompt") if raw is not None else None
    raw_completion = raw.get("completion") if raw is not None else None
    raw_lists = type(raw_prompt) is list and type(raw_completion) is list
    if raw_lists and 0 < len(raw_completion) < len(messages):
        k = len(raw_completion)
    else:
        last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
        k = len(messages) - last_user - 1
        if last_user < 0 or not k:
            raise FormatError("prompt-completion needs a user prompt followed by the assistant's completion")
    head, tail = messages[:-k], messages[-k:]
    plain = len(head) == 1 and len(tail) == 1 and len(head[0]) == 2 and len(tail[0]) == 2
    if plain and head[0]["role"] == "user" and tail[0]["role"] == "assistant" and not raw_lists:
        out: dict = {"prompt": head[0]["content"], "completion": tail[0]["content"]}
    else:
        raws = (
            raw_prompt + raw_completion
            if raw_lists and len(raw_prompt) + len(raw_completion) == len(messages)
            else None
        )
        converted = [_openai_message(m, raws[i] if raws else None) for i, m in enumerate(messages)]
        out = {"prompt": converted[:-k], "completion": converted[-k:]}
    if c.tools is not None:
        out["tools"] = c.tools
    return out


def _mapped_from(c: Canonical, raw: dict | None, mapping: dict) -> dict:
    system, body = _split_system(c, "mapped")
    *history, (prompt, response) = _turn_pairs(body, len(c.messages) - len(body), "mapped")
    out: dict = {mapping["prompt"]: prompt, mapping["response"]: response}
    if system is not None:
        if "system" not in mapping:
            raise FormatError("the sample has a system prompt but the mapping has no system field (add system=FIELD)")
        out[mapping["system"]] = system
    if history:
        if "history" not in mapping:
            raise FormatError(
                f"the sample has {len(history) + 1} exchanges but the mapping has no history field (add history=FIELD)"
            )
        out[mapping["history"]] = [[q, a] for q, a in history]
    if c.tools is not None and "tools" not in out and "tools" not in c.extras:
        out["tools"] = c.tools
    return out


# --------------------------------------------------------------------------------------------------------------------
# Field mappings


def parse_mapping(text: str) -> dict:
    """Parse the CLI form ``"prompt=question,response=answer"`` into ``{"prompt": "question", "response": "answer"}``.

    Keys are ``prompt`` and ``response`` (required) and ``system`` and ``history`` (optional); values are the record's
    field names (they cannot contain commas).

    Raises:
        MappingError: malformed text, an unknown or repeated key, an empty field name, a missing required key.
    """
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            raise MappingError(f"malformed mapping '{part}': expected KEY=FIELD, e.g. prompt=question,response=answer")
        if key in mapping:
            raise MappingError(f"the mapping names '{key}' twice")
        if not value:
            raise MappingError(f"the mapping gives no field name for '{key}'")
        mapping[key] = value
    return _require_mapping(mapping)


def _require_mapping(mapping: dict | None) -> dict:
    if not mapping:
        raise MappingError("the mapped format needs a mapping, e.g. --map prompt=question,response=answer")
    unknown = [k for k in mapping if k not in MAPPING_KEYS]
    if unknown:
        raise MappingError(f"unknown mapping key '{unknown[0]}': expected {', '.join(MAPPING_KEYS)}")
    missing = [k for k in ("prompt", "response") if k not in mapping]
    if missing:
        raise MappingError(f"the mapping needs '{missing[0]}' (e.g. prompt=question,response=answer)")
    for k, v in mapping.items():
        if type(v) is not str or not v:
            raise MappingError(f"the mapping gives no field name for '{k}'")
    fields = list(mapping.values())
    if len(set(fields)) < len(fields):
        twice = next(f for f in fields if fields.count(f) > 1)
        raise MappingError(f"the mapping uses field '{twice}' for more than one key")
    return mapping


def check_mapping(mapping: dict, records: list[dict], *, path: str | None = None) -> dict:
    """Check a mapping against the first :data:`DETECT_SAMPLE` records and return it.

    A field is absent when none of those records has it (a few records lacking it are reported by ``to_canonical``).

    Raises:
        MappingError: a malformed mapping, or one naming a field absent from the records (the message names the
            field, the fields that exist and the file).
    """
    mapping = _require_mapping(mapping)
    sample = records[:DETECT_SAMPLE]
    keys = _keys_of(sample)
    present = set(keys)
    for k, name in mapping.items():
        if name not in present:
            where = f" of {path}" if path else ""
            raise MappingError(
                f"the mapping reads field '{name}' for {k}, but the records{where} have no such field; "
                f"fields found: {', '.join(map(str, keys)) or 'none'}"
            )
    return mapping


# --------------------------------------------------------------------------------------------------------------------
# Hashing and text views


def content_hash(messages: list[dict], tools: object | None = None) -> str:
    """Return the sha256 hex digest of the messages (and tools), independent of key order and source format.

    ShareGPT tag aliases (``sharegpt_from`` other than ``function_call``) are left out, so the same conversation read
    from ShareGPT, OpenAI or Alpaca hashes the same. Equal hashes mean exact duplicates.
    """
    for message in messages:
        if len(message) != 2:  # only messages with extra keys can carry a marker to leave out
            messages = [_hash_view(m) for m in messages]
            break
    payload = messages if not tools else [messages, tools]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _hash_view(m: dict) -> dict:
    tag = m.get("sharegpt_from")
    if tag is None or tag == "function_call":
        return m
    return {k: v for k, v in m.items() if k != "sharegpt_from"}


def prompt_text(messages: list[dict]) -> str:
    """Return the user messages' contents joined by newlines (for display, search and embeddings)."""
    return "\n".join([m["content"] for m in messages if m["role"] == "user"])


def answer_text(messages: list[dict]) -> str:
    """Return the last assistant message's content ("" when there is none)."""
    for m in reversed(messages):
        if m["role"] == "assistant":
            return m["content"]
    return ""
