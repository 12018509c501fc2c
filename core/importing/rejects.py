"""The rejects file: the records an import skipped, one JSON line each with its reason, never written over anything."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson

from core.errors import WinnowError


def _rejects_names(target: Path, numbered: bool) -> Iterator[Path]:
    """Where the rejects may go: ``target``, then (``numbered``) FILE.rejects-2.jsonl, -3, ... beside it."""
    yield target
    if numbered:
        stem = target.name.removesuffix(".jsonl")
        for n in itertools.count(2):
            yield target.with_name(f"{stem}-{n}.jsonl")


def _write_rejects(target: Path, rejects: list[dict], *, numbered: bool, replace: bool) -> Path:
    """Write the rejects file; return where it went.

    Never over an existing file unless ``replace``: with ``numbered`` (the default name) the first free numbered
    name is taken instead, so earlier rejects are kept; otherwise an existing file is refused.
    """
    tmp = None
    try:
        # Rejected records are people's data too: mkstemp makes a new file of our own (O_EXCL, mode 0600), so no
        # link planted under a predictable name can send them elsewhere.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
        tmp = Path(tmp_name)
        with open(fd, "wb") as fh:
            for r in rejects:
                fh.write(orjson.dumps(r, default=str) + b"\n")
        if replace:
            os.replace(tmp, target)
            return target
        for name in _rejects_names(target, numbered):
            try:  # claim the name (O_EXCL: never an existing file, nor a link's target), then move the file there
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
            except FileExistsError:
                if not numbered:
                    raise WinnowError(
                        f"the rejects file {target} exists; nothing was imported: choose another file, or replace "
                        "it on purpose (--force)"
                    ) from None
                continue
            os.replace(tmp, name)
            return name
        raise AssertionError("unreachable")
    except OSError as ex:
        raise WinnowError(
            f"cannot write the rejects file {target} ({ex.strerror}); nothing was imported: "
            "choose another place for it (--rejects FILE)"
        ) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def dated_rejects_path(folder: Path, name: str) -> Path:
    """Where the Import page's rejects go: ``folder/<name's stem>-<date and time>.rejects.jsonl``, creating the folder.
    A new name for every import, so an upload's rejects never meet another's."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{Path(name).stem}-{datetime.now():%Y%m%d-%H%M%S}.rejects.jsonl"
