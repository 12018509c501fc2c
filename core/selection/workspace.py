"""Selections on a workspace: run a recipe over its samples, save the result under a name, export it.

``core.selection.engine`` runs the steps on arrays; this module is the workspace side, and a run goes straight
through it: ``read_inputs`` reads everything the recipe needs from the store in one pass (the saved plans it names,
what the workspace has, the saved selections it reads, then exactly the arrays the recipe reads, ``recipe_inputs``,
over every sample in import order: the recipe's ``filter`` step decides on review status), the engine runs the
steps on them without the store, and ``run_selection`` saves the picked sample ids in order once, with the recipe,
its hash and the funnel (input and output counts per step). Every random choice in the steps is seeded and the fetch
order is fixed, so the same recipe on the same data gives the same selection, and so byte-identical export files.

A ``mixture`` step may name a plan saved on the Balance page (``{plan: NAME}``) instead of inline targets. A staged
plan (DMT: specialist first, then general with a replay) makes a staged selection: each member carries its stage,
and ``export_selection`` writes one file per stage (``NAME.stage1.jsonl``, ``NAME.stage2.jsonl``, ...).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import NotFound, RecipeError, WinnowError
from core.export import ExportReport, export_samples
from core.selection import mixture
from core.selection.engine import (
    SELECTION_INPUT,
    Progress,
    SelectionInputs,
    SelectionRun,
    recipe_inputs,
    run_selection_recipe,
    step_inputs,
)
from core.selection.presets import preset_recipe, with_decontamination
from core.selection.recipe import Recipe, Step, parse_recipe, recipe_hash, recipe_to_yaml
from core.store import SYNTHESIZED_TAG, SampleFilter, Store

# Inputs that are samples' own columns (``Store.sample_arrays``), not scores.
_PLAIN = ("id", "status", "prompt", "answer", "source", "tags", "n_turns", "task_label", "task_label_confidence")
# What produces an input that is not a score column: the fix a RecipeError names.
_PRODUCERS = {
    "embedding": "the embedding scorer (Score page, or `python -m core score --scorers embedding`)",
    "task_label": "task labelling (Balance page)",
    "necessity_reward": "the necessity scorer with the model fine-tuned on the seed set and the quality step's reward "
    "model (Score page, or `python -m core score --scorers necessity --necessity-model PATH --reward-model PATH`)",
}


@dataclass
class Selection:
    """What ``run_selection`` returns.

    Attributes:
        name: the saved selection's name.
        ids: the selected sample ids in selection order (stage by stage for a staged selection).
        stages: the stage of each id (all 1 unless a staged plan was used).
        log: one entry per step: {"step", "name", "params", "in", "out"} (a staged mixture adds "stages"; a dedup
            step adds "duplicates": {"removed", "pairs": [[removed id, kept id, how, similarity], ...]}).
        recipe_yaml: the recipe as saved, every parameter written out.
        recipe_hash: ``core.selection.recipe.recipe_hash`` of the recipe.
        total: samples in the workspace (the funnel's first input).
    """

    name: str
    ids: list[str]
    stages: list[int]
    log: list[dict]
    recipe_yaml: str
    recipe_hash: str
    total: int

    @property
    def n_stages(self) -> int:
        return max(self.stages, default=1)


def _as_recipe(recipe: Recipe | str) -> Recipe:
    return recipe if isinstance(recipe, Recipe) else parse_recipe(recipe)


def _scorer_of(column: str) -> str | None:
    """The name of the scorer that writes ``column``, or None when no scorer does."""
    from core.scoring import available_scorers, get_scorer

    for name in available_scorers():
        try:
            if column in get_scorer(name).columns:
                return name
        except (KeyError, ValueError, WinnowError):
            continue
    return None


def _producer(column: str) -> str:
    """Which scorer (or page) writes ``column``, for error messages."""
    if column in _PRODUCERS:
        return _PRODUCERS[column]
    name = _scorer_of(column)
    if name is not None:
        return f"the {name} scorer (Score page, or `python -m core score --scorers {name}`)"
    return "the scorer that writes it"


def _inputs_at_hand(score_columns: Iterable, scorer_keys: Mapping[str, dict]) -> set[str]:
    """The inputs a workspace with these score columns and scorer keys (``Store.score_columns``,
    ``Store.scorer_keys``) can give a recipe."""
    have = set(_PLAIN) | {"conversation"} | {c.column for c in score_columns}
    if "embedding" in scorer_keys:
        have.add("embedding")
    return have


# Scorers that run with their defaults alone (bundled models), so a page can offer to run them for a recipe.
DEFAULT_SCORERS = ("heuristics", "embedding", "ifd")


def missing_scorers(store: Store, recipe: Recipe) -> dict[str, list[str]]:
    """The scorers whose results the recipe reads and the workspace lacks, in the order the steps need them.

    Returns:
        {scorer name: [the inputs it would provide]}; empty when every scored input is there. Inputs no scorer writes
        (a saved selection) are not in it: ``check_inputs`` names those.
    """
    have = _inputs_at_hand(store.score_columns(), store.scorer_keys())
    missing: dict[str, list[str]] = {}
    for step in recipe.steps:
        for name in step_inputs(step):
            if name in have or name.startswith(SELECTION_INPUT):
                continue
            scorer = _scorer_of(name)
            if scorer is not None and name not in missing.get(scorer, []):
                missing.setdefault(scorer, []).append(name)
    return missing


def check_inputs(store: Store, recipe: Recipe) -> None:
    """Raise a RecipeError naming the first input the workspace lacks and what produces it; None when all are there.

    Raises:
        RecipeError: e.g. "step 3 (ifd_top): needs 'ifd', which this workspace does not have yet; run the ifd scorer".
    """
    have = _inputs_at_hand(store.score_columns(), store.scorer_keys())
    _check_inputs(recipe, have, _saved_selections(store, recipe))


def _check_inputs(recipe: Recipe, have: set[str], saved: Mapping[str, dict | None]) -> None:
    """``check_inputs`` on what was read: the inputs at hand, and each saved selection the recipe reads (None when
    there is none of that name)."""
    for number, step in enumerate(recipe.steps, start=1):
        for name in step_inputs(step):
            if name.startswith(SELECTION_INPUT):
                if saved[name.removeprefix(SELECTION_INPUT)] is None:  # mods_necessity's seed
                    raise RecipeError(
                        f"no saved selection named '{name.removeprefix(SELECTION_INPUT)}'; run the recipe that picks "
                        "the seed and save it under that name",
                        step=number,
                        step_name=step.name,
                        param="seed_selection",
                    )
            elif name not in have:
                raise RecipeError(
                    f"needs '{name}', which this workspace does not have yet; run {_producer(name)}",
                    step=number,
                    step_name=step.name,
                )


def _saved_selections(store: Store, recipe: Recipe) -> dict[str, dict | None]:
    """The summary of each saved selection the recipe reads (mods_necessity's seed), None where there is none."""
    out: dict[str, dict | None] = {}
    for name in (k.removeprefix(SELECTION_INPUT) for k in recipe_inputs(recipe) if k.startswith(SELECTION_INPUT)):
        try:
            out[name] = store.get_selection(name, with_log=False)
        except NotFound:
            out[name] = None
    return out


def _saved_plans(store: Store, recipe: Recipe) -> dict[str, str | None]:
    """The JSON of each plan the recipe's mixture steps name (saved on the Balance page), None where there is none."""
    out: dict[str, str | None] = {}
    for step in recipe.steps:
        name = step.params.get("plan") if step.name == "mixture" else None
        if name is not None and name not in out:
            try:
                out[name] = store.get_plan(name)
            except NotFound:
                out[name] = None
    return out


def _check_decontamination_current(store: Store, recipe: Recipe, scorer_keys: Mapping[str, dict]) -> None:
    """A ``drop_contaminated`` step reads the decontam scorer's current results: refuse them when they were checked
    against other eval sets than the workspace has now (one added, replaced or removed since)."""
    number = next((k for k, s in enumerate(recipe.steps, start=1) if s.name == "drop_contaminated"), None)
    if number is None or "decontam" not in scorer_keys:
        return  # no step, or never scored: _check_inputs names the scorer to run
    checked = scorer_keys["decontam"]["params"].get("eval_sets") or {}
    now = {s["name"]: s["sha256"] for s in store.eval_sets()}
    if checked != now:
        changed = sorted(n for n in {*checked, *now} if checked.get(n) != now.get(n))
        raise RecipeError(
            f"the eval sets changed since the samples were checked ({', '.join(changed)}); run the decontam scorer "
            "again (`python -m core score --scorers decontam`, or the Score page)",
            step=number,
            step_name="drop_contaminated",
        )


def _read_arrays(store: Store, recipe: Recipe, scorer_keys: Mapping[str, dict]) -> dict[str, object]:
    """The arrays the recipe reads, over every sample in import order, plus "id" (see ``engine.apply_step``).

    "conversation" (the text dedup compares by default) is the user turns and the final answer joined, which is what
    the workspace keeps as text; the system prompt and intermediate assistant turns are not part of it. A saved
    selection (``engine.selection_input``) is each sample's place in it, -1 for samples outside it.
    """
    needs = recipe_inputs(recipe)
    saved = [c for c in needs if c.startswith(SELECTION_INPUT)]
    needs = [c for c in needs if c not in saved]
    columns = [c for c in dict.fromkeys(["id", *needs]) if c not in ("embedding", "conversation")]
    if "conversation" in needs:
        columns += [c for c in ("prompt", "answer") if c not in columns]
    data = store.sample_arrays(columns, embedding="embedding" in needs)
    if "embedding" in needs:  # whose calibration an "auto" threshold uses (core.similarity)
        data["embedder"] = scorer_keys["embedding"]["params"].get("model", "")
    if "conversation" in needs:
        data["conversation"] = [f"{p}\n{a}" for p, a in zip(data["prompt"], data["answer"], strict=True)]
    if "status" in data:
        data["status"] = np.asarray(data["status"], dtype=object)
    for key in saved:
        place: dict[str, int] = {}
        for k, sample_id in enumerate(store.selection_ids(key.removeprefix(SELECTION_INPUT))):
            place.setdefault(sample_id, k)  # a staged selection may hold a sample twice (a replay)
        data[key] = np.fromiter((place.get(i, -1) for i in data["id"]), dtype=np.int64, count=len(data["id"]))
    return data


def _load_plan(plans: Mapping[str, str | None], name: str, *, step: int) -> mixture.StagedPlan:
    """The plan saved as ``name`` on the Balance page (its JSON read into ``plans``), as a ``mixture.StagedPlan``."""
    if plans[name] is None:
        raise RecipeError(
            f"no saved plan named '{name}'; save one on the Balance page", step=step, step_name="mixture", param="plan"
        )
    return mixture.from_json(plans[name])


def _resolve_plans(
    recipe: Recipe, plans: Mapping[str, str | None]
) -> tuple[Recipe, list[dict] | None, dict[int, dict]]:
    """Replace ``{plan: NAME}`` mixture steps with their targets (``plans``: each named plan's JSON, as read).

    Returns:
        (recipe with inline targets, the stages of a staged plan as [{"name", "targets"}] or None, and per step
        number the plan that was used, for the log).
    """
    steps = list(recipe.steps)
    staged = None
    used: dict[int, dict] = {}
    for i, step in enumerate(steps):
        if step.name != "mixture" or step.params.get("plan") is None:
            continue
        number = i + 1
        plan = _load_plan(plans, step.params["plan"], step=number)
        if plan.unit != "samples":
            raise RecipeError(
                f"plan '{step.params['plan']}' counts {plan.unit}; recipes take plans counted in samples",
                step=number,
                step_name="mixture",
                param="plan",
            )
        stages = [{"name": p.name or f"stage {k}", "targets": p.planned} for k, p in enumerate(plan.stages, 1)]
        used[number] = {"plan": step.params["plan"], "preset": plan.preset, "stages": stages}
        if len(stages) > 1:
            if number != len(steps):
                raise RecipeError(
                    "a staged plan makes one set per stage, so its mixture step must be the last step",
                    step=number,
                    step_name="mixture",
                    param="plan",
                )
            staged = stages
            continue
        steps[i] = Step("mixture", {**step.params, "targets": stages[0]["targets"] if stages else {}})
    return Recipe(tuple(steps), recipe.name, recipe.description), staged, used


def read_inputs(store: Store, recipe: Recipe, *, progress: Progress | None = None) -> SelectionInputs:
    """Everything running ``recipe`` reads from the workspace, each thing read once and checked before the samples.

    First the saved plans the recipe names, the score columns and scorer keys, and the saved selections it reads;
    plans are resolved (``{plan: NAME}`` -> targets) and every input checked (``check_inputs``); then the arrays the
    steps read, over every sample in import order.

    Args:
        progress: called with (0, number of steps, "reading inputs") before the arrays are read.

    Raises:
        RecipeError: an input is missing (the message names the scorer to run), or a plan cannot be used.
    """
    plans = _saved_plans(store, recipe)
    scorer_keys = store.scorer_keys()
    have = _inputs_at_hand(store.score_columns(), scorer_keys)
    saved = _saved_selections(store, recipe)
    resolved, staged, used = _resolve_plans(recipe, plans)
    _check_inputs(resolved, have, saved)
    _check_decontamination_current(store, resolved, scorer_keys)
    if progress:
        progress(0, len(resolved.steps), "reading inputs")
    data = _read_arrays(store, resolved, scorer_keys)
    # Nothing synthesized enters a selection unreviewed: pending synthesized samples are not in any step's input.
    held = set(store.sample_arrays(["id"], SampleFilter(tag=SYNTHESIZED_TAG, status="pending"))["id"])
    if held:
        data = _restricted(data, np.fromiter((i not in held for i in data["id"]), dtype=bool, count=len(data["id"])))
    seed_hashes = {name: info["recipe_hash"] for name, info in saved.items() if info is not None}
    return SelectionInputs(resolved, data, staged, used, seed_hashes)


def run_selection(
    store: Store, recipe: Recipe | str, *, name: str, user: str, progress: Progress | None = None
) -> Selection:
    """Run ``recipe`` over every sample of the workspace and save the result as the selection ``name``.

    A selection of the same name is replaced. The recipe's steps see all samples in import order; a ``filter`` step
    with ``status`` decides which review statuses may stay. One pass: ``read_inputs`` reads the workspace, the
    engine runs the steps on what it read (``engine.run_selection_recipe``), and the result is saved once.

    Args:
        recipe: a checked ``Recipe`` or its YAML text.
        progress: called with (step number, number of steps, message) before each step.

    Returns:
        The ``Selection`` (ids in order, per-step counts), as saved.

    Raises:
        RecipeError: the YAML is wrong, an input is missing (the message names the scorer to run), or a plan
            cannot be used.
    """
    recipe = _as_recipe(recipe)
    if not name or not name.strip():
        raise WinnowError("give the selection a name")
    inputs = read_inputs(store, recipe, progress=progress)
    run = run_selection_recipe(inputs, progress=progress)
    total_steps = len(inputs.recipe.steps)
    if progress:
        progress(total_steps, total_steps, "saving")
    yaml_text = recipe_to_yaml(recipe)
    digest = recipe_hash(recipe)
    store.save_selection(
        name,
        recipe=yaml_text,
        recipe_hash=digest,
        log=run.log,
        members=list(zip(run.ids, run.stages, strict=True)),
        user=user,
    )
    return Selection(name.strip(), run.ids, run.stages, run.log, yaml_text, digest, len(inputs.data["id"]))


def run_recipe_within(
    store: Store, recipe: Recipe | str, keep: Collection[str], *, progress: Progress | None = None
) -> SelectionRun:
    """Run ``recipe`` over the samples whose ids are in ``keep`` only (in import order), without saving anything:
    an evaluation runs a candidate recipe on its training pool, the held-out split left out before any step sees it.

    Returns:
        The ``SelectionRun`` (ids in order, stages, per-step log).

    Raises:
        RecipeError: as ``run_selection``.
    """
    inputs = read_inputs(store, _as_recipe(recipe), progress=progress)
    ids = inputs.data["id"]
    mask = np.fromiter((i in keep for i in ids), dtype=bool, count=len(ids))
    return run_selection_recipe(replace(inputs, data=_restricted(inputs.data, mask)), progress=progress)


def _restricted(data: dict, mask: np.ndarray) -> dict:
    """The per-sample arrays of ``data`` at the positions ``mask`` keeps; values about the whole run as they are."""
    n = len(data["id"])
    where = np.flatnonzero(mask)
    out = {}
    for key, value in data.items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
            out[key] = value[where]
        elif isinstance(value, list) and len(value) == n:
            out[key] = [value[i] for i in where]
        else:  # a value about the whole run (the embedder's name)
            out[key] = value
    return out


def parse_budget(text: str, size: int) -> int:
    """The budget a person typed, checked against the workspace: a whole number from 1 to its ``size`` samples.

    Raises:
        RecipeError: what is wrong, in one line (a preset's own range is only a suggestion for large workspaces).
    """
    text = (text or "").strip().replace(",", "").replace("_", "")
    if size < 1:
        raise RecipeError("the workspace is empty: import samples before you select any")
    if not text.isdigit() or not 1 <= int(text) <= size:
        shown = f"{int(text):,}" if text.isdigit() else repr(text)
        raise RecipeError(f"budget {shown}: give a whole number of samples from 1 to {size:,} (the workspace's size)")
    return int(text)


def workspace_preset(store: Store, name: str, budget: int | None = None) -> Recipe:
    """Preset ``name`` for this workspace: with ``budget`` (when given) on its last step that takes one, any budget
    of at least 1 (the page bounds it by the workspace, ``parse_budget``), and with ``drop_contaminated`` once the
    workspace has eval sets."""
    recipe = preset_recipe(name)
    if budget is not None:
        steps = list(recipe.steps)
        budgeted = [i for i, s in enumerate(steps) if "budget" in s.params]
        if not budgeted:
            raise RecipeError(f"preset '{name}' keeps most samples and takes no budget")
        last = budgeted[-1]
        steps[last] = Step(steps[last].name, {**steps[last].params, "budget": int(budget)})
        recipe = Recipe(tuple(steps), recipe.name, recipe.description)
    return with_decontamination(recipe) if store.eval_sets() else recipe


def budget_notes(log: Sequence[dict]) -> list[str]:
    """One line per step whose budget was larger than the samples left to it (it kept them all, fewer than asked)."""
    notes = []
    for entry in log:
        budget = (entry.get("params") or {}).get("budget")
        if isinstance(budget, int) and budget > entry["in"]:
            notes.append(
                f"Step {entry['step']} ({entry['name']}) had a budget of {budget:,} but only {entry['in']:,} samples "
                f"were left after the steps before it: it kept {entry['out']:,}."
            )
    return notes


# --- what a selection changes --------------------------------------------------------------------------------------


# A share column -> the balance dimension that counts it in SQL, and the bucket that dimension uses for "no value".
_SHARE_DIMENSIONS = {"task_label": ("task_label", "(unlabeled)"), "source": ("source", None),
                     "h_prompt_lang": ("language", "(unknown)")}  # fmt: skip


def share_columns(store: Store) -> list[str]:
    """The label columns whose shares a selection is compared by: task_label when any sample has one, else source;
    and the prompt's language when heuristics have run."""
    labelled = any(value != "(unlabeled)" for value, _n in store.distribution("task_label"))
    have = {c.column for c in store.score_columns()}
    return ["task_label" if labelled else "source"] + (["h_prompt_lang"] if "h_prompt_lang" in have else [])


def label_shares(store: Store, name: str, columns: Sequence[str] | None = None) -> dict[str, list[dict]]:
    """How each label's share changes from the whole workspace to the selection ``name``.

    Two SQL GROUP BYs per column (the Select page calls this on every rerun, so it must not read whole columns).

    Returns:
        {column: [{"label", "before", "after", "share_before", "share_after"}]}, labels by count before
        (descending); a missing value is the label "(none)". Shares are fractions in [0, 1].
    """
    columns = list(columns) if columns is not None else share_columns(store)
    out = {}
    for col in columns:
        dimension, missing = _SHARE_DIMENSIONS[col]

        def counts(f: SampleFilter | None, dimension=dimension, missing=missing) -> Counter:
            return Counter(
                {"(none)" if v is None or v == missing else str(v): n for v, n in store.distribution(dimension, f)}
            )

        before, after = counts(None), counts(SampleFilter(selection=name))
        n_before, n_after = sum(before.values()) or 1, sum(after.values()) or 1
        out[col] = [
            {
                "label": label,
                "before": count,
                "after": after.get(label, 0),
                "share_before": count / n_before,
                "share_after": after.get(label, 0) / n_after,
            }
            for label, count in sorted(before.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
    return out


# --- export --------------------------------------------------------------------------------------------------------


def stage_path(out: str | os.PathLike, stage: int) -> Path:
    """Where stage ``stage`` of a staged export goes: ``x/NAME.jsonl`` -> ``x/NAME.stage2.jsonl``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.stage{stage}{out.suffix}")


def export_selection(
    store: Store,
    out: str | os.PathLike,
    *,
    name: str,
    fmt: str,
    user: str,
    with_scores: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    overwrite: bool = False,
    turns: str = "split",
) -> list[ExportReport]:
    """Export the selection ``name``: one file, or one per stage for a staged selection (``stage_path``). ``turns``:
    how formats without per-message weights carry untrained turns (see ``export_samples``).

    ``overwrite`` replaces existing files (see ``export_samples``); without it, an existing one is refused before
    any stage is written.

    Members are written in import order, whatever their review status (the recipe chose them). Each file's manifest
    adds the selection (name, stage, recipe YAML, recipe hash, funnel), the current scorer keys and parameters
    (models included), and the count per task label when samples have task labels.

    Returns:
        One ExportReport per file written, in stage order.
    """
    info = store.get_selection(name)
    paths = [stage_path(out, stage) for stage in range(1, info["stages"] + 1)] if info["stages"] > 1 else [Path(out)]
    for path in paths:  # every file checked before the first is written
        store.refuse_own_file(path, "the export")
        if not overwrite and path.exists():
            raise WinnowError(f"{path} exists: choose another file, or replace it on purpose (--force)")
    scorers = {k: {"key": v["key"], "params": v["params"]} for k, v in store.scorer_keys().items()}
    reports = []
    for stage in range(1, info["stages"] + 1):
        flt = SampleFilter(selection=name, stage=stage if info["stages"] > 1 else None)
        labels = [v for v in store.sample_arrays(["task_label"], flt)["task_label"] if v is not None]
        extra = {
            "selection": {
                "name": name,
                "stage": stage,
                "stages": info["stages"],
                "samples": info["samples"],
                "recipe": info["recipe"],
                "recipe_hash": info["recipe_hash"],
                "log": info["log"],
            },
            "scorers": scorers,
        }
        if labels:
            extra["by_task_label"] = dict(sorted(Counter(labels).items()))
        path = stage_path(out, stage) if info["stages"] > 1 else Path(out)
        reports.append(
            export_samples(
                store,
                path,
                fmt=fmt,
                user=user,
                filters=flt,
                with_scores=with_scores,
                progress=progress,
                extra_manifest=extra,
                overwrite=overwrite,
                turns=turns,
            )
        )
    return reports
