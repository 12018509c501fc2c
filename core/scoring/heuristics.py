"""Cheap per-sample statistics and flags: lengths, repetition, language, refusals, format.

No model is loaded (py3langid's small naive-Bayes table aside), so the importer runs this on every sample as it
arrives; it handles thousands of samples per second on one core.

The *answer* is the last message when it is the assistant's; the *prompt* is every message before it (system, user,
tool and earlier assistant turns). A sample whose last message is not the assistant's has an empty answer.

Columns (all prefixed ``h_``):

| column                  | type    | meaning                                                                        |
|-------------------------|---------|--------------------------------------------------------------------------------|
| h_turns                 | INTEGER | user messages in the conversation                                              |
| h_prompt_chars          | INTEGER | characters in the prompt's messages                                            |
| h_answer_chars          | INTEGER | characters in the answer                                                       |
| h_prompt_words          | INTEGER | words in the prompt: whitespace-separated runs; each CJK character is a word   |
| h_answer_words          | INTEGER | words in the answer, counted the same way                                      |
| h_answer_word_rep       | DOUBLE  | share of the answer's word 10-grams seen more than once (higher = worse)       |
| h_answer_char_rep       | DOUBLE  | share of the answer's char 10-grams held by the most repeated (higher = worse) |
| h_prompt_lang           | VARCHAR | language of the user turns (py3langid code); NULL when too short or unsure     |
| h_answer_lang           | VARCHAR | language of the answer's prose (code blocks removed); NULL likewise            |
| h_lang_mismatch         | BOOLEAN | both languages known and different (translation tasks trip it too)             |
| h_refusal               | BOOLEAN | the answer declines ("I'm sorry, but", "I cannot help", "抱歉" ...)              |
| h_boilerplate           | BOOLEAN | AI disclaimer or filler ("As an AI language model", "I hope this helps")       |
| h_answer_empty          | BOOLEAN | no answer, or only whitespace                                                  |
| h_answer_short          | BOOLEAN | fewer than 3 words                                                             |
| h_answer_prompt_overlap | DOUBLE  | share of the answer's word 3-grams found in the user turns; NULL < 3 words     |
| h_answer_copies_prompt  | BOOLEAN | overlap >= 0.8, or the answer equals the last user message                     |
| h_md_headings           | INTEGER | markdown heading lines in the answer ("# ...")                                 |
| h_md_list_items         | INTEGER | markdown list lines in the answer ("- ", "* ", "1. ")                          |
| h_code_blocks           | INTEGER | fenced code blocks in the answer (an unclosed fence counts)                    |
| h_opens_with_sure       | BOOLEAN | opens with Sure, Certainly, Of course, Absolutely, 当然, 好的 ...             |
| h_trailing_whitespace   | BOOLEAN | the answer starts or ends with whitespace                                      |

The repetition ratios follow data-juicer's ``word_repetition_filter`` (words lowercased and stripped of punctuation;
ratio of n-grams seen more than once) and ``character_repetition_filter`` (the sqrt(#distinct) most frequent n-grams'
share, counting only n-grams seen more than once), both with n = 10.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter

from core.scoring.base import Scorer, register

COLUMNS = {
    "h_turns": "INTEGER",
    "h_prompt_chars": "INTEGER",
    "h_answer_chars": "INTEGER",
    "h_prompt_words": "INTEGER",
    "h_answer_words": "INTEGER",
    "h_answer_word_rep": "DOUBLE",
    "h_answer_char_rep": "DOUBLE",
    "h_prompt_lang": "VARCHAR",
    "h_answer_lang": "VARCHAR",
    "h_lang_mismatch": "BOOLEAN",
    "h_refusal": "BOOLEAN",
    "h_boilerplate": "BOOLEAN",
    "h_answer_empty": "BOOLEAN",
    "h_answer_short": "BOOLEAN",
    "h_answer_prompt_overlap": "DOUBLE",
    "h_answer_copies_prompt": "BOOLEAN",
    "h_md_headings": "INTEGER",
    "h_md_list_items": "INTEGER",
    "h_code_blocks": "INTEGER",
    "h_opens_with_sure": "BOOLEAN",
    "h_trailing_whitespace": "BOOLEAN",
}
# The columns in words, for the pages (the table above says exactly what each one counts).
TITLES = {
    "h_turns": "turns",
    "h_prompt_chars": "prompt length (chars)",
    "h_answer_chars": "answer length (chars)",
    "h_prompt_words": "prompt length (words)",
    "h_answer_words": "answer length (words)",
    "h_answer_word_rep": "repetition (words)",
    "h_answer_char_rep": "repetition (characters)",
    "h_prompt_lang": "prompt language",
    "h_answer_lang": "answer language",
    "h_lang_mismatch": "language mismatch",
    "h_refusal": "refusal",
    "h_boilerplate": "boilerplate",
    "h_answer_empty": "empty answer",
    "h_answer_short": "very short answer",
    "h_answer_prompt_overlap": "overlap with the prompt",
    "h_answer_copies_prompt": "copies the prompt",
    "h_md_headings": "headings",
    "h_md_list_items": "list items",
    "h_code_blocks": "code blocks",
    "h_opens_with_sure": "opens with “Sure”",
    "h_trailing_whitespace": "stray whitespace",
}

# CJK ideographs, kana and fullwidth forms: scripts written without spaces, so each character counts as a word.
# (Hangul is written with spaces and counts like Latin.)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
# data-juicer strips these from each word before counting n-grams; punctuation only words disappear
_STRIP = "".join(sorted(set(" \t\n\r!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…–—·、。，！？；：（）《》【】「」『』")))
# Every pattern here runs over whole answers, so each must cost time linear in the text (tests/test_hardening.py
# checks this on adversarial texts). A line's indent is ``[^\S\n]*``, whitespace that is not a newline: with ``\s*``
# the match tried at each of N blank lines ran over all the blank lines after it, O(N^2) (20k newlines took 7 s).
# The counts are the same: ``^`` is a line start either way, and a fence or a marker belongs to the line it is on.
_FENCE = re.compile(r"^[^\S\n]*(```|~~~)", re.MULTILINE)
_CODE_BLOCK = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)  # each match runs to its closing fence or the end
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S", re.MULTILINE)
_LIST_ITEM = re.compile(r"^[^\S\n]*(?:[-*+]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_LETTERS = re.compile(r"[^\W\d_]")  # letters of any script, CJK included
_CJK_CHAR = re.compile(f"[{_CJK}]")

_REFUSAL = re.compile(
    "|".join(
        [
            r"\bI'?m sorry,? but\b",
            r"\bI am sorry,? but\b",
            r"\bI (?:cannot|can ?not|can't|can’t|am unable to|am not able to|won't|will not) "
            r"(?:help|assist|provide|fulfil|fulfill|comply|do that|answer|generate|create|write|support)",
            r"\bI apologi[sz]e,? but\b",
            r"\bI must (?:decline|refuse)\b",
            r"\b(?:it is|it's) not appropriate\b",
            r"\bagainst (?:my|the) (?:guidelines|policy|policies|programming)\b",
            "抱歉",
            "对不起",
            "我不能",
            "我无法",
            "无法提供",
            "不能提供",
        ]
    ),
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    "|".join(
        [
            r"\bas an AI\b",
            r"\bas a (?:large )?language model\b",
            r"\bAI language model\b",
            r"\bI(?:'m| am) (?:just )?an AI\b",
            r"\bI don'?t have (?:personal )?(?:opinions|feelings|emotions|beliefs)\b",
            r"\bmy (?:knowledge )?cutoff\b",
            r"\bI hope this helps\b",
            r"\blet me know if you (?:have|need) any (?:other|more|further)\b",
            r"\bfeel free to ask\b",
            "作为一个?(?:AI|人工智能|语言模型)",
            "我是一个?(?:AI|人工智能|语言模型)",
            "希望(?:这|以上)(?:对你|能)",
        ]
    ),
    re.IGNORECASE,
)
_SURE = re.compile(
    r"^\s*(?:sure|certainly|of course|absolutely|definitely|great question|okay|ok)\b|^\s*(?:当然|好的|没问题)",
    re.IGNORECASE,
)

LANG_MIN_LETTERS = 20  # fewer letters (a CJK character counts 3) and language ID is a guess: report NULL
LANG_MIN_CONFIDENCE = 0.6
# varieties py3langid separates that a language-mismatch flag should not
_MAIN_LANGUAGE = {
    "wuu": "zh",
    "yue": "zh",
    "cmn": "zh",
    "gan": "zh",
    "hak": "zh",
    "nan": "zh",
    "pcm": "en",
    "sco": "en",
}
LANG_MAX_CHARS = 300  # the start of a text is enough to tell its language
REP_LEN = 10
PHRASE_WINDOW = 400  # refusal and boilerplate phrases are looked for in the first and last 400 characters
SHORT_WORDS = 3
COPY_OVERLAP = 0.8

_identifier = None
_tables = None
_identifier_lock = threading.Lock()


def _language_identifier():
    global _identifier
    if _identifier is not None:
        return _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def _language_tables():
    """py3langid's byte automaton as numpy arrays (next state, row offsets, feature per state) and its labels."""
    global _tables
    if _tables is not None:
        return _tables
    import numpy as np

    ident = _language_identifier()
    with _identifier_lock:
        if _tables is None:
            labels = list(dict.fromkeys(ident.nb_classes))  # one column per label: an alias's dupe is folded in
            first = [ident.nb_classes.index(label) for label in labels]
            groups = list(dict.fromkeys(_MAIN_LANGUAGE.get(label, label) for label in labels))
            _tables = (
                np.asarray(ident.tk_nextmove),  # a view of py3langid's array (its own dtype): no copy of ~40 MB
                np.asarray(ident.tk_row).astype(np.int64) << 8,
                np.asarray(ident.tk_output, dtype=np.int32),
                np.asarray(first),
                np.asarray([groups.index(_MAIN_LANGUAGE.get(label, label)) for label in labels]),
                groups,
            )
        return _tables


