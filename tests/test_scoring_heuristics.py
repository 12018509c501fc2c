import random

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


def test_scorer_returns_one_row_per_sample_in_order():
    scorer = get_scorer("heuristics")
    assert scorer.key.startswith("heuristics/v1/")
    answer = (
        "Photosynthesis happens in the chloroplasts. Light reactions split water and make ATP; the Calvin "
        "cycle then fixes carbon dioxide into sugar. "
    )
    samples = [chat(f"Question {i}: how does photosynthesis work in plants?", answer * (1 + i % 7)) for i in range(300)]
    with scorer:
        rows = scorer.score_batch(samples)
    assert len(rows) == 300 and all(r["h_prompt_lang"] == "en" for r in rows)
    assert [r["h_answer_chars"] for r in rows] == [len(answer * (1 + i % 7)) for i in range(300)]


LANGUAGE_TEXTS = [
    "The committee will meet on Tuesday to review the budget and the hiring plan for next year.",
    "请用三句话介绍一下长城的历史，以及它在今天的意义。",
    "Le comité se réunira mardi pour examiner le budget et le plan d'embauche de l'année prochaine.",
    "El comité se reunirá el martes para revisar el presupuesto y el plan de contratación del próximo año.",
    "Der Ausschuss trifft sich am Dienstag, um das Budget und den Einstellungsplan für das nächste Jahr zu prüfen.",
    "委員会は火曜日に集まり、来年の予算と採用計画を見直します。",
    "Комитет соберётся во вторник, чтобы рассмотреть бюджет и план найма на следующий год.",
    "THE COMMITTEE WILL MEET ON TUESDAY TO REVIEW THE BUDGET AND THE HIRING PLAN.",
    "```python\ndef add(a, b):\n    return a + b\n```\nThis function adds two numbers and returns the sum to the caller.",
    "ok",
    "",
    "Translate to French: good morning, how are you today? Bonjour, comment allez-vous aujourd'hui ?",
    "佢哋今日去咗飲茶，食咗好多點心，仲講咗好耐嘢先返屋企。",
    "word " * 400,
]


def test_batched_language_detection_equals_py3langid_one_text_at_a_time():
    from core.scoring.heuristics import (
        _MAIN_LANGUAGE,
        LANG_MIN_CONFIDENCE,
        _language_identifier,
        _language_probabilities,
        _prose,
        detect_languages,
    )

    identifier = _language_identifier()

    def one_at_a_time(text):  # the library's own per-text path, pooled as the docstring says
        prose = _prose(text)
        if prose is None:
            return None
        pooled = {}
        for lang, probability in identifier.rank(prose)[:8]:
            pooled[_MAIN_LANGUAGE.get(lang, lang)] = pooled.get(_MAIN_LANGUAGE.get(lang, lang), 0.0) + probability
        lang, confidence = max(pooled.items(), key=lambda item: item[1])
        return lang if confidence >= LANG_MIN_CONFIDENCE else None

    found = detect_languages(LANGUAGE_TEXTS)
    assert found == [one_at_a_time(t) for t in LANGUAGE_TEXTS]
    assert found[:7] == ["en", "zh", "fr", "es", "de", "ja", "ru"]
    assert found[9:11] == [None, None]  # too few letters
    assert found[12] == "zh"  # Cantonese pooled under Chinese
    labels = list(dict.fromkeys(identifier.nb_classes))
    texts = [t for t in LANGUAGE_TEXTS if t]
    for text, row in zip(texts, _language_probabilities(texts), strict=True):
        expected = dict(identifier.rank(text))
        assert row.tolist() == [expected[label] for label in labels]
    # and on noise, where many features tie and the order of the sums matters most
    rng = random.Random(7)
    pool = "abcdefghijklmnopqrstuvwxyz éàüß的是不了人我在有他这ЖжЛлあいう 0123456789.,!?\n"
    noise = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 280))) for _ in range(60)]
    for text, row in zip(noise, _language_probabilities(noise), strict=True):
        expected = dict(identifier.rank(text))
        assert row.tolist() == [expected[label] for label in labels]
    assert detect_languages(noise) == [one_at_a_time(t) for t in noise]
    assert detect_languages([]) == []


def test_the_scorer_batch_equals_one_sample_at_a_time():
    from core.scoring.heuristics import heuristics_batch

    samples = [chat(a, b) for a, b in zip(LANGUAGE_TEXTS, reversed(LANGUAGE_TEXTS), strict=True)]
    samples.append({"messages": [{"role": "user", "content": LANGUAGE_TEXTS[1]}]})  # no answer
    assert heuristics_batch(samples) == [heuristics(s) for s in samples]
    assert get_scorer("heuristics").score_batch(samples) == [heuristics(s) for s in samples]
