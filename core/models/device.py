"""The torch device and dtype a model runs on: the forced ones, or for "auto" the best this machine has.

Every kind of model (language models, reward models, embedders) picks its device here, in one place, and logs it.
torch is imported inside the functions.
"""

from __future__ import annotations

import logging

from core.errors import ModelUnavailable

log = logging.getLogger("winnow")

DTYPES = ("fp32", "bf16", "fp16")


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
