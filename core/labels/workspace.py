"""A workspace's task labels: its taxonomy and the edits that relabel its samples, the suggestions refreshed and
stored with their reasons, and a note when the embedder cannot read the workspace's languages.

These take a ``core.store.Store``: the taxonomy lives in the workspace (meta 'taxonomy'), suggestions in
samples.task_label / task_label_confidence / task_label_source ('suggested'; a person's choice is 'confirmed') and
task_label_reason (why it was suggested). The suggestions themselves come from ``core.labels.suggestions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from core.labels.suggestions import suggest_labels, training_rows
from core.labels.taxonomy import (
    add_label,
    default_taxonomy,
    describe_label,
    label_index,
    label_names,
    merge_labels,
    remove_label,
    rename_label,
)

# --- the workspace's taxonomy --------------------------------------------------------------------------------------


def workspace_taxonomy(store) -> list[dict]:
    """The workspace's taxonomy, or the default one when no lead has edited it yet."""
    return store.taxonomy() or default_taxonomy()


def label_choices(store, kept: Iterable[str | None] = ()) -> list[str]:
    """The task labels a person can pick: the taxonomy's, in its order, then those of ``kept`` it does not have
    (a sample's or an annotation's label that was since renamed or removed), sorted; empty ones are left out."""
    names = label_names(workspace_taxonomy(store))
    return [*names, *sorted({label for label in kept if label and label not in names})]


def edit_taxonomy(store, action: str, *, user: str, **kw) -> int:
    """Apply one edit to the workspace's taxonomy and relabel its samples to match, in one transaction.

    Args:
        action: "add" (name, description), "describe" (name, description), "rename" (old, new), "merge" (sources,
            into) or "remove" (name: its samples lose the label).

    Returns:
        How many samples were relabelled. Raises ``TaxonomyError`` for an edit that makes no sense.
    """
    taxonomy = workspace_taxonomy(store)
    relabel: dict[str, str | None] = {}
    if action == "add":
        new = add_label(taxonomy, kw["name"], kw.get("description", ""))
    elif action == "describe":
        new = describe_label(taxonomy, kw["name"], kw["description"])
    elif action == "rename":
        old = taxonomy[label_index(taxonomy, kw["old"])]["name"]
        new = rename_label(taxonomy, old, kw["new"])
        relabel = {old: new[label_index(new, kw["new"])]["name"]}
    elif action == "merge":
        new = merge_labels(taxonomy, kw["sources"], kw["into"])
        into = new[label_index(new, kw["into"])]["name"]
        relabel = {taxonomy[label_index(taxonomy, s)]["name"]: into for s in kw["sources"]}
    elif action == "remove":
        name = taxonomy[label_index(taxonomy, kw["name"])]["name"]
        new = remove_label(taxonomy, name)
        relabel = {name: None}
    else:
        raise ValueError(f"unknown taxonomy edit {action!r}")
    return store.set_taxonomy(new, user=user, relabel=relabel)


# --- the workspace's suggestions -----------------------------------------------------------------------------------


def embed_with_workspace_embedder(store, texts: Sequence[str], settings=None) -> np.ndarray:
    """Embed ``texts`` with the embedder that made the workspace's current embeddings (labels and samples must share
    one embedding space). Returns (len(texts), d) unit vectors."""
    from core.errors import NotFound
    from core.models.embedders import load_embedder

    info = store.scorer_keys().get("embedding")
    if info is None:
        raise NotFound("no embeddings yet: run the embedding scorer first (Score page, or `python -m core score`)")
    from core.settings import load_settings

    device = (settings or load_settings()).device
    return load_embedder(info["params"].get("model", ""), device=device).encode(list(texts))


