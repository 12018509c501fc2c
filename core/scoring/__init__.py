"""Scorers: one module per score, registered by name (see ``base``).

Importing this package registers every built-in scorer; models load only in ``Scorer.setup()``.
"""

from core.scoring import decontam, embedding, heuristics, ifd, knowledge, necessity, reward, turns  # noqa: F401  (registration on import)
from core.scoring.base import (
    Scorer,
    available_scorers,
    batches_by_budget,
    column_title,
    get_scorer,
    iter_scored,
    register,
    score_text,
)

__all__ = [
    "Scorer",
    "available_scorers",
    "batches_by_budget",
    "column_title",
    "get_scorer",
    "iter_scored",
    "register",
    "score_text",
]
