"""``python -m core map`` and ``label`` in a subprocess on a small real workspace (93 demo samples, real embedder):
the map is computed once and reused, labels are suggested, and the export carries both."""

from __future__ import annotations

import json

from patience import HANG_S
from test_cli import run_cli

from core.settings import PROJECT_ROOT
from core.store import Store

DEMO = PROJECT_ROOT / "data" / "demo" / "math_code_openai.jsonl"


def test_map_and_label_commands(tmp_path):
    db = tmp_path / "ws.duckdb"
    env = {"HF_HUB_OFFLINE": "1", "WINNOW_DEVICE": "cpu"}
    assert run_cli("import", DEMO, "--db", db).returncode == 0

    no_embeddings = run_cli("map", "--db", db, env=env)
    assert no_embeddings.returncode == 2 and "embedding scorer" in no_embeddings.stderr
    assert "Traceback" not in no_embeddings.stderr

    assert run_cli("score", "--db", db, "--scorers", "heuristics,embedding", env=env, timeout=HANG_S).returncode == 0
    first = run_cli("map", "--db", db, "--k", "4", env=env, timeout=HANG_S)
    assert first.returncode == 0, first.stderr
    assert "in 4 clusters (computed)" in first.stdout and "cluster 3:" in first.stdout
    again = run_cli("map", "--db", db, "--k", "4", env=env)
    assert again.returncode == 0 and "(current already, reused)" in again.stdout

    labelled = run_cli("label", "--db", db, env=env, timeout=HANG_S)
    assert labelled.returncode == 0, labelled.stderr
    assert "suggested task labels for 93 samples (" in labelled.stdout and "by an evidence rule" in labelled.stdout

    with Store(db, read_only=True) as store:
        assert store.get_map()["k"] == 4 and store.count() == 93
        labels = dict(store.distribution("task_label"))
    assert "(unlabeled)" not in labels and labels.get("math", 0) + labels.get("code", 0) > 30

    out = tmp_path / "out.jsonl"
    exported = run_cli("export", "--db", db, "--out", out, "--format", "openai", "--status", "all", "--with-scores")
    assert exported.returncode == 0, exported.stderr
    row = json.loads(out.read_text().splitlines()[0])
    assert {"cluster", "cluster_name", "map_x", "map_y", "task_label", "task_label_confidence"} <= set(row)
