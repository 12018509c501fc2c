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
_NUMBER = re.compile(r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)")
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")


def _number_text(match: str) -> str:
    text = match.replace(",", "").lstrip("+")
    if text.startswith(".") or text.startswith("-."):  # ".5" is 0.5
        text = text.replace(".", "0.", 1)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalize_answer(text: str | None) -> str:
    """The form two answers are compared in: "The $1,000.00 prize." and "1000 prize" are equal."""
    s = unicodedata.normalize("NFKC", text or "").casefold()
    s = _NUMBER.sub(lambda m: f" {_number_text(m.group())} ", s)
    s = "".join(ch if ch.isalnum() or ch.isspace() or ch in ".-%" else " " for ch in s)
    s = s.replace("%", " % ")  # "50%" is not "50"
    # a dot or minus stays only inside a number ("3.5", "-4"); elsewhere it is punctuation
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    s = re.sub(r"-(?!\d)", " ", s)
    words = s.split()
    kept = [w for w in words if not _ARTICLES.fullmatch(w)]
    return " ".join(kept if kept else words[-1:])  # "(A)" or "The A", a choice, stays "a"


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
    found = _final_line(answer)
    if found is None:
        found = _last_boxed(answer)
    if found is None and field_value is not None and str(field_value).strip():
        found = str(field_value).strip()
    if found is None and answer.strip() and word_count(answer) <= max_words:
        found = answer.strip()
    return found if found and normalize_answer(found) else None  # "..." or an emoji is no answer to match


def _final_line(text: str) -> str | None:
    """GSM8K's final answer: what follows ``####`` on the last non-empty line (a markdown heading before other lines
    is not one)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if lines and "####" in lines[-1]:
        return lines[-1].rsplit("####", 1)[1].strip() or None
    return None


def predicted_answer(text: str | None) -> str:
    """What a model's continuation answers: its final answer when it writes one (``####``, ``\\boxed{}``), else its
    first line."""
    text = text or ""
    found = _final_line(text) or _last_boxed(text)
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
    if _NUMBER.fullmatch(want):
        # the first number said, when it stands alone ("72 clips"), not a part of "1/2", "10^6" or "50%"
        said = unicodedata.normalize("NFKC", predicted_answer(prediction))
        first = _NUMBER.search(said)
        if first is None:
            return False
        after = said[first.end() :].lstrip()[:1]
        before = said[: first.start()].rstrip()[-1:]
        return _number_text(first.group()) == want and after not in ("/", "^", "%") and before not in ("/", "^")
    return False
