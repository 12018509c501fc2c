"""Selection recipes: the schema of every step's parameters (``STEPS``), reading and checking recipe YAML, writing
it back, and its hash for manifests. The presets are in ``core.selection.presets``.

A recipe is YAML with a ``steps:`` list; ``parse_recipe`` checks it and fills defaults, and
``core.selection.engine.run_recipe`` applies it to arrays (``recipe_inputs`` there lists which).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import RecipeError, brief
from core.store import STATUSES

# --- recipes -------------------------------------------------------------------------------------------------------

REQUIRED = object()  # the default of a parameter the recipe must give


@dataclass(frozen=True)
class Param:
    """One parameter of a recipe step: its kind, default and allowed range.

    Kinds: int, float, bool, str, column (a column name), columns (list of names; one name is accepted),
    bounds (column -> number), values (column -> list of scalars), counts (label -> int >= 0),
    status ("any", "not_rejected", a status or a list of statuses).
    """

    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low end is excluded: (low, high]
    choices: tuple[str, ...] = ()
    nullable: bool = False  # null (None) is allowed and means "off"
    auto: bool = False  # "auto" is allowed: a threshold calibrated for the embedder (core.similarity)


@dataclass(frozen=True)
class StepSpec:
    """A recipe step: what it does, the arrays it reads, and its parameters."""

    doc: str
    params: dict[str, Param]


_BUDGET = Param("int", 1000, "samples to select (capped at the samples left)", low=1)
_IFD_PARAMS = {
    "percent": Param(
        "float", 10.0, "share of the scored samples to keep; ceil, at least 1", low=0, high=100, low_open=True
    ),
    "drop_above_one": Param("bool", True, "drop IFD > 1 (the instruction does not help) before ranking"),
    "column": Param("column", "ifd", "the IFD column"),
}

# The one table of step parameters and defaults. ``parse_recipe`` fills every omitted parameter from it.
STEPS: dict[str, StepSpec] = {
    "filter": StepSpec(
        "Keep samples that pass every condition (see filter_mask).",
        {
            "status": Param("status", "not_rejected", "review statuses that stay: any, not_rejected, or status(es)"),
            "min": Param("bounds", {}, "column -> lowest value kept (inclusive)"),
            "max": Param("bounds", {}, "column -> highest value kept (inclusive)"),
            "true": Param("columns", [], "boolean columns that must be true"),
            "false": Param("columns", [], "boolean columns (flags) that must be false"),
            "in": Param("values", {}, "column -> allowed values"),
            "keep_missing": Param("bool", False, "a missing value passes its condition"),
        },
    ),
    "dedup": StepSpec(
        "Group duplicates (exact text, near copies by text, near copies by embedding) and keep the best of each "
        "group; the log lists each removed sample with the kept one it duplicates.",
        {
            "exact": Param("bool", True, "group identical normalized texts"),
            "minhash_threshold": Param(
                "float",
                0.6,
                "text similarity (estimated Jaccard of shingles) >= this = near copy; null = off",
                low=0,
                high=1,
                low_open=True,
                nullable=True,
            ),
            "ngram": Param("int", 2, "tokens per shingle: a CJK character or a word is a token", low=1, high=50),
            "near_threshold": Param(
                "float",
                None,
                "embedding cosine >= this = near copy; auto = calibrated for the embedder; null = off",
                low=0,
                high=1,
                low_open=True,
                nullable=True,
                auto=True,
            ),
            "text": Param(
                "str", "conversation", "which text is compared", choices=("conversation", "prompt", "answer")
            ),
            "keep_by": Param(
                "column",
                None,
                "column (higher = better) choosing the kept member; null = first imported",
                nullable=True,
            ),
        },
    ),
    "ifd_top": StepSpec("Keep the top percent by IFD (Cherry LLM).", dict(_IFD_PARAMS)),
    "superfilter": StepSpec(
        "Keep the top percent by a small model's IFD (Superfiltering): point 'column' at IFD from e.g. GPT-2.",
        dict(_IFD_PARAMS),
    ),
    "k_center": StepSpec(
        "Cover the embedding space: greedy k-center (MoDS).",
        {"budget": _BUDGET, "seed": Param("int", 0, "random seed of the first centre", low=0)},
    ),
    "facility_location": StepSpec("Most representative set: lazy greedy facility location.", {"budget": _BUDGET}),
    "mods_quality": StepSpec(
        "Keep samples whose reward is above a threshold (MoDS).",
        {
            "threshold": Param("float", 0.0, "strict lower bound of the reward"),
            "column": Param("column", "reward", "the reward column"),
        },
    ),
    "mods_necessity": StepSpec(
        "MoDS necessity, after mods_quality: keep the seed set and add the samples that a model fine-tuned on the "
        "seed still answers badly (the reward of its answer, from the necessity scorer, below the threshold). The "
        "seed is a saved selection (seed_selection: the set the model was tuned on) or is picked here by k-center "
        "(seed_budget and seed, as a k_center step with the same values on the same input); with neither, only the "
        "added samples stay. Seed members that earlier steps dropped stay out. Order: the seed, then the added "
        "samples, lowest reward first (with budget: k-center among them, the seed counting as centres).",
        {
            "threshold": Param("float", 0.0, "added when the reward of the model's answer is below this"),
            "seed_selection": Param(
                "column", None, "name of the saved selection the model was fine-tuned on", nullable=True
            ),
            "seed_budget": Param(
                "int", None, "or: seed size, picked here by k-center (as k_center: {budget})", low=1, nullable=True
            ),
            "seed": Param("int", 0, "random seed of the first k-center centre", low=0),
            "budget": Param(
                "int", None, "most samples added, by k-center away from the seed; null = all", low=1, nullable=True
            ),
            "column": Param("column", "necessity_reward", "the necessity reward column"),
        },
    ),
    "deita": StepSpec(
        "Walk by score, skipping samples with cosine > tau to a kept one (DEITA).",
        {
            "budget": _BUDGET,
            "tau": Param(
                "float",
                "auto",
                "largest cosine allowed between two kept samples; auto = calibrated for the embedder",
                low=0,
                high=1,
                low_open=True,
                auto=True,
            ),
            "score": Param("columns", ["reward"], "score column, or columns multiplied (complexity, quality)"),
        },
    ),
    "stratified": StepSpec(
        "The same share from every quantile bin of a score.",
        {
            "budget": _BUDGET,
            "n_bins": Param("int", 10, "quantile bins", low=1, high=1000),
            "seed": Param("int", 0, "random seed", low=0),
            "column": Param("column", "ifd", "the binned score"),
        },
    ),
    "drop_contaminated": StepSpec(
        "Drop samples the decontamination scorer found in an eval set (a shared n-gram or a near copy); a sample not "
        "checked against the workspace's eval sets stops the run.",
        {
            "min_overlap": Param(
                "float",
                0.0,
                "drop a flagged sample when its overlap with the eval item is at least this (0 = every flagged one)",
                low=0,
                high=1,
            ),
        },
    ),
    "cap_unknown": StepSpec(
        "Keep SliCK's Unknown samples (facts the base model does not know; the knowledge scorer) to at most a share "
        "of what the step keeps, the first in the current order; 0 drops them all. Samples without a category stay.",
        {
            "max_share": Param(
                "float", 0.0, "the most Unknown samples may make of the step's output (0 = drop them)", low=0, high=1
            ),
            "column": Param("column", "knowledge_category", "the knowledge category column"),
        },
    ),
    "mixture": StepSpec(
        "Take a count per label, in the current order: inline targets, or a plan saved on the Balance page.",
        {
            "by": Param("column", "task_label", "the label column (e.g. the task label)"),
            "targets": Param("counts", None, "label -> samples to take (or give plan)", nullable=True),
            # Resolved by core.selection.workspace.run_selection, which reads the workspace's plans; a staged (DMT) plan
            # makes a staged selection and must then be the last step.
            "plan": Param("column", None, "name of a saved mixture plan (instead of targets)", nullable=True),
        },
    ),
}


def step_defaults(name: str) -> dict[str, Any]:
    """The default parameters of step ``name`` (required ones absent)."""
    return {k: _copy(p.default) for k, p in STEPS[name].params.items() if p.default is not REQUIRED}


def _copy(v):
    return json.loads(json.dumps(v))


@dataclass(frozen=True)
class Step:
    """One step of a recipe: its name and every parameter (defaults filled in)."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Recipe:
    """A checked selection recipe: steps run in order, each on the samples the previous one left."""

    steps: tuple[Step, ...]
    name: str = ""
    description: str = ""


