"""Reading files: the records of a JSON, JSON Lines, CSV/TSV or Parquet file, each with where it starts.

:func:`iter_records` picks the reader from the extension and the first bytes, streams the file a record at a time and
refuses, with the file and line, whatever cannot be read: binary or non-UTF-8 data, invalid JSON or CSV, a record
that is not an object, a record over :data:`MAX_RECORD_MB`, a Parquet file whose text expands past reason.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from typing import NamedTuple

import orjson

from core.errors import FormatError
from core.formats import json_array
from core.formats.messages import _type_name
from core.progress import Progress


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

    - JSON: an array of objects, streamed a record at a time (core/formats/json_array.py), each with the line it
      starts on. An object whose only key holds a list (``{"data": [...]}``) yields that list; any other object is a
      file of one record.
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
    kind = file_kind(name)
    size = os.path.getsize(name)
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
            record = jsonl_record(line, lineno, index, f.tell() - len(line), name)
            if record is None:
                continue
            yield RawRecord(index, lineno, record)
            index += 1
            if progress is not None and not index % _PROGRESS_EVERY:
                progress(f.tell(), size)
    if not index:
        raise FormatError("file is empty", path=name)
    if progress is not None:
        progress(size, size)


def jsonl_record(line: bytes, lineno: int, index: int, offset: int, name: str) -> dict | None:
    """One line of a JSON Lines file, as :func:`iter_records` reads it.

    Args:
        line: the line as ``readline`` returns it (with its newline, if it has one).
        lineno, index: its 1-based line number and the 0-based number of the record it would be.
        offset: where it starts in the file, in bytes.

    Returns:
        The record, or None for a blank line (which is no record).

    Raises:
        FormatError: the line is over :data:`MAX_RECORD_MB`, not valid JSON or UTF-8, or not an object.
    """
    if len(line) >= _LINE_LIMIT and not (len(line) == _LINE_LIMIT and line.endswith(b"\n")):
        raise _too_long(name, lineno)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        if _WHITESPACE_ONLY.match(line):
            return None
        raise _jsonl_error(e, line, lineno, offset, name) from None
    if type(record) is not dict:
        hint = " (a JSON array? name the file .json)" if type(record) is list else ""
        raise FormatError(
            f"expected one JSON object per line, got {_type_name(record)}{hint}", path=name, line=lineno, record=index
        )
    return record


def file_kind(path: str | os.PathLike) -> str:
    """How :func:`iter_records` reads ``path``: "parquet", "json", "jsonl", or a CSV delimiter (FormatError when it
    cannot be read as any of them)."""
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        with open(name, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as e:
        raise FormatError(f"cannot read the file: {e.strerror or e}", path=name) from None
    return _container(name, head, size)


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
