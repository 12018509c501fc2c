"""The cheap-first cascade for big sets (Superfiltering's point): spend the expensive model only on what survives.

Stages, each on what the one before kept:

1. signals: the heuristics scorer on every content, then the ``align`` preset's filter (empty, short, refused,
   boilerplate, wrong-language, prompt-copying and repetitive answers);
2. dedup: exact copies and near copies by text (MinHash, Jaccard 0.6);
3. small-model IFD: the IFD scorer with the small model on the survivors only, then the top ``top_percent`` by IFD;
4. (optional) large-model IFD: the IFD scorer with the large model on stage 3's survivors only, then the top
   ``large_percent`` of them by the large model's IFD.

The result is saved as a selection, like a recipe's. The report says what each stage removed, and the model-hours
the IFD stages saved against scoring every content with the same model (at the rate measured in this run).
Scoring goes through ``run_scorers``, so it runs on either engine (local or Ray) with the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import WinnowError
from core.progress import Progress
from core.scoring.engines import Engine
from core.scoring.runner import run_scorers
from core.selection.presets import PRESETS
from core.selection.recipe import Recipe, Step, recipe_hash, recipe_to_yaml, step_defaults
from core.selection.workspace import run_recipe_within
from core.settings import Settings
from core.store import Store


@dataclass
class CascadeStage:
    """One stage's funnel: samples in and kept, contents scored, and for a model stage its time and the saving."""

    name: str
    samples_in: int
    samples_out: int
    scored: int = 0  # contents this run scored (others already had results)
    seconds: float = 0.0  # scoring time of this stage
    saved_hours: float | None = None  # model-hours not spent against scoring every content (None: no model)

    def __str__(self) -> str:
        line = f"{self.name}: {self.samples_in} -> {self.samples_out} (removed {self.samples_in - self.samples_out})"
        if self.scored:
            line += f"; scored {self.scored} contents in {self.seconds:.1f} s"
        if self.saved_hours is not None:
            line += f"; saved ~{self.saved_hours:.3g} model-hours against scoring every content"
        return line


@dataclass
class CascadeResult:
    name: str
    ids: list[str]
    stages: list[CascadeStage] = field(default_factory=list)

    @property
    def saved_hours(self) -> float:
        return sum(s.saved_hours or 0.0 for s in self.stages)


def _percent(value: float, what: str) -> float:
    if not 0 < value <= 100:
        raise WinnowError(f"{what} must be a percent in (0, 100], got {value}")
    return float(value)


def run_cascade(
    store: Store,
    *,
    name: str,
    user: str,
    settings: Settings,
    small_model: str = "",
    large_model: str | None = None,
    top_percent: float = 50.0,
    large_percent: float = 50.0,
    engine: Engine | None = None,
    ifd_params: dict | None = None,
    progress: Progress | None = None,
) -> CascadeResult:
    """Run the cascade and save its result as the selection ``name``.

    Args:
        small_model: IFD model of stage 3 (empty: the bundled one).
        large_model: IFD model of stage 4 (None or empty: no stage 4).
        top_percent: share of stage 2's survivors stage 3 keeps (highest IFD first, as Cherry).
        large_percent: share of stage 3's survivors stage 4 keeps.
        engine: where the scorers run (default: this process).
        ifd_params: other IFD parameters for both models (template, max_length).

    Returns:
        The ``CascadeResult``: the selected ids (import order) and each stage's funnel.
    """
    top_percent = _percent(top_percent, "the small model's top percent")
    large_percent = _percent(large_percent, "the large model's top percent")
    if not name or not name.strip():
        raise WinnowError("give the selection a name")
    store.authorize(user, "score")
    all_ids = store.ids_in_order()
    stages: list[CascadeStage] = []
    steps: list[Step] = []

    def score(scorer: str, params: dict, among: list[str] | None, what: str):
        if progress:
            progress(len(stages), None, f"cascade: {what}")
        return run_scorers(
            store,
            [scorer],
            settings=settings,
            params={scorer: params},
            progress=progress,
            engine=engine,
            among=among,
        )[0]

    def keep(step: Step, ids: list[str]) -> list[str]:
        steps.append(step)
        recipe = Recipe((step,), "cascade")
        return run_recipe_within(store, recipe, set(ids)).ids

    align = PRESETS["align"].recipe.steps
    report = score("heuristics", {}, None, "signals")
    ids = keep(align[0], all_ids)
    stages.append(CascadeStage("signals filter", len(all_ids), len(ids), report.scored, report.seconds))
    survivors = keep(align[1], ids)
    stages.append(CascadeStage("exact and near dedup", len(ids), len(survivors)))

    models = [("small-model IFD", small_model or "", top_percent)]
    if large_model and large_model.strip():
        models.append(("large-model IFD", large_model.strip(), large_percent))
    total_contents = store.count_contents()
    for title, model, percent in models:
        among = store.contents_of_ids(survivors)
        report = score("ifd", {**(ifd_params or {}), "model": model}, among, title)
        kept = keep(Step("ifd_top", {**step_defaults("ifd_top"), "percent": percent}), survivors)
        stage = CascadeStage(title, len(survivors), len(kept), report.scored, report.seconds)
        if report.scored:  # the rate of this run, times the contents it did not have to score
            stage.saved_hours = (total_contents - len(among)) * report.seconds / report.scored / 3600
        stages.append(stage)
        survivors = kept

    recipe = Recipe(
        tuple(steps),
        "cascade",
        "Cheap-first cascade: "
        + "; ".join(str(s) for s in stages)
        + ". Each IFD step ran on its own model's scores (small: "
        + (small_model or "bundled")
        + (f", large: {large_model}" if len(models) > 1 else "")
        + "); run it again with `select --preset cascade`, not as a plain recipe.",
    )
    store.save_selection(
        name,
        recipe=recipe_to_yaml(recipe),
        recipe_hash=recipe_hash(recipe),
        log=[{"step": i + 1, "name": s.name, "in": s.samples_in, "out": s.samples_out} for i, s in enumerate(stages)],
        members=[(sample_id, 1) for sample_id in survivors],
        user=user,
    )
    return CascadeResult(name.strip(), survivors, stages)
