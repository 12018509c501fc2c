"""Where scorers run, and what a run reports.

Three engines run the same scorers: ``"local"`` in this process (``core.scoring.runner``), ``"local"`` in a worker
process beside it (``core.scoring.process_engine``: the app's jobs, so pages stay responsive) and ``"ray"`` (an actor
pool of Ray Data: ``core.scoring.ray_engine``). They give the same scores; the choice is about responsiveness, speed
and where the hardware is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass

from core.errors import WinnowError


@dataclass(frozen=True)
class Engine:
    """Where scorers run: ``"local"`` (this process, the default; or a worker process with ``in_worker``) or ``"ray"``
    (``core.scoring.ray_engine``).

    Attributes:
        in_worker: local only: score in a worker process beside this one (``core.scoring.process_engine``), which
            the app's jobs do so that pages stay responsive; this process only merges.
        address: Ray only: "auto", "ray://host:10001", "host:6379", or None for ``RAY_ADDRESS`` or a new local Ray.
        actors: Ray only: actors in the pool, each with its own copy of the model.
        gpus_per_actor: Ray only: GPUs each actor asks for (0 on CPUs; 0.5 puts two actors on one GPU).
        shard_size: Ray only: contents per shard (a result file and a transaction; the most a killed run loses).
    """

    kind: str = "local"
    _: KW_ONLY
    in_worker: bool = False
    address: str | None = None
    actors: int = 1
    gpus_per_actor: float = 0.0
    shard_size: int = 256

    def __post_init__(self):
        if self.kind not in ("local", "ray"):
            raise WinnowError(f"unknown engine {self.kind!r}; use local or ray")
        if self.actors < 1:
            raise WinnowError(f"the Ray engine needs at least 1 actor, not {self.actors}")
        if self.shard_size < 1:
            raise WinnowError(f"a shard holds at least 1 content, not {self.shard_size}")
        if self.gpus_per_actor < 0:
            raise WinnowError(f"GPUs per actor cannot be negative ({self.gpus_per_actor})")

    def __str__(self) -> str:
        if self.kind == "local":
            return "local, in a worker process" if self.in_worker else "local"
        gpus = f", {self.gpus_per_actor:g} GPU each" if self.gpus_per_actor else ""
        return f"Ray at {self.address or 'a new local Ray'}, {self.actors} actor(s){gpus}"


_defaults = threading.local()


@contextmanager
def scoring_in_worker() -> Iterator[None]:
    """Within this block, on this thread, scorers run without an explicit engine run in the worker process: the
    app's jobs (``core.jobs``) run in one, so every page's scoring (Score, Select, Explore, an import's signals, the
    demo's preparation) leaves the app's interpreter to its sessions."""
    before = getattr(_defaults, "in_worker", False)
    _defaults.in_worker = True
    try:
        yield
    finally:
        _defaults.in_worker = before


def default_engine() -> Engine:
    """The engine for a run that names none: the worker process inside ``scoring_in_worker``, else this process."""
    return Engine("local", in_worker=getattr(_defaults, "in_worker", False))


@dataclass
class ScoreReport:
    scorer: str
    key: str
    scored: int
    already: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.scorer}: scored {self.scored} new contents in {self.seconds:.1f} s "
            f"({self.already} already had results)"
        )
