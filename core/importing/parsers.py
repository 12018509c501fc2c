"""Where an import's parse runs, and how what it emits comes back: a thread of this process, or a worker process.

Parsing and converting is Python and holds the GIL; DuckDB's INSERT releases it. In one process the two still
contend: the parse thread, and the importing thread's conversion of each chunk's Python strings to Arrow, take turns
on the GIL. So a big file is parsed in a worker process, which also builds each chunk's Arrow arrays and sends them
in Arrow's IPC format, which reads back without a copy: the importing process only reads the batch, derives ids and
inserts. Pickled lists would be as cheap to send but leave the string conversion to the importing process.
Measured on 2 idle cores, 1M Alpaca records (380 MB JSON lines) parsed record by record: 12.5-13.5 s end to end
against 18.2 s with a parse thread; 15 s of CPU in all against 19 s. Alpaca JSON lines now take the vectorised path
(core/importing/alpaca_lines.py), which converts mostly in DuckDB, outside the GIL: the worker then parses in about
4.5-5 s of CPU and the importing process takes about 6 (DuckDB's insert and commit about 3.5 of them; see
``Store.import_source`` for why the commit is short). A thread would cost about as much CPU in all; the worker keeps a
hostile file's memory apart, and its allocator can be tuned.

The worker's side of the pipe is core/importing/worker.py; the message format (:func:`_send`, :func:`_read_exactly`)
and the errors that cross it (:func:`_error_payload`, :func:`_rebuild_error`) are here, for both sides.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from core import errors
from core.errors import FormatError, WinnowError
from core.importing import parse
from core.importing.columns import _SCHEMA, _columns
from core.importing.parse import Progress, _parse, _Stopped


class _Parser:
    """Runs :func:`_parse` somewhere else and receives what it emits. Use as a context manager: leaving it stops the
    parser, whether the import finished, failed in the store or was cancelled."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        mapping: dict | None,
        name: str,
        on_error: str,
        progress: Progress | None,
        memory_mb: int | None = None,
        task: str = "import",
    ):
        self.args = (str(path), fmt, mapping, name, on_error, parse.CHUNK)
        self.name = name
        self.progress = progress
        self.memory_mb = memory_mb
        self.task = task  # "import", or "preview" (the worker sends the first records and stops)

    def receive(self) -> tuple[str, object]:
        """The next ``(kind, payload)``; an error the parser raised is raised here."""
        raise NotImplementedError

    def detected_format(self) -> str:
        kind, payload = self.receive()
        assert kind == "format", kind
        return payload

    def chunks(self, rejects: list[dict]) -> Iterator[dict]:
        """Yield the column chunks for ``Store.import_source``, collecting skipped records into ``rejects``."""
        while True:
            kind, payload = self.receive()
            if kind == "end":
                return
            batch, chunk_rejects, done = payload
            rejects.extend(chunk_rejects)
            if self.progress is not None and done is not None:
                self.progress(*done)
            if batch.num_rows:
                yield _columns(batch)


