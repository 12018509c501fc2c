"""One evaluation run: fine-tune a LoRA adapter with TRL's SFTTrainer on a Winnow training export, and measure the
held-out loss on the assistant tokens of eval samples.

The trainer is fed Winnow's own TRL export in the conversational prompt/completion format
(``core.training.export.export_training`` with ``fmt="prompt-completion"``): SFTTrainer then computes the loss on the
completion only, so both training and evaluation count the assistant's tokens. On a CPU it trains in fp32 (no gradient
checkpointing: it is off by default); on CUDA in bf16. One seed gives one result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import WinnowError
from core.evaluation.compare import EvalLosses
from core.progress import Progress


@dataclass(frozen=True)
class LoraSettings:
    """How an evaluation run trains (peft LoRA on every linear layer).

    Attributes:
        r, alpha: LoRA rank and scaling.
        learning_rate: AdamW's peak learning rate (linear decay).
        epochs: passes over the training file; ``max_steps``, when set, stops earlier.
        max_length: tokens per sample (longer ones are cut).
        batch_size: samples per step.
        seed: fixes the adapter's initialization and the data order.
    """

    r: int = 16
    alpha: int = 32
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = None
    max_length: int = 1024
    batch_size: int = 8
    seed: int = 0


@dataclass
class TrainedRun:
    """What training one adapter gave.

    Attributes:
        adapter_dir: the saved adapter (peft ``save_pretrained``), to load on the base model.
        curve: the training loss per logged step, [(step, loss)].
        train_tokens: the tokens the trainer saw (prompt and completion; the trainer's own count).
        seconds: training time.
    """

    adapter_dir: str
    curve: list[tuple[int, float]] = field(default_factory=list)
    train_tokens: int = 0
    seconds: float = 0.0


def _require_training_packages() -> None:
    try:
        import peft  # noqa: F401
        import trl  # noqa: F401
    except ImportError as ex:  # pragma: no cover - requirements.txt installs them
        raise WinnowError("evaluation runs need trl and peft: pip install trl==1.16.0 peft==0.21.2") from ex


def train_adapter(
    model_dir: str | os.PathLike,
    tokenizer,
    train_file: str | os.PathLike,
    out_dir: str | os.PathLike,
    settings: LoraSettings,
    *,
    device: str = "cpu",
    progress: Progress | None = None,
    on_log: Callable[[int, float], None] | None = None,
) -> TrainedRun:
    """Train a LoRA adapter on ``train_file`` (a prompt/completion JSON-lines export) over the model in
    ``model_dir`` and save it in ``out_dir``.

    Args:
        model_dir: a local folder with the base model's weights (the bundled model's safetensors conversion, or any
            Hugging Face model folder).
        tokenizer: its tokenizer, with a chat template.
        device: "cpu" (fp32) or "cuda" (bf16).
        progress: ``progress(step, max_steps, "train: loss L")`` after each logged step; may raise ``Cancelled``.
        on_log: ``on_log(step, loss)`` after each logged step (a live training curve).

    Returns:
        The run: where the adapter is, its loss curve, tokens and time.
    """
    _require_training_packages()
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar
    from peft import LoraConfig
    from transformers import PrinterCallback, TrainerCallback
    from trl import SFTConfig

    disable_progress_bar()  # the datasets library's bars on the terminal; progress goes through ``progress``

    curve: list[tuple[int, float]] = []
    seen = {"tokens": 0}

    class _Follow(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                curve.append((state.global_step, float(logs["loss"])))
                if on_log is not None:
                    on_log(state.global_step, float(logs["loss"]))
                if progress is not None:
                    progress(state.global_step, state.max_steps, f"train: loss {float(logs['loss']):.3f}")

    cuda = device == "cuda"
    config = SFTConfig(
        output_dir=str(Path(out_dir) / "trainer"),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps else -1,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        max_length=settings.max_length,
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=not cuda,
        bf16=cuda,
        disable_tqdm=True,
        dataloader_num_workers=0,
        # batches of similar length waste less compute on padding (~15 % faster on a CPU with Alpaca-like data)
        train_sampling_strategy="group_by_length",
    )
    dataset = load_dataset("json", data_files=str(train_file), split="train")
    lora = LoraConfig(
        r=settings.r, lora_alpha=settings.alpha, target_modules="all-linear", task_type="CAUSAL_LM", lora_dropout=0.0
    )
    started = time.perf_counter()
    trainer = _answer_loss_trainer()(
        model=str(model_dir),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_Follow()],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout (a CLI's --json goes there)
    trainer.train()
    seconds = time.perf_counter() - started
    seen["tokens"] = trainer.trained_tokens
    adapter_dir = Path(out_dir) / "adapter"
    trainer.model.save_pretrained(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))  # the folder loads on its own (``core.models.language``)
    return TrainedRun(str(adapter_dir), curve, seen["tokens"], seconds)


def _answer_loss_trainer():
    """SFTTrainer with the loss computed by a plain projection of the answer positions.

    TRL's own loss runs a fused, tiled log-probability kernel (with entropy and accuracy for its logs) that on a CPU
    took ~40 % of a training step with the bundled model; projecting only the positions that carry a label through
    the LM head and taking the cross-entropy gives the same loss (the tests compare the two) in a fraction of that.
    """
    import torch
    import torch.nn.functional as F
    from trl import SFTTrainer

    class AnswerLossTrainer(SFTTrainer):
        trained_tokens = 0  # prompt and answer tokens seen in training (attention mask), like TRL's ``num_tokens``

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if return_outputs or "labels" not in inputs or "attention_mask" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
            hidden = causal_lm.base_model(
                input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False
            ).last_hidden_state
            labels = inputs["labels"][:, 1:]  # position i predicts token i + 1
            keep = labels != -100
            head = causal_lm.get_output_embeddings()
            logits = head(hidden[:, :-1][keep].to(head.weight.device)).float()
            total = F.cross_entropy(logits, labels[keep].to(logits.device), reduction="sum")
            count = keep.sum() if num_items_in_batch is None else num_items_in_batch
            if model.training:
                self.trained_tokens += int(inputs["attention_mask"].sum())
            return total / torch.as_tensor(count, device=total.device).clamp(min=1)

    return AnswerLossTrainer


def load_adapted(model_dir: str | os.PathLike, adapter_dir: str | os.PathLike | None, *, device: str = "cpu"):
    """The base model in ``model_dir`` with the adapter in ``adapter_dir`` merged into it (None: the base model
    alone), in eval mode, fp32 on a CPU and bf16 on CUDA."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype).to(device)
    if adapter_dir is not None:
        _require_training_packages()
        from peft import PeftModel

        # merged into the weights: the same model, without LoRA's extra matmuls on every layer (faster scoring)
        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    return model.eval()


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def completion_tokens(tokenizer, prompt: list[dict], completion: list[dict]) -> tuple[list[int], int]:
    """The token ids of a prompt and its completion rendered with the chat template, and where the completion
    starts: after the longest common prefix of the prompt (with the assistant's opening) and the whole, as TRL's
    SFTTrainer counts it, so training and evaluation score the same tokens.

    Raises:
        WinnowError: the completion has no tokens (no assistant turn to score).
    """
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
    full_ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)
    prompt_ids, full_ids = list(prompt_ids["input_ids"]), list(full_ids["input_ids"])
    start = _common_prefix(prompt_ids, full_ids)
    if start >= len(full_ids):
        raise WinnowError("an eval sample has no assistant answer to score")
    return full_ids, start


