"""The eval index: every eval item's n-grams and shingle sets, and the check of a batch of training texts against it.

Two tests, either of which marks a text contaminated (tokens as ``core.decontamination.tokens`` makes them):

- **n-gram overlap** (GPT-3 §C, lm-eval-harness; datatrove uses 12): the text holds a run of ``n`` tokens (default
  13) that an eval item holds. An item's n-grams run over its question followed by its answer, so they cover the
  question, the answer and the n-grams spanning both. A question or answer shorter than ``n`` but at least
  ``min_tokens`` long (and an item whose whole text is) is matched whole. Items shorter than ``min_tokens`` are not
  checked: "What is 2 + 2?" turns up in innocent data, and ``EvalIndex.too_short`` counts them. An n-gram that more
  than 50 items hold (a template's wording) is not matched either (``EvalIndex.boilerplate`` counts them): it says
  nothing about which item a text copies, and would pair the text with all of them.
  The overlap reported is the share of the item's n-grams the text holds (1.0 for a short unit matched whole).
- **near copies** with small edits that break every n-gram (a short question with one number changed): the
  Jaccard similarity of 3-token shingle sets, text against item, at least ``threshold`` (default 0.7). The item is
  compared as question + answer and as its question alone; the text as a whole and as its user turns alone.
  Candidates come from a prefix filter (Bayardo et al., "Scaling up all pairs similarity search", 2007): under one
  order of all shingles, rarest in the eval sets first, two sets with Jaccard >= t share a shingle among the first
  ``|S| - ceil(t·|S|) + 1`` of each. The similarity is then computed exactly, so, unlike a MinHash estimate, no pair
  above the threshold is missed and none below it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.decontamination.tokens import HashIndex, Vocabulary, window_hashes
from core.selection.steps.dedup import text_tokens

SHINGLE = 3  # tokens per shingle of the near-copy test
MAX_HOLDERS = 50  # an n-gram held by more eval items than this is the eval set's boilerplate (not matched)


@dataclass(frozen=True)
class EvalItem:
    """One eval item: its set, its number in the set (from 1), and its texts."""

    eval_set: str
    item: int
    prompt: str
    answer: str


@dataclass(frozen=True)
class Match:
    """Why a text is contaminated: the item, the overlap (share of the item's n-grams, or the Jaccard similarity of
    a near copy), the method ("ngram" or "near copy") and the first shared n-gram (for a near copy, the item's
    opening tokens)."""

    eval_set: str
    item: int
    overlap: float
    method: str
    ngram: str


class EvalIndex:
    """The index over a list of eval items.

    Args:
        items: the items (any number of sets).
        n: tokens per n-gram.
        min_tokens: shortest question, answer or item that is checked.
        threshold: Jaccard similarity from which a text is a near copy; None turns the near-copy test off.
    """

    def __init__(self, items: Sequence[EvalItem], *, n: int = 13, min_tokens: int = 8, threshold: float | None = 0.7):
        if n < 1 or min_tokens < 1 or min_tokens > n:
            raise ValueError("need 1 <= min_tokens <= n")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError("the near-copy threshold must be in (0, 1]")
        self.items = list(items)
        self.n, self.min_tokens, self.threshold = n, min_tokens, threshold
        self.vocab = Vocabulary()
        joint, self.question_len = [], []
        for it in self.items:
            q, a = self.vocab.add(text_tokens(it.prompt)), self.vocab.add(text_tokens(it.answer))
            joint.append(np.concatenate([q, a]))
            self.question_len.append(len(q))
        self.item_offsets = np.concatenate([[0], np.cumsum([len(j) for j in joint])]).astype(np.int64)
        self.item_flat = np.concatenate(joint) if joint else np.empty(0, np.uint64)
        self.too_short = sum(len(j) < min_tokens for j in joint)
        self._build_ngrams()
        if threshold is not None:
            self._build_shingles()

    # --- n-grams -----------------------------------------------------------------------------------------------

    def _build_ngrams(self) -> None:
        """Per window length L, sorted: the hashes of the items' L-token units, with item, start and wholeness."""
        rows: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]]] = {}
        hashes, starts = window_hashes(self.item_flat, self.item_offsets, self.n, known_only=False)
        owner = np.searchsorted(self.item_offsets, starts, side="right") - 1
        rows[self.n] = [(hashes, owner, starts, False)]
        # The item's distinct n-grams: the denominator of its overlap.
        self.ngram_count = np.zeros(len(self.items), np.int64)
        if len(hashes):
            distinct = np.unique(np.stack([owner.astype(np.uint64), hashes], axis=1), axis=0)
            self.ngram_count = np.bincount(distinct[:, 0].astype(np.int64), minlength=len(self.items))
        for i in range(len(self.items)):
            lo, hi, q = int(self.item_offsets[i]), int(self.item_offsets[i + 1]), self.question_len[i]
            # Matched whole: the item, its question and its answer, each when shorter than n (and not empty).
            whole = {(lo, hi - lo), (lo, q), (lo + q, hi - lo - q)}
            for start, length in sorted(whole):
                if self.min_tokens <= length < self.n:
                    unit = self.item_flat[start : start + length]
                    h, _ = window_hashes(unit, np.array([0, length], np.int64), length, known_only=False)
                    rows.setdefault(length, []).append((h, np.array([i]), np.array([start]), True))
        self._ngram_tables = {}
        self.boilerplate = 0
        for length, parts in rows.items():
            h = np.concatenate([p[0] for p in parts])
            owner = np.concatenate([p[1] for p in parts]).astype(np.int64)
            starts = np.concatenate([p[2] for p in parts]).astype(np.int64)
            whole = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
            # An n-gram that many items hold is the eval set's boilerplate (a template's wording), not one item's:
            # it would pair every text that holds it with every such item. It is left out of the matching.
            _, inverse, held = np.unique(h, return_inverse=True, return_counts=True)
            common = held[inverse] > MAX_HOLDERS
            self.boilerplate += int((held > MAX_HOLDERS).sum())
            h, owner, starts, whole = h[~common], owner[~common], starts[~common], whole[~common]
            order = np.argsort(h, kind="stable")
            self._ngram_tables[length] = (HashIndex(h[order]), owner[order], starts[order], whole[order])

    def _ngram_hits(self, flat: np.ndarray, offsets: np.ndarray) -> dict[int, tuple[int, float, int, int]]:
        """Per text with a hit: (item, overlap, start of a shared n-gram in ``item_flat``, its length)."""
        best: dict[int, tuple[int, float, int, int]] = {}
        for length, (index, owner, item_starts, whole) in self._ngram_tables.items():
            table = index.hashes
            if not len(table):
                continue
            hashes, starts = window_hashes(flat, offsets, length, known_only=True)
            hit, lo, hi = index.find(hashes)
            if not len(hit):
                continue
            # Every (window, table entry) pair with the same hash, checked token by token.
            win = np.repeat(starts[hit], hi - lo)
            entry = _ranges(lo, hi)
            steps = np.arange(length)
            same = (flat[win[:, None] + steps] == self.item_flat[item_starts[entry][:, None] + steps]).all(axis=1)
            win, entry = win[same], entry[same]
            if not len(win):
                continue
            text = np.searchsorted(offsets, win, side="right") - 1
            # Overlap per (text, item): the item's distinct n-grams the text holds, over all of them; 1 for a unit
            # matched whole.
            key = np.stack([text.astype(np.uint64), owner[entry].astype(np.uint64), table[entry]], axis=1)
            distinct, first = np.unique(key, axis=0, return_index=True)
            pairs, pair_first, held = np.unique(distinct[:, :2], axis=0, return_index=True, return_counts=True)
            for (t, i), f, size in zip(pairs.tolist(), pair_first.tolist(), held.tolist(), strict=True):
                e = entry[first[f]]
                overlap = 1.0 if whole[e] else min(1.0, size / max(1, int(self.ngram_count[i])))
                kept = best.get(t)
                if kept is None or (overlap, -i) > (kept[1], -kept[0]):
                    best[t] = (i, overlap, int(item_starts[e]), length)
        return best

    # --- near copies -------------------------------------------------------------------------------------------

    def _build_shingles(self) -> None:
        """The items' shingle sets (as question + answer, and the question alone), the shingles' document
        frequency, and the prefix index."""
        texts_flat, texts_offsets, unit_item = [], [0], []
        for i in range(len(self.items)):
            lo, hi, q = int(self.item_offsets[i]), int(self.item_offsets[i + 1]), self.question_len[i]
            for a, b in ((lo, hi), (lo, lo + q)) if 0 < q < hi - lo else ((lo, hi),):
                if b - a >= self.min_tokens:
                    texts_flat.append(self.item_flat[a:b])
                    texts_offsets.append(texts_offsets[-1] + b - a)
                    unit_item.append(i)
        flat = np.concatenate(texts_flat) if texts_flat else np.empty(0, np.uint64)
        unit, h = _shingle_sets(flat, np.asarray(texts_offsets, np.int64))
        universe, self.df = np.unique(h, return_counts=True)
        self.universe = HashIndex(universe)
        self.unit_item = np.asarray(unit_item, np.int64)
        self.unit_size = np.bincount(unit, minlength=len(unit_item))
        self._unit_sets = np.split(h, np.cumsum(self.unit_size)[:-1])
        unit, h, rank = self._ordered(unit, h)
        keep = rank < _prefix_length(self.unit_size[unit], self.threshold)
        order = np.argsort(h[keep], kind="stable")
        self._prefix, self._prefix_unit = HashIndex(h[keep][order]), unit[keep][order]

    def _ordered(self, unit: np.ndarray, h: np.ndarray):
        """The (unit, shingle) pairs in the one global order within each unit: rarest in the eval sets first
        (shingles no item holds before all), then by hash; with each shingle's rank in its unit (from 0)."""
        df = np.zeros(len(h), np.int64)
        found, lo, _ = self.universe.find(h)
        df[found] = self.df[lo]
        order = np.lexsort((h, df, unit))
        unit, h = unit[order], h[order]
        if not len(unit):
            return unit, h, np.empty(0, np.int64)
        firsts = np.concatenate([[0], np.flatnonzero(np.diff(unit)) + 1])
        rank = np.arange(len(unit)) - np.repeat(firsts, np.diff(np.append(firsts, len(unit))))
        return unit, h, rank

    def _near_hits(self, flat: np.ndarray, offsets: np.ndarray) -> dict[int, tuple[int, float]]:
        """Per text (of ``offsets``) with a near copy: (item, Jaccard similarity) of the most similar item."""
        best: dict[int, tuple[int, float]] = {}
        if self.threshold is None or not len(self._prefix.hashes):
            return best
        unit, h = _shingle_sets(flat, offsets)
        sizes = np.bincount(unit, minlength=len(offsets) - 1)
        set_start = np.concatenate([[0], np.cumsum(sizes)])
        sorted_h = h
        short = np.diff(offsets) < self.min_tokens
        unit, h, rank = self._ordered(unit, h)
        keep = (rank < _prefix_length(sizes[unit], self.threshold)) & ~short[unit]
        unit, h = unit[keep], h[keep]
        hit, lo, hi = self._prefix.find(h)
        if not len(hit):
            return best
        text_unit = np.repeat(unit[hit], hi - lo)
        entry = _ranges(lo, hi)
        candidates = np.unique(np.stack([text_unit, self._prefix_unit[entry]], axis=1), axis=0)
        a_size, b_size = sizes[candidates[:, 0]], self.unit_size[candidates[:, 1]]
        t = self.threshold
        # Jaccard <= smaller / larger; the slack keeps J == t exactly (0.55 * 100 is 55.000000000000007)
        fits = (b_size >= t * a_size - 1e-9) & (a_size >= t * b_size - 1e-9)
        for u, e in candidates[fits].tolist():
            a, b = sorted_h[set_start[u] : set_start[u + 1]], self._unit_sets[e]
            common = len(np.intersect1d(a, b, assume_unique=True))
            sim = common / (len(a) + len(b) - common)
            if sim >= t:
                item = int(self.unit_item[e])
                kept = best.get(u)
                if kept is None or (sim, -item) > (kept[1], -kept[0]):
                    best[u] = (item, sim)
        return best

    def near_copies(self, texts: Sequence[str]) -> dict[int, tuple[int, float]]:
        """The near-copy test alone: {text position: (item position, Jaccard similarity)} for the texts at or above
        the threshold, each with its most similar item."""
        return self._near_hits(*self.vocab.encode(texts))

    # --- the check ---------------------------------------------------------------------------------------------

    def check(self, texts: Sequence[str], prompts: Sequence[str] | None = None) -> list[Match | None]:
        """Check training texts against the index.

        Args:
            texts: each sample's whole text (every message).
            prompts: each sample's user turns, also compared for near copies (None: not).

        Returns:
            Per text, its Match, or None when it is clean.
        """
        flat, offsets = self.vocab.encode(texts)
        ngram = self._ngram_hits(flat, offsets)
        near = self._near_hits(flat, offsets)
        if prompts is not None and self.threshold is not None:
            p_flat, p_offsets = self.vocab.encode(prompts)
            for t, (item, sim) in self._near_hits(p_flat, p_offsets).items():
                if t not in near or (sim, -item) > (near[t][1], -near[t][0]):
                    near[t] = (item, sim)
        out: list[Match | None] = []
        for t in range(len(texts)):
            g, m = ngram.get(t), near.get(t)
            if g is None and m is None:
                out.append(None)
            elif m is None or (g is not None and g[1] >= m[1]):
                item, overlap, start, length = g
                words = self.vocab.words(self.item_flat[start : start + length])
                out.append(self._match(item, overlap, "ngram", words))
            else:
                item, sim = m
                lo, hi = int(self.item_offsets[item]), int(self.item_offsets[item + 1])
                opening = self.item_flat[lo : min(hi, lo + self.n)]
                out.append(self._match(item, sim, "near copy", self.vocab.words(opening)))
        return out

    def _match(self, item: int, overlap: float, method: str, words: str) -> Match:
        it = self.items[item]
        return Match(it.eval_set, it.item, round(float(overlap), 6), method, words)


def _shingle_sets(flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct shingles: (text of each, hash), sorted by text, then hash."""
    h, starts = window_hashes(flat, offsets, SHINGLE, known_only=False)
    unit = np.searchsorted(offsets, starts, side="right") - 1
    order = np.lexsort((h, unit))
    unit, h = unit[order], h[order]
    if len(h):
        new = np.ones(len(h), bool)
        new[1:] = (unit[1:] != unit[:-1]) | (h[1:] != h[:-1])
        unit, h = unit[new], h[new]
    return unit, h


def _prefix_length(sizes: np.ndarray, threshold: float) -> np.ndarray:
    """Shingles of a set of each size that its prefix holds: ``size - ceil(t·size) + 1``."""
    return sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenated ranges [lo[k], hi[k]) (each non-empty)."""
    sizes = hi - lo
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return starts + np.arange(int(sizes.sum()))
