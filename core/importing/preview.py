"""The preview of an import: a file's first records, read as the import reads them and bounded whatever the file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.errors import FormatError
from core.formats.detect import DETECT_SAMPLE
from core.formats.readers import iter_records
from core.importing.parsers import _ParseProcess

# The preview shows the first records before anything is written, bounded whatever the file: at most DETECT_SAMPLE
# records and PREVIEW_BUDGET characters of text in all, each text cut to PREVIEW_CHARS and each list to PREVIEW_ITEMS.
PREVIEW_CHARS = 20_000
PREVIEW_ITEMS = 1_000
PREVIEW_BUDGET = 4_000_000


def _bounded(value: object, budget: list[int]) -> object:
    """``value`` with long strings and lists cut (saying so), counting its characters off ``budget[0]``. Types are
    kept, so format detection and mapping checks see the same kinds of values."""
    if type(value) is str:
        budget[0] -= min(len(value), PREVIEW_CHARS)
        if len(value) <= PREVIEW_CHARS:
            return value
        return value[:PREVIEW_CHARS] + f" … ({len(value) - PREVIEW_CHARS:,} more characters not shown)"
    if type(value) is dict:
        return {k: _bounded(v, budget) for k, v in value.items()}
    if type(value) is list:
        return [_bounded(v, budget) for v in value[:PREVIEW_ITEMS]]
    return value


def _read_preview(path: str, name: str) -> list[tuple[int, int | None, dict]]:
    records = iter_records(path)
    budget = [PREVIEW_BUDGET]
    head = []
    try:
        for r in records:
            head.append((r.index, r.line, _bounded(r.data, budget)))
            if len(head) == DETECT_SAMPLE or budget[0] <= 0:
                break
    except FormatError as ex:
        raise ex.located(path=name) from None
    finally:
        records.close()
    if not head:
        raise FormatError("file holds no records", path=name)
    return head


def preview(
    path: str | os.PathLike, *, name: str | None = None, memory_mb: int | None = None
) -> list[tuple[int, int | None, dict]]:
    """The first records of a file as an import reads them: ``(0-based index, line or None, record)`` each, at most
    :data:`DETECT_SAMPLE` of them, every text cut to :data:`PREVIEW_CHARS` characters.

    Read in a worker process capped at ``memory_mb`` (when given and the platform allows), like an upload's import,
    so a hostile file cannot take the server's memory while someone only looks at it.

    Raises:
        FormatError: the file cannot be read, or holds no records (named by ``name``, default the file's name).
    """
    path = Path(path)
    name = name or path.name
    if memory_mb is None or os.name != "posix" or not sys.executable:
        return _read_preview(str(path), name)
    with _ParseProcess(path, "auto", None, name, "abort", None, memory_mb=memory_mb, task="preview") as worker:
        kind, payload = worker.receive()
    assert kind == "preview", kind
    return payload
