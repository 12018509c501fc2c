"""Training-ready export: samples rendered with a chat template, counted, checked, split, packed and written.

What a data lead needs before a fine-tuning run, from the samples of a workspace (a status filter or a saved
selection):

- every sample rendered with a tokenizer's chat template (the bundled SmolLM2's by default, or any HF id or folder),
  and its tokens counted, in total and per split; assistant tokens are the ones a trainer learns from;
- a truncation report at ``max_length``: samples over it, tokens and answer tokens lost (the cut-off tails, or the
  whole samples with ``over_length="drop"``), samples left with no answer token after the cut;
- packing as Llama 2 did it (samples joined to fill ``max_length``), with its efficiency, and optionally packed
  Parquet files: ``input_ids``, ``labels`` (-100 everywhere but assistant tokens), ``position_ids`` restarting at 0
  for each sample, and ``sample_ids``/``lengths`` marking the boundaries, so ``unpack_rows`` gives back each sample;
- a deterministic train/validation split, stratified by task label, in TRL's ``messages`` or conversational
  ``prompt``/``completion`` shape, with a LLaMA-Factory ``dataset_info.json`` and a manifest (recipe, scorers and
  models, counts per label and split, tokens, truncation, packing, tokenizer, advice on the fine-tuning method).

Decisions worth knowing:

- Assistant spans come from rendering prefixes of the conversation: the text the template adds for assistant turn i
  runs from the end of ``render(messages[:i], add_generation_prompt=True)`` to the end of ``render(messages[:i+1])``,
  so the turn's end-of-turn token (``<|im_end|>``) is trained too, and the model learns to stop. Templates that render
  earlier turns differently from the last (some strip reasoning) break that prefix property; then the spans are the
  assistant texts found in order in the rendering, plus the EOS token right after each. The full text is tokenized
  once, in batches, with the fast tokenizer's offsets: a token is trained when its first character lies in a span.
- Every assistant turn of a multi-turn chat is trained on (in the packed files). The ``prompt-completion`` files train
  a TRL trainer on the completion only (the turns after the last user message).
- A sample that does not end with the tokenizer's EOS (whitespace after it allowed) gets one appended, trained: that
  is the separator between packed samples. ChatML templates already end every sample with it.
- Long samples are cut at ``max_length`` from the right (``over_length="truncate"``), as trainers do, or left out of
  every file (``"drop"``). The ``messages`` files hold the whole sample either way: the trainer truncates it.
- Packing is best-fit decreasing (longest sample first, into the fullest row it fits), ties broken by input order,
  so it is deterministic; it never needs more than about 11/9 of the fewest rows possible.
- The split is drawn per task label: within each label the samples are ordered by a hash of (seed, sample id), and
  the first ones go to validation; the numbers per label are a largest-remainder rounding of ``val_fraction``.
- The same inputs give byte-identical files: no time stamps in them (the time is in the audit log).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from core import __version__, formats
from core.errors import FormatError, ModelUnavailable, WinnowError
from core.export import (
    _DATASET_INFO,
    _partial_folder_beside,
    _remove_stale_partials,
    _write_json_atomic,
    export_target,
)
from core.models.language import bundled_lm_cache, convert_bundled_lm, lm_name
from core.models.sources import unavailable
from core.store import SampleFilter, Store, messages_of

TRAINING_FORMATS = ("messages", "prompt-completion")
OVER_LENGTH = ("truncate", "drop")
IGNORE_INDEX = -100  # the label PyTorch's cross entropy (and every HF trainer) skips
MANIFEST = "manifest.json"
MANIFEST_KIND = "winnow training export"
MAX_LENGTH_LIMIT = 1 << 20  # tokens: above any model's context; packing's index is linear in max_length
_TOKENIZE_BATCH = 512  # conversations per tokenizer call: big enough for the Rust tokenizer's threads
_PACKED_ROWS_PER_GROUP = 1024  # rows per Parquet row group of a packed file

Progress = Callable[[int, int | None], None]

# --- advice --------------------------------------------------------------------------------------------------------

ADVICE_CITATION = (
    "Zhang, Liu, Cherry and Firat, 'When Scaling Meets LLM Finetuning: The Effect of Data, Model and Finetuning "
    "Method', ICLR 2024"
)
P_TUNING_BELOW = 5_000  # "a few thousand samples"
FULL_FINETUNING_FROM = 500_000  # "around a million" (half way, on a log scale, from tens of thousands)
DEFAULT_METHOD = "lora"


def method_advice(n_samples: int) -> dict:
    """Which fine-tuning method the training set's size points to, after Zhang et al. (ICLR 2024).

    Their scaling study finds parameter-efficient methods ahead when data is scarce and full fine-tuning gaining the
    most from more data. Read as a rule of thumb: a few thousand samples suit P-tuning (prompt tuning), thousands to
    tens of thousands LoRA, around a million full fine-tuning. Winnow's own recommendation is LoRA by default.

    Returns:
        {"samples", "method" ("p-tuning", "lora" or "full"), "default" ("lora"), "why", "citation"}.
    """
    n = int(n_samples)
    if n < P_TUNING_BELOW:
        method, band = "p-tuning", f"a few thousand samples or fewer (under {P_TUNING_BELOW:,})"
    elif n < FULL_FINETUNING_FROM:
        method, band = (
            "lora",
            f"thousands to tens of thousands of samples ({P_TUNING_BELOW:,} to {FULL_FINETUNING_FROM - 1:,})",
        )
    else:
        method, band = "full", f"around a million samples ({FULL_FINETUNING_FROM:,} or more)"
    names = {"p-tuning": "P-tuning", "lora": "LoRA", "full": "full fine-tuning"}
    why = (
        f"{n:,} training samples is {band}: the paper's scaling results point to {names[method]}. "
        "Winnow's default is LoRA."
    )
    return {"samples": n, "method": method, "default": DEFAULT_METHOD, "why": why, "citation": ADVICE_CITATION}


# --- tokenizers ----------------------------------------------------------------------------------------------------

_tokenizers: dict[str, tuple[object, str]] = {}
_tokenizers_lock = threading.Lock()


def load_tokenizer(spec: str = "", *, cache_dir: str | os.PathLike | None = None):
    """Load a fast tokenizer that has a chat template, or return the copy this process already loaded.

    Args:
        spec: empty for the bundled SmolLM2-135M-Instruct's, else a Hugging Face id or a local folder. With
            ``HF_HUB_OFFLINE=1`` an id must already be in the Hugging Face cache.
        cache_dir: where the bundled model's safetensors conversion lives (default: WINNOW_CACHE_DIR).

    Returns:
        ``(tokenizer, name)``: name is the spec's identity as scorer keys record it (``lm_name``).

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
        if m["role"] != "assistant":
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
        if m["role"] != "assistant":
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
        chats: ``(messages, tools)`` pairs; messages in the OpenAI shape, validated (``formats.to_canonical``),
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


