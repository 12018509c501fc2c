"""The scorer interface, the registry of scorers, and token-budget batching.

A scorer turns a batch of samples into one row of column values per sample. It knows nothing about the workspace:
the runner (in core) reads the samples that have no result for ``scorer.key`` yet, calls ``score_batch`` on batches
made by ``batches_by_budget`` and writes each batch's rows in one transaction.

A sample is a dict: ``{"id", "content_hash", "messages": [{"role", "content", ...}], "tools"}``.

Life cycle (the shape of Lilac's signals)::

    scorer = get_scorer("ifd", template="chat")   # cheap: no model is loaded
    scorer.key                                    # "ifd/v1/9c1e0b3f5a7d2e48": what the results are stored under
    with scorer:                                  # setup(): loads the model; teardown() on exit
        scorer.columns                            # exact column types (an embedder's dimension is known only now)
        for batch in batches_by_budget(samples, scorer.cost, scorer.token_budget, scorer.max_batch):
            rows = scorer.score_batch(batch)      # one dict (or None) per sample, same order
"""

from __future__ import annotations

import hashlib
import json
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from core.errors import Cancelled
from core.settings import Settings, load_settings


class Scorer:
    """Base class of every scorer. Subclasses set the class attributes and implement ``score_batch``.

    Class attributes:
        name: registry name, also the prefix of ``key`` and usually of the column names.
        version: bump it when a change alters the numbers; old results then stop matching ``key``.
        columns: output column -> DuckDB type. Instances copy it and may refine it in ``setup()``.
        column_titles: output column -> what it is in a few words, as the pages show it ("answer length (chars)");
            the column's name goes in the help text. A column without words is shown by its name.
        default_params: every parameter the scorer accepts and its default. Parameters change the numbers, so they
            are part of ``key``. Values must be JSON-able.
        token_budget: padded tokens per batch the runner should aim for (see ``batches_by_budget``).
        max_batch: most samples per batch.
        shard_size: contents per shard when a worker process scores (``core.scoring.process_engine``): how often a
            job's progress moves and a cancel is seen there, so a slow scorer takes small shards.

    Runtime choices that do not change the numbers beyond float noise (device, dtype, cache folder, batch size) come
    from ``settings`` and are not part of the key, so a workspace scored on a GPU can be topped up on a laptop.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    columns: ClassVar[dict[str, str]] = {}
    column_titles: ClassVar[dict[str, str]] = {}
    default_params: ClassVar[dict] = {}
    token_budget: ClassVar[int] = 8192
    max_batch: ClassVar[int] = 64
    shard_size: ClassVar[int] = 256

    def __init__(self, settings: Settings | None = None, **params):
        unknown = sorted(set(params) - set(self.default_params))
        if unknown:
            raise ValueError(
                f"scorer {self.name!r} has no parameter {', '.join(unknown)}; "
                f"it takes {', '.join(sorted(self.default_params)) or 'none'}"
            )
        self.settings = settings or load_settings()
        self.params = self.resolve_params({**self.default_params, **params})
        self.columns = dict(type(self).columns)  # an instance attribute: setup() may refine it
        self.ready = False

    def resolve_params(self, params: dict) -> dict:
        """Validate and normalize the parameters (e.g. fill the model from settings). Override when needed."""
        return params

    @property
    def key(self) -> str:
        """The name results are stored under: ``"<name>/v<version>/<16 hex digits>"``.

        The digits are the start of the SHA-256 of the parameters as canonical JSON (sorted keys, no spaces), so
        equal parameters give equal keys across processes and machines, and any parameter change (another model,
        template or max length) gives a new key whose results start empty.
        """
        canonical = json.dumps(self.params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"{self.name}/v{self.version}/{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"

    def describe(self) -> dict:
        """``{"key", "name", "version", "params", "columns"}``: what the runner records next to the key."""
        return {
            "key": self.key,
            "name": self.name,
            "version": self.version,
            "params": dict(self.params),
            "columns": dict(self.columns),
        }

    def bind_workspace(self, store) -> None:
        """Read what the scorer needs from the workspace besides the samples, before ``setup`` (the runner calls it).
        Only the decontamination scorer needs anything (the eval sets); what it reads must show in ``params``, so
        that the key changes with it."""

    def setup(self) -> None:
        """Load models and other heavy state. Called once before the first ``score_batch``; idempotent."""
        self.ready = True

    def teardown(self) -> None:
        """Drop references to heavy state. The process-wide model cache (core.models.language) keeps the model itself."""
        self.ready = False

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        """Score a batch. Returns one item per sample, in order: a dict with every key of ``columns`` (values may
        be None), or None when the scorer does not apply to that sample."""
        raise NotImplementedError

    def cost(self, sample: dict) -> int:
        """Estimated tokens of the sample, for ``batches_by_budget``. Cheap; no tokenizer."""
        return estimate_tokens(" ".join(_text(m) for m in sample.get("messages") or ()))

    def __enter__(self) -> Scorer:
        if not self.ready:
            self.setup()
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key} {self.params}>"


def _text(message: dict) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token estimate: ~4 ASCII characters per token, ~1 token per other character (CJK, emoji).

    Only used to size batches, so it needs to be fast and roughly proportional, not exact.
    """
    n_chars = len(text)
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - n_chars  # 2 per CJK character, 1 per accented letter
    non_ascii = extra_bytes // 2 if extra_bytes > 1 else extra_bytes
    return 1 + (n_chars - non_ascii) // 4 + non_ascii


