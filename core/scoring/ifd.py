"""Instruction-Following Difficulty (IFD), from Cherry LLM (Li et al., "From Quantity to Quality", NAACL 2024).

For a sample whose last message is the assistant's answer A, with prompt P (every message before A):

    cond_loss   = mean NLL of A's tokens given P            (how hard the answer is *with* the instruction)
    direct_loss = mean NLL of the same tokens given [start] (how hard it is *without* it)
    ifd         = cond_loss / direct_loss

Lower IFD means the instruction makes the answer easier to predict. Cherry keeps the samples with the *highest* IFD
below 1 (hard instructions that still help); IFD > 1 (``ifd_above_one``) means the instruction does not help at all,
which usually flags a misaligned pair.

How the prompt is built (parameter ``template``):

- ``chat``: the model's chat template over P with the generation prompt, tokenized without extra special tokens.
  When the sample has ``tools``, they are passed to the template, so tool-use samples see their tool definitions.
- ``alpaca``: Cherry's Alpaca prompt around the *last* user message (earlier turns and system prompts are dropped;
  this template is meant for single-turn data). When the sample dict carries an ``alpaca_input`` string (and
  optionally ``alpaca_instruction``), the "paired with an input" variant is used with that input; the instruction is
  ``alpaca_instruction``, or the user message with the input removed from its end. Tokenized with the tokenizer's
  default special tokens (a Llama tokenizer adds BOS; SmolLM2's adds nothing).
- ``plain``: the user messages joined by "\\n", plus "\\n", tokenized like ``alpaca``.
- ``auto`` (default): ``chat`` when the tokenizer has a chat template, else ``alpaca``.

The answer is tokenized without special tokens; ``start`` is the tokenizer's BOS, or EOS when it has none. Only the
first ``k = min(len(answer), max_length - len(prompt))`` answer tokens are scored (``ifd_truncated`` says when that
cut the answer). Samples without a score say why in ``ifd_reason``: "no assistant turn", "empty answer",
"empty prompt", "prompt too long" or "chat template failed: ...".

Two implementations, which agree to ~1e-6:

- ``ifd_reference``: the definition, one sample at a time, full forward pass and full logits. For tests and benchmarks.
- ``ifd_batched``: what the scorer runs. See its docstring for why it is faster.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from core.scoring.base import Scorer, cpu_workers, estimate_tokens, finite_or_none, register, run_side_by_side

log = logging.getLogger("winnow")

TEMPLATES = ("auto", "chat", "alpaca", "plain")

ALPACA_PROMPT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)
ALPACA_PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)

COLUMNS = {
    "ifd": "DOUBLE",
    "ifd_cond_loss": "DOUBLE",
    "ifd_direct_loss": "DOUBLE",
    "ifd_above_one": "BOOLEAN",
    "ifd_prompt_tokens": "INTEGER",
    "ifd_answer_tokens": "INTEGER",
    "ifd_truncated": "BOOLEAN",
    "ifd_reason": "VARCHAR",
}
TITLES = {
    "ifd": "IFD (difficulty)",
    "ifd_cond_loss": "answer loss with the prompt",
    "ifd_direct_loss": "answer loss alone",
    "ifd_above_one": "prompt does not help (IFD > 1)",
    "ifd_prompt_tokens": "prompt tokens",
    "ifd_answer_tokens": "answer tokens scored",
    "ifd_truncated": "answer cut (too long)",
    "ifd_reason": "why no IFD",
}


# --- building the token sequences ----------------------------------------------------------------------------------


@dataclass
class IfdInput:
    """The token ids IFD needs for one sample, or the reason it cannot be scored.

    ``answer_ids`` is already cut to the ``k`` tokens that are scored.
    """

    prompt_ids: list[int] = field(default_factory=list)
    answer_ids: list[int] = field(default_factory=list)
    truncated: bool = False
    reason: str | None = None


def resolve_template(tokenizer, template: str) -> str:
    """``template`` with "auto" replaced by "chat" or "alpaca" depending on the tokenizer."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown IFD template {template!r}; use one of {', '.join(TEMPLATES)}")
    if template == "auto":
        return "chat" if getattr(tokenizer, "chat_template", None) else "alpaca"
    return template


def start_token_id(tokenizer) -> int:
    """The token the direct pass conditions on: BOS, or EOS for tokenizers without BOS (GPT-2, Qwen)."""
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ValueError("the tokenizer has neither a BOS nor an EOS token, so IFD has no start token")
    return start


def _content(message: dict) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _split(sample: dict) -> tuple[list[dict], str] | None:
    """(prompt messages, answer text), or None when the last message is not the assistant's."""
    messages = sample.get("messages") or []
    if not messages or messages[-1].get("role") != "assistant":
        return None
    return messages[:-1], _content(messages[-1])