def _language_probabilities(texts: list[str]):
    """py3langid's probabilities (``rank``'s, one column per label) for many texts at once.

    py3langid walks a byte automaton one byte at a time in Python, which was over half of this module's time. Here
    the walk takes one step for every text at once with numpy: the automaton is the same and so are the features,
    counts and naive-Bayes sums (in the same order), so the probabilities are ``rank``'s.
    """
    import numpy as np

    ident = _language_identifier()
    nextmove, rowbase, output, first, _, _ = _language_tables()
    encoded = [ident._encode(text) for text in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    order = np.argsort(-lengths, kind="stable")  # longest first: the texts still walking are always a prefix
    width = int(lengths.max(initial=0))
    walked = np.zeros((len(texts), width), dtype=np.uint8)
    for row, i in enumerate(order.tolist()):
        walked[row, : lengths[i]] = np.frombuffer(encoded[i], dtype=np.uint8)
    features = np.full((len(texts), width), -1, dtype=np.int32)
    state = np.zeros(len(texts), dtype=np.int64)
    walking = len(texts)
    for t in range(width):
        while walking and lengths[order[walking - 1]] <= t:
            walking -= 1
        state[:walking] = nextmove[rowbase[state[:walking]] + walked[:walking, t]]
        features[:walking, t] = output[state[:walking]]
    scores = np.zeros((len(texts), len(ident.nb_classes)), dtype=np.float32)
    for row, i in enumerate(order.tolist()):
        seen = features[row][features[row] >= 0]
        if seen.size:
            index, first_seen, counts = np.unique(seen, return_index=True, return_counts=True)
            # in order of first appearance, as py3langid's Counter keeps them: the same sum in the same order
            index, counts = index[np.argsort(first_seen)], counts[np.argsort(first_seen)]
            scores[i] = np.log1p(counts.astype(np.float32)) @ ident.nb_ptc[index] + ident.nb_pc
    # as py3langid with norm_probs: a softmax at temperature sqrt(bytes); texts without features come out uniform
    scores *= (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)[:, None]
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    scores /= scores.sum(axis=1, keepdims=True)
    for i, j in ident._alias_pairs:
        scores[:, i] += scores[:, j]
    return scores[:, first]


def words(text: str) -> list[str]:
    """Whitespace-separated runs, with each CJK character a word of its own."""
    return _WORD.findall(text)


def word_repetition_ratio(text: str, n: int = REP_LEN) -> float:
    """Share of the text's word n-grams that occur more than once (words lowercased, punctuation stripped).

    0.0 for texts shorter than n words. Higher means more repetitive; data-juicer's default cut is 0.5.
    """
    tokens = [w for w in (w.strip(_STRIP) for w in words(text.lower())) if w]
    if len(tokens) < n:
        return 0.0
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    total = len(tokens) - n + 1
    return sum(c for c in counts.values() if c > 1) / total


def char_repetition_ratio(text: str, n: int = REP_LEN) -> float:
    """Share of the text's character n-grams covered by its most repeated n-grams.

    The top ``floor(sqrt(#distinct n-grams))`` n-grams, counting only those seen more than once, as in data-juicer.
    0.0 for texts shorter than n characters. Higher means more repetitive; data-juicer's default cut is 0.5.
    """
    total = len(text) - n + 1
    if total <= 0:
        return 0.0
    # map() over slices keeps the loop in C: twice as fast as a generator expression on long answers
    counts = Counter(map(text.__getitem__, map(slice, range(total), range(n, total + n))))
    repeated = sorted((c for c in counts.values() if c > 1), reverse=True)
    top = min(int(math.sqrt(len(counts))), len(repeated))
    return sum(repeated[:top]) / total


def _prose(text: str) -> str | None:
    """The start of ``text`` with code blocks removed, or None when it has too few letters to tell a language."""
    prose = _CODE_BLOCK.sub(" ", text) if "```" in text or "~~~" in text else text
    prose = prose[:LANG_MAX_CHARS]
    # a CJK character says as much as a short word: count it three times
    if len(_LETTERS.findall(prose)) + 2 * len(_CJK_CHAR.findall(prose)) < LANG_MIN_LETTERS:
        return None
    return prose


def detect_languages(texts: list[str]) -> list[str | None]:
    """Language code of each text (code blocks ignored), or None when it has too few letters or langid is unsure.

    py3langid tells close varieties apart (zh / wuu / yue, en / pcm) and splits its confidence between them, so the
    probabilities of its eight likeliest labels are pooled under their main language before the confidence check,
    and the main language is reported.
    """
    import numpy as np

    prose = [_prose(text) for text in texts]
    known = [i for i, p in enumerate(prose) if p is not None]
    found: list[str | None] = [None] * len(texts)
    if not known:
        return found
    probabilities = _language_probabilities([prose[i] for i in known])
    *_, group_of, groups = _language_tables()
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :8]  # the tail holds almost nothing
    pooled = np.zeros((len(known), len(groups)))
    rows = np.repeat(np.arange(len(known)), top.shape[1])
    np.add.at(pooled, (rows, group_of[top].ravel()), np.take_along_axis(probabilities, top, axis=1).ravel())
    best = pooled.argmax(axis=1)
    for i, group, confidence in zip(known, best.tolist(), pooled.max(axis=1).tolist(), strict=True):
        found[i] = groups[group] if confidence >= LANG_MIN_CONFIDENCE else None
    return found


