import time

import pytest

from core.scoring import get_scorer
from core.scoring.heuristics import (
    COLUMNS,
    char_repetition_ratio,
    detect_language,
    heuristics,
    word_repetition_ratio,
    words,
)


def chat(user, answer, system=None):
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"id": "s", "content_hash": "h", "messages": messages, "tools": None}


def test_every_column_is_filled_with_its_type():
    row = heuristics(chat("What is the boiling point of water at sea level?", "It boils at 100 degrees Celsius."))
    assert set(row) == set(COLUMNS)
    python_types = {"INTEGER": int, "DOUBLE": float, "BOOLEAN": bool, "VARCHAR": str}
    for column, value in row.items():
        if value is not None:
            assert isinstance(value, python_types[COLUMNS[column]]), column


def test_words_count_cjk_characters_one_by_one():
    assert words("hello world") == ["hello", "world"]
    assert len(words("北京是首都")) == 5
    assert len(words("I live in 北京 now")) == 6
    row = heuristics(chat("请介绍北京", "北京是中国的首都。"))
    assert row["h_prompt_words"] == 5
    assert row["h_answer_words"] == 9  # 8 characters + the full stop, a non-space run of its own


def test_lengths_split_prompt_and_answer_and_count_turns():
    sample = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Another one?"},
            {"role": "assistant", "content": "Red is another colour."},
        ]
    }
    row = heuristics(sample)
    assert row["h_turns"] == 2
    assert row["h_answer_chars"] == len("Red is another colour.")
    assert row["h_prompt_chars"] == len("Be brief.\nName a colour.\nBlue.\nAnother one?")
    assert row["h_answer_words"] == 4


def test_no_final_assistant_turn_means_an_empty_answer():
    row = heuristics({"messages": [{"role": "user", "content": "hello there"}]})
    assert row["h_answer_empty"] and row["h_answer_short"]
    assert row["h_answer_chars"] == 0 and row["h_prompt_chars"] == len("hello there")


def test_word_repetition_follows_the_data_juicer_definition():
    assert word_repetition_ratio("one two three") == 0.0  # shorter than 10 words
    distinct = " ".join(f"w{i}" for i in range(40))
    assert word_repetition_ratio(distinct) == 0.0
    looped = " ".join(["the cat sat on the mat and then it slept"] * 6)
    assert word_repetition_ratio(looped) == 1.0  # every 10-gram occurs again
    # 20 distinct words then the first 10 again: 21 n-grams, the first and the last are equal
    assert word_repetition_ratio(" ".join([f"w{i}" for i in range(20)] + [f"w{i}" for i in range(10)])) == 2 / 21
    # case and punctuation do not make n-grams differ
    assert word_repetition_ratio("A b c d e f g h i j. a B c d e f g h i j") > 0


def test_char_repetition_follows_the_data_juicer_definition():
    assert char_repetition_ratio("short") == 0.0
    assert char_repetition_ratio("abcdefghijklmnopqrstuvwxyz") == 0.0
    # two distinct 10-grams ('hahahahaha', 'ahahahahah'), floor(sqrt(2)) = 1 of them counts: about half
    assert char_repetition_ratio("ha" * 200) == pytest.approx(0.5, abs=0.01)
    # worked by hand: 'abcdefghijk' twice has 13 10-grams, 11 distinct; 'abcdefghij' and 'bcdefghijk' occur twice
    # and floor(sqrt(11)) = 3 lets both count: (2 + 2) / 13
    assert char_repetition_ratio("abcdefghijk" * 2) == pytest.approx(4 / 13)


def test_language_of_prompt_and_answer_and_mismatch():
    english = "Could you explain how photosynthesis turns sunlight into chemical energy in plants?"
    chinese = "光合作用是植物利用阳光、水和二氧化碳制造葡萄糖并释放氧气的过程。"
    row = heuristics(chat(english, chinese))
    assert row["h_prompt_lang"] == "en" and row["h_answer_lang"] == "zh"
    assert row["h_lang_mismatch"] is True
    same = heuristics(chat(english, "Plants capture sunlight with chlorophyll and store the energy as sugar."))
    assert same["h_lang_mismatch"] is False


def test_short_and_code_only_answers_do_not_count_as_a_language_mismatch():
    prompt = "写一个 Python 函数，返回两个数字的和，并给出调用的例子。"
    code = "```python\ndef add(a, b):\n    return a + b\n\nprint(add(1, 2))\n```"
    row = heuristics(chat(prompt, code))
    assert row["h_answer_lang"] is None and row["h_lang_mismatch"] is False
    assert row["h_code_blocks"] == 1
    assert detect_language("ok") is None


def test_refusal_and_boilerplate_phrases():
    assert heuristics(chat("How do I pick a lock?", "I'm sorry, but I can't help with that."))["h_refusal"]
    assert heuristics(chat("怎么做炸弹？", "抱歉，我无法提供这方面的帮助。"))["h_refusal"]
    assert heuristics(chat("Do you like jazz?", "As an AI language model, I don't have preferences."))["h_boilerplate"]
    assert heuristics(chat("你是谁？", "作为一个AI助手，我可以回答问题。"))["h_boilerplate"]
    plain = heuristics(chat("What is 2+2?", "2 + 2 = 4."))
    assert not plain["h_refusal"] and not plain["h_boilerplate"]


def test_answer_that_copies_the_prompt_is_flagged():
    question = "List three primary colours used in painting and explain why they are called primary."
    assert heuristics(chat(question, question))["h_answer_copies_prompt"]
    row = heuristics(chat(question, "Red, yellow and blue: mixing them gives the other colours."))
    assert not row["h_answer_copies_prompt"]
    assert row["h_answer_prompt_overlap"] < 0.3


def test_format_features():
    answer = "Sure! Here is the plan.\n\n## Steps\n\n1. Mix\n2. Bake\n- cool it\n\n```\ncode\n```\n"
    row = heuristics(chat("Give me a cake plan", answer))
    assert row["h_opens_with_sure"] and row["h_trailing_whitespace"]
    assert row["h_md_headings"] == 1
    assert row["h_md_list_items"] == 3
    assert row["h_code_blocks"] == 1
    assert heuristics(chat("你好", "当然可以，我来帮你。"))["h_opens_with_sure"]
    assert not heuristics(chat("Hi", "Surely not everyone agrees."))["h_opens_with_sure"]


def test_empty_and_short_answers():
    assert heuristics(chat("Hello?", "   "))["h_answer_empty"]
    short = heuristics(chat("Capital of France?", "Paris."))
    assert short["h_answer_short"] and not short["h_answer_empty"]


def test_scorer_returns_one_row_per_sample_fast_enough_for_the_importer():
    scorer = get_scorer("heuristics")
    assert scorer.key.startswith("heuristics/v1/")
    answer = (
        "Photosynthesis happens in the chloroplasts. Light reactions split water and make ATP; the Calvin "
        "cycle then fixes carbon dioxide into sugar. " * 6
    )
    samples = [chat(f"Question {i}: how does photosynthesis work in plants?", answer) for i in range(1000)]
    with scorer:
        scorer.score_batch(samples[:10])  # language table loaded in setup; warm the regexes
        started = time.perf_counter()
        rows = scorer.score_batch(samples)
        elapsed = time.perf_counter() - started
    assert len(rows) == 1000 and all(r["h_prompt_lang"] == "en" for r in rows)
    assert elapsed < 2.0, f"{1000 / elapsed:.0f} samples/s"
