"""MoDS necessity: how well a model fine-tuned on the seed set already answers each instruction.

MoDS (Du et al., "MoDS: Model-oriented Data Selection for Instruction Tuning", 2023) keeps high-reward samples
(quality), picks a seed set from them by k-center (coverage), fine-tunes the base model on the seed set, lets that
model answer the remaining instructions and scores its answers with the quality step's reward model. Instructions
whose answer gets a low reward are "necessary": the model has not learned them yet, so they are added to the seed.

This scorer does the answering and the scoring; the recipe step ``mods_necessity`` (core.selection.steps.rank) does
the adding.
The fine-tuning happens outside Winnow: export the seed selection, train on it, and give the result as ``model``.

- Prompt: every message before the last assistant message (the whole conversation when it ends with a user turn),
  rendered as the IFD scorer renders it (``template``: the model's chat template with the generation prompt, the
  Alpaca prompt, or the plain user turns; "auto" picks chat when the tokenizer has a template). Tools go to the chat
  template.
- Decoding: greedy (one beam, no sampling), so the answers are deterministic; batched with left padding and an
  attention mask, at most ``max_new_tokens`` new tokens, stopping at the model's end-of-turn tokens.
- Reward: the reward scorer's computation (``RewardScorer``) on the user turns joined by newlines and the generated
  answer. ``necessity_reward`` is its raw logit: higher = the model already answers well = less necessary.

Columns: ``necessity_answer`` (the generated answer), ``necessity_reward``, ``necessity_answer_tokens``,
``necessity_truncated`` (the answer hit ``max_new_tokens``) and ``necessity_reason`` (why a sample has no answer:
"prompt too long" or "chat template failed: ..."). A sample without a user message to answer gets None.
"""

from __future__ import annotations

import logging

from core.errors import ModelUnavailable
from core.scoring.base import Scorer, estimate_tokens, finite_or_none, register
from core.scoring.ifd import TEMPLATES, prompt_text, resolve_template
from core.scoring.reward import RewardScorer

log = logging.getLogger("winnow")

COLUMNS = {
    "necessity_answer": "VARCHAR",
    "necessity_reward": "DOUBLE",
    "necessity_answer_tokens": "INTEGER",
    "necessity_truncated": "BOOLEAN",
    "necessity_reason": "VARCHAR",
}
TITLES = {
    "necessity_answer": "fine-tuned model's answer",
    "necessity_reward": "necessity (reward of that answer)",
    "necessity_answer_tokens": "fine-tuned answer tokens",
    "necessity_truncated": "fine-tuned answer cut",
    "necessity_reason": "why no necessity",
}

# The spellings of ``model`` that mean the bundled SmolLM2: not a fine-tuned model, but lets a trial (and the tests)
# run the whole pipeline offline.
BUNDLED_SPECS = ("bundled",)


def prompt_messages(sample: dict) -> list[dict] | None:
    """The messages the model answers: all before the last assistant message (all of them when the conversation
    ends with another role), or None when they hold no user message with text."""
    messages = sample.get("messages") or []
    prompt = messages[:-1] if messages and messages[-1].get("role") == "assistant" else messages
    if not any(m.get("role") == "user" and isinstance(m.get("content"), str) and m["content"] for m in prompt):
        return None
    return list(prompt)


def end_token_ids(model, tokenizer) -> list[int]:
    """The tokens that end an answer: the model's generation config's EOS (one or a list) and the tokenizer's EOS.

    Chat models often end a turn with a token (``<|im_end|>``, ``<|eot_id|>``) that only the generation config names.
    """
    ids: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for token in [*(configured if isinstance(configured, list | tuple) else [configured]), tokenizer.eos_token_id]:
        if token is not None and int(token) not in ids:
            ids.append(int(token))
    if not ids:
        raise ModelUnavailable("the model's tokenizer and generation config name no end-of-sequence token")
    return ids


def _cut(tokens: list[int], ends: list[int]) -> tuple[list[int], bool]:
    """(the answer's tokens before the first end token, whether an end token came)."""
    for k, token in enumerate(tokens):
        if token in ends:
            return tokens[:k], True
    return tokens, False


