"""The preset recipes a lead starts from: ``align`` (quality and diversity, a budget) and ``fit`` (one task, most
samples stay). ``for_workspace`` adds the step ``drop_contaminated`` once the workspace has eval sets."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import RecipeError, brief
from core.selection.recipe import Recipe, Step, parse_recipe, step_defaults


@dataclass(frozen=True)
class Preset:
    """A named starting recipe; ``budget_range`` bounds the budget of its last budgeted step (None: no budget)."""

    recipe: Recipe
    budget_range: tuple[int, int] | None


_ALIGN = """
name: align
description: >-
  Alignment: broad ability from few samples, so quality and diversity come first. LIMA (Zhou et al., 2023) aligned a
  65B model with 1,000 curated, diverse samples; keep 1,000-10,000. Drops flawed samples, exact copies and near
  copies by text, and the easiest half by IFD, then covers the embedding space with k-center (MoDS). Needs the
  heuristics, ifd and embedding scores.
steps:
  - filter:
      status: not_rejected
      false: [h_answer_empty, h_answer_short, h_refusal, h_boilerplate, h_lang_mismatch, h_answer_copies_prompt]
      max: {h_answer_word_rep: 0.3}
  - dedup: {exact: true, minhash_threshold: 0.6}
  - ifd_top: {percent: 50}
  - k_center: {budget: 1000, seed: 0}
"""

_FIT = """
name: fit
description: >-
  Fitting: teach one narrow task or format, where volume and consistency matter more than variety, so most samples
  stay. Drops samples that break the format (empty answers, wrong language, answers that copy the prompt, stray
  whitespace, heavy repetition), exact duplicates and near copies that differ only by a few words. Needs the
  heuristics scores.
steps:
  - filter:
      status: not_rejected
      false: [h_answer_empty, h_lang_mismatch, h_answer_copies_prompt, h_trailing_whitespace]
      max: {h_answer_word_rep: 0.5}
  - dedup: {exact: true, minhash_threshold: 0.8}
"""

PRESETS: dict[str, Preset] = {
    "align": Preset(parse_recipe(_ALIGN), (1000, 10000)),
    "fit": Preset(parse_recipe(_FIT), None),
}


def preset_recipe(name: str, budget: int | None = None) -> Recipe:
    """Preset ``name`` as a recipe, with ``budget`` (when given) set on its last step that has one.

    Raises:
        RecipeError: an unknown preset, a budget outside the preset's range, or a budget for a preset without one.
    """
    if name not in PRESETS:
        raise RecipeError(f"unknown preset '{name}'; expected one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if budget is None:
        return preset.recipe
    if preset.budget_range is None:
        raise RecipeError(f"preset '{name}' keeps most samples and takes no budget")
    low, high = preset.budget_range
    if not (isinstance(budget, int) and low <= budget <= high):
        raise RecipeError(f"preset '{name}': budget must be an integer in [{low}, {high}], got {brief(budget)}")
    steps = list(preset.recipe.steps)
    last = max(i for i, s in enumerate(steps) if "budget" in s.params)
    steps[last] = Step(steps[last].name, {**steps[last].params, "budget": budget})
    return Recipe(tuple(steps), preset.recipe.name, preset.recipe.description)


def with_decontamination(recipe: Recipe) -> Recipe:
    """``recipe`` with a ``drop_contaminated`` step after its first filter step (first when it has none), unless it
    has one already."""
    steps = list(recipe.steps)
    if any(s.name == "drop_contaminated" for s in steps):
        return recipe
    at = next((i + 1 for i, s in enumerate(steps) if s.name == "filter"), 0)
    steps.insert(at, Step("drop_contaminated", step_defaults("drop_contaminated")))
    description = recipe.description
    if description:
        description += " Drops samples found in the workspace's eval sets (needs the decontam scores)."
    return Recipe(tuple(steps), recipe.name, description)
