"""The parse of an import: read, detect, convert, and hand column chunks to the store's transaction.

It runs in a thread or in a worker process (core/importing/parsers.py) and talks to the importing side only through
``emit``: the detected format first, then Arrow record batches (core/importing/columns.py), then the end. Alpaca
records as JSON lines, the most common big import, take a vectorised path (core/importing/alpaca_lines.py) that
stores exactly what the record-by-record one does. The worker process imports this module: it must not load DuckDB
unless that path is taken.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from core.errors import FormatError
from core.formats.detect import DETECT_SAMPLE, check_mapping, detect_format
from core.formats.readers import file_kind, iter_records
from core.importing.columns import _Chunks, _convert
from core.pause_points import pause_point
from core.progress import Progress

CHUNK = 50_000  # records per insert; parsing the next chunk overlaps DuckDB writing this one
# Alpaca JSON lines take the vectorised path (core/importing/alpaca_lines.py); tests turn it off to compare the two.
VECTORISED = True


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
    ``chunk`` good records, where ``batch`` is a ``pyarrow.RecordBatch`` of ``columns._SCHEMA``, ``rejects`` the
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

    chunks = _Chunks(emit, name, latest)
    if VECTORISED and fmt == "alpaca" and file_kind(path) == "jsonl":
        records.close()
        from core.importing.alpaca_lines import _parse_alpaca_lines  # loads DuckDB: only for this path

        _parse_alpaca_lines(path, name, on_error, chunk, chunks, note)
    else:
        chunks.finish(*_convert(itertools.chain(head, records), fmt, mapping, name, on_error, chunk, chunks.send))
