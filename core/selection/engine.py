"""The recipe engine: runs a recipe's steps on in-memory arrays, each step on the samples the previous one left.

Nothing here touches the workspace. ``run_recipe`` takes name -> per-sample array (positions 0..n-1) for every name
``recipe_inputs`` lists and returns the positions the last step left, with one log entry per step.
``run_selection_recipe`` does the same for what ``core.selection.workspace`` read from a workspace in one pass (a
staged mixture plan's last step, the plans and seed selections used, sample ids in the log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import RecipeError
from core.progress import Progress
from core.selection.recipe import Recipe, Step
from core.selection.steps import dedup
from core.selection.steps.arrays import as_floats, as_rows
from core.selection.steps.diversity import deita_filter, facility_location, k_center_greedy
from core.selection.steps.filter import cap_unknown_mask, filter_mask, uncontaminated_mask
from core.selection.steps.rank import ifd_top, mixture_take, mods_necessity, mods_quality, stratified

# --- running a recipe on arrays ------------------------------------------------------------------------------------


def step_inputs(step: Step) -> list[str]:
    """The arrays ``apply_step`` reads from ``data`` for this step (column names, "embedding", "status", texts)."""
    p = step.params
    if step.name == "filter":
        cols = [*p["min"], *p["max"], *p["true"], *p["false"], *p["in"]]
        return (["status"] if p["status"] != "any" else []) + list(dict.fromkeys(cols))
    if step.name == "dedup":
        need = [p["text"]] if p["exact"] or p["minhash_threshold"] else []
        need += ["embedding"] if p["near_threshold"] else []
        return need + ([p["keep_by"]] if p["keep_by"] else [])
    if step.name in ("ifd_top", "superfilter", "mods_quality", "stratified"):
        return [p["column"]]
    if step.name in ("k_center", "facility_location"):
        return ["embedding"]
    if step.name == "mods_necessity":
        need = [p["column"]]
        need += [selection_input(p["seed_selection"])] if p["seed_selection"] is not None else []
        return need + (["embedding"] if p["seed_budget"] is not None or p["budget"] is not None else [])
    if step.name == "deita":
        return [*p["score"], "embedding"]
    if step.name == "drop_contaminated":
        return ["contaminated", "contamination_overlap"]
    if step.name == "cap_unknown":
        return [p["column"]]
    return [p["by"]]  # mixture


# The input that carries a saved selection: per sample, its 0-based place in the selection, or -1 when not a member.
SELECTION_INPUT = "selection:"


def selection_input(name: str) -> str:
    """The name of the input holding the saved selection ``name`` (``core.selection.workspace.read_inputs`` fills
    it)."""
    return SELECTION_INPUT + name


def recipe_inputs(recipe: Recipe) -> list[str]:
    """Every array ``run_recipe`` will read, in first-use order."""
    return list(dict.fromkeys(k for s in recipe.steps for k in step_inputs(s)))


def _embedded(x: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local, rows): the positions *within* ``pool`` of samples that have an embedding (no NaN), and their rows."""
    rows = as_rows(x[pool]).reshape(len(pool), -1)
    local = np.flatnonzero(np.isfinite(rows).all(axis=1))
    return local, rows if len(local) == len(pool) else rows[local]


_NECESSITY_FIX = (
    "run the necessity scorer first, with the model fine-tuned on the seed set and the quality step's reward model "
    "(Score page, or `python -m core score --scorers necessity --necessity-model PATH --reward-model PATH`)"
)


