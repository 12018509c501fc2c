"""Configuration, read from the environment in one place.

Every variable Winnow reads is listed here (and in the README). CLI flags override them.

| variable              | meaning                                                         | default                      |
|-----------------------|-----------------------------------------------------------------|------------------------------|
| WINNOW_DB             | the workspace (a DuckDB file) the app opens                     | data/workspace.duckdb        |
| WINNOW_USER           | the name recorded in the audit log for CLI and app actions      | the OS user                  |
| WINNOW_EXPORT_DIR     | where the app writes exports                                    | data/exports                 |
| WINNOW_CACHE_DIR      | converted model caches (safetensors)                            | ~/.cache/winnow              |
| WINNOW_DEVICE         | auto, cpu, cuda, cuda:N or mps                                  | auto                         |
| WINNOW_DTYPE          | auto, fp32, bf16 or fp16                                        | auto                         |
| WINNOW_MODEL          | language model for IFD: HF id or local path; empty = bundled    | (bundled SmolLM2-135M)       |
| WINNOW_EMBEDDER       | sentence embedder: HF id or local path; empty = bundled         | (bundled all-MiniLM-L6-v2)   |
| WINNOW_MAX_UPLOAD_MB  | largest file the Import page accepts                            | 1024                         |
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    db: Path
    user: str
    export_dir: Path
    cache_dir: Path
    device: str
    dtype: str
    model: str
    embedder: str
    max_upload_mb: int

    def with_(self, **changes) -> Settings:
        """A copy with some values replaced (how CLI flags override the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(env: dict | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    return Settings(
        db=Path(env.get("WINNOW_DB") or PROJECT_ROOT / "data" / "workspace.duckdb"),
        user=env.get("WINNOW_USER") or _default_user(),
        export_dir=Path(env.get("WINNOW_EXPORT_DIR") or PROJECT_ROOT / "data" / "exports"),
        cache_dir=Path(env.get("WINNOW_CACHE_DIR") or Path.home() / ".cache" / "winnow"),
        device=env.get("WINNOW_DEVICE") or "auto",
        dtype=env.get("WINNOW_DTYPE") or "auto",
        model=env.get("WINNOW_MODEL") or "",
        embedder=env.get("WINNOW_EMBEDDER") or "",
        max_upload_mb=int(env.get("WINNOW_MAX_UPLOAD_MB") or 1024),
    )
