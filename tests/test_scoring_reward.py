import pytest
from tiny_models import build_reward_model

from core.errors import ModelUnavailable
from core.scoring import get_scorer

SENTENCES = ["what is the capital of france paris it lies on seine", "tell me a joke why did chicken cross road"]
WORDS = [word for sentence in SENTENCES for word in sentence.split()]


@pytest.fixture(scope="module")
def tiny_reward_model(tmp_path_factory):
    """A 2-layer BERT reward model with a word-level tokenizer, built and saved offline (random weights)."""
    return build_reward_model(tmp_path_factory.mktemp("tiny-reward"), WORDS, max_positions=64)


def chat(user, answer):
    return {
        "id": user,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        "tools": None,
    }


def test_score_is_the_logit_of_a_direct_model_call(tiny_reward_model, cpu_settings):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    samples = [
        chat("what is the capital of france", "paris it lies on the seine"),
        chat("tell me a joke", "why did the chicken cross the road"),
        {"id": "x", "messages": [{"role": "user", "content": "what is it"}]},  # no answer: not applicable
        chat("tell me a joke", "paris"),
    ]
    scorer = get_scorer("reward", cpu_settings, model=str(tiny_reward_model))
    with scorer:
        rows = scorer.score_batch(samples)
    assert scorer.columns == {"reward": "DOUBLE"}
    assert rows[2] is None
    tokenizer = AutoTokenizer.from_pretrained(tiny_reward_model)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_reward_model).eval()
    for s, row in zip(samples, rows, strict=True):
        if row is None:
            continue
        question, answer = s["messages"][0]["content"], s["messages"][1]["content"]
        with torch.inference_mode():
            expected = model(**tokenizer(question, answer, return_tensors="pt")).logits[0, 0].item()
        assert row["reward"] == pytest.approx(expected, abs=1e-5)
    assert rows[0]["reward"] != rows[1]["reward"]


def test_a_pair_longer_than_the_model_reads_is_cut_to_its_positions(tiny_reward_model, cpu_settings):
    """The tiny model has 64 positions and max_length defaults to 512: a long pair is cut, not a crash."""
    long = chat("what is the capital of france " * 40, "paris it lies on the seine " * 40)
    with get_scorer("reward", cpu_settings, model=str(tiny_reward_model)) as scorer:
        rows = scorer.score_batch([long, chat("tell me a joke", "paris")])
    assert scorer.max_length == 64
    assert all(isinstance(row["reward"], float) for row in rows)


def test_key_names_the_model(tiny_reward_model, cpu_settings, tmp_path):
    a = get_scorer("reward", cpu_settings, model=str(tiny_reward_model))
    assert a.key.startswith("reward/v1/")
    assert a.params["model"] == str(tiny_reward_model.resolve())
    assert get_scorer("reward", cpu_settings, model="OpenAssistant/reward-model-deberta-v3-large-v2").key != a.key
    assert get_scorer("reward", cpu_settings, model=str(tiny_reward_model), max_length=64).key != a.key


def test_no_model_is_a_plain_error_at_setup(cpu_settings):
    scorer = get_scorer("reward", cpu_settings)  # constructing is fine: the pages list scorers before choosing
    with pytest.raises(ModelUnavailable, match="no reward model was given"):
        scorer.setup()


def test_a_model_missing_offline_is_a_plain_error(cpu_settings, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scorer = get_scorer("reward", cpu_settings, model="winnow-tests/no-such-reward-model")
    with pytest.raises(ModelUnavailable, match="not available offline"):
        scorer.setup()


def test_a_classifier_with_several_labels_is_refused(tiny_reward_model, cpu_settings, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_reward_model, num_labels=3, ignore_mismatched_sizes=True
    )
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_reward_model).save_pretrained(tmp_path)
    with pytest.raises(ModelUnavailable, match="3 output labels"):
        get_scorer("reward", cpu_settings, model=str(tmp_path)).setup()
