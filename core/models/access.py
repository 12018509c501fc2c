"""What spans every kind of model (language models, reward models, tokenizers, embedders): which ones this server may
load (``WINNOW_ALLOW_MODELS``), and dropping every model this process holds.

This room sits above ``language.py`` and ``embedders.py``, which import nothing from it.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import PermissionDenied, brief
from core.models.embedders import bundled_embedder, forget_embedders
from core.models.language import forget_language_models
from core.models.sources import looks_like_path


def check_model_allowed(spec: str, settings, what: str = "model") -> None:
    """Refuse a model the app may not load under ``settings.allow_models`` (see core/settings.py).

    Always allowed: the bundled models (an empty spec, "bundled", a bundled embedder's alias or name), the models
    the server's admin named in WINNOW_MODEL and WINNOW_EMBEDDER, and the adapters the workspace's evaluations
    trained (its evaluations/ folder). "folder" allows, besides, folders inside WINNOW_MODEL_DIR (links resolved, so
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
            return
        # the adapters this workspace's evaluations trained (core.evaluation.runner.evaluation_folder): a lead's
        # own fine-tuned models, e.g. MoDS necessity's
        if local.resolve().is_relative_to(Path(settings.db).expanduser().resolve().parent / "evaluations"):
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


def forget_models() -> None:
    """Drop every model this process holds (tests, and freeing memory after a job on a small machine)."""
    forget_language_models()
    forget_embedders()