def prompt_text(tokenizer, sample: dict, prompt: list[dict], template: str) -> str:
    """The prompt string for one template (``template`` already resolved). May raise from the chat template."""
    if template == "chat":
        kwargs = {"tools": sample["tools"]} if sample.get("tools") else {}
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True, **kwargs)
    users = [_content(m) for m in prompt if m.get("role") == "user"]
    if template == "plain":
        return "\n".join(users) + "\n"
    instruction = users[-1] if users else ""
    extra = sample.get("alpaca_input")
    if isinstance(extra, str) and extra:
        hint = sample.get("alpaca_instruction")
        if isinstance(hint, str):
            instruction = hint
        elif instruction.endswith(extra):
            instruction = instruction[: -len(extra)].rstrip()
        return ALPACA_PROMPT_WITH_INPUT.format(instruction=instruction, input=extra)
    return ALPACA_PROMPT.format(instruction=instruction)


def prepare_inputs(tokenizer, samples: list[dict], template: str, max_length: int) -> list[IfdInput]:
    """Tokenize prompts and answers for a batch (the tokenizer's batch call runs in parallel in Rust)."""
    template = resolve_template(tokenizer, template)
    results = [IfdInput() for _ in samples]
    prompts, answers, where = [], [], []
    for i, sample in enumerate(samples):
        split = _split(sample)
        if split is None:
            results[i].reason = "no assistant turn"
            continue
        prompt, answer = split
        try:
            text = prompt_text(tokenizer, sample, prompt, template)
        except Exception as error:  # a template may refuse a role order; that is the sample's problem, not the run's
            results[i].reason = f"chat template failed: {error}"[:200]
            continue
        prompts.append(text)
        answers.append(answer)
        where.append(i)
    if not where:
        return results
    # chat: the rendered template already holds its special tokens; alpaca/plain: let the tokenizer add its own
    prompt_ids = tokenizer(prompts, add_special_tokens=template != "chat").input_ids
    answer_ids = tokenizer(answers, add_special_tokens=False).input_ids
    for i, p, a in zip(where, prompt_ids, answer_ids, strict=True):
        item = results[i]
        item.prompt_ids = list(p)
        k = min(len(a), max_length - len(p))
        if not a:
            item.reason = "empty answer"
        elif not p:
            item.reason = "empty prompt"
        elif k <= 0:
            item.reason = "prompt too long"
        else:
            item.answer_ids = list(a[:k])
            item.truncated = k < len(a)
    return results


def _row(item: IfdInput, cond: float | None = None, direct: float | None = None) -> dict:
    scored = item.reason is None and cond is not None and direct is not None
    ifd = cond / direct if scored and direct > 0 else None
    reason = item.reason
    if scored and ifd is None:
        reason = "zero direct loss"
    return {
        "ifd": finite_or_none(ifd),
        "ifd_cond_loss": finite_or_none(cond) if scored else None,
        "ifd_direct_loss": finite_or_none(direct) if scored else None,
        "ifd_above_one": (ifd > 1.0) if ifd is not None else None,
        "ifd_prompt_tokens": len(item.prompt_ids) if item.prompt_ids else None,
        "ifd_answer_tokens": len(item.answer_ids) if scored else None,
        "ifd_truncated": item.truncated if scored else None,
        "ifd_reason": reason,
    }


# --- the reference: the definition, one sample at a time ----------------------------------------------------------


def ifd_reference(model, tokenizer, sample: dict, template: str = "auto", max_length: int = 512) -> dict:
    """IFD of one sample straight from the definition: two full forward passes, full logits, fp32 losses.

    Slow on purpose: it is the yardstick ``ifd_batched`` is tested and benchmarked against.

    Returns:
        a row with the keys of ``COLUMNS``.
    """
    import torch
    import torch.nn.functional as F

    (item,) = prepare_inputs(tokenizer, [sample], template, max_length)
    if item.reason is not None:
        return _row(item)
    device = model.device
    prompt, answer, k = item.prompt_ids, item.answer_ids, len(item.answer_ids)
    targets = torch.tensor(answer, device=device)
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([prompt + answer], device=device)).logits[0].float()
        # the logit at position t predicts token t + 1, so the answer is predicted from len(prompt) - 1 on
        cond = F.cross_entropy(logits[len(prompt) - 1 : len(prompt) - 1 + k], targets).item()
        logits = model(input_ids=torch.tensor([[start_token_id(tokenizer), *answer]], device=device)).logits[0].float()
        direct = F.cross_entropy(logits[:k], targets).item()
    return _row(item, cond, direct)


# --- the engine: batched, LM head only where it is needed ----------------------------------------------------------

