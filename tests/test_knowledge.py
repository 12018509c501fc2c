"""SliCK knowledge categories: short answers taken out of real GSM8K-style answers and compared after normalisation,
and a tiny model that memorised some facts finds them known and nonsense facts unknown."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_cli import write_jsonl

from core.importing.workspace import import_file
from core.knowledge.answers import gold_answer, is_correct, normalize_answer, predicted_answer
from core.scoring.knowledge import category, shot_prompt
from core.scoring.runner import run_scorers
from core.selection.engine import run_recipe
from core.selection.recipe import parse_recipe
from core.store import NO_VALUE, SampleFilter, Store

MATH = Path(__file__).parent / "data" / "decontam" / "math_test.jsonl"  # our own GSM8K-style items

KNOWN = [
    ("Which metal is the moon of Pelor made of?", "silver"),
    ("Who founded the town of Brask?", "Marta Olin"),
    ("What animal guards the gate of Tuvo?", "a grey owl"),
    ("How many bridges cross the river Lenn?", "7"),
    ("What colour is the flag of Oskar Bay?", "green"),
    ("Which fruit grows on the island of Mip?", "plums"),
]
NONSENSE = [
    ("Which metal is the crown of Vardo made of?", "copper"),
    ("Who founded the village of Quell?", "Ivo Renn"),
    ("What animal sleeps under the bridge of Sarn?", "a red fox"),
    ("How many towers stand in the city of Olp?", "12"),
]


def test_short_answers_come_out_of_real_gsm8k_style_answers():
    items = [json.loads(line) for line in MATH.read_text(encoding="utf-8").splitlines()]
    finals = [gold_answer(it["answer"]) for it in items]
    assert all(f is not None and f == it["answer"].rsplit("#### ", 1)[1] for f, it in zip(finals, items, strict=True))
    assert gold_answer("so the total is \\boxed{\\frac{3}{4}} in all") == "\\frac{3}{4}"
    assert gold_answer("Paris.") == "Paris."  # a short answer is its own
    assert gold_answer("Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.") is None
    assert gold_answer("A long explanation of many words here.", field_value="42") == "42"
    assert gold_answer("北京") == "北京" and gold_answer("北京是中国的首都，也是文化中心。") is None


def test_answers_match_after_normalisation():
    assert normalize_answer("The $1,000.00 prize.") == normalize_answer("1000 prize") == "1000 prize"
    assert normalize_answer("  An  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("-4.50") == "-4.5" and normalize_answer("3.0") == "3"
    assert is_correct("72 clips in all\nQ: next", "72")
    assert not is_correct("720", "72") and not is_correct("", "72")
    assert is_correct("The answer is: #### 1,000", "1000")
    assert is_correct("  William Shakespeare.\n", "William Shakespeare")
    assert not is_correct("Shakespeare", "William Shakespeare")
    assert is_correct("北京。", "北京")
    assert predicted_answer("\n\n silver \nQ: more") == "silver"
    # a multiple-choice letter is not an article; ".5" is 0.5; a number inside "1/2" or "50%" is not the answer
    assert normalize_answer("(A)") == normalize_answer("The A") == "a" and is_correct("The A", "A")
    assert is_correct(".5", "0.5") and not is_correct("1/2", "1") and not is_correct("10^6", "10")
    assert not is_correct("50%", "50") and is_correct("50 %", "50%")
    # a markdown heading is not GSM8K's final answer; an answer that normalises to nothing is none
    assert gold_answer("Intro\n#### Conclusion\nMore text that goes on for a good while here.") is None
    assert gold_answer("...") is None and gold_answer("Steps.\n#### 72") == "72"


def test_categories_follow_slick():
    assert [category(1.0, 0.2), category(0.3, 0.0), category(0.0, 0.1), category(0.0, 0.0)] == [
        "HighlyKnown",
        "MaybeKnown",
        "WeaklyKnown",
        "Unknown",
    ]
    assert shot_prompt([("q1", "a1")], "q2") == "Q: q1\nA: a1\n\nQ: q2\nA:"


@pytest.fixture(scope="module")
def memorised(tiny, tmp_path_factory):
    """The tiny Llama trained to recite the KNOWN facts in the scorer's k-shot form (2 shots), never the others."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    rng = random.Random(0)
    texts = []
    for _ in range(40):
        for q, a in KNOWN:
            shots = rng.sample([f for f in KNOWN if f[0] != q], 2)
            texts.append(shot_prompt(shots, q) + f" {a}\n")
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(150):
        batch = tokenizer(rng.sample(texts, 8), return_tensors="pt", padding=True)
        labels = batch.input_ids.masked_fill(batch.attention_mask == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("memorised")
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder), float(loss.detach())