def refresh_labels(store, *, settings=None, embed=None, progress=None, user: str | None = None) -> dict:
    """Suggest a task label for every embedded sample and store the suggestions with their reasons (confirmed labels
    are kept).

    Args:
        embed: ``embed(texts) -> (n, d)`` in the samples' embedding space; default the workspace's own embedder.
        progress: ``progress(done, total, message)``; may raise ``Cancelled``.
        user: checked for the "label" permission (the CLI passes its acting user; jobs were checked when created).

    Returns:
        {"suggested": samples written, "confirmed": confirmed samples used, "by_evidence": suggestions a rule made,
        "source": "examples" or "examples + confirmed"}.
    """
    from core.errors import NotFound

    if user is not None:
        store.authorize(user, "label")
    tick = progress or (lambda done, total, message: None)
    taxonomy = workspace_taxonomy(store)
    names = label_names(taxonomy)
    tick(0, 4, "reading embeddings")
    arrays = store.sample_arrays(["id", "prompt", "answer", "task_label", "task_label_source"], embedding=True)
    emb = arrays["embedding"]
    has = ~np.isnan(emb).any(axis=1) if len(emb) else np.zeros(0, dtype=bool)
    if not has.any():
        raise NotFound("no embeddings yet: run the embedding scorer first (Score page, or `python -m core score`)")
    rows_at = np.flatnonzero(has)
    position = {name: i for i, name in enumerate(names)}
    confirmed = [
        (j, position[arrays["task_label"][i]])
        for j, i in enumerate(rows_at)
        if arrays["task_label_source"][i] == "confirmed" and arrays["task_label"][i] in position
    ]
    tick(1, 4, "embedding the label descriptions and examples")
    rows = training_rows(taxonomy)
    row_emb = (embed or (lambda t: embed_with_workspace_embedder(store, t, settings)))(rows.texts)
    tick(2, 4, "suggesting labels")
    result = suggest_labels(
        emb[rows_at],
        [arrays["prompt"][i] for i in rows_at],
        [arrays["answer"][i] for i in rows_at],
        taxonomy,
        rows,
        row_emb,
        confirmed_idx=[j for j, _ in confirmed],
        confirmed_labels=[c for _, c in confirmed],
        confirmed_names=[arrays["id"][rows_at[j]] for j, _ in confirmed],
    )
    tick(3, 4, "saving suggestions")
    written = store.set_suggested_labels(
        [arrays["id"][i] for i in rows_at],
        [names[i] for i in result.label_idx],
        result.confidence,
        result.reason,
    )
    tick(4, 4, "done")
    return {
        "suggested": written,
        "confirmed": len(confirmed),
        "by_evidence": result.by_evidence,
        "source": "examples + confirmed" if confirmed else "examples",
    }


# --- which embedder suits the workspace's languages ----------------------------------------------------------------

# Sentence-transformers' "all-*" models were trained on English pairs; their tokenizers turn most Chinese characters
# into [UNK]. Measured with the bundled all-MiniLM-L6-v2 on the label fixture: zero-shot 0.85 on English, 0.13 on
# Chinese (chance 0.08).
ENGLISH_ONLY_EMBEDDERS = ("all-minilm", "all-mpnet", "all-distilroberta")
MULTILINGUAL_EMBEDDER = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
NON_ENGLISH_NOTE_SHARE = 0.10  # from this share of non-English samples on, the pages say the embedder is wrong


def english_only_embedder(name: str) -> bool:
    """Whether the embedder ``name`` (an HF id, a local path or the bundled one's name) is known to be English-only."""
    from core.models.embedders import MINILM, bundled_embedder

    bundled = bundled_embedder(name)
    if bundled is not None:
        return bundled is MINILM
    return name.rstrip("/").rsplit("/", 1)[-1].lower().startswith(ENGLISH_ONLY_EMBEDDERS)


def embedder_language_note(store, settings=None, *, share: float = NON_ENGLISH_NOTE_SHARE) -> str | None:
    """A note for the page that suggests labels when the embedder cannot read much of the workspace, else None.

    The embedder is the one behind the current embeddings (or, before there are any, the configured one). The note
    is due when it is English-only and at least ``share`` of the samples whose language the heuristics scorer
    detected are not English. Without the heuristics scorer's languages there is nothing to say.
    """
    from core.errors import NotFound
    from core.models.embedders import DEFAULT_EMBEDDER, MINILM, embedder_name
    from core.store import UNKNOWN_LANGUAGE

    info = store.scorer_keys().get("embedding")
    if info is not None:
        name = info["params"].get("model", "")
    else:
        name = embedder_name(settings.embedder if settings is not None else "")
    if not english_only_embedder(name):
        return None
    try:
        counts = {lang: n for lang, n in store.distribution("language") if lang != UNKNOWN_LANGUAGE}
    except NotFound:
        return None
    known = sum(counts.values())
    other = {lang: n for lang, n in counts.items() if lang != "en"}
    if not known or sum(other.values()) / known < share:
        return None
    top = ", ".join(f"{lang} {n / known:.0%}" for lang, n in sorted(other.items(), key=lambda kv: -kv[1])[:3])
    shown = "the bundled all-MiniLM-L6-v2 (minilm)" if name == MINILM.name else name
    return (
        f"{sum(other.values()) / known:.0%} of the samples are not in English ({top}), but the embedder behind these "
        f"suggestions, {shown}, is English-only: on Chinese requests its zero-shot labels were right 13 % of the "
        f"time (85 % on English). Embed with a multilingual model, e.g. the bundled {DEFAULT_EMBEDDER.alias} (the "
        f"default) or {MULTILINGUAL_EMBEDDER} in the Score page's Embedder field, then suggest labels again."
    )
