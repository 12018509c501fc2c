"""Short gold answers: taking one out of a sample's answer, and telling whether a model's answer matches it.

SliCK (Gekhman et al. 2024, "Does Fine-Tuning LLMs on New Knowledge Encourage Hallucinations?") needs a short answer
to score a model's guesses by exact match. Where a sample has none, it gets no category: nothing is invented.

Extractors, in order (``gold_answer``):
    1. the text after the last ``####`` (GSM8K's final answer);
    2. the content of the last ``\\boxed{...}`` (MATH and its kin), braces balanced;
    3. a field of the record chosen by the caller (the scorer's ``answer_field``), passed in as ``field_value``;
    4. the whole answer, when it is short: at most ``max_words`` words (CJK characters count one each).

Normalisation (``normalize_answer``), as SQuAD's and TriviaQA's exact match, plus numbers: NFKC, casefold, the
articles a/an/the dropped, punctuation dropped except inside numbers, whitespace collapsed; a number loses its
thousands separators, its currency sign, a trailing ``.0``/``.00`` and a trailing percent sign is kept apart.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 5

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")


def _number_text(match: str) -> str:
    text = match.replace(",", "").lstrip("+")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalize_answer(text: str | None) -> str:
    """The form two answers are compared in: "The $1,000.00 prize." and "1000 prize" are equal."""
    s = unicodedata.normalize("NFKC", text or "").casefold()
    s = _NUMBER.sub(lambda m: f" {_number_text(m.group())} ", s)
    s = "".join(ch if ch.isalnum() or ch.isspace() or ch in ".-" else " " for ch in s)
    # a dot or minus stays only inside a number ("3.5", "-4"); elsewhere it is punctuation
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    s = re.sub(r"-(?!\d)", " ", s)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed{")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            if depth == 0:
                return text[i:j].strip() or None
            depth -= 1
    return None


def word_count(text: str) -> int:
    """Words of a text, each CJK character one."""
    return len(_WORD.findall(text or ""))


def gold_answer(answer: str | None, *, field_value: str | None = None, max_words: int = MAX_WORDS) -> str | None:
    """The short gold answer of a sample, or None when it has none (see the module docstring for the order)."""
    answer = answer or ""
    if "####" in answer:
        final = answer.rsplit("####", 1)[1].strip().splitlines()
        if final and final[0].strip():
            return final[0].strip()
    boxed = _last_boxed(answer)
    if boxed:
        return boxed
    if field_value is not None and str(field_value).strip():
        return str(field_value).strip()
    text = answer.strip()
    if text and word_count(text) <= max_words:
        return text
    return None


def predicted_answer(text: str | None) -> str:
    """What a model's continuation answers: its final answer when it writes one (``####``, ``\\boxed{}``), else its
    first line."""
    text = text or ""
    if "####" in text or "\\boxed{" in text:
        found = gold_answer(text, max_words=0)
        if found:
            return found
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def is_correct(prediction: str | None, gold: str) -> bool:
    """Exact match of a model's answer (``predicted_answer``) and the gold answer, both normalized; a numeric gold
    answer also matches the prediction's first number ("72 clips" for 72)."""
    want = normalize_answer(gold)
    got = normalize_answer(predicted_answer(prediction))
    if not want:
        return False
    if got == want:
        return True
    if _NUMBER.fullmatch(want.replace(" ", "")):
        first = _NUMBER.search(got)
        return first is not None and _number_text(first.group()) == want
    return False