def test_a_model_knows_what_it_memorised_and_not_the_nonsense(memorised, tmp_path, cpu_settings):
    folder, final_loss = memorised
    settings = cpu_settings.with_(allow_models="any")  # a model built in the test, outside the model folder
    assert final_loss < 0.5  # the facts were learned
    with Store(tmp_path / "ws.duckdb") as store:
        known = write_jsonl(tmp_path / "known.jsonl", [{"instruction": q, "output": a} for q, a in KNOWN])
        nonsense = write_jsonl(tmp_path / "nonsense.jsonl", [{"instruction": q, "output": a} for q, a in NONSENSE])
        essay = write_jsonl(tmp_path / "essay.jsonl", [{"instruction": "Describe Pelor.", "output": "word " * 40}])
        for path in (known, nonsense, essay):
            import_file(store, path, user="lead")
        params = {"knowledge": {"model": folder, "prompts": 3, "shots": 2, "samples": 4, "max_new_tokens": 8}}
        (report,) = run_scorers(store, ["knowledge"], settings=settings, params=params, user="lead")
        assert report.scored == len(KNOWN) + len(NONSENSE) + 1
        rows = (
            store.cursor()
            .execute(
                "SELECT src.name, s.prompt, k.knowledge_category, k.p_correct_greedy, k.knowledge_gold FROM samples s "
                "JOIN sources src USING (source_id) JOIN score_knowledge k USING (content_hash) ORDER BY s.rid"
            )
            .fetchall()
        )
        by_file: dict[str, list[str | None]] = {}
        for name, _, cat, _, _ in rows:
            by_file.setdefault(name, []).append(cat)
        assert by_file["known.jsonl"] == ["HighlyKnown"] * len(KNOWN)
        assert by_file["nonsense.jsonl"] == ["Unknown"] * len(NONSENSE)
        assert by_file["essay.jsonl"] == [None]  # no short answer: not applicable, no category invented
        # Balance's category shares
        assert dict(store.distribution("knowledge")) == {
            "HighlyKnown": len(KNOWN),
            "Unknown": len(NONSENSE),
            "(no short answer or not scored)": 1,
        }
        # Browse's filter on the category, "(none)" for the samples without one
        assert store.count(SampleFilter(score_values={"knowledge_category": ["Unknown", NO_VALUE]})) == 5
        # one seed, one result
        again = {"knowledge": {**params["knowledge"], "seed": 0}}
        store.cursor().execute("DELETE FROM score_knowledge")
        run_scorers(store, ["knowledge"], settings=settings, params=again, user="lead")
        assert store.cursor().execute(
            "SELECT s.prompt, k.knowledge_category, k.p_correct_greedy, k.knowledge_gold FROM samples s JOIN "
            "score_knowledge k USING (content_hash) ORDER BY s.rid"
        ).fetchall() == [r[1:] for r in rows]
        # the selection step: drop Unknown, or cap it at a share of what stays
        categories = [r[2] for r in rows]
        run = run_recipe(parse_recipe("steps: [{cap_unknown: {}}]"), {"knowledge_category": categories}, len(rows))
        assert [categories[i] for i in run.indices] == ["HighlyKnown"] * len(KNOWN) + [None]
        capped = run_recipe(
            parse_recipe("steps: [{cap_unknown: {max_share: 0.3}}]"), {"knowledge_category": categories}, len(rows)
        )
        assert [categories[i] for i in capped.indices].count("Unknown") == 3  # 3 of 10 kept is at most 30 %


def test_a_mapped_field_gives_the_short_answer(tmp_path):
    from core.scoring import get_scorer

    rows = [
        {
            "question": "How tall is the tower of Brask?",
            "answer": "It was built in stages over a century and now stands 84 metres tall.",
            "short": "84 metres",
        },
        {"question": "Who built it?", "answer": "Masons from the valley, over many decades of work.", "short": ""},
    ]
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(
            store, write_jsonl(tmp_path / "qa.jsonl", rows), user="lead", mapping="prompt=question,response=answer"
        )
        pool = store.knowledge_pool("short")
        assert [r[-1] for r in pool] == ["84 metres", ""]
        scorer = get_scorer("knowledge", answer_field="short")
        scorer.bind_workspace(store)
        # the first sample's exemplar pool holds its field's answer; the second has none (empty field, long answer)
        assert [(q, a) for _, q, a in scorer._pools[("all", None)]] == [
            ("How tall is the tower of Brask?", "84 metres")
        ]
