"""A workspace for a day's work in the browser (tests/test_e2e_day.py), built before the server opens it.

24 Alpaca samples with real heuristic signals, and embeddings and IFD written without a model (seeded random
vectors on 8 axes, IFD spread over 0.2-0.9), so that the align preset runs end to end in seconds. Accounts: the
admin ``e2e``, the lead ``lee`` and the annotator ``ann``, whose queue is the first 8 samples.
"""

from __future__ import annotations

import json

import numpy as np

from core.importing.workspace import import_file
from core.scoring.runner import run_scorers
from core.store import Store
from core.team import accounts

PASSWORD = "e2e-password"
TOPICS = ("rivers", "volcanoes", "bridges", "orchards", "comets", "glaciers", "harbours", "deserts")
FACTS = (
    "they shape the land around them over many centuries",
    "engineers measure them with careful surveys every spring",
    "farmers and sailors have depended on them for generations",
    "their records fill several shelves in the national library",
)


def records(n: int = 24) -> list[dict]:
    return [
        {
            "instruction": f"Tell me one thing about {TOPICS[i % len(TOPICS)]} (question {i + 1}).",
            "input": "",
            "output": f"About {TOPICS[i % len(TOPICS)]}: {FACTS[i % len(FACTS)]}, as note {i + 1} of the survey says.",
        }
        for i in range(n)
    ]


def build(path, tmp_path) -> dict:
    """Write the workspace at ``path``; returns {"ids": sample ids in import order, "annotator": her queue}."""
    source = tmp_path / "day.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records()), encoding="utf-8")
    with Store(path) as store:
        accounts.add_user(store, "e2e", "admin", PASSWORD, by="e2e")
        accounts.add_user(store, "lee", "lead", PASSWORD, by="e2e")
        accounts.add_user(store, "ann", "annotator", PASSWORD, by="e2e")
        import_file(store, source, user="e2e")
        run_scorers(store, ["heuristics"])
        hashes = store.sample_arrays(["content_hash"])["content_hash"]
        rng = np.random.default_rng(0)
        emb = rng.normal(size=(len(hashes), 8)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        columns = {"embedding": "FLOAT[8]"}
        store.ensure_scorer("embedding", "fake-embedder", columns, {"model": "fake"})
        store.write_scores(
            "embedding", "fake-embedder", columns, [(h, {"embedding": e.tolist()}) for h, e in zip(hashes, emb)]
        )
        store.ensure_scorer("ifd", "fake-ifd", {"ifd": "DOUBLE"}, {})
        ifd = np.linspace(0.2, 0.9, len(hashes))
        store.write_scores("ifd", "fake-ifd", {"ifd": "DOUBLE"}, [(h, {"ifd": float(v)}) for h, v in zip(hashes, ifd)])
        ids = store.sample_arrays(["id"])["id"]
        store.assign(ids[:8], ["ann"], by="e2e")
    return {"ids": ids, "annotator": ids[:8]}
