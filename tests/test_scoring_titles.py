"""Score columns in words: every column a built-in scorer declares has a few words the pages show in its place."""

from __future__ import annotations

import pytest

from core.scoring import available_scorers, column_title, get_scorer, score_text


@pytest.mark.parametrize("name", available_scorers())
def test_every_column_of_a_scorer_has_its_own_words(name):
    scorer = get_scorer(name)
    titles = [column_title(column) for column in scorer.columns]
    assert set(scorer.column_titles) == set(scorer.columns)
    assert all(title.strip() for title in titles)
    assert len(set(titles)) == len(titles)  # two columns never read the same


def test_the_words_for_the_common_scores():
    assert column_title("h_answer_chars") == "answer length (chars)"
    assert column_title("h_answer_word_rep") == "repetition (words)"
    assert column_title("h_refusal") == "refusal"
    assert column_title("ifd") == "IFD (difficulty)"
    assert column_title("no_such_column") == "no_such_column"  # a column no scorer declares keeps its name


def test_scores_read_as_text():
    assert [score_text(v) for v in (None, True, False, 3, 12345, 2.0, 1234567.0, 0.123456, 1e20)] == [
        "—",
        "yes",
        "no",
        "3",
        "12,345",
        "2",
        "1,234,567",
        "0.1235",
        "1e+20",
    ]
    assert score_text("en") == "en"
