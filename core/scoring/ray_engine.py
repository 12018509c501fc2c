"""The Ray engine: the same scorers, run by an actor pool of Ray Data on a local or remote Ray cluster.

For sets too big for one machine. The local engine (``core.scoring.runner``) stays the default; this one is chosen
with ``score --engine ray`` or the Score page's "Engine". What differs is only where ``score_batch`` runs:

- the driver (the CLI or the app process) reads the contents that have no result for the scorer's key, cuts them into
  shards and hands them to Ray Data as Arrow tables (``core.scoring.shards``);
- ``map_batches`` runs ``ScorerActor``, a callable class whose ``__init__`` sets the scorer up, so a model loads once
  per actor, on ``ActorPoolStrategy(size=actors)`` with ``num_gpus=gpus_per_actor``;
- the driver gathers each shard's rows, writes them as one Parquet file named by shard, merges that file into DuckDB
  in one transaction, and deletes it. Only the driver writes the workspace, so DuckDB keeps its single writer.

A worker's batch is scored with the same batching as the local engine (``iter_scored``), so at the same dtype the
numbers match it (to float noise from padding, well under 1e-6 at fp32).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Collection

import pyarrow as pa

from core.errors import Cancelled, WinnowError
from core.progress import Progress
from core.scoring.base import Scorer, iter_scored
from core.scoring.engines import ScoreReport
from core.scoring.shards import (
    COLUMNS_COLUMN,
    ERROR_COLUMN,
    SHARD_COLUMN,
    ShardFolder,
    input_table,
    result_table,
    samples_of,
)
from core.settings import PROJECT_ROOT

log = logging.getLogger("winnow")

PAGE = 8192  # contents read from the workspace at a time


class RayUnavailable(WinnowError):
    """Ray is not installed, or the cluster at the given address cannot be reached."""


class WorkerFailed(WinnowError):
    """A Ray worker could not score some samples; the message names them and says what the worker said."""


class ScorerActor:
    """What each actor of the pool runs: set the scorer up once, then score whatever batches Ray Data hands it.

    A failure does not raise here (Ray would retry and then wrap it in its own traceback): the rows come back with the
    worker's message in ``_error``, and the driver stops the run with the sample ids and that message.
    """

    def __init__(self, scorer: Scorer, token_budget: int | None):
        from core.scoring.base import use_default_threads

        use_default_threads()
        self.scorer = scorer
        self.token_budget = token_budget
        self.setup_error: str | None = None
        try:
            scorer.setup()
        except Exception as error:  # said on the first batch, with the samples it was meant for
            self.setup_error = f"{type(error).__name__}: {error}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        hashes = batch["content_hash"].to_pylist()
        shards = batch[SHARD_COLUMN].to_pylist()
        columns = self.scorer.columns
        if self.setup_error is not None:
            return result_table(columns, hashes, shards, None, self.setup_error)
        by_hash: dict[str, dict | None] = {}
        try:
            for scored, rows in iter_scored(self.scorer, samples_of(batch), token_budget=self.token_budget):
                for sample, row in zip(scored, rows, strict=True):
                    by_hash[sample["content_hash"]] = row
        except Exception:
            return self._one_by_one(batch, hashes, shards)
        return result_table(columns, hashes, shards, [by_hash[h] for h in hashes], None)

    def _one_by_one(self, batch: pa.Table, hashes: list[str], shards: list[int]) -> pa.Table:
        """After a batch failed: score each sample alone, so the error names the samples that fail, not their
        batch mates. Slow, but only on the way to stopping the run."""
        parts = []
        for i, sample in enumerate(samples_of(batch)):
            try:
                row = self.scorer.score_batch([sample])[0]
                parts.append(result_table(self.scorer.columns, [hashes[i]], [shards[i]], [row], None))
            except Exception as error:
                message = f"{type(error).__name__}: {error}"
                parts.append(result_table(self.scorer.columns, [hashes[i]], [shards[i]], None, message))
        return pa.concat_tables(parts)


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
):
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

    started = time.perf_counter()
    folder = ShardFolder(store.path, scorer.name, scorer.key)
    recovered = sum(folder.merge(store, scorer.name, scorer.key, scorer.params, p) for p in folder.pending())
    if recovered:
        log.info("%s: merged %d results a killed run had left", scorer.name, recovered)
    total = store.count_contents() if among is None else len(set(among))
    rids = store.unscored_rids(scorer.name, scorer.key, among=None if among is None else list(among))
    todo = len(rids)
    current = store.scorer_keys().get(scorer.name, {}).get("key")
    if todo == 0 and current != scorer.key:  # nothing to score, but the key becomes current, with its exact columns
        with scorer:
            store.ensure_scorer(scorer.name, scorer.key, scorer.columns, scorer.params)
    if progress:
        progress(0, todo, f"{scorer.name}: starting {actors} Ray actor(s)")
    log.info("%s on Ray: %d of %d contents to score (key %s)", scorer.name, todo, total, scorer.key)
    first = folder.next_shard()
    tables, expected = [], {}
    for start in range(0, todo, PAGE):
        page = store.contents_at(rids[start : start + PAGE])
        for at in range(0, len(page), shard_size):
            shard = first + len(tables)
            tables.append(input_table(page[at : at + shard_size], shard))
            expected[shard] = tables[-1].num_rows
    done = 0
    if tables:
        _quiet_ray_data()
        dataset = ray.data.from_arrow(tables).map_batches(
            ScorerActor,
            fn_constructor_args=(scorer, token_budget),
            compute=ray.data.ActorPoolStrategy(size=max(1, actors)),
            num_gpus=gpus_per_actor or None,
            batch_size=shard_size,
            batch_format="pyarrow",
        )
        gathered: dict[int, list[pa.Table]] = defaultdict(list)
        got: dict[int, int] = defaultdict(int)
        batches = dataset.iter_batches(batch_format="pyarrow", batch_size=None)
        try:
            for batch in batches:
                _raise_worker_error(store, scorer, batch)
                for shard, part in _split_by_shard(batch):
                    gathered[shard].append(part)
                    got[shard] += part.num_rows
                    if got[shard] == expected[shard]:  # whole: write it, merge it, forget it
                        path = folder.write(shard, pa.concat_tables(gathered.pop(shard)))
                        done += folder.merge(store, scorer.name, scorer.key, scorer.params, path)
                        if progress:
                            progress(done, todo, f"{scorer.name}: {done} of {todo}")
                if cancelled is not None and cancelled():
                    raise Cancelled(f"scoring with {scorer.name} was cancelled")
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # stops the pipeline (and its actors) when we leave early
    folder.clean()
    return ScoreReport(scorer.name, scorer.key, done, total - todo, time.perf_counter() - started)


def _split_by_shard(batch: pa.Table) -> list[tuple[int, pa.Table]]:
    shards = batch[SHARD_COLUMN].to_pylist()
    if len(set(shards)) == 1:
        return [(shards[0], batch)]
    import pyarrow.compute as pc

    return [(s, batch.filter(pc.equal(batch[SHARD_COLUMN], s))) for s in sorted(set(shards))]


def _raise_worker_error(store, scorer: Scorer, batch: pa.Table) -> None:
    errors = [e for e in batch[ERROR_COLUMN].to_pylist() if e is not None]
    if not errors:
        return
    failed = [h for h, e in zip(batch["content_hash"].to_pylist(), batch[ERROR_COLUMN].to_pylist()) if e is not None]
    ids = store.ids_of_contents(failed)
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    said = " ".join(errors[0].split())  # one line, whatever the worker's message looked like
    raise WorkerFailed(f"{scorer.name} failed on a Ray worker for samples {shown}: {said}")


__all__ = ["COLUMNS_COLUMN", "RayUnavailable", "ScorerActor", "WorkerFailed", "connect", "run_scorer_on_ray"]
