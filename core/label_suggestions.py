"""Suggested task labels for a workspace: evidence rules first, then a classifier over the embeddings, each
suggestion with its reason.

For every sample that has an embedding:

1. The evidence rules (``core.label_evidence``) look at the request and the answer. When one is sure, its label is
   the suggestion, with what it saw as the reason ("code: asks to 'write a function'; a code block in the answer").
2. Otherwise a logistic regression over the embeddings decides. It is trained on the label descriptions, the
   labelled examples of the default labels in English and Chinese (``core.label_exemplars``) and every label a
   person confirmed (``labels.fit_classifier``: a description or example row weighs ``PRIOR_WEIGHT`` confirmed
   samples). A label whose rule finds most of its samples (code 92 %, math 95 %, translation 100 % of the labelled
   shared samples) is unlikely when its rule saw nothing, so its probability is multiplied by
   ``MISSING_EVIDENCE_FACTOR`` first. The reason names the nearest training row of the chosen label: an example,
   a description line, or a confirmed sample.
3. Confirmed labels are never touched.

Measured on 785 shared samples labelled by hand (``make bench``, section ``labels``): with the bundled
use-multilingual embedder, 82 % accuracy and 83 % macro recall (mean over labels); per label in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.label_evidence import find_evidence
from core.label_exemplars import default_examples
from core.labels import LOGREG_LOGIT_SCALE, fit_classifier, label_names, workspace_taxonomy
from core.similarity import normalize_rows

# A label's probability is multiplied by this when its rule saw no sign of it. About the share of the label's
# samples its rule misses on the labelled shared samples, rounded up: code, math and translation rules find 92-100 %,
# roleplay, summarization and safety ~85-90 %, rewrite, classification and extraction 55-70 %. Measured effect with
# use-multilingual: accuracy 0.794 without the factors, 0.820 with them.
MISSING_EVIDENCE_FACTOR = {
    "code": 0.1,
    "math": 0.1,
    "translation": 0.1,
    "roleplay": 0.2,
    "summarization": 0.2,
    "safety": 0.2,
    "rewrite": 0.5,
    "classification": 0.5,
    "extraction": 0.5,
}
# The confidence of a suggestion a rule made: about the rule's precision on the labelled shared samples.
EVIDENCE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class TrainingRows:
    """What the classifier learns from before anyone confirmed a label: per row, its text and label index.

    Attributes:
        texts: label names, description lines and examples.
        owner: (m,) label index of each row.
    """

    texts: list[str]
    owner: np.ndarray


def training_rows(taxonomy: Sequence[dict]) -> TrainingRows:
    """The label names, their description lines, and the examples of the default labels (by name)."""
    texts: list[str] = []
    owner: list[int] = []
    for i, label in enumerate(taxonomy):
        lines = [line.strip() for line in str(label.get("description") or "").splitlines() if line.strip()]
        for text in [label["name"], *lines, *default_examples(label["name"])]:
            texts.append(text)
            owner.append(i)
    return TrainingRows(texts, np.asarray(owner, dtype=np.int64))


@dataclass(frozen=True)
class LabelSuggestions:
    """A suggestion for every sample.

    Attributes:
        label_idx: (n,) label index into the taxonomy.
        confidence: (n,) in (0, 1], higher is surer.
        reason: why, per sample, for people.
        by_evidence: how many suggestions a rule made.
    """

    label_idx: np.ndarray
    confidence: np.ndarray
    reason: list[str]
    by_evidence: int


def _brief(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest_labels(
    emb: np.ndarray,
    prompts: Sequence[str],
    answers: Sequence[str],
    taxonomy: Sequence[dict],
    rows: TrainingRows,
    row_emb: np.ndarray,
    *,
    confirmed_idx: Sequence[int] = (),
    confirmed_labels: Sequence[int] = (),
    confirmed_names: Sequence[str] | None = None,
    batch: int = 8192,
) -> LabelSuggestions:
    """Suggest a label per sample (see the module docstring).

    Args:
        emb: (n, d) embeddings of the samples.
        prompts, answers: each sample's request (user turns) and final answer, for the evidence rules.
        taxonomy: the labels.
        rows, row_emb: ``training_rows(taxonomy)`` and their embeddings, in the samples' embedding space.
        confirmed_idx, confirmed_labels: rows of ``emb`` a person labelled, and their label indices.
        confirmed_names: how a reason names each confirmed sample (its id); default "a confirmed sample".

    Returns:
        ``LabelSuggestions``; confirmed samples get their label with confidence 1 and reason "confirmed".
    """
    names = label_names(taxonomy)
    n_labels = len(names)
    x = normalize_rows(emb)
    confirmed_idx = np.asarray(confirmed_idx, dtype=np.int64)
    confirmed_labels = np.asarray(confirmed_labels, dtype=np.int64)
    clf = fit_classifier(
        x[confirmed_idx], confirmed_labels, "logreg", n_labels=n_labels, prior_emb=row_emb, prior_labels=rows.owner
    )
    # Every row the reason may point at: the training rows, then the confirmed samples.
    ref = np.vstack([normalize_rows(row_emb), x[confirmed_idx]])
    ref_owner = np.concatenate([rows.owner, confirmed_labels])
    ref_text = [f"like {_brief(t)!r}" for t in rows.texts]
    shown = list(confirmed_names) if confirmed_names is not None else ["a confirmed sample"] * len(confirmed_idx)
    ref_text += [f"like confirmed sample {s}" for s in shown]
    factor = np.ones(n_labels)
    for i, name in enumerate(names):
        factor[i] = MISSING_EVIDENCE_FACTOR.get(name.casefold(), 1.0)
    position = {name.casefold(): i for i, name in enumerate(names)}

    n = len(x)
    label_idx = np.zeros(n, dtype=np.int32)
    confidence = np.zeros(n, dtype=np.float32)
    reason = [""] * n
    by_evidence = 0
    for lo in range(0, n, batch):
        part = slice(lo, min(n, lo + batch))
        logits = np.full((part.stop - lo, n_labels), -np.inf)
        if clf.kind == "logreg":
            logits[:, clf.labels] = (x[part] @ clf.vectors.T + clf.bias) * LOGREG_LOGIT_SCALE
        else:  # one label only: fit_classifier returns a centroid
            logits[:, clf.labels] = 0.0
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        sims = x[part] @ ref.T
        for j in range(part.stop - lo):
            i = lo + j
            found = find_evidence(prompts[i] or "", answers[i] or "", labels=names)
            if found is not None:
                label_idx[i], confidence[i], reason[i] = position[found.label], EVIDENCE_CONFIDENCE, found.reason
                by_evidence += 1
                continue
            p = prob[j] * factor
            p /= p.sum()
            best = int(p.argmax())
            mine = np.flatnonzero(ref_owner == best)
            near = mine[int(sims[j, mine].argmax())] if len(mine) else None
            label_idx[i], confidence[i] = best, float(p[best])
            reason[i] = f"{names[best]}: " + (
                f"{ref_text[near]} ({sims[j, near]:.2f})" if near is not None else "the classifier"
            )
    label_idx[confirmed_idx] = confirmed_labels
    confidence[confirmed_idx] = 1.0
    for i in confirmed_idx.tolist():
        reason[i] = "confirmed"
    return LabelSuggestions(label_idx, confidence, reason, by_evidence)


# --- the workspace's labels ----------------------------------------------------------------------------------------


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
