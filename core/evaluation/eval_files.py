"""Eval files: a test set a lead brings (a math set, a held-back slice of their own data) in any format Winnow
imports, read for an evaluation and never imported as samples."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from core.errors import FormatError
from core.formats.convert import to_canonical
from core.formats.detect import DETECT_SAMPLE, check_mapping, detect_format
from core.formats.mapped import parse_mapping
from core.formats.messages import prompt_and_completion
from core.formats.readers import iter_records


def read_eval_file(path: str | os.PathLike, *, fmt: str = "auto", mapping: dict | str | None = None) -> list[dict]:
    """The records of an eval file, as ``read_eval_records`` reads them."""
    return read_eval_records(path, fmt=fmt, mapping=mapping)[1]


def read_eval_records(
    path: str | os.PathLike, *, fmt: str = "auto", mapping: dict | str | None = None
) -> tuple[str, list[dict]]:
    """Read an eval file into the shape held-out scoring takes: per record, ``{"prompt": messages up to the last
    user turn, "completion": the answer after it}``, checked as an import checks (a record without an answer is
    refused).

    Args:
        fmt: "auto" to detect, or one of ``core.formats.messages.FORMATS``; a mapping implies "mapped".
        mapping: ``{canonical key: field}`` or its CLI form ``"prompt=question,response=answer"``.

    Returns:
        (the format read, the records in file order).

    Raises:
        FormatError: naming the file, and the line and record (from 1) of the first bad record; or an empty file.
        MappingError: a malformed mapping.
    """
    name = Path(path).name
    if isinstance(mapping, str):
        mapping = parse_mapping(mapping)
    records = iter_records(path)
    head = list(itertools.islice(records, DETECT_SAMPLE))
    if not head:
        raise FormatError("the eval file holds no records", path=name)
    if mapping:
        check_mapping(mapping, [r.data for r in head], path=name)
        fmt = "mapped"
    elif fmt == "auto":
        fmt = detect_format([r.data for r in head], path=name, lines=[r.line for r in head])
    out = []
    for i, line, data in itertools.chain(head, records):
        try:
            messages = to_canonical(data, fmt, mapping).messages
        except FormatError as ex:
            raise ex.located(path=name, line=line, record=i) from None
        prompt, completion = prompt_and_completion(messages)
        out.append({"prompt": prompt, "completion": completion})
    return fmt, out


def item_texts(record: dict) -> tuple[str, str]:
    """An eval record's user turns and its answer, as two texts (what copies and contamination are looked for)."""
    user = "\n".join(
        m["content"] for m in record["prompt"] if m.get("role") == "user" and isinstance(m.get("content"), str)
    )
    answer = "\n".join(m["content"] for m in record["completion"] if isinstance(m.get("content"), str))
    return user, answer
