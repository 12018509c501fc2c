"""A small demo workspace prepared the way ``make run`` prepares the real one, built once per test session.

The demo's preparation (``core.demo.prepare``) runs the real heuristics, the default bundled embedder, UMAP and
k-means with named clusters, task label suggestions and IFD with the bundled SmolLM2. On the whole demo that takes ~5
minutes on 2 cores (IFD ~0.8 s a sample), so this workspace holds the first ``SUBSET`` records of each demo file:
the same four formats and the same kinds of requests, 32 samples, enough for UMAP (16 points or more) and a few
clusters. Tests copy the file; none opens it for writing.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core.demo import DEMO_DIR, DEMO_FILES, load_demo, prepare
from core.settings import load_settings
from core.store import Store

USER = "tess"
SUBSET = 8
_BUILT: dict[str, Path] = {}


def demo_subset(folder: Path, n: int = SUBSET) -> Path:
    """Write the first ``n`` records of each demo file into ``folder``, under the demo files' names. Returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, _ in DEMO_FILES:
        text = (DEMO_DIR / name).read_text(encoding="utf-8")
        if name.endswith(".json"):
            out = json.dumps(json.loads(text)[:n], ensure_ascii=False, indent=2)
        elif name.endswith(".jsonl"):
            out = "".join(line + "\n" for line in text.splitlines()[:n])
        else:  # CSV: a quoted answer may span lines, so cut by records, not lines
            rows = list(csv.reader(io.StringIO(text)))[: n + 1]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            out = buffer.getvalue()
        (folder / name).write_text(out, encoding="utf-8")
    return folder


def prepared_demo_db(tmp_path_factory) -> Path:
    """Path of the prepared small demo workspace (no accounts). Copy it before opening it for writing."""
    if "db" not in _BUILT:
        root = tmp_path_factory.mktemp("prepared_demo")
        db = root / "demo.duckdb"
        with Store(db) as store:
            load_demo(store, user=USER, folder=demo_subset(root / "files"))
            prepare(store, user=USER, settings=load_settings().with_(device="cpu", dtype="fp32"))
        _BUILT["db"] = db
    return _BUILT["db"]