# --- packing -------------------------------------------------------------------------------------------------------


def pack_lengths(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Group samples into rows of at most ``max_length`` tokens: best-fit decreasing, deterministic.

    Samples are placed longest first (ties: input order) into the row with the least room that still fits them
    (among rows with equal room, the one that has had it longest); a new row opens when none fits. A Fenwick tree
    over the room left (0..max_length) finds that row in O(log max_length), so a million samples pack in seconds.

    Args:
        lengths: tokens per sample, each between 1 and ``max_length`` (truncate or drop longer ones first).

    Returns:
        The rows in the order they were opened, each the sample indices in the order they were placed.

    Raises:
        ValueError: a length is not in 1..max_length.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and (lengths.min() < 1 or lengths.max() > max_length):
        raise ValueError(f"sample lengths must be within 1..{max_length}")
    size = max_length + 1  # room can be 0..max_length; the tree is 1-based over room + 1
    tree = [0] * (size + 1)
    # room -> rows with that much room left; made on first use, since most rooms never occur and a long max_length
    # would otherwise cost a deque per token
    rooms: defaultdict[int, deque[int]] = defaultdict(deque)
    rows: list[list[int]] = []
    top = 1 << size.bit_length()

    def add(room: int, delta: int) -> None:
        i = room + 1
        while i <= size:
            tree[i] += delta
            i += i & -i

    def count_below(room: int) -> int:  # rows with room < ``room``
        i, total = room, 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    def first_with_room(need: int) -> int | None:  # the smallest room >= need that some row has
        target = count_below(need) + 1  # the target-th row in room order is the first with room >= need
        pos, step = 0, top
        while step:
            nxt = pos + step
            if nxt <= size and tree[nxt] < target:
                pos = nxt
                target -= tree[nxt]
            step >>= 1
        return pos if pos < size else None  # pos + 1 is the tree index, so the room is pos

    sizes = lengths.tolist()
    for i in np.argsort(-lengths, kind="stable").tolist():  # longest first; a stable sort keeps input order on ties
        n = sizes[i]
        room = first_with_room(n)
        if room is None:
            rows.append([i])
            rooms[max_length - n].append(len(rows) - 1)
            add(max_length - n, 1)
            continue
        row = rooms[room].popleft()
        add(room, -1)
        rows[row].append(i)
        rooms[room - n].append(row)
        add(room - n, 1)
    return rows


def packing_stats(lengths: Sequence[int], max_length: int) -> dict:
    """How well samples of these lengths pack into rows of ``max_length``.

    Returns:
        {"samples", "tokens", "rows", "efficiency", "padding_efficiency"}: efficiency = tokens / (rows x max_length)
        (higher is better, 1 = no padding at all); padding_efficiency is the same for one sample per row, padded
        to max_length, for comparison. Both are 0 when there are no samples.
    """
    lengths = [int(n) for n in lengths]
    rows = len(pack_lengths(lengths, max_length)) if lengths else 0
    tokens = sum(lengths)
    return {
        "samples": len(lengths),
        "tokens": tokens,
        "rows": rows,
        "efficiency": round(tokens / (rows * max_length), 4) if rows else 0.0,
        "padding_efficiency": round(tokens / (len(lengths) * max_length), 4) if lengths else 0.0,
    }


PACKED_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("labels", pa.list_(pa.int32())),
        ("position_ids", pa.list_(pa.int32())),
        ("sample_ids", pa.list_(pa.string())),
        ("lengths", pa.list_(pa.int32())),
    ]
)


