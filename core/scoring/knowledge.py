"""SliCK knowledge categories: does the base model already know a sample's answer?

Gekhman et al. 2024 ("Does Fine-Tuning LLMs on New Knowledge Encourage Hallucinations?", §3): fine-tuning on facts
the model does not know teaches it to hallucinate, so SFT data should mostly hold what it knows. Per sample with a
short gold answer (``core.knowledge.answers``):

- ``prompts`` (10) k-shot prompts, each with ``shots`` (4) exemplars drawn at random from the same source (else the
  same task label, else the workspace), written ``Q: question / A: short answer``, then the sample's question;
- per prompt one greedy answer and ``samples`` (16) answers sampled at ``temperature`` 0.5, each cut at its first
  line and checked by exact match after normalisation;
- ``p_correct_greedy``: the share of correct greedy answers; ``p_correct_sampled``: of correct sampled ones;
- the category: HighlyKnown (every greedy answer correct), MaybeKnown (some), WeaklyKnown (none greedy, some sampled),
  Unknown (none at all). A sample with no short answer (or no question) gets no category: "not applicable".

Cost: ``prompts × (1 + samples)`` answers of at most ``max_new_tokens`` per sample, 170 by default; ``fast`` (the
CLI's ``--knowledge-fast``) uses 3 prompts and 4 samples (15 answers), which blurs the line between MaybeKnown and
HighlyKnown (3 greedy answers instead of 10) and finds fewer WeaklyKnown. The exemplars come from the workspace when
the scorer runs (``bind_workspace``); the seed fixes the draws and the sampling.
"""

from __future__ import annotations

import hashlib
import logging
import random

from core.knowledge.answers import gold_answer, is_correct, predicted_answer
from core.scoring.base import Scorer, register

log = logging.getLogger("winnow")

CATEGORIES = ("HighlyKnown", "MaybeKnown", "WeaklyKnown", "Unknown")
COLUMNS = {
    "knowledge_category": "VARCHAR",
    "p_correct_greedy": "DOUBLE",
    "p_correct_sampled": "DOUBLE",
    "knowledge_gold": "VARCHAR",
    "knowledge_answer": "VARCHAR",
}
TITLES = {
    "knowledge_category": "known to the model (SliCK)",
    "p_correct_greedy": "share of greedy answers correct",
    "p_correct_sampled": "share of sampled answers correct",
    "knowledge_gold": "short gold answer",
    "knowledge_answer": "model's most frequent greedy answer",
}
FAST = {"prompts": 3, "samples": 4}


def category(p_greedy: float, p_sampled: float) -> str:
    """SliCK's category from the two shares of correct answers."""
    if p_greedy == 1.0:
        return "HighlyKnown"
    if p_greedy > 0:
        return "MaybeKnown"
    return "WeaklyKnown" if p_sampled > 0 else "Unknown"


def question_of(sample: dict) -> str:
    """The last user message's text ("" when there is none)."""
    for m in reversed(sample.get("messages") or []):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            return m["content"].strip()
    return ""


def answer_of(sample: dict) -> str:
    """The last assistant message's text ("" when there is none)."""
    for m in reversed(sample.get("messages") or []):
        if m.get("role") == "assistant" and isinstance(m.get("content"), str):
            return m["content"]
    return ""


def shot_prompt(exemplars: list[tuple[str, str]], question: str) -> str:
    """A k-shot prompt: each exemplar as ``Q: … / A: …``, then the question and ``A:``."""
    shots = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in exemplars)
    return f"{shots}Q: {question}\nA:"


