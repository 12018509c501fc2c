"""The evaluation's held-out split and its comparison (core/evaluation), checked against plain computations."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from core.errors import WinnowError
from core.evaluation.compare import EvalLosses, paired_bootstrap, seed_spread
from core.evaluation.holdout import check_disjoint, copies_between, split_holdout

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
]


def sentence(rng: random.Random, n: int = 30) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def near_copy(text: str) -> str:
    """The same text with its last word changed: a near copy at shingle level."""
    return text.rsplit(" ", 1)[0] + " changed"


# --- the held-out split -------------------------------------------------------------------------------------------


def pool_with_copies(seed: int = 0):
    rng = random.Random(seed)
    texts = [sentence(rng) for _ in range(60)]
    texts += [texts[3].upper(), near_copy(texts[7]), near_copy(texts[7]), "  " + texts[11] + "  "]
    return texts, [(3, 60), (7, 61), (7, 62), (61, 62), (11, 63)]


def test_a_holdout_is_the_same_for_one_seed_and_other_for_another():
    texts, _ = pool_with_copies()
    a, b, c = (split_holdout(texts, 0.2, seed=s) for s in (5, 5, 6))
    assert a == b and a.holdout != c.holdout
    assert sorted(a.holdout + a.train_pool) == list(range(len(texts)))  # every sample on exactly one side
    assert 0.2 * len(texts) <= len(a.holdout) <= 0.2 * len(texts) + 3  # whole groups: at most a group's size over


def test_copies_are_never_split_between_holdout_and_training():
    texts, copies = pool_with_copies()
    for seed in range(30):
        split = split_holdout(texts, 0.3, seed=seed)
        held = set(split.holdout)
        for i, j in copies:
            assert (i in held) == (j in held), (seed, i, j)


def test_a_holdout_needs_a_fraction_and_two_different_samples():
    with pytest.raises(WinnowError, match="above 0 and below 1"):
        split_holdout(["a b c d"] * 3, 1.0, seed=0)
    with pytest.raises(WinnowError, match="at least two different samples"):
        split_holdout(["the same text here"] * 5, 0.5, seed=0)
    two = split_holdout(["one sample about cats and dogs", "another about trains and boats"], 0.9, seed=0)
    assert len(two.holdout) == 1 and len(two.train_pool) == 1  # one is always left to train on


def test_copies_between_training_and_evaluation_are_found_both_exact_and_near():
    rng = random.Random(1)
    train = [sentence(rng) for _ in range(40)]
    evaluation = [sentence(rng) for _ in range(10)]
    assert copies_between(train, evaluation) == []
    check_disjoint(train, evaluation, what="the eval file x.jsonl")  # disjoint: no error

    train[5] = "  " + evaluation[2].upper()
    train[9] = near_copy(evaluation[4])
    found = copies_between(train, evaluation)
    assert [(i, j) for i, j, _ in found] == [(5, 2), (9, 4)]
    assert found[0][2] == 1.0 and 0.7 <= found[1][2] < 1.0
    with pytest.raises(WinnowError, match=r"2 training samples overlap the eval file x.jsonl: training sample 6 "):
        check_disjoint(train, evaluation, what="the eval file x.jsonl")


# --- the comparison -----------------------------------------------------------------------------------------------


def runs(seed: int = 0, n: int = 50, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(5, 40, n)
    per_token = rng.uniform(1.0, 3.0, n)
    base = [EvalLosses(per_token * tokens * rng.uniform(0.95, 1.05, n), tokens) for _ in range(3)]
    candidate = EvalLosses((per_token - shift) * tokens, tokens)
    return candidate, base


def test_the_bootstrap_equals_a_plain_loop_over_resamples():
    candidate, base = runs()
    got = paired_bootstrap(candidate, base, n_boot=300, seed=7, level=0.9)

    rng = np.random.default_rng(7)
    n, diffs = len(candidate.nll), []
    for _ in range(300):
        idx = rng.integers(0, n, n)

        def loss(run, idx=idx):
            return run.nll[idx].sum() / run.tokens[idx].sum()

        diffs.append(loss(candidate) - np.mean([loss(b) for b in base]))
    assert got.estimate == pytest.approx(candidate.loss() - np.mean([b.loss() for b in base]))
    assert (got.low, got.high) == pytest.approx(tuple(np.quantile(diffs, [0.05, 0.95])))


def test_a_candidate_better_on_every_sample_has_an_interval_below_zero():
    candidate, base = runs(shift=0.5)
    better = paired_bootstrap(candidate, base)
    assert better.high < 0 and better.low < better.estimate < better.high
    same = paired_bootstrap(base[0], [base[0]])
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)


def test_runs_on_different_eval_samples_are_refused():
    candidate = runs()[0]
    other = EvalLosses(candidate.nll[:-1], candidate.tokens[:-1])
    with pytest.raises(ValueError, match="different eval samples"):
        paired_bootstrap(candidate, [other])
    with pytest.raises(ValueError, match="at least one baseline"):
        paired_bootstrap(candidate, [])


def test_the_spread_across_seeds_is_a_t_interval():
    spread = seed_spread([1.0, 2.0, 3.0])
    assert spread.estimate == 2.0
    assert spread.high - 2.0 == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)  # t(0.975, 2) · sd 1 / sqrt(3)
    assert seed_spread([2.5]) == type(spread)(2.5, 2.5, 2.5)


# --- eval files -------------------------------------------------------------------------------------------------


def test_an_eval_file_is_read_in_any_import_format_and_split_at_the_last_user_turn(tmp_path):
    from core.evaluation.eval_files import read_eval_file

    csv = tmp_path / "math.csv"
    csv.write_text("question,answer\nWhat is 2+2?,4\n求 3 加 5,8\n", encoding="utf-8")
    rows = read_eval_file(csv, mapping="prompt=question,response=answer")
    assert rows == [
        {
            "prompt": [{"role": "user", "content": "What is 2+2?"}],
            "completion": [{"role": "assistant", "content": "4"}],
        },
        {"prompt": [{"role": "user", "content": "求 3 加 5"}], "completion": [{"role": "assistant", "content": "8"}]},
    ]
    chat = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
    ]
    jsonl = tmp_path / "chats.jsonl"
    jsonl.write_text(json.dumps({"messages": chat}) + "\n")
    (row,) = read_eval_file(jsonl)
    assert row == {"prompt": chat[:4], "completion": chat[4:]}


def test_an_eval_file_with_no_answer_is_refused_where_it_is(tmp_path):
    from core.errors import FormatError
    from core.evaluation.eval_files import read_eval_file

    alpaca = tmp_path / "e.jsonl"
    alpaca.write_text('{"instruction": "a", "output": "b"}\n\n{"instruction": "c"}\n')
    with pytest.raises(FormatError, match=r"e.jsonl, line 3, field 'output': required field is missing"):
        read_eval_file(alpaca)
    openai = tmp_path / "o.jsonl"
    openai.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(FormatError, match=r"o.jsonl, line 1, .*no assistant turn"):
        read_eval_file(openai)


def test_an_evaluation_config_refuses_what_cannot_work_and_round_trips():
    from core.evaluation.config import EvalFile, EvaluationConfig, check_name
    from core.evaluation.training import LoraSettings

    good = EvaluationConfig(selection="s", eval_files=(EvalFile("/x/math.jsonl", "prompt=q,response=a"),))
    good.check()
    assert EvaluationConfig.from_dict(good.to_dict()) == good
    for bad, said in [
        (EvaluationConfig(), "either a saved selection or a recipe"),
        (EvaluationConfig(selection="s", recipe="steps: []"), "either a saved selection or a recipe"),
        (EvaluationConfig(selection="s", random_runs=0), "random runs must be 1 to 20"),
        (EvaluationConfig(selection="s", holdout=1.0), "above 0 and below 1"),
        (EvaluationConfig(selection="s", lora=LoraSettings(max_steps=0)), "max steps must be at least 1"),
        (EvaluationConfig(selection="s", eval_files=(EvalFile("/a/holdout"),)), "two eval sets would be named"),
        (EvaluationConfig(selection="s", eval_files=(EvalFile("/a/t.json"), EvalFile("/b/t.json"))), "'t.json'"),
    ]:
        with pytest.raises(WinnowError, match=said):
            bad.check()
    assert check_name(" 中文评估 v2 ") == "中文评估 v2"
    for name in ("", "../up", ".hidden", "a/b", "x" * 81):
        with pytest.raises(WinnowError, match="an evaluation's name is up to 80"):
            check_name(name)


def test_the_verdict_needs_the_items_and_every_random_run_to_agree():
    from core.evaluation.report import verdict

    assert verdict(1.0, (-0.3, -0.1), [1.2, 1.3]) == "better"
    assert verdict(1.0, (-0.3, 0.05), [1.2, 1.3]) == "no clear difference"  # the items do not agree
    assert verdict(1.25, (-0.3, -0.1), [1.2, 1.5]) == "no clear difference"  # one random run did better
    assert verdict(1.6, (0.1, 0.3), [1.2, 1.5]) == "worse"
