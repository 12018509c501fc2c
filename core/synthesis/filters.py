"""The filters new instructions pass before they become pending samples, as Self-Instruct (Wang et al. 2023) and
Stanford Alpaca filter theirs.

A new instruction is dropped when (``InstructionFilter.reason`` says which):
    - it has at most 3 or more than 150 words (a CJK character counts as a word);
    - it holds a word of ``BLOCKLIST`` (things a text model cannot see or make: an image, a graph, a file, ...);
    - it starts with punctuation, or with "Write a program" (tasks whose answers cannot be judged);
    - its answer was cut off at the length limit;
    - its ROUGE-L F-measure against an instruction already in the pool (the seeds and every instruction kept so
      far) is above 0.7. ROUGE-L is ``rouge-score``'s, without a stemmer, over Winnow's tokens (words, and CJK
      characters one by one), so Chinese instructions are compared too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from core.knowledge.answers import word_count
from core.selection.steps.dedup import text_tokens

MIN_WORDS, MAX_WORDS = 3, 150
ROUGE_L_MAX = 0.7
# Self-Instruct's and Alpaca's list: tasks about media a text model can neither read nor produce.
BLOCKLIST = (
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "plot",
    "go to",
    "video",
    "audio",
    "music",
    "flowchart",
    "diagram",
)
_BLOCKED = re.compile(r"\b(" + "|".join(re.escape(w) for w in BLOCKLIST) + r")\b", re.IGNORECASE)


class _Tokens:
    """rouge-score's tokenizer interface over ``text_tokens``."""

    def tokenize(self, text: str) -> list[str]:
        return text_tokens(text)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure of two texts (``rouge-score``, no stemmer, Winnow's tokens)."""
    return _scorer().score(a, b)["rougeL"].fmeasure


_SCORER = None


def _scorer():
    global _SCORER
    if _SCORER is None:
        from rouge_score import rouge_scorer

        _SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_Tokens())
    return _SCORER


@dataclass
class Verdict:
    """Whether an instruction was kept, and if not why (``rule``: which filter, ``reason``: in words);
    ``rouge_l_max``: its highest ROUGE-L against the pool."""

    kept: bool
    reason: str | None
    rouge_l_max: float
    rule: str | None = None


class InstructionFilter:
    """Checks new instructions against the rules and against a pool that grows with every instruction kept.

    Args:
        pool: the instructions already there (the seeds'); each kept instruction joins it.
        threshold: the ROUGE-L F above which a new instruction is too close to one in the pool.
    """

    def __init__(self, pool: Iterable[str], *, threshold: float = ROUGE_L_MAX):
        self.threshold = threshold
        self.pool: list[str] = []
        self._token_sets: list[set[str]] = []
        for text in pool:
            self._add(text)

    def _add(self, text: str) -> None:
        self.pool.append(text)
        self._token_sets.append(set(text_tokens(text)))

    def rule_reason(self, instruction: str, *, cut_off: bool = False) -> tuple[str, str] | None:
        """The first rule (not similarity) the instruction breaks: (rule, in words), or None."""
        text = (instruction or "").strip()
        words = word_count(text)
        if words <= MIN_WORDS:
            return "too short", f"too short ({words} words; more than {MIN_WORDS} needed)"
        if words > MAX_WORDS:
            return "too long", f"too long ({words} words; at most {MAX_WORDS})"
        if blocked := _BLOCKED.search(text):
            return "blocklisted", f"asks for what a text model cannot handle ({blocked.group(1).lower()!r})"
        if unicodedata.category(text[0])[0] in "PS":
            return "punctuation", "starts with punctuation"
        if text.lower().startswith("write a program"):
            return "program", "asks for a program (its answer cannot be judged)"
        if cut_off:
            return "cut off", "its answer was cut off at the length limit"
        return None

    def most_similar(self, instruction: str) -> tuple[float, str | None]:
        """(the highest ROUGE-L F of ``instruction`` against the pool, that pool instruction)."""
        tokens = set(text_tokens(instruction))
        best, which = 0.0, None
        for text, seen in zip(self.pool, self._token_sets, strict=True):
            if not tokens & seen:  # no token in common: ROUGE-L is 0
                continue
            score = rouge_l(text, instruction)
            if score > best:
                best, which = score, text
        return best, which

    def check(self, instruction: str, *, cut_off: bool = False) -> Verdict:
        """Check a new instruction; a kept one joins the pool."""
        broken = self.rule_reason(instruction, cut_off=cut_off)
        if broken is not None:
            return Verdict(False, broken[1], 0.0, broken[0])
        score, similar = self.most_similar(instruction)
        if score > self.threshold:
            return Verdict(False, f"too close to {similar[:60]!r} (ROUGE-L {score:.2f})", score, "similar")
        self._add(instruction)
        return Verdict(True, None, score)
