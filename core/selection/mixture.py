"""The mixture planner behind the Balance page: how much of each task label goes into the training set.

Follows Dong et al. 2023, "How Abilities in Large Language Models are Affected by Supervised Fine-tuning Data
Composition" (arXiv:2310.05492, ACL 2024). A plan says, per task label, how much data is available, how much the
lead asked for (the target) and how much will be taken (planned = min(target, available)); the difference is the
label's shortfall. Amounts are counted in samples or in tokens (``unit``).

- ``plan``: targets as absolute amounts, or as shares of a total ``budget``.
- ``allocate``: picks the samples that realise a plan, per label, in a seeded random order or by a priority score
  (IFD, quality), until each label's planned amount is reached. Deterministic.
- Presets from the paper, each a ``StagedPlan`` (a list of plans; export writes one file per stage):
  ``preset_fixed_general`` (all general data + k × specialist data), ``preset_fixed_specialist`` (all specialist
  data + k × general data) and ``preset_dmt`` (Dual-stage Mixed fine-Tuning: specialist data first, then general
  data with a replay of k = 1/256 of the specialist data).
- ``to_json`` / ``from_json``: plans are saved in the workspace.

Everything is pure and raises ``PlanError`` for targets that cannot be planned.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.apportion import largest_remainder
from core.errors import PlanError, brief

UNITS = ("samples", "tokens")
PRESETS = ("custom", "fixed_general", "fixed_specialist", "dmt")
DMT_REPLAY = 1 / 256  # the paper's best specialist replay fraction k in DMT's second stage
PAPER = (
    'Dong et al. 2023, "How Abilities in Large Language Models are Affected by Supervised Fine-tuning Data '
    'Composition" (arXiv:2310.05492)'
)

# What the paper found, for the Balance page. Worded as its findings on LLaMA models, not as laws.
ADVICE = {
    "volume": (
        "Mixing abilities helps when data is scarce and conflicts when it is plentiful: with little data per "
        "ability, training on a mixture improves each ability; with a lot, the abilities start to hurt each other. "
        "The absolute amount of each kind of data matters more than the ratio between them."
    ),
    "general": (
        "General (instruction-following) ability is the least affected by mixing, and it plateaus early: about a "
        "thousand general samples already reach most of it."
    ),
    "specialist": (
        "Specialist abilities such as math and code keep improving with their own amount of data, so cutting their "
        "data costs performance directly; budget them in absolute amounts."
    ),
    "dmt": (
        "Dual-stage Mixed fine-Tuning (DMT) trains on specialist data first, then on general data mixed with a small "
        "replay of the specialist data (k = 1/256 worked best in the paper). The replay keeps most of the specialist "
        "gains that training on general data alone would make the model forget, while general ability stays intact."
    ),
}
PRESET_ADVICE = {
    "custom": ("volume", "general", "specialist"),
    "fixed_general": ("specialist", "volume"),
    "fixed_specialist": ("general", "volume"),
    "dmt": ("dmt", "specialist"),
}


def advice(preset: str = "custom") -> list[str]:
    """The advice paragraphs that matter for ``preset``, each ending with the paper it comes from."""
    if preset not in PRESET_ADVICE:
        raise PlanError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
    return [f"{ADVICE[key]} ({PAPER})" for key in PRESET_ADVICE[preset]]


# --- plans ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelPlan:
    """One label's line in a plan, in the plan's unit.

    Attributes:
        label: the task label.
        available: what the workspace holds (samples, or tokens summed over samples).
        target: what was asked for.
        planned: what will be taken: min(target, available), plus any redistributed shortfall.
        share: the requested share of the budget, when the targets were shares.
    """

    label: str
    available: int
    target: int
    planned: int
    share: float | None = None

    @property
    def shortfall(self) -> int:
        """How far the label falls short of its target (0 when met)."""
        return max(self.target - self.planned, 0)


@dataclass(frozen=True)
class Plan:
    """Per-label amounts for one training set (or one stage of a staged plan).

    Attributes:
        unit: "samples" or "tokens".
        rows: one ``LabelPlan`` per label, in the order the targets named them, then labels with data but no target.
        budget: the total the shares refer to, or ``None`` for absolute targets.
        name: the stage's name ("stage 1: specialist"), or "" for a single plan.
    """

    unit: str
    rows: tuple[LabelPlan, ...]
    budget: int | None = None
    name: str = ""

    @property
    def planned(self) -> dict[str, int]:
        """{label: planned amount} for every label with a non-zero plan."""
        return {r.label: r.planned for r in self.rows if r.planned}

    @property
    def shortfalls(self) -> dict[str, int]:
        """{label: shortfall} for the labels that cannot meet their target."""
        return {r.label: r.shortfall for r in self.rows if r.shortfall}

    @property
    def total_planned(self) -> int:
        return sum(r.planned for r in self.rows)

    @property
    def total_target(self) -> int:
        return sum(r.target for r in self.rows)

    @property
    def total_available(self) -> int:
        return sum(r.available for r in self.rows)

    @property
    def total_shortfall(self) -> int:
        return sum(r.shortfall for r in self.rows)

    def row(self, label: str) -> LabelPlan:
        """The line for ``label``; raises ``PlanError`` when the plan has none."""
        for r in self.rows:
            if r.label == label:
                return r
        raise PlanError(f"the plan has no label {brief(label)}")

    def describe_shortfalls(self) -> list[str]:
        """One sentence per short label, for the page: "math: 1,200 of 3,000 samples available (short by 1,800)"."""
        return [
            f"{r.label}: {r.available:,} of {r.target:,} {self.unit} available (short by {r.shortfall:,})"
            for r in self.rows
            if r.shortfall
        ]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "budget": self.budget,
            "rows": [
                {"label": r.label, "available": r.available, "target": r.target, "planned": r.planned, "share": r.share}
                for r in self.rows
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Plan:
        try:
            rows = tuple(
                LabelPlan(
                    label=str(r["label"]),
                    available=int(r["available"]),
                    target=int(r["target"]),
                    planned=int(r["planned"]),
                    share=None if r.get("share") is None else float(r["share"]),
                )
                for r in data["rows"]
            )
            budget = data.get("budget")
            result = cls(
                _check_unit(data["unit"]), rows, None if budget is None else int(budget), str(data.get("name", ""))
            )
        except (KeyError, TypeError, ValueError) as ex:
            raise PlanError(f"not a saved plan: {brief(ex, 200)}") from ex
        return result


@dataclass(frozen=True)
class StagedPlan:
    """A training recipe: one plan per stage, trained in order (a single-stage recipe is the common case).

    Attributes:
        stages: the plans, in training order; each has a ``name``.
        preset: which recipe built it (one of ``PRESETS``).
        params: the preset's inputs (k, the general and specialist labels, ...), kept so the page can show them.
    """

    stages: tuple[Plan, ...]
    preset: str = "custom"
    params: dict = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.stages[0].unit if self.stages else "samples"

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "preset": self.preset,
            "params": self.params,
            "stages": [p.to_dict() for p in self.stages],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> StagedPlan:
        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise PlanError("not a saved plan (expected an object with version 1)")
        preset = data.get("preset", "custom")
        if preset not in PRESETS:
            raise PlanError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
        stages = data.get("stages")
        if not isinstance(stages, list):
            raise PlanError("not a saved plan: 'stages' must be a list")
        plans = []
        for number, stage in enumerate(stages, start=1):
            try:
                plans.append(Plan.from_dict(stage))
            except PlanError as ex:
                raise PlanError(f"stage {number}: {ex}") from None
        return cls(tuple(plans), preset, dict(data.get("params") or {}))


def to_json(recipe: StagedPlan | Plan) -> str:
    """The recipe as JSON text (a single ``Plan`` is saved as a one-stage custom recipe)."""
    if isinstance(recipe, Plan):
        recipe = StagedPlan((recipe,))
    return json.dumps(recipe.to_dict(), ensure_ascii=False, sort_keys=True)


def from_json(text: str) -> StagedPlan:
    """Read a recipe saved by ``to_json``. Raises ``PlanError`` when the text is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as ex:
        raise PlanError(f"not a saved plan: line {ex.lineno}, column {ex.colno}: {ex.msg}") from None
    except (TypeError, ValueError) as ex:
        raise PlanError(f"not a saved plan: {ex}") from ex
    return StagedPlan.from_dict(data)


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise PlanError(f"unknown unit {brief(unit)}; count in one of {', '.join(UNITS)}")
    return unit


