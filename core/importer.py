"""Import a file into a workspace: read, detect, validate every record, then commit all at once.

The default is all-or-nothing: the first bad record stops the import with a message naming the file, the line or
record, the field and what was expected, and the workspace is unchanged. With ``on_error="skip"`` the good records
are imported and the bad ones are written, with their reasons, to a rejects file (JSON lines).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pyarrow as pa

from core import errors, formats
from core.errors import FormatError, WinnowError
from core.pause_points import pause_point

if TYPE_CHECKING:  # the worker process imports this module: it need not load DuckDB
    from core.store import Store

DETECT_SAMPLE = 50
CHUNK = 50_000  # records per insert; parsing the next chunk overlaps DuckDB writing this one
CHUNK_BYTES = 64 << 20  # ...or fewer, once their records take this much as JSON: long records keep chunks small
# Files at least this big are parsed in a worker process (see _ParseProcess). Starting one costs about 0.25 s and 0.5 s
# of CPU, and only pays once parsing and inserting overlap over several chunks. Measured on 2 cores: at 8 MB (21k Alpaca
# records) a worker is twice slower than a thread (0.8 s against 0.4 s), at 38 MB (100k) they are even.
PROCESS_MIN_BYTES = 64 << 20
MAX_ERRORS = 20  # skipped records' messages kept in ImportReport.errors (all of them are in the rejects file)

Progress = Callable[[int, int | None], None]


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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
        fmt: "auto" to detect, or one of ``formats.FORMATS``. A mapping implies "mapped".
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
        mapping = formats.parse_mapping(mapping)
    if mapping:
        if fmt not in ("auto", "mapped"):
            raise WinnowError(f"a field mapping imports as format 'mapped'; drop --format {fmt} or the mapping")
        fmt = "mapped"
    elif fmt == "mapped":
        raise WinnowError("format 'mapped' needs a field mapping, e.g. --map prompt=question,response=answer")
    elif fmt != "auto" and fmt not in formats.FORMATS:
        raise WinnowError(f"unknown format {fmt!r}; expected auto or one of {', '.join(formats.FORMATS)}")

    sha = file_sha256(path)
    if not allow_reimport:
        seen = store.find_source_by_sha(sha)
        if seen is not None:
            raise WinnowError(
                f"{name}: this exact file was already imported as source {seen['source_id']} ({seen['name']}, "
                f"{seen['imported_at']:%Y-%m-%d %H:%M}); import it again only on purpose (--allow-reimport)"
            )

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


# --------------------------------------------------------------------------------------------------------------------
# Parsing: read, detect, convert, and hand column chunks to the store's transaction.
#
# Parsing and converting is Python and holds the GIL; DuckDB's INSERT releases it. In one process the two still
# contend: the parse thread, and the importing thread's conversion of each chunk's Python strings to Arrow, take turns
# on the GIL. So a big file is parsed in a worker process, which also builds each chunk's Arrow arrays and sends them
# in Arrow's IPC format, which reads back without a copy: the importing process only reads the batch, derives ids and
# inserts. Pickled lists would be as cheap to send but leave the string conversion to the importing process.
# Measured on 2 idle cores, 1M Alpaca records (380 MB JSON lines): 12.5-13.5 s end to end (75-80k records/s) against
# 18.2 s with a parse thread; 15 s of CPU in all against 19 s. The worker parses in about 8 s of CPU and DuckDB
# inserts in about 7, so neither waits long for the other.


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
    ``chunk`` good records, where ``batch`` is a ``pyarrow.RecordBatch`` of :data:`_SCHEMA`, ``rejects`` the
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

    records = formats.iter_records(path, progress=note)
    head = list(itertools.islice(records, DETECT_SAMPLE))
    if not head:
        raise FormatError("file holds no records", path=path)
    if fmt == "auto":
        fmt = formats.detect_format([r.data for r in head], path=path, lines=[r.line for r in head])
    if mapping:
        formats.check_mapping(mapping, [r.data for r in head], path=path)
    emit("format", fmt)
    pause_point("import.parsed_head")

    # The hot loop of a big import (about 10 us a record): names bound locally, one list per column.
    to_canonical, prompt_text, answer_text = formats.to_canonical, formats.prompt_text, formats.answer_text
    content_hash, dumps = formats.content_hash, orjson.dumps
    index: list[int] = []
    raw: list[bytes] = []
    tools: list[bytes | None] = []
    prompt: list[str] = []
    answer: list[str] = []
    n_turns: list[int] = []
    hashes: list[str] = []
    rejects: list[dict] = []
    good = 0
    held = 0  # bytes of JSON in the chunk being built
    for i, line, data in itertools.chain(head, records):
        try:
            c = to_canonical(data, fmt, mapping)
        except FormatError as ex:
            if on_error == "abort":
                raise ex.located(path=name, line=line, record=i) from None
            located = ex.located(path=name, line=line, record=i)
            # Counted from 1 like the message: the file's line where the record starts, and its number in the file.
            rejects.append({"record": i + 1, "line": line, "error": str(located), "data": data})
            continue
        messages = c.messages
        index.append(i)
        # default=str: Parquet and CSV extras may hold bytes, decimals or dates, which JSON has no type for.
        # Kept as bytes: Arrow takes orjson's UTF-8 as it is, without a round trip through str.
        raw.append(dumps(data, default=str))
        held += len(raw[-1])
        tools.append(None if c.tools is None else dumps(c.tools, default=str))
        if len(messages) == 2:  # most records; a valid conversation of two messages is [user, assistant]
            prompt.append(messages[0]["content"])
            answer.append(messages[1]["content"])
            n_turns.append(1)
        else:
            prompt.append(prompt_text(messages))
            answer.append(answer_text(messages))
            n_turns.append([m["role"] for m in messages].count("user"))
        hashes.append(content_hash(messages, c.tools))
        if len(hashes) >= chunk or held >= CHUNK_BYTES:
            good += len(hashes)
            held = 0
            emit("chunk", (_batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects, latest[0]))
            index, raw, tools, prompt, answer, n_turns, hashes, rejects = [], [], [], [], [], [], [], []
    good += len(hashes)
    if not good:
        # No chunk went out, so ``rejects`` holds every skipped record; nothing is written, so say why here.
        first = f"; the first: {rejects[0]['error']}" if rejects else ""
        raise FormatError(f"no record could be imported ({len(rejects)} rejected{first})", path=name)
    emit("chunk", (_batch(index, raw, tools, prompt, answer, n_turns, hashes), rejects, latest[0]))
    emit("end", None)


_SCHEMA = pa.schema(
    [
        ("source_index", pa.int64()),
        ("raw", pa.string()),
        ("tools", pa.string()),
        ("prompt", pa.string()),
        ("answer", pa.string()),
        ("n_turns", pa.int32()),
        ("content_hash", pa.string()),
    ]
)


def _batch(index, raw, tools, prompt, answer, n_turns, hashes) -> pa.RecordBatch:
    # orjson only writes valid UTF-8, so its bytes can be viewed as strings without a check.
    return pa.record_batch(
        [
            pa.array(index, pa.int64()),
            pa.array(raw, pa.binary()).view(pa.string()),
            pa.array(tools, pa.binary()).view(pa.string()),
            pa.array(prompt, pa.string()),
            pa.array(answer, pa.string()),
            pa.array(n_turns, pa.int32()),
            pa.array(hashes, pa.string()),
        ],
        schema=_SCHEMA,
    )


def _columns(batch: pa.RecordBatch) -> dict:
    """A chunk as the store takes it: Arrow arrays pass through its ``pa.array`` calls untouched (no copy); the
    content hashes are a list because the store derives ids from them in a Python loop."""
    columns: dict = {k: batch.column(k) for k in _SCHEMA.names}
    columns["content_hash"] = columns["content_hash"].to_pylist()
    return columns


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
        self.args = (str(path), fmt, mapping, name, on_error, CHUNK)
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
    """Parses in a worker process: a fresh interpreter that runs :func:`_worker_main`.

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
            root = str(Path(__file__).resolve().parent.parent)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from core.importer import _worker_main; _worker_main()",
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
                batch = pa.ipc.read_record_batch(pa.py_buffer(_read_exactly(self._pipe, batch_size)), _SCHEMA)
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


def _send(out, kind: str, payload: object, batch: pa.RecordBatch | None = None) -> None:
    data = batch.serialize() if batch is not None else b""
    message = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(message), len(data)), message, data):
        view = memoryview(part)
        while view:  # a write to a pipe may be partial
            view = view[out.write(view) :]


def _read_exactly(pipe, size: int) -> bytearray:
    """``size`` bytes from ``pipe``, read straight into one buffer; EOFError if the writer is gone first."""
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = pipe.readinto(view[got:])
        if not n:
            raise EOFError
        got += n
    return buf


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
    records = formats.iter_records(path)
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
