"""A small workspace with known structure for the map, label and balance tests, built without any model.

Three groups of five samples (math in English, code in English, translation in Chinese) and one exact duplicate:
16 samples, 15 contents. Embeddings are written straight into the embedding scorer's table: each group sits around
its own axis of an 8-d space, so clusters and label suggestions are known in advance. Heuristics (language, word
counts) and IFD are written the same way. 15 contents keep ``project_2d`` on its PCA path: no UMAP compile in tests.
"""

from __future__ import annotations

import json

import numpy as np

from core.formats.messages import content_hash
from core.store import Store

GROUPS = {
    "math": ("en", ["What is 12 times 7?", "Solve x + 3 = 10.", "Integrate x squared.", "Is 97 prime?", "Add 1/2 and 1/3."]),
    "code": ("en", ["Write a Python sort.", "Fix this SQL query.", "Explain a closure.", "Reverse a list in Go.", "What is a mutex?"]),
    "translation": ("zh", ["把这句话翻译成英文。", "翻译成法语：你好。", "请翻译：早上好。", "英文翻译：谢谢。", "翻译这段话成日语。"]),
}  # fmt: skip
AXIS = {"math": 0, "code": 1, "translation": 2}
DIM = 8


def group_vector(group: str, jitter: float = 0.0, rng=None) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[AXIS[group]] = 1.0
    if rng is not None:
        v += rng.normal(0, jitter, DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def fake_embed(texts: list[str]) -> np.ndarray:
    """Stands in for the embedder in ``refresh_labels``: a label's phrasings land on their group's axis when the label
    is math, code or translation, elsewhere on the unused axes."""
    out = []
    for i, text in enumerate(texts):
        low = text.lower()
        group = next((g for g in AXIS if g in low or (g == "translation" and "翻译" in text)), None)
        if group:
            out.append(group_vector(group))
        else:
            v = np.zeros(DIM, dtype=np.float32)
            v[3 + i % (DIM - 3)] = 1.0
            out.append(v)
    return np.stack(out)


def build(store: Store, *, user: str = "tess") -> dict[str, list[str]]:
    """Import the samples and write their embeddings, heuristics and IFD. Returns {group: sample ids}."""
    pairs = [
        (g, p, f"Answer {i} " * (3 + 40 * (g == "code"))) for g, (_, ps) in GROUPS.items() for i, p in enumerate(ps)
    ]
    pairs.append(pairs[0])  # an exact duplicate of the first math sample
    msgs = [[{"role": "user", "content": p}, {"role": "assistant", "content": a}] for _, p, a in pairs]
    hashes = [content_hash(m) for m in msgs]
    store.import_source(
        name="groups.json",
        path=None,
        sha256="1" * 64,
        fmt="alpaca",
        mapping=None,
        chunks=[
            {
                "source_index": list(range(len(pairs))),
                "raw": [json.dumps({"instruction": p, "input": "", "output": a}) for _, p, a in pairs],
                "tools": [None] * len(pairs),
                "prompt": [p for _, p, _ in pairs],
                "answer": [a for _, _, a in pairs],
                "n_turns": [1] * len(pairs),
                "content_hash": hashes,
            }
        ],
        user=user,
    )
    rng = np.random.default_rng(0)
    emb_cols = {"embedding": f"FLOAT[{DIM}]"}
    store.ensure_scorer("embedding", "fake-embedder", emb_cols, {"model": "fake"})
    heur_cols = {"h_prompt_lang": "VARCHAR", "h_prompt_words": "INTEGER", "h_answer_words": "INTEGER"}
    store.ensure_scorer("heuristics", "fake-heuristics", heur_cols, {})
    store.ensure_scorer("ifd", "fake-ifd", {"ifd": "DOUBLE"}, {})
    seen: dict[str, str] = {}
    for (g, _, _), h in zip(pairs, hashes, strict=True):
        seen.setdefault(h, g)
    rows = list(seen.items())
    store.write_scores(
        "embedding",
        "fake-embedder",
        emb_cols,
        [(h, {"embedding": group_vector(g, 0.05, rng).tolist()}) for h, g in rows],
    )
    store.write_scores(
        "heuristics",
        "fake-heuristics",
        heur_cols,
        [(h, {"h_prompt_lang": GROUPS[g][0], "h_prompt_words": 5, "h_answer_words": 10}) for h, g in rows],
    )
    ifd = {"math": 0.3, "code": 0.8, "translation": 0.95}
    store.write_scores("ifd", "fake-ifd", {"ifd": "DOUBLE"}, [(h, {"ifd": ifd[g]}) for h, g in rows])
    ids = store.sample_arrays(["id"])["id"]
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for sid, (g, _, _) in zip(ids, pairs, strict=True):
        out[g].append(sid)
    return out
