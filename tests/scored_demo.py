"""The demo workspace scored with the real heuristics and the bundled embedder, built once per test session.

Scoring the demo's 342 samples takes about 30 s on 2 cores (most of it the embedder), so the selection tests and
the Select page test share one scored file and each works on its own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.demo import load_demo
from core.scoring.runner import run_scorers
from core.settings import load_settings
from core.store import Store

USER = "tess"
_BUILT: dict[str, Path] = {}


def scored_demo_db(tmp_path_factory) -> Path:
    """Path of the scored demo workspace (heuristics + embedding; no IFD). Do not open it for writing: copy it."""
    if "db" not in _BUILT:
        db = tmp_path_factory.mktemp("scored_demo") / "demo.duckdb"
        with Store(db) as store:
            load_demo(store, user=USER)
            settings = load_settings().with_(device="cpu", dtype="fp32")
            run_scorers(store, ["heuristics", "embedding"], settings=settings)
        _BUILT["db"] = db
    return _BUILT["db"]


def copy_workspace(src: Path, dest: Path) -> Path:
    """A private copy of a closed workspace file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest
