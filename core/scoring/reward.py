"""Reward-model score of each sample: how good a sequence-classification reward model finds the answer.

Any Hugging Face ``AutoModelForSequenceClassification`` with a single output works, e.g.
OpenAssistant/reward-model-deberta-v3-large-v2 as MoDS uses it. The question is the user turns joined by newlines,
the answer the last assistant message; they are encoded as a text pair, ``tokenizer(question, answer)``, and
truncated together to ``max_length``. Column ``reward`` is the raw logit: higher is better, and the scale is the
model's own, so compare rewards only within one model (one scorer key).

No reward model is bundled: ``setup()`` raises ModelUnavailable when none is given or it cannot be loaded offline.
A sample whose last message is not the assistant's gets None.
"""

from __future__ import annotations

from core.errors import ModelUnavailable
from core.scoring.base import Scorer, estimate_tokens, register


def question_and_answer(sample: dict) -> tuple[str, str] | None:
    """(user turns joined by newlines, last assistant message), or None without a final assistant message."""
    messages = sample.get("messages") or []
    if not messages or messages[-1].get("role") != "assistant":
        return None
    answer = messages[-1].get("content")
    users = [m.get("content") for m in messages[:-1] if m.get("role") == "user"]
    question = "\n".join(u for u in users if isinstance(u, str))
    return question, answer if isinstance(answer, str) else ""


@register
class RewardScorer(Scorer):
    """Reward-model logit of the answer given the question (higher is better).

    Params:
        model: HF id or local path of a sequence-classification reward model (required).
        max_length: question + answer tokens fed to the model.
    """

    name = "reward"
    version = 1
    columns = {"reward": "DOUBLE"}
    column_titles = {"reward": "reward"}
    default_params = {"model": "", "max_length": 512}
    token_budget = 8192
    max_batch = 32
    shard_size = 32  # a model per sample: small shards, so progress and cancel stay prompt

    def resolve_params(self, params: dict) -> dict:
        from pathlib import Path

        spec = (params["model"] or "").strip()
        local = Path(spec).expanduser()
        model = str(local.resolve()) if spec and local.exists() else spec
        return {"model": model, "max_length": int(params["max_length"])}

    def setup(self) -> None:
        if self.ready:
            return
        from core.models.language import load_sequence_classifier

        s = self.settings
        self.model, self.tokenizer, self.info = load_sequence_classifier(
            self.params["model"], device=s.device, dtype=s.dtype
        )
        labels = self.model.config.num_labels
        if labels != 1:
            raise ModelUnavailable(
                f"{self.params['model']} has {labels} output labels; a reward model has exactly one (its score)"
            )
        # A model with fewer positions than max_length would fail on long pairs: cut them to what it can read (a
        # tokenizer's model_max_length is a huge sentinel when unknown, hence the cap by the config's positions).
        limits = [self.params["max_length"], getattr(self.model.config, "max_position_embeddings", None)]
        if 0 < (self.tokenizer.model_max_length or 0) < 1_000_000:
            limits.append(self.tokenizer.model_max_length)
        self.max_length = min(n for n in limits if n)
        self.ready = True

    def teardown(self) -> None:
        self.model = self.tokenizer = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        pair = question_and_answer(sample)
        if pair is None:
            return 1
        return min(estimate_tokens(pair[0]) + estimate_tokens(pair[1]) + 4, self.params["max_length"])

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        import torch

        if not self.ready:
            self.setup()
        pairs = [question_and_answer(sample) for sample in samples]
        present = [i for i, pair in enumerate(pairs) if pair is not None]
        rows: list[dict | None] = [None] * len(samples)
        if not present:
            return rows
        encoded = self.tokenizer(
            [pairs[i][0] for i in present],
            [pairs[i][1] for i in present],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.model.device)
        with torch.inference_mode():
            logits = self.model(**encoded).logits[:, 0].float().tolist()
        for i, value in zip(present, logits, strict=True):
            rows[i] = {"reward": value}
        return rows
