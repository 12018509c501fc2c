"""How every export's files are written: plain exports (``core.export``) and training exports alike.

- Where the app may write an export: ``export_target`` keeps a name typed in the browser inside the export folder.
- Files and folders are written under a temporary name beside their final one and renamed into place, readable by
  their owner only; the next export to that name removes a killed export's leftovers.
- JSON written atomically (a written file's digest: ``core.digest``).
- How LLaMA-Factory reads each of our formats (the entries of the ``dataset_info.json`` written beside exports).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from core.errors import PermissionDenied, WinnowError

# How LLaMA-Factory reads each of our formats (its dataset_info.json schema).
DATASET_INFO = {
    "alpaca": {
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "system": "system",
            "history": "history",
        },
    },
    "sharegpt": {
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
    },
    "openai": {
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "tools": "tools"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
            "observation_tag": "tool",
        },
    },
    "prompt-completion": {"formatting": "alpaca", "columns": {"prompt": "prompt", "response": "completion"}},
}
DATASET_INFO["parquet"] = DATASET_INFO["openai"]  # the same messages shape, in a Parquet file


def write_json_atomic(path: Path, obj) -> None:
    tmp = partial_beside(path)
    try:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------------- temporary files
#
# A file is written as ``.<name>.partial-<pid>@<host>-<random>`` beside its final name, then renamed into place. The
# unique name keeps two exports to the same name apart; mkstemp creates it readable by its owner only (0600), and the
# rename keeps that mode. A process killed mid-export (kill -9, power loss) cannot remove its temporary file, so the
# next export to the same name removes those whose process is gone. The host is in the name because an export folder
# may be shared between machines, where a process id means nothing.


def _partial_prefix(name: str) -> str:
    return f".{name}.partial-"


def partial_beside(path: Path) -> Path:
    """A new empty temporary file (mode 0600) in ``path``'s folder, named after ``path`` and this process."""
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{_partial_prefix(path.name)}{os.getpid()}@{socket.gethostname()}-", dir=path.parent
    )
    os.close(fd)
    return Path(tmp_name)


def partial_folder_beside(path: Path) -> Path:
    """A new empty temporary folder (mode 0700) beside ``path``, named like ``partial_beside``'s files."""
    return Path(
        tempfile.mkdtemp(prefix=f"{_partial_prefix(path.name)}{os.getpid()}@{socket.gethostname()}-", dir=path.parent)
    )


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def remove_stale_partials(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files left in ``folder`` by killed exports to ``name``; return what was removed."""
    prefix = _partial_prefix(name)
    host = socket.gethostname()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        owner, sep, _random = entry.name[len(prefix) :].rpartition("-")
        pid, at, owner_host = owner.partition("@")
        if not (sep and at and pid.isdigit()) or owner_host != host:
            continue  # not ours to judge: another machine's, or an older naming
        if int(pid) != os.getpid() and _process_gone(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # another export cleaned it first
                if entry.is_dir(follow_symlinks=False):  # a training export's folder (core.training.export)
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


# ---------------------------------------------------------------------------------------------------- the app's folder

EXPORT_NAME_RESERVED = ("dataset_info.json",)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def export_target(folder: str | os.PathLike, name: str) -> Path:
    """Where the app writes an export called ``name``: a file directly in the export ``folder``, nowhere else.

    The app runs on a server, so a name typed in the browser must not reach the rest of its disk: no folders, no
    ``..``, no absolute path, and no symlink in the folder that points out of it (checked once links are resolved).

    Args:
        folder: the export folder (``WINNOW_EXPORT_DIR``).
        name: the file name as typed.

    Returns:
        ``folder / name``.

    Raises:
        PermissionDenied: the name would write outside ``folder``.
        WinnowError: the name is empty, hidden, holds control characters, or is reserved (``dataset_info.json``,
            ``*.manifest.json``: Winnow writes those beside each export).
    """
    folder = Path(folder)
    if not name or not name.strip():
        raise WinnowError("give a file name for the export")
    if "/" in name or "\\" in name or ".." in name or os.path.isabs(name):
        raise PermissionDenied(f"{name!r}: give a plain file name (no folders, no '..'); exports go to {folder}")
    if name.startswith(".") or _CONTROL.search(name):
        raise WinnowError(f"{name!r}: a file name cannot start with '.' or hold control characters")
    if name in EXPORT_NAME_RESERVED or name.endswith(".manifest.json"):
        raise WinnowError(f"{name!r} is the name of a file Winnow writes beside each export; choose another name")
    target = folder / name
    if target.resolve().parent != folder.resolve():
        raise PermissionDenied(f"{name!r} would land outside {folder} (a link pointing elsewhere?)")
    return target