# --- registry ------------------------------------------------------------------------------------------------------

_registry: dict[str, type[Scorer]] = {}


def register(cls: type[Scorer]) -> type[Scorer]:
    """Class decorator: add a scorer to the registry under ``cls.name``.

    Raises:
        ValueError: the name is empty or another class already holds it.
    """
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    held = _registry.get(cls.name)
    if held is not None and held is not cls:
        raise ValueError(f"a scorer named {cls.name!r} is already registered ({held.__module__}.{held.__qualname__})")
    _registry[cls.name] = cls
    return cls


def get_scorer(name: str, settings: Settings | None = None, **params) -> Scorer:
    """A new, not yet set up, scorer of the registered class ``name`` with ``params``.

    Raises:
        KeyError: no scorer has that name (the message lists the names).
        ValueError: a parameter the scorer does not take.
    """
    try:
        cls = _registry[name]
    except KeyError:
        raise KeyError(f"no scorer named {name!r}; available: {', '.join(available_scorers())}") from None
    return cls(settings, **params)


def available_scorers() -> list[str]:
    """The registered scorer names, sorted."""
    return sorted(_registry)


def column_title(column: str) -> str:
    """A score column in words, from the scorer that declares it ("h_answer_chars" -> "answer length (chars)").

    Returns:
        The words, or ``column`` itself when no registered scorer has words for it.
    """
    for cls in _registry.values():
        if column in cls.column_titles:
            return cls.column_titles[column]
    return column


