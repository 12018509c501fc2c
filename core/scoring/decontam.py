"""Decontamination: is a sample's text (every message) in one of the workspace's eval sets?

The check is ``core.decontamination.index`` (n-gram overlap, default 13 tokens, and near copies by shingle Jaccard);
the eval sets are registered in the workspace (``python -m core evalset add``), so the scorer reads them before it
runs (``bind_workspace``) and their names and digests become part of its key: adding or replacing a set re-checks
every sample.

Columns: ``contaminated``; ``contamination_overlap`` (the share of the item's n-grams the sample holds, or the
Jaccard similarity of a near copy; 0 when clean); ``contamination_eval_set`` and ``contamination_item`` (the item's
number in its set, from 1); ``contamination_ngram`` (a shared n-gram); ``contamination_method`` ("ngram" or "near
copy").
"""

from __future__ import annotations

from core.errors import WinnowError
from core.scoring.base import Scorer, register

COLUMNS = {
    "contaminated": "BOOLEAN",
    "contamination_overlap": "DOUBLE",
    "contamination_eval_set": "VARCHAR",
    "contamination_item": "INTEGER",
    "contamination_ngram": "VARCHAR",
    "contamination_method": "VARCHAR",
}
TITLES = {
    "contaminated": "in an eval set",
    "contamination_overlap": "overlap with the eval item (0–1)",
    "contamination_eval_set": "eval set it overlaps",
    "contamination_item": "eval item it overlaps (from 1)",
    "contamination_ngram": "shared n-gram",
    "contamination_method": "how it was found",
}
NO_EVAL_SETS = (
    "this workspace has no eval sets to check against: register one with "
    "python -m core evalset add FILE --name NAME (or on the Balance page)"
)


@register
class DecontamScorer(Scorer):
    """Training samples checked against the workspace's eval sets."""

    name = "decontam"
    columns = COLUMNS
    column_titles = TITLES
    default_params = {"n": 13, "min_tokens": 8, "threshold": 0.7, "eval_sets": None}
    token_budget = 1 << 40  # cheap: batches are cut by count only
    max_batch = 2048

    def resolve_params(self, params: dict) -> dict:
        n, low, threshold = params["n"], params["min_tokens"], params["threshold"]
        if not isinstance(n, int) or not isinstance(low, int) or not 1 <= low <= n:
            raise ValueError("decontam needs whole numbers 1 <= min_tokens <= n")
        if threshold is not None and not (isinstance(threshold, int | float) and 0 < threshold <= 1):
            raise ValueError("decontam's threshold is a Jaccard similarity in (0, 1], or null for no near copies")
        sets = params["eval_sets"]
        if sets is not None and not isinstance(sets, list | dict):
            raise ValueError("decontam's eval_sets is a list of eval set names (or null for all)")
        return params

    def bind_workspace(self, store) -> None:
        """Read the eval sets (all, or those ``eval_sets`` names) and put their names and digests in the key."""
        wanted = self.params["eval_sets"]
        known = {s["name"]: s for s in store.eval_sets()}
        if wanted is None:
            names = sorted(known)
        else:
            names = sorted(wanted)
            missing = [n for n in names if n not in known]
            if missing:
                raise WinnowError(
                    f"no eval set {', '.join(map(repr, missing))} in this workspace "
                    f"(it has {', '.join(map(repr, sorted(known))) or 'none'})"
                )
        if not names:
            raise WinnowError(NO_EVAL_SETS)
        self.params = {**self.params, "eval_sets": {n: known[n]["sha256"] for n in names}}
        self._items = [(n, store.eval_set_items(n)) for n in names]

    def setup(self) -> None:
        from core.decontamination.index import EvalIndex, EvalItem

        items = getattr(self, "_items", None)
        if items is None:
            raise WinnowError(NO_EVAL_SETS)
        self.index = EvalIndex(
            [EvalItem(name, i, p, a) for name, rows in items for i, (p, a) in enumerate(rows, start=1)],
            n=self.params["n"],
            min_tokens=self.params["min_tokens"],
            threshold=self.params["threshold"],
        )
        self.ready = True

    def teardown(self) -> None:
        self.index = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        return 1

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        texts, prompts = [], []
        for s in samples:
            messages = [m for m in s.get("messages") or () if isinstance(m.get("content"), str)]
            texts.append("\n".join(m["content"] for m in messages))
            prompts.append("\n".join(m["content"] for m in messages if m.get("role") == "user"))
        rows = []
        for match in self.index.check(texts, prompts):
            if match is None:
                rows.append({**dict.fromkeys(COLUMNS), "contaminated": False, "contamination_overlap": 0.0})
            else:
                rows.append(
                    {
                        "contaminated": True,
                        "contamination_overlap": match.overlap,
                        "contamination_eval_set": match.eval_set,
                        "contamination_item": match.item,
                        "contamination_ngram": match.ngram,
                        "contamination_method": match.method,
                    }
                )
        return rows