def _necessity_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], number: int | None) -> np.ndarray:
    """``mods_necessity`` on ``pool``: find the seed (a saved selection or k-center here), then ``mods_necessity``."""
    p = step.params
    where = {"step": number, "step_name": step.name}
    try:
        values = data[p["column"]]
    except KeyError:
        raise RecipeError(
            f"needs '{p['column']}', which the workspace does not have; {_NECESSITY_FIX}", **where
        ) from None
    reward = as_floats((values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object))[pool])
    emb = None
    if p["seed_budget"] is not None or p["budget"] is not None:
        try:
            emb = as_rows(np.asarray(data["embedding"], dtype=np.float32)[pool]).reshape(len(pool), -1)
        except KeyError:
            raise RecipeError("needs 'embedding' for k-center; run the embedding scorer", **where) from None
    seed = np.empty(0, np.int64)
    if p["seed_selection"] is not None:
        try:
            rank = np.asarray(data[selection_input(p["seed_selection"])], dtype=np.int64)[pool]
        except KeyError:
            raise RecipeError(
                f"the seed selection '{p['seed_selection']}' is read from a workspace: run the recipe there "
                "(core.selection.workspace.run_selection)",
                param="seed_selection",
                **where,
            ) from None
        members = np.flatnonzero(rank >= 0)
        seed = members[np.argsort(rank[members], kind="stable")]
    elif p["seed_budget"] is not None:
        local = np.flatnonzero(np.isfinite(emb).all(axis=1))
        seed = local[k_center_greedy(emb[local], p["seed_budget"], p["seed"]).indices]
    rest = np.ones(len(pool), dtype=bool)
    rest[seed] = False
    if rest.any() and not np.isfinite(reward[rest]).any():
        raise RecipeError(
            f"none of the {int(rest.sum())} samples outside the seed has a '{p['column']}' score; {_NECESSITY_FIX}",
            **where,
        )
    picks = mods_necessity(reward, p["threshold"], seed=seed, emb=emb, budget=p["budget"], random_seed=p["seed"])
    return pool[picks]


# Removed samples a dedup step's log lists with the kept sample each duplicates (the count is always complete).
MAX_REPORTED_DUPLICATES = 10_000


def _embedder(data: Mapping[str, Any]) -> str | None:
    """The identity of the embedder behind ``data["embedding"]``, when the caller says (``run_selection`` does)."""
    try:
        return data["embedder"]
    except KeyError:
        return None


def _threshold(value, kind: str, data: Mapping[str, Any], rows: np.ndarray) -> float:
    """A threshold parameter's value: itself, or for "auto" the one calibrated for the embedder (core.similarity)."""
    from core.similarity import calibrated_threshold

    return calibrated_threshold(_embedder(data), kind, rows) if value == "auto" else value


def apply_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], *, number: int | None = None) -> np.ndarray:
    """Run one step on the samples at positions ``pool`` (in their current order).

    Args:
        step: a checked step.
        pool: positions into the arrays of ``data``, in the order the previous step left them.
        data: name -> array over all samples, for every name ``step_inputs`` lists. "embedding" is (n, d) with NaN
            rows for samples without one (they cannot be chosen by embedding steps); "status" holds review
            statuses; "conversation", "prompt" and "answer" hold texts; "embedder" (optional) names the embedder
            whose calibration an "auto" threshold uses. It may fetch lazily on ``__getitem__``.
        number: the step's 1-based number, for error messages.

    Returns:
        positions (a subset of ``pool``): in pool order for filters, dedup, stratified and mixture; in rank or pick
        order for ifd_top, superfilter, k_center, facility_location and deita; the seed, then the added samples, for
        mods_necessity.

    Raises:
        RecipeError: ``data`` lacks an input the step needs.
    """
    return _run_step(step, pool, data, number)[0]


def _run_step(step: Step, pool, data: Mapping[str, Any], number: int | None) -> tuple[np.ndarray, dict]:
    """``apply_step``, and what the step's log records besides its counts (the dedup report, resolved thresholds)."""
    pool = np.asarray(pool, dtype=np.int64)
    p = step.params

    def get(name: str):
        try:
            values = data[name]
        except KeyError:
            raise RecipeError(
                f"needs '{name}', which the workspace does not have; run the scorer that writes it",
                step=number,
                step_name=step.name,
            ) from None
        if name == "embedding":
            return np.asarray(values, dtype=np.float32)
        return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)

    def sub(name: str) -> np.ndarray:
        return get(name)[pool]

    name = step.name
    if name == "filter":
        cols = {k: sub(k) for k in step_inputs(step)}
        try:
            return pool[filter_mask(cols, p, n=len(pool))], {}
        except RecipeError as e:
            raise RecipeError(e.problem, step=number, step_name=name) from None
    if name == "dedup":
        return _dedup_step(step, pool, data, get)
    if name == "cap_unknown":
        return pool[cap_unknown_mask(sub(p["column"]), p["max_share"])], {}
    if name == "drop_contaminated":
        try:
            keep = uncontaminated_mask(sub("contaminated"), sub("contamination_overlap"), p["min_overlap"])
        except RecipeError as e:
            raise RecipeError(e.problem, step=number, step_name=name) from None
        return pool[keep], {}
    if name in ("ifd_top", "superfilter"):
        return pool[ifd_top(sub(p["column"]), p["percent"], drop_above_one=p["drop_above_one"])], {}
    if name == "mods_quality":
        return pool[mods_quality(sub(p["column"]), p["threshold"])], {}
    if name == "mods_necessity":
        return _necessity_step(step, pool, data, number), {}
    if name == "stratified":
        return pool[stratified(sub(p["column"]), p["budget"], p["n_bins"], p["seed"])], {}
    if name == "mixture":
        if p["targets"] is None:
            raise RecipeError(
                f"plan '{p['plan']}' is a saved plan: run the recipe on a workspace "
                "(core.selection.workspace.run_selection)",
                step=number,
                step_name=name,
            )
        return pool[mixture_take(sub(p["by"]), p["targets"])], {}
    if name == "deita":
        score = np.prod([as_floats(sub(c)) for c in p["score"]], axis=0)
        local, rows = _embedded(get("embedding"), pool)
        tau = _threshold(p["tau"], "redundant", data, rows)
        picked = pool[local[deita_filter(score[local], rows, p["budget"], tau)]]
        return picked, ({"tau": tau} if p["tau"] == "auto" else {})
    local, rows = _embedded(get("embedding"), pool)
    if name == "k_center":
        return pool[local[k_center_greedy(rows, p["budget"], p["seed"]).indices]], {}
    return pool[local[facility_location(rows, p["budget"])]], {}  # facility_location