def heldout_losses(
    model, tokenizer, samples: Sequence[dict], *, max_length: int = 1024, batch_tokens: int | None = None
) -> EvalLosses:
    """Score eval samples ({"prompt": messages, "completion": messages}): per sample, the summed negative
    log-likelihood (nats) of its completion tokens and how many there are. A sample longer than ``max_length``
    keeps its first ``max_length`` tokens, as in training.

    Samples are scored in batches of similar length, padded on the right under an attention mask (a causal model's
    logits for the real tokens do not depend on padding after them), each batch at most ``batch_tokens`` tokens with
    its padding (default 4,096 on a CPU, 32,768 on a GPU, fewer for a vocabulary past 16k tokens on a GPU, so the
    logits stay near 2 GiB).

    Raises:
        WinnowError: naming the first sample (from 1) without an assistant answer, or whose prompt fills
            ``max_length``.
    """
    import torch

    device = next(model.parameters()).device
    # A batch's logits are (tokens x vocabulary) floats: keep them near 2 GiB whatever the vocabulary (a 128k one
    # at 32k tokens would take 17 GB).
    vocab = int(getattr(model.config, "vocab_size", 0) or 50_000)
    budget = batch_tokens or min(32_768 if device.type == "cuda" else 4_096, max(256, 2**29 // vocab))
    encoded = []
    for i, sample in enumerate(samples):
        try:
            ids, start = completion_tokens(tokenizer, sample["prompt"], sample["completion"])
        except WinnowError as ex:
            raise WinnowError(f"eval sample {i + 1}: {ex}") from None
        ids = ids[:max_length]
        if start >= len(ids):
            raise WinnowError(f"eval sample {i + 1}: its prompt fills all {max_length} tokens; nothing to score")
        encoded.append((ids, start))
    nll = np.zeros(len(samples))
    tokens = np.zeros(len(samples), dtype=np.int64)
    order = sorted(range(len(encoded)), key=lambda k: len(encoded[k][0]))
    batches: list[list[int]] = []
    for k in order:  # ascending length: a batch's longest is its last
        if batches and len(encoded[k][0]) * (len(batches[-1]) + 1) <= budget:
            batches[-1].append(k)
        else:
            batches.append([k])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.eval()
    with torch.no_grad():
        for batch in batches:
            width = max(len(encoded[k][0]) for k in batch)
            x = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, k in enumerate(batch):
                ids = encoded[k][0]
                x[row, : len(ids)] = torch.tensor(ids)
                mask[row, : len(ids)] = 1
            # Logits only from the first position that predicts an answer token on: the LM head over a large
            # vocabulary is much of a small model's work, and the prompt's predictions are not scored.
            first = min(encoded[k][1] for k in batch) - 1
            keep = torch.arange(first, width - 1, device=device)
            logits = model(input_ids=x.to(device), attention_mask=mask.to(device), logits_to_keep=keep).logits
            losses = torch.nn.functional.cross_entropy(
                logits.float().transpose(1, 2), x[:, first + 1 :].to(device), reduction="none"
            ).cpu()
            for row, k in enumerate(batch):
                ids, start = encoded[k]
                nll[k] = float(losses[row, start - 1 - first : len(ids) - 1 - first].sum())
                tokens[k] = len(ids) - start
    return EvalLosses(nll, tokens)
