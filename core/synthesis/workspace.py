"""Synthesis in a workspace: seeds from a file or a saved selection, the run, and its results imported as pending
samples with their provenance in the audit log (nothing enters a selection unreviewed)."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from core.errors import WinnowError
from core.evaluation.eval_files import item_texts, read_eval_records
from core.formats.readers import iter_records
from core.store import SYNTHESIZED_TAG, SampleFilter, Store
from core.synthesis.backends import Sampling
from core.synthesis.methods import METHODS, Task, evol_instruct, prompt_template, self_instruct


def seeds_from_file(path: str | os.PathLike, *, mapping: str | None = None) -> list[tuple[str, Task]]:
    """Seed tasks from a file: Self-Instruct's seed format (``instruction`` and ``instances``, as Alpaca's
    seed_tasks.jsonl), or any format Winnow imports (with a field mapping). Each with an id for the provenance:
    the record's ``id``, else ``FILE#N`` (N from 1)."""
    name = Path(path).name
    head = list(itertools.islice(iter_records(path), 1))
    if head and isinstance(head[0].data, dict) and "instances" in head[0].data and "instruction" in head[0].data:
        seeds = []
        for i, line, data in iter_records(path):
            instances = data.get("instances") if isinstance(data, dict) else None
            if not isinstance(instances, list) or not all(isinstance(x, dict) for x in instances):
                raise WinnowError(f"{name}, line {line}, record {i + 1}: 'instances' is not a list of objects")
            instance = (instances or [{}])[0]
            task = Task(
                str(data.get("instruction") or ""), str(instance.get("input") or ""), str(instance.get("output") or "")
            )
            if task.instruction.strip():
                seeds.append((str(data.get("id") or f"{name}#{i + 1}"), task))
        return seeds
    _, records = read_eval_records(path, mapping=mapping)
    return [(f"{name}#{k}", Task(*item_texts(r))) for k, r in enumerate(records, start=1)]


def seeds_from_selection(store: Store, name: str) -> list[tuple[str, Task]]:
    """Seed tasks from a saved selection's members: (sample id, its user turns and last answer)."""
    data = store.sample_arrays(["id", "prompt", "answer"], SampleFilter(selection=name))
    return [(i, Task(p, "", a)) for i, p, a in zip(data["id"], data["prompt"], data["answer"], strict=True)]


def synthesize(
    store: Store,
    *,
    method: str,
    seeds: list[tuple[str, Task]],
    n: int,
    backend,
    sampling: Sampling,
    user: str,
    prompt_file: str | None = None,
    max_calls: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict:
    """Run a synthesis method and import what it kept as pending samples of a new source
    (``synthesized/<time>-<method>.jsonl`` beside the workspace), each with a "synthesized" event: method, model,
    prompt file hash, seed ids, sampling and its ROUGE-L max.

    Returns:
        {"method", "model", "prompt_sha256", "calls", "generated", "kept", "dropped": {rule: count}, "file",
        "sample_ids"}.
    """
    if method not in METHODS:
        raise WinnowError(f"unknown synthesis method {method!r}; use {' or '.join(METHODS)}")
    if n < 1:
        raise WinnowError("ask for at least one new sample (--n)")
    store.authorize(user, "import")
    sampling.check()
    if method == "self-instruct":
        template, digest = prompt_template(method, path=prompt_file)
        outcome = self_instruct(
            backend, seeds, n, sampling, template=template, max_calls=max_calls, progress=progress, cancelled=cancelled
        )
    else:
        deepen, d1 = prompt_template(method, "deepen", prompt_file)
        breadth, d2 = prompt_template(method, "breadth")
        digest = f"{d1},{d2}"
        outcome = evol_instruct(
            backend,
            seeds,
            n,
            sampling,
            templates={"deepen": deepen, "breadth": breadth},
            max_calls=max_calls,
            progress=progress,
            cancelled=cancelled,
        )
    report = {
        "method": method,
        "model": backend.name,
        "prompt_sha256": digest,
        "calls": outcome.calls,
        "generated": outcome.generated,
        "kept": len(outcome.kept),
        "dropped": dict(sorted(outcome.dropped.items())),
        "file": None,
        "sample_ids": [],
    }
    if not outcome.kept:
        store.log_event("synthesize", user=user, detail=report)
        return report
    from core.importing.workspace import import_file

    folder = Path(store.path).parent / "synthesized"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{method}-{uuid.uuid4().hex[:8]}.jsonl"  # two runs in one second get two files
    with open(path, "x", encoding="utf-8") as fh:
        for task, _ in outcome.kept:
            fh.write(
                json.dumps(
                    {"instruction": task.instruction, "input": task.input, "output": task.output}, ensure_ascii=False
                )
                + "\n"
            )
    imported = import_file(store, path, user=user, fmt="alpaca", allow_reimport=True)
    ids = store.sample_arrays(["id", "source_index"], SampleFilter(source_ids=[imported.source_id]))
    by_index = {int(k): i for k, i in zip(ids["source_index"], ids["id"], strict=True)}
    sampling_detail = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "seed": sampling.seed,
    }
    for k, (task, rouge) in enumerate(outcome.kept):
        if k in by_index:
            store.log_event(
                "synthesized",
                user=user,
                sample_id=by_index[k],
                detail={
                    "method": method,
                    "model": backend.name,
                    "prompt_sha256": digest,
                    "seed_ids": list(task.seed_ids),
                    "sampling": sampling_detail,
                    "rouge_l_max": round(rouge, 4),
                },
            )
    report |= {"file": str(path), "sample_ids": [by_index[k] for k in sorted(by_index)]}
    # Tagged, so that while they are pending no selection takes them (core.selection.workspace.read_inputs)
    store.add_tag_many(report["sample_ids"], SYNTHESIZED_TAG, user=user)
    store.log_event("synthesize", user=user, detail={k: v for k, v in report.items() if k != "sample_ids"})
    return report