def _packed_batch(samples: pa.Table, rows: list[list[int]]) -> pa.RecordBatch:
    """Packed rows from per-sample tokens (``samples``: id, input_ids, labels) and the rows' sample indices."""
    order = np.fromiter((i for row in rows for i in row), dtype=np.int64)
    taken = samples.take(pa.array(order)).combine_chunks()
    ids = taken.column("input_ids").chunk(0)
    lengths = np.diff(np.asarray(ids.offsets, dtype=np.int64))
    per_row = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    row_bounds = np.concatenate([[0], np.cumsum(per_row)])  # sample index bounds of each row
    token_bounds = np.concatenate([[0], np.cumsum(lengths)])
    row_offsets = pa.array(token_bounds[row_bounds].astype(np.int32))
    starts = token_bounds[:-1]
    positions = np.arange(token_bounds[-1], dtype=np.int64) - np.repeat(starts, lengths)
    sample_offsets = pa.array(row_bounds.astype(np.int32))
    return pa.record_batch(
        [
            pa.ListArray.from_arrays(row_offsets, ids.flatten()),
            pa.ListArray.from_arrays(row_offsets, taken.column("labels").chunk(0).flatten()),
            pa.ListArray.from_arrays(row_offsets, pa.array(positions.astype(np.int32))),
            pa.ListArray.from_arrays(sample_offsets, taken.column("id").chunk(0)),
            pa.ListArray.from_arrays(sample_offsets, pa.array(lengths.astype(np.int32))),
        ],
        schema=PACKED_SCHEMA,
    )


def unpack_rows(table: pa.Table) -> Iterator[tuple[str, list[int], list[int]]]:
    """The samples inside packed rows (a packed Parquet file read with ``pyarrow.parquet.read_table``).

    Yields:
        ``(sample_id, input_ids, labels)`` per sample, row by row.

    Raises:
        FormatError: a row's lengths do not add up to its tokens, or its position_ids do not restart at each sample.
    """
    for r, row in enumerate(table.to_pylist()):
        ids, labels, positions = row["input_ids"], row["labels"], row["position_ids"]
        if sum(row["lengths"]) != len(ids) or len(labels) != len(ids) or len(positions) != len(ids):
            raise FormatError("lengths do not add up to the row's tokens", record=r, field="lengths")
        at = 0
        for sample_id, n in zip(row["sample_ids"], row["lengths"], strict=True):
            if positions[at : at + n] != list(range(n)):
                raise FormatError(f"position_ids do not restart at sample {sample_id}", record=r, field="position_ids")
            yield sample_id, ids[at : at + n], labels[at : at + n]
            at += n


# --- split ---------------------------------------------------------------------------------------------------------


