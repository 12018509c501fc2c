"""Where synthesis gets its text: any OpenAI-compatible endpoint, or the local model through transformers.

Both take a list of prompts (each sent as one user message) and give, per prompt, the text and whether it ended on
its own (False: cut at ``max_tokens``). The endpoint can be OpenAI's, vLLM's, or llama-cpp-python's server, which
serves the bundled GGUF: ``python -m llama_cpp.server --model PATH``. Its API key comes from an environment variable
(never a flag, so it stays out of shell histories and the audit log).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.errors import ModelUnavailable, WinnowError


@dataclass(frozen=True)
class Sampling:
    """How text is sampled: recorded with every synthesized sample."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int = 0

    def check(self) -> None:
        if not 0 <= self.temperature <= 2 or not 0 < self.top_p <= 1 or self.max_tokens < 1:
            raise WinnowError("sampling needs 0 <= temperature <= 2, 0 < top_p <= 1 and max_tokens >= 1")


@dataclass(frozen=True)
class Completion:
    text: str
    finished: bool  # False: cut off at max_tokens


class OpenAIBackend:
    """An OpenAI-compatible chat completions endpoint.

    Args:
        base_url: e.g. ``http://localhost:8000/v1``.
        model: the model name the endpoint serves.
        api_key_env: the environment variable holding the key (a local server often needs none).
    """

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", timeout: float = 120.0):
        from openai import OpenAI

        self.base_url, self.model = base_url, model or "default"
        self.name = f"{self.model} at {base_url}"
        self._client = OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env) or "none", timeout=timeout)

    def complete(self, prompts: list[str], sampling: Sampling) -> list[Completion]:
        import openai

        out = []
        for k, prompt in enumerate(prompts):
            try:
                reply = self._client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": prompt}],
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    max_tokens=sampling.max_tokens,
                    seed=sampling.seed + k,
                )
            except openai.APIConnectionError as ex:
                raise ModelUnavailable(f"cannot reach the endpoint {self.base_url}: {ex}") from None
            except openai.APIStatusError as ex:
                raise ModelUnavailable(
                    f"the endpoint {self.base_url} answered {ex.status_code}: {ex.message}"
                ) from None
            choice = reply.choices[0]
            out.append(Completion(choice.message.content or "", choice.finish_reason != "length"))
        return out


class LocalBackend:
    """A causal language model run here: the bundled SmolLM2 by default, or any HF id or local path. Each prompt is
    rendered with the model's chat template (plain text when it has none) and sampled."""

    def __init__(self, spec: str = "", *, settings=None):
        from core.models.language import lm_name
        from core.settings import load_settings

        self.settings = settings or load_settings()
        self.spec = spec or self.settings.model
        self.name = lm_name(self.spec)
        self._model = None

    def _load(self):
        if self._model is None:
            from core.models.language import load_causal_lm
            from core.scoring.necessity import end_token_ids

            s = self.settings
            self._model, self._tokenizer, _ = load_causal_lm(
                self.spec, device=s.device, dtype=s.dtype, cache_dir=s.cache_dir
            )
            self._ends = end_token_ids(self._model, self._tokenizer)
        return self._model, self._tokenizer

    def complete(self, prompts: list[str], sampling: Sampling) -> list[Completion]:
        import torch

        model, tokenizer = self._load()
        out = []
        for k, prompt in enumerate(prompts):
            if tokenizer.chat_template:
                ids = tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
                )
                ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
            else:
                ids = tokenizer(prompt, return_tensors="pt").input_ids
            torch.manual_seed(sampling.seed + k)
            options = (
                {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}
                if sampling.temperature > 0
                else {"do_sample": False}
            )
            with torch.inference_mode():
                generated = model.generate(
                    input_ids=ids.to(model.device),
                    attention_mask=torch.ones_like(ids).to(model.device),
                    max_new_tokens=sampling.max_tokens,
                    eos_token_id=self._ends,
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self._ends[0],
                    **options,
                )
            new = generated[0, ids.shape[1] :].tolist()
            finished = any(t in self._ends for t in new)
            text = tokenizer.decode([t for t in new if t not in self._ends], skip_special_tokens=True)
            out.append(Completion(text.strip(), finished))
        return out