def _dedup_step(step: Step, pool: np.ndarray, data: Mapping[str, Any], get) -> tuple[np.ndarray, dict]:
    """The dedup step (``dedup.find_duplicates``) and its report: positions into ``data`` of each removed sample and
    of the kept one it duplicates, how they were found and their similarity (the first MAX_REPORTED_DUPLICATES)."""
    p = step.params
    texts = None
    if p["exact"] or p["minhash_threshold"]:
        texts = [t if isinstance(t, str) else "" for t in get(p["text"])[pool]]
    local = rows = threshold = None
    if p["near_threshold"]:
        local, rows = _embedded(get("embedding"), pool)
        threshold = _threshold(p["near_threshold"], "near_duplicate", data, rows)
    removed, report = dedup.find_duplicates(
        len(pool),
        texts=texts,
        exact=p["exact"],
        text_threshold=p["minhash_threshold"],
        ngram=p["ngram"],
        emb=rows,
        emb_rows=local,
        embedding_threshold=threshold,
        scores=get(p["keep_by"])[pool] if p["keep_by"] else None,
    )
    extra: dict = {"near_threshold": threshold} if p["near_threshold"] == "auto" else {}
    extra["duplicates"] = {
        "removed": len(report),
        "pairs": [
            [int(pool[d.removed]), int(pool[d.kept]), d.how, d.similarity] for d in report[:MAX_REPORTED_DUPLICATES]
        ],
    }
    return np.delete(pool, removed), extra


@dataclass
class RecipeRun:
    """What ``run_recipe`` returns: the selected positions and one log entry per step."""

    indices: np.ndarray
    log: list[dict] = field(default_factory=list)


def run_recipe(
    recipe: Recipe, data: Mapping[str, Any], n: int, *, progress: Callable[[int, Step], None] | None = None
) -> RecipeRun:
    """Apply every step in order, starting from all ``n`` samples.

    Args:
        recipe: a checked recipe.
        data: name -> per-sample array for every name in ``recipe_inputs(recipe)`` (see ``apply_step``).
        n: number of samples (positions 0..n-1).
        progress: called with (1-based step number, step) before each step.

    Returns:
        ``RecipeRun(indices, log)``: the positions the last step left, in its order, and for each step
        {"step", "name", "params", "in", "out"} (sample counts before and after), plus for a dedup step
        "duplicates": {"removed": count, "pairs": [[removed, kept, how, similarity], ...]} (positions into
        ``data``; see ``dedup.Duplicate``), and the value an "auto" threshold took ("near_threshold", "tau").
    """
    pool = np.arange(n, dtype=np.int64)
    log = []
    for number, step in enumerate(recipe.steps, start=1):
        if progress:
            progress(number, step)
        out, extra = _run_step(step, pool, data, number)
        log.append(
            {"step": number, "name": step.name, "params": step.params, "in": len(pool), "out": len(out), **extra}
        )
        pool = out
    return RecipeRun(pool, log)


# --- running a recipe on what a workspace holds --------------------------------------------------------------------

# (1-based step number, steps in all, message) -> None; may raise Cancelled (core.jobs does).