def greedy_generate(
    model, prompts: list[list[int]], max_new_tokens: int, ends: list[int], pad_id: int
) -> list[tuple[list[int], bool]]:
    """Greedy answers to several tokenized prompts at once.

    The prompts are left-padded to one width with an attention mask, so every answer starts at the same column and
    ``generate`` (which derives positions from the mask) sees each prompt as it would alone.

    Returns:
        per prompt, in order: (answer token ids without the end token, whether the model ended it before
        ``max_new_tokens``).
    """
    import torch

    if not prompts:
        return []
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for b, prompt in enumerate(prompts):
        ids[b, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[b, width - len(prompt) :] = 1
    with torch.inference_mode():
        out = model.generate(
            input_ids=ids.to(model.device),
            attention_mask=mask.to(model.device),
            do_sample=False,
            num_beams=1,
            max_new_tokens=max_new_tokens,
            eos_token_id=ends,
            pad_token_id=pad_id,
        )
    return [_cut(row, ends) for row in out[:, width:].tolist()]


def greedy_reference(model, prompt: list[int], max_new_tokens: int, ends: list[int]) -> tuple[list[int], bool]:
    """Greedy decoding from the definition, for tests: one prompt, a full forward pass per token, argmax of the last
    position's logits, no cache and no padding. Slow on purpose; ``greedy_generate`` must agree with it."""
    import torch

    sequence = list(prompt)
    answer: list[int] = []
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            logits = model(input_ids=torch.tensor([sequence], device=model.device), use_cache=False).logits
            token = int(logits[0, -1].float().argmax())
            if token in ends:
                return answer, True
            answer.append(token)
            sequence.append(token)
    return answer, False


def _row(answer: str | None = None, reward=None, tokens=None, truncated=None, reason=None) -> dict:
    return {
        "necessity_answer": answer,
        "necessity_reward": finite_or_none(reward),
        "necessity_answer_tokens": tokens,
        "necessity_truncated": truncated,
        "necessity_reason": reason,
    }


@register
class NecessityScorer(Scorer):
    """MoDS necessity: the reward of a seed-tuned model's own greedy answer. Lower = more necessary.

    Params:
        model: HF id or local path of the model fine-tuned on the seed set (required; "bundled" uses the bundled
            SmolLM2-135M-Instruct, which is not fine-tuned on anything of yours: for trials).
        reward_model: the sequence-classification reward model, as for the reward scorer (required; use the one
            the quality step used, so the threshold means the same).
        template: "auto", "chat", "alpaca" or "plain" (as the IFD scorer; use the format the model was tuned on).
        max_new_tokens: longest generated answer, in tokens.
        max_prompt_tokens: longer prompts are not answered (``necessity_reason`` "prompt too long").
        reward_max_length: question + answer tokens fed to the reward model.
    """

    name = "necessity"
    version = 1
    columns = COLUMNS
    column_titles = TITLES
    default_params = {
        "model": "",
        "reward_model": "",
        "template": "auto",
        "max_new_tokens": 512,
        "max_prompt_tokens": 1024,
        "reward_max_length": 512,
    }
    # Cost = prompt + answer tokens: the KV cache a sample holds at the end of generation. setup() raises both on a
    # GPU; on a CPU, more rows per decoding step still amortize reading the weights.
    token_budget = 8192
    max_batch = 16
    shard_size = 8  # a model per sample: small shards, so progress and cancel stay prompt
    token_budget_gpu = 32768
    max_batch_gpu = 64

    def resolve_params(self, params: dict) -> dict:
        from core.models.language import BUNDLED_LM_NAME, lm_name

        spec = (params["model"] or "").strip()
        if spec in (*BUNDLED_SPECS, BUNDLED_LM_NAME):
            self._spec, model = "", BUNDLED_LM_NAME
        else:
            self._spec, model = spec, lm_name(spec) if spec else ""
        if params["template"] not in TEMPLATES:
            raise ValueError(f"unknown template {params['template']!r}; use one of {', '.join(TEMPLATES)}")
        numbers = {}
        for key, low in (("max_new_tokens", 1), ("max_prompt_tokens", 1), ("reward_max_length", 2)):
            value = int(params[key])
            if value < low:
                raise ValueError(f"{key} must be at least {low}, got {value}")
            numbers[key] = value
        # the reward scorer's own normalization (a local folder becomes its absolute path), so the keys agree
        reward = RewardScorer(self.settings, model=params["reward_model"]).params["model"]
        return {"model": model, "reward_model": reward, "template": params["template"], **numbers}

    def setup(self) -> None:
        if self.ready:
            return
        if not self.params["model"]:
            raise ModelUnavailable(
                "the necessity scorer needs a model fine-tuned on the seed set (MoDS): select the seed "
                "(mods_quality then k_center), export it, fine-tune your base model on it, and give that model "
                "as the necessity model (a Hugging Face id or local folder; 'bundled' tries the bundled SmolLM2)"
            )
        if not self.params["reward_model"]:
            raise ModelUnavailable(
                "the necessity scorer needs a reward model to score the fine-tuned model's answers: give the "
                "sequence-classification reward model the quality step used (a Hugging Face id or local folder)"
            )
        from core.models.language import load_causal_lm

        s = self.settings
        self.reward = RewardScorer(s, model=self.params["reward_model"], max_length=self.params["reward_max_length"])
        self.reward.setup()  # the cheaper load first: a wrong reward model fails before the LM loads
        self.model, self.tokenizer, self.info = load_causal_lm(
            self._spec, device=s.device, dtype=s.dtype, cache_dir=s.cache_dir
        )
        self.template = resolve_template(self.tokenizer, self.params["template"])
        self.ends = end_token_ids(self.model, self.tokenizer)
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.ends[0]
        if self.info.device != "cpu":
            self.token_budget, self.max_batch = self.token_budget_gpu, self.max_batch_gpu
        log.info("necessity: %s answers, %s scores", self.params["model"], self.params["reward_model"])
        self.ready = True

    def teardown(self) -> None:
        self.model = self.tokenizer = None
        if getattr(self, "reward", None) is not None:
            self.reward.teardown()
        self.reward = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        prompt = prompt_messages(sample)
        if prompt is None:
            return 1
        text = " ".join(m["content"] for m in prompt if isinstance(m.get("content"), str))
        return min(estimate_tokens(text) + 16, self.params["max_prompt_tokens"]) + self.params["max_new_tokens"]

    def prompts(self, samples: list[dict]) -> tuple[list[dict | None], list[int], list[list[int]]]:
        """Tokenize the prompts of a batch.

        Returns:
            (a row per sample: None when it does not apply, a row with a reason when it cannot be answered, else
            {} for now; the positions to answer; their prompt token ids).
        """
        rows: list[dict | None] = []
        where, texts = [], []
        for i, sample in enumerate(samples):
            prompt = prompt_messages(sample)
            if prompt is None:
                rows.append(None)
                continue
            try:
                texts.append(prompt_text(self.tokenizer, sample, prompt, self.template))
            except Exception as error:  # a template may refuse a role order; that is the sample's problem
                rows.append(_row(reason=f"chat template failed: {error}"[:200]))
                continue
            rows.append({})
            where.append(i)
        # the rendered chat template holds its special tokens; alpaca and plain get the tokenizer's (e.g. BOS)
        encoded = self.tokenizer(texts, add_special_tokens=self.template != "chat").input_ids if texts else []
        answer, ids = [], []
        for i, tokens in zip(where, encoded, strict=True):
            if len(tokens) > self.params["max_prompt_tokens"]:
                rows[i] = _row(reason="prompt too long")
            else:
                answer.append(i)
                ids.append(list(tokens))
        return rows, answer, ids

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        if not self.ready:
            self.setup()
        rows, where, ids = self.prompts(samples)
        if not where:
            return rows
        generated = greedy_generate(self.model, ids, self.params["max_new_tokens"], self.ends, self.pad_id)
        answers = [self.tokenizer.decode(tokens, skip_special_tokens=True).strip() for tokens, _ in generated]
        judged = [
            {"messages": [*prompt_messages(samples[i]), {"role": "assistant", "content": text}]}
            for i, text in zip(where, answers, strict=True)
        ]
        rewards = self.reward.score_batch(judged)
        for i, text, (tokens, ended), reward in zip(where, answers, generated, rewards, strict=True):
            rows[i] = _row(text, reward["reward"] if reward else None, len(tokens), not ended)
        return rows