class _Bad(ValueError):
    """A parameter value is wrong; ``parse_recipe`` adds where."""


def _expected(p: Param) -> str:
    """How a parameter's expected value reads in an error message."""
    if p.kind in ("int", "float"):
        what = "an integer" if p.kind == "int" else "a number"
        if p.low is not None and p.high is not None:
            what += f" in {'(' if p.low_open else '['}{p.low:g}, {p.high:g}]"
        elif p.low is not None:
            what += f" {'>' if p.low_open else '>='} {p.low:g}"
    else:
        what = {
            "bool": "true or false",
            "str": "one of: " + ", ".join(p.choices),
            "column": "a column name",
            "columns": "a column name or a list of column names",
            "bounds": "a mapping of column name to number",
            "values": "a mapping of column name to a list of values",
            "counts": "a mapping of label to a count (integer >= 0)",
            "status": "any, not_rejected, or one or a list of: " + ", ".join(STATUSES),
        }[p.kind]
    return what + (" or auto" if p.auto else "") + (" or null" if p.nullable else "")


def _is_name(v) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _coerce(value, p: Param):
    """``value`` checked against ``p`` and normalized (ints as int, numbers as float); raises _Bad."""
    bad = _Bad(f"expected {_expected(p)}, got {brief(value)}")
    if value is None:
        if p.nullable:
            return None
        raise bad
    if p.auto and value == "auto":
        return value
    if p.kind in ("int", "float"):
        if not _number(value) or (p.kind == "int" and not float(value).is_integer()):
            raise bad
        value = int(value) if p.kind == "int" else float(value)
        too_low = p.low is not None and (value <= p.low if p.low_open else value < p.low)
        if too_low or (p.high is not None and value > p.high):
            raise bad
        return value
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if p.kind == "str":
        if value not in p.choices:
            raise bad
        return value
    if p.kind == "column":
        if not _is_name(value):
            raise bad
        return value
    if p.kind == "columns":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or (not names and p.default != []) or not all(_is_name(c) for c in names):
            raise bad
        return list(names)
    if p.kind == "status":
        ok = value in ("any", "not_rejected", *STATUSES) or (
            isinstance(value, list) and value and all(s in STATUSES for s in value)
        )
        if not ok:
            raise bad
        return value if isinstance(value, str) else list(value)
    if not isinstance(value, dict) or not all(_is_name(k) for k in value):
        raise bad
    if p.kind == "bounds" and all(_number(v) for v in value.values()):
        return {k: float(v) for k, v in value.items()}
    if p.kind == "values" and all(isinstance(v, list) for v in value.values()):
        return {k: list(v) for k, v in value.items()}
    if (
        p.kind == "counts"
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values())
    ):
        return dict(value)
    raise bad


def _check_step(number: int, name: str, raw, lines: dict[str, int], line: int | None) -> Step:
    """One step's parameters checked and completed with defaults; RecipeError names the step and parameter."""
    spec = STEPS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"expected a mapping of parameters, got {brief(raw)}", step=number, step_name=name, line=line)
    # YAML 1.1 reads the keys true/false (filter) as booleans.
    raw = {({True: "true", False: "false"}.get(k, k) if isinstance(k, bool) else k): v for k, v in raw.items()}
    params = {}
    for key, value in raw.items():
        where = {"step": number, "step_name": name, "param": str(key)[:80], "line": lines.get(str(key), line)}
        if key not in spec.params:
            hint = difflib.get_close_matches(str(key), spec.params, n=1)
            known = ", ".join(spec.params)
            maybe = f"; did you mean '{hint[0]}'?" if hint else ""
            raise RecipeError(f"unknown parameter (known: {known}){maybe}", **where)
        try:
            params[key] = _coerce(value, spec.params[key])
        except _Bad as e:
            raise RecipeError(str(e), **where) from None
    for key, p in spec.params.items():
        if key not in params:
            if p.default is REQUIRED:
                raise RecipeError(f"is required: {p.doc}", step=number, step_name=name, param=key, line=line)
            params[key] = _copy(p.default)
    if name == "mixture" and (params["targets"] is None) == (params["plan"] is None):
        raise RecipeError(
            "is required: label -> samples to take, or plan: the name of a saved plan (one of the two)",
            step=number,
            step_name=name,
            param="targets",
            line=line,
        )
    if name == "mods_necessity" and params["seed_selection"] is not None and params["seed_budget"] is not None:
        raise RecipeError(
            "give the seed as seed_selection (a saved selection) or seed_budget (k-center here), not both",
            step=number,
            step_name=name,
            param="seed_budget",
            line=lines.get("seed_budget", line),
        )
    if name == "dedup" and not (params["exact"] or params["near_threshold"] or params["minhash_threshold"]):
        raise RecipeError(
            "does nothing: set exact: true, near_threshold or minhash_threshold",
            step=number,
            step_name=name,
            param="exact",
            line=line,
        )
    return Step(name, params)


