"""Explore's map controls: compute or recompute the map (a background job), and say how current the shown map is.

New and edited samples are placed on the current map as they get embeddings (``core.map.workspace.place_new``: beside
their nearest neighbours, in the nearest cluster); the map is called stale only once more than
``core.map.workspace.STALE_SHARE`` of the workspace came after it, or when it was made from another embedder.
"""

from __future__ import annotations

import streamlit as st

from core import actions
from core.map import workspace
from core.map.clusters import default_k
from core.store import Store
from pages import _common


def controls(store: Store, current: dict | None, fingerprint: dict, *, user: str) -> None:
    """k, seed and the compute button; the mapping job's progress; how current the shown map is."""
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    k = c1.number_input(
        "Clusters (k)",
        min_value=2,
        max_value=200,
        # a map made by the CLI may use any k: keep the box's value inside its bounds
        value=min(200, max(2, current["k"] if current else default_k(fingerprint["contents"]))),
        key="explore_k",
    )
    seed = c2.number_input("Seed", min_value=0, value=0, key="explore_seed")
    fresh = workspace.freshness(store, current, fingerprint) if current else None
    same = current is not None and (int(k), int(seed)) == (current["k"], current["seed"])
    up_to_date = same and not fresh["stale"] and not fresh["placed"] and not fresh["waiting"]
    if c3.button(
        "Map is current" if up_to_date else ("Recompute the map" if current else "Compute the map"),
        type="primary",
        disabled=up_to_date or _common.job_running(store, "explore_job"),
        key="explore_go",
    ):

        def work(progress):
            return workspace.build_map(store, k=int(k), seed=int(seed), user=user, progress=progress)

        _common.start_job(store, "explore_job", "map", {"k": int(k), "seed": int(seed)}, work, user=user)

    finished = _common.job_panel(store, "explore_job", "Mapping")
    if finished is not None and (result := _common.job_result(finished)) is not None:
        st.caption(f"Map {result['map_key'][:8]}: {result['contents']:,} contents in {result['k']} clusters.")
    if fresh is None:
        return
    if fresh["stale"]:
        st.warning(fresh["reason"], icon="⚠️")
    elif fresh["placed"]:
        st.caption(
            f"{fresh['placed']:,} samples added or edited since the map was made are placed on it, beside their "
            f"nearest neighbours and in the nearest cluster ({fresh['share']:.1%} of the workspace; the map is "
            f"called stale past {workspace.STALE_SHARE:.0%})."
        )
    if fresh["waiting"]:
        _embed_waiting(store, fresh["waiting"], user=user)


def _embed_waiting(store: Store, waiting: int, *, user: str) -> None:
    """Offer to embed the samples that have no embedding yet (new or edited), with the workspace's own embedder
    settings, and place them on the map."""
    w1, w2 = st.columns([3, 1], vertical_alignment="center")
    w1.caption(f"{waiting:,} samples have no embedding yet (new or edited), so they are not on the map.")
    go = w2.button(
        "Embed and place them", key="explore_embed_go", disabled=_common.job_running(store, "explore_embed_job")
    )
    if go:
        params = {"embedding": store.scorer_keys()["embedding"]["params"]}  # the same embedder: the same key
        settings = _common.settings()

        def work(progress):
            return actions.score(
                store, ["embedding"], settings=settings, params=params, user=user, progress=progress, place_on_map=True
            )

        _common.start_job(store, "explore_embed_job", "score", {"scorers": ["embedding"]}, work, user=user)
    finished = _common.job_panel(store, "explore_embed_job", "Embedding", unit="samples")
    if finished is not None and (result := _common.job_result(finished)) is not None:
        st.caption(f"Placed {result['placed']:,} samples on the map.")