def detect_language(text: str) -> str | None:
    """``detect_languages`` for one text."""
    return detect_languages([text])[0]


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _overlap(answer: str, prompt: str) -> float | None:
    """Share of the answer's word 3-grams found in the prompt; None when the answer has under 3 words."""
    a = [w for w in (w.strip(_STRIP) for w in words(answer.lower())) if w]
    if len(a) < 3:
        return None
    p = [w for w in (w.strip(_STRIP) for w in words(prompt.lower())) if w]
    grams = _ngrams(a, 3)
    return len(grams & _ngrams(p, 3)) / len(grams)


def _content(message: dict) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def heuristics(sample: dict, languages: tuple[str | None, str | None] | None = None) -> dict:
    """The heuristic columns of one sample (see the module docstring for each column).

    Args:
        languages: the prompt's and the answer's language when already detected (``heuristics_batch`` does it for
            a whole batch at once); None detects them here.
    """
    messages = sample.get("messages") or []
    has_answer = bool(messages) and messages[-1].get("role") == "assistant"
    answer = _content(messages[-1]) if has_answer else ""
    before = messages[:-1] if has_answer else messages
    prompt = "\n".join(_content(m) for m in before)
    user_texts = [_content(m) for m in before if m.get("role") == "user"]
    user = "\n".join(user_texts)
    answer_words = words(answer)
    # refusals and disclaimers open or close an answer; searching the middle of long answers costs more than it finds
    ends = answer if len(answer) <= PHRASE_WINDOW * 2 else answer[:PHRASE_WINDOW] + "\n" + answer[-PHRASE_WINDOW:]

    prompt_lang, answer_lang = languages or detect_languages([user, answer])
    overlap = _overlap(answer, user)
    stripped = answer.strip()
    copies = (overlap is not None and overlap >= COPY_OVERLAP) or (
        bool(stripped) and bool(user_texts) and stripped == user_texts[-1].strip()
    )
    return {
        "h_turns": len(user_texts),
        "h_prompt_chars": len(prompt),
        "h_answer_chars": len(answer),
        "h_prompt_words": len(words(prompt)),
        "h_answer_words": len(answer_words),
        "h_answer_word_rep": word_repetition_ratio(answer),
        "h_answer_char_rep": char_repetition_ratio(answer),
        "h_prompt_lang": prompt_lang,
        "h_answer_lang": answer_lang,
        "h_lang_mismatch": prompt_lang is not None and answer_lang is not None and prompt_lang != answer_lang,
        "h_refusal": bool(_REFUSAL.search(ends)),
        "h_boilerplate": bool(_BOILERPLATE.search(ends)),
        "h_answer_empty": not stripped,
        "h_answer_short": len(answer_words) < SHORT_WORDS,
        "h_answer_prompt_overlap": overlap,
        "h_answer_copies_prompt": copies,
        "h_md_headings": len(_HEADING.findall(answer)),
        "h_md_list_items": len(_LIST_ITEM.findall(answer)),
        "h_code_blocks": (len(_FENCE.findall(answer)) + 1) // 2,
        "h_opens_with_sure": bool(_SURE.match(answer)),
        "h_trailing_whitespace": bool(answer) and answer != stripped,
    }


