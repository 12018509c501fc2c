import math
import random

import pytest

from core.scoring.rank_agreement import ranking_auc, spearman, top_count, top_indices, top_overlap

# --- plain references: the definitions, pair by pair -------------------------------------------------------------


def average_ranks(xs):
    """1-based ranks, ties sharing the average of the ranks they span."""
    return [1 + sum(y < x for y in xs) + (sum(y == x for y in xs) - 1) / 2 for x in xs]


def spearman_reference(a, b):
    """Pearson correlation of the average ranks."""
    ra, rb = average_ranks(a), average_ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))


def top_reference(scores, k):
    return set(sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k])


def auc_reference(scores, labels):
    """Every (labelled, unlabelled) pair: a win counts 1, a tie 1/2."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


# --- hand-worked fixtures ----------------------------------------------------------------------------------------


def test_spearman_on_hand_worked_orders():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one swapped pair: d = (0, 1, 1, 0), 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # a tie: ranks (1.5, 1.5, 3) against (1, 2, 3): cov 1.5 / sqrt(1.5 * 2) = sqrt(3) / 2
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    # only the order counts, not the values
    assert spearman([0.1, 0.2, 0.9], [1, 2, 1000]) == pytest.approx(1.0)


def test_top_overlap_on_hand_worked_lists():
    a = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    b = [1, 9, 8, 7, 6, 5, 4, 3, 2, 10]  # the best and the worst swapped
    assert top_count(10, 0.2) == 2
    assert top_indices(a, 0.2) == {0, 1} and top_indices(b, 0.2) == {9, 1}
    assert top_overlap(a, b, 0.2) == 0.5
    assert top_overlap(a, b, 0.5) == 0.8  # {0..4} against {9, 1, 2, 3, 4}
    assert top_overlap(a, a, 0.05) == 1.0  # 5 % of 10 rounds to 0: the top is still one sample
    assert top_overlap(a, list(reversed(a)), 0.5) == 0.0


def test_top_overlap_breaks_ties_by_position():
    # equal scores: the earlier sample ranks higher, so a tie at the cut-off is settled the same way every time
    assert top_indices([3, 3, 3, 0], 0.5) == {0, 1}
    assert top_overlap([3, 3, 1, 0], [3, 2, 3, 0], 0.5) == 0.5  # {0, 1} against {0, 2}
    assert top_overlap([5, 5, 5, 5], [1, 1, 1, 1], 0.25) == 1.0  # no order at all: both keep the first


def test_ranking_auc_on_hand_worked_pairs():
    # pairs (0.9 > 0.8) (0.9 > 0.1) (0.7 < 0.8) (0.7 > 0.1): 3 of 4
    assert ranking_auc([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == 0.75
    # a tie counts half: (0.5 = 0.5) + (0.5 > 0.2) = 1.5 of 2
    assert ranking_auc([0.5, 0.5, 0.2], [True, False, False]) == 0.75
    assert ranking_auc([3, 2, 1], [1, 1, 0]) == 1.0
    assert ranking_auc([1, 2, 3], [1, 1, 0]) == 0.0
    assert ranking_auc([7, 7, 7, 7], [1, 0, 1, 0]) == 0.5


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="length"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="non-finite"):
        top_overlap([1, float("nan")], [1, 2])
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="labelled and unlabelled"):
        ranking_auc([1, 2, 3], [1, 1, 1])
    with pytest.raises(ValueError, match="labels"):
        ranking_auc([1, 2, 3], [1, 0])
    with pytest.raises(ValueError, match="fraction"):
        top_overlap([1, 2], [1, 2], 0)


@pytest.mark.parametrize("seed", range(6))
def test_the_figures_equal_the_pairwise_definitions(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 120)
    # few distinct values, so ties are common, as after bf16 rounding
    a = [round(rng.gauss(0, 1), 1) for _ in range(n)]
    b = [x + round(rng.gauss(0, 0.5), 1) for x in a]
    labels = [rng.random() < 0.2 for _ in range(n)]
    labels[0], labels[1] = True, False
    fraction = rng.choice([0.05, 0.1, 0.3])
    k = top_count(n, fraction)
    assert spearman(a, b) == pytest.approx(spearman_reference(a, b), abs=1e-12)
    assert top_indices(a, fraction) == top_reference(a, k)
    assert top_overlap(a, b, fraction) == len(top_reference(a, k) & top_reference(b, k)) / k
    assert ranking_auc(a, labels) == pytest.approx(auc_reference(a, labels), abs=1e-12)


# --- on real IFD scores ------------------------------------------------------------------------------------------


PROMPTS = [
    ("Name a primary colour.", "Red is a primary colour."),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Translate 'cat' into French.", "Chat."),
    ("Write a haiku about rain.", "Soft rain on the roof\nthe garden drinks in silence\nclouds drift slowly east"),
    ("Add 17 and 25.", "17 + 25 = 42."),
    ("Summarize: cats sleep twelve to sixteen hours a day.", "Cats sleep most of the day."),
    ("List three fruits.", "Apple, banana and cherry."),
    ("Explain what a noun is.", "A noun names a person, place, thing or idea."),
    ("请用一句话介绍长城。", "长城是中国古代修建的防御工程。"),
    ("Give an antonym of 'hot'.", "Cold."),
    ("Reverse the string 'abc'.", "cba"),
    ("Is 7 a prime number?", "Yes, 7 is prime: its only divisors are 1 and 7."),
]


@pytest.mark.model
def test_ifd_of_a_tiny_model_in_bf16_and_fp32_through_the_figures(tiny):
    import torch

    from core.models.language import load_causal_lm
    from core.scoring.ifd import ifd_batched

    samples = [
        {"id": str(i), "messages": [{"role": "user", "content": p}, {"role": "assistant", "content": a}]}
        for i, (p, a) in enumerate(PROMPTS)
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scores = {}
        for dtype in ("fp32", "bf16"):
            model, tokenizer, info = load_causal_lm(tiny, device="cpu", dtype=dtype)
            assert info.dtype == dtype
            # small passes on two side-by-side workers (threads): bf16's mixed precision must hold in each thread
            rows = ifd_batched(model, tokenizer, samples, "alpaca", max_length=128, token_budget=96, workers=2)
            scores[dtype] = [row["ifd"] for row in rows]
    finally:
        torch.set_num_threads(threads)
    fp32, bf16 = scores["fp32"], scores["bf16"]
    assert all(s is not None and math.isfinite(s) and s > 0 for s in fp32 + bf16)
    assert fp32 != bf16  # bf16 really ran: its scores are not the fp32 ones
    # ... and its rounding is small against the spread of the scores the ranking sorts (~1e-4 against ~3e-2 here)
    assert max(abs(a - b) for a, b in zip(fp32, bf16)) < 0.1 * (max(fp32) - min(fp32))
    labels = [i % 3 == 0 for i in range(len(samples))]

    # against itself a score agrees perfectly, so the figures below measure bf16 and nothing else
    assert spearman(fp32, fp32) == pytest.approx(1.0)
    assert top_overlap(fp32, fp32, 0.25) == 1.0
    rho = spearman(fp32, bf16)
    assert -1 <= rho <= 1 and rho == pytest.approx(spearman_reference(fp32, bf16), abs=1e-12)
    k = top_count(len(samples), 0.25)
    overlap = top_overlap(fp32, bf16, 0.25)
    assert overlap == len(top_reference(fp32, k) & top_reference(bf16, k)) / k
    for s in (fp32, bf16):
        auc = ranking_auc(s, labels)
        assert auc == pytest.approx(auc_reference(s, labels), abs=1e-12)
        # the labelled samples outrank the others exactly when the others do not outrank them
        assert auc + ranking_auc(s, [not y for y in labels]) == pytest.approx(1.0)
