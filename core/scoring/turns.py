"""Per-turn scores of a chat: IFD and the heuristic signals of every assistant turn, each with its history as context.

A chat is scored whole elsewhere (the ``ifd`` and ``heuristics`` scorers read its *last* answer); one bad answer in
the middle goes unseen there. This scorer cuts the chat after each assistant turn (``messages[: i + 1]``), so the
turn is the answer and everything before it the prompt, scores each cut with the IFD engine and the heuristics, and
keeps what Browse and Select filter on: the worst and the mean turn.

Columns (None for a chat with fewer than two assistant turns: its whole-chat scores already say it all):
``turn_count``; ``turn_ifd_mean`` and ``turn_ifd_max`` (the hardest turn; above 1, a turn its history does not help);
``turn_ifd_max_at`` (which assistant turn, from 1); ``turn_refusals``, ``turn_short_answers`` (turns flagged by the
heuristics); ``turn_word_rep_max`` (the most repetitive turn); ``turn_untrained`` (turns marked not to train on).
"""

from __future__ import annotations

import math

from core.formats.turns import untrained_turns
from core.scoring.base import Scorer, register
from core.scoring.heuristics import heuristics_batch

COLUMNS = {
    "turn_count": "INTEGER",
    "turn_ifd_mean": "DOUBLE",
    "turn_ifd_max": "DOUBLE",
    "turn_ifd_max_at": "INTEGER",
    "turn_refusals": "INTEGER",
    "turn_short_answers": "INTEGER",
    "turn_word_rep_max": "DOUBLE",
    "turn_untrained": "INTEGER",
}
TITLES = {
    "turn_count": "assistant turns",
    "turn_ifd_mean": "IFD, mean over turns",
    "turn_ifd_max": "IFD, hardest turn",
    "turn_ifd_max_at": "hardest turn (from 1)",
    "turn_refusals": "turns that refuse",
    "turn_short_answers": "turns with a very short answer",
    "turn_word_rep_max": "repetition, worst turn",
    "turn_untrained": "turns marked not to train on",
}


def turn_cuts(sample: dict) -> list[dict]:
    """The chat cut after each assistant turn: one sample per turn, that turn last."""
    messages = sample.get("messages") or []
    return [{**sample, "messages": messages[: i + 1]} for i, m in enumerate(messages) if m.get("role") == "assistant"]


@register
class TurnScorer(Scorer):
    """IFD and heuristics per assistant turn of multi-turn chats (see the module docstring)."""

    name = "turns"
    version = 1
    columns = COLUMNS
    column_titles = TITLES
    default_params = {"model": "", "template": "auto", "max_length": 512}
    token_budget = 8192
    max_batch = 16
    shard_size = 8  # a model per sample: small shards, so progress and cancel stay prompt

    def resolve_params(self, params: dict) -> dict:
        from core.scoring.ifd import IfdScorer

        self._ifd = IfdScorer(self.settings, **params)  # it checks the template and the length
        return dict(self._ifd.params)

    def setup(self) -> None:
        self._ifd.setup()
        self.ready = True

    def teardown(self) -> None:
        self._ifd.teardown()
        self.ready = False

    def cost(self, sample: dict) -> int:
        return sum(self._ifd.cost(cut) for cut in turn_cuts(sample)) or 1

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        if not self.ready:
            self.setup()
        cuts = [turn_cuts(s) for s in samples]
        flat = [cut for chat in cuts for cut in chat if len(chat) > 1]
        ifd = iter(self._ifd.score_batch(flat) if flat else [])
        signals = iter(heuristics_batch(flat) if flat else [])
        rows: list[dict | None] = []
        for sample, chat in zip(samples, cuts, strict=True):
            if len(chat) < 2:
                rows.append(None)
                continue
            scores = [next(ifd)["ifd"] for _ in chat]
            flags = [next(signals) for _ in chat]
            known = [(v, k) for k, v in enumerate(scores, start=1) if v is not None and math.isfinite(v)]
            worst = max(known) if known else (None, None)
            reps = [f["h_answer_word_rep"] for f in flags if f["h_answer_word_rep"] is not None]
            rows.append(
                {
                    "turn_count": len(chat),
                    "turn_ifd_mean": sum(v for v, _ in known) / len(known) if known else None,
                    "turn_ifd_max": worst[0],
                    "turn_ifd_max_at": worst[1],
                    "turn_refusals": sum(bool(f["h_refusal"]) for f in flags),
                    "turn_short_answers": sum(bool(f["h_answer_short"]) for f in flags),
                    "turn_word_rep_max": max(reps) if reps else None,
                    "turn_untrained": untrained_turns(sample.get("messages") or []),
                }
            )
        return rows
