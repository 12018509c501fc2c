"""Loading a tokenizer with a chat template, and rendering conversations with it into token ids and labels.

Decisions worth knowing:

- Assistant spans come from rendering prefixes of the conversation: the text the template adds for assistant turn i
  runs from the end of ``render(messages[:i], add_generation_prompt=True)`` to the end of ``render(messages[:i+1])``,
  so the turn's end-of-turn token (``<|im_end|>``) is trained too, and the model learns to stop. Templates that render
  earlier turns differently from the last (some strip reasoning) break that prefix property; then the spans are the
  assistant texts found in order in the rendering, plus the EOS token right after each. The full text is tokenized
  once, in batches, with the fast tokenizer's offsets: a token is trained when its first character lies in a span.
- An assistant turn marked not to train on (OpenAI's ``"weight": 0``, set per turn on Review) gets no labels.
- A sample that does not end with the tokenizer's EOS (whitespace after it allowed) gets one appended, trained: that
  is the separator between packed samples. ChatML templates already end every sample with it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ModelUnavailable
from core.models.language import bundled_lm_cache, convert_bundled_lm, lm_name
from core.models.sources import unavailable

IGNORE_INDEX = -100  # the label PyTorch's cross entropy (and every HF trainer) skips

_tokenizers: dict[str, tuple[object, str]] = {}
_tokenizers_lock = threading.Lock()


def load_tokenizer(spec: str = "", *, cache_dir: str | os.PathLike | None = None):
    """Load a fast tokenizer that has a chat template, or return the copy this process already loaded.

    Args:
        spec: empty for the bundled SmolLM2-135M-Instruct's, else a Hugging Face id or a local folder. With
            ``HF_HUB_OFFLINE=1`` an id must already be in the Hugging Face cache.
        cache_dir: where the bundled model's safetensors conversion lives (default: WINNOW_CACHE_DIR).

    Returns:
        ``(tokenizer, name)``: name is the spec's identity as scorer keys record it (``core.models.language.lm_name``).

    Raises:
        ModelUnavailable: the tokenizer cannot be found or loaded, is not a fast tokenizer, or has no chat template.
    """
    spec = (spec or "").strip()
    with _tokenizers_lock:
        if spec in _tokenizers:
            return _tokenizers[spec]
        from transformers import AutoTokenizer

        name = lm_name(spec)
        if not spec:
            if cache_dir is None:
                from core.settings import load_settings

                cache_dir = load_settings().cache_dir
            folder = bundled_lm_cache(cache_dir)
            if not (folder / "config.json").is_file():
                convert_bundled_lm(folder)  # once, tokenizer included; IFD scoring reads the same folder
            # A tokenizer of our own, not the IFD scorer's: a fast tokenizer used with different truncation settings
            # from two threads at once raises "Already borrowed".
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        else:
            local = Path(spec).expanduser()
            where = str(local.resolve()) if local.exists() else spec
            try:
                tokenizer = AutoTokenizer.from_pretrained(where)
            except (OSError, ValueError) as error:  # transformers' signals for missing files and bad ids
                raise unavailable(spec, "tokenizer", error) from error
        if not getattr(tokenizer, "is_fast", False):
            raise ModelUnavailable(
                f"tokenizer {name!r} has no fast (Rust) version, which the export needs for token offsets; "
                "pick a model whose folder has a tokenizer.json"
            )
        if not tokenizer.chat_template:
            raise ModelUnavailable(
                f"tokenizer {name!r} has no chat template (a base model?); give the tokenizer of a chat or "
                "instruct model, e.g. HuggingFaceTB/SmolLM2-135M-Instruct"
            )
        _tokenizers[spec] = (tokenizer, name)
        return tokenizer, name


def _render(tokenizer, messages: list[dict], tools, generation: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=generation)


def template_support(tokenizer) -> dict[str, bool]:
    """Whether the chat template renders tool definitions and assistant tool calls at all (SmolLM2's renders
    neither: such samples train without them). Returns {"tools": bool, "tool_calls": bool}."""
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    tool = {"type": "function", "function": {"name": "probe_tool", "description": "probe", "parameters": {}}}
    call = {"type": "function", "function": {"name": "probe_tool", "arguments": "{}"}}
    calling = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "ok"},
        {"role": "assistant", "content": "hello"},
    ]
    plain = [calling[0], {"role": "assistant", "content": ""}, calling[2], calling[3]]
    out = {}
    for what, with_it, without in (
        ("tools", lambda: _render(tokenizer, chat, [tool]), lambda: _render(tokenizer, chat, None)),
        ("tool_calls", lambda: _render(tokenizer, calling, None), lambda: _render(tokenizer, plain, None)),
    ):
        try:
            out[what] = with_it() != without()
        except Exception:  # a template that refuses the probe does not render it either
            out[what] = False
    return out


def _template_spans(tokenizer, messages: list[dict], tools, full: str) -> list[tuple[int, int]] | None:
    """Assistant spans by prefix rendering, or None when the template is not prefix-stable for this chat."""
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight", 1) == 0:  # a turn marked not to train on gets no labels
            continue
        head = _render(tokenizer, messages[:i], tools, generation=True)
        turn = full if i == len(messages) - 1 else _render(tokenizer, messages[: i + 1], tools)
        if len(turn) < len(head) or not (full.startswith(turn) and turn.startswith(head)):
            return None
        spans.append((len(head), len(turn)))
    return spans


def _content_spans(messages: list[dict], full: str, eos: str | None) -> list[tuple[int, int]] | None:
    """Assistant spans by finding each message's text in order in the rendering (the fallback), or None."""
    spans, at = [], 0
    for m in messages:
        text = m.get("content") if isinstance(m.get("content"), str) else ""
        found = full.find(text, at) if text else -1
        if m["role"] != "assistant" or m.get("weight", 1) == 0:
            if found >= 0:  # step past it, so an answer that repeats the question is not found in the question
                at = found + len(text)
            continue
        if not text:
            continue  # a bare tool call: nothing of it is in a template that ignores tool calls
        # An answer that ends its turn is its text right before the EOS: a short answer ("a", "ass") found bare may
        # be a piece of the template's own markup ("<|im_start|>assistant") before the real one.
        ended = full.find(text + eos, at) if eos else -1
        if ended >= 0:
            found = ended
        if found < 0:
            return None
        end = found + len(text)
        if eos and full.startswith(eos, end):
            end += len(eos)
        spans.append((found, end))
        at = end
    return spans