class _ParseThread(_Parser):
    """Parses in a thread of this process: for small files, where starting a process would cost more than it saves."""

    def __enter__(self) -> _ParseThread:
        # The parse thread reports progress itself, as often as the reader does, rather than once a chunk.
        self._progress_in_thread, self.progress = self.progress, None
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="winnow-import-parse", daemon=True)
        self._thread.start()
        return self

    def _emit(self, kind: str, payload: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, payload), timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _run(self) -> None:
        try:
            _parse(*self.args, emit=self._emit, progress=self._progress_in_thread)
        except _Stopped:
            pass
        except BaseException as ex:  # a FormatError, or a bug: hand it to the importing thread, where it surfaces
            with contextlib.suppress(_Stopped):
                self._emit("error", ex)

    def receive(self) -> tuple[str, object]:
        kind, payload = self._queue.get()
        if kind == "error":
            raise payload
        return kind, payload

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class _ParseProcess(_Parser):
    """Parses in a worker process: a fresh interpreter that runs :func:`core.importing.worker._worker_main`.

    Not ``multiprocessing``: its 'spawn' start method runs the parent's main script again in the child, which breaks
    any caller's script without an ``if __name__ == "__main__"`` guard, and 'fork' can deadlock a process that runs
    threads, as the app does. A plain subprocess and one pipe need neither. Each message is a pickled ``(kind,
    payload)`` and, for a chunk, its Arrow record batch (see :func:`_send`). The pipe blocks the worker while a chunk
    waits to be read, so at most about two chunks are in memory.
    """

    def __enter__(self) -> _ParseProcess:
        read_fd, write_fd = os.pipe()
        try:
            # A 1 MiB pipe instead of 64 KiB: 16x fewer reads, writes and wake-ups for the ~400 MB a 1M import sends.
            with contextlib.suppress(ImportError, AttributeError, OSError):  # Linux only; capped by fs.pipe-max-size
                import fcntl

                fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
            # The folder holding the core package, so the worker imports this same code wherever it was started.
            root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            if self.memory_mb is None:
                # glibc's malloc hands blocks over 128 KB back to the system as soon as they are freed, so DuckDB's
                # vectors fault in fresh pages for every chunk: keeping them saves the worker a tenth of its CPU
                # (1M Alpaca records: 0.5 s of 5). Not under a memory cap, which memory kept would count against.
                env.update(MALLOC_MMAP_THRESHOLD_=str(256 << 20), MALLOC_TRIM_THRESHOLD_=str(512 << 20))
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from core.importing.worker import _worker_main; _worker_main()",
                    str(write_fd),
                    json.dumps(self.args),
                    json.dumps({"task": self.task, "memory_mb": self.memory_mb}),
                ],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            # Our copy of the worker's end must go: then a worker that dies ends our reads instead of leaving them
            # waiting forever.
            os.close(write_fd)
        self._pipe = open(read_fd, "rb", buffering=0)
        return self

    def receive(self) -> tuple[str, object]:
        try:
            message_size, batch_size = _HEADER.unpack(_read_exactly(self._pipe, _HEADER.size))
            kind, payload = pickle.loads(_read_exactly(self._pipe, message_size))
            if kind == "chunk":
                # Zero-copy: the batch's columns point into the bytes just read.
                batch = pa.ipc.read_record_batch(_read_exactly(self._pipe, batch_size, _POOL), _SCHEMA)
                payload = (batch, *payload)
        except EOFError:
            try:
                code = self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            why = " (killed: out of memory?)" if code is not None and code < 0 else ""
            outcome = "nothing was imported" if self.task == "import" else "no preview"
            raise WinnowError(
                f"{self.name}: the parser process stopped unexpectedly, exit code {code}{why}; {outcome}"
            ) from None
        if kind == "error":
            raise _rebuild_error(payload)
        return kind, payload

    def __exit__(self, *exc) -> None:
        # After "end" the worker is exiting anyway; after a failure it may be mid-file. Either way it has nothing left
        # that we want, so it is killed rather than asked.
        self._pipe.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


# A message on the pipe: the sizes of its pickled (kind, payload) and of the Arrow batch that follows (0: none).
_HEADER = struct.Struct("<QQ")
# Where the batches sent and received live (45 MB each): not Arrow's default pool (mimalloc), which is slow with
# blocks this big, nor a bytearray, zero-filled first. Receiving a 1M-record import takes 0.5 s of CPU so, against
# 1.5 s from the default pool.
_POOL = pa.system_memory_pool()


def _send(out, kind: str, payload: object, batch: pa.RecordBatch | None = None) -> None:
    data = batch.serialize(memory_pool=_POOL) if batch is not None else b""
    message = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(message), len(data)), message, data):
        view = memoryview(part)
        while view:  # a write to a pipe may be partial
            view = view[out.write(view) :]


def _read_exactly(pipe, size: int, pool: pa.MemoryPool | None = None) -> bytearray | pa.Buffer:
    """``size`` bytes from ``pipe``, read straight into one buffer (from ``pool`` if given, not zero-filled first);
    EOFError if the writer is gone first."""
    buf = bytearray(size) if pool is None else pa.allocate_buffer(size, memory_pool=pool)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = pipe.readinto(view[got:])
        if not n:
            raise EOFError
        got += n
    return buf


def _error_payload(ex: BaseException) -> tuple:
    """What is needed to raise ``ex`` again in the importing process. FormatError's keyword-only location does not
    survive pickling, so errors travel as plain values; anything that is not a WinnowError is a bug and travels as
    its traceback."""
    if isinstance(ex, FormatError):
        return ("FormatError", ex.problem, ex.path, ex.line, ex.record, ex.field)
    if isinstance(ex, WinnowError):
        return (type(ex).__name__, str(ex))
    return ("bug", "".join(traceback.format_exception(ex)))


def _rebuild_error(payload: tuple) -> BaseException:
    kind, *rest = payload
    if kind == "FormatError":
        problem, path, line, record, field_ = rest
        return FormatError(problem, path=path, line=line, record=record, field=field_)
    if kind == "bug":
        return RuntimeError(f"the import's parser process failed:\n{rest[0]}")
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, WinnowError):
        return cls(rest[0])
    return WinnowError(rest[0])
