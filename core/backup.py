"""Backups: the whole workspace as one file, consistent and complete, taken while the app runs.

What a workspace is on disk: one DuckDB file (``NAME.duckdb``) and, while a process has it open, its write-ahead log
(``NAME.duckdb.wal``), which holds commits not yet moved into the file. Winnow checkpoints at every commit, when a
job ends and when the app stops, so the file alone is normally whole; but a ``cp`` of it taken while the app writes
can still catch a checkpoint half-way. A backup does not copy bytes: it copies one transaction's snapshot of every
table through the open connection (``Store.copy_to``), so each write committed meanwhile is wholly in it or wholly
not, into a new file that is complete on its own. Restoring is opening that file as the workspace
(``WINNOW_DB=backup.duckdb``, or moving it in place while the app is stopped).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import WinnowError
from core.store import Store

BACKUP_FOLDER = "backups"  # beside the workspace, by default


@dataclass
class BackupReport:
    path: str
    bytes: int
    samples: int
    seconds: float


def default_backup_path(workspace: str | os.PathLike, now: datetime | None = None) -> Path:
    """Where a backup goes unless told otherwise: ``backups/NAME-YYYYMMDD-HHMMSS.duckdb`` beside the workspace (UTC)."""
    workspace = Path(workspace)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return workspace.parent / BACKUP_FOLDER / f"{workspace.stem}-{stamp}.duckdb"


def backup_workspace(store: Store, out: str | os.PathLike, *, user: str, force: bool = False) -> BackupReport:
    """Write a consistent copy of the whole workspace to ``out``: a DuckDB file that opens as a workspace.

    The copy is written beside ``out`` under a temporary name and renamed into place when complete, readable by its
    owner only; a backup that fails leaves nothing behind.

    Args:
        user: must be an admin (the "backup" action): a backup holds every account's password hash.
        force: replace an existing ``out`` (never the workspace itself, its log or an imported file).

    Returns:
        A BackupReport: the file, its size, the samples it holds, and how long it took.

    Raises:
        PermissionDenied: ``user`` may not back up. WinnowError: ``out`` exists (without ``force``), is the
            workspace or one of its files, or cannot be written.
    """
    store.authorize(user, "backup")
    out = Path(out).expanduser()
    store.refuse_own_file(out, "the backup")
    if out.is_dir():
        raise WinnowError(f"{out} is a folder: give the backup a file name (NAME.duckdb)")
    if out.exists() and not force:
        raise WinnowError(f"{out} exists: choose another name, or replace it (--force)")
    started = time.perf_counter()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as ex:
        raise WinnowError(f"cannot create the folder {out.parent}: {ex.strerror}") from None
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        store.copy_to(partial)
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    except OSError as ex:
        raise WinnowError(f"cannot write the backup {out}: {ex.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    with Store(out, read_only=True) as copy:  # it opens as a workspace: say what it holds
        samples = copy.count()
    report = BackupReport(str(out), out.stat().st_size, samples, round(time.perf_counter() - started, 3))
    store.log_event("backup", user=user, detail={"path": report.path, "bytes": report.bytes, "samples": samples})
    return report
