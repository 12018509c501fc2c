"""Tests for core/selection/mixture.py. Every expected number below is worked out by hand in the comment next to it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import PlanError
from core.selection.mixture import (
    ADVICE,
    DMT_REPLAY,
    PAPER,
    Plan,
    StagedPlan,
    advice,
    allocate,
    from_json,
    plan,
    preset_dmt,
    preset_fixed_general,
    preset_fixed_specialist,
    to_json,
)

AVAILABLE = {"general QA": 5000, "open writing": 3000, "math": 2560, "code": 1000}
GENERAL = ["general QA", "open writing"]
SPECIALIST = ["math", "code"]


def amounts(p: Plan, attr: str = "planned") -> dict[str, int]:
    return {r.label: getattr(r, attr) for r in p.rows}


# --- plan ----------------------------------------------------------------------------------------------------------


def test_absolute_targets_with_a_shortfall():
    p = plan(AVAILABLE, {"general QA": 4000, "math": 3000, "code": 1000.4})
    # math wants 3000 but has 2560: short by 440; open writing has data but no target: listed at 0
    assert [r.label for r in p.rows] == ["general QA", "math", "code", "open writing"]
    assert amounts(p) == {"general QA": 4000, "math": 2560, "code": 1000, "open writing": 0}
    assert p.shortfalls == {"math": 440}
    assert (p.total_target, p.total_planned, p.total_shortfall, p.total_available) == (8000, 7560, 440, 11560)
    assert p.planned == {"general QA": 4000, "math": 2560, "code": 1000}
    assert p.describe_shortfalls() == ["math: 2,560 of 3,000 samples available (short by 440)"]
    assert plan({}, {"tool use": 10}).shortfalls == {"tool use": 10}  # a label without data is short, not an error


def test_share_targets_of_a_budget():
    shares = {"general QA": 0.5, "open writing": 0.2, "math": 0.2, "code": 0.1}
    p = plan(AVAILABLE, shares, budget=10_000)
    assert amounts(p, "target") == {"general QA": 5000, "open writing": 2000, "math": 2000, "code": 1000}
    assert p.shortfalls == {} and p.total_planned == 10_000
    assert p.row("math").share == 0.2
    # budget 12,000: targets 6000/2400/2400/1200; general QA (5000) and code (1000) fall short
    p = plan(AVAILABLE, shares, budget=12_000)
    assert amounts(p) == {"general QA": 5000, "open writing": 2400, "math": 2400, "code": 1000}
    assert p.shortfalls == {"general QA": 1000, "code": 200} and p.total_planned == 10_800
    # thirds of 1000 cannot all be 333.33: largest remainder gives 334 + 333 + 333
    third = plan({"a": 999, "b": 999, "c": 999}, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, budget=1000)
    assert amounts(third) == {"a": 334, "b": 333, "c": 333}
    # shares summing to less than 1 leave the rest of the budget unused
    assert plan(AVAILABLE, {"math": 0.25}, budget=1000).total_planned == 250


def test_fill_shortfall_redistributes_by_share_within_the_data():
    shares = {"general QA": 0.6, "open writing": 0.2, "math": 0.2}
    # budget 10,000: targets 6000/2000/2000; general QA is 1000 short. The 1000 goes to open writing and math in
    # proportion 0.2 : 0.2, i.e. 500 each (both have that much spare).
    p = plan(AVAILABLE, shares, budget=10_000, fill_shortfall=True)
    assert amounts(p) == {"general QA": 5000, "open writing": 2500, "math": 2500, "code": 0}
    assert p.total_planned == 10_000 and p.shortfalls == {"general QA": 1000}
    # budget 11,000: targets 6600/2200/2200, 1600 short; 800 each would exceed math's spare (2560 - 2200 = 360), so
    # open writing gets 800 (all of its 3000) and math 360 (all of its 2560); 440 stay unplanned
    p = plan(AVAILABLE, shares, budget=11_000, fill_shortfall=True)
    assert amounts(p) == {"general QA": 5000, "open writing": 3000, "math": 2560, "code": 0}
    assert p.total_planned == 10_560


def test_token_plans_count_tokens():
    tokens = {"general QA": 2_000_000, "math": 900_000}
    p = plan(tokens, {"general QA": 0.5, "math": 0.5}, unit="tokens", budget=2_000_000)
    assert amounts(p) == {"general QA": 1_000_000, "math": 900_000}
    assert p.shortfalls == {"math": 100_000}
    assert p.describe_shortfalls() == ["math: 900,000 of 1,000,000 tokens available (short by 100,000)"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": {"math": 1.5}, "budget": 100}, "between 0 and 1"),
        ({"targets": {"math": 0.7, "code": 0.4}, "budget": 100}, "add up to 1.1"),
        ({"targets": {"math": -3}}, "non-negative"),
        ({"targets": {"math": float("nan")}}, "non-negative"),
        ({"targets": {"math": "lots"}}, "must be a number"),
        ({"targets": {"math": 3}, "unit": "words"}, "unknown unit"),
        ({"targets": {"math": 3}, "fill_shortfall": True}, "needs a budget"),
        ({"targets": {"math": 0.5}, "budget": -1}, "non-negative"),
    ],
)
def test_invalid_targets_raise_plan_errors(kwargs, message):
    with pytest.raises(PlanError, match=message):
        plan(AVAILABLE, **kwargs)


# --- presets -------------------------------------------------------------------------------------------------------


def test_preset_fixed_general_scales_the_specialist_data():
    recipe = preset_fixed_general(AVAILABLE, GENERAL, SPECIALIST, k=1 / 4)
    (mixed,) = recipe.stages
    # all general data; 1/4 of math (2560 -> 640) and of code (1000 -> 250)
    assert amounts(mixed) == {"general QA": 5000, "open writing": 3000, "math": 640, "code": 250}
    assert recipe.preset == "fixed_general" and recipe.params["k"] == 0.25
    # k = 1/256: math 10, code 3.906 -> 4
    assert amounts(preset_fixed_general(AVAILABLE, GENERAL, SPECIALIST, k=1 / 256).stages[0])["code"] == 4
    half_general = preset_fixed_general(AVAILABLE, GENERAL, SPECIALIST, k=1, general_fraction=0.5).stages[0]
    assert amounts(half_general) == {"general QA": 2500, "open writing": 1500, "math": 2560, "code": 1000}


def test_preset_fixed_specialist_scales_the_general_data():
    (mixed,) = preset_fixed_specialist(AVAILABLE, GENERAL, SPECIALIST, k=1 / 16).stages
    # 5000 / 16 = 312.5 -> 313 and 3000 / 16 = 187.5 -> 188 (half up, not Python's half-to-even)
    assert amounts(mixed) == {"general QA": 313, "open writing": 188, "math": 2560, "code": 1000}


def test_preset_dmt_two_stages_with_a_1_in_256_replay():
    recipe = preset_dmt(AVAILABLE, GENERAL, SPECIALIST)
    first, second = recipe.stages
    assert recipe.params["k"] == DMT_REPLAY == 1 / 256
    assert (first.name, second.name) == ("stage 1: specialist", "stage 2: general + replay")
    assert first.planned == {"math": 2560, "code": 1000}
    # stage 2: all general data + replay 2560 / 256 = 10 math and 1000 / 256 = 3.9 -> 4 code
    assert second.planned == {"general QA": 5000, "open writing": 3000, "math": 10, "code": 4}
    # a small specialist label still gets one replayed sample (100 / 256 = 0.39)
    small = preset_dmt({"general QA": 50, "math": 100}, ["general QA"], ["math"]).stages[1]
    assert small.planned == {"general QA": 50, "math": 1}
    # in tokens: 2,560,000 math tokens -> 10,000 replayed; 1,000 tokens -> 3.9 -> 4 (no minimum in tokens)
    tokens = preset_dmt({"general QA": 10**6, "math": 2_560_000, "code": 1000}, GENERAL, SPECIALIST, unit="tokens")
    assert tokens.stages[1].planned == {"general QA": 10**6, "math": 10_000, "code": 4}
    assert tokens.unit == "tokens"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: preset_dmt(AVAILABLE, ["math", "general QA"], SPECIALIST), "both general and specialist: math"),
        (lambda: preset_dmt(AVAILABLE, GENERAL, []), "at least one specialist"),
        (lambda: preset_fixed_general(AVAILABLE, GENERAL, SPECIALIST, k=2), "between 0 and 1"),
        (lambda: preset_fixed_specialist(AVAILABLE, GENERAL, SPECIALIST, k=-1), "non-negative"),
        (lambda: advice("chaos"), "unknown preset"),
    ],
)
def test_invalid_presets_raise_plan_errors(call, message):
    with pytest.raises(PlanError, match=message):
        call()


def test_advice_cites_the_paper():
    for preset in ("custom", "fixed_general", "fixed_specialist", "dmt"):
        paragraphs = advice(preset)
        assert paragraphs and all(p.endswith(f"({PAPER})") for p in paragraphs)
    assert "1/256" in ADVICE["dmt"] and "2310.05492" in PAPER


# --- allocate ------------------------------------------------------------------------------------------------------


def pool(label_sizes: dict[str, int], start: int = 0) -> dict[str, list[tuple[int, int]]]:
    """Consecutive sample ids per label, each with 10 + (id % 7) tokens."""
    out, nxt = {}, start
    for label, size in label_sizes.items():
        out[label] = [(i, 10 + i % 7) for i in range(nxt, nxt + size)]
        nxt += size
    return out


def test_allocate_samples_is_deterministic_and_follows_the_plan():
    samples = pool(AVAILABLE)
    p = plan(AVAILABLE, {"general QA": 300, "math": 50})
    picked = allocate(samples, p, seed=3)
    assert picked.dtype == np.int64 and np.all(np.diff(picked) > 0)
    general_ids = {i for i, _ in samples["general QA"]}
    assert sum(i in general_ids for i in picked) == 300 and len(picked) == 350
    assert np.array_equal(picked, allocate(samples, p, seed=3))
    assert not np.array_equal(picked, allocate(samples, p, seed=4))
    # a label's order does not depend on the other labels, and a smaller plan takes a prefix of the same order
    alone = allocate({"math": samples["math"]}, plan(AVAILABLE, {"math": 20}), seed=3)
    assert set(alone) <= set(picked)
    # plain id lists are enough for a samples plan
    assert np.array_equal(allocate({k: [i for i, _ in v] for k, v in samples.items()}, p, seed=3), picked)


def test_allocate_by_priority_takes_the_best_first():
    samples = {"math": [(10, 5), (11, 5), (12, 5), (13, 5), (14, 5)]}
    scores = {"math": [0.1, 0.9, np.nan, 0.5, 0.7]}
    p = plan({"math": 5}, {"math": 3})
    assert allocate(samples, p, priority=scores).tolist() == [11, 13, 14]  # NaN goes last


def test_allocate_tokens_fills_first_fit_without_exceeding():
    samples = {"math": [(10, 100), (11, 300), (12, 50), (13, 200)]}
    in_order = {"math": [4, 3, 2, 1]}  # take them in the listed order

    def pick(tokens: int) -> list[int]:
        return allocate(samples, plan({"math": 650}, {"math": tokens}, unit="tokens"), priority=in_order).tolist()

    assert pick(420) == [10, 11]  # 100 + 300 = 400; +50 would be 450 > 420; 200 does not fit in the 20 left
    assert pick(460) == [10, 11, 12]  # 100 + 300 + 50 = 450
    assert pick(350) == [10, 12, 13]  # 100; 300 would overflow, skipped; 50 and 200 fit: 350 exactly
    assert pick(99) == [12]  # nothing before 50 fits
    assert pick(0) == []
    with pytest.raises(PlanError, match="needs \\(idx, tokens\\) pairs"):
        allocate({"math": [10, 11]}, plan({"math": 650}, {"math": 100}, unit="tokens"))


def test_allocate_tokens_at_scale_stays_within_budget():
    rng = np.random.default_rng(0)
    samples = {"code": list(zip(range(200_000), rng.integers(20, 2000, 200_000).tolist(), strict=True))}
    tokens = dict(samples["code"])
    p = plan({"code": sum(tokens.values())}, {"code": 5_000_000}, unit="tokens")
    picked = allocate(samples, p, seed=1)
    total = sum(tokens[i] for i in picked.tolist())
    assert 5_000_000 - 20 < total <= 5_000_000  # first-fit leaves less than the shortest sample unused


def test_dmt_replay_comes_from_the_stage_1_samples():
    samples = pool(AVAILABLE)
    first, second = preset_dmt(AVAILABLE, GENERAL, SPECIALIST).stages
    stage1 = set(allocate(samples, first, seed=9).tolist())
    stage2 = allocate(samples, second, seed=9)
    specialist_ids = {i for label in SPECIALIST for i, _ in samples[label]}
    replay = [i for i in stage2.tolist() if i in specialist_ids]
    assert len(replay) == 14 and set(replay) <= stage1
    # with half the specialist data in stage 1 the replay is still drawn from what stage 1 used
    first, second = preset_dmt(AVAILABLE, GENERAL, SPECIALIST, specialist_fraction=0.5, k=1 / 4).stages
    stage1 = set(allocate(samples, first, seed=9).tolist())
    replay = [i for i in allocate(samples, second, seed=9).tolist() if i in specialist_ids]
    assert len(replay) == 320 + 125 and set(replay) <= stage1  # 1280/4 and 500/4


def test_allocate_errors():
    with pytest.raises(PlanError, match="no samples were given"):
        allocate({}, plan(AVAILABLE, {"math": 1}))
    with pytest.raises(PlanError, match="2 priority scores for 3 samples"):
        allocate({"math": [1, 2, 3]}, plan({"math": 3}, {"math": 1}), priority={"math": [1, 2]})


# --- saving --------------------------------------------------------------------------------------------------------


def test_plans_round_trip_through_json():
    recipe = preset_dmt(AVAILABLE, GENERAL, SPECIALIST)
    text = to_json(recipe)
    assert json.loads(text)["version"] == 1
    back = from_json(text)
    assert back == recipe
    assert back.stages[1].shortfalls == recipe.stages[1].shortfalls
    shares = plan(AVAILABLE, {"math": 0.5, "数学题": 0.1}, budget=1000, name="x")
    assert from_json(to_json(shares)) == StagedPlan((shares,))
    assert "数学题" in to_json(shares)  # non-ASCII labels stay readable in the workspace


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"version": 2, "stages": []}', '{"version": 1, "stages": [{"unit": "tokens"}]}',
     '{"version": 1, "preset": "magic", "stages": []}', '{"version": 1, "stages": [{"unit": "words", "rows": []}]}'],
)  # fmt: skip
def test_reading_a_broken_plan_raises_plan_error(text):
    with pytest.raises(PlanError):
        from_json(text)
