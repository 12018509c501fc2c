"""The Ray engine: the same scorers, run by an actor pool of Ray Data on a local or remote Ray cluster.

For sets too big for one machine. The local engine (``core.scoring.runner``) stays the default; this one is chosen
with ``score --engine ray`` or the Score page's "Engine". What differs is only where ``score_batch`` runs:

- the driver (the CLI or the app process) reads the contents that have no result for the scorer's key, cuts them into
  shards and hands them to Ray Data as Arrow tables (``core.scoring.shards``);
- ``map_batches`` runs ``ShardScorer`` (``core.scoring.shards``), a callable class whose ``__init__`` sets the
  scorer up, so a model loads once per actor, on ``ActorPoolStrategy(size=actors)`` with ``num_gpus=gpus_per_actor``;
- the driver gathers each shard's rows, writes them as one Parquet file named by shard, merges that file into DuckDB
  in one transaction, and deletes it. Only the driver writes the workspace, so DuckDB keeps its single writer.

A worker's batch is scored with the same batching as the local engine (``iter_scored``), so at the same dtype the
numbers match it (to float noise from padding, well under 1e-6 at fp32).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection

from core.errors import WinnowError
from core.progress import Progress
from core.scoring.base import Scorer
from core.scoring.engines import ScoreReport
from core.scoring.shard_driver import merge_results, plan_shards
from core.scoring.shards import ShardScorer
from core.settings import PROJECT_ROOT

log = logging.getLogger("winnow")


class RayUnavailable(WinnowError):
    """Ray is not installed, or the cluster at the given address cannot be reached."""


def connect(address: str | None, *, num_cpus: int | None = None) -> bool:
    """Make sure this process is connected to Ray. Returns True when this call started the connection (the caller
    then disconnects with ``ray.shutdown()``), False when one was already there.

    Args:
        address: "auto" (a cluster started on this machine with ``ray start``), "ray://host:10001" (Ray Client), a GCS
            address "host:6379", or None/"" for ``RAY_ADDRESS`` or else a new local Ray on this machine.
        num_cpus: CPUs of a new local Ray (default: all).

    Raises:
        RayUnavailable: Ray is not installed, or nothing answers at the address (one line, naming it).
    """
    try:
        import ray
    except ImportError:
        raise RayUnavailable("the Ray engine needs Ray: pip install 'ray[data]'") from None
    if ray.is_initialized():
        return False
    address = (address or os.environ.get("RAY_ADDRESS") or "").strip() or None
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("HF_", "WINNOW_", "TRANSFORMERS_"))})
    runtime_env: dict = {"env_vars": env}
    if address and address.startswith("ray://"):  # workers on other machines get our code shipped with the job
        runtime_env = {"env_vars": {k: v for k, v in env.items() if k != "PYTHONPATH"}}
        runtime_env["py_modules"] = [str(PROJECT_ROOT / "core")]
    if address and address != "auto":
        _check_reachable(address)
    kwargs: dict = {"address": address, "runtime_env": runtime_env, "log_to_driver": False}
    if address is None:
        kwargs.update(num_cpus=num_cpus, include_dashboard=False)
    try:
        ray.init(**kwargs)
    except Exception as error:  # ConnectionError, TimeoutError, RuntimeError ... depending on the kind of address
        where = address or "a new local Ray"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RayUnavailable(f"cannot reach Ray at {where}: {first}") from None
    return True


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast, in one line, when nothing listens at ``host:port``: ``ray.init`` would retry for a minute or more."""
    import socket

    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"cannot reach Ray at {address}: give host:port (or ray://host:10001, or auto)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise RayUnavailable(f"cannot reach Ray at {address}: {error.strerror or error}") from None


def _quiet_ray_data() -> None:
    import ray.data

    for name in ("ray.data", "ray.data.context", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # progress goes through our own callback
    context.print_on_execution_start = False


def run_scorer_on_ray(
    store,
    scorer: Scorer,
    *,
    actors: int = 1,
    gpus_per_actor: float = 0.0,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    token_budget: int | None = None,
    shard_size: int = 256,
    among: Collection[str] | None = None,
) -> ScoreReport:
    """Score every content of the workspace that has no result under ``scorer.key``, on the connected Ray.

    Result files left by a killed run are merged first; then only what still has no result goes out.

    Args:
        actors: size of the actor pool (each loads the model once).
        gpus_per_actor: GPUs each actor asks Ray for (0: CPU; 0.5: two actors share one GPU).
        progress: (contents done, contents to do, message) as shards are merged.
        cancelled: polled as results come in; True stops the run with ``Cancelled`` (merged shards are kept).
        token_budget: padded tokens per batch inside a worker (default: the scorer's own).
        shard_size: contents per shard.
        among: score only these content hashes (None: every content).

    Returns:
        A ``ScoreReport`` (as the local engine's).

    Raises:
        WorkerFailed: a worker could not score some samples (their ids and its message); their shard is not merged.
        Cancelled: ``cancelled()`` said so.
    """
    import ray.data

    plan = plan_shards(store, scorer, shard_size=shard_size, among=among)
    if progress:
        progress(0, plan.todo, f"{scorer.name}: starting {actors} Ray actor(s)")
    log.info("%s on Ray: %d of %d contents to score (key %s)", scorer.name, plan.todo, plan.total, scorer.key)
    if not plan.todo:
        return merge_results(store, plan, [], progress=progress, cancelled=cancelled)
    _quiet_ray_data()
    # All shards go to Ray at once: its object store holds them for the actors (the worker process takes them one
    # at a time instead).
    dataset = ray.data.from_arrow(list(plan.shards())).map_batches(
        ShardScorer,
        fn_constructor_args=(scorer, token_budget),
        compute=ray.data.ActorPoolStrategy(size=max(1, actors)),
        num_gpus=gpus_per_actor or None,
        batch_size=shard_size,
        batch_format="pyarrow",
    )
    batches = dataset.iter_batches(batch_format="pyarrow", batch_size=None)
    try:
        return merge_results(store, plan, batches, progress=progress, cancelled=cancelled)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stops the pipeline (and its actors) when we leave early
