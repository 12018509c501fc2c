"""Configuration, read from the environment in one place.

Every variable Winnow reads is listed here (and in the README). CLI flags override them.

| variable              | meaning                                                         | default                      |
|-----------------------|-----------------------------------------------------------------|------------------------------|
| WINNOW_DB             | the workspace (a DuckDB file) the app opens                     | data/workspace.duckdb        |
| WINNOW_USER           | who the CLI acts as (an account, once the workspace has any)    | the OS user                  |
| WINNOW_SESSION_HOURS  | an app sign-in ends after this many hours without use           | 12                           |
| WINNOW_EXPORT_DIR     | where the app writes exports                                    | data/exports                 |
| WINNOW_CACHE_DIR      | converted model caches (safetensors)                            | ~/.cache/winnow              |
| WINNOW_DEVICE         | auto, cpu, cuda, cuda:N or mps                                  | auto                         |
| WINNOW_DTYPE          | auto, fp32, bf16 or fp16                                        | auto                         |
| WINNOW_MODEL          | language model for IFD: HF id or local path; empty = bundled    | (bundled SmolLM2-135M)       |
| WINNOW_EMBEDDER       | sentence embedder: use-multilingual, e5-small, minilm, or an HF | (bundled use-multilingual)   |
|                       | id or local path of a sentence-transformers model               |                              |
| WINNOW_MAX_UPLOAD_MB  | largest file the Import page accepts (a whole number of MB)     | 1024                         |
| WINNOW_IMPORT_MEMORY_MB | the most memory the app's parser process may use to read one    | 4096                         |
|                       | uploaded file (its preview and its import), in MB               |                              |
| WINNOW_MODEL_DIR      | local model folders the app may load (Score, training export)   | data/models                  |
| WINNOW_ALLOW_MODELS   | what else the app may load: folder (only WINNOW_MODEL_DIR, the  | folder                       |
|                       | bundled models and WINNOW_MODEL/EMBEDDER), hub (also Hugging    |                              |
|                       | Face ids) or any (also any local path)                          |                              |
| WINNOW_SYNTH_ENDPOINTS| OpenAI-compatible endpoints the Synthesize page may call (comma | (none: the local model only) |
|                       | list of base URLs); the server's OPENAI_API_KEY goes to them    |                              |
| WINNOW_RAY_ADDRESSES  | Ray clusters the Score page may run scorers on (comma list:     | (none: a new local Ray only) |
|                       | auto, ray://host:10001, host:6379)                              |                              |

The endpoint setting limits where the app's Synthesize page sends requests (and the server's API key): a lead could
otherwise point the server at any address, inside the network too. The Ray setting does the same for scoring, for a
stronger reason: a Ray cluster sends its results back pickled, so a cluster the server connects to can run code on
it. The model settings limit what someone using the
app (a lead) can make the server load: a local path reads files
on the server, and a Hugging Face id downloads and runs whatever that repository holds. The CLI is not limited: it
acts as the person who runs it, who can read those files anyway.

The Import page also never accepts more than the Streamlit server does (``server.maxUploadSize`` in
``.streamlit/config.toml``, 1024 MB as shipped): raise both together.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import WinnowError

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
    session_hours: float = 12.0
    model_dir: Path = PROJECT_ROOT / "data" / "models"
    allow_models: str = "folder"
    import_memory_mb: int = 4096
    synth_endpoints: tuple[str, ...] = ()
    ray_addresses: tuple[str, ...] = ()

    def with_(self, **changes) -> Settings:
        """A copy with some values replaced (how CLI flags override the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PRIVATE_UMASK = 0o077


def keep_new_files_private() -> None:
    """From now on, every file and folder this process creates is readable and writable by its owner only.

    Workspaces hold people's data. Winnow's own writers already create their files 0600 (the workspace, exports,
    manifests, rejects, uploads), but DuckDB creates the workspace's write-ahead log (``<workspace>.wal``) and its
    spill folder itself, with the process's umask: so the entry points (the CLI and app.py) call this once. The
    library does not, because a umask belongs to the whole process it runs in.
    """
    os.umask(PRIVATE_UMASK)


def _positive_int(env, name: str, default: int) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise WinnowError(f"{name}={text!r}: expected a whole number of at least 1 (default {default})")
    return value


def _hours(env, name: str, default: float) -> float:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        raise WinnowError(f"{name}={text!r}: expected a number of hours, at least 0 (default {default:g})")
    return value


MODEL_SOURCES = ("folder", "hub", "any")


def _model_sources(env, name: str) -> str:
    text = (env.get(name) or "folder").strip().lower()
    if text not in MODEL_SOURCES:
        raise WinnowError(f"{name}={text!r}: expected one of {', '.join(MODEL_SOURCES)} (default folder)")
    return text


def load_settings(env: dict | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``).

    Raises:
        WinnowError: a variable holds a value it cannot have (the message names the variable).
    """
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
        max_upload_mb=_positive_int(env, "WINNOW_MAX_UPLOAD_MB", 1024),
        session_hours=_hours(env, "WINNOW_SESSION_HOURS", 12.0),
        model_dir=Path(env.get("WINNOW_MODEL_DIR") or PROJECT_ROOT / "data" / "models"),
        allow_models=_model_sources(env, "WINNOW_ALLOW_MODELS"),
        import_memory_mb=_positive_int(env, "WINNOW_IMPORT_MEMORY_MB", 4096),
        synth_endpoints=tuple(
            u.strip().rstrip("/") for u in (env.get("WINNOW_SYNTH_ENDPOINTS") or "").split(",") if u.strip()
        ),
        ray_addresses=tuple(a.strip() for a in (env.get("WINNOW_RAY_ADDRESSES") or "").split(",") if a.strip()),
    )