@register
class KnowledgeScorer(Scorer):
    """SliCK categories for the base model (default: the bundled SmolLM2; any HF id or local path)."""

    name = "knowledge"
    version = 1
    columns = COLUMNS
    column_titles = TITLES
    default_params = {
        "model": "",
        "prompts": 10,
        "shots": 4,
        "samples": 16,
        "temperature": 0.5,
        "max_new_tokens": 24,
        "answer_field": None,
        "max_words": 5,
        "seed": 0,
    }
    token_budget = 1 << 40  # batches are cut by count: each sample is prompts x (1 + samples) answers
    max_batch = 4
    shard_size = 2  # a model per sample: small shards, so progress and cancel stay prompt

    def resolve_params(self, params: dict) -> dict:
        from core.models.language import lm_name

        out = dict(params)
        for key, low in (("prompts", 1), ("shots", 0), ("samples", 0), ("max_new_tokens", 1), ("max_words", 1)):
            if not isinstance(params[key], int) or params[key] < low:
                raise ValueError(f"knowledge: {key} must be a whole number of at least {low}")
        if not 0 < float(params["temperature"]) <= 2:
            raise ValueError("knowledge: the sampling temperature must be above 0 and at most 2")
        self._spec = params["model"] or self.settings.model
        out["model"] = lm_name(self._spec)
        out["temperature"] = float(params["temperature"])
        return out

    def bind_workspace(self, store) -> None:
        """The exemplar pools: every sample's question and short gold answer, by source and by task label."""
        field = self.params["answer_field"]
        rows = store.knowledge_pool(field)
        self._pools: dict[tuple[str, object], list[tuple[str, str, str]]] = {}
        self._where: dict[str, tuple[object, object]] = {}
        self._field_values: dict[str, str | None] = {}
        for content_hash, source_id, label, question, answer, value in rows:
            self._where.setdefault(content_hash, (source_id, label))
            self._field_values.setdefault(content_hash, value)
            gold = gold_answer(answer, field_value=value, max_words=self.params["max_words"])
            if gold is None or not (question or "").strip():
                continue
            item = (content_hash, question.strip(), gold)
            self._pools.setdefault(("source", source_id), []).append(item)
            self._pools.setdefault(("label", label), []).append(item)
            self._pools.setdefault(("all", None), []).append(item)

    def setup(self) -> None:
        if self.ready:
            return
        from core.models.language import load_causal_lm
        from core.scoring.necessity import end_token_ids

        s = self.settings
        self.model, self.tokenizer, self.info = load_causal_lm(
            self._spec, device=s.device, dtype=s.dtype, cache_dir=s.cache_dir
        )
        self.ends = end_token_ids(self.model, self.tokenizer)
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.ends[0]
        if not hasattr(self, "_pools"):
            self._pools, self._where, self._field_values = {}, {}, {}
        self.ready = True

    def teardown(self) -> None:
        self.model = self.tokenizer = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        return 1

    def _exemplars(self, content_hash: str, rng: random.Random) -> list[tuple[str, str]]:
        """``shots`` exemplars for one prompt: from the sample's source, else its task label, else anywhere."""
        k = self.params["shots"]
        source, label = self._where.get(content_hash, (None, None))
        for key in (("source", source), ("label", label), ("all", None)):
            pool = [it for it in self._pools.get(key, []) if it[0] != content_hash]
            if len(pool) >= k:
                return [(q, a) for _, q, a in rng.sample(pool, k)]
        return []

    def _generate(self, prompts: list[str], *, sample: bool, seed: int) -> list[list[str]]:
        """Answers to each prompt: one greedy, or ``samples`` sampled; each decoded and cut at its first line."""
        import torch

        count = self.params["samples"] if sample else 1
        if count == 0:
            return [[] for _ in prompts]
        # left-padded by hand (the tokenizer is shared with the other scorers: its padding side stays as it is)
        tokens = self.tokenizer(prompts, add_special_tokens=False).input_ids
        width = max(len(t) for t in tokens)
        ids = torch.full((len(tokens), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(tokens), width), dtype=torch.long)
        for b, row in enumerate(tokens):
            ids[b, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[b, width - len(row) :] = 1
        options = {"do_sample": False, "num_beams": 1}
        if sample:
            torch.manual_seed(seed)
            options = {"do_sample": True, "temperature": self.params["temperature"], "top_k": 0, "top_p": 1.0}
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(self.model.device),
                attention_mask=mask.to(self.model.device),
                max_new_tokens=self.params["max_new_tokens"],
                num_return_sequences=count,
                eos_token_id=self.ends,
                pad_token_id=self.pad_id,
                stop_strings=["\n"],
                tokenizer=self.tokenizer,
                **options,
            )
        texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        return [texts[i * count : (i + 1) * count] for i in range(len(prompts))]

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        if not self.ready:
            self.setup()
        rows: list[dict | None] = []
        for sample in samples:
            h = sample["content_hash"]
            question = question_of(sample)
            gold = gold_answer(
                answer_of(sample), field_value=self._field_values.get(h), max_words=self.params["max_words"]
            )
            if gold is None or not question:
                rows.append(None)  # not applicable: no short answer to check a guess against
                continue
            seed = int(hashlib.sha256(f"{self.params['seed']}:{h}".encode()).hexdigest()[:8], 16)
            rng = random.Random(seed)
            prompts = [shot_prompt(self._exemplars(h, rng), question) for _ in range(self.params["prompts"])]
            greedy = [answers[0] for answers in self._generate(prompts, sample=False, seed=seed)]
            sampled = [a for answers in self._generate(prompts, sample=True, seed=seed) for a in answers]
            p_greedy = sum(is_correct(a, gold) for a in greedy) / len(greedy)
            p_sampled = sum(is_correct(a, gold) for a in sampled) / len(sampled) if sampled else 0.0
            said = [predicted_answer(a) for a in greedy]
            rows.append(
                {
                    "knowledge_category": category(p_greedy, p_sampled),
                    "p_correct_greedy": p_greedy,
                    "p_correct_sampled": p_sampled,
                    "knowledge_gold": gold,
                    "knowledge_answer": max(said, key=said.count) if said else None,
                }
            )
        return rows