@dataclass
class Tokenized:
    """One sample as a trainer sees it.

    Attributes:
        input_ids: the rendered conversation's token ids (the EOS separator included).
        labels: ``input_ids`` on assistant tokens, ``IGNORE_INDEX`` elsewhere.
        by_content: True when the assistant spans had to be found by their text (see the module docstring).
    """

    input_ids: np.ndarray
    labels: np.ndarray
    by_content: bool = False

    @property
    def answer_tokens(self) -> int:
        return int(np.count_nonzero(self.labels != IGNORE_INDEX))


def tokenize_conversations(tokenizer, chats: Sequence[tuple[list[dict], object]]) -> list[Tokenized | str]:
    """Render and tokenize conversations with the tokenizer's chat template, in one batched tokenizer call.

    Args:
        chats: ``(messages, tools)`` pairs; messages in the OpenAI shape, validated (``core.formats.convert.to_canonical``),
            tools a list of definitions (or their JSON text), or None.

    Returns:
        Per chat, a ``Tokenized`` or, when the template refuses the chat or changes its answers beyond recognition,
        a one-line reason (a string).
    """
    eos = tokenizer.eos_token
    texts, spans, fallback, out = [], [], [], []
    for messages, tools in chats:
        if isinstance(tools, str):
            try:
                tools = json.loads(tools)
            except ValueError:
                tools = None
        try:
            full = _render(tokenizer, messages, tools or None)
            found = _template_spans(tokenizer, messages, tools or None, full)
        except Exception as ex:  # jinja's TemplateError, or a template's own raise_exception()
            out.append(f"the chat template refuses this conversation: {ex}")
            continue
        by_content = found is None
        if by_content:
            found = _content_spans(messages, full, eos)
            if found is None:
                out.append("the chat template changes the assistant's text, so its tokens cannot be found")
                continue
        # The EOS separator: a sample that does not end with it would run into the next one in a packed row.
        separator = bool(eos) and not full.rstrip().endswith(eos)
        texts.append(full)
        spans.append(found)
        fallback.append((separator, by_content))
        out.append(None)
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True) if texts else None
    k = 0
    for i, slot in enumerate(out):
        if slot is not None:
            continue
        ids = np.asarray(encoded["input_ids"][k], dtype=np.int32)
        starts = np.asarray([s for s, _e in encoded["offset_mapping"][k]], dtype=np.int64)
        trained = np.zeros(len(ids), dtype=bool)
        for a, b in spans[k]:
            trained |= (starts >= a) & (starts < b)
        labels = np.where(trained, ids, IGNORE_INDEX).astype(np.int32)
        separator, by_content = fallback[k]
        if separator:
            ids = np.append(ids, np.int32(tokenizer.eos_token_id))
            labels = np.append(labels, np.int32(tokenizer.eos_token_id))
        out[i] = Tokenized(ids, labels, by_content)
        k += 1
    return out
