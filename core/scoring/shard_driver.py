"""The driver's side of a sharded scoring run, shared by the engines that score outside this thread (Ray, worker
processes): cut what has no result into shards, gather each shard's rows as workers return them, write and merge.

The workers' side is ``ShardScorer`` (``core.scoring.shards``); the engines only move tables between the two.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from core.errors import Cancelled, WinnowError
from core.progress import Progress
from core.scoring.base import Scorer
from core.scoring.engines import ScoreReport
from core.scoring.shards import ERROR_COLUMN, SHARD_COLUMN, ShardFolder, input_table

log = logging.getLogger("winnow")

PAGE = 8192  # contents read from the workspace at a time


class WorkerFailed(WinnowError):
    """A worker could not score some samples; the message names them and says what the worker said."""


@dataclass
class ShardPlan:
    """What a run sends out: the contents without a result, cut into shards (Arrow tables) as they are sent, and how
    many rows each shard must come back with."""

    scorer: Scorer
    folder: ShardFolder
    started: float
    total: int  # contents in scope
    recovered: int  # results a killed run had left, merged before planning
    store: object
    rids: list[int]  # a sample of each content without a result, in workspace order
    shard_size: int
    first: int  # the first shard's number
    expected: dict[int, int] = field(default_factory=dict)

    @property
    def todo(self) -> int:
        """Contents without a result."""
        return len(self.rids)

    def shards(self) -> Iterator[pa.Table]:
        """The shards, read from the workspace a page at a time as they are asked for: a job's first shard goes out
        at once, and a run over a million contents never holds them all (nor spends its thread reading them, which
        the app's sessions would wait for)."""
        shard = self.first
        for start in range(0, len(self.rids), PAGE):
            page = self.store.contents_at(self.rids[start : start + PAGE])
            for at in range(0, len(page), self.shard_size):
                table = input_table(page[at : at + self.shard_size], shard)
                self.expected[shard] = table.num_rows
                shard += 1
                yield table


def plan_shards(store, scorer: Scorer, *, shard_size: int, among: Collection[str] | None = None) -> ShardPlan:
    """Merge what a killed run left, then plan the shards of the contents still without a result for ``scorer.key``
    (``ShardPlan.shards`` reads them as they go out).

    When nothing is left but the key is not the current one yet, the scorer is set up here to record its exact
    columns (an embedder's dimension), as the local engine does.
    """
    started = time.perf_counter()
    folder = ShardFolder(store.path, scorer.name, scorer.key)
    recovered = sum(folder.merge(store, scorer.name, scorer.key, scorer.params, p) for p in folder.pending())
    if recovered:
        log.info("%s: merged %d results a killed run had left", scorer.name, recovered)
    total = store.count_contents() if among is None else len(set(among))
    rids = store.unscored_rids(scorer.name, scorer.key, among=None if among is None else list(among))
    if not rids and store.scorer_keys().get(scorer.name, {}).get("key") != scorer.key:
        with scorer:
            store.ensure_scorer(scorer.name, scorer.key, scorer.columns, scorer.params)
    return ShardPlan(scorer, folder, started, total, recovered, store, rids, shard_size, folder.next_shard())


def merge_results(
    store,
    plan: ShardPlan,
    results: Iterable[pa.Table],
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ScoreReport:
    """Gather the workers' result tables by shard; write and merge each shard once it is whole.

    Raises:
        WorkerFailed: a result carries a worker's error (the sample ids and its message); that shard is not merged.
        Cancelled: ``cancelled()`` said so, or ``progress`` raised it (merged shards are kept).
    """
    scorer, folder = plan.scorer, plan.folder
    gathered: dict[int, list[pa.Table]] = defaultdict(list)
    got: dict[int, int] = defaultdict(int)
    done = 0
    try:
        for batch in results:
            _raise_worker_error(store, scorer, batch)
            for shard, part in _split_by_shard(batch):
                gathered[shard].append(part)
                got[shard] += part.num_rows
                if got[shard] == plan.expected[shard]:  # whole: write it, merge it, forget it
                    path = folder.write(shard, pa.concat_tables(gathered.pop(shard)))
                    done += folder.merge(store, scorer.name, scorer.key, scorer.params, path)
                    if progress:
                        progress(done, plan.todo, f"{scorer.name}: {done} of {plan.todo}")
            if cancelled is not None and cancelled():
                raise Cancelled(f"scoring with {scorer.name} was cancelled")
    finally:
        folder.clean()  # only when nothing waits to be merged
    seconds = time.perf_counter() - plan.started
    return ScoreReport(scorer.name, scorer.key, done, plan.total - plan.todo, seconds)


def _split_by_shard(batch: pa.Table) -> list[tuple[int, pa.Table]]:
    shards = batch[SHARD_COLUMN].to_pylist()
    if len(set(shards)) == 1:
        return [(shards[0], batch)]
    import pyarrow.compute as pc

    return [(s, batch.filter(pc.equal(batch[SHARD_COLUMN], s))) for s in sorted(set(shards))]


def _raise_worker_error(store, scorer: Scorer, batch: pa.Table) -> None:
    errors = batch[ERROR_COLUMN].to_pylist()
    failed = [h for h, e in zip(batch["content_hash"].to_pylist(), errors, strict=True) if e is not None]
    if not failed:
        return
    ids = store.ids_of_contents(failed)
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    said = " ".join(next(e for e in errors if e is not None).split())  # one line, whatever the worker wrote
    raise WorkerFailed(f"{scorer.name} failed on a worker for samples {shown}: {said}")
