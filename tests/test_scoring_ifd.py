import math
import threading

import pytest

from core.scoring import get_scorer
from core.scoring.ifd import COLUMNS, ifd_batched, ifd_reference, prepare_inputs

pytestmark = pytest.mark.model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread for this module: on a 2-core machine shared with other processes, two OpenMP threads spend
    most of a small forward pass waiting for each other at barriers (3x slower here); alone, one is ~1.7x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


LOSSES = ("ifd", "ifd_cond_loss", "ifd_direct_loss")


def sample(*turns, system=None, **extra):
    """turns alternate user, assistant, user, ..."""
    messages = [{"role": "system", "content": system}] if system else []
    roles = ("user", "assistant")
    messages += [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]
    return {"id": str(len(turns)), "content_hash": "h", "messages": messages, "tools": None, **extra}


SAMPLES = [
    sample("What is the capital of France?", "The capital of France is Paris, on the Seine."),
    sample("请用一句话介绍长城。", "长城是中国古代修建的防御工程，全长两万多公里。"),
    sample(
        "Name a primary colour.",
        "Red.",
        "And another one?",
        "Blue is another primary colour, along with yellow.",
        system="You are a terse assistant.",
    ),
    sample(
        "Write a haiku about rain.", "Soft rain on the roof\nthe garden drinks in silence\nclouds drift slowly east"
    ),
    sample("Say nothing.", ""),  # empty answer
    sample("word " * 600, "Too long to matter."),  # the prompt alone is longer than max_length
    sample("Is there an answer?"),  # no assistant turn
    sample(
        "Summarize the text.",
        "Cats sleep a lot.",
        alpaca_input="Cats sleep twelve to sixteen hours a day.",
    ),
    sample("Count to twenty in words.", " ".join(["one two three four five six seven eight nine ten"] * 10)),
]


def assert_rows_equal(batched, reference):
    assert set(batched) == set(COLUMNS) == set(reference)
    for column in COLUMNS:
        if column in LOSSES and reference[column] is not None:
            assert batched[column] == pytest.approx(reference[column], abs=1e-4), column
        else:
            assert batched[column] == reference[column], column


@pytest.mark.parametrize("template", ["chat", "alpaca", "plain"])
def test_batched_engine_equals_the_reference(bundled_lm, template):
    model, tokenizer, _ = bundled_lm
    # a small budget forces several batches with padding inside them
    batched = ifd_batched(model, tokenizer, SAMPLES, template, max_length=96, token_budget=150)
    for s, row in zip(SAMPLES, batched, strict=True):
        assert_rows_equal(row, ifd_reference(model, tokenizer, s, template, max_length=96))
    reasons = [row["ifd_reason"] for row in batched]
    assert reasons[4:7] == ["empty answer", "prompt too long", "no assistant turn"]
    scored = [row for row in batched if row["ifd_reason"] is None]
    assert len(scored) == 6
    for row in scored:
        assert row["ifd"] == pytest.approx(row["ifd_cond_loss"] / row["ifd_direct_loss"])
        assert row["ifd_above_one"] == (row["ifd"] > 1)
        assert math.isfinite(row["ifd"]) and row["ifd"] > 0
    # the 100-word answer does not fit in 96 tokens with its prompt: it is cut and says so
    assert batched[8]["ifd_truncated"] is True
    assert batched[8]["ifd_prompt_tokens"] + batched[8]["ifd_answer_tokens"] == 96
    assert batched[0]["ifd_truncated"] is False


@pytest.mark.parametrize("workers", [2, 3])
def test_side_by_side_workers_equal_the_reference(bundled_lm, workers):
    import torch

    model, tokenizer, _ = bundled_lm
    torch.set_num_threads(2)  # the module runs on one; the workers must not leave theirs behind
    try:
        batched = ifd_batched(model, tokenizer, SAMPLES, "chat", max_length=96, token_budget=150, workers=workers)
        # the workers ran single-threaded; the caller's thread count, and the one new threads start with, are back
        assert torch.get_num_threads() == 2
        seen = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert seen == [2]
    finally:
        torch.set_num_threads(1)
    for s, row in zip(SAMPLES, batched, strict=True):
        assert_rows_equal(row, ifd_reference(model, tokenizer, s, "chat", max_length=96))


def test_prompts_follow_each_template(bundled_lm):
    _, tokenizer, _ = bundled_lm

    def prompt(s, template):
        (item,) = prepare_inputs(tokenizer, [s], template, 512)
        return tokenizer.decode(item.prompt_ids)

    chat = prompt(SAMPLES[2], "chat")
    assert "You are a terse assistant." in chat and "Red." in chat and chat.endswith("<|im_start|>assistant\n")
    alpaca = prompt(SAMPLES[0], "alpaca")
    assert alpaca.startswith("Below is an instruction that describes a task. Write a response")
    assert alpaca.endswith("### Instruction:\nWhat is the capital of France?\n\n### Response:")
    with_input = prompt(SAMPLES[7], "alpaca")
    assert "paired with an input" in with_input
    assert "### Instruction:\nSummarize the text.\n\n### Input:\nCats sleep twelve" in with_input
    assert prompt(SAMPLES[2], "plain") == "Name a primary colour.\nAnd another one?\n"
    # auto picks chat for a tokenizer with a chat template
    assert prompt(SAMPLES[0], "auto") == prompt(SAMPLES[0], "chat")


def test_direct_loss_depends_only_on_the_answer(bundled_lm):
    model, tokenizer, _ = bundled_lm
    answer = "The capital of France is Paris."
    rows = ifd_batched(model, tokenizer, [sample("Capital of France?", answer), sample("Tell me a joke.", answer)])
    assert rows[0]["ifd_direct_loss"] == pytest.approx(rows[1]["ifd_direct_loss"], abs=1e-5)
    # and the matching instruction makes the answer easier than an unrelated one
    assert rows[0]["ifd"] < rows[1]["ifd"]


def test_scorer_uses_the_engine_and_keys_its_params(bundled_lm, cpu_settings):
    scorer = get_scorer("ifd", cpu_settings, template="plain", max_length=128)
    assert scorer.key.startswith("ifd/v1/")
    assert scorer.params["model"].startswith("bundled:")
    assert get_scorer("ifd", cpu_settings, template="plain", max_length=128).key == scorer.key
    assert get_scorer("ifd", cpu_settings, template="chat", max_length=128).key != scorer.key
    assert get_scorer("ifd", cpu_settings, template="plain", max_length=256).key != scorer.key
    with scorer:
        assert scorer.model is bundled_lm[0]  # shared with every other user of the bundled model
        rows = scorer.score_batch(SAMPLES[:3])
    model, tokenizer, _ = bundled_lm
    for s, row in zip(SAMPLES[:3], rows, strict=True):
        assert_rows_equal(row, ifd_reference(model, tokenizer, s, "plain", max_length=128))
    assert all(scorer.cost(s) > 0 for s in SAMPLES)
    with pytest.raises(ValueError, match="template"):
        get_scorer("ifd", cpu_settings, template="vicuna")


def test_a_chat_template_error_is_recorded_as_the_samples_reason(bundled_lm, monkeypatch):
    model, tokenizer, _ = bundled_lm

    def refuse(messages, **kwargs):
        raise ValueError("roles must alternate user/assistant")

    monkeypatch.setattr(tokenizer, "apply_chat_template", refuse)
    rows = ifd_batched(model, tokenizer, SAMPLES[:2], "chat")
    assert [r["ifd_reason"] for r in rows] == ["chat template failed: roles must alternate user/assistant"] * 2
    assert all(r["ifd"] is None for r in rows)
