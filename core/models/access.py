"""What spans every kind of model (language models, reward models, tokenizers, embedders): which ones this server may
load (``WINNOW_ALLOW_MODELS``), and dropping every model this process holds.

This room sits above ``language.py`` and ``embedders.py``, which import nothing from it.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import PermissionDenied, brief
from core.models.embedders import bundled_embedder, forget_embedders
from core.models.language import ADAPTER_CONFIG, bundled_lm_cache, forget_language_models
from core.models.sources import looks_like_path


def check_model_allowed(spec: str, settings, what: str = "model") -> None:
    """Refuse a model the app may not load under ``settings.allow_models`` (see core/settings.py).

    Always allowed: the bundled models (an empty spec, "bundled", a bundled embedder's alias or name), the models
    the server's admin named in WINNOW_MODEL and WINNOW_EMBEDDER, and the adapters the workspace's evaluations
    trained (``evaluations/<workspace>/`` beside it; an adapter's base model must be allowed too). "folder" allows, besides, folders inside WINNOW_MODEL_DIR (links resolved, so
    a link cannot lead out of it); "hub" also any Hugging Face id; "any" also any local path.

    Raises:
        PermissionDenied: naming the model, what is allowed, and the setting that allows more.
    """
    spec = (spec or "").strip()
    if settings.allow_models == "any" or spec in ("", "bundled", settings.model, settings.embedder):
        return
    if bundled_embedder(spec) is not None:
        return
    local = Path(spec).expanduser()
    if local.exists() or looks_like_path(spec):
        folder = Path(settings.model_dir).expanduser().resolve()
        if local.resolve().is_relative_to(folder):
            _check_adapter_base(local, settings, what)
            return
        # the adapters this workspace's evaluations trained (core.evaluation.runner.evaluation_folder): a lead's
        # own fine-tuned models, e.g. MoDS necessity's; the base model an adapter names must be allowed too
        workspace = Path(settings.db).expanduser().resolve()
        if local.resolve().is_relative_to(workspace.parent / "evaluations" / workspace.stem):
            _check_adapter_base(local, settings, what)
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


def _check_adapter_base(folder: Path, settings, what: str) -> None:
    """A LoRA adapter's folder loads its base model too (``core.models.language``): that base must be allowed as
    well, or be the bundled model's cache."""
    import json

    config = folder / ADAPTER_CONFIG
    if not config.is_file():
        return
    try:
        base = str(json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path") or "")
    except (OSError, ValueError, AttributeError):
        raise PermissionDenied(f"{what} {brief(str(folder))}: its {ADAPTER_CONFIG} cannot be read") from None
    if Path(base).expanduser().resolve() == bundled_lm_cache(settings.cache_dir).resolve():
        return
    check_model_allowed(base, settings, f"{what}'s base model")


def forget_models() -> None:
    """Drop every model this process holds (tests, and freeing memory after a job on a small machine)."""
    forget_language_models()
    forget_embedders()
