"""Where a model spec points: a local folder or a Hugging Face id, and the ``ModelUnavailable`` message that says how
to fix a spec that cannot be loaded (no such folder, offline and not cached, or a bad id).

Language models, reward models, tokenizers and embedders share these, so they sit below all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import ModelUnavailable


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def looks_like_path(spec: str) -> bool:
    """A spec written as a path (absolute, relative with ./ or ../, or ~) names a local folder, never a hub id."""
    return spec.startswith(("/", "./", "../", "~", "\\")) or (len(spec) > 1 and spec[1] == ":")


def unavailable(spec: str, what: str, error: Exception) -> ModelUnavailable:
    """The error to raise when ``what`` ("language model", "embedder", ...) named by ``spec`` failed to load with
    ``error``; its message says how to fix the spec (a missing folder, offline mode, or a bad id or path)."""
    if looks_like_path(spec) and not Path(spec).expanduser().exists():
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
