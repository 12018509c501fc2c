"""The one runner for all scorers: find what has no result yet, score it in batches, write each batch.

Results are keyed by (content_hash, scorer key), so:
- editing a sample changes its content hash and re-queues only that sample;
- duplicates are scored once;
- a killed run loses at most the batch in flight, because each batch is written in its own transaction, and the
  next run resumes with what is left.

The runner is the only part of scoring that touches the workspace. Scorers stay pure batch functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

from core.errors import WinnowError
from core.models.access import check_model_allowed
from core.pause_points import pause_point
from core.progress import Progress
from core.scoring.base import Scorer, get_scorer, iter_scored
from core.scoring.engines import Engine, ScoreReport, default_engine
from core.settings import Settings
from core.store import Store

log = logging.getLogger("winnow")

# Contents read from the workspace at a time; each read is then cut into token-budget batches.
PAGE = 2048

# (done, total, message) -> None. May raise Cancelled (the jobs module does when a cancel was requested).


def run_scorer(
    store: Store,
    scorer: Scorer,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    limit: int | None = None,
    token_budget: int | None = None,
    among: Collection[str] | None = None,
) -> ScoreReport:
    """Score every content in the workspace that has no result under ``scorer.key``.

    Args:
        progress: called after each batch with (contents done, contents to do, message).
        cancelled: polled between batches; True stops the run with ``Cancelled`` (finished batches are kept).
        limit: score at most this many contents (for trials and benchmarks).
        token_budget: padded tokens per batch (default: the scorer's own); lower it when memory is short.
        among: score only these content hashes (None: every content).

    Returns:
        A ScoreReport; with ``among``, its counts are of those contents.
    """
    started = time.perf_counter()
    with scorer:
        store.ensure_scorer(scorer.name, scorer.key, scorer.columns, scorer.params)
        total = store.count_contents() if among is None else len(set(among))
        rids = store.unscored_rids(scorer.name, scorer.key, among=None if among is None else list(among))
        unscored = len(rids)
        if limit is not None:
            rids = rids[:limit]
        todo = len(rids)
        log.info("%s: %d of %d contents to score (key %s)", scorer.name, todo, total, scorer.key)
        done = 0
        if progress:
            progress(0, todo, f"{scorer.name}: starting")
        for start in range(0, todo, PAGE):
            page = store.contents_at(rids[start : start + PAGE])
            samples = [{"id": r["content_hash"], **r} for r in page]
            for batch, rows in iter_scored(scorer, samples, cancelled=cancelled, token_budget=token_budget):
                store.write_scores(
                    scorer.name, scorer.key, scorer.columns, [(s["content_hash"], r) for s, r in zip(batch, rows)]
                )
                pause_point("score.batch_written")
                done += len(batch)
                if progress:
                    progress(done, todo, f"{scorer.name}: {done} of {todo}")
    seconds = time.perf_counter() - started
    return ScoreReport(scorer.name, scorer.key, done, total - unscored, seconds)


MODEL_PARAMS = ("model", "reward_model")  # the scorer parameters that name a model to load


def check_models(names: list[str], params: dict[str, dict], settings: Settings) -> None:
    """Refuse the models named in ``params`` that ``settings`` do not let the app load (``check_model_allowed``; the
    CLI's settings allow any)."""
    for name in names:
        for key in MODEL_PARAMS:
            spec = (params.get(name) or {}).get(key)
            if isinstance(spec, str) and spec.strip():
                check_model_allowed(spec, settings, f"{name} {key.replace('_', ' ')}")


def run_scorers(
    store: Store,
    names: list[str],
    *,
    settings: Settings | None = None,
    params: dict[str, dict] | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    token_budget: int | None = None,
    user: str | None = None,
    engine: Engine | None = None,
    among: Collection[str] | None = None,
) -> list[ScoreReport]:
    """Run several scorers one after the other (each one's params from ``params[name]``).

    Args:
        settings: device, dtype and defaults; the models in ``params`` must be ones they let the app load.
        engine: where they run (default: this process; in an app job, a worker process: ``default_engine``). The
            scores are the same on every engine.
        among: score only these content hashes (None: every content).
        user: checked for the "score" permission. Jobs started from the app were checked when they were created
            (``Store.create_job``); the CLI passes its acting user.
    """
    if user is not None:
        store.authorize(user, "score")
    params = params or {}
    if settings is not None:
        check_models(names, params, settings.with_(db=store.path))  # the workspace's own adapters may load
    scorers = []
    for name in names:
        try:
            scorers.append(get_scorer(name, settings, **params.get(name, {})))
        except (KeyError, ValueError) as ex:  # an unknown scorer or parameter is the caller's mistake
            raise WinnowError(str(ex).strip("'\"")) from None
    for scorer in scorers:
        scorer.bind_workspace(store)
    engine = engine or default_engine()
    if engine.kind == "local" and engine.in_worker:
        from core.scoring.process_engine import run_scorer_in_worker

        return [
            run_scorer_in_worker(
                store, scorer, progress=progress, cancelled=cancelled, token_budget=token_budget, among=among
            )
            for scorer in scorers
        ]
    if engine.kind == "local":
        return [
            run_scorer(store, scorer, progress=progress, cancelled=cancelled, token_budget=token_budget, among=among)
            for scorer in scorers
        ]
    from core.scoring import ray_engine

    started = ray_engine.connect(engine.address)
    try:
        return [
            ray_engine.run_scorer_on_ray(
                store,
                scorer,
                actors=engine.actors,
                gpus_per_actor=engine.gpus_per_actor,
                progress=progress,
                cancelled=cancelled,
                token_budget=token_budget,
                shard_size=engine.shard_size,
                among=among,
            )
            for scorer in scorers
        ]
    finally:
        if started:
            import ray

            ray.shutdown()
