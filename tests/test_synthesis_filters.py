"""Self-Instruct's filters on real seed tasks (our own, in Self-Instruct's seed format): near copies are rejected,
different tasks kept, and the rules say why they drop an instruction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.synthesis.filters import InstructionFilter, rouge_l

SEEDS = Path(__file__).parent / "data" / "synthesis" / "seed_tasks.jsonl"


@pytest.fixture
def seeds() -> list[str]:
    return [json.loads(line)["instruction"] for line in SEEDS.read_text(encoding="utf-8").splitlines()]


def test_near_copies_of_seed_tasks_are_rejected_and_new_tasks_kept(seeds):
    f = InstructionFilter(seeds)
    near = [
        "Suggest five thoughtful birthday gifts for a friend who loves hiking and painting.",  # one word changed
        "Correct the grammar and the spelling mistakes in the sentence below.",  # reworded a little
        "请以春天的落叶为题，写一首四句的短诗。",  # Chinese, one character changed
    ]
    for text in near:
        verdict = f.check(text)
        assert not verdict.kept and verdict.rouge_l_max > 0.7 and "too close to" in verdict.reason, text
    new = [
        "Plan a three-day itinerary for a first visit to Lisbon on a small budget.",
        "List the main causes of the French Revolution and explain one of them in detail.",
        "为一家新开的咖啡店写一段热情的开业广告词。",
    ]
    for text in new:
        verdict = f.check(text)
        assert verdict.kept and verdict.reason is None and verdict.rouge_l_max <= 0.7, text
    assert f.pool[-3:] == new  # kept instructions join the pool ...
    again = f.check("Plan a three-day itinerary for a first visit to Lisbon on a tight budget.")
    assert not again.kept  # ... so a near copy of a new one is caught too


def test_the_rules_name_what_they_drop(seeds):
    f = InstructionFilter(seeds)
    assert f.check("Name three birds.").reason == "too short (3 words; more than 3 needed)"
    assert f.check(" ".join(["word"] * 151)).reason == "too long (151 words; at most 150)"
    assert "'image'" in f.check("Describe the image attached below in your own words.").reason
    assert "'go to'" in f.check("Go to the website and tell me its opening hours please.").reason
    assert f.check("- Make a list of healthy snacks for a long drive.").reason == "starts with punctuation"
    assert "program" in f.check("Write a program that prints the first ten primes.").reason
    cut = f.check("Describe how a bill becomes a law in the United States.", cut_off=True)
    assert cut.reason == "its answer was cut off at the length limit"
    assert f.check("Explain how data mapping works between two database schemas.").kept  # whole words only


def test_rouge_l_reads_chinese_by_character():
    assert rouge_l("今天天气很好", "今天天气很好") == 1.0
    assert 0.7 < rouge_l("今天天气很好，我们去散步", "今天天气不错，我们去散步") < 1.0
    assert rouge_l("hello world", "你好世界") == 0.0