@dataclass
class SelectionInputs:
    """What a selection run reads from a workspace (``core.selection.workspace.read_inputs`` reads it in one pass).

    Attributes:
        recipe: the recipe with each saved one-stage plan's targets written in; a staged plan's mixture step (the
            last step) is left as it is.
        data: name -> array over every sample in import order, for every name ``recipe_inputs`` lists, plus "id"
            (see ``apply_step``).
        staged: the stages of the staged plan the last step names, as [{"name", "targets"}], or None.
        plans: per step number, the saved plan the step used, for the log.
        seed_hashes: the recipe hash of each saved selection a mods_necessity step takes as its seed, by name.
    """

    recipe: Recipe
    data: dict[str, Any]
    staged: list[dict] | None = None
    plans: dict[int, dict] = field(default_factory=dict)
    seed_hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class SelectionRun:
    """What ``run_selection_recipe`` returns: the selected ids in order, the stage of each, one log entry per step."""

    ids: list[str]
    stages: list[int]
    log: list[dict]


def run_selection_recipe(inputs: SelectionInputs, *, progress: Progress | None = None) -> SelectionRun:
    """Run the steps on every sample of ``inputs``; a staged plan's last step makes one set per stage.

    Args:
        inputs: what the workspace holds, read once.
        progress: called with (step number - 1, number of steps, message) before each step.

    Returns:
        ``SelectionRun(ids, stages, log)``: ids stage by stage for a staged plan (a sample may be in several); the
        log as ``run_recipe``'s, with sample ids instead of positions in a dedup step's pairs, "plan" on a step
        that used a saved plan (a staged one adds "stages") and "seed" on a step seeded by a saved selection.
    """
    resolved, data, staged, plans = inputs.recipe, inputs.data, inputs.staged, inputs.plans
    ids = data["id"]
    n = len(ids)
    total_steps = len(resolved.steps)
    seeds = {name: _seed_record(name, recipe_hash, data) for name, recipe_hash in inputs.seed_hashes.items()}

    def step_progress(number: int, step: Step) -> None:
        if progress:
            progress(number - 1, total_steps, f"step {number} of {total_steps}: {step.name}")

    run_steps = resolved.steps[:-1] if staged else resolved.steps
    run = run_recipe(Recipe(run_steps), data, n, progress=step_progress)
    log = run.log
    if staged:
        last = resolved.steps[-1]
        step_progress(total_steps, last)
        pool = run.indices
        labels = np.asarray(data[last.params["by"]], dtype=object)[pool]
        picks = [pool[mixture_take(labels, stage["targets"])] for stage in staged]
        positions = np.concatenate(picks) if picks else np.zeros(0, np.int64)
        stage_of = [k for k, p in enumerate(picks, start=1) for _ in range(len(p))]
        log.append(
            {
                "step": total_steps,
                "name": last.name,
                "params": last.params,
                "in": len(pool),
                "out": len(np.unique(positions)),
                "stages": [
                    {"stage": k, "name": s["name"], "out": len(p)}
                    for k, (s, p) in enumerate(zip(staged, picks, strict=True), 1)
                ],
            }
        )
    else:
        positions, stage_of = run.indices, [1] * len(run.indices)
    for entry in log:
        if "duplicates" in entry:  # positions -> sample ids, so the report reads the same in any workspace
            entry["duplicates"]["pairs"] = [
                [ids[removed], ids[kept], how, similarity]
                for removed, kept, how, similarity in entry["duplicates"]["pairs"]
            ]
        if entry["step"] in plans:
            entry["plan"] = plans[entry["step"]]
        seed = entry["params"].get("seed_selection") if entry["name"] == "mods_necessity" else None
        if seed is not None:
            entry["seed"] = seeds[seed]
    return SelectionRun([ids[int(i)] for i in positions], stage_of, log)


def _seed_record(name: str, recipe_hash: str, data: Mapping[str, Any]) -> dict:
    """What a saved selection used as a seed held in the inputs the steps read: its recipe hash names the recipe,
    not its result, so the log also keeps the member count and a SHA-256 of the member ids in seed order."""
    place = np.asarray(data[selection_input(name)], dtype=np.int64)
    members = [data["id"][int(i)] for i in np.flatnonzero(place >= 0)[np.argsort(place[place >= 0], kind="stable")]]
    digest = hashlib.sha256("\n".join(members).encode("utf-8")).hexdigest()
    return {"name": name, "recipe_hash": recipe_hash, "samples": len(members), "members_sha256": digest}
