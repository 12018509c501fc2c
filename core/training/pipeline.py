"""The pass over a workspace's samples that a training export makes: render, count, check, truncate, split, and
(given a folder) stream the split files; ``training_report`` measures without writing, ``summary_lines`` says it.

Decisions worth knowing:

- Every assistant turn of a multi-turn chat is trained on (in the packed files). The ``prompt-completion`` files train
  a TRL trainer on the completion only (the turns after the last user message).
- Long samples are cut at ``max_length`` from the right (``over_length="truncate"``), as trainers do, or left out of
  every file (``"drop"``). The ``messages`` files hold the whole sample either way: the trainer truncates it.
- The same inputs give byte-identical files: no time stamps in them (the time is in the audit log).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from core import __version__
from core.digest import file_sha256
from core.errors import FormatError, WinnowError
from core.formats.convert import from_canonical, to_canonical
from core.formats.messages import Canonical, prompt_and_completion
from core.formats.turns import TURN_MODES, conversations
from core.progress import Progress
from core.store import SampleFilter, Store, messages_of
from core.training.advice import method_advice
from core.training.chat_template import (
    IGNORE_INDEX,
    Tokenized,
    load_tokenizer,
    template_support,
    tokenize_conversations,
)
from core.training.packing import packing_stats, write_packed
from core.training.split import split_validation

TRAINING_FORMATS = ("messages", "prompt-completion")
OVER_LENGTH = ("truncate", "drop")
MANIFEST_KIND = "winnow training export"
MAX_LENGTH_LIMIT = 1 << 20  # tokens: above any model's context; packing's index is linear in max_length
_TOKENIZE_BATCH = 512  # conversations per tokenizer call: big enough for the Rust tokenizer's threads


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
        turns: how the TRL files carry assistant turns marked not to train on (they read no weight): "split" (one
            record per trained turn, with its history; with prompt-completion only that turn trains) or "cut" (the
            chat ends after its last trained turn). See ``core.formats.turns``. The packed files' labels leave such
            turns out either way.
    """

    tokenizer: str = ""
    max_length: int = 2048
    fmt: str = "messages"
    val_fraction: float = 0.05
    seed: int = 0
    pack: bool = False
    over_length: str = "truncate"
    turns: str = "split"

    def check(self) -> None:
        if self.turns not in TURN_MODES:
            raise WinnowError(f"unknown turn mode {self.turns!r}; use {' or '.join(TURN_MODES)}")
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
    from core.evaluation.report import manifest_entries

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
        "evaluations": manifest_entries(store, info["name"]),
    }


def _training_record(messages: list[dict], tools, fmt: str) -> dict:
    """A record in TRL's shape: ``messages`` (+ tools), or conversational ``prompt``/``completion`` (+ tools)."""
    if fmt == "messages":
        out: dict = {"messages": messages}
    else:
        prompt, completion = prompt_and_completion(messages)
        out = {"prompt": prompt, "completion": completion}
    if tools is not None:
        out["tools"] = tools
    return out


class _Split:
    """What one split accumulates while the samples stream by."""

    def __init__(self, name: str, folder: Path | None, pack: bool):
        self.name = name
        self.samples = 0
        self.records = 0  # more than samples where chats are split per trained turn
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

    def add(
        self, sample_id: str, records: list[dict], kept: Tokenized, full_length: int, answer: int, label: str
    ) -> None:
        self.samples += 1
        self.records += len(records)
        self.tokens += full_length
        self.answer_tokens += answer
        self.lengths.append(len(kept.input_ids))
        self.by_label[label] += 1
        if self._fh:
            for record in records:
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
            write_packed(samples, self.lengths, max_length, out)
        self.tokens_path.unlink()
        return file_sha256(out)


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


def prepare(
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
                        record = from_canonical(Canonical(messages, tools), "openai")
                        to_canonical(record, "openai")  # the role order, the last turn, the fields
                    except FormatError as ex:
                        skipped.append({"id": row["id"], "reason": str(ex)})
                        records.append(None)
                        continue
                    pieces, _ = conversations(record["messages"], options.turns)
                    if not pieces:
                        skipped.append({"id": row["id"], "reason": "no assistant turn is marked to train on"})
                        records.append(None)
                        continue
                    record["pieces"] = pieces  # what the TRL files get; the tokens (labels) come from the whole
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
                    outs = [_training_record(p, record.get("tools"), options.fmt) for p in record["pieces"]]
                    splits[split].add(row["id"], outs, tok, n, answer, label_of[row["id"]])
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
            "records": {name: s.records for name, s in splits.items()},
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
        "labels": "input_ids on assistant tokens (every assistant turn not marked weight 0, with its end-of-turn "
        "token), -100 elsewhere",
        "turns": options.turns,
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
    manifest, _files = prepare(store, filters, options or TrainingOptions(), None, progress, cache_dir)
    return TrainingReport(None, {}, manifest)


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