# Rows of LM-head output computed at once. On a CPU, 128 x 49k fp32 logits is 25 MB: small enough that glibc serves
# it from the heap instead of a fresh mmap (page faults on every chunk would cost more than the matmul). A GPU wants
# big matmuls.
HEAD_ROWS = 128
HEAD_ROWS_GPU = 2048

# Configs whose models change the logits after the LM head. The engine then falls back to full logits.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")


def _split_head(model):
    """(decoder body, LM head) when logits are exactly ``head(body(ids).last_hidden_state)``, else None."""
    config = model.config
    if any(getattr(config, name, None) not in (None, 1, 1.0) for name in _LOGIT_TRANSFORMS):
        return None
    body = model.get_decoder() if hasattr(model, "get_decoder") else None
    if body is None or body is model:
        body = getattr(model, "base_model", None)
    head = model.get_output_embeddings()
    if body is None or body is model or head is None:
        return None
    return body, head


def ifd_batched(
    model,
    tokenizer,
    samples: list[dict],
    template: str = "auto",
    max_length: int = 512,
    token_budget: int = 512,
    workers: int | None = None,
) -> list[dict]:
    """IFD of many samples; equal to ``ifd_reference`` up to float noise (~1e-6), and faster:

    - The conditioned sequences (prompt + answer) and the direct ones ([start] + answer) go through the model as
      one pool, sorted by length and cut into batches of at most ``token_budget`` padded tokens, so padding is rare.
    - Sequences are right-padded and run *without* an attention mask: under a causal mask a real token only sees
      the tokens before it, which are all real, so padding cannot change its hidden state, and attention keeps its
      fast unmasked kernel. Positions are 0..n-1 for each sequence, as in the reference.
    - The last answer token is not fed in: nothing is predicted from it.
    - The LM head (49k x hidden for SmolLM2, a fifth of the model's FLOPs per token) runs only on the rows that
      predict answer tokens, gathered from the body's hidden states, in chunks to bound memory. Losses are
      computed in fp32 with ``cross_entropy``, whatever the model's dtype.
    - A bf16 model on a CPU keeps its residual stream in fp32 while its matmuls run in bf16 (autocast): its IFD keeps
      fp32's ranking (``make bench ifd`` checks Spearman, top-5 % overlap and the AUC of Cherry's picks).
    - On a CPU, ``workers`` batches run side by side, one core each (see ``run_side_by_side``): SmolLM2's
      576 x 1536 matmuls are too small for two threads to share well (MKL reaches ~98 GFLOP/s on one
      core here but ~140 on two), and the elementwise work between them overlaps.

    Args:
        token_budget: padded tokens per forward pass: ~512 suits a CPU, 16k or more a GPU.
        workers: forward passes side by side on a CPU (default ``cpu_workers()``); a GPU runs one at a time.

    Returns:
        one row per sample (keys of ``COLUMNS``), in order.
    """
    import torch
    import torch.nn.functional as F

    items = prepare_inputs(tokenizer, samples, template, max_length)
    start = start_token_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
    # (item index, is_direct, input ids, first predicting position); the targets are item.answer_ids
    sequences = []
    for i, item in enumerate(items):
        if item.reason is None:
            body_ids = item.answer_ids[:-1]
            sequences.append((i, 0, item.prompt_ids + body_ids, len(item.prompt_ids) - 1))
            sequences.append((i, 1, [start, *body_ids], 0))
    sequences.sort(key=lambda s: len(s[2]), reverse=True)
    batches, at = [], 0
    while at < len(sequences):
        width = len(sequences[at][2])  # the longest in the batch: sequences are sorted longest first
        batches.append(sequences[at : at + max(1, token_budget // width)])
        at += len(batches[-1])

    sums = [[0.0, 0.0] for _ in items]
    split = _split_head(model)
    device = model.device
    head_rows = HEAD_ROWS if device.type == "cpu" else HEAD_ROWS_GPU

    # A bf16 model on a CPU: every matmul runs in bf16, but the residual stream each layer adds to stays fp32 (the
    # embeddings go in as fp32 and autocast rounds each matmul's input down), so rounding does not pile up layer after
    # layer. On Alpaca this halves 1 - Spearman against fp32 (4e-4 -> 2e-4) for a few % more time.
    mixed = device.type == "cpu" and model.dtype == torch.bfloat16
    embed = model.get_input_embeddings()

    def precision():  # a new context per call: autocast's state is per thread, and the workers are threads
        return torch.autocast("cpu", dtype=torch.bfloat16) if mixed else contextlib.nullcontext()

    def inputs(ids) -> dict:
        return {"inputs_embeds": embed(ids).float()} if mixed else {"input_ids": ids}

    def score(batch: list) -> None:
        width = len(batch[0][2])
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        rows_b, rows_t, targets = [], [], []
        for b, (i, _, seq, first) in enumerate(batch):
            ids[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            answer = items[i].answer_ids
            rows_b.extend([b] * len(answer))
            rows_t.extend(range(first, first + len(answer)))
            targets.extend(answer)
        index_b = torch.tensor(rows_b, device=device)
        index_t = torch.tensor(rows_t, device=device)
        targets = torch.tensor(targets, device=device)
        if split is not None:
            body, head = split
            with precision():
                hidden = body(**inputs(ids.to(device)), use_cache=False).last_hidden_state[index_b, index_t]
                nll = torch.cat(
                    [
                        F.cross_entropy(head(rows).float(), tgt, reduction="none")
                        for rows, tgt in zip(hidden.split(head_rows), targets.split(head_rows), strict=True)
                    ]
                )
        else:
            with precision():
                logits = model(**inputs(ids.to(device)), use_cache=False).logits[index_b, index_t]
                nll = F.cross_entropy(logits.float(), targets, reduction="none")
        per_sequence = torch.zeros(len(batch), dtype=torch.float64, device=device)
        per_sequence.index_add_(0, index_b, nll.double())
        for (i, direct, _, _), total in zip(batch, per_sequence.tolist(), strict=True):
            sums[i][direct] = total  # each (item, pass) is written by exactly one batch, so threads never collide

    workers = (workers or cpu_workers()) if device.type == "cpu" else 1
    if workers > 1 and len(batches) > 1:
        run_side_by_side(score, batches, workers)
    else:
        with torch.inference_mode():
            for batch in batches:
                score(batch)
    rows = []
    for item, (cond_sum, direct_sum) in zip(items, sums, strict=True):
        if item.reason is not None:
            rows.append(_row(item))
        else:
            k = len(item.answer_ids)
            rows.append(_row(item, cond_sum / k, direct_sum / k))
    return rows


# --- the scorer ----------------------------------------------------------------------------------------------------


@register
class IfdScorer(Scorer):
    """IFD with a causal LM (default: the bundled SmolLM2-135M-Instruct). Lower is easier; see the module docstring.

    Params:
        model: HF id or local path; "" means WINNOW_MODEL, and when that is empty too, the bundled model.
        template: "auto", "chat", "alpaca" or "plain".
        max_length: prompt + scored answer tokens (Cherry uses 512).
    """

    name = "ifd"
    version = 1
    columns = COLUMNS
    column_titles = TITLES
    default_params = {"model": "", "template": "auto", "max_length": 512}
    # Per runner batch (cost = both passes): ~20 s on a 2-core CPU, a long enough queue that the side-by-side
    # workers rarely wait for the last pass. setup() raises it on a GPU.
    token_budget = 8192
    max_batch = 64
    shard_size = 16  # a model per sample: small shards, so progress and cancel stay prompt
    # Padded tokens per forward pass. On a CPU, batching buys nothing (a single 300-token sequence already keeps the
    # matmuls busy) and big activations cost page faults, so passes stay small; a GPU wants them large.
    engine_budget_cpu = 512
    engine_budget_gpu = 16384

    def resolve_params(self, params: dict) -> dict:
        from core.models.language import lm_name

        if params["template"] not in TEMPLATES:
            raise ValueError(f"unknown IFD template {params['template']!r}; use one of {', '.join(TEMPLATES)}")
        max_length = int(params["max_length"])
        if max_length < 2:
            raise ValueError("max_length must be at least 2")
        self._spec = params["model"] or self.settings.model
        return {"model": lm_name(self._spec), "template": params["template"], "max_length": max_length}

    def setup(self) -> None:
        if self.ready:
            return
        from core.models.language import load_causal_lm

        s = self.settings
        self.model, self.tokenizer, self.info = load_causal_lm(
            self._spec, device=s.device, dtype=s.dtype, cache_dir=s.cache_dir
        )
        self.template = resolve_template(self.tokenizer, self.params["template"])
        on_cpu = self.info.device == "cpu"
        self.engine_budget = self.engine_budget_cpu if on_cpu else self.engine_budget_gpu
        self.token_budget = type(self).token_budget if on_cpu else 4 * self.engine_budget_gpu
        self.ready = True

    def teardown(self) -> None:
        self.model = self.tokenizer = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        # conditioned + direct pass; each capped by max_length
        messages = sample.get("messages") or []
        answer = estimate_tokens(_content(messages[-1])) if messages else 0
        prompt = estimate_tokens(" ".join(_content(m) for m in messages[:-1])) + 16
        limit = self.params["max_length"]
        return min(prompt + answer, limit) + min(answer + 1, limit)

    def score_batch(self, samples: list[dict]) -> list[dict]:
        if not self.ready:
            self.setup()
        return ifd_batched(
            self.model,
            self.tokenizer,
            samples,
            self.template,
            self.params["max_length"],
            token_budget=self.engine_budget,
        )