def score_text(value) -> str:
    """A score for reading: "—" when missing, yes/no, whole numbers without decimals, others to 4 digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --- batching ------------------------------------------------------------------------------------------------------


def batches_by_budget(
    samples: Iterable[dict],
    cost_fn: Callable[[dict], int],
    token_budget: int,
    max_batch: int,
) -> list[list[dict]]:
    """Split samples into batches whose padded size stays within a token budget.

    Samples are sorted by cost (longest first, so an out-of-memory shows up in the first batch rather than after an
    hour) and cut into runs of similar length, so padding to the longest sample of a batch wastes little. A batch
    holds at most ``max_batch`` samples and, when padded, at most ``token_budget`` tokens
    (``len(batch) * max cost in batch``). A sample costlier than the whole budget gets a batch of its own.

    Returns:
        the batches; every sample appears in exactly one. The order of samples across batches differs from the input.
    """
    if token_budget < 1 or max_batch < 1:
        raise ValueError("token_budget and max_batch must be at least 1")
    costed = sorted(((max(1, int(cost_fn(s))), i, s) for i, s in enumerate(samples)), key=lambda t: (-t[0], t[1]))
    batches: list[list[dict]] = []
    current: list[dict] = []
    width = 0  # costs only fall from here on, so a batch's first sample is its longest and sets its width
    for cost, _, sample in costed:
        if current and (len(current) >= max_batch or (len(current) + 1) * width > token_budget):
            batches.append(current)
            current = []
        if not current:
            width = cost
        current.append(sample)
    if current:
        batches.append(current)
    return batches


def padded_tokens(batch: list[dict], cost_fn: Callable[[dict], int]) -> int:
    """Tokens a batch occupies once padded to its longest sample (for progress and throughput reports)."""
    return len(batch) * max((cost_fn(s) for s in batch), default=0)


def iter_scored(
    scorer: Scorer,
    samples: Iterable[dict],
    *,
    token_budget: int | None = None,
    max_batch: int | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[tuple[list[dict], list[dict | None]]]:
    """Score samples batch by batch, yielding ``(batch, rows)`` so the caller can write each batch as it comes.

    Pure: no workspace access. Sets the scorer up if needed (and leaves it set up).

    Raises:
        Cancelled: ``cancelled()`` returned True between two batches; finished batches were already yielded.
    """
    if not scorer.ready:
        scorer.setup()
    batches = batches_by_budget(
        samples, scorer.cost, token_budget or scorer.token_budget, max_batch or scorer.max_batch
    )
    for batch in batches:
        if cancelled is not None and cancelled():
            raise Cancelled(f"scoring with {scorer.name} was cancelled")
        rows = scorer.score_batch(batch)
        if len(rows) != len(batch):  # a scorer bug would otherwise shift every result onto the wrong sample
            raise RuntimeError(f"{scorer.name} returned {len(rows)} rows for {len(batch)} samples")
        yield batch, rows


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None for None, NaN and infinities (DuckDB DOUBLE columns and JSON exports want that)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- side by side on a CPU -----------------------------------------------------------------------------------------

MAX_CPU_WORKERS = 8  # measured on 2 cores only; past a few, the workers' Python would queue for the GIL


def cpu_workers() -> int:
    """Forward passes to run side by side on a CPU: one per intra-op thread torch would use, at most 8."""
    import torch

    return max(1, min(torch.get_num_threads(), MAX_CPU_WORKERS))


# Worker threads call torch.set_num_threads(1). That sets their own OpenMP and MKL thread counts, which is the point,
# but also the default every *new* thread starts with. Putting the default back while the workers run costs them
# ~8 % here (measured; the workers' own counts stay 1, so it is some process-wide state in the libraries), so it is
# put back when they finish. A thread that first touches torch in between would keep 1 thread for its whole life:
# job threads (core.jobs) therefore set theirs from ``default_threads()`` when they start.
_thread_default_lock = threading.Lock()
_thread_default: int | None = None
_side_by_side_runs = 0


def _on_fresh_thread(fn):
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def default_threads() -> int | None:
    """torch's thread count for new threads as it was before any side-by-side run, or None before the first run."""
    return _thread_default


def use_default_threads() -> None:
    """Give the calling (new) thread the default torch thread count, if a side-by-side run may have hidden it."""
    import sys

    if _thread_default is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(_thread_default)


def run_side_by_side(work: Callable[[object], None], jobs: list, workers: int) -> None:
    """Run ``work(job)`` for every job on ``workers`` threads that pull from one queue, each op single-threaded,
    under ``torch.inference_mode``.

    For models whose matmuls are too small to split well across cores, this beats one job at a time on all cores.
    Give the longest jobs first, so the last one to finish is short. The first error stops the other threads (they
    finish the job in hand) and is raised here; so does an interrupt of the caller.
    """
    import torch

    pending: queue.SimpleQueue = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                while not stop.is_set():
                    try:
                        job = pending.get_nowait()
                    except queue.Empty:
                        return
                    work(job)
        except BaseException as error:  # handed to the caller's thread below
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=loop, name=f"winnow-side-by-side-{n}", daemon=True) for n in range(workers)]
    global _thread_default, _side_by_side_runs
    with _thread_default_lock:
        if _side_by_side_runs == 0:  # no workers of ours hold the default at 1: read it (from a fresh thread)
            _thread_default = _on_fresh_thread(torch.get_num_threads)
        _side_by_side_runs += 1
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()  # an interrupted caller leaves no worker draining the queue behind it
        with _thread_default_lock:
            _side_by_side_runs -= 1
            if _side_by_side_runs == 0:  # from a fresh thread, so the caller's own count is untouched
                _on_fresh_thread(lambda: torch.set_num_threads(_thread_default))
    if errors:
        raise errors[0]
