"""Import a file into a workspace: read, detect, validate every record, then commit all at once.

The default is all-or-nothing: the first bad record stops the import with a message naming the file, the line or
record, the field and what was expected, and the workspace is unchanged. With ``on_error="skip"`` the good records
are imported and the bad ones are written, with their reasons, to a rejects file (JSON lines).

The cheap signals (:func:`import_signals`) follow every import, from the Import page and the CLI alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.digest import file_sha256
from core.errors import FormatError, WinnowError
from core.formats.mapped import parse_mapping
from core.formats.messages import FORMATS
from core.importing.parse import Progress
from core.importing.parsers import _ParseProcess, _ParseThread
from core.importing.rejects import _write_rejects

if TYPE_CHECKING:  # only annotations name them: importing this module need not load DuckDB or the scorers
    from core.scoring.runner import ScoreReport
    from core.store import Store

# Files at least this big are parsed in a worker process (see _ParseProcess). Starting one costs about 0.25 s and 0.5 s
# of CPU, and only pays once parsing and inserting overlap over several chunks. Measured on 2 cores: at 8 MB (21k Alpaca
# records) a worker is twice slower than a thread (0.8 s against 0.4 s), at 38 MB (100k) they are even.
PROCESS_MIN_BYTES = 64 << 20
MAX_ERRORS = 20  # skipped records' messages kept in ImportReport.errors (all of them are in the rejects file)


@dataclass
class ImportReport:
    """What an import did. ``rejects_path`` is set when bad records were skipped and written there."""

    source_id: int | None
    path: str
    format: str
    imported: int
    duplicates: int
    rejected: int
    rejects_path: str | None = None
    errors: list[str] = field(default_factory=list)
    earlier_rejects: str | None = None  # the default rejects file an earlier import wrote, left as it was


def import_file(
    store: Store,
    path: str | os.PathLike,
    *,
    user: str,
    fmt: str = "auto",
    mapping: dict | str | None = None,
    on_error: str = "abort",
    rejects_path: str | os.PathLike | None = None,
    display_name: str | None = None,
    allow_reimport: bool = False,
    replace_rejects: bool = False,
    progress: Progress | None = None,
    memory_mb: int | None = None,
) -> ImportReport:
    """Import one file into ``store``.

    Args:
        fmt: "auto" to detect, or one of ``core.formats.messages.FORMATS``. A mapping implies "mapped".
        mapping: {canonical key: field name} or its CLI form "prompt=question,response=answer".
        on_error: "abort" (nothing is imported when any record is bad) or "skip" (bad records go to the rejects
            file, by default ``<file>.rejects.jsonl`` beside the input; when that exists, earlier rejects are kept
            and the next free ``<file>.rejects-2.jsonl``, ``-3`` ... is used). It never replaces the input, the
            workspace or an imported file.
        replace_rejects: replace an existing ``rejects_path`` (without it, an existing one is refused).
        display_name: the name recorded as the source (an upload's original name); default the file's name.
        allow_reimport: import a file whose exact bytes were imported before (its samples are flagged as
            duplicates). Without it, such a file is refused.
        progress: called as ``progress(records_done, total_or_None)``.
        memory_mb: parse in a worker process that may use at most this much memory, whatever the file's size. The
            app passes it for uploads (``WINNOW_IMPORT_MEMORY_MB``): a hostile file then fails alone, with a message,
            instead of taking the server's memory. Without it, big files still go to a worker, uncapped.

    Returns:
        An ImportReport.

    Raises:
        FormatError: the file or a record is bad (abort mode), or no record could be imported.
        MappingError: the mapping is malformed or names absent fields.
    """
    store.authorize(user, "import")
    path = Path(path)
    name = display_name or path.name
    if on_error not in ("abort", "skip"):
        raise WinnowError(f"--on-error must be 'abort' or 'skip', not {on_error!r}")
    if not path.exists():
        raise FormatError("no such file", path=str(path))
    if path.is_dir():
        raise FormatError("is a folder, not a file", path=str(path))
    if isinstance(mapping, str):
        mapping = parse_mapping(mapping)
    if mapping:
        if fmt not in ("auto", "mapped"):
            raise WinnowError(f"a field mapping imports as format 'mapped'; drop --format {fmt} or the mapping")
        fmt = "mapped"
    elif fmt == "mapped":
        raise WinnowError("format 'mapped' needs a field mapping, e.g. --map prompt=question,response=answer")
    elif fmt != "auto" and fmt not in FORMATS:
        raise WinnowError(f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")

    # Big files are parsed in a worker process, small ones in a thread (no process start-up to pay). Either way the
    # parser detects the format on the first records and sends column chunks that the store inserts as they come.
    # The worker gets its pipe as an inherited fd (POSIX) and needs an interpreter to start (not so when embedded).
    can_fork = os.name == "posix" and bool(sys.executable)
    worker = can_fork and (memory_mb is not None or path.stat().st_size >= PROCESS_MIN_BYTES)
    rejects: list[dict] = []
    written: list[Path] = []
    target = Path(rejects_path) if rejects_path else path.with_name(path.name + ".rejects.jsonl")
    if on_error == "skip":
        # Before any work: the rejects must not replace the file being imported, the workspace, or an earlier source.
        same = target.resolve() == path.resolve() or (target.exists() and os.path.samefile(target, path))
        if same:
            raise WinnowError(f"{target} is the file being imported: the rejects file would replace it; choose another")
        store.refuse_own_file(target, "the rejects file")
        if rejects_path and target.exists() and not replace_rejects:
            raise WinnowError(
                f"the rejects file {target} exists: choose another file, or replace it on purpose (--force)"
            )

    def rejected() -> int:
        # Called by the store once every chunk is in, before it commits: the rejects file is written first, so a
        # folder we cannot write to stops the import (nothing committed) instead of losing the reasons.
        if rejects:
            written.append(
                _write_rejects(
                    target, rejects, numbered=not rejects_path, replace=bool(rejects_path and replace_rejects)
                )
            )
        return len(rejects)

    parser = (
        _ParseProcess(path, fmt, mapping, name, on_error, progress, memory_mb=memory_mb)
        if worker
        else _ParseThread(path, fmt, mapping, name, on_error, progress)
    )
    with parser:
        # The file's hash (a re-import is refused) is taken while the parser starts (a worker process takes 0.3 s)
        # and reads the first records.
        sha = file_sha256(path)
        if not allow_reimport:
            seen = store.find_source_by_sha(sha)
            if seen is not None:
                raise WinnowError(
                    f"{name}: this exact file was already imported as source {seen['source_id']} ({seen['name']}, "
                    f"{seen['imported_at']:%Y-%m-%d %H:%M}); import it again only on purpose (--allow-reimport)"
                )
        fmt = parser.detected_format()
        result = store.import_source(
            name=name,
            path=str(path),
            sha256=sha,
            fmt=fmt,
            mapping=mapping,
            chunks=parser.chunks(rejects),
            rejected=rejected,
            user=user,
        )
    written_rejects = written[0] if written else None
    kept = str(target) if written_rejects is not None and written_rejects != target else None
    return ImportReport(
        source_id=result["source_id"],
        path=str(path),
        format=fmt,
        imported=result["inserted"],
        duplicates=result["duplicates"],
        rejected=len(rejects),
        rejects_path=str(written_rejects) if written_rejects else None,
        errors=[r["error"] for r in rejects[:MAX_ERRORS]],
        earlier_rejects=kept,
    )


def import_signals(store: Store, *, progress: Callable[[int, int, str], None] | None = None) -> ScoreReport:
    """Compute the cheap heuristic signals (lengths, repetition, language, refusals) for what was just imported;
    what is already scored is skipped.

    Args:
        progress: called as ``progress(done, total, message)``.

    Returns:
        The heuristics scorer's report.
    """
    from core.scoring.runner import run_scorers  # the scorers' registry: only once an import is done

    (report,) = run_scorers(store, ["heuristics"], progress=progress)
    return report
