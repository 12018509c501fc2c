"""Eval sets in a workspace: registered from a file a lead brings (any format Winnow reads, with a field mapping),
and the decontamination scorer's findings."""

from __future__ import annotations

import os
from pathlib import Path

from core.evaluation.eval_files import item_texts, read_eval_records
from core.formats.mapped import parse_mapping
from core.store import Store


def add_eval_set_file(
    store: Store,
    path: str | os.PathLike,
    *,
    user: str,
    name: str | None = None,
    fmt: str = "auto",
    mapping: str | None = None,
    replace: bool = False,
) -> dict:
    """Read an eval file and register its items (user turns, answer) as the eval set ``name`` (default: the file's
    name without its suffix). The file is read whole and checked as an import checks it before anything is written.

    Returns:
        The set as ``Store.eval_sets`` lists it.

    Raises:
        FormatError: naming the file, line and record (from 1) of the first bad record.
        WinnowError: the name is taken (without ``replace``), or the file has no items.
    """
    path = Path(path)
    if mapping:
        parse_mapping(mapping)  # a malformed mapping is named before the file is read
    fmt, records = read_eval_records(path, fmt=fmt, mapping=mapping)
    items = [item_texts(r) for r in records]
    return store.add_eval_set(
        name or path.stem,
        items,
        file_name=path.name,
        fmt=fmt,
        mapping=mapping or None,
        user=user,
        replace=replace,
    )
