"""The workspace's map: project and cluster the stored embeddings (``core.map.projection``, ``core.map.clusters``)
and keep the result.

A map is stored keyed by ``map_key`` (the embedding scorer key, a fingerprint of the embedded contents, k and the
seed), so it is computed once per set of embeddings; ``build_map`` reuses a stored one. ``map_view`` picks the points
the Explore page draws (once per map) and ``point_values`` reads what colours them (on every change).
"""

from __future__ import annotations

import hashlib
import html

import numpy as np

from core.errors import NotFound
from core.map.clusters import cluster, cluster_names, default_k
from core.map.projection import Progress, place_points, project_2d
from core.map.sampling import stratified_sample
from core.store import NO_VALUE, Store

MAX_POINTS = 100_000  # most points the Explore page draws; WebGL stays smooth and the page payload ~10 MB


def map_key(fingerprint: dict, k: int, seed: int) -> str:
    """The key a map is stored under: a hash of the embedding scorer key, the embedded contents, k and the seed.

    A new import, an edit or new embeddings change the fingerprint (``Store.embedding_fingerprint``), hence the key,
    so the page can tell a current map from a stale one without recomputing anything."""
    text = f"{fingerprint['embedding_key']}|{fingerprint['contents']}|{fingerprint['digest']}|{int(k)}|{int(seed)}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def build_map(
    store: Store, *, k: int | None = None, seed: int = 0, user: str, progress: Progress | None = None
) -> dict:
    """Project and cluster the workspace's current embeddings, store the map, and make it the current one.

    A map already stored for the same embeddings, k and seed is reused as it is (nothing is recomputed). One point
    per distinct content: duplicates share it.

    Args:
        k: clusters; None picks ``default_k`` of the number of contents.
        seed: fixes the projection and the clustering.
        user: recorded with the map and in the audit log.
        progress: ``progress(done, total, message)``; may raise ``Cancelled``.

    Returns:
        {"map_key", "k", "contents", "reused"}: JSON-able, for the job's result.

    Raises:
        NotFound: no embeddings yet.
    """
    fingerprint = store.embedding_fingerprint()
    if fingerprint is None or fingerprint["contents"] == 0:
        raise NotFound("no embeddings yet: run the embedding scorer first (Score page, or `python -m core score`)")
    k = int(k) if k else default_k(fingerprint["contents"])
    key = map_key(fingerprint, k, seed)
    if store.get_map(key) is not None:
        store.use_map(key)
        return {"map_key": key, "k": k, "contents": fingerprint["contents"], "reused": True}

    def tick(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(done, total, message)

    # Steps 0-1 read, 2-7 project (project_2d's own ticks are scaled into them), 8 cluster, 9 name, 10 save.
    tick(0, 10, "reading embeddings")
    arrays = store.sample_arrays(["content_hash", "prompt"], embedding=True)
    emb = arrays["embedding"]
    hashes = np.asarray(arrays["content_hash"], dtype=object)
    has = ~np.isnan(emb).any(axis=1)
    _, first = np.unique(hashes[has], return_index=True)
    rows = np.flatnonzero(has)[np.sort(first)]  # one row per content, the first sample holding it
    emb, hashes = emb[rows], hashes[rows]
    prompts = [arrays["prompt"][i] for i in rows]
    del arrays

    def projecting(done: int, total: int, message: str) -> None:
        tick(1 + round(6 * done / max(total, 1)), 10, message)

    xy = project_2d(emb, seed=seed, progress=projecting)
    tick(8, 10, f"clustering into {k} clusters")
    labels = cluster(emb, k, seed)
    tick(9, 10, "naming clusters")
    names = cluster_names(prompts, labels, seed=seed)
    tick(10, 10, "saving the map")
    store.save_map(
        key,
        embedding_key=fingerprint["embedding_key"],
        k=k,
        seed=seed,
        content_hashes=list(hashes),
        xy=xy,
        clusters=labels,
        names=names,
        user=user,
    )
    return {"map_key": key, "k": k, "contents": len(hashes), "reused": False}


# A map is stale once this share of the workspace's contents came after it (new or edited samples): until then they
# are placed on it (``place_new``) and it stays the map everyone reads; past it, the layout and the clusters would
# no longer describe the data, and the page asks for a new one.
STALE_SHARE = 0.10
PLACE_REFERENCE = 20_000  # map points whose neighbourhoods place a new one (the projection's fit sample is as large)


def place_new(store: Store, *, user: str) -> int:
    """Put every content that has a current embedding but no point on the current map onto it, without refitting:
    near its nearest neighbours and in the nearest cluster (``projection.place_points``).

    Returns:
        How many were placed (0 when there is no map, nothing new, or the map was made from another embedder).
    """
    current = store.get_map()
    fingerprint = store.embedding_fingerprint()
    if current is None or fingerprint is None or fingerprint["embedding_key"] != current["embedding_key"]:
        return 0
    data = store.map_placement(PLACE_REFERENCE)
    new, ref = data["new"], data["reference"]
    if not new["content_hash"] or not len(ref["cluster"]):
        return 0
    reference_xy = np.column_stack([ref["x"], ref["y"]])
    xy, clusters = place_points(new["embedding"], ref["embedding"], reference_xy, ref["cluster"])
    return store.add_map_points(current["map_key"], new["content_hash"], xy, clusters, user=user)


def freshness(store: Store, current: dict, fingerprint: dict) -> dict:
    """How much of the workspace came after the current map: {placed (contents put on it since it was fitted),
    waiting (contents with no embedding yet: new or edited), contents (in the workspace), share, stale (share over
    ``STALE_SHARE``, or embeddings from another embedder), reason (why stale, in words; "" when not)}."""
    placed = max(store.map_point_count(current["map_key"]) - int(current["contents"]), 0)
    waiting, contents = store.count_unscored("embedding", fingerprint["embedding_key"])
    share = (placed + waiting) / contents if contents else 0.0
    other_embedder = fingerprint["embedding_key"] != current["embedding_key"]
    if other_embedder:
        reason = "The map was made from other embeddings (another embedder): recompute it to see the current data."
    elif share > STALE_SHARE:
        reason = (
            f"{share:.0%} of the workspace was added or edited since the map was made (more than "
            f"{STALE_SHARE:.0%}): recompute it, so the layout and the clusters describe the data."
        )
    else:
        reason = ""
    return {"placed": placed, "waiting": waiting, "contents": contents, "share": share, "stale": bool(reason),
            "reason": reason}  # fmt: skip


def map_view(store: Store, *, max_points: int = MAX_POINTS, seed: int = 0, hover_chars: int = 160) -> dict:
    """The points the Explore page draws: every sample on the current map, or a cluster-stratified sample of at most
    ``max_points`` of them (``stratified_sample``; small clusters are over-represented so they stay visible), with
    their hover text.

    Everything here changes only with the map and the samples' contents, so the page computes it once per map: at 1M
    samples reading the coordinates, drawing the sample and reading 100k prompts is ~1.5 s of its first render.

    Returns:
        {"rid", "x", "y", "cluster", "hover"} numpy arrays of the drawn points in rid order ("hover": "<id><br>the
        prompt's first ``hover_chars`` characters", object array), plus "total" (samples on the map) and "sampled"
        (True when fewer are drawn than exist).
    """
    coords = store.map_coordinates()
    total = len(coords["rid"])
    keep = stratified_sample(coords["cluster"], max_points, seed)
    view = {c: v[keep] for c, v in coords.items()}
    details = store.map_details(view["rid"], columns=["id", "prompt"], hover_chars=hover_chars)
    # Plotly reads hover text as its own small HTML: escape the prompt so "<div>" in a code question shows as typed.
    hover = {
        rid: f"{sid}<br>{html.escape(prompt, quote=False)}"
        for rid, sid, prompt in zip(details["rid"], details["id"], details["prompt"])
    }
    view["hover"] = np.asarray([hover.get(int(r), "") for r in view["rid"]], dtype=object)
    return {**view, "total": total, "sampled": len(keep) < total}


def _as_text(value) -> str:
    """A value as the filters write it: true/false for a flag, ``NO_VALUE`` for none."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def point_values(store: Store, view: dict, column: str) -> np.ndarray:
    """One value per drawn point of ``view`` (``map_view``), for colouring: a current numeric score column as float
    (NaN where unscored), a text or yes/no one as str (``NO_VALUE`` where it has none), or status / task_label /
    source as str. Read fresh on every call: these change with each review,
    while the view is computed once per map.

    Returns:
        An array aligned with ``view["rid"]``; a point whose sample is gone gets NaN or "(gone)".
    """
    scored = column not in store.MAP_DETAIL_COLUMNS
    numeric = scored and column in {c.column for c in store.score_columns(numeric=True)}
    details = store.map_details(view["rid"], column if scored else None, columns=[] if scored else [column])
    got = np.asarray(details["rid"], dtype=np.int64)
    raw = details["score" if scored else column]
    values = (
        np.asarray([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
        if numeric
        else np.asarray([_as_text(v) for v in raw], dtype=object)
    )
    rids = np.asarray(view["rid"], dtype=np.int64)
    if len(got) == len(rids) and np.array_equal(got, rids):
        return values
    # Both are in rid order; a sample removed since the view was drawn has no row.
    out = np.full(len(rids), np.nan) if numeric else np.full(len(rids), "(gone)", dtype=object)
    pos = np.clip(np.searchsorted(got, rids), 0, max(len(got) - 1, 0))
    found = (got[pos] == rids) if len(got) else np.zeros(len(rids), dtype=bool)
    out[found] = values[pos[found]]
    return out


def cluster_rows(stats: list[dict]) -> list[dict]:
    """The cluster table as the Explore page shows it, from ``Store.cluster_stats``: the IFD mean and spread to three
    decimals ("—" without IFD, or for a spread of one sample; higher IFD = harder for the model), the shares as
    numbers in [0, 1]."""
    return [
        {
            "cluster": s["cluster"],
            "name": s["name"],
            "samples": s["samples"],
            "IFD mean": "—" if s["ifd_mean"] is None else f"{s['ifd_mean']:.3f}",
            "IFD spread": "—" if s["ifd_std"] is None else f"{s['ifd_std']:.3f}",
            "accepted": s["accepted"],
            "rejected": s["rejected"],
            "duplicates": s["duplicates"],
        }
        for s in stats
    ]
