"""Per-turn training decisions in a conversation, and how each export format carries them.

A decision is OpenAI's per-message ``"weight"`` on an assistant message: 0 = do not train on this turn, 1 (or no
weight) = train. The OpenAI format (and Parquet, in its shape) keeps the weights as they are. Formats without
weights get what trains:

- ``split`` (the default): one conversation per trained turn, with the history before it. LLaMA-Factory then needs
  ``mask_history`` (train on each record's last turn only), which the export writes in dataset_info.json; so once
  an export holds an untrained turn, every multi-turn chat in it is split, or the history of its records would not
  train.
- ``cut``: the chat ends after its last trained turn; an untrained turn before a trained one is still trained (the
  format cannot say otherwise), and the manifest counts them.
"""

from __future__ import annotations

TURN_MODES = ("split", "cut")


def is_trained(message: dict) -> bool:
    """Whether an assistant message is trained on (its weight is not 0)."""
    return message.get("role") == "assistant" and message.get("weight", 1) != 0


def untrained_turns(messages: list[dict]) -> int:
    """Assistant messages marked not to train on."""
    return sum(1 for m in messages if m.get("role") == "assistant" and m.get("weight", 1) == 0)


def without_weights(messages: list[dict]) -> list[dict]:
    """The messages without their weight keys (new dicts)."""
    return [{k: v for k, v in m.items() if k != "weight"} for m in messages]


def conversations(messages: list[dict], mode: str, *, split_all: bool = False) -> tuple[list[list[dict]], int]:
    """What a chat becomes in a format without weights.

    Args:
        mode: "split" or "cut" (see the module docstring).
        split_all: split even a chat with no untrained turn (an export whose dataset_info masks history).

    Returns:
        (the conversations, without weights; empty when no turn is trained), and how many untrained turns they
        still train (``cut`` only).
    """
    if mode not in TURN_MODES:
        raise ValueError(f"unknown turn mode {mode!r}; use {' or '.join(TURN_MODES)}")
    trained = [i for i, m in enumerate(messages) if is_trained(m)]
    if not trained:
        return [], 0
    untrained = untrained_turns(messages)
    if untrained == 0 and not (split_all and len(trained) > 1 and mode == "split"):
        return [without_weights(messages)], 0
    if mode == "cut":
        kept = messages[: trained[-1] + 1]
        return [without_weights(kept)], untrained_turns(kept)
    return [without_weights(messages[: i + 1]) for i in trained], 0