MAX_RECIPE_CHARS = 100_000  # recipes are a few hundred characters; this bounds what reading one can cost
MAX_RECIPE_DEPTH = 32  # nesting levels: parameters go four deep; PyYAML recurses once per level


class _Refused(yaml.MarkedYAMLError):
    """YAML that is valid but that a recipe may not use; ``parse_recipe`` turns it into a RecipeError."""


class _RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases, and nesting deeper than ``MAX_RECIPE_DEPTH``.

    An alias re-uses a node, so a few hundred bytes of aliases of aliases stand for gigabytes as soon as anything
    walks the data: a repr in an error message, a hash, a copy (a 260-byte recipe gave a 3 MB message, 430 bytes
    take ~20 GB). A recipe has no use for them. Checked while composing, before any object is built.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem="anchors and aliases (&name, *name) are not allowed in a recipe: write each value out",
                problem_mark=event.start_mark,
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_RECIPE_DEPTH:
                raise _Refused(
                    problem=f"the recipe nests deeper than {MAX_RECIPE_DEPTH} levels", problem_mark=event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _load_recipe_yaml(text: str):
    """(the data, its root node) of recipe YAML text, read by ``_RecipeLoader``."""
    loader = _RecipeLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def _yaml_lines(root) -> list[tuple[int, dict[str, int]]]:
    """For each item of the top-level ``steps`` list: (its 1-based line, {parameter: line}); [] if shaped otherwise."""
    if not isinstance(root, yaml.MappingNode):
        return []
    seq = next((v for k, v in root.value if k.value == "steps"), None)
    if not isinstance(seq, yaml.SequenceNode):
        return []
    out = []
    for item in seq.value:
        params: dict[str, int] = {}
        if (
            isinstance(item, yaml.MappingNode)
            and len(item.value) == 1
            and isinstance(item.value[0][1], yaml.MappingNode)
        ):
            for k, _ in item.value[0][1].value:
                if isinstance(k, yaml.ScalarNode):
                    params[k.value.lower() if k.value.lower() in ("true", "false") else k.value] = k.start_mark.line + 1
        out.append((item.start_mark.line + 1, params))
    return out


def read_recipe_file(path: str | os.PathLike) -> str:
    """The text of a recipe file, for ``parse_recipe``.

    Raises:
        RecipeError: naming the file: it does not exist, is a folder, is longer than a recipe may be, or is not UTF-8
            text (with the line and the byte where that stops).
    """
    path = Path(path)
    if path.is_dir():
        raise RecipeError(f"{path} is a folder, not a recipe file")
    try:
        with open(path, "rb") as f:
            data = f.read(4 * MAX_RECIPE_CHARS + 1)  # UTF-8 takes at most 4 bytes a character
    except FileNotFoundError:
        raise RecipeError(f"no recipe file {path}") from None
    except OSError as error:
        raise RecipeError(f"cannot read the recipe file {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise RecipeError(
            f"{path} is not UTF-8 text (byte {error.start + 1}); save the recipe as UTF-8 YAML", line=line
        ) from None
    if len(text) > MAX_RECIPE_CHARS:
        raise RecipeError(f"{path} is over {MAX_RECIPE_CHARS:,} characters long; a recipe may have at most that")
    return text


def parse_recipe(text: str) -> Recipe:
    """A recipe from YAML text, checked, with every omitted parameter filled from ``STEPS``.

    The text is a mapping with a ``steps`` list (and optional ``name`` and ``description``). Each step is a mapping
    with one key, the step name, whose value is a mapping of parameters (or nothing, for all defaults); a bare step
    name is accepted too::

        steps:
          - filter: {status: not_rejected, false: [h_refusal]}
          - dedup: {exact: true, near_threshold: 0.95}
          - k_center: {budget: 1000}

    Anchors and aliases (``&name``, ``*name``) are refused, and so are texts over ``MAX_RECIPE_CHARS`` characters.

    Raises:
        RecipeError: YAML syntax (with the line), an unknown step or parameter, a wrong type or range. The message
            names the 1-based step number, the step, the parameter, what was expected and the line.
    """
    if len(text) > MAX_RECIPE_CHARS:
        raise RecipeError(
            f"the recipe is {len(text):,} characters long; a recipe may have at most {MAX_RECIPE_CHARS:,}"
        )
    try:
        data, root = _load_recipe_yaml(text)
        lines = _yaml_lines(root)
    except _Refused as e:
        raise RecipeError(e.problem, line=e.problem_mark.line + 1) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise RecipeError(f"YAML syntax error: {problem}", line=mark.line + 1 if mark else None) from None
    return recipe_from_dict(data, lines=lines)


def recipe_from_dict(data, *, lines: list[tuple[int, dict[str, int]]] | None = None) -> Recipe:
    """A recipe from already-parsed YAML/JSON data (see ``parse_recipe``); ``lines`` locates steps for messages."""
    if not isinstance(data, dict) or "steps" not in data:
        raise RecipeError("a recipe is a mapping with a 'steps' list, e.g. 'steps: [ {k_center: {budget: 1000}} ]'")
    if extra := sorted(set(map(str, data)) - {"steps", "name", "description"}):
        raise RecipeError(f"unknown top-level key {brief(extra[0])}; expected steps, name, description")
    steps_raw = data["steps"]
    if not isinstance(steps_raw, list) or not steps_raw:
        raise RecipeError(f"'steps' must be a non-empty list of steps, got {brief(steps_raw)}")
    lines = lines or []
    steps = []
    for number, item in enumerate(steps_raw, start=1):
        line, param_lines = lines[number - 1] if number <= len(lines) else (None, {})
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            raise RecipeError(
                f"expected a mapping with one key, the step name (e.g. '- k_center: {{budget: 1000}}'), got {brief(item)}",
                step=number,
                line=line,
            )
        ((name, raw),) = item.items()
        if name not in STEPS:
            hint = difflib.get_close_matches(str(name), STEPS, n=1)
            maybe = f"; did you mean '{hint[0]}'?" if hint else ""
            raise RecipeError(
                f"unknown step (known: {', '.join(STEPS)}){maybe}", step=number, step_name=str(name)[:80], line=line
            )
        steps.append(_check_step(number, name, raw, param_lines, line))
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise RecipeError(f"'{key}' must be text, got {brief(data[key])}")
    return Recipe(tuple(steps), name=data.get("name") or "", description=data.get("description") or "")


def recipe_to_dict(recipe: Recipe) -> dict:
    """The recipe as plain data (``recipe_from_dict`` reads it back to an equal recipe)."""
    out: dict[str, Any] = {}
    if recipe.name:
        out["name"] = recipe.name
    if recipe.description:
        out["description"] = recipe.description
    out["steps"] = [{s.name: _copy(s.params)} for s in recipe.steps]
    return out


def recipe_to_yaml(recipe: Recipe) -> str:
    """The recipe as YAML text with every parameter written out; ``parse_recipe`` reads it back to an equal recipe."""
    return yaml.safe_dump(
        recipe_to_dict(recipe), sort_keys=False, allow_unicode=True, default_flow_style=None, width=120
    )


def recipe_hash(recipe: Recipe) -> str:
    """A stable SHA-256 (hex) of what the recipe does, for manifests.

    Only the steps count (name and description do not), after defaults are filled, so a recipe that spells out a
    default hashes like one that omits it.
    """
    canonical = json.dumps([[s.name, s.params] for s in recipe.steps], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
