"""The import's worker process: ``python -c "from core.importing.worker import _worker_main; _worker_main()"``.

Started by :class:`core.importing.parsers._ParseProcess`, it parses a file (or reads its preview) under a memory cap
and sends every step through its pipe.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys

from core.importing import parse
from core.importing.parse import _parse
from core.importing.parsers import _error_payload, _send
from core.importing.preview import _read_preview


def _worker_main() -> None:
    """The worker process's main (``argv``: the pipe's fd, then :func:`_parse`'s arguments as JSON): parse, sending
    every step through the pipe; errors go the same way."""
    # Ctrl-C in a terminal reaches the whole process group: the importing process decides, and stops us if need be.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = open(int(sys.argv[1]), "wb", buffering=0)  # noqa: SIM115 (closed below)
    path, fmt, mapping, name, on_error, chunk = json.loads(sys.argv[2])
    options = json.loads(sys.argv[3])
    memory_mb = options["memory_mb"]
    if memory_mb is not None:
        _cap_memory(memory_mb)
        # DuckDB reserves address space that the cap counts, and Arrow's allocations then fail: a capped worker
        # takes the exact path for Alpaca JSON lines too.
        parse.VECTORISED = False

    def emit(kind: str, payload: object) -> None:
        if kind == "chunk":
            batch, rejects, done = payload
            _send(out, kind, (rejects, done), batch)
        else:
            _send(out, kind, payload)

    try:
        if options["task"] == "preview":
            _send(out, "preview", _read_preview(path, name))
        else:
            _parse(path, fmt, mapping, name, on_error, chunk, emit)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the importing process is gone or gave up on us
    except MemoryError:
        with contextlib.suppress(OSError):
            _send(out, "error", ("WinnowError", _out_of_memory(name, memory_mb)))
    except BaseException as ex:
        with contextlib.suppress(OSError):  # the importing process is gone
            _send(out, "error", _error_payload(ex))
    finally:
        with contextlib.suppress(OSError):
            out.close()


def _cap_memory(memory_mb: int) -> None:
    """Let this process map at most ``memory_mb`` MB: past it, allocations fail with MemoryError (Python's and
    Arrow's alike) instead of taking the machine's memory. POSIX only; elsewhere the cap is not applied."""
    try:
        import resource
    except ImportError:
        return
    limit = memory_mb << 20
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit set by the system stays
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _out_of_memory(name: str, memory_mb: int | None) -> str:
    cap = f"the {memory_mb} MB the import may use (WINNOW_IMPORT_MEMORY_MB)" if memory_mb else "the memory there is"
    return (
        f"{name}: reading this file needs more than {cap}; nothing was imported. A small file that expands this "
        "much (compressed or dictionary-encoded repeats) is not SFT data; otherwise split it"
    )
