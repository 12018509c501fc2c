"""The long actions a person starts, one body each, shared by the app and the CLI.

The app runs an action as a background job (``core.jobs.start_job(store, kind, params, lambda progress: ...)``), the
CLI in the foreground with a bar (``core.progress.terminal_progress``); both call the function here, so what an
import, a scoring run or an export does is written once. Each returns a JSON-able dict: the job stores it as its
result, the page and the CLI word it.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

from core.progress import Progress
from core.scoring.engines import Engine
from core.settings import Settings
from core.store import SampleFilter, Store


def import_with_signals(
    store: Store, path: str | os.PathLike, *, user: str, progress: Progress, signals: bool = True, **options
) -> dict:
    """Import one file (``core.importing.workspace.import_file`` with its ``options``), then compute the cheap
    signals (lengths, repetition, language, refusals) for what came in.

    Args:
        signals: False to leave the signals for later (the CLI computes them once, after its last file).

    Returns:
        The import's report as a dict, with ``signals``: the signals' report in words (None when not computed).
    """
    from core.importing.workspace import import_file, import_signals

    report = import_file(store, path, user=user, progress=progress, **options)
    return {**asdict(report), "signals": str(import_signals(store, progress=progress)) if signals else None}


def score(
    store: Store,
    names: list[str],
    *,
    settings: Settings,
    user: str | None,
    progress: Progress,
    params: dict[str, dict] | None = None,
    token_budget: int | None = None,
    place_on_map: bool = False,
    engine: Engine | None = None,
) -> dict:
    """Run scorers one after the other (``core.scoring.runner.run_scorers``).

    Args:
        engine: where the scorers run (default: this process; ``Engine("ray", ...)`` for Ray Data).
        place_on_map: afterwards, place the samples embedded since the map was made on it (the Explore page's
            "embed the new samples").

    Returns:
        {"reports": each scorer's report in words, "placed": how many samples were placed, when ``place_on_map``}.
    """
    from core.scoring.runner import run_scorers

    reports = run_scorers(
        store,
        names,
        settings=settings,
        params=params,
        progress=progress,
        token_budget=token_budget,
        user=user,
        engine=engine,
    )
    out: dict = {"reports": [str(r) for r in reports]}
    if place_on_map:
        from core.map.workspace import place_new

        out["placed"] = place_new(store, user=user or "")
    return out


def select(store: Store, recipe, *, name: str, user: str, progress: Progress) -> dict:
    """Run a recipe and save its result as the selection ``name`` (``core.selection.workspace.run_selection``).

    Returns:
        {"name", "samples": how many it holds, "total": the samples it chose from, "recipe_hash", "log": each
        step's {step, name, in, out, stages?}, "notes": a line per step whose budget exceeded what was left to it}.
    """
    from core.selection.workspace import budget_notes, run_selection

    result = run_selection(store, recipe, name=name, user=user, progress=progress)
    return {
        "name": result.name,
        "samples": len(result.ids),
        "total": result.total,
        "recipe_hash": result.recipe_hash,
        # the funnel, without a dedup step's pairs (the selection keeps those): a job's result stays small
        "log": [{k: e[k] for k in ("step", "name", "in", "out", "stages") if k in e} for e in result.log],
        "notes": budget_notes(result.log),
    }


def export(store: Store, out: str | os.PathLike, *, progress: Progress, **options) -> dict:
    """Write the samples ``options["filters"]`` picks to ``out`` with a manifest beside it
    (``core.export.export_samples``, which takes the ``options``: fmt, user, filters, with_scores, overwrite ...).

    Returns:
        The export's report as a dict, with ``mtime_ns``: the written file's modification time (a page tells its
        own export from a later one by it).
    """
    from core.export import export_samples

    report = export_samples(store, out, progress=progress, **options)
    return asdict(report) | {"mtime_ns": Path(report.path).stat().st_mtime_ns}


def training_files(
    store: Store,
    *,
    export_dir: str | os.PathLike,
    folder: str | None,
    filters: SampleFilter,
    options,
    user: str,
    progress: Progress,
) -> dict:
    """Render, count, split and pack the samples for a trainer (``core.training``); write the files into
    ``export_dir/folder``, or with ``folder`` None only measure them.

    Returns:
        The training report as a dict: ``manifest`` (counts, lengths, split, packing), ``folder`` and ``files``
        (None and empty when only measured).
    """
    from core.training.export import export_training
    from core.training.pipeline import training_report

    if folder is None:
        report = training_report(store, filters=filters, options=options, progress=progress)
    else:
        report = export_training(
            store, Path(export_dir), folder, user=user, filters=filters, options=options, progress=progress
        )
    return asdict(report)


def evaluate(store: Store, name: str, config, *, user: str, settings: Settings, progress: Progress) -> dict:
    """Plan (or resume) the evaluation ``name`` with ``config`` (an ``EvaluationConfig``; None resumes the stored
    one) and train and score every run not done yet (``core.evaluation.runner.run_evaluation``).

    Returns:
        {"name", "trained": runs done now, "kept": runs done before, "complete": every run is done}; the results
        are in the workspace (``core.evaluation.report.evaluation_report``).
    """
    from core.evaluation.runner import run_evaluation

    done = run_evaluation(store, name, config, user=user, settings=settings, progress=progress)
    return {
        "name": done["name"],
        "trained": done["trained"],
        "kept": done["kept"],
        "complete": done["report"]["complete"],
    }
