"""Texts as arrays of token ids, and hashes of every window of L consecutive tokens, for a batch at once.

Tokens are ``core.selection.steps.dedup.text_tokens``: the text NFKC-normalized and casefolded, then each CJK
character (Chinese is matched character by character) and each run of other letters or digits is a token; spaces,
punctuation and symbols are not tokens. So whitespace, case, fullwidth forms and punctuation do not hide a copy.

Ids come from the eval sets' vocabulary (``Vocabulary``): a token that no eval item holds gets an id with the top bit
set, taken from a hash of the token, so windows holding it never match an eval window but still count as distinct
shingles. A window's hash is a polynomial over its tokens' mixed ids (splitmix64's finalizer), seeded with L, in
unsigned 64-bit arithmetic; matches are then checked token by token, so a hash collision cannot make a false hit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.selection.steps.dedup import text_tokens

UNKNOWN = np.uint64(1 << 63)  # the bit that marks a token no eval item holds
_LOW = (1 << 63) - 1
_BASE = np.uint64(0x9E3779B97F4A7C15)


class Vocabulary:
    """The eval sets' tokens, numbered from 1 in order of first sight."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.tokens: list[str] = [""]  # id 0 is no token

    def add(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of ``tokens``, numbering the new ones."""
        ids = self.ids
        out = []
        for t in tokens:
            i = ids.get(t)
            if i is None:
                i = ids[t] = len(self.tokens)
                self.tokens.append(t)
            out.append(i)
        return np.asarray(out, dtype=np.uint64)

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The texts' tokens as one flat id array and offsets (text i is ``flat[offsets[i]:offsets[i + 1]]``).

        Tokens outside the vocabulary get ``UNKNOWN | (hash(token) & (2**63 - 1))``: the same id for the same token
        within this process, never an eval token's id.
        """
        get = self.ids.get
        flat: list[int] = []
        offsets = [0]
        for text in texts:
            flat.extend([get(t) or (hash(t) & _LOW) | (1 << 63) for t in text_tokens(text)])
            offsets.append(len(flat))
        return np.asarray(flat, dtype=np.uint64), np.asarray(offsets, dtype=np.int64)

    def words(self, ids: np.ndarray) -> str:
        """Known ids back as text: tokens joined by spaces, CJK characters without."""
        out = ""
        for i in ids.tolist():
            token = self.tokens[i] if i < len(self.tokens) else "…"
            if out and not (_is_cjk(token) and _is_cjk(out[-1])):
                out += " "
            out += token
        return out


def _is_cjk(text: str) -> bool:
    return len(text) == 1 and ord(text) >= 0x3040


def _mix(ids: np.ndarray) -> np.ndarray:
    x = ids.copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def window_hashes(
    flat: np.ndarray, offsets: np.ndarray, length: int, *, known_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every window of ``length`` tokens that lies inside one text.

    Args:
        flat, offsets: as ``Vocabulary.encode`` returns them.
        known_only: leave out windows that hold a token outside the vocabulary (they cannot match an eval window).

    Returns:
        (hashes, starts): one uint64 hash per window and the window's first position in ``flat``.
    """
    n = len(flat)
    if n < length:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    m = n - length + 1
    mixed = _mix(flat)
    h = np.full(m, np.uint64(length), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(length):
            h *= _BASE
            h += mixed[k : k + m]
    starts = np.arange(m, dtype=np.int64)
    # A window is inside one text when its first and last token belong to the same text.
    text_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    ok = text_of[:m] == text_of[length - 1 :]
    if known_only:
        unknown = np.concatenate([[0], np.cumsum(flat >= UNKNOWN)])
        ok &= unknown[length:] - unknown[:m] == 0
    return h[ok], starts[ok]


class HashIndex:
    """Sorted uint64 hashes, looked up many at a time when most queries are absent (as training n-grams are from an
    eval set): a bitmap of the hashes' top bits answers "absent" for most queries with one memory read, and only
    the rest are binary-searched.

    Args:
        hashes: sorted ascending.
    """

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes
        bits = int(min(26, max(16, math.ceil(math.log2(max(1, len(hashes)) * 16)))))
        self._shift = np.uint64(64 - bits)
        self._present = np.zeros(1 << bits, dtype=bool)
        self._present[(hashes >> self._shift).astype(np.intp)] = True

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions of the queries present, and for each the range [lo, hi) of its equal hashes)."""
        maybe = np.flatnonzero(self._present[(queries >> self._shift).astype(np.intp)])
        lo = np.searchsorted(self.hashes, queries[maybe], side="left")
        hi = np.searchsorted(self.hashes, queries[maybe], side="right")
        found = hi > lo
        return maybe[found], lo[found], hi[found]