def _sides(sample: dict) -> tuple[str, str]:
    """(the user turns, the answer): the texts whose language is detected."""
    messages = sample.get("messages") or []
    has_answer = bool(messages) and messages[-1].get("role") == "assistant"
    before = messages[:-1] if has_answer else messages
    user = "\n".join(_content(m) for m in before if m.get("role") == "user")
    return user, _content(messages[-1]) if has_answer else ""


def heuristics_batch(samples: list[dict]) -> list[dict]:
    """``heuristics`` of many samples, with language detection done for all of them at once (1.4-1.7x faster)."""
    texts = [text for sample in samples for text in _sides(sample)]
    languages = detect_languages(texts)
    return [heuristics(sample, (languages[2 * i], languages[2 * i + 1])) for i, sample in enumerate(samples)]


@register
class HeuristicsScorer(Scorer):
    """Cheap statistics and flags for every sample (no model; see the module docstring for the columns)."""

    name = "heuristics"
    version = 1
    columns = COLUMNS
    column_titles = TITLES
    default_params = {}
    token_budget = 1_000_000
    max_batch = 2048

    def setup(self) -> None:
        _language_tables()  # load the langid tables once, up front (~0.5 s)
        self.ready = True

    def score_batch(self, samples: list[dict]) -> list[dict]:
        return heuristics_batch(samples)