def _rank_key(seed: int, sample_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{sample_id}".encode()).digest()


def split_validation(
    ids: Sequence[str],
    labels: Sequence[str | None],
    val_fraction: float,
    seed: int,
    contents: Sequence[str] | None = None,
) -> set[str]:
    """The ids that go to validation: ``round(val_fraction x n)`` samples, shared among task labels by largest
    remainder (ties: the larger label, then the name), and within a label the first ones by a hash of (seed, id).

    Args:
        contents: each sample's content hash. Samples with the same content then rank together, and all of them
            follow the first one chosen into validation, so an exact duplicate never sits on both sides of the
            split (validation loss would flatter the model). Validation may then hold a few more than its quota.

    The same ids, labels, fraction and seed always give the same split, whatever the input order.
    """
    if not 0 <= val_fraction < 1:
        raise WinnowError(f"val_fraction must be at least 0 and below 1, got {val_fraction}")
    groups: dict[str, list[str]] = {}
    for sample_id, label in zip(ids, labels, strict=True):
        groups.setdefault(label if label is not None else "(unlabeled)", []).append(sample_id)
    total = math.floor(val_fraction * len(ids) + 0.5)
    quota = {label: math.floor(val_fraction * len(members)) for label, members in groups.items()}
    left = total - sum(quota.values())
    by_remainder = sorted(groups, key=lambda g: (-(val_fraction * len(groups[g]) - quota[g]), -len(groups[g]), g))
    for label in by_remainder[: max(left, 0)]:
        quota[label] += 1
    content_of = dict(zip(ids, contents, strict=True)) if contents is not None else {}
    out: set[str] = set()
    for label, members in groups.items():
        ranked = sorted(members, key=lambda s: (_rank_key(seed, content_of.get(s, s)), s))
        out.update(ranked[: quota[label]])
    if content_of:
        chosen = {content_of[s] for s in out}
        out.update(s for s in ids if content_of[s] in chosen)
    return out


# --- the export ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingOptions:
    """How to prepare the training files.

    Attributes:
        tokenizer: empty for the bundled SmolLM2's, else a Hugging Face id or a local folder.
        max_length: the trainer's sequence length, in tokens.
        fmt: "messages" (TRL conversational language modelling; LLaMA-Factory's OpenAI-style sharegpt) or
            "prompt-completion" (TRL conversational prompt/completion: the completion is what follows the last user
            message).
        val_fraction: share of the samples held out for validation, in [0, 1).
        seed: fixes the split.
        pack: also write the packed Parquet files.
        over_length: "truncate" samples longer than max_length, or "drop" them from every file.
    """

    tokenizer: str = ""
    max_length: int = 2048
    fmt: str = "messages"
    val_fraction: float = 0.05
    seed: int = 0
    pack: bool = False
    over_length: str = "truncate"

    def check(self) -> None:
        if self.fmt not in TRAINING_FORMATS:
            raise WinnowError(f"unknown training format {self.fmt!r}; use {' or '.join(TRAINING_FORMATS)}")
        if self.over_length not in OVER_LENGTH:
            raise WinnowError(f"over_length must be {' or '.join(OVER_LENGTH)}, got {self.over_length!r}")
        if not 16 <= int(self.max_length) <= MAX_LENGTH_LIMIT:
            raise WinnowError(f"max_length must be 16 to {MAX_LENGTH_LIMIT:,} tokens, got {self.max_length}")
        if not 0 <= float(self.val_fraction) < 1:
            raise WinnowError(f"val_fraction must be at least 0 and below 1, got {self.val_fraction}")


@dataclass
class TrainingReport:
    """What ``training_report`` and ``export_training`` return.

    Attributes:
        folder: the export folder (None for a report only).
        files: {"train": path, "validation": path, "train_packed": ..., "dataset_info": ..., "manifest": ...},
            the ones written.
        manifest: everything measured (see ``export_training``): counts, tokens, truncation, packing, advice,
            skipped samples and warnings.
    """

    folder: str | None
    files: dict[str, str]
    manifest: dict = field(default_factory=dict)


def _selection_info(store: Store, flt: SampleFilter) -> dict | None:
    if not flt.selection:
        return None
    info = store.get_selection(flt.selection)
    if info["stages"] > 1 and flt.stage is None:
        raise WinnowError(
            f"selection {flt.selection!r} is staged ({info['stages']} stages, trained one after another): export "
            "one stage at a time (--stage N)"
        )
    return {
        "name": info["name"],
        "stage": flt.stage,
        "stages": info["stages"],
        "samples": info["samples"],
        "recipe": info["recipe"],
        "recipe_hash": info["recipe_hash"],
    }


def _training_record(messages: list[dict], tools, fmt: str) -> dict:
    """A record in TRL's shape: ``messages`` (+ tools), or conversational ``prompt``/``completion`` (+ tools)."""
    if fmt == "messages":
        out: dict = {"messages": messages}
    else:
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        out = {"prompt": messages[: last_user + 1], "completion": messages[last_user + 1 :]}
    if tools is not None:
        out["tools"] = tools
    return out


class _Split:
    """What one split accumulates while the samples stream by."""

    def __init__(self, name: str, folder: Path | None, pack: bool):
        self.name = name
        self.samples = 0
        self.tokens = 0
        self.answer_tokens = 0
        self.lengths: list[int] = []  # after truncation: what packing sees
        self.by_label: Counter = Counter()
        self.path = folder / f"{name}.jsonl" if folder else None
        self.sha = hashlib.sha256()
        self._fh = open(self.path, "wb") if self.path else None  # noqa: SIM115 - closed in close()
        self.tokens_path = folder / f".{name}.tokens.arrow" if folder and pack else None
        self._tokens = None
        if self.tokens_path:
            schema = pa.schema(
                [("id", pa.string()), ("input_ids", pa.list_(pa.int32())), ("labels", pa.list_(pa.int32()))]
            )
            self._tokens = pa.ipc.new_file(str(self.tokens_path), schema)

    def add(self, sample_id: str, record: dict, kept: Tokenized, full_length: int, answer: int, label: str) -> None:
        self.samples += 1
        self.tokens += full_length
        self.answer_tokens += answer
        self.lengths.append(len(kept.input_ids))
        self.by_label[label] += 1
        if self._fh:
            blob = orjson.dumps(record) + b"\n"
            self._fh.write(blob)
            self.sha.update(blob)

    def add_tokens(self, ids: list[str], kept: list[Tokenized]) -> None:
        if self._tokens and ids:
            self._tokens.write_table(
                pa.table(
                    {
                        "id": pa.array(ids, pa.string()),
                        "input_ids": pa.array([t.input_ids for t in kept], pa.list_(pa.int32())),
                        "labels": pa.array([t.labels for t in kept], pa.list_(pa.int32())),
                    }
                )
            )

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None
        if self._tokens:
            self._tokens.close()
            self._tokens = None

    def write_packed(self, max_length: int, out: Path) -> str:
        """Pack this split's tokens into ``out``; returns the file's sha256."""
        with pa.memory_map(str(self.tokens_path)) as source:
            samples = pa.ipc.open_file(source).read_all()
            rows = pack_lengths(self.lengths, max_length)
            with pq.ParquetWriter(str(out), PACKED_SCHEMA) as writer:
                for k in range(0, len(rows), _PACKED_ROWS_PER_GROUP):
                    writer.write_batch(_packed_batch(samples, rows[k : k + _PACKED_ROWS_PER_GROUP]))
                if not rows:
                    writer.write_table(PACKED_SCHEMA.empty_table())
        self.tokens_path.unlink()
        return _sha256(out)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _percentiles(lengths: Sequence[int]) -> dict:
    if not len(lengths):
        return {}
    arr = np.asarray(lengths)
    out = {f"p{q}": int(np.percentile(arr, q, method="higher")) for q in (50, 90, 95, 99)}
    out["max"] = int(arr.max())
    out["mean"] = round(float(arr.mean()), 1)
    return out


# The split is drawn from one read of the members and the samples stream from a second: a sample that only matched
# the filters in between has no place in the split.
_CHANGED_MEANWHILE = (
    "it matched the filters only after the export began (changed meanwhile); export again to include it"
)


def _prepare(
    store: Store,
    filters: SampleFilter,
    options: TrainingOptions,
    folder: Path | None,
    progress: Progress | None,
    cache_dir,
) -> tuple[dict, dict[str, Path]]:
    """The work of ``training_report`` (folder None) and ``export_training`` (writing into ``folder``)."""
    options.check()
    max_length = int(options.max_length)
    selection = _selection_info(store, filters)
    tokenizer, tokenizer_name = load_tokenizer(options.tokenizer, cache_dir=cache_dir)
    support = template_support(tokenizer)
    members = store.sample_arrays(["id", "task_label", "content_hash"], filters)
    label_of = {
        i: (lab if lab is not None else "(unlabeled)")
        for i, lab in zip(members["id"], members["task_label"], strict=True)
    }
    validation = split_validation(
        members["id"], members["task_label"], float(options.val_fraction), int(options.seed), members["content_hash"]
    )
    total = len(label_of)
    splits = {name: _Split(name, folder, options.pack) for name in ("train", "validation")}
    skipped: list[dict] = []
    cut = {
        "samples": 0,
        "tokens_lost": 0,
        "answer_tokens_lost": 0,
        "samples_losing_answer": 0,
        "left_without_answer": 0,
    }
    dropped = 0
    with_tools = with_calls = by_content = 0
    all_lengths: list[int] = []
    done = 0
    try:
        for batch in store.iter_export(filters):
            rows = batch.to_pylist()
            for k in range(0, len(rows), _TOKENIZE_BATCH):
                chunk, records, chats = rows[k : k + _TOKENIZE_BATCH], [], []
                for row in chunk:
                    if row["id"] not in label_of:  # e.g. accepted by a reviewer after the split was drawn
                        skipped.append({"id": row["id"], "reason": _CHANGED_MEANWHILE})
                        records.append(None)
                        continue
                    tools = json.loads(row["tools"]) if row["tools"] is not None else None
                    try:
                        messages = messages_of(row["messages"], row["raw"], row["format"], row["mapping"])
                        record = formats.from_canonical(formats.Canonical(messages, tools), "openai")
                        formats.to_canonical(record, "openai")  # the role order, the last turn, the fields
                    except FormatError as ex:
                        skipped.append({"id": row["id"], "reason": str(ex)})
                        records.append(None)
                        continue
                    records.append(record)
                    chats.append((record["messages"], record.get("tools")))
                tokenized = iter(tokenize_conversations(tokenizer, chats))
                kept_ids: dict[str, list] = {"train": [], "validation": []}
                kept_tokens: dict[str, list] = {"train": [], "validation": []}
                for row, record in zip(chunk, records, strict=True):
                    if record is None:
                        continue
                    tok = next(tokenized)
                    if isinstance(tok, str):
                        skipped.append({"id": row["id"], "reason": tok})
                        continue
                    n, answer = len(tok.input_ids), tok.answer_tokens
                    all_lengths.append(n)
                    if n > max_length:
                        cut["samples"] += 1
                        if options.over_length == "drop":  # the whole sample is lost, not just its tail
                            cut["tokens_lost"] += n
                            cut["answer_tokens_lost"] += answer
                            cut["samples_losing_answer"] += answer > 0
                            dropped += 1
                            continue
                        lost_answer = int(np.count_nonzero(tok.labels[max_length:] != IGNORE_INDEX))
                        cut["tokens_lost"] += n - max_length
                        cut["answer_tokens_lost"] += lost_answer
                        cut["samples_losing_answer"] += lost_answer > 0
                        cut["left_without_answer"] += lost_answer == answer
                        tok = Tokenized(tok.input_ids[:max_length], tok.labels[:max_length], tok.by_content)
                    with_tools += record.get("tools") is not None and not support["tools"]
                    with_calls += not support["tool_calls"] and any(m.get("tool_calls") for m in record["messages"])
                    by_content += tok.by_content
                    split = "validation" if row["id"] in validation else "train"
                    out = _training_record(record["messages"], record.get("tools"), options.fmt)
                    splits[split].add(row["id"], out, tok, n, answer, label_of[row["id"]])
                    kept_ids[split].append(row["id"])
                    kept_tokens[split].append(tok)
                for name, s in splits.items():
                    s.add_tokens(kept_ids[name], kept_tokens[name])
                done += len(chunk)
                if progress:
                    progress(done, total)
    finally:
        for s in splits.values():
            s.close()

    files: dict[str, Path] = {}
    file_info: dict[str, dict] = {}
    if folder is not None:
        for name, s in splits.items():
            if s.samples or name == "train":
                files[name] = s.path
                file_info[name] = {"file": s.path.name, "records": s.samples, "sha256": s.sha.hexdigest()}
            else:
                s.path.unlink()
            if options.pack:
                packed = folder / f"{name}.packed.parquet"
                if s.samples or name == "train":
                    sha = s.write_packed(max_length, packed)
                    files[f"{name}_packed"] = packed
                    file_info[f"{name}_packed"] = {"file": packed.name, "rows": None, "sha256": sha}
                else:
                    s.tokens_path.unlink()

    warnings = []
    if with_tools:
        warnings.append(
            f"{with_tools} samples have tool definitions, which this chat template does not render: they train "
            "without them (the files keep them); pick a tool-aware template"
        )
    if with_calls:
        warnings.append(
            f"{with_calls} samples have assistant tool calls, which this chat template does not render: the calls "
            "are not trained (the files keep them)"
        )
    if by_content:
        warnings.append(
            f"{by_content} samples: this template renders earlier turns differently from the last, so their "
            "assistant tokens were found by their text"
        )
    if cut["left_without_answer"] and options.over_length == "truncate":
        warnings.append(
            f"{cut['left_without_answer']} samples keep no answer token after truncation at {max_length}: they "
            "train nothing; raise max_length or use over_length=drop"
        )
    if skipped:
        warnings.append(
            f"{len(skipped)} samples were left out (see skipped): {skipped[0]['id']}: {skipped[0]['reason']}"
        )

    packing = {name: packing_stats(s.lengths, max_length) for name, s in splits.items()}
    for name in ("train", "validation"):
        if f"{name}_packed" in file_info:
            file_info[f"{name}_packed"]["rows"] = packing[name]["rows"]
    labels = sorted(set(splits["train"].by_label) | set(splits["validation"].by_label))
    manifest = {
        "kind": MANIFEST_KIND,
        "format": options.fmt,
        "files": file_info,
        "samples": {
            "matched": total,
            "written": {name: s.samples for name, s in splits.items()},
            "skipped": len(skipped),
            "dropped_over_max_length": dropped,
        },
        "by_task_label": {lab: {name: s.by_label.get(lab, 0) for name, s in splits.items()} for lab in labels},
        "tokens": {
            "total": sum(s.tokens for s in splits.values()),
            "answer": sum(s.answer_tokens for s in splits.values()),
            "by_split": {name: {"total": s.tokens, "answer": s.answer_tokens} for name, s in splits.items()},
            "per_sample": _percentiles(all_lengths),
        },
        "truncation": {"max_length": max_length, "action": options.over_length, **cut},
        "packing": {"max_length": max_length, "written": bool(options.pack and folder is not None), **packing},
        "split": {
            "val_fraction": float(options.val_fraction),
            "seed": int(options.seed),
            "stratified_by": "task_label",
        },
        "tokenizer": {
            "spec": options.tokenizer or "",
            "name": tokenizer_name,
            "chat_template_sha256": hashlib.sha256(str(tokenizer.chat_template).encode()).hexdigest(),
            "eos_token": tokenizer.eos_token,
            "renders_tools": support["tools"],
            "renders_tool_calls": support["tool_calls"],
        },
        "labels": "input_ids on assistant tokens (every assistant turn, with its end-of-turn token), -100 elsewhere",
        "advice": method_advice(splits["train"].samples),
        "selection": selection,
        "filters": {k: v for k, v in asdict(filters).items() if v not in (None, {}, [], "")},
        "scorers": {k: {"key": v["key"], "params": v["params"]} for k, v in sorted(store.scorer_keys().items())},
        "sources": store.source_files(filters),
        "workspace": str(store.path),
        "app": f"winnow {__version__}",
        "warnings": warnings,
        "skipped": skipped,
    }
    return manifest, files


def training_report(
    store: Store,
    *,
    filters: SampleFilter | None = None,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> TrainingReport:
    """Measure a training export without writing it: tokens, truncation, packing efficiency, split, advice.

    Args:
        filters: which samples (default: accepted); ``filters.selection`` takes a saved selection's members.

    Returns:
        A TrainingReport with no folder and no files; ``manifest`` as ``export_training`` would write it.
    """
    filters = filters if filters is not None else SampleFilter(status="accepted")
    manifest, _files = _prepare(store, filters, options or TrainingOptions(), None, progress, cache_dir)
    return TrainingReport(None, {}, manifest)


_SWAP_LOCK = threading.Lock()


def export_training(
    store: Store,
    export_dir: str | os.PathLike,
    name: str,
    *,
    user: str,
    filters: SampleFilter | None = None,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> TrainingReport:
    """Write a training-ready export into the folder ``export_dir/name``.

    The folder holds ``train.jsonl`` and ``validation.jsonl`` (TRL ``messages`` or ``prompt``/``completion``; no
    validation file when it would be empty), with ``pack`` ``train.packed.parquet`` and ``validation.packed.parquet``
    (see ``unpack_rows``), a LLaMA-Factory ``dataset_info.json`` (for the messages format), and ``manifest.json``:
    the selection and its recipe hash or the filters, scorer keys and models, counts per split and task label, token
    totals and percentiles, the truncation report, packing efficiency, the tokenizer and its template's hash, the
    method advice, warnings and the skipped samples with their reasons.

    The folder is built under a temporary name beside it (readable by its owner only, like every export) and swapped
    in at the end: an interrupted export leaves the previous one whole, and the next export to that name removes the
    leftovers. A folder of that name that is not a Winnow training export is never replaced.

    Args:
        name: a plain folder name inside ``export_dir`` (no folders, no '..').
        filters: which samples (default: accepted); ``filters.selection`` takes a saved selection's members.

    Returns:
        A TrainingReport with the folder, the files written and the manifest.

    Raises:
        WinnowError: a bad name or option, a staged selection without a stage, nothing to write, or a foreign
            folder in the way. PermissionDenied: the user may not export, or the name leads out of ``export_dir``.
        ModelUnavailable: the tokenizer cannot be loaded.
    """
    options = options or TrainingOptions()
    options.check()
    store.authorize(user, "export")
    target = export_target(export_dir, (name or "").strip())
    name = target.name
    _check_replaceable(target)
    filters = filters if filters is not None else SampleFilter(status="accepted")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target.parent, name)
    tmp = _partial_folder_beside(target)
    try:
        manifest, files = _prepare(store, filters, options, tmp, progress, cache_dir)
        if not manifest["samples"]["written"]["train"]:
            raise WinnowError(
                f"nothing to train on: {manifest['samples']['matched']} samples matched, "
                f"{manifest['samples']['skipped']} were left out and {manifest['samples']['dropped_over_max_length']} "
                "were over max_length"
            )
        manifest = {"name": name, **manifest}
        if options.fmt == "messages":
            info = {
                f"{name}_{split}": {"file_name": files[split].name, **json.loads(json.dumps(_DATASET_INFO["openai"]))}
                for split in ("train", "validation")
                if split in files
            }
            _write_json_atomic(tmp / "dataset_info.json", info)
            manifest["files"]["dataset_info"] = {
                "file": "dataset_info.json",
                "sha256": _sha256(tmp / "dataset_info.json"),
            }
        else:
            manifest["dataset_info"] = (
                "not written: LLaMA-Factory cannot read conversational prompt/completion lists; export the messages "
                "format for it"
            )
        _write_json_atomic(tmp / MANIFEST, manifest)
        with _SWAP_LOCK:
            _check_replaceable(target)
            old = None
            if target.exists():
                old = _partial_folder_beside(target)  # the previous export, removed once the new one is in place
                os.replace(target, old / name)
            try:
                os.replace(tmp, target)
            except BaseException:
                if old is not None:
                    _put_back(old / name, target)
                    shutil.rmtree(old, ignore_errors=True)  # empty now: the previous export is back in place
                raise
            # Only now, with the new export in place, is the previous one removed. (Removing it in a ``finally``
            # also deleted it when putting it back had failed, losing both.)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    written = {key: str(target / path.name) for key, path in files.items()}
    if options.fmt == "messages":
        written["dataset_info"] = str(target / "dataset_info.json")
    written["manifest"] = str(target / MANIFEST)
    store.log_event(
        "export-training",
        user=user,
        detail={
            "folder": str(target),
            "format": options.fmt,
            "samples": manifest["samples"]["written"],
            "tokenizer": manifest["tokenizer"]["name"],
            "manifest_sha256": _sha256(target / MANIFEST),
        },
    )
    return TrainingReport(str(target), written, manifest)


def _put_back(previous: Path, target: Path) -> None:
    """Move the previous export back to ``target`` after the new one could not take its place.

    Raises:
        WinnowError: it could not be moved back either; it is left whole where it is, and the message says where.
    """
    try:
        os.replace(previous, target)
        return
    except OSError as ex:
        error = ex
    # Something took the name meanwhile. Keep the previous export under a name of its own beside it: left inside
    # its temporary folder, the next export would remove it as a killed export's leftovers.
    kept = target.with_name(f"{target.name}.previous-{datetime.now():%Y%m%d-%H%M%S}")
    with contextlib.suppress(OSError):
        os.replace(previous, kept)
        previous = kept
    raise WinnowError(
        f"the export could not replace {target}, nor could the previous export be put back ({error.strerror}): "
        f"it is kept whole in {previous}; move it back to {target} by hand"
    ) from error


def _check_replaceable(target: Path) -> None:
    """Refuse to replace anything at ``target`` but an earlier Winnow training export."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise WinnowError(f"{target} exists and is not a training export folder; pick another name")
    try:
        ours = json.loads((target / MANIFEST).read_text(encoding="utf-8")).get("kind") == MANIFEST_KIND
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise WinnowError(f"{target} exists and is not a Winnow training export; pick another name, or move it away")


def summary_lines(manifest: dict) -> list[str]:
    """The report in a few lines of text (what the CLI prints): samples, tokens, truncation, packing, advice."""
    samples, tokens, cut = manifest["samples"], manifest["tokens"], manifest["truncation"]
    written = samples["written"]
    lines = [
        f"samples: {samples['matched']:,} matched; train {written['train']:,}, validation {written['validation']:,}"
        + (f"; {samples['skipped']:,} left out" if samples["skipped"] else "")
        + (
            f"; {samples['dropped_over_max_length']:,} dropped as too long"
            if samples["dropped_over_max_length"]
            else ""
        ),
        f"tokens ({manifest['tokenizer']['name']}): {tokens['total']:,}, of which {tokens['answer']:,} answer tokens"
        + (
            f"; per sample median {tokens['per_sample']['p50']:,}, p95 {tokens['per_sample']['p95']:,}, "
            f"max {tokens['per_sample']['max']:,}"
            if tokens["per_sample"]
            else ""
        ),
        f"truncation at {cut['max_length']:,}: {cut['samples']:,} samples too long, "
        + (
            f"{cut['tokens_lost']:,} tokens and {cut['answer_tokens_lost']:,} answer tokens cut; "
            f"{cut['left_without_answer']:,} samples keep no answer token"
            if cut["action"] == "truncate"
            else f"dropped whole: {cut['tokens_lost']:,} tokens, {cut['answer_tokens_lost']:,} of them answer tokens"
        ),
    ]
    packing = manifest["packing"]
    for split in ("train", "validation"):
        p = packing[split]
        if p["samples"]:
            lines.append(
                f"packing {split}: {p['samples']:,} samples into {p['rows']:,} rows of {packing['max_length']:,}, "
                f"efficiency {p['efficiency']:.1%} (one sample per padded row: {p['padding_efficiency']:.1%})"
            )
    advice = manifest["advice"]
    lines.append(f"advice: {advice['why']} ({advice['citation']})")
    lines += [f"warning: {w}" for w in manifest["warnings"]]
    return lines