def _amount(value, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as ex:
        raise PlanError(f"{what} must be a number, got {brief(value)}") from ex
    if not math.isfinite(value) or value < 0:
        raise PlanError(f"{what} must be a non-negative number, got {brief(value)}")
    return value


def _round(x: float) -> int:
    """Round half up (Python's round() rounds half to even: 2.5 -> 2, which surprises people checking by hand)."""
    return math.floor(x + 0.5)


def plan(
    available: Mapping[str, int],
    targets: Mapping[str, float],
    *,
    unit: str = "samples",
    budget: int | None = None,
    fill_shortfall: bool = False,
    name: str = "",
) -> Plan:
    """Plan how much of each label to take.

    Args:
        available: {label: amount in the workspace}, in ``unit`` (a sample count, or the sum of the label's tokens).
        targets: {label: amount} with absolute amounts when ``budget`` is None, else {label: share of the budget},
            shares in [0, 1] summing to at most 1. A label with a target but no data is planned at 0 (a shortfall).
        unit: "samples" or "tokens"; ``available``, targets and budget all count in it.
        budget: the total the shares refer to. Share targets are turned into amounts by largest-remainder rounding,
            so they add up exactly to round(sum of shares × budget): 3 × 1/3 of 1,000 is 334 + 333 + 333.
        fill_shortfall: with a budget, give what short labels cannot use to the other targeted labels in proportion
            to their shares (as far as their data allows), so the set still reaches its budget. Off by default:
            the paper's advice is that absolute amounts matter, so silently growing other labels should be a choice.
        name: the plan's (stage's) name.

    Returns:
        A ``Plan``: per label available, target, planned and shortfall, and the totals.
    """
    _check_unit(unit)
    avail = {str(k): int(_amount(v, f"available amount of {brief(k)}")) for k, v in available.items()}
    labels = [str(k) for k in targets] + [k for k in avail if k not in {str(t) for t in targets}]
    values = np.array([_amount(v, f"target of {brief(k)}") for k, v in targets.items()], dtype=np.float64)
    have = np.array([avail.get(label, 0) for label in labels], dtype=np.int64)
    shares: list[float | None] = [None] * len(labels)
    if budget is None:
        if fill_shortfall:
            raise PlanError("fill_shortfall needs a budget: with absolute targets there is no total to fill")
        want = np.concatenate([np.floor(values + 0.5), np.zeros(len(labels) - len(values))]).astype(np.int64)
    else:
        budget = int(_amount(budget, "the budget"))
        if (values > 1).any():
            raise PlanError(f"shares must be between 0 and 1; got {dict(zip(labels, values.tolist(), strict=False))}")
        if values.sum() > 1 + 1e-9:
            raise PlanError(f"shares add up to {values.sum():.4g}, more than 1")
        total = math.floor(values.sum() * budget + 1e-9)
        want = np.concatenate([largest_remainder(values, total), np.zeros(len(labels) - len(values), dtype=np.int64)])
        shares = [*values.tolist(), *([0.0] * (len(labels) - len(values)))]
    got = np.minimum(want, have)
    if fill_shortfall:
        got = _fill(got, have, np.array(shares, dtype=np.float64), int((want - got).sum()))
    rows = tuple(
        LabelPlan(label, int(a), int(t), int(p), s)
        for label, a, t, p, s in zip(labels, have, want, got, shares, strict=True)
    )
    return Plan(unit, rows, budget, name)


def _fill(got: np.ndarray, have: np.ndarray, shares: np.ndarray, left: int) -> np.ndarray:
    """Water-filling: hand ``left`` out to labels with a share and spare data, in proportion to their shares."""
    got = got.copy()
    while left > 0:
        open_ = (shares > 0) & (got < have)
        if not open_.any():
            break
        extra = np.zeros(len(got), dtype=np.int64)
        extra[open_] = largest_remainder(shares[open_], left)
        extra = np.minimum(extra, have - got)  # a capped label is full and drops out of the next round
        got += extra
        left -= int(extra.sum())
    return got


# --- presets -------------------------------------------------------------------------------------------------------


def _scaled(amount: int, k: float, unit: str) -> int:
    """k × amount, rounded half up; at least one sample when k > 0 and there is data (1/256 of 100 samples is 1)."""
    if k == 0 or amount == 0:
        return 0
    scaled = _round(k * amount)
    return max(scaled, 1) if unit == "samples" else scaled


def _check_groups(general: Sequence[str], specialist: Sequence[str], k: float, *fractions: float) -> float:
    both = set(general) & set(specialist)
    if both:
        raise PlanError(f"labels cannot be both general and specialist: {', '.join(sorted(both))}")
    if not specialist:
        raise PlanError("choose at least one specialist label (e.g. math, code)")
    k = _amount(k, "k")
    for value in (k, *fractions):
        if _amount(value, "a fraction") > 1:
            raise PlanError(f"k and the fractions are shares of the available data, between 0 and 1; got {value}")
    return k


def _scaled_targets(available: Mapping[str, int], labels: Sequence[str], share: float, unit: str) -> dict[str, int]:
    """{label: ``share`` × its available amount (``_scaled``)} for each of ``labels``."""
    return {label: _scaled(available.get(label, 0), share, unit) for label in labels}


def _mixed_stage(
    available: Mapping[str, int],
    general: Sequence[str],
    general_share: float,
    specialist: Sequence[str],
    specialist_share: float,
    unit: str,
) -> Plan:
    """The one stage of the fixed-general and fixed-specialist presets: ``general_share`` of each general label's
    data together with ``specialist_share`` of each specialist label's."""
    targets = _scaled_targets(available, general, general_share, unit)
    targets |= _scaled_targets(available, specialist, specialist_share, unit)
    return plan(available, targets, unit=unit, name="mixed")


def _params(k: float, general: Sequence[str], specialist: Sequence[str], **fractions: float) -> dict:
    """A preset's parameters as its ``StagedPlan`` records them: k, the two groups, then the preset's fractions."""
    return {"k": k, "general": list(general), "specialist": list(specialist), **fractions}


def preset_fixed_general(
    available: Mapping[str, int],
    general: Sequence[str],
    specialist: Sequence[str],
    *,
    k: float,
    unit: str = "samples",
    general_fraction: float = 1.0,
) -> StagedPlan:
    """The paper's "fixed general data, scaled specialist data": ``general_fraction`` of every general label plus
    k × each specialist label's data (the paper tries k = 1, 1/4, 1/16, 1/64, 1/256). One stage."""
    k = _check_groups(general, specialist, k, general_fraction)
    mixed = _mixed_stage(available, general, general_fraction, specialist, k, unit)
    return StagedPlan((mixed,), "fixed_general", _params(k, general, specialist, general_fraction=general_fraction))


def preset_fixed_specialist(
    available: Mapping[str, int],
    general: Sequence[str],
    specialist: Sequence[str],
    *,
    k: float,
    unit: str = "samples",
    specialist_fraction: float = 1.0,
) -> StagedPlan:
    """The paper's "fixed specialist data, scaled general data": ``specialist_fraction`` of every specialist label
    plus k × each general label's data. One stage."""
    k = _check_groups(general, specialist, k, specialist_fraction)
    mixed = _mixed_stage(available, general, k, specialist, specialist_fraction, unit)
    params = _params(k, general, specialist, specialist_fraction=specialist_fraction)
    return StagedPlan((mixed,), "fixed_specialist", params)


def preset_dmt(
    available: Mapping[str, int],
    general: Sequence[str],
    specialist: Sequence[str],
    *,
    k: float = DMT_REPLAY,
    unit: str = "samples",
    specialist_fraction: float = 1.0,
    general_fraction: float = 1.0,
) -> StagedPlan:
    """Dual-stage Mixed fine-Tuning (DMT), the paper's recipe against forgetting. Two stages:

    1. "specialist": ``specialist_fraction`` of every specialist label, nothing else.
    2. "general + replay": ``general_fraction`` of every general label, plus a replay of k × each specialist label's
       stage-1 amount (default k = 1/256; at least one sample per specialist label). ``allocate`` with the same seed
       takes the replay from the samples stage 1 used, as a replay should.
    """
    k = _check_groups(general, specialist, k, specialist_fraction, general_fraction)
    stage1 = _scaled_targets(available, specialist, specialist_fraction, unit)
    first = plan(available, stage1, unit=unit, name="stage 1: specialist")
    stage2 = _scaled_targets(available, general, general_fraction, unit)
    stage2 |= {s: _scaled(first.row(s).planned, k, unit) for s in specialist}
    second = plan(available, stage2, unit=unit, name="stage 2: general + replay")
    params = _params(k, general, specialist, specialist_fraction=specialist_fraction, general_fraction=general_fraction)
    return StagedPlan((first, second), "dmt", params)


# --- picking the samples -------------------------------------------------------------------------------------------


def _order(label: str, n: int, seed: int, priority: np.ndarray | None) -> np.ndarray:
    """The order to take a label's samples in: a shuffle seeded by (seed, label), or by priority (high first,
    NaN last, ties in shuffle order). Seeding by label keeps a label's order independent of the others, so stage 2
    of a DMT plan replays a prefix of the order stage 1 used."""
    shuffle = np.random.default_rng([seed, zlib.crc32(label.encode())]).permutation(n)
    if priority is None:
        return shuffle
    score = -priority[shuffle]
    score[np.isnan(score)] = np.inf
    return shuffle[np.argsort(score, kind="stable")]


def allocate(
    samples_by_label: Mapping[str, Sequence],
    recipe: Plan,
    *,
    seed: int = 0,
    priority: Mapping[str, Sequence[float]] | None = None,
) -> np.ndarray:
    """Pick the samples that realise one plan (one stage).

    Args:
        samples_by_label: {label: [(sample idx, tokens), ...]} (for a samples plan, plain idx lists are enough).
        recipe: the plan (a stage of a ``StagedPlan``).
        seed: the per-label shuffle.
        priority: optional {label: scores aligned with that label's samples}; higher scores are taken first (pass
            quality, or IFD, with the sign that makes better higher). Ties and labels without scores use the shuffle.

    Returns:
        Sorted int64 sample idx. Per label: for a samples plan, the first ``planned`` samples in order; for a tokens
        plan, samples in order while they fit in the label's planned tokens (a sample that would overflow is skipped
        and later, shorter ones may still fit), so a label never exceeds its planned tokens.
    """
    picked: list[np.ndarray] = []
    for row in recipe.rows:
        if row.planned == 0:
            continue
        if row.label not in samples_by_label:
            raise PlanError(f"the plan takes {row.planned:,} {recipe.unit} of {row.label!r} but no samples were given")
        items = np.asarray(samples_by_label[row.label])
        if items.ndim == 1:
            if recipe.unit == "tokens":
                raise PlanError(f"a tokens plan needs (idx, tokens) pairs for {row.label!r}")
            idx, tokens = items.astype(np.int64), None
        else:
            idx, tokens = items[:, 0].astype(np.int64), items[:, 1].astype(np.int64)
        score = None
        if priority is not None and row.label in priority:
            score = np.asarray(priority[row.label], dtype=np.float64)
            if len(score) != len(idx):
                raise PlanError(f"{len(score)} priority scores for {len(idx)} samples of {row.label!r}")
        order = _order(row.label, len(idx), seed, score)
        if recipe.unit == "samples":
            picked.append(idx[order[: row.planned]])
        else:
            picked.append(idx[_fit_tokens(tokens[order], row.planned, order)])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def _fit_tokens(tokens: np.ndarray, budget: int, order: np.ndarray) -> np.ndarray:
    """Positions (from ``order``) of the samples taken first-fit: the longest prefix that fits, then each later
    sample that still fits in what is left."""
    cum = np.cumsum(tokens)
    k = int(np.searchsorted(cum, budget, side="right"))
    left = budget - (int(cum[k - 1]) if k else 0)
    taken = [order[:k]]
    # Only samples no longer than what is left can still fit; walk them in order. The walk ends as soon as the
    # shortest remaining sample no longer fits, so it stays short even for a label with a million samples.
    rest = np.flatnonzero(tokens[k:] <= left) + k
    if len(rest):
        shortest = int(tokens[rest].min())
        extra = []
        for j in rest:
            if left < shortest:
                break
            t = int(tokens[j])
            if t <= left:
                extra.append(order[j])
                left -= t
        taken.append(np.asarray(extra, dtype=np.int64))
    return np.concatenate(taken).astype(np.int64)
